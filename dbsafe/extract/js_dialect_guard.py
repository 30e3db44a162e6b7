"""Branches of JavaScript/TypeScript code that run only where the database is not
PostgreSQL, from their test on the database's kind: `dialect_guard`'s reading of Python's
`if`, for tree-sitter's nodes.

Projects whose one client talks to PostgreSQL or MySQL, as their `DATABASE_URL` says, write
each engine's statement in its own branch (Typebot's workspace creation):

    if (process.env.DATABASE_URL?.startsWith("mysql://")) {
      await tx.$queryRaw`SELECT \\`id\\` FROM \\`User\\` WHERE \\`id\\` = ${userId} FOR UPDATE`;
      return;
    }
    await tx.$queryRaw`SELECT "id" FROM "User" WHERE "id" = ${userId} FOR UPDATE`;

A test counts when it is

- `.startsWith("mysql")` or `.includes("mysql")` of a value naming a URL or the dialect
  (`process.env.DATABASE_URL`, `databaseUrl`, `dbUri`, `config.dialect`);
- a comparison (`===`, `==`, `!==`, `!=`) of a value naming the dialect with a kind's name:
  a `dialect`, `provider` (Prisma's), `client` (knex's), `engine` or `driver`, a database's
  `type` or `kind` (`DB_TYPE`, `getDatabaseType()`), or any `process.env.X`
  (`process.env.DB === "sqlite"`);
- `["mysql", "mariadb"].includes(dialect)` of such a value, every element a kind's name
  (the list may be a `const`: `MYSQL_CLIENTS.includes(client)`);
- a name or call saying the database is of a kind (`isMysql`, `isSQLite()`, `usesSqlite`,
  `this.isPostgres`), or a `const` bound to such a test, followed one step;

alone, negated, or joined by `&&`/`||`. The branch is the consequence of an `if` or a
ternary, its `else`, the right side of `&&`/`||`, or what follows, in the same block, an `if`
whose body leaves (ends in `return` or `throw`, no `else`). Only the statement's own block
counts: a statement in the `else` beside a MySQL branch stays checked. Anything else (a name
not saying a kind, `type === "mysql"`) leaves the branch possible on PostgreSQL: checked.

A `case` of `switch (dbType)` (n8n's repositories) is a branch too, taken for its value and
for those of the cases falling through to it (a body not ending in `break`, `return`, `throw`
or `continue`): every one of them another kind's name (`case 'mysql': case 'mariadb':`, a
`const` naming one) and its statements are that kind's. A `default:` reaching it, a name of
PostgreSQL or of no known kind (`'cockroachdb'`, n8n's `'mysqldb'`) keeps it checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from dbsafe.extract.dialect_guard import literal_kind, word_kind

if TYPE_CHECKING:
    from tree_sitter import Node

# The engines a message names, by the word a test spells.
_SHOWN = {"mysql": "MySQL", "mysql2": "MySQL", "mariadb": "MySQL", "sqlite": "SQLite",
          "sqlite3": "SQLite", "better-sqlite3": "SQLite", "mssql": "SQL Server",
          "sqlserver": "SQL Server", "oracle": "Oracle", "oracledb": "Oracle",
          "clickhouse": "ClickHouse", "duckdb": "DuckDB", "cockroachdb": "CockroachDB"}
_URL_WORDS = frozenset({"url", "uri", "dsn"})
_DIALECT_WORDS = frozenset({"dialect", "provider", "client", "engine", "driver", "drivername"})
_DATABASE_WORDS = frozenset({"db", "database"})
_KIND_WORDS = frozenset({"type", "kind", "vendor", "flavor", "flavour"})
_PREDICATE = re.compile(r"^_*(?:is|using|uses)_?([a-z0-9]+)$")
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+")
_NAMES = frozenset({"identifier", "property_identifier", "private_property_identifier",
                    "shorthand_property_identifier"})
_WRAPPERS = frozenset({"parenthesized_expression", "non_null_expression", "as_expression",
                       "satisfies_expression", "await_expression"})
_EXITS = frozenset({"return_statement", "throw_statement"})
_CASE_EXITS = _EXITS | {"break_statement", "continue_statement"}

# (may hold on PostgreSQL, may fail on PostgreSQL)
Judged = tuple[bool, bool]
_EITHER: Judged = (True, True)
Bound = Callable[["Node"], "Node | None"]


def other_database(data: bytes, node: Node, bound: Bound) -> tuple[str, str] | None:
    """The test putting `node` in a branch that never runs on PostgreSQL, as the code spells
    it (`switch (dialect) case "mysql":` for a `case`), and the engines it names (`MySQL`, or
    "" when it only says "not PostgreSQL"), or None. `bound` gives the value a `const` an
    identifier reads holds."""
    for test, holds in branches_around(node):
        judged = _judge(data, test, bound, follow=True)
        if judged is None or (judged[0] if holds else judged[1]):
            continue
        if test.type == "switch_case":
            return _cases_shown(data, test, bound)
        return _text(data, _unwrapped(test)), " or ".join(sorted(_engines(data, test, bound)))
    return None


def _cases_shown(data: bytes, case: Node, bound: Bound) -> tuple[str, str]:
    """`switch (dbType) case 'mysqldb': case 'mariadb':` and the engines those cases name, for
    a `case` `_case_reached` judged."""
    cases = list(reversed(_cases_reaching(case) or [case]))
    switch = _switch_value(case)
    said = " ".join(f"case {_text(data, each.child_by_field_name('value') or each)}:"
                    for each in cases)
    engines = set().union(*(_engines(data, _case_value(each, bound), bound) for each in cases))
    return f"switch {_text(data, switch) if switch else ''} {said}", " or ".join(sorted(engines))


def branches_around(node: Node) -> Iterator[tuple[Node, bool]]:
    """The test of each branch around `node`, innermost first, and whether `node` runs when
    it holds. The database's kind does not change while a process runs, so a function made
    in a branch (a callback) is in it too: every ancestor counts."""
    child, parent = node, node.parent
    while parent is not None:
        kind = parent.type
        if kind in ("if_statement", "ternary_expression"):
            test = parent.child_by_field_name("condition")
            if test is not None and child == parent.child_by_field_name("consequence"):
                yield test, True
            elif test is not None and child == parent.child_by_field_name("alternative"):
                yield test, False
        elif kind == "binary_expression" and child == parent.child_by_field_name("right"):
            operator = parent.child_by_field_name("operator")
            left = parent.child_by_field_name("left")
            if operator is not None and left is not None and operator.type in ("&&", "||"):
                yield left, operator.type == "&&"
        elif kind == "switch_case" and child != parent.child_by_field_name("value"):
            yield parent, True  # (`_judge` reads the cases reaching it)
        elif kind in ("statement_block", "program"):
            yield from _exits_before(parent, child)
        child, parent = parent, parent.parent


def _exits_before(block: Node, child: Node) -> Iterator[tuple[Node, bool]]:
    """The test of each `if` before `child` in `block` whose body leaves (`return`, `throw`;
    no `else`): `child` runs only where it fails."""
    for statement in block.named_children:
        if statement == child:
            return
        if statement.type != "if_statement" or \
                statement.child_by_field_name("alternative") is not None:
            continue
        body = statement.child_by_field_name("consequence")
        if body is not None and body.type == "statement_block":
            last = [c for c in body.named_children if c.type != "comment"]
            body = last[-1] if last else None
        test = statement.child_by_field_name("condition")
        if body is not None and body.type in _EXITS and test is not None:
            yield test, False


def _judge(data: bytes, test: Node, bound: Bound, *, follow: bool) -> Judged | None:
    """Whether `test` may hold and may fail on PostgreSQL, or None when it tests no kind."""
    test = _unwrapped(test)
    kind = test.type
    if kind == "unary_expression" and _operator(test) == "!":
        argument = test.child_by_field_name("argument")
        inner = _judge(data, argument, bound, follow=follow) if argument is not None else None
        return None if inner is None else (inner[1], inner[0])
    if kind == "binary_expression":
        operator = _operator(test)
        left, right = test.child_by_field_name("left"), test.child_by_field_name("right")
        if left is None or right is None:
            return None
        if operator in ("&&", "||"):
            parts = [_judge(data, left, bound, follow=follow),
                     _judge(data, right, bound, follow=follow)]
            if all(part is None for part in parts):
                return None
            known = [part or _EITHER for part in parts]
            if operator == "&&":
                return all(p[0] for p in known), any(p[1] for p in known)
            return any(p[0] for p in known), all(p[1] for p in known)
        if operator in ("===", "==", "!==", "!="):
            judged = _compared(data, left, right)
            return judged if judged is None or operator in ("===", "==") else \
                (judged[1], judged[0])
        return None
    if kind == "switch_case":
        return _case_reached(data, test, bound)
    if kind == "call_expression":
        judged = _string_test(data, test)
        if judged is None:
            judged = _listed(data, test, bound)
        if judged is not None:
            return judged
    if kind in ("call_expression", "identifier", "member_expression"):
        judged = _predicate(data, test)
        if judged is None and kind == "identifier" and follow:
            value = bound(test)
            if value is not None:
                return _judge(data, value, bound, follow=False)
        return judged
    return None


def _one_argument_method(data: bytes, call: Node) -> tuple[str, Node, Node] | None:
    """The method's name, its object and its one argument, of `value.method(argument)`."""
    function, arguments = call.child_by_field_name("function"), \
        call.child_by_field_name("arguments")
    if function is None or arguments is None or function.type != "member_expression" or \
            arguments.named_child_count != 1:
        return None
    method, value = function.child_by_field_name("property"), \
        function.child_by_field_name("object")
    if method is None or value is None:
        return None
    return _text(data, method), value, arguments.named_children[0]


def _string_test(data: bytes, call: Node) -> Judged | None:
    """`process.env.DATABASE_URL?.startsWith("mysql://")`, `databaseUrl.includes("sqlite")`."""
    called = _one_argument_method(data, call)
    if called is None or called[0] not in ("startsWith", "includes"):
        return None
    _, value, argument = called
    said = _literal(data, argument)
    words = _words(data, value)
    if said is None or not (words & _URL_WORDS or _names_dialect(data, value, words)):
        return None
    return (True, False) if said else (False, True)


def _listed(data: bytes, call: Node, bound: Bound) -> Judged | None:
    """`["mysql", "mariadb"].includes(dialect)`, also of a `const` bound to the list: each
    of its elements a string naming a kind."""
    called = _one_argument_method(data, call)
    if called is None or called[0] != "includes":
        return None
    _, listed, value = called
    listed = _unwrapped(listed)
    if listed.type == "identifier":
        listed = _unwrapped(bound(listed) or listed)
    elements = [child for child in listed.named_children if child.type != "comment"]
    if listed.type != "array" or not elements or \
            not _names_dialect(data, value, _words(data, value)):
        return None
    return _kinds_judged({_literal(data, element) for element in elements})


def _case_reached(data: bytes, case: Node, bound: Bound) -> Judged | None:
    """Whether a `case` of `switch (dialect)` is reached on PostgreSQL: the values of the cases
    leading to its body (itself and those falling through to it; none when `default:` does)."""
    cases = _cases_reaching(case)
    switch = _switch_value(case)
    if cases is None or switch is None or not _names_dialect(data, switch, _words(data, switch)):
        return None
    return _kinds_judged({_literal(data, _case_value(each, bound)) for each in cases})


def _cases_reaching(case: Node) -> list[Node] | None:
    """`case` and the cases before it that fall through to it (their body does not end in
    `break`, `return`, `throw` or `continue`), nearest first; None when a `default:` does."""
    siblings = [child for child in case.parent.named_children
                if child.type in ("switch_case", "switch_default")] if case.parent else [case]
    reaching = [case]
    for earlier in reversed(siblings[:siblings.index(case)]):
        if _leaves(earlier):
            break
        if earlier.type == "switch_default":
            return None
        reaching.append(earlier)
    return reaching


def _leaves(case: Node) -> bool:
    """Whether a `case`'s body ends in a statement leaving it (also inside its own `{ }`)."""
    value = case.child_by_field_name("value")
    body = [child for child in case.named_children if child != value and child.type != "comment"]
    last = body[-1] if body else None
    if last is not None and last.type == "statement_block":
        inner = [child for child in last.named_children if child.type != "comment"]
        last = inner[-1] if inner else None
    return last is not None and last.type in _CASE_EXITS


def _switch_value(case: Node) -> Node | None:
    """The value a `case` is compared with: `dialect` of `switch (dialect)`."""
    switch = case.parent.parent if case.parent is not None else None
    return switch.child_by_field_name("value") \
        if switch is not None and switch.type == "switch_statement" else None


def _case_value(case: Node, bound: Bound) -> Node:
    """A `case`'s value, a `const` it names followed (`case MYSQL:`)."""
    value = case.child_by_field_name("value") or case
    return (bound(value) or value) if value.type == "identifier" else value


def _kinds_judged(kinds: set[bool | None]) -> Judged:
    """Whether a value one of some kinds' names may be PostgreSQL's, and may not: `kinds` as
    `_literal` reads each name."""
    if kinds == {False}:
        return False, True
    return (True, False) if kinds == {True} else _EITHER


def _compared(data: bytes, left: Node, right: Node) -> Judged | None:
    """`dialect === "mysql"`, `"sqlite" !== process.env.DB_TYPE`."""
    if _literal(data, left) is not None:
        left, right = right, left
    said = _literal(data, right)
    if said is None or not _names_dialect(data, left, _words(data, left)):
        return None
    return (True, False) if said else (False, True)


def _predicate(data: bytes, test: Node) -> Judged | None:
    """`isMysql`, `isSQLite()`, `this.usesSqlite`, `isPostgres()`."""
    target = test.child_by_field_name("function") if test.type == "call_expression" else test
    if target is not None and target.type == "member_expression":
        target = target.child_by_field_name("property")
    if target is None or target.type not in _NAMES:
        return None
    match = _PREDICATE.match(_text(data, target).lower())
    said = word_kind(match.group(1)) if match is not None else None
    if said is None:
        return None
    return (True, False) if said else (False, True)


def _names_dialect(data: bytes, value: Node, words: set[str]) -> bool:
    """Whether a value names the database's kind: a dialect, provider, client, engine or
    driver, a database's type (`DB_TYPE`, `getDatabaseType()`), any `process.env.X`."""
    if words & _DIALECT_WORDS or (words & _KIND_WORDS and words & _DATABASE_WORDS):
        return True
    value = _unwrapped(value)
    owner = value.child_by_field_name("object") if value.type == "member_expression" else None
    return owner is not None and _text(data, owner) == "process.env"


def _literal(data: bytes, node: Node) -> bool | None:
    """True for a string naming PostgreSQL, False for one naming another database, None for
    anything else."""
    node = _unwrapped(node)
    if node.type not in ("string", "template_string") or \
            any(child.type == "template_substitution" for child in node.named_children):
        return None
    return literal_kind(_text(data, node)[1:-1])


def _engines(data: bytes, test: Node, bound: Bound) -> set[str]:
    """The other engines a test names, as a message shows them (also in the value of a
    `const` it reads: `MYSQL_CLIENTS.includes(client)`)."""
    found: set[str] = set()
    stack = [(test, True)]  # (node, whether a `const` it names is followed: one step)
    while stack:
        node, follows = stack.pop()
        stack.extend((child, follows) for child in node.named_children)
        value = bound(node) if follows and node.type == "identifier" else None
        if value is not None:
            stack.append((value, False))
        word: str | None = None
        if node.type in ("string", "template_string"):
            text = _text(data, node)[1:-1]
            word = text.lower().split("+", 1)[0].split(":", 1)[0] \
                if literal_kind(text) is False else None
        elif node.type in _NAMES:
            match = _PREDICATE.match(_text(data, node).lower())
            word = match.group(1) if match is not None and \
                word_kind(match.group(1)) is False else None
        if word is not None:
            found.add(_SHOWN.get(word, word))
    return found


def _words(data: bytes, node: Node) -> set[str]:
    """The lower-cased words of the names an expression spells (`process.env.DATABASE_URL`
    -> process, env, database, url; `getDatabaseType()` -> get, database, type)."""
    found: set[str] = set()
    stack = [node]
    while stack:
        child = stack.pop()
        if child.type == "arguments":
            continue
        if child.type in _NAMES:
            found.update(w.lower() for w in _WORDS.findall(_text(data, child)))
        stack.extend(child.named_children)
    return found


def _unwrapped(node: Node) -> Node:
    while node.type in _WRAPPERS and node.named_child_count:
        node = node.named_children[0]
    return node


def _operator(node: Node) -> str | None:
    operator = node.child_by_field_name("operator")
    return operator.type if operator is not None else None


def _text(data: bytes, node: Node) -> str:
    return data[node.start_byte:node.end_byte].decode("utf-8", "replace")

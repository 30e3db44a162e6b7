"""What a function's body names without a schema that `search_path = pg_catalog, pg_temp`
does not find, read with PostgreSQL's own parsers (pglast: SQL, and PL/pgSQL's).

PostgreSQL 17 runs the functions an index, a materialized view (and a restore: pg_dump
empties the search_path) calls with that path; a string body (`AS $$ ... $$`) resolves its
names when it runs, so a table, function, type or operator of `public` it names unqualified
is not found there. Shared by lint's DBS142 (a `CREATE FUNCTION` of the migrations' history)
and check DBS520 (one of a live database, `pg_get_functiondef`): one reader, one answer.
What it cannot read (another language, a body a parser rejects) it says, "cannot tell".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

# Characters an operator name is made of (a `BETWEEN` A_Expr is named by a keyword instead).
_OPERATOR_CHARS = frozenset("+-*/<>=~!@#%^&|`?")

# pg_catalog's operator names on PostgreSQL 15 and 18 (tests/lint/
# test_maintenance_search_path_pg.py holds them to pg_operator): lint has no database to ask.
CATALOG_OPERATORS = frozenset("""
!! !~ !~* !~~ !~~* # ## #- #> #>> % & && &< &<| &> * *< *<= *<> *= *> *>= + - -> ->> -|- / <
<-> << <<= <<| <= <> <@ <^ = > >= >> >>= >^ ? ?# ?& ?- ?-| ?| ?|| @ @-@ @> @? @@ @@@ ^ ^@ |
|&> |/ |>> || ||/ ~ ~* ~<=~ ~<~ ~= ~>=~ ~>~ ~~ ~~*
""".split())



@dataclass(frozen=True, slots=True)
class CatalogNames:
    """The names `search_path = pg_catalog, pg_temp` finds unqualified, by kind."""

    relations: frozenset[str]
    functions: frozenset[str]
    types: frozenset[str]
    operators: frozenset[str] = CATALOG_OPERATORS


@dataclass(frozen=True, slots=True)
class Name:
    """A name a body gives without a schema that pg_catalog has no object of."""

    kind: str  # "relation", "function", "type" or "operator"
    name: str
    arity: int | None = None  # a function call's number of arguments, where known

    def __str__(self) -> str:
        return f"{self.name}()" if self.kind == "function" else self.name


@dataclass(frozen=True, slots=True)
class Call:
    """A user function a body calls that runs under the caller's search_path: one named
    with its schema (`app.f(x)`), or, in a SQL-standard body, one pg_catalog has no function
    of (`schema` None: bound when the caller was made, to a schema of its path then)."""

    schema: str | None
    name: str
    arity: int | None  # None: VARIADIC, `*` or otherwise not a plain count


@dataclass(frozen=True, slots=True)
class FunctionBody:
    """What one `CREATE FUNCTION` names. `unreadable` says why dbsafe cannot tell (then the
    rest is empty); `builds_sql` that it runs SQL built when it runs (`EXECUTE`), whose names
    only that run knows: the rest of the body is still read."""

    language: str = "sql"
    sets_search_path: bool = False  # `SET search_path ...` among its clauses
    bound: bool = False  # a SQL-standard body (`BEGIN ATOMIC`, `RETURN`): resolved when made
    unqualified: tuple[Name, ...] = ()  # in the order the body gives them
    calls: tuple[Call, ...] = ()
    builds_sql: bool = False
    unreadable: str | None = None
    arguments: tuple[int, int | None] = (0, 0)  # fewest and most it takes (None: VARIADIC)

    def accepts(self, arity: int | None) -> bool:
        """Can a call with `arity` arguments reach this function (None: perhaps)?"""
        least, most = self.arguments
        return arity is None or (least <= arity and (most is None or arity <= most))


@dataclass(slots=True)
class _Found:
    unqualified: dict[Name, None] = field(default_factory=dict)
    calls: dict[Call, None] = field(default_factory=dict)


def read_function(definition: str, catalog: CatalogNames) -> FunctionBody:
    """Read a `CREATE FUNCTION` statement (as a migration writes it or `pg_get_functiondef`
    gives it) for the names its body gives that `catalog` lacks.

    >>> catalog = CatalogNames(frozenset({"pg_class"}), frozenset({"lower", "text", "int4"}),
    ...                        frozenset({"text", "int4", "bool"}))
    >>> body = read_function("CREATE FUNCTION f(a text) RETURNS text LANGUAGE sql AS $$ "
    ...     "WITH x AS (SELECT 1) SELECT lower(plus_one(a, 2)::text) FROM lk, x, pg_class "
    ...     "WHERE b @@@@ c AND d = app.f(e) $$", catalog)
    >>> [str(n) for n in body.unqualified], body.calls
    (['plus_one()', 'lk', '@@@@'], (Call(schema='app', name='f', arity=1),))
    >>> [str(n) for n in read_function("CREATE FUNCTION f() RETURNS void LANGUAGE sql "
    ...     "AS 'INSERT INTO log VALUES ($1::my_type)'", catalog).unqualified]
    ['log', 'my_type']
    >>> read_function("CREATE FUNCTION f(i int) RETURNS int LANGUAGE plpgsql AS $$ "
    ...     "DECLARE r lk%ROWTYPE; BEGIN RETURN lower(i::text); END $$", catalog).unqualified
    (Name(kind='relation', name='lk', arity=None),)
    >>> body = read_function("CREATE FUNCTION f(s text) RETURNS int LANGUAGE plpgsql AS $$ "
    ...     "BEGIN EXECUTE s; RETURN 1; END $$", catalog)
    >>> body.builds_sql, body.unqualified
    (True, ())
    >>> body = read_function("CREATE FUNCTION f(i int) RETURNS int SET search_path = app "
    ...     "BEGIN ATOMIC SELECT g(i) + missing; END", catalog)
    >>> body.bound, body.sets_search_path, body.calls
    (True, True, (Call(schema=None, name='g', arity=1),))
    >>> read_function("CREATE FUNCTION f() RETURNS int LANGUAGE plperl AS '1'", catalog).unreadable
    'is written in plperl, which dbsafe does not read'
    """
    import pglast
    from pglast.parser import ParseError

    try:
        statements = pglast.parse_sql(definition)
    except (ParseError, RecursionError):
        return FunctionBody(unreadable="has a definition PostgreSQL's parser rejects")
    node: Any = statements[0].stmt if len(statements) == 1 else None
    if type(node).__name__ != "CreateFunctionStmt":
        return FunctionBody(unreadable="has a definition that is no one CREATE FUNCTION")
    language, body, pinned = "sql", None, False
    for elem in node.options or ():
        arg = elem.arg
        if elem.defname == "language":
            language = str(getattr(arg, "sval", "") or "").lower()
        elif elem.defname == "as":
            parts = _strings(arg)
            body = parts[0] if len(parts) == 1 else None
        elif elem.defname == "set":
            pinned = pinned or getattr(arg, "name", None) == "search_path"
    shape: dict[str, Any] = {"language": language, "sets_search_path": pinned,
                             "arguments": _arguments(node)}
    found = _Found()
    builds_sql = False
    if language == "sql" and node.sql_body:
        _collect(node.sql_body, catalog, found, bound=True)
        return FunctionBody(**shape, bound=True, calls=tuple(found.calls))
    if language == "sql" and body is not None:
        texts: list[str | None] = [body]
    elif language == "plpgsql":
        from pglast.parser import parse_plpgsql_json

        from dbsafe.pg.plpgsql import executed_sql

        try:
            tree = json.loads(parse_plpgsql_json(definition))
        except (ParseError, ValueError, RecursionError):
            return FunctionBody(**shape,
                                unreadable="has a body PostgreSQL's PL/pgSQL parser rejects")
        for typname in _declared_types(tree):
            _declared_type(typname, catalog, found)
        texts = list(executed_sql(tree, expressions=True))
    else:
        return FunctionBody(**shape,
                            unreadable=f"is written in {language}, which dbsafe does not read")
    for text in texts:
        if text is None:
            builds_sql = True  # (built at run time: its names are unknown, the rest count)
            continue
        try:
            parsed = pglast.parse_sql(text)
        except (ParseError, RecursionError):
            return FunctionBody(**shape, unreadable="has a body PostgreSQL's parser rejects")
        for raw in parsed:
            _collect(raw.stmt, catalog, found, bound=False)
    return FunctionBody(**shape, unqualified=tuple(found.unqualified), calls=tuple(found.calls),
                        builds_sql=builds_sql)


def _collect(tree: Any, catalog: CatalogNames, found: _Found, *, bound: bool) -> None:
    """Gather what one statement's tree names: in a string body the names pg_catalog lacks
    and the qualified calls; in a SQL-standard one (`bound`) the user functions it calls."""
    nodes = list(_walk(tree))
    ctes = {node.ctename for kind, node in nodes if kind == "CommonTableExpr"}
    for kind, node in nodes:
        if kind == "FuncCall":
            names = _strings(node.funcname)
            arity = None if node.func_variadic or node.agg_star else len(node.args or ())
            if len(names) == 2 and names[0] != "pg_catalog":
                found.calls[Call(names[0], names[1], arity)] = None
            elif len(names) == 1 and names[0] not in catalog.functions:
                if bound:
                    found.calls[Call(None, names[0], arity)] = None
                else:
                    found.unqualified[Name("function", names[0], arity)] = None
        elif bound:
            continue
        elif kind == "RangeVar" and not node.schemaname:
            if node.relname and node.relname not in ctes and \
                    node.relname not in catalog.relations:
                found.unqualified[Name("relation", node.relname)] = None
        elif kind == "A_Expr":
            names = _strings(node.name)
            if len(names) == 1 and set(names[0]) <= _OPERATOR_CHARS and \
                    names[0] not in catalog.operators:
                found.unqualified[Name("operator", names[0])] = None
        elif kind == "TypeName" and not node.pct_type:
            names = _strings(node.names)
            if len(names) == 1 and names[0] not in catalog.types and \
                    names[0] not in catalog.relations:
                found.unqualified[Name("type", names[0])] = None


def _declared_types(tree: Any) -> Iterator[str]:
    """The types a PL/pgSQL function's variables are declared with, as its parser gives them
    (`int4`, `lk%rowtype`; one it cannot resolve is a `record` with no name, unread)."""
    for function in tree if isinstance(tree, list) else [tree]:
        for datum in (function or {}).get("PLpgSQL_function", {}).get("datums") or ():
            for fields in datum.values():
                typname = (fields.get("datatype") or {}).get("PLpgSQL_type", {}).get("typname")
                if isinstance(typname, str):
                    yield typname


def _declared_type(typname: str, catalog: CatalogNames, found: _Found) -> None:
    # `t%ROWTYPE` names a relation, `t.c%TYPE` a relation's column, `s.t...` is qualified;
    # a quoted name keeps its case, an array keeps its brackets
    lowered = typname.split("[")[0].strip()
    if lowered.lower().endswith("%rowtype"):
        parts, kind = lowered[: -len("%rowtype")].split("."), "relation"
    elif lowered.lower().endswith("%type"):
        parts, kind = lowered[: -len("%type")].split(".")[:-1], "relation"
    else:
        parts, kind = lowered.split("(")[0].strip().split("."), "type"
    if len(parts) != 1 or not parts[0]:
        return
    name = parts[0][1:-1] if parts[0].startswith('"') else parts[0].lower()
    if name in catalog.relations or (kind == "type" and name in catalog.types):
        return
    found.unqualified[Name(kind, name)] = None


def _arguments(node: Any) -> tuple[int, int | None]:
    """(fewest, most) arguments a call of the function passes (most None: VARIADIC)."""
    least = most = 0
    variadic = False
    for parameter in node.parameters or ():
        mode = getattr(parameter.mode, "name", str(parameter.mode))
        if mode in ("FUNC_PARAM_OUT", "FUNC_PARAM_TABLE"):
            continue
        most += 1
        variadic = variadic or mode == "FUNC_PARAM_VARIADIC"
        if parameter.defexpr is None and not variadic:
            least = most
    return least, None if variadic else most


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    """Every `(kind, node)` below `node` (pglast's AST), depth first, in source order: a
    relation or a type is a field of its parent as often as a list item, reached either way."""
    from pglast import ast

    stack: list[Any] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.Node):
            yield type(item).__name__, item
            stack.extend(value for value in (getattr(item, name) for name in reversed(list(item)))
                         if isinstance(value, (ast.Node, tuple, list)))
        elif isinstance(item, (tuple, list)):
            stack.extend(value for value in reversed(item)
                         if isinstance(value, (ast.Node, tuple, list)))


def _strings(items: Any) -> tuple[str, ...]:
    return tuple(item.sval for item in items or () if hasattr(item, "sval"))

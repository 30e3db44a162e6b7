"""Kysely query-builder chains, read as the SQL statement they compile to (its names only).

Kysely (kysely.dev) names tables and columns in strings: `db.selectFrom('person as p')
.select(['p.id', 'first_name as fn']).where('last_name', '=', x).execute()` compiles (its
PostgreSQL dialect) to `select "p"."id", "first_name" as "fn" from "person" as "p" where
"last_name" = $1`. A chain is read only when everything that decides its names is a plain
string literal, and is turned into a statement that resolves the same names in the same
scopes (`SqlFragment`, origin "js"), each name mapped back to its place in the string: the
ordinary resolver and PostgreSQL's Parse then say which does not exist. Comparisons become
`"col" IS NULL` (a value's type never matters to a name), values `$n`.

Read (parsed as Kysely 0.28's parsers do: `' as '` aliases, `.`-separated schema, table and
column, `'col desc'` in `orderBy`, every name quoted as it is written):

- `selectFrom('t' | 't as a' | 's.t' | [...])`, `insertInto('t')`, `updateTable('t')`,
  `deleteFrom('t')` on a client (`clients`) or its `withSchema('s')`;
- `select`/`returning` (`'c'`, `'t.c'`, `'c as x'`, or a list of them), `where(ref, op,
  value)`, `whereRef(a, op, b)`, `having`/`havingRef` alike, `orderBy`, `groupBy`,
  `innerJoin`/`leftJoin`/`rightJoin`/`fullJoin('t as x', 'x.a', 'p.b')` (a callback's `on` is
  not read), `values({ col: v } | [...])` and `set({ col: v } | 'col', v)` keys, `columns`,
  update's `from`, delete's `using`;
- only a chain that ends in `execute()`, `executeTakeFirst()`, `executeTakeFirstOrThrow()`,
  `stream()` or `compile()`: one that does not may be a subquery of another statement,
  whose names its outer query's tables may answer.

Anything else makes the chain unread, never guessed: a method not listed (`with`, `$if`,
`$call`, `union`, ...), a table or join that is not a string (a subquery, `eb` callback,
`sql` fragment, `db.dynamic`), a name Kysely would not parse as listed (`->`, `*`, three
dots). A part that cannot add a table or an output (a `where(eb => ...)`, a value, a
`select` callback) is left out alone; with an output left out, an `orderBy`/`groupBy` name
that is not qualified (it may be that output's alias) is left out too.

Which calls are on a Kysely client is decided here (`_Clients`); what a project's clients do
to names (plugins) in `dbsafe.extract.kysely_clients`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dbsafe.extract.fragment import SqlFragment
from dbsafe.extract.javascript import _walk  # (kysely is read from javascript alone)

if TYPE_CHECKING:
    from tree_sitter import Node

_STARTS = frozenset({"selectFrom", "insertInto", "updateTable", "deleteFrom"})
_EXECUTORS = frozenset({"execute", "executeTakeFirst", "executeTakeFirstOrThrow", "stream",
                        "compile"})
# Methods that neither add a table to the statement's scope nor name one of its columns.
_NEUTRAL = frozenset({"selectAll", "returningAll", "distinct", "limit", "offset", "forUpdate",
                      "forShare", "forNoKeyUpdate", "forKeyShare", "skipLocked", "noWait",
                      "$narrowType", "$castTo", "$assertType", "onConflict", "clearLimit",
                      "clearOffset", "clearOrderBy"})
_JOINS = {"innerJoin": "INNER JOIN", "leftJoin": "LEFT JOIN", "rightJoin": "RIGHT JOIN",
          "fullJoin": "FULL JOIN"}
_PREDICATES = frozenset({"where", "having"})
_REF_PREDICATES = frozenset({"whereRef", "havingRef"})
# A name Kysely writes as it is, quoted: anything else (`*`, a JSON path) is not read.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*\Z")
_CLIENT_TYPES = frozenset({"Kysely", "Transaction"})
_FUNCTIONS = frozenset({"function_declaration", "function_expression", "arrow_function",
                        "method_definition", "generator_function_declaration",
                        "generator_function"})
_SCOPES = frozenset({"statement_block", "program", "class_body"})
_WRAPPERS = frozenset({"parenthesized_expression", "await_expression", "non_null_expression",
                       "as_expression", "satisfies_expression"})


class _Unread(Exception):
    """The chain holds something that decides its names and cannot be read."""


@dataclass(frozen=True, slots=True)
class _Name:
    """One identifier of a string literal, and where its first character is in the file."""

    text: str
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class _Table:
    schema: _Name | None
    name: _Name
    alias: _Name | None


@dataclass(slots=True)
class _Chain:
    """What the chain's calls say, in the pieces of the statement it compiles to."""

    kind: str  # the starting method
    schema: str | None
    tables: list[_Table] = field(default_factory=list)  # FROM (update's FROM, delete's USING)
    target: _Table | None = None  # insert's, update's, delete's table
    joins: list[tuple[str, _Table, list[list[_Name]]]] = field(default_factory=list)
    outputs: list[tuple[list[_Name], _Name | None]] = field(default_factory=list)
    outputs_unread: bool = False
    select_all: bool = False
    predicates: list[list[_Name]] = field(default_factory=list)
    group: list[list[_Name]] = field(default_factory=list)
    order: list[list[_Name]] = field(default_factory=list)
    columns: list[_Name] = field(default_factory=list)  # insert's columns, update's SET


def kysely_fragments(root: Node, data: bytes, path: str,
                     position: Callable[[int], tuple[int, int]], *, typed: str = "",
                     client_types: frozenset[str] = frozenset(),
                     imported: Callable[[str, str], str] = lambda module, name: "",
                     members: frozenset[tuple[str, str]] = frozenset(),
                     ) -> list[SqlFragment]:
    """The statements of the Kysely chains in a file's tree (`root`), in source order.

    A client's mode says how it writes names: "plain" as they are, "camel" through Kysely's
    `CamelCasePlugin` (default options), which writes every identifier snake_cased
    (`snake_case`), "" not known (its chains are not read). `position(byte)` is the file's
    (line, column) of a byte offset; `typed`: the mode of a client typed `Kysely<...>` or
    `Transaction<...>` (`kysely_clients.KyselyClients.mode`); `client_types`: the project's
    type aliases of those (`type DB = Kysely<Database>`); `imported(module, name)`: the mode
    of the client `import { name } from module` binds (`KyselyClients.imported`; `name()`
    for a function returning one); `members`: (class, member) of the project's classes'
    members typed as a client (`KyselyClients.members`); a client made in the file has its
    own options' mode."""
    reader = _Reader(data, path, position, typed, _CLIENT_TYPES | client_types, imported,
                     members)
    fragments = []
    for node in _walk(root):
        if node.type == "call_expression":
            fragment = reader.chain(node)
            if fragment is not None:
                fragments.append(fragment)
    return fragments


def snake_case(name: str) -> str:
    """Kysely's `CamelCasePlugin` name for `name` with default options (its
    `createSnakeCaseMapper()`: an upper-case letter after a lower-case one starts a `_`
    word; upper-case runs stay one word; digits are left alone).

    >>> snake_case("firstName"), snake_case("userID"), snake_case("address1"), snake_case("Id")
    ('first_name', 'user_id', 'address1', 'id')
    """
    if not name:
        return name
    out = name[0].lower()
    for index in range(1, len(name)):
        char, previous = name[index], name[index - 1]
        if char == char.upper() and char.upper() != char.lower():
            previous_upper = previous == previous.upper() and previous.upper() != previous.lower()
            out += char.lower() if previous_upper else "_" + char.lower()
        else:
            out += char
    return out


class _Reader:
    def __init__(self, data: bytes, path: str, position: Callable[[int], tuple[int, int]],
                 typed: str, client_types: frozenset[str],
                 imported: Callable[[str, str], str],
                 members: frozenset[tuple[str, str]] = frozenset()) -> None:
        self.data = data
        self.path = path
        self.position = position
        self.typed = typed
        self.client_types = client_types
        self.imported = imported
        self.members = members
        self.constants: dict[str, Node | None] | None = None

    def text(self, node: Node) -> str:
        return self.data[node.start_byte:node.end_byte].decode("utf-8", "replace")

    # -- the chain -----------------------------------------------------------------------

    def chain(self, call: Node) -> SqlFragment | None:
        """The statement of the chain `call` starts (`db.selectFrom(...)`), None unless it
        is a whole chain on a Kysely client that can be read."""
        function = call.child_by_field_name("function")
        if function is None or function.type != "member_expression":
            return None
        method = function.child_by_field_name("property")
        if method is None or self.text(method) not in _STARTS:
            return None
        receiver = function.child_by_field_name("object")
        if receiver is None:
            return None
        receiver = _unwrap(receiver)
        schema: _Name | None = None
        if receiver.type == "call_expression":  # `db.withSchema('s')`
            inner = receiver.child_by_field_name("function")
            if inner is None or inner.type != "member_expression" or \
                    self.text(inner.child_by_field_name("property") or inner) != "withSchema":
                return None
            arguments = _arguments(receiver)
            if len(arguments) != 1:
                return None
            schema = self.literal(arguments[0])
            if schema is None or not _NAME.match(schema.text):
                return None
            receiver = _unwrap(inner.child_by_field_name("object") or inner)
        mode = self.client_mode(receiver)
        if not mode:
            return None
        calls = [(self.text(method), _arguments(call))]
        node = call
        while True:
            parent = node.parent
            if parent is None or parent.type != "member_expression" or \
                    parent.child_by_field_name("object") != node:
                return None
            outer = parent.parent
            name = parent.child_by_field_name("property")
            if outer is None or name is None or outer.type != "call_expression" or \
                    outer.child_by_field_name("function") != parent:
                return None
            calls.append((self.text(name), _arguments(outer)))
            node = outer
            if calls[-1][0] in _EXECUTORS:
                break
        try:
            chain = self.read(calls, schema.text if schema is not None else None)
            return self.statement(chain, call, mode == "camel")
        except _Unread:
            return None

    def read(self, calls: list[tuple[str, list[Node]]], schema: str | None) -> _Chain:
        kind, arguments = calls[0]
        chain = _Chain(kind, schema)
        if len(arguments) != 1:
            raise _Unread
        if kind == "selectFrom":
            chain.tables.extend(self.tables(arguments[0]))
        else:
            chain.target = self.table(arguments[0])
        for method, arguments in calls[1:-1]:
            self.call(chain, method, arguments)
        return chain

    def call(self, chain: _Chain, method: str, arguments: list[Node]) -> None:
        if method in _NEUTRAL:
            if method == "selectAll" and not arguments:
                chain.select_all = True
            return
        select = chain.kind == "selectFrom"
        if (method == "select" and select) or (method == "returning" and not select):
            if len(arguments) != 1:
                raise _Unread
            for item in self.items(arguments[0]):
                if item is None:
                    chain.outputs_unread = True
                else:
                    chain.outputs.append(self.aliased_reference(item))
        elif method in _PREDICATES:
            if len(arguments) == 3:
                reference = self.literal(arguments[0])
                if reference is not None:
                    chain.predicates.append(self.reference(reference))
        elif method in _REF_PREDICATES:
            if len(arguments) != 3:
                raise _Unread
            for argument in (arguments[0], arguments[2]):
                reference = self.literal(argument)
                if reference is not None:
                    chain.predicates.append(self.reference(reference))
        elif method in _JOINS and chain.kind == "selectFrom":
            if len(arguments) not in (2, 3):
                raise _Unread
            on: list[list[_Name]] = []
            if len(arguments) == 3:
                for argument in arguments[1:]:
                    reference = self.literal(argument)
                    if reference is None:
                        raise _Unread
                    on.append(self.reference(reference))
            chain.joins.append((_JOINS[method], self.table(arguments[0]), on))
        elif method in ("orderBy", "groupBy") and select:
            if not arguments or len(arguments) > 2:
                raise _Unread
            names = [self.literal(arguments[0])] if arguments[0].type != "array" else \
                [item for item in self.items(arguments[0])]
            for name in names:
                if name is None:
                    continue  # an expression: it adds no table
                if method == "orderBy":
                    name = _direction_dropped(name)
                    if name is None:
                        raise _Unread
                (chain.order if method == "orderBy" else chain.group).append(
                    self.reference(name))
        elif method == "values" and chain.kind == "insertInto":
            if len(arguments) != 1:
                raise _Unread
            rows = [arguments[0]] if arguments[0].type != "array" else \
                arguments[0].named_children
            for row in rows:
                self.keys(chain, row)
        elif method == "columns" and chain.kind == "insertInto":
            if len(arguments) != 1 or arguments[0].type != "array":
                raise _Unread
            for item in self.items(arguments[0]):
                if item is not None:
                    chain.columns.append(self.column(item))
        elif method == "set" and chain.kind == "updateTable":
            if len(arguments) == 2:
                key = self.literal(arguments[0])
                if key is not None:
                    chain.columns.append(self.column(key))
            elif len(arguments) == 1:
                self.keys(chain, arguments[0])
            else:
                raise _Unread
        elif (method == "from" and chain.kind == "updateTable") or \
                (method == "using" and chain.kind == "deleteFrom"):
            if len(arguments) != 1:
                raise _Unread
            chain.tables.extend(self.tables(arguments[0]))
        else:
            raise _Unread

    def keys(self, chain: _Chain, row: Node) -> None:
        """The columns an object literal's keys name (`{ first_name: v, age }`); a key
        computed at run time or a spread is left out (what it adds is not seen), as is a
        key given `undefined` (Kysely leaves it out)."""
        row = _unwrap(row)
        if row.type != "object":
            return
        for entry in row.named_children:
            if entry.type == "shorthand_property_identifier":
                chain.columns.append(self.column(self.name_at(entry, self.text(entry))))
            elif entry.type == "pair":
                key = entry.child_by_field_name("key")
                value = entry.child_by_field_name("value")
                if key is None or (value is not None and self.text(value) == "undefined"):
                    continue
                if key.type == "property_identifier":
                    chain.columns.append(self.column(self.name_at(key, self.text(key))))
                elif key.type == "string":
                    literal = self.literal(key)
                    if literal is not None:
                        chain.columns.append(self.column(literal))

    # -- strings -------------------------------------------------------------------------

    def literal(self, node: Node) -> _Name | None:
        """A string literal's text and the place of its first character; None for anything
        else (a template with a substitution, an escape: not the text the file shows)."""
        node = _unwrap(node)
        if node.type not in ("string", "template_string"):
            return None
        if any(child.type not in ("string_fragment", '"', "'", "`") for child in node.children):
            return None
        line, column = self.position(node.start_byte)
        return _Name(self.text(node)[1:-1], line, column + 1)

    def name_at(self, node: Node, text: str) -> _Name:
        line, column = self.position(node.start_byte)
        return _Name(text, line, column)

    def items(self, node: Node) -> Iterable[_Name | None]:
        """A string, or each item of an array literal (None for one that is not a string)."""
        node = _unwrap(node)
        if node.type != "array":
            return [self.literal(node)]
        items: list[_Name | None] = []
        for item in node.named_children:
            if item.type == "comment":
                continue
            if item.type == "spread_element":
                raise _Unread
            items.append(self.literal(item))
        return items

    def tables(self, node: Node) -> list[_Table]:
        node = _unwrap(node)
        items = node.named_children if node.type == "array" else [node]
        return [self.table(item) for item in items if item.type != "comment"]

    def table(self, node: Node) -> _Table:
        """`'t'`, `'s.t'`, `'t as a'` (Kysely's `parseAliasedTable`)."""
        literal = self.literal(node)
        if literal is None:
            raise _Unread
        parts = _split(literal, " as ")
        if len(parts) > 2:
            raise _Unread
        names = _split(parts[0], ".")
        if len(names) > 2:
            raise _Unread
        alias = parts[1] if len(parts) == 2 else None
        for name in (*names, *([alias] if alias else [])):
            self.check(name)
        return _Table(names[0] if len(names) == 2 else None, names[-1], alias)

    def reference(self, literal: _Name) -> list[_Name]:
        """`'c'`, `'t.c'`, `'s.t.c'` (Kysely's `parseStringReference`)."""
        names = _split(literal, ".")
        if len(names) > 3:
            raise _Unread
        for name in names:
            self.check(name)
        return names

    def aliased_reference(self, literal: _Name) -> tuple[list[_Name], _Name | None]:
        parts = _split(literal, " as ")
        if len(parts) > 2:
            raise _Unread
        if len(parts) == 2:
            self.check(parts[1])
        return self.reference(parts[0]), parts[1] if len(parts) == 2 else None

    def column(self, literal: _Name) -> _Name:
        self.check(literal)
        return literal

    @staticmethod
    def check(name: _Name) -> None:
        if not _NAME.match(name.text):
            raise _Unread

    # -- clients -------------------------------------------------------------------------

    def client_mode(self, node: Node) -> str:
        """The mode of the Kysely client `node` is, "" for none known: a name bound (in the
        scope that binds it) to `new Kysely(...)` (its options'), imported from a module of
        the project exporting one (`imported`), typed `Kysely<...>`/`Transaction<...>` (or an
        alias of either, or a subclass of `Kysely`: `typed`), bound to what a function returns
        (`const db = createDb()`: `factory_mode`), or a transaction's callback's parameter
        (`db.transaction().execute(async (trx) => ...)`: `db`'s); `this.db` of a class whose
        field or constructor parameter is so; `x.db` where `x` is typed (or made as) a class of
        the project whose member `db` is typed so (`members`: bluesky's `db: Database`,
        `db.db.selectFrom(...)`)."""
        if node.type == "identifier":
            binding = _binding(node, self.text(node), self.text)
            return self.bound_mode(binding) if binding is not None else ""
        if node.type == "member_expression":
            holder = node.child_by_field_name("object")
            name = node.child_by_field_name("property")
            if holder is None or name is None:
                return ""
            if holder.type != "this":
                return self.typed if (self.holder_class(_unwrap(holder)), self.text(name)) \
                    in self.members else ""
            member = _field(node, self.text(name), self.text)
            return self.bound_mode(member) if member is not None else ""
        return ""

    def holder_class(self, node: Node) -> str:
        """The class a name is typed as (`db: Database`, `this.db` of a field so typed) or a
        `const` is made as (`new Database(...)`), "" for anything else."""
        from dbsafe.extract.kysely_clients import type_names

        binding: Node | None = None
        if node.type == "identifier":
            binding = _binding(node, self.text(node), self.text)
        elif node.type == "member_expression" and \
                (node.child_by_field_name("object") or node).type == "this":
            binding = _field(node, self.text(node.child_by_field_name("property") or node),
                             self.text)
        if binding is None or binding.type not in (
                "required_parameter", "optional_parameter", "variable_declarator",
                "public_field_definition"):
            return ""
        annotation = next((c for c in binding.children if c.type == "type_annotation"), None)
        if annotation is not None:
            names = type_names(annotation, self.text)
            return names[0] if len(names) == 1 else ""
        value = binding.child_by_field_name("value")
        value = _unwrap(value) if value is not None else None
        constructor = value.child_by_field_name("constructor") \
            if value is not None and value.type == "new_expression" else None
        return self.text(constructor) if constructor is not None and \
            constructor.type == "identifier" else ""

    def factory_mode(self, callee: Node) -> str:
        """The mode of the client the function `callee` names returns: one imported from a
        module of the project (`imported(module, "createDb()")`), or the file's own whose
        every return is `new Kysely(...)` (its options') or whose return type is a client
        type (`typed`)."""
        from dbsafe.extract.kysely_clients import returned_mode, type_names

        binding = _binding(callee, self.text(callee), self.text)
        if binding is None:
            return ""
        if binding.type == "import_specifier" or (
                binding.parent is not None and binding.parent.type == "import_clause"):
            return self.import_mode(binding, "()")
        function = binding.child_by_field_name("value") \
            if binding.type == "variable_declarator" else binding
        function = _unwrap(function) if function is not None else None
        if function is None or function.type not in ("function_declaration", "arrow_function",
                                                     "function_expression"):
            return ""
        returned = returned_mode(function, self.file_constants(function), self.text)
        if returned is not None:
            return returned
        names = type_names(function.child_by_field_name("return_type"), self.text, True)
        return self.typed if names and set(names) <= self.client_types else ""

    def file_constants(self, node: Node) -> dict[str, Node | None]:
        if self.constants is None:
            self.constants = {
                self.text(n.child_by_field_name("name") or n):
                n.child_by_field_name("value") for n in _walk(_root(node))
                if n.type == "variable_declarator"}
        return self.constants

    def bound_mode(self, binding: Node) -> str:
        if binding.type == "import_specifier" or (
                binding.parent is not None and binding.parent.type == "import_clause"):
            return self.import_mode(binding)
        if binding.type == "function_declaration":  # (a function, not its client)
            return ""
        annotation = next((c for c in binding.children if c.type == "type_annotation"), None)
        value = binding.child_by_field_name("value")
        if value is not None and binding.type in ("variable_declarator",
                                                  "public_field_definition"):
            value = _unwrap(value)
            constructor = value.child_by_field_name("constructor") \
                if value.type == "new_expression" else None
            if constructor is not None and self.text(constructor) == "Kysely":
                from dbsafe.extract.kysely_clients import client_mode

                return client_mode(value, self.file_constants(binding), self.text)
            if annotation is None and constructor is not None and \
                    self.text(constructor) in self.client_types:  # a subclass of Kysely
                return self.typed
            callee = value.child_by_field_name("function") \
                if value.type == "call_expression" else None
            if annotation is None and callee is not None and callee.type == "identifier":
                return self.factory_mode(callee)
        if annotation is not None:
            return self.typed if self.client_type(annotation) else ""
        if binding.type in ("required_parameter", "identifier"):
            return self.transaction_parameter(binding)
        return ""

    def import_mode(self, binding: Node, call: str = "") -> str:
        """The mode of the client an import binds: `import { db } from './db'` (also `{ db
        as client }`), `import db from './db'` (its default export); with `call` "()", of
        the client the function it binds returns."""
        if binding.type == "import_specifier":
            name = self.text(binding.child_by_field_name("name") or binding)
        else:
            name = "default"
        name += call
        statement = binding.parent
        while statement is not None and statement.type != "import_statement":
            statement = statement.parent
        source = statement.child_by_field_name("source") if statement is not None else None
        if source is None or source.type != "string":
            return ""
        module = "".join(self.text(c) for c in source.named_children
                         if c.type == "string_fragment")
        return self.imported(module, name) if module else ""

    def client_type(self, annotation: Node) -> bool:
        """Whether a type annotation is a client type (`kysely_clients.type_names`: also
        `Kysely<DB> | Transaction<DB>`, `Omit<KyselyDB, 'transaction'>`)."""
        from dbsafe.extract.kysely_clients import type_names

        names = type_names(annotation, self.text)
        return bool(names) and set(names) <= self.client_types

    def transaction_parameter(self, parameter: Node) -> str:
        """`trx` of `db.transaction().execute(async (trx) => ...)` (or after
        `.setIsolationLevel(...)`), `db` a client: its mode."""
        function = parameter.parent
        if function is not None and function.type == "formal_parameters":
            if function.named_children[:1] != [parameter]:
                return ""
            function = function.parent
        if function is None or function.type not in ("arrow_function", "function_expression"):
            return ""
        arguments = function.parent
        if arguments is None or arguments.type != "arguments":
            return ""
        call = arguments.parent
        if call is None or call.type != "call_expression":
            return ""
        callee = call.child_by_field_name("function")
        if callee is None or callee.type != "member_expression" or \
                self.text(callee.child_by_field_name("property") or callee) != "execute":
            return ""
        inner = _unwrap(callee.child_by_field_name("object") or callee)
        while inner.type == "call_expression":
            member = inner.child_by_field_name("function")
            if member is None or member.type != "member_expression":
                return ""
            name = self.text(member.child_by_field_name("property") or member)
            holder = _unwrap(member.child_by_field_name("object") or member)
            if name == "transaction":
                return self.client_mode(holder)
            if name not in ("setIsolationLevel", "setAccessMode"):
                return ""
            inner = holder
        return ""

    # -- the statement -------------------------------------------------------------------

    def statement(self, chain: _Chain, call: Node, camel_case: bool) -> SqlFragment | None:
        line, column = self.position(call.start_byte)
        sql = _Sql(line, column, snake_case if camel_case else None)
        if chain.kind == "selectFrom":
            sql.add("SELECT ")
            if chain.outputs:
                for index, (reference, alias) in enumerate(chain.outputs):
                    sql.add(", " if index else "")
                    sql.reference(reference)
                    if alias is not None:
                        sql.add(" AS ")
                        sql.name(alias)
            else:
                sql.add("*" if chain.select_all else "1")
            sql.add(" FROM ")
            self.sources(sql, chain.tables, chain.schema)
            for join, table, on in chain.joins:
                sql.add(f" {join} ")
                sql.table(table, chain.schema)
                sql.add(" ON ")
                sql.predicates(on) if on else sql.add("TRUE")
            self.where(sql, chain)
            for clause, references in (("GROUP BY", chain.group), ("ORDER BY", chain.order)):
                if chain.outputs_unread:  # an unqualified name may be its output's alias
                    references = [r for r in references if len(r) > 1]
                if references:
                    sql.add(f" {clause} ")
                    for index, reference in enumerate(references):
                        sql.add(", " if index else "")
                        sql.reference(reference)
            return sql.fragment(self.path)
        assert chain.target is not None
        if chain.kind == "insertInto":
            sql.add("INSERT INTO ")
            sql.table(chain.target, chain.schema)
            columns = _distinct(chain.columns)
            if columns:
                sql.add(" (")
                for index, name in enumerate(columns):
                    sql.add(", " if index else "")
                    sql.name(name)
                sql.add(") VALUES (" + ", ".join(f"${n}" for n in range(1, len(columns) + 1))
                        + ")")
            else:
                sql.add(" DEFAULT VALUES")
        elif chain.kind == "updateTable":
            columns = _distinct(chain.columns)
            if not columns:
                return None
            sql.add("UPDATE ")
            sql.table(chain.target, chain.schema)
            sql.add(" SET ")
            for index, name in enumerate(columns):
                sql.add(", " if index else "")
                sql.name(name)
                sql.add(f" = ${index + 1}")
            if chain.tables:
                sql.add(" FROM ")
                self.sources(sql, chain.tables, chain.schema)
            self.where(sql, chain)
        else:
            sql.add("DELETE FROM ")
            sql.table(chain.target, chain.schema)
            if chain.tables:
                sql.add(" USING ")
                self.sources(sql, chain.tables, chain.schema)
            self.where(sql, chain)
        if chain.outputs:
            sql.add(" RETURNING ")
            for index, (reference, alias) in enumerate(chain.outputs):
                sql.add(", " if index else "")
                sql.reference(reference)
                if alias is not None:
                    sql.add(" AS ")
                    sql.name(alias)
        return sql.fragment(self.path)

    @staticmethod
    def sources(sql: _Sql, tables: list[_Table], schema: str | None) -> None:
        for index, table in enumerate(tables):
            sql.add(", " if index else "")
            sql.table(table, schema)

    @staticmethod
    def where(sql: _Sql, chain: _Chain) -> None:
        if chain.predicates:
            sql.add(" WHERE ")
            sql.predicates(chain.predicates)


class _Sql:
    """The statement's text, each name mapped to its place in the file, the rest to the
    chain's first call."""

    def __init__(self, line: int, column: int, rename: Callable[[str], str] | None) -> None:
        self.text = ""
        self.spans: list[tuple[int, int, int]] = []
        self.at = (line, column)
        self.rename = rename

    def add(self, text: str) -> None:
        if text:
            self.spans.append((len(self.text), *self.at))
            self.text += text

    def name(self, name: _Name) -> None:
        text = self.rename(name.text) if self.rename is not None else name.text
        # the opening quote (where a finding points) and the name map to the name's place
        self.spans.append((len(self.text), name.line, name.column))
        self.spans.append((len(self.text) + 1, name.line, name.column))
        self.text += '"' + text.replace('"', '""') + '"'

    def reference(self, names: list[_Name]) -> None:
        for index, name in enumerate(names):
            self.add("." if index else "")
            self.name(name)

    def table(self, table: _Table, schema: str | None) -> None:
        if table.schema is not None:
            self.name(table.schema)
            self.add(".")
        elif schema is not None:
            self.add('"' + schema.replace('"', '""') + '".')
        self.name(table.name)
        if table.alias is not None:
            self.add(" AS ")
            self.name(table.alias)

    def predicates(self, references: list[list[_Name]]) -> None:
        for index, reference in enumerate(references):
            self.add(" AND " if index else "")
            self.reference(reference)
            self.add(" IS NULL")

    def fragment(self, path: str) -> SqlFragment:
        return SqlFragment(path, self.text, tuple(self.spans), origin="js")


def _split(literal: _Name, separator: str) -> list[_Name]:
    """`literal`'s text split at `separator`, each part trimmed (as Kysely's `split(...)
    .map(trim)`), with its own place; an empty part is not read."""
    parts = []
    start = 0
    for piece in literal.text.split(separator):
        stripped = piece.lstrip()
        if not stripped.strip():
            raise _Unread
        parts.append(_Name(stripped.rstrip(), literal.line,
                           literal.column + start + len(piece) - len(stripped)))
        start += len(piece) + len(separator)
    return parts


def _direction_dropped(name: _Name) -> _Name | None:
    """`'c desc'` as Kysely's `orderBy` reads it (`split(' ')`): `'c'`; None when the rest is
    not a direction."""
    words = name.text.split(" ")
    if len(words) == 1:
        return name
    if len(words) == 2 and words[1] in ("asc", "desc"):
        return _Name(words[0], name.line, name.column)
    return None


def _distinct(names: list[_Name]) -> list[_Name]:
    seen: set[str] = set()
    kept = []
    for name in names:
        if name.text not in seen:
            seen.add(name.text)
            kept.append(name)
    return kept


def _arguments(call: Node) -> list[Node]:
    arguments = call.child_by_field_name("arguments")
    if arguments is None or arguments.type != "arguments":
        return []
    return [child for child in arguments.named_children if child.type != "comment"]


def _unwrap(node: Node) -> Node:
    while node.type in _WRAPPERS:
        inner = next((c for c in node.named_children if c.type != "comment"), None)
        if inner is None:
            return node
        node = inner
    return node


def _binding(identifier: Node, name: str, text: Callable[[Node], str]) -> Node | None:
    """The declarator, parameter, import or function declaration binding `name` where
    `identifier` is, found by walking out through the scopes around it; None when that is
    anything else (a destructuring, a `let` assigned again: not known to hold a client)."""
    node: Node | None = identifier
    while node is not None:
        if node.type in _FUNCTIONS:
            parameters = node.child_by_field_name("parameters")
            single = node.child_by_field_name("parameter")
            if single is not None and single.type == "identifier" and text(single) == name:
                return single
            for parameter in parameters.named_children if parameters is not None else ():
                if parameter.type == "identifier" and text(parameter) == name:
                    return parameter  # (JavaScript's)
                pattern = parameter.child_by_field_name("pattern")
                if pattern is not None and pattern.type == "identifier" and \
                        text(pattern) == name:
                    return parameter
                if pattern is not None and _binds(pattern, name, text):
                    return None
        if node.type in _SCOPES:
            for statement in node.named_children:
                if statement.type == "export_statement":
                    statement = statement.child_by_field_name("declaration") or statement
                if statement.type == "import_statement" and name in text(statement):
                    return _imported(statement, name, text)
                if statement.type == "function_declaration" and \
                        text(statement.child_by_field_name("name") or statement) == name:
                    return statement
                if statement.type not in ("lexical_declaration", "variable_declaration"):
                    continue
                for declarator in statement.named_children:
                    target = declarator.child_by_field_name("name")
                    if declarator.type != "variable_declarator" or target is None:
                        continue
                    if target.type == "identifier" and text(target) == name:
                        const = statement.child(0)
                        return declarator if const is not None and \
                            const.type == "const" else None
                    if _binds(target, name, text):
                        return None
        node = node.parent
    return None


def _imported(statement: Node, name: str, text: Callable[[Node], str]) -> Node | None:
    """What in an import binds `name`: its `import_specifier` (`{ db }`, `{ client as db
    }`), or the identifier of a default import (`import db from './db'`); None for anything
    else (a namespace import, a type-only import)."""
    if any(c.type == "type" for c in statement.children):
        return None
    for clause in statement.named_children:
        if clause.type != "import_clause":
            continue
        for item in clause.named_children:
            if item.type == "identifier" and text(item) == name:
                return item
            for specifier in item.named_children if item.type == "named_imports" else ():
                local = specifier.child_by_field_name("alias") or \
                    specifier.child_by_field_name("name")
                if local is not None and text(local) == name and not any(
                        c.type == "type" for c in specifier.children):
                    return specifier
    return None


def _root(node: Node) -> Node:
    while node.parent is not None:
        node = node.parent
    return node


def _binds(pattern: Node, name: str, text: Callable[[Node], str]) -> bool:
    return any(n.type in ("identifier", "shorthand_property_identifier_pattern")
               and text(n) == name for n in _walk(pattern))


def _field(member: Node, name: str, text: Callable[[Node], str]) -> Node | None:
    """The field (or constructor parameter property) `name` of the class `member`
    (`this.name`) is in."""
    node: Node | None = member
    while node is not None and node.type != "class_body":
        node = node.parent
    if node is None:
        return None
    for entry in node.named_children:
        if entry.type == "public_field_definition":
            target = entry.child_by_field_name("name")
            if target is not None and text(target) == name:
                return entry
        if entry.type == "method_definition" and \
                text(entry.child_by_field_name("name") or entry) == "constructor":
            parameters = entry.child_by_field_name("parameters")
            for parameter in parameters.named_children if parameters is not None else ():
                pattern = parameter.child_by_field_name("pattern")
                if pattern is not None and text(pattern) == name and any(
                        c.type == "accessibility_modifier" or c.type == "readonly"
                        for c in parameter.children):
                    return parameter
    return None


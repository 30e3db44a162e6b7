"""Migration statements parsed once by PostgreSQL's own grammar into the facts rules read.

Every statement is parsed with libpg_query (`pglast`), the parser PostgreSQL itself runs, so
a statement PostgreSQL accepts arrives as its parse tree and one it rejects arrives with
PostgreSQL's own error message and position. Nothing here reads words.

The tree is read in its JSON form (`pglast.parser.parse_sql_json`): the same nodes and field
names as `pglast.ast` (`AlterTableStmt.cmds`, `AlterTableCmd.subtype`, `IndexStmt.concurrent`),
as plain dicts, which is several times faster to build than `pglast.ast` objects and keeps
lint at tens of thousands of statements per second. From the tree, `parse_statement` derives
typed facts once (`Action`, `ColumnDef`, `Constraint`, `TypeName`, `IndexDef`, ...), and every
rule, the lock table (`dbsafe.lint.locks`) and DBS211 (`dbsafe.lint.app_references`) read
those facts.

Names are folded exactly once, by PostgreSQL's parser: unquoted identifiers arrive lower-cased,
quoted ones exactly as written. `qualified()` only joins the parts.

>>> s = parse_statement('ALTER TABLE "Orders" ALTER COLUMN x TYPE bigint, VALIDATE CONSTRAINT c')
>>> s.kind, s.relation, [a.subtype for a in s.actions]
('AlterTableStmt', 'Orders', ['AlterColumnType', 'ValidateConstraint'])
>>> parse_statement("SELECT ((( broken").error.message
'syntax error at end of input'
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from dbsafe.core import Location
from dbsafe.pg.plpgsql import executed_sql, read_do_block, variable_names
from dbsafe.pg.types import TypeName, type_name

Node = Mapping[str, Any]

_EMPTY: Node = {}


# -- facts -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParseFailure:
    """PostgreSQL's parser rejected the statement, or (`unsendable`) no client can send it."""

    message: str  # PostgreSQL's message, e.g. 'syntax error at or near "("'
    offset: int  # 0-based character offset into the statement's SQL
    unsendable: bool = False


@dataclass(frozen=True, slots=True)
class Constraint:
    """A column or table constraint (`Constraint` node)."""

    kind: str  # "check" | "foreign" | "primary" | "unique" | "exclusion" | "not_null" |
    #            "null" | "default" | "identity" | "generated" | other contype, lower-cased
    name: str | None = None
    columns: tuple[str, ...] = ()  # key columns (PRIMARY KEY/UNIQUE keys, FOREIGN KEY fk_attrs)
    references: str | None = None  # referenced table of a foreign key
    referenced_columns: tuple[str, ...] = ()  # its pk_attrs; () = that table's primary key
    not_valid: bool = False  # added NOT VALID (PostgreSQL skips the validating scan)
    enforced: bool = True  # False for NOT ENFORCED (PostgreSQL 18)
    using_index: str | None = None  # ADD CONSTRAINT ... USING INDEX ix
    including: tuple[str, ...] = ()  # PRIMARY KEY/UNIQUE ... INCLUDE (columns)
    expression: Node | None = None  # CHECK / DEFAULT / GENERATED expression
    stored: bool = False  # GENERATED ... STORED
    nulls_not_distinct: bool = False  # UNIQUE NULLS NOT DISTINCT


@dataclass(frozen=True, slots=True)
class ColumnDef:
    """A column definition (CREATE TABLE, ADD COLUMN) or a column's new type (ALTER TYPE)."""

    table: str
    name: str
    type: TypeName | None
    constraints: tuple[Constraint, ...] = ()
    collation: str | None = None  # COLLATE "C" as written; None without a COLLATE clause

    def has(self, kind: str) -> bool:
        return any(c.kind == kind for c in self.constraints)

    @property
    def default(self) -> Node | None:
        """The DEFAULT expression's node, None without a DEFAULT."""
        for c in self.constraints:
            if c.kind == "default":
                return c.expression or _EMPTY
        return None

    @property
    def not_null(self) -> bool:
        return self.has("not_null") or self.has("primary")


@dataclass(frozen=True, slots=True)
class Action:
    """One ALTER TABLE subcommand (`AlterTableCmd`); `subtype` without the `AT_` prefix."""

    subtype: str  # "AddColumn", "AlterColumnType", "SetNotNull", "AddConstraint", ...
    name: str | None = None  # the column (or constraint) the subcommand names
    column: ColumnDef | None = None  # AddColumn; AlterColumnType (the new type)
    constraint: Constraint | None = None  # AddConstraint
    partition: str | None = None  # Attach/DetachPartition
    parent: str | None = None  # INHERIT / NO INHERIT: the parent table
    concurrent: bool = False  # DETACH PARTITION ... CONCURRENTLY
    default: bool = False  # ATTACH PARTITION ... DEFAULT
    using: Node | None = None  # ALTER COLUMN ... TYPE ... USING expression
    cascade: bool = False  # DROP COLUMN / DROP CONSTRAINT ... CASCADE
    expression: Node | None = None  # SET DEFAULT (None for DROP DEFAULT), SET EXPRESSION AS
    # SET (...) / RESET (...) storage parameter names; an identity's options ("start",
    # "restart", "generated", "increment", ...) for Add/SetIdentity
    options: tuple[str, ...] = ()
    if_not_exists: bool = False  # ADD COLUMN IF NOT EXISTS
    if_exists: bool = False  # DROP COLUMN IF EXISTS


@dataclass(frozen=True, slots=True)
class Rename:
    """`ALTER ... RENAME`: a relation, column or constraint gets a new name."""

    object: str  # "table" | "view" | "materialized view" | "foreign table" | "index" |
    #              "sequence" | "column" | "constraint" | other object kind, lower-cased
    relation: str | None  # the relation renamed, or whose column/constraint is renamed
    relation_kind: str  # kind of `relation` ("table", "view", ...)
    old: str  # the old name: the relation's own name, or the column/constraint name
    new: str
    # The kind the statement names (`ALTER TABLE` -> "table") when the relation is known to
    # be another kind, `object` (`ALTER TABLE ix RENAME` of an index: see
    # `dbsafe.lint.engine.resolve_rename`); "" when it is the kind the statement names.
    written: str = ""


@dataclass(frozen=True, slots=True)
class Lookup:
    """What a foreign key's lookup of given values of its columns (`WHERE a = $1 AND b = $2`)
    can use an index for (`lookup_of`): the key's columns must be the first of the index's
    leading plain `columns` (in any order), at least `needs` of them: the columns a partial
    index's WHERE tests (`IS NOT NULL`) are among those, and only a lookup that names a
    column implies it. No `columns`: no key."""

    columns: tuple[str, ...] = ()
    needs: int = 0

    def serves(self, key: tuple[str, ...]) -> bool:
        """Can the lookups of foreign key columns `key` use the index?"""
        return self.needs <= len(key) <= len(self.columns) and \
            set(self.columns[:len(key)]) == set(key)

    def renamed(self, old: str, new: str) -> Lookup:
        """The same after column `old` of its table is renamed `new`."""
        return Lookup(tuple(new if c == old else c for c in self.columns), self.needs)


@dataclass(frozen=True, slots=True)
class IndexDef:
    """`CREATE INDEX`."""

    name: str | None
    table: str
    concurrent: bool
    unique: bool
    columns: tuple[str, ...]  # the leading plain columns (stops at the first expression)
    plain: bool  # every key is a plain column
    partial: bool  # has a WHERE clause
    only: bool = False  # `ON ONLY table`: on a partitioned table, builds nothing
    # What a lookup of given values of its leading columns can use the index for (`lookup_of`).
    lookup: Lookup = Lookup()
    include: tuple[str, ...] = ()  # INCLUDE (columns): stored, not keys
    # what PostgreSQL names its columns (`index_column_names`): an unnamed index's name
    column_names: tuple[str, ...] = ()


def included_columns(node: Node) -> tuple[str, ...]:
    """The INCLUDE columns of an `IndexStmt` node."""
    return tuple(name for item in node.get("indexIncludingParams") or ()
                 if (name := item.get("IndexElem", item).get("name")))


@dataclass(frozen=True, slots=True)
class ForeignKey:
    """A foreign key that exists before a statement runs (known from earlier migrations or
    the database's schema): its table, name, columns and the table it references."""

    table: str
    name: str
    columns: tuple[str, ...]
    references: str
    referenced_columns: tuple[str, ...] = ()  # () = the referenced table's primary key
    enforced: bool = True  # False for NOT ENFORCED (PostgreSQL 18): it has no triggers
    validated: bool = True  # False for NOT VALID and not validated since
    # `table` and `references` as `schema.name`, where known: `table` and `references` are
    # written as the statements wrote them (for reports); these say which of two schemas'
    # tables of the name the key joins (the history's: the schema written, else the one
    # the name resolved to on the search_path in force when the key was made, task 537).
    table_key: str = ""
    references_key: str = ""

    @property
    def holder(self) -> str:
        """The table holding the key: `schema.name` where known, else as written."""
        return self.table_key or self.table

    @property
    def referenced(self) -> str:
        """The table the key references: `schema.name` where known, else as written."""
        return self.references_key or self.references

    def rests_on(self, kind: str, columns: tuple[str, ...]) -> bool:
        """Does the key rest on its referenced table's PRIMARY KEY or UNIQUE constraint
        (`kind`: "primary" | "unique") on `columns`, so that dropping that drops the key?
        (Of two unique indexes on the same columns PostgreSQL picks the older one: a
        duplicate is taken for the one the key rests on.)

        >>> ForeignKey("kids", "kids_fk", ("pid",), "parents").rests_on("primary", ("id",))
        True
        """
        if not self.referenced_columns:
            return kind == "primary"
        return set(self.referenced_columns) == set(columns)


# The origin of a statement read from a function's body, before the function's name.
FUNCTION_BODY = "body of function "


@dataclass(slots=True, eq=False)
class Statement:
    """One migration statement: its source, transaction state, parse tree and facts."""

    sql: str
    location: Location
    index: int = 0  # position in the migration
    in_transaction: bool = False  # runs inside a transaction block
    kind: str = ""  # libpg_query node name ("AlterTableStmt"); "" when it did not parse
    node: Node = field(default_factory=dict)  # that node's fields
    generated: bool = False  # emitted by the migration tool itself (alembic's BEGIN/COMMIT)
    error: ParseFailure | None = None
    origin: str | None = None  # "DO block" for a statement read from a DO block's body
    unread: str | None = None  # a DO block: why some of the SQL it runs cannot be read
    # Read from a DO block: the names of its PL/pgSQL variables (a column reference naming
    # one, `WHERE id = r.id`, is the variable's value, not a column of a table)
    variables: frozenset[str] = frozenset()
    # -- facts (see parse_statement) --
    relation: str | None = None  # the relation the statement works on, folded
    object_kind: str | None = None  # ALTER/DROP/COMMENT object kind, lower-cased
    actions: tuple[Action, ...] = ()
    columns: tuple[ColumnDef, ...] = ()  # CREATE TABLE columns, ADD COLUMNs
    constraints: tuple[Constraint, ...] = ()  # table constraints (CREATE TABLE, ADD CONSTRAINT)
    creates: frozenset[str] = frozenset()  # relations created: qualified and bare names
    # IF NOT EXISTS / OR REPLACE: creates nothing when the relation is already there
    if_exists_keeps: bool = False
    rename: Rename | None = None
    index_def: IndexDef | None = None
    dropped: tuple[str, ...] = ()  # DROP's objects, folded and joined with "."
    transaction: str | None = None  # "begin" | "commit" | "rollback" | "savepoint" | ...
    # `COMMIT AND CHAIN`, `ROLLBACK AND CHAIN`: ends its transaction and opens the next one
    chain: bool = False
    # A BEGIN run while a transaction block is already open (a file's own BEGIN inside the
    # transaction its runner wraps it in): PostgreSQL's WARNING 25001, and nothing changes:
    # the locks taken before it stay held. Set by the lint engine, which follows the blocks.
    nested: bool = False
    locks: tuple[Any, ...] | None = None  # cache for dbsafe.lint.locks.locks_for
    # The foreign keys of the tables an ALTER TABLE or DROP TABLE works on, as they stand
    # before it: dropping one locks the table it references. Filled by the lint engine
    # (`LintContext.note_foreign_keys`), which knows the history; empty when unknown.
    foreign_keys: tuple[ForeignKey, ...] = ()
    # For an ALTER TABLE or DROP TABLE: its tables as `schema.name`, each the one its name
    # finds on the search_path in force (`History.table_key`): `DROP TABLE kids` under
    # `"$user", public` drops `public.kids`, and neither the keys of `other.kids` nor a key
    # to it are its own (task 561). Filled by the lint engine too; empty when unknown
    # (then `relation` and `dropped`, matched by the name).
    table_keys: tuple[str, ...] = ()
    # For an ALTER TABLE that changes a column's type or drops with CASCADE: the other
    # tables' foreign keys to its table (`referenced_columns` filled in from its primary key
    # where known) and the table's primary key and unique constraints (name -> (kind,
    # columns)), as they stand before it. Filled by the lint engine too.
    keys_to: tuple[ForeignKey, ...] = ()
    # For an ALTER TABLE, or a column's or constraint's RENAME, not written with ONLY: the
    # tables that inherit from its table or are its partitions, at any depth, as they stand
    # before it (name -> "partition" | "inherits"): most subcommands recurse to them, locking
    # each as the table itself (`dbsafe.lint.locks`). For a CREATE INDEX (not CONCURRENTLY,
    # not ONLY) on a partitioned table: its partitions, at any depth, each built and locked
    # with it ("partitioned" for one that is in turn). Filled by the lint engine.
    descendants: tuple[tuple[str, str], ...] = ()
    # For an ALTER TABLE, a CREATE INDEX, VACUUM, CLUSTER or REINDEX TABLE: its table is a
    # partitioned one, which has no storage (relfilenode 0): what the statement rewrites or
    # scans are its partitions, never the table itself (`dbsafe.lint.locks`). Filled by the lint engine (`LintContext.partitioned`).
    partitioned: bool = False
    unique_keys: tuple[tuple[str, tuple[str, tuple[str, ...]]], ...] = ()
    # For an ALTER TABLE dropping a column with CASCADE: (the column, a unique index or key
    # of the table holding it among its INCLUDE columns, a foreign key resting on that
    # index): the index goes with the column, and CASCADE takes the key. By the engine too.
    resting_on_included: tuple[tuple[str, str, ForeignKey], ...] = ()
    # For an ALTER TABLE: (subtype, column) of its column changes known to be a moment's
    # catalog work, neither rewriting nor scanning the table: a type change that keeps the
    # rows (`LintContext.type_change_keeps_rows`), SET NOT NULL of a column already NOT NULL.
    # Filled by the engine too, from the history or the database.
    catalog_only: tuple[tuple[str, str], ...] = ()
    # What PostgreSQL showed when the statement ran on a throwaway server
    # (`dbsafe.extract.migration.Observed`); None when it was not observed.
    observed: Any = None
    # A lock it waited for there that another connection of the migration held, idle in
    # its transaction (`dbsafe.extract.migration.Waited`); None when it did not.
    waited: Any = None

    @property
    def deferred(self) -> bool:
        """Read from a function's body: it runs when the function is called, not where
        the migration creates the function, so it takes no lock and does no work there."""
        return self.origin is not None and self.origin.startswith(FUNCTION_BODY)

    @property
    def parsed(self) -> bool:
        return self.error is None


# -- names -------------------------------------------------------------------------------


def qualified(*parts: str | None) -> str:
    """Join name parts PostgreSQL already folded (`qualified("s", "t") == "s.t"`)."""
    return ".".join(p for p in parts if p)


def range_var(node: Node | None) -> str | None:
    """`schema.name` of a RangeVar, as folded by the parser."""
    if not node:
        return None
    node = node.get("RangeVar", node)
    name = node.get("relname")
    if not name:
        return None
    return qualified(node.get("catalogname"), node.get("schemaname"), name)


def is_plain_column(using: Node, column: str) -> bool:
    """Is a `USING` expression just `column`, optionally cast (which rewrites nothing more
    than the type change itself)?"""
    while "TypeCast" in using:
        using = using["TypeCast"].get("arg") or {}
    ref = using.get("ColumnRef")
    return ref is not None and strings(ref.get("fields"))[-1:] == (column,)


def strings(items: Sequence[Node] | None) -> tuple[str, ...]:
    """The `sval`s of a list of String nodes (a qualified name, a column list)."""
    out = []
    for item in items or ():
        value = item.get("String")
        if value is not None:
            out.append(value.get("sval", ""))
        elif "A_Star" in item:
            out.append("*")
    return tuple(out)


def last(name: str) -> str:
    """The unqualified part of a dotted name."""
    return name.rsplit(".", 1)[-1]


def same_relation(a: str | None, b: str | None) -> bool:
    """Equal names, or one schema-qualified and one not with the same last part."""
    if a is None or b is None:
        return False
    return a == b or (("." in a) != ("." in b) and last(a) == last(b))


# -- parsing -----------------------------------------------------------------------------


def parse_statements(sql: str) -> list[tuple[str, Node] | ParseFailure]:
    """Parse SQL holding one statement (or none) into `(kind, node)` pairs.

    Raises nothing: a rejected statement comes back as a `ParseFailure`.
    """
    from pglast.parser import ParseError, parse_sql_json

    if (nul := sql.find("\0")) >= 0:
        # pglast (C) would read up to it and parse what came before, nothing after.
        return [ParseFailure("it holds a NUL byte (0x00), where libpq ends the statement and "
                             "psql the line: what follows it never runs", nul, unsendable=True)]
    try:
        tree = json.loads(parse_sql_json(sql))
    except ParseError as exc:
        message, offset = (exc.args + (0,))[:2] if exc.args else ("syntax error", 0)
        return [ParseFailure(str(message), int(offset or 0))]
    except RecursionError:
        return [ParseFailure("statement too deeply nested to parse", 0)]
    out: list[tuple[str, Node] | ParseFailure] = []
    for raw in tree.get("stmts", ()):
        stmt = raw.get("stmt") or {}
        for kind, node in stmt.items():
            out.append((kind, node))
    return out


def parse_statement(sql: str, location: Location | None = None, *, index: int = 0,
                    in_transaction: bool = False, generated: bool = False) -> Statement:
    """Parse one statement and derive its facts.

    A script holding several statements is described by its first one; migrations are split
    into statements before they get here (`dbsafe.extract.sqlfile.split_sql`).
    """
    location = location or Location("<sql>", 1)
    parsed = parse_statements(sql)
    statement = Statement(sql, location, index, in_transaction, generated=generated)
    if not parsed:
        return statement  # only comments: nothing to check
    first = parsed[0]
    if isinstance(first, ParseFailure):
        statement.error = first
        return statement
    statement.kind, statement.node = first
    _derive(statement)
    return statement


def do_block_statements(statement: Statement) -> list[Statement]:
    """Statements a `DO` block runs (directly, or by `EXECUTE` of a string constant),
    parsed like any other.

    PL/pgSQL is parsed by PostgreSQL's PL/pgSQL grammar (`pglast.parse_plpgsql`). A body it
    rejects, a `DO` block in another language, or SQL the block builds at run time is
    recorded in `statement.unread` (DBS120 says so).
    """
    if statement.kind != "DoStmt":
        return []
    functions, statement.unread = read_do_block(statement.node)
    if functions is None:
        return []
    found: list[Statement] = []
    variables = variable_names(functions)
    for sql in executed_sql(functions):
        if sql is None:
            statement.unread = "runs SQL it builds at run time (EXECUTE of an expression)"
            continue
        inner = parse_statement(sql, statement.location, index=statement.index,
                                in_transaction=statement.in_transaction)
        if inner.error is None and inner.kind:
            inner.origin = "DO block"
            inner.variables = variables
            found.append(inner)
    return found


def function_volatility(statement: Statement) -> tuple[str | None, str]:
    """(name, volatility) of a `CREATE FUNCTION`; PostgreSQL's default is VOLATILE.

    >>> function_volatility(parse_statement(
    ...     "CREATE FUNCTION s.f() RETURNS int LANGUAGE sql STABLE AS 'select 1'"))
    ('f', 'stable')
    """
    names = strings(statement.node.get("funcname"))
    volatility = "volatile"
    for item in statement.node.get("options") or ():
        elem = item.get("DefElem", {})
        if elem.get("defname") == "volatility":
            volatility = (elem.get("arg") or {}).get("String", {}).get("sval", volatility)
    return (names[-1] if names else None), volatility


# What keeps PostgreSQL from inlining a SQL function into the expression calling it
# (`inline_function` in its optimizer/util/clauses.c): options of the function, and parts
# of a SELECT other than its one output expression. (STRICT only with a body not strict,
# `_strict_body`.)
_NOT_INLINED_OPTIONS = frozenset({"security", "set"})
# The nodes of a STRICT function's body that keep it strict besides calls and operators
# (`contain_nonstrict_functions` in clauses.c finds CASE, COALESCE, NULLIF, IS [NOT] NULL,
# AND, OR, ARRAY[], ROW(), GREATEST, sublinks, ... and any call of a function not strict).
_STRICT_NODES = frozenset({"A_Const", "ColumnRef", "ParamRef", "TypeCast", "ResTarget",
                           "String", "Integer", "Float", "SQLValueFunction", "CollateClause"})
_INPUT_MODES = frozenset({"FUNC_PARAM_DEFAULT", "FUNC_PARAM_IN", "FUNC_PARAM_INOUT",
                          "FUNC_PARAM_VARIADIC"})
_NOT_INLINED_SELECT = ("fromClause", "whereClause", "groupClause", "havingClause",
                       "windowClause", "sortClause", "limitCount", "limitOffset",
                       "distinctClause", "withClause", "valuesLists", "larg")


def inlined_volatility(statement: Statement,
                       user_function: Callable[[str], str | None]) -> str | None:
    """"stable" when PostgreSQL inlines calls of `statement`'s SQL function (`LANGUAGE sql`,
    its body one `SELECT` of one expression or a `RETURN` (`_inlined_body`), neither SECURITY
    DEFINER nor with a `SET`, no set returned, STRICT only with a body PostgreSQL knows is
    strict, `_strict_body`) and that body calls no volatile
    function: then a column
    default calling it is no volatile default, whatever the function declares, and `ADD
    COLUMN` rewrites nothing (ente's `now_utc_micro_seconds()`, declared VOLATILE by saying
    nothing, is `SELECT CAST(extract(EPOCH from now() at time zone 'utc') * 1000000 AS
    BIGINT)`: no rewrite on PostgreSQL 18). None when it is not inlined, or its body calls a
    function neither `NOT_VOLATILE_FUNCTIONS` nor `user_function` (a user function's
    volatility, None when unknown) says is not volatile.

    >>> inlined_volatility(parse_statement(
    ...     "CREATE FUNCTION f() RETURNS bigint LANGUAGE sql AS $$ SELECT extract(epoch FROM "
    ...     "now())::bigint $$"), lambda name: None)
    'stable'
    >>> inlined_volatility(parse_statement(
    ...     "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT (random() * 9)::int'"),
    ...     lambda name: None) is None
    True
    """
    from dbsafe.pg.volatility import NOT_VOLATILE_FUNCTIONS

    strict = _strict_if_inlinable(statement)
    if strict is None:
        return None
    expression = _inlined_body(statement)
    if expression is None or (strict and not _strict_body(statement, expression)):
        return None
    for kind, fields in walk(expression):
        if kind == "SubLink":
            return None
        if kind == "FuncCall":
            names = strings(fields.get("funcname"))
            name = names[-1] if names else ""
            if name in NOT_VOLATILE_FUNCTIONS and tuple(names[:-1]) in ((), ("pg_catalog",)):
                continue  # (pg_catalog comes first on the search_path unless put later)
            if user_function(".".join(names[-2:])) not in ("stable", "immutable"):
                return None
    return "stable"



def declared_strict(statement: Statement) -> bool:
    """Does the `CREATE FUNCTION` `statement` declare its function STRICT (or `RETURNS NULL
    ON NULL INPUT`)?"""
    return statement.kind == "CreateFunctionStmt" and any(
        item.get("DefElem", {}).get("defname") == "strict" and option_enabled(item["DefElem"])
        for item in statement.node.get("options") or ())


def _strict_if_inlinable(statement: Statement) -> bool | None:
    """Whether the function `statement` creates is STRICT; None when how it is declared
    keeps PostgreSQL from inlining it (`RETURNS SETOF`, SECURITY DEFINER, a `SET`)."""
    node = statement.node
    if node.get("returnType", {}).get("setof"):
        return None
    strict = False
    for item in node.get("options") or ():
        elem = item.get("DefElem", {})
        if elem.get("defname") in _NOT_INLINED_OPTIONS and option_enabled(elem):
            return None
        if elem.get("defname") == "strict":
            strict = option_enabled(elem)
    return strict

def _strict_body(statement: Statement, expression: Node) -> bool:
    """Whether PostgreSQL inlines the body `expression` of `statement`, a STRICT SQL
    function: a STRICT function is inlined only when its body is strict too (every function
    and operator it calls STRICT, no CASE, COALESCE, IS NULL, AND, OR, ARRAY[], ...:
    `contain_nonstrict_functions`) and uses every argument (`inline_function`). Checked on
    PostgreSQL 18: `SELECT extract(EPOCH FROM now())::bigint + x` is inlined, with
    `coalesce(...)` or with `x` unused it is not, and a default calling it rewrites the table.
    False where it is not known: a call of a user function, `||` (its array forms are not
    strict)."""
    from dbsafe.pg.volatility import NOT_STRICT_FUNCTIONS, NOT_VOLATILE_FUNCTIONS, STRICT_OPERATORS

    names: set[str] = set()
    numbers: set[int] = set()
    for kind, fields in walk(expression):
        if kind == "FuncCall":
            called = strings(fields.get("funcname"))
            if not called or called[-1] not in NOT_VOLATILE_FUNCTIONS \
                    or called[-1] in NOT_STRICT_FUNCTIONS \
                    or any(fields.get(key) for key in ("agg_star", "agg_distinct", "agg_filter",
                                                       "agg_order", "over")):
                return False
        elif kind == "A_Expr":
            operator = strings(fields.get("name"))
            if fields.get("kind") != "AEXPR_OP" or operator[-1:] == () \
                    or operator[-1] not in STRICT_OPERATORS:
                return False
        elif kind == "BoolExpr":
            if fields.get("boolop") != "NOT_EXPR":
                return False
        elif kind == "ColumnRef":  # in a SELECT without FROM, an argument by its name
            names.update(strings(fields.get("fields"))[-1:])
        elif kind == "ParamRef":
            numbers.add(int(fields.get("number") or 0))
        elif kind not in _STRICT_NODES:
            return False
    return _uses_every_argument(statement, names, numbers)


def _uses_every_argument(statement: Statement, names: set[str], numbers: set[int]) -> bool:
    """Whether the body of `statement`'s function, naming `names` and `$n` for each of
    `numbers`, uses each of its input arguments (by its name or its position)."""
    inputs = [item.get("FunctionParameter", {}) for item in statement.node.get("parameters") or ()]
    inputs = [p for p in inputs if p.get("mode", "FUNC_PARAM_DEFAULT") in _INPUT_MODES]
    return all(position in numbers or parameter.get("name") in names
               for position, parameter in enumerate(inputs, start=1))


def _inlined_body(statement: Statement) -> Node | None:
    """The one statement of a SQL function's body PostgreSQL can inline: a `SELECT` of one
    expression (in a string, or alone in `BEGIN ATOMIC ... END`) or a `RETURN`; None for
    any other body."""
    if function_source(statement)[0] != "sql":
        return None
    found = _sql_body(statement)
    return _simple_select(found[0]) if found is not None and len(found) == 1 else None


def _sql_body(statement: Statement) -> list[Node] | None:
    """The statements (`{kind: node}`) of a SQL function's body: its string's, a `RETURN`,
    or those of `BEGIN ATOMIC ... END`; None when pglast cannot read it."""
    body = function_source(statement)[1]
    if body is not None:
        found: list[Node] = []
        for item in parse_statements(body):
            if isinstance(item, ParseFailure):
                return None
            found.append({item[0]: item[1]})
        return found
    standard = statement.node.get("sql_body")
    if not standard:
        return None
    return [standard] if "ReturnStmt" in standard else [
        item for outer in (standard.get("List") or {}).get("items") or ()
        for item in (outer.get("List") or {}).get("items") or ()]


def _simple_select(found: Node) -> Node | None:
    """The expression (a `RETURN`'s) or `SELECT` of one expression, with no FROM, WHERE,
    GROUP BY, ORDER BY, LIMIT, DISTINCT, WITH, VALUES or UNION, that the body statement
    `found` is; None for any other statement."""
    if "ReturnStmt" in found:
        return found["ReturnStmt"].get("returnval")
    select = found.get("SelectStmt")
    if select is None or len(select.get("targetList") or ()) != 1 \
            or any(select.get(key) for key in _NOT_INLINED_SELECT):
        return None
    return select



# SQLValueFunction ops as SQL spells them (all STABLE).
_SQL_VALUE_FUNCTIONS = {
    "SVFOP_CURRENT_DATE": "CURRENT_DATE", "SVFOP_CURRENT_TIME": "CURRENT_TIME",
    "SVFOP_CURRENT_TIME_N": "CURRENT_TIME", "SVFOP_CURRENT_TIMESTAMP": "CURRENT_TIMESTAMP",
    "SVFOP_CURRENT_TIMESTAMP_N": "CURRENT_TIMESTAMP", "SVFOP_LOCALTIME": "LOCALTIME",
    "SVFOP_LOCALTIME_N": "LOCALTIME", "SVFOP_LOCALTIMESTAMP": "LOCALTIMESTAMP",
    "SVFOP_LOCALTIMESTAMP_N": "LOCALTIMESTAMP", "SVFOP_CURRENT_ROLE": "CURRENT_ROLE",
    "SVFOP_CURRENT_USER": "CURRENT_USER", "SVFOP_USER": "USER",
    "SVFOP_SESSION_USER": "SESSION_USER", "SVFOP_CURRENT_CATALOG": "CURRENT_CATALOG",
    "SVFOP_CURRENT_SCHEMA": "CURRENT_SCHEMA",
}
# What `contain_nonstrict_functions` (clauses.c) finds whatever the types: the body of a
# STRICT SQL function holding one is never inlined.
_NOT_STRICT_NODES = frozenset({"CaseExpr", "CoalesceExpr", "MinMaxExpr", "NullTest",
                               "BooleanTest", "A_ArrayExpr", "RowExpr", "XmlExpr"})
_NOT_STRICT_OPERATORS = frozenset({"AEXPR_DISTINCT", "AEXPR_NOT_DISTINCT", "AEXPR_NULLIF"})
# A call with one of these is an aggregate or window function: a body calling one is
# never inlined (`hasAggs`, `hasWindowFuncs`).
_AGGREGATE_CALL = ("agg_star", "agg_distinct", "agg_filter", "agg_order", "agg_within_group",
                   "over")


def not_immutable_call(expression: Node, user_function: Callable[[str], bool],
                       keeps_arguments: Callable[[str], bool] = lambda name: False,
                       shadows_catalog: Callable[[str], bool] = lambda name: False,
                       strict_function: Callable[[str], bool] = lambda name: False,
                       ) -> str | None:
    """The first call in `expression` known not to be IMMUTABLE whatever its arguments
    (`CURRENT_DATE`, `now()`, a user function `user_function` says is never IMMUTABLE),
    None when none is. `keeps_arguments` says which user functions PostgreSQL never
    inlines (their arguments stay: `_kept_nodes`), `shadows_catalog` which names an
    unqualified call may mean a user function of rather than pg_catalog's (the search_path
    names pg_catalog after its schema), `strict_function` which user functions are STRICT
    (a call with a NULL argument folds to NULL).

    >>> not_immutable_call(parse_statement("SELECT lower(a) || now()").node, lambda name: False)
    'now()'
    """
    from dbsafe.pg.catalog_functions import IMMUTABLE_CATALOG_FUNCTIONS

    def strict_call(names: tuple[str, ...]) -> bool:
        from dbsafe.pg.volatility import NOT_STRICT_FUNCTIONS, NOT_VOLATILE_FUNCTIONS

        catalog = names[-1] in NOT_VOLATILE_FUNCTIONS - NOT_STRICT_FUNCTIONS
        if names[0] == "pg_catalog":
            return catalog
        if len(names) == 1 and catalog and not shadows_catalog(names[0]):
            return True  # (pg_catalog's, first on the search_path)
        return strict_function(".".join(names[-2:]))

    for kind, fields in _kept_nodes(expression, keeps_arguments, strict_call):
        if kind == "SQLValueFunction":
            return _SQL_VALUE_FUNCTIONS.get(fields.get("op", ""), "CURRENT_TIMESTAMP")
        if kind != "FuncCall":
            continue
        names = strings(fields.get("funcname"))
        if not names:
            continue
        if _surely_not_immutable(names):
            return f"{names[-1]}()"
        # (unqualified, a name pg_catalog has an IMMUTABLE function of may be that one:
        # pg_catalog comes first on the search_path unless put later)
        if names[0] != "pg_catalog" and user_function(".".join(names[-2:])) and not (
                len(names) == 1 and names[-1] in IMMUTABLE_CATALOG_FUNCTIONS
                and not shadows_catalog(names[-1])):
            return f"{names[-1]}()"
    return None


def _surely_not_immutable(names: tuple[str, ...]) -> bool:
    """Is a call of function `names` (qualified or not) a built-in's none of whose
    overloads is IMMUTABLE?"""
    from dbsafe.pg.volatility import NOT_IMMUTABLE_FUNCTIONS

    return names[-1] in NOT_IMMUTABLE_FUNCTIONS and names[:-1] in ((), ("pg_catalog",))


def _kept_nodes(item: Any, keeps_arguments: Callable[[str], bool] = lambda name: False,
                strict_call: Callable[[tuple[str, ...]], bool] = lambda names: False,
                ) -> Iterator[tuple[str, Node]]:
    """The `(kind, fields)` nodes of `item` (as `walk`) PostgreSQL surely keeps when it
    simplifies the expression before judging it (`contain_mutable_functions_after_planning`
    runs `eval_const_expressions`; checked on PostgreSQL 15 and 18). Left out, unsure, what a
    constant may fold away: the other arms of an AND with a constant arm other than TRUE (of
    an OR, other than FALSE), a CASE with a constant test, what follows a constant argument
    of COALESCE, the arguments of a call or an operator with a NULL one (strict: it folds
    to NULL), or with a call `strict_call` says is STRICT of a NULL one (`_folds_to_null`),
    and the arguments of a function not PostgreSQL's own unless `keeps_arguments` says
    PostgreSQL never inlines it (a SQL function inlined drops an argument its body
    does not use; a PL/pgSQL one keeps them all).

    >>> [kind for kind, _ in _kept_nodes(parse_statement(
    ...     "SELECT lower(a), CASE WHEN false THEN now() END").node["targetList"])]
    ['ResTarget', 'FuncCall', 'String', 'ColumnRef', 'String', 'ResTarget', 'CaseExpr']
    """
    if isinstance(item, list):
        for value in item:
            yield from _kept_nodes(value, keeps_arguments, strict_call)
    elif isinstance(item, dict):
        for key, value in item.items():
            if key[:1].isupper() and isinstance(value, dict):
                yield key, value
                yield from _kept_nodes(_kept_fields(key, value, keeps_arguments, strict_call),
                                       keeps_arguments, strict_call)
            else:
                yield from _kept_nodes(value, keeps_arguments, strict_call)


def _kept_fields(kind: str, fields: Node, keeps_arguments: Callable[[str], bool],
                 strict_call: Callable[[tuple[str, ...]], bool] = lambda names: False,
                 ) -> Node | list[Node] | None:
    """What of node `kind`'s `fields` PostgreSQL surely keeps (`_kept_nodes`)."""
    from dbsafe.pg.catalog_functions import IMMUTABLE_CATALOG_FUNCTIONS

    if kind == "FuncCall":
        names = strings(fields.get("funcname"))
        catalog = names[-1:] and names[-1] in IMMUTABLE_CATALOG_FUNCTIONS and \
            names[:-1] in ((), ("pg_catalog",))
        # (a user function never inlined keeps its arguments; with a name pg_catalog also
        # has, the call may be pg_catalog's)
        user = names[-1:] and names[0] != "pg_catalog" and keeps_arguments(".".join(names[-2:]))
        if not (catalog or user) or \
                any(_folds_to_null(arg, strict_call) for arg in fields.get("args") or ()):
            return None
    elif kind == "A_Expr" and (_folds_to_null(fields.get("lexpr"), strict_call)
                               or _folds_to_null(fields.get("rexpr"), strict_call)):
        return None
    elif kind == "BoolExpr" and fields.get("boolop") in ("AND_EXPR", "OR_EXPR"):
        neutral = fields["boolop"] == "AND_EXPR"  # (TRUE AND x is x, FALSE OR x is x)
        if any(_may_be_constant(arm) and constant(arm) is not neutral
               for arm in fields.get("args") or ()):
            return None
    elif kind == "CaseExpr":
        # (`CASE x WHEN 1 ...` tests `x = 1`: constant when `x` is)
        tests = [fields["arg"]] if fields.get("arg") else [
            when.get("CaseWhen", {}).get("expr") for when in fields.get("args") or ()]
        if any(test and _may_be_constant(test) for test in tests):
            return None
    elif kind == "CoalesceExpr":
        kept = []
        for arg in fields.get("args") or ():  # (a constant one ends it)
            kept.append(arg)
            if _may_be_constant(arg):
                break
        return kept
    return fields


def _folds_to_null(node: Node | None, strict_call: Callable[[tuple[str, ...]], bool]) -> bool:
    """Does PostgreSQL fold `node` to NULL before judging the expression: a NULL literal (or
    a cast of one), or a call `strict_call` says is STRICT, or a strict operator, with such
    an argument (`evaluate_function` folds a strict call with a NULL constant argument
    whatever its volatility: `k(NULL) || now()` is accepted on PostgreSQL 15 and 18)."""
    from dbsafe.pg.volatility import STRICT_OPERATORS

    while isinstance(node, dict) and "TypeCast" in node:
        node = node["TypeCast"].get("arg")
    if not isinstance(node, dict):
        return False
    if "FuncCall" in node:
        call = node["FuncCall"]
        names = strings(call.get("funcname"))
        return bool(names) and not any(call.get(key) for key in _AGGREGATE_CALL) \
            and strict_call(names) \
            and any(_folds_to_null(arg, strict_call) for arg in call.get("args") or ())
    if "A_Expr" in node:
        operation = node["A_Expr"]
        return operation.get("kind") == "AEXPR_OP" \
            and strings(operation.get("name"))[-1:] in {(op,) for op in STRICT_OPERATORS} \
            and any(_folds_to_null(operation.get(side), strict_call)
                    for side in ("lexpr", "rexpr"))
    return bool(node.get("A_Const", {}).get("isnull"))


def _may_be_constant(node: Node) -> bool:
    """May PostgreSQL fold `node` to a constant: it reads no column or parameter and calls
    nothing surely not IMMUTABLE?"""
    for kind, fields in walk(node):
        if kind in ("ColumnRef", "ParamRef", "SQLValueFunction") or (
                kind == "FuncCall" and _surely_not_immutable(strings(fields.get("funcname")))):
            return False
    return True


def never_immutable(statement: Statement, user_function: Callable[[str], bool],
                    keeps_arguments: Callable[[str], bool] = lambda name: False) -> bool:
    """Whether a call of the function `statement` creates is refused wherever PostgreSQL
    requires IMMUTABLE (an index, a generation expression) whatever its arguments: declared
    STABLE or VOLATILE and never inlined (another language than SQL, or `_never_inlined`),
    or a SQL function whose body, once inlined, calls what is not IMMUTABLE
    (`not_immutable_call`; `user_function` says which user functions are never IMMUTABLE,
    `keeps_arguments` which are never inlined). False when unsure: a SQL function
    PostgreSQL may inline into an IMMUTABLE expression.

    >>> never_immutable(parse_statement(
    ...     "CREATE FUNCTION f(text) RETURNS text LANGUAGE sql SECURITY DEFINER "
    ...     "AS 'SELECT lower($1)'"), lambda name: False)
    True
    >>> never_immutable(parse_statement(
    ...     "CREATE FUNCTION f(text) RETURNS text LANGUAGE sql AS 'SELECT lower($1)'"),
    ...     lambda name: False)
    False
    """
    if statement.kind != "CreateFunctionStmt" or function_volatility(statement)[1] == "immutable":
        return False
    verdict = _kept_as_written(statement)
    if verdict is not None:
        return verdict
    body = _inlined_expression(statement)
    return body is not None and not_immutable_call(body, user_function,
                                                   keeps_arguments) is not None


def never_inlined(statement: Statement, user_function: Callable[[str], bool]) -> bool:
    """Whether PostgreSQL never inlines the function `statement` creates, so a call of it
    keeps its arguments as written (checked on PostgreSQL 18: `f(now()::text)` in an index
    is refused even when `f` is IMMUTABLE and ignores its argument): another language than
    SQL (`plpgsql`, `c`, `internal`), a SQL function `_never_inlined`, or one declared
    IMMUTABLE whose body calls what is not (`inline_function` refuses a body more mutable
    than the function; `user_function` says which user functions are never IMMUTABLE).
    False when unsure (no language known, a body lint cannot read).

    >>> never_inlined(parse_statement(
    ...     "CREATE FUNCTION f(text) RETURNS text LANGUAGE plpgsql IMMUTABLE "
    ...     "AS 'BEGIN RETURN 1; END'"), lambda name: False)
    True
    >>> never_inlined(parse_statement(
    ...     "CREATE FUNCTION f(text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT 1'"),
    ...     lambda name: False)
    False
    """
    verdict = _kept_as_written(statement)
    if verdict is not None:
        return verdict
    body = _inlined_expression(statement)
    return function_volatility(statement)[1] == "immutable" and body is not None \
        and not_immutable_call(body, user_function) is not None


def _kept_as_written(statement: Statement) -> bool | None:
    """Whether PostgreSQL surely never inlines the function `statement` creates: True for
    another language than SQL or a SQL function `_never_inlined`; False for no function or
    no language known; None for a SQL function it may inline (its body decides)."""
    if statement.kind != "CreateFunctionStmt":
        return False
    language = _function_language(statement)
    if language != "sql":
        return language is not None
    return True if _never_inlined(statement) else None


def _function_language(statement: Statement) -> str | None:
    """The language of the `CREATE FUNCTION` `statement` (lower case), None when unknown."""
    language = function_source(statement)[0]
    if language is None and statement.node.get("sql_body"):
        language = "sql"  # (`RETURN ...`, `BEGIN ATOMIC`: SQL whatever LANGUAGE says)
    return language


def _inlined_expression(statement: Statement) -> Node | None:
    """The expression (or one-expression SELECT) the body of the SQL function `statement`
    is, which PostgreSQL inlines in its place; None when it is no such body."""
    found = _sql_body(statement)
    return _simple_select(found[0]) if found else None


def _never_inlined(statement: Statement) -> bool:
    """Whether PostgreSQL never inlines the SQL function `statement` creates
    (`inline_function` in optimizer/util/clauses.c): SECURITY DEFINER, a `SET`, `RETURNS
    SETOF`, a body other than one `SELECT` of one expression (`_simple_select`), one with a
    subquery, an aggregate or a window call, or STRICT with a body holding what is never
    strict (CASE, COALESCE, IS NULL, AND, OR, ...) or not using every argument. False
    when unsure (a body pglast cannot read)."""
    strict = _strict_if_inlinable(statement)
    if strict is None:
        return True
    found = _sql_body(statement)
    if found is None:
        return False
    body = _simple_select(found[0]) if len(found) == 1 else None
    if body is None:
        return True
    names: set[str] = set()
    numbers: set[int] = set()
    not_strict = False
    for kind, fields in walk(body):
        if kind == "SubLink" or kind == "GroupingFunc" or (
                kind == "FuncCall" and any(fields.get(key) for key in _AGGREGATE_CALL)):
            return True
        not_strict = not_strict or kind in _NOT_STRICT_NODES or (
            kind == "BoolExpr" and fields.get("boolop") != "NOT_EXPR") or (
            kind == "A_Expr" and fields.get("kind") in _NOT_STRICT_OPERATORS)
        if kind == "ColumnRef":  # in a SELECT without FROM, an argument by its name
            names.update(strings(fields.get("fields"))[-1:])
        elif kind == "ParamRef":
            numbers.add(int(fields.get("number") or 0))
    return strict and (not_strict or not _uses_every_argument(statement, names, numbers))

def function_source(statement: Statement) -> tuple[str | None, str | None]:
    """(language, body) of a `CREATE FUNCTION` whose body is a string (`AS '...'`; None for
    a C function's two strings or a SQL-standard body); (None, None) for other statements.

    >>> function_source(parse_statement(
    ...     "CREATE FUNCTION f() RETURNS int LANGUAGE SQL AS 'select 1'"))
    ('sql', 'select 1')
    """
    if statement.kind != "CreateFunctionStmt":
        return None, None
    language = body = None
    for item in statement.node.get("options") or ():
        elem = item.get("DefElem", {})
        if elem.get("defname") == "language":
            language = ((elem.get("arg") or {}).get("String", {}).get("sval") or "").lower()
        elif elem.get("defname") == "as":
            parts = strings((elem.get("arg") or {}).get("List", {}).get("items"))
            body = parts[0] if len(parts) == 1 else None
    return language, body


def function_body_statements(statement: Statement) -> list[Statement]:
    """Statements a PL/pgSQL function's body runs directly (not via EXECUTE).

    They run when the function is called, often by the same migration (create, call, drop):
    they are linted as statements of their own, marked as coming from the function's body.
    A body PL/pgSQL's grammar rejects, or a function in another language, yields nothing.
    """
    if function_source(statement)[0] != "plpgsql":
        return []
    import pglast

    try:
        functions = pglast.parse_plpgsql(statement.sql)
    except Exception:  # noqa: BLE001 - any PL/pgSQL parser failure: nothing to report
        return []
    name, _ = function_volatility(statement)
    found: list[Statement] = []
    for sql in executed_sql(functions):
        if sql is None:
            continue  # built when the function is called
        inner = parse_statement(sql, statement.location, index=statement.index,
                                in_transaction=statement.in_transaction)
        if inner.error is None and inner.kind:
            inner.origin = f"{FUNCTION_BODY}{name}"
            found.append(inner)
    return found


def string_constants(node: Node | None) -> Iterator[str]:
    """Every string constant in a tree.

    >>> list(string_constants(parse_statement("SELECT f('orders', 'ix', 3)").node))
    ['orders', 'ix']
    """
    for kind, fields in walk(node or _EMPTY):
        if kind == "A_Const" and isinstance(fields.get("sval"), dict):
            yield fields["sval"].get("sval", "")


def do_block_constants(statement: Statement) -> Iterator[str]:
    """Every string constant in the expressions and statements a `DO` block's PL/pgSQL body
    runs (an `EXECUTE`'s `'CREATE INDEX ON ' || 'orders'` included); none for a body
    dbsafe cannot read."""
    functions, _ = read_do_block(statement.node)
    if functions is None:
        return
    for text in executed_sql(functions, expressions=True):
        for parsed in parse_statements(text or ""):
            if not isinstance(parsed, ParseFailure):
                yield from string_constants(parsed[1])


# Languages whose functions run no SQL a migration's lint would read (a C function's SPI aside).
_NO_SQL_LANGUAGES = frozenset({"c", "internal"})


@functools.lru_cache(maxsize=4096)
def unread_function(sql: str) -> tuple[str | None, tuple[str, ...]]:
    """For the `CREATE FUNCTION` `sql` (a migration's, or `pg_get_functiondef`'s text): why
    the SQL a call of it runs cannot be linted -- its body builds SQL at run time (`EXECUTE`
    of an expression), it is written in a language dbsafe does not read, or PostgreSQL's
    grammar rejects its body -- else None; and the functions its body calls (last part of
    their names), which a call runs too.

    >>> unread_function("CREATE FUNCTION ix(t text) RETURNS void LANGUAGE plpgsql AS "
    ...                 "$$ BEGIN EXECUTE 'CREATE INDEX ON ' || t || ' (id)'; END $$")
    ('runs SQL it builds at run time (EXECUTE of an expression)', ())
    >>> unread_function("CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS "
    ...                 "$$ BEGIN PERFORM ix('t'); RETURN g(1); END $$")
    (None, ('ix', 'g'))
    >>> unread_function("CREATE FUNCTION p() RETURNS int LANGUAGE plpython3u AS 'return 1'")
    ('is written in plpython3u, which dbsafe does not read', ())
    """
    statement = parse_statement(sql)
    language, body = function_source(statement)
    if statement.kind != "CreateFunctionStmt" or language in _NO_SQL_LANGUAGES:
        return None, ()
    texts: list[str] = []
    called: list[str] = []
    if language == "plpgsql":
        import pglast

        try:
            tree = pglast.parse_plpgsql(sql)
        except Exception:  # noqa: BLE001 - any PL/pgSQL parser failure
            return "has a body PostgreSQL's PL/pgSQL parser rejects", ()
        for text in executed_sql(tree, expressions=True):
            if text is None:
                return "runs SQL it builds at run time (EXECUTE of an expression)", ()
            texts.append(text)
    elif language == "sql":  # `AS '...'`, or a SQL-standard body (BEGIN ATOMIC, RETURN)
        called.extend(function_names(statement.node.get("sql_body")))
        texts.extend([body] if body is not None else [])
    else:
        return f"is written in {language}, which dbsafe does not read", ()
    for text in texts:
        for parsed in parse_statements(text):
            if isinstance(parsed, ParseFailure):
                return "runs SQL PostgreSQL's parser rejects", ()
            called.extend(function_names(parsed[1]))
    return None, tuple(dict.fromkeys(called))


MAX_IDENTIFIER_BYTES = 63  # NAMEDATALEN - 1


def long_identifiers(sql: str) -> dict[str, str]:
    """Identifiers over 63 bytes as written, keyed by the truncated name PostgreSQL keeps.

    PostgreSQL's lexer truncates long identifiers (with only a NOTICE), so the parse tree
    holds the short form; PostgreSQL's own scanner (`pglast.parser.scan`) gives the tokens
    as written.

    >>> long_identifiers('CREATE TABLE t (' + 'x' * 70 + ' int)') == {'x' * 63: 'x' * 70}
    True
    """
    from pglast.parser import scan

    found: dict[str, str] = {}
    try:
        tokens = scan(sql)
    except Exception:  # noqa: BLE001 - the parser reports what the scanner rejects
        return found
    for token in tokens:
        if token.name != "IDENT":
            continue
        text = sql[token.start:token.end + 1]
        if text.startswith('"') and text.endswith('"') and len(text) >= 2:
            name = text[1:-1].replace('""', '"')
        elif text[:2].upper() == 'U&':
            continue
        else:
            name = text.lower()
        data = name.encode("utf-8")
        if len(data) > MAX_IDENTIFIER_BYTES:
            found[data[:MAX_IDENTIFIER_BYTES].decode("utf-8", errors="ignore")] = name
    return found


def walk(node: Any) -> Iterator[tuple[str, Node]]:
    """Every `(kind, fields)` node below `node`, depth first, in source order."""
    stack: list[tuple[str, Any]] = [("", node)]
    pop, push = stack.pop, stack.append
    while stack:
        key, item = pop()
        # (only dicts and lists are stacked: a tree's strings and numbers, most of its
        # items, are never pushed and popped; the lint rules walk every statement's tree)
        if isinstance(item, dict):
            if key and key[0].isupper():
                yield key, item
            for pair in reversed(item.items()):
                if isinstance(pair[1], _BRANCHES):
                    push(pair)
        elif isinstance(item, list):
            for value in reversed(item):
                if isinstance(value, _BRANCHES):
                    push(("", value))


_BRANCHES = (dict, list)


def constant(node: Node | None) -> str | int | float | bool | None:
    """The value of an `A_Const` (or `TypeCast` of one); None for anything else."""
    if not node:
        return None
    if "TypeCast" in node:
        return constant(node["TypeCast"].get("arg"))
    value = node.get("A_Const", node)
    if value.get("isnull"):
        return None
    for key in ("sval", "ival", "fval", "boolval", "bsval"):
        if key in value:
            inner = value[key]
            return inner.get(key, 0 if key == "ival" else False if key == "boolval" else "")
    return None


def column_types(statement: Statement) -> Iterator[ColumnDef]:
    """Each column type a CREATE TABLE or ALTER TABLE sets (ADD COLUMN, ALTER ... TYPE)."""
    if statement.kind not in ("CreateStmt", "AlterTableStmt"):
        return
    yield from statement.columns
    for action in statement.actions:
        if action.subtype == "AlterColumnType" and action.column is not None:
            yield action.column


def is_null(node: Node | None) -> bool:
    """`NULL` or `NULL::type`."""
    if not node:
        return False
    if "TypeCast" in node:
        return is_null(node["TypeCast"].get("arg"))
    return bool(node.get("A_Const", {}).get("isnull"))


def function_names(node: Node | None, *, qualified: bool = False) -> Iterator[str]:
    """Names (last part; with `qualified`, `schema.name` where the call names a schema) of
    every function called in an expression."""
    for kind, fields in walk(node or _EMPTY):
        if kind == "FuncCall":
            names = strings(fields.get("funcname"))
            if names:
                yield ".".join(names[-2:]) if qualified else names[-1]


def option_enabled(elem: Node) -> bool:
    """Whether a `DefElem` option (`FULL`, `CONCURRENTLY`, `(FULL false)`) is switched on."""
    arg = elem.get("arg")
    if arg is None:
        return True
    value = constant(arg)
    if value is None:
        text = strings([arg])
        value = text[0] if text else True
    if isinstance(value, str):
        return value.lower() not in ("false", "off", "0", "no")
    return bool(value)


def reindex_target(s: Statement) -> tuple[str, str | None, bool]:
    """(kind, name, concurrently) of a REINDEX: kind is index/table/schema/database/system."""
    node = s.node
    kind = node.get("kind", "").removeprefix("REINDEX_OBJECT_").lower()
    concurrently = any(
        p.get("DefElem", {}).get("defname") == "concurrently" and option_enabled(p["DefElem"])
        for p in node.get("params") or ())
    name = s.relation if kind in ("index", "table") else node.get("name")
    return kind, name, concurrently


def concurrent_operation(statement: Statement) -> str | None:
    """The name of the CONCURRENTLY operation this statement performs, if any."""
    kind = statement.kind
    if kind == "IndexStmt" and statement.index_def is not None:
        return "CREATE INDEX CONCURRENTLY" if statement.index_def.concurrent else None
    if kind == "DropStmt" and statement.object_kind == "index":
        return "DROP INDEX CONCURRENTLY" if statement.node.get("concurrent") else None
    if kind == "ReindexStmt":
        return "REINDEX CONCURRENTLY" if reindex_target(statement)[2] else None
    if any(a.subtype == "DetachPartition" and a.concurrent for a in statement.actions):
        return "DETACH PARTITION CONCURRENTLY"
    return None


def set_config_calls(s: Statement) -> Iterator[tuple[str, str | None, bool]]:
    """`(setting, value, is_local)` of each `set_config('x', 'v', local)` a SELECT makes
    with a literal value; a NULL one (None) resets the setting, as `RESET` does.

    >>> [list(set_config_calls(parse_statement(f"SELECT set_config('lock_timeout', {v}, false)")))
    ...  for v in ("'5s'", "NULL", "current_setting('x')")]
    [[('lock_timeout', '5s', False)], [('lock_timeout', None, False)], []]
    """
    for name, value, local in _set_config_arguments(s):
        if is_null(value):
            yield name, None, local
        elif (literal := constant(value)) is not None:
            yield name, str(literal), local


def set_config_expressions(s: Statement) -> Iterator[tuple[str, bool]]:
    """`(setting, is_local)` of each `set_config('x', <expression>, local)` a SELECT makes
    whose value is computed when it runs: what it sets is unknown here."""
    for name, value, local in _set_config_arguments(s):
        if not is_null(value) and constant(value) is None:
            yield name, local


def _may_name_set_config(sql: str) -> bool:
    """Whether a statement's text may call `set_config` at all, before its tree is walked
    (every SELECT is asked, twice: for the search_path and for the timeouts it sets): the
    name written plainly, or a `U&"..."` identifier that may spell it in escapes.

    >>> [_may_name_set_config(t) for t in ("SELECT 1", "SELECT SET_CONFIG('a', 'b', true)",
    ...                                     'SELECT U&"d" FROM t')]
    [False, True, True]
    """
    lowered = sql.lower()
    return "set_config" in lowered or "u&" in lowered


def _set_config_arguments(s: Statement) -> Iterator[tuple[str, Node, bool]]:
    """`(setting, value node, is_local)` of each `set_config` call of a literal setting."""
    if s.kind != "SelectStmt" or not _may_name_set_config(s.sql):
        return
    for kind, fields in walk(s.node):
        if kind != "FuncCall" or strings(fields.get("funcname"))[-1:] != ("set_config",):
            continue
        args: list[Node] = fields.get("args") or []
        if len(args) < 2:
            continue
        name = constant(args[0])
        if not isinstance(name, str):
            continue
        local = len(args) > 2 and constant(args[2]) is True
        yield name.lower(), args[1], local


def setting_changes(s: Statement) -> Iterator[tuple[str, str | None, bool]]:
    """`(setting, value, is_local)` for each setting a statement changes.

    `value` is None when the setting goes back to its default (`RESET`, `SET x TO DEFAULT`);
    `RESET ALL` yields `("*", None, False)`.

    >>> [list(setting_changes(parse_statement(f"SET search_path = {v}")))[0][1]
    ...  for v in ("public, pg_catalog", "'public, pg_catalog'", "'App'", "''")]
    ['"public", "pg_catalog"', '"public, pg_catalog"', '"App"', '']
    """
    if s.kind == "VariableSetStmt":
        yield from _variable_set(s.node)
    else:
        yield from set_config_calls(s)


def later_session_settings(s: Statement) -> Iterator[tuple[str, str, str | None, bool]]:
    """`(scope, setting, value, known)` for each setting an `ALTER DATABASE ... SET` or
    `ALTER ROLE ... SET` (`RESET`) stores for the sessions that start later (not the one
    running it). `scope` is `"database"` (`ALTER DATABASE`, or `ALTER ROLE ALL IN
    DATABASE`: the same `pg_db_role_setting` row), `"all"` (`ALTER ROLE ALL`), else
    `"role "` and the role as written (`CURRENT_USER` for one of its keywords); `value` None
    for a `RESET` (`"*"` the setting of a `RESET ALL`); `known` False for `SET x FROM
    CURRENT`, whose value is the running session's.

    >>> [list(later_session_settings(parse_statement(t))) for t in (
    ...     "ALTER DATABASE d SET search_path = app, public",
    ...     "ALTER ROLE ALL IN DATABASE d RESET ALL",
    ...     "ALTER ROLE CURRENT_USER SET search_path FROM CURRENT")]
    ... # doctest: +NORMALIZE_WHITESPACE
    [[('database', 'search_path', '"app", "public"', True)], [('database', '*', None, True)],
     [('role CURRENT_USER', 'search_path', None, False)]]
    """
    node = s.node
    if s.kind == "AlterDatabaseSetStmt":
        scope = "database"
    elif s.kind == "AlterRoleSetStmt":
        role = node.get("role")
        if role is None:
            scope = "database" if node.get("database") else "all"
        else:
            written = role.get("rolename") or role.get("roletype", "").removeprefix("ROLESPEC_")
            scope = f"role {written}"
    else:
        return
    setstmt = node.get("setstmt") or {}
    if setstmt.get("kind") == "VAR_SET_CURRENT":
        yield scope, (setstmt.get("name") or "").lower(), None, False
        return
    for name, value, _local in _variable_set(setstmt):
        yield scope, name, value, True


def _variable_set(node: Node) -> Iterator[tuple[str, str | None, bool]]:
    """`setting_changes` of a `VariableSetStmt` node (a `SET`, or what an `ALTER DATABASE`
    or `ALTER ROLE ... SET` stores)."""
    kind = node.get("kind")
    name = (node.get("name") or "").lower()
    local = bool(node.get("is_local"))
    if kind == "VAR_RESET_ALL":
        yield "*", None, False
    elif kind in ("VAR_RESET", "VAR_SET_DEFAULT"):
        yield name, None, local
    elif kind == "VAR_SET_VALUE":
        # (a list setting's items joined as set_config spells them: `public, pg_catalog`;
        # search_path's one item too: `SET search_path = 'public, pg_catalog'` names one
        # schema, `"public, pg_catalog"`, as PostgreSQL quotes it, GUC_LIST_QUOTE)
        values = [constant(arg) for arg in node.get("args") or ()]
        quoted = len(values) > 1 or (name == "search_path" and bool(values)
                                     and values[0] not in (None, ""))  # ('': no schema)
        value = ", ".join(_list_item(v) for v in values) if quoted else (
            values[0] if values else None)
        yield name, None if value is None else str(value), local


def _list_item(value: object) -> str:
    """An item of a list setting (`SET search_path = "App", public`) as a string of the list
    spells it: in double quotes, so that it is read back as written."""
    return '"' + str(value).replace('"', '""') + '"'


# -- deriving facts ----------------------------------------------------------------------


_CONTYPES = {"CONSTR_CHECK": "check", "CONSTR_FOREIGN": "foreign", "CONSTR_PRIMARY": "primary",
             "CONSTR_UNIQUE": "unique", "CONSTR_EXCLUSION": "exclusion",
             "CONSTR_NOTNULL": "not_null", "CONSTR_NULL": "null", "CONSTR_DEFAULT": "default",
             "CONSTR_IDENTITY": "identity", "CONSTR_GENERATED": "generated"}


def constraint(node: Node) -> Constraint:
    node = node.get("Constraint", node)
    contype = node.get("contype", "")
    kind = _CONTYPES.get(contype, contype.removeprefix("CONSTR_").lower())
    if kind == "foreign":
        columns = strings(node.get("fk_attrs"))
    elif kind == "exclusion":
        columns = ()
    else:
        columns = strings(node.get("keys"))
    expression = node.get("raw_expr")
    return Constraint(
        kind=kind,
        name=node.get("conname"),
        columns=columns,
        references=range_var(node.get("pktable")),
        referenced_columns=strings(node.get("pk_attrs")) if kind == "foreign" else (),
        not_valid=bool(node.get("skip_validation")),
        # JSON leaves out false fields: a CHECK/FOREIGN KEY without is_enforced is NOT ENFORCED
        enforced=bool(node.get("is_enforced")) if kind in ("check", "foreign") else True,
        using_index=node.get("indexname"),
        including=strings(node.get("including")),
        expression=expression,
        stored=kind == "generated" and node.get("generated_kind") == "s",
        nulls_not_distinct=bool(node.get("nulls_not_distinct")),
    )


def collation_name(parts: tuple[str, ...]) -> str | None:
    """A COLLATE clause's collation name without its schema (`pg_catalog."C"` -> `C`; two
    collations of one name in two schemas are rare); None without one.

    >>> collation_name(("pg_catalog", "en_US.utf8")), collation_name(("de-x-icu",))
    ('en_US.utf8', 'de-x-icu')
    """
    return parts[-1] if parts else None


def partition_parent(s: Statement) -> str | None:
    """The parent of `CREATE TABLE ... PARTITION OF parent`; None for any other statement."""
    if s.kind != "CreateStmt" or not s.node.get("partbound"):
        return None
    parents = s.node.get("inhRelations") or ()
    return range_var(parents[0]) if parents else None


def _with_attributes(constraints: list[Constraint]) -> tuple[Constraint, ...]:
    """A column's constraints with `NOT ENFORCED` (or `ENFORCED`) applied to the one before
    it, as PostgreSQL's transformConstraintAttrs does: in `col int REFERENCES t NOT
    ENFORCED` the grammar gives the attribute a node of its own after the key."""
    out: list[Constraint] = []
    for con in constraints:
        if con.kind in ("attr_not_enforced", "attr_enforced") and out \
                and out[-1].kind in ("foreign", "check"):
            out[-1] = replace(out[-1], enforced=con.kind == "attr_enforced")
            continue
        out.append(con)
    return tuple(out)


def column_def(table: str, node: Node) -> ColumnDef:
    node = node.get("ColumnDef", node)
    constraints = _with_attributes([constraint(c) for c in node.get("constraints") or ()])
    collation = strings((node.get("collClause") or {}).get("collname"))
    return ColumnDef(table, node.get("colname", ""), type_name(node.get("typeName")),
                     constraints, collation_name(collation))


_OBJECT_KINDS = {"OBJECT_TABLE": "table", "OBJECT_VIEW": "view",
                 "OBJECT_MATVIEW": "materialized view", "OBJECT_FOREIGN_TABLE": "foreign table",
                 "OBJECT_INDEX": "index", "OBJECT_SEQUENCE": "sequence", "OBJECT_TYPE": "type",
                 "OBJECT_COLUMN": "column", "OBJECT_TABCONSTRAINT": "constraint",
                 "OBJECT_DOMCONSTRAINT": "constraint", "OBJECT_DOMAIN": "domain",
                 "OBJECT_SCHEMA": "schema", "OBJECT_TRIGGER": "trigger",
                 "OBJECT_POLICY": "policy", "OBJECT_RULE": "rule",
                 "OBJECT_FUNCTION": "function", "OBJECT_EXTENSION": "extension"}


def index_expressions(node: Node) -> Iterator[tuple[str, Node]]:
    """(what it is, expression) of each expression of a `CREATE INDEX` (`node`: its
    IndexStmt): its keys' expressions, then its WHERE, said as a finding names them."""
    name = node.get("idxname") or "the index"
    for param in node.get("indexParams") or ():
        expression = param.get("IndexElem", {}).get("expr")
        if expression:
            yield f"An expression of index `{name}`", expression
    if node.get("whereClause"):
        yield f"The WHERE of index `{name}`", node["whereClause"]


def index_column(elem: Node) -> str | None:
    """The column an index key is, None for an expression. PostgreSQL makes a key written
    as a parenthesised column (`((customer_id))`) a plain column too (ComputeIndexAttrs)."""
    if elem.get("name"):
        return str(elem["name"])
    fields = strings(((elem.get("expr") or {}).get("ColumnRef") or {}).get("fields"))
    return fields[0] if len(fields) == 1 and fields[0] != "*" else None


# FigureColnameInternal's names of expressions that name no column, by node (and by `op`)
_NAMED_NODES = {"GroupingFunc": "grouping", "MergeSupportFunc": "merge_action",
                "A_ArrayExpr": "array", "RowExpr": "row", "CoalesceExpr": "coalesce",
                "XmlSerialize": "xmlserialize", "JsonParseExpr": "json",
                "JsonScalarExpr": "json_scalar", "JsonSerializeExpr": "json_serialize",
                "JsonObjectConstructor": "json_object", "JsonArrayConstructor": "json_array",
                "JsonArrayQueryConstructor": "json_array", "JsonObjectAgg": "json_objectagg",
                "JsonArrayAgg": "json_arrayagg"}
_NAMED_OPS = {"MinMaxExpr": {"IS_GREATEST": "greatest", "IS_LEAST": "least"},
              "SubLink": {"EXISTS_SUBLINK": "exists", "ARRAY_SUBLINK": "array"},
              "JsonFuncExpr": {"JSON_EXISTS_OP": "json_exists", "JSON_QUERY_OP": "json_query",
                               "JSON_VALUE_OP": "json_value"}}
_SQL_VALUE_NAMES = {"SVFOP_CURRENT_TIME_N": "current_time",
                    "SVFOP_CURRENT_TIMESTAMP_N": "current_timestamp",
                    "SVFOP_LOCALTIME_N": "localtime", "SVFOP_LOCALTIMESTAMP_N": "localtimestamp"}


def _figured_name(node: Node | None) -> tuple[int, str | None]:
    """PostgreSQL's FigureColnameInternal (parse_target.c): the name an expression's value
    is given, with how sure it is (2 good, 1 second best, 0 none)."""
    if not isinstance(node, dict) or len(node) != 1:
        return 0, None
    (kind, fields), = node.items()
    if kind == "ColumnRef":
        names = [name for name in strings(fields.get("fields")) if name != "*"]
        return (2, names[-1]) if names else (0, None)
    if kind == "A_Indirection":
        names = [name for name in strings(fields.get("indirection")) if name != "*"]
        return (2, names[-1]) if names else _figured_name(fields.get("arg"))
    if kind == "FuncCall":
        return 2, strings(fields.get("funcname"))[-1]
    if kind == "A_Expr":
        return (2, "nullif") if fields.get("kind") == "AEXPR_NULLIF" else (0, None)
    if kind == "TypeCast":
        strength, name = _figured_name(fields.get("arg"))
        type_names = strings((fields.get("typeName") or {}).get("names"))
        return (1, type_names[-1]) if strength <= 1 and type_names else (strength, name)
    if kind == "CollateClause":
        return _figured_name(fields.get("arg"))
    if kind == "CaseExpr":
        strength, name = _figured_name(fields.get("defresult"))
        return (1, "case") if strength <= 1 else (strength, name)
    if kind == "SQLValueFunction":
        op = str(fields.get("op", ""))
        return 2, _SQL_VALUE_NAMES.get(op, op.removeprefix("SVFOP_").lower())
    if kind == "XmlExpr":
        op = str(fields.get("op", ""))
        return (0, None) if op == "IS_DOCUMENT" else (2, op.removeprefix("IS_").lower())
    if kind in _NAMED_OPS:
        name = _NAMED_OPS[kind].get(str(fields.get("op") or fields.get("subLinkType")))
        return (2, name) if name else (0, None)
    name = _NAMED_NODES.get(kind)
    return (2, name) if name else (0, None)


def index_column_names(node: Node) -> tuple[str, ...]:
    """The names PostgreSQL gives the columns of the index an `IndexStmt` node builds, keys
    then INCLUDE columns (ChooseIndexColumnNames, indexcmds.c): a column's name, an
    expression's FigureIndexColname (`lower(email)` → `lower`) or `expr`, a repeated one
    numbered (`a`, `a1`); an index built without a name is named after them.

    >>> import pglast
    >>> tree = pglast.parser.parse_sql_json(
    ...     "CREATE INDEX ON t (lower(a), lower(b), (a + b), (b::text)) INCLUDE (c)")
    >>> index_column_names(json.loads(tree)["stmts"][0]["stmt"]["IndexStmt"])
    ('lower', 'lower1', 'expr', 'b', 'c')
    """
    chosen: list[str] = []
    for param in [*(node.get("indexParams") or ()), *(node.get("indexIncludingParams") or ())]:
        element = param.get("IndexElem", {})
        original = element.get("indexcolname") or element.get("name") or \
            _figured_name(element.get("expr"))[1] or "expr"
        name, number = original, 0
        while name in chosen:
            number += 1
            room = 63 - len(str(number))
            name = original.encode()[:room].decode(errors="ignore") + str(number)
        chosen.append(name)
    return tuple(chosen)


def lookup_of(columns: tuple[str, ...], where: Node | None) -> Lookup:
    """What a foreign key's lookup of given values of its columns (`WHERE a = $1 AND b =
    $2`) can use an index of leading plain `columns` for: all of them for a full index. For
    a partial one, only when its WHERE says no more than that some of those columns are not
    null, and only for keys that name every column it tests (a lookup implies the columns
    it names are not null, no other): svix's `(app_id, uid) WHERE uid IS NOT NULL` serves no
    key of `app_id` alone (deleting an application scans `endpoint` on PostgreSQL 18), and
    `(tenant_id, parent_id) WHERE parent_id IS NOT NULL` serves a key of both. Any other
    WHERE, which the planner cannot prove, serves none.

    >>> from dbsafe.lint.engine import expression_from_text as expr
    >>> lookup_of(("a", "b"), None), lookup_of(("a",), expr("a IS NOT NULL"))
    (Lookup(columns=('a', 'b'), needs=0), Lookup(columns=('a',), needs=1))
    >>> lookup_of(("a",), expr("deleted_at IS NULL")), lookup_of(("a",), expr("b IS NOT NULL"))
    (Lookup(columns=(), needs=0), Lookup(columns=(), needs=0))
    >>> found = lookup_of(("a", "b", "c"), expr("b IS NOT NULL AND a IS NOT NULL"))
    >>> found.needs, found.serves(("a",)), found.serves(("b", "a")), found.serves(("a", "c"))
    (2, False, True, False)
    """
    if where is None or not columns:
        return Lookup(columns)
    tests = where.get("BoolExpr", {}).get("args") or () \
        if where.get("BoolExpr", {}).get("boolop") == "AND_EXPR" else (where,)
    needs = 0
    for test in tests:
        null_test = test.get("NullTest") or {}
        ref = (null_test.get("arg") or {}).get("ColumnRef") or {}
        fields = strings(ref.get("fields"))
        if null_test.get("nulltesttype") != "IS_NOT_NULL" or len(fields) != 1 or \
                fields[0] not in columns:
            return Lookup()
        needs = max(needs, columns.index(fields[0]) + 1)
    return Lookup(columns, needs)


def index_reads(node: Node) -> frozenset[str]:
    """The columns an `IndexStmt` node's keys (plain or expressions) and WHERE read, not its
    INCLUDE columns (stored, not ordered).

    >>> import pglast
    >>> tree = pglast.parser.parse_sql_json(
    ...     "CREATE INDEX i ON t (lower(a), b) INCLUDE (c) WHERE d IS NOT NULL")
    >>> sorted(index_reads(__import__("json").loads(tree)["stmts"][0]["stmt"]["IndexStmt"]))
    ['a', 'b', 'd']
    """
    found = set(expression_columns(node.get("whereClause")))
    for param in node.get("indexParams") or ():
        element = param.get("IndexElem", {})
        if element.get("name"):
            found.add(element["name"])
        found |= expression_columns(element.get("expr"))
    return frozenset(found)


def expression_columns(node: Node | None) -> frozenset[str]:
    """The columns an expression names (the last part of each column reference).

    >>> from dbsafe.lint.engine import expression_from_text as expr
    >>> sorted(expression_columns(expr("at >= '2025-01-01' AND t.kind = lower(code)")))
    ['at', 'code', 'kind']
    """
    found = set()
    for kind, fields in walk(node):
        if kind == "ColumnRef":
            parts = strings(fields.get("fields"))
            if parts and parts[-1] != "*":
                found.add(parts[-1])
    return frozenset(found)


def partition_key_columns(partspec: Node) -> frozenset[str]:
    """The columns a `PARTITION BY` names: its plain columns and those its expressions use.

    >>> spec = parse_statement("CREATE TABLE t () PARTITION BY RANGE (region, "
    ...                        "date_trunc('day', at))").node["partspec"]
    >>> sorted(partition_key_columns(spec))
    ['at', 'region']
    """
    found: set[str] = set()
    for param in partspec.get("partParams") or ():
        elem = param.get("PartitionElem", {})
        if elem.get("name"):
            found.add(str(elem["name"]))
        found |= expression_columns(elem.get("expr"))
    return frozenset(found)


def object_kind(value: str | None) -> str | None:
    if value is None:
        return None
    return _OBJECT_KINDS.get(value, value.removeprefix("OBJECT_").lower().replace("_", " "))


def _derive(s: Statement) -> None:
    handler = _DERIVE.get(s.kind)
    if handler is not None:
        handler(s, s.node)


def _created(name: str | None) -> frozenset[str]:
    if not name:
        return frozenset()
    return frozenset({name, last(name)})


def _create_table(s: Statement, n: Node) -> None:
    table = range_var(n.get("relation")) or ""
    s.relation = table
    s.creates = _created(table)
    s.if_exists_keeps = bool(n.get("if_not_exists"))
    columns = []
    constraints = []
    for element in n.get("tableElts") or ():
        if "ColumnDef" in element:
            columns.append(column_def(table, element))
        elif "Constraint" in element:
            constraints.append(constraint(element))
    s.columns = tuple(columns)
    s.constraints = tuple(constraints)


def _create_table_as(s: Statement, n: Node) -> None:
    into = n.get("into", {}).get("IntoClause", n.get("into", {}))
    name = range_var(into.get("rel"))
    s.relation = name
    s.object_kind = object_kind(n.get("objtype"))
    s.creates = _created(name)
    s.if_exists_keeps = bool(n.get("if_not_exists"))


def _select_into(s: Statement, n: Node) -> None:
    """`SELECT ... INTO name` creates the table `name`, as CREATE TABLE AS does."""
    into: Node = n.get("intoClause") or {}
    name = range_var(into.get("IntoClause", into).get("rel"))
    if name:
        s.creates = _created(name)


def _create_sequence(s: Statement, n: Node) -> None:
    """A sequence made here is new, as a table is: what later statements of the migration
    lock on it no one else waits for (a `supabase db dump` file's `CREATE SEQUENCE`, then
    `ALTER TABLE ... OWNER TO` on it)."""
    s.creates = _created(range_var(n.get("sequence")))
    s.if_exists_keeps = bool(n.get("if_not_exists"))


def _view(s: Statement, n: Node) -> None:
    name = range_var(n.get("view"))
    s.relation = name
    s.object_kind = "view"
    s.creates = _created(name)
    s.if_exists_keeps = bool(n.get("replace"))


def _index(s: Statement, n: Node) -> None:
    table = range_var(n.get("relation")) or ""
    columns: list[str] = []
    plain = True
    for param in n.get("indexParams") or ():
        name = index_column(param.get("IndexElem", {}))
        if name and plain:
            columns.append(name)
        else:
            plain = False
    name = n.get("idxname")
    schema = (n.get("relation") or {}).get("schemaname")
    s.relation = table
    s.index_def = IndexDef(qualified(schema, name) if name else None, table,
                           bool(n.get("concurrent")), bool(n.get("unique")), tuple(columns),
                           plain and bool(columns), bool(n.get("whereClause")),
                           only=not (n.get("relation") or {}).get("inh"),
                           lookup=lookup_of(tuple(columns), n.get("whereClause")),
                           include=included_columns(n),
                           column_names=index_column_names(n))
    if name:
        s.creates = frozenset({name, qualified(schema, name)})
        s.if_exists_keeps = bool(n.get("if_not_exists"))


def _alter_table(s: Statement, n: Node) -> None:
    table = range_var(n.get("relation")) or ""
    s.relation = table
    s.object_kind = object_kind(n.get("objtype"))
    actions = []
    columns = []
    constraints = []
    for item in n.get("cmds") or ():
        cmd = item.get("AlterTableCmd", {})
        subtype = cmd.get("subtype", "").removeprefix("AT_")
        definition = cmd.get("def") or {}
        action = Action(subtype, cmd.get("name"),
                        cascade=cmd.get("behavior") == "DROP_CASCADE",
                        if_exists=subtype == "DropColumn" and bool(cmd.get("missing_ok")))
        if subtype == "AddColumn" and "ColumnDef" in definition:
            column = column_def(table, definition)
            columns.append(column)
            action = Action(subtype, column.name, column=column,
                            if_not_exists=bool(cmd.get("missing_ok")))
        elif subtype == "AlterColumnType" and "ColumnDef" in definition:
            inner = definition["ColumnDef"]
            column = replace(column_def(table, definition), name=cmd.get("name", ""))
            action = Action(subtype, column.name, column=column,
                            using=inner.get("raw_default"))
        elif subtype == "AddConstraint" and "Constraint" in definition:
            con = constraint(definition)
            constraints.append(con)
            action = Action(subtype, con.name, constraint=con)
        elif subtype.endswith("Partition") or subtype == "DetachPartitionFinalize":
            part = definition.get("PartitionCmd", {})
            action = Action(subtype, None, partition=range_var(part.get("name")),
                            concurrent=bool(part.get("concurrent")),
                            default=bool((part.get("bound") or {}).get("is_default")))
        elif subtype in ("AddInherit", "DropInherit"):
            action = Action(subtype, None, parent=range_var(definition))
        elif subtype in ("ColumnDefault", "SetExpression"):
            action = Action(subtype, cmd.get("name"), expression=definition or None)
        elif subtype in ("AddIdentity", "SetIdentity"):
            items = (definition.get("Constraint", {}).get("options")
                     or definition.get("List", {}).get("items", ()))
            action = Action(subtype, cmd.get("name"), options=tuple(
                d.get("DefElem", {}).get("defname", "") for d in items))
        elif subtype in ("SetRelOptions", "ResetRelOptions", "SetOptions", "ResetOptions"):
            names = tuple(d.get("DefElem", {}).get("defname", "")
                          for d in definition.get("List", {}).get("items", ()))
            action = Action(subtype, cmd.get("name"), options=names)
        actions.append(action)
    s.actions = tuple(actions)
    s.columns = tuple(columns)
    s.constraints = tuple(constraints)


_RELATIONS = frozenset({"table", "view", "materialized view", "foreign table", "index",
                        "sequence"})
_ON_RELATION = frozenset({"constraint", "trigger", "policy", "rule"})


def _rename(s: Statement, n: Node) -> None:
    kind = object_kind(n.get("renameType")) or ""
    # relationType is only meaningful for renames of a relation's parts (columns, ...);
    # the grammar leaves it unset (0, OBJECT_ACCESS_METHOD) for `ALTER TABLE ... RENAME
    # CONSTRAINT` and `ALTER TRIGGER/POLICY/RULE ... ON relation RENAME`: a table's, as
    # far as the statement tells (a trigger or rule may be on a view)
    if kind in _ON_RELATION and n.get("relation"):
        relation_kind = "table"
    elif n.get("renameType") == "OBJECT_DOMCONSTRAINT":
        relation_kind = "domain"
    else:
        relation_kind = kind if kind in _RELATIONS else object_kind(n.get("relationType")) or kind
    relation = range_var(n.get("relation"))
    s.relation = relation
    s.object_kind = relation_kind
    if kind in ("column", "constraint", "trigger", "policy", "rule", "schema"):
        old = n.get("subname", "")  # (a schema's name is there too)
    elif relation:
        old = last(relation)
    else:
        old = ".".join(strings(n.get("object", {}).get("List", {}).get("items")))
    s.rename = Rename(kind, relation, relation_kind, old, n.get("newname", ""))


def _drop(s: Statement, n: Node) -> None:
    s.object_kind = object_kind(n.get("removeType"))
    names = []
    for item in n.get("objects") or ():
        if "List" in item:
            names.append(qualified(*strings(item["List"].get("items"))))
        elif "String" in item:
            names.append(item["String"].get("sval", ""))
        elif "TypeName" in item:
            names.append(qualified(*strings(item["TypeName"].get("names"))))
        elif "ObjectWithArgs" in item:  # a function: its name, without the argument types
            names.append(qualified(*strings(item["ObjectWithArgs"].get("objname"))))
    s.dropped = tuple(names)


def _transaction(s: Statement, n: Node) -> None:
    kind = n.get("kind", "").removeprefix("TRANS_STMT_").lower()
    s.transaction = {"start": "begin", "rollback_prepared": "rollback",
                     "commit_prepared": "commit"}.get(kind, kind)
    s.chain = bool(n.get("chain"))


def _relation_only(field_name: str) -> Any:
    def derive(s: Statement, n: Node) -> None:
        s.relation = range_var(n.get(field_name))
    return derive


_DERIVE = {
    "CreateStmt": _create_table,
    "CreateForeignTableStmt": lambda s, n: _create_table(s, n.get("base", {}).get(
        "CreateStmt", n.get("base", {}))),
    "CreateTableAsStmt": _create_table_as,
    "CreateSeqStmt": _create_sequence,
    "ViewStmt": _view,
    "SelectStmt": _select_into,
    "IndexStmt": _index,
    "AlterTableStmt": _alter_table,
    "RenameStmt": _rename,
    "DropStmt": _drop,
    "TransactionStmt": _transaction,
    "RefreshMatViewStmt": _relation_only("relation"),
    "ClusterStmt": _relation_only("relation"),
    "ReindexStmt": _relation_only("relation"),
    "CreateTrigStmt": _relation_only("relation"),
    "CreatePolicyStmt": _relation_only("table"),
    "RuleStmt": _relation_only("relation"),
    "InsertStmt": _relation_only("relation"),
    "UpdateStmt": _relation_only("relation"),
    "DeleteStmt": _relation_only("relation"),
    "MergeStmt": _relation_only("relation"),
}

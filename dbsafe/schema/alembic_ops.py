"""The DDL of a plan as alembic operations: `op.*` lines to paste into a revision.

`downgrade_lines(statements)` turns the statements `dbsafe.schema.ddl.plan` computed into
Python for the body of `downgrade()` (or `upgrade()`): idiomatic calls where a statement maps
cleanly (`op.create_index`, `op.drop_index`, `op.add_column`, `op.drop_column`,
`op.alter_column`, `op.create_check_constraint`, `op.create_foreign_key`,
`op.create_unique_constraint`, `op.create_primary_key`, `op.drop_constraint`,
`op.create_table`, `op.drop_table`) and `op.execute("...")` with the exact SQL for the rest
(views, functions, triggers, policies, grants, enum values, comments, and any statement
with a clause alembic has no argument for).

Each statement is read with PostgreSQL's own grammar (pglast). A call is only kept when
alembic, rendering it offline for PostgreSQL, produces a statement with the same parse tree
as the planned one (locations aside); otherwise the line is `op.execute` of the planned SQL.
So a type SQLAlchemy spells differently (an integer primary key becoming SERIAL, say), a
clause that has no keyword argument, or a name that needs quoting can never turn into a
different statement: the worst case is the exact DDL.

Statements that must run outside a transaction (`CONCURRENTLY`) are put in
`with op.get_context().autocommit_block():`.

Example:
    >>> from dbsafe.schema.ddl import Statement
    >>> print(downgrade_lines([
    ...     Statement("DROP INDEX CONCURRENTLY public.ix_a", transactional=False,
    ...               subject="public.appointments.ix_a"),
    ...     Statement("ALTER TABLE public.appointments ALTER COLUMN status DROP DEFAULT"),
    ... ]))
    with op.get_context().autocommit_block():
        op.drop_index('ix_a', table_name='appointments', postgresql_concurrently=True)
    op.alter_column('appointments', 'status', server_default=None)
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dbsafe.schema.ddl import Statement

log = logging.getLogger(__name__)

_SA = "sa"  # the names the lines use, as alembic's revision template imports them
_PG = "postgresql"
_IMPORTS = {_SA: "import sqlalchemy as sa",
            _PG: "from sqlalchemy.dialects import postgresql"}


@dataclass(frozen=True, slots=True)
class Call:
    """One line of Python for a planned statement."""

    text: str  # e.g. "op.drop_index('ix_a', table_name='appointments')"
    transactional: bool = True  # False: must run in an autocommit block
    uses: frozenset[str] = frozenset()  # "sa", "postgresql": modules the line names
    mapped: bool = True  # False: `op.execute` of the exact SQL


def downgrade_lines(statements: Sequence[Statement], *,
                    search_path: Sequence[str] = ("public",)) -> str:
    """The statements as lines of Python to paste into `downgrade()`, in order.

    Args:
        statements: a plan (`dbsafe.schema.ddl.plan`), comment-only entries left out.
        search_path: the search path the statements assume; objects in its first schema
            are named without `schema=`, as autogenerate writes them.

    Returns:
        Unindented lines: the imports the calls need (`sa`, `postgresql`, inside the
        function so the paste works in any revision file), then one call per statement.
    """
    return alembic_lines(statements, search_path=search_path)


def alembic_lines(statements: Sequence[Statement], *, search_path: Sequence[str] = ("public",),
                  comments: bool = False) -> str:
    """`downgrade_lines`, optionally with each statement's hazards as `# hazard ...` comments
    above its call and a plan's comment-only entries as comments (`dbsafe diff --alembic`).
    """
    notes = [s.sql.lstrip().startswith("--") for s in statements]
    calls = iter(alembic_calls([s for s, note in zip(statements, notes, strict=True)
                                if not note], search_path=search_path))
    body: list[str] = []
    uses: set[str] = set()
    in_block = False
    for statement, note in zip(statements, notes, strict=True):
        if note:  # a note of the plan: "column order differs", ...
            if comments:
                body.append("# " + statement.sql.lstrip().removeprefix("--").strip())
                in_block = False
            continue
        call = next(calls)
        uses |= call.uses
        indent = ""
        if call.transactional:
            in_block = False
        else:
            if not in_block:  # CONCURRENTLY cannot run inside alembic's transaction
                body.append("with op.get_context().autocommit_block():")
                in_block = True
            indent = "    "
        if comments:
            body += [f"{indent}# hazard {h.kind}: {' '.join(h.message.split())}"
                     for h in statement.hazards]
        body.append(indent + call.text.replace("\n", "\n" + indent))
    return "\n".join([line for name, line in _IMPORTS.items() if name in uses] + body)


def alembic_calls(statements: Sequence[Statement], *,
                  search_path: Sequence[str] = ("public",)) -> list[Call]:
    """One `Call` per statement: an `op.*` call alembic renders to the same statement, else
    `op.execute` of its SQL."""
    default_schema = search_path[0] if search_path else None
    checker = _Checker(default_schema)
    out = []
    for statement in statements:
        sql = statement.sql.rstrip().rstrip(";")
        try:
            call = _map(sql, statement.subject, default_schema)
        except Exception as exc:  # noqa: BLE001 - a statement we cannot read stays SQL
            log.info("not mapped to an alembic operation (%s): %s", exc, sql)
            call = None
        if call is not None and not checker.same(call, sql):
            log.info("not mapped to an alembic operation (rendered differently): %s", sql)
            call = None
        if call is None:
            literal = python_string(sql)
            if literal.startswith("(\n"):  # op.execute(\n    'line\n'\n    'line'\n)
                literal = literal[1:-1]
            out.append(Call(f"op.execute({literal})", statement.transactional, mapped=False))
        else:
            out.append(Call(call.text, statement.transactional, call.uses))
    return out


def python_string(sql: str) -> str:
    """A Python literal of `sql`; text over several lines becomes adjacent literals, one a
    line, so re-indenting a pasted block cannot change the SQL (a function body, say).

    >>> print(python_string("SELECT 'a'"))
    "SELECT 'a'"
    >>> print(python_string("SELECT 1\\nFROM t"))
    (
        'SELECT 1\\n'
        'FROM t'
    )
    """
    if "\n" not in sql:
        return repr(sql)
    return "(\n" + "".join(f"    {line!r}\n" for line in sql.splitlines(keepends=True)) + ")"


# -- statement -> call ------------------------------------------------------------------------


class _Source:
    """One statement's SQL and its tokens (PostgreSQL's own scanner), to find the text of an
    expression in it."""

    def __init__(self, sql: str) -> None:
        self.sql = sql
        self._tokens: list[Any] | None = None

    def text_of(self, node: Any) -> str | None:
        """The shortest slice of the statement that parses to the same expression tree."""
        from pglast.parser import scan

        locations = [v for v in _values(node(skip_none=True), "location") if v >= 0]
        if not locations:
            return None
        if self._tokens is None:
            self._tokens = list(scan(self.sql))
        tokens = self._tokens
        first = next((i for i, t in enumerate(tokens) if t.start == min(locations)), None)
        if first is None:
            return None
        wanted = _expression_tree(_deparsed(node))
        if wanted is None:
            return None
        attempts = 0
        # A constant carries no location, so the expression may start a few tokens earlier
        # ('a'::text starts at the literal, its first location is the `::`).
        for start in range(first, max(first - 4, -1), -1):
            for end in range(start, len(tokens)):
                attempts += 1
                if attempts > _MAX_ATTEMPTS:
                    return None
                text = self.sql[tokens[start].start:tokens[end].end + 1]
                if _expression_tree(text) == wanted:
                    return text
        return None


def _deparsed(node: Any) -> str:
    from pglast.stream import RawStream

    return str(RawStream()(node))


def _expression_tree(text: str) -> Any:
    """The parse tree of `SELECT <text>`'s one expression, or None if it is not one."""
    from pglast.parser import ParseError

    try:
        [tree] = _trees(f"SELECT {text}", None)
    except (ParseError, ValueError):
        return None
    targets = tree.get("SelectStmt", {}).get("targetList", [])
    if len(targets) != 1 or set(tree["SelectStmt"]) != {"targetList", "limitOption", "op"}:
        return None
    target = targets[0].get("ResTarget", {})
    return target.get("val") if set(target) == {"val"} else None


_MAX_ATTEMPTS = 400


def _values(tree: Any, key: str) -> list[Any]:
    if isinstance(tree, dict):
        found = [tree[key]] if key in tree else []
        for value in tree.values():
            found += _values(value, key)
        return found
    if isinstance(tree, tuple):
        return [v for item in tree for v in _values(item, key)]
    return []


class _Args:
    """The arguments of one call, rendered as Python, and the modules they name."""

    def __init__(self, source: _Source) -> None:
        self.source = source
        self.parts: list[str] = []
        self.uses: set[str] = set()

    def add(self, value: str, *, keyword: str | None = None) -> None:
        self.parts.append(f"{keyword}={value}" if keyword else value)

    def call(self, function: str, *, one_per_line: bool = False) -> Call:
        if one_per_line:  # op.create_table, the way autogenerate writes it
            inner = "".join(f"\n    {part}," for part in self.parts)
            return Call(f"{function}({inner}\n)", uses=frozenset(self.uses))
        return Call(f"{function}({', '.join(self.parts)})", uses=frozenset(self.uses))


class _Unmapped(Exception):
    """The statement has something the call cannot say."""


def _map(sql: str, subject: str, default_schema: str | None) -> Call | None:
    from pglast import ast, parse_sql
    from pglast.parser import ParseError

    try:
        parsed = parse_sql(sql)
    except ParseError:
        return None
    if len(parsed) != 1:
        return None
    node = parsed[0].stmt
    source = _Source(sql)
    try:
        if isinstance(node, ast.IndexStmt):
            return _create_index(source, node, default_schema)
        if isinstance(node, ast.DropStmt):
            return _drop(source, node, subject, default_schema)
        if isinstance(node, ast.AlterTableStmt):
            return _alter_table(source, node, default_schema)
        if isinstance(node, ast.CreateStmt):
            return _create_table(source, node, default_schema)
    except _Unmapped:
        return None
    return None


def _require(condition: Any) -> None:
    if not condition:
        raise _Unmapped


def _schema(args: _Args, schema: str | None, default_schema: str | None,
            keyword: str = "schema") -> None:
    if schema is not None and schema != default_schema:
        args.add(repr(schema), keyword=keyword)


def _expression(args: _Args, node: Any) -> str:
    """The expression as written in the statement when a slice of it parses to the same
    tree (`'booked'::text`), else as pglast prints it (`CAST('booked' AS text)`)."""
    return args.source.text_of(node) or _deparsed(node)


def _text(args: _Args, node: Any) -> str:
    args.uses.add(_SA)
    return f"sa.text({python_string(_expression(args, node))})"


def _create_index(source: _Source, node: Any, default_schema: str | None) -> Call:
    from pglast import ast, enums

    _require(node.idxname and node.relation.inh and not node.options
             and not node.tableSpace and not node.if_not_exists
             and not node.nulls_not_distinct and not node.primary and not node.isconstraint)
    args = _Args(source)
    args.add(repr(node.idxname))
    args.add(repr(node.relation.relname))
    columns = []
    for element in node.indexParams:
        plain = (element.name is not None and element.expr is None and not element.collation
                 and not element.opclass and not element.opclassopts
                 and element.ordering == enums.SortByDir.SORTBY_DEFAULT
                 and element.nulls_ordering == enums.SortByNulls.SORTBY_NULLS_DEFAULT)
        if plain:
            columns.append(repr(element.name))
        elif element.expr is not None and element.name is None and not element.collation \
                and not element.opclass and not element.opclassopts \
                and element.ordering == enums.SortByDir.SORTBY_DEFAULT \
                and element.nulls_ordering == enums.SortByNulls.SORTBY_NULLS_DEFAULT:
            text = _expression(args, element.expr)
            if not isinstance(element.expr, ast.FuncCall):  # other expressions need ( )
                text = f"({text})"
            args.uses.add(_SA)
            columns.append(f"sa.text({python_string(text)})")
        else:
            columns.append(_text(args, element))
    args.add("[" + ", ".join(columns) + "]")
    if node.unique:
        args.add("True", keyword="unique")
    _schema(args, node.relation.schemaname, default_schema)
    if node.accessMethod and node.accessMethod != "btree":
        args.add(repr(node.accessMethod), keyword="postgresql_using")
    if node.indexIncludingParams:
        _require(all(e.name is not None and e.expr is None for e in node.indexIncludingParams))
        args.add("[" + ", ".join(repr(e.name) for e in node.indexIncludingParams) + "]",
                 keyword="postgresql_include")
    if node.whereClause is not None:
        args.add(_text(args, node.whereClause), keyword="postgresql_where")
    if node.concurrent:
        args.add("True", keyword="postgresql_concurrently")
    return args.call("op.create_index")


def _drop(source: _Source, node: Any, subject: str, default_schema: str | None) -> Call:
    from pglast import enums

    _require(node.removeType in (enums.ObjectType.OBJECT_INDEX, enums.ObjectType.OBJECT_TABLE)
             and len(node.objects) == 1 and not node.missing_ok
             and node.behavior == enums.DropBehavior.DROP_RESTRICT)
    names = [n.sval for n in node.objects[0]]
    _require(1 <= len(names) <= 2)
    schema, name = (None, names[0]) if len(names) == 1 else names
    args = _Args(source)
    args.add(repr(name))
    if node.removeType == enums.ObjectType.OBJECT_INDEX:
        # DROP INDEX does not name the table; the plan's subject does ("schema.table.index").
        parts = subject.split(".")
        if len(parts) == 3 and parts[2] == name and (schema is None or parts[0] == schema):
            args.add(repr(parts[1]), keyword="table_name")
        _schema(args, schema, default_schema)
        if node.concurrent:
            args.add("True", keyword="postgresql_concurrently")
        return args.call("op.drop_index")
    _require(not node.concurrent)
    _schema(args, schema, default_schema)
    return args.call("op.drop_table")


def _alter_table(source: _Source, node: Any, default_schema: str | None) -> Call:
    from pglast import enums

    _require(node.objtype == enums.ObjectType.OBJECT_TABLE and len(node.cmds) == 1
             and node.relation.inh and not node.missing_ok)
    cmd = node.cmds[0]
    _require(cmd.behavior == enums.DropBehavior.DROP_RESTRICT and not cmd.missing_ok)
    table, schema = node.relation.relname, node.relation.schemaname
    kind = enums.AlterTableType
    args = _Args(source)
    args.add(repr(table))
    if cmd.subtype == kind.AT_AddColumn:
        args.add(_column(args, cmd.def_))
        function = "op.add_column"
    elif cmd.subtype == kind.AT_DropColumn:
        args.add(repr(cmd.name))
        function = "op.drop_column"
    elif cmd.subtype in (kind.AT_ColumnDefault, kind.AT_DropNotNull, kind.AT_SetNotNull,
                         kind.AT_AlterColumnType):
        args.add(repr(cmd.name))
        function = "op.alter_column"
        if cmd.subtype == kind.AT_ColumnDefault:
            args.add("None" if cmd.def_ is None else _text(args, cmd.def_),
                     keyword="server_default")
        elif cmd.subtype == kind.AT_AlterColumnType:
            column = cmd.def_
            _require(column.collClause is None and not column.constraints)
            args.add(_type(args, column.typeName), keyword="type_")
            if column.raw_default is not None:
                args.add(python_string(_expression(args, column.raw_default)),
                         keyword="postgresql_using")
        else:
            args.add(str(cmd.subtype == kind.AT_DropNotNull), keyword="nullable")
    elif cmd.subtype == kind.AT_AddConstraint:
        return _add_constraint(source, cmd.def_, table, schema, default_schema)
    elif cmd.subtype == kind.AT_DropConstraint:
        args.parts.insert(0, repr(cmd.name))
        function = "op.drop_constraint"
    else:
        raise _Unmapped
    _schema(args, schema, default_schema)
    return args.call(function)


def _add_constraint(source: _Source, constraint: Any, table: str, schema: str | None,
                    default_schema: str | None) -> Call:
    from pglast import enums

    kind = enums.ConstrType
    _require(constraint.conname and not constraint.is_no_inherit and not constraint.options
             and not constraint.indexname and not constraint.including
             and not constraint.indexspace)
    args = _Args(source)
    args.add(repr(constraint.conname))
    args.add(repr(table))
    if constraint.contype == kind.CONSTR_CHECK:
        args.add(python_string(_expression(args, constraint.raw_expr)))
        function = "op.create_check_constraint"
        _schema(args, schema, default_schema)
    elif constraint.contype == kind.CONSTR_FOREIGN:
        referenced = constraint.pktable
        _require(constraint.pk_attrs and not constraint.fk_del_set_cols
                 and referenced.inh)
        args.add(repr(referenced.relname))
        args.add(_names(constraint.fk_attrs))
        args.add(_names(constraint.pk_attrs))
        for keyword, action in (("onupdate", constraint.fk_upd_action),
                                ("ondelete", constraint.fk_del_action)):
            if action != "a":
                args.add(repr(_FK_ACTIONS[action]), keyword=keyword)
        _deferrable(args, constraint)
        if constraint.fk_matchtype not in ("s", "\x00"):
            args.add(repr(_FK_MATCH[constraint.fk_matchtype]), keyword="match")
        _schema(args, schema, default_schema, "source_schema")
        _schema(args, referenced.schemaname, default_schema, "referent_schema")
        function = "op.create_foreign_key"
    elif constraint.contype in (kind.CONSTR_UNIQUE, kind.CONSTR_PRIMARY):
        _require(constraint.keys and not constraint.nulls_not_distinct
                 and not constraint.without_overlaps)
        args.add(_names(constraint.keys))
        _schema(args, schema, default_schema)
        if constraint.contype == kind.CONSTR_UNIQUE:
            _deferrable(args, constraint)
            function = "op.create_unique_constraint"
        else:
            _require(not constraint.deferrable)
            function = "op.create_primary_key"
    else:
        raise _Unmapped
    if constraint.skip_validation:
        _require(constraint.contype in (kind.CONSTR_CHECK, kind.CONSTR_FOREIGN))
        args.add("True", keyword="postgresql_not_valid")
    return args.call(function)


_FK_ACTIONS = {"r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
_FK_MATCH = {"f": "FULL", "p": "PARTIAL"}


def _deferrable(args: _Args, constraint: Any) -> None:
    if constraint.deferrable:
        args.add("True", keyword="deferrable")
        if constraint.initdeferred:
            args.add("'DEFERRED'", keyword="initially")


def _names(nodes: Sequence[Any]) -> str:
    return "[" + ", ".join(repr(n.sval) for n in nodes) + "]"


def _column(args: _Args, column: Any, *, primary_key: bool = False) -> str:
    """`sa.Column(...)` for a column definition with a type, NOT NULL and DEFAULT only."""
    from pglast import enums

    _require(column.collClause is None and not _flag(column.identity)
             and not _flag(column.generated) and not _flag(column.storage)
             and not column.storage_name and not column.compression and not column.fdwoptions)
    parts = [repr(column.colname), _type(args, column.typeName)]
    if primary_key and parts[1] in _INTEGER_TYPES:
        parts.append("autoincrement=False")  # else SQLAlchemy makes it SERIAL
    nullable: bool | None = None
    for constraint in column.constraints or ():
        if constraint.contype == enums.ConstrType.CONSTR_NOTNULL:
            nullable = False
        elif constraint.contype == enums.ConstrType.CONSTR_NULL:
            nullable = True
        elif constraint.contype == enums.ConstrType.CONSTR_DEFAULT:
            parts.append(f"server_default={_text(args, constraint.raw_expr)}")
        else:
            raise _Unmapped
    if nullable is not None:
        parts.append(f"nullable={nullable}")
    args.uses.add(_SA)
    return "sa.Column(" + ", ".join(parts) + ")"


def _flag(value: Any) -> bool:
    """A `char` field of a parse node: set unless NUL."""
    return bool(value) and value != "\x00"


def _create_table(source: _Source, node: Any, default_schema: str | None) -> Call:
    from pglast import ast, enums

    relation = node.relation
    _require(relation.relpersistence == "p" and not node.inhRelations and not node.partbound
             and not node.partspec and not node.ofTypename and not node.options
             and not node.tablespacename and not node.if_not_exists and not node.accessMethod
             and node.oncommit == enums.OnCommitAction.ONCOMMIT_NOOP)
    args = _Args(source)
    args.add(repr(relation.relname))
    elements = node.tableElts or ()
    primary = {k.sval for e in elements if isinstance(e, ast.Constraint)
               and e.contype == enums.ConstrType.CONSTR_PRIMARY for k in e.keys or ()}
    for element in elements:
        if isinstance(element, ast.ColumnDef):
            args.add(_column(args, element, primary_key=element.colname in primary))
    for element in elements:  # SQLAlchemy lists the primary key first
        if not isinstance(element, ast.ColumnDef):
            _require(isinstance(element, ast.Constraint))
            args.add(_table_constraint(args, element))
    args.parts[1:] = sorted(args.parts[1:], key=lambda p: not p.startswith(
        ("sa.Column(", "sa.PrimaryKeyConstraint(")))
    _schema(args, relation.schemaname, default_schema)
    args.uses.add(_SA)
    return args.call("op.create_table", one_per_line=True)


def _table_constraint(args: _Args, constraint: Any) -> str:
    from pglast import enums

    kind = enums.ConstrType
    _require(constraint.conname and not constraint.is_no_inherit and not constraint.options
             and not constraint.indexname and not constraint.including
             and not constraint.indexspace and not constraint.skip_validation
             and not constraint.nulls_not_distinct and not constraint.without_overlaps)
    name = f"name={constraint.conname!r}"
    if constraint.contype == kind.CONSTR_CHECK:
        condition = python_string(_expression(args, constraint.raw_expr))
        return f"sa.CheckConstraint({condition}, {name})"
    _require(constraint.keys and constraint.contype in (kind.CONSTR_PRIMARY, kind.CONSTR_UNIQUE)
             and not constraint.deferrable)
    columns = ", ".join(repr(k.sval) for k in constraint.keys)
    function = "PrimaryKeyConstraint" if constraint.contype == kind.CONSTR_PRIMARY \
        else "UniqueConstraint"
    return f"sa.{function}({columns}, {name})"


# -- types ---------------------------------------------------------------------------------

_INTEGER_TYPES = ("sa.SmallInteger()", "sa.Integer()", "sa.BigInteger()")
# pg_catalog type name -> (module, SQLAlchemy type) for types without modifiers.
_PLAIN_TYPES = {
    "int2": (_SA, "sa.SmallInteger()"),
    "int4": (_SA, "sa.Integer()"),
    "int8": (_SA, "sa.BigInteger()"),
    "text": (_SA, "sa.Text()"),
    "varchar": (_SA, "sa.String()"),
    "bool": (_SA, "sa.Boolean()"),
    "numeric": (_SA, "sa.Numeric()"),
    "date": (_SA, "sa.Date()"),
    "timestamp": (_SA, "sa.DateTime()"),
    "timestamptz": (_SA, "sa.DateTime(timezone=True)"),
    "time": (_SA, "sa.Time()"),
    "timetz": (_SA, "sa.Time(timezone=True)"),
    "float4": (_SA, "sa.REAL()"),
    "float8": (_PG, "postgresql.DOUBLE_PRECISION()"),
    "bytea": (_SA, "sa.LargeBinary()"),
    "jsonb": (_PG, "postgresql.JSONB()"),
    "json": (_PG, "postgresql.JSON()"),
    "uuid": (_PG, "postgresql.UUID()"),
    "inet": (_PG, "postgresql.INET()"),
}


def _type(args: _Args, type_name: Any) -> str:
    """The SQLAlchemy type for a PostgreSQL type name, or `_Unmapped` (never a guess)."""
    from pglast import ast

    _require(not type_name.setof and not type_name.pct_type)
    names = [n.sval for n in type_name.names]
    _require(len(names) == 1 or (len(names) == 2 and names[0] == "pg_catalog"))
    name = names[-1]
    modifiers = []
    for modifier in type_name.typmods or ():
        _require(isinstance(modifier, ast.A_Const) and isinstance(modifier.val, ast.Integer))
        modifiers.append(modifier.val.ival)
    if not modifiers and name in _PLAIN_TYPES:
        module, text = _PLAIN_TYPES[name]
    elif name == "varchar" and len(modifiers) == 1:
        module, text = _SA, f"sa.String({modifiers[0]})"
    elif name == "bpchar" and len(modifiers) == 1:
        module, text = _SA, f"sa.CHAR({modifiers[0]})"
    elif name == "numeric" and len(modifiers) in (1, 2):
        module, text = _SA, f"sa.Numeric({', '.join(map(str, modifiers))})"
    elif name in ("timestamp", "timestamptz") and len(modifiers) == 1:
        zone = ", timezone=True" if name == "timestamptz" else ""
        module, text = _PG, f"postgresql.TIMESTAMP(precision={modifiers[0]}{zone})"
    else:
        raise _Unmapped
    args.uses.add(module)
    bounds = type_name.arrayBounds or ()
    _require(len(bounds) <= 1)
    if bounds:
        args.uses.add(_PG)
        text = f"postgresql.ARRAY({text})"
    return text


# -- the check -------------------------------------------------------------------------------


class _Checker:
    """Renders calls with alembic offline (PostgreSQL dialect) and compares parse trees."""

    def __init__(self, default_schema: str | None) -> None:
        self.default_schema = default_schema
        self.namespace: dict[str, Any] | None = None
        self.buffer = io.StringIO()

    def same(self, call: Call, sql: str) -> bool:
        try:
            rendered = self._render(call.text)
            return _trees(rendered, self.default_schema) == _trees(sql, self.default_schema)
        except Exception as exc:  # noqa: BLE001 - any failure means: use the exact SQL
            log.info("alembic could not render %s: %s", call.text, exc)
            return False

    def _render(self, code: str) -> str:
        if self.namespace is None:
            import sqlalchemy
            from alembic.migration import MigrationContext
            from alembic.operations import Operations
            from sqlalchemy.dialects import postgresql

            context = MigrationContext.configure(
                dialect_name="postgresql",
                opts={"as_sql": True, "output_buffer": self.buffer})
            self.namespace = {"op": Operations(context), _SA: sqlalchemy, _PG: postgresql}
        self.buffer.seek(0)
        self.buffer.truncate()
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a call SQLAlchemy warns about is not kept
            # Our own generated line (names and SQL as repr'd literals), run against an
            # offline context: it renders SQL into the buffer and touches no database.
            exec(code, dict(self.namespace))
        return self.buffer.getvalue()



def _trees(sql: str, default_schema: str | None) -> list[Any]:
    """The statements' parse trees (PostgreSQL's parser, as JSON: no Python node objects to
    build), normalized by `_normalized`."""
    import json

    from pglast.parser import parse_sql_json

    return [_normalized(s["stmt"], default_schema)
            for s in json.loads(parse_sql_json(sql)).get("stmts", [])]


_POSITION_FIELDS: frozenset[str] | None = None


def _positions() -> frozenset[str]:
    """The fields of parse nodes that hold a position in the source (`ParseLoc`)."""
    global _POSITION_FIELDS
    if _POSITION_FIELDS is None:
        from pglast import ast

        _POSITION_FIELDS = frozenset(
            name for cls in vars(ast).values() if isinstance(getattr(cls, "__slots__", None), dict)
            for name, info in cls.__slots__.items() if getattr(info, "c_type", "") == "ParseLoc")
    return _POSITION_FIELDS


def _normalized(value: Any, default_schema: str | None) -> Any:
    """A JSON parse tree without source positions, unqualified names in the default schema,
    and constraints in a fixed order (`NOT NULL DEFAULT 0` and `DEFAULT 0 NOT NULL` are the
    same column)."""
    if isinstance(value, dict):
        positions = _positions()
        out = {k: _normalized(v, default_schema) for k, v in value.items()
               if k not in positions}
        if "relname" in out and out.get("schemaname") == default_schema:  # a RangeVar
            out.pop("schemaname", None)
        drop = out.get("DropStmt")
        if isinstance(drop, dict) and drop.get("objects"):
            for name in drop["objects"]:
                items = name.get("List", {}).get("items", []) if isinstance(name, dict) else []
                if len(items) == 2 and items[0] == {"String": {"sval": default_schema}}:
                    del items[0]
        if isinstance(out.get("constraints"), list):
            out["constraints"].sort(key=_canonical)
        if isinstance(out.get("tableElts"), list):  # columns in order, then constraints
            elements = out["tableElts"]
            out["tableElts"] = [e for e in elements if "ColumnDef" in e] + sorted(
                (e for e in elements if "ColumnDef" not in e), key=_canonical)
        return out
    if isinstance(value, list):
        return [_normalized(v, default_schema) for v in value]
    return value


def _canonical(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True)

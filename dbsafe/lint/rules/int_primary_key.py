"""Primary key column of type `integer` / `smallint` / `serial`.

## Why
An `integer` key tops out at 2,147,483,647 (`smallint` at 32,767). Tables keyed by a
sequence reach that sooner than expected — sequences skip values on rollbacks and
conflicts — and then every insert fails. Changing the key to `bigint` at that point rewrites
the table and every index and foreign key that points at it under an ACCESS EXCLUSIVE lock:
an outage. `bigint` costs four more bytes per row. `serial` / `smallserial` are `integer` /
`smallint` columns with a sequence default.

## Bad
```sql
CREATE TABLE orders (id serial PRIMARY KEY, total numeric NOT NULL);
```

## Good
```sql
CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, total numeric NOT NULL);
```

## In Alembic
`sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True)` instead of
`sa.Integer` (which autoincrement turns into `serial`).

## Not flagged
`bigint` / `bigserial` keys. An integer key column that is also a foreign key (a 1:1 table
keyed by its parent's id: its range is the parent's). Plain integer columns of a composite
primary key (usually foreign keys of a join table); a `serial` or identity column inside a
composite key is flagged. `ADD PRIMARY KEY (col)` on a column whose type is not visible in
the migration (unless the schema before the migration is known).

## References
https://wiki.postgresql.org/wiki/Don%27t_Do_This#Don.27t_use_serial
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlglot import exp

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule, Statement, relation_name

_T = exp.DataType.Type
_SMALL = (_T.INT, _T.SMALLINT, _T.SERIAL, _T.SMALLSERIAL, _T.TINYINT, _T.MEDIUMINT,
          _T.UINT, _T.USMALLINT, _T.UTINYINT, _T.UMEDIUMINT)
_GENERATED = (_T.SERIAL, _T.SMALLSERIAL)
_SNAPSHOT_TYPES = ("integer", "smallint")


@dataclass(frozen=True, slots=True)
class _Column:
    name: str
    dtype: str  # PostgreSQL spelling, e.g. "serial", "integer"
    identity: bool  # values come from a sequence (serial, identity, nextval default)
    references: bool  # a column-level REFERENCES constraint


def _folded(identifier: exp.Expression) -> str:
    quoted = isinstance(identifier, exp.Identifier) and identifier.args.get("quoted")
    return identifier.name if quoted else identifier.name.lower()


def _column(definition: exp.ColumnDef) -> tuple[_Column | None, bool]:
    """The column if its type is a small integer, and whether it is declared PRIMARY KEY."""
    constraints = [c.args.get("kind") for c in definition.args.get("constraints") or ()]
    is_pk = any(isinstance(k, exp.PrimaryKeyColumnConstraint) for k in constraints)
    dtype = definition.args.get("kind")
    if not (isinstance(dtype, exp.DataType) and dtype.this in _SMALL):
        return None, is_pk
    identity = dtype.this in _GENERATED or any(
        isinstance(k, exp.GeneratedAsIdentityColumnConstraint) for k in constraints)
    references = any(isinstance(k, exp.Reference) for k in constraints)
    column = _Column(_folded(definition.this), dtype.sql("postgres").lower(), identity,
                     references)
    return column, is_pk


def _pk_columns(constraint: exp.Expression) -> list[str] | None:
    """Columns of a table-level PRIMARY KEY (possibly wrapped in CONSTRAINT name)."""
    if isinstance(constraint, exp.Constraint):
        inner = [e for e in constraint.expressions if isinstance(e, exp.PrimaryKey)]
        constraint = inner[0] if inner else constraint
    if isinstance(constraint, exp.PrimaryKey):
        return [_folded(e.this if isinstance(e, exp.Ordered) else e)
                for e in constraint.expressions]
    return None


def _fk_columns(items: Sequence[exp.Expression]) -> set[str]:
    """Columns that on their own make up a table-level FOREIGN KEY."""
    single = set()
    for item in items:
        if isinstance(item, exp.Constraint):
            item = next((e for e in item.expressions if isinstance(e, exp.ForeignKey)), item)
        if isinstance(item, exp.ForeignKey) and len(item.expressions) == 1:
            single.add(_folded(item.expressions[0]))
    return single


def _flagged(key: list[str], columns: dict[str, _Column], fks: set[str]) -> list[_Column]:
    known = [columns[name] for name in key if name in columns]
    if len(key) == 1:
        return [c for c in known if not c.references and c.name not in fks]
    return [c for c in known if c.identity]


def _earlier_columns(table: str, ctx: LintContext) -> dict[str, _Column]:
    """Small-integer columns `table` got earlier in this migration or had before it."""
    columns: dict[str, _Column] = {}
    if ctx.before is not None:
        schema, _, name = table.rpartition(".")
        before = ctx.before.table(schema or "public", name)
        for col in before.columns if before is not None else ():
            if col.type in _SNAPSHOT_TYPES:
                columns[col.name] = _Column(col.name, col.type, col.identity is not None or
                                            (col.default or "").startswith("nextval("), False)
    for statement in ctx.earlier():
        for item_table, definition in _definitions(statement.node):
            if item_table == table:
                column, _ = _column(definition)
                if column is not None:
                    columns[column.name] = column
    return columns


def _definitions(node: exp.Expression | None) -> Iterator[tuple[str, exp.ColumnDef]]:
    if isinstance(node, exp.Create) and isinstance(node.this, exp.Schema) and isinstance(
            node.this.this, exp.Table):
        for item in node.this.expressions:
            if isinstance(item, exp.ColumnDef):
                yield relation_name(node.this.this), item
    elif isinstance(node, exp.Alter) and isinstance(node.this, exp.Table):
        for item in node.args.get("actions") or ():
            if isinstance(item, exp.ColumnDef):
                yield relation_name(node.this), item


def _keys(node: exp.Expression | None, ctx: LintContext) -> Iterator[tuple[str, list[_Column]]]:
    """`(table, flagged key columns)` for each primary key the statement declares."""
    if isinstance(node, exp.Create) and str(node.kind or "").upper() == "TABLE":
        if not (isinstance(node.this, exp.Schema) and isinstance(node.this.this, exp.Table)):
            return
        table, items = relation_name(node.this.this), node.this.expressions
    elif isinstance(node, exp.Alter) and str(node.args.get("kind") or "").upper() == "TABLE":
        table, items = relation_name(node.this), []
        for action in node.args.get("actions") or ():
            items.extend(action.expressions if isinstance(action, exp.AddConstraint)
                         else [action])
    else:
        return
    columns: dict[str, _Column] = {}
    keys: list[list[str]] = []
    for item in items:
        if isinstance(item, exp.ColumnDef):
            column, is_pk = _column(item)
            if column is not None:
                columns[column.name] = column
            if is_pk:
                keys.append([_folded(item.this)])
        elif (key := _pk_columns(item)) is not None:
            keys.append(key)
    fks = _fk_columns(items)
    if isinstance(node, exp.Alter) and any(k[0] not in columns for k in keys if k):
        columns = {**_earlier_columns(table, ctx), **columns}
    for key in keys:
        flagged = _flagged(key, columns, fks)
        if flagged:
            yield table, flagged


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    for table, flagged in _keys(statement.node, ctx):
        for column in flagged:
            yield ctx.finding(
                RULE,
                f"Primary key column `{table}.{column.name}` has type `{column.dtype}`, which "
                "runs out of values at "
                f"{'32,767' if 'small' in column.dtype else '2,147,483,647'}; widening it "
                "later rewrites the table under an exclusive lock.",
                help="Use bigint GENERATED ALWAYS AS IDENTITY (or bigserial).",
                subject=f"{table}.{column.name}",
            )


RULE = Rule(
    code="DBS209",
    name="int-primary-key",
    severity=Severity.WARNING,
    since="0.1.0",
    doc=__doc__,
    check=check,
)

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
composite key is flagged, unless a migration dropped or replaced its `nextval` DEFAULT
before (`ALTER COLUMN id DROP DEFAULT`: no sequence feeds it any more). `ADD PRIMARY KEY (col)` on a column whose type is not visible in
the migration (unless the schema before the migration is known). `ADD PRIMARY KEY (col)`
where the table's primary key on those columns is there already (a `DO` block adding it
only when it is missing, after the `CREATE TABLE` that made it): PostgreSQL adds no second
one (42P16), and the key was flagged where it was made.

## References
https://wiki.postgresql.org/wiki/Don%27t_Do_This#Don.27t_use_serial
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import ColumnDef, Statement

_SMALL = frozenset({"int4", "int2", "serial", "smallserial", "serial4", "serial2"})
_GENERATED = frozenset({"serial", "smallserial", "serial4", "serial2"})


@dataclass(frozen=True, slots=True)
class _Column:
    name: str
    dtype: str  # as PostgreSQL names it, e.g. "serial", "integer"
    identity: bool  # values come from a sequence (serial, identity, nextval default)
    references: bool  # a column-level REFERENCES constraint


def _small(column: ColumnDef) -> _Column | None:
    dtype = column.type
    if dtype is None or dtype.schema is not None or dtype.name not in _SMALL or dtype.array:
        return None
    identity = dtype.name in _GENERATED or column.has("identity")
    return _Column(column.name, str(dtype), identity, column.has("foreign"))


def _flagged(key: tuple[str, ...], columns: dict[str, _Column],
             fks: set[str]) -> list[_Column]:
    known = [columns[name] for name in key if name in columns]
    if len(key) == 1:
        return [c for c in known if not c.references and c.name not in fks]
    return [c for c in known if c.identity]


def _keys(statement: Statement, ctx: LintContext) -> Iterator[tuple[str, list[_Column]]]:
    """`(table, flagged key columns)` for each primary key the statement declares."""
    if statement.kind not in ("CreateStmt", "AlterTableStmt") or not statement.relation:
        return
    table = statement.relation
    columns: dict[str, _Column] = {}
    keys: list[tuple[str, ...]] = []
    for column in statement.columns:
        small = _small(column)
        if small is not None:
            columns[small.name] = small
        if column.has("primary"):
            keys.append((column.name,))
    keys += [c.columns for c in statement.constraints
             if c.kind == "primary" and c.columns and c.using_index is None]
    fks = {c.columns[0] for c in statement.constraints
           if c.kind == "foreign" and len(c.columns) == 1}
    if statement.kind == "AlterTableStmt":
        # The table's primary key on these very columns is there already: the DBS209 was
        # given where it was made (or it predates the migrations), and this ADD adds none
        # (PostgreSQL refuses a second one, 42P16; a DO block checking for it first skips
        # it: Kestra's `ALTER TABLE queues ADD PRIMARY KEY("offset")`).
        made = {columns for kind, columns in ctx.unique_keys(table).values()
                if kind == "primary"}
        keys = [key for key in keys if key not in made]
        for key in keys:
            for name in key:
                if name in columns:
                    continue
                known = ctx.column(table, name)
                if known is not None and known.type is not None:
                    small = _small(ColumnDef(table, name, known.type))
                    if small is not None:
                        # Its facts say whether a sequence still feeds it: a serial
                        # whose DEFAULT a migration dropped is a plain integer.
                        columns[name] = _Column(name, small.dtype, known.identity, False)
    for key in keys:
        flagged = _flagged(key, columns, fks)
        if flagged:
            yield table, flagged


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    for table, flagged in _keys(statement, ctx):
        for column in flagged:
            yield ctx.finding(
                RULE,
                f"Primary key column `{table}.{column.name}` has type `{column.dtype}`, which "
                "runs out of values at "
                f"{'32,767' if column.dtype in ('smallint', 'smallserial') else '2,147,483,647'}"
                "; widening it later rewrites the table under an exclusive lock.",
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
    kinds=frozenset({"CreateStmt", "AlterTableStmt"}),
)

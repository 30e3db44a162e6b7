"""`NOT NULL` column added to an existing table without a default.

## Why
`ALTER TABLE ... ADD COLUMN c type NOT NULL` with no DEFAULT gives every existing row a NULL
in a column that forbids it: PostgreSQL refuses ("column contains null values") as soon as
the table has a row. It only works on an empty table, which a linter cannot know — and a
migration that passes on an empty development database then fails in production.
`PRIMARY KEY` implies NOT NULL and fails the same way.

## Bad
```sql
ALTER TABLE orders ADD COLUMN currency text NOT NULL;
```

## Good
```sql
ALTER TABLE orders ADD COLUMN currency text NOT NULL DEFAULT 'EUR';
```

## In Alembic
```python
op.add_column("orders", sa.Column("currency", sa.Text(), nullable=False,
                                  server_default="EUR"))
```
Or add it nullable, backfill in batches, then make it NOT NULL (see DBS107).

## Not flagged
Columns with a non-null DEFAULT (a constant default costs no rewrite since PostgreSQL 11),
identity, generated and `serial` columns (they have a value for every row), and tables
created earlier in the same migration, and columns of a domain that has a DEFAULT (it fills
the rows). `NOT NULL DEFAULT NULL` is flagged. A domain type declared NOT NULL is not seen.

A table the same transaction emptied first is not flagged when nothing could write rows
into it since: `TRUNCATE` (its ACCESS EXCLUSIVE lock keeps other sessions' writes out until
COMMIT), or `DELETE` without `WHERE` after `LOCK TABLE` in SHARE mode or stronger (or
another statement whose lock keeps writes out: an ALTER TABLE, a CREATE INDEX), with no
`INSERT`, `MERGE`, `COPY`, `CALL` or `DO` (or statement lint could not read) in between. A
plain `DELETE` empties it too, but its lock lets other sessions insert until the ALTER
(PostgreSQL then refuses it, 23502): that is still flagged, and the message says so.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement, is_null
from dbsafe.lint.transactions import emptied_first

_SERIAL_TYPES = frozenset({"serial", "bigserial", "smallserial"})


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if statement.kind != "AlterTableStmt" or not statement.columns:
        return
    table = statement.relation or ""
    if ctx.created_before(table):
        return
    emptied: tuple[Statement, bool] | None = None
    for column in statement.columns:
        if not column.not_null or column.has("generated") or column.has("identity"):
            continue
        if column.type is not None and column.type.name in _SERIAL_TYPES:
            continue
        default = column.default
        if default is not None and not is_null(default):
            continue
        if default is None and ctx.domain_with_default(column.type):
            continue  # the domain's default fills the rows
        if emptied is None:
            emptied = emptied_first(statement, ctx, table)
        if emptied is not None and emptied[1]:
            continue  # no row can be there: the ALTER cannot fail
        if emptied is not None:
            line = emptied[0].location.line
            yield ctx.finding(
                RULE,
                f"Column `{table}.{column.name}` is added NOT NULL without a default; the "
                f"DELETE on line {line} empties `{table}` first, but its lock lets other "
                "sessions write rows until this ALTER, and any row written in between makes "
                "it fail.",
                help=f"Empty `{table}` with TRUNCATE instead, or take `LOCK TABLE {table} IN "
                     "EXCLUSIVE MODE` before the DELETE: either keeps writes out until "
                     "COMMIT. Or give the column a DEFAULT.",
                subject=f"{table}.{column.name}",
            )
            continue
        yield ctx.finding(
            RULE,
            f"Column `{table}.{column.name}` is added NOT NULL without a default; the ALTER "
            f"fails if `{table}` has any rows.",
            help="Give it a DEFAULT, or add it nullable, backfill, then SET NOT NULL.",
            subject=f"{table}.{column.name}",
        )


RULE = Rule(
    code="DBS108",
    name="not-null-column-without-default",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"AlterTableStmt"}),
    weighed_by="use",
)

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
created earlier in the same migration. `NOT NULL DEFAULT NULL` is flagged. A domain type
declared NOT NULL is not seen.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.actions import (
    SERIAL_TYPES,
    column_default,
    columns_added,
    contains,
    is_null_default,
    top_level,
)
from dbsafe.lint.engine import LintContext, Rule, Statement


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    added = columns_added(statement)
    if added is None or ctx.created_before(added[0]):
        return
    table, columns = added
    for name, rest in columns:
        outer = top_level(rest)
        required = contains(outer, "NOT", "NULL") or "PRIMARY KEY" in outer
        if not required or "GENERATED" in outer or (rest[:1] and rest[0] in SERIAL_TYPES):
            continue
        default = column_default(rest)
        if default is not None and not is_null_default(default):
            continue
        yield ctx.finding(
            RULE,
            f"Column `{table}.{name}` is added NOT NULL without a default; the ALTER fails "
            f"if `{table}` has any rows.",
            help="Give it a DEFAULT, or add it nullable, backfill, then SET NOT NULL.",
            subject=f"{table}.{name}",
        )


RULE = Rule(
    code="DBS108",
    name="not-null-column-without-default",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
)

"""Stored generated column's expression changed in place, rewriting the table.

## Why
`ALTER TABLE ... ALTER COLUMN ... SET EXPRESSION AS (...)` (PostgreSQL 17 and later)
recomputes a `STORED` generated column for every row: PostgreSQL rewrites the table and
rebuilds its indexes while holding ACCESS EXCLUSIVE, so no reads and no writes until it is
done (verified on PostgreSQL 18 with `pg_relation_filenode`). A `VIRTUAL` column
(PostgreSQL 18) is computed when read, and changing its expression touches only the catalog.

## Bad
```sql
ALTER TABLE orders ALTER COLUMN total_cents SET EXPRESSION AS (total * 100 + tip);
```

## Good
```sql
ALTER TABLE orders ADD COLUMN total_cents_v2 bigint;
-- fill it in batches and keep it current with a trigger, move reads, drop total_cents
```

## In Alembic
```python
op.add_column("orders", sa.Column("total_cents_v2", sa.BigInteger()))
```
On PostgreSQL 18, a `VIRTUAL` generated column changes its expression without a rewrite.

## Not flagged
* A `VIRTUAL` generated column, when dbsafe knows the column is one (from the statement
  that made it, or the database's schema).
* `DROP EXPRESSION` (the values stay as they are; verified not to rewrite).
* Tables created earlier in the same migration.

When dbsafe cannot tell whether the column is STORED or VIRTUAL (PostgreSQL 18 has both,
and no earlier statement or database says which), the finding is a warning.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if statement.kind != "AlterTableStmt" or not statement.relation:
        return
    table = statement.relation
    if ctx.created_before(table):
        return
    for action in statement.actions:
        if action.subtype != "SetExpression" or not action.name:
            continue
        column = action.name
        known = ctx.column(table, column)
        generated = known.generated if known is not None else None
        if generated == "virtual" or (known is not None and known.type is not None
                                      and generated is None):
            continue  # virtual, or known not to be generated (PostgreSQL refuses it)
        stored = generated == "stored" or ctx.target_version < 180000
        yield ctx.finding(
            RULE,
            f"Changing the expression of generated column `{table}.{column}` "
            f"{'rewrites' if stored else 'rewrites, if it is STORED,'} `{table}` under an "
            f"ACCESS EXCLUSIVE lock; reads and writes on `{table}` wait until every row is "
            "recomputed.",
            help="Add a new column, fill it in batches and switch over; or, on PostgreSQL 18, "
                 "use a VIRTUAL generated column.",
            subject=f"{table}.{column}",
            severity=Severity.ERROR if stored else Severity.WARNING)


RULE = Rule(
    code="DBS123",
    name="generated-expression-change-rewrites-table",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"AlterTableStmt"}),
    claim="rewrite",
    weighed_by="size",
)

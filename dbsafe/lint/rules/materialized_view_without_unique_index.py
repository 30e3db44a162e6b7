"""Materialized view created without the unique index `REFRESH ... CONCURRENTLY` needs.

## Why
`REFRESH MATERIALIZED VIEW` without `CONCURRENTLY` holds an ACCESS EXCLUSIVE lock: every
read of the view waits until the query is recomputed. `CONCURRENTLY` keeps the view
readable, but PostgreSQL refuses it unless the view has at least one unique index on plain
columns only — no expressions, no `WHERE`. A view created without one can never be
refreshed without blocking its readers.

## Bad
```sql
CREATE MATERIALIZED VIEW order_totals AS
    SELECT customer_id, sum(total) AS total FROM orders GROUP BY customer_id;
```

## Good
```sql
CREATE MATERIALIZED VIEW order_totals AS
    SELECT customer_id, sum(total) AS total FROM orders GROUP BY customer_id;
CREATE UNIQUE INDEX order_totals_customer ON order_totals (customer_id);
```

## In Alembic
```python
op.execute("CREATE MATERIALIZED VIEW order_totals AS ...")
op.create_index("order_totals_customer", "order_totals", ["customer_id"], unique=True)
```

## Not flagged
A unique index created anywhere later in the same migration. Unique indexes with an
expression key or a `WHERE` clause do not count, since `CONCURRENTLY` cannot use them.
Non-null key columns are advisable too (rows with a NULL key are rewritten on every
refresh), but that is not checked.

## References
https://www.postgresql.org/docs/current/sql-refreshmaterializedview.html
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement, same_relation


def _usable_unique_index(statement: Statement, view: str) -> bool:
    index = statement.index_def
    return (index is not None and index.unique and index.plain and not index.partial
            and same_relation(index.table, view))


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if statement.kind != "CreateTableAsStmt" or statement.object_kind != "materialized view":
        return
    view = statement.relation
    if view is None or any(_usable_unique_index(later, view) for later in ctx.later(statement)):
        return
    yield ctx.finding(
        RULE,
        f"Materialized view `{view}` has no unique index on plain columns, so it can only be "
        f"refreshed without CONCURRENTLY, which blocks every read of `{view}`.",
        help="Create a unique index on plain columns of the view in the same migration.",
        subject=view,
    )


RULE = Rule(
    code="DBS118",
    name="materialized-view-without-unique-index",
    severity=Severity.WARNING,
    since="0.1.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"CreateTableAsStmt"}),
)

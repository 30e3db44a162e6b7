"""Materialized view refreshed without `CONCURRENTLY`, blocking every read of it.

## Why
`REFRESH MATERIALIZED VIEW` takes an ACCESS EXCLUSIVE lock on the view and holds it while
the view's query runs again: every `SELECT` from the view waits until it finishes.
`REFRESH MATERIALIZED VIEW CONCURRENTLY` takes an EXCLUSIVE lock instead, so reads
continue; it needs a unique index on plain columns of the view (see DBS118) and a view that
is already populated.

## Bad
```sql
REFRESH MATERIALIZED VIEW order_totals;
```

## Good
```sql
REFRESH MATERIALIZED VIEW CONCURRENTLY order_totals;
```

## In Alembic
```python
with op.get_context().autocommit_block():
    op.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY order_totals")
```
A concurrent refresh of a large view takes a while; running it outside the migration's
transaction keeps other locks from being held meanwhile.

## Not flagged
* `REFRESH ... WITH NO DATA` (empties the view; nothing is computed).
* A materialized view created earlier in the same migration: its first population cannot
  be concurrent, and nobody reads it yet.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if statement.kind != "RefreshMatViewStmt":
        return
    if statement.node.get("concurrent") or statement.node.get("skipData"):
        return
    view = statement.relation
    if view is None or ctx.created_before(view):
        return
    yield ctx.finding(
        RULE,
        f"Refreshing `{view}` without CONCURRENTLY takes an ACCESS EXCLUSIVE lock; every "
        f"read of `{view}` waits until the query is recomputed.",
        help="Use REFRESH MATERIALIZED VIEW CONCURRENTLY (it needs a unique index on the "
             "view), outside a transaction.",
        subject=view,
    )


RULE = Rule(
    code="DBS116",
    name="non-concurrent-materialized-view-refresh",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    claim="lock",
    kinds=frozenset({"RefreshMatViewStmt"}),
    weighed_by="size",
)

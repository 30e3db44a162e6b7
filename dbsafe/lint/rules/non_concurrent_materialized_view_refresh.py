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
from dbsafe.lint.engine import LintContext, Rule, Statement
from dbsafe.lint.locks import has_seq, lock_for, words_of
from dbsafe.lint.rules.materialized_view_without_unique_index import (
    created_materialized_view,
    same_relation,
)


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    words = words_of(statement)
    if words[:3] != ("REFRESH", "MATERIALIZED", "VIEW") or "CONCURRENTLY" in words:
        return
    if has_seq(words, "WITH", "NO", "DATA"):
        return
    lock = lock_for(statement)
    view = lock.relation if lock is not None else None
    if view is None:
        return
    if ctx.created_before(view) or any(
            (name := created_materialized_view(s)) is not None and same_relation(name, view)
            for s in ctx.earlier(statement)):
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
)

"""REINDEX without `CONCURRENTLY`.

## Why
A plain `REINDEX` locks the table against writes (SHARE) for the whole rebuild and takes
ACCESS EXCLUSIVE on the index itself, so queries that would use it wait too. `REINDEX
SCHEMA` / `DATABASE` do that table after table. `REINDEX ... CONCURRENTLY`
(PostgreSQL 12+) builds a fresh copy beside the old one and swaps them, blocking neither
reads nor writes.

## Bad
```sql
REINDEX INDEX ix_orders_customer;
```

## Good
```sql
REINDEX INDEX CONCURRENTLY ix_orders_customer;
```

## In Alembic
```python
with op.get_context().autocommit_block():
    op.execute("REINDEX INDEX CONCURRENTLY ix_orders_customer")
```
`CONCURRENTLY` cannot run inside a transaction block, hence the `autocommit_block()`.
A failed concurrent reindex leaves an invalid `*_ccnew` index behind: drop it and retry.

`REINDEX TABLE` of a partitioned table rebuilds its partitions' indexes one partition at a
time, each in a transaction of its own (the ones done are released before the next), and
PostgreSQL refuses it inside a transaction block (pg_locks, PostgreSQL 18): the finding says so.

## Not flagged
`REINDEX (CONCURRENTLY) ...` in the option list; tables and indexes created earlier in the
same migration. `REINDEX SYSTEM` is flagged, but it cannot run concurrently at all: the help
says so.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement, reindex_target


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if statement.kind != "ReindexStmt":
        return
    kind, name, concurrently = reindex_target(statement)
    if concurrently:
        return
    if kind in ("index", "table") and name and ctx.created_before(name):
        return
    what = f"{kind} `{name}`" if name else kind
    if kind == "system":
        help = ("REINDEX SYSTEM cannot run concurrently; run it in a maintenance window, "
                "not in a migration.")
    elif ctx.target_version < 120000:
        help = ("Upgrade to PostgreSQL 12+ for REINDEX CONCURRENTLY, or build a replacement "
                "with CREATE INDEX CONCURRENTLY and drop the old index concurrently.")
    else:
        help = "Use REINDEX ... CONCURRENTLY, outside a transaction."
    if kind == "index":
        blocked = "writes to its table, and queries that use it, wait until it finishes"
    elif kind == "table" and ctx.partitioned(name or ""):
        # (pg_locks, PostgreSQL 18: the partitions done are released before the next)
        blocked = (f"PostgreSQL rebuilds the indexes of the partitions of `{name}` one at a "
                   "time, each in a transaction of its own, and writes to each wait while its "
                   "indexes are rebuilt")
    elif kind == "table":
        blocked = f"writes to `{name}` wait until it finishes"
    else:
        blocked = "writes to each table wait while its indexes are rebuilt"
    yield ctx.finding(
        RULE,
        f"REINDEX of {what} runs without CONCURRENTLY; {blocked}.",
        help=help,
        subject=name or None,
        table=ctx.index_table(name) if kind == "index" and name else None,
    )


RULE = Rule(
    code="DBS104",
    name="non-concurrent-reindex",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    claim="lock",
    kinds=frozenset({"ReindexStmt"}),
    weighed_by="size",
)

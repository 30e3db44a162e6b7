"""`CREATE INDEX CONCURRENTLY` on a partitioned table: PostgreSQL refuses it.

## Why
PostgreSQL cannot build an index concurrently on a partitioned table: the statement fails
with "cannot create index on partitioned table ... concurrently", and the deploy stops
there. A plain `CREATE INDEX` on it blocks writes to every partition while each is built.
The way that blocks nobody is to create the parent's index `ON ONLY` the parent (invalid and
empty), build each partition's index concurrently, and attach each one: the parent's index
becomes valid when the last partition's is attached.

## Bad
```sql
CREATE TABLE events (id bigint, at timestamptz) PARTITION BY RANGE (at);
CREATE INDEX CONCURRENTLY ix_events_at ON events (at);
```

## Good
```sql
CREATE TABLE events (id bigint, at timestamptz) PARTITION BY RANGE (at);
CREATE TABLE events_2026 PARTITION OF events
    FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE INDEX ix_events_at ON ONLY events (at);
CREATE INDEX CONCURRENTLY ix_events_2026_at ON events_2026 (at);
ALTER INDEX ix_events_at ATTACH PARTITION ix_events_2026_at;
```

## In Alembic
`op.execute("CREATE INDEX ix_events_at ON ONLY events (at)")`, then
`op.create_index(..., postgresql_concurrently=True)` on each partition inside
`op.get_context().autocommit_block()`, then `op.execute("ALTER INDEX ... ATTACH PARTITION ...")`.

## Not flagged
`CREATE INDEX CONCURRENTLY` on a partition, or on a table not known to be partitioned
(created `PARTITION BY` in an earlier statement or migration, or so in the database).
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    index = statement.index_def
    if index is None or not index.concurrent or not ctx.partitioned(index.table):
        return
    yield ctx.finding(
        RULE,
        f"`{index.table}` is partitioned: PostgreSQL refuses CREATE INDEX CONCURRENTLY on it, "
        "and the migration fails.",
        help="Create the index ON ONLY the parent, build each partition's index "
             "concurrently, then ALTER INDEX ... ATTACH PARTITION each one.",
        subject=index.table,
    )


RULE = Rule(
    code="DBS121",
    name="concurrent-index-on-partitioned-table",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"IndexStmt"}),
)

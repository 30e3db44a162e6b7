"""Index built without `CONCURRENTLY`.

## Why
A plain `CREATE INDEX` holds a SHARE lock on the table for the whole build: reads continue,
but every INSERT, UPDATE and DELETE waits until it finishes — minutes to hours on a large
table.

## Bad
```sql
CREATE INDEX ix_orders_customer ON orders (customer_id);
```

## Good
```sql
CREATE INDEX CONCURRENTLY ix_orders_customer ON orders (customer_id);
```

## In Alembic
```python
with op.get_context().autocommit_block():
    op.create_index("ix_orders_customer", "orders", ["customer_id"],
                    postgresql_concurrently=True)
```
`CONCURRENTLY` cannot run inside a transaction, hence the `autocommit_block()`.

## Not flagged
Indexes on tables created earlier in the same migration (also by `CREATE TABLE AS` or
`SELECT ... INTO`): nobody else can see them yet; and on a table a `TRUNCATE` earlier in the
same transaction emptied (no row added since: the build reads the new, empty file, under the
ACCESS EXCLUSIVE lock TRUNCATE already holds). `CREATE INDEX ... ON ONLY` a partitioned
table: PostgreSQL records an invalid index on the parent and builds nothing, the first step
of indexing a partitioned table without blocking writes (then `CREATE INDEX CONCURRENTLY` on
each partition and `ALTER INDEX ... ATTACH PARTITION`). On a plain table `ON ONLY` builds
the index, and is flagged. A plain `CREATE INDEX` on a partitioned table (created `PARTITION
BY` earlier in the history, or so in the database) is flagged with that per-partition way as
its help, since PostgreSQL refuses `CONCURRENTLY` there (DBS121). The finding names the
partitions the migrations made or the database has: the index is built on each of them, at
any depth, and each is locked SHARE with the table until the transaction ends (pg_locks,
PostgreSQL 18); `lint --locks` gives each a row of its own.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement
from dbsafe.lint.transactions import truncated_first


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    index = statement.index_def
    if index is None or index.concurrent or not index.table:
        return
    table = index.table
    if ctx.created_before(table) or truncated_first(statement, ctx, table):
        return
    if index.only and ctx.partitioned(table):
        return  # an empty, invalid index on the parent alone: nothing is built
    if ctx.partitioned(table):
        # PostgreSQL refuses CONCURRENTLY here (DBS121): the way round is per partition.
        help = ("PostgreSQL cannot build an index on a partitioned table concurrently: "
                "create it ON ONLY the parent, build each partition's index concurrently, "
                "then ALTER INDEX ... ATTACH PARTITION each one.")
    else:
        help = ("Use CREATE INDEX CONCURRENTLY, outside a transaction (alembic: "
                "postgresql_concurrently=True in an autocommit_block()).")
    built = ""
    if ctx.partitioned(table):
        # It has no rows: the index is built on each partition, each locked SHARE with it
        # until the transaction ends (pg_locks, PostgreSQL 18).
        listed = ", ".join(f"`{name}`" for name, _how in statement.descendants)
        built = (f" on each partition of `{table}` ({listed}{'; ' if listed else ''}a "
                 "partitioned table has no rows of its own), each locked SHARE until the "
                 "transaction ends")
    yield ctx.finding(
        RULE,
        f"Index on `{table}` is built without CONCURRENTLY{built}; writes to `{table}` wait "
        "until it finishes.",
        help=help,
        subject=table,
    )


RULE = Rule(
    code="DBS101",
    name="non-concurrent-index-creation",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    claim="lock",
    kinds=frozenset({"IndexStmt"}),
    weighed_by="size",
)

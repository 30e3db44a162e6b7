"""Non-unique B-tree or GiST index on more key columns than `index-column-limit` (default 3).

## Why
A B-tree (or GiST) index narrows a search by its leading columns: equality on the first
ones plus a range on the next is what limits the part of the index scanned, and a
condition on a later column only filters the entries that part holds. Past three or so
columns the extra keys rarely narrow anything, yet every one makes the index larger, and
every insert and every update of one of its columns (no longer a heap-only, HOT, update)
pays for it. PostgreSQL's docs: "Indexes with more than three columns are unlikely to be
helpful unless the usage of the table is extremely stylized" (Multicolumn Indexes);
strong_migrations' best practice: "Adding a non-unique index with more than three columns
rarely improves performance. Instead, start an index with columns that narrow down the
results the most." It is advice, not a lock or a break: a note, which does not fail a run
(`fail-on` is `warning` by default). An expression counts as a column (it is a key, as
`pg_index.indnkeyatts` counts it). The limit is `index-column-limit` in `[tool.dbsafe]`
(`0`: no limit).

## Bad
```sql
CREATE INDEX CONCURRENTLY ix_orders_search ON orders (customer_id, status, region, created_at);
```

## Good
```sql
CREATE INDEX CONCURRENTLY ix_orders_customer_status ON orders (customer_id, status);
```

Or keep the columns an index-only scan reads out of the keys:
`CREATE INDEX CONCURRENTLY ix_orders_customer_status ON orders (customer_id, status) INCLUDE
(region, created_at)`.

## In Alembic
`op.create_index("ix_orders_customer_status", "orders", ["customer_id", "status"],
postgresql_concurrently=True)` (with `postgresql_include=[...]` for the columns only read),
and the same for an `sa.Index` in `op.create_table`: dbsafe reads the `CREATE INDEX`
alembic renders.

## Not flagged
* Unique indexes (`CREATE UNIQUE INDEX`, `unique=True`), and the indexes of PRIMARY KEY,
  UNIQUE and EXCLUDE constraints: their columns say what must be unique (or must not
  overlap), not how a search narrows.
* `INCLUDE` columns: stored for index-only scans, not keys (`indnkeyatts` leaves them out).
* GIN and BRIN indexes (and other access methods, such as `bloom`): PostgreSQL's docs say a
  multicolumn GIN or BRIN index serves conditions on any subset of its columns equally well,
  whichever they are, so there is no leading column to narrow by (strong_migrations does not
  look at the access method). Hash and SP-GiST take a single column.

Partial indexes, and indexes on tables created earlier in the same migration, are flagged
like any other: the advice is about the index, not about its build.
An index whose later keys are there for a query's `ORDER BY` (keyset pagination:
`(account_id, workspace_id, queued_at DESC, run_id)`) is the "stylized" use the docs allow:
say so where it is built (`-- dbsafe: ignore[DBS139]`).
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement

# Access methods whose search narrows by the leading key columns (PostgreSQL's docs,
# "Multicolumn Indexes"); GIN and BRIN serve any subset of their columns alike.
_LEADING_COLUMNS_NARROW = frozenset({"btree", "gist"})


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    index = statement.index_def
    limit = ctx.index_column_limit
    if index is None or index.unique or not limit:
        return
    node = statement.node
    if (node.get("accessMethod") or "btree") not in _LEADING_COLUMNS_NARROW:
        return
    keys = len(node.get("indexParams") or ())  # an expression is a key too
    if keys <= limit:
        return
    name = f"`{index.name}`" if index.name else "An index"
    yield ctx.finding(
        RULE,
        f"{name} on {index.table} is a non-unique index with {keys} key columns, more than "
        f"`index-column-limit` ({limit}): keys past the first few rarely narrow a search, "
        f"while every write to {index.table} pays for them.",
        help="Start the index with the columns that narrow the results the most and drop "
             "the rest (or move the columns only read into INCLUDE), or raise "
             "`index-column-limit` if the queries do need them.",
        subject=index.name or index.table,
    )


RULE = Rule(
    code="DBS139",
    name="non-unique-index-with-many-columns",
    severity=Severity.NOTE,
    since="0.2.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"IndexStmt"}),
)

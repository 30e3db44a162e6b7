"""`CREATE INDEX CONCURRENTLY IF NOT EXISTS`: after a failed build, the retry keeps the invalid index.

## Why
A concurrent build that fails (a duplicate key for a unique index, a deadlock, a
`lock_timeout` or `statement_timeout`, a cancelled deploy) leaves the index behind, marked
INVALID: queries never use it, yet every write still maintains it, and a unique one still
rejects rows. Run the migration again and `IF NOT EXISTS` sees the name and skips the
build with a NOTICE nobody reads: the migration "succeeds" with the index still invalid
(verified on PostgreSQL 18: `pg_index.indisvalid` stays false).

## Bad
```sql
CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_orders_customer ON orders (customer_id);
```

## Good
```sql
DROP INDEX CONCURRENTLY IF EXISTS ix_orders_customer;
CREATE INDEX CONCURRENTLY ix_orders_customer ON orders (customer_id);
```

A runner that sends the whole file to PostgreSQL as one query (golang-migrate's
`1_x.up.sql`, sqlx's `-- no-transaction` files, diesel's `up.sql` without its transaction)
runs these two statements as one implicit transaction, and `DROP INDEX CONCURRENTLY` there
fails ("cannot run inside a transaction block"): put the DROP in a migration file of its own
just before this one.

## In Alembic
In the `autocommit_block()`, `op.drop_index("ix_orders_customer", if_exists=True,
postgresql_concurrently=True)` before `op.create_index(..., postgresql_concurrently=True)`
without `if_not_exists=True`. `dbsafe upgrade` reports invalid indexes after every run.

## Not flagged
* An index dropped (`DROP INDEX ... IF EXISTS` of the same name) earlier in the migration.
* Tables created earlier in the same migration.
* `CREATE INDEX IF NOT EXISTS` without `CONCURRENTLY`: a failed plain build leaves nothing
  behind (DBS101 flags the build itself).
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.extract.migration import sent_as_one_query
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement, last


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    index = statement.index_def
    if index is None or not index.concurrent or not index.name:
        return
    if not statement.node.get("if_not_exists") or ctx.created_before(index.table):
        return
    name = last(index.name)
    if any(earlier.kind == "DropStmt" and name in {last(d) for d in earlier.dropped}
           for earlier in ctx.earlier(statement)):
        return
    drop = f"DROP INDEX CONCURRENTLY IF EXISTS {index.name}"
    if ctx.migration.kind == "sql" and ctx.migration.file is not None \
            and sent_as_one_query(ctx.migration.file):
        # Written into this file, the DROP would share the CREATE's implicit transaction.
        help = (f"Drop it first in a migration of its own just before this one ({drop}): "
                "the runner sends this file as one query, where a second statement makes "
                "both one transaction, which CONCURRENTLY refuses; create it without IF NOT "
                "EXISTS.")
    else:
        help = f"Drop it first ({drop}) and create it without IF NOT EXISTS."
    yield ctx.finding(
        RULE,
        f"If an earlier run's concurrent build of `{index.name}` failed, it left the index "
        "INVALID, and IF NOT EXISTS now skips it: the migration succeeds with an index "
        "queries never use.",
        help=help,
        subject=index.name,
    )


RULE = Rule(
    code="DBS131",
    name="concurrent-index-if-not-exists",
    severity=Severity.WARNING,
    since="0.1.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"IndexStmt"}),
)

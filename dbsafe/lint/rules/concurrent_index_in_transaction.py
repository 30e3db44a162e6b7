"""`CONCURRENTLY` operation inside a transaction block.

## Why
`CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`, `REINDEX ... CONCURRENTLY` and
`ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY` commit several transactions of their
own, so PostgreSQL refuses them inside a transaction block: "cannot run inside a
transaction block". The migration fails when it is deployed. Alembic runs each revision in
a transaction by default, so a plain `op.create_index(..., postgresql_concurrently=True)`
fails this way.

## Bad
```sql
-- in transaction
CREATE INDEX CONCURRENTLY ix_orders_customer ON orders (customer_id);
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
`autocommit_block()` commits the revision's transaction, runs the block in autocommit mode
and opens a new transaction afterwards.

Where the runner runs every migration in a transaction with no way out (refinery: its
`embed_migrations!` folder), the help says to run the statement outside it, since a
migration of its own would fail the same way.

## Not flagged
The same statements outside a transaction block (after `COMMIT`, in an `autocommit_block()`,
or in a SQL file the runner does not wrap). `REFRESH MATERIALIZED VIEW CONCURRENTLY` can run
in a transaction and is not flagged.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.extract.migration import ALWAYS_WRAPPED
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement, concurrent_operation


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if not statement.in_transaction:
        return
    operation = concurrent_operation(statement)
    if operation is None:
        return
    runner = ALWAYS_WRAPPED.get(ctx.migration.runner or "")
    if ctx.migration.kind == "alembic":
        help = ("Run it inside `with op.get_context().autocommit_block():` so it executes "
                "outside the revision's transaction.")
    elif runner is not None:
        # No migration of this runner runs outside a transaction: a file of its own would
        # fail the same way.
        help = (f"{runner[0].upper()}{runner[1:]} runs every migration in a transaction, "
                "with no way out: run the statement outside it (psql, by hand or as a step "
                "of the deploy), or without CONCURRENTLY where the lock it then takes is "
                "acceptable.")
    else:
        help = "Run it outside BEGIN ... COMMIT, in a migration the runner does not wrap " \
               "in a transaction."
    yield ctx.finding(
        RULE,
        f"{operation} runs inside a transaction block; PostgreSQL refuses it and the "
        "migration fails.",
        help=help,
    )


RULE = Rule(
    code="DBS102",
    name="concurrent-index-in-transaction",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"IndexStmt", "DropStmt", "ReindexStmt", "AlterTableStmt"}),
)

"""Index dropped without `CONCURRENTLY`.

## Why
A plain `DROP INDEX` takes an ACCESS EXCLUSIVE lock on the index's table: every query on
the table, reads included, waits for it — and the DROP itself waits behind any running
query on the table, with everything else queued behind it. `DROP INDEX CONCURRENTLY`
waits for those queries without blocking new ones.

## Bad
```sql
DROP INDEX ix_orders_customer;
```

## Good
```sql
DROP INDEX CONCURRENTLY IF EXISTS ix_orders_customer;
```

## In Alembic
```python
with op.get_context().autocommit_block():
    op.drop_index("ix_orders_customer", table_name="orders",
                  postgresql_concurrently=True, if_exists=True)
```
`CONCURRENTLY` cannot run inside a transaction block, hence the `autocommit_block()`.

## Not flagged
Indexes created earlier in the same migration, and — when the schema before the migration
is known — indexes that did not exist before it (e.g. created by a table defined in this
migration). `DROP INDEX IF EXISTS` of an index the migrations already removed -- dropped
before, or the index of a primary key or unique constraint dropped before (it goes with its
constraint), or renamed to a constraint's name by `ADD CONSTRAINT ... USING INDEX` -- drops
nothing: PostgreSQL skips it with a notice and locks no table. An index of a table the
same transaction drops for good (Meltano's `DROP INDEX ix_user_username` before `DROP TABLE
"user"`): whoever waits for the table gets 42P01 at COMMIT anyway, which DBS201 says, and the
`DROP TABLE` takes the same lock. Indexes of partitioned tables cannot be dropped
concurrently; they are still flagged, with help saying so.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement
from dbsafe.lint.transactions import dropped_at_commit


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if statement.kind != "DropStmt" or statement.object_kind != "index":
        return
    if statement.node.get("concurrent"):
        return
    for name in statement.dropped:
        if ctx.created_before(name):
            continue
        table = ctx.index_table(name)
        if ctx.before is not None and table is None:
            continue  # no such index before this migration: it is new here
        if table is not None and (ctx.created_before(table)
                                  or dropped_at_commit(ctx, statement, table)):
            continue
        where = f"`{table}`" if table is not None else "its table"
        if table is not None and ctx.partitioned(table):
            help = ("Indexes of partitioned tables cannot be dropped concurrently; drop it "
                    "at a quiet time with a short lock_timeout.")
        else:
            help = ("Use DROP INDEX CONCURRENTLY, outside a transaction (alembic: "
                    "postgresql_concurrently=True in an autocommit_block()).")
        yield ctx.finding(
            RULE,
            f"Index `{name}` is dropped without CONCURRENTLY; reads and writes on {where} "
            "wait until it finishes.",
            help=help,
            subject=name,
            table=table,
        )


RULE = Rule(
    code="DBS103",
    name="non-concurrent-index-drop",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    claim="lock",
    kinds=frozenset({"DropStmt"}),
    weighed_by="size",
)

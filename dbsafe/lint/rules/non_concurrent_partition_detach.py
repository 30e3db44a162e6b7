"""Partition detached without `CONCURRENTLY`.

## Why
`ALTER TABLE ... DETACH PARTITION` takes an ACCESS EXCLUSIVE lock on the parent table
(and the partition): every query on the partitioned table, reads included, waits until it
is done — and queues behind any long-running query already holding a lock there.
`DETACH PARTITION ... CONCURRENTLY` (PostgreSQL 14+) takes only SHARE UPDATE EXCLUSIVE on
the parent and works in two transactions.

## Bad
```sql
ALTER TABLE measurements DETACH PARTITION measurements_2023;
```

## Good
```sql
ALTER TABLE measurements DETACH PARTITION measurements_2023 CONCURRENTLY;
```

## In Alembic
```python
with op.get_context().autocommit_block():
    op.execute("ALTER TABLE measurements DETACH PARTITION measurements_2023 CONCURRENTLY")
```
`CONCURRENTLY` cannot run inside a transaction block, and is refused when the parent has
a default partition. If it is interrupted, finish it with `... DETACH PARTITION ... FINALIZE`.

## Not flagged
`DETACH PARTITION ... FINALIZE` (completes an interrupted concurrent detach), and parents
created earlier in the same migration.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    parent = statement.relation
    for action in statement.actions:
        if action.subtype != "DetachPartition" or action.concurrent or parent is None:
            continue
        if ctx.created_before(parent):
            continue
        if ctx.target_version < 140000:
            help = ("DETACH ... CONCURRENTLY needs PostgreSQL 14+; until then detach at a "
                    "quiet time with a short lock_timeout.")
        else:
            help = "Use DETACH PARTITION ... CONCURRENTLY, outside a transaction."
        yield ctx.finding(
            RULE,
            f"Partition `{action.partition}` is detached without CONCURRENTLY; reads and "
            f"writes on `{parent}` wait until it finishes.",
            help=help,
            subject=parent,
        )


RULE = Rule(
    code="DBS105",
    name="non-concurrent-partition-detach",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    claim="lock",
    kinds=frozenset({"AlterTableStmt"}),
    weighed_by="size",
)

"""Existing table attached as a partition without a CHECK constraint that proves its rows fit: it is scanned under an ACCESS EXCLUSIVE lock.

## Why
`ALTER TABLE parent ATTACH PARTITION t FOR VALUES ...` must know that every row of `t`
falls in the new partition's bounds. Unless a validated CHECK constraint on `t` already
implies them, PostgreSQL reads all of `t` to check, holding ACCESS EXCLUSIVE on it: every
read and write of `t` waits (verified on PostgreSQL 18: `pg_stat_get_xact_numscans`,
`pg_locks`). Attaching an existing, live table is how a table is usually turned into a
partition, and that table is often the largest one.

## Bad
```sql
ALTER TABLE events ATTACH PARTITION events_2025
    FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
```

## Good
```sql
ALTER TABLE events_2025 ADD CONSTRAINT events_2025_bounds
    CHECK (at IS NOT NULL AND at >= '2025-01-01' AND at < '2026-01-01') NOT VALID;
ALTER TABLE events_2025 VALIDATE CONSTRAINT events_2025_bounds;
ALTER TABLE events ATTACH PARTITION events_2025
    FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
ALTER TABLE events_2025 DROP CONSTRAINT events_2025_bounds;
```
`VALIDATE CONSTRAINT` scans too, but under SHARE UPDATE EXCLUSIVE, which lets reads and
writes go on; the attach then skips its scan. Best in a migration of its own for the
VALIDATE (see DBS125).

## In Alembic
`op.create_check_constraint(...)` with `postgresql_not_valid=True`, the VALIDATE, the
ATTACH and the drop through `op.execute(...)`.

## Not flagged
* Tables created earlier in the same migration (nobody uses them yet).
* A table with a validated CHECK constraint added by this migration or an earlier one:
  dbsafe does not prove that it implies the bounds, and trusts it. One the database's schema
  already has makes the finding a warning.
* `ATTACH PARTITION ... DEFAULT` (it is the other partitions' rows that may not be
  checked; DBS126 covers partitions added next to a default one), and foreign tables in the
  database's schema (PostgreSQL does not scan them).
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if not statement.relation:
        return
    for action in statement.actions:
        partition = action.partition
        if action.subtype != "AttachPartition" or not partition or action.default:
            continue
        if ctx.created_before(partition):
            continue
        relation = ctx.before_relation(partition)
        if relation is not None and relation.kind == "foreign_table":
            continue
        known = ctx.validated_check(partition)
        if known == "migration":
            continue
        yield ctx.finding(
            RULE,
            f"Attaching `{partition}` to `{statement.relation}` reads all of `{partition}` "
            "under an ACCESS EXCLUSIVE lock to check its rows fit the bounds"
            + (", unless its CHECK constraint implies them" if known else "")
            + f"; reads and writes of `{partition}` wait.",
            help="First add a CHECK constraint matching the bounds (NOT VALID, then "
                 "VALIDATE), attach, then drop the constraint.",
            subject=partition,
            severity=Severity.WARNING if known else Severity.ERROR)


RULE = Rule(
    code="DBS130",
    name="partition-attached-with-scan",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    claim="lock",
    kinds=frozenset({"AlterTableStmt"}),
    weighed_by="size",
)

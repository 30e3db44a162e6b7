"""Partition added to a table that has a default partition, which is scanned under an ACCESS EXCLUSIVE lock.

## Why
Rows of the new partition's range may already sit in the default partition, so PostgreSQL
reads all of it, holding ACCESS EXCLUSIVE on it — and `CREATE TABLE ... PARTITION OF`
holds ACCESS EXCLUSIVE on the whole partitioned table meanwhile (verified on PostgreSQL 18:
`pg_stat_get_xact_numscans` of the default partition, `pg_locks`). The default partition
collects what fits nowhere else and is often large. The scan is skipped when a valid CHECK
constraint on the default partition excludes the new range.

## Bad
```sql
ALTER TABLE events ATTACH PARTITION events_default DEFAULT;
CREATE TABLE events_2026 PARTITION OF events
    FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
```

## Good
```sql
ALTER TABLE events_default ADD CONSTRAINT events_default_not_2026
    CHECK (at < '2026-01-01' OR at >= '2027-01-01') NOT VALID;
ALTER TABLE events_default VALIDATE CONSTRAINT events_default_not_2026;
CREATE TABLE events_2026 (LIKE events INCLUDING ALL);
ALTER TABLE events ATTACH PARTITION events_2026
    FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
```

## In Alembic
The same statements through `op.execute(...)`, the constraint validated before the
partition is attached.

## Not flagged
* Partitioned tables without a default partition (known from an earlier statement or the
  database's schema), and the default partition itself being added.
* A default partition with a validated CHECK constraint of its own in the database's schema
  (it may exclude the new range): a warning then. One added by the same migration is not
  weighed: dbsafe does not prove what a CHECK excludes.
* Tables created earlier in the same migration.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement, partition_parent


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    parent = partition_parent(statement)
    if parent is not None:
        if (statement.node.get("partbound") or {}).get("is_default"):
            return
        added = [parent]
    elif statement.kind == "AlterTableStmt" and statement.relation:
        added = [statement.relation for action in statement.actions
                 if action.subtype == "AttachPartition" and not action.default]
    else:
        return
    for table in added:
        default = ctx.default_partition(table)
        if default is None or ctx.created_before(table):
            continue
        name = default if isinstance(default, str) else default.name
        checked = not isinstance(default, str) and any(
            c.kind == "check" and c.validated for c in default.constraints)
        yield ctx.finding(
            RULE,
            f"Adding a partition to `{table}` scans its default partition `{name}` under "
            "an ACCESS EXCLUSIVE lock" + (", unless its CHECK constraint excludes the new "
                                          "range" if checked else "") + "; queries on it wait.",
            help="First add a CHECK constraint to the default partition that excludes the new "
                 "range (NOT VALID, then VALIDATE), then attach the partition.",
            subject=table, severity=Severity.WARNING if checked else Severity.ERROR)


RULE = Rule(
    code="DBS126",
    name="partition-added-scans-default-partition",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"CreateStmt", "AlterTableStmt"}),
    weighed_by="use",
)

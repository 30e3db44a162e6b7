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

## How dbsafe knows
On an alembic revision captured on the throwaway server, dbsafe reads whether PostgreSQL
scanned the table while attaching it (`pg_stat_get_xact_numscans`, inside the revision's
transaction; the decision does not depend on the rows, and an empty table's scan counts
too). A scan is reported, whatever CHECK constraints the table has; no scan means they
imply the bounds, and nothing is reported. A scan can also come from the attach building
one of the parent's indexes or validating one of its foreign keys on the table, also under
ACCESS EXCLUSIVE: the message says so when the table has a CHECK constraint.

Elsewhere (SQL migration files, `--offline`, `autocommit_block()`, a `DO` block, a
partitioned table attached), only the SQL says: a validated CHECK that names a column of
the partition key is trusted to imply the bounds, as dbsafe does not prove implications,
and one that names none of them is not (it cannot imply them: the bounds constrain only
those columns). So a CHECK like `at >= '2025-01-01'` on a partition of `[2025, 2026)` is a
missed finding there.

## Not flagged
* Tables created earlier in the same migration (nobody uses them yet).
* Without the capture's answer: a table with a validated CHECK constraint naming a column
  of the partition key, added by this migration or an earlier one (trusted); one the
  database's schema already has makes the finding a warning. When dbsafe does not know the
  key or the CHECK's columns (a migration renamed a column of either table), or the range
  is `FROM (MINVALUE) TO (MAXVALUE)` (its bounds only say the key is not null; the rest is
  the parent's own bounds, when it is a partition), any validated CHECK is trusted so.
* `ALTER INDEX ... ATTACH PARTITION` (an index of a partition attached to its parent's:
  no row is read, the partition takes an ACCESS SHARE lock).
* `ATTACH PARTITION ... DEFAULT` (it is the other partitions' rows that may not be
  checked; DBS126 covers partitions added next to a default one), and foreign tables in the
  database's schema (PostgreSQL does not scan them).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement, range_var, same_relation, strings
from dbsafe.pg.throwaway import scratch


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if not statement.relation or statement.object_kind == "index":
        return  # ALTER INDEX ... ATTACH PARTITION reads no row (an ACCESS SHARE lock)
    parent = statement.relation
    for action in statement.actions:
        partition = action.partition
        if action.subtype != "AttachPartition" or not partition or action.default:
            continue
        if ctx.created_before(partition):
            continue
        relation = ctx.before_relation(partition)
        if relation is not None and relation.kind == "foreign_table":
            continue
        scanned = _scanned(statement, partition)
        if scanned is False:
            continue  # PostgreSQL proved the bounds from the table's constraints
        known = ctx.validated_check(partition)
        key = ctx.partition_key(parent)
        unrelated = known is not None and not _unbounded(statement, partition) and \
            _name_no_key_column(ctx.validated_check_columns(partition), key)
        if scanned is None and known == "migration" and not unrelated:
            continue  # trusted: which rows it admits is not read
        finding = ctx.finding(
            RULE,
            _message(partition, parent, known=known, unrelated=unrelated, key=key,
                     scanned=scanned),
            help=_BUILD_FIRST if scanned and known and not unrelated else _CHECK_FIRST,
            subject=partition,
            severity=Severity.WARNING if known and not unrelated and not scanned
            else Severity.ERROR)
        if scanned:
            finding = dataclasses.replace(finding, context=finding.context + (
                ("Confirmed", f"PostgreSQL read `{partition}` while attaching it on "
                              f"{scratch(article='a')} (pg_stat_get_xact_numscans)"),))
        yield finding


_CHECK_FIRST = ("First add a CHECK constraint matching the bounds (NOT VALID, then VALIDATE), "
                "attach, then drop the constraint.")
_BUILD_FIRST = ("Before attaching, give the table a CHECK constraint matching the bounds (NOT "
                "VALID, then VALIDATE) and the parent's indexes (CONCURRENTLY).")


def _scanned(statement: Statement, partition: str) -> bool | None:
    """Did PostgreSQL read `partition` running the statement on the throwaway server
    (`pg_stat_get_xact_numscans`, which counts the scan of an empty table too)? None when
    it cannot tell: not observed, a statement of a `DO` block or of a several-statement
    `execute()` (whose observation is shared), or a partition that is not a plain table (a
    partitioned one has its partitions scanned instead)."""
    observed = statement.observed
    if observed is None or observed.scanned is None or statement.origin is not None:
        return None
    kinds = {kind for name, _mode, kind in observed.held if same_relation(name, partition)}
    if kinds != {"r"}:
        return None
    return any(same_relation(name, partition) for name in observed.scanned)


def _name_no_key_column(checks: list[frozenset[str]] | None,
                        key: frozenset[str] | None) -> bool:
    """Does every validated CHECK name columns, none of the partition key's? Then none can
    imply the bounds, which constrain only those columns. False when unknown; a CHECK
    naming no column (`CHECK (false)`) might imply anything."""
    if checks is None or key is None or not checks:
        return False
    return all(columns and not columns & key for columns in checks)


def _unbounded(statement: Statement, partition: str) -> bool:
    """Is the partition's range `FROM (MINVALUE, ...) TO (MAXVALUE, ...)`? Its bounds then
    say only that the key is not null (a NOT NULL column proves it), and what a CHECK must
    imply is the parent's own partition bounds, if it is a partition: of other columns."""
    for cmd in statement.node.get("cmds") or ():
        spec = (cmd.get("AlterTableCmd", {}).get("def") or {}).get("PartitionCmd") or {}
        if range_var(spec.get("name")) != partition:
            continue
        bound = spec.get("bound") or {}
        ends = [(datum, "minvalue") for datum in bound.get("lowerdatums") or ()] + \
            [(datum, "maxvalue") for datum in bound.get("upperdatums") or ()]
        return bool(ends) and all(
            strings((datum.get("ColumnRef") or {}).get("fields")) == (word,)
            for datum, word in ends)
    return False


def _message(partition: str, parent: str, *, known: str | None, unrelated: bool,
             key: frozenset[str] | None, scanned: bool | None) -> str:
    reads = (f"Attaching `{partition}` to `{parent}` reads all of `{partition}` under an "
             "ACCESS EXCLUSIVE lock")
    wait = f"; reads and writes of `{partition}` wait."
    if not known:
        return f"{reads} to check its rows fit the bounds{wait}"
    if unrelated:
        shown = ", ".join(f"`{column}`" for column in sorted(key or ()))
        return (f"{reads} to check its rows fit the bounds: no CHECK constraint of it names "
                f"the partition key ({shown}), so none implies them{wait}")
    if scanned:
        return (f"{reads}, as PostgreSQL did on {scratch(article='a')}: its CHECK constraints do "
                f"not imply the bounds, or the attach builds an index or checks a foreign "
                f"key of `{parent}` on it{wait}")
    return f"{reads} to check its rows fit the bounds, unless its CHECK constraint implies them{wait}"


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

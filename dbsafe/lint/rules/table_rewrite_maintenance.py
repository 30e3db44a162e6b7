"""`VACUUM FULL`, `CLUSTER` or `ALTER TABLE ... SET LOGGED` rewrites a table under an ACCESS EXCLUSIVE lock.

## Why
`VACUUM FULL` and `CLUSTER` copy the whole table into new files and rebuild its indexes
while holding an ACCESS EXCLUSIVE lock: every read and write waits until they finish.
Without a table name they do this to every table in the database (`CLUSTER`: every table
clustered before). `ALTER TABLE` does the same with `SET LOGGED` and `SET UNLOGGED`
(the table is copied, and with `SET LOGGED` every row written to the WAL), `SET TABLESPACE`
(the files are copied to the other tablespace) and `SET ACCESS METHOD`.

## Bad
```sql
VACUUM FULL orders;
```

```sql
ALTER TABLE orders SET LOGGED;
```

## Good
```sql
VACUUM (ANALYZE) orders;
```

## In Alembic
Do not reclaim space in a migration. Run `pg_repack` (or `pg_squeeze`) outside the
deployment; both rebuild the table while holding an ACCESS EXCLUSIVE lock only for a moment
at the end. A plain `VACUUM` (SHARE UPDATE EXCLUSIVE) never blocks reads or writes.

On a partitioned table (no rows of its own) `VACUUM FULL` and `CLUSTER` rewrite its
partitions one at a time, each in a transaction of its own holding ACCESS EXCLUSIVE on that
partition alone, and PostgreSQL refuses either inside a transaction block (pg_locks and
relfilenodes, PostgreSQL 18): the finding says so.

## Not flagged
* Plain `VACUUM`, `VACUUM (FULL false)`, `ANALYZE`.
* `ALTER TABLE ... CLUSTER ON` (only records the index to use).
* `ALTER INDEX ... SET TABLESPACE` and `ALTER TABLE ALL IN TABLESPACE` are not modelled.
* Tables created earlier in the same migration.
* `SET LOGGED`, `SET UNLOGGED`, `SET ACCESS METHOD` and `SET TABLESPACE` to what the table
  already has (PostgreSQL does nothing): known for tables created in an earlier migration
  without `USING` or `TABLESPACE` (heap, `pg_default`) and, with `--database-url`, whether
  a table is logged.

## References
https://www.postgresql.org/docs/current/sql-vacuum.html,
https://www.postgresql.org/docs/current/sql-cluster.html,
https://www.postgresql.org/docs/current/sql-altertable.html
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import STORAGE_SETTINGS, LintContext, Rule, stored_as
from dbsafe.lint.locks import ACCESS_EXCLUSIVE, locks_for
from dbsafe.lint.statement import Statement

# ALTER TABLE subcommands that copy the table into new files.
_REWRITING_ACTIONS = {"SetLogged": "SET LOGGED", "SetUnLogged": "SET UNLOGGED",
                      "SetTableSpace": "SET TABLESPACE", "SetAccessMethod": "SET ACCESS METHOD"}


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if statement.kind == "AlterTableStmt":
        yield from _rewriting_alter(statement, ctx)
        return
    if statement.kind not in ("VacuumStmt", "ClusterStmt"):
        return
    command = "VACUUM FULL" if statement.kind == "VacuumStmt" else "CLUSTER"
    for lock in locks_for(statement):
        if lock.mode != ACCESS_EXCLUSIVE:
            continue
        if lock.relation is None:
            yield ctx.finding(
                RULE,
                f"{command} without a table rewrites every table it covers under an ACCESS "
                "EXCLUSIVE lock; reads and writes on each wait while it is rewritten.",
                help="Use pg_repack outside the migration instead.",
            )
            continue
        if ctx.created_before(lock.relation):
            continue
        if ctx.partitioned(lock.relation):
            yield ctx.finding(
                RULE,
                f"{command} rewrites the partitions of `{lock.relation}` one at a time, each "
                "in a transaction of its own under an ACCESS EXCLUSIVE lock (a partitioned "
                "table has no rows of its own); reads and writes on each partition wait while "
                "it is rewritten.",
                help="Use pg_repack on each partition outside the migration instead "
                     "(PostgreSQL refuses this inside a transaction block).",
                subject=lock.relation,
            )
            continue
        yield ctx.finding(
            RULE,
            f"{command} rewrites `{lock.relation}` under an ACCESS EXCLUSIVE lock; reads and "
            f"writes on `{lock.relation}` wait until it finishes.",
            help="Use pg_repack outside the migration instead.",
            subject=lock.relation,
        )


def _rewriting_alter(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    table = statement.relation
    if not table or ctx.created_before(table):
        return
    for action in statement.actions:
        command = _REWRITING_ACTIONS.get(action.subtype)
        if command is None:
            continue
        setting = STORAGE_SETTINGS[action.subtype]
        if stored_as(action) is not None and ctx.stored(table, setting) == stored_as(action):
            continue  # already stored so: PostgreSQL does nothing
        yield ctx.finding(
            RULE,
            f"ALTER TABLE ... {command} rewrites `{table}` under an ACCESS EXCLUSIVE lock; "
            f"reads and writes on `{table}` wait until it finishes.",
            help="Create the table that way from the start, or run the change in a "
                 "maintenance window.",
            subject=table,
        )


RULE = Rule(
    code="DBS112",
    name="table-rewrite-maintenance",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    claim="lock",
    kinds=frozenset({"VacuumStmt", "ClusterStmt", "AlterTableStmt"}),
    weighed_by="size",
)

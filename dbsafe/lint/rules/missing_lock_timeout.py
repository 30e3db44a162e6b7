"""Migration takes a lock that blocks writes on an existing table without setting `lock_timeout`.

## Why
A DDL statement first has to get its lock. If a long query or an idle-in-transaction
session holds a conflicting lock, the statement waits — and while it waits, every later
query that conflicts with *its* request queues behind it. For a lock that blocks writes
(SHARE and stronger; ACCESS EXCLUSIVE also blocks reads), a few seconds of waiting becomes
an outage of the table. `SET lock_timeout` makes the statement give up instead, so the
migration can be retried; `statement_timeout` bounds how long the lock is then held.
`dbsafe upgrade` sets both for you on alembic revisions; a migration of a folder of SQL
files (supabase's, dbmate's, Flyway's, ...), which its own runner applies, sets them itself.

## Bad
```sql
ALTER TABLE orders ADD COLUMN note text;
```

## Good
```sql
SET lock_timeout = '5s';
SET statement_timeout = '15min';
ALTER TABLE orders ADD COLUMN note text;
```

## In Alembic
Run migrations with `dbsafe upgrade`, which sets `lock_timeout` and `statement_timeout` on
the connection before alembic starts; or set them in `env.py` / at the top of `upgrade()`:
```python
op.execute("SET lock_timeout = '5s'")
op.execute("SET statement_timeout = '15min'")
```

## Not flagged
* Migrations run by `dbsafe upgrade` (it sets both timeouts).
* Locks that block neither reads nor writes: SHARE UPDATE EXCLUSIVE (`CREATE INDEX
  CONCURRENTLY`, `VALIDATE CONSTRAINT`, `VACUUM`) and weaker — waiting for them queues no
  traffic.
* Locks on tables created earlier in the same migration.
* `lock_timeout` set with `SET`, `SET LOCAL` (until the transaction ends) or
  `set_config('lock_timeout', ...)`, and not undone since (a `ROLLBACK` of its
  transaction, a `ROLLBACK TO` a savepoint before it; a `ROLLBACK` outside a transaction
  undoes nothing); a value PostgreSQL reads as `0` (`'0min'`, or `'0.4ms'`,
  which it rounds to 0) disables the timeout and does not count. One set longer than
  `lock-timeout-limit` counts here, and is DBS134.
* Timeouts `env.py` sets on its connection before alembic runs the revisions (a `SET`,
  the connection's `options`): dbsafe reads them from the session when it runs the
  revisions on a throwaway server, not with `--offline`.
* The statements of a function's body: they run when it is called, under the caller's
  settings, not in the migration that creates it.

One finding per migration, at the first statement that needs the timeouts, for each
existing table that statement locks (nova's `DROP TABLE share_mapping` locks `instances`,
the table its foreign key references, ACCESS EXCLUSIVE too: queries on both queue); the message
names the timeouts that are missing, and with `lock_timeout` set, says what the missing
`statement_timeout` leaves open: how long the lock is held once granted.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.timeouts import TIMEOUTS, queued_locks, statements_with_timeouts


def check_migration(ctx: LintContext) -> Iterator[Finding]:
    if ctx.timeouts_managed:
        return
    for statement, active in statements_with_timeouts(ctx):
        # (one reset to a default env.py may have given the connection: not known to be set)
        missing = [name for name in TIMEOUTS
                   if name not in active or active[name].unsure == "reset"]
        if not missing:
            continue
        queued = queued_locks(ctx, statement)
        for found in queued:
            lock, table = found.lock, found.table
            missing_names = " and ".join(f"`{name}`" for name in missing)
            # Only ACCESS EXCLUSIVE conflicts with plain reads: behind a weaker request
            # (SHARE ROW EXCLUSIVE for a new foreign key) only writes queue.
            reads_too = lock.blocks[0]
            if "lock_timeout" in missing:
                each = "every query on" if reads_too else "every write to"
                harm = f"while it waits, {each} {table} queues behind it"
            else:  # the wait is bounded; how long the lock is then held is not
                those = "queries on" if reads_too else "writes to"
                harm = (f"once granted, nothing bounds how long it is held while {those} "
                        f"{table} wait")
            # `dbsafe upgrade` runs alembic revisions only: a folder of SQL files (supabase's,
            # dbmate's, ...) is applied by its own runner, and `dbsafe upgrade` refuses it.
            alembic = ctx.migration.kind == "alembic"
            yield ctx.finding(
                RULE,
                f"{lock.mode} lock on {table} is requested without {missing_names} set; "
                f"{harm}" + (" (`dbsafe upgrade` sets both timeouts for you)." if alembic
                             else "."),
                help=("Run the migration with `dbsafe upgrade`, or start it with SET "
                      "lock_timeout = '5s' and SET statement_timeout = '15min'." if alembic
                      else "Start the migration with SET lock_timeout = '5s' and SET "
                           "statement_timeout = '15min'."),
                subject=found.relation,
                statement=statement,
            )
        if queued:
            return


RULE = Rule(
    code="DBS115",
    name="missing-lock-timeout",
    severity=Severity.WARNING,
    since="0.1.0",
    doc=__doc__,
    check_migration=check_migration,
    weighed_by="use",
)

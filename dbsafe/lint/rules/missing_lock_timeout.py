"""Migration takes a lock that blocks writes on an existing table without setting `lock_timeout`.

## Why
A DDL statement first has to get its lock. If a long query or an idle-in-transaction
session holds a conflicting lock, the statement waits — and while it waits, every later
query that conflicts with *its* request queues behind it. For a lock that blocks writes
(SHARE and stronger; ACCESS EXCLUSIVE also blocks reads), a few seconds of waiting becomes
an outage of the table. `SET lock_timeout` makes the statement give up instead, so the
migration can be retried; `statement_timeout` bounds how long the lock is then held.
`dbsafe upgrade` sets both for you.

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
  `set_config('lock_timeout', ...)`; a value of `0` disables the timeout and does not count.
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
from dbsafe.lint.locks import locks_for
from dbsafe.lint.statement import setting_changes

_TIMEOUTS = ("lock_timeout", "statement_timeout")
_ENDS = ("commit", "rollback", "prepare")


def _disabled(value: str | None) -> bool:
    return value is None or value.strip().lower() in ("0", "0ms", "0s", "default")


def check_migration(ctx: LintContext) -> Iterator[Finding]:
    if ctx.timeouts_managed:
        return
    active: dict[str, bool] = {}  # setting -> set for the session (False: until txn end)
    for statement in ctx.statements:
        if statement.deferred:
            continue  # a function's body runs when it is called, under the caller's settings
        if statement.transaction in _ENDS:
            active = {name: session for name, session in active.items() if session}
            continue
        for name, value, local in setting_changes(statement):
            names = _TIMEOUTS if name == "*" else (name,) if name in _TIMEOUTS else ()
            for setting in names:
                if _disabled(value):
                    active.pop(setting, None)
                elif local and not statement.in_transaction:
                    continue  # SET LOCAL outside a transaction block has no effect
                else:
                    active[setting] = not local
        if statement.generated:
            continue
        missing = [name for name in _TIMEOUTS if name not in active]
        if not missing:
            continue
        named: set[str | None] = set()
        for lock in locks_for(statement):
            if not lock.blocks_writes or lock.target == "type":
                continue
            if lock.relation and ctx.created_before(lock.relation, statement):
                continue
            # Queries queue on the index's table (DROP INDEX locks it too), not the index.
            relation = (ctx.index_table(lock.relation) if lock.target == "index" and
                        lock.relation else None) or lock.relation
            if relation in named:
                continue
            named.add(relation)
            table = f"`{relation}`" if relation else "every table"
            if lock.target == "index" and lock.relation and relation == lock.relation:
                # its table unknown (conductor's V3 drops an index no migration made)
                table = f"the table of index `{relation}`"
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
            yield ctx.finding(
                RULE,
                f"{lock.mode} lock on {table} is requested without {missing_names} set; "
                f"{harm} (`dbsafe upgrade` sets both timeouts for you).",
                help="Run the migration with `dbsafe upgrade`, or start it with SET "
                     "lock_timeout = '5s' and SET statement_timeout = '15min'.",
                subject=relation,
                statement=statement,
            )
        if named:
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

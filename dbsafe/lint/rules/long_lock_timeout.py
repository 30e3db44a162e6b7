"""Migration sets a `lock_timeout` longer than `lock-timeout-limit` before a lock that queues traffic.

## Why
`lock_timeout` protects a table only if it is short. While a DDL statement waits for its
lock, every later query that conflicts with its request queues behind it: with
`SET lock_timeout = '10min'`, a long transaction holding the table turns into ten minutes
of every query on it waiting, the outage DBS115 is about. A short timeout (a few seconds)
makes the statement give up instead, so the migration can be retried at a quieter moment.
The limit is `lock-timeout-limit` in `[tool.dbsafe]` (default `10s`, strong_migrations'
`lock_timeout_limit`); values are read as PostgreSQL reads them (`5000` is milliseconds,
`'1.5min'` is 90 s, a fraction is rounded as the server rounds it).

## Bad
```sql
SET lock_timeout = '10min';
ALTER TABLE orders ADD COLUMN note text;
```

## Good
```sql
SET lock_timeout = '5s';
ALTER TABLE orders ADD COLUMN note text;
```

## In Alembic
Set a short timeout, and let the run retry it (`dbsafe upgrade` retries a revision that hit
its lock timeout, and sets a short one for you: `--lock-timeout`):
```python
op.execute("SET lock_timeout = '5s'")
```
The timeouts `env.py` sets on its connection (a `SET`, the connection's
`options=-c lock_timeout=...`) are read from the session when dbsafe runs the revisions on a
throwaway server, and judged the same way.

## Not flagged
* A `lock_timeout` up to the limit (`'10s'`, `10000`, `'10.0004s'`, which PostgreSQL
  rounds to 10000 ms); `lock-timeout-limit = "0"` turns the limit off.
* A long timeout before statements whose locks queue nothing: SHARE UPDATE EXCLUSIVE and
  weaker (`CREATE INDEX CONCURRENTLY`, `VALIDATE CONSTRAINT`), tables created earlier in
  the same migration.
* `SET LOCAL` outside a transaction block (no effect), a `SET LOCAL` after its
  transaction ended, a timeout of 0 or reset: that is a missing timeout (DBS115).

One finding for each long `lock_timeout` set, at the first statement whose lock then
queues traffic, for each existing table that statement locks.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement
from dbsafe.lint.timeouts import queued_locks, statements_with_timeouts

# (milliseconds, unit): SHOW's units, largest first
_UNITS = ((86_400_000, "d"), (3_600_000, "h"), (60_000, "min"), (1_000, "s"), (1, "ms"))


def shown(ms: int) -> str:
    """`ms` as SHOW prints a lock_timeout: in the largest unit it is a whole number of.

    >>> shown(600000), shown(10000), shown(10001), shown(90000)
    ('10min', '10s', '10001ms', '90s')
    """
    return next(f"{ms // size}{unit}" for size, unit in _UNITS if ms % size == 0)


def check_migration(ctx: LintContext) -> Iterator[Finding]:
    limit = ctx.lock_timeout_limit_ms
    if not limit:
        return
    judged: set[int] = set()  # the SETs reported (by statement index)
    for statement, active in statements_with_timeouts(ctx):
        timeout = active.get("lock_timeout")
        # (a value PostgreSQL refuses fails the migration at its SET: nothing to judge)
        if timeout is None or timeout.ms is None or timeout.ms <= limit:
            continue
        if timeout.set_by.index in judged:
            continue
        queued = queued_locks(ctx, statement)
        if queued:
            judged.add(timeout.set_by.index)
        for found in queued:
            each = "every query on" if found.lock.blocks[0] else "every write to"
            yield ctx.finding(
                RULE,
                f"{found.lock.mode} lock on {found.table} is requested with `lock_timeout` "
                f"{shown(timeout.ms)} ({_where(timeout.set_by)}), longer than the "
                f"{shown(limit)} `lock-timeout-limit`: while it waits, {each} {found.table} "
                f"queues behind it for up to {shown(timeout.ms)}.",
                help="Set a short lock_timeout (SET lock_timeout = '5s') and retry the "
                     "migration when it times out (`dbsafe upgrade` retries it), or raise "
                     "`lock-timeout-limit` if that wait is intended.",
                subject=found.relation,
                statement=statement,
            )


def _where(set_by: Statement) -> str:
    if set_by.generated:
        return "set on the connection env.py hands alembic"
    return f"set at line {set_by.location.line}"


RULE = Rule(
    code="DBS134",
    name="long-lock-timeout",
    severity=Severity.WARNING,
    since="0.1.0",
    doc=__doc__,
    check_migration=check_migration,
    weighed_by="use",
)

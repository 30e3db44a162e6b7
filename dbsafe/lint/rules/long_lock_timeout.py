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
throwaway server, and judged the same way. A `RESET lock_timeout` (or `set_config` to NULL)
in the revision returns it to the session's default, which is what the connection was
started with: env.py's long timeout again if it passed it as a connect option, the server's
if it `SET` it. The session shows dbsafe only the value, so the finding says it cannot tell
which (judged on PostgreSQL 18: `SHOW lock_timeout` after the RESET is `10min` on a
connection started with `-c lock_timeout=10min`, `0` after a `SET lock_timeout = '10min'`).
`SET LOCAL lock_timeout TO DEFAULT` does the same until its transaction ends; then, as after
any `SET LOCAL`, the session's value (env.py's) is in force again and judged again.

## Not flagged
* A `lock_timeout` up to the limit (`'10s'`, `10000`, `'10.0004s'`, which PostgreSQL
  rounds to 10000 ms); `lock-timeout-limit = "0"` turns the limit off.
* A long timeout before statements whose locks queue nothing: SHARE UPDATE EXCLUSIVE and
  weaker (`CREATE INDEX CONCURRENTLY`, `VALIDATE CONSTRAINT`), tables created earlier in
  the same migration.
* `SET LOCAL` outside a transaction block (no effect), a `SET LOCAL` after its
  transaction ended, a timeout of 0 or reset (`RESET`, `SET ... TO DEFAULT`, `set_config`
  to NULL) where no env.py set one: that is a missing timeout (DBS115).

A `set_config('lock_timeout', <expression>, ...)` whose value is computed when it runs
(`current_setting('app.lock_timeout')`) is still flagged, saying that dbsafe cannot tell
whether it is longer than the limit (never a silent pass).

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
        if timeout is None:
            continue
        long = timeout.ms is not None and timeout.ms > limit
        if not long and timeout.unsure != "expression":
            continue
        if timeout.set_by.index in judged:
            continue
        queued = queued_locks(ctx, statement)
        if queued:
            judged.add(timeout.set_by.index)
        for found in queued:
            each = "every query on" if found.lock.blocks[0] else "every write to"
            requested = f"{found.lock.mode} lock on {found.table} is requested"
            if timeout.unsure == "expression":
                message = (
                    f"{requested} with `lock_timeout` set by an expression (set_config at "
                    f"line {timeout.set_by.location.line}): dbsafe cannot tell whether it is "
                    f"longer than the {shown(limit)} `lock-timeout-limit`, the time {each} "
                    f"{found.table} may queue behind it while it waits.")
            elif timeout.unsure == "reset":
                message = (
                    f"{requested} after {_reset_words(timeout.set_by)} (line "
                    f"{timeout.set_by.location.line}), which returns it to the session's "
                    f"default: the {shown(timeout.ms or 0)} env.py gave its connection if it "
                    "passed it as a connect option (`-c lock_timeout=...`), the server's if "
                    f"it SET it; dbsafe cannot tell which. {shown(timeout.ms or 0)} is longer "
                    f"than the {shown(limit)} `lock-timeout-limit`: {each} {found.table} "
                    "would queue behind it that long.")
            else:
                message = (
                    f"{requested} with `lock_timeout` {shown(timeout.ms or 0)} "
                    f"({_where(timeout.set_by)}), longer than the {shown(limit)} "
                    f"`lock-timeout-limit`: while it waits, {each} {found.table} queues "
                    f"behind it for up to {shown(timeout.ms or 0)}.")
            yield ctx.finding(
                RULE,
                message,
                help=("Set lock_timeout to a short value written out (SET lock_timeout = "
                      "'5s'), which dbsafe can check, or ignore this where the expression "
                      "is known to stay short." if timeout.unsure == "expression" else
                      "Set a short lock_timeout (SET lock_timeout = '5s') and retry the "
                      "migration when it times out"
                      # (`dbsafe upgrade` runs alembic revisions only)
                      + (" (`dbsafe upgrade` retries it)" if ctx.migration.kind == "alembic"
                         else "")
                      + ", or raise `lock-timeout-limit` if that wait is intended."),
                subject=found.relation,
                statement=statement,
            )


def _where(set_by: Statement) -> str:
    if set_by.generated:
        return "set on the connection env.py hands alembic"
    return f"set at line {set_by.location.line}"


def _reset_words(statement: Statement) -> str:
    """How a message names the statement that reset `lock_timeout`."""
    if statement.kind == "VariableSetStmt" and statement.node.get("kind") == "VAR_SET_DEFAULT":
        local = " LOCAL" if statement.node.get("is_local") else ""
        return f"`SET{local} lock_timeout TO DEFAULT`"
    return "a `RESET` of `lock_timeout`"


RULE = Rule(
    code="DBS134",
    name="long-lock-timeout",
    severity=Severity.WARNING,
    since="0.1.0",
    doc=__doc__,
    check_migration=check_migration,
    weighed_by="use",
)

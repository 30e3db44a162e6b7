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

One finding per migration, at the first statement that needs the timeouts; the message
names the timeouts that are missing.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule, Statement
from dbsafe.lint.locks import locks_for, tokens, words_of

_TIMEOUTS = ("lock_timeout", "statement_timeout")


def _settings(statement: Statement) -> dict[str, tuple[bool, bool]]:
    """{setting: (enabled, local)} for timeouts this statement sets."""
    words = tokens(statement.sql)
    up = [w.upper for w in words]
    out: dict[str, tuple[bool, bool]] = {}
    if up[:1] == ["SET"]:
        local = up[1:2] == ["LOCAL"]
        i = 2 if up[1:2] in (["LOCAL"], ["SESSION"]) else 1
        if i < len(words) and words[i].name in _TIMEOUTS:
            value = words[i + 2] if i + 2 < len(words) else None
            out[words[i].name] = (not _disabled(value.name if value else "0"), local)
    elif up[:1] == ["RESET"] and len(words) > 1:
        if words[1].name in _TIMEOUTS:
            out[words[1].name] = (False, False)
        elif up[1] == "ALL":
            out = {name: (False, False) for name in _TIMEOUTS}
    elif up[:1] == ["SELECT"] and isinstance(statement.node, exp.Select):
        for call in statement.node.find_all(exp.Anonymous):
            args = call.expressions
            if str(call.this).lower() == "set_config" and len(args) >= 2 and \
                    isinstance(args[0], exp.Literal) and args[0].this in _TIMEOUTS:
                value = args[1].this if isinstance(args[1], exp.Literal) else "1"
                local = len(args) > 2 and args[2].sql().upper() == "TRUE"
                out[args[0].this] = (not _disabled(str(value)), local)
    return out


def _disabled(value: str) -> bool:
    return value.strip().lower() in ("0", "0ms", "0s", "default")


def check_migration(ctx: LintContext) -> Iterator[Finding]:
    if ctx.timeouts_managed:
        return
    active: dict[str, bool] = {}  # setting -> set for the session (False: until txn end)
    for statement in ctx.statements:
        words = words_of(statement)
        if words[:1] in (("COMMIT",), ("END",), ("ROLLBACK",), ("ABORT",)):
            active = {name: session for name, session in active.items() if session}
            continue
        for name, (enabled, local) in _settings(statement).items():
            if enabled and local and not statement.in_transaction:
                continue  # SET LOCAL outside a transaction block has no effect
            if enabled:
                active[name] = not local
            else:
                active.pop(name, None)
        if statement.generated:
            continue
        missing = [name for name in _TIMEOUTS if name not in active]
        if not missing:
            continue
        for lock in locks_for(statement):
            if not lock.blocks_writes or lock.target == "type":
                continue
            if lock.relation and ctx.created_before(lock.relation, statement):
                continue
            table = f"`{lock.relation}`" if lock.relation else "every table"
            names = " and ".join(f"`{name}`" for name in missing)
            yield ctx.finding(
                RULE,
                f"{lock.mode} lock on {table} is requested without {names} set; while it "
                f"waits, every query on {table} queues behind it (`dbsafe upgrade` sets "
                "both timeouts for you).",
                help="Run the migration with `dbsafe upgrade`, or start it with SET "
                     "lock_timeout = '5s' and SET statement_timeout = '15min'.",
                subject=lock.relation,
                statement=statement,
            )
            return


RULE = Rule(
    code="DBS115",
    name="missing-lock-timeout",
    severity=Severity.WARNING,
    since="0.1.0",
    doc=__doc__,
    check_migration=check_migration,
)

"""The timeouts a migration runs its statements under, and the locks they must bound.

Shared by DBS115 (`lock_timeout`/`statement_timeout` missing) and DBS134 (`lock_timeout` set
longer than `lock-timeout-limit`): both judge the first statement whose lock queues traffic
on an existing table, with the timeouts in force there.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from dbsafe.config import DurationError, read_duration
from dbsafe.lint.engine import LintContext
from dbsafe.lint.locks import Lock, locks_for
from dbsafe.lint.statement import Statement, set_config_expressions, setting_changes

TIMEOUTS = ("lock_timeout", "statement_timeout")
_ENDS = ("commit", "rollback", "prepare")


@dataclass(frozen=True, slots=True)
class Timeout:
    """A timeout in force: as written, the milliseconds PostgreSQL reads it as (None: not
    a value dbsafe can read), and the statement that set it."""

    value: str
    ms: int | None
    set_by: Statement
    session: bool  # False: `SET LOCAL`, until the transaction ends
    # Why the value in force is not known for sure (None: it is): "expression", a
    # `set_config` whose value is computed when it runs; "reset", a `RESET` back to the
    # session's default, which is env.py's value (`ms`) only where env.py passed it as a
    # connect option (`-c lock_timeout=...`), not where it SET it.
    unsure: str | None = None


@dataclass(frozen=True, slots=True)
class QueuedLock:
    """A lock a statement requests that queues traffic on an existing table."""

    lock: Lock
    relation: str | None  # the table queries queue on (None: every table)
    table: str  # how a message names it (`orders`, "the table of index `ix`")


def _milliseconds(value: str) -> int | None:
    try:
        return read_duration(value)
    except DurationError:
        return None


def statements_with_timeouts(ctx: LintContext) -> Iterator[tuple[Statement, dict[str, Timeout]]]:
    """Each statement the migration itself runs, with the timeouts in force when it runs:
    those `SET`, `SET LOCAL` (in a transaction block) or `set_config` gave before it, and
    those env.py set on its connection (generated SETs); one set to 0 is not in force, nor
    one reset, unless env.py had set it (`Timeout.unsure`). A function's body is left out:
    it runs under its caller's settings."""
    active: dict[str, Timeout] = {}
    started: dict[str, Timeout] = {}  # env.py's, which the session had from the start
    for statement in ctx.statements:
        if statement.deferred:
            continue
        if statement.transaction in _ENDS:
            active = {name: t for name, t in active.items() if t.session}
            continue
        for name, value, local in setting_changes(statement):
            names = TIMEOUTS if name == "*" else (name,) if name in TIMEOUTS else ()
            for setting in names:
                reset = value is None or value.strip().lower() == "default"
                ms = None if reset or value is None else _milliseconds(value)
                if local and not statement.in_transaction:
                    continue  # SET LOCAL outside a transaction block has no effect
                if reset and setting in started and not local:
                    active[setting] = replace(started[setting], set_by=statement,
                                              unsure="reset")
                elif reset or ms == 0 or value is None:
                    active.pop(setting, None)
                else:
                    active[setting] = Timeout(value.strip(), ms, statement, not local)
                    if statement.generated:
                        started[setting] = active[setting]
        for setting, local in set_config_expressions(statement):
            if setting in TIMEOUTS and (statement.in_transaction or not local):
                active[setting] = Timeout("", None, statement, not local, unsure="expression")
        if not statement.generated:
            yield statement, dict(active)


def queued_locks(ctx: LintContext, statement: Statement) -> list[QueuedLock]:
    """The locks `statement` requests that queue traffic (SHARE and stronger) on a table
    that existed before the migration, one per table queries queue on."""
    found: list[QueuedLock] = []
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
        found.append(QueuedLock(lock, relation, table))
    return found

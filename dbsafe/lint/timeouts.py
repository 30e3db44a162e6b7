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
_SAVEPOINTS = ("savepoint", "rollback_to", "release")


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
    one reset, unless env.py had set it (`Timeout.unsure`). A `SET LOCAL` lasts until its
    transaction ends, and the session's value is in force again after it; a `SET` in a
    transaction rolled back is undone (a `ROLLBACK` outside one undoes nothing), and one
    after a `SAVEPOINT` rolled back to (`ROLLBACK TO`) too. A function's body is left out: it
    runs under its caller's settings."""
    session: dict[str, Timeout | None] = {}
    local: dict[str, Timeout | None] = {}  # SET LOCAL's, until the transaction ends (None: 0)
    at_begin: dict[str, Timeout | None] = {}  # the session's, restored by a ROLLBACK
    started: dict[str, Timeout] = {}  # env.py's, which the session had from the start
    # each SAVEPOINT of the transaction: its name, and the session's and SET LOCAL's then
    savepoints: list[tuple[str, dict[str, Timeout | None], dict[str, Timeout | None]]] = []
    for statement in ctx.statements:
        if statement.deferred:
            continue
        if statement.transaction == "begin" and not statement.nested:
            at_begin, savepoints = dict(session), []
        if statement.transaction in _ENDS:
            if statement.transaction == "rollback" and statement.in_transaction:
                session = dict(at_begin)
            local, savepoints = {}, []
            at_begin = dict(session)
            continue
        if statement.transaction in _SAVEPOINTS and statement.in_transaction:
            name = str(statement.node.get("savepoint_name") or "")
            # (the latest of that name; those after it are gone, RELEASE keeps their SETs)
            at = next((i for i in reversed(range(len(savepoints)))
                       if savepoints[i][0] == name), None)
            if statement.transaction == "savepoint":
                savepoints.append((name, dict(session), dict(local)))
            elif at is not None and statement.transaction == "rollback_to":
                session, local = dict(savepoints[at][1]), dict(savepoints[at][2])
                del savepoints[at + 1:]
            elif at is not None:
                del savepoints[at:]
        for name, value, is_local in setting_changes(statement):
            names = TIMEOUTS if name == "*" else (name,) if name in TIMEOUTS else ()
            if is_local and not statement.in_transaction:
                continue  # SET LOCAL outside a transaction block has no effect
            for setting in names:
                timeout = _set_to(setting, value, statement, started, is_local)
                if is_local:
                    local[setting] = timeout
                    continue
                session[setting] = timeout
                local.pop(setting, None)  # a SET overrides the transaction's SET LOCAL
                if statement.generated and timeout is not None:
                    started[setting] = timeout
        for setting, is_local in set_config_expressions(statement):
            if setting in TIMEOUTS and (statement.in_transaction or not is_local):
                timeout = Timeout("", None, statement, not is_local, unsure="expression")
                (local if is_local else session)[setting] = timeout
        if not statement.generated:
            active = {**session, **local}
            yield statement, {name: t for name, t in active.items() if t is not None}


def _set_to(setting: str, value: str | None, statement: Statement,
            started: dict[str, Timeout], local: bool) -> Timeout | None:
    """The timeout `statement` puts in force (None: none). `RESET` and `SET ... TO DEFAULT`
    (`SET LOCAL` too) go back to the session's default, not to a value a `SET` gave it:
    env.py's value only where it passed it as a connect option."""
    if value is None or value.strip().lower() == "default":
        if setting in started:
            return replace(started[setting], set_by=statement, session=not local,
                           unsure="reset")
        return None
    ms = _milliseconds(value)
    return None if ms == 0 else Timeout(value.strip(), ms, statement, not local)


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

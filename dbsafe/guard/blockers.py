"""Who holds the locks a guarded run's revisions (or its backup's `pg_dump`) wait for, seen
from a second connection, and how long to wait before trying again (`backoff`).

A statement that hits `lock_timeout` (55P03) is cancelled with a message that names neither
the lock nor its holder, and once it is cancelled the wait is gone: `pg_blocking_pids` of its
backend is empty, and the holder may have moved on. So the holders are sampled while the
statement still waits: `BlockerWatch` polls, from a connection of its own, the backends of
the run (its `application_name`, set on every connection env.py opens) that wait for a lock,
and keeps what the last look saw: each blocker's pid, `application_name`, user, state, how
long its transaction has been open and the lock it holds. The poll runs more often than
`lock_timeout` lasts, so the last wait before a timeout has been seen.

The blocker's query is not kept: its literals may be secrets or personal data, and the run's
output goes to CI logs and into `dbsafe.history`; for a session idle in its transaction,
`pg_stat_activity.query` is only the last statement it ran, not necessarily the one that
took the lock. The pid finds it (`SELECT query FROM pg_stat_activity WHERE pid = ...`).
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dbsafe.migrate.waits import lock_mode

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

# lock_not_available (lock_timeout), deadlock_detected: the statement waited for a lock.
LOCK_WAITS = frozenset({"55P03", "40P01"})

# Every lock the run's waiting backends wait for, and each backend `pg_blocking_pids` names
# for it, with the locks that blocker holds (or waits for, ahead in the queue) on the same
# object. pg_blocking_pids only runs for backends found waiting: it takes the lock manager's
# partition locks for a moment.
_BLOCKERS_SQL = """
WITH waiting AS MATERIALIZED (
    SELECT pid FROM pg_catalog.pg_stat_activity
    WHERE wait_event_type = 'Lock' AND application_name = ANY(%(application_names)s)
      AND datname = pg_catalog.current_database()
), locks AS MATERIALIZED (
    SELECT * FROM pg_catalog.pg_locks
), blocked AS MATERIALIZED (
    SELECT w.pid, bp.pid AS blocker
    FROM waiting w CROSS JOIN LATERAL pg_catalog.unnest(pg_catalog.pg_blocking_pids(w.pid))
         AS bp(pid)
)
SELECT b.pid, b.application_name, b.usename, b.state,
       EXTRACT(EPOCH FROM pg_catalog.clock_timestamp() - b.xact_start)::float8,
       l.locktype, n.nspname, c.relname, l.relation::int8, h.mode, h.granted
FROM blocked
JOIN locks l ON l.pid = blocked.pid AND NOT l.granted
JOIN pg_catalog.pg_stat_activity b ON b.pid = blocked.blocker
LEFT JOIN locks h ON h.pid = b.pid AND h.locktype = l.locktype
     AND h.database IS NOT DISTINCT FROM l.database
     AND h.relation IS NOT DISTINCT FROM l.relation
     AND h.page IS NOT DISTINCT FROM l.page AND h.tuple IS NOT DISTINCT FROM l.tuple
     AND h.virtualxid IS NOT DISTINCT FROM l.virtualxid
     AND h.transactionid IS NOT DISTINCT FROM l.transactionid
     AND h.classid IS NOT DISTINCT FROM l.classid AND h.objid IS NOT DISTINCT FROM l.objid
     AND h.objsubid IS NOT DISTINCT FROM l.objsubid
LEFT JOIN pg_catalog.pg_class c ON c.oid = l.relation
LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
ORDER BY b.xact_start NULLS LAST, b.pid, h.granted DESC, h.mode
"""

_SHOWN = 3  # blockers named in a message; the rest are counted


@dataclass(frozen=True, slots=True)
class Blocker:
    """A session holding (or queued ahead for) a lock a statement of the run waited for."""

    pid: int
    application_name: str
    user: str | None
    # pg_stat_activity.state ("idle in transaction", "active", ...); None, with the age of
    # its transaction, for another role's session unless the run's has pg_read_all_stats
    state: str | None
    transaction_seconds: float | None  # how long its transaction has been open
    locktype: str  # of the lock waited for: "relation", "transactionid", "virtualxid", ...
    relation: str | None  # "schema.name" for a lock on a relation
    modes: tuple[str, ...]  # the modes it holds on that object, as pg_locks names them
    granted: bool  # False: it waits for the lock too, ahead in the queue

    def describe(self) -> str:
        """One line naming the session and its lock.

        >>> Blocker(4242, "report", "alice", "idle in transaction", 12.34, "relation",
        ...         "public.a", ("AccessShareLock",), True).describe()
        "pid 4242 (application_name 'report', user alice, idle in transaction, transaction \
open 12.3s) holding ACCESS SHARE on public.a"
        """
        facts = [f"application_name '{_clean(self.application_name)}'"]
        if self.user:
            facts.append(f"user {_clean(self.user)}")
        if self.state is None:  # another role's session, to a role without the right
            facts.append("state hidden without pg_read_all_stats")
        else:
            facts.append(self.state)
            facts.append(f"transaction open {_duration(self.transaction_seconds)}"
                         if self.transaction_seconds is not None else "no transaction")
        who = f"pid {self.pid} ({', '.join(facts)})"
        if self.locktype == "virtualxid":  # CONCURRENTLY waits for older transactions to end
            return f"{who} in a transaction the statement waits to end"
        modes = "/".join(lock_mode(m) for m in self.modes) or "a lock"
        if self.locktype == "relation":
            what = f"{modes} on {self.relation or 'a relation'}"
        elif self.locktype == "transactionid":
            what = "a row lock (its transaction wrote or locked the row)"
        else:
            what = f"{modes} on a {self.locktype} lock"
        return f"{who} {'holding' if self.granted else 'queued ahead for'} {what}"


def blocked_by(blockers: tuple[Blocker, ...]) -> str:
    """`blockers` on one line for a message: "blocked by pid ..." (empty: none seen).

    >>> b = Blocker(7, "psql", None, "active", 0.5, "relation", "public.t", ("RowExclusiveLock",),
    ...             True)
    >>> blocked_by((b,))
    "blocked by pid 7 (application_name 'psql', active, transaction open 0.5s) holding ROW \
EXCLUSIVE on public.t"
    >>> blocked_by((b,) * 5).endswith("and 2 more")
    True
    """
    if not blockers:
        return ""
    shown = "; ".join(b.describe() for b in blockers[:_SHOWN])
    more = len(blockers) - _SHOWN
    return f"blocked by {shown}" + (f"; and {more} more" if more > 0 else "")


def backoff(first: float, attempt: int) -> float:
    """Seconds to wait after failed attempt `attempt` (1, 2, ...) before the next, after a
    lock timeout or deadlock (a revision, the way back, the backup): doubling from `first`,
    at most 60, with jitter, so two waiting runs don't collide."""
    return min(60.0, first * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5)


def _duration(seconds: float) -> str:
    """A transaction's age, to the tenth of a second while it is under a minute.

    >>> _duration(3.21), _duration(125), _duration(7300)
    ('3.2s', '2min05s', '2h01min')
    """
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}min{int(seconds % 60):02d}s"
    return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}min"


def _clean(text: str) -> str:
    """A name on one line: PostgreSQL keeps a role's name as it was written."""
    return "".join(c if c.isprintable() else "?" for c in text)


class BlockerWatch:
    """Watch the run's waiting statements on the database `url` names while revisions apply::

        with BlockerWatch(url, "dbsafe upgrade", lock_timeout="5s") as watch:
            watch.forget()  # before each attempt
            ...             # a lock timeout: watch.seen() names who held the lock

    Read-only: it ends nothing. A watch that cannot connect sees nothing, and says so in the
    log only: the run goes on without the names. `also`: other names the run's sessions
    go by (validate's confirming session, `dbsafe validate`).
    """

    def __init__(self, url: str, application_name: str, *, lock_timeout: str,
                 also: tuple[str, ...] = ()) -> None:
        self.url = url
        self.application_names = [application_name, *also]
        self.lock_timeout = lock_timeout
        self._seen: tuple[Blocker, ...] = ()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="dbsafe-blocker-watch",
                                        daemon=True)

    def __enter__(self) -> BlockerWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def forget(self) -> None:
        """Drop what was seen: a new attempt starts."""
        with self._lock:
            self._seen = ()

    def seen(self) -> tuple[Blocker, ...]:
        """The blockers of the last wait seen since `forget()`."""
        with self._lock:
            return self._seen

    def _watch(self) -> None:
        import psycopg

        from dbsafe.core import DbsafeError
        from dbsafe.pg.connect import connect

        conn = None
        interval = 0.25
        while not self._stop.is_set():
            try:
                if conn is None or conn.closed:
                    conn = connect(self.url, application_name="dbsafe blocker watch")
                    interval = _interval(conn, self.lock_timeout)
                self.check(conn)
            except (psycopg.Error, DbsafeError) as exc:  # the server is going away
                log.debug("blocker watch: %s", exc)
                if conn is not None:
                    conn.close()
                conn = None
            self._stop.wait(interval)
        if conn is not None:
            conn.close()

    def check(self, conn: psycopg.Connection[Any]) -> tuple[Blocker, ...]:
        """One look; what it sees is kept unless it sees no wait (the last one stays)."""
        rows = conn.execute(
            _BLOCKERS_SQL, {"application_names": self.application_names}).fetchall()
        found: dict[int, Blocker] = {}
        for (pid, application, user, state, seconds, locktype, schema, name, oid, mode,
             granted) in rows:
            known = found.get(pid)
            if known is not None:
                if mode and granted == known.granted and mode not in known.modes:
                    found[pid] = Blocker(known.pid, known.application_name, known.user,
                                         known.state, known.transaction_seconds,
                                         known.locktype, known.relation,
                                         (*known.modes, mode), known.granted)
                continue
            relation = (f"{schema}.{name}" if name else f"relation {oid}") if oid else None
            found[pid] = Blocker(int(pid), application or "", user, state, seconds,
                                 str(locktype), relation, (str(mode),) if mode else (),
                                 granted is not False)
        if found:
            with self._lock:
                self._seen = tuple(found.values())
        return tuple(found.values())


def _interval(conn: psycopg.Connection[Any], lock_timeout: str) -> float:
    """Seconds between looks: a quarter of `lock_timeout` as PostgreSQL reads it (so a wait
    that ends in a timeout is seen at least three times), at most 0.25 s, at least 0.02 s."""
    conn.execute("SELECT pg_catalog.set_config('statement_timeout', '5s', false), "
                 "pg_catalog.set_config('lock_timeout', %s, false)", (lock_timeout,))
    row = conn.execute("SELECT setting::float8 FROM pg_catalog.pg_settings "
                       "WHERE name = 'lock_timeout'").fetchone()
    milliseconds = float(row[0]) if row else 0.0
    if milliseconds <= 0:
        return 0.25
    return min(0.25, max(0.02, milliseconds / 4000))

"""Lock waits between a migration's own connections, watched from outside while it runs.

On a throwaway server every connection is the migration's: the one env.py hands alembic,
and any other the revisions open (an ORM session on the engine instead of `op.get_bind()`,
the application's own session, as airflow's permission revisions use). A statement that
waits for a lock another of them holds while it sits idle in its transaction waits forever:
the process is waiting for that statement, so nothing will ever end the other transaction.
`alembic upgrade` hangs there, and `dbsafe lint` hung with it.

`SelfWaitWatch` polls the server while the child runs. A wait that has lasted `PATIENCE`
seconds behind connections that have been idle in their transaction all that time ends
those connections (`pg_terminate_backend`), as if the revision had closed them, so the run
goes on; each such wait is kept, to be reported on the statement that waited.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

log = logging.getLogger(__name__)

# Seconds a wait lasts behind connections idle in their transaction before the watch ends
# them. Read when a watch is made, not bound as a default, so a test can shorten it in process.
PATIENCE = 5.0

# Waiting statements whose every blocker has been idle in its transaction since before the
# wait began, for at least `patience` seconds (pg_locks.waitstart: PostgreSQL 14+).
_WAITS_SQL = """
SELECT l.pid, b.pid, n.nspname, c.relname, l.mode, l.locktype,
       EXTRACT(EPOCH FROM pg_catalog.clock_timestamp() - l.waitstart)::float8,
       EXTRACT(EPOCH FROM l.waitstart)::float8
FROM pg_catalog.pg_locks l
JOIN pg_catalog.pg_stat_activity w ON w.pid = l.pid
CROSS JOIN LATERAL pg_catalog.unnest(pg_catalog.pg_blocking_pids(l.pid)) AS bp(pid)
JOIN pg_catalog.pg_stat_activity b ON b.pid = bp.pid
LEFT JOIN pg_catalog.pg_class c ON c.oid = l.relation
LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE NOT l.granted
  AND l.waitstart < pg_catalog.clock_timestamp() - make_interval(secs => %(patience)s)
  AND w.datname = pg_catalog.current_database()
  AND NOT EXISTS (
      SELECT FROM pg_catalog.unnest(pg_catalog.pg_blocking_pids(l.pid)) AS o(pid)
      JOIN pg_catalog.pg_stat_activity a ON a.pid = o.pid
      WHERE a.state IS DISTINCT FROM 'idle in transaction' OR a.state_change > l.waitstart)
"""


@dataclass(frozen=True, slots=True)
class SelfWait:
    """A statement of the migration waited for a lock another of its connections held."""

    waiter_pid: int
    blocker_pid: int
    relation: str | None  # "schema.name"; None when the lock is not on a relation
    mode: str  # the pg_locks mode requested, e.g. "AccessExclusiveLock"
    locktype: str  # pg_locks locktype: "relation", "virtualxid", "transactionid", ...
    seconds: float  # how long it had waited when dbsafe ended the blocker
    since: float  # when the wait began (seconds since the epoch)


class SelfWaitWatch:
    """Watch the database `conninfo` names while a migration runs on it (a throwaway only:
    it ends connections)::

        with SelfWaitWatch(url) as watch:
            run_the_child()
        watch.waits
    """

    def __init__(self, conninfo: str, *, patience: float | None = None,
                 interval: float = 0.5) -> None:
        self.conninfo = conninfo
        self.patience = PATIENCE if patience is None else patience
        self.interval = interval
        self.waits: list[SelfWait] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="dbsafe-self-wait",
                                        daemon=True)

    def __enter__(self) -> SelfWaitWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _watch(self) -> None:
        import psycopg

        conn = None
        while not self._stop.wait(self.interval):
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(self.conninfo, autocommit=True,
                                           application_name="dbsafe lock-wait watch")
                self.check(conn)
            except psycopg.Error as exc:  # the server is going away, or not up yet
                log.debug("lock-wait watch: %s", exc)
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def check(self, conn: object) -> list[SelfWait]:
        """One look: end the blockers of every hopeless wait; returns the waits found."""
        found: list[SelfWait] = []
        rows = conn.execute(_WAITS_SQL, {"patience": self.patience}).fetchall()  # type: ignore[attr-defined]
        for waiter, blocker, schema, name, mode, locktype, seconds, since in rows:
            relation = f"{schema}.{name}" if name else None
            found.append(SelfWait(int(waiter), int(blocker), relation, str(mode),
                                  str(locktype), float(seconds), float(since)))
        # Kept before the blockers are ended: the statement that waited then goes on, and
        # the request it belongs to may be answered before this thread runs again.
        self.waits.extend(found)
        ended: set[int] = set()
        for wait in found:
            if wait.blocker_pid not in ended:
                ended.add(wait.blocker_pid)
                conn.execute("SELECT pg_catalog.pg_terminate_backend(%s)",  # type: ignore[attr-defined]
                             (wait.blocker_pid,))
            log.info("statement of backend %d waited %.0f s for %s on %s held by backend %d, "
                     "idle in its transaction: ended it", wait.waiter_pid, wait.seconds,
                     wait.mode, wait.relation or wait.locktype, wait.blocker_pid)
        return found


def lock_mode(mode: str) -> str:
    """A `pg_locks.mode` as PostgreSQL's documentation names it.

    >>> lock_mode("AccessExclusiveLock")
    'ACCESS EXCLUSIVE'
    """
    if not mode.endswith("Lock"):
        return mode
    return "".join(f" {c}" if c.isupper() else c for c in mode.removesuffix("Lock")).strip().upper()


def message(mode: str, relation: str | None, holder: str | None, *,
            command: str = "upgrade") -> str:
    """What dbsafe says of a statement that waited for another connection of the migration
    (DBS132): `mode` as pg_locks gives it, `holder` the `path:line` that last used that
    connection, `command` the alembic command that would wait forever.

    >>> message("AccessExclusiveLock", "public.roles", "versions/r02.py:24")
    'This statement waited for an ACCESS EXCLUSIVE lock on `roles` held by another \
connection of the migration, left idle in its transaction by versions/r02.py:24; `alembic \
upgrade` waits here forever (dbsafe ended that connection to go on).'
    """
    if relation:
        name = lock_mode(mode)
        what = (f"{'an' if name[0] in 'AEIO' else 'a'} {name} lock on "
                f"`{relation.removeprefix('public.')}` held by")
    else:  # CONCURRENTLY waits for every older transaction
        what = "the transaction of"
    left = (f", left idle in its transaction by {holder}" if holder
            else ", idle in its transaction")
    return (f"This statement waited for {what} another connection of the migration{left}; "
            f"`alembic {command}` waits here forever (dbsafe ended that connection to go on).")

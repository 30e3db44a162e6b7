"""One guarded run at a time per database: a session-level advisory lock.

The lock lives as long as the connection that took it, so a run killed with SIGKILL frees it
when PostgreSQL notices the connection is gone; nothing is left to clean up by hand. That
connection sits idle for the whole run, so it turns off `idle_session_timeout` for itself: a
database or role setting it (PostgreSQL 14+) ended the session mid-run, and with it the lock,
and a second run could start beside the first.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dbsafe.core import DbsafeError
from dbsafe.pg.connect import connect

# Two 32-bit keys: "dbsf" and "upgr" in ASCII, unlikely to collide with an application's.
LOCK_KEYS = (0x64627366, 0x75706772)


class LockHeld(DbsafeError):
    """Another guarded run holds the lock; `held` says which."""

    def __init__(self, held: str, then: str = "try again when it has finished") -> None:
        super().__init__(f"{held}; {then}")
        self.held = held


@contextlib.contextmanager
def run_lock(conninfo: str) -> Iterator[RunLock]:
    """Hold dbsafe's advisory lock on this database, or fail at once naming the holder."""
    lock = RunLock(conninfo, _take(conninfo))
    try:
        yield lock
    finally:
        # Released before the session closes: a backend ends after its client has gone,
        # and until it has, the lock is still its (the next run, at once, found it held).
        with contextlib.suppress(Exception):  # a lost connection released it already
            lock.conn.execute("SELECT pg_advisory_unlock(%s, %s)", LOCK_KEYS)
        lock.conn.close()


class RunLock:
    """The run lock, held by the session `conn`."""

    def __init__(self, conninfo: str, conn: Any) -> None:
        self.conninfo = conninfo
        self.conn = conn

    def confirm(self) -> bool:
        """Make sure the lock is still held, before a revision: a DBA's
        `pg_terminate_backend` (or a pooler, a network cut) ending its session frees it, and
        the run went on unaware, a second run free to start beside it. Taken again on a new
        session where it is still free (True: it was lost and is held again).

        Raises:
            LockHeld: another run took it meanwhile.
        """
        import psycopg

        try:
            self.conn.execute("SELECT 1")
            return False
        except psycopg.OperationalError:
            self.conn.close()
        try:
            self.conn = _take(self.conninfo)
        except LockHeld as exc:
            raise LockHeld(f"the session holding this run's lock was ended, and {exc.held}",
                           "this run stopped before its next revision; run it again when "
                           "the other has finished") from None
        return True


def _take(conninfo: str) -> Any:
    """A session holding the lock, or LockHeld naming the one that does."""
    conn = connect(conninfo, application_name="dbsafe lock")
    try:
        if conn.info.server_version >= 140000:  # idle the whole run: not ended for it
            conn.execute("SET idle_session_timeout = 0")
        for _attempt in range(2):
            got = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", LOCK_KEYS).fetchone()
            if got and got[0]:
                return conn
            held = holder(conn)
            if held is not None:  # else it was released a moment ago: try once more
                raise LockHeld(f"another dbsafe run holds the upgrade lock on this database "
                               f"({held.describe()})")
        raise LockHeld("another dbsafe run holds the upgrade lock on this database")
    except BaseException:
        conn.close()
        raise


@dataclass(frozen=True, slots=True)
class Holder:
    """The session holding the lock: a run's, while it runs."""

    pid: int
    host: str
    since: datetime | None  # its connection's start (None: not the reader's to see)
    application: str | None

    def describe(self) -> str:
        return (f"pid {self.pid} from {self.host}"
                + (f", connected since {self.since:%Y-%m-%d %H:%M:%S %Z}" if self.since else "")
                + (f", {self.application}" if self.application else ""))


def holder(conn: Any) -> Holder | None:
    """The session holding the lock on `conn`'s database now; None when no run holds it.

    pg_locks shows every session's locks to any role; pg_stat_activity hides another
    role's connection start (without pg_read_all_stats), and then `since` is None.
    """
    row = conn.execute(
        "SELECT a.pid, coalesce(host(a.client_addr), a.client_hostname, 'local socket'), "
        "a.backend_start, a.application_name FROM pg_locks l "
        "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
        "AND l.classid = %s AND l.objid = %s AND l.granted "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        LOCK_KEYS,
    ).fetchone()
    return Holder(*row) if row is not None else None

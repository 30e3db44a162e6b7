"""pg_dump and pg_restore killed from outside (the kernel's out-of-memory killer, a DBA's
`kill -9`): the error says so, in one line, exit 2.

Killed, pg_dump prints nothing: the backup's error was "pg_dump failed: no message". A
pg_restore killed while restoring into a server older than itself (PostgreSQL 15) was said
to have failed on the newer-only setting's error it had printed, which a restore lets
through. Each tool is killed while it waits: pg_dump for a table's lock the test holds,
pg_restore in an index build that sleeps (its expression calls pg_sleep in the copy only).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.guard.backup import APPLICATION_NAME

pytestmark = pytest.mark.db

KILLED = "killed by SIGKILL (signal 9)"


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))}


def _pids(tool: str, argument: str) -> list[int]:
    """The processes of `tool` (pg_dump, pg_restore) with `argument` in their command line."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if args[0].endswith(tool.encode()) and any(argument.encode() in a for a in args):
            found.append(int(entry.name))
    return found


def _until(condition: Callable[[], object], proc: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + 120
    while not condition():
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _kill(tool: str, argument: str) -> None:
    (pid,) = _pids(tool, argument)
    os.kill(pid, signal.SIGKILL)


def _backup_waiting(database_url: str, backups: Path, options: list[str],
                    watcher: psycopg.Connection) -> subprocess.Popen[str]:
    """`dbsafe backup` started and, once its pg_dump waits for a table's lock (held by the
    caller), returned."""
    dbsafe = subprocess.Popen(
        [sys.executable, "-m", "dbsafe", "backup", "--database-url", database_url,
         "--backup-dir", str(backups), "--lock-timeout", "1h", *options],
        cwd=backups.parent, env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    try:
        _until(lambda: watcher.execute(
            "SELECT 1 FROM pg_stat_activity WHERE application_name = %s AND wait_event_type "
            "= 'Lock' AND query ILIKE 'LOCK TABLE%%'", (APPLICATION_NAME,)).fetchone(),
            dbsafe, "pg_dump never waited for the lock")
    except BaseException:
        dbsafe.kill()
        raise
    return dbsafe


@pytest.mark.parametrize("options", [[], ["--verify-restore"]], ids=["dump", "dump-and-count"])
def test_a_killed_pg_dump_is_said_to_be_killed(database_url: str, tmp_path: Path,
                                               options: list[str]) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)")
    backups = tmp_path / "backups"
    holder = psycopg.connect(database_url)
    watcher = psycopg.connect(database_url, autocommit=True)  # (a transaction's view stays)
    try:
        holder.execute("LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
        dbsafe = _backup_waiting(database_url, backups, options, watcher)
        try:
            _kill("pg_dump", f"--file={backups}")
            holder.rollback()  # (the row count of --verify-restore waits for the lock too)
            _, stderr = dbsafe.communicate(timeout=120)
        finally:
            if dbsafe.poll() is None:
                dbsafe.kill()
    finally:
        holder.close()
        watcher.close()
    (line,) = stderr.splitlines()
    assert dbsafe.returncode == 2, stderr
    assert line.startswith(f"dbsafe: error: pg_dump into {backups}{os.sep}"), line
    assert line.endswith(f".dump failed: {KILLED}"), line
    assert list(backups.iterdir()) == []  # the partial file is removed


# An index whose expression sleeps in any database but the source: pg_restore's CREATE INDEX
# (after the data) waits there until it is killed.
SLOW_INDEX = """
CREATE TABLE t (id int);
INSERT INTO t VALUES (1);
CREATE FUNCTION public.slow(i int) RETURNS int LANGUAGE sql IMMUTABLE AS $$
    SELECT i FROM pg_catalog.pg_sleep(
        CASE WHEN pg_catalog.current_database() = {source} THEN 0 ELSE 3600 END) $$;
CREATE INDEX t_slow ON t (public.slow(id));
"""


@contextlib.contextmanager
def _restoring(source: str, tmp_path: Path, copy: str
               ) -> Iterator[tuple[subprocess.Popen[str], Path, psycopg.Connection]]:
    """Back up `source` and start `dbsafe restore` of it into `copy`; once pg_restore
    sleeps in the index build, dbsafe, the backup and a connection to `postgres`. Then
    dbsafe is killed if it still runs, and the copy dropped."""
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(sql.SQL(SLOW_INDEX).format(
            source=sql.Literal(conninfo_to_dict(source)["dbname"])))
    settings = load_settings(tmp_path, {"database-url": source}, environ={})
    backup = Path(str(commands.backup(settings, tmp_path / "b").summary["backup"]))
    admin = psycopg.connect(make_conninfo(source, dbname="postgres"), autocommit=True)
    try:
        dbsafe = subprocess.Popen(
            [sys.executable, "-m", "dbsafe", "restore", str(backup), "--database-url", source,
             "--into", copy], cwd=tmp_path, env=_env(), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            _until(lambda: admin.execute(
                "SELECT 1 FROM pg_stat_activity WHERE datname = %s AND wait_event = 'PgSleep'",
                (copy,)).fetchone(), dbsafe, "pg_restore never built the index")
            yield dbsafe, backup, admin
        finally:
            if dbsafe.poll() is None:
                dbsafe.kill()
    finally:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(copy)))
        admin.close()


def _restore_killed(source: str, tmp_path: Path) -> tuple[int, list[str], str]:
    """Back up `source`, restore it into a new database, kill pg_restore in the index build;
    dbsafe's exit status, its stderr's lines and the copy's name."""
    copy = f"{conninfo_to_dict(source)['dbname']}_killed"
    with _restoring(source, tmp_path, copy) as (dbsafe, backup, _admin):
        _kill("pg_restore", str(backup))
        _, stderr = dbsafe.communicate(timeout=120)
    return dbsafe.returncode, stderr.splitlines(), copy


def _said_killed(copy: str) -> str:
    return (f"dbsafe: error: pg_restore into {copy} failed: {KILLED} (the half-restored "
            f"database {copy} is kept; `dbsafe restore --clean-up` drops it)")


def test_a_killed_pg_restore_is_said_to_be_killed(database_url: str, tmp_path: Path) -> None:
    returncode, lines, copy = _restore_killed(database_url, tmp_path)
    assert (returncode, lines[-1]) == (2, _said_killed(copy)), lines


@pytest.mark.xdist_group("pg15")  # one 15 cluster
def test_a_pg_restore_killed_into_an_older_server_is_said_to_be_killed(
        new_pg15_database: Callable[[], str], tmp_path: Path) -> None:
    returncode, lines, copy = _restore_killed(new_pg15_database(), tmp_path)
    assert (returncode, lines[-1]) == (2, _said_killed(copy)), lines


# dbsafe itself killed outright (SIGKILL, the out-of-memory killer): its pg_dump and
# pg_restore, in process groups of their own, lived on. pg_dump went on waiting for the
# table's lock, its session queued (every ALTER TABLE queued behind it); pg_restore went on
# filling its copy. Now they get SIGTERM when dbsafe dies, and cancel their sessions.

GONE_WITHIN = 10.0  # seconds


def _left_behind(tool: str, argument: str, watcher: psycopg.Connection,
                 sessions: list[int]) -> tuple[list[int], list[tuple]]:
    """Once `tool`'s processes and `sessions`' locks are gone, or after GONE_WITHIN
    seconds: the processes and the locks left (the processes then killed)."""
    deadline = time.monotonic() + GONE_WITHIN
    while True:
        pids = _pids(tool, argument)
        locks = watcher.execute("SELECT pid, locktype, mode, granted FROM pg_locks "
                                "WHERE pid = ANY(%s)", (sessions,)).fetchall()
        if not (pids or locks) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    for pid in pids:
        os.killpg(pid, signal.SIGKILL)  # (a group of its own)
    return pids, locks


@pytest.mark.parametrize("options", [[], ["--jobs", "2"], ["--verify-restore"]],
                         ids=["dump", "jobs", "dump-and-count"])
def test_a_killed_backup_takes_its_pg_dump_and_its_locks_with_it(
        database_url: str, tmp_path: Path, options: list[str]) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)")
    backups = tmp_path / "backups"
    holder = psycopg.connect(database_url)
    watcher = psycopg.connect(database_url, autocommit=True)
    try:
        holder.execute("LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
        dbsafe = _backup_waiting(database_url, backups, options, watcher)
        try:
            assert _pids("pg_dump", f"--file={backups}")
            sessions = [row[0] for row in watcher.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s",
                (APPLICATION_NAME,))]
            dbsafe.kill()
            dbsafe.communicate(timeout=60)
            # Still held: what pg_dump's session waited for is not granted meanwhile.
            left = _left_behind("pg_dump", f"--file={backups}", watcher, sessions)
        finally:
            if dbsafe.poll() is None:
                dbsafe.kill()
    finally:
        holder.close()
        watcher.close()
    assert left == ([], [])


def test_a_killed_restore_takes_its_pg_restore_with_it(database_url: str,
                                                       tmp_path: Path) -> None:
    copy = f"{conninfo_to_dict(database_url)['dbname']}_dbsafe_killed"
    with _restoring(database_url, tmp_path, copy) as (dbsafe, backup, admin):
        sessions = [row[0] for row in admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (copy,))]
        dbsafe.kill()
        dbsafe.communicate(timeout=60)
        left = _left_behind("pg_restore", str(backup), admin, sessions)
    assert left == ([], [])

"""The backup's pg_dump against a session holding a conflicting lock on a table.

pg_dump takes ACCESS SHARE on every table it dumps first; behind a session holding ACCESS
EXCLUSIVE (`BEGIN; LOCK TABLE t;` left open) it waited, silently, for as long as that
session stayed: `dbsafe backup`, and `upgrade`'s and `downgrade`'s backup before anything
runs, sat at "pg_dump ..." for ever. Each wait is now bounded by the lock timeout, retried
with backoff, and the retries and the give-up name the holder (never its query).

Without the bound these tests would hang: `_unblocked_if_unbounded` ends the holder once a
wait has lasted a hundred times the lock timeout they give, so they fail on what they assert.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.core import DatabaseError, DbsafeError
from dbsafe.guard.backup import take_backup
from dbsafe.guard.downgrade import DowngradeOptions
from tests.guard.test_upgrade import _at, _options, _project, _settings, _state

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

LOCK_TIMEOUT = "300ms"
# In the holder's last query, which pg_stat_activity shows: no message may carry it.
MARKER = "marker-7301"


@contextlib.contextmanager
def _unblocked_if_unbounded(url: str, holder: psycopg.Connection) -> Iterator[list[int]]:
    """Watch the database for a lock wait lasting 30 s (a hundred lock timeouts): the wait
    is not bounded. Then end `holder`, so the code under test goes on and the test fails on
    its assertions instead of hanging; the list says whether it had to."""
    pid = holder.info.backend_pid
    ended: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            while not stop.wait(0.1):
                row = conn.execute(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted "
                    "AND waitstart < clock_timestamp() - interval '30 s'").fetchone()
                if row and row[0]:
                    ended.append(pid)
                    conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
                    return

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield ended
    finally:
        stop.set()
        thread.join()


def _holder(url: str, table: str = "t") -> psycopg.Connection:
    """A session idle in its transaction holding ACCESS EXCLUSIVE on `table`, its last
    query one that names MARKER."""
    holder = psycopg.connect(url, application_name="nightly-report")
    holder.execute(f"LOCK TABLE {table}")
    holder.execute(f"SELECT '{MARKER}'")
    return holder


def _tables(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE a (id int); CREATE TABLE t (id int); "
                     "INSERT INTO t VALUES (1), (2)")


@pytest.mark.parametrize("count_rows", [False, True], ids=["dump", "dump-and-count"])
def test_backup_behind_a_lock_holder_gives_up_naming_it_and_keeps_no_file(
        database_url: str, tmp_path: Path, count_rows: bool) -> None:
    _tables(database_url)
    holder = _holder(database_url)
    pid, user = holder.info.backend_pid, holder.info.user
    said: list[str] = []
    try:
        with _unblocked_if_unbounded(database_url, holder) as ended, \
                pytest.raises(DatabaseError) as failure:
            take_backup(database_url, tmp_path / "backups", count_rows=count_rows,
                        lock_timeout=LOCK_TIMEOUT, retries=1, retry_delay=0.05,
                        progress=lambda step, message: said.append(f"{step}: {message}"))
    finally:
        holder.close()

    assert not ended, "pg_dump waited for the lock unbounded"
    message = str(failure.value)
    named = (f"blocked by pid {pid} (application_name 'nightly-report', user "
             f"{user}, idle in transaction, transaction open ")
    assert named in message and "holding ACCESS EXCLUSIVE on public.t" in message, message
    assert "in each of 2 attempts" in message and "\n" not in message, message
    (retry,) = [s for s in said if "retrying in" in s]
    assert retry.startswith("backup: pg_dump waited 300ms") and named in retry, said
    assert MARKER not in message and MARKER not in "\n".join(said)
    assert list((tmp_path / "backups").iterdir()) == []  # the partial dump removed


@pytest.mark.parametrize("count_rows", [False, True], ids=["dump", "dump-and-count"])
def test_backup_waits_out_a_holder_that_leaves(database_url: str, tmp_path: Path,
                                               count_rows: bool) -> None:
    _tables(database_url)
    holder = _holder(database_url)
    said: list[str] = []

    def progress(step: str, message: str) -> None:
        said.append(message)
        if "retrying in" in message:
            holder.rollback()  # the report ends its transaction during the backoff

    try:
        with _unblocked_if_unbounded(database_url, holder) as ended:
            backup = take_backup(database_url, tmp_path / "backups", count_rows=count_rows,
                                 lock_timeout=LOCK_TIMEOUT, retries=2, retry_delay=0.05,
                                 progress=progress)
    finally:
        holder.close()

    assert not ended, "pg_dump waited for the lock unbounded"
    assert len([s for s in said if "retrying in" in s]) == 1, said
    assert sorted(p.name for p in (tmp_path / "backups").iterdir()) == [
        backup.path.name, backup.manifest.name]
    manifest = json.loads(backup.manifest.read_text())
    if count_rows:
        assert manifest["row_counts"] == {"public.a": 0, "public.t": 2}
    listed = subprocess.run([sys.executable, "-c", "import sys; from dbsafe.guard.backup "
                             "import verify_backup; print(verify_backup(__import__('pathlib')"
                             ".Path(sys.argv[1])))", str(backup.path)],
                            capture_output=True, text=True, check=True)
    assert int(listed.stdout) > 0


def test_dbsafe_backup_behind_a_lock_holder_exits_2_with_one_line(database_url: str,
                                                                 tmp_path: Path) -> None:
    _tables(database_url)
    holder = _holder(database_url)
    pid = holder.info.backend_pid
    try:
        with _unblocked_if_unbounded(database_url, holder) as ended:
            proc = subprocess.run(
                [sys.executable, "-m", "dbsafe", "backup", "--database-url", database_url,
                 "--backup-dir", str(tmp_path / "backups"), "--lock-timeout", LOCK_TIMEOUT,
                 "--retries", "0"],
                cwd=tmp_path, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                check=False)
    finally:
        holder.close()

    assert not ended, "pg_dump waited for the lock unbounded"
    assert proc.returncode == 2, proc.stderr
    (line,) = [x for x in proc.stderr.splitlines() if "pg_dump waited" in x]
    assert f"blocked by pid {pid} (application_name 'nightly-report'" in line, proc.stderr
    assert "ACCESS EXCLUSIVE on public.t" in line and "no backup was kept" in line, line
    assert "Traceback" not in proc.stderr and MARKER not in proc.stderr
    assert list((tmp_path / "backups").iterdir()) == []


@pytest.mark.parametrize("operation", ["upgrade", "downgrade"])
def test_a_run_whose_backup_is_blocked_stops_before_applying_anything(
        database_url: str, tmp_path: Path, operation: str) -> None:
    """The lock is taken once the preflight is done (its lint reads the schema with a
    pg_dump of its own), as the backup starts."""
    root = _project(tmp_path / "p")
    _at(database_url, "0002" if operation == "upgrade" else "0004", root)
    before = _state(database_url)
    holder = psycopg.connect(database_url, application_name="nightly-report")
    said: list[str] = []

    def progress(step: str, message: str) -> None:
        said.append(f"{step}: {message}")
        if step == "backup" and message == "pg_dump …":
            holder.execute("LOCK TABLE patients")

    settings = _settings(root, database_url)
    try:
        with _unblocked_if_unbounded(database_url, holder) as ended, \
                pytest.raises(DbsafeError) as failure:
            if operation == "upgrade":
                commands.upgrade(settings, _options(tmp_path, lock_timeout=LOCK_TIMEOUT,
                                                    retries=1), progress)
            else:
                commands.downgrade(settings, DowngradeOptions(
                    target="0002", yes=True, lock_timeout=LOCK_TIMEOUT, retries=1,
                    retry_delay=0.05, backup_dir=tmp_path / "backups"), progress)
        pid = holder.info.backend_pid
    finally:
        holder.close()

    assert not ended, "pg_dump waited for the lock unbounded"
    message = str(failure.value)
    assert message.startswith("the backup failed, so nothing was applied: pg_dump waited "
                              "300ms for a table's lock in each of 2 attempts; "), message
    assert f"blocked by pid {pid} (application_name 'nightly-report'" in message, message
    assert any("retrying in" in s and f"pid {pid}" in s for s in said), said
    assert not any(s.startswith("apply:") for s in said), said
    assert _state(database_url) == before
    assert not list((tmp_path / "backups").glob("*.dump"))


def test_an_upgrade_behind_a_holder_from_the_start_lints_then_stops_at_the_backup(
        database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The holder is there before the run: the preflight's lint no longer waits on the
    table sizes (it hung there), its schema copy gives up once and the lint goes on from
    an empty database; the backup waits, retries and stops the run naming the holder."""
    from dbsafe.pg import schema_copy

    monkeypatch.setattr(schema_copy, "LOCK_WAIT", LOCK_TIMEOUT)
    root = _project(tmp_path / "p")
    _at(database_url, "0002", root)
    before = _state(database_url)
    holder = _holder(database_url, "patients")
    pid = holder.info.backend_pid
    said: list[str] = []
    try:
        with _unblocked_if_unbounded(database_url, holder) as ended, \
                pytest.raises(DbsafeError) as failure:
            commands.upgrade(_settings(root, database_url),
                             _options(tmp_path, lock_timeout=LOCK_TIMEOUT, retries=1),
                             lambda step, message: said.append(f"{step}: {message}"))
    finally:
        holder.close()

    assert not ended, "the run waited for the lock unbounded"
    assert "preflight: lint: the pending revisions pass" in said, said
    message = str(failure.value)
    assert message.startswith("the backup failed, so nothing was applied: pg_dump waited "
                              "300ms for a table's lock in each of 2 attempts; "), message
    assert f"blocked by pid {pid} (application_name 'nightly-report'" in message, message
    assert MARKER not in message and MARKER not in "\n".join(said)
    assert not any(s.startswith("apply:") for s in said), said
    assert _state(database_url) == before

"""`dbsafe backup` interrupted (Ctrl-C sent to dbsafe, CI's SIGTERM) while pg_dump runs.

Killed alone, pg_dump left its server sessions behind: one waiting for a table's lock stayed
queued for it (behind the migration that holds it, and ahead of every session asking after
it), with `--jobs` the workers kept copying and the leader's session, inherited by each
worker, stayed idle in transaction with ACCESS SHARE on every table; with `--verify-restore`
pg_dump was not stopped at all and went on writing the file dbsafe had removed. Each case
here interrupts a pg_dump waiting for a lock the test holds (the lock is never released:
without the stop, the session would wait for as long as the test runs).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from dbsafe.guard.backup import APPLICATION_NAME

pytestmark = pytest.mark.db


def _dumps(url: str) -> list[tuple[int, str | None]]:
    """pid and wait event of the backup's pg_dump sessions on `url`'s server."""
    with psycopg.connect(url, autocommit=True) as conn:
        return [(r[0], r[1]) for r in conn.execute(
            "SELECT pid, wait_event_type FROM pg_stat_activity WHERE application_name = %s "
            "AND query ILIKE 'LOCK TABLE%%'", (APPLICATION_NAME,))]


@pytest.mark.parametrize("options", [[], ["--jobs", "2"], ["--verify-restore"]],
                         ids=["custom", "jobs", "verify-restore"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_backup_leaves_no_pg_dump_session_and_no_file(
        database_url: str, tmp_path: Path, options: list[str], signum: int) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)")
    backups = tmp_path / "backups"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))}
    with psycopg.connect(database_url) as holder:
        holder.execute("LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
        dbsafe = subprocess.Popen(
            [sys.executable, "-m", "dbsafe", "backup", "--database-url", database_url,
             "--backup-dir", str(backups), "--lock-timeout", "1h", *options],
            cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True,
            # Python ignores SIGINT it was started with ignored, as a background job is.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        try:
            deadline = time.monotonic() + 120
            while not any(event == "Lock" for _, event in _dumps(database_url)):
                assert dbsafe.poll() is None, dbsafe.communicate()[1]
                assert time.monotonic() < deadline, "pg_dump never waited for the lock"
                time.sleep(0.05)
            dbsafe.send_signal(signum)
            _, stderr = dbsafe.communicate(timeout=120)
        finally:
            if dbsafe.poll() is None:
                dbsafe.kill()
        assert dbsafe.returncode in (130, 143), stderr
        assert "Traceback" not in stderr
        # The lock is still held: a pg_dump session left behind would stay queued for it.
        deadline = time.monotonic() + 60
        while _dumps(database_url):
            assert time.monotonic() < deadline, (
                f"pg_dump's sessions outlived dbsafe: {_dumps(database_url)}")
            time.sleep(0.05)
    assert [p.name for p in backups.iterdir()] == [], "a partial backup was left"


# A session starting in the scratch database holds a lock on the database (taken before its
# start reads the catalogs) and waits for the test's lock on pg_parameter_acl. Looked for in
# pg_locks: PostgreSQL 15 lists a session in pg_stat_activity only once it has started (18
# lists it while it starts), and on 15 the test sent its interrupt only when dbsafe, its
# connection to the copy timed out after 10 s, was already dropping the copy.
_RESTORE_WAITING = """
SELECT EXISTS (SELECT FROM pg_database AS d
               JOIN pg_locks AS held ON held.locktype = 'object' AND held.granted
                AND held.classid = 'pg_catalog.pg_database'::regclass AND held.objid = d.oid
               JOIN pg_locks AS waiting ON waiting.pid = held.pid AND NOT waiting.granted
               WHERE d.datname LIKE 'dbsafe_verify%%' AND d.datname <> ALL(%s))
"""


def _scratch_databases(conn: psycopg.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT datname FROM pg_database "
                                       "WHERE datname LIKE 'dbsafe_verify%' ORDER BY 1")]


def _interrupt_verify_restore(database_url: str, tmp_path: Path, *, again_while_dropping: bool
                              ) -> tuple[int, str, list[str]]:
    """Run `backup --verify-restore` with pg_parameter_acl locked, interrupt it once its
    restore waits for the lock (and, `again_while_dropping`, a second time while it drops
    the copy, which waits for the sessions starting in it); dbsafe's stderr and the scratch
    databases it left (ones there before, a shared server's, are not counted), with its exit status."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)")
        before = _scratch_databases(conn)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))}
    # The test's own session is opened before the lock: a session starting while it is held
    # may read pg_parameter_acl too (once another test's CREATE DATABASE on the server has
    # made the shared relcache be built again) and would wait with dbsafe's until the
    # connect timeout.
    watcher = psycopg.connect(database_url, autocommit=True)

    def verifying() -> bool:
        return watcher.execute(_RESTORE_WAITING, (before,)).fetchone() == (True,)

    def dropping() -> bool:
        return watcher.execute("SELECT EXISTS (SELECT FROM pg_stat_activity WHERE query "
                               "LIKE 'DROP DATABASE \"dbsafe_verify%%')").fetchone() == (True,)

    with watcher, psycopg.connect(database_url) as holder:
        holder.execute("LOCK TABLE pg_catalog.pg_parameter_acl IN ACCESS EXCLUSIVE MODE")
        dbsafe = subprocess.Popen(
            [sys.executable, "-m", "dbsafe", "backup", "--database-url", database_url,
             "--backup-dir", str(tmp_path / "b"), "--verify-restore"],
            cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        try:
            deadline = time.monotonic() + 120
            while not verifying():
                assert dbsafe.poll() is None, dbsafe.communicate()[1]
                assert time.monotonic() < deadline, "the restore never waited for the lock"
                time.sleep(0.05)
            dbsafe.send_signal(signal.SIGINT)
            # Dropping the copy waits for the sessions starting in it, which wait for the
            # test's lock: it is let go once dbsafe drops the copy (or has exited).
            while dbsafe.poll() is None and not dropping():
                assert time.monotonic() < deadline + 120, "dbsafe neither dropped nor exited"
                time.sleep(0.05)
            if again_while_dropping:
                assert dbsafe.poll() is None, dbsafe.communicate()[1]
                dbsafe.send_signal(signal.SIGINT)
                dbsafe.wait(timeout=120)
            holder.rollback()
            _, stderr = dbsafe.communicate(timeout=120)
        finally:
            if dbsafe.poll() is None:
                dbsafe.kill()
                dbsafe.communicate()  # (reaped, its pipe closed: no warning in a later test)
    with psycopg.connect(database_url, autocommit=True) as conn:
        left = [name for name in _scratch_databases(conn) if name not in before]
    return dbsafe.returncode, stderr, left


def test_an_interrupted_verify_restore_drops_its_scratch_database(database_url: str,
                                                                 tmp_path: Path) -> None:
    """Interrupted while restoring into its scratch database, `backup --verify-restore`
    left that whole copy on the server as "half-restored" (for `restore --clean-up`). Here
    the restore waits on a lock the test holds: a session's start in a database new to
    the server reads pg_parameter_acl (a shared catalog pg_dump does not read), so the
    sessions of pg_restore and of dbsafe wait for it in the scratch database."""
    returncode, stderr, left = _interrupt_verify_restore(database_url, tmp_path,
                                                         again_while_dropping=False)
    assert returncode == 130, stderr
    assert "it was dropped" in stderr and "Traceback" not in stderr, stderr
    assert "dbsafe: interrupted" in stderr, stderr
    assert left == [], left
    # The backup itself was taken and kept, not verified.
    [manifest] = (tmp_path / "b").glob("*.manifest.json")
    assert "verified_restore" not in manifest.read_text()


def test_a_verify_restore_interrupted_while_dropping_its_scratch_database_names_it(
        database_url: str, tmp_path: Path) -> None:
    """Interrupted again while it drops the copy (which waits for the sessions starting in
    it), dbsafe left the copy on the server without a word: it names it, and `restore
    --clean-up` drops it."""
    from dbsafe.guard.restore import drop_half_restored

    returncode, stderr, left = _interrupt_verify_restore(database_url, tmp_path,
                                                         again_while_dropping=True)
    assert returncode == 130, stderr
    [name] = left
    assert (f"could not drop the scratch database {name}: interrupted; `dbsafe restore "
            "--clean-up` drops it") in stderr, stderr
    assert "dbsafe: interrupted" in stderr and "Traceback" not in stderr, stderr
    # (pg_restore's sessions, let start, see their client gone and leave)
    deadline = time.monotonic() + 30
    while name not in drop_half_restored(database_url, [name]):
        assert time.monotonic() < deadline, f"{name} was not one `restore --clean-up` drops"
        time.sleep(0.1)


def test_a_scratch_database_still_being_created_is_not_made_after_it_was_looked_for(
        database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    """dbsafe interrupted while its CREATE DATABASE of the scratch copy runs: looked for
    while that statement still ran in its session (client gone), the copy was not there
    yet, nothing was said, and the statement made it afterwards. The session is ended
    first. Here the CREATE DATABASE waits for the test's lock on pg_database."""
    import threading

    from dbsafe.guard.restore import _drop_scratch

    with psycopg.connect(database_url, autocommit=True) as conn:
        name = f"dbsafe_verify_t519_{conn.info.backend_pid}"
    created: list[BaseException | None] = []

    def create() -> None:
        try:
            with psycopg.connect(database_url, autocommit=True) as creator:
                creator.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
            created.append(None)
        except psycopg.Error as exc:
            created.append(exc)

    with psycopg.connect(database_url, autocommit=True) as watcher:
        try:
            with psycopg.connect(database_url) as holder:
                holder.execute("LOCK TABLE pg_catalog.pg_database IN EXCLUSIVE MODE")
                creating = threading.Thread(target=create)
                creating.start()
                deadline = time.monotonic() + 30
                while watcher.execute(
                        "SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE query LIKE "
                        "'CREATE DATABASE %%' AND wait_event_type = 'Lock')").fetchone()[0]:
                    assert time.monotonic() < deadline, "CREATE DATABASE never waited"
                    time.sleep(0.05)
                _drop_scratch(database_url, name)
            creating.join(timeout=60)
            assert created and isinstance(created[0], psycopg.OperationalError), created
            assert watcher.execute("SELECT FROM pg_database WHERE datname = %s",
                                   (name,)).fetchone() is None
        finally:
            watcher.execute(f'DROP DATABASE IF EXISTS "{name}"')

"""The server goes away under a guarded command: stopped mid-revision (a restart, a
failover, `pg_ctl stop`), or a session ended by a DBA's `pg_terminate_backend`.

Stopped under `dbsafe upgrade`, the run used to end in `could not connect to ...; check the
URL, that the server is running and the credentials`, from the look it takes at the database
after the failed revision: it read as a wrong URL and did not say a revision was cut off.
Once the next upgrade had repaired the run, the history showed it as `base -> base`, though
it had applied 0001. `backup --verify-restore` whose pg_restore session was ended recorded
the backup as one that does not restore (`RESTORE FAILED`). Stopped after a revision
committed (between two, or before the postflight), the run ended in the same plain
`could not connect`, saying neither where it was nor which revision the database was at.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from dbsafe.guard import history
from dbsafe.guard.lock import LOCK_KEYS
from dbsafe.pg.throwaway import bin_dir, cluster_from
from tests.migrate.projects import write_project

pytestmark = pytest.mark.db

# 0002 sleeps as long as the database says: on the database stopped under it, not on the
# throwaway copy the preflight lints the history on, nor once the setting is reset.
REVISIONS = {
    "0001_patients.py": ("0001", None, ["CREATE TABLE patients (id bigint PRIMARY KEY)"],
                         "DROP TABLE patients"),
    "0002_orders.py": ("0002", "0001", [
        "CREATE TABLE orders (id bigint PRIMARY KEY)",
        "SELECT pg_sleep(coalesce(current_setting('dbsafe_test.sleep', true), '0')::float)",
    ], "DROP TABLE orders"),
    "0003_visits.py": ("0003", "0002", ["CREATE TABLE visits (id bigint PRIMARY KEY)"],
                       "DROP TABLE visits; SELECT pg_sleep(coalesce(current_setting("
                       "'dbsafe_test.down_sleep', true), '0')::float)"),
}


@pytest.fixture
def cluster() -> Iterator[tuple[str, Path]]:
    """A server of its own (this test stops it): its `postgres` conninfo and data directory."""
    with cluster_from(bin_dir()) as conninfo:
        socket_dir = Path(conninfo.split()[0].removeprefix("host="))
        try:
            yield conninfo, socket_dir
        finally:  # left stopped by a failure: running again, for cluster_from to stop it
            if not (socket_dir / "data" / "postmaster.pid").exists():
                _start(socket_dir)


def _start(socket_dir: Path) -> None:
    _pg_ctl(socket_dir, "-l", str(socket_dir / "log"), "-o",
            f"-h '' -k {socket_dir} -p 5432 -c fsync=off", "start")


def _pg_ctl(socket_dir: Path, *args: str) -> None:
    """`pg_ctl` on the cluster, as the user owning it (pg_ctl refuses root)."""
    data = socket_dir / "data"
    owner = data.stat()
    drop = {} if os.geteuid() != 0 else {"user": owner.st_uid, "group": owner.st_gid,
                                          "extra_groups": []}
    subprocess.run([str(bin_dir() / "pg_ctl"), "-D", str(data), "-w", *args], check=True,
                   capture_output=True, **drop)  # type: ignore[call-overload]


def _write_history(root: Path) -> None:
    versions = root / "migrations" / "versions"
    for path in versions.glob("*.py"):
        path.unlink()
    for name, (revision, down, up, down_sql) in REVISIONS.items():
        body = "".join(f"\n    op.execute({statement!r})" for statement in up)
        (versions / name).write_text(
            f'"""{name}"""\nfrom alembic import op\n\nrevision = "{revision}"\n'
            f"down_revision = {down!r}\n\n\ndef upgrade():{body}\n\n\n"
            f"def downgrade():\n    op.execute({down_sql!r})\n")


@pytest.fixture(scope="module")
def lint_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One lint cache for the module's runs: every test lints the same history from an empty
    database, so only the first run's preflight starts a throwaway server to lint it (3-5 s);
    the others' go from connecting to applying in about a second."""
    return tmp_path_factory.mktemp("lint-cache")


def _project(tmp_path: Path, url: str, cache: Path) -> Callable[..., subprocess.Popen[str]]:
    """The project on the history above, and how to start `dbsafe ARGS` in it on `url`
    (with the lint cache `cache`)."""
    root = tmp_path / "p"
    write_project(root, "well_behaved")
    _write_history(root)
    (root / "app" / "queries.sql").write_text("SELECT id FROM patients;\n")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))},
           "DBSAFE_DATABASE_URL": url, "DBSAFE_CACHE_DIR": str(cache)}

    def dbsafe(*args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "dbsafe", *args], cwd=root, env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    return dbsafe



_SLEEPING = "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'"


def _last_line_once_stopped(run: subprocess.Popen, url: str, socket_dir: Path, what: str,
                            stop: tuple[str, ...], *, timeout: float) -> str:
    """Stop the server (`pg_ctl STOP... stop`) once `run`'s revision sleeps on `url`; `run`
    must end with exit 2 and no traceback: its last line of stderr. (`what`: see `_until`.)"""
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            _until(conn, run, what)
        _pg_ctl(socket_dir, *stop, "stop")
        _, err = run.communicate(timeout=timeout)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 2, err
    assert "Traceback" not in err
    return err.splitlines()[-1]


def _until(conn: psycopg.Connection, run: subprocess.Popen, what: str,
           query: str = _SLEEPING) -> None:
    """Poll `query` on `conn` until it counts a session (at most 120 s), `run` still going:
    `what` names what never happened."""
    deadline = time.monotonic() + 120
    while conn.execute(query).fetchone() == (0,):
        assert run.poll() is None, run.communicate()
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_a_server_stopped_mid_revision_is_said_and_the_next_upgrade_repairs_the_run(
        cluster: tuple[str, Path], tmp_path: Path, lint_cache: Path) -> None:
    conninfo, socket_dir = cluster
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE DATABASE shop")
        conn.execute("ALTER DATABASE shop SET dbsafe_test.sleep = 60")
    url = f"postgresql://postgres@/shop?host={socket_dir}&port=5432"
    dbsafe = _project(tmp_path, url, lint_cache)

    run = dbsafe("upgrade", "--no-backup", "--fail-on", "error")
    last = _last_line_once_stopped(run, url, socket_dir, "0002 never started",
                                   ("-m", "fast"), timeout=60)
    assert last.startswith("dbsafe: error: revision 0002 (file migrations/versions/"
                           "0002_orders.py): terminating connection due to administrator "
                           "command; then the server could not be reached"), last
    assert last.endswith("Once the server is back, `dbsafe status` says which revision the "
                         "database is at and the next `dbsafe upgrade` removes what was "
                         "left half way"), last

    _start(socket_dir)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ALTER DATABASE shop RESET dbsafe_test.sleep")
    status = dbsafe("status")
    out, err = status.communicate(timeout=120)
    assert status.returncode == 0, err
    assert "current: 0001" in out and " dead " in out, out

    again = dbsafe("upgrade", "--no-backup", "--fail-on", "error")
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err  # the run lock died with the stopped run's session
    assert "did not finish (at 0001); nothing was left behind" in err, err
    interrupted, = [e for e in history.entries(url) if e.outcome == "interrupted"]
    assert interrupted.to_revisions == ("0001",)


def test_verify_restore_cut_off_by_the_server_is_no_verdict_on_the_backup(
        database_url: str, tmp_path: Path) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        # Each row's CHECK sleeps in the scratch copy alone: pg_restore's COPY waits there.
        conn.execute("""
            CREATE FUNCTION public.slow_in_copy(int) RETURNS boolean LANGUAGE sql AS $$
              SELECT current_database() NOT LIKE 'dbsafe_verify%'
                     OR pg_sleep(60) IS NOT NULL $$;
            CREATE TABLE t (id int PRIMARY KEY CHECK (public.slow_in_copy(id)));
            INSERT INTO t SELECT generate_series(1, 3)""")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))}
    backups = tmp_path / "b"
    run = subprocess.Popen(
        [sys.executable, "-m", "dbsafe", "backup", "--verify-restore",
         "--database-url", database_url, "--backup-dir", str(backups)],
        cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        with psycopg.connect(database_url, autocommit=True) as conn:
            _until(conn, run, "pg_restore never reached the rows",
                   "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                   "WHERE datname LIKE 'dbsafe_verify%' AND application_name = 'pg_restore' "
                   "AND wait_event = 'PgSleep'")
        out, err = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()

    assert run.returncode == 2, (out, err)
    (backup,) = backups.glob("*.dump")
    last = err.splitlines()[-1]
    assert last.startswith(f"dbsafe: error: the backup {backup} was taken and kept, but "
                           "--verify-restore could not try it: pg_restore into "
                           "dbsafe_verify_"), last
    assert "was cut off: the server ended its session, the backup is not why (" in last, last
    assert last.endswith("); the scratch copy is dropped; run it again"), last
    manifest = json.loads(Path(f"{backup}.manifest.json").read_text())
    assert "verified_restore" not in manifest  # unverified, not "does not restore"
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM pg_database "
                            "WHERE datname LIKE 'dbsafe_verify%'").fetchone() == (0,)


def test_a_run_whose_lock_session_is_ended_stops_when_another_run_takes_the_lock(
        database_url: str, tmp_path: Path, lint_cache: Path) -> None:
    """A DBA's `pg_terminate_backend` on the idle `dbsafe lock` session frees the run lock:
    the run went on applying, unaware, beside a second run free to start. It confirms the
    lock before each revision: taken again where it is free, else it stops."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        name = conn.info.dbname
        conn.execute(f'ALTER DATABASE "{name}" SET dbsafe_test.sleep = 3')
    root = tmp_path / "p"
    write_project(root, "well_behaved")
    _write_history(root)
    (root / "app" / "queries.sql").write_text("SELECT id FROM patients;\n")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))},
           "DBSAFE_DATABASE_URL": database_url, "DBSAFE_CACHE_DIR": str(lint_cache)}
    run = subprocess.Popen([sys.executable, "-m", "dbsafe", "upgrade", "--no-backup",
                            "--fail-on", "error"], cwd=root, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    other = psycopg.connect(database_url, autocommit=True)  # the second run's lock
    try:
        _until(other, run, "0002 never started")
        deadline = time.monotonic() + 120
        assert other.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = 'dbsafe lock' AND datname = current_database()"
        ).fetchone() == (1,)
        while not other.execute("SELECT pg_try_advisory_lock(%s, %s)", LOCK_KEYS).fetchone()[0]:
            assert time.monotonic() < deadline, "the lock was never freed"
            time.sleep(0.05)
        out, err = run.communicate(timeout=120)
        current = other.execute("SELECT version_num FROM alembic_version").fetchall()
    finally:
        other.close()
        if run.poll() is None:
            run.kill()
            run.wait()

    assert run.returncode == 2, (out, err)
    last = err.splitlines()[-1]
    assert last.startswith("dbsafe: error: the session holding this run's lock was ended, "
                           "and another dbsafe run holds the upgrade lock on this database "
                           "(pid "), last
    assert last.endswith("); this run stopped before its next revision; run it again when "
                         "the other has finished"), last
    assert current == [("0002",)]  # 0003 was not applied beside the other run


@pytest.mark.parametrize(("command", "setting", "where", "at"), [
    (("upgrade",), "sleep",
     "after 0002 was applied (before 0003)", "0002"),
    (("upgrade", "0002"), "sleep",
     "after 0002 was applied (while verifying the upgrade)", "0002"),
    (("downgrade", "0001", "--yes"), "down_sleep",
     "after the downgrade to 0002 (before the downgrade to 0001)", "0002"),
])
def test_a_server_stopped_between_revisions_is_said_where(
        cluster: tuple[str, Path], tmp_path: Path, lint_cache: Path,
        command: tuple[str, ...], setting: str, where: str, at: str) -> None:
    """A smart shutdown lets the revision sleeping at its end commit, then refuses the run's
    next connection: between two revisions, or before the postflight."""
    conninfo, socket_dir = cluster
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE DATABASE shop")
    url = f"postgresql://postgres@/shop?host={socket_dir}&port=5432"
    dbsafe = _project(tmp_path, url, lint_cache)

    if command[0] == "downgrade":
        _, err = dbsafe("upgrade", "--no-backup").communicate(timeout=300)
        assert "Traceback" not in err, err
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE shop SET dbsafe_test.{setting} = 3")
    run = dbsafe(*command, "--no-backup", "--fail-on", "error")
    # Smart: the sleeping revision commits; no new connection is let in.
    last = _last_line_once_stopped(run, url, socket_dir, "the sleeping revision never started",
                                   ("-m", "smart", "-W"), timeout=120)
    assert last.startswith(f"dbsafe: error: the server could not be reached {where}: "
                           "could not connect to "), last
    assert last.endswith(f"; the database is at {at} (as last read); `dbsafe status` and "
                         "the next `dbsafe upgrade` take it from there"), last

    deadline = time.monotonic() + 60
    while (socket_dir / "data" / "postmaster.pid").exists():
        assert time.monotonic() < deadline, "the server never stopped"
        time.sleep(0.1)
    _start(socket_dir)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE shop RESET dbsafe_test.{setting}")
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(at,)]
    status = dbsafe("status")
    out, err = status.communicate(timeout=120)
    assert status.returncode == 0, err
    assert f"current: {at}" in out and " dead " in out, out
    again = dbsafe("upgrade", "--no-backup", "--fail-on", "error")
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    interrupted, = [e for e in history.entries(url) if e.outcome == "interrupted"]
    assert interrupted.to_revisions == (at,)

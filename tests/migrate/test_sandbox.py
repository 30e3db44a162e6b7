"""The sandbox: whatever URL a project's env.py comes up with, dbsafe's runs of its
migrations touch only the database dbsafe chose (issue: a read-only check migrated the
project's real database). A "victim" database at revision 0002, with data, is what each
project's own setting points at; validate, lint and schema dump from migrations must leave
it exactly as it was and report what a well-behaved env.py gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.migrate import AlembicProject, MigrationError, apply, render_revisions
from dbsafe.schema.introspect import introspect_url
from tests.helpers import at_revision
from tests.migrate.projects import sqlalchemy_url, write_project

PATTERNS = ["environment_variable", "settings_module", "hard_coded", "async_engine",
            "psycopg2_url"]

pytestmark = pytest.mark.db


def fingerprint(url: str) -> dict[str, Any]:
    """Everything a stray migration would change: schema, version and row counts."""
    with psycopg.connect(url) as conn:
        versions = sorted(r[0] for r in conn.execute("SELECT version_num FROM alembic_version"))
        counts = {
            table: conn.execute(f'SELECT count(*), count(email) FROM "{table}"').fetchone()
            if table == "patients" else conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()
            for (table,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        }
    return {"schema": introspect_url(url).to_json(), "versions": versions, "rows": counts}


@pytest.fixture
def victim(database_url: str, tmp_path: Path) -> str:
    """The project's real database: at revision 0002, with patients' e-mail addresses (a
    copy of one alembic run's database per worker, `at_revision`)."""
    ini = write_project(tmp_path / "setup", "well_behaved")
    at_revision(database_url, ini, "0002")
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO patients VALUES (1, 'Ada', 'ada@example.org'), "
                     "(2, 'Grace', 'grace@example.org')")
        conn.execute("INSERT INTO orders VALUES (10, 1)")
    return database_url


def _settings(root: Path, **overrides: object):
    return load_settings(root, {"cache": False, "schema-source": "migrations", **overrides},
                         environ={})


def _runs(root: Path) -> dict[str, Any]:
    """validate, lint and schema dump from migrations, as comparable data."""
    settings = _settings(root)
    snapshot = commands.schema_dump(settings)
    validate = commands.validate(settings, [root / "app"])
    lint = commands.lint(settings)

    def shown(report):
        return sorted((f.code, f.location.path if f.location else None,
                       f.location.line if f.location else None, f.message)
                      for f in report.findings)

    return {"schema": snapshot.to_json(), "validate": shown(validate), "lint": shown(lint)}


@pytest.fixture(scope="module")
def well_behaved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What a well-behaved env.py gives, each command on a throwaway server of its own
    started and removed as users' runs do (the cases compared with it use a database of
    the worker's server instead, `one_server_throwaways`)."""
    root = tmp_path_factory.mktemp("well_behaved")
    write_project(root, "well_behaved")
    return _runs(root)


# The cases comparing with `well_behaved` run on one worker, one after another: it is built
# once (three commands, each starting a server: about 6 s), not once per worker.
_ONE_WELL_BEHAVED = pytest.mark.xdist_group("sandbox_well_behaved")


def _project_for(pattern: str, root: Path, victim: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ini_url = "driver://user:pass@localhost/dbname"
    if pattern == "async_engine":
        ini_url = sqlalchemy_url(victim, "asyncpg")
    elif pattern == "psycopg2_url":
        ini_url = sqlalchemy_url(victim, "psycopg2")
    elif pattern == "environment_variable":
        monkeypatch.setenv("APP_DB_URL", sqlalchemy_url(victim, "psycopg"))
    write_project(root, pattern, victim_url=victim, ini_url=ini_url)


# The throwaway each command migrates is a database of the victim's own server here
# (`one_server_throwaways`): env.py's URL and the target differ by database name alone, the
# closest a stray connection can come.
@_ONE_WELL_BEHAVED
@pytest.mark.usefixtures("one_server_throwaways")
@pytest.mark.parametrize("pattern", PATTERNS)
def test_checks_never_touch_the_database_env_py_names(
    pattern: str, victim: str, well_behaved: dict[str, Any], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = fingerprint(victim)
    root = tmp_path / pattern
    _project_for(pattern, root, victim, monkeypatch)

    runs = _runs(root)

    assert fingerprint(victim) == before
    assert before["versions"] == ["0002"] and before["rows"]["patients"] == (2, 2)
    assert runs == well_behaved
    # The history really was applied: email gone, the concurrent index built, and the app's
    # query reading the dropped column found.
    assert '"email"' not in runs["schema"]
    assert "ix_orders_patient" in runs["schema"]
    assert any(code == "DBS302" for code, *_ in runs["validate"])


@_ONE_WELL_BEHAVED
def test_the_well_behaved_project_validates_as_expected(well_behaved: dict[str, Any]) -> None:
    assert [(code, path, line) for code, path, line, _ in well_behaved["validate"]] == [
        ("DBS302", "app/queries.sql", 1)]
    assert any(code == "DBS211" for code, *_ in well_behaved["lint"])


def test_upgrade_of_a_named_database_goes_there_and_nowhere_else(
    victim: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgresql_noproc: Any,
) -> None:
    # env.py's own setting names the victim; dbsafe is told to migrate another database.
    other = _create_database(victim, "dbsafe_named_target")
    root = tmp_path / "p"
    _project_for("environment_variable", root, victim, monkeypatch)
    before = fingerprint(victim)

    apply(AlembicProject(root / "alembic.ini"), other, [("upgrade", "heads")])

    assert fingerprint(victim) == before
    with psycopg.connect(other) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0004",)


@pytest.mark.usefixtures("one_server_throwaways")
def test_a_raw_driver_connection_elsewhere_is_refused_naming_it(
    victim: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = tmp_path / "raw"
    monkeypatch.setenv("APP_DB_URL", victim.replace("?", "?password=s3cret-pw&", 1))
    write_project(root, "raw_driver", victim_url=victim)
    before = fingerprint(victim)

    with pytest.raises(MigrationError) as caught:
        commands.schema_dump(_settings(root))

    message = str(caught.value)
    assert message.startswith("refused: psycopg.Connection.connect() tried to connect to ")
    assert "s3cret-pw" not in message and "password=***" not in message
    assert "config.attributes['connection']" in message
    assert fingerprint(victim) == before


@pytest.mark.usefixtures("one_server_throwaways")
def test_a_failing_revision_is_named_with_its_file(tmp_path: Path) -> None:
    root = tmp_path / "broken"
    write_project(root, "well_behaved")
    revision = root / "migrations" / "versions" / "0003_drop_email.py"
    revision.write_text(revision.read_text().replace(
        'op.drop_column("patients", "email")', 'op.execute("DROP TABLE no_such_table")'))

    with pytest.raises(MigrationError) as caught:
        commands.schema_dump(_settings(root))

    assert str(caught.value) == (
        f"revision 0003 (file {_shown(revision)}): table \"no_such_table\" does not exist")
    assert caught.value.line == 9
    assert "env.py of the test project says hello" in caught.value.output


@pytest.mark.usefixtures("one_server_throwaways")
def test_a_revision_whose_session_the_server_ends_says_what_the_server_said(
        tmp_path: Path) -> None:
    # The ended connection is invalidated, and leaving env.py's `with` blocks raised
    # SQLAlchemy's PendingRollbackError ("Can't reconnect until invalid transaction is rolled
    # back") over the server's error: the failure named neither it nor its SQLSTATE.
    root = tmp_path / "ended"
    write_project(root, "well_behaved")
    revision = root / "migrations" / "versions" / "0003_drop_email.py"
    revision.write_text(revision.read_text().replace(
        'op.drop_column("patients", "email")',
        'op.execute("SELECT pg_terminate_backend(pg_backend_pid())")'))

    with pytest.raises(MigrationError) as caught:
        commands.schema_dump(_settings(root))

    assert str(caught.value) == (f"revision 0003 (file {_shown(revision)}): "
                                 "terminating connection due to administrator command")
    assert (caught.value.sqlstate, caught.value.line) == ("57P01", 9)


@pytest.mark.usefixtures("one_server_throwaways")
def test_migrations_that_build_nothing_are_an_error_not_an_empty_schema(tmp_path: Path) -> None:
    root = tmp_path / "nothing"
    write_project(root, "well_behaved")
    for path in (root / "migrations" / "versions").glob("*.py"):
        text = path.read_text()
        body_start = text.index("def upgrade():")
        path.write_text(text[:body_start] + "def upgrade():\n    pass\n\n\n"
                        "def downgrade():\n    pass\n")
    settings = load_settings(root, {"schema-source": "migrations",
                                    "cache-dir": str(tmp_path / "cache")}, environ={})

    with pytest.raises(MigrationError, match="built no table or view"):
        commands.schema_dump(settings)
    assert not list((tmp_path / "cache").glob("*.json")), "nothing is cached from a failed run"


def test_offline_rendering_works_with_the_alembic_init_placeholder_url(tmp_path: Path) -> None:
    ini = write_project(tmp_path / "p", "psycopg2_url")  # driver://user:pass@localhost/dbname
    migrations = render_revisions(ini, root=tmp_path / "p")
    assert [m.revision for m in migrations] == ["0001", "0002", "0003", "0004"]
    index = [s for s in migrations[3].statements if "CONCURRENTLY" in s.sql]
    assert index and index[0].location.path == "migrations/versions/0004_index.py"
    assert index[0].location.line == 10


def test_offline_rendering_gives_an_env_py_reading_database_url_a_placeholder(
        tmp_path: Path) -> None:
    """hypothesis/lms's env.py renders offline with `url=os.environ["DATABASE_URL"]`. dbsafe
    removed the URL variables while rendering, so env.py stopped at KeyError and the 81
    revisions after lms's tenth failing one were not linted (DBS005)."""
    ini = write_project(tmp_path / "p", "psycopg2_url")
    env = ini.parent / "migrations" / "env.py"
    env.write_text(env.read_text().replace(
        'url = config.get_main_option("sqlalchemy.url")', 'url = os.environ["DATABASE_URL"]'))
    migrations = render_revisions(ini, root=tmp_path / "p")
    assert [m.revision for m in migrations] == ["0001", "0002", "0003", "0004"]
    assert any("CONCURRENTLY" in s.sql for s in migrations[3].statements)


def test_an_env_py_connecting_while_rendering_offline_is_told_so_with_the_project_driver(
        tmp_path: Path) -> None:
    """zou's env.py has no offline branch: it always builds an engine from its URL
    (`postgresql+psycopg://`; only psycopg 3 installed) and connects. Offline rendering
    swapped the URL for `postgresql://`, which SQLAlchemy before 2.1 reads as psycopg2, so
    the reason was "No module named 'psycopg2'" with advice to point --python elsewhere.
    With the project's driver kept, the reason is what happened: env.py tried to connect.
    (Here the other way round: SQLAlchemy 2.1 reads `postgresql://` as psycopg 3, and the
    project has psycopg2 only.)"""
    from dbsafe.core import DbsafeError

    ini = write_project(tmp_path / "p", "psycopg2_url",
                        ini_url="postgresql+psycopg2://app@db.example/app")
    env = ini.parent / "migrations" / "env.py"
    online = env.read_text().replace("if context.is_offline_mode():",
                                     "if False:  # no offline branch, as zou's")
    env.write_text('import sys\nsys.modules["psycopg"] = None  # psycopg2 only\n' + online)
    with pytest.raises(DbsafeError) as raised:
        render_revisions(ini, root=tmp_path / "p")
    assert "env.py tried to connect (the default libpq target)" in str(raised.value)
    assert "No module named" not in str(raised.value)


def test_an_env_py_rendering_offline_for_another_database_is_refused(tmp_path: Path) -> None:
    """dstack's env.py renders offline with its own URL (`context.configure(url=
    get_db().url)`), SQLite unless DSTACK_DATABASE_URL says otherwise: its revisions came
    out as SQLite's SQL (`CHAR(32)` for a UUID column, batch operations refused) and were
    linted as PostgreSQL's, 18 false DBS207. Here 0004's index loses its CONCURRENTLY."""
    from dbsafe.core import DbsafeError

    ini = write_project(tmp_path / "p", "psycopg2_url")
    env = ini.parent / "migrations" / "env.py"
    env.write_text(env.read_text().replace(
        'url = config.get_main_option("sqlalchemy.url")',
        'url = "sqlite:///" + str(config.config_file_name) + ".db"  # the project\'s own'))
    with pytest.raises(DbsafeError) as raised:
        render_revisions(ini, root=tmp_path / "p")
    assert "sqlite" in str(raised.value)
    assert "PostgreSQL" in str(raised.value)


def test_env_py_output_never_reaches_json_output(tmp_path: Path) -> None:
    root = tmp_path / "p"
    write_project(root, "well_behaved")  # prints on import, logs INFO through fileConfig

    proc = subprocess.run(
        [sys.executable, "-m", "dbsafe", "lint", "--format", "json"], cwd=root,
        capture_output=True, text=True, check=False,
        env={**_env(), "DBSAFE_CACHE_DIR": str(tmp_path / "cache")},
    )

    assert proc.returncode == 1, proc.stderr
    document = json.loads(proc.stdout)  # exactly one JSON document
    assert "hello" not in proc.stdout and "hello" not in proc.stderr
    assert "INFO  [alembic" not in proc.stderr
    assert any(f["code"] == "DBS211" for f in document["findings"])


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))}


def _shown(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path.resolve())


def _create_database(url: str, name: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.replace(f"dbname={_dbname(url)}", f"dbname={name}")


def _dbname(url: str) -> str:
    from urllib.parse import parse_qsl, urlsplit

    return dict(parse_qsl(urlsplit(url).query))["dbname"]


@pytest.mark.xdist_group("sqlalchemy14")  # the worker that built the venv
def test_a_project_pinned_to_sqlalchemy_14_runs_under_its_own_python(
    sqlalchemy14_python: str, victim: str, well_behaved: dict[str, Any], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = tmp_path / "legacy"
    _project_for("environment_variable", root, victim, monkeypatch)
    monkeypatch.setenv("APP_DB_URL", sqlalchemy_url(victim, "psycopg2"))
    before = fingerprint(victim)

    snapshot = commands.schema_dump(_settings(root, python=sqlalchemy14_python))
    migrations = render_revisions(AlembicProject(root / "alembic.ini",
                                                 python=sqlalchemy14_python), root=root)

    assert fingerprint(victim) == before
    assert snapshot.to_json() == well_behaved["schema"]
    assert [m.revision for m in migrations] == ["0001", "0002", "0003", "0004"]


@pytest.mark.xdist_group("sqlalchemy20_async")  # the worker that built the venv
@pytest.mark.parametrize("driver", ["asyncpg", "psycopg"])
def test_an_async_engine_made_from_database_url_gets_an_async_driver(
        sqlalchemy20_async_python: str, database_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, driver: str) -> None:
    """SurfSense's env.py puts `DATABASE_URL` (its `.env`: `postgresql+asyncpg://...`) in
    sqlalchemy.url for `async_engine_from_config`, and the `app.db` it imports makes
    `create_async_engine(DATABASE_URL)` at import. dbsafe puts the target in DATABASE_URL in
    libpq's form, which SQLAlchemy took for psycopg2's: "The asyncio extension requires an
    async driver" under SQLAlchemy 2.0 (2.1 reads `postgresql://` as psycopg 3's), exit 2
    before any revision ran. Such a URL gets an async driver of the project's Python
    (asyncpg, else psycopg 3); its connections still go to the target."""
    monkeypatch.setenv("DATABASE_URL", sqlalchemy_url(database_url, driver))
    ini = write_project(tmp_path / "p", "async_engine")
    env = ini.parent / "migrations" / "env.py"
    env.write_text(env.read_text().replace(
        "target_metadata = None\n",
        "target_metadata = None\n"
        "from sqlalchemy.ext.asyncio import create_async_engine\n"
        'app_engine = create_async_engine(os.environ["DATABASE_URL"])\n'
        'config.set_main_option("sqlalchemy.url", os.environ["DATABASE_URL"])\n', 1))
    if driver == "psycopg":  # a Python without asyncpg: psycopg 3's async driver
        env.write_text("import sys\nsys.modules['asyncpg'] = None\n" + env.read_text())

    apply(AlembicProject(ini, python=sqlalchemy20_async_python), database_url,
          [("upgrade", "heads")])

    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0004",)

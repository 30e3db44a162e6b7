"""`dbsafe drift` and `dbsafe diff` against a `schema-file` (task 494): the one SQL file a
new database is made from, beside a folder of upgrades that builds nothing from empty
(snedbot's `src/db/schema.sql` and `src/db/migrations`), built on a throwaway server as
validate builds it. Before, drift had no reference for such a project (the upgrades fail
from an empty database; exit 2 naming migration runners), and `diff URL schema.sql` read the
file as a JSON snapshot (exit 2)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from tests.helpers import dbsafe_in_process

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

# The schema a new database gets (at version 3), and the upgrades an older one runs: the
# first alters a table it never creates.
_SCHEMA = ("CREATE TABLE schema_info (schema_version integer NOT NULL);\n"
           "INSERT INTO schema_info VALUES (3);\n"
           "CREATE TABLE users (id bigint PRIMARY KEY, name text, nickname text);\n"
           "CREATE INDEX users_name_idx ON users (name);\n")
_OLD_SCHEMA = ("CREATE TABLE schema_info (schema_version integer NOT NULL);\n"
               "INSERT INTO schema_info VALUES (1);\n"
               "CREATE TABLE users (id bigint PRIMARY KEY, name text);\n")
_UPGRADES = {"src/db/migrations/2.sql": "ALTER TABLE users ADD COLUMN nickname text;\n",
             "src/db/migrations/3.sql": "CREATE INDEX users_name_idx ON users (name);\n"}
_CONFIG = "[tool.dbsafe]\nschema-file = 'src/db/schema.sql'\n"


def _project(root: Path, pyproject: str = _CONFIG) -> Path:
    for name, text in {"src/db/schema.sql": _SCHEMA, "pyproject.toml": pyproject,
                       **_UPGRADES}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def _run(database_url: str, *sql: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        for text in sql:
            conn.execute(text.encode())


def dbsafe(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return dbsafe_in_process(*args, cwd=cwd, env={"DBSAFE_DATABASE_URL": None})


def test_drift_compares_the_database_with_what_the_schema_file_makes(
        tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path)
    monkeypatch.chdir(root)  # (paths are shown from where dbsafe runs)
    # Made by the application's own role, as production is: the reference, built by the
    # throwaway's superuser, is read as that role's (no version table says which role).
    _run(database_url, "DROP ROLE IF EXISTS schema_file_app", "CREATE ROLE schema_file_app",
         _SCHEMA, "ALTER TABLE users OWNER TO schema_file_app",
         "ALTER TABLE schema_info OWNER TO schema_file_app")
    settings = load_settings(root, {"database-url": database_url, "cache": False},
                             environ={})
    try:
        clean = commands.drift(settings)
        assert clean.findings == ()
        assert clean.summary["schema_source"] == "schema file src/db/schema.sql"

        _run(database_url, "CREATE INDEX by_hand ON users (name, id)",
             "ALTER TABLE users DROP COLUMN nickname")
        report = commands.drift(settings)
        assert [(f.code, f.subject) for f in report.findings] == [
            ("DBS401", "public.users.nickname"), ("DBS402", "public.users.by_hand")]
        assert report.findings[0].message == (
            "Column `public.users.nickname` is in the schema file src/db/schema.sql but not "
            "in the database.")
        assert (report.findings[0].help or "").startswith("Put the change in the schema file")

        script, differences = commands.drift_sql(settings)
        assert differences == 2
        assert "ALTER TABLE public.users ADD COLUMN nickname text;" in script
        assert "DROP INDEX CONCURRENTLY public.by_hand;" in script
        # Read-only: the database is as it was.
        assert commands.drift(settings).findings == report.findings
    finally:
        _run(database_url, "DROP OWNED BY schema_file_app CASCADE",
             "DROP ROLE schema_file_app")


def test_the_schema_file_is_drifts_reference_from_the_config_or_the_command_line(
        tmp_path: Path, database_url: str) -> None:
    _run(database_url, _SCHEMA)
    root = _project(tmp_path)

    found = dbsafe("drift", "--database-url", database_url, cwd=root)
    assert found.returncode == 0, found.stderr
    # (said: "no findings" against which schema)
    assert "(schema: schema file src/db/schema.sql; " in found.stdout

    bare = _project(tmp_path / "bare", "[tool.dbsafe]\n")
    found = dbsafe("drift", "--database-url", database_url, "--schema-file",
                   "src/db/schema.sql", "--no-cache", cwd=bare)
    assert found.returncode == 0, found.stderr
    _run(database_url, "CREATE INDEX by_hand ON users (name, id)")
    found = dbsafe("drift", "--database-url", database_url, "--schema-file",
                   "src/db/schema.sql", "--format", "github", cwd=bare)
    assert found.returncode == 1
    assert "title=DBS402::Index `public.users.by_hand` is in the database but not in the " \
           "schema file src/db/schema.sql." in found.stdout

    # --sql-migrations names the migrations as the reference again, over the config's file:
    # upgrades no runner's history records, as before.
    found = dbsafe("drift", "--database-url", database_url, "--sql-migrations",
                   "src/db/migrations", cwd=root)
    assert found.returncode == 2
    assert "no migration history table dbsafe reads" in found.stderr
    found = dbsafe("drift", "--database-url", database_url, "--sql-migrations",
                   "src/db/migrations", "--schema-file", "src/db/schema.sql", cwd=root)
    assert found.returncode == 2
    assert found.stderr.strip().splitlines() == [
        "dbsafe: error: compare with one schema, not --schema-file and --sql-migrations "
        "(see 'main drift --help')"]


def test_diff_takes_a_schema_file_as_a_side_the_upgrades_gate(
        tmp_path: Path, database_url: str) -> None:
    """CI's question: do the upgrades bring an old database to what schema.sql makes?"""
    root = _project(tmp_path, "[tool.dbsafe]\n")
    _run(database_url, _OLD_SCHEMA, *_UPGRADES.values())  # an old database, upgraded

    found = dbsafe("diff", database_url, "src/db/schema.sql", cwd=root)
    assert found.returncode == 0, found.stderr + found.stdout

    # schema.sql never brought up to upgrade 3 (snedbot's `mod_config.flags`): a new
    # database lacks its index.
    (root / "src/db/stale.sql").write_text(_SCHEMA.replace(
        "CREATE INDEX users_name_idx ON users (name);\n", ""), encoding="utf-8")
    found = dbsafe("diff", database_url, "src/db/stale.sql", "--format", "github", cwd=root)
    assert found.returncode == 1
    assert "title=DBS402::Index `public.users.users_name_idx` is in the source but not in " \
           "the target." in found.stdout
    found = dbsafe("diff", "--sql", "src/db/stale.sql", database_url, cwd=root)
    assert "CREATE INDEX CONCURRENTLY users_name_idx ON public.users USING btree (name);" \
        in found.stdout

    found = dbsafe("diff", database_url, "src/db/nope.sql", cwd=root)
    assert found.returncode == 2
    assert found.stderr.strip().splitlines() == [
        "dbsafe: error: src/db/nope.sql: no such snapshot file, schema file or folder of SQL "
        "migrations, and not a database URL or migrations[@REV]"]


@pytest.mark.parametrize(("command", "said"), [
    ("status", "the schema file src/db/schema.sql has no revisions and status reads the "
               "migrations' history alone: `dbsafe drift` compares the database with the file"),
    ("verify-reversible", "the schema file src/db/schema.sql is not walked "
                          "(verify-reversible walks the migrations alone): whether the "
                          "upgrades bring an older database to what it makes, `dbsafe diff "
                          "DATABASE_URL src/db/schema.sql` says, run on a database they "
                          "upgraded"),
])
def test_commands_that_read_the_migrations_alone_name_the_schema_file_when_they_fail(
        tmp_path: Path, database_url: str, command: str, said: str) -> None:
    _run(database_url, _SCHEMA)
    root = _project(tmp_path)
    args = ("status", "--database-url", database_url) if command == "status" else (command,)

    found = dbsafe(*args, cwd=root)

    assert found.returncode == 2
    lines = found.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].endswith(said), lines

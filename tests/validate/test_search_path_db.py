"""`search-path`: the search_path the application's sessions set, for unqualified names.

AutoMana (ArthurG-data/AutoMana) opens its asyncpg pools with `server_settings={"search_path":
"user_management, public, ..."}`: its unqualified `users` lives in `user_management`, and
validate, looking names up on the schema source's path (`public`), reported 44 false DBS301.
With `search-path` set, unqualified names are looked up there, statically and in the PREPARE
that confirms a finding; without it, a DBS301 whose name is in a schema off the path says so.
Every verdict is held to PostgreSQL's own: the statements prepared on a database with the same
schema, under `SET search_path`. Real PostgreSQL.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from dbsafe import commands
from dbsafe.cli import main
from dbsafe.config import load_settings

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

MIGRATION = """\
create schema app;
create table app.users (id bigint primary key, email text not null);
create table public.notes (id bigint primary key, body text);
"""
QUERIES = """\
SELECT id, email FROM users;
SELECT id, body FROM notes;
SELECT id, emial FROM users;
"""
HINT = ("`users` is in schema `app`, which is not on the search path (public); "
        "set search-path or qualify the name.")


def make_project(root: Path, table: str = "") -> Path:
    folder = root / "db" / "migrations"
    folder.mkdir(parents=True)
    (folder / "20240101000000_init.sql").write_text(MIGRATION)
    (root / "app").mkdir()
    (root / "app" / "queries.sql").write_text(QUERIES)
    (root / "pyproject.toml").write_text("[tool.dbsafe]\n" + table)
    return root


def found(report) -> list[tuple[str, int, str | None]]:
    return sorted((f.code, f.location.line, f.subject) for f in report.findings if f.location)


def postgresql_verdicts(database_url: str, search_path: str) -> list[str | None]:
    """The SQLSTATE PostgreSQL gives each statement of QUERIES prepared on a database with
    the migration's schema, under `search_path` (None: it prepares)."""
    verdicts: list[str | None] = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(MIGRATION)
        conn.execute(f"SET search_path = {search_path}")
        for statement in QUERIES.splitlines():
            try:
                with conn.transaction():
                    conn.execute(f"PREPARE probe AS {statement}")
                    conn.execute("DEALLOCATE probe")
                verdicts.append(None)
            except psycopg.Error as exc:
                verdicts.append(exc.sqlstate)
    return verdicts


def test_without_the_setting_a_name_off_the_path_is_reported_with_where_it_is(
        tmp_path: Path, database_url: str) -> None:
    root = make_project(tmp_path)
    report = commands.validate(load_settings(root, {"cache": False}, environ={}), [root / "app"])

    assert postgresql_verdicts(database_url, "public") == ["42P01", None, "42P01"]
    assert found(report) == [("DBS301", 1, "public.users"), ("DBS301", 3, "public.users")]
    assert {f.help for f in report.findings} == {HINT}
    assert all(("PostgreSQL", '42P01: relation "users" does not exist') in f.context
               for f in report.findings)


def test_with_the_setting_names_resolve_there_and_a_misspelt_column_is_confirmed(
        tmp_path: Path, database_url: str) -> None:
    root = make_project(tmp_path, 'search-path = ["app", "public"]\n')
    settings = load_settings(root, {"cache": False}, environ={})
    assert settings.search_path == ("app", "public")

    report = commands.validate(settings, [root / "app"])

    assert postgresql_verdicts(database_url, "app, public") == [None, None, "42703"]
    assert found(report) == [("DBS302", 3, "app.users.emial")]
    # Confirmed by PREPARE on the throwaway server with that search_path (on the migrations'
    # own path PostgreSQL would have stopped at `users` first: not confirmed).
    assert ("PostgreSQL", '42703: column "emial" does not exist') in report.findings[0].context
    assert report.summary["confirmed_by_postgresql"] is True


@pytest.mark.parametrize("how", ["environment", "option"])
def test_the_setting_from_the_environment_and_the_command_line(
        tmp_path: Path, how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path)
    monkeypatch.chdir(root)
    env = {"DBSAFE_SEARCH_PATH": "app, public"} if how == "environment" else {}
    option = ["--search-path", 'App, "public"'] if how == "option" else []
    result = CliRunner().invoke(main, ["validate", "app", "--no-cache", "--format", "json",
                                       *option], env=env, catch_exceptions=False)

    assert result.exit_code == 1, result.output
    assert '"code": "DBS302"' in result.output and '"DBS301"' not in result.output


def test_results_cached_under_one_search_path_are_not_returned_under_another(
        tmp_path: Path) -> None:
    root = make_project(tmp_path)
    cache = {"cache-dir": str(tmp_path / "cache")}

    def run(path: str | None) -> list[tuple[str, int, str | None]]:
        settings = load_settings(root, cache | {"search-path": path}, environ={})
        return found(commands.validate(settings, [root / "app"]))

    off_path = [("DBS301", 1, "public.users"), ("DBS301", 3, "public.users")]
    assert run(None) == off_path
    assert run("app, public") == [("DBS302", 3, "app.users.emial")]
    assert run(None) == off_path
    assert run("public") == off_path  # `public` alone, as the default: not the same key
    assert run("app, public") == [("DBS302", 3, "app.users.emial")]


@pytest.mark.parametrize(("setting", "warning"), [
    ("nosuch, app, public", "search-path: schema `nosuch` is not in the schema; PostgreSQL "
                            "leaves it out of the search path"),
    ('"$user", app, public', "search-path: `$user` is the schema named after the role"),
])
def test_a_run_answered_from_the_cache_says_the_warnings_of_the_run_that_filled_it(
        tmp_path: Path, database_url: str, setting: str, warning: str) -> None:
    """The second run resolves nothing (every file is cached), yet nothing changed: the
    user is told again what the setting does. `dbsafe validate` as users run it, so its
    stderr is theirs."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(MIGRATION)
        conn.execute(f"SET search_path = {setting}")
        path = conn.execute("SELECT current_schemas(false)::text[]").fetchone()
    assert path == (["app", "public"],)  # what PostgreSQL leaves out, the warning names
    root = make_project(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2]),
           "DBSAFE_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("DBSAFE_DATABASE_URL", None)
    runs = [subprocess.run([sys.executable, "-m", "dbsafe", "validate", "app", "--search-path",
                            setting, "--format", "json"], cwd=root, env=env,
                           capture_output=True, text=True, timeout=300) for _ in range(2)]

    assert [r.returncode for r in runs] == [1, 1], runs[0].stderr
    reports = [json.loads(r.stdout) for r in runs]
    assert reports[0]["findings"] == reports[1]["findings"] != []
    assert list((tmp_path / "cache").glob("validate-*.json"))  # the second answered from it
    for run in runs:
        assert run.stderr.count(warning) == 1, run.stderr


def test_a_snapshot_file_read_with_the_setting(tmp_path: Path) -> None:
    """A snapshot's cache key is its bytes: the path validate applies is part of it too."""
    root = make_project(tmp_path)
    snapshot = tmp_path / "schema.json"
    commands.schema_dump(load_settings(root, {"cache": False}, environ={})).save(snapshot)
    base = {"snapshot": str(snapshot), "cache-dir": str(tmp_path / "cache")}

    plain = commands.validate(load_settings(root, base, environ={}), [root / "app"])
    assert found(plain) == [("DBS301", 1, "public.users"), ("DBS301", 3, "public.users")]
    assert {f.help for f in plain.findings} == {HINT}
    set_ = commands.validate(load_settings(root, base | {"search-path": "app,public"},
                                           environ={}), [root / "app"])
    assert found(set_) == [("DBS302", 3, "app.users.emial")]


def test_a_live_database_read_with_the_setting_over_the_urls(
        tmp_path: Path, database_url: str) -> None:
    """The setting wins over the URL's `options=-csearch_path` (and the role's): the schema
    is read, and findings confirmed, by sessions with the setting's path."""
    root = make_project(tmp_path)
    postgresql_verdicts(database_url, "public")  # the schema, on the database
    sep = "&" if "?" in database_url else "?"
    url = database_url + sep + "options=-csearch_path%3Dpublic"
    base = {"database-url": url, "cache": False}

    plain = commands.validate(load_settings(root, base, environ={}), [root / "app"])
    assert found(plain) == [("DBS301", 1, "public.users"), ("DBS301", 3, "public.users")]
    assert {f.help for f in plain.findings} == {HINT}

    report = commands.validate(load_settings(root, base | {"search-path": "app, public"},
                                             environ={}), [root / "app"])
    assert found(report) == [("DBS302", 3, "app.users.emial")]
    assert ("PostgreSQL", '42703: column "emial" does not exist') in report.findings[0].context


def test_user_names_the_schema_of_the_role(tmp_path: Path, database_url: str) -> None:
    """`"$user"` is the schema named after the role, as PostgreSQL reads it: on a live
    database the URL's role; a schema source that does not record one leaves it out."""
    root = make_project(tmp_path)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(MIGRATION.replace("create schema app;", "")
                     .replace("app.users", "users_elsewhere"))
        role = conn.execute("SELECT current_user").fetchone()[0]
        conn.execute(f'CREATE SCHEMA "{role}"')
        conn.execute(f'CREATE TABLE "{role}".users (id bigint primary key, email text)')
    settings = load_settings(root, {"database-url": database_url, "cache": False,
                                    "search-path": '"$user", public'}, environ={})
    assert found(commands.validate(settings, [root / "app"])) == [
        ("DBS302", 3, f"{role}.users.emial")]


def test_a_missing_schema_is_left_out_and_said(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = make_project(tmp_path, "search-path = 'nosuch, app, public'\n")
    settings = load_settings(root, {"cache": False}, environ={})
    assert settings.search_path == ("nosuch", "app", "public")

    with caplog.at_level(logging.WARNING, logger="dbsafe"):
        report = commands.validate(settings, [root / "app"])

    assert found(report) == [("DBS302", 3, "app.users.emial")]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("schema `nosuch` is not in the schema" in w for w in warnings), warnings


def test_user_of_a_role_the_schema_source_does_not_record_leaves_tables_off_the_path_unchecked(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The migrations do not say which role the application logs in as: `users`, only in
    `app`, may be in the role's schema (an application logging in as `app` finds it), so it
    is neither missing nor checked; `notes`, on the path, still is."""
    root = make_project(tmp_path, "search-path = '\"$user\", public'\n")
    (root / "app" / "queries.sql").write_text(QUERIES + "SELECT id, bdy FROM notes;\n")
    settings = load_settings(root, {"cache": False}, environ={})
    assert settings.search_path == ("$user", "public")

    with caplog.at_level(logging.WARNING, logger="dbsafe"):
        report = commands.validate(settings, [root / "app"])

    assert found(report) == [("DBS302", 4, "public.notes.bdy")]
    assert report.summary["statements_not_analysed"] == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("`$user`" in w and "left unchecked" in w for w in warnings), warnings


def test_a_supabase_request_naming_another_schema_says_where_the_table_is(
        tmp_path: Path) -> None:
    """PostgREST does not read the search path: a request's schema is its client's
    (`.schema()`), so the hint names that instead."""
    root = make_project(tmp_path)
    (root / "app" / "queries.sql").unlink()
    (root / "app" / "users.ts").write_text(
        "import { createClient } from '@supabase/supabase-js'\n"
        "const supabase = createClient('u', 'k')\n"
        "export const load = () => supabase.schema('public').from('users').select('id')\n")
    report = commands.validate(load_settings(root, {"cache": False}, environ={}),
                               [root / "app"])
    assert found(report) == [("DBS301", 3, "public.users")]
    assert report.findings[0].help == ("`users` is in schema `app`, not `public`; read it with "
                                       "`.schema('app')` (PostgREST must expose that schema).")


def test_a_supabase_table_name_written_with_its_schema_says_to_use_schema(
        tmp_path: Path) -> None:
    """`.from('app.users')` asks PostgREST for one table named `app.users` in the client's
    schema (opsly's `.from('platform.tenants')`, PGRST205): the error stays, and its help
    says to read `app`'s `users` with `.schema('app').from('users')`."""
    root = make_project(tmp_path)
    (root / "app" / "queries.sql").unlink()
    (root / "app" / "users.ts").write_text(
        "import { createClient } from '@supabase/supabase-js'\n"
        "const supabase = createClient('u', 'k')\n"
        "export const load = () => supabase.from('app.users').select('id')\n")
    report = commands.validate(load_settings(root, {"cache": False}, environ={}),
                               [root / "app"])
    assert found(report) == [("DBS301", 3, "public.app.users")]
    assert report.findings[0].help == (
        "PostgREST reads `app.users` as one table name, not a schema and a table; read "
        "`app`'s `users` with `.schema('app').from('users')` (PostgREST must expose that "
        "schema).")

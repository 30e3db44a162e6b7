"""DBS211 under `search-path`: the application's queries resolved on its sessions' path.

An application whose connections set `search_path = app, public` reads `app.users` as
`SELECT email FROM users`. Looked up on the migrations' path (`public`), that query names no
table: a migration dropping `app.users.email` passed DBS211 silently, and one dropping
`public.users.email` was reported although the query never reads it. With `search-path`, lint
resolves the queries as validate does; the migrations' own unqualified names keep their
sessions' path. Every verdict is held to PostgreSQL's: the query prepared under `SET
search_path` on a database before and after the migration. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from dbsafe import commands
from dbsafe.cli import main
from dbsafe.config import load_settings

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

SCHEMA = """\
create schema app;
create table app.users (id bigint primary key, email text not null);
"""
BOTH = SCHEMA + "create table public.users (id bigint primary key, email text);\n"
QUERY = "SELECT email FROM users;\n"
DROP_APP_EMAIL = "alter table app.users drop column email;\n"


def make_project(root: Path, schema: str, change: str, table: str = "") -> Path:
    folder = root / "db" / "migrations"
    folder.mkdir(parents=True)
    (folder / "001_schema.sql").write_text(schema)
    (folder / "002_change.sql").write_text(change)
    (root / "app").mkdir()
    (root / "app" / "queries.sql").write_text(QUERY)
    (root / "pyproject.toml").write_text("[tool.dbsafe]\nsource-paths = [\"app\"]\n" + table)
    return root


def dbs211(report) -> list[tuple[str, int, str | None]]:
    return [(f.location.path, f.location.line, f.subject) for f in report.findings
            if f.code == "DBS211" and f.location is not None]


APP_PATH = {"search-path": "app, public"}


def lint(root: Path, overrides: dict[str, object] | None = None):
    settings = load_settings(root, {"cache": False, **(overrides or {})}, environ={})
    return commands.lint(settings, [root / "db" / "migrations"])


def postgresql_verdicts(database_url: str, schema: str, change: str,
                        search_path: str) -> tuple[str | None, str | None]:
    """The SQLSTATE PostgreSQL gives QUERY prepared under `search_path` after `schema`,
    then after `change` too (None: it prepares); each run in a transaction rolled back."""
    verdicts: list[str | None] = []
    with psycopg.connect(database_url) as conn:
        for sql in (schema, change):
            conn.execute("SET LOCAL search_path = DEFAULT")
            conn.execute(sql)
            conn.execute(f"SET LOCAL search_path = {search_path}")
            try:
                with conn.transaction():
                    conn.execute(f"PREPARE probe AS {QUERY}")
                    conn.execute("DEALLOCATE probe")
                verdicts.append(None)
            except psycopg.Error as exc:
                verdicts.append(exc.sqlstate)
        conn.rollback()
    return verdicts[0], verdicts[1]


def test_a_dropped_column_the_query_reads_on_the_applications_path_is_reported(
        tmp_path: Path, database_url: str) -> None:
    root = make_project(tmp_path, SCHEMA, DROP_APP_EMAIL)

    report = lint(root, APP_PATH)

    # The query prepares before the drop and fails after it: the drop breaks it.
    assert postgresql_verdicts(database_url, SCHEMA, DROP_APP_EMAIL, "app, public") \
        == (None, "42703")
    assert dbs211(report) == [("db/migrations/002_change.sql", 1, "app.users.email")]
    assert [f.message for f in report.findings if f.code == "DBS211"] == [
        "`app.users.email` is dropped here but still used by `app/queries.sql:1:8`."]


def test_without_the_setting_the_query_names_no_table_and_the_drop_passes(
        tmp_path: Path, database_url: str) -> None:
    """Today's behaviour, kept: on the migrations' path the query fails already (42P01),
    so no drop can break it; validate reports it (DBS301, with where `users` is)."""
    root = make_project(tmp_path, SCHEMA, DROP_APP_EMAIL)

    assert postgresql_verdicts(database_url, SCHEMA, DROP_APP_EMAIL, "public") \
        == ("42P01", "42P01")
    assert dbs211(lint(root)) == []


def test_a_drop_of_the_table_off_the_applications_path_is_not_reported(
        tmp_path: Path, database_url: str) -> None:
    change = "alter table public.users drop column email;\n"
    root = make_project(tmp_path, BOTH, change)

    assert postgresql_verdicts(database_url, BOTH, change, "app, public") == (None, None)
    assert dbs211(lint(root, APP_PATH)) == []
    # Without the setting the query reads public.users, which the drop does break.
    assert postgresql_verdicts(database_url, BOTH, change, "public") == (None, "42703")
    assert dbs211(lint(root)) == [
        ("db/migrations/002_change.sql", 1, "public.users.email")]


def test_a_migrations_unqualified_name_keeps_the_migrations_path(
        tmp_path: Path, database_url: str) -> None:
    """The migration runs on its own session's path (`public`): its `users` is
    public.users, whatever path the application sets."""
    change = "alter table users drop column email;\n"
    root = make_project(tmp_path, BOTH, change)

    assert postgresql_verdicts(database_url, BOTH, change, "app, public") == (None, None)
    assert dbs211(lint(root, APP_PATH)) == []


def test_with_a_live_database_the_setting_applies_to_its_schema(
        tmp_path: Path, database_url: str) -> None:
    root = make_project(tmp_path, SCHEMA, DROP_APP_EMAIL)
    (root / "db" / "migrations" / "001_schema.sql").unlink()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA)

    report = lint(root, {"database-url": database_url, **APP_PATH})
    plain = lint(root, {"database-url": database_url})

    assert dbs211(report) == [("db/migrations/002_change.sql", 1, "app.users.email")]
    assert dbs211(plain) == []


@pytest.mark.parametrize("how", ["option", "environment", "config"])
def test_lint_search_path_from_the_command_line_the_environment_and_the_config(
        tmp_path: Path, how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path, SCHEMA, DROP_APP_EMAIL,
                        'search-path = ["app", "public"]\n' if how == "config" else "")
    monkeypatch.chdir(root)
    option = ["--search-path", 'App, "public"'] if how == "option" else []
    env = {"DBSAFE_SEARCH_PATH": "app, public"} if how == "environment" else {}
    result = CliRunner().invoke(main, ["lint", "db/migrations", "--format", "json", *option],
                                env=env, catch_exceptions=False)

    assert result.exit_code == 1, result.output
    assert '"code": "DBS211"' in result.output and '"subject": "app.users.email"' in result.output

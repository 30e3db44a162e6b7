"""sqlc query files: its parameter and embed macros are placeholders, not columns, and what
a query really misses is still found, at its place in the file."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.extract.sqlc import as_placeholders

SCHEMA = "CREATE TABLE users (id bigserial PRIMARY KEY, name text NOT NULL, email text, " \
         "org_id bigint);"

QUERIES = """\
-- name: GetUser :one
SELECT * FROM users WHERE id = @user_id;

-- name: ListByName :many
SELECT id, name FROM users
WHERE name = sqlc.arg(user_name) AND email = sqlc.narg('email_filter')::text;

-- name: ListIn :many
SELECT id FROM users WHERE id = ANY(sqlc.slice(ids)) AND org_id=@org_id;

-- name: Embedded :many
SELECT sqlc.embed(users), 1 AS one FROM users WHERE org_id = $1;

-- name: Broken :many
SELECT sqlc.arg(first_name), nosuch FROM users WHERE id = @user_id;

-- name: NotAMacro :one
SELECT '@user_id sqlc.arg(x)' AS text /* sqlc.arg(y) */ FROM users LIMIT 1;
"""


@pytest.mark.db
def test_sqlc_macros_are_parameters_and_real_misses_are_found(conninfo: str,
                                                              tmp_path: Path) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(SCHEMA)
    (tmp_path / "queries").mkdir()
    (tmp_path / "queries" / "users.sql").write_text(QUERIES, encoding="utf-8")
    settings = load_settings(tmp_path, {"database-url": conninfo, "cache": False},
                             environ={})
    report = commands.validate(settings, [tmp_path / "queries"])
    found = [(f.code, f.location.line, f.location.column, f.message) for f in report.findings
             if f.location]
    assert found == [("DBS302", 15, 30, "`users` has no column `nosuch`")]


def test_only_a_file_sqlc_compiles_has_macros(tmp_path: Path) -> None:
    # `@x` is PostgreSQL's absolute value: only in a file of sqlc queries is it a parameter.
    from dbsafe.extract.files import extract_file

    plain = tmp_path / "plain.sql"
    plain.write_text("SELECT @ -5, a FROM t WHERE b = @c;\n", encoding="utf-8")
    compiled = tmp_path / "queries.sql"
    compiled.write_text("-- name: Get :one\nSELECT @ -5, a FROM t WHERE b = @c;\n",
                        encoding="utf-8")
    assert [f.sql for f in extract_file(plain, root=tmp_path).fragments] == [
        "SELECT @ -5, a FROM t WHERE b = @c"]
    assert [f.sql for f in extract_file(compiled, root=tmp_path).fragments] == [
        "SELECT @ -5, a FROM t WHERE b = :c"]


def test_positions_hold_with_characters_beyond_ascii() -> None:
    sql = "SELECT 'é', sqlc.embed(ü) FROM ü WHERE a = sqlc.arg(näme) AND b = @x"
    rewritten = as_placeholders(sql)
    assert len(rewritten) == len(sql)
    assert rewritten == "SELECT 'é', ü.*           FROM ü WHERE a = :näme          AND b = :x"


@pytest.mark.db
def test_parameters_named_by_keywords_are_checked(conninfo: str, tmp_path: Path) -> None:
    # `@values`, `@from` became `:values`, `:from`, which sqlglot read as no placeholder: the
    # statement was "unparsed" and nothing in it checked (opentdf's `UNNEST(@values::VARCHAR[])`).
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(SCHEMA)
    (tmp_path / "queries").mkdir()
    (tmp_path / "queries" / "users.sql").write_text(
        "-- name: Named :many\n"
        "SELECT id, nosuch FROM users\n"
        "WHERE name = ANY(@values::text[]) AND id > sqlc.arg('from') AND org_id = @select;\n"
        "\n"
        "-- name: Fine :many\n"
        "SELECT id FROM users WHERE name = ANY(@values::text[]) AND id BETWEEN @from AND @to;\n",
        encoding="utf-8")
    settings = load_settings(tmp_path, {"database-url": conninfo, "cache": False},
                             environ={})
    report = commands.validate(settings, [tmp_path / "queries"])
    found = [(f.code, f.location.line, f.location.column, f.context)
             for f in report.findings if f.location]
    assert found == [("DBS302", 2, 12,
                      (("PostgreSQL", '42703: column "nosuch" does not exist'),))]
    assert report.summary["statements_analysed"] == 2


@pytest.mark.db
def test_queries_named_in_block_comments_are_sqlc_queries(conninfo: str,
                                                          tmp_path: Path) -> None:
    # sqlc reads `/* name: GetUser :one */` as it reads `-- name:` for PostgreSQL (its
    # params_location example): a file annotated so alone was no sqlc file, and each
    # `sqlc.arg(user_name)` a column `user_name` the table lacks (a false DBS302).
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(SCHEMA)
    (tmp_path / "queries").mkdir()
    (tmp_path / "queries" / "users.sql").write_text(
        "/* name: ListByName :many */\n"
        "SELECT id FROM users WHERE name = sqlc.arg(user_name) AND org_id = @org_id;\n"
        "\n"
        "/* name: Broken :one */\n"
        "SELECT nosuch FROM users WHERE id = sqlc.arg(user_id);\n",
        encoding="utf-8")
    settings = load_settings(tmp_path, {"database-url": conninfo, "cache": False},
                             environ={})
    report = commands.validate(settings, [tmp_path / "queries"])
    found = [(f.code, f.location.line, f.location.column, f.message) for f in report.findings
             if f.location]
    assert found == [("DBS302", 5, 8, "`users` has no column `nosuch`")]


# sqlc's configuration says which engine each set of queries is for (River keeps its SQLite
# driver's queries in `riverdriver/riversqlite/internal/dbsqlc`, named by the sqlc.yaml
# there): a SQLite or MySQL query is that engine's even where it calls nothing only that
# engine has. `SELECT ... FROM kv` read a table only SQLite's schema makes: a false DBS301.
_SQLC_YAML = """\
version: "2"
sql:
  - engine: "postgresql"
    queries: ["pg/users.sql", "shared.sql"]
    schema: "pg/schema.sql"
  - engine: "sqlite"
    queries: "lite"
    schema: lite/schema.sql
  - engine: sqlite
    queries: shared.sql
"""
_SQLC_V1_JSON = """\
{"version": "1", "packages": [
  {"path": "gen", "queries": "./*.sql", "schema": "schema.sql", "engine": "mysql"},
  {"path": "gen2", "queries": "pg.sql"}
]}
"""


@pytest.mark.db
def test_queries_sqlc_compiles_for_another_engine_are_that_engines(conninfo: str,
                                                                   tmp_path: Path) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(SCHEMA)
    files = {
        "sqlc.yaml": _SQLC_YAML,
        "pg/users.sql": "-- name: Get :one\nSELECT nosuch FROM users WHERE id = @id;\n",
        "lite/kv.sql": "-- name: Get :one\nSELECT value FROM kv WHERE key = @key;\n",
        # named for SQLite and for PostgreSQL: sqlc compiles it for both, so it is checked
        "shared.sql": "-- name: Get :one\nSELECT nosuch FROM users WHERE id = ?;\n",
        "mysql/sqlc.json": _SQLC_V1_JSON,
        "mysql/users.sql": "-- name: Get :one\nSELECT login FROM accounts WHERE id = ?;\n",
        # version 1's engine is PostgreSQL unless it says otherwise
        "mysql/pg.sql": "-- name: Get :one\nSELECT nosuch FROM users WHERE id = $1;\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    settings = load_settings(tmp_path, {"database-url": conninfo, "cache": False},
                             environ={})
    report = commands.validate(settings, [tmp_path])
    assert sorted((f.location.path, f.code) for f in report.findings if f.location) == [
        ("mysql/pg.sql", "DBS302"), ("pg/users.sql", "DBS302"), ("shared.sql", "DBS302")]
    assert sorted((s.location.path, s.reason) for s in report.skipped) == [
        ("lite/kv.sql", "sent to SQLite, not PostgreSQL (the engine sqlc's sqlc.yaml names)"),
        ("mysql/users.sql",
         "sent to MySQL, not PostgreSQL (the engine sqlc's mysql/sqlc.json names)")]
    assert report.summary["files_skipped"] == 2
    # What the SQLite and MySQL queries read, PostgreSQL has not (42P01): each was a DBS301.
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for sql in ("SELECT value FROM kv WHERE key = $1", "SELECT login FROM accounts"):
            with pytest.raises(psycopg.errors.UndefinedTable):
                conn.execute(f"PREPARE p AS {sql}")


def test_a_config_sqlc_cannot_read_names_no_engine(tmp_path: Path) -> None:
    from dbsafe.extract.sqlc_config import SqlcEngines

    for folder, name, text in (
            ("broken", "sqlc.yaml", "version: '2'\nsql: [engine: sqlite\n"),
            ("unknown", "sqlc.yml", "version: '3'\nsql: [{engine: sqlite, queries: q.sql}]\n"),
            # sqlc refuses to choose between a YAML and a JSON configuration
            ("both", "sqlc.yaml", "version: '2'\nsql: [{engine: sqlite, queries: q.sql}]\n"),
            ("both", "sqlc.json", '{"version": "2", "sql": []}'),
            ("hidden", "sqlc.yaml", "version: '2'\nsql: [{engine: sqlite, queries: .}]\n"),
            # an engine sqlc does not know (it stops: unknown engine), not another engine
            ("misspelt", "sqlc.yaml", "version: '2'\nsql: [{engine: postgres, queries: .}]\n")):
        (tmp_path / folder).mkdir(exist_ok=True)
        (tmp_path / folder / name).write_text(text, encoding="utf-8")
    engines = SqlcEngines(tmp_path)
    for file in ("broken/q.sql", "unknown/q.sql", "both/q.sql", "hidden/.q.sql",
                 "hidden/q.down.sql", "hidden/q.py", "misspelt/q.sql"):
        assert engines.of(str(tmp_path / file)) is None, file
    assert engines.of(str(tmp_path / "hidden" / "q.up.sql")) is not None


@pytest.mark.db
def test_a_configuration_elsewhere_in_the_project_names_queries_of_a_subfolder(
        conninfo: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # validate run in a subfolder of the project, given a path relative to it: the walk
    # to a configuration went no higher than the working folder, and one in a folder
    # beside the queries (`backend/sqlc.yaml` naming `../db/queries`) was never looked
    # for. Each SQLite query read `kv`, a DBS301 PostgreSQL "confirms" (42P01).
    files = {
        "pyproject.toml": "[tool.dbsafe]\n",
        "sqlc.yaml": 'version: "2"\nsql:\n  - engine: sqlite\n    queries: db/lite\n',
        "backend/sqlc.yaml": 'version: "2"\nsql:\n  - engine: sqlite\n'
                             '    queries: "../db/queries"\n    schema: "../db/schema.sql"\n',
        "db/lite/kv.sql": "-- name: Get :one\nSELECT value FROM kv WHERE key = ?;\n",
        "db/queries/kv.sql": "-- name: Get :one\nSELECT value FROM kv WHERE key = ?;\n",
        "db/pg/users.sql": "-- name: Get :one\nSELECT nosuch FROM users WHERE id = $1;\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(SCHEMA)
    monkeypatch.chdir(tmp_path / "db")
    settings = load_settings(Path.cwd(), {"database-url": conninfo, "cache": False},
                             environ={})
    assert settings.project_root == tmp_path
    report = commands.validate(settings, [Path("lite"), Path("queries"), Path("pg")])
    assert [(f.location.path, f.code) for f in report.findings if f.location] == [
        ("db/pg/users.sql", "DBS302")]
    assert sorted((s.location.path, s.reason) for s in report.skipped) == [
        ("db/lite/kv.sql", "sent to SQLite, not PostgreSQL (the engine sqlc's sqlc.yaml names)"),
        ("db/queries/kv.sql",
         "sent to SQLite, not PostgreSQL (the engine sqlc's backend/sqlc.yaml names)")]


def test_a_configuration_above_the_project_root_is_not_read(tmp_path: Path) -> None:
    from dbsafe.extract.sqlc_config import SqlcEngines

    (tmp_path / "sqlc.yaml").write_text(
        'version: "2"\nsql:\n  - engine: sqlite\n    queries: app/queries\n', encoding="utf-8")
    (tmp_path / "app" / "queries").mkdir(parents=True)
    query = str(tmp_path / "app" / "queries" / "kv.sql")
    assert SqlcEngines(tmp_path).of(query) is not None
    # The project is `app` (its pyproject.toml): the configuration is another project's.
    assert SqlcEngines(tmp_path / "app").of(query) is None

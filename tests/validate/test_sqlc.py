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

"""Confirmation sends the application's text with only its driver placeholders numbered,
and maps PostgreSQL's error positions back onto the original statement, so a statement
with placeholders is repaired and prepared again like any other (real PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dbsafe.validate.confirm import (
    confirm,
    placeholder_edits,
    rewrite,
    to_numbered_parameters,
)


def test_placeholders_are_numbered_in_place() -> None:
    # Strings and comments keep their `%s` and `:name`; nothing else of the text changes.
    sql = "SELECT '%s:x' AS s, a -- %(b)s\nFROM t WHERE a = %(b)s AND c = ? AND d = %(b)s"
    assert to_numbered_parameters(sql) == (
        "SELECT '%s:x' AS s, a -- %(b)s\nFROM t WHERE a = $1 AND c = $2 AND d = $1")
    # Numbers follow those the statement already uses.
    assert to_numbered_parameters("SELECT a FROM t WHERE a = $2 AND b = :b") == (
        "SELECT a FROM t WHERE a = $2 AND b = $3")
    # A CALL's (sqlglot reads no CALL: numbered as its call in a query).
    assert rewrite("CALL  app.archive(%(x)s, %s, ?, '%s')").text == (
        "CALL  app.archive($1, $2, $3, '%s')")
    # After comments too (a sqlc query's `-- name:` line): the CALL was sent unnumbered, so
    # PostgreSQL's syntax error left its finding unconfirmed.
    assert rewrite("-- name: Archive :exec\n/* é */ CALL archive(:id, %s)").text == (
        "-- name: Archive :exec\n/* é */ CALL archive($1, $2)")


def test_what_the_tokens_cannot_show_is_left_to_the_regenerated_statement() -> None:
    # `:n` in an array slice is no placeholder: the tokens alone would take it for one.
    assert placeholder_edits("SELECT a[1 :n] FROM t WHERE b = :n") is None
    assert to_numbered_parameters("SELECT a[1 :n] FROM t WHERE b = :n") == (
        "SELECT a[1:n] FROM t WHERE b = $1")


def test_a_colon_glued_to_a_word_is_no_placeholder_in_the_tokens_either() -> None:
    # No driver binds a `:n` right after a word character (SQLAlchemy's `text()`): the
    # slice's `1:n` is sent as written, and the statement numbered in place.
    assert placeholder_edits("SELECT a[1:n] FROM t WHERE b = :n") == ((31, 32, "$1"),)
    assert to_numbered_parameters("SELECT a[1:n] FROM t WHERE b = :n") == (
        "SELECT a[1:n] FROM t WHERE b = $1")


@pytest.mark.db
def test_an_error_position_maps_back_onto_the_original_statement(conninfo: str,
                                                                 database_url: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as setup:
        setup.execute("CREATE TABLE t (a int)")
    sql = "SELECT a FROM t WHERE a = %(a_long_name)s AND nosuch = %s"
    # PostgreSQL's Parse of a CALL looks its procedure up (PREPARE takes no CALL).
    call = "CALL  nosuch_procedure(%(a_long_name)s, %s)"
    verdict, called = confirm(database_url, [sql, call])
    assert verdict.sqlstate == "42703"
    assert verdict.position == sql.index("nosuch")
    assert called.sqlstate == "42883"
    assert called.position == call.index("nosuch_procedure")


@pytest.mark.db
def test_a_statement_with_placeholders_has_each_reference_confirmed(
    database_url: str, tmp_path: Path,
) -> None:
    # PostgreSQL reports the ON clause first, then the select list: the first reference is
    # repaired (replaced by NULL) and the statement prepared again, placeholders and all.
    from dbsafe.commands import catalog
    from dbsafe.config import load_settings
    from dbsafe.schema.introspect import introspect_url
    from dbsafe.sources import SchemaSource
    from dbsafe.validate.scan import scan

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE people (id int); CREATE TABLE pets (id int, owner int)")
    snapshot = introspect_url(database_url)
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    (tmp_path / "q.sql").write_text(
        "SELECT p.nosuch1, p.id FROM people p JOIN pets q ON q.nosuch2 = p.id\n"
        " WHERE p.id = %(person)s AND q.owner = %s;\n", encoding="utf-8")
    source = SchemaSource(snapshot, "database (test)", "database", database_url)
    settings = load_settings(tmp_path, {"cache": False}, environ={})
    with source:
        report = scan([tmp_path / "q.sql"], source, settings, catalog())
    assert sorted((f.subject, dict(f.context)["PostgreSQL"]) for f in report.findings) == [
        ("public.people.nosuch1", "42703: column p.nosuch1 does not exist"),
        ("public.pets.nosuch2", "42703: column q.nosuch2 does not exist"),
    ]


def test_a_list_after_in_and_web_py_names_are_sent_as_parameters() -> None:
    # psycopg2 sends a tuple bound to `IN %s` as `(1, 2)` (SQLAlchemy's text() with
    # `IN :ids` too): PostgreSQL parses `IN ($1)`, not `IN $1`. web.py's `$name` and
    # `$obj.attr` are its placeholders (openlibrary); `$1` stays PostgreSQL's own.
    assert to_numbered_parameters("SELECT a FROM t WHERE b IN :ids AND c NOT IN %s") == (
        "SELECT a FROM t WHERE b IN ($1) AND c NOT IN ($2)")
    assert to_numbered_parameters(
        "SELECT a FROM t WHERE b = $username AND c = $i.olid AND d = $1 AND e IN $ids"
        " AND f = $username") == (
        "SELECT a FROM t WHERE b = $2 AND c = $3 AND d = $1 AND e IN ($4) AND f = $2")


@pytest.mark.db
def test_findings_in_such_statements_are_confirmed(database_url: str, tmp_path: Path) -> None:
    from dbsafe.commands import catalog
    from dbsafe.config import load_settings
    from dbsafe.schema.introspect import introspect_url
    from dbsafe.sources import SchemaSource
    from dbsafe.validate.scan import scan

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE ratings (username text, work_id int, rating int)")
    snapshot = introspect_url(database_url)
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    (tmp_path / "q.py").write_text(
        "def f(db, cur):\n"
        "    db.query(\"SELECT ratng FROM ratings WHERE username = $username\", vars={})\n"
        "    cur.execute(\"SELECT rating FROM ratings WHERE work_id IN %s AND usr = %s\", ())\n",
        encoding="utf-8")
    source = SchemaSource(snapshot, "database (test)", "database", database_url)
    settings = load_settings(tmp_path, {"cache": False}, environ={})
    with source:
        report = scan([tmp_path / "q.py"], source, settings, catalog())
    assert sorted((f.subject, dict(f.context)["PostgreSQL"]) for f in report.findings) == [
        ("public.ratings.ratng", '42703: column "ratng" does not exist'),
        ("public.ratings.usr", '42703: column "usr" does not exist'),
    ]

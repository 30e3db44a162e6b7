"""A schema-qualified function called under LATERAL (`LATERAL app.f(t.id) r`,
`LATERAL pg_catalog.jsonb_each(t.doc) e`) is read as the same call in a plain FROM item is.

sqlglot reads it as a Dot of the schema and the call, not as the Table a plain FROM item's
call is: each such statement was "not analysed: Dot is not modelled", and a misspelled
column of the function's result went unreported (pg_activity's
`LATERAL pg_catalog.pg_ls_tmpdir(ts.oid) tmp`). Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import assert_prepares, validate_module

_SCHEMA = ("CREATE SCHEMA app;\n"
           "CREATE TABLE app.items (id int PRIMARY KEY, doc jsonb);\n"
           "CREATE FUNCTION app.parts(item int) RETURNS TABLE (part int, label text) "
           "LANGUAGE sql AS $$ SELECT 1, 'x' $$;\n")

_GOOD = (
    "SELECT p.part, p.label FROM app.items i, LATERAL app.parts(i.id) p",
    "SELECT p.part, p.ordinality FROM app.items i, LATERAL app.parts(i.id) WITH ORDINALITY p",
    "SELECT e.key FROM app.items i LEFT JOIN LATERAL pg_catalog.jsonb_each(i.doc) e ON true",
)
_BAD = (
    "SELECT p.lable FROM app.items i, LATERAL app.parts(i.id) p",
    "SELECT e.kye FROM app.items i CROSS JOIN LATERAL pg_catalog.jsonb_each(i.doc) AS e",
)

_MODULE = "import psycopg\n\n\ndef run(conn: psycopg.Connection) -> None:\n" + "".join(
    f"    conn.execute({statement!r})\n" for statement in (*_GOOD, *_BAD))


@pytest.mark.db
def test_columns_of_a_qualified_function_under_lateral_are_checked(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "parts.py", _MODULE)
    assert sorted((f.code, f.location.line, f.subject) for f in report.findings) == [
        ("DBS302", 8, "p.lable"), ("DBS302", 9, "e.kye")]
    assert report.summary["statements_analysed"] == 5


@pytest.mark.db
def test_postgresql_agrees(database_url: str) -> None:
    assert_prepares(database_url, _SCHEMA, _GOOD, _BAD)

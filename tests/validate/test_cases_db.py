"""The validate cases are checked against PostgreSQL itself, so their labels stay true.

Every `pass` case must PREPARE; every `flag` case must fail with undefined column (42703) or
undefined table (42P01), or the SQLSTATE it names (`sqlstate`: 42883 for an undefined function). Cases with driver placeholders carry a `prepare_sql` twin in `$n`
form. EXPLAIN, DECLARE, CALL and DO cases run (none can be prepared); everything runs in a
rolled-back transaction.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import psycopg
import pytest

FIXTURES = Path(__file__).parent / "fixtures"
SCHEMA = FIXTURES / "clinic_schema.sql"
CASES = [
    *json.loads((FIXTURES / "cases.json").read_text(encoding="utf-8")),
    *json.loads((FIXTURES / "extra_cases.json").read_text(encoding="utf-8")),
]
CONSTRUCTS_SCHEMA = FIXTURES / "constructs_schema.sql"
CONSTRUCTS = json.loads((FIXTURES / "constructs_cases.json").read_text(encoding="utf-8"))

pytestmark = pytest.mark.db


def _outcome(conn: psycopg.Connection, sql: str) -> str:
    sql = sql.rstrip().rstrip(";")
    # EXPLAIN cannot be prepared, nor can DECLARE, CALL or DO (PREPARE's grammar takes
    # none of them): they run.
    direct = sql.upper().startswith(("EXPLAIN", "DECLARE", "CALL", "DO"))
    statement = sql if direct else f"PREPARE dbsafe_case AS {sql}"
    try:
        with conn.transaction(force_rollback=True):
            conn.execute(statement)
    except psycopg.Error as exc:
        return exc.sqlstate or "?"
    finally:
        conn.execute("DEALLOCATE ALL")
    return "ok"


def _judge_on(conn: psycopg.Connection, schema: Path) -> None:
    """Create `schema` and leave `conn` ready for `_outcome`: autocommit, and none of
    psycopg's own prepared statements (`_outcome` deallocates all)."""
    conn.prepare_threshold = None
    conn.execute(schema.read_text(encoding="utf-8"))
    conn.commit()
    conn.autocommit = True


def test_cases_are_labelled_as_postgresql_sees_them(postgresql: psycopg.Connection) -> None:
    _judge_on(postgresql, SCHEMA)
    wrong = []
    for case in CASES:
        if case.get("server_version", 0) > postgresql.info.server_version:
            continue  # grammar of a later server than DBSAFE_TEST_DATABASE_URL's
        outcome = _outcome(postgresql, case.get("prepare_sql", case["sql"]))
        expected = {"ok"} if case["expect"] == "pass" else {case["sqlstate"]} \
            if "sqlstate" in case else {"42703", "42P01"}
        if outcome not in expected:
            wrong.append(f"{case['id']} {case['name']}: {case['expect']} but PostgreSQL says {outcome}")
    assert not wrong, "\n".join(wrong)


def test_clinic_schema_json_is_what_the_clinic_sql_introspects_to(
    postgresql: psycopg.Connection,
) -> None:
    from dbsafe.schema.introspect import introspect
    from dbsafe.schema.model import SchemaSnapshot

    postgresql.execute(SCHEMA.read_text(encoding="utf-8"))
    postgresql.commit()
    expected = SchemaSnapshot.load(FIXTURES / "clinic_schema.json")
    actual = introspect(postgresql)
    assert dataclasses.replace(actual, server_version=None).to_json() == \
        dataclasses.replace(expected, server_version=None).to_json()


def test_construct_cases_are_labelled_as_postgresql_sees_them(
    postgresql: psycopg.Connection,
) -> None:
    _judge_on(postgresql, CONSTRUCTS_SCHEMA)
    wrong = []
    for case in CONSTRUCTS:
        if case.get("server_version", 0) > postgresql.info.server_version:
            continue  # grammar of a later server than DBSAFE_TEST_DATABASE_URL's
        outcome = _outcome(postgresql, case.get("prepare_sql", case["sql"]))
        expected = {"ok"} if case["expect"] == "pass" else {case["sqlstate"]} \
            if "sqlstate" in case else {"42703", "42P01"}
        if outcome not in expected:
            wrong.append(f"{case['id']} {case['name']}: {case['expect']} but PostgreSQL says {outcome}")
    assert not wrong, "\n".join(wrong)


def test_constructs_schema_json_is_what_its_sql_introspects_to(
    postgresql: psycopg.Connection,
) -> None:
    from dbsafe.schema.introspect import introspect
    from dbsafe.schema.model import SchemaSnapshot

    postgresql.execute(CONSTRUCTS_SCHEMA.read_text(encoding="utf-8"))
    postgresql.commit()
    expected = SchemaSnapshot.load(FIXTURES / "constructs_schema.json")
    actual = introspect(postgresql)
    assert actual.covers_all_schemas
    assert dataclasses.replace(actual, server_version=None).to_json() == \
        dataclasses.replace(expected, server_version=None).to_json()


def test_templates_with_braces_are_syntax_errors_to_postgresql(
    postgresql: psycopg.Connection,
) -> None:
    from test_cases import TEMPLATES

    _judge_on(postgresql, SCHEMA)
    assert {sql: _outcome(postgresql, sql) for sql in TEMPLATES} == dict.fromkeys(
        TEMPLATES, "42601")

"""DBS133 held against PostgreSQL 18: every statement of its fixture runs on a database
after the ones before it, and the rule flags exactly the statements PostgreSQL refuses
with 42P17 (a function not IMMUTABLE in an index or a generation expression)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from pglast import parser

from dbsafe.lint import lint_sql
from dbsafe.lint.rules.non_immutable_function_in_index import RULE

pytestmark = pytest.mark.db

FIXTURE = Path(__file__).parent / "fixtures" / "DBS133.sql"


def test_the_rule_flags_exactly_what_postgresql_refuses(
        postgresql: psycopg.Connection[Any]) -> None:
    sql = FIXTURE.read_text(encoding="utf-8")
    refused, accepted = set(), set()
    for statement in parser.split(sql, with_parser=True):
        line = sql[:sql.index(statement)].count("\n") + 1
        postgresql.execute("SAVEPOINT one_case")
        try:
            postgresql.execute(statement)
        except psycopg.errors.InvalidObjectDefinition as error:
            assert error.sqlstate == "42P17"
            refused.add(line)
            postgresql.execute("ROLLBACK TO SAVEPOINT one_case")
        else:
            accepted.add(line)
    assert len(refused) >= 10 and len(accepted) >= 10
    flagged = {f.location.line for f in lint_sql(sql, path=FIXTURE.name, rules=[RULE])}
    assert flagged == refused


def test_the_built_ins_never_immutable_have_no_immutable_overload(
        postgresql: psycopg.Connection[Any]) -> None:
    # `NOT_IMMUTABLE_FUNCTIONS`: every name is a pg_catalog function, none of its overloads
    # IMMUTABLE, so a call of one is refused in an index whatever its arguments.
    from dbsafe.pg.volatility import NOT_IMMUTABLE_FUNCTIONS

    rows = postgresql.execute(
        "SELECT proname, bool_or(provolatile = 'i') FROM pg_proc "
        "WHERE pronamespace = 'pg_catalog'::regnamespace AND proname = ANY(%s) "
        "GROUP BY proname", (sorted(NOT_IMMUTABLE_FUNCTIONS),)).fetchall()
    assert {name for name, _ in rows} == NOT_IMMUTABLE_FUNCTIONS
    assert [name for name, immutable in rows if immutable] == []

"""DBS133 held against PostgreSQL 18: every statement of its fixture runs on a database
after the ones before it, in one transaction (lint is told so: a SET LOCAL holds to the
end), and the rule flags exactly the statements PostgreSQL refuses with 42P17 (a function
not IMMUTABLE in an index or a generation expression)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from pglast import parser

from dbsafe.lint import lint_sql
from dbsafe.lint.rules.non_immutable_function_in_index import RULE
from dbsafe.schema.introspect import introspect

pytestmark = pytest.mark.db


@pytest.fixture(autouse=True)
def _on_18(postgresql: psycopg.Connection[Any]) -> None:
    """The fixture (VIRTUAL generated columns) and the shipped lists are PostgreSQL 18's:
    skipped where DBSAFE_TEST_DATABASE_URL names an older server."""
    if postgresql.info.server_version < 180000:
        pytest.skip(f"held against PostgreSQL 18; the suite's server is "
                    f"{postgresql.info.server_version // 10000}")

FIXTURE = Path(__file__).parent / "fixtures" / "DBS133.sql"


def _refused(connection: psycopg.Connection[Any], sql: str) -> set[int]:
    """Run each statement of `sql` after the ones before it: the lines of those PostgreSQL
    refuses with 42P17 (any other error fails the test)."""
    refused, accepted = set(), set()
    for statement in parser.split(sql, with_parser=True):
        line = sql[:sql.index(statement)].count("\n") + 1
        connection.execute("SAVEPOINT one_case")
        try:
            connection.execute(statement)
        except psycopg.errors.InvalidObjectDefinition as error:
            assert error.sqlstate == "42P17"
            refused.add(line)
            connection.execute("ROLLBACK TO SAVEPOINT one_case")
        else:
            accepted.add(line)
    assert len(refused) >= 10 and len(accepted) >= 10
    return refused


def test_the_rule_flags_exactly_what_postgresql_refuses(
        postgresql: psycopg.Connection[Any]) -> None:
    sql = FIXTURE.read_text(encoding="utf-8")
    refused = _refused(postgresql, sql)
    flagged = {f.location.line for f in lint_sql(sql, path=FIXTURE.name, rules=[RULE],
                                                 in_transaction=True)}
    assert flagged == refused


def test_functions_of_the_database_are_judged_from_their_definitions(
        postgresql: psycopg.Connection[Any]) -> None:
    # The fixture's first block (its tables and functions) is the database's schema
    # (`--database-url`), the rest the migration: its functions' definitions come from
    # pg_get_functiondef, and the rule still flags exactly what PostgreSQL refuses.
    sql = FIXTURE.read_text(encoding="utf-8")
    schema, _, cases = sql.partition("\n\n")
    postgresql.execute(schema)
    before = introspect(postgresql)
    cases = "\n" * (schema.count("\n") + 2) + cases  # (the lines they have in the fixture)
    refused = _refused(postgresql, cases)
    flagged = {f.location.line for f in lint_sql(cases, path=FIXTURE.name, rules=[RULE],
                                                 before=before, in_transaction=True)}
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


def test_the_built_ins_with_an_immutable_overload_are_pg_catalog_s(
        postgresql: psycopg.Connection[Any]) -> None:
    # `IMMUTABLE_CATALOG_FUNCTIONS`: an unqualified call of one may be pg_catalog's IMMUTABLE
    # function whatever a user function of that name is; a name left out would be a false
    # DBS133 where a user function shadows it.
    from dbsafe.pg.catalog_functions import IMMUTABLE_CATALOG_FUNCTIONS

    server = {name for (name,) in postgresql.execute(
        "SELECT DISTINCT proname FROM pg_proc WHERE pronamespace = 'pg_catalog'::regnamespace "
        "AND provolatile = 'i'").fetchall()}
    assert server <= IMMUTABLE_CATALOG_FUNCTIONS
    if postgresql.info.server_version >= 180000:
        assert server == IMMUTABLE_CATALOG_FUNCTIONS

"""DBS142 held against PostgreSQL 18 and 15: every statement of its fixture runs after the
ones before it, in one transaction, and the rule flags exactly those PostgreSQL 18 refuses
because a function it calls finds no object its body names (42883, 42P01, 42704: 18 runs
it with search_path = pg_catalog, pg_temp); PostgreSQL 15 runs them all, and there the
findings are warnings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pglast import parser

from dbsafe.core import Severity
from dbsafe.lint import lint_sql
from dbsafe.lint.rules.maintenance_function_without_search_path import RULE
from dbsafe.pg.function_body import CATALOG_OPERATORS
from dbsafe.schema.introspect import introspect

pytestmark = pytest.mark.db

FIXTURE = Path(__file__).parent / "fixtures" / "DBS142.sql"
# What PostgreSQL 17+ says when the restricted search_path finds no function, relation, type.
NOT_FOUND = frozenset({"42883", "42P01", "42704"})
CATALOG_OPERATORS_QUERY = ("SELECT DISTINCT oprname::text FROM pg_catalog.pg_operator "
                           "WHERE oprnamespace = 'pg_catalog'::regnamespace")
ON_18 = {"target_version": 180000, "target_version_given": True}


def _refused(connection: psycopg.Connection[Any], sql: str) -> set[int]:
    """Run each statement of `sql` after the ones before it: the lines of those PostgreSQL
    refuses as not finding an object (any other error fails the test)."""
    refused, accepted = set(), set()
    for statement in parser.split(sql, with_parser=True):
        line = sql[:sql.index(statement)].count("\n") + 1
        connection.execute("SAVEPOINT one_case")
        try:
            connection.execute(statement)
        except psycopg.Error as error:
            assert error.sqlstate in NOT_FOUND, (line, error)
            refused.add(line)
            connection.execute("ROLLBACK TO SAVEPOINT one_case")
        else:
            accepted.add(line)
    return refused


def _on_18(connection: psycopg.Connection[Any]) -> None:
    if connection.info.server_version < 170000:
        pytest.skip("PostgreSQL 17+ restricts the search_path of maintenance; the suite's "
                    f"server is {connection.info.server_version // 10000}")


def test_the_rule_flags_exactly_what_postgresql_18_refuses(
        postgresql: psycopg.Connection[Any]) -> None:
    _on_18(postgresql)
    sql = FIXTURE.read_text(encoding="utf-8")
    refused = _refused(postgresql, sql)
    findings = lint_sql(sql, path=FIXTURE.name, rules=[RULE], in_transaction=True, **ON_18)
    assert len(refused) >= 10
    assert {f.location.line for f in findings if f.location} == refused
    assert {f.severity for f in findings} == {Severity.ERROR}


def test_functions_of_the_database_are_judged_from_their_definitions(
        postgresql: psycopg.Connection[Any]) -> None:
    # The fixture's first block (its tables and functions) is the database's schema
    # (`--database-url`), the rest the migration: the functions' definitions (and their SET
    # clauses) come from pg_get_functiondef, and the rule still flags exactly what 18 refuses.
    _on_18(postgresql)
    sql = FIXTURE.read_text(encoding="utf-8")
    schema, _, cases = sql.partition("\n\n")
    postgresql.execute(schema)
    before = introspect(postgresql)
    cases = "\n" * (schema.count("\n") + 2) + cases  # (the lines they have in the fixture)
    refused = _refused(postgresql, cases)
    flagged = {f.location.line for f in lint_sql(cases, path=FIXTURE.name, rules=[RULE],
                                                 before=before, in_transaction=True, **ON_18)
               if f.location}
    assert flagged == refused
    assert len(refused) >= 10


def test_a_plpgsql_function_on_an_empty_table_fails_at_its_first_analyze(
        postgresql: psycopg.Connection[Any]) -> None:
    # PostgreSQL calls a PL/pgSQL function only for a row: the index on an empty table
    # builds, and the table's first ANALYZE (autovacuum's too) fails: still flagged.
    _on_18(postgresql)
    sql = ("CREATE TABLE t (c text);\n"
           "CREATE FUNCTION shout(x text) RETURNS text LANGUAGE sql IMMUTABLE "
           "AS 'SELECT upper(x)';\n"
           "CREATE FUNCTION pl(x text) RETURNS text LANGUAGE plpgsql IMMUTABLE "
           "AS $$ BEGIN RETURN shout(x); END $$;\n"
           "CREATE INDEX ix_pl ON t (pl(c));\n")
    assert [f.location.line for f in lint_sql(sql, rules=[RULE], **ON_18)
            if f.location] == [4]
    postgresql.execute(sql)
    postgresql.execute("INSERT INTO t VALUES ('a')")
    with pytest.raises(psycopg.errors.UndefinedFunction):
        postgresql.execute("ANALYZE t")


@pytest.mark.xdist_group("pg15")
def test_postgresql_15_builds_them_all_and_the_findings_are_warnings(
        new_pg15_database: Callable[[], str]) -> None:
    # Before 17 the session's search_path holds: every statement runs, so a target older
    # than 17 (or none) makes the findings warnings (a dump's restore fails there, and all
    # of them once the server is 17).
    sql = FIXTURE.read_text(encoding="utf-8")
    with psycopg.connect(new_pg15_database()) as connection:
        assert connection.info.server_version // 10000 == 15
        assert _refused(connection, sql) == set()
        assert {name for (name,) in connection.execute(CATALOG_OPERATORS_QUERY)} <= \
            CATALOG_OPERATORS
    for target in ({"target_version": 150000, "target_version_given": True}, {}):
        findings = lint_sql(sql, path=FIXTURE.name, rules=[RULE], in_transaction=True,
                            **target)
        assert len(findings) >= 10
        assert {f.severity for f in findings} == {Severity.WARNING}


def test_the_operators_lint_takes_for_pg_catalog_s_are_the_server_s(
        postgresql: psycopg.Connection[Any]) -> None:
    # An operator pg_catalog has that `CATALOG_OPERATORS` lacks would be a false DBS142 on a
    # body using it (the 15 test holds 15's the same way).
    server = {name for (name,) in postgresql.execute(CATALOG_OPERATORS_QUERY)}
    assert server <= CATALOG_OPERATORS
    if postgresql.info.server_version >= 180000:
        assert server == CATALOG_OPERATORS

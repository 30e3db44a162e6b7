"""A temporary table is the migration's session's own (task 511). Tuturuuu's supabase
migrations define `_inventory_reserve_bundle_components` twice; its PL/pgSQL body makes
`pg_temp.inventory_bundle_selected_items` (`ON COMMIT DROP`) and truncates it. The second
definition's TRUNCATE was DBS215 "every row in it is deleted for good": the first file's
body had "made" the table, so the second's `CREATE TEMPORARY TABLE IF NOT EXISTS` was taken
for a no-op on an existing table. A `CREATE TEMP TABLE x` of an earlier file and a later
file's `TRUNCATE x` gave DBS215 and DBS115 the same way.

On PostgreSQL 18: a temporary table is invisible to a second session, and its TRUNCATE
takes no lock that session would wait for.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from dbsafe.core import Location
from dbsafe.extract.migration import Migration, MigrationStatement
from dbsafe.lint.engine import History, lint_migration
from dbsafe.lint.rules import ALL_RULES

pytestmark = pytest.mark.db

BODY = ("CREATE OR REPLACE FUNCTION reserve() RETURNS void LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "  CREATE TEMPORARY TABLE IF NOT EXISTS pg_temp.selected (a int) ON COMMIT DROP;\n"
        "  TRUNCATE TABLE pg_temp.selected;\n"
        "END $$")

# name -> the files, each a list of statements, and the codes lint gives the last file
CASES = {
    "a-function-body-redefined": ([[BODY], [BODY]], set()),
    "a-temporary-table-of-an-earlier-file": (
        [["CREATE TEMP TABLE selected (a int)"],
         ["CREATE TEMP TABLE IF NOT EXISTS selected (a int)", "TRUNCATE selected"]], set()),
    # the database's public.orders, named by its schema, is no temporary table
    "the-permanent-table-by-its-schema": (
        [["CREATE TABLE orders (a int)"],
         ["CREATE TEMP TABLE orders (a int)", "TRUNCATE public.orders"]],
        {"DBS215", "DBS115"}),
    # made permanent first: after its migration, `orders` names the permanent one
    "a-name-a-permanent-table-has": (
        [["CREATE TABLE orders (a int)"], ["CREATE TEMP TABLE orders (a int) ON COMMIT DROP"],
         ["TRUNCATE orders"]], {"DBS215", "DBS115"}),
}


def _lint(files: list[list[str]]) -> set[str]:
    history, found = History(), []
    for number, statements in enumerate(files, start=1):
        name = f"supabase/migrations/2024010{number}000000_m.sql"
        migration = Migration(name, tuple(MigrationStatement(sql, Location(name, line))
                                          for line, sql in enumerate(statements, start=1)),
                              starts_in_transaction=True)
        found = lint_migration(migration, ALL_RULES, history=history)
    return {f.code for f in found if f.code in ("DBS215", "DBS115", "DBS114")}


@pytest.mark.parametrize("case", list(CASES))
def test_a_temporary_table_is_the_migrations_own(case: str) -> None:
    files, expected = CASES[case]
    assert _lint(files) == expected


def test_a_temporary_tables_truncate_blocks_no_other_session(
        postgresql: psycopg.Connection[Any], conninfo: str) -> None:
    postgresql.autocommit = True
    postgresql.execute("CREATE TEMP TABLE selected (a int)")
    postgresql.execute("INSERT INTO selected VALUES (1)")
    postgresql.execute("BEGIN")
    postgresql.execute("TRUNCATE selected")  # held to the end of its transaction
    pid = postgresql.info.backend_pid
    with psycopg.connect(conninfo, autocommit=True) as other:
        row = other.execute("SELECT to_regclass('selected')").fetchone()
        assert row == (None,)
        held = other.execute(
            "SELECT c.relpersistence, l.mode FROM pg_locks l JOIN pg_class c "
            "ON c.oid = l.relation WHERE l.pid = %s AND l.mode = 'AccessExclusiveLock'",
            (pid,)).fetchall()
        assert held and all(persistence == "t" for persistence, _ in held)
    postgresql.execute("ROLLBACK")

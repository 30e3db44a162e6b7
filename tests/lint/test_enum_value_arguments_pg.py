"""A new enum value written as the argument of a function whose parameter is `text` is no
use of the value (task 511). Tuturuuu's supabase migrations add a permission to their
`workspace_role_permission` enum and, in the same file, create policies calling
`has_workspace_permission(ws_id, auth.uid(), 'manage_subscription')`, whose third
parameter is `text`: PostgreSQL takes the literal as text, and the file applies. DBS113 said
each of the 17 would be refused (55P04); it now reads the parameter's declared type. A
PL/pgSQL body's INSERT of the value runs when the function is called: not flagged either.

Each migration runs on PostgreSQL 18: refused exactly where DBS113 says so.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from pglast import parser

from dbsafe.lint import lint_sql
from dbsafe.lint.rules import enum_value_used_in_same_transaction

pytestmark = pytest.mark.db

BEFORE = (
    "CREATE TYPE perm AS ENUM ('view');\n"
    "CREATE TABLE subs (ws_id int, p perm);\n"
    "CREATE FUNCTION has_perm(ws int, wanted text) RETURNS boolean LANGUAGE sql STABLE\n"
    "    AS $$ SELECT ws > 0 AND wanted <> '' $$;\n"
    "CREATE FUNCTION has_perm_typed(ws int, wanted perm) RETURNS boolean LANGUAGE sql\n"
    "    STABLE AS $$ SELECT ws > 0 AND wanted IS NOT NULL $$;\n"
    "BEGIN;\n"
    "ALTER TYPE perm ADD VALUE 'manage';\n"
)

# name -> (what follows the ADD VALUE in its transaction, DBS113 expected, SQLSTATE
# PostgreSQL refuses its last statement with, or None where it applies)
CASES = {
    # the literal is has_perm's `text` parameter: a string, not the enum
    "argument-of-a-text-parameter": (
        "CREATE POLICY p ON subs USING (has_perm(ws_id, 'manage'));\n", False, None),
    # a LANGUAGE sql body PostgreSQL checks now: the same call inside it
    "argument-of-a-text-parameter-in-a-sql-body": (
        "CREATE FUNCTION can_manage(ws int) RETURNS boolean LANGUAGE sql STABLE\n"
        "    AS $$ SELECT has_perm(ws, 'manage') $$;\n", False, None),
    # a PL/pgSQL body runs when the function is called, after the COMMIT
    "plpgsql-body-inserting-the-value": (
        "CREATE FUNCTION grant_manage() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN INSERT INTO subs VALUES (NEW.ws_id, 'manage'); RETURN NEW; END $$;\n",
        False, None),
    # the parameter is the enum: the literal becomes the new value, refused
    "argument-of-an-enum-parameter": (
        "CREATE POLICY p ON subs USING (has_perm_typed(ws_id, 'manage'));\n", True, "55P04"),
    # a comparison with the column is still a use
    "comparison-beside-a-text-argument": (
        "CREATE POLICY p ON subs USING (has_perm(ws_id, 'manage') AND p = 'manage');\n",
        True, "55P04"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_new_enum_value_passed_to_a_text_parameter_is_not_used(
        postgresql: psycopg.Connection[Any], case: str) -> None:
    rest, flagged, refused = CASES[case]
    sql = BEFORE + rest

    found = {f.code for f in lint_sql(sql, rules=[enum_value_used_in_same_transaction.RULE])}

    assert found == ({"DBS113"} if flagged else set())
    postgresql.autocommit = True
    *earlier, last_statement = parser.split(sql, with_parser=True)
    for statement in earlier:
        postgresql.execute(statement)
    if refused is None:
        postgresql.execute(last_statement)
    else:
        with pytest.raises(psycopg.Error) as error:
            postgresql.execute(last_statement)
        assert error.value.sqlstate == refused
    postgresql.execute("ROLLBACK")

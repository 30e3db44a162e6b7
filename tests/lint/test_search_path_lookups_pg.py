"""The schema before's table an unqualified name of a migration is, read on the search_path in
force for its statement (task 435): `SET search_path`, `set_config('search_path', ...)`, a
`SET LOCAL` until its transaction ends. Before, lint read the name on the path of the session
the database was introspected with: `ALTER TABLE spans ...` under `SET search_path TO app` was
`public.spans` (another table: its columns, constraints and indexes), or none ("unknown", and
a rule that needs the table says nothing).

The database holds `app.spans`, whose `trace_rowid` a validated CHECK proves NOT NULL and whose
`patient_id` no index serves, and a decoy `public.spans` the other way round. Each migration
runs on PostgreSQL too: the foreign key lands on `app.spans`.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from pglast import parser

from dbsafe.lint import lint_sql
from dbsafe.lint.rules import foreign_key_without_index, set_not_null_without_check
from dbsafe.schema.introspect import introspect

pytestmark = pytest.mark.db

SCHEMA = """
CREATE SCHEMA app;
CREATE TABLE app.patients (id bigint PRIMARY KEY);
CREATE TABLE app.spans (id bigint PRIMARY KEY, patient_id bigint, trace_rowid bigint,
                        CONSTRAINT spans_trace_nn CHECK (trace_rowid IS NOT NULL));
CREATE TABLE public.spans (id bigint PRIMARY KEY, patient_id bigint, trace_rowid bigint);
CREATE INDEX ix_public_spans_patient ON public.spans (patient_id);
"""

# (line 1 sets the path; lines 2 and 3 are on `spans`)
CHANGES = """\
ALTER TABLE spans ALTER COLUMN trace_rowid SET NOT NULL;
ALTER TABLE spans ADD CONSTRAINT fk_spans_patient FOREIGN KEY (patient_id) REFERENCES patients;
"""

RULES = [set_not_null_without_check.RULE, foreign_key_without_index.RULE]


def _schema_of_key(connection: psycopg.Connection[Any]) -> str:
    """The schema of the table PostgreSQL put `fk_spans_patient` on."""
    row = connection.execute(
        "SELECT r.relnamespace::regnamespace::text FROM pg_constraint c "
        "JOIN pg_class r ON r.oid = c.conrelid WHERE c.conname = 'fk_spans_patient'").fetchone()
    assert row is not None
    return str(row[0])


def _run(connection: psycopg.Connection[Any], sql: str) -> None:
    connection.autocommit = True
    for statement in parser.split(sql, with_parser=True):
        connection.execute(statement)


@pytest.mark.parametrize("setting", [
    "SET search_path TO app;",
    "SELECT pg_catalog.set_config('search_path', 'app', false);",
    "SET search_path = \"$user\", app;",
], ids=["set", "set_config", "user_first"])
def test_an_unqualified_name_is_the_table_of_the_search_path_the_migration_set(
        postgresql: psycopg.Connection[Any], setting: str) -> None:
    postgresql.execute(SCHEMA)
    postgresql.commit()
    before = introspect(postgresql)
    sql = f"{setting}\n{CHANGES}"

    found = {(f.code, f.location.line) for f in lint_sql(sql, rules=RULES, before=before)}

    # app.spans: the CHECK spares SET NOT NULL its scan; no index serves the key (it said
    # DBS107 of public.spans' unproven column, and nothing of the key: its index serves it)
    assert found == {("DBS117", 3)}
    _run(postgresql, sql)
    assert _schema_of_key(postgresql) == "app"


def test_a_set_local_search_path_holds_until_its_transaction_ends(
        postgresql: psycopg.Connection[Any]) -> None:
    postgresql.execute(SCHEMA)
    postgresql.commit()
    before = introspect(postgresql)
    sql = ("BEGIN;\n"
           "SET LOCAL search_path TO app;\n"
           "ALTER TABLE spans ALTER COLUMN trace_rowid SET NOT NULL;\n"
           "COMMIT;\n"
           "ALTER TABLE spans ADD CONSTRAINT fk_spans_patient FOREIGN KEY (patient_id) "
           "REFERENCES app.patients;\n")

    found = {(f.code, f.location.line) for f in lint_sql(sql, rules=RULES, before=before)}

    # in the transaction, app.spans (its CHECK spares the scan: it said DBS107 on line 3);
    # after COMMIT, public.spans again (its index serves the key: no DBS117 on line 5)
    assert found == set()
    _run(postgresql, sql)
    assert _schema_of_key(postgresql) == "public"

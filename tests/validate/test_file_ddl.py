"""A file's own DDL is there for its other statements: what it makes is never unknown.

A script's later statements see it; in code (Python, JS) any statement may, since code runs
them in the order it calls them. Each case runs on PostgreSQL (the db tests prove it on
constructs_schema.sql), so any finding on it is a false positive.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dbsafe.schema.model import SchemaSnapshot
from dbsafe.validate.scan import analyse_file

FIXTURES = Path(__file__).parent / "fixtures"

SCRIPTS = {
    "select_into": "SELECT id, x INTO TEMP scratch FROM a;\nSELECT x FROM scratch;\n",
    "select_into_with_cte": "WITH w AS (SELECT id FROM b) SELECT id INTO TEMP Scratch FROM w;\n"
                            "SELECT id FROM scratch;\n",
    "create_sequence": "CREATE SEQUENCE counter;\nSELECT last_value FROM counter;\n",
    "regclass_of_new_objects": "CREATE SEQUENCE ticket;\nCREATE INDEX ix_b_y ON b (y);\n"
                               "SELECT nextval('ticket'), pg_relation_size('ix_b_y');\n",
    "serial_and_identity_sequences": "CREATE TABLE serialt (id serial, n int GENERATED ALWAYS "
                                     "AS IDENTITY);\nALTER TABLE b ADD COLUMN k bigserial;\n"
                                     "SELECT last_value FROM serialt_id_seq;\n"
                                     "SELECT nextval('serialt_n_seq'), currval('b_k_seq');\n",
    "rename_sequence": "ALTER SEQUENCE my_sequence RENAME TO renamed_sequence;\n"
                       "SELECT is_called FROM renamed_sequence;\n",
    "set_schema": "ALTER TABLE nodes SET SCHEMA sales;\nSELECT parent_id FROM sales.nodes;\n",
    "rename_schema": "ALTER SCHEMA sales RENAME TO crm;\nSELECT total FROM crm.orders;\n",
    "foreign_table": "CREATE FOREIGN DATA WRAPPER dummy_fdw;\n"
                     "CREATE SERVER dummy_server FOREIGN DATA WRAPPER dummy_fdw;\n"
                     "CREATE FOREIGN TABLE remote_rows (n int) SERVER dummy_server;\n"
                     "SELECT n FROM remote_rows;\n",
}


# Code runs its statements in the order it calls them, not the order they are written: here
# the helper making the temp table comes last in the file, and is called first.
_CREATE = "CREATE TEMP TABLE scratch_totals AS SELECT a_id, sum(y) AS total FROM b GROUP BY a_id"
_SELECT_INTO = "SELECT a_id, sum(y) AS total INTO TEMP scratch_totals FROM b GROUP BY a_id"
_REPORT = "SELECT total FROM scratch_totals ORDER BY total DESC"
CODE = {
    "python": ("jobs.py", f"""def report(cur):
    cur.execute("{_REPORT}")


def prepare(cur):
    cur.execute("{_CREATE}")
""", (_CREATE, _REPORT)),
    "javascript": ("jobs.js", f"""export async function report(client) {{
  return client.query('{_REPORT}');
}}
export async function prepare(client) {{
  await client.query('{_SELECT_INTO}');
}}
""", (_SELECT_INTO, _REPORT)),
    # DDL through a SQL call or tag is read too (JS takes only DML otherwise).
    "javascript-ddl": ("ddl.js", f"""export async function run(client, sql) {{
  await client.query('{_CREATE}');
  await sql`ALTER TABLE b ADD COLUMN archived boolean`;
  await sql`SELECT archived FROM b`;
  return client.query('{_REPORT}');
}}
""", (_CREATE, "ALTER TABLE b ADD COLUMN archived boolean", "SELECT archived FROM b", _REPORT)),
}


@pytest.fixture(scope="module")
def constructs() -> SchemaSnapshot:
    return SchemaSnapshot.load(FIXTURES / "constructs_schema.json")


@pytest.mark.parametrize("name", SCRIPTS)
def test_what_a_script_made_is_not_reported(name: str, tmp_path: Path,
                                             constructs: SchemaSnapshot) -> None:
    script = tmp_path / f"{name}.sql"
    script.write_text(SCRIPTS[name], encoding="utf-8")
    outcome = analyse_file(script, tmp_path, constructs)
    assert outcome.findings == [] and outcome.candidates == []


@pytest.mark.db
@pytest.mark.parametrize("name", SCRIPTS)
def test_the_scripts_run_on_postgresql(name: str, postgresql: psycopg.Connection) -> None:
    postgresql.execute((FIXTURES / "constructs_schema.sql").read_text(encoding="utf-8"))
    for statement in SCRIPTS[name].splitlines():
        # PREPARE: planning a query of a foreign table needs a working wrapper.
        head = statement.split(maxsplit=1)[0].upper()
        postgresql.execute(f"PREPARE q AS {statement}" if head == "SELECT" and " INTO " not in
                           statement else statement)
        postgresql.execute("DEALLOCATE ALL")
    postgresql.rollback()


@pytest.mark.parametrize("language", CODE)
def test_what_code_makes_anywhere_in_a_file_is_not_reported(language: str, tmp_path: Path,
                                                             constructs: SchemaSnapshot) -> None:
    name, source, _ = CODE[language]
    (tmp_path / name).write_text(source, encoding="utf-8")
    outcome = analyse_file(tmp_path / name, tmp_path, constructs)
    assert outcome.counts["statements"] == len(CODE[language][2])
    assert outcome.findings == [] and outcome.candidates == []


def test_a_script_still_runs_top_down(tmp_path: Path, constructs: SchemaSnapshot) -> None:
    script = tmp_path / "job.sql"
    script.write_text(f"{_REPORT};\n{_CREATE};\n", encoding="utf-8")
    outcome = analyse_file(script, tmp_path, constructs)
    assert [c.finding.code for c in outcome.candidates] == ["DBS301"]


@pytest.mark.db
@pytest.mark.parametrize("language", CODE)
def test_the_code_runs_on_postgresql(language: str, postgresql: psycopg.Connection) -> None:
    postgresql.execute((FIXTURES / "constructs_schema.sql").read_text(encoding="utf-8"))
    for statement in CODE[language][2]:
        postgresql.execute(statement)
    postgresql.rollback()

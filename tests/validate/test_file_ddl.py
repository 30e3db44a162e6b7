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
    "do_block": "DO $$ BEGIN CREATE TABLE IF NOT EXISTS kv (k text PRIMARY KEY, v text); END $$;\n"
                "INSERT INTO kv (k, v) VALUES ('a', 'b');\n",
    "do_block_execute": "DO $$ BEGIN EXECUTE 'ALTER TABLE a ADD COLUMN shelved boolean'; END $$;\n"
                        "SELECT shelved FROM a;\n",
    "do_block_built_sql": "DO $$ BEGIN EXECUTE format('CREATE TABLE %I (n int)', 'made_' || 'late');"
                          " END $$;\nSELECT n FROM made_late;\n",
    # pg_dump's way of setting the search path
    "set_config_search_path": "SELECT pg_catalog.set_config('search_path', 'sales', false);\n"
                              "SELECT total FROM orders;\n",
    # `"$user"` in the search path names the role set
    "set_role": "CREATE ROLE sales;\nGRANT USAGE ON SCHEMA sales TO sales;\n"
                "GRANT SELECT ON sales.orders TO sales;\nSET ROLE sales;\n"
                "SELECT total FROM orders;\nRESET ROLE;\n",
    "create_extension": "CREATE EXTENSION IF NOT EXISTS pg_buffercache;\n"
                        "SELECT bufferid FROM public.pg_buffercache;\n",
    # what a subquery or CTE takes from an altered or re-created table is what it is now
    "subquery_of_altered_table": "ALTER TABLE a ADD COLUMN shelved boolean;\n"
                                 "SELECT s.shelved FROM (SELECT * FROM a) s;\n",
    "cte_of_recreated_table": "CREATE TEMP TABLE b (id int, note text);\n"
                              "WITH w AS (SELECT * FROM b) SELECT w.note FROM w;\n",
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
        # PREPARE: planning a query of a foreign table needs a working wrapper. Queries
        # that change something (SELECT INTO, set_config) run.
        head = statement.split(maxsplit=1)[0].upper()
        postgresql.execute(f"PREPARE q AS {statement}" if head == "SELECT" and " INTO " not in
                           statement and "set_config" not in statement else statement)
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


# DDL sent through a call dbsafe does not know (postgres.py's `db.run`), with a leading
# comment and a driver placeholder: what it makes still exists for the module's statements.
_RUN_DDL = f"""def report(cur):
    cur.execute("{_REPORT}")


def prepare(db, since):
    db.run(\"\"\"
        -- totals of the recent rows
        CREATE TEMP TABLE scratch_totals ON COMMIT DROP AS
            SELECT a_id, sum(y) AS total FROM b WHERE y > %(since)s GROUP BY a_id;
        CREATE INDEX ON scratch_totals (a_id);
    \"\"\", dict(since=since))
"""


def test_ddl_through_an_unknown_call_is_there_for_the_module(
        tmp_path: Path, constructs: SchemaSnapshot) -> None:
    (tmp_path / "jobs.py").write_text(_RUN_DDL, encoding="utf-8")
    outcome = analyse_file(tmp_path / "jobs.py", tmp_path, constructs)
    assert outcome.counts["statements"] == 1  # the DDL is not a statement to validate
    assert outcome.findings == [] and outcome.candidates == []
    # ...while prose that starts like DDL makes nothing
    (tmp_path / "jobs.py").write_text(_RUN_DDL.replace("CREATE TEMP", "Create temp"),
                                      encoding="utf-8")
    outcome = analyse_file(tmp_path / "jobs.py", tmp_path, constructs)
    assert [c.finding.code for c in outcome.candidates] == ["DBS301"]


@pytest.mark.db
def test_ddl_through_an_unknown_call_runs_on_postgresql(postgresql: psycopg.Connection) -> None:
    postgresql.execute((FIXTURES / "constructs_schema.sql").read_text(encoding="utf-8"))
    postgresql.execute("CREATE TEMP TABLE scratch_totals ON COMMIT DROP AS SELECT a_id, "
                       "sum(y) AS total FROM b WHERE y > %(since)s GROUP BY a_id", {"since": 1})
    postgresql.execute("CREATE INDEX ON scratch_totals (a_id)")
    postgresql.execute(f"PREPARE q AS {_REPORT}")
    postgresql.rollback()


@pytest.mark.parametrize(("script", "found"), [
    # what the DO block made is known; a mistake about anything else is still one
    ("DO $$ BEGIN CREATE TABLE kv (k text); END $$;\nSELECT nope FROM a;\n", ["DBS302"]),
    ("DO $$ BEGIN PERFORM 1; END $$;\nSELECT 1 FROM nowhere;\n", ["DBS301"]),
    # a subquery of a table the script did not touch, or an alias not in scope
    ("ALTER TABLE a ADD COLUMN shelved boolean;\nSELECT s.nope FROM (SELECT * FROM b) s;\n",
     ["DBS302"]),
    ("ALTER TABLE a ADD COLUMN shelved boolean;\nSELECT t.x FROM (SELECT * FROM a) s;\n",
     ["DBS302"]),
    # setting anything but the search path (or the role) changes nothing
    ("SELECT set_config('application_name', 'job', false);\nSELECT 1 FROM nowhere;\n",
     ["DBS301"]),
    # a role with no schema of its name leaves the search path as it was (RLS tests)
    ("SET ROLE authenticated;\nSELECT 1 FROM nowhere;\nRESET ROLE;\n", ["DBS301"]),
    ("SELECT set_config('role', 'anon', true);\nSELECT 1 FROM nowhere;\n", ["DBS301"]),
    # an extension the schema has (plpgsql is in every database) brings nothing new
    ("CREATE EXTENSION IF NOT EXISTS pgcrypto;\nCREATE EXTENSION IF NOT EXISTS plpgsql;\n"
     "SELECT 1 FROM nowhere;\n", ["DBS301"]),
])
def test_what_the_script_did_not_make_is_still_checked(
        script: str, found: list[str], tmp_path: Path, constructs: SchemaSnapshot) -> None:
    from dataclasses import replace

    from dbsafe.schema.model import Extension

    path = tmp_path / "job.sql"
    path.write_text(script, encoding="utf-8")
    with_pgcrypto = replace(constructs, extensions=(Extension("pgcrypto", "public", "1.3"),))
    outcome = analyse_file(path, tmp_path, with_pgcrypto)
    assert [c.finding.code for c in outcome.candidates] == found


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


# A module that runs a SQL file it reads at run time (a test loading an old schema to
# migrate it, as Kinto's storage tests do) runs DDL dbsafe cannot see: what it makes
# exists for the module's statements, as after a DO block of dynamic SQL.
_RUNS_A_FILE = {
    "read_bound_once": """import os

import sqlalchemy as sa


def load_schema(conn, name):
    with open(os.path.join(os.path.dirname(__file__), name)) as f:
        old_schema = f.read()
    conn.execute(sa.text(old_schema))


def test_migration(conn):
    load_schema(conn, "storage-1.sql")
    conn.execute(sa.text("INSERT INTO records (id, data) VALUES (:id, :data)"), {})
""",
    "read_text_in_the_call": """from pathlib import Path


def test_migration(cur):
    cur.execute(Path("old.sql").read_text())
    cur.execute("SELECT data FROM records WHERE id = %s", (1,))
""",
    "resources_decoded": """import pkgutil


def install(cur):
    cur.execute(pkgutil.get_data(__name__, "old.sql").decode("utf-8"))
    cur.execute("SELECT data FROM records")
""",
}


@pytest.mark.parametrize("name", _RUNS_A_FILE)
def test_a_module_running_a_sql_file_makes_what_it_uses(
        name: str, tmp_path: Path, constructs: SchemaSnapshot) -> None:
    (tmp_path / "test_migrations.py").write_text(_RUNS_A_FILE[name], encoding="utf-8")
    outcome = analyse_file(tmp_path / "test_migrations.py", tmp_path, constructs)
    assert outcome.counts["statements"] == 1
    assert outcome.findings == [] and outcome.candidates == []


def test_reading_a_file_that_is_not_sent_changes_nothing(
        tmp_path: Path, constructs: SchemaSnapshot) -> None:
    # the text read is a parameter, not a statement: the module's SQL is checked
    source = """def save(cur, path):
    with open(path) as f:
        body = f.read()
    cur.execute("INSERT INTO records (body) VALUES (%s)", (body,))
"""
    (tmp_path / "save.py").write_text(source, encoding="utf-8")
    outcome = analyse_file(tmp_path / "save.py", tmp_path, constructs)
    assert [c.finding.code for c in outcome.candidates] == ["DBS301"]


# quadratic's docker/mssql-connection/scripts/seed_db.sql, a SQL Server seed: PostgreSQL's
# parser rejects its CREATE TABLE (`IDENTITY(1,1)`, `VARCHAR(MAX)`), whose table the INSERT
# after it fills. What DDL PostgreSQL cannot read makes is unknown (as for a migration
# statement its parser rejects); a statement before it is still checked.
_TSQL_SEED = """\
INSERT INTO dbo.before_it (id) VALUES (1);
CREATE TABLE dbo.all_native_data_types (
    id INT IDENTITY(1,1) PRIMARY KEY,
    nvarchar_max_col NVARCHAR(MAX)
);
INSERT INTO dbo.all_native_data_types (nvarchar_max_col) VALUES (N'x');
SELECT id FROM nowhere;
"""


def test_what_ddl_postgresql_cannot_read_makes_is_unknown(
        tmp_path: Path, constructs: SchemaSnapshot) -> None:
    script = tmp_path / "seed_db.sql"
    script.write_text(_TSQL_SEED, encoding="utf-8")
    outcome = analyse_file(script, tmp_path, constructs)
    assert [(c.finding.code, c.finding.location.line) for c in outcome.candidates] == [
        ("DBS301", 1)]


@pytest.mark.db
def test_postgresqls_parser_rejects_that_ddl(postgresql: psycopg.Connection) -> None:
    create = _TSQL_SEED.split(";\n")[1]
    with pytest.raises(psycopg.errors.SyntaxError):
        postgresql.execute(create)


# pgflow's pgTAP tests keep a function's result with `select * into temporary complete_result
# from pgflow.complete_task(:'test_run_id'::uuid, ...)` and read it after: the placeholder
# (psql's variable, a driver's) made PostgreSQL's parser reject the text, so the table the
# statement creates was missed and each later read was a false DBS301.
_INTO_WITH_PLACEHOLDER = {
    "job.sql": "SELECT id, x INTO TEMP scratch FROM a WHERE id = :'wanted'::int;\n"
               "SELECT x FROM scratch;\n",
    "job.py": 'def job(cur):\n'
              '    cur.execute("SELECT id, x INTO TEMP scratch FROM a WHERE id = %s", (1,))\n'
              '    cur.execute("SELECT x FROM scratch")\n',
}


@pytest.mark.parametrize("name", _INTO_WITH_PLACEHOLDER)
def test_select_into_with_a_placeholder_creates_its_table(
        name: str, tmp_path: Path, constructs: SchemaSnapshot) -> None:
    (tmp_path / name).write_text(_INTO_WITH_PLACEHOLDER[name], encoding="utf-8")
    outcome = analyse_file(tmp_path / name, tmp_path, constructs)
    assert outcome.findings == [] and outcome.candidates == []


@pytest.mark.db
def test_select_into_with_a_value_runs_on_postgresql(postgresql: psycopg.Connection) -> None:
    postgresql.execute((FIXTURES / "constructs_schema.sql").read_text(encoding="utf-8"))
    postgresql.execute("SELECT id, x INTO TEMP scratch FROM a WHERE id = '1'::int")
    postgresql.execute("PREPARE q AS SELECT x FROM scratch")
    postgresql.rollback()


# gratipay's payday (gratipay/gratipay.com, `gratipay/billing/payday.py`): one string drops
# and re-creates a temp table (`DROP TABLE IF EXISTS temp; CREATE TEMPORARY TABLE temp AS
# ...; SELECT count(*) FROM temp;`) through postgres.py's `db.one`, and the next `db.run`
# reads it. The string starts with DROP, so neither it nor its CREATE was seen: three false
# DBS301 on `temp`. Any statement of a string may be the DDL.
_DROP_THEN_CREATE = '''\
def take_over_balances(db):
    count = db.one("""
        DROP TABLE IF EXISTS temp;
        CREATE TEMPORARY TABLE temp AS
            SELECT a_id, sum(y) AS total FROM b GROUP BY a_id;
        SELECT count(*) FROM temp;
    """)
    db.run("""
        UPDATE a SET x = total FROM temp WHERE a.id = temp.a_id;
        INSERT INTO c (id, b_id, z) SELECT a_id, a_id, total FROM temp;
    """)
'''


def test_ddl_after_another_statement_of_a_string_is_there_for_the_module(
        tmp_path: Path, constructs: SchemaSnapshot) -> None:
    (tmp_path / "payday.py").write_text(_DROP_THEN_CREATE, encoding="utf-8")
    outcome = analyse_file(tmp_path / "payday.py", tmp_path, constructs)
    assert outcome.findings == [] and outcome.candidates == []
    # ...and what it did not make is still checked
    (tmp_path / "payday.py").write_text(
        _DROP_THEN_CREATE.replace("total FROM temp;", "total FROM tmp;"), encoding="utf-8")
    outcome = analyse_file(tmp_path / "payday.py", tmp_path, constructs)
    assert [c.finding.subject for c in outcome.candidates] == ["public.tmp"]


@pytest.mark.db
def test_ddl_after_another_statement_of_a_string_runs_on_postgresql(
        postgresql: psycopg.Connection) -> None:
    postgresql.execute((FIXTURES / "constructs_schema.sql").read_text(encoding="utf-8"))
    first, second = _DROP_THEN_CREATE.split('"""')[1::2]
    postgresql.execute(first)
    postgresql.execute(second)
    postgresql.rollback()


# debsources' tests (Debian/debsources, `lib/debsources/tests/test_paths.py`) declare a model
# of their own and create it with `Base.metadata.create_all(...)`, then read it with raw SQL:
# a false DBS301 on `entity_with_path`. A module declaring SQLAlchemy models and running
# `create_all` made their tables, as a `CREATE TABLE` in it would have.
_MODELS_CREATED = '''\
from sqlalchemy import Column, Integer, MetaData, String, Table, text
from sqlalchemy.orm import declarative_base

Base = declarative_base()
metadata = MetaData()

events = Table("test_events", metadata, Column("id", Integer), Column("kind", String))


class EntityWithPath(Base):
    __tablename__ = "entity_with_path"

    id = Column(Integer, primary_key=True)
    path = Column(String)


def test_paths(engine, session):
    Base.metadata.create_all(engine)
    metadata.create_all(engine)
    session.execute(text("SELECT path FROM entity_with_path"))
    session.execute(text("SELECT kind FROM test_events"))
    session.execute(text("SELECT x FROM a"))
'''


def test_models_a_module_creates_are_there_for_its_statements(
        tmp_path: Path, constructs: SchemaSnapshot) -> None:
    (tmp_path / "test_paths.py").write_text(_MODELS_CREATED, encoding="utf-8")
    outcome = analyse_file(tmp_path / "test_paths.py", tmp_path, constructs)
    assert outcome.counts["statements"] == 3
    assert outcome.findings == [] and outcome.candidates == []
    # ...declared but never created by the module, they are still checked
    (tmp_path / "test_paths.py").write_text(
        _MODELS_CREATED.replace("    Base.metadata.create_all(engine)\n", "").replace(
            "    metadata.create_all(engine)\n", ""), encoding="utf-8")
    outcome = analyse_file(tmp_path / "test_paths.py", tmp_path, constructs)
    assert [c.finding.subject for c in outcome.candidates] == [
        "public.entity_with_path", "public.test_events"]


@pytest.mark.db
def test_models_a_module_creates_are_created_on_postgresql(
        postgresql: psycopg.Connection, database_url: str) -> None:
    from sqlalchemy import create_engine

    postgresql.execute((FIXTURES / "constructs_schema.sql").read_text(encoding="utf-8"))
    postgresql.commit()
    namespace: dict[str, object] = {}
    exec(compile(_MODELS_CREATED, "test_paths.py", "exec"), namespace)  # its models, as declared
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as conn:
            namespace["Base"].metadata.create_all(conn)  # type: ignore[attr-defined]
            namespace["metadata"].create_all(conn)  # type: ignore[attr-defined]
            for statement in ("SELECT path FROM entity_with_path",
                              "SELECT kind FROM test_events", "SELECT x FROM a"):
                conn.exec_driver_sql(f"PREPARE q AS {statement}")
                conn.exec_driver_sql("DEALLOCATE q")
    finally:
        engine.dispose()


# Trac (edgewall/trac 25c4b3a86, `trac/db/tests/api.py`, `postgres_test.py`) declares its
# test tables in its own schema DSL, `Table('blog', key='bid')[Column(...)]`, and makes them
# with `DatabaseManager(env).create_tables(schema)` (trac/db/api.py: each table's CREATE
# TABLE, as its connector writes it), then reads them with raw SQL: 20 false DBS301 on
# `blog`, `table1`, `test_composite`. A `Table` of another library, or tables never created
# by the module, stay checked.
_TRAC_TABLES_CREATED = '''\
import unittest

from trac.db.api import DatabaseManager
from trac.db.schema import Column, Table
from trac.test import EnvironmentStub


class ConnectionTestCase(unittest.TestCase):
    def setUp(self):
        self.env = EnvironmentStub()
        self.schema = [
            Table('blog', key='bid')[Column('bid', auto_increment=True), Column('author')],
        ]
        self.dbm = DatabaseManager(self.env)
        self.dbm.create_tables(self.schema)

    def test_rollback_transaction_on_exception(self):
        self.env.db_transaction("INSERT INTO blog (bid, author) VALUES (42, 'anonymous')")
        list(self.env.db_query("SELECT author FROM blog WHERE bid=42"))
        list(self.env.db_query("SELECT nmae FROM users"))
'''


@pytest.mark.db
def test_tables_trac_s_schema_dsl_creates_are_there_for_the_module_s_statements(
        database_url: str, tmp_path: Path) -> None:
    from tests.helpers import validate_module

    cases = {
        "created": _TRAC_TABLES_CREATED,
        "never_created": _TRAC_TABLES_CREATED.replace(
            "        self.dbm.create_tables(self.schema)\n", ""),
        "another_table": _TRAC_TABLES_CREATED.replace("from trac.db.schema import Column, Table",
                                                      "from tablib import Column, Table"),
    }
    found = {}
    for case, source in cases.items():
        (tmp_path / case).mkdir()
        report = validate_module(database_url, tmp_path / case,
                                 "CREATE TABLE IF NOT EXISTS users (name text)", "api.py", source)
        found[case] = [(f.code, f.location.line, f.subject) for f in report.findings]
    assert found == {
        "created": [("DBS302", 20, "public.users.nmae")],
        "never_created": [("DBS301", 17, "public.blog"), ("DBS301", 18, "public.blog"),
                          ("DBS302", 19, "public.users.nmae")],
        "another_table": [("DBS301", 18, "public.blog"), ("DBS301", 19, "public.blog"),
                          ("DBS302", 20, "public.users.nmae")],
    }

"""A session command built at run time (`SET LOCAL statement_timeout TO {ms}`, SimpleLogin's
`NOTIFY {channel}, '{id}'`) names no table or column: validate has nothing in it to check,
so it is no DBS304 note. Nor is DDL, GRANT, COPY or any kind validate never checks (Mathesar's
`sql.SQL("CREATE DATABASE {}")`). A query built the same way still is, also after such a
command in one string. Real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

_APP = '''\
def report(cur, ms, role, name, table):
    cur.execute(f"SET LOCAL statement_timeout TO {ms}")
    cur.execute("SET search_path TO " + name)
    cur.execute(f"-- why\\nSET ROLE {role}")
    cur.execute(f"RESET {name}")
    cur.execute(f"SHOW {name}")
    cur.execute(f"SELECT id FROM {table}")
    cur.execute(f"SELECT nope FROM items WHERE id = {ms}")
    cur.execute(f"NOTIFY {name}, '{ms}';")
    cur.execute(f"LISTEN {name}")
    cur.execute(f"UNLISTEN {name}")
'''


@pytest.mark.db
def test_session_commands_built_at_run_time_are_not_noted(database_url: str,
                                                          tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "CREATE TABLE items (id int)",
                             "report.py", _APP)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS304", 7, None), ("DBS302", 8, "public.items.nope")]
    # What each command is, filled in, names nothing PostgreSQL would look up.
    with psycopg.connect(database_url) as conn:
        for command in ("SET LOCAL statement_timeout TO 1000", "SET search_path TO x",
                        "RESET work_mem", "SHOW work_mem", "NOTIFY x, '1'", "LISTEN x",
                        "UNLISTEN x"):
            conn.execute(command)


# Mathesar's shapes (db/databases.py, db/roles.py, mathesar/examples/base.py, its conftest):
# DDL and privileges built with psycopg.sql's identifiers, as DBS304's help asks, or f-strings.
_DDL_APP = '''\
from psycopg import sql


def setup(conn, name, owner, password, schema_name, role, table):
    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    conn.execute(sql.SQL("CREATE USER {} ENCRYPTED PASSWORD {}").format(
        sql.Identifier(role), sql.Literal(password)))
    conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema_name)))
    conn.execute(f"DROP SCHEMA IF EXISTS {schema_name} CASCADE")
    conn.execute(f"GRANT USAGE ON SCHEMA {schema_name} TO {role}; "
                 f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema_name} GRANT SELECT ON TABLES TO {role}")
    conn.execute(f"CREATE TABLE {table} AS SELECT id FROM items")
    conn.execute(f"TRUNCATE {table}")
    conn.execute(f"SAVEPOINT {name}")
    conn.execute(f"SET search_path TO {schema_name}; SELECT id FROM {table}")
    conn.execute(f"CREATE TEMP TABLE t (id int); SELECT id FROM {table}")
    conn.execute(f"EXPLAIN SELECT id FROM {table}")
    conn.execute(f"PREPARE q AS SELECT id FROM {table}")
    conn.execute(f"SELECT id FROM {table}")
    conn.execute(f"CALL {name}(1)")
'''


@pytest.mark.db
def test_statements_validate_never_checks_built_at_run_time_are_not_noted(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "CREATE TABLE items (id int)",
                             "setup.py", _DDL_APP)
    # Notes only where a query is left unchecked, also behind a command in the same string,
    # and where a `CALL` names its procedure at run time (one written out is checked).
    assert [(f.code, f.location.line) for f in report.findings if f.location] == [
        ("DBS304", 15), ("DBS304", 16), ("DBS304", 17), ("DBS304", 18), ("DBS304", 19),
        ("DBS304", 20)]


# Each kind written out, with a relation PostgreSQL refuses (42P01): validate checks none
# of them, so a piece of one built at run time hides nothing from it.
_WRITTEN_OUT = {
    "ALTER": "ALTER TABLE nope ADD COLUMN x int",
    "ANALYZE": "ANALYZE nope",
    "COMMENT": "COMMENT ON TABLE nope IS 'x'",
    "COPY": "COPY (SELECT id FROM nope) TO STDOUT",
    "CREATE": "CREATE TABLE made AS SELECT id FROM nope",
    "DROP": "DROP TABLE nope",
    "GRANT": "GRANT SELECT ON nope TO PUBLIC",
    "LOCK": "LOCK TABLE nope",
    "REFRESH": "REFRESH MATERIALIZED VIEW nope",
    "REINDEX": "REINDEX TABLE nope",
    "REVOKE": "REVOKE SELECT ON nope FROM PUBLIC",
    "TRUNCATE": "TRUNCATE nope",
    "VACUUM": "VACUUM nope",
}


@pytest.mark.db
def test_each_kind_left_without_a_note_is_one_validate_never_checks(database_url: str,
                                                                     tmp_path: Path) -> None:
    from dbsafe.validate.scan import UNCHECKED_STATEMENT_KEYWORDS

    assert set(_WRITTEN_OUT) <= UNCHECKED_STATEMENT_KEYWORDS
    assert not {"SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "WITH", "VALUES", "TABLE",
                "EXPLAIN", "DECLARE", "PREPARE", "CALL", "DO"} & UNCHECKED_STATEMENT_KEYWORDS
    calls = "".join(f"    cur.execute({sql!r})\n" for sql in _WRITTEN_OUT.values())
    report = validate_module(database_url, tmp_path, "CREATE TABLE items (id int)",
                             "kinds.py", "def run(cur):\n" + calls)
    assert list(report.findings) == []
    with psycopg.connect(database_url, autocommit=True) as conn:
        for keyword, statement in _WRITTEN_OUT.items():
            with pytest.raises(psycopg.errors.UndefinedTable):
                if keyword == "LOCK":  # only in a transaction block (VACUUM never in one)
                    with conn.transaction():
                        conn.execute(statement)
                else:
                    conn.execute(statement)

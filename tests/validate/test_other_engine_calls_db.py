"""A statement calling a built-in function of SQLite or MySQL/MariaDB that PostgreSQL lacks is
that engine's, sent where validate cannot tell (Datasette's `select typeof(x)` and
`pragma_table_info(?)` through its own `Database`, Redash's `if(true, x, y)`): not a DBS314
that PostgreSQL "confirms" with 42883, but not analysed. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

_DDL = "CREATE TABLE runs (id int PRIMARY KEY, started_at timestamptz)"

_MODULE = '''\
def report(db, run_id):
    db.execute("SELECT id, datetime('now'), strftime('%Y', started_at) FROM runs WHERE id = ?", [run_id])
    db.execute("SELECT name, typeof(value) FROM settings WHERE name = ?", ["x"])
    db.execute("SELECT name FROM pragma_table_info(?)", ["runs"])
    db.execute("SELECT DATE_FORMAT(started_at, '%Y'), UNIX_TIMESTAMP(started_at) FROM runs")
    db.execute("SELECT run_count(id) FROM runs")
    db.execute("SELECT public.strftime('%Y', started_at) FROM runs")
    db.execute("UPDATE runs SET args = jsonb_patch(args, ?) WHERE id = ?", ["{}", run_id])
'''


@pytest.mark.db
def test_calls_of_sqlite_and_mysql_builtins_are_another_engines(database_url: str,
                                                                  tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _DDL, "jobs.py", _MODULE)
    # A function no engine has (`run_count`), and a qualified call, stay DBS314.
    assert [(f.code, f.location.line, f.subject) for f in report.findings] == [
        ("DBS314", 6, "run_count"), ("DBS314", 7, "public.strftime")]
    assert sorted((s.location.line, s.reason) for s in report.skipped) == [
        (2, "not analysed: calls `datetime`, a built-in function of SQLite, not PostgreSQL's: "
            "SQL for SQLite"),
        (3, "not analysed: calls `typeof`, a built-in function of SQLite, not PostgreSQL's: "
            "SQL for SQLite"),
        (4, "not analysed: calls `pragma_table_info`, a built-in function of SQLite, not "
            "PostgreSQL's: SQL for SQLite"),
        (5, "not analysed: calls `date_format`, a built-in function of MySQL/MariaDB, not "
            "PostgreSQL's: SQL for MySQL/MariaDB"),
        # SQLite 3.45's, newer than the SQLite the list was read from (river's sqlc queries)
        (8, "not analysed: calls `jsonb_patch`, a built-in function of SQLite, not "
            "PostgreSQL's: SQL for SQLite"),
    ]
    # PostgreSQL refuses each: no such function (42883), the reason a DBS314 was "confirmed".
    with psycopg.connect(database_url, autocommit=True) as conn:
        for sql in ("SELECT datetime('now')", "SELECT DATE_FORMAT(now(), '%Y')",
                    "SELECT run_count(id) FROM runs"):
            with pytest.raises(psycopg.errors.UndefinedFunction):
                conn.execute(f"PREPARE p AS {sql}")


# Amazon Aurora PostgreSQL's own built-ins, in every database of an Aurora cluster (Stack
# Auth's replication wait reads `aurora_replica_status()` when its strategy is "aurora"): no
# server validate runs has them. A name Aurora does not list, and a qualified call, stay DBS314.
_AURORA_MODULE = """\
def caught_up(db):
    db.execute("SELECT current_read_lsn FROM aurora_replica_status() WHERE server_id = aurora_db_instance_identifier()")
    db.execute("SELECT aurora_version()")
    db.execute("SELECT aurora_lag(id) FROM runs")
    db.execute("SELECT public.aurora_version()")
"""


@pytest.mark.db
def test_calls_of_auroras_builtins_are_auroras(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _DDL, "replicas.py", _AURORA_MODULE)
    assert [(f.code, f.location.line, f.subject) for f in report.findings] == [
        ("DBS314", 4, "aurora_lag"), ("DBS314", 5, "public.aurora_version")]
    assert sorted((s.location.line, s.reason) for s in report.skipped) == [
        (2, "not analysed: calls `aurora_replica_status`, a built-in function of Amazon "
            "Aurora PostgreSQL that PostgreSQL lacks: SQL for Aurora"),
        (3, "not analysed: calls `aurora_version`, a built-in function of Amazon Aurora "
            "PostgreSQL that PostgreSQL lacks: SQL for Aurora"),
    ]
    with psycopg.connect(database_url, autocommit=True) as conn, \
            pytest.raises(psycopg.errors.UndefinedFunction):
        conn.execute("PREPARE p AS SELECT aurora_version()")

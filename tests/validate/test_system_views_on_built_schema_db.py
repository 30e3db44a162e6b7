"""System views and catalogs read by an application whose schema its migrations build, with
no `target-version`: checked against every shipped version's catalog at once
(`syscatalog.any_version`), each finding confirmed by PREPARE on the built schema's server.

SimpleLogin's `monitoring.py` sends `SELECT application_name, count(datid) FROM
pg_stat_activity ... GROUP BY application_name` through SQLAlchemy's `text()`; its schema is
its alembic history's, so dbsafe knew no exact version and left it "not analysed" (as every
statement reading `pg_locks`, `pg_settings`, `pg_class`, `information_schema.tables`...). A
column one of PostgreSQL 15, 17 and 18 has is accepted (`pg_stat_user_tables.last_seq_scan`,
16 on; `pg_database.daticulocale`, 15 and 16); one none has is DBS302, as PostgreSQL says.
Each verdict is held to PostgreSQL 18, 15 and 17 below. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import load_settings

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

MIGRATION = "CREATE TABLE users (id int PRIMARY KEY, name text);\n"

# Statements every one of PostgreSQL 15, 17 and 18 prepares on that schema.
CLEAN = [
    "SELECT application_name, count(datid) FROM pg_stat_activity "
    "WHERE application_name IS NOT NULL GROUP BY application_name",
    "SELECT locktype, relation::regclass, mode FROM pg_locks WHERE NOT granted",
    "SELECT relname, n_live_tup, n_dead_tup FROM pg_stat_user_tables",
    "SELECT datname, pg_database_size(datname) FROM pg_database",
    "SELECT name, setting FROM pg_settings WHERE name = 'max_connections'",
    "SELECT c.relname, n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace",
    "SELECT t.table_name, c.relpages FROM information_schema.tables t "
    "JOIN pg_class c ON c.relname = t.table_name WHERE t.table_schema = 'public'",
    "SELECT u.id, a.state FROM users u JOIN pg_stat_activity a ON a.usename = u.name",
]
# Statements some of them prepare, not all: accepted without an exact version.
SOME_VERSIONS = [
    "SELECT relname, last_seq_scan, total_vacuum_time FROM pg_stat_user_tables",  # 18
    "SELECT datname, daticulocale FROM pg_database",  # 15
    "SELECT buffers_checkpoint FROM pg_stat_bgwriter",  # 15
]
# (statement, its relation, the column none of them has, as PostgreSQL's error names it)
MISSPELT = [
    ("SELECT aplication_name, count(datid) FROM pg_stat_activity GROUP BY aplication_name",
     "pg_stat_activity", "aplication_name", '"aplication_name"'),
    ("SELECT lock_type FROM pg_locks", "pg_locks", "lock_type", '"lock_type"'),
    ("SELECT relname, n_live_tupl FROM pg_stat_user_tables", "pg_stat_user_tables",
     "n_live_tupl", '"n_live_tupl"'),
    ("SELECT name, settings FROM pg_settings", "pg_settings", "settings", '"settings"'),
    ("SELECT c.relname, n.nspnam FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace",
     "pg_namespace", "nspnam", "n.nspnam"),
    ("SELECT t.table_nam FROM information_schema.tables t", "information_schema.tables",
     "table_nam", "t.table_nam"),
    ("SELECT u.id, a.stat FROM users u JOIN pg_stat_activity a ON a.usename = u.name",
     "pg_stat_activity", "stat", "a.stat"),
]

# SimpleLogin's shape: SQLAlchemy's `text()` on a session, one statement of an older
# version's catalog sent only there (`datlastsysoid`, gone in 15), and pg_stat_statements,
# an extension these migrations do not create (it may be made outside them).
APP_PY = '''\
from sqlalchemy import text


def monitor(session, server_version):
    rows = session.execute(text(
        "SELECT application_name, count(datid) FROM pg_stat_activity "
        "WHERE application_name IS NOT NULL GROUP BY application_name"))
    typo = session.execute(text("SELECT aplication_name FROM pg_stat_activity"))
    if server_version < 150000:
        session.execute(text("SELECT datlastsysoid FROM pg_database"))
    top = session.execute(text("SELECT query, calls FROM pg_stat_statements ORDER BY calls"))
    return rows, typo, top
'''


def _project(root: Path, pyproject: str = "[tool.dbsafe]\n") -> Path:
    (root / "db" / "migrations").mkdir(parents=True)
    (root / "db" / "migrations" / "V1__init.sql").write_text(MIGRATION, encoding="utf-8")
    (root / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    (root / "q.sql").write_text(
        "".join(f"{sql};\n" for sql in [*CLEAN, *SOME_VERSIONS, *(s for s, *_ in MISSPELT)]),
        encoding="utf-8")
    (root / "monitoring.py").write_text(APP_PY, encoding="utf-8")
    return root


def _validate(root: Path, **overrides: object) -> commands.Report:
    settings = load_settings(root, {"cache": False, **overrides}, environ={})
    return commands.validate(settings, [root])


def test_catalog_columns_are_checked_on_the_built_schema_without_a_target_version(
        tmp_path: Path) -> None:
    report = _validate(_project(tmp_path))
    found = [(f.location.path, f.location.line, f.code, f.message, dict(f.context)["PostgreSQL"])
             for f in report.findings if f.location]
    expected = [("q.sql", len(CLEAN) + len(SOME_VERSIONS) + line, "DBS302",
                 f"`{relation}` has no column `{column}` on PostgreSQL 15, 17 or 18",
                 f"42703: column {said} does not exist")
                for line, (_, relation, column, said) in enumerate(MISSPELT, 1)]
    expected += [("monitoring.py", 8, "DBS302",
                  "`pg_stat_activity` has no column `aplication_name` on PostgreSQL 15, 17 or 18",
                  '42703: column "aplication_name" does not exist')]
    assert sorted(found) == sorted(expected)
    skipped = {(s.location.path, s.location.line): s.reason for s in report.skipped
               if s.location and s.location.path != "db/migrations/V1__init.sql"}
    assert skipped == {
        ("monitoring.py", 10): "not analysed: reads the system catalog in code that sends it "
                               "only to other versions than PostgreSQL 15, 17 and 18",
        ("monitoring.py", 11): "not analysed: `query` may come from a source whose columns "
                               "are unknown"}


def test_a_target_version_keeps_its_own_catalog(tmp_path: Path) -> None:
    report = _validate(_project(tmp_path, '[tool.dbsafe]\ntarget-version = "15"\n'))
    subjects = {f.subject.rsplit(".", 1)[-1] for f in report.findings}
    # 15's own: what 18 added is missing there, what 15 had is not
    assert {"last_seq_scan", "total_vacuum_time"} <= subjects
    assert not {"daticulocale", "buffers_checkpoint"} & subjects


def _prepared(conninfo: str) -> tuple[list[str], list[str]]:
    """(statements the server prepares, those it refuses with 42703) after the migration."""
    accepted, refused = [], []
    with psycopg.connect(conninfo) as conn:
        conn.execute(MIGRATION)
        for sql in [*CLEAN, *SOME_VERSIONS, *(s for s, *_ in MISSPELT)]:
            try:
                with conn.transaction():
                    conn.execute(f"PREPARE p AS {sql}")
                    conn.execute("DEALLOCATE p")
                accepted.append(sql)
            except psycopg.errors.UndefinedColumn:
                refused.append(sql)
        conn.rollback()
    return accepted, refused


def _holds(conninfo: str, lacking: list[str]) -> None:
    accepted, refused = _prepared(conninfo)
    assert sorted(refused) == sorted([s for s, *_ in MISSPELT] + lacking)
    assert sorted(accepted) == sorted(s for s in [*CLEAN, *SOME_VERSIONS] if s not in lacking)


def test_the_verdicts_hold_on_postgresql_18(conninfo: str) -> None:
    _holds(conninfo, SOME_VERSIONS[1:])


@pytest.mark.xdist_group("pg15")
def test_the_verdicts_hold_on_postgresql_15(pg15_server: str) -> None:
    _holds(pg15_server, SOME_VERSIONS[:1])


@pytest.mark.xdist_group("pg17")
def test_the_verdicts_hold_on_postgresql_17(pg17_server: str) -> None:
    _holds(pg17_server, SOME_VERSIONS)

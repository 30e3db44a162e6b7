"""The row counts `dbsafe restore` reports are exact: equal to `count(*)` of each restored
table, whether they come from PostgreSQL's insert counters or from reading the table."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.guard.restore import _restored_row_counts
from tests.guard.test_restore import _drop, _with_db

pytestmark = pytest.mark.db

# Rows reach tables every way a dump loads them: a partitioned table's rows sit in its
# partitions (two levels), an inheritance parent holds rows of its own and its child's,
# a table was emptied by DELETE before the backup, one never had a row.
SCHEMA = """
CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
INSERT INTO alembic_version VALUES ('0003');
CREATE TABLE events (id bigint, at date NOT NULL, PRIMARY KEY (id, at))
    PARTITION BY RANGE (at);
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')
    PARTITION BY LIST (id);
CREATE TABLE events_2025_odd PARTITION OF events_2025 FOR VALUES IN (1, 3, 5, 7, 9);
CREATE TABLE events_2025_rest PARTITION OF events_2025 DEFAULT;
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO events SELECT g, date '2025-01-01' + g FROM generate_series(1, 500) g;
CREATE TABLE animals (id int PRIMARY KEY, name text);
CREATE TABLE dogs (barks boolean) INHERITS (animals);
INSERT INTO animals SELECT g, 'a' FROM generate_series(1, 40) g;
INSERT INTO dogs SELECT g, 'd', true FROM generate_series(41, 65) g;
CREATE TABLE emptied (id int PRIMARY KEY);
INSERT INTO emptied SELECT generate_series(1, 30);
DELETE FROM emptied;
CREATE TABLE never_used (id int);
CREATE SCHEMA "Billing";
CREATE TABLE "Billing"."Invoice Lines" (id int);
INSERT INTO "Billing"."Invoice Lines" SELECT generate_series(1, 12);
"""


def _counted_by_reading(url: str) -> dict[str, int]:
    """count(*) of every application table, one statement each: the measure the report
    must equal."""
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN "
            "('pg_catalog', 'information_schema', 'dbsafe') ORDER BY 1, 2").fetchall()
        return {f"{s}.{t}": conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
            sql.Identifier(s, t))).fetchone()[0] for s, t in tables}


def _sessions_gone(url: str, name: str) -> None:
    with psycopg.connect(_with_db(url, "postgres"), autocommit=True) as conn:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND "
                "backend_type = 'client backend'", (name,)).fetchone()[0]:
            time.sleep(0.01)


@pytest.fixture
def source(database_url: str) -> str:
    with psycopg.connect(database_url) as conn:
        conn.execute(SCHEMA)
    return database_url


@pytest.mark.parametrize("jobs", [1, 2], ids=["custom-format", "directory-format-j2"])
def test_reported_counts_equal_count_star_of_every_restored_table(source: str, tmp_path: Path,
                                                                  jobs: int) -> None:
    settings = load_settings(tmp_path, {"database-url": source}, environ={})
    backup = commands.backup(settings, tmp_path / "b", jobs=jobs).summary
    _drop(source, "counted_copy")
    try:
        report = commands.restore(settings, Path(str(backup["backup"])), into="counted_copy",
                                  jobs=jobs)
        counted = _counted_by_reading(_with_db(source, "counted_copy"))
        assert report.summary["row_counts"] == counted
        assert list(report.summary["row_counts"]) == list(counted)  # pg_tables' order
        assert counted["public.events"] == 500 and counted["public.events_2025_odd"] == 5
        assert counted["public.animals"] == 65 and counted["public.dogs"] == 25
        assert counted["public.emptied"] == 0 and counted["Billing.Invoice Lines"] == 12
        assert counted == _counted_by_reading(source)
    finally:
        _drop(source, "counted_copy")


def test_counts_read_no_table_a_plain_restore_filled(source: str, tmp_path: Path) -> None:
    # PostgreSQL counted the rows going in: the report reads its counters, not the tables
    # (reading them was a tenth of a 2,000,000-row restore). pg_restore scans a table to
    # build its indexes, so the tables without one show the count's reads alone: only the
    # empty one is read (free), not the inheritance child or the quoted table.
    settings = load_settings(tmp_path, {"database-url": source}, environ={})
    backup = commands.backup(settings, tmp_path / "b").summary
    _drop(source, "unread_copy")
    try:
        report = commands.restore(settings, Path(str(backup["backup"])), into="unread_copy")
        assert report.summary["row_counts"] == _counted_by_reading(source)
        _sessions_gone(source, "unread_copy")
        with psycopg.connect(_with_db(source, "unread_copy")) as conn:
            scans = conn.execute(
                "SELECT schemaname, relname, seq_scan FROM pg_stat_user_tables AS t "
                "WHERE schemaname <> 'dbsafe' AND NOT EXISTS "
                "(SELECT FROM pg_index AS i WHERE i.indrelid = t.relid) ORDER BY 1, 2"
            ).fetchall()
        assert scans == [("Billing", "Invoice Lines", 0), ("public", "dogs", 0),
                         ("public", "never_used", 1)]
    finally:
        _drop(source, "unread_copy")


def test_an_insert_rolled_back_is_not_counted(database_url: str) -> None:
    # PostgreSQL counts an insert whether or not its transaction commits: a database where
    # a transaction rolled back has its tables read instead.
    _drop(database_url, "rolled_back")
    with psycopg.connect(_with_db(database_url, "postgres"), autocommit=True) as conn:
        conn.execute("CREATE DATABASE rolled_back TEMPLATE template0")
    url = _with_db(database_url, "rolled_back")
    try:
        with psycopg.connect(url) as conn:
            conn.execute("CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 10)")
        with psycopg.connect(url) as conn:
            conn.execute("INSERT INTO t SELECT generate_series(1, 5)")
            conn.rollback()
        _sessions_gone(database_url, "rolled_back")
        with psycopg.connect(url, autocommit=True) as conn:
            assert _restored_row_counts(conn) == {"public.t": 10}
    finally:
        _drop(database_url, "rolled_back")

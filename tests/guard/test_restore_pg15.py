"""Backup and restore on PostgreSQL 15 with dbsafe's newer pg_dump and pg_restore (18).

pg_restore 17 and later start every session with `SET transaction_timeout = 0`, which 15
refuses: without care every restore into a server before 17 failed on that one line. It is
let through, and nothing else is.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.core import DatabaseError
from dbsafe.guard.backup import _major, client_binary
from dbsafe.guard.leftovers import user_snapshot
from dbsafe.schema.diff import DiffOptions, diff
from tests.guard.test_restore_counts import SCHEMA, _counted_by_reading

pytestmark = [pytest.mark.db, pytest.mark.xdist_group("pg15")]  # one 15 cluster


def _settings(url: str, tmp_path: Path):
    return load_settings(tmp_path, {"database-url": url}, environ={})


def _on_same_server(url: str, name: str) -> str:
    return make_conninfo(url, dbname=name)


def test_a_backup_of_15_restores_into_15_with_a_newer_pg_restore(
        new_pg15_database: Callable[[], str], tmp_path: Path) -> None:
    source = new_pg15_database()
    with psycopg.connect(source) as conn:
        conn.execute(SCHEMA)
        assert conn.info.server_version // 10000 == 15
    assert (_major(client_binary("pg_restore", 150000)) or 0) >= 17  # the case at hand
    settings = _settings(source, tmp_path)
    backup = Path(str(commands.backup(settings, tmp_path / "b").summary["backup"]))
    copy_name = f"{conninfo_to_dict(source)['dbname']}_copy"
    copy = _on_same_server(source, copy_name)
    try:
        report = commands.restore(settings, backup, into=copy_name)
        assert report.summary["row_counts"] == _counted_by_reading(source)
        assert not diff(user_snapshot(source), user_snapshot(copy),
                        DiffOptions(ignore_schemas=frozenset({"dbsafe"})))
        # The refused line rolled back a transaction that inserted nothing: the counts
        # still come from PostgreSQL's counters (the index-less tables were not read).
        with psycopg.connect(copy) as conn:
            assert conn.execute(
                "SELECT relname FROM pg_stat_user_tables WHERE seq_scan > 0 AND relname "
                "IN ('dogs', 'Invoice Lines')").fetchall() == []
    finally:
        with psycopg.connect(_on_same_server(source, "postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{copy_name}" WITH (FORCE)')


def test_any_other_error_into_15_still_fails_the_restore(
        database_url: str, new_pg15_database: Callable[[], str], tmp_path: Path) -> None:
    # A backup of an 18 database with a column 15 cannot create: the refused setting is
    # let through, this error is not.
    with psycopg.connect(database_url) as conn:
        if conn.info.server_version < 180000:
            pytest.skip("the suite's server is older than 18 (DBSAFE_TEST_DATABASE_URL)")
        conn.execute("CREATE TABLE t (a int, b int GENERATED ALWAYS AS (a * 2) VIRTUAL); "
                     "INSERT INTO t (a) VALUES (1)")
    backup = Path(str(commands.backup(_settings(database_url, tmp_path), tmp_path / "b")
                      .summary["backup"]))
    on_15 = new_pg15_database()
    with pytest.raises(DatabaseError) as caught:
        commands.restore(_settings(on_15, tmp_path), backup, into="from_18")
    message = str(caught.value)
    assert "pg_restore into from_18 failed" in message and "syntax error" in message
    assert "transaction_timeout" not in message
    with psycopg.connect(_on_same_server(on_15, "postgres"), autocommit=True) as conn:
        conn.execute('DROP DATABASE IF EXISTS "from_18" WITH (FORCE)')

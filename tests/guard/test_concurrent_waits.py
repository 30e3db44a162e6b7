"""`dbsafe upgrade` lets a statement run CONCURRENTLY wait for locks past `lock_timeout`:
its waits block no reads or writes, and a report's older snapshot made a concurrent index
build time out, retry and roll the upgrade back where alembic alone would have waited."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.guard.upgrade import UpgradeOptions
from tests.guard.test_kill import _BUILD_WAITING, _CONCURRENT_INDEX, _project_of, old_snapshot
from tests.helpers import at_revision

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

_TABLE_A = ('"""a"""\nfrom alembic import op\n\nrevision = "0001"\ndown_revision = None\n\n\n'
            'def upgrade():\n    op.execute("CREATE TABLE a (id bigint PRIMARY KEY, n int)")\n'
            '    op.execute("INSERT INTO a SELECT i, i FROM generate_series(1, 100) i")\n\n\n'
            'def downgrade():\n    op.execute("DROP TABLE a")\n')


def _project(root: Path, url: str, second: str) -> Any:
    _project_of(root, {"0001_a.py": _TABLE_A, "0002_second.py": second})
    (root / "app" / "queries.sql").write_text("SELECT id, n FROM a;\n")
    at_revision(url, root / "alembic.ini", "0001")
    return load_settings(root, {"database-url": url, "cache": False}, environ={})


def writes_go_through_while_the_build_waits(url: str, run: Callable[[], Any]) -> Any:
    """What `run` returns, run while a report holds a snapshot older than the index build
    it starts: once the build waits, several lock timeouts (200ms) long, writes to the
    table go through (their own lock_timeout fails them if they queue behind the build),
    and the build is still waiting; then the report ends."""
    report = old_snapshot(url)
    outcome: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: outcome.update(result=run()))
    thread.start()
    try:
        with psycopg.connect(url, autocommit=True) as watcher:
            deadline = time.monotonic() + 300
            while not watcher.execute(_BUILD_WAITING).fetchone()[0]:  # type: ignore[index]
                assert thread.is_alive() and time.monotonic() < deadline, outcome
                time.sleep(0.05)
            writer = psycopg.connect(url, autocommit=True)
            writer.execute("SET lock_timeout = '200ms'")
            for i in range(101, 111):
                writer.execute("INSERT INTO a VALUES (%s, %s)", (i, i))
                time.sleep(0.1)
            writer.close()
            assert watcher.execute(_BUILD_WAITING).fetchone() == (1,)
    finally:
        report.close()
        thread.join(timeout=300)
    return outcome["result"]


def test_a_concurrent_build_waits_for_an_older_snapshot_past_lock_timeout(
        database_url: str, tmp_path: Path) -> None:
    settings = _project(tmp_path / "p", database_url, _CONCURRENT_INDEX)
    result = writes_go_through_while_the_build_waits(database_url, lambda: commands.upgrade(
        settings, UpgradeOptions(backup=False, lock_timeout="200ms", retries=0)))
    assert result.summary["outcome"] == "applied", result.summary.get("what_happened")
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = "
                            "'ix_a_n'::regclass").fetchone() == (True,)
        assert conn.execute("SELECT count(*) FROM a").fetchone() == (110,)


def test_a_retry_waits_for_what_the_failed_build_left_to_go(database_url: str,
                                                            tmp_path: Path) -> None:
    """A writer idle in its transaction on `a`: the build waits for it past the statement
    timeout (55P03), and dropping the INVALID index it left waits for it too, past
    lock_timeout. The drop is tried again after the backoff, once the writer is gone, and
    the retry builds the index; sent at once with the index still there, the retry failed
    42P07 (relation "ix_a_n" already exists) and the upgrade was rolled back."""
    settings = _project(tmp_path / "p", database_url, _CONCURRENT_INDEX)
    writer = psycopg.connect(database_url)
    writer.execute("INSERT INTO a VALUES (1000, 1)")  # ROW EXCLUSIVE on `a` until it ends

    def progress(step: str, text: str) -> None:
        if "retrying in" in text:
            writer.close()

    try:
        result = commands.upgrade(settings, UpgradeOptions(
            backup=False, statement_timeout="1s", lock_timeout="300ms", retries=1,
            retry_delay=0.05), progress=progress)
    finally:
        writer.close()
    assert result.summary["outcome"] == "applied", result.summary.get("what_happened")
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = "
                            "'ix_a_n'::regclass").fetchone() == (True,)


_AFTER_CONCURRENT = (
    '"""settings after concurrent statements"""\nfrom alembic import op\n\n'
    'revision = "0002"\ndown_revision = "0001"\n\n\ndef upgrade():\n'
    '    with op.get_context().autocommit_block():\n'
    '        op.execute("CREATE INDEX CONCURRENTLY ix_a_n ON a (n)")\n'
    '        try:  # fails (42704): the timeouts are set back all the same\n'
    '            op.execute("DROP INDEX CONCURRENTLY no_such_index")\n'
    '        except Exception:\n'
    '            pass\n'
    '    op.execute("CREATE TABLE seen AS SELECT current_setting(\'lock_timeout\') AS lock, "\n'
    '               "current_setting(\'statement_timeout\') AS statement")\n\n\n'
    'def downgrade():\n    op.execute("DROP TABLE seen")\n    op.execute("DROP INDEX ix_a_n")\n')


def test_the_statements_after_a_concurrent_one_have_their_timeouts_again(
        database_url: str, tmp_path: Path) -> None:
    settings = _project(tmp_path / "p", database_url, _AFTER_CONCURRENT)
    result = commands.upgrade(settings, UpgradeOptions(
        backup=False, lock_timeout="700ms", statement_timeout="9min", allow=("DBS201",)))
    assert result.summary["outcome"] == "applied", result.summary.get("what_happened")
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT lock, statement FROM seen").fetchone() == ("700ms", "9min")

"""`dbsafe upgrade`/`downgrade` on the database the user named never end a connection.

On dbsafe's throwaway servers a statement waiting for another connection of the migration,
idle in its transaction, has that connection ended after `dbsafe.migrate.waits.PATIENCE`
seconds: on them every connection is the migration's. On the user's database any connection
may be the application's, so there the statement waits as alembic's would, until
`lock_timeout`.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.guard.downgrade import DowngradeOptions
from dbsafe.guard.upgrade import UpgradeOptions
from tests.gates.test_reversible_self_wait import write_history

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]


@pytest.fixture
def lock_timeout(short_self_wait_patience: float) -> str:
    """Three times the throwaway watcher's patience (shortened, as the upgrade's lint capture
    waits it too): had it watched, the wait would have been ended and the revision applied."""
    return f"{3 * short_self_wait_patience:g}s"


def _settings(root: Path, url: str):
    return load_settings(root, {"database-url": url, "cache": False, "fail-on": "error"},
                         environ={})


def _failure(report) -> tuple[str, str]:
    failed = [f for f in report.findings if f.code == "DBS601"]
    assert len(failed) == 1, report.summary["what_happened"]
    return failed[0].message, dict(failed[0].context).get("SQLSTATE", "")


@pytest.mark.timeout(240)
def test_upgrade_on_the_users_database_waits_until_lock_timeout_and_ends_nothing(
        database_url: str, tmp_path: Path, lock_timeout: str) -> None:
    root = write_history(tmp_path / "p")
    report = commands.upgrade(_settings(root, database_url), UpgradeOptions(
        backup=False, lock_timeout=lock_timeout, retries=0, validate_app=False,
        allow=("DBS132", "DBS101", "DBS102", "DBS201", "DBS202")))

    message, _ = _failure(report)
    assert "lock timeout" in message, report.summary["what_happened"]
    assert "revision r02" in message, message
    with psycopg.connect(database_url) as conn:  # rolled back to where it started
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == []


@pytest.mark.timeout(240)
def test_downgrade_on_the_users_database_waits_until_lock_timeout_and_ends_nothing(
        database_url: str, tmp_path: Path, lock_timeout: str) -> None:
    root = write_history(tmp_path / "p")
    with psycopg.connect(database_url) as conn:  # the database at r03, as the revisions build it
        conn.execute("CREATE TABLE roles (id serial PRIMARY KEY, note text)")
        conn.execute("CREATE INDEX ix_roles_note ON roles (note)")
        conn.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('r03')")
    report = commands.downgrade(_settings(root, database_url), DowngradeOptions(
        target="r01", backup=False, yes=True, lock_timeout=lock_timeout, retries=0))

    message, _ = _failure(report)
    assert "lock timeout" in message, report.summary["what_happened"]
    assert "revision r02" in message, message
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("r02",)]

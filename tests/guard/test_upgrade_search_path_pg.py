"""`dbsafe upgrade` under `search-path`: the preflight's DBS211 and the postflight's validate
resolve the application's queries on the path its sessions set.

The application reads `app.users` as `SELECT email FROM users` (`search_path = app, public`);
revision 0005 drops `app.users.email`. PostgreSQL says the query prepares under that path
before the drop and fails after it (42703); on the default path it fails either way (42P01).
Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.guard.upgrade import UpgradeOptions
from dbsafe.migrate import AlembicProject, apply
from tests.migrate.projects import write_project

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

APP_SCHEMA = "CREATE SCHEMA app; CREATE TABLE app.users (id bigint PRIMARY KEY, email text);"
QUERY = "SELECT email FROM users"
DROP_EMAIL = '''"""drop app.users.email"""
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.execute("ALTER TABLE app.users DROP COLUMN email")


def downgrade():
    op.execute("ALTER TABLE app.users ADD COLUMN email text")
'''


def _project(root: Path, url: str) -> Path:
    write_project(root, "well_behaved")
    (root / "app" / "queries.sql").write_text(QUERY + ";\n")
    apply(AlembicProject(root / "alembic.ini"), url, [("upgrade", "0004")])
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(APP_SCHEMA)
    (root / "migrations" / "versions" / "0005_drop_email.py").write_text(DROP_EMAIL)
    return root


def _upgrade(root: Path, url: str, tmp_path: Path, allow: tuple[str, ...],
             **overrides: Any):
    settings = load_settings(root, {"database-url": url, "cache": False, **overrides},
                             environ={})
    return commands.upgrade(settings, UpgradeOptions(backup_dir=tmp_path / "backups",
                                                     allow=allow, retry_delay=0.05))


def _verdicts(url: str, search_path: str) -> tuple[str | None, str | None]:
    """PostgreSQL's SQLSTATE for QUERY under `search_path`, before and after the drop
    (None: it prepares); the drop rolled back."""
    verdicts: list[str | None] = []
    with psycopg.connect(url) as conn:
        conn.execute(f"SET LOCAL search_path = {search_path}")
        for drop in (False, True):
            if drop:
                conn.execute("ALTER TABLE app.users DROP COLUMN email")
            try:
                with conn.transaction():
                    conn.execute(f"PREPARE probe AS {QUERY}")
                    conn.execute("DEALLOCATE probe")
                verdicts.append(None)
            except psycopg.Error as exc:
                verdicts.append(exc.sqlstate)
        conn.rollback()
    return verdicts[0], verdicts[1]


def _app_findings(report) -> list[tuple[str, str | None]]:
    return sorted((f.code, f.subject) for f in report.findings
                  if f.code == "DBS211" or f.code.startswith("DBS30"))


def test_the_preflight_refuses_a_drop_the_query_reads_on_the_applications_path(
        database_url: str, tmp_path: Path) -> None:
    root = _project(tmp_path / "p", database_url)
    assert _verdicts(database_url, "app, public") == (None, "42703")

    report = _upgrade(root, database_url, tmp_path, (), **{"search-path": "app, public"})

    assert report.summary["outcome"] == "refused"
    assert _app_findings(report) == [("DBS211", "app.users.email")]


def test_the_postflight_finds_the_query_broken_on_the_applications_path(
        database_url: str, tmp_path: Path) -> None:
    root = _project(tmp_path / "p", database_url)

    report = _upgrade(root, database_url, tmp_path, ("DBS202", "DBS211"),
                      **{"search-path": "app, public"})

    assert report.summary["outcome"] == "rolled back"
    assert ("DBS302", "app.users.email") in _app_findings(report)


def test_without_the_setting_the_query_names_no_table_and_the_upgrade_applies(
        database_url: str, tmp_path: Path) -> None:
    """Today's behaviour, kept: on the default path the query fails before and after."""
    root = _project(tmp_path / "p", database_url)
    assert _verdicts(database_url, "public") == ("42P01", "42P01")

    report = _upgrade(root, database_url, tmp_path, ("DBS202",))

    assert report.summary["outcome"] == "applied", report.findings
    assert _app_findings(report) == []

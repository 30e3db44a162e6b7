"""A file named by the day it was written (`admin/updates/20160616-snapshots-2.py`) is a
one-off change run against the schema of that day: a migration, not validated.

AcousticBrainz keeps such update scripts, SQL and Python, in `admin/updates/` (the
MusicBrainz projects' `admin/sql/updates/` too); the Python one sets a column a later
update renamed, so checking it against today's schema reported a column PostgreSQL indeed
lacks today, on code that never runs again.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.extract.migration import migration_kind

FIXTURES = Path(__file__).parent / "fixtures"
_UPDATE = '''import sqlalchemy


def set_snapshot_id(connection, job_id, snapshot_id):
    connection.execute(sqlalchemy.text("UPDATE b SET retired_id = :s WHERE id = :j"),
                       {"s": snapshot_id, "j": job_id})
'''


@pytest.mark.parametrize("name", [
    "admin/updates/20160616-snapshots-2.py",
    "admin/sql/updates/20230515-add-index.sql",
    "db/20151129054053_create_users.sql",  # dbmate's, outside its folder
    "scripts/20240102_backfill.py",
    # ListenBrainz's admin/sql/updates/ and admin/timescale/updates/ (day `130` is a typo)
    "admin/sql/updates/2017-06-05-add-last-login.sql",
    "admin/timescale/updates/2023-06-130-fix-none-in-recording-mbid.sql",
    "scripts/2024_01_02_backfill.py",
    # Outline's server/scripts/, data migrations its Sequelize migrations run or announce
    "server/scripts/20230313000000-migrate-notification-settings.ts",
    "scripts/20240102-backfill.js", "scripts/2024-01-02-backfill.mjs",
])
def test_a_file_named_by_its_date_is_a_migration(name: str) -> None:
    assert migration_kind(name, b"UPDATE b SET y = 1;") == "migration"


@pytest.mark.parametrize("name", [
    "app/db.py", "sql/2024_report.sql", "scripts/backfill_20240102.py",
    "app/v20160616.py", "data/12345678-x.sql",  # not a date
    "app/20160616.py",  # no name after the date: an ordinary module? keep it checked
    "app/20160616.ts", "src/backfill-20240102.ts", "app/20240102-page.tsx",
    "app/2016-06-16.py", "sql/2024-13-01-x.sql",  # no name; month 13
    "sql/2024-0601-x.sql", "sql/2024_06-01-x.sql",  # not one separator throughout
])
def test_other_names_are_application_code(name: str) -> None:
    assert migration_kind(name, b"SELECT 1;") is None


def test_a_dated_update_script_is_not_validated(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    updates = tmp_path / "admin" / "updates"
    updates.mkdir(parents=True)
    (updates / "20160616-snapshots-2.py").write_text(_UPDATE, encoding="utf-8")
    (tmp_path / "app.py").write_text(_UPDATE, encoding="utf-8")
    settings = load_settings(tmp_path, {"snapshot": str(FIXTURES / "constructs_schema.json"),
                                        "cache": False}, environ={})
    report = commands.validate(settings, [tmp_path])
    assert [(f.code, f.location.path) for f in report.findings if f.location] == [
        ("DBS302", "app.py")]
    # Python, which `dbsafe lint` does not read: counted in code, not left to lint.
    assert (report.summary["migration_files"], report.summary["code_migration_files"]) == (0, 1)


# Outline's `server/scripts/20230313000000-migrate-notification-settings.ts`: a one-off data
# migration reading `notification_settings`, which its migration `20230430213332` dropped.
_SCRIPT = """\
import { QueryTypes } from "sequelize";
import { sequelize } from "@server/storage/database";

export default async function main(userId: string) {
  return sequelize.query<{ event: string }>(
    `SELECT event FROM notification_settings WHERE "userId" = :userId`,
    { type: QueryTypes.SELECT, replacements: { userId } }
  );
}
"""


@pytest.mark.db
def test_a_dated_javascript_script_is_not_validated(database_url: str, tmp_path: Path) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        # At its revision the table was there: PostgreSQL prepares the script's query.
        conn.execute('CREATE TABLE notification_settings (event text, "userId" uuid)')
        conn.execute('PREPARE then_ AS SELECT event FROM notification_settings WHERE "userId" = $1')
        conn.execute("DEALLOCATE then_")
        conn.execute("DROP TABLE notification_settings")
        conn.execute('CREATE TABLE users (id uuid PRIMARY KEY, "notificationSettings" jsonb)')
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute('PREPARE now_ AS SELECT event FROM notification_settings WHERE "userId" = $1')
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    (tmp_path / "server" / "scripts").mkdir(parents=True)
    (tmp_path / "server" / "scripts" / "20230313000000-migrate-notification-settings.ts"
     ).write_text(_SCRIPT, encoding="utf-8")
    (tmp_path / "server" / "app.ts").write_text(_SCRIPT, encoding="utf-8")
    settings = load_settings(tmp_path, {"database-url": database_url, "cache": False},
                             environ={})
    report = commands.validate(settings, [tmp_path])
    # The same query in application code is still reported, as PostgreSQL rejects it.
    assert [(f.code, f.location.path) for f in report.findings if f.location] == [
        ("DBS301", "server/app.ts")]
    assert (report.summary["migration_files"], report.summary["code_migration_files"]) == (0, 1)

"""A file named by the day it was written (`admin/updates/20160616-snapshots-2.py`) is a
one-off change run against the schema of that day: a migration, not validated.

AcousticBrainz keeps such update scripts, SQL and Python, in `admin/updates/` (the
MusicBrainz projects' `admin/sql/updates/` too); the Python one sets a column a later
update renamed, so checking it against today's schema reported a column PostgreSQL indeed
lacks today, on code that never runs again.
"""

from __future__ import annotations

from pathlib import Path

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
])
def test_a_file_named_by_its_date_is_a_migration(name: str) -> None:
    assert migration_kind(name, b"UPDATE b SET y = 1;") == "migration"


@pytest.mark.parametrize("name", [
    "app/db.py", "sql/2024_report.sql", "scripts/backfill_20240102.py",
    "app/v20160616.py", "data/12345678-x.sql",  # not a date
    "app/20160616.py",  # no name after the date: an ordinary module? keep it checked
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

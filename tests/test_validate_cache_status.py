"""validate's cache answers a file from its recorded status (size, times, inode) without
reading it, and never for a file that may have changed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dbsafe import commands
from dbsafe.validate import scan
from tests.test_validate_command import CLINIC_SNAPSHOT, settings_for


def _settings(root: Path):
    return settings_for(root, snapshot=str(CLINIC_SNAPSHOT), cache_dir=str(root / "cache"))


def _found(report) -> list[tuple[str, str, int]]:
    return [(f.code, f.location.path, f.location.line) for f in report.findings if f.location]


def _statuses(root: Path) -> dict[str, list]:
    (cache_file,) = (root / "cache").glob("validate-*.json")
    return json.loads(cache_file.read_text(encoding="utf-8"))["statuses"]


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files written by the test count as settled at once (no 2 s wait)."""
    monkeypatch.setattr(scan, "_SETTLED", 0)


def test_an_edit_that_keeps_size_and_modification_time_is_still_read(
    tmp_path: Path, settled: None
) -> None:
    query = tmp_path / "app" / "q.sql"
    query.parent.mkdir()
    query.write_text("SELECT nopenope FROM patients;\n", encoding="utf-8")
    first = commands.validate(_settings(tmp_path), [tmp_path / "app"])
    assert _found(first) == [("DBS302", "app/q.sql", 1)]
    assert "app/q.sql" in _statuses(tmp_path)

    # Same size, same inode, modification time put back: only the change time tells.
    before = query.stat()
    with open(query, "r+", encoding="utf-8") as file:
        file.write("SELECT full_name FROM patients;\n"[: before.st_size].ljust(before.st_size))
    os.utime(query, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = query.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size, before.st_mtime_ns, before.st_ino)

    assert _found(commands.validate(_settings(tmp_path), [tmp_path / "app"])) == []


def test_an_unchanged_file_keeps_its_findings_and_a_changed_one_is_read_again(
    tmp_path: Path, settled: None
) -> None:
    (tmp_path / "app").mkdir()
    bad = tmp_path / "app" / "bad.sql"
    good = tmp_path / "app" / "good.sql"
    bad.write_text("SELECT nopenope FROM patients;\n", encoding="utf-8")
    good.write_text("SELECT email FROM patients;\n", encoding="utf-8")
    first = commands.validate(_settings(tmp_path), [tmp_path / "app"])
    recorded = _statuses(tmp_path)
    assert set(recorded) == {"app/bad.sql", "app/good.sql"}

    again = commands.validate(_settings(tmp_path), [tmp_path / "app"])
    assert _found(again) == _found(first) == [("DBS302", "app/bad.sql", 1)]
    assert again.summary["statements"] == first.summary["statements"] == 2

    good.write_text("SELECT email, nopenope FROM patients;\n", encoding="utf-8")
    third = commands.validate(_settings(tmp_path), [tmp_path / "app"])
    assert _found(third) == [("DBS302", "app/bad.sql", 1), ("DBS302", "app/good.sql", 1)]
    assert _statuses(tmp_path)["app/good.sql"] != recorded["app/good.sql"]


def test_a_file_written_just_now_is_not_trusted_by_its_status(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "q.sql").write_text("SELECT email FROM patients;\n", encoding="utf-8")
    commands.validate(_settings(tmp_path), [tmp_path / "app"])
    # Written within the last two seconds: an edit in the same clock tick could hide.
    assert "app/q.sql" not in _statuses(tmp_path)


def test_a_file_with_directives_is_read_again_to_apply_them(
    tmp_path: Path, settled: None
) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "q.sql").write_text(
        "-- dbsafe: ignore[DBS302]\nSELECT nopenope FROM patients;\n", encoding="utf-8")
    for _ in range(2):
        report = commands.validate(_settings(tmp_path), [tmp_path / "app"])
        # Suppressed, and the directive counts as used (no DBS002) on the cached run too.
        assert report.findings == ()
    assert _statuses(tmp_path)["app/q.sql"][5] is True


def test_a_migration_recorded_by_status_is_still_skipped_as_one(
    tmp_path: Path, settled: None
) -> None:
    versions = tmp_path / "migrations" / "versions"
    versions.mkdir(parents=True)
    (versions / "0001_init.py").write_text(
        'revision = "0001"\ndown_revision = None\n\n\ndef upgrade():\n'
        '    op.execute("SELECT nopenope FROM patients")\n', encoding="utf-8")
    for _ in range(2):
        report = commands.validate(_settings(tmp_path), [tmp_path / "migrations"])
        assert report.findings == ()
        assert report.summary["migration_files"] == 1
    assert _statuses(tmp_path)["migrations/versions/0001_init.py"][4].startswith("migration:")

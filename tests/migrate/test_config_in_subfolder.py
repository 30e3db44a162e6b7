"""An alembic.ini in a subfolder whose `script_location` is relative to the project's root:
the project runs `alembic -c config/alembic.ini` from its root, and alembic reads the
location from the current directory (HOT's Tasking Manager: `migrations/alembic.ini`). dbsafe
read it from the config's folder only and stopped with exit 2. Real PostgreSQL (the
throwaway server lint and validate run the history on)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.migrate import script_locations
from tests.migrate.projects import write_project

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]


def _project(root: Path) -> Path:
    write_project(root, "well_behaved")
    config = root / "config"
    config.mkdir()
    ini = (root / "alembic.ini").read_text().replace(
        "script_location = %(here)s/migrations", "script_location = migrations")
    (config / "alembic.ini").write_text(ini)
    (root / "alembic.ini").unlink()
    (root / "pyproject.toml").write_text(
        '[tool.dbsafe]\nsource-paths = ["app"]\nalembic-config = "config/alembic.ini"\n')
    return config / "alembic.ini"


def test_a_relative_script_location_is_read_from_where_alembic_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "project"
    ini = _project(root)
    monkeypatch.chdir(root)
    assert script_locations(ini) == [root / "migrations"]
    settings = load_settings(root, {"cache": False}, environ={})

    report = commands.lint(settings, [])

    assert {(f.code, f.location.path if f.location else None) for f in report.findings
            if f.code == "DBS202"} == {("DBS202", "migrations/versions/0003_drop_email.py")}
    validated = commands.validate(settings, [root / "app"])
    # The app's query reads patients.email, which 0003 drops: the schema is head's.
    assert [(f.code, f.subject) for f in validated.findings] == [
        ("DBS302", "public.patients.email")]


def test_a_location_found_nowhere_is_still_a_one_line_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ini = _project(tmp_path / "project")
    monkeypatch.chdir(tmp_path)  # neither under the config's folder nor here
    with pytest.raises(Exception, match="script_location 'migrations' is not a directory"):
        script_locations(ini)

"""Which migrations `dbsafe lint PATH...` lints, and what it says it could not check."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbsafe import commands
from dbsafe.config import Settings
from dbsafe.core import SourceError
from dbsafe.lint.run import load_migrations
from dbsafe.report import summary_line

ENV = Path(__file__).parent / "envs" / "empty_downgrade"
VERSIONS = ENV / "migrations" / "versions"


def test_the_versions_folder_selects_the_alembic_revisions() -> None:
    migrations = load_migrations(Settings(project_root=ENV), [VERSIONS])
    assert [m.revision for m in migrations] == ["0001", "0002", "0003", "0004", "0005", "0006"]
    assert {m.kind for m in migrations} == {"alembic"}


def test_a_revision_file_selects_that_revision_not_its_python_as_sql() -> None:
    migrations = load_migrations(Settings(project_root=ENV), [VERSIONS / "0002_pass.py"])
    assert [(m.revision, m.kind) for m in migrations] == [("0002", "alembic")]
    report = commands.lint(Settings(project_root=ENV), [VERSIONS / "0002_pass.py"])
    assert "DBS001" not in {f.code for f in report.findings}
    assert "DBS210" in {f.code for f in report.findings}


def test_a_python_file_outside_the_script_location_is_an_error(tmp_path: Path) -> None:
    stray = tmp_path / "upgrade.py"
    stray.write_text("print('hi')\n")
    with pytest.raises(SourceError, match="outside the alembic script location"):
        load_migrations(Settings(project_root=ENV), [stray])


def test_sql_files_are_still_sql_migrations(tmp_path: Path) -> None:
    sql = tmp_path / "V1__init.sql"
    sql.write_text("CREATE TABLE t (id bigint);\n")
    [migration] = load_migrations(Settings(project_root=tmp_path), [sql])
    assert migration.kind == "sql"


def test_dbs211_that_cannot_run_is_a_warning_in_the_summary(tmp_path: Path) -> None:
    sql = tmp_path / "V2__drop.sql"
    sql.write_text("DROP TABLE legacy;\n")
    report = commands.lint(Settings(project_root=tmp_path), [sql])
    [note] = report.summary["not_checked"]
    assert note.startswith("DBS211: application references not checked: ")
    assert f"warning: {note}" in summary_line(report)

"""A file in a folder of schema deltas named by its version is a migration, not validated.

Synapse (element-hq/synapse) keeps `synapse/storage/schema/main/delta/<version>/` folders of
`.sql` and `.py` deltas, each applied once to a database of an earlier version: delta 16
reads `topics`, `presence_list` and SQLite's `rowid`, gone or never there in today's schema
(14 false DBS301/DBS302), delta 69's `01as_txn_seq.py` reads `application_services_state.
last_txn`, dropped since (1 false DBS302). Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.extract.migration import migration_kind


@pytest.mark.parametrize("name", [
    "synapse/storage/schema/main/delta/16/unique_constraints.sql",
    "synapse/storage/schema/state/delta/89/01_state_groups_deletion.sql",
    "synapse/storage/schema/main/delta/69/01as_txn_seq.py",
    "db/deltas/3/add_column.sql",
])
def test_a_file_in_a_numbered_delta_folder_is_a_migration(name: str) -> None:
    assert migration_kind(name, b"SELECT 1;") == "migration"


@pytest.mark.parametrize("name", [
    "sql/delta/report.sql",  # no version folder
    "app/delta/16/x/query.sql",  # the version folder is not its own
    "reports/16/top.sql",  # a number alone
    "app/delta_16/query.py",
])
def test_other_places_are_application_code(name: str) -> None:
    assert migration_kind(name, b"SELECT 1;") is None


@pytest.mark.db
def test_a_schema_delta_is_not_validated(database_url: str, tmp_path: Path) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE application_services_state (as_id text, state text)")
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    deltas = tmp_path / "schema" / "main" / "delta"
    (deltas / "16").mkdir(parents=True)
    (deltas / "69").mkdir()
    (deltas / "16" / "unique_constraints.sql").write_text(
        "DELETE FROM topics WHERE rowid NOT IN (SELECT max(rowid) FROM topics);\n",
        encoding="utf-8")
    (deltas / "69" / "01as_txn_seq.py").write_text(
        "def run_create(cur, database_engine):\n"
        "    cur.execute('SELECT COALESCE(max(last_txn), 0) FROM application_services_state')\n",
        encoding="utf-8")
    (tmp_path / "store.py").write_text(
        "def f(cur):\n"
        "    cur.execute('SELECT last_txn FROM application_services_state')\n",
        encoding="utf-8")
    settings = load_settings(tmp_path, {"database-url": database_url, "cache": False},
                             environ={})
    report = commands.validate(settings, [tmp_path])
    assert [(f.code, f.location.path) for f in report.findings if f.location] == [
        ("DBS302", "store.py")]
    # The .sql delta is left to lint; the .py one is code `dbsafe lint` does not read.
    assert (report.summary["migration_files"], report.summary["code_migration_files"]) == (1, 1)

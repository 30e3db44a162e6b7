"""SQL migration folders are read in the order their runners apply them."""

from __future__ import annotations

from pathlib import Path

from dbsafe.extract.migration import sql_migrations


def _order(root: Path, names: list[str]) -> list[str]:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("SELECT 1;\n")
    return [m.path for m in sql_migrations([root], root=root)]


def test_flyway_versions_sort_as_numbers_across_folders(tmp_path: Path) -> None:
    assert _order(tmp_path, ["V10__c.sql", "V2__a.sql", "sub/V3__b.sql", "V1.1__init.sql",
                             "R__views.sql"]) == [
        "V1.1__init.sql", "V2__a.sql", "sub/V3__b.sql", "V10__c.sql", "R__views.sql"]


def test_numbered_migration_folders_sort_as_numbers(tmp_path: Path) -> None:
    # prisma/hasura-style: one folder per migration, the version in the folder's name.
    assert _order(tmp_path, ["10_index/migration.sql", "2_table/migration.sql",
                             "1_init/migration.sql"]) == [
        "1_init/migration.sql", "2_table/migration.sql", "10_index/migration.sql"]


def test_timestamped_files_keep_their_order(tmp_path: Path) -> None:
    assert _order(tmp_path, ["20240201000000_b.sql", "20240101120000_a.sql"]) == [
        "20240101120000_a.sql", "20240201000000_b.sql"]

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
    # hasura-style: one folder per migration, the version in the folder's name.
    assert _order(tmp_path, ["10_index/up.sql", "2_table/up.sql", "1_init/up.sql"]) == [
        "1_init/up.sql", "2_table/up.sql", "10_index/up.sql"]


def test_prisma_folders_sort_by_name_as_prisma_does(tmp_path: Path) -> None:
    # prisma migrate sorts its folders with `localeCompare`: a hand-named twelve-digit
    # folder (papermark's `202310122339_NewColumnInLinkTable`) runs after the fourteen-digit
    # one that creates its table, and `_` sorts before digits.
    assert _order(tmp_path, ["202310122339_add_column/migration.sql",
                             "20230912150657_initialize/migration.sql",
                             "20240101000000_b/migration.sql", "20240101_a/migration.sql",
                             "migration_lock.toml"]) == [
        "20230912150657_initialize/migration.sql", "202310122339_add_column/migration.sql",
        "20240101_a/migration.sql", "20240101000000_b/migration.sql"]


def test_supabase_files_sort_by_name_as_its_cli_does(tmp_path: Path) -> None:
    folder = tmp_path / "supabase" / "migrations"
    assert _order(folder, ["2023101223_add_column.sql", "20230912150657_initialize.sql"]) == [
        "20230912150657_initialize.sql", "2023101223_add_column.sql"]


def test_timestamped_files_keep_their_order(tmp_path: Path) -> None:
    assert _order(tmp_path, ["20240201000000_b.sql", "20240101120000_a.sql"]) == [
        "20240101120000_a.sql", "20240201000000_b.sql"]

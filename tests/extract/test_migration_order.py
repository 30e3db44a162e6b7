"""SQL migration folders are read in the order their runners apply them."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbsafe.core import SourceError
from dbsafe.extract.migration import _yoyo_folder, sql_migrations


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


def test_a_prisma_folder_runs_only_each_migration_sql(tmp_path: Path) -> None:
    # schema-engine reads one migration script per folder: the `down.sql` prisma's docs have
    # you write beside it (langwatch), a `rollback.sql`, a seed at the top never run.
    assert _order(tmp_path, ["20240101000000_a/migration.sql", "20240101000000_a/down.sql",
                             "20240201000000_b/rollback.sql", "20240201000000_b/migration.sql",
                             "seed.sql", "migration_lock.toml"]) == [
        "20240101000000_a/migration.sql", "20240201000000_b/migration.sql"]


def test_a_prisma_folder_without_a_migration_sql_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"only each <name>/migration\.sql"):
        _order(tmp_path, ["20240101000000_a/down.sql", "migration_lock.toml"])


def test_supabase_files_sort_by_name_as_its_cli_does(tmp_path: Path) -> None:
    folder = tmp_path / "supabase" / "migrations"
    assert _order(folder, ["2023101223_add_column.sql", "20230912150657_initialize.sql"]) == [
        "20230912150657_initialize.sql", "2023101223_add_column.sql"]


def test_timestamped_files_keep_their_order(tmp_path: Path) -> None:
    assert _order(tmp_path, ["20240201000000_b.sql", "20240101120000_a.sql"]) == [
        "20240101120000_a.sql", "20240201000000_b.sql"]


_PLANNED = "2024-01-01T00:00:00Z Me <me@example.com>"


def test_a_reworked_sqitch_change_runs_the_script_of_the_first_tag_after_it_that_exists(
        tmp_path: Path) -> None:
    # Sqitch tries the tags between a change and its rework, the latest first, then the
    # change's own: `f@v1.1.sql` is not there, `f@v1.0.sql` is (the tag the rework was
    # made after, before a later one was added). A `+` or `-` before a name deploys alike.
    (tmp_path / "sqitch.plan").write_text(
        f"%project=p\n\nf {_PLANNED}\n@v1.0 {_PLANNED}\n+g {_PLANNED}\n@v1.1 {_PLANNED}\n"
        f"- h {_PLANNED}\nf [f@v1.0] {_PLANNED}\n")
    assert _order(tmp_path, ["deploy/f@v1.0.sql", "deploy/f.sql", "deploy/g.sql",
                             "deploy/h.sql", "revert/f.sql", "verify/f.sql"]) == [
        "deploy/f@v1.0.sql", "deploy/g.sql", "deploy/h.sql", "deploy/f.sql"]


def test_a_sqitch_plan_reads_the_plan_its_sqitch_conf_names(tmp_path: Path) -> None:
    # Tamarou's Registry: `top_dir = ./sql` in sqitch.conf; the sqitch.plan beside it (a
    # stray one) is not the plan, `sql/sqitch.plan` is.
    (tmp_path / "sqitch.conf").write_text("[core]\n\tengine = pg\n\t top_dir = ./sql\n")
    (tmp_path / "sqitch.plan").write_text(f"stray [x] {_PLANNED}\n")
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "sqitch.plan").write_text(f"%project=p\n\nb {_PLANNED}\na {_PLANNED}\n")
    assert _order(tmp_path, ["sql/deploy/a.sql", "sql/deploy/b.sql"]) == [
        "sql/deploy/b.sql", "sql/deploy/a.sql"]


def test_a_sqitch_change_without_its_deploy_script_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "sqitch.plan").write_text(f"%project=p\n\na {_PLANNED}\nb {_PLANNED}\n")
    with pytest.raises(SourceError, match=r"sqitch.plan plans 1 change\(s\) whose deploy "
                                          r"script is not there \(deploy/b.sql\)"):
        _order(tmp_path, ["deploy/a.sql"])


def test_a_sqitch_project_for_another_engine_is_an_error(tmp_path: Path) -> None:
    # The engine from core.engine, else from the default target's URI.
    (tmp_path / "sqitch.conf").write_text('[core]\n\ttarget = shop\n[target "shop"]\n'
                                          "\turi = db:mysql://localhost/shop\n")
    (tmp_path / "sqitch.plan").write_text(f"%project=p\n\na {_PLANNED}\n")
    with pytest.raises(SourceError, match="Sqitch project for the mysql engine"):
        _order(tmp_path, ["deploy/a.sql"])


def test_a_sqitch_target_is_the_one_named_else_core_s_else_the_engine_s(tmp_path: Path) -> None:
    # Sqitch's `Target` BUILDARGS: `sqitch deploy NAME` (or a URI), else `core.target`, else
    # `engine.pg.target`; each setting the target's own, else the engine's, else core's.
    from dbsafe.extract.sqitch import sqitch_project

    (tmp_path / "sqitch.conf").write_text(
        '[core]\n\tengine = pg\n\ttarget = qa\n[engine "pg"]\n\ttarget = dev\n\tregistry = '
        'engine_meta\n[target "dev"]\n\turi = db:pg:dev\n\tregistry = dev_meta\n'
        '[target "qa"]\n\turi = db:pg:qa\n')
    (tmp_path / "sqitch.plan").write_text(f"%project=p\n\na {_PLANNED}\n")
    registries = {target: project.registry for target in (None, "dev", "db:pg://x/y")
                  if (project := sqitch_project(tmp_path, target)) is not None}
    assert registries == {None: "engine_meta", "dev": "dev_meta", "db:pg://x/y": "engine_meta"}


def test_yoyo_orders_by_its_depends_directives_only_in_a_folder_no_other_runner_names(
        tmp_path: Path) -> None:
    # yoyo reads ids by name (`10_c` before `1_a`) and then by `-- depends:`; a comment of
    # that shape in golang-migrate's files does not make the folder yoyo's.
    for name in ("1_a.up.sql", "2_b.up.sql", "10_c.up.sql"):
        (tmp_path / name).write_text("-- depends: the table of 1_a\nSELECT 1;\n")
    assert [m.path for m in sql_migrations([tmp_path], root=tmp_path)] == [
        "1_a.up.sql", "2_b.up.sql", "10_c.up.sql"]
    assert _order(tmp_path / "yoyo", ["10_c.sql", "1_a.sql", "2_b.sql"]) == [
        "1_a.sql", "2_b.sql", "10_c.sql"]  # no directive: natural order, as before
    (tmp_path / "yoyo" / "2_b.sql").write_text("-- depends: 1_a\nSELECT 1;\n")
    _yoyo_folder.cache_clear()  # the next run (one run reads a folder's directives once)
    assert [m.path for m in sql_migrations([tmp_path / "yoyo"], root=tmp_path / "yoyo")] == [
        "10_c.sql", "1_a.sql", "2_b.sql"]

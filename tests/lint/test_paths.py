"""Which migrations `dbsafe lint PATH...` lints, and what it says it could not check."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import Settings, load_settings
from dbsafe.core import SourceError
from dbsafe.extract.migration import unrun_files
from dbsafe.lint.run import load_migrations
from dbsafe.report import summary_line

ENV = Path(__file__).parent / "envs" / "empty_downgrade"
VERSIONS = ENV / "migrations" / "versions"


@pytest.mark.db
@pytest.mark.usefixtures("one_server_throwaways")
def test_the_versions_folder_selects_the_alembic_revisions() -> None:
    migrations = load_migrations(Settings(project_root=ENV), [VERSIONS])
    assert [m.revision for m in migrations] == ["0001", "0002", "0003", "0004", "0005", "0006",
                                                "0007", "0008", "0009"]
    assert {m.kind for m in migrations} == {"alembic"}


@pytest.mark.db
@pytest.mark.usefixtures("one_server_throwaways")
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


def test_lock_rows_render_in_every_format(tmp_path: Path) -> None:
    import json

    from dbsafe.lint.locks import lock_table, render_locks_text
    from dbsafe.report import render_rows

    sql = tmp_path / "V1__idx.sql"
    sql.write_text("CREATE INDEX ix ON orders (customer_id);\n")
    rows = commands.lock_report(Settings(project_root=tmp_path), [sql])
    records = lock_table(rows)
    text = render_rows(records, "text", text=render_locks_text(rows), kind="lock")
    assert "SHARE" in text and "orders" in text
    data = json.loads(render_rows(records, "json", text="", kind="lock"))
    assert [(r["lock"], r["relation"], r["line"]) for r in data["locks"]] == [
        ("SHARE", "orders", 1)]
    sarif = json.loads(render_rows(records, "sarif", text="", kind="lock"))
    assert sarif["runs"][0]["results"][0]["level"] == "note"
    github = render_rows(records, "github", text="", kind="lock")
    assert github.startswith("::notice file=") and "SHARE lock on orders" in github


@pytest.mark.parametrize("code", ["DBS001", "DBS101", "DBS211"])
def test_explain_prints_the_docs_of_every_lint_code(code: str) -> None:
    text = commands.explain(code)
    assert text.startswith(code) and "## Why" in text


def test_new_rule_writes_a_registered_skeleton_and_its_fixture(tmp_path: Path) -> None:
    import shutil

    from scripts.new_rule import new_rule

    root = tmp_path / "repo"
    shutil.copytree(Path(__file__).parents[2] / "dbsafe" / "lint" / "rules",
                    root / "dbsafe" / "lint" / "rules")
    (root / "tests" / "lint" / "fixtures").mkdir(parents=True)
    path = new_rule("DBS199", "example-pattern", root=root)
    assert path.name == "example_pattern.py" and 'code="DBS199"' in path.read_text()
    registry = (root / "dbsafe" / "lint" / "rules" / "__init__.py").read_text()
    assert "    example_pattern,\n" in registry and registry.endswith(
        "    example_pattern.RULE,\n)\n")
    assert "-- not flagged" in (root / "tests" / "lint" / "fixtures" / "DBS199.sql").read_text()


def test_since_with_sql_paths_only_is_an_error_not_a_full_run(tmp_path: Path) -> None:
    (tmp_path / "001.sql").write_text("ALTER TABLE t ADD COLUMN c text;\n")
    with pytest.raises(SourceError, match="--since 0001 selects alembic revisions"):
        commands.lint(Settings(project_root=tmp_path), [tmp_path], since="0001")


def test_offline_with_sql_paths_only_is_an_error_not_dropped(tmp_path: Path) -> None:
    # --offline renders alembic revisions: with SQL files alone it was dropped without a word
    (tmp_path / "001.sql").write_text("ALTER TABLE t ADD COLUMN c text;\n")
    with pytest.raises(SourceError, match="--offline renders alembic revisions"):
        commands.lint(Settings(project_root=tmp_path), [tmp_path], offline=True)


def _codes(report: object) -> list[tuple[str, int, str]]:
    return sorted((f.location.path.rpartition("/")[2], f.location.line, f.code)
                  for f in report.findings if f.location is not None)  # type: ignore[attr-defined]


def test_down_migrations_of_a_folder_are_not_linted(tmp_path: Path) -> None:
    # golang-migrate's `.down.sql` sorts before its `.up.sql`, and Flyway's undo files after
    # every versioned one: linted, they read as a DROP TABLE before the table exists.
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "000001_a.up.sql").write_text("CREATE TABLE t (id bigint PRIMARY KEY);\n")
    (folder / "000001_a.down.sql").write_text("DROP TABLE t;\n")
    (folder / "000002_b.up.sql").write_text("ALTER TABLE t ADD COLUMN b int;\n")
    (folder / "000002_b.down.sql").write_text("ALTER TABLE t DROP COLUMN b;\n")
    (folder / "U2__b.sql").write_text("ALTER TABLE t DROP COLUMN b;\n")
    settings = Settings(project_root=tmp_path, ignore=("DBS115",))
    migrations = load_migrations(settings, [folder])
    assert [m.path.rpartition("/")[2] for m in migrations] == ["000001_a.up.sql",
                                                                "000002_b.up.sql"]
    assert _codes(commands.lint(settings, [folder])) == []


def test_a_down_file_named_beside_its_up_file_with_an_underscore_is_not_linted(
        tmp_path: Path) -> None:
    # gitness (maragudk/migrate, `^([\w-]+).down.sql`) names three of its pairs
    # `0021_x_up.sql` and `0021_x_down.sql` among its `.up.sql` files; the down sorts first
    # and, linted, dropped a column not added yet (DBS202) or failed to parse (DBS001).
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_a.up.sql").write_text("CREATE TABLE t (id bigint PRIMARY KEY);\n")
    (folder / "0001_a.down.sql").write_text("DROP TABLE t;\n")
    (folder / "0002_b_down.sql").write_text("ALTER TABLE t DROP COLUMN b;\n")
    (folder / "0002_b_up.sql").write_text("ALTER TABLE t ADD COLUMN b int;\n")
    # With no `_up.sql` beside it, a file so named is what the folder's runner makes of it.
    (folder / "0003_c_down.sql").write_text("ALTER TABLE t DROP COLUMN b;\n")
    settings = Settings(project_root=tmp_path, ignore=("DBS115",))
    migrations = load_migrations(settings, [folder])
    assert [m.path.rpartition("/")[2] for m in migrations] == [
        "0001_a.up.sql", "0002_b_up.sql", "0003_c_down.sql"]
    assert _codes(commands.lint(settings, [folder])) == [("0003_c_down.sql", 1, "DBS202")]


def test_a_down_file_named_for_its_version_beside_an_up_file_of_it_is_not_a_migration(
        tmp_path: Path) -> None:
    # SylteA/Discord-Bot's runner reads `<version>_<up|down>__<name>.sql`, the two names of a
    # version free to differ (`005_up__custom_roles.sql`, `005_down__custom_role.sql`); run
    # as migrations, each down file sorted before its version's up file and altered tables
    # the up file had yet to make again.
    folder = tmp_path / "migrations"
    folder.mkdir()
    for name in ("000_up__migrations.sql", "001_down__delete_db.sql", "001_up__create_db.sql",
                 "002_down__custom_role.sql", "002_up__custom_roles.sql",
                 "003_down__lonely.sql"):
        (folder / name).write_text("SELECT 1;\n")
    migrations = load_migrations(Settings(project_root=tmp_path), [folder])
    # With no up file of its version beside it, a file so named is what the runner makes of it.
    assert [m.path.rpartition("/")[2] for m in migrations] == [
        "000_up__migrations.sql", "001_up__create_db.sql", "002_up__custom_roles.sql",
        "003_down__lonely.sql"]


def test_a_down_file_named_beside_its_up_file_by_any_name_is_not_linted(tmp_path: Path) -> None:
    # authelia names its migrations `V0001.Initial_Schema.up.sql` and `.down.sql` (its
    # runner's `^V(\d{4})\.([^.]+)\.(up|down)\.sql$`), which no runner's pattern above
    # matches: each down sorted before its up and, linted, dropped the tables its up makes.
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "V0001.Initial_Schema.up.sql").write_text("CREATE TABLE t (id bigint PRIMARY KEY);\n")
    (folder / "V0001.Initial_Schema.down.sql").write_text("DROP TABLE t;\n")
    (folder / "V0002.Add_B.up.sql").write_text("ALTER TABLE t ADD COLUMN b int;\n")
    (folder / "V0002.Add_B.down.sql").write_text("ALTER TABLE t DROP COLUMN b;\n")
    # With no `.up.sql` beside it, a file so named is a migration like any other.
    (folder / "V0003.Drop_B.down.sql").write_text("ALTER TABLE t DROP COLUMN b;\n")
    settings = Settings(project_root=tmp_path, ignore=("DBS115",))
    migrations = load_migrations(settings, [folder])
    assert [m.path.rpartition("/")[2] for m in migrations] == [
        "V0001.Initial_Schema.up.sql", "V0002.Add_B.up.sql", "V0003.Drop_B.down.sql"]
    assert _codes(commands.lint(settings, [folder])) == [("V0003.Drop_B.down.sql", 1, "DBS202")]


def test_hasura_down_files_are_not_linted(tmp_path: Path) -> None:
    # hasura keeps each version in a folder of its own, `up.sql` beside `down.sql`; `down`
    # sorts first, and linted it reads as dropping what is not there yet.
    folder = tmp_path / "migrations" / "default"
    for version, up, down in (
            ("1700000000000_init", "CREATE TABLE t (id bigint PRIMARY KEY);",
             "DROP TABLE t;"),
            ("1700000000001_b", "ALTER TABLE t ADD COLUMN b int;",
             "ALTER TABLE t DROP COLUMN b;")):
        (folder / version).mkdir(parents=True)
        (folder / version / "up.sql").write_text(up + "\n")
        (folder / version / "down.sql").write_text(down + "\n")
    # A file named down.sql with no up.sql beside it is no hasura down migration.
    (folder / "1700000000002_c").mkdir()
    (folder / "1700000000002_c" / "down.sql").write_text("ALTER TABLE t DROP COLUMN b;\n")
    settings = Settings(project_root=tmp_path, ignore=("DBS115",))
    migrations = load_migrations(settings, [folder])
    assert [m.path.removeprefix("migrations/default/") for m in migrations] == [
        "1700000000000_init/up.sql", "1700000000001_b/up.sql", "1700000000002_c/down.sql"]
    assert _codes(commands.lint(settings, [folder])) == [("down.sql", 1, "DBS202")]


def test_only_the_up_section_of_an_annotated_file_is_linted(tmp_path: Path) -> None:
    # goose sends what lies between StatementBegin and StatementEnd as one statement, so
    # its last statement may have no `;`; what follows `-- +goose Down` (or sql-migrate's
    # and dbmate's marks) runs only on a downgrade.
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_init.sql").write_text("CREATE TABLE t (id bigint PRIMARY KEY, a int);\n")
    (folder / "002_goose.sql").write_text(
        "-- +goose Up\n-- +goose StatementBegin\nCREATE INDEX t_a ON t (a)\n"
        "-- +goose StatementEnd\n\n-- +goose Down\n-- +goose StatementBegin\n"
        "DROP INDEX t_a;\nDROP TABLE t\n-- +goose StatementEnd\n")
    (folder / "003_sql_migrate.sql").write_text(
        "-- +migrate Up\nALTER TABLE t ADD COLUMN b int;\n-- +migrate Down\n"
        "ALTER TABLE t DROP COLUMN a;\n")
    (folder / "004_dbmate.sql").write_text(
        "-- migrate:up\nALTER TABLE t ADD COLUMN c int;\n\n-- migrate:down\n"
        "ALTER TABLE t DROP COLUMN a;\n")
    report = commands.lint(Settings(project_root=tmp_path, ignore=("DBS115",)), [folder])
    assert _codes(report) == [("002_goose.sql", 3, "DBS101")]


def test_goose_sql_migrate_and_dbmate_files_run_in_a_transaction_unless_told_not_to(
        tmp_path: Path) -> None:
    # Each of these runners wraps a migration in one transaction: CONCURRENTLY fails there.
    folder = tmp_path / "migrations"
    folder.mkdir()
    index = "CREATE INDEX CONCURRENTLY ix_{0} ON t (id);\n"
    (folder / "001_init.sql").write_text("CREATE TABLE t (id bigint);\n")
    (folder / "002_goose.sql").write_text("-- +goose Up\n" + index.format("a"))
    (folder / "003_goose.sql").write_text(
        "-- +goose NO TRANSACTION\n-- +goose Up\n" + index.format("b"))
    (folder / "004_sql_migrate.sql").write_text("-- +migrate Up\n" + index.format("c"))
    (folder / "005_sql_migrate.sql").write_text(
        "-- +migrate Up notransaction\n" + index.format("d"))
    (folder / "006_dbmate.sql").write_text("-- migrate:up\n" + index.format("e"))
    (folder / "007_dbmate.sql").write_text(
        "-- migrate:up transaction:false\n" + index.format("f"))
    report = commands.lint(Settings(project_root=tmp_path, select=("DBS102",)), [folder])
    assert _codes(report) == [("002_goose.sql", 2, "DBS102"), ("004_sql_migrate.sql", 2, "DBS102"),
                              ("006_dbmate.sql", 2, "DBS102")]


def test_a_pop_folder_lints_what_pop_runs_on_postgresql(tmp_path: Path) -> None:
    # kratos's persistence/sql/migrations/sql: each version in a file per dialect. Linted
    # all, its MySQL and SQLite files were 332 DBS001; pop runs the `.postgres.` file, else
    # the dialect-less one, in a transaction unless the name says `.autocommit`.
    folder = tmp_path / "sql"
    folder.mkdir()
    for name, text in {
            "1_init.postgres.up.sql": "CREATE TABLE a (id bigint PRIMARY KEY, b text);",
            "1_init.mysql.up.sql": "CREATE TABLE a (id BIGINT AUTO_INCREMENT PRIMARY KEY);",
            "1_init.up.sql": "CREATE TABLE a (id uuid);",
            "2_b.sqlite3.up.sql": "CREATE INDEX `a_b` ON `a` (`b`);",
            "2_b.up.sql": "CREATE INDEX CONCURRENTLY a_b ON a (b);",
            "3_c.postgres.autocommit.up.sql": "CREATE INDEX CONCURRENTLY a_b_id ON a (b, id);",
    }.items():
        (folder / name).write_text(text + "\n")
    report = commands.lint(Settings(project_root=tmp_path, ignore=("DBS115",)), [folder])
    assert _codes(report) == [("2_b.up.sql", 1, "DBS102")]


def test_a_golang_migrate_file_of_several_statements_is_one_transaction(tmp_path: Path) -> None:
    # golang-migrate sends the file as one query: one implicit transaction, in which
    # CONCURRENTLY fails and the first statement's lock is held to the file's end.
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "000001_a.up.sql").write_text("CREATE TABLE a (id int);\n")
    (folder / "000002_b.up.sql").write_text("CREATE INDEX CONCURRENTLY a_id ON a (id);\n")
    (folder / "000003_c.up.sql").write_text(
        "ALTER TABLE a ADD COLUMN b int;\nCREATE INDEX CONCURRENTLY a_b ON a (b);\n")
    report = commands.lint(Settings(project_root=tmp_path, select=("DBS102",)), [folder])
    assert _codes(report) == [("000003_c.up.sql", 2, "DBS102")]


@pytest.mark.parametrize(("prisma", "found"), [
    ("^6.1.0", [("3_c/migration.sql", 2, "DBS102"), ("3_c/migration.sql", 2, "DBS114"),
                ("4_d/migration.sql", 2, "DBS114")]),
    ("7.9.1", []), (None, [])])
def test_a_prisma_migration_is_one_transaction_before_prisma_7_4(
        tmp_path: Path, prisma: str | None, found: list[tuple[str, int, str]]) -> None:
    # prisma's schema engine sent a migration.sql as one query before 7.4, as
    # tests/migrate/test_sqlfiles.py runs it: one implicit transaction, in which
    # CONCURRENTLY fails and the first statement's lock is held to the file's end; since
    # 7.4 each statement is sent on its own (and so when the project does not say).
    folder = tmp_path / "prisma" / "migrations"
    for name, text in (("1_a", "CREATE TABLE a (id int, b int);\nCREATE TABLE c (id int);\n"),
                       ("2_b", "CREATE INDEX CONCURRENTLY a_id ON a (id);\n"),
                       ("3_c", "ALTER TABLE a ADD COLUMN d int;\n"
                               "CREATE INDEX CONCURRENTLY a_b ON a (b);\n"),
                       ("4_d", "ALTER TABLE a ALTER COLUMN b SET DEFAULT 0;\n"
                               "UPDATE c SET id = 0 WHERE id IS NULL;\n")):
        (folder / name).mkdir(parents=True)
        (folder / name / "migration.sql").write_text(text)
    if prisma is not None:
        (tmp_path / "package.json").write_text(json.dumps({"devDependencies": {"prisma": prisma}}))
    report = commands.lint(Settings(project_root=tmp_path, select=("DBS102", "DBS114")),
                           [folder])
    assert sorted((f.location.path.split("/", 2)[2], f.location.line, f.code)
                  for f in report.findings if f.location is not None) == found


def test_a_prisma_migrations_down_sql_is_not_linted(tmp_path: Path) -> None:
    # prisma migrate runs each folder's migration.sql alone: the down.sql prisma's docs have
    # you write beside it is run by hand. Linted as a migration, its DROP COLUMN was a DBS202.
    folder = tmp_path / "prisma" / "migrations"
    for name, file, text in (("1_a", "migration.sql", "CREATE TABLE a (id int);\n"),
                             ("2_b", "migration.sql", "ALTER TABLE a ADD COLUMN b int;\n"),
                             ("2_b", "down.sql", "ALTER TABLE a DROP COLUMN b;\n")):
        (folder / name).mkdir(parents=True, exist_ok=True)
        (folder / name / file).write_text(text)
    (folder / "migration_lock.toml").write_text('provider = "postgresql"\n')
    report = commands.lint(Settings(project_root=tmp_path, select=("DBS202",)), [folder])
    assert list(report.findings) == []


def test_flyway_s_each_migration_callback_is_linted_as_part_of_each_migration(
        tmp_path: Path) -> None:
    # beforeEachMigrate.sql runs in each migration's transaction, before it: its timeouts
    # hold for V2's ALTER (no DBS115). It was linted as one more migration after the others:
    # DBS115 on V2. beforeClean.sql never runs in a migrate: its DROP was a DBS201.
    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    for name, text in {
            "beforeEachMigrate.sql": "SET lock_timeout = '5s';\nSET statement_timeout = '15min';\n",
            "V1__users.sql": "CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY "
                             "PRIMARY KEY);\n",
            "V2__email.sql": "ALTER TABLE users ADD COLUMN email text;\n",
            "beforeClean.sql": "DROP TABLE users;\n"}.items():
        (folder / name).write_text(text)
    report = commands.lint(Settings(project_root=tmp_path), [folder])
    assert report.findings == ()
    assert [m.path for m in load_migrations(Settings(project_root=tmp_path), [folder])] == [
        "db/migrations/V1__users.sql", "db/migrations/V2__email.sql"]



def test_a_flyway_folder_s_other_files_are_neither_linted_nor_run(tmp_path: Path) -> None:
    # Flyway runs no file of its locations it does not name as a migration or a callback:
    # seed.sql's DELETE was linted (DBS121 on a statement no migrate sends) and run after
    # the migrations. It may be run by hand: unrun_files names it.
    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    for name, text in {
            "V1__users.sql": "CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY "
                             "PRIMARY KEY);\n",
            "R__names.sql": "CREATE OR REPLACE VIEW user_ids AS SELECT id FROM users;\n",
            "U1__users.sql": "DROP TABLE users;\n",
            "seed.sql": "DELETE FROM users;\n"}.items():
        (folder / name).write_text(text)
    settings = Settings(project_root=tmp_path)
    assert [m.path for m in load_migrations(settings, [folder])] == [
        "db/migrations/V1__users.sql", "db/migrations/R__names.sql"]
    assert commands.lint(settings, [folder]).findings == ()
    assert unrun_files(folder) == [folder / "seed.sql"]


# Each runner's folder: its migrations, its down migrations, and `seed.sql`, which it skips.
RUNNER_FOLDERS = {
    "golang-migrate": ("db/migrations", {
        "1_users.up.sql": "CREATE TABLE users (id bigint PRIMARY KEY);\n",
        "1_users.down.sql": "DROP TABLE users;\n",
        "2_tags.up.sql": "CREATE TABLE tags (name text);\n",
        "2_tags.down.sql": "DROP TABLE tags;\n"}),
    "goose": ("db/migrations", {
        "00001_users.sql": "-- +goose Up\nCREATE TABLE users (id bigint PRIMARY KEY);\n"
                           "-- +goose Down\nDROP TABLE users;\n",
        "00002_tags.sql": "-- +goose Up\nCREATE TABLE tags (name text);\n"
                           "-- +goose Down\nDROP TABLE tags;\n"}),
    "sqlx": ("migrations", {
        "1_users.sql": "CREATE TABLE users (id bigint PRIMARY KEY);\n",
        "2_tags.sql": "CREATE TABLE tags (name text);\n"}),
}


def runner_folder(root: Path, runner: str, seed: str) -> Path:
    """`RUNNER_FOLDERS[runner]` under `root`, with `seed.sql` holding `seed`."""
    where, files = RUNNER_FOLDERS[runner]
    folder = root / where
    folder.mkdir(parents=True)
    for name, text in {**files, "seed.sql": seed}.items():
        (folder / name).write_text(text)
    if runner == "sqlx":
        (root / "Cargo.toml").write_text('[package]\nname = "app"\n\n[dependencies]\n'
                                         'sqlx = { version = "0.8", features = ["postgres"] }\n')
    return folder


@pytest.mark.parametrize("runner", list(RUNNER_FOLDERS))
def test_a_file_its_runner_does_not_name_as_a_migration_is_neither_linted_nor_run(
        tmp_path: Path, runner: str) -> None:
    # golang-migrate matches ^([0-9]+)_(.*)\.(down|up)\.(.*)$, goose a name whose part before
    # its first `_` is a version of at least 1, sqlx `<VERSION>_<DESCRIPTION>.sql`: none
    # runs seed.sql, whose DELETE was linted (DBS121 on a statement no migrate sends) and run
    # after the migrations. It may be run by hand: unrun_files names it.
    folder = runner_folder(tmp_path, runner, "DELETE FROM users;\n")
    settings = Settings(project_root=tmp_path)
    where, files = RUNNER_FOLDERS[runner]
    assert [m.path for m in load_migrations(settings, [folder])] == [
        f"{where}/{name}" for name in files if ".down." not in name]
    assert commands.lint(settings, [folder]).findings == ()
    assert unrun_files(folder) == [folder / "seed.sql"]


def test_files_of_a_folder_no_runner_dbsafe_knows_skips_are_all_linted(tmp_path: Path) -> None:
    # `2_email.sql` beside golang-migrate's `1_users.up.sql`: golang-migrate would skip it,
    # so some other runner runs this folder, and nothing says it skips seed.sql; nor does
    # sql-migrate, which runs every .sql file of its folder, seed.sql after the numbered ones.
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for name, text in {"1_users.up.sql": "CREATE TABLE users (id bigint PRIMARY KEY);\n",
                       "2_email.sql": "ALTER TABLE users ADD COLUMN email text;\n",
                       "seed.sql": "DELETE FROM users;\n"}.items():
        (mixed / name).write_text(text)
    sql_migrate = tmp_path / "sql_migrate"
    sql_migrate.mkdir()
    (sql_migrate / "1_users.sql").write_text(
        "-- +migrate Up\nCREATE TABLE users (id bigint PRIMARY KEY);\n")
    (sql_migrate / "seed.sql").write_text("-- +migrate Up\nDELETE FROM users;\n")
    settings = Settings(project_root=tmp_path)
    assert [m.path for m in load_migrations(settings, [mixed])] == [
        "mixed/1_users.up.sql", "mixed/2_email.sql", "mixed/seed.sql"]
    assert [m.path for m in load_migrations(settings, [sql_migrate])] == [
        "sql_migrate/1_users.sql", "sql_migrate/seed.sql"]
    assert unrun_files(mixed) == unrun_files(sql_migrate) == []


def test_flyway_diesel_sqlx_and_dbmate_files_are_linted_in_their_runners_transactions(
        tmp_path: Path) -> None:
    # As tests/migrate/test_sqlfiles.py runs them: Flyway, diesel and sqlx wrap each migration in
    # a transaction (the UPDATE runs while SET DEFAULT holds ACCESS EXCLUSIVE on `a`), but
    # not Flyway's file of a lone CONCURRENTLY (Marquez's V47) nor diesel's with
    # `run_in_transaction = false` nor sqlx's `-- no-transaction`; a file of several
    # statements sent as one query (diesel's and sqlx's without their transaction, dbmate's
    # `transaction:false`) is one implicit transaction.
    alter = "ALTER TABLE a ALTER COLUMN b SET DEFAULT 0;\nUPDATE a SET b = 0 WHERE b IS NULL;\n"
    several = "SET lock_timeout = '1s';\nCREATE INDEX CONCURRENTLY a_b ON a (b);\n"
    flyway = tmp_path / "flyway"
    flyway.mkdir()
    (flyway / "V1__a.sql").write_text("CREATE TABLE a (id int, b int);\n")
    (flyway / "V2__b.sql").write_text(alter)
    (flyway / "V3__c.sql").write_text("CREATE INDEX CONCURRENTLY a_id ON a (id);\n")
    (tmp_path / "diesel.toml").write_text("")
    diesel = tmp_path / "migrations"
    for version, text in (("2024-01-01-000000_a", "CREATE TABLE a (id int, b int);\n"),
                          ("2024-01-02-000000_b", alter),
                          ("2024-01-03-000000_c", "CREATE INDEX CONCURRENTLY a_id ON a (id);\n"),
                          ("2024-01-04-000000_d", several)):
        (diesel / version).mkdir(parents=True)
        (diesel / version / "up.sql").write_text(text)
        (diesel / version / "down.sql").write_text("SELECT 1;\n")
    for version in ("2024-01-03-000000_c", "2024-01-04-000000_d"):
        (diesel / version / "metadata.toml").write_text("run_in_transaction = false\n")
    dbmate = tmp_path / "db" / "migrations"
    dbmate.mkdir(parents=True)
    (dbmate / "20240101000000_a.sql").write_text(
        "-- migrate:up\nCREATE TABLE a (id int, b int);\n-- migrate:down\n")
    (dbmate / "20240102000000_b.sql").write_text(
        "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY a_id ON a (id);\n")
    (dbmate / "20240103000000_c.sql").write_text(
        "-- migrate:up transaction:false\n" + several + "-- migrate:down\n")
    (dbmate / "20240104000000_d.sql").write_text(  # each up section on its own
        "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY a_b2 ON a (b);\n"
        "-- migrate:down\n-- migrate:up\n" + alter + "-- migrate:down\n")
    crate = tmp_path / "server"
    (crate / "migrations").mkdir(parents=True)
    (crate / "Cargo.toml").write_text('[package]\nname = "x"\n\n[dependencies]\nsqlx = "0.8"\n')
    (crate / "migrations" / "1_a.sql").write_text("CREATE TABLE a (id int, b int);\n")
    (crate / "migrations" / "2_b.sql").write_text(alter)
    (crate / "migrations" / "3_c.sql").write_text(
        "-- no-transaction\nCREATE INDEX CONCURRENTLY a_id ON a (id);\n")
    (crate / "migrations" / "4_d.sql").write_text("-- no-transaction\n" + several)
    settings = Settings(project_root=tmp_path, select=("DBS102", "DBS114"))

    def codes(folder: Path) -> list[tuple[str, int, str]]:
        return sorted((f.location.path, f.location.line, f.code)
                      for f in commands.lint(settings, [folder]).findings
                      if f.location is not None)

    assert codes(flyway) == [("flyway/V2__b.sql", 2, "DBS114")]
    assert codes(diesel) == [("migrations/2024-01-02-000000_b/up.sql", 2, "DBS114"),
                             ("migrations/2024-01-04-000000_d/up.sql", 2, "DBS102")]
    assert codes(dbmate) == [("db/migrations/20240103000000_c.sql", 3, "DBS102"),
                             ("db/migrations/20240104000000_d.sql", 6, "DBS114")]
    assert codes(crate / "migrations") == [("server/migrations/2_b.sql", 2, "DBS114"),
                                           ("server/migrations/4_d.sql", 3, "DBS102")]


@pytest.mark.parametrize(("source", "flagged"), [
    ('    sqlx::migrate!("migrations/postgresql")\n', True),
    ('    sqlx::migrate!("migrations/postgresql_deferred")\n', False),
    ('    Migrator::new(std::path::Path::new("migrations/postgresql"))\n', True),
], ids=["named", "another-folder", "migrator-new"])
def test_a_folder_a_crate_names_to_sqlx_is_linted_in_sqlx_transactions(
        tmp_path: Path, source: str, flagged: bool) -> None:
    # quickwit's metastore crate runs `migrations/postgresql` with `sqlx::migrate!(...)`
    # (a path relative to the crate's folder): sqlx wraps each file in a transaction, so
    # a lone CONCURRENTLY build fails (DBS102; 25001, tests/migrate/test_sqlfiles.py). The
    # folder read as golang-migrate's, which sends a lone statement on its own: no finding.
    crate = tmp_path / "quickwit-metastore"
    (crate / "src" / "metastore").mkdir(parents=True)
    (crate / "Cargo.toml").write_text('[package]\nname = "x"\n\n[dependencies]\n'
                                      'sqlx = { workspace = true }\n')
    (crate / "src" / "metastore" / "migrator.rs").write_text(
        "fn get_migrations() -> Migrator {\n" + source + "}\n")
    folder = crate / "migrations" / "postgresql"
    folder.mkdir(parents=True)
    (folder / "1_a.up.sql").write_text("CREATE TABLE a (id int, b int);\n")
    (folder / "1_a.down.sql").write_text("DROP TABLE a;\n")
    (folder / "2_ix.up.sql").write_text("CREATE INDEX CONCURRENTLY a_id ON a (id);\n")
    (folder / "2_ix.down.sql").write_text("DROP INDEX a_id;\n")
    found = commands.lint(Settings(project_root=tmp_path, select=("DBS102",)), [folder])
    assert [(f.location.path, f.code) for f in found.findings if f.location] == (
        [("quickwit-metastore/migrations/postgresql/2_ix.up.sql", "DBS102")] if flagged else [])


@pytest.mark.parametrize("embedded", ['embed_migrations!("migrations")', "embed_migrations!()"])
def test_a_folder_a_crate_embeds_with_refinery_is_linted_as_refinery_runs_it(
        tmp_path: Path, embedded: str) -> None:
    # refinery wraps each migration in a transaction it has no way out of, so a
    # CONCURRENTLY build there fails (DBS102; 25001, tests/migrate/test_sqlfiles.py); it
    # runs `U<n>__` files too (Flyway's undo prefix) and never `R__` ones. Read as a Flyway
    # folder: the build passed, the U file went unlinted, the R file's DROP was DBS201.
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "x"\n\n[dependencies]\n'
                                         'refinery = "0.9"\n')
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.rs").write_text(
        "mod embedded {\n    use refinery::embed_migrations;\n    " + embedded + ";\n}\n")
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "V1__a.sql").write_text("CREATE TABLE a (id int, b int);\n")
    (folder / "V2__ix.sql").write_text("CREATE INDEX CONCURRENTLY a_id ON a (id);\n")
    (folder / "U3__b.sql").write_text("CREATE INDEX CONCURRENTLY a_b ON a (b);\n")
    (folder / "R__drop.sql").write_text("DROP TABLE a;\n")
    (folder / "V4__backfill.rs").write_text("pub fn migration() -> String { String::new() }\n")
    found = commands.lint(Settings(project_root=tmp_path, select=("DBS102", "DBS201")),
                          [folder])
    assert [(f.location.path, f.code) for f in found.findings if f.location] == [
        ("migrations/V2__ix.sql", "DBS102"), ("migrations/U3__b.sql", "DBS102")]
    assert unrun_files(folder) == [folder / "R__drop.sql"]
    # its Rust migration is code: not linted, and said so
    assert found.summary["code_migration_files"] == 1
    assert "migrations/V4__backfill.rs is refinery's Rust migration: code, which dbsafe does " \
        "not read; it was not linted" in found.summary["lines"]


@pytest.mark.parametrize(("code", "folder"), [
    ("embedded::migrations::runner()", "migrations"),  # with `embed_migrations!()` below
    ('refinery::load_sql_migrations("db/sql")', "db/sql"),
    ('refinery::load_sql_migrations(Path::new("./db/sql"))', "db/sql"),
])
def test_a_crate_s_refinery_folder_is_found_without_being_named(
        tmp_path: Path, code: str, folder: str) -> None:
    # `dbsafe lint` with no path and no `sql-migrations` found no refinery folder (exit 2:
    # "alembic config not found"), where a sqlx or diesel crate's folder is found. A crate
    # whose refinery is SQLite's is not taken.
    (tmp_path / "Cargo.toml").write_text(
        '[package]\nname = "x"\n\n[dependencies]\n'
        'refinery = { version = "0.9", features = ["tokio-postgres"] }\n')
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.rs").write_text(
        "mod embedded {\n    use refinery::embed_migrations;\n    embed_migrations!();\n}\n"
        if folder == "migrations" else f"fn main() {{\n    let m = {code};\n}}\n")
    (tmp_path / folder).mkdir(parents=True)
    (tmp_path / folder / "V1__a.sql").write_text("CREATE TABLE a (id int);\n")
    (tmp_path / folder / "V2__ix.sql").write_text("CREATE INDEX CONCURRENTLY a_id ON a (id);\n")
    (tmp_path / "other").mkdir()  # a sibling crate: refinery for SQLite
    (tmp_path / "other" / "Cargo.toml").write_text(
        '[package]\nname = "y"\n\n[dependencies]\n'
        'refinery = { version = "0.9", features = ["rusqlite"] }\n')
    (tmp_path / "other" / "src").mkdir()
    (tmp_path / "other" / "src" / "main.rs").write_text("embed_migrations!();\n")
    (tmp_path / "other" / "migrations").mkdir()
    (tmp_path / "other" / "migrations" / "V1__a.sql").write_text(
        "CREATE INDEX CONCURRENTLY a_id ON a (id);\n")
    found = commands.lint(load_settings(tmp_path, {"select": ["DBS102"]}, environ={}))
    # (a refinery migration runs in a transaction: DBS102)
    assert [(f.location.path, f.code) for f in found.findings if f.location] == [
        (f"{folder}/V2__ix.sql", "DBS102")]


def test_a_diesel_folder_of_a_crate_also_depending_on_refinery_stays_diesel_s(
        tmp_path: Path) -> None:
    # diesel_migrations' macro is named `embed_migrations!` too: the folder of a crate that
    # depends on both and embeds it beside its diesel.toml is diesel's (each `up.sql` in a
    # transaction: DBS114), not refinery's, which would run none of its files.
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "x"\n\n[dependencies]\n'
                                         'diesel_migrations = "2"\nrefinery = "0.9"\n')
    (tmp_path / "diesel.toml").write_text("[print_schema]\nfile = \"src/schema.rs\"\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.rs").write_text(
        'pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");\n')
    for version, text in (("2024-01-01-000000_a", "CREATE TABLE a (id int, b int);\n"),
                          ("2024-01-02-000000_b", "ALTER TABLE a ALTER COLUMN b SET DEFAULT 0;\n"
                           "UPDATE a SET b = 0 WHERE b IS NULL;\n")):
        (tmp_path / "migrations" / version).mkdir(parents=True)
        (tmp_path / "migrations" / version / "up.sql").write_text(text)
        (tmp_path / "migrations" / version / "down.sql").write_text("SELECT 1;\n")
    found = commands.lint(Settings(project_root=tmp_path, select=("DBS114",)),
                          [tmp_path / "migrations"])
    assert [(f.location.path, f.code) for f in found.findings if f.location] == [
        ("migrations/2024-01-02-000000_b/up.sql", "DBS114")]


@pytest.mark.parametrize(("crate", "macro", "folder"), [
    ("store/postgres", 'embed_migrations!("./migrations")', "store/postgres/migrations"),
    ("store/postgres", "embed_migrations!()", "store/postgres/migrations"),
    ("db", 'embed_migrations!("src/migrations")', "db/src/migrations"),
])
def test_a_folder_a_crate_embeds_with_diesel_migrations_is_diesel_s(
        tmp_path: Path, crate: str, macro: str, folder: str) -> None:
    # graph-node's `store/postgres` embeds `./migrations` with diesel_migrations' macro and
    # has neither a diesel.toml nor diesel setup's first migration: read as no runner's, each
    # statement ran on its own (DBS114 missed: diesel runs each up.sql in a transaction), and
    # `dbsafe lint` alone found no folder at all.
    (tmp_path / crate / "src").mkdir(parents=True)
    (tmp_path / crate / "Cargo.toml").write_text(
        '[package]\nname = "store"\n\n[dependencies]\ndiesel_migrations = { workspace = true }\n')
    (tmp_path / crate / "src" / "lib.rs").write_text(
        f"pub const MIGRATIONS: EmbeddedMigrations = {macro};\n")
    for version, text in (("2024-01-01-000000_a", "CREATE TABLE a (id int, b int);\n"),
                          ("2024-01-02-000000_b", "ALTER TABLE a ALTER COLUMN b SET DEFAULT 0;\n"
                           "UPDATE a SET b = 0 WHERE b IS NULL;\n")):
        (tmp_path / folder / version).mkdir(parents=True)
        (tmp_path / folder / version / "up.sql").write_text(text)
        (tmp_path / folder / version / "down.sql").write_text("SELECT 1;\n")
    settings = load_settings(tmp_path, {"select": ["DBS114"]}, environ={})
    for paths in ([tmp_path / folder], []):
        found = commands.lint(settings, paths)
        assert [(f.location.path, f.code) for f in found.findings if f.location] == [
            (f"{folder}/2024-01-02-000000_b/up.sql", "DBS114")]


def test_a_yoyo_python_migration_of_sql_steps_is_linted_at_its_strings(tmp_path: Path) -> None:
    # yoyo runs `step("...")` strings in the migration's transaction (DBS114: the UPDATE
    # while SET DEFAULT holds ACCESS EXCLUSIVE), each step one query; `__transactional__ =
    # False` runs each step in autocommit: a lone CONCURRENTLY build is no DBS102 there, one
    # sent in the same query as another statement is (PostgreSQL: 25001). Each finding is at
    # its string in the .py file. A step that is a function is code: said, never a pass.
    (tmp_path / "yoyo.ini").write_text("[DEFAULT]\nsources = migrations\n")
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_a.py").write_text(
        'from yoyo import step\nstep("CREATE TABLE a (id int, b int)", "DROP TABLE a")\n')
    (folder / "0002_b.py").write_text(
        'from yoyo import step\n__depends__ = {"0001_a"}\n\nsteps = [\n    step("""\n'
        '        ALTER TABLE a ALTER COLUMN b SET DEFAULT 0;\n'
        '        UPDATE a SET b = 0 WHERE b IS NULL\n    """),\n]\n')
    (folder / "0003_c.py").write_text(
        'from yoyo import step\n__depends__ = {"0002_b"}\n__transactional__ = False\n'
        'step("CREATE INDEX CONCURRENTLY a_id ON a (id)")\n'
        'step("SET lock_timeout = \'1s\'; CREATE INDEX CONCURRENTLY a_b ON a (b)")\n')
    settings = Settings(project_root=tmp_path, select=("DBS102", "DBS114"))
    report = commands.lint(settings, [folder])
    assert sorted((f.location.path, f.location.line, f.location.column, f.code)
                  for f in report.findings if f.location is not None) == [
        ("migrations/0002_b.py", 7, 9, "DBS114"), ("migrations/0003_c.py", 5, 32, "DBS102")]
    (folder / "0004_d.py").write_text(
        'from yoyo import step\n__depends__ = {"0003_c"}\n'
        'def apply(conn):\n    conn.cursor().execute("DROP TABLE a")\nsteps = [step(apply)]\n')
    report = commands.lint(settings, [folder])
    assert len(report.findings) == 2 and report.summary["code_migration_files"] == 1
    assert "migrations/0004_d.py is yoyo's Python migration: code, which dbsafe does not " \
        "read; it was not linted" in report.summary["lines"]
    assert "1 migration in code (not linted)" in summary_line(report)


def test_a_supabase_folder_lints_each_file_as_one_transaction(tmp_path: Path) -> None:
    # supabase's CLI runs each file in a transaction, a file of one statement too: the
    # lone CONCURRENTLY index fails (25001, tests/migrate/test_sqlfiles.py), and the
    # UPDATE runs while SET DEFAULT holds ACCESS EXCLUSIVE on `a`. Named alone, the same.
    folder = tmp_path / "supabase" / "migrations"
    folder.mkdir(parents=True)
    (folder / "20240101000000_a.sql").write_text("CREATE TABLE a (id int, b int);\n")
    (folder / "20240102000000_b.sql").write_text("CREATE INDEX CONCURRENTLY a_id ON a (id);\n")
    (folder / "20240103000000_c.sql").write_text(
        "ALTER TABLE a ALTER COLUMN b SET DEFAULT 0;\nUPDATE a SET b = 0 WHERE b IS NULL;\n")
    settings = Settings(project_root=tmp_path, select=("DBS102", "DBS114"))
    assert _codes(commands.lint(settings, [folder])) == [
        ("20240102000000_b.sql", 1, "DBS102"), ("20240103000000_c.sql", 2, "DBS114")]
    assert _codes(commands.lint(settings, [folder / "20240102000000_b.sql"])) == [
        ("20240102000000_b.sql", 1, "DBS102")]


def test_a_migration_whose_bytes_are_not_utf8_is_linted(tmp_path: Path) -> None:
    # Its statements are read with U+FFFD for the bytes that are not UTF-8 (edupro's broken
    # emoji), rather than the folder being refused ("cannot read migration", exit 2).
    folder = tmp_path / "supabase" / "migrations"
    folder.mkdir(parents=True)
    (folder / "20240101000000_a.sql").write_text("CREATE TABLE a (id int);\n")
    (folder / "20240102000000_b.sql").write_bytes(
        b"-- \xe9t\xe9 (Latin-1)\nCREATE INDEX a_id ON a (id);\n")
    settings = Settings(project_root=tmp_path, select=("DBS101",))
    assert _codes(commands.lint(settings, [folder])) == [("20240102000000_b.sql", 2, "DBS101")]


def _drizzle_folder(root: Path) -> Path:
    # drizzle-kit's `out` folder: the journal names the files drizzle-orm's migrate() runs,
    # in its order, all pending ones in one transaction. `0001_abandoned.sql` is a file
    # drizzle-kit left behind (Dokploy's `0130_abandoned_dagger.sql`): never run.
    folder = root / "db" / "migrate"
    (folder / "meta").mkdir(parents=True)
    (folder / "meta" / "_journal.json").write_text(
        '{"version": "7", "dialect": "postgresql", "entries": ['
        '{"idx": 0, "tag": "0000_init"}, {"idx": 1, "tag": "0001_perpetual"}]}\n')
    (folder / "0000_init.sql").write_text("CREATE TABLE a (id int, b text);\n")
    (folder / "0001_abandoned.sql").write_text("ALTER TABLE a DROP COLUMN b;\n")
    (folder / "0001_perpetual.sql").write_text(
        "ALTER TABLE a ADD COLUMN c int;--> statement-breakpoint\n"
        "CREATE INDEX CONCURRENTLY a_c ON a (c);\n")
    return folder


def test_a_drizzle_folder_lints_what_its_journal_lists_each_in_a_transaction(
        tmp_path: Path) -> None:
    folder = _drizzle_folder(tmp_path)
    report = commands.lint(Settings(project_root=tmp_path, select=("DBS102", "DBS202")),
                           [folder])
    assert _codes(report) == [("0001_perpetual.sql", 2, "DBS102")]
    assert [m.path for m in load_migrations(Settings(project_root=tmp_path), [folder])] == [
        "db/migrate/0000_init.sql", "db/migrate/0001_perpetual.sql"]


def test_a_drizzle_file_named_alone_runs_in_a_transaction(tmp_path: Path) -> None:
    folder = _drizzle_folder(tmp_path)
    report = commands.lint(Settings(project_root=tmp_path, select=("DBS102",)),
                           [folder / "0001_perpetual.sql"])
    assert _codes(report) == [("0001_perpetual.sql", 2, "DBS102")]


def test_files_a_drizzle_journal_does_not_name_are_not_read_as_run_in_a_transaction(
        tmp_path: Path, postgresql: psycopg.Connection) -> None:
    # midday's journal names only `0000_silly_sage.sql`, never committed; its team applies
    # the `0001_x.sql` ... files beside it by hand, each statement on its own, so nothing
    # says they run in a transaction: each CREATE INDEX CONCURRENTLY was a false DBS102.
    folder = tmp_path / "packages" / "db" / "migrations"
    (folder / "meta").mkdir(parents=True)
    (folder / "meta" / "_journal.json").write_text(
        '{"version": "7", "dialect": "postgresql", "entries": ['
        '{"idx": 0, "tag": "0000_silly_sage"}]}\n')
    (folder / "0001_add_invoices.sql").write_text("CREATE TABLE invoices (team_id int);\n")
    index = "CREATE INDEX CONCURRENTLY IF NOT EXISTS invoices_team_idx ON invoices (team_id)"
    (folder / "0002_add_invoice_indexes.sql").write_text(
        f"{index};\nCREATE INDEX CONCURRENTLY invoices_team2_idx ON invoices (team_id);\n")
    for paths in ([folder], [folder / "0002_add_invoice_indexes.sql"]):
        report = commands.lint(Settings(project_root=tmp_path, select=("DBS102",)),
                               paths)
        assert _codes(report) == []
    assert [m.path for m in load_migrations(Settings(project_root=tmp_path), [folder])] == [
        "packages/db/migrations/0001_add_invoices.sql",
        "packages/db/migrations/0002_add_invoice_indexes.sql"]
    # Run as psql -f runs them, statement by statement, PostgreSQL builds both indexes.
    postgresql.autocommit = True
    for statement in ("CREATE TABLE invoices (team_id int)", index,
                      "CREATE INDEX CONCURRENTLY invoices_team2_idx ON invoices (team_id)"):
        postgresql.execute(statement)
    assert postgresql.execute("SELECT count(*) FROM pg_index WHERE indisvalid AND indrelid = "
                              "'invoices'::regclass").fetchone() == (2,)


def test_pop_migrations_are_read_with_their_connection_options_filled_in(
        tmp_path: Path, postgresql: psycopg.Connection) -> None:
    # supabase/auth's migrations name their schema `"{{ index .Options "Namespace" }}"`,
    # which pop's Go template fills in before PostgreSQL sees it: 168 of its 205 statements
    # were false DBS001 findings, and not linted.
    folder = tmp_path / "migrations"
    folder.mkdir()
    namespace = '"{{ index .Options "Namespace" }}"'
    create = (f"CREATE TABLE IF NOT EXISTS {namespace}.users (id uuid, email text);\n"
              f"CREATE TABLE {{{{index .Options \"Namespace\" }}}}.sessions (id uuid);\n")
    index = f"CREATE INDEX users_email_idx ON {namespace}.users (email);\n"
    (folder / "00_init_auth_schema.up.sql").write_text(create)
    (folder / "20220614074223_add_ip_address.postgres.up.sql").write_text(
        f"ALTER TABLE {namespace}.sessions ADD COLUMN ip inet;\n")
    (folder / "20221011041400_add_indexes.up.sql").write_text(index)
    report = commands.lint(Settings(project_root=tmp_path, select=("DBS001", "DBS101")),
                           [folder])
    assert _codes(report) == [("20221011041400_add_indexes.up.sql", 1, "DBS101")]
    # As written, PostgreSQL refuses them (42601); as pop sends them, with the namespace
    # supabase/auth defaults to, they run.
    with pytest.raises(psycopg.errors.SyntaxError):
        postgresql.execute(index)
    postgresql.rollback()
    postgresql.execute("CREATE SCHEMA auth")
    for statement in (create + index).replace(namespace, '"auth"').replace(
            '{{index .Options "Namespace" }}', "auth").splitlines():
        postgresql.execute(statement)
    assert postgresql.execute("SELECT count(*) FROM pg_indexes WHERE schemaname = 'auth' "
                              "AND indexname = 'users_email_idx'").fetchone() == (1,)


def test_a_graphile_migrate_folder_is_linted_as_graphile_migrate_runs_it(tmp_path: Path) -> None:
    # Each committed migration runs in a transaction (the UPDATE runs while SET DEFAULT
    # holds ACCESS EXCLUSIVE on `a`), but not one whose body starts with
    # `--! no-transaction`, unless it holds several statements (one query); the folder's
    # afterReset and fixture files are not migrations.
    head = "--! Previous: -\n--! Hash: sha1:0\n\n"
    folder = tmp_path / "migrations"
    (folder / "committed").mkdir(parents=True)
    (folder / "fixtures").mkdir()
    (folder / "committed" / "000001.sql").write_text(head + "CREATE TABLE a (id int, b int);\n")
    (folder / "committed" / "000002.sql").write_text(
        head + "ALTER TABLE a ALTER COLUMN b SET DEFAULT 0;\nUPDATE a SET b = 0 WHERE b IS NULL;\n")
    (folder / "committed" / "000003.sql").write_text(
        head + "--! no-transaction\nCREATE INDEX CONCURRENTLY a_id ON a (id);\n")
    (folder / "committed" / "000004.sql").write_text(
        head + "--! no-transaction\nSET lock_timeout = '1s';\nCREATE INDEX CONCURRENTLY a_b ON a (b);\n")
    (folder / "afterReset.sql").write_text("GRANT ALL ON SCHEMA public TO :DATABASE_OWNER;\n")
    (folder / "fixtures" / "f.sql").write_text("CREATE INDEX a_b2 ON a (b);\n")
    # Its placeholders, built in and the .gmrc's, are filled in before the SQL runs.
    (tmp_path / ".gmrc").write_text('{\n  // JSON5\n  "placeholders": {\n'
                                    '    ":DATABASE_VISITOR": "!ENV",\n  },\n}\n')
    (folder / "committed" / "000005.sql").write_text(
        head + "GRANT SELECT ON a TO :DATABASE_VISITOR;\nALTER TABLE a OWNER TO :DATABASE_OWNER;\n"
        "GRANT CONNECT ON DATABASE :DATABASE_NAME TO :DATABASE_VISITOR;\n")
    settings = Settings(project_root=tmp_path, select=("DBS001", "DBS101", "DBS102", "DBS114"))

    findings = commands.lint(settings, [folder]).findings
    assert sorted((f.location.path, f.location.line, f.code)
                  for f in findings if f.location is not None) == [
        ("migrations/committed/000002.sql", 5, "DBS114"),
        ("migrations/committed/000004.sql", 6, "DBS102")]


def test_an_atlas_directory_is_linted_as_atlas_migrate_apply_runs_it(tmp_path: Path) -> None:
    # Each file in a transaction (the UPDATE runs while SET DEFAULT holds ACCESS EXCLUSIVE on
    # `a`) unless its directives say `atlas:txmode none`.
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "atlas.sum").write_text("h1:x=\n")
    (folder / "20240101000000_a.sql").write_text("CREATE TABLE a (id int, b int);\n")
    (folder / "20240102000000_b.sql").write_text(
        "ALTER TABLE a ALTER COLUMN b SET DEFAULT 0;\nUPDATE a SET b = 0 WHERE b IS NULL;\n")
    (folder / "20240103000000_c.sql").write_text(
        "-- atlas:txmode none\n\nDROP INDEX IF EXISTS a_id;\nCREATE INDEX CONCURRENTLY a_id ON a (id);\n")
    settings = Settings(project_root=tmp_path, select=("DBS102", "DBS114"))

    findings = commands.lint(settings, [folder]).findings
    assert sorted((f.location.path, f.location.line, f.code)
                  for f in findings if f.location is not None) == [
        ("migrations/20240102000000_b.sql", 2, "DBS114")]


def test_a_hasura_migration_is_linted_in_its_transaction(tmp_path: Path) -> None:
    # `hasura migrate apply` runs the pending migrations in one transaction: the UPDATE
    # runs while SET DEFAULT holds ACCESS EXCLUSIVE on `a`, and CONCURRENTLY fails.
    project = tmp_path / "hasura"
    (project / "metadata").mkdir(parents=True)
    (project / "config.yaml").write_text("version: 2\nendpoint: http://localhost:8080\n")
    folder = project / "migrations"
    for version, text in (("1600000000000_a", "CREATE TABLE a (id int, b int);\n"),
                          ("1600000000001_b", "ALTER TABLE a ALTER COLUMN b SET DEFAULT 0;\n"
                                              "UPDATE a SET b = 0 WHERE b IS NULL;\n"),
                          ("1600000000002_c", "CREATE INDEX CONCURRENTLY a_id ON a (id);\n")):
        (folder / version).mkdir(parents=True)
        (folder / version / "up.sql").write_text(text)
    settings = Settings(project_root=tmp_path, select=("DBS102", "DBS114"))

    findings = commands.lint(settings, [folder]).findings
    assert sorted((f.location.path, f.location.line, f.code)
                  for f in findings if f.location is not None) == [
        ("hasura/migrations/1600000000001_b/up.sql", 2, "DBS114"),
        ("hasura/migrations/1600000000002_c/up.sql", 1, "DBS102")]


def test_a_node_pg_migrate_sql_migration_is_linted_up_section_only_in_its_transaction(
        tmp_path: Path) -> None:
    # The down section (`-- Down Migration`) never runs on upgrade: its DROP COLUMN is no
    # DBS202. The up section runs in a transaction: the UPDATE runs while SET DEFAULT holds
    # ACCESS EXCLUSIVE on `a`.
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "1700000000000_a.sql").write_text(
        "-- Up Migration\nCREATE TABLE a (id int, b int);\n-- Down Migration\nDROP TABLE a;\n")
    (folder / "1700000000001_b.sql").write_text(
        "-- Up Migration\nALTER TABLE a ALTER COLUMN b SET DEFAULT 0;\n"
        "UPDATE a SET b = 0 WHERE b IS NULL;\n\n-- Down Migration\nALTER TABLE a DROP COLUMN b;\n")
    settings = Settings(project_root=tmp_path, select=("DBS114", "DBS201", "DBS202"))

    findings = commands.lint(settings, [folder]).findings
    assert sorted((f.location.path, f.location.line, f.code)
                  for f in findings if f.location is not None) == [
        ("migrations/1700000000001_b.sql", 3, "DBS114")]


def test_a_liquibase_formatted_sql_file_is_linted_changeset_by_changeset(tmp_path: Path) -> None:
    # Each changeset in its own transaction: the UPDATE runs while SET DEFAULT holds ACCESS
    # EXCLUSIVE on `a`, but the next changeset's index build comes after that COMMIT;
    # runInTransaction:false runs CONCURRENTLY; a MySQL changeset is not linted (DBS001).
    folder = tmp_path / "changelog"
    folder.mkdir()
    (folder / "000.sql").write_text(
        "--liquibase formatted sql\n--changeset ann:0\nCREATE TABLE a (id int, b int);\n")
    (folder / "001.sql").write_text(
        "--liquibase formatted sql\n--changeset ann:1\nCREATE TABLE c (id int);\n"
        "--changeset ann:2\nALTER TABLE a ALTER COLUMN b SET DEFAULT 0;\n"
        "UPDATE a SET b = 0 WHERE b IS NULL;\n"
        "--changeset ann:3 runInTransaction:false\nCREATE INDEX CONCURRENTLY a_id ON a (id);\n"
        "--changeset ann:4 dbms:mysql\nCREATE TABLE m (id INT AUTO_INCREMENT PRIMARY KEY);\n"
        "--changeset ann:5\nALTER TABLE a ALTER COLUMN b SET DEFAULT 1;\n")
    settings = Settings(project_root=tmp_path, select=("DBS001", "DBS102", "DBS114"))

    findings = commands.lint(settings, [folder]).findings
    assert sorted((f.location.path, f.location.line, f.code)
                  for f in findings if f.location is not None) == [
        ("changelog/001.sql", 6, "DBS114")]


def test_a_nul_byte_in_a_sql_migration_is_dbs001_not_a_clean_pass(
        tmp_path: Path, database_url: str) -> None:
    # A damaged file: the parser (C) read up to the NUL, saw nothing, and the NOT NULL column
    # after it went unchecked. libpq sends a statement only up to it, as PostgreSQL shows.
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int)\0; ALTER TABLE t ADD COLUMN b int")
        assert conn.execute("SELECT count(*) FROM pg_attribute WHERE attrelid = 't'::regclass"
                            " AND attname = 'b'").fetchone() == (0,)
    (tmp_path / "001_init.sql").write_text("CREATE TABLE t (id int);\n")
    (tmp_path / "002_b.sql").write_bytes(
        b"SELECT 1;\nx\x00\x00 garbage\nALTER TABLE t ADD COLUMN b int NOT NULL;\n")
    report = commands.lint(Settings(project_root=tmp_path), [tmp_path])
    [finding] = [f for f in report.findings if f.code == "DBS001"]
    assert (finding.location.path, finding.location.line, finding.location.column) == (
        "002_b.sql", 2, 2)
    assert "NUL byte" in finding.message and "never gets this statement whole" in finding.message


@pytest.mark.parametrize(("pg_settings", "codes"), [
    ("", ["DBS108", "DBS115"]),
    ('pgSettings: {lock_timeout: "5s", statement_timeout: "15min"},', ["DBS108"]),
    ('pgSettings: {lock_timeout: "5s", statement_timeout: 0},', ["DBS108", "DBS115"])])
def test_a_graphile_migrate_folder_s_pg_settings_hold_for_its_migrations(
        tmp_path: Path, pg_settings: str, codes: list[str]) -> None:
    # graphile-migrate sets the .gmrc's pgSettings in the session before any file runs: its
    # timeouts bound every migration's lock waits (0 turns one off).
    (tmp_path / ".gmrc").write_text(f"{{ {pg_settings} }}\n")
    committed = tmp_path / "migrations" / "committed"
    committed.mkdir(parents=True)
    (committed / "000001.sql").write_text(
        "--! Previous: -\n--! Hash: sha1:0\n\nCREATE TABLE users (id int);\n")
    (committed / "000002.sql").write_text(
        "--! Previous: sha1:0\n--! Hash: sha1:1\n\nALTER TABLE users ADD COLUMN b int NOT NULL;\n")
    report = commands.lint(Settings(project_root=tmp_path), [tmp_path / "migrations"])
    assert sorted(f.code for f in report.findings) == codes


def test_a_sqitch_project_is_linted_as_sqitch_deploy_runs_it(tmp_path: Path) -> None:
    # The plan's deploy scripts, in its order, each as psql runs it: the UPDATE runs while
    # SET DEFAULT holds ACCESS EXCLUSIVE in the script's own transaction, CONCURRENTLY in a
    # script that opens none is outside one, a `\set` variable is sent as a literal. The
    # revert script (its DROP TABLE) and the verify script never run on deploy.
    planned = "2024-01-01T00:00:00Z Me <me@example.com>"
    scripts = {
        "sqitch.plan": f"%syntax-version=1.0.0\n%project=p\n\nusers {planned}\n"
                       f"backfill [users] {planned}\nindex [users] {planned}\n"
                       f"comment [users] {planned} # a note\n",
        "deploy/users.sql": "BEGIN;\nCREATE TABLE users (id int, b int);\nCOMMIT;\n",
        "deploy/backfill.sql": "BEGIN;\nALTER TABLE users ALTER COLUMN b SET DEFAULT 0;\n"
                               "UPDATE users SET b = 0 WHERE b IS NULL;\nCOMMIT;\n",
        "deploy/index.sql": "CREATE INDEX CONCURRENTLY users_b ON users (b);\n",
        "deploy/comment.sql": "\\set note 'ours'\nCOMMENT ON TABLE users IS :'note';\n",
        "revert/users.sql": "BEGIN;\nDROP TABLE users;\nCOMMIT;\n",
        "verify/users.sql": "SELECT id, b FROM users WHERE false;\n",
    }
    for name, text in scripts.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    settings = Settings(project_root=tmp_path,
                        select=("DBS001", "DBS101", "DBS102", "DBS114", "DBS201"))

    report = commands.lint(settings, [tmp_path])
    assert sorted((f.location.path, f.location.line, f.code)
                  for f in report.findings if f.location is not None) == [
        ("deploy/backfill.sql", 3, "DBS114")]
    assert [m.path for m in load_migrations(settings, [tmp_path])] == [
        "deploy/users.sql", "deploy/backfill.sql", "deploy/index.sql", "deploy/comment.sql"]


def test_flyway_placeholders_are_filled_in_before_a_migration_is_linted(
        tmp_path: Path) -> None:
    # Flyway sends `${t}` as flyway.toml's value: V1's index is on the table V1 made (no
    # lock finding), V2's on an existing one (DBS101). As written, each `${...}` was DBS001
    # (not parsed) and nothing was checked.
    (tmp_path / "flyway.toml").write_text('[flyway]\nlocations = ["filesystem:sql"]\n'
                                          '[flyway.placeholders]\nt = "events"\n')
    folder = tmp_path / "sql"
    folder.mkdir()
    (folder / "V1__t.sql").write_text("CREATE TABLE ${T} (id int, at timestamptz);\n"
                                      "CREATE INDEX ${t}_id ON ${t} (id);\n")
    (folder / "V2__at.sql").write_text("CREATE INDEX ${t}_at ON ${flyway:defaultSchema}.${t} "
                                       "(at);\n")
    settings = Settings(project_root=tmp_path, ignore=("DBS115",))
    assert _codes(commands.lint(settings, [folder])) == [("V2__at.sql", 1, "DBS101")]
    [finding] = commands.lint(settings, [folder]).findings
    assert "`public.events`" in finding.message


def test_a_yoyo_python_migration_named_as_flyway_names_files_is_not_read_as_flyway_s(
        tmp_path: Path) -> None:
    # jellynote-backend names its yoyo Python migrations V1__x.py; a Flyway configuration
    # beside it says nothing about them: their `${...}` is Python's, not a placeholder.
    (tmp_path / "yoyo.ini").write_text("[DEFAULT]\nsources = migrations\n")
    (tmp_path / "flyway.conf").write_text("flyway.placeholders.owner=app\n")
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "V1__users.py").write_text(
        '# table owned by ${nobody}\nfrom yoyo import step\n'
        'step("CREATE TABLE users (id int)", "DROP TABLE users")\n')
    report = commands.lint(Settings(project_root=tmp_path, select=("DBS001",)), [folder])
    assert report.findings == () and report.summary["migrations"] == 1


def test_concurrently_in_a_node_pg_migrate_sql_migration_is_in_its_transaction(
        tmp_path: Path) -> None:
    # node-pg-migrate 9.0.0 has no `-- no transaction` directive for a SQL migration: it ran
    # this CREATE INDEX CONCURRENTLY in its transaction and failed (25001, the run rolled
    # back). It was not flagged.
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "1700000000000_a.sql").write_text(
        "-- Up Migration\nCREATE TABLE a (id int);\n-- Down Migration\nDROP TABLE a;\n")
    (folder / "1700000000001_b.sql").write_text(
        "-- no transaction\n-- Up Migration\nCREATE INDEX CONCURRENTLY a_id ON a (id);\n"
        "-- Down Migration\nDROP INDEX CONCURRENTLY a_id;\n")
    settings = Settings(project_root=tmp_path, select=("DBS102",))

    findings = commands.lint(settings, [folder]).findings
    assert [(f.location.path, f.location.line, f.code)
            for f in findings if f.location is not None] == [
        ("migrations/1700000000001_b.sql", 3, "DBS102")]


def test_diesel_s_postgresql_folder_beside_other_databases_is_linted_as_diesel_runs_it(
        tmp_path: Path) -> None:
    # vaultwarden keeps `migrations/mysql`, `migrations/postgresql` and `migrations/sqlite`
    # beside its diesel.toml and embeds one (`embed_migrations!("migrations/postgresql")`),
    # which diesel runs as any migrations folder, each `up.sql` in a transaction: read as a
    # plain folder, its files ran statement by statement (DBS114 and DBS125 missed), and
    # `dbsafe lint` alone linted the three databases' files together (MySQL's backticks).
    (tmp_path / "diesel.toml").write_text("[print_schema]\nfile = \"src/schema.rs\"\n")
    for database, create in (("mysql", "CREATE TABLE `a` (id int, b int);\n"),
                             ("postgresql", "CREATE TABLE a (id int, b int);\n"),
                             ("sqlite", "CREATE TABLE a (id INTEGER, b INTEGER);\n")):
        for version, text in (("2024-01-01-000000_a", create),
                              ("2024-01-02-000000_b", "ALTER TABLE a ALTER COLUMN b SET DEFAULT 0;\n"
                               "UPDATE a SET b = 0 WHERE b IS NULL;\n")):
            folder = tmp_path / "migrations" / database / version
            folder.mkdir(parents=True)
            (folder / "up.sql").write_text(text)
            (folder / "down.sql").write_text("SELECT 1;\n")
    settings = load_settings(tmp_path, {"select": ["DBS001", "DBS114"]}, environ={})
    expected = [("migrations/postgresql/2024-01-02-000000_b/up.sql", 2, "DBS114")]
    for paths in ([tmp_path / "migrations" / "postgresql"], []):
        assert sorted((f.location.path, f.location.line, f.code)
                      for f in commands.lint(settings, paths).findings
                      if f.location is not None) == expected


def test_a_diesel_folder_runs_by_version_without_dashes_and_not_its_loose_files(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # diesel orders its migrations by version, the folder name up to its first `_` without
    # its dashes, compared as strings (migrations_internals' `version_from_string`), and
    # runs the `up.sql` of each folder only, never a file of the migrations folder itself
    # (`migrations_directories`). crates.io mixes `20140924113530_x` folders with
    # `2017-08-31-230457_y` ones and keeps a hand-run `data_oauth_github.sql` beside them:
    # read by name, the dashed ones ran first, and every statement on a table an older
    # folder makes failed on the throwaway server (42P01).
    (tmp_path / "diesel.toml").write_text("")
    folder = tmp_path / "migrations"
    for version, text in (("2017-08-31-230457_logins", "ALTER TABLE users ADD login text;\n"),
                          ("20140924113530_users", "CREATE TABLE users (id int);\n"),
                          ("2026-05-26-120000-0000_index",
                           "CREATE INDEX users_login ON users (login);\n"),
                          ("20170308140537_ids", "ALTER TABLE users ADD gh_id int;\n")):
        (folder / version).mkdir(parents=True)
        (folder / version / "up.sql").write_text(text)
        (folder / version / "down.sql").write_text("SELECT 1;\n")
    (folder / "data.sql").write_text("INSERT INTO accounts SELECT id FROM users;\n")
    settings = Settings(project_root=tmp_path)
    assert [m.path for m in load_migrations(settings, [folder])] == [
        "migrations/20140924113530_users/up.sql", "migrations/20170308140537_ids/up.sql",
        "migrations/2017-08-31-230457_logins/up.sql",
        "migrations/2026-05-26-120000-0000_index/up.sql"]
    assert unrun_files(folder) == [folder / "data.sql"]
    with caplog.at_level("WARNING"):
        report = commands.lint(settings, [folder])
    assert "failed on the throwaway server" not in caplog.text
    assert [(f.code, f.location.path) for f in report.findings
            if f.code == "DBS101" and f.location is not None] == [
        ("DBS101", "migrations/2026-05-26-120000-0000_index/up.sql")]


_GOOSE_ENVSUB = """-- +goose ENVSUB ON
-- +goose Up
CREATE TABLE credential (id varchar(415) PRIMARY KEY, raw $TEXT_TYPE NOT NULL,
                         kind ${KIND_TYPE:-varchar(100)});
CREATE INDEX credential_kind ON credential (kind);
-- +goose Down
DROP TABLE credential;
"""


@pytest.mark.db
def test_goose_envsub_is_filled_in_from_the_environment(
        tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    # nuts-node: `-- +goose ENVSUB ON`, then `raw $TEXT_TYPE`, which goose fills in from its
    # environment before sending. Read as written it was DBS001 (a `$` PostgreSQL's parser
    # rejects), and the table unknown: the index on the table the file creates was DBS101.
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "00001_credential.sql").write_text(_GOOSE_ENVSUB)
    settings = Settings(project_root=tmp_path, select=("DBS001", "DBS101"))
    monkeypatch.setenv("TEXT_TYPE", "TEXT")
    monkeypatch.delenv("KIND_TYPE", raising=False)
    report = commands.lint(settings, [folder])
    assert _codes(report) == []
    (migration,) = load_migrations(settings, [folder])
    with psycopg.connect(database_url, autocommit=True) as conn:  # what goose sends runs
        for statement in migration.statements:
            conn.execute(statement.sql)
        assert conn.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                            "WHERE attrelid = 'credential'::regclass AND attname IN "
                            "('raw', 'kind') ORDER BY attnum").fetchall() == [
            ("text",), ("character varying(100)",)]
    # not set: linted as written, and said
    monkeypatch.delenv("TEXT_TYPE")
    with caplog.at_level("WARNING"):
        report = commands.lint(settings, [folder])
    assert ("00001_credential.sql", 3, "DBS001") in _codes(report)
    assert "goose fills in $TEXT_TYPE from its environment" in caplog.text


def test_a_goose_go_migration_a_provider_is_handed_is_said_not_linted(tmp_path: Path) -> None:
    # nuts-node's 011_credential_prop_value_type.go builds its migration with
    # goose.NewGoMigration (handed to goose.NewProvider's WithGoMigrations), no init(): it
    # was passed over in silence.
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "00001_a.sql").write_text("-- +goose Up\nCREATE TABLE a (v varchar(5));\n")
    (folder / "00002_widen.go").write_text(
        'package migrations\n\nimport "github.com/pressly/goose/v3"\n\n'
        'func Migration2() *goose.Migration {\n\treturn goose.NewGoMigration(2,\n'
        '\t\t&goose.GoFunc{RunTx: up}, &goose.GoFunc{RunTx: down})\n}\n')
    report = commands.lint(Settings(project_root=tmp_path), [folder])
    assert report.summary["code_migration_files"] == 1
    assert "migrations/00002_widen.go is goose's Go migration: code, which dbsafe does not " \
        "read; it was not linted" in report.summary["lines"]


def test_a_go_migration_named_as_the_folders_up_sql_files_is_said_not_linted(
        tmp_path: Path) -> None:
    # concourse's atc/db/migration/migrations: `1516643303_update_auth_providers.up.go`
    # beside `<version>_<name>.up.sql` files, run by its runner in the migration's
    # transaction; the 7 such files were passed over in silence.
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "1_a.up.sql").write_text("CREATE TABLE a (v varchar(5));\n")
    (folder / "2_widen.up.go").write_text(
        "package migrations\n\nfunc (m *migrations) Up_2() error {\n"
        "\t_, err := m.Tx.Exec(\"ALTER TABLE a ALTER v TYPE text\")\n\treturn err\n}\n")
    (folder / "2_widen.down.go").write_text("package migrations\n")
    report = commands.lint(Settings(project_root=tmp_path), [folder])
    assert report.summary["code_migration_files"] == 1
    assert "migrations/2_widen.up.go is a Go migration named as the folder's SQL ones: code, " \
        "which dbsafe does not read; it was not linted" in report.summary["lines"]


def _postgres_migrations_project(tmp_path: Path) -> Path:
    # supabase/storage's layout: `migrations/tenant`, two levels below the package.json that
    # depends on postgres-migrations, files `<id>-<name>.sql` with ids 1, 2, 3 ...
    (tmp_path / "package.json").write_text(
        '{"dependencies": {"postgres-migrations": "^5.3.0"}}\n')
    folder = tmp_path / "migrations" / "tenant"
    folder.mkdir(parents=True)
    files = {
        "0001-a.sql": "CREATE TABLE a (id int, b int);\n",
        "0002-backfill.sql": "ALTER TABLE a ALTER COLUMN b SET DEFAULT 0;\n"
                             "UPDATE a SET b = 0 WHERE b IS NULL;\n",
        "0003-index.sql": "CREATE INDEX CONCURRENTLY a_b ON a (b);\n",
        "0004-index.sql": "-- postgres-migrations disable-transaction\n"
                          "CREATE INDEX CONCURRENTLY a_id ON a (id);\n",
        "0005-two.sql": "-- postgres-migrations disable-transaction\nSELECT 1;\n"
                        "CREATE INDEX CONCURRENTLY a_id_b ON a (id, b);\n",
        "0006-drop.sql": "-- postgres-migrations disable-transaction\n"
                         "DROP INDEX CONCURRENTLY a_id;\n",
        # (id 10 runs after 9, not after 1 as a name's characters order it)
        **{f"000{n}-{n}.sql": f"SELECT {n};\n" for n in (7, 8, 9)},
        "00010-ten.sql": "ALTER TABLE a ADD COLUMN c int NOT NULL DEFAULT 0;\n",
    }
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


@pytest.mark.db
def test_a_postgres_migrations_folder_is_linted_as_it_runs_each_file(
        tmp_path: Path, database_url: str) -> None:
    # postgres-migrations runs each file by id in a transaction of its own (START
    # TRANSACTION, the file as one query, its row, COMMIT) unless the file holds its
    # disable-transaction line; then the file is still one query: several statements are
    # one implicit transaction. Read as a folder of unknown runner, every statement ran on
    # its own: DBS114 and DBS102 were missed.
    folder = _postgres_migrations_project(tmp_path)
    refused = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        for file in sorted(folder.iterdir(), key=lambda p: int(p.name.split("-")[0])):
            sql = file.read_text()
            wrapped = "-- postgres-migrations disable-transaction" not in sql
            try:
                conn.execute("START TRANSACTION") if wrapped else None
                conn.execute(sql)
                conn.execute("COMMIT") if wrapped else None
            except psycopg.Error as exc:
                conn.rollback() if wrapped else None
                refused.append((file.name, exc.sqlstate))
    assert refused == [("0003-index.sql", "25001"), ("0005-two.sql", "25001")]

    settings = Settings(project_root=tmp_path, select=("DBS101", "DBS102", "DBS114"))
    report = commands.lint(settings, [folder])
    assert sorted((f.location.path, f.location.line, f.code)
                  for f in report.findings if f.location is not None) == [
        ("migrations/tenant/0002-backfill.sql", 2, "DBS114"),
        ("migrations/tenant/0003-index.sql", 1, "DBS102"),
        ("migrations/tenant/0005-two.sql", 3, "DBS102")]
    assert [m.path.rpartition("/")[2] for m in load_migrations(settings, [folder])][-2:] == [
        "0009-9.sql", "00010-ten.sql"]
    assert not any("runner unknown" in line for line in report.summary.get("lines", []))


def test_a_folder_is_not_postgres_migrations_with_a_gap_in_its_ids(tmp_path: Path) -> None:
    # postgres-migrations refuses a folder whose ids are not 1, 2, 3 ...: it never ran this
    # one, whose runner is then unknown.
    folder = _postgres_migrations_project(tmp_path)
    (folder / "0004-index.sql").unlink()
    report = commands.lint(Settings(project_root=tmp_path, select=("DBS102",)), [folder])
    assert report.findings == ()
    assert report.summary["lines"] == [
        "migrations/tenant: runner unknown: each statement linted as run on its own; set "
        "`sql-migrations-in-transaction = true` if your runner wraps each file in a transaction"]


def test_a_postgres_migrations_javascript_migration_is_said_not_linted(tmp_path: Path) -> None:
    # Its `generateSql()` gives the SQL postgres-migrations runs: code, never a silent pass.
    folder = _postgres_migrations_project(tmp_path)
    (folder / "00011-js.js").write_text("exports.generateSql = () => 'SELECT 1'\n")
    report = commands.lint(Settings(project_root=tmp_path, select=("DBS114",)), [folder])
    assert report.summary["lines"] == [
        "migrations/tenant/00011-js.js is postgres-migrations' JavaScript migration: code, "
        "which dbsafe does not read; it was not linted"]


def test_sql_named_for_postgresql_in_a_folder_whose_runner_is_unknown_is_said_not_linted(
        tmp_path: Path) -> None:
    # synapse's deltas: its runner runs `x.sql.postgres` beside the `.sql` files on
    # PostgreSQL only (`.sql.sqlite` on SQLite); the folder's `*.sql` leaves them out, so
    # never in silence. Named, such a file is linted.
    folder = tmp_path / "delta"
    (folder / "92").mkdir(parents=True)
    (folder / "92" / "01_a.sql").write_text("CREATE TABLE a (id int);\n")
    (folder / "92" / "01_a.sql.sqlite").write_text("CREATE INDEX a_id ON a (id);\n")
    (folder / "92" / "02_b.sql.postgres").write_text("CREATE INDEX events_id ON events (id);\n")
    settings = Settings(project_root=tmp_path, select=("DBS101",))
    report = commands.lint(settings, [folder])
    assert report.findings == ()
    assert report.summary["lines"][1:] == [
        "delta: 1 file named for PostgreSQL after `.sql` (delta/92/02_b.sql.postgres) was not "
        "linted: dbsafe does not know whether this folder's runner runs them; name them to "
        "lint them (`dbsafe lint FILE ...`)"]
    named = commands.lint(settings, [folder / "92" / "02_b.sql.postgres"])
    assert [f.code for f in named.findings] == ["DBS101"]


def test_a_sql_folder_whose_runner_is_unknown_is_said_once_never_as_a_finding(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Its statements are linted as run one by one (the UPDATE is no DBS114): said in the
    # summary, text and JSON, once for the folder however it is named, and the exit code
    # stays that of the findings.
    from click.testing import CliRunner

    from dbsafe.cli import main

    folder = tmp_path / "db"
    folder.mkdir()
    (folder / "1_a.sql").write_text("CREATE TABLE a (id int, b int);\n")
    (folder / "2_b.sql").write_text("ALTER TABLE a ALTER COLUMN b SET DEFAULT 0;\n"
                                    "UPDATE a SET b = 0 WHERE b IS NULL;\n")
    line = ("db: runner unknown: each statement linted as run on its own; set "
            "`sql-migrations-in-transaction = true` if your runner wraps each file in a "
            "transaction")
    settings = Settings(project_root=tmp_path, select=("DBS114",))
    report = commands.lint(settings, [folder, folder])
    assert report.findings == () and report.summary["lines"] == [line]

    monkeypatch.chdir(tmp_path)
    text = CliRunner().invoke(main, ["lint", "--select", "DBS114", "db"])
    as_json = CliRunner().invoke(main, ["lint", "--select", "DBS114", "--format", "json", "db"])
    assert text.exit_code == 0 and text.output.splitlines().count(line) == 1
    assert as_json.exit_code == 0 and json.loads(as_json.output)["summary"]["lines"] == [line]

    # Told the runner wraps each file: nothing to say, and the UPDATE is DBS114.
    told = Settings(project_root=tmp_path, select=("DBS114",), sql_migrations_in_transaction=True)
    report = commands.lint(told, [folder])
    assert [f.code for f in report.findings] == ["DBS114"] and "lines" not in report.summary


def test_a_stray_begin_is_judged_by_what_the_folders_runner_does(tmp_path: Path) -> None:
    # DBS136: goose wraps a file in its transaction (the BEGIN is a WARNING there) unless
    # told not to; then it sends the statements one by one, and nothing commits the BEGIN.
    # A folder no runner marks: dbsafe cannot tell, and says so.
    stray = "BEGIN;\nCREATE TABLE t (id int);\n"
    goose, plain = tmp_path / "goose", tmp_path / "plain"
    goose.mkdir()
    plain.mkdir()
    (goose / "001_wrapped.sql").write_text("-- +goose Up\n" + stray)
    (goose / "002_one_by_one.sql").write_text("-- +goose NO TRANSACTION\n-- +goose Up\n" + stray)
    (plain / "001_x.sql").write_text(stray)
    settings = Settings(project_root=tmp_path, select=("DBS136",))
    report = commands.lint(settings, [goose, plain])
    assert [(f.location.path if f.location else None, "cannot tell" in f.message)
            for f in report.findings] == [("goose/002_one_by_one.sql", False),
                                          ("plain/001_x.sql", True)]

"""A folder of SQL migrations applied to a real database: each file as its runner runs it,
a failing statement recorded at its file and line and the rest applied."""

from __future__ import annotations

import json
import os
from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import Settings
from dbsafe.core import SourceError
from dbsafe.extract.migration import sql_migrations
from dbsafe.migrate.sqlfiles import apply_sql_migrations, migration_runner, supabase_platform_sql

pytestmark = pytest.mark.db


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


def relations(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT n.nspname || '.' || c.relname FROM pg_class c "
                            "JOIN pg_namespace n ON n.oid = c.relnamespace "
                            "WHERE n.nspname = 'public'").fetchall()
    return {row[0] for row in rows}


def columns(url: str, table: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass "
                            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                            (table,)).fetchall()
    return [row[0] for row in rows]


def test_a_failing_statement_loses_only_itself_in_a_wrapped_file(tmp_path: Path,
                                                                 database_url: str) -> None:
    folder = write(tmp_path / "migrations", {
        "1_init.sql": "CREATE TABLE a (id int);\n"
                      "ALTER TABLE a ADD COLUMN b nosuchtype;\n"
                      "ALTER TABLE a ADD COLUMN c text;\n",
        "2_next.sql": "CREATE TABLE d (a_id int);\nCREATE VIEW v AS SELECT c FROM a;\n",
    })
    migrations = sql_migrations([folder], root=tmp_path, wrapped_in_transaction=True)

    failures = apply_sql_migrations(migrations, database_url)

    assert [(f.location.path, f.location.line, f.location.column, f.message)
            for f in failures] == [
        ("migrations/1_init.sql", 2, 28, '42704: type "nosuchtype" does not exist')]
    assert relations(database_url) == {"public.a", "public.d", "public.v"}
    assert columns(database_url, "a") == ["id", "c"]


def test_statements_after_a_failure_run_in_a_file_without_transaction(
        tmp_path: Path, database_url: str) -> None:
    folder = write(tmp_path / "m", {
        "1.sql": "CREATE TABLE a (id int);\nINSERT INTO nowhere VALUES (1);\n"
                 "CREATE INDEX CONCURRENTLY a_id ON a (id);\nCREATE TABLE b ();\n"})
    migrations = sql_migrations([folder], root=tmp_path)

    failures = apply_sql_migrations(migrations, database_url)

    assert [(f.location.line, f.message.split(":")[0], f.applied_later) for f in failures] == [
        (2, "42P01", False)]
    assert relations(database_url) == {"public.a", "public.a_id", "public.b"}


def test_concurrently_in_a_wrapped_file_fails_as_in_production_then_runs_after(
        tmp_path: Path, database_url: str) -> None:
    folder = write(tmp_path / "m", {
        "1.sql": "CREATE TABLE a (id int);\nCREATE INDEX CONCURRENTLY a_id ON a (id);\n"})
    migrations = sql_migrations([folder], root=tmp_path, wrapped_in_transaction=True)

    failures = apply_sql_migrations(migrations, database_url)

    assert [(f.location.line, f.message.split(":")[0], f.applied_later) for f in failures] == [
        (2, "25001", True)]
    assert relations(database_url) == {"public.a", "public.a_id"}


def test_a_files_own_transaction_keeps_its_other_statements(tmp_path: Path,
                                                            database_url: str) -> None:
    folder = write(tmp_path / "m", {
        "1.sql": "BEGIN;\nCREATE TABLE a (id int);\nSELECT 1/0;\nCREATE TABLE b ();\nCOMMIT;\n"
                 "CREATE TABLE c ();\n"})
    migrations = sql_migrations([folder], root=tmp_path)

    failures = apply_sql_migrations(migrations, database_url)

    assert [(f.location.line, f.message) for f in failures] == [(3, "22012: division by zero")]
    assert relations(database_url) == {"public.a", "public.b", "public.c"}


def test_goose_down_sections_are_not_run(tmp_path: Path, database_url: str) -> None:
    folder = write(tmp_path / "m", {
        "00001_a.sql": "-- +goose Up\nCREATE TABLE a ();\n-- +goose Down\nDROP TABLE a;\n"})
    migrations = sql_migrations([folder], root=tmp_path)

    assert apply_sql_migrations(migrations, database_url) == ()
    assert relations(database_url) == {"public.a"}


def test_a_pop_folder_runs_the_postgres_file_of_each_version_as_pop_does(
        tmp_path: Path, database_url: str) -> None:
    # gobuffalo/pop and ory/popx (kratos, hydra, keto) keep every dialect's file side by
    # side: on PostgreSQL pop runs a version's `.postgres.` file, else its dialect-less
    # one, each in a transaction unless named `.autocommit.`. The MySQL and SQLite files
    # fail on PostgreSQL (42601), and so would the dialect-less file the postgres one
    # replaces.
    folder = write(tmp_path / "sql", {
        "1_init.postgres.up.sql": "CREATE TABLE a (id bigserial PRIMARY KEY);\n",
        "1_init.mysql.up.sql": "CREATE TABLE a (id BIGINT AUTO_INCREMENT PRIMARY KEY);\n",
        "1_init.up.sql": "CREATE TABLE a (id uuid);\n",
        "2_b.up.sql": "ALTER TABLE a ADD COLUMN b text;\n",
        "2_b.sqlite3.up.sql": "ALTER TABLE `a` ADD COLUMN `b` TEXT;\n",
        "3_c.up.sql": "CREATE INDEX CONCURRENTLY a_b ON a (b);\n",
        "4_d.postgres.autocommit.up.sql": "CREATE INDEX CONCURRENTLY a_b_id ON a (b, id);\n",
        "4_d.mysql.autocommit.up.sql": "CREATE INDEX a_b_id ON a (b, id) ALGORITHM=INPLACE;\n",
    })
    migrations = sql_migrations([folder], root=tmp_path)

    failures = apply_sql_migrations(migrations, database_url)

    assert [m.path for m in migrations] == [
        "sql/1_init.postgres.up.sql", "sql/2_b.up.sql", "sql/3_c.up.sql",
        "sql/4_d.postgres.autocommit.up.sql"]
    assert [(f.location.path, f.message.split(":")[0]) for f in failures] == [
        ("sql/3_c.up.sql", "25001")]
    assert columns(database_url, "a") == ["id", "b"]
    assert relations(database_url) >= {"public.a_b", "public.a_b_id"}


@pytest.mark.parametrize(("files", "down"), [
    # keto's 20220513200300000000: a postgres up, a dialect-less down (was: no down)
    ({"1_a.postgres.up.sql": "CREATE TABLE a (id int);\n",
      "2_b.postgres.up.sql": "ALTER TABLE a ADD COLUMN b int;\n",
      "2_b.up.sql": "ALTER TABLE `a` ADD COLUMN `b` int;\n",
      "2_b.down.sql": "ALTER TABLE a DROP COLUMN b;\n"}, "sql/2_b.down.sql"),
    # keto's 20220513200600000000: a dialect-less up, a postgres down beside a dialect-less
    # one PostgreSQL refuses (was: the dialect-less one, 42601)
    ({"1_a.postgres.up.sql": "CREATE TABLE a (id int);\n",
      "2_b.up.sql": "ALTER TABLE a ADD COLUMN b int;\n",
      "2_b.down.sql": "ALTER TABLE `a` DROP COLUMN `b`;\n",
      "2_b.postgres.down.sql": "ALTER TABLE a DROP COLUMN b;\n",
      "2_b.mysql.down.sql": "ALTER TABLE `a` DROP COLUMN `b`;\n"}, "sql/2_b.postgres.down.sql"),
    # the down's `.autocommit.` is its own: run outside a transaction, as its name says
    # (was: in one, as its up, 25001)
    ({"1_a.postgres.up.sql": "CREATE TABLE a (id int);\n",
      "2_b.up.sql": "ALTER TABLE a ADD COLUMN b int;\nCREATE INDEX a_b ON a (b);\n",
      "2_b.postgres.autocommit.down.sql": "DROP INDEX CONCURRENTLY a_b;\n"
                                          "ALTER TABLE a DROP COLUMN b;\n"},
     "sql/2_b.postgres.autocommit.down.sql"),
    # golang-migrate pairs by version alone: concourse's 1554469235 `..._to_jobs.up.sql`
    # and `..._to_job.down.sql` (was: no down)
    ({"1_a.up.sql": "CREATE TABLE a (id int);\n",
      "2_add_b_to_as.up.sql": "ALTER TABLE a ADD COLUMN b int;\n",
      "2_add_b_to_a.down.sql": "ALTER TABLE a DROP COLUMN b;\n"}, "sql/2_add_b_to_a.down.sql"),
    # SylteA/Discord-Bot's runner pairs `<version>_<up|down>__<name>.sql` by the version
    # alone: `005_up__custom_roles.sql` goes back with `005_down__custom_role.sql` (was: no
    # down, task 397)
    ({"001_up__a.sql": "CREATE TABLE a (id int);\n",
      "001_down__drop_a.sql": "DROP TABLE a;\n",
      "002_up__add_b_to_as.sql": "ALTER TABLE a ADD COLUMN b int;\n",
      "002_down__add_b_to_a.sql": "ALTER TABLE a DROP COLUMN b;\n"},
     "sql/002_down__add_b_to_a.sql"),
])
def test_a_version_goes_back_with_the_down_file_its_runner_runs(
        tmp_path: Path, database_url: str, files: dict[str, str], down: str) -> None:
    # popx picks each version's file per direction (`SortAndFilter`): the `.postgres.`
    # one, else the dialect-less one, whatever the dialect of the other direction's file.
    from dbsafe.extract.migration import down_migration

    folder = write(tmp_path / "sql", files)
    migrations = sql_migrations([folder], root=tmp_path)
    assert apply_sql_migrations(migrations, database_url) == ()
    going_back = down_migration(migrations[-1], tmp_path)

    assert going_back is not None and going_back.path == down
    assert apply_sql_migrations([going_back], database_url) == ()
    assert columns(database_url, "a") == ["id"]


def test_a_versioned_folder_runs_what_its_manifest_lists_in_that_order(
        tmp_path: Path, database_url: str) -> None:
    # temporal-sql-tool (temporal's and cadence's schema/postgresql/.../versioned) runs the
    # files each version's manifest.json lists, in its order, and no other: read by name,
    # `alter.sql` ran before the table it alters (42P01) and the unlisted file added the
    # column the listed one adds again (42701).
    manifest = '{{"CurrVersion": "{0}", "MinCompatibleVersion": "0.1", ' \
               '"SchemaUpdateCqlFiles": {1}}}'
    folder = write(tmp_path / "versioned", {
        "v0.1/manifest.json": manifest.format("0.1", '["schema.sql"]'),
        "v0.1/schema.sql": "CREATE TABLE a (id int);\n",
        "v0.2/manifest.json": manifest.format("0.2", '["create.sql", "alter.sql"]'),
        "v0.2/alter.sql": "ALTER TABLE b ADD COLUMN c int;\n",
        "v0.2/create.sql": "CREATE TABLE b (id int);\n",
        "v0.10/manifest.json": manifest.format("0.10", '[]'),
        "v0.10/add_x.sql": "ALTER TABLE a ADD COLUMN x int;\n",
        "v0.11/manifest.json": manifest.format("0.11", '["combined.sql"]'),
        "v0.11/combined.sql": "ALTER TABLE a ADD COLUMN x int;\n",
    })
    migrations = sql_migrations([folder], root=tmp_path)

    failures = apply_sql_migrations(migrations, database_url)

    assert [m.path for m in migrations] == [
        "versioned/v0.1/schema.sql", "versioned/v0.2/create.sql", "versioned/v0.2/alter.sql",
        "versioned/v0.11/combined.sql"]
    assert [(f.location.path, f.message) for f in failures] == []
    assert columns(database_url, "a") == ["id", "x"]
    assert columns(database_url, "b") == ["id", "c"]


def test_a_golang_migrate_file_of_several_statements_runs_as_one_transaction(
        tmp_path: Path, database_url: str) -> None:
    # golang-migrate's PostgreSQL drivers send an up file as one query: PostgreSQL runs its
    # statements in one implicit transaction, and refuses CONCURRENTLY there (25001). A
    # file of one statement is no transaction block.
    folder = write(tmp_path / "migrations", {
        "000001_a.up.sql": "CREATE TABLE a (id int);\n",
        "000002_b.up.sql": "-- the index alone\nCREATE INDEX CONCURRENTLY a_id ON a (id);\n",
        "000003_c.up.sql": "ALTER TABLE a ADD COLUMN b int;\n"
                           "CREATE INDEX CONCURRENTLY a_b ON a (b);\n",
    })
    migrations = sql_migrations([folder], root=tmp_path)

    failures = apply_sql_migrations(migrations, database_url)

    assert [(f.location.path, f.location.line, f.message.split(":")[0]) for f in failures] == [
        ("migrations/000003_c.up.sql", 2, "25001")]


# A temporary table dropped at COMMIT lasts to the end of a transaction, and no further
# outside one: the INSERT fails with 42P01 unless the file runs in a transaction.
IN_A_TRANSACTION = ("CREATE TEMP TABLE scratch (id int) ON COMMIT DROP;\n"
                    "INSERT INTO scratch VALUES (1);\n")


def test_a_flyway_file_runs_in_a_transaction_unless_it_holds_concurrently(
        tmp_path: Path, database_url: str) -> None:
    # Flyway runs each migration in a transaction, unless a statement is one its PostgreSQL
    # parser runs outside any (CREATE INDEX CONCURRENTLY, VACUUM, ...): Marquez's
    # V47__add_lineage_event_indexes.sql builds its index so.
    folder = write(tmp_path / "db" / "migration", {
        "V1__a.sql": "CREATE TABLE a (id int);\n",
        "V2__b.sql": IN_A_TRANSACTION,
        "V3__c.sql": "CREATE INDEX CONCURRENTLY a_id ON a (id);\n",
    })
    migrations = sql_migrations([folder], root=tmp_path)

    assert apply_sql_migrations(migrations, database_url) == ()
    assert [m.starts_in_transaction for m in migrations] == [True, True, False]


def test_a_diesel_folder_runs_each_migration_as_diesel_does(tmp_path: Path,
                                                           database_url: str) -> None:
    # diesel runs each `<version>_<name>/up.sql` in a transaction, unless its metadata.toml
    # says `run_in_transaction = false`; even then the file is one simple query, one
    # implicit transaction when it holds several statements (25001 for CONCURRENTLY).
    # Its history table is there: Lemmy's migrations put a trigger on it.
    (tmp_path / "diesel.toml").write_text("[print_schema]\nfile = \"src/schema.rs\"\n")
    no_transaction = "run_in_transaction = false\n"
    folder = write(tmp_path / "migrations", {
        "2024-01-01-000000_a/up.sql": "CREATE TABLE a (id int, b int);\n",
        "2024-01-02-000000_b/up.sql": IN_A_TRANSACTION,
        "2024-01-03-000000_c/up.sql": "CREATE INDEX CONCURRENTLY a_id ON a (id);\n",
        "2024-01-03-000000_c/metadata.toml": no_transaction,
        "2024-01-04-000000_d/up.sql": "SET lock_timeout = '1s';\n"
                                      "CREATE INDEX CONCURRENTLY a_b ON a (b);\n",
        "2024-01-04-000000_d/metadata.toml": no_transaction,
        "2024-01-05-000000_e/up.sql": "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql "
                                      "AS $$BEGIN RETURN NULL; END$$;\n"
                                      "CREATE TRIGGER t BEFORE TRUNCATE ON "
                                      "__diesel_schema_migrations EXECUTE FUNCTION f();\n",
    })
    for version in folder.iterdir():
        (version / "down.sql").write_text("SELECT 1;\n")
    migrations = sql_migrations([folder], root=tmp_path)

    failures = apply_sql_migrations(migrations, database_url, runner=migration_runner(folder))
    assert [(f.location.path, f.location.line, f.message.split(":")[0]) for f in failures] == [
        ("migrations/2024-01-04-000000_d/up.sql", 2, "25001")]
    assert [m.starts_in_transaction for m in migrations] == [True, True, False, True, True]


def test_a_sqlx_folder_runs_each_migration_as_sqlx_does(tmp_path: Path,
                                                       database_url: str) -> None:
    # sqlx (the `migrations` folder beside a crate's Cargo.toml depending on it: atuin's
    # atuin-server-postgres) runs each file in a transaction unless it starts with
    # `-- no-transaction`; even then the file is one simple query, one implicit transaction
    # when it holds several statements. Its `_sqlx_migrations` table is there.
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "x"\n\n[dependencies]\n'
                                         'sqlx = { version = "0.8", features = ["postgres"] }\n')
    folder = write(tmp_path / "migrations", {
        "20240101000000_a.sql": "CREATE TABLE a (id int, b int);\n",
        "20240102000000_b.sql": IN_A_TRANSACTION,
        "20240103000000_c.sql": "-- no-transaction\nCREATE INDEX CONCURRENTLY a_id ON a (id);\n",
        "20240104000000_d.sql": "-- no-transaction\nSET lock_timeout = '1s';\n"
                                "CREATE INDEX CONCURRENTLY a_b ON a (b);\n",
        "20240105000000_e.sql": "CREATE VIEW applied AS SELECT version FROM _sqlx_migrations;\n",
    })
    migrations = sql_migrations([folder], root=tmp_path)

    failures = apply_sql_migrations(migrations, database_url, runner=migration_runner(folder))
    assert [(f.location.path, f.location.line, f.message.split(":")[0]) for f in failures] == [
        ("migrations/20240104000000_d.sql", 3, "25001")]
    assert [m.starts_in_transaction for m in migrations] == [True, True, False, True, True]


@pytest.mark.parametrize("names", [
    'fn get_migrations() -> Migrator {\n    sqlx::migrate!("migrations/postgresql")\n}\n',
    'let migrator = Migrator::new(Path::new("./migrations/postgresql")).await?;\n',
    None,
], ids=["migrate-macro", "migrator-new", "not-named"])
def test_the_folder_a_crate_names_to_sqlx_runs_as_sqlx_runs_it(
        tmp_path: Path, database_url: str, names: str | None) -> None:
    # quickwit's metastore embeds `migrations/postgresql` with `sqlx::migrate!(...)`, a path
    # sqlx-macros-core resolves against the crate's folder: sqlx runs each file there in a
    # transaction (a lone CONCURRENTLY build too: 25001) and records it in
    # `_sqlx_migrations`. dbsafe knew only the `migrations` beside the Cargo.toml, and ran
    # the folder as golang-migrate's: the build alone, a `schema_migrations` table. A folder
    # the crate does not name stays golang-migrate's.
    crate = tmp_path / "metastore"
    (crate / "src" / "postgres").mkdir(parents=True)
    (crate / "Cargo.toml").write_text('[package]\nname = "x"\n\n[dependencies]\n'
                                      'sqlx = { workspace = true, optional = true }\n')
    if names is not None:
        (crate / "src" / "postgres" / "migrator.rs").write_text(names)
    folder = write(crate / "migrations" / "postgresql", {
        "1_a.up.sql": "CREATE TABLE a (id int, b int);\n",
        "1_a.down.sql": "DROP TABLE a;\n",
        "2_ix.up.sql": "CREATE INDEX CONCURRENTLY a_id ON a (id);\n",
        "2_ix.down.sql": "DROP INDEX a_id;\n",
    })
    migrations = sql_migrations([folder], root=tmp_path)
    runner = migration_runner(folder)

    failures = apply_sql_migrations(migrations, database_url, runner=runner)
    with psycopg.connect(database_url) as conn:
        tables = {row[0] for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE tablename LIKE '%migrations'")}
    if names is None:
        assert (runner, failures, tables) == ("golang-migrate", (), {"schema_migrations"})
        return
    assert runner == "sqlx" and tables == {"_sqlx_migrations"}
    assert [(f.location.path, f.message.split(":")[0]) for f in failures] == [
        ("metastore/migrations/postgresql/2_ix.up.sql", "25001")]


def test_a_refinery_folder_runs_each_migration_in_refinery_transaction(
        tmp_path: Path, database_url: str) -> None:
    # refinery (PeerDB's nexus/catalog: `embed_migrations!("migrations")`) runs each of
    # its `V<n>__x.sql` and `U<n>__x.sql` ("unversioned", no undo) by version, each in a
    # transaction with its history row, and has no way out of it: a CONCURRENTLY build
    # fails there (25001, as PostgreSQL refuses it below). Read as Flyway's, the build
    # ran on its own, `U3__` was left out as an undo and `R__x.sql`, which refinery
    # never runs, was run.
    crate = tmp_path / "catalog"
    (crate / "src").mkdir(parents=True)
    (crate / "Cargo.toml").write_text('[package]\nname = "catalog"\n\n[dependencies]\n'
                                      'refinery = { version = "0.9", default-features = '
                                      'false, features = ["tokio-postgres"] }\n')
    (crate / "src" / "lib.rs").write_text(
        'mod embedded {\n    use refinery::embed_migrations;\n'
        '    embed_migrations!("migrations");\n}\n')
    build = "CREATE INDEX CONCURRENTLY a_id ON a (id);\n"
    folder = write(crate / "migrations", {
        "V1__a.sql": "CREATE TABLE a (id int);\n",
        "V2__ix.sql": build,
        "U3__unversioned.sql": "CREATE TABLE u (id int);\n",
        "R__repeatable.sql": "CREATE TABLE r (id int);\n",
    })
    with psycopg.connect(database_url) as conn:
        conn.execute("CREATE TABLE a (id int)")
        conn.commit()
        with pytest.raises(psycopg.errors.ActiveSqlTransaction), conn.transaction():
            conn.execute(build)  # as refinery's `transaction.batch_execute(sql)` sends it
        conn.execute("DROP TABLE a")
        conn.commit()
    migrations = sql_migrations([folder], root=tmp_path)

    failures = apply_sql_migrations(migrations, database_url)
    assert [m.path for m in migrations] == [
        "catalog/migrations/V1__a.sql", "catalog/migrations/V2__ix.sql",
        "catalog/migrations/U3__unversioned.sql"]
    assert all(m.starts_in_transaction for m in migrations)
    assert [(f.location.path, f.message.split(":")[0]) for f in failures] == [
        ("catalog/migrations/V2__ix.sql", "25001")]
    # (the build run on its own afterwards, as the schema is built past a refusal)
    assert relations(database_url) == {"public.a", "public.a_id", "public.u"}
    # V2__ix.sql is a migration of its own, and still failed: DBS102's help says to run
    # the build outside refinery, where it said "in a migration the runner does not wrap"
    found = commands.lint(Settings(project_root=tmp_path, select=("DBS102",)), [folder])
    assert [(f.location.path if f.location else None, f.help) for f in found.findings] == [
        ("catalog/migrations/V2__ix.sql",
         "Refinery runs every migration in a transaction, with no way out: run the statement "
         "outside it (psql, by hand or as a step of the deploy), or without CONCURRENTLY "
         "where the lock it then takes is acceptable.")]


def test_a_dbmate_file_without_its_transaction_is_still_one_query(tmp_path: Path,
                                                                 database_url: str) -> None:
    # dbmate sends an up section through lib/pq as one query: with `transaction:false` and
    # several statements, PostgreSQL still runs them as one implicit transaction (25001;
    # dbmate's issues #126, #182, #285). Alone, CONCURRENTLY runs.
    folder = write(tmp_path / "db" / "migrations", {
        "20240101000000_a.sql": "-- migrate:up\nCREATE TABLE a (id int, b int);\n"
                                "-- migrate:down\nDROP TABLE a;\n",
        "20240102000000_b.sql": "-- migrate:up transaction:false\n"
                                "CREATE INDEX CONCURRENTLY a_id ON a (id);\n-- migrate:down\n",
        "20240103000000_c.sql": "-- migrate:up transaction:false\nSET search_path TO public;\n"
                                "CREATE INDEX CONCURRENTLY a_b ON a (b);\n-- migrate:down\n",
    })
    migrations = sql_migrations([folder], root=tmp_path)

    failures = apply_sql_migrations(migrations, database_url)
    assert [(f.location.path, f.location.line, f.message.split(":")[0]) for f in failures] == [
        ("db/migrations/20240103000000_c.sql", 3, "25001")]


def test_each_up_section_of_a_dbmate_file_runs_on_its_own(tmp_path: Path,
                                                          database_url: str) -> None:
    # dbmate (since 2025) runs each `-- migrate:up` section of a file on its own, with the
    # options of its own line: a lone CONCURRENTLY without its transaction, then a section
    # in a transaction (its temporary table lasts to its end), then one of several
    # statements without, one implicit transaction (25001).
    folder = write(tmp_path / "db" / "migrations", {
        "20240101000000_a.sql": "-- migrate:up\nCREATE TABLE a (id int, b int);\n",
        "20240102000000_b.sql": "-- migrate:up transaction:false\n"
                                "CREATE INDEX CONCURRENTLY a_id ON a (id);\n-- migrate:down\n\n"
                                "-- migrate:up\n" + IN_A_TRANSACTION + "-- migrate:down\n\n"
                                "-- migrate:up transaction:false\nSET lock_timeout = '1s';\n"
                                "CREATE INDEX CONCURRENTLY a_b ON a (b);\n-- migrate:down\n",
    })
    migrations = sql_migrations([folder], root=tmp_path)

    failures = apply_sql_migrations(migrations, database_url)
    assert [(f.location.path, f.location.line, f.message.split(":")[0]) for f in failures] == [
        ("db/migrations/20240102000000_b.sql", 12, "25001")]


def test_a_golang_migrate_folder_has_golang_migrates_history_table(tmp_path: Path,
                                                                  database_url: str) -> None:
    # golang-migrate's drivers create `schema_migrations` before the first file, and a
    # migration may use it: harbor's 0030_2.0.0_schema.up.sql adds a column to it (42P01
    # on a database without it). A pop folder's files look alike; pop's table is another.
    folder = write(tmp_path / "migrations", {
        "0001_a.up.sql": "CREATE TABLE a (id int);\n",
        "0001_a.down.sql": "DROP TABLE a;\n",
        "0002_b.up.sql": "ALTER TABLE schema_migrations ADD COLUMN data_version int;\n",
    })
    migrations = sql_migrations([folder], root=tmp_path)

    runner = migration_runner(folder)
    assert apply_sql_migrations(migrations, database_url, runner=runner) == ()
    assert runner == "golang-migrate"
    assert migration_runner(write(tmp_path / "pop", {
        "1_a.postgres.up.sql": "SELECT 1;\n"})) is None


def test_a_supabase_folder_runs_each_file_in_a_transaction(tmp_path: Path,
                                                          database_url: str) -> None:
    # supabase's CLI sends a file's statements and the insert of its version as one batch,
    # one implicit transaction: CONCURRENTLY fails there (25001) even alone in its file, as
    # suna's 20251123153256_index_optimisations.sql says ("doesn't work with the CLI").
    folder = write(tmp_path / "supabase" / "migrations", {
        "20240101000000_a.sql": "CREATE TABLE a (id int);\n",
        "20240102000000_b.sql": "CREATE INDEX CONCURRENTLY a_id ON a (id);\n",
    })
    migrations = sql_migrations([folder], root=tmp_path)

    failures = apply_sql_migrations(migrations, database_url, platform="supabase")

    assert [(f.location.path, f.location.line, f.message.split(":")[0]) for f in failures] == [
        ("supabase/migrations/20240102000000_b.sql", 1, "25001")]


def test_an_extension_of_a_version_the_server_lacks_is_created_at_the_one_it_has(
        tmp_path: Path, database_url: str) -> None:
    # supabase db diff writes the platform's version; the server has pgvector's install
    # script of its own version only, and PostgreSQL refuses the other one (22023): the
    # table of vectors and the foreign key to it failed after it (epic-hq/Insights).
    with psycopg.connect(database_url) as conn:
        versions = {row[0] for row in conn.execute(
            "SELECT version FROM pg_available_extension_versions WHERE name = 'vector'")}
    if not versions or "0.5.1" in versions:
        pytest.skip("needs a server with pgvector and without its 0.5.1 script")
    folder = write(tmp_path / "supabase" / "migrations", {
        "20240101000000_a.sql":
            "create extension if not exists \"vector\" with schema \"public\" "
            "version '0.5.1';\n"
            "CREATE TABLE docs (id int PRIMARY KEY, embedding vector(3));\n",
        "20240102000000_b.sql":
            "CREATE TABLE chunks (doc_id int REFERENCES docs (id));\n",
    })
    migrations = sql_migrations([folder], root=tmp_path)

    failures = apply_sql_migrations(migrations, database_url, platform="supabase")

    assert [(f.location.line, f.message.split(":")[0]) for f in failures] == []
    assert {"public.docs", "public.chunks"} <= relations(database_url)
    assert columns(database_url, "docs") == ["id", "embedding"]
    with psycopg.connect(database_url) as conn:  # the version production has
        assert conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'"
                            ).fetchone() == ("0.5.1",)


def test_a_supabase_folder_runs_only_what_supabases_cli_applies(tmp_path: Path,
                                                                database_url: str) -> None:
    # The CLI applies `<timestamp>_name.sql` files directly in supabase/migrations and skips
    # any other name ("file name must match pattern"): quivr's local_20240107152745_ollama.sql
    # is for a hand-run local setup. Run, each of these fails (42P01).
    folder = write(tmp_path / "supabase" / "migrations", {
        "20240101000000_a.sql": "CREATE TABLE a (id int);\n",
        "local_20240102000000_b.sql": "ALTER TABLE nothing ADD COLUMN b int;\n",
        "old/20240103000000_c.sql": "ALTER TABLE nothing ADD COLUMN c int;\n",
    })
    migrations = sql_migrations([folder], root=tmp_path)

    assert [m.path for m in migrations] == ["supabase/migrations/20240101000000_a.sql"]
    assert apply_sql_migrations(migrations, database_url, platform="supabase") == ()


def test_a_supabase_folder_runs_the_files_lovable_applied(tmp_path: Path,
                                                          database_url: str) -> None:
    # Lovable named its files `<timestamp>-<uuid>.sql` (`<timestamp>-.sql` untitled) before
    # it took the CLI's `_`, and ran each on the project's database itself: the CLI's pattern
    # skips them, yet the later files alter what they create (noteful-supabase-clone: 83 of
    # its 84 files). Without them the ALTER fails with 42P01.
    folder = write(tmp_path / "supabase" / "migrations", {
        "20250609234010-de1700cf-28fa-4e49-93c8-656aabefb3d2.sql":
            "CREATE TABLE blocks (id uuid PRIMARY KEY);\n",
        "20250610020234-.sql": "ALTER TABLE blocks ADD COLUMN title text;\n",
        "20250812204306_2e870132-0e59-43f5-be21-f725fcfc59d4.sql":
            "ALTER TABLE blocks ADD COLUMN body text;\n",
        "20250813000000-notes.sql": "ALTER TABLE nothing ADD COLUMN x int;\n",
    })
    migrations = sql_migrations([folder], root=tmp_path)

    assert [m.path for m in migrations] == [
        "supabase/migrations/20250609234010-de1700cf-28fa-4e49-93c8-656aabefb3d2.sql",
        "supabase/migrations/20250610020234-.sql",
        "supabase/migrations/20250812204306_2e870132-0e59-43f5-be21-f725fcfc59d4.sql"]
    assert all(m.starts_in_transaction for m in migrations)
    assert apply_sql_migrations(migrations, database_url, platform="supabase") == ()
    assert columns(database_url, "blocks") == ["id", "title", "body"]


def test_a_statement_whose_bytes_are_not_utf8_is_refused_by_postgresql_alone(
        tmp_path: Path, database_url: str) -> None:
    # edupro's migration has a broken emoji (`\xf0\x9f\x94\\x90`) in a RAISE NOTICE: the
    # folder could not be read at all ("cannot read migration", exit 2, validate and lint).
    # Sent as the file has them, PostgreSQL refuses those bytes (22021), that statement only.
    folder = write(tmp_path / "supabase" / "migrations", {
        "20240101000000_a.sql": "CREATE TABLE a (id int);\n"})
    (folder / "20240102000000_b.sql").write_bytes(
        b"CREATE TABLE b (id int);\n"
        b"DO $$ BEGIN RAISE NOTICE '\xf0\x9f\x94\\x90 done'; END $$;\n"
        b"CREATE TABLE c (id int);\n")
    migrations = sql_migrations([folder], root=tmp_path)

    assert "\ufffd" in migrations[1].statements[1].sql  # shown and parsed as U+FFFD
    failures = apply_sql_migrations(migrations, database_url, platform="supabase")
    assert [(f.location.path, f.location.line, f.message.split(":")[0]) for f in failures] == [
        ("supabase/migrations/20240102000000_b.sql", 2, "22021")]
    assert {"public.a", "public.b", "public.c"} <= relations(database_url)


def test_the_supabase_stand_in_holds_what_migrations_reference(tmp_path: Path,
                                                              database_url: str) -> None:
    folder = write(tmp_path / "supabase" / "migrations", {
        "20240101000000_profiles.sql":
            "CREATE TABLE public.profiles (id uuid PRIMARY KEY REFERENCES auth.users (id), "
            "email text);\n"
            "ALTER TABLE public.profiles ENABLE ROW LEVEL SECURITY;\n"
            "CREATE POLICY own ON public.profiles FOR SELECT TO authenticated "
            "USING (auth.uid() = id AND auth.jwt() ->> 'role' = auth.role());\n"
            "GRANT SELECT ON public.profiles TO anon, service_role;\n"
            "INSERT INTO storage.buckets (id, name, public) VALUES ('avatars', 'avatars', true);\n"
            "CREATE POLICY upload ON storage.objects FOR INSERT WITH CHECK "
            "(bucket_id = 'avatars' AND (storage.foldername(name))[1] = auth.uid()::text);\n"
            "ALTER PUBLICATION supabase_realtime ADD TABLE public.profiles;\n"})
    migrations = sql_migrations([folder], root=tmp_path, wrapped_in_transaction=True)

    assert apply_sql_migrations(migrations, database_url, platform="supabase") == ()
    with psycopg.connect(database_url) as conn:
        published = conn.execute("SELECT tablename FROM pg_publication_tables "
                                 "WHERE pubname = 'supabase_realtime'").fetchall()
    assert published == [("profiles",)]


def test_a_database_webhook_of_a_supabase_project_applies(tmp_path: Path,
                                                         database_url: str) -> None:
    """A webhook, as Supabase's dashboard writes it and `supabase db diff` dumps it: a trigger
    running the platform's supabase_functions.http_request()."""
    folder = write(tmp_path / "supabase" / "migrations", {
        "20240101000000_orders.sql":
            "CREATE TABLE public.orders (id bigint PRIMARY KEY, status text);\n"
            "CREATE TRIGGER paid AFTER UPDATE ON public.orders FOR EACH ROW "
            "EXECUTE FUNCTION supabase_functions.http_request("
            "'http://localhost:54321/functions/v1/paid', 'POST', "
            "'{\"Content-Type\":\"application/json\"}', '{}', '1000');\n"
            "UPDATE public.orders SET status = 'paid';\n"})
    migrations = sql_migrations([folder], root=tmp_path, wrapped_in_transaction=True)

    assert apply_sql_migrations(migrations, database_url, platform="supabase") == ()
    with psycopg.connect(database_url) as conn:
        triggers = conn.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = "
                                "'public.orders'::regclass").fetchall()
    assert triggers == [("paid",)]



def test_each_supabase_file_starts_a_fresh_session(tmp_path: Path, database_url: str) -> None:
    """supabase's CLI runs `RESET ALL` before each file: the empty search_path a `supabase
    db dump` file sets (`set_config('search_path', '', false)`) ends with it. hr-dx-saas's
    later files call `current_tenant_id()` and create tables unqualified: all of them
    failed (42883, 3F000). The platform's search_path, with `extensions`, stays."""
    folder = write(tmp_path / "supabase" / "migrations", {
        "20240101000000_remote_schema.sql":
            "SELECT pg_catalog.set_config('search_path', '', false);\n"
            'CREATE FUNCTION "public"."current_tenant_id"() RETURNS "uuid" LANGUAGE "sql" '
            "AS $$ SELECT NULL::uuid $$;\n",
        "20240102000000_things.sql":
            "CREATE TABLE things (id uuid DEFAULT uuid_generate_v4(), "
            "tenant_id uuid DEFAULT current_tenant_id());\n"})
    migrations = sql_migrations([folder], root=tmp_path, wrapped_in_transaction=True)

    assert apply_sql_migrations(migrations, database_url, platform="supabase") == ()
    assert "public.things" in relations(database_url)

@pytest.mark.skipif(bool(os.environ.get("DBSAFE_TEST_DATABASE_URL")),
                    reason="pg_net and pg_cron are dbsafe's stand-ins on its throwaway servers")
def test_pg_net_and_pg_cron_as_supabase_projects_use_them_apply(tmp_path: Path,
                                                                database_url: str) -> None:
    """As Supabase's docs and dashboard create and call them; the embedded PostgreSQL has
    neither, dbsafe's stand-ins do."""
    folder = write(tmp_path / "supabase" / "migrations", {
        "20240101000000_jobs.sql":
            "CREATE EXTENSION IF NOT EXISTS pg_net WITH SCHEMA extensions;\n"
            "CREATE EXTENSION IF NOT EXISTS pg_cron WITH SCHEMA pg_catalog;\n"
            "GRANT USAGE ON SCHEMA cron TO postgres;\n"
            "CREATE FUNCTION public.ping() RETURNS bigint LANGUAGE sql AS "
            "$$ SELECT net.http_post(url := 'https://example.com', body := '{}'::jsonb) $$;\n"
            "CREATE VIEW public.job_runs AS SELECT jobid, status FROM cron.job_run_details;\n"
            "SELECT cron.schedule('ping', '*/5 * * * *', 'SELECT public.ping()');\n"})
    migrations = sql_migrations([folder], root=tmp_path, wrapped_in_transaction=True)

    assert apply_sql_migrations(migrations, database_url, platform="supabase") == ()
    assert relations(database_url) == {"public.job_runs"}


def test_the_supabase_stand_in_can_run_twice_on_one_server(database_url: str) -> None:
    """Roles belong to the server: a second database on it gets the rest all the same."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(supabase_platform_sql())
        conn.execute("DROP SCHEMA auth, storage, extensions, realtime, graphql, "
                     "graphql_public, vault CASCADE; DROP PUBLICATION supabase_realtime")
        conn.execute(supabase_platform_sql())


def test_the_supabase_stand_ins_service_role_bypasses_row_level_security(
        tmp_path: Path, database_url: str) -> None:
    """Supabase creates `service_role` BYPASSRLS: DBS518 on a view the API roles may read
    names `anon` and `authenticated`, whom the policies hold back, not `service_role` (it
    did, on a database built on the stand-in without it: task 419's chatbot-ui)."""
    from dbsafe.checks import builtin_checks, connect, run, select_checks
    from dbsafe.config import load_settings

    folder = write(tmp_path / "supabase" / "migrations", {
        "20240101000000_notes.sql":
            "CREATE TABLE public.notes (id bigint PRIMARY KEY, user_id uuid);\n"
            "ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;\n"
            "CREATE POLICY own ON public.notes FOR SELECT TO authenticated "
            "USING (auth.uid() = user_id);\n"
            "CREATE VIEW public.all_notes AS SELECT * FROM public.notes;\n"})
    migrations = sql_migrations([folder], root=tmp_path, wrapped_in_transaction=True)
    assert apply_sql_migrations(migrations, database_url, platform="supabase") == ()
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT rolname FROM pg_roles WHERE rolbypassrls AND rolname IN "
                            "('service_role', 'anon', 'authenticated', "
                            "'supabase_read_only_user') ORDER BY 1").fetchall() == [
            ("service_role",), ("supabase_read_only_user",)]
    with connect(database_url) as conn:
        checked = run(conn, select_checks(builtin_checks(), ["DBS518"]),
                      load_settings(tmp_path, environ={}))
    finding, = (f for r in checked for f in r.findings)
    assert finding.message.startswith(
        "View `public.all_notes` lets `anon`, `authenticated` read rows of `public.notes` ")


def test_the_supabase_stand_in_makes_service_role_bypassrls_only_where_it_may(
        new_pg15_database) -> None:
    """PostgreSQL 15 lets only a superuser create a BYPASSRLS role (16 and later, a
    BYPASSRLS role too): a role that may create roles but not such ones gets `service_role`
    without it, and the stand-in goes on. (Each case in a transaction rolled back: roles
    belong to the server.)"""
    import pglast

    create_roles = next(s for s in pglast.split(supabase_platform_sql())
                        if "'service_role'" in s)
    bypassing = ("SELECT rolname FROM pg_roles WHERE rolbypassrls AND rolname IN "
                 "('service_role', 'supabase_read_only_user', 'anon') ORDER BY 1")
    with psycopg.connect(new_pg15_database()) as conn:
        assert conn.execute("SELECT count(*) FROM pg_roles WHERE rolname = 'service_role'"
                            ).fetchone() == (0,)
        conn.execute(create_roles)
        assert conn.execute(bypassing).fetchall() == [("service_role",),
                                                      ("supabase_read_only_user",)]
        conn.rollback()
        conn.execute("CREATE ROLE dbsafe_stand_in_builder CREATEROLE BYPASSRLS")
        conn.execute("SET ROLE dbsafe_stand_in_builder")
        conn.execute(create_roles)  # 42501 "must be superuser to create bypassrls users"
        assert conn.execute("SELECT count(*) FROM pg_roles WHERE rolname IN "
                            "('service_role', 'anon')").fetchone() == (2,)
        assert conn.execute(bypassing).fetchall() == []
        conn.rollback()


def test_realtime_broadcasts_and_vault_secrets_of_a_supabase_project_apply(
        tmp_path: Path, database_url: str) -> None:
    """pgflow's migrations read an edge function's key from `vault.decrypted_secrets` and
    broadcast with `realtime.send` in SQL functions, whose bodies PostgreSQL checks when they
    are created (42P01, 42883 on the stand-in without them); a private channel's policy is
    written on `realtime.messages`."""
    folder = write(tmp_path / "supabase" / "migrations", {
        "20240101000000_realtime.sql":
            "CREATE TABLE public.runs (id bigint PRIMARY KEY);\n"
            "CREATE FUNCTION public.announce(run bigint) RETURNS void LANGUAGE sql AS $$\n"
            "  SELECT realtime.send(jsonb_build_object('run', run), 'started', 'runs:' || run,"
            " false)\n$$;\n"
            "CREATE FUNCTION public.worker_key() RETURNS text LANGUAGE sql AS $$\n"
            "  SELECT decrypted_secret FROM vault.decrypted_secrets WHERE name = 'worker'\n$$;\n"
            "SELECT vault.create_secret('s3cr3t', 'worker');\n"
            "CREATE POLICY listen ON realtime.messages FOR SELECT TO authenticated "
            "USING (realtime.messages.extension = 'broadcast');\n"})
    migrations = sql_migrations([folder], root=tmp_path, wrapped_in_transaction=True)

    assert apply_sql_migrations(migrations, database_url, platform="supabase") == ()
    with psycopg.connect(database_url) as conn:
        conn.execute("SELECT public.announce(1)")
        assert conn.execute("SELECT public.worker_key()").fetchone() == ("s3cr3t",)


def test_a_trigger_on_supabases_mfa_factors_applies(tmp_path: Path, database_url: str) -> None:
    """Cap-go enforces its MFA rule with a trigger on GoTrue's `auth.mfa_factors`: 42P01 on
    the stand-in without the table, the trigger missing from the schema built (three files,
    three DBS006 notes, and every finding qualified as from an incomplete history)."""
    folder = write(tmp_path / "supabase" / "migrations", {
        "20240101000000_mfa.sql":
            "CREATE FUNCTION public.enforce_otp() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            "BEGIN IF NEW.factor_type = 'phone' AND NEW.status = 'verified' THEN\n"
            "  RAISE EXCEPTION 'verify email first'; END IF; RETURN NEW; END $$;\n"
            "CREATE TRIGGER enforce_otp BEFORE INSERT OR UPDATE ON auth.mfa_factors "
            "FOR EACH ROW EXECUTE FUNCTION public.enforce_otp();\n"
            "CREATE VIEW public.my_factors AS SELECT id, friendly_name, factor_type, status, "
            "last_challenged_at, web_authn_aaguid FROM auth.mfa_factors "
            "WHERE user_id = auth.uid();\n"})
    migrations = sql_migrations([folder], root=tmp_path, wrapped_in_transaction=True)

    assert apply_sql_migrations(migrations, database_url, platform="supabase") == ()
    with psycopg.connect(database_url) as conn:
        triggers = conn.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = "
                                "'auth.mfa_factors'::regclass AND NOT tgisinternal").fetchall()
    assert triggers == [("enforce_otp",)]


def test_sql_functions_on_gotrues_sessions_and_identities_and_realtime_policies_apply(
        tmp_path: Path, database_url: str) -> None:
    """Tuturuuu's analytics are `LANGUAGE sql` functions reading GoTrue's `auth.sessions`,
    `auth.identities` and `auth.audit_log_entries`, and its private channels' policies call
    `realtime.topic()` (task 513): 42P01/42883 on the stand-in without them, the functions,
    their comments and the policies missing from the schema built."""
    folder = write(tmp_path / "supabase" / "migrations", {
        "20250101000000_analytics.sql":
            "CREATE FUNCTION public.active_sessions() RETURNS bigint LANGUAGE sql AS $$\n"
            "  SELECT count(*) FROM auth.sessions WHERE (not_after IS NULL OR not_after > now())"
            " AND aal = 'aal1' AND user_agent IS NOT NULL AND ip IS NOT NULL $$;\n"
            "COMMENT ON FUNCTION public.active_sessions() IS 'sessions not expired';\n"
            "CREATE FUNCTION public.sign_ins(days int) RETURNS TABLE (provider text, n bigint)\n"
            "LANGUAGE sql AS $$ SELECT i.provider, count(DISTINCT i.user_id) FROM auth.identities i"
            " WHERE i.last_sign_in_at >= now() - make_interval(days => days)"
            " AND i.email LIKE '%@%' GROUP BY i.provider $$;\n"
            "CREATE FUNCTION public.actions() RETURNS TABLE (action text, ip varchar)\n"
            "LANGUAGE sql AS $$ SELECT payload->>'action', ip_address"
            " FROM auth.audit_log_entries WHERE created_at >= now() - interval '7 days' $$;\n",
        "20250102000000_channels.sql":
            "CREATE POLICY members_join ON realtime.messages FOR SELECT TO authenticated\n"
            "USING (realtime.topic() LIKE 'board-' || auth.uid()::text || '%');\n"})
    migrations = sql_migrations([folder], root=tmp_path, wrapped_in_transaction=True)

    assert apply_sql_migrations(migrations, database_url, platform="supabase") == ()
    with psycopg.connect(database_url) as conn:
        made = conn.execute(
            "SELECT count(*) FROM pg_proc WHERE proname IN ('active_sessions', 'sign_ins', "
            "'actions') AND obj_description(oid, 'pg_proc') IS NOT DISTINCT FROM "
            "CASE proname WHEN 'active_sessions' THEN 'sessions not expired' END").fetchone()
        policies = conn.execute("SELECT policyname FROM pg_policies "
                                "WHERE schemaname = 'realtime'").fetchall()
        conn.execute("SET realtime.topic = 'board-1'")
        topic = conn.execute("SELECT realtime.topic()").fetchone()
    assert made == (3,)
    assert policies == [("members_join",)]
    assert topic == ("board-1",)


def test_a_graphile_migrate_folder_runs_its_committed_migrations_as_graphile_migrate_does(
        tmp_path: Path, database_url: str) -> None:
    # graphile-migrate runs committed/<number>.sql (after its `--! Previous`/`--! Hash`
    # headers), then the current migration, each in a transaction unless its body starts
    # with `--! no-transaction`; even then the body is one query, one implicit transaction
    # when it holds several statements (25001). The folder's other files (afterReset
    # actions, `--!include` fixtures) are no migrations: run, they would fail (42P01). Its
    # placeholders are filled in (`:DATABASE_VISITOR`, a .gmrc's: 42601 as written).
    (tmp_path / ".gmrc").write_text('{"placeholders": {":DATABASE_VISITOR": "!ENV"}}\n')

    def committed(body: str) -> str:
        return "--! Previous: -\n--! Hash: sha1:0\n\n" + body

    folder = write(tmp_path / "migrations", {
        "committed/000001.sql": committed("CREATE TABLE a (id int, b int);\n"),
        "committed/000002-scratch.sql": committed(IN_A_TRANSACTION),
        "committed/000003.sql": committed("--! no-transaction\n"
                                          "CREATE INDEX CONCURRENTLY a_id ON a (id);\n"),
        "committed/000010.sql": committed("--! no-transaction\nSET lock_timeout = '1s';\n"
                                          "CREATE INDEX CONCURRENTLY a_b ON a (b);\n"),
        "current.sql": "CREATE VIEW applied AS SELECT filename FROM graphile_migrate.migrations;\n"
                       "ALTER TABLE a ADD COLUMN c int;\n",
        "committed/000011.sql": committed("GRANT SELECT ON a TO :DATABASE_VISITOR;\n"),
        "afterReset.sql": "ALTER TABLE never_made ADD COLUMN x int;\n",
        "fixtures/functions/f.sql": "CREATE VIEW v AS SELECT c FROM a;\n",
    })
    migrations = sql_migrations([folder], root=tmp_path)

    assert [m.path for m in migrations] == [
        "migrations/committed/000001.sql", "migrations/committed/000002-scratch.sql",
        "migrations/committed/000003.sql", "migrations/committed/000010.sql",
        "migrations/committed/000011.sql", "migrations/current.sql"]
    failures = apply_sql_migrations(migrations, database_url, runner=migration_runner(folder))
    assert [(f.location.path, f.location.line, f.message.split(":")[0]) for f in failures] == [
        ("migrations/committed/000010.sql", 6, "25001")]
    assert [m.starts_in_transaction for m in migrations] == [True, True, False, True, True, True]
    assert columns(database_url, "a") == ["id", "b", "c"]
    assert sql_migrations([folder / "committed"], root=tmp_path)[2].starts_in_transaction is False


def test_an_atlas_directory_runs_each_file_as_atlas_migrate_apply_does(
        tmp_path: Path, database_url: str) -> None:
    # `atlas migrate apply` runs each file of its directory (the one with atlas.sum) in a
    # transaction (`--tx-mode file`), unless the file's directives -- its opening comment
    # lines, a blank line after them -- say `atlas:txmode none` (chainloop's
    # `CREATE INDEX CONCURRENTLY` files): then statement by statement. The same comment
    # with no blank line after it belongs to the statement, and the file is in a transaction.
    folder = write(tmp_path / "migrations", {
        "atlas.sum": "h1:x=\n",
        "20240101000000_a.sql": "CREATE TABLE a (id int, b int);\n",
        "20240102000000_b.sql": IN_A_TRANSACTION,
        "20240103000000_c.sql": "-- atlas:txmode none\n\nDROP INDEX IF EXISTS a_id;\n"
                                "CREATE INDEX CONCURRENTLY a_id ON a (id);\n",
        "20240104000000_d.sql": "-- atlas:txmode none\nCREATE INDEX CONCURRENTLY a_b ON a (b);\n",
    })
    migrations = sql_migrations([folder], root=tmp_path)

    failures = apply_sql_migrations(migrations, database_url, runner=migration_runner(folder))
    assert [(f.location.path, f.location.line, f.message.split(":")[0]) for f in failures] == [
        ("migrations/20240104000000_d.sql", 2, "25001")]
    assert [m.starts_in_transaction for m in migrations] == [True, True, False, True]


def test_a_hasura_migration_runs_in_a_transaction(tmp_path: Path, database_url: str) -> None:
    # `hasura migrate apply` sends the pending migrations' up.sql as run_sql queries of one
    # bulk request, which the server runs in one transaction (hasura/graphql-engine#2939:
    # CREATE INDEX CONCURRENTLY cannot be applied, 25001). Config v3 keeps them under
    # migrations/<database>/.
    project = tmp_path / "hasura"
    (project / "metadata").mkdir(parents=True)
    (project / "config.yaml").write_text("version: 3\nendpoint: http://localhost:8080\n")
    folder = write(project / "migrations" / "default", {
        "1600000000000_a/up.sql": "CREATE TABLE a (id int, b int);\n",
        "1600000000000_a/down.sql": "DROP TABLE a;\n",
        "1600000000001_b/up.sql": IN_A_TRANSACTION,
        "1600000000002_c/up.sql": "CREATE INDEX CONCURRENTLY a_id ON a (id);\n",
    })
    migrations = sql_migrations([folder], root=tmp_path)

    failures = apply_sql_migrations(migrations, database_url)
    assert [(f.location.path, f.location.line, f.message.split(":")[0], f.applied_later)
            for f in failures] == [
        ("hasura/migrations/default/1600000000002_c/up.sql", 1, "25001", True)]
    assert [m.starts_in_transaction for m in migrations] == [True, True, True]


def test_a_node_pg_migrate_sql_migration_runs_its_up_section_in_a_transaction(
        tmp_path: Path, database_url: str) -> None:
    # node-pg-migrate runs the `-- Up Migration` section of a SQL migration (to its
    # `-- Down Migration`) in a transaction, whatever comments it opens with: node-pg-migrate
    # 9.0.0 ran c's and d's CREATE INDEX CONCURRENTLY in its transaction (25001; a SQL
    # migration has no directive for `pgm.noTransaction()`), and they fail here too, then
    # are applied after the transaction (`applied_later`). Its down section never runs on
    # upgrade: run, it drops the table.
    folder = write(tmp_path / "migrations", {
        "1700000000000_a.sql": "-- Up Migration\nCREATE TABLE a (id int, b int);\n\n"
                               "-- Down Migration\nDROP TABLE a;\n",
        "1700000000001_b.sql": "-- up migration\n" + IN_A_TRANSACTION + "-- down migration\n",
        "1700000000002_c.sql": "-- no transaction\n-- Up Migration\n"
                               "CREATE INDEX CONCURRENTLY a_id ON a (id);\n-- Down Migration\n",
        "1700000000003_d.sql": "-- no transaction\n-- Up Migration\nSET lock_timeout = '1s';\n"
                               "CREATE INDEX CONCURRENTLY a_b ON a (b);\n-- Down Migration\n"
                               "DROP INDEX a_b;\n",
    })
    migrations = sql_migrations([folder], root=tmp_path)

    failures = apply_sql_migrations(migrations, database_url)
    assert [(f.location.path, f.location.line, f.message.split(":")[0], f.applied_later)
            for f in failures] == [("migrations/1700000000002_c.sql", 3, "25001", True),
                                   ("migrations/1700000000003_d.sql", 4, "25001", True)]
    assert [m.starts_in_transaction for m in migrations] == [True, True, True, True]
    assert "public.a" in relations(database_url)


def test_a_liquibase_formatted_sql_file_runs_each_changeset_as_liquibase_does(
        tmp_path: Path, database_url: str) -> None:
    # Liquibase runs each changeset of a formatted SQL file in a transaction of its own
    # (42P01 for the temporary table outside one), unless it says runInTransaction:false
    # (CONCURRENTLY runs); a changeset for another dbms never runs on PostgreSQL (42601).
    folder = write(tmp_path / "db" / "changelog", {
        "001-init.sql": "--liquibase formatted sql\n\n--changeset ann:1\n"
                        "CREATE TABLE a (id int, b int);\n--rollback DROP TABLE a;\n\n"
                        "--changeset ann:2\n" + IN_A_TRANSACTION +
                        "--changeset ann:3 runInTransaction:false\n"
                        "CREATE INDEX CONCURRENTLY a_id ON a (id);\n"
                        "--changeset ann:4 dbms:mysql,mariadb\n"
                        "CREATE TABLE m (id INT AUTO_INCREMENT PRIMARY KEY);\n"
                        "--changeset ann:5\nCREATE INDEX CONCURRENTLY a_b ON a (b);\n",
    })
    migrations = sql_migrations([folder], root=tmp_path)

    failures = apply_sql_migrations(migrations, database_url)
    assert [(f.location.line, f.message.split(":")[0]) for f in failures] == [(15, "25001")]
    assert "public.m" not in relations(database_url)


def test_set_transaction_right_after_begin_runs_as_written(tmp_path: Path,
                                                           database_url: str) -> None:
    # Langfuse's 20260821121500_backfill_evaluator_v2 opens with `BEGIN;` and sets
    # REPEATABLE READ before its first query. Run under a savepoint of dbsafe's it failed
    # (25001: must not be called in a subtransaction), and was then run outside any
    # transaction; PostgreSQL runs it as written.
    folder = write(tmp_path / "prisma" / "migrations", {
        "migration_lock.toml": 'provider = "postgresql"\n',
        "20260101000000_a/migration.sql": "BEGIN;\n"
                                          "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ;\n"
                                          "CREATE TABLE a (id int);\nCOMMIT;\n",
    })
    migrations = sql_migrations([folder], root=tmp_path)

    assert apply_sql_migrations(migrations, database_url, runner=migration_runner(folder)) == ()
    assert "public.a" in relations(database_url)


_PLANNED = "2024-01-01T00:00:00Z Me <me@example.com>"


def sqitch_project(root: Path) -> Path:
    """A Sqitch project (BeeeOn's and Tamarou's shape): `top_dir` set in sqitch.conf, a
    change named with a `/` (a subfolder), a change reworked after a tag (its first version
    in `deploy/insert_user@v1.0.sql`), dependencies, a psql variable; revert and verify
    scripts beside the deploy ones. By name, `add_email` and both `insert_user` scripts
    come before `schema/users`, which makes the table they need."""
    return write(root, {
        "sqitch.conf": "[core]\n\tengine = pg\n\ttop_dir = ./db  # the scripts\n"
                       '[engine "pg"]\n\ttarget = dev\n[target "dev"]\n\turi = db:pg:shop\n',
        "db/sqitch.plan": (
            "%syntax-version=1.0.0\n%project=shop\n\n"
            f"schema/users {_PLANNED} # users table\n"
            f"insert_user [schema/users] {_PLANNED}\n"
            f"@v1.0 {_PLANNED} # release\n"
            f"add_email [schema/users] {_PLANNED}\n"
            f"insert_user [insert_user@v1.0 add_email] {_PLANNED} # rework\n"),
        "db/deploy/schema/users.sql": "BEGIN;\nCREATE TABLE users (id int, nickname text);\n"
                                      "COMMIT;\n",
        "db/deploy/insert_user@v1.0.sql": (
            "BEGIN;\nCREATE FUNCTION insert_user(n text) RETURNS void LANGUAGE sql AS\n"
            "  $$ INSERT INTO users (nickname) VALUES (n) $$;\nCOMMIT;\n"),
        "db/deploy/add_email.sql": (
            "\\set note 'who to write to'\nBEGIN;\nALTER TABLE users ADD COLUMN email text;\n"
            "COMMENT ON COLUMN users.email IS :'note';\nCOMMIT;\n"),
        "db/deploy/insert_user.sql": (
            "BEGIN;\nDROP FUNCTION insert_user(text);\n"
            "CREATE FUNCTION insert_user(n text, e text) RETURNS void LANGUAGE sql AS\n"
            "  $$ INSERT INTO users (nickname, email) VALUES (n, e) $$;\nCOMMIT;\n"),
        "db/revert/schema/users.sql": "BEGIN;\nDROP TABLE users;\nCOMMIT;\n",
        "db/revert/add_email.sql": "BEGIN;\nALTER TABLE users DROP COLUMN email;\nCOMMIT;\n",
        "db/verify/schema/users.sql": "SELECT id, nickname FROM users WHERE false;\n",
        "db/verify/add_email.sql": "SELECT email FROM users WHERE false;\n",
    })


def test_a_sqitch_project_runs_its_plans_deploy_scripts_as_sqitch_deploy_does(
        tmp_path: Path, database_url: str) -> None:
    # `sqitch deploy` runs the deploy script of each change of sqitch.plan, in the plan's
    # order, with psql (each script's own BEGIN and COMMIT its transaction, a `\set`
    # variable's value sent as a quoted literal); a reworked change's earlier line runs the script as of
    # the tag after it. Its revert and verify scripts never run: run after the deploy
    # scripts, they drop what those made.
    project = sqitch_project(tmp_path / "shop")
    migrations = sql_migrations([project], root=tmp_path)
    assert [m.path for m in migrations] == [
        "shop/db/deploy/schema/users.sql", "shop/db/deploy/insert_user@v1.0.sql",
        "shop/db/deploy/add_email.sql", "shop/db/deploy/insert_user.sql"]
    assert not any(m.starts_in_transaction for m in migrations)

    assert apply_sql_migrations(migrations, database_url) == ()
    assert columns(database_url, "users") == ["id", "nickname", "email"]
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT pg_get_function_arguments('insert_user'::regproc), "
                           "col_description('users'::regclass, 3)").fetchone()
    assert row == ("n text, e text", "who to write to")


def test_a_yoyo_folder_runs_each_migration_as_yoyo_does(tmp_path: Path,
                                                       database_url: str) -> None:
    # yoyo (a `yoyo.ini` naming the folder in `sources`, IATI's bulk-data-service's
    # `db-migrations`): each `<id>.sql` in the order its `-- depends:` directives make
    # (topologically, by file name where they leave the choice), its `<id>.rollback.sql`
    # never run as a migration (by name it sorts first: `DROP TABLE a` before `a` exists),
    # each file in a transaction unless it says `-- transactional: false`, and its history
    # tables there (`_yoyo_migration`, `_yoyo_log`, `_yoyo_version`, `yoyo_lock`).
    (tmp_path / "yoyo.ini").write_text("[DEFAULT]\nsources = db-migrations\n"
                                       "database = postgresql://%(DB_USER)s@%(DB_HOST)s/x\n")
    folder = write(tmp_path / "db-migrations", {
        "0001.a.sql": "--\n-- depends:\n\nCREATE TABLE a (id int, b int);\n",
        "0001.a.rollback.sql": "DROP TABLE a;\n",
        "0002.index-c.sql": "-- depends: 0001.a\n-- depends: 0003.c\n"
                            "CREATE INDEX c_id ON c (id);\n",
        "0003.c.sql": "-- depends: 0001.a\nCREATE TABLE c (id int);\n",
        "0004.d.sql": "-- depends: 0002.index-c\n" + IN_A_TRANSACTION,
        "0005.e.sql": "-- an index built while the table is written\n"
                      "-- transactional: false\n"
                      "CREATE INDEX CONCURRENTLY a_id ON a (id);\n",
        "0006.f.sql": "CREATE VIEW applied AS SELECT migration_id FROM _yoyo_migration;\n"
                      "CREATE VIEW logged AS SELECT operation FROM _yoyo_log;\n",
        "sub/0007.g.sql": "DROP TABLE a;\n",  # yoyo reads no subfolder
        # run after every `yoyo apply`, after all the others whatever their names
        "post-apply.sql": "CREATE OR REPLACE VIEW rs AS SELECT * FROM r;\n",
        "r.sql": "CREATE TABLE r (id int);\n",
    })
    migrations = sql_migrations([folder], root=tmp_path)

    runner = migration_runner(folder)
    assert runner == "yoyo"
    assert apply_sql_migrations(migrations, database_url, runner=runner) == ()
    assert [m.path.removeprefix("db-migrations/") for m in migrations] == [
        "0001.a.sql", "0003.c.sql", "0002.index-c.sql", "0004.d.sql", "0005.e.sql",
        "0006.f.sql", "r.sql", "post-apply.sql"]
    assert [m.starts_in_transaction for m in migrations] == [True] * 4 + [False] + [True] * 3
    assert {"public.a", "public.c_id", "public.yoyo_lock", "public._yoyo_version"} \
        <= relations(database_url)


def test_yoyo_s_dependencies_in_a_circle_are_an_error(tmp_path: Path) -> None:
    folder = write(tmp_path / "migrations", {
        "0001.a.sql": "-- depends: 0002.b\nSELECT 1;\n",
        "0002.b.sql": "-- depends: 0001.a\nSELECT 1;\n",
    })
    with pytest.raises(SourceError, match=r"in a circle \(0001.a, 0002.b\)"):
        sql_migrations([folder], root=tmp_path)


PRISMA_FOLDER = {
    "migration_lock.toml": 'provider = "postgresql"\n',
    "1_a/migration.sql": "CREATE TABLE a (id int);\n",
    "2_b/migration.sql": "-- the index alone\nCREATE INDEX CONCURRENTLY a_id ON a (id);\n",
    "3_c/migration.sql": "ALTER TABLE a ADD COLUMN b int;\nCREATE INDEX CONCURRENTLY a_b ON a (b);\n",
}


@pytest.mark.parametrize(("prisma", "refused"), [
    ("^5.22.0", True), ("~7.3.0", True), ("6.19.0", True),
    ("7.8.0", False), ("^7.4.0", False), ("^7.3.0", False), (None, False)])
def test_a_prisma_migration_runs_as_the_projects_prisma_sends_it(
        tmp_path: Path, database_url: str, prisma: str | None, refused: bool) -> None:
    # Before 7.4, prisma's schema engine sends a migration.sql as one simple query
    # (`apply_migration_script`: `client.simple_query(script)`), one implicit transaction
    # in which PostgreSQL refuses CONCURRENTLY (25001), as it does the file sent so here;
    # since 7.4 it sends each statement on its own. A version range that may reach 7.4
    # (`^7.3.0`), or no package.json naming prisma, is read as the newer way.
    folder = write(tmp_path / "packages" / "db" / "prisma" / "migrations", PRISMA_FOLDER)
    if prisma is not None:
        (tmp_path / "packages" / "db" / "package.json").write_text(
            json.dumps({"name": "db", "devDependencies": {"prisma": prisma}}))
    (tmp_path / "package.json").write_text('{"name": "root", "dependencies": {}}')
    migrations = sql_migrations([folder], root=tmp_path)

    failures = apply_sql_migrations(migrations, database_url, runner="prisma")

    assert [(f.location.path, f.location.line, f.message.split(":")[0]) for f in failures] == (
        [("packages/db/prisma/migrations/3_c/migration.sql", 2, "25001")] if refused else [])
    with psycopg.connect(database_url, autocommit=True) as conn, \
            pytest.raises(psycopg.errors.ActiveSqlTransaction):
        conn.execute("DROP INDEX IF EXISTS a_b; ALTER TABLE a DROP COLUMN IF EXISTS b;"
                     + PRISMA_FOLDER["3_c/migration.sql"])


def test_a_dbmate_folder_runs_the_files_dbmate_runs_in_its_order(tmp_path: Path) -> None:
    # dbmate 2.36.0 (`migrationFileRegexp` `^(\d+).*\.sql$`, sorted by file name): it ran
    # `20240105-tags.sql` last and skipped `seed.sql` and `sub/20240102000000_x.sql`.
    from dbsafe.extract.migration import unrun_files

    folder = write(tmp_path / "db" / "migrations", {
        "20240101000000_users.sql": "-- migrate:up\nCREATE TABLE users (id int);\n"
                                    "-- migrate:down\nDROP TABLE users;\n",
        "20240105-tags.sql": "-- migrate:up\nALTER TABLE users ADD tag text;\n-- migrate:down\n",
        "seed.sql": "INSERT INTO users VALUES (1);\n",
        "sub/20240102000000_x.sql": "-- migrate:up\nCREATE TABLE x ();\n-- migrate:down\n",
    })
    assert [m.path for m in sql_migrations([folder], root=tmp_path)] == [
        "db/migrations/20240101000000_users.sql", "db/migrations/20240105-tags.sql"]
    assert sorted(p.name for p in unrun_files(folder)) == ["20240102000000_x.sql", "seed.sql"]

"""A JavaScript/TypeScript module defining an `up` and a `down` step is a migration, run
against the schema of its own revision: not validated against today's, wherever it lives.

Logto keeps its migrations as `packages/schemas/alterations/<version>-<time>-<name>.ts`
(`const alteration: AlterationScript = { up: async (pool) => ..., down: ... }`); one
backfills from `logs.type`, a column its later schema no longer has, so checking it
against today's schema reported a column on code that never runs again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.extract.migration import migration_kind

_LOGTO = """import { sql } from '@silverhand/slonik';

const alteration: AlterationScript = {
  up: async (pool) => {
    await pool.query(sql`update users set created_at = logs.created_at from logs where logs.type = 'Register'`);
  },
  down: async (pool) => {
    // It cannot be reverted automatically.
  },
};

export default alteration;
"""


@pytest.mark.parametrize("source", [
    _LOGTO,
    # Kysely
    "export async function up(db: Kysely<any>): Promise<void> {\n"
    "  await sql`update users set x = 1`.execute(db);\n}\n"
    "export async function down(db: Kysely<any>): Promise<void> {}\n",
    # knex, node-pg-migrate (`exports.down = false`: irreversible)
    "exports.up = function (knex) { return knex.raw('update users set x = 1'); };\n"
    "exports.down = false;\n",
    # TypeORM
    "export class AddX1700000000000 implements MigrationInterface {\n"
    "  public async up(queryRunner: QueryRunner): Promise<void> {\n"
    "    await queryRunner.query(`ALTER TABLE users ADD x int`);\n  }\n"
    "  public async down(queryRunner: QueryRunner): Promise<void> {}\n}\n",
    # Sequelize, and its older skeleton
    "module.exports = {\n  async up (queryInterface, Sequelize) {},\n"
    "  async down (queryInterface, Sequelize) {}\n};\n",
    "module.exports = {\n  up: (queryInterface, Sequelize) => {\n    return 1;\n  },\n"
    "  down: (queryInterface, Sequelize) => {}\n};\n",
    # umzug
    "export const up: Migration = async ({ context: sql }) => { await sql`update t set x = 1`; };\n"
    "export const down: Migration = async () => {};\n",
])
def test_a_module_with_up_and_down_is_a_migration(source: str) -> None:
    assert migration_kind("src/db/changes/add_x.ts", source.encode()) == "migration"


@pytest.mark.parametrize("source", [
    # knex's CommonJS: steps declared, then exported by name
    "async function up(knex) { await knex.raw('update users set x = 1'); }\n"
    "async function down(knex) {}\nmodule.exports = { up, down };\n",
    "const up = (knex) => knex.raw('update users set x = 1');\n"
    "const down = (knex) => knex.raw('update users set x = 0');\nexport { up, down };\n",
    # TypeORM's JavaScript migrations; migrate-mongo's (and Sequelize's) object
    "module.exports = class AddX1700000000000 {\n  async up(queryRunner) {}\n"
    "  async down(queryRunner) {}\n};\n",
    "module.exports = {\n  async up(db, client) {},\n  async down(db, client) {}\n};\n",
    # node-pg-migrate's irreversible migration, as an ES module
    "export const up = (pgm) => { pgm.sql('update users set x = 1'); };\n"
    "export const down = false;\n",
])
def test_each_runners_exported_steps_make_a_migration(source: str) -> None:
    assert migration_kind("src/db/changes/add_x.js", source.encode()) == "migration"


@pytest.mark.parametrize("source", [
    # arrow keys, and a call of methods named so
    "const keys = { up: 'ArrowUp', down: 'ArrowDown' };\nlist.up(); list.down();\n",
    # a migration runner's type of them (AFFiNE's data migrations)
    "interface Migration {\n  up: (db: PrismaClient, injector: ModuleRef) => Promise<void>;\n"
    "  down: (db: PrismaClient, injector: ModuleRef) => Promise<void>;\n}\n",
    # only one of the two
    "export async function up(db) { await db.query('select 1'); }\n",
    "import { down } from './steps';\nexport const up = () => down();\n",
    # Kener's uptime counters (`src/lib/server/tool.ts`)
    "let up = 0;\nlet down = 0;\nexport function count(rows) { for (const r of rows) "
    "r.ok ? up++ : down++; return { up, down }; }\n",
    # a keyboard handler's local functions, a class of its own no export hands out
    "function up() { move(-1); }\nfunction down() { move(1); }\n"
    "export const keys = { ArrowUp: up, ArrowDown: down };\n",
    "class Cursor {\n  up(n) { this.i -= n; }\n  down(n) { this.i += n; }\n}\n"
    "export const cursor = new Cursor();\n",
])
def test_other_modules_are_application_code(source: str) -> None:
    assert migration_kind("src/keys.ts", source.encode()) is None


@pytest.mark.db
@pytest.mark.usefixtures("one_server_throwaways")
def test_an_alteration_module_is_not_validated(tmp_path: Path) -> None:
    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    (folder / "1_init.sql").write_text(
        "create table users (id int primary key, created_at timestamptz);\n"
        "create table logs (id int primary key, type text, created_at timestamptz);\n")
    (folder / "2_drop_type.sql").write_text("alter table logs drop column type;\n")
    alterations = tmp_path / "packages" / "schemas" / "alterations"
    alterations.mkdir(parents=True)
    (alterations / "1.0.0-1664462389-correct-created-at.ts").write_text(_LOGTO)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.ts").write_text(
        "export const f = (pool) => pool.query(sql`select type from logs where id = 1`);\n")

    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "packages",
                                                                     tmp_path / "src"])

    assert [(f.code, f.location.path) for f in report.findings if f.location] == [
        ("DBS302", "src/app.ts")]
    assert dict(report.findings[0].context)["PostgreSQL"].startswith("42703")
    # Not left to `dbsafe lint`, which reads SQL migrations only: counted apart, said so.
    assert report.summary["migration_files"] == 0
    assert report.summary["code_migration_files"] == 1
    assert [s.reason for s in report.skipped
            if s.location.path.endswith(".ts")] == [
        "not validated: a migration runs against the schema of its own revision, not today's "
        "(JavaScript/TypeScript: `dbsafe lint` reads SQL migrations only)"]


@pytest.mark.db
@pytest.mark.usefixtures("one_server_throwaways")
def test_a_module_counting_ups_and_downs_is_validated(tmp_path: Path) -> None:
    # Kener's `tool.ts` keeps uptime counters named `up` and `down`; taken for a migration's
    # steps, a module such as this one was left unchecked: its misspelt column never reported.
    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    (folder / "1_init.sql").write_text(
        "create table monitor_checks (id int primary key, status text);\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "tool.ts").write_text(
        "import { sql } from 'slonik';\n\nlet up = 0;\nlet down = 0;\n\n"
        "export async function uptime(pool) {\n"
        "  const rows = await pool.any(sql`select statuss from monitor_checks`);\n"
        "  for (const row of rows) row.statuss === 'UP' ? up++ : down++;\n"
        "  return { up, down };\n}\n")

    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])

    assert [(f.code, f.location.path, f.location.line) for f in report.findings
            if f.location] == [("DBS302", "src/tool.ts", 7)]
    assert report.summary["code_migration_files"] == 0


@pytest.mark.db
@pytest.mark.usefixtures("one_server_throwaways")
def test_python_migrations_other_than_alembic_revisions_are_counted_in_code(
        tmp_path: Path) -> None:
    # A Django migration is Python dbsafe lint does not read, as a Kysely one is
    # TypeScript; an alembic revision is one `dbsafe lint` lints.
    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    (folder / "1_init.sql").write_text("create table users (id int primary key);\n")
    django = tmp_path / "app" / "migrations"
    django.mkdir(parents=True)
    (django / "0001_initial.py").write_text(
        "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n"
        "    operations = [migrations.RunSQL('update users set id = id')]\n")
    versions = tmp_path / "tools" / "migrations" / "versions"
    versions.mkdir(parents=True)
    (versions / "1a_x.py").write_text(
        'revision = "1a"\ndown_revision = None\n\n\ndef upgrade():\n    pass\n')

    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "app",
                                                                     tmp_path / "tools"])

    assert report.findings == ()
    assert (report.summary["migration_files"], report.summary["code_migration_files"]) == (1, 1)
    assert [s.reason for s in report.skipped if s.location.path.startswith("app/")] == [
        "not validated: a migration runs against the schema of its own revision, not today's "
        "(Python: `dbsafe lint` reads SQL migrations and alembic revisions only)"]

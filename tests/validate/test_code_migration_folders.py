"""A project whose migrations are JavaScript/TypeScript, and no schema source dbsafe reads.

france-chaleur-urbaine keeps 33 Kysely migrations in `src/server/db/migrations` (beside its
`migrator.ts`, a `Migrator` over a provider of its own); run at its root, validate said only
"alembic config not found ... nor a folder of SQL migrations", as if there were none. The
error now names the folder, how many migrations it holds and their runner, and what to do
(apply them, give dbsafe that database). The files are read, never run; a schema source
dbsafe can read always wins, and the exit code stays 2.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.core import ConfigError
from tests.helpers import dbsafe_in_process


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


_KYSELY = """import type { Kysely } from 'kysely';
import { sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE TABLE tag (id uuid NOT NULL)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('tag').execute();
}
"""
_MIGRATOR = """import { Migrator, FileMigrationProvider } from 'kysely';
import { kdb } from '@/server/db/kysely';

export const migrator = new Migrator({ db: kdb, provider: new FileMigrationProvider({}) });
"""
_KNEX = """exports.up = function (knex) {
  return knex.schema.createTable('tag', (t) => { t.increments('id'); });
};

exports.down = function (knex) {
  return knex.schema.dropTable('tag');
};
"""
_TYPEORM = """import { MigrationInterface, QueryRunner } from 'typeorm';

export class Init1700000000000 implements MigrationInterface {
  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "tag" ("id" SERIAL NOT NULL)`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "tag"`);
  }
}
"""
_MIKRO_ORM = """import { Migration } from '@mikro-orm/migrations';

export class Migration20240101000000 extends Migration {
  async up(): Promise<void> {
    this.addSql('create table "tag" ("id" serial primary key);');
  }

  async down(): Promise<void> {
    this.addSql('drop table "tag";');
  }
}
"""
_SEQUELIZE = """'use strict';

module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.createTable('tags', { id: { type: Sequelize.INTEGER } });
  },
  async down(queryInterface) {
    await queryInterface.dropTable('tags');
  },
};
"""
_NODE_PG_MIGRATE = """import { MigrationBuilder } from 'node-pg-migrate';

export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.createTable('tag', { id: 'id' });
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.dropTable('tag');
}
"""


@pytest.mark.parametrize(("files", "package", "said"), [
    # france-chaleur-urbaine's: four levels down, beside the runner's own module
    ({"src/server/db/migrations/00000000000000_init.ts": _KYSELY,
      "src/server/db/migrations/20260113150402_add.ts": _KYSELY,
      "src/server/db/migrations/migrator.ts": _MIGRATOR},
     {"kysely": "^0.28"}, "src/server/db/migrations holds 2 TypeScript migrations (Kysely)"),
    # knex's CommonJS ones import nothing: its package.json says whose they are
    ({"migrations/20240101_init.js": _KNEX, "migrations/20240102_more.js": _KNEX},
     {"knex": "^3", "pg": "^8"}, "migrations holds 2 JavaScript migrations (knex)"),
    # `typeorm init`'s folder
    ({"src/migration/1700000000000-Init.ts": _TYPEORM}, {"typeorm": "^0.3"},
     "src/migration holds 1 TypeScript migration (TypeORM)"),
    ({"src/migrations/Migration20240101000000.ts": _MIKRO_ORM},
     {"@mikro-orm/migrations": "^6"}, "src/migrations holds 1 TypeScript migration (MikroORM)"),
    ({"db/migrations/20240101-create-tags.js": _SEQUELIZE},
     {"sequelize": "^6", "sequelize-cli": "^6"},
     "db/migrations holds 1 JavaScript migration (Sequelize)"),
    ({"migrations/1700000000000_init.ts": _NODE_PG_MIGRATE}, {"node-pg-migrate": "^7"},
     "migrations holds 1 TypeScript migration (node-pg-migrate)"),
    # a package.json naming two runners, modules naming none: no runner said
    ({"migrations/20240101_init.js": _KNEX}, {"knex": "^3", "kysely": "^0.28"},
     "migrations holds 1 JavaScript migration, and no SQL migrations"),
])
def test_a_folder_of_code_migrations_is_named_when_no_schema_source_is_found(
        tmp_path: Path, files: dict[str, str], package: dict[str, str], said: str) -> None:
    import json

    for name, text in files.items():
        _write(tmp_path / name, text)
    _write(tmp_path / "package.json", json.dumps({"dependencies": package}))
    _write(tmp_path / "src" / "app.ts", "export const q = sql`SELECT id FROM tag`;\n")
    with pytest.raises(ConfigError) as raised:
        commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])
    message = str(raised.value)
    assert message.startswith("no schema source dbsafe can read: "), message
    assert f"{tmp_path}/{said}" in message, message
    assert "dbsafe reads SQL migrations only" in message
    assert "--database-url" in message and "--snapshot FILE" in message
    assert "alembic config not found" not in message


def test_a_folder_named_migrations_without_code_migrations_keeps_the_plain_message(
        tmp_path: Path) -> None:
    # An application's own `migrations` module (a data migration helper, no up/down
    # exported) and a test fixture's Kysely migrations are no migrations of the schema.
    _write(tmp_path / "src" / "migrations" / "index.ts",
           "export function up(n: number) { return n + 1; }\n")
    _write(tmp_path / "tests" / "fixtures" / "migrations" / "1_init.ts", _KYSELY)
    with pytest.raises(ConfigError, match="alembic config not found") as raised:
        commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])
    assert "TypeScript" not in str(raised.value)


@pytest.mark.db
@pytest.mark.usefixtures("one_server_throwaways")
def test_a_readable_schema_source_wins_over_a_folder_of_code_migrations(
        tmp_path: Path) -> None:
    # A project moving from knex to SQL files: the SQL folder is the schema, the knex
    # folder is never named.
    _write(tmp_path / "migrations" / "20240101_init.js", _KNEX)
    _write(tmp_path / "package.json", '{"dependencies": {"knex": "^3"}}')
    _write(tmp_path / "db" / "migrations" / "001_init.sql", "CREATE TABLE tag (id int);\n")
    _write(tmp_path / "src" / "app.ts", "export const q = sql`SELECT nosuch FROM tag`;\n")
    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])
    assert [f.code for f in report.findings] == ["DBS302"]


def test_the_cli_exits_2_naming_the_folder(tmp_path: Path) -> None:
    _write(tmp_path / "src" / "server" / "db" / "migrations" / "1_init.ts", _KYSELY)
    _write(tmp_path / "src" / "app.ts", "export const q = sql`SELECT id FROM tag`;\n")
    found = dbsafe_in_process("validate", "src", cwd=tmp_path)
    assert found.returncode == 2
    assert found.stderr.strip().splitlines() == [
        "dbsafe: error: no schema source dbsafe can read: src/server/db/migrations holds 1 "
        "TypeScript migration (Kysely), and no SQL migrations: dbsafe reads SQL migrations "
        "only (the statements a Kysely, knex or TypeORM migration sends exist only when its "
        "code runs); apply them with their runner and give dbsafe that database "
        "(--database-url), or a `dbsafe schema dump` of it (--snapshot FILE)"]

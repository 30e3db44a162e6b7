"""A drizzle table or column in drizzle's `sql` template is the name drizzle writes there.

drizzle-orm 0.45 (`PgDialect().sqlToQuery`) writes ``sql`SELECT id FROM orders WHERE
user_id = ${users.id}` `` as `... WHERE user_id = "users"."id"` (no parameter), and
``${orders}`` as `"orders"`: PostgreSQL rejects the first (42P01, no FROM item `users`),
where the same statement with a parameter there prepares. Read as a parameter, it was counted
checked and passed. The tables and their named columns come from the schema files
`drizzle.config.ts` names; a column declared without its name (`nick: text()`, named by the
client's `casing`) stays a parameter here, where no client is made beside the schema file and
the config sets no `casing` (`test_drizzle_casing_db.py`). Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

pytestmark = pytest.mark.db

_SCHEMA = """\
CREATE TABLE users (id int PRIMARY KEY, full_name text, nick text);
CREATE TABLE orders (id int PRIMARY KEY, user_id int);
CREATE SCHEMA shop;
CREATE TABLE shop.items (id int PRIMARY KEY, label text);
"""

_DRIZZLE_SCHEMA = """\
import { pgTable, pgSchema, integer, text } from 'drizzle-orm/pg-core';

export const shop = pgSchema('shop');
export const users = pgTable('users', {
  id: integer('id').primaryKey(),
  fullName: text('full_name'),
  nick: text(),
});
export const orders = pgTable('orders', (t) => ({
  id: t.integer('id').primaryKey(),
  userId: t.integer('user_id'),
}));
export const items = shop.table('items', { id: integer('id'), title: text('title') });
"""

_QUERIES = """\
import { sql } from 'drizzle-orm';
import { users, orders as o } from '@/db/schema';
import { items } from '@acme/db/schema';

export async function report(db: Db, id: number) {
  await db.execute(sql`SELECT id FROM orders WHERE user_id = ${users.id}`);
  await db.execute(sql`SELECT ${o.userId} FROM ${o} WHERE ${o.id} = ${id}`);
  await db.execute(sql`SELECT id FROM ${items} WHERE ${items.title} = ${id}`);
  await db.execute(sql`SELECT id FROM users WHERE nick = ${users.nick}`);
}
"""


def test_postgresql_reads_what_drizzle_writes(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
        conn.execute("PREPARE parameter(int) AS SELECT id FROM orders WHERE user_id = $1")
        conn.execute('PREPARE rendered(int) AS SELECT "orders"."user_id" FROM "orders" '
                     'WHERE "orders"."id" = $1')
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute('PREPARE column_written AS SELECT id FROM orders '
                         'WHERE user_id = "users"."id"')
        with pytest.raises(psycopg.errors.UndefinedColumn):
            conn.execute('PREPARE unknown_column(text) AS SELECT id FROM "shop"."items" '
                         'WHERE "shop"."items"."title" = $1')


def test_drizzle_tables_and_columns_are_checked(database_url: str, tmp_path: Path) -> None:
    (tmp_path / "drizzle.config.ts").write_text(
        "import { defineConfig } from 'drizzle-kit';\n"
        "export default defineConfig({ dialect: 'postgresql', schema: './src/db/schema.ts' });\n")
    (tmp_path / "src" / "db").mkdir(parents=True)
    (tmp_path / "src" / "db" / "schema.ts").write_text(_DRIZZLE_SCHEMA)
    # another module named `schema` exporting a `users` (a validator's): its `users.id` is
    # a value; a relative import of the drizzle schema is its tables, also through a namespace
    (tmp_path / "src" / "api").mkdir()
    (tmp_path / "src" / "api" / "schema.ts").write_text(
        "import { z } from 'zod';\nexport const users = z.object({ id: z.number() });\n")
    (tmp_path / "src" / "api" / "routes.ts").write_text(
        "import { sql } from 'drizzle-orm';\n"
        "import { users } from './schema';\n"
        "import { orders } from '../db/schema';\n"
        "import * as schema from '../db/schema';\n"
        "export const a = (db: Db) => "
        "db.execute(sql`SELECT id FROM orders WHERE user_id = ${users.id}`);\n"
        "export const b = (db: Db) => "
        "db.execute(sql`SELECT id FROM users WHERE id = ${orders.userId}`);\n"
        "export const c = (db: Db) => db.execute(sql`SELECT ${schema.orders.id} "
        "FROM ${schema.orders} WHERE ${schema.users.fullName} = 'x'`);\n")
    report = validate_module(database_url, tmp_path, _SCHEMA, "queries.ts", _QUERIES)
    found = sorted((f.code, f.location.path, f.location.line)
                   for f in report.findings if f.location and f.code != "DBS304")
    # `users.id` in a statement reading `orders` alone: no FROM item `users` (and `orders`
    # in one reading `users`); `title`, declared in the drizzle schema, is not in the database
    assert found == [("DBS302", "queries.ts", 6), ("DBS302", "queries.ts", 8),
                     ("DBS302", "src/api/routes.ts", 6), ("DBS302", "src/api/routes.ts", 7)]
    assert report.summary["statements"] == 7
    assert report.summary["statements_analysed"] == 7


def test_tables_reexported_beside_the_schema_files_are_read(database_url: str,
                                                            tmp_path: Path) -> None:
    """A file beside the schema files re-exporting them (`src/db/index.ts`: `export * from
    './schema/users'`), the module a monorepo's packages import (`@acme/db`, journl's
    `@acme/db/schema`), names their tables too."""
    (tmp_path / "drizzle.config.ts").write_text(
        "import { defineConfig } from 'drizzle-kit';\n"
        "export default defineConfig({ dialect: 'postgresql', schema: './src/db/schema/*.ts' });\n")
    (tmp_path / "src" / "db" / "schema").mkdir(parents=True)
    (tmp_path / "src" / "db" / "schema" / "users.ts").write_text(
        "import { pgTable, integer } from 'drizzle-orm/pg-core';\n"
        "export const users = pgTable('users', { id: integer('id').primaryKey() });\n")
    (tmp_path / "src" / "db" / "schema" / "orders.ts").write_text(
        "import { pgTable, integer } from 'drizzle-orm/pg-core';\n"
        "export const orders = pgTable('orders', { id: integer('id'), userId: integer('user_id') });\n")
    (tmp_path / "src" / "db" / "index.ts").write_text(
        "export * from './schema/users';\nexport { orders } from './schema/orders';\n")
    (tmp_path / "src" / "api").mkdir()
    (tmp_path / "src" / "api" / "routes.ts").write_text(
        "import { sql } from 'drizzle-orm';\n"
        "import { users } from '../db';\n"
        "export const a = (db: Db) => "
        "db.execute(sql`SELECT id FROM orders WHERE user_id = ${users.id}`);\n")
    source = ("import { sql } from 'drizzle-orm';\n"
              "import { users, orders } from '@acme/db';\n"
              "export const b = (db: Db) => "
              "db.execute(sql`SELECT id FROM users WHERE id = ${orders.userId}`);\n")
    report = validate_module(database_url, tmp_path, _SCHEMA, "queries.ts", source)
    found = sorted((f.code, f.location.path, f.location.line)
                   for f in report.findings if f.location)
    # `"users"."id"` in a statement reading `orders` alone, `"orders"."user_id"` in one
    # reading `users` alone (42P01, as `test_postgresql_reads_what_drizzle_writes` shows)
    assert found == [("DBS302", "queries.ts", 3), ("DBS302", "src/api/routes.ts", 3)]

"""A drizzle column declared without its name is named by its key through the client's casing.

drizzle-orm 0.45.4 names `fullName: text()` by its key as the client's `casing` converts it
(`casing.ts`, `CasingCache`): `"full_name"` for `drizzle(pool, { casing: 'snake_case' })`,
`"fullName"` for a client with none (`_SENT`, printed by its `PgDialect.sqlToQuery`). Such a
column in drizzle's `sql` was a parameter: ``sql`SELECT id FROM orders WHERE id = ${users.id}` ``
was counted checked, though drizzle sends `... = "users"."id"`, 42P01; and
``${users.fullName}`` in a select list left its statement not validated. The client is read
where it is made beside the schema files (or, with none there, `drizzle.config`'s `casing`);
options dbsafe cannot see (`drizzle(pool, options)`) leave such columns unread. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

pytestmark = pytest.mark.db

_SNAKE = """\
CREATE TABLE users (id int PRIMARY KEY, full_name text, nick_name text);
CREATE TABLE orders (id int PRIMARY KEY, user_id int);
"""
_KEYS = """\
CREATE TABLE users (id int PRIMARY KEY, "fullName" text, nick_name text);
CREATE TABLE orders (id int PRIMARY KEY, "userId" int);
"""

_DRIZZLE_SCHEMA = """\
import { pgTable, integer, text } from 'drizzle-orm/pg-core';
export const users = pgTable('users', {
  id: integer().primaryKey(),
  fullName: text(),
  nick: text('nick_name'),
});
export const orders = pgTable('orders', (t) => ({
  id: t.integer().primaryKey(),
  userId: t.integer(),
}));
"""

_QUERIES = """\
import { sql } from 'drizzle-orm';
import { users, orders } from '@/db/schema';

export async function report(db: Db, id: number) {
  await db.execute(sql`SELECT ${users.fullName} FROM ${users} WHERE ${users.id} = ${id}`);
  await db.execute(sql`SELECT id FROM orders WHERE id = ${users.id}`);
  await db.execute(sql`SELECT ${orders.userId}, count(*) FROM ${orders} GROUP BY 1`);
}
"""

# drizzle-orm 0.45.4's `sqlToQuery` of `_QUERIES`' statements, by the client's casing
_SENT = {
    "snake_case": ('SELECT "users"."full_name" FROM "users" WHERE "users"."id" = $1',
                   'SELECT "orders"."user_id", count(*) FROM "orders" GROUP BY 1'),
    "": ('SELECT "users"."fullName" FROM "users" WHERE "users"."id" = $1',
         'SELECT "orders"."userId", count(*) FROM "orders" GROUP BY 1'),
}
_REFUSED = 'SELECT id FROM orders WHERE id = "users"."id"'


@pytest.mark.parametrize(("casing", "ddl"), [("snake_case", _SNAKE), ("", _KEYS)])
def test_postgresql_prepares_what_drizzle_sends(database_url: str, casing: str,
                                                ddl: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(ddl)
        for number, statement in enumerate(_SENT[casing]):
            conn.execute(f"PREPARE sent_{number}(int) AS {statement}" if "$1" in statement
                         else f"PREPARE sent_{number} AS {statement}")
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute(f"PREPARE refused AS {_REFUSED}")


def _project(root: Path, client: str | None, config_casing: str = "") -> None:
    casing = f"casing: '{config_casing}', " if config_casing else ""
    (root / "drizzle.config.ts").write_text(
        "import { defineConfig } from 'drizzle-kit';\n"
        f"export default defineConfig({{ {casing}dialect: 'postgresql', "
        "schema: './src/db/schema.ts' });\n")
    (root / "src" / "db").mkdir(parents=True)
    (root / "src" / "db" / "schema.ts").write_text(_DRIZZLE_SCHEMA)
    if client is not None:
        (root / "src" / "db" / "index.ts").write_text(
            "import { drizzle } from 'drizzle-orm/node-postgres';\n"
            "import { Pool } from 'pg';\n"
            "import * as schema from './schema';\n"
            "const pool = new Pool({ connectionString: process.env.DATABASE_URL });\n"
            f"export const db = drizzle({client});\n")


@pytest.mark.parametrize(("client", "config_casing", "ddl"), [
    ("pool, { schema, casing: 'snake_case' }", "", _SNAKE),
    ("{ client: pool, casing: 'snake_case' }", "", _SNAKE),
    (None, "snake_case", _SNAKE),  # no client beside the schema: drizzle-kit's casing
    ("pool, { schema }", "", _KEYS),  # no casing: the keys themselves
    ("pool", "snake_case", _KEYS),  # the client's casing, not the config's, is sent
], ids=["client", "client-object", "config", "no-casing", "client-over-config"])
def test_columns_named_by_casing_are_checked(database_url: str, tmp_path: Path,
                                             client: str | None, config_casing: str,
                                             ddl: str) -> None:
    _project(tmp_path, client, config_casing)
    report = validate_module(database_url, tmp_path, ddl, "queries.ts", _QUERIES)
    found = sorted((f.code, f.location.line) for f in report.findings if f.location)
    assert found == [("DBS302", 6)]  # `"users"."id"` in a statement reading `orders` alone
    assert report.summary["statements"] == 3
    assert report.summary["statements_analysed"] == 3


def test_options_not_seen_leave_such_columns_unread(database_url: str, tmp_path: Path) -> None:
    _project(tmp_path, "pool, options", "snake_case")
    report = validate_module(database_url, tmp_path, _SNAKE, "queries.ts", _QUERIES)
    # `${users.fullName}` in a select list is not validated; `${users.id}` is a parameter
    assert [f.code for f in report.findings if f.location] == ["DBS304", "DBS304"]
    assert report.summary["statements_analysed"] == 1

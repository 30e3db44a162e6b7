"""drizzle's `sql`, tables and client reached through the project's own package.

A monorepo's `packages/db` (`"name": "@acme/db"`) re-exports drizzle's `sql` (journl's
`export * from "drizzle-orm/sql"` in `src/index.ts`, or `export { sql } from 'drizzle-orm'`
in a file the entry point re-exports), its tables (`export * from './schema'`) and its client
(`export * from './client'`), and the apps import them from `'@acme/db'`. drizzle-orm
0.45.4 sends `db.execute(sql`SELECT ${users.fullName} FROM ${users}`)` as `SELECT
"users"."full_name" FROM "users"`, `${users.createdAt}` of `createdAt: timestamp()` with the
client's `casing: 'snake_case'` as `"users"."created_at"`, and `db.update(users).set({
fullName: sql`upper(nick)` })` as `update "users" set "full_name" = upper(nick)` (`_SENT`,
printed by its `toSQL()`). None of that was known: the `sql` was no drizzle tag, the tables
not imported, the client not seen. Each is now followed through `package.json`'s `name` and
`exports` and the entry point's literal re-exports. Real PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import assert_prepares, validate_module

pytestmark = pytest.mark.db

_SCHEMA = "CREATE TABLE users (id int PRIMARY KEY, full_name text, created_on timestamptz);\n"

_USERS = """\
import { pgTable, integer, text, timestamp } from 'drizzle-orm/pg-core';
export const users = pgTable('users', {
  id: integer('id').primaryKey(), fullName: text('full_name'), createdAt: timestamp(),
});
"""

_QUERIES = """\
import { sql, users } from '@acme/db';

export async function report(db: Db) {
  await db.execute(sql`SELECT ${users.fullName} FROM ${users}`);
  await db.execute(sql`SELECT ${users.createdAt} FROM ${users}`);
  await db.update(users).set({ fullName: sql`upper(nick)` });
}
"""

# drizzle-orm 0.45.4's `toSQL()` of `_QUERIES`' statements (the client `snake_case`)
_SENT = 'SELECT "users"."full_name" FROM "users"'
_REFUSED = ('SELECT "users"."created_at" FROM "users"',
            'update "users" set "full_name" = upper(nick)')


def _package(root: Path, files: dict[str, str], exports: dict[str, str]) -> None:
    package = root / "packages" / "db"
    for name, text in {"drizzle.config.ts": (
            "export default { dialect: 'postgresql', schema: './src/schema/tables' };\n"),
            "src/schema/tables/users.ts": _USERS, **files}.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text)
    (package / "package.json").write_text(json.dumps({"name": "@acme/db", "exports": exports}))
    (root / "apps" / "web").mkdir(parents=True)


def test_postgresql_prepares_what_drizzle_sends(database_url: str) -> None:
    assert_prepares(database_url, _SCHEMA, (_SENT,), _REFUSED)


def test_sql_tables_and_client_are_followed_from_the_package_entry(
        database_url: str, tmp_path: Path) -> None:
    _package(tmp_path, {
        "src/index.ts": "export * from './schema';\nexport * from './client';\n"
                        "export * from './sql';\n",
        "src/sql.ts": "export { sql, eq } from 'drizzle-orm';\n",
        "src/schema/index.ts": "export * from './tables/users';\n",
        "src/client/index.ts": "import { drizzle } from 'drizzle-orm/node-postgres';\n"
                               "export const db = drizzle(pool, { casing: 'snake_case' });\n",
    }, {".": "./src/index.ts"})
    report = validate_module(database_url, tmp_path, _SCHEMA, "apps/web/report.ts", _QUERIES)
    found = sorted((f.code, f.location.line, f.location.column)
                   for f in report.findings if f.location)
    # `"users"."created_at"` (the key `createdAt`) and `nick` (42703)
    assert found == [("DBS302", 5, 39), ("DBS302", 6, 52)]
    assert report.summary["statements_analysed"] == 3


def test_sql_reexported_from_drizzle_orm_sql_is_drizzles(
        database_url: str, tmp_path: Path) -> None:
    """journl's `export * from "drizzle-orm/sql"`, its tables imported from `@acme/db/schema`."""
    _package(tmp_path, {
        "src/index.ts": 'export { alias } from "drizzle-orm/pg-core";\n'
                        'export * from "drizzle-orm/sql";\n',
        "src/schema/index.ts": "export * from './tables/users';\n",
    }, {".": "./src/index.ts", "./schema": "./src/schema/index.ts"})
    source = ("import { sql } from '@acme/db';\n"
              "import { users } from '@acme/db/schema';\n"
              "export const f = (db: Db) => db.update(users).set({ fullName: sql`upper(nick)` });\n")
    report = validate_module(database_url, tmp_path, _SCHEMA, "apps/web/f.ts", source)
    assert [(f.code, f.location.line) for f in report.findings if f.location] == [
        ("DBS302", 3)]


# Latitude's layout, cut down: `pnpm-workspace.yaml` names `packages/**`, so its drizzle
# config lies three levels down (`packages/platform/db-postgres`), and its tables are
# `latitudeSchema.table(...)` of a `pgSchema("latitude")` its schema files import from a
# helper module beside them.
_HELPERS = 'import { pgSchema } from "drizzle-orm/pg-core"\nexport const latitudeSchema = pgSchema("latitude")\n'
_SCORES = """\
import { text, varchar } from "drizzle-orm/pg-core"
import { latitudeSchema as app } from "../schemaHelpers.ts"
export const scores = app.table("scores", {
  id: varchar("id", { length: 24 }).primaryKey(), issueId: varchar("issue_id", { length: 24 }),
  source: text("source"),
})
"""
_ISSUES = """\
import { sql } from "drizzle-orm"
import { scores } from "../schema/scores.ts"

export const counted = (db: Db, id: string) => db.execute(sql`
  select count(*) from ${scores} where ${scores.issueId} = ${id} and ${scores.source} = 'annotation'`)
export const misspelt = (db: Db) => db.execute(sql`select ${scores.id}, sorce from ${scores}`)
"""


def test_a_nested_workspace_packages_drizzle_tables_of_an_imported_pg_schema_are_read(
        database_url: str, tmp_path: Path) -> None:
    """A drizzle config in a package a workspace glob names deeper than `packages/*`
    (`packages/**`), and tables of a `pgSchema(...)` its schema files import: both were
    unread, so a statement naming them was a DBS304 note (Latitude's repositories); now
    `${scores}` is `"latitude"."scores"` and the statement is checked (42703 for `sorce`)."""
    (tmp_path / "pnpm-workspace.yaml").write_text(
        "packages:\n  - apps/*\n  - packages/**\n  - '!packages/telemetry/**'\n")
    package = tmp_path / "packages" / "platform" / "db-postgres"
    for name, text in {"drizzle.config.ts": 'export default { dialect: "postgresql", '
                                            'schema: "./src/schema/*.ts", out: "./drizzle" }\n',
                       "package.json": '{"name": "@platform/db-postgres"}',
                       "src/schemaHelpers.ts": _HELPERS, "src/schema/scores.ts": _SCORES,
                       "src/repositories/issues.ts": _ISSUES}.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text)
    report = validate_module(
        database_url, tmp_path, "CREATE SCHEMA latitude; CREATE TABLE latitude.scores "
        "(id varchar(24) PRIMARY KEY, issue_id varchar(24), source text);\n", "noop.py", "")
    found = [(f.code, f.location.path.rpartition("/")[2], f.location.line, f.subject,
              dict(f.context).get("PostgreSQL", "")[:5]) for f in report.findings if f.location]
    assert found == [("DBS302", "issues.ts", 6, "latitude.scores.sorce", "42703")], found

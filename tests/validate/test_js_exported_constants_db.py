"""Table names another module of the project exports as string constants.

makerkit's kits name every table once, `export const USERS_TABLE = \\`users\\`` in
`src/lib/db-tables.ts`, and read them through the `~/*` alias of their `tsconfig.json`:
`client.from(USERS_TABLE)` (makerkit-chatbot's 15 requests were DBS304, "built at run
time"). A TypeScript enum or an `as const` object of another package is read the same way
(`${sql(TABLES.USERS)}`). The import is resolved as TypeScript resolves it (a relative
path, the nearest `tsconfig.json`'s `paths`/`baseUrl`, a workspace package by its
`package.json` name), and only a value nothing can change is read: a misspelt table through
the constant is DBS301 at the read; an `export let` stays a hole. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_files

pytestmark = pytest.mark.db

_SCHEMA = """
CREATE TABLE users (id int PRIMARY KEY, display_name text);
CREATE TABLE organizations (id int PRIMARY KEY, name text);
CREATE TABLE emails (id int PRIMARY KEY, user_id int);
CREATE TABLE trades (id int PRIMARY KEY);
"""

# makerkit's shape: constants in `src/lib/db-tables.ts`, read through `~/*` (its
# `tsconfig.json` has comments and trailing commas, as `tsc --init` writes them)
_TSCONFIG = """\
{
  // Next.js
  "compilerOptions": {
    "strict": true,
    "baseUrl": ".",
    "paths": {
      "~/*": ["./src/*"],
    },
  },
}
"""

_DB_TABLES = """\
export const USERS_TABLE = `users`;
export const ORGANIZATIONS_TABLE = `organisations`;
export let DRAFTS_TABLE = 'draftz';
"""

_QUERIES = """\
import type { SupabaseClient } from '@supabase/supabase-js';
import { USERS_TABLE, ORGANIZATIONS_TABLE, DRAFTS_TABLE } from '~/lib/db-tables';

export function getUser(client: SupabaseClient, id: string) {
  return client.from(USERS_TABLE).select('id, display_name').eq('id', id).single();
}

export function getOrganizations(client: SupabaseClient) {
  return client.from(ORGANIZATIONS_TABLE).select('id, name');
}

export function getDrafts(client: SupabaseClient) {
  return client.from(DRAFTS_TABLE).select('id');
}

export function shadowed(client: SupabaseClient, USERS_TABLE: string) {
  return client.from(USERS_TABLE).select('id');
}
"""

# an enum and an `as const` object of a workspace package, re-exported by its entry point
_SHARED_PACKAGE = '{"name": "@acme/shared", "main": "src/index.ts"}'
_SHARED_INDEX = "export * from './tables';\nexport { TRADES as TRADE_TABLES } from './trades';\n"
_SHARED_TABLES = """\
/** An enum of all our database table names. */
export enum TABLES {
  EMAILS = "emails",
  USERS = "users",
  VERIFICATION_EMAILS = "verification_emailz",
}
"""
_SHARED_TRADES = """\
export const TRADES = {
  trades: 'trades',
  meta: 'trades_meta',
} as const;
export const LOOSE = { trades: 'tradez' };
"""
_SERVER = """\
import postgres from 'postgres';
import { TABLES, TRADE_TABLES, LOOSE } from '@acme/shared';
import * as local from './names';

const sql = postgres();

export async function read(id: number) {
  await sql`SELECT id, display_name FROM ${sql(TABLES.USERS)} WHERE id = ${id}`;
  await sql`SELECT id FROM ${sql(TABLES.VERIFICATION_EMAILS)} WHERE user_id = ${id}`;
  await sql`SELECT id FROM ${sql(TRADE_TABLES.trades)}`;
  await sql`SELECT id FROM ${sql(TRADE_TABLES.meta)}`;
  await sql`SELECT id FROM ${sql(LOOSE.trades)}`;
  await sql`SELECT user_id FROM ${sql(local.EMAILS)}`;
}
"""
_NAMES = "const EMAILS = 'emails';\nexport { EMAILS };\n"


def _found(report) -> list[tuple[str, str, int, str | None]]:
    return sorted((f.code, f.location.path, f.location.line, f.subject)
                  for f in report.findings if f.location is not None)


def test_postgresql_refuses_the_misspelt_tables(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
        conn.execute('PREPARE ok AS SELECT id, display_name FROM "users"')
        for table in ("organisations", "verification_emailz", "trades_meta"):
            with pytest.raises(psycopg.errors.UndefinedTable):
                conn.execute(f'PREPARE missing AS SELECT id FROM "{table}"')


def test_a_constant_imported_through_a_tsconfig_alias_names_the_table(
        database_url: str, tmp_path: Path) -> None:
    report = validate_files(database_url, tmp_path, _SCHEMA, {
        "tsconfig.json": _TSCONFIG,
        "src/lib/db-tables.ts": _DB_TABLES,
        "src/lib/user/queries.ts": _QUERIES,
    })
    found = _found(report)
    # the misspelt table, at the `.from(...)` reading it; `users` passes
    assert [f for f in found if f[0] != "DBS304"] == [
        ("DBS301", "src/lib/user/queries.ts", 9, "public.organisations")]
    # an `export let` may be reassigned, a parameter of the same name is not the import's
    assert [f[2] for f in found if f[0] == "DBS304"] == [13, 17]


def test_an_enum_and_an_as_const_object_of_a_workspace_package_name_the_tables(
        database_url: str, tmp_path: Path) -> None:
    report = validate_files(database_url, tmp_path, _SCHEMA, {
        "package.json": '{"name": "acme", "workspaces": ["packages/*"]}',
        "packages/shared/package.json": _SHARED_PACKAGE,
        "packages/shared/src/index.ts": _SHARED_INDEX,
        "packages/shared/src/tables.ts": _SHARED_TABLES,
        "packages/shared/src/trades.ts": _SHARED_TRADES,
        "server/names.ts": _NAMES,
        "server/read.ts": _SERVER,
    })
    found = _found(report)
    assert [f for f in found if f[0] != "DBS304"] == [
        ("DBS301", "server/read.ts", 9, "public.verification_emailz"),
        ("DBS301", "server/read.ts", 11, "public.trades_meta"),
    ]
    # an object literal without `as const` may have its members assigned: a hole
    assert [f[2] for f in found if f[0] == "DBS304"] == [12]


# dash's shape: the enum in `shared/src/types/table.types.ts`, read through the `@shared/*`
# alias of `server/tsconfig.json` (`baseUrl: "../"`), by a query function whose `sql` is a
# parameter (`query(async (sql, input) => ...)`), in a module loading no driver: the
# server's package depends on postgres.js, whose `${sql(name)}` writes the identifier
_DASH_TSCONFIG = """\
{
  "compilerOptions": {
    "baseUrl": "../",
    "paths": { "@/*": ["server/src/*"], "@shared/*": ["shared/src/*"] }
  }
}
"""
_DASH_TABLES = """\
export enum TABLES {
\tEMAILS = "emails",
\tUSERS = "users",
\tVERIFICATION_EMAILS = "verification_emailz",
}
"""
_DASH_QUERY = """\
import type { TransactionSql } from "postgres";
import { sqlConnection } from "@/db/init";

export type Connection = typeof sqlConnection | TransactionSql;

export const query = (queryFunction: any) => (input: any) =>
\tqueryFunction(sqlConnection, input);
"""
_DASH_DELETE = """\
import { query } from "@/lib/query-function";
import { TABLES } from "@shared/types/table.types";

export const deleteUser = query(async (sql, { user_id }: { user_id: number }) => {
\tconst [user] = await sql`
      DELETE FROM ${sql(TABLES.USERS)}
      WHERE id = ${user_id}
      RETURNING *;
   `;
\tawait sql`SELECT id FROM ${sql(TABLES.VERIFICATION_EMAILS)} WHERE user_id = ${user_id}`;
\treturn user;
});
"""


def test_an_enum_of_another_folder_names_the_table_of_a_parameters_identifier_helper(
        database_url: str, tmp_path: Path) -> None:
    report = validate_files(database_url, tmp_path, _SCHEMA, {
        "server/package.json": '{"name": "server", "dependencies": {"postgres": "3.4.7"}}',
        "server/tsconfig.json": _DASH_TSCONFIG,
        "server/src/db/init.ts": "import postgres from 'postgres';\n"
                                 "export const sqlConnection = postgres();\n",
        "server/src/lib/query-function.ts": _DASH_QUERY,
        "server/src/models/delete-user.ts": _DASH_DELETE,
        "shared/package.json": '{"name": "shared", "main": "index.js"}',
        "shared/src/types/table.types.ts": _DASH_TABLES,
    })
    assert _found(report) == [
        ("DBS301", "server/src/models/delete-user.ts", 10, "public.verification_emailz")]


def test_a_parameters_helper_stays_a_hole_beside_another_clients_sql_tag(
        database_url: str, tmp_path: Path) -> None:
    # Neon's `sql` before 1.0 called with a string is a whole query, not a name
    report = validate_files(database_url, tmp_path, _SCHEMA, {
        "server/package.json": '{"name": "server", "dependencies": {"postgres": "3.4.7", '
                               '"@neondatabase/serverless": "0.9.0"}}',
        "server/tsconfig.json": _DASH_TSCONFIG,
        "server/src/db/init.ts": "import postgres from 'postgres';\n"
                                 "export const sqlConnection = postgres();\n",
        "server/src/lib/query-function.ts": _DASH_QUERY,
        "server/src/models/delete-user.ts": _DASH_DELETE,
        "shared/src/types/table.types.ts": _DASH_TABLES,
    })
    assert [f[:3] for f in _found(report)] == [
        ("DBS304", "server/src/models/delete-user.ts", 5),
        ("DBS304", "server/src/models/delete-user.ts", 10)]

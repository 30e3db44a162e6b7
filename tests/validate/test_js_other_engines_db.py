"""JavaScript/TypeScript SQL sent to an engine other than PostgreSQL.

Sim (simstudioai/sim) has tools that introspect a user's SQL Server and MySQL databases
(`import sql from 'mssql'`, then `pool.request().query("SELECT s.name FROM sys.schemas
s ...")`) and desktop tests that build Chrome's SQLite files (`await import('node:sqlite')`,
`database.prepare("INSERT INTO cookies ...")`): nine false DBS301s (`sys`, `cookies`,
`logins`, ...). A module loading another engine's driver and no PostgreSQL one sends its
SQL there; one loading both stays checked. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_module

_MSSQL = """\
import sql from 'mssql'

export async function schemas(pool: sql.ConnectionPool) {
  return pool.request().query(`SELECT s.name FROM sys.schemas s ORDER BY s.name`)
}
"""

_SQLITE_TEST = """\
const sqliteAvailable = await import('node:sqlite').then(() => true, () => false)

async function profile(path: string) {
  const { DatabaseSync } = await import('node:sqlite')
  const database = new DatabaseSync(path)
  return database.prepare(`INSERT INTO cookies (host_key, name) VALUES (?, ?)`)
}
"""

# usertour's Salesforce integration (apps/server/src/integration/integration.service.ts),
# whose other queries go through Prisma's client: a false DBS301 `organization`.
_SALESFORCE = """\
import * as jsforce from 'jsforce';

export async function organizationName(conn: jsforce.Connection) {
  const org = await conn.query<{ Name: string }>('SELECT Name FROM Organization');
  return org.records[0]?.Name;
}
"""

# PowerSync's demos (powersync-ja/powersync-js): a React Native screen querying the device's
# SQLite copy, whose `chats` view only the app's client schema makes, and a Yjs provider
# writing `update_b64`, the base64 its sync rules make of the server's `bytea` column. Both
# were false findings (DBS301 `chats`, DBS302 `document_updates.update_b64`); the module's
# supabase-js request (its upload connector's) stays checked.
_POWERSYNC_SCREEN = """\
import { usePowerSync } from '@powersync/react-native';
import { supabase } from './supabase';

export async function search(term: string) {
  const powerSync = usePowerSync();
  await supabase.from('supporter').select('nickname');
  return powerSync.execute('SELECT chats.id FROM chats WHERE chats.name LIKE ?1', [term]);
}
"""

_POWERSYNC_PROVIDER = """\
import { AbstractPowerSyncDatabase } from '@powersync/web';

export class Provider {
  constructor(private db: AbstractPowerSyncDatabase) {}

  async store(id: string, update: string) {
    await this.db.execute(
      `INSERT INTO supporter (id, update_b64) VALUES (uuid(), ?)`, [id, update]);
  }
}
"""

# Its background-sync demo's task (react-native-supabase-background-sync/library/utils.ts):
# the database comes from a file of the project named for PowerSync, not from the SDK.
_POWERSYNC_TASK = """\
import { system } from '@/powersync/SystemContext';

export async function task() {
  await system.powersync.execute(
    `INSERT INTO local_drafts (id, name) VALUES (uuid(), 'From Inside BG')`);
}
"""

# OpenPanel's duplicate-events script (packages/db/scripts/find-duplicate-events.ts) queries
# its ClickHouse warehouse through a client a file of the project named for it makes.
_CLICKHOUSE_SCRIPT = """\
import { TABLE_NAMES, ch } from '../src/clickhouse/client';

async function query<T>(sql: string): Promise<T[]> {
  return ch.query({ query: sql, format: 'JSONEachRow' }).then((res) => res.json<T>());
}

export const report = () => query(`SELECT count() AS total_rows FROM events_distributed`);
"""

# Edge Functions import through Deno's specifiers: `npm:` (a version and a path after the
# name), `jsr:`, esm.sh and deno.land/x's drivers. Each names the package it would as a
# plain import.
_DENO_MYSQL = """\
import mysql from 'npm:mysql2@3.9.7/promise';

Deno.serve(async () => {
  const conn = await mysql.createConnection(Deno.env.get('WP_URL')!);
  const [rows] = await conn.query('SELECT ID, post_title FROM wp_posts');
  return Response.json(rows);
});
"""

_DENO_SQLITE = """\
import { DB } from 'https://deno.land/x/sqlite@v3.9.1/mod.ts';

const db = new DB('cache.db');
export const cached = () => db.query('SELECT key, value FROM cache_entries');
"""

_DENO_BOTH = """\
import { Client } from 'https://deno.land/x/mysql@v2.12.1/mod.ts';
import * as postgres from 'https://deno.land/x/postgres@v0.17.0/mod.ts';

export async function copy(pool: postgres.Pool) {
  const connection = await pool.connect();
  return connection.queryObject('SELECT nickname FROM supporter');
}
"""

# Cap-go's Worker (supabase/functions/_backend/utils/cloudflare.ts) reads its store's app list
# from a Cloudflare D1 database, a binding of the Worker's environment typed `D1Database`:
# four false DBS301 `store_apps` on the project's PostgreSQL. A module importing another type
# of the package (`Hyperdrive`, PostgreSQL's connection string) stays checked.
_D1 = """\
import type { D1Database, Hyperdrive } from '@cloudflare/workers-types'

export async function storeApps(c: { env: { DB_STOREAPPS: D1Database } }) {
  const query = `SELECT app_id FROM store_apps WHERE capgo = 1`
  return c.env.DB_STOREAPPS.prepare(query).all()
}
"""

_HYPERDRIVE = """\
import type { Hyperdrive } from '@cloudflare/workers-types'
import postgres from 'postgres'

export async function supporters(hyperdrive: Hyperdrive) {
  const sql = postgres(hyperdrive.connectionString)
  return sql`SELECT nickname FROM supporter`
}
"""

_BOTH = """\
const mysql = require('mysql2/promise')
const { Pool } = require('pg')

export async function copy(pool) {
  return pool.query('SELECT nickname FROM supporter')
}
"""

# Laudspeaker's services (packages/server/src/api/customers/customers.service.ts) hold a
# ClickHouse client and query PostgreSQL through TypeORM's handles: its 7 statements were
# skipped as ClickHouse's. What a TypeORM handle sends stays checked, the rest is skipped.
_TYPEORM_BESIDE_CLICKHOUSE = """\
import { DataSource, QueryRunner } from 'typeorm';
import { createClient } from '@clickhouse/client';

export class CustomersService {
  private clickhouseClient = createClient({ host: process.env.CLICKHOUSE_HOST });
  constructor(private dataSource: DataSource) {}

  async count() {
    await this.clickhouseClient.query(`SELECT count() FROM message_status`);
    await this.dataSource.transaction(async (transactionManager) => {
      await transactionManager.query('UPDATE supporter SET name = $1', ['x']);
    });
    return this.dataSource.query('SELECT nickname FROM supporter');
  }
}
"""

# Typebot's workspace creation (apps/builder/src/features/workspace/api/handleCreateWorkspace.ts)
# locks the user with MySQL's statement where `DATABASE_URL` says MySQL, PostgreSQL's after it;
# Joplin's server (ChangeModel.ts) sends SQLite's in the `else` of `isPostgres(db)`. The other
# engine's statements were checked against PostgreSQL's schema (unparsable, or findings).
_MYSQL_BRANCH = """\
export async function lock(tx, id: string) {
  if (process.env.DATABASE_URL?.startsWith("mysql://")) {
    await tx.$queryRaw`SELECT nickname FROM Supporter WHERE id = ${id} FOR UPDATE`;
    return;
  }
  await tx.$queryRaw`SELECT name FROM supporter FOR UPDATE`;
}

export function changes(db, dialect: string) {
  return dialect === "sqlite" ? db.$queryRawUnsafe('SELECT nickname FROM supporter')
    : db.$queryRawUnsafe('SELECT name FROM supporter');
}

export async function names(db) {
  const isPg = process.env.DB_TYPE === 'postgres';
  if (isPg) return db.$queryRawUnsafe('SELECT name FROM supporter');
  return db.$queryRawUnsafe('SELECT nickname FROM supporter');
}
"""

# Wiki.js picks each engine's SQL by `switch (WIKI.config.db.type)` (`case 'mysql': case
# 'mariadb':` falling through), knex projects by `["mysql", "mysql2"].includes(client)`.
# Only the cases reaching a statement count: `default:`, a case falling through to
# PostgreSQL's, CockroachDB's (its wire protocol is PostgreSQL's) and a list naming PostgreSQL
# stay checked (`name`), as does a `switch` on a value naming no kind.
_SWITCH_AND_LIST = """\
const MYSQL = 'mysql';
const MYSQL_CLIENTS = ['mysql', 'mysql2'] as const;
export async function sizes(db, dbType: string) {
  switch (dbType) {
    case MYSQL:
    case 'mariadb':
      return db.query('SELECT nickname FROM supporter');
    case 'sqlite': {
      await db.query('SELECT nick FROM supporter');
    }
    case 'postgres':
      return db.query('SELECT name FROM supporter');
    case 'cockroachdb':
      return db.query('SELECT name FROM supporter');
    case 'oracle':
      break;
    default:
    case 'mssql':
      return db.query('SELECT name FROM supporter');
  }
  switch (kind) {
    case 'sqlite': return db.query('SELECT name FROM supporter');
  }
}

export async function databases(db, client: string) {
  if (MYSQL_CLIENTS.includes(client)) return db.query('SELECT nickname FROM supporter');
  if (["postgres", "sqlite"].includes(client)) return db.query('SELECT name FROM supporter');
  return !["sqlite3", "better-sqlite3"].includes(client) ? db.query('SELECT name FROM supporter')
    : db.query('SELECT nick FROM supporter');
}
"""

# autumn (useautumn/autumn) caches balances in MotherDuck: its refresh job sends drizzle's `sql`
# to the DuckDB client a file of the project makes (`./initMotherDuck.js`, which loads
# `@duckdbfan/drizzle-duckdb`), reading DuckDB's `main` schema: 4 false DBS301 ("no schema
# `main`") on the application's PostgreSQL.
_MOTHERDUCK_JOB = """\
import { sql } from "drizzle-orm";
import { withMotherDuckRw } from "./initMotherDuck.js";

export const refresh = () => withMotherDuckRw({
  run: async (db) => {
    return db.execute(sql`SELECT COUNT(*) AS n FROM main.ce_balances`);
  },
});
"""

_DRIZZLE_DUCKDB = """\
import { drizzle } from "@duckdbfan/drizzle-duckdb";
import { sql } from "drizzle-orm";

export const count = (db) => db.execute(sql`SELECT COUNT(*) FROM main.ce_balance_totals`);
"""

# The `else` beside a MySQL branch is PostgreSQL's: checked (`nick` is MySQL's, skipped).
_ELSE_BESIDE_MYSQL = """\
export async function recent(db, id: string) {
  if (process.env.DB_TYPE === 'mysql') {
    return db.$queryRawUnsafe('SELECT nick FROM supporter');
  } else {
    return db.$queryRawUnsafe('SELECT nickname FROM supporter');
  }
}
"""


@pytest.mark.db
@pytest.mark.parametrize(("name", "source", "reasons"), [
    ("introspect.ts", _MSSQL, {4: "sent to SQL Server, not PostgreSQL"}),
    ("cookies.test.ts", _SQLITE_TEST, {6: "sent to SQLite, not PostgreSQL"}),
    ("integration.service.ts", _SALESFORCE, {4: "sent to Salesforce, not PostgreSQL"}),
    ("PowerSyncYjsProvider.ts", _POWERSYNC_PROVIDER, {8: "sent to SQLite, not PostgreSQL"}),
    ("utils.ts", _POWERSYNC_TASK, {5: "sent to SQLite, not PostgreSQL"}),
    ("find-duplicate-events.ts", _CLICKHOUSE_SCRIPT, {7: "sent to ClickHouse, not PostgreSQL"}),
    ("index.ts", _DENO_MYSQL, {5: "sent to MySQL, not PostgreSQL"}),
    ("cache.ts", _DENO_SQLITE, {4: "sent to SQLite, not PostgreSQL"}),
    ("cloudflare.ts", _D1, {4: "sent to Cloudflare D1 (SQLite), not PostgreSQL"}),
    ("refreshCeBalancesCache.ts", _MOTHERDUCK_JOB, {6: "sent to DuckDB, not PostgreSQL"}),
    ("balances.ts", _DRIZZLE_DUCKDB, {4: "sent to DuckDB, not PostgreSQL"}),
    ("handleCreateWorkspace.ts", _MYSQL_BRANCH, {
        3: 'sent to MySQL, not PostgreSQL (`process.env.DATABASE_URL?.startsWith("mysql://")`)',
        10: 'sent to SQLite, not PostgreSQL (`dialect === "sqlite"`)',
        17: "sent where the database is not PostgreSQL (`isPg`)"}),
    ("data-store.repository.ts", _SWITCH_AND_LIST, {
        7: "sent to MySQL, not PostgreSQL (`switch (dbType) case MYSQL: case 'mariadb':`)",
        9: "sent to SQLite, not PostgreSQL (`switch (dbType) case 'sqlite':`)",
        27: "sent to MySQL, not PostgreSQL (`MYSQL_CLIENTS.includes(client)`)",
        30: 'sent to SQLite, not PostgreSQL (`!["sqlite3", "better-sqlite3"].includes(client)`)'}),
])
def test_sql_of_a_module_loading_another_engines_driver_is_not_postgresqls(
        database_url: str, tmp_path: Path, name: str, source: str,
        reasons: dict[int, str]) -> None:
    report = validate_module(database_url, tmp_path, "CREATE TABLE supporter (name text)",
                             name, source)
    assert report.findings == ()
    assert {s.location.line: s.reason for s in report.skipped} == reasons


@pytest.mark.db
@pytest.mark.parametrize(("name", "source", "line"), [
    ("copy.js", _BOTH, 5), ("copy.ts", _DENO_BOTH, 6), ("worker.ts", _HYPERDRIVE, 6),
    ("customers.service.ts", _TYPEORM_BESIDE_CLICKHOUSE, 13),
    ("recent.ts", _ELSE_BESIDE_MYSQL, 5)])
def test_a_module_loading_a_postgresql_driver_too_stays_checked(
        database_url: str, tmp_path: Path, name: str, source: str, line: int) -> None:
    report = validate_module(database_url, tmp_path, "CREATE TABLE supporter (name text)",
                             name, source)
    assert [(f.code, f.location.line, f.subject) for f in report.findings] == [
        ("DBS302", line, "public.supporter.nickname")]


@pytest.mark.db
def test_powersync_sql_reads_the_devices_sqlite_and_supabase_requests_stay_checked(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "CREATE TABLE supporter (name text)",
                             "index.tsx", _POWERSYNC_SCREEN)
    assert [(f.code, f.location.line, f.subject) for f in report.findings] == [
        ("DBS302", 6, "public.supporter.nickname")]
    assert {s.location.line: s.reason for s in report.skipped} == {
        7: "sent to SQLite, not PostgreSQL"}


# A Worker whose D1 binding is typed in the declarations `wrangler types` writes
# (worker-configuration.d.ts, a global `D1Database`: no module imports it), in the shapes of
# Cloudflare's D1 template (`env.DB`), Hono (`c.env.DB`), a Durable Object or WorkerEntrypoint
# (`this.env.DB`) and Pages Functions (`context.env.DB`). Its Hyperdrive binding's PostgreSQL
# SQL in the same module stays checked.
_WORKER_CONFIGURATION = """\
// Generated by Wrangler by running `wrangler types`
declare namespace Cloudflare {
\tinterface Env {
\t\tDB: D1Database;
\t\tHYPERDRIVE: Hyperdrive;
\t}
}
interface Env extends Cloudflare.Env {}
"""

_WORKER = """\
import { Hono } from 'hono'
import postgres from 'postgres'

const app = new Hono<{ Bindings: Env }>()

app.get('/comments', async (c) => {
  const { results } = await c.env.DB.prepare('SELECT author, body FROM comments').all()
  return c.json(results)
})

export default {
  async fetch(request: Request, env: Env) {
    const db = env.DB
    await db.prepare('INSERT INTO comments (author, body) VALUES (?, ?)').bind('a', 'b').run()
    await env.DB.exec('DELETE FROM comments')
    const sql = postgres(env.HYPERDRIVE.connectionString)
    return sql`SELECT nickname FROM supporter`
  },
}

export class Counter {
  constructor(private env: Env) {}
  count() { return this.env.DB.prepare('SELECT count(*) FROM comments').first() }
}

export const onRequest = (context: { env: Env }) =>
  context.env.DB.prepare('SELECT body FROM comments WHERE author = ?').bind('a').all()
"""


@pytest.mark.db
def test_sql_of_a_d1_binding_typed_by_wranglers_declarations_goes_to_d1(
        database_url: str, tmp_path: Path) -> None:
    (tmp_path / "worker-configuration.d.ts").write_text(_WORKER_CONFIGURATION)
    report = validate_module(database_url, tmp_path, "CREATE TABLE supporter (name text)",
                             "index.ts", _WORKER)
    assert [(f.code, f.location.line, f.subject) for f in report.findings] == [
        ("DBS302", 17, "public.supporter.nickname")]
    d1 = "sent to Cloudflare D1 (SQLite), not PostgreSQL"
    assert {s.location.line: s.reason for s in report.skipped
            if s.location.path == "index.ts"} == {7: d1, 14: d1, 23: d1, 27: d1}


# Only a member typed `D1Database` is D1: another binding's `prepare` (a PostgreSQL client
# the Worker's own code makes, `env.PG`) and a `DB` outside an environment stay checked.
_NOT_D1 = """\
export async function read(env: Env, db: { prepare(q: string): unknown }) {
  env.PG.prepare('SELECT nickname FROM supporter')
  db.prepare('SELECT nickname FROM supporter')
}
"""


@pytest.mark.db
def test_sql_of_bindings_not_typed_d1_stays_checked(database_url: str, tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{"devDependencies": {"wrangler": "^4"}}')
    (tmp_path / "env.d.ts").write_text("interface Env { DB: D1Database; PG: Client }\n")
    report = validate_module(database_url, tmp_path, "CREATE TABLE supporter (name text)",
                             "index.ts", _NOT_D1)
    assert [(f.code, f.location.line) for f in report.findings] == [
        ("DBS302", 2), ("DBS302", 3)]


# A D1 binding destructured from the environment (Cloudflare's saas-admin template: `const {
# DB } = this.env` in a Workflow, then `DB.prepare(...)`; Hono's `c.env`, a Pages handler's
# `({ env: { DB } })`), and a name typed with the global `D1Database` where it is declared (a
# parameter, a `const`, a field, a constructor's parameter property: the internal-sites
# template's `db: D1Database`). The module's other `prepare` calls stay checked: another
# binding destructured (`PG`), a `DB` of another scope, a parameter of another type.
_DESTRUCTURED_AND_TYPED = """\
import { WorkflowEntrypoint } from 'cloudflare:workers'

export class CustomerWorkflow extends WorkflowEntrypoint<Env, {}> {
  async run(event: unknown, step: { do(name: string, f: () => unknown): unknown }) {
    const { DB } = this.env
    await step.do('fetch', async () => DB.prepare('SELECT * FROM customers WHERE id = ?').run())
  }
}

app.get('/', async (c) => {
  const { DB: db, PG } = c.env
  await PG.prepare('SELECT nickname FROM supporter')
  return db.prepare('SELECT name FROM customers').all()
})

export const onRequest = ({ env: { DB } }: { env: Env }) =>
  DB.prepare('SELECT name FROM customers').all()

export async function handle(env: Env, DB: { prepare(q: string): unknown }) {
  DB.prepare('SELECT nickname FROM supporter')
  const { DB: d1 } = env
  await d1.prepare('DELETE FROM customers').run()
}

export async function read(db: D1Database, other: Pool) {
  const typed: D1Database = db
  await typed.prepare('SELECT name FROM customers').all()
  await other.prepare('SELECT nickname FROM supporter')
  return db.prepare(`SELECT * FROM ${'customers'}`).all()
}

export class Store {
  private DB: D1Database
  constructor(DB: D1Database, private readonly sessions?: D1Database, private pg?: Pool) {
    this.DB = DB
  }
  all() { return this.DB.prepare('SELECT name FROM customers').all() }
  open() { return this.sessions?.prepare('SELECT id FROM sessions').first() }
  pgRead() { return this.pg?.prepare('SELECT nickname FROM supporter') }
}
"""


@pytest.mark.db
def test_sql_of_a_d1_binding_destructured_or_typed_goes_to_d1(
        database_url: str, tmp_path: Path) -> None:
    (tmp_path / "worker-configuration.d.ts").write_text(_WORKER_CONFIGURATION)
    report = validate_module(database_url, tmp_path, "CREATE TABLE supporter (name text)",
                             "index.ts", _DESTRUCTURED_AND_TYPED)
    assert [(f.code, f.location.line, f.subject) for f in report.findings] == [
        ("DBS302", 12, "public.supporter.nickname"),
        ("DBS302", 20, "public.supporter.nickname"),
        ("DBS302", 28, "public.supporter.nickname"),
        ("DBS302", 39, "public.supporter.nickname")]
    d1 = "sent to Cloudflare D1 (SQLite), not PostgreSQL"
    assert {s.location.line: s.reason for s in report.skipped
            if s.location.path == "index.ts"} == {
        6: d1, 13: d1, 17: d1, 22: d1, 27: d1, 29: d1, 37: d1, 38: d1}


# Outside a Worker (no wrangler, no worker-configuration.d.ts), `D1Database` is no type this
# project is known to have: a parameter typed so stays checked.
@pytest.mark.db
def test_a_name_typed_d1database_outside_a_worker_stays_checked(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "CREATE TABLE supporter (name text)",
                             "index.ts", "export function read(db: D1Database) {\n"
                             "  return db.prepare('SELECT nickname FROM supporter')\n}\n")
    assert [(f.code, f.location.line) for f in report.findings] == [("DBS302", 2)]


# More shapes of a D1 binding, from Workers on GitHub: a handler's parameter destructured with
# its type (`scheduled(event, { DB }: Env)`, itty-router handlers' `(req, { DB }: Env)`), a
# field the class inherits from a repository base class of the module, D1's Sessions API
# (cloudflare/templates' d1-starter-sessions-api-template: `env.DB01.withSession(bookmark)`,
# `session: D1DatabaseSession`), and drizzle on D1 (`drizzle(env.DB)` of `drizzle-orm/d1`, in
# a module of its own). The same shapes on something else stay checked: a type whose `DB` is
# no D1 database, a base class's field of another type, `withSession` on another binding.
_MORE_D1 = """\
interface Other { DB: Pool }

export default {
  async scheduled(_event: ScheduledEvent, { DB }: Env) {
    await DB.prepare('SELECT id FROM feeds').all()
  },
}

export const other = async (req: Request, { DB }: Other) =>
  DB.prepare('SELECT nickname FROM supporter')

class Repository {
  protected db: D1Database
  protected pg: Pool
  constructor(db: D1Database, pg: Pool) { this.db = db; this.pg = pg }
}

export class Customers extends Repository {
  list() { return this.db.prepare('SELECT name FROM customers').all() }
  nicknames() { return this.pg.prepare('SELECT nickname FROM supporter') }
}

export async function sessions(env: Env, bookmark: string) {
  const session = env.DB.withSession(bookmark)
  const pg = env.PG.withSession(bookmark)
  await pg.prepare('SELECT nickname FROM supporter')
  await session.prepare('SELECT id FROM sessions').first()
  return handle(session)
}

async function handle(session: D1DatabaseSession) {
  return session.prepare('SELECT name FROM customers').all()
}
"""

_D1_DRIZZLE = """\
import { drizzle } from 'drizzle-orm/d1'
import { sql } from 'drizzle-orm'

export async function orm(env: Env) {
  const db = drizzle(env.DB)
  return db.all(sql`SELECT name FROM customers`)
}
"""


# A drizzle client on D1 made in one module and queried in others (`export const db =
# drizzle(env.DB)`, `export function getDb(env)`, an arrow returning one), imported by a relative
# path, a tsconfig alias (`@/db`) or a workspace's package (`@acme/d1`), given a `sql` tag or a `const` holding one. The importing
# module's PostgreSQL client (`pg`, drizzle on node-postgres) stays checked, and so does a `db`
# of another module.
_D1_CLIENTS = """\
import { drizzle } from 'drizzle-orm/d1'
import { drizzle as postgres } from 'drizzle-orm/node-postgres'

export const db = drizzle(env.DB)
export function getDb(env: Env) { return drizzle(env.DB, { schema }) }
export const open = (env: Env) => drizzle(env.DB)
export const pg = postgres(process.env.DATABASE_URL!)
"""

_D1_ROUTES = """\
import { sql } from 'drizzle-orm'
import { db, getDb, open as d1, pg } from '../db'
import { getDb as viaAlias } from '@/db/index'
import { db as other } from '../other'
import { store } from '@acme/d1'

export async function notes(env: Env) {
  await db.all(sql`SELECT title FROM notes`)
  await getDb(env).run(sql`DELETE FROM notes`)
  const conn = d1(env)
  const query = sql`SELECT body FROM notes`
  await conn.all(query)
  await viaAlias(env).get(sql.raw('SELECT id FROM notes'))
  await other.execute(sql`SELECT nickname FROM supporter`)
  await store.run(sql`DELETE FROM notes`)
  return pg.execute(sql`SELECT nickname FROM supporter`)
}
"""


@pytest.mark.db
def test_sql_of_d1_parameters_inherited_fields_sessions_and_drizzle_goes_to_d1(
        database_url: str, tmp_path: Path) -> None:
    (tmp_path / "worker-configuration.d.ts").write_text(_WORKER_CONFIGURATION)
    (tmp_path / "orm.ts").write_text(_D1_DRIZZLE)
    (tmp_path / "src" / "db").mkdir(parents=True)
    (tmp_path / "src" / "db" / "index.ts").write_text(_D1_CLIENTS)
    (tmp_path / "src" / "routes").mkdir()
    (tmp_path / "src" / "routes" / "notes.ts").write_text(_D1_ROUTES)
    # (a workspace's package: `import { store } from '@acme/d1'`)
    (tmp_path / "packages" / "d1" / "src").mkdir(parents=True)
    (tmp_path / "packages" / "d1" / "package.json").write_text(
        '{"name": "@acme/d1", "exports": {".": "./src/index.ts"}}')
    (tmp_path / "packages" / "d1" / "src" / "index.ts").write_text(
        "import { drizzle } from 'drizzle-orm/d1'\nexport const store = drizzle(env.DB)\n")
    report = validate_module(database_url, tmp_path, "CREATE TABLE supporter (name text)",
                             "index.ts", _MORE_D1)
    assert [(f.code, f.location.path, f.location.line, f.subject) for f in report.findings] == [
        ("DBS302", "index.ts", 10, "public.supporter.nickname"),
        ("DBS302", "index.ts", 20, "public.supporter.nickname"),
        ("DBS302", "index.ts", 26, "public.supporter.nickname"),
        ("DBS302", "src/routes/notes.ts", 14, "public.supporter.nickname"),
        ("DBS302", "src/routes/notes.ts", 16, "public.supporter.nickname")]
    d1 = "sent to Cloudflare D1 (SQLite), not PostgreSQL"
    assert sorted((s.location.path, s.location.line) for s in report.skipped
                  if s.reason == d1) == [
        ("index.ts", 5), ("index.ts", 19), ("index.ts", 27), ("index.ts", 32), ("orm.ts", 6),
        ("src/routes/notes.ts", 8), ("src/routes/notes.ts", 9), ("src/routes/notes.ts", 11),
        ("src/routes/notes.ts", 13), ("src/routes/notes.ts", 15)]


# vogelibizz's `src/db/index.ts`, cut down: its client made on first use behind a Proxy typed
# as the client (`new Proxy({} as SchemaDb, ...)`, `type SchemaDb = DrizzleD1Database<...>`),
# exported by name and as the default; its routes take the default and send SQL through it
# and through the D1 database it was made with (`db.$client.prepare(...)`).
_PROXIED_D1_CLIENT = """\
import { type DrizzleD1Database, drizzle } from 'drizzle-orm/d1'
import * as schema from '@/db/schema'

type SchemaDb = DrizzleD1Database<typeof schema> & { $client: D1Database }

export function getDb() { return drizzle(resolveD1Database(), { schema }) }

export const db = new Proxy({} as SchemaDb, {
  get(_target, prop) { return Reflect.get(getDb(), prop) },
})

export const notDb = new Proxy({} as Record<string, string>, {})

export default db
"""

_PROXIED_D1_ROUTES = """\
import { sql } from 'drizzle-orm'
import db from '@/db'

export async function monthExists(month: string) {
  const result = await db.get(sql`select exists(select 1 from expense_months where month = ${month}) as "exists"`)
  const client = db.$client
  await client.prepare('delete from expense_months where month = ?').bind(month).run()
  return result
}
"""

_WRANGLER_PACKAGE = """\
{"name": "vogelibizz", "devDependencies": {"wrangler": "^4.20.0"}, "scripts": {
  "db:seed:local": "wrangler d1 execute vogelibizz --local --file ./src/db/seeds/seed-full.sql",
  "db:reset": "psql -f ./src/db/seeds/reset.sql && vite dev"}}
"""


@pytest.mark.db
def test_sql_of_a_proxied_default_d1_client_and_of_a_file_wrangler_executes_goes_to_d1(
        database_url: str, tmp_path: Path) -> None:
    """vogelibizz runs on D1 beside the PostgreSQL folder of migrations it left: its client
    behind a Proxy, imported as the default, and the seed its `wrangler d1 execute --file`
    script runs, were 109 errors PostgreSQL "confirmed" (42P01, 42703: the seed's unquoted
    `usdRate`, a name SQLite compares without case), each of them run clean by SQLite on the
    D1 migrations. A file no such script runs, and another module's PostgreSQL SQL, stay
    checked."""
    (tmp_path / "package.json").write_text(_WRANGLER_PACKAGE)
    (tmp_path / "src" / "db" / "seeds").mkdir(parents=True)
    (tmp_path / "src" / "db" / "index.ts").write_text(_PROXIED_D1_CLIENT)
    (tmp_path / "src" / "db" / "seeds" / "seed-full.sql").write_text(
        "PRAGMA foreign_keys=OFF;\nDELETE FROM expense_months;\n"
        "INSERT INTO currencies (id, usdRate) VALUES (1, 1.0);\n")
    (tmp_path / "src" / "db" / "seeds" / "reset.sql").write_text("DELETE FROM expense_monthz;\n")
    (tmp_path / "src" / "routes").mkdir()
    (tmp_path / "src" / "routes" / "months.ts").write_text(_PROXIED_D1_ROUTES)
    report = validate_module(database_url, tmp_path, 'CREATE TABLE currencies (id int, "usdRate" real)',
                             "report.py", 'def f(cur):\n    cur.execute("SELECT usdrate FROM currencies")\n')
    assert [(f.code, f.location.path, f.location.line) for f in report.findings] == [
        ("DBS302", "report.py", 2), ("DBS301", "src/db/seeds/reset.sql", 1)]
    skipped = {(s.location.path, s.location.line): s.reason for s in report.skipped}
    assert skipped[("src/db/seeds/seed-full.sql", 1)] == (
        "sent to Cloudflare D1 (SQLite), not PostgreSQL (`db:seed:local` of package.json runs "
        "it with wrangler d1 execute)")
    d1 = "sent to Cloudflare D1 (SQLite), not PostgreSQL"
    assert sorted(where for where, reason in skipped.items() if reason == d1) == [
        ("src/routes/months.ts", 5), ("src/routes/months.ts", 7)]

"""SQL and supabase-js/PostgREST calls in JavaScript and TypeScript, read with tree-sitter.

Two things are taken from a `.js`/`.jsx`/`.mjs`/`.cjs`/`.ts`/`.tsx` file:

* SQL statements, as `SqlFragment`s: tagged templates (`sql\\`...\\``, `Prisma.sql`,
  `prisma.$queryRaw`, `$executeRaw`, slonik's `sql.type(S)`; with TypeScript's type
  arguments too, `sql<Row[]>\\`...\\``, see `_Reader._typed_tag`) and string arguments of
  `query`/`execute`/`raw`-style calls and pg-promise's `db.one(...)`, plus the project's own (`SqlNames`: `js-sql-tags`, `js-sql-calls`). A `${...}` hole is a parameter where it sits in a value position and makes the
  statement "not validated" anywhere else, exactly as for Python f-strings.
* PostgREST requests, as `PostgrestRequest`s: a `.from('table')` or `.rpc('fn')` call on a
  supabase-js client and the method calls chained on it (`.select('...')`, `.eq(...)`,
  `.order(...)`, `.insert({...})`, ...), with each string argument mapped back to the file.
  A query held in a variable (`let q = supabase.from('t')...; if (x) q = q.eq(...)`) is
  followed within its scope where which query it holds is certain (see `_Reader._followed`).
  What a request means is decided in `dbsafe.validate.postgrest`; this module only reads.

A `.from()` call is taken as PostgREST only when its receiver is clearly a supabase client:
a name containing "supabase" (`supabase`, `this.supabase`, `getSupabase()`), a variable or
parameter typed `SupabaseClient`/`PostgrestClient`, or bound to a call of a factory imported
from a module whose path names supabase or postgrest (`createClient` from
`@supabase/supabase-js`, `useSupabaseClient()`; also through `require(...)` or `await
import(...)`), or a `client` kept by something named after
supabase or PostgREST (`context.postgrest.client`, `const { client } = getAuthedSupabase(e)`)
or handed out by its `getClient()` (`this.supabaseService.getClient()`, `getAdminClient()`),
or what a function of the file returns at each of its `return`s (`clientForUser(email)`), an
element of a collection typed with a client (`clients[email]`), or a class's `this.admin`
when the class assigns it a client and nothing else. `Array.from('abc')`, `supabase.storage.from`
(and `supabaseStorage.from`, or any `.from(x).upload(...)`: a bucket) and a knex `.from('t')`
are not requests, even on a variable named like a client that holds what another package
made (`const supabaseKnex = knex(config)`, `new Map()`). A client created in the file with
`createClient(url, key, { db: { schema: 'x' } })` (or `supabase.schema('x')`) gives schema
`x` to the requests made through the variable holding it, as JavaScript scopes resolve names,
or through the `this.x` a class keeps it in.

An argument the code picks among strings it shows (`full ? 'a, b' : 'a'`, `SELECTS[kind]`, a
`let` assigned only strings) is a `JsOther` carrying them (`_Reader._strings`); the request is
checked with each (`dbsafe.validate.postgrest.check`).
"""

from __future__ import annotations

import bisect
import functools
import itertools
import os
import posixpath
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TypeVar

from dbsafe.core import Location, Skipped
from dbsafe.extract.d1_bindings import holds_binding, is_env, typed_field
from dbsafe.extract.fragment import ExtractResult, SqlFragment
from dbsafe.extract.holes import NAME_HOLE, Hole, Template, adds_a_clause, fill_holes
from dbsafe.extract.python import (
    first_word,
    looks_like_statement,
    names_only,
    reads_as_sent_statement,
)
from dbsafe.extract.sqlfile import statement_bounds

if TYPE_CHECKING:
    from tree_sitter import Node, Parser

    from dbsafe.config import Settings
    from dbsafe.extract.d1_clients import D1Client
    from dbsafe.extract.drizzle_schema import DrizzleTable
    from dbsafe.extract.js_constants import JsConstants
    from dbsafe.extract.js_wrappers import JsWrapper
    from dbsafe.extract.kysely_clients import KyselyClients

_T = TypeVar("_T")

SUFFIXES = frozenset({".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx"})

# Tags whose template is SQL (the last name of the tag expression).
# deno-postgres (`x/postgres`, Supabase Edge Functions' direct connection) tags its
# `queryObject`/`queryArray` templates: each `${...}` is sent as a parameter.
SQL_TAGS = frozenset({"sql", "SQL", "$queryRaw", "$executeRaw", "queryObject", "queryArray"})
# Calls whose first string argument is SQL, when it reads as a statement: node-postgres
# (`query`), drivers' `execute`/`prepare`, knex and drizzle (`raw`), postgres.js (`unsafe`),
# Prisma, pg-promise's query methods (`db.one`, `db.oneOrNone`, `t.none`, ...) and
# deno-postgres's (`client.queryObject`, `queryArray`).
SQL_CALLS = frozenset(
    {"query", "execute", "raw", "unsafe", "$queryRawUnsafe", "$executeRawUnsafe", "prepare",
     "none", "one", "oneOrNone", "many", "manyOrNone", "any", "result", "multi",
     "multiResult", "queryObject", "queryArray",
     # Sails' (Waterline's) `sails.sendNativeQuery(sql, values)`, `datastore.sendNativeQuery`
     # (Planka's models send their locking and counting statements so)
     "sendNativeQuery"}
)
# Prisma's methods sending a string as its statement, as its `$queryRaw` tag sends a
# template: a statement in them is read whatever the case of its keywords.
_PRISMA_UNSAFE_CALLS = frozenset({"$queryRawUnsafe", "$executeRawUnsafe"})
# The calls a project's own wrapper may send its parameter through as the statement
# (`js_wrappers`): knex's `raw` aside, whose bindings after the text say what it is.
WRAPPED_SINKS = SQL_CALLS - {"raw"}
# knex's (and Objection's) methods naming a common table expression of the builder's query:
# `.with('ranked', db.raw('select ... from applications'))`. The query given after the name
# is the CTE's body, a piece of the chain's one statement that may read the chain's other
# CTEs (Unleash's `.with('final_ranks', this.db.raw('select ... from applications ...'))`
# after `.with('applications', ...)`), not a statement sent alone.
_CTE_METHODS = frozenset(
    {"with", "withRecursive", "withMaterialized", "withNotMaterialized"})
# knex's (and Objection's) query builder methods taking a `raw` as a piece of the builder's
# statement (a column, a condition, a sort key, a value): `.select('*', db.raw('(SELECT
# COUNT(*) FROM api_tokens WHERE api_tokens.environment = environments.name) as n'))`
# (Unleash's `environment-store.ts`) is a select list item of `select *, (...) as n from
# environments`, reading the builder's table, not a statement sent alone.
_PIECE_METHODS = frozenset({
    "select", "column", "columns", "distinct", "distinctOn", "from", "table", "into",
    "join", "innerJoin", "leftJoin", "leftOuterJoin", "rightJoin", "rightOuterJoin",
    "fullOuterJoin", "crossJoin", "on", "andOn", "orOn",
    "where", "andWhere", "orWhere", "whereNot", "andWhereNot", "orWhereNot", "whereIn",
    "orWhereIn", "whereNotIn", "orWhereNotIn", "whereExists", "orWhereExists",
    "whereNotExists", "orWhereNotExists", "whereBetween", "orWhereBetween",
    "whereNotBetween", "orWhereNotBetween", "whereLike", "whereILike", "whereNull",
    "whereNotNull", "having", "andHaving", "orHaving", "havingIn", "havingNotIn",
    "havingExists", "havingNotExists", "havingBetween", "havingNotBetween", "groupBy",
    "orderBy", "union", "unionAll", "intersect", "except", "returning", "onConflict",
    "insert", "update", "merge", "increment", "decrement", "pluck", "countDistinct", "sumDistinct",
    "avgDistinct"})
# Tags made from a SQL tag that are SQL tags too: slonik's `sql.unsafe`...``, and its
# `sql.type(Schema)`...`` and `sql.typeAlias('name')`...`` (called, then tagged).
_TAG_MEMBERS = frozenset({"unsafe"})
# postgres.js's methods handing their callback a client of the same kind, a tag too:
# `sql.begin(async (tx) => tx`...`)` (also `sql.begin('read write', ...)`) and a transaction's
# `tx.savepoint(async (sp) => sp`...`)`.
_TRANSACTION_METHODS = frozenset({"begin", "savepoint"})
# A comment naming a string's or template's language, as postgres-meta and editors' SQL
# highlighting mark them: `() => /* SQL */ `SELECT ...``.
_SQL_MARK = re.compile(r"/\*\s*sql\s*\*/\Z", re.IGNORECASE)
# A SQL tag's helpers writing SQL text into its template, never a parameter: Kysely's
# `sql.ref`/`raw`/`table`/`id`, drizzle's `sql.raw`/`identifier`, slonik's `sql.identifier`
# (see `_Reader._written`).
_WRITTEN_HELPERS = frozenset({"raw", "ref", "table", "id", "identifier"})
_TAG_FACTORIES = frozenset({"type", "typeAlias"})
# drizzle's update builder's methods bringing more tables into its statement, which a value of
# its `.set({...})` may read (`_Reader._drizzle_assigned`).
_DRIZZLE_MORE_TABLES = frozenset(
    {"from", "innerJoin", "leftJoin", "rightJoin", "fullJoin", "crossJoin", "innerJoinLateral",
     "leftJoinLateral", "crossJoinLateral"})
# The name of a tag right before its type arguments (`db.$queryRaw` in
# `await db.$queryRaw<Row[]>`...``), optionally `await`ed; see `_Reader._typed_tag`.
_TAG_BEFORE_TYPES = re.compile(
    r"[A-Za-z_$][\w$]*(?:\s*\??\.\s*[A-Za-z_$][\w$]*)*\s*\Z")
# pg-promise's formatting variables in a string its query methods take (pg-promise's
# formatting.js): `${name}`, `$(name)`, `$<name>`, `$[name]`, `$/name/`, with a modifier or
# not, and `$1` with a modifier (`$1:name`, `$1^`; a plain `$1` is PostgreSQL's own
# parameter, `$1::name` a cast). PostgreSQL's parser reads none of them.
_PGP_MODIFIER = r"(?:\^|~|#|:raw|:alias|:name|:json|:csv|:list|:value)"
_PGP_VARIABLE = re.compile(
    r"\$(?:\{\s*[\w$.]+" + _PGP_MODIFIER + r"?\s*\}|\(\s*[\w$.]+" + _PGP_MODIFIER
    + r"?\s*\)|<\s*[\w$.]+" + _PGP_MODIFIER + r"?\s*>|\[\s*[\w$.]+" + _PGP_MODIFIER
    + r"?\s*\]|/\s*[\w$.]+" + _PGP_MODIFIER + r"?\s*/|[1-9][0-9]{0,4}" + _PGP_MODIFIER
    + r"(?![\w:]))", re.ASCII)
# knex's bindings in a raw's text (knex 3's `replaceRawArrBindings`, lib/formatter/
# rawFormatter.js): each `?` and `??` takes the next binding of the raw's array, an
# escaped `\?` none (the pg client sends it as `?`).
_KNEX_BINDING = re.compile(r"\\?\?\??")
# A name knex's pg client writes as it is, quoted, whatever the client's `wrapIdentifier`:
# Objection's `knexSnakeCaseMappers()` leaves lower-case letters, digits and `_` alone.
_KNEX_WORD = re.compile(r"[a-z_][a-z0-9_]*\Z")
# knex's named bindings in a raw's text (knex 3's `replaceKeyBindings`): `:name:` an identifier,
# `:name` a value (a `:name:` right before `::` a cast's too), an escaped `\:name` none
# (knex writes it without the `\`); `\w` is ASCII in JavaScript.
_KNEX_NAMED = re.compile(r"\\?(:(\w+):(?=::)|:(\w+):(?!:)|:(\w+))", re.ASCII)
# knex's `wrapString` splits an alias at the first ` as ` (any case), `users as u`.
_KNEX_ALIAS = re.compile(r" [aA][sS] ")
# Besides DML (`looks_like_statement`), DDL a SQL call or tag runs whose effect the file's
# other statements see (a temp table, an added column, `SET search_path`): taken so that
# validation knows the schema changed, as for Python's sinks (DDL itself is not checked).
_SCHEMA_CHANGES = frozenset({"create", "alter", "set"})
_NAME = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*\Z")
_CLIENT_WORD = re.compile(r"supabase", re.IGNORECASE)
# What holds a client under the name `client`: `context.postgrest.client` (webstudio's
# `{ client: PostgrestClient }`), `const { client } = getAuthedSupabase(event)`.
_CLIENT_HOLDER = re.compile(r"supabase|postgrest", re.IGNORECASE)
_CLIENT_MODULE = re.compile(r"supabase|postgrest", re.IGNORECASE)
# A holder's method handing out its client: `getClient()`, `getAdminClient()`, `client()`.
_CLIENT_GETTER = re.compile(r"get\w*Client|client")
_CLIENT_TYPE = re.compile(r"\b(?:SupabaseClient|PostgrestClient)\b")
_CLIENT_CLASSES = frozenset({"SupabaseClient", "PostgrestClient"})
# What makes a client from a URL and a key: supabase-js's, @supabase/ssr's (`_client_project`)
_CLIENT_MAKERS = frozenset({"createClient", "createBrowserClient", "createServerClient"})
# A hosted Supabase project's API URL, and its ref (20 lowercase letters); an environment
# variable's name
_HOSTED_URL = re.compile(r"https://([a-z0-9-]+)\.supabase\.co/?")
_PROJECT_REF = re.compile(r"[a-z]{20}")
_ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
# A type of many values, whose element `x[key]` is one: `Record<K, V>`, `V[]`, `Array<V>`,
# `{ [key: string]: V }`.
_COLLECTION_TYPE = re.compile(r"\bRecord\s*<|\[\s*\]|\bArray\s*<|\[\s*[\w$]+\s*:")
# What supabase-js's `from()` returns (PostgrestQueryBuilder) has only these methods; a
# `.from(x)` followed by another (`.upload`, `.list`, `.getPublicUrl`) is a storage bucket's.
_QUERY_BUILDER = frozenset({"select", "insert", "upsert", "update", "delete"})
# A client is named so, but one also named after storage is a bucket API's (`supabaseStorage
# = supabase.storage`) unless the file binds it to a client.
_STORAGE_WORD = re.compile(r"storage|bucket", re.IGNORECASE)
# Wrappers that leave an expression's value as it is: parentheses and TypeScript's type
# operators (`x as T`, `x!`, `x satisfies T`, `<T>x`). A query builder inside one is the same
# builder, so a chain goes on through them.
_TYPE_WRAPPERS = frozenset(
    {"parenthesized_expression", "non_null_expression", "as_expression",
     "satisfies_expression", "type_assertion"}
)
_WRAPPERS = _TYPE_WRAPPERS | {"await_expression"}
# Expressions that may be one of several strings the code shows (`_Reader._strings`), and at
# most how many a request is checked with.
_CHOOSING = frozenset({"ternary_expression", "member_expression", "subscript_expression",
                       "call_expression"})
_CHOICES = 8
# How many local aliases of an import `_Reader._imported_constant` follows (`const t =
# constants.tables; const u = t.user;`): a cycle of them stops here.
_ALIAS_DEPTH = 8
# How many bindings and getters deep a client is followed (`_Reader._held_by`): `pgClient =
# await getPgClient()` of `const getPgClient = async () => Promise.resolve(new pg.Client())`.
_HELD_DEPTH = 6
# The names of the process's global object, whose members a module may keep a client in
# (`_Reader._member_key`).
_GLOBAL_OBJECTS = frozenset({"globalThis", "global"})
# The methods of an array that change its items.
_ARRAY_WRITES = frozenset({b"push", b"pop", b"shift", b"unshift", b"splice", b"sort",
                           b"reverse", b"fill", b"copyWithin"})
# Writes to a name other than `name = value`: `+=`, `++`, and destructuring patterns.
_WRITES = frozenset({"augmented_assignment_expression", "update_expression", "array_pattern",
                     "object_pattern", "pair_pattern", "assignment_pattern", "rest_pattern",
                     "object_assignment_pattern"})
# The nodes that spell a variable's name where it is read or written: also `{ q }` (read) and
# `({ q } = other)` (written), which tree-sitter does not call identifiers.
_REFERENCES = frozenset(
    {"identifier", "shorthand_property_identifier", "shorthand_property_identifier_pattern"})

# Drivers of engines other than PostgreSQL, by the package a module loads (`import`,
# `require()`, `import()`; a subpath counts: `mysql2/promise`). A module loading one and no
# PostgreSQL driver sends its SQL there: Sim's MySQL and SQL Server tools read `sys.schemas`,
# its desktop app's tests build Chrome's SQLite files (`node:sqlite`).
_OTHER_ENGINES = {
    **dict.fromkeys(("node:sqlite", "bun:sqlite", "better-sqlite3", "sqlite3", "sqlite",
                     "@libsql/client", "expo-sqlite", "sql.js", "@sqlite.org/sqlite-wasm",
                     "wa-sqlite", "op-sqlite", "@op-engineering/op-sqlite",
                     # Turso's rewrite of SQLite (readest's benchmarks of its search index)
                     "@tursodatabase/database", "@tursodatabase/sync",
                     "@tursodatabase/serverless", "@db/sqlite",
                     # PowerSync's client SDKs: the app's SQL reads the device's SQLite copy,
                     # whose tables and columns its client schema and sync rules shape
                     # (its demos' `chats` view, `update_b64` of a `bytea`'s base64)
                     "@powersync/common", "@powersync/web", "@powersync/react-native",
                     "@powersync/node", "@powersync/capacitor", "@powersync/op-sqlite",
                     "@powersync/adapter-sql-js", "@powersync/react", "@powersync/vue",
                     "@powersync/nuxt", "@powersync/tanstack-react-query",
                     "@powersync/kysely-driver", "@powersync/drizzle-driver",
                     "@journeyapps/powersync-sdk-common", "@journeyapps/powersync-sdk-web",
                     "@journeyapps/powersync-sdk-react-native",
                     "@journeyapps/powersync-react",
                     # drizzle's SQLite drivers and dialect (`sqliteTable`)
                     "drizzle-orm/sqlite-core", "drizzle-orm/better-sqlite3",
                     "drizzle-orm/bun-sqlite", "drizzle-orm/libsql", "drizzle-orm/expo-sqlite",
                     "drizzle-orm/op-sqlite", "drizzle-orm/sql-js", "drizzle-orm/durable-sqlite"),
                  "SQLite"),
    **dict.fromkeys(("mysql", "mysql2", "mariadb", "@planetscale/database",
                     "drizzle-orm/mysql-core", "drizzle-orm/mysql2"), "MySQL"),
    **dict.fromkeys(("mssql", "tedious"), "SQL Server"),
    **dict.fromkeys(("oracledb",), "Oracle"),
    **dict.fromkeys(("@clickhouse/client", "@clickhouse/client-web"), "ClickHouse"),
    **dict.fromkeys(("duckdb", "@duckdb/node-api", "@duckdb/duckdb-wasm", "duckdb-async",
                     # drizzle on DuckDB (MotherDuck): its `db.execute(sql`...`)`
                     "@duckdbfan/drizzle-duckdb", "@motherduck/wasm-client"), "DuckDB"),
    **dict.fromkeys(("snowflake-sdk",), "Snowflake"),
    **dict.fromkeys(("@google-cloud/bigquery",), "BigQuery"),
    # No database, but `conn.query('SELECT Name FROM Organization')` reads as SQL: SOQL.
    **dict.fromkeys(("jsforce", "@jsforce/jsforce-node"), "Salesforce"),
}
# Types of engines other than PostgreSQL a module imports, by package and name: Cloudflare's
# D1 (SQLite) is no package to load but a binding of the Worker's environment, typed with
# `D1Database` (Cap-go's `c.env.DB_STOREAPPS.prepare('SELECT ... FROM store_apps')`: 4 false
# DBS301 on the project's PostgreSQL).
_D1 = "Cloudflare D1 (SQLite)"
_OTHER_ENGINE_TYPES = {("@cloudflare/workers-types", "D1Database"): _D1}
# drizzle on a D1 binding: `drizzle(env.DB)` of `drizzle-orm/d1` sends its `sql` to D1
_OTHER_ENGINES["drizzle-orm/d1"] = _D1
# A file of the project named for an engine's client, by the engine it hands out: PowerSync's
# (`@/library/powersync/system`, `../powersync.service`) reads the device's SQLite, as its demos'
# screens and background tasks send `system.powersync.execute('INSERT INTO lists ...')`;
# ClickHouse's (`../src/clickhouse/client`, `@/lib/clickhouse`) is the warehouse OpenPanel's
# scripts query beside its Prisma schema (`ch.query({ query: 'SELECT count() FROM events' })`);
# a word of the path in camelCase counts for DuckDB's (`initMotherDuck`).
_ENGINE_MODULES = (
    (re.compile(r"(?:^|[/._-])powersync(?:[/._-]|$)", re.IGNORECASE), "SQLite"),
    (re.compile(r"(?:^|[/._-])clickhouse(?:[/._-]|$)", re.IGNORECASE), "ClickHouse"),
    # DuckDB's or MotherDuck's (`../motherduck/client`, `./initMotherDuck.js`: autumn's cache
    # refresh sends `SELECT COUNT(*) FROM main.ce_balances` to the MotherDuck client one makes)
    (re.compile(r"(?:(?:^|[/._-])(?:[Dd]uck[Dd][Bb]|[Mm]other[Dd]uck)"
                r"|(?<=[a-z0-9])(?:Duck[Dd][Bb]|Mother[Dd]uck))(?=[/._-]|$|[A-Z])"), "DuckDB"),
)
# pgtyped's runtime, whose `sql` tag takes parameters of its own (`_PGTYPED_PARAMETER`)
_PGTYPED_PACKAGES = frozenset({"@pgtyped/runtime", "@pgtyped/query"})
# pgtyped's parameters in a template of its `sql` tag (its runtime's preprocessor-ts.ts):
# `$id` and `$id!` a value it sends as `$1`, `$$ids` a list of them (`($1, $2)`), `$book(a,
# b!)` an object's keys (`($1, $2)`), `$$books(a, b)` a row of them per object (`($1, $2),
# ($3, $4)`). PostgreSQL's parser reads none of them. A dollar quote's `$tag$` is none, nor
# is one in a string literal, which pgtyped's lexer reads whole (its QueryLexer.g4's
# STRING, ended by a quote no backslash escapes): `'$.price ? (@ > $min)'` is a jsonpath.
_PGTYPED_PARAMETER = re.compile(
    r"(?P<string>'(?:'|.*?[^\\]'))"
    r"|\$(?P<list>\$?)[A-Za-z_]\w*!?(?:\((?P<keys>[^()]*)\))?(?![\w$])", re.ASCII | re.DOTALL)
# PostgreSQL's drivers and the ORMs' PostgreSQL flavours: with one loaded too, the module's
# SQL may well be PostgreSQL's (a job copying rows from MySQL), so it stays checked.
# Names postgres.js's column transforms (`postgres.camel`, `pascal`, `kebab`) leave unchanged.
_TRANSFORM_FREE = re.compile(r"[a-z0-9_]+")
# postgres.js's client types, each a tag: `Sql`, a transaction's, a reserved connection's
_POSTGRES_JS_TYPES = frozenset({"Sql", "TransactionSql", "ReservedSql"})
# a type annotation naming one (`: Sql`, `: TransactionSql<{}>`, `: postgres.Sql`)
_POSTGRES_JS_TYPE = re.compile(
    r":\s*(?:(?P<module>[A-Za-z_$][\w$]*)\s*\.\s*)?(?P<type>[A-Za-z_$][\w$]*)\s*(?:<.*>)?\s*",
    re.DOTALL)
_POSTGRES_DRIVERS = frozenset({
    "pg", "pg-pool", "postgres", "pg-promise", "slonik", "@neondatabase/serverless",
    "@vercel/postgres", "@electric-sql/pglite", "@databases/pg", "drizzle-orm/pg-core",
    "drizzle-orm/node-postgres", "drizzle-orm/postgres-js", "drizzle-orm/neon-http",
    "drizzle-orm/neon-serverless", "drizzle-orm/vercel-postgres", "drizzle-orm/pglite",
    "@db/postgres",  # deno-postgres
    *_PGTYPED_PACKAGES,
})
POSTGRES_DRIVERS = _POSTGRES_DRIVERS
# node-postgres and the drivers sharing its API, whose `new Pool()`/`new Client()` is a
# PostgreSQL client (`_Reader._made_by_pg`).
_PG_CLIENT_PACKAGES = frozenset({"pg", "pg-pool", "@neondatabase/serverless"})
# Packages whose `sql` tag may be called as a function with other meanings than postgres.js's
# identifier helper (Neon's `sql('SELECT ...')` before 1.0 is a whole query), or whose tag
# is commonly named `sql` (`project_postgres_js`). (drizzle's and Kysely's `sql` are
# imported where used: a name an import of a package binds is never taken for
# postgres.js's.)
_OTHER_SQL_TAGS = frozenset({"@neondatabase/serverless", "@vercel/postgres", "slonik",
                             "@databases/pg", "sql-template-strings", "sql-template-tag"})
# TypeORM's handles, by the names its documentation and the Nest projects give them
# (`this.dataSource.query`, `queryRunner.query`, `entityManager.query`, a transaction's
# `transactionManager.query`): in a module loading TypeORM, SQL sent through one goes to the
# application's database, whatever other engine's client the module also holds (Laudspeaker's
# services query PostgreSQL so beside `createClient` of `@clickhouse/client`).
_TYPEORM_PACKAGES = frozenset({"typeorm", "@nestjs/typeorm"})
_TYPEORM_HANDLE = re.compile(r"(?:datasource|queryrunner|manager)$", re.IGNORECASE)


# Deno's specifiers of a package (Supabase's Edge Functions import so): `npm:mysql2@3/promise`,
# `jsr:@db/sqlite@0.12`, `https://esm.sh/postgres@3.4.4`; the name and path after the prefix.
_DENO_SPECIFIER = re.compile(r"^(?:npm:|jsr:|https?://(?:esm\.sh|cdn\.skypack\.dev)/(?:v\d+/)?)"
                             r"/?(?P<name>(?:@[^/@]+/)?[^/@]+)(?:@[^/]*)?(?P<path>/.*)?$")
# deno.land/x's drivers, by the npm package (or engine) each stands for.
_DENO_LAND = re.compile(r"^https?://deno\.land/x/(?P<name>[\w-]+)(?:@[^/]*)?(?:/|$)")
_DENO_LAND_PACKAGES = {"postgres": "@db/postgres", "postgresjs": "postgres",
                       "sqlite": "@db/sqlite", "sqlite3": "@db/sqlite", "mysql": "mysql"}


def _package_name(module: str) -> str:
    """The package of an import (`mysql2` of `mysql2/promise`, `@libsql/client` of
    `@libsql/client/web`), `drizzle-orm`'s dialect entry points kept whole; of a Deno
    specifier, the package it names (`mysql2` of `npm:mysql2@3`, postgres.js's `postgres` of
    `https://deno.land/x/postgresjs@v3.4.4/mod.js`).

    >>> _package_name("npm:drizzle-orm@0.30/postgres-js"), _package_name("jsr:@db/sqlite@0.12")
    ('drizzle-orm/postgres-js', '@db/sqlite')
    """
    land = _DENO_LAND.match(module)
    if land is not None:
        return _DENO_LAND_PACKAGES.get(land["name"], module)
    deno = _DENO_SPECIFIER.match(module)
    if deno is not None:
        module = deno["name"] + (deno["path"] or "")
    if module.startswith("drizzle-orm/"):
        return "/".join(module.split("/")[:2])
    parts = module.split("/")
    return "/".join(parts[:2]) if module.startswith("@") else parts[0]


@dataclass(frozen=True, slots=True)
class SqlNames:
    """Tags and calls that carry SQL, on top of `SQL_TAGS` and `SQL_CALLS`.

    From `js-sql-tags` and `js-sql-calls` in `[tool.dbsafe]`. A plain name (`unsafe`) matches
    the last name of the tag or callee (`sql.unsafe`, `db.unsafe`); a dotted one (`sql.raw`)
    matches an expression ending with those names (`sql.raw`, `db.sql.raw`, not `db.raw`).
    """

    tags: frozenset[str] = frozenset()
    calls: frozenset[str] = frozenset()
    # the tables of the project's drizzle schema files (`drizzle_schema.drizzle_tables`)
    drizzle: tuple[DrizzleTable, ...] = ()
    # (specifier, name) of the project's packages re-exporting drizzle-orm's `sql`
    # (`drizzle_schema.sql_reexports`), and (specifier, file) of their files
    drizzle_sql: tuple[tuple[str, str], ...] = ()
    package_files: tuple[tuple[str, str], ...] = ()
    # what makes the project's knex clients rename identifiers, `"wrapIdentifier in
    # knexfile.js:5"` (`knex_clients.renaming_client`): its `??` and `:name:` are holes
    knex_renames: str = ""
    # the project's Kysely clients (`kysely_clients.kysely_clients`), None where its
    # Kysely chains are not read (it does not depend on kysely, or makes a dialect of
    # another engine)
    kysely: KyselyClients | None = None
    # the members typed `D1Database` of the project's Worker environment
    # (`d1_bindings.d1_bindings`): SQL a call on `env.<name>` sends goes to Cloudflare D1
    d1: frozenset[str] = frozenset()
    # the project may be a Worker (`d1_bindings.is_worker`): a name typed `D1Database` is
    # Cloudflare D1's global type
    worker: bool = False
    # the drizzle clients on D1 (and functions returning one) its modules export
    # (`d1_clients.d1_clients`): SQL a call on one sends goes to Cloudflare D1
    d1_clients: tuple[D1Client, ...] = ()
    # the functions and classes the project's modules export that send a parameter as a
    # statement (`js_wrappers.js_wrappers`): what a call gives it there is read
    wrappers: tuple[JsWrapper, ...] = ()
    # the string constants the project's modules export (`js_constants.js_constants`): what
    # an import of one binds is that string (`_Reader._imported_constant`)
    constants: JsConstants | None = None
    # the project's packages depend on postgres.js and on no other client of a `sql` tag
    # (`sql_tag_clients`): `${sql('name')}` in a template a parameter `sql` tags, in a
    # module not loading postgres.js itself, is its identifier helper (`_quoted_name`)
    postgres_js: bool = False

    def __post_init__(self) -> None:
        for name in (*self.tags, *self.calls):
            if not _NAME.match(name):
                raise ValueError(f"not a JavaScript name or dotted path: {name!r}")

    @classmethod
    def from_settings(cls, settings: Settings) -> SqlNames:
        return cls(frozenset(settings.js_sql_tags), frozenset(settings.js_sql_calls))

    def key(self) -> str:
        """A stable text for cache keys: empty when nothing is added."""
        if not self.tags and not self.calls and not self.drizzle and not self.drizzle_sql \
                and not self.knex_renames and not self.d1 and not self.worker \
                and not self.kysely \
                and not self.d1_clients and not self.wrappers and not self.constants \
                and not self.postgres_js:
            return ""
        key = "tags=" + ",".join(sorted(self.tags)) + ";calls=" + ",".join(sorted(self.calls))
        if self.drizzle:
            key += ";drizzle=" + repr(sorted((t.export, t.modules, t.sql, t.columns, t.path,
                                              t.barrels) for t in self.drizzle))
        if self.drizzle_sql or self.package_files:
            key += ";drizzle_sql=" + repr((self.drizzle_sql, self.package_files))
        if self.knex_renames:
            key += ";knex_renames=" + self.knex_renames
        if self.kysely:
            key += ";kysely=" + repr((self.kysely.mode, sorted(self.kysely.types),
                                      self.kysely.clients, sorted(self.kysely.members)))
        if self.d1:
            key += ";d1=" + ",".join(sorted(self.d1))
        if self.worker:
            key += ";worker"
        if self.d1_clients:
            key += ";d1_clients=" + repr(sorted(
                (c.export, c.path, c.modules, c.factory) for c in self.d1_clients))
        if self.wrappers:
            key += ";wrappers=" + repr(sorted(self.wrappers, key=repr))
        if self.constants:
            key += ";constants=" + self.constants.key()
        if self.postgres_js:
            key += ";postgres_js"
        return key


DEFAULT_NAMES = SqlNames()


@dataclass(frozen=True, slots=True)
class JsObject:
    """An object literal: its literal keys, and whether those are all its keys."""

    keys: tuple[SqlFragment, ...]
    values: tuple[JsValue, ...]
    complete: bool  # False with a spread (`...rest`) or a computed key (`[k]: v`)
    # Read through a `const` bound to the literal: code in between may add keys to it.
    bound: bool = False

    def get(self, key: str) -> JsValue:
        for name, value in zip(self.keys, self.values):
            if name.sql == key:
                return value
        return None


@dataclass(frozen=True, slots=True)
class JsArray:
    items: tuple[JsValue, ...]
    complete: bool  # False with a spread element


@dataclass(frozen=True, slots=True)
class JsOther:
    """Any other expression: a value dbsafe does not read (a variable, a call, a number)."""

    label: str  # its source text, shortened
    location: Location
    string_like: bool = False  # a template with holes, or string concatenation
    template: Template | None = None  # a template with holes: its literal text and holes
    # The strings it may be, when the code shows each (`cond ? 'a, b' : 'a'`, a `let`
    # assigned only strings, `SELECTS[kind]`: see `_Reader._strings`); each is checked.
    options: tuple[SqlFragment, ...] = ()
    # For each of `options` (empty when none has one), what a name must hold for it to be
    # the string: see `Guard`.
    guards: tuple[Guard, ...] = ()


# What the code shows a name must hold for a string to be the one an expression gives:
# `TABLES[kind]` is its `posts` entry only when `kind` is 'posts'; `kind === 'post' ? 'id,
# body' : 'id'` is its first string only when `kind` is 'post'. Each term is (the name and
# the scope binding it, the strings, whether it is one of them or none of them); all hold.
# A name in one is never written after it is bound (`_Reader._never_written`), so two
# expressions reading it read the same value, and a request whose table and select are
# chosen by it is sent with the strings of terms that agree (`guards_agree`), never with
# `social_posts`' select on `blog_posts`. Empty: any value.
Guard = tuple[tuple[str, frozenset[str], bool], ...]
# Strings an expression may be, each with its guard (`_Reader._conditioned`).
_Conditioned = tuple[tuple[SqlFragment, Guard], ...]


def guards_agree(*guards: Guard) -> Guard | None:
    """The terms of `guards` together, or None when no value of some name meets them all
    (one says `kind` is 'a', another that it is 'b', or that it is not 'a')."""
    terms = tuple(dict.fromkeys(term for guard in guards for term in guard))
    names = {name for name, _, _ in terms}
    for name in names:
        allowed: frozenset[str] | None = None
        excluded: set[str] = set()
        for other, values, among in terms:
            if other != name:
                continue
            if among:
                allowed = values if allowed is None else allowed & values
            else:
                excluded |= values
        if allowed is not None and not allowed - excluded:
            return None
    return terms


JsValue = SqlFragment | JsObject | JsArray | JsOther | None


def literal_target(value: JsValue, what: str) -> tuple[SqlFragment | None, str | None]:
    """A request's table or function: `value` when it is a literal, else None and why the
    request is not checked (`PostgrestRequest.dynamic`), naming it as `what`."""
    if isinstance(value, SqlFragment):
        return value, None
    label = value.label if isinstance(value, JsOther) else "an expression"
    return None, f"{what} `{label}` is not a literal"


@dataclass(frozen=True, slots=True)
class PostgrestCall:
    """One method call of a chain: `.select('id, title')` is ("select", (<'id, title'>,))."""

    method: str
    arguments: tuple[JsValue, ...]
    location: Location  # of the method name


@dataclass(frozen=True, slots=True)
class PostgrestRequest:
    """`client[.schema(s)].from(table)` or `.rpc(fn, args)` and the calls chained on it, or
    a Realtime subscription `.on('postgres_changes', {schema, table, filter})`.

    `target` is the table (or function) name; `None` when it is not a literal, with the
    expression in `dynamic`. `calls` starts with the `from`/`rpc`/`on` call itself.

    A query held in a variable (`let q = supabase.from('t')...; q = q.eq(...)`) makes one
    request per later use of it, whose `calls` start with the `inherited` calls made on it
    before: they give the request its table and select, but another request reports on them.
    """

    path: str
    kind: str  # "from" | "rpc" | "realtime"
    target: SqlFragment | None
    schema: SqlFragment | None
    calls: tuple[PostgrestCall, ...]
    location: Location  # of `from`/`rpc`
    dynamic: str | None = None
    schema_dynamic: bool = False  # `.schema(x)` with x not a literal
    inherited: int = 0  # leading calls another request reports on (see above)
    # Another use of the same query sets its select: the builders one `.from()` makes share
    # their URL, so the select of the inherited calls may not be the one sent.
    select_shared: bool = False
    # Where the URL of the client it is sent through comes from (`_Reader._client_project`):
    # the environment variables (`YUHINKAI_SUPABASE_URL`) and hosted projects
    # (`<ref>.supabase.co`) it may be; empty when that cannot be told.
    project: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class JsExtractResult(ExtractResult):
    """What a JS/TS file holds: SQL fragments and PostgREST requests."""


def sql_in_javascript(source: str, path: str, *, names: SqlNames = DEFAULT_NAMES,
                      grammar: str | None = None) -> JsExtractResult:
    """Find the SQL statements and PostgREST requests in a JavaScript/TypeScript file.

    Args:
        source: The file's text.
        path: Path recorded in locations (repository-relative, POSIX); its suffix picks the
            grammar (`.ts` TypeScript, `.tsx` TSX, anything else JavaScript with JSX).
        names: Project-specific SQL tags and calls (`js-sql-tags`, `js-sql-calls`).
        grammar: "javascript", "typescript" or "tsx" instead of the one `path` picks (the
            script blocks of a `.vue`/`.svelte` file, `dbsafe.extract.components`).

    Returns:
        Fragments and requests in source order. A file tree-sitter cannot parse at all
        yields a `Skipped` entry; local syntax errors only hide what is inside them.

    Example:
        >>> r = sql_in_javascript("await supabase.from('notes').select('id, body')", "a.ts")
        >>> [(c.method, c.location.column) for c in r.requests[0].calls]
        [('from', 16), ('select', 30)]
        >>> r.requests[0].calls[1].arguments[0].location(4)
        Location(path='a.ts', line=1, column=42, end_line=None, end_column=None)
    """
    data = source.encode("utf-8")
    grammar = grammar or _grammar(path)
    nuls = [at for at, byte in enumerate(data) if byte == 0] if b"\0" in data else []
    stand_in = _nul_stand_in(data) if nuls else None
    if stand_in is not None:
        data = data.replace(b"\0", stand_in)
    tree = _parser(grammar).parse(data)
    if nuls:
        # A NUL byte in code: not JavaScript (node refuses it), a binary or UTF-16 file
        line = (data.count(b"\n", 0, nuls[0]) + 1 if stand_in is None
                else _nul_in_code(tree.root_node, data, nuls))
        if line is not None:
            return JsExtractResult(skipped=(Skipped(Location(path, line), "binary file"),))
    reader = _Reader(data, path, names, typed=grammar != "javascript")
    if tree.root_node.has_error and not tree.root_node.named_children:
        return JsExtractResult(skipped=(Skipped(Location(path, 1), "JavaScript syntax error"),))
    found = reader.run(tree.root_node)
    return found if stand_in is None else _without_nul(found, stand_in.decode())


# What a NUL byte may be part of where JavaScript allows one (node runs such a file: Mirlo's
# `src/api.ts` has one in a comment, Dokploy's vault key is `` `${provider}\0${ref}` ``).
# tree-sitter ends a token at a NUL, so each is parsed as a control character the file does
# not hold, of the same width; in these, tree-sitter reads any such character as text.
_NUL_TEXT = frozenset({"comment", "string_fragment", "regex_pattern", "jsx_text"})


def _nul_stand_in(data: bytes) -> bytes | None:
    """A control character (not whitespace) `data` does not hold, to parse its NUL bytes as;
    None when it holds them all."""
    return next((bytes((code,)) for code in (*range(1, 9), *range(14, 32))
                 if bytes((code,)) not in data), None)


def _nul_in_code(root: Node, data: bytes, nuls: list[int]) -> int | None:
    """The line of the first of the NUL bytes at `nuls` outside a string, template literal,
    comment, regular expression or JSX text (in a syntax error), else None."""
    for at in nuls:
        node: Node | None = root.descendant_for_byte_range(at, at + 1)
        inside = node is not None and node.type in _NUL_TEXT
        while inside and node is not None:
            inside = node.type != "ERROR"
            node = node.parent
        if not inside:
            return data.count(b"\n", 0, at) + 1
    return None


def _without_nul(found: JsExtractResult, stand_in: str) -> JsExtractResult:
    """`found` without the SQL and requests whose text held a NUL byte (`stand_in` in it):
    a client sends a string as a C string, which ends at the NUL, and PostgreSQL refuses one
    in a query; what it would send, dbsafe cannot tell."""
    escaped = repr(stand_in)[1:-1]  # (how a request's strings show it)
    return replace(
        found,
        fragments=tuple(f for f in found.fragments if stand_in not in f.sql),
        skipped=(*found.skipped, *(Skipped(f.location(f.sql.index(stand_in)),
                                           "SQL holding a NUL byte")
                                   for f in found.fragments if stand_in in f.sql)),
        ddl=tuple(sql for sql in found.ddl if stand_in not in sql),
        requests=tuple(r for r in found.requests if escaped not in repr(r)))


def _grammar(path: str) -> str:
    if path.endswith(".tsx"):
        return "tsx"
    if path.endswith((".ts", ".mts", ".cts")):
        return "typescript"
    return "javascript"


@functools.cache
def _parser(grammar: str) -> Parser:
    from tree_sitter import Language, Parser

    if grammar == "javascript":
        import tree_sitter_javascript

        language = Language(tree_sitter_javascript.language())
    else:
        import tree_sitter_typescript

        language = Language(
            tree_sitter_typescript.language_tsx()
            if grammar == "tsx"
            else tree_sitter_typescript.language_typescript()
        )
    return Parser(language)


@dataclass(frozen=True, slots=True)
class _Assigned:
    """Where a value drizzle's update or insert builder writes goes (`_Reader.
    _drizzle_assigned`): the statement (`""`: not known), its table's SQL and the node
    naming it, the column's and the key naming it, where the drizzle schema says them."""

    statement: str  # "update", "insert", or an insert's `on conflict`: "conflict set",
    # "conflict target where" (the arbiter index's predicate), "conflict update where"
    table: str = ""
    table_node: Node | None = None
    column: str = ""
    key_node: Node | None = None
    conflict: tuple[str, ...] = ()  # an `on conflict`'s target columns


class _Reader:
    """One file: its bytes, line index, the names bound in it, and what was found."""

    def __init__(self, data: bytes, path: str, names: SqlNames = DEFAULT_NAMES,
                 typed: bool = False) -> None:
        self.data = data
        self.path = path
        self.names = names
        self.typed = typed  # TypeScript: a tag may take type arguments (`_typed_tag`)
        self.line_starts = [0] + [m.end() for m in re.finditer(rb"\n", data)]
        # per line, the offsets of its UTF-8 continuation bytes; None when ASCII (`position`)
        self.continuations: dict[int, list[int] | None] = {}
        # name -> the id of each node whose extent is a scope binding it -> the declarator of
        # each binding there when it is a plain `const`/`let`/`var name = ...`, else None;
        # see `_declarator`.
        self.bindings: dict[str, dict[int, list[Node | None]]] = {}
        self.clients: set[str] = set()  # names bound to a supabase client
        # functions of the file returning a client (`_find_factories`): their calls are ones
        self.factories: set[str] = set()
        # (property, class body's node id): what a class assigns `this.<property>`, a client
        # or another value (`_bind_this`); the schema each client assigned there was given
        # (None: the default)
        self.this_clients: set[tuple[str, int]] = set()
        self.this_others: set[tuple[str, int]] = set()
        self.this_schemas: dict[tuple[str, int], set[str | None]] = {}
        # (name, scope's node id) -> the body of the class a declaration binds there; each
        # class body with the `extends` name of its class (`_family`)
        self.classes: dict[tuple[str, int], Node] = {}
        # (name, scope's node id) -> the body of the TypeScript enum declared there
        self.enums: dict[tuple[str, int], Node] = {}
        # (name, scope's node id) -> the function a declaration, or a `const` bound to a
        # function or arrow function, binds there (`_composed_by_callee`)
        self.functions: dict[tuple[str, int], Node] = {}
        self.extending: list[tuple[Node, Node]] = []
        self.families: dict[int, tuple[int, ...]] | None = None
        # declarator's node id -> whether the file writes an entry of the `const` object or
        # array literal it binds (`_literal_of`), or what it assigns a `let` (`_assigned`)
        self.entries_written: dict[int, bool] = {}
        self.assignments: dict[int, list[Node] | None] = {}
        # where the strings `_strings` is reading are read (innermost last)
        self.sites: list[Node] = []
        # a `Guard`'s name -> the extent of the scope binding it (`_subject_key`)
        self.guard_scopes: dict[str, tuple[int, int]] = {}
        # declarator's node id -> each `name = value` and the declaration's own name, in
        # source order, with the value given there (`_assigned`, `_reaching`)
        self.writes: dict[int, list[tuple[Node, Node]]] = {}
        # (name, scope's node id): a client destructured from a supabase-named call
        self.held_clients: set[tuple[str, int]] = set()
        self.client_modules: set[str] = set()  # names imported from a supabase-ish module
        # name -> every identifier spelling it (reads, writes and declarations), in source
        # order, and where each starts
        self.references: dict[str, list[Node]] = {}
        self.reference_starts: dict[str, list[int]] = {}
        # every node of the file (`_index`); the members of each property name, and the
        # `this` and global objects under "" (`_member_values`), by need; what a member a
        # chain starts from holds, by its `_member_key` and whether it is called
        self.all_nodes: list[Node] = []
        self.member_index: dict[str, list[Node]] | None = None
        self.class_bodies: list[Node] | None = None
        self.member_values: dict[tuple, list[Node] | None] = {}
        # names imported from another package (`knex`, `drizzle`): what they make is not a
        # supabase client, whatever the variable holding it is called
        self.other_modules: set[str] = set()
        self.engines: set[str] = set()  # other engines whose drivers it loads (_OTHER_ENGINES)
        self.taken: set[int] = set()  # start bytes of the literals read as statements
        # SQL templates holding DDL with holes, a statement or not: what they make (under a
        # name known only at run time, maybe) is there for the module's statements
        self.ddl_with_holes: list[Template] = []
        self.postgres = False  # it loads a PostgreSQL driver (_POSTGRES_DRIVERS)
        self.postgres_js = False  # it loads postgres.js (`_quoted_name`)
        self.pgtyped_tags: set[str] = set()  # names imported from pgtyped's runtime
        # local names of postgres.js's default export (`import postgres from 'postgres'`), by
        # (name, scope's node id), and of its client types (`Sql`, `TransactionSql`), for
        # `_postgres_client`
        self.postgres_js_makers: set[tuple[str, int]] = set()
        self.postgres_js_types: set[str] = set()
        self.typeorm = False  # it loads TypeORM (_TYPEORM_PACKAGES)
        # local names of drizzle-orm's `sql`; the drizzle tables imports bind, by (name,
        # scope's node id) (`_bind_drizzle`, `_drizzle_name`)
        self.drizzle_tags: set[str] = set()
        self.drizzle_tables: dict[tuple[str, int], DrizzleTable] = {}
        self.drizzle_namespaces: dict[tuple[str, int], dict[str, DrizzleTable]] = {}
        # (name, scope's node id): a D1 database destructured from a Worker's environment or
        # typed `D1Database` (`d1_bindings.holds_binding`, `_on_d1`)
        self.d1_held: set[tuple[str, int]] = set()
        # (name, scope's node id): a function another module exports returning a drizzle
        # client on D1 (`names.d1_clients`)
        self.d1_factories: set[tuple[str, int]] = set()
        # the project's wrappers of a driver (`js_wrappers`) a name binds, by (name, scope's
        # node id): a function (the position of the parameter it sends), a class (its
        # wrapping methods: name -> (position, static)), or a module's exports (the
        # specifier, for `db.q(...)` of `import * as db`, `const db = require(...)`)
        self.wrapped_functions: dict[tuple[str, int], int] = {}
        self.wrapped_classes: dict[tuple[str, int], dict[str, tuple[int, bool]]] = {}
        self.wrapped_modules: dict[tuple[str, int], str] = {}
        # the wrapping methods of the file's classes, by the class body's node id
        self.wrapping_methods: dict[int, dict[str, tuple[int, bool]]] = {}
        # the wrapping methods of the file's top-level `const X = { m: (text) => ... }`, by
        # the object's node id, and the functions of its `module.exports = { m: ... }` (and
        # `exports.m = ...`), by export name: what each sends
        self.wrapping_objects: dict[int, dict[str, tuple[int, bool]]] = {}
        self.common_wrappers: dict[str, int] = {}
        # what each name an import (or `require`) of a module of the project binds is:
        # (specifier, export), `*` for the module's whole exports (`import * as db`)
        self.imported: dict[tuple[str, int], tuple[str, str]] = {}
        # names bound to what a module of the project loading a PostgreSQL driver (and no
        # other engine's) exports (`import { pool } from './pool'`): `pool.query(text)` sends
        # to PostgreSQL (`JsWrapper.client`)
        self.pg_clients: set[tuple[str, int]] = set()
        # names bound to a postgres.js client another module of the project exports
        # (`const db = require('../config/db')`, its `module.exports = postgres(url)`'s
        # `const`): a tag (`JsWrapper.tag`, `_postgres_client`)
        self.imported_tags: set[tuple[str, int]] = set()
        # what each name an import binds is, for `_imported_constant`: (specifier, export),
        # `*` for a namespace import, by (name, scope's node id)
        self.constant_imports: dict[tuple[str, int], tuple[str, str]] = {}
        # each name a `const` destructures of another expression (`const { user } =
        # constants.tables`): that expression and the keys the name reads of it, by (name,
        # scope's node id), for `_imported_constant`
        self.constant_aliases: dict[tuple[str, int], tuple[Node, tuple[str, ...]]] = {}
        # names an import (or `require`) of node-postgres binds (`Pool`, `Client`, `pg` of
        # `import pg from 'pg'`): `new Pool()` is a PostgreSQL client (`_made_by_pg`)
        self.pg_makers: set[str] = set()
        # `wrapper_facts` reads the module alone: a call of what an import of the project
        # binds, or of a driver method on it, may send a wrapper's parameter, on the
        # condition noted (`js_wrappers` checks it against the other modules' facts): in
        # `deps` while a parameter is followed, by the wrapper's node id once it is one
        self.pending = False
        self.deps: set[tuple] | None = None
        self.wrapper_deps: dict[int, frozenset[tuple]] = {}
        # each wrapper's function node id, by ("f", name, scope), ("m", the class body's or
        # object's node id, method) or ("j", CommonJS export); each object literal of
        # `wrapping_objects`'s name (None: `export default {...}`); each class the file
        # declares extending another: its name, the last name of what it extends, its body
        self.wrapper_ids: dict[tuple, int] = {}
        self.object_owners: dict[int, str | None] = {}
        self.subclasses: list[tuple[str, str, Node]] = []

    # -- positions ---------------------------------------------------------------------

    def position(self, byte: int) -> tuple[int, int]:
        index = bisect.bisect_right(self.line_starts, byte) - 1
        start = self.line_starts[index]
        # Minified bundles are one long line: decoding from its start each time is O(n²),
        # so each line is looked at once. A column counts characters: in UTF-8 (`data` is
        # `str.encode`'s) every byte but a continuation byte starts one, so it is the byte
        # offset less the continuation bytes before it, found by the regex engine (a loop
        # over each character of a 950 KB line cost graphiql.min.js a quarter of its read).
        if index not in self.continuations:
            end = self.line_starts[index + 1] if index + 1 < len(self.line_starts) else None
            line = self.data[start:end]
            self.continuations[index] = None if line.isascii() else [
                m.start() for m in _CONTINUATION_BYTE.finditer(line)]
        continuations = self.continuations[index]
        offset = byte - start
        if continuations is None:
            return index + 1, offset + 1
        return index + 1, offset - bisect.bisect_left(continuations, offset) + 1

    def location(self, node: Node) -> Location:
        line, column = self.position(node.start_byte)
        end_line, end_column = self.position(max(node.end_byte - 1, node.start_byte))
        return Location(self.path, line, column, end_line, end_column)

    def text(self, node: Node) -> str:
        return self.data[node.start_byte:node.end_byte].decode("utf-8", "replace")

    # -- the walk ----------------------------------------------------------------------

    def _index(self, nodes: list[Node]) -> None:
        """Record every binding and reference of the file."""
        self.all_nodes = nodes
        for node in nodes:
            kind = node.type
            if kind in _BINDING_KINDS:  # (most nodes are none: the walk's hottest test)
                self._bind(node)
            elif kind in _REFERENCES:
                key = self.text(node)
                self.references.setdefault(key, []).append(node)
                self.reference_starts.setdefault(key, []).append(node.start_byte)
        self.families = None  # (any read while binding saw only the classes bound before)

    def run(self, root: Node) -> JsExtractResult:
        nodes = list(_walk(root))
        self._index(nodes)
        self._find_factories(nodes)
        if self._may_wrap():
            self._find_wrappers(root)
        fragments: list[SqlFragment] = []
        through_typeorm: set[int] = set()  # indexes in `fragments` of what TypeORM sends
        d1: list[Skipped] = []  # SQL a D1 binding sends (`_on_d1`)
        views: list[Skipped] = []  # drizzle views' definitions (`_drizzle_view_body`)
        other: list[Skipped] = []  # SQL in a branch for another engine (`_other_database`)
        requests: list[PostgrestRequest] = []
        for node in nodes:
            if node.type in ("template_string", "string", "new_expression"):
                fragment = self._pg_query(node) if node.type == "new_expression" else (
                    self._marked_sql(node) or (self._typed_sql(node) if self.typed and (
                        node.type == "template_string") else None))
                if fragment is not None and not self._other_database(node, fragment, other):
                    fragments.append(fragment)
                continue
            if node.type != "call_expression":
                continue
            request = self._request(node)
            if request is not None:
                requests.append(request)
                requests.extend(self._followed(node, request))
                continue
            request = self._realtime(node)
            if request is not None:
                requests.append(request)
                continue
            fragment = self._sql(node)
            if fragment is not None and (self._on_d1(node) or self._given_to_d1(node)):
                d1.append(Skipped(fragment.location(0), f"sent to {_D1}, not PostgreSQL"))
            elif fragment is not None and self._drizzle_view_body(node):
                views.append(Skipped(fragment.location(0), _DRIZZLE_VIEW))
            elif fragment is not None and not self._other_database(node, fragment, other):
                if self.typeorm and self._on_typeorm(node):
                    through_typeorm.add(len(fragments))
                fragments.append(fragment)
        if self.names.kysely:
            fragments.extend(self._kysely(root))
        skipped: list[Skipped] = [*d1, *views, *other]
        if self.engines and not self.postgres:
            engine = " or ".join(sorted(self.engines))
            skipped = [*skipped, *(Skipped(fragment.location(0), f"sent to {engine}, not PostgreSQL")
                              for index, fragment in enumerate(fragments)
                              if index not in through_typeorm)]
            fragments = [fragments[index] for index in sorted(through_typeorm)]
            if not fragments:
                return JsExtractResult(requests=tuple(requests), skipped=tuple(skipped))
        return JsExtractResult(fragments=tuple(fragments), requests=tuple(requests),
                               skipped=tuple(skipped), ddl=self._unsent_ddl(nodes))

    def _kysely(self, root: Node) -> list[SqlFragment]:
        """The statements of the file's Kysely chains (`dbsafe.extract.kysely`)."""
        from dbsafe.extract.kysely import kysely_fragments

        clients = self.names.kysely
        assert clients is not None

        def imported(module: str, name: str) -> str:
            return clients.imported(module, name, self.path, self._package_file(module))

        return kysely_fragments(root, self.data, self.path, self.position,
                                typed=clients.mode, client_types=clients.types,
                                imported=imported, members=clients.members)

    def _other_database(self, node: Node, fragment: SqlFragment, skipped: list[Skipped]) -> bool:
        """Whether `node` sends its statement only where the database is not PostgreSQL (in
        the branch of `if (process.env.DATABASE_URL?.startsWith("mysql://"))`, see
        `js_dialect_guard`); if so, `fragment` is added to `skipped` with that test."""
        from dbsafe.extract.js_dialect_guard import other_database

        found = other_database(self.data, node, self._constant_of)
        if found is None:
            return False
        test, engines = found
        where = f"sent to {engines}, not PostgreSQL" if engines else \
            "sent where the database is not PostgreSQL"
        said = " ".join(test.split())
        said = said if len(said) <= 60 else said[:57] + "..."
        skipped.append(Skipped(fragment.location(0), f"{where} (`{said}`)"))
        return True

    def _constant_of(self, identifier: Node) -> Node | None:
        """`_constant`, for an identifier only (a test's name: `if (isMysql)`)."""
        return self._constant(identifier) if identifier.type == "identifier" else None

    def _on_typeorm(self, call: Node) -> bool:
        """Whether `call` is a method of one of TypeORM's handles (`_TYPEORM_HANDLE`:
        `this.dataSource.query(...)`, `queryRunner.query(...)`)."""
        function = _unwrap(call.child_by_field_name("function") or call)
        handle = function.child_by_field_name("object") \
            if function.type == "member_expression" else None
        name = _last_name(self, handle) if handle is not None else None
        return name is not None and _TYPEORM_HANDLE.search(name) is not None

    def _on_d1(self, call: Node) -> bool:
        """Whether `call` is a method of a D1 database of a Worker: a binding of its
        environment (`names.d1`), `env.DB.prepare(...)`, Hono's `c.env.DB`, `this.env.DB`,
        Pages Functions' `context.env.DB`; a name destructured from one (`const { DB } =
        this.env`, `({ env: { DB } })`) or typed `D1Database` (`db: D1Database`), read in the
        scope that binds it (`d1_held`); a field typed so (`this.DB`, `private DB:
        D1Database`); or a `const` holding one of these (`const db = c.env.DB`); a drizzle
        client on D1 another module exports, or one a function of it returns
        (`getDb(c.env).all(...)`, `_bind_d1_clients`)."""
        function = _unwrap(call.child_by_field_name("function") or call)
        receiver = function.child_by_field_name("object") \
            if function.type == "member_expression" else None
        receiver = _unwrap(receiver) if receiver is not None else None
        if receiver is not None and receiver.type == "identifier":
            if self._declared_in(receiver, self.d1_held):
                return True
            receiver = self._constant(receiver)
            receiver = _unwrap(receiver) if receiver is not None else None
        if receiver is not None and receiver.type == "call_expression":
            # `getDb(c.env).all(...)`: a function another module exports returns a drizzle
            # client on D1 (`_bind_d1_clients`)
            made_by = _unwrap(receiver.child_by_field_name("function") or receiver)
            if made_by.type == "identifier" and \
                    self._declared_in(made_by, self.d1_factories):
                return True
            # `const session = env.DB.withSession(bookmark)`: D1's Sessions API, the same
            # database
            method = _unwrap(receiver.child_by_field_name("function") or receiver)
            name = method.child_by_field_name("property") \
                if method.type == "member_expression" else None
            receiver = method.child_by_field_name("object") \
                if name is not None and self.text(name) == "withSession" else None
            receiver = _unwrap(receiver) if receiver is not None else None
        if receiver is None or receiver.type != "member_expression":
            return False
        binding, owner = receiver.child_by_field_name("property"), \
            receiver.child_by_field_name("object")
        if binding is None or owner is None:
            return False
        if self.text(binding) == "$client" and owner.type == "identifier" and \
                self._declared_in(owner, self.d1_held):
            # `db.$client.prepare(...)`: the D1 database a drizzle client on D1 was made with
            return True
        if owner.type == "this":
            body = _class_of(owner) if self.names.worker else None
            return body is not None and typed_field(self.data, body, self.text(binding))
        return self.text(binding) in self.names.d1 and is_env(self.data, owner)

    def _drizzle_view_body(self, call: Node) -> bool:
        """Whether drizzle's ``sql`...` `` is a view's definition: given to `.as()` of
        `pgView(...)`, `pgMaterializedView(...)` or a `pgSchema`'s `.view(...)`/
        `.materializedView(...)`, past its `.with({...})` options. drizzle-orm sends the view's
        name; the body is what drizzle-kit writes into a migration (`CREATE VIEW "v" AS
        (...)`) or read from the database (`drizzle-kit pull` describes every view it found,
        an extension's too)."""
        arguments = call.child_by_field_name("arguments")
        if arguments is None or not self._drizzle_tag(arguments):
            return False
        node = call
        node = _typed_as(node)
        given = node.parent.parent if node.parent is not None and \
            node.parent.type == "arguments" and node.parent.named_child_count == 1 else None
        function = given.child_by_field_name("function") if given is not None and \
            given.type == "call_expression" else None
        view = _member(function, ("as",))
        while view is not None and view.type == "call_expression":
            callee = view.child_by_field_name("function")
            callee = _unwrap(callee) if callee is not None else None
            if callee is not None and callee.type == "identifier":
                return self.text(callee) in ("pgView", "pgMaterializedView")
            if _member(callee, ("view", "materializedView")) is not None:
                return True
            view = _member(callee, ("with",))  # `.with({ securityInvoker: true })`
        return False

    def _given_to_d1(self, call: Node) -> bool:
        """Whether a SQL tag's statement (drizzle's ``sql`...` ``, `sql.raw(...)`) is given to
        a method of a D1 database (``db.all(sql`...`)``), directly or through a `const` each
        read of which is (`const query = sql`...`; db.run(query)`)."""
        node = call
        node = _typed_as(node)
        parent = node.parent
        if parent is not None and parent.type == "variable_declarator" and \
                parent.child_by_field_name("value") == node and _is_const(parent):
            name = parent.child_by_field_name("name")
            if name is None or name.type != "identifier":
                return False
            uses = [use for use in self._uses(name, parent) if use != name]
            return bool(uses) and all(self._given_to_d1(use) for use in uses)
        given = parent.parent if parent is not None and parent.type == "arguments" else None
        return given is not None and given.type == "call_expression" and self._on_d1(given)

    def _unsent_ddl(self, nodes: list[Node]) -> tuple[str, ...]:
        """DDL in strings no SQL call or tag takes, which the module runs through one dbsafe
        does not know (readest keeps `CREATE TABLE IF NOT EXISTS entries (...)` in an array
        its store hands to `db.batch()`, then reads `entries`: 16 false DBS301): never
        validated, but what it makes exists for the module's statements, as for Python; and
        the DDL with holes a SQL call or tag sends."""
        ddl: list[str] = []
        # (taken: a SQL call or tag sends them, and validate checks or notes them)
        templates: list[tuple[Template, tuple[str, ...]]] = [
            (t, (NAME_HOLE,)) for t in self.ddl_with_holes]
        for node in nodes:
            if node.type not in ("string", "template_string") or \
                    node.start_byte in self.taken:
                continue
            template = self._template(node)
            if not template.problem and _holds_ddl(template):
                templates.append((template, ("0", NAME_HOLE) if template.holes else ("",)))
        for template, fillers in templates:
            # Never validated, so a hole that is no value still leaves the rest readable: a
            # number there (readest's `embedding vector32(${dim})`) lets PostgreSQL's parser
            # read what the statement makes. `NAME_HOLE` there as well (all that counts of a
            # statement holding it is what it makes or renames) tells a hole naming it
            # (``CREATE TABLE ${sql(table)} (...)``): a name known only at run time.
            for filler in fillers:
                sql = "".join(piece + (filler if hole is not None else "")
                              for piece, hole in zip(_pieces(template), [*template.holes, None]))
                # (each statement alone: SQLite's `INSERT OR IGNORE` beside a CREATE)
                ddl.extend(sql[start:end] for start, end in statement_bounds(sql))
        return tuple(ddl)

    def _loads(self, module: str) -> None:
        """Note a package the module loads that says which engine its SQL goes to."""
        package = _package_name(module)
        if package in _POSTGRES_DRIVERS:
            self.postgres = True
            self.postgres_js = self.postgres_js or package == "postgres"
        elif package in _TYPEORM_PACKAGES:
            self.typeorm = True
        elif package in _OTHER_ENGINES:
            self.engines.add(_OTHER_ENGINES[package])
        elif not _package(module):
            self.engines.update(engine for named, engine in _ENGINE_MODULES
                                if named.search(module))

    def _imports_engine_type(self, node: Node, module: str) -> None:
        """Note an engine whose type the import names (`import type { D1Database } from
        '@cloudflare/workers-types'`)."""
        package = _package_name(module)
        for specifier in _walk(node):
            name = specifier.child_by_field_name("name") \
                if specifier.type == "import_specifier" else None
            engine = _OTHER_ENGINE_TYPES.get((package, self.text(name))) \
                if name is not None else None
            if engine is not None:
                self.engines.add(engine)

    def _bind(self, node: Node) -> None:
        """Record bindings, client variables and names imported from supabase modules."""
        for bound, scope in _binding_patterns(node):
            for identifier in _pattern_names(bound):
                declarator = node if bound.type == "identifier" and (
                    node.type == "variable_declarator") else None
                self.bindings.setdefault(self.text(identifier), {}).setdefault(
                    scope.id, []).append(declarator)
                if self.names.worker and holds_binding(self.data, identifier, self.names.d1):
                    self.d1_held.add((self.text(identifier), scope.id))
        if node.type in ("class_declaration", "abstract_class_declaration"):
            self._bind_class(node)
            return
        if node.type in ("function_declaration", "generator_function_declaration"):
            name = node.child_by_field_name("name")
            if name is not None:
                self.functions[(self.text(name), _block(node).id)] = node
            return
        if node.type == "enum_declaration":
            name, body = node.child_by_field_name("name"), node.child_by_field_name("body")
            if name is not None and body is not None:
                self.enums[(self.text(name), _block(node).id)] = body
            return
        if node.type == "import_statement":
            source = node.child_by_field_name("source")
            if source is None:
                return
            module = self.text(source).strip("'\"")
            self._loads(module)
            self._imports_engine_type(node, module)
            self._bind_drizzle(node, module)
            self._bind_d1_clients(node, module)
            if self.names.constants:
                self._note_constant_imports(node, module)
            if not _package(module):
                self._note_imports(node, module)
                if self.names.wrappers:
                    self._bind_wrappers(node, module)
            if _package_name(module) == "postgres":
                self._bind_postgres_js(node)
            if _package_name(module) in _PG_CLIENT_PACKAGES:
                self.pg_makers.update(
                    self.text(n) for child in node.named_children
                    if child.type == "import_clause" for n in _pattern_names(child))
            if _package_name(module) in _PGTYPED_PACKAGES:
                self.pgtyped_tags.update(
                    self.text(n) for child in node.named_children
                    if child.type == "import_clause" for n in _pattern_names(child))
            names = self.client_modules if _CLIENT_MODULE.search(module) else (
                self.other_modules if _package(module) else None)
            if names is not None:
                # The names the import binds: `createRedis` of `{ createClient as
                # createRedis }`, not the `createClient` it renames (redis's filed
                # supabase's `createClient` under another package: its clients unread).
                for child in node.named_children:
                    if child.type == "import_clause":
                        names.update(self.text(n) for n in _pattern_names(child))
            return
        if node.type == "call_expression":
            function = node.child_by_field_name("function")
            arguments = node.child_by_field_name("arguments")
            if function is not None and arguments is not None and (
                    function.type == "import" or self.text(function) == "require") and \
                    arguments.named_children and arguments.named_children[0].type == "string":
                self._loads(self.text(arguments.named_children[0]).strip("'\"`"))
            return
        if node.type == "variable_declarator":
            name = node.child_by_field_name("name")
            value = node.child_by_field_name("value")
            if name is not None and name.type == "identifier" and value is not None and (
                    _unwrap(value).type in ("arrow_function", "function_expression")):
                for _, scope in _binding_patterns(node):
                    self.functions[(self.text(name), scope.id)] = _unwrap(value)
            if name is not None and name.type == "object_pattern" and value is not None:
                for _, scope in _binding_patterns(node):
                    self._bind_client_of(name, value, scope)
                self._bind_loaded(name, value)
            if name is not None and value is not None:
                self._bind_required_wrappers(node, name, value)
                if self.names.constants:
                    self._note_required_constants(node, name, value)
                if self._required(value) in _PG_CLIENT_PACKAGES:  # `const { Pool } = require('pg')`
                    self.pg_makers.update(self.text(n) for n in _pattern_names(name))
            if name is None or name.type != "identifier":
                return
            if value is not None and self._required(value) == "postgres":
                # `const postgres = require(...)`
                self.postgres_js_makers.update(
                    (self.text(name), scope.id) for _, scope in _binding_patterns(node))
            key = self.text(name)
            annotation = node.child_by_field_name("type")
            if annotation is not None and _CLIENT_TYPE.search(self.text(annotation)):
                self.clients.add(key)
            if value is not None and self._is_client(value):
                self.clients.add(key)
            return
        if node.type in ("required_parameter", "optional_parameter"):
            pattern = node.child_by_field_name("pattern")
            annotation = node.child_by_field_name("type")
            if (pattern is not None and pattern.type == "identifier" and annotation is not None
                    and _CLIENT_TYPE.search(self.text(annotation))):
                self.clients.add(self.text(pattern))
        if node.type == "public_field_definition":
            name = node.child_by_field_name("name")
            annotation = node.child_by_field_name("type")
            if name is not None and annotation is not None and _CLIENT_TYPE.search(
                    self.text(annotation)):
                self.clients.add(self.text(name))
            value = node.child_by_field_name("value")
            if name is not None and value is not None and node.parent is not None:
                self._bind_this(self.text(name), value, node.parent)
        if node.type == "assignment_expression":
            left = node.child_by_field_name("left")
            value = node.child_by_field_name("right")
            if left is None or value is None or left.type != "member_expression":
                return
            obj, prop = left.child_by_field_name("object"), left.child_by_field_name("property")
            body = _class_of(obj) if obj is not None and obj.type == "this" else None
            if prop is not None and body is not None:
                self._bind_this(self.text(prop), value, body)

    def _bind_drizzle(self, node: Node, module: str) -> None:
        """Note drizzle's `sql` tag imported from `drizzle-orm`, and the tables of the
        project's drizzle schema files an import binds (`import { orders as o } from
        '@/db/schema'`: `o`; also from a workspace's package, `'@acme/db/schema'`, and
        through a namespace, `import * as schema from ...`: `schema.orders`), for
        `_drizzle_name`."""
        drizzle = module == "drizzle-orm" or module.startswith("drizzle-orm/")
        # the names of drizzle's `sql` a project's package re-exports (`@acme/db`)
        sql_names = {"sql"} if drizzle else {
            name for specifier, name in self.names.drizzle_sql if specifier == module}
        if not sql_names and not self.names.drizzle:
            return
        file = self._package_file(module)
        scope = _block(node).id
        for clause in node.named_children:
            if clause.type != "import_clause":
                continue
            for named in clause.named_children:
                if named.type == "namespace_import" and not drizzle:
                    # `import * as schema from '../db/schema'`: `schema.orders`
                    local_name = next((c for c in named.named_children
                                       if c.type == "identifier"), None)
                    tables = {t.export: t for t in self.names.drizzle
                              if t.imported_by(module, self.path, file)}
                    if local_name is not None and tables:
                        self.drizzle_namespaces[(self.text(local_name), scope)] = tables
                    continue
                if named.type != "named_imports":
                    continue
                for specifier in named.named_children:
                    name = specifier.child_by_field_name("name")
                    alias = specifier.child_by_field_name("alias") or name
                    if specifier.type != "import_specifier" or name is None or alias is None:
                        continue
                    imported, local = self.text(name), self.text(alias)
                    if imported in sql_names:
                        self.drizzle_tags.add(local)
                    if drizzle:
                        continue
                    table = next((t for t in self.names.drizzle if t.export == imported
                                  and t.imported_by(module, self.path, file)), None)
                    if table is not None:
                        self.drizzle_tables[(local, scope)] = table

    def _required(self, value: Node) -> str | None:
        """The package a `require('...')` loads."""
        value = _unwrap(value)
        function = value.child_by_field_name("function") if (
            value.type == "call_expression") else None
        arguments = value.child_by_field_name("arguments") if function is not None else None
        if function is None or arguments is None or self.text(function) != "require":
            return None
        first = [c for c in arguments.named_children if c.type != "comment"]
        if len(first) != 1 or first[0].type != "string":
            return None
        return _package_name(self.text(first[0]).strip("'\""))

    def _bind_postgres_js(self, node: Node) -> None:
        """Note the names an import of postgres.js binds: its default export or namespace,
        which makes clients (`import postgres from 'postgres'`), and its client types
        (`import type { Sql, TransactionSql as Tx } from 'postgres'`)."""
        scope = _block(node).id
        for clause in node.named_children:
            for named in clause.named_children if clause.type == "import_clause" else ():
                if named.type == "identifier":
                    self.postgres_js_makers.add((self.text(named), scope))
                elif named.type == "namespace_import":
                    self.postgres_js_makers.update((self.text(c), scope) for c in
                                                   named.named_children if c.type == "identifier")
                for specifier in named.named_children if named.type == "named_imports" else ():
                    name = specifier.child_by_field_name("name")
                    alias = specifier.child_by_field_name("alias") or name
                    if name is not None and alias is not None and (
                            self.text(name) in _POSTGRES_JS_TYPES):
                        self.postgres_js_types.add(self.text(alias))

    def _postgres_client(self, identifier: Node, seen: frozenset[tuple] = frozenset()) -> bool:
        """Whether an identifier reads a postgres.js client, a tag whatever its name: a
        `const` bound to a call of postgres.js's default export (`const db = postgres(url)`)
        or typed as a client, a `let`/`var` given only such calls (`_given`: `let db;
        function getDb() { db ??= postgres(url); return db; }`), or a parameter typed so
        (`(tx: TransactionSql) => tx`...``, `db: postgres.Sql`), the only binding of its
        name in its scope.

        >>> r = sql_in_javascript("import postgres, { type Sql } from 'postgres';\\n"
        ...     "const db = postgres(url); db`SELECT a FROM t`;\\n"
        ...     "const f = (tx: Sql<{}>) => tx`SELECT b FROM t`;\\n"
        ...     "const g = (tx: Other) => tx`SELECT c FROM t`", "a.ts")
        >>> [f.sql for f in r.fragments]
        ['SELECT a FROM t', 'SELECT b FROM t']
        """
        if self.imported_tags and self._declared_in(identifier, self.imported_tags):
            return True  # (another module's client: `JsWrapper.tag`)
        if not (self.postgres_js_makers or self.postgres_js_types):
            return False
        scope = self._binding_scope(identifier)
        if scope is None or len(scope[1]) != 1:
            return False
        declarator = scope[1][0]
        if declarator is None:  # a parameter, or a binding of another kind
            function = identifier.parent
            while function is not None and function.id != scope[0]:
                function = function.parent
            parameters = function.child_by_field_name("parameters") if (
                function is not None) else None
            declarator = next((
                c for c in parameters.named_children if parameters is not None and c.type in (
                    "required_parameter", "optional_parameter")
                and (p := c.child_by_field_name("pattern")) is not None
                and p.type == "identifier" and self.text(p) == self.text(identifier)),
                None) if parameters is not None else None
            if declarator is None:
                return False
        elif not _is_const(declarator):
            # a `let`/`var` every value of which is a client (`let db; db ??= postgres(url)`)
            given = self._given(identifier, declarator) if (
                declarator.type == "variable_declarator") else None
            inner = seen | {("n", self.text(identifier), scope[0])}
            return given is not None and all(self._postgres_js_value(v, inner) for v in given)
        annotation = declarator.child_by_field_name("type")
        if annotation is not None:
            match = _POSTGRES_JS_TYPE.fullmatch(self.text(annotation))
            if match is None or match["module"] is None:
                return match is not None and match["type"] in self.postgres_js_types
            return match["module"] in {name for name, _ in self.postgres_js_makers} and (
                match["type"] in _POSTGRES_JS_TYPES)
        value = declarator.child_by_field_name("value")
        return value is not None and self._postgres_js_value(
            value, seen | {("n", self.text(identifier), scope[0])})

    def _postgres_js_value(self, value: Node, seen: frozenset[tuple]) -> bool:
        """Whether a value a binding or member is given is a postgres.js client: a call of
        its default export (`_postgres_js_made`), each side of `a ?? b`, `a || b` and `c ?
        a : b` one, a member a chain may start from whose every value is one
        (`_member_values`: `globalForDb.sql ??= postgres(url)`), or a name that reads one
        (`_postgres_client`). `seen`: the bindings and members being asked about; a value
        reading one again adds nothing (`const sql = globalForDb.sql ?? postgres(url);
        globalForDb.sql = sql`)."""
        value = _unwrap(value)
        choices = _alternatives(value)
        if choices is not None:
            return all(self._postgres_js_value(c, seen) for c in choices)
        if self._postgres_js_made(value):
            return True
        if value.type not in ("identifier", "member_expression") or len(seen) > _HELD_DEPTH:
            return False
        key = self._held_key(value)
        if key is None:
            return False
        if key in seen:
            return True
        if value.type == "identifier":
            return self._postgres_client(value, seen)
        held = self._member_values(value)
        return held is not None and all(self._postgres_js_value(v, seen | {key}) for v in held)

    def _postgres_js_made(self, value: Node) -> bool:
        """Whether a value is a call of postgres.js's default export (`postgres(url)`)."""
        value = _unwrap(value)
        maker = value.child_by_field_name("function") if (
            value.type == "call_expression") else None
        # the maker as JavaScript resolves its name: a parameter `postgres` is another
        return maker is not None and maker.type == "identifier" and self._declared_in(
            maker, self.postgres_js_makers)

    def _package_file(self, module: str) -> str | None:
        """The file an import of the project's own package names (`names.package_files`)."""
        return next((f for specifier, f in self.names.package_files if specifier == module),
                    None)

    def _bind_d1_clients(self, node: Node, module: str) -> None:
        """Note the drizzle clients on D1 another module of the project exports that an
        import binds (`import { db, getDb } from './db'`), for `_on_d1`."""
        if not self.names.d1_clients:
            return
        scope = _block(node).id
        file = self._package_file(module)
        for clause in node.named_children:
            for named in clause.named_children if clause.type == "import_clause" else ():
                if named.type == "identifier":  # `import db from '@/db'`: its default export
                    client = next((c for c in self.names.d1_clients if c.export == "default"
                                   and c.imported_by(module, self.path, file)), None)
                    if client is not None:
                        (self.d1_factories if client.factory else self.d1_held).add(
                            (self.text(named), scope))
                for specifier in named.named_children if named.type == "named_imports" else ():
                    name = specifier.child_by_field_name("name")
                    alias = specifier.child_by_field_name("alias") or name
                    if name is None or alias is None:
                        continue
                    client = next((c for c in self.names.d1_clients
                                   if c.export == self.text(name)
                                   and c.imported_by(module, self.path, file)), None)
                    if client is not None:
                        (self.d1_factories if client.factory else self.d1_held).add(
                            (self.text(alias), scope))

    # -- the project's wrappers of a driver (`js_wrappers`) ----------------------------

    def _find_wrappers(self, root: Node) -> None:
        """Note the file's top-level functions, class methods and methods of a top-level
        object (`const db = { all: (text, params) => pool.query(text, params) }`,
        `module.exports = { ... }`, `exports.all = ...`) that send a parameter, as is, as a
        statement (`_sent_parameter`), in a module whose driver calls go to PostgreSQL
        (`_may_wrap`); a wrapper may call another one of the file (`one(text) { return
        query(text) }`), so they are looked for until no more are found. A method a class
        of the file extending its class declares again is none (`_overridden`)."""
        functions: list[tuple[tuple[str, int], Node]] = []
        methods: list[tuple[Node, str, bool, Node]] = []
        objects: list[tuple[tuple[str, int] | None, Node]] = []
        common: list[tuple[str, Node]] = []
        for child in root.named_children:
            declaration: Node | None = child
            if child.type == "export_statement":
                declaration = child.child_by_field_name("declaration") or \
                    child.child_by_field_name("value")
                if declaration is not None and _unwrap(declaration).type == "object" and any(
                        c.type == "default" for c in child.children):
                    objects.append((None, _unwrap(declaration)))  # `export default { ... }`
                    continue
            elif child.type == "expression_statement":
                common += self._common_functions(child)
                continue
            if declaration is None:
                continue
            name = declaration.child_by_field_name("name")
            if declaration.type in ("function_declaration", "function_expression",
                                    "function") and name is not None:
                functions.append(((self.text(name), root.id), declaration))
            elif declaration.type == "lexical_declaration":
                for declarator in declaration.named_children:
                    name = declarator.child_by_field_name("name")
                    value = declarator.child_by_field_name("value")
                    value = _unwrap(value) if value is not None else None
                    if not _is_const(declarator) or name is None or (
                            name.type != "identifier") or value is None:
                        continue
                    if value.type in ("arrow_function", "function_expression", "function"):
                        functions.append(((self.text(name), root.id), value))
                    elif value.type == "object" and not self._member_assigned(name):
                        objects.append(((self.text(name), root.id), value))
            elif declaration.type in ("class_declaration", "abstract_class_declaration",
                                      "class"):
                body = declaration.child_by_field_name("body")
                for method in body.named_children if body is not None else ():
                    name = method.child_by_field_name("name")
                    if body is None or method.type != "method_definition" or name is None or (
                            name.type != "property_identifier") or any(
                            c.type in ("get", "set") for c in method.children) or (
                            self.text(name) == "constructor"):
                        continue
                    static = any(c.type == "static" for c in method.children)
                    methods.append((body, self.text(name), static, method))
        overridden = self._overridden()
        if self.names.wrappers:  # (what the project's classes extending them declare again)
            where = posixpath.splitext(self.path.replace(os.sep, "/"))[0]
            for (local, scope), body in self.classes.items():
                kept = [w.methods for w in self.names.wrappers
                        if w.name == local and w.path == where and scope == root.id]
                if kept:
                    overridden.setdefault(body.id, set()).update(
                        _method_names(self, body) - {m for held in kept for m, _, _ in held})
        for _ in range(4):
            more = False
            for key, function in functions:
                if key not in self.wrapped_functions:
                    sent = self._sent_parameter(function)
                    if sent is not None:
                        self.wrapped_functions[key] = sent
                        self.wrapper_ids[("f", *key)] = function.id
                        more = True
            for body, method_name, static, method in methods:
                found = self.wrapping_methods.setdefault(body.id, {})
                if method_name not in found and method_name not in overridden.get(body.id, ()):
                    sent = self._sent_parameter(method)
                    if sent is not None:
                        found[method_name] = (sent, static)
                        self.wrapper_ids[("m", body.id, method_name)] = method.id
                        more = True
            for key, body in self.classes.items():
                if self.wrapping_methods.get(body.id):
                    self.wrapped_classes[key] = self.wrapping_methods[body.id]
            for owner, value in objects:
                found = self.wrapping_objects.setdefault(value.id, {})
                self.object_owners[value.id] = owner[0] if owner is not None else None
                for method_name, function in _object_functions(self, value):
                    if method_name not in found:
                        sent = self._sent_parameter(function)
                        if sent is not None:
                            found[method_name] = (sent, True)  # (`db.all(...)`, as a static)
                            self.wrapper_ids[("m", value.id, method_name)] = function.id
                            more = True
                if owner is not None and found:
                    self.wrapped_classes[owner] = found
            for export, function in common:
                if export not in self.common_wrappers:
                    sent = self._sent_parameter(function)
                    if sent is not None:
                        self.common_wrappers[export] = sent
                        self.wrapper_ids[("j", export)] = function.id
                        more = True
            if not more:
                break

    def _common_functions(self, statement: Node) -> list[tuple[str, Node]]:
        """The functions a CommonJS module exports by name written there: `module.exports =
        { all: (text) => ..., one(text) { ... } }`, `exports.all = function (text) { ... }`."""
        expression = statement.named_children[0] if statement.named_children else None
        if expression is None or expression.type != "assignment_expression":
            return []
        left, right = expression.child_by_field_name("left"), \
            expression.child_by_field_name("right")
        if left is None or right is None:
            return []
        target, right = _dotted(self.text(left)), _unwrap(right)
        if target == "module.exports" and right.type == "object":
            return _object_functions(self, right)
        if target.startswith(("module.exports.", "exports.")) and target.count(".") == (
                2 if target.startswith("module.") else 1) and right.type in (
                "arrow_function", "function_expression", "function"):
            return [(target.rpartition(".")[2], right)]
        return []

    def _member_assigned(self, name: Node) -> bool:
        """Whether the file assigns a member of the object a name binds (`db.all = ...`),
        which may replace a method of it."""
        for use in self.references.get(self.text(name), ()):
            member = use.parent
            if member is not None and member.type == "member_expression" and (
                    member.child_by_field_name("object") == use) and (
                    member.parent is not None and member.parent.type in (
                        "assignment_expression", "augmented_assignment_expression")) and (
                    member.parent.child_by_field_name("left") == member):
                return True
        return False

    def _overridden(self) -> dict[int, set[str]]:
        """The methods each class of the file (by its body's node id) has that a class of
        the file extending it, at any depth, declares again: on an instance of the class,
        or `this` in it, the call may run that one instead."""
        parent_of = {body.id: self._declared(base, self.classes)
                     for body, base in self.extending}
        found: dict[int, set[str]] = {}
        for body, _ in self.extending:
            names = _method_names(self, body)
            seen: set[int] = set()
            parent = parent_of.get(body.id)
            while parent is not None and parent.id not in seen:
                seen.add(parent.id)
                found.setdefault(parent.id, set()).update(names)
                parent = parent_of.get(parent.id)
        return found

    def _sent_parameter(self, function: Node) -> int | None:
        """The position of the first parameter (a plain name) `function` reads only as the
        text a driver call (or another wrapper of the file) sends, or inside a logging
        call's arguments, and sends at least once; None where there is none. In
        `wrapper_facts`, what that takes of other modules is noted (`wrapper_deps`)."""
        parameters = function.child_by_field_name("parameters")
        single = function.child_by_field_name("parameter") if parameters is None else None
        listed = [single] if single is not None else [
            c for c in (parameters.named_children if parameters is not None else ())
            if c.type != "comment"]
        position = 0
        for parameter in listed:
            name: Node | None = parameter
            if parameter.type in ("required_parameter", "optional_parameter"):
                name = parameter.child_by_field_name("pattern")
                if name is not None and name.type == "this":  # TypeScript's `this: T`
                    continue
            elif parameter.type == "assignment_pattern":
                name = parameter.child_by_field_name("left")
            if name is not None and name.type == "identifier":
                self.deps = set()
                try:
                    sent = self._sent_as_is(function, name)
                    deps = frozenset(self.deps)
                finally:
                    self.deps = None
                if sent:
                    if deps:
                        self.wrapper_deps[function.id] = deps
                    return position
            position += 1
        return None

    def _sent_as_is(self, function: Node, name: Node) -> bool:
        body = function.child_by_field_name("body")
        if body is None:
            return False
        sent = False
        for use in self.references.get(self.text(name), ()):
            if not body.start_byte <= use.start_byte < body.end_byte:
                continue
            scope = self._binding_scope(use)
            if scope is None or scope[0] != function.id:
                return False  # another binding of the name, or a write through a pattern
            how = self._parameter_use(use)
            if how is None:
                return False
            sent = sent or how
        return sent

    def _parameter_use(self, use: Node) -> bool | None:
        """True where a wrapper's parameter is sent as is (the text a driver call or another
        wrapper of the file is given, the `text` of a query config given so), False where
        it is only logged or tested (`if (!sql) throw ...`: `_tested_alone`), None for any
        other use."""
        node = use
        if use.type == "shorthand_property_identifier":  # `{ text }`
            if self.text(use) == "text" and use.parent is not None and \
                    self._config_sent(use.parent):
                return True
        elif use.type == "identifier":
            node = _typed_as(node)
            parent = node.parent
            if parent is not None and parent.type == "pair" and \
                    parent.child_by_field_name("value") == node:
                if self._key_name(parent.child_by_field_name("key")) == "text" and (
                        parent.parent is not None and self._config_sent(parent.parent)):
                    return True
            elif parent is not None and parent.type == "arguments" and (
                    parent.parent is not None and parent.parent.type == "call_expression"):
                args = [c for c in parent.named_children if c.type != "comment"]
                index = args.index(node)
                if self.pending:
                    # (a logging call is no condition: `logDebug(sql)` of `import { logDebug }
                    # from './log'` is only logged whatever that module does)
                    return False if self._logged(use) else (
                        self._pending_sent(parent.parent, index) or None)
                if index == 0 and self._driver_call(parent.parent):
                    return True
                if self._wrapper_position(parent.parent) == index:
                    return True
        else:
            return None
        return False if self._logged(use) or _tested_alone(use) else None

    def _config_sent(self, config: Node) -> bool:
        """Whether an object literal is the query config a driver call sends (its first
        argument), with no spread that may replace its `text`."""
        if config.type != "object" or any(c.type == "spread_element"
                                          for c in config.named_children):
            return False
        node = config
        node = _typed_as(node)
        arguments = node.parent
        if arguments is None or arguments.type != "arguments" or arguments.parent is None:
            return False
        args = [c for c in arguments.named_children if c.type != "comment"]
        return bool(args) and args[0] == node and self._driver_call(arguments.parent)

    def _driver_call(self, call: Node) -> bool:
        """Whether a call is one a driver sends its first argument by (`WRAPPED_SINKS`, and
        the configured calls) to PostgreSQL: in a module loading a PostgreSQL driver, any
        such call; else one on what a module of the project loading one exports
        (`_client_receiver`)."""
        function = _generic_callee(call) or call.child_by_field_name("function")
        if function is None:
            return False
        name = _last_name(self, function)
        if name not in WRAPPED_SINKS and not self._named(function, name, self.names.calls):
            return False
        return self.postgres or self._client_receiver(function)

    def _client_receiver(self, function: Node, depth: int = 0,
                         seen: frozenset[tuple] = frozenset()) -> bool:
        """Whether what a driver method is called on is what a module of the project
        loading a PostgreSQL driver (and no other engine's) exports, or made from it
        (`pool.query(...)` of `import { pool } from './pool'`, `getPool().query(...)`, a
        `const client = await pool.connect()`); in `wrapper_facts`, what any import of the
        project binds, on that condition (`deps`)."""
        if depth == 0 and _unwrap(function).type != "member_expression":
            return False  # (a function of that name, not a driver method)
        node = self._chain_start(function)
        choices = _alternatives(node) if node is not None else None
        if choices is not None:  # `(globalForDb.pool ?? makePool())`
            return all(self._client_receiver(c, depth, seen) for c in choices)
        if node is None or node.type not in ("identifier", "member_expression"):
            return False
        if node.type == "identifier" and self._declared_in(node, self.pg_clients):
            return True
        imported = self._declared(node, self.imported) if node.type == "identifier" else None
        if imported is not None:
            if self.pending and self.deps is not None:
                self.deps.add(("c", *imported))
            return self.pending
        key = self._held_key(node)
        if key is None:
            return False
        if key in seen:
            return True  # (a cycle: `globalForDb.pool = pool` of `const pool = ... ?? ...`)
        held = self._held_by(node) if depth < _HELD_DEPTH else None
        return held is not None and all(
            self._client_receiver(v, depth + 1, seen | {key}) for v in held)

    def _on_postgres_client(self, function: Node) -> bool:
        """Whether a driver method is called on a client the code shows is a PostgreSQL
        driver's: what another module of the project loading one (and no other engine's)
        exports (`_client_receiver`), a postgres.js client (`_postgres_client`: `const db =
        postgres(url)`, then `db.unsafe(...)`), or node-postgres's `new Pool(...)` or `new
        Client(...)` (of `pg`, `pg-pool`, `@neondatabase/serverless`), a `const` bound to one,
        or made from one (`const client = await pool.connect()`)."""
        if self.pending or _unwrap(function).type != "member_expression":
            return False
        if self._client_receiver(function):
            return True
        receiver = _unwrap(function).child_by_field_name("object")
        return receiver is not None and self._made_by_pg(receiver)

    def _made_by_pg(self, node: Node, depth: int = 0,
                    seen: frozenset[tuple] = frozenset()) -> bool:
        """Whether what a method is called on is a client node-postgres or postgres.js
        makes (`_on_postgres_client`), through `.`, calls, the bindings and members whose
        values the code shows (`_held_by`), and `a ?? b`, `a || b`, `c ? a : b` each of
        which is one. `seen`: the bindings and members being asked about (`_held_key`); a
        value reading one again adds nothing (`const pool = globalForDb.pool ?? new Pool();
        globalForDb.pool = pool`: the member holds what `pool` does)."""
        if self._postgres_js_made(node):  # (`this.db = postgres(url)`)
            return True
        current = self._chain_start(node)
        choices = _alternatives(current) if current is not None else None
        if choices is not None:  # `globalForDb.pool ?? new Pool()`
            return all(self._made_by_pg(c, depth, seen) for c in choices)
        if current is None:
            return False
        if current.type == "new_expression":
            made = current.child_by_field_name("constructor")
            made = _unwrap(made) if made is not None else None
            if made is not None and made.type == "member_expression":  # `new pg.Pool()`
                owner = made.child_by_field_name("object")
                field = made.child_by_field_name("property")
                return owner is not None and field is not None and (
                    owner.type == "identifier" and self.text(owner) in self.pg_makers
                    and self.text(field) in ("Pool", "Client"))
            return made is not None and made.type == "identifier" and (
                self.text(made) in self.pg_makers)
        if current.type not in ("identifier", "member_expression"):
            return False
        if current.type == "identifier" and self._postgres_client(current, seen):
            return True
        key = self._held_key(current)
        if key is None:
            return False
        if key in seen:
            return True  # (a cycle: what it holds is what the others of it hold)
        held = self._held_by(current) if depth < _HELD_DEPTH else None
        return held is not None and all(
            self._made_by_pg(v, depth + 1, seen | {key}) for v in held)

    def _held_by(self, identifier: Node) -> list[Node] | None:
        """What an identifier (the start of a chain, `_chain_root`) may hold, where the code
        shows every value of it: a `const`'s initializer; each value a `let`/`var` is given
        anywhere in its scope (`_given`); what a function it calls returns (`getPool()` of
        `function getPool() { if (!pool) pool = new Pool(); return pool; }`: each `return`
        of its own, but those of `null`, `undefined` or nothing; `Promise.resolve(c)` as
        `c`), a `function` or a `const` one, the only binding of its name in its scope. None
        otherwise: the caller asks the same of each value, so one of another kind leaves
        the name unfollowed.

        >>> r = sql_in_javascript("import pg from 'pg';\\nlet pool = null;\\n"
        ...     "const db = () => { pool ??= new pg.Pool(); return pool; };\\n"
        ...     "let other; other = new pg.Pool(); other = makeCache();\\n"
        ...     "db().query('select a from t'); other.query('select b from t');\\n"
        ...     "function p() { return pool; } p = makeCache; p().query('select c from t')",
        ...     "a.js")
        >>> [f.sql for f in r.fragments]
        ['select a from t']
        """
        if identifier.type == "member_expression":
            return self._member_values(identifier)
        scope = self._binding_scope(identifier)
        if scope is None or len(scope[1]) != 1:
            return None
        declarator = scope[1][0]
        call = identifier.parent
        if call is not None and call.type == "call_expression" and (
                call.child_by_field_name("function") == identifier):
            function = self.functions.get((self.text(identifier), scope[0]))
            if function is None or (declarator is not None and not _is_const(declarator)) or (
                    declarator is None and self._reassigned(identifier, scope[0])):
                return None
            return self._returned_values(function)
        if declarator is None or declarator.type != "variable_declarator":
            return None
        if _is_const(declarator):
            value = declarator.child_by_field_name("value")
            return [value] if value is not None else None
        return self._given(identifier, declarator)

    def _returned_values(self, function: Node) -> list[Node] | None:
        """Each value a function (or a getter) returns, for `_held_by`: but `null`,
        `undefined` and a bare `return`; `Promise.resolve(c)` as `c`; `return (pool ??= new
        Pool())` as `pool` (what it holds then). None where it returns nothing else."""
        returned: list[Node] = []
        for value in _returns(function):
            value = _unwrap(value) if value is not None else None
            if value is None or value.type in ("null", "undefined"):
                continue
            callee = value.child_by_field_name("function") if (
                value.type == "call_expression") else None
            given = value.child_by_field_name("arguments") if callee is not None else None
            if callee is not None and given is not None and _dotted(
                    self.text(callee)) == "Promise.resolve":
                args = [c for c in given.named_children if c.type != "comment"]
                if len(args) != 1:
                    return None
                value = args[0]
            target = value.child_by_field_name("left") if value.type in (
                "assignment_expression", "augmented_assignment_expression") else None
            if target is not None and target.type in ("identifier", "member_expression"):
                value = target  # `return (pool ??= new Pool())`: what `pool` holds then
            returned.append(value)
        return returned or None

    def _chain_start(self, node: Node) -> Node | None:
        """What a chain of members and calls starts from (`_chain_root`), stopping at a
        member whose values the module shows (`_member_key`): `this.pool` of
        `this.pool.query`, `globalForDb.pool` of `globalForDb.pool.connect()`."""
        current: Node | None = node
        while current is not None:
            current = _unwrap(current)
            if current.type == "member_expression":
                if self._member_key(current) is not None:
                    return current
                current = current.child_by_field_name("object")
            elif current.type == "call_expression":
                current = current.child_by_field_name("function")
            else:
                break
        return current

    def _held_key(self, node: Node) -> tuple | None:
        """What names the binding or member a chain starts from (`_chain_start`), for the
        `seen` of `_made_by_pg`: the name and its scope, or `_member_key`."""
        if node.type == "member_expression":
            return self._member_key(node)
        scope = self._binding_scope(node)
        return ("n", self.text(node), scope[0]) if scope is not None else None

    def _member_key(self, member: Node) -> tuple | None:
        """A member whose every value the module shows (`_member_values`), by what names
        it: `this.x` in a class's method or field (the name and the class's family,
        `_family`: a class of another module extending it is not seen), or `G.x` of the
        process's global object, `globalThis` or `global`, or a `const` bound to it
        (`const globalForDb = globalThis as unknown as { pool?: Pool }`: Next.js's hot
        reload keeps a client there). None for any other."""
        owner = member.child_by_field_name("object")
        field = member.child_by_field_name("property")
        if owner is None or field is None or field.type != "property_identifier":
            return None
        owner = _unwrap(owner)
        if owner.type == "this":
            body = _class_of(owner)
            return ("this", self.text(field), self._family(body)) if body is not None else None
        if owner.type == "identifier" and self._global_object(owner):
            return ("global", self.text(field))
        return None

    def _global_object(self, identifier: Node) -> bool:
        """Whether an identifier reads the process's global object: `globalThis` or
        `global` the file does not bind, or a `const` bound to one (through `as`)."""
        if self.text(identifier) in _GLOBAL_OBJECTS:
            return self._binding_scope(identifier) is None
        declarator = self._declarator(identifier)
        value = declarator.child_by_field_name("value") if declarator is not None and (
            _is_const(declarator)) else None
        value = _unwrap(value) if value is not None else None
        return value is not None and value.type == "identifier" and (
            self.text(value) in _GLOBAL_OBJECTS) and self._binding_scope(value) is None

    def _member_values(self, member: Node) -> list[Node] | None:
        """What a member a chain starts from may hold (`_member_key`), where the module
        shows every value of it, for `_held_by`: each value `G.x = value`, `??=`, `||=`
        gives it in the module (`G.x = G.x ?? value` gives `value`); for `this.x`, also its
        field's initializer in the class (or the classes of its family), and what a getter
        `get x()` of theirs returns, or what a method `x()` returns where it is called
        (`this.getPool().query(...)`); `null` and `undefined` left out. None where it is
        written otherwise (`+=`, a destructuring, a parameter property `constructor(private
        pool: Pool)`, a setter, a subscript of the object written, the object handed on
        whole: `Object.assign(this, ...)`, `const self = this`, `init(globalForDb)`) or
        given nothing else.

        >>> r = sql_in_javascript("import { Pool } from 'pg';\\n"
        ...     "const g = globalThis as unknown as { pool?: Pool; other?: Pool };\\n"
        ...     "export const pool = g.pool ?? new Pool();\\n"
        ...     "if (process.env.NODE_ENV !== 'production') g.pool = pool;\\n"
        ...     "g.other ??= makeCache();\\n"
        ...     "pool.query('select a from t'); g.other.query('select b from t');\\n"
        ...     "class Repo { private db: Pool | null = null;\\n"
        ...     "  get pool() { return (this.db ??= new Pool()); }\\n"
        ...     "  find() { return this.pool.query('select c from t'); } }", "a.ts")
        >>> [f.sql for f in r.fragments]
        ['select a from t', 'select c from t']
        """
        key = self._member_key(member)
        if key is None:
            return None
        field = member.child_by_field_name("property")
        call = member.parent
        arguments = call.child_by_field_name("arguments") if call is not None and (
            call.type == "call_expression") and call.child_by_field_name(
                "function") == member else None
        # (a tag, `g.db`...``, is the member's value called: not a method's returns)
        called = arguments is not None and arguments.type != "template_string"
        memo = (key, called)
        if memo not in self.member_values:
            self.member_values[memo] = None  # (asked again while it is read: nothing more)
            self.member_values[memo] = self._member_values_of(
                key, self.text(field) if field is not None else "", called)
        return self.member_values[memo]

    def _member_values_of(self, key: tuple, name: str,
                          called: bool) -> list[Node] | None:
        """`_member_values`, once for each member and whether it is called."""
        if self.member_index is None:
            self.member_index = {}
            for node in self.all_nodes:
                if node.type == "member_expression":
                    prop = node.child_by_field_name("property")
                    if prop is not None:
                        self.member_index.setdefault(self.text(prop), []).append(node)
                elif node.type == "this" or (node.type == "identifier" and (
                        self.text(node) in _GLOBAL_OBJECTS)):
                    self.member_index.setdefault("", []).append(node)
        # the object handed on whole, or a subscript of it written: unseen writes
        for owner in self.member_index.get("", ()):
            if key[0] == "this" and (owner.type != "this" or _class_of(owner) is None or (
                    _class_of(owner).id not in key[2])):  # type: ignore[union-attr]
                continue
            if key[0] == "global" and (owner.type != "identifier"
                                       or self._binding_scope(owner) is not None):
                continue
            if not self._owner_stays(owner, key[0] == "global"):
                return None
        values: list[Node] = []
        bodies = [b for b in self._class_bodies() if b.id in key[2]] if (
            key[0] == "this") else []
        for body in bodies:
            for item in body.named_children:
                item_name = item.child_by_field_name("name") or item.child_by_field_name(
                    "property")
                if item.type == "method_definition" and item_name is not None and (
                        self.text(item_name) == "constructor"):
                    parameters = item.child_by_field_name("parameters")
                    if parameters is not None and any(
                            (p := c.child_by_field_name("pattern")) is not None
                            and self.text(p) == name and any(
                                m.type in ("accessibility_modifier", "readonly")
                                for m in c.children)
                            for c in parameters.named_children):
                        return None  # `constructor(private pool: Pool)`: whatever it is given
                if item_name is None or self.text(item_name) != name or any(
                        c.type == "static" for c in item.children):
                    continue
                if item.type in ("public_field_definition", "field_definition"):
                    value = item.child_by_field_name("value")
                    if value is not None and _unwrap(value).type not in ("null", "undefined"):
                        values.append(value)
                    continue
                if item.type != "method_definition":
                    return None
                kind = {c.type for c in item.children} & {"get", "set", "*", "async"}
                if "set" in kind or "*" in kind or (("get" in kind) == called):
                    return None  # a setter, or a method read as a value (a getter called)
                returned = self._returned_values(item)
                if returned is None:
                    return None
                values.extend(returned)
        for written in self.member_index.get(name, ()):
            if self._member_key(written) != key:
                continue
            given = self._given_at(written, lambda n: n.type == "member_expression" and (
                self._member_key(n) == key))
            if given is False:
                return None
            if given is not True:
                if called:
                    return None  # a method written over
                values.append(given)
        return values or None

    def _class_bodies(self) -> list[Node]:
        """The bodies of the file's classes (declarations and expressions)."""
        if self.class_bodies is None:
            self.class_bodies = [n for n in self.all_nodes if n.type == "class_body"]
        return self.class_bodies

    def _owner_stays(self, owner: Node, global_object: bool) -> bool:
        """Whether the object a `_member_key` member is read from (`this`, the global
        object or a `const` naming it) is only read for its members here: not handed on
        whole (`Object.assign(this, opts)`, `const self = this`, `init(globalForDb)`),
        nor a subscript of it written (`this[key] = value`). `typeof globalThis` and a
        `const` naming it (whose own uses are asked the same) read nothing of it."""
        node = _typed_as(owner)
        parent = node.parent
        if parent is None:
            return True
        if parent.type == "member_expression" and parent.child_by_field_name("object") == node:
            return True
        if parent.type == "subscript_expression" and (
                parent.child_by_field_name("object") == node):
            above = _typed_as(parent).parent
            written = above is not None and (above.type in _WRITES or (
                above.type in ("assignment_expression", "augmented_assignment_expression")
                and above.child_by_field_name("left") == _typed_as(parent)))
            return not written
        if parent.type in ("type_query", "unary_expression") or parent.type.endswith("_type"):
            return True  # `typeof globalThis`
        if global_object and parent.type == "variable_declarator" and _is_const(parent) and (
                parent.child_by_field_name("value") == node):
            name = parent.child_by_field_name("name")
            if name is None or name.type != "identifier":
                return False
            return all(self._owner_stays(ref, False) for ref in self._uses(name, parent)
                       if ref != name)
        return False

    def _given_at(self, ref: Node, same: Callable[[Node], bool]) -> Node | bool:
        """What a write where `ref` spells a name or a member gives it: the value of `ref =
        value`, `ref ??= value` or `ref ||= value` (`ref = ref || value` and `?? value`
        give `value`, `same` telling whether a node spells it too); True where `ref` is
        read, or given `null` or `undefined`; False where it is written otherwise (`+=`,
        `&&=`, `++`, a destructuring, `for (ref of ...)`)."""
        parent = ref.parent
        if parent is None:
            return True
        if parent.type in ("assignment_expression", "augmented_assignment_expression") and (
                parent.child_by_field_name("left") == ref):
            operator = parent.child_by_field_name("operator")
            right = parent.child_by_field_name("right")
            if right is None or (parent.type == "augmented_assignment_expression" and (
                    operator is None or self.text(operator) not in ("??=", "||="))):
                return False
            right = _unwrap(right)
            if right.type in ("null", "undefined"):
                return True  # (`pool = undefined` after `pool.end()`)
            left = right.child_by_field_name("left") if (
                right.type == "binary_expression") else None
            operator = right.child_by_field_name("operator") if left is not None else None
            if left is not None and operator is not None and self.text(operator) in (
                    "||", "??") and same(_unwrap(left)):
                right = right.child_by_field_name("right")  # `pool = pool || new Pool()`
                if right is None:
                    return False
            return right
        return not (parent.type in _WRITES or (parent.type == "for_in_statement" and (
            parent.child_by_field_name("left") == ref)))

    def _reassigned(self, identifier: Node, scope: int) -> bool:
        """Whether the file writes the name a declaration binds in `scope` (`getPool =
        other` after `function getPool() {...}`)."""
        for ref in self.references.get(self.text(identifier), ()):
            parent = ref.parent
            if parent is None:
                continue
            if parent.type in ("assignment_expression", "augmented_assignment_expression"):
                written = parent.child_by_field_name("left") == ref
            else:
                written = ref.type == "shorthand_property_identifier_pattern" or (
                    parent.type in _WRITES)
            if written and (held := self._binding_scope(ref)) is not None and held[0] == scope:
                return True
        return False

    def _given(self, identifier: Node, declarator: Node) -> list[Node] | None:
        """Every value a `let`/`var` is given, where it is written only so: its initializer,
        each `name = value`, `name ??= value` and `name ||= value` in its scope, a closure's
        included (`name = name || value` and `?? value` give `value`), but `null`,
        `undefined` and none (a `.query` on them throws: nothing is sent elsewhere). None
        where it is also written otherwise (`+=`, `&&=`, `++`, destructuring, `for (name of
        ...)`) or given nothing else."""
        values: list[Node] = []
        initial = declarator.child_by_field_name("value")
        if initial is not None and _unwrap(initial).type not in ("null", "undefined"):
            values.append(initial)
        name = declarator.child_by_field_name("name")
        for ref in self._uses(identifier, declarator):
            if ref == name or ref.type == "shorthand_property_identifier":  # (`{ pool }`)
                continue
            if ref.type != "identifier" or ref.parent is None:
                return None  # `({ pool } = other)`
            value = self._given_at(ref, lambda n: n.type == "identifier" and (
                self._declarator(n) == declarator))
            if value is False:
                return None
            if value is not True:
                values.append(value)
        return values or None

    def _pending_sent(self, call: Node, index: int) -> bool:
        """In `wrapper_facts`: whether a call sends its argument at `index` as is, on no
        condition, or on those of one of its readings (a driver call on an import's export,
        `pool.query(sql)`, or a call of an import's wrapper, `db.q(sql)`), noted as one
        condition each holding (`any`)."""
        readings: list[tuple[tuple, ...]] = []
        outer = self.deps
        for reading in (lambda: index == 0 and self._driver_call(call),
                        lambda: self._wrapper_position(call) == index,
                        lambda: self._pending_wrapper(call, index)):
            self.deps = set()
            try:
                sent = reading()
                taken = tuple(sorted(self.deps, key=repr))
            finally:
                self.deps = outer
            if sent and not taken:
                return True
            if sent:
                readings.append(taken)
        if outer is not None and readings:
            if len(readings) == 1:
                outer.update(readings[0])
            else:
                outer.add(("any", *readings))
        return bool(readings)

    def _pending_wrapper(self, call: Node, index: int) -> bool:
        """In `wrapper_facts`: whether a call is of what an import of the project binds
        (`q(sql)` of `import { q } from './db'`, `db.q(sql)` of `import * as db`, `db.all(sql)`
        of `import { db }`), noting that its argument at `index` must be what it sends."""
        function = _generic_callee(call) or call.child_by_field_name("function")
        function = _unwrap(function) if function is not None else None
        if function is None:
            return False
        if function.type == "identifier":
            imported = self._declared(function, self.imported)
            if imported is None:
                return False
            module, export = imported
            dep: tuple = ("w", module, "default" if export == "*" else export, index)
        elif function.type == "member_expression":
            receiver, prop = function.child_by_field_name("object"), \
                function.child_by_field_name("property")
            receiver = _unwrap(receiver) if receiver is not None else None
            imported = self._declared(receiver, self.imported) if receiver is not None and (
                receiver.type == "identifier") else None
            if imported is None or prop is None or prop.type != "property_identifier":
                return False
            module, export = imported
            dep = ("w", module, self.text(prop), index) if export == "*" else \
                ("m", module, export, self.text(prop), index)
        else:
            return False
        if self.deps is not None:
            self.deps.add(dep)
        return True

    def _may_wrap(self) -> bool:
        """Whether the module's functions may send a parameter to PostgreSQL: it loads no
        other engine's driver, and loads a PostgreSQL driver, or an import binds a wrapper
        of the project or what a module loading one exports (in `wrapper_facts`: any
        import of the project, on that condition)."""
        return not self.engines and (
            self.postgres or bool(self.pg_clients or self.wrapped_functions
                                  or self.wrapped_classes or self.wrapped_modules)
            or (self.pending and bool(self.imported)))

    def _logged(self, use: Node) -> bool:
        """Whether a name is read only to be logged: inside the arguments of a logging call
        (`console.log(sql)`, `logger.debug(`sql is ${sql}`)`, `this.logger.info({ sql })`),
        or of what a `throw` throws (`throw { message, sql }`, `throw new Error(`${sql}`)`):
        nothing the function sends."""
        node = use
        while node.parent is not None:
            parent = node.parent
            if parent.type == "throw_statement":
                return True
            if parent.type == "arguments":
                call = parent.parent
                if call is not None and call.type == "new_expression":
                    return call.parent is not None and call.parent.type == "throw_statement"
                function = call.child_by_field_name("function") if call is not None else None
                return function is not None and _LOGGING.search(
                    _dotted(self.text(function))) is not None
            if parent.type not in _LOGGED_IN:
                return False
            node = parent
        return False

    def _note_imports(self, node: Node, module: str) -> None:
        """Note what each name an import of a module of the project binds (`imported`)."""
        self.imported.update(self._import_bindings(node, module))

    def _note_constant_imports(self, node: Node, module: str) -> None:
        """Note what each name an import binds, of any module (`constant_imports`): a
        package's specifier may be one of the project's (`@acme/db`, an alias of its
        `tsconfig.json`), which `names.constants` tells."""
        self.constant_imports.update(self._import_bindings(node, module))

    def _import_bindings(self, node: Node, module: str
                         ) -> Iterator[tuple[tuple[str, int], tuple[str, str]]]:
        """((local name, scope), (module, name exported)) of each name an `import` binds:
        `import T from` its default export, `import * as ns` all (`*`), `import { a as b }`
        the one named."""
        scope = _block(node).id
        for clause in node.named_children:
            for named in clause.named_children if clause.type == "import_clause" else ():
                if named.type == "identifier":
                    yield (self.text(named), scope), (module, "default")
                elif named.type == "namespace_import":
                    for local in named.named_children:
                        if local.type == "identifier":
                            yield (self.text(local), scope), (module, "*")
                for specifier in named.named_children if named.type == "named_imports" else ():
                    name = specifier.child_by_field_name("name")
                    alias = specifier.child_by_field_name("alias") or name
                    if specifier.type == "import_specifier" and name is not None and (
                            alias is not None):
                        yield (self.text(alias), scope), (module, self.text(name))

    def _note_required_constants(self, declarator: Node, name: Node, value: Node) -> None:
        """Note what a declaration bound to a `require`, or destructuring another name,
        binds, for `_imported_constant`: `const T = require('./tables')` the module's exports
        (`T.USERS`), `const { USERS, TABLES: T } = require(...)` and `const T =
        require(...).TABLES` one of them; `const { user, admin: a } = constants.tables`
        (`constant_aliases`: what `constants.tables` reads, when it is an import's). A `let`
        or `var` of one name is noted too, and read only where nothing assigns it again
        (`_fixed_value`); a `let` or `var` destructuring is not (it may be assigned again)."""
        declaration = declarator.parent
        const = _is_const(declarator)
        if declaration is None or (not const and (name.type != "identifier" or (
                declaration.type not in ("lexical_declaration", "variable_declaration")))):
            return
        value = _unwrap(value)
        export = "*"
        if value.type == "member_expression":
            prop = value.child_by_field_name("property")
            inner = value.child_by_field_name("object")
            if prop is not None and prop.type == "property_identifier" and inner is not None:
                export, value = self.text(prop), _unwrap(inner)
        function = value.child_by_field_name("function") if (
            value.type == "call_expression") else None
        arguments = value.child_by_field_name("arguments") if function is not None else None
        if function is None or arguments is None or self.text(function) != "require":
            if const and name.type == "object_pattern" and _unwrap(
                    declarator.child_by_field_name("value") or name).type in (
                    "identifier", "member_expression", "subscript_expression"):
                source = _unwrap(declarator.child_by_field_name("value") or name)
                for _, scope in _binding_patterns(declarator):
                    for local, path in self._pattern_keys(name, ()):
                        self.constant_aliases[(self.text(local), scope.id)] = (source, path)
            return
        given = [c for c in arguments.named_children if c.type != "comment"]
        if len(given) != 1 or given[0].type != "string" or any(
                c.type != "string_fragment" for c in given[0].named_children):
            return
        module = self.text(given[0])[1:-1]
        for _, scope in _binding_patterns(declarator):
            if name.type == "identifier":
                self.constant_imports[(self.text(name), scope.id)] = (module, export)
                continue
            for local, path in self._pattern_keys(name, ()):
                self.constant_imports[(self.text(local), scope.id)] = (
                    module, ".".join(path) if export == "*" else ".".join((export, *path)))

    def _pattern_keys(self, pattern: Node, path: tuple[str, ...]
                      ) -> Iterator[tuple[Node, tuple[str, ...]]]:
        """The names an object pattern binds, each with the keys it reads (`{ USERS, TABLES:
        { ORDERS: o } }`: `USERS` of ("USERS",), `o` of ("TABLES", "ORDERS")); a default
        value (`{ USERS = 'x' }`), a rest element or a computed key binds none read so."""
        for child in pattern.named_children if pattern.type == "object_pattern" else ():
            if child.type == "shorthand_property_identifier_pattern":
                yield child, (*path, self.text(child))
            elif child.type == "pair_pattern":
                local = child.child_by_field_name("value")
                key = self._key_name(child.child_by_field_name("key"))
                if local is None or not key:
                    continue
                if local.type in ("identifier", "shorthand_property_identifier_pattern"):
                    yield local, (*path, key)
                elif local.type == "object_pattern":
                    yield from self._pattern_keys(local, (*path, key))

    def _imported_constant(self, node: Node) -> str | None:
        """The string another module of the project exports that `node` reads: `USERS_TABLE`
        of `import { USERS_TABLE } from '~/lib/db-tables'`, `TABLES.USERS` of an imported
        enum or `as const` object (`TABLES['USERS']` too), `t.USERS_TABLE` of `import * as
        t`, `T.USERS` of a default import `import T from` (`default.USERS`) or of `const T =
        require('./tables')` (`_note_required_constants`), when the name is the import's,
        the only binding of it in its scope (`js_constants`); through a local alias of one
        too (`const t = constants.tables.user;` then `t.main`, `const { user } =
        constants.tables`); None for anything else."""
        constants = self.names.constants
        if not constants or not self.constant_imports:
            return None
        found = self._constant_origin(node, 0)
        if found is None:
            return None
        module, path = found
        if path[0] == "*":
            if len(path) < 2:
                return None
            path = path[1:]
        return constants.value(self.path, module, ".".join(path))

    def _constant_origin(self, node: Node, depth: int) -> tuple[str, list[str]] | None:
        """The module an import of which `node` reads, and the path of what it reads there
        (`["default", "tables", "user", "main"]` of `t.main` after `import constants from
        ...; const t = constants.tables.user`; "*" first for the module's whole exports)."""
        node = _unwrap(node)
        members: list[str] = []
        while node.type in ("member_expression", "subscript_expression"):
            if node.type == "member_expression":
                prop = node.child_by_field_name("property")
                if prop is None or prop.type != "property_identifier" or any(
                        c.type == "?." for c in node.children):
                    return None
                members.insert(0, self.text(prop))
            else:
                index = node.child_by_field_name("index")
                index = _unwrap(index) if index is not None else None
                if index is None or index.type != "string" or any(
                        c.type != "string_fragment" for c in index.named_children):
                    return None
                members.insert(0, self._string(index).sql)
            inner = node.child_by_field_name("object")
            if inner is None:
                return None
            node = _unwrap(inner)
        if node.type != "identifier":
            return None
        scope = self._binding_scope(node)
        if scope is None or len(scope[1]) != 1:
            return None
        key = (self.text(node), scope[0])
        declarator = scope[1][0]
        found = self.constant_imports.get(key)
        if found is not None:
            if declarator is not None and self._fixed_value(node, declarator) is None:
                return None  # (a `let` or `var` bound to a `require`, assigned again)
            module, name = found
            return module, [*name.split("."), *members]
        if depth >= _ALIAS_DEPTH:
            return None
        # a local alias of what an import binds: `const t = constants.tables.user`
        if declarator is not None:
            value = self._fixed_value(node, declarator)
            if value is None or _unwrap(value).type not in (
                    "identifier", "member_expression", "subscript_expression"):
                return None
            origin = self._constant_origin(value, depth + 1)
            return (origin[0], [*origin[1], *members]) if origin is not None else None
        alias = self.constant_aliases.get(key)
        if alias is None:
            return None
        origin = self._constant_origin(alias[0], depth + 1)
        return (origin[0], [*origin[1], *alias[1], *members]) if origin is not None else None

    def _fixed_value(self, identifier: Node, declarator: Node) -> Node | None:
        """The initializer of the `const`, `let` or `var` declarator an identifier reads,
        when nothing gives the name another value: a `const`, or a `let`/`var` the file
        never assigns again (`_assigned`: no `name = ...`, `+=`, `++`, destructuring, `for
        (name of ...)`); None otherwise."""
        value = declarator.child_by_field_name("value")
        if value is None or _is_const(declarator):
            return value
        if declarator.id not in self.assignments:
            self.assignments[declarator.id] = self._assigned(identifier, declarator)
        assigned = self.assignments[declarator.id]
        return value if assigned is not None and len(assigned) == 1 else None

    def _imported_fragment(self, node: Node) -> SqlFragment | None:
        """`_imported_constant` as a string read where `node` is (the name standing for it)."""
        text = self._imported_constant(node)
        if text is None:
            return None
        line, column = self.position(node.start_byte)
        return SqlFragment(self.path, text, ((0, line, column),), origin="js")

    def _bind_wrappers(self, node: Node, module: str) -> None:
        """Note the project's wrappers an import binds (`import { q } from '@/lib/db'`,
        `import db from './db'`, `import * as db from './db'`)."""
        scope = _block(node).id
        for clause in node.named_children:
            for named in clause.named_children if clause.type == "import_clause" else ():
                if named.type == "identifier":
                    self._bind_wrapper(self.text(named), scope, module, "default", "import")
                elif named.type == "namespace_import":
                    for local in named.named_children:
                        if local.type == "identifier":
                            self.wrapped_modules[(self.text(local), scope)] = module
                            self._bind_client(self.text(local), scope, module, "*")
                for specifier in named.named_children if named.type == "named_imports" else ():
                    name = specifier.child_by_field_name("name")
                    alias = specifier.child_by_field_name("alias") or name
                    if specifier.type == "import_specifier" and name is not None and (
                            alias is not None):
                        self._bind_wrapper(self.text(alias), scope, module, self.text(name))

    def _bind_required_wrappers(self, declarator: Node, name: Node, value: Node) -> None:
        """Note what a `require` of a module of the project binds, and the project's
        wrappers among it: `const db = require('./db')` (its `module.exports`), `const { q,
        run: send } = require('./db')`."""
        value = _unwrap(value)
        function = value.child_by_field_name("function") if (
            value.type == "call_expression") else None
        arguments = value.child_by_field_name("arguments") if function is not None else None
        if function is None or arguments is None or self.text(function) != "require":
            return
        given = [c for c in arguments.named_children if c.type != "comment"]
        if len(given) != 1 or given[0].type != "string":
            return
        module = self.text(given[0]).strip("'\"")
        if _package(module):
            return
        bind = bool(self.names.wrappers)
        for _, scope in _binding_patterns(declarator):
            if name.type == "identifier":
                self.imported[(self.text(name), scope.id)] = (module, "*")
                if bind:
                    self._bind_wrapper(self.text(name), scope.id, module, "default", "require")
                continue
            for child in name.named_children if name.type == "object_pattern" else ():
                local, export = None, None
                if child.type == "shorthand_property_identifier_pattern":
                    local, export = child, self.text(child)
                elif child.type == "pair_pattern":
                    key, local = child.child_by_field_name("key"), \
                        child.child_by_field_name("value")
                    export = self._key_name(key) if key is not None else None
                if local is not None and local.type in (
                        "identifier", "shorthand_property_identifier_pattern") and export:
                    self.imported[(self.text(local), scope.id)] = (module, export)
                    if bind:
                        self._bind_wrapper(self.text(local), scope.id, module, export)

    def _bind_wrapper(self, local: str, scope: int, module: str, export: str,
                      whole: str = "") -> None:
        """Bind `local` to what `module` exports as `export`, when it is a wrapper; a
        `require` of the module whole (`whole`), or a default import of a CommonJS one, is
        the object of its exports where it has no default wrapper."""
        file = self._package_file(module)
        self._bind_client(local, scope, module, export, file)
        found = {w for w in self.names.wrappers if not w.client
                 and w.export == export and w.imported_by(module, self.path, file)}
        if len(found) == 1:
            wrapper = found.pop()
            if wrapper.position is not None:
                self.wrapped_functions[(local, scope)] = wrapper.position
            else:
                self.wrapped_classes[(local, scope)] = {
                    method: (position, static) for method, position, static in wrapper.methods}
        elif whole and not found and any(
                not w.client and (whole == "require" or w.common)
                and w.imported_by(module, self.path, file) for w in self.names.wrappers):
            self.wrapped_modules[(local, scope)] = module

    def _bind_client(self, local: str, scope: int, module: str, export: str,
                     file: str | None = None) -> None:
        """Note `local` as what a module of the project loading a PostgreSQL driver (and
        no other engine's) exports (`JsWrapper.client`)."""
        if file is None:
            file = self._package_file(module)
        if any(w.client and w.export in ("*", export) and w.imported_by(module, self.path, file)
               for w in self.names.wrappers):
            self.pg_clients.add((local, scope))
        if export != "*" and any(w.tag and w.export == export
                                 and w.imported_by(module, self.path, file)
                                 for w in self.names.wrappers):
            self.imported_tags.add((local, scope))

    def _wrapper_position(self, call: Node) -> int | None:
        """The position of the argument a call of a wrapper of the project sends as its
        statement (see `js_wrappers`); None for any other call."""
        if not (self.wrapped_functions or self.wrapped_classes or self.wrapped_modules
                or self.wrapping_methods):
            return None
        position = self._wrapper_called(call)
        if position is not None and self.pending and self.deps is not None:
            # (a wrapper of the file: what any of them takes of other modules, to be safe)
            self.deps.update(*self.wrapper_deps.values())
        return position

    def _wrapper_called(self, call: Node) -> int | None:
        function = _generic_callee(call)
        if function is not None and function.type == "await_expression":
            function = next((c for c in function.named_children if c.type != "comment"), None)
        if function is None:
            return None
        function = _unwrap(function)
        if function.type == "identifier":
            return self._declared(function, self.wrapped_functions)
        if function.type != "member_expression":
            return None
        prop, receiver = function.child_by_field_name("property"), \
            function.child_by_field_name("object")
        if prop is None or receiver is None or prop.type != "property_identifier":
            return None
        method = self.text(prop)
        receiver = _unwrap(receiver)
        if receiver.type == "identifier":
            module = self._declared(receiver, self.wrapped_modules)
            if module is not None:
                file = self._package_file(module)
                found = {w.position for w in self.names.wrappers if w.export == method
                         and w.imported_by(module, self.path, file)}
                return found.pop() if len(found) == 1 else None
            statics = self._declared(receiver, self.wrapped_classes)
            if statics is not None:  # `SqlRunner.run(...)`: a static method
                entry = statics.get(method)
                return entry[0] if entry is not None and entry[1] else None
        methods = self._instance_methods(receiver)
        entry = methods.get(method) if methods is not None else None
        return entry[0] if entry is not None and not entry[1] else None

    def _instance_methods(self, receiver: Node) -> dict[str, tuple[int, bool]] | None:
        """The wrapping methods of the class whose instance `receiver` is, where that is
        known: `this` in the class, a `const` bound to `new X(...)`, a parameter, `const`
        or field of the class typed `X` (`sql: PgService`, then `this.sql`)."""
        annotation: Node | None = None
        if receiver.type == "this":
            body = _class_of(receiver)
            return self.wrapping_methods.get(body.id) if body is not None else None
        if receiver.type == "member_expression":
            owner, prop = receiver.child_by_field_name("object"), \
                receiver.child_by_field_name("property")
            owner = _unwrap(owner) if owner is not None else None
            body = _class_of(owner) if owner is not None and owner.type == "this" else None
            if body is None or prop is None:
                return None
            annotation = self._field_type(body, self.text(prop))
        elif receiver.type == "identifier":
            scope = self._binding_scope(receiver)
            if scope is None or len(scope[1]) != 1:
                return None
            declarator = scope[1][0]
            if declarator is None:
                annotation = self._parameter_type(receiver, scope[0])
            elif _is_const(declarator):
                annotation = declarator.child_by_field_name("type")
                value = declarator.child_by_field_name("value")
                value = _unwrap(value) if value is not None else None
                made = value.child_by_field_name("constructor") if annotation is None and (
                    value is not None and value.type == "new_expression") else None
                if made is not None and made.type == "identifier":
                    return self._declared(made, self.wrapped_classes)
        named = [c for c in annotation.named_children if c.type != "comment"] \
            if annotation is not None and annotation.type == "type_annotation" else []
        if len(named) != 1 or named[0].type != "type_identifier":
            return None
        return self._declared(named[0], self.wrapped_classes)

    def _field_type(self, body: Node, name: str) -> Node | None:
        """The type annotation of the class's one field `name` (`sql: PgService`, or a
        parameter property of its constructor, `constructor(private sql: PgService)`)."""
        found: list[Node | None] = []
        for member in body.named_children:
            if member.type == "public_field_definition":
                field = member.child_by_field_name("name")
                if field is not None and self.text(field) == name:
                    static = any(c.type == "static" for c in member.children)
                    found.append(None if static else member.child_by_field_name("type"))
            elif member.type == "method_definition" and (
                    (n := member.child_by_field_name("name")) is not None
                    and self.text(n) == "constructor"):
                parameters = member.child_by_field_name("parameters")
                for parameter in parameters.named_children if parameters is not None else ():
                    pattern = parameter.child_by_field_name("pattern") if parameter.type in (
                        "required_parameter", "optional_parameter") else None
                    if pattern is not None and self.text(pattern) == name and any(
                            c.type in ("accessibility_modifier", "readonly")
                            for c in parameter.children):
                        found.append(parameter.child_by_field_name("type"))
        return found[0] if len(found) == 1 else None

    def _parameter_type(self, identifier: Node, scope: int) -> Node | None:
        """The type annotation of the parameter an identifier reads (its function: `scope`)."""
        function = identifier.parent
        while function is not None and function.id != scope:
            function = function.parent
        parameters = function.child_by_field_name("parameters") if function is not None \
            else None
        for parameter in parameters.named_children if parameters is not None else ():
            pattern = parameter.child_by_field_name("pattern") if parameter.type in (
                "required_parameter", "optional_parameter") else None
            if pattern is not None and self.text(pattern) == self.text(identifier):
                return parameter.child_by_field_name("type")
        return None

    def _wrapper_exports(self, root: Node) -> dict:
        """What the module exports of its wrappers, for `js_wrappers`: `f`, each function's
        export names and the position it sends; `c`, each class's (or object literal's)
        export names, its wrapping methods and its name; each with what it takes of other
        modules where it does (`wrapper_deps`); `j`, whether it exports with CommonJS; `p`,
        whether it loads a PostgreSQL driver and no other engine's; `r`, what it exports
        of other modules of the project (`export { q } from './db'`, `export * from
        './db'`, an imported name exported again); `x`, each class extending another, the
        name it extends and the methods it declares."""
        exported: dict[str, set[str]] = {}
        reexports: list[list[str]] = []
        common = False
        for child in root.named_children:
            if child.type == "export_statement":
                default = any(c.type == "default" for c in child.children)
                declaration = child.child_by_field_name("declaration")
                value = child.child_by_field_name("value")
                source = child.child_by_field_name("source")
                name = declaration.child_by_field_name("name") if declaration is not None \
                    else None
                if source is not None:
                    reexports += self._reexports(child, self.text(source).strip("'\"`"))
                elif declaration is not None and declaration.type == "lexical_declaration":
                    for declarator in declaration.named_children:
                        bound = declarator.child_by_field_name("name")
                        if bound is not None and bound.type == "identifier":
                            exported.setdefault(self.text(bound), set()).add(self.text(bound))
                elif name is not None:
                    exported.setdefault(self.text(name), set()).add(
                        "default" if default else self.text(name))
                elif value is not None and default:
                    value = _unwrap(value)
                    name = value.child_by_field_name("name") if value.type in (
                        "function_expression", "function", "class") else value
                    if name is not None and name.type == "identifier":
                        exported.setdefault(self.text(name), set()).add("default")
                else:
                    for clause in child.named_children:
                        for specifier in clause.named_children if (
                                clause.type == "export_clause") else ():
                            name = specifier.child_by_field_name("name")
                            alias = specifier.child_by_field_name("alias") or name
                            if name is not None and alias is not None:
                                exported.setdefault(self.text(name), set()).add(
                                    self.text(alias))
                continue
            expression = child.named_children[0] if (
                child.type == "expression_statement" and child.named_children) else None
            if expression is None or expression.type != "assignment_expression":
                continue
            left, right = expression.child_by_field_name("left"), \
                expression.child_by_field_name("right")
            if left is None or right is None:
                continue
            target, right = _dotted(self.text(left)), _unwrap(right)
            if target == "module.exports":
                common = True
                if right.type == "identifier":
                    exported.setdefault(self.text(right), set()).add("default")
                for entry in right.named_children if right.type == "object" else ():
                    if entry.type == "shorthand_property_identifier":
                        exported.setdefault(self.text(entry), set()).add(self.text(entry))
                    elif entry.type == "pair":
                        key, value = entry.child_by_field_name("key"), \
                            entry.child_by_field_name("value")
                        if key is not None and value is not None and value.type == "identifier":
                            exported.setdefault(self.text(value), set()).add(
                                self._key_name(key) or "")
            elif target.startswith(("module.exports.", "exports.")):
                common = True
                if right.type == "identifier":
                    exported.setdefault(self.text(right), set()).add(
                        target.rpartition(".")[2])
        for local, aliases in exported.items():  # (`import { q } from './db'; export { q }`)
            imported = self.imported.get((local, root.id))
            if imported is not None and imported[1] != "*" and not _package(imported[0]):
                reexports += [[imported[0], imported[1], alias] for alias in sorted(aliases)]

        def deps(node_id: int) -> list[list]:
            return sorted(list(d) for d in self.wrapper_deps.get(node_id, ()))

        def method(name: str, position: int, static: bool, node_id: int) -> list:
            needs = deps(node_id)
            return [name, position, static, needs] if needs else [name, position, static]

        functions: list[list] = []
        for (local, scope), position in self.wrapped_functions.items():
            node_id = self.wrapper_ids.get(("f", local, scope))
            if scope == root.id and local in exported and node_id is not None:
                needs = deps(node_id)
                functions.append([sorted(exported[local]), position,
                                  *([needs] if needs else [])])
        for export, position in sorted(self.common_wrappers.items()):
            needs = deps(self.wrapper_ids[("j", export)])
            functions.append([[export], position, *([needs] if needs else [])])
        classes: list[list] = []
        for (local, scope), body in self.classes.items():
            found = self.wrapping_methods.get(body.id)
            if scope == root.id and local in exported and found:
                classes.append([sorted(exported[local]), [
                    method(m, p, s, self.wrapper_ids[("m", body.id, m)])
                    for m, (p, s) in sorted(found.items())], local])
        for value_id, owner in self.object_owners.items():
            found = self.wrapping_objects.get(value_id)
            exports = ["default"] if owner is None else sorted(exported.get(owner, ()))
            if found and exports:
                classes.append([exports, [method(m, p, s, self.wrapper_ids[("m", value_id, m)])
                                          for m, (p, s) in sorted(found.items())], ""])
        facts: dict = {}
        if functions:
            facts["f"] = functions
        if classes:
            facts["c"] = classes
        if facts and common:
            facts["j"] = 1
        if self.postgres and not self.engines:
            facts["p"] = 1
        tags = sorted({export for local, exports in exported.items()
                       if self._exports_postgres_js(local, root) for export in exports})
        if tags:
            facts["s"] = tags
        if reexports:
            facts["r"] = reexports
        subclasses = [[local, base, sorted(_method_names(self, body))]
                      for local, base, body in self.subclasses]
        if subclasses:
            facts["x"] = subclasses
        return facts

    def _exports_postgres_js(self, local: str, root: Node) -> bool:
        """Whether a name the module exports is its postgres.js client: the only binding
        of the name at the module's top level, a `const` `_postgres_client` reads as one
        (`const db = postgres(url, {...})`, `export const sql: Sql = postgres()`)."""
        bound = self.bindings.get(local, {}).get(root.id)
        if not bound or len(bound) != 1 or bound[0] is None:
            return False
        name = bound[0].child_by_field_name("name")
        return name is not None and name.type == "identifier" and self._postgres_client(name)

    def _reexports(self, statement: Node, module: str) -> list[list[str]]:
        """What `export { q as query } from './db'` and `export * from './db'` export of a
        module of the project: (specifier, export, name), `*` for all its named exports."""
        if _package(module):
            return []
        found: list[list[str]] = []
        for clause in statement.named_children:
            if clause.type == "namespace_export":  # (`export * as db from`: an object)
                return []
            for specifier in clause.named_children if clause.type == "export_clause" else ():
                name = specifier.child_by_field_name("name")
                alias = specifier.child_by_field_name("alias") or name
                if name is not None and alias is not None:
                    found.append([module, self.text(name), self.text(alias)])
        if not found and any(c.type == "*" for c in statement.children):
            found.append([module, "*", "*"])
        return found

    def _bind_this(self, name: str, value: Node, body: Node) -> None:
        """A class's `this.admin = createSupabaseAdmin(url, key)` (in its constructor, or as
        a field's initial value): `this.admin` is a client in that class's methods, unless
        the class also assigns it something else (`null` and `undefined` aside). leadminer's
        edge function kept its admin client so, and its requests were never read. A client
        given a schema (`createClient(url, key, { db: { schema: 'app' } })`,
        `supabase.schema('app')`) gives it to the requests made through `this.admin`
        (`_this_schema`); one given a schema that is not a literal is no client here."""
        if _unwrap(value).type in ("null", "undefined"):
            return
        key = (name, body.id)
        schema = self._client_schema(value) if self._is_client(value) else False
        if schema is False:
            self.this_others.add(key)
            return
        self.this_clients.add(key)
        self.this_schemas.setdefault(key, set()).add(
            schema.sql if isinstance(schema, SqlFragment) else None)

    def _bind_class(self, node: Node) -> None:
        """Note the class a declaration binds, and the name its class extends."""
        name, body = node.child_by_field_name("name"), node.child_by_field_name("body")
        if name is None or body is None:
            return
        self.classes[(self.text(name), _block(node).id)] = body
        for heritage in node.named_children:
            if heritage.type != "class_heritage":
                continue
            # TypeScript's grammar holds `extends Base<T>` in a clause, JavaScript's the name
            clause = next((c for c in heritage.named_children if c.type == "extends_clause"),
                          None)
            base = clause.child_by_field_name("value") if clause is not None else (
                heritage.named_children[0] if heritage.named_children else None)
            if base is not None and base.type == "identifier":
                self.extending.append((body, base))
            if base is not None and base.type in ("identifier", "member_expression"):
                self.subclasses.append((self.text(name), self.text(base).rpartition(".")[2],
                                        body))

    def _family(self, body: Node) -> tuple[int, ...]:
        """The bodies of the classes of the file whose `this` may be one object with the one
        of `body`: its class, the class it extends and the classes extending it, through
        any number of levels (`class Repo extends Base`, Base's constructor doing `this.db =
        createClient(url, key, { db: { schema: 'app' } })`: Repo's methods send
        `this.db.from('items')` there). The name a class extends is read as JavaScript
        scopes resolve it, and only a class declared once there counts; a class of another
        file, a mixin's call or any other expression links nothing."""
        if self.families is None:
            parent: dict[int, int] = {}

            def root(node_id: int) -> int:
                while parent.get(node_id, node_id) != node_id:
                    node_id = parent[node_id]
                return node_id

            for child, base in self.extending:
                bound = self._class_bound(base)
                if bound is not None:
                    parent[root(child.id)] = root(bound.id)
            members: dict[int, list[int]] = {}
            for node_id in list(parent):
                members.setdefault(root(node_id), []).append(node_id)
            self.families = {}
            for top, ids in members.items():
                family = (top, *ids)
                for node_id in family:
                    self.families[node_id] = family
        return self.families.get(body.id, (body.id,))

    def _class_bound(self, identifier: Node) -> Node | None:
        """The body of the class an identifier names, when the innermost binding of its name
        around it is one class declaration (not a parameter, import or variable)."""
        return self._declared(identifier, self.classes)

    def _declared(self, identifier: Node, declared: dict[tuple[str, int], _T]) -> _T | None:
        """What `declared` holds for the binding an identifier reads: the innermost binding
        of its name around it, when it is the only one of its scope."""
        scope = self._binding_scope(identifier)
        if scope is None or len(scope[1]) != 1:
            return None
        return declared.get((self.text(identifier), scope[0]))

    def _declared_in(self, identifier: Node, declared: set[tuple[str, int]]) -> bool:
        """Whether the binding an identifier reads, the only one of its scope, is in
        `declared` (by its name and scope)."""
        scope = self._binding_scope(identifier)
        return scope is not None and len(scope[1]) == 1 and (
            self.text(identifier), scope[0]) in declared

    def _binding_scope(self, identifier: Node) -> tuple[int, list] | None:
        """The innermost scope around an identifier that binds its name (its node id) and
        the bindings of the name there, as JavaScript resolves a name; None for a global
        or a name the file does not declare."""
        bindings = self.bindings.get(self.text(identifier))
        if not bindings:
            return None
        node = identifier.parent
        while node is not None:
            here = bindings.get(node.id)
            if here:
                return node.id, here
            node = node.parent
        return None

    def _this_client(self, name: str, body: Node) -> tuple[bool, set[str | None]]:
        """Whether `this.<name>` in the methods of the class of `body` holds a client: what
        it and the classes of its family (`_family`) assign it are clients, and nothing
        else; and the schemas those clients were given."""
        family = self._family(body)
        keys = [(name, node_id) for node_id in family]
        if not any(key in self.this_clients for key in keys) or any(
                key in self.this_others for key in keys):
            return False, set()
        return True, set().union(*(self.this_schemas.get(key, ()) for key in keys))

    def _client_schema(self, value: Node) -> SqlFragment | bool | None:
        """The schema a client expression was given: `createClient(url, key, { db: {
        schema: 'x' } })` or `supabase.schema('x')`, also through the `const`/`let` it is
        bound to (`const billing = supabase.schema('billing')`); None for the default, False
        when it is not a literal (`.schema(name)`)."""
        unwrapped = _unwrap(value)
        if unwrapped.type == "identifier":
            declarator = self._declarator(unwrapped)
            bound = declarator.child_by_field_name("value") if declarator is not None else None
            value = bound if bound is not None else value
        schema, dynamic = self._schema(value)
        if dynamic:
            return False
        return schema or self._db_schema(value)

    def _this_schema(self, receiver: Node) -> SqlFragment | None:
        """The schema of the client a class's `this.x` holds, when every client the class
        assigns it was given the same one (`_bind_this`), as a fragment where the request
        names the client."""
        receiver = _unwrap(receiver)
        if receiver.type != "member_expression":
            return None
        obj, prop = receiver.child_by_field_name("object"), receiver.child_by_field_name(
            "property")
        if obj is None or prop is None or obj.type != "this":
            return None
        body = _class_of(obj)
        held, schemas = self._this_client(self.text(prop), body) if body is not None else (
            False, set())
        if not held or len(schemas) != 1:
            return None  # also given a schema that is not a literal, or something else
        (schema,) = schemas
        if schema is None:
            return None
        line, column = self.position(receiver.start_byte)
        return SqlFragment(self.path, schema, ((0, line, column),), origin="js")

    def _plain_client(self, value: Node) -> bool:
        """Whether an expression is a client whose requests go to the default schema: not
        one given another (`supabase.schema('x')`, `createClient(url, key, { db: { schema:
        'x' } })`), which a function returning it or `this.x` holding it would lose."""
        if not self._is_client(value):
            return False
        unwrapped = _unwrap(value)
        if unwrapped.type == "identifier":  # `const billing = supabase.schema('billing')`
            declarator = self._declarator(unwrapped)
            bound = declarator.child_by_field_name("value") if declarator is not None else None
            value = bound if bound is not None else value
        return self._db_schema(value) is None and self._schema(value) == (None, False)

    def _find_factories(self, nodes: list[Node]) -> None:
        """Functions of the file that hand out a client: each `return` of their own returns
        one (as `_is_client` reads it, `clients[email]` too), `null`, `undefined` or nothing,
        and one at least a client. supabase-helpdesk's RLS tests sign users in with `async
        function clientForUser(email) { ...; const c = createClient(url, key); ...; return c
        }`, and `const alice = await clientForUser('a@b.c')` is a client. Found once every
        binding is known; the variables bound to their calls are then added to the clients."""
        for node in nodes:
            function: Node | None = node
            if node.type == "variable_declarator":
                value = node.child_by_field_name("value")
                function = _unwrap(value) if value is not None else None
            elif node.type != "function_declaration":
                continue
            name = node.child_by_field_name("name")
            if function is None or function.type not in (
                    "function_declaration", "arrow_function", "function_expression",
                    "function") or name is None or name.type != "identifier":
                continue
            returned = _returns(function)
            if returned and any(v is not None and self._plain_client(v) for v in returned) and (
                    all(v is None or _unwrap(v).type in ("null", "undefined")
                        or self._plain_client(v) for v in returned)):
                self.factories.add(self.text(name))
        if not self.factories:
            return
        for node in nodes:
            if node.type == "variable_declarator":
                name, value = node.child_by_field_name("name"), node.child_by_field_name("value")
                if name is not None and name.type == "identifier" and value is not None and (
                        self._is_client(value)):
                    self.clients.add(self.text(name))

    def _client_element(self, node: Node) -> bool:
        """`clients[key]` of a variable typed as a collection of clients (`Record<string,
        SupabaseClient>`, `SupabaseClient[]`, `{ [email: string]: SupabaseClient }`); never
        `supabase['storage']` of a client."""
        obj = node.child_by_field_name("object")
        declarator = self._declarator(obj) if obj is not None and (
            obj.type == "identifier") else None
        annotation = declarator.child_by_field_name("type") if declarator is not None else None
        if annotation is None:
            return False
        text = self.text(annotation)
        return bool(_CLIENT_TYPE.search(text)) and bool(_COLLECTION_TYPE.search(text))

    def _bind_loaded(self, pattern: Node, value: Node) -> None:
        """`const { createClient } = require('@supabase/supabase-js')` (CommonJS), or `= await
        import('@/lib/supabase/client')`: the names a module is destructured into are
        imported from it, as by an `import` statement (a supabase module's, another
        package's)."""
        value = _unwrap(value)
        if value.type != "call_expression":
            return
        function = value.child_by_field_name("function")
        arguments = value.child_by_field_name("arguments")
        if function is None or arguments is None or not (
                function.type == "import" or self.text(function) == "require"):
            return
        first = [c for c in arguments.named_children if c.type != "comment"]
        if len(first) != 1 or first[0].type != "string":
            return
        module = self.text(first[0]).strip("'\"")
        names = self.client_modules if _CLIENT_MODULE.search(module) else (
            self.other_modules if _package(module) else None)
        if names is not None:
            names.update(self.text(identifier) for identifier in _pattern_names(pattern))

    def _bind_client_of(self, pattern: Node, value: Node, scope: Node) -> None:
        """`const { client } = getAuthedSupabase(event)` (or `{ client: db }`): the `client`
        a call named after supabase or PostgREST returns is one, in the scope it is bound in
        (another function's `const { client } = getRedis()` is not)."""
        value = _unwrap(value)
        callee = value.child_by_field_name("function") if value.type == "call_expression" else None
        name = _last_name(self, callee) if callee is not None else None
        if name is None or not _CLIENT_HOLDER.search(name):
            return
        for child in pattern.named_children:
            if child.type == "shorthand_property_identifier_pattern" and (
                    self.text(child) == "client"):
                self.held_clients.add(("client", scope.id))
            elif child.type == "pair_pattern":
                key = child.child_by_field_name("key")
                bound = child.child_by_field_name("value")
                if key is not None and self.text(key) == "client" and bound is not None and (
                        bound.type == "identifier"):
                    self.held_clients.add((self.text(bound), scope.id))

    def _held_client(self, identifier: Node) -> bool:
        """Whether an identifier reads a client `_bind_client_of` found, in the innermost
        scope binding its name (as `_declarator` resolves it)."""
        name = self.text(identifier)
        bindings = self.bindings.get(name)
        node = identifier.parent
        while bindings and node is not None:
            if node.id in bindings:
                return (name, node.id) in self.held_clients
            node = node.parent
        return False

    def _db_schema(self, value: Node) -> SqlFragment | None:
        """The literal `db: { schema: 'x' }` option of a client factory call, if any."""
        value = _unwrap(value)
        if value.type != "call_expression":
            return None
        for argument in self._arguments(value):
            if isinstance(argument, JsObject):
                db = argument.get("db")
                schema = db.get("schema") if isinstance(db, JsObject) else None
                if isinstance(schema, SqlFragment):
                    return schema
        return None

    def _is_client(self, node: Node) -> bool:
        node = _unwrap(node)
        if node.type in ("identifier", "property_identifier"):
            name = self.text(node)
            if node.type == "identifier" and self._holds_other(node):
                return False
            return _client_name(name) or name in self.clients or (
                node.type == "identifier" and self._held_client(node))
        if node.type == "member_expression":
            # `this.supabase`, `ctx.supabaseAdmin`: the property names the client. Never
            # `supabase.storage` (its `from` is a bucket) or `db.client`.
            prop = node.child_by_field_name("property")
            if prop is None:
                return False
            name = self.text(prop)
            obj = node.child_by_field_name("object")
            if _client_name(name):
                return True
            if name == "current" and obj is not None and obj.type == "identifier":
                # React's `useRef(createClient(...))`: `supabaseRef.current` is the client.
                return _client_name(self.text(obj)) and not self._ref_of_other(obj)
            if name == "client" and obj is not None and obj.type == "member_expression":
                # `context.postgrest.client`: the client of a holder named after it.
                holder = obj.child_by_field_name("property")
                return holder is not None and bool(_CLIENT_HOLDER.search(self.text(holder)))
            if name == "client" and obj is not None and obj.type == "identifier":
                # `$supabase.client`: a Nuxt plugin's `provide('supabase', { client, user })`,
                # from `useNuxtApp()` (TarkovTracker). supabase-js's client has no `client`.
                return bool(_CLIENT_HOLDER.search(self.text(obj))) and not (
                    _STORAGE_WORD.search(self.text(obj)) or self._holds_other(obj))
            if obj is None or obj.type != "this":
                return False
            if name in self.clients:
                return True
            body = _class_of(obj)
            return body is not None and self._this_client(name, body)[0]
        if node.type == "new_expression":
            constructor = node.child_by_field_name("constructor")
            return constructor is not None and self.text(constructor) in _CLIENT_CLASSES
        if node.type == "subscript_expression":
            return self._client_element(node)
        if node.type == "call_expression":
            callee = node.child_by_field_name("function")
            if callee is None:
                return False
            function = _unwrap(callee)
            if function.type == "identifier":
                name = self.text(function)
                return _client_name(name) or name in self.client_modules or (
                    name in self.factories)
            if function.type == "member_expression":
                prop = function.child_by_field_name("property")
                obj = function.child_by_field_name("object")
                if prop is None or obj is None:
                    return False
                name = self.text(prop)
                if name == "schema":
                    return self._is_client(obj)
                if name == "get":
                    # Hono's context variable its supabase middleware sets, `c.get('supabase')`
                    # (a getter keyed by a name saying it is the client).
                    arguments = node.child_by_field_name("arguments")
                    given = [a for a in arguments.named_children if a.type != "comment"] \
                        if arguments is not None else []
                    return len(given) == 1 and given[0].type == "string" and \
                        _client_name(self.text(given[0]).strip("'\"`"))
                if _CLIENT_GETTER.fullmatch(name):
                    # `this.supabaseService.getClient()`: the client a holder named after
                    # supabase or PostgREST hands out (NestJS's, Angular's services).
                    held_by = _last_name(self, obj)
                    return held_by is not None and bool(_CLIENT_HOLDER.search(held_by)) and (
                        not _STORAGE_WORD.search(held_by))
                return _client_name(name)
        return False

    def _ref_of_other(self, identifier: Node) -> bool:
        """Whether a React ref (`const supabaseRef = useRef(x)`) starts out holding what
        another library made (`useRef(new Map())`, `useRef(knex(config))`); a ref of a
        client, of nothing yet (`useRef(null)`), or of what is not known holds no other."""
        declarator = self._declarator(identifier)
        value = declarator.child_by_field_name("value") if declarator is not None else None
        if value is None or _unwrap(value).type != "call_expression":
            return False
        arguments = _unwrap(value).child_by_field_name("arguments")
        given = [a for a in arguments.named_children if a.type != "comment"] \
            if arguments is not None else []
        return bool(given) and self._made_by_other(given[0])

    def _holds_other(self, identifier: Node) -> bool:
        """Whether the variable an identifier reads holds something made by another
        library (`_made_by_other`)."""
        declarator = self._declarator(identifier)
        value = declarator.child_by_field_name("value") if declarator is not None else None
        return value is not None and self._made_by_other(value)

    def _made_by_other(self, value: Node) -> bool:
        """Whether an expression makes something of another library: `new Map()` (any `new`
        but supabase-js's clients' own), or a call of a function imported from another
        package (`knex(config)`)."""
        value = _unwrap(value)
        if value.type == "new_expression":
            constructor = value.child_by_field_name("constructor")
            return constructor is None or self.text(constructor) not in _CLIENT_CLASSES
        root = value
        while root.type in ("call_expression", "member_expression"):
            inner = root.child_by_field_name(
                "function" if root.type == "call_expression" else "object")
            if inner is None:
                return False
            root = _unwrap(inner)
        return root is not value and root.type == "identifier" and (
            self.text(root) in self.other_modules)

    # -- PostgREST ---------------------------------------------------------------------

    def _request(self, call: Node) -> PostgrestRequest | None:
        called = _method_call(call)
        if called is None:
            return None
        prop, receiver = called
        kind = self.text(prop)
        if kind not in ("from", "rpc") or not self._is_client(receiver):
            return None
        arguments = self._arguments(call)
        if not arguments:
            return None
        schema, schema_dynamic = self._schema(receiver)
        if schema is None and not schema_dynamic:
            # `createClient(url, key, { db: { schema: 'api' } })` or `supabase.schema('api')`
            # bound to the name the receiver reads (not a parameter or another function's
            # variable of the same name: their client's schema is not known).
            client = _unwrap(receiver)
            declarator = self._declarator(client) if client.type == "identifier" else None
            value = declarator.child_by_field_name("value") if declarator else None
            if value is not None and self._is_client(value):
                schema = self._db_schema(value) or self._schema(value)[0]
            else:
                # `this.db`, assigned `createClient(url, key, { db: { schema: 'app' } })`
                schema = self._this_schema(receiver)
        target, dynamic = literal_target(
            arguments[0], f"the {'table' if kind == 'from' else 'function'} name")
        calls = [PostgrestCall(kind, tuple(arguments), self.location(prop))]
        calls += self._chained(call)[0]
        if kind == "from" and _bucket(calls):
            return None
        return PostgrestRequest(self.path, kind, target, schema, tuple(calls),
                                self.location(prop), dynamic, schema_dynamic,
                                project=self._client_project(receiver))

    def _client_project(self, receiver: Node) -> tuple[str, ...]:
        """Where the URL of the client `receiver` is comes from: the first argument of
        supabase-js's `createClient(url, key)` (or @supabase/ssr's `createBrowserClient`/
        `createServerClient`, `new SupabaseClient(url, key)`) the receiver is, or a `const`
        bound to, read by `_url_sources`; through `.schema('x')`. Empty when the client is
        made otherwise (a parameter, `this.db`, a `let`, an import, a factory of the
        project) or its URL cannot be told: the app's own, checked."""
        client = _unwrap(receiver)
        for _ in range(2):  # the receiver, then the `const` it reads
            while client.type == "call_expression":  # `supabase.schema('x')`
                function = _unwrap(client.child_by_field_name("function") or client)
                prop = function.child_by_field_name("property") \
                    if function.type == "member_expression" else None
                obj = function.child_by_field_name("object") if prop is not None else None
                if prop is None or obj is None or self.text(prop) != "schema":
                    break
                client = _unwrap(obj)
            if client.type != "identifier":
                break
            value = self._constant(client)
            if value is None:
                return ()
            client = _unwrap(value)
        if client.type == "call_expression":
            maker = _unwrap(client.child_by_field_name("function") or client)
            if maker.type != "identifier" or self.text(maker) not in _CLIENT_MAKERS or (
                    self.text(maker) not in self.client_modules):
                return ()
        elif client.type != "new_expression" or self.text(
                client.child_by_field_name("constructor") or client) != "SupabaseClient":
            return ()
        arguments = client.child_by_field_name("arguments")
        given = [a for a in arguments.named_children if a.type != "comment"] \
            if arguments is not None else []
        found = self._url_sources(given[0], 0) if given else None
        return tuple(dict.fromkeys(found)) if found else ()

    def _url_sources(self, node: Node, depth: int) -> list[str] | None:
        """The environment variables and hosted Supabase projects a client's URL is read
        from: `process.env.X` (any `env.X`: `import.meta.env.X`, `c.env.X`, a parsed
        dotenv's `env.X`; `process.env['X']`, `Deno.env.get('X')`) gives `X`, a literal
        `https://<ref>.supabase.co` (a ref is 20 lowercase letters) gives `<ref>.supabase.co`,
        through `||`, `??`, `?:` and `const` bindings. An empty string or a placeholder host
        (`https://placeholder.supabase.co`, no ref) gives nothing; anything else (a
        parameter, a call, `localhost`) makes it unknown: None."""
        node = _unwrap(node)
        if depth > 8:
            return None
        if node.type == "binary_expression":
            operator = node.child_by_field_name("operator")
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            if operator is None or self.text(operator) not in ("||", "??") or left is None \
                    or right is None:
                return None
            sides = [self._url_sources(side, depth + 1) for side in (left, right)]
            return None if None in sides else [*(sides[0] or ()), *(sides[1] or ())]
        if node.type == "ternary_expression":
            branches = [self._url_sources(b, depth + 1) for b in (
                node.child_by_field_name("consequence"), node.child_by_field_name(
                    "alternative")) if b is not None]
            return None if len(branches) != 2 or None in branches else [
                *(branches[0] or ()), *(branches[1] or ())]
        if node.type == "identifier":
            value = self._constant(node)
            return self._url_sources(value, depth + 1) if value is not None else None
        if node.type in ("string", "template_string"):
            if any(c.type == "template_substitution" for c in node.named_children):
                return None
            text = self.text(node)[1:-1]
            if not text:
                return []
            hosted = _HOSTED_URL.fullmatch(text)
            if hosted is None:
                return None
            return [hosted[1] + ".supabase.co"] if _PROJECT_REF.fullmatch(hosted[1]) else []
        name: Node | None = None
        if node.type == "member_expression":  # `process.env.X`
            holder = node.child_by_field_name("object")
            name = node.child_by_field_name("property")
        elif node.type == "subscript_expression":  # `process.env['X']`
            holder = node.child_by_field_name("object")
            name = node.child_by_field_name("index")
        elif node.type == "call_expression":  # `Deno.env.get('X')`
            function = _unwrap(node.child_by_field_name("function") or node)
            method = function.child_by_field_name("property") \
                if function.type == "member_expression" else None
            holder = function.child_by_field_name("object") if method is not None else None
            given = [a for a in (node.child_by_field_name("arguments") or node).named_children
                     if a.type != "comment"]
            if method is None or self.text(method) != "get" or len(given) != 1:
                return None
            name = given[0]
        else:
            return None
        said = _last_name(self, holder) if holder is not None else None
        text = self.text(name).strip("'\"`") if name is not None and name.type in (
            "property_identifier", "string") else ""
        if said is None or said.lower() != "env" or not _ENV_NAME.fullmatch(text):
            return None
        return [text]

    def _chained(self, node: Node) -> tuple[list[PostgrestCall], Node]:
        """The method calls chained on `node` (`node.select(...).eq(...)`), also through
        parentheses and type operators (`(node as any).select(...)`), and the outermost
        expression of the chain."""
        calls: list[PostgrestCall] = []
        while True:
            parent = node.parent
            while parent is not None and parent.type in _TYPE_WRAPPERS and (
                    _operand(parent) == node):
                node, parent = parent, parent.parent
            if parent is None or parent.type != "member_expression":
                break
            if parent.child_by_field_name("object") != node:
                break
            outer = parent.parent
            if (outer is not None and outer.type == "await_expression"
                    and outer.parent is not None and _generic_callee(outer.parent) == parent):
                outer = outer.parent  # `await q.select<T>(...)`, read as `(await q.select)<T>`
            method = parent.child_by_field_name("property")
            if outer is None or outer.type != "call_expression" or method is None:
                break
            if _generic_callee(outer) != parent:
                break
            calls.append(PostgrestCall(self.text(method), tuple(self._arguments(outer)),
                                       self.location(method)))
            node = outer
        return calls, node

    def _followed(self, call: Node, origin: PostgrestRequest) -> list[PostgrestRequest]:
        """The requests a query held in a variable makes later in its scope.

        `const q = supabase.from('t')...` (or `let`, `var`), then `q.select(...)` or
        `q = q.eq(...)`: each later chain on `q` is a request of the table of that `.from()`,
        after the calls made on `q` before it (its initializer's, and those of each
        `q = q...` written earlier). Followed only when which query `q` holds is certain: `q`
        is written nowhere but in its declaration and in `q = q.<calls>`, and read nowhere
        but at the start of a chain, in `await q` or in `return q`; not passed to a
        function, stored, read before its declaration, or reassigned while a closure reads
        it; and no `q = q...` selects (which branch's select holds is not known). Else
        nothing is followed: a missed use is silent, a guess may be wrong.
        """
        if origin.target is None or origin.dynamic or origin.schema_dynamic:
            return []
        holder = self._chained(call)[1]
        while holder.parent is not None and holder.parent.type in _TYPE_WRAPPERS and (
                _operand(holder.parent) == holder):
            holder = holder.parent
        declarator = holder.parent
        if (declarator is None or declarator.type != "variable_declarator"
                or declarator.child_by_field_name("value") != holder):
            return []
        name = declarator.child_by_field_name("name")
        if name is None or name.type != "identifier":
            return []
        scope = next((s for _, s in _binding_patterns(declarator)), None)
        if scope is None or self._declarator(name) != declarator:
            return []  # declared twice in one scope (`var q = ...; var q = ...`)
        home = _function_of(declarator)
        uses: list[tuple[int, list[PostgrestCall], Node | None]] = []  # (start, calls, `q = `)
        writes: set[int] = set()  # the assignments to the variable after its declaration
        closure = False
        key = self.text(name)
        # Only the names spelled inside its scope may read it (not all a minified file has).
        starts = self.reference_starts.get(key, [])
        first = bisect.bisect_left(starts, scope.start_byte)
        last = bisect.bisect_left(starts, scope.end_byte)
        for ref in self.references.get(key, [])[first:last]:
            if ref == name or self._declarator(ref) != declarator:
                continue  # the declaration itself, or another binding of the name
            if ref.start_byte < declarator.end_byte:
                return []  # read before it holds the query (a closure, `var` hoisting)
            closure = closure or _function_of(ref) != home
            parent = ref.parent
            if (parent is not None and parent.type == "assignment_expression"
                    and parent.child_by_field_name("left") == ref):
                writes.add(parent.id)
                continue
            reader = ref
            while reader.parent is not None and reader.parent.type in _TYPE_WRAPPERS and (
                    _operand(reader.parent) == reader):
                reader = reader.parent
            if reader.parent is not None and reader.parent.type in (
                    "await_expression", "return_statement"):
                continue
            calls, end = self._chained(ref)
            if not calls:
                return []  # an argument, a property read, stored: where it goes is not known
            while end.parent is not None and end.parent.type in _TYPE_WRAPPERS and (
                    _operand(end.parent) == end):
                end = end.parent
            assignment = end.parent
            left = assignment.child_by_field_name("left") if assignment is not None else None
            if (assignment is None or assignment.type != "assignment_expression"
                    or assignment.child_by_field_name("right") != end or left is None
                    or left.type != "identifier" or self._declarator(left) != declarator):
                assignment = None  # not `q = q...`: a use, whatever it is assigned to
            uses.append((ref.start_byte, calls, assignment))
        extensions = [(a, calls) for _, calls, a in uses if a is not None]
        if writes != {a.id for a, _ in extensions}:
            return []  # assigned something else (`q = other`, `q = f(q)`, `q = c ? q.x() : q`)
        if extensions and closure:
            return []
        if any(c.method == "select" for _, calls in extensions for c in calls):
            return []
        selecting = {start for start, calls, _ in uses if any(c.method == "select" for c in calls)}
        requests: list[PostgrestRequest] = []
        for start, calls, _ in sorted(uses, key=lambda use: use[0]):
            before = list(origin.calls)
            for assignment, added in extensions:
                if assignment.end_byte <= start:
                    before += added
            whole = [*before, *calls]
            if origin.kind == "from" and _bucket(whole):
                continue
            requests.append(PostgrestRequest(
                self.path, origin.kind, origin.target, origin.schema, tuple(whole),
                calls[0].location, inherited=len(before),
                select_shared=bool(selecting - {start}), project=origin.project))
        return requests

    def _realtime(self, call: Node) -> PostgrestRequest | None:
        """`channel.on('postgres_changes', { schema, table, filter }, handler)`: Realtime
        listens to that table's changes, filtered by `filter` (`room_id=eq.1`); a table or a
        filter column that does not exist makes the subscription fail. The event name is
        what tells supabase-js's channels apart; a subscription to a whole schema (no
        `table`, or `'*'`) names nothing to check."""
        called = _method_call(call)
        if called is None or self.text(called[0]) != "on":
            return None
        prop = called[0]
        arguments = self._arguments(call)
        if len(arguments) < 2 or not isinstance(arguments[0], SqlFragment) \
                or arguments[0].sql != "postgres_changes":
            return None
        options = arguments[1]
        if not isinstance(options, JsObject):
            return None
        schema, table = options.get("schema"), options.get("table")
        if table is None or not isinstance(schema, SqlFragment) or schema.sql == "*" or (
                isinstance(table, SqlFragment) and table.sql == "*"):
            return None
        target, dynamic = literal_target(table, "the Realtime table")
        calls = (PostgrestCall("realtime", tuple(arguments), self.location(prop)),)
        return PostgrestRequest(self.path, "realtime", target, schema, calls,
                                self.location(prop), dynamic)

    def _constant(self, identifier: Node) -> Node | None:
        """The initializer of the `const` an identifier reads, if that is certain.

        Not followed: a binding that is not a plain `const` (`let`/`var` may be reassigned);
        see `_declarator` for which binding an identifier reads.
        """
        declarator = self._declarator(identifier)
        if declarator is None or not _is_const(declarator):
            return None
        return declarator.child_by_field_name("value")

    def _declarator(self, identifier: Node) -> Node | None:
        """The `const`/`let`/`var name = ...` declarator of the binding an identifier reads.

        The identifier reads the binding of its name in the innermost scope around it (a
        parameter, a `for (const row of rows)`, a destructured name, a declaration), as
        JavaScript resolves it: a variable of another function, or of an enclosing scope
        that an inner binding shadows, is not what it reads. None for any other binding, or
        two bindings in one scope.
        """
        scope = self._binding_scope(identifier)
        return scope[1][0] if scope is not None and len(scope[1]) == 1 else None

    def _schema(self, receiver: Node) -> tuple[SqlFragment | None, bool]:
        receiver = _unwrap(receiver)
        if receiver.type != "call_expression":
            return None, False
        function = receiver.child_by_field_name("function")
        if function is None or function.type != "member_expression":
            return None, False
        prop = function.child_by_field_name("property")
        if prop is None or self.text(prop) != "schema":
            return None, False
        arguments = self._arguments(receiver)
        if arguments and isinstance(arguments[0], SqlFragment):
            return arguments[0], False
        return None, True

    def _arguments(self, call: Node) -> list[JsValue]:
        arguments = call.child_by_field_name("arguments")
        if arguments is None or arguments.type != "arguments":
            return []
        return [self.value(child) for child in arguments.named_children
                if child.type != "comment"]

    def value(self, node: Node, *, follow: bool = True) -> JsValue:
        """What dbsafe can read of an expression (strings, object and array literals)."""
        node = _unwrap(node)
        if node.type == "string":
            return self._string(node)
        if node.type == "template_string":
            if any(c.type == "template_substitution" for c in node.named_children):
                return self._choice(node, self._conditioned(node),
                                    template=self._template(node))
            return self._string(node)
        if node.type in _CHOOSING or (node.type == "identifier" and follow and (
                not _is_const(self._declarator(node) or node))):
            # `cond ? 'a, b' : 'a'`, `SELECTS.full`, `[...].join(',')`, a `let` assigned
            # only strings: the strings it may be
            strings = self._conditioned(node)
            if strings is not None:
                return self._choice(node, strings)
            joined = self._joined_template(node) if node.type == "call_expression" else None
            if joined is not None:
                return self._choice(node, None, template=joined)
        if node.type == "identifier" and follow:
            bound = self._constant(node)
            if bound is not None and _unwrap(bound).type in ("string", "template_string"):
                return self.value(bound, follow=False)
            if bound is not None and _unwrap(bound).type in (*_CHOOSING, "identifier"):
                # `const cols = full ? `${A},${B}` : A`
                strings = self._conditioned(node)
                if strings is not None:
                    return self._choice(node, strings)
            if bound is not None and _unwrap(bound).type == "object":
                # `const row: Row = {...}; .insert(row)`: its keys are sent. Its values are
                # not followed further (a binding may refer to itself).
                found = self.value(bound, follow=False)
                if isinstance(found, JsObject):
                    return JsObject(found.keys, found.values, found.complete, bound=True)
            if bound is not None and _mapped_rows(bound) is not None:
                # `const rows = ids.map((id) => ({...}))`: as above, for each row.
                found = self.value(bound, follow=False)
                if isinstance(found, JsArray):
                    return JsArray(tuple(
                        JsObject(row.keys, row.values, row.complete, bound=True)
                        if isinstance(row, JsObject) else row for row in found.items),
                        found.complete)
            if bound is None:
                typed = self._typed_parameter(node)
                if typed is not None:
                    return typed
        if node.type == "object":
            keys: list[SqlFragment] = []
            values: list[JsValue] = []
            complete = True
            for child in node.named_children:
                if child.type == "pair":
                    key = child.child_by_field_name("key")
                    value = child.child_by_field_name("value")
                    name = self._key(key) if key is not None else None
                    if name is None:
                        complete = False
                        continue
                    if value is not None and _unwrap(value).type == "undefined":
                        continue  # JSON leaves a key whose value is undefined out: never sent
                    keys.append(name)
                    values.append(self.value(value, follow=follow) if value is not None else None)
                elif child.type == "shorthand_property_identifier":
                    keys.append(self._plain(child))
                    values.append(JsOther(self.text(child), self.location(child)))
                elif child.type == "comment":
                    continue
                else:  # spread_element, method_definition, getters
                    complete = False
            return JsObject(tuple(keys), tuple(values), complete)
        if node.type == "array":
            items = [self.value(c, follow=follow) for c in node.named_children
                     if c.type != "comment"]
            complete = all(c.type != "spread_element" for c in node.named_children)
            return JsArray(tuple(items), complete)
        rows = _mapped_rows(node)
        if rows is not None:
            # `ids.map((id) => ({ id, title }))`: an array whose rows are those objects.
            return JsArray(tuple(self.value(row, follow=follow) for row in rows), True)
        string_like = node.type == "binary_expression" and "+" in self.text(node)
        return JsOther(_short(self.text(node)), self.location(node), string_like=string_like)

    def _typed_parameter(self, identifier: Node) -> JsObject | None:
        """The keys a parameter typed with an object type literal is sure to hold.

        `async function createListing(payload: { seller_id: string; title: string }) {
        ... .insert(payload) }` sends `seller_id` and `title` whatever the caller passes: a
        required property whose type is never `undefined` (nor `any`, `unknown`, `void`, a
        function: what `JSON.stringify` may leave out). Optional ones (`image_url?:`,
        `Partial<{...}>`) may never be sent, and are not read. Only for a required
        parameter the code never writes nor `delete`s a key of; a caller may pass more keys
        (`bound`). None for anything else.
        """
        binding = self._binding_scope(identifier)
        if binding is None or binding[1] != [None] or not self._never_written(identifier):
            return None
        function = identifier.parent
        while function is not None and function.id != binding[0]:
            function = function.parent
        parameters = function.child_by_field_name("parameters") \
            if function is not None and function.type in _FUNCTIONS else None
        name = self.text(identifier)
        shape = None
        for parameter in parameters.named_children if parameters is not None else ():
            pattern = parameter.child_by_field_name("pattern")
            if parameter.type == "required_parameter" and pattern is not None and (
                    pattern.type == "identifier" and self.text(pattern) == name):
                annotation = parameter.child_by_field_name("type")
                shape = annotation.named_children[0] \
                    if annotation is not None and annotation.named_children else None
        if shape is None or shape.type != "object_type" or self._key_deleted(identifier):
            return None
        keys: list[SqlFragment] = []
        for member in shape.named_children:
            key, kind = member.child_by_field_name("name"), member.child_by_field_name("type")
            if member.type != "property_signature" or key is None or kind is None or any(
                    c.type == "?" for c in member.children) or not _always_sent(kind):
                continue
            found = self._key(key)
            if found is not None:
                keys.append(found)
        values = tuple(JsOther(k.sql, k.location(0, 0)) for k in keys)
        return JsObject(tuple(keys), values, True, bound=True)

    def _key_deleted(self, identifier: Node) -> bool:
        """Whether the code `delete`s a key of the binding `identifier` reads
        (`delete payload.id`)."""
        scope = self._binding_scope(identifier)
        for ref in self.references.get(self.text(identifier), []):
            member = ref.parent
            if (member is not None and member.type in ("member_expression",
                                                       "subscript_expression")
                    and member.parent is not None and member.parent.type == "unary_expression"
                    and self.text(member.parent).startswith("delete")
                    and self._binding_scope(ref) == scope):
                return True
        return False

    def _choice(self, node: Node, options: _Conditioned | None,
                template: Template | None = None) -> JsValue:
        """The value of an expression that is one of `options` (see `_conditioned`): the
        string itself when there is one, else a `JsOther` carrying them and their guards;
        without any, a `JsOther`."""
        if options is not None and len(options) == 1:
            return options[0][0]
        guards = tuple(guard for _, guard in options or ())
        return JsOther(_short(self.text(node)), self.location(node),
                       string_like=template is not None or node.type == "template_string",
                       template=template, options=tuple(o for o, _ in options or ()),
                       guards=guards if any(guards) else ())

    def _strings(self, node: Node, depth: int = 0) -> tuple[SqlFragment, ...] | None:
        """The strings an expression may be, when the code shows each of them: a literal; a
        template literal whose every `${...}` is such an expression (supabase-rijschool
        selects `${INSTRUCTOR_SELECT_COLUMNS}, profile:profiles!...(${PROFILE_COLUMNS})`);
        both branches of `cond ? 'a, b' : 'a'`; a `const` holding one; a `let`/`var`
        assigned nothing but such expressions (`let cols = 'id'; if (full) cols = 'id,
        body'`: each of them); the entry of a `const` object or array literal of them
        (`SELECTS.full`, `SELECTS['full']`, or every entry for `SELECTS[kind]`) that the
        file never assigns an entry of; `['id', 'title'].join(',')`. Each piece mapped to
        where it is written. None when a part is anything else (a parameter, a call), when
        that is more than `_CHOICES` strings, or past five levels of names.

        An entry read with a key that is not a literal is left out where the code has
        already left when the key is the entry's (`_keys_left`), or is in the branch of an
        `if` that the key's being it does not run."""
        found = self._conditioned(node, depth)
        return None if found is None else tuple(option for option, _ in found)

    def _conditioned(self, node: Node, depth: int = 0) -> _Conditioned | None:
        """`_strings`, each with what a name must hold for it to be the one (`Guard`):
        `TABLES[kind]`'s entry `posts` only when `kind` is 'posts', the first branch of
        `kind === 'post' ? 'id, body' : 'id'` only when it is 'post'. A string whose parts
        need what no value gives (`kind === 'a' ? TABLES[kind] : 'x'` is never `TABLES.b`)
        is none of them."""
        if depth == 0:
            # (where the strings are read: `_entries` looks for the exits before it)
            self.sites.append(node)
            try:
                return self._strings_of(node, 0)
            finally:
                self.sites.pop()
        return self._strings_of(node, depth)

    def _strings_of(self, node: Node, depth: int) -> _Conditioned | None:
        """`_conditioned`, `depth` levels of names in."""
        if depth > 4:
            return None
        node = _unwrap(node)
        found: list[tuple[SqlFragment, Guard]] = []
        if node.type == "string":
            return ((self._string(node), ()),)
        if node.type == "template_string":
            return self._filled_template(node, depth)
        if node.type == "ternary_expression":
            tested = self._tested(node.child_by_field_name("condition"))
            for field, guard in zip(("consequence", "alternative"), tested):
                branch = node.child_by_field_name(field)
                options = self._conditioned(branch, depth + 1) if branch is not None else None
                if options is None:
                    return None
                for option, inner in options:
                    joined = guards_agree(guard, inner)
                    if joined is not None:
                        found.append((option, joined))
        elif node.type == "identifier":
            declarator = self._declarator(node)
            if declarator is None:
                imported = self._imported_fragment(node)
                return ((imported, ()),) if imported is not None else None
            if _is_const(declarator):
                bound = declarator.child_by_field_name("value")
                return self._conditioned(bound, depth + 1) if bound is not None else None
            if declarator.id not in self.assignments:
                self.assignments[declarator.id] = self._assigned(node, declarator)
            assigned = self.assignments[declarator.id]
            if assigned is None:
                return None
            reaching = self._reaching(node, declarator)
            if reaching is not None:
                # `let table = ''; switch (kind) { case 'a': table = 'posts'; ...from(table)`:
                # only the value given just before is read there (after a `switch` that
                # gives one in each case, those)
                assigned = reaching
            for value in assigned:
                options = self._conditioned(value, depth + 1)
                if options is None:
                    return None
                found.extend(options)
        elif node.type in ("member_expression", "subscript_expression"):
            entries = self._entries(node, depth)
            if entries is None:
                imported = self._imported_fragment(node)
                return ((imported, ()),) if imported is not None else None
            for value, guard in entries:
                options = self._conditioned(value, depth + 1)
                if options is None:
                    return None
                for option, inner in options:
                    joined = guards_agree(guard, inner)
                    if joined is not None:
                        found.append((option, joined))
        elif node.type == "call_expression":
            joined_array = self._array_joined(node, depth)
            if joined_array is not None:
                return ((joined_array, ()),)
            returned = self._returned(node, depth)
            if returned is None:
                return None
            found.extend(returned)
        else:
            return None
        unique: dict[tuple[object, ...], tuple[SqlFragment, Guard]] = {}
        for option, guard in found:
            key = (option.sql, option.spans)
            if key in unique and unique[key][1] != guard:
                guard = ()  # one string reached two ways: either may hold
            unique[key] = (option, guard)
        if not unique or len(unique) > _CHOICES:
            return None
        return tuple(unique.values())

    def _tested(self, condition: Node | None) -> tuple[Guard, Guard]:
        """What the branches of a `cond ? a : b` show of a name: `kind === 'a' || kind ===
        'b'` (`==` too, the literal on either side) holds in the first that `kind` is one of
        them, in the second that it is none; `kind !== 'a' && kind !== 'b'` the other way
        round. Nothing for another test, or a name that may be written (`_never_written`)."""
        compared = self._compared(condition) if condition is not None else None
        if compared is None:
            return (), ()
        name, values, equal = compared
        key = self._subject_key(name)
        if key is None:
            return (), ()
        return ((key, values, equal),), ((key, values, not equal),)

    def _compared(self, condition: Node) -> tuple[Node, frozenset[str], bool] | None:
        """Of a test of one name against strings: the name, the strings, and True for
        `x === 'a' || x === 'b'` (`==`, the literal on either side), False for `x !== 'a' &&
        x !== 'b'` (`!=`); None for any other test."""
        tests = [_unwrap(condition)]
        names: list[Node] = []
        values: set[str] = set()
        joiner: str | None = None
        equal: bool | None = None
        while tests:
            test = _unwrap(tests.pop())
            if test.type != "binary_expression":
                return None
            operator = test.child_by_field_name("operator")
            op = self.text(operator) if operator is not None else ""
            left, right = test.child_by_field_name("left"), test.child_by_field_name("right")
            if left is None or right is None:
                return None
            if op in ("||", "&&"):
                if joiner not in (None, op):
                    return None
                joiner = op
                tests += [left, right]
                continue
            if op in ("===", "=="):
                this = True
            elif op in ("!==", "!="):
                this = False
            else:
                return None
            if equal not in (None, this):
                return None
            equal = this
            left, right = _unwrap(left), _unwrap(right)
            if left.type == "string":
                left, right = right, left
            if left.type not in ("identifier", "member_expression") or right.type != "string":
                return None
            names.append(left)
            values.add(self._string(right).sql)
        if not names or equal is None or joiner == ("&&" if equal else "||"):
            return None
        scopes = {(self.text(n), (b[0] if (b := self._binding_scope(n)) else None))
                  if n.type == "identifier" else self._subject_key(n) for n in names}
        if None in scopes:
            return None  # `result.data === 'a'` of a property that may be written
        if len(scopes) != 1:
            return None
        return names[0], frozenset(values), equal

    def _filled_template(self, template: Node, depth: int) -> _Conditioned | None:
        """The strings a template literal makes when each `${...}` is one of `_strings`."""
        decoded = self._template(template)
        whole = SqlFragment(self.path, decoded.text, decoded.spans, origin="js")
        variants: list[tuple[list[SqlFragment], Guard]] = [([], ())]
        start = 0
        holes = iter(decoded.holes)
        for child in template.named_children:
            if child.type != "template_substitution":
                continue
            hole = next(holes)
            piece = whole.sub(start, hole.offset)
            start = hole.offset
            inner = [c for c in child.named_children if c.type != "comment"]
            options = self._conditioned(inner[0], depth + 1) if len(inner) == 1 else None
            if options is None or len(variants) * len(options) > _CHOICES:
                return None
            made: list[tuple[list[SqlFragment], Guard]] = []
            for pieces, guard in variants:
                for option, given in options:
                    joined = guards_agree(guard, given)
                    if joined is not None:
                        made.append(([*pieces, piece, option], joined))
            variants = made
        last = whole.sub(start, len(whole.sql))
        return tuple((_concat(self.path, [*pieces, last], whole), guard)
                     for pieces, guard in variants) or None

    def _returned(self, call: Node, depth: int) -> list[tuple[SqlFragment, Guard]] | None:
        """The strings a call of a function of the file may give, read as if its body were
        written at the call: what each `return` (an arrow function's expression) may be
        (`_conditioned`), with what the tests on the way to it hold (`_return_paths`), a
        parameter's name standing for the expression given to it (`_substituted`).
        authority-engine's `.from(TABLE_MAP[result.data]).select(selectFieldsFor(
        result.data))`, `function selectFieldsFor(contentType) { const imageCol =
        contentType === 'blog_post' ? 'featured_image_url' : 'hero_image_url'; return
        `${BASE_SELECT}, ${imageCol}` }`: `featured_image_url` goes to `blog_posts` only.

        None (the call stays not a literal) unless the function is one the file binds once
        (a declaration, or a `const` given an arrow function or a function expression) and
        not a generator, each of its parameters a plain name it never writes (`_plain_parameters`), and
        the call passes no spread; and when a test on the way to a `return`, or in a `cond ?
        a : b`, is of a parameter (or a name given from one) without being one `_compared`
        reads, a `switch` or a loop holds a `return` or reads a parameter, the function
        assigns a name (`let cols = ...; if (...) cols = ...`), or what a string needs of a
        parameter cannot be tied to the caller (`_substituted`)."""
        callee = call.child_by_field_name("function")
        callee = _unwrap(callee) if callee is not None else None
        if callee is None or callee.type != "identifier" or not self.functions:
            return None
        function = self._declared(callee, self.functions)
        if function is None or function.type in ("generator_function_declaration",
                                                  "generator_function"):
            return None
        holder = function.parent
        while holder is not None and holder.type in _WRAPPERS:
            holder = holder.parent
        if holder is not None and holder.type == "variable_declarator" and (
                not _is_const(holder)):
            return None  # `let pick = () => ...` may be given another function
        parameters = self._plain_parameters(function)
        arguments = call.child_by_field_name("arguments")
        given = [c for c in arguments.named_children if c.type != "comment"] \
            if arguments is not None and arguments.type == "arguments" else None
        if parameters is None or given is None or any(
                c.type == "spread_element" for c in given):
            return None
        if not self._plainly_tested(function, parameters):
            return None
        body = function.child_by_field_name("body")
        if body is None:
            return None
        paths = self._return_paths(body, parameters) if body.type == "statement_block" \
            else [(body, ())]
        if not paths:
            return None
        found: list[tuple[SqlFragment, Guard]] = []
        for value, path in paths:
            self.sites.append(value)
            try:
                options = self._conditioned(value, depth + 1)
            finally:
                self.sites.pop()
            if options is None:
                return None
            for option, inner in options:
                joined = guards_agree(path, inner)
                if joined is None:
                    continue
                tied = self._substituted(joined, parameters, given, function, depth)
                if tied is None:
                    return None
                if tied[0]:
                    found.append((option, tied[1]))
        return found or None

    def _plain_parameters(self, function: Node) -> dict[str, tuple[int, Node]] | None:
        """A function's parameters by what a `Guard` calls each (`_subject_key`), with its
        position and its name; None when one is not a plain name (a pattern, a rest
        parameter, a default, an optional one) or is written in the function."""
        parameters = function.child_by_field_name("parameters")
        if parameters is None:
            single = function.child_by_field_name("parameter")  # `kind => ...`
            listed = [single] if single is not None else []
        else:
            listed = [c for c in parameters.named_children if c.type != "comment"]
        found: dict[str, tuple[int, Node]] = {}
        for position, parameter in enumerate(listed):
            if parameter.type == "required_parameter":
                if parameter.child_by_field_name("value") is not None:
                    return None  # `kind = 'post'`
                pattern = parameter.child_by_field_name("pattern")
                if pattern is None:
                    return None
                parameter = pattern
            if parameter.type != "identifier":
                return None
            key = self._subject_key(parameter)
            if key is None:
                return None
            found[key] = (position, parameter)
        return found

    def _plainly_tested(self, function: Node,
                        parameters: dict[str, tuple[int, Node]]) -> bool:
        """Whether every test in `function` that reads a parameter, or a name given from
        one (`const isBlog = kind === 'blog'`), is an `if` or a `cond ? a : b` testing the
        parameter itself as `_compared` reads it; and the function assigns no name (a `let`
        given in an `if` would carry none of it)."""
        names = {self.text(node) for _, node in parameters.values()}
        derived = set(names)
        stack = [function.child_by_field_name("body")]
        tests: list[tuple[Node, Node | None]] = []
        while stack:
            node = stack.pop()
            if node is None:
                continue
            kind = node.type
            if kind in ("assignment_expression", "augmented_assignment_expression",
                        "update_expression") and _unwrap(
                    node.child_by_field_name("left") or node.child(0) or node
            ).type in ("identifier", "object_pattern", "array_pattern"):
                return False
            if kind == "variable_declarator":
                value = node.child_by_field_name("value")
                name = node.child_by_field_name("name")
                if value is not None and name is not None and self._reads(value, derived):
                    derived.update(self.text(n) for n in _pattern_names(name))
            if kind in ("if_statement", "ternary_expression"):
                tests.append((node, node.child_by_field_name("condition")))
            elif kind in ("switch_statement", "while_statement", "do_statement",
                          "for_statement"):
                tests.append((node, node.child_by_field_name("value")
                              or node.child_by_field_name("condition")))
            stack.extend(reversed(node.named_children))
        for statement, condition in tests:
            if condition is None or not self._reads(condition, derived):
                continue
            compared = self._compared(condition) if statement.type in (
                "if_statement", "ternary_expression") else None
            if compared is None or self.text(compared[0]) not in names or (
                    self._subject_key(compared[0]) not in parameters):
                return False
        return True

    def _reads(self, node: Node, names: set[str]) -> bool:
        """Whether an expression reads one of `names` (a name, or the object of a
        property)."""
        stack = [node]
        while stack:
            here = stack.pop()
            if here.type in ("identifier", "shorthand_property_identifier") and (
                    self.text(here) in names):
                return True
            stack.extend(here.named_children)
        return False

    def _return_paths(self, block: Node, parameters: dict[str, tuple[int, Node]]
                      ) -> list[tuple[Node, Guard]] | None:
        """Each value a function body may `return`, with what the `if`s on the way to it
        hold of the names they test (`_compared`): in its body, the test; in its `else`, or
        after an `if` whose body always leaves the function, its opposite. None when a
        `return` is somewhere else (in a loop, a `switch`, a `try`)."""
        found: list[tuple[Node, Guard]] = []

        def walk(statements: list[Node], guard: Guard) -> bool | None:
            """Read `statements` in order; True when they always leave the function."""
            for statement in statements:
                kind = statement.type
                if kind == "return_statement":
                    values = [c for c in statement.named_children if c.type != "comment"]
                    if values:
                        found.append((values[0], guard))
                    return True
                if kind == "throw_statement":
                    return True
                if kind == "statement_block":
                    left = walk(statement.named_children, guard)
                    if left is None:
                        return None
                    if left:
                        return True
                    continue
                if kind == "if_statement":
                    condition = statement.child_by_field_name("condition")
                    yes, no = self._tested(condition)
                    body = statement.child_by_field_name("consequence")
                    otherwise = statement.child_by_field_name("alternative")
                    joined_yes, joined_no = guards_agree(guard, yes), guards_agree(guard, no)
                    left_yes = walk([body], joined_yes) if body is not None and (
                        joined_yes is not None) else True
                    left_no = walk([c for c in otherwise.named_children
                                    if c.type != "comment"], joined_no) \
                        if otherwise is not None and joined_no is not None else (
                            joined_no is None)
                    if left_yes is None or left_no is None:
                        return None
                    if left_yes and left_no:
                        return True
                    if left_yes and joined_no is not None:
                        guard = joined_no
                    elif left_no and joined_yes is not None:
                        guard = joined_yes
                    continue
                if self._returns_in(statement):
                    return None
            return False

        if walk([block], ()) is None:
            return None
        return found

    @staticmethod
    def _returns_in(node: Node) -> bool:
        """Whether a `return` of the function holding `node` is inside it."""
        stack = list(node.named_children)
        while stack:
            here = stack.pop()
            if here.type == "return_statement":
                return True
            if here.type not in _FUNCTIONS:
                stack.extend(here.named_children)
        return False

    def _substituted(self, guard: Guard, parameters: dict[str, tuple[int, Node]],
                     given: list[Node], function: Node, depth: int
                     ) -> tuple[bool, Guard] | None:
        """What `guard`, read in `function`, says at a call passing `given`: a term on a
        parameter is one on what the call passes (a name or property `_subject_key`
        names), or holds or fails for a string the call passes; (False, ()) when one fails
        (the call never gives that string), else (True, the guard). None when a term cannot be said at the call: on a
        parameter given anything else, or on a name of the function's own."""
        terms: list[tuple[str, frozenset[str], bool]] = []
        for key, values, among in guard:
            if key in parameters:
                position, _ = parameters[key]
                if position >= len(given):
                    return None
                literal = self._strings_of(given[position], depth + 1)
                if literal is not None and len(literal) == 1 and not literal[0][1]:
                    if (literal[0][0].sql in values) != among:
                        return False, ()
                    continue
                passed = self._subject_key(given[position])
                if passed is None:
                    return None
                terms.append((passed, values, among))
                continue
            span = self.guard_scopes.get(key)
            if span is None or (function.start_byte <= span[0]
                                and span[1] <= function.end_byte):
                return None
            terms.append((key, values, among))
        joined = guards_agree(tuple(terms))
        return (False, ()) if joined is None else (True, joined)

    def _assigned(self, identifier: Node, declarator: Node) -> list[Node] | None:
        """What a `let`/`var` is given: its initializer and the value of each `name = value`
        in its scope; None when it is written otherwise (`+=`, `++`, destructuring, a `for
        ... of` loop), which leaves its value unknown."""
        values: list[Node] = []
        writes: list[tuple[Node, Node]] = []
        initial = declarator.child_by_field_name("value")
        name = declarator.child_by_field_name("name")
        if initial is not None:
            values.append(initial)
            if name is not None:
                writes.append((name, initial))
        for ref in self._uses(identifier, declarator):
            if ref == name:
                continue
            parent = ref.parent
            if ref.type != "identifier" or parent is None:
                return None  # `({ cols } = other)`
            if parent.type == "assignment_expression" and (
                    parent.child_by_field_name("left") == ref):
                right = parent.child_by_field_name("right")
                if right is None:
                    return None
                values.append(right)
                writes.append((ref, right))
            elif parent.type in _WRITES or (parent.type == "for_in_statement" and (
                    parent.child_by_field_name("left") == ref)):
                return None
        self.writes[declarator.id] = writes
        return values

    def _reaching(self, use: Node, declarator: Node) -> list[Node] | None:
        """The values a `let`/`var` (`_assigned` read) may hold where `use` reads it, when
        the code shows them: the last write before `use` in the source is a statement of its
        own, `name = value;` (or the declaration, `let name = value`), in a statement list
        that holds `use` or a statement around it, in the same function, and no loop holds
        `use` below that list (its next turn could bring a later write back): that one value.
        Or that write is in a `switch` of such a list, before `use`, that gives the name a
        value on each way out of it (`_switch_leaves`): those. Any write in between would be
        the last one; a write in another function (a closure may run at any time) or a
        `switch` case falling through leaves it unknown (None): every value the name is
        given is then what it may be."""
        writes = self.writes.get(declarator.id)
        if not writes:
            return None
        function = _function_of(use)
        if any(_function_of(ref) != function for ref, _ in writes):
            return None
        before = [(ref, value) for ref, value in writes if ref.end_byte <= use.start_byte]
        if not before:
            return None
        ref, value = before[-1]
        statement = ref.parent if ref.type == "identifier" and ref != (
            declarator.child_by_field_name("name")) else declarator
        if statement is None or statement.parent is None:
            return None
        statement = statement.parent  # the `expression_statement` or the declaration
        node = use
        while node.parent is not None:
            parent = node.parent
            if parent.type in _FUNCTIONS or parent.type in _LOOPS:
                return None
            if parent.type in _STATEMENT_LISTS:
                if statement.parent == parent and statement.end_byte <= use.start_byte and (
                        statement.type in ("expression_statement", "lexical_declaration",
                                           "variable_declaration")):
                    return [value]
                around = _child_holding(parent, ref)
                if around is not None and around.type == "switch_statement" and (
                        around.end_byte <= use.start_byte):
                    return self._switch_leaves(around, writes)
                if parent.type in ("switch_case", "switch_default"):
                    return None  # a case before may fall through into this one
            node = parent
        return None

    def _switch_leaves(self, switch: Node, writes: list[tuple[Node, Node]]) -> list[Node] | None:
        """The values a name holds after `switch`, which holds the name's last writes (`writes`:
        its `(name, value)` pairs, `_assigned`), when every way out of it gives one: it has a
        `default` (a case always runs), each write in it is a statement of a case's own,
        `name = value;`, and each case reaches its `break` (or the end of the last case)
        only after such a write, its own or one of a case falling through into it (a case
        may also be entered by its label, with the value from before the `switch`), or ends
        in a `throw` or `return`. None otherwise (a `break` or `continue` nested deeper, a
        labelled one, a path out that writes nothing): the caller reads every value.

        `let table = ''; switch (kind) { case 'sale': table = 'sales'; break; default: throw
        ... }`: 'sales', never ''."""
        body = switch.child_by_field_name("body")
        if body is None:
            return None
        cases = [c for c in body.named_children if c.type in ("switch_case", "switch_default")]
        if not any(case.type == "switch_default" for case in cases):
            return None
        given: dict[int, Node] = {}  # each write's statement: the value it gives
        for ref, value in writes:
            if not switch.start_byte <= ref.start_byte < switch.end_byte:
                continue
            assignment = ref.parent
            statement = assignment.parent if assignment is not None else None
            if (assignment is None or assignment.type != "assignment_expression"
                    or statement is None or statement.type != "expression_statement"
                    or statement.parent not in cases):
                return None
            given[statement.id] = value
        entry = None  # the value from before the `switch`: unknown here
        leaves: dict[int, Node] = {}
        held: list[Node | None] = []  # what a case falling through brings into the next
        for case in cases:
            value_field = case.child_by_field_name("value")
            holds: list[Node | None] | None = [entry, *held]
            for statement in case.named_children:
                if statement == value_field or statement.type == "comment" or holds is None:
                    continue
                if statement.id in given:
                    holds = [given[statement.id]]
                elif statement.type == "break_statement":
                    if statement.named_child_count or any(v is None for v in holds):
                        return None  # a labelled `break`, or one the name reaches unwritten
                    leaves.update((v.id, v) for v in holds if v is not None)
                    holds = None
                elif statement.type in ("return_statement", "throw_statement"):
                    holds = None
                elif statement.type == "continue_statement" or _holds_jump(statement):
                    return None
            held = holds if holds is not None else []
        if any(v is None for v in held):
            return None  # the last case falls out of the `switch` with the name unwritten
        leaves.update((v.id, v) for v in held if v is not None)
        return list(leaves.values()) or None

    def _uses(self, identifier: Node, declarator: Node) -> Iterator[Node]:
        """The names spelling the binding `declarator` makes, in the scope it makes it in."""
        key = self.text(identifier)
        scope = next((s for _, s in _binding_patterns(declarator)), None)
        if scope is None:
            return
        starts = self.reference_starts.get(key, [])
        first = bisect.bisect_left(starts, scope.start_byte)
        last = bisect.bisect_left(starts, scope.end_byte)
        for ref in self.references.get(key, [])[first:last]:
            if self._declarator(ref) == declarator:
                yield ref

    def _entries(self, node: Node, depth: int) -> list[tuple[Node, Guard]] | None:
        """The values `X.key`, `X['key']` or `X[i]` may read of a `const` object or array
        literal (nested ones too: `QUERIES.posts.list`): the one its key names, or all of
        them for a key that is not a literal, each with what that key then is (`Guard`:
        `X[kind]` is its entry `posts` only when `kind` is 'posts', for a name never
        written). None when the literal is not certain: a spread or a computed key in it,
        an entry the file assigns (`X.key = ...`), a key it lacks. Also the members of a
        TypeScript enum of the file (`enum Tables { Posts = 'posts' }`, `Tables.Posts`),
        which nothing can assign."""
        members = self._enum_members(node)
        if members is not None:
            return [(member, ()) for member in members]
        literal = self._literal_of(node, depth)
        if literal is None:
            return None
        index: Node | None = None
        if node.type == "member_expression":
            prop = node.child_by_field_name("property")
            key: str | None = self.text(prop) if prop is not None else None
            if key is None:
                return None
        else:
            index = node.child_by_field_name("index")
            index = _unwrap(index) if index is not None else None
            if index is None:
                return None
            key = self._string(index).sql if index.type == "string" else (
                self.text(index) if index.type == "number" else None)
        entries = _literal_entries(self, literal)
        if entries is None:
            return None
        if key is None:
            named = index is not None and index.type == "identifier"
            left = self._keys_left(index) if named and index is not None else frozenset()
            guard = self._subject_key(index) if index is not None and (
                literal.type == "object") else None
            return [(value, ((guard, frozenset({name}), True),)
                     if guard is not None and not name.isdigit() else ())
                    for name, value in entries if name not in left] or None
        chosen = [value for name, value in entries if name == key]
        return [(value, ()) for value in chosen[-1:]] or None

    def _subject_key(self, node: Node) -> str | None:
        """What a `Guard` calls the value `node` reads, when two reads of it read the same
        one: a name never written after it is bound (`_never_written`), or a property of
        such a name that the file never assigns, `++`s nor deletes (`result.data` of `const
        result = schema.safeParse(type)`: `TABLE_MAP[result.data]`); None otherwise. The
        extent of the scope binding the name is kept (`guard_scopes`): a function's own
        names say nothing of its caller's (`_returned`)."""
        node = _unwrap(node)
        prop: Node | None = None
        name = node
        if node.type == "member_expression":
            owner, prop = node.child_by_field_name("object"), node.child_by_field_name(
                "property")
            if owner is None or prop is None or prop.type != "property_identifier":
                return None
            name = _unwrap(owner)
        if name.type != "identifier":
            return None
        binding = self._binding_scope(name)
        if binding is None or len(binding[1]) != 1 or not self._never_written(name):
            return None
        if prop is not None and self._property_written(name, self.text(prop), binding[0]):
            return None
        scope = name
        while scope.parent is not None and scope.id != binding[0]:
            scope = scope.parent
        spelt = self.text(name) if prop is None else f"{self.text(name)}.{self.text(prop)}"
        key = f"{self.path}:{spelt}@{binding[0]}"
        self.guard_scopes[key] = (scope.start_byte, scope.end_byte)
        return key

    def _property_written(self, name: Node, prop: str, scope: int) -> bool:
        """Whether the file assigns, `++`s or deletes the property `prop` of the binding
        `name` reads (of the scope `scope`): `result.data = ...`, `result['data'] += 1`,
        `({ x: result.data } = other)`, `delete result.data`."""
        for ref in self.references.get(self.text(name), []):
            member = ref.parent
            if member is None or member.type not in ("member_expression",
                                                     "subscript_expression") or (
                    member.child_by_field_name("object") != ref):
                continue
            if member.type == "member_expression":
                field = member.child_by_field_name("property")
                named = field is not None and self.text(field) == prop
            else:
                index = member.child_by_field_name("index")
                named = index is None or _unwrap(index).type != "string" or (
                    self._string(_unwrap(index)).sql == prop)
            found = self._binding_scope(ref)
            if not named or found is None or found[0] != scope:
                continue
            node = member
            while node.parent is not None and node.parent.type in _PATTERNS:
                node = node.parent
            parent = node.parent
            if parent is None:
                continue
            if parent.type in ("augmented_assignment_expression", "update_expression") or (
                    parent.type in ("assignment_expression", "for_in_statement")
                    and parent.child_by_field_name("left") == node) or (
                    parent.type == "unary_expression" and self.text(parent).startswith(
                        "delete")):
                return True
        return False

    def _keys_left(self, key: Node) -> frozenset[str]:
        """The values of the name `key` the code shows it is not where the strings being read
        are read (`sites`), in the same function, `key` a `const` or a name the code never
        writes: those an `if (key === 'contact') { ...; return }` (or `key === 'a' || key ===
        'b'`, `==`, the literal on either side) with no `else`, whose body ends in a `return`
        or a `throw`, leaves for before the statement holding that read in a statement list
        around it; those an `if` around the read tests for when the read is in its `else`
        (`if (type === 'video') {...} else {...}`), or tests against when it is in its body
        (`if (type !== 'video' && ...)`). `X[key]` is then none of those entries there
        (ANTON.IA's `RESOURCE_TO_COLUMN[resource]`, whose `contact` entry the function
        returns before selecting; authority-engine's `tableMap[type]` in the `else` of `type
        === 'video'`, whose `video` entry is `media_assets`). Empty when there is no such
        `if`, or `key` may change."""
        if not self.sites:
            return frozenset()
        binding = self._binding_scope(key)
        if binding is None or len(binding[1]) != 1 or not self._never_written(key):
            return frozenset()
        left: set[str] = set()
        node = self.sites[-1]
        while node.parent is not None:
            parent = node.parent
            if parent.type in _STATEMENT_LISTS:
                for statement in parent.named_children:
                    if statement.end_byte > node.start_byte:
                        break
                    left |= self._exits_for(statement, key, binding[0])
            if parent.type == "if_statement":
                # in its body a test `!==` holds, in its `else` a test `===` fails
                alternative = parent.child_by_field_name("alternative")
                equal = None if node == parent.child_by_field_name("condition") else (
                    node != alternative)
                tested = self._tested_key(parent, key, binding[0])
                if equal is not None and tested is not None and tested[1] != equal:
                    left |= tested[0]
            if parent.type in _FUNCTIONS:
                break
            node = parent
        return frozenset(left)

    def _never_written(self, key: Node) -> bool:
        """Whether the binding the name `key` reads is a `const`, or one (a parameter, a
        destructured name, a `for (const x of ...)`) that no `=`, `+=`, `++`, destructuring
        assignment or `for ... in/of` of its scope writes."""
        declarator = self._declarator(key)
        if declarator is not None and _is_const(declarator):
            return True
        if declarator is not None and declarator.type == "variable_declarator":
            return False  # a `let` or `var`
        scope = self._binding_scope(key)
        if scope is None:
            return False
        for ref in self.references.get(self.text(key), []):
            found = self._binding_scope(ref)
            if found is None or found[0] != scope[0]:
                continue
            node = ref
            while node.parent is not None and node.parent.type in _PATTERNS:
                node = node.parent
            parent = node.parent
            if parent is None:
                continue
            if parent.type == "for_in_statement" and parent.id == scope[0] and (
                    _declared_kind(parent) in ("const", "let")):
                continue  # (its declaration: each turn binds it anew)
            if (parent.type in ("assignment_expression", "for_in_statement") and (
                    parent.child_by_field_name("left") == node)) or parent.type in (
                    "augmented_assignment_expression", "update_expression"):
                return False
        return True

    def _tested_key(self, statement: Node, key: Node, scope: int
                    ) -> tuple[frozenset[str], bool] | None:
        """Of an `if` testing the name `key` (of the binding `scope`) against strings
        (`_compared`): the strings, and whether it tests for them (`===`) or against them."""
        condition = statement.child_by_field_name("condition")
        compared = self._compared(condition) if condition is not None else None
        if compared is None:
            return None
        name, values, equal = compared
        found = self._binding_scope(name)
        if self.text(name) != self.text(key) or found is None or found[0] != scope:
            return None
        return values, equal

    def _exits_for(self, statement: Node, key: Node, scope: int) -> set[str]:
        """The strings `statement` leaves the function for, when it is `if (key === 's')
        ...` with no `else`, whose body always leaves it (`_leaves`; see `_keys_left`);
        empty otherwise."""
        if statement.type != "if_statement" or (
                statement.child_by_field_name("alternative") is not None):
            return set()
        if not _leaves(statement.child_by_field_name("consequence")):
            return set()
        tested = self._tested_key(statement, key, scope)
        return set(tested[0]) if tested is not None and tested[1] else set()

    def _enum_members(self, node: Node) -> list[Node] | None:
        """The initializers `Enum.Member`, `Enum['Member']` or `Enum[key]` (all of them) may
        read, when `Enum` is a TypeScript enum of the file and each of those members has
        one; None otherwise (a member without one is a number)."""
        if not self.enums:  # (most files declare none)
            return None
        obj = node.child_by_field_name("object")
        obj = _unwrap(obj) if obj is not None else None
        body = self._declared(obj, self.enums) if obj is not None and (
            obj.type == "identifier") else None
        if body is None:
            return None
        members: dict[str, Node | None] = {}
        for member in body.named_children:
            if member.type == "enum_assignment":
                name = member.child_by_field_name("name")
                if name is not None:
                    key = self._string(name).sql if name.type == "string" else self.text(name)
                    members[key] = member.child_by_field_name("value")
            elif member.type in ("property_identifier", "string"):
                members[self._string(member).sql if member.type == "string"
                        else self.text(member)] = None
        if node.type == "member_expression":
            prop = node.child_by_field_name("property")
            chosen = [members.get(self.text(prop))] if prop is not None else [None]
        else:
            index = node.child_by_field_name("index")
            index = _unwrap(index) if index is not None else None
            chosen = [members.get(self._string(index).sql)] if index is not None and (
                index.type == "string") else list(members.values())
        values = [value for value in chosen if value is not None]
        return values if values and len(values) == len(chosen) else None

    def _literal_of(self, node: Node, depth: int) -> Node | None:
        """The `const` object or array literal the object of a member or subscript expression
        reads, when the file assigns none of its entries; or the literal itself, subscripted
        where it is written (`{ blog_post: 'blog_posts' }[contentType]`)."""
        obj = node.child_by_field_name("object")
        obj = _unwrap(obj) if obj is not None else None
        if obj is None or depth > 4:
            return None
        if obj.type in ("object", "array") and node.type == "subscript_expression":
            # `{ blog_post: 'blog_posts', ... }[contentType]`: nothing else holds it
            return obj
        if obj.type in ("member_expression", "subscript_expression"):
            inner = self._entries(obj, depth + 1)
            literal = _unwrap(inner[0][0]) if inner is not None and len(inner) == 1 else None
            return literal if literal is not None and literal.type in ("object", "array") \
                else None
        if obj.type != "identifier":
            return None
        declarator = self._declarator(obj)
        if declarator is None or not _is_const(declarator):
            return None
        bound = declarator.child_by_field_name("value")
        literal = _unwrap(bound) if bound is not None else None
        if literal is None or literal.type not in ("object", "array"):
            return None
        written = self.entries_written.get(declarator.id)
        if written is None:
            written = any(_entry_written(ref) for ref in self._uses(obj, declarator))
            self.entries_written[declarator.id] = written
        return None if written else literal

    def _array_joined(self, call: Node, depth: int) -> SqlFragment | None:
        """`['id', 'title'].join(',')` (or `.join()`, a comma): the string it makes, when each
        item and the separator are one string of `_strings`."""
        joined = self._array_join(call)
        if joined is None:
            return None
        obj, prop, given = joined
        line, column = self.position(prop.start_byte)
        separator = SqlFragment(self.path, ",", ((0, line, column),), origin="js")
        if given:
            options = self._strings(given[0], depth + 1) if len(given) == 1 else None
            if options is None or len(options) != 1:
                return None
            separator = options[0]
        pieces: list[SqlFragment] = []
        for item in obj.named_children:
            if item.type == "comment":
                continue
            options = self._strings(item, depth + 1)
            if options is None or len(options) != 1:
                return None
            pieces += [separator, options[0]] if pieces else [options[0]]
        return _concat(self.path, pieces, separator)

    def _array_join(self, call: Node) -> tuple[Node, Node, list[Node]] | None:
        """Of a call `[...].join(...)` on an array literal: the array, the `join` property
        (where a default separator is placed) and the arguments given; None for another
        call."""
        function = call.child_by_field_name("function")
        function = _unwrap(function) if function is not None else None
        if function is None or function.type != "member_expression":
            return None
        prop, obj = function.child_by_field_name("property"), function.child_by_field_name(
            "object")
        obj = _unwrap(obj) if obj is not None else None
        arguments = call.child_by_field_name("arguments")
        if prop is None or self.text(prop) != "join" or obj is None or obj.type != "array" \
                or arguments is None:
            return None
        return obj, prop, [a for a in arguments.named_children if a.type != "comment"]

    def _joined_template(self, call: Node) -> Template | None:
        """`[`name.ilike.%${q}%`, `email.ilike.%${q}%`].join(',')`: the template it makes, its
        holes the items' `${...}`, when each item is a string or a template literal and the
        separator a string (`_strings`); sig-execut's and epic-hq/Insights' `.or()` filters
        so written were DBS304 notes, their columns never checked."""
        joined = self._array_join(call)
        if joined is None:
            return None
        obj, prop, given = joined
        line, column = self.position(prop.start_byte)
        separator = Template(",", ((0, line, column),))
        if given:
            options = self._strings(given[0]) if len(given) == 1 else None
            if options is None or len(options) != 1:
                return None
            separator = Template(options[0].sql, options[0].spans)
        parts: list[Template] = []
        for item in obj.named_children:
            if item.type == "comment":
                continue
            item = _unwrap(item)
            if item.type == "template_string":
                part = self._template(item)
            else:
                options = self._strings(item)
                if options is None or len(options) != 1:
                    return None
                part = Template(options[0].sql, options[0].spans)
            parts += [separator, part] if parts else [part]
        if not parts:
            return None
        text, spans, holes = "", [], []
        for part in parts:
            spans += [(offset + len(text), line, column) for offset, line, column in part.spans]
            holes += [replace(hole, offset=hole.offset + len(text)) for hole in part.holes]
            text += part.text
        return Template(text, tuple(spans), tuple(holes))

    def _key(self, key: Node) -> SqlFragment | None:
        if key.type in ("property_identifier", "number"):
            return self._plain(key)
        if key.type == "string":
            return self._string(key)
        return None  # computed_property_name

    def _plain(self, node: Node) -> SqlFragment:
        line, column = self.position(node.start_byte)
        return SqlFragment(self.path, self.text(node), ((0, line, column),), origin="js")

    def _string(self, node: Node) -> SqlFragment:
        """The value of a string or substitution-free template literal, mapped to the file."""
        template = self._template(node)
        return SqlFragment(self.path, template.text, template.spans, origin="js")

    def _template(self, node: Node, *, constants: bool = False) -> Template:
        """Decode a string/template literal; each `${...}` becomes a hole, but, with
        `constants` (a statement's), a constant of names in a template no tag takes
        (`_constant_names`)."""
        # A tag (`sql`...``, `sql<T>`...``, misread as a call or a comparison) takes a
        # `${...}` as a parameter; JavaScript writes one of an untagged template as text.
        interpolated = constants and node.type == "template_string" and \
            node.parent is not None and \
            node.parent.type not in ("call_expression", "binary_expression")
        # A SQL tag's: a `${...}` putting a fragment of the tag's there writes its text.
        tagged = constants and node.type == "template_string" and not interpolated and \
            self._sql_template(node)
        texts: list[str] = []
        spans: list[tuple[int, int, int]] = []
        holes: list[Hole] = []
        length = 0

        def piece(text: str, byte: int) -> None:
            nonlocal length
            line, column = self.position(byte)
            spans.append((length, line, column))
            for index, char in enumerate(text):
                if char == "\n":
                    spans.append((length + index + 1, line + 1, 1))
                    line += 1
            texts.append(text)
            length += len(text)

        for child in node.children:
            if child.type in ("string_fragment",):
                piece(self.text(child), child.start_byte)
            elif child.type == "escape_sequence":
                decoded = _unescape(self.text(child))
                if decoded:
                    piece(decoded, child.start_byte)
            elif child.type == "template_substitution":
                name = self._quoted_name(child, node) or self._drizzle_name(child, node)
                if name is None and interpolated:
                    name = self._constant_names(child)
                if name is not None:
                    piece(name, child.start_byte)
                    continue
                line, column = self.position(child.start_byte)
                spaced = bool(texts) and texts[-1][-1:].isspace()
                holes.append(Hole(length, line, column, self.text(child),
                                  clause=(interpolated and self._clause_or_nothing(
                                      child, spaced=spaced)) or (
                                      tagged and self._fragment_or_nothing(
                                          child, spaced=spaced)),
                                  written=self._written(child)))
        if not spans:
            line, column = self.position(node.start_byte + 1)
            spans.append((0, line, column))
        return Template("".join(texts), tuple(spans), tuple(holes))

    def _every_branch(self, node: Node, leaf: Callable[[Node, int], bool], *,
                      depth: int = 0) -> bool:
        """Whether `leaf` holds for every value a `${...}` may put in a template: through
        the substitution, both branches of `c ? a : b` and a `const` a name reads, at most
        four steps deep; `leaf` is handed each value reached and its depth."""
        node = _unwrap(node)
        if depth > 4:
            return False
        if node.type == "template_substitution":
            children = [c for c in node.named_children if c.type != "comment"]
            return len(children) == 1 and self._every_branch(children[0], leaf,
                                                             depth=depth + 1)
        if node.type == "ternary_expression":
            branches = [node.child_by_field_name(f) for f in ("consequence", "alternative")]
            return all(b is not None and self._every_branch(b, leaf, depth=depth + 1)
                       for b in branches)
        if node.type == "identifier":
            value = self._constant(node)
            return value is not None and self._every_branch(value, leaf, depth=depth + 1)
        return leaf(node, depth)

    def _clause_or_nothing(self, node: Node, *, spaced: bool, depth: int = 0) -> bool:
        """Whether every string a `${...}` of a template no tag takes may write is empty or
        starts with a clause ending a statement's FROM items (`WHERE`, `AND`, `ORDER BY`,
        ...; see `adds_a_clause`), after a blank unless the text before it ends with one
        (`spaced`): `''`, `'WHERE a = 1'`, `` `AND (${conds})` ``, either branch of `c ? a :
        b`, or a `const` bound to one. Outline's `const anchorFilter = where ? `AND
        (${where})` : ""` sent as `... WHERE "parentDocumentId" = :id ${anchorFilter}`, as
        Python's `{where}` bound to `""` or `"WHERE ..."` is read."""
        return self._every_branch(
            node, lambda leaf, _depth: self._clause_or_empty(leaf, spaced=spaced),
            depth=depth)

    def _clause_or_empty(self, node: Node, *, spaced: bool) -> bool:
        """Whether a string or template literal is empty or starts with a clause (see
        `_clause_or_nothing`)."""
        if node.type not in ("string", "template_string"):
            return False
        # The text up to the first `${...}`: a clause word must start it.
        lead = ""
        for child in node.children:
            if child.type == "template_substitution":
                break
            if child.type in ("string_fragment", "escape_sequence"):
                lead += self.text(child) if child.type == "string_fragment" else \
                    _unescape(self.text(child))
        whole = not any(c.type == "template_substitution" for c in node.children)
        return (whole and not lead.strip()) or adds_a_clause(" " + lead if spaced else lead)

    def _fragment_or_nothing(self, node: Node, *, spaced: bool) -> bool:
        """Whether every fragment a `${...}` of a SQL tag's template may put there is
        nothing or starts with a clause ending a statement's FROM items (see
        `_clause_or_nothing`): a template of a SQL tag, Prisma's `Prisma.empty`, a tag's
        `sql.empty()` (drizzle's), either branch of `c ? a : b`, or a `const` bound to one.
        Prisma, postgres.js, drizzle and slonik write a nested fragment's text there, its
        own holes parameters of the whole: unsend's `$queryRaw` ends its `WHERE` with
        `${input.domain ? Prisma.sql`AND "domainId" = ${input.domain}` : Prisma.sql``}`. A
        plain string is a parameter there, never text.

        >>> r = sql_in_javascript("const f = d ? Prisma.sql`AND b = ${d}` : Prisma.empty\\n"
        ...                       "await prisma.$queryRaw`SELECT a FROM t WHERE c = ${c} ${f}"
        ...                       " ORDER BY a`", "a.ts")
        >>> [(f.sql, f.dynamic) for f in r.fragments]
        [('SELECT a FROM t WHERE c = NULL  ORDER BY a', None)]
        """
        return self._every_branch(
            node, lambda leaf, depth: self._fragment_or_empty(leaf, spaced=spaced,
                                                              depth=depth))

    def _fragment_or_empty(self, node: Node, *, spaced: bool, depth: int) -> bool:
        """Whether an expression is a SQL tag's fragment starting with a clause or nothing,
        or an empty one (see `_fragment_or_nothing`)."""
        if node.type == "member_expression":
            return self.text(node) == "Prisma.empty"
        if node.type != "call_expression":
            return False
        function = node.child_by_field_name("function")
        arguments = node.child_by_field_name("arguments")
        if function is None or arguments is None:
            return False
        if arguments.type == "template_string":
            return self._sql_template(arguments) and self._clause_or_nothing(
                arguments, spaced=spaced, depth=depth + 1)
        function = _unwrap(function)
        tag = function.child_by_field_name("object") if (
            function.type == "member_expression") else None
        prop = function.child_by_field_name("property") if tag is not None else None
        return tag is not None and prop is not None and self.text(prop) == "empty" and \
            not arguments.named_children and self._is_tag(tag, _last_name(self, tag))

    def _written(self, substitution: Node) -> bool:
        """Whether a `${...}` calls a SQL tag's helper writing SQL text there, never a
        parameter: Kysely's `sql.ref('t.c')`, `sql.raw(x)`, `sql.table('t')`, `sql.id(...)`,
        drizzle's `sql.raw(x)` and `sql.identifier('t')`, slonik's `sql.identifier([...])`.
        Kysely's plugins (its `CamelCasePlugin`) rename what `sql.ref` names, so the text
        is not read: the statement is not validated."""
        if substitution.named_child_count != 1:
            return False
        call = _unwrap(substitution.named_children[0])
        function = call.child_by_field_name("function") if (
            call.type == "call_expression") else None
        function = _unwrap(function) if function is not None else None
        if function is None or function.type != "member_expression":
            return False
        helper, tag = function.child_by_field_name("property"), \
            function.child_by_field_name("object")
        return helper is not None and tag is not None and (
            self.text(helper) in _WRITTEN_HELPERS) and _last_name(self, tag) in SQL_TAGS

    def _constant_names(self, substitution: Node) -> str | None:
        """The text of `${TABLE}` in a template no tag takes, when `TABLE` reads a `const`
        bound once, in the scope it is read from, to a string of names (`names_only`:
        `'client_applications'`, `'id, name'`): JavaScript writes that text there, as an
        f-string field naming a module constant of names is read in Python. Unleash's
        stores send ``this.db.raw(`SELECT EXISTS(SELECT 1 FROM ${TABLE} WHERE id = ?)`)``
        with `const TABLE = 'users'`. Anything else (a member, a call, a `let`, a string of
        a clause) stays a hole."""
        if substitution.named_child_count != 1:
            return None
        identifier = substitution.named_children[0]
        if identifier.type == "member_expression":
            value = self._readonly_field(identifier)
        elif identifier.type == "identifier":
            value = self._constant(identifier)
        else:
            return None
        if value is None:  # (`${USERS_TABLE}` another module exports)
            imported = self._imported_constant(identifier)
            return imported if imported is not None and names_only(imported) else None
        if _unwrap(value).type != "string":
            return None
        text = self._template(_unwrap(value)).text
        return text if names_only(text) else None

    def _readonly_field(self, member: Node) -> Node | None:
        """The value of `this.NAME` where the class around it declares `private readonly
        NAME = ...` and its constructor, the one place TypeScript lets a `readonly` field be
        assigned, does not assign it (safe-client-gateway's TypeORM lock queries,
        ``connection.query(`SELECT "id", "status" FROM "${this.LOCK_TABLE_NAME}"`)`` with
        `private readonly LOCK_TABLE_NAME = '_lock'`; `private`: no subclass may declare it
        again); None for anything else."""
        owner, field = member.child_by_field_name("object"), member.child_by_field_name(
            "property")
        body = _class_of(owner) if owner is not None and owner.type == "this" else None
        if body is None or field is None:
            return None
        name, found = self.text(field), None
        for item in body.named_children:
            key = item.child_by_field_name("name")
            if key is None or self.text(key) != name:
                continue
            words = {c.type for c in item.children} | {
                self.text(c) for c in item.children if c.type == "accessibility_modifier"}
            if item.type != "public_field_definition" or found is not None or \
                    not {"private", "readonly"} <= words or "static" in words:
                return None
            found = item.child_by_field_name("value")
        if found is None:
            return None
        for item in body.named_children:
            key = item.child_by_field_name("name")
            if item.type == "method_definition" and key is not None and \
                    self.text(key) == "constructor" and any(
                        node.type == "assignment_expression"
                        and (left := node.child_by_field_name("left")) is not None
                        and _dotted(self.text(left)) == f"this.{name}"
                        for node in _walk(item)):
                return None
        return found

    def _postgres_js_tag(self, tag: str) -> bool:
        """Whether a template the tag `tag` (its text) takes is postgres.js's: the module
        loads postgres.js, or the project's packages depend on it and on no other client
        of a `sql` tag (`SqlNames.postgres_js`), and the tag is no name an import of a
        package binds, nor drizzle's or pgTyped's (dash's `query(async (sql, { id }) =>
        sql`DELETE FROM ${sql(TABLES.USERS)} ...`)`, its module importing only the
        project's `query`)."""
        if self.postgres_js:
            return True
        root = _dotted(tag).split(".")[0]
        return self.names.postgres_js and not self.engines and root not in (
            self.other_modules | self.drizzle_tags | self.pgtyped_tags)

    def _quoted_name(self, substitution: Node, template: Node) -> str | None:
        """The identifier postgres.js writes for `${sql('name')}` or `${sql(Class.NAME)}` in
        a template the same `sql` tags, `NAME` a `static readonly` string of a class of the
        file (safe-client-gateway's ``this.sql`CREATE TABLE ${this.sql(Migrator
        .MIGRATIONS_TABLE)} (...)` ``): `"name"`. postgres.js passes a name through the
        client's `transform.column.to` first (`postgres.camel` writes `migrationsTable` as
        `"migrations_table"`), so only a name each of its transforms leaves as it is (lower
        case letters, digits and `_`) is read; any other stays a hole. The template is
        postgres.js's (`_postgres_js_tag`)."""
        if not (self.postgres_js or self.names.postgres_js) or \
                substitution.named_child_count != 1:
            return None
        call = substitution.named_children[0]
        if call.type != "call_expression":
            return None
        function, arguments = call.child_by_field_name("function"), \
            call.child_by_field_name("arguments")
        # `this.sql<Row[]>`...``, else `this.sql`...``: a SQL tag
        tag = self._typed_tag(template) if self.typed and self._typed_sql_tag(template) \
            else None
        parent = template.parent
        if tag is None and parent is not None and parent.type == "call_expression":
            tag_function = parent.child_by_field_name("function")
            tag = self.text(tag_function) if tag_function is not None and self._is_tag(
                tag_function, _last_name(self, tag_function)) else None
        if function is None or tag is None or arguments is None or \
                arguments.type != "arguments" or _dotted(self.text(function)) != _dotted(tag) \
                or not self._postgres_js_tag(tag):
            return None
        args = [c for c in arguments.named_children if c.type != "comment"]
        literal = self._static_string(args[0]) if len(args) == 1 else None
        if literal is None and len(args) == 1:
            # `${sql(TABLES.USERS)}` of an enum another module exports
            name = self._imported_constant(args[0])
            return f'"{name}"' if name is not None and _TRANSFORM_FREE.fullmatch(name) else None
        if literal is None or literal.type != "string":
            return None
        name = "".join(self.text(c) for c in literal.named_children)
        if not _TRANSFORM_FREE.fullmatch(name) or \
                any(c.type != "string_fragment" for c in literal.named_children):
            return None
        return f'"{name}"'

    def _drizzle_name(self, substitution: Node, template: Node) -> str | None:
        """What drizzle-orm writes for `${orders}` or `${orders.userId}` in its `sql`
        template, `orders` a table of the project's drizzle schema files imported here
        (`SqlNames.drizzle`): `"orders"`, `"orders"."user_id"`, never a parameter
        (`dbsafe.extract.drizzle_schema`). A column declared without its name, any other
        member and a name bound again in between stay holes."""
        if not (self.drizzle_tables or self.drizzle_namespaces) or \
                substitution.named_child_count != 1 or not self._drizzle_tag(template):
            return None
        # `orders`, `orders.userId`, `schema.orders`, `schema.orders.userId`
        expression: Node | None = substitution.named_children[0]
        fields: list[str] = []
        while expression is not None and expression.type == "member_expression" and \
                len(fields) < 2:
            field = expression.child_by_field_name("property")
            if field is None or field.type != "property_identifier":
                return None
            fields.insert(0, self.text(field))
            expression = expression.child_by_field_name("object")
        if expression is None or expression.type != "identifier":
            return None
        table = self._declared(expression, self.drizzle_tables)
        if table is None and fields:
            namespace = self._declared(expression, self.drizzle_namespaces)
            table = namespace.get(fields.pop(0)) if namespace is not None else None
        if table is None or len(fields) > 1:
            return None
        return table.column(fields[0]) if fields else table.sql

    def _drizzle_tag(self, template: Node) -> bool:
        """Whether a template is drizzle-orm's `sql` tag's (`sql`...``, `sql<T>`...``, the
        `sql` imported from `drizzle-orm`)."""
        if not self.drizzle_tags:
            return False
        tag = self._typed_tag(template) if self.typed and self._typed_sql_tag(template) \
            else None
        parent = template.parent
        if tag is None and parent is not None and parent.type == "call_expression":
            function = parent.child_by_field_name("function")
            tag = self.text(function) if function is not None else None
        return tag in self.drizzle_tags

    def _drizzle_table(self, node: Node) -> DrizzleTable | None:
        """The table of the project's drizzle schema an expression names (`orders`,
        `schema.orders`), imported into the file."""
        node = _unwrap(node)
        if node.type == "identifier":
            return self._declared(node, self.drizzle_tables)
        owner = node.child_by_field_name("object") if node.type == "member_expression" \
            else None
        field = node.child_by_field_name("property") if owner is not None else None
        if owner is None or field is None or owner.type != "identifier":
            return None
        namespace = self._declared(owner, self.drizzle_namespaces)
        return namespace.get(self.text(field)) if namespace is not None else None

    def _drizzle_assigned(self, template: Node) -> _Assigned | None:
        """Whether drizzle's `sql` template is a value its update or insert builder writes
        into its statement, and where: `db.update(orders).set({ total: sql`(SELECT ...)` })`
        is sent as `update "orders" set "total" = (SELECT ...) ...`, and `db.insert(t).
        values({ n: sql`...` })` as `insert into "t" (..., "n") values (..., ...)`: an
        expression, never a statement of its own. None for any other template; else the
        statement, table (of the project's drizzle schema) and key it is the value of, the
        statement `""` where what the value may read is not known: the update joins more
        tables (`.from(...)`, a join), the chain starts at `db.with(cte)`, or the value sits
        deeper (an array in `.set({...})`); a value given to `onConflictDoUpdate({...})`
        is placed by `_drizzle_conflict`.

        A call of `set`/`values` is taken as drizzle's only for drizzle's `sql` (imported
        from `drizzle-orm`), given in the object (or, for `values`, an array of objects)
        the call takes: another library's `.set({...})` is never read so.
        """
        if not self._drizzle_tag(template):
            return None
        node = template.parent
        if node is None:
            return None
        while node.type == "binary_expression" and node.parent is not None and (
                node.parent.type == "binary_expression" and node.parent.children[-1] == node):
            node = node.parent  # `sql<T>`...`` misread as comparisons
        depth = 0
        keys: list[Node | None] = []  # of the pairs it is the value of, innermost first
        while node.parent is not None and (
                node.parent.type in _TYPE_WRAPPERS or node.parent.type in ("array", "object")
                or (node.parent.type == "pair"
                    and node.parent.child_by_field_name("value") == node)):
            depth += node.parent.type in ("array", "object")
            if node.parent.type == "pair":
                keys.append(node.parent.child_by_field_name("key"))
            node = node.parent
        given = self._method_given(node)
        if given is None:
            return None
        method, arguments = given
        key = keys[0] if keys else None
        unknown = _Assigned("")
        if method in ("onConflictDoUpdate", "onConflictDoNothing"):
            return self._drizzle_conflict(method, node, arguments, keys, depth)
        if method not in ("set", "values") or node.type not in ("object", "array"):
            return None
        if depth != 1 + (node.type == "array") or (method == "set" and node.type != "object"):
            return unknown
        call = arguments.parent
        callee = call.child_by_field_name("function") if call is not None else None
        receiver = _unwrap(callee).child_by_field_name("object") if callee is not None and (
            _unwrap(callee).type == "member_expression") else None
        receiver = _unwrap(receiver) if receiver is not None else None
        made = _method_call(receiver) if receiver is not None else None
        statement = "update" if method == "set" else "insert"
        if receiver is None or made is None or self.text(made[0]) != statement:
            return unknown
        # `db.with(cte).update(t)`: the value may read the CTE
        if _unwrap(made[1]).type not in ("identifier", "member_expression", "this"):
            return unknown
        # `.set({...}).from(other)`, a join: the value may read those tables
        node = call
        while statement == "update" and node is not None and node.parent is not None and (
                node.parent.type in _WRAPPERS or (
                    node.parent.type == "member_expression"
                    and node.parent.child_by_field_name("object") == node) or (
                    node.parent.type == "call_expression"
                    and node.parent.child_by_field_name("function") == node)):
            if node.parent.type == "member_expression":
                field = node.parent.child_by_field_name("property")
                if field is not None and self.text(field) in _DRIZZLE_MORE_TABLES:
                    return unknown
            node = node.parent
        args = receiver.child_by_field_name("arguments")
        first = [a for a in args.named_children if a.type != "comment"] if (
            args is not None) else []
        table = self._drizzle_table(first[0]) if len(first) == 1 else None
        key_name = self._key_name(key)
        name = table.column_name(key_name) if table is not None and key_name is not None \
            else None
        if table is None or name is None:
            return _Assigned(statement)
        return _Assigned(statement, table.sql, first[0], name, key)

    def _key_name(self, key: Node | None) -> str | None:
        """The name a literal key says (`total`, `'total'`), None for a computed one."""
        if key is None or key.type not in ("property_identifier", "string"):
            return None
        return self.text(key).strip("'\"")

    def _drizzle_conflict(self, method: str, config: Node, arguments: Node,
                          keys: list[Node | None], depth: int) -> _Assigned:
        """Where drizzle's `sql` given to `.onConflictDoUpdate({...})` or
        `.onConflictDoNothing({...})` of its insert goes: drizzle-orm 0.45 sends `insert into
        "t" (...) values (...) on conflict ("a","b") where <targetWhere> do update set "c" =
        <set's value> where <where or setWhere>` (`do nothing`'s `where` is the target's),
        the target's columns named by the columns `target` gives. Unknown (`""`) where the
        insert, its table, the target's columns or the key's column are not known."""
        unknown = _Assigned("")
        names = [self._key_name(k) for k in keys]
        if config.type != "object" or depth != len(keys) or not names:
            return unknown
        if method == "onConflictDoUpdate" and names[1:] == ["set"]:
            statement = "conflict set"
        elif names == ["targetWhere"] or (names == ["where"] and method == "onConflictDoNothing"):
            statement = "conflict target where"
        elif names in (["where"], ["setWhere"]):
            statement = "conflict update where"
        else:
            return unknown
        insert = self._drizzle_insert(arguments.parent)
        args = insert.child_by_field_name("arguments") if insert is not None else None
        first = [a for a in args.named_children if a.type != "comment"] if (
            args is not None) else []
        table = self._drizzle_table(first[0]) if len(first) == 1 else None
        target = next((p.child_by_field_name("value") for p in config.named_children
                       if p.type == "pair" and self._key_name(
                           p.child_by_field_name("key")) == "target"), None)
        if table is None or target is None:
            return unknown
        target = _unwrap(target)
        conflict: list[str] = []
        for column in target.named_children if target.type == "array" else [target]:
            column = _unwrap(column)
            owner = column.child_by_field_name("object") if (
                column.type == "member_expression") else None
            field = column.child_by_field_name("property") if owner is not None else None
            name = table.column_name(self.text(field)) if owner is not None and (
                field is not None and self._drizzle_table(owner) == table) else None
            if name is None:
                return unknown
            conflict.append(name)
        column_name = table.column_name(names[0] or "") if statement == "conflict set" \
            else ""
        if not conflict or column_name is None:
            return unknown
        return _Assigned(statement, table.sql, first[0], column_name,
                         keys[0] if column_name else None, tuple(conflict))

    def _drizzle_insert(self, call: Node | None) -> Node | None:
        """The `db.insert(t)` call a chain of drizzle's insert starts with, from the call of
        a method after it (`db.insert(t).values({...}).onConflictDoUpdate(...)`); None for
        any other chain, and one made after `db.with(cte)` (its values may read the CTE)."""
        made = _method_call(call) if call is not None else None
        receiver = _unwrap(made[1]) if made is not None else None
        while receiver is not None and receiver.type == "call_expression":
            inner = _method_call(receiver)
            if inner is None:
                return None
            if self.text(inner[0]) == "insert":
                return receiver if _unwrap(inner[1]).type in (
                    "identifier", "member_expression", "this") else None
            if self.text(inner[0]) not in ("values", "overridingSystemValue"):
                return None
            receiver = _unwrap(inner[1])
        return None

    def _drizzle_value(self, template: Node, assigned: _Assigned) -> SqlFragment | None:
        """A value drizzle's update or insert builder writes (`_drizzle_assigned`), checked
        in the statement drizzle sends it in: `UPDATE "orders" SET "total" = <value>` (where
        the value reads the table's columns), `INSERT INTO "t" ("n") VALUES (<value>)`, or,
        for an insert whose table or column is not known, `VALUES (<value>)` (a VALUES list
        reads no table). None where it is not known (an update's table or column among
        them), for `default`, and for a value a test expects to fail.

        >>> r = sql_in_javascript("import { sql } from 'drizzle-orm';\\n"
        ...                       "db.insert(t).values({ n: sql`(SELECT max(n) FROM t) + 1` })",
        ...                       "a.ts")
        >>> [f.sql for f in r.fragments]
        ['VALUES ((SELECT max(n) FROM t) + 1)']
        """
        self.taken.add(template.start_byte)
        if not assigned.statement or self._expected_to_fail(template):
            return None
        body = self._template(template, constants=True)
        if not body.text.strip() or (body.text.strip().lower() == "default"
                                     and not body.holes):
            return None
        start = body.spans[0][1:] if body.spans else self.position(template.start_byte + 1)
        end = self.position(max(template.end_byte - 1, template.start_byte))
        table = self.position(assigned.table_node.start_byte) if (
            assigned.table_node is not None) else start
        key = self.position(assigned.key_node.start_byte) if (
            assigned.key_node is not None) else start
        target = ", ".join(assigned.conflict)
        first = assigned.conflict[0] if assigned.conflict else ""
        after = ")" if assigned.statement == "insert" else ""
        if assigned.statement == "update" and assigned.column:
            before = [("UPDATE ", start), (assigned.table, table), (" SET ", start),
                      (assigned.column, key), (" = ", start)]
        elif assigned.statement == "update":
            return None
        elif assigned.statement == "conflict set":
            before = [("INSERT INTO ", start), (assigned.table, table), (" (", start),
                      (assigned.column, key),
                      (f") VALUES (DEFAULT) ON CONFLICT ({target}) DO UPDATE SET ", start),
                      (assigned.column, key), (" = ", start)]
        elif assigned.statement.startswith("conflict"):
            # the conflict's index predicate, or the condition of its update
            where = "WHERE " if assigned.statement == "conflict target where" else (
                f"DO UPDATE SET {first} = excluded.{first} WHERE ")
            before = [("INSERT INTO ", start), (assigned.table, table),
                      (f" ({first}) VALUES (DEFAULT) ON CONFLICT ({target}) {where}", start)]
            after = " DO NOTHING" if assigned.statement == "conflict target where" else ""
        elif assigned.column:
            before = [("INSERT INTO ", start), (assigned.table, table), (" (", start),
                      (assigned.column, key), (") VALUES (", start)]
        else:
            before = [("VALUES (", start)]
        text, spans = "", []
        for piece, (line, column) in before:
            spans.append((len(text), line, column))
            text += piece
        shift = len(text)
        spans += [(o + shift, line, column) for o, line, column in body.spans]
        text += body.text
        spans.append((len(text), *end))
        text += after
        holes = tuple(replace(h, offset=h.offset + shift) for h in body.holes)
        reason, sql, filled, built, values = fill_holes(Template(text, tuple(spans), holes,
                                                                 body.problem))
        return SqlFragment(self.path, sql, filled, origin="js", dynamic=reason,
                           built_strings=built, value_holes=values)

    def _static_string(self, node: Node) -> Node | None:
        """A string literal, or the one a `static readonly` field of a class declared in the
        file holds when `node` is `Class.FIELD`."""
        node = _unwrap(node)
        if node.type == "string":
            return node
        if node.type != "member_expression":
            return None
        owner, field = node.child_by_field_name("object"), node.child_by_field_name("property")
        if owner is None or field is None or owner.type != "identifier":
            return None
        body = self._class_bound(owner)
        if body is None:
            return None
        for member in body.named_children:
            if member.type != "public_field_definition":
                continue
            name, value = member.child_by_field_name("name"), member.child_by_field_name("value")
            words = {c.type for c in member.children}
            if name is not None and value is not None and self.text(name) == self.text(field) \
                    and {"static", "readonly"} <= words:
                value = _unwrap(value)
                return value if value.type == "string" else None
        return None

    # -- SQL ---------------------------------------------------------------------------

    def _sql(self, call: Node) -> SqlFragment | None:
        function = call.child_by_field_name("function")
        arguments = call.child_by_field_name("arguments")
        if function is None or arguments is None:
            return None
        name = _last_name(self, function)
        if arguments.type == "template_string":
            if not self._is_tag(function, name):
                return None
            assigned = self._drizzle_assigned(arguments)
            if assigned is not None:
                return self._drizzle_value(arguments, assigned)
            if self._tag_piece(arguments):
                return None
            literal = arguments
        else:
            position = 0
            if name not in SQL_CALLS and not self._named(function, name, self.names.calls):
                wrapped = self._wrapper_position(call)
                if wrapped is None:
                    return None
                position = wrapped
                certain = True
            else:
                # Prisma's `$queryRawUnsafe`/`$executeRawUnsafe` (no other client has a
                # `$` method of the name) send their text as its `$queryRaw` tag does
                certain = name in SQL_CALLS and (
                    name in _PRISMA_UNSAFE_CALLS or self._on_postgres_client(function))
            args = [c for c in arguments.named_children if c.type != "comment"]
            if len(args) <= position or any(
                    a.type == "spread_element" for a in args[:position + 1]):
                return None
            # (a knex `raw` only: another call handed to a method of those names, `Array.
            # from(pool.query(...))`, is sent by itself)
            if name == "raw" and (self._cte_body(call) or self._builder_piece(call)):
                return None
            text = self._bound_literal(args[position])
            if text is not None and text.type == "object" and name != "raw":
                text = self._query_text(text)
            if text is None or text.type not in ("string", "template_string"):
                return None
            return self._statement(text, call, formatted=True, certain=certain,
                                   bindings=tuple(args[1:2]) if name == "raw" else None)
        return self._statement(literal, call, pgtyped=function.type == "identifier" and (
            self.text(function) in self.pgtyped_tags))

    def _bound_literal(self, node: Node) -> Node | None:
        """`node` unwrapped, or the initializer of the `const` it names."""
        literal = _unwrap(node)
        if literal.type in ("identifier", "shorthand_property_identifier"):
            bound = self._constant(literal)
            return _unwrap(bound) if bound is not None else None
        return literal

    def _query_text(self, config: Node) -> Node | None:
        """The `text` of node-postgres's query config (`pool.query({ text: 'SELECT ...',
        values: [id] })`, a prepared statement's `{ name, text }`, `new Query({ text })`),
        pg-promise's too; None without one, or with a spread that may replace it."""
        children = [c for c in config.named_children if c.type != "comment"]
        if any(c.type == "spread_element" for c in children):
            return None
        for child in children:
            if child.type == "shorthand_property_identifier" and self.text(child) == "text":
                return self._bound_literal(child)
            value = child.child_by_field_name("value") if child.type == "pair" else None
            if value is not None and self._key_name(child.child_by_field_name("key")) == "text":
                return self._bound_literal(value)
        return None

    def _pg_query(self, new: Node) -> SqlFragment | None:
        """The statement of node-postgres's `new Query({ text: 'SELECT ...' })` (`pg.Query`),
        in a module loading a PostgreSQL driver."""
        constructor = new.child_by_field_name("constructor")
        arguments = new.child_by_field_name("arguments")
        if not self.postgres or constructor is None or arguments is None or \
                _last_name(self, constructor) != "Query":
            return None
        args = [c for c in arguments.named_children if c.type != "comment"]
        config = self._bound_literal(args[0]) if args else None
        literal = self._query_text(config) if config is not None and (
            config.type == "object") else None
        if literal is None or literal.type not in ("string", "template_string"):
            return None
        return self._statement(literal, new, formatted=True)

    def _cte_body(self, call: Node) -> bool:
        """Whether `call` is the body of a knex common table expression: an argument after
        the name of `.with('name', ...)` (`_CTE_METHODS`), a piece of the builder's query.

        >>> r = sql_in_javascript("q.with('r', db.raw('select a from t'))"
        ...                       ".with('f', db.raw('select a from r')).select('*').from('f')",
        ...                       "a.ts")
        >>> r.fragments
        ()
        """
        node = call
        node = _typed_as(node)
        given = self._method_given(node)
        if given is None or given[0] not in _CTE_METHODS:
            return False
        args = [c for c in given[1].named_children if c.type != "comment"]
        return len(args) >= 2 and args[0] != node and _unwrap(args[0]).type == "string"

    def _builder_piece(self, call: Node) -> bool:
        """Whether `call` is a piece of a knex builder's statement: an argument of one of its
        methods (`_PIECE_METHODS`), alone, in an array or as an object's value
        (`.select(['id', db.raw('...')])`, `.update({ n: db.raw('n + 1') })`).

        >>> r = sql_in_javascript("db('environments').select('*', db.raw('(SELECT COUNT(*) "
        ...                       "FROM api_tokens WHERE api_tokens.env = environments.name) "
        ...                       "as n')).orderBy(db.raw('(SELECT 1) DESC'))", "a.ts")
        >>> r.fragments
        ()
        """
        node = call
        while node.parent is not None and (
                node.parent.type in _TYPE_WRAPPERS or node.parent.type in ("array", "object")
                or (node.parent.type == "pair"
                    and node.parent.child_by_field_name("value") == node)):
            node = node.parent
        given = self._method_given(node)
        return given is not None and given[0] in _PIECE_METHODS

    def _tag_piece(self, template: Node) -> bool:
        """Whether a SQL tag's template is a piece of a query builder's statement: given to
        one of its methods (`_PIECE_METHODS`) as `_builder_piece` reads a knex raw, also
        aliased (`sql`...`.as('n')`, Kysely's and drizzle's). Kysely's `sql` and drizzle's
        make an expression, not a query, and a builder puts it into the one statement it
        compiles: Docmost's `.where('pagePermissions.pageAccessId', '=', sql<string>`(SELECT
        pa.id FROM ancestors ...)`)` reads the CTE its chain's `.withRecursive('ancestors',
        ...)` defines (Kysely sends the whole, which PostgreSQL prepares; the subquery alone
        is 42P01).

        >>> r = sql_in_javascript("db.selectFrom('pages').select([sql`(SELECT count(*) FROM "
        ...                       "c WHERE c.page_id = pages.id)`.as('n')]).where('id', '=', "
        ...                       "sql<string>`(SELECT page_id FROM recent)`)", "a.ts")
        >>> r.fragments
        ()
        """
        node = template.parent
        if node is None:
            return False
        # `sql<T>`...`` misread as comparisons: the template ends the outermost of them
        while node.type == "binary_expression" and node.parent is not None and (
                node.parent.type == "binary_expression" and node.parent.children[-1] == node):
            node = node.parent
        # `sql`...`.as('n')`
        while node.parent is not None and node.parent.type == "member_expression" and (
                node.parent.child_by_field_name("object") == node) and \
                node.parent.parent is not None and \
                node.parent.parent.type == "call_expression":
            prop = node.parent.child_by_field_name("property")
            if prop is None or self.text(prop) != "as":
                break
            node = node.parent.parent
        return self._builder_piece(self._returned_by(node) or node)

    def _returned_by(self, node: Node) -> Node | None:
        """The callback returning `node`, alone or in an array (`(eb) => sql`...``,
        `(eb) => [sql`...`.as('n')]`, `() => { return sql`...` }`): Kysely's builder
        methods take one (`.select((eb) => [...])`, `.where((eb) => ...)`) and put what it
        returns into their statement. None where `node` is not what a function returns."""
        while node.parent is not None and (node.parent.type in _TYPE_WRAPPERS
                                           or node.parent.type == "array"):
            node = node.parent
        parent = node.parent
        if parent is not None and parent.type == "arrow_function" and \
                parent.child_by_field_name("body") == node:
            return parent
        if parent is None or parent.type != "return_statement":
            return None
        function = _function_of(parent)
        return function if function is not None and function.type in (
            "arrow_function", "function_expression", "function") else None

    def _method_given(self, node: Node) -> tuple[str, Node] | None:
        """The name of the method whose call's arguments `node` is one of (`x.select(node)`),
        and those arguments; None where `node` is no argument of a method's call."""
        arguments = node.parent
        if arguments is None or arguments.type != "arguments" or arguments.parent is None:
            return None
        outer = arguments.parent.child_by_field_name("function")
        outer = _unwrap(outer) if outer is not None else None
        if outer is None or outer.type != "member_expression":
            return None
        method = outer.child_by_field_name("property")
        return (self.text(method), arguments) if method is not None else None

    def _is_tag(self, function: Node, name: str | None) -> bool:
        """Whether a tag expression makes its template SQL: `sql`, `Prisma.sql`,
        `db.$queryRaw`, the configured tags, and slonik's `sql.unsafe`, `sql.type(S)` and
        `sql.typeAlias('x')`."""
        if name in SQL_TAGS or self._named(function, name, self.names.tags):
            return True
        function = _unwrap(function)
        if function.type == "call_expression":  # `sql.type(Schema)`...``
            callee = function.child_by_field_name("function")
            factory = _unwrap(callee) if callee is not None else None
            if factory is None or factory.type != "member_expression" or (
                    _last_name(self, factory) not in _TAG_FACTORIES):
                return False
            function = factory
        elif function.type == "identifier":
            return self._transaction_client(function) or self._postgres_client(function)
        elif function.type == "member_expression" and self.postgres_js_makers and (
                self._member_key(function) is not None):
            # `globalForDb.db`...`` of `globalForDb.db ??= postgres(url)`, `this.db`...``
            return self._postgres_js_value(function, frozenset())
        elif name not in _TAG_MEMBERS or function.type != "member_expression":
            return False
        tag = function.child_by_field_name("object")
        return tag is not None and self._is_tag(tag, _last_name(self, tag))

    def _transaction_client(self, identifier: Node) -> bool:
        """Whether an identifier reads the first parameter of a callback given to a SQL tag's
        `begin` or `savepoint` (`_TRANSACTION_METHODS`): postgres.js hands it a client of the
        same kind, `sql.begin(async (tx) => { await tx`SELECT ...` })`.

        >>> r = sql_in_javascript("sql.begin('read write', async (tx) => tx.savepoint("
        ...                       "(sp) => sp`SELECT a FROM t`))", "a.js")
        >>> [f.sql for f in r.fragments]
        ['SELECT a FROM t']
        """
        scope = self._binding_scope(identifier)
        if scope is None or len(scope[1]) != 1:
            return False
        function = identifier.parent
        while function is not None and function.id != scope[0]:
            function = function.parent
        if function is None or function.type not in ("arrow_function", "function_expression"):
            return False
        parameters = function.child_by_field_name("parameters")
        first = function.child_by_field_name("parameter") if parameters is None else next(
            (c for c in parameters.named_children if c.type != "comment"), None)
        if first is not None and first.type in ("required_parameter", "optional_parameter"):
            first = first.child_by_field_name("pattern")
        if first is None or first.type != "identifier" or \
                self.text(first) != self.text(identifier):
            return False
        misread = function.parent  # `(tx) => tx<T>`...``: the arrow read as the tag
        if misread is not None and misread.type == "call_expression" and (
                misread.child_by_field_name("function") == function):
            function = misread
        given = self._method_given(function)
        if given is None or given[0] not in _TRANSACTION_METHODS:
            return False
        method = given[1].parent.child_by_field_name("function") if (
            given[1].parent is not None) else None
        tag = _unwrap(method).child_by_field_name("object") if method is not None else None
        return tag is not None and self._is_tag(tag, _last_name(self, tag))

    def _marked_sql(self, literal: Node) -> SqlFragment | None:
        """The statement of a string or template right after a comment naming its language
        SQL (`_SQL_MARK`): postgres-meta's `export const VERSION_SQL = () => /* SQL */
        `SELECT ...``. A tag's template, or the text a SQL call is given, is left to that
        tag or call (`_sql`: a knex `raw` given to a builder is a piece of its statement).

        >>> r = sql_in_javascript("const q = () => /* SQL */ `select a from t`", "a.ts")
        >>> [f.sql for f in r.fragments]
        ['select a from t']
        """
        mark = literal.prev_sibling
        if mark is None or mark.type != "comment" or not _SQL_MARK.match(self.text(mark)) or \
                literal.start_byte in self.taken:
            return None
        parent = literal.parent
        if parent is not None and parent.type == "call_expression":
            return None  # `sql /* sql */ `...``
        if parent is not None and parent.type == "arguments" and parent.parent is not None:
            function = parent.parent.child_by_field_name("function")
            name = _last_name(self, function) if function is not None else None
            if function is not None and (name in SQL_CALLS or self._named(
                    function, name, self.names.calls)):
                return None
        return self._statement(literal, literal, tagged=True)

    def _typed_sql(self, template: Node) -> SqlFragment | None:
        """A tagged template with type arguments (`sql<Row[]>`...``), see `_typed_tag`."""
        if not self._typed_sql_tag(template):
            return None
        assigned = self._drizzle_assigned(template)
        if assigned is not None:
            return self._drizzle_value(template, assigned)
        if self._tag_piece(template):
            return None
        return self._statement(template, template,
                               pgtyped=self._typed_tag(template) in self.pgtyped_tags)

    def _typed_sql_tag(self, template: Node) -> bool:
        """Whether a template is written after a SQL tag with type arguments, or a
        transaction's client with them (`await tx<Row[]>`SELECT ...``)."""
        found = self._typed_tag_at(template)
        if found is None:
            return False
        top, start, tag = found
        dotted = "".join(tag.split()).replace("?.", ".")
        last = dotted.rsplit(".", 1)[-1]
        if last in SQL_TAGS or self._configured(last, dotted, self.names.tags):
            return True
        name = top.descendant_for_byte_range(start, start + len(tag.encode()))
        return name is not None and name.type == "identifier" and (
            self._transaction_client(name) or self._postgres_client(name))

    def _typed_tag(self, template: Node) -> str | None:
        found = self._typed_tag_at(template)
        return found[2] if found is not None else None

    def _typed_tag_at(self, template: Node) -> tuple[Node, int, str] | None:
        """The tag of a template written `tag<T>`...`` (`sql<{ id: string }[]>`...``,
        `await prisma.$queryRaw<Row[]>`...``, `tx.$queryRaw<Array<{ d: Date }>>`...``).

        TypeScript allows type arguments on a tagged template, but tree-sitter's grammar
        does not: it reads them as a call of `tag<T>!` with a missing `!`, as comparisons
        (`tag < Array < {...} > > `...``), or, right after `return`, as an ERROR node holding
        `tag<T>` beside the template (`return tx<Row[]>`...``). So where the template is
        such a misread (the arguments of a call on an instantiation, the right operand of a
        `>`, or the template after such an ERROR node), the text
        right before it is taken as TypeScript writes it: the type arguments, their `<...>`
        balanced (`=>` inside them is no bracket), after the tag's dotted name. With the
        node holding the misread and the byte where the tag starts.
        """
        parent = template.parent
        if parent is None or template.prev_named_sibling is None:
            return None
        if parent.type == "call_expression":
            function = parent.child_by_field_name("function")
            while function is not None and function.type in _WRAPPERS:
                function = _operand(function)
            if function is None or not _ends_in_instantiation(function):
                return None
        elif _after_instantiation_error(template):
            parent = template.prev_named_sibling
        elif parent.type != "binary_expression":
            return None
        top = parent
        while top.parent is not None and top.parent.type in (
                "binary_expression", "await_expression", "call_expression"):
            top = top.parent
        data, index, depth = self.data, template.start_byte - 1, 0
        while index >= top.start_byte and data[index] in b" \t\r\n":
            index -= 1
        if index < top.start_byte or data[index] != ord(">"):
            return None
        while index >= top.start_byte:
            char = data[index]
            if char == ord(">") and not (index > 0 and data[index - 1] == ord("=")):
                depth += 1
            elif char == ord(">"):
                index -= 1  # `=>`
            elif char == ord("<"):
                depth -= 1
                if depth == 0:
                    break
            elif char == ord("`"):
                return None
            index -= 1
        else:
            return None
        before = data[top.start_byte:index].decode("utf-8", "replace")
        match = _TAG_BEFORE_TYPES.search(before)
        if match is None:
            return None
        start = top.start_byte + len(before[:match.start()].encode("utf-8", "replace"))
        return top, start, match.group(0).strip()

    def _statement(self, literal: Node, site: Node, *, formatted: bool = False,
                   bindings: tuple[Node, ...] | None = None,
                   tagged: bool = False, pgtyped: bool = False,
                   certain: bool = False) -> SqlFragment | None:
        """The statement a SQL string or template holds, if it reads as one (a template
        a SQL tag marks is SQL: only whether it is a whole statement is asked). `formatted`:
        a call's argument, whose pg-promise variables are holes (`_PGP_VARIABLE`);
        `bindings`: a `raw` call's arguments after its text, whose `??` are identifiers
        (`_knex_identifiers`); `tagged`: a comment marks it SQL (`_marked_sql`); `pgtyped`:
        a template of pgtyped's tag, whose parameters are values (`_pgtyped_parameters`);
        `certain`: the call certainly sends it to PostgreSQL (`_on_postgres_client`, a
        wrapper of the project), so a statement is read whatever the case of its keywords
        when PostgreSQL's parser reads it (`reads_as_sent_statement`)."""
        self.taken.add(literal.start_byte)
        if literal.type == "template_string" and (
                self._in_sql_hole(literal) or self._composed_by_callee(literal)
                or self._returned_into_hole(literal)):
            return None
        template = self._template(literal, constants=True)
        if pgtyped:
            template = _pgtyped_parameters(template)
        if bindings:
            named = self._knex_keys(bindings[0])
            template = self._knex_identifiers(template, bindings[0]) if named is None else (
                self._knex_named(template, *named))
        if template.holes and not template.problem and _holds_ddl(template):
            self.ddl_with_holes.append(template)
        tagged = tagged or (literal.type == "template_string" and literal.parent is not None
                            and literal.parent.type == "call_expression")
        if not looks_like_statement(template.text, holes=len(template.holes),
                                    tagged=tagged) and not _changes_schema(template) and not (
                certain and reads_as_sent_statement(template.text, fill_holes(
                    _variables_as_holes(template) if formatted else template)[1])):
            return None
        if self._expected_to_fail(site):
            return None
        if formatted:
            template = _variables_as_holes(template)
        reason, sql, spans, built, values = fill_holes(template)
        return SqlFragment(self.path, sql, spans, origin="js", dynamic=reason,
                           built_strings=built, value_holes=values)

    def _knex_identifiers(self, template: Template, bindings: Node) -> Template:
        """The template of a `raw` call's text with each knex `??` the identifier knex's pg
        client writes for the binding it takes (`_knex_written`): `db.raw('SELECT ?? FROM
        ??', ['name', 'users'])` is sent as `SELECT "name" FROM "users"`. A `??` whose
        binding is not seen (a variable, a call, a spread before it, a `${...}` before it,
        which may hold a `?`), or is a name a client's `wrapIdentifier` may rename, is a
        hole of text knex writes: the statement is not validated. Named bindings (an
        object) leave `??` as written, as knex does; so does a raw without bindings.

        >>> r = sql_in_javascript("db.raw('SELECT ?? FROM ?? WHERE id = ?', "
        ...                       "[['a', 'u.b'], 'users as u', 1]); "
        ...                       "db.raw('SELECT ?? FROM t', [c])", "a.ts")
        >>> [(f.sql, f.dynamic) for f in r.fragments]  # doctest: +NORMALIZE_WHITESPACE
        [('SELECT "a", "u"."b" FROM "users" as "u" WHERE id = ?', None),
         ('SELECT NULL FROM t', '`?? (c)` is not in a value position (after SELECT)')]
        """
        matches = [m for m in _KNEX_BINDING.finditer(template.text) if m.group() != "\\?"]
        bindings = _unwrap(bindings)
        if bindings.type == "object" or not any(m.group() == "??" for m in matches):
            return template
        nodes: list[Node | None] | None = None
        if bindings.type == "array":
            items = [c for c in bindings.named_children if c.type != "comment"]
            spread = next((i for i, c in enumerate(items) if c.type == "spread_element"),
                          len(items))
            nodes = [*items[:spread], *[None] * (len(matches) - spread)]
            if spread == len(items) and not template.holes and len(items) != len(matches):
                nodes = None  # knex throws "Expected n bindings, saw m": nothing is sent
        elif bindings.type in ("string", "template_string"):
            nodes = [bindings]  # knex takes a single binding as an array of it
        first_hole = min((hole.offset for hole in template.holes),
                         default=len(template.text))
        edits: list[tuple[int, int, str | None, str]] = []
        for index, match in enumerate(matches):
            if match.group() != "??":
                continue
            if any(match.start() < hole.offset < match.end() for hole in template.holes):
                continue  # `?${x}?`: no `??`
            node = nodes[index] if nodes is not None and index < len(nodes) else None
            # after a `${...}`, which may hold a `?`, which binding a `??` takes is not seen
            text = _knex_written(self._knex_value(node)) if node is not None and (
                match.end() <= first_hole) and not self.names.knex_renames else None
            label = f"?? ({self.text(node)})" if node is not None else "??"
            edits.append((match.start(), match.end(), text, label))
        return _edited(template, edits, written=True, why=self._knex_renaming())

    def _knex_renaming(self) -> str:
        """Why no knex identifier binding is known: the project's client renames them."""
        renames = self.names.knex_renames
        return f"knex's client renames identifiers ({renames})" if renames else ""

    def _knex_keys(self, bindings: Node) -> tuple[dict[str, Node | None], bool] | None:
        """The named bindings of a `raw` call (an object literal, or a `const` bound to one):
        each key's value (None where a spread after it may replace it, or a method), and
        whether every key is seen (no spread, no computed key). None for anything else."""
        bindings = _unwrap(bindings)
        if bindings.type == "identifier":
            bound = self._constant(bindings)
            bindings = _unwrap(bound) if bound is not None else bindings
        if bindings.type != "object":
            return None
        values: dict[str, Node | None] = {}
        complete = True
        for item in bindings.named_children:
            key = item.child_by_field_name("key") if item.type == "pair" else None
            if item.type == "shorthand_property_identifier":
                values[self.text(item)] = item
            elif key is not None and key.type in ("property_identifier", "number"):
                values[self.text(key)] = item.child_by_field_name("value")
            elif key is not None and key.type == "string":
                values[self._template(key).text] = item.child_by_field_name("value")
            elif item.type == "method_definition" and (
                    name := item.child_by_field_name("name")) is not None:
                values[self.text(name)] = None
            elif item.type != "comment":  # a spread, a computed key: any key may come
                values = dict.fromkeys(values)
                complete = False
        return values, complete

    def _knex_named(self, template: Template, values: dict[str, Node | None],
                    complete: bool) -> Template:
        """The template of a `raw` call's text with knex's named bindings (`_KNEX_NAMED`)
        as knex 3 writes them: `db.raw('SELECT :col: FROM :table: WHERE id = :id', { col:
        'name', table: 'users', id })` is sent as `SELECT "name" FROM "users" WHERE id =
        $1`. A `:name:` bound to a string of lower-case names is the identifier knex writes
        (`_knex_written`), bound to anything else, or to a key that may be there (after a
        spread), a hole of text knex writes; a `:name` bound to a `raw(...)` is SQL knex
        writes there too, else a parameter (left as written, which is read as one). A key
        the bindings certainly lack is left as written, as knex does: PostgreSQL's parser
        rejects `:col:`, so the statement is unparsable, never a finding.

        >>> r = sql_in_javascript("const T = 'users'; db.raw('SELECT :c: FROM :t: WHERE "
        ...                       "id = :id::int', { c: ['id', 'name'], t: T, id }); "
        ...                       "db.raw('SELECT :c: FROM t', { c: col })", "a.ts")
        >>> [(f.sql, f.dynamic) for f in r.fragments]  # doctest: +NORMALIZE_WHITESPACE
        [('SELECT "id", "name" FROM "users" WHERE id = :id::int', None),
         ('SELECT NULL FROM t', '`:c: (col)` is not in a value position (after SELECT)')]
        """
        edits: list[tuple[int, int, str | None, str]] = []
        for match in _KNEX_NAMED.finditer(template.text):
            if any(match.start() < hole.offset <= match.end() for hole in template.holes):
                continue  # `:${x}`, `:id${x}`: the name is known at run time only
            if match.group().startswith("\\"):
                edits.append((match.start(), match.end(), match.group(1), match.group()))
                continue
            key = match.group(2) or match.group(3) or match.group(4)
            if key not in values and complete:
                continue  # knex leaves it as written
            node = values.get(key)
            label = f"{match.group(1)} ({self.text(node)})" if node is not None else (
                match.group(1))
            if match.group(4) is None:
                text = _knex_written(self._knex_value(node)) if node is not None and (
                    not self.names.knex_renames) else None
                edits.append((match.start(1), match.end(1), text, label))
            elif node is not None and (node := _unwrap(node)).type == "call_expression" and (
                    (function := node.child_by_field_name("function")) is not None) and (
                    _last_name(self, function) == "raw"):
                edits.append((match.start(1), match.end(1), None, label))
        return _edited(template, edits, written=True, why=self._knex_renaming())

    def _knex_value(self, node: Node) -> str | list[str] | None:
        """A knex binding the code writes: a string (a literal, a `const` bound to one) or
        an array of them; None for anything else."""
        node = _unwrap(node)
        if node.type == "identifier":
            bound = self._constant(node)
            if bound is None:
                return None
            node = _unwrap(bound)
        if node.type == "array":
            items = [self._knex_value(c) if c.type in ("string", "template_string",
                                                        "identifier") else None
                     for c in node.named_children if c.type != "comment"]
            return [item for item in items if isinstance(item, str)] if all(
                isinstance(item, str) for item in items) else None
        if node.type not in ("string", "template_string"):
            return None
        value = self._template(node)
        return value.text if not value.holes and not value.problem else None

    def _in_sql_hole(self, template: Node) -> bool:
        """Whether a template stands inside a `${...}` of a SQL tag's template: a fragment
        postgres.js, slonik or Prisma puts into that query where the hole is (Stacks' API
        ends `WITH nft AS (...)` with `${withTx ? this.sql`...` : this.sql`SELECT * FROM
        nft`}`), which may read the query's CTEs and aliases: a piece of that statement,
        not one of its own, as a Python string that is only a piece of a longer one."""
        node = template.parent
        while node is not None and node.type != "program":
            if node.type == "template_substitution" and node.parent is not None and (
                    self._sql_template(node.parent)):
                return True
            node = node.parent
        return False

    def _composed_by_callee(self, template: Node) -> bool:
        """Whether a SQL tag's template is given to a function of the file that writes the
        parameter taking it inside a `${...}` of a SQL template of its own: a piece of that
        function's query, as one written in the hole is (`_in_sql_hole`). Stacker News'
        `claimExternalTransactions(models, predicate, selection)` ends `WITH candidates AS
        (...), claimed AS (UPDATE ... RETURNING tx.*) ${selection}`, and its callers give it
        ``Prisma.sql`SELECT claimed.* FROM claimed ORDER BY claimed."id"` ``: read alone,
        `claimed` was a missing table (PostgreSQL prepares the whole). A function bound more
        than once, of another module, or never writing the parameter into a SQL template
        (`$queryRaw(query)` sends it whole), leaves it read.

        >>> r = sql_in_javascript("const q = (db, tail) => db.$queryRaw`WITH c AS (SELECT 1 "
        ...     "AS id) ${tail}`\\nq(db, Prisma.sql`SELECT id FROM c`)\\n"
        ...     "run(Prisma.sql`SELECT id FROM t`)", "a.ts")
        >>> [f.sql for f in r.fragments]
        ['WITH c AS (SELECT 1 AS id) NULL', 'SELECT id FROM t']
        """
        node = template.parent  # the tag's call
        if node is None or node.type != "call_expression" or not self.functions:
            return False
        node = _typed_as(node)
        arguments = node.parent
        if arguments is None or arguments.type != "arguments" or arguments.parent is None:
            return False
        callee = arguments.parent.child_by_field_name("function")
        callee = _unwrap(callee) if callee is not None else None
        function = self._declared(callee, self.functions) if callee is not None and (
            callee.type == "identifier") else None
        if function is None:
            return False
        given = [c for c in arguments.named_children if c.type != "comment"]
        position = next((i for i, c in enumerate(given) if c.id == node.id), None)
        name = _parameter_name(function, position) if position is not None else None
        if name is None:
            return False
        return any(function.start_byte <= ref.start_byte < function.end_byte
                   and self._in_sql_hole(ref)
                   and (scope := self._binding_scope(ref)) is not None and scope[0] == function.id
                   for ref in self.references.get(name, ()))

    def _returned_into_hole(self, template: Node) -> bool:
        """Whether a SQL tag's template is what a function of the file returns, and every
        call of that function is inside a `${...}` of a SQL template: a piece of those
        queries, as one written in the hole is (`_in_sql_hole`). Autumn's
        `const pageClause = (cursor) => sql`SELECT t.internal_customer_id, t.total FROM
        totals t ...`` is written only as `WITH totals AS (...) ${pageClause(cursor)}`:
        read alone, `totals` was a missing table (PostgreSQL prepares the whole). A function
        exported, bound more than once, read other than by a call (`module.exports = {
        pageClause }`, `run(pageClause)`) or called once outside a hole (`db.execute(
        pageClause())` sends it whole) leaves it read.

        >>> r = sql_in_javascript("import { sql } from 'drizzle-orm'\\n"
        ...     "const tail = () => sql`SELECT id FROM c`\\n"
        ...     "db.execute(sql`WITH c AS (SELECT 1 AS id) ${tail()}`)", "a.ts")
        >>> [f.sql for f in r.fragments]
        ['WITH c AS (SELECT 1 AS id) NULL']
        """
        node = template.parent  # the tag's call
        if node is None or node.type != "call_expression" or not self.functions:
            return False
        node = _typed_as(node)
        holder = node.parent
        if holder is not None and holder.type == "return_statement":
            function = _function_of(holder)
        elif holder is not None and holder.type == "arrow_function" and (
                holder.child_by_field_name("body") == node):
            function = holder
        else:
            return False
        if function is None:
            return False
        declaration = function.parent if function.type != "function_declaration" else function
        if declaration is None or declaration.type not in (
                "variable_declarator", "function_declaration"):
            return False
        name = declaration.child_by_field_name("name")
        bound = self._declared(name, self.functions) if name is not None and (
            name.type == "identifier") else None
        if name is None or bound is None or bound.id != function.id:
            return False
        around = declaration.parent
        while around is not None and around.type in ("lexical_declaration",
                                                     "variable_declaration"):
            around = around.parent
        if around is not None and around.type == "export_statement":
            return False
        home = self._binding_scope(name)
        calls = 0
        for ref in self.references.get(self.text(name), ()):
            if ref.id == name.id:
                continue
            scope = self._binding_scope(ref)
            if scope is None or home is None or scope[0] != home[0]:
                continue  # another binding of the name
            call = ref.parent
            if call is None or call.type != "call_expression" or (
                    call.child_by_field_name("function") != ref) or not self._in_sql_hole(ref):
                return False
            calls += 1
        return calls > 0

    def _sql_template(self, template: Node) -> bool:
        """Whether a template literal is a SQL tag's (`sql`...``, `sql<T>`...``)."""
        parent = template.parent
        if parent is not None and parent.type == "call_expression" and (
                parent.child_by_field_name("arguments") == template):
            function = parent.child_by_field_name("function")
            if function is not None and self._is_tag(function, _last_name(self, function)):
                return True
        return self.typed and self._typed_sql_tag(template)

    def _expected_to_fail(self, call: Node) -> bool:
        """True for a call a test expects to fail: inside `expect(...)` read by `.rejects`
        or `.toThrow...` (`await expect(db.query('SELECT nope FROM t')).rejects.toThrow()`),
        or inside node's `assert.rejects(...)`/`assert.throws(...)`: a wrong statement sent
        on purpose is not the application naming a column it lacks."""
        node = call.parent
        while node is not None and node.type != "program":
            if node.type == "call_expression":
                function = node.child_by_field_name("function")
                name = _last_name(self, function) if function is not None else None
                if name in ("rejects", "throws") and function is not None and (
                        self.text(function).startswith("assert")):
                    return True
                if name == "expect" and node.parent is not None and (
                        node.parent.type == "member_expression"):
                    chain = self.text(node.parent.parent or node.parent)
                    if ".rejects" in chain or ".toThrow" in chain:
                        return True
            node = node.parent
        return False

    def _named(self, function: Node, last: str | None, configured: frozenset[str]) -> bool:
        """Whether a tag or callee is one of the configured names (see `SqlNames`)."""
        if not configured:
            return False
        function = _unwrap(function)
        dotted = "".join(self.text(function).split()) if (
            function.type == "member_expression") else ""
        return self._configured(last, dotted, configured)

    @staticmethod
    def _configured(last: str | None, dotted: str, configured: frozenset[str]) -> bool:
        """Whether a name (its last part, and the whole dotted expression) is configured."""
        if last is not None and last in configured:
            return True
        return bool(dotted) and any(dotted == name or dotted.endswith("." + name)
                                    for name in configured if "." in name)


def _client_name(name: str) -> bool:
    """Whether a name says it holds a supabase client (`supabase`, `supabaseAdmin`), not its
    storage API (`supabaseStorage`)."""
    return bool(_CLIENT_WORD.search(name)) and not _STORAGE_WORD.search(name)


def _method_call(call: Node) -> tuple[Node, Node] | None:
    """(method name, receiver) of a call `receiver.method(...)` (also `receiver.method<T>(...)`
    and `(receiver.method as any)(...)`, which TypeScript calls on `receiver` all the same),
    None for any other call."""
    function = _generic_callee(call)
    while function is not None and function.type in _TYPE_WRAPPERS:
        function = _operand(function)
    if function is None or function.type != "member_expression":
        return None
    prop = function.child_by_field_name("property")
    receiver = function.child_by_field_name("object")
    if prop is None or receiver is None:
        return None
    return prop, receiver


def _ends_in_instantiation(node: Node) -> bool:
    """Whether `node` ends with an instantiation, `tag<T>`: itself one, or one closing it as
    tree-sitter misreads a typed tag in a conditional's last branch (`c ? a<T>`x` :
    b<T>`y``, an arrow's body too, is read as the whole conditional tagging `y`)."""
    while node.type != "instantiation_expression":
        last = node.children[-1] if node.children else None
        if last is None or last.end_byte != node.end_byte:
            return False
        node = last
    return True


def _after_instantiation_error(template: Node) -> bool:
    """Whether a template follows an ERROR node ending in an instantiation, tree-sitter's
    reading of `return tag<T>`...``: `(return_statement (ERROR (instantiation_expression))
    (template_string))`."""
    error = template.prev_named_sibling
    if error is None or error.type != "ERROR" or not error.named_children:
        return False
    last = error.named_children[-1]
    return last.type == "instantiation_expression" and error.end_byte == last.end_byte


def _generic_callee(call: Node) -> Node | None:
    """A call's function; for `await a.b<T>(x)`, which tree-sitter's TypeScript grammar reads
    as `(await a.b)<T>(x)`, the `a.b` inside the `await`."""
    if call.type != "call_expression":
        return None
    function = call.child_by_field_name("function")
    if (function is not None and function.type == "await_expression"
            and call.child_by_field_name("type_arguments") is not None):
        inner = next((c for c in function.named_children if c.type != "comment"), None)
        if inner is not None and inner.type == "member_expression":
            return inner
    return function


def _bucket(calls: list[PostgrestCall]) -> bool:
    """Whether `.from(x)` and the calls after it are a storage bucket's: supabase-js's query
    builder has only `_QUERY_BUILDER`'s methods."""
    return len(calls) > 1 and (
        calls[1].method not in _QUERY_BUILDER
        # a bucket's `update(path, file)`; the query builder's takes the new values
        or (calls[1].method == "update" and isinstance(
            next(iter(calls[1].arguments), None), SqlFragment)))


def _mapped_rows(node: Node) -> list[Node] | None:
    """The object literals an `xs.map(callback)` call makes its array's items of, or None.

    The callback is an inline arrow or function expression (not `async`: its items would be
    promises) whose result is an object literal, or whose body returns one at every `return`
    of its own. Anything else (a named function, a return of a variable) is not read.
    """
    node = _unwrap(node)
    if node.type != "call_expression":
        return None
    function = node.child_by_field_name("function")
    if function is None or function.type != "member_expression":
        return None
    prop = function.child_by_field_name("property")
    arguments = node.child_by_field_name("arguments")
    if prop is None or prop.text != b"map" or arguments is None:
        return None
    callbacks = [c for c in arguments.named_children if c.type != "comment"]
    if not callbacks:
        return None
    callback = _unwrap(callbacks[0])
    if (callback.type not in ("arrow_function", "function_expression", "function")
            or any(c.type == "async" for c in callback.children)):
        return None
    returned = _returns(callback)
    if not returned or any(v is None or _unwrap(v).type != "object" for v in returned):
        return None
    return [v for v in returned if v is not None]


def _tested_alone(use: Node) -> bool:
    """Whether a name is the whole condition of an `if`, or its negation (`if (!sql) { throw
    ... }`, `if (text)`): read for its truth, which changes nothing a call sends.

    >>> from dbsafe.extract.javascript import _parser
    >>> root = _parser("javascript").parse(b"if (!sql) f(); if (sql.x) g(); if (!!(q)) h()"
    ...                                    ).root_node
    >>> [_tested_alone(n) for n in _walk(root) if n.text in (b"sql", b"q")]
    [True, False, True]
    """
    node = use
    while node.parent is not None and (node.parent.type == "parenthesized_expression" or (
            node.parent.type == "unary_expression" and node.parent.child(0) is not None
            and node.parent.child(0).type == "!")):
        node = node.parent
    return node.type == "parenthesized_expression" and node.parent is not None and (
        node.parent.type == "if_statement") and (
        node.parent.child_by_field_name("condition") == node)


def _returns(function: Node) -> list[Node | None]:
    """What a function returns, in source order: its expression body, or the value of each
    `return` of its own (not of a function inside it); None for a bare `return;`."""
    body = function.child_by_field_name("body")
    if body is None:
        return []
    if body.type != "statement_block":
        return [body]
    returned: list[Node | None] = []
    stack = list(body.named_children)
    while stack:
        child = stack.pop()
        if child.type in _FUNCTIONS or child.type == "class_body":
            continue  # another function's returns
        if child.type == "return_statement":
            returned.append(next((c for c in child.named_children if c.type != "comment"),
                                 None))
            continue
        stack.extend(child.named_children)
    return sorted(returned, key=lambda n: n.start_byte if n is not None else 0)


def _class_of(this: Node) -> Node | None:
    """The body of the class whose instance `this` is: the class around its method or
    field, through arrow functions (which keep `this`); None inside a `function`, whose
    `this` is its own."""
    node = this.parent
    while node is not None and node.type != "class_body":
        if node.type in _FUNCTIONS and node.type != "arrow_function" and not (
                node.type == "method_definition" and node.parent is not None
                and node.parent.type == "class_body"):
            return None  # a `function`'s own `this`, or an object literal's method's
        node = node.parent
    return node


def _leaves(statement: Node | None) -> bool:
    """Whether running `statement` always ends in a `return` or a `throw`: one of them, a
    block whose last statement does, an `if` whose both branches do, a `try` whose block and
    `catch` do (or whose `finally` does)."""
    if statement is None:
        return False
    kind = statement.type
    if kind in ("return_statement", "throw_statement"):
        return True
    if kind in ("statement_block", "else_clause", "finally_clause"):
        inner = [c for c in statement.named_children if c.type != "comment"]
        return bool(inner) and _leaves(inner[-1])
    if kind == "if_statement":
        return _leaves(statement.child_by_field_name("consequence")) and _leaves(
            statement.child_by_field_name("alternative"))
    if kind == "try_statement":
        handler = statement.child_by_field_name("handler")
        return _leaves(statement.child_by_field_name("finalizer")) or (
            _leaves(statement.child_by_field_name("body")) and (
                handler is None or _leaves(handler.child_by_field_name("body"))))
    return False


def _function_of(node: Node) -> Node | None:
    """The function (or the program) whose code `node` is."""
    scope = node.parent
    while scope is not None and scope.type not in _FUNCTIONS:
        scope = scope.parent
    return scope


def project_postgres_js(read: Sequence[tuple[object, object]]) -> bool:
    """Whether the project's packages (`read`, `js_packages.manifests`) depend on postgres.js
    and on no other client of a `sql` tag (`_OTHER_SQL_TAGS`).

    >>> project_postgres_js([(".", {"dependencies": {"postgres": "3.4.7"}})])
    True
    >>> project_postgres_js([(".", {"dependencies": {"postgres": "3"}}),
    ...                      ("web", {"devDependencies": {"@vercel/postgres": "0.10"}})])
    False
    """
    found: set[str] = set()
    for _, manifest in read:
        if not isinstance(manifest, dict):
            continue
        for kind in ("dependencies", "devDependencies", "peerDependencies",
                     "optionalDependencies"):
            deps = manifest.get(kind)
            if isinstance(deps, dict):
                found.update(name for name in deps if isinstance(name, str))
    return "postgres" in found and not found & _OTHER_SQL_TAGS


def _package(module: str) -> bool:
    """Whether an import names a package (`knex`, `drizzle-orm/pg-core`, `node:fs`), not a
    file of the project (`./db`, `../lib/db`, or an alias such as `@/lib/db`, `~/db`)."""
    return not module.startswith((".", "/", "~", "#", "@/"))


# A byte continuing a UTF-8 character (10xxxxxx): it starts none (`_Reader.position`).
# A call that logs what it is given (`console.log`, `logger.debug`, `this.logger.info`,
# `debug(...)`), and the expressions a name may sit in there (`_Reader._logged`).
_LOGGING = re.compile(r"(?:^|\.)(?:console|log|logger|\w*Logger)\.\w+$|^(?:debug|log)$"
                      r"|(?:^|\.)log_?(?:debug|info|warn|warning|error|trace|verbose)$",
                      re.IGNORECASE)
_LOGGED_IN = frozenset({"template_substitution", "template_string", "binary_expression",
                        "pair", "object", "array", "parenthesized_expression"})


def _object_functions(reader: _Reader, value: Node) -> list[tuple[str, Node]]:
    """The functions an object literal holds under a plain key: `all: (text) => ...`,
    `one: function (text) { ... }`, `many(text) { ... }` (not a getter or a setter)."""
    found: list[tuple[str, Node]] = []
    for member in value.named_children:
        if member.type == "pair":
            key, function = member.child_by_field_name("key"), member.child_by_field_name("value")
            function = _unwrap(function) if function is not None else None
            name = reader._key_name(key) if key is not None and key.type in (
                "property_identifier", "string") else None
            if name and function is not None and function.type in (
                    "arrow_function", "function_expression", "function"):
                found.append((name, function))
        elif member.type == "method_definition" and not any(
                c.type in ("get", "set", "*") for c in member.children):
            key = member.child_by_field_name("name")
            if key is not None and key.type == "property_identifier":
                found.append((reader.text(key), member))
    return found


def _method_names(reader: _Reader, body: Node) -> set[str]:
    """The names of the methods (and fields, which may hold a function) a class body
    declares."""
    names: set[str] = set()
    for member in body.named_children:
        if member.type in ("method_definition", "public_field_definition",
                           "field_definition", "method_signature"):
            key = member.child_by_field_name("name") or member.child_by_field_name("property")
            if key is not None:
                names.add(reader.text(key))
    return names


def wrapper_facts(source: str, path: str) -> dict:
    """What a module exports of its wrappers of a PostgreSQL driver, and the module's facts
    the project's other wrappers may take (`_Reader._wrapper_exports`, `js_wrappers`): {}
    for none. The module is read alone: what an import of the project binds is taken on
    the condition noted with each wrapper."""
    data = source.encode("utf-8")
    grammar = _grammar(path)
    tree = _parser(grammar).parse(data)
    reader = _Reader(data, path, typed=grammar != "javascript")
    reader.pending = True
    reader._index(list(_walk(tree.root_node)))
    if reader._may_wrap():
        reader._find_wrappers(tree.root_node)
    return reader._wrapper_exports(tree.root_node)


_CONTINUATION_BYTE = re.compile(rb"[\x80-\xbf]")


def _walk(root: Node):
    """Every node below `root` in source order, without recursion (deep ASTs exist)."""
    cursor = root.walk()
    while True:
        node = cursor.node
        assert node is not None
        yield node
        if cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return


# Destructuring patterns: a name in one is written where the pattern is assigned.
_PATTERNS = frozenset({"object_pattern", "array_pattern", "pair_pattern", "assignment_pattern",
                       "rest_pattern", "object_assignment_pattern"})
# Loops: a statement in one may run again after a later one.

def _child_holding(statements: Node, node: Node) -> Node | None:
    """The child of `statements` that holds `node` (or is it), if any."""
    while node.parent is not None and node.parent != statements:
        node = node.parent
    return node if node.parent == statements else None


def _holds_jump(statement: Node) -> bool:
    """Whether a `break` or `continue` is somewhere in `statement` (outside the functions it
    holds): where it goes, `_switch_leaves` does not follow."""
    pending = [statement]
    while pending:
        node = pending.pop()
        if node.type in ("break_statement", "continue_statement"):
            return True
        pending.extend(child for child in node.named_children
                       if child.type not in _FUNCTIONS and child.type != "class_declaration")
    return False


_LOOPS = frozenset({"for_statement", "for_in_statement", "while_statement", "do_statement"})
# The nodes whose children are statements run one after the other.
_STATEMENT_LISTS = frozenset({"statement_block", "program", "switch_case", "switch_default",
                              "class_static_block"})
_FUNCTIONS = frozenset({"function_declaration", "generator_function_declaration",
                        "function_expression", "generator_function", "arrow_function",
                        "method_definition", "program"})


def _block(node: Node) -> Node:
    """The scope of a `let`/`const`/function/class declaration: the block holding it."""
    scope = node.parent
    while scope is not None and scope.type == "export_statement":
        scope = scope.parent
    return scope if scope is not None else node


def _always_sent(annotation: Node) -> bool:
    """Whether a property of this type is always in the JSON of an object holding it: no
    part of it is `undefined`, `void`, `never`, `any`, `unknown`, a symbol or a function
    (which `JSON.stringify` leaves out, or may be).

    Example:
        `title: string`, `body: Json | null`, `at: Date`; not `image?: string | undefined`,
        `meta: any`, `onSave: () => void`.
    """
    for node in _walk(annotation):
        if node.type in ("function_type", "constructor_type") or (
                node.type in ("predefined_type", "literal_type") and node.text is not None
                and node.text.decode() in ("undefined", "void", "never", "any", "unknown",
                                           "symbol")):
            return False
    return True


def _declared_kind(statement: Node) -> str | None:
    """`const`, `let` or `var` of a `for (const x of ...)`; None for `for (x of ...)`."""
    kind = statement.child_by_field_name("kind")
    return kind.type if kind is not None else None


def _is_const(declarator: Node) -> bool:
    declaration = declarator.parent
    return (declarator.type == "variable_declarator" and declaration is not None
            and declaration.type == "lexical_declaration"
            and declaration.child(0) is not None and declaration.child(0).type == "const")


# The nodes `_bind` reads: those that bind names (`_binding_patterns`), imports, calls (a
# `require`), client fields and assignments (`this.x = ...`).
_BINDING_KINDS = frozenset({
    "variable_declarator", "required_parameter", "optional_parameter", "formal_parameters",
    "arrow_function", "for_in_statement", "catch_clause", "function_declaration",
    "generator_function_declaration", "class_declaration", "function_expression",
    "generator_function", "import_statement", "call_expression", "public_field_definition",
    "assignment_expression", "abstract_class_declaration", "enum_declaration"})


def _parameter_name(function: Node, position: int) -> str | None:
    """The name of a function's parameter at `position`, when it is a plain name (typed,
    or with a default, too); None for a pattern, a rest parameter or no such parameter."""
    parameters = function.child_by_field_name("parameters")
    if parameters is None:
        single = function.child_by_field_name("parameter")  # `tail => ...`
        listed = [single] if single is not None else []
    else:
        listed = [c for c in parameters.named_children if c.type != "comment"]
    if position >= len(listed):
        return None
    parameter = listed[position]
    if parameter.type in ("required_parameter", "optional_parameter"):
        pattern = parameter.child_by_field_name("pattern")
        if pattern is None:
            return None
        parameter = pattern
    if parameter.type == "assignment_pattern":
        left = parameter.child_by_field_name("left")
        if left is None:
            return None
        parameter = left
    if parameter.type != "identifier":
        return None
    return parameter.text.decode("utf-8", "replace") if parameter.text is not None else None


def _binding_patterns(node: Node) -> Iterator[tuple[Node, Node]]:
    """The patterns through which `node` binds names, each with the node that is its scope
    (none for most nodes)."""
    kind = node.type
    if kind == "variable_declarator" and node.parent is not None:
        scope = None
        if node.parent.type == "variable_declaration":  # `var`: the whole function
            scope = node.parent
            while scope.parent is not None and scope.type not in _FUNCTIONS:
                scope = scope.parent
        pattern = node.child_by_field_name("name")
        if pattern is not None:
            yield pattern, scope or _block(node.parent)
    elif kind in ("required_parameter", "optional_parameter"):
        pattern = node.child_by_field_name("pattern")
        scope = node.parent.parent if node.parent is not None else None
        if pattern is not None and scope is not None:
            yield pattern, scope
    elif kind == "formal_parameters" and node.parent is not None:
        # JavaScript's grammar puts the patterns here; TypeScript's wraps each in a parameter.
        for child in node.named_children:
            if child.type not in ("required_parameter", "optional_parameter", "comment"):
                yield child, node.parent
    elif kind in ("arrow_function", "for_in_statement", "catch_clause"):
        field = {"arrow_function": "parameter", "for_in_statement": "left",
                 "catch_clause": "parameter"}[kind]
        pattern = node.child_by_field_name(field)
        if pattern is not None:
            yield pattern, node
    elif kind in ("function_declaration", "generator_function_declaration",
                  "class_declaration", "abstract_class_declaration", "enum_declaration"):
        name = node.child_by_field_name("name")
        if name is not None:
            yield name, _block(node)
    elif kind in ("function_expression", "generator_function"):
        name = node.child_by_field_name("name")
        if name is not None:
            yield name, node
    elif kind == "import_statement":
        for child in node.named_children:
            if child.type == "import_clause":
                yield child, _block(node)


def _pattern_names(pattern: Node) -> Iterator[Node]:
    """The identifiers a binding pattern declares (`{ a, b: c, ...d }`, `[e = 1]`, `f`)."""
    stack = [pattern]
    while stack:
        node = stack.pop()
        if node.type in ("identifier", "shorthand_property_identifier_pattern",
                         "type_identifier"):
            yield node
        elif node.type == "pair_pattern":
            value = node.child_by_field_name("value")
            if value is not None:
                stack.append(value)
        elif node.type in ("assignment_pattern", "object_assignment_pattern"):
            left = node.child_by_field_name("left")
            if left is not None:
                stack.append(left)
        elif node.type in ("object_pattern", "array_pattern", "rest_pattern", "import_clause",
                           "named_imports", "namespace_import"):
            stack.extend(node.named_children)
        elif node.type == "import_specifier":
            alias = node.child_by_field_name("alias") or node.child_by_field_name("name")
            if alias is not None:
                stack.append(alias)


def _member(node: Node | None, names: tuple[str, ...]) -> Node | None:
    """The object of `node` when it is a member expression `object.name` of one of `names`
    (parentheses and TypeScript's wrappers around the object removed), else None."""
    if node is None or node.type != "member_expression":
        return None
    prop, owner = node.child_by_field_name("property"), node.child_by_field_name("object")
    if prop is None or owner is None or \
            prop.text is None or prop.text.decode("utf-8", "replace") not in names:
        return None
    return _unwrap(owner)


_DRIZZLE_VIEW = ("not validated: a drizzle view's definition (drizzle-orm sends the view's "
                 "name; drizzle-kit writes the body into a migration, `CREATE VIEW`)")


def _chain_root(node: Node) -> Node | None:
    """What a chain of members and calls starts from: `pool` of `pool.query`, of
    `getPool().query` (through the call's function) and of `(await pool.connect()).query`."""
    current: Node | None = node
    while current is not None:
        current = _unwrap(current)
        if current.type == "member_expression":
            current = current.child_by_field_name("object")
        elif current.type == "call_expression":
            current = current.child_by_field_name("function")
        else:
            break
    return current


def _alternatives(node: Node) -> list[Node] | None:
    """The expressions one of which an expression is: `a` and `b` of `a ?? b`, `a || b`
    and `c ? a : b`; None for any other."""
    node = _unwrap(node)
    if node.type == "binary_expression":
        operator = node.child_by_field_name("operator")
        if operator is None or operator.type not in ("??", "||"):
            return None
        sides = [node.child_by_field_name("left"), node.child_by_field_name("right")]
    elif node.type == "ternary_expression":
        sides = [node.child_by_field_name("consequence"),
                 node.child_by_field_name("alternative")]
    else:
        return None
    return [side for side in sides if side is not None] if all(sides) else None


def _typed_as(node: Node) -> Node:
    """`node` with the type wrappers around it (`x as T`, `x!`, `x satisfies T`, `<T>x`): what
    its parent holds."""
    while node.parent is not None and node.parent.type in _TYPE_WRAPPERS:
        node = node.parent
    return node


def _unwrap(node: Node) -> Node:
    """The expression inside parentheses, `await`, `x!`, `x as T`, `x satisfies T`, `<T>x`."""
    while node.type in _WRAPPERS:
        inner = _operand(node)
        if inner is None:
            return node
        node = inner
    return node


def _operand(wrapper: Node) -> Node | None:
    """The expression a wrapper (`_WRAPPERS`) holds: `<T>x` puts its type first."""
    children = [c for c in wrapper.named_children if c.type != "comment"]
    if not children:
        return None
    return children[-1] if wrapper.type == "type_assertion" else children[0]


def _variables_as_holes(template: Template) -> Template:
    """The template with each pg-promise variable of its text a hole (`_PGP_VARIABLE`): the
    value pg-promise puts there, or the name (`${table:name}`), is known only at run time.

    >>> t = _variables_as_holes(Template("SELECT a FROM t WHERE id = ${id} AND b = $1:json",
    ...                                  ((0, 3, 10),)))
    >>> t.text, [(h.offset, h.line, h.column, h.label) for h in t.holes]
    ('SELECT a FROM t WHERE id =  AND b = ', [(27, 3, 37, '${id}'), (36, 3, 51, '$1:json')])
    >>> t.spans
    ((0, 3, 10), (27, 3, 42), (36, 3, 58))
    """
    return _edited(template, [(m.start(), m.end(), None, m.group())
                              for m in _PGP_VARIABLE.finditer(template.text)])


def _pgtyped_parameters(template: Template) -> Template:
    """The template of pgtyped's tag with each of its parameters (`_PGTYPED_PARAMETER`) what
    pgtyped sends there, a bound value, never SQL: NULL for a value, a parenthesised one
    per item of a list or key of an object (one row of them stands for the rows of
    `$$books(a, b)`).

    >>> t = _pgtyped_parameters(Template(
    ...     "SELECT a FROM t WHERE ($n = 0 OR b IN $$bs); INSERT INTO t VALUES $$rows(a, b!)",
    ...     ((0, 1, 1),)))
    >>> t.text
    'SELECT a FROM t WHERE (NULL = 0 OR b IN (NULL)); INSERT INTO t VALUES (NULL, NULL)'
    >>> _pgtyped_parameters(Template("SELECT a FROM t WHERE j @@ '$.a > $min' AND b = $b",
    ...                              ((0, 1, 1),))).text
    "SELECT a FROM t WHERE j @@ '$.a > $min' AND b = NULL"
    """
    edits: list[tuple[int, int, str | None, str]] = []
    for match in _PGTYPED_PARAMETER.finditer(template.text):
        if match.group("string") is not None:
            continue
        keys = match.group("keys")
        values = "NULL" if keys is None else ", ".join(
            "NULL" for key in keys.split(",") if key.strip())
        text = f"({values})" if keys is not None or match.group("list") else values
        edits.append((match.start(), match.end(), text, match.group()))
    return _edited(template, edits)


def _edited(template: Template, edits: list[tuple[int, int, str | None, str]], *,
            written: bool = False, why: str = "") -> Template:
    """The template with each `(start, end, text, label)` of `edits` (in order, apart) done:
    the text between `start` and `end` replaced by `text`, each character of it mapped to
    where `start` is, or taken out for a hole labelled `label` (of SQL its library writes
    there with `written`, not known for `why`).

    >>> t = _edited(Template("SELECT ?? FROM ??", ((0, 2, 5),)),
    ...             [(7, 9, '"a"', "??"), (15, 17, None, "?? (t)")], written=True)
    >>> t.text, [(h.offset, h.column, h.label, h.written) for h in t.holes]
    ('SELECT "a" FROM ', [(16, 20, '?? (t)', True)])
    >>> t.spans  # doctest: +NORMALIZE_WHITESPACE
    ((0, 2, 5), (7, 2, 12), (8, 2, 12), (9, 2, 12), (10, 2, 14), (16, 2, 22))
    """
    if not edits:
        return template
    starts = [offset for offset, _, _ in template.spans]

    def position(offset: int) -> tuple[int, int]:
        start, line, column = template.spans[max(bisect.bisect_right(starts, offset) - 1, 0)]
        return line, column + offset - start

    cuts = [start for start, *_ in edits]
    shifts = list(itertools.accumulate(
        (len(text or "") - (end - start) for start, end, text, _ in edits), initial=0))

    def moved(offset: int) -> int:
        """Where an offset outside the edits is once they are done."""
        return offset + shifts[bisect.bisect_left(cuts, offset)]

    kept = list(zip([0, *(end for _, end, *_ in edits)], [*cuts, len(template.text)],
                    strict=True))
    texts: list[str] = []
    spans: list[tuple[int, int, int]] = []
    holes = [replace(hole, offset=moved(hole.offset)) for hole in template.holes]
    for index, (a, b) in enumerate(kept):
        if a < b or a == len(template.text):
            spans.append((moved(a), *position(a)))
        spans.extend((moved(offset), line, column) for offset, line, column in template.spans
                     if a < offset < b)
        texts.append(template.text[a:b])
        if index == len(edits):
            break
        start, _, text, label = edits[index]
        if text is None:
            holes.append(Hole(moved(start), *position(start), label, written=written, why=why))
        elif text:  # each character of it where `start` is (a finding in it points there)
            spans.extend((moved(start) + i, *position(start)) for i in range(len(text)))
            texts.append(text)
    holes.sort(key=lambda hole: hole.offset)
    # an empty piece's span gives way to the next one at the same offset
    unique = [span for span, after in itertools.pairwise([*spans, (-1, 0, 0)])
              if span[0] != after[0]]
    return replace(template, text="".join(texts), spans=tuple(unique), holes=tuple(holes))


def _knex_written(value: str | list[str] | None) -> str | None:
    """What knex's pg client writes for a `??` bound to `value` (`columnize`, `wrapString`),
    where any client's `wrapIdentifier` leaves it so (`_KNEX_WORD`); None for anything else.

    >>> _knex_written("public.users as u"), _knex_written(["id", " t.* "])
    ('"public"."users" as "u"', '"id", "t".*')
    >>> _knex_written("userName"), _knex_written("a[1]"), _knex_written([]), _knex_written(None)
    (None, None, None, None)
    """
    if isinstance(value, list):
        names = [name for name in map(_knex_written, value) if name is not None]
        return ", ".join(names) if value and len(names) == len(value) else None
    if value is None:
        return None
    alias = _KNEX_ALIAS.search(value)
    if alias is not None:
        name, word = _knex_written(value[:alias.start()]), _knex_word(value[alias.end():])
        return f"{name} as {word}" if name is not None and word is not None else None
    parts = value.split(".")
    words = [word for word in map(_knex_word, parts) if word is not None]
    return ".".join(words) if len(words) == len(parts) else None


def _knex_word(value: str) -> str | None:
    """knex's `wrapAsIdentifier` of the pg client: `*` as it is, a name quoted."""
    value = value.strip()
    if value == "*":
        return value
    return f'"{value}"' if _KNEX_WORD.match(value) else None


def _pieces(template: Template) -> list[str]:
    """The literal text between a template's holes (one more piece than holes)."""
    cuts = [0, *(hole.offset for hole in template.holes), len(template.text)]
    return [template.text[start:end] for start, end in itertools.pairwise(cuts)]


def _concat(path: str, pieces: list[SqlFragment], anchor: SqlFragment) -> SqlFragment:
    """Strings written in several places as the one string they make, each piece mapped to
    where it is written (`anchor`'s start when all are empty)."""
    spans: list[tuple[int, int, int]] = []
    length = 0
    for piece in pieces:
        if piece.sql:
            spans.extend((length + offset, line, column) for offset, line, column in piece.spans)
        length += len(piece.sql)
    return SqlFragment(path, "".join(p.sql for p in pieces), tuple(spans) or anchor.spans[:1],
                       origin="js")


def _literal_entries(reader: _Reader, literal: Node) -> list[tuple[str, Node]] | None:
    """The keys and values of an object literal (`{ full: 'a', 'short': 'b' }`) or the
    indexes and items of an array literal; None with a spread, a computed key, a shorthand
    or a method, whose values are not written there."""
    entries: list[tuple[str, Node]] = []
    children = [c for c in literal.named_children if c.type != "comment"]
    if literal.type == "array":
        if any(c.type == "spread_element" for c in children):
            return None
        return [(str(index), item) for index, item in enumerate(children)]
    for child in children:
        key = child.child_by_field_name("key") if child.type == "pair" else None
        value = child.child_by_field_name("value") if child.type == "pair" else None
        name = reader._key(key) if key is not None else None
        if name is None or value is None:
            return None
        entries.append((name.sql, value))
    return entries


def _entry_written(ref: Node) -> bool:
    """Whether a name of a `const` object is where the file writes an entry of it: `X.a =
    ...`, `X['a'] += ...`, `delete X.a`, `Object.assign(X, ...)`, an array's `X.push(...)`,
    `X.splice(...)`, at any depth (`X.a.b = ...`, `X.a.push(...)`)."""
    node = ref
    while node.parent is not None and node.parent.type in (
            "member_expression", "subscript_expression", *_TYPE_WRAPPERS) and (
            node.parent.child_by_field_name("object") == node or (
            node.parent.type in _TYPE_WRAPPERS)):
        node = node.parent
        parent = node.parent
        if parent is None:
            return False
        prop = node.child_by_field_name("property") if node.type == "member_expression" \
            else None
        if prop is not None and prop.text in _ARRAY_WRITES and parent.type == "call_expression":
            return True
        if parent.type in ("assignment_expression", "augmented_assignment_expression") and (
                parent.child_by_field_name("left") == node):
            return True
        if parent.type in ("update_expression", "unary_expression") and (
                parent.type == "update_expression" or (parent.child(0) is not None
                and parent.child(0).type == "delete")):
            return True
    parent = node.parent
    if parent is not None and parent.type == "arguments":
        call = parent.parent
        function = call.child_by_field_name("function") if call is not None else None
        return function is not None and function.text in (
            b"Object.assign", b"Object.defineProperty", b"Object.defineProperties")
    return False


def _changes_schema(template: Template, at: int = 0) -> bool:
    """Whether a SQL call's text is DDL the file's other statements may use: a schema-changing
    first keyword written as SQL (all upper or all lower case, not "Create a ..."), no holes;
    from offset `at` on (a later statement's)."""
    word = first_word(template.text, template.holes, lower=False, at=at)
    return (not template.holes and word is not None and word.lower() in _SCHEMA_CHANGES
            and (word.isupper() or word.islower()))


def _holds_ddl(template: Template) -> bool:
    """Whether a string no SQL call takes holds DDL: a statement of it, not only the first,
    starting with a schema-changing keyword written as SQL (safe-client-gateway's migrator
    tests write `drop table if exists test; create table test (...)`), as for Python."""
    text = template.text
    starts = [start for start, _ in statement_bounds(text)] if ";" in text else [0]
    return any(_changes_schema(replace(template, holes=()), at=start) for start in starts)


def _last_name(reader: _Reader, function: Node) -> str | None:
    function = _unwrap(function)
    if function.type == "identifier":
        return reader.text(function)
    if function.type == "member_expression":
        prop = function.child_by_field_name("property")
        return reader.text(prop) if prop is not None else None
    return None


def _dotted(expression: str) -> str:
    """A member expression's text without blanks or optional chaining (`this.sql`)."""
    return "".join(expression.split()).replace("?.", ".")


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 40 else text[:37] + "..."


_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


def _unescape(escape: str) -> str:
    """The characters a JavaScript escape sequence stands for.

    >>> [_unescape(e) for e in ("\\\\n", "\\\\'", "\\\\u00e9", "\\\\u{1F600}", "\\\\x41", "\\\\\\n")]
    ['\\n', "'", 'é', '😀', 'A', '']
    """
    body = escape[1:]
    if body.startswith(("\n", "\r")):
        return ""  # a line continuation
    if body in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[body]
    try:
        if body.startswith("u{"):
            return chr(int(body[2:-1], 16))
        if body.startswith("u") and len(body) == 5:
            return chr(int(body[1:], 16))
        if body.startswith("x") and len(body) == 3:
            return chr(int(body[1:], 16))
    except ValueError:
        return body
    return body

"""Run `validate` over source files: extract, resolve, confirm, cache, in parallel.

Per file: extract SQL fragments, resolve each against the snapshot (`dbsafe.validate.resolver`), and
turn problems into findings. Candidate findings are then confirmed by PostgreSQL when the
schema source lends a database. Results are cached per file, keyed by the file's path and
content, the schema fingerprint and the confirmation mode, so an unchanged re-run reads no
SQL at all. Files are analysed by one worker process per core when there are enough of them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from dbsafe import __version__
from dbsafe.core import (
    DatabaseError,
    Finding,
    Location,
    Report,
    RuleInfo,
    Severity,
    Skipped,
    SourceError,
    select_findings,
)
from dbsafe.extract.files import (
    COMPONENT_SUFFIXES,
    DEFAULT_MAX_BYTES,
    SCRIPT_SUFFIXES,
    display_path,
    not_read,
)
from dbsafe.extract.holes import NAME_HOLE
from dbsafe.pg.throwaway import dev_url, scratch
from dbsafe.validate.codes import (
    COLUMN_VALUE_COUNT_MISMATCH,
    UNKNOWN_COLUMN,
    UNKNOWN_FUNCTION_CALL,
    UNKNOWN_TABLE,
    UNKNOWN_TYPE,
    identifier_at,
)

if TYPE_CHECKING:
    from dbsafe.config import Settings
    from dbsafe.extract.d1_clients import D1Client
    from dbsafe.extract.drizzle_schema import DrizzleTable
    from dbsafe.extract.files import FolderNames, ProjectFiles
    from dbsafe.extract.fragment import SqlFragment
    from dbsafe.extract.javascript import PostgrestRequest, SqlNames
    from dbsafe.extract.js_constants import JsConstants
    from dbsafe.extract.js_wrappers import JsWrapper
    from dbsafe.extract.kysely_clients import KyselyClients
    from dbsafe.extract.py_migrations import Moves
    from dbsafe.extract.py_parsers import Parsed
    from dbsafe.extract.supabase_types import DatabaseTypes
    from dbsafe.schema.model import SchemaSnapshot
    from dbsafe.sources import OtherApplications, SchemaSource, SqlFolder
    from dbsafe.validate.confirm import Rewrite, Session, Verdict
    from dbsafe.validate.file_ddl import FileDdl
    from dbsafe.validate.postgrest import ExposedSchemas
    from dbsafe.validate.resolver import Problem, Resolution
    from dbsafe.validate.supabase_projects import SupabaseProjects
    from dbsafe.validate.syscatalog import SystemCatalog
    from dbsafe.validate.unknown import Unknown

log = logging.getLogger(__name__)
_Read = TypeVar("_Read")  # what a project-wide scan kept by file stat reads (`_kept_by_stat`)

# Below this many files to analyse, starting worker processes costs more than it saves.
_PARALLEL_THRESHOLD = 64
_CHUNK = 32
# 7: pg_catalog relations, `SET t.col`, alias lists over stars, ON and MERGE scopes,
# DECLARE, a file's SELECT INTO/sequences/renames/indexes, null tests of embeds,
# FOR UPDATE OF, regclass strings; 8: files' statuses, statements sqlglot cannot parse but
# the quick check proves counted as analysed; 9: statements sent to SQLite skipped;
# 10: fields of composite columns; 11: SQL sent through SQLAlchemy or pandas to SQLite;
# 12: DO blocks, set_config, SET ROLE and CREATE EXTENSION in a file, unnest() of composite
# arrays, built-ins in attribute notation, extensions' relations, strings in Python asserts
# 13-18: ROWS FROM, other tools' migrations, nested joins, JSON RETURNING, SEARCH/CYCLE
# columns, a file's DDL through unknown calls; 19: sqlc's macros; 20: a JS `const` followed
# only where its name reads it; 21: storage buckets' `.from()` are not requests; 22: `rel()`
# in a select string; 23: embeds through a view as the junction; 24: `order('rel(alias)')`;
# 25: payload keys whose value is `undefined` are not sent; 26: a client's `db.schema` only
# where its name reads that client's variable (not a parameter of the same name); 27: a
# variable named like a client holding another library's object is not one; 28: PostgREST
# requests to an extension's relations and functions are not checked; 29: `onConflict` reads
# quoted names; 30: `.rpc()` of a procedure is DBS306; 31: `.or()` templates' literal names;
# 32: `await supabase.from<T>(...)` (a generic call after `await`) is read; 33: the calls
# after `.rpc()` of a function returning a table's rows; 34: unaliased function calls in
# a derived table or CTE are named as written (`lower(x)` is `lower`); 35: an `.rpc()` of
# an unknown function beside an extension is reported (snapshots name its functions);
# 36: Python's `sql % (...)` and `sql + clause` read the literal `sql` is bound to with its
# holes, `sql += ...` is a hole at the end of the literal, and a statement built into a
# longer string is not read alone; 37: text added after a statement's WHERE (ORDER BY,
# LIMIT, ...) leaves its start checked; 38: Realtime subscriptions' tables and filter columns;
# 39: an upsert's onConflict without a unique index on exactly its columns (DBS308); 40: an
# rpc two overloads take (DBS309); 41: the columns after an rpc returning TABLE(...) or OUT
# parameters; 42: a Python module sending SQL it reads from a file leaves its statements unchecked;
# 43: files named by their date are migrations; 44: `closing(sqlite3.connect(...))` is SQLite;
# 45: web.py's `$name` and a list after `IN` are confirmed as parameters; 46: a Python syntax
# error names the Python that read the file; 47: `sql += " WHERE ..."` after the FROM items
# leaves the start checked; 48: so does a piece that is a clause or nothing (`{where}`);
# 49: a Realtime table its publication does not publish (DBS310); 50: supabase-js chains go on
# past parentheses and TypeScript's type operators; 51: a later `.select()` replaces the embeds of
# an earlier one; 52: a supabase-js query held in a variable is followed in its scope; 53: not
# where it is destructured into; 54: `(supabase.rpc as any)(...)` is a request; 55: a null test
# after a select not read; 56: a followed query is not analysed where its inherited calls are not;
# 57: a chain on it assigned to another variable is a use; 58: not its embeds when another use
# selects; 59: what failed SQL migration statements would have made, and stand-in schemas' other
# relations, unchecked; 60: no DBS310 on the supabase stand-in's publication; 61: relations
# a failed migration statement reads that the schema lacks are unknown; 62: `2017-06-05-x.sql`
# is a dated migration; 63: `VALUES %s` is a row (psycopg2's execute_values), analysed; 64: no
# findings in a statement PostgreSQL's parser rejects; 65: PySpark's temp views are the module's
# DDL; 66: payload rows made by `.map()` of an object literal; 67: no DBS006 for a failed
# statement changing nothing read; 68: the `<script>` blocks of `.vue` and `.svelte` files; 69:
# `.astro` components; 70: supabase-py requests in Python files (`supabase.table("t").select(...)`,
# `.rpc()`); 71: TypeScript tags with type arguments (`sql<T>`...``), slonik's `sql.type(S)`/
# `sql.typeAlias`/`sql.unsafe` tags, pg-promise's `db.one`/`db.any`/... calls; 72: SQL sent to
# ClickHouse, DuckDB, MySQL, Snowflake, BigQuery or Spark is skipped as SQLite's is, and a name
# holding statements only sent there skips its literals; 73: the value of a name `expected...` is a
# test's expected output; 74: a name saying the engine (`query_clickhouse(sql)`, a
# `clickhouse_client` fixture, `get_async_clickhouse()`) sends there; 75: what `sql += "..."` adds
# is no statement alone; 76: a statement reading SQLite's catalog (`sqlite_master`) is SQLite's;
# 77: a string held in a name read only in assertions is a test's input; 78: a table the code
# checks exists (`if inspector.has_table("x"):`) is not missing for the statements it guards;
# 79: a hole right after `IN` is its list (`IN {ids}` read as `IN (NULL)`); 80: the module's own
# client factories, cached clients and helpers sending a parameter to another engine are followed;
# 81: a JS/TS module with an `up` and a `down` step is a migration; 82: a hole in a function's
# arguments (`lower(${email})`) or after `AT TIME ZONE` is a value; 83: supabase-py's Realtime
# subscriptions (`channel.on_postgres_changes(...)`); 84: a parametrized string a test only
# asserts on is its input; 85: a session command built at run time (`SET ... TO {x}`) is no
# DBS304 note; 86: a statement that is one parenthesised query is a subquery of a query it is
# embedded in, whose names are unknown; 87: in a .sql file, DDL PostgreSQL's parser rejects makes
# the rest of the file unknown; 88: `SELECT ... INTO t` with a placeholder (`%s`, psql's `:'x'`)
# creates `t`; 89: a self-closed `<script ... />` of a component is no unclosed one; 90: a schema
# a failed migration statement names that the schema lacks is unknown; 91: QuickBooks Online's
# and Salesforce's query languages are another engine's; 92: a parametrized value is judged by
# the one name its place in the row binds; 93: a name a sink sends inside an assertion keeps its
# strings statements; 94: braces in a quoted identifier (`FROM "{0}"`) make a template, DDL with
# them stays ignored; 95: files named by the versions they upgrade between
# (`schema-upgrade-1.15-1.16.sql`) are migrations; 96: a relation named by a string completed
# at run time (`'{table}_id_seq'`) is not checked; 97: `NOTIFY`/`LISTEN`/`UNLISTEN` built at
# run time are session commands, no DBS304 note; 98: a `.sql` script's relations its DDL makes
# are stored, and unchecked where the project's other scripts read them; 99: files in a folder
# a runner marks as its migrations' (drizzle-kit's `meta/_journal.json`, prisma's
# `migration_lock.toml`) or the schema's SQL migrations folder are migrations; 100: the code of a
# folder keeping migrations of its own, not the schema's, is another application's; 101: a JS/TS
# module loading another engine's driver (`mssql`, `node:sqlite`) and no PostgreSQL one sends
# its SQL there; 102: a name given to another engine's call as `query=query`, and a statement
# that client's `format`/`substitute_params` fills in, are that engine's; 103: DDL after another
# statement of a Python string (`DROP TABLE IF EXISTS t; CREATE TEMP TABLE t ...`); 104: a
# module's SQLAlchemy models it runs `create_all` for are its DDL; 105: what a module of code
# creates or alters is kept with its outcome, for the project's other modules; 106: asqlite's
# connections and pools are SQLite's (`conn.fetchall(query)`); 107: after pgmq failed,
# Supabase's queue API (`pgmq_public`) is unknown; 108: what a `.sql` migration outside the
# schema's folder makes, and the schemas scripts create, are there for the project's scripts;
# 109: a module loading `jsforce` sends SOQL to Salesforce; 110: DBS304's help for SQL built at
# run time in JS/TS and .sql names their comments, not Python's; 111: a `client` kept by
# something named after supabase or PostgREST (`context.postgrest.client`, `const { client } =
# getAuthedSupabase(event)`) is a client; 112: a value given to a table function (`FROM
# unnest(${ids})`) or a schema-qualified function (`pgmq.send('q', ${msg})`) is a value; 113:
# `pysqlite3` (the standalone build of sqlite3) is SQLite; 114: Supabase's `pgmq_public` is
# unknown beside pgmq's stand-in too; 115: a table a failed migration statement gives a column
# it lacks (`UPDATE t SET c`, an INSERT's columns, ALTER/RENAME COLUMN) has unknown columns;
# 116: what the files of the schema's folder its runner does not run make is unknown; 117: the
# client a holder named after supabase hands out (`this.supabaseService.getClient()`) is one;
# 118: a statement in a branch of a test on the server's version (`if server_version >=
# 150000:`) is not checked against the catalogs of majors the branch cannot run on; 119: files
# in a folder of schema deltas named by their version (`schema/main/delta/54/x.sql`, Synapse's)
# are migrations; 120: a callback handed only to another engine's store
# (`self.sqlite_store.db_pool.runInteraction("select", r)`) sends there; 121: the table a
# script's `CREATE` PostgreSQL's parser rejects makes (MySQL's `ENGINE=InnoDB`), read by
# sqlglot, is made for the project's other scripts; 122: a query simple-salesforce's
# `format_soql(...)` fills in is Salesforce's; 123: an f-string field naming a module constant
# of names (`TABLE = "events"`) is its text; 124: so is a class's (`Events.TABLE`); 125: what a
# graphile-migrate folder's files that are no migrations (afterReset's baseline) make is
# unknown; 126: and the schemas its migrations name that no SQL makes, when its afterReset runs
# a command; 127: a file drizzle-kit's journal lists that is not in the folder may have made
# anything; 128: DDL in JS/TS strings no SQL call takes, and in a JS/TS migration, is made for
# the modules; 129: also with a hole that is no value (`vector32(${dim})`); 130: Django's
# `RawSQL(sql)` and `.extra(select={...})` SQL is a subquery of the model's query; 131: the
# statement of a `PREPARE name AS statement` is checked; 132: utility statements sqlglot
# misreads (`DEALLOCATE name`, `RELEASE SAVEPOINT a`) are ignored, not unparsable; 133: a
# function imported from a package naming another engine (`posthog.clickhouse.client`) sends
# there, and so does a function handing its parameter on to such a helper; 134: the constants a
# module of another engine's layer only exports are that engine's; 135: Python DDL whose name
# is a local bound to constants (`CREATE MATERIALIZED VIEW "{}"`.format(view)) makes each of
# them for the modules; 136: SQL Server and Cassandra are other engines, and a loop's target
# over a list of statements sends them where it goes; 137: an engine's URL filled at run time
# (`f"mssql+pymssql://{USER}@..."`, also held in a name) still says its dialect; 138: DDL, GRANT,
# COPY and the other statements validate never checks, built at run time, are no DBS304 note,
# and a query after a session command in one string (`SET ...; SELECT ... FROM {t}`) still is;
# 139: what `startswith`/`endswith` look for (`q.startswith('INSERT INTO "t"')`) is no statement;
# 140: a statement with a reference another script or module makes is counted not analysed
# 141: a hole bounding a BETWEEN (`BETWEEN ${a}::timestamp AND ${b}`) or after a CASE's WHEN
# is a value; 142: a template a SQL tag marks is read whatever the case of its keywords
# (`SELECT ... from "t"`), and words in SQL comments do not make a statement read as prose;
# 143: a `:name` placeholder named by a keyword (`:values`, sqlc's `@from`) is a placeholder;
# 144: a file of sqlc queries named in block comments (`/* name: GetUser :one */`) is one;
# 145: a `.sql` file of queries under comment headers with no `;` between them (Immich's
# generated `server/src/queries/*.sql`) is read query by query; 146: the results of a SQL
# folder's schema are kept apart by what it leaves unknown (yoyo's Python migrations, the
# files a journal lists that are not there); 147: a Python migration other than an alembic
# revision (Django's) is counted in code, not left to lint; 148: encode/databases'
# `fetch_all`/`fetch_one`/`fetch_val` and Tortoise's `execute_query(_dict)` are sinks;
# 149: a name bound to several literals in a function is followed to the one reaching a sink;
# 150: a sink's string of run-time pieces joined by no blank (`f"{path}?page={n}"`) is no statement;
# 151: a yoyo Python migration of SQL steps is a migration left to lint, not one in code;
# 152: psycopg's `sql.SQL(...).format(...)` of pieces the code shows is the text psycopg renders;
# asyncpg's `copy_records_to_table`/`copy_to_table`/`copy_from_table` are read as the query
# asyncpg prepares, psycopg's `cursor.copy("COPY t (a) FROM STDIN")` as the INSERT naming the
# same; `self.SQL_X`/`cls.SQL_X`/`Cls.SQL_X` sent to a sink is the class's literal;
# 153: supabase-js clients a function of the file returns, a class keeps in `this.x`, or a
#      `Record<string, SupabaseClient>` holds are read;
# 154: a supabase-js template literal whose every hole reads a `const` string is that string;
# 155: names destructured from `require('@supabase/supabase-js')` or `await import(...)` are
#      imported as by an `import` statement;
# 156: a function returning a variable bound to a client of another schema hands out none;
# 157: an import binds its aliases only (`{ createClient as createRedis }` from another package);
# 158: Hono's `c.get('supabase')` is a client; 159: so is React's `supabaseRef.current`;
# 160: a `.sql` file named `migrations.sql` is a whole migration history, left to lint;
# 161: a Python module of mautrix `UpgradeTable` steps (`@upgrade_table.register`) is a migration;
# 162: an f-string field `cls.columns`/`self.columns` of the method's own class is its text, and
#      a class attribute annotated `ClassVar` is a class constant;
# 163: `JSON_TABLE(... COLUMNS (...))` returns the columns it defines;
# 164: a supabase-js client a class keeps in `this.x` keeps its schema;
# 165: a supabase-js argument the code picks among strings it shows is checked as each;
# 166: a psycopg composition's pieces are placed where the code writes them; asyncpg's `where=`
#      and `copy_from_query` are read; a `for` loop over strings gives its name each one; a
#      connection an engine's object holds, handed to a module function, is that engine's;
#      a hole after `:` inside brackets is a value;
# 167: a supabase-py argument chosen between string literals (`"a" if x else "b"`) is checked
#      as each;
# 168: a supabase-js `this.x` client a class of the file's family (extends) assigns;
# 169: the functions of a known extension that failed are unknown in its schema; hypopg's views;
# 170: a supabase-js array of templates joined (`.or([`a.eq.${x}`, ...].join(','))`) is a template;
# 171: a TypeScript enum's string member is its string;
# 172: a statement in a branch run only where the database is not PostgreSQL (`elif
#      is_oracle(url):`, `if dialect.name == "mysql":`) is skipped, said so;
#      a string under an `example`/`examples` key or keyword is documentation; a statement
#      a test hands to a mock is not checked;
# 173: a SQL template inside a `${...}` of another SQL template is a piece of it, not read alone;
# 174: a hole right after the `(` of a row compared (`(a, b) > (${x}, ${y})`) is a value;
# 175: pg-promise's formatting variables in a string a SQL call takes are holes;
# 176: DDL after another statement of a JS/TS string no SQL call takes counts;
# 177: a table named by a placeholder (`:SCHEMA.t`, `$1.t`) is not analysed, not an internal error;
# 178: a statement in a class whose `engine = "clickhouse"` names another database is skipped;
# 179: a relation made under a name known only at run time leaves the file's unknown tables unknown;
# 180: postgres.js's `${sql('name')}`/`${sql(Class.NAME)}` of a lower-case name is the identifier;
# 181: of DDL with a name known only at run time, only the relations it makes count (not a SET);
# 182: Python's DDL of a name bound to no constant (`CREATE TABLE {name}`) counts as 179's;
# 183: an index named at run time (`CREATE INDEX ${sql(name)} ON t`) is no relation of 179's;
# 184: nor is a relation altered under such a name (`ALTER TABLE ${sql(t)} ADD ...`);
# 185: only a SQL tag's own `${sql('name')}` is read as 180's identifier
# 186: a supabase-js embed relates only tables of the request's schema (`auth.users`: DBS305);
# 187: a table check held in names, or around every call of a module's function, guards it;
# 188: what a test stores on a mock, and the input of a call whose result is only compared
# with text, are no statements;
# 189: a `{...}` is a format field only as `str.format` spells one;
# 190: a class whose method `type` returns another database's name (Redash's runners): skipped;
# 191: DataFusion is another engine (Airflow's `AnalyticsOperator(queries=...)`, `@task.analytics`)
# 192: a JavaScript/TypeScript file named by its date (`20230313000000-x.ts`) is a migration
# 193: the query knex's `.with('name', db.raw('...'))` takes is a CTE body, no statement
# 194: a schema made under a name known only at run time may be any schema the database lacks
# 195: a JS/TS `const` of names in an untagged template (`${TABLE}`) is its text
# 196: a `?` with no operand after it (knex's `col ?)`) is a syntax error, not an internal one
# 197: knex's `?::type` is a `?` parameter with a cast, as PostgreSQL's lexer reads it
# 198: a knex `raw` given to a builder's method (`.select(db.raw(...))`) is no statement
# 199: only a `raw` is: another query call given to such a method (`x.insert(c.query(...))`) is
# 200: the search-path warnings resolving said are kept, and said again by a fully cached run
# 201: InfluxDB is another engine (influxdb-python's `InfluxDBClient`, `influx_query(...)`)
# 202: a helper sending its parameter to another engine with holes filled in (`q.format(x)`, `q % x`)
# 203: a template whose first hole an operator follows (`sql.SQL("{col} = %s")`) is no statement
# 204: the tables of Trac's `Table('name', ...)` a module makes with `create_tables(schema)`
# 205: a SQL tag's template given to a builder's method (`.where(c, '=', sql`...`)`) is no statement
# 206: a SQL tag's helper writing SQL into its template (Kysely's `${sql.ref('t.c')}`) is no parameter
# 207: `${this.NAME}` of a `private readonly` string field in an untagged template is its text
# 208: a JS/TS `let` read right after a statement assigning it is that value alone
# 209: Django's `connections["clickhouse"]`, an alias naming another engine, is that engine's
# 210: a statement sent to another engine and to an unknown client's `query` is that engine's
# 211: a django-pgtrigger trigger's `func=` is a PL/pgSQL body, no statement
# 212: an outcome keeps the relations a column finding was looked for in (`excluded`'s target)
# 213: a drizzle table or named column of the project's drizzle schema in its `sql` is that name
# 214: a SQL tag's template a callback given to a builder's method returns is no statement
# 215: a class or function imported relatively from a package named for another engine is its
# 216: a file named by a number in a folder of upgrades (`sql/upgrades/185.sql`) is a migration
# 217: a CTE body a function lists as (name, body) and writes as `f"{name} AS ({body})"` is none
# 218: a PostgREST JSON key is any characters but `(-:.,>)` (`data->>@type`): the select is read
# 219: an rpc function returning a view's rows (`RETURNS SETOF v`) is read as the view
# 220: a PostgREST computed relationship certain to lead to one relation is embedded as it
# 221: a PostgREST select's name is a computed field only for a function that may take a row
# 222: a PostgREST embed from or to a view by a column or foreign key's name is unknown
# 223: a cast after a PostgREST filter's column (`.eq('price::text', x)`) is dropped: `price`
# 224: what an engine's object held in `self.x` holds (`self.db.client`) is its connection
# 225: drizzle's `sql` in `.update(t).set({...})`/`.insert(t).values({...})` is a value there
# 226: checked in the UPDATE/INSERT drizzle sends it in (a `${...}` opening it is a value)
# 227: a PostgREST select is read as far as PostgREST reads it (`P.parse` with no `eof`)
# 228: a cast after a PostgREST filter's column, which PostgREST drops, is DBS312
# 229: knex's `??` in a raw's text is the identifier knex writes for its binding, or a hole
# 230: PostgREST: a range type's constructors are not DBS306, a filter key's trailing text is
#      ignored, an unreadable first select item is an empty select, `select('max')` is
#      `max(t)`, a related order on a to-many embed is DBS313
# 231: a known function given more arguments than sqlglot's signature is an overload's call
# 232: drizzle's `sql` in `onConflictDoUpdate`/`onConflictDoNothing`, re-exported by the
#      project's packages, and tables and clients reached from a package's entry point
# 233: a module loading PowerSync's client SDK (`@powersync/web`, ...) or a file of the
#      project named for it (`@/library/powersync/system`) sends its SQL to SQLite
#      and deno-postgres's `queryObject`/`queryArray` (calls and tags) carry SQL
#      and a Deno specifier (`npm:mysql2@3`, deno.land/x's `sqlite`) names its package
# 234: knex's named bindings: `:name:` the identifier knex writes, or a hole
# 235: a knex client renaming identifiers (`wrapIdentifier`, `knexSnakeCaseMappers({
#      upperCase: true })`) anywhere in the project makes every `??` and `:name:` a hole
# 236: `ORDER BY f(${x})` a function's argument; `c ? a<T>`x` : b<T>`y`` reads `y` too
# 237: `LATERAL schema.f(...)` read as the same call in a plain FROM item (was not analysed)
#      `dedent("...") % x` fills the literal's `%s`; a statement dbsafe failed on that
#      PostgreSQL's parser rejects is unparsed, as PostgreSQL says
# 238: every built-in function in FROM has the columns pg_catalog gives it (was a short list
#      of set-returning ones); `g.abs` on a function's single value is `abs(g)`
# 239: `$1,$2` (no space between) two parameters, not a dollar quote's tag; `is(` a call;
#      `\gset` after SQL ends it; a hole after `&`, `|`, `#` a value
# 240: a JS `${x}` of an untagged template writing a clause or nothing is left out, as
#      Python's `{where}`; such a hole inside a subquery or CTE too
# 241: Exasol's and Apache Phoenix's drivers are other engines; a class attribute an other
#      engine's module reads nowhere (Redash's `noop_query`) is that engine's
# 242: a JS/TS module importing `D1Database` (`@cloudflare/workers-types`) sends its SQL to
#      Cloudflare D1, not PostgreSQL
# 243: a `:name` glued to a word before it (`system:keyspaces`, `arr[1:n]`) is sent as written,
#      never numbered as a placeholder (was an internal error)
# 244: SQL a call on a D1 binding of a Worker's environment sends (`env.DB.prepare(...)`, the
#      binding typed `D1Database` in the project's declarations) goes to Cloudflare D1
# 245: a D1 database destructured from a Worker's environment (`const { DB } = this.env`) or
#      named by a name or field typed `D1Database` (`db: D1Database`) sends its SQL to D1
# 246: a module importing a file of the project named for ClickHouse (`../clickhouse/client`)
#      sends its SQL there
# 247: a Python `if` that leaves the function (`if connection.vendor != "mysql": return []`)
#      guards the statements after it; Django's `connection.vendor` names the database's kind;
#      a wrapper's `fetchone(query=...)`/`fetchall(...)` (LNbits') is a sink
# 248: Apache Ignite's clients (`pyignite`, `pygridgain`, either imported under one name);
#      a D1 binding as a typed parameter destructured, an inherited field, withSession(),
#      drizzle-orm/d1 and drizzle's SQLite drivers; a `SET search_path` a Python function
#      sends on the cursor it reads through, followed (helper-287)
# 249: the lines of a statement a Python function lists and joins with white space are no
#      statements alone; SQLite's pragma table-valued functions read as tables are SQLite's
#      catalog (helper-291)
# 250: a table the schema has that a module's followed DDL (its migrations in code) creates and
#      alters is made for the others only with the columns that DDL adds or renames to (helper-297)
# 251: a `CREATE TABLE` pglast rejects (holes filled where a type goes) of a table the schema
#      has changes nothing: LNbits' m001 no longer leaves `apipayments` unfollowed (helper-298)
# 252: a drizzle client on D1 another module exports (`import { db } from './db'`) sends its
#      SQL to D1, not PostgreSQL (helper-301)
# 253: a call of a function, aggregate or procedure the schema lacks is DBS314 (helper-300);
#      pgTAP's, in a pgTAP test, is not; a `.sql` file including another (psql `\i`) is
#      opaque (helper-308)
# 254: a name bound once to SQL and read only as `RawSQL`'s statement is a subquery of
#      Django's query, as the literal given inline was (Baserow's teams handler, helper-304)
# 255: a statement calling a built-in function of SQLite or MySQL/MariaDB that PostgreSQL
#      lacks is that engine's, not analysed (helper-309)
# 256: SQL a TypeORM handle sends (`this.dataSource.query`) in a JS/TS module loading
#      another engine's client too stays checked (Laudspeaker beside ClickHouse, helper-316)
# 257: JS/TS SQL in a branch run only on another engine (`if (process.env.DATABASE_URL
#      ?.startsWith("mysql://"))`, the `else` of `isPostgres(db)`) is skipped (helper-321)
# 258: JS/TS SQL in a `case` of `switch (dialect)` reached only by other engines' names, or
#      in a branch of `["mysql", "mariadb"].includes(dialect)`, is skipped (helper-325)
# 259: a call of a function no shipped pg_catalog has, in a branch the code runs only on
#      other versions (`pg_xlogfile_name` in the `else` of `server_version >= 100000`), is not
#      analysed; `self.dbver < 9.2` tests the server's version (pghoard, pg_view, helper-324)
# 260: a hole after `@@`, `^@`, `~`, `!~` or `^` is an operand, a value: full text search's
#      `@@ websearch_to_tsquery('english', ${q})` no longer makes a statement dynamic (helper-332)
# 261: postgres.js's `sql.begin`/`savepoint` callbacks' clients are tags, node-postgres's query
#      configs (`{ text, values }`, `new Query({ text })`) and `/* SQL */`-marked literals are
#      read (helper-337)
# 262: what a statement sent to another engine creates is the module's DDL; a statement sent
#      after `alembic.command.downgrade(...)` is not validated; a `.sql` file a higher
#      `<N>_plus` sibling folder also holds is not sent to those majors (pgAdmin's templates);
#      `dialect.name == SupportedDialect.SQLITE` names the engine (helper-335)
# 263: a statement after `alembic.command.downgrade(...)` and then `upgrade(cfg, "head")` is
#      validated again: today's schema (helper-341)
# 264: a postgres.js client of another name (`const db = postgres(url)`, a parameter typed
#      `Sql`/`TransactionSql`) is a tag; `return tx<Row[]>`...`` is read (helper-349)
# 265: a dict bound to a name read only as `.extra(select=...)`'s, a class attribute read only
#      as `RawSQL(self.attr, ...)`'s are embedded in Django's query; cx_Oracle/oracledb
#      connections are Oracle's (helper-348)
# 266: pgtyped's parameters in a template of its tag (`$id!`, `$$ids`, `$$rows(a, b)`) are
#      what it sends, where each such statement was unparsable (helper-354)
# 267: a class attribute read as `RawSQL(self.attr)` is a subquery only where no `.attr` of the
#      module is read otherwise (a subclass sending it alone); what a parameter named `postgres`
#      makes is no postgres.js client (helper-356)
# 268: a module function's return called only into `.extra(select=...)` (also through
#      `args["select"] = {...}; .extra(**args)`) is embedded; a release-named `.sql` file in a
#      folder of upgrades or `changes` (NAV's `sql/changes/sc.05.19.0001.sql`) is a migration
#      (helper-357)
# 269: a UTF-16 file is skipped as UTF-16 text, no longer as a binary file; SQLite's functions
#      newer than 3.40 (`jsonb_patch`) are another engine's (helper-359)
# 270: a `$name` in a string literal of pgtyped's tag (a jsonpath's variable) is no parameter
#      of it, left as written (helper-362)
# 271: a `.sql` file sqlc's configuration compiles for another engine (`engine: "sqlite"`)
#      is that engine's, not validated (River's riversqlite queries, helper-364)
# 272: a `CALL`'s procedure checked as a call (DBS314) and its arguments' columns; a `DO`
#      block not analysed (both were ignored); a `sql`-tagged JS `CALL` taken (helper-365)
# 273: a `CALL` of a name that exists that no procedure takes (a function's: 42809; too many
#      or too few arguments, a name none has: 42883) is DBS314 (helper-374)
# 274: a release-named `.sql` file in a folder of upgrades or changes that only reads
#      (`SELECT ... FROM`) is the application's SQL, not a migration (helper-374)
# 275: a `CALL` or `PREPARE` after a comment is confirmed as one (its placeholders numbered;
#      the PREPARE's statement sent alone), not as text PostgreSQL refused or accepted whole
# 276: a Python string recorded as OpenTelemetry's `db.statement`/`db.query.text` attribute
#      is not a statement (Latitude's telemetry example, helper-377); a SQL tag's `${...}`
#      putting a fragment of the tag's writing a clause or nothing (`Prisma.sql`AND ...``,
#      `Prisma.empty`), and a clause-or-nothing hole right after a value's, leave the
#      statement checked (unsend's dashboard, helper-377)
# 277: a function defined in a branch takes the branch's tests; a statement sent only where a
#      table the schema has is missing is not analysed, `'x' not in tables: return` checks
#      `x`; `values` opening no VALUES list is a name; a string only logged and asserted on
#      is no statement; a `.sql` file a Python migration names is a migration (Nominatim,
#      Arches, AiiDA: helper-376)
# 278: `CALL lower()`, whose arguments sqlglot cannot read, has its procedure checked; a
#      `PREPARE ... AS` statement's `%s` placeholders are its parameters; minified JavaScript
#      (a committed bundle) is skipped; drizzle-kit 1.0's folder and a drizzle folder's
#      subfolders; a drizzle client on D1 behind a Proxy, or a default export, and a `.sql`
#      file an npm script runs with `wrangler d1 execute` are D1's (Latitude, vogelibizz,
#      hotmess-globe: helper-383)
# 279: a name built of text and a piece known at run time (`'users_rank_%s' % info`) that
#      DDL makes is, for the other modules, any name it may be; statements sent to
#      Databend are its own (pybossa, keep: task 392)
# 280: minified JavaScript has a line of 500 characters or more too (a module written by
#      hand as one long line is read again)
# 281: a string in the JSON body a Python module posts to an API (`client.post("/rules",
#      json=rule_data)`, not to a `/sql` or `/query` endpoint nor Hasura's run_sql) is no
#      statement (keep's rule, task 397)
# 282: a JavaScript string read as `X[key]` is none of the entries whose key an earlier
#      `if (key === 'k') return` leaves for (ANTON.IA: task 395)
# 283: statements given to sqlean.py's connections are SQLite's, those given to sqlglot's parser
#      (directly, through a static method, a function defined in the caller) not sent as
#      written; statements sent to Tinybird (a client named for it, a parameter annotated
#      with a class of the project's package for it) are its own (task 394)
# 284: `self.con` of a class declaring `con: sqlite3.Connection` (a dataclass field), and
#      `self.db.con` of one declaring `db` with such a class of the module, send to that
#      engine (Parsec's realm export reader: task 403)
# 285: a statement handed to a function of another module of the project that gives that
#      parameter to sqlglot's parser and never sends it (`extract.py_parsers`: Arize
#      Phoenix's `admit_sql(...)`) is not read; the index of those functions keys the cache
#      (task 406; 284 is main's, taken meanwhile)
# 286: a migration statement refused only because what it makes exists already (42P07,
#      42710) leaves that relation's columns known (Parsec's `datamodel.sql`); `sql = "..."`
#      completed by literal `sql += "..."` pieces is read whole, once per path
#      (folksonomy_api: task 409)
# 287: a `pytest.mark.parametrize` value (in the decorator, or in a module constant only
#      decorators read) whose test hands the name it binds only to such a function, to
#      sqlglot or to another engine, or asserts on it (Phoenix's `admit_sql(sql, ...)`), is
#      that consumer's, not read (task 411)
# 288: a supabase-js payload (or `.rpc()` arguments, `.match()` object) that is a parameter
#      typed with an object type literal is read as the keys that type always holds (revcom's
#      `createListing(payload: { title: string; ... })`: task 414; 286-287 are main's)
# 289: Kysely query-builder chains (`db.selectFrom('t').select([...]).execute()`) of a project
#      whose clients are made without plugins or with `CamelCasePlugin()` are read as the
#      statement they compile to (`extract.kysely`, `extract.kysely_clients`: task 417)
# 290: a JS/TS file holding a NUL byte in a string, template literal, comment, regex or JSX
#      text is read (it was skipped as a binary file; a query holding one is not judged); a
#      `.py` one is skipped saying Python refuses it (task 424)
# 291: a Kysely chain on a client imported from a module of the project (`import { db } from
#      './db'`, an alias, a barrel, a workspace package) is read as that client's options
#      say; one on a client made in its file, as its own; a client made only for Kysely's
#      Migrator no longer leaves typed clients unknown (Docmost: task 423)
# 292: a schema a job-queue package the project depends on makes at run time
#      (graphile-worker's `graphile_worker`, pg-boss's `pgboss`) is unknown, not missing:
#      what reads it is not analysed (OpenPipe's Kysely chain: task 426)
# 293: a job queue's schema is unknown where any package of the project depends on its
#      package too (a monorepo's worker beside the migrations' package)
# 294: an Atlas project's declared schema file is the schema's source (`schema_files`), not
#      a migration left to lint
# 295: the table a Keyv PostgreSQL store makes when it opens (`new KeyvPostgres({ schema,
#      table })`, `public.keyv` by default) is unknown, not missing (Tianji's cache cleanup:
#      task 437); it keys the cache
# 296: a Python statement in a branch the code takes only where an extension is installed
#      (`if is_timescale:` on a row fetched from `pg_extension ... extname = 'timescaledb'`)
#      is not analysed where the schema lacks that extension (pgai's loader: task 436)
# 297: a Kysely chain on a subclass of Kysely (what its constructor gives `super(...)`), on
#      what a function returning `new Kysely(...)` (or typed to return a client) gives, on a
#      member of a class typed as a client (`db.db` of bluesky's `Database`), or beside a
#      `withPlugin(...)` of a plugin that passes its query through, is read (quotes,
#      atproto: task 432)
# 298: a call in a query of a function the schema has, with a count (or names) of arguments
#      no overload takes, is DBS314 (pgmq's `pgmq.create($1, $2::text, $3::text)`: task
#      441)
# 299: a string given to the project's own function or class method that sends that
#      parameter unchanged through a PostgreSQL driver call (`pquery(text, params) =>
#      pool.query(text, params)`, blockchain-explorer's `PgService.getRowsBySQlQuery`) is
#      read as a statement at the call; the index of those wrappers keys the cache
#      (`extract.js_wrappers`: task 443)
# 300: a `setup-sql` file is the schema's source (`schema_files`): its tables are no longer
#      "made by another SQL script", which left a query reading them not analysed
# 301: a folder named for migrations after a word and `-` or `_` (Omnivore's
#      `elastic_migrations`) holds migrations, not validated; postgrator's `.undo.` files
#      are down migrations, not applied when the schema is built (task 444)
# 302: a string given to a dataclass of the project whose field every read in the project
#      only hands to sqlglot's parser (`AdmissionCase(sql=...)` read as `case.sql`,
#      `ExecuteParams(sql=...)` parsed, logged and kept beside the rewritten statement) is
#      not read (`extract.py_parsers` follows fields: Arize Phoenix, task 431)
# 303: valid PostgreSQL sqlglot refused is read as PostgreSQL reads it, its columns checked:
#      a schema-qualified function named by a keyword (`FROM pgmq.delete(...)`), an array of
#      an object identifier type (`%s::oid[]`), a call of a function named `convert`
#      (Liberapay's; sqlglot read MySQL's `CONVERT(value, type)`) (task 442)
# 304: a drizzle view's definition (`pgView('v', {...}).as(sql`...`)`, a `pgSchema`'s
#      `.view(...)`, `pgMaterializedView`) is not validated: drizzle-orm sends the view's name,
#      drizzle-kit the body in a migration (rocket-path-ai's pulled schema, task 451)
# 305: migrations named outside the project (`--sql-migrations ../schema`) are its root's:
#      the root's code is validated against them though the root keeps migrations of its own
#      (it was all "the code of ., which keeps migrations of its own": a silent pass)
# 306: the project's wrappers of a PostgreSQL driver call are also followed through a
#      module re-exporting them (`export * from './db'`), a wrapper of another module's
#      wrapper, a method of an object literal (`module.exports = { all: (t, p) =>
#      pool.query(t, p) }`), and a wrapper of a pool another module loading a PostgreSQL
#      driver makes (`import { pool } from './pool'`); a class's methods are not when a
#      class of the project extending it declares one again (task 449)
# 307: the "not analysed" reason of a statement on what the schema cannot describe names
#      the packages that make their tables at run time (a job queue's schema, a Keyv
#      store's table) and the migrations dbsafe did not run, not only failed statements
#      and stand-ins (task 454)
# 308: a string a call certainly sends to PostgreSQL (a wrapper of the project, a client of
#      node-postgres or postgres.js the code shows) is a statement whatever the case of its
#      keywords when PostgreSQL's parser reads it (`runSql("Select * FROM groups ...")`:
#      Roster-App's 19 calls; task 455)
# 309: a Python statement held in a name and extended at the call (`sql + " ORDER BY id"`,
#      `sql % (clause,)`) is read whole where the name holds the literal reaching the call,
#      one completed by `+=` literals, or literal pieces; else its DBS304 note names the
#      whole expression where it starts, not the literal piece after the hole (task 457)
# 310: a Python statement literal bound in branches and extended at the call (`if a: sql =
#      "... FROM users u"` / `else: ...`, then `sql + " JOIN teams t ..."`, `sql % (clause,)`)
#      is read with the rest on each path; a literal whose name is built into a longer string
#      (`"%s JOIN ..." % (sql,)`, `.format(sql)`, `" ".join([sql, ...])`, an f-string field),
#      bound once or several times, is never read alone (task 460)
# 311: a Python statement literal written straight into a longer string at the sink
#      (`" ".join(["SELECT ... FROM users u", join_clause])`, `"{} JOIN ...".format("SELECT
#      ...")`) is read with the rest, or the call noted; never the literal alone (task 461)
# 312: a JS/TS SQL template given to a function of the file that writes the parameter into a
#      `${...}` of its own SQL template (`claim(models, Prisma.sql`SELECT ... FROM claimed`)`
#      into `WITH claimed AS (...) ${selection}`) is a piece of that query, not read alone;
#      a failed `REFRESH MATERIALIZED VIEW` is no DBS006 (rows only) (task 468)
# 313: supabase-js strings chosen by one name's value are checked together: `.from(
#      X[kind])` with `.select(kind === 'post' ? 'id, body' : 'id')` sends `body` only to
#      `X.post`; `X[kind]` is none of the entries an `if` around it rules out (its `else` of
#      `kind === 'video'`); a `for (const kind of ...)` name is never written; a DBS304 note
#      on such a request is one, not one for each table; `{ a: 'x', ... }[kind]`, an object
#      literal subscripted where it is written, is each of its entries (task 467)
# 314: a multi-line Python literal of a CRLF file is read as Python reads it (each `\r\n`
#      one `\n`; it was "the literal could not be mapped", a DBS304 note); a migration
#      statement refused for an extension's operator class or type (pg_trgm's `gin_trgm_ops`)
#      leaves every function unknown, one refused for a missing function leaves that one
#      unknown: no DBS314 for them (task 473)
# 315: a supabase-js table or select given by a call of a function of the file returning one
#      of several strings is each of them, a parameter standing for what the call passes
#      (`selectFieldsFor(result.data)` goes with `TABLE_MAP[result.data]`); a property never
#      assigned names a value too; a DBS301 on `.from('platform.tenants')` says to use
#      `.schema('platform')` (task 474; 314 is task 473's)
# 316: a JS/TS module is a migration only where it exports an `up` and a `down` bound to a
#      function, as its runner requires (`dbsafe.extract.js_steps`): Kener's `let up = 0;
#      let down = 0;` counters, a local `function up()`, a class no export hands out are
#      application code, validated (task 472)
# 317: the schemas job-queue packages and the tables Keyv stores make at run time are
#      unknown, not missing, also against Atlas's declared schema and the `schema-file`
#      (they were false DBS301s); the job queues' schemas key the cache too (task 478)
# 318: a Python statement sent before an upgrade to a named revision or version (alembic's
#      `command.upgrade(cfg, "rev")`, swh's `swh_db_upgrade(conninfo, module, 7)`), the first
#      migration call after it, is on an earlier schema: not validated (task 481).
# 319: a list of columns given another number of values (an INSERT's column list and its
#      VALUES rows or SELECT, an INSERT without one and its table's columns, the rows of a
#      VALUES, a multi-column SET and its row or sub-SELECT) is DBS315, 42601 (rodhaj's 8
#      columns from 7 values: task 477)
# 320: a JS/TS SQL template a function of the file returns, called only inside `${...}` of
#      SQL templates, is a piece of those queries, not read alone; project files named for
#      DuckDB or MotherDuck (`./initMotherDuck.js`) and `@duckdbfan/drizzle-duckdb` say a
#      module's SQL is DuckDB's; a folder keeping better-auth's generated
#      `better-auth_migrations/` SQL is another application; Sails' `sendNativeQuery` sends
#      SQL (task 480, 319 in its clone; 318 is task 481's, 319 task 477's)
# 321: a cast to a type the schema lacks (`%s::cook_type`, renamed by a migration) is
#      DBS316, unless the type may be an extension's, a failed migration statement's or
#      the file's own DDL's (task 486; 319 in its clone)
# 322: `ANALYSE t` (the British spelling) is an ANALYZE, ignored, no longer unparsable
#      (task 487)
# 323: a postgres.js client another module of the project exports (`const db =
#      postgres(url); module.exports = db`, `export const sql = postgres()`, re-exported too) is a
#      tag where it is imported (`const db = require('../config/db')`, then ``db`SELECT ...` ``):
#      `JsWrapper.tag`, each module's facts `s` (task 488)
# 324: a function of the module returning another engine's client or `None` (Tendenci's
#      `get_salesforce_access()`) gives that engine's client (task 498)
# 325: a Python statement sent before a project function's upgrade to a named revision
#      (Renku's `run_migrations_for_app("common", "1ef98b967767")`, which makes alembic's
#      `command.upgrade(cfg, revision)`), or after its downgrade, is on an earlier schema:
#      not validated, as alembic's own calls (`extract.py_migrations`; task 501)
# 326: a `let` read after a `switch` that assigns it in every case (a `default` too; cases
#      may `throw`/`return`) holds only those values there, not its initializer
#      (pos-lia-hair's `let tableName = ''`, a false DBS301 on ``; task 503)
# 327: a function of another module of the project returning another engine's client or
#      `None` (Tendenci's `get_salesforce_access()`, imported from `base/utils.py`) gives
#      that engine's client where it is imported (`extract.py_clients`; task 505)
# 328: a supabase-js request through a client of another Supabase project (made from an
#      environment variable the project's env example gives another hosted project's URL,
#      `YUHINKAI_SUPABASE_URL`, or from a hard-coded `https://<ref>.supabase.co` not the
#      project's own ref) is not analysed: "sent to another Supabase project"
#      (`PostgrestRequest.project`, `validate.supabase_projects`; nihontowatch's 97 false
#      DBS301/DBS306: task 506)
# 329: a pgTAP test's call of pgTAP's functions is known before what the schema cannot
#      describe: beside an extension that failed (whose functions may be of any name) its
#      `select ok(...)` is analysed, not "may use what the schema cannot describe"
#      (Tuturuuu's 2,363 statements; task 515)
# 330: PostgreSQL 17's system catalog is shipped: `target-version = 17` (or a Supabase
#      project's `[db] major_version = 17`) checks catalog columns and built-in functions'
#      columns against 17's, no longer leaving them unchecked; a call gated away from every
#      known version says "which PostgreSQL 15, 17 and 18 lack" (task 517)
# 331: information_schema's relations are in the shipped catalogs (and read from a live
#      server): with a known major version `information_schema.colums` is DBS301 and
#      `columns.colum_name` DBS302, a correct read is analysed, no longer "columns of
#      `columns` are unknown" (Tuturuuu's 54 statements; task 525)
# 332: a supabase-js embed's DBS305 names its hint in its subject
#      (`public.games->members!fk_games_members`), and the `Database` types' `Relationships`
#      are read: a foreign key they list and no migration makes is DBS317, not DBS305
#      (wl-ttrpg-club's 24; task 522)
# 333: a statement reading `s3object` is Amazon S3 Select's, and a string given to another
#      program on its command line (`subprocess.run(["ogr2ogr", ..., "-sql", ...])`) is
#      that program's: not analysed (task 521)
# 334: a string given to Prisma's `$queryRawUnsafe`/`$executeRawUnsafe` is read whatever the
#      case of its keywords (check24challenge's 5), and a statement calling a built-in
#      function of Amazon Aurora PostgreSQL (`aurora_replica_status()`) is not analysed,
#      not DBS314 (Stack Auth's 3; task 533)
# 335: a statement the code sends only where `SELECT to_regclass('x')`, fetched just before,
#      found `x` (or only where it did not) is guarded as under `has_table("x")`: not
#      reported for `x` (MAAS's `dbupgrade`, 2; task 534)
# 336: a supabase-js client held as `$supabase.client` (a Nuxt plugin's `provide`) is read
#      (TarkovTracker's 22 requests), and an `ALTER PUBLICATION ... ADD TABLE` of one table
#      refused as "already member" leaves the table known (its 3 selects of dropped columns,
#      no longer "not analysed"); an embed naming a foreign-key column or constraint the
#      `Database` types list is DBS317, not DBS305 (Coursify's 5 `parent (...)`; task 540)
# 337: a statement calling a name another engine's built-ins share that the project makes
#      (PostGIS's `ST_AsText` beside its failed `CREATE EXTENSION postgis`, a function the
#      file's DDL makes) says so, not "SQL for MySQL/MariaDB"; a `setval('s', ...)` of a
#      sequence the file made says "uses what DDL earlier ...", not "may be an extension's
#      relation" (MapSwipe's 6, MAAS's 10; task 542)
# 338: a string constant another module of the project exports (`export const USERS_TABLE =
#      `users``, an `as const` object's or a TypeScript enum's member, re-exported too),
#      imported through a relative path, a tsconfig `paths`/`baseUrl` alias or a workspace
#      package, is that string where it is read: `.from(USERS_TABLE)`, `${sql(TABLES.USERS)}`
#      are checked, no longer DBS304 (makerkit's 15, dash's 9; `extract.js_constants`,
#      `SqlNames.constants`); `${sql('name')}` is postgres.js's identifier helper also in a
#      module not loading postgres.js where the project depends on it and on no other `sql`
#      tag's client (`SqlNames.postgres_js`: dash's `query(async (sql) => ...)`; task 547)
# 339: a Python module of a newer Python (PEP 695, 696, 701, 750, 758, `lazy import`) is read
#      through libcst's rewrite into 3.11 syntax, its statements at their lines and columns,
#      no longer skipped; a t-string psycopg's `execute` sends has parameters `$n` (task 550)
# 340: a `Database` types file opening with a UTF-16 byte order mark (Windows PowerShell's
#      `supabase gen types ... > types.ts`) is read as DBS317's witness (blunari's), and DDL
#      sqlglot refuses (`LANGUAGE sql SECURITY DEFINER`) is ignored as DDL, no longer
#      unparsed (pain-point-studio's seed; task 557)
# 341: a CommonJS module's exports (`module.exports = { USERS_TABLE, TABLES: {...} }`,
#      `exports.X = ...`, read as `require`d), a default export and `export * as ns` name
#      tables as exported string constants do (task 560)
# 342: a statement reading Oracle's data dictionary (`all_tables`, `user_constraints`) the
#      schema lacks is Oracle's, not analysed; a string in the payload of an HTTP request to
#      a host naming another engine (`http://influxdb:8086/query`) is sent to it (task 556)
# 343: the `Database` types' `Args` are read (each overload's parameters); a DBS306 of an
#      `.rpc()` holds the names of the arguments it sends ("Arguments sent"), and is DBS317
#      when one overload the types list takes them, also of a function the migrations make
#      with other arguments (blunari's `provision_tenant`), the error when none does (task 567)
# 344: a statement reading only temporary tables its file makes one way (`CREATE TEMP TABLE
#      scratch AS SELECT ...`, no other DDL of that name) is prepared by PostgreSQL after it
#      makes them: analysed, or DBS302 where it refuses a column, no longer "uses what DDL
#      earlier in this file created or changed" (osmose-backend's analysers; task 569)
# 345: drizzle-orm's history table read outside the schema the folder's database has it in
#      (`drizzle_admin.__drizzle_migrations`, a `migrationsSchema` the code names) is
#      unknown, not missing (PageSpace's trust-plane database: task 570)
# 346: in a Supabase project, a test's finding of what only its seed files (`[db.seed]
#      sql_paths`) make is not analysed, the application's says the seed makes it and is
#      not DBS317 (capgo's `tests/test-utils.ts`, pain-point-studio's e2e; task 576)
# 347: a local alias of what an import binds (`const userTables = constants.tables.user`,
#      `const { user } = constants.tables`), a `let`/`var` bound to a `require` the module
#      never assigns again, and the CommonJS half of a module mixing ESM and CommonJS
#      exports name tables as exported string constants do; a member written through an
#      alias (`const t = constants.tables; t.old = ...`) is no constant (task 577)
# 348: a module's SQL constant that the modules importing it send only to another engine is
#      that engine's, not checked (course-discovery's Snowflake queries in `constants.py`,
#      `py_clients.constants_sent_elsewhere`: task 574)
# 349: a table `SELECT ... INTO TEMP x` makes is made for its readers as `CREATE TEMP TABLE x
#      AS` (sent `CREATE TEMPORARY TABLE x AS ... WITH NO DATA`), and every column
#      PostgreSQL refuses in a statement reading temporary tables is DBS302, not only the
#      first (the confirm step's repair rounds, `confirm.repaired`: task 598)
# 350: a JavaScript client a `let`/`var` holds (every value it is given one, `null`,
#      `undefined` or none first) or a function returns is followed (`_Reader._held_by`); a
#      wrapper testing its text (`if (!sql)`) or logging it (`logDebug(sql)`) is one (task 585)
# 351: the files a `schema-file` includes (`\i`, `\ir`) run where it includes them, and are
#      "the `schema-file`", not migrations left to lint (Field-TM's `init/0-main.sql`: task 591)
# 352: without `target-version`, where PostgreSQL confirms (the schema the migrations build),
#      catalog columns are checked against every shipped version's catalog at once
#      (`syscatalog.any_version`): `pg_stat_activity.aplication_name` is DBS302 (task 608)
# 353: `self.x = param` of an `__init__(self, param=None)` whose annotation names no client
#      and which no call of the class in the module gives another value no longer cancels
#      the class's other stores to `self.x` (`await aiosqlite.connect(...)`): tiled's
#      `AccessTagsParser` statements are SQLite's (task 610)
# 354: a JavaScript client held on a member is followed where the module shows every value of
#      it: `globalForDb.pool` / `globalThis.pgPool` / `global.__db` (the global object or a
#      `const` naming it), a class's `this.pool` (its field, writes and getter), and `a ?? b`,
#      `a || b` of clients (`_Reader._member_values`: task 604)
_CACHE_VERSION = 354
# A project-wide scan's memo (`_kept_by_stat`) keeps each file's facts by its path from the
# project's root (2; 1 was the path as the run found it, which a run given a subfolder, or
# started in another folder, named otherwise and read the whole project again)
_MEMO_FORMAT = 2
_SETTLED = 2  # seconds a file must have been left alone before its status is trusted
_MIGRATION_KEY = "migration:"  # a status's key for a migration file, before its kind
DECLARED_SCHEMA = "declared schema"  # the kind of an Atlas project's schema file
SCHEMA_FILE = "schema-file"  # the kind of the `schema-file`
SCHEMA_FILE_INCLUDE = "schema-file include"  # a file it includes (`\i`, `\ir`)
SETUP_SQL = "setup-sql"  # the kind of a `setup-sql` file
_COUNT_KEYS = ("statements", "statements_analysed", "statements_not_analysed",
               "statements_unparsed", "statements_ignored", "statements_dynamic")


@dataclass(frozen=True, slots=True)
class Candidate:
    """A static finding awaiting PostgreSQL, with where its reference sits in `sql`."""

    finding: Finding
    sql: str
    start: int  # offsets of the offending identifier in `sql`, inclusive
    end: int
    requires_version: int | None = None  # see `Problem.requires_version`
    catalog_version: int | None = None  # see `Problem.catalog_version`
    # `sql` as it goes to PostgreSQL, its driver placeholders numbered (`confirm.rewrite`),
    # made by the worker that resolved it, from the resolver's own parse; None: to be made
    # when needed.
    rewrite: Rewrite | None = None
    sqlstates: tuple[str, ...] = ()  # see `Problem.sqlstates`

    @property
    def name(self) -> str:
        """The identifier as PostgreSQL would print it (folded unless quoted)."""
        return identifier_at(self.sql, self.start, self.end)


@dataclass
class FileOutcome:
    """What one file produced. `candidates` still await confirmation by PostgreSQL."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    # The relations its DDL creates or alters (unqualified, folded) and the schemas it
    # creates, which the project's other scripts (of a `.sql` script, a `.sql` migration
    # outside the schema's folder) or modules (of code) may read (`_made_elsewhere`).
    made: frozenset[str] = frozenset()
    # Of what a module of code makes that the schema has as a table, where its DDL is
    # followed, the columns that DDL can give it (`dbsafe.validate.given_columns`): a column
    # none of them is read of it is missing there too.
    given: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Of each statement counted analysed with candidate findings, where they are: one of
    # them left unchecked by `_made_elsewhere` makes the statement not analysed.
    analysed_with_findings: list[tuple[Location | None, ...]] = field(default_factory=list)
    # Of each column finding whose column may be in relations its subject does not name
    # (`excluded.category`: the INSERT's target's; an unqualified column's: each relation in
    # scope), at its location, those relations (unqualified, as `made` holds them).
    looked_in: dict[Location, tuple[str, ...]] = field(default_factory=dict)
    # Statements reading temporary tables the file makes one way, for PostgreSQL to judge
    # after making them (`_judge_after_temp_tables`): counted once it has. Never cached:
    # judged before the outcome is stored.
    deferred: list[Deferred] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Deferred:
    """A statement reading temporary tables its file makes one way
    (`validate.temp_tables`), to be prepared after its `creates` run."""

    fragment: SqlFragment
    creates: tuple[str, ...]  # the CREATE TEMP TABLEs, as sent, in order
    sent: Rewrite  # the statement as PostgreSQL gets it
    tables: tuple[str, ...]  # the temporary tables it reads (folded)
    reason: str  # why it is not analysed when PostgreSQL gives no verdict
    # what the schema cannot describe (`validate.unknown`) is not nothing: a temporary table
    # made from a relation a failed migration statement changed may lack a column
    # production gives it, so a refusal is no finding
    schema_incomplete: bool = False


def scan(paths: Sequence[Path], source: SchemaSource, settings: Settings,
         catalog: dict[str, RuleInfo]) -> Report:
    """Validate the SQL in `paths` against `source`; see the module docstring."""
    from dbsafe.extract.files import FolderNames, ProjectFiles, require_existing, too_large
    from dbsafe.extract.migration import MigrationFolders, migration_kind, yoyo_python_steps
    from dbsafe.extract.migration_sql_files import run_by, sql_files_named
    from dbsafe.extract.suppressions import apply as apply_suppressions

    root = settings.project_root
    require_existing(paths)
    unreadable: list[tuple[str, str]] = []
    # (the project-wide indexes read the whole project, whatever the run was given: walked
    # once for all of them, without the folders the run's own walk listed)
    walk = ProjectFiles(list(paths), root=root, exclude=settings.exclude, unreadable=unreadable)
    files = walk.files
    if not files and not unreadable:
        log.warning("no source files (.sql, .py, .js, .ts, .vue, .svelte, .astro) found in %s; "
                    "nothing was validated",
                    ", ".join(str(p) for p in paths) or "no paths")
    confirming = settings.confirm and source.can_confirm
    from dbsafe.validate.syscatalog import for_run

    target_from = None  # where the target version came from, when not given
    if not settings.target_version:
        found = _supabase_target(source, root)
        if found is not None:
            settings = replace(settings, target_version=found[0])
            target_from = found[1]
    system_catalog = for_run(source, settings.target_version, confirming)
    exposed = _exposed(source, root)
    # The schema's own folder of migrations is one whatever it is named (`db/migrate`).
    folder_names = FolderNames()  # each folder listed once, for both
    reader = application_reader(
        settings, walk, schema_folder=source.sql_folder.path if source.sql_folder else None,
        other_applications=source.other_applications(root, folder_names), names=folder_names)
    js_names, supabase = reader.js_names, reader.supabase
    py_parsers, py_migrations, py_clients = reader.py_parsers, reader.py_migrations, \
        reader.py_clients
    cache = _Cache.open(settings, source.cache_key(), confirming, system_catalog, exposed,
                        js_names, py_parsers, py_migrations, py_clients, supabase)

    outcomes: dict[str, FileOutcome] = {}
    keys: dict[str, str] = {}
    scanned: list[str] = []  # every file analysed or answered from the cache
    directive_texts: dict[str, bytes] = {}  # only the files that hold `dbsafe:` at all
    misses: list[tuple[Path, str, bytes]] = []  # relative path resolved once, content read once
    run_sql: set[tuple[str, ...]] = set()  # the `.sql` files the migrations read run
    migration_folders = MigrationFolders(
        source.sql_folder.migration_folders() if source.sql_folder is not None else [],
        stop=root,
        names=folder_names)
    for unlisted, reason in unreadable:  # its files were never seen: a skip, not a clean run
        outcomes[unlisted + "/"] = _skipped_file(unlisted + "/", f"cannot read folder: {reason}")
    # Atlas's declared schema (`atlas.hcl`'s `src`): the schema's source, no migration.
    declared = {str(f.resolve()) for f in source.sql_folder.files} \
        if source.sql_folder is not None and source.sql_folder.files else set()
    # The files the `schema-file` includes (`\i`): they make the schema as it does.
    included = {str(p.resolve()) for m in source.sql_folder.read() for p in m.includes} \
        if source.sql_folder is not None and source.sql_folder.schema_file else set()
    # `setup-sql`: what the database gets before its first migration, no application SQL
    # (the tables it makes were "made by another SQL script", the queries reading them not
    # analysed: redash's create_all() tables, given so)
    setup = {str(f.resolve()) for f in settings.setup_sql}
    for path, rel in files:
        if setup and str(Path(path).resolve()) in setup:
            outcomes[rel] = _migration_file(rel, SETUP_SQL)
            continue
        if included and str(Path(path).resolve()) in included:
            outcomes[rel] = _migration_file(rel, SCHEMA_FILE_INCLUDE)
            continue
        if migration_folders.holds(path):
            # (yoyo's Python migrations of SQL steps the schema's build ran: lint reads them)
            outcomes[rel] = _migration_file(
                rel, (SCHEMA_FILE if source.sql_folder and source.sql_folder.schema_file
                      else DECLARED_SCHEMA) if declared and str(Path(path).resolve()) in declared
                else "yoyo migration" if rel.endswith(".py") and yoyo_python_steps(Path(path))
                else "migration")
            continue
        # Another application's migrations are still migrations (left to lint).
        application = reader.other_application(path)
        # So are another engine's. Decided here, not cached: its sqlc.yaml may change alone.
        other_engine = reader.other_engine(path)
        seen = cache.unchanged(rel, path)
        if seen is not None:
            # Same size, times and inode as when its outcome was stored: not read again.
            key, has_directives = seen
            if key.startswith(_MIGRATION_KEY):
                recorded, _, facts = key[len(_MIGRATION_KEY):].partition("\n")
                made_names, runs = json.loads(facts) if facts else ([], [])
                run_sql.update(tuple(r) for r in runs)
                outcomes[rel] = _migration_file(rel, recorded, frozenset(made_names))
                continue
            if other_engine is not None:
                outcomes[rel] = _skipped_file(rel, other_engine)
                continue
            if application is not None:
                outcomes[rel] = _other_application_file(rel, application, root)
                continue
            cached = cache.get(key)
            # A file with directives is read: applying them needs its text.
            if cached is not None and not has_directives:
                keys[rel] = key
                outcomes[rel] = cached
                scanned.append(rel)
                continue
        try:
            data, status = _read(path, settings.max_file_size)
        except _TooLarge as exc:
            outcomes[rel] = _skipped_file(rel, too_large(exc.size, settings.max_file_size))
            continue
        except OSError as exc:
            outcomes[rel] = _skipped_file(rel, f"cannot read: {exc.strerror}")
            continue
        kind = migration_kind(rel, data)
        if kind is not None:
            # Not the schema's own (those are held above): what its DDL makes is there for
            # the project's scripts, which run beside it (`_made_elsewhere`).
            made = _made_by_migration(rel, data) if application is None else frozenset()
            runs = sql_files_named(data) if rel.endswith(".py") else ()
            run_sql.update(runs)
            outcomes[rel] = _migration_file(rel, kind, made)
            cache.remember(rel, status, _MIGRATION_KEY + kind + (
                "\n" + json.dumps([sorted(made), runs]) if made or runs else ""), False)
            continue
        if other_engine is not None:
            outcomes[rel] = _skipped_file(rel, other_engine)
            continue
        if application is not None:
            outcomes[rel] = _other_application_file(rel, application, root)
            continue
        scanned.append(rel)
        if b"dbsafe:" in data:
            directive_texts[rel] = data
        keys[rel] = hashlib.sha256(rel.encode() + b"\0" + data).hexdigest()
        cache.remember(rel, status, keys[rel], rel in directive_texts)
        cached = cache.get(keys[rel])
        if cached is not None:
            outcomes[rel] = cached
        else:
            misses.append((Path(path), rel, data))

    if run_sql:
        # A `.sql` file a migration runs is a migration (`migration_sql_files`): read, and
        # perhaps cached, before the migration naming it was.
        taken = {rel for rel in (*outcomes, *(rel for _, rel, _ in misses))
                 if rel.endswith(".sql") and run_by(rel, run_sql)
                 and not (rel in outcomes and outcomes[rel].counts.get("migration_files"))}
        for rel in taken:
            outcomes[rel] = _migration_file(rel, "migration's SQL file")
            keys.pop(rel, None)
            directive_texts.pop(rel, None)
        misses = [miss for miss in misses if miss[1] not in taken]
        scanned = [rel for rel in scanned if rel not in taken]
    if misses or not keys:
        # Decoded only now, and not at all when every file read was cached; a run that
        # reads no file still decodes it, so a broken snapshot is never a clean run.
        snapshot = source.snapshot
        from dbsafe.validate.search_path import for_application

        said: list[str] = []
        snapshot = for_application(snapshot, settings, read_with_it=source.kind == "database",
                                   said=said)
        cache.said(said)
        from dbsafe.validate.unknown import Unknown, exists_already

        # A snapshot dumped from SQL migrations carries its own failures.
        folder = source.sql_folder
        # (one refused only because what it makes exists already made nothing)
        failed: list[str] = []
        existing: list[str] = []
        refusals: list[str] = []  # the failed ones' messages
        for sql, message in [*((f.sql, f.message) for f in source.failures
                                if not f.applied_later),
                             *((f.sql, f.message) for f in snapshot.failed_statements)]:
            if exists_already(sql, message, snapshot):
                existing.append(sql)
            else:
                failed.append(sql)
                refusals.append(message)
        unknown = Unknown.of(failed, snapshot,
                             folder.unrun_statements() if folder is not None else (),
                             folder.absent_files() if folder is not None else (), existing,
                             refusals)
        if folder is not None and (anywhere := folder.history_tables()):
            unknown = replace(unknown, anywhere=anywhere)
        for outcome in _analyse_all(misses, root, snapshot, settings.jobs,
                                    settings.max_file_size, settings.target_version,
                                    js_names, system_catalog, confirming,
                                    unknown or None, exposed, py_parsers, py_migrations,
                                    py_clients, supabase):
            outcomes[outcome.path] = outcome
    elif cache.warnings:
        # Every file answered from the cache, nothing resolved: what resolving said, said
        # again (it is the same schema and path: both are the cache's key).
        from dbsafe.validate.search_path import say

        say(cache.warnings)

    fresh = [outcomes[rel] for _, rel, _ in misses]
    if confirming:
        try:
            _confirm(fresh, source, settings)
        except _ConfirmationCut as cut:
            # What PostgreSQL gave every verdict on is kept (cached): a guarded run that tries
            # again (`guard.upgrade.waited`) prepares the files a lock cut, not every file.
            for outcome in fresh:
                if outcome.path in keys and all(outcome is not o for o in cut.incomplete):
                    cache.put(keys[outcome.path], outcome)
            cache.save()
            raise cut.error from None
    else:
        for outcome in fresh:
            outcome.findings.extend(c.finding for c in outcome.candidates)
            outcome.candidates.clear()
    for outcome in fresh:
        if outcome.path in keys:
            cache.put(keys[outcome.path], outcome)
    cache.save()

    _made_elsewhere(outcomes.values())
    seeded, withheld = _made_by_seed(outcomes.values(), source, root)
    # A name several statements share, written once (a `const` of columns two supabase-js
    # selects read, a query string two calls send), is one finding where it is written,
    # not one per statement: ANTON.IA's `LINKEDIN_PROFILE_TABLE_NAME` was four identical lines.
    findings = list(dict.fromkeys(f for o in outcomes.values() for f in o.findings))
    from dbsafe.validate.made_outside import made_outside

    # Before suppressions and severity overrides: what they name is the code users see.
    findings, recoded = made_outside(findings, source,
                                     lambda: _database_types(settings, walk.project()),
                                     kept=seeded)
    findings.extend(_failure_notes(source))
    findings = list(apply_suppressions(
        findings,
        read_source=lambda p: _directives_source(directive_texts.get(p)),
        known_codes=catalog,
        scanned_paths=scanned,
        checked_codes=[c for c in catalog if c.startswith(("DBS0", "DBS3"))],
        recoded=recoded,
        withheld=withheld,
    ))
    findings = select_findings(findings, select=settings.select, ignore=settings.ignore,
                               severity=settings.severity, recoded=recoded)
    _say_history_incomplete(source, findings)
    counts: Counter = Counter()
    skipped: list[Skipped] = []
    skipped_files: list[str] = []
    unread_files: list[str] = []  # skipped as bytes dbsafe could not read as source
    for outcome in outcomes.values():
        for name, count in outcome.counts.items():  # Counter.update: a call per file more
            counts[name] += count
        skipped.extend(outcome.skipped)
        if outcome.counts.get("files_skipped") and outcome.skipped:
            skipped_files.append(f"{outcome.path} [{outcome.skipped[0].reason}]")
            if not_read(outcome.skipped[0].reason):
                unread_files.append(skipped_files[-1])
    if files and len(unread_files) == len(files):
        # No file was read at all (a pg_dump archive named as `dump.sql`, files over the size
        # limit): "no findings" would be a pass of nothing; dbsafe could not do its job.
        shown = sorted(unread_files)
        raise SourceError("nothing was validated: no source file could be read ("
                          + "; ".join(shown[:3])
                          + (f"; {len(shown) - 3} more" if len(shown) > 3 else "") + ")")
    if files and len(skipped_files) - len(unreadable) == len(files):
        log.warning("every source file was skipped; nothing was validated")
    summary: dict[str, object] = {"files": len(files)}
    summary.update({k: counts.get(k, 0) for k in _COUNT_KEYS})
    summary["files_skipped"] = counts.get("files_skipped", 0)
    summary["migration_files"] = counts.get("migration_files", 0)
    summary["code_migration_files"] = counts.get("code_migration_files", 0)
    if counts.get("schema_files"):  # (Atlas's declared schema: no migration to lint)
        summary["schema_files"] = counts["schema_files"]
    summary["skipped_files"] = sorted(skipped_files)
    summary["confirmed_by_postgresql"] = confirming
    if settings.target_version:
        summary["target_version"] = _major_text(settings.target_version)
        summary["target_version_from"] = target_from or "target-version"
    skipped.sort(key=lambda s: (s.location.path, s.location.line, s.location.column))
    return Report(tuple(findings), summary, tuple(skipped))


# PostgREST's in-database configuration (`ALTER ROLE authenticator SET pgrst.db_schemas =
# ...`, or a `db-pre-config` function setting it), which overrides the `db-schemas` Supabase's
# CLI passes it from config.toml.
_POSTGREST_SCHEMAS_SETTINGS = (b"pgrst.db_schemas", b"pgrst.db_pre_config")


def _exposed(source: SchemaSource, root: Path) -> ExposedSchemas | None:
    """The schemas the project's PostgREST serves, from the config.toml of the `supabase`
    folder its schema's SQL migrations are in (else `supabase/config.toml` at the root),
    when the schema comes from a Supabase project's migrations; None otherwise (a database
    or snapshot: the exposed schemas of the project it is are set apart from its files), and
    where a migration sets them in the database (`_sets_postgrest_schemas`: the requests are
    then checked as those of a project without a list, not left unread)."""
    folder = source.sql_folder
    if folder is None or folder.platform != "supabase":
        return None
    from dbsafe.validate.postgrest import exposed_schemas

    config = _supabase_config(folder, root)
    exposed = exposed_schemas(config, display_path(config, root))
    return None if exposed is None or _sets_postgrest_schemas(source) else exposed


def _supabase_config(folder: SqlFolder, root: Path) -> Path:
    """The config.toml of the `supabase` folder the schema's SQL migrations are in, else
    `supabase/config.toml` at the project's root (which may not exist)."""
    return next((p / "config.toml" for p in _supabase_folders(folder.path, root)
                 if (p / "config.toml").is_file()),
                root / "supabase" / "config.toml")


def _supabase_target(source: SchemaSource, root: Path) -> tuple[int, str] | None:
    """(server_version_num, where it was read) of `[db] major_version` in the config.toml of
    a Supabase project whose migrations are the schema: the major version Supabase's CLI runs
    them on, and the hosted project's. Only a version dbsafe ships a system catalog for is
    taken (the catalog is what it gives: its columns are then checked); another is said
    once and gives no target, as if none were set. None too without a Supabase folder or
    without the setting."""
    folder = source.sql_folder
    if folder is None or folder.platform != "supabase":
        return None
    from dbsafe.extract.supabase_config import read_config
    from dbsafe.validate.syscatalog import shipped_majors

    config = _supabase_config(folder, root)
    db = read_config(config).get("db")  # ({} for no file, or one Supabase's CLI refuses)
    major = db.get("major_version") if isinstance(db, dict) else None
    if major is None:
        return None
    shown = f"{display_path(config, root)} [db] major_version"
    if isinstance(major, bool) or not isinstance(major, int) or major not in shipped_majors():
        log.warning("%s = %s: dbsafe has no system catalog of that version (it has %s); "
                    "catalog columns are not checked (set target-version to choose one)",
                    shown, major, ", ".join(str(m) for m in sorted(shipped_majors())))
        return None
    return major * 10000, shown


def _major_text(version: int) -> str:
    """A server_version_num as its major: 150000 -> "15", 90600 -> "9.6"."""
    return str(version // 10000) if version >= 100000 else f"{version // 10000}.{version // 100 % 100}"


def _supabase_projects(settings: Settings, schema_folder: Path | None,
                       project: Callable[[], list[tuple[str, str]]]) -> SupabaseProjects | None:
    """What the project's env examples and Supabase folders (its schema's, `supabase/` at
    the root) and its code (the refs its own URL falls back to, each file's facts kept by
    its stat: `extract.supabase_urls`) say of the Supabase projects its clients reach: a
    client of another's sends its requests to a schema these migrations do not describe
    (`validate.supabase_projects`). `schema_folder`: the schema's folder of SQL migrations.
    Read once a run that reads JS/TS."""
    from dbsafe.extract.supabase_urls import own_refs_in_code
    from dbsafe.validate.supabase_projects import supabase_projects

    root = settings.project_root
    files = project()
    paths = {rel for _, rel in files}  # (the files gone since are forgotten)
    code_refs = _kept_by_stat(settings, "supabase-urls", _CACHE_VERSION,
                              lambda memo: own_refs_in_code(files, memo), lambda _: paths)
    folders = _supabase_folders(schema_folder, root) if schema_folder is not None else []
    if (root / "supabase").is_dir():
        folders.append((root / "supabase").resolve())
    return supabase_projects(root, list(dict.fromkeys(folders)), code_refs)


def _sets_postgrest_schemas(source: SchemaSource) -> bool:
    """Whether a SQL file of the schema's folder of migrations, or of the `supabase` folder
    holding it, sets PostgREST's schemas in the database (`_POSTGREST_SCHEMAS_SETTINGS`):
    then config.toml's list is not the one served. Read once a run, where a Supabase
    project's config.toml lists its schemas."""
    folder = source.sql_folder
    if folder is None:
        return False
    # The outermost `supabase` folder holds the migrations and any inner one: read once.
    place = ([folder.path.resolve()] + _supabase_folders(folder.path, folder.root))[-1]
    for path in place.rglob("*.sql") if place.is_dir() else (place,):
        try:
            text = path.read_bytes().lower()
        except OSError:
            continue
        if any(setting in text for setting in _POSTGREST_SCHEMAS_SETTINGS):
            return True
    return False


def _supabase_folders(folder: Path, root: Path) -> list[Path]:
    """The folders named `supabase` from `folder` (resolved) up to the project's `root`,
    innermost first: where a Supabase project's config.toml and SQL files are."""
    home, top = folder.resolve(), root.resolve()
    return [p for p in (home, *home.parents) if p.name == "supabase" and p.is_relative_to(top)]


def _made_elsewhere(outcomes: Iterable[FileOutcome]) -> None:
    """Leave unchecked what a `.sql` script reads that another of the project's scripts
    creates or alters, and what a module of code reads that another module does: scripts
    are run together on one database (a pipeline's stages, each reading the tables the one
    before made), and an application's modules run in one process on one database (a
    payday module creating its temporary and working tables at run time, its tests reading
    them), so the relation exists when it runs. Scripts and code are kept apart: a script's
    table is not made for the application, nor a module's temporary table for a psql
    session. Applied to every file's outcome, cached or not, on each run: one file's change
    changes another's findings."""
    outcomes = list(outcomes)
    for kind in (".sql", "code"):
        group = [o for o in outcomes if (kind == ".sql") == o.path.endswith(".sql")]
        makers: Counter = Counter(name for o in group for name in o.made)
        if not makers:
            continue
        # For a column read of a relation: the files that may give it that column (every
        # maker, but a module whose DDL of it is followed and gives it no such column).
        givers = {name: [o for o in group if name in o.made] for name in makers}
        # Names made known only in part (`users_rank_` and a piece known at run time): a
        # name that fits one may be what its file made.
        patterns = [(o, _name_pattern(name)) for o in group for name in o.made
                    if NAME_HOLE in name]
        maker = "another SQL script" if kind == ".sql" else "another module"
        for outcome in group:
            kept = []
            unchecked = set()
            for finding in outcome.findings:
                column = (finding.subject or "").split(".")[-1] \
                    if finding.code == UNKNOWN_COLUMN.code else None
                name = next((name for name in _relations_of(finding, outcome.looked_in)
                             if any(o is not outcome and (column is None or column in o.given.get(
                                 name, (column,))) for o in givers.get(name, ()))
                             or any(o is not outcome and pattern.fullmatch(name)
                                    for o, pattern in patterns)), None)
                if name is not None:
                    outcome.skipped.append(Skipped(
                        finding.location or Location(outcome.path, 1),
                        f"not analysed: reads `{name}`, which {maker} creates or alters"))
                    unchecked.add(finding.location)
                else:
                    kept.append(finding)
            outcome.findings = kept
            # A statement with a reference left unchecked is not analysed, as one whose
            # reference its own file's DDL made is (`_analyse_fragment`).
            moved = sum(1 for where in outcome.analysed_with_findings
                        if unchecked.intersection(where))
            if moved:
                outcome.counts["statements_analysed"] -= moved
                outcome.counts["statements_not_analysed"] += moved


def _made_by_seed(outcomes: Iterable[FileOutcome], source: SchemaSource,
                  root: Path) -> tuple[set[Finding], list[Finding]]:
    """Of the findings of what the schema lacks, those of what only a Supabase project's
    seed files make (`validate.seeded`): a test's are left unchecked (it runs on the seeded
    local database; returned second: a directive silencing one is not stale), the
    application's code's say the seed makes it (returned first: the `Database` types,
    generated from a seeded database, are no witness for them). Applied to
    every file's outcome, cached or not, on each run, as `_made_elsewhere`; the seed files
    are read only when some finding may be of what they make."""
    folder = source.sql_folder
    outcomes = [o for o in outcomes if o.findings]
    if folder is None or folder.platform != "supabase" or not any(
            f.code in _MISSING_OBJECT_CODES or f.code == UNKNOWN_COLUMN.code
            for o in outcomes for f in o.findings):
        return set(), []
    from dbsafe.extract.files import in_tests
    from dbsafe.validate.seeded import in_application, in_tests_reason, read_seeds, seed_files

    files = seed_files(_supabase_config(folder, root))
    made = read_seeds(files, root) if files else None
    if not made:
        return set(), []
    seeds = {display_path(path, root) for path in files}
    rewritten: set[Finding] = set()
    withheld: list[Finding] = []
    for outcome in outcomes:
        test = in_tests(outcome.path)
        kept, unchecked = [], set()
        for finding in outcome.findings:
            maker = made.maker(finding) if outcome.path not in seeds else None
            if maker is None:
                kept.append(finding)
            elif test:
                outcome.skipped.append(Skipped(finding.location or Location(outcome.path, 1),
                                               in_tests_reason(*maker)))
                unchecked.add(finding.location)
                withheld.append(finding)
            else:
                kept.append(in_application(finding, maker[1]))
                rewritten.add(kept[-1])
        outcome.findings = kept
        # (as `_made_elsewhere`: a statement with a reference left unchecked is not analysed)
        moved = sum(1 for where in outcome.analysed_with_findings
                    if unchecked.intersection(where))
        if moved:
            outcome.counts["statements_analysed"] -= moved
            outcome.counts["statements_not_analysed"] += moved
    return rewritten, withheld


def _name_pattern(name: str) -> re.Pattern[str]:
    """What a name made known only in part (its unknown pieces `NAME_HOLE`) may be: its
    known text where it is, something in place of each piece.

    >>> bool(_name_pattern(f"users_rank_{NAME_HOLE}").fullmatch("users_rank_foo-dash"))
    True
    >>> bool(_name_pattern(f"users_rank_{NAME_HOLE}").fullmatch("users_rank"))
    False
    """
    return re.compile(".+".join(re.escape(piece) for piece in name.split(NAME_HOLE)),
                      re.DOTALL)


def _relations_of(finding: Finding,
                  looked_in: dict[Location, tuple[str, ...]]) -> tuple[str, ...]:
    """The relations (unqualified) a missing relation or column finding is about, or the
    schema of a missing schema's (its subject is the schema alone): a column's may be any
    of those it was looked for in (`FileOutcome.looked_in`), `excluded`'s the target's."""
    parts = (finding.subject or "").split(".")
    if finding.code in (UNKNOWN_TABLE.code, UNKNOWN_FUNCTION_CALL.code):
        return (parts[-1],)
    if finding.code == COLUMN_VALUE_COUNT_MISMATCH.code:
        # an INSERT without a column list: the relation whose columns were counted
        return looked_in.get(finding.location, ()) if finding.location is not None else ()
    if finding.code != UNKNOWN_COLUMN.code:
        return ()
    named = (parts[-2],) if len(parts) >= 2 else ()
    if finding.location is None:
        return named
    return (*looked_in.get(finding.location, ()), *named)


# PostgreSQL's message for a relation or function a migration statement uses that does
# not exist.
_UNDEFINED_RELATION = re.compile(r'42P01: relation "(?P<name>[^"]+)" does not exist|'
                                 r'42883: function (?P<function>\S+?\(.*?\)) does not exist')
# Findings of a relation or a function (a supabase-js `.rpc()`, a call in SQL) the schema lacks.
_MISSING_OBJECT_CODES = frozenset({UNKNOWN_TABLE.code, "DBS306", UNKNOWN_FUNCTION_CALL.code})


def _say_history_incomplete(source: SchemaSource, findings: Sequence[Finding]) -> None:
    """Warn, beside findings of relations the schema lacks, when the folder of migrations
    the schema was built from is not the whole history: a statement of it used a relation
    none of them made (42P01 on the throwaway; the migration ran in production, so
    production had it, made outside the migrations: in supabase's dashboard, by hand). A
    relation reported missing may then be one of those: the database tells. (PDSv6's one
    migration alters `chemicals` and `app_users`, made in the dashboard: 753 DBS301.) The
    same for functions: a migration calling one none of them makes (42883), a `.rpc()` of
    one the schema lacks (DBS306; hubfrete's 8 beside its 382 DBS301).

    A name a later migration makes is said so, with both files: the folder's order is not
    the order they ran (screen-easy's `organizations`); one a statement of them makes that
    failed itself, neutrally (`_history_wording`)."""
    if source.sql_folder is None:
        return
    uses = [(match["name"] or match["function"], failure.location)
            for failure in source.failures if not failure.applied_later
            if (match := _UNDEFINED_RELATION.match(failure.message))]
    missing = sum(1 for finding in findings if finding.code in _MISSING_OBJECT_CODES)
    if not uses or not missing:
        return
    folder = os.path.relpath(source.sql_folder.path, source.sql_folder.root)
    log.warning("%d finding%s name%s a relation or function the migrations in %s do not "
                "make%s; validate against the database (--database-url) to tell a misspelt "
                "name from one made there",
                missing, "" if missing == 1 else "s", "s" if missing == 1 else "",
                folder, _history_wording(source, uses))


def _history_wording(source: SchemaSource, uses: list[tuple[str, Location]]) -> str:
    """What the migrations' statements that used a relation or function before it existed
    (`uses`: its name, where) say of the history: the names none of them makes (they are
    not the whole history), those a later migration makes (`made_later.uses_before_made`:
    the folder's order is not the order they ran), those a statement of them makes that did
    not make it in time (neutral). Names are read from the folder again only here; one
    that cannot be read says nothing it does not know."""
    from dbsafe.core import DbsafeError
    from dbsafe.extract.migration import flyway_new_database
    from dbsafe.validate.made_later import Makers, uses_before_made

    assert source.sql_folder is not None
    try:
        makers = uses_before_made(uses, flyway_new_database(source.sql_folder.read()),
                                  source.snapshot)
    except (DbsafeError, OSError):
        makers = Makers({}, frozenset(name for name, _ in uses))

    def listed(names: list[str]) -> str:
        return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")

    used = sorted({name for name, _ in uses})
    nowhere = [name for name in used if name not in makers.later and name not in makers.made]
    parts = []
    if nowhere:
        parts.append(f", and they are not the whole history: they use {listed(nowhere)}, "
                     "which none of them creates (made outside them, in the dashboard or by "
                     "hand)")
    for name in sorted(makers.later)[:5]:
        user, maker = (os.path.basename(path) for path in makers.later[name])
        parts.append(f"; {user} uses {name}, made only by a later migration, {maker}, "
                     "which sorts after it (the folder's order is not the order they ran)"
                     if user != maker else
                     f"; {user} uses {name} before a later statement of it makes it")
    if len(makers.later) > 5:
        parts.append(f"; and {len(makers.later) - 5} more a later migration makes")
    if makers.made:
        parts.append(f"; they use {listed(sorted(makers.made))}, which a statement of them "
                     "makes but which was not there when used")
    return "".join(parts)


def _failure_notes(source: SchemaSource) -> list[Finding]:
    """A DBS006 note for each SQL migration statement the throwaway server refused."""
    from dbsafe.validate.codes import MIGRATION_STATEMENT_FAILED as info
    from dbsafe.validate.unknown import changes_nothing_read, exists_already

    notes = []
    first: list[str] = []  # the folder's first migration, read when a failure may want it
    for failure in source.failures:
        if not failure.applied_later and changes_nothing_read(
                failure.sql, failure.message, source.snapshot):
            continue
        if failure.applied_later:
            consequence = ("its runner runs the file in one transaction, so it fails in "
                           "production too; dbsafe ran it after that transaction")
            help = "Move it to a migration of its own that runs outside a transaction."
        elif exists_already(failure.sql, failure.message, source.snapshot):
            consequence = ("what it makes exists already, so it changed nothing: the schema "
                           "has what an earlier statement made")
            help = ("It fails in production too: drop it, or write `IF NOT EXISTS`; a file "
                    "its runner never runs (a reference schema) belongs outside the "
                    "migrations folder.")
        else:
            consequence = ("what it would have created or changed is not in the schema, "
                           "and references to it are not checked")
            help = ("Make the migration run on a plain PostgreSQL, or validate against a "
                    "database or a snapshot of one (--database-url, --snapshot).")
            if source.sql_folder is not None and (
                    hint := source.sql_folder.setup_hint(failure, first)):
                help = help.removesuffix(".") + f"; {hint}."
        notes.append(Finding(
            code=info.code, severity=info.default_severity, location=failure.location,
            message=f"Migration statement failed on {scratch()}: {consequence}.",
            help=help, context=(("PostgreSQL", failure.message),)))
    return notes


class _TooLarge(Exception):
    def __init__(self, size: int) -> None:
        self.size = size


def _read(path: str, max_bytes: int) -> tuple[bytes, os.stat_result]:
    """The file's bytes and its status from before they were read; `_TooLarge` without
    reading them when it is over `max_bytes`. A bare descriptor: thousands of files are read
    on every run that changed them."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        status = os.fstat(fd)
        if status.st_size > max_bytes:
            raise _TooLarge(status.st_size)
        chunks = [os.read(fd, status.st_size + 1)]  # one read for a file whose size held
        while chunks[-1]:
            chunks.append(os.read(fd, 1 << 20))
        return b"".join(chunks), status
    finally:
        os.close(fd)


@dataclass(slots=True)
class ApplicationReader:
    """How `dbsafe validate` reads a project's application files, so that whatever else
    reads them (DBS211, `lint.app_references`) sees the statements validate checks, no
    more, no fewer: the project-wide indexes extraction takes (`js_names`: the project's
    drizzle, knex and Kysely clients, postgres.js tags other modules export and wrappers of
    a driver call; Python's parsing, migrating and other-engine client functions), and what
    sends a file or request elsewhere than this schema (another application's code,
    another engine's scripts, another Supabase project's requests). Made by
    `application_reader`."""

    root: Path
    js_names: SqlNames | None
    py_parsers: dict[str, Parsed] | None
    py_migrations: dict[str, Moves] | None
    py_clients: dict[str, str] | None
    supabase: SupabaseProjects | None
    other_applications: OtherApplications | None
    _other_engines: tuple[Callable[[str], Any], ...]

    def other_engine(self, path: str) -> str | None:
        """Why the file at `path` (as the walk gives it) holds another engine's statements
        (sqlc's `engine`, a D1 script, a shell script's client), or None."""
        for of in self._other_engines:
            found = of(path)
            if found is not None:
                return str(found.reason(self.root))
        return None

    def other_application(self, path: str) -> str | None:
        """The folder of the other application whose code the file at `path` is, or None."""
        return self.other_applications.of(path) if self.other_applications else None

    def other_project(self, request: PostgrestRequest) -> str | None:
        """Why a supabase-js request goes to another Supabase project, or None."""
        return self.supabase.other(request.project) if self.supabase is not None else None


def application_reader(settings: Settings, walk: ProjectFiles, *,
                       schema_folder: Path | None,
                       other_applications: OtherApplications | None,
                       names: FolderNames | None = None) -> ApplicationReader:
    """The `ApplicationReader` of a run over `walk.files`: its indexes are read only where
    the run reads such files (JS/TS, Python), from the whole project (`walk.project`).

    Args:
        schema_folder: the schema's folder of SQL migrations (a Supabase project's tells
            its own project from others), if any.
        other_applications: what tells another application's files
            (`SchemaSource.other_applications`), None when nothing does.
        names: the run's folder listings, shared.
    """
    from dbsafe.extract.d1_scripts import D1ScriptFiles
    from dbsafe.extract.shell_scripts import ShellScriptFiles
    from dbsafe.extract.sqlc_config import SqlcEngines

    root = settings.project_root
    # (str.endswith over the suffixes: a splitext per file cost 5 ms a run of 5,000 files)
    scripts = tuple(SCRIPT_SUFFIXES | COMPONENT_SUFFIXES)
    reads_scripts = any(p.endswith(scripts) for p, _ in walk.files)
    js_names = _js_names(settings, reads_scripts, walk.project)
    supabase = _supabase_projects(settings, schema_folder, walk.project) \
        if reads_scripts else None
    py_parsers, py_migrations, py_clients = python_indexes(settings, walk.files, walk.project)
    engines = (SqlcEngines(root, names).of, D1ScriptFiles(root).of, ShellScriptFiles(root).of)
    return ApplicationReader(root, js_names, py_parsers, py_migrations, py_clients, supabase,
                             other_applications, engines)


def _js_names(settings: Settings, scripts: bool = False,
              project: Callable[[], list[tuple[str, str]]] | None = None) -> SqlNames | None:
    """The configured JS/TS SQL tags and calls, and with `scripts` (the run reads JS/TS
    files) the tables of the project's drizzle schema files and its packages re-exporting
    drizzle's `sql` (`drizzle_schema.drizzle_imports`), and what makes its knex clients
    rename identifiers (`knex_clients.renaming_client`), whether it may be a Worker
    (`d1_bindings.is_worker`) and its D1 bindings (`d1_bindings.d1_bindings`) and drizzle
    clients on D1 (`d1_clients.d1_clients`), read in the project's files (`project()`, else
    discovered here); None (the built-in ones) when
    there are none, so that a run reading no JavaScript never imports its extractor."""
    tables: tuple[DrizzleTable, ...] = ()
    sql: tuple[tuple[str, str], ...] = ()
    files: tuple[tuple[str, str], ...] = ()
    renames = ""
    d1: frozenset[str] = frozenset()
    d1_made: tuple[D1Client, ...] = ()
    worker = False
    kysely: KyselyClients | None = None
    wrappers: tuple[JsWrapper, ...] = ()
    constants: JsConstants | None = None
    postgres_js = False
    if scripts:
        from dbsafe.extract.d1_bindings import d1_bindings, is_worker
        from dbsafe.extract.d1_clients import d1_clients
        from dbsafe.extract.drizzle_schema import drizzle_imports, package_files
        from dbsafe.extract.files import ProjectFiles
        from dbsafe.extract.javascript import project_postgres_js
        from dbsafe.extract.js_packages import manifests, package_modules
        from dbsafe.extract.knex_clients import uses_knex
        from dbsafe.extract.kysely_clients import uses_kysely

        root = settings.project_root
        if project is None:
            project = ProjectFiles([root], root=root, exclude=settings.exclude).project
        read = manifests(root)  # (each package.json read once for all)
        modules = package_modules(root, read)
        tables, sql, files = drizzle_imports(root, modules)
        if uses_knex(read):
            renames = _knex_renames(settings, project(), frozenset(modules))
        if uses_kysely(read):
            kysely = _kysely_clients(settings, project())
            if kysely.engine:  # (no chain of the project is PostgreSQL's for certain)
                kysely = None
            elif kysely.clients and not files:  # (`import { db } from '@acme/db'`)
                files = package_files(root, modules)
        wrappers = _js_wrappers(settings, project())
        if wrappers and not files:  # (`import { q } from '@acme/db'`)
            files = package_files(root, modules)
        constants = _js_constants(settings, project(), files or package_files(root, modules))
        postgres_js = project_postgres_js(read)
        worker = is_worker(root, read)
        if worker:
            d1 = d1_bindings(project())
            d1_made = d1_clients(project())
            if d1_made and not files:  # (`import { db } from '@acme/db'`)
                files = package_files(root, modules)
    if not settings.js_sql_tags and not settings.js_sql_calls and not tables and not sql \
            and not renames and not worker and kysely is None and not wrappers \
            and not constants and not postgres_js:
        return None
    from dbsafe.extract.javascript import SqlNames

    return replace(SqlNames.from_settings(settings), drizzle=tables, drizzle_sql=sql,
                   package_files=files, knex_renames=renames, d1=d1,
                   worker=worker, d1_clients=d1_made,
                   kysely=kysely, wrappers=wrappers, constants=constants or None,
                   postgres_js=postgres_js)


def _kysely_clients(settings: Settings, project: list[tuple[str, str]]) -> KyselyClients:
    """`kysely_clients.kysely_clients` over the project's files, each file's facts kept in
    the cache directory by its stat, so that a run with nothing changed reads none of them
    (atproto's 2,303 files: 0.5 s read, 0.05 s cached)."""
    from dbsafe.extract.kysely_clients import kysely_clients

    paths = {rel for _, rel in project}  # (the files gone since are forgotten)
    return _kept_by_stat(settings, "kysely-clients", _CACHE_VERSION,
                         lambda memo: kysely_clients(project, memo), lambda _: paths)


def _js_wrappers(settings: Settings, project: list[tuple[str, str]]) -> tuple[JsWrapper, ...]:
    """`js_wrappers.js_wrappers` over the project's files, each file's facts kept in the
    cache directory by its stat, so that a run with nothing changed reads none of them."""
    from dbsafe.extract.js_wrappers import js_wrappers

    paths = {rel for _, rel in project}  # (the files gone since are forgotten)
    return _kept_by_stat(settings, "js-wrappers", _CACHE_VERSION,
                         lambda memo: js_wrappers(project, memo), lambda _: paths)


def _js_constants(settings: Settings, project: list[tuple[str, str]],
                  packages: tuple[tuple[str, str], ...]) -> JsConstants:
    """`js_constants.js_constants` over the project's files (`packages`: its own packages'
    specifiers and files), each file's facts (and each `tsconfig.json`'s options) kept in
    the cache directory by its stat, so that a run with nothing changed reads none of them."""
    from dbsafe.extract.js_constants import js_constants

    paths = {rel for _, rel in project}  # (the files gone since are forgotten)
    return _kept_by_stat(settings, "js-constants", _CACHE_VERSION,
                         lambda memo: js_constants(project, settings.project_root, packages,
                                                   memo),
                         lambda found: paths | set(found.config_files))


def _knex_renames(settings: Settings, project: list[tuple[str, str]],
                  own_packages: frozenset[str]) -> str:
    """`knex_clients.renaming_client` over the project's files, each file's answer kept in
    the cache directory by its stat (keyed by the project's own packages, which the answer
    depends on), so that a run with nothing changed reads none of them."""
    from dbsafe.extract.knex_clients import renaming_client

    paths = {rel for _, rel in project}
    # (the files gone since are forgotten once every file was read or looked up: a client
    # that renames ends the reading early)
    return _kept_by_stat(settings, "knex-clients", sorted(own_packages),
                         lambda memo: renaming_client(project, own_packages, memo),
                         lambda renames: None if renames else paths)


def _database_types(settings: Settings, project: list[tuple[str, str]]) -> DatabaseTypes:
    """`supabase_types.database_types` over the project's files, each file's facts kept in
    the cache directory by its stat, so that a run with nothing changed reads none of them
    (justicehub-platform's generated 1.8 MB file takes tree-sitter seconds)."""
    from dbsafe.extract.supabase_types import database_types

    paths = {rel for _, rel in project}  # (the files gone since are forgotten)
    return _kept_by_stat(settings, "supabase-types", _CACHE_VERSION,
                         lambda memo: database_types(project, memo), lambda _: paths)


def python_indexes(settings: Settings, files: Sequence[tuple[str, str]],
                   project: Callable[[], list[tuple[str, str]]],
                   ) -> tuple[dict[str, Parsed] | None, dict[str, Moves] | None,
                              dict[str, str] | None]:
    """The project-wide indexes a run reading Python (`files`) extracts its statements
    with: `py_parsers.parsing_functions`, `py_migrations.migration_functions` and
    `py_clients.client_functions` (with `py_clients.constants_sent_elsewhere`: both name
    what stands for another engine) over `project()`; (None, None, None) when it reads none.
    DBS211 (`lint.app_references`) reads the application's statements with them too.

    One pass for the three (`py_parsers.PythonFiles`): each file looked at once, read and
    parsed at most once, its facts for all three kept in the cache directory by its stat in
    one memo, so that a run with nothing changed reads none of them (three memos, each
    looking at every file again, took 76 ms of a cached run of 5,000 files; task 520)."""
    if not any(p.endswith(".py") for p, _ in files):
        return None, None, None
    from dbsafe.extract.py_clients import client_functions, constants_sent_elsewhere
    from dbsafe.extract.py_migrations import migration_functions
    from dbsafe.extract.py_parsers import PythonFiles, parsing_functions

    every = project()
    paths_now = {rel for _, rel in every}  # (the files gone since are forgotten)

    def read(memo: dict[str, Any] | None) -> tuple[dict[str, Parsed], dict[str, Moves],
                                                   dict[str, str]]:
        python = PythonFiles(every, memo)
        return parsing_functions(python), migration_functions(python), \
            {**client_functions(python), **constants_sent_elsewhere(python)}

    return _kept_by_stat(settings, "py-indexes", _CACHE_VERSION, read, lambda _: paths_now)


def _kept_by_stat(settings: Settings, name: str, key: object,
                  read: Callable[[dict[str, Any] | None], _Read],
                  kept: Callable[[_Read], set[str] | None]) -> _Read:
    """`read(memo)`, a project-wide scan that keeps each file's facts in `memo` by the
    file's stat, with `memo` kept in the cache directory between runs (a file named for
    `name` and `key`, which what the facts depend on goes into besides dbsafe's version;
    `read(None)` where the cache is off). `kept(result)`: the files whose facts stay, by
    their paths from the root (None: all), so that the files gone since are forgotten."""
    from dbsafe.cache import write_cache_file

    if not settings.use_cache:
        return read(None)
    digest = hashlib.sha256(json.dumps([__version__, _MEMO_FORMAT, key]).encode()).hexdigest()
    memo_file = settings.effective_cache_dir / f"{name}-{digest[:16]}.json"
    try:
        memo = json.loads(memo_file.read_text(encoding="utf-8"))
        if not isinstance(memo, dict):
            memo = {}
    except (OSError, ValueError):
        memo = {}
    before = dict(memo)
    result = read(memo)
    paths = kept(result)
    if paths is not None:
        memo = {path: facts for path, facts in memo.items() if path in paths}
    if memo != before:
        write_cache_file(memo_file, json.dumps(memo))
    return result


def _skipped_file(rel: str, reason: str) -> FileOutcome:
    return FileOutcome(rel, skipped=[Skipped(Location(rel, 1), reason)],
                       counts=Counter({"files_skipped": 1}))


def _migration_file(rel: str, kind: str, made: frozenset[str] = frozenset()) -> FileOutcome:
    """A migration is not validated: its statements run against the schema of its own
    revision, which today's may no longer be (a data migration's `UPDATE` of a column a
    later revision drops). `dbsafe lint` checks migrations. `made`: the relations its DDL
    creates or alters, for the project's scripts (`_made_by_migration`). A JavaScript or
    TypeScript migration (Kysely's, knex's), or a Python one other than an alembic revision
    (Django's, yoyo's `step()`s, Synapse's deltas), is no more left to `dbsafe lint`, which
    reads SQL and alembic revisions: it is counted apart, and said so."""
    from dbsafe.extract.files import SCRIPT_SUFFIXES

    if kind == DECLARED_SCHEMA:
        return FileOutcome(rel, skipped=[Skipped(Location(rel, 1), (
            "not validated: the SQL schema the Atlas project declares (atlas.hcl's src), which "
            "validate builds the schema from"))], counts=Counter({"schema_files": 1}), made=made)
    if kind == SCHEMA_FILE:
        return FileOutcome(rel, skipped=[Skipped(Location(rel, 1), (
            "not validated: the `schema-file`, which validate builds the schema from"))],
            counts=Counter({"schema_files": 1}), made=made)
    if kind == SCHEMA_FILE_INCLUDE:
        return FileOutcome(rel, skipped=[Skipped(Location(rel, 1), (
            "not validated: included by the `schema-file` (psql's \\i), which validate builds "
            "the schema from"))], counts=Counter({"schema_files": 1}), made=made)
    if kind == SETUP_SQL:
        return FileOutcome(rel, skipped=[Skipped(Location(rel, 1), (
            "not validated: `setup-sql`, what the database gets before its first migration, "
            "which validate builds the schema from"))], counts=Counter({"schema_files": 1}))
    script = rel.endswith(tuple(SCRIPT_SUFFIXES))
    # (alembic's env.py runs its revisions: `dbsafe lint` runs it too.)
    python = rel.endswith(".py") and kind not in ("alembic revision", "yoyo migration") \
        and rel.rpartition("/")[2] != "env.py"
    in_code = script or python
    linted_by = ("JavaScript/TypeScript: `dbsafe lint` reads SQL migrations only" if script
                 else "Python: `dbsafe lint` reads SQL migrations and alembic revisions only"
                 if python else "`dbsafe lint` checks migrations")
    reason = (f"not validated: {'an' if kind[0] in 'aeiou' else 'a'} {kind} runs against the "
              f"schema of its own revision, not today's ({linted_by})")
    return FileOutcome(rel, skipped=[Skipped(Location(rel, 1), reason)],
                       counts=Counter({"code_migration_files" if in_code else "migration_files": 1}),
                       made=made)


def _made_by_migration(rel: str, data: bytes) -> frozenset[str]:
    """The relations a `.sql` migration outside the schema's folder creates or alters, and
    the schemas it creates (a dated one-off, an optional module's `20251005100000_desk.sql`
    beside the seed reading its tables): the schema, built without it, lacks them, yet the
    scripts run beside it (supasheet's `supabase/examples/apply.sh` runs each module's
    schema, then its seed). So does a JavaScript/TypeScript migration, for the modules of
    code: the application runs it (readest's `services/database/migrations/index.ts` lists
    the `CREATE TABLE` of each of its local databases, which its stores then read)."""
    from dbsafe.extract.files import SCRIPT_SUFFIXES

    upper = data.upper()
    script = rel.endswith(tuple(SCRIPT_SUFFIXES))
    if not (rel.endswith(".sql") or script) or (b"CREATE" not in upper and b"ALTER" not in upper):
        return frozenset()
    from dbsafe.extract.sqlfile import statement_bounds
    from dbsafe.validate.file_ddl import FileDdl

    text = data.decode("utf-8", errors="replace")
    if script:
        from dbsafe.extract.javascript import sql_in_javascript

        found = sql_in_javascript(text, rel)
        statements = [*found.ddl, *(f.sql[start:end] for f in found.fragments
                                    if not f.dynamic for start, end in statement_bounds(f.sql))]
    else:
        statements = [text[start:end] for start, end in statement_bounds(text)]
    ddl = FileDdl()
    for statement in statements:
        ddl = ddl.after(statement)  # (a CREATE only SQLite reads still makes its table)
    return ddl.relations | ddl.schemas | ddl.functions


def _other_application_file(rel: str, application: str, root: Path) -> FileOutcome:
    """Another application's code reads its own schema, not this one (listed with -v)."""
    folder = display_path(Path(application or "."), root)
    reason = (f"not validated: the code of {folder}, which keeps migrations of its own "
              "(validate it from there, or name its folder with --sql-migrations)")
    return FileOutcome(rel, skipped=[Skipped(Location(rel, 1), reason)])


def _directives_source(data: bytes | None) -> str | None:
    """The text `dbsafe: ignore` directives are read from; None when the file holds none
    (checked on the bytes: most files have none, and decoding thousands of them is most of
    what applying directives costs a cached run)."""
    if data is None or b"dbsafe:" not in data:
        return None
    return data.decode("utf-8", "replace")


# -- per-file analysis (runs in worker processes) ---------------------------------------------

_worker_snapshot: SchemaSnapshot | None = None
_worker_unknown: Unknown | None = None
_worker_exposed: ExposedSchemas | None = None
_worker_catalog: SystemCatalog | None = None  # inherited like the snapshot: one resolver per worker
_worker_parsers: Mapping[str, Parsed] | None = None
_worker_migrations: Mapping[str, Moves] | None = None
_worker_clients: Mapping[str, str] | None = None
_worker_supabase: SupabaseProjects | None = None
_RULES_BY_CODE: dict[str, RuleInfo] = {}


def _analyse_all(paths: list[tuple[Path, str, bytes]], root: Path, snapshot: SchemaSnapshot,
                 jobs: int, max_bytes: int, version: int | None,
                 names: SqlNames | None = None,
                 catalog: SystemCatalog | None = None,
                 confirming: bool = False,
                 unknown: Unknown | None = None,
                 exposed: ExposedSchemas | None = None,
                 py_parsers: Mapping[str, Parsed] | None = None,
                 py_migrations: Mapping[str, Moves] | None = None,
                 py_clients: Mapping[str, str] | None = None,
                 supabase: SupabaseProjects | None = None) -> list[FileOutcome]:
    global _worker_snapshot, _worker_catalog, _worker_unknown, _worker_exposed, _worker_parsers
    global _worker_migrations, _worker_clients, _worker_supabase
    from dbsafe.config import usable_cores

    workers = jobs or usable_cores()
    if workers <= 1 or len(paths) < _PARALLEL_THRESHOLD:
        return [analyse_file(p, root, snapshot, max_bytes=max_bytes, server_version=version,
                             js_names=names, rel=rel, data=data, catalog=catalog,
                             confirming=confirming, unknown=unknown, exposed=exposed,
                             py_parsers=py_parsers, py_migrations=py_migrations,
                             py_clients=py_clients, supabase=supabase)
                for p, rel, data in paths]
    # fork: workers inherit the snapshot and the imported modules instead of re-importing.
    import multiprocessing  # here: a small run never starts workers
    from concurrent.futures import ProcessPoolExecutor

    _worker_snapshot = snapshot
    _worker_catalog = catalog
    _worker_unknown = unknown
    _worker_exposed = exposed
    _worker_parsers = py_parsers
    _worker_migrations = py_migrations
    _worker_clients = py_clients
    _worker_supabase = supabase
    chunks = [paths[i:i + _CHUNK] for i in range(0, len(paths), _CHUNK)]
    context = multiprocessing.get_context("fork")
    # a worker more than there are chunks would only be forked to wait (`--jobs 1000`)
    with ProcessPoolExecutor(max_workers=min(workers, len(chunks)), mp_context=context) as pool:
        results = pool.map(_analyse_chunk, chunks, [root] * len(chunks),
                           [max_bytes] * len(chunks), [version] * len(chunks),
                           [names] * len(chunks), [confirming] * len(chunks))
        return [outcome for chunk in results for outcome in chunk]


def _analyse_chunk(paths: list[tuple[Path, str, bytes]], root: Path, max_bytes: int,
                   version: int | None, names: SqlNames | None,
                   confirming: bool = False) -> list[FileOutcome]:
    assert _worker_snapshot is not None
    return [analyse_file(p, root, _worker_snapshot, max_bytes=max_bytes, server_version=version,
                         js_names=names, rel=rel, data=data, catalog=_worker_catalog,
                         confirming=confirming, unknown=_worker_unknown,
                         exposed=_worker_exposed, py_parsers=_worker_parsers,
                         py_migrations=_worker_migrations, py_clients=_worker_clients,
                         supabase=_worker_supabase)
            for p, rel, data in paths]


def analyse_file(path: Path, root: Path, snapshot: SchemaSnapshot, *,
                 max_bytes: int = DEFAULT_MAX_BYTES,
                 server_version: int | None = None,
                 js_names: SqlNames | None = None, rel: str | None = None,
                 data: bytes | None = None,
                 catalog: SystemCatalog | None = None,
                 confirming: bool = False,
                 unknown: Unknown | None = None,
                 exposed: ExposedSchemas | None = None,
                 py_parsers: Mapping[str, Parsed] | None = None,
                 py_migrations: Mapping[str, Moves] | None = None,
                 py_clients: Mapping[str, str] | None = None,
                 supabase: SupabaseProjects | None = None) -> FileOutcome:
    """Extract and resolve one file; problems become candidate findings.

    `rel` (`display_path(path, root)`) and `data` (the content) spare resolving and reading
    the file again when the caller has them. `confirming`: the candidates will be sent to
    PostgreSQL, so their placeholders are numbered here, from the resolver's parse.
    `unknown`: what the schema cannot describe (`dbsafe.validate.unknown`), never reported.
    `exposed`: the schemas the project's PostgREST serves, when its config.toml lists them.
    `py_parsers`: the project's Python functions parsing a parameter with sqlglot and
    never sending it (`dbsafe.extract.py_parsers`). `py_migrations`: its functions moving
    the database between revisions (`dbsafe.extract.py_migrations`). `py_clients`: its
    functions returning another engine's client (`dbsafe.extract.py_clients`).
    `supabase`: what the project says of the Supabase projects its clients reach
    (`validate.supabase_projects`).
    """
    from dbsafe.extract.files import extract_file

    if rel is None:
        rel = display_path(path, root)
    extracted = extract_file(path, root=root, max_bytes=max_bytes, js_names=js_names,
                             name=rel, data=data, py_parsers=py_parsers,
                             py_migrations=py_migrations, py_clients=py_clients)
    outcome = FileOutcome(rel, skipped=list(extracted.skipped))
    if extracted.skipped and not extracted.fragments:
        outcome.counts["files_skipped"] += 1
    from dbsafe.validate.file_ddl import FileDdl

    earlier = FileDdl()  # what the file's statements so far changed
    for fragment in extracted.fragments:
        if fragment.origin != "sql" and not fragment.dynamic:
            # Code runs its statements in the order it calls them, not in the order they are
            # written (a helper creating a temp table may come last): any statement's DDL
            # may be there for every other.
            earlier = earlier.after(fragment.sql)
    for ddl in extracted.ddl:
        earlier = earlier.after(ddl)
    if extracted.runs_unseen_sql:
        earlier = replace(earlier, opaque=True)
    from dbsafe.validate.calls import pgtap_test

    # Read only once a statement calls a function the schema lacks (DBS314).
    pgtap = functools.cache(lambda: pgtap_test(
        f.sql for f in extracted.fragments if f.origin == "sql" and not f.dynamic))
    # Read only once a statement reads a table the file's DDL made (and PostgreSQL is there
    # to judge it).
    temp_tables = functools.cache(lambda: _temp_tables(extracted.fragments, extracted.ddl))
    for fragment in extracted.fragments:
        _analyse_fragment(fragment, snapshot, outcome, earlier, server_version, catalog,
                          confirming, unknown, pgtap, temp_tables)
        if fragment.origin == "sql" and not fragment.dynamic:
            earlier = earlier.after(fragment.sql, unreadable_is_opaque=True)
    outcome.made = earlier.relations | earlier.schemas | earlier.functions | earlier.patterns
    if earlier.relations and not rel.endswith(".sql") and not (
            earlier.opaque or earlier.unnamed or earlier.search_path):
        from dbsafe.validate.given_columns import given_columns

        # Built at run time too: a piece where a name goes leaves its table unfollowed; one
        # where a type goes (`f"CREATE TABLE t (id {db.big_int})"`) is read by its head.
        outcome.given = given_columns(
            [*(f.sql for f in extracted.fragments if f.origin != "sql"), *extracted.ddl],
            snapshot)
    for request in extracted.requests:  # supabase-js (.js/.ts, components), supabase-py (.py)
        _analyse_request(request, snapshot, outcome, unknown, exposed, supabase)
    return outcome


def _temp_tables(fragments: Sequence[SqlFragment], ddl: Sequence[str]
                 ) -> Mapping[str, tuple[str, ...]]:
    """The temporary tables the file makes one way (`temp_tables.made_one_way`), from all
    its statements: those built at run time, and those with values or pieces of strings
    known only then, count as unknown ways."""
    from dbsafe.validate.temp_tables import made_one_way

    exact = [f.sql for f in fragments
             if not f.dynamic and not f.built_strings and not f.value_holes]
    return made_one_way([*exact, *ddl], built=[f.sql for f in fragments if f.dynamic],
                        inexact=[f.sql for f in fragments if not f.dynamic
                                 and (f.built_strings or f.value_holes)])


# Why a read of drizzle-orm's history table outside the schema it has is not analysed.
_HISTORY_ELSEWHERE = ("reads `{}`, the history table drizzle-orm's `migrate()` makes in the "
                      "schema its `migrationsSchema` names, which the code may set")


def _unknown_reason() -> str:
    return ("may use what the schema cannot describe (made by a migration statement that "
            f"failed on {scratch()} or one dbsafe did not run, a platform's schema dbsafe "
            "stands in for, or a package that makes its tables at run time: a job queue's, "
            "a Keyv store's)")


def _analyse_request(request: PostgrestRequest, snapshot: SchemaSnapshot,
                     outcome: FileOutcome, unknown: Unknown | None = None,
                     exposed: ExposedSchemas | None = None,
                     supabase: SupabaseProjects | None = None) -> None:
    """A PostgREST request: findings, with the SQL PostgreSQL can confirm them by; none
    for one sent through a client of another Supabase project (`supabase`), not analysed."""
    from dbsafe.validate import postgrest

    outcome.counts["statements"] += 1
    elsewhere = supabase.other(request.project) if supabase is not None else None
    if elsewhere is not None:
        outcome.counts["statements_not_analysed"] += 1
        outcome.skipped.append(Skipped(request.location, elsewhere))
        return
    checked = postgrest.check(request, snapshot, exposed)
    if unknown is not None and any(unknown.hides(i.finding) for i in checked.issues):
        checked = postgrest.Checked(
            "not_analysed", tuple(i for i in checked.issues if not unknown.hides(i.finding)),
            _unknown_reason())
    outcome.counts[f"statements_{checked.status}"] += 1
    if checked.status == "not_analysed":
        outcome.skipped.append(Skipped(request.location, f"not analysed: {checked.reason}"))
    for issue in checked.issues:
        if issue.sql is None:
            outcome.findings.append(issue.finding)
        else:
            outcome.candidates.append(Candidate(issue.finding, issue.sql, issue.start, issue.end))


def _on_its_path(fragment: SqlFragment, snapshot: SchemaSnapshot) -> SchemaSnapshot | None:
    """`snapshot` with the search path the code set on the fragment's cursor just before
    sending it (`SqlFragment.search_path`), where the schema has each of its schemas; else
    None (then the file's `SET search_path` leaves what it reads unjudged, as before)."""
    if fragment.search_path is None or any(
            name not in snapshot.schemas for name in fragment.search_path):
        return None
    from dbsafe.validate.search_path import applied

    return applied(snapshot, fragment.search_path)


def _made_earlier(problem: Problem, earlier: FileDdl, snapshot: SchemaSnapshot) -> bool:
    """Whether `problem` may be about something the file's earlier DDL created or changed:
    a relation (by its unqualified name), a schema, a relation of an extension the schema
    lacks, any relation once it made one under a name known only at run time (any schema
    the database lacks once it made one so), or anything
    once the file set `search_path` or ran SQL dbsafe cannot read. A function (DBS314): one
    it created, one of a schema it created or of an extension it created that the schema
    lacks. A count of values (DBS315): the relation an INSERT without a column list was
    counted against. A type (DBS316): one it made, of a schema it made, or of an extension
    it made that the schema lacks."""
    if problem.code == UNKNOWN_TYPE.code:
        *schema, name = problem.subject.split(".")
        names = {name, name[1:]} if name.startswith("_") else {name}
        return (earlier.opaque or earlier.search_path or earlier.unnamed
                or bool(names & (earlier.types | earlier.relations))
                or bool(set(schema) & earlier.schemas)
                or bool(earlier.extensions - {e.name for e in snapshot.extensions} - {"plpgsql"}))
    if problem.code == UNKNOWN_FUNCTION_CALL.code:
        *schema, name = problem.subject.split(".")
        return (earlier.opaque or earlier.search_path or name in earlier.functions
                or bool(set(schema) & earlier.schemas)
                or bool(earlier.extensions - {e.name for e in snapshot.extensions} - {"plpgsql"}))
    if problem.code == COLUMN_VALUE_COUNT_MISMATCH.code:
        # the columns of a relation an INSERT without a column list was counted against
        return bool(problem.sources) and (earlier.search_path or earlier.opaque or any(
            subject.split(".")[-1] in earlier.relations for subject in problem.sources))
    if problem.code not in (UNKNOWN_TABLE.code, UNKNOWN_COLUMN.code):
        return False
    if earlier.search_path or earlier.opaque:
        return True
    if earlier.unnamed and problem.code == UNKNOWN_TABLE.code:
        return True  # the relation made under a name known only at run time may be it
    if earlier.roles & (set(snapshot.schemas) | earlier.schemas):
        return True  # `"$user"` in the search path now names a schema that exists
    parts = problem.subject.split(".")
    if earlier.unnamed_schema and problem.code == UNKNOWN_TABLE.code and \
            parts[0] not in snapshot.schemas and not parts[0].startswith("pg_") and \
            parts[0] != "information_schema":
        return True  # the schema made under a name known only at run time may be it
    if problem.code == UNKNOWN_TABLE.code:
        if earlier.extensions - {e.name for e in snapshot.extensions} - {"plpgsql"}:
            return True  # the new extension's relations are not known before it is there
        # `schema.relation`, or `schema` alone when the schema is unknown
        return parts[-1] in earlier.relations or parts[0] in earlier.schemas
    relations = [subject.split(".")[-1] for subject in problem.sources] or parts[-2:-1]
    return any(name in earlier.relations for name in relations)


def _deferred(fragment: SqlFragment, made_here: Sequence[Problem], earlier: FileDdl,
              snapshot: SchemaSnapshot,
              temp_tables: Callable[[], Mapping[str, tuple[str, ...]]],
              reason: str | None, unknown: Unknown | None) -> Deferred | None:
    """The statement `fragment`, for PostgreSQL to judge after making the temporary tables
    it reads, when what its file's DDL made that it uses (`made_here`, every problem the
    resolver had) is only such tables, made one way (`temp_tables`); else None (it stays
    not analysed). Not where the file did anything that changes what any name means (a
    search path, a role, an extension, SQL dbsafe cannot read, a name known at run time),
    nor where the code sends it only under conditions PostgreSQL's verdict here cannot
    weigh (a path, tables or extensions it checks for, versions), nor where pieces of it
    are known only at run time, nor for a statement whose Parse PostgreSQL does not
    analyse (only a query, INSERT, UPDATE, DELETE or MERGE is sent)."""
    if (earlier.search_path or earlier.opaque or earlier.unnamed or earlier.unnamed_schema
            or earlier.roles
            or earlier.extensions - {e.name for e in snapshot.extensions} - {"plpgsql"}):
        return None
    if (fragment.search_path is not None or fragment.checked_tables or fragment.absent_tables
            or fragment.installed_extensions or fragment.not_sent_to or fragment.built_strings
            or fragment.value_holes):
        return None
    tables: set[str] = set()
    for problem in made_here:
        if problem.code == UNKNOWN_TABLE.code:
            tables.add(problem.subject.split(".")[-1])
        elif problem.code in (UNKNOWN_COLUMN.code, COLUMN_VALUE_COUNT_MISMATCH.code) and \
                problem.sources:
            tables.update(subject.split(".")[-1] for subject in problem.sources)
        elif problem.code == UNKNOWN_COLUMN.code and len(problem.subject.split(".")) >= 2:
            tables.add(problem.subject.split(".")[-2])
        else:
            return None
    made = temp_tables()
    if not tables or not tables <= made.keys():
        return None
    from dbsafe.validate.confirm import parse_as_sent, rewrite

    parsed = parse_as_sent(fragment.sql)
    if parsed.text is None:
        return None
    statements = json.loads(parsed.text).get("stmts") or []
    if len(statements) != 1 or not set(statements[0].get("stmt", {})) <= _JUDGED_STATEMENTS:
        return None
    sent = parsed.sent or rewrite(fragment.sql)
    if sent.generated is not None:
        return None  # (offsets into it would say nothing of the statement)
    creates = tuple(dict.fromkeys(create for name in sorted(tables) for create in made[name]))
    return Deferred(fragment, creates, sent, tuple(sorted(tables)),
                    reason or "uses what DDL earlier in this file created or changed",
                    bool(unknown))


# The statements whose Parse PostgreSQL analyses in full (names, types): pglast's node names.
_JUDGED_STATEMENTS = frozenset({"SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt",
                                "MergeStmt"})


def _callable(earlier: FileDdl | None, unknown: Unknown | None) -> Callable[[str], bool]:
    """Whether an unqualified function of a (folded) name the schema lacks may exist where
    the statement runs: the file's DDL made it, a migration statement that failed would
    have made it, or an extension whose `CREATE EXTENSION` failed makes it
    (`Unknown.extension_making`)."""
    made = (earlier.functions if earlier is not None else frozenset()) | (
        unknown.functions if unknown is not None else frozenset())
    return lambda name: name in made or (
        unknown is not None and unknown.extension_making(name) is not None)


def _pgtap_call(problem: Problem) -> bool:
    """Whether `problem` is a call (DBS314) of a function of pgTAP's name."""
    from dbsafe.validate.calls import pgtap_functions

    return problem.code == UNKNOWN_FUNCTION_CALL.code \
        and problem.subject.rsplit(".", 1)[-1] in pgtap_functions()


def _failed_type(problem: Problem, unknown: Unknown) -> bool:
    """Whether a cast to a type the schema lacks (DBS316) may be to one a migration
    statement that failed would have made or named (production has it), or an extension's
    that failed (in its schema, or any for an unqualified name)."""
    if problem.code != UNKNOWN_TYPE.code:
        return False
    *schema, name = problem.subject.split(".")
    if ({name, name[1:]} if name.startswith("_") else {name}) & unknown.types:
        return True
    return bool(unknown.function_schemas & {"*", *schema} if schema else unknown.function_schemas)


def _failed_function(problem: Problem, unknown: Unknown) -> bool:
    """Whether a call of a function the schema lacks (DBS314) may be of one a migration
    statement that failed would have made: by its name, or an extension's (in its schema,
    or any for an unqualified call)."""
    if problem.code != UNKNOWN_FUNCTION_CALL.code:
        return False
    *schema, name = problem.subject.split(".")
    if name in unknown.functions:
        return True
    return bool(unknown.function_schemas & {"*", *schema} if schema else unknown.function_schemas)


# The first keywords, as PostgreSQL's lexer reads them, of the statements validate never checks:
# DDL (`CREATE SCHEMA`, `DROP DATABASE`, `CREATE TABLE ... AS`), privileges (`GRANT`, `CREATE
# USER`), `COPY`, maintenance, transaction control, and the commands on the session's settings
# (`SET LOCAL statement_timeout TO {ms}`, `SET ROLE`, `RESET`, `SHOW`) and its notification
# channels (`NOTIFY {channel}, '{id}'`). Built at run time, such a statement leaves nothing
# unchecked that its text written out would have had checked: no DBS304 note. Not here: the
# queries, and the commands whose statement validate checks (`EXPLAIN`, `DECLARE ... CURSOR
# FOR`, `PREPARE ... AS`, `CALL`) or lists as not analysed (`DO`). tests/validate/test_session_commands_db.py holds the resolver to it.
UNCHECKED_STATEMENT_KEYWORDS = frozenset("""
    ABORT ALTER ANALYSE ANALYZE BEGIN CHECKPOINT CLOSE CLUSTER COMMENT COMMIT COPY CREATE
    DEALLOCATE DISCARD DROP END EXECUTE FETCH GRANT IMPORT LISTEN LOAD LOCK MOVE NOTIFY
    REASSIGN REFRESH REINDEX RELEASE RESET REVOKE ROLLBACK SAVEPOINT SECURITY SET SHOW START
    TRUNCATE UNLISTEN VACUUM""".split())


def _unchecked_statements(sql: str) -> bool:
    """Whether every statement of `sql` is of a kind validate never checks: each one's first
    word, read by PostgreSQL's own lexer past comments, is one of
    `UNCHECKED_STATEMENT_KEYWORDS`. A query after one (`SET search_path TO {s}; SELECT * FROM
    {t}`) is not."""
    from pglast.parser import scan

    try:
        tokens = scan(sql)
    except Exception:  # noqa: BLE001 -- any lexer failure: not known to be one
        return False
    starts = True  # the next word starts a statement
    seen = False
    for token in tokens:
        if token.name in ("SQL_COMMENT", "C_COMMENT"):
            continue
        if token.name == "ASCII_59":  # `;`
            starts = True
            continue
        if starts:
            if token.kind == "NO_KEYWORD" or (
                    sql[token.start:token.end + 1].upper() not in UNCHECKED_STATEMENT_KEYWORDS):
                return False
            starts, seen = False, True
    return seen


def _rules_by_code() -> dict[str, RuleInfo]:
    from dbsafe.validate import resolver

    return {info.code: info for info in resolver.RULES}


# What to do about SQL built at run time, in the language of the file it is in (a directive
# counts only in that language's comments).
_DYNAMIC_HELP = {
    "python": "Pass values as query parameters, or build identifiers with psycopg.sql and add "
              "`# dbsafe: ignore[DBS304]` if this is intended.",
    "js": "Pass values as query parameters (a `${value}` hole of a sql`...` template, `$1` "
          "with its values), and add `// dbsafe: ignore[DBS304]` if this is intended.",
    "sql": "Pass values as placeholders, and add `-- dbsafe: ignore[DBS304]` if this is "
           "intended.",
}


def _analyse_fragment(fragment: SqlFragment, snapshot: SchemaSnapshot,
                      outcome: FileOutcome, earlier: FileDdl | None = None,
                      server_version: int | None = None,
                      catalog: SystemCatalog | None = None,
                      confirming: bool = False,
                      unknown: Unknown | None = None,
                      pgtap: Callable[[], bool] | None = None,
                      temp_tables: Callable[[], Mapping[str, tuple[str, ...]]] | None = None,
                      ) -> None:
    """`pgtap`: whether the file is a pgTAP test (`calls.pgtap_test`), asked only when a
    statement calls a function the schema lacks. `temp_tables`: the temporary tables the
    file makes one way (`_temp_tables`), asked only when a statement, `confirming`, reads
    what the file's DDL made."""
    from dbsafe.validate.codes import DYNAMIC_SQL
    from dbsafe.validate.quick import checker_for

    outcome.counts["statements"] += 1
    if fragment.dynamic and _unchecked_statements(fragment.sql):
        return  # not checked, built at run time or not: nothing in it was left unchecked
    if fragment.dynamic:
        outcome.counts["statements_dynamic"] += 1
        outcome.findings.append(Finding(
            code=DYNAMIC_SQL.code,
            message=f"SQL built at run time is not validated: {fragment.dynamic}.",
            severity=DYNAMIC_SQL.default_severity,
            location=fragment.location(0),
            help=_DYNAMIC_HELP.get(fragment.origin, _DYNAMIC_HELP["python"]),
        ))
        return
    on_path = _on_its_path(fragment, snapshot)
    if on_path is not None:
        # The path the code set on its cursor just before, not the file's other `SET`s.
        snapshot = on_path
        earlier = replace(earlier, search_path=False) if earlier is not None else None
    if checker_for(snapshot).clean(fragment.sql):
        # Proven clean by PostgreSQL's parser: the resolver (and sqlglot) is not even loaded.
        outcome.counts["statements_analysed"] += 1
        return
    from dbsafe.validate import resolver

    global _RULES_BY_CODE
    if not _RULES_BY_CODE:
        _RULES_BY_CODE = _rules_by_code()
    try:
        resolution = resolver.resolve(fragment.sql, snapshot, server_version=server_version,
                                      catalog=catalog, quick=False)  # not sure, just above
    except Exception as exc:  # resolve() guards itself; this is the last line of defence
        log.debug("resolving %r failed", fragment.sql, exc_info=True)
        resolution = resolver.Resolution(
            resolver.NOT_ANALYSED, reason=f"dbsafe failed on it: internal {type(exc).__name__}")
    base = resolver.resolver_for(snapshot, server_version, catalog)
    callable_ = _callable(earlier, unknown)
    if any(callable_(name) for name in resolution.other_engine_calls):
        # PostGIS's `ST_AsText`, which MySQL has too, beside PostGIS's failed `CREATE
        # EXTENSION`; SQLite's `datetime` that the file's DDL makes: checked as PostgreSQL's
        # (and then unknown, or made earlier), not another engine's.
        base = base.with_callable(callable_)
        resolution = base.resolve(fragment.sql, quick=False)
    problems = resolution.problems
    made = (earlier.relations if earlier is not None else frozenset()) | (
        unknown.ddl.relations if unknown is not None else frozenset())
    if made and (problems or resolution.unjudged_names & made):
        # The columns of what this file created or altered earlier are those it made, and
        # so are those a subquery or CTE takes from it (`SELECT * FROM altered`); so are
        # those of what a failed migration statement would have made or changed. A name in
        # a string left unjudged (`setval('s', 1)`: an extension's?) may be one of them.
        resolution = base.with_made(made).resolve(fragment.sql, quick=False)
        problems = resolution.problems
    if pgtap is not None and any(_pgtap_call(p) for p in problems) and pgtap():
        # A pgTAP test runs where pgTAP is installed: its functions exist (a misspelt
        # application function it calls is still reported). Known, so before what the
        # schema cannot describe: a failed `CREATE EXTENSION` (whose functions may be of
        # any name) leaves the test's `ok(...)` nothing unknown (task 515).
        problems = tuple(p for p in problems if not _pgtap_call(p))
    called = None  # why, when it calls a function an extension that failed makes
    if unknown is not None and problems:
        # (a call of a function an extension that failed makes says so, whatever else the
        # statement uses that the schema cannot describe or the file made)
        called = next((reason for p in problems if _failed_function(p, unknown)
                       and (reason := unknown.call_reason(p.subject.rsplit(".", 1)[-1]))),
                      None)
        problems, resolution = _dropping(
            problems, resolution,
            lambda p: _made_earlier(p, unknown.ddl, snapshot) or _failed_function(p, unknown)
            or _failed_type(p, unknown),
            lambda _: called or _unknown_reason())
        problems, resolution = _dropping(
            problems, resolution, unknown.made_anywhere, lambda p: _HISTORY_ELSEWHERE.format(
                p.relation or p.subject.rsplit(".", 1)[-1]))
    if earlier and problems:
        # What this file's own DDL made or changed earlier exists at run time, as it is
        # then: not a finding, and the statement is not analysed.
        judged = resolution.status == resolver.ANALYSED
        made_here = [p for p in problems if _made_earlier(p, earlier, snapshot)]
        problems, resolution = _dropping(
            problems, resolution, lambda p: _made_earlier(p, earlier, snapshot),
            lambda _: called or "uses what DDL earlier in this file created or changed")
        deferred = _deferred(fragment, made_here, earlier, snapshot, temp_tables,
                             resolution.reason, unknown) \
            if judged and made_here and not problems and confirming and temp_tables else None
        if deferred is not None:
            # Only temporary tables the file makes one way: PostgreSQL makes them and judges
            # it (`_judge_after_temp_tables`), which counts it.
            outcome.deferred.append(deferred)
            return
    if on_path is not None and problems:
        # Confirmation prepares under the run's path, not this one: said, not reported.
        problems, resolution = _dropping(
            problems, resolution, lambda p: p.code in (UNKNOWN_TABLE.code, UNKNOWN_COLUMN.code)
            or (p.code == COLUMN_VALUE_COUNT_MISMATCH.code and bool(p.sources)),
            lambda _: f"reads what the search path the code sets before it "
                      f"({', '.join(on_path.search_path)}) does not show; not confirmed")
    if fragment.checked_tables and problems:
        # The code sends it only where these exist (`if inspector.has_table("x"):`).
        problems, resolution = _dropping(
            problems, resolution,
            lambda p: p.code == UNKNOWN_TABLE.code
            and _among_checked(p.subject, fragment.checked_tables),
            lambda _: "reads a table the code checks exists before sending it")
    if fragment.absent_tables and problems:
        # The code sends it only where a table does not exist (the `else` of `if
        # table_exists(conn, "x"):`, an old layout's fallback): not where the schema has it.
        there = sorted(t for t in fragment.absent_tables if _has_table(snapshot, t))
        if there:
            problems, resolution = _dropping(
                problems, resolution, lambda _: True,
                lambda _: f"sent only where `{there[0]}` does not exist, which the schema has")
    if fragment.installed_extensions and problems:
        # The code sends it only where an extension is installed (`if is_timescale:` after
        # reading `pg_extension`): not where the schema lacks it.
        have = {extension.name for extension in snapshot.extensions}
        lacking = sorted(fragment.installed_extensions - have)
        if lacking:
            problems, resolution = _dropping(
                problems, resolution, lambda _: True,
                lambda _: f"sent only where extension `{lacking[0]}` is installed (the code "
                          f"reads `pg_extension` first), which the schema lacks")
    if fragment.not_sent_to and problems:
        # The code sends it only to other PostgreSQL versions (`if server_version >=
        # 150000:`): what this version's catalog lacks is nothing it will meet.
        problems, resolution = _dropping(
            problems, resolution, lambda p: p.catalog_version in fragment.not_sent_to,
            lambda p: f"reads PostgreSQL {p.catalog_version}'s system catalog, a version the "
                      f"code does not send it to")
    if (fragment.not_sent_to and problems and catalog is not None and not catalog.exact
            and _shipped() <= fragment.not_sent_to):
        # Checked against every shipped version's catalog at once (`syscatalog.any_version`),
        # in code that sends it to none of them (`if server_version < 150000:`): an older
        # version's column (`pg_database.datlastsysoid`, gone in 15) may be there.
        problems, resolution = _dropping(
            problems, resolution,
            lambda p: p.code == UNKNOWN_COLUMN.code
            and p.subject.startswith(("pg_catalog.", "information_schema.")),
            lambda p: f"reads the system catalog in code that sends it only to other versions "
                      f"than PostgreSQL {_majors_text(_shipped())}")
    if fragment.not_sent_to and problems and _known_callables() <= fragment.not_sent_to:
        # The code sends it only to versions whose pg_catalog dbsafe does not know (the `else`
        # of `if server_version >= 100000:`): a built-in it calls may be theirs
        # (`pg_xlogfile_name`, renamed in 10; `pg_start_backup`, removed in 15).
        problems, resolution = _dropping(
            problems, resolution,
            lambda p: p.code in (UNKNOWN_FUNCTION_CALL.code, UNKNOWN_TYPE.code)
            and ("." not in p.subject or p.subject.startswith("pg_catalog.")),
            lambda p: f"{'calls' if p.code == UNKNOWN_FUNCTION_CALL.code else 'casts to'} "
                      f"`{p.subject}`, which PostgreSQL {_majors_text(_known_callables())} "
                      f"lack, in code that sends it only to other versions")
    if fragment.value_holes and problems:
        # A value the code puts in at run time (`VALUES ({placeholders})`, read as one NULL)
        # may be any number of values: the counts of the statement are unknown.
        problems, resolution = _dropping(
            problems, resolution, lambda p: p.code == COLUMN_VALUE_COUNT_MISMATCH.code,
            lambda _: "counts values among which some are put in at run time")
    if fragment.built_strings and problems:
        # A name read from a string the code completes at run time (`'{table}_id_seq'`
        # read as `'_id_seq'`) is not the name PostgreSQL gets.
        problems, resolution = _dropping(
            problems, resolution,
            lambda p: any(p.start <= offset <= p.end + 1 for offset in fragment.built_strings),
            lambda _: "names a relation in a string completed at run time")
    outcome.counts[f"statements_{resolution.status}"] += 1
    if resolution.status == "analysed" and problems:
        outcome.analysed_with_findings.append(tuple(
            fragment.location(p.start, p.end) for p in problems))
    if resolution.status in ("not_analysed", "unparsed"):
        outcome.skipped.append(Skipped(fragment.location(0),
                                       f"{resolution.status.replace('_', ' ')}: {resolution.reason}"))
    # Numbered here, in the worker, from the parse the resolver has just made of it: the
    # parent does not parse the statement again to confirm it.
    if problems and confirming:
        from dbsafe.validate.confirm import rewrite

        sent: Rewrite | None = rewrite(fragment.sql)
    else:
        sent = None
    for problem in problems:
        info = _RULES_BY_CODE[problem.code]
        finding = Finding(
            code=problem.code,
            message=problem.message,
            severity=info.default_severity,
            location=fragment.location(problem.start, problem.end),
            subject=problem.subject,
            help=problem.help,
        )
        if problem.sources and finding.location is not None:
            looked_in = outcome.looked_in.get(finding.location, ())
            outcome.looked_in[finding.location] = tuple(dict.fromkeys(
                (*looked_in, *(subject.rsplit(".", 1)[-1] for subject in problem.sources))))
        outcome.candidates.append(Candidate(finding, fragment.sql, problem.start, problem.end,
                                            problem.requires_version, problem.catalog_version,
                                            sent, problem.sqlstates))



# -- confirmation by PostgreSQL ----------------------------------------------------------------


class _ConfirmationCut(Exception):
    """A lock cut the Parse of some statements (`error`, the first's); the outcomes of
    `incomplete` wait for their verdicts, every other one has them all."""

    def __init__(self, error: DatabaseError, incomplete: list[FileOutcome]) -> None:
        super().__init__(str(error))
        self.error = error
        self.incomplete = incomplete


def _confirm(outcomes: list[FileOutcome], source: SchemaSource, settings: Settings) -> None:
    """Keep a candidate as confirmed only if PostgreSQL's error names its reference.

    PostgreSQL stops at the first error, so a statement with several candidates is prepared
    again with each confirmed column reference replaced by NULL (`confirm.repaired`) until
    every candidate is confirmed, PostgreSQL accepts the rest (they are dropped), or it
    stops at something else (the rest stay, marked unconfirmed).

    Raises:
        _ConfirmationCut: a statement's Parse waited for a lock past `lock-timeout` (or
            deadlocked): no verdict, and kept unconfirmed such a finding would be flagged
            (and cached) for a table another session held for a moment; its SQLSTATE is
            kept, so a guarded run tries again (`guard.upgrade.waited`). Raised after the
            round it happened in, whose other verdicts are kept in their outcomes.
    """
    from dbsafe.validate.confirm import LOCK_WAITS, Session, points_at, repaired, rewrite

    deferred = [(o, d) for o in outcomes for d in o.deferred]
    if deferred and source.kind == "database":
        # A database the user named (production's, a replica): dbsafe makes nothing there,
        # not even a temporary table in a savepoint rolled back (catalog rows, WAL, a
        # transaction id). Only a database dbsafe built judges them.
        _leave_unjudged(deferred)
    elif deferred:
        with Session(source.database(), lock_timeout=settings.lock_timeout,
                     statement_timeout=settings.statement_timeout,
                     search_path=settings.search_path) as session:
            _judge_after_temp_tables(deferred, session)
    pending = [(o, c) for o in outcomes for c in o.candidates]
    for outcome in outcomes:
        outcome.candidates = []
    confirming_version = source.snapshot.server_version
    newer = [(o, c) for o, c in pending if c.requires_version is not None
             and (confirming_version is None or confirming_version >= c.requires_version)]
    for outcome, candidate in newer:
        # The server at hand is newer than the target: its verdict would not apply.
        outcome.findings.append(_version_rule(candidate.finding, confirming_version))
    pending = [(o, c) for o, c in pending if all(c is not n for _, n in newer)]
    confirming_major = confirming_version // 10000 if confirming_version else None
    other = [(o, c) for o, c in pending
             if c.catalog_version is not None and c.catalog_version != confirming_major]
    for outcome, candidate in other:
        # Checked against another version's catalog: this server's verdict would not apply.
        outcome.findings.append(_other_catalog(candidate, confirming_major))
    pending = [(o, c) for o, c in pending if all(c is not n for _, n in other)]
    if not pending:
        return
    # Per distinct statement: its rewrite so far (placeholders numbered, confirmed column
    # references replaced by NULL) and the candidates still open in it.
    open_: dict[str, list[tuple[FileOutcome, Candidate]]] = {}
    for outcome, candidate in pending:
        open_.setdefault(candidate.sql, []).append((outcome, candidate))
    statements = {sql: entries[0][1].rewrite or rewrite(sql) for sql, entries in open_.items()}
    # One connection for every round: a statement with several candidates goes out again,
    # repaired, in the next one.
    with Session(source.database(), lock_timeout=settings.lock_timeout,
                 statement_timeout=settings.statement_timeout,
                 search_path=settings.search_path) as session:
        cut: list[tuple[list[tuple[FileOutcome, Candidate]], Verdict]] = []
        while open_ and not cut:
            order = list(open_)
            verdicts = session.verdicts([statements[s] for s in order])
            for original, verdict in zip(order, verdicts):
                entries = open_.pop(original)
                if verdict.sqlstate in LOCK_WAITS:
                    cut.append((entries, verdict))
                    continue
                if verdict.accepted:
                    for outcome, candidate in entries:
                        _dropped(outcome, candidate)
                    continue
                named = verdict.names()
                # The error position (offsets into the original statement) is exact and
                # independent of the server's lc_messages; the identifier in the message
                # serves when the statement had to be regenerated to number its placeholders.
                hits = [(o, c) for o, c in entries if _refuses(verdict, c) and (
                    points_at(verdict, original, c.start, c.end) if verdict.position is not None
                    else c.name in named)]
                for outcome, candidate in hits:
                    outcome.findings.append(_confirmed(candidate.finding, verdict))
                rest = [(o, c) for o, c in entries if all(c is not h for _, h in hits)]
                if not rest:
                    continue
                if hits:
                    again = repaired(statements[original], verdict, hits[0][1].end)
                    if again is not None:
                        statements[original] = again
                        open_[original] = rest
                        continue
                for outcome, candidate in rest:
                    outcome.counts["findings_unconfirmed"] += 1
                    outcome.findings.append(_unconfirmed(candidate.finding, verdict))
    if cut:
        # Still open: the cut statements', and those a repair sends again next round.
        waiting = [o for entries, _ in cut for o, _ in entries] + [
            o for entries in open_.values() for o, _ in entries]
        entries, verdict = cut[0]
        raise _ConfirmationCut(_lock_wait(entries[0][1].finding, verdict), waiting)


def _judge_after_temp_tables(deferred: list[tuple[FileOutcome, Deferred]],
                             session: Session) -> None:
    """Each statement reading temporary tables its file makes one way, prepared after
    PostgreSQL made them (`Session.judged_after`): accepted, it is analysed; refused for an
    undefined column, that is a finding (DBS302) where PostgreSQL points, unless the schema
    is incomplete; anything else (a `CREATE` that failed, another error, no position) leaves
    it not analysed, for the reason it had.

    PostgreSQL stops at the first error: as `_confirm` does, a statement refused for a
    column goes again in the next round with that reference replaced by NULL
    (`confirm.repaired`), until PostgreSQL accepts it, refuses something else or the
    reference cannot be replaced (an INSERT's target column): each column it refused on
    the way is a finding, the statement analysed."""
    from dbsafe.validate.confirm import repaired

    # Per statement: what it is sent as next, the columns PostgreSQL refused so far, and
    # whether it has been analysed (None: still open).
    sent = [item.sent for _, item in deferred]
    found: list[list[Finding]] = [[] for _ in deferred]
    analysed: list[bool | None] = [None for _ in deferred]
    while open_ := [i for i, judged in enumerate(analysed) if judged is None]:
        verdicts = session.judged_after((deferred[i][1].creates, sent[i]) for i in open_)
        for i, verdict in zip(open_, verdicts):
            refused = _temp_table_finding(deferred[i][1], verdict) if verdict is not None \
                and not verdict.accepted else None
            if refused is None:
                # accepted: analysed; no verdict, another error: analysed only for
                # the columns refused before it
                analysed[i] = bool(found[i]) or (verdict is not None and verdict.accepted)
                continue
            finding, end = refused
            found[i].append(finding)
            again = repaired(sent[i], verdict, end) if verdict is not None else None
            if again is None:
                analysed[i] = True
            else:
                sent[i] = again
    for (outcome, item), findings, judged in zip(deferred, found, analysed):
        if not judged:
            _leave_unjudged([(outcome, item)])
            continue
        outcome.deferred = []
        outcome.counts["statements_analysed"] += 1
        if findings:
            outcome.findings.extend(findings)
            outcome.analysed_with_findings.append(tuple(f.location for f in findings))
        for finding in findings:
            if finding.location is not None:
                outcome.looked_in[finding.location] = item.tables


def _leave_unjudged(deferred: list[tuple[FileOutcome, Deferred]]) -> None:
    """Each statement reading temporary tables its file makes, not analysed for the reason it
    had (no database dbsafe may make them in)."""
    for outcome, item in deferred:
        outcome.deferred = []
        outcome.counts["statements_not_analysed"] += 1
        outcome.skipped.append(Skipped(item.fragment.location(0), f"not analysed: {item.reason}"))


def _temp_table_finding(item: Deferred, verdict: Verdict) -> tuple[Finding, int] | None:
    """DBS302 for PostgreSQL's 42703 (undefined column) on a statement reading temporary
    tables, at the reference its error position starts (`confirm.reference_end`), with
    where that reference ends; None for any other error, one without a position, or where
    the schema is incomplete."""
    from dbsafe.validate.confirm import reference_end

    if verdict.sqlstate != "42703" or verdict.position is None or item.schema_incomplete:
        return None
    sql = item.fragment.sql
    end = reference_end(sql, verdict.position)
    if end is None:
        return None
    reference = sql[verdict.position:end + 1]
    tables = ", ".join(f"`{t}`" for t in item.tables)
    return Finding(
        code=UNKNOWN_COLUMN.code,
        message=f"no column `{reference}` in scope: PostgreSQL refuses it after making "
                f"the temporary table{'s' if len(item.tables) > 1 else ''} {tables} as "
                f"this file does",
        severity=UNKNOWN_COLUMN.default_severity,
        location=item.fragment.location(verdict.position, end),
        subject=".".join(identifier_at(part, 0, len(part) - 1)
                         for part in reference.split(".")),
        help=verdict.hint,
        context=(("PostgreSQL", f"{verdict.sqlstate}: {verdict.message}"),
                 ("Made first", "; ".join(item.creates))),
    ), end


def _refuses(verdict: Verdict, candidate: Candidate) -> bool:
    """Whether PostgreSQL's error is the one `candidate` predicts: those it names (a CALL no
    procedure takes), 42883 (undefined_function) for a call of a function the schema lacks,
    else an undefined column or table."""
    if candidate.sqlstates:
        return verdict.sqlstate in candidate.sqlstates
    if candidate.finding.code == UNKNOWN_FUNCTION_CALL.code:
        return verdict.sqlstate == "42883"
    return verdict.rejected


def _lock_wait(finding: Finding, verdict: Verdict) -> DatabaseError:
    """'could not confirm app/q.sql:3 with PostgreSQL: canceling statement due to lock
    timeout', its SQLSTATE kept."""
    location = finding.location
    where = f"{location.path}:{location.line}" if location else "a statement"
    error = DatabaseError(f"could not confirm {where} with PostgreSQL: {verdict.message}")
    error.sqlstate = verdict.sqlstate
    return error


def _dropped(outcome: FileOutcome, candidate: Candidate) -> None:
    location = candidate.finding.location
    log.info("PostgreSQL accepts %s:%s; dropping the static finding",
             location.path if location else "?", location.line if location else "?")
    outcome.counts["findings_dropped_by_postgresql"] += 1


def _confirmed(finding: Finding, verdict: Verdict) -> Finding:
    import dataclasses

    context = finding.context + (("PostgreSQL", f"{verdict.sqlstate}: {verdict.message}"),)
    help_text = finding.help or verdict.hint
    return dataclasses.replace(finding, context=context, help=help_text)


def _version_rule(finding: Finding, version: int | None) -> Finding:
    import dataclasses

    shown = f"PostgreSQL {version // 10000}" if version else "the server at hand"
    detail = f"not confirmed: {shown} accepts it; the target version does not"
    return dataclasses.replace(finding, context=finding.context + (("PostgreSQL", detail),))


def _dropping(problems: tuple[Problem, ...], resolution: Resolution,
              dropped: Callable[[Problem], bool], reason: Callable[[Problem], str],
              ) -> tuple[tuple[Problem, ...], Resolution]:
    """`problems` less those `dropped` holds for and, when there were some, the statement
    not analysed for `reason` (of the first of them)."""
    from dbsafe.validate import resolver

    kept = tuple(p for p in problems if not dropped(p))
    if len(kept) == len(problems):
        return problems, resolution
    first = next(p for p in problems if dropped(p))
    return kept, resolver.Resolution(resolver.NOT_ANALYSED, kept, reason=reason(first))


def _among_checked(subject: str, checked: frozenset[str]) -> bool:
    """Whether a missing relation `subject` (`schema.name`, or a missing schema alone) is
    one the code checks exists: named alone (`has_table("x")`) or with its schema
    (`to_regclass('temporal.schema_version')`), or the schema of one so named (it exists
    where that table does).

    >>> checked = frozenset({"jobs", "temporal.schema_version"})
    >>> [_among_checked(s, checked) for s in ("public.jobs", "temporal.schema_version",
    ...                                       "temporal", "other.schema_version", "x.y")]
    [True, True, True, False, False]
    """
    return subject.rsplit(".", 1)[-1] in checked or subject in checked or \
        any(table.startswith(subject + ".") for table in checked)


def _has_table(snapshot: SchemaSnapshot, table: str) -> bool:
    """Whether the schema has `table` (`name`, on its search path, or `schema.name`)."""
    schema, _, name = table.rpartition(".")
    return snapshot.find_relation(name, schema or None) is not None


def _known_callables() -> frozenset[int]:
    """The majors whose pg_catalog functions DBS314 knows (`syscatalog.callable_majors`)."""
    from dbsafe.validate.syscatalog import callable_majors

    return callable_majors()


def _shipped() -> frozenset[int]:
    """The majors whose system catalog dbsafe ships (`syscatalog.shipped_majors`)."""
    from dbsafe.validate.syscatalog import shipped_majors

    return shipped_majors()


def _majors_text(majors: frozenset[int]) -> str:
    """Majors as a sentence says them: "15, 17 and 18"."""
    shown = [str(major) for major in sorted(majors)]
    return f"{', '.join(shown[:-1])} and {shown[-1]}" if len(shown) > 1 else "".join(shown)


def _other_catalog(candidate: Candidate, major: int | None) -> Finding:
    import dataclasses

    shown = f"PostgreSQL {major}" if major else "the server at hand"
    detail = (f"not confirmed: checked against PostgreSQL {candidate.catalog_version}'s "
              f"system catalog; {shown} has its own")
    finding = candidate.finding
    return dataclasses.replace(finding, context=finding.context + (("PostgreSQL", detail),))


def _unconfirmed(finding: Finding, verdict: Verdict) -> Finding:
    import dataclasses

    detail = (f"not confirmed: PostgreSQL stopped at another error first "
              f"({verdict.sqlstate}: {verdict.message})")
    return dataclasses.replace(finding, context=finding.context + (("PostgreSQL", detail),))


# -- cache -------------------------------------------------------------------------------------


class _Cache:
    """Per-file outcomes in one JSON file per schema (`SchemaSource.cache_key`) and
    confirmation mode, keyed by each file's path and content.

    Beside them, each file's status when it was last read (size, modification and change
    times, inode: git's index and mypy's cache trust the same) and the content key it had:
    a file whose status is unchanged is not read again. A change time cannot be set back
    by hand, and a status is only recorded once the file is `_SETTLED` seconds old, so an
    edit within the clock's resolution of the read cannot pass for the same file.
    """

    def __init__(self, path: Path | None, entries: dict[str, dict],
                 statuses: dict[str, list] | None = None,
                 warnings: list[str] | None = None) -> None:
        self.path = path
        self.entries = entries
        self.statuses = statuses if statuses is not None else {}
        # What resolving under this schema and path warned of (`search_path.for_application`):
        # a run answered wholly from the cache resolves nothing, and says them from here.
        self.warnings = warnings if warnings is not None else []
        self.dirty = False
        self._settled_before = time.time_ns() - _SETTLED * 1_000_000_000

    @classmethod
    def open(cls, settings: Settings, schema_key: str, confirming: bool,
             catalog: SystemCatalog | None = None,
             exposed: ExposedSchemas | None = None,
             js_names: SqlNames | None = None,
             py_parsers: Mapping[str, Parsed] | None = None,
             py_migrations: Mapping[str, Moves] | None = None,
             py_clients: Mapping[str, str] | None = None,
             supabase: SupabaseProjects | None = None) -> _Cache:
        if not settings.use_cache:
            return cls(None, {})
        mode = "confirmed" if confirming else "static"
        if dev_url() is not None:  # its reasons name the dev server, not the throwaway
            mode += "-dev"
        if settings.target_version:
            mode += f"-pg{settings.target_version}"
        if catalog is not None:
            mode += "-catalog" + catalog.key()  # a live server's catalog may change
        from dbsafe.validate.search_path import cache_key

        mode += cache_key(settings)  # the same schema read with another path
        if exposed is not None:  # config.toml's exposed schemas: DBS311 or not
            mode += "-api" + hashlib.sha256(exposed.key().encode()).hexdigest()[:12]
        if js_names is not None:
            names = js_names.key()
            # Other SQL tags/calls extract other statements from the same files.
            mode += "-js" + hashlib.sha256(names.encode()).hexdigest()[:12]
        if py_parsers:  # what the project's modules give them is not read
            from dbsafe.extract.py_parsers import key

            mode += "-py" + hashlib.sha256(key(py_parsers).encode()).hexdigest()[:12]
        if py_migrations:  # what the project's tests send around them is not read
            from dbsafe.extract import py_migrations as moving

            mode += "-mv" + hashlib.sha256(moving.key(py_migrations).encode()).hexdigest()[:12]
        if py_clients:  # what the project's modules send through them is not PostgreSQL's
            from dbsafe.extract import py_clients as clients

            mode += "-cl" + hashlib.sha256(clients.key(py_clients).encode()).hexdigest()[:12]
        if supabase is not None:  # other Supabase projects' requests are not analysed
            mode += "-sb" + hashlib.sha256(supabase.key().encode()).hexdigest()[:12]
        name = f"validate-{__version__}-{schema_key}-{mode}.json"
        path = settings.effective_cache_dir / name
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") == _CACHE_VERSION:
                return cls(path, data.get("files", {}), data.get("statuses", {}),
                           [str(w) for w in data.get("warnings", [])])
        except (OSError, ValueError, AttributeError, TypeError):
            pass
        return cls(path, {})

    def unchanged(self, rel: str, path: str) -> tuple[str, bool] | None:
        """(content key, whether the file holds `dbsafe:` directives) when the file at
        `path` has the status recorded for `rel`; None when it may have changed."""
        recorded = self.statuses.get(rel)
        if recorded is None:
            return None
        try:
            status = os.stat(path)
        except OSError:
            return None
        if recorded[:4] != _status(status):
            return None
        return recorded[4], recorded[5]

    def remember(self, rel: str, status: os.stat_result, key: str, directives: bool) -> None:
        """Record that `rel`, with `status` from before it was read, had content `key`."""
        if self.path is None:
            return
        if max(status.st_mtime_ns, status.st_ctime_ns) >= self._settled_before:
            # Written just now: an edit within the same clock tick could pass unseen.
            if self.statuses.pop(rel, None) is not None:
                self.dirty = True
            return
        entry = [*_status(status), key, directives]
        if self.statuses.get(rel) != entry:
            self.statuses[rel] = entry
            self.dirty = True

    def get(self, key: str) -> FileOutcome | None:
        entry = self.entries.get(key)
        if entry is None:
            return None
        try:
            return _outcome_from_json(entry)
        except (KeyError, TypeError, ValueError):
            return None

    def said(self, warnings: list[str]) -> None:
        """Record what resolving warned of (see `warnings`)."""
        if warnings != self.warnings:
            self.warnings = warnings
            self.dirty = True

    def put(self, key: str, outcome: FileOutcome) -> None:
        self.entries[key] = _outcome_to_json(outcome)
        self.dirty = True

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        from dbsafe.cache import write_cache_file

        write_cache_file(self.path, json.dumps({"version": _CACHE_VERSION,
                                                "files": self.entries,
                                                "statuses": self.statuses,
                                                "warnings": self.warnings}))


def _status(status: os.stat_result) -> list[int]:
    return [status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino]


def _location_to_json(loc: Location | None) -> list | None:
    if loc is None:
        return None
    return [loc.path, loc.line, loc.column, loc.end_line, loc.end_column]


def _location_from_json(data: list | None) -> Location | None:
    return Location(*data) if data is not None else None


def _outcome_to_json(outcome: FileOutcome) -> dict:
    return {
        "path": outcome.path,
        "findings": [
            {"code": f.code, "message": f.message, "severity": f.severity.value,
             "location": _location_to_json(f.location), "subject": f.subject, "help": f.help,
             "context": [list(c) for c in f.context]}
            for f in outcome.findings
        ],
        "skipped": [[_location_to_json(s.location), s.reason] for s in outcome.skipped],
        "counts": dict(outcome.counts),
        "made": sorted(outcome.made),
        "given": {name: list(columns) for name, columns in outcome.given.items()},
        "analysed_with_findings": [[_location_to_json(where) for where in statement]
                                   for statement in outcome.analysed_with_findings],
        "looked_in": [[_location_to_json(where), list(names)]
                      for where, names in outcome.looked_in.items()],
    }


def _outcome_from_json(data: dict) -> FileOutcome:
    findings = [
        Finding(code=f["code"], message=f["message"], severity=Severity(f["severity"]),
                location=_location_from_json(f["location"]), subject=f["subject"],
                help=f["help"], context=tuple(tuple(c) for c in f["context"]))
        for f in data["findings"]
    ]
    skipped = [Skipped(Location(*loc), reason) for loc, reason in data["skipped"]]
    # Not Counter(mapping): its __init__ re-adds key by key in Python, and a cached run
    # builds one per file. A Counter is a dict with no state of its own.
    counts: Counter = Counter.__new__(Counter)
    dict.update(counts, data["counts"])
    analysed = [tuple(_location_from_json(where) for where in statement)
                for statement in data["analysed_with_findings"]]
    looked_in = {Location(*where): tuple(names) for where, names in data["looked_in"]}
    given = {name: tuple(columns) for name, columns in data["given"].items()}
    return FileOutcome(data["path"], findings, [], skipped, counts, frozenset(data["made"]),
                       given, analysed, looked_in)

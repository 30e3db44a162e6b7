"""A client a `let`/`var` holds once made (a lazy connection singleton) is a client.

Node services often make their pool on first use: `let pool; function getPool() { if (!pool)
pool = new Pool(); return pool; }`, `let client; ... client ??= await connect()`. Only a
`const` was followed to the client it holds, so a wrapper sending through such a `let` in a
module that loads no driver itself was no wrapper, a postgres.js client held so was no tag,
and a statement of lower-case keywords sent on one was not read. A `let`/`var` every value
of which is a client (its initializer `null`, `undefined` or none), and a function returning
it, are now followed; one also given anything else is not. A wrapper testing its text (`if
(!sql) throw ...`) or handing it to a `logDebug` of the project is still one
(genghishack/mapapp-api's `pgQuery`). Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import (
    ALBUM_DDL,
    assert_prepares,
    located_findings,
    validate_album_project,
)

_POOL = """\
import pg from 'pg';
export const makePool = async () => new pg.Pool({ connectionString: process.env.URL });
"""

# A module loading no driver: its clients are what it makes of `makePool`'s pools.
_QUERIES = """\
import { makePool } from './pool';
import { makeSearch } from './search';

let pool = null;
export async function q(text, params) {
  pool ??= await makePool();
  return pool.query(text, params);
}

var shared;
async function getShared() {
  if (!shared) shared = await makePool();
  return shared;
}
export const first = async (sql) => (await getShared()).query(sql);

let cached;
export async function all(sql) {
  cached = cached || await makePool();
  return cached.query(sql);
}

let either = null;
export async function mixed(sql, search) {
  either ??= await makePool();
  if (search) either = makeSearch();
  return either.query(sql);
}
"""

_SEARCH = """\
export const makeSearch = () => ({ query: (text) => fetch(`/search?q=${text}`) });
"""

_ROUTES = """\
import { q, first, all, mixed } from './db/queries';
export const a = () => q('SELECT titel FROM album WHERE id = $1', [1]);
export const b = () => first('SELECT lable FROM album');
export const c = () => all('SELECT nosuch FROM album');
export const d = () => mixed('SELECT other FROM album');
"""


@pytest.mark.db
def test_a_wrapper_sending_through_a_lazily_made_client_is_followed(
        database_url: str, tmp_path: Path) -> None:
    report = validate_album_project(database_url, tmp_path, {
        "src/db/pool.js": _POOL, "src/db/queries.js": _QUERIES, "src/db/search.js": _SEARCH,
        "src/routes.js": _ROUTES,
    })
    # `mixed` may send to what `makeSearch` makes: not read
    assert located_findings(report) == [
        ("DBS302", "src/routes.js", 2, "public.album.titel"),
        ("DBS302", "src/routes.js", 3, "public.album.lable"),
        ("DBS302", "src/routes.js", 4, "public.album.nosuch"),
    ]
    assert report.summary["statements_analysed"] == 3
    assert_prepares(database_url, ALBUM_DDL, ("SELECT title FROM album WHERE id = $1",),
                    ("SELECT titel FROM album WHERE id = $1", "SELECT lable FROM album",
                     "SELECT nosuch FROM album"))


_SAME_MODULE = """\
import { Pool } from 'pg';
import postgres from 'postgres';

let pool;
function getPool() {
  if (!pool) pool = new Pool();
  return pool;
}

let db;
export function getDb() {
  db ??= postgres(process.env.URL);
  return db;
}

let other = postgres(process.env.URL);
other = makeCache();

let appPool: Pool | undefined;
const app = (): Pool => (appPool ??= new Pool({ max: 2 }));
export async function close() {
  await appPool?.end();
  appPool = undefined;
}

export async function main() {
  await getPool().query('select titel from album');
  await pool.query('select lable from album');
  await db`SELECT nosuch FROM album`;
  await other`SELECT other FROM album`;
  await app().query('select titles from album');
}
"""


@pytest.mark.db
def test_a_lazily_made_client_of_the_same_module_is_followed(
        database_url: str, tmp_path: Path) -> None:
    report = validate_album_project(database_url, tmp_path, {"src/db.ts": _SAME_MODULE})
    # lower-case keywords are read on a PostgreSQL client only; `other` is not only one
    assert located_findings(report) == [
        ("DBS302", "src/db.ts", 27, "public.album.titel"),
        ("DBS302", "src/db.ts", 28, "public.album.lable"),
        ("DBS302", "src/db.ts", 29, "public.album.nosuch"),
        ("DBS302", "src/db.ts", 31, "public.album.titles"),
    ]
    assert report.summary["statements_analysed"] == 4


_LIB = """\
import pg from 'pg';
import { logDebug } from './logging-lib';
import { reject } from './error-lib';

const getPgClient = async () => {
  const pgClient = new pg.Client(process.env.URL);
  return Promise.resolve(pgClient);
};

export const pgQuery = async (sql, parameters, label) => {
  if (!sql) {
    return reject(new Error('No SQL provided for query'));
  }
  logDebug(`${label}: `, sql);
  let pgClient = { end: () => {} };
  try {
    pgClient = await getPgClient();
    pgClient.connect();
    const result = await pgClient.query(sql, parameters);
    return result.rows;
  } finally {
    pgClient.end();
  }
};
"""

_LOGGING = """\
export function logDebug() {
  console.log.apply(console, [...arguments]);
}
"""


@pytest.mark.db
def test_a_wrapper_testing_and_logging_its_text_is_followed(
        database_url: str, tmp_path: Path) -> None:
    report = validate_album_project(database_url, tmp_path, {
        "lib/postgres-lib.js": _LIB, "lib/logging-lib.js": _LOGGING,
        "lib/error-lib.js": "export const reject = (e) => Promise.reject(e);\n",
        "queries/getAlbum.js": "import { pgQuery } from '../lib/postgres-lib';\n"
                               "export default (id) => pgQuery(\n"
                               "  `SELECT titel FROM album WHERE id = $1`, [id], 'album');\n",
    })
    assert located_findings(report) == [("DBS302", "queries/getAlbum.js", 3, "public.album.titel")]
    assert report.summary["statements_analysed"] == 1

"""Strings handed to the project's own wrapper of a PostgreSQL driver call are statements.

A project that sends its SQL through a function or class method of its own
(`export const pquery = (text, params) => pool.query(text, params)`, blockchain-explorer's
`PgService.getRowsBySQlQuery(sql, values)`) had none of those statements read: `pquery(...)`
is no driver call. A wrapper that sends its parameter unchanged is now followed, in its module,
through imports and through an instance of its class; one that changes the text first, or
wraps another engine's driver, is not. Real PostgreSQL.
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

_SAME_MODULE = """\
import { Pool } from 'pg';
const pool = new Pool();
export async function q<T = any>(text: string, params?: any[]): Promise<T[]> {
  console.log(`running ${text}`);
  const { rows } = await pool.query(text, params);
  return rows as T[];
}
const first = (sql: string, p?: any[]) => q(sql, p).then((rows) => rows[0]);
const config = (text: string, values: any[]) => pool.query({ text, values });
export async function main(id: number) {
  await q<{ title: string }>('SELECT title FROM album WHERE id = $1', [id]);
  await q('SELECT titel FROM album WHERE id = $1', [id]);
  await first('SELECT lable FROM album WHERE id = $1', [id]);
  await config('SELECT nosuch FROM album WHERE id = $1', [id]);
}
"""


@pytest.mark.db
def test_a_wrapper_of_the_same_module_is_followed(database_url: str, tmp_path: Path) -> None:
    report = validate_album_project(database_url, tmp_path, {"src/db.ts": _SAME_MODULE})
    assert located_findings(report) == [
        ("DBS302", "src/db.ts", 12, "public.album.titel"),
        ("DBS302", "src/db.ts", 13, "public.album.lable"),
        ("DBS302", "src/db.ts", 14, "public.album.nosuch"),
    ]
    assert report.summary["statements_analysed"] == 4
    assert_prepares(database_url, ALBUM_DDL, ("SELECT title FROM album WHERE id = $1",),
                    ("SELECT titel FROM album WHERE id = $1",
                     "SELECT lable FROM album WHERE id = $1",
                     "SELECT nosuch FROM album WHERE id = $1"))


@pytest.mark.db
def test_an_imported_wrapper_is_followed(database_url: str, tmp_path: Path) -> None:
    report = validate_album_project(database_url, tmp_path, {
        "src/lib/db.ts": "import { Pool } from 'pg';\n"
                         "export const pool = new Pool();\n"
                         "export const pquery = (text: string, params: any[] = []) =>"
                         " pool.query(text, params);\n",
        "src/routes/albums.ts": "import { pquery } from '@/lib/db';\n"
                                "import * as db from '../lib/db.js';\n"
                                "export const one = () => pquery('SELECT titel FROM album');\n"
                                "export const two = () => db.pquery('SELECT label FROM album');\n",
        "server/runner.js": "const { Pool } = require('pg');\nconst pool = new Pool();\n"
                            "function run(sqlQuery, values = []) {\n"
                            "  return pool.query(sqlQuery, values);\n}\n"
                            "module.exports = { run };\n",
        "server/routes.js": "const { run } = require('./runner');\n"
                            "const runner = require('./runner');\n"
                            "run('SELECT lable FROM album');\n"
                            "runner.run('SELECT id FROM album');\n",
    })
    assert located_findings(report) == [
        ("DBS302", "server/routes.js", 3, "public.album.lable"),
        ("DBS302", "src/routes/albums.ts", 3, "public.album.titel"),
    ]
    assert report.summary["statements_analysed"] == 4


_PG_SERVICE = """\
import { Client } from 'pg';

export class PgService {
  client: Client;
  getRowsBySQlQuery(sql, values) {
    return new Promise((resolve, reject) => {
      this.client.query(sql, values, (err, res) => (err ? reject(err) : resolve(res.rows)));
    });
  }
  static count(sql: string) {
    return new Client().query(sql);
  }
}
"""

_CRUD_SERVICE = """\
import { PgService } from '../postgreSQL/PgService';

export class CRUDService {
  sql: PgService;
  constructor(sql: PgService) {
    this.sql = sql;
  }
  getAlbum(id: number) {
    return this.sql.getRowsBySQlQuery('select title, lable from album where id = $1', [id]);
  }
  getTitles(service: PgService) {
    return service.getRowsBySQlQuery('SELECT title FROM album', []);
  }
  countAlbums() {
    return PgService.count('select count(*) from albums');
  }
}
"""


@pytest.mark.db
def test_a_class_method_wrapper_is_followed(database_url: str, tmp_path: Path) -> None:
    report = validate_album_project(database_url, tmp_path, {
        "app/persistence/postgreSQL/PgService.ts": _PG_SERVICE,
        "app/persistence/fabric/CRUDService.ts": _CRUD_SERVICE,
    })
    assert located_findings(report) == [
        ("DBS302", "app/persistence/fabric/CRUDService.ts", 9, "public.album.lable"),
        ("DBS301", "app/persistence/fabric/CRUDService.ts", 15, "public.albums"),
    ]
    assert report.summary["statements_analysed"] == 3


@pytest.mark.db
def test_a_transforming_or_other_engine_wrapper_is_not_followed(database_url: str,
                                                                tmp_path: Path) -> None:
    report = validate_album_project(database_url, tmp_path, {
        "src/db.ts": "import { Pool } from 'pg';\nconst pool = new Pool();\n"
                     # the text sent is not the one given
                     "export const limited = (sql: string) => pool.query(sql + ' LIMIT 1');\n"
                     "export const trimmed = (sql: string) => pool.query(sql.trim());\n"
                     # one branch sends something else
                     "export const maybe = (sql: string, n?: number) =>\n"
                     "  n ? pool.query(`${sql} LIMIT ${n}`) : pool.query(sql);\n"
                     # (followed: the project's wrappers are read)
                     "export const sent = (sql: string) => pool.query(sql);\n",
        "src/mysql.ts": "import mysql from 'mysql2/promise';\n"
                        "const pool = mysql.createPool({});\n"
                        "export const run = (sql: string) => pool.query(sql);\n",
        "src/app.ts": "import { limited, trimmed, maybe, sent } from './db';\n"
                      "import { run } from './mysql';\n"
                      "limited('SELECT titel FROM album');\n"
                      "trimmed('SELECT titel FROM album');\n"
                      "maybe('SELECT titel FROM album');\n"
                      "run('SELECT titel FROM album');\n"
                      "sent('SELECT titel FROM album');\n",
    })
    assert located_findings(report) == [("DBS302", "src/app.ts", 7, "public.album.titel")]
    assert report.summary["statements_analysed"] == 1


# -- task 449: a barrel, a wrapper of another module's wrapper or pool, an object's methods,
# -- a method a subclass declares again

_POOL = "import { Pool } from 'pg';\nexport const pool = new Pool();\n" \
        "export const getPool = () => pool;\n"
_QUERY = """\
import { pool, getPool } from './pool';
export async function row<T>(sql: string, params: any[] = []) {
  const { rows: found } = await pool.query(sql, params);
  return found[0] as T;
}
export const rows = async (text: string, params?: any[]) => {
  const client = await getPool().connect();
  try {
    return (await client.query(text, params)).rows;
  } finally {
    client.release();
  }
};
"""


@pytest.mark.db
def test_a_wrapper_of_a_pool_another_module_makes_is_followed(database_url: str,
                                                              tmp_path: Path) -> None:
    report = validate_album_project(database_url, tmp_path, {
        "src/db/pool.ts": _POOL,
        "src/db/query.ts": _QUERY,
        # a pool of another engine's driver: its wrapper is not PostgreSQL's
        "src/legacy/pool.ts": "import mysql from 'mysql2/promise';\n"
                              "export const pool = mysql.createPool({});\n",
        "src/legacy/run.ts": "import { pool } from './pool';\n"
                             "export const run = (sql: string) => pool.query(sql);\n",
        "src/app.ts": "import { row, rows } from './db/query';\n"
                      "import { run } from './legacy/run';\n"
                      "row('SELECT titel FROM album WHERE id = $1', [1]);\n"
                      "rows('SELECT lable FROM album');\n"
                      "run('SELECT nosuch FROM album');\n",
        # a CommonJS pool, and a wrapper throwing what it was given (Roster-App's shape)
        "api/dbConfig.js": "const { Pool } = require('pg');\nconst pool = new Pool();\n"
                           "module.exports = { pool };\n",
        "api/db/queries.js": "const { pool } = require('../dbConfig');\n"
                             "const runSql = async (sql, params) => {\n"
                             "  try {\n"
                             "    return await pool.query(sql, params);\n"
                             "  } catch (error) {\n"
                             "    throw { message: 'runSql failed', error, sql, params };\n"
                             "  }\n};\nmodule.exports = { runSql };\n",
        "api/db/staff.js": "const { runSql } = require('./queries');\n"
                           "const one = async (id) => {\n"
                           "  const sql = 'SELECT titel FROM album WHERE id = $1;';\n"
                           "  return runSql(sql, [id]);\n};\n",
    })
    assert located_findings(report) == [
        ("DBS302", "api/db/staff.js", 3, "public.album.titel"),
        ("DBS302", "src/app.ts", 3, "public.album.titel"),
        ("DBS302", "src/app.ts", 4, "public.album.lable"),
    ]
    assert report.summary["statements_analysed"] == 3


@pytest.mark.db
def test_a_barrel_and_a_wrapper_of_another_modules_wrapper_are_followed(
        database_url: str, tmp_path: Path) -> None:
    report = validate_album_project(database_url, tmp_path, {
        "src/db/pool.ts": _POOL,
        "src/db/query.ts": _QUERY,
        "src/db/index.ts": "export { row as first } from './query';\nexport * from './query';\n",
        "src/lib/sql.ts": "import { rows } from '../db/query';\nexport { rows as all };\n",
        "src/db/helpers.ts": "import { row } from './query';\n"
                             "export const exists = (sql: string, params: any[]) =>\n"
                             "  row(sql, params).then((found) => !!found);\n"
                             # (the text sent is not the one given)
                             "export const limited = (sql: string) => row(sql + ' LIMIT 1');\n",
        "src/routes.ts": "import { first, rows } from '@/db';\n"
                         "import { all } from '../src/lib/sql';\n"
                         "import { exists, limited } from './db/helpers';\n"
                         "first('SELECT titel FROM album');\n"
                         "rows('SELECT lable FROM album');\n"
                         "all('SELECT nosuch FROM album');\n"
                         "exists('SELECT 1 FROM album WHERE titel = $1', ['x']);\n"
                         "limited('SELECT titel FROM album');\n",
    })
    assert located_findings(report) == [
        ("DBS302", "src/routes.ts", 4, "public.album.titel"),
        ("DBS302", "src/routes.ts", 5, "public.album.lable"),
        ("DBS302", "src/routes.ts", 6, "public.album.nosuch"),
        ("DBS302", "src/routes.ts", 7, "public.album.titel"),
    ]
    assert report.summary["statements_analysed"] == 4


@pytest.mark.db
def test_the_methods_of_an_object_literal_are_followed_and_read_once(database_url: str,
                                                                     tmp_path: Path) -> None:
    report = validate_album_project(database_url, tmp_path, {
        "src/db.ts": "import { Pool } from 'pg';\nconst pool = new Pool();\n"
                     "export const db = {\n"
                     "  all: (text: string, params?: any[]) => pool.query(text, params),\n"
                     "  query: (text: string, params?: any[]) => pool.query(text, params),\n"
                     "  trimmed(text: string) { return pool.query(text.trim()); },\n"
                     "};\n",
        "src/app.ts": "import { db } from './db';\n"
                      "db.all('SELECT titel FROM album');\n"
                      # (a driver method's name: read as before, and once)
                      "db.query('SELECT lable FROM album');\n"
                      "db.trimmed('SELECT nosuch FROM album');\n",
        "server/db.js": "const { Pool } = require('pg');\nconst pool = new Pool();\n"
                        "module.exports = {\n"
                        "  all: (text, params) => pool.query(text, params),\n"
                        "  async get(text, params) { return (await pool.query(text, params))"
                        ".rows[0]; },\n"
                        "};\n",
        "server/routes.js": "const db = require('./db');\nconst { get } = require('./db');\n"
                            "db.all('SELECT titel FROM album');\n"
                            "get('SELECT lable FROM album');\n",
    })
    assert located_findings(report) == [
        ("DBS302", "server/routes.js", 3, "public.album.titel"),
        ("DBS302", "server/routes.js", 4, "public.album.lable"),
        ("DBS302", "src/app.ts", 2, "public.album.titel"),
        ("DBS302", "src/app.ts", 3, "public.album.lable"),
    ]
    assert report.summary["statements_analysed"] == 4


_LIMITED = """\
import { PgService } from '../postgreSQL/PgService';

export class LimitedService extends PgService {
  getRowsBySQlQuery(sql, values) {
    return super.getRowsBySQlQuery(`${sql} LIMIT 10`, values);
  }
}
"""


@pytest.mark.db
def test_a_method_a_subclass_declares_again_is_not_followed(database_url: str,
                                                            tmp_path: Path) -> None:
    # `sql: PgService` may hold a LimitedService, whose method sends another text: the
    # class's calls are left unread (the same files without the subclass: see above)
    report = validate_album_project(database_url, tmp_path, {
        "app/persistence/postgreSQL/PgService.ts": _PG_SERVICE,
        "app/persistence/fabric/CRUDService.ts": _CRUD_SERVICE,
        "app/persistence/fabric/LimitedService.ts": _LIMITED,
        "app/runner.ts": "import { Pool } from 'pg';\nconst pool = new Pool();\n"
                         "export class Runner { run(sql: string) { return pool.query(sql); } }\n"
                         "export const go = (r: Runner) => r.run('SELECT titel FROM album');\n",
    })
    assert located_findings(report) == [("DBS302", "app/runner.ts", 4, "public.album.titel")]
    assert report.summary["statements_analysed"] == 1

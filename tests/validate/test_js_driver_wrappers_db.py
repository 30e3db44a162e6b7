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

import psycopg
import pytest

from dbsafe.core import Report
from tests.helpers import assert_prepares

_DDL = "CREATE TABLE IF NOT EXISTS album (id int PRIMARY KEY, title text, label text)"


def _validate(database_url: str, root: Path, files: dict[str, str]) -> Report:
    from dbsafe import commands
    from dbsafe.config import load_settings

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_DDL)
    (root / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    settings = load_settings(root, {"database-url": database_url, "cache": False}, environ={})
    return commands.validate(settings, [root])


def _found(report: Report) -> list[tuple[str, str, int, str | None]]:
    return [(f.code, f.location.path, f.location.line, f.subject)
            for f in report.findings if f.location is not None]


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
    report = _validate(database_url, tmp_path, {"src/db.ts": _SAME_MODULE})
    assert _found(report) == [
        ("DBS302", "src/db.ts", 12, "public.album.titel"),
        ("DBS302", "src/db.ts", 13, "public.album.lable"),
        ("DBS302", "src/db.ts", 14, "public.album.nosuch"),
    ]
    assert report.summary["statements_analysed"] == 4
    assert_prepares(database_url, _DDL, ("SELECT title FROM album WHERE id = $1",),
                    ("SELECT titel FROM album WHERE id = $1",
                     "SELECT lable FROM album WHERE id = $1",
                     "SELECT nosuch FROM album WHERE id = $1"))


@pytest.mark.db
def test_an_imported_wrapper_is_followed(database_url: str, tmp_path: Path) -> None:
    report = _validate(database_url, tmp_path, {
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
    assert _found(report) == [
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
    report = _validate(database_url, tmp_path, {
        "app/persistence/postgreSQL/PgService.ts": _PG_SERVICE,
        "app/persistence/fabric/CRUDService.ts": _CRUD_SERVICE,
    })
    assert _found(report) == [
        ("DBS302", "app/persistence/fabric/CRUDService.ts", 9, "public.album.lable"),
        ("DBS301", "app/persistence/fabric/CRUDService.ts", 15, "public.albums"),
    ]
    assert report.summary["statements_analysed"] == 3


@pytest.mark.db
def test_a_transforming_or_other_engine_wrapper_is_not_followed(database_url: str,
                                                                tmp_path: Path) -> None:
    report = _validate(database_url, tmp_path, {
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
    assert _found(report) == [("DBS302", "src/app.ts", 7, "public.album.titel")]
    assert report.summary["statements_analysed"] == 1

"""Query shapes of postgres.js, node-postgres and postgres-meta that validate did not read.

postgres.js hands `sql.begin`'s callback (and a transaction's `savepoint`'s) a client of the
same kind, a tag: `await tx`SELECT ...`` (`tx<Row[]>`...`` in TypeScript). node-postgres takes a query config (`pool.query({
text, values })`, a prepared statement's `{ name, text }`, `new Query({ text })`).
A postgres.js client of another name (`const db = postgres(url)`, a parameter typed `Sql` or
`TransactionSql`) is a tag too, and `return tx<Row[]>`...`` (which tree-sitter misreads as an
ERROR node beside the template) is its template; a parameter of another type is not, nor
what a parameter named `postgres` makes.
postgres-meta marks its catalog queries `/* SQL */` before a template an arrow function
returns. Each was skipped, a misspelt column in it passing silently. pgtyped's tag takes
parameters PostgreSQL's parser rejects (`$id!`, `$$ids`, `$$books(a, b)`): each statement
written with one was unparsable. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import assert_prepares, validate_files, validate_module

pytestmark = pytest.mark.db

_DDL = "CREATE TABLE books (id int PRIMARY KEY, title text)"

_MODULE = """\
import postgres, { type TransactionSql } from 'postgres';
import { Pool, Query } from 'pg';
const sql = postgres();
const pool = new Pool();
export async function wrong(id: number) {
  await sql.begin(async (tx) => { await tx`SELECT titel FROM books WHERE id = ${id}` });
  await sql.begin('read write', (tx) => tx.savepoint((sp) => sp`SELECT titel FROM books`));
  await pool.query({ text: 'SELECT titel FROM books WHERE id = $1', values: [id] });
  await pool.query({ name: 'book', text: 'SELECT titel FROM books WHERE id = $1', values: [id] });
  await pool.query(new Query({ text: 'SELECT titel FROM books', rowMode: 'array' }));
  return sql.begin((tx) => tx<{ id: number }[]>`SELECT titel FROM books`);
}
export const VERSION_SQL = () => /* SQL */ `SELECT titel FROM books`;
export const NAMED_SQL = /* sql */ 'SELECT titel FROM books';
export async function right(id: number) {
  await sql.begin(async (tx) => { await tx`SELECT title FROM books WHERE id = ${id}` });
  await sql.begin('read write', (tx) => tx.savepoint((sp) => sp`SELECT title FROM books`));
  await pool.query({ text: 'SELECT title FROM books WHERE id = $1', values: [id] });
  await pool.query({ name: 'book', text: 'SELECT title FROM books WHERE id = $1', values: [id] });
  await pool.query(new Query({ text: 'SELECT title FROM books', rowMode: 'array' }));
  return sql.begin((tx) => tx<{ id: number }[]>`SELECT title FROM books`);
}
export const RIGHT_SQL = () => /* SQL */ `SELECT title FROM books`;
type Row = { id: number };
const db = postgres(process.env.URL!);
export async function wrongClients(tx: TransactionSql, id: number) {
  await db`SELECT titel FROM books WHERE id = ${id}`;
  await tx`SELECT titel FROM books`;
  return sql.begin(async (t) => {
    return t<Row[]>`SELECT titel FROM books`;
  });
}
export const wrongTyped = (s: postgres.Sql) => s<Row[]>`SELECT titel FROM books`;
export async function rightClients(tx: TransactionSql, id: number) {
  await db`SELECT title FROM books WHERE id = ${id}`;
  await tx`SELECT title FROM books`;
  return sql<Row[]>`SELECT title FROM books`;
}
export const notPostgres = (s: Other) => s`SELECT titel FROM books`;
export function otherMaker(postgres: (url: string) => Other) {
  const other = postgres(process.env.URL!);
  return other`SELECT titel FROM books`;
}
"""


def test_transactions_query_configs_and_marked_templates_are_read(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _DDL, "db.ts", _MODULE)
    assert sorted((f.code, f.location.line, f.location.column) for f in report.findings
            if f.location) == [
        ("DBS302", 6, 51), ("DBS302", 7, 72), ("DBS302", 8, 36), ("DBS302", 9, 50),
        ("DBS302", 10, 46), ("DBS302", 11, 56), ("DBS302", 13, 52), ("DBS302", 14, 44),
        ("DBS302", 27, 19), ("DBS302", 28, 19), ("DBS302", 30, 28), ("DBS302", 33, 64)]
    assert report.summary["statements_analysed"] == 22
    assert_prepares(database_url, "",
                    ("SELECT title FROM books WHERE id = $1", "SELECT title FROM books"),
                    ("SELECT titel FROM books WHERE id = $1", "SELECT titel FROM books"))


# pgtyped's tag takes parameters of its own, each a bound value (`($isIds = 0 OR ...)` too):
# `$id!`, `$$ids` a list, `$book(a, b)` an object's keys, `$$books(a, b)` rows of them; each
# statement was unparsable as written. A string literal's `$min` is no parameter (a jsonpath's
# variable): made NULL, the jsonpath was broken and the finding's PREPARE stopped at it.
_PGTYPED = """\
import { sql } from '@pgtyped/runtime';
export const byId = sql<IById>`SELECT titel FROM books WHERE id = $id!`;
export const some = sql`SELECT titel FROM books WHERE ($isIds = 0 OR id IN $$ids)`;
export const add = sql`INSERT INTO books (id, titel) VALUES $$books(id!, title)`;
export const one = sql`INSERT INTO books (id, title) VALUES $book(id!, title)`;
export const right = sql<IRight>`SELECT title FROM books WHERE id = $id AND title = $t!`;
export const path = sql`SELECT id FROM books WHERE to_jsonb(books) @@ '$.id > $min' AND titel = $t`;
"""


def test_pgtyped_parameters_are_what_it_sends(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _DDL, "queries.ts", _PGTYPED)
    assert sorted((f.code, f.location.line, f.location.column,
                   dict(f.context).get("PostgreSQL", "")[:5]) for f in report.findings
                  if f.location) == [("DBS302", 2, 39, "42703"), ("DBS302", 3, 32, "42703"),
                                     ("DBS302", 4, 47, "42703"), ("DBS302", 7, 89, "42703")]
    assert report.summary["statements_analysed"] == 6
    assert_prepares(database_url, "",
                    ("SELECT title FROM books WHERE id = $1 AND title = $2",
                     "INSERT INTO books (id, title) VALUES ($1, $2)",
                     "SELECT id FROM books WHERE to_jsonb(books) @@ '$.id > $min' AND title = $1"),
                    ("SELECT titel FROM books WHERE id = $1",
                     "SELECT titel FROM books WHERE ($1 = 0 OR id IN ($2, $3))",
                     "INSERT INTO books (id, titel) VALUES ($1, $2), ($3, $4)"))


# A postgres.js client made in one module and imported by the others (ecodia-admin-backend's
# `src/config/db.js`: `const db = postgres(url, {...}); module.exports = db`, then `const db =
# require('../config/db')` and ``await db`SELECT ...` `` in 160 files): its templates were
# never read (24 of its statements analysed). A CommonJS module's `module.exports`, an ES
# module's named and default exports and a re-export of them are the client; a tag another
# module exports that is no client (a function of its own, which may change the text) is not.
_CLIENT_FILES = {
    "src/config/db.js": "const postgres = require('postgres');\n"
                        "const db = postgres(process.env.DATABASE_URL, { max: 10 });\n"
                        "module.exports = db;\n",
    "src/services/books.js": "const db = require('../config/db');\n"
                             "async function all(id) {\n"
                             "  await db`SELECT titel FROM books WHERE id = ${id}`;\n"
                             "  return db`SELECT title FROM books WHERE id = ${id}`;\n"
                             "}\n"
                             "module.exports = { all };\n",
    "lib/sql.ts": "import postgres from 'postgres';\n"
                  "export const sql = postgres(process.env.URL!);\n"
                  "const other = postgres();\n"
                  "export default other;\n",
    "lib/index.ts": "export { sql as client } from './sql';\n",
    "lib/books.ts": "import { sql } from './sql';\n"
                    "import other from './sql';\n"
                    "import { client } from './index';\n"
                    "export const a = () => sql`SELECT titel FROM books`;\n"
                    "export const b = () => other<{ id: number }[]>`SELECT titel FROM books`;\n"
                    "export const c = () => client`SELECT titel FROM books`;\n"
                    "export const d = () => sql`SELECT title FROM books`;\n",
    "own/tag.js": "const postgres = require('postgres');\n"
                  "const db = postgres();\n"
                  "const tag = (strings, ...values) => db.unsafe(strings.join('?') + ' LIMIT 1');\n"
                  "module.exports = tag;\n",
    "own/use.js": "const tag = require('./tag');\n"
                  "tag`SELECT titel FROM books`;\n",
}


def test_a_postgres_js_client_another_module_exports_is_a_tag(
        database_url: str, tmp_path: Path) -> None:
    report = validate_files(database_url, tmp_path, _DDL, _CLIENT_FILES)
    assert sorted((f.code, f.location.path, f.location.line, f.location.column)
                  for f in report.findings if f.location) == [
        ("DBS302", "lib/books.ts", 4, 35), ("DBS302", "lib/books.ts", 5, 55),
        ("DBS302", "lib/books.ts", 6, 38), ("DBS302", "src/services/books.js", 3, 19)]
    assert report.summary["statements_analysed"] == 6
    assert_prepares(database_url, "", ("SELECT title FROM books WHERE id = $1",),
                    ("SELECT titel FROM books WHERE id = $1",))

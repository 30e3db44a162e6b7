"""knex's named bindings: `db.raw('SELECT :col: FROM :table: WHERE id = :id', {...})`.

knex 3.3's `replaceKeyBindings` (lib/formatter/rawFormatter.js) reads a raw's text with
`/\\?(:(\\w+):(?=::)|:(\\w+):(?!:)|:(\\w+))/g` when its bindings are an object: a `:name` is a
parameter (`$1` on pg), a `:name:` the binding written as an identifier (`columnize`, as for
`??`), a key the object lacks left as written. So `knex({client: 'pg'}).raw('SELECT :col: FROM
:table:', {col: 'name', table: 'users'}).toSQL().toNative()` is `SELECT "name" FROM "users"`.
dbsafe read `:col:` as written, which PostgreSQL's parser rejects: every such statement was
unparsable, nothing in it checked. A `:name:` bound to a string of lower-case names (a literal,
or a `const` bound to one) is now the identifier knex writes, and the statement is checked;
bound to anything else (a variable, a camelCase name a client's `wrapIdentifier` may rename,
a key a spread may bring) it is a hole, the statement not validated (a DBS304 note), never a
finding; a key the object lacks is left as knex leaves it. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import assert_knex_sent, assert_prepares, validate_module

pytestmark = pytest.mark.db

_SCHEMA = "CREATE TABLE users (id int PRIMARY KEY, name text)"

_STORE = """\
const TABLE = 'users';
const BIND = { col: 'name', table: 'users' };
export async function reads(db: Knex, id: number, col: string, extra: object) {
  await db.raw('SELECT * FROM users WHERE id = :id', { id });
  await db.raw('SELECT :col: FROM :table:', { col: 'name', table: 'users' });
  await db.raw('SELECT :col: FROM :table:', { col: 'nmae', table: 'users' });
  await db.raw('SELECT nmae FROM users WHERE id = :id', { id });
  await db.raw('SELECT * FROM userz WHERE id = :id::int', { id: 1 });
  await db.raw('SELECT :col: FROM users', { col });
  await db.raw('SELECT :col: FROM :table:', { table: TABLE, 'col': ['id', 'u.nmae'] });
  await db.raw('SELECT :col: FROM :table:', BIND);
  await db.raw('SELECT :col: FROM userz', { ...extra });
  await db.raw('SELECT :col: FROM userz', { id: 1 });
  await db.raw('SELECT :col: FROM users', { col: 'userName' });
  await db.raw('SELECT id FROM users WHERE id = :id', { id: db.raw('1 + 1') });
  await db.raw('SELECT :col:::text FROM users', { col: 'nmae' });
}
"""

# What knex 3.3.0 (pg client) sends for these lines (`toSQL().toNative().sql`).
_SENT = {
    4: "SELECT * FROM users WHERE id = $1",
    5: 'SELECT "name" FROM "users"',
    6: 'SELECT "nmae" FROM "users"',
    7: "SELECT nmae FROM users WHERE id = $1",
    8: "SELECT * FROM userz WHERE id = $1::int",
    10: 'SELECT "id", "u"."nmae" FROM "users"',
    11: 'SELECT "name" FROM "users"',
    16: 'SELECT "nmae"::text FROM users',
}
_PREPARES = {4, 5, 11}


def _found(report) -> list[tuple[str, int]]:
    return sorted((f.code, f.location.line) for f in report.findings
                  if f.location is not None)


def test_postgresql_reads_what_knex_sends(database_url: str) -> None:
    # a key the bindings lack: knex 3.3.0 sends `SELECT :col: FROM userz` (line 13)
    assert_knex_sent(database_url, _SCHEMA, _SENT, _PREPARES,
                     unparsable="SELECT :col: FROM userz")


def test_named_bindings_are_what_knex_writes(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "store.ts", _STORE)
    assert [f for f in _found(report) if f[0] != "DBS304"] == [
        ("DBS301", 8), ("DBS302", 6), ("DBS302", 7), ("DBS302", 10), ("DBS302", 16)]
    # each at the `:col:` its name is written for
    assert sorted((f.location.line, f.location.column) for f in report.findings
                  if f.location is not None and f.location.line in (6, 16)) == [
        (6, 24), (16, 24)]
    # a variable, a key a spread may bring, a camelCase name, a `raw` as a value
    assert [line for code, line in _found(report) if code == "DBS304"] == [9, 12, 14, 15]
    assert report.summary["statements_analysed"] == 8
    assert report.summary["statements_unparsed"] == 1  # line 13, as PostgreSQL says


# Clients whose `wrapIdentifier` renames what `??` and `:name:` write: knex 3.3.0 sends
# `SELECT "user_name" FROM users` for each camelCase binding of the snake-case clients
# (Objection's `knexSnakeCaseMappers()`, and a `wrapIdentifier` of the knex docs' kind),
# which PREPAREs where `"userName"` is 42703.
_CLIENTS = """\
import Knex from 'knex';
import { knexSnakeCaseMappers } from 'objection';
const objection = Knex({ client: 'pg', ...knexSnakeCaseMappers() });
const snake = Knex({ client: 'pg',
  wrapIdentifier: (value, origImpl) => origImpl(value.replace(/([A-Z])/g, '_$1').toLowerCase()) });
export async function reads() {
  await objection.raw('SELECT ?? FROM users', ['userName']);
  await snake.raw('SELECT ?? FROM users', ['userName']);
  await objection.raw('SELECT :col: FROM users', { col: 'userName' });
  await snake.raw('SELECT :col: FROM users', { col: 'userName' });
}
"""


def test_postgresql_reads_what_a_snake_case_client_sends(database_url: str) -> None:
    assert_prepares(database_url, "CREATE TABLE users (id int, user_name text)",
                    ('SELECT "user_name" FROM users',), ('SELECT "userName" FROM users',))


def test_camel_case_bindings_of_renaming_clients_stay_holes(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path,
                             "CREATE TABLE users (id int, user_name text)", "db.ts", _CLIENTS)
    assert _found(report) == [("DBS304", 7), ("DBS304", 8), ("DBS304", 9), ("DBS304", 10)]

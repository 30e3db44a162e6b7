"""knex's `??` identifier bindings: `db.raw('SELECT ?? FROM ??', ['name', 'users'])`.

knex 3.3's `replaceRawArrBindings` (lib/formatter/rawFormatter.js) takes each `?` and `??`
of a raw's text, in order, from its array of bindings: a `?` is a parameter, a `??` the
binding written as an identifier (`columnize`, `wrapString`): `'users'` as `"users"`,
`'u.name'` as `"u"."name"`, `'users as u'` as `"users" as "u"`, an array as its names
joined with `, `, `'*'` as `*`, after the client's `wrapIdentifier` (Objection's
`knexSnakeCaseMappers()` writes `userName` as `"user_name"`). So
`knex({client: 'pg'}).raw('SELECT ?? FROM ?? WHERE ?? = ?', ['name', 'users', 'id', 1])
.toSQL().toNative()` is `SELECT "name" FROM "users" WHERE "id" = $1`. dbsafe read the `??`
as written, which PostgreSQL's parser rejects: every such statement was unparsable, nothing
in it checked. A `??` bound to a string of lower-case names (a literal, or a `const` bound to
one) is now the identifier knex writes, and the statement is checked; bound to anything else
(a variable, a camelCase name a `wrapIdentifier` may rename) it is a hole, the statement not
validated (a DBS304 note), never a finding. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import assert_knex_sent, validate_module

pytestmark = pytest.mark.db

_SCHEMA = "CREATE TABLE users (id int PRIMARY KEY, name text)"

_STORE = """\
const TABLE = 'users';
export async function reads(db: Knex, column: string, id: number) {
  await db.raw('SELECT ?? FROM ?? WHERE ?? = ?', ['name', 'users', 'id', id]);
  await db.raw('SELECT ?? FROM ?? WHERE ?? = ?', ['nmae', 'users', 'id', id]);
  await db.raw('SELECT id FROM ?? WHERE name = ?', ['public.userz', 'x']);
  await db.raw('SELECT ?? FROM ?? WHERE u.id = ?', [['u.id', 'u.name'], 'users as u', id]);
  await db.raw('SELECT ?? FROM ??', ['u.nmae', 'users as u']);
  await db.raw('SELECT id FROM ??', [TABLE]);
  await db.raw('SELECT id FROM ??', 'userz');
  await db.raw('SELECT ?? FROM ??', [column, 'users']);
  await db.raw('SELECT ?? FROM users', ['userName']);
  await db.raw(`SELECT ${column}, ?? FROM users`, ['nmae']);
}
"""

# What knex 3.3.0 (pg client) sends for the lines 3 to 9 (`toSQL().toNative().sql`).
_SENT = {
    3: 'SELECT "name" FROM "users" WHERE "id" = $1',
    4: 'SELECT "nmae" FROM "users" WHERE "id" = $1',
    5: 'SELECT id FROM "public"."userz" WHERE name = $1',
    6: 'SELECT "u"."id", "u"."name" FROM "users" as "u" WHERE u.id = $1',
    7: 'SELECT "u"."nmae" FROM "users" as "u"',
    8: 'SELECT id FROM "users"',
    9: 'SELECT id FROM "userz"',
}
_PREPARES = {3, 6, 8}


def _found(report) -> list[tuple[str, int, str]]:
    return sorted((f.code, f.location.line, f.subject) for f in report.findings
                  if f.location is not None)


def test_postgresql_reads_what_knex_sends(database_url: str) -> None:
    # `??` as dbsafe read it before: PostgreSQL's parser rejects it
    assert_knex_sent(database_url, _SCHEMA, _SENT, _PREPARES,
                     unparsable="SELECT ?? FROM ?? WHERE ?? = $1")


def test_identifier_bindings_are_the_names_knex_writes(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "store.ts", _STORE)
    errors = [f for f in _found(report) if f[0] != "DBS304"]
    assert errors == [("DBS301", 5, "public.userz"), ("DBS301", 9, "public.userz"),
                      ("DBS302", 4, "public.users.nmae"),
                      ("DBS302", 7, "public.users.nmae")]
    # each at the `??` its name is written for
    assert sorted((f.location.line, f.location.column) for f in report.findings
                  if f.code != "DBS304") == [(4, 24), (5, 32), (7, 24), (9, 32)]
    # a variable, a name a client's wrapIdentifier may rename, a binding after a `${...}`
    assert sorted(f[1] for f in _found(report) if f[0] == "DBS304") == [10, 11, 12]
    assert report.summary["statements_analysed"] == 7
    assert report.summary["statements_unparsed"] == 0


# A migration making its table with `??` (knex 3.3.0 sends `CREATE TABLE IF NOT EXISTS
# "audit" (id int, label text)` and `CREATE INDEX IF NOT EXISTS "audit_label" ON "audit"
# (label)`), and a query of the table: the DDL was unparsable, so the query was a false
# DBS301.
_MIGRATION = """\
export async function up(knex, table) {
  await knex.raw('CREATE TABLE IF NOT EXISTS ?? (id int, label text)', [NAME]);
  await knex.raw('CREATE INDEX IF NOT EXISTS ?? ON ?? (label)', ['audit_label', NAME]);
}
export async function reads(knex) {
  return knex.raw('SELECT id, label FROM audit WHERE id = ?', [1]);
}
"""


def test_postgresql_prepares_the_query_after_the_ddl_knex_sends(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("PREPARE early AS SELECT id, label FROM audit WHERE id = $1")
        conn.execute('CREATE TABLE IF NOT EXISTS "audit" (id int, label text)')
        conn.execute('CREATE INDEX IF NOT EXISTS "audit_label" ON "audit" (label)')
        conn.execute("PREPARE q AS SELECT id, label FROM audit WHERE id = $1")


@pytest.mark.parametrize("name", ["'audit'", "table"])
def test_a_table_made_with_an_identifier_binding_is_made(
        database_url: str, tmp_path: Path, name: str) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "migration.js",
                             _MIGRATION.replace("NAME", name))
    assert _found(report) == []
    assert report.summary["statements_unparsed"] == 0

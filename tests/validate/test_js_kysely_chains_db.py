"""Kysely query-builder chains are read as the statement they compile to: a table or column
missing from the schema is found at its place in the string naming it.

`db.selectFrom('person').select('nickname').execute()` is sent by Kysely 0.28.20 as `select
"nickname" from "person"` (`.compile()`), which PostgreSQL refuses (42703) where the table
has no such column; dbsafe read no chain. Only chains whose every name is a string literal,
on a client known to be Kysely's (`new Kysely(...)`, typed `Kysely<...>`/`Transaction<...>`,
a transaction's callback's parameter), in a project whose clients are made without plugins
or with `CamelCasePlugin()` alone (which snake_cases every name), ending in an executor. What
cannot be read (an `eb` callback, `$if`, `with`, a subquery) is left unread, never guessed.
Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

pytestmark = pytest.mark.db

_SCHEMA = """\
CREATE TABLE person (id serial PRIMARY KEY, first_name text, last_name text, age int,
                     created_at timestamptz);
CREATE TABLE pet (id serial PRIMARY KEY, owner_id int REFERENCES person, name text);
CREATE SCHEMA app;
CREATE TABLE app.account (id int, email text);
CREATE FUNCTION full_name(person) RETURNS text LANGUAGE sql AS 'SELECT $1.first_name';
"""

_CLIENT = """\
import { CamelCasePlugin, Kysely, PostgresDialect, Transaction } from 'kysely';
export const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool })PLUGINS });
"""

# line 1: a chain PostgreSQL prepares once compiled, or (marked) the column it finds missing
_CHAINS = """\
export async function store(trx: Transaction<DB>) {
  await db.selectFrom('person as p').select(['p.id', 'p.last_name as ln']).orderBy('ln').execute();
  await db.selectFrom('person').select('nickname').execute();
  await db.selectFrom('persons').selectAll().execute();
  await db.selectFrom('person as p').innerJoin('pet as x', 'x.ownerid', 'p.id').select('x.name').execute();
  await db.selectFrom('person').where('age', '>', 3).where('nick', '=', 'a').selectAll().execute();
  await db.selectFrom('person as p').select(['p', 'p.full_name', 'ctid']).execute();
  await db.selectFrom('person').select('first_name as fn').groupBy('fn').orderBy('fn desc').execute();
  await trx.insertInto('person').values({ first_name: 'a', nick: 'b' }).returning('id').execute();
  await trx.updateTable('person').set({ agee: 4 }).where('id', '=', 1).executeTakeFirst();
  await db.transaction().execute(async (t) => t.deleteFrom('pets').where('id', '=', 1).execute());
  await db.withSchema('app').selectFrom('account').select('email').execute();
  await db.selectFrom('app.account').select(['app.account.email', 'emial']).execute();
  await db.selectFrom('person').select('Id').execute();
  await db.selectFrom('person').select((eb) => eb.val(1).as('v')).orderBy('v').execute();
  await db.with('c', (qb) => qb.selectFrom('person').select('id')).selectFrom('c').select('id').execute();
  await db.selectFrom('person').select('id').$if(true, (qb) => qb.where('nick', '=', 1)).execute();
  const sub = db.selectFrom('pet').select('owner_id').where('person.id', '=', 1);
}
"""

# (line, code, column) dbsafe reports: exactly where PostgreSQL refuses Kysely's SQL
_FOUND = [(3, "DBS302", 41), (4, "DBS301", 24), (5, "DBS302", 63), (6, "DBS302", 61),
          (9, "DBS302", 60), (10, "DBS302", 41), (11, "DBS301", 61), (13, "DBS302", 68),
          (14, "DBS302", 41)]

# Kysely 0.28.20's `.compile().sql` of lines 2, 3, 7, 8 (its PostgreSQL dialect)
_COMPILED = {
    2: 'select "p"."id", "p"."last_name" as "ln" from "person" as "p" order by "ln"',
    3: 'select "nickname" from "person"',
    7: 'select "p", "p"."full_name", "ctid" from "person" as "p"',
    8: 'select "first_name" as "fn" from "person" group by "fn" order by "fn" desc',
}

_PACKAGE = '{"name": "app", "dependencies": {"kysely": "^0.28.0", "pg": "^8.0.0"}}\n'


def _store(root: Path, chains: str, plugins: str = "") -> str:
    """The project's package.json, and a module making its client (`plugins` added to its
    options) before `chains`."""
    (root / "package.json").write_text(_PACKAGE, encoding="utf-8")
    return _CLIENT.replace("PLUGINS", plugins) + chains


def _found(report) -> list[tuple[int, str, int]]:
    """(line of the chains, code, column) of each finding in store.ts."""
    return sorted((f.location.line - 2, f.code, f.location.column) for f in report.findings
                  if f.location is not None and f.location.path.endswith("store.ts"))


def test_postgresql_refuses_and_prepares_what_kysely_sends(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
        for line, sql in _COMPILED.items():
            if line == 3:
                with pytest.raises(psycopg.errors.UndefinedColumn):
                    conn.execute(f"PREPARE s{line} AS {sql}")
            else:
                conn.execute(f"PREPARE s{line} AS {sql}")


def test_chains_are_checked_where_every_name_is_a_string(database_url: str,
                                                          tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "store.ts",
                             _store(tmp_path, _CHAINS))
    assert _found(report) == _FOUND


_CAMEL = """\
export async function store(db: Kysely<DB>) {
  await db.selectFrom('person as p').innerJoin('pet', 'pet.ownerId', 'p.id').select(['pet.name as petName', 'p.createdAt']).orderBy('petName').execute();
  await db.insertInto('person').values({ firstName: 'a', lastNam: 'b' }).execute();
  await db.selectFrom('person').select(['first_name', 'HTMLBody']).execute();
}
"""


def test_camel_case_plugin_names_are_snake_cased(database_url: str, tmp_path: Path) -> None:
    # Kysely sends `insert into "person" ("first_name", "last_nam") ...` and `select
    # "first_name", "htmlbody" from "person"`
    source = _store(tmp_path, _CAMEL, ", plugins: [new CamelCasePlugin()]")
    report = validate_module(database_url, tmp_path, _SCHEMA, "store.ts", source)
    assert _found(report) == [(3, "DBS302", 58), (4, "DBS302", 56)]


@pytest.mark.parametrize("plugins", [
    ", plugins: [new WithSchemaPlugin('app')]",
    ", plugins: [new CamelCasePlugin({ upperCase: true })]",
    ", plugins",
    ", ...options",
])
def test_clients_with_other_plugins_are_not_read(database_url: str, tmp_path: Path,
                                                 plugins: str) -> None:
    source = _store(tmp_path, _CHAINS, plugins)
    report = validate_module(database_url, tmp_path, _SCHEMA, "store.ts", source)
    assert _found(report) == []


def test_no_client_seen_no_chain_read(database_url: str, tmp_path: Path) -> None:
    # a client made where the project cannot be read (a package): its plugins are not known
    (tmp_path / "package.json").write_text(_PACKAGE, encoding="utf-8")
    source = "import { db } from '@acme/db';\n\n" + _CHAINS.replace(
        "(trx: Transaction<DB>)", "(db: Kysely<DB>, trx: Transaction<DB>)")
    report = validate_module(database_url, tmp_path, _SCHEMA, "store.ts", source)
    assert _found(report) == []


def test_a_client_of_another_engine_is_not_read(database_url: str, tmp_path: Path) -> None:
    source = _store(tmp_path, _CHAINS)
    (tmp_path / "local.ts").write_text(
        "export const local = new Kysely<DB>({ dialect: new SqliteDialect({ database }) });\n",
        encoding="utf-8")
    report = validate_module(database_url, tmp_path, _SCHEMA, "store.ts", source)
    assert _found(report) == []

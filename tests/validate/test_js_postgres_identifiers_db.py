"""postgres.js's identifier helper: `${sql('name')}`, `${sql(Class.NAME)}` in a template the
same `sql` tags.

Called with one string, postgres.js's `sql` writes it as a quoted identifier, after the
client's `transform.column.to` (postgres.js 3.4: `postgres({ transform: postgres.camel })`
writes `sql('migrationsTable')` as `"migrations_table"`, `sql('Users')` as `"_users"`; its
`camel`, `pascal` and `kebab` transforms leave `migrations` and `tx_2024` as they are).
safe-global/safe-client-gateway's migrator makes its history table with
``this.sql`CREATE TABLE ${this.sql(PostgresDatabaseMigrator.MIGRATIONS_TABLE)} (...)` `` (a
`static readonly` `'migrations'`), and its tests read `SELECT * FROM migrations`: 5 false
DBS301, the DDL unread. A name of lower case letters, digits and `_` alone, a string or a
`static readonly` string of a class of the file, is now read as the identifier it is: the
table is made for the other modules, and a statement reading a missing one is reported. Any
other name (a transform may change it, a field may change) stays a hole. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

pytestmark = pytest.mark.db

_SCHEMA = "CREATE TABLE users (id int PRIMARY KEY, name text)"

_MIGRATOR = """\
import type { Sql } from 'postgres';

export class Migrator {
  private static readonly MIGRATIONS_TABLE = 'migrations';

  constructor(private readonly sql: Sql) {}

  async assertTable(): Promise<void> {
    await this.sql`CREATE TABLE
        ${this.sql(Migrator.MIGRATIONS_TABLE)} (id SERIAL PRIMARY KEY, name TEXT)`;
  }

  async last() {
    const [row] = await this.sql<Array<{ id: number }>>`SELECT id
        FROM ${this.sql(Migrator.MIGRATIONS_TABLE)} ORDER BY id DESC LIMIT 1`;
    return row;
  }
}
"""

_SPEC = """\
import postgres from 'postgres';
const sql = postgres();
it('records', async () => {
  await sql`SELECT * FROM migrations`;
});
"""

_READS = """\
import postgres from 'postgres';
const sql = postgres({ transform: postgres.camel });
class Names {
  static readonly USERS = 'userz';
  static TEAMS = 'teamz';
}
export async function read() {
  await sql`SELECT id FROM ${sql('userz')}`;
  await sql`SELECT id FROM ${sql(Names.USERS)}`;
  await sql`SELECT ${sql('nmae')} FROM users`;
  await sql`SELECT id FROM ${sql('userAccounts')}`;
  await sql`SELECT id FROM ${sql(Names.TEAMS)}`;
  await sql`SELECT id FROM ${sql('public.userz')}`;
  await sql`SELECT id FROM ${other('userz')}`;
}
"""


def _found(report) -> list[tuple[str, int, str]]:
    return sorted((f.code, f.location.line, f.subject) for f in report.findings
                  if f.location is not None)


def test_postgresql_reads_the_quoted_names(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
        conn.execute('CREATE TABLE "migrations" (id SERIAL PRIMARY KEY, name TEXT)')
        conn.execute('PREPARE ok AS SELECT id FROM "migrations" ORDER BY id DESC LIMIT 1')
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute('PREPARE missing AS SELECT id FROM "userz"')
        with pytest.raises(psycopg.errors.UndefinedColumn):
            conn.execute('PREPARE typo AS SELECT "nmae" FROM users')


def test_a_table_made_under_a_static_readonly_name_is_made(
        database_url: str, tmp_path: Path) -> None:
    (tmp_path / "migrator.ts").write_text(_MIGRATOR, encoding="utf-8")
    report = validate_module(database_url, tmp_path, _SCHEMA, "migrator.spec.ts", _SPEC)
    assert _found(report) == []
    assert [s.reason for s in report.skipped if s.location.path.endswith("spec.ts")] == [
        "not analysed: reads `migrations`, which another module creates or alters"]


def test_names_every_transform_keeps_are_read(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "reads.ts", _READS)
    errors = [f for f in _found(report) if f[0] != "DBS304"]
    assert errors == [("DBS301", 8, "public.userz"), ("DBS301", 9, "public.userz"),
                      ("DBS302", 10, "public.users.nmae")]
    # a camelCase name, a field that may change, a dotted name, another function: holes
    assert sorted(f[1] for f in _found(report) if f[0] == "DBS304") == [11, 12, 13, 14]


_OTHER_TAG = """\
import postgres from 'postgres';
const sql = postgres();
const page = html`CREATE TABLE ${html('users')} (id int)`;
export async function read() {
  await sql`SELECT nmae FROM users`;
}
"""


def test_only_a_sql_tags_helper_is_read(database_url: str, tmp_path: Path) -> None:
    # `html` is no SQL tag: what its `html('users')` writes is not known, so its text makes
    # no `users` whose columns would be unknown
    report = validate_module(database_url, tmp_path, _SCHEMA, "page.ts", _OTHER_TAG)
    assert _found(report) == [("DBS302", 5, "public.users.nmae")]

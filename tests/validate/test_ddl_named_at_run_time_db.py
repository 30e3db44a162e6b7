"""A relation a module (JavaScript/TypeScript, Python) makes under a name known only at run
time.

safe-global/safe-client-gateway's migrator (postgres.js) makes its history table with
``CREATE TABLE ${this.sql(PostgresDatabaseMigrator.MIGRATIONS_TABLE)} (...)`` and reads
`migrations` (the constant's value): its DDL said nothing dbsafe could read, so the reads
were 5 false DBS301 (that constant is now read: test_js_postgres_identifiers_db.py; a name
given at run time, `${this.sql(this.table)}`, is not). DDL whose created or renamed
relation is a hole now leaves the tables
the module reads that the schema lacks unknown (not analysed, with the reason), as a `DO`
block's dynamic SQL leaves everything; a misspelt column of a table the schema has is still
reported, and so is a missing table in a module that makes none under such a name. Python's
`CREATE TABLE {name}` and psycopg's `sql.Identifier(table)` of a name bound to no constant
were the same (its constants' names were made, a name given at run time nothing). Real
PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

pytestmark = pytest.mark.db

_SCHEMA = "CREATE TABLE users (id int PRIMARY KEY, name text)"

_MIGRATOR = """\
import postgres from 'postgres';

export class Migrator {
  constructor(private readonly sql: postgres.Sql, private readonly table = 'migrations') {}

  async migrate(): Promise<void> {
    await this.sql`CREATE TABLE IF NOT EXISTS ${this.sql(this.table)} (
      id SERIAL PRIMARY KEY,
      name TEXT
    )`;
    await this.sql`SELECT id, name FROM migrations ORDER BY id DESC LIMIT 1`;
    await this.sql`SELECT nmae FROM users`;
  }
}
"""

_RENAMER = """\
import postgres from 'postgres';
const sql = postgres();
export async function swap(name: string) {
  await sql`ALTER TABLE staging RENAME TO ${sql(name)}`;
  await sql`SELECT id FROM live`;
}
"""

_NAMED = """\
import postgres from 'postgres';
const sql = postgres();
export async function setUp(schema: string) {
  await sql`CREATE TABLE ${sql(schema)}.audit (id int)`;
  await sql`SELECT id FROM migrations`;
}
"""


def _found(report) -> list[tuple[str, int, str]]:
    return sorted((f.code, f.location.line, f.subject) for f in report.findings
                  if f.location is not None)


def test_postgresql_runs_what_the_migrator_sends(database_url: str) -> None:
    # at run time the hole is the constant's name: the reads are sound, the typo is not
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
        conn.execute('CREATE TABLE IF NOT EXISTS "migrations" (id SERIAL PRIMARY KEY, name TEXT)')
        conn.execute("PREPARE ok AS SELECT id, name FROM migrations ORDER BY id DESC LIMIT 1")
        with pytest.raises(psycopg.errors.UndefinedColumn):
            conn.execute("PREPARE typo AS SELECT nmae FROM users")


def test_a_relation_named_at_run_time_leaves_missing_tables_unknown(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "migrator.ts", _MIGRATOR)
    assert _found(report) == [("DBS302", 12, "public.users.nmae")]
    reasons = [s.reason for s in report.skipped if s.location.line == 11]
    assert reasons == ["not analysed: uses what DDL earlier in this file created or changed"]


def test_a_relation_renamed_to_a_name_known_at_run_time(
        database_url: str, tmp_path: Path) -> None:
    ddl = _SCHEMA + "; CREATE TABLE staging (id int)"
    report = validate_module(database_url, tmp_path, ddl, "swap.ts", _RENAMER)
    assert _found(report) == []


def test_a_hole_naming_only_the_schema_names_the_relation(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "audit.ts", _NAMED)
    assert _found(report) == [("DBS301", 5, "public.migrations")]


_PATH = """\
import postgres from 'postgres';
const sql = postgres();
export async function inSchema(schema: string) {
  await sql`SET search_path TO ${sql(schema)}, public`;
  await sql`SELECT nmae FROM users`;
}
"""


_INDEX = """\
import postgres from 'postgres';
const sql = postgres();
export async function index(name: string) {
  await sql`CREATE INDEX ${sql(name)} ON users (name)`;
  await sql`ALTER TABLE ${sql(name)} ADD COLUMN note text`;
  await sql`SELECT id FROM migrations`;
}
"""


def test_an_index_or_alteration_named_at_run_time_makes_no_table(
        database_url: str, tmp_path: Path) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
        conn.execute('CREATE INDEX "ix_users_name" ON users (name)')
        conn.execute('ALTER TABLE "users" ADD COLUMN note text')
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("PREPARE missing AS SELECT id FROM migrations")
    report = validate_module(database_url, tmp_path, "SELECT 1", "index.ts", _INDEX)
    assert _found(report) == [("DBS301", 6, "public.migrations")]


def test_a_search_path_known_at_run_time_is_no_relation(
        database_url: str, tmp_path: Path) -> None:
    # (as a Python `SET search_path TO " + name` is not: test_session_commands_db.py)
    report = validate_module(database_url, tmp_path, _SCHEMA, "path.ts", _PATH)
    assert _found(report) == [("DBS302", 5, "public.users.nmae")]


def test_without_such_ddl_a_missing_table_is_reported(
        database_url: str, tmp_path: Path) -> None:
    source = _MIGRATOR.replace("${this.sql(this.table)}", "history")
    report = validate_module(database_url, tmp_path, _SCHEMA, "migrator.ts", source)
    assert _found(report) == [("DBS301", 11, "public.migrations"), ("DBS302", 12, "public.users.nmae")]


_PYTHON = """\
from psycopg import sql


def set_up(cur, name, table):
    cur.execute(f"CREATE TABLE {name} (id int)")
    cur.execute(sql.SQL("ALTER TABLE staging RENAME TO {}").format(sql.Identifier(table)))
    cur.execute("SELECT id FROM migrations")
    cur.execute("SELECT nmae FROM users")
"""


def test_python_ddl_of_a_name_known_at_run_time(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "setup.py", _PYTHON)
    assert _found(report) == [("DBS302", 8, "public.users.nmae")]
    reasons = [s.reason for s in report.skipped if s.location.line == 7]
    assert reasons == ["not analysed: uses what DDL earlier in this file created or changed"]
    (tmp_path / "setup.py").unlink()
    source = _PYTHON.replace("{name}", "history").replace("sql.Identifier(table)",
                                                            'sql.Identifier("live")')
    report = validate_module(database_url, tmp_path, "SELECT 1", "setup.py", source)
    assert _found(report) == [("DBS301", 7, "public.migrations"),
                              ("DBS302", 8, "public.users.nmae")]

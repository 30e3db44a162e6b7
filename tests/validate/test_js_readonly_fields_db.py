"""A class's `private readonly` string field in a template no tag takes: its text.

safe-client-gateway's TypeORM lock queries send ``connection.query(`SELECT "id", "status"
FROM "${this.LOCK_TABLE_NAME}"`)`` with `private readonly LOCK_TABLE_NAME = '_lock'`:
JavaScript writes `_lock` there, and TypeScript lets no code but the constructor assign a
`readonly` field, nor a subclass declare a `private` one again. Such a field its
constructor does not assign is read as a `const` of names is; a public or `static` one, or
one the constructor assigns, stays a hole. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

pytestmark = pytest.mark.db

_SCHEMA = 'CREATE TABLE "_lock" ("id" serial PRIMARY KEY, "status" int NOT NULL)'

_MIGRATOR = """\
export class DatabaseMigrator {
  private readonly LOCK_TABLE_NAME = '_lock';
  readonly PUBLIC_NAME = '_lock';
  private readonly ASSIGNED = '_lock';

  constructor(private readonly ds: DataSource, other: string) {
    this.ASSIGNED = other;
  }

  async insertLock(connection: DataSource) {
    await connection.query(`INSERT INTO "${this.LOCK_TABLE_NAME}" (status) VALUES ($1);`, [1]);
  }
  async selectLock(connection: DataSource) {
    return connection.query(`SELECT "id", "stauts" FROM "${this.LOCK_TABLE_NAME}";`);
  }
  async publicName(connection: DataSource) {
    return connection.query(`SELECT "id" FROM "${this.PUBLIC_NAME}";`);
  }
  async assigned(connection: DataSource) {
    return connection.query(`SELECT "id" FROM "${this.ASSIGNED}";`);
  }
}
"""


def test_postgresql_reads_the_fields_text(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
        conn.execute('PREPARE ok AS INSERT INTO "_lock" (status) VALUES ($1)')
        with pytest.raises(psycopg.errors.UndefinedColumn):
            conn.execute('PREPARE typo AS SELECT "id", "stauts" FROM "_lock"')


def test_a_private_readonly_field_is_its_text(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "migrator.ts", _MIGRATOR)
    assert sorted((f.location.line, f.code) for f in report.findings if f.location) == [
        (14, "DBS302"), (17, "DBS304"), (20, "DBS304")]
    assert report.summary["statements_analysed"] == 2

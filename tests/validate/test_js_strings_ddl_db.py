"""DDL after another statement of a JavaScript/TypeScript string counts, as in Python.

safe-global/safe-client-gateway tests its migrator (`postgres-database.migrator.integration
.spec.ts`) with migrations written in strings: `contents: \\`drop table if exists test;
create table test (a text, b int); insert into test ...\\``, then reads `SELECT * FROM test`.
Only a string whose first statement was CREATE, ALTER or SET was taken for the tables it
makes, so `test` was missing there: 4 false DBS301. Each statement of the string is now
looked at, as Python's are (`DROP TABLE IF EXISTS temp; CREATE TEMPORARY TABLE temp ...`).
A table no string makes is still missing. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

pytestmark = pytest.mark.db

_SPEC = """\
import postgres from 'postgres';
const sql = postgres();
const migrations = [
  { name: '00001_initial', contents: `drop table if exists test;
       create table test (a text, b int);
       insert into test (a, b) values ('hello', 1337);` },
  { name: '00002_delete', contents: 'drop table test;' },
];
it('migrates', async () => {
  await migrate(migrations);
  await sql`SELECT * FROM test ORDER BY a`;
  await sql`SELECT * FROM nosuch`;
});
"""

_SCRIPT = """
drop table if exists test;
create table test (a text, b int);
insert into test (a, b) values ('hello', 1337);
SELECT * FROM test ORDER BY a;
"""


def test_the_script_makes_the_table(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCRIPT)


def test_ddl_after_a_first_statement_counts(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "SELECT 1", "migrator.spec.ts", _SPEC)
    found = sorted((f.code, f.location.line, f.subject) for f in report.findings
                   if f.location is not None)
    assert found == [("DBS301", 12, "public.nosuch")]

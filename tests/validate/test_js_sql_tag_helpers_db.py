"""A SQL tag's helpers writing SQL text into its template are no parameters.

Kysely's `${sql.ref('pages.id')}` (also `sql.raw`, `sql.table`, `sql.id`; drizzle's
`sql.raw`/`sql.identifier`, slonik's `sql.identifier`) is written into the query as SQL:
Kysely 0.28.17 compiles ``sql`SELECT id FROM page_access WHERE page_id =
${sql.ref('pages.id')}` `` to `... WHERE page_id = "pages"."id"`, which PostgreSQL rejects
(42P01, no FROM item `pages`), while the same statement with a parameter there prepares. Read
as a value, the statement was counted as checked and passed; it is now not validated, a DBS304
note saying why, as a hole in any other place that is no value. A plain `${id}` is still a
parameter. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

pytestmark = pytest.mark.db

_SCHEMA = """\
CREATE TABLE pages (id uuid PRIMARY KEY);
CREATE TABLE page_access (id uuid PRIMARY KEY, page_id uuid);
"""

_REPO = """\
import { sql } from 'kysely';

export async function access(db: Kysely<DB>, id: string) {
  await sql`SELECT id FROM page_access WHERE page_id = ${sql.ref('pages.id')}`.execute(db);
  await sql`SELECT id FROM page_access WHERE page_id = ${id}`.execute(db);
}
"""


def test_postgresql_reads_the_helper_as_sql_not_as_a_value(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
        conn.execute("PREPARE parameter(uuid) AS SELECT id FROM page_access WHERE page_id = $1")
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute('PREPARE written AS SELECT id FROM page_access '
                         'WHERE page_id = "pages"."id"')


def test_a_helper_leaves_the_statement_unvalidated(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "repo.ts", _REPO)
    assert [(f.code, f.location.line) for f in report.findings if f.location] == [
        ("DBS304", 4)]
    assert report.summary["statements"] == 2
    assert report.summary["statements_analysed"] == 1
    assert report.summary["statements_dynamic"] == 1

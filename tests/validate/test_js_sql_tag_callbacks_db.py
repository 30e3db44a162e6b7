"""A SQL tag's template a callback given to a builder's method returns is a piece of it.

Kysely's builder methods take a callback and put what it returns into the one statement they
compile: Kysely 0.28 compiles `db.selectFrom('pages').select((eb) => ['id', sql`(SELECT
count(*) FROM comments c WHERE c.page_id = pages.id)`.as('n')])` to `select "id", (SELECT
count(*) FROM comments c WHERE c.page_id = pages.id) as "n" from "pages"`, which PostgreSQL
prepares, and `.where(() => { return sql`(SELECT count(*) FROM ancestors)` }, '>', 0)` to a
condition of a chain whose `.with('ancestors', ...)` defines the CTE it reads. Read alone,
each is 42P01 (no FROM item `pages`; no table `ancestors`: a false DBS301); both were counted
as statements. A template sent alone is still read. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

pytestmark = pytest.mark.db

_SCHEMA = """\
CREATE TABLE pages (id int PRIMARY KEY);
CREATE TABLE comments (id int PRIMARY KEY, page_id int);
"""

_REPO = """\
import { sql } from 'kysely';

export async function pages(db: Kysely<DB>) {
  await db.selectFrom('pages').select((eb) => [
    'id', sql`(SELECT count(*) FROM comments c WHERE c.page_id = pages.id)`.as('n'),
  ]).execute();
  await db.with('ancestors', (qb) => qb.selectFrom('pages').select('id'))
    .selectFrom('pages').select('id').where(() => {
      return sql`(SELECT count(*) FROM ancestors)`;
    }, '>', 0).execute();
  await sql`SELECT id FROM comments WHERE page_id = pages.id`.execute(db);
}
"""


def test_postgresql_prepares_the_compiled_chain_not_the_piece(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
        conn.execute('PREPARE chain AS select "id", (SELECT count(*) FROM comments c '
                     'WHERE c.page_id = pages.id) as "n" from "pages"')
        conn.execute('PREPARE condition(int) AS with "ancestors" as (select "id" from '
                     '"pages") select "id" from "pages" where (SELECT count(*) FROM ancestors) > $1')
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("PREPARE piece AS (SELECT count(*) FROM comments c "
                         "WHERE c.page_id = pages.id)")
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("PREPARE cte_piece AS (SELECT count(*) FROM ancestors)")


def test_a_returned_template_is_no_statement(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "repo.ts", _REPO)
    # the template sent alone is read, and wrong: no FROM item `pages`
    assert [(f.code, f.location.line) for f in report.findings if f.location] == [
        ("DBS302", 11)]
    assert report.summary["statements"] == 1

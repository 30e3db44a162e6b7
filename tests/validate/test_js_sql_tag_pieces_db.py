"""SQL tag templates given to a query builder's methods: pieces of its statement.

Kysely's `sql` and drizzle's make an expression, not a query: a builder given one
(`.where(col, '=', sql`...`)`, `.select([sql`...`.as('n')])`, `.orderBy(sql`...`)`) puts it
into the one statement it compiles. Docmost's page-permission repository hands
`sql<string>`(SELECT pa.id FROM ancestors ...)`` to `.where(...)` of a chain whose
`.withRecursive('ancestors', ...)` defines `ancestors`: Kysely 0.28.17 sends the whole
(`_SENT`), which PostgreSQL prepares; the subquery alone is 42P01. Two such pieces were false
DBS301 errors. A template sent alone (`sql`...`.execute(db)`, drizzle's
`db.execute(sql`...`)`) is still a statement. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

pytestmark = pytest.mark.db

_SCHEMA = """\
CREATE TABLE pages (id uuid PRIMARY KEY, parent_page_id uuid);
CREATE TABLE page_access (id uuid PRIMARY KEY, page_id uuid);
CREATE TABLE page_permissions (id uuid PRIMARY KEY, page_access_id uuid, role text);
"""

_REPO = """\
import { sql } from 'kysely';

export async function nearestWriter(db: Kysely<DB>, pageId: string) {
  return db
    .withRecursive('ancestors', (qb) =>
      qb.selectFrom('pages')
        .select(['pages.id as ancestorId', 'pages.parentPageId', sql<number>`0`.as('depth')])
        .where('pages.id', '=', pageId)
        .unionAll((eb) =>
          eb.selectFrom('pages')
            .innerJoin('ancestors', 'ancestors.parentPageId', 'pages.id')
            .select(['pages.id as ancestorId', 'pages.parentPageId',
                     sql<number>`ancestors.depth + 1`.as('depth')])))
    .selectFrom('pagePermissions')
    .select(['pagePermissions.id', sql<number>`(SELECT count(*) FROM ancestors)`.as('levels')])
    .where('pagePermissions.role', '=', 'writer')
    .where('pagePermissions.pageAccessId', '=', sql<string>`(
      SELECT pa.id FROM ancestors a
      JOIN page_access pa ON pa.page_id = a.ancestor_id
      ORDER BY a.depth ASC
      LIMIT 1
    )`)
    .orderBy(sql`(SELECT max(a.depth) FROM ancestors a)`)
    .execute();
}

export async function alone(db: Kysely<DB>, id: string) {
  await sql`SELECT id FROM page_acess WHERE page_id = ${id}`.execute(db);
}
"""

# What Kysely 0.28.17 with its CamelCasePlugin compiles `nearestWriter` to, without its
# orderBy (`compile().sql`).
_SENT = """\
with recursive "ancestors" as (select "pages"."id" as "ancestor_id", "pages"."parent_page_id", \
0 as "depth" from "pages" where "pages"."id" = $1 union all select "pages"."id" as \
"ancestor_id", "pages"."parent_page_id", ancestors.depth + 1 as "depth" from "pages" inner \
join "ancestors" on "ancestors"."parent_page_id" = "pages"."id") select \
"page_permissions"."id", (SELECT count(*) FROM ancestors) as "levels" from \
"page_permissions" where "page_permissions"."role" = $2 and \
"page_permissions"."page_access_id" = (
      SELECT pa.id FROM ancestors a
      JOIN page_access pa ON pa.page_id = a.ancestor_id
      ORDER BY a.depth ASC
      LIMIT 1
    )"""


def test_postgresql_prepares_the_chain_not_its_pieces(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
        conn.execute(f"PREPARE whole(uuid, text) AS {_SENT}")
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("PREPARE piece AS SELECT pa.id FROM ancestors a "
                         "JOIN page_access pa ON pa.page_id = a.ancestor_id")


def test_a_template_given_to_a_builder_is_no_statement_one_sent_alone_is(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "repo.ts", _REPO)
    assert [(f.code, f.location.line) for f in report.findings if f.location] == [
        ("DBS301", 28)]
    assert report.summary["statements"] == 1

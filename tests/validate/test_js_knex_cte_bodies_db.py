"""knex's common table expressions: `.with('final_ranks', db.raw('select ... from applications'))`.

knex sends the chain as one statement, `with "applications" as (...), "final_ranks" as
(select ... from applications ...), "total" as (...) select * from "applications" ...`
(knex 3's `toSQL()`), so the query given to `.with` after its name is a CTE's body that may
read the chain's other CTEs. Unleash's stores (`client-applications-store.ts`,
`feature-search-store.ts`, `project-store.ts`) write three such chains: each `db.raw` body
was read as a statement sent alone, 6 false DBS301 (`applications`, `final_ranks`,
`ranked_features`, `ranked`: PostgreSQL prepares the whole statement; the body alone is
42P01). Such a body is now no statement; a `raw` awaited alone still is. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

pytestmark = pytest.mark.db

_SCHEMA = "CREATE TABLE client_applications (app_name text PRIMARY KEY, created_at timestamptz)"

_STORE = """\
export async function getApplications(db: Knex, limit: number) {
    const query = db
        .with('applications', (qb) => {
            qb.select(['app_name', db.raw('DENSE_RANK() OVER (ORDER BY app_name) AS rank')])
                .from('client_applications');
        })
        .with(
            'final_ranks',
            db.raw(
                'select row_number() over (order by min(rank)) as final_rank from applications group by app_name',
            ),
        )
        .withMaterialized('total', db.raw('select count(*) as total from final_ranks'))
        .select('*')
        .from('applications')
        .joinRaw('CROSS JOIN total')
        .whereBetween('rank', [1, limit]);
    const rows = await query;
    const [{ count }] = await db.raw('select count(*) from final_ranks');
    return { rows, count };
}
"""

# What knex 3 compiles the chain to (`query.toSQL().sql`, `?` numbered).
_SENT = (
    'with "applications" as (select "app_name", DENSE_RANK() OVER (ORDER BY app_name) AS rank '
    'from "client_applications"), "final_ranks" as (select row_number() over (order by '
    'min(rank)) as final_rank from applications group by app_name), "total" as materialized '
    '(select count(*) as total from final_ranks) select * from "applications" CROSS JOIN total '
    'where "rank" between $1 and $2')


def test_postgresql_prepares_the_chain_not_its_bodies(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
        conn.execute(f"PREPARE whole AS {_SENT}")
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("PREPARE body AS select count(*) as total from final_ranks")


def test_a_cte_body_is_no_statement_a_raw_sent_alone_is(database_url: str,
                                                         tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "store.ts", _STORE)
    assert [(f.code, f.location.line) for f in report.findings if f.location] == [
        ("DBS301", 19)]
    assert report.summary["statements"] == 1

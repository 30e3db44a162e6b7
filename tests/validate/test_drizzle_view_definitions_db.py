"""A drizzle view's definition, `pgView('v', {...}).as(sql`SELECT ...`)`, is no statement the
application sends.

drizzle-orm sends a view's name (`db.select().from(v)` is `select ... from "v"`); its
`.as(sql`...`)` body is what drizzle-kit writes into a migration (`CREATE VIEW "v" AS (...)`)
or reads back from the database (`drizzle-kit pull`, whose schema file describes every view
it found: Supabase's `extensions.pg_stat_statements`, whose body calls the extension's
`pg_stat_statements(true)`). rocket-path-ai's pulled `src/db/schema.ts` gave 5 false errors:
2 DBS314 on that extension's views and 3 DBS301 on views its later migrations dropped with
the tables they read. Such a body is listed as not validated; `sql` given to anything else's
`.as()` is still validated. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import drizzle_project, validate_module

pytestmark = pytest.mark.db

_DDL = "CREATE TABLE orders (id int PRIMARY KEY, total int);"

_SCHEMA = """\
import { pgSchema, pgTable, pgView, pgMaterializedView, integer, bigint } from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';

export const extensions = pgSchema('extensions');
export const orders = pgTable('orders', { id: integer().primaryKey(), total: integer() });

export const statements = extensions.view('pg_stat_statements', { calls: bigint({ mode: 'number' }) })
  .as(sql`SELECT calls FROM pg_stat_statements(true) pg_stat_statements(calls)`);
export const insights = pgView('insight_totals', { n: bigint({ mode: 'number' }) })
  .with({ securityInvoker: true })
  .as(sql`SELECT count(*) AS n FROM interview_insights`);
export const totals = pgMaterializedView('order_totals', { n: bigint({ mode: 'number' }) })
  .as(sql`SELECT sum(totl) AS n FROM orders`);
"""

_QUERIES = """\
import { sql } from 'drizzle-orm';

export async function report(db: Db) {
  await db.execute(sql`SELECT n FROM insight_totals`);
  const recent = db.$with('recent').as(sql`SELECT id FROM ordrs`);
  return recent;
}
"""


def test_postgresql_refuses_the_bodies_on_this_schema(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_DDL)
        with pytest.raises(psycopg.errors.UndefinedFunction):
            conn.execute("PREPARE s AS SELECT calls FROM pg_stat_statements(true) "
                         "pg_stat_statements(calls)")
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("PREPARE i AS SELECT count(*) AS n FROM interview_insights")


def test_a_drizzle_views_definition_is_not_validated(database_url: str,
                                                     tmp_path: Path) -> None:
    drizzle_project(tmp_path, _SCHEMA)
    report = validate_module(database_url, tmp_path, _DDL, "queries.ts", _QUERIES)
    found = sorted((f.location.path, f.code, f.location.line)
                   for f in report.findings if f.location and f.severity.value == "error")
    # the application's statements are still read: `insight_totals` is no relation of this
    # schema, and `ordrs` is misspelt in a CTE's body drizzle sends
    assert found == [("queries.ts", "DBS301", 4), ("queries.ts", "DBS301", 5)]
    views = [(s.location.path, s.location.line) for s in report.skipped
             if "drizzle view's definition" in s.reason]
    assert views == [("src/db/schema.ts", 8), ("src/db/schema.ts", 11),
                     ("src/db/schema.ts", 13)]

"""A SQL template given to a function of the file that writes it into a `${...}` of its own
SQL template is a piece of that function's query.

Stacker News (stackernews/stacker.news, `wallets/server/external-transactions.js`) ends the
query of `claimExternalTransactions(models, predicate, selection)` with `WITH candidates AS
(...), claimed AS (UPDATE "ExternalTransaction" ... RETURNING tx.*) ${selection}`, and its
callers give it ``Prisma.sql`SELECT claimed.* FROM claimed ORDER BY claimed."id" ASC` ``.
Read alone, each such selection named the CTE as a missing table: two false DBS301 errors
(PostgreSQL prepares the whole query). A template given to a function that reads the
parameter otherwise, or to a function of another module, is still read. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

pytestmark = pytest.mark.db

_DDL = 'CREATE TABLE "ExternalTransaction" (id serial PRIMARY KEY, "nextCheckAt" timestamptz)'

_MODULE = """\
import { Prisma } from '@prisma/client'
import { send } from './elsewhere'

export async function dueChecks (models) {
  return await claim(models, Prisma.sql`
    SELECT claimed.* FROM claimed ORDER BY claimed."id" ASC`)
}

export const dueIds = (models) => claimArrow(models, Prisma.sql`SELECT claimed.id FROM claimed`)

async function claim (models, selection) {
  return await models.$queryRaw`
    WITH claimed AS (
      UPDATE "ExternalTransaction" AS tx SET "nextCheckAt" = now()
      WHERE tx."nextCheckAt" <= now() RETURNING tx.*
    )
    ${selection}`
}

const claimArrow = async (models, selection = Prisma.empty) => models.$queryRaw`
  WITH claimed AS (SELECT id FROM "ExternalTransaction") ${selection}`

async function direct (models, query) {
  return await models.$queryRaw(query)
}

export async function typos (models) {
  await direct(models, Prisma.sql`SELECT id FROM claimed`)
  await send(Prisma.sql`SELECT id FROM "ExternalTransactions"`)
}
"""

_WHOLE = """
WITH claimed AS (
  UPDATE "ExternalTransaction" AS tx SET "nextCheckAt" = now()
  WHERE tx."nextCheckAt" <= now() RETURNING tx.*
)
SELECT claimed.* FROM claimed ORDER BY claimed."id" ASC
"""


def test_the_selection_is_part_of_the_query_postgresql_prepares(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_DDL)
        conn.execute(f"PREPARE whole AS {_WHOLE}")  # what Prisma sends: it prepares
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("PREPARE alone AS SELECT claimed.* FROM claimed")


def test_a_template_the_callee_composes_is_not_a_statement(database_url: str,
                                                          tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _DDL, "external.js", _MODULE)
    found = sorted((f.code, f.location.line, f.subject) for f in report.findings
                   if f.location is not None and f.code != "DBS304")
    assert found == [
        ("DBS301", 28, "public.claimed"),
        ("DBS301", 29, "public.ExternalTransactions"),
    ]


# autumn (useautumn/autumn, `server/experiments/explainSortByPrice.ts`): `pageClause` returns
# the `SELECT ... FROM totals t` that three queries end their `WITH totals AS (...)` with,
# written only as `${pageClause(cursor)}`: read alone, a false DBS301 `totals`. A function
# called once outside a hole, exported, or handed on, may send it whole: still read.
_RETURNED = """\
import { sql } from "drizzle-orm";

const pageClause = (cursor) => sql`
  SELECT t.id FROM totals t ${cursor ? sql`WHERE t.id < ${cursor}` : sql``}`;

function tail() {
  return sql`SELECT t.id FROM totals t`;
}

export const run = (db, cursor) => Promise.all([
  db.execute(sql`WITH totals AS (SELECT id FROM "ExternalTransaction") ${pageClause(cursor)}`),
  db.execute(sql`WITH totals AS (SELECT id FROM "ExternalTransaction") ${tail()}`),
  db.execute(sent()),
  db.execute(sql`WITH totals AS (SELECT 1 AS id) ${twice()}`),
  register(handed),
]);

const sent = () => sql`SELECT id FROM totals_missing`;
const twice = () => sql`SELECT id FROM twice_missing`;
db.execute(twice());
const handed = () => sql`SELECT id FROM handed_missing`;
export const exported = () => sql`SELECT id FROM exported_missing`;
"""


def test_a_template_a_function_returns_into_holes_only_is_not_a_statement(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _DDL, "explain.ts", _RETURNED)
    with psycopg.connect(database_url, autocommit=True) as conn:
        # what drizzle sends for the first query: it prepares
        conn.execute('PREPARE whole AS WITH totals AS (SELECT id FROM "ExternalTransaction") '
                     'SELECT t.id FROM totals t WHERE t.id < $1')
    found = sorted((f.code, f.location.line, f.subject) for f in report.findings
                   if f.location is not None and f.code != "DBS304")
    assert found == [
        ("DBS301", 18, "public.totals_missing"),
        ("DBS301", 19, "public.twice_missing"),
        ("DBS301", 21, "public.handed_missing"),
        ("DBS301", 22, "public.exported_missing"),
    ]

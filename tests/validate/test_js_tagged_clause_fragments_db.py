"""A `${...}` of a SQL tag's template putting there a fragment of the tag's that writes a
clause or nothing.

unsend's dashboard sends ``db.$queryRaw`SELECT date, ... FROM "DailyEmailUsage" WHERE
"teamId" = ${team.id} AND "date" >= ${isoStartDate} ${input.domain ? Prisma.sql`AND
"domainId" = ${input.domain}` : Prisma.sql``} GROUP BY "date"` ``: Prisma writes the nested
fragment's text there (its holes parameters of the whole), `AND ...` or nothing, which cannot
bring a table into scope, so the rest is checked without it, as a template no tag takes is
(before: a DBS304 note, the statement never checked; the same after a value's hole in any
template). Also `Prisma.empty`, postgres.js's `sql```, drizzle's `sql.empty()` and a `const`
bound to such a conditional. A plain string there is a parameter, and a fragment that may
`JOIN` brings a table: those stay notes. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import assert_prepares, validate_module

pytestmark = pytest.mark.db

_SCHEMA = ('CREATE TABLE "DailyEmailUsage" (date text, "teamId" int, "domainId" int, '
           'sent int)')

_MODULE = """\
import { Prisma } from '@prisma/client';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
const pg = postgres(process.env.DATABASE_URL!);

export async function usage(db: any, teamId: number, since: string, domain?: number) {
  await db.$queryRaw`
    SELECT date, SUM(sent)::integer AS sent FROM "DailyEmailUsage"
    WHERE "teamId" = ${teamId} AND "date" >= ${since}
    ${domain ? Prisma.sql`AND "domainId" = ${domain}` : Prisma.sql``}
    GROUP BY "date" ORDER BY "date" ASC`;
  const byDomain = domain ? Prisma.sql`AND "domainId" = ${domain}` : Prisma.empty;
  await db.$queryRaw`SELECT "sentt" FROM "DailyEmailUsage" WHERE "teamId" = ${teamId} ${byDomain}`;
  await pg`SELECT date FROM "DailyEmailUsage" WHERE "teamId" = ${teamId}
    ${domain ? pg`AND "domainId" = ${domain}` : pg``} ORDER BY "dat"`;
  await db.execute(sql`SELECT "domainId" FROM "DailyEmailUsage" WHERE "teamId" = ${teamId}
    ${domain ? sql`AND "domainId" = ${domain}` : sql.empty()} ORDER BY "teamid"`);
}

export async function notes(db: any, teamId: number, domain?: number) {
  await db.$queryRaw`SELECT "sentt" FROM "DailyEmailUsage" WHERE "teamId" = ${teamId}
    ${domain ? 'AND "domainId" = 1' : ''}`;
  await db.$queryRaw`SELECT "sentt" FROM "DailyEmailUsage" WHERE "teamId" = ${teamId}
    ${domain ? Prisma.sql`JOIN other ON true` : Prisma.empty}`;
}
"""


def test_postgresql_reads_the_rest_alike(database_url: str) -> None:
    usage = ('SELECT date, SUM(sent)::integer AS sent FROM "DailyEmailUsage" '
             'WHERE "teamId" = $1 AND "date" >= $2 {} GROUP BY "date" ORDER BY "date" ASC')
    assert_prepares(
        database_url, _SCHEMA,
        sent=(usage.format(""), usage.format('AND "domainId" = $3')),
        refused=('SELECT "sentt" FROM "DailyEmailUsage" WHERE "teamId" = $1',
                 'SELECT "sentt" FROM "DailyEmailUsage" WHERE "teamId" = $1 '
                 'AND "domainId" = $2',
                 'SELECT date FROM "DailyEmailUsage" WHERE "teamId" = $1 ORDER BY "dat"',
                 'SELECT "domainId" FROM "DailyEmailUsage" WHERE "teamId" = $1 '
                 'AND "domainId" = $2 ORDER BY "teamid"'))


def test_a_fragment_writing_a_clause_or_nothing_leaves_the_rest_checked(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "usage.ts", _MODULE)
    found = sorted((f.code, f.location.line) for f in report.findings if f.location)
    # the misspelt names past each fragment are read; a string (a parameter) and a
    # fragment that may join keep their notes
    assert found == [("DBS302", 13), ("DBS302", 15), ("DBS302", 17),
                     ("DBS304", 21), ("DBS304", 23)]
    assert report.summary["statements_analysed"] == 4

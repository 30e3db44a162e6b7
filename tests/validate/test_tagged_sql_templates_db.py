"""A template a SQL tag marks (`$queryRaw`, `Prisma.sql`, `sql`) is SQL whatever the case of
its keywords and whatever its comments say.

cal.com's `prisma.$queryRaw<{ count: number }[]>\\`SELECT COUNT(DISTINCT "userId")::integer
from "Membership" ...\\`` (an upper-case SELECT, a lower-case from) and its `Prisma.sql`
queries with `-- Start with teams the user belongs to` in their first CTE were read as English (the
keywords' cases differ; "the" in a comment) and dropped: never checked, never counted as
not analysed. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

_DDL = 'CREATE TABLE "Membership" (id int, "userId" int, "teamId" int)'

_APP = '''\
import { Prisma } from "@prisma/client";

export async function members(prisma, teamId) {
  await prisma.$queryRaw<{ count: number }[]>`SELECT COUNT(DISTINCT "userId")::integer from "Membership" WHERE "teamId" = ${teamId}`;
  await prisma.$queryRaw<{ count: number }[]>`SELECT COUNT(DISTINCT "usrId")::integer from "Membership"`;
  const query = Prisma.sql`WITH teams AS (
    -- Start with teams the user belongs to
    SELECT m."teamId" FROM "Membership" m WHERE m."userid" = ${teamId}) SELECT * FROM teams`;
  await prisma.$queryRaw(query);
  await prisma.$queryRaw`select id from "Membership"`;
  await prisma.$queryRaw`select idd from "Membership"`;
  const columns = Prisma.sql`SELECT "nope", "id"`;  // a fragment, not a statement
}
'''


@pytest.mark.db
def test_sql_tagged_templates_are_read_whatever_their_case_and_comments(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _DDL, "members.ts", _APP)
    assert sorted((f.code, f.location.line, f.subject)
                  for f in report.findings if f.location) == [
        ("DBS302", 5, 'public.Membership.usrId'),
        ("DBS302", 8, 'public.Membership.userid'),
        ("DBS302", 11, 'public.Membership.idd'),
    ]
    assert report.summary["statements"] == 5
    with psycopg.connect(database_url) as conn:
        conn.execute('PREPARE ok AS SELECT COUNT(DISTINCT "userId")::integer '
                     'from "Membership" WHERE "teamId" = $1')
        for flagged in ('SELECT COUNT(DISTINCT "usrId")::integer from "Membership"',
                        'WITH teams AS (SELECT m."teamId" FROM "Membership" m '
                        'WHERE m."userid" = $1) SELECT * FROM teams',
                        'select idd from "Membership"'):
            with pytest.raises(psycopg.errors.UndefinedColumn):  # 42703
                conn.execute(f"PREPARE bad AS {flagged}")
            conn.rollback()

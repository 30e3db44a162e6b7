"""A string a call certainly sends to PostgreSQL is a statement whatever its keywords' case.

A string given to a call was read as a statement only with its keywords in one case, since a
method named `query` may be no database's and `Select a file from the list` is English. Where
the call certainly sends it to PostgreSQL (a wrapper of the project that sends its parameter
to a driver call unchanged, a client of node-postgres or postgres.js the code shows), the
string is what PostgreSQL receives: it is read whenever PostgreSQL's parser reads it
(Roster-App's `runSql("Select * FROM groups WHERE ...")`). The same text at an object of
unknown origin stays unread. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dbsafe.core import Report
from tests.helpers import assert_prepares, validate_files

_DDL = "CREATE TABLE IF NOT EXISTS team (id int PRIMARY KEY, title text, is_active boolean)"


def _validate(database_url: str, root: Path, files: dict[str, str]) -> Report:
    return validate_files(database_url, root, _DDL, files)


def _found(report: Report) -> list[tuple[str, str, int, str | None]]:
    return [(f.code, f.location.path, f.location.line, f.subject)
            for f in report.findings if f.location is not None]


_RUNNER = """\
const { pool } = require('../dbConfig');
const runSql = async (sql, params) => {
  try {
    return await pool.query(sql, params);
  } catch (error) {
    throw { message: 'query failed', error, sql, params };
  }
};
module.exports = { runSql };
"""

_QUERIES = """\
const { runSql } = require('./queries');
const all = () => runSql("Select * FROM team WHERE is_active=true ORDER BY id;", []);
const one = (t) => runSql("Select id FROM team WHERE titel=$1 and is_active=true;", [t]);
const add = (t) => runSql("Insert INTO team (id, title) VALUES ($1, $2);", [1, t]);
const off = (id) => runSql("Update team SET is_activ=FALSE WHERE id=$1;", [id]);
const ask = () => runSql("Select the team you want to delete.", []);
module.exports = { all, one, add, off, ask };
"""


@pytest.mark.db
def test_a_mixed_case_statement_given_to_a_followed_wrapper_is_checked(
        database_url: str, tmp_path: Path) -> None:
    report = _validate(database_url, tmp_path, {
        "api/dbConfig.js": "const { Pool } = require('pg');\n"
                           "const pool = new Pool();\nmodule.exports = { pool };\n",
        "api/db/queries.js": _RUNNER,
        "api/db/teamQueries.js": _QUERIES,
    })
    # (line 6, a sentence PostgreSQL's parser does not read, stays unread: no error)
    assert _found(report) == [
        ("DBS302", "api/db/teamQueries.js", 3, "public.team.titel"),
        ("DBS302", "api/db/teamQueries.js", 5, "public.team.is_activ"),
    ]
    assert report.summary["statements_analysed"] == 4
    assert_prepares(database_url, _DDL,
                    ("Select * FROM team WHERE is_active=true ORDER BY id",
                     "Insert INTO team (id, title) VALUES ($1, $2)"),
                    ("Select id FROM team WHERE titel=$1 and is_active=true",
                     "Update team SET is_activ=FALSE WHERE id=$1"))


_CLIENTS = """\
import pg, { Client } from 'pg';
import postgres from 'postgres';
const pool = new pg.Pool();
const sql = postgres(process.env.DATABASE_URL);
export async function main(id: number) {
  const client = await pool.connect();
  await client.query('Select titel FROM team WHERE id = $1', [id]);
  await new Client().query('delete from team where titel = $1', [id]);
  await sql.unsafe('Select lable FROM team');
  await pool.query('SELECT now()');
}
"""

_UNKNOWN = """\
export const repository = (query: (text: string) => Promise<unknown>, api: any) => ({
  all: () => query('Select titel FROM team WHERE id = 1'),
  one: () => api.query('Select lable FROM team'),
});
"""


@pytest.mark.db
def test_a_mixed_case_statement_at_a_known_client_is_checked_not_at_an_unknown_object(
        database_url: str, tmp_path: Path) -> None:
    report = _validate(database_url, tmp_path, {
        "src/clients.ts": _CLIENTS,
        "src/repository.ts": _UNKNOWN,
    })
    # `query` and `api` may be no database's: their mixed-case strings stay unread
    assert _found(report) == [
        ("DBS302", "src/clients.ts", 7, "public.team.titel"),
        ("DBS302", "src/clients.ts", 8, "public.team.titel"),
        ("DBS302", "src/clients.ts", 9, "public.team.lable"),
    ]
    assert report.summary["statements_analysed"] == 4


# Prisma's `$queryRawUnsafe`/`$executeRawUnsafe` send their string as its `$queryRaw` tag sends
# a template (check24challenge's `prisma.$queryRawUnsafe(`Select ... from "User_Ranking_${c}"
# r where r. "name" = $1`, u)`): no other client has a method of those names. A sentence stays
# unread: PostgreSQL's parser does not read it.
_PRISMA = """\
import { prisma } from "../utils/prisma";
export const reset = () => prisma.$executeRawUnsafe(`Update team set titel = null`);
export const find = (t: string) => prisma.$queryRawUnsafe("select id from team where lable = $1", t);
export const ok = () => prisma.$queryRawUnsafe(`Select t. "title" from team t where t.id = 1`);
export const ask = () => prisma.$queryRawUnsafe("Select the team you want to delete.");
export const tagged = () => prisma.$queryRaw`select nickname from team`;
"""


@pytest.mark.db
def test_a_mixed_case_statement_given_to_prismas_unsafe_calls_is_checked(
        database_url: str, tmp_path: Path) -> None:
    report = _validate(database_url, tmp_path, {
        "src/utils/prisma.ts": "import { PrismaClient } from '@prisma/client';\n"
                               "export const prisma = new PrismaClient();\n",
        "src/queries.ts": _PRISMA,
    })
    assert _found(report) == [
        ("DBS302", "src/queries.ts", 2, "public.team.titel"),
        ("DBS302", "src/queries.ts", 3, "public.team.lable"),
        ("DBS302", "src/queries.ts", 6, "public.team.nickname"),
    ]
    assert report.summary["statements_analysed"] == 4
    assert_prepares(database_url, _DDL, ('Select t. "title" from team t where t.id = 1',),
                    ("Update team set titel = null",
                     "select id from team where lable = $1"))

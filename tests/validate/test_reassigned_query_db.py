"""A name bound to several statements in one function, each sent right after it is bound.

DuckBot's `cogs/meta/embed.py` binds `query` twice, `SELECT EXISTS (...)` then `with upsert
as (UPDATE tags ...) SELECT EXISTS (...)`, each passed to `pool.fetchval(query, ...)` below
it. Only a name bound once was followed to its literal, so the second statement was read
only if it passed the strict test for bare constants, which its lower-case `with` fails:
never validated. The literal that reaches the call (the last binding before it, in the
call's block or one around it) is the statement sent. A binding in a branch, or one a
loop's next round may bring, still leaves the name unknown. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

_DDL = "CREATE TABLE tags (id int PRIMARY KEY, name text, embed jsonb);"

_APP = '''\
async def save(pool, flag):
    query = """SELECT EXISTS (SELECT * FROM tags WHERE name = $1)"""
    if await pool.fetchval(query, flag):
        query = """
            with upsert as (UPDATE tags SET embedded = $1 WHERE name = $2 RETURNING *)
            SELECT EXISTS (SELECT * FROM upsert)
        """
        await pool.fetchval(query, {}, flag)
    try:
        query = "SELECT nope_try from tags"
        await pool.fetch(query)
    finally:
        query = "SELECT id from tags"
        await pool.fetch(query)


async def branch(pool, flag):
    query = "SELECT id from tags"
    if flag:
        query = "SELECT nope_branch from tags"
    await pool.fetch(query)


async def loop(pool, rows):
    query = "SELECT id from tags"
    for row in rows:
        await pool.fetch(query)
        query = "SELECT nope_loop from tags"
'''


@pytest.mark.db
def test_the_literal_reaching_the_call_is_the_statement_sent(database_url: str,
                                                            tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _DDL, "embed.py", _APP)
    found = sorted((f.code, f.location.line, f.subject)
                   for f in report.findings if f.location)
    # Not `nope_branch`, `nope_loop`: which literal the call sends depends on the run.
    assert found == [("DBS302", 5, "public.tags.embedded"),
                     ("DBS302", 10, "public.tags.nope_try")], found
    with psycopg.connect(database_url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.UndefinedColumn):
            conn.execute("PREPARE up AS with upsert as (UPDATE tags SET embedded = $1 "
                         "WHERE name = $2 RETURNING *) SELECT EXISTS (SELECT * FROM upsert)")
        conn.execute("PREPARE ok AS SELECT EXISTS (SELECT * FROM tags WHERE name = $1)")

"""asyncpg's `copy_records_to_table("t", records=..., columns=[...], schema_name=...)`,
`copy_to_table` and `copy_from_table` name a table and its columns: each call whose names
the code shows is checked as the query asyncpg prepares before its binary COPY (`SELECT
"a", "b" FROM "s"."t" LIMIT 1`), where the calls were not read at all. What asyncpg itself
does with each call on the same database is the truth the findings are held to.
Real PostgreSQL.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import asyncpg
import psycopg
import pytest

from tests.helpers import validate_module

_SCHEMA = "CREATE TABLE users (id int PRIMARY KEY, name text);\n"

# (line in _MODULE, call as asyncpg gets it, what asyncpg's COPY raises there: None = runs)
_CALLS = [
    (9, 'conn.copy_records_to_table("users", records=[(1, "a")], columns=["id", "nmae"])',
     "42703"),
    (10, 'conn.copy_records_to_table("userz", records=[(1,)])', "42P01"),
    (11, 'conn.copy_records_to_table("Users", records=[(1,)])', "42P01"),
    (12, 'conn.copy_to_table(TABLE, source=io.BytesIO(b"2\\n"), columns=("nmae",), '
         'schema_name="public")', "42703"),
    (13, 'conn.copy_from_table(table_name="users", output=io.BytesIO(), columns=["titel"])',
     "42703"),
    (14, 'conn.copy_records_to_table("users", records=[(3, "c")], columns=["id", "name"], '
         'schema_name="public")', None),
    (15, 'conn.copy_from_table("users", output=io.BytesIO(), columns=("id",))', None),
    # asyncpg quotes the name whole: a table named `public.users`, which is not there
    (16, 'conn.copy_records_to_table("public.users", records=[(4,)])', "42P01"),
    # `where=` is the COPY's condition, on any column of the table
    (17, 'conn.copy_records_to_table("users", records=[(5, "e")], columns=["id", "name"], '
         'where="nmae IS NULL")', "42703"),
    (18, 'conn.copy_to_table("users", source=io.BytesIO(b"6\\n"), columns=["id"], '
         'where="users.name IS NULL AND id > 0")', None),
    (19, 'conn.copy_records_to_table("users", records=[(7,)], columns=["id"], where=WHERE)',
     "42703"),
    # `copy_from_query`'s query is a statement, its arguments `$n`
    (20, 'conn.copy_from_query("select id, nmae FROM users", output=io.BytesIO())', "42703"),
    (21, 'conn.copy_from_query("SELECT id FROM users WHERE id > $1", 0, output=io.BytesIO(), '
         'format="csv")', None),
    (22, 'conn.copy_from_query(query="select id FROM userz", output=io.BytesIO())', "42P01"),
]

_MODULE = '''\
import io

TABLE = "users"
WHERE = "titel = 'x'"


async def copy(conn, table, column):
    # the calls of _CALLS, one a line from line 9
{calls}
    await conn.copy_records_to_table(table, records=[(1,)], columns=["nmae"])
    await conn.copy_records_to_table("users", records=[(1,)], where=f"{{column}} IS NULL")
    await conn.copy_from_query(query, output=io.BytesIO())
    await conn.copy_records_to_table("users", records=[(1,)], columns=[column, "nmae"])
    with pytest.raises(asyncpg.UndefinedColumnError):
        await conn.copy_records_to_table("users", records=[(1,)], columns=["nmae"])
'''


def _sqlstates(info: psycopg.ConnectionInfo) -> list[str | None]:
    async def run() -> list[str | None]:
        conn = await asyncpg.connect(host=info.host, port=info.port, user=info.user,
                                     database=info.dbname, password=info.password or None)
        found: list[str | None] = []
        try:
            for _, call, _ in _CALLS:
                try:
                    await eval(call, {"conn": conn, "io": io, "TABLE": "users",
                                      "WHERE": "titel = 'x'"})
                    found.append(None)
                except asyncpg.PostgresError as exc:
                    found.append(exc.sqlstate)
        finally:
            await conn.close()
        return found

    return asyncio.run(run())


@pytest.mark.db
def test_asyncpg_copy_calls_are_checked_as_asyncpg_runs_them(
        database_url: str, postgresql: psycopg.Connection, tmp_path: Path) -> None:
    source = _MODULE.format(calls="\n".join(f"    await {call}" for _, call, _ in _CALLS))
    report = validate_module(database_url, tmp_path, _SCHEMA, "copy.py", source)
    flagged = {f.location.line: dict(f.context).get("PostgreSQL", "")[:5]
               for f in report.findings}
    # what asyncpg raises for each call is what the finding on its line says
    assert _sqlstates(postgresql.info) == [state for _, _, state in _CALLS]
    assert flagged == {line: state for line, _, state in _CALLS if state is not None}
    # each at the name, where the code writes it (`titel`, in WHERE bound above, at WHERE)
    lines = source.splitlines()
    assert sorted(lines[f.location.line - 1][f.location.column - 1:].lstrip('"').split(
        '"')[0] for f in report.findings) == sorted(
        ["nmae", "userz", "Users", "nmae", "titel", "public.users", "nmae IS NULL",
         "WHERE)", "nmae FROM users", "userz"])

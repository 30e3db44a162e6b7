"""SQL sent through encode/databases' and Tortoise's query calls is read as asyncpg's is.

`await database.fetch_all(query="SELECT id from users")` (encode/databases) and
`await conn.execute_query_dict("SELECT ...")` (Tortoise), and LNbits' `await
db.fetchone(query="SELECT * from assets WHERE ...", ...)`/`fetchall(...)` (a wrapper's: the
DB-API's take no statement) were no sinks (Selenium's
`driver.execute_script(...)`, JavaScript, is still none): a statement there was
read only when it passed the strict test for a bare string constant (keywords in one case),
so one written `SELECT ... from ...` was silently not validated. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

_DDL = "CREATE TABLE users (id int PRIMARY KEY, name text);"

_APP = '''\
async def handlers(database, conn, driver, element):
    await database.fetch_all(query="SELECT nope1 from users WHERE id = :id", values={"id": 1})
    await database.fetch_one("SELECT nope2 from users")
    await database.fetch_val("SELECT nope3 from users")
    await conn.execute_query("SELECT nope4 from users WHERE id = $1", [1])
    await conn.execute_query_dict("SELECT nope5 from users")
    await db.fetchone(query="SELECT nope6 from users WHERE id = :id", values={"id": 1})
    await db.fetchall("SELECT nope7 from users")
    await database.fetch_all(query="SELECT name from users WHERE id = :id", values={"id": 1})
    driver.execute_script("delete navigator.__proto__.webdriver")
    driver.execute_script("update(arguments[0])", element)
'''


@pytest.mark.db
def test_databases_and_tortoise_query_calls_are_read(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _DDL, "queries.py", _APP)
    found = sorted((f.code, f.location.line, f.subject)
                   for f in report.findings if f.location)
    assert found == [("DBS302", line, f"public.users.nope{line - 1}") for line in range(2, 9)], found
    # Selenium's execute_script runs JavaScript: no statement, not even one not analysed.
    assert report.summary["statements"] == 8
    with psycopg.connect(database_url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.UndefinedColumn):
            conn.execute("PREPARE one AS SELECT nope1 from users WHERE id = $1")
        conn.execute("PREPARE good AS SELECT name from users WHERE id = $1")


_PAGES = '''\
def pages(client, db, path, page, sql, n):
    client.fetch_all(f"{path}?page={page}")
    client.fetch(f"{path}/tasks/{page}")
    db.fetch_all(f"{sql} LIMIT {n}")
'''


@pytest.mark.db
def test_a_path_built_around_run_time_pieces_is_no_statement(database_url: str,
                                                             tmp_path: Path) -> None:
    """zou's `gazu.client.fetch_all(f"{path}?page={page}")` asks its REST API for a page: no
    blank in what surrounds the pieces, so no SQL (it was a DBS304 note, "built at run
    time"). Tasking Manager's `db.fetch_all(f"{sql_query} LIMIT {per_page} ...")` is."""
    report = validate_module(database_url, tmp_path, _DDL, "pages.py", _PAGES)
    found = sorted((f.code, f.location.line) for f in report.findings if f.location)
    assert found == [("DBS304", 4)], found

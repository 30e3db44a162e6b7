"""Statements Python code sends only where an extension is installed, checked first in
`pg_extension` (`dbsafe.extract.extension_guard`). Real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_module

# pgai's semantic catalog loader (timescale/pgai 3e054856, `semantic_catalog/loader.py`)
# reads TimescaleDB's catalog only after finding the extension: 2 false DBS301 on a schema
# without it. Its shape, with what must stay reported beside it.
_GUARDED = '''\
async def load_tables(con):
    async with con.cursor() as cur:
        await cur.execute("select 1 from pg_extension where extname = 'timescaledb'")
        is_timescale = await cur.fetchone() is not None
        cte = "select null as table_name"
        if is_timescale:
            cte = """select h.table_name from _timescaledb_catalog.hypertable as h"""
            await cur.execute("select nickname from users")
        else:
            await cur.execute("select hypertable_name from timescaledb_information.hypertables")
        await cur.execute(f"with x as ({cte}) select table_name from x")


async def jobs(conn):
    has_cron = await conn.fetchval(
        "select exists (select from pg_extension where extname = 'pg_cron')")
    if not has_cron:
        return []
    return await conn.fetch("select jobname from cron.job")


def trigrams(cur):
    cur.execute("select extname from pg_extension where extname = 'pg_trgm'")
    if cur.fetchone():
        cur.execute("select similarity(name, 'x') from missing_words")
    cur.execute("select 1 from _timescaledb_catalog.dimension")
'''


@pytest.mark.db
def test_a_statement_sent_only_where_an_extension_is_installed(database_url: str,
                                                               tmp_path: Path) -> None:
    # Where the schema lacks the extension, what its branch reads is not reported
    # (TimescaleDB's `_timescaledb_catalog`, pg_cron's `cron` after an early return), nor
    # anything else there; the `else` branch and the code after the `if` are checked. Where
    # the schema has the extension (pg_trgm), its branch is checked as any code.
    report = validate_module(database_url, tmp_path,
                             "CREATE EXTENSION pg_trgm; CREATE TABLE users (name text)",
                             "loader.py", _GUARDED)
    assert [(f.code, f.location.line, f.subject) for f in report.findings
            if f.location and f.code != "DBS304"] == [
        ("DBS301", 10, "timescaledb_information"),
        ("DBS301", 25, "public.missing_words"),
        ("DBS301", 26, "_timescaledb_catalog")]

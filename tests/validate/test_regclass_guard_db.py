"""Statements Python code sends only where a table exists (or only where it does not), looked
up first with `to_regclass` (`dbsafe.extract.regclass_guard`). Real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_module

# MAAS's `dbupgrade` (canonical/maas 9e51f33ce6, `maasserver/management/commands/
# dbupgrade.py`) updates Temporal's `schema_version` only after `to_regclass` found it: 2
# false DBS301 on the schema MAAS's own migrations build (Temporal's tool makes that one).
# Its shape, with what must stay reported beside it.
_GUARDED = '''\
def upgrade(conn):
    with conn.cursor() as cursor:
        cursor.execute("SELECT to_regclass('temporal.schema_version')")
        if not cursor.fetchone()[0]:
            cursor.execute("SELECT nickname FROM users")
        else:
            cursor.execute("UPDATE temporal.schema_version set db_name = current_database()")
        cursor.execute("UPDATE temporal.schema_version set db_name = 'x'")


async def jobs(conn):
    if await conn.fetchval("select to_regclass('cron_jobs') is not null"):
        return await conn.fetch("select jobname, missing_column from cron_jobs")
    return await conn.fetch("select jobname from other_jobs")


def legacy(cur):
    cur.execute("SELECT to_regclass('users')")
    if cur.fetchone()[0] is None:
        cur.execute("SELECT id FROM old_users")
    cur.execute("SELECT to_regclass('audit') IS NOT NULL")
    if cur.fetchone()[0] is not None:
        cur.execute("SELECT id FROM audit")
'''


@pytest.mark.db
def test_a_statement_sent_only_where_to_regclass_found_its_table(database_url: str,
                                                                 tmp_path: Path) -> None:
    # The branch that runs where the table exists reads it unreported (MAAS's `else`, a
    # boolean `IS NOT NULL` fetched by asyncpg); its other names are still checked
    # (`missing_column` of a table the schema lacks is not there to check). What runs
    # whatever the lookup said, and the other branch, are checked; a statement sent only
    # where `users` is missing is not analysed where the schema has `users`. `... IS NOT
    # NULL` compared with None is always true: it guards nothing.
    report = validate_module(database_url, tmp_path, "CREATE TABLE users (nickname text)",
                             "upgrade.py", _GUARDED)
    assert [(f.code, f.location.line, f.subject) for f in report.findings
            if f.location and f.code != "DBS304"] == [
        ("DBS301", 8, "temporal"),
        ("DBS301", 14, "public.other_jobs"),
        ("DBS301", 23, "public.audit")]
    assert sorted((s.location.line, s.reason) for s in report.skipped
                  if s.location and s.location.path.endswith("upgrade.py")) == [
        (7, "not analysed: reads a table the code checks exists before sending it"),
        (13, "not analysed: reads a table the code checks exists before sending it"),
        (20, "not analysed: sent only where `users` does not exist, which the schema has")]

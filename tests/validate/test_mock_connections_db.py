"""Statements a unit test hands to a mock connection reach no database.

AutoMana (ArthurG-data/AutoMana, `tests/unit/core/repositories/abstract/`) tests the code
that passes statements on with `conn = AsyncMock()`: `executor.execute_many(conn, "INSERT
INTO t VALUES ($1, $2)", rows)`, `repo = ConcreteRepo(connection=conn)` then
`repo.execute_fetchval("SELECT COUNT(*) FROM t", ())`: five false DBS301 on `t`. A call given
a mock, or made on one or on an object built from one, sends nowhere; a real connection
beside a mock is still checked. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_module

_MODULE = '''\
from unittest.mock import AsyncMock, MagicMock

import psycopg


async def test_execute_many(executor):
    conn = AsyncMock()
    await executor.execute_many(conn, "INSERT INTO t VALUES ($1, $2)", [("a", 1)])
    conn.executemany.assert_awaited_once()


async def test_fetchval(repo_class):
    conn = AsyncMock()
    repo = repo_class(connection=conn)
    await repo.execute_fetchval("SELECT COUNT(*) FROM t", ())


def test_sink_on_mock():
    cursor = MagicMock()
    cursor.execute("SELECT name FROM t WHERE id = %s", (1,))


def test_real_connection_beside_a_mock(dsn):
    log = MagicMock()
    with psycopg.connect(dsn) as conn:
        conn.execute("SELECT id FROM missing_real")
        log.info("done")


def test_parameter(db):
    db.execute("SELECT id FROM missing_param")
'''


@pytest.mark.db
def test_statements_given_to_mocks_are_not_checked(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "SELECT 1", "test_repo.py", _MODULE)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS301", 26, "public.missing_real"),
        ("DBS301", 31, "public.missing_param")]

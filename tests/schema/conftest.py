"""Fixtures for schema tests that need more than one database on the session server."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from pytest_postgresql.executors.noop import NoopExecutor

from tests.helpers import databases


def _admin(server: NoopExecutor) -> str:
    # The server's `postgres` database: never the template pytest-postgresql clones (a
    # session on it makes CREATE DATABASE ... TEMPLATE fail).
    return make_conninfo(host=server.host, port=server.port, user=server.user,
                         password=server.password or None, dbname="postgres")


@pytest.fixture
def new_database(pg_server: NoopExecutor) -> Iterator[Callable[[], str]]:
    """A factory of empty databases on the session server; each is dropped afterwards.
    (Made from the server, not from `postgresql`: the tests using it never read a database
    of their own, and cloning and dropping one per test cost as much as a test's catalog
    reads.)"""
    yield from databases(_admin(pg_server), "dbsafe_diff")


@pytest.fixture(scope="session")
def server_version(pg_server: NoopExecutor) -> int:
    """The session server's `server_version_num` (180001), read without a database of its
    own."""
    with psycopg.connect(_admin(pg_server)) as conn:
        return conn.info.server_version

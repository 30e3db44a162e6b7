"""Fixtures for schema tests that need more than one database on the session server."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from tests.helpers import databases


@pytest.fixture
def new_database(postgresql: psycopg.Connection) -> Iterator[Callable[[], str]]:
    """A factory of empty databases next to this test's own; each is dropped afterwards."""
    info = postgresql.info
    yield from databases(make_conninfo(host=info.host, port=info.port, user=info.user,
                                       password=info.password or None, dbname=info.dbname),
                         "dbsafe_diff")

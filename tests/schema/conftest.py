"""Fixtures for schema tests that need more than one database on the session server."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg.conninfo import make_conninfo


@pytest.fixture
def new_database(postgresql: psycopg.Connection) -> Iterator[Callable[[], str]]:
    """A factory of empty databases next to this test's own; each is dropped afterwards."""
    info = postgresql.info
    base = {"host": info.host, "port": info.port, "user": info.user,
            "password": info.password or None}
    admin = make_conninfo(**base, dbname=info.dbname)
    created: list[str] = []

    def create() -> str:
        name = f"dbsafe_diff_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        created.append(name)
        return make_conninfo(**base, dbname=name)

    yield create
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in created:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

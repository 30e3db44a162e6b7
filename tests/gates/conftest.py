"""Fixtures shared by the gates tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest


@pytest.fixture
def more_databases(postgresql: psycopg.Connection, database_url: str) -> Iterator[Callable[[], str]]:
    """Empty databases on the test server, as a throwaway server's `new_database` gives them.
    (Connecting with `database_url`: `postgresql.info.dsn` leaves the password out.)"""
    made: list[str] = []

    def new_database() -> str:
        name = f"{postgresql.info.dbname}_more_{len(made)}"
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"'.encode())
        made.append(name)
        return database_url.replace(f"dbname={postgresql.info.dbname}", f"dbname={name}")

    yield new_database
    with psycopg.connect(database_url, autocommit=True) as conn:
        for name in made:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())

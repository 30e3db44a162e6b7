"""Fixtures shared by the gates tests."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import psycopg
import pytest


@pytest.fixture
def more_databases(postgresql: psycopg.Connection, database_url: str) -> Iterator[Callable[[], str]]:
    """Empty databases on the test server, as a throwaway server's `new_database` gives them.
    (Connecting with `database_url`: `postgresql.info.dsn` leaves the password out.)"""
    with _databases(postgresql, database_url, "more") as make:
        yield lambda: make("")


@pytest.fixture
def copies(postgresql: psycopg.Connection, database_url: str) -> Iterator[Callable[[str], str]]:
    """Copies of the test server's databases (`CREATE DATABASE ... TEMPLATE`), as the
    throwaway server's `copy_database` makes them."""
    with _databases(postgresql, database_url, "copy") as make:
        yield lambda url: make(
            f' TEMPLATE "{psycopg.conninfo.conninfo_to_dict(url)["dbname"]}"')


@contextlib.contextmanager
def _databases(postgresql: psycopg.Connection, database_url: str,
               kind: str) -> Iterator[Callable[[str], str]]:
    """A maker of databases `<test database>_<kind>_<n>` on the test server (`CREATE
    DATABASE` with the clause it is given), each URL returned; all dropped at the end."""
    made: list[str] = []
    dbname = postgresql.info.dbname

    def make(clause: str) -> str:
        name = f"{dbname}_{kind}_{len(made)}"
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{clause}'.encode())
        made.append(name)
        return database_url.replace(f"dbname={dbname}", f"dbname={name}")

    try:
        yield make
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            for name in made:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())

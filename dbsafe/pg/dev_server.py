"""A dev server: a PostgreSQL the user names (`dev-url`) where dbsafe makes its scratch
databases, instead of starting a throwaway embedded PostgreSQL 18.

Atlas calls it a dev database (`--dev-url`): a server of the project's own major version
with the extensions its migrations create (PostGIS, pgvector, pg_cron, ...), which the
embedded server lacks. Its role must be allowed to create databases.

Each run makes one database of its own there, `dbsafe_dev_<time>_<pid>_<random>`, with a
comment saying it is dbsafe's scratch database and which process made it; the other
databases the run needs are named after it (`<it>_setup`, `<it>_walk_3`, ...). At the end
the run drops them, and the roles that appeared on the server while it ran (a project's
`setup-sql` or migrations create some); never a database or role that was there before.
A database a killed run left is dropped by the next run: its process is gone (same
machine), or it is a day old and no one is connected to it (another machine).

One run at a time uses a dev server: a run holds an advisory lock on a session of the
dev-url's database from before it lists the server's roles until it has dropped those that
appeared, which would otherwise be another run's too (dropped under it while its migrations
used them). A second run waits, saying so, up to `RUN_LOCK_WAIT`. The threads and nested
builds of one process share its lock.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dbsafe.core import DatabaseError
from dbsafe.pg.throwaway import process_alive

log = logging.getLogger(__name__)

PREFIX = "dbsafe_dev_"
MARK = "dbsafe scratch database"
# A run's comment: `dbsafe scratch database of pid 123 on host-a since 2026-12-07T10:15:00Z
# (dev-url); dbsafe drops it when done`.
_COMMENT = re.compile(re.escape(MARK) + r" of pid (\d+) on (\S+) since (\S+)")
# A database another machine's run left is taken as abandoned after this long unused.
ABANDONED_AFTER = 24 * 3600
_MAX_NAME = 63  # NAMEDATALEN - 1: a longer name is cut by the server
# The advisory lock one run at a time holds (`_one_run_at_a_time`): b"dbsafedv" as a bigint.
RUN_LOCK = 0x6462736166656476
RUN_LOCK_WAIT = "10min"  # how long a run waits for another (lock_timeout)
# Per dev server (its libpq parameters and database): the session holding RUN_LOCK for this
# process, and how many of its runs use it now.
_runs: dict[tuple[tuple[str, str], ...], tuple[Any, int]] = {}
_runs_guard = threading.Lock()


@dataclass(frozen=True, slots=True)
class DevServer:
    """Connection facts of the run's databases on a dev server; what `ThrowawayServer`
    offers (`url`, `conninfo`, `bin_dir`, `name`), so every caller works on either.

    Names callers use (`dbsafe`, `dbsafe_setup`, `postgres`) are the run's own: `name`
    maps them to the databases on the server."""

    params: tuple[tuple[str, str], ...]  # the dev-url's libpq parameters, dbname left out
    maintenance: str  # where CREATE/DROP DATABASE run (the dev-url's database)
    own: str  # the run's database: dbsafe_dev_<time>_<pid>_<random>
    main: str | None  # the name callers gave it (`throwaway_server(database=...)`)
    user: str
    bin_dir: Path  # psql (pg_dump) of the server's major version where there is one
    server_version: int

    def name(self, database: str) -> str:
        """The database on the server that the run's `database` is."""
        if database == "postgres":
            return self.maintenance
        if database == self.own or database.startswith(self.own + "_") \
                or database == self.main:
            return database if database != self.main else self.own
        name = f"{self.own}_{database}"
        if len(name.encode()) > _MAX_NAME:
            name = f"{self.own}_{hashlib.sha256(database.encode()).hexdigest()[:16]}"
        return name

    def conninfo(self, database: str = "postgres") -> str:
        from psycopg.conninfo import make_conninfo

        return make_conninfo("", **dict(self.params), dbname=self.name(database))

    def url(self, database: str = "postgres") -> str:
        from urllib.parse import urlencode

        query = urlencode({**dict(self.params), "dbname": self.name(database)}, safe="/,")
        return f"postgresql:///?{query}"


@contextlib.contextmanager
def dev_server(url: str, database: str | None = None) -> Iterator[DevServer]:
    """The run's database on the dev server `url` (created, commented), and everything the
    run made there dropped on exit (its databases, then the roles that appeared meanwhile).

    Raises:
        DatabaseError: the server cannot be reached, or its role may not create databases,
            or another run held it longer than `RUN_LOCK_WAIT` (one line, no password).
    """
    from dbsafe.pg.connect import url_params
    from dbsafe.pg.urls import redact_url

    given = {k: str(v) for k, v in _said(url_params, url).items() if v is not None}
    shown = f"dev-url {redact_url(url)}"
    with _one_run_at_a_time(url, given, shown):
        yield from _run(url, given, shown, database)


def _run(url: str, given: dict[str, str], shown: str,
         database: str | None) -> Iterator[DevServer]:
    from psycopg import sql

    from dbsafe.pg.urls import redact_url

    with _connect(url, url) as conn:
        maintenance = str(conn.info.dbname)
        user, may_create = conn.execute(
            "SELECT current_user, rolsuper OR rolcreatedb FROM pg_roles "
            "WHERE rolname = current_user").fetchone() or (None, False)
        if not may_create:
            raise DatabaseError(
                f"{shown}: role {user} may not create databases; dbsafe makes its scratch "
                "databases there (ALTER ROLE ... CREATEDB, or name another role)")
        version = conn.info.server_version
        remove_abandoned(conn)
        roles_before = _roles(conn)
        own = new_name()
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(
            sql.Identifier(own)))
    server = DevServer(
        params=tuple(sorted((k, v) for k, v in given.items() if k != "dbname")),
        maintenance=maintenance, own=own, main=database, user=str(user),
        bin_dir=_client_dir(version), server_version=version)
    try:
        with _connect(server.conninfo(), url) as conn:
            conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(own), sql.Literal(_comment())))
        log.debug("scratch database %s on %s", own, redact_url(url))
        yield server
    finally:
        _drop_run(server, roles_before, url)


@contextlib.contextmanager
def _one_run_at_a_time(url: str, given: dict[str, str], shown: str) -> Iterator[None]:
    """`RUN_LOCK` held on a session of the dev-url's database while in it: taken, waiting
    for another run (up to `RUN_LOCK_WAIT`, said once), by this process's first run on the
    server; shared by the runs it starts meanwhile (threads, nested builds), released when
    the last ends.

    Raises:
        DatabaseError: another run held the server longer than `RUN_LOCK_WAIT`.
    """
    import psycopg

    key = tuple(sorted(given.items()))
    with _runs_guard:  # (a second thread waits here while the first waits for the lock)
        held, depth = _runs.get(key, (None, 0))
        if held is None:
            held = _connect(url, url)
            try:
                if not held.execute("SELECT pg_try_advisory_lock(%s)", (RUN_LOCK,)).fetchone()[0]:
                    log.warning("%s: waiting for another dbsafe run on the dev server to end "
                                "(up to %s): one run at a time uses it", shown, RUN_LOCK_WAIT)
                    held.execute(f"SET lock_timeout = '{RUN_LOCK_WAIT}'")
                    held.execute("SELECT pg_advisory_lock(%s)", (RUN_LOCK,))
            except psycopg.errors.LockNotAvailable:
                held.close()
                raise DatabaseError(
                    f"{shown}: another dbsafe run has used the dev server for more than "
                    f"{RUN_LOCK_WAIT} (one run at a time uses it: the roles a run drops at its "
                    "end would be the other's too); run again when it has ended") from None
            except BaseException:
                held.close()
                raise
        _runs[key] = (held, depth + 1)
    try:
        yield
    finally:
        with _runs_guard:
            held, depth = _runs.pop(key)
            if depth > 1:
                _runs[key] = (held, depth - 1)
            else:
                held.close()  # (the session's end releases the lock)


def _said(call: Any, *args: Any, **kwargs: Any) -> Any:
    """`call(...)`, a `DatabaseError` it raises said as the dev-url's (its URL masked)."""
    try:
        return call(*args, **kwargs)
    except DatabaseError as exc:
        raise DatabaseError(f"dev-url: {exc}") from None


def _connect(conninfo: str, url: str) -> Any:
    """A connection to `conninfo` (a database of the dev server `url`), an error naming the
    dev-url as given, its password masked."""
    from dbsafe.pg.connect import connect

    return _said(connect, conninfo, shown_as=url)


def new_name() -> str:
    """`dbsafe_dev_<UTC time>_<pid>_<random>`: no two runs, here or elsewhere, share one."""
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    return f"{PREFIX}{stamp}_{os.getpid()}_{secrets.token_hex(3)}"


def _comment() -> str:
    since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (f"{MARK} of pid {os.getpid()} on {socket.gethostname()} since {since} "
            "(dev-url); dbsafe drops it when done")


def _drop_run(server: DevServer, roles_before: set[str], url: str) -> None:
    """Drop the run's databases, then the roles made since it began (never one that was
    there before); what cannot be dropped is said, not raised."""
    import psycopg

    try:
        with _connect(server.conninfo(), url) as conn:
            drop_databases(conn, server.own)
            for role in sorted(_roles(conn) - roles_before):
                try:
                    conn.execute(psycopg.sql.SQL("DROP ROLE IF EXISTS {}").format(
                        psycopg.sql.Identifier(role)))
                except psycopg.Error as exc:  # (it owns something elsewhere: not the run's)
                    log.info("left role %s on the dev server: %s", role,
                             str(exc).strip().splitlines()[0])
    except (DatabaseError, psycopg.Error) as exc:
        log.warning("could not drop the scratch database %s on the dev server: %s; the "
                    "next run there drops it", server.own, str(exc).strip().splitlines()[0])


def drop_databases(conn: Any, own: str) -> list[str]:
    """Drop `own` and the databases named after it (`own_*`); their names."""
    from psycopg import sql

    names = [r[0] for r in conn.execute(
        "SELECT datname FROM pg_database WHERE datname = %s OR starts_with(datname, %s) "
        "ORDER BY datname = %s, datname", (own, own + "_", own))]
    for name in names:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))
    return names


def abandoned(conn: Any) -> list[str]:
    """The run databases on `conn`'s server whose run is over: made on this machine by a
    process that is gone, or on another a day ago and no client is connected to them."""
    rows = conn.execute(
        "SELECT d.datname, shobj_description(d.oid, 'pg_database'), EXISTS ("
        "  SELECT FROM pg_stat_activity AS a WHERE a.backend_type = 'client backend'"
        "  AND (a.datname = d.datname OR starts_with(a.datname, d.datname || '_'))) "
        "FROM pg_database AS d WHERE starts_with(d.datname, %s) "
        "AND shobj_description(d.oid, 'pg_database') LIKE %s ORDER BY 1",
        (PREFIX, MARK + "%")).fetchall()
    here = socket.gethostname()
    left = []
    for name, comment, connected in rows:
        found = _COMMENT.match(comment or "")
        if found is None:
            continue
        pid, host, since = int(found.group(1)), found.group(2), found.group(3)
        if host == here:
            if pid != os.getpid() and not process_alive(pid):
                left.append(name)
        elif not connected and _age(since) > ABANDONED_AFTER:
            left.append(name)
    return left


def remove_abandoned(conn: Any) -> list[str]:
    """Drop what runs that were killed left (`abandoned`), each with its other databases."""
    import psycopg

    dropped = []
    for name in abandoned(conn):
        log.info("dropping %s, left on the dev server by a dbsafe run that was stopped", name)
        try:
            dropped += drop_databases(conn, name)
        except psycopg.Error as exc:
            log.warning("could not drop %s: %s", name, str(exc).strip().splitlines()[0])
    return dropped


def _roles(conn: Any) -> set[str]:
    return {r[0] for r in conn.execute("SELECT rolname FROM pg_roles")}


def _age(since: str) -> float:
    try:
        moment = datetime.strptime(since, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return 0.0
    return time.time() - moment.timestamp()


def _client_dir(server_version: int) -> Path:
    """The folder of the psql (and pg_dump) of the server's major version, where one is
    installed (Debian's /usr/lib/postgresql/<major>/bin), else of the newest that can talk
    to it (`client_binary`: the embedded one)."""
    from dbsafe.pg.tools import _found, client_binary

    major = server_version // 10000
    for found, path in _found("psql"):
        if found == major:
            return path.parent
    return client_binary("psql", server_version).parent


@functools.lru_cache(maxsize=4)
def server_key(url: str) -> str:
    """What the schemas built on the dev server depend on, for a cache key: its version and
    the extensions it offers (an extension installed, or upgraded, builds them again). Asked
    once per process: a run computes several keys."""
    with _connect(url, url) as conn:
        version = conn.info.server_version
        extensions = conn.execute(
            "SELECT string_agg(name || ' ' || coalesce(default_version, ''), ',' "
            "ORDER BY name) FROM pg_available_extensions").fetchone()
    digest = hashlib.sha256(str(extensions and extensions[0]).encode()).hexdigest()[:16]
    return f"dev {version} extensions {digest}"

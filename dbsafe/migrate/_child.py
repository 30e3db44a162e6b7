"""The child process that runs a project's alembic `env.py` for dbsafe, inside a sandbox.

This file is executed by path (`python _child.py RESULT_FILE`): it
runs under the project's interpreter, which may have neither dbsafe nor the SQLAlchemy and
alembic versions dbsafe uses (a project pinned to SQLAlchemy 1.4 works). It imports only the
standard library at module level; alembic, SQLAlchemy and the drivers come from the project.
dbsafe imports from it only what its own connections share with env.py's: which statements
run CONCURRENTLY and the timeouts they run under (`runs_concurrently`, `concurrent_timeouts`,
for `dbsafe downgrade --use-computed`).

The request arrives as JSON on stdin; the result goes as JSON to RESULT_FILE, so whatever the
project prints on stdout or stderr (its logging, `print` in a revision) never mixes with it.

The sandbox: while `env.py` and the revisions run, every database connection goes to the
target dbsafe named, whatever URL the project's code came up with.
* SQLAlchemy engines (`create_engine`, `engine_from_config`, `async_engine_from_config`, any
  driver) are redirected to the target through SQLAlchemy's `do_connect` event, keeping the
  project's driver (psycopg2, psycopg 3, asyncpg, pg8000). A pooled connection made for
  another database than the request's (a session's requests may each name one) is thrown
  away when the project's code checks it out, and a new one made (`check_checkout`).
* A connection opened straight through a driver (`psycopg2.connect(...)`,
  `psycopg.connect(...)`, `asyncpg.connect(...)`, `pg8000.connect(...)`) is refused unless it
  already points at the target, with an error naming where it tried to go (password masked).
* Offline rendering has no target: every connection is refused.
* libpq's location variables (`PGHOST`, `PGDATABASE`, ...) are the target's, set by the
  parent; the others (TLS files, options) are those dbsafe's own connection used.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import time
import traceback
import weakref
from collections.abc import Container, Iterator
from typing import Any

# Location keys of each driver's connect(): these are replaced by the target's; every other
# argument the project passes (application_name, options, timeouts, ...) is kept.
_LOCATION_KEYS = frozenset({
    "dsn", "conninfo", "host", "hostaddr", "port", "user", "username", "password", "dbname",
    "database", "service", "passfile", "unix_sock", "target_session_attrs", "load_balance_hosts",
    "channel_binding", "require_auth", "krbsrvname", "gssencmode", "gsslib", "sslmode", "ssl",
    "sslcert", "sslkey", "sslrootcert", "sslcrl", "sslcrldir", "sslpassword", "sslsni",
    "ssl_context", "ssl_min_protocol_version", "ssl_max_protocol_version", "sslcompression",
    "sslnegotiation", "sslcertmode", "direct_tls",
})


# The target a pooled connection was made for (`ConnectionPoolEntry.info`)
_POOLED_TARGET = "dbsafe_target"
# Every pool entry the sandbox connected (weakly): their idle connections to a database
# dbsafe releases are closed (`_release`)
_POOLED: weakref.WeakSet[Any] = weakref.WeakSet()


class SandboxViolation(RuntimeError):
    """env.py or a revision tried to reach a database other than the target."""


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+>")


def _mask(text: str) -> str:
    text = re.sub(r"(://[^:/?#@\s]*:)[^@/\s]*@", r"\1***@", text)
    return re.sub(r"(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]+)", r"\1***", text)


class Sandbox:
    def __init__(self, target: dict[str, Any] | None) -> None:
        self.target = target  # {"host", "port", "user", "password", "dbname"} or None
        self.connects = 0  # connections let through to the target

    # -- the target as each driver wants it --------------------------------------------------

    def params_for(self, driver: str) -> dict[str, Any]:
        t = self.target
        if t is None:
            raise SandboxViolation("offline rendering connects to no database")
        # A hostaddr is the address dbsafe reached: drivers without libpq connect to it.
        host = t.get("hostaddr") or t["host"]
        if driver in ("psycopg2", "psycopg", "psycopg2cffi", "psycopg_async"):
            params = {"host": t["host"], "port": str(t["port"]), "user": t["user"],
                      "dbname": t["dbname"]}
            for key in ("hostaddr", "sslmode"):
                if t.get(key):
                    params[key] = t[key]
        elif driver == "asyncpg":
            params = {"host": host, "port": int(t["port"]), "user": t["user"],
                      "database": t["dbname"]}
        elif driver == "pg8000":
            params = {"user": t["user"], "database": t["dbname"]}
            if str(host).startswith("/"):
                params["unix_sock"] = f"{host}/.s.PGSQL.{t['port']}"
            else:
                params.update(host=host, port=int(t["port"]))
        else:
            raise SandboxViolation(
                f"env.py connects with the {driver!r} driver, which dbsafe cannot point at "
                "the database it chose; use psycopg, psycopg2, asyncpg or pg8000"
            )
        if t.get("password"):
            params["password"] = t["password"]
        return params

    # -- SQLAlchemy: redirect ----------------------------------------------------------------

    def redirect_engine(self, dialect: Any, conn_rec: Any, cargs: list, cparams: dict) -> None:
        if dialect.name != "postgresql":
            raise SandboxViolation(
                f"env.py opened a {dialect.name} engine; dbsafe runs migrations only on the "
                "PostgreSQL database it chose"
            )
        driver = "psycopg_async" if dialect.driver == "psycopg_async" else dialect.driver
        if self.target is None:
            raise SandboxViolation(
                f"env.py tried to connect ({_describe(cargs, cparams)}) while rendering "
                "offline; in offline mode env.py must not open a connection"
            )
        cargs.clear()
        for key in [k for k in cparams if k in _LOCATION_KEYS]:
            del cparams[key]
        cparams.update(self.params_for(driver))
        conn_rec.info[_POOLED_TARGET] = self._target_key()
        _POOLED.add(conn_rec)
        self.connects += 1

    def _target_key(self) -> tuple[str, str, str] | None:
        t = self.target
        return (str(t["host"]), str(t["port"]), str(t["dbname"])) if t else None

    def check_checkout(self, dbapi_connection: Any, conn_rec: Any, proxy: Any) -> None:
        """A pooled connection made for another target than the current one (a session's
        request on `verify-reversible`'s twin database; the application's engine made once
        per process, Flask-SQLAlchemy's) is not handed out: SQLAlchemy's pool then opens a
        new one, which `redirect_engine` sends to the current target."""
        made_for = conn_rec.info.get(_POOLED_TARGET)
        if made_for is not None and made_for != self._target_key():
            from sqlalchemy import exc

            raise exc.DisconnectionError("dbsafe: the connection is to another database")

    # -- drivers: refuse anything else -------------------------------------------------------

    def check_libpq(self, where: str, dsn: str | None, kwargs: dict[str, Any]) -> None:
        params = _parse_conninfo(dsn or "")
        params.update({k: v for k, v in kwargs.items() if v is not None and k in _LOCATION_KEYS})
        self._check(where, params)

    def _check(self, where: str, params: dict[str, Any]) -> None:
        t = self.target
        if t is None:
            raise SandboxViolation(
                f"{where} tried to connect to {_describe([], params)} while rendering offline"
            )
        if not self._names_target(params):
            raise SandboxViolation(
                f"{where} tried to connect to {_describe([], params)}; under dbsafe, "
                f"migrations run only on {_describe([], t)}. Let env.py use "
                "config.attributes['connection'] or an engine built from sqlalchemy.url"
            )
        self.connects += 1

    def _names_target(self, params: dict[str, Any]) -> bool:
        t = self.target
        assert t is not None
        host = str(params.get("host") or os.environ.get("PGHOST") or "")
        if params.get("unix_sock"):
            sock = str(params["unix_sock"])
            host, _, port_part = sock.rpartition("/.s.PGSQL.")
            params = {**params, "port": port_part}
        port = str(params.get("port") or os.environ.get("PGPORT") or "5432")
        dbname = str(params.get("dbname") or params.get("database")
                     or os.environ.get("PGDATABASE") or params.get("user") or "")
        forbidden = [k for k in ("service", "hostaddr")
                     if params.get(k) and str(params[k]) != str(t.get(k))]
        return ((host, port, dbname) == (str(t["host"]), str(t["port"]), str(t["dbname"]))
                and not forbidden)

    def async_url(self, url: Any) -> Any:
        """The URL an async engine is made from: one of libpq's form naming the target (what
        dbsafe puts in DATABASE_URL and its kind while env.py runs, replacing the project's
        `postgresql+asyncpg://` there) gets an async driver of this Python, as the project's
        own URL had; SQLAlchemy would take it for psycopg2's and refuse it ("requires an async
        driver"). Its parameters are left out: the connection is redirected to the target."""
        if self.target is None:
            return url
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            parsed = make_url(url)
        except (ArgumentError, ValueError, TypeError):  # SQLAlchemy says what is wrong with it
            return url
        if parsed.drivername != "postgresql":
            return url
        if not self._names_target(_parse_conninfo(parsed.render_as_string(hide_password=False))):
            return url
        driver = next((d for d in ("asyncpg", "psycopg") if _importable(d)), None)
        if driver is None:
            return url
        return parsed.set(drivername=f"postgresql+{driver}", query={})

    def install(self, session: dict[str, str] | None = None) -> None:
        self._install_sqlalchemy(session or {})
        self._install_drivers()

    def _install_sqlalchemy(self, session: dict[str, str]) -> None:
        try:
            from sqlalchemy import event
            from sqlalchemy.engine import Engine
        except ImportError:
            return
        event.listen(Engine, "do_connect", self.redirect_engine)
        self._install_async_engines()
        try:
            from sqlalchemy.pool import Pool
        except ImportError:
            pass
        else:
            event.listen(Pool, "checkout", self.check_checkout)
        event.listen(Engine, "handle_error", _note_error)
        event.listen(Engine, "commit", _transaction_ended)
        event.listen(Engine, "rollback", _transaction_ended)
        if session:
            _install_session_settings(Engine, session)

    def _install_async_engines(self) -> None:
        try:
            import sqlalchemy.ext.asyncio as sa_asyncio
            import sqlalchemy.ext.asyncio.engine as sa_async_engine
        except ImportError:
            return
        real = sa_async_engine.create_async_engine
        sandbox = self

        def create_async_engine(url: Any, **kw: Any) -> Any:
            return real(sandbox.async_url(url), **kw)

        # async_engine_from_config calls the module's create_async_engine
        sa_async_engine.create_async_engine = create_async_engine
        sa_asyncio.create_async_engine = create_async_engine

    def _install_drivers(self) -> None:
        sandbox = self
        try:
            import psycopg2

            real_pg2 = psycopg2.connect

            def psycopg2_connect(dsn=None, connection_factory=None, cursor_factory=None,
                                 **kwargs):
                sandbox.check_libpq("psycopg2.connect()", dsn, kwargs)
                return real_pg2(dsn, connection_factory=connection_factory,
                                cursor_factory=cursor_factory, **kwargs)

            psycopg2.connect = psycopg2_connect
        except ImportError:
            pass
        try:
            import psycopg

            for cls in (psycopg.Connection, psycopg.AsyncConnection):
                real = cls.__dict__["connect"].__func__
                name = f"psycopg.{cls.__name__}.connect()"

                def make(real: Any = real, name: str = name,
                         is_async: bool = cls is psycopg.AsyncConnection) -> Any:
                    async def connect_async(klass: Any, conninfo: str = "", **kwargs: Any) -> Any:
                        sandbox.check_libpq(name, conninfo, kwargs)
                        return await real(klass, conninfo, **kwargs)

                    def connect(klass: Any, conninfo: str = "", **kwargs: Any) -> Any:
                        sandbox.check_libpq(name, conninfo, kwargs)
                        return real(klass, conninfo, **kwargs)

                    return classmethod(connect_async if is_async else connect)

                cls.connect = make()  # type: ignore[method-assign]
            psycopg.connect = psycopg.Connection.connect
        except ImportError:
            pass
        try:
            import asyncpg
            import asyncpg.connection

            real_apg = asyncpg.connection.connect

            async def asyncpg_connect(dsn=None, **kwargs):
                params = _parse_conninfo(dsn or "")
                params.update({k: v for k, v in kwargs.items()
                               if v is not None and k in _LOCATION_KEYS})
                sandbox._check("asyncpg.connect()", params)
                return await real_apg(dsn, **kwargs)

            asyncpg.connect = asyncpg_connect
            asyncpg.connection.connect = asyncpg_connect
        except ImportError:
            pass
        try:
            import pg8000
            import pg8000.dbapi

            real_pg8000 = pg8000.dbapi.connect

            def pg8000_connect(user, **kwargs):
                sandbox._check("pg8000.connect()", {"user": user, **kwargs})
                return real_pg8000(user, **kwargs)

            pg8000.connect = pg8000_connect
            pg8000.dbapi.connect = pg8000_connect
        except ImportError:
            pass


def _parse_conninfo(dsn: str) -> dict[str, Any]:
    """libpq's two conninfo forms (URL or key=value), without needing libpq."""
    from urllib.parse import parse_qsl, unquote, urlsplit

    dsn = dsn.strip()
    if not dsn:
        return {}
    if "://" in dsn:
        scheme = dsn.split("://", 1)[0]
        dsn = "postgresql://" + dsn.split("://", 1)[1] if "+" in scheme else dsn
        parts = urlsplit(dsn)
        params: dict[str, Any] = {}
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, netloc = netloc.rsplit("@", 1)
            user, _, password = userinfo.partition(":")
            params["user"] = unquote(user)
            if password:
                params["password"] = unquote(password)
        host, _, port = netloc.rpartition(":") if netloc.count(":") == 1 else (netloc, "", "")
        if host:
            params["host"] = unquote(host)
        if port:
            params["port"] = port
        if parts.path.strip("/"):
            params["dbname"] = unquote(parts.path.lstrip("/"))
        params.update(parse_qsl(parts.query))
        return params
    params = {}
    for key, value in re.findall(r"(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", dsn):
        if value.startswith("'"):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        params[key] = value
    return params


def _describe(cargs: list, params: dict[str, Any]) -> str:
    """Where a connection goes, as one masked line."""
    if cargs and isinstance(cargs[0], str) and cargs[0]:  # (a DSN; "" is libpq's default)
        return _mask(cargs[0])
    shown = {k: params[k] for k in ("host", "port", "user", "dbname", "database", "unix_sock",
                                     "service", "hostaddr") if params.get(k)}
    text = " ".join(f"{k}={v}" for k, v in shown.items()) or "the default libpq target"
    return _mask(text)


# -- running alembic -----------------------------------------------------------------------


_REAL_PATHS: dict[str, str] = {}  # a code object's file name -> its real path


def _real_path(name: str) -> str:
    real = _REAL_PATHS.get(name)
    if real is None:
        real = _REAL_PATHS[name] = os.path.realpath(name)
    return real


def _revision_frame(frame: Any, revision_files: Container[str]) -> tuple[str | None, int]:
    """(real path, line) of the innermost frame from `frame` outwards that runs a revision
    file's code; (None, 0) when none does (env.py's own work, alembic's version table)."""
    while frame is not None:
        real = _real_path(frame.f_code.co_filename)
        if real in revision_files:
            return real, frame.f_lineno
        frame = frame.f_back
    return None, 0


class _RecordingBuffer:
    """Offline output that remembers which revision file line wrote each chunk."""

    def __init__(self, revision_files: Container[str]) -> None:
        self.revision_files = revision_files
        self.chunks: list[list[Any]] = []

    def write(self, text: str) -> int:
        self.chunks.append([text, *_revision_frame(sys._getframe(1), self.revision_files)])
        return len(text)

    def flush(self) -> None:
        pass


# -- capture: each statement as it executes, with what PostgreSQL saw ------------------------

# Frames of SQLAlchemy's reflection: statements a revision runs through `sa.inspect(bind)`
# read the catalog; they are recorded as introspection, not as the revision's own SQL.
_REFLECTION_PARTS = (os.sep + os.path.join("sqlalchemy", "engine", "reflection.py"),
                     os.sep + os.path.join("sqlalchemy", "dialects") + os.sep)

# Relation locks this backend holds, with each relation's current file node (a changed
# relfilenode is a rewrite) and, for a table, how many scans of it the transaction started
# (one more is a statement that read it: empty tables count too). Run on the migration's
# own connection, inside its transaction.
_LOCKS_SQL = (
    "SELECT l.relation::int8, n.nspname, c.relname, c.relkind::text, l.mode, "
    "c.relfilenode::int8, l.virtualtransaction, CASE WHEN c.relkind = 'r' "
    "THEN pg_catalog.pg_stat_get_xact_numscans(l.relation) END "
    "FROM pg_catalog.pg_locks l "
    "LEFT JOIN pg_catalog.pg_class c ON c.oid = l.relation "
    "LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE l.pid = pg_catalog.pg_backend_pid() AND l.locktype = 'relation' AND l.granted "
    "AND l.database = (SELECT oid FROM pg_catalog.pg_database "
    "WHERE datname = pg_catalog.current_database())"
)

_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%s|%%")


def _literal(value: Any) -> str:
    """A bound value as SQL text, good enough for linting the statement's shape."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "'\\x" + bytes(value).hex() + "'::bytea"
    if isinstance(value, (dict, list)):
        value = json.dumps(value, default=str)
    return "'" + str(value).replace("'", "''") + "'"


def _render_parameters(statement: str, parameters: Any, executemany: bool) -> str:
    """The statement with pyformat/format placeholders replaced by literals.

    `$1` placeholders (asyncpg) are left: PostgreSQL's grammar reads them as parameters.
    """
    if executemany and isinstance(parameters, (list, tuple)) and parameters:
        parameters = parameters[0]
    if not parameters:
        return statement
    if isinstance(parameters, dict):
        def named(m: Any) -> str:
            if m.group(0) == "%%":
                return "%"
            if m.group(1) is None or m.group(1) not in parameters:
                return m.group(0)
            return _literal(parameters[m.group(1)])
        return _PLACEHOLDER.sub(named, statement)
    if isinstance(parameters, (list, tuple)):
        values = iter(parameters)

        def positional(m: Any) -> str:
            if m.group(0) == "%%":
                return "%"
            if m.group(1) is not None:
                return m.group(0)
            return _literal(next(values, None))
        return _PLACEHOLDER.sub(positional, statement)
    return statement


def _type_exists(conn: Any, schema: str | None, name: str) -> bool | None:
    """Whether the database has a type of that name (in `schema`, else one the session's
    search_path finds), asked on the migration's own connection past SQLAlchemy's events;
    None when it cannot be asked (no driver connection, an aborted transaction)."""
    dbapi = _dbapi_connection(conn) if conn is not None else None
    if dbapi is None:
        return None
    where = (f"n.nspname = {_literal(schema)}" if schema is not None
             else "pg_catalog.pg_type_is_visible(t.oid)")
    try:
        cursor = dbapi.cursor()
        try:
            cursor.execute("SELECT count(*) FROM pg_catalog.pg_type t JOIN "
                           "pg_catalog.pg_namespace n ON n.oid = t.typnamespace "
                           f"WHERE t.typname = {_literal(name)} AND {where}")
            row = cursor.fetchone()
        finally:
            cursor.close()
    except Exception:  # noqa: BLE001 - not known is said so, never guessed
        return None
    return bool(row and row[0])


def _dbapi_connection(conn: Any) -> Any:
    fairy = getattr(conn, "connection", None)
    return getattr(fairy, "dbapi_connection", None) or getattr(fairy, "connection", None)


def _backend_pid(dbapi: Any) -> int | None:
    """The server process of a connection, known to the driver (no round trip); None when
    the driver does not say. dbsafe matches it with a lock wait it saw on the server."""
    try:
        info = getattr(dbapi, "info", None)
        pid = getattr(info, "backend_pid", None)  # psycopg 3, psycopg2 >= 2.8
        if pid is None and hasattr(dbapi, "get_backend_pid"):
            pid = dbapi.get_backend_pid()  # psycopg2
        if pid is None:
            inner = getattr(dbapi, "_connection", None)  # SQLAlchemy's asyncpg adapter
            if inner is not None and hasattr(inner, "get_server_pid"):
                pid = inner.get_server_pid()
        return int(pid) if pid else None
    except Exception:  # noqa: BLE001 - a closed or unknown connection: no pid
        return None


def _transaction_status(dbapi: Any) -> bool | None:
    """Whether the server session is inside a transaction block now; None when unknown."""
    info = getattr(dbapi, "info", None)
    status = getattr(info, "transaction_status", None)  # psycopg 3 and psycopg2 >= 2.8
    if status is not None:
        return int(status) in (1, 2, 3)  # ACTIVE, INTRANS, INERROR
    inner = getattr(dbapi, "_connection", None)  # SQLAlchemy's asyncpg adapter
    if inner is not None and hasattr(inner, "is_in_transaction"):
        return bool(inner.is_in_transaction())
    autocommit = getattr(dbapi, "autocommit", None)
    return None if autocommit is None else not autocommit


def _autocommit(dbapi: Any) -> bool | None:
    """Whether the driver runs each statement on its own now (`autocommit_block()`, an
    AUTOCOMMIT connection), rather than in a transaction it begins; None when unknown."""
    try:
        value = getattr(dbapi, "autocommit", None)  # psycopg, psycopg2, pg8000, asyncpg's adapter
    except Exception:  # noqa: BLE001 - a closed or unknown connection
        return None
    return value if isinstance(value, bool) else None


# (search_path: only where the session's own, env.py's `SET search_path` or its connect
# options (`-csearch_path=...`, asyncpg's server_settings), gave it: the path of the server,
# the database or the role is the one dbsafe's own sessions read with too)
_SETTINGS_SQL = ("SELECT pg_catalog.current_setting('lock_timeout'), "
                 "pg_catalog.current_setting('statement_timeout'), "
                 "(SELECT setting FROM pg_catalog.pg_settings WHERE name = 'search_path' "
                 "AND source IN ('session', 'client'))")


def _session_settings(connection: Any) -> list[list[str]]:
    """`lock_timeout` and `statement_timeout` of the session, where set (not 0), and its
    `search_path` where env.py set it on its connection (`SET search_path TO phx`, as Arize
    Phoenix's does, or a connect option), as PostgreSQL spells it (`"$user", public`).

    Read through the driver's own cursor, not SQLAlchemy, so that no transaction is begun
    that alembic would then find open; one the read itself opens is rolled back.
    """
    if connection is None:
        return []
    try:
        dbapi = _dbapi_connection(connection)
        idle = _transaction_status(dbapi) is False
        cursor = dbapi.cursor()
        try:
            cursor.execute(_SETTINGS_SQL)
            row = cursor.fetchone()
        finally:
            cursor.close()
        if idle:
            dbapi.rollback()
    except Exception:  # noqa: BLE001 - an unknown driver: the settings stay unknown
        return []
    if row is None:
        return []
    *timeouts, search_path = row
    names = ("lock_timeout", "statement_timeout")
    return [[names[i], str(value)] for i, value in enumerate(timeouts)
            if str(value) not in ("0", "")] \
        + ([["search_path", str(search_path)]] if search_path is not None else [])


class _Capture:
    """Every statement the revisions execute, recorded as it executes.

    Each record names the innermost revision-file frame (the `op.*` line), the revision,
    whether the statement ran inside a transaction block and, when it did (and the driver is
    psycopg or psycopg2), the relation locks it took (`locks`: held right after it and not
    before it in the same transaction), all the locks held then (`held`), those of them
    earlier revisions took in the same transaction (`inherited`: alembic runs every pending
    revision in one transaction unless `transaction_per_migration`), the tables whose
    relfilenode changed (rewritten) and the tables it started a scan of (scanned: any scan
    takes a lock held to the end of the transaction, so each table a transaction read is
    among the locks read after every statement since). Each also says whether the driver
    ran it on its own (`autocommit`) and whether it comes from the first revision of its
    alembic run (`first_in_run`): psycopg2 sends no BEGIN after a revision's raw `COMMIT`,
    so the later revisions of the run run outside the transaction alembic opened for them
    (hypothesis/lms); run first, they run inside it.
    """

    def __init__(self, revision_files: dict[str, str], *, observe: bool) -> None:
        self.revision_files = revision_files
        self.observe = observe
        self.statements: list[dict[str, Any]] = []
        self._filenodes: dict[int, int] = {}
        self._scans: dict[str, dict[int, int]] = {}  # transaction -> table -> scans started
        self._names: dict[int, list[Any]] = {}
        self._current: dict[str, Any] | None = None
        self._transaction: str | None = None  # virtual transaction id of `_held`
        self._held: set[tuple[str, str, str, str]] = set()
        self._revision: str | None = None  # of the last statement observed
        self._inherited: set[tuple[str, str, str, str]] = set()  # held when it began
        # While a batch_alter_table() block runs its operations: (file, line of the `with`,
        # line of the batch_op.* call whose SQL runs now).
        self._batch: tuple[str, int, int] | None = None
        # The timeouts (and search_path) the session had when alembic started running
        # revisions: what env.py set on its connection (`SET lock_timeout`, `SET search_path
        # TO phx`, connect options), which holds for every revision of every run. Each record
        # carries them ([[name, value], ...]).
        self._settings: list[list[str]] = []
        # The first revision that ran a statement since alembic began running revisions
        # (`run_migrations`): it starts in the state env.py and alembic give every first
        # pending revision; a later one may start in what an earlier one left.
        self._run_revision: str | None = None
        # The named types (PostgreSQL ENUM, DOMAIN) a revision's table creation did not
        # create because alembic's DDL memo says this process created one of that name in an
        # earlier revision (`_install_named_types`): run by a command of its own, that
        # revision sends `CREATE TYPE` for a type its predecessor left in the database.
        self.skipped_types: list[dict[str, Any]] = []
        # (id of the DDL runner, kind, schema, name) -> where this process created it:
        # [runner (kept alive so its id is not reused), revision, file, line]
        self._made_types: dict[tuple[int, str, str | None, str], list[Any]] = {}

    def install(self) -> None:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.listen(Engine, "before_cursor_execute", self.before)
        event.listen(Engine, "after_cursor_execute", self.after)
        self._install_batch()
        self._install_settings()
        self._install_named_types()

    def _install_named_types(self) -> None:
        """Record each named type SQLAlchemy leaves uncreated because an earlier revision of
        this `alembic upgrade` created it.

        A table with an `sa.Enum(name=...)` column creates its type through the type's
        `_on_table_create`, which asks `_check_for_name_in_memos` first: the name is noted in
        the DDL runner's memo (alembic's `impl.memo`, one per migration context, so one for
        every revision of the command), and a name already there is not created again. From
        empty in one process the second revision's `CREATE TYPE` is never sent; run on a
        database its predecessor left, by a command of its own, it is, and fails with `type
        ... already exists`. (SQLAlchemy 1.3 and 1.4 have the method on the PostgreSQL ENUM,
        2.x on NamedType, ENUM's and DOMAIN's base: the same signature in each.)
        """
        try:
            from sqlalchemy.dialects.postgresql import named_types
            owner: Any = named_types.NamedType
        except ImportError:
            try:
                from sqlalchemy.dialects.postgresql import base
                owner = base.ENUM
            except ImportError:
                return
        original = getattr(owner, "_check_for_name_in_memos", None)
        if original is None:
            return
        capture = self

        def _check_for_name_in_memos(named: Any, checkfirst: Any, kw: dict[str, Any]) -> Any:
            present = original(named, checkfirst, kw)
            # (recording it never changes the run)
            with contextlib.suppress(Exception):
                capture._noted_type(named, checkfirst, kw, present, sys._getframe(1))
            return present

        owner._check_for_name_in_memos = _check_for_name_in_memos

    def _noted_type(self, named: Any, checkfirst: Any, kw: dict[str, Any], present: Any,
                    caller: Any) -> None:
        runner = kw.get("_ddl_runner")
        if runner is None or not getattr(named, "create_type", True) or not named.name:
            return  # not memoised (create_type=False answers "present" without a memo)
        creating = "create" in caller.f_code.co_name  # _on_table_create, _on_metadata_create
        file, line = _revision_frame(caller, self.revision_files)
        revision = self.revision_files.get(file) if file else None
        kind = str(getattr(named, "__visit_name__", "enum"))
        key = (id(runner), kind, named.schema, str(named.name))
        if not present:
            if creating:
                self._made_types[key] = [runner, revision, file, line]
            return
        made = self._made_types.get(key)
        # Sent on its own, a create asked to check first (`checkfirst`) would find the type
        # and skip it; one of the same revision would find it in its own memo as here.
        if (not creating or checkfirst or made is None or revision is None
                or made[1] == revision):
            return
        self.skipped_types.append({
            "kind": kind, "schema": named.schema, "name": str(named.name),
            "revision": revision, "file": file, "line": line,
            "made_by": made[1], "made_file": made[2], "made_line": made[3],
            "exists": _type_exists(getattr(runner, "connection", None), named.schema,
                                   str(named.name)),
        })

    def _install_settings(self) -> None:
        """Read the session's settings each time env.py hands alembic the connection."""
        try:
            from alembic.runtime.migration import MigrationContext
        except ImportError:
            return
        capture = self
        original = MigrationContext.run_migrations

        def run_migrations(context: Any, **kwargs: Any) -> Any:
            capture._settings = _session_settings(getattr(context, "connection", None))
            capture._run_revision = None
            return original(context, **kwargs)

        MigrationContext.run_migrations = run_migrations  # type: ignore[method-assign, assignment]

    def _install_batch(self) -> None:
        """`batch_alter_table()` runs its operations when the `with` block ends, so the
        innermost revision line is the `with`: remember each `batch_op.*` call's line."""
        try:
            from alembic.operations.batch import BatchOperationsImpl
        except ImportError:
            return
        capture = self

        class Lined(list):
            def __init__(self, items: list[Any]) -> None:
                super().__init__(items)
                self.lines = [0] * len(items)  # 0: no revision line known

            def append(self, item: Any) -> None:
                self.lines.append(capture._where(sys._getframe(1))[1])
                super().append(item)

            def __iter__(self) -> Iterator[Any]:
                file, line, _ = capture._where(sys._getframe(1))
                for index, item in enumerate(super().__iter__()):
                    op_line = self.lines[index] if index < len(self.lines) else 0
                    capture._batch = (file, line, op_line) if file and op_line else None
                    yield item
                capture._batch = None

        original = BatchOperationsImpl.__init__

        def __init__(impl: Any, *args: Any, **kwargs: Any) -> None:
            original(impl, *args, **kwargs)
            impl.batch = Lined(impl.batch)

        BatchOperationsImpl.__init__ = __init__  # type: ignore[method-assign, assignment]

    def _where(self, frame: Any = None) -> tuple[str | None, int, bool]:
        frame = frame or sys._getframe(2)
        reflection = False
        while frame is not None:
            name = frame.f_code.co_filename
            real = _real_path(name)
            if real in self.revision_files:
                batch = self._batch
                if batch is not None and batch[:2] == (real, frame.f_lineno):
                    return real, batch[2], reflection  # the batch_op.* call's line
                return real, frame.f_lineno, reflection
            if not reflection and any(part in name for part in _REFLECTION_PARTS):
                reflection = True
            frame = frame.f_back
        return None, 0, reflection

    def before(self, conn: Any, cursor: Any, statement: str, parameters: Any,
               context: Any, executemany: bool) -> None:
        file, line, reflection = self._where()
        if file is None:
            self._current = None  # env.py, alembic's version table: not the revision's SQL
            return
        revision = self.revision_files[file]
        if self._run_revision is None:
            self._run_revision = revision
        dbapi = _dbapi_connection(conn)
        record = {
            "sql": _render_parameters(statement, parameters, executemany),
            "file": file, "line": line, "revision": revision,
            "pid": _backend_pid(dbapi), "started": time.time(),
            "introspection": reflection, "in_transaction": None,
            "autocommit": _autocommit(dbapi), "first_in_run": revision == self._run_revision,
            "locks": None, "held": None, "inherited": None, "rewritten": None,
            "scanned": None,
            "settings": self._settings,
        }
        self.statements.append(record)
        self._current = record

    def after(self, conn: Any, cursor: Any, statement: str, parameters: Any,
              context: Any, executemany: bool) -> None:
        record, self._current = self._current, None
        if record is None and not self.observe:
            return
        dbapi = _dbapi_connection(conn)
        try:
            in_transaction = _transaction_status(dbapi)
        except Exception:  # noqa: BLE001 - an unknown driver: leave it unknown
            in_transaction = None
        if record is not None:
            record["in_transaction"] = in_transaction
            if record["introspection"]:
                return
        # Statements outside the revisions (alembic's version table) are observed too, so
        # the locks they take are not attributed to the revision's next statement.
        if not (self.observe and in_transaction):
            return
        if type(dbapi).__module__.split(".")[0] not in ("psycopg2", "psycopg"):
            return
        try:
            observer = dbapi.cursor()
            try:
                observer.execute(_LOCKS_SQL)
                rows = observer.fetchall()
            finally:
                observer.close()
        except Exception:  # noqa: BLE001 - no observation is not a failure of the run
            return
        held: list[tuple[str, str, str, str]] = []
        rewritten: list[list[Any]] = []
        scanned: list[list[Any]] = []
        transaction = None
        for oid, schema, name, kind, mode, filenode, vxid, scans in rows:
            transaction = vxid
            if schema is None:
                known = self._names.get(oid)  # dropped in this transaction
                if known is None:
                    continue
                schema, name, kind = known
            else:
                self._names[oid] = [schema, name, kind]
            if schema in ("pg_catalog", "information_schema") or schema.startswith("pg_toast"):
                continue
            held.append((schema, name, kind, mode))
            if filenode and kind in ("r", "m", "i"):
                # A relation is created with relfilenode = its oid; any other value is new.
                if filenode != self._filenodes.get(oid, oid) and kind in ("r", "m"):
                    rewritten.append([schema, name])
                self._filenodes[oid] = filenode
            if scans is not None:
                # (xact counts start at 0 with the transaction: a table first seen locked
                # now was not read before in it)
                started = self._scans.setdefault(vxid, {})
                if scans > started.get(oid, 0) and [schema, name] not in scanned:
                    scanned.append([schema, name])
                started[oid] = scans
        before = self._held if transaction == self._transaction else set()
        if transaction != self._transaction:
            self._inherited = set()
        self._transaction, self._held = transaction, set(held)
        if record is not None:
            if record["revision"] != self._revision:
                self._revision, self._inherited = record["revision"], set(before)
            record["locks"] = [list(lock) for lock in held if lock not in before]
            record["held"] = [list(lock) for lock in held]
            record["inherited"] = [list(lock) for lock in held if lock in self._inherited]
            record["rewritten"] = rewritten
            record["scanned"] = scanned

class _Fingerprints:
    """Catalog fingerprints taken right after chosen revision steps, on the migration's own
    connection (`verify-reversible`): the state between two revisions applied by one alembic
    command is seen without a command per revision or a snapshot from outside.

    A session request asks with `{"fingerprint": {"sql": SQL, "after": [[REV, "up"|"down"],
    ...]}}`; each `[REV, DIRECTION, VALUE]` taken lands in the answer's `fingerprints`, also
    when a later step fails. The SQL comes from dbsafe (read-only catalog queries).
    `"prepare": true`: a prepared statement runs it (planned once per connection).

    A wanted step whose revision code sent no statement at all (`ran`, counted by
    `_Commits.after`) lands in `idle` too: a revision whose upgrade does nothing on
    PostgreSQL (a MySQL-only branch, a `pass`) changed no data either.
    """

    def __init__(self) -> None:
        self.sql: str | None = None
        self.wanted: set[tuple[str, str]] = set()
        self.taken: list[list[Any]] = []
        self.idle: list[list[str]] = []
        self.prepare = False
        self.ran = 0  # statements the revisions' code sent in this request
        self._ran_before = 0  # ... when the last step ended

    def start(self, request: dict[str, Any] | None, taken: list[list[Any]],
              idle: list[list[str]] | None = None) -> None:
        self.sql = request.get("sql") if request else None
        self.wanted = {(r, d) for r, d in request.get("after", ())} if request else set()
        self.prepare = bool(request.get("prepare")) if request else False
        self.taken = taken
        self.idle = idle if idle is not None else []
        self.ran = self._ran_before = 0

    def on_version_apply(self, *, ctx: Any, step: Any, heads: Any, run_args: Any) -> None:
        ran, self._ran_before = self.ran - self._ran_before, self.ran
        if self.sql is None or getattr(step, "is_stamp", False):
            return
        key = (step.up_revision_id, "up" if step.is_upgrade else "down")
        if key not in self.wanted:
            return
        if not ran:
            self.idle.append(list(key))
        connection = ctx.connection
        run = getattr(connection, "exec_driver_sql", None) or connection.execute  # SA 1.3
        driver = _psycopg3_connection(connection) if self.prepare else None
        if driver is not None:
            # psycopg 3 keeps it prepared itself, and prepares it again after the
            # DEALLOCATE ALL it sends on a DROP or a ROLLBACK: one round trip a step.
            value = driver.execute(self.sql, prepare=True).fetchone()[0]
        elif self.prepare:
            # Planned once, not at every step: on a throwaway server only (a pooler in
            # transaction mode would lose it between transactions). Looked up each time:
            # psycopg 3 runs DEALLOCATE ALL after a DROP or a ROLLBACK.
            import hashlib

            name = "dbsafe_fp_" + hashlib.sha1(self.sql.encode()).hexdigest()[:16]
            if not run(f"SELECT count(*) FROM pg_catalog.pg_prepared_statements "
                       f"WHERE name = '{name}'").scalar():
                run(f"PREPARE {name} AS {self.sql}")
            value = run(f"EXECUTE {name}").scalar()
        else:
            value = run(self.sql).scalar()
        self.taken.append([*key, value])


_FINGERPRINTS = _Fingerprints()


class _Commits:
    """The statements of the revisions that a request committed, so a failed request can
    say what it leaves behind: a revision's transaction commits in full where its
    `autocommit_block()` starts, and each statement inside the block commits as it runs.
    A retry of that revision would run them again (a backfill applied twice); the schema
    they changed the caller can compare, their data changes it cannot.

    Only statements run from a revision file's frame count (env.py's own queries and
    alembic's version table are not the revision's work).
    """

    def __init__(self) -> None:
        self.revision_files: Container[str] = frozenset()
        self.committed: list[str] = []
        self._open: dict[int, list[str]] = {}  # by DBAPI connection: run, not yet committed

    def install(self, revision_files: dict[str, str]) -> None:
        try:
            from sqlalchemy import event
            from sqlalchemy.engine import Engine
        except ImportError:
            return
        self.revision_files = revision_files  # filled once they are imported (`_Listing`)
        event.listen(Engine, "after_cursor_execute", self.after)
        event.listen(Engine, "commit", self.commit)
        event.listen(Engine, "rollback", self.rollback)

    def start(self) -> None:
        self.committed = []
        self._open = {}

    def after(self, conn: Any, cursor: Any, statement: str, parameters: Any,
              context: Any, executemany: bool) -> None:
        if _revision_frame(sys._getframe(1), self.revision_files)[0] is None:
            return
        _FINGERPRINTS.ran += 1
        # As sent, placeholders and all: the rows' values stay out of the report, and a
        # bulk insert is not rendered row by row.
        sql = statement
        dbapi = _dbapi_connection(conn)
        try:
            in_transaction = _transaction_status(dbapi)
        except Exception:  # noqa: BLE001 - an unknown driver: the commit event decides
            in_transaction = None
        if in_transaction is False:  # autocommit: committed as it ran
            self.committed.append(sql)
        else:
            self._open.setdefault(id(dbapi), []).append(sql)

    def commit(self, conn: Any) -> None:
        self.committed.extend(self._open.pop(id(_dbapi_connection(conn)), ()))

    def rollback(self, conn: Any) -> None:
        self._open.pop(id(_dbapi_connection(conn)), None)


_COMMITS = _Commits()


class _DdlMemo:
    """What one `alembic upgrade` (or `downgrade`) command remembers from revision to
    revision: the named types (PostgreSQL ENUMs and DOMAINs) SQLAlchemy created or dropped
    through its `op.create_table()` and `op.drop_table()`, kept in the migration context's
    `impl.memo` (SQLAlchemy's `_check_for_name_in_memos`). A revision that creates a table
    with `sa.Enum(..., name="mood")` after an earlier one made `mood` sends no second
    `CREATE TYPE mood` within one command (optuna's v2.4.0.a after v0.9.0.a), and fails
    with "type already exists" in a command of its own. A guarded run applies its revisions
    one request at a time (one alembic command each), so a request that `continues` the
    command of the request before it gets the memo that request ended with, as alembic's
    one command would have it. A failed request leaves nothing to carry: its retry starts
    from the memo of the last request that succeeded.
    """

    def __init__(self) -> None:
        self.carried: list[Any] = []  # each context's memo, of the last request that succeeded
        self.contexts: list[Any] = []  # the migration contexts of the request running now
        self.continues = False

    def start(self, continues: bool) -> None:
        self.contexts = []
        self.continues = continues

    def seed(self, context: Any) -> None:
        """A context env.py configured: the memo its counterpart of the request before
        ended with (the n-th context of each, for an env.py that runs several)."""
        index = len(self.contexts)
        self.contexts.append(context)
        memo = getattr(getattr(context, "impl", None), "memo", None)
        if self.continues and isinstance(memo, dict) and index < len(self.carried):
            memo.update(_copied(self.carried[index]))

    def keep(self) -> None:
        self.carried = [_copied(getattr(getattr(c, "impl", None), "memo", None) or {})
                        for c in self.contexts]


def _copied(memo: dict[Any, Any]) -> dict[Any, Any]:
    """A memo's copy (its values are sets of `(schema, name)`) that a later request's
    additions leave alone."""
    return {key: set(value) if isinstance(value, (set, frozenset)) else value
            for key, value in memo.items()}


_DDL_MEMO = _DdlMemo()


class _Trail:
    """Where each statement of the revisions ran from, on which server process, when, and
    in which alembic command of the request: asked for (`"trail": true`) on dbsafe's
    throwaway servers, whose watcher ends a connection of the migration left idle in its
    transaction that a statement waits for (`dbsafe.migrate.waits`). dbsafe matches the wait
    with the statement that waited and with the line that last used the other connection.

    Records are `[sql, file, line, revision, operation, pid, started]`; only statements run
    from a revision file's frame count.
    """

    def __init__(self) -> None:
        self.revision_files: dict[str, str] = {}  # real path: revision
        self.records: list[list[Any]] | None = None  # None: not asked for
        self.operation = 0  # index of the alembic command of the request running now
        self._installed = False

    def install(self, revision_files: dict[str, str]) -> None:
        self.revision_files = revision_files
        if self._installed:
            return
        try:
            from sqlalchemy import event
            from sqlalchemy.engine import Engine
        except ImportError:
            return
        event.listen(Engine, "before_cursor_execute", self.before)
        self._installed = True

    def start(self, wanted: bool) -> list[list[Any]] | None:
        self.records = [] if wanted else None
        self.operation = 0
        return self.records

    def before(self, conn: Any, cursor: Any, statement: str, parameters: Any,
               context: Any, executemany: bool) -> None:
        if self.records is None:
            return
        file, line = _revision_frame(sys._getframe(1), self.revision_files)
        if file is None:
            return
        first = statement.strip().split("\n", 1)[0]
        self.records.append([first[:200], file, line, self.revision_files[file], self.operation,
                             _backend_pid(_dbapi_connection(conn)), time.time()])


_TRAIL = _Trail()


def _psycopg3_connection(connection: Any) -> Any:
    """The psycopg 3 connection under a SQLAlchemy connection, else None (another driver,
    or an async one)."""
    psycopg = sys.modules.get("psycopg")
    if psycopg is None:
        return None
    fairy = getattr(connection, "connection", None)
    driver = getattr(fairy, "driver_connection", None) or getattr(fairy, "dbapi_connection",
                                                                   None)
    return driver if isinstance(driver, psycopg.Connection) else None


# The last error a statement raised in the open transaction, and, for each "current
# transaction is aborted" (25P02) raised after it, that error: redash's first revision
# catches the ProgrammingError of its `op.add_column("queries", ...)` (42P01: the table
# `db.create_all()` makes) and goes on, and what failed was alembic's next statement.
_LAST_ERROR: list[BaseException] = []
_ABORTED_BY: dict[int, tuple[BaseException, BaseException]] = {}  # id(25P02) -> (it, cause)


def _note_error(context: Any) -> None:
    exc = context.original_exception
    state = _sqlstate(exc)
    if state == "25P02":
        if _LAST_ERROR:
            _ABORTED_BY[id(exc)] = (exc, _LAST_ERROR[0])
    elif state is not None:
        _LAST_ERROR[:] = [exc]


def _transaction_ended(*args: Any) -> None:
    _LAST_ERROR.clear()


def _aborted_by(exc: BaseException) -> BaseException | None:
    """The error that aborted the transaction a 25P02 `exc` was raised in (`_note_error`)."""
    for candidate in (getattr(exc, "orig", None), exc, exc.__cause__):
        held = _ABORTED_BY.get(id(candidate))
        if held is not None and held[0] is candidate:
            return held[1]
    return None


def _failure(exc: BaseException, revision_files: dict[str, str],
             script_dir: str | None = None) -> dict[str, Any]:
    """The error as data, naming the revision (file and line) whose code raised it, else
    the outermost line of the project's own code that did (`origin`: env.py, or a revision
    file alembic was loading). The project's code is what lies under the working directory
    (not its virtualenv) and under `script_dir`, the migrations folder, wherever that is
    (`script_location` naming an installed package or a checkout elsewhere)."""
    shown = exc  # its traceback, with the chain, as raised
    exc = _hidden_by_cleanup(exc)
    where = origin = None
    project = os.path.realpath(os.getcwd()) + os.sep
    scripts = os.path.realpath(script_dir) + os.sep if script_dir else None
    tb = exc.__traceback__
    while tb is not None:
        code_file = tb.tb_frame.f_code.co_filename  # "<frozen importlib...>" is no file
        filename = os.path.realpath(code_file)
        if filename in revision_files:
            where = (revision_files[filename], filename, tb.tb_lineno)
        elif origin is None and os.path.isabs(code_file) and (
                (scripts is not None and filename.startswith(scripts))
                or (filename.startswith(project) and "site-packages" not in filename
                    and filename != os.path.realpath(__file__))):
            origin = [filename, tb.tb_lineno]
        tb = tb.tb_next
    if where is None:
        where = _running_step(exc, revision_files)
    server = _server_error(exc)
    message = server["M"] if server else str(getattr(exc, "orig", None) or exc).strip()
    if server or _from_database_stack(exc):
        # SQLAlchemy appends "(Background on this error at: ...)" and the SQL, a driver
        # the statement and a caret; keep the cause.
        first = message.splitlines()[0] if message else type(exc).__name__
    else:
        first = _one_line(message) or type(exc).__name__
    # An object's repr in the message ("<...DedupeColumnCollection object at 0x7f68...>":
    # alembic's drop_constraint(None, ...)) has an address that differs each run, and so
    # would the finding's message: the same failure must read the same in every CI log.
    first = _ADDRESS.sub(">", first)
    sqlstate = _sqlstate(exc)
    cause = _aborted_by(exc) if sqlstate == "25P02" else None
    if cause is not None:
        # what went wrong is the error the code caught and went on from
        said = _server_error(cause)
        text = said["M"] if said else str(cause).strip()
        first = (f"{text.splitlines()[0] if text else type(cause).__name__} (an earlier "
                 f"statement's error, which the code caught and went on from; then: {first})")
        sqlstate = _sqlstate(cause)
    if isinstance(exc, EOFError) or (type(exc).__name__ == "Abort"
                                     and type(exc).__module__.startswith("click")):
        first += " (it asked on stdin, which is at end of file under dbsafe, as under CI)"
    return {
        "type": type(exc).__name__,
        "message": _mask_environment(_mask(first)),
        "sandbox": isinstance(exc, SandboxViolation)
        or isinstance(getattr(exc, "orig", None), SandboxViolation)
        or isinstance(exc.__cause__, SandboxViolation),
        "sqlstate": sqlstate,
        "revision": where[0] if where else None,
        "file": where[1] if where else None,
        "line": where[2] if where else None,
        "origin": origin,
        "traceback": _mask_environment(
            _mask("".join(traceback.format_exception(shown))[-8000:])),
    }


_DATABASE_STACK = frozenset({"sqlalchemy", "psycopg", "psycopg2", "asyncpg", "pg8000"})


def _from_database_stack(exc: BaseException) -> bool:
    """Whether SQLAlchemy or a driver raised `exc`: their later lines are the statement,
    a caret under it or a link, never the cause."""
    return (getattr(exc, "orig", None) is not None
            or type(exc).__module__.partition(".")[0] in _DATABASE_STACK)


# pydantic's "[type=missing, input_value=..., input_type=...]" quotes the value it refused,
# which may be a secret read from the environment; its link says nothing about this project.
_PYDANTIC_DETAILS = re.compile(r"\s*\[type=.*\]\s*$")
_PYDANTIC_LINK = re.compile(r"^\s*For further information visit \S+\s*$")
_ONE_LINE_LIMIT = 300


def _one_line(message: str) -> str:
    """A message of several lines on one: a line at the margin starts an item, an indented
    line continues the item above it (": "); the first item is followed by ": ", the
    others by "; ". Items that do not fit in about 300 characters are counted, not shown.

    pydantic names the field on the line after its first (fractal-server's env.py
    without JWT_SECRET_KEY said only "1 validation error for Settings"):

    >>> _one_line("1 validation error for Settings\\nJWT_SECRET_KEY\\n  Field required "
    ...           "[type=missing, input_value={}, input_type=dict]\\n"
    ...           "    For further information visit https://errors.pydantic.dev/2/v/missing")
    '1 validation error for Settings: JWT_SECRET_KEY: Field required'
    """
    items: list[str] = []
    for line in message.splitlines():
        piece = _PYDANTIC_DETAILS.sub("", line).strip()
        if not piece or _PYDANTIC_LINK.match(line):
            continue
        if items and line[0].isspace():
            items[-1] = _joined(items[-1], ": ", piece)
        else:
            items.append(piece)
    if not items:
        return ""
    text = items[0]
    for index, item in enumerate(items[1:], start=1):
        joined = _joined(text, ": " if index == 1 else "; ", item)
        if len(joined) > _ONE_LINE_LIMIT:
            return f"{text} (and {len(items) - index} more)"
        text = joined
    return text


def _joined(text: str, separator: str, piece: str) -> str:
    """`piece` after `text`: after a sentence's end, a blank says enough."""
    return f"{text} {piece}" if text.endswith((".", ":", ";", "!", "?")) \
        else f"{text}{separator}{piece}"


# Names of environment variables whose values are secrets (JWT_SECRET_KEY, API_TOKEN,
# DB_PASSWORD, ...): an env.py error quoting one must not put it in a CI log.
_SECRET_NAME = re.compile(r"(?i)secret|passw|token|key|credential|auth")


def _mask_environment(text: str) -> str:
    """`text` with the value of every secret-named environment variable masked."""
    secrets = {value for name, value in os.environ.items()
               if len(value) >= 6 and _SECRET_NAME.search(name)}
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _hidden_by_cleanup(exc: BaseException) -> BaseException:
    """The error SQLAlchemy's `PendingRollbackError` stands in front of, else `exc`.

    A connection the server ended mid-revision (`pg_terminate_backend`, 57P01; a
    `transaction_timeout`, 25P04) is invalidated, and the rollback env.py's `with` blocks
    run on leaving raises "Can't reconnect until invalid transaction is rolled back" over
    the server's error, which stays only as its context: the failure named SQLAlchemy's
    bookkeeping, not what PostgreSQL said, and carried no SQLSTATE."""
    seen: set[int] = set()
    while (type(exc).__name__ == "PendingRollbackError" and exc.__context__ is not None
           and id(exc) not in seen):
        seen.add(id(exc))
        exc = exc.__context__
    return exc


def _running_step(exc: BaseException,
                  revision_files: dict[str, str]) -> tuple[str, str, int] | None:
    """(revision, file, line of its upgrade/downgrade) of the step alembic was running
    when `exc` rose outside the revision's code: a revision that swallows its own failure
    (`except Exception: log(...)`, Langflow's b2fa308044b5) returns with the transaction
    aborted, and alembic's UPDATE of the version table fails (25P02) in alembic's frames."""
    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_name == "run_migrations" and "step" in frame.f_locals:
            function = getattr(frame.f_locals["step"], "migration_fn", None)
            code = getattr(function, "__code__", None)
            if code is not None and (real := _real_path(code.co_filename)) in revision_files:
                return revision_files[real], real, code.co_firstlineno
        if type(frame.f_locals.get("self")).__name__ == "RevisionStep":
            # The step for a revision file without `def downgrade()` (neutron's and
            # keystone's, whose projects dropped downgrades): AttributeError as alembic
            # builds it, looking the function up.
            path = getattr(frame.f_locals.get("revision"), "path", None)
            if isinstance(path, str) and (real := _real_path(path)) in revision_files:
                return revision_files[real], real, 1
        tb = tb.tb_next
    return None


def _sqlstate(exc: BaseException) -> str | None:
    """PostgreSQL's error code, whichever driver raised it (55P03: lock timeout)."""
    for candidate in (getattr(exc, "orig", None), exc, exc.__cause__):
        if candidate is None:
            continue
        for attribute in ("sqlstate", "pgcode"):
            code = getattr(candidate, attribute, None)
            if isinstance(code, str):
                return code
    server = _server_error(exc)
    return server["C"] if server else None


def _server_error(exc: BaseException) -> dict[str, str] | None:
    """The ErrorResponse fields of the server's error when the driver keeps only those:
    pg8000 raises DatabaseError({'S': 'ERROR', 'C': '42P01', 'M': 'relation ... does not
    exist', ...}), with no sqlstate attribute and that dict as its text (Letta's alembic
    runs on pg8000). None for any other error."""
    for candidate in (getattr(exc, "orig", None), exc, exc.__cause__):
        args = getattr(candidate, "args", None)
        if args and isinstance(args[0], dict):
            fields = args[0]
            if isinstance(fields.get("C"), str) and isinstance(fields.get("M"), str):
                return fields
    return None


# Settings some servers lack: set where the server has them (version) and takes them
# (`client_connection_check_interval` exists from PostgreSQL 14, on the platforms whose
# kernels tell a closed socket apart), skipped elsewhere instead of failing the connection.
_WHERE_AVAILABLE = {"client_connection_check_interval": 140000}


def _setting_statement(name: str, value: str) -> str:
    since = _WHERE_AVAILABLE.get(name)
    if since is None:
        return f"SET {name} = '{value}'"
    return (f"DO $dbsafe$ BEGIN IF current_setting('server_version_num')::int >= {since} "
            f"THEN PERFORM set_config('{name}', '{value}', false); END IF; "
            "EXCEPTION WHEN OTHERS THEN NULL; END $dbsafe$")


# The statements PostgreSQL runs CONCURRENTLY (`CREATE [UNIQUE] INDEX CONCURRENTLY`, `DROP
# INDEX CONCURRENTLY`, `REINDEX ... CONCURRENTLY`, `REFRESH MATERIALIZED VIEW CONCURRENTLY`),
# told by how the statement opens, after blanks and comments: nothing that opens otherwise
# is one. (This child imports no parser: it runs under the project's interpreter.)
_CONCURRENT = re.compile(
    r"(?:\s|--[^\n]*(?:\n|$)|/\*(?:(?!/\*).)*?\*/)*"
    r"(?:CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY|DROP\s+INDEX\s+CONCURRENTLY"
    r"|REFRESH\s+MATERIALIZED\s+VIEW\s+CONCURRENTLY"
    r"|REINDEX\s*\(\s*CONCURRENTLY(?:\s+(?:TRUE|ON|1))?\s*[,)]"
    r"|REINDEX\s+(?:\(\s*VERBOSE\s*\)\s*)?(?:INDEX|TABLE|SCHEMA|DATABASE|SYSTEM)\s+CONCURRENTLY)"
    r"(?![\w$])",
    re.IGNORECASE | re.DOTALL)


def runs_concurrently(statement: str) -> bool:
    """Whether `statement` is one PostgreSQL runs CONCURRENTLY: it takes no lock that stops
    others' reads and writes (SHARE UPDATE EXCLUSIVE on the table; EXCLUSIVE on a
    materialized view, which only its refresh writes), so its waits block no traffic.

    >>> [runs_concurrently(s) for s in ("CREATE UNIQUE INDEX CONCURRENTLY i ON t (a)",
    ...     "-- build\\n/* the index */ create index concurrently if not exists i on t (a)",
    ...     "REINDEX (CONCURRENTLY) TABLE t", "REINDEX INDEX CONCURRENTLY i",
    ...     "REFRESH MATERIALIZED VIEW CONCURRENTLY v", "DROP INDEX CONCURRENTLY i")]
    [True, True, True, True, True, True]
    >>> [runs_concurrently(s) for s in ("ALTER TABLE t ADD c int -- index it CONCURRENTLY",
    ...     "/* CREATE INDEX CONCURRENTLY */ ALTER TABLE t ADD c int", "CREATE INDEX i ON t (a)",
    ...     "REINDEX TABLE t", "CREATE INDEX concurrently_i ON t (a)",
    ...     "COMMENT ON INDEX i IS 'built CONCURRENTLY'", "REINDEX (CONCURRENTLY off) TABLE t")]
    [False, False, False, False, False, False, False]
    """
    return _CONCURRENT.match(statement) is not None


def concurrent_timeouts(session: dict[str, str]
                        ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The settings a statement run CONCURRENTLY (`runs_concurrently`) runs under, and those
    that set `session`'s timeouts back after it: (lifted, restored), (name, value) pairs.

    It runs without a statement timeout: it is slow by design and blocks no one while it
    works. Nor does it wait for locks only `lock_timeout` long: that bound keeps others'
    queries from queueing behind a lock request, and its requests hold none of them up (an
    index build waiting for a report's older snapshot, the usual wait, blocks no reads or
    writes of the table). It waits as long as the statement timeout would allow another
    statement (none where there is none).

    >>> lifted, restored = concurrent_timeouts({"lock_timeout": "5s", "statement_timeout": "1h"})
    >>> lifted, restored
    ([('statement_timeout', '0'), ('lock_timeout', '1h')], [('statement_timeout', '1h'), ('lock_timeout', '5s')])
    >>> concurrent_timeouts({"lock_timeout": "5s"})
    ([('lock_timeout', '0')], [('lock_timeout', '5s')])
    """
    timeout = session.get("statement_timeout")
    lock_timeout = session.get("lock_timeout")
    lifted = [*([("statement_timeout", "0")] if timeout else []),
              *([("lock_timeout", str(timeout or 0))] if lock_timeout else [])]
    restored = [*([("statement_timeout", str(timeout))] if timeout else []),
                *([("lock_timeout", str(lock_timeout))] if lock_timeout else [])]
    return lifted, restored


def _install_session_settings(engine_class: Any, session: dict[str, str]) -> None:
    """Every connection env.py opens gets dbsafe's session settings (lock_timeout,
    statement_timeout), set when the connection is made, so they hold on whatever engine the
    project builds, and again on each retry's fresh connection.

    A statement run CONCURRENTLY (`runs_concurrently`) runs under `concurrent_timeouts`: no
    statement timeout, and lock waits as long as the statement timeout; the timeouts are set
    back before the next statement, also when it failed.
    """
    from sqlalchemy import event

    statements = [_setting_statement(name, str(value)) for name, value in session.items()
                  if re.fullmatch(r"[a-z_]+", name) and "'" not in str(value)]
    lifted, restored = concurrent_timeouts(session)
    lift = [f"SET {name} = '{value}'" for name, value in lifted]
    restore = [f"SET {name} = '{value}'" for name, value in restored]

    def on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            for statement in statements:
                cursor.execute(statement)
        finally:
            cursor.close()
        # A SET inside the driver's implicit transaction must not be rolled back with it.
        commit = getattr(dbapi_connection, "commit", None)
        if commit is not None:
            commit()

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
               executemany: bool) -> None:
        concurrent = bool(lift) and runs_concurrently(statement)
        lifted = conn.info.get("dbsafe_timeouts_lifted", False)
        if concurrent != lifted:  # (lifted still: the concurrent statement before failed)
            for setting in lift if concurrent else restore:
                cursor.execute(setting)
            conn.info["dbsafe_timeouts_lifted"] = concurrent

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
              executemany: bool) -> None:
        if conn.info.pop("dbsafe_timeouts_lifted", False):
            for setting in restore:
                cursor.execute(setting)

    event.listen(engine_class, "connect", on_connect)
    event.listen(engine_class, "before_cursor_execute", before)
    event.listen(engine_class, "after_cursor_execute", after)


def _sqlalchemy_url(target: dict[str, Any], driver: str) -> str:
    from urllib.parse import quote

    user = quote(str(target["user"]), safe="")
    password = f":{quote(str(target['password']), safe='')}" if target.get("password") else ""
    host = str(target["host"])
    query = [("port", str(target["port"]))]
    if host.startswith("/"):
        query.insert(0, ("host", host))
        netloc = f"{user}{password}@"
    else:
        netloc = f"{user}{password}@{host}:{target['port']}"
        query = []
    if target.get("sslmode"):
        query.append(("sslmode", target["sslmode"]))
    url = f"postgresql+{driver}://{netloc}/{quote(str(target['dbname']), safe='')}"
    if query:
        url += "?" + "&".join(f"{k}={quote(v, safe='/')}" for k, v in query)
    return url


def _accept_encoded_socket(config: Any, sandbox: Sandbox) -> None:
    """`config.set_main_option("sqlalchemy.url", os.environ["DATABASE_URL"])` keeps working
    with the socket directory percent-encoded in that URL's host part (`%2Ftmp%2F...`, as
    the parent puts it there for typed settings): alembic's ConfigParser reads `%` as
    interpolation and refused the value ("invalid interpolation syntax"). A value it
    refuses gets the `%` of the target's encoded host doubled, nothing else; a value the
    project escaped itself is taken as it is."""
    from urllib.parse import quote

    real = config.set_section_option

    def set_section_option(section: str, name: str, value: str) -> None:
        try:
            real(section, name, value)
        except ValueError:
            t = sandbox.target
            encoded = quote(str(t["host"]), safe="") if t else ""
            if "%" not in encoded or not isinstance(value, str) or encoded not in value:
                raise
            real(section, name, value.replace(encoded, encoded.replace("%", "%%")))

    config.set_section_option = set_section_option


def _project_driver(raw_url: str | None) -> str | None:
    if not raw_url:
        return None
    match = re.match(r"(?:postgresql|postgres)\+(\w+)://", raw_url)
    return match.group(1) if match else None


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def run(request: dict[str, Any], channel: Any = None) -> dict[str, Any]:
    """Carry out one request. A session (`mode` "session") answers on `channel`, the
    result channel its caller opened, request after request."""
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    target = request.get("target")
    sandbox = Sandbox(target)
    sandbox.install(request.get("session"))
    global _AUTOCOMMIT
    _AUTOCOMMIT = bool(request.get("autocommit"))

    ini = request["alembic_ini"]
    config = Config(ini, ini_section=request.get("ini_section") or "alembic")
    # Ask env.py not to reconfigure logging (honoured by envs that check the attribute);
    # stock env.py calls fileConfig anyway, and its output stays in this child's log.
    config.attributes["configure_logger"] = False
    if (config.config_ini_section == "alembic"
            and config.get_main_option("script_location") is None
            and os.path.isfile(os.path.join(os.path.dirname(ini), "env.py"))):
        # Flask-Migrate's alembic.ini names none: `flask db` passes the folder itself
        config.set_main_option("script_location", os.path.dirname(ini))
    original_url = config.get_main_option("sqlalchemy.url")
    _accept_encoded_socket(config, sandbox)

    script = ScriptDirectory.from_config(config)
    global _SCRIPT_DIR
    _SCRIPT_DIR = script.dir  # a revision failing on import is named in it (main())
    result: dict[str, Any] = {}
    if _reads_flask_app(os.path.join(script.dir, "env.py")):
        _in_flask_app_context(script, request.get("flask_groups") or [])
        if sandbox.connects and request["mode"] == "session":
            # It reached the target as it loaded (Flask-AppBuilder's create_db() makes its
            # `ab_*` tables): what it made there is made once, in this database only.
            result["app_connected"] = True
    listing = _Listing(script)
    revision_files = listing.files  # filled once the revisions are imported
    # alembic imports the revisions inside the env.py run of each command (from the `fn`
    # it passes `run_migrations`), so a request's commands list them there, in their own
    # first run of env.py (`listing.hook`): env.py runs once per command, as under alembic,
    # and never once more to set up the listing. Only `describe` (the graph, as `alembic
    # history`, which runs no env.py) lists them first. A session answers with the graph
    # before its first command: a copy of this process lists them (`_graph_in_copy`). A
    # child started again (`_start_again`) has the other order in its request.
    again = "env_first" in request
    if again or request["mode"] == "describe":
        _list_revisions(config, script, original_url, listing,
                        bool(request["env_first"]) if again else False, again)
    elif request["mode"] == "session":
        graph = _graph_in_copy(config, script, original_url)
        if graph is None:  # env.py first failed in the copy: the old order, here
            listing.list()
        result.update(graph or _graph(script, listing.list()))
    _reuse_script(script)

    seen_contexts: list[dict[str, Any]] = []
    real_configure = MigrationContext.configure.__func__  # type: ignore[attr-defined]

    version_table = request.get("version_table")

    def configure(cls, *args, **kwargs):
        if version_table and not args:
            # Another alembic environment of the same alembic.ini, applied beside the main
            # one: its own version table, as `alembic_version` holds the main one's heads.
            kwargs["opts"] = {**(kwargs.get("opts") or {}), "version_table": version_table}
        context = real_configure(cls, *args, **kwargs)
        if (request["mode"] == "render" or _RENDERING) and context.dialect.name != "postgresql":
            # env.py passed a URL (or dialect) of its own, not sqlalchemy.url: what it
            # renders is that database's SQL, which lint would read as PostgreSQL's.
            raise SandboxViolation(
                f"env.py renders the revisions offline for {context.dialect.name} (its "
                "context.configure() names that database, not sqlalchemy.url); dbsafe "
                "lints PostgreSQL's SQL only: set the project's database setting to a "
                "PostgreSQL URL")
        listing.hook(context)
        context.on_version_apply_callbacks = (*context.on_version_apply_callbacks,
                                              _FINGERPRINTS.on_version_apply)
        if request["mode"] == "session":
            _DDL_MEMO.seed(context)
        seen_contexts.append({
            "version_table": getattr(context, "version_table", "alembic_version"),
            "version_table_schema": getattr(context, "version_table_schema", None),
        })
        return context

    MigrationContext.configure = classmethod(configure)  # type: ignore[method-assign, assignment]

    if request["mode"] in ("session", "apply"):
        _COMMITS.install(revision_files)
    if request["mode"] in ("session", "apply", "models") and request.get("trail"):
        _TRAIL.install(revision_files)
        _TRAIL.start(request["mode"] != "session")

    try:
        if request["mode"] == "render":
            result["chunks"] = _render(config, original_url, request, revision_files)
        elif request["mode"] == "describe":
            pass  # the revisions and heads above are the whole answer
        elif request["mode"] == "session":
            assert target is not None and channel is not None, "a session needs a target"
            _serve(config, sandbox, original_url, request, result, script, revision_files,
                   seen_contexts, channel)
        elif request["mode"] == "models":
            assert target is not None, "comparing models needs a target"
            _apply(config, target, original_url,
                   {"operations": [{"command": "upgrade", "revision": "heads"}],
                    "models": request["models"]}, result, script)
        elif request["mode"] == "capture":
            assert target is not None, "capture needs a target"
            _capture(config, target, original_url, request, result, script, revision_files)
        else:
            assert target is not None, "apply needs a target"
            _apply(config, target, original_url, request, result, script)
        result["contexts"] = seen_contexts
        result["ok"] = True
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        result["ok"] = False
        result["error"] = _failure(exc, revision_files, script.dir)
        result["error"]["committed"] = _COMMITS.committed
        result["contexts"] = seen_contexts
    if _TRAIL.records is not None and request["mode"] != "session":
        result["trail"] = _TRAIL.records
    if request["mode"] != "session":
        if listing.failed is not None and not again:
            raise _ListingFailed(True) from listing.failed
        _add_graph(result, listing, revision_files, script)
    return result


_RENDERING = False  # a session's request renders offline (`_render_in_session`)


def _render(config: Any, original_url: str | None, request: dict[str, Any],
            revision_files: dict[str, str]) -> list[list[Any]]:
    """`alembic upgrade|downgrade since:until --sql`, each chunk with the revision line that
    wrote it (`request`'s `since`, `until`, `downgrade`). `config` is left as it was."""
    from alembic import command

    # Offline rendering needs only the dialect: a placeholder URL from `alembic init`
    # (driver://user:pass@localhost/dbname) must not stop it. The project's driver
    # is kept: an env.py that builds an engine anyway (no offline branch) is then
    # refused for connecting, not failed on a driver it never installed (bare
    # `postgresql://` is psycopg2 before SQLAlchemy 2.1, psycopg 3 from it).
    driver = _project_driver(original_url)
    saved_buffer = config.output_buffer
    config.set_main_option("sqlalchemy.url",
                           f"postgresql+{driver}://" if driver else "postgresql://")
    buffer = _RecordingBuffer(revision_files)
    config.output_buffer = buffer
    try:
        since = request.get("since")
        if request.get("downgrade"):
            command.downgrade(config, f"{since}:{request.get('until') or 'base'}", sql=True)
        else:
            until = request.get("until") or "heads"
            command.upgrade(config, f"{since or 'base'}:{until}", sql=True)
    finally:
        config.output_buffer = saved_buffer
        if original_url is None:
            config.remove_main_option("sqlalchemy.url")
        else:
            config.set_main_option("sqlalchemy.url", original_url.replace("%", "%%"))
    return buffer.chunks


def _render_in_session(config: Any, sandbox: Sandbox, original_url: str | None,
                       request: dict[str, Any], revision_files: dict[str, str]
                       ) -> list[list[Any]]:
    """A session's `render` request (`ApplySession.render_downgrade`): rendered offline as
    the `render` mode renders, in the process that describes and applies, which has
    alembic, SQLAlchemy and the project's modules loaded already. The sandbox connects to
    no database while it renders (not even the session's): an env.py that opens a
    connection whatever the mode is refused, as in a child of its own."""
    global _RENDERING
    target, sandbox.target = sandbox.target, None
    _RENDERING = True
    try:
        return _render(config, original_url, request, revision_files)
    finally:
        _RENDERING = False
        sandbox.target = target


def _add_graph(result: dict[str, Any], listing: _Listing, revision_files: dict[str, str],
               script: Any) -> None:
    """The revisions and heads into the request's `result`, once its commands ran. A
    request that failed before env.py imported them leaves them unlisted."""
    if listing.revisions is None and not result["ok"]:
        result.update(revisions=[], heads=[])
        return
    try:
        result.update(_graph(script, listing.list()))
    except Exception as exc:  # noqa: BLE001 - the request fails, and says which revision
        result.update(ok=False, error=_failure(exc, revision_files, script.dir))
        result.update(revisions=[], heads=[])


def _graph(script: Any, revisions: list[Any]) -> dict[str, Any]:
    """The history as the parent reads it (`runner._result`): revisions, newest first,
    and heads."""
    return {
        "revisions": [
            {"revision": r.revision, "path": os.path.realpath(r.path) if r.path else None,
             "down_revision": r.down_revision if isinstance(r.down_revision, (str, type(None)))
             else list(r.down_revision), "doc": r.doc,
             "dependencies": _dependencies(script, r), "branch_labels": sorted(r.branch_labels)}
            for r in revisions
        ],
        "heads": list(script.get_heads()),
    }


class _Listing:
    """The history's revisions, imported once in this process, and `files` (real path:
    revision) filled in place, so what looks a frame up in it (`_revision_frame`) sees them
    as soon as they are imported: before that, no frame can be in a revision file."""

    def __init__(self, script: Any) -> None:
        self.script = script
        self.revisions: list[Any] | None = None
        self.files: dict[str, str] = {}
        self.failed: BaseException | None = None  # the import that failed, raised again

    def list(self) -> list[Any]:
        if self.revisions is None:
            try:
                revisions = list(self.script.walk_revisions())
            except Exception as exc:
                self.failed = exc
                raise
            self.files.update({os.path.realpath(r.path): r.revision for r in revisions
                               if r.path})
            self.revisions = revisions
        return self.revisions

    def hook(self, context: Any) -> None:
        """Import the revisions where alembic does, in `context`'s `run_migrations`: its
        `fn` (the command's) reads them first. A context with nothing to run is left."""
        fn = getattr(context, "_migrations_fn", None)
        if self.revisions is not None or fn is None:
            return

        def listed_first(heads: Any, migration_context: Any) -> Any:
            self.list()
            return fn(heads, migration_context)

        context._migrations_fn = listed_first


class _ListingFailed(Exception):
    """Importing the revisions failed in one order (see `_list_revisions`)."""

    def __init__(self, env_first: bool) -> None:
        super().__init__()
        self.env_first = env_first


class FlaskAppNotLoaded(RuntimeError):
    """env.py needs a Flask application's context, and the application could not be loaded."""


def _reads_flask_app(env_py: str) -> bool:
    """Whether `env_py` imports Flask's `current_app` or `flask_migrate`, as Flask-Migrate's
    does (dbsafe.config.reads_flask_app asks the same in dbsafe's own process)."""
    import ast

    try:
        with open(env_py, "rb") as file:
            tree = ast.parse(file.read())
    except (OSError, SyntaxError, ValueError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.partition(".")[0] == "flask_migrate" or (
                    node.module == "flask"
                    and any(alias.name == "current_app" for alias in node.names)):
                return True
        elif isinstance(node, ast.Import) and any(
                alias.name.partition(".")[0] == "flask_migrate" for alias in node.names):
            return True
    return False


_FLASK_CONTEXT: Any = None  # the application context pushed for the process, kept


def _in_flask_app_context(script: Any, groups: list[dict[str, str]]) -> None:
    """Load the project's Flask application as the `flask` command does, and run env.py in
    its context: Flask-Migrate's env.py reads `current_app.extensions['migrate']` at import,
    and fails outside one. Each run of env.py (each alembic command, as each `flask db`
    command runs in `with_appcontext`) gets a context of its own, popped after it (its
    teardown gives Flask-SQLAlchemy's session back); one more stays pushed for the process
    (what the revisions import outside env.py's run).

    The project's own Flask finds the application (`flask.cli.ScriptInfo.load_app`):
    `FLASK_APP` from the environment, or from `.flaskenv`/`.env` when python-dotenv is
    installed (`flask.cli.load_dotenv`, unless `FLASK_SKIP_DOTENV`); else `wsgi.py` or
    `app.py` in the working directory (the folder holding the migrations folder), their
    `app` or `create_app()`/`make_app()` factory. Where neither is there, the `create_app`
    of the project's own `FlaskGroup` CLI, when dbsafe found one alone (`groups`,
    `dbsafe.migrate.flask_cli`): redash's `./manage.py`, lemur's `lemur` command load the
    application so (`ScriptInfo(create_app=...)`). The sandbox is installed already: the
    engines the application creates (Flask-SQLAlchemy's, from `SQLALCHEMY_DATABASE_URI`)
    connect to dbsafe's target, never to the URL the application names.

    Raises:
        FlaskAppNotLoaded: the application could not be loaded; one line saying what was
            tried and how to name it.
    """
    global _FLASK_CONTEXT
    if _FLASK_CONTEXT is not None:
        return
    how = ("; name the application as the flask command reads it: "
           "FLASK_APP=module:app or FLASK_APP='module:create_app()' in the environment "
           "(or in .flaskenv, with python-dotenv installed)")
    try:
        from flask.cli import ScriptInfo, load_dotenv
        from flask.helpers import get_load_dotenv
    except ImportError as exc:
        raise FlaskAppNotLoaded(
            f"env.py reads Flask's current_app (Flask-Migrate's), but {sys.executable} "
            f"cannot import flask ({exc}); point --python, or `python` in [tool.dbsafe], at "
            "your project's interpreter") from None
    if get_load_dotenv():
        load_dotenv()  # the flask command loads them before it looks for the application
    named = os.environ.get("FLASK_APP") or None
    tried = (f"FLASK_APP={named}" if named
             else f"wsgi.py and app.py in {os.getcwd()} (FLASK_APP is not set)")
    group, several = None, ""
    if not named and not any(os.path.isfile(name) for name in ("wsgi.py", "app.py")):
        if len(groups) == 1:
            group = groups[0]
            tried = (f"the create_app of the FlaskGroup CLI in {group['file']} "
                     f"({group['module']}:{group['name']}; FLASK_APP is not set)")
        elif groups:  # which one the project runs `db upgrade` with is not dbsafe's guess
            several = (f", and {len(groups)} FlaskGroup CLIs load different applications: "
                       + ", ".join(f"{g['file']} ({g['module']}:{g['name']})" for g in groups))
    skipped: list[str] = []
    try:
        with _no_migrations_while_loading(skipped):
            if group is not None:
                info = ScriptInfo(create_app=_group_factory(group), set_debug_flag=False)
            else:
                info = ScriptInfo(app_import_path=named, set_debug_flag=False)
            app = info.load_app()
    except Exception as exc:  # noqa: BLE001 - whatever the application raised: said in one line
        name = type(exc).__name__
        detail = _one_line(str(exc)) or name
        if name != "NoAppException":
            # found, and its own code raised: a setting or service it needs as it starts
            detail = f"it was found but failed as it loads: {name}: {detail.rstrip('.')}"
            how = ("; give it the settings `flask db upgrade` needs (any PostgreSQL URL "
                   "will do: dbsafe connects only to its own database), or name an application that loads "
                   "without them (its db and Flask-Migrate on a bare Flask app) with "
                   "FLASK_APP=module:app or FLASK_APP='module:create_app()'")
        elif detail.startswith("Could not locate a Flask application."):
            detail = "no Flask application there" + several  # the rest names `flask --app`
        if skipped:
            # CTFd's create_app() upgrades its database, then reads it
            detail = (f"it ran {', '.join(skipped)} as it loads, which dbsafe skips (it runs "
                      f"the revisions itself), then failed: {detail}")
            how = ("; name an application that loads without its migrations applied (its "
                   "db and Flask-Migrate on a bare Flask app) with FLASK_APP=module:app or "
                   "FLASK_APP='module:create_app()'")
        raise FlaskAppNotLoaded(
            "cannot load the Flask application env.py needs (it reads current_app, as "
            f"Flask-Migrate's does): tried {tried}: {detail}{how}") from None
    _FLASK_CONTEXT = app.app_context()
    _FLASK_CONTEXT.push()
    run_env = script.run_env

    def run_env_in_context() -> None:
        with app.app_context():
            run_env()

    script.run_env = run_env_in_context


def _group_factory(group: dict[str, str]) -> Any:
    """The `create_app` a FlaskGroup CLI holds, imported from the CLI's module as the CLI
    itself runs: its folder's top package importable as `flask.cli.prepare_import` makes
    it (lemur's `lemur/manage.py`, run from `lemur/`, is `lemur.manage`, the folder above
    on the path)."""
    import importlib

    path = group["path"]
    if os.path.abspath(sys.path[0] or ".") != os.path.abspath(path):
        sys.path.insert(0, path)
    return getattr(importlib.import_module(group["module"]), group["name"])


@contextlib.contextmanager
def _no_migrations_while_loading(skipped: list[str]) -> Iterator[None]:
    """alembic's commands that write (`upgrade`, `downgrade`, `stamp`) do nothing while the
    application loads, and say so on the output (and in `skipped`): an application that
    migrates its own database as it starts (CTFd's `create_app()` calls `flask_migrate.upgrade()`) would
    otherwise run every revision on dbsafe's target outside dbsafe's run, before the
    command dbsafe was asked for (an upgrade to one revision went to heads, a lint's
    capture found nothing pending)."""
    from alembic import command

    names = ("upgrade", "downgrade", "stamp")
    real = {name: getattr(command, name) for name in names}

    def skipping(name: str) -> Any:
        def skip(config: Any, revision: Any = None, *args: Any, **kwargs: Any) -> None:
            skipped.append(f"`alembic {name} {revision}`")
            print(f"dbsafe: the Flask application ran `alembic {name} {revision}` while "
                  "loading; skipped: dbsafe runs the revisions itself", file=sys.stderr)
        return skip

    for name in names:
        setattr(command, name, skipping(name))
    try:
        yield
    finally:
        for name, function in real.items():
            setattr(command, name, function)


def _list_revisions(config: Any, script: Any, original_url: str | None, listing: _Listing,
                    env_first: bool, again: bool) -> None:
    """List the history's revisions before any command runs (`listing`).

    alembic imports them only once env.py has run (inside `run_migrations`), so a revision
    may import or read what env.py sets up first: Apache Superset's import its models,
    which need the Flask application env.py creates; a revision reading at import a
    setting env.py makes (`SCHEMA = tenancy.SCHEMA`) gets the default when imported before
    it, and its table went to another schema than under `alembic upgrade`. With
    `env_first` env.py runs first, as alembic runs it, offline with nothing to migrate.
    Without it (`describe`, the graph alone; or a request whose revisions failed to
    import in its first command's env.py run) they are listed first. When the import
    fails, the child starts again (`main`: a half-imported application cannot be
    imported twice) in the other order, once (`again`): what imports only before env.py's
    run still runs as it did before this order."""
    if env_first:
        _run_env_offline(config, script, original_url)
    try:
        listing.list()
    except Exception as exc:
        if again:
            raise
        raise _ListingFailed(env_first) from exc


def _graph_in_copy(config: Any, script: Any, original_url: str | None
                   ) -> dict[str, Any] | None:
    """A session's graph (`_graph`) before its first command, with env.py run first as
    alembic runs it, in a copy of this process (fork): the session's own process then runs
    env.py once per command, as alembic does, and imports the revisions inside the first
    (an env.py that cannot run twice in one process, oslo.config's `register_cli_opt`
    after parsing, fails otherwise). None when that order failed in the copy."""
    if not hasattr(os, "fork"):  # no copy: env.py's offline run, here
        listing = _Listing(script)
        _run_env_offline(config, script, original_url)
        with contextlib.suppress(Exception):
            return _graph(script, listing.list())
        return None
    read, write = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the copy: its answer on the pipe, then gone without any teardown
        os.close(read)
        payload = b""
        try:
            _run_env_offline(config, script, original_url)
            payload = json.dumps(_graph(script, list(script.walk_revisions()))).encode()
        except BaseException:  # noqa: BLE001 - the session lists them again, and says why
            pass
        finally:
            with contextlib.suppress(BaseException):
                sys.stdout.flush()
                sys.stderr.flush()
                with os.fdopen(write, "wb") as out:
                    out.write(payload)
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as answer:
        data = answer.read()
    os.waitpid(pid, 0)
    return json.loads(data) if data else None


def _run_env_offline(config: Any, script: Any, original_url: str | None) -> None:
    import io

    from alembic.runtime.environment import EnvironmentContext

    driver = _project_driver(original_url)
    config.set_main_option("sqlalchemy.url", f"postgresql+{driver}://" if driver
                           else "postgresql://")
    try:
        with EnvironmentContext(config, script, fn=lambda rev, context: [], as_sql=True,
                                output_buffer=io.StringIO()):
            script.run_env()
    except (Exception, SystemExit):  # noqa: BLE001 - the request's own run of env.py says why
        pass
    finally:
        if original_url is None:
            config.remove_main_option("sqlalchemy.url")
        else:
            config.set_main_option("sqlalchemy.url", original_url.replace("%", "%%"))
        _forget_proxies()


def _forget_proxies() -> None:
    """`op` and `context` as in a process where no alembic run began: ended, a run leaves
    their `_proxy` None, so a revision calling `op.get_bind()` at its top level fails with
    AttributeError, not the NameError it catches for alembic's `revision` command
    (FitTrackee's 66_c59425f77851)."""
    with contextlib.suppress(Exception):  # another alembic's layout: left as it is
        from alembic.util.langhelpers import ModuleClsProxy

        for _, modules in ModuleClsProxy._setups.values():
            for module_globals, _ in modules:
                if "_proxy" in module_globals and module_globals["_proxy"] is None:
                    del module_globals["_proxy"]


def _apply(config: Any, target: dict[str, Any], original_url: str | None,
           request: dict[str, Any], result: dict[str, Any], script: Any) -> None:
    import sqlalchemy as sa

    project_driver = _project_driver(original_url)
    # The URL env.py may read: the target, with the project's own driver when it has one.
    driver = project_driver if project_driver and _importable(
        {"psycopg_async": "psycopg"}.get(project_driver, project_driver)) else None
    sync_driver = driver if driver in ("psycopg2", "psycopg", "pg8000") else None
    if sync_driver is None:
        sync_driver = next((d for d in ("psycopg", "psycopg2", "pg8000") if _importable(d)),
                           None)
    if driver is None and sync_driver is None and _importable("asyncpg"):
        driver = "asyncpg"
    url_driver = driver or sync_driver
    if url_driver is None:
        raise RuntimeError("no PostgreSQL driver (psycopg, psycopg2, asyncpg or pg8000) is "
                           "importable in this Python")
    config.set_main_option("sqlalchemy.url",
                           _sqlalchemy_url(target, url_driver).replace("%", "%%"))
    if sync_driver is None:
        # Only asyncpg (Prefect's servers): nothing to hand env.py a synchronous connection
        # with, so it opens its own engine, which the sandbox points at the target.
        if request.get("models"):
            raise RuntimeError("comparing models needs a synchronous PostgreSQL driver "
                               "(psycopg, psycopg2 or pg8000) in this Python; only asyncpg "
                               "is importable")
        _operations(config, request, result, script)
        return

    # `keep_connection`: one pooled connection per database for the session's requests
    # (verify-reversible sends hundreds): no new server process, SQLAlchemy dialect set-up
    # and cold catalog caches per request. Otherwise each request has its own connection.
    keep = bool(request.get("keep_connection"))
    engine_url = _sqlalchemy_url(target, sync_driver)
    engine: sa.engine.Engine | None = _ENGINES.get(engine_url) if keep else None
    if engine is None:
        engine = sa.create_engine(engine_url, **({} if keep else {"poolclass": sa.pool.NullPool}))
        if keep:
            _ENGINES[engine_url] = engine
    try:
        # A plain connection, not engine.begin(): alembic then manages its own transactions,
        # so autocommit_block() (CREATE INDEX CONCURRENTLY) works.
        with engine.connect() as connection:
            if not hasattr(connection, "connect"):
                # Some env.py files (JupyterHub's) call `.connect()` on what they find in
                # config.attributes["connection"], as SQLAlchemy 1.x connections allowed
                # (a branch of the same connection); SQLAlchemy 2 removed it.
                import contextlib

                connection.connect = lambda: contextlib.nullcontext(connection)  # type: ignore[attr-defined]
            if _AUTOCOMMIT:
                # As the application hands it in (dagster's storages): each statement
                # commits as it runs, so CREATE INDEX CONCURRENTLY needs no
                # autocommit_block(). SQLAlchemy 1.x returns a branch of the connection.
                connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            config.attributes["connection"] = connection
            _operations(config, request, result, script)
            # SQLAlchemy 1.3 has no get_transaction(); its connections autocommit what
            # runs outside alembic's transaction, so there is nothing left to commit.
            get_transaction = getattr(connection, "get_transaction", None)
            transaction = get_transaction() if get_transaction is not None else None
            if transaction is not None:
                transaction.commit()
            if request.get("models"):
                result["model_differences"] = _compare_models(config, script,
                                                              request["models"])
    finally:
        if not keep:
            engine.dispose()


def _operations(config: Any, request: dict[str, Any], result: dict[str, Any],
                script: Any) -> None:
    from alembic import command

    for index, operation in enumerate(request["operations"]):
        _TRAIL.operation = index
        name, revision = operation["command"], operation["revision"]
        result.setdefault("expected", [])
        if name == "upgrade":
            command.upgrade(config, revision)
        elif name == "downgrade":
            command.downgrade(config, revision)
        elif name == "stamp":
            command.stamp(config, revision)
        else:
            raise ValueError(f"unknown operation {name!r}")
        result["expected"] = _expected(script, name, revision)
        # On a failure, says which operation of the request failed.
        result["completed"] = result.get("completed", 0) + 1


_AUTOCOMMIT = False  # the request's `autocommit`: env.py gets an autocommit connection
_ENGINES: dict[str, Any] = {}  # kept engines of a session, by URL (`keep_connection`)


def _release(databases: Any) -> None:
    """Close the connections this process keeps to `databases` (names): the session's kept
    engines (`_ENGINES`), and those the project's own engines left idle in their pools (the
    Flask application's, which it connected as it loaded and Flask-Migrate's env.py
    migrates through). One checked out stays: its holder is using it. The next request
    there opens new ones."""
    for url, engine in list(_ENGINES.items()):
        if engine.url.database in databases:
            del _ENGINES[url]
            engine.dispose()
    for record in list(_POOLED):
        target = record.info.get(_POOLED_TARGET)
        if target is not None and target[2] in databases \
                and getattr(record, "fairy_ref", None) is None:
            with contextlib.suppress(Exception):  # closed already, or another pool's layout
                record.invalidate()


def _released(line: str, channel: Any) -> bool:
    """Whether `line` is a request to release databases (`ApplySession.release`): their
    connections are closed (`_release`) and it is answered, no command run."""
    with contextlib.suppress(ValueError):
        request = json.loads(line)
        if isinstance(request, dict) and "release" in request:
            _release([*(request.get("forget") or ()), *request["release"]])
            channel.write(json.dumps({"ok": True}) + "\n")
            channel.flush()
            return True
    return False


def _compare_models(config: Any, script: Any, spec: str) -> list[list[str]]:
    """alembic's `compare_metadata` between the models `spec` (`module:attribute`) names and
    the database (the migrations at head), run through env.py as `alembic check` does, so
    its `include_object`, `include_schemas`, `compare_type`... apply. Each difference is
    `[operation, object, description]`."""
    import importlib

    from alembic.autogenerate import compare_metadata
    from alembic.runtime.environment import EnvironmentContext

    module_name, _, attribute = spec.partition(":")
    found: Any = importlib.import_module(module_name)
    for part in attribute.split(".") if attribute else ("metadata",):
        found = getattr(found, part)
    metadata = getattr(found, "metadata", found)  # a declarative base, or its MetaData
    if not hasattr(metadata, "sorted_tables"):
        raise TypeError(f"{spec} is a {type(metadata).__name__}, not a SQLAlchemy MetaData "
                        "(name it as module:Base.metadata)")
    differences: list[Any] = []

    def compare(rev: Any, context: Any) -> list[Any]:
        differences.extend(compare_metadata(context, metadata))
        return []

    with EnvironmentContext(config, script, fn=compare, as_sql=False, starting_rev=None,
                            destination_rev="heads"):
        script.run_env()
    out = []
    for difference in differences:
        # modify_* differences come as a list of tuples, one per changed attribute
        for item in difference if isinstance(difference, list) else [difference]:
            out.append(_describe_difference(item))
    return out


def _describe_difference(item: tuple[Any, ...]) -> list[str]:
    operation = str(item[0])

    def name(obj: Any) -> str:
        table = getattr(obj, "table", None)
        if getattr(obj, "fullname", None):  # a Table
            return str(obj.fullname)
        own = getattr(obj, "name", None)
        if table is not None and getattr(table, "fullname", None):
            return f"{table.fullname}.{own}" if own else str(table.fullname)
        return str(own) if own else repr(obj)

    if operation.startswith("modify_"):  # (op, schema, table, column, existing, old, new)
        _, schema, table, column, _existing, old, new = item[:7]
        where = ".".join(str(p) for p in (schema, table, column) if p)
        if operation == "modify_nullable":
            return [operation, where, f"{'nullable' if old else 'NOT NULL'} in the migrations, "
                                      f"{'nullable' if new else 'NOT NULL'} in the models"]
        what = operation.removeprefix("modify_").replace("_", " ")
        return [operation, where, f"{what} {_text(old)} in the migrations, "
                                  f"{_text(new)} in the models"]
    if operation in ("add_column", "remove_column"):  # (op, schema, table, Column)
        _, schema, table, column = item[:4]
        where = ".".join(str(p) for p in (schema, table, column.name) if p)
        return [operation, where, f"column of type {_text(column.type)}"]
    if operation.endswith("_table_comment"):
        return [operation, name(item[1]), ""]
    return [operation, name(item[1]) if len(item) > 1 else "", ""]


def _text(value: Any) -> str:
    if value is None:
        return "none"
    text = getattr(value, "arg", None)  # a server default
    if text is not None:
        value = getattr(text, "text", text)
    return " ".join(str(value).split())


def _serve(config: Any, sandbox: Sandbox, original_url: str | None,
           request: dict[str, Any], result: dict[str, Any], script: Any,
           revision_files: dict[str, str], seen_contexts: list[dict[str, Any]],
           channel: Any) -> None:
    """Apply request after request (one JSON line each on stdin) in this one process, so a
    guarded upgrade pays for starting Python, alembic and SQLAlchemy once, not per revision.
    Each answer is one JSON line on the result `channel` (fd `result_fd`), never on stdout.

    A request may name another database of the same server (`database`, with the libpq
    variables that name it in `environ`): for that request the sandbox's target is that
    database (`verify-reversible`'s twin), then the session's own again."""
    target = sandbox.target
    assert target is not None
    trail_wanted = bool(request.get("trail"))  # each answer says where its statements ran

    # every command of the session uses `script` (`_reuse_script`, installed by `run`)
    channel.write(json.dumps({**result, "ok": True, "ready": True}) + "\n")
    channel.flush()
    for line in _REQUESTS:
        if not line.strip() or _released(line, channel):
            continue
        step: dict[str, Any] = {}
        seen_contexts.clear()
        environ: dict[str, str] = {}
        saved: dict[str, str | None] = {}
        try:
            request = json.loads(line)
            _release(request.get("forget") or ())
            here = target
            if request.get("database"):
                here = {**target, "dbname": str(request["database"])}
                environ = {str(k): str(v) for k, v in (request.get("environ") or {}).items()}
            saved = {k: os.environ.get(k) for k in environ}
            os.environ.update(environ)
            sandbox.target = here
            _FINGERPRINTS.start(request.get("fingerprint"),
                                step.setdefault("fingerprints", []), step.setdefault("idle", []))
            _COMMITS.start()
            _DDL_MEMO.start(bool(request.get("continues")))
            if request.get("render") is not None:
                # (the memo of named types is an online run's: none is kept from this)
                step["chunks"] = _render_in_session(config, sandbox, original_url,
                                                    request["render"], revision_files)
            else:
                trail = _TRAIL.start(trail_wanted)
                if trail is not None:
                    step["trail"] = trail
                _apply(config, here, original_url, request, step, script)
                _DDL_MEMO.keep()
            step["ok"] = True
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            step["ok"] = False
            step["error"] = _failure(exc, revision_files, script.dir)
            step["error"]["committed"] = _COMMITS.committed
        finally:
            _FINGERPRINTS.start(None, [])
            sandbox.target = target
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        step["contexts"] = list(seen_contexts)
        channel.write(json.dumps(step) + "\n")
        channel.flush()


def _reuse_script(script: Any) -> None:
    """Make every alembic command of this process use `script`, the ScriptDirectory built
    (and the revision files imported) when it started, as one `alembic` run imports them
    once. alembic builds one (importing every revision file again) for each command; a
    revision whose import is not repeatable then fails where alembic runs it (packit's
    d90948124e46 mocks `sqlalchemy.testing.config.requirements` with flexmock on import:
    imported twice, `requirements` is a method and its models' `Column(ForeignKey(...))`
    fails, "'function' object has no attribute 'foreign_key_ddl'"). Within one process the
    files do not change; a history of hundreds of revisions is imported once, not per
    command; only the revisions an earlier command ran are imported again
    (`_FreshModules`)."""
    from alembic.script import ScriptDirectory

    fresh = _FreshModules(script)
    fresh.install()

    def from_config(cls: Any, cfg: Any) -> Any:
        fresh.refresh()
        return script

    ScriptDirectory.from_config = classmethod(from_config)  # type: ignore[method-assign, assignment]


class _FreshModules:
    """Each alembic command of a session sees its revision modules as a fresh `alembic` run
    would: loaded anew. alembic loads a revision file into a module of its own, outside
    `sys.modules` (`alembic.util.load_python_file`), once per ScriptDirectory, so one
    `alembic` command never meets the module state an earlier command left; a session keeps
    one ScriptDirectory for all its commands. What a revision's upgrade() or downgrade()
    leaves in its module (apache-airflow's 0102 adds `Table("xcom", metadata)` to its
    module's `MetaData` in both) would make the next command running it fail with "Table
    'xcom' is already defined for this MetaData instance". So a revision whose step an
    alembic command created is loaded again before the next command: the others were
    never run and are as alembic loaded them. Modules a revision imports (outside the
    revision files) stay as they are, as they would within one `alembic` command."""

    def __init__(self, script: Any) -> None:
        self.script = script
        self.ran: dict[str, Any] = {}  # path -> the Script whose step a command created

    def install(self) -> None:
        from alembic.runtime import migration

        step_class = getattr(migration, "RevisionStep", None)
        if step_class is None:
            return
        real_init = step_class.__init__
        ran = self.ran

        def init(step: Any, *args: Any, **kwargs: Any) -> None:
            real_init(step, *args, **kwargs)
            revision = getattr(step, "revision", None)
            path = getattr(revision, "path", None)
            if path:
                ran[path] = revision

        step_class.__init__ = init

    def refresh(self) -> None:
        from alembic import util

        ran = list(self.ran.items())
        self.ran.clear()  # the dict `install` fills
        for path, revision in ran:
            try:
                module = util.load_python_file(os.path.dirname(path), os.path.basename(path))
            except Exception as exc:  # noqa: BLE001 - it loaded once: that module stays
                print(f"dbsafe: {path} did not load again ({type(exc).__name__}: {exc}); "
                      "its module from an earlier command stays", file=sys.stderr)
                continue
            revision.module = module


def _capture(config: Any, target: dict[str, Any], original_url: str | None,
             request: dict[str, Any], result: dict[str, Any], script: Any,
             revision_files: dict[str, str]) -> None:
    """Upgrade to heads, recording each statement; a failing revision ends the run but
    is reported next to what was captured before it (`capture_error`)."""
    capture = _Capture(revision_files, observe=bool(request.get("observe", True)))
    capture.install()
    operations = request.get("operations") or [{"command": "upgrade", "revision": "heads"}]
    try:
        _apply(config, target, original_url, {"operations": operations}, result, script)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        result["capture_error"] = _failure(exc, revision_files, script.dir)
    result["captured"] = capture.statements
    result["skipped_types"] = capture.skipped_types


def _dependencies(script: Any, revision: Any) -> list[str]:
    """The revisions `revision`'s `depends_on` names (a revision, a partial one or a branch
    label), as alembic resolves them: an upgrade to `revision` applies them first."""
    names = getattr(revision, "dependencies", None) or ()
    names = (names,) if isinstance(names, str) else names
    return [found.revision for found in script.revision_map.get_revisions(tuple(names))
            if found is not None]


def _expected(script: Any, name: str, revision: str) -> list[str] | None:
    """The revisions alembic_version must hold afterwards, when that is knowable."""
    if revision in ("heads", "head") and name == "upgrade":
        return sorted(script.get_heads())
    if revision == "base":
        return []
    if revision.startswith(("+", "-")) or ":" in revision or "@" in revision:
        return None  # relative steps: the caller reads the result from the database
    found = script.get_revision(revision)
    return [found.revision] if found is not None else None


def _imported() -> dict[str, Any]:
    """What this run imported from outside the standard library, for dbsafe to key its
    cache by (`dbsafe.migrate.fingerprint.imported_dependencies`): `files`, the source file
    of each module no installed distribution holds (the project's own: `myapp/models.py`,
    imported by env.py or a revision) and of each file under the project's folder the run
    read by itself (`_files_read`), and `distributions`, [name, version, metadata file]
    of each distribution a module came from (sqlalchemy, sqlalchemy-utils, ...)."""
    import sysconfig

    paths = sysconfig.get_paths()
    stdlib = tuple(os.path.join(os.path.realpath(p), "")
                   for p in {paths.get("stdlib"), paths.get("platstdlib")} if p)
    wanted = set()
    folders: dict[str, str] = {}  # a folder's real path (resolving each file's costs)
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if name == "__main__" or not isinstance(file, str) or not os.path.isfile(file):
            continue
        folder, base = os.path.split(os.path.abspath(file))
        if folder not in folders:
            folders[folder] = os.path.realpath(folder)
        real = os.path.join(folders[folder], base)
        if os.path.islink(real):
            real = os.path.realpath(real)
        parts = real.split(os.sep)
        if real.startswith(stdlib) and "site-packages" not in parts \
                and "dist-packages" not in parts:
            continue
        wanted.add(real)
    read = _files_read(stdlib)
    distributions: dict[str, list[str]] = {}
    try:
        import importlib.metadata as metadata_of
    except ImportError:  # no importlib.metadata: every file is checked by itself
        metadata_of = None  # type: ignore[assignment]
    if metadata_of is None or not wanted:
        return {"files": sorted(wanted | read), "distributions": []}
    # Only the distributions installed where an imported file lies are read, each by its
    # RECORD's text (parsing every distribution's `files` costs seconds in a big venv).
    # (RECORD names files relative to the site folder, with slashes)
    under: dict[str, set[str]] = {}
    for p in sys.path:
        site = os.path.join(os.path.realpath(p or "."), "")
        if site not in under:
            under[site] = {f[len(site):].replace(os.sep, "/") for f in wanted
                           if f.startswith(site)}
    for dist in metadata_of.distributions():
        where = getattr(dist, "_path", None)  # its .dist-info / .egg-info
        if where is None:
            continue
        where = os.path.realpath(str(where))
        site = os.path.join(os.path.dirname(where), "")
        if not under.get(site):
            continue
        record = dist.read_text("RECORD") or ""
        held_here = {line.partition(",")[0] for line in record.splitlines()} & under[site]
        if not held_here:
            continue
        under[site] -= held_here
        held = {site + r.replace("/", os.sep) for r in held_here}
        metadata = where
        for candidate in ("METADATA", "PKG-INFO"):
            if os.path.isfile(os.path.join(where, candidate)):
                metadata = os.path.join(where, candidate)
                break
        wanted -= held
        headers = dist.metadata
        distributions[metadata] = [headers["Name"] or os.path.basename(where),
                                   headers["Version"] or "", metadata]
    return {"files": sorted(wanted | read), "distributions": sorted(distributions.values())}


_READ: set[str] = set()  # files opened for reading while the run lasts (`_record_reads`)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


def _record_reads(event: str, args: tuple[Any, ...]) -> None:
    """An audit hook: each file the run opens for reading (`open("views.sql")` in a
    revision, a `Path.read_text()`), so a cache built from the run is checked against
    them too. Writes are not reads; descriptors (`open(3)`) name no file."""
    if event != "open":
        return
    path, mode, flags = args
    if not isinstance(path, (str, bytes)):
        return
    if mode is not None:
        if any(c in mode for c in "wax+"):
            return
    elif flags & _WRITE_FLAGS:  # os.open: the flags say
        return
    _READ.add(os.fsdecode(path))


def _files_read(stdlib: tuple[str, ...]) -> set[str]:
    """The files under the project's folder (the working directory) that the run read
    by itself, by real path: not modules (their imports are recorded apart) nor their
    byte code, nor what lies in an installed distribution or the standard library."""
    project = os.path.join(os.path.realpath(os.getcwd()), "")
    found = set()
    for name in list(_READ):
        real = os.path.realpath(os.path.abspath(name))
        if not real.startswith(project) or real.startswith(stdlib) \
                or real.endswith((".pyc", ".pyo")) or not os.path.isfile(real):
            continue
        parts = real.split(os.sep)
        if "site-packages" in parts or "dist-packages" in parts or "__pycache__" in parts:
            continue
        found.add(real)
    return found


def _requests() -> Any:
    """dbsafe's requests, on a descriptor of their own; standard input becomes /dev/null.

    The project's code must not read them: a revision asking on stdin (FlexMeasures'
    downgrades `click.confirm(...)`, an `input()`) gets end of file, as under a CI runner,
    where it read the session's pipe, waiting forever for a line (or taking the next
    request as its answer)."""
    requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    return requests


_REQUESTS: Any = ()  # set by main()


_SCRIPT_DIR: str | None = None  # the migrations folder, once alembic has found it


_REQUEST_AGAIN = "DBSAFE_CHILD_REQUEST"
_WARM = "DBSAFE_CHILD_WARM"  # runner.warm_child: its environment comes with the request


def _start_again(request: dict[str, Any], result_path: str, env_first: bool) -> None:
    """Replace this process with a fresh child that lists the revisions in the other order
    (`_list_revisions`: env.py first or not, `env_first`), with the same request, requests
    pipe and output. The
    request goes through a file only its owner reads, which the next main() deletes: an
    environment variable holds at most 128 KiB, and `ps e` shows it."""
    import tempfile

    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(_REQUESTS.fileno(), 0)  # the requests that follow, read by the next main()
    handle, path = tempfile.mkstemp(prefix="dbsafe-request-", suffix=".json")
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        json.dump({**request, "env_first": env_first}, file)
    os.environ[_REQUEST_AGAIN] = path
    os.execv(sys.executable, [sys.executable, os.path.abspath(__file__), result_path])


def _request_again(path: str) -> str:
    """The request `_start_again` left in `path`, the file deleted."""
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)


def main() -> int:
    global _REQUESTS
    result_path = sys.argv[1]
    _REQUESTS = _requests()
    sys.addaudithook(_record_reads)
    # Running a file puts its folder first on sys.path; dbsafe's modules must not shadow
    # the project's, so take it out (alembic's prepend_sys_path adds the project's own).
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    # Started before dbsafe knew the request (`runner.warm_child`): alembic (and SQLAlchemy,
    # which it imports) loads while dbsafe builds the database the request names; the
    # environment the request brings replaces the one this process started with.
    warm = os.environ.pop(_WARM, None) is not None
    if warm:
        with contextlib.suppress(ImportError):  # without alembic, run() says so
            import alembic
    # One JSON line; a session keeps stdin open for the requests that follow. A child
    # started again (`_start_again`) has its first request in the environment.
    again = os.environ.pop(_REQUEST_AGAIN, None)
    request = json.loads(_request_again(again) if again is not None
                         else _REQUESTS.readline())
    environ = request.pop("warm_environ", None) if warm else None
    if environ is not None:
        os.environ.clear()
        os.environ.update(environ)
    # alembic itself first: a project whose migrations folder is a package named `alembic`
    # beside alembic.ini (Langflow's `alembic/__init__.py`) must not stand in for it once
    # the working directory is on the path, as the `alembic` command has loaded it before.
    with contextlib.suppress(ImportError):  # without alembic, run() says so
        import alembic  # noqa: F401
    sys.path.insert(0, os.getcwd())
    # A session answers on a channel of its own, and so does one failing before it serves
    # (env.py's or a revision's import): its caller reads that channel, not `result_path`.
    channel = (os.fdopen(int(request["result_fd"]), "w", encoding="utf-8")
               if request.get("mode") == "session" else None)
    try:
        result = run(request, channel)
    except _ListingFailed as failed:  # never raised by a child started again
        _start_again(request, result_path, not failed.env_first)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        result = {"ok": False, "error": _failure(exc, {}, _SCRIPT_DIR)}
    if request.get("imports"):
        try:
            result["imported"] = _imported()
        except Exception as exc:  # noqa: BLE001 - dbsafe then caches nothing of this run
            result["imported"] = {"error": f"{type(exc).__name__}: {exc}"}
    if channel is not None:
        with channel:
            if not result.get("ok"):
                channel.write(json.dumps(result) + "\n")
    with open(result_path, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    return 0


def _exit(code: int) -> None:
    """End the process without the interpreter's teardown: with alembic, SQLAlchemy and the
    project's models loaded, freeing every module and object one by one took a quarter of a
    second or more of each child's life, which dbsafe waits for (`ApplySession.close`,
    `communicate`). Output is flushed and the atexit handlers run (the project's, logging's)
    as on a normal exit (`dbsafe.cli.run` does the same); while another of the project's
    threads still runs, or if flushing fails, the normal exit runs."""
    import atexit
    import threading

    others = [t for t in threading.enumerate()
              if t is not threading.current_thread() and not t.daemon]
    if others:
        sys.exit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        sys.exit(code)
    os._exit(code)


if __name__ == "__main__":
    _exit(main())

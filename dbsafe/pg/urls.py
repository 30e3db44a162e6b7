"""Database URLs as dbsafe shows them: with every password masked.

Every message, log line or report that mentions a connection target goes through
`redact_url`; every error text that came back from the driver goes through `redact_text`,
because libpq and psycopg may echo the conninfo (password included) in their messages.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

MASK = "***"

# The parameters libpq keeps secret: the password, the client key's passphrase, OAuth's
# client secret and SCRAM's keys.
_SECRET = r"(?:ssl)?password|oauth_client_secret|scram_(?:client|server)_key"
# `password=...` in a key/value conninfo or a URL query string. The value may be quoted
# ('...' with backslash escapes) in key/value form; in a query it ends at `&`.
_KV_PASSWORD = re.compile(rf"(\b(?:{_SECRET})\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]+)",
                          re.IGNORECASE)
# The same in a key/value conninfo, read as libpq reads it: an unquoted value runs to the
# next space, `&` included, and a backslash escapes the character after it (`a\ b` is one).
_CONNINFO_PASSWORD = re.compile(
    rf"(\b(?:{_SECRET})\s*=\s*)('(?:[^'\\]|\\.)*'|(?:[^\s\\]|\\.)+)", re.IGNORECASE)
# The same inside prose, where the value is also ended by the punctuation around it; a `:`
# or `.` right before a space or the end belongs to the sentence ("...?password=x: failed").
_TEXT_PASSWORD = re.compile(
    rf"(\b(?:{_SECRET})\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&)\],;\"]+?(?=[:.]?(?:[\s&)\],;\"]|$)))",
    re.IGNORECASE,
)


def redact_url(url: str) -> str:
    """Return `url` with the password replaced by `***`, for display.

    Handles URLs (`postgresql://user:secret@host/db`, multi-host, `?password=` in the
    query) and key/value conninfo strings (`host=h password=secret`). Anything without a
    password is returned unchanged.

    Args:
        url: a libpq connection URL or key/value conninfo string.

    Returns:
        The same text with each password masked.

    Example:
        >>> redact_url("postgresql://app:s3cret@db.example.com:5432/shop")
        'postgresql://app:***@db.example.com:5432/shop'
        >>> redact_url("postgresql:///shop?host=/tmp&password=s3cret")
        'postgresql:///shop?host=/tmp&password=***'
        >>> redact_url("host=localhost user=app password='a b' dbname=shop")
        'host=localhost user=app password=*** dbname=shop'
        >>> redact_url("postgresql://app@localhost/shop")
        'postgresql://app@localhost/shop'
        >>> redact_url("postgresql://db/shop?%70assword=s3cret&sslmode=require")
        'postgresql://db/shop?%70assword=***&sslmode=require'
        >>> redact_url("postgresql:///shop?password=s3cret (database shop)")
        'postgresql:///shop?password=*** (database shop)'
    """
    scheme, sep, rest = url.partition("://")
    if sep:
        # Split the authority by hand: urllib's parser rejects multi-host netlocs
        # ("h1:5432,h2:5433") that libpq accepts.
        authority, slash, tail = _split_authority(rest)
        userinfo, at, hosts = authority.rpartition("@")
        if at and ":" in userinfo:
            user = userinfo.split(":", 1)[0]
            authority = f"{user}:{MASK}@{hosts}"
        path, question, query = tail.partition("?") if slash == "/" else ("", "", tail)
        if slash == "?":
            question = "?"
        # libpq decodes a query parameter's name too: `%70assword=` is the password
        # (the value ends at a space too: a URL shown in a sentence goes on after it)
        query = "&".join(
            re.sub(r"=[^\s]*", f"={MASK}", p, count=1) if _secret_parameter(p) else p
            for p in query.split("&")) if question else query
        rest = authority + (slash if slash == "/" else "") + path + question + query
        return scheme + sep + _KV_PASSWORD.sub(rf"\g<1>{MASK}", rest)
    return _CONNINFO_PASSWORD.sub(rf"\g<1>{MASK}", url)


def _secret_parameter(parameter: str) -> bool:
    """Whether a URL query's `name=value` names a secret, its name decoded as libpq decodes
    it (`%70assword`)."""
    return bool(re.fullmatch(_SECRET, unquote(parameter.partition("=")[0]).strip(),
                             re.IGNORECASE))


def without_password(url: str) -> str:
    """`url` with its secrets left out (not masked): a command printed for a person to run
    that connects as it reads, libpq taking the password from PGPASSWORD or ~/.pgpass.

    Example:
        >>> without_password("postgresql://app:s3cret@db.example.com:5432/shop")
        'postgresql://app@db.example.com:5432/shop'
        >>> without_password("postgresql:///shop?password=s3cret&host=/tmp")
        'postgresql:///shop?host=/tmp'
        >>> without_password("host=localhost user=app password='a b' dbname=shop")
        'host=localhost user=app dbname=shop'
        >>> without_password(r"host=db password=a&b\\ c sslpassword=k dbname=shop")
        'host=db dbname=shop'
        >>> without_password("postgresql://app@db/shop?%70assword=s3cret&sslmode=require")
        'postgresql://app@db/shop?sslmode=require'
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return " ".join(_CONNINFO_PASSWORD.sub("", url).split())
    authority, slash, tail = _split_authority(rest)
    userinfo, at, hosts = authority.rpartition("@")
    if at and ":" in userinfo:
        authority = f"{userinfo.split(':', 1)[0]}@{hosts}"
    path, question, query = (tail if slash == "/" else "").partition("?")
    if slash == "?":
        path, question, query = "", "?", tail
    # libpq decodes a query parameter's name too: `%70assword=` is the password
    kept = [p for p in query.split("&") if p and not _secret_parameter(p)]
    tail = path + ("?" + "&".join(kept) if question and kept else "")
    return scheme + sep + authority + (slash if slash == "/" else "") + tail


# SQLAlchemy drivers whose URLs libpq reads once the `+driver` is gone.
_SQLALCHEMY_SCHEMES = ("postgresql+", "postgres+")


# prisma's own query parameters of a PostgreSQL URL (its connection pool's and its query
# engine's), which libpq refuses ("invalid URI query parameter"): prisma users hand dbsafe
# their DATABASE_URL. Its `schema` is read apart (`to_libpq_url`).
_PRISMA_ONLY = frozenset({"connection_limit", "pool_timeout", "pgbouncer",
                          "statement_cache_size", "socket_timeout"})


def not_a_postgresql_url(url: str) -> str | None:
    """What `url` is instead of a PostgreSQL URL or key=value connection string, when it is
    neither (libpq's own word for both is `missing "=" after ... in connection info string`),
    else None.

    Example:
        >>> not_a_postgresql_url("mysql://app@db/shop")
        'mysql:// is not a PostgreSQL URL (postgresql://USER@HOST/DATABASE)'
        >>> not_a_postgresql_url("/var/run/postgresql")
        'not a URL: a socket folder is given as postgresql:///DATABASE?host=/var/run/postgresql'
        >>> not_a_postgresql_url("postgresql+psycopg://app@db/shop") is None
        True
    """
    scheme, sep, _ = url.partition("://")
    if sep:
        known = scheme.lower() in ("postgresql", "postgres")
        if known or scheme.lower().startswith(_SQLALCHEMY_SCHEMES):
            return None
        return f"{scheme}:// is not a PostgreSQL URL (postgresql://USER@HOST/DATABASE)"
    if "=" in url or not url.strip():  # blank: libpq's defaults, as `psql` with no arguments
        return None
    if url.startswith("/"):
        return f"not a URL: a socket folder is given as postgresql:///DATABASE?host={url}"
    return "not a URL: postgresql://USER@HOST/DATABASE, or key=value pairs (host=db dbname=app)"


def to_libpq_url(url: str) -> str:
    """A SQLAlchemy URL (`postgresql+psycopg://`, `+psycopg2`, `+asyncpg`), or prisma's, as
    libpq reads it.

    alembic users keep SQLAlchemy URLs in `alembic.ini`; libpq rejects the `+driver`
    scheme (`missing "=" after ...`). asyncpg's `ssl=` query parameter becomes libpq's
    `sslmode=`. prisma's `?schema=app` (the schema its client works in, `public` without)
    becomes libpq's `options=-csearch_path=app`, as prisma's connection sets it, and the
    parameters of its own pool (`connection_limit`, `pgbouncer`, ...) are left out: libpq
    refuses them. Anything else is returned unchanged.

    Example:
        >>> to_libpq_url("postgresql+asyncpg://app:pw@db/shop?ssl=require")
        'postgresql://app:pw@db/shop?sslmode=require'
        >>> to_libpq_url("postgresql+psycopg2://app@db/shop")
        'postgresql://app@db/shop'
        >>> to_libpq_url("postgresql://app@db/shop?schema=billing&connection_limit=5")
        'postgresql://app@db/shop?options=-csearch_path%3Dbilling'
        >>> to_libpq_url("host=db dbname=shop")
        'host=db dbname=shop'
    """
    scheme, sep, rest = url.partition("://")
    sqlalchemy = scheme.lower().startswith(_SQLALCHEMY_SCHEMES)
    if not sep or not (sqlalchemy or scheme.lower() in ("postgresql", "postgres")):
        return url
    base, question, query = rest.partition("?")
    if question:
        pairs = []
        for pair in query.split("&"):
            key, eq, value = pair.partition("=")
            if key == "ssl" and eq and sqlalchemy:
                value = {"true": "require", "false": "disable"}.get(value.lower(), value)
                pair = f"sslmode={value}"
            elif key in _PRISMA_ONLY:
                continue
            elif key == "schema" and eq and "options" not in _keys(query):
                pair = "options=" + quote(f"-csearch_path={_schema_name(unquote(value))}",
                                          safe="")
            pairs.append(pair)
        query = "&".join(pairs)
        question = question if query else ""
    return ("postgresql://" if sqlalchemy else scheme + "://") + base + question + query


# A query value that reads the same as a URL's user or path (no `@`, `:`, `/`, `?`, `#`).
_PLAIN = re.compile(r"[A-Za-z0-9._~%!$'()*+,;-]+")


def host_in_authority(url: str, host: str, port: str) -> str:
    """A libpq URL naming no host in its authority (`postgresql://app@/shop?host=/tmp/s`:
    a Unix socket directory given as a query parameter) with `host` and `port` there
    instead, percent-encoded as libpq reads a socket directory in the host part.

    Typed settings refuse a URL without a host: pydantic 2's `PostgresDsn` and `AnyUrl`
    ("empty host"), which FastAPI services read their database URL with. libpq (psycopg 2
    and 3) and asyncpg read both forms alike; SQLAlchemy keeps the encoded host as it is,
    which only matters where nothing redirects its engine. A URL with a host, several
    hosts, or a key/value conninfo is returned unchanged.

    Example:
        >>> host_in_authority("postgresql://app@/shop?host=/tmp/s&port=5433&sslmode=disable",
        ...                   "/tmp/s", "5433")
        'postgresql://app@%2Ftmp%2Fs:5433/shop?sslmode=disable'
        >>> host_in_authority("postgresql:///?host=::1&user=app&dbname=shop", "::1", "5432")
        'postgresql://app@[::1]:5432/shop'
        >>> host_in_authority("postgresql://app@db/shop", "db", "5432")
        'postgresql://app@db/shop'
    """
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("postgresql", "postgres") or not host or "," in host:
        return url
    authority, separator, tail = _split_authority(rest)
    userinfo, at, hosts = authority.rpartition("@")
    if hosts and not hosts.startswith(":"):  # (`app@:5433`: a port, no host)
        return url
    path, _, query = (tail.partition("?") if separator == "/"
                      else ("", separator, tail))
    kept = [pair for pair in query.split("&")
            if pair and pair.partition("=")[0] not in ("host", "port")]
    # The role and database where a parsed URL has them (pydantic's `.hosts()`, `.path`)
    # when the query alone gave them, spelled as either place reads them alike.
    moved = {key: value for key, _, value in (pair.partition("=") for pair in kept)
             if key in ("user", "dbname") and _PLAIN.fullmatch(value)}
    if not at and "user" in moved:
        userinfo, at = moved["user"], "@"
    else:
        moved.pop("user", None)
    if path or "dbname" not in moved:
        moved.pop("dbname", None)
    path = path or moved.get("dbname", "")
    kept = [pair for pair in kept if pair.partition("=")[0] not in moved]
    shown = f"[{host}]" if ":" in host else quote(host, safe="")
    return (f"{scheme}://{userinfo}{at}{shown}:{port}/{path}"
            + ("?" + "&".join(kept) if kept else ""))


def _keys(query: str) -> set[str]:
    return {pair.partition("=")[0] for pair in query.split("&")}


def _schema_name(name: str) -> str:
    """prisma's schema (a name, not a search path) as a `search_path` setting in libpq's
    `options`: quoted where it is not a plain lower-case name, a blank escaped (libpq
    splits `options` at blanks).

    >>> _schema_name("billing"), _schema_name("Sales 2024")
    ('billing', '"Sales\\\\ 2024"')
    """
    if re.fullmatch(r"[a-z_][a-z0-9_$]*", name):
        return name
    return ('"' + name.replace('"', '""') + '"').replace(" ", "\\ ")


def redact_text(text: str, url: str) -> str:
    """Remove the password of `url` from free text such as a driver error message.

    Masks the password wherever it appears verbatim, percent-encoded or percent-decoded,
    and masks any `password=` pair, so an error that echoes the conninfo stays safe to print.

    Args:
        text: the message to clean.
        url: the URL or conninfo the message is about.

    Returns:
        `text` without the password.

    Example:
        >>> redact_text("auth failed (password=p%40ss)", "postgresql://u:p%40ss@h/db")
        'auth failed (password=***)'
    """
    for secret in sorted(_passwords(url), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return _TEXT_PASSWORD.sub(rf"\g<1>{MASK}", text)


def _split_authority(rest: str) -> tuple[str, str, str]:
    """Split `user:pw@hosts/db?query` after the scheme into authority, separator, tail."""
    # The authority ends at the first "/" or "?" after the last "@" (a password may
    # itself contain "/" or "?" when the user did not percent-encode it).
    at = rest.rfind("@")
    start = at + 1 if at >= 0 else 0
    ends = [i for i in (rest.find("/", start), rest.find("?", start)) if i >= 0]
    end = min(ends) if ends else len(rest)
    return rest[:end], rest[end : end + 1], rest[end + 1 :]


def _passwords(url: str) -> set[str]:
    """Every spelling of the password(s) in `url` that could show up in a message."""
    found: set[str] = set()
    _scheme, sep, rest = url.partition("://")
    if sep:
        authority, _, _ = _split_authority(rest)
        userinfo, at, _ = authority.rpartition("@")
        if at and ":" in userinfo:
            found.add(userinfo.split(":", 1)[1])
        found.update(p.partition("=")[2] for p in rest.partition("?")[2].split("&")
                     if _secret_parameter(p) and p.partition("=")[2])
    for match in (_KV_PASSWORD if sep else _CONNINFO_PASSWORD).finditer(url):
        value = match.group(2)
        found.add(value)
        if value.startswith("'") and value.endswith("'") and len(value) >= 2:
            found.add(re.sub(r"\\(.)", r"\1", value[1:-1]))
        elif not sep and "\\" in value:
            found.add(re.sub(r"\\(.)", r"\1", value))
    # A password with `@`, `/`, `:` or `?` not percent-encoded is split where libpq splits
    # a URL: `app:pa@ss-word@db/shop` is password `pa` for host `ss-word@db`, whose error
    # ("failed to resolve host 'ss-word@db'", an "invalid percent-encoded token" naming
    # the database part) quoted the rest of the password. Its pieces are masked too; one
    # of two characters or less is left (it would mask words of the message around it).
    pieces = {piece for secret in found for piece in re.split(r"[@/:?]", secret)
              if len(piece) > 2}
    variants = set()
    for secret in found | pieces:
        variants |= {secret, unquote(secret), quote(unquote(secret), safe="")}
    # An empty or one-character "password" would mask unrelated text; such a password is
    # not a secret worth the damage.
    return {v for v in variants if len(v) > 1}


_URL_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/?#@\s]*:)[^@/\s]+@", re.IGNORECASE)


def redact_any(text: str, url: str | None = None) -> str:
    """Mask every password in free text that may quote URLs dbsafe never saw (env.py output).

    Example:
        >>> redact_any("connecting to postgresql+asyncpg://app:hunter2@prod/app")
        'connecting to postgresql+asyncpg://app:***@prod/app'
    """
    if url:
        text = redact_text(text, url)
    return _TEXT_PASSWORD.sub(rf"\g<1>{MASK}", _URL_USERINFO.sub(rf"\g<1>{MASK}@", text))

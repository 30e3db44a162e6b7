"""The search path validate looks unqualified names up on when the application's sessions set
their own (`search-path`: asyncpg's `server_settings={"search_path": ...}`, libpq's
`options=-csearch_path=...`).

A schema source records the path of the session that read it (the throwaway server's, or the
URL's role's); the application's may differ, and then its unqualified names live elsewhere.
`applied` gives the snapshot the path PostgreSQL would give the application's session:
`current_schemas(false)` of `SET search_path` to the setting, `"$user"` the schema named after
its role (where the role is not known, kept: see `applied`), a schema that does not exist left
out (PostgreSQL ignores it; dbsafe says so).
A live database reads it itself (`sources.load_schema`), so the role there is the real one.

Every command that resolves the application's SQL goes through `for_application` (validate's
scan, lint's DBS211, and so upgrade's preflight and postflight), and keys what it caches of
that resolution with `cache_key`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dbsafe.config import Settings
    from dbsafe.schema.model import SchemaSnapshot

log = logging.getLogger(__name__)

USER = "$user"  # PostgreSQL's name for the schema named after the session's role


def for_application(snapshot: SchemaSnapshot, settings: Settings, *,
                    read_with_it: bool = False, said: list[str] | None = None) -> SchemaSnapshot:
    """`snapshot` with the search path the application's sessions set (`search-path`), or
    as it is when the setting is not given.

    Args:
        snapshot: the schema as its source read it.
        settings: `search_path` and, for `"$user"`, `database_url` (see `role`).
        read_with_it: a live database was read by a session with this path already
            (`sources.load_schema(search_path=)`): PostgreSQL itself gave the role's
            `"$user"` and left out what does not exist; only the warning is said.
        said: where given, each warning said is appended to it too (validate keeps them
            with its cached results: a run answered from them resolves nothing, and `say`s
            them again).
    """
    if settings.search_path is None:
        return snapshot
    if read_with_it:
        warn_missing(snapshot, settings.search_path, said=said)
        return snapshot
    return applied(snapshot, settings.search_path, role=role(settings), said=said)


def say(messages: Sequence[str], said: list[str] | None = None) -> None:
    """Log each warning of `messages` (as `for_application` said them), and keep them in
    `said` where given."""
    for message in messages:
        log.warning("%s", message)
        if said is not None:
            said.append(message)


def role(settings: Settings) -> str | None:
    """The role `"$user"` of `search-path` names: `database-url`'s, where it names one."""
    if settings.search_path is None or USER not in settings.search_path:
        return None
    return role_of(settings.database_url)


def cache_key(settings: Settings) -> str:
    """What a cache of resolutions adds to its key for `search-path`: the same schema read
    with another path resolves other tables (a snapshot file's key is its bytes, whatever
    path is applied to it); `"$user"` is the role of the URL, where there is one. Empty
    when the setting is not given, so earlier keys stay valid.

    >>> from pathlib import Path
    >>> from dbsafe.config import Settings
    >>> cache_key(Settings(Path("."))), cache_key(Settings(Path("."), search_path=("app",)))[:5]
    ('', '-path')
    """
    if settings.search_path is None:
        return ""
    import hashlib
    import json

    given = json.dumps([settings.search_path, role(settings)])
    return "-path" + hashlib.sha256(given.encode()).hexdigest()[:12]


def applied(snapshot: SchemaSnapshot, setting: Sequence[str], *,
            role: str | None = None, said: list[str] | None = None) -> SchemaSnapshot:
    """`snapshot` with the search path a session gets from `search_path = setting`.

    Args:
        snapshot: the schema, read with another session's path.
        setting: schema names in order, as `config.split_search_path` reads them.
        role: the role the application logs in as (`"$user"`); None when not known: then
            `"$user"` stays in the path, naming no schema of the snapshot, and the resolver
            leaves a table found only off the path unchecked (it may be the role's); a
            warning says so.
        said: see `for_application`.

    Returns:
        The snapshot with `search_path` as PostgreSQL's `current_schemas(false)` would list
        it: each existing schema once, in order.

    Example:
        >>> from dbsafe.schema.model import SchemaSnapshot
        >>> s = SchemaSnapshot(schemas=("app", "public"), covers_all_schemas=True)
        >>> applied(s, ["app", "app", "public"]).search_path
        ('app', 'public')
        >>> applied(s, ["$user", "public"], role="app").search_path
        ('app', 'public')
    """
    path: list[str] = []
    for name in setting:
        schema = role if name == USER else name
        if schema is None:
            # Kept as it is: no schema of the snapshot is named so, and the resolver leaves a
            # table it finds only off the path unchecked, since it may be the role's.
            say(["search-path: `$user` is the schema named after the role the application "
                 "logs in as, which this schema source does not record: a table found only in "
                 "a schema off the path is left unchecked (name that schema in search-path, "
                 "or give database-url)"], said)
            if name not in path:
                path.append(name)
            continue
        if schema in path or schema == "pg_temp" or schema.startswith("pg_temp_"):
            continue  # (the session's temporary schema: nothing of the snapshot's is there)
        if missing(snapshot, schema):
            if name != USER:  # PostgreSQL leaves out a role's schema that is not there, quietly
                say([_missing_warning(schema)], said)
            continue
        path.append(schema)
    return dataclasses.replace(snapshot, search_path=tuple(path))


def missing(snapshot: SchemaSnapshot, schema: str) -> bool:
    """Whether `schema` is known not to exist (the snapshot lists every schema and not it)."""
    # Imported here: a fully cached validate run reads `cache_key` and never loads the parser.
    from dbsafe.validate.quick import SYSTEM_SCHEMAS

    return (snapshot.covers_all_schemas and schema not in snapshot.schemas
            and schema not in SYSTEM_SCHEMAS
            and all(r.schema != schema for r in snapshot.relations))


def warn_missing(snapshot: SchemaSnapshot, setting: Sequence[str], *,
                 said: list[str] | None = None) -> None:
    """Say which schemas of `setting` a database read with it left out of its path."""
    say([_missing_warning(name) for name in dict.fromkeys(setting)
         if name != USER and missing(snapshot, name)], said)


def _missing_warning(schema: str) -> str:
    return (f"search-path: schema `{schema}` is not in the schema; PostgreSQL leaves it out "
            "of the search path")


def role_of(url: str | None) -> str | None:
    """The role a URL logs in as, when it names one."""
    if not url:
        return None
    from dbsafe.core import DatabaseError
    from dbsafe.pg.connect import url_params

    try:
        user = url_params(url).get("user")
    except DatabaseError:  # a URL libpq cannot read: said where it is used
        return None
    return str(user) if user else None

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
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from dbsafe.validate.quick import SYSTEM_SCHEMAS

if TYPE_CHECKING:
    from dbsafe.schema.model import SchemaSnapshot

log = logging.getLogger(__name__)

USER = "$user"  # PostgreSQL's name for the schema named after the session's role


def applied(snapshot: SchemaSnapshot, setting: Sequence[str], *,
            role: str | None = None) -> SchemaSnapshot:
    """`snapshot` with the search path a session gets from `search_path = setting`.

    Args:
        snapshot: the schema, read with another session's path.
        setting: schema names in order, as `config.split_search_path` reads them.
        role: the role the application logs in as (`"$user"`); None when not known: then
            `"$user"` stays in the path, naming no schema of the snapshot, and the resolver
            leaves a table found only off the path unchecked (it may be the role's); a
            warning says so.

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
            log.warning("search-path: `$user` is the schema named after the role the "
                        "application logs in as, which this schema source does not record: a "
                        "table found only in a schema off the path is left unchecked (name "
                        "that schema in search-path, or give database-url)")
            if name not in path:
                path.append(name)
            continue
        if schema in path or schema == "pg_temp" or schema.startswith("pg_temp_"):
            continue  # (the session's temporary schema: nothing of the snapshot's is there)
        if missing(snapshot, schema):
            if name != USER:  # PostgreSQL leaves out a role's schema that is not there, quietly
                log.warning("search-path: schema `%s` is not in the schema; PostgreSQL leaves "
                            "it out of the search path", schema)
            continue
        path.append(schema)
    return dataclasses.replace(snapshot, search_path=tuple(path))


def missing(snapshot: SchemaSnapshot, schema: str) -> bool:
    """Whether `schema` is known not to exist (the snapshot lists every schema and not it)."""
    return (snapshot.covers_all_schemas and schema not in snapshot.schemas
            and schema not in SYSTEM_SCHEMAS
            and all(r.schema != schema for r in snapshot.relations))


def warn_missing(snapshot: SchemaSnapshot, setting: Sequence[str]) -> None:
    """Say which schemas of `setting` a database read with it left out of its path."""
    for name in dict.fromkeys(setting):
        if name != USER and missing(snapshot, name):
            log.warning("search-path: schema `%s` is not in the schema; PostgreSQL leaves it "
                        "out of the search path", name)


def role_of(url: str | None) -> str | None:
    """The role a URL logs in as, when it names one."""
    if not url:
        return None
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    from dbsafe.pg.urls import to_libpq_url

    try:
        user = conninfo_to_dict(to_libpq_url(url)).get("user")
    except ProgrammingError:  # a URL libpq cannot read: said where it is used
        return None
    return str(user) if user else None

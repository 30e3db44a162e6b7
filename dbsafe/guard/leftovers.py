"""What a failed revision leaves behind, found by comparing snapshots, and removed.

Transactional DDL undoes most of a failed revision, but not what an `autocommit_block()`
already committed, nor the INVALID index a failed `CREATE INDEX CONCURRENTLY` leaves. The
snapshot taken before the revision says what was there; anything new is the revision's and
goes, so a retry or a rollback starts clean (strong_migrations' `remove_invalid_indexes`,
generalised). Things the revision dropped cannot be brought back from a snapshot: those are
reported, and the backup restores them.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import TYPE_CHECKING, Any

from dbsafe.core import first_line
from dbsafe.guard.history import SCHEMA as HISTORY_SCHEMA
from dbsafe.pg.connect import connect

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from dbsafe.schema.model import SchemaSnapshot


def user_snapshot(url: str, *, search_path: Sequence[str] | None = None,
                  lock_timeout: str | None = None) -> SchemaSnapshot:
    """The database's schema without dbsafe's own (`dbsafe.history` is not the app's);
    `search_path`: read with that path instead of the session's, `lock_timeout`: waiting
    that long for a lock (`introspect_url`)."""
    from dbsafe.pg.urls import to_libpq_url
    from dbsafe.schema.introspect import introspect_url

    return without_dbsafe(introspect_url(to_libpq_url(url), search_path=search_path,
                                         lock_timeout=lock_timeout))


def without_dbsafe(snapshot: SchemaSnapshot) -> SchemaSnapshot:
    """`snapshot` without dbsafe's own schema (`dbsafe.history`), still marked as built
    when it was (`SchemaSnapshot.built_since`)."""
    changes: dict[str, Any] = {}
    for field in dataclasses.fields(snapshot):
        if not field.init:
            continue
        value = getattr(snapshot, field.name)
        if not isinstance(value, tuple):
            continue
        kept = tuple(item for item in value if not _in_dbsafe_schema(item))
        if len(kept) != len(value):
            changes[field.name] = kept
    if not changes:
        return snapshot
    return dataclasses.replace(snapshot, **changes).mark_built_since(snapshot.built_since)


def _in_dbsafe_schema(item: object) -> bool:
    if isinstance(item, str):
        return item == HISTORY_SCHEMA
    schema = getattr(item, "schema", None)
    if schema is None and type(item).__name__ == "Namespace":
        schema = getattr(item, "name", None)
    return schema == HISTORY_SCHEMA


def remove_leftovers(url: str, before: SchemaSnapshot, *, lock_timeout: str = "5s",
                     read: Callable[[], SchemaSnapshot] | None = None
                     ) -> tuple[list[str], list[str]]:
    """Drop what exists now but not in `before`; `read` takes the schema as it is now
    (default: `user_snapshot` waiting at most `lock_timeout` for a lock).

    Returns what was dropped, and what is still there with the reason its drop failed (a
    lock another session holds past `lock_timeout`): never silently left in place.
    """
    import psycopg

    take = read or functools.partial(user_snapshot, url, lock_timeout=lock_timeout)
    now = take()
    statements = _drops(before, now)
    dropped: list[str] = []
    failed: dict[str, str] = {}
    if not statements:
        return dropped, []
    with connect(url) as conn:
        conn.execute(f"SET lock_timeout = '{lock_timeout}'")
        for what, statement in statements:
            try:
                conn.execute(statement)
                dropped.append(what)
            except psycopg.Error as exc:
                # Often harmless: a dependent object went first with its table.
                failed[what] = first_line(exc)
    if not failed:
        return dropped, []
    remaining = {what for what, _ in _drops(before, take())}
    return dropped, [f"{what} ({reason})" for what, reason in failed.items() if what in remaining]


def _drops(before: SchemaSnapshot, now: SchemaSnapshot) -> list[tuple[str, str]]:
    from psycopg import sql

    def ident(*parts: str) -> str:
        return ".".join(sql.Identifier(p).as_string(None) for p in parts)

    old = {(r.schema, r.name): r for r in before.relations}
    drops: list[tuple[str, str]] = []
    for relation in now.relations:
        name = ident(relation.schema, relation.name)
        previous = old.get((relation.schema, relation.name))
        if previous is None:
            kind = {"view": "VIEW", "materialized_view": "MATERIALIZED VIEW",
                    "sequence": "SEQUENCE", "foreign_table": "FOREIGN TABLE"}.get(
                relation.kind, "TABLE")
            drops.append((f"{relation.kind} {relation.schema}.{relation.name}",
                          f"DROP {kind} IF EXISTS {name} CASCADE"))
            continue
        old_indexes = {i.name for i in previous.indexes}
        constraint_indexes = {c.name for c in relation.constraints}
        for index in relation.indexes:
            if index.name not in old_indexes and index.name not in constraint_indexes:
                drops.append((f"index {relation.schema}.{index.name}",
                              f"DROP INDEX CONCURRENTLY IF EXISTS "
                              f"{ident(relation.schema, index.name)}"))
        old_constraints = {c.name for c in previous.constraints}
        for constraint in relation.constraints:
            if constraint.name not in old_constraints and constraint.kind != "not_null":
                drops.append((f"constraint {constraint.name} on {relation.schema}.{relation.name}",
                              f"ALTER TABLE {name} DROP CONSTRAINT IF EXISTS "
                              f"{sql.Identifier(constraint.name).as_string(None)}"))
        old_columns = {c.name for c in previous.columns}
        for column in relation.columns:
            if column.name not in old_columns:
                drops.append((f"column {relation.schema}.{relation.name}.{column.name}",
                              f"ALTER TABLE {name} DROP COLUMN IF EXISTS "
                              f"{sql.Identifier(column.name).as_string(None)}"))
    return drops

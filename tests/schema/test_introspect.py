"""Introspection of a real database: the `shop` fixture must read back as shop.json."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import psycopg
import pytest
from helpers import assert_snapshot

from dbsafe.core import DatabaseError
from dbsafe.schema.introspect import introspect, introspect_url
from dbsafe.schema.model import SchemaSnapshot

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "pa55-W0rd-never-shown"

pytestmark = pytest.mark.db


def _load_shop(conn: psycopg.Connection) -> None:
    conn.execute((FIXTURES / "shop.sql").read_text(encoding="utf-8"))
    conn.commit()


def _portable(snapshot: SchemaSnapshot) -> SchemaSnapshot:
    # The golden must pass on every supported server, so the version and the owning role
    # (the test server's user) are not part of it.
    from dbsafe.schema.diff import without_owners

    return dataclasses.replace(without_owners(snapshot), server_version=None)


def _without_server_texts(snapshot: SchemaSnapshot) -> SchemaSnapshot:
    # Older servers print view definitions with qualified columns and ship other extension
    # versions; everything else must match the golden (taken on PostgreSQL 18) exactly.
    return dataclasses.replace(
        snapshot,
        relations=tuple(dataclasses.replace(r, definition=None) for r in snapshot.relations),
        extensions=tuple(dataclasses.replace(e, version="") for e in snapshot.extensions),
    )


def test_shop_schema_introspects_to_golden_snapshot(postgresql: psycopg.Connection) -> None:
    _load_shop(postgresql)
    snapshot = introspect(postgresql)
    assert snapshot.server_version is not None and snapshot.server_version >= 120000
    if snapshot.server_version // 10000 == 18:
        assert_snapshot(_portable(snapshot).to_json(), FIXTURES / "shop.json")
    else:
        golden = SchemaSnapshot.load(FIXTURES / "shop.json")
        assert _without_server_texts(_portable(snapshot)).to_json() == \
            _without_server_texts(golden).to_json()


def test_introspection_is_deterministic(postgresql: psycopg.Connection) -> None:
    _load_shop(postgresql)
    assert introspect(postgresql).to_json() == introspect(postgresql).to_json()


def test_extension_objects_are_left_out(postgresql: psycopg.Connection) -> None:
    _load_shop(postgresql)
    snapshot = introspect(postgresql)
    # postgres_fdw installs its functions into public; they are not the app's schema.
    assert not [f for f in snapshot.functions if f.name.startswith("postgres_fdw")]
    assert snapshot.relation("public", "warehouse_stock").kind == "foreign_table"


def test_schemas_argument_limits_what_is_read(postgresql: psycopg.Connection) -> None:
    _load_shop(postgresql)
    snapshot = introspect(postgresql, schemas=["public"])
    assert snapshot.schemas == ("public",)
    assert {r.schema for r in snapshot.relations} == {"public"}
    assert {f.schema for f in snapshot.functions} == {"public"}
    assert snapshot.enums == ()
    # A foreign key into an unread schema still names its target.
    notes = snapshot.relation("public", "CustomerNotes")
    fk = next(c for c in notes.constraints if c.kind == "foreign_key")
    assert (fk.referenced_table, fk.referenced_columns) == ("shop.customers", ("id",))


def test_empty_database_has_only_the_public_schema(postgresql: psycopg.Connection) -> None:
    snapshot = introspect(postgresql)
    assert (snapshot.schemas, snapshot.relations, snapshot.functions) == (("public",), (), ())
    assert snapshot.revision is None


def test_several_alembic_heads_are_joined_sorted(postgresql: psycopg.Connection) -> None:
    postgresql.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
    postgresql.execute("INSERT INTO alembic_version VALUES ('b2'), ('a1')")
    postgresql.commit()
    assert introspect(postgresql).revision == "a1,b2"


def test_alembic_version_outside_the_search_path_is_ignored(
    postgresql: psycopg.Connection,
) -> None:
    postgresql.execute("CREATE SCHEMA other")
    postgresql.execute("CREATE TABLE other.alembic_version (version_num varchar(32))")
    postgresql.execute("INSERT INTO other.alembic_version VALUES ('a1')")
    postgresql.commit()
    assert introspect(postgresql).revision is None


def test_invalid_index_is_reported_as_invalid(postgresql: psycopg.Connection) -> None:
    postgresql.execute("CREATE TABLE t (id int)")
    postgresql.execute("INSERT INTO t VALUES (1), (1)")
    postgresql.commit()
    postgresql.autocommit = True
    # A failed CREATE INDEX CONCURRENTLY leaves the invalid index behind.
    with pytest.raises(psycopg.errors.UniqueViolation):
        postgresql.execute("CREATE UNIQUE INDEX CONCURRENTLY t_id_idx ON t (id)")
    (index,) = introspect(postgresql).relation("public", "t").indexes
    assert (index.name, index.valid) == ("t_id_idx", False)


def test_introspect_url_reads_the_same_snapshot(
    postgresql: psycopg.Connection, database_url: str
) -> None:
    _load_shop(postgresql)
    assert introspect_url(database_url) == introspect(postgresql)


def test_unreachable_server_raises_one_line_without_password() -> None:
    url = f"postgresql://app:{SECRET}@127.0.0.1:1/shop?connect_timeout=3"
    with pytest.raises(DatabaseError) as excinfo:
        introspect_url(url)
    message = str(excinfo.value)
    assert SECRET not in message
    assert "\n" not in message
    assert message.startswith("could not connect to postgresql://app:***@127.0.0.1:1/shop")


def test_missing_database_raises_without_password(database_url: str) -> None:
    url = database_url.replace("dbname=", "dbname=no_such_db_") + f"&password={SECRET}"
    with pytest.raises(DatabaseError, match="no_such_db_") as excinfo:
        introspect_url(url)
    message = str(excinfo.value)
    assert SECRET not in message
    assert "password=***" in message
    assert "\n" not in message
    assert "does not exist" in message


def test_malformed_url_raises_without_password() -> None:
    url = f"host=localhost password={SECRET} dbname"  # missing "=" after the last key
    with pytest.raises(DatabaseError) as excinfo:
        introspect_url(url)
    assert SECRET not in str(excinfo.value)

"""Relations an extension owns are left out of snapshots, but their names are kept, so a
query reading one (`pg_stat_statements`, `pg_buffercache`) is no false DBS301 offline."""

from __future__ import annotations

import psycopg
import pytest

from dbsafe.schema.introspect import introspect_url
from dbsafe.validate.resolver import Resolver
from dbsafe.validate.syscatalog import shipped

pytestmark = pytest.mark.db

READS = ["SELECT bufferid FROM public.pg_buffercache",
         "SELECT bufferid FROM pg_buffercache",
         "SELECT b.relfilenode FROM pg_buffercache AS b JOIN t ON t.id = b.bufferid"]


@pytest.fixture
def with_extension(postgresql: psycopg.Connection, database_url: str) -> str:
    postgresql.execute("CREATE EXTENSION pg_buffercache; CREATE TABLE t (id int)")
    postgresql.commit()
    for sql in READS:  # PostgreSQL reads them all
        postgresql.execute(f"PREPARE q AS {sql}")
        postgresql.execute("DEALLOCATE q")
    return database_url


def test_the_snapshot_names_the_extensions_relations(with_extension: str) -> None:
    snapshot = introspect_url(with_extension)
    [extension] = [e for e in snapshot.extensions if e.name == "pg_buffercache"]
    assert extension.schema == "public" and "pg_buffercache" in extension.relations
    assert snapshot.find_relation("pg_buffercache", "public") is None  # still left out


@pytest.mark.parametrize("sql", READS)
@pytest.mark.parametrize("catalog", [False, True], ids=["no catalog", "catalog of 18"])
def test_reading_an_extensions_relation_is_no_finding(with_extension: str, sql: str,
                                                      catalog: bool) -> None:
    snapshot = introspect_url(with_extension)
    resolver = Resolver(snapshot, catalog=shipped(18) if catalog else None, quick=False)
    assert resolver.resolve(sql).problems == ()


def test_a_misspelt_relation_beside_it_is_still_found(with_extension: str) -> None:
    snapshot = introspect_url(with_extension)
    problems = Resolver(snapshot, quick=False).resolve(
        "SELECT bufferid FROM public.pg_bufercache").problems
    assert [p.code for p in problems] == ["DBS301"]

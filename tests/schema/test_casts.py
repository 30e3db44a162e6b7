"""The built-in cast table the planner reads is the server's `pg_cast`."""

from __future__ import annotations

import psycopg
import pytest

from dbsafe.schema import casts

_PG_CAST = """
SELECT format_type(c.castsource, NULL), format_type(c.casttarget, NULL), c.castcontext::text
  FROM pg_cast c
  JOIN pg_type s ON s.oid = c.castsource
  JOIN pg_type t ON t.oid = c.casttarget
 WHERE s.typnamespace = 'pg_catalog'::regnamespace
   AND t.typnamespace = 'pg_catalog'::regnamespace
"""


@pytest.mark.db
def test_the_cast_table_is_the_servers_pg_cast(postgresql: psycopg.Connection) -> None:
    rows = postgresql.execute(_PG_CAST).fetchall()
    contexts = {"i": casts.IMPLICIT, "a": casts.ASSIGNMENT, "e": casts.EXPLICIT}
    server = {(s, t): contexts[c] for s, t, c in rows}
    if postgresql.info.server_version >= 180000:
        assert server == casts._CASTS
    else:  # an older server may lack a cast 18 has, never have another
        assert server.items() <= casts._CASTS.items()



@pytest.mark.db
def test_the_builtin_types_are_the_servers(postgresql: psycopg.Connection) -> None:
    rows = postgresql.execute(
        "SELECT format_type(oid, NULL) FROM pg_type WHERE typnamespace = "
        "'pg_catalog'::regnamespace AND typtype IN ('b', 'r', 'm') "
        "AND typcategory NOT IN ('A', 'P', 'X')").fetchall()
    if postgresql.info.server_version >= 180000:
        assert {name for (name,) in rows} == casts._BUILTIN_TYPES
    else:
        assert {name for (name,) in rows} <= casts._BUILTIN_TYPES


def test_a_string_type_converts_every_way_through_text() -> None:
    assert casts.conversion("uuid", "character varying(36)") == casts.ASSIGNMENT
    assert casts.conversion("text", "integer[]") == casts.PARSE
    assert casts.conversion("integer[]", "timestamp with time zone[]") is None
    assert casts.conversion("public.mood", "timestamp without time zone") == casts.UNKNOWN

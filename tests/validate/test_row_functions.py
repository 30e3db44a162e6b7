"""Functional notation: `t.name` calls a built-in function of one argument on the row `t`.

The resolver keeps a list of such built-ins; PostgreSQL's catalog says which they are.
"""

from __future__ import annotations

import psycopg
import pytest

from dbsafe.validate.row_callable import ROW_CALLABLE_BUILTINS

# pg_catalog's functions and aggregates callable with one argument that a row may be.
_ONE_ROW_ARGUMENT = """
SELECT DISTINCT p.proname
FROM pg_proc AS p
WHERE p.pronamespace = 'pg_catalog'::regnamespace
  AND p.prokind IN ('f', 'a')
  AND p.pronargs - p.pronargdefaults <= 1
  AND p.pronargs >= 1
  AND p.proargtypes[0] IN ('record'::regtype, 'anyelement'::regtype, 'anynonarray'::regtype,
      'anycompatible'::regtype, 'anycompatiblenonarray'::regtype, '"any"'::regtype)
"""


@pytest.mark.db
def test_every_builtin_a_row_can_be_passed_to_is_known(postgresql: psycopg.Connection) -> None:
    on_server = {name for (name,) in postgresql.execute(_ONE_ROW_ARGUMENT)}
    assert on_server - ROW_CALLABLE_BUILTINS == set()
    if postgresql.info.server_version >= 180000:  # the list is 18's (and hstore's)
        assert ROW_CALLABLE_BUILTINS - on_server == {"hstore"}


@pytest.mark.db
@pytest.mark.parametrize("name", ["hash_record", "jsonb_agg_strict", "any_value", "to_json"])
def test_postgresql_calls_them_on_a_row(name: str, postgresql: psycopg.Connection,
                                        database_url: str) -> None:
    from dbsafe.schema.introspect import introspect_url
    from dbsafe.validate.resolver import Resolver

    if postgresql.execute("SELECT 1 FROM pg_proc WHERE proname = %s", (name,)).fetchone() is None:
        pytest.skip(f"{name} is newer than PostgreSQL {postgresql.info.server_version // 10000}")
    postgresql.execute("CREATE TABLE users (id int PRIMARY KEY, email text)")
    postgresql.commit()
    sql = f"SELECT u.{name} FROM users u GROUP BY u.id"
    postgresql.execute(f"PREPARE q AS {sql}")  # no error: a function, not a column
    assert Resolver(introspect_url(database_url), quick=False).resolve(sql).problems == ()

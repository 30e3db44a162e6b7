"""Which expression indexes and extended statistics a run made have no statistics yet
(DBS616), read from `pg_stats`/`pg_stats_ext` on real PostgreSQL, and `ANALYZE` filling them."""

from __future__ import annotations

import os

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from dbsafe.guard.statistics import analyze, statistics_objects, unanalysed

pytestmark = pytest.mark.db


def test_new_expression_indexes_and_statistics_on_tables_with_rows_are_named(
        database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE old (email text); INSERT INTO old VALUES ('a');"
                     "CREATE INDEX old_lower ON old (lower(email))")
        before = statistics_objects(database_url)
        conn.execute(
            'CREATE TABLE users (id int, email text, data jsonb);'
            "INSERT INTO users SELECT g, 'U' || g, jsonb_build_object('id', g)"
            "  FROM generate_series(1, 50) g;"
            "CREATE INDEX users_lower ON users (lower(email));"
            "CREATE INDEX users_id ON users (id);"  # a plain column: its statistics exist
            'CREATE TABLE "Odd Name" (id int, n int); INSERT INTO "Odd Name" VALUES (1, 1);'
            'CREATE STATISTICS odd_deps ON id, n FROM "Odd Name";'
            "CREATE TABLE plain (id int); INSERT INTO plain VALUES (1);"
            "CREATE INDEX plain_id ON plain (id);"
            # ANALYZE collects nothing from an empty table
            "CREATE TABLE empty (email text); CREATE INDEX empty_lower ON empty (lower(email))")

        missing = unanalysed(database_url, before, lock_timeout="1s")

        assert [(t.table, t.objects, t.analyze) for t in missing] == [
            ('public."Odd Name"', (("extended statistics", "public.odd_deps"),),
             'ANALYZE public."Odd Name";'),
            ("public.users", (("expression index", "public.users_lower"),),
             "ANALYZE public.users;"),
        ]
        # `old_lower` has no statistics either, but the run did not make it
        assert not conn.execute("SELECT FROM pg_stats WHERE tablename = 'old_lower'").fetchall()

        done = analyze(database_url, missing, statement_timeout="1min", lock_timeout="1s",
                       application_name="dbsafe upgrade")

        assert [(t.table, failure) for t, _, failure in done] == [
            ('public."Odd Name"', ""), ("public.users", "")]
        assert conn.execute("SELECT count(*) FROM pg_stats WHERE tablename = 'users_lower'"
                            ).fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM pg_stats_ext WHERE statistics_name = "
                            "'odd_deps'").fetchone() == (1,)
        assert unanalysed(database_url, before, lock_timeout="1s") == []


def test_an_analyze_that_times_out_says_why(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        before = statistics_objects(database_url)
        conn.execute("CREATE TABLE t (email text); INSERT INTO t VALUES ('a');"
                     "CREATE INDEX t_lower ON t (lower(email))")
        (table,) = unanalysed(database_url, before, lock_timeout="1s")
        with psycopg.connect(database_url) as holder:  # a transaction holding the table
            holder.execute("LOCK TABLE t IN SHARE UPDATE EXCLUSIVE MODE")

            ((_, _, failure),) = analyze(database_url, [table], statement_timeout="1min",
                                         lock_timeout="10ms", application_name="dbsafe")

        assert failure == "canceling statement due to lock timeout"


def test_a_role_that_may_not_read_the_statistics_is_told_dbsafe_cannot_tell(
        database_url: str, postgresql: psycopg.Connection) -> None:
    """pg_stats and pg_stats_ext hide the rows of objects the role does not own: a role
    owning nothing saw none and was told to ANALYZE a table analysed a moment before."""
    # with a password: a server DBSAFE_TEST_DATABASE_URL names may not trust local logins
    role, password = f"dbsafe_stats_reader_{os.getpid()}", "stats-reader-pw"
    postgresql.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
        sql.Identifier(role), sql.Literal(password)))
    postgresql.commit()
    try:
        with psycopg.connect(database_url, autocommit=True) as conn:
            before = statistics_objects(database_url)
            conn.execute("CREATE TABLE t (id int, email text, n int);"
                         "INSERT INTO t SELECT g, 'U' || g, g FROM generate_series(1, 50) g;"
                         "CREATE INDEX t_lower ON t (lower(email));"
                         "CREATE STATISTICS t_deps ON id, n FROM t; ANALYZE t;"
                         "CREATE TABLE u (email text); INSERT INTO u VALUES ('a');"
                         "CREATE INDEX u_lower ON u (lower(email));"
                         + sql.SQL("GRANT SELECT ON t, u TO {}").format(
                             sql.Identifier(role)).as_string(conn))
        as_role = make_conninfo(database_url, user=role, password=password)

        found = unanalysed(as_role, before, lock_timeout="1s")

        # the superuser sees that only `u` lacks them
        assert [t.table for t in unanalysed(database_url, before, lock_timeout="1s")] == [
            "public.u"]
        assert [(t.table, t.unreadable) for t in found] == [
            ("public.t", True), ("public.u", True)]
        assert found[0].describe().startswith(
            "cannot tell whether `public.t` has statistics for extended statistics "
            "`public.t_deps`, expression index `public.t_lower`: this role may not read")
    finally:
        postgresql.execute(sql.SQL("DROP OWNED BY {}; DROP ROLE {}").format(
            sql.Identifier(role), sql.Identifier(role)))
        postgresql.commit()

"""What lint learned of a relation's kind, an index's table, a function's volatility or a
type a migration made is that schema's, not another schema's of the same name (task 491,
after tasks 465 and 479). The history kept them by the bare name: `DROP VIEW app.t` made a
later `DROP TABLE IF EXISTS public.t` of the database's table look like a drop of nothing
(no DBS201), `CREATE VIEW app.t` made `ALTER TABLE public.t RENAME` a view's rename, an
index `ix_c` built on `app.events` answered for the database's `public.ix_c` (DBS103 silent
on a DROP INDEX that locks `public.t`), a VOLATILE `audit.now_utc()` made a default calling
the database's IMMUTABLE `public.now_utc()` a rewrite (and an IMMUTABLE `app.stamp()` hid a
VOLATILE `public.stamp()`'s), and `CREATE TYPE app.mood` hid that `DROP TYPE public.mood
CASCADE` drops a column of the database's.

Each migration runs on PostgreSQL 18 too: it rewrites, locks or drops exactly where the
findings say so.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from pglast import parser

from dbsafe.core import Severity
from dbsafe.lint import lint_sql
from dbsafe.lint.rules import (
    column_added_with_table_rewrite,
    drop_cascade,
    non_concurrent_index_drop,
    table_dropped,
    table_renamed,
)
from dbsafe.schema.introspect import introspect

pytestmark = pytest.mark.db

SCHEMA = """
CREATE SCHEMA app;
CREATE SCHEMA audit;
CREATE TYPE public.mood AS ENUM ('ok');
CREATE TABLE public.t (id int PRIMARY KEY, c text, m public.mood);
INSERT INTO public.t SELECT i, 'x', 'ok' FROM generate_series(1, 100) AS i;
CREATE INDEX ix_c ON public.t (c);
CREATE FUNCTION public.stamp() RETURNS timestamptz LANGUAGE plpgsql VOLATILE
    AS $$ BEGIN RETURN clock_timestamp(); END $$;
CREATE FUNCTION public.now_utc() RETURNS timestamptz LANGUAGE plpgsql IMMUTABLE
    AS $$ BEGIN RETURN '2020-01-01'; END $$;
"""

RULES = [column_added_with_table_rewrite.RULE, drop_cascade.RULE,
         non_concurrent_index_drop.RULE, table_dropped.RULE, table_renamed.RULE]

_VOLATILE = ("RETURNS timestamptz LANGUAGE plpgsql VOLATILE\n"
             "    AS $$ BEGIN RETURN clock_timestamp(); END $$;\n")
_IMMUTABLE = ("RETURNS timestamptz LANGUAGE plpgsql IMMUTABLE\n"
              "    AS $$ BEGIN RETURN '2020-01-01'; END $$;\n")

# name -> (migration, the findings (code, line), what PostgreSQL does with its last line:
# "rewrite" public.t, "keep" its file (no rewrite), "lock" it ACCESS EXCLUSIVE, "drop" it, or
# "drop m", its column of type public.mood)
CASES = {
    # `now_utc` on the path public is the database's IMMUTABLE one: evaluated once, no rewrite
    "default-calls-the-databases-immutable-function": (
        "CREATE FUNCTION audit.now_utc() " + _VOLATILE +
        "ALTER TABLE t ADD COLUMN d timestamptz DEFAULT now_utc();\n",
        set(), "keep"),
    # `stamp` on the path public is the database's VOLATILE one: every row is rewritten
    "default-calls-the-databases-volatile-function": (
        "CREATE FUNCTION app.stamp() " + _IMMUTABLE +
        "ALTER TABLE t ADD COLUMN d timestamptz DEFAULT stamp();\n",
        {("DBS109", 3)}, "rewrite"),
    "default-calls-a-qualified-volatile-function": (
        "CREATE FUNCTION app.stamp() " + _IMMUTABLE +
        "ALTER TABLE t ADD COLUMN d timestamptz DEFAULT public.stamp();\n",
        {("DBS109", 3)}, "rewrite"),
    # on the path app, public: the IMMUTABLE app.stamp made here comes first
    "default-calls-the-function-made-on-the-path": (
        "SET search_path TO app, public;\n"
        "CREATE FUNCTION stamp() " + _IMMUTABLE +
        "ALTER TABLE public.t ADD COLUMN d timestamptz DEFAULT stamp();\n",
        set(), "keep"),
    # the index built here is app.ix_c; public.ix_c is the database's, on public.t
    "drop-index-of-the-databases-table": (
        "SET search_path TO app, public;\n"
        "CREATE TABLE events (c text);\n"
        "CREATE INDEX ix_c ON events (c);\n"
        "DROP INDEX public.ix_c;\n",
        {("DBS103", 4)}, "lock"),
    # the view dropped is app.t; public.t is the database's table, rows and all
    "drop-if-exists-after-another-schemas-view": (
        "CREATE VIEW app.t AS SELECT 1 AS one;\n"
        "DROP VIEW app.t;\n"
        "DROP TABLE IF EXISTS public.t;\n",
        {("DBS201", 3)}, "drop"),
    "drop-if-exists-after-a-view-dropped-on-the-path": (
        "SET search_path TO app, public;\n"
        "CREATE VIEW t AS SELECT 1 AS one;\n"
        "DROP VIEW t;\n"
        "DROP TABLE IF EXISTS public.t;\n",
        {("DBS201", 4)}, "drop"),
    # the enum made here is app.mood; public.mood is the database's, used by public.t.m
    "drop-type-cascade-of-the-databases-enum": (
        "CREATE TYPE app.mood AS ENUM ('ok');\n"
        "DROP TYPE public.mood CASCADE;\n",
        {("DBS212", 2)}, "drop m"),
}


def _filenode(connection: psycopg.Connection[Any]) -> int:
    row = connection.execute("SELECT pg_relation_filenode('public.t'::regclass)").fetchone()
    assert row is not None
    return int(row[0])


def _done(connection: psycopg.Connection[Any], filenode: int) -> set[str]:
    """What the last statement did to public.t (its transaction still open)."""
    if connection.execute("SELECT to_regclass('public.t')").fetchone() == (None,):
        return {"drop"}
    done = set()
    if connection.execute("SELECT 1 FROM information_schema.columns WHERE table_schema = "
                          "'public' AND table_name = 't' AND column_name = 'm'"
                          ).fetchone() is None:
        done.add("drop m")
    if _filenode(connection) != filenode:
        done.add("rewrite")
    if connection.execute(
            "SELECT 1 FROM pg_locks WHERE relation = 'public.t'::regclass AND granted "
            "AND mode = 'AccessExclusiveLock' AND pid = pg_backend_pid()").fetchone():
        done.add("lock")
    return done


@pytest.mark.parametrize("case", list(CASES))
def test_a_relation_function_or_type_made_in_one_schema_says_nothing_of_another_schemas(
        postgresql: psycopg.Connection[Any], case: str) -> None:
    sql, expected, outcome = CASES[case]
    postgresql.execute(SCHEMA)
    postgresql.commit()
    before = introspect(postgresql)

    found = {(f.code, f.location.line) for f in lint_sql(sql, rules=RULES, before=before)}

    assert found == expected
    *earlier, last_statement = parser.split(sql, with_parser=True)
    for statement in earlier:
        postgresql.execute(statement)
    filenode = _filenode(postgresql)
    postgresql.execute(last_statement)
    done = _done(postgresql, filenode)
    assert "rewrite" not in done if outcome == "keep" else outcome in done
    postgresql.rollback()


# The database's public.t is a table: its rename is a table's, whatever app.t is.
def test_a_rename_of_the_databases_table_is_not_taken_for_another_schemas_view(
        postgresql: psycopg.Connection[Any]) -> None:
    postgresql.execute(SCHEMA)
    postgresql.commit()
    sql = ("CREATE VIEW app.t AS SELECT 1 AS one;\n"
           "ALTER TABLE public.t RENAME TO t_old;\n")
    for before in (introspect(postgresql), None):
        found = lint_sql(sql, rules=[table_renamed.RULE], before=before)
        assert [f.message.split("`")[0] for f in found] == ["Table "]
    postgresql.execute(sql)
    row = postgresql.execute("SELECT relkind FROM pg_class WHERE oid = 'public.t_old'::regclass"
                             ).fetchone()
    assert row == ("r",)
    postgresql.rollback()


# Without the database's schema: a type made (and renamed) in app says nothing of which
# columns `DROP TYPE public.mood CASCADE` drops: lint cannot tell, an error.
def test_a_type_made_in_another_schema_does_not_name_what_cascade_drops() -> None:
    sql = ("CREATE TYPE app.mood_old AS ENUM ('ok');\n"
           "ALTER TYPE app.mood_old RENAME TO mood;\n"
           "DROP TYPE public.mood CASCADE;\n")
    found = lint_sql(sql, rules=[drop_cascade.RULE])
    assert [(f.code, f.severity) for f in found] == [("DBS212", Severity.ERROR)]
    assert "any table column still of that type" in found[0].message

"""An unqualified name is the object of the first schema of the search_path holding one, as
PostgreSQL resolves it, even where lint knows no path from a `SET` or a database (task 524,
after task 491): then the path is PostgreSQL's default, `"$user", public`, or the one an
`ALTER DATABASE/ROLE ... SET search_path` stored for the sessions that start later. A
function or sequence of a schema off the path is not the one a name reaches: lint does not
know that one, it never takes another schema's. Before, with no path known, a name matched
any schema's: a VOLATILE `audit.now_utc()` made `DEFAULT now_utc()` a rewrite (DBS109),
`CREATE SEQUENCE app.s` hid that `DROP SEQUENCE s CASCADE` drops `public.s` and the default
taking numbers from it (DBS212), an inlinable `app.keep()` hid that the database's
never-inlined `public.keep()` keeps `now()` in an index (DBS133), and an `ALTER DATABASE`
of a setup file was not read.

Each verdict is held against PostgreSQL 18: the table's relfilenode, the column default
left, the index PostgreSQL refuses or builds.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pglast import parser
from psycopg.conninfo import make_conninfo
from pytest_postgresql.executors.noop import NoopExecutor

from dbsafe import commands
from dbsafe.config import Settings
from dbsafe.lint import lint_sql
from dbsafe.lint.engine import History
from dbsafe.lint.rules import (
    column_added_with_table_rewrite,
    drop_cascade,
    non_immutable_function_in_index,
)
from dbsafe.lint.statement import parse_statement
from dbsafe.schema.introspect import introspect
from tests.helpers import module_database

RULES = [column_added_with_table_rewrite.RULE, drop_cascade.RULE,
         non_immutable_function_in_index.RULE]

_VOLATILE = ("RETURNS timestamptz LANGUAGE plpgsql VOLATILE "
             "AS $$ BEGIN RETURN clock_timestamp(); END $$;\n")
_IMMUTABLE = ("RETURNS timestamptz LANGUAGE plpgsql IMMUTABLE "
              "AS $$ BEGIN RETURN '2020-01-01'; END $$;\n")

SCHEMA = f"""
CREATE SCHEMA app;
CREATE SCHEMA audit;
CREATE FUNCTION public.now_utc() {_IMMUTABLE}
CREATE FUNCTION audit.now_utc() {_VOLATILE}
CREATE SEQUENCE public.s;
CREATE FUNCTION public.label() RETURNS text LANGUAGE sql AS 'SELECT ''x''';
CREATE TABLE public.t (id int PRIMARY KEY, c text, n bigint DEFAULT nextval('public.s'),
                       l text DEFAULT public.label());
INSERT INTO public.t (id, c) SELECT i, 'x' FROM generate_series(1, 100) AS i;
-- never inlined (PL/pgSQL): keeps its argument in an index expression
CREATE FUNCTION public.keep(text) RETURNS text LANGUAGE plpgsql IMMUTABLE
    AS $$ BEGIN RETURN 'k'; END $$;
-- STRICT: a call with a NULL argument folds to NULL
CREATE FUNCTION public.nul(text) RETURNS text LANGUAGE plpgsql IMMUTABLE STRICT
    AS $$ BEGIN RETURN 'n'; END $$;
"""

# name -> (migration, lint it with the database's schema?, the findings (code, line), what
# PostgreSQL does with its last line: "rewrite" public.t, "keep" its file, "drop n" / "drop
# l" the default of that column, "refuse" (42P17), "build")
CASES = {
    # on the default path `now_utc` is public's (IMMUTABLE): audit's is not reached
    "default-of-a-function-off-the-default-path": (
        f"CREATE OR REPLACE FUNCTION audit.now_utc() {_VOLATILE}"
        "ALTER TABLE t ADD COLUMN d timestamptz DEFAULT now_utc();\n",
        False, set(), "keep"),
    "default-of-a-function-on-the-path-set": (
        "SET search_path TO audit, public;\n"
        f"CREATE OR REPLACE FUNCTION audit.now_utc() {_VOLATILE}"
        "ALTER TABLE public.t ADD COLUMN d timestamptz DEFAULT now_utc();\n",
        False, {("DBS109", 3)}, "rewrite"),
    # `s` on the default path is public.s: its column default goes with it
    "drop-sequence-of-the-default-path": (
        "CREATE SEQUENCE app.s;\n"
        "DROP SEQUENCE s CASCADE;\n",
        False, {("DBS212", 2)}, "drop n"),
    "drop-sequence-made-here": (
        "SET search_path TO app, public;\n"
        "CREATE SEQUENCE s;\n"
        "DROP SEQUENCE s CASCADE;\n",
        False, set(), "keep"),
    "drop-function-of-the-default-path": (
        "CREATE FUNCTION app.label() RETURNS text LANGUAGE sql AS 'SELECT ''y''';\n"
        "DROP FUNCTION label CASCADE;\n",
        False, {("DBS212", 2)}, "drop l"),
    # `keep` on the path public is the database's PL/pgSQL one: now() stays in the index
    "index-calls-the-databases-never-inlined-function": (
        "CREATE FUNCTION app.keep(text) RETURNS text LANGUAGE sql IMMUTABLE "
        "AS 'SELECT ''k''';\n"
        "CREATE INDEX ix_keep ON t (keep(now()::text));\n",
        True, {("DBS133", 2)}, "refuse"),
    # `nul` on the path public is the database's STRICT one: nul(NULL) folds to NULL, and
    # now() with it
    "index-calls-the-databases-strict-function": (
        "CREATE FUNCTION app.nul(text) RETURNS text LANGUAGE plpgsql IMMUTABLE "
        "AS $$ BEGIN RETURN 'n'; END $$;\n"
        "CREATE INDEX ix_nul ON t ((nul(NULL) || now()::text));\n",
        True, set(), "build"),
}


@pytest.fixture(scope="module")
def database(pg_server: NoopExecutor) -> Iterator[psycopg.Connection[Any]]:
    with module_database(pg_server, "dbsafe_search_path_resolution", SCHEMA) as conn:
        conn.autocommit = False
        yield conn


def _done(conn: psycopg.Connection[Any], filenode: object) -> set[str]:
    """What the last statement did to public.t (its transaction still open)."""
    done = set()
    if conn.execute("SELECT pg_relation_filenode('public.t')").fetchone() != filenode:
        done.add("rewrite")
    defaults = {row[0] for row in conn.execute(
        "SELECT a.attname FROM pg_attrdef AS d JOIN pg_attribute AS a "
        "ON (a.attrelid, a.attnum) = (d.adrelid, d.adnum) WHERE d.adrelid = 'public.t'::regclass")}
    done.update(f"drop {column}" for column in ("n", "l") if column not in defaults)
    return done


@pytest.mark.db
@pytest.mark.parametrize("case", list(CASES))
def test_an_unqualified_name_is_the_one_of_the_path(database: psycopg.Connection[Any],
                                                    case: str) -> None:
    sql, with_schema, expected, outcome = CASES[case]
    before = introspect(database) if with_schema else None
    database.rollback()

    found = {(f.code, f.location.line) for f in lint_sql(sql, rules=RULES, before=before)}

    assert found == expected
    *earlier, last_statement = parser.split(sql, with_parser=True)
    try:
        for statement in earlier:
            database.execute(statement)
        filenode = database.execute("SELECT pg_relation_filenode('public.t')").fetchone()
        try:
            database.execute(last_statement)
        except psycopg.errors.InvalidObjectDefinition:  # (42P17: not IMMUTABLE)
            assert outcome == "refuse"
            return
        done = _done(database, filenode)
        assert outcome not in ("refuse",)
        if outcome == "build":
            assert database.execute("SELECT to_regclass('public.ix_nul')").fetchone() != (None,)
        elif outcome == "keep":
            assert done == set()
        else:
            assert outcome in done
    finally:
        database.rollback()


SETUP = f"""\
CREATE SCHEMA audit;
CREATE FUNCTION public.now_utc() {_IMMUTABLE}
CREATE FUNCTION audit.now_utc() {_VOLATILE}
CREATE TABLE t (id int PRIMARY KEY);
"""
ADD = "ALTER TABLE t ADD COLUMN d timestamptz DEFAULT now_utc();\n"


def _lint(tmp_path: Path, setup: str, *migrations: str) -> set[tuple[str, str, int]]:
    folder = tmp_path / "db"
    folder.mkdir()
    for number, sql in enumerate(migrations, start=1):
        (folder / f"V{number}__change.sql").write_text(sql)
    (tmp_path / "base.sql").write_text(setup)
    settings = Settings(project_root=tmp_path, setup_sql=(tmp_path / "base.sql",),
                        select=("DBS109",))
    return {(f.code, f.location.path, f.location.line)
            for f in commands.lint(settings, [folder]).findings if f.location is not None}


# The migrations run in a session started after the setup file's: `now_utc` on the path
# the database stores, `audit, public`, is audit's VOLATILE one. Without it, public's.
@pytest.mark.parametrize(("stored", "expected"), [
    ("ALTER DATABASE app SET search_path = audit, public;\n",
     {("DBS109", "db/V1__change.sql", 1)}),
    ("ALTER ROLE ALL IN DATABASE app SET search_path = audit, public;\n",
     {("DBS109", "db/V1__change.sql", 1)}),
    ("", set()),
    ("ALTER DATABASE app SET search_path = audit, public;\n"
     "ALTER DATABASE app RESET search_path;\n", set()),
])
def test_a_setup_files_stored_search_path_is_the_migrations_sessions(
        tmp_path: Path, stored: str, expected: set[tuple[str, str, int]]) -> None:
    assert _lint(tmp_path, SETUP + stored, ADD) == expected


# A migration's ALTER DATABASE is for later sessions: not its own (the rest of it runs under
# `public`), the next migration's (deployed later, on a new session) it is.
def test_a_migrations_stored_search_path_is_the_next_ones(tmp_path: Path) -> None:
    alter = "ALTER DATABASE app SET search_path = audit, public;\n"
    assert _lint(tmp_path, SETUP, alter + ADD, ADD.replace(" d ", " e ")) == {
        ("DBS109", "db/V2__change.sql", 1)}


# A role's stored path is the migrations' only if they run as that role: offline lint does
# not know, so where it differs from the database's it cannot tell (no schema is taken).
def test_a_roles_stored_search_path_is_not_taken_for_the_migrations() -> None:
    history = History()
    history.apply(parse_statement("ALTER ROLE deploy SET search_path = audit, public"))
    history.new_session()
    assert history.lookup_path() == ()
    history = History()
    history.apply(parse_statement("ALTER ROLE deploy SET search_path = \"$user\", public"))
    history.new_session()
    assert history.lookup_path() == ("public",)


@pytest.mark.db
def test_postgresql_gives_the_stored_path_to_later_sessions_only(pg_server: NoopExecutor) -> None:
    with module_database(pg_server, "dbsafe_stored_search_path", SETUP
                         + "INSERT INTO t SELECT generate_series(1, 10);") as conn:
        conninfo = make_conninfo(conn.info.dsn, password=pg_server.password or None)
        files = "SELECT pg_relation_filenode('public.t')"
        with psycopg.connect(conninfo) as same:
            same.execute("ALTER DATABASE dbsafe_stored_search_path "
                         "SET search_path = audit, public")
            same.commit()
            before = same.execute(files).fetchone()
            same.execute(ADD)  # (this session: public's IMMUTABLE now_utc, no rewrite)
            assert same.execute(files).fetchone() == before
            same.rollback()
        with psycopg.connect(conninfo) as later:
            before = later.execute(files).fetchone()
            later.execute(ADD)  # (a later session: audit's VOLATILE one, every row rewritten)
            assert later.execute(files).fetchone() != before
            later.rollback()

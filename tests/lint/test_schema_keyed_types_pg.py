"""What lint learned of a domain, an enum or a function a migration made is that schema's,
not another schema's of the same name (task 479, after task 465's tables). The history kept
domains, the enums made here and functions' definitions by the bare name: `CREATE DOMAIN
app.code AS text` answered for the database's constrained `public.code` (a type change to it
judged to keep the rows), `CREATE TYPE app.mood` made the database's `public.mood`'s new value
look usable at once (DBS113 silent), and a STABLE `app.f()` made here was taken for
`public.f()` in an index (DBS133 on an index PostgreSQL builds), or an IMMUTABLE one hid that
`public.f()` is not (none on one it refuses). A TRUNCATE of `app.t` left the database's
`public.t` counted as empty.

Each migration runs on PostgreSQL 18 too: it fails, rewrites or scans exactly where the
findings say so.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from pglast import parser

from dbsafe.lint import lint_sql
from dbsafe.lint.rules import (
    column_added_with_table_rewrite,
    column_type_change_rewrites_table,
    enum_value_used_in_same_transaction,
    non_immutable_function_in_index,
)
from dbsafe.schema.introspect import introspect

pytestmark = pytest.mark.db

SCHEMA = """
CREATE SCHEMA app;
CREATE DOMAIN public.code AS text CHECK (length(VALUE) < 10);
CREATE DOMAIN public.label AS text;
CREATE TYPE public.mood AS ENUM ('ok');
CREATE FUNCTION public.shout(t text) RETURNS text LANGUAGE plpgsql STABLE
    AS $$ BEGIN RETURN upper(t); END $$;
CREATE FUNCTION public.calm(t text) RETURNS text LANGUAGE plpgsql IMMUTABLE
    AS $$ BEGIN RETURN lower(t); END $$;
CREATE TABLE public.t (id int PRIMARY KEY, c text, l text, m public.mood);
INSERT INTO public.t SELECT i, 'x', 'y', 'ok' FROM generate_series(1, 100) AS i;
CREATE TABLE app.t (id int PRIMARY KEY);
"""

RULES = [column_added_with_table_rewrite.RULE, column_type_change_rewrites_table.RULE,
         enum_value_used_in_same_transaction.RULE, non_immutable_function_in_index.RULE]

# name -> (migration, the findings (code, line), what PostgreSQL does with its last line:
# "rewrite" of public.t, "keep" its file, or the SQLSTATE it refuses the statement with)
CASES = {
    # `code` is the database's constrained public.code: every row is checked (rewritten)
    "type-change-to-the-databases-constrained-domain": (
        "CREATE DOMAIN app.code AS text;\n"
        "ALTER TABLE t ALTER COLUMN c TYPE code;\n",
        {("DBS110", 2)}, "rewrite"),
    # `label` is the database's unconstrained public.label: catalog work only
    "type-change-to-the-databases-plain-domain": (
        "CREATE DOMAIN app.label AS text CHECK (VALUE <> '');\n"
        "ALTER TABLE t ALTER COLUMN l TYPE label;\n",
        set(), "keep"),
    # under the path app, `code` is the new, plain app.code
    "type-change-to-the-domain-made-on-the-path": (
        "SET search_path TO app, public;\n"
        "CREATE DOMAIN code AS text;\n"
        "ALTER TABLE public.t ALTER COLUMN c TYPE code;\n",
        set(), "keep"),
    # app.mood is new; public.mood's new value cannot be used before COMMIT
    "enum-value-of-the-other-schemas-type": (
        "BEGIN;\n"
        "CREATE TYPE app.mood AS ENUM ('ok');\n"
        "ALTER TYPE public.mood ADD VALUE 'sad';\n"
        "UPDATE public.t SET m = 'sad';\n",
        {("DBS113", 3)}, "55P04"),
    # an unqualified ALTER TYPE on the path app is the new app.mood: usable at once
    "enum-value-of-the-type-made-on-the-path": (
        "BEGIN;\n"
        "SET LOCAL search_path TO app, public;\n"
        "CREATE TYPE mood AS ENUM ('ok');\n"
        "ALTER TYPE mood ADD VALUE 'sad';\n"
        "SELECT 'sad'::mood;\n",
        set(), "keep"),
    # public.shout is STABLE (app.shout, IMMUTABLE, is not the one called)
    "index-calls-the-databases-stable-function": (
        "CREATE FUNCTION app.shout(t text) RETURNS text LANGUAGE plpgsql IMMUTABLE\n"
        "    AS $$ BEGIN RETURN upper(t); END $$;\n"
        "CREATE INDEX ix_t_shout ON t (public.shout(c));\n",
        {("DBS133", 3)}, "42P17"),
    # public.calm is IMMUTABLE (app.calm, STABLE, is not the one called)
    "index-calls-the-databases-immutable-function": (
        "CREATE FUNCTION app.calm(t text) RETURNS text LANGUAGE plpgsql STABLE\n"
        "    AS $$ BEGIN RETURN lower(t); END $$;\n"
        "CREATE INDEX ix_t_calm ON t (public.calm(c));\n",
        set(), "keep"),
    # unqualified on the path public: app.calm is not on it
    "index-calls-a-function-on-the-path": (
        "CREATE FUNCTION app.calm(t text) RETURNS text LANGUAGE plpgsql STABLE\n"
        "    AS $$ BEGIN RETURN lower(t); END $$;\n"
        "SET search_path TO public;\n"
        "CREATE INDEX ix_t_calm ON t (calm(c));\n",
        set(), "keep"),
    # app.t is emptied; `t` on the path public is the database's public.t, rows and all
    "truncate-of-the-other-schemas-table": (
        "BEGIN;\n"
        "TRUNCATE app.t;\n"
        "ALTER TABLE t ADD COLUMN token uuid DEFAULT gen_random_uuid();\n",
        {("DBS109", 3)}, "rewrite"),
}


def _filenode(connection: psycopg.Connection[Any]) -> int:
    row = connection.execute("SELECT pg_relation_filenode('public.t'::regclass)").fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize("case", list(CASES))
def test_a_type_or_function_made_in_one_schema_says_nothing_of_another_schemas_of_its_name(
        postgresql: psycopg.Connection[Any], case: str) -> None:
    sql, expected, outcome = CASES[case]
    if case == "enum-value-of-the-type-made-on-the-path" \
            and postgresql.info.server_version < 180000:
        pytest.skip("PostgreSQL 15 refuses a new enum value in the transaction that made "
                    "its type (55P04); 18 takes it")
    postgresql.execute(SCHEMA)
    postgresql.commit()
    before = introspect(postgresql)

    found = {(f.code, f.location.line) for f in lint_sql(sql, rules=RULES, before=before)}

    assert found == expected
    filenode = _filenode(postgresql)
    *earlier, last_statement = [s for s in parser.split(sql, with_parser=True)
                                if s.strip().upper() != "BEGIN"]
    for statement in earlier:
        postgresql.execute(statement)
    if outcome in ("rewrite", "keep"):
        postgresql.execute(last_statement)
        assert (_filenode(postgresql) != filenode) == (outcome == "rewrite")
    else:
        with pytest.raises(psycopg.Error) as refused:
            postgresql.execute(last_statement)
        assert refused.value.sqlstate == outcome
    postgresql.rollback()


# Without the database's schema: a qualified call of a function lint does not know in that
# schema is not judged by another schema's function of the name.
def test_a_qualified_call_is_not_judged_by_another_schemas_function() -> None:
    sql = ("CREATE FUNCTION app.shout(t text) RETURNS text LANGUAGE plpgsql STABLE\n"
           "    AS $$ BEGIN RETURN upper(t); END $$;\n"
           "CREATE INDEX ix_t_shout ON t (public.shout(c));\n"
           "CREATE INDEX ix_t_shout_app ON t (app.shout(c));\n")
    found = {(f.code, f.location.line) for f in lint_sql(
        sql, rules=[non_immutable_function_in_index.RULE])}
    assert found == {("DBS133", 4)}

"""What lint learned of a table the migration made is that table's, not another schema's of
the same name (task 465). The record of the relations a migration created was keyed by the
bare name: after `CREATE TABLE app.users` (or an unqualified `CREATE TABLE profiles` on
`public`), `public.users` (or `app.profiles`) counted as new -- its index build, its rewrite
unflagged -- and the column facts of the one made answered for the other (a type change judged
from the wrong table's type).

Each migration runs on PostgreSQL 18 too: the rewrite (a new relfilenode) or the lock the
finding claims happens on the database's table.
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
    non_concurrent_index_creation,
)
from dbsafe.schema.introspect import introspect

pytestmark = pytest.mark.db

SCHEMA = """
CREATE SCHEMA app;
CREATE TABLE public.users (id int PRIMARY KEY, code int, label varchar(10));
CREATE TABLE app.profiles (id int PRIMARY KEY, code int);
INSERT INTO public.users SELECT i, i, 'x' FROM generate_series(1, 100) AS i;
INSERT INTO app.profiles SELECT i, i FROM generate_series(1, 100) AS i;
"""

RULES = [column_added_with_table_rewrite.RULE, column_type_change_rewrites_table.RULE,
         non_concurrent_index_creation.RULE]

# name -> (migration, the findings (code, line), the database's table its last line works on)
CASES = {
    # app.users is new; public.users, the database's, is rewritten (it was taken for new)
    "volatile-default-on-the-other-schemas-table": (
        "CREATE TABLE app.users (id int, code bigint);\n"
        "ALTER TABLE public.users ADD COLUMN token uuid DEFAULT gen_random_uuid();\n",
        {("DBS109", 2)}, "public.users"),
    # an unqualified CREATE on public; the index on app.profiles blocks its writes
    "index-on-the-other-schemas-table": (
        "CREATE TABLE profiles (id int, code int);\n"
        "CREATE INDEX ix_profiles_code ON app.profiles (code);\n",
        {("DBS101", 2)}, "app.profiles"),
    # public.users.code is int (app.users' bigint was read for it: no rewrite, a miss)
    "type-change-read-from-the-right-table": (
        "CREATE TABLE app.users (id int, code bigint, label int);\n"
        "ALTER TABLE public.users ALTER COLUMN code TYPE bigint;\n",
        {("DBS110", 2)}, "public.users"),
    # public.users.label is varchar(10): widening it keeps the rows (app.users' int is not it)
    "no-rewrite-read-from-the-right-table": (
        "CREATE TABLE app.users (id int, code bigint, label int);\n"
        "ALTER TABLE public.users ALTER COLUMN label TYPE varchar(20);\n",
        set(), "public.users"),
    # under the path app, `users` is the new app.users; public.users is the database's
    "search-path-made-here-and-the-databases": (
        "SET search_path TO app;\n"
        "CREATE TABLE users (id int, code int);\n"
        "CREATE INDEX ix_new_users_code ON users (code);\n"
        "CREATE INDEX ix_users_code ON public.users (code);\n",
        {("DBS101", 4)}, "public.users"),
}


def _filenode(connection: psycopg.Connection[Any], table: str) -> int:
    row = connection.execute("SELECT pg_relation_filenode(%s::regclass)", (table,)).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize("case", list(CASES))
def test_a_table_made_in_one_schema_says_nothing_of_another_schemas_of_its_name(
        postgresql: psycopg.Connection[Any], case: str) -> None:
    sql, expected, table = CASES[case]
    postgresql.execute(SCHEMA)
    postgresql.commit()
    before = introspect(postgresql)

    found = {(f.code, f.location.line) for f in lint_sql(sql, rules=RULES, before=before)}

    assert found == expected
    # PostgreSQL: the database's table is rewritten exactly where DBS109/DBS110 say so, and
    # a plain index build holds SHARE on it
    filenode = _filenode(postgresql, table)
    *earlier, last_statement = parser.split(sql, with_parser=True)
    for statement in earlier:
        postgresql.execute(statement)
    postgresql.execute(last_statement)
    rewritten = _filenode(postgresql, table) != filenode
    assert rewritten == any(code in ("DBS109", "DBS110") for code, _ in expected)
    if ("DBS101", len(earlier) + 1) in expected:
        assert postgresql.execute(
            "SELECT mode FROM pg_locks WHERE pid = pg_backend_pid() "
            "AND relation = %s::regclass", (table,)).fetchall() == [("ShareLock",)]
    postgresql.rollback()

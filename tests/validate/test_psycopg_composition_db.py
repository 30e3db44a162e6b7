"""psycopg's `sql.SQL("SELECT {} FROM {}").format(sql.Identifier("name"), ...)` whose every
piece the code shows (`Identifier`, `Literal`, `Placeholder`, `SQL`, a `.join` of them) is
the statement psycopg renders, and is checked: it was a DBS304 note and its misspelt names
went unreported. The text built is the one psycopg's own `as_string(conn)` renders; a piece
known only at run time (`sql.Identifier(table)`) stays a hole, read as before.
Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import psycopg2
import pytest
from psycopg import sql  # noqa: F401 -- read by eval()
from psycopg2 import sql as sql2  # noqa: F401 -- read by eval()

from dbsafe.extract.python import sql_in_python
from tests.helpers import validate_module

_SCHEMA = "CREATE TABLE users (id int PRIMARY KEY, name text);\n"

# Each expression as the application writes it; psycopg renders each the same way every time.
_COMPOSED = [
    'sql.SQL("SELECT {} FROM {}").format(sql.Identifier("name"), sql.Identifier("users"))',
    'sql.SQL("SELECT id FROM {}").format(sql.Identifier("public", "users"))',
    'sql.SQL("SELECT {} FROM {}").format(sql.Identifier(\'we"ird\'), sql.Identifier("Users"))',
    'sql.SQL("SELECT id FROM users WHERE name = {} AND id > {}").format('
    'sql.Literal("it\'s"), sql.Literal(-1))',
    'sql.SQL("SELECT id FROM users WHERE name = {} OR {} OR id = {}").format('
    'sql.Literal(None), sql.Literal(True), sql.Literal(7))',
    'sql.SQL("SELECT {} FROM users WHERE id = {}").format('
    'sql.SQL(", ").join([sql.Identifier("id"), sql.Identifier("name")]), sql.Placeholder())',
    'sql.SQL("SELECT {fields} FROM {table} WHERE id = {id}").format(fields=sql.SQL(",").join('
    'map(sql.Identifier, ["id", "name"])), table=sql.Identifier("users"), '
    'id=sql.Placeholder("id"))',
    'sql.SQL("SELECT {0} FROM users ORDER BY {0} {{}}").format(sql.Identifier("id"))',
    'sql.SQL("SELECT {} FROM users").format(sql.SQL("{}.{}").format('
    'sql.Identifier("users"), sql.Identifier("id")))',
    'sql.SQL("SELECT {} FROM users").format(sql.Composed([sql.SQL("count("), '
    'sql.Identifier("id"), sql.SQL(")")]))',
    'sql2.SQL("SELECT {} FROM {} WHERE name = {}").format(sql2.Identifier("id"), '
    'sql2.Identifier("public", "users"), sql2.Literal("x"))',
]


@pytest.mark.db
@pytest.mark.parametrize("expression", _COMPOSED)
def test_the_statement_built_is_the_one_psycopg_renders(
        expression: str, database_url: str) -> None:
    source = (f"from psycopg import sql\nfrom psycopg2 import sql as sql2\n\n\n"
              f"def read(cur):\n    cur.execute({expression})\n")
    fragments = sql_in_python(source, "repo.py").fragments
    assert [f.dynamic for f in fragments] == [None]
    composed = eval(expression)
    if isinstance(composed, psycopg2.sql.Composable):
        with psycopg2.connect(database_url) as conn:
            rendered = composed.as_string(conn)
        conn.close()
    else:
        with psycopg.connect(database_url) as conn:
            rendered = composed.as_string(conn)
    assert fragments[0].sql == rendered


_MODULE = '''\
from psycopg import sql
from psycopg.sql import Identifier, SQL

TABLE = "users"


def read(cur, table, name):
    cur.execute(sql.SQL("SELECT {} FROM {}").format(sql.Identifier("nmae"), sql.Identifier("users")))
    cur.execute(sql.SQL("SELECT id FROM {}").format(sql.Identifier("public", "userz")))
    cur.execute(SQL("SELECT {} FROM {}").format(
        SQL(", ").join(map(Identifier, ["id", "titel"])), Identifier(TABLE)))
    query = sql.SQL("SELECT id FROM {t} WHERE nmae = {v}").format(
        t=sql.Identifier("users"), v=sql.Literal(name))
    cur.execute(query)
    cur.execute(sql.SQL("SELECT {} FROM {} WHERE id = {}").format(
        sql.Identifier("name"), sql.Identifier("users"), sql.Placeholder()), (1,))
    cur.execute(sql.SQL("SELECT {} FROM {}").format(sql.Identifier("nmae"), sql.Identifier(table)))
    cur.execute(sql.SQL("SELECT {} FROM users").format(sql.Identifier("nmae") + sql.SQL("")))


class Identifierish:
    def Identifier(self, name):
        return name


def other(cur, helper):
    cur.execute(sql.SQL("SELECT {} FROM users").format(helper.Identifier("nmae")))


def test_rendering(conn, cur):
    q = sql.SQL("SELECT {} FROM {}").format(sql.Identifier("field"), sql.Identifier("table"))
    assert q.as_string(conn) == 'SELECT "field" FROM "table"'
    s = sql.SQL("SELECT nmae FROM users WHERE id = {}").format(sql.Literal(1))
    rendered = s.as_string(conn)
    assert rendered == "SELECT nmae FROM users WHERE id = 1"
    sent = sql.SQL("SELECT {} FROM users").format(sql.Identifier("titel"))
    cur.execute(sent.as_string(conn))
'''


@pytest.mark.db
def test_a_composition_of_pieces_the_code_shows_is_checked(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "repo.py", _MODULE)
    found = sorted((f.code, f.location.line, f.subject) for f in report.findings)
    assert [f for f in found if f[0] != "DBS304"] == [
        ("DBS301", 9, "public.userz"), ("DBS302", 8, "public.users.nmae"),
        ("DBS302", 11, "public.users.titel"), ("DBS302", 12, "public.users.nmae"),
        ("DBS302", 36, "public.users.titel")]
    # every finding confirmed by PostgreSQL's PREPARE of the text psycopg sends
    assert all(dict(f.context).get("PostgreSQL", "")[:5] in ("42703", "42P01")
               for f in report.findings if f.code != "DBS304")
    # a composition only rendered for a test's assertions (psycopg's own tests) is not sent;
    # a table named at run time, a piece psycopg's `+` builds, and a method that only has
    # psycopg's name stay SQL built at run time
    assert [line for code, line, _ in found if code == "DBS304"] == [17, 18, 27]


_PLACED = """\
from psycopg import sql
from psycopg.sql import Identifier, SQL

QUERY = "SELECT {} FROM users WHERE id = {}"
TABLE = "userz"


def read(cur):
    cur.execute(sql.SQL(QUERY).format(sql.Identifier("nmae"), sql.Placeholder()), (1,))
    cur.execute(sql.SQL("SELECT id FROM {}").format(sql.Identifier(TABLE)))
    cur.execute(sql.SQL("SELECT {} FROM users").format(sql.Identifier("users", "nmae")))
    cur.execute(
        SQL("SELECT {fields} FROM {table}").format(
            table=Identifier("users"),
            fields=SQL(", ").join(map(Identifier, ["id", "name", "titel"])),
        )
    )
    cur.execute(SQL("SELECT {} FROM users").format(SQL("id, nmae")))
    cur.execute(SQL("SELECT {} FROM users").format(Identifier('we"ird')))
"""


@pytest.mark.db
def test_a_name_a_composition_puts_in_a_field_is_reported_where_the_code_writes_it(
        database_url: str, tmp_path: Path) -> None:
    # It was reported at the field it fills: `{}` in QUERY, three lines above the call, or
    # a column of the template's text past the field (`FROM users` for `"users"."nmae"`).
    report = validate_module(database_url, tmp_path, _SCHEMA, "repo.py", _PLACED)
    lines = _PLACED.splitlines()
    found = sorted((f.location.line, f.location.column, f.subject) for f in report.findings)
    assert [(line, subject) for line, _, subject in found] == [
        (9, "public.users.nmae"), (10, "public.userz"), (11, "public.users.nmae"),
        (15, "public.users.titel"), (18, "public.users.nmae"), (19, 'public.users.we"ird')]
    written = [lines[line - 1][column - 1:] for line, column, _ in found]
    assert written == ['"nmae"), sql.Placeholder()), (1,))', "TABLE)))", '"nmae")))',
                       '"titel"])),', 'nmae")))', "'we\"ird')))"]
    assert all(dict(f.context).get("PostgreSQL", "")[:5] in ("42703", "42P01")
               for f in report.findings)


# OpenSlides' filters (OpenSlides/openslides-backend 755f68b3a,
# `services/database/query_helper.py`, `database_writer.py`) are psycopg pieces that start
# with a column and compare it, `sql.SQL("{table_column} ILIKE %s::text")`, composed into a
# query elsewhere: three of its DBS304 notes "the statement is built at run time" were on
# such expressions. A piece whose first hole may be a whole statement (`{query} WHERE ...`)
# is still noted.
_FILTER_PIECES = """\
from psycopg import sql


def condition(column, operator, value):
    table_column = sql.Identifier(column)
    if operator == "~=":
        return sql.SQL("LOWER({table_column}) = LOWER(%s::text)").format(table_column=table_column)
    if operator == "%=":
        return sql.SQL("{table_column} ILIKE %s::text").format(table_column=table_column)
    if operator == "in":
        return sql.SQL("{table_column} = ANY(%s)").format(table_column=table_column)
    if operator == "not":
        return sql.SQL("{table_column} NOT LIKE %s").format(table_column=table_column)
    if operator == "both":
        return sql.SQL("{left} AND {right}").format(left=value[0], right=value[1])
    return sql.SQL("{table_column}::text || %s").format(table_column=table_column)


def narrowed(cur, query, where):
    cur.execute(sql.SQL("{query} WHERE {where}").format(query=query, where=where))
"""


@pytest.mark.db
def test_a_piece_comparing_the_operand_it_starts_with_is_no_statement(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "query_helper.py", _FILTER_PIECES)
    assert [(f.code, f.location.line, f.message) for f in report.findings] == [
        ("DBS304", 20, "SQL built at run time is not validated: the statement "
                       '`"{query} WHERE {where}"` is built at run time.')]

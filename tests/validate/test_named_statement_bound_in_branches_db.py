"""A statement literal held in a name and extended where it is sent is never read alone.

Task 457 left `if a: sql = "SELECT ... FROM users u"` / `else: sql = "SELECT ... FROM admins
u"`, then `cur.execute(sql + " JOIN teams t ON t.id = u.team_id WHERE t.name = %s", (x,))`:
each branch's literal was read as if it were the whole statement, so a literal that is only
the head (`SELECT u.id, t.name FROM users u`, whose `t` the rest joins) gave a false DBS302
(`t` unknown), blocking a merge. Each path's literal is now read with the rest, one statement
per path; a literal the name holds where it is built into a longer string some other way
(`"%s JOIN ..." % (sql,)`, `"{} JOIN ...".format(sql)`, `" ".join([sql, "JOIN ..."])`,
`f"{sql} JOIN ..."`, `sql % (...)`) is not read alone either. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

_DDL = """
CREATE TABLE teams (id int PRIMARY KEY, name text);
CREATE TABLE users (id int PRIMARY KEY, team_id int);
CREATE TABLE admins (id int PRIMARY KEY, team_id int);
CREATE TABLE guests (id int PRIMARY KEY);
"""

_APP = '''\
def where_joined(cur, a, x):
    if a:
        sql = "SELECT u.id FROM users u"
    else:
        sql = "SELECT u.id FROM admins u"
    cur.execute(sql + " JOIN teams t ON t.id = u.team_id WHERE t.name = %s", (x,))


def head_only(cur, a, b):
    if a:
        sql = "SELECT u.id, t.name FROM users u"
    elif b:
        sql = "SELECT u.id, t.name FROM admins u"
    else:
        sql = "SELECT u.id, t.name FROM guests u"
    cur.execute(sql + " JOIN teams t ON t.id = u.team_id")


def formatted_in(cur):
    sql = "SELECT u.id, t.name FROM users u"
    cur.execute("%s JOIN teams t ON t.id = u.team_id" % (sql,))


def format_call(cur):
    sql = "SELECT u.id, t.name FROM users u"
    cur.execute("{} JOIN teams t ON t.id = u.team_id".format(sql))


def joined(cur):
    sql = "SELECT u.id, t.name FROM users u"
    cur.execute(" ".join([sql, "JOIN teams t ON t.id = u.team_id"]))


def f_string(cur, a):
    if a:
        sql = "SELECT u.id, t.name FROM users u"
    else:
        sql = "SELECT u.id, t.name FROM admins u"
    cur.execute(f"{sql} JOIN teams t ON t.id = u.team_id")
'''

# What each path sends (psycopg's `%s` as PostgreSQL's `$1`).
_SENT = (
    "SELECT u.id FROM users u JOIN teams t ON t.id = u.team_id WHERE t.name = $1",
    "SELECT u.id FROM admins u JOIN teams t ON t.id = u.team_id WHERE t.name = $1",
    "SELECT u.id, t.name FROM users u JOIN teams t ON t.id = u.team_id",
    "SELECT u.id, t.name FROM admins u JOIN teams t ON t.id = u.team_id",
)


@pytest.mark.db
def test_a_literal_bound_in_branches_is_read_with_what_the_call_adds(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _DDL, "app.py", _APP)
    found = sorted((f.code, f.location.line, f.location.column, f.subject or f.message)
                   for f in report.findings if f.location)
    assert found == [
        # `guests` has no `team_id`: that path's statement, read with the JOIN, is refused
        ("DBS302", 16, 50, "public.guests.team_id"),
        # the head is built into a longer string at run time: a note for the whole
        ("DBS304", 21, 17, "SQL built at run time is not validated: the statement "
                           '`"%s JOIN teams t ON t.id = u.team_id" % (sql,)` is built at '
                           "run time."),
        ("DBS304", 26, 17, "SQL built at run time is not validated: the statement "
                           '`"{} JOIN teams t ON t.id = u.team_id".format(sql)` is built '
                           "at run time."),
        ("DBS304", 39, 17, "SQL built at run time is not validated: the statement "
                           '`f"{sql} JOIN teams t ON t.id = u.team_id"` is built at run '
                           "time."),
    ], "\n".join(map(repr, found))
    with psycopg.connect(database_url, autocommit=True) as conn:
        for number, statement in enumerate(_SENT):
            conn.execute(f"PREPARE sent{number} AS {statement}")
        with pytest.raises(psycopg.errors.UndefinedColumn):
            conn.execute("PREPARE refused AS SELECT u.id, t.name FROM guests u "
                         "JOIN teams t ON t.id = u.team_id")
        # each literal alone, as it was read, is refused: `t` is the rest's
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("PREPARE alone AS SELECT u.id, t.name FROM users u")

"""A statement held in a name and extended at the call (`cur.execute(sql + " ORDER BY id")`,
`cur.execute(query % (clause,), args)`) is read as the whole text sent, never the piece.

Task 455 saw `cur.execute(sql + " ORDER BY id")` give a DBS304 note about `" ORDER BY id"`
alone (located at that piece, "the statement is built at run time") wherever `sql` was not
bound exactly once to a literal: the literal reaching the call of a name bound several times,
one completed by `+=` literals, or literal pieces joined with `+` were read as holes. They
are now the statement's text (synapse's `sql = "... WHERE %s"` rebound in each function,
then `txn.execute(sql % (clause,), args)`: its `%s` is Python's, not the driver's, and the
literal alone is no longer read with it as a placeholder). Where the start is not known (a
parameter), the note names the whole expression and stands where it starts; a name bound in
two branches is read on each path with the rest (task 460). Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

_DDL = """
CREATE TABLE users (id int PRIMARY KEY, name text);
CREATE TABLE accounts (id int PRIMARY KEY, user_id int, name text);
"""

_APP = '''\
def reaching(cur):
    sql = "SELECT id FROM users"
    cur.execute(sql)
    sql = "SELECT a.id FROM accounts a"
    cur.execute(sql + " ORDER BY a.nope_order")


def appended(cur):
    sql = "SELECT u.id FROM users u"
    sql += " JOIN accounts a ON a.user_id = u.id"
    cur.execute(sql + " WHERE a.nope_where = %s", (1,))


def joined(cur):
    sql = "SELECT id FROM users" + " WHERE id = %s"
    cur.execute(sql + " ORDER BY nope_joined", (1,))


def formatted(cur, clause, args):
    query = "SELECT id FROM users WHERE id = %s"
    cur.execute(query, (1,))
    query = "SELECT id FROM accounts WHERE %s"
    cur.execute(query % (clause,), args)


def branches(cur, flag):
    if flag:
        sql = "SELECT id FROM users"
    else:
        sql = "SELECT id FROM accounts"
    cur.execute(sql + " ORDER BY id")


def given(cur, query):
    cur.execute(query + " LIMIT 1")
'''


@pytest.mark.db
def test_a_named_statement_extended_at_the_call_is_read_whole(database_url: str,
                                                              tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _DDL, "app.py", _APP)
    # each finding on the name the code writes: the column after the call's `+`
    found = sorted((f.code, f.location.line, f.location.column, f.subject or f.message)
                   for f in report.findings if f.location)
    assert found == [
        ("DBS302", 5, 36, "public.accounts.nope_order"),
        ("DBS302", 11, 33, "public.accounts.nope_where"),
        ("DBS302", 16, 34, "public.users.nope_joined"),
        # Python's `%`: the clause is a run-time piece where a condition goes
        ("DBS304", 22, 14, "SQL built at run time is not validated: `%s` is not in a value "
                           "position (after WHERE)."),
        # `branches`: each branch's literal read with " ORDER BY id" (task 460), both
        # statements PostgreSQL accepts. Where the start is unknown, the whole, where it
        # starts: not `" LIMIT 1"` as if it were the statement
        ("DBS304", 35, 17, 'SQL built at run time is not validated: the statement '
                           '`query + " LIMIT 1"` is built at run time.'),
    ], "\n".join(map(repr, found))
    with psycopg.connect(database_url, autocommit=True) as conn:
        for number, refused in enumerate((
                "SELECT a.id FROM accounts a ORDER BY a.nope_order",
                "SELECT u.id FROM users u JOIN accounts a ON a.user_id = u.id"
                " WHERE a.nope_where = $1",
                "SELECT id FROM users WHERE id = $1 ORDER BY nope_joined")):
            with pytest.raises(psycopg.errors.UndefinedColumn):
                conn.execute(f"PREPARE refused{number} AS {refused}")
        # the same statements with the columns the tables have are sent as they are
        conn.execute("PREPARE ok AS SELECT u.id FROM users u JOIN accounts a "
                     "ON a.user_id = u.id WHERE a.user_id = $1")

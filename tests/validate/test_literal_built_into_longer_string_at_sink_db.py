"""A statement literal written straight into a longer string at the sink is never read alone.

Task 460 stopped a name's literal being read alone where the call builds it into a longer
string. Left: a literal written DIRECTLY into one, `cur.execute(" ".join(["SELECT u.id,
t.name FROM users u", join_clause]))`, `cur.execute("{} JOIN teams t ON t.id =
u.team_id".format("SELECT u.id, t.name FROM users u"))`: the head was read as if it were
the whole statement, and `t`, which the rest joins, gave a false DBS302. What a `join` of
literals, or a `.format` given literals, sends is now read whole; where a piece is known
only at run time, the call is a DBS304 note, as `"SELECT ..." + " " + join_clause` is;
psycopg's `sql.SQL(" ".join([...]))` has its `{}` fields, and a `join` sent with
parameters its `%%`, read as a literal's are.
Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

_DDL = """
CREATE TABLE teams (id int PRIMARY KEY, name text);
CREATE TABLE users (id int PRIMARY KEY, team_id int);
"""

_APP = '''\
from psycopg import sql


def joined(cur, join_clause):
    cur.execute(" ".join(["SELECT u.id, t.name FROM users u", join_clause]))


def joined_known(cur):
    cur.execute(" ".join(("SELECT u.id, t.name FROM users u",
                          "JOIN teams t ON t.id = u.team_id WHERE t.name = %s")), ("x",))


def joined_wrong(cur):
    cur.execute("\\n".join(["SELECT u.id, t.nam FROM users u", "JOIN teams t ON t.id = u.team_id"]))


def formatted(cur):
    cur.execute("{} JOIN teams t ON t.id = u.team_id".format("SELECT u.id, t.name FROM users u"))


def formatted_wrong(cur):
    cur.execute("{head} JOIN teams t ON t.id = u.tem_id".format(head="SELECT u.id FROM users u"))


def formatted_unknown(cur, clause):
    cur.execute("{} {}".format("SELECT u.id, t.name FROM users u", clause))


def added(cur, join_clause):
    cur.execute("SELECT u.id, t.name FROM users u" + " " + join_clause)


def with_params(cur, x):
    cur.execute("SELECT u.id FROM users u WHERE u.id = %s AND u.team_id = %s", (x, x))


def composed(cur, x):
    cur.execute(sql.SQL(" ".join(["SELECT u.id, t.name FROM {} u",
                                  "JOIN teams t ON t.id = u.team_id WHERE u.id = %s"]))
                .format(sql.Identifier("users")), (x,))


def modulo(cur, x):
    cur.execute(" ".join(["SELECT u.id FROM users u", "WHERE u.id %% 2 = %s"]), (x,))
'''

# What the calls with every piece known send (psycopg's `%s` as PostgreSQL's `$1`).
_SENT = (
    "SELECT u.id, t.name FROM users u JOIN teams t ON t.id = u.team_id WHERE t.name = $1",
    "SELECT u.id, t.name FROM users u JOIN teams t ON t.id = u.team_id",
    "SELECT u.id FROM users u WHERE u.id = $1 AND u.team_id = $1",
    'SELECT u.id, t.name FROM "users" u JOIN teams t ON t.id = u.team_id WHERE u.id = $1',
    "SELECT u.id FROM users u WHERE u.id % 2 = $1",
)


@pytest.mark.db
def test_a_literal_written_into_a_join_or_format_at_the_sink_is_read_with_the_rest(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _DDL, "app.py", _APP)
    found = sorted((f.code, f.location.line, f.subject or f.message)
                   for f in report.findings if f.location)
    assert found == [
        ("DBS302", 14, "public.teams.nam"),
        ("DBS302", 22, "public.users.tem_id"),
        # a piece known only at run time, where a clause goes: a note, as for `+`, never
        # the head read alone
        ("DBS304", 5, "SQL built at run time is not validated: `join_clause` is not in a "
                      "value position (after U)."),
        ("DBS304", 26, "SQL built at run time is not validated: `{}` is not in a value "
                       "position (after U)."),
        ("DBS304", 30, "SQL built at run time is not validated: `join_clause` is not in a "
                       "value position (after U)."),
    ], "\n".join(map(repr, found))
    with psycopg.connect(database_url, autocommit=True) as conn:
        for number, statement in enumerate(_SENT):
            conn.execute(f"PREPARE sent{number} AS {statement}")
        for number, statement in enumerate((
                "SELECT u.id, t.nam FROM users u\nJOIN teams t ON t.id = u.team_id",
                "SELECT u.id FROM users u JOIN teams t ON t.id = u.tem_id")):
            with pytest.raises(psycopg.errors.UndefinedColumn):
                conn.execute(f"PREPARE refused{number} AS {statement}")
        # the head alone, as it was read, is refused: `t` is the rest's
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("PREPARE alone AS SELECT u.id, t.name FROM users u")

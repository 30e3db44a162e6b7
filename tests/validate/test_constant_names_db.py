"""An f-string field naming a module constant of names (`TABLE = "events"`) is that text:
`f"SELECT id, nmae FROM {TABLE}"` names `events`, and is checked, where it was a DBS304 note
and its misspelt column went unreported. A name bound more than once, declared `global`,
read in a class body (which reads its own attributes first), a parameter, `self.TABLE` (a
subclass may set another; `Events.TABLE`, named by its class, is read) or a string that is
not names stays a hole.
Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_module

_SCHEMA = "CREATE TABLE events (id int PRIMARY KEY, name text);\n"

_MODULE = '''\
TABLE = "events"
COLUMNS = "id, name"
QUALIFIED = 'public."events"'
WHERE = "WHERE id = 1"
TWICE = "events"
TWICE = "nothing"
REBOUND = "events"


def read(cur):
    cur.execute(f"SELECT id, nmae FROM {TABLE}")
    cur.execute(f"SELECT {COLUMNS}, title FROM {QUALIFIED}")
    cur.execute(f"SELECT id FROM {TABLE} {WHERE}")


def unresolved(cur, table):
    cur.execute(f"SELECT nmae FROM {TWICE}")
    cur.execute(f"SELECT nmae FROM {REBOUND}")
    cur.execute(f"SELECT nmae FROM {table}")
    cur.execute(f"SELECT nmae FROM {TABLE!r}")


def rebind():
    global REBOUND
    REBOUND = "other"


class Repo:
    TABLE = "nothing"
    QUERY = f"SELECT nmae FROM {TABLE}"


class Events:
    TABLE = "events"
    MOVED = "events"

    def read(self, cur):
        cur.execute(f"SELECT nmae FROM {Events.TABLE}")
        cur.execute(f"SELECT nmae FROM {self.TABLE}")
        cur.execute(f"SELECT nmae FROM {Events.MOVED}")


Events.MOVED = "nothing"
'''


@pytest.mark.db
def test_a_field_naming_a_module_constant_of_names_is_its_text(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "repo.py", _MODULE)
    found = sorted((f.code, f.location.line, f.subject) for f in report.findings)
    assert [f for f in found if f[0] != "DBS304"] == [
        ("DBS302", 11, "public.events.nmae"), ("DBS302", 12, "public.events.title"),
        ("DBS302", 38, "public.events.nmae")]  # `Events.TABLE`, named by its class
    # line 13's WHERE constant is no names (a clause added at the end, read as before); the
    # others stay SQL built at run time
    assert [line for code, line, _ in found if code == "DBS304"] == [17, 18, 19, 20, 30, 39, 40]


@pytest.mark.db
def test_a_name_a_constant_puts_in_a_field_is_reported_at_the_field(
        database_url: str, tmp_path: Path) -> None:
    # Each character of the constant was placed a column further from the `{`: `nmae`,
    # 22 characters into COLUMNS, was reported at `events` after the field.
    source = ('COLUMNS = "id, name, events.name, nmae"\nTABLE = "evnts"\n\n\n'
              'def read(cur):\n    cur.execute(f"SELECT {COLUMNS} FROM events")\n'
              '    cur.execute(f"SELECT id FROM {TABLE} WHERE id = 1")\n')
    report = validate_module(database_url, tmp_path, _SCHEMA, "repo.py", source)
    lines = source.splitlines()
    assert sorted((f.location.line, lines[f.location.line - 1][f.location.column - 1:],
                   f.subject, dict(f.context).get("PostgreSQL", "")[:5])
                  for f in report.findings) == [
        (6, '{COLUMNS} FROM events")', "public.events.nmae", "42703"),
        (7, '{TABLE} WHERE id = 1")', "public.evnts", "42P01")]

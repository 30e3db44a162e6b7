"""A module written for a newer Python than dbsafe's (PEP 695's `def f[T]()`, `class
C[T]`, `type X = ...`; PEP 701's `f"{d["a"]}"`; PEP 696's `[T = int]`; PEP 758's `except A,
B:`; PEP 750's t-strings) is read through libcst's rewrite into the running Python's syntax
(`dbsafe.extract.newer_python`): its statements are validated at their lines and columns,
where the whole module was skipped ("read as Python 3.11"). A t-string psycopg's `execute`
sends has its fields as parameters (`$n`, psycopg 3.3); anywhere else it is read as an
f-string. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_files

_SCHEMA = "CREATE TABLE users (id int PRIMARY KEY, name text);\n"

_MODULE = '''\
import psycopg


def first[T](items: list[T]) -> T:
    return items[0]


class Box[T = int]:
    pass


type Rows[K] = dict[K, list[str]]


def read(cur, d, uid, col, table):
    label = f"{d["name"]}"
    try:
        cur.execute("SELECT id FROM userz")
    except KeyError, IndexError:
        pass
    cur.execute(f"SELECT id FROM accountz WHERE name = {d["a"]}")
    cur.execute(t"SELECT nmae FROM users WHERE id = {uid}")
    cur.execute(t"SELECT name FROM users ORDER BY {col} LIMIT {uid}")
    cur.execute(t"SELECT name FROM {table}")
    cur.execute(t"SELECT name FROM {table:i}")
'''


# The same t-strings where no psycopg is imported: whatever runs them writes each field
# where it chooses, and they are read as f-strings are.
_ELSEWHERE = '''\
def read(db, uid, col):
    db.execute(t"SELECT nmae FROM users WHERE id = {uid}")
    db.execute(t"SELECT name FROM users ORDER BY {col}")
'''


@pytest.mark.db
def test_each_newer_construct_is_read_and_its_statements_checked(
        database_url: str, tmp_path: Path) -> None:
    report = validate_files(database_url, tmp_path, _SCHEMA,
                            {"repo.py": _MODULE, "elsewhere.py": _ELSEWHERE})
    found = sorted((f.location.path, f.location.line, f.location.column, f.code, f.message)
                   for f in report.findings)
    assert found == [
        ("elsewhere.py", 2, 25, "DBS302", "`users` has no column `nmae`"),
        ("elsewhere.py", 3, 18, "DBS304", "SQL built at run time is not validated: `{col}` "
                                          "is not in a value position (after BY)."),
        # after the PEP 695/696 definitions, the f-string holding its quotes, in the
        # `try` whose `except` is PEP 758's
        ("repo.py", 18, 37, "DBS301", "no relation `userz` in schema `public`"),
        # an f-string whose field quotes as it does
        ("repo.py", 21, 34, "DBS301", "no relation `accountz` in schema `public`"),
        # psycopg's t-string: `{uid}` is `$1`
        ("repo.py", 22, 26, "DBS302", "`users` has no column `nmae`"),
        # `ORDER BY {col} LIMIT {uid}` is `ORDER BY $1 LIMIT $2`, clean; `FROM {table}` is
        # `FROM $1`, which PostgreSQL's parser refuses (not analysed, as a `%s` there is);
        # `{table:i}` is a name psycopg writes
        ("repo.py", 25, 19, "DBS304", "SQL built at run time is not validated: `{table:i}` "
                                      "is not in a value position (after FROM)."),
    ]
    # `FROM {table}` is psycopg's `FROM $1` (PostgreSQL's parser refuses it): not analysed;
    # nothing else of either module is skipped
    assert [(s.location.path, s.location.line, s.reason) for s in report.skipped] == [
        ("repo.py", 24, "not analysed: FROM item $1 is not modelled")]

"""A placeholder right after `VALUES` is a row, or psycopg2's `execute_values` rows: `VALUES %s`.

psycopg2 sends a tuple bound there as `(1, 2)`; `execute_values` replaces the `%s` with
every row, `(1, 2), (3, 4)`. ListenBrainz sends eight such statements
(`WITH mbids (gid) AS (VALUES %s) SELECT …`): sqlglot read the CTE's `VALUES %s` as a
modulo of a column, so the statement was not analysed, and where a statement was read, its
finding went unconfirmed (PostgreSQL refuses `VALUES $1`). Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dbsafe.validate.confirm import to_numbered_parameters
from tests.helpers import validate_module

_APP = '''from psycopg2.extras import execute_values


def redirects(curs, mbids):
    query = """
          WITH mbids (gid) AS (VALUES %s)
        SELECT old_mbid
          FROM redirect
          JOIN mbids
            ON new_mbid = gid::UUID
    """
    return execute_values(curs, query, [(m,) for m in mbids], fetch=True)


def misspelt(curs, mbids):
    query = """
          WITH mbids (gid) AS (VALUES %s)
        SELECT old_mbid
          FROM redirect
          JOIN mbids
            ON new_mbd = gid::UUID
    """
    return execute_values(curs, query, [(m,) for m in mbids], fetch=True)


def insert(curs, rows):
    execute_values(curs, "INSERT INTO redirect (old_mbid, nosuch) VALUES %(rows)s", rows)
'''


def test_a_placeholder_after_values_is_sent_as_a_row() -> None:
    assert to_numbered_parameters("INSERT INTO t (a, b) VALUES %s RETURNING a") == (
        "INSERT INTO t (a, b) VALUES ($1) RETURNING a")
    assert to_numbered_parameters("INSERT INTO t (a) VALUES (%s), (%(b)s)") == (
        "INSERT INTO t (a) VALUES ($1), ($2)")


@pytest.mark.db
def test_statements_for_execute_values_are_analysed_and_confirmed(
    database_url: str, tmp_path: Path,
) -> None:
    report = validate_module(database_url, tmp_path,
                             "CREATE TABLE redirect (old_mbid uuid, new_mbid uuid)",
                             "app.py", _APP)
    found = [(f.code, f.location.line, f.location.column, dict(f.context).get("PostgreSQL"))
             for f in report.findings if f.location]
    assert found == [
        ("DBS302", 21, 16, "42703: column \"new_mbd\" does not exist"),
        ("DBS302", 27, 59,
         "42703: column \"nosuch\" of relation \"redirect\" does not exist"),
    ]
    assert report.summary["statements_analysed"] == 3
    assert report.summary["statements_not_analysed"] == 0

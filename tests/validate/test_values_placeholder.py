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


# Arches' `index_database.py` (`concepts`' labels) joins its table named `values` unquoted,
# which PostgreSQL reads as a name (its `VALUES` opens a list only before `(`); sqlglot read
# `JOIN values c` as `VALUES (c)`: 4 false DBS302 (`c`, `c2`, ... "the query reads no table").
_VALUES_TABLE = '''def labels(cursor, concept, kinds):
    cursor.execute("""
        SELECT c.valueid, c.value FROM relations d
          JOIN values c ON (c.conceptid = d.conceptidto)
          JOIN values c2 ON (c2.conceptid = d.conceptidfrom)
         WHERE d.conceptidto = %s AND c2.valuetype = 'prefLabel'
    """, [concept])
    cursor.execute("SELECT values.nosuch FROM values WHERE values.valuetype = %s", [kinds])
    cursor.execute("INSERT INTO values (conceptid) VALUES (%s) RETURNING valueid", [concept])
    cursor.execute("INSERT INTO relations DEFAULT VALUES")
'''


@pytest.mark.db
def test_a_table_named_values_is_a_table(database_url: str, tmp_path: Path) -> None:
    report = validate_module(
        database_url, tmp_path,
        "CREATE TABLE relations (conceptidfrom int, conceptidto int); CREATE TABLE values "
        "(valueid serial, value text, conceptid int, valuetype text)", "concepts.py",
        _VALUES_TABLE)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS302", 8, "public.values.nosuch")]
    assert report.summary["statements_analysed"] == 4

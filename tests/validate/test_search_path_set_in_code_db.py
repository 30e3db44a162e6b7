"""A search path a Python function sets on its cursor before it reads through it.

temboard's UI (dalibo/temboard, `plugins/monitoring/chartdata.py`, `plugins/statements`) runs
`cur.execute("SET search_path TO monitoring")`, then reads `instance_availability` (which is
`monitoring.instance_availability`) through the same cursor: such statements were "not
analysed: uses what DDL earlier in this file created or changed". Where the path is certain
(the same variable, the function's only `SET`, before the read on every path) the statement
is resolved on it; a read through another variable (`session.execute`, perhaps another
session) stays unjudged, and so does what the followed path does not show (confirmation
prepares under the run's path, not this one). Real PostgreSQL: every statement judged
clean here PREPAREs under its `SET search_path`.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

SCHEMA = """\
CREATE SCHEMA monitoring;
CREATE TABLE monitoring.instance_availability (datetime timestamptz, available boolean);
"""

_CHARTDATA = '''\
def unavailability(session, start):
    cur = session.connection().connection.cursor()
    cur.execute("SET search_path TO monitoring")
    sql = "SELECT datetime FROM instance_availability WHERE available = 'f' AND datetime >= %(s)s"
    for host in (1, 2):
        cur.execute(sql, dict(s=start))
    cur.execute("SELECT datetime, avialable FROM instance_availability")


def availability(session):
    cur = session.connection().connection.cursor()
    cur.execute("SET search_path TO monitoring")
    return session.execute("SELECT available FROM instance_availability").fetchone()


def reset_on_failure(conn):
    cur = conn.cursor()
    cur.execute("SET search_path TO monitoring")
    conn.rollback()
    cur.execute("SELECT available FROM instance_availability")
'''

_UNJUDGED = "not analysed: uses what DDL earlier in this file created or changed"


@pytest.mark.db
def test_a_search_path_set_on_the_same_cursor_before_the_read_is_followed(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, SCHEMA, "chartdata.py", _CHARTDATA)
    assert report.findings == ()
    assert {s.location.line: s.reason for s in report.skipped} == {
        7: "not analysed: reads what the search path the code sets before it (monitoring) "
           "does not show; not confirmed",
        13: _UNJUDGED, 20: _UNJUDGED}
    assert report.summary["statements_analysed"] == 1  # the read of line 4
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SET search_path TO monitoring")
        conn.execute("PREPARE ok AS SELECT datetime FROM instance_availability "
                     "WHERE available = 'f' AND datetime >= $1")
        with pytest.raises(psycopg.errors.UndefinedColumn):
            conn.execute("PREPARE misspelt AS SELECT datetime, avialable "
                         "FROM instance_availability")

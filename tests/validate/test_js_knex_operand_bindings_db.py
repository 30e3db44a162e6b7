"""knex's `?` where an operand goes, after another operand: `status_code_series ?)`.

Unleash's `TrafficDataUsageStore.exists` (`traffic-data-usage-store.ts`) sends
`SELECT EXISTS (SELECT 1 FROM stat_traffic_usage WHERE day = ? AND traffic_group = ? AND
status_code_series ?) AS present`: knex binds each `?` (`... AND status_code_series $3)`),
a syntax error PostgreSQL rejects (42601). sqlglot reads a `?` after an operand as jsonb's
key-exists operator, and its compiled build raised a TypeError, not a syntax error, when
nothing followed: the statement was listed as "sqlglot failed on it: internal TypeError".
It is now unparsable as any other syntax error, at the `?`. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

pytestmark = pytest.mark.db

_SCHEMA = ("CREATE TABLE stat_traffic_usage (day date, traffic_group text, "
           "status_code_series integer, count integer)")

_STORE = """\
const TABLE = 'stat_traffic_usage';
export async function exists(db: Knex, key: Key): Promise<boolean> {
    const result = await db.raw(
        `SELECT EXISTS (SELECT 1 FROM ${TABLE} WHERE
            day = ? AND
            traffic_group = ? AND
            status_code_series ?) AS present`,
        [key.day, key.trafficGroup, key.statusCodeSeries],
    );
    return result.rows[0].present;
}
"""

# What knex sends (its `?` numbered by the pg client).
_SENT = ("SELECT EXISTS (SELECT 1 FROM stat_traffic_usage WHERE day = $1 AND "
         "traffic_group = $2 AND status_code_series $3) AS present")


def test_postgresql_rejects_it(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
        with pytest.raises(psycopg.errors.SyntaxError):
            conn.execute(f"PREPARE exists AS {_SENT}")


def test_it_is_a_syntax_error_not_an_internal_one(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "store.ts", _STORE)
    assert report.findings == ()
    assert [(s.location.line, s.reason) for s in report.skipped if s.location] == [
        (4, "unparsed: sqlglot could not parse it: Expecting ). Line 4, Col: 32.")]

"""knex's `?` before a cast: `bucket_ts >= ?::timestamptz`.

knex binds each `?` and the pg client sends `bucket_ts >= $1::timestamptz`, which
PostgreSQL prepares. sqlglot's tokenizer reads `?::` as one token (another dialect's
operator), so every such statement of Unleash's `getEdgeInstances.e2e.test.ts` was
unparsable, nothing in it checked. PostgreSQL's lexer reads `?` and `::` (`:` is no operator
character): dbsafe now reads them so, a parameter with a cast, and the statement is checked
and confirmed. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

pytestmark = pytest.mark.db

_SCHEMA = "CREATE TABLE edge_node_presence (bucket_ts timestamptz, node_ephem_id text)"

_STORE = """\
const TABLE = 'edge_node_presence';
export const countRowsInWindow = async (raw: Knex, startIso: string, endIso: string) => {
    const { rows } = await raw.raw(
        `SELECT COUNT(*)::int AS c FROM ${TABLE}
         WHERE bucket_ts >= ?::timestamptz AND bucket_ts < ?::timestamptz`,
        [startIso, endIso],
    );
    return Number(rows[0].c);
};
export const countTyped = async (raw: Knex, startIso: string) => {
    const { rows } = await raw.raw(
        `SELECT COUNT(*)::int AS c FROM ${TABLE} WHERE bucket_tz >= ?::timestamptz`,
        [startIso],
    );
    return Number(rows[0].c);
};
"""

# What knex sends (its `?` numbered by the pg client).
_SENT = ("SELECT COUNT(*)::int AS c FROM edge_node_presence "
         "WHERE bucket_ts >= $1::timestamptz AND bucket_ts < $2::timestamptz")
_TYPO = "SELECT COUNT(*)::int AS c FROM edge_node_presence WHERE bucket_tz >= $1::timestamptz"


def test_postgresql_prepares_the_binding_cast(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
        conn.execute(f"PREPARE window_count AS {_SENT}")
        with pytest.raises(psycopg.errors.UndefinedColumn):
            conn.execute(f"PREPARE typo AS {_TYPO}")


def test_a_binding_cast_is_a_parameter_cast(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "store.ts", _STORE)
    assert [(f.code, f.location.line) for f in report.findings if f.location] == [
        ("DBS302", 12)]
    assert report.summary["statements_analysed"] == 2
    assert report.skipped == ()

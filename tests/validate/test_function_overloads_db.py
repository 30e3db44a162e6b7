"""A call of a function sqlglot knows, given more arguments than sqlglot's signature of it,
is a call of one of the database's own overloads, and the statement is checked.

Liberapay's schema makes `sum(currency_amount, currency)`, an aggregate converting every
amount to one currency, and its models send `SELECT sum(amount, %(currency)s) FROM
our_tips`: sqlglot refused the call ("the number of provided arguments (2) is greater than
the maximum number of supported arguments (1)"), so 10 of its statements were unparsed and
nothing in them was checked. PostgreSQL picks the overload. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

_SCHEMA = """
CREATE TYPE currency_amount AS (amount numeric, currency text);
CREATE FUNCTION convert_sum(numeric, currency_amount, text) RETURNS numeric
    LANGUAGE sql IMMUTABLE AS 'SELECT coalesce($1, 0) + ($2).amount';
CREATE AGGREGATE sum(currency_amount, text) (sfunc = convert_sum, stype = numeric);
CREATE TABLE tips (tipper int, amount currency_amount);
"""

_APP = '''\
def received(db, tipper, currency):
    return db.one("""
        SELECT sum(amount, %(currency)s), sum(t.amount, 'EUR')
          FROM tips t
         WHERE tipper = %(tipper)s
    """, dict(tipper=tipper, currency=currency))


def running(db):
    return db.all("SELECT tipper, sum(amount, 'EUR') OVER (PARTITION BY tipper) FROM tips")


def misspelt(db, currency):
    return db.one("SELECT sum(amuont, %(currency)s) FROM tips", dict(currency=currency))
'''


@pytest.mark.db
def test_a_call_of_an_overload_is_checked(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "tips.py", _APP)
    assert [(f.code, f.location.line, f.location.column, f.subject)
            for f in report.findings if f.location] == [
        ("DBS302", 14, 31, "public.tips.amuont")]
    assert report.summary["statements_analysed"] == 3
    assert report.summary["statements_unparsed"] == 0
    # PostgreSQL agrees: the first two prepare, the last fails on the column.
    with psycopg.connect(database_url) as conn:
        conn.execute("PREPARE ok AS SELECT sum(amount, $1::text), sum(t.amount, 'EUR')"
                     " FROM tips t WHERE tipper = $2")
        conn.execute("PREPARE windowed AS"
                     " SELECT tipper, sum(amount, 'EUR') OVER (PARTITION BY tipper) FROM tips")
        with pytest.raises(psycopg.errors.UndefinedColumn):
            conn.execute("PREPARE bad AS SELECT sum(amuont, $1::text) FROM tips")

"""A call of a function the schema has, with arguments no overload takes, is DBS314,
confirmed by PostgreSQL's Parse of it (42883).

pgmq's async client (tembo-pgmq-python, `async_queue.py`) sends `SELECT pgmq.create($1,
$2::text, $3::text)` to make a partitioned queue, while `pgmq.create(queue_name text)`
takes one argument (the partitioned one is `pgmq.create_partitioned`): PostgreSQL refuses
every run with `42883: function pgmq.create(unknown, text, text) does not exist`, and
validate said nothing, since a function's name alone was judged outside a `CALL`. Counted
as PostgreSQL counts (defaults, VARIADIC, named arguments; OUT arguments are not passed),
never by type; a name pg_catalog or an extension has, an aggregate's, and a call the
file's own DDL may make are not judged. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

_SCHEMA = """
CREATE SCHEMA pgmq;
CREATE FUNCTION pgmq.create(queue_name text) RETURNS void LANGUAGE sql AS 'SELECT';
CREATE FUNCTION pgmq.create_partitioned(queue_name text, partition_interval text DEFAULT '10000',
    retention_interval text DEFAULT '100000') RETURNS void LANGUAGE sql AS 'SELECT';
CREATE FUNCTION pgmq.send(queue_name text, msg jsonb, delay integer DEFAULT 0)
    RETURNS SETOF bigint LANGUAGE sql AS 'SELECT 1::bigint';
CREATE FUNCTION pgmq.send_batch(queue_name text, VARIADIC msgs jsonb[])
    RETURNS SETOF bigint LANGUAGE sql AS 'SELECT 1::bigint';
CREATE FUNCTION pgmq.metrics(queue_name text, OUT queue_length bigint, OUT total bigint)
    LANGUAGE sql AS 'SELECT 1::bigint, 2::bigint';
CREATE FUNCTION date_format(at timestamptz) RETURNS text LANGUAGE sql AS 'SELECT ''x''';
CREATE EXTENSION IF NOT EXISTS pg_trgm;
"""

_APP = '''\
async def create_partitioned_queue(conn, queue, partition_interval, retention_interval):
    await conn.execute(
        "SELECT pgmq.create($1, $2::text, $3::text);",
        queue, partition_interval, retention_interval,
    )


async def fine(conn, queue, message, messages):
    await conn.execute("SELECT pgmq.create($1);", queue)
    await conn.execute("SELECT pgmq.create_partitioned($1, $2)", queue, "daily")
    await conn.fetch("SELECT * FROM pgmq.send($1, $2::jsonb)", queue, message)
    await conn.fetch("SELECT * FROM pgmq.send(queue_name => $1, msg => $2::jsonb, delay => 5)",
                     queue, message)
    await conn.fetch("SELECT pgmq.send_batch($1, $2::jsonb, $3::jsonb)", queue, *messages)
    await conn.fetch("SELECT * FROM pgmq.metrics($1)", queue)
    await conn.fetch("SELECT count(*), string_agg(s::text, ',' ORDER BY s) FROM pgmq.send($1, '{}') s",
                     queue)


async def too_many(conn, queue):
    await conn.fetch("SELECT * FROM pgmq.metrics($1, NULL, NULL)", queue)
    await conn.fetch("SELECT pgmq.send(msg => '{}', delay => 1)")


async def not_judged(conn):
    # pg_catalog's and an extension's (pg_trgm) functions: never judged by count
    await conn.fetch("SELECT lower('a', 'b'), similarity('a')")
    # SQL for MySQL beside a one-argument shim of the name: not analysed
    await conn.fetch("SELECT DATE_FORMAT(created, '%Y') FROM events")
'''


@pytest.mark.db
def test_a_call_no_overload_takes_is_confirmed(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "queues.py", _APP)
    # Each confirmed: PostgreSQL's 42883 points at the function's name.
    found = [(f.code, f.location.line, f.location.column, f.subject,
              dict(f.context).get("PostgreSQL", "")[:5])
             for f in report.findings if f.location]
    assert found == [("DBS314", 3, 22, "pgmq.create", "42883"),
                     ("DBS314", 21, 42, "pgmq.metrics", "42883"),
                     ("DBS314", 22, 35, "pgmq.send", "42883")]
    first = report.findings[0]
    assert first.message == "no function `create` in schema `pgmq` takes 3 arguments"
    assert first.help == ("Pass the arguments one of its overloads takes: "
                          "pgmq.create(queue_name text) (PostgreSQL refuses the statement: "
                          "42883).")
    assert dict(first.context)["PostgreSQL"] == \
        "42883: function pgmq.create(unknown, text, text) does not exist"
    assert report.findings[2].message == \
        "no function `send` in schema `pgmq` takes 2 arguments (msg =>, delay =>)"
    assert report.summary["statements_not_analysed"] == 1  # the MySQL one


@pytest.mark.db
def test_calls_left_unjudged_are_ones_postgresql_refuses(database_url: str) -> None:
    """What `not_judged` sends is refused too (42883): left alone by choice (a built-in's
    or an extension's overloads, another engine's SQL), not because they are fine."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
        for sql in ("SELECT lower('a', 'b')", "SELECT similarity('a')"):
            with pytest.raises(psycopg.errors.UndefinedFunction):
                conn.execute(f"PREPARE p AS {sql}")


@pytest.mark.db
def test_a_function_the_file_makes_is_not_judged_by_the_schema_s_overloads(
        database_url: str, tmp_path: Path) -> None:
    """The file's own DDL may make the overload the call takes."""
    app = ('def setup(cur):\n'
           '    cur.execute("CREATE OR REPLACE FUNCTION pgmq.create(a text, b text, c text)'
           ' RETURNS void LANGUAGE sql AS \'SELECT\'")\n'
           '    cur.execute("SELECT pgmq.create(%s, %s, %s)", ("q", "a", "b"))\n')
    report = validate_module(database_url, tmp_path, _SCHEMA, "setup.py", app)
    assert [f for f in report.findings if f.code == "DBS314"] == []

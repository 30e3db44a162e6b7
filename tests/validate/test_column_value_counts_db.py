"""A list of columns given another number of values is DBS315, as PostgreSQL's parse
analysis refuses it (42601), confirmed by PostgreSQL's Parse of it.

rodhaj (`bot/cogs/config.py:692`, asyncpg) sends `INSERT INTO guild_config (id,
category_id, ticket_channel_id, logging_channel_id, logging_broadcast_url,
ticket_broadcast_url, prefix, settings) VALUES ($1, ..., $7)`: 8 columns, 7 values,
refused on every run with `42601: INSERT has more target columns than expressions`, and
validate said nothing (it checked names only). Each case below is held to PostgreSQL 18:
a flagged one is refused with one of the count messages where the finding points, one
left alone is accepted or refused for another reason, or its count cannot be read from
the text. Real PostgreSQL.
"""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest

from dbsafe.schema.introspect import introspect
from dbsafe.validate import resolve
from dbsafe.validate.codes import COLUMN_VALUE_COUNT_MISMATCH
from dbsafe.validate.confirm import Verdict, points_at, rewrite
from dbsafe.validate.counts import COUNT_MISMATCH_DOC
from tests.helpers import validate_files, validate_module

_SCHEMA = """
CREATE TABLE t (a int PRIMARY KEY, b int, c int);
CREATE TABLE g (a int, b int GENERATED ALWAYS AS (a * 2) STORED);
CREATE TABLE s (x int, y int);
CREATE VIEW v AS SELECT a, b FROM t;
CREATE TABLE orders (id int PRIMARY KEY, customer_id int, total numeric);
CREATE TABLE carts (id int, amount numeric);
"""

_COUNT_MESSAGES = ("INSERT has more target columns than expressions",
                   "INSERT has more expressions than target columns",
                   "VALUES lists must all be the same length",
                   "number of columns does not match number of values")

# (statement, the text the finding points at; None: not flagged)
_CASES = [
    ("INSERT INTO t (a, b, c) VALUES ($1, $2)", "c"),
    ("INSERT INTO t (a, b) VALUES ($1, $2, $3)", "$3"),
    ("INSERT INTO t (a, b) VALUES (1), (3, 4)", "b"),
    ("INSERT INTO t (a, b) VALUES (1, 2, 3), (3, 4, 5)", "3"),
    ("INSERT INTO t (a, b) VALUES (1, 2), (3)", "3"),
    ("INSERT INTO t (a, b) VALUES (1, 2), (3, 4, 5)", "3, 4, 5"),
    ("INSERT INTO t VALUES (1, 2, 3, 4)", "4"),
    ("INSERT INTO public.t VALUES (1, 2), (1, 2, 3)", "1, 2, 3"),
    ("INSERT INTO g VALUES (1, DEFAULT, 3)", "3"),
    ("INSERT INTO v VALUES (1, 2, 3)", "3"),
    ("INSERT INTO t (a, b) VALUES ((1, 2))", "b"),
    ("INSERT INTO t (a, b) (VALUES (1, 2, 3)) ON CONFLICT DO NOTHING", "3"),
    ("INSERT INTO t (a,b) VALUES ($1 + 1, $2, lower('x')::int)", "lower('x')::int"),
    ("INSERT INTO t (a, b) SELECT x FROM s", "b"),
    ("INSERT INTO t (a) SELECT x, y FROM s", "y"),
    ("INSERT INTO t SELECT x, y, x, y FROM s", "y"),
    ("INSERT INTO t (a, b, c) SELECT x, y FROM s UNION ALL SELECT 1, 2", "c"),
    ("INSERT INTO t (a, b) WITH q AS (SELECT 1) SELECT 1, 2, 3 FROM q", "3"),
    ("WITH n AS (INSERT INTO t (a, b) VALUES (1, 2, 3) RETURNING a) SELECT * FROM n", "3"),
    ("INSERT INTO t (a, b) VALUES (%s, %s, %s)", "%s"),
    ("INSERT INTO t (a, b, c) VALUES (%(a)s, %(b)s)", "c"),
    ("INSERT INTO t (a, b) VALUES (?, ?, ?)", "?"),
    ("UPDATE t SET (a, b) = ($1, $2, $3)", "($1, $2, $3"),
    ("UPDATE t SET c = 1, (a, b) = ROW($1)", "ROW($1"),
    ("UPDATE t SET (a, b) = (SELECT x, y, x FROM s LIMIT 1)", "(SELECT x, y, x FROM s LIMIT 1"),
    ("INSERT INTO t (a, b) VALUES (1, 2) ON CONFLICT (a) DO UPDATE SET (b, c) = (1, 2, 3)",
     "(1, 2, 3"),
    ("MERGE INTO t USING s ON t.a = s.x WHEN NOT MATCHED THEN INSERT (a, b) VALUES (s.x)", "b"),
    ("MERGE INTO t USING s ON t.a = s.x WHEN NOT MATCHED THEN INSERT VALUES (1, 2, 3, 4)", "4"),
    ("MERGE INTO t USING s ON t.a = s.x WHEN MATCHED THEN UPDATE SET (a, b) = (1, 2, 3)",
     "(1, 2, 3"),
    # not flagged: right counts
    ("INSERT INTO t (a, b) VALUES (DEFAULT, $1)", None),
    ("INSERT INTO t VALUES (1, 2)", None),  # fewer, no column list: defaults fill the rest
    ("INSERT INTO g VALUES (1, DEFAULT)", None),
    ("INSERT INTO t (a, b) SELECT x, y FROM s UNION ALL SELECT 1, 2", None),
    ("INSERT INTO t (a, b) VALUES (1, (SELECT 2)), (DEFAULT, DEFAULT)", None),
    ("UPDATE t SET (a) = ROW($1), (b, c) = (SELECT x, y FROM s LIMIT 1)", None),
    ("INSERT INTO t (a, b) VALUES ($1, $2) ON CONFLICT (a) DO UPDATE SET (b, c) = "
     "(excluded.b, excluded.c)", None),
    # not flagged: the count is not written (`*`, a driver's row, a client's list)
    ("INSERT INTO t (a, b) SELECT * FROM s", None),
    ("INSERT INTO t (a, b, c) SELECT (s.*), 1 FROM s", None),
    ("INSERT INTO t (a, b) SELECT v.* FROM (VALUES (1, 2, 3)) v", None),
    ("UPDATE t SET (a, b) = (SELECT * FROM s LIMIT 1)", None),
    ("INSERT INTO t (a, b) VALUES (1, 2) ON CONFLICT (a) DO UPDATE SET (b, c) = "
     "ROW(excluded.*)", None),
    ("INSERT INTO t (a, b) VALUES %s", None),
    ("INSERT INTO t (a, b, c) VALUES (?, ?)", None),
    ("INSERT INTO t (a, b) VALUES (:values)", None),
    ("UPDATE t SET (a, b, c) = ROW(?, ?)", None),
    # not flagged: PostgreSQL's error is another one
    ("INSERT INTO t (a, b) SELECT x, y FROM s UNION SELECT y FROM s", None),
    ("UPDATE t SET (a, b) = ($1)", None),
    ("INSERT INTO nosuch VALUES (1, 2, 3, 4)", None),
]


@pytest.mark.db
def test_counts_are_postgresql_s(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
        snapshot = introspect(conn)
        for sql, pointed in _CASES:
            found = [p for p in resolve(sql, snapshot).problems
                     if p.code == COLUMN_VALUE_COUNT_MISMATCH.code]
            assert [sql[p.start:p.end + 1] for p in found][:1] == (
                [pointed] if pointed else []), sql
            sent = rewrite(sql)
            try:
                conn.execute(f"PREPARE counted AS {sent.text}", prepare=False)
                conn.execute("DEALLOCATE counted", prepare=False)
                refused = None
            except psycopg.Error as exc:
                refused = exc.diag
            if not found:
                # (a driver's row or a client's list sent as written: one `$n` each)
                assert refused is None or not refused.message_primary.startswith(
                    _COUNT_MESSAGES) or re.search(r"[*?:]|%s\Z", sql), sql
                continue
            assert refused is not None and refused.sqlstate == "42601", sql
            assert refused.message_primary in _COUNT_MESSAGES, sql
            assert refused.message_primary in found[0].help, sql
            position = int(refused.statement_position) - 1 - len("PREPARE counted AS ")
            verdict = Verdict(False, "42601", refused.message_primary,
                              position=sent.original_offset(position))
            assert points_at(verdict, sql, found[0].start, found[0].end), sql


def _examples(heading: str) -> list[str]:
    block = COUNT_MISMATCH_DOC.split(f"## {heading}\n```sql\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line and not line.startswith("--")]


@pytest.mark.db
def test_the_rule_s_examples_are_refused_and_prepared(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
        snapshot = introspect(conn)
        for number, sql in enumerate(_examples("Bad")):
            assert {p.code for p in resolve(sql, snapshot).problems} == {"DBS315"}, sql
            with pytest.raises(psycopg.errors.SyntaxError):
                conn.execute(f"PREPARE bad_{number} AS {sql}", prepare=False)
        for number, sql in enumerate(_examples("Good")):
            assert resolve(sql, snapshot).problems == (), sql
            conn.execute(f"PREPARE good_{number} AS {sql}", prepare=False)


_APP = '''\
async def setup(pool, guild_id, category, channel, log_channel, url, ticket_url, prefix):
    query = """
    INSERT INTO guild_config (id, category_id, ticket_channel_id, logging_channel_id, logging_broadcast_url, ticket_broadcast_url, prefix, settings)
    VALUES ($1, $2, $3, $4, $5, $6, $7);
    """
    await pool.execute(query, guild_id, category, channel, log_channel, url, ticket_url, prefix)
    await pool.execute("UPDATE guild_config SET (prefix, settings) = ($1, $2, $3) WHERE id = $4",
                       prefix, "{}", 1, guild_id)


def built(cur, columns, values, extra, rows):
    marks = ", ".join(["%s"] * len(columns))
    cur.execute(f"INSERT INTO guild_config (id, prefix) VALUES ({marks})", values)
    cur.execute("INSERT INTO guild_config (id, prefix) VALUES (%s, %s, " + extra + ")", values)
    cur.execute("INSERT INTO guild_config (id, prefix) VALUES (%s)" % marks, values)
    cur.execute("INSERT INTO guild_config (id, prefix) VALUES %s", (values,))
    cur.execute("INSERT INTO guild_config VALUES (%s, %s)", values)
'''

_CONFIG = """
CREATE TABLE guild_config (id bigint PRIMARY KEY, category_id bigint, ticket_channel_id bigint,
    logging_channel_id bigint, logging_broadcast_url text, ticket_broadcast_url text,
    prefix text[], settings jsonb);
"""


@pytest.mark.db
def test_rodhaj_s_insert_is_reported_and_confirmed(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _CONFIG, "config.py", _APP)
    found = [(f.code, f.location.line, f.location.column, f.subject,
              dict(f.context).get("PostgreSQL"))
             for f in report.findings if f.location]
    # Values put in at run time (`({marks})`, `+ extra +`, `% marks`) are any number of
    # values, a driver's `VALUES %s` a whole row: left alone.
    assert found == [
        ("DBS315", 3, 140, "guild_config",
         "42601: INSERT has more target columns than expressions"),
        ("DBS315", 7, 70, "guild_config",
         "42601: number of columns does not match number of values")]
    first = report.findings[0]
    assert first.message == ("INSERT into `guild_config` lists 8 columns but gives 7 values: "
                             "`settings` gets none")
    assert first.help == (
        "Give each listed column exactly one value (PostgreSQL refuses the statement on every "
        "run: 42601 `INSERT has more target columns than expressions`).")
    assert report.findings[1].message == \
        "`SET (prefix, settings) = ...` of UPDATE `guild_config` assigns 2 columns 3 values"
    assert report.summary["statements_not_analysed"] == 3  # the three built at run time


@pytest.mark.db
def test_a_table_a_script_alters_is_not_counted_by_the_schema(database_url: str,
                                                             tmp_path: Path) -> None:
    """An INSERT without a column list counts the columns of the table as the file's DDL,
    or another script's, made it, and is not counted after the file sets its search path;
    one with a list is counted whatever the table is."""
    files = {
        "load.sql": "ALTER TABLE s ADD COLUMN z int;\n"
                    "INSERT INTO s VALUES (1, 2, 3);\n"
                    "INSERT INTO s (x, y) VALUES (1, 2, 3);\n",
        "more.sql": "INSERT INTO s VALUES (1, 2, 3);\n",
        "other.sql": "INSERT INTO t VALUES (1, 2, 3, 4);\n",
        # the path it sets may reach another `t`
        "path.sql": "SET search_path TO staging, public;\nINSERT INTO t VALUES (1, 2, 3, 4);\n",
    }
    report = validate_files(database_url, tmp_path, _SCHEMA, files)
    assert [(f.location.path, f.location.line, f.code) for f in report.findings
            if f.location] == [("load.sql", 3, "DBS315"), ("other.sql", 1, "DBS315")]

"""Valid PostgreSQL that sqlglot's grammar refused (or misread) is read as PostgreSQL reads
it, so its columns are checked: a statement sqlglot cannot parse is counted unparsable and
only its tables are checked (with PostgreSQL's parser), its columns never.

* a function qualified by its schema and named by a keyword (pgmq's `SELECT * FROM
  pgmq.delete($1::text, $2::int[])`, pgflow's `FROM pgmq.create(NULL)`);
* an array of an object identifier type (pgai's `where p.oid = any(%s::oid[])`);
* a call of a function named `convert` (Liberapay's `convert(currency_amount, currency)`:
  sqlglot read it as MySQL's `CONVERT(value, type)`, refused `convert(%(amount)s,
  t.amount::currency)` and took `convert(amount, currency)` for a cast, its second column
  never read).

Each statement is judged by PostgreSQL too: the clean ones PREPARE, the flagged ones fail
on the column. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import assert_prepares, validate_module

pytestmark = pytest.mark.db


def _found(report) -> list[tuple[str, int, str]]:
    return [(f.code, f.location.line, f.subject) for f in report.findings if f.location]


_QUEUE = """
CREATE SCHEMA q;
CREATE TABLE q.messages (msg_id bigint, queue text);
CREATE FUNCTION q.delete(queue_name text, msg_ids bigint[]) RETURNS SETOF bigint
    LANGUAGE sql AS 'SELECT unnest(msg_ids)';
CREATE FUNCTION q.create(queue_name text) RETURNS SETOF text
    LANGUAGE sql AS 'SELECT queue_name';
"""

_QUEUE_APP = '''\
def delete(db, queue, ids):
    return db.all("SELECT * FROM q.delete(%s::text, %s::bigint[])", (queue, ids))


def create(db):
    return db.all("SELECT * FROM q.create(NULL) WHERE NOT EXISTS "
                  "(SELECT 1 FROM q.messages m WHERE m.queue = 'jobs')")


def misspelt(db, queue):
    return db.all("SELECT * FROM q.delete(%s, ARRAY(SELECT msg_idd FROM q.messages))", (queue,))
'''


def test_a_function_named_by_a_keyword_after_its_schema(database_url: str,
                                                        tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _QUEUE, "queue.py", _QUEUE_APP)
    assert _found(report) == [("DBS302", 11, "q.messages.msg_idd")]
    assert report.summary["statements_analysed"] == 3
    assert report.summary["statements_unparsed"] == 0
    assert_prepares(
        database_url, "",
        ("SELECT * FROM q.delete($1::text, $2::bigint[])",
         "SELECT * FROM q.create(NULL) WHERE NOT EXISTS"
         " (SELECT 1 FROM q.messages m WHERE m.queue = 'jobs')"),
        ("SELECT * FROM q.delete($1, ARRAY(SELECT msg_idd FROM q.messages))",))


_OBJECTS = "CREATE TABLE objects (objid oid, kind regclass, name text);"

_OBJECTS_APP = '''\
def named(db, oids):
    return db.all("SELECT name FROM objects WHERE objid = any(%s::oid[])", (oids,))


def of_kinds(db, kinds):
    return db.all("SELECT o.name FROM objects o WHERE o.kind = any(CAST(%s AS regclass[]))",
                  (kinds,))


def misspelt(db, oids):
    return db.all("SELECT nmae FROM objects WHERE objid = any(%s::oid[])", (oids,))
'''


def test_an_array_of_an_object_identifier_type(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _OBJECTS, "objects.py", _OBJECTS_APP)
    assert _found(report) == [("DBS302", 11, "public.objects.nmae")]
    assert report.summary["statements_analysed"] == 3
    assert report.summary["statements_unparsed"] == 0
    assert_prepares(
        database_url, "",
        ("SELECT name FROM objects WHERE objid = any($1::oid[])",
         "SELECT o.name FROM objects o WHERE o.kind = any(CAST($1 AS regclass[]))"),
        ("SELECT nmae FROM objects WHERE objid = any($1::oid[])",))


_TIPS = """
CREATE TYPE currency_amount AS (amount numeric, currency text);
CREATE FUNCTION convert(currency_amount, text) RETURNS currency_amount
    LANGUAGE sql IMMUTABLE AS 'SELECT ($1).amount, $2';
CREATE TABLE tips (tipper int, amount currency_amount, paid currency_amount, currency text);
"""

_TIPS_APP = '''\
def pay(db, tipper, delta):
    db.run("UPDATE tips t SET paid = convert(%(delta)s, (t.amount).currency) "
           "WHERE tipper = %(tipper)s", dict(delta=delta, tipper=tipper))


def in_currency(db, currency):
    return db.all("SELECT convert(amount, %(c)s), convert(paid, currency) FROM tips",
                  dict(c=currency))


def misspelt(db):
    return db.all("SELECT convert(amount, curency) FROM tips")
'''


def test_a_call_of_a_function_named_convert(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _TIPS, "tips.py", _TIPS_APP)
    assert _found(report) == [("DBS302", 12, "public.tips.curency")]
    assert report.summary["statements_analysed"] == 3
    assert report.summary["statements_unparsed"] == 0
    assert_prepares(
        database_url, "",
        ("UPDATE tips t SET paid = convert($1, (t.amount).currency) WHERE tipper = $2",
         "SELECT convert(amount, $1::text), convert(paid, currency) FROM tips"),
        ("SELECT convert(amount, curency) FROM tips",))

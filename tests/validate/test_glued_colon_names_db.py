"""A `:name` glued to a word before it is no placeholder: it reaches PostgreSQL as written.

Redash's Couchbase runner (getredash/redash, `redash/query_runner/couchbase.py`) sends N1QL,
`select name from system:keyspaces`. sqlglot reads `:keyspaces` as a placeholder (the
table's alias), and confirmation numbered it into `system$1`, an identifier PostgreSQL
accepts, so the resolver's failure on the alias stayed: "dbsafe failed on it: internal
AttributeError". No driver binds a `:name` right after a letter, digit, `_`, `:` or
backslash (SQLAlchemy's `text()`: `(?<![:\\w\\x5c]):(\\w+)(?![:\\w])`; psycopg has no
`:name`), so the statement is sent as written, and PostgreSQL rejects it (42601): it is
not analysed for that reason. A slice's `arr[1:n]` is no `:n` either, so the placeholders
around it are numbered in place. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

pytestmark = pytest.mark.db

_DDL = "CREATE SCHEMA system; CREATE TABLE system.keyspaces (name text, n int, tags text[])"

_SCRIPT = """\
select name from system:keyspaces;
select tags[1:n], nosuch1 from system.keyspaces where n = :n;
select tags[1:n], name from system.keyspaces where n = :n;
"""


def test_postgresql_reads_them_as_written(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_DDL)
        with pytest.raises(psycopg.errors.SyntaxError):
            conn.execute("PREPARE q1 AS select name from system:keyspaces")
        conn.execute("PREPARE q2 AS select tags[1:n], name from system.keyspaces where n = $1")
        with pytest.raises(psycopg.errors.UndefinedColumn):
            conn.execute("PREPARE q3 AS select tags[1:n], nosuch1 from system.keyspaces "
                         "where n = $1")


def test_glued_colon_names_are_not_placeholders(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _DDL, "queries.sql", _SCRIPT)
    assert [(f.code, f.location.line, dict(f.context).get("PostgreSQL"))
            for f in report.findings if f.location] == [
        ("DBS302", 2, '42703: column "nosuch1" does not exist')]
    assert [(s.location.line, s.reason) for s in report.skipped] == [
        (1, 'unparsed: PostgreSQL\'s parser rejects it: syntax error at or near ":", '
            "at index 23")]

"""`dedent("...") % x` fills the literal's `%s` as `"..." % x` does, and a statement dbsafe
fails on is checked against PostgreSQL's parser.

temboard's pgconf plugin builds `dedent(\"\"\"SELECT ... FROM pg_settings %s ORDER BY ...\"\"\")
% where`: the `%s` was read as a driver placeholder, sqlglot took it for the table's
alias, and the statement was "not analysed: dbsafe failed on it: internal AttributeError".
It is SQL built at run time (a DBS304 note), as the same literal without `dedent` was;
`SELECT %s FROM users` so built was analysed as clean, its column list a parameter. A
literal sent as it is written with a placeholder where a name belongs is one PostgreSQL's
parser rejects (42601), and says so. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

_SCHEMA = "CREATE TABLE users (id int PRIMARY KEY, name text);\n"

_MODULE = '''\
from textwrap import dedent


def settings(conn, where):
    query = (
        dedent("""\\
        SELECT name, setting
        FROM pg_settings
        %s
        ORDER BY category, name
        """)
        % where
    )
    return conn.execute(query)


def columns(conn, listed):
    return conn.execute(dedent("SELECT %s FROM users") % listed)


def misspelt(conn, user_id):
    return conn.execute(dedent("SELECT nmae FROM users WHERE id = %s") % user_id)


def sent_as_written(conn):
    return conn.execute("SELECT id FROM users %s ORDER BY id")
'''


@pytest.mark.db
def test_dedented_literal_filled_with_percent_is_built_at_run_time(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "pgconf.py", _MODULE)
    assert sorted((f.code, f.location.line) for f in report.findings) == [
        ("DBS302", 22), ("DBS304", 7), ("DBS304", 18)]
    assert [(s.location.line, s.reason) for s in report.skipped] == [
        (26, "unparsed: PostgreSQL's parser rejects it: syntax error at or near \"$1\", "
             "at index 21")]


@pytest.mark.db
def test_postgresql_rejects_a_placeholder_for_an_alias(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
        with pytest.raises(psycopg.errors.SyntaxError):
            conn.execute("PREPARE s AS SELECT id FROM users $1 ORDER BY id")

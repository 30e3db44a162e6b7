"""Test inputs and fields a project's function hands to sqlglot's parser and never sends
(`dbsafe.extract.py_parsers`), beyond the literal given to it directly.

Arize Phoenix (Arize-ai/phoenix 9478f954) after task 406 still had 11 false errors of this
shape on its schema: `@pytest.mark.parametrize` values the test gives `admit_sql(sql, ...)`
(a function of `phoenix.server.mcp.sql.parse` in the index), and statements given to
`execute_analytics_sql(db, ExecuteParams(sql=...))`, which parses `params.sql` and runs
only what it rewrote of it. A value that may reach a sending call on any path stays read.
Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

_PARSE = '''\
import sqlglot


def admit_sql(sql, *, dialect):
    return sqlglot.parse_one(sql, read=dialect)
'''

_TEST = '''\
import pytest
import sqlglot

from app.sql.parse import admit_sql

PERMITTED = [
    pytest.param("SELECT percentile(id, 50) AS v FROM spans", id="percentile"),
]


@pytest.mark.parametrize(
    "sql,expected",
    [
        ("SELECT latency_m FROM spans", "latency_ms"),
        ("SELECT graphql_node_i FROM spans", "graphql_node_id"),
    ],
)
def test_suggested(sql, expected):
    with pytest.raises(ValueError) as caught:
        admit_sql(sql, dialect="sqlite")
    assert expected in str(caught.value)


@pytest.mark.parametrize("sql", PERMITTED)
def test_permitted(sql):
    assert sqlglot.parse_one(sql) is not None


@pytest.mark.parametrize("dialect,refused", [("sqlite", "SELECT median(id) FROM spans")])
def test_refused(dialect, refused):
    admit_sql(refused, dialect=dialect)


@pytest.mark.parametrize("sql", ["SELECT nmae FROM spans"])
def test_sent_too(session, sql):
    admit_sql(sql, dialect="postgres")
    session.execute(sql)


@pytest.mark.parametrize("sql", [pytest.param("SELECT nmae2 FROM spans")])
def test_renamed(session, sql):
    query = sql
    admit_sql(query, dialect="postgres")


@pytest.mark.parametrize("sql", ["SELECT nmae3 FROM spans"], indirect=True)
def test_indirect(sql):
    admit_sql(sql, dialect="postgres")
'''


def _project(root: Path, database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE spans (id int, name text)")
    (root / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    (root / "src" / "app" / "sql").mkdir(parents=True)
    (root / "src" / "app" / "sql" / "parse.py").write_text(_PARSE, encoding="utf-8")
    (root / "tests").mkdir()
    (root / "tests" / "test_parse.py").write_text(_TEST, encoding="utf-8")


def _validate(root: Path, database_url: str):
    from dbsafe import commands
    from dbsafe.config import load_settings

    settings = load_settings(root, {"database-url": database_url, "cache": False},
                             environ={})
    return commands.validate(settings, [root])


@pytest.mark.db
def test_parametrized_values_the_test_only_hands_to_a_parser_are_not_statements(
        database_url: str, tmp_path: Path) -> None:
    _project(tmp_path, database_url)
    report = _validate(tmp_path, database_url)
    # sent as well, bound to another name first, given to a fixture: read as before
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS302", 34, "public.spans.nmae"), ("DBS302", 40, "public.spans.nmae2"),
        ("DBS302", 46, "public.spans.nmae3")]
    parsed = sorted(s.location.line for s in report.skipped
                    if "sent to sqlglot's parser" in s.reason
                    and s.location.path == "tests/test_parse.py")
    # (26: the name `sql` given to `sqlglot.parse_one`, said before as now)
    assert parsed == [7, 14, 15, 26, 29], report.skipped

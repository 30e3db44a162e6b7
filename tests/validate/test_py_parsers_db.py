"""SQL a module hands to a function of another module of the project that parses it with
sqlglot and never sends it (`dbsafe.extract.py_parsers`).

Arize Phoenix (Arize-ai/phoenix 9478f954): its analytics SQL (`latency_ms`, a column its
rewriter substitutes; SQLite's `percentile(x, 50)`) is handed by its tests to `admit_sql`,
`parse_sql`, `try_parse_and_admit` of `phoenix.server.mcp.sql.parse`, directly or through a
helper of the test module: 45 false errors on its schema before. A function that also sends
the parameter (`session.execute(text(sql))`, through what it strips of it, or through a
function of a module not read) keeps its callers' statements read. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

_PARSE = '''\
import re

import sqlglot
from sqlalchemy import text

from app.db import run_it

_QUOTED_CHAR = re.compile(r'"char"')


def parse_sql(sql, *, dialect):
    if _QUOTED_CHAR.search(sql):
        raise ValueError(f"not supported: {sql}")
    return sqlglot.parse_one(sql, read=dialect)


def admit_sql(sql, *, dialect):
    root = parse_sql(sql, dialect=dialect)
    return root, root.sql(dialect="postgres")


def run_sql(session, sql):
    sqlglot.parse_one(sql)
    return session.execute(text(sql))


def run_stripped(session, sql):
    sqlglot.parse_one(sql)
    query = sql.strip()
    return session.execute(query)


def check_then_run(sql, session):
    admit_sql(sql, dialect="postgres")
    return run_it(session, sql)
'''

_DB = '''\
def run_it(session, sql):
    return session.execute(sql)
'''

_TEST = '''\
from app.sql.parse import admit_sql, check_then_run, parse_sql, run_sql, run_stripped
from elsewhere.parse import admit_sql as other_admit


def _admit(sql):
    return admit_sql(sql, dialect="sqlite")


def test_admission(session):
    admit_sql("SELECT latency_ms FROM spans", dialect="sqlite")
    parse_sql(sql="SELECT percentile(id, 50) FROM spans", dialect="sqlite")
    _admit("SELECT graphql_node_id FROM spans")
    run_sql(session, "SELECT nmae FROM spans")
    run_stripped(session, "SELECT nmae2 FROM spans")
    check_then_run("SELECT nmae3 FROM spans", session)
    other_admit("SELECT nmae4 FROM spans")
'''


def _project(root: Path, database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE spans (id int, name text)")
    (root / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    (root / "src" / "app" / "sql").mkdir(parents=True)
    (root / "src" / "app" / "sql" / "parse.py").write_text(_PARSE, encoding="utf-8")
    (root / "src" / "app" / "db.py").write_text(_DB, encoding="utf-8")
    (root / "tests").mkdir()
    (root / "tests" / "test_parse.py").write_text(_TEST, encoding="utf-8")


def _validate(root: Path, database_url: str, **options: object):
    from dbsafe import commands
    from dbsafe.config import load_settings

    settings = load_settings(root, {"database-url": database_url, **options}, environ={})
    return commands.validate(settings, [root])


@pytest.mark.db
def test_sql_handed_to_another_modules_sqlglot_parser_is_not_a_statement(
        database_url: str, tmp_path: Path) -> None:
    _project(tmp_path, database_url)
    report = _validate(tmp_path, database_url, cache=False)
    # sent too (itself, stripped, by `app.db.run_it`), or given to what the project does
    # not hold: read as before
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS302", 13, "public.spans.nmae"), ("DBS302", 14, "public.spans.nmae2"),
        ("DBS302", 15, "public.spans.nmae3"), ("DBS302", 16, "public.spans.nmae4")]
    parsed = sorted(s.location.line for s in report.skipped
                    if "sent to sqlglot's parser" in s.reason
                    and s.location.path == "tests/test_parse.py")
    assert parsed == [10, 11, 12], report.skipped


@pytest.mark.db
def test_a_cached_run_reads_again_a_caller_of_a_parser_that_now_sends(
        database_url: str, tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    _project(root, database_url)
    cache = str(tmp_path / "cache")
    first = _validate(root, database_url, **{"cache-dir": cache})
    assert [f.location.line for f in first.findings if f.location] == [13, 14, 15, 16]
    parse = root / "src" / "app" / "sql" / "parse.py"
    parse.write_text(_PARSE.replace('return root, root.sql(dialect="postgres")',
                                    "return run_it(None, sql)"), encoding="utf-8")
    second = _validate(root, database_url, **{"cache-dir": cache})
    # `admit_sql` sends now: what the test gives it, directly or through `_admit`, is read
    assert [(f.code, f.location.line, f.subject) for f in second.findings
            if f.location and f.location.line < 13] == [
        ("DBS302", 10, "public.spans.latency_ms"),
        ("DBS302", 12, "public.spans.graphql_node_id")]

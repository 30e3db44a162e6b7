"""SQL held in a dataclass's field that the project only ever reads into sqlglot's parser
(`dbsafe.extract.py_parsers`): what its constructor is given is not a statement.

Arize Phoenix (Arize-ai/phoenix 9478f954) after task 411 still had 25 false errors of this
shape on its schema: 17 `AdmissionCase(sql=...)` of its tests' `admission_corpus.py`, read as
`case.sql` in other modules and handed to `try_parse_and_admit` (or returned by a private
function whose callers parse it), and 8 `ExecuteParams(sql=...)` given to
`execute_analytics_sql`, which parses `params.sql`, logs it, keeps it beside the statement
it runs (`ctx.caller_sql`) and sends only what it rewrote of it. A field some read of which
may be sent (`cursor.execute(case.query)`), of a dataclass a module handles whole
(`asdict(case)`), returned by a function another module names or by a fixture, or stored
in a global or a caller's dict keeps its values read.
Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

_PARSE = '''\
import sqlglot


def parse_sql(sql, *, dialect):
    return sqlglot.parse_one(sql, read=dialect)


def try_parse_and_admit(sql, *, dialect):
    return parse_sql(sql, dialect=dialect)
'''

_REWRITE = '''\
from dataclasses import dataclass, field

import sqlglot


@dataclass
class RewriteContext:
    notes: list = field(default_factory=list)
    caller_sql: str = ""
    executed_sql: str = ""


def render(root):
    return root.sql(dialect="postgres")
'''

_EXECUTE = '''\
import logging
from dataclasses import dataclass

from sqlalchemy import text

from app.sql.parse import parse_sql
from app.sql.rewrite import RewriteContext, render

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExecuteParams:
    sql: str
    row_limit: int | None = None


def execute_analytics_sql(session, params: ExecuteParams):
    if len(params.sql.encode("utf-8")) > 1000:
        raise ValueError(f"too long: {params.sql}")
    root = parse_sql(params.sql, dialect="postgres")
    logger.debug("caller %s", " ".join(params.sql.split()))
    ctx = RewriteContext()
    ctx.caller_sql = params.sql
    rendered = render(root)
    ctx.executed_sql = rendered
    return _run(session, rendered, ctx)


def _run(session, statement, ctx):
    if ctx.executed_sql != ctx.caller_sql:
        logger.debug("rewritten")
    return session.execute(text(statement))
'''

_CORPUS = '''\
from dataclasses import dataclass


@dataclass(frozen=True)
class AdmissionCase:
    sql: str
    note: str
    dialect: str = "postgres"


CASES = (
    AdmissionCase(sql="SELECT latency_ms FROM spans", note="a column rewritten"),
    AdmissionCase("SELECT percentile(id, 50) FROM spans", "SQLite's", dialect="sqlite"),
)


@dataclass
class SentCase:
    query: str


SENT = [SentCase(query="SELECT nmae FROM spans")]


@dataclass
class ListedCase:
    stmt: str


LISTED = [ListedCase(stmt="SELECT nmae3 FROM spans")]


def _listed():
    return [case.stmt for case in LISTED]


@dataclass
class OtherCase:
    fixture_sql: str
    kept_sql: str
    stored_sql: str


OTHERS = [OtherCase("SELECT nmae4 FROM spans", kept_sql="SELECT nmae5 FROM spans",
                    stored_sql="SELECT nmae6 FROM spans")]
'''

_DUMPED = '''\
from dataclasses import asdict, dataclass


@dataclass
class DumpedCase:
    text_sql: str


DUMPED = [DumpedCase(text_sql="SELECT nmae2 FROM spans")]


def rows():
    return [asdict(case) for case in DUMPED]
'''

_TEST_ADMISSION = '''\
import pytest
import sqlglot

from app.sql.parse import try_parse_and_admit
from tests.corpus import CASES, LISTED, OTHERS, SENT, AdmissionCase
from tests.dumped import DUMPED

LAST = None


def _corpus_statements():
    return [case.sql for case in CASES]


@pytest.mark.parametrize("case", CASES)
def test_admission(case: AdmissionCase):
    result = try_parse_and_admit(case.sql, dialect=case.dialect)
    assert result is not None, f"{case.note}: {case.sql}"


def test_unique():
    keys = [(case.sql, case.dialect) for case in CASES]
    assert len(set(keys)) == len(keys)


def test_nodes():
    seen = {}
    for sql in _corpus_statements():
        seen.setdefault(type(sqlglot.parse_one(sql)).__name__, sql)
    assert seen


def test_others(cursor):
    for case in SENT:
        sqlglot.parse_one(case.query)
        cursor.execute(case.query)
    for dumped in DUMPED:
        sqlglot.parse_one(dumped.text_sql)
    for listed in LISTED:
        sqlglot.parse_one(listed.stmt)
    for other in OTHERS:
        sqlglot.parse_one(other.fixture_sql)
        sqlglot.parse_one(other.kept_sql)
        sqlglot.parse_one(other.stored_sql)


@pytest.fixture
def _fixture_statements():
    return [other.fixture_sql for other in OTHERS]


def _keep(other, out):
    global LAST
    LAST = other.kept_sql
    out["stored"] = other.stored_sql
'''

_TEST_LISTED = '''\
from tests.corpus import _listed


def test_listed(cursor):
    cursor.execute(_listed()[0])
'''

_TEST_EXECUTE = '''\
import pytest

from app.sql.execute import ExecuteParams, execute_analytics_sql


def test_latency(session):
    execute_analytics_sql(session, ExecuteParams(sql="SELECT latency_ms FROM spans"))


@pytest.mark.parametrize("sql", [pytest.param("SELECT median(id) AS v FROM spans")])
def test_permitted(session, sql):
    execute_analytics_sql(session, ExecuteParams(sql=sql, row_limit=1))
'''


def _project(root: Path, database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE spans (id int, name text)")
    (root / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    (root / "src" / "app" / "sql").mkdir(parents=True)
    for name, text in (("parse", _PARSE), ("rewrite", _REWRITE), ("execute", _EXECUTE)):
        (root / "src" / "app" / "sql" / f"{name}.py").write_text(text, encoding="utf-8")
    (root / "tests").mkdir()
    for name, text in (("corpus", _CORPUS), ("dumped", _DUMPED),
                       ("test_admission", _TEST_ADMISSION),
                       ("test_listed", _TEST_LISTED), ("test_execute", _TEST_EXECUTE)):
        (root / "tests" / f"{name}.py").write_text(text, encoding="utf-8")


def _validate(root: Path, database_url: str, **options: object):
    from dbsafe import commands
    from dbsafe.config import load_settings

    settings = load_settings(root, {"database-url": database_url, **options}, environ={})
    return commands.validate(settings, [root])


def _parsed(report, path: str) -> list[int]:
    return sorted(s.location.line for s in report.skipped
                  if "sent to sqlglot's parser" in s.reason and s.location.path == path)


@pytest.mark.db
def test_sql_in_a_dataclass_field_read_only_into_a_parser_is_not_a_statement(
        database_url: str, tmp_path: Path) -> None:
    _project(tmp_path, database_url)
    report = _validate(tmp_path, database_url, cache=False)
    # a field also sent, of a dataclass handled whole, returned by a function another module
    # calls or by a fixture, stored in a global or in a dict the caller gave: read as before
    assert [(f.code, f.location.path, f.location.line, f.subject)
            for f in report.findings if f.location] == [
        ("DBS302", "tests/corpus.py", 22, "public.spans.nmae"),
        ("DBS302", "tests/corpus.py", 30, "public.spans.nmae3"),
        ("DBS302", "tests/corpus.py", 44, "public.spans.nmae4"),
        ("DBS302", "tests/corpus.py", 44, "public.spans.nmae5"),
        ("DBS302", "tests/corpus.py", 45, "public.spans.nmae6"),
        ("DBS302", "tests/dumped.py", 9, "public.spans.nmae2")]
    # the corpus's cases (by keyword and by position), and what the tests give
    # `ExecuteParams`: its `sql` is parsed, logged and kept; only its rewriting is sent
    assert _parsed(report, "tests/corpus.py") == [12, 13], report.skipped
    assert _parsed(report, "tests/test_execute.py") == [7, 10], report.skipped


@pytest.mark.db
def test_a_cached_run_reads_again_a_field_a_new_module_sends(
        database_url: str, tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    _project(root, database_url)
    cache = str(tmp_path / "cache")
    first = _validate(root, database_url, **{"cache-dir": cache})
    assert _parsed(first, "tests/corpus.py") == [12, 13]
    (root / "tests" / "test_run.py").write_text(
        "from tests.corpus import CASES\n\n\ndef test_run(cursor):\n"
        "    cursor.execute(CASES[0].sql)\n", encoding="utf-8")
    second = _validate(root, database_url, **{"cache-dir": cache})
    assert _parsed(second, "tests/corpus.py") == []
    assert ("DBS302", 12, "public.spans.latency_ms") in [
        (f.code, f.location.line, f.subject) for f in second.findings if f.location]

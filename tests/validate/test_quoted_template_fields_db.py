"""A format field inside a quoted identifier is a template's hole, not a relation's name.

pgAdmin's query-tool tests (pgadmin-org/pgadmin4 bc58657, `web/pgadmin/tools/sqleditor/
utils/tests/test_is_query_resultset_updatable.py`) keep statements as templates,
`dict(sql='SELECT pk_col1 AS some_col, pk_col2 FROM "{0}";')`, filled in later with
`self.sql.format(self.test_table_name)`: two false DBS301 "no relation `{0}`", where the
same templates unquoted (`FROM {0}`) were already left unparsed. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_module

_SCENARIOS = '''\
SCENARIOS = [
    dict(sql='SELECT id AS some_col FROM "{0}";'),
    dict(sql='SELECT id FROM "{schema}"."{table}" WHERE id = 1'),
    dict(sql='SELECT id FROM "{{ table }}"'),
]


def run(cur, scenario, table):
    cur.execute(scenario["sql"].format(table))


def missing(cur):
    cur.execute('SELECT nosuch FROM "records" WHERE tags = \\'{a,b}\\'')
'''


@pytest.mark.db
def test_a_format_field_in_a_quoted_identifier_is_a_template(database_url: str,
                                                              tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "CREATE TABLE records (id int, tags text[])",
                             "test_scenarios.py", _SCENARIOS)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS302", 13, "public.records.nosuch")]
    assert [(s.location.line, s.reason) for s in report.skipped] == [
        (line, "unparsed: braces outside quotes: a template filled in before it runs, not SQL "
               "as written") for line in (2, 3, 4)]


@pytest.mark.db
def test_ddl_with_a_quoted_template_field_stays_ignored(database_url: str,
                                                        tmp_path: Path) -> None:
    # DDL is not checked whatever names it holds: pgAdmin's 2,000 DDL templates
    # (`ALTER TABLE "{{ name }}" ...`) are counted as ignored, not as unparsable.
    source = "def grant(cur):\n    cur.execute('ALTER TABLE \"{0}\" ADD COLUMN note text')\n"
    report = validate_module(database_url, tmp_path, "CREATE TABLE records (id int)",
                             "grants.py", source)
    assert report.findings == ()
    assert (report.summary["statements_ignored"], report.summary["statements_unparsed"]) == (1, 0)


_GRAPHQL = '''\
from nautobot.core.graphql import execute_query


def locations(user):
    query = "{ query: locations {name} }"
    return execute_query(query, user=user)


def changes(user):
    return execute_query('{query: object_changes(q: "") { object_repr } }', user=user)


def built(cur, base):
    cur.execute("{} WHERE id = 1".format(base))
    cur.execute("SELECT {cols} FROM records")
'''


@pytest.mark.db
def test_braces_no_format_field_spells_are_no_template(database_url: str,
                                                       tmp_path: Path) -> None:
    # nautobot's tests hand GraphQL queries to its `execute_query` (a name SQL sinks
    # share): `{ query: locations {name} }` read as one `str.format` field made the whole
    # text a hole, 3 false DBS304 notes "the statement is built at run time". A field is
    # `{}`, `{0}`, `{name.attr[key]!r:spec}`, never a brace followed by a space or quote.
    report = validate_module(database_url, tmp_path, "CREATE TABLE records (id int)",
                             "test_graphql.py", _GRAPHQL)
    assert [(f.code, f.location.line) for f in report.findings if f.location] == [
        ("DBS304", 14), ("DBS304", 15)]

"""Strings in Python that look like statements but are not ones the module sends alone.

Each case is a false positive `dbsafe validate` gave on CKAN (ckan/ckan 2dbe2c1), shrunk
to its shape, next to a real finding of the same module that must stay. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_module

_APPENDED = '''\
def search(cur, last_id_select):
    sql = """
        WITH records_page AS (SELECT id FROM records),
             json_cols AS (SELECT array_agg(id) AS j FROM records_page)"""
    if last_id_select:
        sql += """, next_id AS (SELECT max(id) AS n FROM records_page)
            SELECT json_cols.j, next_id.n FROM json_cols, next_id"""
    else:
        sql += """ SELECT json_cols.j FROM json_cols"""
    cur.execute(sql)


def missing(cur):
    cur.execute("SELECT id FROM record_pages")
'''


@pytest.mark.db
def test_what_plus_equals_appends_is_not_a_statement_alone(database_url: str,
                                                            tmp_path: Path) -> None:
    # CKAN's datastore search: `sql_fmt += ''' SELECT json_cols.j FROM json_cols'''` reads
    # the CTE the text before it defines; read alone it was a DBS301 on `json_cols`.
    report = validate_module(database_url, tmp_path, "CREATE TABLE records (id int)",
                             "search.py", _APPENDED)
    assert [(f.code, f.location.line, f.subject) for f in report.findings
            if f.location and f.code != "DBS304"] == [("DBS301", 14, "public.record_pages")]


_SQLITE_BACKEND = '''\
import sqlalchemy as sa


class ExampleSqliteBackend:
    def execute(self, sql):
        with sa.create_engine(self.write_url).begin() as conn:
            return conn.execute(sa.text(sql))

    def get_all_ids(self):
        return [t.name for t in self.execute(
            """select name from sqlite_master where type = "table" """).fetchall()]

    def tables_and_users(self):
        return self.execute(
            "SELECT m.name, u.nickname FROM main.sqlite_master m JOIN users u ON u.name = m.name")

    def missing(self):
        return self.execute("SELECT nickname FROM users")

    def table_type(self, name):
        return self.execute("SELECT type FROM pragma_table_list WHERE name = :name")
'''


@pytest.mark.db
def test_a_statement_reading_sqlite_catalog_is_sqlites(database_url: str,
                                                       tmp_path: Path) -> None:
    # CKAN's example SQLite datastore backend makes its engine from a configured URL, so
    # the module does not show SQLite; `sqlite_master` does (a false DBS301), and then the
    # statement's other names are SQLite's too. So does a pragma's table-valued function
    # named as a table (Datasette's `select type from pragma_table_list where name = ?`).
    report = validate_module(database_url, tmp_path, "CREATE TABLE users (name text)",
                             "example_sqlite.py", _SQLITE_BACKEND)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS302", 18, "public.users.nickname")]


_PARSER_TEST = '''\
from app import backend


class TestHelpers:
    def test_is_single_statement(self):
        singles = [
            "SELECT * FROM footable",
            'SELECT * FROM "bart;able";',
        ]
        multiples = (
            'SELECT * FROM "foo"; SELECT * FROM "abc"',
        )
        for single in singles:
            assert backend.is_single_statement(single) is True
        for multiple in multiples:
            self.assertFalse(backend.is_single_statement(multiple))

    def test_info(self, execute, rid):
        call = "SELECT nickname FROM users WHERE name = '{0}'".format(rid)
        execute.assert_called_with(call)

    def test_search_sql(self, helpers):
        queries = ["SELECT nickname FROM users"]
        for query in queries:
            result = helpers.call_action("datastore_search_sql", sql=query)
            assert result["records"]
'''


@pytest.mark.db
def test_strings_a_test_only_asserts_on_through_a_name_are_not_statements(
        database_url: str, tmp_path: Path) -> None:
    # CKAN's datastore helper tests feed a SQL splitter a list of strings (8 false DBS301),
    # and compare what a mock was called with to a formatted string (all of it an input);
    # a string also given to anything else may be sent there, and stays checked.
    report = validate_module(database_url, tmp_path, "CREATE TABLE users (name text)",
                             "test_helpers.py", _PARSER_TEST)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS302", 23, "public.users.nickname")]


# AiiDA's `tests/cmdline/utils/test_log.py` hands a prepared statement's text to
# `logging.LogRecord` and compares what its formatter makes of it with the text (a false
# DBS301 on `t`). A string also sent, or given to a method of something else, stays read.
_LOGGED = '''\
import logging

from app import log


def test_cli_formatter_named_parameters():
    message = 'SELECT t.pk FROM t WHERE t.pk = %(pk_1)s'
    record = logging.LogRecord('name', logging.INFO, 'pathname', 0, message, (), None)
    assert log.CliFormatter().format(record) == message


def test_logged_and_sent(cursor):
    sql = 'SELECT nickname FROM users'
    log.info(sql)
    cursor.execute(sql)


def test_given_on(db):
    other = 'SELECT nickname FROM users'
    db.info(other)
    assert other
'''


@pytest.mark.db
def test_a_string_only_logged_and_asserted_on_is_not_a_statement(database_url: str,
                                                                  tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "CREATE TABLE users (name text)",
                             "test_log.py", _LOGGED)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS302", 13, "public.users.nickname"),
        ("DBS302", 19, "public.users.nickname")]


_CHECKS_TABLE_EXISTS = '''\
import sqlalchemy as sa


def legacy_version(engine):
    version = 0
    if sa.inspect(engine).has_table("migrate_version"):
        with engine.connect() as conn:
            version = conn.execute(sa.text("select version from migrate_version")).scalar()
    if "old_users" in sa.inspect(engine).get_table_names() and version:
        sql = "SELECT count(*) FROM old_users JOIN users USING (name)"
        engine.execute(sql)
    return version


def unchecked(engine, inspector):
    if not inspector.has_table("migrate_version"):
        engine.execute("SELECT version FROM migrate_version")
    if inspector.has_table("migrate_version"):
        engine.execute("SELECT nickname FROM users")
    else:
        engine.execute("SELECT version FROM old_versions")
'''


@pytest.mark.db
def test_a_table_the_code_checks_exists_is_not_missing(database_url: str,
                                                       tmp_path: Path) -> None:
    # CKAN reads sqlalchemy-migrate's `migrate_version` only after `has_table` found it (a
    # false DBS301). Negated checks, other tables and the `else` branch stay checked.
    report = validate_module(database_url, tmp_path, "CREATE TABLE users (name text)",
                             "model.py", _CHECKS_TABLE_EXISTS)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS301", 17, "public.migrate_version"),
        ("DBS302", 19, "public.users.nickname"),
        ("DBS301", 21, "public.old_versions")]


# Nominatim (`db/sql_preprocessor.py`, `tools/check_database.py`, `tools/migration.py`): a
# table the code returns early without, a fallback for an old layout in the `else` of a
# check, and a migration step run only where today's table does not exist yet (5 false
# DBS301). Where the schema lacks the table checked for, the fallback is what runs.
_CHECKS_TABLE_MISSING = '''\
def middle_format(conn, tables):
    if 'osm2pgsql_properties' not in tables:
        return '1'
    with conn.cursor() as cur:
        cur.execute("SELECT value FROM osm2pgsql_properties WHERE property = 'db_format'")
        return cur.fetchone()[0]


def wikipedia_count(conn):
    if table_exists(conn, 'wikimedia_importance'):
        return execute_scalar(conn, 'SELECT count(*) FROM wikimedia_importance')
    else:
        return execute_scalar(conn, 'SELECT count(*) FROM wikipedia_article')


def move_postcodes(conn):
    has_postcode_table = table_exists(conn, 'location_postcodes')
    if not has_postcode_table:
        with conn.cursor() as cur:
            cur.execute("DELETE FROM location_postcode o USING location_postcodes n "
                        "WHERE o.postcode = n.postcode")


def unchecked(conn, options):
    if not table_exists(conn, 'old_layout'):
        conn.execute("SELECT count(*) FROM new_layout")
    if 'osm2pgsql_properties' in options:
        return '1'
    conn.execute("SELECT value FROM osm2pgsql_properties")
    if 'location_postcode' in skipped_tables:
        return
    conn.execute("SELECT nosuch FROM location_postcodes")
'''


@pytest.mark.db
def test_a_statement_sent_only_where_a_table_the_schema_has_is_missing_is_not_checked(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(
        database_url, tmp_path,
        "CREATE TABLE wikimedia_importance (n int); CREATE TABLE location_postcodes (postcode "
        "text)", "migration.py", _CHECKS_TABLE_MISSING)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS301", 26, "public.new_layout"),
        ("DBS301", 29, "public.osm2pgsql_properties"),
        ("DBS302", 32, "public.location_postcodes.nosuch")]
    assert {(s.location.line, s.reason) for s in report.skipped} == {
        (5, "not analysed: reads a table the code checks exists before sending it"),
        (13, "not analysed: sent only where `wikimedia_importance` does not exist, which the "
             "schema has"),
        (20, "not analysed: sent only where `location_postcodes` does not exist, which the "
             "schema has")}


_CHECKS_TABLE_EXISTS_IN_NAMES = '''\
from django.db import connection


def _object_permissions():
    with connection.cursor() as cursor:
        cursor.execute("SELECT object_pk FROM guardian_userobjectpermission")
        return cursor.fetchall()


def _also_unguarded():
    with connection.cursor() as cursor:
        cursor.execute("SELECT object_pk FROM guardian_groupobjectpermission")


def _handed_on():
    with connection.cursor() as cursor:
        cursor.execute("SELECT object_pk FROM guardian_groupobjectpermission")


def handle(run):
    table_names = connection.introspection.table_names()
    guardian_available = "guardian_userobjectpermission" in table_names
    group_available = "guardian_groupobjectpermission" in table_names
    if guardian_available:
        print(_object_permissions())
        data = list(_object_permissions())
    if group_available:
        _also_unguarded()
        run(_handed_on)
    _also_unguarded()
    return data
'''


@pytest.mark.db
def test_a_table_checked_through_names_and_in_the_only_callers_is_not_missing(
        database_url: str, tmp_path: Path) -> None:
    # pulpcore's dump-permissions reads django-guardian's tables in helpers it calls only
    # under `if guardian_uop_available:`, a name bound to `"x" in table_names`, itself
    # bound to `connection.introspection.table_names()` (2 false DBS301). A helper also
    # called unchecked, or handed on as a value, stays checked.
    report = validate_module(database_url, tmp_path, "CREATE TABLE users (name text)",
                             "dump_permissions.py", _CHECKS_TABLE_EXISTS_IN_NAMES)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS301", 12, "public.guardian_groupobjectpermission"),
        ("DBS301", 17, "public.guardian_groupobjectpermission")]


_MOCK_DATA_AND_CHECKED_OUTPUT = '''\
from unittest import TestCase
from unittest.mock import MagicMock

from app.testing import RepeatedQueries, fetch


class NormalizeTests(TestCase):
    def test_normalizes(self):
        sql = "SELECT * FROM mytable WHERE name = 'foo'"
        result = RepeatedQueries.normalize(sql)
        self.assertEqual(result, "SELECT * FROM mytable WHERE name = '?'")
        unchanged = "SELECT id FROM mytable"
        kept = RepeatedQueries.normalize(unchanged)
        self.assertEqual(kept, unchanged)

    def test_repeated(self):
        repeated_query = "SELECT * FROM othertable WHERE id = '1'"
        context = MagicMock()
        context.captured_queries = [{"sql": "SELECT * FROM table_a"}] * 6 + [
            {"sql": repeated_query}] * 8
        context.more = [{"sql": f"SELECT {i} FROM table_b"} for i in range(3)]
        RepeatedQueries(context).check()

    def test_sends(self):
        sql = "SELECT nickname FROM users"
        rows = fetch(sql)
        self.assertEqual(rows, [])
        plain = object()
        plain.query = "SELECT nickname FROM users"
'''


@pytest.mark.db
def test_mock_data_and_inputs_of_checked_output_are_not_statements(database_url: str,
                                                                    tmp_path: Path) -> None:
    # nautobot's tests of its repeated-queries check hand a normalizer `sql` and assert
    # what it returns with text, and store captured queries on a MagicMock (17 false
    # DBS301 on `mytable`, `table_a`, ...). An output compared with anything but text (it
    # may be rows the statement fetched), and a string stored on anything else, stay
    # checked.
    report = validate_module(database_url, tmp_path, "CREATE TABLE users (name text)",
                             "test_repeated.py", _MOCK_DATA_AND_CHECKED_OUTPUT)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS302", 25, "public.users.nickname"),
        ("DBS302", 29, "public.users.nickname")]


_PARAMETRIZED = '''\
import pytest

from app.sql import is_single_statement, split


@pytest.mark.parametrize("sql", [
    "SELECT * FROM footable",
    pytest.param("SELECT * FROM bartable; SELECT 1", id="two"),
])
def test_splits(sql):
    assert len(split(sql)) >= 1


@pytest.mark.parametrize(("sql", "single"), [
    ("SELECT * FROM footable", True),
    ("SELECT * FROM bartable; SELECT 1", False),
])
def test_single(sql, single):
    assert is_single_statement(sql) == single


@pytest.mark.parametrize("sql", ["SELECT nosuch FROM records"])
def test_runs(db, sql):
    db.execute(sql)
'''


@pytest.mark.db
def test_a_parametrized_string_a_test_only_asserts_on_is_its_input(database_url: str,
                                                                    tmp_path: Path) -> None:
    # SQL-splitter tests (CKAN's, sqlparse-style) give a parser strings naming tables no
    # schema has; a parametrized string the test sends (`db.execute(sql)`) stays checked.
    report = validate_module(database_url, tmp_path, "CREATE TABLE records (id int)",
                             "test_sql.py", _PARAMETRIZED)
    assert [(f.code, f.location.line, f.subject) for f in report.findings
            if f.location and f.code != "DBS304"] == [("DBS302", 22, "public.records.nosuch")]


# pgspecial's favourite-query tests (dbcli/pgspecial 8e1f5db, `tests/test_internal.py`):
# the expected output of a template substitution is a parametrized value the test only
# compares with, beside a template it hands to the code under test (3 false DBS301).
_PARAMETRIZED_EXPECTED = '''\
import pytest

from app.favorites import substitute


@pytest.mark.parametrize(
    "template,args,expected",
    [
        ("select * from records where id = $1", ("42",),
         "select * from footable where id = 42"),
        pytest.param("select * from records where id IN ($*)", ("1", "2"),
                     "select * from bartable where id IN (1, 2)", id="list"),
    ],
)
def test_substitute(template, args, expected):
    result, error = substitute(template, args)
    assert result == expected


@pytest.mark.parametrize(("sql", "expected"), [("SELECT nosuch FROM records", [])])
def test_runs(db, sql, expected):
    rows = db.execute(sql).fetchall()
    assert rows == expected
'''


@pytest.mark.db
def test_a_parametrized_value_a_test_only_asserts_on_is_no_statement(database_url: str,
                                                                     tmp_path: Path) -> None:
    # Each value binds one name: the one whose name the test only compares with is its
    # expected output, whatever the test does with the others. The template it hands to
    # the code (`substitute(template, ...)`) and the statement it sends stay checked.
    report = validate_module(database_url, tmp_path, "CREATE TABLE records (id int)",
                             "test_favorites.py", _PARAMETRIZED_EXPECTED)
    assert [(f.code, f.location.line, f.subject) for f in report.findings
            if f.location and f.code != "DBS304"] == [("DBS302", 20, "public.records.nosuch")]


_SENT_IN_ASSERTIONS = '''\
import pytest


@pytest.mark.parametrize("sql", ["SELECT nosuch FROM records"])
def test_runs(db, sql):
    assert db.execute(sql).fetchall() == []


def test_each(cur):
    queries = ["SELECT id FROM records", "SELECT missing FROM records"]
    for query in queries:
        assert cur.execute(query).rowcount == 0
'''


@pytest.mark.db
def test_a_name_sent_inside_an_assertion_stays_a_statement(database_url: str,
                                                            tmp_path: Path) -> None:
    # `assert db.execute(sql)...`: the read is in an assertion, but it is a sink's statement.
    report = validate_module(database_url, tmp_path, "CREATE TABLE records (id int)",
                             "test_sent.py", _SENT_IN_ASSERTIONS)
    assert [(f.code, f.location.line, f.subject) for f in report.findings
            if f.location and f.code != "DBS304"] == [("DBS302", 4, "public.records.nosuch"),
                                                      ("DBS302", 10, "public.records.missing")]


_POSTED = '''\
RULE = {
    "ruleName": "test rule",
    "sqlQuery": {"sql": "SELECT * FROM alert where severity = %s", "params": ["critical"]},
}


def test_create_rule_api(client, session, rule_id):
    rule_data = {
        "ruleName": "test rule",
        "sqlQuery": {
            "sql": "SELECT * FROM alert where severity = %s",
            "params": ["critical"],
        },
    }
    client.post("/rules", headers={"x-api-key": "some-key"}, json=rule_data)
    invalid = {k: v for k, v in rule_data.items() if k != "ruleName"}
    client.post("/rules", json=invalid)
    client.put("/rules/{}".format(rule_id), json=dict(rule_data, **{"celQuery": ""}))
    session.post("/v2/query", json={"type": "run_sql", "args": {"sql": "SELECT id FROM hasura_a"}})
    session.post(f"{session.base}/sql", json={"query": "SELECT id FROM neon_b"})
    session.post(session.url, json={"query": "SELECT id FROM unknown_url_c"})


def sent_too(client, cur):
    body = {"sql": "SELECT id FROM sent_d"}
    client.post("/rules", json=body)
    cur.execute(body["sql"])


def module_level(client):
    client.post("/rules", json=RULE)
'''


@pytest.mark.db
def test_sql_posted_as_data_in_a_json_body_is_not_a_statement(database_url: str,
                                                              tmp_path: Path) -> None:
    # keephq/keep's tests/test_rules_api.py posts a rule's `sqlQuery` ({"sql": "SELECT *
    # FROM alert where severity = %s", ...}) to its `/rules` API, which keeps it for its
    # rules engine: severity is in the events' JSON, and PostgreSQL never sees the text
    # (42703: a false DBS302, task 392's probe). A body a service runs as SQL on
    # PostgreSQL (Hasura's run_sql, an endpoint named `sql` or `query`), one posted to a
    # URL the module does not write, and one whose value is also executed stay read.
    report = validate_module(
        database_url, tmp_path, "CREATE TABLE alert (id int, payload jsonb)", "rules.py",
        _POSTED)
    assert sorted((f.code, f.location.line, f.subject) for f in report.findings
                  if f.location and f.code != "DBS304") == [
        ("DBS301", 19, "public.hasura_a"), ("DBS301", 20, "public.neon_b"),
        ("DBS301", 21, "public.unknown_url_c"), ("DBS301", 25, "public.sent_d")]

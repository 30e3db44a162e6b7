"""A module's own helpers for another engine: a client factory, a cached client, a method
sending its parameter there.

Letta's ClickHouse readers (letta-ai/letta 56ba9c2, `letta/services/*traces*.py`) make
their client in a method (`return clickhouse_connect.get_client(...)`, or kept in
`self._client`) and send statements through `client.query(query)` or a helper
`_query_sync(self, query, parameters)` handed to `asyncio.to_thread`: six false DBS301 on
ClickHouse tables. The module shows where they go; PostgreSQL statements next to them
stay checked. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_files, validate_module

_READERS = '''\
import asyncio

import clickhouse_connect


class OtelTracesReader:
    def _get_client(self):
        return clickhouse_connect.get_client(host="ch", secure=True)

    def traces(self, trace_id, only_ui):
        client = self._get_client()
        if only_ui:
            query = "SELECT * FROM otel_traces WHERE TraceId = %(t)s AND SpanName = 'x'"
        else:
            query = "SELECT * FROM otel_traces WHERE TraceId = %(t)s"
        return client.query(query, parameters={"t": trace_id})


class LlmTraceReader:
    def __init__(self, db):
        self._client = None
        self.db = db

    def _get_client(self):
        if self._client is not None:
            return self._client
        self._client = clickhouse_connect.get_client(host="ch")
        return self._client

    def _query_sync(self, query, parameters):
        client = self._get_client()
        return client.query(query, parameters=parameters).result_rows

    async def by_step(self, step_id):
        query = """
            SELECT id, request_json FROM llm_traces WHERE step_id = %(step_id)s
        """
        return await asyncio.to_thread(self._query_sync, query, {"step_id": step_id})

    def latest(self):
        return self._query_sync("SELECT max(created_at) FROM llm_traces", {})

    def postgres(self):
        return self.db.execute("SELECT nickname FROM users")

    def both(self, query):
        self._query_sync(query, {})
        return self.db.execute(query)

    def shared(self):
        sql = "SELECT nickname FROM users"
        self._query_sync(sql, {})
        return self.db.execute(sql)


def _either(local):
    if local:
        return clickhouse_connect.get_client(host="ch")
    return make_postgres_connection()


def unknown(local):
    return _either(local).query("SELECT id FROM spans")
'''


@pytest.mark.db
def test_a_modules_own_helpers_for_another_engine_send_there(database_url: str,
                                                             tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "CREATE TABLE users (name text)",
                             "readers.py", _READERS)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS302", 44, "public.users.nickname"),
        ("DBS302", 51, "public.users.nickname"),
        ("DBS301", 63, "public.spans")]
    skipped = [s.location.line for s in report.skipped if "sent to ClickHouse" in s.reason]
    assert {13, 15, 35, 41} <= set(skipped)


# openreplay's API (openreplay/openreplay, `api/chalicelib/core/*_ch.py`): its own
# `ClickHouseClient` wraps clickhouse-driver; statements go as `execute(query=query)`, or
# are first filled in by the client's `format(query=..., parameters=...)` (clickhouse-driver's
# `substitute_params`), the way psycopg's `mogrify` is used. Four false DBS301 on ClickHouse
# tables (`product_analytics.events`, `experimental.parsed_errors`).
_WRAPPED_CLIENT = '''\
from chalicelib.utils import ch_client, pg_client


def save_stacktrace(project_id, error_id):
    with ch_client.ClickHouseClient() as cur:
        query = """INSERT INTO experimental.parsed_errors(project_id, error_id)
                   VALUES (%(project_id)s, %(error_id)s)"""
        cur.execute(query=query, parameters={"project_id": project_id, "error_id": error_id})


def get_issue(project_id):
    with ch_client.ClickHouseClient() as cur:
        query = cur.format(query="""SELECT * FROM product_analytics.events
                                    WHERE project_id = %(project_id)s""",
                           parameters={"project_id": project_id})
        return cur.execute(query=query)


def get_events(project_id):
    with ch_client.ClickHouseClient() as client:
        r = client.substitute_params(
            "SELECT event_name FROM product_analytics.all_events WHERE project_id = %(p)s",
            {"p": project_id}, {})
        return client.execute(r)


def get_user(user_id):
    with pg_client.PostgresClient() as cur:
        query = "SELECT nickname FROM users WHERE id = %(user_id)s"
        cur.execute(query=query)
        cur.execute(query=cur.mogrify("SELECT nickname FROM users", {}))
'''


@pytest.mark.db
def test_a_wrapped_clickhouse_clients_keyword_and_format_calls_send_there(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "CREATE TABLE users (id int, name text)",
                             "errors_ch.py", _WRAPPED_CLIENT)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS302", 29, "public.users.nickname"),
        ("DBS302", 31, "public.users.nickname")]
    skipped = {s.location.line for s in report.skipped if "sent to ClickHouse" in s.reason}
    assert {6, 13, 22} <= skipped


# Mipha, a discord.py bot (AbstractUmbra/Mipha, `extensions/heights/cog.py`): PostgreSQL
# through asyncpg for the bot, and a cog keeping its own SQLite file through asqlite
# (Rapptz's asyncio sqlite3), its pool handed in annotated `asqlite.Pool`, statements sent
# as `conn.fetchall(query, ...)`: two false DBS301 on the SQLite table `heights`.
_ASQLITE_COG = '''\
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asqlite


class Heights:
    def __init__(self, bot, /, pool: asqlite.Pool) -> None:
        self.bot = bot
        self.pool = pool

    async def records(self, scope_id: int):
        async with self.pool.acquire() as conn:
            return await conn.fetchall("SELECT * FROM heights WHERE scope_id = ?;", scope_id)

    async def record(self, scope_id: int):
        async with self.pool.acquire() as conn:
            return await conn.fetchone("SELECT height FROM heights WHERE scope_id = ?;", scope_id)

    async def nickname(self):
        return await self.bot.pool.fetch("SELECT nickname FROM users")
'''


@pytest.mark.db
def test_statements_an_asqlite_pool_sends_are_sqlites(database_url: str,
                                                      tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "CREATE TABLE users (id int, name text)",
                             "cog.py", _ASQLITE_COG)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS302", 23, "public.users.nickname")]
    skipped = {s.location.line for s in report.skipped if "sent to SQLite" in s.reason}
    assert skipped == {16, 20}


# Buildbot (buildbot/buildbot 61f2f41180, `master/buildbot/test/unit/db/test_pool.py`) makes
# its stress test's table on an engine it creates for a SQLite file, then writes it through
# the connection its pool hands a callback: two false DBS301 on `test`. What a statement
# sent to another engine creates is made at run time for the module's other statements.
_SQLITE_SETUP = '''\
import sqlalchemy as sa


class Stress:
    def setUp(self):
        setup_engine = sa.create_engine("sqlite:///test.sqlite")
        setup_engine.execute("CREATE TABLE test (a integer, b integer)")

    def test_inserts(self):
        def write(conn):
            conn.execute("INSERT INTO test VALUES (1, 1)")
            conn.execute("INSERT INTO tset VALUES (1, 1)")
        self.pool.do(write)
'''


@pytest.mark.db
def test_what_a_statement_sent_to_sqlite_creates_is_made_at_run_time(database_url: str,
                                                                      tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "SELECT 1", "test_pool.py", _SQLITE_SETUP)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS301", 12, "public.tset")]
    assert {(s.location.line, s.reason) for s in report.skipped} == {
        (7, "sent to SQLite, not PostgreSQL"),
        (11, "not analysed: uses what DDL earlier in this file created or changed")}


# Synapse's port script (element-hq/synapse, `synapse/_scripts/synapse_port_db.py`) reads a
# SQLite database through callbacks its SQLite store runs with a transaction of its own
# (`runInteraction("select", r)`, `execute(get_start_id)`), and writes PostgreSQL through
# callbacks its PostgreSQL store runs: 4 false DBS301 (`sent_transactions`) and 3 false
# DBS302 (`event_search.rowid`, SQLite's implicit column).
_CALLBACKS = '''\
class Porter:
    async def setup_sent_transactions(self, yesterday):
        select = (
            "SELECT rowid, * FROM sent_transactions WHERE rowid IN ("
            "SELECT max(rowid) FROM sent_transactions GROUP BY destination)"
        )

        def r(txn):
            txn.execute(select)
            rows = txn.fetchall()
            return [r for r in rows if r[0] < yesterday]

        rows = await self.sqlite_store.db_pool.runInteraction("select", r)
        newest = max(r[0] for r in rows)

        def get_start_id(txn):
            txn.execute("SELECT rowid FROM sent_transactions WHERE ts >= ?", (yesterday,))
            return txn.fetchone()

        start = await self.sqlite_store.execute(get_start_id)

        def insert(txn):
            txn.execute("INSERT INTO users (nickname) VALUES (?)", (newest,))

        await self.postgres_store.execute(insert)

        def count(txn):
            txn.execute("SELECT count(*) FROM rooms")

        await self.sqlite_store.execute(count)
        await self.postgres_store.execute(count)
        return start
'''


@pytest.mark.db
def test_a_callback_only_another_engines_store_runs_sends_there(database_url: str,
                                                                tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "CREATE TABLE users (name text)",
                             "port_db.py", _CALLBACKS)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS302", 23, "public.users.nickname"),
        ("DBS301", 28, "public.rooms")]  # run by both stores: checked
    skipped = [s.location.line for s in report.skipped if "sent to SQLite" in s.reason]
    assert skipped == [4, 17]


# PostHog (PostHog/posthog, `posthog/models/person/divergence.py`) keeps its ClickHouse layer
# in its own package: `from posthog.clickhouse.client import sync_execute`, wrapped by a
# helper `_ch(sql, args, settings)`, itself called by `_scan(sql=...)` through a lambda.
# Its ClickHouse `person` table is no PostgreSQL relation: three false DBS301 (two of them
# "confirmed", PostgreSQL having no `person` either). The Django cursor beside them stays
# checked.
_POSTHOG = '''\
from django.db import connection

from posthog.clickhouse.client import sync_execute
from posthog.clickhouse import client as ch


def _ch(sql, args, settings):
    return sync_execute(sql, args, settings=settings, readonly=True)


def max_team_id():
    return _ch("SELECT max(team_id) FROM person", {}, {})


def _scan(*, sql, settings, on_rows):
    on_rows((lambda lo, hi: _ch(sql, {"lo": lo, "hi": hi}, settings))(0, 10))


_HIDDEN_SQL = """
SELECT team_id, toString(id), max(version) AS max_version
FROM person
WHERE team_id >= %(lo)s AND team_id < %(hi)s
GROUP BY team_id, id
HAVING argMax(is_deleted, version) = 1
"""


def scan_hidden(on_rows):
    return _scan(sql=_HIDDEN_SQL, settings={}, on_rows=on_rows)


def count_events():
    return ch.sync_execute("SELECT count() FROM events")


def pg_versions(team_id):
    with connection.cursor() as cursor:
        cursor.execute("SELECT uuid, verison FROM posthog_person WHERE team_id = %s", [team_id])
'''


@pytest.mark.db
def test_functions_of_a_projects_own_package_for_another_engine_send_there(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(
        database_url, tmp_path,
        "CREATE TABLE posthog_person (id int, uuid uuid, version int, team_id int)",
        "divergence.py", _POSTHOG)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS302", 38, "public.posthog_person.verison")]
    skipped = [s.location.line for s in report.skipped if "sent to ClickHouse" in s.reason]
    assert sorted(skipped) == [12, 19, 33], skipped


# PostHog's `posthog/models/person/sql.py` and its many kin: a module of ClickHouse
# statements its importers send (`sync_execute(GET_TEAM_PERSON_DISTINCT_IDS, ...)`), which
# imports ClickHouse's layer of the project and sends nothing itself: each was a false DBS301
# on a ClickHouse table (`person`, `person_distinct_id`), "confirmed" as PostgreSQL has none.
_CLICKHOUSE_CONSTANTS = '''\
from django.conf import settings

from posthog.clickhouse.cluster import ON_CLUSTER_CLAUSE
from posthog.clickhouse.table_engines import ReplacingMergeTree

GET_TEAM_PERSON_DISTINCT_IDS = """
SELECT distinct_id, argMax(person_id, _timestamp) AS person_id
FROM (SELECT distinct_id, person_id, max(_timestamp) AS _timestamp FROM person_distinct_id
      WHERE team_id = %(team_id)s GROUP BY person_id, distinct_id)
GROUP BY distinct_id
"""

INSERT_PERSON_SQL = """
INSERT INTO person (id, team_id, is_deleted, version) SELECT %(uuid)s, %(team_id)s, 0, %(version)s
"""

GET_PERSON_IDS = """SELECT id FROM ({people}) people""".format(people=GET_TEAM_PERSON_DISTINCT_IDS)
'''


@pytest.mark.db
def test_constants_a_module_of_another_engines_layer_only_exports_are_that_engines(
        database_url: str, tmp_path: Path) -> None:
    ddl = "CREATE TABLE IF NOT EXISTS posthog_person (id int, team_id int)"
    for folder in ("layer", "django_db", "sent_here"):
        (tmp_path / folder).mkdir()
    report = validate_module(database_url, tmp_path / "layer", ddl, "sql.py",
                             _CLICKHOUSE_CONSTANTS)
    assert report.findings == ()
    skipped = [s.location.line for s in report.skipped if "sent to ClickHouse" in s.reason]
    assert sorted(skipped) == [6, 13, 17], skipped
    # A module that may reach PostgreSQL (django.db), or that hands a constant to a call of
    # its own, is no such layer: its statements stay checked.
    django_db = _CLICKHOUSE_CONSTANTS.replace("from django.conf import settings",
                                              "from django.db import connection")
    sent_here = _CLICKHOUSE_CONSTANTS + "\nrun_query(INSERT_PERSON_SQL)\n"
    for folder, source in (("django_db", django_db), ("sent_here", sent_here)):
        report = validate_module(database_url, tmp_path / folder, ddl, "sql.py", source)
        assert [(f.code, f.location.line, f.subject) for f in report.findings
                if f.location and f.location.line == 14] == [
            ("DBS301", 14, "public.person")], (folder, report.findings)


# fides (ethyca/fides 96aa40c) reads its customers' databases. `scripts/mssql_discover.py`
# sends `SELECT name FROM sys.databases` through an `mssql+pymssql://` engine;
# `scylla_connector.py` sends CQL (`select now() from system.local`) to a Cassandra driver's
# session, and its tests `select * from users` there; `tests/fixtures/mssql_fixtures.py`
# lists `INSERT INTO dbo.product ...` statements and runs each through a fixture named for
# SQL Server, `[mssql_integration_session.execute(stmt) for stmt in statements]`: 16 false
# DBS301 on schemas and tables of those databases (and 12 more of the same shape for
# BigQuery). The statements PostgreSQL gets beside them stay checked. NAV's Oracle service
# checker (Uninett/nav 3827cf790a, `statemon/checker/OracleChecker.py`) asks a
# `cx_Oracle.connect(...)` connection's cursor `select version from sys.v_$instance`: a false
# DBS301 (no schema `sys`).
_CUSTOMER_DATABASES = '''\
import cx_Oracle
from cassandra.cluster import Cluster
from sqlalchemy import create_engine, text

from local_secrets import PASS, USER

MASTER_URL = f"mssql+pymssql://{USER}:{PASS}@h:1433/master"
warehouse = create_engine(MASTER_URL)


def discover():
    with warehouse.connect() as conn:
        return conn.execute(text("SELECT name FROM sys.databases")).all()


def ping(hosts):
    session = Cluster(hosts).connect()
    session.execute("select now() from system.local")


def seed(mssql_integration_session, bigquery_client, pg):
    statements = [
        "INSERT INTO dbo.product VALUES (1, 'Example Product 1')",
        "INSERT INTO dbo.address VALUES (1, 'Example Street')",
    ]
    [mssql_integration_session.execute(stmt) for stmt in statements]
    for statement in ("DELETE FROM fidesopstest.visit", "DELETE FROM fidesopstest.login"):
        bigquery_client.execute(statement)
    for query in ("SELECT name FROM users", "SELECT id FROM nosuch"):
        pg.execute(query)


def oracle_version(dsn):
    connection = cx_Oracle.connect(dsn)
    cursor = connection.cursor()
    cursor.execute("select version from sys.v_$instance")
'''


@pytest.mark.db
def test_statements_for_sql_server_cassandra_and_lists_sent_there_are_theirs(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "CREATE TABLE users (name text)",
                             "connectors.py", _CUSTOMER_DATABASES)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS301", 29, "public.nosuch")]
    skipped = sorted((s.location.line, s.reason.split(",")[0]) for s in report.skipped
                     if "sent to" in s.reason)
    assert skipped == [(13, "sent to SQL Server"), (18, "sent to Cassandra"),
                       (23, "sent to SQL Server"), (24, "sent to SQL Server"),
                       (27, "sent to BigQuery"), (27, "sent to BigQuery"),
                       (36, "sent to Oracle")]


# temboard (dalibo/temboard 4f6aa9ed, `toolkit/tests/test_sqlite3_engine.py`) tests its
# SQLite task list through a helper of the module given the connection and the statement,
# `execute(engine.conn, "SELECT * FROM tasks")`, `engine` its own
# `sqlite3_engine.TaskListSQLite3Engine(...)`: eight false DBS301 on SQLite's `tasks`. A
# helper also given a PostgreSQL connection, or one the module does not show, stays checked.
_TASKLIST = '''\
import psycopg


def execute(conn, query, args=()):
    with conn:
        c = conn.cursor()
        c.execute(query, args)
        return c.fetchall()


def run(conn, query):
    return conn.execute(query)


def test_bootstrap():
    from temboardtoolkit.tasklist import sqlite3_engine

    engine = sqlite3_engine.TaskListSQLite3Engine(":memory:")
    execute(engine.conn, "SELECT * FROM tasks")
    execute(engine.conn, "INSERT INTO tasks (id) VALUES ('aaaa')")
    engine.conn.execute("SELECT count(id) FROM tasks")
    run(engine.conn, "SELECT id FROM tasks")
    run(psycopg.connect(""), "SELECT nmae FROM users")


def check(db):
    with psycopg.connect("") as pg:
        run(pg, "SELECT titel FROM users")
'''


@pytest.mark.db
def test_a_connection_an_engines_object_holds_and_a_helper_is_given_sends_there(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "CREATE TABLE users (name text)",
                             "test_sqlite3_engine.py", _TASKLIST)
    # `run` is also given a PostgreSQL connection: what it sends stays checked
    assert sorted((f.code, f.location.line, f.subject, dict(f.context)["PostgreSQL"][:5])
                  for f in report.findings) == [
        ("DBS301", 22, "public.tasks", "42P01"),
        ("DBS302", 23, "public.users.nmae", "42703"),
        ("DBS302", 28, "public.users.titel", "42703")]
    skipped = [s.location.line for s in report.skipped if "sent to SQLite" in s.reason]
    assert skipped == [7, 19, 20, 21]


# pgwatch2 (cybertec-postgresql/pgwatch2 0c00902, `webpy/pgwatch2_influx.py`) sends its
# dashboards' InfluxQL, which reads like SQL, through `influx_query(...)`, a helper making
# an influxdb-python `InfluxDBClient`; InfluxDB 3's client takes SQL about measurements too.
# Each statement was a false DBS301 on a measurement (`cpu_load`, `table_stats`). What the
# module sends to PostgreSQL stays checked.
_INFLUX = '''\
import psycopg
from influxdb import InfluxDBClient
from influxdb_client_3 import InfluxDBClient3

params = {"host": "localhost", "port": 8086, "database": "pgwatch2"}


def influx_query(influxql, params=None):
    client = InfluxDBClient(**params)
    return client.query(influxql, params=params)


def latest_load(host):
    client = InfluxDBClient(host="localhost", database="metrics")
    return client.query("SELECT value FROM cpu_load WHERE host = $host",
                        bind_params={"host": host})


def table_sizes():
    size_b = "SELECT total_relation_size_b FROM table_stats ORDER BY time DESC LIMIT 1"
    return influx_query(size_b)


def home(token):
    client = InfluxDBClient3(host="localhost", token=token, database="sensors")
    return client.query("SELECT temp FROM home WHERE room = 'kitchen'", language="sql")


def users():
    with psycopg.connect("") as pg:
        return pg.execute("SELECT nmae FROM users").fetchall()
'''


@pytest.mark.db
def test_statements_sent_to_influxdb_are_its_own(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "CREATE TABLE users (name text)",
                             "pgwatch2_influx.py", _INFLUX)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS302", 31, "public.users.nmae")]
    skipped = sorted(s.location.line for s in report.skipped if "sent to InfluxDB" in s.reason)
    assert skipped == [10, 15, 20, 26], report.skipped


# pgwatch2's dashboards hand their InfluxQL to `exec_for_time_pairs(isql, dbname, pairs)`,
# which sends it with its holes filled in, `influx_query(isql.format(dbname, ...))`: the
# statement its callers give is still InfluxDB's (9 of the module's statements). A helper
# formatting its parameter for PostgreSQL keeps what it is given checked.
_INFLUX_FORMATTED = '''\
import psycopg
from influxdb import InfluxDBClient


def influx_query(influxql):
    return InfluxDBClient(host="localhost").query(influxql)


def exec_for_dbname(isql, dbname):
    return influx_query(isql.format(dbname))


def exec_for_interval(isql, interval):
    return influx_query(isql % interval)


def pg_for_dbname(sql, dbname):
    with psycopg.connect("") as pg:
        return pg.execute(sql.format(dbname)).fetchall()


def overview(dbname):
    tps = "SELECT xact_commit FROM db_stats WHERE dbname = '{}'"
    wal = "SELECT xlog_location_b FROM wal WHERE time > now() - interval '%s'"
    exec_for_interval(wal, "1 day")
    pg_for_dbname("SELECT nmae FROM users WHERE name = '{}'", dbname)
    return exec_for_dbname(tps, dbname)
'''


@pytest.mark.db
def test_a_statement_a_helper_formats_and_sends_to_influxdb_is_its_own(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "CREATE TABLE users (name text)",
                             "pgwatch2_influx.py", _INFLUX_FORMATTED)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS302", 26, "public.users.nmae")]
    skipped = sorted(s.location.line for s in report.skipped if "sent to InfluxDB" in s.reason)
    assert skipped == [6, 23, 24], report.skipped


# Flagsmith (Flagsmith/flagsmith 1ad8487ba, `api/segment_membership/`, its tests) keeps a
# ClickHouse database beside PostgreSQL under the Django alias "clickhouse" (its own
# backend, `DATABASES["clickhouse"]`) and reads it through `connections["clickhouse"]
# .cursor()`: `FROM IDENTITIES FINAL` was a false DBS301, its `INSERT INTO IDENTITIES (...)
# VALUES` (rows given to `executemany`, ClickHouse's way) unparsable.
_DJANGO_ALIASES = '''\
from django.db import connection, connections


def identities(key):
    with connections["clickhouse"].cursor() as cursor:
        cursor.execute("SELECT identifier FROM IDENTITIES FINAL WHERE environment_id = %s",
                       [key])
        return cursor.fetchall()


def seed(rows):
    ch = connections["clickhouse"]
    with ch.cursor() as cursor:
        cursor.executemany("INSERT INTO IDENTITIES (environment_id, identifier) VALUES", rows)


def users():
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT nickname FROM users")
    with connection.cursor() as cursor:
        cursor.execute("SELECT nickname FROM users")
'''


@pytest.mark.db
def test_a_django_connection_whose_alias_names_clickhouse_sends_there(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "CREATE TABLE users (id int, name text)",
                             "services.py", _DJANGO_ALIASES)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS302", 19, "public.users.nickname"), ("DBS302", 21, "public.users.nickname")]
    skipped = sorted(s.location.line for s in report.skipped if "sent to ClickHouse" in s.reason)
    assert skipped == [6, 14], report.skipped


# Flagsmith's `api/experimentation/services.py` sends its module constants
# `_EVENT_STATS_QUERY` and `_CLICKHOUSE_EVENT_NAMES_QUERY` through its cached
# clickhouse-driver `Client` and, for a customer's warehouse, through `client.query(...)` of
# the clickhouse-connect client another module's context manager yields
# (`warehouse_delivery_service.delivery_client(connection)`): two false DBS301 on its
# ClickHouse table `events`. A constant also given to a PostgreSQL sink stays checked.
_SHARED_CONSTANT = '''\
from clickhouse_driver import Client

from experimentation import warehouse_delivery_service

_EVENT_STATS_QUERY = (
    "SELECT count() AS total FROM events WHERE environment_key = %(environment_key)s"
)
_NICKNAMES = "SELECT nickname FROM users"


def stats(key):
    return Client("ch").execute(_EVENT_STATS_QUERY, {"environment_key": key})


def customer_stats(connection, key):
    with warehouse_delivery_service.delivery_client(connection) as client:
        return client.query(_EVENT_STATS_QUERY, parameters={"environment_key": key})


def nicknames(connection, cur):
    Client("ch").execute(_NICKNAMES)
    cur.execute(_NICKNAMES)
    with warehouse_delivery_service.delivery_client(connection) as client:
        return client.fetch_rows(_NICKNAMES)
'''


@pytest.mark.db
def test_a_constant_sent_to_clickhouse_and_to_an_unknown_clients_query_is_clickhouses(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "CREATE TABLE users (id int, name text)",
                             "services.py", _SHARED_CONSTANT)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS302", 8, "public.users.nickname")]
    skipped = sorted(s.location.line for s in report.skipped if "sent to ClickHouse" in s.reason)
    assert skipped == [6, 21], report.skipped


# Software Heritage's storage (SoftwareHeritage/swh-storage 6372b225) keeps its Cassandra
# backend in `swh/storage/cassandra/`: `migrations.py` takes `cql_runner: CqlRunner`, a
# class of the package's `cql.py` (`from .cql import CqlRunner`, which wraps the driver's
# session), and asks Cassandra for its tables through `cql_runner.execute_with_retries(
# "SELECT table_name FROM system_schema.tables ...")`: a false DBS301 (no schema
# `system_schema`, PostgreSQL's 42P01). A class or function imported relatively from a
# package named for the engine is that engine's, as one imported absolutely
# (`posthog.clickhouse.client`) is; the same module in a package named for nothing stays
# checked.
_CASSANDRA_MIGRATIONS = '''\
import logging

from .cql import CqlRunner
from .session import run_cql


def create_migrations_table_if_needed(cql_runner: CqlRunner) -> None:
    if not list(cql_runner.execute_with_retries(
            "SELECT table_name FROM system_schema.tables WHERE keyspace_name=%s",
            [cql_runner.keyspace])):
        logging.info("no migration table")
    run_cql("SELECT id FROM system_schema.keyspaces")
'''


@pytest.mark.parametrize(("package", "sent"), [("cassandra", True), ("backend", False)])
@pytest.mark.db
def test_a_class_of_a_package_named_for_another_engine_imported_relatively_sends_there(
        database_url: str, tmp_path: Path, package: str, sent: bool) -> None:
    (tmp_path / "storage" / package).mkdir(parents=True)
    report = validate_module(database_url, tmp_path, "CREATE TABLE users (name text)",
                             f"storage/{package}/migrations.py", _CASSANDRA_MIGRATIONS)
    findings = [(f.code, f.location.line, f.subject, dict(f.context)["PostgreSQL"][:5])
                for f in report.findings if f.location]
    skipped = sorted(s.location.line for s in report.skipped if "sent to Cassandra" in s.reason)
    if sent:
        assert (findings, skipped) == ([], [9, 12])
    else:
        assert sorted(findings) == [("DBS301", 9, "system_schema", "42P01"),
                                    ("DBS301", 12, "system_schema", "42P01")], findings
        assert skipped == []


# ncg87/blockchain_tracker (eb4d10b) keeps its ClickHouse layer in `database/clickhouse/`:
# `base.py`'s `ClickHouseDB` holds clickhouse-driver's `Client` in `self.client`, and
# `query_ops.py` takes `db: ClickHouseDB` (`from .base import ClickHouseDB`), keeps it in
# `self.db` and sends `self.db.client.execute(query)`. Its statements name their database at
# run time (two DBS304 notes); a literal one was a false DBS301 (no `dex_swaps` in PostgreSQL:
# 42P01). What an engine's object held in `self.x` holds is its connection, as for one held
# in a variable (`engine.conn`); `self.app.pool`, of an object the code does not say, stays
# checked.
_CLICKHOUSE_OPS = '''\
from .base import ClickHouseDB


class ClickHouseQueryOperations:
    def __init__(self, db: ClickHouseDB, app):
        self.db = db
        self.app = app

    def swaps(self, chain):
        return self.db.client.execute(
            "SELECT chain, dex FROM dex_swaps WHERE chain = %(chain)s", {"chain": chain})

    def users(self):
        return self.app.pool.execute("SELECT nickname FROM users")
'''


@pytest.mark.db
def test_a_connection_an_engine_s_object_held_in_self_holds_sends_there(
        database_url: str, tmp_path: Path) -> None:
    (tmp_path / "database" / "clickhouse").mkdir(parents=True)
    report = validate_module(database_url, tmp_path, "CREATE TABLE users (name text)",
                             "database/clickhouse/query_ops.py", _CLICKHOUSE_OPS)
    findings = [(f.code, f.location.line, f.subject, dict(f.context)["PostgreSQL"][:5])
                for f in report.findings if f.location]
    skipped = sorted(s.location.line for s in report.skipped if "sent to ClickHouse" in s.reason)
    assert findings == [("DBS302", 14, "public.users.nickname", "42703")], findings
    assert skipped == [11], report.skipped


# Redash's query runners for Exasol and Apache Phoenix (getredash/redash ca79fe988,
# `redash/query_runner/exasol.py`, `phoenix.py`) send their SQL to the data source a user
# connects, never to Redash's own database: `pyexasol.connect(...)` from a method, a
# `run_query(self, query, user)` on a `phoenixdb` cursor, and a `noop_query` class attribute
# the base class in another module sends through the `run_query` overridden here. 4 false
# DBS301 (`dual`, `exa_all_columns`, `system.catalog`).
_EXASOL_RUNNER = '''\
from redash.query_runner import BaseQueryRunner, register

try:
    import pyexasol
    enabled = True
except ImportError:
    enabled = False


class Exasol(BaseQueryRunner):
    noop_query = "SELECT 1 FROM DUAL"

    def _get_connection(self):
        return pyexasol.connect(dsn=self.configuration.get("host"))

    def run_query(self, query, user):
        connection = self._get_connection()
        return connection.execute(query).fetchall(), None

    def get_schema(self, get_stats=False):
        query = "SELECT COLUMN_SCHEMA, COLUMN_TABLE FROM EXA_ALL_COLUMNS"
        connection = self._get_connection()
        return list(connection.execute(query))


register(Exasol)
'''

_PHOENIX_RUNNER = '''\
import phoenixdb

from redash.query_runner import BaseQueryRunner


class Phoenix(BaseQueryRunner):
    def get_schema(self, get_stats=False):
        query = "SELECT TABLE_SCHEM, TABLE_NAME FROM SYSTEM.CATALOG"
        results, error = self.run_query(query, None)
        return results

    def run_query(self, query, user):
        connection = phoenixdb.connect(url=self.configuration.get("url", ""))
        cursor = connection.cursor()
        cursor.execute(query)
        return cursor.fetchall(), None
'''

# Its Ignite runner (`ignite.py`) imports `Client` from `pygridgain` or `pyignite` as a
# setting says, into a `connection` first set to None: 1 false DBS301 (`sys.table_columns`).
_IGNITE_RUNNER = '''\
from redash.query_runner import BaseSQLQueryRunner


class Ignite(BaseSQLQueryRunner):
    def _get_tables(self, schema):
        query = "SELECT schema_name, table_name FROM SYS.TABLE_COLUMNS"
        results, error = self.run_query(query, None)
        return results

    def run_query(self, query, user):
        connection = None
        try:
            if self.configuration.get("gridgain", False):
                from pygridgain import Client
            else:
                from pyignite import Client
            connection = Client(username=self.configuration.get("user"))
            connection.connect([("127.0.0.1", 10800)])
            return list(connection.sql(query, include_field_names=True)), None
        finally:
            if connection:
                connection.close()
'''


@pytest.mark.db
def test_statements_for_exasol_and_phoenix_and_class_attributes_of_their_modules_are_theirs(
        database_url: str, tmp_path: Path) -> None:
    for folder in ("exasol", "phoenix", "pg"):
        (tmp_path / folder).mkdir()
    report = validate_module(database_url, tmp_path / "exasol", "", "exasol.py",
                             _EXASOL_RUNNER)
    assert report.findings == ()
    assert sorted(s.location.line for s in report.skipped
                  if "sent to Exasol" in s.reason) == [11, 18, 21], report.skipped
    report = validate_module(database_url, tmp_path / "phoenix", "", "phoenix.py",
                             _PHOENIX_RUNNER)
    assert report.findings == ()
    assert [s.location.line for s in report.skipped
            if "sent to Apache Phoenix" in s.reason] == [8, 15], report.skipped
    (tmp_path / "ignite").mkdir()
    report = validate_module(database_url, tmp_path / "ignite", "", "ignite.py",
                             _IGNITE_RUNNER)
    assert report.findings == ()
    assert [s.location.line for s in report.skipped
            if "sent to Apache Ignite" in s.reason] == [6, 19], report.skipped
    # A `Client` that may be another library's is no Ignite client.
    source = _IGNITE_RUNNER.replace("from pygridgain import Client", "from gateway import Client")
    report = validate_module(database_url, tmp_path / "ignite", "", "ignite.py", source)
    assert [(f.code, f.location.line, f.subject) for f in report.findings
            if f.location] == [("DBS301", 6, "sys")], report.findings
    # A module that may reach PostgreSQL too keeps its class attributes checked.
    source = _EXASOL_RUNNER.replace("import pyexasol", "import pyexasol\n    import psycopg2")
    report = validate_module(database_url, tmp_path / "pg", "", "exasol.py", source)
    assert [(f.code, f.location.line, f.subject) for f in report.findings
            if f.location] == [("DBS301", 12, "public.dual")], report.findings


# keep (keephq/keep af93f550b) queries Databend, a warehouse speaking ClickHouse's SQL, over
# HTTP through its `DatabendProvider` (`databend_provider._query(...)`): 1 false DBS314 on
# `numbers`, Databend's table function. databend-driver's clients send there too.
_DATABEND = '''\
import os

import psycopg
import requests
from databend_driver import BlockingDatabendClient


class DatabendProvider:
    def _query(self, query=""):
        url = os.environ["DATABEND_HOST_URL"] + "/v1/query"
        return requests.post(url, json={"sql": query}).json()


def average():
    databend_provider = DatabendProvider()
    return databend_provider._query("SELECT avg(number) FROM numbers(100000000)")


def events(dsn):
    cursor = BlockingDatabendClient(dsn).cursor()
    cursor.execute("SELECT id FROM events")
    return cursor.fetchall()


def users():
    with psycopg.connect("") as pg:
        return pg.execute("SELECT nmae FROM users").fetchall()
'''


@pytest.mark.db
def test_statements_sent_to_databend_are_its_own(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "CREATE TABLE users (name text)",
                             "databend_provider.py", _DATABEND)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS302", 27, "public.users.nmae")]
    skipped = sorted(s.location.line for s in report.skipped if "sent to Databend" in s.reason)
    assert skipped == [16, 21], report.skipped


# Arize Phoenix (Arize-ai/phoenix 9478f954): its tests compare sqlean.py's `percentile(x, p)`
# (sqlite3 with the sqlean extensions bundled) with PostgreSQL's, and hand its analytics SQL
# (a column of its own, `latency_ms`, that its rewriter substitutes) to sqlglot, directly or
# through a helper of the module (a function, a static method called as `self._ctx_after(sql)`,
# a function defined in the test calling it): 1 false DBS314 and 10 false DBS302 on its schema.
_PHOENIX = '''\
import sqlean
import sqlglot
from sqlglot import exp, parse_one


def _sqlite_percentile(values, percentile):
    conn = sqlean.connect(":memory:")
    conn.execute("CREATE TABLE t(x REAL)")
    row = conn.execute(f"SELECT percentile(x, {percentile}) FROM t").fetchone()
    return row[0]


def _ctx_after(sql):
    return rewrite(parse_one(sql, read="sqlite"))


def test_attributed():
    ctx = _ctx_after("SELECT AVG(s.latency_ms) FROM spans s")
    tree = sqlglot.parse_one('SELECT s.latency_ms FROM spans AS "S"', dialect="postgres")
    rendered = sqlglot.transpile("SELECT latency_ms FROM spans", read="sqlite")


def real(session):
    return session.execute("SELECT latency_ms FROM spans").fetchall()


class TestAttribution:
    @staticmethod
    def _ctx_after(sql):
        return rewrite(parse_one(sql, read="sqlite"))

    def test_a_qualified_substitution(self):
        ctx = self._ctx_after("SELECT AVG(s.latency_ms) FROM spans s")
        assert ctx.substitutions


def test_graphql_node_id(dialect):
    def rewrite(sql):
        return sqlglot.parse_one(sql, dialect=dialect).sql(dialect=dialect)

    joined = rewrite("SELECT t.graphql_node_id FROM spans t")
'''


@pytest.mark.db
def test_statements_given_to_sqlean_and_to_sqlglots_parser_are_not_postgresqls(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "CREATE TABLE spans (id int)",
                             "test_rewrite.py", _PHOENIX)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS302", 24, "public.spans.latency_ms")]
    sqlite = sorted(s.location.line for s in report.skipped if "sent to SQLite" in s.reason)
    assert sqlite == [8, 9], report.skipped
    parsed = sorted(s.location.line for s in report.skipped
                    if "sent to sqlglot's parser" in s.reason)
    assert parsed == [14, 18, 19, 20, 30, 33, 39, 41], report.skipped


# Polar (polarsource/polar c6c3645e): its scripts query Tinybird (ClickHouse as a service)
# through its own client, imported from its `polar.integrations.tinybird.client` and named
# `tinybird_client`, or handed to a function as `tb_client: TinybirdClient`: 4 false errors
# (`toString`, `events_by_ingested_at`, a table of Tinybird's) beside its PostgreSQL session.
_TINYBIRD = '''\
from sqlalchemy import text

from polar.integrations.tinybird.client import TinybirdClient
from polar.integrations.tinybird.client import client as tinybird_client

TB_SQL = """
SELECT id, name FROM events_by_ingested_at WHERE organization_id = {organization_id:UUID}
"""


async def fetch_batch():
    return await tinybird_client.query(
        "SELECT toString(id) AS event_id FROM events_by_ingested_at WHERE order_id != ''")


async def fetch_rows(tb_client: TinybirdClient, organization_id):
    return await tb_client.query(TB_SQL, parameters={"organization_id": organization_id})


async def count(session):
    return await session.execute(text("SELECT count(*) FROM events WHERE nmae = 'x'"))
'''


@pytest.mark.db
def test_statements_sent_to_tinybird_through_the_projects_client_are_its_own(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "CREATE TABLE events (name text)",
                             "reingest.py", _TINYBIRD)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS302", 21, "public.events.nmae")]
    skipped = sorted(s.location.line for s in report.skipped if "sent to Tinybird" in s.reason)
    assert skipped == [6, 13], report.skipped


# Parsec's realm export reader (Scille/parsec-cloud 1cd72fb3e4,
# `server/parsec/sequester_export_reader.py`) opens the SQLite file an export wrote and keeps
# the connection in a dataclass field, `con: sqlite3.Connection`, set by the `__init__` the
# decorator writes: no method stores it, so `self.con.execute("SELECT ... FROM realm_role")`
# was a false DBS301 (the PostgreSQL schema has no `realm_role`: 42P01). Another dataclass
# holds that one in `db: RealmExportDb`, and reads `self.db.con` (42703 on PostgreSQL's
# `vlob_atom`). A class attribute annotated with a PostgreSQL driver's connection, or with
# nothing, stays checked.
_SQLITE_DATACLASS = '''\
from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import asyncpg


@dataclass
class RealmExportDb:
    con: sqlite3.Connection
    realm_id: bytes

    @classmethod
    def open(cls, path):
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        row = con.execute("SELECT version, realm_id FROM info WHERE magic = ?", (1,)).fetchone()
        return cls(con=con, realm_id=row[1])

    def load_role_certificates(self):
        return self.con.execute("SELECT _id, role_certificate FROM realm_role").fetchall()


@dataclass
class WorkspaceExport:
    db: RealmExportDb
    filter_on_date: int

    def load_manifest(self, manifest_id):
        return self.db.con.execute(
            "SELECT version, blob FROM vlob_atom WHERE vlob_id = ? ORDER BY version DESC",
            (manifest_id,),
        ).fetchone()


@dataclass
class Users:
    con: asyncpg.Connection

    async def nicknames(self):
        return await self.con.fetch("SELECT nickname FROM users")


class Plain:
    con = None

    def names(self):
        return self.con.execute("SELECT nickname FROM users")
'''


@pytest.mark.db
def test_a_connection_a_dataclass_field_annotates_as_sqlites_sends_there(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(
        database_url, tmp_path,
        "CREATE TABLE users (id int, name text); CREATE TABLE vlob_atom (vlob_id uuid, version int)",
        "sequester_export_reader.py", _SQLITE_DATACLASS)
    findings = [(f.code, f.location.line, f.subject) for f in report.findings if f.location]
    skipped = sorted(s.location.line for s in report.skipped if "sent to SQLite" in s.reason)
    assert findings == [("DBS302", 41, "public.users.nickname"),
                        ("DBS302", 48, "public.users.nickname")], findings
    assert skipped == [17, 21, 31], report.skipped


# tiled's access tags (bluesky/tiled 898f524c, `tiled/access_control/access_tags.py`): the
# class keeps a connection it may be given (`__init__(self, db=None, uri=None)`, `self._db =
# db`) or makes with aiosqlite when it was not (`cls(uri=uri)` is the only call); its
# statements on `self._db` are SQLite's. Six false DBS301 while the parameter cancelled
# what `connect()` stores (task 610).
_SQLITE_OR_GIVEN = '''\
import sqlite3
from typing import Any, Optional

import aiosqlite


class AccessTagsParser:
    @classmethod
    def from_uri(cls, uri):
        return cls(uri=uri)

    def __init__(self, db=None, uri=None):
        self._uri = uri
        self._db = db

    async def connect(self):
        if self._db is None:
            self._db = await aiosqlite.connect(self._uri, uri=True, check_same_thread=False)

    async def is_tag_defined(self, name):
        async with self._db.cursor() as cursor:
            await cursor.execute("SELECT 1 FROM tags WHERE name = ?;", (name,))
            return bool(await cursor.fetchone())


class Scopes:
    def __init__(self, *, db: "Optional[Any]" = None):
        self._db = db

    async def connect(self):
        self._db = await aiosqlite.connect("file:scopes.db?mode=ro", uri=True)

    async def scopes(self, user):
        return await self._db.execute_fetchall(
            "SELECT scope_name FROM user_tag_scopes WHERE user_name = ?", (user,))


class Owners:
    def __init__(self, db=None):
        self._db = db

    async def connect(self):
        if self._db is None:
            self._db = await aiosqlite.connect("owners.db")

    async def owner(self, tag):
        return await self._db.execute("SELECT user_name FROM user_tag_owners WHERE tag = ?", (tag,))


async def owners():
    return Owners(db=await aiosqlite.connect("owners.db"))
'''

# The same shape where PostgreSQL may hold it: an annotation naming its driver, a call
# giving a connection the module does not show as SQLite's, a subclass; each stays checked.
_POSTGRESQL_OR_SQLITE = '''\
import aiosqlite
import asyncpg


class Annotated:
    def __init__(self, db: "asyncpg.Connection | None" = None):
        self._db = db

    async def connect(self):
        if self._db is None:
            self._db = await aiosqlite.connect("tags.db")

    async def nickname(self):
        return await self._db.execute("SELECT nickname FROM users")


class Given:
    def __init__(self, db=None):
        self._db = db

    async def connect(self):
        if self._db is None:
            self._db = await aiosqlite.connect("tags.db")

    async def nickname(self):
        return await self._db.execute("SELECT nickname FROM users WHERE id = 1")


class Extended:
    def __init__(self, db=None):
        self._db = db

    async def connect(self):
        self._db = await aiosqlite.connect("tags.db")

    async def nickname(self):
        return await self._db.execute("SELECT nickname FROM users WHERE id = 2")


class FromPostgres(Extended):
    pass


class Passed:
    def __init__(self, db=None):
        self._db = db

    async def connect(self):
        self._db = await aiosqlite.connect("tags.db")

    async def nickname(self):
        return await self._db.execute("SELECT nickname FROM users WHERE id = 3")


async def main(url, **options):
    return Given(await asyncpg.connect(url)), Passed(**options)
'''


def test_a_connection_an_init_parameter_may_give_and_sqlite_makes_otherwise_is_sqlites(
        database_url: str, tmp_path: Path) -> None:
    report = validate_files(database_url, tmp_path, "CREATE TABLE users (id int, name text)",
                            {"tiled/access_tags.py": _SQLITE_OR_GIVEN,
                             "app/stores.py": _POSTGRESQL_OR_SQLITE})
    findings = sorted((f.code, f.location.path, f.location.line, f.subject)
                      for f in report.findings if f.location)
    skipped = sorted((s.location.path, s.location.line)
                     for s in report.skipped if "sent to SQLite" in s.reason)
    assert skipped == [("tiled/access_tags.py", 22), ("tiled/access_tags.py", 35),
                       ("tiled/access_tags.py", 47)], \
        report.skipped
    assert findings == [("DBS302", "app/stores.py", line, "public.users.nickname")
                        for line in (14, 26, 37, 52)], findings

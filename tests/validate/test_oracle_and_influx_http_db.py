"""SQL of another engine that the module shows only by what it reads or where it sends it:
Oracle's data dictionary, and InfluxDB's HTTP API. Real PostgreSQL.

Rucio (rucio/rucio 2e14c417ba) runs on PostgreSQL, Oracle and MySQL. Its
`lib/rucio/db/sqla/util.py` lists Oracle's global temporary tables with `SELECT ...
UPPER(table_name) FROM all_tables WHERE OWNER = :owner ...` in a function whose one caller
is behind `dialect.name == 'oracle'`, and its Hermes test reads InfluxDB's measurements with
`requests.get("http://influxdb:8086/query?db=rucio", params={"q": "SELECT * FROM
deletion"})`: two false DBS301 (42P01, as PREPARE judges them; neither is ever sent to
PostgreSQL).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_module

_DDL = "CREATE TABLE replicas (name text, state text)"

_ORACLE = '''\
from sqlalchemy import text


def list_oracle_global_temp_tables(session, owner):
    return [t[0] for t in session.execute(
        text("SELECT /*+ OPT_PARAM('OPTIMIZER_FEATURES_ENABLE', '11.2.0.4') */ UPPER(table_name) "
             "FROM all_tables WHERE OWNER = :owner AND DURATION IS NOT NULL"), dict(owner=owner))]


def constraints(session):
    session.execute(text("SELECT constraint_name FROM SYS.USER_CONSTRAINTS"))
    session.execute(text("SELECT index_name FROM dba_indexes"))
    session.execute(text("SELECT name, status FROM replicas"))
    return session.execute(text("SELECT owner FROM all_tablez"))
'''


@pytest.mark.db
def test_a_statement_reading_oracles_data_dictionary_is_oracles(database_url: str,
                                                                tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _DDL, "util.py", _ORACLE)
    assert [(f.code, f.location.line, f.subject) for f in report.findings] == [
        ("DBS302", 13, "public.replicas.status"), ("DBS301", 14, "public.all_tablez")]
    assert sorted((s.location.line, s.reason) for s in report.skipped) == [
        (6, "not analysed: reads `all_tables`, Oracle's data dictionary: SQL for Oracle, "
            "not PostgreSQL"),
        (11, "not analysed: reads `user_constraints`, Oracle's data dictionary: SQL for "
             "Oracle, not PostgreSQL"),
        (12, "not analysed: reads `dba_indexes`, Oracle's data dictionary: SQL for Oracle, "
             "not PostgreSQL"),
    ]


@pytest.mark.db
def test_a_table_named_as_an_oracle_dictionary_view_is_checked(database_url: str,
                                                               tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path,
                             "CREATE TABLE all_tables (table_name text)", "util.py", _ORACLE)
    assert sorted((f.location.line, f.code, f.subject) for f in report.findings) == [
        (7, "DBS302", "public.all_tables.duration"), (7, "DBS302", "public.all_tables.owner"),
        (13, "DBS301", "public.replicas"), (14, "DBS301", "public.all_tablez")]


_INFLUX = '''\
import httpx
import requests


def test_hermes_influx(db):
    res = requests.get(
        "http://influxdb:8086/query?db=rucio",
        headers={"Authorization": "Token mytoken"},
        params={"q": "SELECT * FROM deletion"},
    )
    httpx.post("http://metrics-influxdb.svc:8086/query", data={"q": "SELECT x FROM transfer"})
    requests.get("http://api.example.org/query", params={"q": "SELECT * FROM deletion_log"})
    db.execute("SELECT status FROM replicas")
    return res
'''


@pytest.mark.db
def test_a_statement_in_an_http_request_to_influxdb_is_influxql(database_url: str,
                                                                tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _DDL, "test_hermes.py", _INFLUX)
    assert [(f.code, f.location.line, f.subject) for f in report.findings] == [
        ("DBS301", 12, "public.deletion_log"), ("DBS302", 13, "public.replicas.status")]
    assert sorted((s.location.line, s.reason) for s in report.skipped) == [
        (9, "sent to InfluxDB, not PostgreSQL"), (11, "sent to InfluxDB, not PostgreSQL")]

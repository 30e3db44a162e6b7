"""Statements in a branch the code runs only where the database is not PostgreSQL.

privacyIDEA (privacyidea/privacyidea, `tests/test_migrations.py`) runs its migration tests on
PostgreSQL, MySQL/MariaDB and Oracle, and picks each statement by the database it talks to:
`probe = "SELECT 1 FROM dual" if is_oracle(str(engine.url)) else "SELECT 1"`, `elif
is_oracle(...): ... FROM user_sequences`, `is_ora = is_oracle()` then `if is_ora: ... FROM
user_constraints`: three false DBS301 on Oracle's catalog. The branch's test says where it
runs; a test that does not name the database's kind (`kind == "mysql"`, `or` with anything)
leaves the statement checked, and so does PostgreSQL's own branch. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_module

_MODULE = '''\
from sqlalchemy import text


def is_postgres(url):
    return url.startswith("postgresql")


def is_oracle(url):
    return url.startswith("oracle")


def wait(engine):
    probe = "SELECT 1 FROM dual" if is_oracle(str(engine.url)) else "SELECT 1"
    with engine.connect() as conn:
        conn.execute(text(probe))


def sequences(engine):
    with engine.connect() as conn:
        if is_postgres(str(engine.url)):
            return conn.execute(text("SELECT sequencename FROM pg_sequences")).fetchall()
        elif is_oracle(str(engine.url)):
            return conn.execute(text("SELECT sequence_name FROM user_sequences")).fetchall()
        else:
            return conn.execute(text("SELECT name FROM mysql_sequences")).fetchall()


def constraints(engine):
    is_ora = is_oracle(str(engine.url))
    with engine.connect() as conn:
        if is_ora:
            conn.execute(text("SELECT constraint_name FROM user_constraints"))
        if conn.dialect.name in ("mysql", "mariadb"):
            conn.execute(text("SET FOREIGN_KEY_CHECKS = 0"))
        if conn.dialect.name != "postgresql":
            conn.execute(text("SELECT id FROM other_engine_table"))
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT id FROM postgres_only_missing"))


def unknown(engine, kind, flag):
    with engine.connect() as conn:
        if kind == "mysql":
            conn.execute(text("SELECT id FROM kind_missing"))
        if is_oracle(str(engine.url)) or flag:
            conn.execute(text("SELECT id FROM either_missing"))
        if not is_oracle(str(engine.url)):
            conn.execute(text("SELECT id FROM not_oracle_missing"))
'''


@pytest.mark.db
def test_statements_of_other_databases_branches_are_not_checked(database_url: str,
                                                                 tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "SELECT 1", "db_utils.py", _MODULE)
    assert sorted((f.code, f.location.line, f.subject)
                  for f in report.findings if f.location) == [
        ("DBS301", 38, "public.postgres_only_missing"),
        ("DBS301", 44, "public.kind_missing"),
        ("DBS301", 46, "public.either_missing"),
        ("DBS301", 48, "public.not_oracle_missing")]
    skipped = {(s.location.line, s.reason) for s in report.skipped}
    assert skipped == {
        (13, "sent where the database is not PostgreSQL (`is_oracle(str(engine.url))`)"),
        (23, "sent where the database is not PostgreSQL (`is_oracle(str(engine.url))`)"),
        (25, "sent where the database is not PostgreSQL (`is_postgres(str(engine.url))`)"),
        (32, "sent where the database is not PostgreSQL (`is_ora`)"),
        (34, "sent where the database is not PostgreSQL "
             "(`conn.dialect.name in ('mysql', 'mariadb')`)"),
        (36, "sent where the database is not PostgreSQL "
             "(`conn.dialect.name != 'postgresql'`)")}


# Apache Superset 6.1.0's `superset/db_engine_specs/`: one class per engine, its SQL sent to
# the analytics database a user connects (`database.get_df(sql)`, a cursor of it), never to
# Superset's own metadata database. The class says which: `engine = "clickhouse"` (the
# SQLAlchemy dialect's name; clickhouse-connect's is `clickhousedb`, databend-sqlalchemy's
# `databend`). Redshift keeps `pg_stat_activity.procpid`, which PostgreSQL dropped in 9.2.
_ENGINE_SPECS = '''\
import logging

logger = logging.getLogger(__name__)


class BaseEngineSpec:
    engine = "base"

    @classmethod
    def get_function_names(cls, database):
        return database.get_df("SELECT name FROM base_functions_missing")["name"].tolist()


class ClickHouseEngineSpec(BaseEngineSpec):
    engine = "clickhouse"
    engine_name = "ClickHouse (sqlalchemy)"

    @classmethod
    def get_function_names(cls, database):
        system_functions_sql = "SELECT name FROM system.functions"
        return database.get_df(system_functions_sql)["name"].tolist()


class ClickHouseConnectEngineSpec(ClickHouseEngineSpec):
    engine = "clickhousedb"

    @classmethod
    def get_function_names(cls, database):
        return database.get_df(
            "SELECT name FROM system.functions UNION ALL "
            + "SELECT name FROM system.table_functions LIMIT 10000"
        )["name"].tolist()


class DatabendEngineSpec(BaseEngineSpec):
    engine: str = "databend"

    @classmethod
    def get_function_names(cls, database):
        def read():
            return database.get_df("SELECT name FROM system.functions;")
        return read()["name"].tolist()


class RedshiftEngineSpec(BaseEngineSpec):
    engine = "redshift"

    @classmethod
    def cancel_query(cls, cursor, query, cancel_query_id):
        logger.info("Killing Redshift PID:%s", str(cancel_query_id))
        cursor.execute(
            "SELECT pg_cancel_backend(procpid) "
            "FROM pg_stat_activity "
            f"WHERE procpid='{cancel_query_id}'"
        )


class PostgresEngineSpec(BaseEngineSpec):
    engine = "postgresql"

    @classmethod
    def get_function_names(cls, database):
        return database.get_df("SELECT name FROM postgres_functions_missing")


class ChosenEngineSpec(BaseEngineSpec):
    engine = ENGINES["clickhouse"]

    @classmethod
    def get_function_names(cls, database):
        return database.get_df("SELECT name FROM chosen_functions_missing")


def module_functions(database):
    return database.get_df("SELECT name FROM module_functions_missing")
'''


@pytest.mark.db
def test_statements_of_a_class_for_another_engine_are_not_checked(database_url: str,
                                                                  tmp_path: Path) -> None:
    # A module named after another database is not enough: a `clickhouse.py` may also load
    # what it read into the application's PostgreSQL; its module-level SQL stays checked.
    report = validate_module(database_url, tmp_path, "SELECT 1", "clickhouse.py", _ENGINE_SPECS)
    assert sorted((f.code, f.location.line, f.subject)
                  for f in report.findings if f.location) == [
        ("DBS301", 11, "public.base_functions_missing"),
        ("DBS301", 63, "public.postgres_functions_missing"),
        ("DBS301", 71, "public.chosen_functions_missing"),
        ("DBS301", 75, "public.module_functions_missing")]
    skipped = {(s.location.line, s.reason) for s in report.skipped}
    assert skipped == {
        (20, "sent to the database of its class (`ClickHouseEngineSpec`: `engine = 'clickhouse'`)"),
        (30, "sent to the database of its class "
             "(`ClickHouseConnectEngineSpec`: `engine = 'clickhousedb'`)"),
        (41, "sent to the database of its class (`DatabendEngineSpec`: `engine: str = 'databend'`)"),
        (52, "sent to the database of its class (`RedshiftEngineSpec`: `engine = 'redshift'`)")}

"""Statements in a branch the code runs only where the database is not PostgreSQL.

privacyIDEA (privacyidea/privacyidea, `tests/test_migrations.py`) runs its migration tests on
PostgreSQL, MySQL/MariaDB and Oracle, and picks each statement by the database it talks to:
`probe = "SELECT 1 FROM dual" if is_oracle(str(engine.url)) else "SELECT 1"`, `elif
is_oracle(...): ... FROM user_sequences`, `is_ora = is_oracle()` then `if is_ora: ... FROM
user_constraints`: three false DBS301 on Oracle's catalog. The branch's test says where it
runs; a test that does not name the database's kind (`kind == "mysql"`, `or` with anything)
leaves the statement checked, and so does PostgreSQL's own branch. A statement a function
sends after `alembic.command.downgrade(...)` runs on an earlier revision's schema (GNU
Mailman's `database/tests/test_migrations.py`: one false DBS302, `mailinglist.digestable`).
Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_files, validate_module

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


def mariadb_datatype(connection, flag):
    if flag:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM after_flag_missing")
    if connection.vendor != "mysql":
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT data_type FROM mysql_only_table")


def oracle_only(engine):
    if not is_oracle(str(engine.url)):
        raise ValueError("Oracle only")
    with engine.connect() as conn:
        conn.execute(text("SELECT table_name FROM user_tables"))


def other_branch(connection, flag):
    with connection.cursor() as cursor:
        if flag:
            if connection.vendor != "mysql":
                return []
            cursor.execute("SELECT data_type FROM mysql_branch_table")
        else:  # the early return above is not on this branch's way
            cursor.execute("SELECT id FROM other_branch_missing")


def test_digests(config, alembic_cfg):
    import alembic.command
    config.db.store.execute(text("SELECT id FROM before_downgrade_missing"))
    alembic.command.downgrade(alembic_cfg, "47294d3a604")
    config.db.store.execute(text("SELECT id, digestable FROM mailinglist"))
    alembic.command.upgrade(alembic_cfg, "47294d3a604")
    config.db.store.execute(text("SELECT id, digestable FROM mailinglist"))
    alembic.command.upgrade(alembic_cfg, "head")  # today's schema again
    config.db.store.execute(text("SELECT id FROM after_upgrade_missing"))


def wipe_old_columns(engine, session):
    if engine.dialect.name == SupportedDialect.SQLITE:
        session.execute(text("UPDATE events SET time_fired = NULL"))
    elif engine.dialect.name == SupportedDialect.POSTGRESQL:
        session.execute(text("UPDATE states SET last_updated = NULL"))
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
        ("DBS301", 48, "public.not_oracle_missing"),
        ("DBS301", 55, "public.after_flag_missing"),
        ("DBS301", 76, "public.other_branch_missing"),
        ("DBS301", 81, "public.before_downgrade_missing"),
        ("DBS301", 87, "public.after_upgrade_missing"),
        ("DBS301", 94, "public.states")]
    skipped = {(s.location.line, s.reason) for s in report.skipped}
    assert skipped == {
        (13, "sent where the database is not PostgreSQL (`is_oracle(str(engine.url))`)"),
        (23, "sent where the database is not PostgreSQL (`is_oracle(str(engine.url))`)"),
        (25, "sent where the database is not PostgreSQL (`is_postgres(str(engine.url))`)"),
        (32, "sent where the database is not PostgreSQL (`is_ora`)"),
        (34, "sent where the database is not PostgreSQL "
             "(`conn.dialect.name in ('mysql', 'mariadb')`)"),
        (36, "sent where the database is not PostgreSQL "
             "(`conn.dialect.name != 'postgresql'`)"),
        # healthchecks' `hc/api/apps.py`: Django's backend, after an `if` that returns early
        (59, "sent where the database is not PostgreSQL (`connection.vendor != 'mysql'`)"),
        (66, "sent where the database is not PostgreSQL (`not is_oracle(str(engine.url))`)"),
        (74, "sent where the database is not PostgreSQL (`connection.vendor != 'mysql'`)"),
        # GNU Mailman's migration tests: after a downgrade, an earlier revision's schema
        (83, "runs after `alembic.command.downgrade(alembic_cfg, '47294d3a604')` in its "
             "function: on an earlier revision's schema, not today's"),
        (85, "runs after `alembic.command.downgrade(alembic_cfg, '47294d3a604')` in its "
             "function: on an earlier revision's schema, not today's"),
        # Home Assistant's recorder: an enum's member named in capitals
        (92, "sent where the database is not PostgreSQL "
             "(`engine.dialect.name == SupportedDialect.SQLITE`)")}


# Nominatim's `nominatim_api/core.py`: the SQLite engine's connection listener is a function
# defined under `if is_sqlite:`, and sends SpatiaLite's `SetDecimalPrecision` (a false
# DBS314). A function defined in PostgreSQL's branch, or outside any, stays checked.
_LISTENER_IN_BRANCH = '''\
import sqlalchemy as sa


def setup(dsn, flag):
    is_sqlite = dsn.startswith("sqlite:")
    engine = sa.create_engine(dsn)
    if is_sqlite:
        @sa.event.listens_for(engine, "connect")
        def _on_sqlite_connect(dbapi_con, _):
            cursor = dbapi_con.cursor()
            cursor.execute("SELECT SetDecimalPrecision(7)")
        sa.event.listen(engine, "connect", lambda con, _: con.execute("SELECT sqlite_only_missing()"))
    else:
        def _on_connect(dbapi_con, _):
            dbapi_con.cursor().execute("SELECT postgres_only_missing()")
        sa.event.listen(engine, "connect", _on_connect)
    if flag:
        def _on_flag(dbapi_con, _):
            dbapi_con.cursor().execute("SELECT flag_missing()")
        sa.event.listen(engine, "connect", _on_flag)
    return engine
'''


@pytest.mark.db
def test_functions_defined_in_another_databases_branch_are_not_checked(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "SELECT 1", "core.py", _LISTENER_IN_BRANCH)
    assert sorted((f.code, f.location.line, f.subject)
                  for f in report.findings if f.location) == [
        ("DBS314", 15, "postgres_only_missing"),
        ("DBS314", 19, "flag_missing")]
    assert {(s.location.line, s.reason) for s in report.skipped} == {
        (11, "sent where the database is not PostgreSQL (`is_sqlite`)"),
        (12, "sent where the database is not PostgreSQL (`is_sqlite`)")}


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


# Redash (getredash/redash ca79fe988, `redash/query_runner/`): one class per kind of data
# source, each sending its SQL to the source a user connects (`run_query` on its own
# connection), never to Redash's metadata database; the kind is what a class method `type`
# returns. Oracle's `dual` and `all_tab_cols`, Redshift's `svv_columns`, Cassandra's
# `system.local` were 42P01 against Redash's schema. The base class computes its `type`, so
# it declares nothing; PostgreSQL's own runner (`"pg"`) and CockroachDB's (no other database
# dbsafe knows by that name) stay checked, and so does a subclass inheriting its `type`.
_QUERY_RUNNERS = '''\
class BaseQueryRunner:
    noop_query = None

    @classmethod
    def type(cls):
        return cls.__name__.lower()

    def test_connection(self):
        self.run_query("SELECT 1 FROM base_probe_missing", None)


class PostgreSQL(BaseQueryRunner):
    noop_query = "SELECT 1 FROM postgres_probe_missing"

    @classmethod
    def type(cls):
        return "pg"


class Redshift(PostgreSQL):
    @classmethod
    def type(cls):
        return "redshift"

    def _get_tables(self, schema):
        query = "SELECT table_name FROM svv_columns WHERE table_schema = 'public'"
        return self.run_query(query, None)


class CockroachDB(PostgreSQL):
    @classmethod
    def type(cls):
        return "cockroach"

    def _get_tables(self, schema):
        return self.run_query("SELECT table_name FROM cockroach_missing", None)


class Oracle(BaseQueryRunner):
    noop_query = "SELECT 1 FROM dual"

    @classmethod
    def type(cls):
        """The data source's kind."""
        return "oracle"


class OracleCloud(Oracle):
    noop_query = "SELECT 1 FROM inherited_missing"


class Cassandra(BaseQueryRunner):
    noop_query = "SELECT dateof(now()) FROM system.local"

    @classmethod
    def type(cls):
        return "Cassandra"


class Chosen(BaseQueryRunner):
    noop_query = "SELECT 1 FROM chosen_missing"

    @classmethod
    def type(cls, flavour="mysql"):
        return flavour


class Plugin:
    @property
    def type(self):
        return "sqlite"

    def is_connected(self, conn):
        return conn.execute("SELECT 1 FROM sqlite_probe_missing")
'''


@pytest.mark.db
def test_statements_of_a_class_whose_type_names_another_engine_are_not_checked(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "SELECT 1", "runners.py", _QUERY_RUNNERS)
    assert sorted((f.code, f.location.line, f.subject)
                  for f in report.findings if f.location) == [
        ("DBS301", 9, "public.base_probe_missing"),
        ("DBS301", 13, "public.postgres_probe_missing"),
        ("DBS301", 36, "public.cockroach_missing"),
        ("DBS301", 49, "public.inherited_missing"),
        ("DBS301", 61, "public.chosen_missing")]
    skipped = {(s.location.line, s.reason) for s in report.skipped}
    assert skipped == {
        (26, "sent to the database of its class (`Redshift`: "
             "`def type(cls): return 'redshift'`)"),
        (40, "sent to the database of its class (`Oracle`: `def type(cls): return 'oracle'`)"),
        (53, "sent to the database of its class (`Cassandra`: "
             "`def type(cls): return 'Cassandra'`)"),
        (74, "sent to the database of its class (`Plugin`: `def type(self): return 'sqlite'`)")}


# Software Heritage's migration tests (swh-scrubber's `tests/test_migration.py`): the test
# database is made at version 6 (`@pytest.mark.init_version(version=6)`), filled with a row
# of that version's `corrupt_object.datastore`, then upgraded to 7, which drops the column:
# three false DBS302. A statement before an upgrade to a named revision or version is on an
# earlier schema when that upgrade is the first migration call after it and no upgrade to
# the head came before it; before an upgrade to the head, to no version given, or before a
# downgrade (Mailman's, above), it is today's.
_UPGRADE_TESTS = '''\
import alembic.command
from alembic import command
from swh.core.db.db_utils import swh_db_upgrade


def test_upgrade_6_to_7(conninfo, module, cur):
    cur.execute("insert into corrupt_object(id, datastore) values (%s, %s)", ("x", 3))
    swh_db_upgrade(conninfo, module, 7)
    cur.execute("SELECT id FROM after_swh_upgrade_missing")


def test_upgrade_keyword(conninfo, module, cur):
    cur.execute("SELECT datastore FROM corrupt_object")
    swh_db_upgrade(conninfo, module, to_version=7)


def test_upgrade_to_latest(conninfo, module, cur):
    cur.execute("SELECT id FROM before_latest_missing")
    swh_db_upgrade(conninfo, module)


def test_alembic_named(cfg, conn):
    conn.execute("SELECT old_name FROM corrupt_object")
    alembic.command.upgrade(cfg, "ae1027a6acf")


def test_alembic_head(cfg, conn):
    conn.execute("SELECT id FROM before_head_missing")
    command.upgrade(cfg, revision="head")
    conn.execute("SELECT id FROM between_heads_missing")
    command.upgrade(cfg, "ae1027a6acf")


def reset(conn, rev):
    conn.execute("SELECT id FROM before_computed_missing")
    command.upgrade(cfg, rev)
'''


@pytest.mark.db
def test_statements_before_an_upgrade_to_a_named_revision_are_not_checked(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(
        database_url, tmp_path, "CREATE TABLE corrupt_object (id text PRIMARY KEY)",
        "test_migration.py", _UPGRADE_TESTS)
    assert sorted((f.code, f.location.line, f.subject)
                  for f in report.findings if f.location) == [
        ("DBS301", 9, "public.after_swh_upgrade_missing"),
        ("DBS301", 18, "public.before_latest_missing"),
        ("DBS301", 28, "public.before_head_missing"),
        ("DBS301", 30, "public.between_heads_missing"),
        ("DBS301", 35, "public.before_computed_missing")]
    assert {(s.location.line, s.reason) for s in report.skipped} == {
        (7, "runs before `swh_db_upgrade(conninfo, module, 7)` in its function: on an "
            "earlier revision's schema, not today's"),
        (13, "runs before `swh_db_upgrade(conninfo, module, to_version=7)` in its function: "
             "on an earlier revision's schema, not today's"),
        (23, "runs before `alembic.command.upgrade(cfg, 'ae1027a6acf')` in its function: on "
             "an earlier revision's schema, not today's")}


# Renku's migration tests upgrade through a function of the project (`run_migrations_for_app(
# "common", "1ef98b967767")`, whose `command.upgrade(cfg, revision)` lives in another
# module): the statements before it are on an earlier schema too (task 501).
_PROJECT_CORE = '''\
from alembic import command


def run_migrations_for_app(name, revision="heads"):
    command.upgrade(config(name), revision)


def downgrade_migrations_for_app(name, revision):
    command.downgrade(config(name), revision)
'''
_PROJECT_TESTS = '''\
from app.migrations.core import downgrade_migrations_for_app, run_migrations_for_app


def test_named(session):
    session.execute("SELECT old_name FROM corrupt_object")
    run_migrations_for_app("common", "1ef98b967767")


def test_downgrade(session):
    downgrade_migrations_for_app("common", "b8cbd62e85b9")
    session.execute("SELECT older_name FROM corrupt_object")


def test_head(session):
    session.execute("SELECT id FROM before_head_missing")
    run_migrations_for_app("common")
'''


@pytest.mark.db
def test_statements_around_a_project_functions_migration_calls_are_not_checked(
        database_url: str, tmp_path: Path) -> None:
    report = validate_files(
        database_url, tmp_path, "CREATE TABLE corrupt_object (id text PRIMARY KEY)",
        {"src/app/migrations/core.py": _PROJECT_CORE, "tests/test_migrations.py": _PROJECT_TESTS})
    assert sorted((f.code, f.location.line, f.subject)
                  for f in report.findings if f.location) == [
        ("DBS301", 15, "public.before_head_missing")]
    assert {(s.location.line, s.reason) for s in report.skipped
            if s.location.path == "tests/test_migrations.py"} == {
        (5, "runs before `run_migrations_for_app('common', '1ef98b967767')` in its function: "
            "on an earlier revision's schema, not today's"),
        (11, "runs after `downgrade_migrations_for_app('common', 'b8cbd62e85b9')` in its "
             "function: on an earlier revision's schema, not today's")}

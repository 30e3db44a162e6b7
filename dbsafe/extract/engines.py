"""Database engines a PostgreSQL application may also send SQL to, as Python names them.

A project with a SQLite cache, a ClickHouse or BigQuery warehouse, a DuckDB file or a Spark
job next to its PostgreSQL database sends those engines statements about tables the
PostgreSQL schema never has; so does one reading a SaaS API whose query language looks
like SQL (QuickBooks Online's, Salesforce's SOQL). `dbsafe.extract.python` skips a statement a module shows going
to one of them ("sent to ClickHouse, not PostgreSQL"); what counts as showing it is decided
there, once for every engine. This module only says how each engine's Python libraries
spell their connections, by the dotted names a module imports them under.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Engine:
    """One engine and the names that make, type or are its connections.

    Attributes:
        name: As the skip reason says it ("sent to ClickHouse, not PostgreSQL").
        words: A module whose lower-cased source holds none of these is not looked at for
            this engine (every name below contains one of them).
        makers: Dotted callables whose result is a connection, client or session of the
            engine (`sqlite3.connect`, `clickhouse_connect.get_client`).
        types: Dotted classes of its connections, clients, cursors and sessions: a
            parameter or variable annotated with one is one, and so is what calling one
            returns.
        objects: Dotted names that are one themselves: DuckDB's module (`duckdb.sql(...)`
            runs on its default connection), a session builder (`SparkSession.builder`).
        modules: Modules every name in which is one: python-quickbooks' entity classes
            (`Invoice.query(...)` of `quickbooks.objects.invoice`) each send a query.
        functions: Dotted functions of its library given one of its statements as their
            first argument: simple-salesforce's `format_soql`, which fills in a SOQL
            query's parameters as psycopg's `mogrify` does a statement's.
        dialects: SQLAlchemy URL dialects (`mysql` of `"mysql+pymysql://..."`).
        given: (dotted callable, keyword) pairs: the callable takes the engine's statements
            under that keyword, one or a list of them (Airflow's `AnalyticsOperator(queries=
            [...])`).
        returned_by: Dotted decorators whose function returns the engine's statements, one
            or a list of them, for it to run (Airflow's `@task.analytics(...)`).
        named_by: Words that, in an identifier, name the engine (`query_clickhouse`,
            `clickhouse_client`): a project's own helper, factory or fixture for it.
    """

    name: str
    words: tuple[str, ...]
    makers: frozenset[str]
    types: frozenset[str]
    objects: frozenset[str] = frozenset()
    modules: tuple[str, ...] = ()
    functions: frozenset[str] = frozenset()
    dialects: frozenset[str] = frozenset()
    given: frozenset[tuple[str, str]] = frozenset()
    returned_by: frozenset[str] = frozenset()
    named_by: tuple[str, ...] = ()

    def of(self, dotted: str) -> bool:
        """Whether calling `dotted` gives one of this engine's connections."""
        return dotted in self.makers or dotted in self.types

    def is_one(self, dotted: str) -> bool:
        """Whether the object `dotted` names is itself one of this engine's connections."""
        return dotted in self.objects or any(
            dotted.startswith(module + ".") for module in self.modules)


SQLITE = Engine(
    "SQLite", ("sqlite", "sqlean"),
    # asqlite: Rapptz's asyncio sqlite3 (discord.py bots; `conn.fetchall(query)`). pysqlite3
    # is the standard library's sqlite3 built standalone (newer SQLite, extensions loadable:
    # mergin's tests edit GeoPackages through it), with the same API; so is sqlean.py, with
    # the sqlean extensions bundled (Arize Phoenix's tests compare its `percentile(x, 50)`
    # with PostgreSQL's `percentile_cont`).
    makers=frozenset({"sqlite3.connect", "sqlite3.dbapi2.connect", "pysqlite2.dbapi2.connect",
                      "pysqlite3.connect", "pysqlite3.dbapi2.connect", "sqlean.connect",
                      "sqlean.dbapi2.connect", "aiosqlite.connect",
                      "asqlite.connect", "asqlite.create_pool"}),
    types=frozenset({"sqlite3.Connection", "sqlite3.Cursor", "sqlite3.dbapi2.Connection",
                     "sqlite3.dbapi2.Cursor", "pysqlite2.dbapi2.Connection",
                     "pysqlite2.dbapi2.Cursor", "pysqlite3.Connection", "pysqlite3.Cursor",
                     "pysqlite3.dbapi2.Connection", "pysqlite3.dbapi2.Cursor",
                     "sqlean.Connection", "sqlean.Cursor", "sqlean.dbapi2.Connection",
                     "sqlean.dbapi2.Cursor",
                     "aiosqlite.Connection", "aiosqlite.Cursor",
                     "asqlite.Connection", "asqlite.Cursor", "asqlite.Pool"}),
    dialects=frozenset({"sqlite"}),
    named_by=("sqlite",),
)

# The thin clients of Apache Ignite's `pyignite` and GridGain's `pygridgain` (the same API).
_IGNITE_CLIENTS = frozenset(f"{package}.{client}" for package in ("pyignite", "pygridgain")
                            for client in ("Client", "AioClient", "client.Client",
                                           "aio_client.AioClient"))

# Not an engine either: sqlglot's parser. A statement given to it is read into a tree
# the code may rewrite before anything is sent (Arize Phoenix's analytics SQL has
# columns of its own, `latency_ms`, that its rewriter substitutes, and SQLite's spelling
# of functions, `percentile(x, 50)`): what PostgreSQL gets is not the text as written.
SQLGLOT = Engine(
    "sqlglot's parser", ("sqlglot",),
    makers=frozenset(),
    types=frozenset(),
    functions=frozenset({f"sqlglot.{module}{function}"
                         for module in ("", "parser.", "exp.", "expressions.")
                         for function in ("parse_one", "parse", "transpile",
                                          "maybe_parse")}),
)


ENGINES: tuple[Engine, ...] = (
    SQLITE,
    Engine(
        "ClickHouse", ("clickhouse", "aiochclient", "asynch"),
        makers=frozenset({
            "clickhouse_connect.get_client", "clickhouse_connect.get_async_client",
            "clickhouse_connect.create_client", "clickhouse_connect.create_async_client",
            "clickhouse_connect.driver.create_client",
            "clickhouse_connect.driver.create_async_client", "clickhouse_connect.dbapi.connect",
            "clickhouse_driver.connect", "clickhouse_driver.dbapi.connect",
            "asynch.connect", "asynch.create_pool",
        }),
        types=frozenset({
            "clickhouse_connect.driver.Client", "clickhouse_connect.driver.client.Client",
            "clickhouse_connect.driver.AsyncClient",
            "clickhouse_connect.driver.asyncclient.AsyncClient",
            "clickhouse_driver.Client", "clickhouse_driver.client.Client",
            "clickhouse_driver.dbapi.Connection", "clickhouse_driver.dbapi.connection.Connection",
            "aiochclient.ChClient", "asynch.Connection", "asynch.connection.Connection",
        }),
        dialects=frozenset({"clickhouse", "clickhousedb"}),
        named_by=("clickhouse",),
    ),
    Engine(
        "DuckDB", ("duckdb",),
        makers=frozenset({"duckdb.connect"}),
        types=frozenset({"duckdb.DuckDBPyConnection"}),
        objects=frozenset({"duckdb"}),
        dialects=frozenset({"duckdb"}),
        named_by=("duckdb",),
    ),
    Engine(
        "MySQL", ("mysql", "asyncmy", "mariadb"),
        makers=frozenset({
            "pymysql.connect", "pymysql.Connect", "MySQLdb.connect", "MySQLdb.Connect",
            "mysql.connector.connect", "aiomysql.connect", "aiomysql.create_pool",
            "asyncmy.connect", "asyncmy.create_pool", "mariadb.connect",
        }),
        types=frozenset({
            "pymysql.Connection", "pymysql.connections.Connection", "pymysql.cursors.Cursor",
            "pymysql.cursors.DictCursor", "MySQLdb.Connection",
            "MySQLdb.connections.Connection", "mysql.connector.MySQLConnection",
            "mysql.connector.connection.MySQLConnection",
            "mysql.connector.connection_cext.CMySQLConnection",
            "mysql.connector.pooling.MySQLConnectionPool", "aiomysql.Connection",
            "aiomysql.Pool", "aiomysql.Cursor", "asyncmy.Connection", "mariadb.Connection",
        }),
        dialects=frozenset({"mysql", "mariadb"}),
        named_by=("mysql", "mariadb"),
    ),
    Engine(
        "Snowflake", ("snowflake",),
        makers=frozenset({"snowflake.connector.connect"}),
        types=frozenset({
            "snowflake.connector.SnowflakeConnection",
            "snowflake.connector.connection.SnowflakeConnection",
            "snowflake.connector.cursor.SnowflakeCursor", "snowflake.snowpark.Session",
            "snowflake.snowpark.session.Session",
        }),
        objects=frozenset({"snowflake.snowpark.Session.builder",
                           "snowflake.snowpark.session.Session.builder"}),
        dialects=frozenset({"snowflake"}),
        named_by=("snowflake",),
    ),
    Engine(
        "BigQuery", ("bigquery",),
        makers=frozenset({"google.cloud.bigquery.dbapi.connect"}),
        types=frozenset({"google.cloud.bigquery.Client", "google.cloud.bigquery.client.Client"}),
        dialects=frozenset({"bigquery"}),
        named_by=("bigquery",),
    ),
    Engine(
        "Spark", ("spark",),
        makers=frozenset({
            "pyspark.sql.SparkSession.getActiveSession", "pyspark.sql.SparkSession.active",
            "pyspark.sql.session.SparkSession.getActiveSession",
            "pyspark.sql.session.SparkSession.active",
        }),
        types=frozenset({
            "pyspark.sql.SparkSession", "pyspark.sql.session.SparkSession",
            "pyspark.sql.SQLContext", "pyspark.sql.HiveContext",
        }),
        objects=frozenset({"pyspark.sql.SparkSession.builder",
                           "pyspark.sql.session.SparkSession.builder"}),
        named_by=("spark",),
    ),
    # NAV's Oracle service checker (`cx_Oracle.connect(...)`, then `select version from
    # sys.v_$instance`); python-oracledb is cx_Oracle renamed.
    Engine(
        "Oracle", ("oracle",),
        makers=frozenset({"cx_Oracle.connect", "cx_Oracle.Connection", "cx_Oracle.SessionPool",
                          "oracledb.connect", "oracledb.connect_async", "oracledb.create_pool",
                          "oracledb.create_pool_async"}),
        types=frozenset({"cx_Oracle.Connection", "cx_Oracle.Cursor", "oracledb.Connection",
                         "oracledb.Cursor", "oracledb.AsyncConnection", "oracledb.AsyncCursor",
                         "oracledb.ConnectionPool", "oracledb.AsyncConnectionPool"}),
        dialects=frozenset({"oracle"}),
    ),
    # fides reads its customers' databases: SQL Server through SQLAlchemy's `mssql+pymssql://`
    # URLs (`SELECT name FROM sys.databases`) and fixtures named for it
    # (`mssql_integration_session.execute(...)` of `dbo.customer`).
    Engine(
        "SQL Server", ("mssql", "pytds", "sqlserver"),
        makers=frozenset({"pymssql.connect", "pymssql._mssql.connect", "pytds.connect"}),
        types=frozenset({"pymssql.Connection", "pymssql.Cursor", "pytds.Connection",
                         "pytds.Cursor"}),
        dialects=frozenset({"mssql"}),
        named_by=("mssql", "sqlserver"),
    ),
    # Cassandra's driver (also ScyllaDB's, under the same module name): CQL reads like SQL
    # (`select now() from system.local`); `Cluster(...).connect()` is its session.
    Engine(
        "Cassandra", ("cassandra", "scylla"),
        makers=frozenset({"cassandra.cluster.Cluster"}),
        types=frozenset({"cassandra.cluster.Cluster", "cassandra.cluster.Session"}),
        named_by=("cassandra", "scylla"),
    ),
    # Databend, a cloud warehouse speaking ClickHouse's SQL (`SELECT avg(number) FROM
    # numbers(100000000)`): its drivers (databend-driver's clients, databend-py's `Client`,
    # databend-sqlalchemy's `databend://` URLs) and the names a project gives its own client
    # for it (keep's `DatabendProvider`, queried over HTTP as `databend_provider._query(...)`).
    Engine(
        "Databend", ("databend",),
        makers=frozenset({"databend_driver.BlockingDatabendClient",
                          "databend_driver.AsyncDatabendClient", "databend_py.Client"}),
        types=frozenset({"databend_driver.BlockingDatabendClient",
                         "databend_driver.AsyncDatabendClient",
                         "databend_driver.BlockingDatabendConnection",
                         "databend_driver.AsyncDatabendConnection", "databend_py.Client"}),
        dialects=frozenset({"databend"}),
        named_by=("databend",),
    ),
    # Tinybird, ClickHouse as a service (its SQL over HTTP: `SELECT toString(id) FROM
    # events_by_ingested_at WHERE organization_id = {organization_id:UUID}`): tinybird-cli's
    # `TinyB` client, and a project's own client for it, named so (Polar's
    # `from polar.integrations.tinybird.client import client as tinybird_client`, then
    # `tinybird_client.query(sql, ...)`).
    Engine(
        "Tinybird", ("tinybird",),
        makers=frozenset({"tinybird.client.TinyB"}),
        types=frozenset({"tinybird.client.TinyB"}),
        named_by=("tinybird",),
    ),
    # Apache DataFusion, a query engine run in the process over files (Parquet, CSV, Iceberg
    # tables): `SessionContext().sql(...)`. Airflow's common.sql provider runs its
    # AnalyticsOperator's `queries` and what an `@task.analytics` function returns on it,
    # over the object-store files its datasource configs register as tables (Airflow's
    # example DAG reads `users_data` so: 12 false DBS301 against Airflow's own schema).
    Engine(
        "DataFusion", ("datafusion", "analytics"),
        makers=frozenset({"datafusion.SessionContext"}),
        types=frozenset({"datafusion.SessionContext", "datafusion.context.SessionContext"}),
        given=frozenset({
            ("airflow.providers.common.sql.operators.analytics.AnalyticsOperator", "queries"),
        }),
        returned_by=frozenset({"airflow.sdk.task.analytics", "airflow.decorators.task.analytics",
                               "airflow.providers.common.sql.decorators.analytics"
                               ".analytics_task"}),
        named_by=("datafusion",),
    ),
    # InfluxDB: InfluxQL reads like SQL (`SELECT mean("xact_commit") FROM "db_stats" WHERE
    # time > now() - 1d GROUP BY time(1h)`), and InfluxDB 3 takes SQL too, about measurements,
    # never the schema's tables. influxdb-python's and aioinflux's `InfluxDBClient.query(q)`,
    # influxdb3-python's `InfluxDBClient3.query(q, language=...)`. pgwatch2's web UI
    # (`webpy/pgwatch2_influx.py`) sends its dashboards' InfluxQL through
    # `influx_query(...)`, beside the PostgreSQL queries of its metric store in another module.
    Engine(
        "InfluxDB", ("influx",),
        makers=frozenset({
            "influxdb.InfluxDBClient", "influxdb.client.InfluxDBClient",
            "influxdb.DataFrameClient", "aioinflux.InfluxDBClient",
            "aioinflux.client.InfluxDBClient", "influxdb_client_3.InfluxDBClient3",
        }),
        types=frozenset({
            "influxdb.InfluxDBClient", "influxdb.client.InfluxDBClient",
            "influxdb.DataFrameClient", "aioinflux.InfluxDBClient",
            "aioinflux.client.InfluxDBClient", "influxdb_client_3.InfluxDBClient3",
        }),
        named_by=("influx", "influxdb"),
    ),
    # Exasol and Apache Phoenix, analytics databases a BI tool connects to (Redash's query
    # runners: `pyexasol.connect(...).execute("SELECT ... FROM EXA_ALL_COLUMNS")`,
    # `phoenixdb.connect(...)` reading `SYSTEM.CATALOG`). Named by their drivers only:
    # `phoenix` is also Arize Phoenix, a Python application on PostgreSQL.
    Engine(
        "Exasol", ("exasol",),
        makers=frozenset({"pyexasol.connect"}),
        types=frozenset({"pyexasol.ExaConnection", "pyexasol.connection.ExaConnection"}),
        dialects=frozenset({"exa"}),
        named_by=("exasol", "pyexasol"),
    ),
    Engine(
        "Apache Phoenix", ("phoenixdb",),
        makers=frozenset({"phoenixdb.connect"}),
        types=frozenset({"phoenixdb.connection.Connection"}),
        named_by=("phoenixdb",),
    ),
    # Apache Ignite and GridGain (its distribution, the same thin client under another
    # package): Redash's runner imports `Client` from `pyignite` or `pygridgain` depending on
    # a setting, then `client.sql("SELECT ... FROM SYS.TABLE_COLUMNS")`. Named by its drivers
    # only: `ignite` is also PyTorch-Ignite.
    Engine(
        "Apache Ignite", ("pyignite", "pygridgain"),
        makers=_IGNITE_CLIENTS, types=_IGNITE_CLIENTS,
        named_by=("pyignite", "pygridgain"),
    ),
    # Not databases: SaaS APIs whose query language reads like SQL. No `named_by`: an
    # application names its own tables and helpers after them (`quickbooks_invoices`).
    Engine(
        "QuickBooks Online", ("quickbooks",),
        makers=frozenset(),
        types=frozenset({"quickbooks.QuickBooks", "quickbooks.client.QuickBooks"}),
        modules=("quickbooks.objects",),
    ),
    SQLGLOT,
    Engine(
        "Salesforce", ("salesforce",),
        makers=frozenset(),
        types=frozenset({"simple_salesforce.Salesforce", "simple_salesforce.api.Salesforce"}),
        functions=frozenset({"simple_salesforce.format_soql",
                             "simple_salesforce.format.format_soql"}),
    ),
)

# Methods of a connection, engine, pool or builder whose result is of the same engine: a
# cursor, a connection of a SQLAlchemy engine or a pool, the next step of a builder.
SAME_ENGINE = frozenset({
    "cursor", "execute", "connect", "begin", "raw_connection", "acquire", "get_connection",
    "getOrCreate", "appName", "master", "config", "configs", "enableHiveSupport", "create",
    "newSession",
})
# Methods that send their first argument (or `sql=`/`query=`) as a statement on these
# engines' connections, beside the DB-API ones every driver has (`execute`): ClickHouse's
# `client.query`/`command`, DuckDB's and Spark's `.sql`, BigQuery's `client.query`,
# simple-salesforce's `query_all`, asqlite's `fetchone`/`fetchall`/`fetchmany`, sqlglot's
# `parse_one`/`parse`/`transpile`/`maybe_parse` (a statement read into a tree, not sent); and
# those that fill in a statement's parameters for sending (`FILLERS`).
ENGINE_SINKS = frozenset({
    "query", "sql", "command", "query_df", "query_np", "query_arrow", "query_row_block_stream",
    "raw_query", "execute_iter", "iterate", "query_all", "query_all_iter",
    "fetchone", "fetchall", "fetchmany", "substitute_params", "format", "format_soql",
    "parse_one", "parse", "transpile", "maybe_parse",
})
# Calls that fill in a statement's parameters for sending, as psycopg's `mogrify` does:
# clickhouse-driver's `substitute_params`, the `format` of a project's client wrapping it
# (openreplay's `ClickHouseClient`), simple-salesforce's `format_soql` (Onyx's Salesforce
# permission sync). Only what reads as a statement is taken from them: `format` is also a
# string's, on a name that only says the engine (`CLICKHOUSE_SQL.format(t)`).
FILLERS = frozenset({"substitute_params", "format", "format_soql"})

"""A folder of SQL migrations applied to a database: supabase, Flyway, goose, dbmate,
golang-migrate, prisma, ... as `dbsafe.extract.migration.sql_migrations` orders them.

Each file runs as its runner runs it (`Migration.starts_in_transaction`, which
`sql_migrations` sets): inside one transaction when the runner wraps it in one (supabase
always; Flyway, goose, sql-migrate, dbmate, diesel, sqlx, graphile-migrate and Atlas unless
the file says not to; Hasura's always; Liquibase each changeset), else
statement by statement (a Sqitch deploy script, which psql runs, in the transaction its own
BEGIN and COMMIT make). A statement that fails does not end the run: it is
recorded (`StatementFailure`, at its file and line with PostgreSQL's message) and only it
is lost: inside a transaction each statement runs under a savepoint, so the file's other
statements stay. A statement PostgreSQL refuses inside a transaction block (`CREATE INDEX
CONCURRENTLY` in a file the runner wraps) fails as it would in production, and is then run
after the file's transaction, so what it builds is there for the rest.

After each Flyway file the role and search_path are set back, as Flyway does; each supabase
file starts from a reset session, as its CLI does.

For a supabase project, `SUPABASE_PLATFORM` (supabase.sql, next to this module) is applied
first: a small stand-in for what the Supabase platform creates before any migration runs.
For a folder of prisma migrate's, drizzle-kit's, diesel's or supabase's CLI, the table that runner keeps
its history in (`RUNNER_HISTORY`) is created first: production has it, though no migration
creates it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from dbsafe.core import DatabaseError, Location
from dbsafe.pg.throwaway import scratch

if TYPE_CHECKING:
    import psycopg

    from dbsafe.extract.migration import Migration, MigrationStatement

log = logging.getLogger(__name__)

# Long enough for a migration's data statements, short enough that one stuck statement
# (a `pg_sleep`, a lock no one will release) cannot hang the run.
STATEMENT_TIMEOUT = "60s"


# The table a runner records the migrations it applied in, as it creates it in the database
# it migrates (prisma's migrate engine; drizzle-orm's `migrate()` for PostgreSQL; supabase's
# CLI; diesel; sqlx; graphile-migrate; golang-migrate; dbmate; yoyo; postgres-migrations). An application may read it (a
# health check counting
# `_prisma_migrations`, a script renaming the versions in
# `supabase_migrations.schema_migrations`), and a migration may use it (Lemmy's trigger on
# `__diesel_schema_migrations`).
RUNNER_HISTORY = {
    "prisma": """CREATE TABLE "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)""",
    "drizzle": """CREATE SCHEMA IF NOT EXISTS "drizzle";
CREATE TABLE IF NOT EXISTS "drizzle"."__drizzle_migrations" (
    id SERIAL PRIMARY KEY,
    hash text NOT NULL,
    created_at bigint
)""",
    # drizzle-orm 1.0's, for drizzle-kit 1.0's folder (`drizzle_1_folder`): 0.x's columns
    # and the migration's folder `name`, `applied_at` and the table's `version` (its
    # `up-migrations/pg.ts` adds these to a 0.x table: version 1 of the table).
    "drizzle-1": """CREATE SCHEMA IF NOT EXISTS "drizzle";
CREATE TABLE IF NOT EXISTS "drizzle"."__drizzle_migrations" (
    id SERIAL PRIMARY KEY,
    hash text NOT NULL,
    created_at bigint,
    name text,
    applied_at timestamp with time zone DEFAULT now(),
    version integer
)""",
    # diesel's (`setup_migration_table.sql`; Lemmy's migrations put a trigger on it).
    "diesel": """CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (
    version VARCHAR(50) PRIMARY KEY NOT NULL,
    run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
)""",
    # sqlx's (`ensure_migrations_table` of sqlx-postgres).
    "sqlx": """CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
    success BOOLEAN NOT NULL,
    checksum BYTEA NOT NULL,
    execution_time BIGINT NOT NULL
)""",
    # golang-migrate's PostgreSQL drivers' (`ensureVersionTable`; harbor's 0030 adds a
    # column to it).
    "golang-migrate": """CREATE TABLE IF NOT EXISTS schema_migrations (
    version bigint NOT NULL PRIMARY KEY,
    dirty boolean NOT NULL
)""",
    # dbmate's PostgreSQL driver's (`CreateMigrationsTable`, made before the first file
    # runs; bionic-gpt's first migration grants SELECT on it for its backups).
    "dbmate": """CREATE TABLE IF NOT EXISTS schema_migrations (
    version varchar PRIMARY KEY
)""",
    # graphile-migrate's (`_migrateMigrationSchema`, unless `manageGraphileMigrateSchema`
    # is off).
    "graphile-migrate": """CREATE SCHEMA IF NOT EXISTS graphile_migrate;
CREATE TABLE IF NOT EXISTS graphile_migrate.migrations (
    hash text PRIMARY KEY,
    previous_hash text REFERENCES graphile_migrate.migrations,
    filename text NOT NULL,
    date timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS graphile_migrate.current (
    filename text PRIMARY KEY DEFAULT 'current.sql',
    content text NOT NULL,
    date timestamptz NOT NULL DEFAULT now()
)""",
    # yoyo-migrations' (its internal schema version 2, `yoyo/internalmigrations/v2.py`, and
    # its lock table), made before the first migration runs.
    "yoyo": """CREATE TABLE IF NOT EXISTS "_yoyo_migration" (
    "migration_hash" VARCHAR(64),
    "migration_id" VARCHAR(255),
    "applied_at_utc" TIMESTAMP,
    PRIMARY KEY ("migration_hash")
);
CREATE TABLE IF NOT EXISTS "_yoyo_log" (
    "id" VARCHAR(36),
    "migration_hash" VARCHAR(64),
    "migration_id" VARCHAR(255),
    "operation" VARCHAR(10),
    "username" VARCHAR(255),
    "hostname" VARCHAR(255),
    "comment" VARCHAR(255),
    "created_at_utc" TIMESTAMP,
    PRIMARY KEY ("id")
);
CREATE TABLE IF NOT EXISTS "_yoyo_version" (
    "version" INT NOT NULL PRIMARY KEY,
    "installed_at_utc" TIMESTAMP
);
CREATE TABLE IF NOT EXISTS "yoyo_lock" (
    "locked" INT DEFAULT 1,
    "ctime" TIMESTAMP,
    "pid" INT NOT NULL,
    PRIMARY KEY ("locked")
)""",
    # postgres-migrations' (its own first migration, `0_create-migrations-table.sql`, run
    # before the folder's files).
    "postgres-migrations": """CREATE TABLE IF NOT EXISTS migrations (
    id integer PRIMARY KEY,
    name varchar(100) UNIQUE NOT NULL,
    hash varchar(40) NOT NULL,
    executed_at timestamp DEFAULT current_timestamp
)""",
    # supabase's CLI makes it before the first file (`CreateMigrationTable` in its
    # pkg/migration/history.go), and `seed_files` when it seeds.
    "supabase": """CREATE SCHEMA IF NOT EXISTS supabase_migrations;
CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (
    version text NOT NULL PRIMARY KEY,
    statements text[],
    name text
);
CREATE TABLE IF NOT EXISTS supabase_migrations.seed_files (
    path text NOT NULL PRIMARY KEY,
    hash text NOT NULL
)""",
}


def migration_runner(folder: Path) -> str | None:
    """The runner whose history table `folder`'s database has (`RUNNER_HISTORY`): "prisma"
    for prisma migrate's folder (`migration_lock.toml`, or `<name>/migration.sql` files),
    "drizzle" for drizzle-kit's (`meta/_journal.json`), "drizzle-1" for drizzle-kit 1.0's
    (`drizzle_1_folder`), "diesel" for diesel's
    (`diesel_folder`), "sqlx" for sqlx's (`sqlx_folder`), "graphile-migrate" for
    graphile-migrate's (its migrations folder or its `committed/`), "golang-migrate" for
    golang-migrate's (`golang_migrate_folder`), "dbmate" for dbmate's (`dbmate_folder`),
    "yoyo" for yoyo's (`yoyo_folder`), "postgres-migrations" for postgres-migrations'
    (`postgres_migrations_folder`), else None."""
    from dbsafe.extract.migration import (
        DRIZZLE_JOURNAL,
        dbmate_folder,
        diesel_folder,
        drizzle_1_folder,
        golang_migrate_folder,
        graphile_migrate_folder,
        postgres_migrations_folder,
        prisma_folder,
        sqlx_folder,
        yoyo_folder,
    )

    if prisma_folder(folder):
        return "prisma"
    if (folder / DRIZZLE_JOURNAL).is_file():
        return "drizzle"
    if drizzle_1_folder(folder):
        return "drizzle-1"
    if diesel_folder(folder):
        return "diesel"
    if sqlx_folder(folder):
        return "sqlx"
    if graphile_migrate_folder(folder) or (folder.name == "committed"
                                           and graphile_migrate_folder(folder.parent)):
        return "graphile-migrate"
    if golang_migrate_folder(folder):
        return "golang-migrate"
    if dbmate_folder(folder):
        return "dbmate"
    if yoyo_folder(folder):
        return "yoyo"
    if postgres_migrations_folder(folder):
        return "postgres-migrations"
    return None


@dataclass(frozen=True, slots=True)
class StatementFailure:
    """A migration statement PostgreSQL refused on the throwaway server."""

    location: Location  # where PostgreSQL's error points (else the statement's start)
    sql: str  # the statement as written
    message: str  # "42P01: relation \"x\" does not exist"
    # Refused inside the file's transaction block (`CREATE INDEX CONCURRENTLY`), as the
    # runner would refuse it, then run after that transaction: what it builds is there.
    applied_later: bool = False

    @property
    def sqlstate(self) -> str | None:
        """PostgreSQL's error code, from `message` ("42P01: ..."); None without one.

        >>> StatementFailure(Location("a.sql", 1), "x", "42P01: nope").sqlstate
        '42P01'
        """
        code, colon, _ = self.message.partition(": ")
        return code if colon and re.fullmatch("[0-9A-Z]{5}", code) else None

    def to_json(self) -> dict[str, object]:
        return {"path": self.location.path, "line": self.location.line,
                "column": self.location.column, "sql": self.sql, "message": self.message,
                "applied_later": self.applied_later}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> StatementFailure:
        return cls(Location(str(data["path"]), int(data["line"]),  # type: ignore[call-overload]
                            int(data["column"])),  # type: ignore[call-overload]
                   str(data["sql"]), str(data["message"]), bool(data.get("applied_later")))


def apply_sql_migrations(migrations: Sequence[Migration], url: str, *,
                         platform: str | None = None,
                         runner: str | None = None,
                         reset_each_file: bool | None = None,
                         before: str = "") -> tuple[StatementFailure, ...]:
    """Run `migrations` in order on the database at `url`; returns what failed.

    Args:
        migrations: SQL migrations, as `sql_migrations` reads them (up sections only).
        url: a libpq URL of the database to migrate (the throwaway one).
        platform: "supabase" to create the platform's stand-in first.
        runner: a key of `RUNNER_HISTORY`: that runner's history table is created first.
        reset_each_file: start each file from a reset session, as supabase's CLI does;
            by default, with supabase's stand-in.
        before: SQL the runner itself runs first (the schemas Flyway is told to make).

    Raises:
        DatabaseError: the database could not be reached, or the connection broke.
    """
    import psycopg

    failures: list[StatementFailure] = []
    # What comes first, on a session of its own; none where nothing does (the SQL walk of
    # verify-reversible applies each migration three times, with none of it).
    if platform == "supabase" or runner is not None or before:
        with _connect(url) as conn:
            if platform == "supabase":
                conn.execute(supabase_platform_sql())
            if runner is not None:
                conn.execute(RUNNER_HISTORY[runner])
            if before:
                try:
                    conn.execute(before)
                except psycopg.Error as exc:
                    raise DatabaseError(f"{scratch()} refused {before.strip()!r}: "
                                        f"{exc}") from None
    # A session of its own, started with what the stand-in set for the database (supabase's
    # search_path with `extensions`): what `RESET ALL` goes back to.
    if reset_each_file is None:
        reset_each_file = platform == "supabase"
    with _connect(url) as conn:
        row = conn.execute("SELECT current_setting('search_path')").fetchone()
        search_path = row[0] if row else '"$user", public'
        for migration in migrations:
            if reset_each_file:
                # supabase's CLI resets the session before each file: the
                # `set_config('search_path', '', false)` a `supabase db dump` file starts
                # with ends with that file (`ApplyMigrations`, pkg/migration/apply.go).
                conn.execute("RESET ALL")
            failures.extend(_apply_file(conn, migration))
            if migration.flyway:
                # Flyway sets the role and search_path back after each migration
                # (`doRestoreOriginalState` of its PostgreSQL connection): a
                # `SET search_path = x, pg_catalog;` ends with its file.
                conn.execute("RESET ROLE")
                conn.execute("SELECT set_config('search_path', %s, false)", (search_path,))
    return tuple(failures)


def warn_failed(failures: Sequence[StatementFailure]) -> None:
    """Log (a warning, on stderr) each statement that failed where a schema was built from
    the migrations: what it would have made is missing from that schema, and a report
    compared with it (drift's, `schema dump`'s, `diff`'s) would not say so otherwise."""
    for failure in failures:
        where = failure.location
        log.warning("%s:%d:%d: migration statement failed on %s: %s; %s",
                    where.path, where.line, where.column, scratch(), failure.message,
                    "dbsafe ran it after the file's transaction" if failure.applied_later
                    else "the schema lacks what it would have made")


def run_script(url: str, statements: Sequence[MigrationStatement]) -> StatementFailure | None:
    """Run `statements` on the database at `url` as psql runs a script with `ON_ERROR_STOP`:
    in one session, each statement on its own (autocommit) unless the script opens a
    transaction itself, stopping at the first one PostgreSQL refuses; returns that one.

    Raises:
        DatabaseError: the database could not be reached, or the connection broke.
    """
    import psycopg

    with _connect(url) as conn:
        for statement in statements:
            try:
                _execute(conn, statement.sql, statement.raw)
            except psycopg.Error as exc:
                if conn.closed or conn.broken:
                    raise DatabaseError(f"{scratch()} failed while running "
                                        f"{statement.location.path}: {exc}") from None
                return _failure(statement.sql, statement.location, exc)
    return None


def _connect(url: str) -> psycopg.Connection:
    import psycopg

    try:
        # The timeout as the session's own default: `RESET ALL` keeps it.
        return psycopg.connect(url, autocommit=True,
                               options=f"-c statement_timeout={STATEMENT_TIMEOUT}")
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot connect to {scratch('database')}: {exc}") from None


def supabase_platform_sql() -> str:
    """The SQL of the supabase stand-in (see supabase.sql)."""
    return (Path(__file__).parent / "supabase.sql").read_text(encoding="utf-8")


def _apply_file(conn: psycopg.Connection, migration: Migration) -> list[StatementFailure]:
    import psycopg
    from psycopg.pq import TransactionStatus

    failures: list[StatementFailure] = []
    later = []  # refused inside the file's transaction block: run after it
    if migration.starts_in_transaction:
        conn.execute("BEGIN")
    for statement in migration.statements:
        control = _transaction_control(statement.sql)
        if control:
            try:
                conn.execute(statement.sql)
            except psycopg.Error as exc:
                failures.append(_failure(statement.sql, statement.location, exc))
            continue
        in_block = conn.info.transaction_status != TransactionStatus.IDLE
        try:
            if in_block:
                conn.execute("SAVEPOINT dbsafe_statement")
            _execute(conn, statement.sql, statement.raw)
            if in_block:
                conn.execute("RELEASE SAVEPOINT dbsafe_statement")
        except psycopg.OperationalError as exc:
            if conn.closed or conn.broken:
                raise DatabaseError(f"{scratch()} failed while running "
                                    f"{statement.location.path}: {exc}") from None
            failures.append(_failure(statement.sql, statement.location, exc))
            if in_block:
                conn.execute("ROLLBACK TO SAVEPOINT dbsafe_statement")
        except psycopg.Error as exc:
            failure = _failure(statement.sql, statement.location, exc)
            if in_block:
                conn.execute("ROLLBACK TO SAVEPOINT dbsafe_statement")
                if getattr(exc, "sqlstate", None) == _NO_TRANSACTION_BLOCK:
                    later.append((statement, failure))
                    continue
            if (getattr(exc, "sqlstate", None) == _NO_SUCH_VERSION
                    and _created_at_the_version_it_has(conn, statement.sql, in_block)):
                continue
            if (getattr(exc, "sqlstate", None) in _NOT_ON_MAINTENANCE_PATH
                    and _made_without_data(conn, statement.sql, exc, in_block)):
                continue
            failures.append(failure)
    if conn.info.transaction_status != TransactionStatus.IDLE:
        conn.execute("COMMIT")
    for statement, failure in later:
        try:
            conn.execute(statement.raw if statement.raw is not None else statement.sql)
        except psycopg.Error as exc:
            failures.append(_failure(statement.sql, statement.location, exc))
        else:
            failures.append(replace(failure, applied_later=True))
    return sorted(failures, key=lambda f: (f.location.line, f.location.column))


def _execute(conn: psycopg.Connection, sql: str, raw: bytes | None = None) -> None:
    """Run one migration statement: its file's bytes when they are not all UTF-8 (`raw`,
    which PostgreSQL refuses with 22021). A `COPY ... FROM stdin` (pg_dump's way to load rows,
    which follow it in the file) runs as a COPY given no rows, and a `COPY ... TO stdout`
    has its rows read and dropped: sent as a plain statement either leaves the connection
    in the middle of a COPY. Rows are no schema; the COPY still checks its table and columns."""
    direction = _client_copy(sql)
    if direction is None or raw is not None:
        conn.execute(raw if raw is not None else sql)
        return
    with conn.cursor() as cursor, cursor.copy(sql) as copy:
        if direction == "out":
            for _ in copy:
                pass


def _client_copy(sql: str) -> str | None:
    """"in" for a COPY from stdin, "out" for one to stdout, else None; read by PostgreSQL's
    parser.

    >>> [_client_copy(s) for s in ("COPY t (a) FROM stdin", "copy t to STDOUT",
    ...                            "COPY t FROM '/tmp/t.csv'", "SELECT 'copy'")]
    ['in', 'out', None, None]
    """
    if "copy" not in sql.lower():
        return None
    from pglast import ast

    from dbsafe.pg.parse import sole_statement

    copy = sole_statement(sql)
    if not isinstance(copy, ast.CopyStmt) or copy.filename is not None or copy.is_program:
        return None
    return "in" if copy.is_from else "out"


# active_sql_transaction: "CREATE INDEX CONCURRENTLY cannot run inside a transaction block"
_NO_TRANSACTION_BLOCK = "25001"
# invalid_parameter_value: 'extension "vector" has no installation script nor update path
# for version "0.8.0"'
_NO_SUCH_VERSION = "22023"


def _created_at_the_version_it_has(conn: psycopg.Connection, sql: str, in_block: bool) -> bool:
    """Run a `CREATE EXTENSION ... VERSION 'x'` the server refused (22023) without its
    `VERSION`, at the version the server has, then record `x` as its version, as production
    has it (`dbsafe diff` compares versions; pgvector's update scripts run over it); whether
    that ran.

    Supabase's dashboard and `supabase db diff` write the version the platform had
    (`create extension if not exists "vector" with schema "public" version '0.8.0'`); the
    embedded PostgreSQL has pgvector's install script of its own version only (0.8.6), and no
    update runs backwards, so the extension, then every table with a `vector` column, then
    every foreign key to those, failed (epic-hq/Insights: 328 statements, their tables
    unknown). Production has the extension; its version changes none of the application's
    tables, and what the extension itself makes is never checked (unknown.py).
    """
    import psycopg

    found = _without_version(sql)
    if found is None:
        return False
    unversioned, name, version = found
    try:
        if in_block:
            conn.execute("SAVEPOINT dbsafe_statement")
        conn.execute(unversioned)
        conn.execute("UPDATE pg_catalog.pg_extension SET extversion = %s WHERE extname = %s",
                     (version, name))
        if in_block:
            conn.execute("RELEASE SAVEPOINT dbsafe_statement")
    except psycopg.Error:
        if in_block:
            conn.execute("ROLLBACK TO SAVEPOINT dbsafe_statement")
        return False
    return True


# undefined_table, undefined_function, undefined_object: a name a function's body reads
# unqualified, which the search_path PostgreSQL 17+ gives maintenance operations lacks.
_NOT_ON_MAINTENANCE_PATH = frozenset({"42P01", "42883", "42704"})


def _made_without_data(conn: psycopg.Connection, sql: str, exc: Exception,
                       in_block: bool) -> bool:
    """Run a `CREATE MATERIALIZED VIEW` the server refused while a function its query calls
    ran (a name that function reads, not found) `WITH NO DATA`; whether that ran.

    PostgreSQL 17+ fills a new materialized view (as it runs `REFRESH`, `CREATE INDEX`)
    with `search_path` set to `pg_catalog, pg_temp`: a plpgsql function reading `users`
    unqualified fails there, though the view's own query was read, its names resolved,
    under the session's path. On the PostgreSQL 16 it was written for, the view was made:
    Stacker News' 31 `CREATE MATERIALIZED VIEW reg_growth_hours AS SELECT (reg_growth(min,
    max, ...)).* FROM last_24_hours` and the unique index of each failed, every view
    missing. Made without its rows, the view has the columns PostgreSQL 16 gave it (the
    query is planned, not run); rows are no schema.
    """
    import psycopg
    from pglast import ast
    from pglast.enums import ObjectType
    from pglast.stream import RawStream

    from dbsafe.pg.parse import sole_statement

    if getattr(getattr(exc, "diag", None), "context", None) is None:
        return False  # refused by the view's own query, not inside a function it calls
    node = sole_statement(sql)
    if not isinstance(node, ast.CreateTableAsStmt) or node.objtype != ObjectType.OBJECT_MATVIEW \
            or node.into is None or node.into.skipData:
        return False
    node.into.skipData = True
    try:
        if in_block:
            conn.execute("SAVEPOINT dbsafe_statement")
        conn.execute(str(RawStream()(node)))
        if in_block:
            conn.execute("RELEASE SAVEPOINT dbsafe_statement")
    except psycopg.Error:
        if in_block:
            conn.execute("ROLLBACK TO SAVEPOINT dbsafe_statement")
        return False
    return True


def _without_version(sql: str) -> tuple[str, str, str] | None:
    """`sql` without its `VERSION`, the extension and that version, when it is a `CREATE
    EXTENSION` naming one, else None; read (and written back) by PostgreSQL's parser.

    >>> _without_version('create extension if not exists "vector" with schema "public" '
    ...                  "version '0.8.0'")
    ('CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA public', 'vector', '0.8.0')
    >>> _without_version("CREATE EXTENSION vector"), _without_version("SELECT 1")
    (None, None)
    """
    from pglast import ast
    from pglast.stream import RawStream

    from dbsafe.pg.parse import sole_statement

    node = sole_statement(sql)
    if not isinstance(node, ast.CreateExtensionStmt) or not node.options:
        return None
    version = next((o.arg.sval for o in node.options if o.defname == "new_version"
                    and isinstance(o.arg, ast.String) and o.arg.sval), None)
    if version is None or not node.extname:
        return None
    node.options = tuple(o for o in node.options if o.defname != "new_version") or None
    return str(RawStream()(node)), node.extname, version


def _transaction_control(sql: str) -> bool:
    """Whether `sql` begins, ends or rolls back the transaction, handles a savepoint, or
    sets the transaction's mode (`SET TRANSACTION ISOLATION LEVEL ...`, which PostgreSQL
    refuses in a subtransaction, 25001: Langfuse's backfill sets REPEATABLE READ right after
    its BEGIN); run as written, never under a savepoint of dbsafe's; read by PostgreSQL's
    parser.

    >>> [_transaction_control(s) for s in ("BEGIN", "commit work", "SAVEPOINT a", "SELECT 1",
    ...  "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", "SET LOCAL lock_timeout = 1")]
    [True, True, True, False, True, False]
    """
    from pglast import ast

    from dbsafe.pg.parse import sole_statement

    node = sole_statement(sql)
    return isinstance(node, ast.TransactionStmt) or (
        isinstance(node, ast.VariableSetStmt) and node.name is not None
        and node.name.startswith("TRANSACTION"))


def _failure(sql: str, start: Location, exc: Exception) -> StatementFailure:
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) or str(exc).strip().split("\n")[0]
    state = getattr(exc, "sqlstate", None)
    message = f"{state}: {primary}" if state else primary
    location = start
    position = getattr(diag, "statement_position", None)
    if position and str(position).isdigit() and 0 < int(position) <= len(sql):
        before = sql[:int(position) - 1]
        lines = before.count("\n")
        column = len(before) - before.rfind("\n") if lines else start.column + len(before)
        location = Location(start.path, start.line + lines, column)
    return StatementFailure(location, sql, message)

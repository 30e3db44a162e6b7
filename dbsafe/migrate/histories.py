"""The history tables SQL migration runners keep in the database they migrate: which of
a folder's files ran there (golang-migrate's and dbmate's `schema_migrations`, goose's
`goose_db_version`, Flyway's `flyway_schema_history`, sqlx's `_sqlx_migrations`, refinery's
`refinery_schema_history`, diesel's `__diesel_schema_migrations`, supabase's `supabase_migrations.schema_migrations`, prisma's
`_prisma_migrations`, Sqitch's registry, river's `river_migration`, sql-migrate's
`gorp_migrations`, yoyo's `_yoyo_migration`, node-pg-migrate's `pgmigrations`,
graphile-migrate's `graphile_migrate.migrations`, drizzle's `drizzle.__drizzle_migrations`,
postgres-migrations' `migrations`, or the table `sql-migrations-history-table` names), each file named by the
version its runner records for it, looked for where the runner, connected as dbsafe is,
keeps it (several in the session's current schema: `History.placement`; elsewhere where the
runner's own settings say: `_as_told`). Read by `dbsafe drift`, `dbsafe status` and `dbsafe
lint FOLDER --database-url` for a folder of SQL migrations, the same way, and by `backup`
and `restore` for where the database is (`runner_position`).
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbsafe.core import ConfigError, DbsafeError, Finding, Location, RuleInfo, Severity

if TYPE_CHECKING:
    import psycopg

    from dbsafe.extract.flyway import FlywayConfig, FlywayNames
    from dbsafe.extract.migration import Migration, RefineryAborts
    from dbsafe.extract.sqitch import SqitchProject


@dataclass(frozen=True, slots=True)
class History:
    """A runner's history table: where it is, and the versions it says are applied."""

    runner: str
    # (schema, name), as the catalog spells them; a name alone is looked for on the
    # search_path (river's). Kept apart: a schema's or table's name may hold a dot.
    relation: tuple[str, ...]
    query: str  # the applied versions, as text; `{table}` where the table's name goes
    # The columns that tell the runner's table from the others': a table named in
    # `sql-migrations-history-table` is the runner's whose columns it has, the most of them.
    columns: frozenset[str] = frozenset()
    own_schema: str | None = None  # a schema holding only the runner's registry (Sqitch's)
    # Where the runner keeps it without being told (`relation` is then its name alone):
    # "current_schema", in the session's current schema (golang-migrate's `current_schema()`,
    # or a name made unqualified), or "search_path", the first schema of the search path that
    # has it (goose reads its table unqualified); both as the session's role, its
    # search_path and the URL's `options=-csearch_path=...` put it. Read as (schema, name).
    placement: str | None = None
    # Once placed: the session's current schema, where its runner made the files' unqualified
    # names (goose's table may be further on the search path).
    session_schema: str | None = None

    @property
    def table(self) -> str:
        """The table's name as shown: `schema.name`."""
        return ".".join(self.relation)

    @property
    def schema(self) -> str | None:
        """The table's schema; None for a name looked for on the search_path."""
        return self.relation[0] if len(self.relation) == 2 else None

    @property
    def quoted(self) -> str:
        """The table's name as SQL writes it (a renamed table may need its quotes)."""
        from psycopg import sql

        return sql.Identifier(*self.relation).as_string(None)

    def select(self, query: str) -> str:
        """`query` (its `query` or `failed_query`) on this history's table."""
        return query.format(table=self.quoted)

    @property
    def names(self) -> tuple[str, ...]:
        """The table's name, and its runner's own when it is renamed: a reference built
        from the folder has the runner's table under its own name (`RUNNER_HISTORY`). None
        for a registry in a schema of its own (Sqitch's): the schema is left out whole, and
        a `changes` table elsewhere is the application's."""
        if self.own_schema is not None:
            return ()
        own = next(h.relation for h in _HISTORIES if h.runner == self.runner)
        return tuple(dict.fromkeys((self.relation[-1], own[-1])))
    # The versions its runner says failed half-way (then what the database holds is no
    # version of the folder, and the runner itself refuses to go on), and how to resolve it.
    failed_query: str | None = None
    resolve: str = ""
    # Flyway's baseline row (`baseline`, `baselineOnMigrate`, or a baseline migration's):
    # the version the database was at when Flyway first ran there. It never runs the files
    # up to it ("Below Baseline", "Baseline" in `flyway info`): what they make was there
    # already.
    baseline_query: str | None = None
    baseline: str | None = None
    # Whether that row is a baseline migration's (`SQL_BASELINE`: `B2__x.sql` run on an
    # empty database): the baseline file of its version is the one the database was built
    # from (Flyway matches a file to a row by version and type, not by its name).
    baseline_ran: bool = False
    # sqlx's row of a migration that failed half-way (`success = false`): its migrate stops
    # before it runs anything until the row is removed (`MigrateError::Dirty`: `refusal`).
    dirty_query: str | None = None
    dirty: str | None = None
    # Flyway's rows of migrations that failed (`success = false`: on PostgreSQL one it ran
    # outside a transaction, which it records failed where it cannot roll it back), in their
    # installed order: (version, None for a repeatable one; description). Its migrate
    # refuses to run anything until `flyway repair` removes them (`refusal`).
    failed_runs_query: str | None = None
    failed_runs: tuple[tuple[str | None, str], ...] = ()
    # The versions in the order they ran, for a runner that compares them with its files'
    # order before it runs anything (node-pg-migrate's checkOrder: `refusal`).
    run_order: tuple[str, ...] = ()
    # The checksum its runner recorded of each applied file, by its version as `file_version`
    # names it; None where none counts (a failed run, a Java migration). Flyway's repeatable
    # migrations (`R:<description>`): its latest run's, which Flyway runs again when the
    # file's differs (`edited_again`); Flyway's versioned ones, sqlx's (hex) and prisma's:
    # what it checks an applied file against, if it does (`edited_applied`).
    checksum_query: str | None = None
    checksums: tuple[tuple[str, int | str | None], ...] = ()
    # refinery's: the name each applied version's row has, as its words show it
    # (`V3__users`, `DivergentVersion`); drizzle-orm 1.0's: its migration folder's name.
    run_names_query: str | None = None
    run_names: tuple[tuple[str, str], ...] = ()
    # The applied versions (`query`) read with a column an older table of the runner's name
    # may lack (Flyway's `type`: its DELETE rows and the rows they mark deleted left out),
    # where the table has it.
    typed_query: str | None = None
    # What named the table, where its runner's own settings (or dbsafe's) put it elsewhere
    # than its default: `GOOSE_TABLE`, `.env's DBMATE_MIGRATIONS_TABLE`, `flyway.toml`,
    # `sqitch.conf's [target "prod"] registry`. (None for one dbsafe's
    # `sql-migrations-history-table` names: the user said it.)
    told_by: str | None = None

    @property
    def shown(self) -> str:
        """The runner and its table as dbsafe says them: `goose's public.app_versions (named
        by GOOSE_TABLE)`."""
        told = f" (named by {self.told_by})" if self.told_by else ""
        return f"{self.runner}'s {self.table}{told}"


_NUMBER = re.compile(r"(\d+)_")
# refinery's file names (refinery_core's `STEM_RE` and `.sql`; its `[U|V]` class as written).
_REFINERY_NAME = re.compile(r"([U|V])(\d+(?:\.\d+)?)__(\w+)\.sql")

# A row `h` of Flyway's history that no DELETE row marks deleted, as its
# `MigrationInfoServiceImpl` (7.0 to 10) reads them in installed order: a successful DELETE
# row (`flyway repair`'s, for a migration whose file is gone) marks the latest row before it
# of its version (of its description, for a repeatable one) that is no synthetic one (SCHEMA,
# BASELINE, DELETE: `markAsDeleted`, `markRepeatableAsDeleted`), which is then DELETED:
# neither applied nor failed, and never validated. (A DELETE row written for a failed row
# is itself not successful, and marks nothing: `delete` copies the row's `success`.)
_FLYWAY_NOT_DELETED = (
    "(h.type IN ('SCHEMA', 'BASELINE', 'DELETE') OR NOT EXISTS (SELECT FROM {table} AS d "
    "WHERE d.type = 'DELETE' AND d.success AND d.installed_rank > h.installed_rank AND "
    "(d.version = h.version OR d.version IS NULL AND h.version IS NULL AND d.description = "
    "h.description) AND NOT EXISTS (SELECT FROM {table} AS n WHERE n.type NOT IN ('SCHEMA', "
    "'BASELINE', 'DELETE') AND n.installed_rank > h.installed_rank AND n.installed_rank < "
    "d.installed_rank AND (n.version = h.version OR n.version IS NULL AND h.version IS NULL "
    "AND n.description = h.description))))")

# Tried in order; the first table the database has is its runner's. golang-migrate's
# schema_migrations has a `dirty` column, dbmate's does not. Where each keeps it untold:
# golang-migrate's postgres driver in `SELECT CURRENT_SCHEMA()` (its `x-migrations-table`
# names only the table); dbmate in its URL's first `search_path`, else `select
# current_schema()` (a URL dbsafe's libpq reads has none); sqlx (`CREATE TABLE IF NOT
# EXISTS _sqlx_migrations`), diesel (`... __diesel_schema_migrations`) and sql-migrate
# (gorp, no `SetSchema`) make it unqualified, so in the current schema, and read it there;
# goose's CLI reads `goose_db_version` unqualified (the first schema of the search path
# that has it) and makes it there when it has none. prisma's is in the schema its URL's
# `?schema=` names ("set to `public` by default", quaint's PostgreSQL connector; the
# search_path's first schema, multiSchema too: prisma/orm#16565), which dbsafe connects
# with as the search_path (`to_libpq_url`): the session's current schema, else `public`.
_PRISMA = History(
    "prisma", ("_prisma_migrations",),
    "SELECT migration_name FROM {table} WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL",
    frozenset({"migration_name", "finished_at", "rolled_back_at"}),
    # A row neither finished nor rolled back: the migration failed (or is running);
    # `prisma migrate deploy` refuses to run anything until it is resolved (P3009).
    failed_query="SELECT migration_name FROM {table} "
                 "WHERE finished_at IS NULL AND rolled_back_at IS NULL ORDER BY started_at",
    resolve="`prisma migrate resolve --rolled-back` (or `--applied`) it first",
    checksum_query="SELECT migration_name, checksum FROM {table} "
                   "WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL",
    placement="current_schema")
_HISTORIES = (
    History("supabase", ("supabase_migrations", "schema_migrations"),
            "SELECT version::text FROM {table}", frozenset({"version", "statements"})),
    _PRISMA,
    dataclasses.replace(_PRISMA, relation=("public", "_prisma_migrations"), placement=None),
    # Flyway's: a row per versioned migration (its version), per run of a repeatable one
    # (no version: `R:<description>`, as `file_version` names the file), and its markers
    # (`<< Flyway Schema Creation >>`, no version; `<< Flyway Baseline >>`).
    History("flyway", ("public", "flyway_schema_history"),
            "SELECT coalesce(version, 'R:' || description) FROM {table} WHERE success "
            "AND (version IS NOT NULL OR description NOT LIKE '<< %')",
            frozenset({"installed_rank", "version", "script", "type", "success"}),
            # (neither a DELETE row nor the one it marks deleted applies a version: Flyway
            # runs the file again, `getPendingResolvedVersionedMigrations`)
            typed_query="SELECT coalesce(version, 'R:' || description) FROM {table} AS h "
                        "WHERE success AND (version IS NOT NULL OR description NOT LIKE '<< %') "
                        f"AND type <> 'DELETE' AND {_FLYWAY_NOT_DELETED}",
            # (a baseline migration's row, `B1__x.sql` run on an empty database, is one
            # too: `isBaseline()` of its SQL_BASELINE, JDBC_BASELINE type)
            # Of several, Flyway's `appliedBaseline` is the one of the highest version (the
            # first of them in installed order), failed or not
            # (`MigrationInfoServiceImpl.getAppliedVersionedMigrations`): `_flyway_baseline`.
            baseline_query="SELECT version, type = 'SQL_BASELINE' "
                           "FROM {table} WHERE type IN ('BASELINE', "
                           "'SQL_BASELINE', 'JDBC_BASELINE') "
                           "AND version IS NOT NULL ORDER BY installed_rank",
            # (a repair's DELETE row and the schema marker are never failed migrations, nor
            # is a failed row a DELETE row marks deleted: its state is DELETED)
            failed_runs_query="SELECT version, description FROM {table} AS h WHERE NOT success "
                              "AND type NOT IN ('DELETE', 'SCHEMA') AND "
                              f"{_FLYWAY_NOT_DELETED} ORDER BY installed_rank",
            # (the latest row of each description, as `getLatestRepeatableRuns` takes it;
            # of each version the latest, a `DELETE` marking it deleted: no checksum)
            checksum_query="(SELECT DISTINCT ON (description) 'R:' || description, CASE WHEN "
                           "success AND type <> 'DELETE' THEN checksum END FROM {table} "
                           "WHERE version IS NULL AND description NOT LIKE '<< %' "
                           "ORDER BY description, installed_rank DESC) UNION ALL "
                           "(SELECT DISTINCT ON (version) version, CASE WHEN success AND "
                           "type = 'SQL' THEN checksum END FROM {table} WHERE version IS NOT "
                           "NULL ORDER BY version, installed_rank DESC)"),
    History("goose", ("goose_db_version",),
            "SELECT version_id::text FROM (SELECT DISTINCT ON (version_id) version_id, "
            "is_applied FROM {table} ORDER BY version_id, id DESC) AS latest "
            "WHERE is_applied AND version_id > 0", frozenset({"id", "version_id", "is_applied"}),
            placement="search_path"),
    History("sqlx", ("_sqlx_migrations",),
            "SELECT version::text FROM {table} WHERE success",
            frozenset({"version", "success", "checksum", "execution_time"}),
            checksum_query="SELECT version::text, encode(checksum, 'hex') FROM {table} "
                           "WHERE success",
            # (as sqlx-postgres' `dirty_version`, which its migrate reads first)
            dirty_query="SELECT version::text FROM {table} WHERE success = false "
                        "ORDER BY version LIMIT 1",
            placement="current_schema"),
    # refinery's (refinery_core's `ASSERT_MIGRATIONS_TABLE_QUERY`: version int4, or int8 with
    # its `int8-versions`, name, applied_on and checksum varchar(255)): a row per applied
    # migration, inserted in the migration's own transaction (none failed half-way), made
    # unqualified, so in the session's current schema. Its checksum is the decimal of a
    # SipHash-1-3 (`refinery_checksum`); its name the file's (`V3__users.sql`: `users`).
    History("refinery", ("refinery_schema_history",),
            "SELECT version::text FROM {table}",
            frozenset({"version", "name", "applied_on", "checksum"}),
            checksum_query="SELECT version::text, checksum FROM {table}",
            run_names_query="SELECT version::text, name FROM {table} ORDER BY version",
            placement="current_schema"),
    History("diesel", ("__diesel_schema_migrations",),
            "SELECT version FROM {table}", frozenset({"version", "run_on"}),
            placement="current_schema"),
    History("golang-migrate", ("schema_migrations",),
            "SELECT version::text FROM {table} WHERE dirty IS NOT NULL",
            frozenset({"version", "dirty"}),
            failed_query="SELECT version::text FROM {table} WHERE dirty",
            resolve="its `dirty` flag says so: fix it and `migrate force` the version first",
            placement="current_schema"),
    History("dbmate", ("schema_migrations",),
            "SELECT version::text FROM {table}", frozenset({"version"}),
            placement="current_schema"),
    # sql-migrate's (rubenv/sql-migrate, gorp): a row per applied file, named by its file
    # name (`migrate.SetSchema`/`SetTable` put it elsewhere: `sql-migrations-history-table`).
    History("sql-migrate", ("gorp_migrations",),
            "SELECT id FROM {table}", frozenset({"id", "applied_at"}),
            placement="current_schema"),
    # yoyo-migrations': a row per applied migration, by its id (the file name without its
    # extension); made, with its log, version and lock tables, where the session's search_path
    # puts them (`?schema=` sets it), so looked for there. The folder's build makes all four.
    History("yoyo", ("_yoyo_migration",), "SELECT migration_id FROM {table}",
            frozenset({"migration_hash", "migration_id", "applied_at_utc"})),
    # node-pg-migrate's: a row per applied migration, by its file name without its
    # extension; in `public` (its `getMigrationTableSchema`: the first of its `schema`
    # option's schemas, `public` without), the files run in the session's own search_path.
    # `--migrations-schema`, `--migrations-table` or `--schema` put it elsewhere:
    # `sql-migrations-history-table`.
    History("node-pg-migrate", ("public", "pgmigrations"),
            "SELECT name FROM {table} ORDER BY run_on, id",  # as its getRunMigrations
            frozenset({"id", "name", "run_on"})),
    # graphile-migrate's: a row per committed migration it ran, by its file name in
    # `committed/` (the current migration is never recorded: `migrate` does not run it); in
    # its own schema, which holds its `current` table too.
    History("graphile-migrate", ("graphile_migrate", "migrations"),
            "SELECT filename FROM {table}",
            frozenset({"hash", "previous_hash", "filename", "date"}),
            own_schema="graphile_migrate"),
    # drizzle-orm's `migrate()`: a row per journal entry it ran, its `created_at` the entry's
    # `when` (its hash column is the file's sha256, never compared by it: it runs every entry
    # whose `when` is past the last row's, so every entry up to that one counts as run; an
    # applied file whose hash is no longer its row's was edited since: `edited_applied`).
    # drizzle-orm 1.0 (drizzle-kit 1.0's folders) adds the migration folder's `name` and
    # runs every migration whose name no row has (`run_names`: `_drizzle_1_names`); on a
    # table 0.x made it first names each row, by its second, else by its hash (`checksums`,
    # in the order of the ids).
    # `migrationsSchema` / `migrationsTable` put it elsewhere: `sql-migrations-history-table`.
    History("drizzle", ("drizzle", "__drizzle_migrations"),
            "SELECT created_at::text FROM {table} WHERE created_at IS NOT NULL",
            frozenset({"id", "hash", "created_at"}),
            checksum_query="SELECT coalesce(created_at::text, ''), hash FROM {table} "
                           "ORDER BY id",
            run_names_query="SELECT coalesce(created_at::text, ''), name FROM {table} "
                            "WHERE name IS NOT NULL"),
    # postgres-migrations' (npm; its `0_create-migrations-table.sql`): a row per file it ran,
    # by its id, with the sha1 of the file's name and text (`loadMigrationFile`), which it
    # compares before it runs anything (`refusal`); id 0 is its own first migration, the one
    # that makes the table (no file of the folder). Made and read unqualified (`CREATE TABLE
    # IF NOT EXISTS migrations`, `SELECT * FROM migrations`): found on the search path. The
    # query names its `hash`: another tool's `migrations` (TypeORM's, Laravel's) has none.
    History("postgres-migrations", ("migrations",),
            "SELECT id::text FROM {table} WHERE id <> 0 AND hash IS NOT NULL",
            frozenset({"id", "name", "hash", "executed_at"}),
            checksum_query="SELECT id::text, hash FROM {table} WHERE id <> 0",
            placement="search_path"),
    # river's, last: an application migrated by another runner often has river's table too
    # (river's CLI migrates river's own tables). A row per applied version of each migration
    # line (`line`, since its version 005; every row of an older table is `main`'s, as
    # rivermigrate's `existingMigrations` reads it); the table unqualified, found on the
    # search_path as river finds it without a configured schema. Read as `line:version`.
    History("river", ("river_migration",), "SELECT line || ':' || version FROM {table}",
            frozenset({"line", "version", "created_at"})),
    History("river", ("river_migration",), "SELECT 'main:' || version FROM {table}",
            frozenset({"version", "created_at"})),
)

# Sqitch's registry's `changes` table, whatever its schema is named.
_SQITCH_COLUMNS = frozenset({"change_id", "project", "change", "committed_at"})


def _sqitch_registry(name: str, told_by: str | None = None) -> History:
    """Sqitch's registry `name` (the schema `sqitch` makes, `sqitch` unless its settings
    say otherwise): a row per deployed change, a reworked one once per plan line deployed;
    read as `project:change#n` (`_numbered`)."""
    return History("sqitch", (name, "changes"),
                   "SELECT project || ':' || change FROM {table} ORDER BY committed_at",
                   _SQITCH_COLUMNS, own_schema=name, told_by=told_by)


@dataclass(frozen=True, slots=True)
class Lookup:
    """Where to look for a runner's history: what `sql-migrations-history-table` names
    (`table`, then nothing else is looked for), else each runner's table where its own
    settings keep it (`_histories`): the Flyway configuration and the Sqitch project the
    migrations (`paths`) lie in (`sqitch_target`'s registry), goose's and dbmate's variables
    in the environment or in the `.env` of `root`, the folder they run from."""

    table: str | None = None
    paths: tuple[Path, ...] = ()
    sqitch_target: str | None = None
    root: Path | None = None


def _histories(paths: Sequence[Path], sqitch_target: str | None,
               root: Path | None = None) -> tuple[History, ...]:
    """The history tables to look for, in order: the Sqitch registry the project `paths`
    lie in names for `sqitch_target` (Sqitch's default registry where they lie in none),
    then the others, each where its runner's own settings keep it (`_as_told`)."""
    project = _sqitch_project(paths, sqitch_target)
    registry = _sqitch_registry(project.registry, _sqitch_registry_told(project)) \
        if project is not None else _sqitch_registry("sqitch")
    return (registry, *(_as_told(h, paths, root) for h in _HISTORIES))


def _sqitch_registry_told(project: SqitchProject) -> str | None:
    """Where the registry of `project` is named, as Sqitch's `Target.registry` looks: its
    target's `registry`, its engine's, core's; None where none is (`sqitch`)."""
    from dbsafe.extract.sqitch import SQITCH_CONF

    for scope in (f"target.{project.target}", f"engine.{project.engine or 'pg'}", "core"):
        if project.config.get(f"{scope}.registry"):
            section, _, sub = scope.partition(".")
            header = f'[{section} "{sub}"]' if sub else f"[{section}]"
            return f"{SQITCH_CONF}'s {header} registry"
    return None


# The variable goose's and dbmate's command lines read their table's name from (goose's
# `-table` flag, dbmate's `--migrations-table`, win over it: dbsafe does not see a command
# line). Each loads `.env` from the folder it runs in first, without overriding a variable
# the environment has (godotenv's `Load`: goose's `-env` and dbmate's `--env-file` name
# another file; not seen either).
_TABLE_VARIABLES = {"goose": "GOOSE_TABLE", "dbmate": "DBMATE_MIGRATIONS_TABLE"}


def _as_told(history: History, paths: Sequence[Path], root: Path | None) -> History:
    """`history` where its runner's own settings keep it: Flyway's configuration of the
    first of `paths` (`_flyway_history`), goose's `GOOSE_TABLE` (cmd/goose: a name as goose
    writes it into its SQL, `schema.table` cut at the first dot, which its `TableExists`
    looks for as spelled in pg_tables), dbmate's `DBMATE_MIGRATIONS_TABLE` (cut at its
    first dot too, each part quoted as it is: `quote_ident`; untold, the schema is the
    session's current one, as for its own name)."""
    if history.runner == "flyway":
        return _flyway_history(history, paths)
    variable = _TABLE_VARIABLES.get(history.runner)
    if variable is None:
        return history
    found = _runner_variable(variable, root)
    if found is None:
        return history
    value, told_by = found
    schema, dot, name = value.partition(".")
    relation = (schema, name) if dot and schema and name else (value,)
    return dataclasses.replace(history, relation=relation, told_by=told_by,
                               placement=history.placement if len(relation) == 1 else None)


def _runner_variable(name: str, root: Path | None) -> tuple[str, str] | None:
    """The value of a runner's environment variable `name`, and where it was found: the
    environment, else the `.env` of `root` (the last line setting it, as godotenv reads
    it); None where neither sets it (an empty value is none: goose's `envOr`, dbmate's
    flag default)."""
    import os

    value = os.environ.get(name, "").strip()
    if value:
        return value, name
    if root is None:
        return None
    from dbsafe.extract.dotenv import env_entries

    found = [v for k, v in env_entries(root / ".env") if k == name]
    return (found[-1].strip(), f".env's {name}") if found and found[-1].strip() else None


def _flyway_history(history: History, paths: Sequence[Path]) -> History:
    """Flyway's history where the Flyway configuration of the first of `paths` keeps it
    (`dbsafe.extract.flyway`): its `table`, in its `defaultSchema` (else the first of its
    `schemas`; `public` without); told by its `FLYWAY_*` variables where they set them (they
    win over its files), else by its files."""
    from dbsafe.extract.flyway import flyway_config

    first = next(iter(paths), None)
    if first is None:
        return history
    config = flyway_config(first if first.is_dir() else first.parent)
    relation = (config.schema or history.relation[0], config.table)
    if relation == history.relation:
        return history
    variables = [k for k, _ in config.environ
                 if k.removeprefix("SPRING_") in ("FLYWAY_TABLE", "FLYWAY_DEFAULT_SCHEMA",
                                                  "FLYWAY_SCHEMAS")]
    files = [f.name if f.parent.name != "conf" else f"conf/{f.name}"
             for f in (*config.files, *config.spring, *config.build)]
    return dataclasses.replace(history, relation=relation,
                               told_by=", ".join(variables or files) or None)


def _sqitch_project(paths: Iterable[Path], target: str | None = None) -> SqitchProject | None:
    """The Sqitch project the first of `paths` (migration folders or files) lies in, if
    any, read for `target` (`sqitch-target`; its default target's without).

    Raises:
        ConfigError: its sqitch.conf has no such target, or the target's plan or scripts
            are not its default target's (dbsafe reads those).
    """
    from dbsafe.extract.sqitch import project_of, sqitch_project

    first = next(iter(paths), None)
    project = project_of(first) if first is not None else None
    if project is None or target is None:
        return project
    targeted = sqitch_project(project.folder, target)
    if targeted is None or (targeted.plan, targeted.deploy_files) != \
            (project.plan, project.deploy_files):
        from dbsafe.pg.urls import redact_any

        raise ConfigError(redact_any(  # a target may be a URI with its password
            f"sqitch-target {target}: its plan or deploy scripts are not those of "
            f"{project.folder / 'sqitch.conf'}'s default target, which dbsafe reads; make it "
            "the default target (`[core] target`) for dbsafe, or give both the same"))
    return targeted


def _rows_if_columns(conn: psycopg.Connection, history: History, query: str,
                     otherwise: Sequence[Any] = ()) -> list[Any]:
    """The rows of `query` on `history`'s table; `otherwise` where the table lacks a column
    it reads (a table of the same name made by an older version of its runner, or by hand)."""
    import psycopg

    try:
        with conn.transaction():
            return conn.execute(history.select(query)).fetchall()
    except psycopg.errors.UndefinedColumn:
        return list(otherwise)


def applied_versions(database_url: str, paths: Sequence[Path] = (), table: str | None = None,
                     *, sqitch_target: str | None = None, root: Path | None = None,
                     ) -> tuple[History, set[str]] | None:
    """The database's runner history and the versions it holds; None when it has none of
    the history tables dbsafe reads.

    Args:
        database_url: the database.
        paths: the migrations' folders or files; where they lie in a Sqitch project, its
            sqitch.conf names the registry to read.
        table: the history table, when its runner keeps it under another name than its
            own, or in another schema (`sql-migrations-history-table`: golang-migrate's
            `x-migrations-table`, goose's `-table`, sql-migrate's `SetSchema`/`SetTable`,
            Flyway's `table` and `schemas`, river's `Schema`), as SQL names it; its runner
            is told by its columns.
        sqitch_target: the Sqitch target whose registry to read (`sqitch-target`), else
            the project's default target's.
        root: the folder goose and dbmate run from, whose `.env` may name their table.

    Raises:
        DbsafeError: the history says a migration failed half-way (golang-migrate's dirty
            flag, a prisma row neither finished nor rolled back), or `table` is not in the
            database or is no runner's history.
        ConfigError: no such Sqitch target.
    """
    from dbsafe.pg.connect import connect

    with connect(database_url) as conn:
        histories = _histories(paths, sqitch_target, root) if table is None \
            else (_named(conn, table),)
        for history, rows in _present(conn, histories):
            if history.typed_query is not None:
                rows = _rows_if_columns(conn, history, history.typed_query, rows)
            failed = [str(r[0]) for r in conn.execute(
                history.select(history.failed_query)).fetchall()] if history.failed_query else []
            if failed:
                resolve = _golang_migrate_force(failed[0], paths) \
                    if history.runner == "golang-migrate" and len(failed) == 1 else None
                raise DbsafeError(
                    f"the database's {history.table} says {', '.join(failed[:5])} failed "
                    "half-way there (or is running), so what it holds is no version of the "
                    f"folder; {resolve or history.resolve}")
            if history.baseline_query is not None:
                # (a table without Flyway's `type`: no baseline known)
                baseline = _flyway_baseline(
                    _rows_if_columns(conn, history, history.baseline_query))
                if baseline is not None:
                    history = dataclasses.replace(history, baseline=str(baseline[0]),
                                                  baseline_ran=bool(baseline[1]))
            if history.failed_runs_query is not None:
                runs = _rows_if_columns(conn, history, history.failed_runs_query)
                history = dataclasses.replace(history, failed_runs=tuple(
                    (None if r[0] is None else str(r[0]), str(r[1])) for r in runs))
            if history.dirty_query is not None:
                dirty = conn.execute(history.select(history.dirty_query)).fetchone()
                if dirty is not None:
                    history = dataclasses.replace(history, dirty=str(dirty[0]))
            if history.checksum_query is not None:
                # (a table without its runner's `checksum`: nothing known)
                sums = _rows_if_columns(conn, history, history.checksum_query)
                history = dataclasses.replace(history, checksums=tuple(
                    (str(r[0]), r[1]) for r in sums))
            if history.run_names_query is not None:
                named = _rows_if_columns(conn, history, history.run_names_query)
                history = dataclasses.replace(history, run_names=tuple(
                    (str(r[0]), str(r[1])) for r in named))
            if history.runner == "sqitch":
                return history, set(_numbered(str(r[0]) for r in rows))
            if history.runner == "node-pg-migrate":
                history = dataclasses.replace(history, run_order=tuple(str(r[0]) for r in rows))
            return history, {str(r[0]) for r in rows}
    return None


def _golang_migrate_force(version: str, paths: Sequence[Path]) -> str | None:
    """Which version to `migrate force` a golang-migrate history left dirty at `version`, and
    how that is told (`_golang_migrate_left`); None when no up file of `paths` has that
    version (then the generic advice stands)."""
    left = _golang_migrate_left(version, paths)
    if left is None:
        return None
    file, before, why, unreadable = left
    if unreadable:
        return (f"its `dirty` flag says so, and {file.name} cannot be read ({why}): "
                f"`migrate force {version}` once you finished it by hand, or `migrate force "
                f"{before}` once you undid it")
    if why is not None:
        return (f"its `dirty` flag says so, and {file.name} {why}, so what of it stayed cannot "
                f"be told from the file: `migrate force {version}` once you finished it by "
                f"hand, or `migrate force {before}` once you undid it")
    return (f"its `dirty` flag says so: {file.name} rolled back whole, so the database is at "
            f"{before}; `migrate force {before}`, then fix what failed and `migrate up` again "
            "(told by the file: no statement of it controls the transaction or runs outside "
            "one, and golang-migrate sends a file as one query, which PostgreSQL runs as one "
            "transaction, unless the URL sets x-multi-statement)")


def _golang_migrate_left(version: str, paths: Sequence[Path]
                         ) -> tuple[Path, int, str | None, bool] | None:
    """What a golang-migrate run left dirty at `version` left: its up file among `paths`, the
    version before it (-1, golang-migrate's none, before the first), why what of it stayed
    cannot be told from it (None: it rolled back whole), and whether that is because it
    cannot be read; None when no up file has that version. golang-migrate's postgres driver
    sends a file whole as one query, which PostgreSQL runs as one transaction: a file with
    no statement of its own controlling the transaction (BEGIN, COMMIT, ...) and none that
    runs outside one (CREATE INDEX CONCURRENTLY, ...) rolled back whole, leaving the
    database at the file before it. Else what it left is the DBA's to find."""
    from dbsafe.extract.migration import outside_transaction
    from dbsafe.extract.sqlfile import split_sql
    from dbsafe.pg.parse import sole_statement

    files: dict[int, Path] = {}
    for path in paths:
        for file in sorted(path.glob("*.up.sql")) if path.is_dir() else [path]:
            found = file_version(file, "golang-migrate") if file.name.endswith(".up.sql") \
                else None
            if found is not None:
                files.setdefault(int(found), file)
    if not version.lstrip("-").isdigit() or int(version) not in files:
        return None
    file = files[int(version)]
    before = max((v for v in files if v < int(version)), default=-1)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return file, before, str(exc), True
    for fragment in split_sql(text, file.name):
        node = sole_statement(fragment.sql)
        if node is None:
            return file, before, (f"holds a statement at line {fragment.line} dbsafe cannot "
                                  "parse"), False
        if type(node).__name__ == "TransactionStmt":
            return file, before, (f"controls its own transaction "
                                  f"(`{fragment.sql.split()[0].upper()}` at line "
                                  f"{fragment.line})"), False
        if outside_transaction(fragment.sql):
            return file, before, (f"runs a statement outside any transaction (line "
                                  f"{fragment.line}: `{' '.join(fragment.sql.split()[:4])} "
                                  "...`)"), False
    return file, before, None, False


def _mend(history: History, failed: str, paths: Sequence[Path]) -> str:
    """The command that lets `history`'s runner go on past its run `failed` left half-way
    (the runners that keep such a state, and refuse to migrate until it is mended), for
    `backup`, `restore` and `backups` to say beside it. golang-migrate's `migrate force`
    (the version from the file, `_golang_migrate_left`), Flyway's `flyway repair` (it
    removes failed rows), sqlx's DELETE of the row (`sqlx migrate` has no command for it),
    prisma's `migrate resolve`. goose, dbmate and Sqitch record a migration only once it
    ran (in its transaction, or after it: goose's `runIndividually`, dbmate's
    `execMigration`; Sqitch's `deploy_change` logs a `fail` event and reverts what that
    deploy ran): no state to mend."""
    if history.runner == "golang-migrate":
        left = _golang_migrate_left(failed, paths)
        if left is None:
            return ("`migrate force` the version the database is at (the one before it if "
                    "its file rolled back whole)")
        file, before, why, unreadable = left
        if why is None:
            return f"`migrate force {before}` mends it: {file.name} rolled back whole"
        return (f"`migrate force {failed}` once finished by hand, or `migrate force {before}` "
                f"once undone: {file.name} "
                + (f"cannot be read ({why})" if unreadable else why))
    if history.runner == "flyway":
        return "`flyway repair` removes the failed row once what it did is undone or finished"
    if history.runner == "sqlx":
        return (f"`DELETE FROM {history.quoted} WHERE version = {failed}` once what it did is "
                "undone or finished")
    if history.runner == "prisma":
        return f"`prisma migrate resolve --rolled-back {failed}` (or `--applied`)"
    return ""


def recorded_as_run(history: History, migration: Migration,
                    before: Sequence[Migration] = ()) -> str:
    """How `history`'s runner is told `migration` ran without running it (what alembic's
    `stamp` does), for a file a DBA ran by hand whose history row was never written, with
    the pending files `before` it (run by hand too): the runner's own command where it has
    one (golang-migrate's `migrate force`, prisma's `migrate resolve --applied`, supabase's
    `migration repair`, Sqitch's `deploy --log-only`), else the rows it would have written,
    where a row holds nothing dbsafe would have to compute (dbmate's, goose's,
    sql-migrate's); else said in words.

    golang-migrate keeps one row, its version (`force` truncates the table and writes
    `(N, false)`: every file up to N counts as run) and Sqitch deploys up to a change: the
    last one says all. A runner keeping a row per migration gets one for each: dbmate runs
    any file with no row at its next migrate, goose refuses one missing below its latest
    row, prisma and supabase take each name or version.

    >>> from dbsafe.extract.migration import Migration
    >>> h = History("goose", ("public", "goose_db_version"), "")
    >>> recorded_as_run(h, Migration("db/3_x.sql", (), file=Path("db/00003_x.sql")))
    '`INSERT INTO public.goose_db_version (version_id, is_applied) VALUES (3, true)`'
    >>> recorded_as_run(h, Migration("db/3_x.sql", (), file=Path("db/00003_x.sql")),
    ...                 [Migration("db/2_x.sql", (), file=Path("db/00002_x.sql"))])
    '`INSERT INTO public.goose_db_version (version_id, is_applied) VALUES (2, true), (3, true)`'
    >>> recorded_as_run(History("golang-migrate", ("schema_migrations",), ""),
    ...                 Migration("db/3_x.up.sql", (), file=Path("db/3_x.up.sql")))
    '`migrate force 3` (every file up to it counts as run)'
    """
    runs = [*before, migration]
    versions = [file_version(m.file, history.runner) if m.file is not None else None
                for m in runs]
    names = [m.file.name if m.file is not None else m.path for m in runs]
    table = _sql_name(*history.relation)
    version = versions[-1]
    if all(v is not None for v in versions):
        if history.runner == "golang-migrate":
            return f"`migrate force {version}` (every file up to it counts as run)"
        if history.runner == "supabase":
            return f"`supabase migration repair --status applied {' '.join(map(str, versions))}`"
        if history.runner == "dbmate":
            rows = ", ".join(f"('{v}')" for v in versions)
            return f"`INSERT INTO {table} (version) VALUES {rows}`"
        if history.runner == "goose":
            rows = ", ".join(f"({v}, true)" for v in versions)
            return f"`INSERT INTO {table} (version_id, is_applied) VALUES {rows}`"
    if history.runner == "prisma" and all(m.file is not None for m in runs):
        return " then ".join(f"`prisma migrate resolve --applied {m.file.parent.name}`"
                             for m in runs if m.file is not None)
    if history.runner == "sql-migrate":
        rows = ", ".join(f"('{n}', now())" for n in names)
        return f"`INSERT INTO {table} (id, applied_at) VALUES {rows}`"
    if history.runner == "sqitch" and migration.file is not None:
        return f"`sqitch deploy --log-only --to {migration.file.stem}`"
    return (f"a row in {history.table} recording {', '.join(names)} as {history.runner} "
            "records a run")


@dataclass(frozen=True, slots=True)
class Position:
    """Where a runner's history says a database is, without its folder: what a backup, a
    restore and their listings say of a database that has no alembic_version."""

    runner: str
    table: str  # as shown: `schema.name`
    version: str  # its latest version ("" for a history that holds none)
    applied: int  # how many versions it holds
    failed: bool = False  # the latest failed half-way (golang-migrate's dirty flag, sqlx's)
    told_by: str = ""  # the runner's own setting that named the table (`History.told_by`)
    mend: str = ""  # the command that mends a failed run (`_mend`)

    def words(self) -> str:
        """The position as `backup`, `restore` and `backups` say it.

        >>> Position("golang-migrate", "public.schema_migrations", "49", 49, True).words()
        "49, failed half-way (golang-migrate's public.schema_migrations)"
        >>> Position("dbmate", "public.schema_migrations", "", 0).words()
        "none applied (dbmate's public.schema_migrations)"
        >>> Position("goose", "app.versions", "3", 3, told_by="GOOSE_TABLE").words()
        "3 (goose's app.versions, named by GOOSE_TABLE)"
        >>> Position("flyway", "public.flyway_schema_history", "2", 2, True,
        ...          mend="`flyway repair` removes the failed row").words()
        "2, failed half-way (flyway's public.flyway_schema_history): `flyway repair` removes the failed row"
        """
        at = self.version or "none applied"
        told = f", named by {self.told_by}" if self.told_by else ""
        mend = f": {self.mend}" if self.failed and self.mend else ""
        return (f"{at}{', failed half-way' if self.failed else ''} "
                f"({self.runner}'s {self.table}{told}){mend}")

    def as_dict(self) -> dict[str, object]:
        return {"runner": self.runner, "table": self.table, "version": self.version,
                "applied": self.applied, "failed": self.failed,
                **({"told_by": self.told_by} if self.told_by else {}),
                **({"mend": self.mend} if self.mend else {})}


def runner_position(conn: psycopg.Connection, lookup: Lookup | None = None
                    ) -> Position | None:
    """The latest version the database's runner history holds (`applied_versions`' tables,
    where their runners' own settings keep them, or `lookup.table`), read on `conn`, never
    refused: a history left dirty is what a DBA backs up before mending it (`_mend` names
    how). None without one.

    The latest: the last one run for a runner that keeps their order (Sqitch,
    node-pg-migrate), the one a failed run left (golang-migrate's dirty row, sqlx's failed
    one, Flyway's first failed row), else the greatest, digits compared as numbers
    (`_version_key`: Flyway's 1.10 after 1.9, golang-migrate's single row, timestamps).

    Raises:
        ConfigError: no such Sqitch target, or a runner's configuration cannot be read.
    """
    lookup = lookup or Lookup()
    histories = _histories(lookup.paths, lookup.sqitch_target, lookup.root) \
        if lookup.table is None else (_named(conn, lookup.table),)
    for history, found in _present(conn, histories):
        rows = [str(r[0]) for r in found]
        failed = history.failed_query or history.dirty_query or history.failed_runs_query
        # (Flyway's failed rows: a repeatable one's version is none, `R:<description>`)
        stopped = [str(r[0]) if r[0] is not None else f"R:{r[1]}"
                   for r in _rows_if_columns(conn, history, failed)] if failed else []
        ordered = history.runner in ("sqitch", "node-pg-migrate")
        versioned = [v for v in rows if not v.startswith("R:")] or rows  # (Flyway's repeatables)
        latest = stopped[0] if stopped else (versioned[-1] if ordered else max(
            versioned, key=_version_key)) if versioned else ""
        return Position(history.runner, history.table, latest,
                        len(set(rows) | set(stopped)), bool(stopped), history.told_by or "",
                        _mend(history, stopped[0], lookup.paths) if stopped else "")
    return None


def _present(conn: psycopg.Connection, histories: Iterable[History]
             ) -> Iterator[tuple[History, list[tuple[Any, ...]]]]:
    """Each of `histories` the database holds (placed in the schema its runner keeps it in),
    with the rows of its versions query; a table of that name with another runner's columns
    is not it."""
    import psycopg

    for unplaced in histories:
        history = _placed(conn, unplaced)
        if history is None or conn.execute(
                "SELECT to_regclass(%s)", (history.quoted,)).fetchone() in (None, (None,)):
            continue
        try:
            with conn.transaction():
                rows = conn.execute(history.select(history.query)).fetchall()
        except psycopg.errors.UndefinedColumn:
            continue  # the same table name, another runner's columns
        yield history, rows


def _version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Digits compared as numbers, the rest as text.

    >>> sorted(["1.10", "1.9", "2"], key=_version_key)
    ['1.9', '1.10', '2']
    """
    return tuple((0, int(part)) if part.isdigit() else (1, part)
                 for part in re.findall(r"\d+|\D+", version))


def _flyway_baseline(rows: Sequence[Any]) -> Any | None:
    """Of Flyway's baseline rows (version, whether a baseline migration's), in installed
    order, the one it takes for the database's baseline: of the highest version, the first
    of equal ones (`isNewerThan`: as `FlywayNames.version_key` compares them); one whose
    version Flyway would not have written is left out.

    >>> _flyway_baseline([("3", True), ("2", True), ("3.0", False)])
    ('3', True)
    """
    from dbsafe.extract.flyway import FlywayNames

    best = None
    for row in rows:
        if _FLYWAY_VERSION.fullmatch(str(row[0])) and (best is None or FlywayNames.version_key(
                str(row[0])) > FlywayNames.version_key(str(best[0]))):
            best = row
    return best


def _placed(conn: psycopg.Connection, history: History) -> History | None:
    """`history` at the (schema, name) where its runner, connected as `conn` is, keeps it
    (its `placement`); None where it has none (no schema of the search path exists: the
    runner could make its table nowhere). A history named where it is, as it is."""
    if history.placement is None:
        return history
    row = conn.execute("SELECT current_schema()").fetchone()
    current = row[0] if row else None
    if history.placement == "search_path":
        row = conn.execute(
            "SELECT n.nspname FROM pg_class AS c JOIN pg_namespace AS n "
            "ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%s)",
            (history.quoted,)).fetchone()
    if row is None or row[0] is None or current is None:
        return None
    return dataclasses.replace(history, relation=(row[0], history.relation[-1]),
                               session_schema=current)


def unread_histories(database_url: str) -> str:
    """What to tell a user whose database has no history table where dbsafe looks: the
    tables that are a runner's history by their name and columns in another schema (river's
    or Flyway's in the schema they were told to use), as `sql-migrations-history-table`
    would name them; "" when there are none."""
    from urllib.parse import quote

    from dbsafe.pg.connect import connect

    names = sorted({h.relation[-1] for h in _HISTORIES})
    with connect(database_url) as conn:
        rows = conn.execute(
            "SELECT n.nspname, c.relname, array_agg(a.attname::text) FROM pg_class AS c "
            "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
            "JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 "
            "AND NOT a.attisdropped WHERE c.relkind IN ('r', 'p') AND c.relname = ANY(%s) "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "GROUP BY 1, 2 ORDER BY 1, 2", (names,)).fetchall()
        row = conn.execute("SELECT current_schema()").fetchone()
    current = row[0] if row else None
    found, placed = [], []
    for schema, name, columns in rows:
        history = next((h for h in _HISTORIES
                        if h.relation[-1] == name and h.columns <= set(columns)), None)
        if history is not None:
            found.append(f"{_sql_name(schema, name)} ({history.runner}'s)")
            if history.placement is not None and schema != current:
                placed.append((history.runner, schema))
    if not found:
        return ""
    hint = (f"{' and '.join(found)} "
            f"{'is a history table' if len(found) == 1 else 'are history tables'} in another "
            "schema: name the one to read in `sql-migrations-history-table`")
    if placed and placed[0][0] == "prisma":
        hint += (f"; prisma keeps it in the schema its URL's `?schema=` names: give dbsafe "
                 f"prisma's DATABASE_URL as it is (`?schema={quote(placed[0][1], safe='')}`)")
    elif placed:
        runner, schema = placed[0]
        # Its migrations ran there too: the setting alone would build them in `current`.
        hint += (f"; {runner} keeps it in its session's current schema (this connection's is "
                 f"{_sql_name(current) if current else 'none'}): where it ran with "
                 f"{_sql_name(schema)} first on its search path, connect dbsafe so too (the "
                 f"runner's role, or `options=-csearch_path%3D{schema}` in the URL)")
    return hint


def _sql_name(*parts: str) -> str:
    """A dotted name as SQL writes it: each part quoted where PostgreSQL would fold it.

    >>> _sql_name("river", "river_migration"), _sql_name("Jobs.v2", "river_migration")
    ('river.river_migration', '"Jobs.v2".river_migration')
    """
    from psycopg import sql

    return ".".join(part if re.fullmatch(r"[a-z_][a-z0-9_$]*", part)
                    else sql.Identifier(part).as_string(None) for part in parts)


def _named(conn: psycopg.Connection, table: str) -> History:
    """The history of the runner whose table `table` (as written in the setting, resolved
    on the search path when unqualified) is: the one whose telling columns it has, the
    most of them (a Flyway table also has sqlx's; every runner's but sql-migrate's and
    prisma's has a `version`)."""
    found = conn.execute(
        "SELECT c.oid, n.nspname, c.relname FROM pg_class AS c JOIN pg_namespace AS n "
        "ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%s)", (table,)).fetchone()
    if found is None:
        raise DbsafeError(f"the history table {table} (sql-migrations-history-table) is not "
                          "in the database; name it as `schema.table`")
    oid, schema, name = found
    columns = {r[0] for r in conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s AND attnum > 0 "
        "AND NOT attisdropped", (oid,)).fetchall()}
    fitting = [h for h in (_sqitch_registry(schema), *_HISTORIES) if h.columns <= columns]
    if not fitting:
        raise DbsafeError(f"the table {table} (sql-migrations-history-table) is no history "
                          "table of a runner dbsafe reads (golang-migrate, dbmate, goose, "
                          "Flyway, sqlx, refinery, diesel, supabase, prisma, Sqitch, river, "
                          "sql-migrate, yoyo, node-pg-migrate, graphile-migrate, drizzle, "
                          "postgres-migrations)")
    best = max(fitting, key=lambda h: len(h.columns))
    # Named where it is: golang-migrate's `x-migrations-table` (goose's `-table`, ...) puts
    # only the table there, the runner still runs the files in its session's schema.
    current = conn.execute("SELECT current_schema()").fetchone() \
        if best.placement is not None else None
    return dataclasses.replace(best, relation=(schema, name), placement=None,
                               session_schema=current[0] if current else None)


def _sqitch_keys(migrations: list[Migration]) -> dict[str, str]:
    """The registry key (`project:change#n`) of each of a Sqitch project's deploy scripts,
    by its migration's path: the change its plan line names, numbered by its lines."""
    project = _sqitch_project(m.file for m in migrations if m.file is not None)
    if project is None:
        return {}
    keys = dict(zip((f.resolve() for f in project.deploy_files),
                    _numbered(f"{project.name}:{change}" for change in project.changes),
                    strict=True))
    return {m.path: keys[m.file.resolve()] for m in migrations
            if m.file is not None and m.file.resolve() in keys}


def _river_line(migrations: Sequence[Migration], lines: set[str]) -> str:
    """The river migration line a folder's files are: river keeps each line's in
    `migration/<line>/` (rivermigrate `migrationsFromFS`), so the folder's name where it
    lies in a `migration` folder or river_migration holds rows of a line so named; else
    `main`, the line river migrates unless told another.

    >>> from dbsafe.extract.migration import Migration
    >>> files = [Migration("x", (), file=Path("river/migration/workflow/001_a.up.sql"))]
    >>> _river_line(files, {"main"}), _river_line(files[:0], {"main"})
    ('workflow', 'main')
    """
    folder = next((m.file.parent for m in migrations if m.file is not None), None)
    if folder is not None and (folder.parent.name == "migration" or folder.name in lines):
        return folder.name
    return "main"


def _numbered(names: Iterable[str]) -> list[str]:
    """Each name with its occurrence, `name#1`, `name#2`: a change reworked in a plan is
    deployed once per line, so both its plan lines and its registry rows are told apart so.

    >>> _numbered(["p:a", "p:b", "p:a"])
    ['p:a#1', 'p:b#1', 'p:a#2']
    """
    seen: Counter[str] = Counter()
    out = []
    for name in names:
        seen[name] += 1
        out.append(f"{name}#{seen[name]}")
    return out


def file_version(path: Path, runner: str, flyway: FlywayNames | None = None) -> str | None:
    """The version `runner` records for the migration file `path` (Flyway's named as
    `flyway` says, its own names without).

    >>> file_version(Path("0007_users.up.sql"), "golang-migrate")
    '7'
    >>> file_version(Path("V1_2__users.sql"), "flyway"), file_version(Path("R__user_names.sql"), "flyway")
    ('1.2', 'R:user names')
    >>> file_version(Path("2024-01-02-030405_users/up.sql"), "diesel")
    '20240102030405'
    >>> file_version(Path("2024-01-02-030405-000a_users/up.sql"), "diesel")
    '20240102030405000a'
    >>> file_version(Path("1677078479.sql"), "sql-migrate")
    '1677078479.sql'
    """
    if runner == "prisma":
        return path.parent.name
    if runner == "sql-migrate":
        return path.name  # its migration's Id
    if runner in ("yoyo", "node-pg-migrate"):
        return path.name.rpartition(".")[0]  # its migration's id, its name
    if runner == "graphile-migrate":
        return path.name if path.parent.name == "committed" else None
    if runner == "postgres-migrations":
        from dbsafe.extract.migration import postgres_migrations_id

        found_id = postgres_migrations_id(path.name)  # its leading integer, `0001-x.sql` 1
        return None if found_id is None else str(found_id)
    if runner == "drizzle":
        if path.name == "migration.sql":  # drizzle-kit 1.0's `<timestamp>_<name>/`
            from dbsafe.extract.migration import drizzle_1_millis

            millis = drizzle_1_millis(path.parent.name)
            return None if millis is None else str(millis)
        return _drizzle_whens(path.parent).get(path.name)
    if runner == "dbmate":
        # Its version is the name's leading digits (`migrationFileRegexp`, `^(\d+).*\.sql$`:
        # `20240105-tags.sql` is 20240105), kept as text; a file without them it skips.
        from dbsafe.extract.migration import dbmate_version

        return dbmate_version(path.name)
    if runner == "diesel":
        # migrations_internals' `version_from_string`: the name up to its first `_`, its
        # dashes left out (`diesel migration generate`'s `2024-01-02-030405-000a` is
        # `20240102030405000a`: its sub-second counter is hexadecimal)
        return path.parent.name.partition("_")[0].replace("-", "") or None
    if runner == "refinery":
        # Its version, as its int4 (int8) column holds it: `V0003__x.sql` is 3; one of a
        # dotted version (`V1.2__x.sql`) it cannot parse (`InvalidVersion`).
        found = _REFINERY_NAME.fullmatch(path.name)
        return str(int(found.group(2))) if found is not None and found.group(2).isascii() \
            and found.group(2).isdigit() \
            else None
    if runner == "flyway":
        from dbsafe.extract.flyway import FlywayNames

        parsed = (flyway or FlywayNames()).parse(path.name)
        if parsed is not None and parsed[0] == "R":
            return f"R:{parsed[2]}"  # its history's row has its description, no version
        return parsed[1] if parsed is not None and parsed[0] in ("V", "B") else None
    found = _NUMBER.match(path.name)
    if found is None:
        return None
    # Stored as numbers (golang-migrate, goose, sqlx, river): 0007 is 7.
    return str(int(found.group(1))) if runner in ("golang-migrate", "goose", "sqlx", "river") \
        else found.group(1)


def _drizzle_1(path: Path) -> bool:
    """Whether `path`, a file of a drizzle folder, is drizzle-kit 1.0's
    (`<timestamp>_<name>/migration.sql`; 0.x's are `<tag>.sql` beside a journal)."""
    return path.name == "migration.sql"


def _drizzle_1_names(folder: Path, history: History) -> list[tuple[str, str]]:
    """The name of the migration of drizzle-kit 1.0's `folder` each row of `history` stands
    for, with the row's `created_at` (as `versions` holds it): drizzle-orm 1.0 takes a
    migration as run when a row has its folder's name (`getMigrationsToRun`), whatever its
    timestamp. A table 0.x made has no names yet: 1.0 first names each row, in the order of
    the ids (its `up-migrations/pg.ts`, version 0 to 1), after the migration whose timestamp
    is the row's `created_at` to the second; where several share that second, after the
    one of them whose sha256 is the row's `hash`; where none has it, after the migration
    of the folder of that hash. A row it cannot name is left out."""
    if history.run_names:
        return list(history.run_names)
    from dbsafe.extract.migration import drizzle_1_millis

    local: list[tuple[int, str, frozenset[str]]] = []  # (millis, name, its hashes)
    for file in folder.glob("*/migration.sql"):
        millis = drizzle_1_millis(file.parent.name)
        try:
            data = file.read_bytes()
        except OSError:
            continue
        if millis is not None:
            local.append((millis, file.parent.name, frozenset(drizzle_hashes(data))))
    local.sort(key=lambda m: (m[0], m[1]))
    by_second: dict[int, list[tuple[int, str, frozenset[str]]]] = {}
    by_hash: dict[str, str] = {}
    for migration in local:
        by_second.setdefault(migration[0] // 1000, []).append(migration)
        by_hash.update(dict.fromkeys(migration[2], migration[1]))  # (the last one's)
    names = []
    for created, hash_ in history.checksums:
        candidates = by_second.get(int(created) // 1000, []) if created.isdigit() else []
        if len(candidates) == 1:
            found: str | None = candidates[0][1]
        elif candidates:  # (several of that second: the first of them of its hash)
            found = next((m[1] for m in candidates if hash_ in m[2]), None)
        else:
            found = by_hash.get(hash_) if isinstance(hash_, str) else None
        if found is not None:
            names.append((created, found))
    return names


def drizzle_hashes(data: bytes) -> tuple[str, ...]:
    """The `hash` drizzle-orm's `migrate()` records of a migration file of `data`
    (`readMigrationFiles`): the sha256, in hex, of its text as Node reads it
    (`readFileSync(path).toString()`: a byte order mark kept, bytes that are not UTF-8 each
    U+FFFD), and of that text with its CRLF line ends turned to LF, as its later releases
    hash it (0.x and 1.0 alike): either is its.

    >>> [h[:12] for h in drizzle_hashes(b"CREATE TABLE users (id int);\\r\\n")]
    ['557d7ebdf1f4', '537129faaa4b']
    """
    import hashlib

    text = data.decode("utf-8", "replace")
    return tuple(dict.fromkeys(hashlib.sha256(t.encode("utf-8")).hexdigest()
                               for t in (text, text.replace("\r\n", "\n"))))


_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def _drizzle_recorded(migrations: Sequence[Migration], history: History
                      ) -> dict[str, tuple[str, list[str]]]:
    """The hashes drizzle-orm recorded of each of `migrations` that a row of `history`
    stands for, by its path, with the row's `created_at` (the version it shows): a journal
    entry's rows are those of its `when`, a drizzle-kit 1.0 migration's those named after
    it (`_drizzle_1_names`; of several migrations of one second, the rows of each, so an
    edit that makes a file its sibling's is unseen). Only a sha256 counts: a row inserted
    by hand (to adopt drizzle on an older database) may hold anything."""
    by_created: dict[str, list[str]] = {}
    for created, hash_ in history.checksums:
        if isinstance(hash_, str) and _SHA256_HEX.fullmatch(hash_):
            by_created.setdefault(created, []).append(hash_)
    named = _versions_of(list(migrations), history, set())
    ran_names = _drizzle_1_ran_names(migrations, history)
    out: dict[str, tuple[str, list[str]]] = {}
    for m in migrations:
        if m.file is None:
            continue
        createds = sorted(ran_names.get((m.file.parent.parent, m.file.parent.name), ())) \
            if _drizzle_1(m.file) else [v] if (v := named.get(m.path)) is not None else []
        sums = [h for c in createds for h in by_created.get(c, [])]
        if sums:
            out[m.path] = (createds[-1], sums)
    return out


def _drizzle_1_ran_names(migrations: Sequence[Migration], history: History
                         ) -> dict[tuple[Path, str], set[str]]:
    """The migrations of drizzle-kit 1.0's folders among `migrations` that rows of `history`
    name (`_drizzle_1_names`), as (folder, name), each with the `created_at` of its rows."""
    folders = {m.file.parent.parent for m in migrations
               if m.file is not None and _drizzle_1(m.file)}
    ran: dict[tuple[Path, str], set[str]] = {}
    for folder in folders:
        for created, name in _drizzle_1_names(folder, history):
            ran.setdefault((folder, name), set()).add(created)
    return ran


def _drizzle_whens(folder: Path) -> dict[str, str]:
    """The `when` of each file drizzle-kit's journal in `folder` lists (`<tag>.sql`), as
    text: what drizzle-orm's `migrate()` records as its row's `created_at`."""
    import json

    from dbsafe.extract.migration import DRIZZLE_JOURNAL

    try:
        entries = json.loads((folder / DRIZZLE_JOURNAL).read_text(encoding="utf-8-sig"))[
            "entries"]
        return {f"{e['tag']}.sql": str(int(e["when"])) for e in entries}
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        return {}


def in_runner_order(migrations: list[Migration], history: History) -> list[Migration]:
    """`migrations` in the order `history`'s runner runs them, where the folder alone did
    not tell it: node-pg-migrate's files, read from a folder given on its command line
    (`-m db/migrations`) rather than its `migrations` beside the `package.json`, in its
    order (`node_pg_migrate_key`: a seventeen-digit name as the moment it spells)."""
    if history.runner != "node-pg-migrate" or any(m.file is None for m in migrations):
        return migrations
    from dbsafe.extract.migration import node_pg_migrate_key

    return sorted(migrations, key=lambda m: node_pg_migrate_key(m.file.name)
                  if m.file is not None else ())


def applied_migrations(migrations: list[Migration], history: History, versions: set[str],
                       folder: str) -> list[Migration]:
    """The migrations of `folder` (as shown; in their runner's order) that `history`'s
    `versions` say ran.

    Raises:
        DbsafeError: a version no file of the folder has (another branch, a deleted file).
    """
    named = _versions_of(migrations, history, versions)
    known = {v for v in named.values() if v is not None}
    if history.runner in ("sqitch", "river"):
        # One registry serves every Sqitch project of the database, one river_migration
        # every migration line: this plan's, this line's rows only.
        projects = {v.partition(":")[0] for v in known}
        versions = {v for v in versions if v.partition(":")[0] in projects}
    if history.runner == "drizzle":
        # (a row drizzle-orm 1.0 names after a migration of drizzle-kit 1.0's folder is that
        # migration's, whatever its `created_at`: 0.x's `when`, to the millisecond)
        known |= {created for rows in _drizzle_1_ran_names(migrations, history).values()
                  for created in rows}
    # (a baseline names the database's version, not a file: baselineVersion 1 untold)
    unknown = sorted(versions - known - ({history.baseline} if history.baseline else set()))
    if history.runner in _CODE_LANGUAGE and (code := _unread_code(migrations, history,
                                                                  unknown)):
        raise DbsafeError(
            f"the database's {history.table} says {history.runner} applied "
            f"{', '.join(code[:5])}: {_CODE_LANGUAGE[history.runner]} "
            "migrations, which dbsafe does not run, so what the database should hold is not "
            "known; compare it with the whole folder with `dbsafe diff DATABASE_URL "
            "migrations` and judge their changes yourself")
    if history.runner == "flyway":
        # Flyway's rows no file resolves are its validation's to pass or refuse (`refusal`,
        # `flyway_unresolved`), and a baseline migration it ignores resolves its own
        unknown = [v for v in unknown if not v.startswith("R:")
                   and not _FLYWAY_VERSION.fullmatch(v)]
    if unknown:
        raise DbsafeError(f"the database's {history.table} holds version(s) "
                          f"{', '.join(unknown[:5])} that {folder} has no file for (another "
                          "branch, or a deleted file)")
    ran = ran_among(migrations, history, versions)
    if ran and any(m.callback for m in migrations):
        # Flyway's migrate callbacks (afterMigrate's grants, a refresh) ran at every migrate,
        # never recorded: the database holds what they did last, after its files.
        return [m for m in migrations if m.callback or m in ran]
    return ran


def edited_again(migrations: Sequence[Migration], history: History) -> list[Migration]:
    """Flyway's repeatable migrations of `migrations` edited since their latest run: their
    file's checksum is not the one `history` recorded (nor that of the file with its
    placeholders filled in), so Flyway runs them again at its next migrate
    (`getPendingResolvedRepeatableMigrations`; `Outdated` in `flyway info`). Only those
    `flyway_edited` can tell: a file whose placeholders Flyway fills in is left alone."""
    if history.runner != "flyway" or not history.checksums:
        return []
    from dbsafe.extract.flyway import flyway_edited

    config = _flyway_settings(migrations)
    recorded = dict(history.checksums)
    named = _versions_of(list(migrations), history, set())
    return [m for m in migrations if m.file is not None and config is not None
            and (v := named.get(m.path)) is not None and v.startswith("R:")
            and isinstance(checksum := recorded.get(v), int)
            and flyway_edited(m.file, config, checksum,
                              m.checksum if isinstance(m.checksum, int) else None) is True]


@dataclass(frozen=True, slots=True)
class Edited:
    """An applied migration whose file is no longer the one its runner ran: its checksum,
    as its runner computes it, is not the one it recorded (each as the runner shows it)."""

    migration: Migration
    version: str  # as its runner records it
    recorded: str
    now: str


def edited_applied(migrations: Sequence[Migration], history: History) -> list[Edited]:
    """The applied migrations of `migrations` (those `history` holds a checksum of) whose file
    was edited since: Flyway's versioned ones (`ChecksumCalculator` over the file as it is:
    Flyway fills in no placeholder before it checksums a versioned migration), sqlx's (the
    SHA-384 of the file, `sqlx.toml`'s `ignored-chars` left out) and prisma's (the sha256 of
    `migration.sql`, as its line endings may be turned: `script_matches_checksum`),
    refinery's, postgres-migrations' (`postgres_migrations_hash`) and drizzle's (the sha256
    of the file's text, `drizzle_hashes`: its `migrate()` never compares it, but the row
    says what ran). Only where dbsafe
    computes what the runner does: none for Flyway files read in another `encoding` than
    UTF-8, nor for a file whose bytes are not UTF-8 (its runner cannot read it; but
    postgres-migrations, which reads it as Node does)."""
    if history.runner not in ("flyway", "sqlx", "prisma", "refinery", "postgres-migrations",
                              "drizzle") or not history.checksums:
        return []
    if history.runner == "drizzle":
        return _drizzle_edited(migrations, history)
    recorded: dict[str, list[int | str]] = {}
    for key, value in history.checksums:
        if value is not None:
            recorded.setdefault(key, []).append(value)
    named = _versions_of(list(migrations), history, set())
    config = _flyway_settings(migrations) if history.runner == "flyway" else None
    ignored = _sqlx_ignored_chars(migrations) if history.runner == "sqlx" else ""
    out = []
    for m in migrations:
        version = named.get(m.path)
        sums = recorded.get(version) if version is not None else None
        if m.file is None or version is None or not sums or (
                history.runner == "flyway" and not _above_baseline(version, history)):
            continue
        if (history.runner == "flyway" and m.flyway) or (
                history.runner == "sqlx" and isinstance(m.checksum, str) and not ignored):
            # (its checksum taken from the bytes read for its statements: no second read)
            usable = m.checksum is not None and (
                history.runner == "sqlx" or (config is not None and config.utf8))
            if usable and str(m.checksum) not in {str(s) for s in sums}:
                out.append(Edited(m, version, str(sums[-1]), str(m.checksum)))
            continue
        try:
            data = m.file.read_bytes()
        except OSError:
            continue
        if history.runner in _EDITED_BY_NAME:  # (the file's name is in its checksum)
            now = _EDITED_BY_NAME[history.runner](m.file.name, data, [str(s) for s in sums])
            if now is not None:
                out.append(Edited(m, version, str(sums[-1]), now))
            continue
        now = _runner_checksum(history.runner, data, config, ignored, [str(s) for s in sums])
        if now is not None:
            out.append(Edited(m, version, str(sums[-1]), now))
    return out


def _drizzle_edited(migrations: Sequence[Migration], history: History) -> list[Edited]:
    """drizzle's applied migrations whose file's hash (`drizzle_hashes`) is none its rows
    recorded of it (`_drizzle_recorded`)."""
    recorded = _drizzle_recorded(migrations, history)
    out = []
    for m in migrations:
        if m.file is None or (found := recorded.get(m.path)) is None:
            continue
        try:
            now = drizzle_hashes(m.file.read_bytes())
        except OSError:
            continue
        if not set(now) & set(found[1]):
            out.append(Edited(m, found[0], found[1][-1], now[0]))
    return out


def _above_baseline(version: str, history: History) -> bool:
    """Whether Flyway's `version` is one it validates: past the database's baseline (its
    `appliedBaseline`: those up to it it leaves alone), not a repeatable migration's."""
    if not _FLYWAY_VERSION.fullmatch(version):
        return False
    if history.baseline is None or not _FLYWAY_VERSION.fullmatch(history.baseline):
        return True
    from dbsafe.extract.flyway import FlywayNames

    return FlywayNames.version_key(version) > FlywayNames.version_key(history.baseline)


def _runner_checksum(runner: str, data: bytes, config: FlywayConfig | None, ignored: str,
                     recorded: list[str]) -> str | None:
    """The checksum `runner` computes of a file of `data`, as it shows it, where it is none of
    the `recorded` ones; None where it is one of them, or is not known."""
    import hashlib

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if runner == "flyway":
        from dbsafe.extract.flyway import flyway_checksum

        if config is None or not config.utf8:
            return None
        value = flyway_checksum(data)
        return None if value is None or str(value) in recorded else str(value)
    if runner == "sqlx":
        sums = [hashlib.sha384(data).hexdigest()]
        if ignored:  # (sqlx before its sqlx.toml hashes every character)
            sums.append(hashlib.sha384("".join(
                c for c in text if c not in ignored).encode("utf-8")).hexdigest())
        return None if any(x in recorded for x in sums) else sums[-1]
    return None if any(prisma_checksum_matches(data, r) for r in recorded) \
        else hashlib.sha256(data).hexdigest()


def _refinery_edited(name: str, data: bytes, recorded: list[str]) -> str | None:
    """refinery's checksum of its migration file `name` of `data`, as its row shows it,
    where it is none of the `recorded` ones (of either width of its version: int4, or int8
    with its `int8-versions`); None where it is one, or the file is none refinery reads."""
    found = _REFINERY_NAME.fullmatch(name)
    try:
        text = data.decode("utf-8")  # (its include_str! and read_to_string take no other)
    except UnicodeDecodeError:
        return None
    if found is None or not (found.group(2).isascii() and found.group(2).isdigit()):
        return None
    version = int(found.group(2))
    sums = [str(refinery_checksum(found.group(3), version, text, width))
            for width in (4, 8) if version < 1 << (8 * width - 1)]
    return None if not sums or any(x in recorded for x in sums) else sums[0]


def postgres_migrations_hash(name: str, data: bytes) -> str:
    """The hash postgres-migrations records of its SQL migration file `name` of `data`
    (`loadMigrationFile`): the sha1, in hex, of the file's name then its text, as Node reads
    it (`readFile(path, "utf8")`: a byte order mark kept, bytes that are not UTF-8 each
    U+FFFD, as Python's "replace" makes them). The value below is the one
    postgres-migrations 5.3.0 recorded.

    >>> postgres_migrations_hash("1_create-users.sql",
    ...     b"CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL);\\n")
    'b08dcd16c050baa397a553edd903e4602f3560ee'
    """
    import hashlib

    text = data.decode("utf-8", errors="replace")
    return hashlib.sha1((name + text).encode("utf-8"), usedforsecurity=False).hexdigest()


def _postgres_migrations_edited(name: str, data: bytes, recorded: list[str]) -> str | None:
    """postgres-migrations' hash of its file `name` of `data` where it is none of the
    `recorded` ones; None where it is one."""
    now = postgres_migrations_hash(name, data)
    return None if now in recorded else now


# The runners whose checksum of a file covers its name: each one's `(name, data, recorded)`
# -> its checksum, where it is none of the recorded ones.
_EDITED_BY_NAME = {"refinery": _refinery_edited,
                   "postgres-migrations": _postgres_migrations_edited}


def refinery_checksum(name: str, version: int, sql: str, width: int = 4) -> int:
    """The checksum refinery records of a migration (`Migration::unapplied`): SipHash-1-3 with
    zero keys (siphasher's `SipHasher13::new()`, which Rust's `DefaultHasher` was) over its
    `name` (the file's after `V3__`), its `version` (an i32, `width` 4; an i64 with
    `int8-versions`) and its SQL, each as Rust's `Hash` feeds them: a str's UTF-8 then 0xff,
    an integer's little-endian bytes. The value below is Rust's `DefaultHasher` of the same.

    >>> refinery_checksum("users", 1, "CREATE TABLE users (id int);\\n")
    10915038114215788890
    """
    data = (name.encode("utf-8") + b"\xff" + version.to_bytes(width, "little", signed=True)
            + sql.encode("utf-8") + b"\xff")
    return _siphash13(data)


def _siphash13(data: bytes) -> int:
    """SipHash-1-3 of `data` with the key 0 (one compression round, three finalization)."""
    mask = (1 << 64) - 1

    def rotl(x: int, b: int) -> int:
        return ((x << b) | (x >> (64 - b))) & mask

    v0, v1, v2, v3 = 0x736F6D6570736575, 0x646F72616E646F6D, 0x6C7967656E657261, \
        0x7465646279746573

    def rounds(n: int) -> None:
        nonlocal v0, v1, v2, v3
        for _ in range(n):
            v0 = (v0 + v1) & mask
            v1 = rotl(v1, 13) ^ v0
            v0 = rotl(v0, 32)
            v2 = (v2 + v3) & mask
            v3 = rotl(v3, 16) ^ v2
            v0 = (v0 + v3) & mask
            v3 = rotl(v3, 21) ^ v0
            v2 = (v2 + v1) & mask
            v1 = rotl(v1, 17) ^ v2
            v2 = rotl(v2, 32)

    tail = len(data) - len(data) % 8
    for i in range(0, tail, 8):
        m = int.from_bytes(data[i:i + 8], "little")
        v3 ^= m
        rounds(1)
        v0 ^= m
    m = ((len(data) & 0xFF) << 56) | int.from_bytes(data[tail:], "little")
    v3 ^= m
    rounds(1)
    v0 ^= m
    v2 ^= 0xFF
    rounds(3)
    return v0 ^ v1 ^ v2 ^ v3


def prisma_checksum_matches(data: bytes, recorded: str) -> bool:
    """Whether prisma takes the `migration.sql` of `data` for the one whose checksum it
    `recorded` (its schema engine's `script_matches_checksum`): the sha256 of the file, or of
    it with its CRLF line endings turned to LF, or its LF to CRLF; in hex, each byte of two
    digits, or (a checksum not 64 long, recorded by an older engine) without its leading
    zero. The values below are those prisma 6.19.3's `migrate deploy` recorded.

    >>> prisma_checksum_matches(b"CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL);\\n",
    ...     "a67484aafc88045af07586fa799b482b1477da918eb666b65a9df9ac94b3c504")
    True
    >>> bom_crlf = b"\\xef\\xbb\\xbfALTER TABLE users ADD COLUMN c int;\\r\\nALTER TABLE users ADD COLUMN d int;\\r\\n"
    >>> sum_crlf = "36fcd3f1295980323fd369041d2be01618c2db1c2ee126dd7dcd67f7f1a06ccd"
    >>> prisma_checksum_matches(bom_crlf, sum_crlf), prisma_checksum_matches(bom_crlf.replace(b"\\r", b""), sum_crlf)
    (True, True)
    >>> prisma_checksum_matches(bom_crlf[3:], sum_crlf)
    False
    """
    import hashlib

    for script in (data, data.replace(b"\r\n", b"\n"), data.replace(b"\n", b"\r\n")):
        digest = hashlib.sha256(script).digest()
        shown = "".join(f"{b:x}" for b in digest) if recorded and len(recorded) != 64 \
            else digest.hex()
        if shown == recorded:
            return True
    return False


def _sqlx_ignored_chars(migrations: Sequence[Migration]) -> str:
    """The characters sqlx leaves out of its checksums (`[migrate] ignored-chars` of the
    `sqlx.toml` of the crate whose `migrations` the files are, since sqlx 0.9)."""
    import tomllib

    first = next((m.file for m in migrations if m.file is not None), None)
    if first is None:
        return ""
    try:
        data = tomllib.loads((first.parent.parent / "sqlx.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return ""
    chars = data.get("migrate", {}).get("ignored-chars") if isinstance(
        data.get("migrate"), dict) else None
    return "".join(c for c in chars if isinstance(c, str)) if isinstance(chars, list) else ""


def pending_among(migrations: Sequence[Migration], applied: Sequence[Migration],
                  runner: str | None, never: Sequence[Migration] = (),
                  again: Sequence[Migration] = ()) -> list[Migration]:
    """Those of `migrations` not `applied` that `runner` runs when it next migrates: not
    graphile-migrate's current migration (`current.sql`, `current/`), which `graphile-migrate
    migrate` never runs and never records (`watch` runs it on a development database; its
    `status` tells "not committed" apart from "pending"), nor a file of a dbmate folder
    whose name does not start with its version (`seed.sql`), which dbmate skips, nor
    Flyway's callbacks (`afterMigrate.sql`: no migration, run at every migrate), nor those
    it will `never` run (`never_run`); those it runs `again` are (`edited_again`)."""
    ran = ({m.path for m in applied} - {m.path for m in again}) | {m.path for m in never}
    return [m for m in migrations if m.path not in ran and m.callback is None and not (
        runner in ("graphile-migrate", "dbmate") and m.file is not None
        and file_version(m.file, runner) is None)]


def never_run(migrations: Sequence[Migration], history: History, versions: set[str]
              ) -> list[Migration]:
    """The migrations `history`'s runner will never run on the database, though they did not
    run there. drizzle-orm's `migrate()` runs a journal entry only when its `when` is past
    the last row's `created_at` (`order by created_at desc limit 1`, then `<`), and records
    a row for each entry it runs: an entry with no row of its own whose `when` lies between
    two rows' (a branch merged after a later entry ran) never runs, and `drizzle-kit migrate`
    says nothing of it. One older than every row may be what a row inserted by hand to adopt
    drizzle on a database stands for: taken as run. Flyway skips a version below the last
    one applied (`IGNORED`) when its configuration lets validation pass it
    (`validateOnMigrate=false`, or `ignoreMigrationPatterns` `*:ignored`) and does not run
    it out of order (`_flyway_ignored`). refinery, told not to abort for a missing version
    (`set_abort_missing(false)`), skips a versioned file at or below the last version
    applied that never ran, each time it migrates, and logs it ("found migration on file
    system ... not applied")."""
    if history.runner == "flyway":
        config = _flyway_settings(migrations)
        if config is None or config.out_of_order or (
                config.validate_on_migrate and not config.ignores_ignored):
            return []  # run when it next migrates, or refused (`refusal`)
        return _flyway_ignored(migrations, history, versions)
    if history.runner == "refinery":
        # refinery told not to abort for them (`set_abort_missing(false)`) skips them
        return [] if _refinery_aborts(migrations).missing else [
            m for m, _, _ in _refinery_below_last(migrations, versions)]
    if history.runner != "drizzle" or not versions:
        return []
    whens = [int(v) for v in versions]
    first, last = min(whens), max(whens)
    named = _versions_of(list(migrations), history, versions)
    # (drizzle-orm 1.0 runs every migration of drizzle-kit 1.0's folder no row names)
    return [m for m in migrations if (v := named.get(m.path)) is not None
            and m.file is not None and not _drizzle_1(m.file)
            and v not in versions and first < int(v) < last]


@dataclass(frozen=True, slots=True)
class Unresolved:
    """An applied row of Flyway's history no file of the folder resolves."""

    version: str  # as `versions` holds it (a repeatable one's `R:description`)
    shown: str  # as Flyway names it: its version, a repeatable one's description
    state: str  # Flyway's: "missing" (below the latest file's version, or repeatable), "future"
    passed: bool  # whether Flyway's validation passes it (or does not validate)

    def __str__(self) -> str:
        """As status, drift and lint list one Flyway passes: `1.1 (missing)`."""
        return f"{self.shown} ({self.state})"


def flyway_unresolved(migrations: Sequence[Migration], history: History, versions: set[str]
                      ) -> list[Unresolved]:
    """The successful rows of Flyway's history (`versions`: no failed or deleted one, nor
    its baseline) that no file of `migrations` resolves, by their state in Flyway's words
    (`BaseAppliedMigration.getMissingState`): a versioned one below the latest file's version
    is `Missing`, at or past it `Future`, a repeatable one `Missing`. Flyway's validation
    passes one its `ignoreMigrationPatterns` names (`*:missing`, Flyway 7's and 8's
    `ignoreMissingMigrations`; `*:future`, its default; `MigrationInfoImpl.validate`), and
    every one with `validateOnMigrate=false`; it refuses the others ("Detected applied
    migration not resolved locally", `refusal`). `migrations`: the folder's, its baseline
    migrations (`B5__x.sql`) among them, whether or not Flyway runs them (`flyway_runs`): it
    resolves them all, so the latest file's version (its `lastResolved`) may be one of theirs,
    and a baseline migration's row is resolved by its file (by version and type)."""
    if history.runner != "flyway" or not versions:
        return []
    from dbsafe.extract.flyway import FlywayNames

    config = _flyway_settings(migrations)
    if config is None:
        return []  # no file at all: the folder's business (exit 2)
    named = _versions_of(list(migrations), history, versions)
    known = {v for v in named.values() if v is not None}
    unknown = sorted(v for v in versions - known if v != history.baseline)
    if not unknown:
        return []
    last = max((FlywayNames.version_key(v) for v in known if _FLYWAY_VERSION.fullmatch(v)),
               default=())
    found = []
    for v in unknown:
        repeatable = v.startswith("R:")
        if not repeatable and not _FLYWAY_VERSION.fullmatch(v):
            continue  # no version Flyway writes: the folder's business (exit 2)
        state = "missing" if repeatable or FlywayNames.version_key(v) < last else "future"
        passed = not config.validate_on_migrate or config.ignores(
            "repeatable" if repeatable else "versioned", state)
        found.append(Unresolved(v, v[2:] if repeatable else v, state, passed))
    return found


def _flyway_settings(migrations: Sequence[Migration]) -> FlywayConfig | None:
    """The Flyway configuration of the folder of `migrations`' first file."""
    first = next((m.file for m in migrations if m.file is not None), None)
    if first is None:
        return None
    from dbsafe.extract.flyway import flyway_config

    return flyway_config(first.parent)


def _flyway_ignored(migrations: Sequence[Migration], history: History, versions: set[str]
                    ) -> list[Migration]:
    """Flyway's versioned migrations that never ran whose version is below the last one
    applied (`ResolvedMigration.getState`: `IGNORED` unless `outOfOrder`), the baseline's
    and those below it aside (they count as run: `ran_among`)."""
    from dbsafe.extract.flyway import FlywayNames

    applied = [FlywayNames.version_key(v) for v in versions if _FLYWAY_VERSION.fullmatch(v)]
    if not applied:
        return []
    last = max(applied)
    named = _versions_of(list(migrations), history, versions)
    ran = {m.path for m in ran_among(list(migrations), history, versions)}
    return [m for m in migrations if m.path not in ran and (v := named.get(m.path))
            and _FLYWAY_VERSION.fullmatch(v) and FlywayNames.version_key(v) < last]


MIGRATION_NEVER_RUN = RuleInfo(
    "DBS613", "migration-never-run",
    "A migration its runner will never run on the database, though it did not run there (a "
    "drizzle-kit journal entry older than the last one run; a Flyway version below the last "
    "one applied, which its configuration skips).",
    Severity.ERROR, "0.2.0")


# Why each runner will never run such a migration, and what to do (`never_run_findings`).
_NEVER_RUN_WHY = {
    "flyway": ("Flyway will never run it: its version is below the last one applied, and "
               "Flyway's configuration skips such a file (validateOnMigrate=false, or "
               "ignoreMigrationPatterns '*:ignored') rather than run it out of order.",
               "Give the change a version past the last one applied, or set outOfOrder=true "
               "for Flyway to run it."),
    "refinery": ("refinery will never run it: its version is at or below the last one "
                 "applied, and the application's code tells refinery's runner to skip such a "
                 "file (`set_abort_missing(false)`: it only logs \"found migration on file "
                 "system ... not applied\").",
                 "Give the change a version past the last one applied, or make it "
                 "unversioned (`U<version>__`), which refinery runs out of order."),
}


def never_run_findings(never: Sequence[Migration], runner: str) -> list[Finding]:
    """A DBS613 for each of the migrations `runner` will `never` run (`never_run`)."""
    why, help = _NEVER_RUN_WHY.get(runner, (
        f"{runner} will never run it: its journal entry is older than the last one run, and "
        "drizzle-orm's migrate() runs only those past it.",
        "Give the change a new migration (`drizzle-kit generate`), or run this file by hand "
        "and record it."))
    return [Finding(MIGRATION_NEVER_RUN.code, f"`{m.path}` never ran here and {why}",
                    Severity.ERROR, subject=m.path, help=help) for m in never]


# The checks of `refusal` that stop their runner for an edited applied file too (Flyway's
# validation, sqlx's), or before it reads the files at all (sqlx's failed row): those edited
# are then no warning of their own (`edited_findings`).
REFUSES_EDITED = ("validateOnMigrate", "VersionMismatch", "Dirty", "DivergentVersion",
                  "validateMigrationHashes")
# The runners whose history records a checksum of each file that they check before they
# migrate (`edited_applied`, `refusal`).
CHECKS_APPLIED = ("flyway", "sqlx", "refinery", "postgres-migrations")
RUNNER_REFUSES_CODE = "DBS612"  # declared by dbsafe.guard (status)
APPLIED_EDITED_CODE = "DBS605"  # declared by dbsafe.guard (status, upgrade)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a runner refuses to migrate the database at all (`refusal`)."""

    words: str  # the runner's own
    check: str  # the check of it that refuses
    help: str  # what to do about it


_FLYWAY_OUT_OF_ORDER_HELP = (
    "Give the change a version past the last one applied, or let Flyway run it out of order "
    "(outOfOrder=true in flyway.conf or flyway.toml, or FLYWAY_OUT_OF_ORDER=true, which dbsafe "
    "reads; a `-outOfOrder=true` on Flyway's command line dbsafe does not see: then it runs "
    "the file).")
_FLYWAY_FAILED_HELP = (
    "Undo what the failed migration did (or finish it by hand), then remove its row with "
    "`flyway repair`, for Flyway to run it again.")
_FLYWAY_MISSING_HELP = (
    "Bring the applied migration's file back to the folder (from the branch or commit that has "
    "it), or mark it deleted with `flyway repair` if it was removed on purpose, or let Flyway "
    "pass it (ignoreMigrationPatterns '{}' in flyway.conf or flyway.toml, which dbsafe reads).")
_EDITED_HELP = ("Undo the edit of the applied file and put the change in a new migration{}.")


def refusal(migrations: Sequence[Migration], history: History,
            versions: set[str] | None = None, *,
            unresolved: Sequence[Unresolved] | None = None,
            edited: Sequence[Edited] | None = None) -> Refusal | None:
    """Why `history`'s runner refuses to migrate the database at all, in its own words; None
    when it runs what is pending. node-pg-migrate checks, before running anything, that the
    migrations it ran (in the order they ran) are the first of its files (SQL and code, in
    its order: by their number, then by name), one by one (`checkOrder`, on unless
    `--no-check-order`): a file added before the last one run stops `up`, and `down` too.
    Flyway validates before it migrates (`validateOnMigrate`, on by default): a version below
    the last one applied (`versions`) that never ran fails it, unless its configuration runs
    such a file (`outOfOrder`) or skips it (`ignoreMigrationPatterns` `*:ignored`), and so does
    an applied versioned migration past its baseline edited since (`edited_applied`: "Migration
    checksum mismatch"), unless `ignoreMigrationPatterns` passes every state (`*:*`), and so
    does a failed row (`History.failed_runs`: "Detected failed migration to version N"), but
    one at a version past every file's that it passes as future (`*:future`, its default);
    with validation off or passed, its migrate refuses for a failed row all the same ("Schema
    ... contains a failed migration", `DbMigrate.migrateGroup`), that lone future one aside. sqlx
    checks each applied migration's checksum as it comes to it (`VersionMismatch`; its
    `migrate run` and `migrate!()` alike, no setting turns it off) and stops at the first
    edited one, having run the pending ones before it; before that, a row of a migration
    that failed half-way (`success = false`, `History.dirty`) stops it before it runs
    anything (`MigrateError::Dirty`: its message names `_sqlx_migrations` whatever the
    table's name). postgres-migrations compares the hash of each applied file with its row's
    before it runs anything (`validateMigrationHashes`), and stops naming every edited one.
    `unresolved` and `edited`: what `flyway_unresolved` (of the whole folder)
    and `edited_applied` said of them, computed once per command by its caller."""
    if history.runner == "flyway":
        from dbsafe.extract.flyway import FlywayNames

        config = _flyway_settings(migrations)
        if config is None:
            return None
        failed = _flyway_failed(migrations, history)
        if not config.validate_on_migrate:
            return _flyway_migrate_refusal(failed, history, config)
        named = _versions_of(list(migrations), history, versions or set())
        # (about Flyway's order: the applied ones, by installed rank there, here by version
        # as they mostly ran, a failed repeatable one after them; then those never run)
        said: list[tuple[tuple[int, tuple[int, ...]], str]] = []
        ignored = [] if config.out_of_order or config.ignores_ignored else [
            v for m in _flyway_ignored(migrations, history, versions or set())
            if (v := named[m.path]) is not None]
        said += [((2, FlywayNames.version_key(v)),
                  f"Detected resolved migration not applied to database: {v}") for v in ignored]
        edited = [] if config.ignores_all_states else \
            edited_applied(migrations, history) if edited is None else edited
        said += [((0, FlywayNames.version_key(e.version)),
                  f"Migration checksum mismatch for migration version {e.version} -> Applied "
                  f"to database : {e.recorded} -> Resolved locally : {e.now}") for e in edited]
        broken = [(v, d) for v, d, future in failed if not config.ignores(
            "repeatable" if v is None else "versioned", "*") and not (
            future and config.ignores_future)]
        said += [((1, ()), f"Detected failed repeatable migration: {d}") if v is None else
                 ((0, FlywayNames.version_key(v)),
                  f"Detected failed migration to version {v} ({d})") for v, d in broken]
        missing = [u for u in (flyway_unresolved(migrations, history, versions or set())
                               if unresolved is None else unresolved) if not u.passed]
        said += [((1, ()) if u.version.startswith("R:") else
                  (0, FlywayNames.version_key(u.version)),
                  f"Detected applied migration not resolved locally: {u.shown}")
                 for u in missing]
        if not said:
            return _flyway_migrate_refusal(failed, history, config)
        helps = [_FLYWAY_FAILED_HELP] if broken else []
        if edited:
            helps.append(_EDITED_HELP.format(", or record its checksum with `flyway repair` "
                                             "if the database already holds what it makes now"))
        if ignored:
            helps.append(_FLYWAY_OUT_OF_ORDER_HELP)
        if missing:
            helps.append(_FLYWAY_MISSING_HELP.format(
                "*:future" if all(u.state == "future" for u in missing) else "*:missing"))
        return Refusal(
            f"Validate failed: {'; '.join(text for _, text in sorted(said))}",
            "validateOnMigrate", " ".join(helps))
    if history.runner == "sqlx":
        if history.dirty is not None:
            return Refusal(
                f"migration {history.dirty} is partially applied; fix and remove row from "
                "`_sqlx_migrations` table", "Dirty",
                f"Undo what the failed migration {history.dirty} did, or finish it by hand, "
                f"then delete its row (`DELETE FROM {history.quoted} WHERE version = "
                f"{history.dirty}`) for sqlx to run it again.")
        first = next(iter(edited_applied(migrations, history) if edited is None else edited),
                     None)
        return None if first is None else Refusal(
            f"migration {first.version} was previously applied but has been modified",
            "VersionMismatch", _EDITED_HELP.format(""))
    if history.runner == "refinery":
        return _refinery_refusal(migrations, history, versions or set(), edited)
    if history.runner == "postgres-migrations":
        changed = edited_applied(migrations, history) if edited is None else edited
        return None if not changed else Refusal(
            "Hashes don't match for migrations "
            f"'{','.join(e.migration.file.name for e in changed if e.migration.file)}'. This "
            "means that the scripts have changed since it was applied",
            "validateMigrationHashes", _EDITED_HELP.format(
                ", or, if the database already holds what it makes now, record its hash in "
                "its `migrations` row"))
    if history.runner != "node-pg-migrate" or not history.run_order:
        return None
    from dbsafe.extract.migration import code_migrations, node_pg_migrate_key

    folders = {m.file.parent for m in migrations if m.file is not None}
    if not folders:
        return None
    # (it reads its folder's files, not a subfolder's: `getMigrationFilePaths`)
    top = min(folders, key=lambda f: len(f.parts))
    files = {m.file for m in migrations if m.file is not None and m.file.parent == top} | {
        p for p, _ in code_migrations(top)}
    names = [name for p in sorted(files, key=lambda p: node_pg_migrate_key(p.name))
             if (name := file_version(p, history.runner))]
    for ran, name in zip(history.run_order, names, strict=False):
        if ran != name:
            return Refusal(
                f"Not run migration {name} is preceding already run migration {ran}",
                "checkOrder",
                "Rename the file to sort after the last one run (its number), or run it out "
                "of order knowingly (`node-pg-migrate up --no-check-order`).")
    return None


def _refinery_refusal(migrations: Sequence[Migration], history: History, versions: set[str],
                      edited: Sequence[Edited] | None) -> Refusal | None:
    """Why refinery's runner refuses to migrate, as its `verify_migrations` checks before it
    runs anything, with the checks the application's code leaves on (`_refinery_aborts`;
    both by default): the first applied row, by version, whose file's name or checksum is
    not the one it recorded (`DivergentVersion`; off, it logs the row and goes on:
    `edited_findings`), then the first versioned file (`V`, not `U`) that never ran at or
    below the last version applied (`MissingVersion`, in its words "missing from the
    filesystem"; off, it skips the file for good: `never_run`)."""
    aborts = _refinery_aborts(migrations)
    changed = (edited_applied(migrations, history) if edited is None else edited) \
        if aborts.divergent else ()
    named = dict(history.run_names)
    ran = [(int(e.version), e) for e in changed if e.version.isdigit()]
    if ran:
        _, first = min(ran, key=lambda r: r[0])
        file = first.migration.file
        found = _REFINERY_NAME.fullmatch(file.name) if file is not None else None
        # (as its `Display` shows a migration: its version parsed, `V0003__x` is `V3__x`)
        shown = f"{found.group(1)}{first.version}__{found.group(3)}" if found else first.version
        return Refusal(
            f"applied migration V{first.version}__{named.get(first.version, '')} is "
            f"different than filesystem one {shown}", "DivergentVersion",
            _EDITED_HELP.format(", or let refinery go on with `set_abort_divergent(false)` if "
                                "the database already holds what it makes now"))
    below = _refinery_below_last(migrations, versions) if aborts.missing else []
    if below:
        _, version, name = below[0]
        return Refusal(f"migration V{version}__{name} is missing from "
                       "the filesystem", "MissingVersion",
                       "Give the change a version past the last one applied "
                       f"({max(int(v) for v in versions if v.isdigit())}), or make it "
                       f"unversioned (`U{version}__`), which refinery runs out of order.")
    return None


def _refinery_aborts(migrations: Sequence[Migration]) -> RefineryAborts:
    """How the application's code sets refinery's checks (`refinery_aborts`), read from the
    crate naming the folder of the first migration."""
    from dbsafe.extract.migration import RefineryAborts, refinery_aborts

    first = next((m.file for m in migrations if m.file is not None), None)
    return refinery_aborts(first) if first is not None else RefineryAborts()


def _refinery_below_last(migrations: Sequence[Migration], versions: set[str]
                         ) -> list[tuple[Migration, str, str]]:
    """The versioned files (`V`, not `U`) of refinery's `migrations` that never ran at or
    below the last version applied (`versions`), each with its version and name."""
    last = max((int(v) for v in versions if v.isdigit()), default=None)
    if last is None:
        return []
    out = []
    for m in migrations:
        found = _REFINERY_NAME.fullmatch(m.file.name) if m.file is not None else None
        version = file_version(m.file, "refinery") if m.file is not None else None
        if found is not None and found.group(1) == "V" and version is not None \
                and version not in versions and int(version) <= last:
            out.append((m, version, found.group(3)))
    return out


def _flyway_failed(migrations: Sequence[Migration], history: History
                   ) -> list[tuple[str | None, str, bool]]:
    """Flyway's failed rows (`History.failed_runs`), each with whether Flyway takes it for a
    future one (`FUTURE_FAILED`: no file has its version, none a later one)."""
    if not history.failed_runs:
        return []
    from dbsafe.extract.flyway import FlywayNames

    files = {FlywayNames.version_key(v) for v in _versions_of(list(migrations), history,
                                                               set()).values()
             if v is not None and _FLYWAY_VERSION.fullmatch(v)}
    last = max(files, default=())
    return [(v, d, v is not None and _FLYWAY_VERSION.fullmatch(v) is not None
             and (key := FlywayNames.version_key(v)) not in files and key >= last)
            for v, d in history.failed_runs]


def _flyway_migrate_refusal(failed: list[tuple[str | None, str, bool]], history: History,
                            config: FlywayConfig) -> Refusal | None:
    """Flyway's migrate refusing for a failed row its validation passed or did not look at
    (`DbMigrate.migrateGroup`): the first of them, unless it is the only one and a future one
    Flyway is told to pass (`*:future`, its default), which it only warns of."""
    if not failed or (len(failed) == 1 and failed[0][2] and config.ignores_future):
        return None
    version, description, _ = failed[0]
    # (as `Schema.toString` quotes it; Flyway's default schema is the session's current one)
    schema = f'"{history.schema or history.session_schema or "public"}"'
    what = f"a failed migration to version {version}" if version is not None else \
        f'a failed repeatable migration ("{description}")'
    return Refusal(f"Schema {schema} contains {what} !", "DbMigrate", _FLYWAY_FAILED_HELP)


def refusal_finding(refused: Refusal, runner: str, subject: str) -> Finding:
    """The DBS612 that says `runner` refuses to migrate the database (`refusal`)."""
    end = "" if refused.words.endswith("!") else "."
    return Finding(RUNNER_REFUSES_CODE, f"{runner} refuses to migrate the database: "
                   f"{refused.words}{end}", Severity.ERROR, subject=subject, help=refused.help)


def edited_findings(migrations: Sequence[Migration], history: History,
                    refused: Refusal | None, edited: Sequence[Edited] | None = None
                    ) -> list[Finding]:
    """A DBS605 warning for each applied migration edited since it ran (`edited_applied`)
    that its runner does not refuse to migrate for (`refused`): prisma's `migrate deploy`
    (and `status`) neither run it again nor say so, as prisma 6.19.3 showed, nor does
    drizzle-orm's `migrate()`, which records each file's hash and never reads it; Flyway told not
    to validate (`validateOnMigrate=false`, or `ignoreMigrationPatterns` `*:*`) neither, nor
    refinery told not to abort for it (`set_abort_divergent(false)`), which only logs it."""
    if refused is not None and refused.check in REFUSES_EDITED:
        return []
    out = []
    for e in edited_applied(migrations, history) if edited is None else edited:
        if history.runner == "refinery":
            what = ("refinery, told not to abort for it (`set_abort_divergent(false)`), "
                    "neither runs it again nor stops (it logs \"applied migration ... is "
                    "different than filesystem one ...\")")
        elif history.runner == "drizzle":
            what = ("drizzle-orm's `migrate()` neither runs it again nor says so (it never "
                    "compares its rows' hashes with the files)")
        elif history.runner == "prisma":
            what = ("`prisma migrate deploy` neither runs it again nor says so (`prisma "
                    f"migrate dev` does: \"The migration `{e.version}` was modified after it "
                    "was applied.\")")
        else:
            what = ("Flyway, told not to validate before it migrates, neither runs it again "
                    "nor says so (`flyway validate` does: \"Migration checksum mismatch for "
                    f"migration version {e.version}\")")
        out.append(Finding(
            APPLIED_EDITED_CODE,
            f"`{e.migration.path}` was edited after {history.runner} applied it (checksum "
            f"{e.recorded[:16]} then, {e.now[:16]} now): {what}, so the database holds it as "
            "it was.", Severity.WARNING, subject=e.migration.path,
            help=_EDITED_HELP.format("")))
    return out


SHARED_VERSION_CODE = "DBS424"  # declared by dbsafe.gates.lock (verify-lock; lint too)

# What each runner does with two migration files of one version, in its words where it
# refuses: goose's `Migrations.Less`/`duplicateVersion`, golang-migrate's source drivers
# (`Migrations.Append` rejects the second up file: `ErrDuplicateMigration`), Flyway's
# validation (`MigrationInfoServiceImpl`: "Found more than one migration with version"),
# dbmate's `Migrate` (each pending file recorded by its version: the second one's insert
# into `schema_migrations` fails on its primary key, and where one of them ran the other
# counts as applied and never runs). sqlx's `Migrator::run_direct` applies both (its
# resolver and `migrate!` check nothing), the second's row failing on `_sqlx_migrations`'
# primary key and its file rolled back with it; where either ran, the other's checksum is
# compared with that row's: `MigrateError::VersionMismatch`. refinery's `verify_migrations`
# refuses only a repeat of the very same file (`RepeatedVersion`: version, name and
# checksum equal); two of one version both run, the second's row failing on
# `refinery_schema_history`'s primary key (the `postgres` crate's runner commits the file
# before it); where either ran, the other never runs, or refinery stops at it
# (`DivergentVersion`, when it finds that one first). diesel_migrations'
# `pending_migrations` keys the migrations by version (a `HashMap`): one of them runs,
# the other never does, anywhere, without a word (only `diesel migration generate`
# refuses a version taken).
_SHARED_VERSION = {
    "goose": "goose refuses to run anything: \"goose: duplicate version {version} detected\"",
    "golang-migrate": "golang-migrate refuses to read the folder: \"duplicate migration "
                      "file: {second}\"",
    "flyway": "Flyway's validation refuses to migrate: \"Found more than one migration with "
              "version {version}\"",
    "dbmate": "dbmate runs the first and fails at the second (its version is already in "
              "`schema_migrations`: duplicate key); on a database that ran either one, the "
              "other counts as applied and never runs",
    "sqlx": "sqlx runs one and fails at the other (its version is already in "
            "`_sqlx_migrations`: duplicate key); on a database that ran either one, it "
            "refuses to migrate: \"migration {version} was previously applied but has been "
            "modified\"",
    "refinery": "refinery runs one and fails at the other (its version is already in "
                "`refinery_schema_history`: duplicate key, after the file ran, with the "
                "`postgres` crate); on a database that ran either one, the other never runs, "
                "or refinery refuses: \"applied migration ... is different than filesystem "
                "one ...\"",
    "diesel": "diesel runs only one of them (it keys pending migrations by version): the "
              "other never runs, on any database, without a word",
}


def shared_versions(migrations: Sequence[Migration]) -> list[tuple[str, str, list[Migration]]]:
    """The migrations of `migrations` that share a version their runner records, as (runner,
    version, those migrations in order), folder by folder: Flyway's versioned files
    (versions compared as Flyway compares them: `1.0` is `1`), those of a goose,
    golang-migrate, dbmate or sqlx folder (goose's, golang-migrate's and sqlx's versions as
    numbers, `0005` is `5`; dbmate's as text), refinery's (`V5__a.sql` and `U05__b.sql`,
    in any subfolder of its folder) and diesel's (`2024-01-05-000000_a/up.sql` and
    `20240105000000_b/up.sql`). Each refuses or runs only one of them (`_SHARED_VERSION`).
    Other runners' are not judged."""
    from dbsafe.extract.flyway import FlywayNames, flyway_config
    from dbsafe.extract.migration import goose_folder, refinery_root
    from dbsafe.migrate.sqlfiles import migration_runner

    groups: dict[tuple[str, Any], list[Migration]] = {}
    shown: dict[tuple[str, Any], str] = {}
    runners: dict[Path, str | None] = {}
    roots: dict[Path, Path | None] = {}
    diesel: dict[Path, bool] = {}
    names: dict[Path, FlywayNames] = {}
    for m in migrations:
        if m.file is None or m.callback:
            continue
        folder = m.file.parent
        if m.flyway:
            if folder not in names:
                names[folder] = flyway_config(folder).names
            parsed = names[folder].parse(m.file.name)
            if parsed is None or parsed[0] != "V" or parsed[1] is None:
                continue
            version_key = FlywayNames.version_key(parsed[1])
            # (per folder: Flyway merges its locations, but two folders named together may
            # be two databases' locations, `db/migration/postgres` and `.../mysql`)
            key: tuple[str, Any] = ("flyway", (folder, version_key))
            shown.setdefault(key, ".".join(map(str, version_key)))
        else:
            runner: str | None
            if m.runner == "refinery":
                # (one folder and its subfolders: refinery walks them)
                if folder not in roots:
                    roots[folder] = refinery_root(m.file)
                runner, folder = "refinery", roots[folder] or folder
            elif m.file.name == "up.sql" and _diesel(folder.parent, diesel):
                # (each of diesel's migrations is a folder: `<version>_<name>/up.sql`)
                runner, folder = "diesel", folder.parent
            else:
                if folder not in runners:
                    found = migration_runner(folder)
                    runners[folder] = found if found in ("golang-migrate", "dbmate", "sqlx") \
                        else "goose" if found is None and goose_folder(folder) else None
                runner = runners[folder]
            version = file_version(m.file, runner) if runner is not None else None
            if runner is None or version is None:
                continue
            key = (runner, (folder, version))
            shown.setdefault(key, version)
        groups.setdefault(key, []).append(m)
    return [(key[0], shown[key], group) for key, group in groups.items() if len(group) > 1]


def _diesel(folder: Path, known: dict[Path, bool]) -> bool:
    """Whether `folder` is diesel's migrations folder (`known` caches the answers)."""
    from dbsafe.migrate.sqlfiles import migration_runner

    if folder not in known:
        known[folder] = migration_runner(folder) == "diesel"
    return known[folder]


def shared_version_findings(migrations: Sequence[Migration]) -> list[Finding]:
    """A DBS424 error for each version two migration files share (`shared_versions`), at
    the second of them."""
    out = []
    for runner, version, group in shared_versions(migrations):
        paths = [m.path for m in group]
        listed = ", ".join(f"`{p}`" for p in paths[:-1]) + f" and `{paths[-1]}`"
        second = group[1].file.name if group[1].file is not None else paths[1]
        out.append(Finding(
            SHARED_VERSION_CODE,
            f"Migrations {listed} share version {version}: "
            f"{_SHARED_VERSION[runner].format(version=version, second=second)}.",
            Severity.ERROR, Location(paths[-1], 1), subject=",".join(paths),
            help="Give the one that came in last a version of its own, past every other "
                 "migration's (rename it; if the other already ran somewhere, rename the one "
                 "that has not), then run `dbsafe lock`."))
    return out


# The runners whose migrations may be code (`code_migrations`), and its language.
_CODE_LANGUAGE = {"yoyo": "Python", "goose": "Go", "node-pg-migrate": "JavaScript",
                  "postgres-migrations": "JavaScript"}


def last_recorded(applied: Sequence[Migration]) -> Migration | None:
    """The last of the `applied` migrations that places the database in the folder: not one
    its runner runs after every run (yoyo's post-apply migrations, Flyway's callbacks: never
    recorded), nor Flyway's repeatable ones (run after the versioned, which place it)."""
    from dbsafe.extract.migration import YOYO_POST_APPLY

    def repeatable(m: Migration) -> bool:
        if not m.flyway or m.file is None:
            return False
        from dbsafe.extract.flyway import flyway_config

        parsed = flyway_config(m.file.parent).names.parse(m.file.name)
        return parsed is not None and parsed[0] == "R"

    return next((m for m in reversed(applied) if m.callback is None and (
        m.file is None or not m.file.name.startswith(YOYO_POST_APPLY))
        and not repeatable(m)), None)


def flyway_runs(migrations: Sequence[Migration], history: History,
                versions: set[str] | frozenset[str]) -> list[Migration]:
    """`migrations` as Flyway runs them on the database of `history`, holding `versions`,
    given its baseline migrations (`B2__x.sql`: `flyway_new_database`): a database with no
    versioned migration applied and no baseline is a new one (`BaselineResolvedMigration`:
    `migrationsAppliedOrBaselineExists`; a repeatable one's row does not count), where the
    newest runs instead of the versioned files up to it; on another Flyway ignores them
    all, but for the one of the version its baseline row says it ran there (`SQL_BASELINE`),
    which then stands for those files as it did."""
    from dbsafe.extract.migration import flyway_new_database

    new = history.baseline is None and all(v.startswith("R:") for v in versions)
    return flyway_new_database(migrations, new=new,
                               ran=history.baseline if history.baseline_ran else None)


def _unread_code(migrations: list[Migration], history: History, versions: Sequence[str]
                 ) -> list[str]:
    """The migrations run as code in the folder of `migrations` (`code_migrations`: yoyo's
    Python ones, goose's Go ones, node-pg-migrate's JavaScript ones) whose versions in
    `history` are among `versions`."""
    from dbsafe.extract.migration import code_migrations

    folders = {m.file.parent for m in migrations if m.file is not None}
    code = [p for folder in folders for p, _ in code_migrations(folder)]
    wanted = set(versions)
    return sorted(p.name for p in code if file_version(p, history.runner) in wanted)


def ran_among(migrations: list[Migration], history: History, versions: set[str]
              ) -> list[Migration]:
    """Those of `migrations` that `history`'s `versions` say ran, whatever else the
    history holds (lint of some files of a folder: the others are not its business)."""
    named = _versions_of(migrations, history, versions)
    if history.runner == "drizzle" and versions:
        # drizzle-orm 0.x runs the journal entries past its last row's: every file up to it
        # ran, but those it skipped for good (`never_run`); 1.0 runs each migration of
        # drizzle-kit 1.0's folder that no row names (`_drizzle_1_names`).
        current = max(int(v) for v in versions)
        skipped = {m.path for m in never_run(migrations, history, versions)}
        ran_names = _drizzle_1_ran_names(migrations, history)
        return [m for m in migrations if (v := named.get(m.path)) is not None
                and m.file is not None and m.path not in skipped
                and ((m.file.parent.parent, m.file.parent.name) in ran_names
                     if _drizzle_1(m.file) else int(v) <= current)]
    if history.runner == "golang-migrate" and versions:
        # golang-migrate's table holds one row, the version the database is at: every file
        # up to it ran.
        current = max(int(v) for v in versions)
        versions = {v for v in named.values() if v is not None and int(v) <= current}
    if history.baseline is not None and _FLYWAY_VERSION.fullmatch(history.baseline):
        from dbsafe.extract.flyway import FlywayNames

        baseline = FlywayNames.version_key(history.baseline)
        versions = versions | {v for v in named.values() if v is not None
                               and _FLYWAY_VERSION.fullmatch(v)
                               and FlywayNames.version_key(v) <= baseline}
    ran = [m for m in migrations if named.get(m.path) in versions]
    if history.runner == "yoyo" and ran:
        from dbsafe.extract.migration import YOYO_POST_APPLY

        # Its post-apply migrations run after every `yoyo apply`, never recorded.
        ran = [m for m in migrations if m in ran or (
            m.file is not None and m.file.name.startswith(YOYO_POST_APPLY))]
    return ran


_FLYWAY_VERSION = re.compile(r"\d+(?:\.\d+)*")


def _versions_of(migrations: list[Migration], history: History, versions: set[str],
                 ) -> dict[str, str | None]:
    """The version `history`'s runner records for each migration, by its path (`versions`,
    those the history holds, tell river's migration line)."""
    if history.runner == "sqitch":
        return dict(_sqitch_keys(migrations))
    if history.runner == "drizzle":  # its journal read once per folder
        whens = {folder: _drizzle_whens(folder) for folder in {
            m.file.parent for m in migrations if m.file is not None and not _drizzle_1(m.file)}}
        return {m.path: file_version(m.file, "drizzle") if _drizzle_1(m.file)
                else whens[m.file.parent].get(m.file.name) for m in migrations
                if m.file is not None}
    flyway = None
    if history.runner == "flyway" and (first := next(
            (m.file for m in migrations if m.file is not None), None)) is not None:
        from dbsafe.extract.flyway import flyway_config

        flyway = flyway_config(first.parent).names
    named = {m.path: file_version(m.file, history.runner, flyway) for m in migrations
             if m.file is not None}
    if history.runner == "river":
        line = _river_line(migrations, {v.partition(":")[0] for v in versions})
        return {path: f"{line}:{v}" for path, v in named.items() if v is not None}
    return named

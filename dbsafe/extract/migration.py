"""Migrations as dbsafe lints them: ordered statements with their source locations.

A `Migration` is one alembic revision (its upgrade as captured while it ran on a throwaway
server, or rendered to SQL offline; see `dbsafe.migrate.render`) or one plain SQL migration file (`supabase/migrations/*.sql`, Flyway's
`V1__init.sql`, any `.sql`). Transaction control statements (`BEGIN`, `COMMIT`) stay in the
stream so the lint engine knows which statements run inside a transaction block.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from dbsafe.core import Location, SourceError
from dbsafe.extract.files import FolderNames
from dbsafe.extract.flyway import (
    FLYWAY_EACH_EVENTS,
    FLYWAY_MIGRATE_EVENTS,
    FlywayConfig,
    FlywayNames,
    fill_placeholders,
    flyway_checksum,
    flyway_config,
)
from dbsafe.extract.goose_envsub import fill_envsub

if TYPE_CHECKING:
    from dbsafe.extract.fragment import SqlFragment
    from dbsafe.extract.sqitch import SqitchProject
    from dbsafe.extract.yoyo_steps import YoyoSteps

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Observed:
    """What PostgreSQL showed while a statement ran on the throwaway server.

    Read inside the statement's transaction, right after it: `locks` are the relation locks
    it took (not held before it in that transaction), `held` every relation lock held then,
    as (`schema.relation`, pg_locks mode such as `AccessExclusiveLock`, pg_class relkind);
    `rewritten` the tables whose relfilenode changed, `scanned` the tables it started a scan
    of (`pg_stat_get_xact_numscans` rose; None when that was not read). `inherited` are the
    locks among `held` that earlier revisions took in the same transaction (alembic runs
    every pending revision in one unless `transaction_per_migration`): production, where
    those revisions ran long ago, does not hold them, and they hide this statement's own
    request of the same mode.
    """

    locks: tuple[tuple[str, str, str], ...] = ()
    held: tuple[tuple[str, str, str], ...] = ()
    rewritten: tuple[str, ...] = ()
    inherited: tuple[tuple[str, str, str], ...] = ()
    scanned: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class TypeMadeEarlier:
    """A named type (an ENUM, a DOMAIN) a revision's table creation would create, left
    uncreated on the throwaway server because an earlier revision of the same `alembic
    upgrade` had created one of that name (SQLAlchemy's DDL memo): run by a command of its
    own, the revision sends the `CREATE TYPE`.

    `name` is as the revision gave it (`schema.name` when it names a schema), `location` the
    revision's `op.*` line, `made_by` the revision that created it and `made_at` its line
    (None when not known), `exists` whether the database had the type when it was skipped
    (None: it could not be asked), `parents` the revision's down revisions: a database at
    one of them, upgraded by a command of its own, fails.
    """

    name: str
    kind: str  # SQLAlchemy's: "enum" | "domain"
    location: Location
    made_by: str
    made_at: Location | None = None
    exists: bool | None = None
    parents: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Waited:
    """A lock a statement waited for on the throwaway server, held by another connection of
    the same migration that sat idle in its transaction: it would have waited forever, and
    dbsafe ended that connection to go on (`dbsafe.migrate.waits`).

    `relation` is `schema.name` (None for a lock on a transaction, as CONCURRENTLY waits
    for), `mode` the pg_locks mode requested, `holder` the last line a revision ran on the
    holding connection (None when none was captured).
    """

    relation: str | None
    mode: str
    holder: Location | None = None


@dataclass(frozen=True, slots=True)
class MigrationStatement:
    sql: str
    location: Location
    generated: bool = False  # emitted by the migration tool itself (BEGIN/COMMIT, version table)
    # Captured from a run on a throwaway server and observed there (None: not observed --
    # rendered offline, read from a file, or run outside a transaction block).
    observed: Observed | None = None
    waited: Waited | None = None  # captured: a lock it waited for from its own migration
    # The file's bytes of a statement that are not all UTF-8 (`sql` shows those as U+FFFD):
    # what PostgreSQL is sent, for it to refuse them as it would (22021).
    raw: bytes | None = None


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration: a revision or a SQL file, with its statements in execution order."""

    path: str  # display path of the revision or SQL file
    statements: tuple[MigrationStatement, ...]
    revision: str | None = None
    kind: str = "sql"  # "sql" | "alembic"
    file: Path | None = None  # the file on disk (revision rules read its Python)
    # Whether the first statement already runs inside a transaction block: the runner wraps
    # the whole file in one (Flyway, supabase), or an earlier alembic revision's transaction
    # is still open (transaction_per_migration off). BEGIN/COMMIT inside are in `statements`.
    starts_in_transaction: bool = False
    # The other files its statements come from: those a psql script includes (`\ir`).
    includes: tuple[Path, ...] = ()
    # A Flyway migration: Flyway sets the role and search_path back after it.
    flyway: bool = False
    # A Flyway SQL callback its migrate runs (`beforeMigrate`, `afterMigrate`, ...: the
    # event): no migration, never recorded in its history, run at every migrate.
    callback: str | None = None
    # A revision that failed on the throwaway server and whose statements after the failure
    # could not be rendered offline either: `statements` ends where it failed, and what it
    # would run after that is unknown (rules looking later in the migration cannot tell).
    cut_short: bool = False
    # The checksum its runner records of the file as it is, taken from the bytes read for its
    # statements: what it compares with its history's, with no second read of the file.
    # A Flyway migration's (`flyway_checksum`; None where its bytes are not UTF-8), a file of
    # sqlx's folder's (the SHA-384 of its bytes, in hex: `sqlx.toml`'s `ignored-chars` aside).
    checksum: int | str | None = None
    # The runner that applies it where it always runs it in a transaction, with no way out
    # (`ALWAYS_WRAPPED`): "refinery"; None for any other, or one dbsafe does not know. A
    # statement that cannot run in a transaction must run outside that runner.
    runner: str | None = None
    # Its transaction is the one the runner opened for every pending file, not its own
    # (`shared_transactions`), said as why, for a sentence: '`sql-migrations-in-transaction
    # = "all"`', "node-pg-migrate's `--single-transaction`, its default"; "" for none. The
    # locks the files before it took are still held when it starts, and its own are held
    # until the last one commits.
    shares_transaction: str = ""
    # An alembic revision captured on the throwaway: the named types its table creation left
    # uncreated because an earlier revision of the same upgrade made them (DBS141).
    types_made_earlier: tuple[TypeMadeEarlier, ...] = ()


# Runners that run every migration in a transaction they open themselves, with no way out
# of it (`refinery_folder`), and how to name them in a sentence.
ALWAYS_WRAPPED = {"refinery": "refinery"}


def sql_migrations(paths: Sequence[Path], *, root: Path, wrapped_in_transaction: bool = False,
                   sqitch_target: str | None = None, psql: bool = False) -> list[Migration]:
    """Every `.sql` file under `paths`, in version order, as a `Migration` each.

    With `psql` (the `schema-file`, which psql runs: only psql reads its meta-commands), a
    file that includes another (`\\i`, `\\ir`) runs as `psql -f FILE` does from the file's
    folder (`psql_script`): the files it includes read in place, as its `Migration`'s
    `includes` (Field-TM's `migrations/init/0-main.sql` makes its tables by `\\i
    './2-tables.sql'`: read as a plain file, its schema had none of them).

    A folder's down migrations are left out (golang-migrate's `1_x.down.sql`, a `1_x_down.sql`
    beside its `1_x_up.sql`, any `x.down.sql` beside its `x.up.sql`, Flyway's
    undo `U1__x.sql`, hasura's `down.sql` beside its `up.sql`), and so is the down section
    of a file annotated for goose, sql-migrate or dbmate (`upgrade_section`): upgrading
    never runs them. So are the files a runner's listing leaves out (`_folder_listing`:
    drizzle-kit's journal, temporal-sql-tool's manifest), and those it lists run in its
    order. Of a prisma folder (its `migration_lock.toml`), only each `<name>/migration.sql`
    (`prisma_runs`: not the `down.sql` written beside it). Of a `supabase/migrations` folder, only the files supabase's CLI applies
    (`<timestamp>_name.sql`, not in a subfolder), each in a transaction, as it runs them
    (`supabase_cli_folder`), and those Lovable applied
    (`<timestamp>-<uuid>.sql`). refinery's (`refinery_folder`: its `V1__x.sql` and
    `U2__x.sql`, by version) run in a transaction each, always. Flyway's files and diesel's
    and sqlx's migrations run in a transaction unless they say not to (`_flyway_transaction`, `_diesel_transaction`,
    `_sqlx_transaction`), and so do graphile-migrate's (`_graphile_transaction`: only its
    committed migrations and the current one, `_graphile_place`, its placeholders filled
    in), Atlas's (`_atlas_transaction`) and Hasura's (`_hasura_up`); a file its runner
    sends as one query (golang-migrate's, dbmate's `transaction:false`, prisma's before 7.4:
    `prisma_one_query`) is one implicit transaction when it holds several statements. Of a Sqitch project (`sqitch.conf` or
    `sqitch.plan`, `dbsafe.extract.sqitch`), its plan's deploy scripts run, in the plan's
    order, each as psql runs it (`dbsafe.extract.psql`): in a transaction only where it
    opens one itself, the variables of its sqitch.conf substituted, the files it includes
    (`\\ir`) read in place (the variables of `sqitch_target` where one is named, as
    `sqitch deploy TARGET` runs them); its revert and verify scripts never run.

    Flyway's files are read with the Flyway configuration of their folder
    (`dbsafe.extract.flyway`): its placeholders filled in, its default schema first on the
    search_path of each (`_flyway_search_path`).

    Order: as the runners order them (`_version_key`): Flyway's `V<version>__` files by
    version whatever folder holds them, then its repeatable `R__` ones by description, each
    named as its configuration says (`sqlMigrationPrefix`, ...: `FlywayNames`; with another
    prefix or suffix than Flyway's own, only the files Flyway runs); a prisma folder's
    migrations by name as prisma compares them, a supabase folder's files by name as its
    CLI lists them (`_runner_order`: `202310122339_x` after `20230912150657_y`); any
    other layout (goose's, golang-migrate's `10_x.up.sql`) in natural order, path
    component by component, so `2_` comes before `10_`.
    """
    from dbsafe.extract.files import display_path
    from dbsafe.extract.psql import includes_a_file
    from dbsafe.extract.sqlfile import split_sql

    keys: dict[Path, tuple] = {}
    wrapped: set[Path] = set()  # a runner's listing says it runs the file in a transaction
    pop_files: dict[Path, bool] = {}  # a pop folder's file: does pop wrap it in a transaction
    graphile_files: dict[Path, tuple] = {}  # graphile-migrate's migrations: their order
    sqitch_files: dict[Path, SqitchProject] = {}  # a Sqitch plan's deploy scripts: psql runs them
    # Flyway's names where its configuration gives others than its own (`FlywayNames`)
    named: dict[Path, FlywayNames] = {}
    steps: dict[Path, YoyoSteps] = {}  # yoyo's Python migrations whose steps are SQL
    # Flyway's SQL callbacks its migrate runs (`_flyway_callbacks`): those it runs once, by
    # their event, and those it runs in each migration's transaction, by event
    callback_of: dict[Path, str] = {}
    each_callbacks: dict[str, list[tuple[str | None, Path]]] = {}
    refinery_files: set[Path] = set()  # refinery's migrations: each in its transaction
    postgres_migrations_files: set[Path] = set()  # `postgres_migrations_folder`'s
    for path in paths:
        if path.is_dir() and (sqitch := _sqitch_deploy_files(path, sqitch_target)) is not None:
            project, files = sqitch
            keys.update((p, (2, (), _natural_key(path) + ((0, rank),)))
                        for rank, p in enumerate(files))
            sqitch_files.update((p, project) for p in files)
        elif path.is_dir() and refinery_folder(path):
            found = [p for p in path.rglob("*.sql")
                     if p.is_file() and _REFINERY_FILE.fullmatch(p.name)]
            if not found:
                raise SourceError(f"no SQL migrations under {path}: refinery runs only the "
                                  "files named V<version>__<name>.sql or U<version>__<name>.sql")
            refinery_files.update(found)
            keys.update((p, _refinery_key(p)) for p in found)
        elif path.is_dir():
            flyway_names = flyway_config(path).names
            if flyway_names.default:
                found = [p for p in path.rglob("*.sql") if p.is_file() and not _down_file(p)]
            else:  # Flyway runs the files its names say, those alone (its other suffixes too)
                found = [p for p in path.rglob("*") if p.is_file()
                         and (kind := flyway_names.parse(p.name)) is not None
                         and kind[0] != "U"]
                named.update((p, flyway_names) for p in found)
            callbacks = _flyway_callbacks(path, flyway_names, found)
            if flyway_names.default and _flyway_folder(found):
                found = [p for p in found if flyway_file(p.name) or p in callbacks]
            if callbacks:
                found = [p for p in found if p not in callbacks]
                for file, (event, description) in callbacks.items():
                    if event in FLYWAY_EACH_EVENTS:
                        each_callbacks.setdefault(event, []).append((description, file))
                    elif event in FLYWAY_MIGRATE_EVENTS:
                        callback_of[file] = event
                        keys[file] = _callback_key(event, description)
            if yoyo_folder(path):
                yoyo_python = [p for p in _yoyo_migration_files(path) if p.suffix == ".py"]
                steps.update((p, read) for p in yoyo_python
                             if (read := yoyo_python_steps(p)) is not None)
                found += [p for p in yoyo_python if p in steps]
            if not found:  # checking nothing must not pass for "no findings"
                raise SourceError(f"no SQL migrations (.sql files, down migrations aside) "
                                  f"under {path}{_code_migrations_note(path)}")
            if supabase_cli_folder(path):
                found = [p for p in found if p.parent == path and _supabase_applied(p.name)]
                if not found:
                    raise SourceError(f"no SQL migrations under {path}: supabase's CLI runs "
                                      "only the files named <timestamp>_name.sql directly in it")
            if dbmate_folder(path):
                found = [p for p in found if _dbmate_runs(p, path)]
            if (path / PRISMA_LOCK).is_file():
                found = [p for p in found if prisma_runs(p, path)]
                if not found:
                    raise SourceError(f"no SQL migrations under {path}: prisma migrate runs "
                                      "only each <name>/migration.sql there")
            if diesel_folder(path) and any(_diesel_runs(p, path) for p in found):
                found = [p for p in found if _diesel_runs(p, path)]
            if found and not (found := _runner_selection(found)):
                raise SourceError(f"no SQL migrations under {path}: its runner (golang-migrate, "
                                  "goose, sqlx) runs only the files named as its migrations")
            declared = None
            if supabase_schemas_folder(path):
                declared = _declared_schema_order(path)
                if declared is not None:
                    found = [p for p in found if p in declared]
                    if not found:
                        raise SourceError(f"no SQL files under {path}: none matches the "
                                          "schema_paths of its config.toml")
            if postgres_migrations_folder(path):
                postgres_migrations_files.update(p for p in found if p.parent == path)
            # drizzle-orm reads the files its journal names in the folder itself, 1.0 each
            # migration folder's migration.sql: a subfolder is another drizzle-kit `out`
            # (vogelibizz's SQLite `src/db/migrations/d1` in its PostgreSQL folder), not run
            if (path / DRIZZLE_JOURNAL).is_file():
                found = [p for p in found if p.parent == path]
            elif drizzle_1_folder(path):
                found = [p for p in found if drizzle_1_runs(p, path)]
                wrapped.update(found)  # migrate() runs the pending ones in one transaction
            # Atlas, yoyo, node-pg-migrate and postgres-migrations read no subfolder
            if atlas_folder(path) or yoyo_folder(path) or node_pg_migrate_folder(path) \
                    or path in {p.parent for p in postgres_migrations_files}:
                found = [p for p in found if p.parent == path]
            graphile = {p: _graphile_place(p, path) for p in found}
            if any(place is not None for place in graphile.values()):
                found = [p for p, place in graphile.items() if place != ()]
                graphile_files.update((p, place) for p, place in graphile.items() if place)
                if not found:
                    raise SourceError(f"no SQL migrations under {path}: graphile-migrate runs "
                                      "only committed/<number>.sql and the current migration")
            found, autocommit = _pop_selection(found)
            found, listed, listed_wrapped = _listed_selection(found)
            wrapped |= listed_wrapped
            if not found:
                raise SourceError(f"no SQL migrations under {path}: every .sql file there "
                                  "lies in a folder whose runner's listing (manifest.json, "
                                  "meta/_journal.json) names others")
            if declared is not None:  # config.toml's schema_paths order them
                keys.update((p, (2, (), _natural_key(path) + ((0, declared[p]),)))
                            for p in found)
            else:
                order = _runner_order(path)
                keys.update((p, _version_key(p, path, order, named.get(p))) for p in found)
                keys.update((p, (2, (), graphile_files[p])) for p in found if p in graphile_files)
            if supabase_cli_folder(path) or supabase_schemas_folder(path):
                wrapped.update(found)
            # (a listing's order replaces the file name's: the rest of the key, the
            # version folder's, still orders the versions)
            # (a part of a natural key, as `_natural_part` makes them: comparable with a
            # subfolder's name in another folder's key)
            keys.update((p, keys[p][:-1] + ((keys[p][-1][:-1] + (((-1, listed[p]),),)),))
                        for p in listed)
            pop_files.update((p, p not in autocommit) for p in found if autocommit is not None)
        elif path.is_file() and _REFINERY_FILE.fullmatch(path.name) \
                and refinery_folder(path.parent):
            refinery_files.add(path)
            keys[path] = _refinery_key(path)
        elif path.is_file():
            if path.suffix in _SCRIPT_SUFFIXES:
                raise SourceError(f"{path} is JavaScript/TypeScript, not SQL: {CODE_MIGRATIONS}")
            if not (flyway_names := flyway_config(path.parent).names).default \
                    and flyway_names.parse(path.name) is not None:
                named[path] = flyway_names
            keys[path] = _version_key(path, names=named.get(path))
            if path.suffix == ".py" and (read := yoyo_python_steps(path)) is not None:
                steps[path] = read
                continue
            if (deploying := _sqitch_deploy_project(path)) is not None:
                sqitch_files[path] = deploying
            if place := _graphile_place(path, None):
                graphile_files[path] = place
            listing = _folder_listing(path.parent, {path.name})
            if (listing is not None and listing.in_transaction) \
                    or supabase_cli_folder(path.parent):
                wrapped.add(path)
        else:
            raise SourceError(f"no such file or directory: {path}")
    migrations = []
    drizzle_folders: dict[Path, bool] = {}  # whether a folder holds drizzle-kit's journal
    sqlx_folders: dict[Path, bool] = {}  # whether a folder is sqlx's (`sqlx_folder`)
    flyway_configs: dict[Path, FlywayConfig] = {}  # by folder
    read_callbacks: dict[Path, tuple[MigrationStatement, ...]] = {}  # each-migration ones
    prisma_sends: dict[Path, bool] = {}  # by folder: `prisma_one_query`
    # Flyway placeholders no value is known for, as written: their name, a file using it
    unvalued: dict[str, tuple[str, str]] = {}
    unset_envsub: dict[str, str] = {}  # goose's ENVSUB variables not set: a file using it
    for file in sorted(keys, key=keys.__getitem__):
        shown = display_path(file, root)
        if file in steps:  # yoyo's Python migration, read already (`yoyo_python_steps`)
            statements, in_transaction = _yoyo_run(steps[file].apply, steps[file], shown)
            migrations.append(Migration(
                shown, statements, kind="sql", file=file,
                starts_in_transaction=in_transaction or wrapped_in_transaction))
            continue
        try:
            # Bytes that are not UTF-8 kept as they are (surrogate escapes) until each
            # statement is made (`_statement`): a Latin-1 comment, a broken emoji.
            data = file.read_bytes()
        except OSError as exc:
            raise SourceError(f"cannot read migration {file}: {exc}") from None
        text = data.decode("utf-8-sig", errors="surrogateescape")
        if file in graphile_files:
            text = _fill_graphile_placeholders(text, _graphile_placeholders(
                _graphile_folder(file)))
        if file in pop_files:
            text = _fill_pop_options(text)
        if "ENVSUB" in text:  # goose's `-- +goose ENVSUB ON`: the environment filled in
            text, unset = fill_envsub(text, os.environ)
            for name in unset:
                unset_envsub.setdefault(name, shown)
        if file.parent not in drizzle_folders:  # (one look per folder, not per file)
            drizzle_folders[file.parent] = (file.parent / DRIZZLE_JOURNAL).is_file() or (
                drizzle_1_runs(file, file.parent.parent)
                and drizzle_1_folder(file.parent.parent))
        if drizzle_folders[file.parent]:
            text = _drizzle_breakpoints(text)
        flyway = None
        if (flyway_file(file.name, named.get(file)) or file in callback_of) \
                and file not in sqitch_files and file not in refinery_files:
            flyway = _flyway_of(file, flyway_configs)
            text, unknown = fill_placeholders(text, flyway, file, shown)
            for name in unknown:
                unvalued.setdefault(flyway.prefix + name + flyway.suffix, (name, shown))
        includes: tuple[Path, ...] = ()
        if file in sqitch_files:
            statements, includes = psql_statements(file, sqitch_files[file], "deploy", root)
        elif psql and includes_a_file(text):
            statements, includes = psql_script(file, root)
        else:
            statements = tuple(_statement(f.sql, f.location(0))
                               for f in split_sql(upgrade_section(text), shown))
        if flyway is not None and file not in callback_of and each_callbacks:
            # Flyway runs its beforeEachMigrate and afterEachMigrate callbacks in each
            # migration's transaction, around it: generated, linted nowhere.
            around = {event: tuple(replace(s, generated=True)
                                   for _, f in sorted(each_callbacks.get(event, ()),
                                                      key=lambda c: _described(c[0]))
                                   for s in _callback_statements(f, root, flyway_configs,
                                                                 unvalued, read_callbacks))
                      for event in FLYWAY_EACH_EVENTS}
            statements = around["beforeEachMigrate"] + statements + around["afterEachMigrate"]
        dbmate = None if file in sqitch_files or file in refinery_files else (
            _dbmate_sections(text, statements, shown)
            or _liquibase_changesets(text, statements, shown))
        if file in sqitch_files:
            in_transaction = wrapped_in_transaction
        elif file in refinery_files:
            in_transaction = True
        elif dbmate is not None:
            statements, in_transaction = dbmate
            in_transaction = in_transaction or wrapped_in_transaction
        else:
            in_transaction = (
                wrapped_in_transaction or runner_wraps_in_transaction(text)
                or pop_files.get(file, False) or file in wrapped
                or (file in graphile_files and _graphile_transaction(text, statements))
                or _node_pg_migrate_down(text) is not None
                or (file in postgres_migrations_files
                    and _postgres_migrations_transaction(text, statements))
                or _hasura_up(file)
                or (atlas_folder(file.parent) and not flyway_file(file.name, named.get(file))
                    and _SECTION.search(text) is None and _atlas_transaction(text))
                or (_UP_FILE.fullmatch(file.name) is not None and len(statements) > 1)
                or (len(statements) > 1 and _postgrator_file(file, "do"))
                or (file.name == "migration.sql" and len(statements) > 1
                    and prisma_one_query(file.parent.parent, root, prisma_sends))
                or (flyway is not None and _flyway_transaction(file, statements))
                or _diesel_transaction(file, statements)
                or (sqlx_folder(file.parent) and _sqlx_transaction(text, statements))
                or (yoyo_folder(file.parent) and _yoyo_transactional(text)))
        if file in graphile_files:
            statements = _graphile_pg_settings(_graphile_folder(file), Location(shown, 1)) \
                + statements
        if flyway is not None and flyway.schema is not None:
            statements = _flyway_search_path(flyway, Location(shown, 1)) + statements
        runner = "refinery" if file in refinery_files else None
        migrations.append(Migration(shown, statements, kind="sql", file=file,
                                    starts_in_transaction=in_transaction, includes=includes,
                                    runner=runner,
                                    flyway=flyway is not None, callback=callback_of.get(file),
                                    checksum=_checksum(file, data, flyway is not None
                                                       and file not in callback_of,
                                                       sqlx_folders)))
    if unvalued:
        from dbsafe.extract.flyway import env_name

        names = list(unvalued)
        log.warning("%s: the Flyway placeholder%s %s %s no value dbsafe knows (no "
                    "flyway.conf or flyway.toml, nor Spring Boot's spring.flyway.placeholders or "
                    "Maven's flyway-maven-plugin, "
                    "gives one for the folder), so %s run as written; give "
                    "%s as %s", unvalued[names[0]][1], "s" if len(names) > 1 else "",
                    ", ".join(names[:5]) + (", ..." if len(names) > 5 else ""),
                    "have" if len(names) > 1 else "has",
                    "they are" if len(names) > 1 else "it is",
                    "their values" if len(names) > 1 else "its value",
                    ", ".join(env_name(unvalued[n][0]) for n in names[:5]))
    if unset_envsub:
        names = list(unset_envsub)
        log.warning("%s: goose fills in %s from its environment (-- +goose ENVSUB ON), "
                    "which dbsafe's does not set, so %s linted as written; set %s as "
                    "goose's environment has %s", unset_envsub[names[0]],
                    ", ".join("$" + n for n in names[:5]) + (", ..." if len(names) > 5 else ""),
                    "they are" if len(names) > 1 else "it is",
                    "them" if len(names) > 1 else "it", "them" if len(names) > 1 else "it")
    return migrations


# `sql-migrations-in-transaction = "all"`, said as why files share one transaction
ALL_IN_ONE = '`sql-migrations-in-transaction = "all"`'
# node-pg-migrate's, for its folder when the setting is not given
NODE_PG_MIGRATE_ONE = "node-pg-migrate's `--single-transaction`, its default"
# alembic's: `alembic upgrade` runs every pending revision in one transaction unless env.py
# sets `transaction_per_migration=True`
ALEMBIC_ONE = "`alembic upgrade`'s, `transaction_per_migration` off as env.py configures it"


def shared_transactions(migrations: Sequence[Migration],
                        setting: bool | str | None) -> list[Migration]:
    """`migrations` with those that run in the one transaction their runner opens for every
    pending file marked (`Migration.shares_transaction`, with why): with
    `sql-migrations-in-transaction = "all"` (`setting`), each that runs in a transaction; the
    setting not given (None), each of a node-pg-migrate folder (`up` runs the pending ones
    in one transaction, `--single-transaction`, unless told `--no-single-transaction`) and
    each Flyway migration whose configuration sets `group = true`, and that runs in a
    transaction. Never a Flyway callback (run on its own). `true` or `false` given: none
    (the project says how its runner runs them).
    """
    folders: dict[Path, str] = {}  # why the folder's runner groups them, "" when it does not

    def why(migration: Migration) -> str:
        if setting == "all":
            return ALL_IN_ONE
        if setting is not None or migration.file is None:
            return ""
        folder = migration.file.parent
        if folder not in folders:
            folders[folder] = NODE_PG_MIGRATE_ONE if node_pg_migrate_folder(folder) else ""
        if folders[folder] or not migration.flyway:
            return folders[folder]
        config = flyway_config(folder)
        if not config.group:
            return ""
        told = "FLYWAY_GROUP" if dict(config.environ).get("FLYWAY_GROUP") else ", ".join(
            f.name for f in (*config.files, *config.spring, *config.build))
        return "Flyway's `group = true`" + (f" ({told})" if told else "")

    return [replace(m, shares_transaction=reason)
            if m.starts_in_transaction and m.callback is None and (reason := why(m)) else m
            for m in migrations]


def runner_unknown(folder: Path) -> bool:
    """Whether `folder`'s runner is none dbsafe knows: the folder carries no runner's marks
    (a Sqitch plan, a Flyway configuration or `V1__x.sql` names, supabase's, prisma's,
    drizzle-kit's, diesel's, sqlx's, refinery's, golang-migrate's, goose's, dbmate's,
    Atlas's, yoyo's, node-pg-migrate's, graphile-migrate's, pop's, postgres-migrations',
    a runner's listing), nor does any `.sql` file under it (goose's, sql-migrate's,
    dbmate's, node-pg-migrate's annotations, Liquibase's `--liquibase formatted sql`, a
    Hasura or diesel `up.sql`, golang-migrate's `1_x.up.sql`, postgrator's `1.do.x.sql`
    beside its `1.undo.x.sql`). `sql_migrations` then runs
    each of its statements on its own, as no runner does unless it sends them one by one."""
    from dbsafe.extract.sqitch import sqitch_project

    if not folder.is_dir():
        return False
    folder_marks = (
        lambda: sqitch_project(folder) is not None, lambda: refinery_folder(folder),
        lambda: not flyway_config(folder).names.default or bool(flyway_config(folder).files),
        lambda: supabase_cli_folder(folder), lambda: supabase_schemas_folder(folder),
        lambda: prisma_folder(folder), lambda: drizzle_folder(folder),
        lambda: diesel_folder(folder), lambda: sqlx_folder(folder),
        lambda: golang_migrate_folder(folder), lambda: goose_folder(folder),
        lambda: dbmate_folder(folder), lambda: atlas_folder(folder),
        lambda: yoyo_folder(folder), lambda: node_pg_migrate_folder(folder),
        lambda: graphile_migrate_folder(folder) or (folder.name == "committed"
                                                    and graphile_migrate_folder(folder.parent)),
        lambda: postgres_migrations_folder(folder))
    if any(mark() for mark in folder_marks):
        return False
    files = [p for p in folder.rglob("*.sql") if p.is_file()]
    if _flyway_folder(files) or _pop_selection(files)[1] is not None \
            or any(_folder_listing(f, {p.name for p in files if p.parent == f}) is not None
                   for f in {p.parent for p in files}):
        return False
    for file in files:
        if _UP_FILE.fullmatch(file.name) or _hasura_up(file) or _postgrator_file(file, "do") \
                or (file.name == "up.sql" and diesel_folder(file.parent.parent)):
            return False
        try:
            text = file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if runner_annotated(text) or _LIQUIBASE_FILE.match(text):
            return False
    return True


def psql_statements(file: Path, project: SqitchProject, command: str, root: Path
                    ) -> tuple[tuple[MigrationStatement, ...], tuple[Path, ...]]:
    """The statements psql runs for a script of a Sqitch project, run by `sqitch <command>`
    (its variables, from `project`'s folder), and the other files it includes.

    Raises:
        SourceError: psql would stop before running it (an include missing or looping).
    """
    from dbsafe.extract.files import display_path
    from dbsafe.extract.psql import PsqlSession, read_script

    session = PsqlSession(project.variables(command), project.folder,
                          lambda path: display_path(path, root))
    statements = tuple(_statement(f.sql, f.location(0)) for f in read_script(file, session))
    return statements, tuple(dict.fromkeys(p for p in session.files[1:]))


def psql_script(file: Path, root: Path) -> tuple[tuple[MigrationStatement, ...], tuple[Path, ...]]:
    """The statements `psql -f FILE` runs, given no variables and run in the file's folder
    (`\\i` reads from there, as `\\ir` does), each located in the file that holds it (shown
    relative to `root`); and the other files it includes.

    Raises:
        SourceError: the file cannot be read, or psql would stop before running it (an
            include missing or looping).
    """
    from dbsafe.extract.files import display_path
    from dbsafe.extract.psql import PsqlSession, read_script

    session = PsqlSession({}, file.parent, lambda path: display_path(path, root))
    statements = tuple(_statement(f.sql, f.location(0)) for f in read_script(file, session))
    return statements, tuple(dict.fromkeys(p for p in session.files[1:]))


def _graphile_folder(file: Path) -> Path:
    """The migrations folder of a graphile-migrate migration (`committed/` and `current`'s
    parent)."""
    return file.parent.parent if file.parent.name in ("committed", "current") else file.parent


def _sqitch_deploy_files(folder: Path, target: str | None = None
                         ) -> tuple[SqitchProject, list[Path]] | None:
    """The Sqitch project `folder` is (`dbsafe.extract.sqitch`), read for `target` (its
    variables: the plan and scripts are its default target's, as `dbsafe.migrate.histories`
    requires), and the deploy scripts `sqitch deploy` runs, in its plan's order; None when
    it is not one.

    Raises:
        SourceError: the plan names a change whose deploy script is not there (Sqitch
            cannot deploy it either), or no change at all, or the project is another
            engine's than PostgreSQL's.
    """
    from dbsafe.extract.sqitch import sqitch_project

    project = sqitch_project(folder)
    if project is None:
        return None
    if not project.on_postgresql:
        raise SourceError(f"{folder} is a Sqitch project for the {project.engine} engine; "
                          "dbsafe checks PostgreSQL's migrations (engine pg)")
    files = list(dict.fromkeys(project.deploy_files))
    missing = [p for p in files if not p.is_file()]
    if missing:
        shown = ", ".join(os.path.relpath(p, folder) for p in missing[:3])
        raise SourceError(f"{os.path.relpath(project.plan, folder)} plans "
                          f"{len(missing)} change(s) whose deploy script is not there "
                          f"({shown}{', ...' if len(missing) > 3 else ''})")
    if not files:
        raise SourceError(f"no SQL migrations under {folder}: "
                          f"{os.path.relpath(project.plan, folder)} plans no change")
    targeted = sqitch_project(folder, target) if target is not None else None
    return targeted or project, files


def _sqitch_deploy_project(file: Path) -> SqitchProject | None:
    """The Sqitch project for PostgreSQL `file` is a planned deploy script of, if any."""
    from dbsafe.extract.sqitch import project_of

    project = project_of(file)
    if project is None or not project.on_postgresql:
        return None
    planned = {p.resolve() for p in project.deploy_files}
    return project if file.resolve() in planned else None


# drizzle-orm's migrate() splits a drizzle-kit migration at each of these (its migrator's
# `query.split("--> statement-breakpoint")`) and sends each piece by itself.
_DRIZZLE_BREAKPOINT = "--> statement-breakpoint"


def _drizzle_breakpoints(text: str) -> str:
    """A drizzle-kit migration with each `--> statement-breakpoint` ending a statement, as
    drizzle-orm's migrate() sends the pieces between them one by one: a statement there
    ends even without its `;` (WunderGraph cosmo's `0125_acoustic_jackpot.sql` ends an
    INSERT so, then an ALTER TABLE follows: drizzle-orm 0.45.4 runs both, read as one
    statement they were 42601). Each `;` is padded to the marker's length, so every
    statement keeps its place in the file.

    >>> _drizzle_breakpoints("INSERT INTO t SELECT 1\\n--> statement-breakpoint\\nALTER TABLE t")
    'INSERT INTO t SELECT 1\\n;                       \\nALTER TABLE t'
    """
    return text.replace(_DRIZZLE_BREAKPOINT, ";".ljust(len(_DRIZZLE_BREAKPOINT)))


def _statement(sql: str, location: Location) -> MigrationStatement:
    """A statement read from a file, whose bytes that are not UTF-8 (surrogate escapes in
    `sql`) are shown and parsed as U+FFFD and sent to PostgreSQL as they are: a runner
    (supabase's CLI, psql) sends the file's bytes, which PostgreSQL refuses (22021), that
    statement only.

    >>> latin1 = _statement("SELECT 'caf\\udce9'", Location("x.sql", 1))
    >>> latin1.sql == "SELECT 'caf\\ufffd'", latin1.raw
    (True, b"SELECT 'caf\\xe9'")
    """
    try:
        sql.encode("utf-8")
    except UnicodeEncodeError:
        raw = sql.encode("utf-8", "surrogateescape")
        return MigrationStatement(raw.decode("utf-8", "replace"), location, raw=raw)
    return MigrationStatement(sql, location)


# gobuffalo/pop's and ory/popx's migration files: `<version>_<name>[.<dialect>]
# [.autocommit].(up|down).sql`, a dialect-less file serving every database. The dialect
# names pop knows, its synonyms for PostgreSQL's first.
_POP_FILE = re.compile(r"(?P<version>\d+)_[^.]+(?:\.(?P<dialect>[a-z0-9]+))??"
                       r"(?P<autocommit>\.autocommit)?\.(?P<direction>up|down)\.sql")
_POP_POSTGRES = frozenset({"postgres", "postgresql", "pg", "pgx"})
_POP_DIALECTS = _POP_POSTGRES | {"cockroach", "cockroachdb", "crdb", "mysql", "mariadb",
                                 "sqlite", "sqlite3", "yugabyte", "yugabytedb", "ydb"}


# A Go template action reading one of pop's connection options, as supabase/auth's
# migrations name their schema: `"{{ index .Options "Namespace" }}".users`.
_POP_OPTION = re.compile(r'\{\{-?\s*index\s+\.Options\s+"(?P<key>\w+)"\s*-?\}\}')


def _fill_pop_options(text: str) -> str:
    """`text` with each of pop's `{{ index .Options "Key" }}` replaced. Pop runs every SQL
    migration through Go's text/template with the connection's details (`MigrationContent`),
    so supabase/auth's `"{{ index .Options "Namespace" }}".users` reaches PostgreSQL as
    `"auth".users` (its DB_NAMESPACE, `auth` unless set); read as written, each was a false
    DBS001 and its statement unlinted (168 of its 205). The value is the deployment's: the key
    lower-cased stands in for it, so the statement parses as it will.

    >>> _fill_pop_options('ALTER TABLE "{{ index .Options "Namespace" }}".users ADD x int;')
    'ALTER TABLE "namespace".users ADD x int;'
    """
    if "{{" not in text:
        return text
    return _POP_OPTION.sub(lambda match: match["key"].lower(), text)


def _pop_selection(found: list[Path]) -> tuple[list[Path], frozenset[Path] | None]:
    """The files of a folder that pop runs on PostgreSQL, and which of them it runs
    outside a transaction (None when the folder is not pop's).

    A folder is pop's when a file names a dialect pop knows or `.autocommit`
    (`20191100000001000000_identities.postgres.up.sql`, `..._x.autocommit.up.sql`). Pop
    runs, for each version and direction, the file of its dialect, or else the dialect-less
    one (popx's `SortAndFilter`: keto's `20220513200300000000_x.postgres.up.sql` goes back
    with `20220513200300000000_x.down.sql`); a
    MySQL or SQLite file is never run on PostgreSQL (linted, kratos's hundreds read as
    DBS001). It runs each in a transaction of its own unless the name says `.autocommit`.

    >>> names = ["1_a.up.sql", "1_a.postgres.up.sql", "1_a.mysql.up.sql", "2_b.up.sql",
    ...          "3_c.sqlite3.up.sql", "4_d.postgres.autocommit.up.sql", "1_a.down.sql"]
    >>> kept, autocommit = _pop_selection([Path(n) for n in names])
    >>> [p.name for p in kept], [p.name for p in autocommit]
    (['1_a.postgres.up.sql', '2_b.up.sql', '4_d.postgres.autocommit.up.sql', '1_a.down.sql'], ['4_d.postgres.autocommit.up.sql'])
    """
    named = {p: _POP_FILE.fullmatch(p.name) for p in found}
    if not any(m is not None and ((m["dialect"] or "") in _POP_DIALECTS or m["autocommit"])
               for m in named.values()):
        return found, None
    specific = {(p.parent, m["version"], m["direction"]) for p, m in named.items()
                if m is not None and m["dialect"] in _POP_POSTGRES}
    kept = []
    for path, match in named.items():
        if match is None:
            kept.append(path)  # not a migration pop reads: linted as any .sql file is
        elif match["dialect"] is None:
            if (path.parent, match["version"], match["direction"]) not in specific:
                kept.append(path)
        elif match["dialect"] in _POP_POSTGRES:
            kept.append(path)
        elif match["dialect"] not in _POP_DIALECTS:
            kept.append(path)  # `1_x.y.up.sql`: a name with a dot in it, not a dialect
    autocommit = frozenset(p for p in kept if (m := named[p]) is not None and m["autocommit"])
    return kept, autocommit


# drizzle-kit's journal, in the folder it writes migrations to (its `out` folder, whatever
# that is named): the migrations drizzle-orm's migrate() applies, in order.
DRIZZLE_JOURNAL = os.path.join("meta", "_journal.json")
# drizzle-kit 1.0's layout has no journal: a folder per migration in its `out` folder,
# `<14-digit UTC timestamp>_<name>/migration.sql` beside that migration's `snapshot.json`
# (Latitude's `packages/platform/db-postgres/drizzle/20260303113537_create-latitude-schema/`).
_DRIZZLE_1_MIGRATION = re.compile(r"(\d{14})_[^/]*")
DRIZZLE_1_SNAPSHOT = "snapshot.json"


def drizzle_1_folder(folder: Path) -> bool:
    """Whether `folder` is drizzle-kit 1.0's `out` folder: no journal, no prisma lock file,
    and a `<timestamp>_<name>/` folder holding both `migration.sql` and `snapshot.json`
    (prisma's `<timestamp>_<name>/migration.sql` folders have no snapshot)."""
    if (folder / DRIZZLE_JOURNAL).is_file() or (folder / "migration_lock.toml").is_file():
        return False
    return any(_DRIZZLE_1_MIGRATION.fullmatch(snapshot.parent.name)
               and (snapshot.parent / "migration.sql").is_file()
               for snapshot in folder.glob(f"*/{DRIZZLE_1_SNAPSHOT}"))


def drizzle_1_for_postgresql(folder: Path) -> bool:
    """Whether drizzle-kit 1.0's `folder` is PostgreSQL's: its latest snapshot's `dialect`
    ("postgres"; "sqlite", "mysql", ... are others). One that cannot be read does not say no."""
    import json

    snapshots = sorted(folder.glob(f"*/{DRIZZLE_1_SNAPSHOT}"))
    if not snapshots:
        return True
    try:
        dialect = json.loads(snapshots[-1].read_text(encoding="utf-8-sig")).get("dialect")
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        return True
    return dialect in (None, "postgres", "postgresql", "pg")


def prisma_runs(path: Path, folder: Path) -> bool:
    """Whether prisma migrate runs `path`, a `.sql` file under its migrations `folder`: each
    migration folder's `migration.sql` (schema-engine's `MigrationDirectory`: one migration
    script per folder), nothing else. The `down.sql` its docs have you write beside it (run by
    hand with `prisma db execute`, langwatch's `<migration>/down.sql`), a `rollback.sql`, a
    seed or a script at the folder's top never run when it migrates."""
    return path.name == "migration.sql" and path.parent.parent == folder


def drizzle_1_runs(path: Path, folder: Path) -> bool:
    """Whether drizzle-orm 1.0's migrate() runs `path`, a `.sql` file under drizzle-kit 1.0's
    `folder`: each migration folder's `migration.sql`, nothing else."""
    return path.name == "migration.sql" and path.parent.parent == folder \
        and _DRIZZLE_1_MIGRATION.fullmatch(path.parent.name) is not None


def drizzle_1_millis(migration_folder: str) -> int | None:
    """What drizzle-orm 1.0 records as a migration's `created_at`: its folder name's
    timestamp as UTC milliseconds (`formatToMillis`), None for another name.

    >>> drizzle_1_millis("20260303113537_create-latitude-schema")
    1772537737000
    """
    import calendar
    import time

    found = _DRIZZLE_1_MIGRATION.fullmatch(migration_folder)
    if found is None:
        return None
    try:
        moment = time.strptime(found.group(1), "%Y%m%d%H%M%S")
    except ValueError:
        return None
    return calendar.timegm(moment) * 1000


def drizzle_folder(folder: Path) -> bool:
    """Whether `folder` is drizzle-kit's `out` folder, with its journal (0.x) or in 1.0's
    layout (`drizzle_1_folder`)."""
    return (folder / DRIZZLE_JOURNAL).is_file() or drizzle_1_folder(folder)


@dataclass(frozen=True, slots=True)
class _Listing:
    """How a runner runs one folder's files, as a file of its own there says."""

    names: tuple[str, ...] | None  # the files it runs, in its order (None: every file)
    in_transaction: bool = False  # each inside a transaction


def _folder_listing(folder: Path, present: set[str]) -> _Listing | None:
    """What a runner's listing in `folder` says of the `.sql` files `present` there, or
    None when there is none (or none dbsafe can read).

    temporal-sql-tool's `manifest.json` (temporal's and cadence's `schema/postgresql/v12/
    <store>/versioned/v1.13/`): exactly the files its `SchemaUpdateCqlFiles` names, in that
    order; a file it leaves out is never run (temporal's visibility v1.10-v1.12 list none,
    their columns are added by v1.13's combined file).

    drizzle-kit's journal (`DRIZZLE_JOURNAL`): the files its entries' tags name
    (`<tag>.sql`), in the journal's order, each inside a transaction (drizzle-orm's
    migrate() runs the pending files in one transaction: a file's `CREATE TEMP TABLE ... ON
    COMMIT DROP` lasts to its end, `CREATE INDEX CONCURRENTLY` fails). A `.sql` file it does
    not list never runs: Dokploy's `0130_abandoned_dagger.sql`, left beside the
    `0130_perpetual_screwball.sql` the journal names, adds a column a later migration adds.
    A journal naming none of the files present, or one dbsafe cannot read, governs none of
    them: they are run some other way, which nothing here says (midday's journal names only
    its never-committed `0000_silly_sage.sql`; its team applies `0001_x.sql` to `0039_x.sql`
    by hand, the `CREATE INDEX CONCURRENTLY` files among them each statement on its own: 18
    false DBS102 when they were read as run in a transaction).
    """
    import json

    manifest = folder / "manifest.json"
    if manifest.is_file():
        try:
            files = json.loads(manifest.read_text(encoding="utf-8-sig")).get(
                "SchemaUpdateCqlFiles")
        except (OSError, UnicodeDecodeError, ValueError, AttributeError):
            files = None
        if isinstance(files, list) and all(isinstance(f, str) for f in files):
            return _Listing(tuple(f.removeprefix("./") for f in files))
    if (folder / DRIZZLE_JOURNAL).is_file():
        names = _journal_names(folder)
        return _Listing(names, in_transaction=True) if present.intersection(names) else None
    return None


def _journal_names(folder: Path) -> tuple[str, ...]:
    """The files drizzle-kit's journal in `folder` names (`<tag>.sql`), in its order; none
    when it cannot be read."""
    import json

    try:
        tags = [entry["tag"] for entry in json.loads(
            (folder / DRIZZLE_JOURNAL).read_text(encoding="utf-8-sig"))["entries"]]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        return ()
    return tuple(f"{tag}.sql" for tag in tags if isinstance(tag, str))


def absent_listed_files(folder: Path) -> list[str]:
    """The files drizzle-kit's journal in `folder` names that are not there. drizzle-orm
    ran them where the journal was written, so production has what they made, and nothing
    says what that is: midday's journal names `0000_silly_sage.sql`, never committed, the
    migration that made its base tables (`bank_connections`, `tracker_projects`), beside
    the `0001_x.sql` to `0039_x.sql` its team applies (18 false DBS301)."""
    if not (folder / DRIZZLE_JOURNAL).is_file():
        return []
    return [name for name in _journal_names(folder) if not (folder / name).is_file()]


def _listed_selection(found: list[Path]) -> tuple[list[Path], dict[Path, int], set[Path]]:
    """The files their runners run (`_folder_listing`), their place in their folder's
    listing, and those run inside a transaction. Files of a folder without a listing are
    kept as they are, unranked."""
    present: dict[Path, set[str]] = {}
    for path in found:
        present.setdefault(path.parent, set()).add(path.name)
    listings = {folder: _folder_listing(folder, names) for folder, names in present.items()}
    kept, rank, wrapped = [], {}, set()
    for path in found:
        listing = listings[path.parent]
        if listing is not None and listing.names is not None:
            if path.name not in listing.names:
                continue
            rank[path] = listing.names.index(path.name)
        kept.append(path)
        if listing is not None and listing.in_transaction:
            wrapped.add(path)
    return kept, rank, wrapped


def unrun_files(folder: Path) -> list[Path]:
    """The `.sql` files of `folder` its runner does not run, which may have been run some
    other way (by hand, by the project's own script): those supabase's CLI skips by their
    name (quivr's hand-run `local_20240107152745_ollama.sql`), and those drizzle-kit's
    journal does not list (stay-rental's `0001_x.sql` to `0040_x.sql` beside its journal's
    `0000_x.sql`, which its `run-all-migrations.ts` applies), unless a listed file has their
    number: drizzle-kit numbers a file by its journal entry, so Dokploy's
    `0130_abandoned_dagger.sql` beside the listed `0130_perpetual_screwball.sql` is the
    leftover of a migration made again, never run. Down migrations never run. Of a
    graphile-migrate folder, its files that are no migrations and that its .gmrc does not
    run after a reset (`graphile_baseline`): `--!include` fixtures, a schema dump, and
    the baseline of a .gmrc dbsafe cannot read. Of a Sqitch project, the deploy scripts its
    plan does not name (its revert and verify scripts make nothing). Of a dbmate folder
    (`dbmate_folder`), its files whose name does not start with a version (`seed.sql`) and
    those in subfolders: dbmate skips them. Of diesel's migrations folder, every file but
    its migrations' `up.sql` (`_diesel_runs`). Of a golang-migrate, goose or sqlx folder,
    the files its runner does not name as migrations (`_runner_skips`: `seed.sql`).
    """
    if not folder.is_dir():
        return []
    from dbsafe.extract.sqitch import sqitch_project

    if (sqitch := sqitch_project(folder)) is not None:
        return sqitch.unplanned_deploy_files()
    if refinery_folder(folder):
        return sorted(p for p in folder.rglob("*.sql")
                      if p.is_file() and not _REFINERY_FILE.fullmatch(p.name))
    files = sorted(p for p in folder.rglob("*.sql") if p.is_file() and not _down_file(p))
    if graphile_migrate_folder(folder):
        run = {m.file for m in graphile_baseline(folder, folder)}
        return [p for p in files if _graphile_place(p, folder) == () and p not in run]
    if supabase_cli_folder(folder):
        return [p for p in files if not (p.parent == folder and _supabase_applied(p.name))]
    if dbmate_folder(folder):
        return [p for p in files if not _dbmate_runs(p, folder)]
    if diesel_folder(folder) and any(_diesel_runs(p, folder) for p in files):
        return [p for p in files if not _diesel_runs(p, folder)]
    if _flyway_folder(files):
        names = flyway_config(folder).names
        if names.default:
            return [p for p in files if not flyway_file(p.name)
                    and names.callback(p.name) is None]
    run = set(_runner_selection(files))
    if skipped := [p for p in files if p not in run]:
        return skipped
    listing = _folder_listing(folder, {p.name for p in files if p.parent == folder}) \
        if (folder / DRIZZLE_JOURNAL).is_file() else None
    if listing is None or listing.names is None:
        return []
    listed_numbers = {name.partition("_")[0] for name in listing.names}
    return [p for p in files if p.parent == folder and p.name not in listing.names
            and p.name.partition("_")[0] not in listed_numbers]


# golang-migrate's up migrations (and sqlx's, river's): golang-migrate's PostgreSQL
# drivers send the whole file as one query, which PostgreSQL runs as one implicit
# transaction when it holds several statements (CONCURRENTLY there fails with 25001); sqlx
# and river open a transaction around each file themselves.
_UP_FILE = re.compile(r"\d+_.*\.up\.sql", re.IGNORECASE)


# Postgrator's migrations (npm `postgrator`, its `getMigrations`: the name without its
# extension split at `.` into a version, `Number(...)`'d, an action and a description):
# `<version>.do[.<description>].sql` is an up migration, the `undo` of its version its
# down, which only `migrate(<lower target>)` runs. `migrate()` runs the `do` files by
# version, each sent as one query (`runSqlScript`), one implicit transaction when it holds
# several statements.
_POSTGRATOR_FILE = re.compile(r"(?P<version>[0-9]+)\.(?P<action>do|undo)(?:\..*)?\.sql")


def _postgrator_file(path: Path, action: str) -> bool:
    """Whether `path` is postgrator's `action` file of a version whose other action's file
    is beside it (`0002.undo.articles.sql` beside `0002.do.articles.sql`, whatever the
    descriptions).

    >>> _postgrator_file(Path("nowhere/0002.undo.x.sql"), "undo")
    False
    """
    found = _POSTGRATOR_FILE.fullmatch(path.name)
    if found is None or found["action"] != action:
        return False
    other = "undo" if action == "do" else "do"
    try:
        return any((sibling := _POSTGRATOR_FILE.fullmatch(p.name)) is not None
                   and sibling["action"] == other
                   and int(sibling["version"]) == int(found["version"])
                   for p in path.parent.glob(f"*.{other}*.sql") if p.is_file())
    except OSError:
        return False


def sent_as_one_query(file: Path) -> bool:
    """Whether the runner sends the migration `file` to PostgreSQL as one query, so that a
    statement added to it runs in one implicit transaction with the others (`CONCURRENTLY`
    there fails with 25001): a `<version>_<name>.up.sql` file (golang-migrate's PostgreSQL
    drivers send the whole file as one query, and sqlx its reversible files), any file of
    sqlx's folder (`-- no-transaction` included: one simple query) and a diesel `up.sql`
    (`batch_execute`)."""
    return (_UP_FILE.fullmatch(file.name) is not None or sqlx_folder(file.parent)
            or (file.name == "up.sql" and diesel_folder(file.parent.parent)))


def golang_migrate_folder(folder: Path) -> bool:
    """Whether `folder` holds golang-migrate's migrations: `<version>_<name>.up.sql` files
    directly in it, none named for one of pop's dialects (`_pop_selection`)."""
    try:
        up = [p for p in folder.iterdir() if _UP_FILE.fullmatch(p.name) and p.is_file()]
    except OSError:
        return False
    return bool(up) and _pop_selection(up)[1] is None


# golang-migrate's migration files, its source's `Regex` (source/parse.go:
# `^([0-9]+)_(.*)\.(down|up)\.(.*)$`, case and all): its source drivers skip every other file
# of the folder (iofs's `Init`: a name `Parse` fails on is `continue`).
_GOLANG_MIGRATE_FILE = re.compile(r"[0-9]+_.*\.(?:down|up)\..*")
# A name starting with a version, as plain numbered migrations are named (`2_x.sql`).
_NUMBERED = re.compile(r"[0-9]")
# goose's version (`NumericComponent` in its migration.go): the name up to its first `_`,
# an integer (Go's ParseInt: a sign allowed) of at least 1.
_GOOSE_VERSION = re.compile(r"([+-]?[0-9]+)_.*\.sql", re.DOTALL)


def _goose_runs(name: str) -> bool:
    """Whether goose takes `name` for a migration: `NumericComponent` parses its version.
    goose's Provider skips any other `.sql` file of its folder (`collectFilesystemSources`,
    not strict), its `goose up` refuses the folder ("could not parse SQL migration file"):
    neither runs it.

    >>> [_goose_runs(n) for n in ("00001_init.sql", "seed.sql", "0_x.sql", "init_db.sql")]
    [True, False, False, False]
    """
    found = _GOOSE_VERSION.fullmatch(name)
    return found is not None and 1 <= int(found.group(1)) < 2 ** 63


def goose_folder(folder: Path) -> bool:
    """Whether `folder` is goose's migrations folder: the first file of it goose would run
    (by name) is annotated `-- +goose Up`, as goose requires of every SQL migration. Only
    that file is read."""
    try:
        first = min((p for p in folder.iterdir() if _goose_runs(p.name) and p.is_file()),
                    default=None)
        if first is None:
            return False
        text = first.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return any(m.group("goose") for m in _SECTION.finditer(text))


def _runner_skips(folder: Path) -> Callable[[str], bool] | None:
    """Which `.sql` files directly in `folder` its runner skips, by their name, or None
    where dbsafe knows no runner of it that skips any (plain numbered files, sql-migrate's
    folder: it runs every `.sql` file there, a `seed.sql` after the numbered ones).

    sqlx's folder (`sqlx_folder`): a name without `_` (`seed.sql`; its `resolve_blocking`
    skips a name not of the form `<VERSION>_<DESCRIPTION>.sql`, and fails on one whose
    `<VERSION>` is no integer, which is kept). goose's (`goose_folder`): a name without its
    version (`_goose_runs`). golang-migrate's (`golang_migrate_folder`): a name its regex
    does not match (`_GOLANG_MIGRATE_FILE`: `init.sql`, `schema.sql`); a folder also holding
    a numbered file it does not match (`2_x.sql`, `0021_x_up.sql` beside `1_x.up.sql`) is
    run by some other runner, and its files are all kept.
    """
    if sqlx_folder(folder):
        return lambda name: "_" not in name
    if goose_folder(folder):
        return lambda name: not _goose_runs(name)
    if golang_migrate_folder(folder):
        try:
            names = [p.name for p in folder.iterdir() if p.suffix == ".sql"]
        except OSError:
            return None
        if any(_NUMBERED.match(name) and not _GOLANG_MIGRATE_FILE.fullmatch(name)
               for name in names):
            return None
        return lambda name: _GOLANG_MIGRATE_FILE.fullmatch(name) is None
    return None


def _runner_selection(found: Sequence[Path]) -> list[Path]:
    """`found` less the files their folder's runner skips (`_runner_skips`). Only a folder
    holding a name without goose's version (a name any of them skips has none) is asked."""
    skips = {folder: _runner_skips(folder)
             for folder in {p.parent for p in found if not _goose_runs(p.name)}}
    return [p for p in found if (skip := skips.get(p.parent)) is None or not skip(p.name)]


# Down migrations in files of their own: golang-migrate's (and friends') `1_x.down.sql`,
# Flyway's undo `U1__x.sql`.
_DOWN_FILE = re.compile(r"\d+_.*\.down\.sql|U\d+(?:[._]\d+)*__.*\.sql", re.IGNORECASE)


# A down migration named `<version>_<name>_down.sql` beside its `<version>_<name>_up.sql`:
# gitness's `0021_alter_table_webhook_add_internal_down.sql` among its `.up.sql` files,
# which its runner (maragudk/migrate: `^([\w-]+).down.sql`, any character before `down`)
# runs only when migrating down.
_PAIRED_DOWN_FILE = re.compile(r"(\d+_.*)_down\.sql", re.IGNORECASE)
# A down migration named `<version>_down__<name>.sql` beside an up migration of its version,
# `<version>_up__<name>.sql` (the names may differ): SylteA/Discord-Bot's runner
# (`(?P<version>\d+)_(?P<direction>(up)|(down))__(?P<name>.+).sql`) runs the down ones only
# when migrating down; run as up migrations, `001_down__delete_db.sql` sorted before
# `001_up__create_db.sql` and altered its tables before they were made again.
_VERSION_DIRECTION_FILE = re.compile(r"(?P<version>\d+)_(?P<direction>up|down)__.+\.sql",
                                     re.IGNORECASE)


def _down_file(path: Path) -> bool:
    """A down migration: `_DOWN_FILE`, hasura's `down.sql` beside its `up.sql` in the
    version's folder, yoyo's `<id>.rollback.sql` beside its `<id>.sql`, a
    `<version>_<name>_down.sql` beside its `<version>_<name>_up.sql`, a
    `<version>_down__<name>.sql` beside a `<version>_up__<other>.sql`, or any `<name>.down.sql`
    beside its `<name>.up.sql` (authelia's `V0001.Initial_Schema.down.sql`), or umzug's
    (@slonik/migrator's) `down/<name>.sql` beside its `<name>.sql`, or postgrator's
    `<version>.undo[.<name>].sql` beside a `<version>.do[.<name>].sql`."""
    if _DOWN_FILE.fullmatch(path.name):
        return True
    if _umzug_down_file(path):
        return True
    if (paired := _PAIRED_DOWN_FILE.fullmatch(path.name)) is not None \
            and path.with_name(paired.group(1) + "_up.sql").is_file():
        return True
    if path.name.lower().endswith(".down.sql") \
            and path.with_name(path.name[:-len(".down.sql")] + ".up.sql").is_file():
        return True
    if (named := _VERSION_DIRECTION_FILE.fullmatch(path.name)) is not None \
            and named["direction"].lower() == "down":
        return any(up["version"] == named["version"] and up["direction"].lower() == "up"
                   for sibling in path.parent.glob(f"{named['version']}_*")
                   if (up := _VERSION_DIRECTION_FILE.fullmatch(sibling.name)) is not None)
    if path.name.endswith(YOYO_ROLLBACK):
        return path.with_name(path.name[:-len(YOYO_ROLLBACK)] + ".sql").is_file()
    if _postgrator_file(path, "undo"):
        return True
    return path.name.lower() == "down.sql" and (path.parent / "up.sql").is_file()


def _umzug_down_file(path: Path) -> bool:
    """umzug's SQL migrations (@slonik/migrator's, its README's `resolve`) keep the down of
    `x.sql` in `down/x.sql` beside it; the up migrations are the folder's own files only."""
    return path.parent.name == "down" and (path.parent.parent / path.name).is_file()


# The annotations that split one file into its up and down sections, as goose, sql-migrate
# and dbmate read them (a comment line of its own), and goose's and sql-migrate's end of a
# statement written without its `;` (`-- +goose StatementEnd`).
_SECTION = re.compile(
    r"^[ \t]*--[ \t]*(?:\+goose[ \t]+(?P<goose>up|down)|\+migrate[ \t]+(?P<migrate>up|down)"
    r"|migrate:(?P<dbmate>up|down))\b",
    re.IGNORECASE | re.MULTILINE)
_STATEMENT_END = re.compile(r"[ \t]*--[ \t]*\+(?:goose|migrate)[ \t]+StatementEnd\b",
                            re.IGNORECASE)


# node-pg-migrate's SQL migrations (`<timestamp>_name.sql`, as its `create --migration-file-
# language sql` writes them): an `-- Up Migration` and a `-- Down Migration` comment
# (`createMigrationCommentRegex` in its sqlMigration.ts: case does not matter, nor dashes or
# spaces after the `--`). Each runs in a transaction: the one node-pg-migrate opens around
# the whole run (`--single-transaction`, its default) or around the migration (`BEGIN` and
# `COMMIT` about its steps); only a JavaScript migration can call `pgm.noTransaction()`, and
# a SQL one has no directive for it (node-pg-migrate 9.0.0 ran a `-- no transaction` file's
# `CREATE INDEX CONCURRENTLY` in its transaction: 25001, the whole run rolled back).
_NODE_PG_MIGRATE = re.compile(r"^\s*--[\s-]*(?P<direction>up|down)\s+migration",
                              re.IGNORECASE | re.MULTILINE)


def _node_pg_migrate_down(text: str) -> tuple[int, int] | None:
    """Where the down section of a node-pg-migrate SQL migration lies (its first and its
    end offset), as its `getActions` slices the file: from the first down comment to the up
    comment when that comes after it, else to the end. None for a file without both
    comments: a lone `-- down migration notes` of another runner's file is no section."""
    up = next((m for m in _NODE_PG_MIGRATE.finditer(text) if m["direction"].lower() == "up"),
              None)
    down = next((m for m in _NODE_PG_MIGRATE.finditer(text)
                 if m["direction"].lower() == "down"), None)
    if up is None or down is None:
        return None
    # (`^\s*` may begin on an earlier blank line: the section starts at the comment)
    start = text.index("--", down.start())
    return start, up.start() if up.start() > start else len(text)


def upgrade_section(text: str) -> str:
    """`text` as upgrading runs it: the lines of its down sections blanked (goose's
    `-- +goose Down`, sql-migrate's `-- +migrate Down`, dbmate's `-- migrate:down`, each
    up to the next up annotation; node-pg-migrate's `-- Down Migration`, to its up section or
    the end) and each `StatementEnd` annotation made the `;` it
    means to the runner. Lines and columns stay where they were; a file without these
    annotations is returned as it is.

    >>> upgrade_section("-- +goose Up\\nCREATE TABLE t ()\\n-- +goose StatementEnd\\n"
    ...                 "-- +goose Down\\nDROP TABLE t;\\n")
    '-- +goose Up\\nCREATE TABLE t ()\\n;\\n\\n\\n'
    """
    up = _one_direction(text, "up")
    return text if up is None else up


def runner_annotated(text: str) -> bool:
    """Whether `text` is annotated for its runner (goose's `-- +goose Up`, sql-migrate's
    `-- +migrate Up`, dbmate's `-- migrate:up`, node-pg-migrate's `-- Up Migration`): a
    migration of that runner, which records it when it runs it.

    >>> runner_annotated("-- +goose Up\\nSELECT 1;\\n"), runner_annotated("SELECT 1;\\n")
    (True, False)
    """
    return _one_direction(text, "up") is not None


def downgrade_section(text: str) -> str | None:
    """`text` as downgrading runs it: its up sections blanked (`upgrade_section`'s
    counterpart), or None for a file without a down section. Lines and columns stay.

    >>> downgrade_section("-- migrate:up\\nCREATE TABLE t ();\\n-- migrate:down\\n"
    ...                   "DROP TABLE t;\\n")
    '\\n\\n-- migrate:down\\nDROP TABLE t;\\n'
    """
    return _one_direction(text, "down")


def _one_direction(text: str, kept: str) -> str | None:
    """`text` with the sections of the other direction than `kept` ("up" or "down")
    blanked, or None when it has no down section (its lines before any annotation are up's)."""
    def blank(part: str) -> str:
        return re.sub(r"[^\n]", " ", part)

    if not _SECTION.search(text):
        down_section = _node_pg_migrate_down(text)
        if down_section is None:
            return None
        start, end = down_section
        return text[:start] + blank(text[start:end]) + text[end:] if kept == "up" \
            else blank(text[:start]) + text[start:end] + blank(text[end:])
    lines = text.split("\n")
    direction, found = "up", False
    for number, line in enumerate(lines):
        mark = _SECTION.match(line)
        if mark is not None:
            direction = (mark.group("goose") or mark.group("migrate")
                         or mark.group("dbmate")).lower()
            found = found or direction == "down"
        if direction != kept:
            lines[number] = ""
        elif _STATEMENT_END.match(line):
            lines[number] = ";"
    return "\n".join(lines) if found or kept == "up" else None


def down_section_line(file: Path) -> int:
    """The line the down migration in `file` starts on: its section's marker in a file of
    both directions (`-- migrate:down`, `-- +goose Down`, ...), else 1.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp, "1_a.sql")
    ...     _ = path.write_text("-- migrate:up\\nCREATE TABLE a ();\\n\\n-- migrate:down\\n")
    ...     down_section_line(path)
    4
    """
    try:
        text = downgrade_section(file.read_bytes().decode("utf-8-sig", errors="surrogateescape"))
    except OSError:
        return 1
    lines = (text or "").split("\n")
    return next((n for n, line in enumerate(lines, 1) if line.strip()), 1)


def down_migration(up: Migration, root: Path,
                   sqitch_target: str | None = None) -> Migration | None:
    """The down migration that undoes `up`, a SQL migration `sql_migrations` read, as its
    runner finds it: the down section of the same file (goose, sql-migrate, dbmate,
    node-pg-migrate), golang-migrate's `1_x.down.sql` beside `1_x.up.sql` (`1_x_down.sql` beside
    `1_x_up.sql`), diesel's and
    hasura's `down.sql` beside `up.sql`, Flyway's undo `U1__x.sql` for `V1__x.sql`, a
    Sqitch change's revert script (with the variables of `sqitch_target`, as `sqitch revert
    TARGET` runs it; the default target's without); None where there is none. It runs in a
    transaction where its up does (each runner wraps both directions alike)."""
    from dbsafe.extract.files import display_path
    from dbsafe.extract.sqlfile import split_sql

    if up.file is None:
        return None
    if up.file.suffix == ".py":
        read = yoyo_python_steps(up.file)
        if read is None or not read.rollback:
            return None
        statements, in_transaction = _yoyo_run(read.rollback, read, up.path)
        return Migration(up.path, statements, kind="sql", file=up.file,
                         starts_in_transaction=in_transaction)
    file, text = _down_file_of(up.file), None
    if file is None:
        try:
            text = downgrade_section(
                up.file.read_bytes().decode("utf-8-sig", errors="surrogateescape"))
        except OSError:
            return None
        if text is None:
            return None
        file = up.file
    else:
        try:
            text = file.read_bytes().decode("utf-8-sig", errors="surrogateescape")
        except OSError:
            return None
    shown = display_path(file, root)
    from dbsafe.extract.sqitch import project_of, revert_script

    project = project_of(up.file, sqitch_target) if file != up.file else None
    includes: tuple[Path, ...] = ()
    flyway = flyway_config(file.parent) if file != up.file and flyway_file(up.file.name) \
        else None  # a Flyway undo file: its placeholders filled in, its schema first
    if flyway is not None:
        text = fill_placeholders(text, flyway, file, shown)[0]
    if project is not None and revert_script(up.file) == file:
        statements, includes = psql_statements(file, project, "revert", root)
    else:
        statements = tuple(_statement(f.sql, f.location(0)) for f in split_sql(text, shown))
    own = _down_section_transaction(text, statements) if file == up.file \
        else _down_file_transaction(up, file, text, statements)
    in_transaction = up.starts_in_transaction if own is None else own
    if flyway is not None and flyway.schema is not None:
        statements = _flyway_search_path(flyway, Location(shown, 1)) + statements
    return Migration(shown, statements, kind="sql", file=file,
                     starts_in_transaction=in_transaction, includes=includes)


def _down_file_transaction(up: Migration, file: Path, text: str,
                           statements: Sequence[MigrationStatement]) -> bool | None:
    """Whether the runner runs a down migration kept in a file of its own in a transaction,
    where that file's own text decides; None where it runs as its up does.

    sqlx reads `-- no-transaction` in each file (`_sqlx_transaction`); golang-migrate sends
    each file as one query, one implicit transaction when it holds several statements, so a
    `1_x.down.sql` counts its own (an up in one with a single statement is so by
    `sql-migrations-in-transaction`, which holds for its down too); diesel's `down.sql` by
    the migration's `metadata.toml` and its own statements, as its `up.sql`; pop's by its own
    name (`2_b.postgres.autocommit.down.sql`: none, whatever its up's name says).
    """
    if up.file is not None and file.name == "down.sql" and up.file.name == "up.sql":
        return _diesel_transaction(file, statements) if diesel_folder(file.parent.parent) \
            else None
    if up.file is not None and (pop := _POP_FILE.fullmatch(file.name)) is not None \
            and _pop_version_files(up.file) is not None:
        return not pop["autocommit"]  # pop reads each file's name: its up's may differ
    if up.file is None or not _DOWN_FILE.fullmatch(file.name) \
            or not _UP_FILE.fullmatch(up.file.name):
        return None
    if sqlx_folder(up.file.parent):
        return _sqlx_transaction(text, statements)
    if golang_migrate_folder(up.file.parent):
        return len(statements) > 1 or (up.starts_in_transaction and len(up.statements) <= 1)
    return None


# The down sections' own options: sql-migrate's `-- +migrate Down notransaction` (its
# sqlparse: `DisableTransactionDown`, apart from the up's) and dbmate's
# `-- migrate:down transaction:false`.
_MIGRATE_DOWN = re.compile(r"^-- \+migrate Down\b(?P<options>.*)$", re.MULTILINE)
_DBMATE_DOWN = re.compile(r"^--\s*migrate:down(?:[ \t]*$|[ \t]+(?P<options>.*))", re.MULTILINE)


def _down_section_transaction(text: str, statements: Sequence[MigrationStatement],
                              ) -> bool | None:
    """Whether the runner runs a file's down section (`text`, its up sections blanked) in
    a transaction, where the down section says so itself; None where it runs as the up
    does (goose's `NO TRANSACTION` is the file's).

    sql-migrate runs it in one unless a `-- +migrate Down` line says `notransaction`, whatever
    the up's lines say; dbmate unless its `-- migrate:down` line says `transaction:false`, and
    then still in one implicit transaction when it holds several statements (it sends the
    section as one query).

    >>> _down_section_transaction("-- +migrate Down\\nDROP INDEX CONCURRENTLY i;\\n", [])
    True
    >>> _down_section_transaction("-- +migrate Down notransaction\\nDROP INDEX CONCURRENTLY i;", [])
    False
    >>> _down_section_transaction("-- +goose Down\\nDROP TABLE t;\\n", []) is None
    True
    """
    migrate = [m.group("options").split() for m in _MIGRATE_DOWN.finditer(text)]
    if migrate:
        return not any("notransaction" in options for options in migrate)
    dbmate = [(m.group("options") or "") for m in _DBMATE_DOWN.finditer(text)]
    if dbmate:
        return not _DBMATE_NO_TRANSACTION.search(" ".join(dbmate)) or len(statements) > 1
    return None


def _down_file_of(up: Path) -> Path | None:
    """The file holding the down migration of the up migration `up`, when the runner keeps
    it in a file of its own."""
    name = up.name
    if (pop := _pop_version_files(up)) is not None:
        return next((p for p in pop if p.name.endswith(".down.sql")), None)
    if name.lower().endswith((".up.sql", "_up.sql")):  # 1_x.up.sql, gitness's 21_x_up.sql
        candidates = [up.with_name(name[:-len(".up.sql")] + name[-7] + "down.sql")]
        if (version := re.match(r"[0-9]+_", name)) and golang_migrate_folder(up.parent):
            # golang-migrate pairs a version's files by the version alone: concourse's
            # `1554469235_add_new_inputs_to_jobs.up.sql` goes back with `..._to_job.down.sql`
            candidates += sorted(up.parent.glob(f"{version.group()}*.down.sql"))
    elif name.lower() == "up.sql":
        candidates = [up.with_name("down.sql")]
    elif (flyway := re.fullmatch(r"V(\d+(?:[._]\d+)*)__.*\.sql", name)) is not None:
        candidates = sorted(up.parent.glob(f"U{flyway.group(1)}__*.sql"))
    elif (named := _VERSION_DIRECTION_FILE.fullmatch(name)) is not None \
            and named["direction"].lower() == "up":
        # Discord-Bot's runner pairs a version's files by the version alone:
        # `005_up__custom_roles.sql` goes back with `005_down__custom_role.sql`
        candidates = sorted(
            sibling for sibling in up.parent.glob(f"{named['version']}_*")
            if (down := _VERSION_DIRECTION_FILE.fullmatch(sibling.name)) is not None
            and down["version"] == named["version"] and down["direction"].lower() == "down")
    elif name.endswith(".sql") and yoyo_folder(up.parent):
        candidates = [up.with_name(name[:-len(".sql")] + YOYO_ROLLBACK)]
    elif _postgrator_file(up, "do"):
        do = int(_POSTGRATOR_FILE.fullmatch(name)["version"])  # type: ignore[index]
        candidates = sorted(p for p in up.parent.glob("*.undo*.sql")
                            if (undo := _POSTGRATOR_FILE.fullmatch(p.name)) is not None
                            and undo["action"] == "undo" and int(undo["version"]) == do)
    else:
        from dbsafe.extract.sqitch import revert_script

        candidates = [c for c in (revert_script(up), up.parent / "down" / name)
                      if c is not None]
    return next((c for c in candidates if c.is_file()), None)


def _pop_version_files(up: Path) -> list[Path] | None:
    """The files pop runs on PostgreSQL for the version of its up migration `up` (its down
    migration among them: the `.postgres.` one, else the dialect-less one, whatever the up
    file's dialect), or None when no file of that version names a pop dialect."""
    match = _POP_FILE.fullmatch(up.name)
    if match is None:
        return None
    kept, autocommit = _pop_selection(sorted(up.parent.glob(f"{match['version']}_*.sql")))
    return None if autocommit is None else kept


# What turns off the transaction these runners wrap each migration in.
_NO_TRANSACTION = re.compile(
    r"^[ \t]*--[ \t]*(?:\+goose[ \t]+NO[ \t]+TRANSACTION\b"
    r"|\+migrate[ \t]+up\b.*\bnotransaction\b|migrate:up\b.*\btransaction:false\b)",
    re.IGNORECASE | re.MULTILINE)


# dbmate's up sections (`upRegExp` in its pkg/dbmate/migration.go) and the option that
# runs one outside a transaction.
_DBMATE_UP = re.compile(r"^--\s*migrate:up(?:[ \t]*$|[ \t]+(?P<options>.*))", re.MULTILINE)
_DBMATE_NO_TRANSACTION = re.compile(r"(?:^|\s)transaction:false(?:\s|$)")


def _dbmate_sections(text: str, statements: tuple[MigrationStatement, ...], path: str
                     ) -> tuple[tuple[MigrationStatement, ...], bool] | None:
    """The statements of a dbmate file as dbmate runs them, and whether the first runs in a
    transaction; None for a file that is not dbmate's (no `-- migrate:up`).

    dbmate runs each up section of a file on its own, in a transaction unless its line says
    `transaction:false` -- and even then it sends the section through lib/pq as one simple
    query (`tx.Exec(up)`), which PostgreSQL runs as one implicit transaction when it holds
    several statements (25001 for CONCURRENTLY beside anything else: dbmate's issues #126,
    #182, #285). Between two sections the transaction ends (a generated COMMIT) and the next
    one's begins (a generated BEGIN).

    >>> from dbsafe.core import Location
    >>> text = ("-- migrate:up\\nCREATE TABLE a (id int);\\n-- migrate:down\\n"
    ...         "-- migrate:up transaction:false\\nCREATE INDEX CONCURRENTLY i ON a (id);\\n")
    >>> run, first = _dbmate_sections(text, (MigrationStatement("CREATE TABLE a (id int)",
    ...     Location("x.sql", 2, 1)), MigrationStatement("CREATE INDEX CONCURRENTLY i ON a (id)",
    ...     Location("x.sql", 5, 1))), "x.sql")
    >>> first, [(s.sql.split()[0], s.generated) for s in run]
    (True, [('CREATE', False), ('COMMIT', True), ('CREATE', False)])
    """
    marks = [(text.count("\n", 0, m.start()) + 1,
              _DBMATE_NO_TRANSACTION.search(m.group("options") or "") is None)
             for m in _DBMATE_UP.finditer(text)]
    if not marks:
        return None
    sections = _sections(statements, [line for line, _ in marks])
    in_transaction = [wraps or len(section) > 1
                      for (_, wraps), section in zip(marks, sections, strict=True)]
    return _run_sections(sections, [line for line, _ in marks], in_transaction, path)


def _sections(statements: Sequence[MigrationStatement], starts: Sequence[int]
              ) -> list[list[MigrationStatement]]:
    """`statements` by the section of the file they lie in, sections starting at the lines
    `starts` (a statement before the first, in the first)."""
    sections: list[list[MigrationStatement]] = [[] for _ in starts]
    for statement in statements:
        index = max((i for i, line in enumerate(starts) if line <= statement.location.line),
                    default=0)
        sections[index].append(statement)
    return sections


def _run_sections(sections: Sequence[Sequence[MigrationStatement]], starts: Sequence[int],
                  in_transaction: Sequence[bool], path: str
                  ) -> tuple[tuple[MigrationStatement, ...], bool]:
    """The statements of a file whose sections run each on its own, in a transaction or
    not: between two sections the transaction ends (a generated COMMIT) and the next one's
    begins (a generated BEGIN); and whether the first section runs in a transaction."""
    run: list[MigrationStatement] = []
    for index, section in enumerate(sections):
        if index:
            at = Location(path, starts[index], 1)
            if in_transaction[index - 1]:
                run.append(MigrationStatement("COMMIT", at, generated=True))
            if in_transaction[index]:
                run.append(MigrationStatement("BEGIN", at, generated=True))
        run.extend(section)
    return tuple(run), in_transaction[0]


# Liquibase's formatted SQL: a file opening with `--liquibase formatted sql`, each
# `--changeset author:id attribute:value ...` line starting a changeset
# (`FormattedSqlChangeLogParser`).
_LIQUIBASE_FILE = re.compile(r"\s*--[ \t]*liquibase[ \t]+formatted[ \t]+sql", re.IGNORECASE)
_LIQUIBASE_CHANGESET = re.compile(r"^[ \t]*--[ \t]*changeset[ \t]+(?P<attributes>.*)$",
                                  re.IGNORECASE | re.MULTILINE)
_LIQUIBASE_ATTRIBUTE = re.compile(r"(?P<name>[A-Za-z]+):(?P<value>\S+)")


def _liquibase_changesets(text: str, statements: tuple[MigrationStatement, ...], path: str
                          ) -> tuple[tuple[MigrationStatement, ...], bool] | None:
    """The statements of a Liquibase formatted SQL file as Liquibase runs them on
    PostgreSQL, and whether the first runs in a transaction; None for a file that is not
    one.

    Liquibase runs each changeset in a transaction of its own (it commits after each)
    unless it says `runInTransaction:false`: then each statement commits on its own (JDBC
    autocommit). A changeset whose `dbms:` leaves PostgreSQL out (`dbms:mysql`,
    `dbms:!postgresql`) does not run on it: its statements are not linted.

    >>> from dbsafe.core import Location
    >>> text = ("--liquibase formatted sql\\n--changeset a:1 dbms:mysql\\nCREATE TABLE a (id INT "
    ...         "AUTO_INCREMENT);\\n--changeset a:2 runInTransaction:false\\nSELECT 1;\\n")
    >>> run, first = _liquibase_changesets(text, (MigrationStatement("CREATE TABLE a ...",
    ...     Location("x.sql", 3, 1)), MigrationStatement("SELECT 1", Location("x.sql", 5, 1))),
    ...     "x.sql")
    >>> first, [s.sql for s in run]
    (False, ['SELECT 1'])
    """
    if not _LIQUIBASE_FILE.match(text):
        return None
    changesets = list(_LIQUIBASE_CHANGESET.finditer(text))
    if not changesets:
        return None
    starts = [text.count("\n", 0, m.start()) + 1 for m in changesets]
    attributes = [{a["name"].lower(): a["value"] for a in
                   _LIQUIBASE_ATTRIBUTE.finditer(m["attributes"])} for m in changesets]
    kept = [(section, start, attrs.get("runintransaction", "true").lower() != "false")
            for section, start, attrs in zip(_sections(statements, starts), starts, attributes,
                                             strict=True)
            if _liquibase_on_postgresql(attrs.get("dbms"))]
    if not kept:
        return (), False
    return _run_sections([s for s, _, _ in kept], [line for _, line, _ in kept],
                         [wraps for _, _, wraps in kept], path)


def _liquibase_on_postgresql(dbms: str | None) -> bool:
    """Whether a changeset's `dbms:` attribute (comma-separated, `!` excluding, `all`,
    `none`) lets it run on PostgreSQL (`DatabaseList.definitionMatches`)."""
    if dbms is None:
        return True
    names = {name.strip().lower() for name in dbms.split(",") if name.strip()}
    if "none" in names or "!postgresql" in names:
        return False
    included = {name for name in names if not name.startswith("!")}
    return not included or "all" in included or "postgresql" in included


def runner_wraps_in_transaction(text: str) -> bool:
    """Does the runner the file is annotated for run it inside one transaction? goose,
    sql-migrate and dbmate do unless told not to (`-- +goose NO TRANSACTION`,
    `-- +migrate Up notransaction`, `-- migrate:up transaction:false`).

    >>> runner_wraps_in_transaction("-- +goose Up\\nCREATE INDEX CONCURRENTLY i ON t (a);")
    True
    >>> runner_wraps_in_transaction("-- +goose NO TRANSACTION\\n-- +goose Up\\nSELECT 1;")
    False
    >>> runner_wraps_in_transaction("CREATE TABLE t ();")
    False
    """
    return _SECTION.search(text) is not None and _NO_TRANSACTION.search(text) is None


_FLYWAY_NAMES = FlywayNames()


def _flyway_callbacks(folder: Path, names: FlywayNames, found: Sequence[Path]
                      ) -> dict[Path, tuple[str, str | None]]:
    """Flyway's SQL callbacks in `folder` (`FlywayNames.callback`: `beforeMigrate.sql`,
    `afterMigrate__grants.sql`), by file: event and description. Only where the folder is
    Flyway's: its configuration names its files otherwise than Flyway's defaults, or one of
    `found` (the folder's `.sql` files, with the defaults) is a Flyway migration."""
    if names.default:
        if not any(flyway_file(p.name) for p in found):
            return {}
        candidates: Sequence[Path] = found
    else:
        candidates = [p for p in folder.rglob("*") if p.is_file()]
    return {p: event for p in candidates if (event := names.callback(p.name)) is not None}


def _described(description: str | None) -> tuple:
    """Callbacks of one event in the order Flyway runs them (`SqlScriptCallback.compareTo`):
    the one without a description first, then by description as Java compares strings."""
    return (0, "") if description is None else (1, description)


def _callback_key(event: str, description: str | None) -> tuple:
    """Where Flyway's migrate runs the callback of `event` among the migrations, as a
    `_version_key`: beforeMigrate before every versioned file, afterVersioned and
    beforeRepeatables after them (before the repeatable ones), afterMigrateApplied and
    afterMigrate after all."""
    rank = FLYWAY_MIGRATE_EVENTS.index(event)
    if event == "beforeMigrate":
        return (-1, (), (_described(description),))
    return (1, (), ((-1 if rank < 3 else 1, rank, _described(description)),))


def _flyway_of(file: Path, configs: dict[Path, FlywayConfig]) -> FlywayConfig:
    """The Flyway configuration of `file`'s folder, read once per folder into `configs`."""
    if file.parent not in configs:
        configs[file.parent] = flyway_config(file.parent)
    return configs[file.parent]


def _callback_statements(file: Path, root: Path, configs: dict[Path, FlywayConfig],
                         unvalued: dict[str, tuple[str, str]],
                         read: dict[Path, tuple[MigrationStatement, ...]]
                         ) -> tuple[MigrationStatement, ...]:
    """The statements of Flyway's callback `file`, its placeholders filled in, read once
    (into `read`) for all the migrations it runs around."""
    from dbsafe.extract.files import display_path
    from dbsafe.extract.sqlfile import split_sql

    if file not in read:
        shown = display_path(file, root)
        try:
            text = file.read_bytes().decode("utf-8-sig", errors="surrogateescape")
        except OSError as exc:
            raise SourceError(f"cannot read Flyway callback {file}: {exc}") from None
        flyway = _flyway_of(file, configs)
        text, unknown = fill_placeholders(text, flyway, file, shown)
        for name in unknown:
            unvalued.setdefault(flyway.prefix + name + flyway.suffix, (name, shown))
        read[file] = tuple(_statement(f.sql, f.location(0)) for f in split_sql(text, shown))
    return read[file]


def _flyway_folder(files: Sequence[Path]) -> bool:
    """Whether `files` (a folder's `.sql` files, down migrations aside) are a Flyway
    folder's: one of them is named as Flyway names a versioned or baseline migration
    (`V1__x.sql`, `B1__x.sql`).
    Flyway runs its versioned and repeatable migrations and its callbacks, and no other
    file of its locations (`seed.sql`, `notes.sql`: not named as it reads them, ignored
    unless `validateMigrationNaming` makes them an error)."""
    return any((found := _FLYWAY_NAMES.parse(p.name)) is not None and found[0] in ("V", "B")
               for p in files)


def flyway_file(name: str, names: FlywayNames | None = None) -> bool:
    """Whether `name` is a Flyway versioned, repeatable or baseline migration, named as
    `names` says (Flyway's own names without: `V1__x.sql`, `R__x.sql`, `B1__x.sql`);
    Flyway runs each in a transaction of its own.

    >>> flyway_file("V2_1__add_email.sql"), flyway_file("R__views.sql"), flyway_file("2_x.sql")
    (True, True, False)
    >>> flyway_file("M2-x.sql", FlywayNames(versioned="M", separator="-"))
    True
    """
    found = (names or _FLYWAY_NAMES).parse(name)
    return found is not None and found[0] != "U"


def flyway_new_database(migrations: Sequence[Migration], *, new: bool = True,
                        ran: str | None = None) -> list[Migration]:
    """`migrations` as Flyway runs them given its baseline migrations (`B2__x.sql`, named as
    their folder's configuration says: `FlywayNames.baseline`). On a `new` database (an
    empty history) it runs the newest of them (`MigrationInfoServiceImpl`:
    `getPendingResolvedVersionedMigrations` picks the pending baseline of the highest
    version), skips the versioned files at or below its version ("Below Baseline") and
    every other baseline file, and runs the versioned files above it and the repeatable
    ones after; on a database with a history it ignores every baseline file but the one
    it `ran` there, the one of the version of its history's `SQL_BASELINE` row (Flyway
    pairs a file with its row by version and type, `MigrationInfoServiceImpl.refresh`,
    whatever the file is named now, and never validates the baseline's own checksum),
    which stands for the versioned files up to it as on a new database. Without a
    baseline file, `migrations` as they are."""
    configs: dict[Path, FlywayNames] = {}
    kinds: dict[int, tuple[str, tuple[int, ...]]] = {}  # by position: Flyway's kind, version
    for at, m in enumerate(migrations):
        if not m.flyway or m.file is None or m.callback is not None:
            continue
        if m.file.parent not in configs:
            configs[m.file.parent] = flyway_config(m.file.parent).names
        found = configs[m.file.parent].parse(m.file.name)
        if found is not None and found[0] in ("V", "B") and found[1] is not None:
            kinds[at] = (found[0], FlywayNames.version_key(found[1]))
    baselines = [(version, at) for at, (kind, version) in kinds.items() if kind == "B"]
    if not baselines:
        return list(migrations)
    if not new:
        key = FlywayNames.version_key(ran) if ran and re.fullmatch(r"\d+(?:\.\d+)*", ran) \
            else None
        done = [(v, at) for v, at in baselines if v == key]
        if not done:
            return [m for at, m in enumerate(migrations) if kinds.get(at, ("",))[0] != "B"]
        baselines = done[:1]
    version, chosen = max(baselines, key=lambda b: (b[0], -b[1]))
    return [m for at, m in enumerate(migrations)
            if at == chosen or at not in kinds or (kinds[at][0] == "V"
                                                    and kinds[at][1] > version)]


def _checksum(file: Path, data: bytes, flyway: bool, sqlx_folders: dict[Path, bool]
              ) -> int | str | None:
    """`Migration.checksum` of `file`, of `data` (a `flyway` migration's, or one of sqlx's
    folder's; `sqlx_folders` says which folders are, looked at once per folder)."""
    if flyway:
        return flyway_checksum(data)
    if file.suffix != ".sql":
        return None
    if file.parent not in sqlx_folders:
        sqlx_folders[file.parent] = sqlx_folder(file.parent)
    if not sqlx_folders[file.parent]:
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None  # (sqlx cannot read it)
    import hashlib

    return hashlib.sha384(data).hexdigest()


def _flyway_transaction(file: Path, statements: Sequence[MigrationStatement]) -> bool:
    """Whether Flyway runs its migration `file` inside a transaction: yes, unless the
    script's own `<file>.conf` sets `executeInTransaction`, or a statement is one Flyway's
    PostgreSQL parser runs outside any (`detectCanExecuteInTransaction`: CREATE/DROP INDEX
    CONCURRENTLY, VACUUM, ...). Such a file runs statement by statement (a file mixing both
    kinds Flyway refuses unless `mixed` is set, and then runs the same way)."""
    conf = file.with_name(file.name + ".conf")
    if conf.is_file():
        try:
            for line in conf.read_text(encoding="utf-8-sig").splitlines():
                key, _, value = line.partition("=")
                if key.strip() == "executeInTransaction":
                    return value.strip().lower() != "false"
        except (OSError, UnicodeDecodeError):
            pass
    return not any(outside_transaction(s.sql) for s in statements)


def _flyway_search_path(config: FlywayConfig, location: Location
                        ) -> tuple[MigrationStatement, ...]:
    """What Flyway runs before each migration when told a schema (`defaultSchema` or
    `schemas`, which it made before the first: `flyway_schemas`): it puts that schema first
    on the search_path (`changeCurrentSchemaTo` of its PostgreSQL connection:
    `"app",<search_path>`), where the migration's unqualified names go. A generated
    statement: nothing for lint to check."""
    from psycopg import sql

    quoted = sql.Identifier(config.schema or "public").as_string(None).replace("'", "''")
    return (MigrationStatement(
        "SELECT pg_catalog.set_config('search_path', "
        f"'{quoted},' || pg_catalog.current_setting('search_path'), false)", location,
        generated=True),)


def flyway_schemas(folder: Path) -> str:
    """What Flyway runs before the first migration of `folder`, when it holds Flyway's
    migrations and its configuration names schemas: it creates those that are missing
    (`createSchemas`, on by default), `defaultSchema` and `schemas`. "" otherwise."""
    from psycopg import sql

    if not folder.is_dir():
        return ""
    config = flyway_config(folder)
    pattern = "*.sql" if config.names.default else "*"
    if next((p for p in folder.rglob(pattern) if flyway_file(p.name, config.names)),
            None) is None:
        return ""
    return "".join(f"CREATE SCHEMA IF NOT EXISTS {sql.Identifier(name).as_string(None)};\n"
                   for name in config.made_schemas)


def outside_transaction(sql: str) -> bool:
    """Whether Flyway's PostgreSQL parser takes `sql` for a statement that cannot run in a
    transaction (its `detectCanExecuteInTransaction`, PostgreSQL 12 and later); read by
    PostgreSQL's parser.

    >>> [outside_transaction(s) for s in ("CREATE UNIQUE INDEX CONCURRENTLY i ON t (a)",
    ...     "DROP INDEX CONCURRENTLY i", "VACUUM t", "ANALYZE t", "REINDEX SCHEMA s",
    ...     "REINDEX TABLE CONCURRENTLY t", "CREATE INDEX i ON t (a)")]
    [True, True, True, False, True, False, False]
    """
    from pglast import ast
    from pglast.enums import DiscardMode, ObjectType, ReindexObjectType

    from dbsafe.pg.parse import sole_statement

    node = sole_statement(sql)
    if isinstance(node, (ast.CreatedbStmt, ast.DropdbStmt, ast.CreateTableSpaceStmt,
                         ast.DropTableSpaceStmt, ast.CreateSubscriptionStmt,
                         ast.DropSubscriptionStmt, ast.AlterSystemStmt)):
        return True
    if isinstance(node, ast.IndexStmt):
        return bool(node.concurrent)
    if isinstance(node, ast.DropStmt):
        return bool(node.concurrent) and node.removeType == ObjectType.OBJECT_INDEX
    if isinstance(node, ast.ReindexStmt):
        return node.kind in (ReindexObjectType.REINDEX_OBJECT_SCHEMA,
                             ReindexObjectType.REINDEX_OBJECT_DATABASE,
                             ReindexObjectType.REINDEX_OBJECT_SYSTEM)
    if isinstance(node, ast.VacuumStmt):
        return bool(node.is_vacuumcmd)
    if isinstance(node, ast.DiscardStmt):
        return node.target == DiscardMode.DISCARD_ALL
    return False


def sqlx_folder(folder: Path) -> bool:
    """Whether `folder` is sqlx's migrations folder: it lies beside the `Cargo.toml` of a
    crate depending on sqlx (`sqlx::migrate!()` and `sqlx migrate run` read `migrations`
    there), or the crate it lies in names it (`sqlx_named_folders`: quickwit's
    `sqlx::migrate!("migrations/postgresql")`)."""
    return _depends_on_sqlx(folder.parent.resolve()) or _named_by_sqlx(folder.resolve())


# The levels above a folder searched for the crate whose sources may name it.
_CRATE_DEPTH = 4


@functools.cache
def _named_by_sqlx(folder: Path) -> bool:
    """Whether the nearest crate above `folder` (up to `_CRATE_DEPTH` levels) depends on sqlx
    and names `folder` in its sources (`sqlx_named_folders`)."""
    for crate in folder.parents[:_CRATE_DEPTH]:
        if (crate / "Cargo.toml").is_file():
            return _depends_on_sqlx(crate) and folder in sqlx_named_folders(crate)
    return False


# What names a migrations folder in a crate's Rust sources: `sqlx::migrate!("path")` (or
# `migrate!` imported; any delimiter), which sqlx-macros-core resolves against
# CARGO_MANIFEST_DIR, the crate's folder (`resolve_path`); and `Migrator::new(Path::new(
# "path"))`, read at run time from the working directory (taken as the crate's, where `cargo
# run` in the crate runs it).
_SQLX_NAMES = re.compile(
    r'\bmigrate!\s*[(\[{]\s*r?#*"([^"\\]+)"'
    r'|\bMigrator::new\(\s*&?\s*(?:std::path::)?Path::new\(\s*r?#*"([^"\\]+)"')


@functools.cache
def sqlx_named_folders(crate: Path) -> frozenset[Path]:
    """The folders the Rust files under the crate's `src` name as sqlx's migrations
    (`_SQLX_NAMES`), resolved. Read once per crate and run: only files mentioning a
    migrator are searched."""
    return _folders_named_in_rust(crate, ("migrate!", "Migrator::new"), _SQLX_NAMES)


def _folders_named_in_rust(crate: Path, needles: tuple[str, ...], names: re.Pattern[str],
                           default: str | None = None) -> frozenset[Path]:
    """The relative folders `names` finds (its first group that matched, else `default`)
    in the Rust files under the crate's `src` that hold one of `needles`, resolved against
    the crate's folder (CARGO_MANIFEST_DIR, where the macros resolve them)."""
    found: set[Path] = set()
    for file in (crate / "src").rglob("*.rs"):
        try:
            text = file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if not any(needle in text for needle in needles):
            continue
        for match in names.finditer(text):
            name = next((group for group in match.groups() if group), default)
            if name is not None and not os.path.isabs(name):
                found.add((crate / name).resolve())
    return frozenset(found)


def _depends_on_sqlx(crate: Path) -> bool:
    return any("sqlx" in table for table in _cargo_dependencies(crate, workspace=True))


@functools.cache
def _cargo_manifest(crate: Path) -> dict | None:
    """The crate's `Cargo.toml`, None where it cannot be read."""
    import tomllib

    try:
        return tomllib.loads((crate / "Cargo.toml").read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def _cargo_dependencies(crate: Path, *, workspace: bool = False) -> list[dict]:
    """The crate's `[dependencies]` and `[dev-dependencies]` tables (and, with `workspace`,
    its `[workspace.dependencies]`)."""
    manifest = _cargo_manifest(crate) or {}
    tables = [manifest.get(key) for key in ("dependencies", "dev-dependencies")]
    if workspace and isinstance(manifest.get("workspace"), dict):
        tables.append(manifest["workspace"].get("dependencies"))
    return [table for table in tables if isinstance(table, dict)]


# The features of diesel, sqlx and refinery that name another database than PostgreSQL.
_OTHER_DATABASES = frozenset({"sqlite", "mysql", "rusqlite", "rusqlite-bundled", "mysql_async",
                              "tiberius", "tiberius-config"})


def crate_for_postgresql(crate: Path, library: str) -> bool:
    """Whether the crate's `Cargo.toml` does not say `library` (diesel, sqlx, refinery) is
    for another database: its features name PostgreSQL (`postgres`, refinery's
    `tokio-postgres`), or no database at all (`workspace = true` keeps them in the
    workspace's manifest; a manifest that cannot be read does not say no)."""
    features: set[str] = set()
    for table in _cargo_dependencies(crate):
        dependency = table.get(library)
        if isinstance(dependency, dict) and isinstance(dependency.get("features"), list):
            features.update(str(feature) for feature in dependency["features"])
    return any(feature.startswith(("postgres", "tokio-postgres")) for feature in features) \
        or not features & _OTHER_DATABASES


def _sqlx_transaction(text: str, statements: Sequence[MigrationStatement]) -> bool:
    """Whether sqlx runs a migration of its folder in a transaction: yes, unless the file
    starts with `-- no-transaction`; even then it sends the file as one simple query, one
    implicit transaction when it holds several statements (sqlx-postgres' `apply`,
    `execute_migration`)."""
    return not text.startswith("-- no-transaction") or len(statements) > 1


# refinery's migration files (refinery_core's util.rs: `STEM_RE` and `.sql`, the class
# `[U|V]` as it writes it): `V2__x.sql` and `U3__x.sql` ("unversioned", run in version order
# with the others, where Flyway's `U` is an undo), in any subfolder (its `WalkDir`).
_REFINERY_FILE = re.compile(r"([U|V])(\d+(?:\.\d+)?)__(\w+)\.sql")
# What names a folder to refinery in a crate's Rust sources: `embed_migrations!("path")`,
# resolved against CARGO_MANIFEST_DIR, the crate's folder (refinery_macros' `crate_root`),
# without a path `migrations` there; and `load_sql_migrations("path")` (or of a
# `Path::new("path")`), read at run time from the working directory (taken as the crate's,
# as for sqlx's `Migrator::new`).
_REFINERY_NAMES = re.compile(
    r'\bembed_migrations!\s*[(\[{]\s*(?:r?#*"([^"\\]+)")?'
    r'|\bload_sql_migrations\(\s*&?\s*(?:(?:std::path::)?Path::new\(\s*)?r?#*"([^"\\]+)"')


def refinery_folder(folder: Path) -> bool:
    """Whether `folder` is refinery's migrations folder: the nearest crate above it (up to
    `_CRATE_DEPTH` levels) depends on refinery and embeds it (`embed_migrations!("path")`,
    or `embed_migrations!()` for its `migrations` folder: PeerDB's `nexus/catalog`). Its
    runner wraps each migration in a transaction with the insert of its history row, and
    has no way out of it (`AsyncTransaction::execute` for tokio-postgres, `Transaction` for
    postgres): `CREATE INDEX CONCURRENTLY` there fails with 25001, where Flyway, whose
    `V1__x.sql` names refinery shares, runs it outside any. (diesel_migrations' macro has
    the same name: a crate depending on both keeps its diesel folder diesel's.)"""
    return _refinery_crate(folder) is not None


def _refinery_crate(folder: Path) -> Path | None:
    """The crate whose code names `folder` as refinery's migrations (`refinery_folder`)."""
    folder = folder.resolve()
    for crate in folder.parents[:_CRATE_DEPTH]:
        if (crate / "Cargo.toml").is_file():
            return crate if depends_on_refinery(crate) and folder in \
                refinery_named_folders(crate) and not diesel_folder(folder) else None
    return None


def depends_on_refinery(crate: Path) -> bool:
    return any("refinery" in table for table in _cargo_dependencies(crate))


@functools.cache
def refinery_named_folders(crate: Path) -> frozenset[Path]:
    """The folders the Rust files under the crate's `src` embed or load as refinery's
    migrations (`_REFINERY_NAMES`), resolved. Read once per crate and run."""
    return _folders_named_in_rust(crate, ("embed_migrations!", "load_sql_migrations"),
                                  _REFINERY_NAMES, default="migrations")


# How a crate's code sets its refinery `Runner`'s checks (`set_abort_divergent(false)`,
# `set_abort_missing(false)`), the argument as written.
_REFINERY_ABORTS = re.compile(r"\.set_abort_(divergent|missing)\s*\(\s*([^()]*?)\s*\)")


@dataclass(frozen=True, slots=True)
class RefineryAborts:
    """Whether refinery's runner stops for an applied migration whose file changed
    (`abort_divergent`), and for a versioned file at or below the last version applied that
    never ran, or an applied one with no file (`abort_missing`). Either off, it logs the
    case (`log::error!`) and goes on: the changed file is not run again, the file below
    the last version is skipped, for good (refinery_core's `verify_migrations`)."""

    divergent: bool = True
    missing: bool = True


def refinery_aborts(file: Path) -> RefineryAborts:
    """How the code of the crate naming the refinery folder of the migration `file` (it or
    a folder above it: refinery walks its folder's subfolders) sets its runner's checks
    (`_crate_aborts`); refinery's defaults where no crate names it."""
    for folder in file.resolve().parents[:_CRATE_DEPTH]:
        crate = _refinery_crate(folder)
        if crate is not None:
            return _crate_aborts(crate)
    return RefineryAborts()


def refinery_root(file: Path) -> Path | None:
    """The refinery folder (`refinery_folder`) the migration `file` is one of: its own, or
    a folder above it (refinery walks its folder's subfolders); None when none is.
    Resolved."""
    for folder in file.resolve().parents[:_CRATE_DEPTH]:
        if _refinery_crate(folder) is not None:
            return folder
    return None


@functools.cache
def _crate_aborts(crate: Path) -> RefineryAborts:
    """How the code of `crate` sets its refinery runner's checks: off only where every call
    setting one says `false` literally (`set_abort_missing(false)`); a call with another
    argument (a variable) keeps refinery's default, which stops it."""
    said: dict[str, set[str]] = {"divergent": set(), "missing": set()}
    for file in (crate / "src").rglob("*.rs"):
        try:
            text = file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if "set_abort_" in text:
            for match in _REFINERY_ABORTS.finditer(text):
                said[match.group(1)].add(match.group(2))
    return RefineryAborts(divergent=said["divergent"] != {"false"},
                          missing=said["missing"] != {"false"})


# diesel's first migration, which `diesel setup` writes into every PostgreSQL project's
# migrations folder.
_DIESEL_SETUP = "00000000000000_diesel_initial_setup"


# The folder of PostgreSQL's migrations inside diesel's migrations folder, in a project
# that keeps one per database: vaultwarden's `migrations/postgresql` beside `mysql` and
# `sqlite`, which it embeds with `embed_migrations!("migrations/postgresql")` and runs as
# diesel runs any migrations folder.
DIESEL_POSTGRESQL_FOLDERS = frozenset({"postgresql", "postgres", "pg"})


def diesel_folder(folder: Path) -> bool:
    """Whether `folder` is diesel's migrations folder: it holds `diesel setup`'s first
    migration, or lies beside (or holds) a `diesel.toml`, or is the folder a `diesel.toml`
    up to three levels above names (`diesel_migrations_dir`), or the folder the crate it
    lies in embeds with diesel_migrations' `embed_migrations!` (`_embedded_by_diesel`:
    graph-node's `store/postgres/migrations`, with neither); or the PostgreSQL folder
    (`DIESEL_POSTGRESQL_FOLDERS`) of such a folder."""
    return _diesel_root(folder) or (folder.name.lower() in DIESEL_POSTGRESQL_FOLDERS
                                    and _diesel_root(folder.parent))


def _diesel_root(folder: Path) -> bool:
    if (folder / _DIESEL_SETUP).is_dir() or (folder / "diesel.toml").is_file() \
            or (folder.parent / "diesel.toml").is_file():
        return True
    resolved = folder.resolve()
    return any((above / "diesel.toml").is_file()
               and diesel_migrations_dir(above).resolve() == resolved
               for above in resolved.parents[1:3]) or _embedded_by_diesel(resolved)


# What names a folder to diesel_migrations in a crate's Rust sources: `embed_migrations!(
# "path")`, resolved against CARGO_MANIFEST_DIR, the crate's folder (migrations_macros'
# `resolve_migrations_directory`); without a path, the `migrations` folder its
# `search_for_migrations_directory` finds from the crate's `src` up (`_diesel_default`).
_DIESEL_NAMES = re.compile(r'\bembed_migrations!\s*[(\[{]\s*(?:r?#*"([^"\\]+)")?')


@functools.cache
def _embedded_by_diesel(folder: Path) -> bool:
    """Whether the nearest crate above `folder` (up to `_CRATE_DEPTH` levels) depends on
    diesel_migrations and its sources embed `folder` (`diesel_embedded_folders`), which holds
    diesel's migrations (a `<version>_<name>/up.sql`): diesel runs each in a transaction.
    graph-node's `store/postgres` embeds `./migrations` with no `diesel.toml` and no
    `diesel setup` migration: read as no runner's, each statement was linted as run on its
    own (DBS114 and DBS125 missed), and verify-reversible's walk refused its `LOCK TABLE`
    (25P01) where diesel runs it in the migration's transaction."""
    for crate in folder.parents[:_CRATE_DEPTH]:
        if (crate / "Cargo.toml").is_file():
            return depends_on_diesel_migrations(crate) \
                and folder in diesel_embedded_folders(crate) and _holds_diesel_migrations(folder)
    return False


def depends_on_diesel_migrations(crate: Path) -> bool:
    return any("diesel_migrations" in table for table in _cargo_dependencies(crate))


def _holds_diesel_migrations(folder: Path) -> bool:
    try:
        return any((child / "up.sql").is_file() for child in folder.iterdir())
    except OSError:
        return False


@functools.cache
def diesel_embedded_folders(crate: Path) -> frozenset[Path]:
    """The folders the Rust files under the crate's `src` embed with `embed_migrations!`
    (`_DIESEL_NAMES`), resolved; a call naming none embeds the folder diesel finds
    (`_diesel_default`). Read once per crate and run."""
    # (a call naming no folder comes back as the crate's own folder, `default=""`)
    named = _folders_named_in_rust(crate, ("embed_migrations!",), _DIESEL_NAMES,
                                   default="")
    default = _diesel_default(crate) if crate.resolve() in named else None
    return frozenset(f for f in named if f != crate.resolve()) | (
        {default} if default is not None else frozenset())


def _diesel_default(crate: Path) -> Path | None:
    """The folder `embed_migrations!()` embeds: `migrations` in the crate's `src`, else in
    the crate's folder or the nearest folder above it that has one
    (`search_for_migrations_directory`, from `src` up)."""
    for above in (crate / "src", crate, *crate.parents[:_CRATE_DEPTH]):
        if (above / "migrations").is_dir():
            return (above / "migrations").resolve()
    return None


def diesel_postgresql_folder(folder: Path) -> Path:
    """The folder of diesel's migrations folder `folder` that holds PostgreSQL's: `folder`
    itself, unless it holds no migration of its own (`<version>_<name>/up.sql`) but one
    folder per database, one of them PostgreSQL's (`DIESEL_POSTGRESQL_FOLDERS`)."""
    try:
        children = [child for child in folder.iterdir() if child.is_dir()]
    except OSError:
        return folder
    if any((child / "up.sql").is_file() for child in children):
        return folder
    found = [child for child in children if child.name.lower() in DIESEL_POSTGRESQL_FOLDERS]
    return found[0] if len(found) == 1 else folder


def diesel_migrations_dir(project: Path) -> Path:
    """The migrations folder of the diesel project whose `diesel.toml` is in `project`: the
    one its `[migrations_directory] dir` names (relative to it), else `migrations`."""
    import tomllib

    try:
        configured = tomllib.loads((project / "diesel.toml").read_text(
            encoding="utf-8-sig")).get("migrations_directory", {}).get("dir")
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        configured = None
    return project / (configured if isinstance(configured, str) else "migrations")


def _diesel_transaction(file: Path, statements: Sequence[MigrationStatement]) -> bool:
    """Whether `file` is a diesel migration's `up.sql` (or `down.sql`) that diesel runs in
    a transaction.

    A diesel migration is a folder `<version>_<name>/` of diesel's migrations folder
    (`diesel_folder`) holding `up.sql` and `down.sql`. diesel runs each in a transaction
    of its own unless its `metadata.toml` says `run_in_transaction = false` (for both);
    then it still sends the file as one simple query (`batch_execute`), one implicit
    transaction when it holds several statements (diesel_migrations'
    `MigrationHarness::run_migration` and `revert_migration`, `run_sql_from_file`)."""
    if file.name not in ("up.sql", "down.sql") or not (file.parent / "up.sql").is_file() \
            or not (file.parent / "down.sql").is_file() \
            or not diesel_folder(file.parent.parent):
        return False
    metadata = file.parent / "metadata.toml"
    if metadata.is_file():
        import tomllib

        try:
            if tomllib.loads(metadata.read_text(encoding="utf-8-sig")).get(
                    "run_in_transaction", True) is False:
                return len(statements) > 1
        except (OSError, UnicodeDecodeError, ValueError):
            pass
    return True


def _version_key(path: Path, folder: Path | None = None,
                 order: Callable[[str], tuple] | None = None,
                 names: FlywayNames | None = None) -> tuple:
    """Flyway runs versioned files (named as `names` says, its own names without) by
    version across all its folders, then repeatable ones by description, as Java compares
    strings (`ResolvedMigrationComparator`); other runners (and folders of migrations) go
    by name, numbers as numbers, unless the runner of `folder`, the folder `path` was found
    in, compares the names under it with `order` (`_runner_order`).

    >>> names = ["db/sub/V1_1__b.sql", "db/V10__c.sql", "db/V2__a.sql", "db/R__view.sql"]
    >>> [Path(n).name for n in sorted(names, key=lambda n: _version_key(Path(n)))]
    ['V1_1__b.sql', 'V2__a.sql', 'V10__c.sql', 'R__view.sql']
    >>> names = ["db/a/R__view_2.sql", "db/R__view_10.sql", "db/V1.sql"]
    >>> [Path(n).name for n in sorted(names, key=lambda n: _version_key(Path(n)))]
    ['V1.sql', 'R__view_10.sql', 'R__view_2.sql']
    >>> names = ["m/10_b/up.sql", "m/2_a/up.sql", "m/2_a/z.sql"]
    >>> sorted(names, key=lambda n: _version_key(Path(n)))
    ['m/2_a/up.sql', 'm/2_a/z.sql', 'm/10_b/up.sql']
    """
    names = names or _FLYWAY_NAMES
    found = names.parse(path.name)
    if found is not None and found[0] in ("V", "B") and found[1] is not None:
        return (0, names.version_key(found[1]), _natural_key(path))
    if found is not None and found[0] == "R":
        return (1, (), ((0, found[2]),) + _natural_key(path))
    if folder is not None and order is not None:
        inside = path.relative_to(folder).parts
        return (2, (), _natural_key(folder) + tuple(order(part) for part in inside))
    return (2, (), _natural_key(path))


def _refinery_key(path: Path) -> tuple:
    """refinery runs its migrations, versioned and unversioned alike, by version (`Ord for
    Migration`), wherever its folder holds them; among the other runners' Flyway files."""
    found = _REFINERY_FILE.fullmatch(path.name)
    assert found is not None
    return (0, FlywayNames.version_key(found.group(2)), _natural_key(path))


def _runner_order(folder: Path) -> Callable[[str], tuple] | None:
    """How the runner of `folder` compares the names of its migrations, when it does not
    read numbers as numbers: prisma migrate sorts its `<name>/migration.sql` folders with
    JavaScript's `localeCompare` (`listMigrations`); supabase's CLI takes
    `supabase/migrations/*.sql` as Go's `fs.ReadDir` lists them, by bytes, and Atlas its
    directory's files (`atlas_folder`) by name, and dbmate its files by name
    (`FindMigrations` sorts them by `FileName`: `20240105-x.sql` after `20240101000000_y.sql`,
    as dbmate 2.36.0 ran them); diesel its folders by version (`_diesel_key`). So
    `202310122339_x` (a hand-written twelve-digit name) runs after `20230912150657_y`,
    where natural order would put it first, before the table it alters exists."""
    if prisma_folder(folder):
        return _locale_key
    if yoyo_folder(folder):
        return _yoyo_order(folder)
    if supabase_cli_folder(folder) or supabase_schemas_folder(folder) or atlas_folder(folder) \
            or dbmate_folder(folder):
        return _byte_key
    if diesel_folder(folder):
        return _diesel_key
    if node_pg_migrate_folder(folder):
        return node_pg_migrate_key
    if postgres_migrations_folder(folder):
        return _postgres_migrations_key
    return None


# The files supabase's CLI applies (`migrateFilePattern` in its pkg/migration/file.go); it
# skips any other name, saying so, and reads no subfolder (`ListLocalMigrations`). Lovable
# wrote `<timestamp>-<uuid>.sql` (`<timestamp>-.sql` untitled) before it took the CLI's `_`,
# and ran each file on the project's database itself, not through the CLI: those ran too.
_SUPABASE_FILE = re.compile(r"[0-9]+_.*\.sql")
_LOVABLE_FILE = re.compile(
    r"[0-9]+-(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?\.sql")


def _supabase_applied(name: str) -> bool:
    """Whether a file of a `supabase/migrations` folder named `name` ran on the project's
    database: one the CLI applies, or one Lovable applied."""
    return _SUPABASE_FILE.fullmatch(name) is not None or \
        _LOVABLE_FILE.fullmatch(name) is not None


# The files dbmate runs in its migrations folder (`migrationFileRegexp` in its pkg/dbmate):
# their version the leading digits; any other file, and any subfolder, it skips.
_DBMATE_FILE = re.compile(r"(\d+).*\.sql", re.DOTALL)


def dbmate_folder(folder: Path) -> bool:
    """Whether `folder` is dbmate's migrations folder: the first file of it dbmate would run
    (by name, as it lists them) has its `-- migrate:up` section, which dbmate requires of
    every migration. Only that file is read."""
    try:
        first = min((p for p in folder.iterdir() if _DBMATE_FILE.fullmatch(p.name)
                     and p.is_file()), default=None)
        if first is None:
            return False
        text = first.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return _DBMATE_UP.search(text) is not None


def dbmate_version(name: str) -> str | None:
    """The version dbmate records for the migration file `name`, as text; None for a
    file it skips.

    >>> dbmate_version("20240105-tags.sql"), dbmate_version("seed.sql")
    ('20240105', None)
    """
    found = _DBMATE_FILE.fullmatch(name)
    return found.group(1) if found else None


def _dbmate_runs(path: Path, folder: Path) -> bool:
    """Whether dbmate runs `path`, a `.sql` file under its migrations `folder`: one directly
    in it whose name starts with its version (`20240105-tags.sql`; not `seed.sql`)."""
    return path.parent == folder and _DBMATE_FILE.fullmatch(path.name) is not None


def supabase_cli_folder(folder: Path) -> bool:
    """Whether `folder` is the `supabase/migrations` folder supabase's CLI applies. The CLI
    sends each file, with the insert of its version into its history table, as one batch,
    which PostgreSQL runs as one implicit transaction (`ExecBatch` in its
    pkg/migration/file.go): every file runs in a transaction, a file of one statement too,
    so `CREATE INDEX CONCURRENTLY` there fails (25001) and a lock is held to the file's end."""
    return folder.name == "migrations" and folder.parent.name == "supabase"


def supabase_schemas_folder(folder: Path) -> bool:
    """Whether `folder` is `supabase/schemas`, the declarative schema supabase's CLI applies
    to a shadow database (`supabase db diff` makes the migrations from it): with no
    `supabase/migrations` yet, the only statement of the project's schema. Each file is sent
    as one batch, so runs in a transaction (`SeedGlobals` in its pkg/migration/seed.go), in
    the order `_declared_schema_order` gives, else walked by name, byte by byte."""
    return folder.name == "schemas" and folder.parent.name == "supabase"


def _declared_schema_order(folder: Path) -> dict[Path, int] | None:
    """Each file config.toml's `[db.migrations] schema_paths` names, with its place, as
    supabase's CLI reads them (`Glob.Files` in its pkg/config): the globs, relative to the
    `supabase` folder, in their order, each one's matches sorted by name, each file once (a
    `**` matches one folder level, as Go's `fs.Glob`, and Python's without `recursive`); a
    file none matches is not applied. None: no `schema_paths`, every `.sql` file is."""
    import glob

    from dbsafe.extract.supabase_config import read_config

    try:
        patterns = read_config(folder.parent / "config.toml")["db"]["migrations"]["schema_paths"]
    except (KeyError, TypeError):
        return None
    if not isinstance(patterns, list) or not patterns \
            or not all(isinstance(p, str) for p in patterns):
        return None
    order: dict[Path, int] = {}
    for pattern in patterns:
        for match in sorted(glob.glob(pattern.removeprefix("./"), root_dir=folder.parent)):
            order.setdefault(folder.parent / match, len(order))
    return order


# The prisma release whose schema engine splits a `migration.sql` into its statements and
# sends each on its own (prisma-engines #5767, prisma 7.4.0); before it, `prisma migrate`
# sent the whole file as one simple query (`apply_migration_script`:
# `client.simple_query(script)`), which PostgreSQL runs as one implicit transaction.
_PRISMA_SPLITS = (7, 4)

# A version of the `prisma` package as package.json pins it: `5.22.0`, `^6.1.0`, `~7.3.0`,
# `6.x`, `=6.0.0`; ranges (`>=5`, `5 - 7`, `||`) and tags (`latest`, `catalog:`) are not.
_NPM_VERSION = re.compile(r"\s*(?P<op>[\^~]|=)?\s*v?(?P<major>\d+)"
                          r"(?:\.(?P<minor>\d+|[xX*])(?:\.(?:\d+|[xX*]))?)?(?:[-+][0-9A-Za-z.-]*)?\s*")


def _npm_version_before(spec: str, version: tuple[int, int]) -> bool:
    """Whether every version npm may install for `spec` is older than `version` (major,
    minor); False when it cannot tell.

    >>> [_npm_version_before(s, (7, 4)) for s in ("^6.19.0", "~7.3.0", "7.3.1", "^7.3.0",
    ...                                           "7.x", "6.x", ">=5", "latest")]
    [True, True, True, False, False, True, False, False]
    """
    found = _NPM_VERSION.fullmatch(spec)
    if found is None:
        return False
    major, minor = int(found["major"]), found["minor"]
    if found["op"] == "^" or minor is None or not minor.isdigit():  # any minor of the major
        return major < version[0]
    return (major, int(minor)) < version


def prisma_one_query(folder: Path, root: Path, known: dict[Path, bool]) -> bool:
    """Whether prisma migrate, the version the project depends on, sends each
    `migration.sql` of the prisma folder `folder` as one query: the `prisma` package that
    the nearest package.json naming it (from the folder's parent up to `root`) pins is
    surely older than 7.4 (`_PRISMA_SPLITS`). A file of several statements is then one
    implicit transaction. Where the project does not say, or may install 7.4 or later,
    each statement runs on its own, as today's prisma runs them. `known` caches the
    answer per folder."""
    if folder in known:
        return known[folder]
    answer = False
    if prisma_folder(folder):
        import json

        start, top = folder.resolve().parent, root.resolve()
        for parent in (start, *start.parents):
            try:
                manifest = json.loads((parent / "package.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                manifest = None
            spec = None
            if isinstance(manifest, dict):
                for key in ("dependencies", "devDependencies"):
                    deps = manifest.get(key)
                    if isinstance(deps, dict) and isinstance(deps.get("prisma"), str):
                        spec = deps["prisma"]
                        break
            if spec is not None:
                answer = _npm_version_before(spec, _PRISMA_SPLITS)
                break
            if parent == top or len(start.parts) - len(parent.parts) >= 8:
                break
    known[folder] = answer
    return answer


PRISMA_LOCK = "migration_lock.toml"


def prisma_folder(folder: Path) -> bool:
    """Whether `folder` is prisma migrate's: a `migration_lock.toml`, or
    `<name>/migration.sql` files without drizzle-kit 1.0's snapshots beside them."""
    return (folder / PRISMA_LOCK).is_file() or (
        any(folder.glob("*/migration.sql")) and not drizzle_1_folder(folder))


def _byte_key(name: str) -> tuple:
    return ((2, name.encode("utf-8")),)


def _diesel_key(name: str) -> tuple:
    """`name`, a folder of diesel's migrations folder, as diesel orders its migrations: by
    version, the name up to its first `_` without its dashes, compared as strings
    (migrations_internals' `version_from_string`; `MigrationHarness` sorts by it), so
    crates.io's `2017-08-31-230457_invitations` runs after `20170308140537_x`, not
    before its `20140924113530_dumped_migration_1`.

    >>> sorted(["2017-08-31-230457_b", "20140924113530_a", "2026-05-26-120000-0000_c"],
    ...        key=_diesel_key)
    ['20140924113530_a', '2017-08-31-230457_b', '2026-05-26-120000-0000_c']
    """
    return ((2, name.partition("_")[0].replace("-", "").encode("utf-8")),) + _byte_key(name)


def _diesel_runs(path: Path, folder: Path) -> bool:
    """Whether diesel runs `path`, a `.sql` file under its migrations `folder`: the `up.sql`
    of a folder directly in it. A file of `folder` itself (crates.io's hand-run
    `data_oauth_github.sql`) diesel skips (`migrations_directories`), and of a migration's
    folder it reads `up.sql` and `down.sql` alone."""
    return path.name == "up.sql" and path.parent.parent == folder


def node_pg_migrate_key(name: str) -> tuple:
    """`name`, a file of node-pg-migrate's folder, where node-pg-migrate sorts it
    (`compareMigrationFileNames`): by its leading number, seventeen digits read as the UTC
    moment to the millisecond they spell (`getNumericPrefix`, its `--migration-filename-
    format utc`) and any other count as the number (a `Date.now()` timestamp, an index), then
    by name, digits as numbers and punctuation ignored (`localeCompare`). So a folder whose
    names went from thirteen digits to seventeen runs them by moment, as they were made,
    not by number (node-pg-migrate 9.0.0 ran `20230101000000000_a.sql` before
    `1700000000000_c.sql`).

    >>> names = ["1700000000001_b", "20230101000000000_a", "1700000000000_c", "0002_x", "10_y"]
    >>> sorted(names, key=node_pg_migrate_key)
    ['0002_x', '10_y', '20230101000000000_a', '1700000000000_c', '1700000000001_b']
    >>> sorted(["1_B.sql", "1_a-x.sql", "1_a10.sql", "1_b.sql", "1_a9.sql", "1_A.sql", "1_a.sql"],
    ...        key=node_pg_migrate_key)
    ['1_a9.sql', '1_a10.sql', '1_a.sql', '1_A.sql', '1_a-x.sql', '1_b.sql', '1_B.sql']
    """
    import datetime

    digits = name[:len(name) - len(name.lstrip("0123456789"))]
    number = int(digits or 0)
    if len(digits) == 17:
        try:
            moment = datetime.datetime.strptime(digits[:14], "%Y%m%d%H%M%S").replace(
                tzinfo=datetime.UTC)
            number = int(moment.timestamp()) * 1000 + int(digits[14:])
        except ValueError:
            pass
    # (localeCompare's `ignorePunctuation` and `numeric`: `_natural_part` of what is left,
    # letters regardless of case first, then lower case before upper)
    folded = "".join(char for char in name if char.isalnum())
    return ((2, number, _natural_part(folded.casefold()), _natural_part(folded.swapcase())),)


def _locale_key(name: str) -> tuple:
    """`name` as JavaScript's `localeCompare` orders it in ICU's root collation, for names
    of letters, digits and punctuation: punctuation before digits before letters, letters
    regardless of case first, then lower case before upper.

    >>> sorted(["20240101000000_b", "20240101_a", "2024_B", "2024_a"], key=_locale_key)
    ['2024_a', '2024_B', '20240101_a', '20240101000000_b']
    """
    primary = tuple((0, ord(char)) if not char.isalnum() else (1, ord(char))
                    if char.isdigit() else (2, ord(char.casefold()[0])) for char in name)
    case = tuple(char.isupper() for char in name)
    return ((3, primary, case, name),)


def _natural_key(path: Path) -> tuple:
    return tuple(_natural_part(part) for part in path.parts)


def _natural_part(name: str) -> tuple:
    parts: list[object] = []
    digits = ""
    text = ""
    for char in name:
        if char.isdigit():
            if text:
                parts.append(text)
                text = ""
            digits += char
        else:
            if digits:
                parts.append(int(digits))
                digits = ""
            text += char
    parts.append(int(digits) if digits else text)
    return tuple((0, p) if isinstance(p, int) else (1, p) for p in parts)


# A Hasura project's migrations (`hasura migrate apply`): `<version>_<name>/up.sql` in its
# migrations folder (`migrations/<database>/` since its config v3), the project being the
# folder holding its `config.yaml` and `metadata/`. Its CLI sends the pending migrations'
# SQL to the server as `run_sql` queries of one bulk request, which the server runs in one
# transaction (hasura/graphql-engine#2939: no way to apply `CREATE INDEX CONCURRENTLY`).
_HASURA_VERSION = re.compile(r"[0-9]+_.*")


def _hasura_up(file: Path) -> bool:
    """Whether `file` is the `up.sql` of a Hasura project's migration."""
    if file.name != "up.sql" or not _HASURA_VERSION.fullmatch(file.parent.name):
        return False
    return any((project / "config.yaml").is_file() and (project / "metadata").is_dir()
               for project in (file.parent.parent.parent, file.parent.parent.parent.parent))


# Atlas's migration directory (`atlas migrate apply --dir`): its `.sql` files directly in
# it, with their sums in `atlas.sum`, applied in file name order (`LocalDir.Files`), each
# in a transaction of its own (`--tx-mode file`, the default) unless the file's directives
# (the comment lines it opens with, a blank line after them) say `atlas:txmode none`; then
# its statements run one by one. A directory of another tool's format that Atlas writes
# (`format = golang-migrate`, `goose`, `flyway`) runs as that tool runs it.
ATLAS_SUM = "atlas.sum"
_ATLAS_DIRECTIVE = re.compile(r"[ -~]*atlas:(\w+)(?: +(.+))*")


def atlas_folder(folder: Path) -> bool:
    """Whether `folder` is Atlas's migration directory in its own format: an `atlas.sum`,
    and not golang-migrate's `.up.sql` files."""
    return (folder / ATLAS_SUM).is_file() and not golang_migrate_folder(folder)


def _atlas_transaction(text: str) -> bool:
    """Whether `atlas migrate apply` runs a file of its directory in a transaction: yes,
    unless its file directives say `atlas:txmode none` (`txmodeFor`, `LocalFile.comments`
    in Atlas's sql/migrate)."""
    comments = []
    rest = text
    while rest.startswith(("#", "--")):
        line, newline, rest = rest.partition("\n")
        comments.append(line.strip())
        if not newline:
            rest = ""
            break
    if rest and not rest.lstrip(" \t").startswith("\n"):
        return True  # the comments belong to the first statement: no file directives
    for comment in comments:
        directive = _ATLAS_DIRECTIVE.fullmatch(comment)
        if directive is not None and directive.group(1) == "txmode":
            return directive.group(2) != "none"
    return True


# graphile-migrate's migrations folder (its `migrationsFolder`, `migrations` by default):
# the committed migrations, `committed/000001.sql` or `committed/000001-message.sql`, each
# opening with its headers (`--! Previous: ...`, `--! Hash: ...`), and the current one,
# `current.sql` or the files of `current/` (`1-x.sql`), which its watch mode runs after
# them. Its other .sql files are actions its .gmrc names (`afterReset`, `afterCurrent`) or
# `--!include` fixtures, which `graphile-migrate migrate` never runs as migrations.
_GRAPHILE_FILE = re.compile(r"([0-9]+)(?:-[-_a-zA-Z0-9]*)?\.sql")
_GRAPHILE_HEADER = re.compile(r"--! ([A-Z][a-zA-Z0-9_]*)(?::(.*))?")
_GRAPHILE_NO_TRANSACTION = re.compile(r"--!\s*no-transaction\b")


def _graphile_headers(text: str) -> tuple[set[str], str]:
    """The header names of a graphile-migrate file and its body, as its
    `parseMigrationText` reads them: the leading `--! Name: value` lines, then the rest,
    trimmed."""
    lines = text.split("\n")
    names = []
    for line in lines:
        header = _GRAPHILE_HEADER.fullmatch(line)
        if header is None:
            break
        names.append(header.group(1))
    return set(names), "\n".join(lines[len(names):]).strip()


def _graphile_committed(path: Path) -> bool:
    """A committed graphile-migrate migration: `committed/<number>[-message].sql` opening
    with the `Previous` and `Hash` headers graphile-migrate requires."""
    if path.parent.name != "committed" or not _GRAPHILE_FILE.fullmatch(path.name):
        return False
    try:
        with path.open(encoding="utf-8", errors="replace") as file:
            head = file.read(4096)
    except OSError:
        return False
    return {"Previous", "Hash"} <= _graphile_headers(head)[0]


def graphile_migrate_folder(folder: Path) -> bool:
    """Whether `folder` is graphile-migrate's migrations folder (its `committed/` holds a
    committed migration)."""
    committed = folder / "committed"
    try:
        return committed.is_dir() and any(_graphile_committed(p) for p in committed.iterdir())
    except OSError:
        return False


def _graphile_place(path: Path, top: Path | None) -> tuple | None:
    """Where graphile-migrate runs `path`, a file under `top` (any file: None), when a graphile-migrate
    migrations folder holds it: its migrations folder's order key, then the file's place
    there (committed by file name as its `localeCompare` orders them, then the current
    migration: `current.sql`, or `current/`'s files by number); `()` for a file of such a
    folder that it never runs as a migration; None for a file of no such folder."""
    for folder in (path.parent, path.parent.parent, path.parent.parent.parent):
        if (top is not None and folder != top.parent and not folder.is_relative_to(top)) \
                or not graphile_migrate_folder(folder):
            continue
        inside = path.relative_to(folder).parts
        if inside[0] == "committed" and len(inside) == 2 and _graphile_committed(path):
            number = _GRAPHILE_FILE.fullmatch(path.name).group(1)  # type: ignore[union-attr]
            return _natural_key(folder) + ((0,),) + _locale_key(number + ".sql")
        if inside == ("current.sql",):
            return _natural_key(folder) + ((1,),)
        if inside[0] == "current" and len(inside) == 2 and (
                current := _GRAPHILE_FILE.fullmatch(path.name)) is not None:
            return _natural_key(folder) + ((1,), (int(current.group(1)),))
        return ()
    return None


def graphile_current(path: Path) -> bool:
    """Whether `path` is graphile-migrate's current migration (`current.sql`, or a file of
    `current/`), which its watch mode reruns and `commit` turns into a committed one."""
    for folder in (path.parent, path.parent.parent):
        if graphile_migrate_folder(folder):
            inside = path.relative_to(folder).parts
            return inside == ("current.sql",) or (
                inside[0] == "current" and len(inside) == 2
                and _GRAPHILE_FILE.fullmatch(path.name) is not None)
    return False


# The placeholders graphile-migrate fills in itself, and how the keys of a .gmrc's
# `placeholders` are written (quoted: a JSON5 key starting with `:` must be).
_GRAPHILE_BUILTIN = (":DATABASE_NAME", ":DATABASE_OWNER")
_GRAPHILE_PLACEHOLDER_KEY = re.compile(r"""["'](:[A-Z][0-9A-Z_]+)["']\s*:""")


# graphile-migrate's configuration files, in the folder it runs from.
GRAPHILE_CONFIGS = (".gmrc", ".gmrc.js", ".gmrc.cjs")


def graphile_project_migrations(project: Path) -> Path | None:
    """The migrations folder of the graphile-migrate project whose configuration
    (`GRAPHILE_CONFIGS`) lies in `project`: its .gmrc's `migrationsFolder`, else (and for a
    `.gmrc.js`, code dbsafe does not run) graphile-migrate's default `./migrations`; None when
    there is no configuration, or no committed migration there."""
    import json5

    config = next((project / n for n in GRAPHILE_CONFIGS if (project / n).is_file()), None)
    if config is None:
        return None
    named: object = None
    if config.name == ".gmrc":
        try:
            settings = json5.loads(config.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError):
            settings = None
        named = settings.get("migrationsFolder") if isinstance(settings, dict) else None
    folder = project / (named if isinstance(named, str) and named else "migrations")
    return folder if graphile_migrate_folder(folder) else None


def graphile_config(folder: Path) -> Path | None:
    """The `.gmrc` (or `.gmrc.js`, `.gmrc.cjs`) of the project of graphile-migrate's
    migrations `folder`, which lies up to two folders above it (graphile/starter's
    `@app/db/.gmrc` beside `@app/db/migrations`; `folder` may be its `committed/`); None
    when there is none."""
    if folder.name == "committed" and graphile_migrate_folder(folder.parent):
        folder = folder.parent
    for project in (folder.parent, folder.parent.parent, folder.parent.parent.parent):
        for name in (".gmrc", ".gmrc.js", ".gmrc.cjs"):
            if (project / name).is_file():
                return project / name
    return None


def _graphile_placeholders(folder: Path) -> tuple[str, ...]:
    """The placeholders graphile-migrate replaces in the migrations of `folder`: its own two
    and the keys of `placeholders` in the project's `graphile_config`."""
    config = graphile_config(folder)
    try:
        text = config.read_text(encoding="utf-8-sig") if config is not None else ""
    except (OSError, UnicodeDecodeError):
        text = ""
    declared = _GRAPHILE_PLACEHOLDER_KEY.findall(text)
    return tuple(dict.fromkeys((*_GRAPHILE_BUILTIN, *declared)))


def _graphile_settings(folder: Path) -> dict:
    """The project's `graphile_config` as read (empty when there is none dbsafe can read).
    The file is JSON5 (comments, trailing commas, unquoted keys), read by the json5
    package; a `.gmrc.js` is code, not read."""
    import json5

    config = graphile_config(folder)
    if config is None or config.name != ".gmrc":
        return {}
    try:
        settings = json5.loads(config.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return {}
    return settings if isinstance(settings, dict) else {}


def _graphile_after_reset(folder: Path) -> list:
    """The `afterReset` actions of the project's `graphile_config` (empty when it has none
    dbsafe can read)."""
    actions = _graphile_settings(folder).get("afterReset")
    return actions if isinstance(actions, list) else []


def _graphile_pg_settings(folder: Path, location: Location) -> tuple[MigrationStatement, ...]:
    """The `pgSettings` of the project's `graphile_config` as graphile-migrate loads them
    into each session it opens, before any file runs (`set_config(key, value, false)`): a
    `search_path` there decides the schema of every table a migration names unqualified.
    One generated statement (nothing for lint to check), or none."""
    settings = _graphile_settings(folder).get("pgSettings")
    if not isinstance(settings, dict):
        return ()
    calls = []
    for key, value in settings.items():
        if isinstance(value, bool):
            text = "true" if value else "false"  # as node-postgres sends a boolean
        elif isinstance(value, (str, int)):
            text = str(value)
        elif isinstance(value, float):
            text = str(int(value)) if value.is_integer() else repr(value)
        else:
            continue  # null, a list, an object: no setting
        key_sql, text_sql = ("'" + t.replace("'", "''") + "'" for t in (str(key), text))
        calls.append(f"pg_catalog.set_config({key_sql}, {text_sql}, false)")
    if not calls:
        return ()
    return (MigrationStatement(f"SELECT {', '.join(calls)}", location, generated=True),)


def graphile_runs_commands(folder: Path) -> bool:
    """Whether graphile-migrate runs a command after a reset, before the migrations, of
    `folder`'s project (graphile/starter's `yarn workspace @app/worker install-db-schema`):
    what it makes, dbsafe cannot know."""
    if not graphile_migrate_folder(folder):
        if folder.name != "committed" or not graphile_migrate_folder(folder.parent):
            return False
        folder = folder.parent
    return any(isinstance(action, dict) and action.get("_") == "command"
               for action in _graphile_after_reset(folder))


def graphile_baseline(folder: Path, root: Path) -> list[Migration]:
    """The SQL files graphile-migrate runs after a reset, before the migrations (its .gmrc's
    `afterReset` actions: `"x.sql"`, `"!x.sql"` run as the superuser, or `{"_": "sql",
    "file": "x.sql"}`), each as its own query of its own session, placeholders filled in:
    what a database built from the folder has before its first migration (graphile/
    starter's `afterReset.sql` creates the `citext` extension its first migration's tables
    use). Empty for a folder that is not graphile-migrate's, or whose .gmrc dbsafe cannot
    read."""
    from dbsafe.extract.files import display_path
    from dbsafe.extract.sqlfile import split_sql

    if not graphile_migrate_folder(folder):
        if folder.name != "committed" or not graphile_migrate_folder(folder.parent):
            return []
        folder = folder.parent
    actions = _graphile_after_reset(folder)
    placeholders = _graphile_placeholders(folder)
    baseline = []
    for action in actions:
        name = action.removeprefix("!") if isinstance(action, str) else (
            action.get("file") if isinstance(action, dict) and action.get("_") == "sql"
            else None)
        if not isinstance(name, str) or not name.endswith(".sql"):
            continue  # a command: not SQL dbsafe can run
        file = folder / name
        try:
            text = file.read_bytes().decode("utf-8-sig", errors="surrogateescape")
        except OSError:
            continue
        shown = display_path(file, root)
        statements = tuple(_statement(f.sql, f.location(0)) for f in split_sql(
            _fill_graphile_placeholders(text, placeholders), shown))
        baseline.append(Migration(
            shown, _graphile_pg_settings(folder, Location(shown, 1)) + statements, kind="sql",
            file=file, starts_in_transaction=len(statements) > 1))
    return baseline


def _fill_graphile_placeholders(text: str, placeholders: Sequence[str]) -> str:
    """`text` with each placeholder as graphile-migrate replaces it (the key, then a word
    boundary), by a stand-in of the same width where it fits: `CURRENT_USER` for a role
    (`GRANT ... TO :DATABASE_VISITOR`, `OWNER TO :DATABASE_OWNER`), the identifier
    `current_database` for `:DATABASE_NAME`. The values are the deployment's, not the
    migration's: what matters to lint is that the statement parses as it will.

    >>> _fill_graphile_placeholders("GRANT ALL ON SCHEMA s TO :DATABASE_VISITOR;",
    ...                             (":DATABASE_VISITOR",))
    'GRANT ALL ON SCHEMA s TO CURRENT_USER     ;'
    """
    if ":" not in text or not placeholders:
        return text

    def stand_in(match: re.Match[str]) -> str:
        value = "current_database" if match.group(0) == ":DATABASE_NAME" else "CURRENT_USER"
        return value.ljust(len(match.group(0)))

    keys = "|".join(re.escape(p) for p in sorted(placeholders, key=len, reverse=True))
    return re.sub(rf"(?:{keys})\b", stand_in, text)


def _graphile_transaction(text: str, statements: Sequence[MigrationStatement]) -> bool:
    """Whether graphile-migrate runs a migration in a transaction: yes, unless its body
    (after the headers) starts with `--! no-transaction`; even then it sends the body as one
    query, one implicit transaction when it holds several statements (`runStringMigration`,
    `isNoTransactionDefined`)."""
    first_line = _graphile_headers(text)[1].split("\n", 1)[0]
    return _GRAPHILE_NO_TRANSACTION.match(first_line) is None or len(statements) > 1


# yoyo-migrations' folders (`yoyo apply DIR`, or the `sources` its `yoyo.ini` names): each
# migration a file directly in it, `<id>.sql` or a Python module `<id>.py`, its id the file
# name without the extension; a SQL one's rollback `<id>.rollback.sql` beside it. The
# comment lines a SQL file opens with may hold its directives (`parse_metadata_from_sql_
# comments`): `-- depends: a b` (the ids it runs after; several lines add up) and
# `-- transactional: false`.
YOYO_CONFIG = "yoyo.ini"
YOYO_ROLLBACK = ".rollback.sql"
_YOYO_DIRECTIVE = re.compile(r"\s*--\s*(transactional|depends)\s*:\s*(.*)")
_YOYO_COMMENT_OR_EMPTY = re.compile(r"\s*(?:--.*)?")
# The files `yoyo new` writes while the user edits them: never migrations.
_YOYO_TEMPFILE = "_tmp_yoyonew"
# A Python migration of yoyo's imports its `step` (yoyo also puts it in the module's
# namespace; a module using it without the import is found through `yoyo.ini` only).
_YOYO_IMPORT = re.compile(rb"^from[ \t]+yoyo[ \t]+import\b", re.MULTILINE)
# A migration run after every `yoyo apply`, never recorded (`PostApplyHookMigration`).
YOYO_POST_APPLY = "post-apply"


def _yoyo_directives(text: str) -> dict[str, str]:
    """The directives of a yoyo SQL migration: those of the comment and blank lines it
    opens with, a name given twice joined by a space, as yoyo reads them.

    >>> _yoyo_directives("--\\n-- depends: a\\n-- depends: b c\\n-- transactional: false\\nSELECT 1;")
    {'depends': 'a b c', 'transactional': 'false'}
    >>> _yoyo_directives("SELECT 1;\\n-- depends: a\\n")
    {}
    """
    directives: dict[str, str] = {}
    for line in text.splitlines():
        directive = _YOYO_DIRECTIVE.fullmatch(line)
        if directive is not None:
            name, value = directive.groups()
            directives[name] = f"{directives[name]} {value}" if name in directives else value
        elif _YOYO_COMMENT_OR_EMPTY.fullmatch(line) is None:
            break
    return directives


def _yoyo_transactional(text: str) -> bool:
    """Whether yoyo runs a SQL migration in a transaction: yes (each statement under a
    savepoint of it), unless a directive says `-- transactional: false`; then each statement
    runs on its own, in autocommit."""
    return _yoyo_directives(text).get("transactional", "true").strip().lower() != "false"


def yoyo_sources(project: Path) -> list[Path]:
    """The folders the `yoyo.ini` in `project` names in `sources` (paths and globs from
    its folder, as yoyo run there reads them; a `package:` source is not a folder), when
    its `database` is PostgreSQL's or not written there (an interpolated one included)."""
    import configparser
    import glob

    config = configparser.RawConfigParser()
    try:
        config.read_string((project / YOYO_CONFIG).read_text(encoding="utf-8-sig"))
        sources = config.get("DEFAULT", "sources", fallback="").split()
        database = config.get("DEFAULT", "database", fallback="")
    except (OSError, UnicodeDecodeError, configparser.Error):
        return []
    scheme = database.partition(":")[0].partition("+")[0].lower()
    if database and "%" not in scheme and scheme not in ("postgres", "postgresql", "psql"):
        return []  # another database's (mysql://, sqlite:///...)
    folders = [project / match for source in sources if not source.startswith("package:")
               for match in sorted(glob.glob(source, root_dir=project))]
    return [folder for folder in folders if folder.is_dir()]


def yoyo_folder(folder: Path) -> bool:
    """Whether `folder` holds yoyo's migrations: a `yoyo.ini` there or up to two folders
    above names it in `sources`, or its files say so themselves (a `<id>.rollback.sql`
    beside `<id>.sql`, a `-- depends:` directive) and none is named as another runner names
    its files (Flyway's `V1__x.sql`, golang-migrate's `1_x.up.sql`), nor is the folder one
    another runner marks (supabase's CLI's, drizzle-kit's, prisma's)."""
    try:
        # Asked once per file of a folder: answered once per run and state of its names (the
        # folder's mtime). Keying it by every file's mtime cost a stat per file per question,
        # 1,500 files 17 s; a directive edited in place is seen by the next run.
        return _yoyo_folder(str(folder.resolve()), folder.stat().st_mtime_ns)
    except OSError:
        return False


@functools.lru_cache(maxsize=256)
def _yoyo_folder(resolved: str, _state: int) -> bool:
    folder = Path(resolved)
    for project in (folder, folder.parent, folder.parent.parent):
        if (project / YOYO_CONFIG).is_file() and folder in yoyo_sources(project):
            return True
    try:
        names = {p.name for p in folder.iterdir()}
    except OSError:
        return False
    if any(_MIGRATION_FILE.fullmatch(n) for n in names) or supabase_cli_folder(folder) \
            or "meta" in names or "migration_lock.toml" in names:
        return False
    if any(n.endswith(YOYO_ROLLBACK) and n[:-len(YOYO_ROLLBACK)] + ".sql" in names
           for n in names):
        return True
    for name in names:
        if name.endswith(".py") and name != "__init__.py":
            try:
                with (folder / name).open("rb") as file:
                    if _YOYO_IMPORT.search(file.read(4096)):
                        return True
            except OSError:
                continue
        elif name.endswith(".sql"):
            try:
                with (folder / name).open(encoding="utf-8", errors="replace") as file:
                    head = file.read(4096)
            except OSError:
                continue
            if "depends" in _yoyo_directives(head):
                return True
    return False


def _yoyo_migration_files(folder: Path) -> list[Path]:
    """yoyo's migrations in `folder` in the order it reads them (by path), rollbacks and
    the files `yoyo new` is editing left out."""
    try:
        files = [p for p in folder.iterdir() if p.suffix in (".sql", ".py") and p.is_file()
                 and not p.name.startswith(_YOYO_TEMPFILE) and not p.name.endswith(YOYO_ROLLBACK)
                 and p.name != "__init__.py"]
    except OSError:
        return []
    return sorted(files, key=str)


def yoyo_code_migrations(folder: Path) -> list[Path]:
    """The Python migrations of yoyo's `folder` that are code (a step a function, a string
    built at run time: `yoyo_python_steps` cannot read them): dbsafe does not run them, so
    what they make is not known."""
    if not folder.is_dir() or not yoyo_folder(folder):
        return []
    return [p for p in _yoyo_migration_files(folder)
            if p.suffix == ".py" and yoyo_python_steps(p) is None]


def _yoyo_run(steps: Sequence[Sequence[SqlFragment]], migration: YoyoSteps, shown: str,
              ) -> tuple[tuple[MigrationStatement, ...], bool]:
    """The statements yoyo runs for `steps` (one side of `migration`'s), shown as `shown`,
    and whether the first runs in a transaction: all in the migration's, or with
    `__transactional__ = False` each step on its own in autocommit, where a step of several
    statements (one query) is one implicit transaction."""
    sections = [[_statement(f.sql, replace(f, path=shown).location(0)) for f in step]
                for step in steps]
    if migration.transactional or not sections:
        return tuple(s for section in sections for s in section), True
    return _run_sections(sections, [section[0].location.line for section in sections],
                         [len(section) > 1 for section in sections], shown)


# mautrix's `UpgradeTable` (maubot, its plugins, the mautrix Python bridges): a module of
# steps, each an `async def` registered with `@upgrade_table.register(...)`.
_MAUTRIX_IMPORT = re.compile(rb"^[ \t]*(?:from[ \t]+mautrix\.util\.async_db[ \t]+import|"
                             rb"import[ \t]+mautrix\.util\.async_db)\b", re.MULTILINE)
_REGISTERED = re.compile(rb"^[ \t]*@[ \t]*[A-Za-z_][\w.]*\.register\b", re.MULTILINE)


def _mautrix_upgrade_steps(data: bytes, name: str) -> bool:
    """Whether the module `data` is nothing but mautrix upgrade steps: functions registered
    with an `UpgradeTable` (`@upgrade_table.register(...)`) and functions only they call,
    no class (a plugin's, whose queries run on today's schema) and no other function. A
    step runs once, on the schema of its own version: maubot's `v01_initial_revision.py`
    reads `alembic_version`, its legacy database's, only when that table exists."""
    import ast

    from dbsafe.extract.newer_python import parse

    try:
        tree = parse(data, filename=name)
    except (SyntaxError, ValueError):
        return False
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            return False
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions[node.name] = node
    reached = [f for f in functions.values() if any(
        isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute)
        and d.func.attr == "register" for d in f.decorator_list)]
    if not reached:
        return False
    seen = {f.name for f in reached}
    while reached:
        for call in ast.walk(reached.pop()):
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and \
                    call.func.id in functions and call.func.id not in seen:
                seen.add(call.func.id)
                reached.append(functions[call.func.id])
    return seen == set(functions)


def _yoyo_sql_steps(data: bytes, name: str) -> bool:
    from dbsafe.extract.yoyo_steps import read_steps

    try:
        return read_steps(data.decode("utf-8-sig"), name) is not None
    except UnicodeDecodeError:
        return False


def yoyo_python_steps(file: Path) -> YoyoSteps | None:
    """The SQL of the yoyo Python migration `file` where every step of it is SQL written
    in the file (`dbsafe.extract.yoyo_steps`), its statements shown at their place in it;
    None where it is code (or cannot be read)."""
    try:
        stat = file.stat()
    except OSError:
        return None
    return _yoyo_python_steps(str(file), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=1024)
def _yoyo_python_steps(file: str, _mtime: int, _size: int) -> YoyoSteps | None:
    from dbsafe.extract.yoyo_steps import read_steps

    try:
        source = Path(file).read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    return read_steps(source, file)


# goose's Go migrations: `<version>_<name>.go` beside its SQL ones, registering their up and
# down functions in `init()` (`goose.AddMigration`, `AddMigrationContext`, `AddNamedMigration`,
# the `NoTx` variants), or building one its Provider is handed (`goose.NewGoMigration`, given
# to `goose.WithGoMigrations`). goose runs them in version order with the SQL files.
_GOOSE_GO_FILE = re.compile(r"\d+_[^/]*\.go")
_GOOSE_REGISTERS = re.compile(rb"\bgoose\.(?:Add(?:Named)?Migration\w*|NewGoMigration)\(")


def refinery_code_migrations(folder: Path) -> list[Path]:
    """The Rust migrations of refinery's `folder` (`V4__x.rs` beside its SQL files, which
    `embed_migrations!` compiles in and runs in their place): code dbsafe does not run."""
    if not folder.is_dir() or not refinery_folder(folder):
        return []
    return sorted(p for p in folder.rglob("*.rs")
                  if p.is_file() and _REFINERY_FILE.fullmatch(p.name[:-3] + ".sql"))


def goose_code_migrations(folder: Path) -> list[Path]:
    """The Go migrations of goose's `folder`: code dbsafe does not run, so what they make
    is not known."""
    try:
        files = sorted(p for p in folder.iterdir() if _GOOSE_GO_FILE.fullmatch(p.name)
                       and not p.name.endswith("_test.go") and p.is_file())
    except OSError:
        return []
    found = []
    for file in files:
        try:
            if _GOOSE_REGISTERS.search(file.read_bytes()):
                found.append(file)
        except OSError:
            continue
    return found


# A Go migration named as golang-migrate's SQL files (`<version>_<name>.up.go`): concourse's
# runner (atc/db/migration's parser) runs such a file's `Up_<version>` method in the
# migration's transaction in place of SQL.
_UP_GO_FILE = re.compile(r"[0-9]+_[^/]*\.up\.go")


def up_go_migrations(folder: Path) -> list[Path]:
    """The `<version>_<name>.up.go` files of a folder of golang-migrate-named SQL
    migrations: code dbsafe does not run, so what they make is not known."""
    if not golang_migrate_folder(folder):
        return []
    return sorted(p for p in folder.iterdir() if _UP_GO_FILE.fullmatch(p.name) and p.is_file())


def down_go_migration(up: Path) -> Path | None:
    """The `<version>_<name>.down.go` beside the golang-migrate-named `<version>_x.up.sql`
    `up`, where it has no `.down.sql` (concourse's runner runs a version's Go down, paired
    by the version alone): a down migration in code, which dbsafe cannot run."""
    version = re.match(r"[0-9]+_", up.name)
    if version is None or not up.name.lower().endswith(".up.sql") \
            or not golang_migrate_folder(up.parent):
        return None
    return next((p for p in sorted(up.parent.glob(f"{version.group()}*.down.go"))
                 if p.is_file()), None)


# node-pg-migrate's JavaScript and TypeScript migrations (`<timestamp>_name.js`, as its
# `create` names them), and what one exports: its `up`.
_NODE_PG_CODE_FILE = re.compile(r"\d+_[^/]*\.(?:js|cjs|mjs|ts|cts|mts)")
_NODE_PG_EXPORTS_UP = re.compile(
    rb"\bexports\.up\b|\bexport\s+(?:async\s+)?(?:const|let|var|function)\s+up\b")


def depends_on_node_pg_migrate(package: Path) -> bool:
    """Whether the `package.json` in `package` depends on node-pg-migrate."""
    return _depends_on_npm(package, "node-pg-migrate")


def _depends_on_npm(package: Path, name: str) -> bool:
    """Whether the `package.json` in `package` depends on the npm package `name`."""
    import json

    try:
        manifest = json.loads((package / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and any(
        isinstance(manifest.get(key), dict) and name in manifest[key]
        for key in ("dependencies", "devDependencies"))


# npm packages that make a schema of their own when the application starts them, never
# through its migrations, under this name unless configured otherwise: graphile-worker's
# `graphile_worker` (its `runMigrations`; OpenPipe's admin page reads
# `graphile_worker._private_jobs` through Kysely), pg-boss's `pgboss` (`boss.start()`).
_SCHEMAS_PACKAGES_MAKE = {"graphile-worker": "graphile_worker", "pg-boss": "pgboss"}


def schemas_packages_make(folder: Path, root: Path) -> list[str]:
    """The schemas npm packages make at run time (`_SCHEMAS_PACKAGES_MAKE`) that a
    `package.json` in `folder`, a folder above it up to `root`, or a package of the
    project (`js_packages.project_folders`: a monorepo's worker in `packages/worker`,
    beside the migrations' `packages/db`) depends on."""
    packages = _project_packages(folder, root)
    return sorted({schema for package, schema in _SCHEMAS_PACKAGES_MAKE.items()
                   if any(_depends_on_npm(p, package) for p in packages)})


def packages_depending_on(folder: Path, root: Path, name: str) -> list[Path]:
    """The folders whose `package.json` depends on the npm package `name`, among those
    `schemas_packages_make` reads: `folder`, the folders above it up to `root`, and the
    packages of the project (`js_packages.project_folders`)."""
    return [p for p in _project_packages(folder, root) if _depends_on_npm(p, name)]


def _project_packages(folder: Path, root: Path) -> list[Path]:
    from dbsafe.extract.js_packages import project_folders

    packages = [folder, *folder.parents] if folder.is_relative_to(root) else []
    packages = [p for p in packages if p.is_relative_to(root)] + project_folders(root)
    return list(dict.fromkeys(packages))


# postgres-migrations' migrations (its `parseFileName`: `^(-?\d+)[-_]?(.*).(sql|js)$`, case
# ignored; its `loadMigrationFiles` takes every `.sql` and `.js` name of the folder itself,
# no subfolder, and refuses one it cannot parse), the line that runs one outside a
# transaction (`runMigration`: anywhere in the file, as written), and how far above the
# folder the package.json depending on it is looked for (supabase/storage's
# `migrations/tenant`: two levels).
_POSTGRES_MIGRATIONS_FILE = re.compile(r"(-?\d+)[-_]?(.*)\.(sql|js)", re.IGNORECASE | re.DOTALL)
POSTGRES_MIGRATIONS_NO_TRANSACTION = "-- postgres-migrations disable-transaction"
_PACKAGE_DEPTH = 4


def postgres_migrations_id(name: str) -> int | None:
    """The id postgres-migrations gives the migration file `name` (its leading integer);
    None for a name it cannot parse.

    >>> postgres_migrations_id("0001-init.sql"), postgres_migrations_id("12_x.js")
    (1, 12)
    >>> postgres_migrations_id("init.sql") is None
    True
    """
    found = _POSTGRES_MIGRATIONS_FILE.fullmatch(name)
    return int(found.group(1)) if found is not None else None


def postgres_migrations_folder(folder: Path) -> bool:
    """Whether `folder` is postgres-migrations' (npm `postgres-migrations`): the nearest
    package.json above it (up to `_PACKAGE_DEPTH` levels) depends on it, and its `.sql` and
    `.js` files are named as postgres-migrations names them, their ids 1, 2, 3 ... with no
    gap (its `validateMigrationOrdering` refuses any other folder, its own table's migration
    being 0). It runs each file, by id, in a transaction of its own unless the file holds
    `-- postgres-migrations disable-transaction` (`_postgres_migrations_transaction`)."""
    try:
        # (asked once per file of the folder, as `yoyo_folder` is: answered once per state
        # of its names, the folder's mtime)
        return _postgres_migrations_folder(str(folder.resolve()), folder.stat().st_mtime_ns)
    except OSError:
        return False


@functools.lru_cache(maxsize=64)
def _postgres_migrations_folder(resolved: str, _state: int) -> bool:
    folder = Path(resolved)
    for package in list(folder.parents)[:_PACKAGE_DEPTH]:
        if (package / "package.json").is_file():
            if not _depends_on_npm(package, "postgres-migrations"):
                return False
            break
    else:
        return False
    try:
        names = [p.name for p in folder.iterdir()
                 if p.suffix.lower() in (".sql", ".js") and p.is_file()]
    except OSError:
        return False
    ids = sorted(postgres_migrations_id(n) for n in names)  # type: ignore[type-var]
    return bool(ids) and None not in ids and ids == list(range(1, len(ids) + 1))


def _postgres_migrations_key(name: str) -> tuple:
    """postgres-migrations runs its files by id (`loadMigrationFiles`)."""
    return (postgres_migrations_id(name) or 0,)


def _postgres_migrations_transaction(text: str, statements: Sequence[MigrationStatement]
                                     ) -> bool:
    """Whether postgres-migrations runs a file in a transaction: the one it opens
    (`START TRANSACTION`) unless the file holds its disable-transaction line; even then it
    sends the whole file as one query (`client.query(sql)`), one implicit transaction when
    it holds several statements (CONCURRENTLY among them fails with 25001).

    >>> one = [MigrationStatement("CREATE INDEX CONCURRENTLY i ON t (a)", Location("a", 2))]
    >>> _postgres_migrations_transaction("CREATE TABLE t ()", one)
    True
    >>> _postgres_migrations_transaction(POSTGRES_MIGRATIONS_NO_TRANSACTION, one)
    False
    >>> _postgres_migrations_transaction(POSTGRES_MIGRATIONS_NO_TRANSACTION, one * 2)
    True
    """
    return POSTGRES_MIGRATIONS_NO_TRANSACTION not in text or len(statements) > 1


def node_pg_migrate_folder(folder: Path) -> bool:
    """Whether `folder` is node-pg-migrate's: `migrations` beside a `package.json` depending
    on it (its `--migrations-dir` default). node-pg-migrate runs the files of the folder
    itself, not of a subfolder (`getMigrationFilePaths` without `useGlob`)."""
    return folder.name == "migrations" and depends_on_node_pg_migrate(folder.parent)


def node_pg_code_migrations(folder: Path) -> list[Path]:
    """The JavaScript (or TypeScript) migrations of node-pg-migrate's `folder`, one whose
    SQL migrations have its `-- Up Migration` and `-- Down Migration` comments: node-pg-migrate
    runs both kinds in one sequence, and what the code ones make is not known."""
    try:
        files = sorted(p for p in folder.iterdir() if _NODE_PG_CODE_FILE.fullmatch(p.name)
                       and not p.name.endswith(".d.ts") and p.is_file())
        code = [p for p in files if _NODE_PG_EXPORTS_UP.search(p.read_bytes())]
        if not code:
            return []
        sql = sorted(p for p in folder.iterdir() if p.suffix == ".sql" and p.is_file())
        if not any(_node_pg_migrate_down(p.read_text(encoding="utf-8", errors="replace"))
                   is not None for p in sql):
            return []
    except OSError:
        return []
    return code


# A SQL file named for one engine after its `.sql` (synapse's deltas: `x.sql.postgres`
# beside `x.sql`, run only on PostgreSQL; `x.sql.sqlite` only on SQLite).
_POSTGRES_NAMED_SQL = re.compile(r".+\.sql\.(?:postgres|postgresql|pg)", re.IGNORECASE)


def postgres_named_sql(folder: Path) -> list[Path]:
    """The files under `folder` named `<name>.sql.postgres` (`.postgresql`, `.pg`): SQL a
    runner dbsafe does not know may run on PostgreSQL beside the `.sql` files, which the
    folder's `*.sql` selection leaves out.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for name in ("01_a.sql", "01_a.sql.postgres", "01_a.sql.sqlite", "02_b.sql.PG"):
    ...         _ = Path(tmp, name).write_text("")
    ...     [p.name for p in postgres_named_sql(Path(tmp))]
    ['01_a.sql.postgres', '02_b.sql.PG']
    """
    return sorted(p for p in folder.rglob("*") if p.is_file()
                  and _POSTGRES_NAMED_SQL.fullmatch(p.name))


def code_migrations(folder: Path) -> list[tuple[Path, str]]:
    """The migrations in `folder` its runner runs as code, which dbsafe does not run: yoyo's
    Python ones, goose's Go ones and Go ones named as golang-migrate's SQL files,
    node-pg-migrate's and postgres-migrations' JavaScript ones,
    each with what they are ("yoyo's Python migration")."""
    return [*((p, "yoyo's Python migration") for p in yoyo_code_migrations(folder)),
            *((p, "goose's Go migration") for p in goose_code_migrations(folder)),
            *((p, "a Go migration named as the folder's SQL ones")
              for p in up_go_migrations(folder)),
            *((p, "refinery's Rust migration") for p in refinery_code_migrations(folder)),
            *((p, "node-pg-migrate's JavaScript migration")
              for p in node_pg_code_migrations(folder)),
            *((p, "postgres-migrations' JavaScript migration")
              for p in postgres_migrations_code(folder))]


def postgres_migrations_code(folder: Path) -> list[Path]:
    """The JavaScript migrations of postgres-migrations' `folder` (`1_x.js`, whose
    `generateSql()` gives the SQL it runs): code dbsafe does not run."""
    if not postgres_migrations_folder(folder):
        return []
    return sorted((p for p in folder.iterdir() if p.suffix.lower() == ".js" and p.is_file()),
                  key=lambda p: _postgres_migrations_key(p.name))


def _yoyo_depends(file: Path) -> set[str]:
    """The ids a yoyo migration depends on: its `-- depends:` directive, or a Python
    module's `__depends__` where it is written as a literal (a string or a collection of
    them)."""
    import ast

    from dbsafe.extract.newer_python import parse

    try:
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    if file.suffix == ".sql":
        return set(_yoyo_directives(text).get("depends", "").split())
    try:
        module = parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return set()
    for node in module.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__depends__" for t in node.targets):
            try:
                value = ast.literal_eval(node.value)
            except (ValueError, SyntaxError, RecursionError):
                return set()
            return {value} if isinstance(value, str) else {
                v for v in value if isinstance(v, str)} if isinstance(
                value, (set, list, tuple, frozenset)) else set()
    return set()


def _yoyo_order(folder: Path) -> Callable[[str], tuple]:
    """How yoyo orders the migrations of `folder`, as a key on their file names: read by
    path, then sorted topologically by what each depends on, an earlier one first wherever
    the dependencies leave the choice (its `topological_sort`, a heap of their places);
    its post-apply migrations after them all. A dependency on an id the folder has not is
    left out (another source's, for yoyo).

    Raises:
        SourceError: the dependencies make a cycle (yoyo refuses to apply any).
    """
    import heapq

    files = _yoyo_migration_files(folder)
    ids = [p.name.rpartition(".")[0] for p in files]
    post = [i for i, name in enumerate(ids) if name.startswith(YOYO_POST_APPLY)]
    place = {name: i for i, name in enumerate(ids) if i not in post}
    waits = {i: {place[d] for d in _yoyo_depends(files[i]) if d in place} - {i}
             for i in place.values()}
    blocking: dict[int, set[int]] = {}
    for item, needs in waits.items():
        for need in needs:
            blocking.setdefault(need, set()).add(item)
    ready = [i for i, needs in waits.items() if not needs]
    heapq.heapify(ready)
    ranks: dict[str, int] = {}
    while ready:
        item = heapq.heappop(ready)
        ranks[files[item].name] = len(ranks)
        for other in sorted(blocking.get(item, ())):
            waits[other].discard(item)
            if not waits[other]:
                heapq.heappush(ready, other)
    if len(ranks) < len(waits):
        cycle = ", ".join(ids[i] for i in sorted(waits) if waits[i])
        raise SourceError(f"yoyo's migrations in {folder} depend on each other in a circle "
                          f"({cycle}): yoyo applies none of them")
    for i in post:
        ranks[files[i].name] = len(ranks)
    return lambda name: ((0, ranks[name]),) if name in ranks else ((1, name),)


# -- telling migration files from application code ------------------------------------------

# Most tools; Flyway's db/migration; drizzle-kit's default output folder.
_MIGRATION_DIRS = frozenset({"migrations", "migration", "drizzle"})


def _named_for_migrations(folder: str) -> bool:
    """Whether a folder's name says it holds migrations after a word and `-` or `_`
    (`data_migrations`, `log-db-migrations`): Omnivore's `packages/db/elastic_migrations/`
    holds the one-off scripts that copied rows between PostgreSQL and Elasticsearch while
    `highlight.elastic_page_id` existed, a column its migration 0123 dropped.

    >>> [_named_for_migrations(n) for n in ("elastic_migrations", "db-migration", "migrations_test")]
    [True, True, False]
    """
    words = re.split(r"[-_]", folder.lower())
    return len(words) > 1 and words[-1] in ("migrations", "migration")
# The annotations of goose, sql-migrate, dbmate and Liquibase's formatted SQL, wherever
# the files live.
_MIGRATION_MARK = re.compile(
    rb"^[ \t]*--[ \t]*(?:\+goose[ \t]+up|\+migrate[ \t]+up|migrate:up|liquibase[ \t]+formatted[ \t]+sql)",
    re.IGNORECASE | re.MULTILINE)
_ALEMBIC_REVISION = re.compile(rb"^revision\s*(?::[^=\n]*)?=", re.MULTILINE)
_ALEMBIC_DOWN_REVISION = re.compile(rb"^down_revision\s*(?::[^=\n]*)?=", re.MULTILINE)
_MIGRATION_FILE = re.compile(
    r"(?:[VU]\d+(?:[._]\d+)*__|R__).*\.sql"  # Flyway: versioned, undo, repeatable
    r"|\d+_.*\.(?:up|down)\.sql",  # golang-migrate, sql-migrate and friends
    re.IGNORECASE,
)
# One file holding a whole history, each migration appended below the last: Liberapay's
# `sql/migrations.sql` (`-- migration #N` headers, run one by one by its deploy script).
_HISTORY_FILE = re.compile(r"migrations?\.sql", re.IGNORECASE)
# A file named by the day it was written, `YYYYMMDD` (dbmate's, sqlx's and goose's
# timestamps go on to the second) or `YYYY-MM-DD` (ListenBrainz's; one separator
# throughout), then a name: a one-off change of that day (MusicBrainz's projects keep them
# in `admin/sql/updates/`), as a Python script too, or a JavaScript/TypeScript one
# (Outline's `server/scripts/20230313000000-migrate-notification-settings.ts`, a data
# migration reading a table a later migration dropped).
_DATED_FILE = re.compile(
    r"(?:19|20)\d\d([-_]?)(?:0[1-9]|1[0-2])\1(?:0[1-9]|[12]\d|3[01])\d*[-_].+"
    r"\.(?:sql|py|js|ts|mjs|cjs|mts|cts)")
# A file named by the versions it upgrades a schema between: Koji's
# `schema-upgrade-1.15-1.16.sql`, PowerDNS's `4.1.0_to_4.2.0_schema.pgsql.sql`,
# `migrate_10_to_11.sql`. The name says so (upgrade, update, migrat..., schema), and holds
# two versions joined by `to` or, both dotted, by a dash or underscore alone.
_UPGRADE_WORD = re.compile(r"upgrade|update|migrat|schema", re.IGNORECASE)
_VERSION_PAIR = re.compile(
    r"(?<![^\W_])v?\d+(?:\.\d+)*[-_]to[-_]v?\d+(?:\.\d+)*(?![^\W_])"
    r"|(?<![^\W_])v?\d+(?:\.\d+)+[-_]v?\d+(?:\.\d+)+(?![^\W_])",
    re.IGNORECASE)

# Upgrade steps named by the version they bring the schema to, in a folder of upgrades:
# Software Heritage's `swh/storage/sql/upgrades/185.sql` (`-- from_version: 184`, run by
# `swh db upgrade` on a database of the version before), Trac's `trac/upgrades/db45.py`.
# The folder's name, or its last word (`historic-upgrades`, `schema_changes`), says so; NAV
# keeps its schema changes named by the release they came with, applied in version order by
# its `navsyncdb` (`sql/changes/sc.05.19.0001.sql`), and its 3.x releases' upgrades
# (`sql/historic-upgrades/3.5.0b2-hpfix.sql`, `3.0_beta10.sql`) before them. A folder of
# files merely numbered in order is no such folder: pgTAP tests (`tests/01_users.sql`),
# exercises and reports are numbered so too, and they are the application's SQL. Nor is a
# `.sql` file there that only reads (`reports/changes/2.1.sql` of `SELECT ... FROM`s): an
# upgrade step changes the schema or its rows (`reports_only`).
_UPGRADE_DIRS = frozenset({"upgrades", "upgrade", "changes"})
_UPGRADE_STEP = re.compile(
    r"(?:db|v)?\d+\.(?:sql|py)"
    r"|(?:[a-z]+\.)?v?\d+(?:[._]\d+)+(?:[._-]?(?:a|b|alpha|beta|rc)\d*)?(?:-[a-z]+)?\.sql",
    re.IGNORECASE)

# Schema deltas kept by the version they bring the schema to, a folder per version:
# Synapse's `synapse/storage/schema/main/delta/54/delete_forward_extremities.sql` (and its
# `.py` deltas beside them), applied once to a database of an earlier version.
_DELTA_DIRS = frozenset({"delta", "deltas"})

# JavaScript/TypeScript migration modules define an `up` and a `down`, the way their tools
# ask: knex's and node-pg-migrate's `exports.up =`, Kysely's `export async function up(db)`,
# TypeORM's and MikroORM's `public async up(queryRunner)` methods, Sequelize's and Logto's
# `up: async (...) =>` properties, umzug's `export const up: Migration = ...`. Not a type's
# member (`up: (db: Db) => Promise<void>;`): a migration runner declares those.
_JS_STEP = r"""(?:\bfunction\s*\*?\s+{0}\s*[(<]|\bexports\.{0}\s*=|\b(?:const|let|var)\s+{0}\b\s*[:=]
    |(?<![\w$.]){0}\s*:\s*(?:async\b|function\b|\([^()]*\)\s*=>\s*\{{)|\basync\s+{0}\s*\(
    |^[ \t]*(?:public\s+|protected\s+)?{0}\s*\([^)\n]*\)\s*(?::[^{{\n]*)?\{{)"""
_JS_UP = re.compile(_JS_STEP.format("up").encode(), re.MULTILINE | re.VERBOSE)
_JS_DOWN = re.compile(_JS_STEP.format("down").encode(), re.MULTILINE | re.VERBOSE)
_SCRIPT_SUFFIXES = (".js", ".ts", ".mjs", ".cjs", ".mts", ".cts")


# What dbsafe cannot do with migrations written as code.
CODE_MIGRATIONS = (
    "dbsafe reads SQL migrations only (the statements a Kysely, knex or TypeORM migration "
    "sends exist only when its code runs); apply them with their runner and give dbsafe "
    "that database (--database-url)")

# The runners of JavaScript/TypeScript migrations, by the npm package a migration module
# imports, or the package.json above its folder depends on: in this order where a module
# imports several (a MikroORM migration may import knex's types, umzug's the `DataTypes`
# of sequelize).
_CODE_RUNNERS = (("@mikro-orm/", "MikroORM"), ("typeorm", "TypeORM"), ("umzug", "umzug"),
                 ("sequelize", "Sequelize"), ("sequelize-cli", "Sequelize"),
                 ("node-pg-migrate", "node-pg-migrate"), ("kysely", "Kysely"),
                 ("knex", "knex"))


@dataclass(frozen=True, slots=True)
class CodeMigrations:
    """A folder's JavaScript/TypeScript migrations (`js_migration`), which dbsafe cannot
    run: how many, in which language, and the runner their modules import (None: none
    known, or the project depends on several)."""

    folder: Path
    count: int
    language: str  # "TypeScript", "JavaScript" or "JavaScript/TypeScript"
    runner: str | None

    def __str__(self) -> str:
        """`33 TypeScript migrations (Kysely)`."""
        return (f"{self.count} {self.language} migration{'' if self.count == 1 else 's'}"
                + (f" ({self.runner})" if self.runner else ""))


def js_code_migrations(folder: Path, *, recursive: bool = True,
                       root: Path | None = None) -> CodeMigrations | None:
    """The JavaScript/TypeScript migrations in `folder` (and its subfolders, `recursive`),
    read from their files, never run; None when it holds none. Their runner is the one
    most of them import (`_CODE_RUNNERS`), else the one the package.json in `folder` or a
    folder above it (up to `root`) depends on, when it depends on one alone."""
    from collections import Counter

    from dbsafe.extract.js_steps import imported_packages

    try:
        files = sorted(folder.rglob("*") if recursive else folder.iterdir())
    except OSError:
        return None
    suffixes: set[str] = set()
    runners: Counter[str] = Counter()
    for file in files:
        if file.suffix not in _SCRIPT_SUFFIXES or not file.is_file():
            continue
        try:
            data = file.read_bytes()
        except OSError:
            continue
        if not js_migration(data, file.name):
            continue
        suffixes.add("TypeScript" if file.suffix in (".ts", ".mts", ".cts") else "JavaScript")
        packages = imported_packages(data, file.name)
        runner = next((runner for prefix, runner in _CODE_RUNNERS
                       if any(p == prefix or (prefix.endswith("/") and p.startswith(prefix))
                              for p in packages)), None)
        runners[runner or ""] += 1
    count = sum(runners.values())
    if not count:
        return None
    named = [runner for runner, _ in runners.most_common() if runner]
    if not named:
        above = [folder, *folder.parents]
        if root is not None:
            above = [p for p in above if p.is_relative_to(root)] or [folder]
        package = next((p for p in above if (p / "package.json").is_file()), None)
        depended = {runner for prefix, runner in _CODE_RUNNERS if package is not None
                    and _depends_on_npm(package, prefix.replace("/", "/migrations"))}
        named = sorted(depended) if len(depended) == 1 else []
    return CodeMigrations(folder, count, next(iter(suffixes)) if len(suffixes) == 1
                          else "JavaScript/TypeScript", named[0] if named else None)


def _code_migrations_note(folder: Path) -> str:
    """What a folder with no SQL migrations holds instead, when that is JavaScript or
    TypeScript migrations (`js_code_migrations`): said, so that it does not read as an
    empty folder."""
    found = js_code_migrations(folder)
    return f"; it holds {found}: {CODE_MIGRATIONS}" if found is not None else ""


def js_migration(data: bytes, name: str = "migration.ts") -> bool:
    """Whether a JavaScript/TypeScript module (the file `name`, whose suffix picks the
    grammar) is a migration: it exports both an `up` and a `down` step bound to a function
    (`dbsafe.extract.js_steps`), as its runner requires. `_JS_STEP`'s patterns pick the
    modules worth reading (a module written otherwise is never parsed for this); a module
    merely using the names is none (Kener's `let up = 0; let down = 0;`, uptime counters:
    its SQL, were it to send any, would go unchecked).

    >>> js_migration(b"const a: S = {\\n  up: async (pool) => {},\\n  down: async (pool) => {},\\n};\\nexport default a;")
    True
    >>> js_migration(b"export async function up(db: Kysely<any>) {}\\nexport async function down(db) {}")
    True
    >>> js_migration(b"exports.up = (pgm) => {};\\nexports.down = false;", "1_x.js")
    True
    >>> js_migration(b"export class M { public async up(q: QueryRunner): Promise<void> {}\\n async down(q) {} }")
    True
    >>> js_migration(b"keys.up(); keys.down(); const o = { up: 1, down: 2 };")
    False
    >>> js_migration(b"export async function up(db) {}")
    False
    >>> js_migration(b"let up = 0;\\nlet down = 0;\\nexport function count() { up++; }")
    False
    """
    if not (_JS_UP.search(data) and _JS_DOWN.search(data)):
        return False
    from dbsafe.extract.js_steps import STEPS, exported_steps

    return exported_steps(data, name) == STEPS


def reports_only(data: bytes) -> bool:
    """Whether PostgreSQL's parser reads `data` as queries that only read: each a `SELECT`
    from a relation (`FROM`; each side of a `UNION`), creating no table (`INTO`) and writing
    no rows (`WITH x AS (UPDATE ...)`). An upgrade step changes the schema or its rows
    (NAV's 216 and Software Heritage's 182 each do; a bare `SELECT setval(...)`, a function
    doing its work, is no report). False for anything else: empty, unreadable (psql's
    `\\set`), any other statement.

    >>> reports_only(b"SELECT id FROM orders; SELECT 1 FROM a UNION SELECT 2 FROM b;")
    True
    >>> [reports_only(sql) for sql in (b"", b"SELECT setval('s', 1);",
    ...     b"SELECT * INTO t2 FROM t;", b"WITH d AS (DELETE FROM t RETURNING id) SELECT id FROM d;",
    ...     b"INSERT INTO dbversion VALUES (15);", b"\\\\set x 1\\nSELECT id FROM t;")]
    [False, False, False, False, False, False]
    """
    import json

    from pglast.parser import ParseError, parse_sql_json

    try:
        statements = json.loads(parse_sql_json(data.decode("utf-8"))).get("stmts", [])
    except (ParseError, UnicodeDecodeError, ValueError, RecursionError):
        return False
    return bool(statements) and all(
        _reads_only(s.get("stmt", {}).get("SelectStmt")) for s in statements)


def _reads_only(select: object, *, relation: bool = True) -> bool:
    """Whether pglast's `SelectStmt` (JSON) writes nothing and, where `relation`, reads a
    relation (each side of a set operation; a CTE's query need not)."""
    if not isinstance(select, dict) or "intoClause" in select:
        return False
    for cte in select.get("withClause", {}).get("ctes", ()):
        query = cte.get("CommonTableExpr", {}).get("ctequery", {}).get("SelectStmt")
        if not _reads_only(query, relation=False):
            return False
    if select.get("op", "SETOP_NONE") != "SETOP_NONE":
        return all(_reads_only(select.get(side), relation=relation) for side in ("larg", "rarg"))
    return bool(select.get("fromClause")) or not relation


def _upgrade_between_versions(filename: str) -> bool:
    """Whether a `.sql` or `.py` file's name says it upgrades from one version to another.

    >>> _upgrade_between_versions("schema-upgrade-1.15-1.16.sql")
    True
    >>> _upgrade_between_versions("stats_1.2-1.3.sql"), _upgrade_between_versions("v1.2.sql")
    (False, False)
    """
    stem, dot, suffix = filename.rpartition(".")
    return bool(dot) and suffix in ("sql", "py") and bool(_UPGRADE_WORD.search(stem)) and \
        bool(_VERSION_PAIR.search(stem))


# A migration runner writes a file of its own into the folder of its migrations: drizzle-kit
# its journal (`meta/_journal.json`) into its `out` folder, whatever that is named
# (`db/migrate`), prisma migrate its `migration_lock.toml`.
_RUNNER_MARKS = {"meta": DRIZZLE_JOURNAL,
                 "migration_lock.toml": "migration_lock.toml"}
RUNNER_MARKS = tuple(_RUNNER_MARKS.values())


def marked_for_postgresql(folder: Path) -> bool:
    """Whether the runner's mark in `folder` (`RUNNER_MARKS`) says its migrations are
    PostgreSQL's: drizzle-kit's journal names its `dialect` ("postgresql"), prisma's lock
    file its `provider`. A mark that does not say, or cannot be read, does not say no."""
    import json
    import tomllib

    try:
        if (folder / DRIZZLE_JOURNAL).is_file():
            dialect = json.loads((folder / DRIZZLE_JOURNAL).read_text(
                encoding="utf-8-sig")).get("dialect", "postgresql")
            return dialect in ("postgresql", "pg")
        if (folder / "migration_lock.toml").is_file():
            provider = tomllib.loads((folder / "migration_lock.toml").read_text(
                encoding="utf-8-sig")).get("provider", "postgresql")
            return provider in ("postgresql", "postgres")
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        return True
    return False


_SQITCH_SCRIPTS = frozenset({"deploy", "revert", "verify"})


class MigrationFolders:
    """Which files lie in a folder of migrations whatever the folder is named: one its
    runner marks (`_RUNNER_MARKS`), the `deploy`, `revert` and `verify` folders beside a
    Sqitch project's `sqitch.plan` or `sqitch.conf`, or one given (the folders the schema
    is built from).

    Paths are taken as the walk gives them (strings, not resolved); a folder's ancestors
    are looked at up to `stop` (the project root), each once (`NearestFolder`).
    """

    def __init__(self, given: Sequence[Path] = (), stop: Path | None = None,
                 names: FolderNames | None = None) -> None:
        from dbsafe.extract.files import NearestFolder

        self._names = names if names is not None else FolderNames()
        self._given = {os.path.realpath(p) for p in given}
        self._given_names = {os.path.basename(p) for p in self._given}
        # Files given (Atlas's declared schema, `src/schema.sql`): those alone, not the
        # application's files beside them. Resolved only when the name matches.
        self._given_files = {p for p in self._given if os.path.isfile(p)}
        self._given_file_names = {os.path.basename(p) for p in self._given_files}
        self._folder = NearestFolder(self._marked, () if stop is None else (stop,))

    def holds(self, file: str) -> bool:
        """Whether `file` lies in such a folder (or a folder below one), or is a file
        given."""
        if os.path.basename(file) in self._given_file_names \
                and os.path.realpath(file) in self._given_files:
            return True
        return self._folder(os.path.dirname(file)) is not None

    def _marked(self, folder: str) -> bool:
        # (Resolved only when the name matches: a system call per part of the path.)
        name = os.path.basename(folder) if folder not in ("", ".") else \
            os.path.basename(os.getcwd())
        if name in self._given_names and os.path.realpath(folder or ".") in self._given:
            return True
        if name in _SQITCH_SCRIPTS:
            # Sqitch's script folders beside its plan: another engine's project, or another
            # application's, holds migrations too.
            beside = self._names(os.path.dirname(folder))
            if "sqitch.plan" in beside or "sqitch.conf" in beside:
                return True
        return any(os.path.isfile(os.path.join(folder, path))
                   for entry, path in _RUNNER_MARKS.items() if entry in self._names(folder))


def migration_kind(name: str, data: bytes) -> str | None:
    """What kind of migration the file `name` (a display path) holding `data` is, or None
    for application code.

    A migration runs against the schema of its own revision, not today's: its data
    migration may `UPDATE` a column a later revision drops. Alembic revisions are known by
    their module-level `revision` and `down_revision`, wherever they live; other files by a
    folder named `migrations` (supabase, Django, knex, most runners), `migration` (Flyway's
    `db/migration`) or `drizzle` (drizzle-kit's) on their path, or named so after a word and
    `-` or `_` (`elastic_migrations`: `_named_for_migrations`), a Flyway or golang-migrate
    file name, a file name starting with the date it was written (`20160616-snapshots.py`,
    `2017-06-05-add-last-login.sql`, `20230313000000-backfill.ts`) or naming the versions
    it upgrades between (`schema-upgrade-1.15-1.16.sql`), a file named by the version it
    upgrades to in a folder of upgrades (`sql/upgrades/185.sql`, `upgrades/db45.py`; not a
    `.sql` file that only reads, `reports_only`),
    a file named `migrations.sql` (a whole history in one file, each migration appended),
    or the annotation of goose, sql-migrate, dbmate or Liquibase in the file, or a place in
    a folder of schema deltas named by the version they bring the schema to
    (`schema/main/delta/54/x.sql`). A yoyo Python migration whose steps are SQL written out
    (`dbsafe.extract.yoyo_steps`) is a "yoyo migration" wherever it lives, and a module of
    mautrix `UpgradeTable` steps (`@upgrade_table.register(...)`, nothing else) a migration.

    >>> migration_kind("app/db.py", b"revision = 1")
    >>> migration_kind("alembic/versions/1a_x.py", b'revision = "1a"\\ndown_revision: str | None = None\\n')
    'alembic revision'
    >>> migration_kind("supabase/migrations/20240101_init.sql", b"")
    'migration'
    >>> migration_kind("db/V2__add_email.sql", b"")
    'migration'
    >>> migration_kind("sql/schema/002_slug.sql", b"-- +goose Up\\nALTER TABLE t ADD c int;")
    'migration'
    >>> migration_kind("admin/updates/20160616-snapshots-2.py", b"")
    'migration'
    >>> migration_kind("admin/sql/updates/2017-06-05-add-last-login.sql", b"")
    'migration'
    >>> migration_kind("sql/migrations.sql", b"")
    'migration'
    >>> migration_kind("synapse/storage/schema/main/delta/69/01as_txn_seq.py", b"")
    'migration'
    >>> migration_kind("nav/models/sql/changes/sc.03.12.0107.sql", b"")
    'migration'
    >>> migration_kind("nav/models/sql/historic-upgrades/3.5.0b2-hpfix.sql", b"")
    'migration'
    >>> migration_kind("tests/01_users.sql", b""), migration_kind("changes/notes.sql", b"")
    (None, None)
    >>> migration_kind("db/changes/0001_users.py", b'from yoyo import step\\nstep("CREATE TABLE u (a int)")')
    'yoyo migration'
    >>> migration_kind("reports/changes/2.1.sql", b"SELECT id FROM orders;")
    """
    parts = name.split("/")
    if name.endswith(".py") and _ALEMBIC_REVISION.search(data) \
            and _ALEMBIC_DOWN_REVISION.search(data):
        return "alembic revision"  # wherever it lives: `dbsafe lint` lints it
    if name.endswith(".py") and _YOYO_IMPORT.search(data) and _yoyo_sql_steps(data, name):
        return "yoyo migration"  # its steps are SQL: `dbsafe lint` lints it
    if any(part.lower() in _MIGRATION_DIRS or _named_for_migrations(part)
           for part in parts[:-1]):
        return "migration"
    if len(parts) >= 3 and parts[-2].isdigit() and parts[-3].lower() in _DELTA_DIRS:
        return "migration"
    if _DATED_FILE.fullmatch(parts[-1]) or _upgrade_between_versions(parts[-1]):
        return "migration"
    if len(parts) >= 2 and re.split(r"[-_]", parts[-2].lower())[-1] in _UPGRADE_DIRS and \
            _UPGRADE_STEP.fullmatch(parts[-1]) and \
            not (name.endswith(".sql") and reports_only(data)):
        return "migration"
    if name.endswith(".py") and _MAUTRIX_IMPORT.search(data) and _REGISTERED.search(data) \
            and _mautrix_upgrade_steps(data, name):
        return "migration"
    if name.endswith(".py"):
        return None
    if _MIGRATION_FILE.fullmatch(parts[-1]) or _MIGRATION_MARK.search(data) \
            or _HISTORY_FILE.fullmatch(parts[-1]):
        return "migration"
    if name.endswith(_SCRIPT_SUFFIXES) and js_migration(data, name):
        return "migration"
    return None

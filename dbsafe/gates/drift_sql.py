"""`dbsafe drift` for a folder of SQL migrations: the live database against what the
folder's files its runner has applied there build.

Which files are applied is the runner's own history table in the database (golang-migrate's
and dbmate's `schema_migrations`, goose's `goose_db_version`, Flyway's
`flyway_schema_history`, sqlx's `_sqlx_migrations`, diesel's `__diesel_schema_migrations`,
supabase's `supabase_migrations.schema_migrations`, prisma's `_prisma_migrations`), each
file named by the version its runner records for it. Those files are applied to a throwaway
server in the runner's order, as `dbsafe validate` builds the folder, and the two catalogs
compared: a database that is simply behind is not drift, an index made by hand is. The
history table itself, and the schemas supabase's platform stand-in makes, are not compared.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dbsafe.core import DbsafeError

if TYPE_CHECKING:
    from dbsafe.extract.migration import Migration
    from dbsafe.gates.drift import Drift
    from dbsafe.schema.diff import DiffOptions
    from dbsafe.schema.model import SchemaSnapshot
    from dbsafe.sources import SqlFolder


@dataclass(frozen=True, slots=True)
class History:
    """A runner's history table: where it is, and the versions it says are applied."""

    runner: str
    table: str  # "schema.name"
    query: str  # the applied versions, as text


_NUMBER = re.compile(r"(\d+)_")

# Tried in order; the first table the database has is its runner's. golang-migrate's
# schema_migrations has a `dirty` column, dbmate's does not.
_HISTORIES = (
    History("supabase", "supabase_migrations.schema_migrations",
            "SELECT version::text FROM supabase_migrations.schema_migrations"),
    History("prisma", "public._prisma_migrations",
            "SELECT migration_name FROM public._prisma_migrations "
            "WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL"),
    History("flyway", "public.flyway_schema_history",
            "SELECT version FROM public.flyway_schema_history "
            "WHERE success AND version IS NOT NULL"),
    History("goose", "public.goose_db_version",
            "SELECT version_id::text FROM (SELECT DISTINCT ON (version_id) version_id, "
            "is_applied FROM public.goose_db_version ORDER BY version_id, id DESC) AS latest "
            "WHERE is_applied AND version_id > 0"),
    History("sqlx", "public._sqlx_migrations",
            "SELECT version::text FROM public._sqlx_migrations WHERE success"),
    History("diesel", "public.__diesel_schema_migrations",
            "SELECT version FROM public.__diesel_schema_migrations"),
    History("golang-migrate", "public.schema_migrations",
            "SELECT version::text FROM public.schema_migrations WHERE dirty IS NOT NULL"),
    History("dbmate", "public.schema_migrations",
            "SELECT version::text FROM public.schema_migrations"),
)


def applied_versions(database_url: str) -> tuple[History, set[str]]:
    """The database's runner history and the versions it holds.

    Raises:
        DbsafeError: the database has none of the history tables dbsafe reads.
    """
    import psycopg

    from dbsafe.pg.connect import connect

    with connect(database_url) as conn:
        for history in _HISTORIES:
            if conn.execute("SELECT to_regclass(%s)", (history.table,)).fetchone() \
                    in (None, (None,)):
                continue
            try:
                with conn.transaction():
                    rows = conn.execute(history.query).fetchall()
            except psycopg.errors.UndefinedColumn:
                continue  # the same table name, another runner's columns
            if history.runner == "golang-migrate" and conn.execute(
                    "SELECT bool_or(dirty) FROM public.schema_migrations").fetchone() == (True,):
                raise DbsafeError(
                    "the database's schema_migrations is dirty: a migration failed half-way "
                    "there, so what it holds is no version of the folder; fix it and `migrate "
                    "force` the version first")
            return history, {str(r[0]) for r in rows}
    raise DbsafeError(
        "the database has no migration history table dbsafe reads (golang-migrate, dbmate, "
        "goose, Flyway, sqlx, diesel, supabase, prisma): there is no applied set of files "
        "to compare with; compare with the whole folder with `dbsafe diff DATABASE_URL "
        "migrations`")


def file_version(path: Path, runner: str) -> str | None:
    """The version `runner` records for the migration file `path`.

    >>> file_version(Path("0007_users.up.sql"), "golang-migrate")
    '7'
    >>> file_version(Path("V1_2__users.sql"), "flyway")
    '1.2'
    >>> file_version(Path("2024-01-02-030405_users/up.sql"), "diesel")
    '20240102030405'
    """
    if runner == "prisma":
        return path.parent.name
    if runner == "diesel":
        prefix = path.parent.name.partition("_")[0]
        return re.sub(r"\D", "", prefix) or None
    if runner == "flyway":
        found = re.match(r"V(\d+(?:[._]\d+)*)__", path.name)
        return found.group(1).replace("_", ".") if found else None
    found = _NUMBER.match(path.name)
    if found is None:
        return None
    # Stored as numbers (golang-migrate, goose, sqlx): 0007 is 7.
    return str(int(found.group(1))) if runner in ("golang-migrate", "goose", "sqlx") \
        else found.group(1)


def compare_folder(folder: SqlFolder, database_url: str,
                   options: DiffOptions | None = None) -> Drift:
    """The database at `database_url` against the files of `folder` its history says ran.

    Raises:
        DbsafeError: no history table, or one naming a version no file of the folder has.
    """
    from dbsafe.core import hold_until_exit
    from dbsafe.extract.files import display_path
    from dbsafe.gates.drift import Drift, options_with_defaults
    from dbsafe.schema.diff import diff
    from dbsafe.schema.introspect import introspect_url

    history, applied = applied_versions(database_url)
    migrations = folder.read()
    versions = {m.path: file_version(m.file, history.runner) for m in migrations
                if m.file is not None}
    known = {v for v in versions.values() if v is not None}
    unknown = sorted(applied - known)
    if unknown:
        raise DbsafeError(
            f"the database's {history.table} holds version(s) {', '.join(unknown[:5])} "
            f"that {display_path(folder.path, folder.root)} has no file for (another "
            "branch, or a deleted file)")
    if history.runner == "golang-migrate" and applied:
        # Its table holds one row, the version the database is at: every file up to it ran.
        current = max(int(v) for v in applied)
        applied = {v for v in known if int(v) <= current}
    selected = [m for m in migrations if versions.get(m.path) in applied]
    live = hold_until_exit(introspect_url(database_url))
    expected, platform_schemas = _built(folder, selected)
    if live.search_path != expected.search_path:
        live = hold_until_exit(introspect_url(database_url, search_path=expected.search_path))
    opts = options_with_defaults(options)
    table = history.table.rpartition(".")[2]  # and the sequence of its serial key (goose's)
    opts = dataclasses.replace(
        opts, ignore_names=(*opts.ignore_names, f"*.{table}", f"*.{table}_id_seq"),
        ignore_schemas=opts.ignore_schemas | platform_schemas)
    shown = display_path(folder.path, folder.root)
    return Drift(live, expected, diff(live, expected, opts),
                 (selected[-1].path if selected else "none applied",),
                 f"sql migrations {shown} ({history.runner}: {len(selected)} of "
                 f"{len(migrations)} files applied)")


def _built(folder: SqlFolder, migrations: list[Migration]
           ) -> tuple[SchemaSnapshot, frozenset[str]]:
    """The schema `migrations` build on a throwaway server, and the schemas the platform's
    stand-in made there (supabase's `auth`, `storage`, ...: the platform's, not the
    migrations')."""
    from dbsafe.extract.migration import graphile_baseline
    from dbsafe.migrate.sqlfiles import apply_sql_migrations
    from dbsafe.pg.throwaway import throwaway_server
    from dbsafe.schema.introspect import introspect_url

    with throwaway_server(database="dbsafe") as server:
        url = server.url("dbsafe")
        for baseline in graphile_baseline(folder.path, folder.root):
            apply_sql_migrations([baseline], url)
        apply_sql_migrations([], url, platform=folder.platform, runner=folder.runner)
        platform = frozenset(introspect_url(url).schemas) - {"public"} \
            if folder.platform else frozenset()
        apply_sql_migrations(migrations, url, reset_each_file=folder.supabase_cli)
        return introspect_url(url), platform

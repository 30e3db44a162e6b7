"""`dbsafe drift` for a folder of SQL migrations: the live database against what the
folder's files its runner has applied there build.

Which files are applied is the runner's own history table in the database (golang-migrate's
and dbmate's `schema_migrations`, goose's `goose_db_version`, Flyway's
`flyway_schema_history`, sqlx's `_sqlx_migrations`, refinery's `refinery_schema_history`,
diesel's `__diesel_schema_migrations`,
supabase's `supabase_migrations.schema_migrations`, prisma's `_prisma_migrations`, Sqitch's
registry, river's `river_migration`, yoyo's `_yoyo_migration`), each
file named by the version its runner records for it. Those files are applied to a throwaway
server in the runner's order, as `dbsafe validate` builds the folder, and the two catalogs
compared: a database that is simply behind is not drift, an index made by hand is. The
history table itself, and the schemas supabase's platform stand-in makes, are not compared.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from dbsafe.core import DbsafeError
from dbsafe.migrate.histories import (
    REFUSES_EDITED,
    applied_migrations,
    applied_versions,
    edited_again,
    edited_applied,
    edited_findings,
    flyway_runs,
    flyway_unresolved,
    in_runner_order,
    last_recorded,
    never_run,
    never_run_findings,
    pending_among,
    recorded_as_run,
    refusal,
    refusal_finding,
    shared_version_findings,
    unread_histories,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from dbsafe.extract.migration import Migration
    from dbsafe.gates.drift import Drift
    from dbsafe.gates.drift_pending import Clash
    from dbsafe.migrate.histories import History
    from dbsafe.schema.diff import Change, DiffOptions
    from dbsafe.schema.model import SchemaSnapshot
    from dbsafe.sources import SqlFolder


# Schemas a Supabase project's database has that the platform manages and its stand-in
# (dbsafe/migrate/supabase.sql) does not make: not the migrations' to compare.
SUPABASE_MANAGED = frozenset({"_analytics", "_realtime", "cron", "net", "pgbouncer",
                              "pgsodium", "pgsodium_masks", "supabase_migrations"})


def compare_folder(folder: SqlFolder, database_url: str,
                   options: DiffOptions | None = None, *, with_pending: bool = True) -> Drift:
    """The database at `database_url` against the files of `folder` its history says ran.
    With `with_pending`, what a file not yet run makes that the database has already, or
    drops that it has no longer, is said (`drift_pending`).

    Raises:
        DbsafeError: no history table, or one naming a version no file of the folder has.
    """
    from dbsafe.core import hold_until_exit
    from dbsafe.extract.files import display_path
    from dbsafe.gates.drift import Drift, options_with_defaults
    from dbsafe.schema.diff import diff
    from dbsafe.schema.introspect import introspect_url

    migrations = folder.read()
    # (two files of one version: the runner refuses them or runs one only, DBS424)
    shared = shared_version_findings(migrations)
    found = applied_versions(database_url, [folder.path], folder.history_table,
                             sqitch_target=folder.sqitch_target, root=folder.root)
    if found is None:
        hint = unread_histories(database_url) or \
            "name a table its runner keeps under another name (or in another schema) in " \
            "`sql-migrations-history-table`, or compare with the whole folder with `dbsafe " \
            "diff DATABASE_URL migrations`"
        raise DbsafeError(
            "the database has no migration history table dbsafe reads where its runner keeps "
            "it by default (golang-migrate, dbmate, goose, Flyway, sqlx, refinery, diesel, supabase, "
            f"prisma, Sqitch, river, sql-migrate, yoyo, node-pg-migrate, graphile-migrate, "
            "drizzle, postgres-migrations): there is no applied set of files to "
            f"compare with; {hint}")
    history, applied = found
    # (of the whole folder: Flyway's latest file may be a baseline migration)
    unresolved = flyway_unresolved(migrations, history, applied)
    # (Flyway ignores its baseline migrations on a database with a history)
    migrations = in_runner_order(flyway_runs(migrations, history, applied), history)
    if history.runner != folder.runner:
        # The history says which runner ran the files (river's look like golang-migrate's):
        # the table another runner would have made is no part of what they built.
        from dbsafe.migrate.sqlfiles import RUNNER_HISTORY

        folder = dataclasses.replace(
            folder, runner=history.runner if history.runner in RUNNER_HISTORY else None)
    selected = applied_migrations(migrations, history, applied,
                                  display_path(folder.path, folder.root))
    live = hold_until_exit(introspect_url(database_url))
    built_since = datetime.now(UTC)  # what the files fold their 'now' into is no drift
    # river told its `Schema` makes each of its objects there (`/* TEMPLATE: schema */`
    # in its files), the schema its river_migration is in. A runner whose table is where its
    # session puts it (`History.placement`) runs the files in that session too: their
    # unqualified names go to its current schema (its role's search_path, its URL's).
    first = history.schema if history.runner == "river" else \
        history.session_schema if history.session_schema != "public" else None
    expected, platform_schemas = _built(folder, selected, first_schema=first)
    if live.search_path != expected.search_path:
        live = hold_until_exit(introspect_url(database_url, search_path=expected.search_path))
    opts = options_with_defaults(options)
    # and the sequence of its serial key (goose's)
    history_names = [p for t in history.names for p in (f"*.{t}", f"*.{t}_id_seq")]
    # Sqitch's registry is a schema of its own (changes, tags, events, dependencies, ...)
    registry = frozenset({history.own_schema}) if history.own_schema else frozenset()
    opts = dataclasses.replace(
        opts, ignore_names=(*opts.ignore_names, *history_names),
        ignore_schemas=opts.ignore_schemas | platform_schemas | registry, built_since=built_since)
    shown = display_path(folder.path, folder.root)
    # A runner told to keep its table in a schema of its own makes that schema (sql-migrate's
    # SetSchema): the schema is not the migrations' to compare, what else it holds is.
    table_schema = history.schema
    changes = tuple(c for c in diff(live, expected, opts)
                    if not (c.kind == "schema" and c.identity == (table_schema,)
                            and table_schema not in expected.schemas))
    at = last.path if (last := last_recorded(selected)) else "none applied"
    # An applied file edited since: its runner refuses to migrate for it (DBS612: Flyway's
    # validation, sqlx), or runs on without a word (DBS605, a warning: prisma's deploy).
    # sqlx and Flyway refuse for a migration their table says failed half-way too (DBS612).
    edited = edited_applied(migrations, history)
    refused = refusal(migrations, history, applied, unresolved=unresolved, edited=edited) \
        if edited or history.dirty or history.failed_runs or any(
            not u.passed for u in unresolved) else None
    # (Flyway's applied rows with no file its validation passes: what they made is drift)
    passed = [str(u) for u in unresolved if u.passed]
    told = [refusal_finding(refused, history.runner, at)] if refused is not None and \
        refused.check in (*REFUSES_EDITED, "DbMigrate") else []
    never = never_run(migrations, history, applied)
    todo = pending_among(migrations, selected, history.runner, never)
    clashes = _clashes(folder, migrations, selected, todo, history, changes, expected, live,
                       opts, first) if with_pending else ()
    return Drift(live, expected, changes, (at,),
                 f"sql migrations {shown} ({history.runner}: {len(selected)} of "
                 f"{len(migrations)} files applied"
                 + (f"; applied, no file: {', '.join(passed)}, which Flyway passes" if passed
                    else "") + ")",
                 # (not in the reference: what ran is; the finding says what did not)
                 (*shared,
                  *never_run_findings(never, history.runner),
                  *told, *edited_findings(migrations, history, refused, edited)),
                 tuple(m.path for m in edited_again(migrations, history)),
                 tuple(e.migration.path for e in edited),
                 reference=f"the migrations up to {at}" if last else
                 "the migrations (none applied)",
                 pending=tuple(m.path for m in todo), clashes=clashes)


def _clashes(folder: SqlFolder, migrations: list[Migration], selected: list[Migration],
             todo: list[Migration], history: History, changes: Sequence[Change],
             expected: SchemaSnapshot, live: SchemaSnapshot, options: DiffOptions,
             first_schema: str | None) -> tuple[Clash, ...]:
    """What the files `todo` (not yet run) make that the database has already, or drop that
    it has no longer (`drift_pending`), and whether the file that does is all in the
    database (safe to record as run): each schema after some of them built as the
    reference is (`_built`)."""
    from dbsafe.gates.drift_pending import clashes, mend, sentence

    ran = {m.path for m in selected}
    paths = [m.path for m in todo]

    def schema_after(i: int) -> SchemaSnapshot:
        upto = ran | {m.path for m in todo[:i + 1]}
        return _built(folder, [m for m in migrations if m.path in upto],
                      first_schema=first_schema)[0]

    def record(path: str) -> str:
        at = paths.index(path)
        return recorded_as_run(history, todo[at], todo[:at])

    out = []
    for clash in clashes(changes, expected, paths, schema_after, options, live=live):
        subject = ".".join(clash.identity)
        out.append(dataclasses.replace(
            clash, said=sentence(clash, upgrade=f"{history.runner}'s next migrate",
                                 pending_word=f"{clash.migration}, not yet run,"),
            mend=mend(clash, ran=f"{clash.migration} ran here by hand, {history.runner}'s "
                                 f"{history.table} never told",
                      record=record, before=paths.index(clash.migration) > 0, word="file",
                      undo=f"drop `{subject}` so the migration makes it" if clash.creates
                      else f"make `{subject}` again (`dbsafe drift --sql`) so the migration "
                           "drops it")))
    return tuple(out)


def _built(folder: SqlFolder, migrations: list[Migration], *, first_schema: str | None = None
           ) -> tuple[SchemaSnapshot, frozenset[str]]:
    """The schema `migrations` build on a throwaway server, and the schemas the platform's
    stand-in made there (supabase's `auth`, `storage`, ...: the platform's, not the
    migrations'). With `first_schema`, they run with it first on the search_path (made
    first, as the runner expects it made)."""
    from dbsafe.migrate.sqlfiles import apply_sql_migrations, warn_failed
    from dbsafe.pg.throwaway import throwaway_server
    from dbsafe.schema.introspect import introspect_url

    with throwaway_server(database="dbsafe") as server:
        url = server.url("dbsafe")
        if first_schema is not None:
            _search_first(url, first_schema)
        folder.prepare(url)
        platform = (frozenset(introspect_url(url).schemas) | SUPABASE_MANAGED) - {"public"} \
            if folder.platform else frozenset()
        # A statement that failed there (AppFlowy-Cloud's foreign key to GoTrue's
        # `auth.users`, a schema another service makes) leaves the expected schema without
        # what it makes: said, or the database's copy of it reads as made by hand.
        warn_failed(apply_sql_migrations(migrations, url, reset_each_file=folder.supabase_cli))
        return introspect_url(url), platform


def _search_first(url: str, schema: str) -> None:
    """Make `schema` on the database at `url`, first on its search_path for the sessions
    that follow (then `public`)."""
    from psycopg import sql

    from dbsafe.pg.connect import connect

    name = sql.Identifier(schema)
    with connect(url) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(name))
        conn.execute(sql.SQL("ALTER DATABASE {} SET search_path = {}, public").format(
            sql.Identifier(conn.info.dbname), name))

"""`dbsafe verify-reversible` for a folder of SQL migrations whose runner has down
migrations (golang-migrate's `.down.sql`, the down sections of goose, sql-migrate, dbmate
and node-pg-migrate files, diesel's and hasura's `down.sql`, Flyway's undo files, Sqitch's
revert scripts): the stairway walk of `dbsafe.gates.reversible` on a throwaway server, file
by file. Each up migration is applied, its down migration run, and the full catalog after
the down compared with the catalog before the up; then the up is applied again, which
proves the down left a state the up accepts. The codes are the alembic walk's (DBS411,
DBS412, DBS413, DBS414, DBS415, DBS417), on the down migration's first line.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from dbsafe.core import Finding, Location, RuleInfo, Severity, SourceError
from dbsafe.gates.reversible import (
    DOWNGRADE_COLUMN_ORDER,
    DOWNGRADE_FAILED,
    DOWNGRADE_LEFTOVER,
    DOWNGRADE_MISSING,
    REUPGRADE_FAILED,
    UPGRADE_FAILED,
    Progress,
    WalkResult,
    computed_undo,
    leftover_severity,
    leftover_text,
)

if TYPE_CHECKING:
    from dbsafe.extract.migration import Migration
    from dbsafe.migrate.sqlfiles import StatementFailure
    from dbsafe.pg.throwaway import ScratchServer
    from dbsafe.schema.diff import Change, DiffOptions
    from dbsafe.schema.introspect import KeptSession
    from dbsafe.schema.model import SchemaSnapshot
    from dbsafe.sources import SqlFolder


def verify_folder(folder: SqlFolder, *, options: DiffOptions | None = None,
                  progress: Progress | None = None) -> WalkResult:
    """Walk `folder`'s migrations up, down and up again on a throwaway server.

    Raises:
        SourceError: no migration of the folder has a down migration (its runner rolls
            forward only: supabase, prisma, drizzle-kit, graphile-migrate, ...).
    """
    from dbsafe.extract.files import display_path
    from dbsafe.extract.migration import down_migration, flyway_new_database
    from dbsafe.migrate.setup import pristine_copy, setup_hint
    from dbsafe.migrate.sqlfiles import apply_sql_migrations
    from dbsafe.pg.throwaway import throwaway_server
    from dbsafe.schema.diff import DiffOptions
    from dbsafe.schema.introspect import KeptSession

    # Flyway's baseline migrations left out: no undo file goes back from one, and the
    # versioned files they stand for on a new database are walked as they are
    ups = flyway_new_database(folder.read(), new=False)
    downs = [down_migration(up, folder.root, folder.sqitch_target) for up in ups]
    if not any(downs):
        # Flipt's and harbor's golang-migrate folders have none: the runner has downs.
        raise SourceError(f"no down migrations in {display_path(folder.path, folder.root)}: "
                          "none of its migrations has one (its runner rolls forward only, "
                          "or none was written), so there is no way back to verify")
    # Objects made during the walk carry the moment as their 'now' (`built_since`).
    # (a setting a down migration leaves, `ALTER DATABASE ... SET`, is a leftover)
    options = dataclasses.replace((options or DiffOptions()).without_own_schema(),
                                  built_since=datetime.now(UTC), database_settings=True)
    findings: list[Finding] = []
    walked: list[str] = []
    summary = {"migrations": len(ups), "with_down": sum(map(bool, downs))}
    if folder.setup is not None:
        folder.setup.check()
    with throwaway_server(database="dbsafe") as server, contextlib.ExitStack() as stack:
        url = server.url("dbsafe")
        folder.prepare(url)
        # With `setup-sql`, a database is rebuilt from a copy of this one as prepared: what
        # the setup made once per server (a role) is not made again.
        rebuild = Rebuild(server, "dbsafe", stack.enter_context(pristine_copy(server, "dbsafe"))) \
            if folder.setup is not None else None
        # Three snapshots a migration, on one kept session (a new session per snapshot
        # cost two thirds of bionic-gpt's walk: task 422).
        reader = stack.enter_context(KeptSession(url))
        before = reader.snapshot()
        for done, (up, down) in enumerate(zip(ups, downs, strict=True)):
            if progress is not None:
                progress(done, len(ups), up.path)
            failed = _refused(apply_sql_migrations([up], url))
            if up.callback is not None and not failed:
                # Flyway's callback (afterMigrate): run where its migrate runs it, no
                # migration to walk back
                before = reader.snapshot()
                continue
            if failed:
                findings.append(_not_applied(up, failed[0], _unrun_before(folder, up), help=(
                    setup_hint(failed[0].sqlstate, first=done == 0)
                    if folder.setup is None else "")))
                return WalkResult(tuple(findings), tuple(walked),
                                  tuple(m.path for m in ups[done:]), summary=summary)
            after_up = reader.snapshot()
            if down is None or not down.statements:
                # An empty down migration (a section or file with no statement) undoes
                # nothing, like alembic's `pass`.
                findings += _missing(up, down, before, _as(reader, after_up, before), options)
                walked.append(up.path)
                before = after_up
                continue
            # Every refusal counts here, CONCURRENTLY in the runner's transaction too (25001):
            # lint reads no down migration, and the runner's down stops there.
            failed = list(apply_sql_migrations([down], url))
            if failed:
                findings.append(_failed(DOWNGRADE_FAILED, down, failed[0],
                                        "Running it right after its up migration failed."))
                walked.append(up.path)
                before = _rebuild(url, folder, ups[:done + 1], reader, rebuild)
                continue
            after_down = reader.snapshot()
            if not _differences(after_down, after_up, options):
                # It ran and changed nothing (goose's template, `SELECT 'down SQL query';`):
                # an empty one, as the alembic walk takes a downgrade() that changes nothing.
                findings += _missing(up, down, before, _as(reader, after_up, before), options,
                                     ran=True)
                walked.append(up.path)
                before = after_up
                continue
            left = _leftovers(up, down, before, _as(reader, after_down, before), options)
            findings += left
            if any(f.code == DOWNGRADE_LEFTOVER.code for f in left) \
                    and not _repair(url, reader, after_down, before, options):
                before = _rebuild(url, folder, ups[:done + 1], reader, rebuild)
                walked.append(up.path)
                continue
            failed = _refused(apply_sql_migrations([up], url))
            if failed:
                findings.append(_failed(REUPGRADE_FAILED, up, failed[0],
                                        "Applying it again after its down migration failed: "
                                        "the down left a state the up does not accept."))
                before = _rebuild(url, folder, ups[:done + 1], reader, rebuild)
            else:
                before = reader.snapshot()
            walked.append(up.path)
    return WalkResult(tuple(findings), tuple(walked), summary=summary)


def _as(reader: KeptSession, now: SchemaSnapshot, before: SchemaSnapshot) -> SchemaSnapshot:
    """`now` (the database as it is), read as `before` was where new sessions now start
    with another search path (`KeptSession.snapshot`): a setting an up migration made and
    its down left is then the difference, not the type names and defaults its path names
    otherwise."""
    return now if now.search_path == before.search_path else reader.snapshot(like=before)


def _refused(failures: Sequence[StatementFailure]) -> list[StatementFailure]:
    # A statement refused inside the file's transaction and run after it (CONCURRENTLY)
    # did what it meant to.
    return [f for f in failures if not f.applied_later]


def _differences(a: SchemaSnapshot, b: SchemaSnapshot, options: DiffOptions
                 ) -> tuple[Change, ...]:
    from dbsafe.schema.diff import diff, without_constraint_indexes

    return tuple(without_constraint_indexes(diff(a, b, options), a, b))


def _missing(up: Migration, down: Migration | None, before: SchemaSnapshot,
             after_up: SchemaSnapshot, options: DiffOptions, *, ran: bool = False
             ) -> list[Finding]:
    """DBS411 for an up migration that changes the schema and has no down migration, an
    empty one, or (`ran`) one that changes nothing in it; none for one that changes no
    schema (a data migration)."""
    changes = _differences(after_up, before, options)
    if not changes:
        return []
    why = _no_down(up, down, ran=ran)
    return [Finding(
        DOWNGRADE_MISSING.code,
        f"`{up.path}` changes the schema but {why}; going back past "
        f"it leaves {len(changes)} difference(s).",
        DOWNGRADE_MISSING.default_severity,
        Location(up.path, 1) if down is None else _first_line(down), up.path,
        help=("Check that its Go down migration undoes this (dbsafe cannot run it), or "
              "write it in SQL; the statements below are the undo dbsafe computed."
              if "is Go code" in why else
              "Write its down migration; the statements below are the undo dbsafe computed."),
        context=(("Left behind", "\n".join(c.describe() for c in changes)),
                 *_fix(after_up, before, changes, down, up)))]


def _leftovers(up: Migration, down: Migration, before: SchemaSnapshot,
               after_down: SchemaSnapshot, options: DiffOptions) -> list[Finding]:
    from dbsafe.schema.diff import REORDER, with_owned_sequences

    where = _first_line(down)
    out = []
    for change, owned in with_owned_sequences(_differences(after_down, before, options)):
        if change.action == REORDER:
            out.append(Finding(
                DOWNGRADE_COLUMN_ORDER.code,
                f"`{down.path}` {leftover_text(change)}.",
                DOWNGRADE_COLUMN_ORDER.default_severity, where, up.path,
                help="PostgreSQL cannot reorder columns in place; queries that name their "
                     "columns do not care, `SELECT *` and `COPY` without a column list do."))
            continue
        sequences = "".join(f" with its sequence `{o.subject}`" for o in owned)
        out.append(Finding(
            DOWNGRADE_LEFTOVER.code, f"`{down.path}` {leftover_text(change)}{sequences}.",
            leftover_severity(change), where, up.path,
            help="Add the statements below to the down migration (or remove what the up "
                 "migration should not have done).",
            context=(("Up migration", up.path),
                     *_fix(after_down, before, [change, *owned], down, up))))
    return out


def _fix(current: SchemaSnapshot, wanted: SchemaSnapshot, changes: Sequence[Change],
         down: Migration | None, up: Migration) -> tuple[tuple[str, str], ...]:
    """The computed undo, as `dbsafe diff --sql` writes it, to add to the down migration
    (`down`, or the one to write for `up`): without CONCURRENTLY where it runs in a
    transaction; nothing where none is generated."""
    undo = computed_undo(current, wanted, tuple(changes),
                         in_transaction=_fix_in_transaction(down, up))
    return () if undo is None else (("Fix (SQL)", undo[0]),)


def _fix_in_transaction(down: Migration | None, up: Migration) -> bool:
    """Whether statements added to `down` (or written as the down `up` lacks) run in a
    transaction: its runner wraps it in one, or sends the file as one query, one implicit
    transaction once it holds several statements (golang-migrate's `.down.sql`, sqlx's,
    diesel's under `run_in_transaction = false`): CONCURRENTLY fails there (25001)."""
    from dbsafe.extract.migration import diesel_folder, sqlx_folder

    migration = down if down is not None else up
    if migration.starts_in_transaction:
        return True
    file = migration.file
    return file is not None and (
        _ONE_QUERY_FILE.fullmatch(file.name) is not None or sqlx_folder(file.parent)
        or (file.name in ("down.sql", "up.sql") and diesel_folder(file.parent.parent)))


# golang-migrate's files (`1_x.down.sql`, and the `.up.sql` a missing down is written
# beside): its PostgreSQL drivers send the whole file as one query.
_ONE_QUERY_FILE = re.compile(r"\d+_.*\.(?:up|down)\.sql", re.IGNORECASE)


def _failed(rule: RuleInfo, migration: Migration, failure: StatementFailure,
            what: str, *, help: str = "", severity: Severity | None = None) -> Finding:
    return Finding(rule.code, f"`{migration.path}`: {failure.message}. {what}",
                   severity or rule.default_severity, failure.location, migration.path,
                   help=help[:1].upper() + help[1:] + "." if help else None,
                   context=(("Statement", failure.sql),))


def _not_applied(up: Migration, failure: StatementFailure, unrun: Sequence[str], *,
                 help: str) -> Finding:
    """DBS417 for an up migration PostgreSQL refuses on what the walk built before it. Where
    a migration the runner runs as code comes before it (goose's Go ones, which dbsafe does
    not run), the walk never built what that one makes: hatchet's `v1_0_100.sql` locks
    `v1_dags_olap_new`, which its `v1_0_99.go` creates (42P01 here, not in goose). Then it is
    a warning that says so, not an error that the migration is broken."""
    if not unrun:
        return _failed(UPGRADE_FAILED, up, failure, "The migration does not apply on the "
                       "schema its predecessors make; the ones after it were not verified.",
                       help=help)
    shown = ", ".join(f"`{p}`" for p in unrun[-3:])
    return _failed(UPGRADE_FAILED, up, failure,
                   f"The walk stops here: {len(unrun)} migration(s) before it are code dbsafe "
                   f"does not run ({shown}), so the schema it ran on lacks what they make; "
                   "the ones after it were not verified.", severity=Severity.WARNING,
                   help="Walk it on a database where those ran, or write them as SQL")


def _unrun_before(folder: SqlFolder, up: Migration) -> list[str]:
    """The folder's files its runner runs before `up` that dbsafe cannot run (goose's Go
    migrations, yoyo's Python ones, node-pg-migrate's JavaScript ones, files a journal lists
    that are not there), by their leading version where both have one; all of them where
    not, as the order is then not known."""
    import re

    def version(path: str) -> int | None:
        found = re.match(r"\d+", path.rpartition("/")[2])
        return int(found.group()) if found else None

    mine = version(up.path)
    unread = folder.unread_files()
    return [p for p in unread
            if mine is None or (theirs := version(p)) is None or theirs < mine]


def _no_down(up: Migration, down: Migration | None, *, ran: bool = False) -> str:
    from dbsafe.extract.migration import down_go_migration

    if down is None and up.file is not None \
            and (go := down_go_migration(up.file)) is not None:
        return f"its down migration `{go.name}` is Go code, which dbsafe cannot run"
    if down is None:
        return "has no down migration"
    what = "changes nothing in the schema" if ran else "is empty"
    if down.path == up.path:
        return f"its down section {what}"
    return f"its down migration `{down.path}` {what}"


def _first_line(migration: Migration) -> Location:
    """The down migration's first statement (its section's, in a file of both); of an empty
    one, the line its section starts on (its `-- migrate:down` marker), or 1."""
    from dbsafe.extract.migration import down_section_line

    if migration.statements:
        return migration.statements[0].location
    return Location(migration.path, down_section_line(migration.file)
                    if migration.file is not None else 1)


def _repair(url: str, reader: KeptSession, current: SchemaSnapshot, wanted: SchemaSnapshot,
            options: DiffOptions) -> bool:
    """Bring the database from `current` (what a down migration left) back to `wanted` with
    the computed undo, so that the up migration's second run proves something of its own
    (not that the leftover is in its way); False where that did not get there."""
    import psycopg

    from dbsafe.schema.ddl import plan
    from dbsafe.schema.diff import REORDER

    changes = _differences(current, wanted, options)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            for statement in plan(current, wanted, changes):
                if not statement.sql.lstrip().startswith("--"):
                    conn.execute(statement.sql)
    except psycopg.Error:
        return False
    return all(c.action == REORDER
               for c in _differences(reader.snapshot(like=wanted), wanted, options))


@dataclass(frozen=True, slots=True)
class Rebuild:
    """How the walked database `database` on `server` is rebuilt: dropped, and made again
    as a copy of `template`, which holds it as it was prepared."""

    server: ScratchServer
    database: str
    template: str


def _rebuild(url: str, folder: SqlFolder, ups: Sequence[Migration], reader: KeptSession,
             rebuild: Rebuild | None = None) -> SchemaSnapshot:
    """The database emptied and `ups` applied again, after a failing step left it
    somewhere between two migrations; its schema. With `rebuild`, the database is made
    again from its template instead, prepared as it is."""
    import psycopg

    from dbsafe.migrate.sqlfiles import apply_sql_migrations

    if rebuild is not None:
        from dbsafe.migrate.setup import copy_database

        reader.close()  # FORCE would end it
        with psycopg.connect(rebuild.server.conninfo(), autocommit=True) as conn:
            conn.execute(psycopg.sql.SQL("DROP DATABASE {} WITH (FORCE)").format(
                psycopg.sql.Identifier(rebuild.server.name(rebuild.database))))
        copy_database(rebuild.server, rebuild.template, rebuild.database)
        apply_sql_migrations(ups, url)
        return reader.snapshot()
    with psycopg.connect(url, autocommit=True) as conn:
        schemas = [r[0] for r in conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
            "AND nspname <> 'information_schema'").fetchall()]
        for schema in schemas:
            conn.execute(psycopg.sql.SQL("DROP SCHEMA {} CASCADE").format(
                psycopg.sql.Identifier(schema)))
        conn.execute("CREATE SCHEMA public")
    folder.prepare(url)
    apply_sql_migrations(ups, url)
    return reader.snapshot()

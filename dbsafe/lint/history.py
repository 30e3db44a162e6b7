"""The migrations `dbsafe lint` reads from an alembic history, and what it could not read.

By default the history runs on a throwaway PostgreSQL server through the sandboxed runner
(`dbsafe.migrate.runner.capture`) and each statement is recorded as it executes, with its
revision, its `op.*` line, and what PostgreSQL showed (locks taken, tables rewritten).
Revisions that read the database (`op.get_bind().execute(...)`, `sa.inspect(bind)`, an ORM
session) or refuse offline mode are linted like any other, from the SQL that really runs.

With `--database-url` naming a database that has an alembic version (and no `--since`), the
capture starts from a copy of that database's schema instead (`Seed`,
`dbsafe.pg.schema_copy`): only the pending revisions run, on what they will meet in
production -- the only way to lint histories whose baseline is made by
`metadata.create_all()` and a stamp. When the copy cannot be taken or the pending revisions
cannot start on it, the history is replayed from empty as without it, and the report says
why.

A revision that fails even there is a DBS005 finding naming it and its error; what ran
before it is linted, and the revisions after it are rendered offline where they can be.
`--offline` -- or a machine with no throwaway server -- renders every revision offline
(`alembic upgrade --sql`), and a revision that cannot be rendered is DBS005 too.

Captures are cached by the migrations' hash (dbsafe's own cache folder left out of it), so a
second run with nothing changed starts no server and runs no revision. The entry also
records what the runs imported from outside the migrations folder (the project's own
modules, by size, mtime and hash; the installed distributions, by version): a revision's
`from myapp.models import Status` reads the enum's values there, so an edit to
`myapp/models.py`, or another sqlalchemy-utils, makes the next run capture again. The cache
also keeps what each revision's `downgrade()` does (`downgrade_of`, read by DBS210), so that
run parses no revision's Python either. `dbsafe status` reads an entry of the files as they
are (`cached_capture`) to tell a data migration's empty downgrade(), and never captures.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbsafe.core import DbsafeError, Finding, Location, RuleInfo, Severity, SourceError
from dbsafe.pg.throwaway import scratch

if TYPE_CHECKING:
    from dbsafe.extract.migration import Migration
    from dbsafe.migrate.revisions import Downgrade
    from dbsafe.migrate.runner import AlembicProject
    from dbsafe.pg.schema_copy import SchemaCopy
    from dbsafe.pg.throwaway import ScratchServer
    from dbsafe.schema.model import SchemaSnapshot

log = logging.getLogger(__name__)

# SQLSTATE foreign_key_violation: on a copy of the schema without rows, a revision's INSERT
# referencing a lookup row the database holds fails with it.
_FOREIGN_KEY_VIOLATION = "23503"

FORMAT = 25  # of the cache file; bump when the captured data changes shape or meaning
# (25: a foreign key violation on a copy of the database's schema is marked rows_missing,
# its reason says the copy holds no rows, task 562)
# (24: a capture on a dev server says so in its notes and unlinted reasons, task 552)
# (23: `seed_failures` no longer counts a newer pg_dump's `SET transaction_timeout`, task 549)
# (6: histories creating pgcrypto or uuid-ossp run on with the stand-ins; 7: pg_net, pg_cron;
# 9: captures started from a copy of the database's schema; 11: pgmq; 12: a revision with
# SQL at its module's top level is captured when run past an earlier failure; 14: a failed
# revision whose rest was not rendered is marked cut short; 15: what the runs imported from
# outside the migrations folder, checked on each hit; 16: and the project's files they read;
# 17: an env.py reading its URL from DATABASE_URL and the like renders offline too; 18: a
# revision run after an earlier one's raw COMMIT starts in alembic's transaction; 19: a BEGIN
# in `autocommit_block()` opens the revision's own transaction, a generated COMMIT before it;
# 20: the search_path env.py set on its connection, a generated SET before each revision;
# 21: revisions rendered offline past a failure carry the SETs env.py's offline branch ran)

NOT_LINTED_DOC = """A revision could not be run or rendered, so it was not linted.

## Why
dbsafe lints the SQL each alembic revision really runs: it applies the history to a
throwaway PostgreSQL server (with `--database-url`, from a copy of that database's schema)
and records every statement. A revision that fails there (or,
with `--offline`, cannot be rendered to SQL) was not checked by any rule. That is reported,
never passed silently: the finding names the revision, its file and line, and the error.
Revisions before it are linted, and what it ran before failing; the statements it did not
reach are rendered offline and linted where they can be; the revisions after it run with it
stamped as applied.

A revision that fails on a copy of a database's schema (`--database-url`, `upgrade`'s
preflight) on a foreign key is a warning: the copy holds none of the database's rows, and
the row the revision's INSERT references (a lookup table an earlier revision filled) may
be one the database holds.

## Bad
```python
def upgrade():
    # fails on an empty database: there is no row to read yet
    op.execute("ALTER TABLE orders ALTER COLUMN total TYPE numeric(12, 2)")
    value = op.get_bind().execute(sa.text("SELECT max(id) FROM orders")).scalar() + 1
```

## Good
```python
def upgrade():
    value = (op.get_bind().execute(sa.text("SELECT max(id) FROM orders")).scalar() or 0) + 1
```

## In Alembic
Make the revision run on an empty database (the state every new environment starts from),
or lint it with `--offline` if it renders offline. `alembic upgrade head` on an empty
database reproduces the error.

## Not flagged
Revisions that run, and revisions that read the database: they read the throwaway one.
"""

NOT_LINTED = RuleInfo(
    code="DBS005",
    name="revision-not-linted",
    summary=NOT_LINTED_DOC.splitlines()[0],
    default_severity=Severity.ERROR,
    since="0.1.0",
)


@dataclass(frozen=True, slots=True)
class Unlinted:
    """A revision (or, with `revision` None, part of the history) that was not linted."""

    revision: str | None
    file: str | None  # the revision file, absolute
    line: int | None
    reason: str
    seeded: bool = False  # it failed on a copy of the database's schema, not an empty one
    # It failed there on a foreign key (23503): the copy holds none of the database's rows,
    # so the row it references (a lookup table's, filled by an earlier revision) may be one
    # the database holds (notifications-api's 0547, task 562).
    rows_missing: bool = False


@dataclass(frozen=True, slots=True)
class Seed:
    """The database whose schema the capture starts from: its alembic version table and
    revisions, and the copy of its schema (None, with `error`, when it could not be taken).

    A database with tables and no revision (no version table, as mlflow's
    `_initialize_tables` leaves it before its first upgrade: `create_all()` of its initial
    models) is a seed too: every revision runs, on its tables."""

    revisions: tuple[str, ...]
    version_table: tuple[str, str] | None  # (schema, table); None: alembic creates it
    copy: SchemaCopy | None = None
    error: str | None = None

    @property
    def at(self) -> str:
        return ", ".join(self.revisions) or "base"

    @property
    def digest(self) -> str:
        """What the capture cache keys a seeded capture by: the schema and where it is."""
        assert self.copy is not None
        table = ".".join(self.version_table) if self.version_table else "-"
        return f"{self.copy.digest} {table} {self.at}"


@dataclass
class LoadedHistory:
    """An alembic history as lint reads it."""

    migrations: list[Migration]  # upgrade order
    unlinted: list[Unlinted] = field(default_factory=list)
    how: str = "captured"  # "captured" | "offline"
    note: str = ""  # why it is not "captured", when it is not
    cached: bool = False
    parents: dict[str, tuple[str, ...]] = field(default_factory=dict)  # revision -> down
    # revision -> its `depends_on`: applied with it, so at or before it too
    dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    seeded: str | None = None  # the database's revision the capture started from
    # objects of the database's schema the throwaway could not make (`TYPE name: error`)
    seed_failures: list[str] = field(default_factory=list)
    seed_note: str = ""  # why the capture did not start from the database's schema
    captured_at: float | None = None  # read from the cache: when the entry was written
    # With `keep_head`, of a capture that ran every revision from an empty database without
    # a failure and dropped or renamed something: the schema at heads, read on its server
    # before it went away -- what `migrated_database` builds again for DBS211 otherwise.
    # Not in the entry: the caller keeps it where the schema from the migrations is cached.
    head: SchemaSnapshot | None = None
    imported: dict[str, Any] | None = None  # what that capture imported (`.imports` form)

    def description(self) -> str:
        if self.how == "captured" and self.seeded:
            text = (f"the SQL each pending revision ran on {scratch(article='a')} holding a "
                    "copy of the database's schema")
        elif self.how == "captured":
            text = f"the SQL each revision ran on {scratch(article='a')}"
        else:
            text = "revisions rendered offline (alembic upgrade --sql)"
        if self.note:
            text += f" ({self.note})"
        return text + (", cached" if self.cached else "")

    def split_after(self, revisions: Iterable[str]) -> tuple[list[Migration], list[Migration]]:
        """(migrations at or before `revisions`, those after them)."""
        done: set[str] = set()
        todo = list(revisions)
        while todo:
            current = todo.pop()
            if current in done:
                continue
            done.add(current)
            todo.extend(self.parents.get(current, ()) + self.dependencies.get(current, ()))
        earlier = [m for m in self.migrations if m.revision in done]
        return earlier, [m for m in self.migrations if m.revision not in done]


def not_linted_finding(item: Unlinted, root: Path) -> Finding:
    """The DBS005 finding for `item`."""
    location = Location(_display(Path(item.file), root), item.line or 1) if item.file else None
    context: tuple[tuple[str, str], ...] = ()
    if item.revision:
        context += (("Revision", item.revision),)
    what = f"Revision {item.revision}" if item.revision else "Part of the history"
    fix = ("Make the revision run on the database's schema (copied without its rows), then "
           "lint again." if item.seeded else
           "Make the revision run on an empty database, then lint again.")
    severity = NOT_LINTED.default_severity
    if item.rows_missing:
        # (PostgreSQL may well apply it: a warning, not a refusal at --fail-on error)
        severity = Severity.WARNING
        fix = ("Check that the database holds the rows the revision's foreign key references "
               "(an upgrade runs each revision in a transaction of its own: a violation rolls "
               "it back), then `--allow DBS005` for this run.")
    return Finding(NOT_LINTED.code, f"{what} {item.reason}.",
                   severity, location, item.revision, fix, context)


def load_history(project: AlembicProject, *, root: Path, offline: bool = False,
                 cache_dir: Path | None = None, since: str | None = None,
                 cache_extra: str = "", seed: Seed | None = None,
                 keep_head: bool = False) -> LoadedHistory:
    """Every revision of `project` as lint reads it (see the module docstring).

    Args:
        project: the alembic environment.
        root: paths are shown relative to it.
        offline: render offline instead of running on a throwaway server.
        cache_dir: where captures are cached (None: no cache).
        since: offline only: render the revisions after this one.
        cache_extra: more text for the cache key (dbsafe's version, the interpreter).
        seed: start from a copy of this database's schema and run only the revisions after
            its own; when that cannot be done, the history is replayed from empty and
            `seed_note` says why.
        keep_head: a capture run now (not read from the cache) from an empty database,
            every revision run without a failure, that dropped or renamed something, keeps
            the schema at heads in `head` (see `_head_schema`).
    """
    if offline:
        return _offline(project, root, since, note="--offline")
    if seed is not None:
        return _seeded(project, root=root, cache_dir=cache_dir, cache_extra=cache_extra,
                       seed=seed)
    cache_file = _cache_file(project, cache_dir, cache_extra)
    cached = _read(cache_file)
    if cached is not None:
        return cached
    try:
        loaded = _capture_cached(project, root, cache_file, cache_dir, keep_head=keep_head)
    except _NoCapture as exc:
        where = scratch(article="a")
        log.info("capturing on %s failed, rendering offline: %s", where, exc)
        return _offline(project, root, since, note=f"could not run on {where}: {exc}")
    return loaded


def cached_capture(project: AlembicProject, *, cache_dir: Path,
                   cache_extra: str = "") -> LoadedHistory | None:
    """The capture from an empty database `load_history` would read from the cache for these
    files (keyed as it keys it), without running anything; None when there is none, or when
    it is stale (a file or what the runs imported changed since). A capture started from a
    copy of a database's schema is keyed by that schema too (`Seed.digest`, which takes a
    pg_dump): it is not looked for."""
    try:
        cache_file = _cache_file(project, cache_dir, cache_extra)
    except DbsafeError as exc:  # no alembic.ini, or setup-sql that cannot be read
        log.info("no cached capture to read: %s", exc)
        return None
    return _read(cache_file)


def _capture_cached(project: AlembicProject, root: Path, cache_file: Path | None,
                    cache_dir: Path | None, *, seed: Seed | None = None,
                    keep_head: bool = False) -> LoadedHistory:
    """`_capture`, its result written to `cache_file` with what the runs imported from
    outside the migrations folder (the project's modules, the installed distributions):
    `_read` takes it only while those are unchanged."""
    from dbsafe.migrate.runner import recording_imports

    with recording_imports() as imported:
        loaded = _capture(project, root, seed=seed, keep_head=keep_head)
    if cache_dir is not None and imported.complete:
        from dbsafe.migrate.fingerprint import imported_dependencies

        loaded.imported = imported_dependencies(project.ini, imported.files,
                                                imported.distributions, exclude=[cache_dir])
        if cache_file is not None:
            from dbsafe.cache import write_cache_file

            data = _to_json(loaded)
            data["imported"] = loaded.imported
            write_cache_file(cache_file, json.dumps(data))
    return loaded


def _seeded(project: AlembicProject, *, root: Path, cache_dir: Path | None, cache_extra: str,
            seed: Seed) -> LoadedHistory:
    if seed.copy is None:
        why = f"its schema could not be copied: {seed.error}"
    else:
        cache_file = _cache_file(project, cache_dir, f"{cache_extra} seed {seed.digest}",
                                 seeded=True)
        cached = _read(cache_file)
        if cached is not None:
            return cached
        try:
            return _capture_cached(project, root, cache_file, cache_dir, seed=seed)
        except _NoCapture as exc:
            why = f"the pending revisions could not start on a copy of its schema: {exc}"
            log.info("capturing on a copy of the database's schema failed: %s", exc)
    loaded = load_history(project, root=root, cache_dir=cache_dir, cache_extra=cache_extra)
    loaded.seed_note = (f"The capture did not start from the database's schema ({why}); "
                        "the history was replayed from an empty database.")
    return loaded


def restore_seed(server: ScratchServer, database: str, seed: Seed) -> list[str]:
    """`_restore_seed` for another capture than lint's (`dbsafe downgrade`'s, of a downgrade
    alembic cannot render offline).

    Raises:
        DbsafeError: the schema or the version table could not be made.
    """
    try:
        return _restore_seed(server, database, seed)
    except _NoCapture as exc:
        raise DbsafeError(str(exc)) from None


def _restore_seed(server: ScratchServer, database: str, seed: Seed) -> list[str]:
    """Build the database's schema in `database` and put its revisions in its version table;
    returns the objects that could not be made.

    Raises:
        _NoCapture: the schema or the version table could not be made.
    """
    import psycopg
    from psycopg import sql

    from dbsafe.pg.schema_copy import restore_schema

    assert seed.copy is not None
    try:
        failures = list(restore_schema(seed.copy, server, database))
    except DbsafeError as exc:
        raise _NoCapture(str(exc)) from None
    if seed.version_table is None:
        return failures  # alembic creates its version table as it runs the first revision
    schema, table = seed.version_table
    try:
        with psycopg.connect(server.conninfo(database), autocommit=True) as conn:
            conn.execute(sql.SQL("DELETE FROM {}.{}").format(sql.Identifier(schema),
                                                            sql.Identifier(table)))
            for revision in seed.revisions:
                conn.execute(sql.SQL("INSERT INTO {}.{} (version_num) VALUES (%s)").format(
                    sql.Identifier(schema), sql.Identifier(table)), (revision,))
    except psycopg.Error as exc:
        raise _NoCapture(f"its version table {schema}.{table} could not be filled on "
                         f"{scratch()}: {str(exc).strip().splitlines()[0]}") from None
    return failures


# -- what each revision's downgrade() does (DBS210), read once per file --------------------

_downgrades: dict[str, tuple[int, Downgrade | None]] = {}  # file -> (mtime_ns, downgrade)


def downgrade_of(file: Path | str) -> Downgrade | None:
    """The module-level `downgrade()` of a revision file; None if it cannot be read or parsed.

    Read once per file (and per modification time): from the capture cache when the history
    was loaded from it, else by parsing the file's Python.
    """
    key = str(file)
    try:
        mtime = os.stat(key).st_mtime_ns
    except OSError:
        return None
    known = _downgrades.get(key)
    if known is not None and known[0] == mtime:
        return known[1]
    from dbsafe.migrate.revisions import find_downgrade

    try:
        found: Downgrade | None = find_downgrade(Path(key))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        found = None
    _downgrades[key] = (mtime, found)
    return found


def _downgrades_json(migrations: Iterable[Migration]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for migration in migrations:
        if migration.kind != "alembic" or migration.file is None:
            continue
        key = str(migration.file)
        found = downgrade_of(key)
        known = _downgrades.get(key)
        if known is not None:
            out[key] = [known[0], None if found is None else
                        [found.line, found.column, found.kind]]
    return out


def _remember_downgrades(data: Mapping[str, Any]) -> None:
    from dbsafe.migrate.revisions import Downgrade

    for key, (mtime, found) in data.items():
        _downgrades.setdefault(key, (int(mtime), None if found is None else
                                     Downgrade(int(found[0]), int(found[1]), found[2])))


class _NoCapture(Exception):
    pass


_MAX_FAILURES = 10  # revisions stamped past before the rest is left to offline rendering


def _capture(project: AlembicProject, root: Path, *, seed: Seed | None = None,
             keep_head: bool = False) -> LoadedHistory:
    import dataclasses
    from datetime import UTC, datetime

    from dbsafe.migrate.render import captured_migrations, render_revisions
    from dbsafe.migrate.revisions import ancestors
    from dbsafe.migrate.runner import (
        FlaskAppError,
        MigrationError,
        RunResult,
        capture,
        describe_failure,
        warm_child,
    )
    from dbsafe.migrate.setup import SetupSqlError, pristine_copy
    from dbsafe.pg.throwaway import throwaway_server

    failures: list[dict[str, Any]] = []
    seed_failures: list[str] = []
    template = None
    where = scratch(article="a")
    head = None
    started = datetime.now(UTC)  # objects made on the throwaway carry it as their 'now'
    if project.setup is not None and seed is None:
        project.setup.check()
    try:
        # The capture's child loads alembic while the server starts and the database's
        # schema is copied (about 0.3 s of each upgrade's preflight).
        with warm_child(project), throwaway_server(database="dbsafe") as server, \
                contextlib.ExitStack() as stack:
            if seed is not None:
                seed_failures = _restore_seed(server, "dbsafe", seed)
                template = _template_of(server, "dbsafe")
                where = "a copy of the database's schema"
            elif project.setup is not None:
                # (a copy of the database's schema holds what the setup made)
                project.setup.run(server.url("dbsafe"))
                # A fresh database for a run past a failing revision is a copy of this
                # one as the setup left it: what it made once per server (a role) is not
                # made again.
                template = stack.enter_context(pristine_copy(server, "dbsafe"))
            result = capture(project, server.url("dbsafe"))
            error = result.capture_error
            if error is not None and error.get("type") == "FlaskAppNotLoaded":
                # offline rendering loads the application as this run did: said once
                raise FlaskAppError(describe_failure(error, ini=project.ini,
                                                     interpreter=project.interpreter))
            if error is not None and not error.get("revision"):
                raise _NoCapture(describe_failure(error, ini=project.ini,
                                                  interpreter=project.interpreter))
            revisions = result.revisions  # the whole script directory, as each run loads it
            parents = {r.revision: (r.down_revision,) if isinstance(r.down_revision, str)
                       else tuple(r.down_revision or ()) for r in revisions}
            captured = list(result.captured)
            skipped = list(result.skipped_types)
            # A revision that fails: run the history again on a fresh database, stamping
            # past it, so the revisions after it are still captured as they run.
            while error is not None and len(failures) < _MAX_FAILURES:
                if any(f["revision"] == error["revision"] for f in failures):
                    break
                failures.append(error)
                result = capture(project, _fresh_database(server, len(failures), template),
                                 operations=_stamping_past(failures, parents))
                # The earlier runs ran the failing revisions and their ancestors; a later
                # revision can hold statements there too, from code at its module's top
                # level, which runs when alembic loads the history (FitTrackee's enum
                # `.create(op.get_bind())`): its upgrade ran only now.
                reached = ancestors(revisions, (str(f["revision"]) for f in failures))
                captured = [c for c in captured if c.revision in reached] + [
                    c for c in result.captured if c.revision not in reached]
                skipped = [t for t in skipped if t.revision in reached] + [
                    t for t in result.skipped_types if t.revision not in reached]
                error = result.capture_error
                if error is not None and not error.get("revision"):
                    break
            if keep_head and seed is None and error is None and not failures:
                head = _head_schema(server.url("dbsafe"), result, captured, started)
    except SetupSqlError:
        raise  # the project's own SQL failed: no schema of the project's to capture on
    except FlaskAppError:
        raise  # offline rendering would load the application as this run did
    except MigrationError as exc:
        raise _NoCapture(str(exc)) from None
    except DbsafeError as exc:  # no embedded server here, or it would not start
        raise _NoCapture(str(exc)) from None
    combined: RunResult = dataclasses.replace(result, captured=tuple(captured),
                                              capture_error=error,
                                              skipped_types=tuple(skipped))
    loaded = LoadedHistory(captured_migrations(combined, root=root), parents=parents,
                           dependencies={r.revision: r.dependencies for r in revisions
                                         if r.dependencies},
                           seeded=seed.at if seed is not None else None,
                           seed_failures=seed_failures, head=head)
    seeded = seed is not None
    failed_revisions = [str(f["revision"]) for f in failures]
    if error is not None and str(error["revision"]) not in failed_revisions:
        failed_revisions.append(str(error["revision"]))
    completed = _rest_offline(project, root, loaded, failed_revisions)
    loaded.migrations = [dataclasses.replace(m, cut_short=True)
                         if m.revision in failed_revisions and m.revision not in completed
                         else m for m in loaded.migrations]

    def why(failure: Mapping[str, Any]) -> str:
        """The error a revision failed with, and, on an empty database of a project
        without `setup-sql`, how to give it what the project's database gets first."""
        from dbsafe.migrate.setup import build_hint, first_revision, setup_hint

        hint = setup_hint(failure.get("sqlstate"), first=first_revision(failure.get("file"))) \
            if project.setup is None and not seeded else ""
        hint = build_hint(failure.get("sqlstate"), str(failure.get("message"))) or hint
        return f"{failure.get('type')}: {failure.get('message')}" + (f"; {hint}" if hint else "")

    def rows_missing(failure: Mapping[str, Any]) -> bool:
        """Whether the copy's lack of rows may explain the failure: a foreign key violation
        where every table started empty but for what the revisions inserted."""
        return seeded and failure.get("sqlstate") == _FOREIGN_KEY_VIOLATION

    def failed_there(failure: Mapping[str, Any]) -> str:
        said = f"fails on {where} ({why(failure)})"
        if rows_missing(failure):
            said += (", which holds none of the database's rows: the row its foreign key "
                     "references may be one the database holds")
        return said

    for failure in failures:
        loaded.unlinted.append(Unlinted(
            str(failure["revision"]), failure.get("file"), failure.get("line"),
            f"{failed_there(failure)}, "
            f"so {_after_failure(completed, str(failure['revision']))}; "
            "what it ran before failing is linted, and the revisions after it ran with it "
            "stamped as applied", seeded, rows_missing(failure)))
    if error is None:
        return loaded
    if not any(f["revision"] == error["revision"] for f in failures):
        loaded.unlinted.append(Unlinted(
            str(error["revision"]), error.get("file"), error.get("line"),
            f"{failed_there(error)}, "
            f"so {_after_failure(completed, str(error['revision']))}", seeded,
            rows_missing(error)))
    failed = str(error["revision"])
    ran = {m.revision for m in loaded.migrations}
    rest = [r for r in reversed(result.revisions) if r.revision not in ran]
    if not rest:
        return loaded
    try:
        rendered = render_revisions(project, root=root, since=failed)
    except SourceError as exc:
        loaded.unlinted.append(Unlinted(
            None, None, None,
            f"was not linted: the revisions after {failed} "
            f"({_some(r.revision for r in rest)}) did not run, and could not be rendered "
            f"offline either: {exc}"))
        return loaded
    wanted = {r.revision for r in rest}
    loaded.migrations.extend(m for m in rendered if m.revision in wanted)
    missing = wanted - {m.revision for m in rendered}
    if missing:
        loaded.unlinted.append(Unlinted(None, None, None,
                                        f"was not linted: revisions {_some(sorted(missing))} "
                                        f"after {failed} did not run"))
    loaded.note = f"the {len(rest)} revision(s) after {failed} rendered offline"
    return loaded


def _head_schema(url: str, result: Any, captured: Iterable[Any],
                 started: Any) -> SchemaSnapshot | None:
    """The schema the capture left at `url`, when it is what `migrated_database` builds from
    the same history (its upgrade to heads on a new throwaway server, after the same
    `setup-sql`) and DBS211 may read it: the statements dropped or renamed something, the
    version table holds the heads and a relation was built (as `migrated_database` verifies).
    None otherwise: the schema is built again if it is needed (the same run made on a
    database where a revision failed, or env.py did not migrate, is not that schema).

    Read as `migrated_database`'s is read: `introspect_url` of the same database with the
    session's own search_path, `built_since` when the capture began."""
    from dbsafe.lint.app_references import may_remove
    from dbsafe.migrate.runner import verify_applied
    from dbsafe.migrate.throwaway import require_built
    from dbsafe.schema.introspect import introspect_url

    if not may_remove(c.sql for c in captured if not c.introspection):
        return None
    try:
        verify_applied(url, result)
        require_built(url, result)
        return introspect_url(url).mark_built_since(started)
    except DbsafeError as exc:
        log.info("the capture's schema at heads is not kept: %s", exc)
        return None


def _after_failure(rest: Mapping[str, int], revision: str) -> str:
    count = rest.get(revision)
    if count is None:
        return "what it would run after that was not linted"
    if not count:
        return "it would run nothing after that (as alembic upgrade --sql renders it)"
    return (f"the {count} statement(s) it would run after that were rendered offline "
            "(alembic upgrade --sql) and linted, unconfirmed by PostgreSQL")


def _rest_offline(project: AlembicProject, root: Path, loaded: LoadedHistory,
                  failed: list[str]) -> dict[str, int]:
    """Add to each failed revision the statements it did not reach, rendered offline.

    A revision that fails on the throwaway (an extension the throwaway lacks, a table its
    baseline never created) would run more in production. Those statements are taken from
    one offline rendering of the history from the first failure on (up to the first revision
    offline rendering cannot pass, if there is one), when the statements the
    revision did run match the rendering's first ones (a revision whose SQL depends on
    what it reads does not render the same, and gets nothing added). Returns revision ->
    number of statements added, for each revision whose rest is known (0: it failed at its
    last statement).
    """
    import dataclasses

    from dbsafe.migrate.render import render_revisions
    from dbsafe.migrate.runner import MigrationError

    if not failed:
        return {}
    order = [m.revision for m in loaded.migrations]
    first = min(failed, key=lambda r: order.index(r) if r in order else len(order))
    downs = loaded.parents.get(first, ())
    if len(downs) > 1:
        return {}
    since = downs[0] if downs else None
    try:
        rendered = render_revisions(project, root=root, since=since)
    except SourceError as exc:
        # Offline rendering stops at the first revision it cannot render (one reading the
        # database): the failed revisions before that one are rendered on their own.
        cause = exc.__cause__
        rendered = []
        if isinstance(cause, MigrationError) and cause.revision and cause.revision != first:
            with contextlib.suppress(SourceError):  # its first, a merge, or the same failure
                rendered = render_revisions(project, root=root, since=since,
                                            until=f"{cause.revision}-1")
        if not rendered:
            log.info("could not render the failed revisions offline: %s", exc)
            return {}
    by_revision = {m.revision: m for m in rendered}
    added: dict[str, int] = {}
    for index, migration in enumerate(loaded.migrations):
        offline = by_revision.get(migration.revision)
        if migration.revision not in failed or offline is None:
            continue
        ran = [s for s in migration.statements if not s.generated]
        planned = [s for s in offline.statements if not s.generated]
        if len(planned) < len(ran) or any(
                " ".join(a.sql.split()) != " ".join(b.sql.split())
                for a, b in zip(ran, planned)):
            continue
        if len(planned) == len(ran):  # it failed at its last statement: nothing is missing
            added[str(migration.revision)] = 0
            continue
        rest = tuple(dataclasses.replace(s, observed=None) for s in planned[len(ran):])
        loaded.migrations[index] = dataclasses.replace(
            migration, statements=migration.statements + rest)
        added[str(migration.revision)] = len(rest)
    return added


def _fresh_database(server: Any, attempt: int, template: str | None = None) -> str:
    """A new database on `server`: empty, or a copy of `template` (its settings too)."""
    import psycopg
    from psycopg import sql

    name = f"dbsafe_{attempt}"
    if template is not None:
        from dbsafe.migrate.setup import copy_database

        return copy_database(server, template, name)
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(server.name(name))))
    return str(server.url(name))


def _template_of(server: Any, database: str) -> str:
    """A copy of `database` as it is now, for the fresh databases a failing revision needs
    (copying a database is faster than restoring its schema again)."""
    import psycopg
    from psycopg import sql

    name = f"{database}_seed"
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(server.name(name)), sql.Identifier(server.name(database))))
    return name


def _stamping_past(failures: list[dict[str, Any]],
                   parents: Mapping[str, tuple[str, ...]]) -> list[tuple[str, str]]:
    """Upgrade to each failing revision's parents, stamp it, then upgrade to heads."""
    operations: list[tuple[str, str]] = []
    for failure in failures:
        revision = str(failure["revision"])
        operations += [("upgrade", down) for down in parents.get(revision, ())]
        operations.append(("stamp", revision))
    return [*operations, ("upgrade", "heads")]


def _some(names: Iterable[str], shown: int = 10) -> str:
    items = list(names)
    more = len(items) - shown
    return ", ".join(items[:shown]) + (f" and {more} more" if more > 0 else "")


def _offline(project: AlembicProject, root: Path, since: str | None, *,
             note: str) -> LoadedHistory:
    from dbsafe.migrate.render import render_revisions
    from dbsafe.migrate.runner import MigrationError

    try:
        migrations = render_revisions(project, root=root, since=since)
    except SourceError as exc:
        cause = exc.__cause__
        if isinstance(cause, MigrationError) and cause.revision:
            # Offline rendering stops at the first revision it cannot render: the ones
            # before it are rendered on their own, up to its parent (`rev-1`).
            try:
                before = render_revisions(project, root=root, since=since,
                                          until=f"{cause.revision}-1")
            except SourceError:  # its first, a merge, or the same failure earlier
                before = []
            after = ("the revisions after it were not linted" if before
                     else "so no revision was linted")
            # Rendered offline because running them failed first: say why (`upgrade`'s
            # preflight shows only the findings), not to lint without an --offline never
            # passed.
            instead = (f"lint without --offline to run them on {scratch(article='a')}"
                       if note == "--offline" else f"the history was rendered offline as it {note}")
            return LoadedHistory(before, [Unlinted(
                cause.revision, cause.file, cause.line,
                f"was not linted: it cannot be rendered offline ({cause}), and offline "
                f"rendering stops there, {after}; {instead}")],
                how="offline", note=note)
        if note != "--offline":  # say that running them was tried first
            raise SourceError(f"{exc} (tried because it {note})") from cause
        raise
    return LoadedHistory(migrations, how="offline", note=note)


def _display(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


# -- cache -------------------------------------------------------------------------------------


def _cache_file(project: AlembicProject, cache_dir: Path | None, extra: str, *,
                seeded: bool = False) -> Path | None:
    if cache_dir is None:
        return None
    from dbsafe.migrate.fingerprint import migrations_cache_key

    if project.setup is not None and not seeded:
        # (a seeded capture runs no setup: the copy of the database's schema has it)
        extra += f" setup {project.setup.cache_key()}"
    key = migrations_cache_key(project.ini, extra=f"lint capture {FORMAT} {extra} "
                                                  f"{project.interpreter} {_server_version()}",
                               exclude=[cache_dir])
    return cache_dir / f"lint-{key}.json"


def _server_version() -> str:
    """The throwaway server's package version, or the dev server's version and extensions:
    what it shows (locks, rewrites) may change."""
    from dbsafe.pg.throwaway import server_key

    return server_key()


def _read(cache_file: Path | None) -> LoadedHistory | None:
    if cache_file is None or not cache_file.is_file():
        return None
    try:
        data = json.loads(cache_file.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            return None
        from dbsafe.migrate.fingerprint import dependencies_changed

        if dependencies_changed(data["imported"], cache_file) is not None:
            return None
        loaded = _from_json(data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.info("ignoring unreadable cache file %s: %s", cache_file, exc)
        return None
    loaded.cached = True
    with contextlib.suppress(OSError):
        loaded.captured_at = cache_file.stat().st_mtime
    return loaded


def _to_json(loaded: LoadedHistory) -> dict[str, Any]:
    def statement(s: Any) -> list[Any]:
        o = s.observed
        w = s.waited
        return [s.sql, s.location.path, s.location.line, s.location.column, s.generated,
                None if o is None else [[list(x) for x in o.locks], [list(x) for x in o.held],
                                        list(o.rewritten), [list(x) for x in o.inherited],
                                        None if o.scanned is None else list(o.scanned)],
                None if w is None else [w.relation, w.mode, None if w.holder is None else
                                        [w.holder.path, w.holder.line, w.holder.column]]]

    def made(t: Any) -> list[Any]:
        at = t.made_at
        return [t.name, t.kind, list(_location_json(t.location)), t.made_by,
                None if at is None else list(_location_json(at)), t.exists, list(t.parents)]

    return {
        "format": FORMAT,
        "how": loaded.how,
        "note": loaded.note,
        "parents": {k: list(v) for k, v in loaded.parents.items()},
        "dependencies": {k: list(v) for k, v in loaded.dependencies.items()},
        "unlinted": [[u.revision, u.file, u.line, u.reason, u.seeded, u.rows_missing]
                     for u in loaded.unlinted],
        "seeded": loaded.seeded,
        "seed_failures": loaded.seed_failures,
        "downgrades": _downgrades_json(loaded.migrations),
        "migrations": [
            [m.path, m.revision, m.kind, str(m.file) if m.file else None,
             m.starts_in_transaction, [statement(s) for s in m.statements], m.cut_short,
             [made(t) for t in m.types_made_earlier]]
            for m in loaded.migrations
        ],
    }


def _location_json(at: Location) -> tuple[str, int, int]:
    return at.path, at.line, at.column


def _from_json(data: Mapping[str, Any]) -> LoadedHistory:
    from dbsafe.extract.migration import (
        Migration,
        MigrationStatement,
        Observed,
        TypeMadeEarlier,
        Waited,
    )

    def observed(o: Any) -> Observed | None:
        if o is None:
            return None
        return Observed(tuple((a, b, c) for a, b, c in o[0]),
                        tuple((a, b, c) for a, b, c in o[1]), tuple(o[2]),
                        tuple((a, b, c) for a, b, c in o[3]),
                        None if o[4] is None else tuple(o[4]))

    def waited(w: Any) -> Waited | None:
        if w is None:
            return None
        return Waited(w[0], w[1], None if w[2] is None else Location(*w[2]))

    migrations = [
        Migration(path, tuple(MigrationStatement(sql, Location(p, line, column), generated,
                                                 observed(o), waited(w))
                              for sql, p, line, column, generated, o, w in statements),
                  revision=revision, kind=kind, file=Path(file) if file else None,
                  starts_in_transaction=starts, cut_short=cut_short,
                  types_made_earlier=tuple(
                      TypeMadeEarlier(name, kind_, Location(*at), by,
                                      None if by_at is None else Location(*by_at), exists,
                                      tuple(parents))
                      for name, kind_, at, by, by_at, exists, parents in made))
        for path, revision, kind, file, starts, statements, cut_short, made
        in data["migrations"]
    ]
    _remember_downgrades(data["downgrades"])
    return LoadedHistory(
        migrations,
        [Unlinted(*u) for u in data["unlinted"]],
        how=data["how"], note=data["note"],
        parents={k: tuple(v) for k, v in data["parents"].items()},
        dependencies={k: tuple(v) for k, v in data["dependencies"].items()},
        seeded=data.get("seeded"), seed_failures=list(data.get("seed_failures") or ()),
    )

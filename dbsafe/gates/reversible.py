"""The stairway walk behind `dbsafe verify-reversible`: is every downgrade a real undo?

For each revision, oldest first (branches in dependency order, merges after their parents):
upgrade it, snapshot, downgrade it, snapshot, and compare the full catalog after the
downgrade with the catalog before the upgrade (`dbsafe.schema.diff`, so an index, a
default, a view, a function, a trigger, a policy or a grant left behind all show -- not
only what SQLAlchemy models describe, which is all autogenerate-based checks see). Then the
revision is upgraded again, which proves the downgrade left a state the upgrade accepts.

Cheap steps: one child process runs every alembic command of the walk (`ApplySession`),
the re-upgrade of a revision travels in the same request as the upgrade of the next one,
and the snapshot after one revision is the "before" of the next. A walk that a failing step
derailed is rebuilt on a fresh database of the same throwaway server and carries on; the
stairway keeps a copy of each database it rebuilt (a checkpoint), and the next rebuild starts
from that copy, replaying only the revisions applied since (`_rebuild`).

Downgrades are addressed per revision (`REV@-1`, or `REV@PARENT` for a merge), so on a
branchy history only that revision is undone, never the other branch.

A long linear stretch (`FAST_WALK_MIN` revisions or more, on a throwaway server) is walked
the way pytest-alembic's up/down test walks it instead: all up in one alembic command, then
down in commands of 20 revisions, a fingerprint after each step, and up again, with the
stairway's round trip only for the revisions whose fingerprints differed (`_fast_walk`).
On a machine with two cores or more, a stretch of `SPLIT_WALK_MIN` revisions or more is cut in
two, each part walked on its own database by its own child at the same time (`_split_walk`).
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbsafe.config import usable_cores
from dbsafe.core import OWN_SCHEMA, DbsafeError, Finding, Location, RuleInfo, Severity, first_line
from dbsafe.extract.newer_python import parse
from dbsafe.pg.throwaway import scratch

if TYPE_CHECKING:
    from dbsafe.migrate.runner import AlembicProject, CapturedStatement, Revision, RunResult
    from dbsafe.schema.diff import Change, DiffOptions
    from dbsafe.schema.model import SchemaSnapshot

log = logging.getLogger(__name__)

# List of codes.
DOWNGRADE_MISSING = RuleInfo(
    code="DBS411",
    name="downgrade-missing",
    summary="A revision has no working downgrade: none or one that only raises (`alembic "
            "downgrade` fails there, whatever its upgrade did), or, when it changes the "
            "schema, `pass` or one that changes nothing in the schema.",
    default_severity=Severity.ERROR,
    since="0.1.0",
)
DOWNGRADE_FAILED = RuleInfo(
    code="DBS412",
    name="downgrade-failed",
    summary="Running a revision's downgrade right after its upgrade raised an error.",
    default_severity=Severity.ERROR,
    since="0.1.0",
)
DOWNGRADE_LEFTOVER = RuleInfo(
    code="DBS413",
    name="downgrade-leftover",
    summary="After upgrade then downgrade, the schema differs from the schema before the "
            "upgrade.",
    default_severity=Severity.ERROR,
    since="0.1.0",
)
DOWNGRADE_COLUMN_ORDER = RuleInfo(
    code="DBS414",
    name="downgrade-column-order",
    summary="After upgrade then downgrade, a table has its columns in another order.",
    default_severity=Severity.NOTE,
    since="0.1.0",
)
REUPGRADE_FAILED = RuleInfo(
    code="DBS415",
    name="reupgrade-failed",
    summary="Upgrading a revision again after its downgrade raised an error.",
    default_severity=Severity.ERROR,
    since="0.1.0",
)
DATA_MIGRATION_WITHOUT_DOWNGRADE = RuleInfo(
    code="DBS416",
    name="data-migration-without-downgrade",
    summary="A revision that changes no schema (a data migration) has an empty downgrade.",
    default_severity=Severity.NOTE,
    since="0.1.0",
)
UPGRADE_FAILED = RuleInfo(
    code="DBS417",
    name="upgrade-failed",
    summary="A revision's upgrade raised an error during the walk; the revisions after it "
            "were not verified.",
    default_severity=Severity.ERROR,
    since="0.1.0",
)
RULES = (DOWNGRADE_MISSING, DOWNGRADE_FAILED, DOWNGRADE_LEFTOVER, DOWNGRADE_COLUMN_ORDER,
         REUPGRADE_FAILED, DATA_MIGRATION_WITHOUT_DOWNGRADE, UPGRADE_FAILED)

# dbsafe's own bookkeeping is never part of a project's schema.

Progress = Callable[[int, int, str], None]  # (revisions done, total, revision)

# A linear stretch of at least this many revisions is walked up, then down (`_fast_walk`);
# shorter walks, and those with branches or merges, take the stairway.
FAST_WALK_MIN = 20
_DOWN_CHUNK = 20  # downgrades per request in the down walk: the progress bar moves per request
# A fast walk of at least this many revisions is cut in two halves walked side by side
# (`_split_walk`), when this machine has two cores or more.
SPLIT_WALK_MIN = 2 * FAST_WALK_MIN


@dataclass(frozen=True, slots=True)
class WalkResult:
    findings: tuple[Finding, ...]
    walked: tuple[str, ...]  # revisions whose round trip was verified, in walk order
    not_verified: tuple[str, ...] = ()  # left out because the walk could not go on
    summary: dict[str, Any] = field(default_factory=dict)


class _Walk:
    """The database the walk runs on, the one child process that migrates it, and the twin
    database that gives the schema before a revision when a fingerprint says it changed."""

    def __init__(self, project: AlembicProject, url: str,
                 new_database: Callable[[], str] | None, *, start: Sequence[str] = (),
                 seed: Path | None = None, throwaway: bool = False,
                 waits: list[tuple[CapturedStatement, str]] | None = None,
                 copy_database: Callable[[str], str] | None = None) -> None:
        self.project = project
        self.url = url
        self.new_database = new_database  # None: the database cannot be replaced
        # Makes a copy of a database of the same server that no session is connected to
        # (`CREATE DATABASE ... TEMPLATE`), returns its URL; None: no checkpoints
        self.copy_database = copy_database
        # (the revisions it holds, in walk order; its URL): the last database `_rebuild`
        # built, copied as it was then, which no session uses
        self.checkpoint: tuple[tuple[str, ...], str] | None = None
        # On a throwaway server: its child's databases are watched for statements waiting
        # for another connection of the migration idle in its transaction (`_note_waits`)
        self.throwaway = throwaway
        # (statement that waited, the alembic command it ran in), shared by the walks of
        # one verification
        self.waits: list[tuple[CapturedStatement, str]] = [] if waits is None else waits
        self.start = list(start)
        self.seed = seed
        self._stack = contextlib.ExitStack()  # the child
        self._db = contextlib.ExitStack()  # the connection to the walk's database
        self._session: Any = None
        self._kept: Any = None  # KeptSession: fingerprints, version table, snapshots
        self._sql: str | None = None
        self._twin: str | None = None  # the twin database's URL, made on first need
        self._twin_usable = True  # False once a revision failed to apply on it
        self._twin_applied: list[str] = []
        self.requests = 0
        self.snapshots = 0
        # revisions whose upgrade, fingerprinted, sent no statement: nothing to undo
        self.idle_upgrades: set[str] = set()
        self._version_schema: dict[tuple[str, str | None], str] = {}

    def __enter__(self) -> _Walk:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._db.close()
        self._stack.close()

    @property
    def conn(self) -> Any:
        """One idle autocommit connection for the version table and fingerprints (the
        kept session the snapshots are read on)."""
        return self.kept.connection(as_new=False)

    @property
    def kept(self) -> Any:
        if self._kept is None:
            from dbsafe.schema.introspect import KeptSession

            self._kept = self._db.enter_context(KeptSession(self.url))
        return self._kept

    @property
    def fingerprint_sql(self) -> str:
        if self._sql is None:
            from dbsafe.gates.fingerprint import fingerprint_sql, read_catalog_columns

            version = self.conn.execute("SELECT current_setting('server_version_num')::int")
            self._sql = fingerprint_sql(int(version.fetchone()[0]),
                                        read_catalog_columns(self.conn))
        return self._sql

    def start_child(self) -> None:
        """Start the walk's child without waiting: it loads alembic, SQLAlchemy and the
        history (touching no database) while the caller goes on."""
        if self._session is None:
            from dbsafe.migrate.runner import ApplySession

            session = ApplySession(self.project, self.url, throwaway=self.throwaway)
            session.start()
            self._stack.callback(session.close)
            self._session = session

    def end_child(self) -> None:
        """No request follows: the child exits while the caller goes on (`__exit__` waits)."""
        if self._session is not None:
            self._session.end_requests()

    @property
    def session(self) -> Any:
        self.start_child()
        self._session.wait_ready()
        return self._session

    def described(self) -> RunResult:
        """The history's revisions and heads, as the walk's child loaded them."""
        result: RunResult = self.session.described
        return result

    def apply(self, operations: Sequence[tuple[str, str]],
              after: Sequence[tuple[str, str]] = ()) -> RunResult:
        """Run `operations` in the walk's child; fingerprints right after the `after` steps."""
        self.requests += 1
        fingerprint = (self.fingerprint_sql, after) if after else None
        # prepared on a throwaway server (the only kind with a twin), not on a scratch
        # database that a pooler may serve
        result = self._request(operations, fingerprint=fingerprint, prepare=self.has_twin,
                               verify=False, keep_connection=True)
        self.idle_upgrades.update(rid for rid, direction in result.idle if direction == "up")
        return result

    def _request(self, operations: Sequence[tuple[str, str]], **options: Any) -> RunResult:
        from dbsafe.migrate.runner import MigrationError

        session = self.session
        if session.url != self.url:
            # the walk's database was replaced (`replace`): the same child runs on the new one
            options.setdefault("database_url", self.url)
        try:
            result: RunResult = session.apply(operations, **options)
        except MigrationError as exc:
            self._note_waits(exc.waited, operations)
            if exc.self_waits:
                self._new_child()
            raise
        self._note_waits(result.waited, operations)
        if result.self_waits:
            self._new_child()
        return result

    def _new_child(self) -> None:
        """dbsafe ended a connection in the last command to go on: the next request gets a
        new child, as the next `alembic` run would be a new process. The child's application
        state may hold the ended connection (freshmaker's Flask-SQLAlchemy `db.session`, one
        per process; a module's connection made once) or alembic's kept connection may be
        the one ended, and each later command failed on it. Closed before the next starts
        (an idle child exits at once): its lock-wait watch must not race the new one's."""
        if self._session is not None:
            self._session.close()
            self._session = None

    def _note_waits(self, waited: Sequence[CapturedStatement],
                    operations: Sequence[tuple[str, str]]) -> None:
        """Keep the waits alembic itself would hang on: the other connection was left idle
        by the same alembic command. One left by an earlier command is the walk's doing
        (its one child outlives the commands, as an `alembic` run does not): ended, not
        reported."""
        for statement in waited:
            wait = statement.waited
            assert wait is not None
            index = statement.operation or 0
            if wait.holder_file is None or wait.holder_operation != index \
                    or index >= len(operations):
                log.info("%s:%d waited for a connection an earlier alembic command of the "
                         "walk left idle in its transaction; dbsafe ended it",
                         statement.file, statement.line)
                continue
            self.waits.append((statement, " ".join(operations[index])))

    def fingerprint(self) -> str:
        return str(self.conn.execute(self.fingerprint_sql.encode()).fetchone()[0])

    def snapshot(self, *, like: SchemaSnapshot | None = None) -> SchemaSnapshot:
        """The database's schema; `like`: read with that snapshot's search path where new
        sessions now start with another (`KeptSession.snapshot`)."""
        self.snapshots += 1
        # On the walk's own session: a new one per snapshot would start a server process
        # that loads every catalog entry afresh (a quarter of a snapshot's time here). A
        # new one where a revision changed what a new session logs in with (ALTER
        # DATABASE ... SET search_path, which names the types in a snapshot).
        snapshot: SchemaSnapshot = self.kept.snapshot(like=like)
        return snapshot

    def version_rows(self, result: RunResult) -> list[str]:
        """The version table's rows; it may live outside the search path
        (`version_table_schema`)."""
        from psycopg import sql

        table, schema = result.version_table, result.version_table_schema
        found = self._version_schema.get((table, schema))
        if found is not None:
            import psycopg

            try:
                return [r[0] for r in self.conn.execute(
                    sql.SQL("SELECT version_num FROM {}.{}").format(
                        sql.Identifier(found), sql.Identifier(table)))]
            except psycopg.errors.UndefinedTable:
                del self._version_schema[(table, schema)]  # gone: look for it again
        row = self.conn.execute(
            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = %s AND c.relkind IN ('r', 'p') AND "
            "(n.nspname = %s OR (%s::text IS NULL AND n.nspname = ANY (current_schemas(false))))",
            (table, schema, schema)).fetchone()
        if row is None:
            return []
        self._version_schema[(table, schema)] = row[0]  # one query per step from now on
        return [r[0] for r in self.conn.execute(sql.SQL("SELECT version_num FROM {}.{}").format(
            sql.Identifier(row[0]), sql.Identifier(table)))]

    @property
    def has_twin(self) -> bool:
        return self.new_database is not None and self._twin_usable

    def drop_twin(self) -> None:
        """No twin from now on (a revision did not apply on it): "before" is snapshotted
        before each upgrade instead."""
        self._twin_usable = False
        self._twin = None

    def snapshot_of(self, applied: Sequence[str]) -> SchemaSnapshot:
        """The schema the revisions `applied` give, read from the twin database.

        The twin is brought forward only when asked (one alembic command for all the
        revisions since it was last asked), so a walk without leftovers never makes it.
        """
        from dbsafe.schema.introspect import introspect_url

        assert self.new_database is not None
        if self._twin is None:
            url = self.new_database()
            # The walk's own child runs it (a request may name another database of the
            # same server): no second child to start.
            self._request([("upgrade", _up(s)) for s in self.start]
                          or [("upgrade", "base")], verify=False, database_url=url)
            if self.seed is not None:
                _seed(url, self.seed)
            self._twin = url
            self._twin_applied = list(self.start)
        url = self._twin
        tips = [t for t in dict.fromkeys(applied) if t not in self._twin_applied]
        if tips:
            self._request([("upgrade", _up(t)) for t in tips], verify=False,
                          database_url=url, keep_connection=True)
            self._twin_applied += tips
        self.snapshots += 1
        return introspect_url(url)

    def release(self) -> None:
        """Close every connection to the walk's database (the child's, the application's
        pooled ones, the lock-wait watch's; the walk's own opens on first use), so that it
        can be copied; the next request reconnects."""
        self._db.close()
        self._db = contextlib.ExitStack()
        self._kept = None
        self.session.release(self.url)

    def keep_checkpoint(self, applied: Sequence[str]) -> None:
        """Copy the walk's database, which holds `applied` (built by upgrades alone), as the
        checkpoint the next rebuild starts from. Its connections are closed first (a copy
        needs a database no session uses); the next request reconnects. When it cannot be
        copied (55006: a connection the child does not hold), no checkpoint from now on:
        each rebuild replays the whole history, as before."""
        import psycopg

        if self.copy_database is None:
            return
        try:
            self.release()
            url = self.copy_database(self.url)
        except psycopg.Error as exc:
            log.warning("the walk's rebuilds replay the history from its start (copying the "
                        "rebuilt database failed: %s)", first_line(exc))
            self.copy_database, self.checkpoint = None, None
            return
        self.checkpoint = (tuple(applied), url)

    def replace(self, source: str | None = None) -> bool:
        """Continue on a fresh database (after a step left this one in an unknown state);
        `source`: a copy of that database (no session may use it), not an empty one.

        The walk's child goes on, on the new database (a request may name another database
        of its server, as the twin's do): a new child would load alembic, SQLAlchemy, the
        project's modules and the history again, seconds a time on a large project (task
        410: fractal-server's walk made 16 fresh databases, 3 s each). Each alembic command
        runs env.py anew and every connection it opens is pointed at the request's database,
        as in a new child. The child's kept connection to the old database is closed and
        its lock-wait watch stopped."""
        if self.new_database is None:
            return False
        self._db.close()
        self._db = contextlib.ExitStack()
        self._kept = None
        self._version_schema.clear()
        fresh = self.new_database() if source is None or self.copy_database is None \
            else self.copy_database(source)
        old, self.url = self.url, fresh
        if self._session is not None and old != self.url:
            self._session.forget(old)
        return True


def verify(project: AlembicProject, *, root: Path, database_url: str | None = None,
           allow_not_empty: bool = False, start: str | None = None, target: str = "heads",
           options: DiffOptions | None = None, seed: Path | None = None,
           progress: Progress | None = None) -> WalkResult:
    """Walk the history on a throwaway server, or on the scratch database `database_url`.

    Args:
        database_url: a scratch database to walk on instead of a throwaway server. It must
            be empty (no table, view, function, type or sequence) unless `allow_not_empty`;
            a non-empty one is walked from the revision it is at.
        start: verify the revisions after this one (default: from base, or from the
            scratch database's current revision).
        target: the last revision to verify.
        seed: a SQL file run once before the first verified revision (rows, so revisions
            that depend on data are exercised).

    Raises:
        DatabaseError: the scratch database is not empty and `allow_not_empty` is not set.
    """
    if database_url is None:
        import dataclasses
        from datetime import UTC, datetime

        from dbsafe.migrate.setup import copy_database, pristine_copy
        from dbsafe.pg.throwaway import throwaway_server
        from dbsafe.schema.diff import DiffOptions

        # Objects made on the throwaway carry the moment as their 'now' (`built_since`).
        options = dataclasses.replace(options or DiffOptions(), built_since=datetime.now(UTC))
        if project.setup is not None:
            project.setup.check()
        with throwaway_server(database="dbsafe") as server, \
                contextlib.ExitStack() as stack:
            names = iter(range(1, 1_000_000))
            template = None
            if project.setup is not None:
                project.setup.run(server.url("dbsafe"))
                # The twin and rebuilt databases are copies of this one as the setup left
                # it: what it made once per server (a role) is not made again.
                template = stack.enter_context(pristine_copy(server, "dbsafe"))

            def new_database() -> str:
                import psycopg

                name = f"dbsafe_walk_{next(names)}"
                if template is not None:
                    return copy_database(server, template, name)
                with psycopg.connect(server.conninfo("postgres"), autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{server.name(name)}"'.encode())
                return server.url(name)

            def copies_from_now_on() -> None:
                """The databases `new_database` makes are copies of the walk's first one as
                it is now (no connection to it is open)."""
                import psycopg

                nonlocal template
                try:
                    template = stack.enter_context(pristine_copy(server, "dbsafe", "loaded"))
                except psycopg.Error as exc:  # still in use (55006): as before, empty ones
                    log.warning("the walk's fresh databases start empty, without what the "
                                "application made as it loaded (copying the first one "
                                "failed: %s)", first_line(exc))

            def copy_of(url: str) -> str:
                """A copy of the server's database `url` names (no session uses it)."""
                from dbsafe.pg.connect import connection_params

                return copy_database(server, str(connection_params(url)["dbname"]),
                                     f"dbsafe_walk_{next(names)}")

            return walk(project, server.url("dbsafe"), root=root,
                        start=[start] if start else (), target=target, options=options,
                        new_database=new_database, seed=seed, progress=progress,
                        throwaway=True, copies_from_now_on=copies_from_now_on,
                        copy_database=copy_of)
    from dbsafe.core import DatabaseError
    from dbsafe.migrate.runner import current_revisions
    from dbsafe.pg.urls import redact_url
    from dbsafe.schema.introspect import introspect_url

    snapshot = introspect_url(database_url)
    objects = [o for o in (*snapshot.relations, *snapshot.functions, *snapshot.enums,
                           *snapshot.sequences, *snapshot.domains, *snapshot.composite_types)
               if getattr(o, "schema", "") != OWN_SCHEMA]
    if objects and not allow_not_empty:
        raise DatabaseError(
            f"{redact_url(database_url)} is not empty ({len(objects)} objects); the walk "
            "upgrades and downgrades every revision on it. Give an empty scratch database, "
            f"leave out --database-url to use {scratch(article='a')}, or pass "
            "--allow-not-empty")
    current = list(current_revisions(database_url))
    return walk(project, database_url, root=root,
                start=[start] if start else current, target=target, options=options,
                seed=seed, progress=progress)


def walk(project: AlembicProject, url: str, *, root: Path, start: Sequence[str] = (),
         target: str = "heads", options: DiffOptions | None = None,
         new_database: Callable[[], str] | None = None, seed: Path | None = None,
         progress: Progress | None = None,
         fast_min: int | None = FAST_WALK_MIN,
         split_min: int | None = SPLIT_WALK_MIN, throwaway: bool = False,
         copies_from_now_on: Callable[[], None] | None = None,
         copy_database: Callable[[str], str] | None = None) -> WalkResult:
    """Walk the history on `url` and report every revision whose downgrade is no undo.

    Each revision costs one request to the child: its upgrade (in the same alembic command
    as the previous revision's re-upgrade, when that is its parent) and its downgrade, with
    a catalog fingerprint taken on the migration's connection right after the re-upgrade
    (the schema before this revision) and after the downgrade. Equal fingerprints: nothing
    was left, no snapshot is taken. Different ones: the downgraded database is introspected
    and diffed with the schema before the upgrade, read from a twin database brought to the
    same revisions (with `new_database`), or from a snapshot taken before each upgrade
    (without: a scratch database, which cannot have a twin).

    Args:
        project: the alembic environment.
        url: a database at `start` (empty for base) that the walk may change at will.
        root: the project root; locations are relative to it.
        start: revisions the database is at (or is first upgraded to); the walk verifies
            the revisions after them.
        target: the last revision to verify (`heads`, a revision id).
        options: differences to leave out (dbsafe's own schema always is).
        new_database: returns the URL of another empty database on the same server, for
            the twin and so that a walk a failed step derailed can be rebuilt and go on;
            None stops it there.
        seed: a SQL file run once, after `start` is reached and before the first revision
            is verified (a rebuilt database is not seeded again; the twin is).
        progress: called before each revision.
        fast_min: with `new_database`, a linear walk of at least this many revisions is
            walked up then down instead (`_fast_walk`: the same findings in a few alembic
            commands); None: always the stairway.
        split_min: a fast walk of at least this many revisions is cut in two, walked side
            by side on two databases (`_split_walk`) when this machine has two cores or
            more; None: never.
        throwaway: `url` and `new_database`'s databases are dbsafe's own throwaways: a
            statement waiting for another connection of the migration idle in its
            transaction has that connection ended (reported as DBS132 when the same
            alembic command left it idle) instead of waiting forever.
        copies_from_now_on: makes `new_database` return copies of `url` as it is when
            called (`CREATE DATABASE ... TEMPLATE`). Called once env.py's first run is done
            on `url`, when the application the child loaded connected to it as it loaded:
            what it made there then (Superset's Flask-AppBuilder `ab_*` tables), it makes
            once per process, and each fresh database of the walk must start with it too.
        copy_database: makes a new database of `new_database`'s server as a copy of the one
            a URL names, no session connected to it (`CREATE DATABASE ... TEMPLATE`), and
            returns its URL: the stairway then keeps each database it rebuilt as a
            checkpoint, and the next rebuild starts from a copy of it (`_rebuild`). None:
            each rebuild replays every revision applied so far.

    Raises:
        MigrationError: the revisions before `start` could not be applied.
        SourceError: the seed file cannot be read or fails.
    """
    from dbsafe.migrate.revisions import pending, resolve
    from dbsafe.migrate.runner import MigrationError

    findings: list[Finding] = []
    reported: set[str] = set()  # revisions with a finding: their re-upgrade failing is no news
    walked: list[str] = []
    counts = {"rebuilt": 0, "replayed": 0, "repaired": 0, "compared_in_full": 0}
    stopped_at: int | None = None

    def report(found: Sequence[Finding]) -> None:
        findings.extend(found)
        reported.update(f.subject for f in found if f.subject and f.severity == Severity.ERROR)

    if new_database is not None:
        new_database = _one_at_a_time(new_database)  # two halves may want one at once
    else:
        copy_database = None
    # The least length of a walk cut in two here, or None: never cut.
    split_at_least = split_min if (new_database is not None and fast_min is not None
                                   and usable_cores() > 1) else None
    with _Walk(project, url, new_database, seed=seed, throwaway=throwaway,
               copy_database=copy_database) as w, \
            contextlib.ExitStack() as stack:
        w.start_child()
        spare: _Walk | None = None
        if split_at_least is not None and new_database is not None \
                and _has_files(project, split_at_least):
            # The second walk a long history is split into (`_split_walk`), its child
            # started now, side by side with the first one's (the history is known only
            # once loaded: the revision files are counted instead).
            spare = stack.enter_context(_Walk(project, new_database(), new_database,
                                              throwaway=throwaway, waits=w.waits))
            spare.start_child()
        # The walk's child loads the history once; what it loaded describes it too.
        described = w.described()
        revisions, heads = described.revisions, described.heads
        start_ids = [r for name in start for r in resolve(revisions, heads, name)]
        target_ids = resolve(revisions, heads, target)
        order = pending(revisions, start_ids, target_ids)
        if not order and set(target_ids) != set(start_ids):
            # A range upside down, or to another branch: a green gate that verified nothing.
            raise DbsafeError(f"no revision lies above {', '.join(start_ids) or 'base'} up to "
                              f"{', '.join(target_ids) or 'base'}: nothing to verify (is the "
                              "range upside down?)")
        by_id = {r.revision: r for r in revisions}
        w.start = start_ids
        applied: list[str] = list(start_ids)  # every revision the database holds
        # Even at base, run env.py once first: what it creates before any revision (schemas,
        # extensions, functions) is part of "before", not a leftover of the first revision.
        index = 0

        def upgrade_failed(exc: MigrationError, again: bool = False) -> None:
            """A revision's upgrade failed where the walk cannot go on without it (below
            `start`; `again`: on a fresh database, after it applied on the walk's own)."""
            if exc.revision is None:
                raise exc  # env.py itself, or the version table: not a revision's fault
            failed = by_id.get(exc.revision)
            if failed is not None and failed.revision not in reported:
                walking = any(r.revision == failed.revision for r in order)  # (else
                # it is one `--from` names, or before it: building the start)
                report([_upgrade_failed(failed, exc, root, again=again, setup=_has_setup(w),
                                        start=() if walking else start_ids)])

        try:
            w.apply([("upgrade", _up(s)) for s in start_ids] or [("upgrade", "base")])
        except MigrationError as exc:
            upgrade_failed(exc)
            stopped_at, index = 0, len(order)
        if copies_from_now_on is not None and stopped_at is None \
                and w.session.app_connected:
            # Each fresh database the walk moves to (a rebuild, the twin) starts as this one
            # is now, with what the application made in it as it loaded.
            w.release()
            copies_from_now_on()
        if seed is not None and stopped_at is None:
            _seed(w.url, seed)
        # Without a twin, "before" must be read before each upgrade (one snapshot per
        # revision); with one, only when a fingerprint differs.
        eager = not w.has_twin
        before_fp = w.fingerprint()
        if stopped_at is None and not eager and fast_min is not None \
                and len(order) >= max(1, fast_min) and _linear(order, start_ids):
            try:
                if split_at_least is not None and len(order) >= max(2, split_at_least):
                    by_revision, index, fallback = _split_walk(
                        w, spare, order, by_id, start_ids, before_fp, options, root, counts,
                        progress, seed)
                else:
                    by_revision, fallback = _fast_walk(w, order, by_id, start_ids,
                                                       before_fp, options, root, counts,
                                                       progress, seed)
                    index = len(order) if fallback is None else 0
            except MigrationError as exc:
                # the revisions of `start` did not apply again on a fresh database
                upgrade_failed(exc, again=True)
                by_revision, fallback = {}, None
                stopped_at, index = 0, len(order)
            for revision in order[:index if stopped_at is None else 0]:
                report(by_revision.get(revision.revision, ()))
                walked.append(revision.revision)
                applied.append(revision.revision)
            if fallback is not None:
                # an upgrade failed on the way up: the stairway finds and reports it, from
                # the first revision the fast walk did not verify
                before_fp = fallback
        if spare is not None:
            spare.end_child()  # its part walked, or not needed after all
        before: SchemaSnapshot | None = w.snapshot() if eager and stopped_at is None \
            else None
        carry: str | None = None  # the previous revision, to upgrade again

        def rebuilt() -> bool:
            """`_rebuild`, counted, or False: it cannot be (reported when a revision's
            upgrade failed on the fresh database, after it applied on the walk's own)."""
            try:
                done = _rebuild(w, applied, counts)
            except MigrationError as exc:
                upgrade_failed(exc, again=True)
                return False
            if done:
                counts["rebuilt"] += 1
            return done
        while index < len(order):
            revision = order[index]
            rid = revision.revision
            if progress is not None:
                progress(index, len(order), rid)
            problem = _downgrade_problem(revision)
            # After the upgrade: did it change the schema at all (a data migration), is a
            # database whose downgrade failed still there (rolled back), and did the
            # downgrade change anything (`_compare`)?
            after: list[tuple[str, str]] = [(rid, "down"), (rid, "up")]
            operations: list[tuple[str, str]] = []
            split: list[tuple[str, str]] = []  # the re-upgrade as a request of its own
            if carry is not None:
                if eager:
                    split = [("upgrade", _up(carry))]  # "before" is read in between
                elif carry not in _parents(revision):
                    operations.append(("upgrade", _up(carry)))
                    after.append((carry, "up"))
                else:  # upgrading to this revision re-applies its parent in the same command
                    after.append((carry, "up"))
            upgrades = len(operations) + 1
            try:
                if split:
                    result = w.apply(split)
                    _expect(w, result, by_id, applied)
                    carry = None
                    before_fp, before = w.fingerprint(), w.snapshot()
                # 1. upgrade, downgrade: one request
                operations += [("upgrade", _up(rid)),
                               ("downgrade", _down_target(revision, by_id.values()))]
                result = w.apply(operations, after)
                _expect(w, result, by_id, applied)
            except MigrationError as exc:
                if exc.revision is None:
                    raise  # env.py itself, or the version table: not a revision's fault
                if exc.completed < upgrades:  # an upgrade failed
                    if exc.self_waits and carry is not None and exc.revision != carry \
                            and carry in _parents(revision):
                        # dbsafe ended a connection this command left idle in its
                        # transaction (DBS132), and alembic failed on it. The command held
                        # the parent's re-upgrade, whose locks were perhaps the ones waited
                        # for (Superset's 1226819ee0e3 reads `columns` on the application's
                        # engine, 956a063c52b3's ALTER holding it): this revision again,
                        # alone in its command, on a rebuilt database.
                        carry = None
                        if not rebuilt():
                            stopped_at = index
                            break
                        before_fp = w.fingerprint()
                        before = w.snapshot() if eager else None
                        continue
                    if carry is None or exc.revision != carry:
                        report([_upgrade_failed(by_id.get(exc.revision or "", revision),
                                                exc, root, setup=_has_setup(w))])
                        stopped_at = index
                        break
                    if carry not in reported:
                        report([_reupgrade_failed(by_id[carry], exc, root)])
                    carry = None
                    if not rebuilt():
                        stopped_at = index
                        break
                    before_fp = w.fingerprint()
                    before = w.snapshot() if eager else None
                    continue  # this revision again, on the rebuilt database
                # the downgrade failed
                applied.append(rid)
                walked.append(rid)
                after_fp = _taken(exc.fingerprints, rid, "up")
                parent_fp = _taken(exc.fingerprints, carry, "up") if carry is not None \
                    else before_fp
                report([_downgrade_failed(
                    revision, exc, problem, root, schema_changed=None
                    if after_fp is None or parent_fp is None else after_fp != parent_fp)])
                carry = None
                # A transactional downgrade rolled back: still upgraded, nothing to redo.
                if (after_fp is None or w.fingerprint() != after_fp) and not rebuilt():
                    stopped_at = index + 1
                    break
                before_fp = w.fingerprint()
                before = w.snapshot() if eager else None
                index += 1
                continue
            taken = result.fingerprints
            if carry is not None:
                before_fp = _taken(taken, carry, "up") or ""
            applied.append(rid)
            walked.append(rid)
            down_fp = _taken(taken, rid, "down")
            after_fp = _taken(taken, rid, "up")
            changed = after_fp is None or after_fp != before_fp
            options_here = _with_version_table(options, result)
            if down_fp is not None and down_fp == before_fp:
                compared = _compare(revision, None, changed, None, problem, options_here, root,
                                    idle=rid in w.idle_upgrades)
            else:
                # 2. the fingerprints differ: compare the schemas in full
                counts["compared_in_full"] += 1
                if before is None:
                    try:
                        before = w.snapshot_of(applied[:-1])
                    except MigrationError as exc:
                        # A revision that applied on the walk's database failed on the
                        # twin: reported; the walk goes on without a twin, this revision
                        # again on a rebuilt database with "before" snapshotted.
                        upgrade_failed(exc, again=True)
                        w.drop_twin()
                        eager = True
                        applied.pop()
                        walked.pop()
                        carry = None
                        if not rebuilt():
                            stopped_at = index
                            break
                        before_fp, before = w.fingerprint(), w.snapshot()
                        continue
                # (read as "before" was: a database setting the downgrade left is then the
                # difference, not the type names the search path it sets would change)
                down = w.snapshot(like=before)
                compared = _compare(revision, before, changed, down, problem, options_here,
                                    root, down_unchanged=down_fp is not None
                                    and down_fp == after_fp, idle=rid in w.idle_upgrades)
                leftovers = any(f.code != DATA_MIGRATION_WITHOUT_DOWNGRADE.code
                                for f in compared)
                if leftovers and _repair(w, down, before, options_here, before_fp):
                    # The computed undo, applied: the re-upgrade then tests the revision
                    # itself rather than tripping over what its downgrade left.
                    counts["repaired"] += 1
                elif leftovers and w.new_database is not None:
                    # What the undo cannot restore (a column order: PostgreSQL cannot
                    # reorder) would stay for every later round trip, which would then
                    # report it, or miss its own, against a schema no database built by
                    # the migrations has. The re-upgrade runs on what the downgrade left,
                    # then the walk goes on from a fresh database.
                    report(compared)
                    try:
                        w.apply([("upgrade", _up(rid))])
                    except MigrationError as exc:
                        if rid not in reported:
                            report([_reupgrade_failed(revision, exc, root)])
                    carry = None
                    index += 1
                    if index == len(order):
                        break
                    if not rebuilt():
                        stopped_at = index
                        break
                    before_fp = w.fingerprint()
                    before = w.snapshot() if eager else None
                    continue
            report(compared)
            carry = rid
            before = None
            index += 1
        if stopped_at is None and carry is not None:
            # 3. the last revision's re-upgrade
            try:
                w.apply([("upgrade", _up(carry))])
            except MigrationError as exc:
                if carry not in reported:
                    report([_reupgrade_failed(by_id[carry], exc, root)])
        requests, snapshots = w.requests, w.snapshots
        w.end_child()  # it exits while the findings are put together
        findings += _self_waits(w.waits, root)
    not_verified = tuple(r.revision for r in order[stopped_at:] if r.revision not in walked) \
        if stopped_at is not None else ()
    summary: dict[str, Any] = {
        "revisions_verified": len(walked), "revisions_not_verified": list(not_verified),
        "alembic_requests": requests, "snapshots": snapshots, **counts,
    }
    return WalkResult(tuple(findings), tuple(walked), not_verified, summary)


def _linear(order: Sequence[Revision], start: Sequence[str]) -> bool:
    """Each revision's only parent is the one before it (the first's, `start`)."""
    previous = tuple(start)
    for revision in order:
        if _parents(revision) != previous:
            return False
        previous = (revision.revision,)
    return True


def _fast_walk(w: _Walk, order: Sequence[Revision], by_id: dict[str, Revision],
               start: Sequence[str], start_fp: str, options: DiffOptions | None, root: Path,
               counts: dict[str, int], progress: Progress | None, seed: Path | None,
               ) -> tuple[dict[str, list[Finding]], str | None]:
    """`_up_and_down`; a revision's failure it has no answer for (an upgrade that applied
    on the way up fails on a fresh database; a step that fails in an unforeseen place)
    hands the stretch to the stairway, which reports every failure on its revision.

    Raises:
        MigrationError: env.py failed; or the revisions of `start` did not apply again.
    """
    from dbsafe.migrate.runner import MigrationError

    try:
        return _up_and_down(w, order, by_id, start, start_fp, options, root, counts,
                            progress, seed)
    except MigrationError as exc:
        if exc.revision is None:
            raise  # env.py itself: the stairway would stop on it just the same
        log.info("the fast walk stopped at revision %s (%s); the stairway walks the stretch",
                 exc.revision, exc)
    counts["rebuilt"] += 1
    return {}, _fresh_start(w, start, seed)


def _fresh_start(w: _Walk, start: Sequence[str], seed: Path | None) -> str:
    """The walk continues on a fresh database at `start` (seeded): its fingerprint."""
    w.replace()
    w.apply([("upgrade", _up(s)) for s in start] or [("upgrade", "base")])
    if seed is not None:
        _seed(w.url, seed)
    return w.fingerprint()


def _up_and_down(w: _Walk, order: Sequence[Revision], by_id: dict[str, Revision],
                 start: Sequence[str], start_fp: str, options: DiffOptions | None, root: Path,
                 counts: dict[str, int], progress: Progress | None, seed: Path | None,
                 ) -> tuple[dict[str, list[Finding]], str | None]:
    """A linear stretch, walked as pytest-alembic's up/down test walks it, with the verdict
    of the stairway: the same findings in a few alembic commands (not two per revision).

    1. Up: one alembic command upgrades every revision, a fingerprint after each.
    2. Down: one command per `_DOWN_CHUNK` revisions, a fingerprint after each downgrade,
       compared with the one taken on the way up after the revision's parent. What a
       revision leaves stays, and adds the same to every fingerprint below (fingerprints
       are sums of row hashes): it is carried down as an offset, and the revision noted.
       A downgrade that raises is reported, or, when something left above could be the
       cause, tried again on a fresh database brought to that revision.
    3. The computed undo of what was left and stayed brings back the schema at the start.
    4. Up again, in one command up to each noted revision (the stairway's re-upgrade of
       the revisions before it), where the stairway's own round trip runs on a database at
       its parent: snapshot, upgrade, downgrade, compare (fingerprints equal: only
       re-created objects differed in step 2), the computed undo. After a failed
       re-upgrade the walk goes on from a fresh database at that revision; each revision
       above it (or above a fresh database of step 2), never downgraded there, gets the
       stairway's up, down, up on it (`_up_again`).

    Returns:
        The findings by revision; or, when an upgrade of step 1 failed, `{}` and the
        fingerprint of a database back at `start` for the stairway to walk instead.
    """
    from dbsafe.migrate.runner import MigrationError

    ids = [r.revision for r in order]
    where = {rid: i for i, rid in enumerate(ids)}
    total, top = len(ids), ids[-1]
    if progress is not None:
        progress(0, total, ids[-1])

    def fresh(upto: int) -> tuple[str, dict[str, str]]:
        """A fresh database at `start` and `ids[:upto]`: its fingerprints at start and after
        each of those revisions."""
        w.replace()
        w.apply([("upgrade", _up(s)) for s in start] or [("upgrade", "base")])
        if upto == 0 and seed is not None:
            _seed(w.url, seed)
        base, taken = w.fingerprint(), {}
        if upto:
            done = w.apply([("upgrade", _up(ids[upto - 1]))], [(r, "up") for r in ids[:upto]])
            taken = {r: str(v) for r, d, v in done.fingerprints if d == "up"}
        counts["rebuilt"] += 1
        return base, taken

    start_snapshot = w.snapshot()  # small: what env.py and `start` made
    # 1. up
    try:
        result = w.apply([("upgrade", _up(top))], [(rid, "up") for rid in ids])
    except MigrationError as exc:
        if exc.revision is None:
            raise  # env.py itself: the stairway would stop on it just the same
        complete = False
    else:
        up = {r: str(v) for r, d, v in result.fingerprints if d == "up"}
        complete = all(rid in up for rid in ids)
        try:
            _expect(w, result, by_id, [*start, *ids])
        except MigrationError:  # more than the stretch (`depends_on`): the stairway's case
            complete = False
    if not complete:
        return {}, fresh(0)[0]
    options_here = _with_version_table(options, result)
    # what each upgrade did to the schema (a data migration changes nothing)
    changed = [up[rid] != (up[ids[i - 1]] if i else start_fp) for i, rid in enumerate(ids)]

    # 2. down
    base, ref, offset = start_fp, dict(up), 0  # the fingerprints this database should give
    findings: dict[str, list[Finding]] = {}
    stops: set[int] = set()  # revisions whose downgrade left the fingerprint other
    left = False  # something left since the database was made
    fresh_from = total  # revisions from this index on were never downgraded on this database

    def expected(i: int) -> int:
        """The fingerprint after revision i's downgrade: that after its parent's upgrade."""
        return int(ref[ids[i - 1]] if i else base) + offset

    def moved(pos: int) -> None:
        if progress is not None and pos >= 0:
            progress(total - 1 - pos, total, ids[pos])  # ids[pos] is next

    pos = total - 1
    while pos >= 0:
        chunk = list(range(pos, max(-1, pos - _DOWN_CHUNK), -1))
        lowest = chunk[-1]
        target = ids[lowest - 1] if lowest else (start[0] if start else "base")
        failure: MigrationError | None = None
        try:  # one command for the chunk
            taken = w.apply([("downgrade", target)],
                            [(ids[i], "down") for i in chunk]).fingerprints
        except MigrationError as exc:
            failure, taken = exc, exc.fingerprints
        values = {r: int(str(v)) for r, d, v in taken if d == "down"}
        if failure is None and ids[lowest] not in values:
            raise MigrationError(f"no fingerprint was taken after the downgrade of {ids[lowest]}")
        for i in chunk:
            if ids[i] not in values:
                break  # its downgrade failed
            if values[ids[i]] != expected(i):
                # Something left (or only re-created: new OIDs). What stays adds the same
                # to every fingerprint below: carried as an offset. Step 4 looks closer.
                if not stops:
                    _warm_up()
                stops.add(i)
                offset += values[ids[i]] - expected(i)
                left = True
            pos = i - 1
            moved(pos)
        if failure is None:
            continue
        if failure.revision is None and failure.self_waits:
            # The connection dbsafe ended was alembic's own, and alembic failed on it outside
            # any revision's code, in the downgrade it was running: the first of the chunk
            # without its fingerprint (a revision's statement that waited names it when
            # captured; one sent on a connection of its own making is not).
            failure.revision = ids[pos]
        if failure.revision != ids[pos]:
            raise failure  # env.py, or not the revision this command was to downgrade next
        # Perhaps what a revision above left; or a lock one took in this same command that
        # another connection of this downgrade waited for (DBS132 reports that command):
        # again, on a fresh database, with this downgrade first in its command.
        if left or (failure.self_waits and pos != chunk[0]):
            base, ref = fresh(pos + 1)
            offset, left, fresh_from = 0, False, pos + 1
            continue
        revision = order[pos]
        findings[ids[pos]] = [_downgrade_failed(revision, failure,
                                                _downgrade_problem(revision), root,
                                                schema_changed=changed[pos])]
        base, ref = fresh(pos)
        offset, fresh_from = 0, pos
        pos -= 1
        moved(pos)

    # 3. back to the schema at the start: the computed undo of what was left and stayed.
    # When it does not restore it (a column order), the database is `astray`: a round
    # trip of step 4 on it would report what is left there, or miss its own, against a
    # schema no database built by the migrations has; it runs on a fresh database instead.
    astray = left and w.fingerprint() != base \
        and not _repair(w, w.snapshot(like=start_snapshot), start_snapshot, options_here, base)

    # 4. up again; on the way, each revision whose fingerprint differed gets the stairway's
    # round trip (snapshot, upgrade, downgrade, compare, undo) on a database at its parent
    failed: dict[int, MigrationError] = {}
    pending = sorted(stops)
    at = 0  # the database holds ids[:at]
    downgraded = set(range(fresh_from))  # revisions downgraded on this very database
    while True:
        goal = next((i for i in pending if i >= at), total)
        if goal > at:
            # A revision downgraded on this database is upgraded again; one that never was
            # (above a fresh database) gets the stairway's own up, down, up, so a downgrade
            # whose leftovers only the upgrade trips over is still found.
            operations, meaning = _up_again(order, at, goal, downgraded | {
                where[rid] for rid in findings})  # a failed downgrade: not again
            try:
                w.apply(operations)
            except MigrationError as exc:
                if exc.revision not in where:
                    raise
                j = where[exc.revision]
                what = meaning[min(exc.completed, len(meaning) - 1)]
                if what == "again" or (what == "upgrade" and j in downgraded):
                    failed[j] = exc
                elif what == "down":
                    findings.setdefault(ids[j], []).append(_downgrade_failed(
                        order[j], exc, _downgrade_problem(order[j]), root,
                        schema_changed=changed[j]))
                else:  # a first upgrade on a fresh database: upgraded fine in step 1
                    log.info("revision %s did not upgrade on a fresh database: %s", ids[j],
                             exc)
                fresh(j + 1)
                at, fresh_from, downgraded = j + 1, min(fresh_from, j + 1), set()
                continue
            downgraded.update(range(at, goal))
            at = goal
        if goal == total:
            break
        i, rid = goal, ids[goal]
        revision, problem = order[i], _downgrade_problem(order[i])
        pending.remove(i)
        if astray:
            fresh(i)
            fresh_from, downgraded, astray = min(fresh_from, i), set(), False
        before_fp, before = w.fingerprint(), w.snapshot()
        try:
            trip = w.apply([("upgrade", _up(rid)),
                            ("downgrade", _down_target(revision, by_id.values()))],
                           [(rid, "down"), (rid, "up")])
        except MigrationError as exc:
            if exc.revision != rid:
                raise
            if exc.completed < 1:  # its upgrade after step 2's downgrade
                if i in downgraded:
                    failed[i] = exc
                fresh(i)  # its round trip on a fresh database
                fresh_from, downgraded = min(fresh_from, i), set()
                pending.insert(0, i)
            else:
                findings[rid] = [_downgrade_failed(revision, exc, problem, root,
                                                   schema_changed=changed[i])]
                fresh(i + 1)
                at, fresh_from, downgraded = i + 1, min(fresh_from, i + 1), set()
            continue
        downgraded.add(i)  # its round trip: the upgrade that follows is a re-upgrade
        if _taken(trip.fingerprints, rid, "down") == before_fp:
            continue  # only re-created objects differed in step 2
        counts["compared_in_full"] += 1
        down = w.snapshot(like=before)
        down_fp = _taken(trip.fingerprints, rid, "down")
        findings[rid] = _compare(revision, before, changed[i], down, problem, options_here,
                                 root, down_unchanged=down_fp is not None
                                 and down_fp == _taken(trip.fingerprints, rid, "up"),
                                 idle=rid in w.idle_upgrades)
        if any(f.code != DATA_MIGRATION_WITHOUT_DOWNGRADE.code for f in findings[rid]):
            if _repair(w, down, before, options_here, before_fp):
                counts["repaired"] += 1
            else:
                astray = True

    for i in range(total):
        if ids[i] not in findings:
            findings[ids[i]] = _compare(order[i], None, changed[i], None,
                                        _downgrade_problem(order[i]), options_here, root,
                                        idle=ids[i] in w.idle_upgrades)
    for j, error in sorted(failed.items()):
        if not any(f.severity == Severity.ERROR for f in findings[ids[j]]):
            findings[ids[j]].append(_reupgrade_failed(order[j], error, root))
    return findings, None


def _up_again(order: Sequence[Revision], at: int, goal: int, plain: set[int],
              ) -> tuple[list[tuple[str, str]], list[str]]:
    """The operations that bring a database holding `order[:at]` to `order[:goal]`: one
    upgrade over each run of `plain` revisions (downgraded on it already, or whose
    downgrade failed), and up, down, up for each other revision; with what each operation
    is for ("upgrade"; "first", "down", "again": the stairway's steps), to tell what a
    failure means."""
    operations: list[tuple[str, str]] = []
    meaning: list[str] = []
    i = at
    while i < goal:
        if i in plain:
            j = i
            while j + 1 < goal and j + 1 in plain:
                j += 1
            operations.append(("upgrade", _up(order[j].revision)))
            meaning.append("upgrade")
            i = j + 1
        else:
            rid = order[i].revision
            operations += [("upgrade", _up(rid)), ("downgrade", _down_target(order[i], order)),
                           ("upgrade", _up(rid))]
            meaning += ["first", "down", "again"]
            i += 1
    return operations, meaning


def _one_at_a_time(make: Callable[[], str]) -> Callable[[], str]:
    """`make`, called by one thread at a time (a caller's factory need not be thread-safe)."""
    import threading

    lock = threading.Lock()

    def made() -> str:
        with lock:
            return make()

    return made


def _has_files(project: AlembicProject, count: int) -> bool:
    """Whether the script directory holds at least `count` Python files besides env.py:
    a guess at the history's length from its files alone, before any of them runs."""
    from dbsafe.core import ConfigError
    from dbsafe.migrate import script_locations

    try:
        locations = script_locations(project.ini)
    except (ConfigError, OSError):
        return False
    found = 0
    for location in locations:
        for path in location.rglob("*.py"):
            if path.name not in ("env.py", "__init__.py") and "__pycache__" not in path.parts:
                found += 1
                if found >= count:
                    return True
    return False


def _split_at(total: int) -> int:
    """Where `_split_walk` cuts a stretch of `total` revisions: the lower part is walked up,
    down and up again (three steps a revision); the upper part too, after a plain upgrade
    through the lower part (a command without fingerprints, about one step for two) and
    its own child's start. Two thirds below: both end at about the same time (measured on
    scripts/bench/reversible.py's history)."""
    return max(1, min(total - 1, round(total * 2 / 3)))


def _split_walk(w: _Walk, upper_walk: _Walk | None, order: Sequence[Revision],
                by_id: dict[str, Revision],
                start: Sequence[str], start_fp: str, options: DiffOptions | None, root: Path,
                counts: dict[str, int], progress: Progress | None, seed: Path | None,
                ) -> tuple[dict[str, list[Finding]], int, str | None]:
    """`_fast_walk` on the two parts of a long linear stretch at once: the lower part on the
    walk's database `w`, the upper part on `upper_walk`'s (an empty database of the same
    server, its child started; None: made here), brought through the lower part by a plain
    upgrade. Each revision gets the same checks on the same schema as in one walk (its way
    up, its way down with everything above it walked down first, its way up again), with
    two cores at work.

    Returns:
        The findings by revision of the first `index` revisions of `order`, verified, and
        `index`; and None, or the fingerprint of the walk's database when the stairway is
        to go on from `order[index]` (an upgrade failed on the way up: at `start` when in
        the lower part, at the top of the lower part when in the upper part).
    """
    import threading

    from dbsafe.migrate.runner import MigrationError

    new_database = w.new_database
    assert new_database is not None
    ids = [r.revision for r in order]
    total, cut = len(ids), _split_at(len(ids))
    lock = threading.Lock()
    done = [0, 0]  # revisions each part has walked down
    # Each line names the part its revision belongs to; the first names both (the head is
    # the upper part's first, walked at the same time as the lower part's top).
    parts = (f"{ids[0]}..{ids[cut - 1]}", f"{ids[cut]}..{ids[-1]}")
    sizes = (cut, total - cut)
    last = [0]  # what the bar shows: a line per step forward in a CI log, not one per part
    if progress is not None:
        progress(0, total, f"{parts[0]} and {parts[1]}, side by side")

    def part(which: int) -> Progress | None:
        if progress is None:
            return None

        def shown(index: int, _total: int, revision: str) -> None:
            with lock:
                done[which] = index
                now = min(sum(done), total - 1)
                if now > last[0]:
                    last[0] = now
                    progress(now, total, f"{revision} (of {parts[which]})")

        return shown

    def finished(which: int) -> None:
        """A part walked to its end: the other's lines count all of it (a part's last line
        is its lowest revision starting, and the part that ends second shows the last
        step, not a line naming the base revision again)."""
        with lock:
            done[which] = sizes[which]

    upper: dict[str, Any] = {}
    upper_counts = dict.fromkeys(counts, 0)

    def walk_upper() -> None:
        with contextlib.ExitStack() as own:
            try:
                u = upper_walk or own.enter_context(
                    _Walk(w.project, new_database(), new_database, throwaway=w.throwaway,
                          waits=w.waits))
            except BaseException as exc:  # noqa: BLE001 - raised again in the walk's thread
                upper["error"] = exc
                return
            walk_part(u)

    def walk_part(u: _Walk) -> None:
        try:
            u.apply([("upgrade", _up(s)) for s in start] or [("upgrade", "base")])
            if seed is not None:
                _seed(u.url, seed)
            u.apply([("upgrade", _up(ids[cut - 1]))])
            upper["result"] = _fast_walk(u, order[cut:], by_id, [ids[cut - 1]],
                                         u.fingerprint(), options, root, upper_counts,
                                         part(1), None)
            finished(1)
        except MigrationError as exc:
            if exc.revision is None:
                upper["error"] = exc
            else:  # on the way up: the stairway reaches that revision and reports it
                upper["result"] = ({}, "")
        except BaseException as exc:  # noqa: BLE001 - raised again in the walk's thread
            upper["error"] = exc
        finally:
            upper["requests"], upper["snapshots"] = u.requests, u.snapshots
            # A child a fresh database needed was started in this thread, and dies with
            # it (`PR_SET_PDEATHSIG`): it is told to exit now, its requests all answered.
            u.end_child()

    thread = threading.Thread(target=walk_upper, name="dbsafe-walk-upper", daemon=True)
    thread.start()
    try:
        lower, fallback = _fast_walk(w, order[:cut], by_id, start, start_fp, options, root,
                                     counts, part(0), seed)
        finished(0)
    except Exception:
        thread.join()  # not after Ctrl-C: the upper part stops with its server
        raise
    thread.join()
    if "error" in upper:
        raise upper["error"]
    for key, value in upper_counts.items():
        counts[key] += value
    w.requests += upper.get("requests", 0)
    w.snapshots += upper.get("snapshots", 0)
    if fallback is not None:
        return {}, 0, fallback
    found, upper_fallback = upper["result"]
    if upper_fallback is not None:
        return lower, cut, w.fingerprint()
    if progress is not None and last[0] < total - 1:
        # both parts' lowest revisions were shown before either part ended
        progress(total - 1, total, f"{ids[0]}..{ids[-1]}")
    return {**lower, **found}, total, None


def _warm_up() -> None:
    """Import what the fixes of the findings are rendered with (alembic, SQLAlchemy,
    pglast: about a second) in a thread, while the walk waits on its child: once a
    fingerprint differed, findings with a fix are likely."""
    import importlib
    import threading

    def imports() -> None:
        for name in ("sqlalchemy.dialects.postgresql", "alembic.migration",
                     "alembic.operations", "pglast.parser"):
            try:
                importlib.import_module(name)
            except Exception as exc:  # noqa: BLE001 - the fix imports it again and says why
                log.info("warm-up import of %s failed: %s", name, exc)

    threading.Thread(target=imports, name="dbsafe-warm-up", daemon=True).start()


def _taken(taken: Sequence[tuple[str, str, str | None]], revision: str,
           direction: str) -> str | None:
    """The last fingerprint taken right after `revision`'s step in `direction`."""
    found = [v for r, d, v in taken if r == revision and d == direction]
    return found[-1] if found else None


def _seed(url: str, seed: Path) -> None:
    import psycopg

    from dbsafe.core import SourceError
    from dbsafe.pg.urls import to_libpq_url

    try:
        script = seed.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read the seed file {seed}: {exc.strerror or exc}") from None
    try:
        with psycopg.connect(to_libpq_url(url), autocommit=True) as conn:
            conn.execute(script)  # several statements: sent with the simple query protocol
    except psycopg.Error as exc:
        raise SourceError(f"the seed file {seed} failed: {str(exc).strip()}") from None


def _repair(w: _Walk, down: SchemaSnapshot, before: SchemaSnapshot,
            options: DiffOptions, before_fp: str | None = None) -> bool:
    """Run the computed undo on the downgraded database; True when it now matches `before`
    (fingerprint `before_fp`: when the undo only dropped what was left, the fingerprint
    says so without a snapshot; what it re-created has new OIDs, and is diffed)."""
    import psycopg

    from dbsafe.pg.urls import to_libpq_url
    from dbsafe.schema.ddl import plan

    changes = _diff(down, before, options)
    try:
        statements = plan(down, before, changes)
        # a session of its own: the search path it sets would change how the walk's
        # session names types in its snapshots
        with psycopg.connect(to_libpq_url(w.url), autocommit=True) as conn:
            conn.execute("SET check_function_bodies = off")
            if before.search_path:
                conn.execute("SELECT set_config('search_path', %s, false)",
                             (", ".join(f'"{s}"' for s in before.search_path),))
            for statement in statements:
                if not statement.sql.lstrip().startswith("--"):
                    conn.execute(statement.sql.encode())
    except Exception as exc:  # noqa: BLE001 - a fix that does not apply: rebuild instead
        log.info("the computed undo did not apply: %s", exc)
        return False
    if before_fp is not None and w.fingerprint() == before_fp:
        return True
    return not _diff(w.snapshot(like=before), before, options)


def _rebuild(w: _Walk, applied: Sequence[str], counts: dict[str, int] | None = None) -> bool:
    """Bring a fresh database to the revisions the walk has applied so far.

    It starts as a copy of the walk's checkpoint when that holds the first of `applied`
    (the last rebuilt database, kept as it was: `_Walk.keep_checkpoint`), and only the
    revisions applied since are upgraded; each database rebuilt so is kept as the next
    checkpoint. The database is the one a replay of every revision from the start would
    give (the same upgrades in the same order, an earlier part of them on the database
    copied): a history with many revisions whose downgrade cannot be undone (Superset's 19
    column orders) no longer replays hundreds of revisions per rebuild. `counts["replayed"]`:
    the revisions upgraded here."""
    import psycopg

    # Upgrading to each applied revision in walk order lands on the same set of revisions:
    # alembic skips what an earlier target already applied.
    tips = list(dict.fromkeys(applied))
    held, source = 0, None
    if w.checkpoint is not None and tips[:len(w.checkpoint[0])] == list(w.checkpoint[0]):
        held, source = len(w.checkpoint[0]), w.checkpoint[1]
    try:
        replaced = w.replace(source)
    except psycopg.Error as exc:  # the checkpoint could not be copied: from the start
        log.warning("rebuilding from the start (copying the checkpoint failed: %s)",
                    first_line(exc))
        w.copy_database, w.checkpoint, held = None, None, 0
        replaced = w.replace()
    if not replaced:
        return False
    rest = tips[held:]
    if rest:
        w.apply([("upgrade", _up(t)) for t in rest])
        if counts is not None:
            counts["replayed"] = counts.get("replayed", 0) + len(rest)
        w.keep_checkpoint(tips)
    return True


def _up(revision: str) -> str:
    # `REV@REV`: upgrade along REV's branch only. A plain `REV` would do the same, but the
    # runner would then expect REV alone in the version table, wrong on a branchy history.
    return f"{revision}@{revision}"


def _expect(w: _Walk, result: RunResult, by_id: dict[str, Revision],
            applied: Sequence[str]) -> None:
    """The version table holds the heads of `applied` (what the runner cannot check for
    branch-relative targets)."""
    from dbsafe.migrate.runner import MigrationError

    parents = {p for rid in applied for p in _parents(by_id[rid])}
    wanted = sorted(set(applied) - parents)
    found = sorted(w.version_rows(result))
    if found != wanted:
        raise MigrationError(f"the version table holds {', '.join(found) or 'nothing'} "
                             f"instead of {', '.join(wanted) or 'nothing'}")


def _parents(revision: Revision) -> tuple[str, ...]:
    down = revision.down_revision
    if down is None:
        return ()
    return (down,) if isinstance(down, str) else tuple(down)


def _down_target(revision: Revision, revisions: Iterable[Revision]) -> str:
    down = revision.down_revision
    if isinstance(down, tuple) and len(down) > 1:
        # A merge: `-1` would be ambiguous. Not to a parent another parent descends from
        # (Langflow's 3162e83e485f merges 0ae3a2674f32 and its descendant d9a6ea21edcd):
        # alembic would take the descendant's line down with it.
        from dbsafe.migrate.revisions import ancestors

        known = list(revisions)
        for parent in down:
            if parent not in ancestors(known, [p for p in down if p != parent]):
                return f"{revision.revision}@{parent}"
        return f"{revision.revision}@{down[0]}"
    return f"{revision.revision}@-1"


def _with_version_table(options: DiffOptions | None, result: RunResult) -> DiffOptions:
    import dataclasses

    from dbsafe.schema.diff import DiffOptions

    options = (options or DiffOptions()).without_own_schema()
    table = f"{result.version_table_schema or '*'}.{result.version_table}"
    # A setting a downgrade leaves (`ALTER DATABASE ... SET search_path`) is a leftover.
    return dataclasses.replace(options, ignore_names=(*options.ignore_names, table),
                               database_settings=True)


def _downgrade_problem(revision: Revision) -> str | None:
    from dbsafe.migrate.revisions import downgrade_problem

    return downgrade_problem(revision.path)


# -- findings --------------------------------------------------------------------------------


def _diff(a: SchemaSnapshot, b: SchemaSnapshot, options: DiffOptions | None,
         ) -> tuple[Change, ...]:
    from dbsafe.schema.diff import diff as diff_schemas

    return diff_schemas(a, b, options)


def _compare(revision: Revision, before: SchemaSnapshot | None, schema_changed: bool,
             down: SchemaSnapshot | None, problem: str | None, options: DiffOptions,
             root: Path, *, down_unchanged: bool = False, idle: bool = False,
             ) -> list[Finding]:
    """Findings of one round trip; `before` and `down` are None when their fingerprints
    were equal (nothing left). `down_unchanged`: the downgrade ran and changed nothing in
    the catalog (`op.execute("SELECT 1")`): it is missing, as an empty one is. `idle`: the
    upgrade sent no statement (a branch for another dialect, a `pass`): it changed no data
    either, so its empty downgrade undoes all there is to undo."""
    from dbsafe.schema.diff import REORDER, without_constraint_indexes

    rid = revision.revision
    where = _location(revision, root)
    # what would turn the downgraded state back; a constraint and its own index are one
    # leftover (the constraint's fix builds or drops the index)
    leftovers = without_constraint_indexes(_diff(down, before, options), down, before) \
        if down is not None and before is not None else ()
    if not leftovers:
        if problem is not None and not schema_changed and not idle:
            return [Finding(
                DATA_MIGRATION_WITHOUT_DOWNGRADE.code,
                f"Revision `{rid}` changes no schema and its downgrade is empty ({problem}).",
                DATA_MIGRATION_WITHOUT_DOWNGRADE.default_severity, where, rid,
                help="If the data it changes matters, undo it in downgrade(); otherwise "
                     "nothing to do.",
            )]
        return []
    assert down is not None and before is not None
    if problem is None and down_unchanged:
        problem = "downgrade() changes nothing in the schema"
    if problem is not None:
        return [Finding(
            DOWNGRADE_MISSING.code,
            f"Revision `{rid}` changes the schema but {problem}; a downgrade past it "
            f"leaves {len(leftovers)} difference(s).",
            DOWNGRADE_MISSING.default_severity, where, rid,
            help="Write downgrade() to undo upgrade(); the statements below are the undo "
                 "dbsafe computed.",
            context=(("Failing revision", rid),
                     ("Left behind", "\n".join(c.describe() for c in leftovers)),
                     *_fix(down, before, leftovers)),
        )]
    out = []
    for change in leftovers:
        if change.action == REORDER:
            out.append(Finding(
                DOWNGRADE_COLUMN_ORDER.code, f"Revision `{rid}`: downgrade {leftover_text(change)}.",
                DOWNGRADE_COLUMN_ORDER.default_severity, where, rid,
                help="PostgreSQL cannot reorder columns in place; queries that name their "
                     "columns do not care, `SELECT *` and `COPY` without a column list do.",
                context=(("Failing revision", rid),),
            ))
            continue
        out.append(Finding(
            DOWNGRADE_LEFTOVER.code, f"Revision `{rid}`: downgrade {leftover_text(change)}.",
            leftover_severity(change), where, rid,
            help="Add the statements below to downgrade() (or remove what upgrade() should "
                 "not have done).",
            context=(("Failing revision", rid), *_fix(down, before, [change])),
        ))
    return out


def leftover_severity(change: Change) -> Severity:
    """DBS413's severity for `change`: a note for a function body that differs only in
    whitespace where its language reads none (`diff.runs_the_same`), as drift says it: it
    runs the same, and PostgreSQL keeps the body as the down migration wrote it."""
    from dbsafe.schema.diff import runs_the_same

    return Severity.NOTE if runs_the_same(change) else DOWNGRADE_LEFTOVER.default_severity


def leftover_text(change: Change) -> str:
    """What the downgrade left, against the schema before the upgrade.

    >>> from dbsafe.schema.diff import ALTER, Change
    >>> leftover_text(Change(ALTER, "column", ("public", "item", "owner_id"), "nullable",
    ...                  True, False))
    'leaves column `public.item.owner_id` nullable (before the upgrade: NOT NULL)'
    """
    from dbsafe.schema.diff import (
        ADD,
        DROP,
        REORDER,
        around_difference,
        body_difference,
        said_body,
    )

    label = change.kind.replace("_", " ")
    body = body_difference(change)
    if body is not None:  # the line of its first differing token, as drift says it
        return (f"leaves {label} `{change.subject}`, which "
                f"{said_body(body, 'the downgraded schema', 'the schema before the upgrade')}")
    if change.attribute == "nullable" and isinstance(change.old, bool):
        def shown(nullable: bool) -> str:
            return "nullable" if nullable else "NOT NULL"

        return (f"leaves {label} `{change.subject}` {shown(change.old)} "
                f"(before the upgrade: {shown(change.new)})")
    if change.action == DROP:  # in the downgraded schema only
        return f"leaves {label} `{change.subject}`{_definition(change.old)}"
    if change.action == ADD:
        return f"removes {label} `{change.subject}`, which existed before the upgrade"
    if change.action == REORDER:
        return (f"leaves table `{change.subject}` with its columns in another order "
                f"({', '.join(change.old)} instead of {', '.join(change.new)})")
    left, before = around_difference(_text(change.old), _text(change.new), 60)
    return (f"leaves {label} `{change.subject}` with {change.attribute} {left} "
            f"(before the upgrade: {before})")


def _definition(obj: Any) -> str:
    text = getattr(obj, "definition", None)
    if not text or not isinstance(text, str) or len(text) > 120 or "\n" in text.strip():
        return ""
    return f" ({' '.join(text.split())})"


def _text(value: Any) -> str:
    if value is None or value == ():
        return "none"
    # an empty enum label reads as '' (", 1, 2-5" looked like a typo)
    text = ", ".join(str(v) or "''" for v in value) if isinstance(value, tuple) \
        else str(value)
    return " ".join(text.split())


def computed_undo(current: SchemaSnapshot, wanted: SchemaSnapshot, changes: Sequence[Change],
                  *, in_transaction: bool = False) -> tuple[str, list[Any]] | None:
    """The undo that takes `current` back to `wanted` for `changes`, as `dbsafe diff --sql`
    writes it, and its runnable statements; None where nothing runnable is generated (or
    the plan cannot be computed: a fix left out, never a failed walk). `in_transaction`:
    for a down migration its runner runs in a transaction, without `CONCURRENTLY`."""
    try:
        from dbsafe.schema.ddl import plan, render_sql

        statements = plan(current, wanted, changes)
        if in_transaction:
            statements = without_concurrently(statements)
    except Exception as exc:  # noqa: BLE001 - a fix we cannot compute is left out, not fatal
        log.info("no computed fix: %s", exc)
        return None
    runnable = [s for s in statements if not s.sql.lstrip().startswith("--")]
    if not runnable:
        return None
    return render_sql(statements, header=False).text.rstrip(), runnable


_CONCURRENTLY = re.compile(
    r"^(CREATE (?:UNIQUE )?INDEX|DROP INDEX) CONCURRENTLY |^(ALTER TABLE .*) CONCURRENTLY$",
    re.DOTALL)


def without_concurrently(statements: Sequence[Any]) -> tuple[Any, ...]:
    """`statements` (a plan) as a transaction can run them: a down migration its runner
    wraps in one (diesel, goose, dbmate, sql-migrate, Flyway, sqlx by default) refuses
    `CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY` and `DETACH PARTITION ...
    CONCURRENTLY` (25001), so pasted as the fix said, the down failed (Plume's
    `mention_no_ap_url`, whose unique constraint the fix made again). Each is the plain
    statement, its hazard the lock it holds to the end of that transaction."""
    from dbsafe.schema.ddl import Hazard

    out = []
    for statement in statements:
        found = None if statement.transactional else _CONCURRENTLY.match(statement.sql)
        if found is None:
            out.append(statement)
            continue
        if found.group(1):
            sql = f"{found.group(1)} {statement.sql[found.end():]}"
            lock = ("writes to the table wait from the build" if found.group(1).startswith(
                "CREATE") else "the table is locked (ACCESS EXCLUSIVE)")
        else:
            sql, lock = found.group(2), "the partitioned table is locked (ACCESS EXCLUSIVE)"
        out.append(dataclasses.replace(statement, sql=sql, transactional=True, hazards=(
            Hazard("share-lock" if lock.startswith("writes") else "access-exclusive-lock",
                   f"Without CONCURRENTLY, which the down migration's transaction refuses "
                   f"(25001): {lock} to the end of that transaction."),)))
    return tuple(out)


def _fix(down: SchemaSnapshot, before: SchemaSnapshot,
         changes: Sequence[Change]) -> tuple[tuple[str, str], ...]:
    """The computed undo as SQL (`dbsafe diff --sql`) and as `op.*` lines for downgrade()."""
    undo = computed_undo(down, before, changes)
    if undo is None:
        return ()
    from dbsafe.schema.alembic_ops import downgrade_lines

    sql, runnable = undo
    return (("Fix (SQL)", sql),
            ("Fix (in downgrade())", downgrade_lines(runnable, search_path=before.search_path)))


def _location(revision: Revision, root: Path) -> Location | None:
    if revision.path is None:
        return None
    return Location(_relative(revision.path, root), _downgrade_line(revision.path))


def _downgrade_line(path: Path) -> int:
    """The line of `def downgrade` (else `def upgrade`, else 1)."""
    try:
        tree = parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return 1
    lines = {node.name: node.lineno for node in tree.body
             if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    return lines.get("downgrade") or lines.get("upgrade") or 1


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _failure_context(exc: Exception) -> tuple[tuple[str, str], ...]:
    context = [("Database error", str(exc))]
    if getattr(exc, "sqlstate", None):
        context.append(("SQLSTATE", str(exc.sqlstate)))  # type: ignore[attr-defined]
    if getattr(exc, "self_waits", ()):
        context.append(("Note", "dbsafe ended a connection of the migration that a statement "
                                "waited for, idle in its transaction (DBS132); this error "
                                "may follow from that"))
    return tuple(context)


def _self_waits(waits: Sequence[tuple[CapturedStatement, str]], root: Path) -> list[Finding]:
    """DBS132 once per statement that waited for another connection of the migration left
    idle in its transaction by the same alembic command: run alone, that command waits
    forever (the walk went on because dbsafe ended the connection)."""
    from dbsafe.lint.rules.blocked_by_own_connection import HELP, RULE
    from dbsafe.migrate.waits import message

    found: dict[tuple[str, int, str], Finding] = {}
    for statement, command in waits:
        wait = statement.waited
        assert wait is not None and wait.holder_file is not None
        verb = command.split()[0]
        path = _relative(Path(statement.file), root)
        key = (path, statement.line, verb)
        if key in found:
            continue
        holder = f"{_relative(Path(wait.holder_file), root)}:{wait.holder_line}"
        found[key] = Finding(
            RULE.code, message(wait.mode, wait.relation, holder, command=verb),
            RULE.severity, Location(path, statement.line), statement.revision, help=HELP,
            context=(("Failing revision", statement.revision),
                     ("Statement", statement.sql), ("Alembic command", f"alembic {command}")))
    return [found[key] for key in sorted(found)]


def _downgrade_failed(revision: Revision, exc: Exception, problem: str | None,
                      root: Path, *, schema_changed: bool | None = None) -> Finding:
    """DBS411 when the revision's downgrade() is missing or only raises (`problem`), else
    DBS412. `schema_changed`: the walk saw its upgrade change the schema or not (None: not
    known); with no downgrade() alembic fails there whatever the upgrade did."""
    rid = revision.revision
    if problem is not None:
        said, help = "", "Write downgrade() to undo upgrade()."
        if schema_changed:
            said = "; its upgrade changes the schema"
        elif schema_changed is False:
            said = ", though its upgrade changes no schema (only rows, or nothing)"
            help = ("The upgrade changed no schema, so a downgrade() of `pass` takes it back; "
                    "undo there the rows the upgrade changes if they matter.")
        return Finding(DOWNGRADE_MISSING.code,
                       f"Revision `{rid}` cannot be downgraded: {problem}, so `alembic "
                       f"downgrade` fails there{said}.",
                       DOWNGRADE_MISSING.default_severity, _location(revision, root), rid,
                       help=help, context=(("Failing revision", rid), *_failure_context(exc)))
    return Finding(DOWNGRADE_FAILED.code,
                   f"Revision `{rid}`: downgrade right after the upgrade fails: "
                   f"{_first_line(exc)}.",
                   DOWNGRADE_FAILED.default_severity, _location(revision, root), rid,
                   help="Make downgrade() undo exactly what upgrade() did, in reverse order.",
                   context=(("Failing revision", rid), *_failure_context(exc)))


def _reupgrade_failed(revision: Revision, exc: Exception, root: Path) -> Finding:
    rid = revision.revision
    return Finding(REUPGRADE_FAILED.code,
                   f"Revision `{rid}`: upgrade after its downgrade fails: {_first_line(exc)}.",
                   REUPGRADE_FAILED.default_severity, _location(revision, root), rid,
                   help="downgrade() leaves something upgrade() trips over; undo all of "
                        "upgrade() in downgrade().",
                   context=(("Failing revision", rid), *_failure_context(exc)))


def _upgrade_failed(revision: Revision, exc: Exception, root: Path, *,
                    again: bool = False, setup: bool = True,
                    start: Sequence[str] = ()) -> Finding:
    """DBS417; `again`: the revision applied on the walk's database and failed when the walk
    applied it once more, on a fresh database of the same server (a rebuild, the twin);
    `setup`: the project has `setup-sql` (else a first revision failing for want of what
    such SQL makes says how to give it: `setup_hint`); `start`: the revisions `--from`
    names, when the revision is one of those or before them (it failed while the walk built
    the database it starts from)."""
    from dbsafe.migrate.setup import build_hint, setup_hint

    rid = revision.revision
    hint = "" if setup or again else setup_hint(getattr(exc, "sqlstate", None),
                                                first=revision.down_revision is None)
    # quetz's ICU collation: the walk's server, not the revision, cannot do it
    built = build_hint(getattr(exc, "sqlstate", None), str(exc))
    location = None
    if getattr(exc, "file", None) and getattr(exc, "line", None):
        location = Location(_relative(Path(exc.file), root), int(exc.line))  # type: ignore[attr-defined]
    note: tuple[tuple[str, str], ...] = ()
    if again:
        note = (("Note", "it applied once during the walk, then failed when the walk applied "
                         "it again on a fresh database of the same server: what it leaves "
                         "outside its database (a role, a tablespace) or in the Python "
                         "process (a module other than the revision file) makes it fail "
                         "the second time"),)
    when = (f"while the walk builds the database at `{', '.join(start)}` it starts from"
            if start else "during the walk")
    return Finding(UPGRADE_FAILED.code,
                   f"Revision `{rid}`: upgrade fails {when}: {_first_line(exc)}.",
                   UPGRADE_FAILED.default_severity, location or _location(revision, root), rid,
                   help=(f"{built}; the revisions after it were not verified." if built else
                         "Fix the revision so it applies on a database built by the revisions "
                         "before it; the revisions after it were not verified"
                         + (f" ({hint})." if hint else ".")),
                   context=(("Failing revision", rid), *_failure_context(exc), *note))


def _has_setup(w: _Walk) -> bool:
    """Whether the walk's databases got the project's `setup-sql`, or could not (a scratch
    database dbsafe was given runs none): no hint to set it."""
    return w.project.setup is not None or not w.throwaway


def _first_line(exc: Exception) -> str:
    text = first_line(exc)
    # The runner's "revision R (file F): " prefix repeats the finding's subject and location.
    revision = getattr(exc, "revision", None)
    if revision and text.startswith(f"revision {revision} (file ") and "): " in text:
        text = text.split("): ", 1)[1]
    return text.rstrip(".")


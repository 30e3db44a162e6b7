"""The one alembic runner: the only code in dbsafe that loads a project's `alembic.ini`/`env.py`.

Every run happens in a child process (`_child.py`, executed by path under the project's
interpreter) inside a sandbox that sends every database connection `env.py` and the revisions
open to the target dbsafe chose -- redirected when it goes through a SQLAlchemy engine, refused
when it goes straight through a driver to somewhere else. See the child's docstring for the
details; README "How dbsafe runs your migrations" for the user's view.

Results come back as data (JSON in a file of their own); the project's stdout, stderr and
logging are captured and shown only with `-v` or when the run fails.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbsafe.core import DbsafeError, SourceError
from dbsafe.migrate.fingerprint import alembic_directory
from dbsafe.pg.connect import (
    LOCATION_VARIABLES,
    connect,
    connection_params,
    libpq_settings,
    names_a_service,
    target_url,
)
from dbsafe.pg.urls import host_in_authority, to_libpq_url

if TYPE_CHECKING:
    from dbsafe.config import Settings
    from dbsafe.migrate.setup import SetupSql
    from dbsafe.migrate.waits import SelfWait

log = logging.getLogger(__name__)

_CHILD = Path(__file__).with_name("_child.py")

# Variables projects commonly read their database URL from: they name the target while
# env.py runs, so a project that reads one of them needs no redirect at all.
URL_VARIABLES = ("DATABASE_URL", "DBSAFE_DATABASE_URL", "SQLALCHEMY_DATABASE_URI",
                 "SQLALCHEMY_DATABASE_URL", "SQLALCHEMY_URL", "POSTGRES_URL", "DB_URL")

# What those variables hold while env.py renders offline: PostgreSQL's dialect, and a host
# and database that name nothing. Settings typed as pydantic 2's `PostgresDsn` (FastAPI
# services') refuse a URL without a host ("empty host"); `.invalid` is reserved (RFC 6761):
# it resolves nowhere, so a driver the sandbox does not know cannot reach a server either.
# The sandbox refuses any connection while rendering offline, naming this host.
OFFLINE_URL = "postgresql://dbsafe-offline.invalid/dbsafe"

# A session setting for the connections that change a production database: a statement whose
# client is gone (dbsafe killed, its env.py child with it) is stopped within seconds instead
# of running on, holding its locks, until it ends (set where the server supports it).
ABANDONED_STATEMENTS_STOP = {"client_connection_check_interval": "2s"}


class MigrationError(DbsafeError):
    """The project's migrations could not be run (the message names the revision and file)."""

    def __init__(self, message: str, *, revision: str | None = None,
                 file: str | None = None, line: int | None = None, output: str = "",
                 sqlstate: str | None = None, committed: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate  # PostgreSQL's error code when the database raised it
        # Statements of the revisions the failed run committed before it failed (what an
        # `autocommit_block()` committed): they stay, and a retry would run them again.
        self.committed = committed
        self.revision = revision
        self.file = file
        self.line = line
        self.output = output  # what the project's code printed and logged, passwords masked
        # ApplySession.apply: the operations of the request that completed before the
        # failure, and the fingerprints taken before it
        self.completed = 0
        self.fingerprints: tuple[tuple[str, str, str | None], ...] = ()
        # On a throwaway: the waits dbsafe ended before the failure (see RunResult)
        self.self_waits: tuple[SelfWait, ...] = ()
        self.waited: tuple[CapturedStatement, ...] = ()


class FlaskAppError(MigrationError):
    """env.py needs the project's Flask application, which could not be loaded: every way
    of running env.py (on a throwaway server, offline) loads it the same way."""


@dataclass(frozen=True, slots=True)
class AlembicProject:
    """A project's alembic environment and the interpreter its `env.py` runs under."""

    ini: Path
    python: str | None = None  # None: the active virtualenv's python, else this interpreter
    ini_section: str = "alembic"
    # Set for another environment of the same alembic.ini applied beside the main one
    # (`dbsafe.migrate.throwaway`): the version table its revisions are recorded in.
    version_table: str | None = None
    # The connection env.py finds in config.attributes["connection"] autocommits, as the
    # one the application hands it does (`alembic-autocommit`).
    autocommit: bool = False
    # `setup-sql`: run on each database dbsafe builds from the history, before its first
    # revision (`dbsafe.migrate.setup`); never on a database dbsafe is given
    setup: SetupSql | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> AlembicProject:
        """The project's alembic environment as configured (`alembic-config`, `python`,
        `alembic-autocommit`, `setup-sql`)."""
        from dbsafe.migrate.setup import SetupSql

        ini = settings.alembic_config
        if not ini.is_absolute():
            ini = settings.project_root / ini
        return cls(ini, python=settings.python, autocommit=settings.alembic_autocommit,
                   setup=SetupSql.of(settings))

    @property
    def interpreter(self) -> str:
        if self.python:
            return self.python
        venv = os.environ.get("VIRTUAL_ENV")
        if venv:
            candidate = Path(venv) / "bin" / "python"
            if candidate.is_file():
                return str(candidate)
        return sys.executable


@dataclass(frozen=True, slots=True)
class Revision:
    revision: str
    path: Path | None
    down_revision: str | tuple[str, ...] | None
    doc: str = ""
    # `depends_on`, resolved to revision ids: an upgrade to this revision applies them too
    dependencies: tuple[str, ...] = ()
    # Its branch labels, the ones a revision below it declared included (`expand@head`)
    branch_labels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RunResult:
    """What a run did, as data."""

    revisions: tuple[Revision, ...]  # every revision of the script directory, newest first
    heads: tuple[str, ...]
    expected: tuple[str, ...] | None = None  # what alembic_version must hold afterwards
    chunks: tuple[tuple[str, str | None, int], ...] = ()  # offline: (text, file, line)
    version_table: str = "alembic_version"
    version_table_schema: str | None = None
    output: str = field(default="", repr=False)
    # capture: every statement the revisions executed, in order (see `capture`)
    captured: tuple[CapturedStatement, ...] = ()
    capture_error: dict[str, Any] | None = None  # the revision that failed while capturing
    # capture: the named types a revision's table creation left uncreated because an
    # earlier revision of the same alembic command had created them (see `SkippedType`)
    skipped_types: tuple[SkippedType, ...] = ()
    # ApplySession.apply(fingerprint=...): (revision, "up"|"down", value) right after the step
    fingerprints: tuple[tuple[str, str, str | None], ...] = ()
    # ... and the steps among those whose revision code sent no statement at all
    idle: frozenset[tuple[str, str]] = frozenset()
    # compare_models: [operation, object, description] per difference
    model_differences: tuple[tuple[str, str, str], ...] = ()
    # On a throwaway: statements that waited for a lock another connection of the migration
    # held, idle in its transaction, until dbsafe ended it (`dbsafe.migrate.waits.SelfWait`).
    self_waits: tuple[SelfWait, ...] = ()
    # apply() and ApplySession.apply() on a throwaway: the statements of the revisions that
    # waited so (their `waited` set), each with the alembic command it ran in (`operation`)
    waited: tuple[CapturedStatement, ...] = ()
    # Inside `recording_imports()`: what the run imported from outside the standard library
    # (the child's `_imported`: {"files": [...], "distributions": [[name, version, file]]})
    imported: Mapping[str, Any] | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class CapturedStatement:
    """One statement a revision executed, as PostgreSQL received it (parameters inlined)."""

    sql: str
    file: str  # the revision file
    line: int  # the innermost line of that file on the stack: the op.* call
    revision: str
    in_transaction: bool | None  # None: the driver could not say
    introspection: bool = False  # issued by SQLAlchemy reflection (`sa.inspect(bind)`)
    # Observed right after the statement, inside its transaction (None: not observable, e.g.
    # autocommit): (schema, relation, relkind, lock mode) held by the backend, and the
    # (schema, table) whose relfilenode changed -- rewritten.
    # `locks` are those the statement took (not held before it in its transaction);
    # `held`, all the backend held right after it; `inherited`, those of `held` that earlier
    # revisions took in the same transaction.
    locks: tuple[tuple[str, str, str, str], ...] | None = None
    rewritten: tuple[tuple[str, str], ...] | None = None
    held: tuple[tuple[str, str, str, str], ...] | None = None
    inherited: tuple[tuple[str, str, str, str], ...] = ()
    # (name, value) of the timeouts the session had when alembic began running revisions
    # (set by env.py on its connection); those at 0 are left out.
    settings: tuple[tuple[str, str], ...] = ()
    pid: int | None = None  # the server process of its connection, when the driver says
    started: float | None = None  # when it was sent (seconds since the epoch)
    # A lock it waited for that another connection of the migration held, idle in its
    # transaction, until dbsafe ended that connection (see `dbsafe.migrate.waits`).
    waited: WaitedFor | None = None
    # apply(), ApplySession.apply(): index of the alembic command of the request it ran in
    operation: int | None = None
    # (schema, table) of the tables it started a scan of (pg_stat_get_xact_numscans).
    scanned: tuple[tuple[str, str], ...] | None = None
    # Whether the driver ran it on its own (`autocommit_block()`, an AUTOCOMMIT connection)
    # rather than in a transaction it begins; None: the driver could not say.
    autocommit: bool | None = None
    # From the first revision that ran a statement in its alembic run: it started in the
    # state env.py and alembic give every first pending revision, not in one an earlier
    # revision of the run left.
    first_in_run: bool = False


@dataclass(frozen=True, slots=True)
class SkippedType:
    """A named type (PostgreSQL ENUM or DOMAIN) SQLAlchemy did not create for a revision's
    table because its DDL memo says an earlier revision of the same alembic command created
    one of that name: run by a command of its own, the revision sends `CREATE TYPE`."""

    kind: str  # "enum" | "domain"
    schema: str | None
    name: str
    revision: str
    file: str  # the revision file, and the innermost line of it on the stack: the op.* call
    line: int
    made_by: str  # the revision that created it in this command
    made_file: str | None = None
    made_line: int = 0
    exists: bool | None = None  # the database had the type then (None: could not ask)


@dataclass(frozen=True, slots=True)
class WaitedFor:
    """What a captured statement waited for: a lock held by another connection of the
    migration that sat idle in its transaction (it would have waited forever)."""

    relation: str | None  # "schema.name"; None: not a relation lock
    mode: str  # pg_locks mode requested, e.g. "AccessExclusiveLock"
    locktype: str
    # The holder's last statement run from a revision (file, line), when one was captured.
    holder_file: str | None = None
    holder_line: int = 0
    # ... and the alembic command of its request that ran it (apply, ApplySession.apply)
    holder_operation: int | None = None


def capture(project: AlembicProject, database_url: str, *, observe: bool = True,
            operations: Sequence[tuple[str, str]] = (("upgrade", "heads"),)) -> RunResult:
    """Upgrade `database_url` (a throwaway) to heads, recording each statement as it runs.

    Revisions that read the database (`op.get_bind().execute(...)`, `sa.inspect(bind)`, an
    ORM session) work, because they read a real database. A revision that fails ends the
    run: what ran before it is in `captured`, the failure in `capture_error` (not raised).
    With `observe`, each statement run in a transaction also carries the locks the backend
    held right after it and the tables it rewrote (psycopg and psycopg2 projects).
    `operations` replaces the upgrade (e.g. upgrade to a revision, stamp past one that
    fails, upgrade to heads).
    """
    result = _run(project, {"mode": "capture", "observe": observe,
                            "operations": [{"command": c, "revision": r}
                                           for c, r in operations]},
                  target_url=database_url, throwaway=True)
    if not result.self_waits:
        return result
    return dataclasses.replace(result, captured=_with_waits(result.captured,
                                                            result.self_waits))


def _with_waits(captured: Sequence[CapturedStatement],
                waits: Sequence[SelfWait]) -> tuple[CapturedStatement, ...]:
    """Each wait on the statement that waited: the last one its backend started before the
    wait began (the next starts only once the blocker is ended, `patience` seconds later:
    the window after `since`, for the clocks' skew, stays well inside it, however short);
    the holder's last statement run from a revision before that names where it came from.
    """
    out = list(captured)

    def last_of(pid: int, before: float) -> int | None:
        return max((i for i, c in enumerate(out) if c.pid == pid and c.started is not None
                    and c.started <= before), default=None, key=lambda i: out[i].started or 0)

    for wait in waits:
        index = last_of(wait.waiter_pid, wait.since + min(1.0, wait.seconds / 2))
        if index is None or out[index].waited is not None:
            continue
        holder = last_of(wait.blocker_pid, wait.since)
        last = out[holder] if holder is not None else None
        out[index] = dataclasses.replace(out[index], waited=WaitedFor(
            wait.relation, wait.mode, wait.locktype,
            last.file if last else None, last.line if last else 0,
            last.operation if last else None))
    return tuple(out)


def _waited(data: Mapping[str, Any], waits: Sequence[SelfWait]) -> tuple[CapturedStatement, ...]:
    """The statements of a request's trail (`_child._Trail`) that waited, each with what it
    waited for."""
    if not waits:
        return ()
    trail = [CapturedStatement(sql, file, int(line), revision, None, pid=pid, started=started,
                               operation=int(operation))
             for sql, file, line, revision, operation, pid, started in data.get("trail") or ()]
    return tuple(c for c in _with_waits(trail, waits) if c.waited is not None)


def _with_self_waits(error: MigrationError, data: Mapping[str, Any],
                     waits: Sequence[SelfWait]) -> MigrationError:
    """The failure with the waits dbsafe ended during the request. When the connection it
    ended was alembic's own (a revision's second session waited for alembic's transaction,
    idle while the revision waited for that session), alembic fails outside the revision's
    code, on that connection: the failure is the revision's that waited."""
    error.self_waits, error.waited = tuple(waits), _waited(data, waits)
    if error.revision is None and error.waited:
        last = error.waited[-1]
        error.revision, error.file, error.line = last.revision, last.file, last.line
    return error


def warn_waits(waited: Sequence[CapturedStatement],
               operations: Sequence[tuple[str, str]]) -> None:
    """Say, as a warning, each statement that waited for another connection of the
    migration (the commands that build a schema on a throwaway have no finding to say it
    with)."""
    from dbsafe.migrate.waits import message

    for statement in waited:
        wait = statement.waited
        assert wait is not None
        holder = f"{_display(wait.holder_file)}:{wait.holder_line}" if wait.holder_file \
            else None
        index = statement.operation or 0
        command = operations[index][0] if index < len(operations) else "upgrade"
        log.warning("%s:%d: %s See DBS132 (`dbsafe lint` reports it).",
                    _display(statement.file), statement.line,
                    message(wait.mode, wait.relation, holder, command=command))


def render_offline(project: AlembicProject, *, since: str | None = None,
                   until: str | None = None) -> RunResult:
    """`alembic upgrade since:until --sql` with every chunk attributed to its revision line.

    No database is involved: the sandbox refuses any connection env.py tries to open.
    """
    return _run(project, {"mode": "render", "since": since, "until": until}, target_url=None)


def render_downgrade_offline(project: AlembicProject, start: str,
                             target: str | None) -> RunResult:
    """`alembic downgrade start:target --sql` (`target` None: base), attributed as
    `render_offline`'s chunks are. No database is involved."""
    return _run(project, {"mode": "render", "since": start, "until": target, "downgrade": True},
                target_url=None)


def compare_models(project: AlembicProject, database_url: str,
                   models: str) -> tuple[tuple[str, str, str], ...]:
    """Upgrade `database_url` (a throwaway) to heads, then compare the SQLAlchemy models
    `models` (`module:attribute`) with it through env.py, as `alembic check` does.

    The models are imported in the child, under the project's interpreter, never in
    dbsafe's process. Returns `(operation, object, description)` per difference alembic's
    `compare_metadata` reports (`add_column`, `modify_nullable`, ...).

    Raises:
        MigrationError: a revision failed, or the models could not be imported.
    """
    result = _run(project, {"mode": "models", "models": models}, target_url=database_url,
                  throwaway=True)
    warn_waits(result.waited, [("upgrade", "heads")])
    return tuple((o, n, d) for o, n, d in result.model_differences)


def describe(project: AlembicProject) -> RunResult:
    """The script directory's revisions and heads (revision files are imported, no database)."""
    return _run(project, {"mode": "describe"}, target_url=None)


def apply(project: AlembicProject, database_url: str,
          operations: Sequence[tuple[str, str]] = (("upgrade", "heads"),), *,
          session: Mapping[str, str] | None = None, throwaway: bool = False) -> RunResult:
    """Run alembic commands (`("upgrade", "heads")`, `("downgrade", "-1")`, ...) on exactly
    the database `database_url` names, then verify that its version table says so.

    Args:
        session: settings every connection env.py opens gets (`{"lock_timeout": "5s"}`);
            `CONCURRENTLY` statements run without `statement_timeout`.
        throwaway: `database_url` is a throwaway server of dbsafe's: a statement waiting
            for another of the migration's connections, idle in its transaction, has that
            connection ended instead of waiting forever (`dbsafe.migrate.waits`).

    Raises:
        MigrationError: a revision failed (named in the message, with its SQLSTATE in
            `sqlstate`), env.py tried to reach another database, or the database does not
            hold the expected revision afterwards.
    """
    request: dict[str, Any] = {
        "mode": "apply",
        "operations": [{"command": c, "revision": r} for c, r in operations],
    }
    if session:
        request["session"] = dict(session)
    try:
        result = _run(project, request, target_url=database_url, throwaway=throwaway)
    except MigrationError as exc:
        warn_waits(exc.waited, operations)
        raise
    warn_waits(result.waited, operations)
    verify_applied(database_url, result)
    return result


def _run(project: AlembicProject, request: dict[str, Any], *,
         target_url: str | None, throwaway: bool = False) -> RunResult:
    from dbsafe.pg.urls import redact_any

    ini = project.ini.resolve()
    if not ini.is_file():
        from dbsafe.config import alembic_config_not_found

        raise SourceError(alembic_config_not_found(project.ini))
    target = connection_params(target_url) if target_url else None
    request = {**request, "alembic_ini": str(ini), "ini_section": project.ini_section,
               "target": target}
    if project.version_table:
        request["version_table"] = project.version_table
    if project.autocommit:
        request["autocommit"] = True
    groups = _flask_groups(ini, project.ini_section)
    if groups:
        request["flask_groups"] = groups
    if throwaway and request["mode"] != "capture":  # capture records every statement anyway
        request["trail"] = True
    recorder = _IMPORTS.get()
    if recorder is not None:
        request["imports"] = True
    env = _child_environment(target_url, target)
    warm = _take_warm(project)
    with warm.directory if warm is not None else tempfile.TemporaryDirectory(
            prefix="dbsafe-run-") as tmp:
        result_file = Path(tmp) / "result.json"
        if warm is not None:
            proc = warm.proc
            request["warm_environ"] = env
        else:
            proc = _start_child(project, result_file, env)
        from dbsafe.migrate.waits import SelfWaitWatch

        watch = SelfWaitWatch(target_url) if throwaway and target_url else None
        try:
            with watch or contextlib.nullcontext():
                raw_output, _ = proc.communicate(json.dumps(request).encode())
        finally:
            # Cancelled (SIGTERM, Ctrl-C): stop env.py before the caller stops its server.
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        output = redact_any(raw_output.decode("utf-8", "replace"), target_url)
        if output.strip():
            log.info("output of env.py and the revisions:\n%s", output.rstrip())
        try:
            data = json.loads(result_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            if recorder is not None:
                recorder.add(None)
            tail = "\n".join(output.strip().splitlines()[-15:])
            raise MigrationError(
                f"running env.py under {project.interpreter} failed (exit {proc.returncode}) "
                "before it could report" + (f"; its last output:\n{tail}" if tail else ""),
                output=output,
            ) from None
    waits = tuple(watch.waits) if watch is not None else ()
    if recorder is not None:  # a failed run's too: what it imported may be why it failed
        recorder.add(data.get("imported"))
    if not data.get("ok"):
        raise _with_self_waits(_error(data["error"], ini, output, project.interpreter),
                               data, waits)
    result = _result(data, output)
    if waits:
        result = dataclasses.replace(result, self_waits=waits, waited=_waited(data, waits))
    return result


class ImportsRecord:
    """What the runs inside one `recording_imports()` imported from outside the standard
    library, together: `files` (paths), `distributions` ((name, version, metadata file));
    `complete` is False once a run could not say (nothing built from them may be cached)."""

    def __init__(self) -> None:
        self.files: set[str] = set()
        self.distributions: set[tuple[str, str, str]] = set()
        self.complete = True

    def add(self, imported: Mapping[str, Any] | None) -> None:
        if not imported or "error" in imported:
            log.info("the run could not say what it imported (%s): its result is not cached",
                     (imported or {}).get("error", "no report"))
            self.complete = False
            return
        self.files.update(imported.get("files") or ())
        self.distributions.update((n, v, f) for n, v, f in imported.get("distributions") or ())


_IMPORTS: contextvars.ContextVar[ImportsRecord | None] = contextvars.ContextVar(
    "dbsafe_imports", default=None)


def _flask_groups(ini: Path, section: str) -> list[dict[str, str]]:
    """The factories of the project's `FlaskGroup` CLIs (`dbsafe.migrate.flask_cli`), which
    the child loads the application of a Flask-Migrate env.py with when one alone is found
    and nothing else names an application; looked for only where `flask` finds none by
    itself: no `FLASK_APP`, no `wsgi.py` or `app.py` where the child runs (redash's
    `./manage.py`, lemur's `lemur` command). A `.flaskenv` naming one wins in the child."""
    from dbsafe.config import reads_flask_app

    folder = alembic_directory(ini)
    if os.environ.get("FLASK_APP") or any((folder / name).is_file()
                                          for name in ("wsgi.py", "app.py")):
        return []
    from dbsafe.core import ConfigError
    from dbsafe.migrate.fingerprint import script_locations

    try:
        locations = script_locations(ini, section)
    except ConfigError:  # the run says why
        return []
    if not locations or not reads_flask_app(locations[0] / "env.py"):
        return []
    from dbsafe.migrate.flask_cli import flask_group_factories

    return [factory.request() for factory in flask_group_factories(folder)]


def _start_child(project: AlembicProject, result_file: Path, env: Mapping[str, str]
                 ) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            [project.interpreter, str(_CHILD), str(result_file)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            cwd=alembic_directory(project.ini.resolve()), env=env,
            preexec_fn=_die_with_parent(),
        )
    except OSError as exc:
        raise DbsafeError(f"cannot start {project.interpreter} to run env.py: "
                          f"{exc.strerror}") from None


@dataclass
class _WarmChild:
    project: AlembicProject
    directory: tempfile.TemporaryDirectory[str]
    proc: subprocess.Popen[bytes]


# The child `warm_child` started, until a run takes it: a list, so that the run (in a copy of
# the context, or deeper in the same one) empties it for the block's owner too.
_WARM: contextvars.ContextVar[list[_WarmChild] | None] = contextvars.ContextVar(
    "dbsafe_warm_child", default=None)
_WARM_VARIABLE = "DBSAFE_CHILD_WARM"  # _child._WARM


@contextlib.contextmanager
def warm_child(project: AlembicProject) -> Iterator[None]:
    """The first run of `project`'s env.py inside the block (on this thread) takes a child
    started now, which loads alembic and SQLAlchemy (0.3 s of every child's start) while
    the caller prepares the database the run needs: lint's capture builds a copy of the
    database's schema first. The child gets its environment (the target's libpq variables)
    with the request; started before the target is known, it has the others only. A child
    no run took is ended when the block ends."""
    if not project.ini.resolve().is_file():
        yield  # the run says so
        return
    directory = tempfile.TemporaryDirectory(prefix="dbsafe-run-")
    env = _child_environment(None, None)
    for name in URL_VARIABLES:
        env.pop(name, None)
    env[_WARM_VARIABLE] = "1"
    try:
        proc = _start_child(project, Path(directory.name) / "result.json", env)
    except DbsafeError:
        directory.cleanup()
        yield  # the run starts its own child, and says why it cannot
        return
    holder = [_WarmChild(project, directory, proc)]
    token = _WARM.set(holder)
    try:
        yield
    finally:
        _WARM.reset(token)
        for unused in holder:
            unused.proc.kill()
            unused.proc.wait()
            for stream in (unused.proc.stdin, unused.proc.stdout):
                if stream is not None:
                    stream.close()
            unused.directory.cleanup()


def _take_warm(project: AlembicProject) -> _WarmChild | None:
    holder = _WARM.get()
    if not holder or holder[0].project != project or holder[0].proc.poll() is not None:
        return None
    return holder.pop()


@contextlib.contextmanager
def recording_imports() -> Iterator[ImportsRecord]:
    """Every run of the project's env.py inside the block (on this thread) also reports
    the modules it imported from outside the standard library, gathered in the record
    yielded: what a cache of what the runs built depends on besides the migrations folder
    (`dbsafe.migrate.fingerprint.imported_dependencies`)."""
    record = ImportsRecord()
    token = _IMPORTS.set(record)
    try:
        yield record
    finally:
        _IMPORTS.reset(token)


class ApplySession:
    """One child process that applies request after request on one database.

    `apply()` starts Python, alembic, SQLAlchemy and the sandbox for every call; a guarded
    upgrade applying one revision at a time uses a session instead and pays that once::

        with ApplySession(project, url, session={"lock_timeout": "5s"}) as s:
            s.apply([("upgrade", "0003")])

    Each call is verified like `apply()`; a failed call leaves the session usable (the
    revision's transaction was rolled back in the child), so the caller can retry.

    With `throwaway` (the databases are a throwaway server's of dbsafe's), each database a
    request runs on is watched while the session lasts (`dbsafe.migrate.waits`): a statement
    waiting for another connection of the migration idle in its transaction has that
    connection ended, and the answer says which statement waited (`RunResult.waited`, or the
    error's `waited`). Never on a database the user named: that watcher ends connections.
    """

    def __init__(self, project: AlembicProject, database_url: str, *,
                 session: Mapping[str, str] | None = None, throwaway: bool = False) -> None:
        self.project = project
        self.url = database_url
        self.session = dict(session or {})
        self.throwaway = throwaway
        self._watches: dict[str, Any] = {}  # SelfWaitWatch by database URL (throwaway)
        self._forgotten: list[str] = []  # databases whose kept connection the child closes
        self._proc: subprocess.Popen[bytes] | None = None
        self._results: Any = None
        self._output: list[bytes] = []
        self._reader: Any = None
        self._ready: dict[str, Any] = {}

    def __enter__(self) -> ApplySession:
        self.start()
        self.wait_ready()
        return self

    def start(self) -> None:
        """Start the child and send it the session request, without waiting: it loads
        alembic, SQLAlchemy and the history (touching no database) while the caller does
        other work; `wait_ready()` (or `described`) waits for it. `__exit__` stops it."""
        import threading

        ini = self.project.ini.resolve()
        if not ini.is_file():
            from dbsafe.config import alembic_config_not_found

            raise SourceError(alembic_config_not_found(self.project.ini))
        target = connection_params(self.url)
        read_fd, write_fd = os.pipe()
        try:
            self._proc = subprocess.Popen(
                [self.project.interpreter, str(_CHILD), os.devnull],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                cwd=alembic_directory(ini), env=_child_environment(self.url, target),
                preexec_fn=_die_with_parent(), pass_fds=(write_fd,),
            )
        except OSError as exc:
            os.close(read_fd)
            raise DbsafeError(f"cannot start {self.project.interpreter} to run env.py: "
                              f"{exc.strerror}") from None
        finally:
            os.close(write_fd)
        self._results = os.fdopen(read_fd, "r", encoding="utf-8")
        # Drain the project's output as it comes, or a chatty env.py would fill the pipe
        # and stop.
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        request = {"mode": "session", "alembic_ini": str(ini),
                   "ini_section": self.project.ini_section, "target": target,
                   "session": self.session or None, "result_fd": write_fd,
                   "trail": self.throwaway, "autocommit": self.project.autocommit,
                   "flask_groups": _flask_groups(ini, self.project.ini_section)}
        try:
            self._send(request)
        except BaseException:
            self.close()
            raise

    def wait_ready(self) -> None:
        """Wait until the child has loaded the history (once; later calls return at once).

        Raises:
            MigrationError: the child could not load alembic.ini, env.py's imports or the
                history (the session is closed).
        """
        if self._ready:
            return
        try:
            self._ready = self._receive()
            if not self._ready.get("ok"):
                raise _error(self._ready["error"], self.project.ini.resolve(), self.output,
                             self.project.interpreter)
        except BaseException:
            self.close()
            raise

    def end_requests(self) -> None:
        """Tell the child no request follows, so it exits while the caller goes on;
        `__exit__` then only waits for it."""
        proc = self._proc
        if proc is not None and proc.stdin is not None and not proc.stdin.closed:
            with contextlib.suppress(OSError):  # it is gone already: nothing to tell
                proc.stdin.close()

    @property
    def loaded(self) -> bool:
        """Whether the child's description of the history has been received (`described`
        returns at once)."""
        return bool(self._ready)

    @property
    def described(self) -> RunResult:
        """The history's revisions and heads, as the child loaded them (`describe()`)."""
        self.wait_ready()
        return _result({**self._ready, "ok": True}, self.output)

    def apply(self, operations: Sequence[tuple[str, str]], *,
              fingerprint: tuple[str, Sequence[tuple[str, str]]] | None = None,
              prepare: bool = False,
              verify: bool = True, database_url: str | None = None,
              keep_connection: bool = False, continues: bool = False) -> RunResult:
        """Run `operations` in the session's child.

        Args:
            fingerprint: `(sql, steps)`: run `sql` (one read-only query returning one
                value) on the migration's connection right after each `(revision, "up" or
                "down")` step; the values come back in `RunResult.fingerprints` (or the
                error's `fingerprints`).
            prepare: run the fingerprint query as a prepared statement (planned once per
                connection); not through a pooler in transaction mode.
            verify: check the version table afterwards (`verify_applied`); a caller that
                checks it itself saves a connection.
            database_url: run on this other database of the same server and user, as if
                the session had been opened on it (`verify-reversible`'s twin database:
                no second child to start).
            keep_connection: keep the child's connection to the database open for the
                next request (a pooled one); for many small requests.
            continues: these operations go on the alembic command of the last request
                that succeeded (the next revision of a guarded run applied one at a time):
                alembic's memo of the named types `op.create_table()` created (an ENUM
                an earlier revision made is not created again) is that request's, as in
                one `alembic upgrade` command, not empty.
        """
        request: dict[str, Any] = {
            "operations": [{"command": c, "revision": r} for c, r in operations]}
        if fingerprint is not None:
            request["fingerprint"] = {"sql": fingerprint[0],
                                      "after": [list(step) for step in fingerprint[1]],
                                      "prepare": prepare}
        if keep_connection:
            request["keep_connection"] = True
        if continues:
            request["continues"] = True
        if self._forgotten:
            request["forget"], self._forgotten = self._forgotten, []
        url = self.url
        if database_url is not None:
            mine, other = connection_params(self.url), connection_params(database_url)
            if any(mine[k] != other[k] for k in ("host", "hostaddr", "port", "user", "password")):
                raise DbsafeError("a session applies only to databases of its own server "
                                  "and user")
            env = _child_environment(database_url, other)
            request["database"] = other["dbname"]
            request["environ"] = {k: env[k] for k in ("PGDATABASE", *URL_VARIABLES)}
            url = database_url
        watch = self._watch(url)
        seen = len(watch.waits) if watch is not None else 0
        self._send(request)
        data = self._receive()
        # Waits seen since the last request (between two, the caller's own statements may
        # have waited) and during this one; only those of this request's statements are
        # matched with one.
        waits = tuple(watch.waits[seen:]) if watch is not None else ()
        output = self.output
        if not data.get("ok"):
            error = _error(data["error"], self.project.ini.resolve(), output,
                           self.project.interpreter)
            error.fingerprints = _fingerprints(data)
            error.completed = int(data.get("completed") or 0)
            raise _with_self_waits(error, data, waits)
        data = {**data, "revisions": self._ready["revisions"], "heads": self._ready["heads"]}
        result = _result(data, output)
        if waits:
            result = dataclasses.replace(result, self_waits=waits, waited=_waited(data, waits))
        if verify:
            verify_applied(url, result)
        return result

    def render_downgrade(self, start: str, target: str | None) -> RunResult:
        """`render_downgrade_offline` in the session's child, which has alembic, SQLAlchemy
        and the history loaded already (a child of its own cost fractal-server's preflight
        3.2-3.5 s, its models imported again). No database is involved: the child's sandbox
        refuses every connection while it renders, the session's database's too.

        Raises:
            MigrationError: the downgrade cannot be rendered offline (env.py or a revision
                tried to connect, a revision failed); the session stays usable.
        """
        self.wait_ready()
        self._send({"render": {"since": start, "until": target, "downgrade": True}})
        data = self._receive()
        output = self.output
        if not data.get("ok"):
            raise _error(data["error"], self.project.ini.resolve(), output,
                         self.project.interpreter)
        return _result({**data, "revisions": self._ready["revisions"],
                        "heads": self._ready["heads"]}, output)

    def forget(self, database_url: str) -> None:
        """No request runs on `database_url` again (verify-reversible moved on to a fresh
        database): its lock-wait watch stops, and the child closes the connection it kept
        to it (`keep_connection`) before the next request."""
        watch = self._watches.pop(database_url, None)
        if watch is not None:
            watch.__exit__(None, None, None)
        self._forgotten.append(str(connection_params(database_url)["dbname"]))

    def release(self, database_url: str) -> None:
        """Close every connection the session holds to `database_url` now, between two
        requests: the child's kept one, those the project's own engines left idle in their
        pools (the Flask application's), and the lock-wait watch's. The next request there
        opens new ones. `CREATE DATABASE ... TEMPLATE` copies only a database no other
        session is connected to.

        Raises:
            MigrationError: the child ended.
        """
        watch = self._watches.pop(database_url, None)
        if watch is not None:
            watch.__exit__(None, None, None)
        request: dict[str, Any] = {"release": [str(connection_params(database_url)["dbname"])]}
        if self._forgotten:
            request["forget"], self._forgotten = self._forgotten, []
        self.wait_ready()
        self._send(request)
        self._receive()  # {"ok": true} once they are closed

    @property
    def app_connected(self) -> bool:
        """Whether the project's application connected to the session's database as it
        loaded, before any request (Flask-AppBuilder's `create_db()` makes its `ab_*` tables
        there): what it made there, it makes once per process."""
        self.wait_ready()
        return bool(self._ready.get("app_connected"))

    def _watch(self, url: str) -> Any:
        """The watcher of the database `url` names, started on first use; None unless the
        session is on a throwaway server."""
        if not self.throwaway:
            return None
        watch = self._watches.get(url)
        if watch is None:
            from dbsafe.migrate.waits import SelfWaitWatch

            watch = self._watches[url] = SelfWaitWatch(to_libpq_url(url)).__enter__()
        return watch

    @property
    def output(self) -> str:
        from dbsafe.pg.urls import redact_any

        return redact_any(b"".join(self._output).decode("utf-8", "replace"), self.url)

    def _drain(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while chunk := os.read(fd, 65536):
            self._output.append(chunk)

    def _send(self, message: dict[str, Any]) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write((json.dumps(message) + "\n").encode())
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._died() from None

    def _receive(self) -> dict[str, Any]:
        line = self._results.readline()
        if not line:
            raise self._died()
        data: dict[str, Any] = json.loads(line)
        return data

    def _died(self) -> MigrationError:
        assert self._proc is not None
        self._proc.wait()
        if self._reader is not None:
            self._reader.join(timeout=5)
        output = self.output
        tail = "\n".join(output.strip().splitlines()[-15:])
        return MigrationError(
            f"env.py under {self.project.interpreter} ended (exit {self._proc.returncode}) "
            "before it answered" + (f"; its last output:\n{tail}" if tail else ""),
            output=output)

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the child: its input ends, it gets 30 s to finish, then it is killed.
        Closing twice, or a session never started, does nothing.

        Closed while a cancellation unwinds (SIGTERM, SIGHUP, Ctrl-C), the child is killed
        at once: given time, it would finish (and commit) the revision it is running after
        the run was stopped, and the history would say otherwise. Killed, its transaction
        rolls back.
        """
        proc = self._proc
        if proc is None:
            return
        unwinding = sys.exc_info()[1]
        cancelled = unwinding is not None and not isinstance(unwinding, Exception)
        try:
            if proc.stdin is not None:
                proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=0 if cancelled else 30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        finally:
            # Cancelled (SIGTERM, Ctrl-C) mid-request: stop env.py before anything else.
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if self._reader is not None:
                self._reader.join(timeout=5)
            if self._results is not None:
                self._results.close()
            if proc.stdout is not None:
                proc.stdout.close()
            output = self.output
            if output.strip():
                log.info("output of env.py and the revisions:\n%s", output.rstrip())
            self._proc = None
            for watch in self._watches.values():
                watch.__exit__(None, None, None)
            self._watches.clear()


def _die_with_parent() -> Callable[[], None] | None:
    """The child's `preexec_fn`: if dbsafe is killed (SIGKILL), the child goes too (Linux).

    An orphaned env.py would keep migrating after the advisory lock that guards the run was
    released with dbsafe's connection; killed, its transaction rolls back instead.
    """
    import signal

    from dbsafe.pg.tools import die_with_parent

    return die_with_parent(signal.SIGKILL)


def _child_environment(url: str | None, target: dict[str, Any] | None) -> dict[str, str]:
    """The child's environment: libpq's location variables are the target's (none when
    rendering offline, and the URL variables a placeholder); how it connects (TLS files, options, a password file) is what
    dbsafe's own connection used, the URL's parameters over the user's variables."""
    env = {k: v for k, v in os.environ.items() if k not in LOCATION_VARIABLES}
    env["PYTHONUNBUFFERED"] = "1"
    # The same statements in the same order on every run: a revision iterating a set of
    # strings (Langflow's 1cb603706752 batch rebuild) otherwise sends them in another
    # order each time, and a finding quotes another statement from one CI run to the next.
    env.setdefault("PYTHONHASHSEED", "0")
    if target is not None and url is not None:
        env.update(libpq_settings(url))
        env.update(PGHOST=str(target["host"]), PGPORT=str(target["port"]),
                   PGUSER=str(target["user"]), PGDATABASE=str(target["dbname"]))
        if target.get("hostaddr"):
            env["PGHOSTADDR"] = str(target["hostaddr"])
        libpq_url = to_libpq_url(url)
        if names_a_service(url):
            # The child has no service: the URL env.py reads names the target itself.
            libpq_url = target_url(target)
        # A socket directory as the host part, not a `?host=` parameter: settings typed as
        # pydantic's PostgresDsn (FastAPI services') refuse a URL without one.
        libpq_url = host_in_authority(libpq_url, str(target["host"]), str(target["port"]))
        for name in URL_VARIABLES:
            env[name] = libpq_url
    else:
        # Rendering offline: no database, but an env.py that reads its URL from one of
        # these (hypothesis/lms: `url=os.environ["DATABASE_URL"]`) still needs one naming
        # the dialect, as alembic init's placeholder in sqlalchemy.url does, and settings
        # typed as a URL one with a host (`OFFLINE_URL`).
        for name in URL_VARIABLES:
            env[name] = OFFLINE_URL
    return env


def describe_failure(error: Mapping[str, Any], *, ini: Path, interpreter: str) -> str:
    """One line saying what failed in the child and where: the revision, else the project's
    own line (env.py, or a revision file alembic was loading), else alembic.ini."""
    message = error.get("message") or error.get("type") or "unknown error"
    revision, file = error.get("revision"), error.get("file")
    if error.get("sandbox"):
        return f"refused: {message}"
    if error.get("type") == "FlaskAppNotLoaded":
        return message  # says what was tried and how to name the application
    if revision:
        return f"revision {revision} (file {_display(file)}): {message}"
    origin = error.get("origin")
    # No line of the project's on the stack: env.py had not started, alembic failed
    # reading its configuration (or the script directory it names).
    where = f"{_display(origin[0])}:{origin[1]}" if origin else _display(str(ini))
    text = f"{where}: {error.get('type')}: {message}"
    if error.get("type") == "ModuleNotFoundError":
        text += (f" (env.py runs under {interpreter}; point --python, or `python` in "
                 "[tool.dbsafe], at your project's interpreter)")
    return text


def _error(error: dict[str, Any], ini: Path, output: str, interpreter: str) -> MigrationError:
    revision, file = error.get("revision"), error.get("file")
    text = describe_failure(error, ini=ini, interpreter=interpreter)
    log.debug("traceback of the failure in env.py:\n%s", error.get("traceback", ""))
    if error.get("type") == "FlaskAppNotLoaded":
        return FlaskAppError(text, output=output)
    return MigrationError(text, revision=revision, file=file, line=error.get("line"),
                          output=output, sqlstate=error.get("sqlstate"),
                          committed=tuple(error.get("committed") or ()))


def _result(data: dict[str, Any], output: str) -> RunResult:
    contexts = data.get("contexts") or [{}]
    context = contexts[-1]
    expected = data.get("expected")
    return RunResult(
        revisions=tuple(
            Revision(r["revision"], Path(r["path"]) if r.get("path") else None,
                     tuple(r["down_revision"]) if isinstance(r["down_revision"], list)
                     else r["down_revision"], _one_line(r.get("doc") or ""),
                     tuple(r.get("dependencies") or ()), tuple(r.get("branch_labels") or ()))
            for r in data["revisions"]
        ),
        heads=tuple(data["heads"]),
        expected=tuple(expected) if expected is not None else None,
        chunks=tuple((c[0], c[1], c[2]) for c in data.get("chunks", ())),
        version_table=context.get("version_table") or "alembic_version",
        version_table_schema=context.get("version_table_schema"),
        output=output,
        captured=tuple(_captured(c) for c in data.get("captured", ())),
        capture_error=data.get("capture_error"),
        skipped_types=tuple(
            SkippedType(t["kind"], t.get("schema"), t["name"], t["revision"], t["file"],
                        int(t["line"]), t["made_by"], t.get("made_file"),
                        int(t.get("made_line") or 0), t.get("exists"))
            for t in data.get("skipped_types") or ()),
        fingerprints=_fingerprints(data),
        idle=frozenset((r, d) for r, d in data.get("idle") or ()),
        model_differences=tuple((o, n, d) for o, n, d in data.get("model_differences", ())),
        imported=data.get("imported"),
    )


def _one_line(doc: str) -> str:
    """A revision's message on one line: alembic's `Script.doc` is its docstring's first
    paragraph, line breaks kept (tacker's 70df18f71ba2 "alter vnfd_ids, vnf_instance_ids,
    vnf_instance_names\ncolumns of vnf_lcm_filters"), which broke the `apply:` progress
    line, `status` and `plan` in two, the second without its `dbsafe:` prefix (task 544)."""
    return " ".join(doc.split())


def _fingerprints(data: dict[str, Any]) -> tuple[tuple[str, str, str | None], ...]:
    return tuple((r, d, v) for r, d, v in data.get("fingerprints") or ())


def _captured(c: dict[str, Any]) -> CapturedStatement:
    locks, rewritten, held = c.get("locks"), c.get("rewritten"), c.get("held")
    return CapturedStatement(
        c["sql"], c["file"], int(c["line"]), c["revision"], c.get("in_transaction"),
        bool(c.get("introspection")),
        tuple((a, b, k, m) for a, b, k, m in locks) if locks is not None else None,
        tuple((a, b) for a, b in rewritten) if rewritten is not None else None,
        tuple((a, b, k, m) for a, b, k, m in held) if held is not None else None,
        tuple((a, b, k, m) for a, b, k, m in c.get("inherited") or ()),
        tuple((name, value) for name, value in c.get("settings") or ()),
        c.get("pid"), c.get("started"),
        scanned=tuple((a, b) for a, b in scanned) if (scanned := c.get("scanned")) is not None
        else None,
        autocommit=c.get("autocommit"), first_in_run=bool(c.get("first_in_run")),
    )


def _display(file: str | None) -> str:
    if not file:
        return "?"
    try:
        return Path(file).resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return file


# -- verification ----------------------------------------------------------------------------


def verify_applied(database_url: str, result: RunResult) -> tuple[str, ...]:
    """Check that the database holds the revisions the run was meant to leave.

    Returns the revisions found in its version table.
    """
    from psycopg import sql

    from dbsafe.pg.urls import redact_url

    shown = redact_url(database_url)
    with connect(database_url) as conn:
        row = conn.execute(
            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = %s AND c.relkind IN ('r', 'p') "
            "AND (%s::text IS NULL OR n.nspname = %s) ORDER BY n.nspname = 'public' DESC",
            (result.version_table, result.version_table_schema, result.version_table_schema),
        ).fetchone()
        if row is None:
            if result.expected == ():
                return ()
            raise MigrationError(
                f"after running the migrations, {shown} has no {result.version_table} table: "
                "env.py did not migrate the database dbsafe gave it"
            )
        found = tuple(sorted(r[0] for r in conn.execute(
            sql.SQL("SELECT version_num FROM {}.{}").format(
                sql.Identifier(row[0]), sql.Identifier(result.version_table))
        )))
    if result.expected is not None and tuple(sorted(result.expected)) != found \
            and not _other_branches(result, found):
        raise MigrationError(
            f"after running the migrations, {shown} is at "
            f"{', '.join(found) or 'no revision'} instead of {', '.join(result.expected)}"
        )
    return found


def _other_branches(result: RunResult, found: tuple[str, ...]) -> bool:
    """Does the version table hold the expected revisions plus only revisions of other
    branches, which a run to a revision on one branch leaves where they are? (An upgrade to
    `b2` of a history branching into `a1` and `b1..b2`, on a database at `a1`, leaves it at
    `a1, b2`; so it does when a later revision merges the branches, as FlexMeasures'
    919dc9f1dc1f merges 5d39829d91af and db00b66be82c.)"""
    expected = set(result.expected or ())
    others = set(found) - expected
    parents = {r.revision: ((r.down_revision,) if isinstance(r.down_revision, str)
                            else tuple(r.down_revision or ())) for r in result.revisions}
    # A revision another one `depends_on` is not a row of its own once that one is applied
    # (alembic implies it): a downgrade to e1 at c1, e2, c1 depending on e1, leaves c1 alone.
    requires = {r.revision: parents[r.revision] + r.dependencies for r in result.revisions}
    if not expected <= set(found) | _reachable(set(found), requires):
        return False
    children: dict[str, list[str]] = {}
    for child, ups in parents.items():
        for parent in ups:
            children.setdefault(parent, []).append(child)
    return not (others & _reachable(expected, parents)) and not (
        others & _reachable(expected, children)) and others <= set(parents)


def _reachable(start: set[str], edges: Mapping[str, Sequence[str]]) -> set[str]:
    """The revisions `edges` lead to from `start` (its ancestors or descendants)."""
    found: set[str] = set()
    todo = list(start)
    while todo:
        for step in edges.get(todo.pop(), ()):
            if step not in found:
                found.add(step)
                todo.append(step)
    return found


def current_revisions(database_url: str,
                      version_table: str = "alembic_version") -> tuple[str, ...]:
    """The revisions a database's alembic version table holds; () when it has none.

    The table is the one `find_version_table` finds.
    """
    with connect(database_url) as conn:
        return revisions_in(conn, version_table)


def revisions_in(conn: Any, version_table: str = "alembic_version") -> tuple[str, ...]:
    """`current_revisions` on an open psycopg connection (a database just restored)."""
    from psycopg import sql

    found = _find_version_table(conn, version_table)
    if found is None:
        return ()
    return tuple(sorted(r[0] for r in conn.execute(
        sql.SQL("SELECT version_num FROM {}.{}").format(
            sql.Identifier(found[0]), sql.Identifier(found[1])))))


def find_version_table(database_url: str,
                       version_table: str = "alembic_version") -> tuple[str, str] | None:
    """`(schema, table)` of the database's alembic version table, None when it has none.

    `version_table` on the search path, as alembic finds it by default. Failing that, for
    the default name, the one table alembic made anywhere else: an env.py that passes
    `version_table_schema` or another `version_table` to `context.configure()` says so
    only while it runs, but alembic names the table's primary key `<table>_pkc`, on its
    `version_num` column.

    Raises:
        DbsafeError: several such tables and none on the search path: which one is this
            project's only its env.py knows.
    """
    with connect(database_url) as conn:
        return _find_version_table(conn, version_table)


def _find_version_table(conn: Any, version_table: str) -> tuple[str, str] | None:
    row = conn.execute(
        "SELECT n.nspname, c.relname FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relname = %s AND c.relkind IN ('r', 'p') AND "
        "n.nspname = ANY (current_schemas(false)) "
        "ORDER BY array_position(current_schemas(false), n.nspname::text) LIMIT 1",
        (version_table,)).fetchone()
    if row is not None or version_table != "alembic_version":
        return (row[0], row[1]) if row else None
    rows = conn.execute(
        "SELECT n.nspname, c.relname FROM pg_constraint k "
        "JOIN pg_class c ON c.oid = k.conrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.conkey[1] "
        "WHERE k.contype = 'p' AND k.conname = c.relname || '_pkc' "
        "AND cardinality(k.conkey) = 1 AND a.attname = 'version_num' "
        "AND c.relkind IN ('r', 'p') "
        "AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'dbsafe') "
        "ORDER BY 1, 2").fetchall()
    if len(rows) > 1:
        names = ", ".join(f"{schema}.{table}" for schema, table in rows)
        raise DbsafeError(f"the database has several alembic version tables ({names}) and "
                          "no alembic_version on the search path; which one this "
                          "project's env.py uses cannot be told from the database")
    return (rows[0][0], rows[0][1]) if rows else None

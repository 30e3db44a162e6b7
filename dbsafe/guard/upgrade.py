"""`dbsafe upgrade`: alembic wrapped in preflight, a verified backup, timeouts and retries,
postflight verification and an automatic way back.

Each step is a plain function over an `_Run` (the state of one upgrade). `upgrade()` orders
them; every step reports progress through a callback, so the CLI can show it as it happens
while this module never prints. What happened is also in the returned report and in the
database's own history (`dbsafe.history`).
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from dbsafe.core import (
    DatabaseError,
    DbsafeError,
    Finding,
    Report,
    RuleInfo,
    Severity,
    shortened,
)
from dbsafe.guard import history
from dbsafe.guard.backup import BACKUP_SPACE_SHORT, RESTORED_COPY_DIFFERS, backup_space_short
from dbsafe.guard.blockers import BlockerWatch, backoff, blocked_by
from dbsafe.guard.called_writes import RUNS_QUERIES
from dbsafe.guard.leftovers import remove_leftovers, user_snapshot
from dbsafe.guard.row_refusals import ROWS_REFUSE, Verdict
from dbsafe.guard.rows import ROWS_LEFT_CHANGED
from dbsafe.guard.run import LockWaits, Progress, RunState
from dbsafe.guard.statistics import (
    STATISTICS_MISSING,
    analyze,
    statistics_missing,
    statistics_objects,
    unanalysed,
)
from dbsafe.migrate.histories import MIGRATION_NEVER_RUN
from dbsafe.migrate.revisions import (
    ancestors,
    applied_checksum,
    check_target,
    downgrade_problem,
    label_hint,
    pending,
    relative_target,
    way_back,
)
from dbsafe.migrate.runner import (
    ABANDONED_STATEMENTS_STOP,
    AlembicProject,
    ApplySession,
    MigrationError,
    Revision,
    RunResult,
    current_revisions,
    describe,
    verify_applied,
)
from dbsafe.pg.volatility import NOT_VOLATILE_FUNCTIONS, VOLATILE_FUNCTIONS

if TYPE_CHECKING:
    from dbsafe.checks import Check, CheckResult
    from dbsafe.config import Settings
    from dbsafe.guard.blockers import Blocker
    from dbsafe.guard.row_tables import Choice
    from dbsafe.guard.rows import Rows
    from dbsafe.schema.diff import DiffOptions
    from dbsafe.schema.model import SchemaSnapshot

_T = TypeVar("_T")

# The history's outcome of an upgrade whose first revision failed, the database verified as
# it was before (at its revision, schema and rows equal).
AS_BEFORE = "failed, as before"

# SQLSTATEs worth another attempt: lock_not_available (lock_timeout), deadlock_detected.
RETRYABLE = frozenset({"55P03", "40P01"})

# Every connection env.py opens for the upgrade says so (and the lock-wait watch finds them).
APPLICATION_NAME = "dbsafe upgrade"
# ... and every one the way back after a failed upgrade opens.
ROLLBACK_APPLICATION_NAME = "dbsafe rollback"

# Checks whose failure after an upgrade means the upgrade broke something.
POSTFLIGHT_CHECKS = ("DBS501", "DBS502", "DBS503")

REVISION_FAILED = RuleInfo(
    "DBS601", "revision-failed",
    "A revision failed while `dbsafe upgrade` or `downgrade` applied it.",
    Severity.ERROR, "0.2.0")
IRREVERSIBLE_REVISION = RuleInfo(
    "DBS602", "irreversible-revision",
    "A pending revision has no real downgrade, so there would be no way back.",
    Severity.ERROR, "0.2.0")
ROLLBACK_MISMATCH = RuleInfo(
    "DBS603", "rollback-left-differences",
    "After rolling back, the schema differs from the one recorded before the upgrade.",
    Severity.ERROR, "0.2.0")
POSTFLIGHT_FAILED = RuleInfo(
    "DBS604", "postflight-failed",
    "The upgraded database failed a postflight check (invalid index, materialized view, "
    "application queries, project checks).",
    Severity.ERROR, "0.2.0")
REVISION_CHANGED = RuleInfo(
    "DBS605", "applied-revision-changed",
    "A revision file changed after dbsafe applied it (its checksum differs); a warning for "
    "a SQL migration edited since its runner applied it, which its runner does not refuse.",
    Severity.ERROR, "0.2.0")
PENDING_REVISIONS = RuleInfo(
    "DBS606", "pending-revisions",
    "The database is behind the migrations: revisions are pending.",
    Severity.ERROR, "0.2.0")
RUNNER_REFUSES = RuleInfo(
    "DBS612", "runner-refuses-to-migrate",
    "The folder's migration runner refuses to migrate the database as it stands (a file "
    "added before the last one it ran, an applied file edited since).",
    Severity.ERROR, "0.2.0")
# (DBS613, which `status` and `drift` report alike, is the histories' own)
RULES = (REVISION_FAILED, IRREVERSIBLE_REVISION, ROLLBACK_MISMATCH, POSTFLIGHT_FAILED,
         REVISION_CHANGED, PENDING_REVISIONS, BACKUP_SPACE_SHORT, RESTORED_COPY_DIFFERS,
         RUNNER_REFUSES, MIGRATION_NEVER_RUN, ROWS_LEFT_CHANGED, ROWS_REFUSE,
         STATISTICS_MISSING)


@dataclass(frozen=True, slots=True)
class Verbs:
    """The commands a guarded run calls on the project (`commands.lint`, `commands.validate`),
    handed in by `commands.py`, so guard never imports the layer above it."""

    # (settings, the database's revision, the revisions it holds after the run: lint leaves
    # out the others)
    lint: Callable[[Settings, str | None, Collection[str]], Report]
    validate: Callable[[Settings], Report]


@dataclass(frozen=True, slots=True)
class UpgradeOptions:
    target: str | None = None  # None: the head, which must be the only one
    lock_timeout: str = "5s"
    statement_timeout: str = "30min"  # none for CONCURRENTLY builds
    retries: int = 5
    retry_delay: float = 1.0  # first backoff; doubles each attempt, with jitter, at most 60 s
    backup: bool = True
    backup_dir: Path = Path("backups")
    backup_jobs: int = 1
    allow: tuple[str, ...] = ()  # lint codes accepted for this run
    allow_irreversible: bool = False
    auto_rollback: bool = True
    dry_run: bool = False
    validate_app: bool = True
    # After a successful upgrade, ANALYZE the tables whose new expression indexes or
    # extended statistics have none yet (DBS616 names them either way).
    analyze: bool = False


@dataclass(kw_only=True)
class _Run(RunState):
    """The state of one upgrade."""

    options: UpgradeOptions
    verbs: Verbs
    revisions: tuple[Revision, ...] = ()
    heads: tuple[str, ...] = ()
    todo: list[Revision] = field(default_factory=list)
    applied: list[Revision] = field(default_factory=list)
    before: SchemaSnapshot | None = None
    known_problems: frozenset[tuple[str, str | None]] = frozenset()
    # The application's query errors on the database before the upgrade (`_app_error_key`):
    # a query that failed the same way before was not broken by the upgrade.
    known_app_errors: frozenset[tuple[object, ...]] = frozenset()
    checks: tuple[Check, ...] | None = None  # loaded (and their SQL verified) once per run
    # Pending revisions lint captured changing no schema (rows only, or nothing): an empty
    # downgrade() is their way back (the rows they changed stay; the backup has them).
    schema_kept: frozenset[str] = frozenset()
    # Each table's rows before the first revision (`guard.rows`): the way back compares.
    rows_before: Rows | None = None
    # What lint captured the pending revisions may change of the rows (`lint.row_changes`):
    # which tables `rows_before` reads.
    row_changes: object = None
    # The pending statements validating rows (`lint.row_checks`): the preflight asks the
    # database whether a row refuses one (`guard.row_refusals`, DBS615).
    row_checks: object = None
    # The first revision failed (nothing applied): the database verified as before the
    # upgrade (True), or not (False); None otherwise.
    as_before: bool | None = None
    # The OIDs of the expression indexes and extended statistics before the first revision:
    # those the run made have no statistics until their table is analysed (DBS616).
    statistics_before: frozenset[int] = frozenset()
    analyzed: list[str] = field(default_factory=list)  # the tables --analyze analysed

    def show_applied(self) -> None:
        self.show_revisions([r.revision for r in self.todo], len(self.applied))


def upgrade(settings: Settings, database_url: str, options: UpgradeOptions, verbs: Verbs,
            progress: Progress = lambda step, message: None) -> Report:
    """Upgrade the database at `database_url` to `options.target`, guarded.

    Returns a report whose `summary["outcome"]` is `up to date`, `planned` (dry run),
    `applied`, `refused`, `rolled back` or `failed`; findings say why.

    Raises:
        DbsafeError: the database cannot be reached, another run holds the lock, or the
            alembic environment cannot be loaded (nothing was changed).
    """
    from dbsafe.guard.lock import run_lock

    run = _Run(settings=settings, url=database_url, progress=progress,
               project=AlembicProject.from_settings(settings), options=options, verbs=verbs,
               waits=LockWaits(options.lock_timeout, options.retries, options.retry_delay))
    # One child process runs env.py for the whole run: it describes the history for the
    # preflight, then applies revision after revision. It starts first and loads alembic,
    # SQLAlchemy and the history while this process connects, takes the lock and looks for
    # an interrupted run; it touches no database until it is asked to apply.
    settings_for_session = {"lock_timeout": options.lock_timeout,
                            "statement_timeout": options.statement_timeout,
                            "application_name": APPLICATION_NAME,
                            **ABANDONED_STATEMENTS_STOP}
    session = ApplySession(run.project, database_url, session=settings_for_session)
    session.start()
    try:
        run.session = session
        if options.target is not None:
            # A name the scripts do not hold is said before the database is asked anything.
            described = _described(run)
            check_target(described.revisions, described.heads, options.target)
        _preflight_connection(run)
        with run_lock(database_url) as run.lock:
            outcome = _upgrade_locked(run)
    finally:
        session.close()
    summary = {
        "outcome": outcome,
        "from": list(run.start),
        "to": list(run.target),
        "applied": [r.revision for r in run.applied],
        "pending": [r.revision for r in run.todo],
        "backup": run.backup_file,
        "run_id": run.run_id,
        # Failed with nothing applied: whether the database is as before (verified).
        **({"as_before": run.as_before} if run.as_before is not None else {}),
        **({"analyzed": run.analyzed} if options.analyze else {}),
        "what_happened": run.story,
        "elapsed_seconds": run.elapsed(),
    }
    return Report(tuple(run.findings), summary)


def _upgrade_locked(run: _Run) -> str:
    if not run.options.dry_run:
        _repair_interrupted(run)
    _resolve_plan(run)
    if not run.todo:
        run.say("preflight", f"already at {', '.join(run.start) or 'base'}: nothing to do")
        return "up to date"
    if not _preflight_checks(run):
        return "refused"
    if run.options.dry_run:
        run.say("plan", "dry run: nothing was executed")
        return "planned"
    run.run_id = history.start(run.url, "upgrade", run.start)
    try:
        if run.options.backup:
            _backup(run)
        run.before = read_schema(run)
        run.statistics_before = statistics_objects(run.url)
        run.rows_before = _rows_before(run)
        failed = not _apply_all(run)
        if run.session is not None:
            # Nothing more to apply in it (the way back runs in a child of its own): the
            # child exits while postflight runs.
            run.session.end_requests()
        if not failed:
            failed = not _postflight(run)
        if not failed:
            _statistics(run)
            outcome = "applied"
            run.say("done", f"at {', '.join(run.target)}")
        else:
            outcome = _way_back(run)
    except BaseException as exc:
        raised = record_interrupted(run, exc, lock_timeout=run.options.lock_timeout)
        if raised is exc:
            raise
        raise raised from None
    # The history's outcome tells "nothing changed" from "stopped half-way"; the run's
    # stays `failed` (exit 2: dbsafe could not do its job).
    _record(run, AS_BEFORE if outcome == "failed" and run.as_before else outcome)
    return outcome


def record_interrupted(run: RunState, exc: BaseException, *, lock_timeout: str
                       ) -> BaseException:
    """Interrupted (Ctrl-C, SIGTERM) or dbsafe itself failed while the run changed the
    database (`upgrade`, `downgrade`): remove what the revision in flight left, then record
    the run `interrupted`. Where something stays, the run stays recorded as running: the
    next upgrade repairs it, as after a SIGKILL. Returns what the caller raises: `exc`, or
    the server gone after a revision was applied, an error saying so (`server_gone`)."""
    gone = server_gone(run, exc)
    if gone is not None:
        return gone  # recorded as running: the next upgrade records it interrupted there
    _record_interrupted(run, exc, lock_timeout=lock_timeout)
    return exc


def server_gone(run: RunState, exc: BaseException) -> DbsafeError | None:
    """`exc` was the server going away (stopped, restarting, failed over) after a revision
    was applied, between two or while the run verified the last: an error saying where,
    the database's revisions then, and what to do. It used to end the run with
    `could not connect to ...; check the URL`, which read as a wrong URL. None otherwise
    (the server answers, or no revision was applied yet)."""
    if run.position is None or not isinstance(exc, Exception) \
            or isinstance(exc, MigrationError):  # a revision's failure says itself
        return None
    try:
        current_revisions(run.url)
    except DbsafeError as lost:
        where, reached = run.position
        return DbsafeError(
            f"the server could not be reached {where}: {lost}; the database is at "
            f"{', '.join(reached) or 'base'} (as last read); `dbsafe status` and the next "
            "`dbsafe upgrade` take it from there")
    return None


def _record_interrupted(run: RunState, exc: BaseException, *, lock_timeout: str) -> None:
    if run.in_flight is not None and not _remove_interrupted(run, *run.in_flight,
                                                             lock_timeout=lock_timeout):
        return
    if run.run_id is None:
        return
    # Said and kept with the run's story: the row held `KeyboardInterrupt: ` alone, every
    # step before it lost, and the terminal `dbsafe: interrupted`, not where that left it.
    now = current_revisions(run.url)
    run.say("interrupted", f"{_stopped_by(exc)}: the database is at "
            f"{', '.join(now) or 'base'}"
            + (f"; {run.interrupted_note}" if run.interrupted_note else "")
            + (f"; the backup before the run: {run.backup_file}" if run.backup_file else ""))
    history.finish(run.url, run.run_id, outcome="interrupted", to_revisions=now,
                   message=history.story_message(run.story), backup_file=run.backup_file)


def _stopped_by(exc: BaseException) -> str:
    """What ended the run, in words: Ctrl-C, a signal (the CLI's `_Terminated` carries its
    number), or dbsafe's own failure."""
    import signal

    if isinstance(exc, KeyboardInterrupt):
        return "stopped by Ctrl-C (SIGINT)"
    signum = getattr(exc, "signum", None)
    if isinstance(signum, int):
        return f"stopped by {signal.Signals(signum).name}"
    return f"{type(exc).__name__}: {exc}"


def _remove_interrupted(run: RunState, at: tuple[str, ...], before: SchemaSnapshot, *,
                        lock_timeout: str) -> bool:
    """Stopped mid-revision (Ctrl-C, SIGTERM): end the revision's connection, then remove
    what it left (the INVALID index of a cancelled CONCURRENTLY build, what its
    autocommit_block() committed), which would otherwise stay: the next run repairs only
    runs that recorded no end. False when something stays (the next run is to repair it)."""
    if run.session is not None:
        run.session.close()  # killed at once: its transaction rolls back, its statement ends
    try:
        if current_revisions(run.url) != at:
            return True  # it committed and was recorded: what it made is the revision's own
    except Exception:  # noqa: BLE001 - unwinding already; the next run repairs it
        return False
    run.say("apply", "interrupted; removing what the revision left (interrupt again to leave "
            "it to the next run)")
    try:
        removed, kept = remove_leftovers(run.url, before, lock_timeout=lock_timeout)
    except Exception:  # noqa: BLE001 - unwinding already; the next run repairs it
        return False
    if removed:
        run.say("apply", f"removed what it left: {', '.join(removed)}")
    if kept:
        return False
    # What it committed and removing cannot bring back (a DROP run before the interrupt).
    with contextlib.suppress(Exception):
        differences, _ = _differences(before, user_snapshot(run.url),
                                      expected_name="the schema then")
        if differences:
            stays = (f"the database, still at {', '.join(at) or 'base'}, differs from its "
                     f"schema then: {'; '.join(differences[:3])}"
                     + (f"; and {len(differences) - 3} more" if len(differences) > 3 else ""))
            run.interrupted_note = "; ".join(filter(None, (run.interrupted_note, stays)))
            run.say("apply", stays + (f" (as it was: {run.restore_command()})"
                                      if run.backup_file else ""))
    return True


# -- preflight ---------------------------------------------------------------------------------


def _repair_interrupted(run: _Run) -> None:
    """A run killed mid-revision (SIGKILL, a lost host) may have left what an
    `autocommit_block()` committed or an INVALID index: compare with the checkpoint it
    recorded for the revision the database is at, and remove what is new."""
    import json

    from dbsafe.schema.model import SchemaSnapshot

    current = current_revisions(run.url)
    for run_id, checkpoints in history.unfinished(run.url, current):
        key = ",".join(current) or "base"
        recorded = checkpoints.get(key)
        if recorded is None:
            run.say("repair", f"run {run_id} did not finish; no checkpoint at {key} to "
                    "compare with, nothing removed")
            continue
        snapshot = SchemaSnapshot.from_dict(
            recorded if isinstance(recorded, dict) else json.loads(recorded))
        removed, kept = remove_leftovers(run.url, snapshot, lock_timeout=run.options.lock_timeout,
                                         read=functools.partial(read_schema, run, step="repair",
                                                                stops=NOTHING_APPLIED))
        if kept:
            raise DbsafeError(
                f"run {run_id} did not finish (at {key}) and what it left could not all be "
                f"removed: {', '.join(kept)}; run again once the session holding it is gone")
        run.say("repair", f"run {run_id} did not finish (at {key}); "
                + (f"removed what it left: {', '.join(removed)}" if removed
                   else "nothing was left behind"))


def _preflight_connection(run: _Run) -> None:
    preflight_connection(run.url, run.say)


def preflight_connection(url: str, say: Progress) -> None:
    """The database is reachable and is a primary; raises DatabaseError otherwise."""
    import psycopg

    from dbsafe.pg.connect import connect, one_line
    from dbsafe.pg.urls import redact_url

    with connect(url) as conn:
        try:
            row = conn.execute("SELECT pg_is_in_recovery(), current_setting('server_version')"
                               ).fetchone()
        except psycopg.Error as exc:
            raise DatabaseError(f"{redact_url(url)}: {one_line(exc, url)}") from None
    if row and row[0]:
        raise DatabaseError(f"{redact_url(url)} is a read-only replica (in recovery); "
                            "run this against the primary")
    say("preflight", f"connected to {redact_url(url)} (PostgreSQL {row[1] if row else '?'})")


READING_REVISIONS = "reading the project's revisions …"


def _described(run: _Run) -> RunResult:
    """The history's revisions and heads, from the run's child; while it is still loading
    them (8-25 s for Prefect's env.py and revisions, said by nothing), the run says so."""
    if run.session is None:
        run.say("preflight", READING_REVISIONS)
        return describe(run.project)
    if not run.session.loaded:
        run.say("preflight", READING_REVISIONS)
    return run.session.described


def _resolve_plan(run: _Run) -> None:
    described = _described(run)
    run.revisions, run.heads = described.revisions, described.heads
    target = run.options.target
    if target is None:
        if len(run.heads) > 1:
            # Unmerged branches are most often two changes nobody has put in order yet;
            # labelled ones (expand/contract) are two heads by design, upgraded one by one.
            hint = label_hint(run.revisions, run.heads)
            raise DbsafeError(f"the history has {len(run.heads)} heads ({', '.join(run.heads)}): "
                              + ("name the target (`heads` applies every branch"
                                 + (f"; {hint} one)" if hint else ")")
                                 if hint else "merge them (alembic merge heads), or name the "
                                 "target (`heads` applies every branch)"))
        target = "heads"
    run.start = current_revisions(run.url)
    run.target = tuple(relative_target(run.revisions, run.heads, run.start, target))
    known = {r.revision for r in run.revisions}
    unknown = [r for r in run.start if r not in known]
    if unknown:
        raise DbsafeError(f"the database is at {', '.join(unknown)}, which is not in this "
                          "history (wrong alembic.ini, or migrations not yet deployed here)")
    # A target strictly below where the database is: an upgrade never goes there.
    below = ancestors(run.revisions, run.start) - set(run.start)
    behind = [t for t in run.target if t in below]
    if behind:
        raise DbsafeError(
            f"{', '.join(behind)} is below the database's revision ({', '.join(run.start)}): "
            f"an upgrade cannot reach it; `dbsafe downgrade {behind[0]}` goes there")
    run.todo = pending(run.revisions, run.start, run.target)


def _preflight_checks(run: _Run) -> bool:
    names = ", ".join(r.revision for r in run.todo)
    run.say("preflight", f"{len(run.todo)} pending: {names}")
    beyond = lock_timeout_beyond_limit(run.options.lock_timeout, run.settings.lock_timeout_limit)
    if beyond is not None:
        run.say("preflight", beyond)
    run.show_applied()
    report = _lint_pending(run)
    # The rows asked before lint's findings are judged: a table the preflight counts empty
    # is no reason to refuse the run on its statistics (`guard.counted_rows`, task 546).
    asked = _ask_rows(run)
    ok = _lint_accept(run, report, asked if isinstance(asked, list) else [])
    ok = _rows_accept(run, asked) and ok
    for revision in run.todo:
        problem = downgrade_problem(revision.path,
                                    schema_kept=revision.revision in run.schema_kept)
        if revision.revision in run.schema_kept and problem is None:
            # A data migration's empty downgrade() is a way back for the schema only: said
            # as `status` says it, which cannot tell. One with none at all is DBS602 below
            # (the line said "no way back" for 3 of cinder's 6 revisions, none for the rest).
            words = way_back(revision.path, schema_kept=True)
            if words is not None:
                run.say("preflight", f"{revision.revision}: {words}")
        if problem is None:
            continue
        finding = Finding(
            IRREVERSIBLE_REVISION.code,
            f"Revision `{revision.revision}`: {problem}, so a failed upgrade could not be "
            "rolled back.",
            Severity.WARNING if run.options.allow_irreversible else Severity.ERROR,
            subject=revision.revision,
            help="Write its downgrade()." if run.options.allow_irreversible else
                 "Write its downgrade(), or pass --allow-irreversible to accept a way back "
                 "through the backup only.",
        )
        run.findings.append(finding)
        ok = ok and run.options.allow_irreversible
    if run.options.backup:
        ok = _disk_space(run) and ok
    run.known_problems = frozenset(_postflight_problems(run, run.url, step="preflight"))
    if run.options.validate_app:
        run.known_app_errors = frozenset(_app_error_key(f)
                                         for f in _app_errors(run, step="preflight"))
    if run.known_problems or run.known_app_errors:
        run.say("preflight", known_problems_line(run.known_problems, run.known_app_errors))
    if not ok:
        run.say("preflight", "refused: see the findings")
    return ok


def lock_timeout_beyond_limit(lock_timeout: str, limit: str) -> str | None:
    """A note when the run's `--lock-timeout` is longer than lint's `lock-timeout-limit`
    (DBS134, which judges what a revision sets, never the run's own): the user's choice,
    said once, not refused. Both are read as PostgreSQL reads them; a limit of 0 is none.

    >>> lock_timeout_beyond_limit("10min", "10s")[:70]
    "note: --lock-timeout 10min is longer than lint's lock-timeout-limit (1"
    >>> lock_timeout_beyond_limit("0", "10s")[:58]
    'note: --lock-timeout 0 turns the timeout off: a statement '
    >>> lock_timeout_beyond_limit("10s", "10s"), lock_timeout_beyond_limit("1h", "0")
    (None, None)
    """
    from dbsafe.config import parse_duration

    ms, limit_ms = parse_duration(lock_timeout)[0], parse_duration(limit)[0]
    if not limit_ms or 0 < ms <= limit_ms:
        return None
    queue = ("while it waits, the queries that need the table queue behind it (your "
             "choice: not refused)")
    if not ms:
        return (f"note: --lock-timeout {lock_timeout} turns the timeout off: a statement of "
                f"the revisions may wait for its table's lock without end, beyond lint's "
                f"lock-timeout-limit ({limit}, DBS134); {queue}")
    return (f"note: --lock-timeout {lock_timeout} is longer than lint's lock-timeout-limit "
            f"({limit}, DBS134): a statement of the revisions may wait {lock_timeout} for its "
            f"table's lock; {queue}")


def known_problems_line(problems: Iterable[tuple[str, str | None]],
                        app_errors: Iterable[tuple[object, ...]]) -> str:
    """What the preflight found wrong already (the checks' `problems` and the application's
    queries' `app_errors`, as the run keys them), counted by code and by where it was found:
    "31 problem(s)" alone was, on mealie's empty database, 31 DBS301 of its application's
    queries naming tables the upgrade was to create, and read as 31 things broken.

    >>> print(known_problems_line({("DBS501", "public.ix"), ("DBS501", "public.iy")},
    ...                           {("DBS301", "no relation `units`", "a.py", 3, 1)}))
    3 problem(s) exist before the upgrade: 2 DBS501 from the checks, 1 DBS301 in the \
application's queries; postflight only fails on new ones
    """
    from collections import Counter

    def by_code(codes: Iterable[object]) -> tuple[int, str]:
        counts = Counter(str(code) for code in codes)
        return sum(counts.values()), ", ".join(
            f"{n} {code}" for code, n in sorted(counts.items(), key=lambda c: (-c[1], c[0])))

    checks, apps = by_code(code for code, _ in problems), by_code(k[0] for k in app_errors)
    found = [f"{checks[1]} from the checks" if checks[0] else "",
             f"{apps[1]} in the application's queries" if apps[0] else ""]
    return (f"{checks[0] + apps[0]} problem(s) exist before the upgrade: "
            f"{', '.join(filter(None, found))}; postflight only fails on new ones")


def _held_after(run: _Run) -> set[str]:
    """The revisions the database holds once the run is done: its own and the pending ones.
    Lint leaves out the others, wherever they sort: another branch's revision (an upgrade
    to a target on one branch does not apply it) said nothing of this run, yet its CHECK
    refused it over today's rows (DBS615)."""
    return ancestors(run.revisions, (*run.start, *(r.revision for r in run.todo)))


def _lint_pending(run: _Run) -> Report:
    """Lint's report of the pending revisions (captured on a copy of the database's schema),
    and what the run keeps of it: the revisions changing no schema, the rows they change,
    the statements the row preflight asks of the rows."""
    from dataclasses import replace

    # The timeouts DBS115 asks for are the ones this command sets; its reads of the
    # database wait for a lock as the run's do, and are retried (`waited`).
    settings = replace(reading_settings(run), managed_timeouts=True)
    try:
        report = waited(run, lambda: run.verbs.lint(
            settings, run.start[0] if len(run.start) == 1 else None,
            _held_after(run)), step="preflight")
    except DbsafeError as exc:
        # Refusing with no finding to show would read as "see the findings" of none: the
        # run could not do its job (exit 2), and says why. Nothing was touched yet.
        raise DbsafeError(f"preflight could not lint the pending revisions: {exc}; nothing "
                          "was applied") from None
    # What of the database's schema its copy lacks (an ICU collation the embedded server
    # cannot make, and the tables using it): without it, a DBS005 "fails on a copy of the
    # database's schema (relation "channels" does not exist)" read as the revision's fault.
    seed_lines = report.summary.get("seed_lines")
    for line in seed_lines if isinstance(seed_lines, list) else ():
        run.say("preflight", f"lint: {line}")
    schema_kept = report.summary.get("no_schema_change_revisions")
    run.schema_kept = frozenset(schema_kept) if isinstance(schema_kept, list) else frozenset()
    run.row_changes = report.summary.get("row_changes")
    run.row_checks = report.summary.get("row_checks")
    return report


def _lint_accept(run: _Run, report: Report, verdicts: Sequence[Verdict]) -> bool:
    """Whether lint's findings of the pending revisions let the run go on (none at or above
    `--fail-on` but those `--allow` accepts), weighed by the rows the preflight counted
    (`verdicts`, `guard.counted_rows`)."""
    from dataclasses import replace

    from dbsafe.guard.counted_rows import weighed_by_counts
    from dbsafe.lint.history import NOT_LINTED
    from dbsafe.lint.rules.empty_downgrade import RULE as EMPTY_DOWNGRADE

    files = {str(r.path) for r in run.todo if r.path}
    # `--allow-irreversible` accepts a revision whose downgrade() is empty: DBS602 below, and
    # lint's DBS210 of the same downgrade() (a DBA passing it was still refused by that one)
    allowed = set(run.options.allow) | (
        {EMPTY_DOWNGRADE.code} if run.options.allow_irreversible else set())
    unlinted = _pending_not_linted(run, report, NOT_LINTED.code)
    threshold = run.settings.fail_on
    ok = True
    refusing: list[str] = []
    from dbsafe.guard.one_run import said_of_this_run

    for finding in weighed_by_counts(
            said_of_this_run(report.findings, {r.revision for r in run.todo}), verdicts,
            run.settings.severity):
        path = finding.location.path if finding.location else None
        # A revision before the pending ones that stopped the capture or offline rendering
        # (Prefect's env.py runs only under its CLI; rendered offline, a 2022 revision reads
        # `rowcount`) says why the pending ones were not linted: kept, not a silent pass.
        if (path is not None and not any(f.endswith(path) for f in files)
                and not (unlinted and finding.code == NOT_LINTED.code)):
            continue
        if finding.code in allowed:
            finding = replace(finding, severity=Severity.NOTE)
        elif finding.severity.rank >= threshold.rank:
            ok = False
            refusing.append(finding.code)
        run.findings.append(finding)
    if refusing:
        # The report's last line counts warnings: that they refused the run is said here,
        # and how to accept one (`2 warnings (outcome: refused)` alone read as a mystery).
        codes = ", ".join(f"{code}: {refusing.count(code)}" for code in dict.fromkeys(refusing))
        run.say("preflight", f"lint: {len(refusing)} finding(s) at or above --fail-on "
                f"{threshold.value} refuse the run ({codes}); `--allow CODE` accepts one "
                "for this run")
    if unlinted:
        run.say("preflight", f"lint: {len(unlinted)} of the {len(run.todo)} pending "
                f"revision(s) were not linted ({', '.join(unlinted)}): see DBS005")
        if not any(f.code == NOT_LINTED.code for f in run.findings):
            ok = False
            run.findings.append(Finding(
                NOT_LINTED.code, (f"Revisions {', '.join(unlinted)} were" if len(unlinted) > 1
                                  else f"Revision {unlinted[0]} was")
                + " not linted: the lint run did not reach "
                + ("them." if len(unlinted) > 1 else "it."), NOT_LINTED.default_severity))
    if ok:
        run.say("preflight", "lint: the pending revisions pass")
    return ok


def _ask_rows(run: _Run) -> list[Verdict] | str:
    """What the database's rows say of each pending statement that validates them (lint's
    row checks, asked read-only: `guard.row_refusals`); the line saying why none was
    asked where the database could not be asked."""
    import psycopg

    from dbsafe.guard.row_refusals import probe_rows
    from dbsafe.pg.connect import connect, one_line

    checks = run.row_checks if isinstance(run.row_checks, list) else []
    if not checks:
        return []
    try:
        with connect(run.url) as conn:
            return probe_rows(conn, checks, lock_timeout=run.options.lock_timeout)
    except psycopg.Error as exc:
        return f"rows: not checked: {one_line(exc, run.url)}"


def _rows_accept(run: _Run, verdicts: list[Verdict] | str) -> bool:
    """No row the database holds refuses a pending statement validating rows (SET NOT NULL,
    a CHECK, a foreign key, a unique key): lint's copy had no rows to refuse it, and the
    upgrade would fail half way, the revisions before it applied. DBS615 otherwise;
    `--allow DBS615` makes it a note. `verdicts`: `_ask_rows`'."""
    from dbsafe.guard.row_refusals import ROWS_REFUSE, statement_locations, tell

    checks = run.row_checks if isinstance(run.row_checks, list) else []
    if isinstance(verdicts, str):
        run.say("preflight", verdicts)
        return True
    if not checks:
        return True
    allowed = ROWS_REFUSE.code in run.options.allow
    # Each refusal at its statement's op.* call (lint's `at`), as `lint --database-url` and
    # `plan` say it (it had no place: task 512); a `# dbsafe: ignore[DBS615]` there accepts
    # it, as the comment does lint's findings there: it refused the run all the same.
    told, count = tell(verdicts, statement_locations(checks), run.settings.project_root,
                       allowed=allowed)
    for item in told:
        if item.line is not None:
            run.say("preflight", item.line)
        if item.finding is not None:
            run.findings.append(item.finding)
    run.say("preflight", count)
    return allowed or not any(item.finding is not None for item in told)


def _pending_not_linted(run: _Run, report: Report, not_linted: str) -> list[str]:
    """The pending revisions lint read nothing of (no statement linted, no DBS005 naming
    them); [] when the report does not list the revisions it linted (an older cache)."""
    linted = report.summary.get("linted_revisions")
    if not isinstance(linted, list):
        return []
    named = {f.subject for f in report.findings if f.code == not_linted}
    return [r.revision for r in run.todo if r.revision not in linted and r.revision not in named]


def _disk_space(run: _Run) -> bool:
    short = backup_space_short(run.url, _backup_dir(run))
    if short is not None:
        run.findings.append(short)
    return short is None


def _backup_dir(run: _Run) -> Path:
    return run.backup_dir(run.options.backup_dir)


# -- backup ------------------------------------------------------------------------------------


def _backup(run: _Run) -> None:
    run.backup_file = backup_step(run.url, _backup_dir(run), run.start, run.say,
                                  jobs=run.options.backup_jobs, label="before-upgrade",
                                  lock_timeout=run.options.lock_timeout,
                                  retries=run.options.retries,
                                  retry_delay=run.options.retry_delay)


def backup_step(url: str, directory: Path, revisions: Sequence[str], say: Progress, *,
                jobs: int = 1, label: str = "backup", lock_timeout: str, retries: int,
                retry_delay: float) -> str:
    """Take and verify a backup before anything is applied, saying so; returns its path.
    pg_dump waits `lock_timeout` for each table's lock, retried as a revision is.

    Raises:
        DbsafeError: no backup was taken; the message says nothing was applied.
    """
    from dbsafe.guard.backup import take_backup

    say("backup", "pg_dump …")
    try:
        backup = take_backup(url, directory, revisions=tuple(revisions), jobs=jobs,
                             label=label, lock_timeout=lock_timeout, retries=retries,
                             retry_delay=retry_delay, progress=say)
    except DbsafeError as exc:
        # Said here, since the run stops on it: a DBA must not wonder what ran.
        raise DbsafeError(f"the backup failed, so nothing was applied: {exc}") from None
    say("backup", f"{backup.path} ({backup.size_bytes // 1024} KiB, verified, "
        f"{backup.seconds:.1f}s)")
    return str(backup.path)


def _read_rows(run: _Run, only: Sequence[str] | None = None, *, step: str = "rows",
               changes: object = None) -> tuple[Rows, Choice | None]:
    """Each application table's rows counted and checksummed (`guard.rows`): those the
    pending revisions may change (`guard.row_tables`, from lint's `changes`), or of `only`
    (the tables read before the upgrade, after its way back); as `waited` reads: a table's
    ACCESS SHARE waits at most the run's lock timeout, and is retried.

    Raises:
        DatabaseError: as `waited`.
    """
    from dbsafe.guard.data_loss import counted
    from dbsafe.guard.row_tables import choose
    from dbsafe.guard.rows import Rows, read_rows

    def read(conn: Any) -> tuple[Rows, Choice | None]:
        if only is not None:
            return read_rows(conn, only), None
        choice = choose(conn, changes, [r.revision for r in run.todo])
        if choice.tables == ():
            return Rows({}, {}), choice
        return read_rows(conn, choice.tables), choice

    return waited(run, lambda: counted(run.url, run.options.lock_timeout, read,
                                       "could not count the tables' rows"),
                  step=step, stops=NOTHING_APPLIED if only is None else "")


def _rows_before(run: _Run) -> Rows:
    """The rows before the first revision that the pending revisions may change, which the
    way back compares with, said with what reading them cost."""
    began = time.perf_counter()
    rows, choice = _read_rows(run, changes=run.row_changes)
    assert choice is not None
    if choice.tables == ():
        run.say("rows", f"rows before the upgrade: {choice.why}: none read")
        return rows
    which = choice.why if choice.tables is not None else f"every table ({choice.why})"
    # A step of its own: it read `backup:` with `--no-backup` too (task 407)
    run.say("rows", f"rows before the upgrade: {which}: {len(rows.tables)} table(s), "
            f"{rows.total():,} row(s) counted and checksummed in "
            f"{time.perf_counter() - began:.1f}s"
            + (f"; {len(rows.not_read)} over the read budget not read" if rows.not_read
               else ""))
    return rows


# -- apply -------------------------------------------------------------------------------------


def _apply_all(run: _Run) -> bool:
    assert run.session is not None
    with BlockerWatch(run.url, APPLICATION_NAME, lock_timeout=run.options.lock_timeout) as watch:
        run.blockers = watch
        for index, revision in enumerate(run.todo):
            # The schema before the first revision was just taken (run.before), under the lock.
            with revision_in_flight(run, run.before if index == 0 else None) as (at, before):
                if not _attempts(run, revision, run.session, before, at,
                                 continues=index > 0):
                    return False
            run.applied.append(revision)
            run.show_applied()
    return True


@contextlib.contextmanager
def revision_in_flight(run: RunState, before: SchemaSnapshot | None = None
                       ) -> Iterator[tuple[tuple[str, ...], SchemaSnapshot]]:
    """While a revision is applied (`upgrade`, `downgrade`): the revisions the database is
    at and its schema (`before`, else taken now), recorded as a checkpoint a killed run is
    repaired against, and kept on the run. Left there if the revision is interrupted:
    `record_interrupted` removes what it left. The schema is read as `read_schema` does."""
    if run.lock is not None and run.lock.confirm():
        run.say("apply", "the session holding the run lock was ended; the lock is held again")
    if before is None:
        before = read_schema(run)
    at = current_revisions(run.url)
    if run.run_id is not None:
        history.checkpoint(run.url, run.run_id, at, before.to_json())
    run.in_flight = (at, before)
    yield at, before
    run.in_flight = None


def _attempts(run: _Run, revision: Revision, session: ApplySession, before: SchemaSnapshot,
              at: tuple[str, ...], *, continues: bool) -> bool:
    """Apply `revision`, retried after a lock timeout or deadlock. After the run's first
    revision each `continues` the alembic command of the one before (`ApplySession.apply`),
    as `alembic upgrade` runs them all in one: an ENUM an earlier revision's
    `op.create_table()` made is not created again."""
    attempts = run.options.retries + 1
    for attempt in range(1, attempts + 1):
        run.say("apply", f"{revision.revision} {revision.doc}".rstrip()
                + (f" (attempt {attempt}/{attempts})" if attempt > 1 else ""))
        if run.blockers is not None:
            run.blockers.forget()
        began = time.perf_counter()
        run.position = None  # in flight: a failure is the revision's
        later = run.todo[len(run.applied) + 1:]
        try:
            applied(run, session.apply([("upgrade", revision.revision)], continues=continues,
                                       verify=False), f"{revision.revision} was applied",
                    later[0].revision if later else "", "the upgrade")
        except MigrationError as exc:
            holders = run.lock_holders(exc.sqlstate)
            blocked = f"; {blocked_by(holders)}" if holders else ""
            now = revisions_after(run, exc)
            if now != at and revision.revision in now:
                # Committed and recorded, then found wrong: what it made is the revision's
                # own, and the way back downgrades it rather than removing it behind
                # alembic's back (which left it recorded, its tables gone).
                run.findings.append(Finding(
                    REVISION_FAILED.code, f"Revision `{revision.revision}` is recorded as "
                    f"applied, but the run failed after it: {exc}", Severity.ERROR,
                    subject=revision.revision))
                run.say("apply", f"{revision.revision} failed after it was recorded: {exc}")
                run.applied.append(revision)
                return False
            removed, kept = remove_failed_attempt(run, before,
                                                  lock_timeout=run.options.lock_timeout)
            committed = data_changes(exc.committed)
            if committed:
                run.say("apply", f"{revision.revision}: the failed attempt committed row "
                        f"changes before it failed, which stay: {shortened(committed[0], 80)}"
                        + (f" and {len(committed) - 1} more" if len(committed) > 1 else ""))
            if exc.sqlstate in RETRYABLE and attempt < attempts and not committed:
                delay = backoff(run.options.retry_delay, attempt)
                run.say("apply", f"{revision.revision}: {exc}{blocked} — retrying in {delay:.1f}s")
                time.sleep(delay)
                if cleared_for_retry(run, before, kept, lock_timeout=run.options.lock_timeout):
                    continue
            restore = run.restore_command()
            run.findings.append(Finding(
                REVISION_FAILED.code, f"Revision `{revision.revision}` failed: {exc}",
                Severity.ERROR, subject=revision.revision,
                context=(("Attempts", str(attempt)),) + (
                    (("Blocked by", "\n".join(h.describe() for h in holders)),) if holders
                    else ()) + (
                    (("Removed leftovers", ", ".join(removed)),) if removed else ()) + (
                    (("Committed before it failed", "\n".join(committed)),) if committed
                    else ()),
                # Run again, they would be applied twice (a backfill, a counter).
                help=(f"The revision's autocommit_block() committed these row changes, so it "
                      f"was not retried; check them before running it again ({restore})"
                      if committed else None),
            ))
            run.say("apply", f"{revision.revision} failed: {exc}{blocked}")
            return False
        run.say("apply", f"{revision.revision} applied in {time.perf_counter() - began:.1f}s")
        return True
    return False


def applied(run: RunState, result: RunResult, done: str, following: str, verifying: str
            ) -> None:
    """`done` ("0001 was applied") committed: the run's position, then the version table
    read (`verify_applied`). Next comes `following` (a revision), or, none left, the run
    verifies `verifying` ("the upgrade")."""
    after = f"after {done} " + (f"(before {following})" if following
                                else f"(while verifying {verifying})")
    run.position = (after, tuple(sorted(result.expected or ())))
    run.position = (after, verify_applied(run.url, result))


def revisions_after(run: RunState, exc: MigrationError, failed: str = "") -> tuple[str, ...]:
    """The revisions the database is at once a revision (of `failed`: the rollback) failed
    with `exc`, which names it.

    Raises:
        DbsafeError: the server cannot be reached (stopped, restarting, failed over: what
            ended the revision too). The error says what failed and what to do next; it used
            to be only `could not connect to ...; check the URL`, which read as a wrong URL
            and left unsaid that a revision was cut off half way.
    """
    try:
        return current_revisions(run.url)
    except DbsafeError as lost:
        raise DbsafeError(
            f"{f'{failed} failed: ' if failed else ''}{exc}; then the server could not be "
            f"reached to see what it left: {lost}. Once the server is back, `dbsafe status` says which revision the "
            "database is at and the next `dbsafe upgrade` removes what was left half way"
        ) from None


def remove_failed_attempt(run: RunState, before: SchemaSnapshot, *, lock_timeout: str,
                          step: str = "apply") -> tuple[list[str], list[str]]:
    """What a failed attempt left next to `before` (the INVALID index of a failed
    `CONCURRENTLY` build, what its `autocommit_block()` committed) removed, and said; returns
    what was removed and what could not be. Its DROPs take the locks the attempt took: they
    queue the table's writers no longer than an attempt does (`lock_timeout`), and the
    schema is read as `read_schema` does."""
    removed, kept = remove_leftovers(run.url, before, lock_timeout=lock_timeout,
                                     read=functools.partial(read_schema, run, step=step))
    if removed:
        run.say(step, f"removed what the failed attempt left: {', '.join(removed)}")
    if kept:
        run.say(step, f"could not remove what the failed attempt left: {', '.join(kept)}")
    return removed, kept


def cleared_for_retry(run: RunState, before: SchemaSnapshot, kept: Sequence[str], *,
                      lock_timeout: str, step: str = "apply") -> bool:
    """Whether a retry starts clean: what the failed attempt left and could not be removed
    (`kept`: a session in a transaction on the table outlasted `lock_timeout`) is removed
    after the backoff, else the retry is not made; it would only fail on it (the INVALID
    index: 42P07, relation already exists) and hide the real failure."""
    if not kept or not remove_failed_attempt(run, before, lock_timeout=lock_timeout,
                                             step=step)[1]:
        return True
    run.say(step, "not retried: what the failed attempt left is still there")
    return False


def wait_to_retry(run: RunState, failure: str, sqlstate: str | None, attempt: int,
                  attempts: int, retry_delay: float, *, step: str,
                  holders: tuple[Blocker, ...] | None = None) -> None:
    """Say that `failure` (a lock timeout or deadlock) is retried, naming the sessions that
    held the lock (`holders`, else those `run.blockers` saw) and where the database is, and
    wait the backoff."""
    if holders is None:
        holders = run.lock_holders(sqlstate)
    delay = backoff(retry_delay, attempt)
    run.say(step, failure + (f"; {blocked_by(holders)}" if holders else "")
            + f" — retrying in {delay:.1f}s (attempt {attempt + 1}/{attempts}; "
            f"at {', '.join(current_revisions(run.url)) or 'base'})")
    time.sleep(delay)


def read_schema(run: RunState, *, step: str = "apply", stops: str = "") -> SchemaSnapshot:
    """The database's schema during a run (`user_snapshot`: the checkpoint before each
    revision, what a failed attempt left, the schema verified after the way back), read as
    `waited` reads. pg_get_viewdef takes ACCESS SHARE on every relation a view reads: behind
    a `LOCK TABLE` left open, VACUUM FULL or a plain REFRESH MATERIALIZED VIEW the read
    waited the 60 s statement timeout, once, and stopped the run.

    Raises:
        DatabaseError: as `waited`.
    """
    return waited(run, lambda: user_snapshot(run.url, lock_timeout=run.waits.lock_timeout),
                  step=step, stops=stops)


def waited(run: RunState, read: Callable[[], _T], *, step: str, stops: str = "") -> _T:
    """`read()` (a read of the database outside the revisions: the schema, lint's and
    validate's, the expectations', the rows a downgrade destroys), which waits
    for a lock at most the run's lock timeout (its callers set it: `run.waits`,
    `reading_settings`), tried again after a backoff as a revision is, each retry naming the
    sessions holding the lock: a `BlockerWatch` looks at the run's own sessions that wait
    (the URL's `application_name`, else dbsafe's, and validate's confirming session) while
    it reads. Given up, the failure
    names them, and `stops` says what that leaves (the preflight's: nothing was applied).

    Raises:
        DatabaseError: the last attempt's lock timeout or deadlock, naming the holders, or
            a failure not worth another (as it came).
    """
    from dbsafe.pg.connect import url_params
    from dbsafe.validate.confirm import APPLICATION_NAME as CONFIRMING

    waits = run.waits
    attempts = waits.retries + 1
    name = url_params(run.url).get("application_name") or "dbsafe"
    with BlockerWatch(run.url, name, lock_timeout=waits.lock_timeout or "5s",
                      also=(CONFIRMING,)) as watch:
        for attempt in range(1, attempts + 1):
            watch.forget()
            try:
                return read()
            except DatabaseError as exc:
                if exc.sqlstate not in RETRYABLE:
                    raise
                # The message of a view's read names its holders already (introspect_url).
                holders = tuple(h for h in watch.seen() if f"pid {h.pid} " not in str(exc))
                if attempt == attempts:
                    error = DatabaseError(
                        str(exc) + (f"; {blocked_by(holders)}" if holders else "") + stops)
                    error.sqlstate = exc.sqlstate
                    raise error from None
                wait_to_retry(run, str(exc), exc.sqlstate, attempt, attempts,
                              waits.retry_delay, step=step, holders=holders)
    raise AssertionError("unreachable")


# What a preflight read given up on leaves, said with its failure (`waited`).
NOTHING_APPLIED = "; nothing was applied"


def unverified(reached: str, against: str) -> str:
    """What a verify read given up on leaves, said with its failure (`waited`'s `stops`): the
    database is where the run took it (`reached`), its schema not compared with `against`.

    >>> unverified("rolled back to 0004", "the one before the upgrade")
    '; rolled back to 0004, the schema was not verified against the one before the upgrade'
    """
    return f"; {reached}, the schema was not verified against {against}"


def unrecorded(reached: str) -> str:
    """What the closing read given up on leaves, said with its failure: the run went through
    (`reached`), its end recorded in dbsafe.history without the schema it left.

    >>> unrecorded("downgraded, the database is at 0004")
    '; downgraded, the database is at 0004; its end was recorded without the schema'
    """
    return f"; {reached}; its end was recorded without the schema"


def record_end(run: RunState, outcome: str, now: Sequence[str],
               record: Callable[[str | None, str], None]) -> None:
    """The closing read (`done`): `record(snapshot, message)` writes the run's end with the
    schema it left. Given up on behind a held lock, the end is recorded without it (else the
    run stayed `running`, for the next upgrade to call interrupted) and the failure says
    where the database is; the verify before it, if any, already compared the schema.

    Raises:
        DatabaseError: as `waited`, ending with `unrecorded`.
    """
    where = f"{outcome}, the database is at {', '.join(now) or 'base'}"
    try:
        snapshot = read_schema(run, step="done", stops=unrecorded(where))
    except DatabaseError as exc:
        record(None, f"{history.story_message(run.story)}; {exc}")
        raise
    record(snapshot.to_json(), history.story_message(run.story))


def _stops(step: str) -> str:
    """What a read given up on in `step` leaves, said with its failure."""
    if step == "preflight":
        return NOTHING_APPLIED
    if step == "postflight":
        return "; the revisions are applied, the postflight was not completed"
    return ""


def reading_settings(run: RunState) -> Settings:
    """The project's settings for the reads a run makes through the commands (lint, validate,
    the checks) on its database: their statements wait for a lock at most the run's lock
    timeout, their reads of the schema too (`waited` retries them)."""
    from dataclasses import replace

    timeout = run.waits.lock_timeout
    if timeout is None:
        return run.settings
    return replace(run.settings, lock_timeout=timeout, schema_lock_timeout=timeout)


def downgrade_in_steps(run: RunState, session: ApplySession, start: tuple[str, ...],
                       undo: Sequence[Revision], target: str, *, retries: int,
                       retry_delay: float, lock_timeout: str, step: str = "apply"
                       ) -> RunResult:
    """`alembic downgrade TARGET` from `start` (`dbsafe downgrade`, and the way back after a
    failed upgrade), one revision at a time where the revisions undone (`undo`, newest
    first) are one line, each checkpointed (`revision_in_flight`) and sent again after a
    lock timeout or deadlock with backoff, as `upgrade` retries: the failed revision's
    transaction rolled back, so the database is at the revision above it. Not where it
    committed part of itself first (an `autocommit_block()`): sent again, it would run that
    twice. Each retry names the sessions holding the lock (`run.blockers`). A failed
    attempt that was not recorded has what it left removed first (`remove_failed_attempt`),
    as `upgrade` does: a `CREATE INDEX CONCURRENTLY` cut by a lock timeout leaves its index
    INVALID, and the retry's build of it failed (42P07, relation already exists).

    Raises:
        MigrationError: the last attempt's failure, or one not worth another.
    """
    attempts = retries + 1
    result: RunResult | None = None
    steps = _steps(start, undo, target)
    # One revision per step: each said as it starts and ends, as `upgrade` says them (eight
    # of Prefect's took 24 s with no line, a hung one not told from a slow one).
    one_by_one = len(steps) == len(undo)
    for index, below in enumerate(steps):
        began = time.perf_counter()
        if one_by_one:
            run.say(step, f"undoing {undo[index].revision} {undo[index].doc}".rstrip())
        with revision_in_flight(run) as (at, before):
            for attempt in range(1, attempts + 1):
                if run.blockers is not None:
                    run.blockers.forget()
                run.position = None  # in flight: a failure is the revision's
                try:
                    # One `alembic downgrade TARGET` command, sent a revision at a time.
                    result = session.apply([("downgrade", below)], continues=index > 0,
                                           verify=False)
                    following = steps[index + 1:]
                    applied(run, result, f"the downgrade to {below}",
                            f"the downgrade to {following[0]}" if following else "",
                            "the downgrade")
                    break
                except MigrationError as exc:
                    kept: list[str] = []
                    if revisions_after(run, exc) == at:  # else it is the revision's own
                        kept = remove_failed_attempt(run, before, lock_timeout=lock_timeout,
                                                     step=step)[1]
                    if exc.sqlstate not in RETRYABLE or attempt == attempts or exc.committed:
                        raise
                    wait_to_retry(run, str(exc), exc.sqlstate, attempt, attempts, retry_delay,
                                  step=step)
                    if not cleared_for_retry(run, before, kept, lock_timeout=lock_timeout,
                                             step=step):
                        raise
        if one_by_one:
            run.say(step, f"{undo[index].revision} undone in {time.perf_counter() - began:.1f}s")
            if step == "apply":  # `dbsafe downgrade`'s live view lists the revisions undone
                run.show_revisions([r.revision for r in undo], index + 1)
    assert result is not None
    return result


def _steps(start: tuple[str, ...], undo: Sequence[Revision], target: str) -> list[str]:
    """The revision below each one undone, newest first, when they are one line down to
    TARGET (then a failure names, and a retry repeats, one revision only); else TARGET."""
    steps: list[str] = []
    at = start
    for revision in undo:
        below = revision.down_revision
        if at != (revision.revision,) or not (below is None or isinstance(below, str)):
            return [target]
        steps.append(below or "base")
        at = (below,) if below else ()
    return steps if steps and steps[-1] == target else [target]


# Statements whose changes to rows removing what a failed attempt left cannot undo, whatever
# they run (a DO block, a procedure); what any other runs over rows, `lint.row_changes.Runs`.
_ROW_CHANGES = frozenset({"DoStmt", "CallStmt"})
# Functions writing no table (PostgreSQL's own: `sum()`, `lower()`, `set_config()`; not one
# running a query it is given), which a query may call without changing a row.
_WRITING_NO_TABLE = (VOLATILE_FUNCTIONS | NOT_VOLATILE_FUNCTIONS | frozenset({
    "count", "sum", "min", "max", "avg", "string_agg", "array_agg", "jsonb_agg", "json_agg",
    "bool_and", "bool_or", "coalesce", "greatest", "least", "nullif"})) - RUNS_QUERIES


def data_changes(statements: Sequence[str]) -> list[str]:
    """The statements among `statements` that change rows (or may: one PostgreSQL's
    parser rejects, a `DO` block, a procedure), as `lint.row_changes.Runs` reads what each
    runs: one writing a table (a data-modifying CTE's too; `EXPLAIN ANALYZE` of an UPDATE,
    `EXECUTE` of a prepared one), or calling a function that may write one (a `CREATE TABLE
    AS` over it, a database's materialized view refreshed); not `EXPLAIN UPDATE`, which only
    plans it.

    >>> data_changes(["CREATE TABLE t (n int)", "UPDATE t SET n = n + 1",
    ...               "WITH d AS (DELETE FROM t RETURNING 1) SELECT count(*) FROM d",
    ...               "EXPLAIN UPDATE t SET n = 1", "CREATE TABLE u AS SELECT f()",
    ...               "CREATE TABLE v AS SELECT count(*) FROM t"])
    ['UPDATE t SET n = n + 1', 'WITH d AS (DELETE FROM t RETURNING 1) SELECT count(*) FROM d', \
'CREATE TABLE u AS SELECT f()']
    """
    from dbsafe.lint.row_changes import DATA_KINDS, Runs, written_tables
    from dbsafe.lint.statement import ParseFailure, parse_statements

    runs = Runs()  # (in order: an EXECUTE runs what a PREPARE before it holds)
    found = []
    for sql in statements:
        changes = False
        for parsed in parse_statements(sql):
            if isinstance(parsed, ParseFailure) or parsed[0] in _ROW_CHANGES:
                changes = True
                continue
            kind, node = parsed
            run = runs.of_parsed(kind, node)
            if run is None:
                continue
            if kind in DATA_KINDS:  # (the tables it names it may only read)
                writes = [name for name, _ in written_tables(kind, node)]
            elif kind in ("CreateTableAsStmt", "RefreshMatViewStmt"):
                writes = list(run.tables[1:])  # (not the relation it fills)
            else:  # (EXECUTE of a SELECT reads what it names)
                writes = [] if run.select else list(run.tables)
            changes |= run.unknown is not None or bool(run.views) or bool(writes) or any(
                name.removeprefix("pg_catalog.") not in _WRITING_NO_TABLE for name in run.calls)
        if changes:
            found.append(sql)
    return found


# -- postflight --------------------------------------------------------------------------------


def _postflight(run: _Run) -> bool:
    problems = _postflight_problems(run, run.url, step="postflight", say_unseen=True)
    new = {p: f for p, f in problems.items() if p not in run.known_problems}
    for finding in new.values():
        run.findings.append(finding)
    if run.options.validate_app:
        new_validate = [f for f in _app_errors(run, step="postflight")
                        if _app_error_key(f) not in run.known_app_errors]
        new_validate = _not_waiting_for_later_revisions(run, new_validate)
        run.findings.extend(new_validate)
        new.update({(f.code, f.subject): f for f in new_validate})
    if new:
        run.say("postflight", f"{len(new)} problem(s) after the upgrade")
        return False
    run.say("postflight", "indexes valid, materialized views refreshable, checks pass")
    return True


def _statistics(run: _Run) -> None:
    """Name each table whose new expression indexes or extended statistics have no
    statistics yet, with the ANALYZE to run (DBS616); with --analyze, run it, under the
    run's timeouts (a failure is said and leaves the note: the upgrade itself succeeded)."""
    found = unanalysed(run.url, run.statistics_before, lock_timeout=run.options.lock_timeout)
    missing = [table for table in found if not table.unreadable]
    for table in missing:
        run.say("postflight", f"note: {table.describe()}: {table.analyze}")
    # What the role may not read is said, neither noted nor analysed: dbsafe cannot tell.
    for table in found:
        if table.unreadable:
            run.say("postflight", table.describe())
    if not run.options.analyze:
        run.findings.extend(statistics_missing(table) for table in missing)
        return
    for table, seconds, failure in analyze(
            run.url, missing, statement_timeout=run.options.statement_timeout,
            lock_timeout=run.options.lock_timeout, application_name=APPLICATION_NAME):
        if failure:
            run.say("analyze", f"warning: {table.analyze} failed: {failure}")
            run.findings.append(statistics_missing(table, failure))
        else:
            run.say("analyze", f"{table.analyze} ({seconds:.1f}s)")
            run.analyzed.append(table.table)


def _postflight_problems(run: _Run, url: str, *, step: str, say_unseen: bool = False,
                         ) -> dict[tuple[str, str | None], Finding]:
    """Errors of the postflight checks (the built-in ones in POSTFLIGHT_CHECKS and every
    project check) and of the schema expectations, on the database as it is now; with
    `say_unseen`, what a check could not look at is said (a pass it is not). Their
    statements wait for a lock at most the run's lock timeout (`reading_settings`) and are
    retried (`_check_results`), as the expectations' read of the schema is (`waited`);
    before anything is applied (`step` "preflight"), a give-up says nothing was."""
    from dbsafe.checks import builtin_checks, project_checks

    if run.checks is None:
        builtin = {c.code for c in builtin_checks()}
        run.checks = tuple(c for c in project_checks(run.settings)
                           if c.code in POSTFLIGHT_CHECKS or c.code not in builtin)
    results = _check_results(run, url, run.checks, step=step)
    if say_unseen:
        for line in (line for result in results for line in result.not_checked_lines()):
            run.say("postflight", f"warning: {line}")
    findings = [f for result in results for f in result.findings]
    findings += waited(run, lambda: _expectations(run, url), step=step,
                       stops=_stops(step))
    return {(f.code, f.subject): f for f in findings if f.severity is Severity.ERROR}


def _check_results(run: RunState, url: str, checks: Sequence[Check], *, step: str
                   ) -> list[CheckResult]:
    """`checks` run on the database as it is now, as `waited` reads: a check whose
    statement was cut by the lock timeout or a deadlock has no result yet (its DBS004
    "could not run" was a problem the upgrade made, and in the postflight started the way
    back because another session held a table for a moment): it is run again after the
    backoff, the checks that ran keeping their results, and given up on as any read is.

    Raises:
        DatabaseError: as `waited`: a check still cut after the last attempt, named.
    """
    from dbsafe.checks import connect
    from dbsafe.checks import run as run_checks

    settings = reading_settings(run)
    results: list[CheckResult | None] = [None] * len(checks)

    def attempt() -> list[CheckResult]:
        todo = [i for i, result in enumerate(results) if result is None]
        with connect(url) as conn:
            ran = run_checks(conn, [checks[i] for i in todo], settings, conninfo=url)
        cut = None
        for i, result in zip(todo, ran):
            if result.sqlstate in RETRYABLE:
                cut = cut or result
            else:
                results[i] = result
        if cut is not None:
            error = DatabaseError(f"could not run check {cut.check.code} {cut.check.name}: "
                                  f"{cut.server_message or cut.error}")
            error.sqlstate = cut.sqlstate
            raise error
        return [result for result in results if result is not None]

    return waited(run, attempt, step=step, stops=_stops(step))


def _expectations(run: _Run, url: str) -> list[Finding]:
    from dbsafe.checks import check_expectations

    return list(check_expectations(url, settings=reading_settings(run)))


def _app_errors(run: _Run, *, step: str) -> list[Finding]:
    """The errors `dbsafe validate` finds in the application's queries against the
    database as it is now, its reads waiting for a lock as the run's do and retried
    (`waited`); before anything is applied (`step` "preflight"), a give-up says nothing was."""
    from dataclasses import replace

    if not any((run.settings.project_root / p).exists() for p in run.settings.source_paths):
        return []
    settings = replace(reading_settings(run), database_url=run.url, schema_source="database")
    report = waited(run, lambda: run.verbs.validate(settings), step=step,
                    stops=_stops(step))
    return [f for f in report.findings if f.severity is Severity.ERROR]


def _not_waiting_for_later_revisions(run: _Run, errors: list[Finding]) -> list[Finding]:
    """`errors` (the application's queries failing after an upgrade that stops short of the
    heads) but those that pass on the schema at the heads: the application beside the
    migrations is the heads' one, so a query reading what a revision after the target makes
    fails at the target, and the upgrade is not why. Open-Assistant upgraded from empty to
    0964ac95170d was rolled back over three queries of its application (`task` has no
    column `skipped`, which 9e7ec4a9e3f2 adds later). A query failing at the heads too
    counts, and so does every one where the heads' schema cannot be had (said)."""
    from dataclasses import replace

    later = pending(run.revisions, run.target, run.heads)
    if not errors or not later:
        return errors
    heads = ", ".join(run.heads)
    settings = replace(reading_settings(run), database_url=None, schema_source="migrations")
    try:
        at_heads = run.verbs.validate(settings)
    except DbsafeError as exc:
        run.say("postflight", f"cannot tell whether the application's queries failing at "
                f"{', '.join(run.target)} pass at the heads ({heads}): {exc}")
        return errors
    failing = {_app_error_place(f) for f in at_heads.findings if f.severity is Severity.ERROR}
    waiting = [f for f in errors if _app_error_place(f) not in failing]
    if waiting:
        places = "; ".join(f"{_describe_place(f)} ({f.message})" for f in waiting[:5])
        more = f"; and {len(waiting) - 5} more" if len(waiting) > 5 else ""
        run.say("postflight", f"{len(waiting)} of the application's queries fail at "
                f"{', '.join(run.target)} and pass at the heads ({heads}): they read what "
                f"the {len(later)} revision(s) after it make, so they are not counted: "
                f"{places}{more}")
    return [f for f in errors if _app_error_place(f) in failing]


def _app_error_place(finding: Finding) -> tuple[object, ...]:
    loc = finding.location
    return (loc.path, loc.line, loc.column) if loc else (finding.code, finding.message)


def _describe_place(finding: Finding) -> str:
    loc = finding.location
    return f"{loc.path}:{loc.line}" if loc else (finding.subject or finding.code)


def _app_error_key(finding: Finding) -> tuple[object, ...]:
    """What makes an application query's error the same before and after the upgrade:
    the query's place and the error itself (a query failing for another reason after it,
    `no relation` become `no column`, is new)."""
    loc = finding.location
    return (finding.code, finding.message, loc.path if loc else None, loc.line if loc else None,
            loc.column if loc else None)


# -- the way back ------------------------------------------------------------------------------


def _way_back(run: _Run) -> str:
    restore_hint, replace_hint = _restore_hints(run)
    if not run.applied:
        run.as_before = _as_before(run, restore_hint)
        return "failed"
    if not run.options.auto_rollback:
        run.say("way back", f"--no-auto-rollback: left at {', '.join(current_revisions(run.url))}; "
                f"to go back: dbsafe downgrade {_start_name(run)}, or {replace_hint}")
        return "failed"
    irreversible = [r.revision for r in run.applied
                    if downgrade_problem(r.path, schema_kept=r.revision in run.schema_kept)]
    if irreversible:
        # Where the database stopped, and both ways on from there: `dbsafe restore FILE`
        # alone makes a copy next to it, which takes nothing back.
        now = ", ".join(current_revisions(run.url)) or "base"
        back = (f"to go back to {_start_name(run)}: {run.restore_command(replace=True)}"
                if run.backup_file else "no backup was taken (--no-backup)")
        run.say("way back", f"cannot roll back automatically ({', '.join(irreversible)} "
                f"without a downgrade): the database is at {now}, {len(run.applied)} of "
                f"{len(run.todo)} revision(s) applied; to go on, fix what failed and run "
                f"`dbsafe upgrade` again; {back}")
        return "failed"
    run.say("way back", f"downgrading to {_start_name(run)}")
    # As `dbsafe downgrade` goes: one revision at a time, each retried after a lock timeout
    # or deadlock (its transaction rolled back: the database is at the revision above it),
    # the sessions holding the lock named. Given up, the database is where the last
    # revision undone left it, and the failure says where that is.
    try:
        with ApplySession(run.project, run.url,
                          session={"lock_timeout": run.options.lock_timeout,
                                   "statement_timeout": run.options.statement_timeout,
                                   "application_name": ROLLBACK_APPLICATION_NAME,
                                   **ABANDONED_STATEMENTS_STOP}) as session, \
                BlockerWatch(run.url, ROLLBACK_APPLICATION_NAME,
                             lock_timeout=run.options.lock_timeout) as watch:
            run.session, run.blockers = session, watch
            rolled = downgrade_in_steps(
                run, session, current_revisions(run.url), run.applied[::-1],
                _start_name(run), retries=run.options.retries,
                retry_delay=run.options.retry_delay, lock_timeout=run.options.lock_timeout,
                step="way back")
    except MigrationError as exc:
        run.in_flight = None  # a failure, reported as one: no interruption to clean up after
        holders = run.lock_holders(exc.sqlstate)
        now = ", ".join(revisions_after(run, exc, "the rollback")) or "base"
        run.findings.append(Finding(
            REVISION_FAILED.code, f"The rollback failed: {exc}; the database is at {now}",
            Severity.ERROR,
            context=(("Blocked by", "\n".join(h.describe() for h in holders)),) if holders
            else (),
            help=f"The backup taken before the upgrade restores the database: {replace_hint}"))
        run.say("way back", f"rollback failed: {exc}"
                + (f"; {blocked_by(holders)}" if holders else "")
                + f"; the database is at {now}; to restore: {replace_hint}")
        return "failed"
    finally:
        run.session = run.blockers = None
    # The version table a first deploy created stays, empty, after alembic goes back to base.
    # Its read given up on (exit 2), the database is back where it started, unverified.
    verified = read_schema(run, step="way back",
                           stops=unverified(f"rolled back to {_start_name(run)}",
                                            "the one before the upgrade"))
    differences, reordered = _differences(run.before, verified,
                                          version_table=rolled.version_table,
                                          expected_name=f"{_start_name(run)}'s schema")
    rows_equal = _rows_after_way_back(run, restore_hint)
    if differences:
        # Each difference reads "(as the database is -> as it was)", and says so, as the
        # downgrade's DBS603 does; the schema before was read from the database (recorded).
        start = _start_name(run)
        run.findings.append(Finding(
            ROLLBACK_MISMATCH.code,
            f"After the rollback to {start}, the schema differs from the one recorded before "
            "the upgrade.",
            Severity.ERROR, context=((f"Differences (the database -> {start}'s schema)",
                                      "\n".join(differences)),),
            help=f"Fix the revisions' downgrade(); the backup is {restore_hint}"))
        run.say("way back", f"rolled back to {_start_name(run)}, but the schema differs "
                "from before the upgrade")
        return "failed"
    run.say("way back", f"rolled back to {_start_name(run)}; schema verified equal to "
            "before the upgrade" + (f" (column order differs: {'; '.join(reordered)})"
                                    if reordered else ""))
    kept = [r.revision for r in run.applied if r.revision in run.schema_kept
            and downgrade_problem(r.path) is not None]
    if kept and rows_equal and run.rows_before is not None:
        # The rows compared are as before (Prefect's c8d5f2a71b3e only rebuilds an index):
        # "the rows it changed stay" contradicted the line above. A table the capture of a
        # copy without rows saw no write to may still hold its changes.
        one = len(kept) == 1
        run.say("way back", f"{', '.join(kept)}: downgrade() empty; rows "
                f"{'it' if one else 'they'} changed in tables not compared above would stay "
                f"as {'it' if one else 'they'} left them; as they were before: "
                f"{restore_hint}")
    elif kept:
        one = len(kept) == 1
        run.say("way back", f"the rows {', '.join(kept)} changed stay as "
                f"{'it' if one else 'they'} left them ({'its' if one else 'their'} "
                f"downgrade() is empty); as they were before: {restore_hint}")
    run.applied = []
    return "rolled back"


def _restore_hints(run: _Run) -> tuple[str, str]:
    """The commands that restore the backup taken before the run: into a copy beside the
    database (the rows a table had, to read back), and over the database itself
    (`--replace`: all of it as it was, with what it holds now backed up first)."""
    return run.restore_command(), run.restore_command(replace=True)


def _as_before(run: _Run, restore_hint: str) -> bool:
    """The first revision failed, nothing applied: is the database as before the upgrade
    (at the revision it started from, its schema and the rows read before equal)? Its
    transaction rolled back and what it left was removed, but an `autocommit_block()` may
    have committed rows, or a leftover a session held may stay: "failed" alone did not tell
    "nothing changed" from "stopped half-way"."""
    replace_hint = _restore_hints(run)[1]
    now = current_revisions(run.url)
    where = ", ".join(now) or "base"
    if tuple(now) != tuple(run.start):
        run.say("way back", f"no revision was applied, but the database is at {where}, "
                f"not {_start_name(run)}: not as before the upgrade; to restore: {replace_hint}")
        return False
    verified = read_schema(run, step="way back", stops=unverified(
        f"no revision was applied, the database is at {where}", "the one before the upgrade"))
    differences, _ = _differences(run.before, verified,
                                  expected_name="the schema before the upgrade")
    rows_equal = _rows_after_way_back(run, restore_hint)
    if differences or rows_equal is False:
        run.say("way back", "no revision was applied, but the database is not as before "
                "the upgrade: " + ("; ".join(differences[:3]) if differences
                                   else "rows differ (above)")
                + f"; to restore: {replace_hint}")
        return False
    run.say("way back", f"no revision was applied: the database is as before the upgrade "
            f"(at {where}, schema verified equal"
            + (", rows compared" if rows_equal and run.rows_before is not None
               and run.rows_before.tables else "") + ")")
    return True


def _rows_after_way_back(run: _Run, restore_hint: str) -> bool | None:
    """Compare each table's rows with those before the upgrade (`guard.rows`): what the
    revisions changed in them and their downgrade() did not undo is DBS614, naming the
    backup that holds them as they were. A read given up on is said; the rollback stands.
    False when rows differ, None when they could not be read."""
    from dbsafe.guard.rows import differences, left_changed, not_compared

    before = run.rows_before
    if before is None or not (before.tables or before.not_read):
        return True  # no table before the upgrade: no rows to bring back
    try:
        after, _ = _read_rows(run, list(before.tables), step="way back")
    except DatabaseError as exc:
        run.say("way back", f"the rows were not compared with those before the upgrade: {exc}")
        return None
    changed = differences(before, after)
    unread = not_compared(before, after)
    if changed:
        run.findings.append(left_changed(_start_name(run), changed, unread, run.backup_file))
        run.say("way back", f"rows differ from before the upgrade in {len(changed)} table(s): "
                + "; ".join(changed[:3])
                + (f"; and {len(changed) - 3} more" if len(changed) > 3 else "")
                + f"; as they were: {restore_hint}")
    else:
        run.say("way back", f"the rows of {len(after.tables)} table(s) are as before the "
                "upgrade (count and checksum)")
    if unread:
        run.say("way back", f"rows not compared (over the read budget): {', '.join(unread)}")
    return not changed


def _differences(expected: SchemaSnapshot | None, actual: SchemaSnapshot, *,
                 version_table: str = "alembic_version", built: bool = False,
                 expected_name: str = "the target") -> tuple[list[str], list[str]]:
    """What differs from `expected`, and (apart) tables whose columns only moved: a column
    dropped and added back comes last, which PostgreSQL cannot undo and queries by name
    do not notice.

    dbsafe's own schema and alembic's version table are bookkeeping, not the schema. An
    `expected` schema `built` from the migrations on a throwaway server has everything
    owned by that server's superuser, and only the grants the migrations give: owners and
    grants are not compared then (a DBA's grants to an application role are no drift).
    An object on one side only is said to be "only in the database" or "only in
    {expected_name}" (mealie's pg_trgm, left by a downgrade, read "only in the source").
    """
    from dbsafe.schema.diff import REORDER, diff

    if expected is None:
        return [], []
    changes = diff(actual, expected, comparison_options(version_table, built))
    return ([c.describe("the database", expected_name) for c in changes
             if c.action != REORDER],
            [c.describe() for c in changes if c.action == REORDER])


def comparison_options(version_table: str = "alembic_version", built: bool = False) -> DiffOptions:
    """How a guarded run compares a database with a schema it expects (`_differences`)."""
    from dbsafe.schema.diff import DiffOptions

    return DiffOptions(ignore_schemas=frozenset({"dbsafe"}),
                       ignore_kinds=frozenset({"owner", "grant"}) if built else frozenset(),
                       ignore_names=(f"*.{version_table}",))


def _start_name(run: _Run) -> str:
    if not run.start:
        return "base"
    return run.start[0] if len(run.start) == 1 else ",".join(run.start)


def _record(run: _Run, outcome: str) -> None:
    import hashlib

    assert run.run_id is not None
    run_id = run.run_id
    assert run_id is not None
    now = current_revisions(run.url)

    def finish(text: str | None, message: str) -> None:
        history.finish(
            run.url, run_id, outcome=outcome, to_revisions=now,
            checksums={r.revision: applied_checksum(r.path) for r in run.applied},
            message=message, backup_file=run.backup_file,
            schema_fingerprint=hashlib.sha256(text.encode()).hexdigest()[:16] if text else None,
            snapshot=text,
        )

    record_end(run, outcome, now, finish)

"""`dbsafe downgrade TARGET`: the way back, checked before it is needed.

Same preflight, lock, timeouts and history as `upgrade`. Before anything runs it reports
the data the downgrade would destroy (tables and columns, with row and non-null counts: see
`dbsafe.guard.data_loss`), and refuses unless confirmed. A revision whose
`downgrade()` is missing or empty is named before starting; the downgrade computed from the
snapshots (`dbsafe diff --sql` from now to TARGET) is shown with `--dry-run` and applied with
`--use-computed`. Afterwards the schema is compared with TARGET's snapshot.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from dbsafe.core import (
    DbsafeError,
    Finding,
    Report,
    RuleInfo,
    Severity,
    first_line,
    shortened,
)
from dbsafe.guard import history
from dbsafe.guard.backup import backup_space_short
from dbsafe.guard.blockers import BlockerWatch, blocked_by
from dbsafe.guard.data_loss import (
    DATA_LOSS,
    Measured,
    Refused,
    attributed,
    counted,
    loss_after_failure,
    loss_finding,
    measured,
    refused_rows,
    schema_losses,
    sql_losses,
    still_there,
)
from dbsafe.guard.downgrade_rows import ROWS_REFUSE_DOWNGRADE
from dbsafe.guard.leftovers import without_dbsafe
from dbsafe.guard.run import LockWaits, Progress, RunState
from dbsafe.guard.upgrade import (
    NOTHING_APPLIED,
    READING_REVISIONS,
    RETRYABLE,
    REVISION_FAILED,
    ROLLBACK_MISMATCH,
    _differences,
    cleared_for_retry,
    comparison_options,
    downgrade_in_steps,
    lock_timeout_beyond_limit,
    read_schema,
    record_end,
    record_interrupted,
    remove_failed_attempt,
    revision_in_flight,
    unverified,
    wait_to_retry,
    waited,
)
from dbsafe.migrate.revisions import (
    ancestors,
    check_target,
    downgrade_branches_on_offline_mode,
    downgrade_problem,
    find_downgrade,
    relative_target,
    tips,
    undone_by_downgrade,
)
from dbsafe.migrate.runner import (
    ABANDONED_STATEMENTS_STOP,
    AlembicProject,
    ApplySession,
    MigrationError,
    Revision,
    RunResult,
    current_revisions,
)
from dbsafe.pg.connect import connect, database_name
from dbsafe.pg.throwaway import scratch

if TYPE_CHECKING:
    import psycopg

    from dbsafe.config import Settings
    from dbsafe.guard.downgrade_rows import Read
    from dbsafe.guard.rows import Rows
    from dbsafe.schema.ddl import Statement
    from dbsafe.schema.model import SchemaSnapshot

_T = TypeVar("_T")


DOWNGRADE_MISSING = RuleInfo(
    "DBS608", "downgrade-not-implemented",
    "A revision on the way down has no real downgrade(); the computed one can replace it.",
    Severity.ERROR, "0.2.0")
UNDOES_OTHER_CHANGES = RuleInfo(
    "DBS609", "computed-downgrade-undoes-other-changes",
    "The database has changes its migrations did not make; the computed downgrade would "
    "undo them too.",
    Severity.ERROR, "0.2.0")
RULES = (DATA_LOSS, DOWNGRADE_MISSING, UNDOES_OTHER_CHANGES, ROWS_REFUSE_DOWNGRADE)

# Every connection env.py opens for the downgrade says so (and the lock-wait watch finds them).
APPLICATION_NAME = "dbsafe downgrade"

Confirm = Callable[[str], bool]


@dataclass(frozen=True, slots=True)
class DowngradeOptions:
    target: str
    lock_timeout: str = "5s"
    statement_timeout: str = "30min"
    retries: int = 5  # after a lock timeout or deadlock, as `upgrade` retries
    retry_delay: float = 1.0  # first backoff; doubles each attempt, with jitter, at most 60 s
    backup: bool = True
    backup_dir: Path = Path("backups")
    yes: bool = False  # the data-loss report is accepted
    dry_run: bool = False
    use_computed: bool = False


@dataclass(kw_only=True)
class _Down(RunState):
    """The state of one downgrade."""

    options: DowngradeOptions
    computed_sql: str | None = None
    # The downgrade's SQL rendered offline, each with its revision (`_downgrade_sql`), or
    # captured as it ran on a copy of the database's schema where it cannot be rendered
    rendered: list[tuple[str, str | None]] | None = None
    captured: bool = False  # `rendered` is the capture's: what the downgrade runs online
    # The revisions undone whose downgrade() asks whether it runs offline (read once, by
    # `_downgrade_sql`): their offline render is not what they run online
    branching: tuple[str, ...] = ()
    # The capture stopped at a revision that failed on the copy too: what it runs after that
    # is in no statement read (said, with the revision)
    cut_short: str | None = None
    computed: tuple[Statement, ...] = ()  # the statements computed_sql prints
    # The version table's revisions once TARGET is reached: TARGET, and another branch's
    # revisions, which alembic leaves where they are
    after: tuple[str, ...] = ()
    expected_built: bool = False  # TARGET's schema was built from the migrations, not recorded
    undo: tuple[Revision, ...] = ()  # the revisions undone, newest first
    revisions: tuple[Revision, ...] = ()  # the whole history's
    losses: list[Measured] = field(default_factory=list)  # the data-loss report's
    # Schemas built from the migrations, by revisions: one is asked for more than once (the
    # start's, to judge an empty downgrade and to look for changes made by hand), and each
    # build replays the history on a throwaway server
    built: dict[tuple[str, ...], SchemaSnapshot] = field(default_factory=dict)
    # The child that describes the history for the preflight, renders the downgrade offline
    # (`_downgrade_sql`), then applies it (`_apply`): one Python with alembic, SQLAlchemy,
    # the history and the project's models loaded, not three.
    child: ApplySession | None = None


def downgrade(settings: Settings, database_url: str, options: DowngradeOptions,
              progress: Progress = lambda step, message: None,
              confirm: Confirm | None = None) -> Report:
    """Downgrade to `options.target`, guarded. `confirm(question)` asks a human (a TTY);
    without it and without `options.yes`, a downgrade that destroys data is refused."""
    from dbsafe.guard.lock import run_lock
    from dbsafe.guard.upgrade import preflight_connection
    from dbsafe.migrate.fingerprint import script_locations

    down = _Down(settings=settings, url=database_url, progress=progress,
                 project=AlembicProject.from_settings(settings), options=options,
                 waits=LockWaits(options.lock_timeout, options.retries, options.retry_delay))
    # An alembic.ini alembic cannot read is said before the database is asked anything, as
    # upgrade says it (it was said after "connected to ...").
    script_locations(down.project.ini)
    down.say("preflight", READING_REVISIONS)
    down.child = ApplySession(down.project, database_url, session=_session_settings(options))
    down.child.start()
    try:
        described = down.child.described
        # A name the scripts do not hold is said before the database is asked anything.
        check_target(described.revisions, described.heads, options.target)
        preflight_connection(database_url, down.say)
        with run_lock(database_url) as down.lock:
            outcome = _locked(down, described, confirm)
    finally:
        down.child.close()
    summary = {
        "outcome": outcome, "from": list(down.start), "to": list(down.target),
        "backup": down.backup_file, "what_happened": down.story,
        "computed_sql": down.computed_sql,
        "elapsed_seconds": down.elapsed(),
    }
    return Report(tuple(down.findings), summary)


def _locked(down: _Down, described: RunResult, confirm: Confirm | None) -> str:
    down.revisions = described.revisions
    down.start = current_revisions(down.url)
    if down.options.target == "base":
        down.target = ()
    else:
        down.target = tuple(relative_target(described.revisions, described.heads, down.start,
                                            down.options.target))
    below = ancestors(described.revisions, down.start)
    ahead = [t for t in down.target if t not in below]
    if ahead:
        raise DbsafeError(
            f"{', '.join(ahead)} is not at or below the database's revision "
            f"({', '.join(down.start) or 'base'}): a downgrade cannot reach it; `dbsafe "
            f"upgrade {ahead[0]}` goes there")
    undone = undone_by_downgrade(described.revisions, down.start, down.target)
    # what the version table holds afterwards: another branch's revisions stay
    down.after = tips(described.revisions, below - undone)
    if not undone:
        down.say("preflight", f"already at {', '.join(down.start) or 'base'}: nothing to do")
        return "up to date"
    revisions = [r for r in described.revisions if r.revision in undone]  # newest first
    down.undo = tuple(revisions)
    down.say("preflight", f"{len(revisions)} revision(s) to undo: "
             + ", ".join(r.revision for r in revisions))
    beyond = lock_timeout_beyond_limit(down.options.lock_timeout,
                                       down.settings.lock_timeout_limit)
    if beyond is not None:
        down.say("preflight", beyond)
    undo_names = [r.revision for r in revisions]
    down.show_revisions(undo_names, 0)

    expected, down.expected_built = _schema_at(down, down.after)
    current = read_schema(down, step="preflight", stops=NOTHING_APPLIED)
    missing = [(r.revision, problem) for r in revisions
               if (problem := downgrade_problem(r.path)) is not None
               and not _changes_no_schema(down, r)]
    others: list[str] = []
    if missing:
        down.computed = _computed(current, expected, built=down.expected_built)
        down.computed_sql = _rendered(down.computed)
        # Computed from the database as it is: whatever else changed since the migrations
        # made it (an index or a grant added by hand) would be undone with the revisions.
        at_start, start_built = _schema_at(down, down.start, quiet=True)
        others, _ = _differences(at_start, current, built=start_built,
                                 expected_name=f"{', '.join(down.start)}'s schema")
        if others:
            down.findings.append(Finding(
                UNDOES_OTHER_CHANGES.code,
                f"The database differs from the schema {', '.join(down.start)} gives: the "
                "computed downgrade would undo these changes too.",
                Severity.ERROR,
                help="Bring them into a revision (or undo them by hand) first, or write the "
                     "revisions' downgrade().",
                context=(("Not made by the migrations", "\n".join(others)),)))
        # One computed downgrade covers every revision on the way down: shown once, under
        # the newest, since six of cinder's revisions repeated its 22 lines six times.
        shown_under = missing[0][0]
        for revision, problem in missing:
            down.findings.append(Finding(
                DOWNGRADE_MISSING.code,
                f"Revision `{revision}`: {problem}; its downgrade would not restore "
                f"{'the previous schema'}.",
                Severity.WARNING if down.options.use_computed else Severity.ERROR,
                subject=revision,
                help="Review the computed downgrade (--dry-run) and apply it with "
                     "--use-computed, or write the revision's downgrade()."
                     + ("" if revision == shown_under else
                        f" The computed downgrade, from {', '.join(down.start)} to "
                        f"{', '.join(down.after) or 'base'} for every revision without one, "
                        f"is shown under `{shown_under}`."),
                context=(("Computed downgrade", down.computed_sql or "(none)"),)
                if revision == shown_under else (),
            ))
    failing: list[Refused] = []
    if missing and expected is not None:
        failing = waited(down, lambda: _counted(
            down, lambda conn: refused_rows(conn, current, expected),
            "could not count the rows the computed downgrade fails on"),
            step="preflight", stops=NOTHING_APPLIED)
        down.findings += [Finding(
            DOWNGRADE_MISSING.code,
            f"The computed downgrade fails on `{subject}`: {why}.", Severity.ERROR,
            subject=subject,
            help="Change those rows first (the computed downgrade is shown with --dry-run), "
                 "or write the revisions' downgrade().") for subject, why, _ in failing]
    losses = _data_loss(down, current, expected)
    for finding in losses:
        down.findings.append(finding)
    if losses:
        down.say("preflight", f"the downgrade destroys data in {len(losses)} place(s)")
    # (after `_data_loss`, which renders the downgrade's SQL)
    rows_refuse = not missing and expected is not None and _rows_refuse(down, current,
                                                                        expected)
    short = (backup_space_short(down.url, down.backup_dir(down.options.backup_dir))
             if down.options.backup else None)
    if short is not None:
        down.findings.append(short)
    if down.options.dry_run:
        down.say("plan", "dry run: nothing was executed")
        return "planned"
    if missing and not down.options.use_computed:
        down.say("preflight", "refused: revisions without a real downgrade (see findings)")
        return "refused"
    if failing:
        down.say("preflight", "refused: the computed downgrade would fail on rows the "
                 "database holds (see findings); nothing was run")
        return "refused"
    if rows_refuse:
        down.say("preflight", "refused: the downgrade would fail on rows the database holds "
                 "(see findings); nothing was run")
        return "refused"
    if others:
        down.say("preflight", "refused: the computed downgrade would also undo changes the "
                 "migrations did not make (see findings)")
        return "refused"
    if short is not None:
        down.say("preflight", "refused: no room for the backup (see findings)")
        return "refused"
    if losses and not down.options.yes:
        database = database_name(down.url)
        if confirm is None or not confirm(database):
            down.say("preflight", "refused: the data-loss report was not confirmed "
                     "(pass --yes, or type the database name at the prompt)")
            return "refused"

    down.run_id = history.start(down.url, "downgrade", down.start)
    try:
        if down.options.backup:
            from dbsafe.guard.upgrade import backup_step

            down.backup_file = backup_step(down.url, down.backup_dir(down.options.backup_dir),
                                           down.start, down.say, label="before-downgrade",
                                           lock_timeout=down.options.lock_timeout,
                                           retries=down.options.retries,
                                           retry_delay=down.options.retry_delay)
        kept = _rows_kept(down, current, expected)
        outcome = _apply(down, expected, use_computed=bool(missing))
        if outcome == "downgraded":
            down.show_revisions(undo_names, len(undo_names))
            if kept is not None:
                _rows_changed(down, *kept)
    except BaseException as exc:
        # Interrupted mid-revision (Ctrl-C, SIGTERM), as upgrade is: what the revision
        # left is removed and the history says so.
        raised = record_interrupted(down, exc, lock_timeout=down.options.lock_timeout)
        if raised is exc:
            raise
        raise raised from None
    run_id = down.run_id
    assert run_id is not None
    now = current_revisions(down.url)
    record_end(down, outcome, now, lambda snapshot, message: history.finish(
        down.url, run_id, outcome=outcome, to_revisions=now, message=message,
        backup_file=down.backup_file, snapshot=snapshot))
    return outcome


def _session_settings(options: DowngradeOptions) -> dict[str, str]:
    """What every connection the downgrade's env.py opens is set to."""
    return {"lock_timeout": options.lock_timeout, "statement_timeout": options.statement_timeout,
            "application_name": APPLICATION_NAME, **ABANDONED_STATEMENTS_STOP}


def _apply(down: _Down, expected: SchemaSnapshot | None, *, use_computed: bool) -> str:
    target = ",".join(down.target) or "base"
    try:
        if use_computed:
            _run_computed(down)
            down.say("apply", f"computed downgrade applied; stamped {target}")
        else:
            # The preflight's child, which described the history (`downgrade`); stopped
            # before the schema is verified, as a session of its own was.
            assert down.child is not None
            with contextlib.closing(down.child) as s, \
                    BlockerWatch(down.url, APPLICATION_NAME,
                                 lock_timeout=down.options.lock_timeout) as watch:
                down.session, down.blockers = s, watch
                downgrade_in_steps(down, s, down.start, down.undo, target,
                                   retries=down.options.retries,
                                   retry_delay=down.options.retry_delay,
                                   lock_timeout=down.options.lock_timeout)
            down.say("apply", f"downgraded to {target}")
    except (MigrationError, DbsafeError) as exc:
        down.in_flight = None  # a failure, reported as one: no interruption to clean up after
        holders = down.lock_holders(getattr(exc, "sqlstate", None))
        # The revisions undone before the one that failed stay undone (each step commits):
        # the database may be neither where it started nor at the target.
        now = _revisions_now(down.url)
        where = f"; the database is at {now}" if now is not None else ""
        down.findings.append(Finding(REVISION_FAILED.code, f"The downgrade failed: {exc}{where}",
                                     Severity.ERROR,
                                     # (`--replace`: without it, `restore` makes a copy
                                     # beside the database and takes nothing back)
                                     help="The backup puts the database back as it was "
                                          "before the downgrade: "
                                          f"{down.restore_command(replace=True)}"
                                     if down.backup_file else None,
                                     context=(("Blocked by", "\n".join(
                                         h.describe() for h in holders)),) if holders else ()))
        down.say("apply", f"failed: {exc}" + (f"; {blocked_by(holders)}" if holders else "")
                 + where)
        _losses_after_failure(down, now, use_computed=use_computed)
        return "failed"
    if expected is None:
        down.say("verify", f"no snapshot of {target} to compare with")
        return "downgraded"
    whence = "built from the migrations" if down.expected_built else "recorded"
    # Given up on (exit 2), the database is at TARGET, unverified: said as the way back of
    # `upgrade` says it.
    verified = read_schema(down, step="verify", stops=unverified(
        f"downgraded to {target}", f"the one {whence} at {target}"))
    differences, reordered = _differences(expected, verified, built=down.expected_built,
                                          expected_name=f"{target}'s schema")
    if differences:
        # Each difference reads "(as the database is -> as it should be)", the way `dbsafe
        # diff DATABASE TARGET` says it: without saying so, a downgrade that kept a
        # revision's ON DELETE CASCADE (zou's d7a3e5b1c9f2, on purpose) read as one that
        # had lost it.
        down.findings.append(Finding(
            ROLLBACK_MISMATCH.code,
            f"After the downgrade, the schema differs from the one {whence} at {target}.",
            Severity.ERROR, context=((f"Differences (the database -> {target}'s schema)",
                                      "\n".join(differences)),)))
        down.say("verify", f"the schema differs from {target}'s")
        return "failed"
    down.say("verify", f"schema equals {target}'s"
             + (f" (column order differs: {'; '.join(reordered)})" if reordered else ""))
    return "downgraded"


def _rows_kept(down: _Down, current: SchemaSnapshot, expected: SchemaSnapshot | None
               ) -> tuple[Rows, dict[str, set[str]]] | None:
    """The rows of the tables the downgrade keeps, on the columns it keeps (what it drops
    is DBS607 already), counted and checksummed before it runs (`guard.rows`); with the
    columns, by table, it adds back, which the read afterwards leaves out. A downgrade's own
    `UPDATE` is in no schema: CTFd's 24ad6790bc3c turned every vote (-1, 1) into 5 stars, and
    the downgrade said nothing. None without TARGET's schema."""
    from dbsafe.guard.row_tables import choose
    from dbsafe.guard.rows import read_rows
    from dbsafe.migrate.runner import find_version_table

    if expected is None:
        return None
    now, then = _columns(current), _columns(expected)
    version = find_version_table(down.url)
    tables = sorted((now.keys() & then.keys()) - {".".join(version or ())})
    changes = _row_changes(down)

    def read(conn: Any) -> Rows:
        # Only the kept tables its statements may change (`guard.row_tables`, as the
        # upgrade's), or every kept one when that cannot be told.
        choice = choose(conn, changes, [r.revision for r in down.undo],
                        which="the revisions undone")
        chosen = tables if choice.tables is None else sorted(set(tables) & set(choice.tables))
        # A step of its own: it read `backup:` with `--no-backup` too (task 407)
        down.say("rows", f"rows the downgrade may change: {choice.why}")
        return read_rows(conn, chosen, leave_out={t: now[t] - then[t] for t in chosen})

    rows = waited(down, lambda: _counted(down, read, "could not count the tables' rows"),
                  step="rows", stops=NOTHING_APPLIED)
    return rows, {t: then[t] - now[t] for t in tables}


def _rows_refuse(down: _Down, current: SchemaSnapshot, expected: SchemaSnapshot) -> bool:
    """Whether rows the database holds refuse the revisions' own downgrade (DBS617, each
    named): the schema it goes back to (those it may change first are said as "cannot
    tell"), and its own statements, asked as an upgrade's are (DBS615's probes). A column
    added back is said as its statements add it (`downgrade_rows.added_back`)."""
    from dbsafe.guard.downgrade_rows import added_back, cannot_tell, first_read, refusal_finding
    from dbsafe.lint.statement import parse_statement

    failing = waited(down, lambda: _counted(
        down, lambda conn: refused_rows(conn, current, expected),
        "could not count the rows the downgrade fails on"),
        step="preflight", stops=NOTHING_APPLIED)
    online_only = _online_only(down)
    statements = (None if down.rendered is None or online_only
                  else [parse_statement(sql) for sql, _revision in down.rendered])
    # Captured on a copy holding no rows: what a downgrade() does with rows it reads there
    # (a loop filling a column from another table) is in no statement read
    read = first_read(down.rendered) if down.captured and down.rendered else None
    refused: list[str] = []
    untold: list[str] = []
    # (the columns there now: one of TARGET's not among them is added back by the downgrade)
    columns = {f"{r.schema}.{r.name}.{c.name}" for r in current.relations for c in r.columns}
    for subject, why, rows in failing:
        unsure = (f"the downgrade() of {', '.join(online_only)} branches on "
                  "context.is_offline_mode(): what it runs online is not in its offline SQL"
                  if online_only else cannot_tell(subject, statements))
        if unsure is None and down.cut_short is not None:
            # (the statements read end where it failed: one after it may change the rows)
            unsure = down.cut_short
        if unsure is None and read is not None:
            unsure = read.why
        if unsure is not None:
            down.say("preflight", f"rows: {subject}: {why}: cannot tell whether the "
                     f"downgrade fails on them ({unsure})")
            untold.append(subject)
            continue
        if rows is not None and down.rendered is not None:
            why = added_back(subject, rows, down.rendered) or why
        down.findings.append(refusal_finding(subject, why, added=subject not in columns))
        refused.append(subject)
    if statements is not None:
        return _statements_refused(down, refused, untold, read) or bool(refused)
    return bool(refused)


def _statements_refused(down: _Down, refused: list[str], untold: list[str],
                        read: Read | None = None) -> bool:
    """Whether rows refuse a statement of the downgrade's rendered SQL that validates them
    (`downgrade_rows.own_checks`): each refusal a DBS617, what cannot be told said; columns
    the schema's questions `refused` or left `untold` are left to them
    (`downgrade_rows.not_named`). Those after `read` (a captured statement reading rows
    the copy did not hold) are said, not asked."""
    from dbsafe.guard.downgrade_rows import not_named, own_checks, verdict_finding
    from dbsafe.guard.row_refusals import probe_rows

    rendered = down.rendered or []
    if read is not None and (after := own_checks(rendered[read.index:])):
        down.say("preflight", f"rows: {len(after)} statement(s) of the downgrade that "
                 f"validate rows are not asked of them (cannot tell): {read.why}")
    checks = own_checks(rendered[:read.index] if read is not None else rendered)
    if not checks:
        return False
    verdicts = not_named(waited(down, lambda: _counted(
        down, lambda conn: probe_rows(conn, checks, lock_timeout=down.options.lock_timeout),
        "could not ask the rows the downgrade's statements check"),
        step="preflight", stops=NOTHING_APPLIED), refused, untold)
    for verdict in verdicts:
        if verdict.outcome == "refused":
            down.findings.append(verdict_finding(verdict))
        elif verdict.outcome != "passes":
            down.say("preflight", verdict.line())
    return any(v.outcome == "refused" for v in verdicts)


def _row_changes(down: _Down) -> dict[str, object]:
    """What the downgrade's statements may change (`lint.row_changes`), read from its SQL
    rendered offline (or the computed downgrade's); `unknown` when there is none to read."""
    from dbsafe.lint.row_changes import RowChanges
    from dbsafe.lint.statement import parse_statement

    revisions = [r.revision for r in down.undo]
    rendered: list[tuple[str, str | None]]
    if down.computed:  # (dbsafe's own DDL, for every revision undone)
        rendered = [(statement.sql, revision) for statement in down.computed
                    for revision in revisions[:1]]
    elif down.cut_short is not None:
        return {"unknown": down.cut_short}
    elif down.rendered is not None:
        online_only = _online_only(down)
        if online_only:
            # Rendered offline, such a downgrade() shows only its offline branch: an
            # `if not context.is_offline_mode():` block's UPDATE is in no statement read.
            return {"unknown": f"the downgrade() of {', '.join(online_only)} branches on "
                               "context.is_offline_mode(), so what it runs online is not in "
                               "its offline render"}
        rendered = down.rendered  # (a chunk of no revision is alembic's version table's)
    else:
        # Said so: the line read `lint did not say which tables the revisions change`,
        # of a downgrade no lint looks at (fractal-server's env.py renders nothing offline).
        return {"unknown": "its SQL could not be rendered offline (above), so every table it "
                           "keeps is compared"}
    changes = RowChanges()
    for revision in revisions:
        changes.add(revision, [parse_statement(sql) for sql, of in rendered if of == revision])
    return changes.summary()


def _online_only(down: _Down) -> list[str]:
    """The revisions undone whose downgrade() branches on `context.is_offline_mode()`, when
    the SQL read is the offline render's (the capture ran them online)."""
    if down.captured:
        return []
    return list(down.branching)


def _rows_changed(down: _Down, before: Rows, added: dict[str, set[str]]) -> None:
    """Say which kept tables hold other rows after the downgrade than before it, and the
    backup that has them as they were. A read given up on is said; the downgrade stands."""
    from dbsafe.guard.rows import differences, not_compared, read_rows

    if not before.tables and not before.not_read:
        return  # none it may change was read (said in the backup step)
    try:
        after = waited(down, lambda: _counted(down, lambda conn: read_rows(
            conn, list(before.tables), leave_out=added), "could not count the tables' rows"),
            step="verify", stops="")
    except DbsafeError as exc:
        down.say("verify", f"the rows were not compared with those before the downgrade: {exc}")
        return
    changed = differences(before, after)
    if changed:
        down.say("verify", f"the downgrade changed the rows of {len(changed)} table(s) it "
                 "keeps: " + "; ".join(changed) + "; as they were: " + (
                     down.restore_command()))
    else:
        down.say("verify", f"the rows of {len(after.tables)} table(s) it keeps are as before "
                 "(count and checksum)")
    unread = not_compared(before, after)
    if unread:
        down.say("verify", f"rows not compared (over the read budget): {', '.join(unread)}")


def _columns(snapshot: SchemaSnapshot) -> dict[str, set[str]]:
    """Each table's column names, by `schema.table`."""
    return {f"{r.schema}.{r.name}": {c.name for c in r.columns}
            for r in snapshot.relations if r.kind in ("table", "partitioned_table")}


def _losses_after_failure(down: _Down, now: str | None, *, use_computed: bool) -> None:
    """Word each DBS607 of a downgrade that failed part-way by what became of its data: the
    revisions undone before the failure stay undone (each commits), the others did not run.
    A loss whose revision the downgrade's SQL names is judged by that revision (a column
    dropped and added back under its name exists, its values gone); one read from the
    schemas only, or of a computed downgrade (whose statements are not the revisions'), by
    whether its table or column exists now. Left as they were when nothing can be read."""
    import psycopg

    if not down.losses or now is None:
        return
    try:
        undone = None if use_computed else (
            {r.revision for r in down.undo}
            - ancestors(down.revisions, current_revisions(down.url)))
        with connect(down.url) as conn:
            there = {m.loss.subject: still_there(conn, m.loss) for m in down.losses}
    except (psycopg.Error, DbsafeError):
        return

    def ran(found: Measured) -> bool | None:
        if undone is not None and found.loss.revision is not None:
            return found.loss.revision in undone
        if found.loss.how == "drops":
            return not there[found.loss.subject]
        return None  # emptied, by a statement of no known revision: nothing shows it

    reworded = {m.loss.subject: loss_after_failure(m, ran(m), stopped_at=now,
                                                   backup=down.backup_file,
                                                   restore_command=down.restore_command())
                for m in down.losses}
    down.findings = [reworded.get(f.subject or "", f) if f.code == DATA_LOSS.code else f
                     for f in down.findings]


def _revisions_now(url: str) -> str | None:
    """The revisions the database's version table holds now ("base" for none), as a failure
    says them; None where it cannot be read (the server gone with the failure)."""
    import psycopg

    try:
        return ", ".join(current_revisions(url)) or "base"
    except psycopg.Error:
        return None


def _schema_at(down: _Down, revisions: tuple[str, ...], *,
               quiet: bool = False) -> tuple[SchemaSnapshot | None, bool]:
    """The schema at `revisions`: as recorded when the database was last there, else built
    from the migrations on a throwaway server (True: built; its owners are that server's),
    or read from the cache of such a build (`sources.migrations_snapshot_at`: keyed by the
    migration files, alembic.ini, `setup-sql`, ...; `--no-cache` builds it again)."""
    import json

    from dbsafe.schema.model import SchemaSnapshot
    from dbsafe.sources import migrations_snapshot_at

    shown = ",".join(revisions) or "base"
    recorded = history.snapshot_at(down.url, revisions)
    if recorded is not None:
        if not quiet:
            down.say("preflight", f"comparing with the schema recorded at {shown}")
        return SchemaSnapshot.from_dict(json.loads(recorded)), False
    if not revisions:
        return None, False
    if revisions not in down.built:
        try:
            snapshot, cached = migrations_snapshot_at(
                down.settings, down.project, shown, building=lambda: down.say(
                    "preflight", f"building {shown}'s schema from the migrations"))
        except MigrationError as exc:
            raise _unbuildable(shown, exc) from None
        if cached and not quiet:
            down.say("preflight", "comparing with the schema built from the migrations at "
                     f"{shown} (cached)")
        down.built[revisions] = without_dbsafe(snapshot)
    return down.built[revisions], True


def _unbuildable(shown: str, error: MigrationError) -> MigrationError:
    """Why the downgrade cannot be checked: its target's schema is recorded nowhere and the
    migrations cannot build it. Bare, the error names a revision long applied, with no word
    of why dbsafe ran it (mlflow's first revision alters tables its `create_all` makes)."""
    hint = ("; the history alters tables made outside it (an application's `create_all`, "
            "say): name the SQL that makes them in `setup-sql`, or upgrade with dbsafe, which "
            "records the schema of each revision it passes") if error.sqlstate == "42P01" else ""
    error.args = (f"the downgrade is checked against {shown}'s schema, which no run of dbsafe "
                  "recorded on this database, and building it from the migrations on an empty "
                  f"database failed: {error}{hint}",)
    return error


def _changes_no_schema(down: _Down, revision: Revision) -> bool:
    """Is `revision`'s empty downgrade() a way back: its schema is the schema before it
    (both as recorded or built from the migrations), so it changes rows only (a data
    migration, ihatemoney's)? Said when so: the rows it changed stay."""
    try:
        empty = revision.path is not None and find_downgrade(revision.path).kind == "empty"
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        empty = False
    if not empty or revision.down_revision is None:
        return False
    parents = ((revision.down_revision,) if isinstance(revision.down_revision, str)
               else tuple(revision.down_revision))
    before, before_built = _schema_at(down, parents, quiet=True)
    after, after_built = _schema_at(down, (revision.revision,), quiet=True)
    if before is None or after is None or \
            _differences(before, after, built=before_built or after_built)[0]:
        return False
    down.say("preflight", f"{revision.revision} changes no schema: its empty downgrade() "
             "takes the schema back (the rows it changed stay)")
    return True


def _computed(current: SchemaSnapshot, expected: SchemaSnapshot | None, *,
              built: bool) -> tuple[Statement, ...]:
    from dbsafe.schema.ddl import plan
    from dbsafe.schema.diff import diff

    if expected is None:
        return ()
    # Never ownership handed to a throwaway server's superuser, a DBA's grants revoked, nor
    # the version table dropped (`comparison_options`).
    changes = diff(current, expected, comparison_options(built=built))
    return plan(current, expected, changes)


def _rendered(statements: tuple[Statement, ...]) -> str | None:
    from dbsafe.schema.ddl import render_sql

    return render_sql(statements).text if statements else None


def _run_computed(down: _Down) -> None:
    """Run the computed downgrade and stamp TARGET, on dbsafe's own connection.

    Where every statement can run in a transaction, they and the version table's new rows
    are one transaction: a failure or an interrupt (the statement is cancelled, the
    connection closed) rolls all of it back, and the database stays at its revision. A
    `CONCURRENTLY` statement cannot run in one: then each run of the other statements is a
    transaction of its own and each `CONCURRENTLY` statement runs alone, the stamp in the
    last transaction; what committed before a failure or an interrupt stays, and is said.
    A statement PostgreSQL runs CONCURRENTLY waits for locks as it does in `upgrade`
    (`concurrent_timeouts`: an index build waiting for a report's older snapshot holds up
    no one). A transaction or statement that hit a lock timeout or deadlock is run again
    with backoff (`--retries`), as `downgrade_in_steps` sends a revision again; a failed
    `CONCURRENTLY` statement has what it left (its INVALID index) removed first, and also
    when it is not retried. The whole is checkpointed as a revision is
    (`revision_in_flight`): interrupted, what is new next to the schema before it (a
    cancelled build's INVALID index) is removed.

    Raises:
        DbsafeError: a statement failed (its transaction rolled back).
    """
    import psycopg

    from dbsafe.migrate._child import concurrent_timeouts
    from dbsafe.migrate.runner import find_version_table
    from dbsafe.pg.connect import one_line

    statements = down.computed
    if not statements:
        raise DbsafeError("no computed downgrade is available")
    table = find_version_table(down.url)
    if table is None:
        raise DbsafeError("the database has no alembic version table to stamp")
    # (transactional, statements): consecutive transactional statements share one
    groups: list[tuple[bool, list[str]]] = []
    for statement in statements:
        if statement.transactional and groups and groups[-1][0]:
            groups[-1][1].append(statement.sql)
        else:
            groups.append((statement.transactional, [statement.sql]))
    if not groups[-1][0]:
        groups.append((True, []))
    one = len(groups) == 1
    done = 0  # statements committed
    at = 0  # the statement running (an index of `statements`; len(statements): the stamp)
    timeouts = {"lock_timeout": down.options.lock_timeout,
                "statement_timeout": down.options.statement_timeout}
    attempts = down.options.retries + 1
    with revision_in_flight(down) as (_, before), \
            BlockerWatch(down.url, APPLICATION_NAME,
                         lock_timeout=down.options.lock_timeout) as watch:
        down.blockers = watch
        conn = connect(down.url, application_name=APPLICATION_NAME)
        try:
            _set(conn, [*timeouts.items(), ("check_function_bodies", "off"),
                        *ABANDONED_STATEMENTS_STOP.items()])
            for index, (transactional, group) in enumerate(groups):
                # What a failed CONCURRENTLY statement leaves is new next to this schema.
                ahead = before if transactional or not done else read_schema(down)
                for attempt in range(1, attempts + 1):
                    watch.forget()
                    try:
                        at = done
                        if transactional:
                            conn.execute("BEGIN")
                            for position, sql in enumerate(group):
                                at = done + position
                                conn.execute(sql)
                            if index == len(groups) - 1:
                                at = len(statements)
                                _stamp(conn, table, down.after)
                            conn.execute("COMMIT")
                        else:
                            _run_alone(conn, group[0], concurrent_timeouts(timeouts))
                        break
                    except psycopg.Error as exc:
                        kept: list[str] = []
                        if not transactional:  # also where its connection was ended
                            kept = remove_failed_attempt(
                                down, ahead, lock_timeout=down.options.lock_timeout)[1]
                        if conn.closed:
                            raise
                        if transactional:
                            with contextlib.suppress(psycopg.Error):
                                conn.execute("ROLLBACK")
                        if exc.sqlstate not in RETRYABLE or attempt == attempts:
                            raise
                        wait_to_retry(down, f"the computed downgrade's {_which(statements, at)}"
                                      f": {one_line(exc, down.url)}",
                                      exc.sqlstate, attempt, attempts,
                                      down.options.retry_delay, step="apply")
                        if not cleared_for_retry(down, ahead, kept,
                                                 lock_timeout=down.options.lock_timeout):
                            raise
                done += len(group)
        except BaseException as exc:
            # Stop the statement now (a closed connection alone leaves it running to its
            # end, and a CONCURRENTLY build then completes); its transaction rolls back.
            with contextlib.suppress(Exception):
                conn.cancel_safe(timeout=5)
            conn.close()
            committed = _committed_note(statements, done)
            if isinstance(exc, psycopg.Error):
                # The statement that failed: a transaction of several runs them one by
                # one, and the first of it (`done + 1`) was named for a failure of any.
                raise DbsafeError(
                    f"the computed downgrade failed at {_which(statements, at)}: "
                    f"{one_line(exc, down.url)}"
                    + ("; its transaction rolled back, nothing of it stays" if one
                       else f"; {committed}" + (" and stay" if done else ""))) from None
            if isinstance(exc, Exception):
                raise
            down.interrupted_note = ("the computed downgrade's transaction rolled back: "
                                     "nothing of it stays" if one else committed)
            down.say("apply", f"interrupted; {down.interrupted_note}")
            raise
        conn.close()


def _which(statements: tuple[Statement, ...], at: int) -> str:
    """The statement of the computed downgrade at index `at`, as its messages name it;
    `len(statements)`: the version table's stamp after them."""
    if at >= len(statements):
        return f"the version table's stamp after its {len(statements)} statements"
    return f"statement {at + 1} of {len(statements)} ({shortened(statements[at].sql, 80)})"


def _set(conn: psycopg.Connection[Any], settings: Sequence[tuple[str, str]]) -> None:
    """Set each (name, value) for the session."""
    for name, value in settings:
        conn.execute("SELECT pg_catalog.set_config(%s, %s, false)", (name, value))


def _run_alone(conn: psycopg.Connection[Any], sql: str,
               timeouts: tuple[list[tuple[str, str]], list[tuple[str, str]]]) -> None:
    """Run a statement that cannot run in a transaction block; one PostgreSQL runs
    CONCURRENTLY under `timeouts`' lifted settings, set back after it, also when it failed
    (an interrupt closes the connection instead)."""
    import psycopg

    from dbsafe.migrate._child import runs_concurrently

    lifted, restored = timeouts
    if not runs_concurrently(sql):
        conn.execute(sql)
        return
    _set(conn, lifted)
    try:
        conn.execute(sql)
    except psycopg.Error:
        with contextlib.suppress(psycopg.Error):
            _set(conn, restored)
        raise
    _set(conn, restored)


def _committed_note(statements: tuple[Statement, ...], done: int) -> str:
    """What of a computed downgrade run in several transactions had committed when it
    stopped."""
    if not done:
        return "none of its statements had committed"
    return (f"{done} of its {len(statements)} statements had committed "
            f"({'; '.join(shortened(s.sql, 60) for s in statements[:min(done, 3)])}"
            + (f"; and {done - 3} more" if done > 3 else "") + ")")


def _stamp(conn: psycopg.Connection[Any], table: tuple[str, str],
           after: tuple[str, ...]) -> None:
    """The version table holds `after` (what `alembic stamp` leaves), in `conn`'s
    transaction."""
    from psycopg import sql

    name = sql.Identifier(*table)
    conn.execute(sql.SQL("DELETE FROM {} WHERE version_num <> ALL (%s::text[])").format(name),
                 (list(after),))
    conn.execute(sql.SQL("INSERT INTO {0} (version_num) SELECT v FROM unnest(%s::text[]) v "
                         "WHERE v NOT IN (SELECT version_num FROM {0})").format(name),
                 (list(after),))


def _data_loss(down: _Down, current: SchemaSnapshot,
               expected: SchemaSnapshot | None) -> list[Finding]:
    """DBS607 for what the downgrade destroys: read from the schemas, and from its SQL when
    alembic can render it offline (see `dbsafe.guard.data_loss`). Counting a table's rows
    takes ACCESS SHARE on it: behind a session holding ACCESS EXCLUSIVE (a `LOCK TABLE`
    left open, VACUUM FULL) the count waits at most the run's lock timeout and is retried
    as the run's schema reads are (`waited`), naming the holder."""
    from dbsafe.migrate.runner import find_version_table

    losses = schema_losses(current, expected)
    rendered = down.rendered = _downgrade_sql(down)
    if rendered is not None:
        losses = attributed(losses, sql_losses([sql for sql, _ in rendered], current,
                                               [revision for _, revision in rendered]))
    # alembic's version table is its bookkeeping, not the application's data: `downgrade
    # base` empties it and keeps it (offline, it renders `DROP TABLE alembic_version`), and
    # base's recorded schema, taken before the first upgrade made it, has none.
    version = find_version_table(down.url)
    losses = [loss for loss in losses if (loss.schema, loss.table) != version]
    if not losses:
        return []
    down.losses = waited(down, lambda: _counted(down, lambda conn: measured(conn, losses),
                                                "could not count what the downgrade destroys"),
                         step="preflight", stops=NOTHING_APPLIED)
    return [loss_finding(found) for found in down.losses]


def _captured_sql(down: _Down, why: str, *, offline_next: bool = False,
                  lacks: str | None = None) -> list[tuple[str, str | None]] | None:
    """The downgrade's statements as it runs on a copy of the database's schema on a
    throwaway server (`guard.downgrade_capture`), where alembic's offline render cannot be
    read (`why`): an env.py that connects in any mode, a downgrade() that reads the
    database, one that branches on `context.is_offline_mode()` (`offline_next`: its
    offline render is read instead when the capture fails), one rendered with a statement
    PostgreSQL's parser refuses (`lacks`: what the offline render read instead lacks).
    None (said) when they cannot be captured."""
    from dbsafe.guard.downgrade_capture import NotCaptured, capture_downgrade

    down.say("preflight", f"{why}: running it on a copy of the database's schema on "
             f"{scratch(article='a')}")
    try:
        captured = capture_downgrade(down.project, down.url, down.start,
                                     down.target[0] if down.target else "base")
    except DbsafeError as exc:
        remedy = exc.remedy if isinstance(exc, NotCaptured) else None
        # Said with what it leaves unasked, and what to do about it: without the capture,
        # fractal's 23502 half way is not refused.
        down.say("preflight", (
            "the downgrade's SQL rendered offline is read instead, which lacks "
            + (lacks or f"what {', '.join(down.branching)} runs online only")
            + f": it could not be captured on a copy of the database's schema "
            f"({first_line(exc)})" if offline_next else
            "data loss read from the schemas only: the downgrade's SQL could not be rendered "
            f"offline, nor captured on a copy of the database's schema ({first_line(exc)}); "
            "no row is asked about its statements, so one failing on them half way is not "
            "refused") + (f"; {remedy}, for it to be captured" if remedy else ""))
        return None
    if captured.not_made:
        down.say("preflight", f"{len(captured.not_made)} object(s) of the database's schema "
                 f"could not be made on {scratch()}; a revision using one fails "
                 f"there: {'; '.join(captured.not_made[:5])}"
                 + (f"; and {len(captured.not_made) - 5} more"
                    if len(captured.not_made) > 5 else ""))
    down.captured = True
    if captured.failed is not None:
        down.cut_short = (f"the downgrade failed on the copy of the database's schema at "
                          f"{captured.failed_revision}, so what it runs after that is not known")
        down.say("preflight", "the downgrade fails on a copy of the database's schema too, "
                 f"with no rows: {captured.failed}; it would fail there on the database, "
                 f"the revisions before {captured.failed_revision} undone; the "
                 f"{len(captured.statements)} statement(s) it ran up to there are read")
    else:
        down.say("preflight", f"the downgrade ran on the copy: its {len(captured.statements)} "
                 "statement(s) are read as the offline SQL would be (the copy holds no rows: "
                 "a downgrade() branching on them may run otherwise here)")
    return [(sql, revision) for sql, revision in captured.statements]


def _refused_by_parser(chunks: Iterable[tuple[str, Any, Any]]) -> str | None:
    """The first statement of an offline render PostgreSQL's parser refuses (a bound
    parameter rendered as `%(name)s` or `:name` where env.py sets no `literal_binds`);
    None when every one parses."""
    from pglast import parse_sql, split
    from pglast.parser import ParseError

    for text, _file, _ in chunks:
        try:
            parse_sql(text)
        except ParseError:
            # (the scanner's split: it needs no statement to parse)
            return next((part for part in split(text, with_parser=False)
                         if not _parses(part)), text).strip()
    return None


def _parses(sql: str) -> bool:
    from pglast import parse_sql
    from pglast.parser import ParseError

    try:
        parse_sql(sql)
    except ParseError:
        return False
    return True


def _shortened(sql: str, limit: int = 80) -> str:
    flat = " ".join(sql.split()).rstrip(";")
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def _counted(down: _Down, count: Callable[[Any], _T], failure: str) -> _T:
    """`count(conn)` (the rows a downgrade destroys, or those its computed SQL fails on) on a
    session waiting for a lock at most the run's lock timeout (`data_loss.counted`)."""
    return counted(down.url, down.options.lock_timeout, count, failure)


def _downgrade_sql(down: _Down) -> list[tuple[str, str | None]] | None:
    """The downgrade's statements, rendered offline, each with the revision it is of (None:
    alembic's own, the version table's); None (said) when they cannot be. Where a
    downgrade() asks whether it runs offline (`context.is_offline_mode()`,
    `op.get_context().as_sql`), its offline render is not what it runs: the downgrade is
    captured as it runs on a copy of the database's schema, as one alembic cannot render
    is, and rendered offline only where that fails."""
    import os

    from dbsafe.migrate.runner import render_downgrade_offline

    down.branching = tuple(r.revision for r in down.undo
                           if downgrade_branches_on_offline_mode(r.path))
    if len(down.start) != 1 or len(down.target) > 1:
        down.say("preflight", "data loss read from the schemas only: alembic renders a "
                 "downgrade offline from one revision to one revision")
        return None
    # alembic fails on a revision with no downgrade() (an AttributeError on its module,
    # which the line said): name the revisions instead, and render nothing.
    without = [r.revision for r in down.undo
               if downgrade_problem(r.path) == "there is no downgrade()"]
    if without:
        down.say("preflight", "data loss read from the schemas only: alembic cannot render "
                 f"the downgrade offline, since {', '.join(without)} "
                 f"{'has' if len(without) == 1 else 'have'} no downgrade()")
        return None
    if down.branching:
        # (its online branch, with the schema it reads there: an `if not
        # context.is_offline_mode():` block's statements, a `_has_column()` answered)
        captured = _captured_sql(
            down, f"the downgrade() of {', '.join(down.branching)} branches on "
            "context.is_offline_mode(), so what it runs online is not what alembic renders "
            "offline", offline_next=True)
        if captured is not None:
            return captured
    try:
        # In the child that described the history and applies the downgrade (one Python
        # with alembic and the project's models loaded, not a second one)
        result = (down.child.render_downgrade(down.start[0],
                                              down.target[0] if down.target else None)
                  if down.child is not None else
                  render_downgrade_offline(down.project, down.start[0],
                                           down.target[0] if down.target else None))
    except DbsafeError as exc:
        if down.branching:  # (the capture was tried, and failed: said)
            down.say("preflight", "data loss read from the schemas only: the downgrade's SQL "
                     f"could not be rendered offline either ({first_line(exc)})")
            return None
        return _captured_sql(down, "the downgrade's SQL could not be rendered offline "
                             f"({first_line(exc)})")
    refused = None if down.branching else _refused_by_parser(result.chunks)
    if refused is not None:
        # (notifications-api's 0560 renders `%(organisation_id)s` without literal binds:
        # every row question after it said `cannot tell`, task 562)
        captured = _captured_sql(
            down, "the downgrade's SQL rendered offline holds a statement PostgreSQL's parser "
            f"refuses (`{_shortened(refused)}`), so what it changes is not read there",
            offline_next=True, lacks="what that statement changes")
        if captured is not None:
            return captured
    if down.branching:
        down.say("preflight", f"the downgrade() of {', '.join(down.branching)} branches on "
                 "context.is_offline_mode(): what it runs online only is not in the SQL "
                 "rendered offline (rows it deletes there are not in the data-loss report); "
                 "the rows of every table the downgrade keeps are compared instead")
    of_file = {os.path.realpath(r.path): r.revision for r in down.undo if r.path is not None}
    return [(text, of_file.get(file) if file else None) for text, file, _ in result.chunks]

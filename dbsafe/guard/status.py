"""`dbsafe status`: where a database stands against its migrations, and what dbsafe did to it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dbsafe.core import OWN_SCHEMA, DbsafeError, Finding, Report, Severity
from dbsafe.guard import history
from dbsafe.guard.upgrade import PENDING_REVISIONS, REVISION_CHANGED
from dbsafe.migrate.revisions import (
    ancestors,
    downgrade_problem,
    edited_since_applied,
    needs_capture,
    pending,
    short_checksum,
    way_back,
)
from dbsafe.migrate.runner import (
    AlembicProject,
    Revision,
    current_revisions,
    describe,
    find_version_table,
)

if TYPE_CHECKING:
    from dbsafe.config import Settings
    from dbsafe.extract.migration import Migration
    from dbsafe.guard.lock import Holder
    from dbsafe.sources import SqlFolder


def status(settings: Settings, database_url: str, *, fail_on_pending: bool = False,
           history_limit: int = 10) -> Report:
    """Current revision(s), heads, pending revisions, edited applied revisions, history."""
    from dbsafe.sources import SqlFolder, require_migrations, sql_migrations_folder

    folder = sql_migrations_folder(settings)
    if folder is not None:
        return _folder_status(SqlFolder.of(folder, settings), database_url,
                              fail_on_pending=fail_on_pending, settings=settings)
    require_migrations(settings, schema_source=False)
    described = describe(AlembicProject.from_settings(settings))
    current = current_revisions(database_url)
    if not current and find_version_table(database_url) is None:
        _require_empty(database_url, alembic=True)
    unknown = [r for r in current if r not in {x.revision for x in described.revisions}]
    if unknown:
        # Not "behind": nothing says how this history reaches it (upgrade refuses it too).
        raise DbsafeError(f"the database is at {', '.join(unknown)}, which is not in this "
                          "history (wrong alembic.ini, or migrations not yet deployed here)")
    todo = pending(described.revisions, current, described.heads)
    recorded = history.recorded_checksums(database_url,
                                          ancestors(described.revisions, current))
    files = {r.revision: r for r in described.revisions}
    findings: list[Finding] = []
    for revision, recorded_sum in sorted(recorded.items()):
        entry = files.get(revision)
        now = edited_since_applied(recorded_sum, entry.path) if entry else None
        if now is not None:
            findings.append(Finding(
                REVISION_CHANGED.code,
                f"Revision `{revision}` was edited after dbsafe applied it "
                f"(checksum {short_checksum(recorded_sum)} then, {short_checksum(now)} now).",
                Severity.ERROR, subject=revision,
                help="Applied revisions are history: undo the edit and put the change in a "
                     "new revision.",
            ))
    if fail_on_pending and todo:
        findings.append(Finding(
            PENDING_REVISIONS.code,
            f"{len(todo)} revision(s) pending: {', '.join(r.revision for r in todo)}.",
            Severity.ERROR, subject=",".join(current) or "base",
            help="Run `dbsafe upgrade`.",
        ))
    entries = history.entries(database_url, limit=history_limit)
    told = _captured_schema_changes(settings, todo)
    pending_rows: list[dict[str, Any]] = [
        {"revision": r.revision, "message": r.doc,
         "downgrade": downgrade_problem(r.path) or "ok",
         "way_back": way_back(r.path, schema_kept=told.changes.get(r.revision),
                              told_by=told.by) or "ok"} for r in todo]
    lines = [
        f"current: {', '.join(current) or 'base (no alembic_version)'}",
        f"heads:   {', '.join(described.heads)}",
    ]
    if pending_rows:
        lines.append(f"pending: {len(pending_rows)}")
        lines += [f"  {p['revision']}  {p['message']}"
                  + ("" if p["way_back"] == "ok" else f"  [{p['way_back']}]")
                  for p in pending_rows]
    else:
        lines.append("pending: none")
    live = _live_runs(database_url, entries)
    if entries:
        lines.append("history:")
        for e in entries:
            lines.append(f"  {e.started_at:%Y-%m-%d %H:%M:%S}  {e.operation:<9} "
                         f"{_outcome(e, live):<12} {','.join(e.from_revisions) or 'base'} -> "
                         f"{_to(e)}  by {e.os_user}@{e.host}")
            if e.outcome == "running":
                lines.append(f"    {_running_note(live.get(e.run_id))}")
    history_rows = [e.as_dict() | ({"alive": e.run_id in live} if e.outcome == "running"
                                   else {}) for e in entries]
    summary = {
        "current": list(current), "heads": list(described.heads), "pending": pending_rows,
        "history": history_rows, "lines": lines,
    }
    return Report(tuple(findings), summary)


@dataclass(frozen=True, slots=True)
class _Told:
    """Whether pending revisions keep the schema (revision -> True when they change none),
    and which capture said so ("" when none did)."""

    changes: Mapping[str, bool]
    by: str = ""


def _captured_schema_changes(settings: Settings, todo: Sequence[Revision]) -> _Told:
    """What lint's cached capture of these very files (a `dbsafe lint` without a database,
    or an `upgrade` of an empty one) saw the pending revisions with an empty downgrade() do
    to the schema: files and the cache only, nothing run (status stays fast and read-only).
    Without one, whether such a revision changes a schema is not told."""
    from dbsafe.lint.run import captured_schema_changes

    empty = [r.revision for r in todo if needs_capture(r.path)]
    found = captured_schema_changes(settings, empty) if empty else None
    if found is None or not found.changes:
        return _Told({})
    when = datetime.fromtimestamp(found.captured_at).strftime("%Y-%m-%d %H:%M")
    return _Told({r: not changed for r, changed in found.changes.items()},
                 f"lint's capture of {when}")


def _folder_status(folder: SqlFolder, database_url: str, *,
                   fail_on_pending: bool, settings: Settings) -> Report:
    """A folder of SQL migrations: which of its files the database's runner history says
    ran (`dbsafe.migrate.histories`), which are pending; two of them sharing a version
    (DBS424, left out by `ignore` as lint, verify-lock and drift leave it out)."""
    from dbsafe.core import select_findings
    from dbsafe.extract.files import display_path
    from dbsafe.extract.migration import flyway_new_database, shared_transactions
    from dbsafe.migrate.histories import (
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
        refusal,
        refusal_finding,
        shared_version_findings,
        unread_histories,
    )

    migrations = folder.read()
    # Two files of one version: their runner refuses the folder or runs one of them only,
    # whatever the database holds (DBS424, as lint and verify-lock say)
    shared = select_findings(shared_version_findings(migrations), select=settings.select,
                             ignore=settings.ignore, severity=settings.severity)
    shown = display_path(folder.path, folder.root)
    applied: list[Migration] = []
    runner = "no migration history table"
    runs = folder.runner  # whose history says what ran, else the folder's own runner
    refused = None
    never: list[Migration] = []
    again: list[Migration] = []  # Flyway's repeatable ones edited since they ran
    edited: list[Finding] = []  # applied files edited since, their runner does not refuse
    passed: list[str] = []  # Flyway's applied rows with no file its validation passes
    read = applied_versions(database_url, [folder.path], folder.history_table,
                            sqitch_target=folder.sqitch_target, root=folder.root)
    if read is not None:
        found, versions = read
        # (of the whole folder: Flyway's latest file may be a baseline migration)
        unresolved = flyway_unresolved(migrations, found, versions)
        # Flyway runs its newest baseline migration on an empty history, and ignores them
        # all on one that holds a row
        migrations = in_runner_order(flyway_runs(migrations, found, versions), found)
        applied = applied_migrations(migrations, found, versions, shown)
        runner = found.shown
        runs = found.runner
        changed = edited_applied(migrations, found)
        refused = refusal(migrations, found, versions, unresolved=unresolved, edited=changed)
        never = never_run(migrations, found, versions)
        again = edited_again(migrations, found)
        edited = edited_findings(migrations, found, refused, changed)
        passed = [str(u) for u in unresolved if u.passed]
    elif hint := unread_histories(database_url):
        if not folder.platform:
            raise DbsafeError(f"no history table where runners keep it by default: {hint}")
        runner += f" where runners keep it by default ({hint})"
    elif not folder.platform:  # supabase's platform fills a new database with its tables
        _require_empty(database_url)  # else nothing ran there: a new database
        migrations = flyway_new_database(migrations)
    else:
        migrations = flyway_new_database(migrations)
    todo = [m.path for m in pending_among(migrations, applied, runs, never, again)]
    rerun = {m.path for m in again}
    current = last_recorded(applied)
    findings: list[Finding] = list(shared)
    if refused is not None:
        # Not merely behind: the runner's next `up` fails before it runs anything.
        findings.append(refusal_finding(refused, runs or "",
                                        current.path if current else "none applied"))
    findings += never_run_findings(never, runs or "")
    findings += edited
    if fail_on_pending and todo:
        findings.append(Finding(
            PENDING_REVISIONS.code, f"{len(todo)} migration(s) pending: {', '.join(todo)}.",
            Severity.ERROR, subject=current.path if current else "none applied",
            help="Run the folder's migrations on the database."))
    lines = [f"current: {current.path if current else 'none applied'} ({len(applied)} of "
             f"{len(migrations)} files of {shown}, by {runner})"]
    # Its runner applies them all in one transaction: a lock the first takes is held while
    # the last runs, and a failure in any rolls every one back.
    pending = [m for m in migrations if m.path in todo]
    why = {m.shares_transaction for m in shared_transactions(
        pending, settings.sql_migrations_in_transaction)} - {""} if len(todo) > 1 else set()
    together = next(iter(why)) if len(why) == 1 else ""
    lines += [f"pending: {len(todo)}" + (
        f" (applied in one transaction, {together}: the locks of each are held until the "
        "last commits, and a failure in any rolls them all back)" if together else ""), *(
        f"  {path}" + (" (edited since it ran: Flyway runs it again)" if path in rerun else "")
        for path in todo)] if todo else ["pending: none"]
    lines += [f"never run: {len(never)} ({runs} skips them for good)",
              *(f"  {m.path}" for m in never)] if never else []
    if refused is not None:
        lines.append(f"{runs} refuses to migrate: {refused.words} ({refused.check})")
    lines += [f"applied, no file in {shown}: {len(passed)} ({runs}'s validation passes "
              "them; the database holds what they made)", *(f"  {p}" for p in passed)
              ] if passed else []
    lines += [f"edited since it ran: {len(edited)} ({runs} does not run them again)",
              *(f"  {f.subject}" for f in edited)] if edited else []
    return Report(tuple(findings), {
        "current": [current.path] if current else [], "applied": len(applied),
        "pending": [{"migration": path, **({"again": True} if path in rerun else {})}
                    for path in todo], "lines": lines,
        **({"one_transaction": True, "one_transaction_by": together} if together else {})})


def _live_runs(database_url: str,
               entries: list[history.HistoryEntry]) -> dict[str, Holder]:
    """The runs recorded `running` that are: the newest of them, when a session holds the
    run lock (`guard.lock`) and has held it since before the run recorded its start (a run
    takes the lock first). Any other recorded `running` is dead: killed (SIGKILL, a lost
    host) before it recorded how it ended, its lock gone with its connection."""
    from dbsafe.guard.lock import holder
    from dbsafe.pg.connect import connect

    running = [e for e in entries if e.outcome == "running"]
    if not running:
        return {}
    with connect(database_url) as conn:
        held = holder(conn)
    newest = running[0]  # entries are newest first
    if held is None or (held.since is not None and newest.started_at < held.since):
        return {}
    return {newest.run_id: held}


def _outcome(entry: history.HistoryEntry, live: dict[str, Holder]) -> str:
    if entry.outcome == "running" and entry.run_id not in live:
        return "dead"
    return entry.outcome


def _running_note(held: Holder | None) -> str:
    """What a run recorded `running` is, and for a dead one, what to do."""
    if held is not None:
        return f"live: it holds the run lock ({held.describe()})"
    return ("dead: no run holds the run lock, so this one ended (killed, or its host lost) "
            "without recording how; the next `dbsafe upgrade` removes what it left "
            "mid-revision, against the checkpoint it recorded, and marks it interrupted")


def _to(entry: history.HistoryEntry) -> str:
    """Where a run of the history left the database: a run still going (or killed, until the
    next run finds it) has recorded none yet, which is not base."""
    if entry.outcome == "running":
        return "?"
    return ",".join(entry.to_revisions) or "base"


def _require_empty(database_url: str, *, alembic: bool = False) -> None:
    """Refuse to call a database holding tables "none applied" (or alembic's "base") when no
    runner history says which of the migrations made them: applying them all would fail at
    the first, or worse, run again what was applied by hand.

    Raises:
        DbsafeError: the database has tables of its own (not the catalogs', an
            extension's or dbsafe's).
    """
    from dbsafe.pg.connect import connect

    with connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*), min(format('%%I.%%I', n.nspname, c.relname)) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('information_schema', %s) "
            "AND n.nspname !~ '^pg_' AND NOT EXISTS (SELECT FROM pg_depend d "
            "WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid "
            "AND d.deptype = 'e')", (OWN_SCHEMA,)).fetchone()
    if row is None or not row[0]:
        return
    if alembic:
        raise DbsafeError(
            f"the database holds {row[0]} table(s) ({row[1]}, ...) but no alembic_version "
            "table, so which revisions made them is unknown; if they are a revision's, "
            "record it with `alembic stamp REV`")
    raise DbsafeError(
        f"the database holds {row[0]} table(s) ({row[1]}, ...) but no migration history "
        "table dbsafe reads, so which migrations made them is unknown; if their runner keeps "
        "one under another name, set `sql-migrations-history-table`")

"""`dbsafe status`: where a database stands against its migrations, and what dbsafe did to it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dbsafe.core import DbsafeError, Finding, Report, Severity
from dbsafe.guard import history
from dbsafe.guard.upgrade import PENDING_REVISIONS, REVISION_CHANGED
from dbsafe.migrate.revisions import checksum, downgrade_problem, pending
from dbsafe.migrate.runner import AlembicProject, current_revisions, describe

if TYPE_CHECKING:
    from dbsafe.config import Settings


def status(settings: Settings, database_url: str, *, fail_on_pending: bool = False,
           history_limit: int = 10) -> Report:
    """Current revision(s), heads, pending revisions, edited applied revisions, history."""
    described = describe(AlembicProject.from_settings(settings))
    current = current_revisions(database_url)
    unknown = [r for r in current if r not in {x.revision for x in described.revisions}]
    if unknown:
        # Not "behind": nothing says how this history reaches it (upgrade refuses it too).
        raise DbsafeError(f"the database is at {', '.join(unknown)}, which is not in this "
                          "history (wrong alembic.ini, or migrations not yet deployed here)")
    todo = pending(described.revisions, current, described.heads)
    recorded = history.recorded_checksums(database_url)
    files = {r.revision: r for r in described.revisions}
    findings: list[Finding] = []
    for revision, recorded_sum in sorted(recorded.items()):
        entry = files.get(revision)
        now = checksum(entry.path) if entry else ""
        if entry is not None and recorded_sum and now and now != recorded_sum:
            findings.append(Finding(
                REVISION_CHANGED.code,
                f"Revision `{revision}` was edited after dbsafe applied it "
                f"(checksum {recorded_sum[:12]} then, {now[:12]} now).",
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
    pending_rows: list[dict[str, Any]] = [
        {"revision": r.revision, "message": r.doc,
         "downgrade": downgrade_problem(r.path) or "ok"} for r in todo]
    lines = [
        f"current: {', '.join(current) or 'base (no alembic_version)'}",
        f"heads:   {', '.join(described.heads)}",
    ]
    if pending_rows:
        lines.append(f"pending: {len(pending_rows)}")
        lines += [f"  {p['revision']}  {p['message']}"
                  + ("" if p["downgrade"] == "ok" else f"  [no way back: {p['downgrade']}]")
                  for p in pending_rows]
    else:
        lines.append("pending: none")
    if entries:
        lines.append("history:")
        lines += [f"  {e.started_at:%Y-%m-%d %H:%M:%S}  {e.operation:<9} {e.outcome:<12} "
                  f"{','.join(e.from_revisions) or 'base'} -> {','.join(e.to_revisions) or 'base'}"
                  f"  by {e.os_user}@{e.host}" for e in entries]
    summary = {
        "current": list(current), "heads": list(described.heads), "pending": pending_rows,
        "history": [e.as_dict() for e in entries], "lines": lines,
    }
    return Report(tuple(findings), summary)

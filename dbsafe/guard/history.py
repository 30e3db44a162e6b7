"""The history of guarded runs, kept in the database they changed (`dbsafe.history`).

One row per run: what it did (operation, from/to revisions with each file's checksum), when,
how it ended, its backup, who ran it, and a fingerprint of the schema afterwards. Rows are
written on their own autocommit connection, so a failed migration cannot roll its own
record back. Never a password: the backup path is the only location recorded.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import socket
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dbsafe import __version__
from dbsafe.core import OWN_SCHEMA
from dbsafe.pg.connect import connect

SCHEMA = OWN_SCHEMA
TABLE = "history"

_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {SCHEMA}.{TABLE} (
    run_id uuid PRIMARY KEY,
    operation text NOT NULL,
    from_revisions text[] NOT NULL DEFAULT '{{}}',
    to_revisions text[] NOT NULL DEFAULT '{{}}',
    checksums jsonb NOT NULL DEFAULT '{{}}',
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    outcome text NOT NULL DEFAULT 'running',
    message text,
    backup_file text,
    os_user text,
    host text,
    dbsafe_version text,
    schema_fingerprint text,
    snapshot jsonb,
    checkpoints jsonb NOT NULL DEFAULT '{{}}'
);
ALTER TABLE {SCHEMA}.{TABLE} ADD COLUMN IF NOT EXISTS checkpoints jsonb NOT NULL DEFAULT '{{}}';
COMMENT ON TABLE {SCHEMA}.{TABLE} IS 'Runs of dbsafe upgrade/downgrade/restore (written by dbsafe)';
"""


def _connection(conninfo: str | Any) -> Any:
    """A new connection to `conninfo`, closed after use; or the open connection given, left
    open (its owner may run more in the same transaction)."""
    if isinstance(conninfo, str):
        return connect(conninfo)
    return contextlib.nullcontext(conninfo)


def _ensure_table(conn: Any) -> None:
    """Create the history table, or add what an older one lacks, when needed: DDL on every
    run would lock the table against `dbsafe status` and rewrite its catalog rows each time."""
    row = conn.execute(
        "SELECT count(*) FROM pg_attribute WHERE attrelid = to_regclass(%s) "
        "AND attname = 'checkpoints' AND NOT attisdropped", (f"{SCHEMA}.{TABLE}",)).fetchone()
    if not row or not row[0]:
        conn.execute(_DDL)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    run_id: str
    operation: str
    from_revisions: tuple[str, ...]
    to_revisions: tuple[str, ...]
    checksums: Mapping[str, str]
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    message: str | None
    backup_file: str | None
    os_user: str | None
    host: str | None
    dbsafe_version: str | None
    schema_fingerprint: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "operation": self.operation,
            "from_revisions": list(self.from_revisions),
            "to_revisions": list(self.to_revisions), "checksums": dict(self.checksums),
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "outcome": self.outcome, "message": self.message, "backup_file": self.backup_file,
            "os_user": self.os_user, "host": self.host, "dbsafe_version": self.dbsafe_version,
            "schema_fingerprint": self.schema_fingerprint,
        }


def start(conninfo: str, operation: str, from_revisions: Sequence[str]) -> str:
    """Record a run as started; returns its id."""
    run_id = str(uuid.uuid4())
    with connect(conninfo) as conn:
        _ensure_table(conn)
        conn.execute(
            f"INSERT INTO {SCHEMA}.{TABLE} (run_id, operation, from_revisions, os_user, host, "
            "dbsafe_version) VALUES (%s, %s, %s, %s, %s, %s)",
            (run_id, operation, list(from_revisions), _os_user(), socket.gethostname(),
             __version__),
        )
    return run_id


def record(conninfo: str | Any, operation: str, *, outcome: str,
           to_revisions: Sequence[str] = (), message: str | None = None,
           backup_file: str | None = None) -> str:
    """Record a run that is over already (a restore, recorded in the database it made), on
    one connection (`conninfo`'s, or the open connection given): `start` and `finish` in
    one. Returns its id."""
    run_id = str(uuid.uuid4())
    with _connection(conninfo) as conn:
        _ensure_table(conn)
        conn.execute(
            f"INSERT INTO {SCHEMA}.{TABLE} (run_id, operation, os_user, host, dbsafe_version, "
            "finished_at, outcome, to_revisions, message, backup_file) "
            "VALUES (%s, %s, %s, %s, %s, now(), %s, %s, %s, %s)",
            (run_id, operation, _os_user(), socket.gethostname(), __version__, outcome,
             list(to_revisions), message, backup_file),
        )
    return run_id


# A run's story, kept as its history row's message: whole up to this many lines (an upgrade
# of 200 revisions tells about 400), else its start and its end around a line saying how many
# were left out. Only its last 20 lines were kept: a 28-revision upgrade of mlflow's history
# lost its preflight (the revisions pending, the lint's verdict) and its first 19 revisions.
STORY_LINES = 500
_STORY_HEAD = 50


def story_message(story: Sequence[str]) -> str:
    """The message a run's history row keeps of its story (its steps' lines, in order)."""
    if len(story) <= STORY_LINES:
        return "\n".join(story)
    tail = STORY_LINES - _STORY_HEAD - 1
    left_out = len(story) - _STORY_HEAD - tail
    return "\n".join([*story[:_STORY_HEAD], f"... {left_out} line(s) left out ...",
                      *story[-tail:]])


def finish(conninfo: str, run_id: str, *, outcome: str, to_revisions: Sequence[str] = (),
           checksums: Mapping[str, str] | None = None, message: str | None = None,
           backup_file: str | None = None, schema_fingerprint: str | None = None,
           snapshot: str | None = None) -> None:
    """Record how a run ended (`applied`, `failed`, `rolled back`, `refused`, ...)."""
    with connect(conninfo) as conn:
        conn.execute(
            f"UPDATE {SCHEMA}.{TABLE} SET finished_at = now(), outcome = %s, "
            "to_revisions = %s, checksums = %s::jsonb, message = %s, backup_file = %s, "
            "schema_fingerprint = %s, snapshot = %s::jsonb WHERE run_id = %s",
            (outcome, list(to_revisions), json.dumps(dict(checksums or {})), message,
             backup_file, schema_fingerprint, snapshot, run_id),
        )


def entries(conninfo: str, *, limit: int = 20) -> list[HistoryEntry]:
    """The most recent runs, newest first; none when dbsafe never ran on this database."""
    with connect(conninfo) as conn:
        exists = conn.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.{TABLE}",)).fetchone()
        if exists is None or exists[0] is None:
            return []
        rows = conn.execute(
            "SELECT run_id::text, operation, from_revisions, to_revisions, checksums, "
            "started_at, finished_at, outcome, message, backup_file, os_user, host, "
            f"dbsafe_version, schema_fingerprint FROM {SCHEMA}.{TABLE} "
            "ORDER BY started_at DESC LIMIT %s", (limit,),
        ).fetchall()
    return [HistoryEntry(r[0], r[1], tuple(r[2]), tuple(r[3]), r[4] or {}, *r[5:])
            for r in rows]


def recorded_checksums(conninfo: str, applied: Collection[str]) -> dict[str, str]:
    """revision -> checksum of its file when it was last applied by dbsafe, for the
    revisions of `applied` (those the database is at and below them). A revision a
    downgrade undid is pending again: an edit to it is applied with it, and is no edit of
    what the database ran (CTFd's 336b8c601b94, its `downgrade()` fixed, then undone)."""
    found: dict[str, str] = {}
    for entry in reversed(entries(conninfo, limit=10_000)):
        if entry.outcome == "applied":
            found.update(entry.checksums)
    return {revision: checksum for revision, checksum in found.items() if revision in applied}


def snapshot_at(conninfo: str, revisions: Sequence[str]) -> str | None:
    """The schema snapshot (JSON) recorded when the database last was at `revisions`: where
    a finished run ended, or a checkpoint a run recorded there on its way (an upgrade from
    r00 to r08 records r00 to r07 as it passes them, so `dbsafe downgrade r03` finds r03's
    schema even where the migrations cannot build it: a history whose first revision alters
    tables made before it)."""
    key = ",".join(sorted(revisions)) or "base"
    with connect(conninfo) as conn:
        exists = conn.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.{TABLE}",)).fetchone()
        if exists is None or exists[0] is None:
            return None
        # to_jsonb(h): a history table written by an older dbsafe has no checkpoints column.
        row = conn.execute(
            f"SELECT recorded FROM ("
            f"  SELECT snapshot::text AS recorded, finished_at, 1 AS last_of_run "
            f"  FROM {SCHEMA}.{TABLE} WHERE snapshot IS NOT NULL "
            "   AND outcome IN ('applied', 'rolled back') AND to_revisions = %s "
            "  UNION ALL "
            "  SELECT (to_jsonb(h) -> 'checkpoints' -> %s)::text, finished_at, 0 "
            f"  FROM {SCHEMA}.{TABLE} AS h WHERE finished_at IS NOT NULL "
            "   AND to_jsonb(h) -> 'checkpoints' ? %s"
            ") AS found ORDER BY finished_at DESC, last_of_run DESC LIMIT 1",
            (sorted(revisions), key, key),
        ).fetchone()
    return row[0] if row else None


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def checkpoint(conninfo: str, run_id: str, revisions: Sequence[str], snapshot: str) -> None:
    """Record the schema as it is at `revisions`, during a run: a run killed later is
    repaired against it by the next one."""
    key = ",".join(sorted(revisions)) or "base"
    with connect(conninfo) as conn:
        conn.execute(
            f"UPDATE {SCHEMA}.{TABLE} SET checkpoints = checkpoints || "
            "jsonb_build_object(%s::text, %s::jsonb) WHERE run_id = %s",
            (key, snapshot, run_id),
        )


def settle_restored(conninfo: str | Any, backup_name: str, revisions: Sequence[str]) -> int:
    """In a database just restored from a backup, the runs the backup caught in progress
    (the upgrade or downgrade that took it, or one running then): their outcome is in the
    original database's history, not here. Marked so, they are neither shown as running
    nor "repaired" by the next run; they end, in this database, at `revisions` (the copy's),
    not at none (which `status` shows as base). Returns how many. `conninfo` may be an open
    connection to that database."""
    with _connection(conninfo) as conn:
        exists = conn.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.{TABLE}",)).fetchone()
        if exists is None or exists[0] is None:
            return 0
        rows = conn.execute(
            f"UPDATE {SCHEMA}.{TABLE} SET outcome = 'interrupted', finished_at = now(), "
            "to_revisions = %s, message = concat_ws(E'\\n', message, %s::text) "
            "WHERE outcome = 'running' RETURNING run_id",
            (list(revisions), f"in progress when {backup_name} was taken; its outcome is in "
             "the history of the database the backup was taken from")).fetchall()
    return len(rows)


def replaced(conninfo: str, run_id: str, from_revisions: Sequence[str], note: str) -> None:
    """A restore's row (`record`), once its database took the place of the original: it
    changed the database of that name from `from_revisions` (the original's), said in its
    message (`note`). Recorded as from none, `status` showed `base -> 8cd0c34d0c3c` of
    Open-Assistant's restore in place of a database 15 revisions into a downgrade (task
    475)."""
    with connect(conninfo) as conn:
        conn.execute(
            f"UPDATE {SCHEMA}.{TABLE} SET from_revisions = %s, "
            "message = concat_ws(E'\\n', message, %s::text) WHERE run_id = %s",
            (list(from_revisions), note, run_id))


def unfinished(conninfo: str, revisions: Sequence[str]) -> list[tuple[str, dict[str, Any]]]:
    """Runs that never recorded an end (killed), with their checkpoints; marks them so,
    ending at `revisions` (the database's now: they were all that changed it since). Left
    at none, `status` showed a run killed after its first revision as `base -> base`.

    Call only while holding the run lock: then no run is really still going.
    """
    with connect(conninfo) as conn:
        exists = conn.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.{TABLE}",)).fetchone()
        if exists is None or exists[0] is None:
            return []
        _ensure_table(conn)  # older history tables get the checkpoints column
        rows = conn.execute(
            f"UPDATE {SCHEMA}.{TABLE} SET outcome = 'interrupted', finished_at = now(), "
            "to_revisions = %s, "
            "message = coalesce(message, 'the process ended without recording an outcome') "
            "WHERE outcome = 'running' RETURNING run_id::text, checkpoints", (list(revisions),),
        ).fetchall()
    return [(r[0], r[1] or {}) for r in rows]

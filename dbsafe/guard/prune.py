"""`dbsafe backups prune`: which backups go, decided before anything is deleted.

A plan first (`plan_prune`), shown, confirmed or dry-run by the caller, then deleted
(`delete_backups`). What a DBA keeps is never in it: the newest `keep` backups of each
database, its newest one a restore verified (`backup --verify-restore`) unless told not to
(a backup nobody restored is a hope), and anything not known to be a whole backup: a file
a restore refuses, one whose manifest cannot be read, one without a manifest (`take_backup`
writes the manifest last): being written now, or left by a run that stopped, which the lock
its run held tells (`guard.writing`; only the latter is deleted, when asked). As
pgBackRest's `expire` counts only completed backups towards `repo1-retention-full`, only a
backup `restore` may take counts as one kept.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbsafe.core import DbsafeError
from dbsafe.guard.backup import _size
from dbsafe.guard.restore import _listed
from dbsafe.guard.writing import STOPPED, Unfinished, claim, sidecar, unfinished_in

MANIFEST = ".manifest.json"


@dataclass(frozen=True, slots=True)
class PrunePlan:
    """`delete`: the `list_backups` rows that go; `kept_verified`: rows kept beyond the
    newest `keep` because each is its database's newest restore-verified backup; `left`:
    (path, why) of the unusable backups neither counted nor deleted; `unfinished`: backups
    without a manifest left (being written, or stopped and not asked to delete)."""

    delete: tuple[dict[str, Any], ...]
    kept_verified: tuple[dict[str, Any], ...]
    left: tuple[tuple[str, str], ...]
    unfinished: tuple[Unfinished, ...]

    @property
    def size_bytes(self) -> int:
        return sum(row["size_bytes"] or 0 for row in self.delete)


def plan_prune(directory: Path, keep: int, *, keep_verified: bool = True,
               delete_unusable: bool = False) -> PrunePlan:
    """What `prune` deletes in `directory`: all but the newest `keep` backups of each
    database (one database's many backups never cost another its last), and, with
    `keep_verified`, not its newest restore-verified one either. Nothing is deleted.

    Only a backup `restore` may take counts as one kept: one whose file is missing, whose
    size is not its manifest's or whose `--verify-restore` failed is neither counted nor
    deleted (counted, a manifest left by a file deleted by hand made `--keep 1` delete the
    last backup there was); with `delete_unusable` it is deleted, and so is one whose
    manifest cannot be read, and one without a manifest its run left when it stopped; one
    being written never is, nor one whose sidecar is missing (nothing tells).
    """
    delete, kept_verified, left = [], [], []
    counted: dict[object, int] = {}
    verified_kept: set[object] = set()
    listed = _listed(directory)
    for row, missing in listed:  # newest first
        unusable = _not_restorable(row, Path(row["backup"]), missing)
        if unusable:
            if delete_unusable:
                delete.append(row | {"unusable": unusable})
            else:
                left.append((row["backup"], unusable))
            continue
        database = row["database"]
        counted[database] = counted.get(database, 0) + 1
        if counted[database] <= keep:
            if row["verified_restore"]:
                verified_kept.add(database)
            continue
        if keep_verified and row["verified_restore"] and database not in verified_kept:
            verified_kept.add(database)
            kept_verified.append(row)
            continue
        delete.append(row)
    unreadable = _unreadable(directory, {row["backup"] for row, _ in listed})
    why = "its manifest cannot be read"
    if delete_unusable:
        delete += [_unread_row(Path(path), why) for path in unreadable]
    else:
        left += [(path, why) for path in unreadable]
    unfinished = unfinished_in(directory)
    stopped = [u for u in unfinished if u.state == STOPPED] if delete_unusable else []
    delete += [_unread_row(u.path, "no manifest: left by a run that stopped")
               for u in stopped]
    return PrunePlan(tuple(delete), tuple(kept_verified), tuple(left),
                     tuple(u for u in unfinished if u not in stopped))


def _unread_row(path: Path, why: str) -> dict[str, Any]:
    """A `list_backups` row for a backup whose manifest was not read: what its file says."""
    try:
        size = _size(path)
    except OSError:
        size = None
    return {"backup": str(path), "database": "?", "revisions": None, "size_bytes": size,
            "created_at": None, "age": "", "exists": path.exists(), "verified_restore": None,
            "unusable": why}


def delete_backups(rows: tuple[dict[str, Any], ...]) -> list[str]:
    """Delete each row's backup with its manifest (the manifest last: a backup without
    one is never taken for a whole one), and the sidecar a stopped run left, its lock held
    meanwhile (a run that started writing it since the plan is never deleted under it).
    Returns what went."""
    removed: list[str] = []
    for row in rows:
        path = Path(row["backup"])
        held = None
        if sidecar(path).exists():
            held = claim(path)
            if held is None:
                raise DbsafeError(f"{path} is being written now: not deleted"
                                  + _deleted_before(removed))
        try:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
            Path(f"{path}{MANIFEST}").unlink(missing_ok=True)
        except OSError as exc:
            raise DbsafeError(f"could not delete {path}: {exc.strerror or exc}"
                              + _deleted_before(removed)) from None
        finally:
            if held is not None:
                held.release()
        removed.append(str(path))
    return removed


def _deleted_before(removed: list[str]) -> str:
    return f" (deleted before it: {', '.join(removed)})" if removed else ""


def _not_restorable(row: dict[str, Any], path: Path, missing: str | None) -> str | None:
    """Why the backup of a `list_backups` row is known not to restore, or None: what its
    files' status and manifest say (nothing is read); `missing`: what its manifest lacks
    (`_missing_keys`)."""
    if not row["exists"]:
        return "its file is missing"
    if missing:
        return f"its manifest {missing}; restore refuses it"
    try:
        size = _size(path)
    except OSError as exc:
        return f"its file cannot be read ({exc.strerror or exc})"
    if size != row["size_bytes"]:
        return (f"{size} bytes, its manifest says {row['size_bytes']} (truncated or "
                "replaced; restore refuses it)")
    if row["verified_restore"] is False:
        return "its --verify-restore failed (RESTORE FAILED)"
    return None


def _unreadable(directory: Path, listed: set[str]) -> list[str]:
    """The backups whose manifest `list_backups` left out (`listed`: what it did not), not
    read as `restore` reads it (a warning said why)."""
    return [str(entry)[: -len(MANIFEST)] for entry in sorted(directory.iterdir())
            if entry.name.endswith(MANIFEST) and str(entry)[: -len(MANIFEST)] not in listed]

"""The committed lock file of revision checksums (`dbsafe lock`, `dbsafe verify-lock`).

alembic has no checksums; Flyway, Liquibase and Atlas (`atlas.sum`) do. `migrations.lock`
(next to `alembic.ini`) lists every revision, oldest first, with a checksum of its file's
syntax tree (`migrate.revisions.checksum(normalized=True)`: reformatting and comments do
not change it, any change to the code or to the SQL strings it runs does), plus a `total`
line over all of them. Two branches that each add a revision both change the last lines
and the total, so git reports a conflict instead of merging two heads silently.

`verify` needs no database: CI fails when a revision changed after it was locked, was added
without re-locking, disappeared, or when the history has several heads. With the checksums
`dbsafe upgrade` recorded in a database (`dbsafe.history`), it also reports revisions that
were edited after being applied there (DBS605, the code `dbsafe status` uses).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dbsafe.core import ConfigError, Finding, Location, RuleInfo, Severity
from dbsafe.files import write_text

if TYPE_CHECKING:
    from dbsafe.migrate.runner import Revision

LOCK_FILE = "migrations.lock"
ALGORITHM = "sha256"

# List of codes.
REVISION_CHANGED = RuleInfo(
    code="DBS421",
    name="locked-revision-changed",
    summary="A revision file changed after it was recorded in the lock file.",
    default_severity=Severity.ERROR,
    since="0.1.0",
)
REVISION_NOT_LOCKED = RuleInfo(
    code="DBS422",
    name="revision-not-locked",
    summary="A revision is missing from the lock file (added without running `dbsafe lock`).",
    default_severity=Severity.ERROR,
    since="0.1.0",
)
LOCKED_REVISION_MISSING = RuleInfo(
    code="DBS423",
    name="locked-revision-missing",
    summary="The lock file lists a revision the history no longer has.",
    default_severity=Severity.ERROR,
    since="0.1.0",
)
MULTIPLE_HEADS = RuleInfo(
    code="DBS424",
    name="multiple-heads",
    summary="The migration history has more than one head.",
    default_severity=Severity.ERROR,
    since="0.1.0",
)
LOCK_FILE_EDITED = RuleInfo(
    code="DBS425",
    name="lock-file-edited",
    summary="The lock file's total does not match its lines (edited by hand or badly merged).",
    default_severity=Severity.ERROR,
    since="0.1.0",
)
RULES = (REVISION_CHANGED, REVISION_NOT_LOCKED, LOCKED_REVISION_MISSING, MULTIPLE_HEADS,
         LOCK_FILE_EDITED)
APPLIED_REVISION_CHANGED_CODE = "DBS605"  # declared by dbsafe.guard (status, upgrade)

_HEADER = (
    "# dbsafe migrations lock: each alembic revision's checksum, oldest first.\n"
    "# Written by `dbsafe lock`, checked by `dbsafe verify-lock`; do not edit by hand.\n"
    "# A merge conflict here means two branches added revisions: merge the heads, then run\n"
    "# `dbsafe lock` again.\n"
)


@dataclass(frozen=True, slots=True)
class LockEntry:
    revision: str
    checksum: str  # "sha256:<hex>"
    path: str  # relative to the lock file's folder, POSIX
    line: int = 0  # in the lock file (0: computed, not read)


@dataclass(frozen=True, slots=True)
class LockFile:
    entries: tuple[LockEntry, ...]
    total: str
    total_line: int = 0

    @property
    def computed_total(self) -> str:
        return _total(self.entries)


def entries(revisions: Sequence[Revision], heads: Sequence[str], base: Path,
            ) -> tuple[LockEntry, ...]:
    """The lock entries of a history, oldest first (dependency order)."""
    from dbsafe.migrate.revisions import checksum, pending

    ordered = pending(revisions, (), heads)
    return tuple(LockEntry(r.revision, f"{ALGORITHM}:{checksum(r.path, normalized=True)}",
                           _relative(r.path, base)) for r in ordered)


def render(locked: Sequence[LockEntry]) -> str:
    """The lock file's text.

    >>> print(render([LockEntry("0001", "sha256:ab", "versions/0001_a.py")]), end="")
    # dbsafe migrations lock: each alembic revision's checksum, oldest first.
    # Written by `dbsafe lock`, checked by `dbsafe verify-lock`; do not edit by hand.
    # A merge conflict here means two branches added revisions: merge the heads, then run
    # `dbsafe lock` again.
    total sha256:72bbf0ee2f307928d7c4f0f06ea51a301fa8067593fe23d2dfa714042794be21
    0001 sha256:ab versions/0001_a.py
    """
    body = "".join(_line(e) + "\n" for e in locked)
    return f"{_HEADER}total {_total(locked)}\n{body}"


def parse(text: str, path: Path) -> LockFile:
    """Read a lock file; a malformed line is a `ConfigError` naming `file:line`."""
    found: list[LockEntry] = []
    total, total_line = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("<<<<<<<", "=======", ">>>>>>>")):
            raise ConfigError(f"{path}:{number}: unresolved merge conflict; merge the heads "
                              "(alembic merge heads), then run `dbsafe lock`")
        parts = line.split(maxsplit=2)
        if parts[0] == "total" and len(parts) == 2:
            total, total_line = parts[1], number
        elif len(parts) == 3 and ":" in parts[1]:
            found.append(LockEntry(parts[0], parts[1], parts[2], number))
        else:
            raise ConfigError(f"{path}:{number}: not a lock line (`REVISION sha256:HEX PATH`); "
                              "run `dbsafe lock` to rewrite the file")
    return LockFile(tuple(found), total, total_line)


def write(path: Path, revisions: Sequence[Revision], heads: Sequence[str]) -> int:
    """Write the lock file for a history; returns the number of revisions."""
    _refuse_other_file(path)
    locked = entries(revisions, heads, path.parent)
    try:
        write_text(path, render(locked))
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    return len(locked)


def _refuse_other_file(path: Path) -> None:
    """`--lock-file notes.md` replaced the notes with a lock file without a word: a file that
    is there, not empty and not one `dbsafe lock` wrote (its first line) is left alone."""
    try:
        with path.open(encoding="utf-8", errors="replace") as file:
            first = file.readline()
    except (FileNotFoundError, IsADirectoryError):
        return  # (a new file; a folder is said by write_text)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    if first and not first.startswith(_HEADER.partition("\n")[0]):
        raise ConfigError(f"{path} is not a lock file `dbsafe lock` wrote (its first line is not "
                          "its header); name another --lock-file, or remove the file first")


def read(path: Path) -> LockFile:
    """Read and parse the lock file.

    Raises:
        ConfigError: it is missing, unreadable or malformed.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist; run `dbsafe lock` and commit it") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    return parse(text, path)


def verify(path: Path, revisions: Sequence[Revision], heads: Sequence[str], *, root: Path,
           applied: Mapping[str, str] | None = None, locked: LockFile | None = None,
           ) -> tuple[Finding, ...]:
    """Compare a history with its lock file (and with what a database recorded).

    Args:
        path: the lock file.
        revisions: the history (`runner.describe(project).revisions`).
        heads: its heads.
        root: the project root; locations are relative to it.
        applied: revision -> sha256 of its file when `dbsafe upgrade` applied it to a
            database (`guard.history.recorded_checksums`), or None.
        locked: the lock file already read (`read(path)`), else it is read now.

    Raises:
        ConfigError: the lock file is missing or malformed.
    """
    lock = locked or read(path)
    shown = _relative(path, root)
    current = {e.revision: e for e in entries(revisions, heads, path.parent)}
    by_id = {r.revision: r for r in revisions}
    out: list[Finding] = []
    if len(heads) > 1:
        out.append(Finding(
            MULTIPLE_HEADS.code,
            f"The history has {len(heads)} heads: {', '.join(f'`{h}`' for h in sorted(heads))}.",
            MULTIPLE_HEADS.default_severity, subject=",".join(sorted(heads)),
            help="Merge them (`alembic merge heads`) or rebase one branch's revision onto the "
                 "other, then run `dbsafe lock`.",
        ))
    if lock.total != lock.computed_total:
        out.append(Finding(
            LOCK_FILE_EDITED.code,
            f"`{shown}` does not match its own total: it was edited by hand or merged "
            "without `dbsafe lock`.",
            LOCK_FILE_EDITED.default_severity, Location(shown, lock.total_line or 1),
            help="Check the revisions it lists, then run `dbsafe lock`.",
        ))
    locked_ids = set()
    for entry in lock.entries:
        locked_ids.add(entry.revision)
        now = current.get(entry.revision)
        where = Location(shown, entry.line)
        if now is None:
            out.append(Finding(
                LOCKED_REVISION_MISSING.code,
                f"Revision `{entry.revision}` ({entry.path}) is in `{shown}` but not in the "
                "history.",
                LOCKED_REVISION_MISSING.default_severity, where, entry.revision,
                help="Restore the revision file; if removing it is intended, run `dbsafe lock`.",
            ))
        elif now.checksum != entry.checksum:
            out.append(Finding(
                REVISION_CHANGED.code,
                f"Revision `{entry.revision}` ({now.path}) changed after it was locked.",
                REVISION_CHANGED.default_severity,
                _revision_location(by_id[entry.revision], root) or where, entry.revision,
                help="Undo the edit and put the change in a new revision; if the revision was "
                     "never applied anywhere, run `dbsafe lock`.",
                context=(("Locked", entry.checksum), ("Now", now.checksum)),
            ))
    for rid, entry in current.items():
        if rid not in locked_ids:
            out.append(Finding(
                REVISION_NOT_LOCKED.code,
                f"Revision `{rid}` ({entry.path}) is not in `{shown}`.",
                REVISION_NOT_LOCKED.default_severity,
                _revision_location(by_id[rid], root), rid,
                help="Run `dbsafe lock` and commit the lock file with the revision.",
            ))
    if applied:
        out += _applied_changed(revisions, applied, root)
    return tuple(out)


def _applied_changed(revisions: Sequence[Revision], applied: Mapping[str, str],
                     root: Path) -> list[Finding]:
    from dbsafe.migrate.revisions import edited_since_applied, short_checksum

    out = []
    for revision in revisions:
        recorded = applied.get(revision.revision)
        now = edited_since_applied(recorded, revision.path) if recorded else None
        if now is not None:
            assert recorded is not None
            out.append(Finding(
                APPLIED_REVISION_CHANGED_CODE,
                f"Revision `{revision.revision}` was edited after dbsafe applied it to the "
                f"database (checksum {short_checksum(recorded)} then, "
                f"{short_checksum(now)} now).",
                Severity.ERROR, _revision_location(revision, root), revision.revision,
                help="Applied revisions are history: undo the edit and put the change in a "
                     "new revision.",
            ))
    return out


def _line(entry: LockEntry) -> str:
    return f"{entry.revision} {entry.checksum} {entry.path}"


def _total(locked: Sequence[LockEntry]) -> str:
    digest = hashlib.sha256()
    for entry in locked:
        digest.update(f"{entry.revision} {entry.checksum}\n".encode())
    return f"{ALGORITHM}:{digest.hexdigest()}"


def _relative(path: Path | None, base: Path) -> str:
    if path is None:
        return "?"
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _revision_location(revision: Revision, root: Path) -> Location | None:
    if revision.path is None:
        return None
    return Location(_relative(revision.path, root), 1)

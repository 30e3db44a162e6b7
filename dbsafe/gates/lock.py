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

A folder of SQL migrations (dbmate, goose, golang-migrate, supabase, drizzle-kit, prisma,
Flyway, Sqitch, ...) is locked the same way (`sql_entries`): each migration its runner
applies, in its runner's order (`dbsafe.extract.migration.sql_migrations`), then its down
migration (`down_migration`: its own file, golang-migrate's `1_x.down.sql`, or the down
section of a dbmate/goose file), keyed by its path, so an edited down is said as such. The
lock file lies beside the folder (`sql_lock_path`). Most of those runners keep no checksum
they compare, so an edit to an applied file goes unseen without this; a file inserted
before a locked one is what an ordered runner skips or refuses (DBS422, an error), one
added after every locked one is only not locked yet (DBS422, a note).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from dbsafe.core import ConfigError, Finding, Location, RuleInfo, Severity
from dbsafe.files import write_text

if TYPE_CHECKING:
    from dbsafe.extract.migration import Migration
    from dbsafe.migrate.runner import Revision

LOCK_FILE = "migrations.lock"
ALGORITHM = "sha256"

# List of codes.
REVISION_CHANGED = RuleInfo(
    code="DBS421",
    name="locked-revision-changed",
    summary="A revision file (or SQL migration, or its down) changed after it was recorded "
            "in the lock file.",
    default_severity=Severity.ERROR,
    since="0.1.0",
)
REVISION_NOT_LOCKED = RuleInfo(
    code="DBS422",
    name="revision-not-locked",
    summary="A revision (or SQL migration) is missing from the lock file (added without "
            "running `dbsafe lock`).",
    default_severity=Severity.ERROR,
    since="0.1.0",
)
LOCKED_REVISION_MISSING = RuleInfo(
    code="DBS423",
    name="locked-revision-missing",
    summary="The lock file lists a revision (or SQL migration) the history no longer has "
            "(removed or renamed).",
    default_severity=Severity.ERROR,
    since="0.1.0",
)
MULTIPLE_HEADS = RuleInfo(
    code="DBS424",
    name="multiple-heads",
    summary="The migration history has more than one head (of a folder of SQL migrations: "
            "two files share a version).",
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
_SQL_HEADER = (
    "# dbsafe migrations lock: each SQL migration's checksum in its runner's order, its down's\n"
    "# after it. Written by `dbsafe lock`, checked by `dbsafe verify-lock`; do not edit by hand.\n"
    "# A merge conflict here means two branches added migrations: order them, then run\n"
    "# `dbsafe lock` again.\n"
)
# What every lock file `dbsafe lock` wrote starts with (`_refuse_other_file`).
_MARK = "# dbsafe migrations lock:"
# The key of a down migration: `down:` and its file's path, quoted (an up's is its path
# quoted, and quoting makes a `:` `%3A`, so the two never meet).
_DOWN = "down:"


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


def render(locked: Sequence[LockEntry], header: str = _HEADER) -> str:
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
    return f"{header}total {_total(locked)}\n{body}"


def parse(text: str, path: Path, *,
          merge: str = "merge the heads (alembic merge heads)") -> LockFile:
    """Read a lock file; a malformed line is a `ConfigError` naming `file:line`. `merge` says
    what ends a conflict that two branches adding migrations made."""
    found: list[LockEntry] = []
    total, total_line = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("<<<<<<<", "=======", ">>>>>>>")):
            raise ConfigError(f"{path}:{number}: unresolved merge conflict; {merge}, then run "
                              "`dbsafe lock`")
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
    if first and not first.startswith(_MARK):
        raise ConfigError(f"{path} is not a lock file `dbsafe lock` wrote (its first line is not "
                          "its header); name another --lock-file, or remove the file first")


def read(path: Path, *, merge: str = "merge the heads (alembic merge heads)") -> LockFile:
    """Read and parse the lock file (`merge`: as `parse`'s).

    Raises:
        ConfigError: it is missing, unreadable or malformed.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist; run `dbsafe lock` and commit it") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    return parse(text, path, merge=merge)


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
        out.append(_total_edited(lock, shown, "revisions"))
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


def _runner_of(runner: str | None, file: Path) -> str | None:
    """The runner that applies `file`: the folder's (`SqlFolder.runner`, the runners whose
    history table dbsafe builds, and supabase's CLI), else "goose" for a goose file (goose
    is none of those: `migration_runner` has no name for it)."""
    from dbsafe.extract.migration import goose_folder

    if runner is not None:
        return runner
    return "goose" if goose_folder(file.parent) else None


# Runners that keep no checksum of what they ran, or never compare it (each read in its
# source, docs/gates.md): an applied file's comment edited changes nothing they do.
_NO_CHECKSUM_RUNNERS = ("golang-migrate", "dbmate", "goose", "supabase")


def _cosmetic_edit(runner: str | None, file: Path) -> str:
    """How to accept an edit that changes nothing the file runs (a comment), where its runner
    keeps no checksum that would refuse it: minder's golang-migrate file given a comment was
    told only to undo it, or lock it if it never ran (task 575). Flyway's, sqlx's, refinery's
    and postgres-migrations' checksums do refuse it: nothing said there."""
    name = _runner_of(runner, file)
    if name not in _NO_CHECKSUM_RUNNERS:
        return ""
    return (f"; an edit that changes nothing it runs (a comment) is safe to keep, {name} "
            "keeping no checksum of what ran: `dbsafe lock` records it")


def _inserted_before(runner: str | None, file: Path, migration: Migration | None) -> str:
    """What the folder's runner does with a migration that sorts before one a database has
    already run (each from its own documentation or source): golang-migrate applies only
    versions above the database's; goose refuses "missing" migrations unless
    `-allow-missing`; dbmate applies every unapplied one, out of order (refused with
    `--strict`); supabase's `db push` refuses a file "to be inserted before the last
    migration" unless `--include-all`; Flyway's validation refuses one out of order unless
    `outOfOrder`. Another runner's is said as the three things a runner may do."""
    if migration is not None and migration.flyway:
        return "Flyway refuses to migrate it as out of order (unless `outOfOrder` is set)"
    said = {
        "goose": "goose refuses to migrate (\"missing migrations\") unless run with "
                 "`-allow-missing`",
        "golang-migrate": "golang-migrate never runs it: it applies only versions above the "
                          "database's",
        "dbmate": "dbmate runs it after the later ones it already ran, out of order (it "
                  "refuses with `--strict`)",
        "supabase": "`supabase db push` refuses it (a file to be inserted before the last "
                    "migration on the remote database) unless run with `--include-all`",
    }.get(_runner_of(runner, file) or "")
    return said or ("its runner skips it, refuses to go on, or runs it out of order after the "
                    "later ones")


def _total_edited(lock: LockFile, shown: str, what: str) -> Finding:
    """DBS425: the lock file's `total` line does not match its lines (`what` it lists)."""
    return Finding(
        LOCK_FILE_EDITED.code,
        f"`{shown}` does not match its own total: it was edited by hand or merged "
        "without `dbsafe lock`.",
        LOCK_FILE_EDITED.default_severity, Location(shown, lock.total_line or 1),
        help=f"Check the {what} it lists, then run `dbsafe lock`.",
    )


# -- a folder of SQL migrations ------------------------------------------------------------

SQL_MERGE = "order the two branches' migrations (rebase one)"


@dataclass(frozen=True, slots=True)
class SqlMigrationEntry:
    """A migration of a SQL folder as it is now: its lock entry and where it is."""

    entry: LockEntry
    file: Path
    line: int  # where it starts in `file` (a down section's marker)
    up: str  # the key of the migration it belongs to (its own for an up)

    @property
    def down(self) -> bool:
        return self.entry.revision.startswith(_DOWN)


def sql_lock_path(folder: Path, root: Path) -> Path:
    """Where a SQL folder's lock file lies: beside the folder (`db/migrations.lock` for
    `db/migrations`, as alembic's lies beside `alembic.ini`), or in it when the folder is
    the project root or outside it."""
    parent, top = folder.resolve().parent, root.resolve()
    if folder.resolve() == top or not parent.is_relative_to(top):
        return folder / LOCK_FILE
    return folder.parent / LOCK_FILE


def sql_entries(migrations: Sequence[Migration], base: Path, *, root: Path,
                sqitch_target: str | None = None) -> tuple[SqlMigrationEntry, ...]:
    """The lock entries of a folder's migrations (`SqlFolder.read()`: those its runner
    applies, in its order), each up followed by its down migration, paths relative to
    `base`. Flyway's repeatable migrations and callbacks, which it runs again when they
    change, and graphile-migrate's current migration, rewritten until committed, are left
    out.

    A checksum covers what the runner runs of the file (the up section of a file of both
    directions, the down section for its down; the files a psql script includes), its
    lines' trailing whitespace and blank lines aside (a CRLF checkout is no edit).

    Raises:
        ConfigError: a file cannot be read.
    """
    from dbsafe.extract.migration import (
        down_migration,
        down_section_line,
        downgrade_section,
        upgrade_section,
    )

    out: list[SqlMigrationEntry] = []
    for migration in lockable(migrations):
        file = migration.file
        assert file is not None
        text = _read_text(file)
        key = _sql_key(file, base)
        up = _sql_checksum(upgrade_section(text), *map(_read_text, migration.includes))
        out.append(SqlMigrationEntry(LockEntry(key, up, _relative(file, base)), file, 1, key))
        down = down_migration(migration, root, sqitch_target)
        if down is None or down.file is None:
            continue
        if down.file.resolve() == file.resolve():
            section = downgrade_section(text)
            if section is None:  # (yoyo's Python steps: the file's one checksum covers both)
                continue
            checksum = _sql_checksum(section)
            line = down_section_line(file)
        else:
            checksum = _sql_checksum(_read_text(down.file), *map(_read_text, down.includes))
            line = 1
        out.append(SqlMigrationEntry(
            LockEntry(_DOWN + _sql_key(down.file, base), checksum,
                      _relative(down.file, base)), down.file, line, key))
    return tuple(out)


def lockable(migrations: Sequence[Migration]) -> list[Migration]:
    """The migrations a lock holds: not Flyway's repeatable ones or callbacks, which it runs
    again when they change, nor graphile-migrate's current one, rewritten until committed."""
    from dbsafe.extract.migration import graphile_current

    return [m for m in migrations if m.file is not None and m.callback is None
            and not _flyway_repeatable(m) and not graphile_current(m.file)]


def write_sql(path: Path, migrations: Sequence[Migration], *, root: Path,
              sqitch_target: str | None = None) -> int:
    """Write the lock file of a folder's migrations; returns the number of migrations (its
    down migrations aside)."""
    _refuse_other_file(path)
    current = sql_entries(migrations, path.parent, root=root, sqitch_target=sqitch_target)
    try:
        write_text(path, render([c.entry for c in current], _SQL_HEADER))
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    return sum(not c.down for c in current)


def verify_sql(path: Path, migrations: Sequence[Migration], *, root: Path,
               sqitch_target: str | None = None, locked: LockFile | None = None,
               runner: str | None = None) -> tuple[Finding, ...]:
    """Compare a folder of SQL migrations with its lock file: a migration or its down edited
    (DBS421), not locked (DBS422: an error when it sorts before a locked one, which an ordered
    runner skips or refuses on a database past it, else a note: added after every locked one,
    it runs next), removed or renamed (DBS423), two sharing a version (DBS424:
    `shared_versions`), the lock's total (DBS425).

    `runner` is the folder's (`SqlFolder.runner`). Where it knows an applied migration by its
    version alone (`_BY_VERSION`), a file renamed behind the same version is the same
    migration: a note when only its name changed (it does not run again), DBS421 when its
    content changed too.

    Raises:
        ConfigError: the lock file is missing or malformed, a file cannot be read.
    """
    from dbsafe.migrate.histories import shared_version_findings

    lock = locked or read(path, merge=SQL_MERGE)
    shown = _relative(path, root)
    now = sql_entries(migrations, path.parent, root=root, sqitch_target=sqitch_target)
    current = {c.entry.revision: c for c in now}
    by_key = {e.revision: e for e in lock.entries}
    # Two migrations of one version (a branch's merged beside another's): the folder's
    # "several heads" (DBS424), which its runner refuses or runs only one of.
    out: list[Finding] = shared_version_findings(migrations)
    if lock.total != lock.computed_total:
        out.append(_total_edited(lock, shown, "migrations"))
    # A locked migration gone and a new one its runner knows by the same version (a runner
    # that records versions only), else one with its checksum: renamed (matched in order).
    new = [c for c in now if c.entry.revision not in by_key]
    renamed: dict[str, SqlMigrationEntry] = {}
    kept: dict[str, str] = {}  # locked key -> the version its renamed file keeps
    for entry in lock.entries:
        if entry.revision in current:
            continue
        down = entry.revision.startswith(_DOWN)
        version = _version(path.parent / entry.path, runner)
        twin = None if version is None else next(
            (c for c in new if c.down == down and c not in renamed.values()
             and _version(c.file, runner) == version), None)
        if twin is not None and version is not None:
            kept[entry.revision] = version
        else:
            twin = next((c for c in new if c.entry.checksum == entry.checksum
                         and c.down == down and c not in renamed.values()), None)
        if twin is not None:
            renamed[entry.revision] = twin
    moved = {t.entry.revision for t in renamed.values()}
    by_file = {m.file.resolve(): m for m in migrations if m.file is not None}
    for entry in lock.entries:
        where = Location(shown, entry.line)
        it = current.get(entry.revision)
        was = _relative(path.parent / entry.path, root)
        what = _what(entry.revision, was, current, root)
        if it is None:
            twin = renamed.get(entry.revision)
            if twin is not None and entry.revision in kept \
                    and twin.entry.checksum != entry.checksum:
                out.append(_renamed_and_changed(entry, twin, what, kept[entry.revision],
                                                runner, root))
                continue
            if twin is not None and twin.down and twin.up in moved:
                continue  # (the down section of a renamed file: said with it)
            if twin is not None and entry.revision in kept:
                out.append(Finding(
                    LOCKED_REVISION_MISSING.code,
                    f"{what} was renamed to {_relative(twin.file, root)} after it was locked; "
                    f"it keeps version {kept[entry.revision]}, by which {runner} knows it, so "
                    "it does not run again where it ran.",
                    Severity.NOTE, where, was,
                    help="Run `dbsafe lock` to lock it under its new name.",
                ))
                continue
            if entry.revision.startswith(_DOWN) and entry.revision[len(_DOWN):] in by_key \
                    and entry.revision[len(_DOWN):] not in current:
                continue  # (the down section of a file gone: said with it)
            severity = LOCKED_REVISION_MISSING.default_severity
            if twin is not None:
                consequence, severity, help_ = _renamed(
                    Path(entry.path).name, twin.file, by_file.get(twin.file.resolve()), runner)
                message = (f"{what} was renamed to {_relative(twin.file, root)} after it was "
                           f"locked: {consequence}.")
            elif (path.parent / entry.path).is_file():
                message = (f"{what} is in `{shown}`, and no longer one its runner applies (its "
                           "name or its folder's listing changed).")
                help_ = ("Restore its name or listing; if leaving it out is intended, run "
                         "`dbsafe lock`.")
            else:
                message = f"{what} is in `{shown}` but no longer in the folder."
                help_ = "Restore it; if removing it is intended, run `dbsafe lock`."
            out.append(Finding(LOCKED_REVISION_MISSING.code, message, severity, where, was,
                               help=help_))
        elif it.entry.checksum != entry.checksum:
            out.append(Finding(
                REVISION_CHANGED.code, f"{what} changed after it was locked.",
                REVISION_CHANGED.default_severity,
                Location(_relative(it.file, root), it.line), _relative(it.file, root),
                help="Undo the edit and put the change in a new migration: its runner never "
                     "runs an applied file again. If it never ran anywhere, run `dbsafe lock`"
                     + _cosmetic_edit(runner, it.file) + ".",
                context=(("Locked", entry.checksum), ("Now", it.entry.checksum)),
            ))
    twins = {id(t) for t in renamed.values()}
    # The migrations locked (renamed ones too) that a new one may not sort before.
    placed = [c for c in now if not c.down and (c.entry.revision in by_key or id(c) in twins)]
    ups = [c for c in now if not c.down]
    for it in now:
        if it.entry.revision in by_key or id(it) in twins:
            continue
        if it.down and it.up not in by_key:
            continue  # (a new or renamed migration's down: said with it)
        shown_file = _relative(it.file, root)
        where = Location(shown_file, it.line)
        if it.down:
            up_path = _relative(current[it.up].file, root)
            out.append(Finding(
                REVISION_NOT_LOCKED.code,
                f"The down migration of {up_path}"
                + ("" if it.file == current[it.up].file else f" ({shown_file})")
                + f" was added after {up_path} was locked.",
                REVISION_NOT_LOCKED.default_severity, where, shown_file,
                help="Run `dbsafe lock` and commit the lock file with the down migration.",
            ))
            continue
        position = ups.index(it)
        after = next((c for c in ups[position + 1:] if c in placed), None)
        if after is not None:
            later = _relative(after.file, root)
            out.append(Finding(
                REVISION_NOT_LOCKED.code,
                f"Migration {shown_file} is not in `{shown}` and sorts before {later}, which "
                f"is: on a database already past {later}, "
                f"{_inserted_before(runner, it.file, by_file.get(it.file.resolve()))}.",
                REVISION_NOT_LOCKED.default_severity, where, shown_file,
                help="Rename it so that it sorts after every migration already locked, then "
                     "run `dbsafe lock`.",
            ))
        else:
            out.append(Finding(
                REVISION_NOT_LOCKED.code,
                f"Migration {shown_file} is not in `{shown}` yet (it comes after every "
                "locked one).",
                Severity.NOTE, where, shown_file,
                help="Run `dbsafe lock` and commit the lock file with the migration.",
            ))
    return tuple(out)


# Runners that know an applied migration by its version alone, the leading number of its
# file's name: golang-migrate's and dbmate's history hold nothing else, and supabase's CLI
# reads only the version of its rows (a file renamed behind its version was "up to date" in
# `supabase db push`, CLI 2.122, as in dbsafe's status). The rest of the name is free.
_BY_VERSION = frozenset({"supabase", "golang-migrate", "dbmate"})


def _version(file: Path, runner: str | None) -> str | None:
    """The version `runner` knows `file` by, when it knows migrations by version alone."""
    if runner not in _BY_VERSION:
        return None
    from dbsafe.migrate.histories import file_version

    return file_version(file, runner)


def _renamed_and_changed(entry: LockEntry, twin: SqlMigrationEntry, what: str, version: str,
                         runner: str | None, root: Path) -> Finding:
    """DBS421 for a locked migration renamed behind its version and edited: its runner takes
    it for the migration it already ran, and never runs the edit where that one ran."""
    shown = _relative(twin.file, root)
    why = "" if twin.down else (f"; {runner} knows it by its version {version}, so a database "
                                "where it ran never runs the change")
    return Finding(
        REVISION_CHANGED.code,
        f"{what} was renamed to {shown} and changed after it was locked{why}.",
        REVISION_CHANGED.default_severity, Location(shown, twin.line), shown,
        help="Undo the edit and put the change in a new migration: its runner never runs an "
             "applied file again. If it never ran anywhere, run `dbsafe lock`.",
        context=(("Locked", entry.checksum), ("Now", twin.entry.checksum)),
    )


def _renamed(old: str, new: Path, migration: Migration | None,
             runner: str | None) -> tuple[str, Severity, str]:
    """What renaming a locked migration file `old` (a name) to `new` does where it ran, as
    its runner keys what it ran: the finding's consequence, severity and help.

    Flyway keys a versioned migration by its version and validates the description too
    (`validateOnMigrate`): either change makes it refuse to migrate a database that ran the
    file. goose, golang-migrate and dbmate record the version alone: a new name that keeps it
    is the migration that ran, and only the lock is out of date. Runners that record the
    file's name take it for a new migration. `runner`: the folder's (`_runner_of`)."""
    from dbsafe.migrate.histories import file_version

    back = "Give the file its name back; if it never ran anywhere, run `dbsafe lock`."
    if migration is not None and migration.flyway:
        from dbsafe.extract.flyway import FlywayNames, flyway_config

        names = flyway_config(new.parent).names
        before, after = names.parse(old), names.parse(new.name)
        if before is not None and after is not None and before[1] and after[1]:
            if FlywayNames.version_key(before[1]) == FlywayNames.version_key(after[1]):
                said = (f"Migration description mismatch for migration version {after[1]}")
            else:
                said = f"Detected applied migration not resolved locally: {before[1]}"
            return (f"Flyway's validation refuses to migrate a database that ran it (\"{said}\")",
                    Severity.ERROR, back)
    keyed = _runner_of(runner, new)
    if keyed in ("goose", "golang-migrate", "dbmate"):
        version = file_version(new, keyed)
        if version is not None and version == file_version(new.with_name(old), keyed):
            return (f"{keyed} records its version alone, {version}, which the new name "
                    "keeps: a database that ran it takes it as applied, and only the lock is "
                    "out of date", Severity.NOTE,
                    "Run `dbsafe lock` to record its new name.")
    return "its runner takes it for a new migration, and runs it again where it ran", \
        Severity.ERROR, back


def _what(key: str, shown: str, current: Mapping[str, SqlMigrationEntry], root: Path) -> str:
    """How a finding names a locked entry (`shown`: its path from the project root):
    "Migration x.sql", "The down section of migration x.sql", "The down migration of x.sql
    (x.down.sql)"."""
    if not key.startswith(_DOWN):
        return f"Migration {shown}"
    it = current.get(key)
    up = current.get(it.up) if it is not None else current.get(key[len(_DOWN):])
    if up is None:
        return f"Down migration {shown}"
    up_shown = _relative(up.file, root)
    if up_shown == shown:
        return f"The down section of migration {shown}"
    return f"The down migration of {up_shown} ({shown})"


def _flyway_repeatable(migration: Migration) -> bool:
    """A Flyway repeatable migration (`R__x.sql`): Flyway runs it again whenever it changes."""
    if not migration.flyway or migration.file is None:
        return False
    from dbsafe.extract.flyway import flyway_config

    kind = flyway_config(migration.file.parent).names.parse(migration.file.name)
    return kind is not None and kind[0] == "R"


def _sql_key(file: Path, base: Path) -> str:
    """A file's key in the lock: its path relative to the lock's folder, quoted (a space is
    `%20`: the key is the line's first word)."""
    return quote(_relative(file, base), safe="/")


def _sql_checksum(*texts: str) -> str:
    digest = hashlib.sha256()
    for text in texts:
        for line in text.splitlines():
            if line := line.rstrip():
                digest.update(line.encode("utf-8", "surrogateescape") + b"\n")
        digest.update(b"\0")
    return f"{ALGORITHM}:{digest.hexdigest()}"


def _read_text(file: Path) -> str:
    try:
        return file.read_bytes().decode("utf-8-sig", errors="surrogateescape")
    except OSError as exc:
        raise ConfigError(f"cannot read {file}: {exc.strerror or exc}") from None


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

"""The state every guarded run carries (`upgrade`, `downgrade`), and how it reports.

A run says each step as it happens (`say`: kept in its story, handed to the progress
callback, which the CLI shows), collects findings, knows the revisions it started from and
aims at, the backup it took, the revision it is applying and who holds the locks that
revision waits for. `upgrade.py` and `downgrade.py` extend it with their options and what
only they track.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dbsafe.guard.blockers import LOCK_WAITS

if TYPE_CHECKING:
    from dbsafe.config import Settings
    from dbsafe.core import Finding
    from dbsafe.guard.blockers import Blocker, BlockerWatch
    from dbsafe.guard.lock import RunLock
    from dbsafe.migrate.runner import AlembicProject, ApplySession
    from dbsafe.schema.model import SchemaSnapshot

Progress = Callable[[str, str], None]


@dataclass(frozen=True, slots=True)
class LockWaits:
    """How a run waits for locks: each statement at most `lock_timeout` (`--lock-timeout`;
    None: the session's own), tried again `retries` times after a backoff from
    `retry_delay` (`--retries`, `--retry-delay`). Its revisions and its reads of the schema
    between them (`upgrade.read_schema`) alike."""

    lock_timeout: str | None = None
    retries: int = 0
    retry_delay: float = 1.0


@dataclass
class RunState:
    settings: Settings
    url: str
    progress: Progress
    project: AlembicProject
    findings: list[Finding] = field(default_factory=list)
    story: list[str] = field(default_factory=list)
    start: tuple[str, ...] = ()
    target: tuple[str, ...] = ()
    backup_file: str | None = None
    started: float = field(default_factory=time.perf_counter)
    run_id: str | None = None  # its row in dbsafe.history, once it changes anything
    session: ApplySession | None = None  # the env.py child applying its revisions
    # While a revision is being applied: the revisions the database was at before it, and
    # its schema then (what an interrupted attempt left is whatever is new next to it).
    in_flight: tuple[tuple[str, ...], SchemaSnapshot] | None = None
    # Interrupted: what of the work in flight stays (said, and recorded in the history).
    interrupted_note: str | None = None
    # While revisions are applied: who holds the locks their statements wait for.
    blockers: BlockerWatch | None = None
    waits: LockWaits = LockWaits()
    lock: RunLock | None = None  # the run lock, confirmed before each revision
    # Once a revision is applied: where the run is ("after 0001 was applied (before 0002)")
    # and the revisions the database is at then, said if the server cannot be reached there.
    position: tuple[str, tuple[str, ...]] | None = None

    def say(self, step: str, message: str) -> None:
        self.story.append(f"{step}: {message}")
        self.progress(step, message)

    def show_revisions(self, names: Sequence[str], done: int) -> None:
        show_revisions(self.progress, names, done)

    def backup_dir(self, directory: Path) -> Path:
        """`directory` (--backup-dir) as given when absolute, else in the project."""
        return directory if directory.is_absolute() else self.settings.project_root / directory

    def lock_holders(self, sqlstate: str | None) -> tuple[Blocker, ...]:
        """The sessions the watch last saw holding the lock a statement that failed with
        `sqlstate` waited for: for a lock timeout or a deadlock, else none."""
        if self.blockers is None or sqlstate not in LOCK_WAITS:
            return ()
        return self.blockers.seen()

    def elapsed(self) -> float:
        return round(time.perf_counter() - self.started, 3)

    def restore_command(self, *, replace: bool = False) -> str:
        """The `dbsafe restore` of the backup the run took, as a DBA can paste it."""
        if not self.backup_file:
            return "no backup was taken (--no-backup)"
        return restore_command(self.backup_file, self.url, self.settings, replace=replace)


def restore_command(backup_file: str, url: str, settings: Settings, *,
                    replace: bool = False) -> str:
    """`dbsafe restore BACKUP` with the database it restores to: without it, the command
    printed restored nowhere (no URL in the DBA's shell). Never with a password: the
    variable the URL came from, else the URL without it, read by libpq from PGPASSWORD or
    ~/.pgpass.

    >>> from dbsafe.config import Settings
    >>> restore_command("b/x.dump", "postgresql://app:pw@db/shop", Settings(Path("/p")))
    'dbsafe restore b/x.dump --database-url postgresql://app@db/shop (password from \
PGPASSWORD or ~/.pgpass)'
    >>> env = Settings(Path("/p"), origins={"database-url": "environment variable X_URL"})
    >>> restore_command("x.dump", "postgresql://app:pw@db/shop", env, replace=True)
    'dbsafe restore x.dump --database-url "$X_URL" --replace'
    """
    import shlex

    from dbsafe.pg.urls import without_password

    origin = settings.origins.get("database-url", "")
    variable = origin.removeprefix("environment variable ")
    kept = without_password(url)
    where = f'"${variable}"' if variable != origin else shlex.quote(kept)
    command = (f"dbsafe restore {shlex.quote(backup_file)} --database-url {where}"
               + (" --replace" if replace else ""))
    return command + (" (password from PGPASSWORD or ~/.pgpass)"
                      if variable == origin and kept != url else "")


def show_revisions(progress: Progress, names: Sequence[str], done: int) -> None:
    """Tell a display that draws the revisions (`guard.display.LiveDisplay`) how far the run
    is; a plain progress callback has no use for it."""
    show = getattr(progress, "revisions", None)
    if show is not None:
        show(names, done)

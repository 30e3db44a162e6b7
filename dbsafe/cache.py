"""The cache directory (`.dbsafe_cache/` by default): writing into it safely.

Every cache file goes through `write_cache_file`, so the directory always ignores itself
in git (as ruff's and pytest's do) and a file is never left half-written.
"""

from __future__ import annotations

import logging
from pathlib import Path

from dbsafe.files import write_text

log = logging.getLogger(__name__)


def write_cache_file(path: Path, text: str) -> None:
    """Write `text` to `path` atomically; a failure is logged, never raised.

    A read-only checkout still works, just without the cache.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        ignore = path.parent / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# created by dbsafe\n*\n", encoding="utf-8")
        write_text(path, text)
    except OSError as exc:
        log.info("could not write cache %s: %s", path, exc)

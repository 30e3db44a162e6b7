"""Writing the files a user named (`-o`, snapshots, baselines, the lock file) and the cache.

A file is replaced only once its new content is complete: a full disk or an interrupted run
keeps the previous report instead of leaving it empty, and no `*.tmp` stays behind. What is
not a regular file (`-o /dev/stdout`, a named pipe, a terminal) is written in place, never
replaced; a symbolic link keeps pointing where it did and its target gets the content.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[BinaryIO]:
    """A binary file whose content replaces `path`'s when the block ends without error.

    Example:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "report.txt"
        >>> _ = target.write_text("old")
        >>> try:
        ...     with replacing(target) as out:
        ...         _ = out.write(b"half of the new")
        ...         raise OSError(28, "No space left on device")
        ... except OSError:
        ...     pass
        >>> target.read_text(), sorted(p.name for p in target.parent.iterdir())
        ('old', ['report.txt'])
    """
    try:
        mode = os.stat(path).st_mode  # follows a link: its target is what gets written
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        with open(path, "wb") as out:
            yield out
        return
    real = Path(os.path.realpath(path))
    # The pid keeps concurrent runs (pre-commit, an editor) from sharing a temp file.
    tmp = real.with_name(f"{real.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as out:
            yield out
        if mode is not None:  # a report kept private (0600) stays private
            os.chmod(tmp, stat.S_IMODE(mode))
        os.replace(tmp, real)
    except BaseException:  # a full disk, Ctrl-C: the old file stays, the temp file goes
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_text(path: Path, text: str) -> None:
    """Replace `path`'s content with `text` (UTF-8) in one step; see `replacing`."""
    with replacing(path) as out:
        out.write(text.encode("utf-8"))

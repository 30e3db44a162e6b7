"""Writing the files a user named (`-o`, snapshots, baselines, the lock file) and the cache.

A file is replaced only once its new content is complete: a full disk or an interrupted run
keeps the previous report instead of leaving it empty, and no `*.tmp` stays behind. What is
not a regular file (`-o /dev/stdout`, a named pipe, a terminal) is written in place, never
replaced; a symbolic link keeps pointing where it did and its target gets the content; a
file mounted on its own (in a container) gets the complete content copied in.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
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
        try:
            os.replace(tmp, real)
        except OSError as exc:
            if exc.errno not in (errno.EBUSY, errno.EXDEV):
                raise
            # A file mounted on its own (a container's `-v report.json:/out/report.json`)
            # cannot be renamed over: its content is copied in place, complete already.
            shutil.copyfile(tmp, real)
            tmp.unlink()
    except BaseException:  # a full disk, Ctrl-C: the old file stays, the temp file goes
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_text(path: Path, text: str) -> None:
    """Replace `path`'s content with `text` (UTF-8) in one step; see `replacing`."""
    with replacing(path) as out:
        out.write(text.encode("utf-8"))

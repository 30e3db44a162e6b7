"""Which source files git reports as changed since a ref (`validate --changed-since`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from dbsafe.core import SourceError


def changed_files(root: Path, ref: str) -> set[Path]:
    """Files changed since git `ref`: committed, staged, unstaged or untracked (not ignored).

    Paths are absolute. Deleted files are included (callers keep the ones that exist).

    Raises:
        SourceError: git is missing, `root` is not in a work tree, or `ref` is unknown.
    """
    def git(*args: str) -> list[str]:
        try:
            result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                                    check=True)
        except FileNotFoundError:
            raise SourceError("--changed-since needs git, which is not installed") from None
        except subprocess.CalledProcessError as exc:
            message = (exc.stderr or "").strip().splitlines()
            raise SourceError(f"git could not compare with {ref!r}: "
                              f"{message[0] if message else exc}") from None
        return [line for line in result.stdout.splitlines() if line]

    if ref.startswith("-"):  # no ref starts with a dash: git would take it as an option
        raise SourceError(f"--changed-since {ref!r} is not a git ref (git would read it as "
                          "one of its options)")
    top = Path(git("rev-parse", "--show-toplevel")[0])
    # Both lists relative to the top of the work tree, wherever `root` sits in it.
    names = git("diff", "--name-only", ref, "--") + git(
        "ls-files", "--others", "--exclude-standard", "--full-name", "--", str(top))
    return {(top / name).resolve() for name in names}

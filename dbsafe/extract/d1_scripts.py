"""The `.sql` files a project's npm scripts send to Cloudflare D1 with wrangler.

`wrangler d1 execute <database> --file <path>` runs a file on a D1 (SQLite) database, local or
remote: vogelibizz's `"db:seed:local": "wrangler d1 execute vogelibizz --local --file
./src/db/seeds/seed-full.sql"`. Such a file is SQLite's, whatever else the project keeps:
its `PRAGMA foreign_keys=OFF` and its unquoted `usdRate` (SQLite's names ignore case) were
101 errors against the project's PostgreSQL folder of migrations. The scripts read are those
of the `package.json` files `js_packages.manifests` reads (the root, its folders, the packages
of its workspace folders); the path is the script's, relative to that `package.json`'s
folder, where npm runs it.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path

_D1 = "Cloudflare D1 (SQLite)"
# What separates the commands of one script (`a && b`, `a; b`, `a || b`, `a | b`).
_SEPARATORS = frozenset({"&&", "||", ";", "|", "&"})


@dataclass(frozen=True, slots=True)
class D1Script:
    """A script of a `package.json` running a file on D1, as a skip reason says it."""

    manifest: str  # the package.json, as the walk gives it
    script: str  # the script's name

    def reason(self, root: Path) -> str:
        from dbsafe.extract.files import display_path

        return (f"sent to {_D1}, not PostgreSQL (`{self.script}` of "
                f"{display_path(Path(self.manifest), root)} runs it with wrangler d1 execute)")


class D1ScriptFiles:
    """Which `.sql` files the project's npm scripts run on D1; its `package.json` files are
    read once, at the first question."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._files: dict[str, D1Script] | None = None

    def of(self, path: str) -> D1Script | None:
        """The script running the file at `path` on D1, or None."""
        if not path.endswith(".sql"):
            return None
        if self._files is None:
            self._files = _script_files(self._root)
        return self._files.get(os.path.realpath(path)) if self._files else None


def _script_files(root: Path) -> dict[str, D1Script]:
    from dbsafe.extract.js_packages import manifests

    found: dict[str, D1Script] = {}
    for folder, manifest in manifests(root):
        scripts = manifest.get("scripts") if isinstance(manifest, dict) else None
        if not isinstance(scripts, dict):
            continue
        for name, command in scripts.items():
            if not isinstance(command, str) or "d1" not in command:
                continue
            for file in d1_executed_files(command):
                found.setdefault(os.path.realpath(folder / file),
                                 D1Script(str(folder / "package.json"), str(name)))
    return found


def d1_executed_files(command: str) -> list[str]:
    """The files `command`, an npm script, runs with `wrangler d1 execute ... --file`.

    >>> d1_executed_files("wrangler d1 execute app --local --file ./seed.sql && vite dev")
    ['./seed.sql']
    >>> d1_executed_files("npx wrangler d1 execute DB --remote --file=db/a.sql; psql -f b.sql")
    ['db/a.sql']
    >>> d1_executed_files("wrangler d1 migrations apply app --local")
    []
    """
    try:
        words = shlex.split(command)
    except ValueError:
        return []
    files: list[str] = []
    commands: list[list[str]] = [[]]
    for word in words:
        if word in _SEPARATORS:
            commands.append([])
        else:
            commands[-1].append(word.rstrip(";"))
    for each in commands:
        if "wrangler" not in {os.path.basename(w) for w in each}:
            continue
        at = next((i for i, w in enumerate(each) if os.path.basename(w) == "wrangler"), 0)
        if each[at + 1:at + 3] != ["d1", "execute"]:
            continue
        for i, word in enumerate(each):
            if word == "--file" and i + 1 < len(each):
                files.append(each[i + 1])
            elif word.startswith("--file="):
                files.append(word.partition("=")[2])
    return files

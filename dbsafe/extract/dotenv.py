"""The `NAME=value` lines of a dotenv file (`.env`), as the runners and tools that load one
read them: validate's own Supabase project references, goose's and dbmate's table names
(`dbsafe.migrate.histories`)."""

from __future__ import annotations

import re
from pathlib import Path

_ENV_LINE = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)")


def env_entries(path: Path) -> list[tuple[str, str]]:
    """The `NAME=value` lines of a dotenv file (`export` allowed; quotes and a trailing
    ` # comment` taken off), in order; [] for a file that cannot be read or is large."""
    try:
        if path.stat().st_size > 256_000:
            return []
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    entries: list[tuple[str, str]] = []
    for line in text.splitlines():
        match = _ENV_LINE.fullmatch(line)
        if match is None or line.lstrip().startswith("#"):
            continue
        value = match[2].strip()
        if value[:1] in ("'", '"') and value[:1] in value[1:]:
            value = value[1:value.index(value[0], 1)]
        else:
            value = value.split(" #", 1)[0].strip()
        entries.append((match[1], value))
    return entries

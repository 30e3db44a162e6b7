"""A Supabase project's `config.toml`, as the readers of its tables take it."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def read_config(path: Path) -> dict[str, Any]:
    """The tables of a Supabase `config.toml` (`[api]`, `[db]`, `[remotes.*]`, ...); {} for
    a file that is missing or that Supabase's CLI would refuse too (not UTF-8, not TOML).

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "config.toml").write_text('[db]\\nmajor_version = 17\\n')
    >>> read_config(folder / "config.toml")
    {'db': {'major_version': 17}}
    >>> read_config(folder / "missing.toml")
    {}
    """
    import tomllib

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}

"""The one alembic runner: render revisions offline, apply them to a throwaway or a named
database, walk up and down -- always in a sandboxed child process that keeps the project's
`env.py` on the database dbsafe chose.

Example:
    >>> from pathlib import Path
    >>> from dbsafe.migrate import AlembicProject
    >>> AlembicProject(Path("alembic.ini")).ini_section
    'alembic'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dbsafe.migrate.fingerprint import migrations_cache_key, script_locations
    from dbsafe.migrate.render import render_revisions
    from dbsafe.migrate.runner import (
        AlembicProject,
        ApplySession,
        MigrationError,
        Revision,
        RunResult,
        apply,
        render_downgrade_offline,
        render_offline,
        verify_applied,
    )
    from dbsafe.migrate.throwaway import migrated_database

# Loaded on first use: a command that needs one small module of the package
# (`dbsafe.migrate.waits`, as backup and restore do) does not pay for the runner, the
# renderer and the migration reader they import (~30 ms before pg_restore could start).
_HOME = {
    "migrations_cache_key": "fingerprint", "script_locations": "fingerprint",
    "render_revisions": "render", "migrated_database": "throwaway",
    **dict.fromkeys(("AlembicProject", "ApplySession", "MigrationError", "Revision",
                     "RunResult", "apply", "render_downgrade_offline", "render_offline",
                     "verify_applied"), "runner"),
}


def __getattr__(name: str) -> Any:
    import importlib

    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "AlembicProject",
    "ApplySession",
    "MigrationError",
    "Revision",
    "RunResult",
    "apply",
    "migrated_database",
    "migrations_cache_key",
    "render_downgrade_offline",
    "render_offline",
    "render_revisions",
    "script_locations",
    "verify_applied",
]

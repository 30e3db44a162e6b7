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

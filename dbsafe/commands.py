"""The dbsafe verbs. Each takes Settings first and returns a Report (or a snapshot).

These functions are the public Python API; the CLI is a thin wrapper over them. They never
print or exit.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dbsafe.core import ConfigError, Report, RuleInfo

if TYPE_CHECKING:
    from dbsafe.config import Settings
    from dbsafe.schema.model import SchemaSnapshot


def catalog() -> dict[str, RuleInfo]:
    """Every code dbsafe can report, keyed by code."""
    from dbsafe import validate
    from dbsafe.extract import suppressions

    entries = (*suppressions.RULES, *validate.RULES)
    return {info.code: info for info in entries}


def schema_dump(settings: Settings) -> SchemaSnapshot:
    """The schema from the configured source (database, snapshot or migrations)."""
    from dbsafe.schema.sources import load_schema

    with load_schema(settings) as source:
        return source.snapshot


def validate(settings: Settings, paths: Sequence[Path] = ()) -> Report:
    """Report application SQL that references tables or columns the schema lacks.

    Args:
        settings: Resolved settings (see `config.load_settings`).
        paths: files or directories to scan; empty means the `source-paths` setting.

    Returns:
        A report with one finding per unknown table/column (confirmed by PostgreSQL when a
        database is at hand), suppressions applied, and counts in `summary`.
    """
    from dbsafe.scan import scan
    from dbsafe.schema.sources import load_schema

    started = time.perf_counter()
    codes = catalog()
    check_codes(settings.select, codes, "select")
    check_codes(settings.ignore, codes, "ignore")
    check_codes(tuple(settings.severity), codes, "severity")
    if not paths:
        paths = [settings.project_root / p for p in settings.source_paths]
    with load_schema(settings) as source:
        report = scan(paths, source, settings, codes)
    summary = dict(report.summary)
    summary["schema_source"] = source.description
    summary["elapsed_seconds"] = round(time.perf_counter() - started, 3)
    return Report(report.findings, summary, report.skipped)


def check_codes(codes: Sequence[str], known: dict[str, RuleInfo], key: str) -> None:
    """Raise ConfigError for codes or prefixes in `key` that match no known code."""
    unknown = [c for c in codes if not any(k.startswith(c.upper()) for k in known)]
    if unknown:
        raise ConfigError(f"`{key}` names unknown code(s): {', '.join(unknown)} "
                          f"(known: {', '.join(sorted(known))})")

"""Database health checks: the SQL check format, the read-only runner, the built-in checks.

The built-in checks are SQL files in `dbsafe/checks/builtin/` (shipped in the wheel); a
project adds its own folders with `check-paths` (this repository's top-level `checks/` is
the example). Nothing here ever writes to the database it checks.

Library API (used by `dbsafe check` and by `dbsafe upgrade`'s postflight):

- `run_checks(conninfo, only=..., settings=...) -> list[Finding]`
- `check_expectations(source, settings=...) -> list[Finding]`
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dbsafe.checks.expect import EXPECTATION_NOT_MET, check_expectations, load_expectations
from dbsafe.checks.loader import Check, builtin_checks, load_checks, parse_check
from dbsafe.checks.runner import CHECK_FAILED, CheckResult, connect, run, select_checks
from dbsafe.core import Finding, RuleInfo

if TYPE_CHECKING:
    from dbsafe.config import Settings


def project_checks(settings: Settings) -> tuple[Check, ...]:
    """The built-ins plus the checks in `settings.check_paths` (relative to the project)."""
    return load_checks(settings.project_root / p for p in settings.check_paths)


def run_checks(conninfo: str, *, only: Sequence[str] = (),
               settings: Settings | None = None) -> list[Finding]:
    """Run the built-in and project checks against a live database; it is never written to.

    Args:
        conninfo: libpq URL, key/value conninfo, or SQLAlchemy URL (`postgresql+psycopg://`).
        only: check codes or code prefixes to run (`["DBS501", "DBS51"]`); empty runs all.
        settings: check paths, timeouts and thresholds; None uses the defaults.

    Returns:
        One finding per problem; a check that failed to run yields one DBS004 finding.
        `select`/`ignore`/severity overrides are not applied here (`commands.check` does).

    Raises:
        ConfigError: a check file is malformed or `only` names an unknown code.
        DatabaseError: the database cannot be reached.
    """
    settings = _settings(settings)
    checks = select_checks(project_checks(settings), only)
    with connect(conninfo) as conn:
        results = run(conn, checks, settings, conninfo=conninfo)
    return [f for result in results for f in result.findings]


def expectations_selected(only: Sequence[str]) -> bool:
    """Whether `--only` (empty: everything) includes the schema expectations (DBS550).

    >>> expectations_selected([]), expectations_selected(["DBS5"]), expectations_selected(["DBS501"])
    (True, True, False)
    """
    return not only or any(EXPECTATION_NOT_MET.code.startswith(o.upper()) for o in only)


def _settings(settings: Settings | None) -> Settings:
    from dbsafe.config import Settings

    return settings if settings is not None else Settings(project_root=Path.cwd())


def catalog_entries() -> tuple[RuleInfo, ...]:
    """Catalog entries of the built-in checks, DBS004 and DBS550."""
    return (CHECK_FAILED, *(c.info for c in builtin_checks()), EXPECTATION_NOT_MET)


def documentation() -> dict[str, tuple[RuleInfo, str]]:
    """Markdown docs of every built-in check (and DBS550), keyed by code, for --explain/docs."""
    from dbsafe.checks.expect import DOC as EXPECT_DOC

    docs = {c.code: (c.info, f"{c.summary}\n\n{c.description}\n\n## Fix\n{c.help}\n")
            for c in builtin_checks()}
    docs[EXPECTATION_NOT_MET.code] = (EXPECTATION_NOT_MET, EXPECT_DOC)
    return docs


__all__ = ["CHECK_FAILED", "EXPECTATION_NOT_MET", "Check", "CheckResult", "builtin_checks",
           "catalog_entries", "check_expectations", "connect", "documentation",
           "expectations_selected", "load_checks",
           "load_expectations", "parse_check", "project_checks", "run", "run_checks",
           "select_checks"]

"""Run `dbsafe lint`: load migrations, run the selected rules, weigh findings, suppress.

Database facts (schema before the migrations, table sizes, server version) are gathered by
the caller and passed in as `DatabaseFacts`: this package never connects to a database.
"""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dbsafe.core import Finding, Report, RuleInfo, Severity, SourceError, select_findings

if TYPE_CHECKING:
    from dbsafe.config import Settings
    from dbsafe.extract.migration import Migration
    from dbsafe.lint.app_references import Application
    from dbsafe.schema.model import SchemaSnapshot
    from dbsafe.schema.stats import TableStats

DEFAULT_TARGET_VERSION = 150000
RULE_INFO_CODE = "DBS211"


@dataclass(frozen=True)
class DatabaseFacts:
    """What a live database tells the linter (all optional)."""

    before: SchemaSnapshot | None = None
    sizes: Mapping[str, TableStats] = field(default_factory=dict)
    server_version: int | None = None
    search_path: tuple[str, ...] = ("public",)


def load_migrations(settings: Settings, paths: Sequence[Path] = (), *,
                    since: str | None = None, changed_since: str | None = None) -> list[Migration]:
    """The migrations `paths` name, or every alembic revision when `paths` is empty.

    A path inside the alembic script location (the versions folder, one revision's `.py`
    file) selects those alembic revisions, rendered as alembic runs them; other paths are
    SQL migration files or folders of them.
    """
    from dbsafe.extract.migration import sql_migrations
    from dbsafe.migrate import AlembicProject, render_revisions

    root = settings.project_root
    project = AlembicProject.from_settings(settings)
    if paths:
        revision_paths, sql_paths = _split_paths(project.ini, paths)
        migrations = sql_migrations(
            sql_paths, root=root,
            wrapped_in_transaction=settings.sql_migrations_in_transaction) if sql_paths else []
        if revision_paths:
            selected = [m for m in render_revisions(project, root=root, since=since)
                        if m.file is not None and _under(m.file, revision_paths)]
            migrations = selected + migrations
    else:
        migrations = render_revisions(project, root=root, since=since)
    if changed_since:
        changed = changed_files(root, changed_since)
        migrations = [m for m in migrations if m.file is not None and m.file.resolve() in changed]
    return migrations


def _split_paths(alembic_ini: Path, paths: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """(paths inside the alembic script location, the others)."""
    from dbsafe.core import ConfigError
    from dbsafe.migrate import script_locations

    locations: list[Path] = []
    if alembic_ini.is_file():
        try:
            locations = [p.resolve() for p in script_locations(alembic_ini)]
        except ConfigError:
            locations = []
    revisions: list[Path] = []
    sql: list[Path] = []
    for path in paths:
        if not path.exists():
            raise SourceError(f"no such file or directory: {path}")
        resolved = path.resolve()
        inside = any(resolved == loc or loc in resolved.parents for loc in locations)
        if inside and (path.is_dir() or path.suffix == ".py"):
            revisions.append(resolved)
        elif path.suffix == ".py":
            raise SourceError(
                f"{path} is a Python file outside the alembic script location"
                f"{' (' + ', '.join(str(x) for x in locations) + ')' if locations else ''}; "
                "pass a revision of the alembic environment (see --alembic-config) or a "
                ".sql migration")
        else:
            sql.append(path)
    return revisions, sql


def _under(file: Path, selected: Sequence[Path]) -> bool:
    resolved = file.resolve()
    return any(resolved == p or p in resolved.parents for p in selected)


def changed_files(root: Path, ref: str) -> set[Path]:
    """Files changed since git `ref` (committed, staged, unstaged or untracked)."""
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

    top = Path(git("rev-parse", "--show-toplevel")[0])
    names = git("diff", "--name-only", ref) + git("ls-files", "--others", "--exclude-standard")
    return {(top / name).resolve() for name in names}


def lint_migrations(migrations: Sequence[Migration], settings: Settings,
                    catalog: Mapping[str, RuleInfo],
                    facts: DatabaseFacts | None = None,
                    app: Application | None = None) -> Report:
    """Run the selected rules over `migrations`; returns findings with suppressions applied.

    With `app`, removals the application's queries still use are reported too (DBS211).
    """
    from dbsafe.extract.suppressions import apply as apply_suppressions
    from dbsafe.lint import app_references
    from dbsafe.lint.engine import lint_migration, select_rules
    from dbsafe.lint.rules import ALL_RULES

    facts = facts or DatabaseFacts()
    rules = select_rules(ALL_RULES, settings.select, settings.ignore)
    target = settings.target_version or facts.server_version or DEFAULT_TARGET_VERSION
    report_unparsed = not any("DBS001".startswith(c.upper()) for c in settings.ignore)
    findings: list[Finding] = []
    statements = 0
    for migration in migrations:
        statements += sum(1 for s in migration.statements if not s.generated)
        findings.extend(lint_migration(
            migration, rules, report_unparsed=report_unparsed, target_version=target,
            timeouts_managed=settings.managed_timeouts, before=facts.before,
            table_sizes={k: (v.total_bytes, v.rows) for k, v in facts.sizes.items()},
            large_table_bytes=settings.large_table,
        ))
    findings = [_weigh(f, facts, settings) for f in findings]
    checked = app_references.Outcome()
    if app is not None and app_references.enabled(settings):
        checked = app_references.check(migrations, app)
        findings.extend(checked.findings)
    files = {str(m.file) for m in migrations if m.file is not None}
    by_display = {m.path: m.file for m in migrations if m.file is not None}
    findings = list(apply_suppressions(
        findings,
        read_source=lambda p: _read(by_display.get(p)),
        known_codes=catalog,
        scanned_paths=list(by_display),
        checked_codes=[c for c in catalog if c.startswith(("DBS0", "DBS1", "DBS2"))],
    ))
    findings = select_findings(findings, select=settings.select, ignore=settings.ignore,
                               severity=settings.severity)
    summary: dict[str, object] = {
        "migrations": len(migrations),
        "files": len(files),
        "statements": statements,
        "target_version": target,
    }
    if checked.queries:
        summary["application_statements"] = checked.queries
    if checked.skipped:
        # Said in the normal output, not only with -v: a missing DBS211 is not a pass.
        summary["not_checked"] = [f"{RULE_INFO_CODE}: {s.reason}" for s in checked.skipped]
    return Report(tuple(findings), summary, tuple(checked.skipped))


def _read(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _weigh(finding: Finding, facts: DatabaseFacts, settings: Settings) -> Finding:
    """Attach the table's size; a locking finding on a small table is only a warning."""
    if not facts.sizes or not finding.subject:
        return finding
    stats = _lookup(finding.subject, facts)
    if stats is None:
        return finding
    context = finding.context + (("Table size", stats.describe()),)
    severity = finding.severity
    if (finding.code.startswith("DBS1") and severity is Severity.ERROR
            and stats.total_bytes < settings.large_table):
        severity = Severity.WARNING
    return dataclasses.replace(finding, context=context, severity=severity)


def _lookup(subject: str, facts: DatabaseFacts) -> TableStats | None:
    name = subject.split(" ")[0].strip("`")
    if name in facts.sizes:
        return facts.sizes[name]
    if "." not in name:
        for schema in facts.search_path:
            stats = facts.sizes.get(f"{schema}.{name}")
            if stats is not None:
                return stats
    return None

"""The dbsafe verbs. Each takes Settings first and returns a Report (or a snapshot).

These functions are the public Python API; the CLI is a thin wrapper over them. They never
print or exit.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from dbsafe.core import ConfigError, DbsafeError, Report, RuleInfo, SourceError, unknown_codes

if TYPE_CHECKING:
    from collections.abc import Callable

    from dbsafe.config import Settings
    from dbsafe.core import Finding
    from dbsafe.gates.reversible import WalkResult
    from dbsafe.guard.downgrade import DowngradeOptions
    from dbsafe.guard.upgrade import Progress, UpgradeOptions
    from dbsafe.lint.locks import LockRow
    from dbsafe.lint.run import Loaded
    from dbsafe.migrate.histories import Lookup
    from dbsafe.schema.ddl import Statement
    from dbsafe.schema.diff import DiffOptions
    from dbsafe.schema.model import SchemaSnapshot
    from dbsafe.sources import SqlFolder


log = logging.getLogger(__name__)
_P = ParamSpec("_P")
_R = TypeVar("_R")


def _on_dev_server(command: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run `command` (whose first argument is the settings) with the schemas it builds made
    on the `dev-url` server, when one is set, instead of a throwaway embedded PostgreSQL
    (`dbsafe.pg.throwaway.on_dev_server`)."""
    @functools.wraps(command)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        settings = args[0] if args else kwargs["settings"]
        url = getattr(settings, "dev_url", None)
        if url is None:
            return command(*args, **kwargs)
        from dbsafe.pg.throwaway import on_dev_server

        with on_dev_server(url):
            return command(*args, **kwargs)
    return run


def catalog() -> dict[str, RuleInfo]:
    """Every code dbsafe can report, keyed by code (a new dict each call).

    Read from `dbsafe/_codes.py`, which `scripts/gen_docs.py` generates from
    `defined_codes()` (tests/test_catalog.py fails when it is stale): every run asks for the
    catalog, and importing the sixty modules that define the codes cost more than the rest of
    a small `dbsafe validate`.
    """
    return dict(_catalog())


@functools.cache
def _catalog() -> dict[str, RuleInfo]:
    from dbsafe._codes import CODES
    from dbsafe.core import Severity

    return {code: RuleInfo(code, name, summary, Severity(severity), since)
            for code, name, severity, since, summary in CODES}


def defined_codes() -> dict[str, RuleInfo]:
    """Every code as the modules defining it say (imports them all; see `catalog()`)."""
    from dbsafe import validate
    from dbsafe.extract import suppressions
    from dbsafe.gates import RULES as GATE_RULES
    from dbsafe.guard.downgrade import RULES as DOWNGRADE_RULES
    from dbsafe.guard.upgrade import RULES as GUARD_RULES
    from dbsafe.lint import app_references
    from dbsafe.lint.engine import UNPARSED
    from dbsafe.lint.history import NOT_LINTED
    from dbsafe.lint.rules import ALL_RULES
    from dbsafe.schema.diff import RULES as DIFF_RULES
    from dbsafe.validate.codes import MIGRATION_STATEMENT_FAILED

    entries = (UNPARSED, NOT_LINTED, MIGRATION_STATEMENT_FAILED, *suppressions.RULES,
               *(r.info for r in ALL_RULES),
               app_references.RULE_INFO, *validate.RULES, *GUARD_RULES, *DIFF_RULES,
               *GATE_RULES, *DOWNGRADE_RULES)
    from dbsafe.checks import catalog_entries as check_entries
    from dbsafe.checks.refresh import RULES as REFRESH_RULES

    return {info.code: info for info in (*entries, *check_entries(), *REFRESH_RULES)}


def explain(code: str) -> str:
    """The documentation of a code (`dbsafe lint --explain DBS101`)."""
    from dbsafe.lint import documentation

    code = code.upper()
    from dbsafe.checks import documentation as check_documentation
    from dbsafe.validate import documentation as validate_documentation

    documented = (documentation().get(code) or check_documentation().get(code)
                  or validate_documentation().get(code))
    if documented is not None:
        entry, doc = documented
        return f"{entry.code} {entry.name} ({entry.default_severity.value}, since " \
               f"{entry.since})\n\n{doc.strip()}\n"
    info = catalog().get(code)
    if info is None:
        raise ConfigError(unknown_codes([code], catalog()))
    return f"{info.code} {info.name} ({info.default_severity.value}, since {info.since})\n\n" \
           f"{info.summary}\n"


@_on_dev_server
def schema_dump(settings: Settings) -> SchemaSnapshot:
    """The schema from the configured source (database, snapshot or migrations). SQL
    migration statements that failed are logged as warnings and recorded in the snapshot
    (`failed_statements`): validating against it leaves what they made unknown, as
    validating against the folder does."""
    import dataclasses

    from dbsafe.schema.model import FailedStatement
    from dbsafe.sources import load_schema, warn_failures

    with load_schema(settings) as source:
        warn_failures(source)
        failed = tuple(FailedStatement(f.location.path, f.location.line, f.location.column,
                                       f.sql, f.message)
                       for f in source.failures if not f.applied_later)
        if not failed:
            return source.snapshot
        return dataclasses.replace(source.snapshot, failed_statements=failed)


@_on_dev_server
def validate(settings: Settings, paths: Sequence[Path] = (), *,
             changed_since: str | None = None, baseline: Path | None = None,
             write_baseline: Path | None = None) -> Report:
    """Report application SQL that references tables or columns the schema lacks.

    Args:
        settings: Resolved settings (see `config.load_settings`).
        paths: files or directories to scan; empty means the `source-paths` setting.
        changed_since: only files changed since this git ref (committed, staged, unstaged
            or untracked).
        baseline: drop the findings this baseline file records (`dbsafe.baseline`).
        write_baseline: record this run's findings in this file; they are then dropped.

    Returns:
        A report with one finding per unknown table/column (confirmed by PostgreSQL when a
        database is at hand), suppressions applied, and counts in `summary`.
    """
    from dbsafe.extract.files import require_existing
    from dbsafe.sources import load_schema
    from dbsafe.validate.scan import scan

    started = time.perf_counter()
    codes = catalog()
    check_settings_codes(settings, codes)
    if not paths:
        paths = [settings.project_root / p for p in settings.source_paths]
    # A mistyped path is said before the schema is built (which may take seconds, or fail
    # for a reason of its own).
    require_existing(paths)
    if changed_since is not None:
        paths = _changed_sources(settings.project_root, paths, changed_since)
        if not paths:
            return Report((), {"files": 0, "changed_since": changed_since})
    with load_schema(settings, search_path=settings.search_path) as source:
        report = scan(paths, source, settings, codes)
    summary = dict(report.summary)
    summary["schema_source"] = source.description
    findings = list(report.findings)
    if baseline is not None or write_baseline is not None:
        from dbsafe import baseline as baselines

        read_line = baselines.line_reader(settings.project_root)
        if write_baseline is not None:
            summary["baseline_written"] = baselines.write(write_baseline, findings, read_line)
            findings = []
        if baseline is not None:
            findings, summary["baselined"] = baselines.drop_known(
                findings, baselines.load(baseline), read_line)
    if changed_since is not None:
        summary["changed_since"] = changed_since
    summary["elapsed_seconds"] = round(time.perf_counter() - started, 3)
    return Report(tuple(findings), summary, report.skipped)


def _changed_sources(root: Path, paths: Sequence[Path], ref: str) -> list[Path]:
    """The files under `paths` that git says changed since `ref` and validate reads."""
    from dbsafe.extract.changed import changed_files
    from dbsafe.extract.files import SKIPPED_DIRS, SUFFIXES

    selected = [p.resolve() for p in paths]
    changed = []
    for path in sorted(changed_files(root, ref)):
        if path.suffix not in SUFFIXES or not path.is_file():
            continue
        if any(part in SKIPPED_DIRS for part in path.parts):
            continue
        if any(path == p or p in path.parents for p in selected):
            changed.append(path)
    return changed


@_on_dev_server
def lint(settings: Settings, paths: Sequence[Path] = (), *, since: str | None = None,
         changed_since: str | None = None, offline: bool = False,
         until: Collection[str] | None = None, ask_rows: bool = True) -> Report:
    """Lint migrations for statements that lock or break a production database.

    Args:
        settings: Resolved settings (see `config.load_settings`).
        paths: `.sql` files or folders of SQL migrations. Empty means every revision of
            the alembic environment in `settings`.
        since: only alembic revisions after this one.
        changed_since: only migrations whose files changed since this git ref.
        offline: render alembic revisions offline instead of running them on a throwaway
            server.
        until: only these alembic revisions (those a database holds after an upgrade to a
            target: its own and the applied ones): the others are neither linted nor said.
        ask_rows: with `settings.database_url`, ask its rows, read-only, whether they refuse
            a pending statement that validates rows (DBS615); `upgrade`'s preflight asks
            them itself.

    Returns:
        A report with one finding per problem, suppressions applied.
    """
    return _lint(settings, paths, since=since, changed_since=changed_since, offline=offline,
                 until=until, ask_rows=ask_rows)[0]


def _lint(settings: Settings, paths: Sequence[Path] = (), *, since: str | None = None,
          changed_since: str | None = None, offline: bool = False,
          until: Collection[str] | None = None, ask_rows: bool = True
          ) -> tuple[Report, Loaded]:
    """`lint`'s report, with the migrations it read (`plan` shows the SQL a revision ran in
    the capture when it cannot be rendered offline)."""
    from dbsafe.lint.app_references import Application, application_fragments, enabled
    from dbsafe.lint.run import lint_migrations, load
    from dbsafe.sources import builds_alembic_heads, keep_alembic_heads
    from dbsafe.validate.search_path import for_application

    started = time.perf_counter()
    codes = catalog()
    check_settings_codes(settings, codes)
    paths = paths or _sql_migrations_without_alembic(settings)
    facts = _database_facts(settings.database_url, settings, paths) \
        if settings.database_url else None
    since = _beyond_database(facts, since)
    # DBS211 reads the schema the migrations build: the capture's, when it is that schema
    # (then the history is not run a second time for it).
    keep_head = facts is None and not offline and enabled(settings) \
        and builds_alembic_heads(settings)
    loaded = load(settings, paths, since=since, changed_since=changed_since, offline=offline,
                  current=facts.revisions if facts else (),
                  seed=_seed(settings, facts, paths, since=since, offline=offline),
                  ran=facts.ran if facts else None, until=until, keep_head=keep_head)
    migrations = loaded.migrations
    head = loaded.head
    if head is not None:  # `dbsafe validate`, `schema dump` read it from the cache too
        keep_alembic_heads(settings, head, loaded.head_imported)
    # Loaded only if a migration drops or renames something (DBS211).
    app = Application(lambda words: application_fragments(settings, migrations, words),
                      lambda: facts.before if facts and facts.before else
                      head if head is not None else schema_dump(settings),
                      lambda snapshot: for_application(snapshot, settings))
    report = lint_migrations(migrations, settings, codes, facts, app, loaded)
    if facts is not None and ask_rows:
        report = _pending_rows(settings, report, loaded, facts, paths=paths,
                               changed_since=changed_since)
    summary = dict(report.summary)
    summary["elapsed_seconds"] = round(time.perf_counter() - started, 3)
    return Report(report.findings, summary, report.skipped), loaded


def _pending_rows(settings: Settings, report: Report, loaded: Loaded, facts, *,
                  paths: Sequence[Path], changed_since: str | None) -> Report:
    """`report` with the database's rows asked whether they refuse a pending statement
    that validates rows (DBS615): the SQL files its runner's history says are pending, or
    the alembic revisions after its revision. Where the revisions linted are not exactly
    the pending ones (`--since`, `--changed-since`, `--offline` or rendered offline, a
    database at a revision the history lacks), none is asked, and a line says why: what
    the revisions before a check did is part of its answer, and those the database holds
    already met its rows."""
    import dataclasses

    from dbsafe.guard.row_refusals import pending_files_rows, pending_revisions_rows

    if facts.ran is not None:
        return pending_files_rows(settings, report, loaded.migrations)
    if paths or not report.summary.get("row_checks"):
        return report
    why = "--changed-since lints only some of them" if changed_since is not None \
        else loaded.not_pending
    if not why:
        return pending_revisions_rows(settings, report, loaded.migrations)
    lines = [*(report.summary.get("lines") or []),  # type: ignore[misc]
             f"rows: not asked of the database: {why}; lint asks them (DBS615) of the "
             "pending revisions, captured alone (no --since, --changed-since or --offline)"]
    return dataclasses.replace(report, summary={**report.summary, "lines": lines})


@_on_dev_server
def lock_report(settings: Settings, paths: Sequence[Path] = (), *, since: str | None = None,
                changed_since: str | None = None, offline: bool = False) -> list[LockRow]:
    """The lock each migration statement takes and what it blocks, one row per lock
    (observed on a throwaway server where PostgreSQL showed it, predicted otherwise).

    The migrations and the facts they are read with are `lint`'s: with a database, its
    schema before the migrations, and only the revisions after its current one."""
    from dbsafe.lint.run import load, lock_rows

    paths = paths or _sql_migrations_without_alembic(settings)
    facts = _database_facts(settings.database_url, settings, paths) \
        if settings.database_url else None
    since = _beyond_database(facts, since)
    loaded = load(settings, paths, since=since, changed_since=changed_since, offline=offline,
                  current=facts.revisions if facts else (),
                  seed=_seed(settings, facts, paths, since=since, offline=offline),
                  ran=facts.ran if facts else None)
    return lock_rows(loaded, facts, settings)


def _sql_migrations_without_alembic(settings: Settings) -> list[Path]:
    """With no `alembic.ini`, the project's folder of SQL migrations, as validate finds it
    (`sql-migrations`, else `supabase/migrations`, ...): what `dbsafe lint` with no path
    lints. With one, alembic's revisions stay what it lints."""
    from dbsafe.extract.files import display_path
    from dbsafe.extract.migration import supabase_schemas_folder
    from dbsafe.migrate import AlembicProject
    from dbsafe.sources import sql_migrations_folder

    if AlembicProject.from_settings(settings).ini.is_file():
        return []
    folder = sql_migrations_folder(settings)
    if folder is not None and settings.sql_migrations is None \
            and supabase_schemas_folder(folder):
        raise ConfigError(
            f"{display_path(folder, settings.project_root)} is supabase's declarative schema, "
            "which runs on no production database: lint the migrations `supabase db diff` "
            "makes from it (supabase/migrations), or name the folder to lint it anyway")
    return [folder] if folder is not None else []


def _database_facts(url: str, settings: Settings, paths: Sequence[Path] = ()):
    """The live database's schema (as it is before the migrations run), sizes and version;
    with `paths` (SQL migrations are linted), which of them its runner's history table says
    ran: the table drift and status read (`sql-migrations-history-table`, or the registry
    of their Sqitch project for `sqitch-target`)."""
    from dbsafe.lint.run import DatabaseFacts
    from dbsafe.migrate.histories import applied_versions
    from dbsafe.migrate.runner import current_revisions
    from dbsafe.schema.introspect import introspect_url
    from dbsafe.schema.stats import table_stats

    before = introspect_url(url, lock_timeout=settings.schema_lock_timeout)
    found = applied_versions(url, paths, settings.sql_migrations_history_table,
                             sqitch_target=settings.sqitch_target,
                             root=settings.project_root) if paths else None
    return DatabaseFacts(before=before, sizes=table_stats(url),
                         server_version=before.server_version,
                         search_path=before.search_path, revisions=current_revisions(url),
                         ran=(found[0], frozenset(found[1])) if found else None)


def _beyond_database(facts, since: str | None) -> str | None:
    """`since`, or None when it is the database's own revision: the same revisions (those
    after it) as no `--since`, which lets the capture start from the database's schema
    (`dbsafe upgrade`'s preflight and `dbsafe plan` lint with the database's revision)."""
    if facts is not None and since is not None and facts.revisions == (since,):
        return None
    return since


def _seed(settings: Settings, facts, paths: Sequence[Path], *, since: str | None,
          offline: bool):
    """The database lint's capture starts from: `--database-url`'s, when the revisions to
    lint are the ones after its alembic version (no `--since`, no paths), or all of them on
    its tables when it has tables and no version (the application made them and has not
    run a revision yet)."""
    from dbsafe.guard.blockers import BlockerWatch, blocked_by
    from dbsafe.lint.history import Seed
    from dbsafe.migrate.runner import find_version_table
    from dbsafe.pg.schema_copy import APPLICATION_NAME, LOCK_WAIT, dump_schema

    if facts is None or paths or since is not None or offline or not settings.database_url:
        return None
    if not facts.revisions and not (facts.before and facts.before.relations):
        return None  # an empty database: the replay from empty is the same
    url = settings.database_url
    version_table = find_version_table(url)
    if version_table is None and facts.revisions:
        return None
    # A session holding ACCESS EXCLUSIVE on a table makes pg_dump give up after LOCK_WAIT:
    # it is named, as the backup names it. Not retried: the lint goes on from empty, and
    # `dbsafe upgrade`'s backup waits for the lock (and retries) anyway.
    with BlockerWatch(url, APPLICATION_NAME, lock_timeout=LOCK_WAIT) as watch:
        try:
            copy = dump_schema(url, holders=lambda: blocked_by(watch.seen()))
        except DbsafeError as exc:  # said in the report; the history is replayed from empty
            return Seed(facts.revisions, version_table, error=str(exc))
    return Seed(facts.revisions, version_table, copy)


def check_settings_codes(settings: Settings, known: dict[str, RuleInfo]) -> None:
    """Raise ConfigError if `select`, `ignore` or `severity` names an unknown code, naming
    where it was read (the option, or the file and key)."""
    from dbsafe.config import where

    for key, codes in (("select", settings.select), ("ignore", settings.ignore),
                       ("severity", tuple(settings.severity))):
        check_codes(codes, known, where(settings, key))


def check_codes(codes: Sequence[str], known: dict[str, RuleInfo], key: str) -> None:
    """Raise ConfigError for codes or prefixes in `key` that match no known code."""
    unknown = [c for c in codes if not any(k.startswith(c.upper()) for k in known)]
    if unknown:
        raise ConfigError(f"{key}: {unknown_codes(unknown, known)}")


@_on_dev_server
def status(settings: Settings, *, fail_on_pending: bool = False,
           history_limit: int = 10) -> Report:
    """Where the database stands: current revision, heads, pending revisions, edited
    revisions, and the recent history of dbsafe runs on it."""
    from dbsafe.guard.status import status as database_status

    with _schema_file_not_read(settings, "has no revisions and status reads the migrations' "
                               "history alone: `dbsafe drift` compares the database with "
                               "the file"):
        return database_status(settings, _require_database(settings),
                               fail_on_pending=fail_on_pending, history_limit=history_limit)


@contextlib.contextmanager
def _schema_file_not_read(settings: Settings, what: str) -> Iterator[None]:
    """Where a `schema-file` is set, an error of a command that reads the migrations alone
    (`status`, `verify-reversible`) says the file is not read and which command compares a
    database with it: in its layout (upgrades beside it that build nothing from empty, no
    history table of a known runner) they fail, and the error alone named only the
    migrations' runners. A database that cannot be reached is said as it is."""
    try:
        yield
    except DbsafeError as exc:
        if settings.schema_file is None or type(exc) not in (ConfigError, SourceError,
                                                                 DbsafeError):
            raise
        from dbsafe.extract.files import display_path

        shown = display_path(settings.schema_file, settings.project_root)
        raise type(exc)(f"{exc}; the schema file {shown} {what.format(shown)}") from None


@_on_dev_server
def upgrade(settings: Settings, options: UpgradeOptions,
            progress: Progress | None = None) -> Report:
    """Upgrade the configured database, guarded (see `dbsafe.guard.upgrade`)."""
    from dbsafe.guard.upgrade import Verbs
    from dbsafe.guard.upgrade import upgrade as guarded_upgrade

    _require_alembic(settings, "upgrade")
    known = catalog()
    check_settings_codes(settings, known)
    # --allow matches whole codes: one that names no code (a typo, a prefix) would accept
    # nothing and leave the upgrade refused over the finding it was meant to accept.
    if unknown := [code for code in options.allow if code not in known]:
        raise ConfigError(f"--allow: {unknown_codes(unknown, known)} (it takes whole codes "
                          "such as DBS101, no prefixes)")
    # (the preflight asks the rows itself, after lint, with --allow DBS615)
    verbs = Verbs(lint=lambda s, since, until: lint(s, since=since, until=until,
                                                    ask_rows=False),
                  validate=validate)
    return guarded_upgrade(settings, _require_database(settings), options, verbs,
                           progress or (lambda step, message: None))


@_on_dev_server
def plan(settings: Settings, target: str = "heads") -> Report:
    """What `dbsafe upgrade TARGET` would run, the locks it takes and what they cost, and
    the rows its preflight would stop on (DBS615)."""
    from dbsafe.guard.plan import plan as upgrade_plan

    _require_alembic(settings, "plan")
    # (the plan asks the rows itself, of the revisions the upgrade applies, as its preflight)
    return upgrade_plan(settings, _require_database(settings), target,
                        lint=lambda s, since, until: _lint(s, since=since, until=until,
                                                           ask_rows=False))


@_on_dev_server
def downgrade(settings: Settings, options: DowngradeOptions,
              progress: Progress | None = None,
              confirm: Callable[[str], bool] | None = None) -> Report:
    """Downgrade the configured database, guarded (see `dbsafe.guard.downgrade`)."""
    from dbsafe.guard.downgrade import downgrade as guarded_downgrade

    _require_alembic(settings, "downgrade")
    return guarded_downgrade(settings, _require_database(settings), options,
                             progress or (lambda step, message: None), confirm)


def backup(settings: Settings, directory: Path, *, jobs: int = 1,
           verify_restore: bool = False, lock_timeout: str = "5s", retries: int = 5,
           progress: Progress | None = None) -> Report:
    """Take a verified backup (pg_dump + manifest + pg_restore --list), optionally proven by
    restoring it into a scratch database and comparing. pg_dump waits `lock_timeout` for
    each table's lock, and is retried `retries` times with backoff, naming who held it."""
    from dataclasses import asdict

    from dbsafe.guard.backup import position_words, take_backup
    from dbsafe.guard.restore import restored_copy_differs
    from dbsafe.guard.restore import verify_restore as prove
    from dbsafe.migrate.runner import current_revisions

    url = _require_database(settings)
    say = progress or (lambda step, message: None)
    revisions = current_revisions(url)
    taken = take_backup(url, directory, revisions=revisions, jobs=jobs,
                        count_rows=verify_restore, lock_timeout=lock_timeout,
                        retries=retries, progress=say,
                        history_lookup=None if revisions else _history_lookup(settings))
    say("backup", f"{taken.path} ({taken.size_bytes // 1024} KiB, verified with pg_restore "
        f"--list), at {position_words(list(taken.revisions), taken.history)}")
    summary: dict[str, object] = {k: str(v) if isinstance(v, Path) else v
                                  for k, v in asdict(taken).items()}
    summary["backup"] = str(taken.path)
    if verify_restore:
        import psycopg

        from dbsafe.pg.connect import one_line

        try:
            outcome = summary["verified_restore"] = prove(url, taken.path, say)
        except (DbsafeError, psycopg.Error) as exc:
            # (a backup that does not restore is an outcome, not this: dbsafe could not try,
            # a role without CREATEDB for the scratch database, no pg_restore that reads it)
            raise DbsafeError(f"the backup {taken.path} was taken and kept, but "
                              f"--verify-restore could not try it: {one_line(exc, url)}") from None
        differs = restored_copy_differs(taken.path, outcome)
        return Report((differs,) if differs else (), summary)
    return Report((), summary)


def _history_lookup(settings: Settings) -> Lookup:
    """Where `backup` and `restore` look for the history of a SQL migration runner (a
    database without alembic_version): the table `sql-migrations-history-table` names, else
    each runner's where its own settings keep it, as `status` reads them: the Flyway
    configuration and Sqitch project of the project's folder of SQL migrations, goose's and
    dbmate's variables in the environment or the project root's `.env`. A folder that cannot
    be told (two of them) leaves the folder's settings out, said in the log: a backup is
    not refused for what it says of the database."""
    from dbsafe.migrate.histories import Lookup
    from dbsafe.sources import sql_migrations_folder

    if settings.sql_migrations_history_table is not None:
        return Lookup(table=settings.sql_migrations_history_table)
    try:
        folder = sql_migrations_folder(settings)
    except DbsafeError as exc:
        why = str(exc) if len(str(exc)) <= 200 else str(exc)[:200] + "…"
        log.warning("the runner's own settings of the folder of SQL migrations are not read "
                    "(%s)", why)
        folder = None
    return Lookup(paths=(folder,) if folder is not None else (),
                  sqitch_target=settings.sqitch_target, root=settings.project_root)


def _restored_history_lookup(settings: Settings, backup_file: Path) -> Lookup | None:
    """`_history_lookup`, for a backup whose manifest records no alembic revisions (the copy
    has none either: its runner's history is read); None for one that does."""
    from dbsafe.guard.backup import load_manifest

    try:
        revisions = load_manifest(backup_file).get("revisions")
    except DbsafeError:
        revisions = None  # (the restore says why it cannot read it)
    return None if revisions else _history_lookup(settings)


def check_restore(settings: Settings, backup_file: Path) -> tuple[Path, str]:
    """The backup `backup_file` names and the database URL a restore of it needs, each
    checked in that order: a file that is not there is said first (`restore x.dump` was
    told to pass --database-url, then that the file does not exist)."""
    from dbsafe.guard import restore as restoring

    return restoring.check_named(backup_file), _require_database(settings)


def half_restored(settings: Settings) -> list[str]:
    """The databases killed restores left half-restored on the server of the settings'
    database (what `restore(clean_up=True)` drops)."""
    from dbsafe.guard import restore as restoring

    return restoring.half_restored(_require_database(settings))


def restore(settings: Settings, backup_file: Path, *, into: str | None = None,
            replace: bool = False, jobs: int = 1, clean_up: bool = False,
            no_owner: bool = False, no_privileges: bool = False,
            progress: Progress | None = None, confirmed: list[str] | None = None) -> Report:
    """Restore a backup into a new database (or, with `replace`, in place of the original,
    which is kept under another name). `clean_up`: drop the databases killed restores left
    half-restored instead (of `confirmed` only, when given: `half_restored` lists them)."""
    from dbsafe.guard import restore as restoring
    from dbsafe.guard.backup import position_words

    say = progress or (lambda step, message: None)
    if clean_up:
        dropped = restoring.drop_half_restored(_require_database(settings), confirmed)
        return Report((), {"dropped": dropped,
                           "lines": [f"dropped half-restored {d}" for d in dropped]
                           or ["no half-restored database"]})
    backup_file, url = check_restore(settings, backup_file)
    if replace:
        restoring.check_replaceable(url, backup_file)
        restoring.check_not_in_use(url)
    # Half-restored databases of earlier runs are named as it goes.
    lookup = _restored_history_lookup(settings, backup_file)
    summary: dict[str, object] = dict(restoring.restore(
        url, backup_file, into=into, jobs=jobs, no_owner=no_owner,
        no_privileges=no_privileges, progress=say, history_lookup=lookup))
    run_id = str(summary.pop("history_run_id", ""))
    if replace:
        from dbsafe.guard.backup import take_backup
        from dbsafe.migrate.runner import current_revisions
        from dbsafe.pg.connect import database_name

        was_at = current_revisions(url)
        fresh = take_backup(url, backup_file.parent, label="before-restore",
                            revisions=was_at, progress=say,
                            history_lookup=None if was_at else lookup or _history_lookup(settings))
        say("restore", f"backup of what is replaced: {fresh.path}")
        restored_as = str(summary["database"])
        kept = restoring.replace_original(url, restored_as)
        # (its history row says where the database of this name was before: not base)
        restoring.record_replaced(url, run_id, was_at, kept, say, was_history=fresh.history)
        summary["replaced"] = True
        summary["restored_as"] = restored_as
        summary["database"] = database_name(url)  # the restored copy has its name now
        summary["original_kept_as"] = kept
        say("restore", f"restored database now has the original's name; the original is "
            f"kept as {kept}")
    counts = summary.get("row_counts") or {}
    assert isinstance(counts, dict)
    where = f"restored into {summary['database']}"
    if replace:
        where += f" (the original is kept as {summary['original_kept_as']})"
    dumped = summary.get("manifest_row_counts")
    summary["lines"] = [f"{where} at "
                        f"{position_words(summary['revisions'], summary.get('history'))}"
                        ] + restoring.count_lines(counts, dumped if isinstance(dumped, dict)
                                                  else None)
    return Report((), summary)


def _require_alembic(settings: Settings, command: str) -> None:
    """upgrade, plan and downgrade run alembic revisions: a project whose migrations are a
    folder of SQL files is told so, rather than that no alembic.ini was found. A folder named
    on the command line (`--sql-migrations DIR`) is, even beside an alembic.ini: the
    option was not to be dropped without a word while alembic's revisions ran."""
    from dbsafe.extract.files import display_path
    from dbsafe.migrate import AlembicProject
    from dbsafe.sources import sql_migrations_folder

    named = (settings.origins.get("sql-migrations") or "").startswith("option ")
    if not named and AlembicProject.from_settings(settings).ini.is_file():
        return
    folder = sql_migrations_folder(settings)
    if folder is not None:
        raise ConfigError(
            f"dbsafe {command} works on alembic revisions, and this project's migrations are the SQL "
            f"files of {display_path(folder, settings.project_root)}, which their own runner "
            "applies: before it runs, `dbsafe backup --verify-restore` backs the database up "
            "and `dbsafe lint --database-url` checks the pending files (their locks, and the "
            "rows that refuse them); `dbsafe status` says which ran")


def _require_database(settings: Settings) -> str:
    from dbsafe.pg.urls import to_libpq_url

    if not settings.database_url:
        raise ConfigError("this command needs a database: pass --database-url or set "
                          "DBSAFE_DATABASE_URL")
    # alembic users have SQLAlchemy URLs (postgresql+psycopg://...): libpq's form from here on.
    return to_libpq_url(settings.database_url)


_NO_EXPECTATIONS = ("there are no schema expectations ([tool.dbsafe.expect], or the "
                    "expect-file: dbsafe-expect.toml by default)")


@_on_dev_server
def check(settings: Settings, *, only: Sequence[str] = ()) -> Report:
    """Run the database checks and the schema expectations.

    With a live database (`database-url`), runs the built-in checks and those in
    `check-paths`, each read-only, then the expectations against the database's schema. With
    only a `snapshot`, checks the expectations against it (checks need a live database).

    Args:
        settings: Resolved settings (see `config.load_settings`).
        only: check codes or code prefixes to run; empty runs every check.

    Returns:
        A report with one finding per problem (a check that could not run is one DBS004
        finding), select/ignore/severity applied, and counts in `summary`; what a check
        could not look at is listed in `summary["not_checked"]`.

    Raises:
        ConfigError: no database or snapshot, a malformed check or expectation, an unknown code.
        DatabaseError: the database cannot be reached.
    """
    from dbsafe import checks
    from dbsafe.core import select_findings

    started = time.perf_counter()
    all_checks = checks.project_checks(settings)
    codes = {**catalog(), **{c.code: c.info for c in all_checks}}
    check_settings_codes(settings, codes)
    selected = checks.select_checks(all_checks, only)
    expectations = checks.load_expectations(settings)
    findings = []
    summary: dict[str, object] = {}
    if settings.database_url:
        with checks.connect(settings.database_url) as conn:
            results = checks.run(conn, selected, settings, conninfo=settings.database_url)
        findings += [f for r in results for f in r.findings]
        summary["checks_run"] = len(results)
        summary["checks_failed"] = sum(1 for r in results if r.error)
        # What a check could not look at (a monitoring role's unreadable tables) is said in
        # the normal output; like lint's migrations in code, it leaves the exit status to
        # the findings.
        unseen = [line for r in results for line in r.not_checked_lines()]
        if expectations and checks.expectations_selected(only):
            findings += checks.check_expectations(settings.database_url, expectations)
        elif not selected and checks.expectations_selected(only):
            # `--only DBS550` with no expectations ran nothing: "no findings" alone read
            # as the expectations holding.
            unseen.append(f"DBS550 expectation-not-met not checked: {_NO_EXPECTATIONS}")
        if unseen:
            summary["not_checked"] = unseen
    elif settings.snapshot is not None:
        from dbsafe.schema.model import SchemaSnapshot

        snapshot = SchemaSnapshot.load(settings.snapshot)  # a corrupt one is an error still
        if expectations and checks.expectations_selected(only):
            findings += checks.check_expectations(snapshot, expectations)
            summary["not_checked"] = ["database checks need --database-url; only the schema "
                                      "expectations were checked, against the snapshot"]
        else:
            # It said "only the schema expectations were checked" with none to check.
            why = (_NO_EXPECTATIONS if not expectations
                   else "--only leaves out the schema expectations (DBS550)")
            summary["not_checked"] = [f"database checks need --database-url, and {why}: "
                                      "nothing was checked against the snapshot"]
    else:
        raise ConfigError("dbsafe check needs a database: pass --database-url or set "
                          "DBSAFE_DATABASE_URL (or --snapshot FILE for the expectations only)")
    summary["expectations"] = len(expectations)
    summary["elapsed_seconds"] = round(time.perf_counter() - started, 3)
    kept = select_findings(findings, select=settings.select, ignore=settings.ignore,
                           severity=settings.severity)
    return Report(tuple(kept), summary)


# -- diff ---------------------------------------------------------------------------------------


@_on_dev_server
def diff(settings: Settings, source: str, target: str, *,
         options: DiffOptions | None = None) -> Report:
    """Report every difference between two schemas (DBS401-DBS404).

    Args:
        settings: Resolved settings (alembic project and cache for `migrations[@REV]`).
        source: a database URL, a snapshot file, a schema file (`.sql`), a folder of SQL
            migrations, or `migrations[@REV]`.
        target: the same kinds of thing; the schema the source is compared with.
        options: kinds, schemas and names to leave out.

    Returns:
        One finding per difference, in a deterministic order grouped by object.
    """
    from dbsafe.core import select_findings
    from dbsafe.schema.diff import findings, with_column_sequences, without_constraint_indexes
    from dbsafe.schema.diff import groups as diff_groups

    started = time.perf_counter()
    before, after, changes, described = _diff_inputs(settings, source, target, options)
    changes = with_column_sequences(without_constraint_indexes(changes, before, after),
                                    before, after)
    summary = {"source": described[0], "target": described[1], "differences": len(changes),
               "elapsed_seconds": round(time.perf_counter() - started, 3)}
    kept: list[Finding] = []
    groups: list[tuple[str, int]] = []
    for heading, finding in zip(diff_groups(changes, before, after),
                                findings(changes, before=before, after=after), strict=True):
        selected = select_findings([finding], select=settings.select, ignore=settings.ignore,
                                   severity=settings.severity)
        if not selected:
            continue
        kept += selected
        if groups and groups[-1][0] == heading:
            groups[-1] = (heading, groups[-1][1] + 1)
        else:
            groups.append((heading, 1))
    return Report(tuple(kept), summary, groups=tuple(groups))


def diff_options(settings: Settings, kinds: Sequence[str] = (), schemas: Sequence[str] = (),
                 names: Sequence[str] = (), *, command: str = "diff") -> DiffOptions:
    """What `dbsafe diff` (or `drift`) leaves out: the command line's kinds, schemas and
    name patterns added to `<command>-ignore`, `-ignore-schemas`, `-ignore-names` in
    `[tool.dbsafe]`.

    Raises:
        ConfigError: an unknown kind, naming the setting (and file) that holds it.
    """
    from dbsafe.schema.diff import DiffOptions

    configured = getattr(settings, f"{command.replace('-', '_')}_ignore")
    try:
        DiffOptions.parse(configured)
    except ConfigError as exc:
        where = settings.config_file or "[tool.dbsafe]"
        raise ConfigError(f"{where}: {command}-ignore: {exc}") from None
    return DiffOptions.parse(
        [*configured, *kinds],
        [*getattr(settings, f"{command}_ignore_schemas"), *schemas],
        [*getattr(settings, f"{command}_ignore_names"), *names])


@_on_dev_server
def diff_sql(settings: Settings, source: str, target: str, *,
             options: DiffOptions | None = None) -> tuple[str, int]:
    """The DDL that turns `source` into `target`, and the number of differences.

    Statements come in dependency order, safe where PostgreSQL allows it, each with its
    hazards as comments. The script is linted with dbsafe's own rules: a statement whose
    hazard is the very thing a rule flags carries a `dbsafe: ignore[...]` naming it, so
    `dbsafe lint` on the script reports no error while the hazard stays visible.
    """
    from dbsafe.schema.ddl import plan

    before, after, changes, _ = _diff_inputs(settings, source, target, options)
    statements = plan(before, after, changes)
    return accept_hazards(settings, statements, after.search_path), len(changes)


@_on_dev_server
def diff_alembic(settings: Settings, source: str, target: str, *,
                 options: DiffOptions | None = None) -> tuple[str, int]:
    """`diff_sql` as alembic operations for the body of `upgrade()`, and the number of
    differences: `op.*` calls where alembic renders exactly the planned statement,
    `op.execute` of it otherwise, hazards as comments (`dbsafe.schema.alembic_ops`)."""
    from dbsafe.schema.alembic_ops import alembic_lines
    from dbsafe.schema.ddl import plan

    before, after, changes, _ = _diff_inputs(settings, source, target, options)
    statements = plan(before, after, changes)
    text = alembic_lines(statements, search_path=after.search_path, comments=True)
    return (text + "\n" if text else ""), len(changes)


def accept_hazards(settings: Settings, statements: Sequence[Statement],
                   search_path: Sequence[str] = ()) -> str:
    """Render a plan, marking the lint errors its hazardous statements knowingly cause."""
    import tempfile

    from dbsafe.core import Severity
    from dbsafe.extract.migration import sql_migrations
    from dbsafe.lint.engine import lint_migration, select_rules
    from dbsafe.lint.rules import ALL_RULES
    from dbsafe.schema.ddl import render_sql

    script = render_sql(statements, search_path=search_path)
    with tempfile.TemporaryDirectory(prefix="dbsafe-diff-") as tmp:
        path = Path(tmp) / "diff.sql"
        path.write_text(script.text, encoding="utf-8")
        rules = select_rules(ALL_RULES, settings.select, settings.ignore)
        found = [f for m in sql_migrations([path], root=Path(tmp))
                 for f in lint_migration(m, rules)]
    accepted: dict[int, set[str]] = {}
    for finding in found:
        if finding.severity != Severity.ERROR or finding.location is None:
            continue
        index = _statement_at(script.lines, finding.location.line)
        if index is not None and statements[index].hazards:
            accepted.setdefault(index, set()).add(finding.code)
    notes = {i: f"-- dbsafe: ignore[{', '.join(sorted(codes))}] accepted hazard, see above"
             for i, codes in accepted.items()}
    return render_sql(statements, search_path=search_path, notes=notes).text


def _statement_at(lines: Sequence[int], line: int) -> int | None:
    """The statement (by index) whose text holds `line`, given where each starts
    (ascending): found by bisection, as a script has thousands.

    >>> _statement_at([3, 5, 9], 2), _statement_at([3, 5, 9], 5), _statement_at([3, 5, 9], 20)
    (None, 1, 2)
    """
    from bisect import bisect_right

    index = bisect_right(lines, line) - 1
    return index if index >= 0 else None


def _diff_inputs(settings: Settings, source: str, target: str, options: DiffOptions | None):
    import dataclasses
    from concurrent.futures import ThreadPoolExecutor

    from dbsafe.schema.diff import diff as diff_schemas
    from dbsafe.sources import builds_on_throwaway as migrations
    from dbsafe.sources import check_named, load_snapshot

    for side in (source, target):
        check_named(side)  # a missing file, before the other side is built or read
    if migrations(source) and migrations(target):
        before, source_text = load_snapshot(source, settings)
        after, target_text = load_snapshot(target, settings)
    else:
        # Both sides at once: reading a catalog is mostly waiting for the server. The
        # migrations runner stays on the main thread (it handles signals).
        swap = migrations(source)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dbsafe-diff") as pool:
            future = pool.submit(load_snapshot, target if swap else source, settings)
            here = load_snapshot(source if swap else target, settings)
            there = future.result()
        (before, source_text), (after, target_text) = (here, there) if swap else (there, here)
    before, after = _read_with_one_path(source, target, before, after)
    # dbsafe's own records are no difference, and a `--sql` script must never drop them.
    options = _without_stand_ins(before, after, options).without_own_schema()
    # What new sessions start with (`ALTER DATABASE ... SET`) is compared too, here only:
    # `drift` and a guarded run leave it out (a DBA's or the platform's settings).
    options = dataclasses.replace(options, database_settings=True)
    changes = diff_schemas(before, after, options)
    return before, after, changes, (source_text, target_text)


def _read_with_one_path(source: str, target: str, before: SchemaSnapshot,
                        after: SchemaSnapshot) -> tuple[SchemaSnapshot, SchemaSnapshot]:
    """Both sides as read with one search path. PostgreSQL writes definitions, type names
    and function signatures relative to the session's path (`REFERENCES edit(id)` on a
    path with `musicbrainz`, `REFERENCES musicbrainz.edit(id)` without it), so a database
    whose role or database sets another path than the other side's would differ in every
    one of them. A side that is a database is read again with the other side's path (the
    source with the target's, which the `--sql` script runs under)."""
    from dbsafe.sources import names_database, read_database

    if before.search_path == after.search_path:
        return before, after
    if names_database(source):
        return read_database(source, after.search_path), after
    if names_database(target):
        return before, read_database(target, before.search_path)
    log.warning("the two sides were read with different search paths (%s; %s): definitions "
                "naming what only one of them leaves unqualified show as differences",
                ", ".join(before.search_path) or "''", ", ".join(after.search_path) or "''")
    return before, after


def _without_stand_ins(before: SchemaSnapshot, after: SchemaSnapshot,
                       options: DiffOptions | None) -> DiffOptions:
    """`options`, also leaving out the schemas one side holds only dbsafe's stand-in of (a
    folder of supabase migrations against a Supabase database): the stand-in describes part
    of the platform's `auth`, `storage`, ... and the rest would all read as differences.
    Two sides with the same stand-ins (two folders) are compared whole."""
    import dataclasses

    from dbsafe.schema.diff import DiffOptions

    options = options or DiffOptions()
    one_sided = before.stand_in_schemas() ^ after.stand_in_schemas()
    left_out = sorted(one_sided - options.ignore_schemas)
    if not left_out:
        return options
    log.warning("not compared: schema%s %s, which one side holds only dbsafe's stand-in of "
                "(the Supabase platform's, in part)", "s" if len(left_out) > 1 else "",
                ", ".join(left_out))
    return dataclasses.replace(options, ignore_schemas=options.ignore_schemas | one_sided)


def refresh_views(settings: Settings, views: Sequence[str] = (), *, allow_blocking: bool = False,
                  stagger: float = 0.0, statement_timeout: str = "30min",
                  progress: Callable[[str], None] | None = None) -> Report:
    """Refresh materialized views in dependency order, CONCURRENTLY where they qualify.

    Args:
        settings: the database (`database-url`) and `lock-timeout`.
        views: views to refresh; empty refreshes every materialized view.
        allow_blocking: refresh plainly (blocking readers) the views that cannot be
            refreshed concurrently, instead of skipping them.
        stagger: seconds to pause between two refreshes.
        statement_timeout: the longest one refresh may run ("0": no limit).
        progress: called with one line per step.

    Returns:
        A report with a DBS551 finding per failed refresh and a DBS552 per skipped view;
        `summary["refreshes"]` lists every view's mode, duration, rows and outcome (also
        recorded in `dbsafe.refresh_history`).
    """
    from dbsafe.checks import connect
    from dbsafe.checks.refresh import findings
    from dbsafe.checks.refresh import refresh_views as refresh

    started = time.perf_counter()
    url = _require_database(settings)
    with connect(url) as conn:
        conn.autocommit = True
        results = refresh(conn, views, allow_blocking=allow_blocking, stagger=stagger,
                          lock_timeout=settings.lock_timeout,
                          statement_timeout=statement_timeout, progress=progress)
    summary: dict[str, object] = {
        "views_refreshed": sum(1 for r in results if r.outcome == "ok"),
        "refreshes": [r.as_row() for r in results],
        "elapsed_seconds": round(time.perf_counter() - started, 3),
    }
    return Report(tuple(findings(results)), summary)


def refresh_history(settings: Settings, limit: int = 50) -> list[dict[str, object]]:
    """The latest materialized view refreshes recorded in the database, newest first."""
    from dbsafe.checks import connect
    from dbsafe.checks.refresh import history

    with connect(_require_database(settings)) as conn:
        conn.autocommit = True
        return history(conn, limit)


# -- CI gates: verify-reversible, drift, lock, verify-lock ------------------------------------


@_on_dev_server
def verify_reversible(settings: Settings, *, start: str | None = None, target: str = "heads",
                      allow_not_empty: bool = False, options: DiffOptions | None = None,
                      seed: Path | None = None,
                      progress: Callable[[int, int, str], None] | None = None) -> Report:
    """Prove every downgrade undoes its upgrade: the stairway walk (DBS411-DBS417).

    On a throwaway server (or the scratch database `database-url`), each revision after
    `start` up to `target` is upgraded, downgraded and upgraded again, and the full catalog
    after the downgrade is compared with the one before the upgrade.

    Args:
        settings: the alembic project; `database-url` names a scratch database to use.
        start: verify the revisions after this one (default: all of them).
        target: the last revision to verify (default: heads).
        allow_not_empty: walk on a scratch database that already has objects.
        options: differences to leave out.
        seed: a SQL file of rows, run once before the first verified revision.
        progress: called with (done, total, revision) before each revision.

    Returns:
        One finding per leftover difference or failing step, each on the revision's
        `def downgrade` line with the computed undo in its context.
    """
    from dbsafe.core import select_findings

    started = time.perf_counter()
    check_settings_codes(settings, catalog())
    with _schema_file_not_read(settings, "is not walked (verify-reversible walks the "
                               "migrations alone): whether the upgrades bring an older "
                               "database to what it makes, `dbsafe diff DATABASE_URL {}` "
                               "says, run on a database they upgraded"):
        result = _walk(settings, start=start, target=target, allow_not_empty=allow_not_empty,
                       options=options, seed=seed, progress=progress)
    summary = {**result.summary, "elapsed_seconds": round(time.perf_counter() - started, 3)}
    kept = select_findings(result.findings, select=settings.select, ignore=settings.ignore,
                           severity=settings.severity)
    return Report(tuple(kept), summary)


def _walk(settings: Settings, *, start: str | None, target: str, allow_not_empty: bool,
          options: DiffOptions | None, seed: Path | None,
          progress: Callable[[int, int, str], None] | None) -> WalkResult:
    """verify-reversible's walk of the folder of SQL migrations or the alembic history."""
    from dbsafe.gates.reversible import verify
    from dbsafe.migrate.runner import AlembicProject
    from dbsafe.sources import SqlFolder, require_migrations, sql_migrations_folder

    folder = sql_migrations_folder(settings)
    if folder is not None:
        # A folder of SQL migrations with down migrations: walked file by file.
        from dbsafe.gates.reversible_sql import verify_folder

        given = [name for name, value in (("--from", start), ("--with-data", seed),
                                          ("--allow-not-empty", allow_not_empty),
                                          ("--to", None if target == "heads" else target),
                                          ("--database-url", settings.database_url)) if value]
        if given:
            from dbsafe.pg.throwaway import scratch

            raise ConfigError(f"{', '.join(given)}: for alembic revisions; a folder of SQL "
                              f"migrations is walked whole on {scratch(article='a')}")
        return verify_folder(SqlFolder.of(folder, settings), options=options,
                             progress=progress)
    require_migrations(settings, schema_source=False)
    return verify(AlembicProject.from_settings(settings), root=settings.project_root,
                  database_url=settings.database_url, allow_not_empty=allow_not_empty,
                  start=start, target=target, options=options, seed=seed, progress=progress)


@_on_dev_server
def drift(settings: Settings, *, options: DiffOptions | None = None,
          models: str | None = None) -> Report:
    """Compare the database with the schema its migrations build at its revision (DBS401-
    DBS404), and/or the SQLAlchemy models with the migrations at head (DBS405).

    Args:
        settings: `database-url` (required unless `models`) and the alembic project (or
            the folder of SQL migrations; with a `schema-file`, the file is the reference:
            `sources.schema_file_is_reference`).
        options: kinds, schemas and names to leave out (dbsafe's own schema always is).
        models: `module:attribute` of the models' MetaData (`alembic check`'s comparison,
            run in the sandboxed child under the project's interpreter).
    """
    from dbsafe.core import select_findings
    from dbsafe.gates.drift import compare, compare_models

    started = time.perf_counter()
    check_settings_codes(settings, catalog())
    found: list[Finding] = []
    summary: dict[str, object] = {}
    if settings.database_url or not models:
        result = compare(settings, _require_database(settings), options)
        found += result.findings()
        summary.update({"revision": list(result.revisions), "expected": result.expected_from,
                        "differences": len(result.reported)})
        if result.pending:
            summary["pending"] = list(result.pending)
        if result.schema_file:
            # (said in the text report's line too: "no findings" against which schema)
            summary["schema_source"] = result.expected_from
    if models:
        from_models = compare_models(settings, models)
        found += from_models
        summary.update({"models": models, "model_differences": len(from_models)})
    summary["elapsed_seconds"] = round(time.perf_counter() - started, 3)
    kept = select_findings(found, select=settings.select, ignore=settings.ignore,
                           severity=settings.severity)
    return Report(tuple(kept), summary)


@_on_dev_server
def drift_sql(settings: Settings, *, options: DiffOptions | None = None) -> tuple[str, int]:
    """The DDL that brings the database back in line with its migrations, and the number of
    differences (safe statements, hazards as comments, as `diff --sql`)."""
    from dbsafe.gates.drift import compare
    from dbsafe.schema.ddl import plan

    # (what a pending migration makes or drops is the findings' to say, not the DDL's)
    result = compare(settings, _require_database(settings), options, with_pending=False)
    statements = plan(result.live, result.expected, result.changes)
    return accept_hazards(settings, statements, result.expected.search_path), \
        len(result.changes)


def lock(settings: Settings, path: Path | None = None) -> Report:
    """Write the lock file of revision checksums (of a folder of SQL migrations, of each
    migration and its down). The summary names the file (`lock_file`), whether it was
    written (`written`) and the count (`migrations` or `revisions`).

    A folder two of whose migrations share a version (DBS424: its runner refuses it, or
    runs one of them only) is not locked: the report holds the findings, nothing is
    written, unless `ignore`, `severity` or `fail-on` let the findings pass.
    """
    from dbsafe.core import select_findings
    from dbsafe.gates import lock as lockfile
    from dbsafe.migrate.histories import shared_version_findings
    from dbsafe.migrate.runner import AlembicProject, describe

    folder = _sql_lock_folder(settings)
    if folder is not None:
        check_settings_codes(settings, catalog())
        target = path or lockfile.sql_lock_path(folder.path, settings.project_root)
        migrations = folder.read()
        # Locking a folder its runner refuses would record the broken state as the one to
        # keep: `verify-lock` would pass it from then on.
        found = Report(tuple(select_findings(
            shared_version_findings(migrations), select=settings.select,
            ignore=settings.ignore, severity=settings.severity)))
        if found.fails(settings.fail_on):
            return Report(found.findings, {
                "lock_file": str(target), "written": False,
                "outcome": "lock file not written",
                "migrations": len(lockfile.lockable(migrations))})
        count = lockfile.write_sql(target, migrations, root=settings.project_root,
                                   sqitch_target=folder.sqitch_target)
        return Report(found.findings, {"lock_file": str(target), "written": True,
                                       "migrations": count})
    project = AlembicProject.from_settings(settings)
    target = path or project.ini.parent / lockfile.LOCK_FILE
    described = describe(project)
    return Report((), {"lock_file": str(target), "written": True,
                       "revisions": lockfile.write(target, described.revisions,
                                                   described.heads)})


def _sql_lock_folder(settings: Settings) -> SqlFolder | None:
    """The folder of SQL migrations `lock` and `verify-lock` lock, or None: alembic's.

    Raises:
        ConfigError: the folder is supabase's declarative schema, edited in place.
    """
    from dbsafe.extract.files import display_path
    from dbsafe.extract.migration import supabase_schemas_folder
    from dbsafe.sources import SqlFolder, sql_migrations_folder

    folder = sql_migrations_folder(settings)
    if folder is None:
        return None
    if supabase_schemas_folder(folder):
        raise ConfigError(
            f"{display_path(folder, settings.project_root)} is supabase's declarative schema, "
            "edited in place: there is nothing to lock until `supabase db diff` makes "
            "migrations of it (then `dbsafe lock` locks supabase/migrations)")
    return SqlFolder.of(folder, settings)


def verify_lock(settings: Settings, path: Path | None = None) -> Report:
    """Fail when a revision changed since it was locked, is not locked, disappeared, or the
    history has several heads (DBS421-DBS425); with `database-url`, also when a revision was
    edited after dbsafe applied it there (DBS605). Of a folder of SQL migrations, when a
    migration or its down changed, one was inserted before a locked one, or was removed or
    renamed, two share a version (DBS421-DBS425; `database-url` is not read)."""
    from dbsafe.core import select_findings
    from dbsafe.gates import lock as lockfile
    from dbsafe.migrate.runner import AlembicProject, describe

    check_settings_codes(settings, catalog())
    folder = _sql_lock_folder(settings)
    if folder is not None:
        target = path or lockfile.sql_lock_path(folder.path, settings.project_root)
        locked = lockfile.read(target, merge=lockfile.SQL_MERGE)
        migrations = folder.read()
        found = lockfile.verify_sql(target, migrations, root=settings.project_root,
                                    sqitch_target=folder.sqitch_target, locked=locked,
                                    runner=folder.runner)
        kept = select_findings(found, select=settings.select, ignore=settings.ignore,
                               severity=settings.severity)
        return Report(tuple(kept), {"migrations": len(lockfile.lockable(migrations))})
    project = AlembicProject.from_settings(settings)
    target = path or project.ini.parent / lockfile.LOCK_FILE
    locked = lockfile.read(target)  # a missing file fails before env.py is imported
    described = describe(project)
    applied = None
    if settings.database_url:
        from dbsafe.guard.history import recorded_checksums
        from dbsafe.migrate.revisions import ancestors
        from dbsafe.migrate.runner import current_revisions

        applied = recorded_checksums(settings.database_url, ancestors(
            described.revisions, current_revisions(settings.database_url)))
    found = lockfile.verify(target, described.revisions, described.heads,
                            root=settings.project_root, applied=applied, locked=locked)
    kept = select_findings(found, select=settings.select, ignore=settings.ignore,
                           severity=settings.severity)
    return Report(tuple(kept), {"revisions": len(described.revisions),
                                "heads": list(described.heads)})

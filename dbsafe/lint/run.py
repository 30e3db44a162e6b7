"""Run `dbsafe lint`: load migrations, run the selected rules, weigh findings, suppress.

Database facts (schema before the migrations, table sizes, server version) are gathered by
the caller and passed in as `DatabaseFacts`: this package never connects to a database.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbsafe.core import (
    ConfigError,
    Finding,
    Location,
    Report,
    RuleInfo,
    Severity,
    SourceError,
    select_findings,
)
from dbsafe.pg.throwaway import scratch

if TYPE_CHECKING:
    from dbsafe.config import Settings
    from dbsafe.extract.migration import Migration
    from dbsafe.lint.app_references import Application
    from dbsafe.lint.engine import History
    from dbsafe.lint.history import Seed, Unlinted
    from dbsafe.lint.locks import LockRow
    from dbsafe.lint.row_changes import RowChanges
    from dbsafe.migrate import AlembicProject
    from dbsafe.migrate.histories import History as RunnerHistory
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
    revisions: tuple[str, ...] = ()  # what its alembic version table holds
    # its SQL migration runner's history table and the versions it says ran
    ran: tuple[RunnerHistory, frozenset[str]] | None = None


@dataclass
class Loaded:
    """The migrations to lint, and what lint should know and say about how they were read."""

    migrations: list[Migration]
    earlier: list[Migration] = field(default_factory=list)  # not linted: their facts only
    order: list[Migration] = field(default_factory=list)  # upgrade order (alembic, or SQL alone)
    unlinted: list[Unlinted] = field(default_factory=list)  # reported as DBS005
    lines: list[str] = field(default_factory=list)  # said in the report (how, which)
    # those of `lines` saying where the capture could not start from the database's schema
    # (what of it the throwaway could not make, or why no copy): what explains a DBS005
    # `fails on a copy of the database's schema`; `upgrade`'s preflight says them too
    seed_lines: list[str] = field(default_factory=list)
    code: list[str] = field(default_factory=list)  # migrations run as code: not linted
    # Why some alembic revisions were not captured as they ran (rendered offline): their
    # data statements may be missing (they need a connection); "" when all were.
    not_captured: str = ""
    # What the database's runner history says of it (DBS612: its runner refuses to migrate)
    findings: list[Finding] = field(default_factory=list)
    # With `keep_head`: the alembic history's schema at heads, read on the capture's server
    # (`LoadedHistory.head`), and what that capture imported; None when it was not kept
    head: SchemaSnapshot | None = None
    head_imported: dict[str, Any] | None = None
    # Where the alembic revisions ran on a throwaway server: at the database's revision a
    # copy of its schema was taken at (`Seed`), "" replayed from an empty database; None
    # when they were rendered offline
    captured_from: str | None = None
    # Why the alembic revisions linted are not exactly those pending on the database given
    # (`current`), "" when they are: captured as they ran, after its revision, which the
    # history has, no `--since`. Only then are its rows asked of their checks (DBS615):
    # what the revisions before a check did is part of its answer.
    not_pending: str = "they were not read as pending on the database"


def load_migrations(settings: Settings, paths: Sequence[Path] = (), *,
                    since: str | None = None, changed_since: str | None = None,
                    offline: bool = False) -> list[Migration]:
    """The migrations `paths` name, or every alembic revision when `paths` is empty."""
    return load(settings, paths, since=since, changed_since=changed_since,
                offline=offline).migrations


def load(settings: Settings, paths: Sequence[Path] = (), *, since: str | None = None,
         changed_since: str | None = None, offline: bool = False,
         current: Sequence[str] = (), seed: Seed | None = None,
         ran: tuple[RunnerHistory, frozenset[str]] | None = None,
         until: Collection[str] | None = None, keep_head: bool = False) -> Loaded:
    """The migrations `paths` name, or every alembic revision when `paths` is empty.

    A path inside the alembic script location (the versions folder, one revision's `.py`
    file) selects those alembic revisions; other paths are SQL migration files or folders
    of them. Alembic revisions are captured as they run on a throwaway server, or rendered
    offline with `offline` (see `dbsafe.lint.history`). `current`: the revisions a database
    is at; without `since`, only the revisions after them are linted, and with `seed` (that
    database's schema) the capture starts from a copy of it: only they run (all of them on
    a database with tables and no revision). `ran`: a database's SQL migration history
    (runner and versions): the SQL files it says ran are not linted, only read for what
    they built, as the revisions before `current` are. `until`: the alembic revisions a
    database holds after an upgrade to a target (its own and those the upgrade applies);
    the others are neither linted nor said. `keep_head`: a capture of the alembic history
    run now keeps the schema it built at heads in `head` (`load_history`'s `keep_head`).
    """
    from dbsafe.extract.migration import (
        flyway_new_database,
        shared_transactions,
        sql_migrations,
    )
    from dbsafe.migrate import AlembicProject
    from dbsafe.migrate.histories import shared_version_findings

    root = settings.project_root
    project = AlembicProject.from_settings(settings)
    if paths:
        revision_paths, sql_paths = _split_paths(project.ini, paths)
        # (files its runner applies in one transaction with the others marked: a lock one
        # takes is held while the next run)
        migrations = shared_transactions(sql_migrations(
            sql_paths, root=root,
            wrapped_in_transaction=bool(settings.sql_migrations_in_transaction),
            sqitch_target=settings.sqitch_target), settings.sql_migrations_in_transaction) \
            if sql_paths else []
        # Two files of one version: their runner refuses them, or runs only one (DBS424)
        shared = shared_version_findings(migrations)
        if revision_paths:
            loaded = _alembic(settings, project, since=since, offline=offline, current=(),
                              keep_head=keep_head)
            selected = [m for m in loaded.migrations
                        if m.file is not None and _under(m.file, revision_paths)]
            loaded.earlier += [m for m in loaded.migrations if m not in selected]
            loaded.migrations = selected + migrations
        else:
            if since is not None:
                # Silently linting everything would pass for "only what is new".
                raise SourceError(f"--since {since} selects alembic revisions, and the paths "
                                  "name SQL migrations only; drop --since, or use "
                                  "--changed-since GITREF for SQL folders")
            if offline:  # (dropped without a word: there is nothing to render)
                raise SourceError("--offline renders alembic revisions (alembic upgrade --sql), "
                                  "and the paths name SQL migrations only; drop --offline")
            if ran is None:
                # Flyway's newest baseline migration runs on a new database instead of the
                # versioned files up to it, which every database older than it ran
                # (`flyway_new_database`): it is linted and is their context
                migrations = flyway_new_database(migrations)
            loaded = Loaded(migrations, order=list(migrations))
            if ran is not None:
                _leave_out_ran(loaded, *ran)
        loaded.findings += shared
        _note_code_migrations(loaded, sql_paths, root)
        _note_runner_transaction(loaded)
        if not settings.sql_migrations_in_transaction:
            _note_unknown_runners(loaded, sql_paths, root)
    else:
        if not project.ini.is_file():
            from dbsafe.config import alembic_config_not_found

            raise ConfigError(f"{alembic_config_not_found(project.ini, root, settings.exclude)}; set "
                              "`alembic-config`, or name the SQL migration files or folders "
                              "to lint")
        loaded = _alembic(settings, project, since=since, offline=offline, current=current,
                          seed=seed if since is None and not offline else None,
                          keep_head=keep_head)
        if until is not None:
            _leave_out_after_target(loaded, set(until))
    if changed_since:
        from dbsafe.extract.changed import changed_files

        changed = changed_files(root, changed_since)
        # A Sqitch script whose included file (`\ir`) changed changed too: psql reads it in.
        keep = [m for m in loaded.migrations if m.file is not None
                and not changed.isdisjoint({m.file.resolve(), *(f.resolve() for f in m.includes)})]
        loaded.earlier += [m for m in loaded.migrations if m not in keep]
        # Said, so that "no findings" of a change touching no migration is not read as
        # every migration linted clean.
        loaded.lines.append(f"{len(keep)} of {len(loaded.migrations)} migration(s) changed "
                            f"since {changed_since}: only those are linted.")
        loaded.migrations = keep
    return loaded


def _leave_out_after_target(loaded: Loaded, until: set[str]) -> None:
    """Only the revisions a database holds after an upgrade to a target: a revision after
    the target, or on another branch, that fails on the copy (magnum's MySQL-only `UPDATE
    ... INNER JOIN`) or validates rows the database holds is not this run's, and must not
    refuse it nor make it read every table."""
    # (by the history, not by position: another branch's revision may sort before the
    # target's)
    left_out = {m.revision for m in loaded.migrations
                if m.kind == "alembic" and m.revision not in until}
    loaded.migrations = [m for m in loaded.migrations if m.revision not in left_out]
    # A revision before the last pending one that stopped the capture stays, whatever its
    # branch: it says why the pending ones were not linted
    last = max((i for i, m in enumerate(loaded.order) if m.revision in until), default=-1)
    after = {m.revision for m in loaded.order[last + 1:]} & left_out if last >= 0 else set()
    loaded.unlinted = [u for u in loaded.unlinted if u.revision not in after]


def _capture_cache_extra(settings: Settings) -> str:
    """What of `settings` (and dbsafe) keys lint's capture cache besides the files."""
    from dbsafe import __version__

    return (f"dbsafe {__version__} python {settings.python or ''}"
            f"{' autocommit' if settings.alembic_autocommit else ''}")


@dataclass(frozen=True, slots=True)
class CapturedSchemaChanges:
    """What an earlier capture from an empty database (`dbsafe lint`'s, in the cache) saw
    revisions do to the schema: revision -> whether it changed any."""

    changes: Mapping[str, bool]
    captured_at: float  # when the capture was cached (the entry's mtime)


def captured_schema_changes(settings: Settings,
                            revisions: Sequence[str]) -> CapturedSchemaChanges | None:
    """Whether each of `revisions` changes the schema, as the cached capture of these very
    files from an empty database saw it; runs nothing (`dbsafe status` stays read-only and
    fast). None without a cache, or without an entry for the files as they are now. A
    revision the capture could not tell (it failed there, was cut short, or the history was
    partly rendered offline, where data statements may be missing) is left out."""
    from dbsafe.lint.engine import changes_no_schema, parse_migration
    from dbsafe.lint.history import cached_capture
    from dbsafe.migrate import AlembicProject

    if not settings.use_cache:
        return None
    loaded = cached_capture(AlembicProject.from_settings(settings),
                            cache_dir=settings.effective_cache_dir,
                            cache_extra=_capture_cache_extra(settings))
    if loaded is None or loaded.captured_at is None or loaded.how != "captured" \
            or loaded.note or loaded.seeded:
        return None
    untold = {u.revision for u in loaded.unlinted}
    wanted = set(revisions) - untold
    changes = {m.revision: not changes_no_schema(parse_migration(m))
               for m in loaded.migrations
               if m.revision in wanted and m.kind == "alembic" and not m.cut_short}
    return CapturedSchemaChanges(changes, loaded.captured_at)


def _alembic(settings: Settings, project: AlembicProject, *, since: str | None, offline: bool,
             current: Sequence[str], seed: Seed | None = None,
             keep_head: bool = False) -> Loaded:
    from dbsafe.lint.history import load_history

    pending_after = since or (current[0] if len(current) == 1 else None)
    history = load_history(
        project, root=settings.project_root, offline=offline, since=pending_after,
        cache_dir=settings.effective_cache_dir if settings.use_cache else None,
        cache_extra=_capture_cache_extra(settings), seed=seed, keep_head=keep_head)
    if not history.migrations and not history.unlinted and pending_after is None:
        # Linting nothing must not pass for "no findings": a history found empty is
        # usually one whose env.py names its versions folder at run time. (Rendered
        # offline after a revision alembic found, at a head: nothing is pending, as in a
        # capture.)
        raise SourceError(f"{project.ini.name}: alembic found no revisions, so there is "
                          "nothing to lint; if env.py sets `version_locations` or "
                          f"`script_location` at run time, set them in {project.ini.name}")
    loaded = Loaded(list(history.migrations), unlinted=list(history.unlinted),
                    order=list(history.migrations),
                    lines=[f"Linted {history.description()}."],
                    not_captured=history.note or "rendered offline"
                    if history.how != "captured" or history.note else "",
                    head=history.head, head_imported=history.imported,
                    captured_from=(history.seeded or "") if history.how == "captured"
                    else None)
    if history.seeded:
        loaded.lines.append(f"The capture started from the database's schema at revision "
                            f"{history.seeded} (pg_dump --schema-only, restored without its "
                            f"rows on {scratch(article='a')}).")
    if history.seed_failures:
        loaded.seed_lines.append(
            f"{len(history.seed_failures)} object(s) of the database's schema could not be "
            f"made on {scratch()}; a revision that uses one fails there (DBS005): "
            f"{_some_of(history.seed_failures)}.")
    if history.seed_note:
        loaded.seed_lines.append(history.seed_note)
    loaded.lines.extend(loaded.seed_lines)
    if since and since != "base" and history.how == "captured" and since not in history.parents:
        raise SourceError(f"--since {since}: no such revision in {project.ini.name}'s history")
    unknown = [r for r in current if r not in history.parents]
    if unknown and history.how == "captured":
        loaded.lines.append(f"The database is at revision {', '.join(current)}, which this "
                            "history does not have: linting every revision.")
        current = ()
    # `--since base`: every revision, whatever revision the database is at.
    after = [since] if since and since != "base" else [] if since else list(current)
    if after and history.how == "captured":
        loaded.earlier, loaded.migrations = history.split_after(after)
        done = {m.revision for m in loaded.earlier}
        loaded.unlinted = [u for u in loaded.unlinted if u.revision not in done]
    if current and not since:
        loaded.lines.append(
            f"The database is at revision {', '.join(current)}: linting the "
            f"{len(loaded.migrations)} revision(s) after it (--since base for all).")
        # (`dbsafe upgrade`, whose preflight and plan lint with `managed-timeouts`, commits
        # each revision before the next: nothing held across them)
        if history.how == "captured" and not settings.managed_timeouts:
            _share_alembic_transaction(loaded)
    loaded.not_pending = (
        "they were rendered offline" if history.how != "captured"
        else f"--since {since} lints other revisions than the pending ones" if since
        else "the database's revision is not in this history" if unknown else "")
    return loaded


def _share_alembic_transaction(loaded: Loaded) -> None:
    """Mark the pending revisions as sharing one transaction (`Migration.shares_transaction`)
    where the capture saw them run in one: `alembic upgrade` does unless env.py configures
    `transaction_per_migration=True`, and PostgreSQL showed it. The first statement
    PostgreSQL showed of each pending revision after the first was read inside the
    transaction the revision before it left open (`Observed.inherited`: the locks held
    when it began, alembic's own on its version table at least), for every one of them.
    A revision that starts a transaction of its own (transaction_per_migration, a raw
    COMMIT, `autocommit_block()`), or none shown (another driver, rendered offline): cannot
    tell, each revision is linted in its own, as before. Said in the report. Not with
    `managed-timeouts` (the revisions run through `dbsafe upgrade`, which commits each)."""
    from dbsafe.extract.migration import ALEMBIC_ONE

    pending = [m for m in loaded.migrations if m.kind == "alembic" and not m.cut_short]
    if len(pending) < 2 or len(pending) != len(loaded.migrations):
        return
    shown = False
    for migration in pending[1:]:
        first = next((s.observed for s in migration.statements
                      if s.observed is not None and not s.generated), None)
        if first is None:
            continue
        if not first.inherited or not migration.starts_in_transaction:
            return
        shown = True
    if not shown:
        return
    marked = {id(m): dataclasses.replace(m, shares_transaction=ALEMBIC_ONE) for m in pending}
    loaded.migrations = [marked.get(id(m), m) for m in loaded.migrations]
    loaded.order = [marked.get(id(m), m) for m in loaded.order]
    loaded.lines.append(
        f"The {len(pending)} pending revisions run in one transaction, as the capture showed "
        "(`alembic upgrade` with `transaction_per_migration` off, its default): the locks "
        "of each are held while the next run. `dbsafe upgrade` commits each revision "
        "before the next.")


def _leave_out_ran(loaded: Loaded, history: RunnerHistory, versions: frozenset[str]) -> None:
    """Move the SQL files the database's runner history says ran to `loaded.earlier`:
    the database's schema (lint's `before`) already holds what they built, and their
    locks and rewrites were taken long ago."""
    from dbsafe.migrate.histories import (
        CHECKS_APPLIED,
        edited_again,
        edited_applied,
        edited_findings,
        flyway_runs,
        flyway_unresolved,
        last_recorded,
        never_run,
        never_run_findings,
        ran_among,
        refusal,
        refusal_finding,
    )

    # (of the whole folder: Flyway's latest file may be a baseline migration)
    unresolved = flyway_unresolved(loaded.migrations, history, set(versions))
    # (Flyway runs its newest baseline migration on a new database, none on another)
    loaded.migrations = flyway_runs(loaded.migrations, history, versions)
    loaded.order = list(loaded.migrations)
    # (a Flyway repeatable migration edited since it ran runs again at its next migrate)
    again = {id(m) for m in edited_again(loaded.migrations, history)}
    ran = ran_among(loaded.migrations, history, set(versions))
    # Those its runner will never run there (a drizzle entry older than the last one run, a
    # Flyway version below the last one applied that its configuration skips): not linted,
    # said as `dbsafe status` says them (DBS613).
    never = never_run(loaded.migrations, history, set(versions))
    if never:
        skipped = {id(m) for m in never}
        loaded.migrations = [m for m in loaded.migrations if id(m) not in skipped]
        loaded.findings += never_run_findings(never, history.runner)
    if history.runner in CHECKS_APPLIED or history.dirty is not None:
        # A migration that failed half-way (Flyway's `success = false` row, sqlx's dirty
        # one): its runner migrates nothing until it is resolved, and the database holds
        # what the failed file did before it stopped, so what runs next is not these files
        # as they are; nor does Flyway migrate past what its validation fails (an applied
        # row no file resolves, an applied file edited since, a file below the last version
        # applied that never ran), nor sqlx past an applied file edited since. Said as
        # `dbsafe status` says it (DBS612). Their checksums were taken as the files were
        # read (`Migration.checksum`): no re-read. Nor does refinery migrate past an applied
        # file edited since, nor a versioned file below the last version applied that never
        # ran; its checksums (of the name and version too) are taken here, of the applied
        # files alone, read again: the files' reading pays none for a lint without a history.
        edited = edited_applied(loaded.migrations, history) \
            if history.runner in CHECKS_APPLIED else None
        refused = refusal(loaded.migrations, history, set(versions), unresolved=unresolved,
                          edited=edited)
        if refused is not None:
            last = last_recorded(ran)
            loaded.findings.append(refusal_finding(
                refused, history.runner, last.path if last else "none applied"))
        if edited:  # those Flyway, told not to validate, neither runs again nor says (DBS605)
            loaded.findings += edited_findings(loaded.migrations, history, refused, edited)
    if passed := [str(u) for u in unresolved if u.passed]:
        loaded.lines.append(
            f"The database's {history.runner} history ({history.table}) holds applied "
            f"migration(s) no file here resolves, which Flyway's validation passes: "
            f"{_some_of(passed)}; the database holds what they made.")
    done = {id(m) for m in ran} - again
    if not done:
        return
    loaded.earlier = [m for m in loaded.migrations if id(m) in done]
    loaded.migrations = [m for m in loaded.migrations if id(m) not in done]
    loaded.lines.append(
        f"The database's {history.runner} history ({history.table}) says {len(done)} of "
        f"these files ran there: linting the {len(loaded.migrations)} after them (without "
        "--database-url for all).")


def _some_of(items: Sequence[str], shown: int = 5) -> str:
    more = len(items) - shown
    return "; ".join(items[:shown]) + (f"; and {more} more" if more > 0 else "")


def _note_code_migrations(loaded: Loaded, paths: Sequence[Path], root: Path) -> None:
    """Say which migrations of the SQL folders `paths` their runner runs as code (yoyo's
    Python steps that are functions, goose's Go migrations): not linted, and never a silent
    pass."""
    from dbsafe.extract.files import display_path
    from dbsafe.extract.migration import code_migrations

    for folder in paths:
        for file, kind in code_migrations(folder) if folder.is_dir() else ():
            loaded.code.append(display_path(file, root))
            loaded.lines.append(f"{display_path(file, root)} is {kind}: code, which dbsafe "
                                "does not read; it was not linted")


def _note_runner_transaction(loaded: Loaded) -> None:
    """Say, once per reason, that the runner applies the pending files linted in one
    transaction where the project did not set it (node-pg-migrate's default, Flyway's
    `group`): lint holds the locks of each while the next run, and the way out is said."""
    from dbsafe.extract.migration import ALL_IN_ONE

    told: dict[str, list[Migration]] = {}
    for m in loaded.migrations:
        if m.shares_transaction and m.shares_transaction != ALL_IN_ONE:
            told.setdefault(m.shares_transaction, []).append(m)
    for why, migrations in told.items():
        if len(migrations) > 1:
            loaded.lines.append(
                f"{len(migrations)} pending file(s) linted as applied in one transaction "
                f"({why}): the locks of each are held while the next run; set "
                "`sql-migrations-in-transaction = true` if they run one transaction each")


def _note_unknown_runners(loaded: Loaded, paths: Sequence[Path], root: Path) -> None:
    """Say which SQL folders of `paths` no known runner's marks tell the runner of
    (`runner_unknown`), once each: their statements were linted as run one by one, which
    a runner wrapping each file in a transaction does not do; never a silent assumption."""
    from dbsafe.extract.files import display_path
    from dbsafe.extract.migration import postgres_named_sql, runner_unknown

    for folder in dict.fromkeys(paths):
        if runner_unknown(folder):
            loaded.lines.append(
                f"{display_path(folder, root)}: runner unknown: each statement linted as run "
                "on its own; set `sql-migrations-in-transaction = true` if your runner wraps "
                "each file in a transaction")
            # (synapse's runner runs its `.sql.postgres` deltas on PostgreSQL: the folder's
            # `*.sql` leaves them out, and leaving them out in silence would pass them)
            named = [display_path(p, root) for p in postgres_named_sql(folder)]
            if named:
                loaded.lines.append(
                    f"{display_path(folder, root)}: {len(named)} file"
                    f"{'s' if len(named) > 1 else ''} named for PostgreSQL after `.sql` "
                    f"({_some_of(named, 3)}) {'were' if len(named) > 1 else 'was'} not "
                    "linted: dbsafe does not know whether this folder's runner runs "
                    "them; name them to lint them (`dbsafe lint FILE ...`)")


def _split_paths(alembic_ini: Path, paths: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """(paths inside the alembic script location, the others)."""
    from dbsafe.core import ConfigError
    from dbsafe.extract.migration import yoyo_python_steps
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
        elif path.suffix == ".py" and yoyo_python_steps(path) is None:
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


def lint_migrations(migrations: Sequence[Migration], settings: Settings,
                    catalog: Mapping[str, RuleInfo],
                    facts: DatabaseFacts | None = None,
                    app: Application | None = None,
                    loaded: Loaded | None = None) -> Report:
    """Run the selected rules over `migrations`; returns findings with suppressions applied.

    Each migration is linted with what the ones before it built (`loaded.earlier` first,
    for their facts only). With `app`, removals the application's queries still use are
    reported too (DBS211). `loaded.unlinted` become DBS005 findings.
    """
    from dbsafe.config import parse_duration
    from dbsafe.extract.files import display_path
    from dbsafe.extract.suppressions import apply as apply_suppressions
    from dbsafe.lint import app_references
    from dbsafe.lint.engine import History, lint_migration, parse_migration, select_rules
    from dbsafe.lint.history import not_linted_finding
    from dbsafe.lint.row_changes import RowChanges
    from dbsafe.lint.rules import ALL_RULES

    facts = facts or DatabaseFacts()
    rules = select_rules(ALL_RULES, settings.select, settings.ignore)
    target = settings.target_version or facts.server_version or DEFAULT_TARGET_VERSION
    limit_ms = parse_duration(settings.lock_timeout_limit)[0]
    report_unparsed = not any("DBS001".startswith(c.upper()) for c in settings.ignore)
    findings: list[Finding] = []
    statements = 0
    history = History()
    renames: dict[tuple[Location, str], str] = {}  # what lint resolved, for DBS211
    schema_kept: list[Migration] = []
    row_changes = RowChanges()
    sizes = {k: (v.total_bytes, v.rows) for k, v in facts.sizes.items()}
    # Findings after a rename, with the renames their statement read (weighed by the size of
    # the database's table, under whatever name the migrations gave it).
    origins: dict[Finding, Mapping[str, str]] = {}
    # Findings under a search_path a migration (or env.py) set: their unqualified names are
    # looked up on it, not on the path lint's own session reads the database with.
    paths: dict[Finding, tuple[str, ...]] = {}
    # Findings after a statement that may have filled a table the migrations created
    # (`History.filled`): its size cannot be told.
    fills: dict[Finding, Mapping[str, str]] = {}
    sequence = upgrade_sequence(migrations, loaded)
    setup_lines = setup_facts(settings, history, facts.before,
                              [m for m, _ in sequence])
    first = _first_linted(sequence)
    for migration, linted in sequence:
        if not linted:
            for statement in parse_migration(migration):
                history.apply(statement)
            # (it ran before: its transaction is no pending one's, and holds nothing now)
            history.open_locks, history.open_created = (), frozenset()
            continue
        if migration is first:  # those before it ran on the database
            history.database_reached()
        statements += sum(1 for s in migration.statements if not s.generated)
        findings.extend(lint_migration(
            migration, rules, report_unparsed=report_unparsed, target_version=target,
            target_version_given=bool(settings.target_version or facts.server_version),
            timeouts_managed=settings.managed_timeouts, before=facts.before,
            lock_timeout_limit_ms=limit_ms, index_column_limit=settings.index_column_limit,
            server_version=facts.server_version,
            table_sizes=sizes, large_table_bytes=settings.large_table,
            history=history.carry(), renames=renames, schema_kept=schema_kept,
            row_changes=row_changes if migration.kind == "alembic" or facts.ran else None,
            origins=origins, paths=paths, fills=fills,
        ))
    if loaded is not None:
        findings.extend(not_linted_finding(u, settings.project_root) for u in loaded.unlinted)
        findings.extend(loaded.findings)
    # Only a revision captured as it ran: one rendered offline may have skipped its data
    # changes (they need a connection).
    not_captured = {u.revision for u in loaded.unlinted} if loaded is not None else set()
    no_schema_change_revisions = sorted(
        m.revision for m in schema_kept
        if m.kind == "alembic" and m.revision and m.revision not in not_captured)
    # Tables the migrations create (under their names since, dropped ones too), each with
    # whether the database lacks every relation of its name: then it is empty, and unknown
    # to the application, when the migrations after it run.
    existing = {r.name for r in facts.before.relations} if facts.before else set()
    created = {name: name not in existing for name, kinds in history.created_kinds.items()
               if any(kind in ("table", "materialized view") for kind in kinds.values())}
    weighed_by = {rule.code: rule.weighed_by for rule in ALL_RULES}
    findings = [_weigh(f, weighed_by.get(f.code), facts, settings, created, origins.get(f, {}),
                       paths.get(f), fills.get(f, {}))
                for f in findings]
    checked = app_references.Outcome()
    if app is not None and app_references.enabled(settings):
        checked = app_references.check(migrations, app, renames=renames)
        findings.extend(checked.findings)
    files = {str(m.file) for m in migrations if m.file is not None}
    by_display = {m.path: m.file for m in migrations if m.file is not None}
    # (the files a psql script includes: their suppression comments too)
    by_display.update((display_path(p, settings.project_root), p)
                      for m in migrations for p in m.includes)
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
    linted_revisions = [m.revision for m in migrations if m.kind == "alembic" and m.revision]
    if linted_revisions:  # which were linted: `upgrade` checks its pending ones are
        summary["linted_revisions"] = linted_revisions
    lines = [*(loaded.lines if loaded is not None else ()), *setup_lines]
    if lines:
        summary["lines"] = lines
    if loaded is not None and loaded.seed_lines:
        summary["seed_lines"] = list(loaded.seed_lines)
    if loaded is not None and loaded.code:
        summary["code_migration_files"] = len(loaded.code)
    if checked.queries:
        summary["application_statements"] = checked.queries
    if no_schema_change_revisions:
        summary["no_schema_change_revisions"] = no_schema_change_revisions
    if row_changes.revisions or not_captured:
        summary["row_changes"] = _row_changes(row_changes, loaded, not_captured)
    if row_changes.checks.checks:
        summary["row_checks"] = row_changes.checks.summary(
            unsure=_not_captured_why(loaded, not_captured),
            unsure_of=_from_first_not_captured(sequence, loaded, not_captured))
    if checked.skipped:
        # Said in the normal output, not only with -v: a missing DBS211 is not a pass.
        summary["not_checked"] = [f"{RULE_INFO_CODE}: {s.reason}" for s in checked.skipped]
    return Report(tuple(findings), summary, tuple(checked.skipped))


def _row_changes(changes: RowChanges, loaded: Loaded | None,
                 not_captured: set[str | None]) -> dict[str, object]:
    """What the linted revisions may change of the rows (`lint.row_changes`), or why that
    is unknown: a revision not captured as it ran may have skipped its data statements."""
    changes.unknown = _not_captured_why(loaded, not_captured) or changes.unknown
    return changes.summary()


def _not_captured_why(loaded: Loaded | None, not_captured: set[str | None]) -> str | None:
    """Why the statements linted may lack what a revision runs on a real database (its
    data statements), or None: every revision was captured as it ran."""
    if loaded is not None and loaded.not_captured:
        return f"the revisions were not captured as they ran ({loaded.not_captured})"
    if not_captured:
        named = sorted(str(r) for r in not_captured if r)
        if len(named) == 1:  # ("3ff50553e9d3 could not be captured as they ran", task 546)
            return f"{named[0]} could not be captured as it ran (DBS005)"
        return (f"{_some_of(named) if named else 'some revisions'} could not be captured as "
                "they ran (DBS005)")
    return None


def _from_first_not_captured(sequence: Sequence[tuple[Migration, bool]], loaded: Loaded | None,
                             not_captured: set[str | None]) -> frozenset[str] | None:
    """The revisions a revision not captured as it ran may have left rows for: itself and
    those after it in upgrade order (`sequence`); the ones before it ran as captured, and
    ran first. None: every one (the revisions were not captured at all, or one unknown).
    tacker's `3ff50553e9d3` failed on the copy of the database's schema, and the rows of
    `70df18f71ba2`, before it, were "cannot tell" (task 544)."""
    if (loaded is not None and loaded.not_captured) or None in not_captured:
        return None
    order = [m.revision for m, _ in sequence]
    first = next((i for i, revision in enumerate(order) if revision in not_captured), None)
    return None if first is None else frozenset(r for r in order[first:] if r)


def lock_rows(loaded: Loaded, facts: DatabaseFacts | None = None,
              settings: Settings | None = None) -> list[LockRow]:
    """`dbsafe lint --locks`: the lock each statement of `loaded.migrations` takes, read
    with the facts `lint_migrations` gives the rules -- what the migrations before it built
    (`loaded.earlier` too) over the database's schema (`facts.before`) -- so the locks
    listed are the locks the rules weigh."""
    from dbsafe.lint.engine import History, parse_migration
    from dbsafe.lint.locks import migration_lock_rows

    before = facts.before if facts is not None else None
    history = History()
    rows: list[LockRow] = []
    sequence = upgrade_sequence(loaded.migrations, loaded)
    if settings is not None:
        setup_facts(settings, history, before, [m for m, _ in sequence])
    first = _first_linted(sequence)
    for migration, linted in sequence:
        if linted:
            if migration is first:  # (as `lint_migrations`)
                history.database_reached()
            rows.extend(migration_lock_rows(migration, history.carry(), before=before))
        else:
            for statement in parse_migration(migration):
                history.apply(statement)
    return rows


def setup_facts(settings: Settings, history: History, before: SchemaSnapshot | None,
                migrations: Sequence[Migration] = ()) -> list[str]:
    """Give `history` what the `setup-sql` files make before the first migration (DHIS2's
    base schema, Renku's ULID function, roles and extensions), as the facts of migrations
    that ran before the linted ones: their tables' columns and types, kinds, keys, indexes,
    functions. The files are not linted (the environment's, no migration's) and none of
    their statements is reported.

    Only without a schema before (`before` None: no `--database-url`, no snapshot): a
    database got the files before its first migration, and its schema says what they
    made as it stands now. A file that is also one of `migrations` (in a folder of no known
    runner) is read there, not twice. What a file sets for its own session (search_path,
    time zone, temporary tables) ends with it, as psql's session does.

    Returns what to say: a file that cannot be read, the statements of one PostgreSQL's
    parser rejects (once a file: the rules do not know what they make).
    """
    from dbsafe.extract.files import display_path
    from dbsafe.extract.migration import Migration, psql_script
    from dbsafe.lint.engine import parse_migration

    if before is not None or not settings.setup_sql:
        return []
    root = settings.project_root
    linted = {m.file.resolve() for m in migrations if m.file is not None}
    lines: list[str] = []
    for file in settings.setup_sql:
        shown = display_path(file, root)
        if file.resolve() in linted:
            continue
        try:
            statements, _ = psql_script(file, root)
        except (SourceError, OSError) as exc:
            lines.append(f"setup-sql {shown} could not be read ({exc}): lint's rules do not "
                         "know what it makes before the first migration.")
            continue
        rejected: list[tuple[Location, str]] = []
        for statement in parse_migration(Migration(shown, statements, file=file)):
            if statement.error is not None:
                rejected.append((statement.location, statement.error.message))
            else:
                history.apply(statement)
        if rejected:
            (where, message), more = rejected[0], len(rejected) - 1
            lines.append(f"setup-sql {where.path}:{where.line}: PostgreSQL's parser rejects "
                         f"this statement{f' and {more} more' if more else ''} ({message}): "
                         "lint's rules do not know what they make before the first migration.")
    # (the files ran in a session of their own, ended before the first migration, which
    # starts with what an `ALTER DATABASE/ROLE ... SET search_path` of theirs stored)
    history.new_session()
    history.timezone_utc = False
    history.temporary.clear()
    history.open_locks, history.open_created = (), frozenset()
    history.carry()
    return lines


def upgrade_sequence(migrations: Sequence[Migration],
                     loaded: Loaded | None = None) -> list[tuple[Migration, bool]]:
    """`migrations` and `loaded.earlier` in upgrade order, so each migration is read with
    exactly what the ones before it built; each with whether it is linted (True) or only
    gives its facts (False)."""
    linted = {id(m) for m in migrations}
    sequence = list(migrations)
    if loaded is not None and loaded.earlier:
        order = {id(m): i for i, m in enumerate(loaded.order)}
        sequence = sorted([*loaded.earlier, *migrations],
                          key=lambda m: order.get(id(m), len(order)))
    return [(m, id(m) in linted) for m in sequence]


def _first_linted(sequence: Sequence[tuple[Migration, bool]]) -> Migration | None:
    """The first migration of `sequence` that is linted: the database's schema (lint's
    `before`) holds what the ones before it built."""
    return next((m for m, linted in sequence if linted), None)


def _read(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _weigh(finding: Finding, weighed_by: str | None, facts: DatabaseFacts,
           settings: Settings, created: Mapping[str, bool] | None = None,
           origins: Mapping[str, str] | None = None,
           search_path: Sequence[str] | None = None,
           filled: Mapping[str, str] | None = None) -> Finding:
    """Attach the size of the table the finding is about, and weigh it by what its rule's
    harm grows with (`Rule.weighed_by`): a lock on a small table is only a warning, a data
    change of every row (DBS140) only a note unless the table is large; a lock,
    or a break, on a table the database does not have yet (`created`: the tables the
    migrations create, each with whether the database lacks it) is a note, since nothing
    deployed can be using it while they run. A subject naming several tables (`a, b`) is
    new only when each of them is; a finding about an index is weighed by its table. An
    unqualified name is looked up on `search_path`, the one the migrations (or env.py) set
    for its statement, when they set one. A new table a statement before the finding's may
    have filled with rows (`filled`: an `INSERT ... SELECT`, a `COPY ... FROM`; what
    `History.filled` held at the finding's statement) has a size lint cannot tell: a lock
    or a rewrite on it keeps its rule's severity."""
    from dbsafe.lint.engine import TABLE_CONTEXT

    table = dict(finding.context).get(TABLE_CONTEXT)  # an index's
    if facts.before is None or not (table or finding.subject):
        return finding
    subjects = [table] if table else (finding.subject or "").split(", ")
    new = all(_created_here(subject, created or {}) for subject in subjects)
    # (made again under the name of one they dropped before the finding's statement: empty,
    # but deployed code may use the name)
    again = not new and all(_made_again(subject, created or {}, origins or {})
                            for subject in subjects)
    stats = _lookup(subjects[0], facts, origins or {}, search_path)
    fill = _filled(subjects, filled or {}) if new or again else None
    if stats is None and fill is not None:
        size, small = (f"cannot tell: a migration linted here creates it, and {fill} may "
                       "have filled it with rows before this statement"), False
        new = new and weighed_by != "size"  # (for the lock, not empty: as any table unsized)
        again = False
    elif stats is not None:
        size, small = stats.describe(), stats.total_bytes < settings.large_table
    elif new:
        size, small = "none yet: a migration linted here creates it", True
    elif again:
        size, small = ("none yet: a migration linted here creates it, the database's of "
                       "that name dropped or renamed away before"), True
    else:
        return finding
    context = finding.context + (("Table size", size),)
    severity = finding.severity
    if (weighed_by is not None and new) or (weighed_by == "size" and again):
        severity = Severity.NOTE
    elif weighed_by == "size" and small and severity is Severity.ERROR:
        severity = Severity.WARNING
    elif weighed_by == "rows" and not small and severity is Severity.NOTE:
        severity = Severity.WARNING  # every row of a large table changed in one statement
    return dataclasses.replace(finding, context=context, severity=severity)


def _filled(subjects: Sequence[str], filled: Mapping[str, str]) -> str | None:
    """What may have filled the table one of `subjects` names (`History.filled`), if any."""
    for subject in subjects:
        for name in subject_names(subject):
            fill = filled.get(name.rpartition(".")[2])
            if fill is not None:
                return fill
    return None


def _created_here(subject: str, created: Mapping[str, bool]) -> bool:
    """Whether `subject` (a table or one of its columns) names a table of `created` that the
    database has no relation of that name for, in any schema."""
    for name in subject_names(subject):
        table = name.rpartition(".")[2]
        if table in created:
            return created[table]
    return False


def _made_again(subject: str, created: Mapping[str, bool],
                origins: Mapping[str, str]) -> bool:
    """Whether `subject` (a table or one of its columns) names a table the migrations
    create where, at the finding's statement, the database's table of that name is gone
    (`origins`: dropped, or renamed away, before it): theirs, made in the run. Open-Assistant's
    7c98102efbca drops `user_stats` and creates it again; 0964ac95170d's CREATE INDEX on it
    was a DBS101 error with no table size (task 475)."""
    for name in subject_names(subject):
        table = name.rpartition(".")[2]
        if table in created:
            return origins.get(table) == ""
    return False


def _lookup(subject: str, facts: DatabaseFacts, origins: Mapping[str, str],
            search_path: Sequence[str] | None = None) -> TableStats | None:
    """The size of the table `subject` names: `table`, `schema.table`, or one of its
    columns (`table.column`, `schema.table.column`); one the migrations renamed is the
    database's table under its name there (`origins`: `History.origins` as the finding's
    statement read them), and a name they renamed away names none of its tables. An
    unqualified name is the table of the first schema holding one of `search_path`, the path
    the migrations (or env.py) set for the finding's statement (`"$user"` skipped), or,
    where they set none, of the path lint's session reads the database with."""
    schemas = facts.search_path if search_path is None \
        else tuple(s for s in search_path if s != "$user")
    for written in subject_names(subject):
        name = _database_name(written, origins)
        if name is None:
            continue
        if name in facts.sizes:
            return facts.sizes[name]
        if "." not in name:
            for schema in schemas:
                stats = facts.sizes.get(f"{schema}.{name}")
                if stats is not None:
                    return stats
    return None


def _database_name(name: str, origins: Mapping[str, str]) -> str | None:
    """`name` (`table` or `schema.table`) as the database names that table before the
    migrations' renames (`engine.database_name`); a rename keeps the schema, so a qualified
    name stays in its own.

    >>> _database_name("public.keeper", {"keeper": "holder"}), _database_name("holder", {"holder": ""})
    ('public.holder', None)
    """
    from dbsafe.lint.engine import database_name

    if not origins:
        return name
    origin = database_name(origins, name)
    schema, _, bare = (origin or "").rpartition(".")
    given = name.rpartition(".")[0]
    if origin is None or (given and schema and schema != given):
        return None
    return f"{given}.{bare}" if given else origin


def subject_names(subject: str) -> Iterator[str]:
    """The dotted name a finding's subject starts with, then each shorter prefix of it: a
    column's subject (`schema.table.column`) names its table too.

    >>> list(subject_names("public.item.owner_id"))
    ['public.item.owner_id', 'public.item', 'public']
    """
    name = subject.split(" ")[0].strip("`")
    while name:
        yield name
        name = name.rpartition(".")[0]

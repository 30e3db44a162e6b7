"""Settings: defaults < `[tool.dbsafe]` in the nearest pyproject.toml < `DBSAFE_*` env < CLI.

`load_settings()` returns a frozen `Settings`. Unknown keys in the file are a `ConfigError`
naming the key and the file, so a typo never silently does nothing. Relative paths in the
file are relative to the file's directory (the project root); paths given on the command
line are relative to the working directory. Sqitch's `SQITCH_TARGET` is read as Sqitch reads
it, over the file and under `DBSAFE_SQITCH_TARGET` and `--sqitch-target`.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from dbsafe.core import ConfigError, Severity

FORMATS = ("text", "json", "sarif", "github", "gitlab", "markdown")
_JS_NAME = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*\Z")
SCHEMA_SOURCES = ("auto", "database", "snapshot", "schema-file", "migrations")


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a command needs to know, already validated."""

    project_root: Path
    config_file: Path | None = None
    database_url: str | None = None
    # a PostgreSQL server (its URL, a role that may CREATE DATABASE) where the schemas dbsafe
    # builds from the migrations are built, in scratch databases of each run's own, instead
    # of a throwaway embedded PostgreSQL 18 (`dbsafe.pg.dev_server`): the project's major
    # version, with its extensions (PostGIS, ...)
    dev_url: str | None = None
    schema_source: str = "auto"  # one of SCHEMA_SOURCES
    snapshot: Path | None = None
    # The one SQL file a new database is made from (`src/db/schema.sql`, beside the folder
    # of upgrades older databases run): validate's schema, built from it alone; the
    # migrations stay what lint, status and drift read
    schema_file: Path | None = None
    alembic_config: Path = Path("alembic.ini")
    # A folder of SQL migrations (supabase/migrations, Flyway's db/migration, ...) the
    # `migrations` schema source applies instead of alembic's; None: found (see sources.py)
    sql_migrations: Path | None = None
    # SQL files run on every database dbsafe builds from the migrations, before the first
    # one (`dbsafe.migrate.setup`): what the project's database gets before its migration
    # tool runs (a docker-entrypoint-initdb.d script's CREATE EXTENSION)
    setup_sql: tuple[Path, ...] = ()
    python: str | None = None  # interpreter env.py runs under; None: active venv, else ours
    # env.py is handed an autocommit connection, as the application hands it its own
    # (dagster's storages): each statement commits as it runs
    alembic_autocommit: bool = False
    source_paths: tuple[str, ...] = (".",)
    exclude: tuple[str, ...] = ()
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severity: Mapping[str, Severity] = field(default_factory=dict)
    fail_on: Severity = Severity.WARNING
    format: str = "text"
    confirm: bool = True  # confirm validate findings with PREPARE when a database is at hand
    lock_timeout: str = "2s"
    statement_timeout: str = "5s"
    # how long the reads of a database's schema (introspection) wait for a lock; None: up to
    # their statement timeout. `dbsafe upgrade`/`downgrade` set their --lock-timeout.
    schema_lock_timeout: str | None = None
    cache_dir: Path | None = None  # None: <project_root>/.dbsafe_cache
    use_cache: bool = True
    jobs: int = 0  # 0: one worker per core
    max_file_size: int = 50 * 1024 * 1024  # validate skips (and lists) larger source files
    js_sql_tags: tuple[str, ...] = ()  # JS/TS template tags carrying SQL, beyond the built-in
    js_sql_calls: tuple[str, ...] = ()  # JS/TS calls whose first argument is SQL, likewise
    # validate: the search_path the application's sessions set (asyncpg's `server_settings`,
    # libpq's `options=-csearch_path=...`), schema names in order ("$user": the role's own);
    # None: the schema source's own
    search_path: tuple[str, ...] | None = None
    verbose: bool = False
    # lint
    target_version: int | None = None  # server_version_num migrations will run on; None: 15
    managed_timeouts: bool = False  # migrations run through `dbsafe upgrade`, which sets them
    # the longest lock_timeout a migration may set before a lock that queues traffic
    # (DBS134; strong_migrations' `lock_timeout_limit`); "0": no limit
    lock_timeout_limit: str = "10s"
    # the most key columns a non-unique B-tree or GiST index may have (DBS139); 0: no limit
    index_column_limit: int = 3
    large_table: int = 10 * 1024 * 1024  # bytes from which a lock is an outage, not a blip
    # the runner wraps each .sql file in BEGIN/COMMIT (True), or every pending file in one
    # transaction ("all": Boundary's, node-pg-migrate's, Flyway's `group`); None, not given:
    # as the runner dbsafe knows the folder's does (`shared_transactions`: node-pg-migrate's
    # `--single-transaction` default, Flyway's configured `group`), else as False
    sql_migrations_in_transaction: bool | Literal["all"] | None = None
    # drift/status: the runner's history table under another name ("convoy.gorp_migrations")
    sql_migrations_history_table: str | None = None
    # drift/status/lint: the Sqitch target whose registry says which changes ran ("prod")
    sqitch_target: str | None = None
    # the `env` of an Atlas project's atlas.hcl whose schema or migrations are read ("local")
    atlas_env: str | None = None
    # check
    check_paths: tuple[str, ...] = ()  # folders of project checks, relative to the project root
    check_timeout: str = "30s"  # statement_timeout of each check
    sequence_usage_threshold: float = 0.75  # share of a sequence's/column's range (DBS511)
    require_rls: tuple[str, ...] = ()  # "schema.table" or "schema.*" that must have RLS (DBS510)
    bloat_min_size: int = 10 * 1024 * 1024  # smallest relation DBS515/DBS516 estimate bloat for
    bloat_ratio: float = 0.5  # estimated share of wasted space reported by DBS515/DBS516
    unused_index_min_age: str = "7 days"  # statistics younger than this report nothing (DBS514)
    check_variables: Mapping[str, str] = field(default_factory=dict)  # dbsafe.<key> in checks
    expect: Mapping[str, Any] = field(default_factory=dict)  # [tool.dbsafe.expect]
    expect_file: Path | None = None  # None: <project_root>/dbsafe-expect.toml when it exists
    # drift: what `dbsafe drift` leaves out (object kinds/aspects, schemas, name patterns)
    drift_ignore: tuple[str, ...] = ()
    drift_ignore_schemas: tuple[str, ...] = ()
    drift_ignore_names: tuple[str, ...] = ()
    # diff: what `dbsafe diff` leaves out, in the same three ways
    diff_ignore: tuple[str, ...] = ()
    diff_ignore_schemas: tuple[str, ...] = ()
    diff_ignore_names: tuple[str, ...] = ()
    # where each key given was read: "option --select", a pyproject.toml's path, "environment
    # variable DBSAFE_JOBS" (an error about its value names it)
    origins: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def effective_cache_dir(self) -> Path:
        return self.cache_dir or self.project_root / ".dbsafe_cache"

    @property
    def resolved_schema_source(self) -> str:
        """The source the default order picks: database, then snapshot, then the schema
        file, then migrations."""
        if self.schema_source != "auto":
            return self.schema_source
        if self.database_url:
            return "database"
        if self.snapshot is not None:
            return "snapshot"
        if self.schema_file is not None:
            return "schema-file"
        return "migrations"


# key in [tool.dbsafe] / CLI option name -> (Settings field, kind)
_KEYS: dict[str, tuple[str, str]] = {
    "database-url": ("database_url", "str"),
    "dev-url": ("dev_url", "str"),
    "schema-source": ("schema_source", "source"),
    "snapshot": ("snapshot", "path"),
    "schema-file": ("schema_file", "path"),
    "alembic-config": ("alembic_config", "path"),
    "sql-migrations": ("sql_migrations", "path"),
    "setup-sql": ("setup_sql", "paths"),
    "python": ("python", "str"),
    "alembic-autocommit": ("alembic_autocommit", "bool"),
    "source-paths": ("source_paths", "list"),
    "exclude": ("exclude", "patterns"),
    "select": ("select", "list"),
    "ignore": ("ignore", "list"),
    "severity": ("severity", "severity-table"),
    "fail-on": ("fail_on", "severity"),
    "format": ("format", "format"),
    "confirm": ("confirm", "bool"),
    "lock-timeout": ("lock_timeout", "duration"),
    "statement-timeout": ("statement_timeout", "duration"),
    "cache-dir": ("cache_dir", "path"),
    "cache": ("use_cache", "bool"),
    "jobs": ("jobs", "int"),
    "max-file-size": ("max_file_size", "size"),
    "js-sql-tags": ("js_sql_tags", "js-names"),
    "js-sql-calls": ("js_sql_calls", "js-names"),
    "search-path": ("search_path", "search-path"),
    "verbose": ("verbose", "bool"),
    "target-version": ("target_version", "version"),
    "managed-timeouts": ("managed_timeouts", "bool"),
    "lock-timeout-limit": ("lock_timeout_limit", "duration"),
    "index-column-limit": ("index_column_limit", "int"),
    "large-table": ("large_table", "size"),
    "sql-migrations-in-transaction": ("sql_migrations_in_transaction", "bool-or-all"),
    "sql-migrations-history-table": ("sql_migrations_history_table", "str"),
    "sqitch-target": ("sqitch_target", "str"),
    "atlas-env": ("atlas_env", "str"),
    "check-paths": ("check_paths", "list"),
    "check-timeout": ("check_timeout", "duration"),
    "sequence-usage-threshold": ("sequence_usage_threshold", "ratio"),
    "require-rls": ("require_rls", "list"),
    "bloat-min-size": ("bloat_min_size", "size"),
    "bloat-ratio": ("bloat_ratio", "ratio"),
    "unused-index-min-age": ("unused_index_min_age", "str"),
    "check-variables": ("check_variables", "str-table"),
    "expect": ("expect", "table"),
    "expect-file": ("expect_file", "path"),
    "drift-ignore": ("drift_ignore", "list"),
    "drift-ignore-schemas": ("drift_ignore_schemas", "list"),
    "drift-ignore-names": ("drift_ignore_names", "name-patterns"),
    "diff-ignore": ("diff_ignore", "list"),
    "diff-ignore-schemas": ("diff_ignore_schemas", "list"),
    "diff-ignore-names": ("diff_ignore_names", "name-patterns"),
}

# Settings that make sense per machine or per run rather than per project are read from
# the environment too; DBSAFE_DATABASE_URL is the documented way to pass a secret URL.
_ENV_KEYS = (
    "database-url", "dev-url", "schema-source", "snapshot", "schema-file", "alembic-config", "sql-migrations", "setup-sql",
    "python",
    "fail-on", "format",
    "confirm", "lock-timeout", "statement-timeout", "cache-dir", "cache", "jobs",
    "target-version", "managed-timeouts", "check-timeout", "sqitch-target", "search-path",
    "atlas-env", "sql-migrations-in-transaction",
)


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml with a [tool.dbsafe] table, walking up from `start`.

    A pyproject.toml without the table still marks the project root if no ancestor has one.
    """
    start = start.resolve()
    first: Path | None = None
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            first = first or candidate
            if "[tool.dbsafe" in _read_text(candidate):
                return candidate
    return first


def load_settings(
    start: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    paths: Sequence[Path] = (),
) -> Settings:
    """Resolve settings with precedence defaults < file < environment < overrides.

    Args:
        start: where to look for pyproject.toml (walking up); the working directory if None.
        overrides: CLI options keyed by config key (`"fail-on"`); None values are ignored.
        config_file: an explicit pyproject.toml (`--config`), instead of searching.
        environ: the environment (defaults to `os.environ`).
        paths: the command's PATHS. When the working directory belongs to no project (no
            pyproject.toml from it up, no git repository), the one project below it they
            all belong to is the project (see `paths_project`).

    Raises:
        ConfigError: unreadable file, unknown key, or a value of the wrong kind.
    """
    cwd = (start or Path.cwd()).resolve()
    environ = os.environ if environ is None else environ
    if config_file is not None and not config_file.is_file():
        raise ConfigError(f"config file not found: {config_file}")
    pyproject = config_file.resolve() if config_file is not None else find_pyproject(cwd)
    project_root = pyproject.parent if pyproject is not None else cwd
    if pyproject is None and config_file is None and paths:
        home = paths_project(cwd, paths)
        if home is not None:
            project_root = home
            pyproject = home / "pyproject.toml" if (home / "pyproject.toml").is_file() else None
    values: dict[str, Any] = {"project_root": project_root, "config_file": pyproject}

    if pyproject is not None:
        table = _tool_table(pyproject)
        for key, raw in table.items():
            _apply(values, key, raw, origin=str(pyproject), base=project_root)

    # Sqitch's own: "Overrides values stored in the configuration, but not command-line
    # options or arguments" (sqitch-environment); its `Target` takes `$p->{name} ||
    # $ENV{SQITCH_TARGET}` before sqitch.conf's default. Over the file, under dbsafe's own.
    if sqitch_target := environ.get("SQITCH_TARGET"):
        _apply(values, "sqitch-target", sqitch_target,
               origin="environment variable SQITCH_TARGET", base=cwd)
    for key in _ENV_KEYS:
        env_name = "DBSAFE_" + key.upper().replace("-", "_")
        raw = environ.get(env_name)
        if raw is not None and raw != "":
            _apply(values, key, raw, origin=f"environment variable {env_name}", base=cwd)

    for key, raw in (overrides or {}).items():
        if raw is None or raw == ():
            continue
        _apply(values, key, raw, origin=f"option --{key}", base=cwd)

    if "alembic_config" not in values:
        values["alembic_config"] = default_alembic_config(cwd, project_root)
    return Settings(**values)


def paths_project(cwd: Path, paths: Sequence[Path]) -> Path | None:
    """The project every path belongs to, when the working directory `cwd` belongs to none.

    Run from a folder holding several checkouts (`dbsafe validate shop/src`), the working
    directory would be the root, and a schema source found under it could be another
    checkout's: the project is rather the one below `cwd` all PATHS share, its nearest folder
    holding a `pyproject.toml` or a git repository's `.git`. None when `cwd` is in a project
    itself, or the paths are in none or in several.

    Example:
        >>> paths_project(Path("/nonexistent"), [Path("/nonexistent/a/src")]) is None
        True
    """
    if _project_marker(cwd, stop=None) is not None:
        return None
    homes = {_project_marker((cwd / path).resolve(), stop=cwd) for path in paths}
    if len(homes) != 1:
        return None
    return homes.pop()


def _project_marker(start: Path, *, stop: Path | None) -> Path | None:
    """The nearest folder from `start` up (below `stop`) holding pyproject.toml or .git."""
    for directory in (start, *start.parents):
        if directory == stop:
            return None
        if (directory / "pyproject.toml").is_file() or (directory / ".git").exists():
            return directory
    return None


def default_alembic_config(cwd: Path, project_root: Path) -> Path:
    """The `alembic.ini` dbsafe uses when none is configured: the nearest one from the
    working directory up to the project root, as alembic itself reads the one in the working
    directory (a service's own `alembic.ini` in a monorepo whose root has another, or none),
    or, in a folder without one, that of its Flask-Migrate folder (`migrations/alembic.ini`,
    `flask_migrate_folder`), as `flask db` reads `migrations/` in the working directory;
    the project root's when there is none on the way.

    Example:
        >>> default_alembic_config(Path("/nonexistent/a/b"), Path("/nonexistent"))
        PosixPath('/nonexistent/alembic.ini')
    """
    if cwd == project_root or project_root in cwd.parents:
        for directory in (cwd, *cwd.parents):
            candidate = directory / "alembic.ini"
            if candidate.is_file():
                return candidate
            if flask_migrate_folder(directory / FLASK_MIGRATE_FOLDER):
                return directory / FLASK_MIGRATE_FOLDER / "alembic.ini"
            if directory == project_root:
                break
    return project_root / "alembic.ini"


FLASK_MIGRATE_FOLDER = "migrations"  # Flask-Migrate's default `directory`


# How deep below the project root `alembic_config_not_found` looks for the alembic configs
# it names (a folder as deep holds them, or its Flask-Migrate `migrations/` folder).
ALEMBIC_HINT_DEPTH = 2


def alembic_config_not_found(ini: Path, root: Path | None = None,
                             exclude: Sequence[str] = ()) -> str:
    """The error for a missing alembic config `ini`, naming the alembic configs that lie one
    or two levels below `root` (default: `ini`'s folder) and how to use each: an
    `alembic.ini` in a folder up to `ALEMBIC_HINT_DEPTH` levels below, or the one of a
    Flask-Migrate folder in such a folder (lemur's `lemur/migrations`, which its Makefile
    runs from `lemur/`). Only the message: what is found by default does not change (a
    config found deeper down would change which migrations a command runs). The look is
    bounded (`workspace_folders`: it passes by `node_modules`, `.venv`, `.git`, git-ignored
    folders and `exclude`, and examples and tests).

    Example:
        >>> alembic_config_not_found(Path("/nonexistent/alembic.ini"))
        'alembic config not found: /nonexistent/alembic.ini'
    """
    from dbsafe.extract.files import workspace_folders
    from dbsafe.sources import NOT_THE_APPLICATION

    base = root if root is not None else ini.parent
    message = f"alembic config not found: {_shown(ini)}"
    found: dict[Path, str] = {}
    for name in workspace_folders(base, ("alembic.ini", f"{FLASK_MIGRATE_FOLDER}/alembic.ini"),
                                  depth=ALEMBIC_HINT_DEPTH, exclude=exclude,
                                  skip=NOT_THE_APPLICATION):
        config = base / name
        if config in found or not config.is_file():
            continue
        folder = config.parent
        if flask_migrate_folder(folder):
            found[config] = (f"{_shown(config)}, Flask-Migrate's: use --alembic-config "
                             f"{_shown(config)} or run dbsafe from {_shown(folder.parent)}/")
        elif name.count("/") <= ALEMBIC_HINT_DEPTH:  # not a deeper folder's migrations/
            found[config] = (f"{_shown(config)}: use --alembic-config {_shown(config)} or run "
                             f"dbsafe from {_shown(folder)}/")
    if found:
        message += " [below it: " + "; ".join(found.values()) + "]"
    return message


def _shown(path: Path) -> str:
    """`path` relative to the working directory when it lies below it, as the user types it."""
    try:
        return path.resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path.resolve() if ".." in path.parts else path)


def flask_migrate_folder(folder: Path) -> bool:
    """Whether `folder` is a Flask-Migrate migrations folder, as `flask db init` writes it:
    `alembic.ini`, `script.py.mako`, `versions/` and an `env.py` that reads Flask's
    `current_app` or imports `flask_migrate` (`reads_flask_app`).

    Example:
        >>> flask_migrate_folder(Path("/nonexistent/migrations"))
        False
    """
    return ((folder / "alembic.ini").is_file() and (folder / "script.py.mako").is_file()
            and (folder / "versions").is_dir() and reads_flask_app(folder / "env.py"))


def reads_flask_app(env_py: Path) -> bool:
    """Whether `env_py` imports Flask's `current_app` or `flask_migrate` (read with `ast`):
    it runs only inside a Flask application's context, as `flask db` gives it one.
    (dbsafe/migrate/_child.py asks the same of the env.py it runs.)

    Example:
        >>> reads_flask_app(Path("/nonexistent/env.py"))
        False
    """
    import ast

    try:
        tree = ast.parse(env_py.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.partition(".")[0] == "flask_migrate" or (
                    node.module == "flask"
                    and any(alias.name == "current_app" for alias in node.names)):
                return True
        elif isinstance(node, ast.Import) and any(
                alias.name.partition(".")[0] == "flask_migrate" for alias in node.names):
            return True
    return False


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None


def _tool_table(pyproject: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(_read_text(pyproject))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{pyproject}: invalid TOML: {exc}") from None
    tool = data.get("tool", {})
    if not isinstance(tool, dict):  # `tool = 3`: PEP 518 makes it a table
        raise ConfigError(f"{pyproject}: [tool] must be a table")
    table = tool.get("dbsafe", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.dbsafe] must be a table")
    return table


def _apply(values: dict[str, Any], key: str, raw: Any, *, origin: str, base: Path) -> None:
    if key not in _KEYS:
        known = ", ".join(sorted(_KEYS))
        raise ConfigError(f"{origin}: unknown key {key!r} in [tool.dbsafe] (known keys: {known})")
    name, kind = _KEYS[key]
    values[name] = _convert(kind, raw, key=key, origin=origin, base=base)
    values.setdefault("origins", {})[key] = origin


def where(settings: Settings, key: str) -> str:
    """Where `key`'s value was read, to name in an error about it.

    >>> where(Settings(Path("/p"), origins={"select": "/p/pyproject.toml"}), "select")
    '/p/pyproject.toml: [tool.dbsafe] select'
    >>> where(Settings(Path("/p"), origins={"select": "option --select"}), "select")
    '--select'
    """
    origin = settings.origins.get(key)
    if origin is None:
        return f"`{key}`"
    if origin.startswith("option "):
        return origin.removeprefix("option ")
    if origin.startswith("environment variable "):
        return origin.removeprefix("environment variable ")
    table = _KEYS[key][1].endswith("table") if key in _KEYS else False
    return f"{origin}: [tool.dbsafe.{key}]" if table else f"{origin}: [tool.dbsafe] {key}"


def _joined(base: Path, raw: str | Path) -> Path:
    """`raw` read from `base`, with a `..` in it resolved: `sql-migrations = "../schema"` in
    /work/app is /work/schema, which summaries and errors show, not /work/app/../schema.

    >>> _joined(Path("/work/app"), "migrations")
    PosixPath('/work/app/migrations')
    """
    path = base / Path(raw).expanduser()
    return path.resolve() if ".." in path.parts else path


def _convert(kind: str, raw: Any, *, key: str, origin: str, base: Path) -> Any:
    def fail(expected: str) -> ConfigError:
        return ConfigError(f"{origin}: {key!r} must be {expected}, got {raw!r}")

    if kind == "str":
        if not isinstance(raw, str):
            raise fail("a string")
        return raw
    if kind == "path":
        if not isinstance(raw, (str, Path)):
            raise fail("a path string")
        return _joined(base, raw)
    if kind == "paths":
        if isinstance(raw, (str, Path)):  # the environment's: comma-separated
            raw = [part.strip() for part in str(raw).split(",") if part.strip()]
        if not isinstance(raw, (list, tuple)) or not all(
                isinstance(v, (str, Path)) and str(v) for v in raw):
            raise fail("a list of path strings")
        return tuple(_joined(base, v) for v in raw)
    if kind == "bool-or-all":
        if isinstance(raw, str) and raw.strip().lower() == "all":
            return "all"
        try:
            return _convert("bool", raw, key=key, origin=origin, base=base)
        except ConfigError:
            raise fail('true, false or "all"') from None
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if isinstance(raw, str) and raw.strip().lower() in ("0", "false", "no", "off"):
            return False
        raise fail("true or false")
    if kind == "int":
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise fail("a whole number") from None
        if value < 0:
            raise fail("zero or more")
        return value
    if kind == "list":
        if isinstance(raw, str):
            raw = [part.strip() for part in raw.split(",") if part.strip()]
        if not isinstance(raw, (list, tuple)) or not all(isinstance(v, str) for v in raw):
            raise fail("a list of strings")
        return tuple(raw)
    if kind == "duration":
        text = str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else raw
        try:
            if not isinstance(text, str):
                raise DurationError
            return parse_duration(text)[1]
        except DurationError as exc:
            if exc.reason is None:
                raise fail("a PostgreSQL duration such as \"2s\", \"500ms\", \"5min\" or 0 "
                           "(off)") from None
            raise ConfigError(f"{origin}: {key!r} {raw!r} {exc.reason}") from None
    if kind in ("patterns", "name-patterns"):
        # (paths, as --exclude takes them; object names, as --ignore-name does)
        problem_of = _pattern_problem if kind == "patterns" else name_pattern_problem
        patterns = _convert("list", raw, key=key, origin=origin, base=base)
        for pattern in patterns:
            if problem := problem_of(pattern):
                raise ConfigError(f"{origin}: {key!r} pattern {pattern!r} {problem}")
        return patterns
    if kind == "js-names":
        names = _convert("list", raw, key=key, origin=origin, base=base)
        if not all(_JS_NAME.match(name) for name in names):
            raise fail("a list of JavaScript names or dotted paths such as \"sql\" or "
                       "\"db.sql\"")
        return names
    if kind == "search-path":
        if isinstance(raw, str):
            names = split_search_path(raw)
            if names is None:
                raise fail("schema names separated by commas, as PostgreSQL's search_path "
                           "reads them (`app, public`, `\"$user\", public`)")
            return names
        if not isinstance(raw, (list, tuple)) or not all(isinstance(v, str) and v for v in raw):
            raise fail("a list of schema names or a comma-separated string")
        # A list holds names as they are spelt (`"App"` is the schema App); one written
        # quoted, as in PostgreSQL's setting (`'"$user"'`), is the same name.
        return tuple(v[1:-1].replace('""', '"') if len(v) > 1 and v[0] == v[-1] == '"' else v
                     for v in raw)
    if kind == "severity":
        if not isinstance(raw, str):
            raise fail("one of error, warning, note")
        try:
            return Severity.parse(raw)
        except ConfigError:
            raise fail("one of error, warning, note") from None
    if kind == "severity-table":
        if not isinstance(raw, Mapping):
            raise fail("a table of CODE = severity")
        return {str(code): _convert("severity", v, key=f"severity.{code}", origin=origin,
                                    base=base) for code, v in raw.items()}
    if kind == "ratio":
        try:
            ratio = float(raw)
        except (TypeError, ValueError):
            raise fail("a number between 0 and 1") from None
        if not 0 < ratio <= 1 or isinstance(raw, bool):
            raise fail("a number between 0 and 1")
        return ratio
    if kind == "table":
        if not isinstance(raw, Mapping):
            raise fail("a table")
        return dict(raw)
    if kind == "str-table":
        if not isinstance(raw, Mapping) or not all(
                isinstance(v, (str, int, float)) and not isinstance(v, bool)
                for v in raw.values()):
            raise fail("a table of name = string or number")
        return {str(k): str(v) for k, v in raw.items()}
    if kind == "version":
        return _parse_version(raw, fail)
    if kind == "size":
        return _parse_size(raw, fail)
    if kind == "format":
        if raw not in FORMATS:
            raise fail("one of " + ", ".join(FORMATS))
        return raw
    if kind == "source":
        if raw not in SCHEMA_SOURCES:
            raise fail("one of " + ", ".join(SCHEMA_SOURCES))
        return raw
    raise AssertionError(f"unhandled config kind {kind}")


def split_search_path(text: str) -> tuple[str, ...] | None:
    """The schema names of a `search_path` value, as PostgreSQL reads one
    (`SplitIdentifierString`): comma-separated, a name in double quotes kept as written
    (`""` a quote), any other folded to lower case; None when it cannot be read.

    >>> split_search_path('user_management, Public, "$user", "My ""x"" Schema"')
    ('user_management', 'public', '$user', 'My "x" Schema')
    >>> split_search_path(""), split_search_path("a,,b"), split_search_path('"open')
    ((), None, None)
    """
    names: list[str] = []
    rest = text.strip()
    if not rest:
        return ()
    while True:
        if rest.startswith('"'):
            match = re.match(r'"((?:[^"]|"")*)"', rest)
            if match is None or not match.group(1):
                return None
            names.append(match.group(1).replace('""', '"'))
            rest = rest[match.end():].lstrip()
        else:
            name = re.match(r'[^,\s"]*', rest).group(0)  # type: ignore[union-attr]
            if not name:
                return None
            names.append(name.lower())
            rest = rest[len(name):].lstrip()
        if not rest:
            return tuple(names)
        if not rest.startswith(","):
            return None
        rest = rest[1:].lstrip()


# How PostgreSQL reads lock_timeout and statement_timeout (guc.c's parse_int and
# convert_to_base_unit): a C integer (`strtol` base 0: 0x10 is 16, 010 is octal 8), or a
# C number (`strtod`: 1e3, .5, 0x1.8p1) when one goes on with `.` or `e`; blanks; a unit;
# blanks. A fraction is rounded to the unit below the one given, then to milliseconds.
_C_SPACE = " \t\n\v\f\r"
_C_INTEGER = re.compile(r"[+-]?(?:0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
_C_NUMBER = re.compile(r"[+-]?(?:0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)"
                       r"(?:[pP][+-]?[0-9]+)?|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")
# unit -> (microseconds, the next smaller unit's: what PostgreSQL rounds a fraction to)
_TIME_UNITS: dict[str, tuple[int, int]] = {
    "d": (86_400_000_000, 3_600_000_000),
    "h": (3_600_000_000, 60_000_000),
    "min": (60_000_000, 1_000_000),
    "s": (1_000_000, 1_000),
    "ms": (1_000, 1),
    "us": (1, 1),
}
_INT_MAX = 2**31 - 1
DURATION_EXAMPLES = "2s, 500ms, 5min or 0 (off)"


class DurationError(ValueError):
    """Not a duration dbsafe hands PostgreSQL; `reason` says why when it reads as one."""

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason or f"is not a PostgreSQL duration such as {DURATION_EXAMPLES}")
        self.reason = reason


def parse_duration(text: str) -> tuple[int, str]:
    """The milliseconds PostgreSQL reads a lock_timeout or statement_timeout as, and the
    text to hand it (blanks around it dropped).

    Taken: what PostgreSQL takes and reads as written. Refused (DurationError): what it
    refuses (22023) and what it reads otherwise: a fraction of a millisecond (or of the unit
    below the one given) it rounds (`0.5` is 0, which turns the timeout off), a number
    with a leading 0 it reads as octal (`010` is 8 ms).

    >>> [parse_duration(v)[0] for v in ("5s", " 1.5 min", "+5s", "1e3ms", "0x10", "0", "-0")]
    [5000, 90000, 5000, 1000, 16, 0, 0]
    >>> for v in ("0.5", "010", "30d", "0.001min", "5S", "-1s"):
    ...     try:
    ...         parse_duration(v)
    ...     except DurationError as exc:
    ...         print(v, exc.reason)
    0.5 is 0.5 ms, which PostgreSQL rounds to 0 ms (0 turns the timeout off)
    010 is octal to PostgreSQL (8): write 8 or 10 without the leading 0
    30d is more than PostgreSQL takes (2147483647 ms, about 24.8 days)
    0.001min is 60 ms, which PostgreSQL rounds to 0 ms (0 turns the timeout off)
    5S None
    -1s None
    """
    read, ms, value, octal = _read(text)
    if octal is not None:
        raise DurationError(f"is octal to PostgreSQL ({read}): write {read} or {octal} "
                            "without the leading 0")
    if ms < 0:
        raise DurationError
    if read != ms:
        off = " (0 turns the timeout off)" if read == 0 else ""
        raise DurationError(f"is {float(ms):g} ms, which PostgreSQL rounds to {read} ms{off}")
    return read, value


def read_duration(text: str) -> int:
    """The milliseconds PostgreSQL sets a lock_timeout or statement_timeout to when a
    migration sets it to `text`: rounded, and an octal number read as octal, as PostgreSQL
    reads them (`parse_duration` refuses those in dbsafe's own settings). DurationError for
    what PostgreSQL refuses.

    >>> [read_duration(v) for v in ("10min", "5000", "0.5", "1.5ms", "2.5", "010", "-0.4")]
    [600000, 5000, 0, 2, 2, 8, 0]
    """
    return _read(text)[0]


def _read(text: str) -> tuple[int, Any, str, int | None]:
    """(milliseconds PostgreSQL reads `text` as, the exact milliseconds written, the text
    without its blanks, the decimal number an octal one was written as or None)."""
    # (imported here: `fractions` loads `decimal`, a few milliseconds every command paid)
    from decimal import Decimal
    from fractions import Fraction

    value = text.strip(_C_SPACE)
    integer = _C_INTEGER.match(value)
    end = integer.end() if integer else 0
    octal = None
    if integer is not None and value[end:end + 1] not in (".", "e", "E"):
        digits = integer.group(0).lstrip("+-")
        if digits[:2].lower() == "0x":
            number = Fraction(int(digits, 16))
        elif len(digits) > 1 and digits.startswith("0"):
            number = Fraction(int(digits, 8))
            octal = int(digits, 10) if number != int(digits, 10) else None
        else:
            number = Fraction(int(digits))
        negative = integer.group(0).startswith("-")
    else:
        # strtol read nothing, or stopped at `.` or `e`: strtod reads it again
        real = _C_NUMBER.match(value) if value[end:end + 1] in (".", "e", "E") else None
        if real is None:
            raise DurationError
        end = real.end()
        digits = real.group(0).lstrip("+-")
        number = (Fraction(float.fromhex(digits)) if digits[:2].lower() == "0x"
                  else Fraction(Decimal(digits)))
        negative = real.group(0).startswith("-")
    unit = value[end:].lstrip(_C_SPACE)
    if unit and unit not in _TIME_UNITS:
        raise DurationError
    scale, step = _TIME_UNITS[unit] if unit else (1_000, 1_000)
    ms = number * scale / 1_000 * (-1 if negative else 1)
    # A fraction rounded to the unit below the one given, then to milliseconds (`rint`:
    # half to even, as Python's `round`); the range checked after rounding.
    read = round(round(ms * 1_000 / step) * step / 1_000) if unit else round(ms)
    if read > _INT_MAX:
        raise DurationError(f"is more than PostgreSQL takes ({_INT_MAX} ms, about 24.8 days)")
    if read < 0:
        raise DurationError
    return read, ms, value, octal


def is_duration(text: str) -> bool:
    """Whether dbsafe hands PostgreSQL `text` as a lock_timeout or statement_timeout.

    >>> is_duration("5s"), is_duration("1.5 min"), is_duration("0"), is_duration("abc")
    (True, True, True, False)
    """
    try:
        parse_duration(text)
    except DurationError:
        return False
    return True


def _pattern_problem(pattern: str) -> str | None:
    """Why a gitignore-style pattern cannot work, or None.

    pathspec compiles `[unclosed` to a pattern that matches nothing, silently.

    >>> _pattern_problem("app/[abc]*.sql") is None, _pattern_problem("[unclosed")[:30]
    (True, 'has a `[` that is never closed')
    """
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
            continue
        if pattern[i] == "[":
            start = i + 1
            if pattern[start:start + 1] in ("!", "^"):
                start += 1
            if pattern[start:start + 1] == "]":
                start += 1
            close = pattern.find("]", start)
            if close < 0:
                return "has a `[` that is never closed (write `\\[` for a literal bracket)"
            i = close + 1
            continue
        i += 1
    import pathspec  # only when there are patterns: see extract/files.py

    try:
        pathspec.GitIgnoreSpec.from_lines([pattern])
    except (ValueError, TypeError) as exc:
        return f"is not a gitignore pattern: {exc}"
    return None


def name_pattern_problem(pattern: str) -> str | None:
    """Why a shell pattern over dotted names (`diff`'s and `drift`'s ignore-names, matched
    with `fnmatch`) cannot be what was meant, or None: fnmatch reads a `[` never closed as
    the character itself, where `exclude` refuses it.

    >>> name_pattern_problem("public.tmp_[ab]*") is None, name_pattern_problem("[abc")[:30]
    (True, 'has a `[` that is never closed')
    """
    i = 0
    while i < len(pattern):
        if pattern[i] == "[":  # fnmatch.translate's scan: `[!` and a first `]` belong inside
            start = i + 1
            if pattern[start:start + 1] == "!":
                start += 1
            if pattern[start:start + 1] == "]":
                start += 1
            close = pattern.find("]", start)
            if close < 0:
                return "has a `[` that is never closed (write `[[]` for a literal bracket)"
            i = close
        i += 1
    return None


# The versions whose syntax and locking dbsafe's rules know: the newest is the embedded
# server's (the syntax_newer_than_target table ends there); 9.6 is the oldest the docs name.
OLDEST_TARGET = 90600
NEWEST_TARGET = 180000
_VERSIONS_KNOWN = f"9.6 to {NEWEST_TARGET // 10000}"


def _parse_version(raw: Any, fail: Any) -> int:
    """"15", "9.6", 15, "150004" -> server_version_num (150000, 90600, 150000, 150004).

    >>> _parse_version("9.6", None), _parse_version(16, None), _parse_version("150004", None)
    (90600, 160000, 150004)
    """
    text = str(raw).strip()
    try:
        if not text.replace(".", "", 1).isdigit() or isinstance(raw, bool):
            raise ValueError(text)  # signs, blanks inside, 9.6.1
        if "." in text:
            major, minor = text.split(".", 1)
            value = int(major) * 10000 + (int(minor) * 100 if int(major) < 10 else int(minor))
        else:
            value = int(text)
            if value < 100:
                value *= 10000
    except ValueError:
        raise fail(f"a PostgreSQL version such as 15 or 9.6 (dbsafe knows {_VERSIONS_KNOWN})") \
            from None
    if not OLDEST_TARGET <= value < (NEWEST_TARGET // 10000 + 1) * 10000:
        raise fail(f"a PostgreSQL version dbsafe knows ({_VERSIONS_KNOWN})")
    return value


_SIZE_UNITS = {"": 1, "B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


def _parse_size(raw: Any, fail: Any) -> int:
    """"10MB", "1 GB", 4096 -> bytes.

    >>> _parse_size("10MB", None), _parse_size("1 gb", None), _parse_size(512, None)
    (10485760, 1073741824, 512)
    """
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return raw
    text = str(raw).strip().upper().replace(" ", "")
    number = text.rstrip("KMGTB")
    unit = text[len(number):]
    try:
        size = float(number) * _SIZE_UNITS[unit]
    except (ValueError, KeyError):
        raise fail("a size such as 10MB or 1GB") from None
    if not 0 <= size < 2**63:  # -5MB (every file larger), 1e400MB (infinite), NaN
        raise fail("a size such as 10MB or 1GB, 0 or more")
    return int(size)


def replace(settings: Settings, **changes: Any) -> Settings:
    """A copy of `settings` with some fields changed (dataclasses.replace, re-exported)."""
    return dataclasses.replace(settings, **changes)


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity (a container's cpuset,
    `taskset`), not the machine's count, which can be many times more; `os.cpu_count()`
    where the platform does not say."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1

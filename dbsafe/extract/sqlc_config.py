"""Which engine sqlc's configuration compiles a `.sql` file for.

sqlc (https://sqlc.dev) reads `sqlc.yaml` (or `sqlc.yml`, or `sqlc.json`) in the folder it
runs from: each entry of its `sql:` list (version 2; `packages:` in version 1, where the
engine defaults to `postgresql`) names an `engine` (`postgresql`, `mysql`, `sqlite`, ...)
and the `queries` and `schema` it compiles for it, each a path or a list of paths relative
to the configuration's folder: a `.sql` file, a folder (the `.sql` files right in it), or a
pattern (`*`, `?`, `[...]`, Go's `filepath.Glob`); hidden files and golang-migrate's
`.down.sql` are left out (sqlc's `internal/sql/sqlpath`). A project keeping SQLite or MySQL
queries beside its PostgreSQL ones (River's `riverdriver/riversqlite/internal/dbsqlc`) says
so there, even where a query calls nothing only that engine has.

A file is another engine's when a configuration of the project names it, and none names it
for PostgreSQL: one in its folder or a folder above it up to the project root, or one in a
folder up to `PROJECT_DEPTH` levels below the root (`backend/sqlc.yaml` naming
`../db/queries`, `internal/db/sqlc.yaml` naming `../../sql/queries`), whatever folder
validate was given and from where (`dbsafe validate queries`, run in `db/`). The folders
below the root are listed as `discover` walks them, past VCS and virtualenv folders,
`node_modules`, tool caches and symbolic links, without reading `.gitignore` (a
configuration names its files itself). A configuration above the project root (the folder
of the `pyproject.toml` dbsafe reads, else the working folder) is not read, as nothing else
above the project is: a monorepo's root `sqlc.yaml` naming a subproject's queries applies
when validate runs from the monorepo's root. A configuration that cannot be read (not YAML,
an unknown version) tells nothing, nor does an entry naming an engine sqlc does not know
(`engine: postgres`: sqlc stops on it): its files stay PostgreSQL's.
"""

from __future__ import annotations

import fnmatch
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from dbsafe.extract.files import FolderNames, NearestFolder

log = logging.getLogger(__name__)

_CONFIG_NAMES = ("sqlc.yaml", "sqlc.yml", "sqlc.json")  # as sqlc looks for them
# How deep below the project root configurations naming files outside their folder are
# looked for (`apps/api-go/db/sqlc.yaml` is three levels down).
PROJECT_DEPTH = 3
# sqlc's engines as a reason names them (`internal/config/config.go`).
_ENGINE_NAMES = {"mysql": "MySQL", "sqlite": "SQLite", "clickhouse": "ClickHouse",
                 "googlesql": "GoogleSQL", "mssql": "SQL Server"}
_POSTGRESQL = "postgresql"


@dataclass(frozen=True, slots=True)
class _QuerySet:
    """One entry of a configuration: its engine and the paths of its queries and schema,
    joined with the configuration's folder."""

    engine: str
    paths: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SqlcEngine:
    """Another engine a configuration compiles a file for, as a skip reason says it."""

    engine: str  # "SQLite"
    config: str  # the configuration's path, as the walk gives it

    def reason(self, root: Path) -> str:
        from dbsafe.extract.files import display_path

        return (f"sent to {self.engine}, not PostgreSQL (the engine sqlc's "
                f"{display_path(Path(self.config), root)} names)")


class SqlcEngines:
    """The engine sqlc's configurations compile each `.sql` file for, when not PostgreSQL.

    Folders are absolute (`os.path.abspath`: a relative path's walk goes above the working
    folder, up to the project root); each folder is looked at once (`NearestFolder`), each
    configuration read once, and the project's other configurations are looked for once, at
    the first `.sql` file.
    """

    def __init__(self, root: Path, names: FolderNames | None = None) -> None:
        self._names = names if names is not None else FolderNames()
        self._project_root = os.path.abspath(root)
        self._nearest = NearestFolder(self._holds_config, (root,))
        self._root = {os.fspath(root), os.path.realpath(root)}
        self._configs: dict[str, tuple[str, tuple[_QuerySet, ...]]] = {}
        self._elsewhere: list[str] | None = None  # folders below the root holding one

    def of(self, file: str) -> SqlcEngine | None:
        """The other engine `file` is compiled for; None when it is PostgreSQL's, or no
        configuration names it."""
        if not file.endswith(".sql"):
            return None
        name = os.path.basename(file)
        if name.startswith(".") or name.endswith(".down.sql"):
            return None  # sqlc reads neither
        target = _normal(file)
        other: SqlcEngine | None = None
        for config, query_sets in self._naming(target):
            for query_set in query_sets:
                if not any(_names(pattern, target) for pattern in query_set.paths):
                    continue
                if query_set.engine == _POSTGRESQL:
                    return None
                if other is None:
                    other = SqlcEngine(_ENGINE_NAMES.get(query_set.engine, query_set.engine),
                                       config)
        return other

    def _naming(self, target: str) -> Iterable[tuple[str, tuple[_QuerySet, ...]]]:
        """The configurations that may name `target` (absolute): those in its folder and
        the folders above it, nearest first, then the project's others."""
        seen = set()
        for folder in self._above(os.path.dirname(target)):
            seen.add(folder)
            yield self._config(folder)
        if self._elsewhere is None:
            self._elsewhere = _holding_configs(self._project_root, PROJECT_DEPTH)
        for folder in self._elsewhere:
            if folder not in seen:
                yield self._config(folder)

    def _above(self, folder: str) -> Iterable[str]:
        """The folders holding a configuration at and above `folder`, nearest first."""
        found = self._nearest(folder)
        while found is not None:
            yield found
            parent = os.path.dirname(found)
            if not found or found in self._root or parent == found:
                return
            found = self._nearest(parent)

    def _holds_config(self, folder: str) -> bool:
        names = self._names(folder)
        return any(name in names for name in _CONFIG_NAMES)

    def _config(self, folder: str) -> tuple[str, tuple[_QuerySet, ...]]:
        known = self._configs.get(folder)
        if known is None:
            names = self._names(folder)
            yaml_names = [n for n in _CONFIG_NAMES[:2] if n in names]
            # (sqlc refuses to run with both a YAML and a JSON configuration)
            chosen = yaml_names[0] if yaml_names and "sqlc.json" not in names else \
                "sqlc.json" if not yaml_names else None
            path = os.path.join(folder, chosen or _CONFIG_NAMES[0])
            known = self._configs[folder] = (path, _read(path, folder) if chosen else ())
        return known


def _holding_configs(root: str, depth: int) -> list[str]:
    """`root` and the folders one to `depth` levels below it that hold a configuration: a
    listing of each folder down to that level, `SKIPPED_DIRS` and symbolic links passed by
    (a cached run pays for it, so no `.gitignore` is read)."""
    from dbsafe.extract.files import SKIPPED_DIRS

    found: list[str] = []
    level = [root]
    for at in range(depth + 1):
        below: list[str] = []
        for folder in level:
            try:
                with os.scandir(folder) as listing:
                    entries = list(listing)
            except OSError:
                continue
            if any(entry.name in _CONFIG_NAMES for entry in entries):
                found.append(folder)
            if at == depth:
                continue
            for entry in entries:
                try:
                    if entry.name not in SKIPPED_DIRS and entry.is_dir(follow_symlinks=False):
                        below.append(entry.path)
                except OSError:
                    continue
        level = below
    return sorted(found)


def _read(path: str, folder: str) -> tuple[_QuerySet, ...]:
    """The query sets of the configuration at `path`, as sqlc's `ParseConfig` reads them
    (YAML, which JSON is too); none when it cannot be read."""
    import yaml

    try:
        with open(path, encoding="utf-8") as file:
            data = yaml.safe_load(file)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        log.debug("sqlc's configuration %s not read: %s", path, exc)
        return ()
    if not isinstance(data, dict):
        return ()
    version = str(data.get("version", ""))
    entries = data.get("sql") if version == "2" else data.get("packages") if version == "1" \
        else None
    if not isinstance(entries, list):
        return ()
    sets = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        engine = entry.get("engine") or (_POSTGRESQL if version == "1" else None)
        if engine != _POSTGRESQL and engine not in _ENGINE_NAMES:
            continue  # (sqlc refuses an entry without one, or naming one it does not know)
        paths = [p for key in ("queries", "schema") for p in _paths(entry.get(key))]
        # (Go's filepath.Join: an absolute path is still below the folder)
        sets.append(_QuerySet(engine, tuple(_normal(os.path.join(folder, p.lstrip("/")))
                                            for p in paths)))
    return tuple(sets)


def _paths(value: object) -> list[str]:
    """sqlc's `Paths`: one string or a list of them."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _normal(path: str) -> str:
    return os.path.normpath(os.path.abspath(path))


def _names(pattern: str, target: str) -> bool:
    """Whether sqlc's `Glob` of `pattern` (a file, a folder or a pattern, normalised)
    lists `target` (a `.sql` file, normalised): the file itself, or a file right in the
    folder.

    >>> _names("/p/q/users.sql", "/p/q/users.sql"), _names("/p/q", "/p/q/users.sql")
    (True, True)
    >>> _names("/p", "/p/q/users.sql"), _names("/p/*/users.sql", "/p/q/users.sql")
    (False, True)
    >>> _names("/p/*", "/p/q/users.sql"), _names("/*/q", "/p/q/users.sql")
    (True, True)
    """
    if target == pattern or os.path.dirname(target) == pattern:
        return True
    if not any(c in pattern for c in "*?[]"):
        return False
    # filepath.Glob matches part by part: `*` never crosses a `/`.
    wanted = pattern.split(os.sep)
    parts = target.split(os.sep)
    return any(len(candidate) == len(wanted)
               and all(fnmatch.fnmatchcase(part, want) for part, want in zip(candidate, wanted))
               for candidate in (parts, parts[:-1]))

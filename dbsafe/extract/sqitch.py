"""A Sqitch project as `sqitch deploy` reads it: its plan's changes, in plan order, each
with the deploy script Sqitch runs for it.

A Sqitch project is a folder holding `sqitch.conf` (or, without one, `sqitch.plan`). Its
`sqitch.plan` (in `top_dir`, unless `plan_file` says otherwise) lists the changes in the
order they deploy: a line per change (`name [dependencies] timestamp planner <email> #
note`), a line per tag (`@v1.0 ...`) naming the change before it. A change named again
after a tag is *reworked*: its later line runs `deploy/name.sql`, and each earlier one the
script as of a tag that followed it, `deploy/name@tag.sql` (`App::Sqitch::Plan::Change`,
`path_segments`). Sqitch deploys in plan order: dependencies must come earlier in the plan
(`check_changes` refuses a plan where they do not); it never reorders.

Its pg engine runs each deploy script with `psql --file` and `ON_ERROR_STOP=1`: statement
by statement, in a transaction only where the script opens one itself (the `BEGIN;` and
`COMMIT;` `sqitch add` writes into every script). The `revert/` scripts undo a change and
the `verify/` scripts check one; deploying never runs either. psql gets the project's
variables (`SqitchProject.variables`) as `--set name=value`, which the scripts use as
`:'name'`, `:"name"` or `:name` (`dbsafe.extract.psql`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dbsafe.core import ConfigError, SourceError

SQITCH_CONF = "sqitch.conf"
SQITCH_PLAN = "sqitch.plan"

# git-config's syntax, which sqitch.conf has (`Config::GitLike`): `[section]` or
# `[section "subsection"]`, then `key = value` lines; `#` and `;` start comments.
_SECTION = re.compile(r'\[\s*(?P<name>[A-Za-z0-9.-]+)(?:\s+"(?P<sub>(?:[^"\\]|\\.)*)")?\s*\]')
_ENTRY = re.compile(r"(?P<key>[A-Za-z][A-Za-z0-9_-]*)\s*(?:=\s*(?P<value>.*))?")


@dataclass(frozen=True, slots=True)
class SqitchProject:
    """A Sqitch project's plan and where its scripts live."""

    folder: Path  # the project: where sqitch.conf is, and `sqitch` runs
    plan: Path
    engine: str | None  # `core.engine`: "pg" for PostgreSQL
    deploy_dir: Path
    revert_dir: Path
    verify_dir: Path
    deploy_files: tuple[Path, ...]  # the script of each change of the plan, in plan order
    extension: str = "sql"  # of its scripts
    name: str = ""  # the plan's `%project`, as the registry's rows name it
    changes: tuple[str, ...] = ()  # the change of each of `deploy_files`, in plan order
    registry: str = "sqitch"  # the schema of its registry (`changes`, `tags`, ...)
    target: str | None = None  # the target `sqitch deploy` uses unless told another
    config: Mapping[str, str] = field(default_factory=dict)  # sqitch.conf (`_read_config`)

    def variables(self, command: str = "deploy") -> dict[str, str]:
        """The psql variables `sqitch <command>` (deploy, revert, verify) runs its scripts
        with, from sqitch.conf: `core.variables`, `deploy.variables`, for revert and verify
        their own, then the engine's and the target's, each winning over those before it
        (`App::Sqitch::Command::deploy`, `_collect_vars`; `Target.variables`); `--set` on
        the command line is not seen. `registry` last: the pg engine sets it after them."""
        scopes = ["core", "deploy", *([command] if command != "deploy" else []),
                  f"engine.{self.engine or 'pg'}", f"target.{self.target}"]
        merged: dict[str, str] = {}
        for scope in scopes:
            prefix = f"{scope}.variables."
            merged.update((key[len(prefix):], value) for key, value in self.config.items()
                          if key.startswith(prefix))
        merged["registry"] = self.registry
        return merged

    def unplanned_deploy_files(self) -> list[Path]:
        """The deploy folder's scripts no change of the plan runs (a change taken out of
        the plan, a script run by hand)."""
        planned = set(self.deploy_files)
        return sorted(p for p in self.deploy_dir.rglob(f"*.{self.extension}")
                      if p.is_file() and p not in planned)

    @property
    def on_postgresql(self) -> bool:
        """Whether its engine is PostgreSQL's (`pg`), or not said."""
        return self.engine in (None, "pg")

    @property
    def script_dirs(self) -> tuple[Path, ...]:
        """The folders Sqitch's scripts live in (deploy, revert, verify)."""
        return tuple(dict.fromkeys((self.deploy_dir, self.revert_dir, self.verify_dir)))


def sqitch_project(folder: Path, target: str | None = None) -> SqitchProject | None:
    """The Sqitch project `folder` is (it holds `sqitch.conf` naming a plan that is there,
    or `sqitch.plan`), else None; read for `target` (a `[target "name"]` of its sqitch.conf,
    or a `db:pg:` URI), as `sqitch deploy TARGET` reads it, else for its default target.

    Raises:
        SourceError: the plan cannot be read.
        ConfigError: sqitch.conf has no target `target`.
    """
    conf = folder / SQITCH_CONF
    settings = _read_config(conf) if conf.is_file() else {}
    engine = settings.get("core.engine")
    if target is not None and ":" not in target \
            and not any(key.startswith(f"target.{target}.") for key in settings):
        known = sorted({key[len("target."):].rpartition(".")[0] for key in settings
                        if key.startswith("target.")})
        raise ConfigError(f"sqitch-target {target}: {conf} has no [target \"{target}\"] "
                          f"(its targets: {', '.join(known) or 'none'})")
    # Sqitch's `Target` BUILDARGS: the target named, else `core.target`, else the engine's.
    target = target or settings.get("core.target") or settings.get(f"engine.{engine}.target")
    engine = _canonical_engine(
        _uri_engine(settings.get(f"target.{target}.uri") or target) or engine)

    def setting(key: str) -> str | None:
        # Sqitch's `Target._fetch`: the target's, then the engine's, then core's.
        for scope in (f"target.{target}", f"engine.{engine}", "core"):
            value = settings.get(f"{scope}.{key}")
            if value:
                return value
        return None

    top_dir = folder / (setting("top_dir") or ".")
    plan = folder / plan_file if (plan_file := setting("plan_file")) else top_dir / SQITCH_PLAN
    if not plan.is_file():
        return None
    dirs = {}
    for script in ("deploy", "revert", "verify"):
        configured = setting(f"{script}_dir")
        dirs[script] = folder / configured if configured else top_dir / script
    reworked_dir = folder / (setting("reworked_dir") or setting("top_dir") or ".")
    configured_deploy = setting("deploy_dir")
    reworked_deploy = (folder / configured) if (configured := setting("reworked_deploy_dir")) \
        else reworked_dir / (configured_deploy or "deploy")
    extension = setting("extension") or "sql"
    try:
        text = plan.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"cannot read the Sqitch plan {plan}: {exc}") from None
    planned = plan_changes(text)
    files = tuple(
        _script(dirs["deploy"], reworked_deploy, name, rework_tags, extension)
        for name, rework_tags in planned)
    project_name = next((line.strip()[len("%project="):].strip() for line in text.splitlines()
                         if line.strip().startswith("%project=")), "")
    return SqitchProject(folder, plan, engine, dirs["deploy"], dirs["revert"], dirs["verify"],
                         files, extension, project_name, tuple(name for name, _ in planned),
                         setting("registry") or "sqitch", target, settings)


def project_of(path: Path, target: str | None = None) -> SqitchProject | None:
    """The Sqitch project `path` (a script, or a folder) lies in: that of the nearest folder
    from it up holding `sqitch.conf` or `sqitch.plan`, read for `target` (its default
    target's without); None where there is none, or its plan cannot be read.

    Raises:
        ConfigError: its sqitch.conf has no target `target`.
    """
    resolved = path.resolve()
    for folder in (resolved, *resolved.parents):
        if (folder / SQITCH_CONF).is_file() or (folder / SQITCH_PLAN).is_file():
            try:
                return sqitch_project(folder, target)
            except SourceError:
                return None
    return None


def revert_script(deploy_script: Path) -> Path | None:
    """The revert script of a Sqitch change whose deploy script is `deploy_script` (the
    same path under the revert folder: `revert/name.sql`, `revert/name@tag.sql`), or None
    when `deploy_script` is no Sqitch project's."""
    project = project_of(deploy_script)
    if project is None:
        return None
    script, deploy_dir = deploy_script.resolve(), project.deploy_dir.resolve()
    if not script.is_relative_to(deploy_dir):
        return None
    return project.revert_dir / script.relative_to(deploy_dir)


def script_folders(folders: Iterable[Path], root: Path) -> set[Path]:
    """The script folders (deploy, revert, verify) of the Sqitch projects whose deploy
    folder holds one of `folders` (resolved), looked for from each up to `root`: its revert
    and verify scripts are no application's SQL, though never linted."""
    found: set[Path] = set()
    seen: set[Path] = set()
    for folder in folders:
        for candidate in (folder, *folder.parents):
            if candidate in seen or not candidate.is_relative_to(root):
                break
            seen.add(candidate)
            if (candidate / SQITCH_CONF).is_file() or (candidate / SQITCH_PLAN).is_file():
                project = sqitch_project(candidate)
                if project is not None and folder.is_relative_to(project.deploy_dir.resolve()):
                    found.update(d.resolve() for d in project.script_dirs)
    return found


def plan_changes(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """Each change of a plan, in plan order: its name and, for a change reworked later in
    the plan, the tags whose name its script takes (`deploy/name@tag.sql`), in the order
    Sqitch tries them: those of the changes between it and its rework, the latest first,
    then its own (`App::Sqitch::Plan::_parse`, `add_rework_tags`).

    A line's note (from its first `#`) is no part of it; pragmas (`%project=...`) and
    blank lines are passed by; a change line may start with `+` or `-`, which Sqitch
    deploys alike.

    >>> plan = '''%project=flipr
    ...
    ... users 2024-01-01T00:00:00Z Me <me@example.com> # a note
    ... insert_user [users] 2024-01-01T00:00:00Z Me <me@example.com>
    ... @v1.0 2024-01-02T00:00:00Z Me <me@example.com> # release
    ... posts 2024-01-03T00:00:00Z Me <me@example.com>
    ... @v1.1 2024-01-03T00:00:00Z Me <me@example.com>
    ... insert_user [insert_user@v1.0] 2024-01-04T00:00:00Z Me <me@example.com>
    ... '''
    >>> plan_changes(plan)
    [('users', ()), ('insert_user', ('@v1.1', '@v1.0')), ('posts', ()), ('insert_user', ())]
    """
    names: list[str] = []
    tags: list[list[str]] = []
    rework: dict[int, tuple[str, ...]] = {}
    latest: dict[str, int] = {}  # a change's name -> its latest line
    for line in text.splitlines():
        line = line.partition("#")[0].strip()
        if not line or line.startswith("%"):
            continue
        if line.startswith("@"):
            if names:
                tags[-1].append("@" + line[1:].split()[0])
            continue
        name = line.lstrip("+-").lstrip().split()[0]
        if (earlier := latest.get(name)) is not None:
            rework[earlier] = tuple(tag for i in range(len(names) - 1, earlier, -1)
                                    for tag in tags[i]) + tuple(tags[earlier])
        latest[name] = len(names)
        names.append(name)
        tags.append([])
    return [(name, rework.get(i, ())) for i, name in enumerate(names)]


def _uri_engine(uri: str | None) -> str | None:
    """The engine a Sqitch target URI names (`db:pg://user@host/db` -> "pg").

    >>> _uri_engine("db:pg:flipr_test"), _uri_engine("db:mysql://x/y"), _uri_engine("dev")
    ('pg', 'mysql', None)
    """
    if uri is None or not uri.startswith("db:"):
        return None
    return uri[3:].partition(":")[0] or None


# The engines URI::db reads as PostgreSQL's (`canonical_engine` "pg"): its `URI::pg` and
# the classes based on it. URI schemes are not case-sensitive (`engine = Pg`).
_PG_ENGINES = frozenset({"pg", "pgsql", "pgxc", "postgres", "postgresql", "postgresxc",
                         "redshift", "yugabyte"})


def _canonical_engine(engine: str | None) -> str | None:
    """The engine key Sqitch reads `engine` as (`Target.engine_key`).

    >>> _canonical_engine("Pg"), _canonical_engine("postgresql"), _canonical_engine("mysql")
    ('pg', 'pg', 'mysql')
    """
    if engine is None:
        return None
    engine = engine.strip().lower()
    return "pg" if engine in _PG_ENGINES else engine


def _script(deploy_dir: Path, reworked_dir: Path, name: str, rework_tags: tuple[str, ...],
            extension: str) -> Path:
    """The deploy script of change `name`: `name.sql` under the deploy folder (a name with
    `/` in it, `schema/table`, in subfolders), or for a reworked one the first of
    `name@tag.sql` that exists under the reworked folder, else the first's name."""
    *parents, base = name.split("/")
    if not rework_tags:
        return deploy_dir.joinpath(*parents, f"{base}.{extension}")
    candidates = [reworked_dir.joinpath(*parents, f"{base}{tag}.{extension}")
                  for tag in rework_tags]
    return next((c for c in candidates if c.is_file()), candidates[0])


def _read_config(path: Path) -> dict[str, str]:
    """`section.key` (`section.subsection.key`) -> value of a git-config file, later
    entries winning; names of sections and keys lower-cased, as git-config compares them,
    but those of variables (`[deploy "variables"]`), which Sqitch hands psql as written.

    Raises:
        SourceError: the file cannot be read.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"cannot read {path}: {exc}") from None
    values: dict[str, str] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            match = _SECTION.match(line)
            if match is None:
                section = ""
                continue
            section = match["name"].lower()
            if match["sub"] is not None:
                section += "." + re.sub(r"\\(.)", r"\1", match["sub"])
            continue
        entry = _ENTRY.match(line)
        if entry is None or not section:
            continue
        key = entry["key"] if section.endswith(".variables") else entry["key"].lower()
        values[f"{section}.{key}"] = _config_value(entry["value"] or "")
    return values


def _config_value(text: str) -> str:
    """A git-config value: quotes removed, a `#` or `;` outside them ending it.

    >>> _config_value('./sql  # where the scripts are'), _config_value('"a;b" ; c')
    ('./sql', 'a;b')
    """
    out, quoted, escaped = [], False, False
    for char in text:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char in "#;" and not quoted:
            break
        else:
            out.append(char)
    return "".join(out).strip()

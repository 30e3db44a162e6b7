"""The project's own JavaScript packages: the file an import of one names.

A monorepo's code imports its packages by the `name` their `package.json` gives
(`import { sql } from '@acme/db'`), which the package manager links to the package's
folder; Node then opens the file the package's `exports` maps the specifier's subpath to
(`"."` for `@acme/db`, `"./schema"` for `@acme/db/schema`; a condition object's `import`,
`default`, `node`, `require` or `types` entry, a source file), else, for `"."`, its `main`
or `module`, or an `index` file (TypeScript's bundler resolution also reads
`src/index.ts`). Patterns (`"./*"`) are not read.
"""

from __future__ import annotations

import json
from pathlib import Path

# Where a monorepo keeps its packages: one folder below these.
WORKSPACES = ("apps", "packages", "services", "libs")
SCRIPTS = (".ts", ".js", ".mjs", ".cjs", ".mts", ".cts", ".tsx", ".jsx")
_SKIPPED_FOLDERS = ("node_modules",)
_CONDITIONS = ("import", "default", "node", "require", "types")


def project_folders(root: Path) -> list[Path]:
    """The root, its folders, the packages of its workspace folders (`packages/db`), and
    the packages deeper down its workspace globs name (`nested_packages`)."""
    folders = [root]
    try:
        children = sorted(p for p in root.iterdir() if p.is_dir()
                          and not p.name.startswith(".") and p.name not in _SKIPPED_FOLDERS)
    except OSError:
        return folders
    folders += children
    for child in children:
        if child.name in WORKSPACES:
            try:
                folders += sorted(p for p in child.iterdir() if p.is_dir())
            except OSError:
                continue
    known = set(folders)
    return folders + [p for p in nested_packages(root) if p not in known]


# How deep a workspace glob's `**` is followed (Latitude's `packages/**` holds
# `packages/platform/db-postgres`, three levels down).
_NESTED_DEPTH = 4


def nested_packages(root: Path) -> list[Path]:
    """The folders holding a `package.json` that a workspace glob of the root names below
    the first level of its folders: pnpm's `packages:` in `pnpm-workspace.yaml`, npm's and
    yarn's `workspaces` in `package.json` (`packages/**`, `packages/*/*`), up to
    `_NESTED_DEPTH` levels; `node_modules` and hidden folders passed by, a `!` pattern
    leaving its folders out."""
    import fnmatch

    patterns = _workspace_globs(root)
    deep = [g for g in patterns if not g.startswith("!") and g.strip("/").count("/") >= 1]
    if not deep:
        return []
    excluded = [g[1:].strip("/") for g in patterns if g.startswith("!")]
    found: dict[Path, None] = {}
    for glob in deep:
        # walked from the folder its literal head names (`packages` of `packages/**`)
        head = []
        for part in glob.strip("/").split("/"):
            if any(c in part for c in "*?[{"):
                break
            head.append(part)
        level = [root.joinpath(*head)] if head else [root]
        for depth in range(len(head) + 1, _NESTED_DEPTH + 1):
            below = []
            for folder in level:
                try:
                    below += sorted(p for p in folder.iterdir() if p.is_dir() and not
                                    p.is_symlink() and not p.name.startswith(".")
                                    and p.name not in _SKIPPED_FOLDERS)
                except OSError:
                    continue
            for folder in below:
                relative = folder.relative_to(root).as_posix()
                if depth >= 2 and (folder / "package.json").is_file() \
                        and _glob_matches(relative, glob.strip("/")) \
                        and not any(fnmatch.fnmatchcase(relative, g) or relative.startswith(
                            g.removesuffix("/**") + "/") for g in excluded):
                    found.setdefault(folder)
            level = below
    return list(found)


def _glob_matches(path: str, glob: str) -> bool:
    """Whether the folder `path` (POSIX, relative to the root) is one `glob` names, `**`
    standing for any number of folders, `*` for one name.

    >>> _glob_matches("packages/platform/db", "packages/**"), _glob_matches("apps/a/b", "apps/*")
    (True, False)
    """
    import re

    pattern = "".join(".*" if part == "**" else re.escape(part).replace(r"\*", "[^/]*")
                      for part in re.split(r"(\*\*)", glob))
    return re.fullmatch(pattern, path) is not None


def _workspace_globs(root: Path) -> list[str]:
    """The workspace globs of the project at `root`: `pnpm-workspace.yaml`'s `packages`,
    `package.json`'s `workspaces` (a list, or yarn's `{"packages": [...]}`)."""
    globs: list[str] = []
    try:
        text = (root / "pnpm-workspace.yaml").read_text(encoding="utf-8")
    except (OSError, ValueError):
        text = None
    if text is not None:  # (yaml imported only for a pnpm workspace)
        import yaml

        try:
            # (libyaml's parser where PyYAML has it: a tenth of the pure-Python one's time, on
            # a file read several times a run; langfuse's catalog-laden one cost 4 ms a read)
            loaded = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError:
            loaded = None
        listed = loaded.get("packages") if isinstance(loaded, dict) else None
        globs += [g for g in listed or () if isinstance(g, str)] \
            if isinstance(listed, list) else []
    try:
        workspaces = json.loads((root / "package.json").read_text(encoding="utf-8")).get(
            "workspaces")
    except (OSError, ValueError, AttributeError):
        workspaces = None
    if isinstance(workspaces, dict):
        workspaces = workspaces.get("packages")
    globs += [g for g in workspaces or () if isinstance(g, str)] \
        if isinstance(workspaces, list) else []
    return globs


def manifests(root: Path) -> list[tuple[Path, object]]:
    """Each `package.json` of the project's folders (`project_folders`), parsed, with its
    folder; one that cannot be read or parsed is left out."""
    found = []
    for folder in project_folders(root):
        try:
            found.append((folder, json.loads((folder / "package.json").read_text(
                encoding="utf-8"))))
        except (OSError, ValueError):
            continue
    return found


def package_modules(root: Path, read: list[tuple[Path, object]] | None = None,
                    ) -> dict[str, tuple[Path, Path]]:
    """Each specifier naming a file of one of the project's packages (`@acme/db`,
    `@acme/db/schema`), with the package's folder and that file; a name two packages give
    is left out. `read`: the project's `manifests`, when the caller has them."""
    found: dict[str, tuple[Path, Path] | None] = {}
    for folder, manifest in manifests(root) if read is None else read:
        if not isinstance(manifest, dict):
            continue
        name = manifest.get("name")
        if not isinstance(name, str) or not name:
            continue
        for subpath, path in _entries(folder, manifest).items():
            specifier = name if subpath == "." else f"{name}/{subpath[2:]}"
            found[specifier] = None if specifier in found else (folder, path)
    return {s: p for s, p in found.items() if p is not None}


def _entries(folder: Path, manifest: dict) -> dict[str, Path]:
    exports = manifest.get("exports")
    entries: dict[str, Path] = {}
    if isinstance(exports, dict) and any(k.startswith(".") for k in exports):
        targets = {k: v for k, v in exports.items() if k.startswith(".") and "*" not in k}
    elif exports is not None:
        targets = {".": exports}
    else:
        targets = {".": [manifest.get("main"), manifest.get("module"), "index", "src/index"]}
    for subpath, target in targets.items():
        path = source_file(folder, target)
        if path is not None and (subpath == "." or subpath.startswith("./")):
            entries[subpath] = path
    return entries


def source_file(folder: Path, target: object) -> Path | None:
    """The source file an `exports` target (a path, conditions, a list of either) names."""
    if isinstance(target, dict):
        target = [target[c] for c in _CONDITIONS if c in target]
    if isinstance(target, list):
        return next((p for t in target if (p := source_file(folder, t)) is not None), None)
    if not isinstance(target, str) or not target or target.endswith(".d.ts"):
        return None
    path = folder / target
    candidates = [path] if path.suffix in SCRIPTS else [
        *(path.with_name(path.name + s) for s in SCRIPTS),
        *(path / f"index{s}" for s in SCRIPTS)]
    try:
        return next((p for p in candidates if p.is_file()), None)
    except OSError:
        return None

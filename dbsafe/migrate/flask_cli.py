"""The Flask CLIs of a project, read statically: where its application comes from when it is
run through its own `FlaskGroup(create_app=...)` command rather than `flask`.

redash starts as `./manage.py db upgrade` (`@click.group(cls=FlaskGroup, create_app=create)`
in `redash/cli/__init__.py`) and lemur as `lemur db upgrade` (the same, with
`create_app=create_app`, in `lemur/manage.py`): neither has the `wsgi.py` or `app.py` the
`flask` command looks for, nor sets `FLASK_APP`. The group's factory is what their own command
loads the application with, and what the sandboxed child loads it with
(`flask.cli.ScriptInfo(create_app=...)`) when nothing else names one.

Only read here, never imported: the project's code runs in the child alone.
"""

from __future__ import annotations

import ast
import keyword
from dataclasses import dataclass
from pathlib import Path

from dbsafe.extract.newer_python import parse

# Folders whose CLIs are not the application's (a test's own FlaskGroup)
_NOT_THE_APPLICATION = frozenset({"test", "tests", "testing", "example", "examples", "sample",
                                  "samples", "fixtures", "docs"})


@dataclass(frozen=True, slots=True)
class FlaskGroupFactory:
    """The `create_app` of a `FlaskGroup` CLI, importable as `module:name` once `path` is on
    `sys.path` (as `flask.cli.prepare_import` puts the folder above a file's top package)."""

    file: str  # the CLI's file, relative to the folder it was found from (POSIX)
    module: str  # the CLI's module: the factory is taken from it, as the CLI holds it
    name: str
    path: str  # the folder the module's top package lies in
    origin: str  # where the factory is defined, `module:name` (two CLIs of one factory)

    def request(self) -> dict[str, str]:
        """What the sandboxed child is sent (`_child._in_flask_app_context`)."""
        return {"file": self.file, "module": self.module, "name": self.name, "path": self.path}


def flask_group_factories(folder: Path) -> list[FlaskGroupFactory]:
    """The application factories of the `FlaskGroup` CLIs in the Python files below `folder`
    (as `discover` walks it: no virtualenvs, `node_modules`, git-ignored folders; nor tests,
    examples, docs), one per factory, in file order.

    A CLI counts when a call names `create_app=<name>` and is `FlaskGroup(...)` or has
    `cls=FlaskGroup` (`@click.group(cls=FlaskGroup, create_app=create)`), `FlaskGroup` being
    flask.cli's; `<name>` is bound at the file's top level (defined or imported there); and
    the file is importable as a module (its name and its packages' names identifiers)
    without running the CLI (no top-level call of it outside `if __name__ == "__main__"`).

    Example:
        >>> flask_group_factories(Path("/nonexistent"))
        []
    """
    from dbsafe.extract.files import discover_named

    if not folder.is_dir():
        return []
    found: dict[str, FlaskGroupFactory] = {}
    for given, shown in discover_named([folder], root=folder):
        if not given.endswith(".py") or any(
                part.lower() in _NOT_THE_APPLICATION for part in shown.split("/")[:-1]):
            continue
        try:
            source = Path(given).read_bytes()
        except OSError:
            continue
        if b"FlaskGroup" not in source:  # most files: no parse
            continue
        for factory in _factories(Path(given), shown, source):
            found.setdefault(factory.origin, factory)
    return list(found.values())


def _factories(file: Path, shown: str, source: bytes) -> list[FlaskGroupFactory]:
    try:
        tree = parse(source)
    except (SyntaxError, ValueError):
        return []
    located = _module_of(file)
    if located is None:
        return []
    module, path = located
    bound = _top_level_bindings(tree, module, file.name == "__init__.py")
    group_names = _flask_group_names(tree)
    found = []
    holders = set()  # the names the CLIs are held by
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if any(isinstance(d, ast.Call) and _factory_of(d, group_names)
                   for d in node.decorator_list):
                holders.add(node.name)
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) \
                and _factory_of(node.value, group_names):
            holders.update(t.id for t in node.targets if isinstance(t, ast.Name))
        if not isinstance(node, ast.Call):
            continue
        name = _factory_of(node, group_names)
        if name is not None and name in bound:
            found.append(FlaskGroupFactory(shown, module, name, str(path), bound[name]))
    if _runs_at_import(tree, holders):
        return []
    return found


def _module_of(file: Path) -> tuple[str, Path] | None:
    """(module name, the folder above its top package), as `flask.cli.prepare_import`
    makes them: up through the folders holding `__init__.py`."""
    parts = [] if file.name == "__init__.py" else [file.stem]
    folder = file.parent.resolve()
    while (folder / "__init__.py").is_file() and folder.parent != folder:
        parts.insert(0, folder.name)
        folder = folder.parent
    if not parts or not all(p.isidentifier() and not keyword.iskeyword(p) for p in parts):
        return None
    return ".".join(parts), folder


def _top_level_bindings(tree: ast.Module, module: str, package: bool) -> dict[str, str]:
    """The names the module binds at its top level (in `if`/`try`/`with` blocks too), each
    with where it is defined (`module:name`; an import's own module)."""
    bound: dict[str, str] = {}

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                bound[node.name] = f"{module}:{node.name}"
            elif isinstance(node, ast.ImportFrom):
                source = _absolute(node, module, package)
                for alias in node.names:
                    if alias.name != "*":
                        bound[alias.asname or alias.name] = f"{source}:{alias.name}"
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        bound[target.id] = f"{module}:{target.id}"
            elif isinstance(node, ast.If | ast.Try | ast.With):
                for block in ("body", "orelse", "finalbody"):
                    visit(getattr(node, block, []))
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)

    visit(tree.body)
    return bound


def _absolute(node: ast.ImportFrom, module: str, package: bool) -> str:
    if not node.level:
        return node.module or ""
    parts = module.split(".")
    base = parts if package else parts[:-1]
    base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
    return ".".join([*base, *([node.module] if node.module else [])])


def _flask_group_names(tree: ast.Module) -> set[str]:
    """The local names of flask.cli's FlaskGroup (`from flask.cli import FlaskGroup [as X]`)."""
    return {alias.asname or alias.name for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module == "flask.cli" and not node.level
            for alias in node.names if alias.name == "FlaskGroup"}


def _is_flask_group(node: ast.expr, names: set[str]) -> bool:
    if isinstance(node, ast.Name):
        return node.id in names
    # flask.cli.FlaskGroup, or `from flask import cli` then cli.FlaskGroup
    return (isinstance(node, ast.Attribute) and node.attr == "FlaskGroup"
            and isinstance(node.value, ast.Attribute | ast.Name)
            and (node.value.attr if isinstance(node.value, ast.Attribute)
                 else node.value.id) == "cli")


def _factory_of(call: ast.Call, group_names: set[str]) -> str | None:
    """The name `call` gives a FlaskGroup as its `create_app`; None when it is no such call."""
    keywords = {k.arg: k.value for k in call.keywords if k.arg}
    factory = keywords.get("create_app")
    if not isinstance(factory, ast.Name):
        return None
    cls = keywords.get("cls")
    if _is_flask_group(call.func, group_names) or (
            cls is not None and _is_flask_group(cls, group_names)):
        return factory.id
    return None


def _runs_at_import(tree: ast.Module, holders: set[str]) -> bool:
    """Whether the module calls one of its CLIs at its top level (a script whose last line
    is `cli()`): importing it would run the command."""
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            func = node.value.func
            if isinstance(func, ast.Attribute) and func.attr == "main":  # cli.main()
                func = func.value
            # (`cli.add_command(...)` only adds to it)
            if isinstance(func, ast.Name) and func.id in holders:
                return True
    return False

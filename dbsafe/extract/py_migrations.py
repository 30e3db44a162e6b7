"""The calls that move a database between revisions in a migration test, and the project's
functions that make one for their caller.

A migration test fills the schema of an earlier revision and upgrades, or downgrades and
reads the old schema (`python._Extractor._earlier_revision_at`): what it sends then is not
about today's schema. The calls it moves the database by are alembic's commands
(`alembic.command.upgrade(cfg, revision)`), Software Heritage's runner
(`swh.core.db.db_utils.swh_db_upgrade(conninfo, modname, to_version)`), and a project's own
function that makes exactly one of them with a revision its caller gives: Renku's
`run_migrations_for_app(name, revision="heads")` (`cfg = get_alembic_config(name);
command.upgrade(cfg, revision)`), called by its tests as `run_migrations_for_app("common",
"1ef98b967767")`, or one that always passes the same target (`def to_head():
command.upgrade(cfg, "head")`).

`migration_functions` indexes those of the project (read in the modules naming alembic or
`swh_db_upgrade`, each file's facts kept by its size and modification time); one level
only: a function calling such a function is not one.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dbsafe.extract.py_parsers import PythonFiles

# (which way: "upgrade" | "downgrade", the target's position in the call or None, its
# keyword, what the target is when the call gives none: "head" | "named" | None)
Moves = tuple[str, "int | None", str, "str | None"]

# The built-in ones, by the dotted name their import gives.
BUILT_IN: dict[str, Moves] = {
    "alembic.command.downgrade": ("downgrade", 1, "revision", None),
    "alembic.command.upgrade": ("upgrade", 1, "revision", None),
    "swh.core.db.db_utils.swh_db_upgrade": ("upgrade", 2, "to_version", None),
}


def target(value: ast.AST | None) -> str | None:
    """What a target brings the database to: "head" (alembic's `"head"`/`"heads"`),
    "named" (a literal revision or version: `"ae1027a6acf"`, `7`), or None (none given, or
    one computed at run time)."""
    if not isinstance(value, ast.Constant) or isinstance(value.value, bool) \
            or not isinstance(value.value, (str, int)):
        return None
    return "head" if value.value in ("head", "heads") else "named"


def target_of(call: ast.Call, moves: Moves) -> str | None:
    """What `call`, of a function that `moves`, brings its database to (see `target`)."""
    _, position, keyword, otherwise = moves
    given = next((k.value for k in call.keywords if keyword and k.arg == keyword), None)
    if given is None and position is not None and position < len(call.args):
        if any(isinstance(arg, ast.Starred) for arg in call.args[:position + 1]):
            return None
        given = call.args[position]
    if given is None:
        return otherwise
    return target(given)


def migration_functions(files: Sequence[tuple[str, str]] | PythonFiles,
                        memo: dict[str, list[object]] | None = None) -> dict[str, Moves]:
    """The index: each dotted name a project function may be imported by (its module's
    tails of two names or more, `migrations.core.run_migrations_for_app` too) -> how it
    moves the database. `files` (the project's files, or the `PythonFiles` the three indexes
    share) and `memo` as `py_parsers.parsing_functions` takes them.

    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = Path(d, "core.py").write_text(
    ...         "from alembic import command\\n"
    ...         "def run_migrations(name, revision='heads'):\\n"
    ...         "    command.upgrade(config(name), revision)\\n")
    ...     migration_functions([(str(Path(d, "core.py")), "app/core.py")])
    {'app.core.run_migrations': ('upgrade', 1, 'revision', 'head'), \
'core.run_migrations': ('upgrade', 1, 'revision', 'head')}
    """
    from dbsafe.extract.py_parsers import PythonFiles, _names

    found: dict[str, Moves] = {}
    for source in PythonFiles.of(files, memo).sources:
        facts = source.fact("migration-functions", _may_define,
                            lambda m: _wrappers(m.tree, m._dotted), {})
        found.update({f"{source.module}.{name}": tuple(moves)
                      for name, moves in facts.items()})
    return {name: found[full] for name, full in _names(found).items() if full}


def _may_define(data: bytes) -> bool:
    return (b"upgrade" in data or b"downgrade" in data) and (
        b"alembic" in data or b"swh_db_upgrade" in data)


def _wrappers(tree: ast.Module, dotted: object) -> dict[str, list[object]]:
    """The module-level functions making exactly one built-in migration call, whose target
    is a parameter the function never rebinds, or a literal."""
    result: dict[str, list[object]] = {}
    for function in tree.body:
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        calls = [(call, BUILT_IN[name]) for call in ast.walk(function)
                 if isinstance(call, ast.Call)
                 and (name := dotted(call.func)) in BUILT_IN]  # type: ignore[operator]
        if len(calls) != 1:
            continue
        call, (kind, position, keyword, _) = calls[0]
        given = next((k.value for k in call.keywords if k.arg == keyword), None)
        if given is None and position is not None and position < len(call.args):
            given = call.args[position]
        if given is None:
            continue
        if not isinstance(given, ast.Name):
            fixed = target(given)
            if fixed is not None:
                result[function.name] = [kind, None, "", fixed]
            continue
        moves = _parameter(function, given.id)
        if moves is not None:
            result[function.name] = [kind, *moves]
    return result


def _parameter(function: ast.FunctionDef | ast.AsyncFunctionDef,
               name: str) -> tuple[int | None, str, str | None] | None:
    """Where `function` takes its parameter `name` (position or None, keyword) and what
    its default brings the database to; None when it is no parameter, or rebound."""
    args = function.args
    positional = [*args.posonlyargs, *args.args]
    if any(isinstance(node, ast.Name) and node.id == name and not isinstance(node.ctx, ast.Load)
           for node in ast.walk(function)):
        return None
    for i, arg in enumerate(positional):
        if arg.arg == name:
            at = i - (len(positional) - len(args.defaults))
            default = args.defaults[at] if at >= 0 else None
            keyword = "" if arg in args.posonlyargs else name
            return i, keyword, target(default) if default is not None else None
    for arg, default in zip(args.kwonlyargs, args.kw_defaults):
        if arg.arg == name:
            return None, name, target(default) if default is not None else None
    return None


def key(index: Mapping[str, Moves]) -> str:
    """A stable text of the index, for cache keys."""
    return repr(sorted(index.items()))

"""yoyo-migrations' Python migrations whose steps are SQL written out: read as SQL.

A yoyo Python migration registers its steps as its module is imported: `step(apply,
rollback=None, ignore_errors=None)` adds one, `group(...)` (and its old name `transaction`)
turns the steps it is handed into one, in the place of the group. Where a step is a
string, yoyo sends it as one `cursor.execute`; where it is a function, yoyo calls it with
the connection (`MigrationStep.apply` in yoyo/migrations.py). A module whose every step is
a string written in the file (a literal, or a module constant assigned once) is SQL dbsafe
can run and lint like a `.sql` migration; any other (a function, a string built at run
time, steps made in a loop or another module, `ignore_errors`) stays code dbsafe does not
run (`dbsafe.extract.migration.code_migrations`).

    steps = [
        step("CREATE TABLE foo (id int PRIMARY KEY)", "DROP TABLE foo"),
    ]
    __transactional__ = False   # each step in autocommit, not the migration's transaction
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from dbsafe.extract.fragment import SqlFragment
from dbsafe.extract.newer_python import read
from dbsafe.extract.python import string_literal
from dbsafe.extract.sqlfile import line_starts_of, statement_bounds

# The names yoyo puts in a migration module's namespace (and exports from `yoyo`).
_REGISTERING = frozenset({"step", "group", "transaction"})


@dataclass(frozen=True, slots=True)
class YoyoSteps:
    """The SQL of a yoyo Python migration, step by step (each one query): `apply`, the
    statements of each step in the order yoyo sends them; `rollback`, those a rollback sends
    (the last step's first); `transactional`, whether yoyo runs them in a transaction
    (`__transactional__`, true unless set false). A step with no SQL is left out."""

    apply: tuple[tuple[SqlFragment, ...], ...]
    rollback: tuple[tuple[SqlFragment, ...], ...]
    transactional: bool


def read_steps(source: str, path: str) -> YoyoSteps | None:
    """The steps of the yoyo Python migration `source` (shown as `path`), when every one is
    SQL written in the file; None when any is code, or when it registers no step at all
    (its steps come from elsewhere, or it is not a migration).

    >>> steps = read_steps('from yoyo import step\\nsteps = [step("CREATE TABLE t (a int); '
    ...                    'CREATE INDEX ON t (a)", "DROP TABLE t")]\\n', "m.py")
    >>> [[s.sql for s in step] for step in steps.apply], steps.apply[0][1].column
    ([['CREATE TABLE t (a int)', 'CREATE INDEX ON t (a)']], 40)
    >>> [[s.sql for s in step] for step in steps.rollback]
    [['DROP TABLE t']]
    >>> read_steps('step(lambda conn: conn.cursor().execute("SELECT 1"))', "m.py") is None
    True
    """
    try:
        module = read(source)
    except (SyntaxError, ValueError, RecursionError):
        return None
    reader = _StepReader(module.text, path, module.tree)
    return reader.read()


class _StepReader:
    def __init__(self, source: str, path: str, tree: ast.Module) -> None:
        self.source = source
        self.path = path
        self.tree = tree
        self.line_starts = line_starts_of(source)
        self.constants = _module_constants(tree)

    def read(self) -> YoyoSteps | None:
        transactional = True
        calls: list[ast.Call] = []
        for statement in self.tree.body:
            if _rebinds_registering(statement):
                return None  # its own `step`: not yoyo's
            if isinstance(statement, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "__transactional__"
                    for t in statement.targets):
                if not isinstance(statement.value, ast.Constant):
                    return None
                transactional = bool(statement.value.value)
                continue
            if isinstance(statement, (ast.Expr, ast.Assign, ast.AnnAssign)) \
                    and statement.value is not None:
                found = _registered(statement.value)
                if found is None:
                    return None
                calls += found
            elif _calls_registering(statement):
                return None  # in a function, a loop, a condition: run when yoyo imports it
        steps = [call for call in calls if _name(call) == "step"]
        if not steps:
            return None
        apply: list[tuple[SqlFragment, ...]] = []
        rollback: list[tuple[SqlFragment, ...]] = []
        for call in steps:
            read = self._step(call)
            if read is None:
                return None
            apply.append(tuple(read[0]))
            rollback.append(tuple(read[1]))
        return YoyoSteps(tuple(s for s in apply if s), tuple(s for s in reversed(rollback) if s),
                         transactional)

    def _step(self, call: ast.Call) -> tuple[list[SqlFragment], list[SqlFragment]] | None:
        """The statements of one `step(apply, rollback)`, None when either is code."""
        given: dict[str, ast.expr] = dict(zip(("apply", "rollback", "ignore_errors"),
                                              call.args, strict=False))
        if len(call.args) > 3 or any(k.arg not in ("apply", "rollback", "ignore_errors")
                                     for k in call.keywords):
            return None
        given.update((k.arg, k.value) for k in call.keywords if k.arg is not None)
        ignore = given.get("ignore_errors")
        if ignore is not None and not (isinstance(ignore, ast.Constant) and ignore.value is None):
            return None  # a failing statement passed over: not what a migration folder runs
        sides = []
        for side in ("apply", "rollback"):
            statements = self._statements(given.get(side))
            if statements is None:
                return None
            sides.append(statements)
        return sides[0], sides[1]

    def _statements(self, node: ast.expr | None) -> list[SqlFragment] | None:
        """The statements of one side of a step: none for no SQL (None, an empty string),
        None when it is code."""
        if node is None or (isinstance(node, ast.Constant) and node.value is None):
            return []
        if isinstance(node, ast.Name) and node.id in self.constants:
            node = self.constants[node.id]
        if not isinstance(node, ast.Constant):
            return None
        literal = string_literal(self.source, self.line_starts, node, self.path)
        if literal is None:
            return None
        return [literal.sub(start, end) for start, end in statement_bounds(literal.sql)]


def _name(call: ast.Call) -> str | None:
    """`step`, `group` or `transaction` for a call of yoyo's (`step(...)`,
    `yoyo.step(...)`), else None."""
    func = call.func
    if isinstance(func, ast.Name) and func.id in _REGISTERING:
        return func.id
    if isinstance(func, ast.Attribute) and func.attr in _REGISTERING \
            and isinstance(func.value, ast.Name) and func.value.id == "yoyo":
        return func.attr
    return None


def _registered(node: ast.expr) -> list[ast.Call] | None:
    """The calls of `step`/`group` in the value of a module-level statement, in the order
    they register their steps (the order they are written: a group's steps take its
    place); [] when it has none; None when one is anywhere else than in a list or tuple or
    a group's arguments (a comprehension, a call of another function)."""
    if isinstance(node, (ast.List, ast.Tuple)):
        calls: list[ast.Call] = []
        for element in node.elts:
            found = _registered(element)
            if found is None:
                return None
            calls += found
        return calls
    if isinstance(node, ast.Call) and (name := _name(node)) is not None:
        if name == "step":
            return [node] if not any(_calls_registering(a) for a in (
                *node.args, *(k.value for k in node.keywords))) else None
        calls = []
        for argument in node.args:
            found = _registered(argument)
            if found is None or not found:
                return None  # a step held in a name: registered where it was made
            calls += found
        if any(k.arg != "ignore_errors" or not (isinstance(k.value, ast.Constant)
                                                 and k.value.value is None)
               for k in node.keywords):
            return None  # `steps=` or `ignore_errors`
        return calls
    return None if _calls_registering(node) else []


def _calls_registering(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Call) and _name(n) is not None for n in ast.walk(node))


def _rebinds_registering(statement: ast.stmt) -> bool:
    """Whether a module-level statement defines or assigns `step`, `group` or
    `transaction` itself."""
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return statement.name in _REGISTERING
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        yoyo = isinstance(statement, ast.ImportFrom) and statement.level == 0 \
            and (statement.module or "").partition(".")[0] == "yoyo"
        return not yoyo and any((a.asname or a.name) in _REGISTERING for a in statement.names)
    return any(isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
               and n.id in _REGISTERING for n in ast.walk(statement))


def _module_constants(tree: ast.Module) -> dict[str, ast.Constant]:
    """The module's names bound once, at module level, to a string literal."""
    stores: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            stores[node.id] = stores.get(node.id, 0) + 1
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stores[node.name] = stores.get(node.name, 0) + 1
        elif isinstance(node, ast.alias):
            bound = node.asname or node.name.partition(".")[0]
            stores[bound] = stores.get(bound, 0) + 1
        elif isinstance(node, ast.Global):
            for name in node.names:
                stores[name] = stores.get(name, 0) + 2  # a function rebinds it
    constants = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
                and isinstance(target := statement.targets[0], ast.Name) \
                and isinstance(statement.value, ast.Constant) \
                and isinstance(statement.value.value, str) and stores.get(target.id) == 1:
            constants[target.id] = statement.value
    return constants

"""The project's Python functions whose parameter is read by sqlglot's parser and never sent.

Arize Phoenix's analytics SQL is a language of its own (`latency_ms`, a column its rewriter
substitutes; SQLite's `percentile(x, 50)`): its tests hand it to `admit_sql(sql, ...)` and
`parse_sql(sql, ...)` of `phoenix.server.mcp.sql.parse`, which parse it with sqlglot and
rewrite the tree before anything runs. A string given to such a function, from any module
of the project, is not a statement sent as written (`python._Extractor`, `parsers`).

Only the modules naming `sqlglot` are read (ast), each function's parameters followed
through its body by name (what is assigned from them is them too):

- handed to sqlglot's parser (`parse_one`, `parse`, `transpile`, `maybe_parse`) as its
  statement: parsed;
- inside the argument of a call named as a sink (`execute`, `text`, `fetch`, ...: those
  `python.SINKS` and `engines.ENGINE_SINKS` read, sqlglot's own aside): sent;
- handed to another function of the project: what that one does with it, followed across
  modules; one the index does not know (a module not naming sqlglot, a method, a name the
  function binds) may send it;
- given to Python's builtins, the standard library or another package, a method of the
  text itself or of a compiled pattern, or built into what a `raise` raises: neither.

A parameter parsed, and never sent nor handed where it may be, is in the index. What a
project function returns from the parameter (`q = prep(sql)`) is followed only into
sinks and functions that send it for sure: a function handing it on returns trees as
often as text.
"""

from __future__ import annotations

import ast
import builtins
import os
import sys
from collections.abc import Mapping, Sequence

from dbsafe.extract.engines import SQLGLOT

_MAX_BYTES = 2 << 20
_PARSERS = SQLGLOT.functions  # sqlglot's parser, as the extractor knows it
_PARSER_NAMES = frozenset({"parse_one", "parse", "transpile", "maybe_parse"})
_BUILTINS = frozenset(dir(builtins)) - {"exec", "eval", "compile", "__import__"}
_STDLIB = frozenset(sys.stdlib_module_names)

# A function's parameters parsed and never sent: (position, or None if keyword-only; name).
Parsed = tuple[tuple["int | None", str], ...]
# States of a parameter, in the order they win: a parameter both parsed and sent is sent.
INERT, PARSED, MAY_SEND, SENT = 0, 1, 2, 3


def _sinks() -> frozenset[str]:
    from dbsafe.extract.engines import ENGINE_SINKS, FILLERS
    from dbsafe.extract.python import SINKS

    return (SINKS | ENGINE_SINKS) - _PARSER_NAMES - FILLERS


def module_name(rel: str) -> str:
    """The dotted name of a project's file by its path from the root
    (`src/phoenix/parse.py`: `src.phoenix.parse`; a package's `__init__.py`: the package)."""
    parts = rel.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def parsing_functions(files: Sequence[tuple[str, str]],
                      memo: dict[str, list[object]] | None = None) -> dict[str, Parsed]:
    """The index: each dotted name a project function may be imported by (every tail of
    its module's path with its name: `phoenix.parse.admit_sql`, `parse.admit_sql` of
    `src/phoenix/parse.py`) -> its parameters parsed and never sent, as `[position, name]`
    (position None for a keyword-only one). `files`: (path, path from the root) of the
    project's files; `memo`: each file's summary by its path, with its size and
    modification time, kept by the caller between runs (an unchanged file is not read).

    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = Path(d, "parse.py").write_text(
    ...         "import sqlglot\\ndef parse_sql(sql, *, dialect):\\n"
    ...         "    return sqlglot.parse_one(sql, read=dialect)\\n")
    ...     parsing_functions([(str(Path(d, "parse.py")), "app/parse.py")])
    {'app.parse.parse_sql': ((0, 'sql'),), 'parse.parse_sql': ((0, 'sql'),)}
    """
    modules = {module_name(rel) for _, rel in files if rel.endswith(".py")}
    tails = {".".join(parts[i:]) for parts in (m.split(".") for m in modules)
             for i in range(len(parts))}
    summaries: dict[str, dict] = {}
    for path, rel in files:
        if rel.endswith(".py"):
            summary = _summary(path, rel, memo)
            if summary:
                summaries[module_name(rel)] = summary
    # Each function's dotted names: its module's tails of two names or more.
    by_name: dict[str, str] = {}  # "": two functions of the project
    for module, summary in summaries.items():
        parts = module.split(".")
        for function in summary:
            for i in range(len(parts)):
                name = ".".join([*parts[i:], function])
                full = f"{module}.{function}"
                by_name[name] = full if by_name.get(name, full) == full else ""
    states = {f"{module}.{function}": {parameter: facts[0] for parameter, facts
                                       in summary[function]["params"].items()}
              for module, summary in summaries.items() for function in summary}

    def callee_state(dotted: str, key: int | str, derived: bool) -> int:
        full = by_name.get(dotted)
        if not full:
            project = dotted.rpartition(".")[0] in tails
            return INERT if derived or not project else MAY_SEND
        function = _function(summaries, full)
        parameter = _parameter_at(function, key)
        state = states[full].get(parameter, MAY_SEND) if parameter else MAY_SEND
        if derived:  # what it made of the text: only a sure send counts
            return SENT if state == SENT else INERT
        return state

    changed = True
    while changed:  # a state only rises: this ends
        changed = False
        for full, parameters in states.items():
            function = _function(summaries, full)
            for parameter, facts in function["params"].items():
                state = parameters[parameter]
                for dotted, key, derived in facts[1]:
                    state = max(state, callee_state(dotted, key, derived))
                if state != parameters[parameter]:
                    parameters[parameter] = state
                    changed = True
    index: dict[str, Parsed] = {}
    for name, full in by_name.items():
        if not full or "." not in name:
            continue
        function = _function(summaries, full)
        parsed = tuple((function["order"].get(p), p) for p, state in states[full].items()
                       if state == PARSED)
        if parsed:
            index[name] = parsed
    return index


def _function(summaries: dict[str, dict], full: str) -> dict:
    module, _, function = full.rpartition(".")
    return summaries[module][function]


def _parameter_at(function: dict, key: int | str) -> str | None:
    if isinstance(key, str):
        return key if key in function["params"] else None
    return next((p for p, position in function["order"].items() if position == key), None)


def _summary(path: str, rel: str, memo: dict[str, list[object]] | None) -> dict:
    """The file's module-level functions: for each, its parameters' positions (`order`) and,
    for each parameter, its state in the body and the calls it is handed to (`params`)."""
    try:
        status = os.stat(path)
    except OSError:
        return {}
    stamp: list[object] = [status.st_size, status.st_mtime_ns]
    known = memo.get(path) if memo is not None else None
    if known is not None and known[:2] == stamp and isinstance(known[2], dict):
        return known[2]
    summary: dict = {}
    try:
        with open(path, "rb") as file:
            data = file.read(_MAX_BYTES + 1)
    except OSError:
        return {}
    if len(data) <= _MAX_BYTES and b"sqlglot" in data:
        try:
            tree = ast.parse(data, filename=path)
        except (SyntaxError, ValueError):
            tree = None
        if tree is not None:
            summary = _Module(tree, rel).summary()
    if memo is not None:
        memo[path] = [*stamp, summary]
    return summary


class _Module:
    """What one module's functions do with their parameters."""

    def __init__(self, tree: ast.Module, rel: str) -> None:
        self.tree = tree
        self.package = rel.split("/")[:-1]
        self.sinks = _sinks()
        self.imported: dict[str, str] = {}
        self.patterns: set[str] = set()  # module names bound to `re.compile(...)`
        self.functions = {node.name: node for node in tree.body
                          if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
        self.module = module_name(rel)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    local = alias.asname or alias.name.split(".")[0]
                    self.imported[local] = alias.name if alias.asname else local
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if node.level:
                    base = self.package[:len(self.package) - (node.level - 1)] \
                        if node.level - 1 <= len(self.package) else None
                    if base is None:
                        continue
                    module = ".".join([*base, *([module] if module else [])])
                for alias in node.names:
                    if alias.name != "*":
                        self.imported[alias.asname or alias.name] = f"{module}.{alias.name}"
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and \
                    self._dotted(node.value.func) == "re.compile":
                self.patterns.update(t.id for t in node.targets if isinstance(t, ast.Name))

    def summary(self) -> dict:
        result: dict = {}
        for name, function in self.functions.items():
            args = function.args
            order: dict[str, int | None] = {
                a.arg: i for i, a in enumerate((*args.posonlyargs, *args.args))}
            order.update({a.arg: None for a in args.kwonlyargs})
            nodes = [n for statement in function.body for n in ast.walk(statement)]
            read = {n.id for n in nodes if isinstance(n, ast.Name)}
            assigned = [(value, targets) for value, targets in map(_assigned, nodes)
                        if value is not None]
            calls = [n for n in nodes if isinstance(n, ast.Call)]
            raised = {id(n) for node in nodes if isinstance(node, ast.Raise)
                      for n in ast.walk(node)}
            calls = [call for call in calls if id(call) not in raised]
            result[name] = {"order": order, "params": {
                parameter: self._follow(parameter, assigned, calls) if parameter in read
                else [INERT, []] for parameter in order}}
        return result

    def _dotted(self, node: ast.AST) -> str | None:
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        head = self.imported.get(node.id)
        if head is None and node.id in self.functions and not parts:
            return f"{self.module}.{node.id}"
        return None if head is None else ".".join((head, *reversed(parts)))

    def _follow(self, parameter: str, assigned: list[tuple[ast.AST, list[ast.AST]]],
                calls: list[ast.Call]) -> list[object]:
        """[state, [(callee, position or keyword, derived), ...]] of one parameter."""
        direct = {parameter}
        derived: set[str] = set()
        for _ in range(8):  # names assigned from it, and from those
            before = (len(direct), len(derived))
            for value, targets in assigned:
                kind = self._kind(value, direct, derived)
                names = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
                (direct if kind == 2 else derived if kind == 1 else set()).update(names)
            if (len(direct), len(derived)) == before:
                break
        state = INERT
        edges: list[tuple[str, int | str, bool]] = []
        for node in calls:
            if any(isinstance(a, ast.Starred) for a in node.args):
                given: list[tuple[int | str | None, ast.expr]] = [(None, node)]
            else:
                given = [*enumerate(node.args), *((k.arg, k.value) for k in node.keywords)]
            kinds = [(key, self._kind(a, direct, derived)) for key, a in given]
            if not any(kind for _, kind in kinds):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else \
                node.func.id if isinstance(node.func, ast.Name) else None
            if name in self.sinks:
                state = max(state, SENT)
                continue
            dotted = self._dotted(node.func)
            if dotted in _PARSERS:
                first = next((kind for key, kind in kinds
                              if key in (0, "sql", "sql_or_expression")), 0)
                if first == 2:
                    state = max(state, PARSED)
                continue
            if dotted is not None and dotted.split(".")[0] in _STDLIB:
                continue
            if isinstance(node.func, ast.Name) and dotted is None:
                if node.func.id in _BUILTINS and node.func.id not in self.functions:
                    continue
                state = max(state, MAY_SEND) if any(k == 2 for _, k in kinds) else state
                continue
            if isinstance(node.func, ast.Attribute) and dotted is None:
                receiver = node.func.value
                if isinstance(receiver, ast.Constant) or (
                        isinstance(receiver, ast.Name) and receiver.id in self.patterns) or \
                        self._kind(receiver, direct, derived) == 2:
                    continue  # `", ".join(...)`, `_PATTERN.search(sql)`, `sql.strip()`
                state = max(state, MAY_SEND) if any(k == 2 for _, k in kinds) else state
                continue
            if dotted is None:
                state = max(state, MAY_SEND)
                continue
            for key, kind in kinds:
                if kind and key is not None:
                    edges.append((dotted, key, kind == 1))
                elif kind == 2:  # `**options`
                    state = max(state, MAY_SEND)
        return [state, edges]

    def _kind(self, node: ast.AST, direct: set[str], derived: set[str]) -> int:
        """2: the text itself, or made from it by Python, the standard library or another
        package; 1: what a project's function made of it; 0: neither."""
        if isinstance(node, ast.Name):
            return 2 if node.id in direct else 1 if node.id in derived else 0
        if isinstance(node, ast.Call):
            dotted = self._dotted(node.func)
            if dotted in _PARSERS:
                return 0  # a tree
            inner = max((self._kind(child, direct, derived)
                         for child in ast.iter_child_nodes(node)), default=0)
            # a function of the project (or another package): it may return a tree
            made = dotted is not None and dotted.split(".")[0] not in _STDLIB
            return min(inner, 1) if made else inner
        return max((self._kind(child, direct, derived) for child in ast.iter_child_nodes(node)),
                   default=0)


def _assigned(node: ast.AST) -> tuple[ast.AST | None, list[ast.AST]]:
    """What a statement (or a comprehension, a `with` item) assigns, and to what."""
    if isinstance(node, ast.Assign):
        return node.value, list(node.targets)
    if isinstance(node, (ast.AnnAssign, ast.AugAssign)) and node.value is not None:
        return node.value, [node.target]
    if isinstance(node, ast.NamedExpr):
        return node.value, [node.target]
    if isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
        return node.iter, [node.target]
    if isinstance(node, ast.withitem) and node.optional_vars is not None:
        return node.context_expr, [node.optional_vars]
    return None, []


def key(index: Mapping[str, Parsed]) -> str:
    """A stable text of the index, for cache keys."""
    return repr(sorted(index.items()))

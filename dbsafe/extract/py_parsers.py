"""The project's Python functions (and dataclasses) whose parameter (field) is read by
sqlglot's parser and never sent.

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
often as text. A container the function makes and fills with it (`seen.setdefault(k,
sql)`) is it too.

Fields. A dataclass of the project (no base class, no `__init__` of its own, no
`InitVar`) is in the index with the fields every read of which, in the whole project,
is parsed and never sent: `AdmissionCase(sql="...")` of Phoenix's tests, whose `case.sql`
is handed to `try_parse_and_admit` and to a private `_corpus_statements()` whose callers
parse it; `ExecuteParams(sql="...")`, whose `params.sql` `execute_analytics_sql` parses,
logs (a `logging.getLogger` logger's methods send nothing), and stores in
`ctx.caller_sql` (a field followed in turn, only compared). A read is any attribute of
that name on any object (`x.sql`, `getattr(x, "sql")`; not a method called, `tree.sql()`,
nor a module's, `sa.sql`), followed as a parameter is; a field is followed when a module
naming sqlglot hands it to sqlglot's parser or to a parameter parsed, or what is followed
is stored in it (`ctx.caller_sql = sql`), and a dataclass's text declares that name. What
may be sent: a read outside a function, returned by a method or by a function another
module names or that is handed on as a value, named to `operator.attrgetter`; and every
field of a dataclass a module naming it handles whole (`asdict`, `astuple`, `vars`,
`__dict__`, `dataclasses.fields`, a `case C(...)` pattern). Each file's facts are kept by
its size and modification time: a run with nothing changed reads no file.
"""

from __future__ import annotations

import ast
import builtins
import functools
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from dbsafe.extract.engines import SQLGLOT
from dbsafe.extract.files import kept_entry
from dbsafe.extract.newer_python import parse

_MAX_BYTES = 2 << 20
_PARSERS = SQLGLOT.functions  # sqlglot's parser, as the extractor knows it
_PARSER_NAMES = frozenset({"parse_one", "parse", "transpile", "maybe_parse"})
_BUILTINS = frozenset(dir(builtins)) - {"exec", "eval", "compile", "__import__"}
_STDLIB = frozenset(sys.stdlib_module_names)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
# What an indented line declaring an attribute looks like (`    sql: str`): the names a
# class body may annotate, read from the text without parsing it.
_DECLARED = re.compile(rb"^[ \t]+([A-Za-z_][A-Za-z_0-9]*)[ \t]*:", re.MULTILINE)
# What a container a function makes is filled with by (`found.append(sql)`).
_FILLS = frozenset({"append", "extend", "insert", "add", "update", "setdefault",
                    "appendleft", "extendleft"})

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


def parsing_functions(files: Sequence[tuple[str, str]] | PythonFiles,
                      memo: dict[str, list[object]] | None = None) -> dict[str, Parsed]:
    """The index: each dotted name a project function or dataclass may be imported by
    (every tail of its module's path with its name: `phoenix.parse.admit_sql`,
    `parse.admit_sql` of `src/phoenix/parse.py`) -> its parameters (a dataclass: its
    fields, as its constructor takes them) parsed and never sent, as `[position, name]`
    (position None for a keyword-only one). `files`: (path, path from the root) of the
    project's files, or the `PythonFiles` the three indexes share; `memo`: each file's facts
    by its path from the root, with its size and modification time, kept by the caller
    between runs (an unchanged file is not read).

    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = Path(d, "parse.py").write_text(
    ...         "import sqlglot\\ndef parse_sql(sql, *, dialect):\\n"
    ...         "    return sqlglot.parse_one(sql, read=dialect)\\n")
    ...     parsing_functions([(str(Path(d, "parse.py")), "app/parse.py")])
    {'app.parse.parse_sql': ((0, 'sql'),), 'parse.parse_sql': ((0, 'sql'),)}
    """
    sources = PythonFiles.of(files, memo).sources
    modules = {source.module for source in sources}
    tails = {".".join(parts[i:]) for parts in (m.split(".") for m in modules)
             for i in range(len(parts))}
    summaries: dict[str, dict] = {}
    for source in sources:
        summary = source.fact("functions", lambda data: b"sqlglot" in data,
                              lambda m: m.summary(), {})
        if summary:
            summaries[source.module] = summary
    # Each function's dotted names: its module's tails of two names or more.
    by_name = _names(f"{module}.{function}" for module, summary in summaries.items()
                     for function in summary)
    # The fields followed: those a summarised function hands to sqlglot or to a parameter
    # parsed (`admit_sql(case.sql)`), and those what is followed is stored in
    # (`ctx.caller_sql = sql`), each read in the whole project; of those, only the names
    # some dataclass of the project may declare (`sql: str` in a module naming
    # `@dataclass`, found by their text).
    declared = {name for source in sources
                for name in source.found("declared", b"@dataclass", _DECLARED)}
    reads: dict[str, list] = {}  # field -> [state, edges] of its reads in the whole project
    while True:
        states, fields = _settle(summaries, reads, by_name, tails)
        new = set()
        for summary in summaries.values():
            for function in summary.values():
                for attribute, dotted, key in function["handed"]:
                    callee = by_name.get(dotted) or ""
                    parameter = _parameter_at(_function(summaries, callee), key) \
                        if callee in states else None
                    if (dotted in _PARSERS and key in (0, "sql", "sql_or_expression")) or (
                            parameter and states[callee].get(parameter) == PARSED):
                        new.add(attribute)
                for facts in function["params"].values():
                    new.update(dotted[1:] for dotted, _, _ in facts[1] if dotted[0] == ".")
        for facts in reads.values():
            new.update(dotted[1:] for dotted, _, _ in facts[1] if dotted[0] == ".")
        new = (new & declared) - set(reads)
        if not new:
            break
        for field in sorted(new):
            reads[field] = [INERT, []]
            follow = functools.partial(_Module.field_reads, field=field)
            reading = functools.partial(_reads_field, field=field.encode())
            for source in sources:
                facts = source.fact(f"field:{field}", reading, follow, [INERT, [], []])
                reads[field][0] = max(reads[field][0], facts[0])
                reads[field][1].extend(facts[1])
                # (a function returning it is followed in its module: named in another
                # one, it may be called there)
                if any(other is not source and other.fact(
                        f"name:{name}", _holding(name), lambda m: True, False)
                       for name in facts[2] for other in sources):
                    reads[field][0] = MAY_SEND
    # The dataclasses declaring a field parsed and never sent, read where the text shows one.
    parsed_fields = sorted(field for field, state in fields.items() if state == PARSED)
    classes: dict[str, dict] = {}  # each one's full dotted name -> its fields
    for source in sources:
        if set(parsed_fields) & set(source.found("declared", b"@dataclass", _DECLARED)):
            for name, declaring in source.fact("classes", lambda data: True,
                                               lambda m: m.dataclasses(), {}).items():
                classes[f"{source.module}.{name}"] = declaring
    for name, full in _names(classes).items():
        by_name[name] = full if by_name.get(name, full) == full else ""
    # A dataclass handled whole where it is named (`asdict(case)`, `getattr(case, name)`)
    # may have any field sent.
    generic = {full for full in classes if any(
        fields.get(field) == PARSED for field in classes[full]["order"])
        and any(source.fact(f"generic:{full.rpartition('.')[2]}",
                            _holding(full.rpartition(".")[2]),
                            lambda m: m.handled_whole(), False) for source in sources)}
    index: dict[str, Parsed] = {}
    for name, full in by_name.items():
        if not full or "." not in name:
            continue
        if full in classes:
            parsed = tuple((position, field) for field, position
                           in classes[full]["order"].items()
                           if fields.get(field) == PARSED and full not in generic)
        else:
            function = _function(summaries, full)
            parsed = tuple((function["order"].get(p), p) for p, state in states[full].items()
                           if state == PARSED)
        if parsed:
            index[name] = parsed
    return index


def _settle(summaries: dict[str, dict], reads: dict[str, list], by_name: dict[str, str],
            tails: set[str]) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    """Each function's parameters' states and each field's (`reads`), every callee's
    followed: a parameter or field given to one that may send it may be sent."""
    states = {f"{module}.{function}": {parameter: facts[0] for parameter, facts
                                       in summary[function]["params"].items()}
              for module, summary in summaries.items() for function in summary}
    fields = {field: facts[0] for field, facts in reads.items()}

    def callee_state(dotted: str, key: int | str, derived: bool) -> int:
        if dotted.startswith("."):  # stored in a field of that name (`ctx.caller_sql = sql`)
            state = fields.get(dotted[1:], INERT if derived else MAY_SEND)
        else:
            full = by_name.get(dotted)
            if not full or full not in states:
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
        for field, facts in reads.items():
            state = fields[field]
            for dotted, key, derived in facts[1]:
                state = max(state, callee_state(dotted, key, derived))
            if state != fields[field]:
                fields[field] = state
                changed = True
    return states, fields


def _holding(word: str) -> Callable[[bytes], bool]:
    """Whether a module's text holds `word`."""
    needle = word.encode()
    return lambda data: needle in data


def _reads_field(data: bytes, *, field: bytes) -> bool:
    """Whether a module's text may read a field of that name: `.sql` on a line that is not
    an import alone (`from phoenix.server.mcp.sql import ...` is), `"sql"` where it names
    `getattr` or `attrgetter`."""
    if b"." + field in data and re.search(
            rb"^(?![ \t]*(?:from|import)\b[^;\n]*$).*?\." + field + rb"\b", data,
            re.MULTILINE):
        return True
    return (b"getattr" in data or b"attrgetter" in data) and (
        b'"' + field + b'"' in data or b"'" + field + b"'" in data)


def _names(fulls: Iterable[str]) -> dict[str, str]:
    """Each dotted name a function or class may be imported by (its module's tails of two
    names or more) -> its full name, "" for a name two of them have."""
    by_name: dict[str, str] = {}
    for full in fulls:
        parts = full.split(".")
        for i in range(len(parts) - 1):
            name = ".".join(parts[i:])
            by_name[name] = full if by_name.get(name, full) == full else ""
    return by_name


def _function(summaries: dict[str, dict], full: str) -> dict:
    module, _, function = full.rpartition(".")
    return summaries[module][function]


def _parameter_at(function: dict, key: int | str) -> str | None:
    if isinstance(key, str):
        return key if key in function["params"] else None
    return next((p for p, position in function["order"].items() if position == key), None)


class PythonFiles:
    """The project's Python files as its three project-wide indexes read them (this
    module's `parsing_functions`, `py_migrations.migration_functions`,
    `py_clients.client_functions`): each file looked at once against `memo` (its size and
    modification time), and read and parsed at most once, by whichever index asks first;
    its facts for all three kept in one entry, so that a changed file is read again for
    every index at once. `files`: (path, path from the root) of the project's files."""

    def __init__(self, files: Sequence[tuple[str, str]],
                 memo: dict[str, list[object]] | None = None) -> None:
        self.sources = [_File(path, rel, memo) for path, rel in files if rel.endswith(".py")]

    @classmethod
    def of(cls, files: Sequence[tuple[str, str]] | PythonFiles,
           memo: dict[str, list[object]] | None) -> PythonFiles:
        """`files` when they are already looked at, else those `files` with `memo`."""
        return files if isinstance(files, PythonFiles) else cls(files, memo)


class _File:
    """One file of the project: its facts, each read once (and kept in `memo` by the file's
    size and modification time, so that an unchanged file is not read again)."""

    def __init__(self, path: str, rel: str, memo: dict[str, list[object]] | None) -> None:
        self.path, self.rel = path, rel
        self.module = module_name(rel)
        self.kept: dict[str, object] | None = None
        self._data: bytes | None = None
        self._module: _Module | bool | None = False  # False: not parsed yet
        seen = kept_entry(memo, rel, path)
        if seen is None:
            return
        stamp, known = seen
        if known is not None and isinstance(known[2], dict):
            self.kept = known[2]
        else:
            self.kept = {}
            if memo is not None:
                memo[rel] = [*stamp, self.kept]

    def fact(self, key: str, wanted: Callable[[bytes], bool], compute: Callable[[_Module], Any],
             default: Any) -> Any:
        """`compute(module)` when `wanted(its text)`, else `default`."""
        if self.kept is None:
            return default
        if key in self.kept:
            return self.kept[key]
        value = default
        data = self._read()
        if data and wanted(data):
            if self._module is False:
                try:
                    self._module = _Module(parse(data, filename=self.path), self.rel)
                except (SyntaxError, ValueError):
                    self._module = None
            if isinstance(self._module, _Module):
                value = compute(self._module)
        self.kept[key] = value
        return value


    def found(self, key: str, needle: bytes, pattern: re.Pattern[bytes]) -> list[str]:
        """What `pattern`'s group matches in the file, when it holds `needle`."""
        if self.kept is None:
            return []
        if key not in self.kept:
            data = self._read()
            self.kept[key] = sorted({m.decode() for m in pattern.findall(data)}) \
                if needle in data else []
        return self.kept[key]  # type: ignore[return-value]

    def _read(self) -> bytes:
        """The file's text, or nothing for one that cannot be read or is too big."""
        if self._data is None:
            try:
                with open(self.path, "rb") as file:
                    self._data = file.read(_MAX_BYTES + 1)
            except OSError:
                self._data = b""
            if len(self._data) > _MAX_BYTES:
                self._data = b""
        return self._data


class _Module:
    """What one module's functions do with their parameters, and its code with the fields
    it reads."""

    def __init__(self, tree: ast.Module, rel: str) -> None:
        self.tree = tree
        self.package = rel.split("/")[:-1]
        self.sinks = _sinks()
        self.imported: dict[str, str] = {}
        self.modules: set[str] = set()  # names `import x` binds: modules, never instances
        self.patterns: set[str] = set()  # module names bound to `re.compile(...)`, a logger
        self.functions = {node.name: node for node in tree.body
                          if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
        self.module = module_name(rel)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    local = alias.asname or alias.name.split(".")[0]
                    self.imported[local] = alias.name if alias.asname else local
                    self.modules.add(local)
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
            # what a compiled pattern's or a logger's methods are given is not sent
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and \
                    self._dotted(node.value.func) in ("re.compile", "logging.getLogger"):
                self.patterns.update(t.id for t in node.targets if isinstance(t, ast.Name))
        self._attribute_reads: dict[str, Any] | None = None

    def summary(self) -> dict:
        """Each module-level function's parameters' positions (`order`); for each parameter,
        its state in the body and the calls it is handed to (`params`); and the attributes
        it hands to a call, with the call's dotted name and the position or keyword
        (`handed`: `case.sql` of `admit_sql(case.sql)`)."""
        result: dict = {}
        for name, function in self.functions.items():
            args = function.args
            order: dict[str, int | None] = {
                a.arg: i for i, a in enumerate((*args.posonlyargs, *args.args))}
            order.update({a.arg: None for a in args.kwonlyargs})
            nodes = [n for statement in function.body for n in ast.walk(statement)]
            read = {n.id for n in nodes if isinstance(n, ast.Name)}
            assigned, calls = self._body(nodes)
            handed = sorted({(a.attr, dotted, key) for call in calls
                             if (dotted := self._dotted(call.func)) is not None
                             for key, a in (*enumerate(call.args),
                                            *((k.arg, k.value) for k in call.keywords))
                             if isinstance(a, ast.Attribute) and key is not None}, key=repr)
            result[name] = {"order": order, "params": {
                parameter: self._follow({parameter}, assigned, calls, nodes=nodes)[:2]
                if parameter in read
                else [INERT, []] for parameter in order}, "handed": handed}
        return result

    def dataclasses(self) -> dict[str, dict]:
        """The module's dataclasses made by the constructor dataclass writes (no base
        class, no `__init__` of their own, no `InitVar`): name -> {"order": {field: its
        position in the constructor, or None for a keyword-only one}}."""
        result: dict[str, dict] = {}
        for node in self.tree.body:
            if not isinstance(node, ast.ClassDef) or node.bases or node.keywords:
                continue
            options = next((d for d in node.decorator_list if self._dotted(
                d.func if isinstance(d, ast.Call) else d) == "dataclasses.dataclass"), None)
            if options is None:
                continue
            given = {k.arg: k.value for k in options.keywords} \
                if isinstance(options, ast.Call) else {}
            if "init" in given and not (isinstance(given["init"], ast.Constant)
                                        and given["init"].value is True):
                continue  # not made by its fields
            flag = given.get("kw_only")
            keyword_only = isinstance(flag, ast.Constant) and bool(flag.value)
            order: dict[str, int | None] = {}
            plain = True
            for statement in node.body:
                if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                        statement.name in ("__init__", "__new__"):
                    plain = False
                if not (isinstance(statement, ast.AnnAssign) and
                        isinstance(statement.target, ast.Name)):
                    continue
                words = {n.id if isinstance(n, ast.Name) else n.attr
                         for n in ast.walk(statement.annotation)
                         if isinstance(n, (ast.Name, ast.Attribute))}
                if isinstance(statement.annotation, ast.Constant):  # a string annotation
                    words = set(_IDENTIFIER.findall(str(statement.annotation.value)))
                if "InitVar" in words:
                    plain = False
                if "ClassVar" in words:
                    continue
                if "KW_ONLY" in words:
                    keyword_only = True
                    continue
                value = statement.value
                if isinstance(value, ast.Call) and any(
                        k.arg == "init" and not (isinstance(k.value, ast.Constant)
                                                 and k.value.value is True)
                        for k in value.keywords):
                    continue  # `field(init=False)`: not the constructor's
                if isinstance(value, ast.Call) and any(
                        k.arg == "kw_only" and isinstance(k.value, ast.Constant)
                        and k.value.value is True for k in value.keywords):
                    order[statement.target.id] = None
                    continue
                order[statement.target.id] = None if keyword_only else sum(
                    1 for position in order.values() if position is not None)
            if plain:
                result[node.name] = {"order": order}
        return result

    def field_reads(self, field: str) -> list[Any]:
        """[state, edges, returning] of what the module's code does with what it reads of a
        field of that name, of whatever object (`case.sql`, `getattr(case, "sql")`),
        followed through the function reading it as a parameter is; what a module-level
        function returns of it (`return [c.sql for c in CASES]`), through its callers in
        the module (`returning`: those functions, whose name no other module may hold). Read
        outside a function, returned by a method, a decorated function (a fixture) or one
        handed on as a value, or named to `operator.attrgetter`: may be sent."""
        attributes = self._attributes()
        if field in attributes["picked"]:
            return [MAY_SEND, [], []]
        seeds: dict[int, list[ast.AST]] = {}  # id of the innermost function -> its reads
        for read, scope in attributes["reads"].get(field, ()):
            if scope is None:
                return [MAY_SEND, [], []]  # a module's or a class's statement
            seeds.setdefault(id(scope), []).append(read)
        if not seeds:
            return [INERT, [], []]
        scopes = attributes["scopes"]
        returning: set[str] = set()  # the module-level functions returning it
        while True:
            edges: list[tuple[str, int | str, bool]] = []
            found = INERT
            more = set(returning)
            callers = {id(scope) for name in returning
                       for scope in attributes["callers"].get(name, ())}
            for key in {*seeds, *callers}:
                defined, nodes = scopes[key]
                given = [*seeds.get(key, []), *(
                    n for n in nodes if isinstance(n, ast.Call)
                    and isinstance(n.func, ast.Name) and n.func.id in returning)]
                assigned, calls = self._body(nodes)
                one, out, returned = self._follow(set(), assigned, calls, {id(n) for n in given},
                                                  nodes)
                found = max(found, one)
                edges.extend(out)
                name = defined.name
                if returned:
                    if name not in attributes["values"] and not defined.decorator_list and \
                            self.functions.get(name) is defined:
                        more.add(name)
                    else:  # its callers are not known
                        found = MAY_SEND
            if more == returning:
                return [found, edges, sorted(returning)]
            returning = more

    def _attributes(self) -> dict[str, Any]:
        """The module's reads of attributes, once for every field asked about: `reads`,
        name -> [(the read, its innermost function or None)], the reads of an object's
        attribute (`case.sql`, `getattr(case, "sql")`; not a method called, `tree.sql()`,
        nor a module's, `sa.sql`); `picked`, the names given to `operator.attrgetter`;
        `scopes`, id -> (function, its nodes); `callers`, name -> the functions calling
        it by that name; `values`, the names read otherwise than called."""
        if self._attribute_reads is not None:
            return self._attribute_reads
        parents: dict[int, ast.AST] = {}
        reads: dict[str, list[tuple[ast.AST, ast.AST | None]]] = {}
        picked: set[str] = set()
        scopes: dict[int, tuple[ast.FunctionDef | ast.AsyncFunctionDef, list[ast.AST]]] = {}
        callers: dict[str, list[ast.AST]] = {}
        values: set[str] = set()
        # (a walk keeping each node's innermost function)
        pending: list[tuple[ast.AST, ast.AST | None]] = [(self.tree, None)]
        while pending:
            node, scope = pending.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                scopes[id(node)] = (node, [n for statement in node.body
                                           for n in ast.walk(statement)])
            inner = node if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else scope
            for child in ast.iter_child_nodes(node):
                parents[id(child)] = node
                pending.append((child, inner))
            if isinstance(node, ast.Name):
                parent = parents.get(id(node))
                if isinstance(parent, ast.Call) and parent.func is node:
                    if scope is not None:
                        callers.setdefault(node.id, []).append(scope)
                else:
                    values.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                parent = parents.get(id(node))
                if not (isinstance(parent, ast.Call) and parent.func is node) and not (
                        isinstance(node.value, ast.Name) and node.value.id in self.modules):
                    reads.setdefault(node.attr, []).append((node, scope))
            elif isinstance(node, ast.Call):
                called = self._called(node)
                if called == "getattr" and len(node.args) >= 2 and \
                        isinstance(node.args[1], ast.Constant) and \
                        isinstance(node.args[1].value, str):
                    reads.setdefault(node.args[1].value, []).append((node, scope))
                elif called == "attrgetter":
                    picked.update(a.value for a in node.args if isinstance(a, ast.Constant)
                                  and isinstance(a.value, str))
        self._attribute_reads = {"reads": reads, "picked": picked, "scopes": scopes,
                                 "callers": callers, "values": values}
        return self._attribute_reads

    def _called(self, call: ast.Call) -> str | None:
        """The last name of a call's function (`getattr`, `operator.attrgetter`)."""
        func = call.func
        return func.attr if isinstance(func, ast.Attribute) else \
            func.id if isinstance(func, ast.Name) else None

    def handled_whole(self) -> bool:
        """Whether the module may read a dataclass's fields other than by name:
        `dataclasses.asdict`/`astuple`/`fields`, `vars(x)`, `x.__dict__`, a `case C(...)`
        pattern."""
        for node in ast.walk(self.tree):
            if (isinstance(node, ast.Attribute) and node.attr in (
                    "__dict__", "__dataclass_fields__")) or isinstance(node, ast.MatchClass):
                return True
            if isinstance(node, ast.Call) and (self._called(node) in (
                    "asdict", "astuple", "vars") or self._dotted(node.func) == "dataclasses.fields"):
                return True
        return False

    def _body(self, nodes: list[ast.AST]) -> tuple[list[tuple[ast.AST, list[ast.AST]]],
                                                    list[ast.Call]]:
        """What a function's statements assign, and its calls (not those a `raise` builds)."""
        assigned = [(value, targets) for value, targets in map(_assigned, nodes)
                    if value is not None]
        raised = {id(n) for node in nodes if isinstance(node, ast.Raise)
                  for n in ast.walk(node)}
        calls = [n for n in nodes if isinstance(n, ast.Call) and id(n) not in raised]
        return assigned, calls

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

    def _follow(self, direct: set[str], assigned: list[tuple[ast.AST, list[ast.AST]]],
                calls: list[ast.Call], seeds: set[int] = frozenset(),  # type: ignore[assignment]
                nodes: Sequence[ast.AST] = ()) -> list[Any]:
        """[state, [(callee, position or keyword, derived), ...], returned] of the text a
        function's names in `direct` hold, or its expressions of `seeds` (by id) make:
        `returned`, whether one of its `return`/`yield` in `nodes` gives the text itself.
        A callee ".name" is a field of that name the text is stored in (`ctx.sql = sql`)."""
        direct = set(direct)
        derived: set[str] = set()
        stored: list[tuple[str, bool]] = []
        containers = _containers(assigned)
        escaped = False  # stored where the function does not follow it
        for _ in range(8):  # names assigned from it, and from those
            before = (len(direct), len(derived))
            stored = []
            for value, targets in assigned:
                kind = self._kind(value, direct, derived, seeds)
                if not kind:
                    continue
                names: set[str] = set()
                pending = list(targets)
                while pending:
                    target = pending.pop()
                    if isinstance(target, (ast.Tuple, ast.List)):
                        pending.extend(target.elts)
                    elif isinstance(target, ast.Starred):
                        pending.append(target.value)
                    elif isinstance(target, ast.Attribute):  # into a field: followed there
                        stored.append((target.attr, kind == 1))
                    elif isinstance(target, ast.Subscript):  # `found[key] = sql`
                        base = target.value
                        if isinstance(base, ast.Name) and base.id in containers:
                            names.add(base.id)
                        else:  # into what another function may hold
                            escaped = escaped or kind == 2
                    else:
                        names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
                (direct if kind == 2 else derived).update(names)
            for node in calls:  # `found.append(sql)`, `seen.setdefault(k, sql)`
                receiver = node.func.value if isinstance(node.func, ast.Attribute) else None
                if isinstance(receiver, ast.Name) and receiver.id in containers and \
                        isinstance(node.func, ast.Attribute) and node.func.attr in _FILLS:
                    kind = max((self._kind(a, direct, derived, seeds) for a in
                                (*node.args, *(k.value for k in node.keywords))), default=0)
                    if kind:
                        (direct if kind == 2 else derived).add(receiver.id)
            if (len(direct), len(derived)) == before:
                break
        # (a module's global, or an enclosing function's name, holding it: read elsewhere)
        shared = {name for n in nodes if isinstance(n, (ast.Global, ast.Nonlocal))
                  for name in n.names}
        state = MAY_SEND if escaped or shared & direct else INERT
        edges: list[tuple[str, int | str, bool]] = [
            (f".{attr}", 0, derived_) for attr, derived_ in stored]
        for node in calls:
            if any(isinstance(a, ast.Starred) for a in node.args):
                given: list[tuple[int | str | None, ast.expr]] = [(None, node)]
            else:
                given = [*enumerate(node.args), *((k.arg, k.value) for k in node.keywords)]
            kinds = [(key, self._kind(a, direct, derived, seeds)) for key, a in given]
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
                        self._kind(receiver, direct, derived, seeds) == 2 or (
                        isinstance(receiver, ast.Name) and receiver.id in containers
                        and node.func.attr in _FILLS):
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
        returned = any(
            isinstance(n, (ast.Return, ast.Yield, ast.YieldFrom)) and n.value is not None
            and self._kind(n.value, direct, derived, seeds) == 2 for n in nodes)
        return [state, edges, returned]

    def _kind(self, node: ast.AST, direct: set[str], derived: set[str],
              seeds: set[int] = frozenset()) -> int:  # type: ignore[assignment]
        """2: the text itself, or made from it by Python, the standard library or another
        package; 1: what a project's function made of it; 0: neither."""
        if id(node) in seeds:
            return 2
        if isinstance(node, ast.Name):
            return 2 if node.id in direct else 1 if node.id in derived else 0
        if isinstance(node, ast.Call):
            dotted = self._dotted(node.func)
            if dotted in _PARSERS:
                return 0  # a tree
            inner = max((self._kind(child, direct, derived, seeds)
                         for child in ast.iter_child_nodes(node)), default=0)
            # a function of the project (or another package): it may return a tree
            made = dotted is not None and dotted.split(".")[0] not in _STDLIB
            return min(inner, 1) if made else inner
        return max((self._kind(child, direct, derived, seeds)
                    for child in ast.iter_child_nodes(node)), default=0)


def _containers(assigned: list[tuple[ast.AST, list[ast.AST]]]) -> set[str]:
    """The names a function binds only to a new list, dict or set (`found = []`)."""
    kinds: dict[str, bool] = {}
    for value, targets in assigned:
        new = isinstance(value, (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp,
                                 ast.SetComp)) or (
            isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
            and value.func.id in ("list", "dict", "set") and not value.args
            and not value.keywords)
        for target in targets:
            if isinstance(target, ast.Name):
                kinds[target.id] = kinds.get(target.id, True) and new
            else:
                for n in ast.walk(target):
                    if isinstance(n, ast.Name):
                        kinds[n.id] = False
    return {name for name, new in kinds.items() if new}


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

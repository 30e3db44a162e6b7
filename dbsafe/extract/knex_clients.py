"""Whether a project's knex clients may rename the identifiers of `??` and `:name:` bindings.

knex's pg client writes a `??` (or `:name:`) identifier binding through the client's
`wrapIdentifier` option: without one, `db.raw('SELECT ?? FROM ??', ['name', 'users'])` is sent
as `SELECT "name" FROM "users"`; with one that upper-cases (`origImpl(value.toUpperCase())`),
or Objection's `knexSnakeCaseMappers({ upperCase: true })` / `{ underscoreBeforeDigits: true
}` (`address1` as `address_1`), as other names (knex 3.3.0's `toSQL().toNative()`). The
options are given where the client is made (`knex({...})`, a knexfile's exported configs),
usually in another file than the query, so every JS/TS file of the project (as validate
discovers them from its root) that may say so is read with tree-sitter:

- an object with a `wrapIdentifier` key (a property, a method, a shorthand), or an assignment
  to a `.wrapIdentifier` member: a client's options, wherever they are made;
- a call of `knexSnakeCaseMappers(...)` (Objection's) whose options are not literally its
  defaults (none, `{}`, or keys set to `false`): its default renames only camelCase names,
  which `_KNEX_WORD` in `javascript.py` already leaves holes;
- a spread in the options of `knex({...})`, `Knex({...})` or `require('knex')({...})` of a
  name imported from a package outside the project: options made where they cannot be seen.

The first one found (its file and line) makes every `??` and `:name:` binding of the project
a hole, never a finding. Only a project that may use knex is read (`uses_knex`): reading
every file of Unleash's 6,000 costs a run 0.3 s.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dbsafe.extract.files import kept_entry

if TYPE_CHECKING:
    from tree_sitter import Node

# A file that may make a client with a spread of options (tree-sitter decides); searched only
# in files holding `...` and `nex` (a regex over every file of a project cost 0.8 s in 6,000).
_FACTORY = re.compile(rb"\b[kK]nex\s*\(\s*\{|require\(\s*['\"]knex['\"]\s*\)")
_MAX_BYTES = 4 << 20
_MAPPERS = "knexSnakeCaseMappers"
_FACTORIES = frozenset({"knex", "Knex"})
_DEPENDENCIES = ("dependencies", "devDependencies", "peerDependencies", "optionalDependencies")


def renaming_client(files: Sequence[tuple[str, str]],
                    own_packages: frozenset[str] = frozenset(),
                    memo: dict[str, list[object]] | None = None) -> str:
    """What makes the project's knex clients rename identifiers, the first of `files`
    (path, display path) saying so: `"wrapIdentifier in knexfile.js:5"`; `""` for none.
    `own_packages`: the specifiers of the project's own packages (read like its files).
    `memo` (kept by the caller between runs): each file's answer by its display path, with the size
    and modification time it was read at; a file whose stat is unchanged is not read again
    (a cached run of 6,000 files stats them, as it stats its sources, instead of reading them).

    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = Path(d, "knexfile.js")
    ...     _ = path.write_text("module.exports = {\\n  client: 'pg',\\n"
    ...                         "  wrapIdentifier: (v, orig) => orig(v.toUpperCase()),\\n}")
    ...     renaming_client([(str(path), "knexfile.js")])
    'wrapIdentifier in knexfile.js:3'
    """
    for path, display in files:
        if not path.endswith((".js", ".ts", ".jsx", ".tsx", ".mjs", ".cjs", ".mts", ".cts")):
            continue
        answer = _file_answer(path, display, own_packages, memo)
        if answer:
            what, _, line = answer.rpartition(":")
            return f"{what} in {display}:{line}"
    return ""


def _file_answer(path: str, display: str, own_packages: frozenset[str],
                 memo: dict[str, list[object]] | None) -> str:
    """What in the file at `path` renames identifiers, as `"what:line"`, `""` for nothing;
    from `memo` while the file's size and modification time are those it was read at."""
    seen = kept_entry(memo, display, path)
    if seen is None:
        return ""
    stamp, known = seen
    if known is not None and isinstance(known[2], str):
        return known[2]
    answer = ""
    try:
        with open(path, "rb") as file:
            data = file.read(_MAX_BYTES + 1)
    except OSError:
        return ""
    if len(data) <= _MAX_BYTES and (
            b"wrapIdentifier" in data or b"CaseMappers" in data or (
                b"nex" in data and b"..." in data and _FACTORY.search(data))):
        found = _renames_in(data, path, own_packages)
        if found is not None:
            answer = f"{found[0]}:{found[1]}"
    if memo is not None:
        memo[display] = [*stamp, answer]
    return answer


def uses_knex(read: Sequence[tuple[Path, object]]) -> bool:
    """Whether the project may make knex clients: one of its `package.json` (`read`, the
    project's `js_packages.manifests`: its root's, its folders', its workspaces' packages')
    depends on `knex` or `objection` (node finds knex only as a declared dependency: a
    project with no `package.json` is not read, which a run of `--changed-since` over 5,000
    files paid 0.08 s for)."""
    return any(isinstance(manifest, dict) and any(
        isinstance(deps, dict) and ("knex" in deps or "objection" in deps)
        for deps in (manifest.get(k) for k in _DEPENDENCIES)) for _, manifest in read)


def _renames_in(data: bytes, path: str, own_packages: frozenset[str]) -> tuple[str, int] | None:
    """What in one file renames identifiers, and its line (1-based)."""
    from dbsafe.extract.drizzle_schema import _text
    from dbsafe.extract.javascript import _parser, _unwrap, _walk

    tree = _parser("tsx" if path.endswith((".tsx", ".jsx")) else "typescript").parse(data)
    nodes = list(_walk(tree.root_node))
    imported = _imported(data, nodes)
    mappers = {_MAPPERS} | {local for local, (_, name) in imported.items() if name == _MAPPERS}

    def outside(module: str) -> bool:
        return not module.startswith((".", "/")) and not any(
            module == own or module.startswith(own + "/") for own in own_packages)

    for node in nodes:
        line = node.start_point[0] + 1
        if node.type == "object":
            for child in node.named_children:
                key = child.child_by_field_name(
                    "name" if child.type == "method_definition" else "key")
                name = _text(data, child) if child.type == "shorthand_property_identifier" \
                    else _text(data, key).strip("'\"") if key is not None else None
                if name == "wrapIdentifier":
                    return "wrapIdentifier", child.start_point[0] + 1
        elif node.type == "assignment_expression":
            left = node.child_by_field_name("left")
            prop = left.child_by_field_name("property") if left is not None and (
                left.type == "member_expression") else None
            if prop is not None and _text(data, prop) == "wrapIdentifier":
                return "wrapIdentifier", line
        elif node.type == "call_expression":
            function = node.child_by_field_name("function")
            arguments = node.child_by_field_name("arguments")
            if function is None or arguments is None:
                continue
            function = _unwrap(function)
            last = function.child_by_field_name("property") if (
                function.type == "member_expression") else function
            name = _text(data, last) if last is not None else ""
            args = [_unwrap(a) for a in arguments.named_children if a.type != "comment"]
            if name in mappers and not _default_mappers(data, args):
                return f"{_MAPPERS}({_text(data, arguments)[1:-1].strip()})", line
            factory = name in _FACTORIES or (
                function.type == "call_expression" and _requires_knex(data, function))
            if factory and args and args[0].type == "object":
                for child in args[0].named_children:
                    if child.type != "spread_element" or not child.named_children:
                        continue
                    root = _root_name(data, _unwrap(child.named_children[0]))
                    module, name = imported.get(root or "", ("", ""))
                    if module and outside(module) and name != _MAPPERS:
                        return f"options from {module!r}", child.start_point[0] + 1
    return None


def _default_mappers(data: bytes, args: list[Node]) -> bool:
    """Whether `knexSnakeCaseMappers(...)` is given its defaults: nothing, `{}`, or options
    each set to `false`."""
    from dbsafe.extract.drizzle_schema import _text

    if not args:
        return True
    if len(args) > 1 or args[0].type != "object":
        return False
    for child in args[0].named_children:
        if child.type == "comment":
            continue
        value = child.child_by_field_name("value") if child.type == "pair" else None
        if value is None or _text(data, value) != "false":
            return False
    return True


def _requires_knex(data: bytes, call: Node) -> bool:
    """Whether a call is `require('knex')`."""
    from dbsafe.extract.drizzle_schema import _string, _text

    function = call.child_by_field_name("function")
    arguments = call.child_by_field_name("arguments")
    args = [a for a in arguments.named_children if a.type != "comment"] if (
        arguments is not None) else []
    return function is not None and _text(data, function) == "require" and len(args) == 1 and (
        _string(data, args[0]) == "knex")


def _root_name(data: bytes, node: Node) -> str | None:
    """The name an expression starts from (`cfg` of `cfg.db`, `mappers` of `mappers()`)."""
    from dbsafe.extract.drizzle_schema import _text

    while node.type in ("member_expression", "call_expression", "subscript_expression"):
        inner = node.child_by_field_name(
            "function" if node.type == "call_expression" else "object")
        if inner is None:
            return None
        node = inner
    return _text(data, node) if node.type == "identifier" else None


def _imported(data: bytes, nodes: list[Node]) -> dict[str, tuple[str, str]]:
    """Each local name the file imports or requires: (module, the name imported there, `""`
    for the module itself or its default)."""
    from dbsafe.extract.drizzle_schema import _string, _text

    names: dict[str, tuple[str, str]] = {}
    for node in nodes:
        if node.type == "import_statement":
            source = node.child_by_field_name("source")
            module = _string(data, source) if source is not None else None
            if module is None:
                continue
            for child in _descendants(node):
                if child.type == "import_specifier":
                    name = child.child_by_field_name("name")
                    alias = child.child_by_field_name("alias") or name
                    if name is not None and alias is not None:
                        names[_text(data, alias)] = (module, _text(data, name))
                elif child.type in ("identifier",) and child.parent is not None and (
                        child.parent.type in ("import_clause", "namespace_import")):
                    names[_text(data, child)] = (module, "")
        elif node.type == "variable_declarator":
            name, value = node.child_by_field_name("name"), node.child_by_field_name("value")
            if name is None or value is None:
                continue
            value = _unwrap_member(value)
            if value.type != "call_expression":
                continue
            function = value.child_by_field_name("function")
            arguments = value.child_by_field_name("arguments")
            if function is None or arguments is None or _text(data, function) != "require":
                continue
            args = [a for a in arguments.named_children if a.type != "comment"]
            module = _string(data, args[0]) if len(args) == 1 else None
            if module is None:
                continue
            if name.type == "identifier":
                names[_text(data, name)] = (module, "")
            elif name.type == "object_pattern":
                for child in name.named_children:
                    if child.type == "shorthand_property_identifier_pattern":
                        names[_text(data, child)] = (module, _text(data, child))
                    elif child.type == "pair_pattern":
                        key, local = (child.child_by_field_name("key"),
                                      child.child_by_field_name("value"))
                        if key is not None and local is not None and local.type == "identifier":
                            names[_text(data, local)] = (module, _text(data, key))
    return names


def _unwrap_member(node: Node) -> Node:
    """`require('x')` of `require('x').default`."""
    while node.type == "member_expression":
        inner = node.child_by_field_name("object")
        if inner is None:
            break
        node = inner
    return node


def _descendants(node: Node) -> list[Node]:
    from dbsafe.extract.javascript import _walk

    return list(_walk(node))[1:]

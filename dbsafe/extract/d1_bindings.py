"""The names of a Cloudflare Worker's D1 bindings, from the project's type declarations.

A Worker reaches its D1 (SQLite) database through a binding of its environment,
`env.DB.prepare('SELECT ... FROM notes')`, typed in the declarations `wrangler types` writes
(`worker-configuration.d.ts`: `interface Env { DB: D1Database }`, a global type, imported by
no module) or in the project's own (`type Bindings = { DB: D1Database }` for Hono's
`c.env.DB`). Each member typed `D1Database` of an interface or object type in the project's
TypeScript files names a binding (`javascript.py` leaves the SQL a call on `<...>.env.<name>`
sends out of PostgreSQL's checks, and on a name destructured from an environment, `const { DB
} = this.env`, `holds_binding`). In a Worker, a name or field typed `D1Database` where it is
declared (`db: D1Database`, `private DB: D1Database`: `holds_binding`, `typed_field`) holds a
D1 database too. Only a project that may be a Worker is read (`is_worker`):
a `worker-configuration.d.ts` in one of its folders, or a `package.json` depending on
wrangler or `@cloudflare/workers-types`; of its files, only TypeScript ones naming `D1Database` are
parsed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tree_sitter import Node

_TYPE = "D1Database"
# and `withSession()`'s, which sends to the same database (Sessions API)
_TYPES = frozenset({_TYPE, "D1DatabaseSession"})
_GENERATED = "worker-configuration.d.ts"
_PACKAGES = ("wrangler", "@cloudflare/workers-types")
_DEPENDENCIES = ("dependencies", "devDependencies", "peerDependencies", "optionalDependencies")
_MAX_BYTES = 4 << 20


def is_worker(root: Path, read: Sequence[tuple[Path, object]]) -> bool:
    """Whether the project at `root` may be a Cloudflare Worker: one of its folders
    (`js_packages.project_folders`) holds wrangler's generated `worker-configuration.d.ts`, or
    a `package.json` of `read` (its `js_packages.manifests`) depends on wrangler or its
    types."""
    from dbsafe.extract.js_packages import project_folders

    return any((folder / _GENERATED).is_file() for folder in project_folders(root)) or any(
        isinstance(manifest, dict) and any(
            isinstance(deps, dict) and any(package in deps for package in _PACKAGES)
            for deps in (manifest.get(k) for k in _DEPENDENCIES))
        for _, manifest in read)


def d1_bindings(files: Sequence[tuple[str, str]]) -> frozenset[str]:
    """The members typed `D1Database` of the interfaces and object types in `files`' TypeScript,
    each by its name and, where its type has one, as `Type.member` too (`Env.DB`: a parameter
    typed `Env` destructured, `{ DB }: Env`, holds the binding; no identifier has a dot).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = Path(d, "worker-configuration.d.ts")
    ...     _ = path.write_text("declare namespace Cloudflare {\\n  interface Env {\\n"
    ...                         "    DB: D1Database;\\n    CACHE: KVNamespace;\\n  }\\n}\\n"
    ...                         "type Bindings = { 'LOGS'?: D1Database | undefined }\\n")
    ...     sorted(d1_bindings([(str(path), path.name)]))
    ['Bindings.LOGS', 'DB', 'Env.DB', 'LOGS']
    """
    names: set[str] = set()
    for path, _, data in files_naming(files, (".ts", ".tsx", ".mts", ".cts"), _TYPE):
        names.update(_declared(data, path))
    return frozenset(names)


def files_naming(files: Sequence[tuple[str, str]], suffixes: tuple[str, ...],
                 word: str) -> Iterator[tuple[str, str, bytes]]:
    """Each file of `files` (a path and its path relative to the project's root) with one of
    `suffixes`, not too large to read, whose text holds `word`, with its bytes: the few a
    project-wide look for a name has to parse."""
    for path, shown in files:
        if not path.endswith(suffixes):
            continue
        try:
            with open(path, "rb") as file:
                data = file.read(_MAX_BYTES + 1)
        except OSError:
            continue
        if len(data) <= _MAX_BYTES and word.encode() in data:
            yield path, shown, data


def _declared(data: bytes, path: str) -> set[str]:
    """The members typed `D1Database` in one file."""
    from dbsafe.extract.drizzle_schema import _text
    from dbsafe.extract.javascript import _parser, _walk

    tree = _parser("tsx" if path.endswith(".tsx") else "typescript").parse(data)
    names = set()
    for node in _walk(tree.root_node):
        if node.type != "property_signature" or node.parent is None or \
                node.parent.type not in ("interface_body", "object_type"):
            continue
        name, annotation = node.child_by_field_name("name"), node.child_by_field_name("type")
        if name is not None and annotation is not None and is_d1_type(data, annotation):
            member = _text(data, name).strip("'\"")
            names.add(member)
            owner = node.parent.parent  # `interface Env {...}`, `type Bindings = {...}`
            owner_name = owner.child_by_field_name("name") if owner is not None and owner.type in (
                "interface_declaration", "type_alias_declaration") else None
            if owner_name is not None:
                names.add(f"{_text(data, owner_name)}.{member}")
    return names


def holds_binding(data: bytes, name: Node, bindings: frozenset[str]) -> bool:
    """Whether a name a binding pattern declares (an identifier of `_pattern_names`) holds a
    D1 database: destructured from a Worker's environment, one of `bindings` (`const { DB } =
    env`, `const { DB: db } = this.env`, a handler's `({ env: { DB } })`), or typed
    `D1Database` where it is declared (`db: D1Database`, `const db: D1Database = ...`)."""
    from dbsafe.extract.drizzle_schema import _text

    parent = name.parent
    if parent is None:
        return False
    key: Node | None
    pattern: Node | None
    if name.type == "shorthand_property_identifier_pattern":
        key, pattern = name, parent
    elif parent.type == "pair_pattern" and parent.child_by_field_name("value") == name:
        key, pattern = parent.child_by_field_name("key"), parent.parent
    else:
        annotation = parent.child_by_field_name("type") if name.type == "identifier" and \
            parent.child_by_field_name("pattern" if parent.type.endswith("_parameter")
                                       else "name") == name else None
        return annotation is not None and is_d1_type(data, annotation)
    if key is None or pattern is None or pattern.type != "object_pattern" or \
            _text(data, key).strip("'\"") not in bindings or pattern.parent is None:
        return False
    holder = pattern.parent
    if holder.type == "pair_pattern":  # `{ env: { DB } }`
        source = holder.child_by_field_name("key")
    elif holder.type == "variable_declarator" and holder.child_by_field_name("name") == pattern:
        source = holder.child_by_field_name("value")
    elif holder.type.endswith("_parameter") and holder.child_by_field_name("pattern") == pattern:
        # `scheduled(event, { DB }: Env)`: a parameter of a type declaring the binding
        annotation = holder.child_by_field_name("type")
        types = annotation.named_children if annotation is not None else []
        return len(types) == 1 and types[0].type in (
            "type_identifier", "nested_type_identifier") and \
            f"{_text(data, types[0]).rpartition('.')[2]}.{_text(data, key)}" in bindings
    else:
        return False
    return source is not None and is_env(data, source)


def is_env(data: bytes, node: Node) -> bool:
    """Whether an expression is a Worker's environment, by its name: `env`, `c.env`,
    `this.env`, `context.env`, Astro's `locals.runtime.env` (the `env` key of a pattern)."""
    from dbsafe.extract.drizzle_schema import _text
    from dbsafe.extract.javascript import _unwrap

    node = _unwrap(node)
    if node.type == "member_expression":
        node = node.child_by_field_name("property") or node
    return node.type in ("identifier", "property_identifier") and _text(data, node) == "env"


def typed_field(data: bytes, body: Node, name: str, *, depth: int = 0) -> bool:
    """Whether the class of `body` declares its field `name` typed `D1Database` (`private DB:
    D1Database`, or a constructor's `private db: D1Database`), so that `this.<name>` is a D1
    database; or, declaring no such field, the class it extends does (`class Customers extends
    Repository`, `protected db: D1Database` in `Repository` of the same module)."""
    declared = _declared_field(data, body, name)
    if declared is not None:
        return declared
    parent = _parent_class(data, body) if depth < 8 else None
    return parent is not None and typed_field(data, parent, name, depth=depth + 1)


def _declared_field(data: bytes, body: Node, name: str) -> bool | None:
    """Whether the field `name` the class of `body` declares is typed `D1Database`; None where
    it declares none."""
    from dbsafe.extract.drizzle_schema import _text

    for item in body.named_children:
        key = item.child_by_field_name("name")
        if key is None:
            continue
        if item.type == "public_field_definition" and _text(data, key) == name:
            annotation = item.child_by_field_name("type")
            return annotation is not None and is_d1_type(data, annotation)
        parameters = item.child_by_field_name("parameters") \
            if item.type == "method_definition" and _text(data, key) == "constructor" else None
        for parameter in parameters.named_children if parameters is not None else ():
            pattern = parameter.child_by_field_name("pattern")
            if pattern is not None and _text(data, pattern) == name and any(
                    c.type == "accessibility_modifier" or _text(data, c) == "readonly"
                    for c in parameter.children):
                return holds_binding(data, pattern, frozenset())
    return None


def _parent_class(data: bytes, body: Node) -> Node | None:
    """The body of the class the class of `body` extends, where the module declares it once."""
    from dbsafe.extract.drizzle_schema import _text
    from dbsafe.extract.javascript import _walk

    heritage = next((c for c in body.parent.named_children if c.type == "class_heritage"),
                    None) if body.parent is not None else None
    extends = next((c for c in heritage.named_children if c.type == "extends_clause"),
                   None) if heritage is not None else None
    value = extends.child_by_field_name("value") if extends is not None else None
    if value is None or value.type != "identifier":
        return None
    root = body
    while root.parent is not None:
        root = root.parent
    bodies = [node.child_by_field_name("body") for node in _walk(root)
              if node.type in ("class_declaration", "abstract_class_declaration")
              and (n := node.child_by_field_name("name")) is not None
              and _text(data, n) == _text(data, value)]
    return bodies[0] if len(bodies) == 1 else None


def is_d1_type(data: bytes, annotation: Node) -> bool:
    """Whether a member's type annotation is `D1Database` (`Cloudflare.D1Database`, or one of
    a union: `D1Database | undefined`) or `D1DatabaseSession`."""
    from dbsafe.extract.drizzle_schema import _text

    types, pending = [], list(annotation.named_children)
    while pending:
        node = pending.pop()
        if node.type == "union_type":
            pending.extend(node.named_children)
        else:
            types.append(node)
    return any(_text(data, t).rpartition(".")[2] in _TYPES for t in types
               if t.type in ("type_identifier", "nested_type_identifier"))

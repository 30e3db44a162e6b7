"""The drizzle clients on Cloudflare D1 a Worker's modules export, for the modules importing them.

drizzle's `drizzle(env.DB)` of `drizzle-orm/d1` sends its SQL to the Worker's D1 (SQLite)
database. A project usually makes its client in one module and queries it in others: `export
const db = drizzle(env.DB)` in `db.ts`, `export function getDb(env: Env) { return
drizzle(env.DB, { schema }) }` or `export const getDb = (env: Env) => drizzle(env.DB)`, then
``db.all(sql`SELECT ... FROM notes`)`` and ``getDb(c.env).run(sql`...`)`` where `import { db,
getDb } from './db'` (or `'@/db'`, a tsconfig alias, or `'@acme/db'`, a workspace's package
whose entry point it is) brings them. Each such export is a
`D1Client`; `javascript.py` leaves the SQL a call on one sends out of PostgreSQL's checks, call
by call (the importing module's PostgreSQL clients stay checked). Only files naming
`drizzle-orm/d1` are parsed.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dbsafe.extract.d1_bindings import files_naming
from dbsafe.extract.drizzle_schema import _text, names_file
from dbsafe.extract.js_packages import SCRIPTS

if TYPE_CHECKING:
    from tree_sitter import Node

_DRIVER = "drizzle-orm/d1"
_CLIENT_TYPE = "DrizzleD1Database"  # the type of its clients


@dataclass(frozen=True, slots=True)
class D1Client:
    """A name a module exports that is a drizzle client on D1 (`factory`: a function
    returning one), the module (relative to the project's root, without its suffix) and the
    names an import of it names (`drizzle_schema.module_names`: its stem, its folder's for an
    index)."""

    export: str
    path: str
    modules: tuple[str, ...]
    factory: bool

    def imported_by(self, module: str, importer: str, file: str | None = None) -> bool:
        """Whether `import ... from module` in the file `importer` may be of this client's
        module (`drizzle_schema.names_file`), or names it as the project's package naming
        `file` does (`@acme/db`: `packages/db/src/index`)."""
        return file == self.path or names_file(module, importer, self.path, self.modules)


def d1_clients(files: Sequence[tuple[str, str]]) -> tuple[D1Client, ...]:
    """The drizzle clients on D1 and the functions returning one that `files` (each a path
    and its path relative to the project's root) export.

    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = Path(d, "index.ts")
    ...     _ = path.write_text("import { drizzle as d1 } from 'drizzle-orm/d1'\\n"
    ...                         "export const db = d1(env.DB)\\n"
    ...                         "export function getDb(env: Env) { return d1(env.DB) }\\n"
    ...                         "export async function make(env: Env) {\\n"
    ...                         "  const db = d1(env.DB)\\n  return db\\n}\\n"
    ...                         "let once: DrizzleD1Database\\n"
    ...                         "export function getOnce(d: D1Database) {\\n"
    ...                         "  if (!once) once = d1(d)\\n  return once\\n}\\n"
    ...                         "export const other = make(env.DB)\\n")
    ...     [(c.export, c.path, c.modules, c.factory) for c in d1_clients([(str(path),
    ...                                                                   "src/db/index.ts")])]
    [('db', 'src/db/index', ('db',), False), ('getDb', 'src/db/index', ('db',), True), \
('make', 'src/db/index', ('db',), True), ('getOnce', 'src/db/index', ('db',), True)]
    """
    clients: list[D1Client] = []
    for path, shown, data in files_naming(files, SCRIPTS, _DRIVER):
        where = posixpath.splitext(shown)[0]
        stem = posixpath.basename(where)
        modules = (stem,) if stem != "index" else (
            posixpath.basename(posixpath.dirname(where)),)
        clients.extend(D1Client(name, where, modules, factory)
                       for name, factory in _exported(data, path))
    return tuple(clients)


def _exported(data: bytes, path: str) -> list[tuple[str, bool]]:
    """The names a module exports that are drizzle clients on D1, and whether each is a
    function returning one (every `return` of it is)."""
    from dbsafe.extract.javascript import _parser, _returns, _unwrap, _walk

    tree = _parser("tsx" if path.endswith((".tsx", ".jsx")) else "typescript").parse(data)
    makers = _makers(data, tree.root_node)
    if not makers:
        return []

    def made(node: Node | None) -> bool:
        node = _unwrap(node) if node is not None else None
        function = node.child_by_field_name("function") \
            if node is not None and node.type == "call_expression" else None
        return function is not None and _text(data, function) in makers

    def declared(scope: Node, holds: Callable[[Node, Node], bool]) -> set[str]:
        """The names `scope`'s `const`/`let` declarations bind whose declarator `holds` one
        (given the declaration and the declarator)."""
        return {_text(data, name) for node in _walk(scope)
                if node.type == "lexical_declaration"
                for declarator in node.named_children
                if (name := declarator.child_by_field_name("name")) is not None
                and name.type == "identifier" and holds(node, declarator)}

    # names typed as a client anywhere in the module (`let db: DrizzleD1Database<typeof
    # schema>`, made on first use), and each function's `const` given one (`const db =
    # drizzle(env.DB); return db`)
    typed = declared(tree.root_node, lambda _, d: _CLIENT_TYPE in _text(
        data, d.child_by_field_name("type") or d))

    def returns_one(function: Node) -> bool:
        holding = typed | declared(function, lambda n, d: _text(data, n).startswith("const")
                                   and made(d.child_by_field_name("value")))
        returned = [_unwrap(node) if node is not None else None for node in _returns(function)]
        return bool(returned) and all(made(node) or (node is not None and (
            node.type == "identifier" and _text(data, node) in holding)) for node in returned)

    # type aliases of a client (`type SchemaDb = DrizzleD1Database<typeof schema> & {...}`)
    aliases = {_text(data, name) for node in _walk(tree.root_node)
               if node.type == "type_alias_declaration"
               and (name := node.child_by_field_name("name")) is not None
               and _CLIENT_TYPE in _text(data, node.child_by_field_name("value") or node)}

    def proxied(node: Node) -> bool:
        """`new Proxy({} as SchemaDb, handler)`: a Proxy has its target's type, a client's
        (vogelibizz's `db`, making its client on first use)."""
        constructor = node.child_by_field_name("constructor")
        arguments = node.child_by_field_name("arguments")
        if node.type != "new_expression" or constructor is None or arguments is None or \
                _text(data, constructor) != "Proxy" or not arguments.named_children:
            return False
        target = arguments.named_children[0]
        typed = target.named_children[-1] if target.type == "as_expression" else None
        return typed is not None and (_CLIENT_TYPE in _text(data, typed)
                                      or _text(data, typed) in aliases)

    found: list[tuple[str, bool]] = []
    for node in tree.root_node.named_children:
        declaration = node.child_by_field_name("declaration") \
            if node.type == "export_statement" else None
        if node.type == "export_statement" and declaration is None:
            value = node.child_by_field_name("value")
            exported = dict(found)  # `export default db` of a client exported above
            if value is not None and value.type == "identifier" and \
                    _text(data, value) in exported:
                found.append(("default", exported[_text(data, value)]))
            continue
        if declaration is None:
            continue
        if declaration.type == "function_declaration":
            name = declaration.child_by_field_name("name")
            if name is not None and returns_one(declaration):
                found.append((_text(data, name), True))
            continue
        if declaration.type != "lexical_declaration":
            continue
        for declarator in declaration.named_children:
            name = declarator.child_by_field_name("name")
            value = declarator.child_by_field_name("value")
            if name is None or value is None or name.type != "identifier":
                continue
            value = _unwrap(value)
            if made(value) or proxied(value):
                found.append((_text(data, name), False))
            elif value.type in ("arrow_function", "function_expression") and returns_one(value):
                found.append((_text(data, name), True))
    return found


def _makers(data: bytes, root: Node) -> set[str]:
    """The local names of `drizzle` the module imports from `drizzle-orm/d1`."""
    names: set[str] = set()
    for node in root.named_children:
        source = node.child_by_field_name("source") if node.type == "import_statement" \
            else None
        if source is None or _text(data, source).strip("'\"") != _DRIVER:
            continue
        for specifier in node.named_children:
            for named in specifier.named_children if specifier.type == "import_clause" else ():
                for item in named.named_children if named.type == "named_imports" else ():
                    name = item.child_by_field_name("name")
                    alias = item.child_by_field_name("alias") or name
                    if name is not None and alias is not None and \
                            _text(data, name) == "drizzle":
                        names.add(_text(data, alias))
    return names

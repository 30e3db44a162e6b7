"""What a project's Kysely clients do to the names of its query-builder chains.

A Kysely client writes a chain's names as they are, quoted, unless a plugin given where it
is made says otherwise: `CamelCasePlugin` snake_cases every identifier (`firstName` is sent
as `first_name`, `kysely.snake_case`), `WithSchemaPlugin` qualifies its tables, and any
other plugin may do anything. The options are given where the client is made (`new
Kysely<DB>({ dialect, plugins })`, nestjs-kysely's `KyselyModule.forRoot({ dialect, ... })`),
usually in another file than the chains, so every JS/TS file of the project that may say so
is read with tree-sitter (each file's facts kept by the caller by its size and modification
time, `memo`):

- a Kysely config, an object literal with a `dialect` key that is not a string (drizzle-kit's
  `dialect: 'postgresql'` is not one): without `plugins`, a plain client; with `plugins:
  [new CamelCasePlugin()]` (no options, or `{}`), a snake_casing one; with anything else
  (another plugin, options, a spread of the config or of its plugins), one whose names are
  not known;
- `new Kysely(config)` given something other than an object literal (or a `const` bound to
  one in the file): a client whose options are not seen;
- the names a module exports that are bound to `new Kysely(...)` (`export const db = new
  Kysely<DB>({...})`, `export { db }`, `export default db`), and the modules re-exporting
  them (`export { db } from './client'`, `export * from './client'`): `KyselyClient`, for a
  chain on an imported client (`import { db } from './db'`);
- a client made only for Kysely's `Migrator` (`const db = new Kysely({...})` not exported,
  used only in `new Migrator({ db, ... })`, as an argument beside the migrator, `run(db,
  migrator, folder)`, and by `db.destroy()`): it never runs an application's chain;
- a subclass of `Kysely`: a client made with what its constructor gives `super(...)` (none
  for an abstract one without a constructor), and a type a client may be typed with;
- the module's exported functions returning `new Kysely(...)` (or typed to return a client),
  `KyselyClient`s named `createDb()`, and the `const`s it exports bound to one's call;
- each class's members and their types (`class Database { db: DatabaseSchema }`): a member
  typed a client in every class of that name is one (`KyselyClients.members`);
- `.withPlugin(...)`: a client given a plugin after it is made (but for a plugin class of the
  file whose `transformQuery(args)` returns `args.node`: its query is the one it is given);
- a dialect of another engine (`new MysqlDialect(...)`, `SqliteDialect`, `MssqlDialect`, D1's,
  libSQL's, PlanetScale's): its chains are not PostgreSQL's, and a dialect is a value any
  client may be given, so no chain of the project is read;
- `type DB = Kysely<Database>` (or `Transaction<...>`): an alias a client may be typed with.

A chain on a client typed `Kysely<...>` (nestjs-kysely's `@InjectKysely() db: KyselyDB`) is
read when every client the project makes, but for the migrator's, is plain, or every one
snake_casing (`KyselyClients.mode`); a chain on a client made in its file or imported from
one of the project's modules, as that client is (`kysely.kysely_fragments`).
"""

from __future__ import annotations

import os
import posixpath
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dbsafe.extract.drizzle_schema import names_file
from dbsafe.extract.files import kept_entry

if TYPE_CHECKING:
    from tree_sitter import Node

_MAX_BYTES = 4 << 20
_SCRIPTS = (".js", ".ts", ".jsx", ".tsx", ".mjs", ".cjs", ".mts", ".cts")
_DEPENDENCIES = ("dependencies", "devDependencies", "peerDependencies", "optionalDependencies")
_OTHER_ENGINES = re.compile(r"mysql|sqlite|mssql|d1|libsql|planetscale|turso|tedious", re.I)
_CLIENT_TYPES = frozenset({"Kysely", "Transaction"})
# A file re-exporting another's names: `export * from './x'`, `export { a } from './x'`.
_REEXPORT = re.compile(rb"export\s*(?:\*|\{)[^;]*?\bfrom\s*['\"]\.")
_MAX_REEXPORT_DEPTH = 4
_WRAPPERS = frozenset({"parenthesized_expression", "as_expression", "satisfies_expression",
                       "non_null_expression"})
# Types of the same object with fewer of its methods, `Omit<Kysely<DB>, 'transaction'>`.
_VIEWS = frozenset({"Omit", "Pick", "Readonly"})
_FUNCTIONS = frozenset({"function_declaration", "function_expression", "arrow_function",
                        "method_definition", "generator_function_declaration",
                        "generator_function"})


@dataclass(frozen=True, slots=True)
class KyselyClient:
    """A name a module exports that is a Kysely client: the module (relative to the
    project's root, without its suffix), the names an import of it from a module that is not
    relative names (`drizzle_schema.module_names`: its stem, its folder's for an index; none
    when another file of the project has that name), and its `mode` ("plain", "camel", or ""
    for one whose names are not known)."""

    export: str
    path: str
    modules: tuple[str, ...]
    mode: str

    def imported_by(self, module: str, importer: str, file: str | None = None) -> bool:
        """Whether `import ... from module` in the file `importer` names this client's
        module: `file`, the file a specifier of the project's own packages names
        (`@acme/db`: `packages/db/src/index`), else as `drizzle_schema.names_file` says."""
        if file is not None:
            return file == self.path
        return names_file(module, importer, self.path, self.modules)


@dataclass(frozen=True, slots=True)
class KyselyClients:
    """`mode`: what the clients typed `Kysely<...>` are, "plain", "camel", or "" (no client
    seen, or one whose names are not known: `why` says which, `"WithSchemaPlugin in
    src/db.ts:7"`); `types`: the project's aliases of `Kysely<...>`/`Transaction<...>`;
    `clients`: the clients its modules export (a function returning one as its name and
    `()`, `createDb()`); `engine`: the dialect of another engine the project makes, where no
    chain is read (`"SqliteDialect in src/local.ts:3"`); `members`: (class, member) of the
    members its classes type as a client (bluesky's `class Database { db: DatabaseSchema
    }`), in every class of that name the project declares."""

    mode: str = ""
    why: str = ""
    types: frozenset[str] = frozenset()
    clients: tuple[KyselyClient, ...] = ()
    engine: str = ""
    members: frozenset[tuple[str, str]] = frozenset()

    def imported(self, module: str, name: str, importer: str, file: str | None = None) -> str:
        """The mode of the client `import { name } from module` in the file `importer`
        binds (`file`: the file the project's package `module` names); "" when it is none of
        the project's clients, or may be either of two that differ."""
        modes = {c.mode for c in self.clients
                 if c.export == name and c.imported_by(module, importer, file)}
        return modes.pop() if len(modes) == 1 else ""


def uses_kysely(read: Sequence[tuple[Path, object]]) -> bool:
    """Whether one of the project's `package.json` (`js_packages.manifests`) depends on
    `kysely` (or nestjs-kysely)."""
    return any(isinstance(manifest, dict) and any(
        isinstance(deps, dict) and any(name == "kysely" or name.endswith("-kysely") or
                                       name.endswith("/kysely") for name in deps)
        for deps in (manifest.get(k) for k in _DEPENDENCIES)) for _, manifest in read)


def kysely_clients(files: Sequence[tuple[str, str]],
                   memo: dict[str, list[object]] | None = None) -> KyselyClients:
    """The project's clients, read in `files` ((path, path relative to the project's root)
    pairs). `memo` (kept by the caller between runs): each file's facts by its path relative
    to the root, with the size and modification time it was read at; a file whose stat is
    unchanged is not read again.

    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = Path(d, "db.ts").write_text("export const db = new Kysely<DB>({\\n  dialect,\\n"
    ...                                     "  plugins: [new CamelCasePlugin()],\\n})")
    ...     _ = Path(d, "migrate.ts").write_text(
    ...         "const db = new Kysely<any>({ dialect })\\n"
    ...         "const migrator = new Migrator({ db, provider })\\nrun(db, migrator, folder)")
    ...     found = kysely_clients([(str(Path(d, n)), n) for n in ("db.ts", "migrate.ts")])
    >>> found.mode, found.clients
    ('camel', (KyselyClient(export='db', path='db', modules=('db',), mode='camel'),))
    """
    read: dict[str, tuple[str, dict]] = {}  # module: (display path, facts)
    names: Counter[str] = Counter()
    for path, display in files:
        if not path.endswith(_SCRIPTS):
            continue
        where = posixpath.splitext(display.replace(os.sep, "/"))[0]
        names[_module_name(where)] += 1
        facts = _file_facts(path, display, memo)
        if facts:
            read[where] = (display, facts)
    types = frozenset(a for _, facts in read.values() for a in facts.get("a", ()))
    client_types = _CLIENT_TYPES | types
    modes: set[str] = set()
    why = engine = ""
    for display, facts in read.values():
        if facts.get("e") and not engine:
            engine = f"{facts['e'][0]} in {display}:{facts['e'][1]}"
        if facts.get("p") and not why:
            why = f"{facts['p'][0]} in {display}:{facts['p'][1]}"
        for _, mode, migrator, line, unknown in facts.get("c", ()):
            if migrator:
                continue
            modes.add(mode)
            if not mode and not why:
                why = f"{unknown} in {display}:{line}"
    if not why and len(modes) != 1:
        why = "clients with and without CamelCasePlugin" if modes else "no client made"
    mode = "" if why or engine else modes.pop()
    factories: dict[str, list[list]] = {}  # module: [exports, mode] of its functions returning a client
    for where, (_, facts) in read.items():
        for exports, returns, returned in facts.get("f", ()):
            made = returned if returned is not None else \
                mode if returns and set(returns) <= client_types else None
            if made is not None and exports:
                factories.setdefault(where, []).append([exports, made, True, 0, ""])
    clients = tuple(_exported_clients(read, names, factories))
    return KyselyClients(mode, engine or why, types, clients, engine,
                         _client_members(read, client_types))


def _client_members(read: dict[str, tuple[str, dict]], client_types: frozenset[str],
                    ) -> frozenset[tuple[str, str]]:
    """(class, member) of the members typed as a client in every class of that name."""
    declared: dict[str, set[str]] = {}
    for _, facts in read.values():
        for name, members in facts.get("m", {}).items():
            typed = {member for member, types in members
                     if types and set(types) <= client_types}
            declared[name] = declared[name] & typed if name in declared else typed
    return frozenset((name, member) for name, members in declared.items()
                     for member in members)


def _module_name(where: str) -> str:
    stem = posixpath.basename(where)
    return stem if stem != "index" else posixpath.basename(posixpath.dirname(where))


def _exported_clients(read: dict[str, tuple[str, dict]], names: Counter[str],
                      factories: dict[str, list[list]]) -> list[KyselyClient]:
    """The clients the modules export (and the functions returning one, `factories`), and
    those the modules re-exporting them do, through up to `_MAX_REEXPORT_DEPTH` files."""

    def client(export: str, where: str, mode: str) -> KyselyClient:
        name = _module_name(where)
        return KyselyClient(export, where, (name,) if names[name] == 1 else (), mode)

    found = [client(export, where, mode) for where, (_, facts) in read.items()
             for exports, mode, _, _, _ in [*facts.get("c", ()), *factories.get(where, ())]
             for export in exports]
    frontier = found
    for _ in range(_MAX_REEXPORT_DEPTH):
        more = []
        for where, (_, facts) in read.items():
            for module, renamed in facts.get("r", ()):
                target = posixpath.normpath(posixpath.join(posixpath.dirname(where), module))
                stem, suffix = posixpath.splitext(target)
                target = stem if suffix in _SCRIPTS else target
                for made in frontier:
                    if made.path not in (target, target + "/index"):
                        continue
                    export, call = made.export.removesuffix("()"), \
                        "()" if made.export.endswith("()") else ""
                    if renamed is None:  # `export *` re-exports all but the default
                        exports = [made.export] if export != "default" else []
                    else:
                        exports = [alias + call for alias, name in renamed.items()
                                   if name == export]
                    more += [client(export, where, made.mode) for export in exports]
        more = [c for c in more if c not in found]
        if not more:
            break
        found += more
        frontier = more
    return found


def _file_facts(path: str, display: str, memo: dict[str, list[object]] | None) -> dict | None:
    """What one file says of the project's clients (`_read`), None for nothing; from `memo`
    while its size and modification time are those it was read at."""
    seen = kept_entry(memo, display, path)
    if seen is None:
        return None
    stamp, known = seen
    if known is not None and (known[2] is None or isinstance(known[2], dict)):
        return known[2]
    facts = None
    if stamp[0] <= _MAX_BYTES:
        try:
            with open(path, "rb") as handle:
                data = handle.read(_MAX_BYTES + 1)
        except OSError:
            return None
        kysely = b"ysely" in data or b"Dialect" in data
        reexports = _REEXPORT.search(data) is not None
        if len(data) <= _MAX_BYTES and (kysely or reexports):
            facts = _read(data, path, kysely, reexports) or None
    if memo is not None:
        memo[display] = [*stamp, facts]
    return facts


def _read(data: bytes, path: str, kysely: bool = True, reexports: bool = True) -> dict:
    """One file's facts, each only when there is one: "c", its clients, each as (the names
    it is exported as, its mode or "", whether it is the migrator's alone, its line, what
    makes its names not known); "e", a dialect of another engine (what, line); "p", a
    `withPlugin(...)` (what, line); "a", its aliases of the client types (and its subclasses
    of `Kysely`); "r", its re-exports (`drizzle_schema._export_froms`); "m", each class's
    typed members (class: [[member, `type_names`], ...]); "f", its exported functions that
    may return a client, each as (the names it is exported as, with `()`, its return type's
    `type_names`, `returned_mode`)."""
    from dbsafe.extract.drizzle_schema import _export_froms
    from dbsafe.extract.javascript import _parser, _walk

    facts: dict = {}
    if reexports:
        found = [[m, r] for m, r in _export_froms(data, Path(path)) if m.startswith(".")]
        if found:
            facts["r"] = found
    if not kysely:
        return facts
    tree = _parser("tsx" if path.endswith((".tsx", ".jsx")) else "typescript").parse(data)

    def text(node: Node) -> str:
        return data[node.start_byte:node.end_byte].decode("utf-8", "replace")

    def line(node: Node) -> int:
        return node.start_point[0] + 1

    nodes = list(_walk(tree.root_node))
    constants = {text(n.child_by_field_name("name") or n): n.child_by_field_name("value")
                 for n in nodes if n.type == "variable_declarator"}
    exported = _exports(tree.root_node, text)
    plugins = {text(n.child_by_field_name("name") or n) for n in nodes
               if n.type == "class_declaration" and _passes_names(n, text)}
    migrators = {text(n.child_by_field_name("name") or n) for n in nodes
                 if n.type == "variable_declarator" and _is_new(
                     n.child_by_field_name("value"), "Migrator", text)}
    clients: list[list[object]] = []
    seen: set[int] = set()  # the configs given to a `new Kysely(...)`
    aliases: set[str] = set()
    members: dict[str, list[list[object]]] = {}
    for node in nodes:
        if node.type == "type_alias_declaration":
            value = node.child_by_field_name("value")
            name = node.child_by_field_name("name")
            if value is not None and name is not None and value.type in (
                    "generic_type", "union_type") and \
                    set(type_names(value, text) or ["?"]) <= _CLIENT_TYPES:
                aliases.add(text(name))
        elif node.type in ("class_declaration", "abstract_class_declaration"):
            name = text(node.child_by_field_name("name") or node)
            members[name] = _members(node, text)
            made = _subclass_config(node, constants, text)
            if made is not None:  # `class Db extends Kysely<DB> { ... super({...}) }`
                aliases.add(name)
                config, unknown = made
                if config is not None:
                    seen.add(config.id)
                if unknown:
                    clients.append([[], (_mode(config, text) if config is not None else None)
                                    or "", False, line(node), unknown])
        elif node.type == "new_expression":
            name = text(node.child_by_field_name("constructor") or node).rpartition(".")[2]
            if name.endswith("Dialect") and _OTHER_ENGINES.search(name) and "e" not in facts:
                facts["e"] = [name, line(node)]
            if name != "Kysely":
                continue
            config = config_of(node, constants, text)
            if config is not None:
                seen.add(config.id)
            mode = _mode(config, text) if config is not None else None
            unknown = "a Kysely config with plugins" if config is not None else \
                "new Kysely(...) given options not seen"
            binding = _bound(node, text)
            clients.append([exported.get(binding, []) if binding else
                            (["default"] if _exported_default(node) else []),
                            mode or "", _migrator_only(node, binding, nodes, migrators, text),
                            line(node), unknown])
        elif node.type == "call_expression":
            function = node.child_by_field_name("function")
            if function is not None and function.type == "member_expression" and \
                    text(function.child_by_field_name("property") or function) == \
                    "withPlugin" and "p" not in facts and \
                    not _given_passing_plugin(node, plugins, constants, text):
                facts["p"] = ["withPlugin(...)", line(node)]
    for node in nodes:  # configs given elsewhere (nestjs-kysely's `forRoot({...})`)
        if node.type == "object" and node.id not in seen and _dialect(node, text):
            mode = _mode(node, text)
            clients.append([[], mode or "", False, line(node), "a Kysely config with plugins"])
    if clients:
        facts["c"] = clients
    if aliases:
        facts["a"] = sorted(aliases)
    if members:
        facts["m"] = members
    functions = _top_functions(tree.root_node, text)
    factories = [[[e + "()" for e in exported.get(name, [])] if name else ["default()"],
                  type_names(function.child_by_field_name("return_type"), text, True),
                  returned_mode(function, constants, text)]
                 for name, function in functions]
    called = dict(functions)
    for name, function in _made_by_call(tree.root_node, text).items():
        if function in called and exported.get(name):  # `export const db = createDb()`
            factory = called[function]
            factories.append([exported[name], type_names(
                factory.child_by_field_name("return_type"), text, True),
                returned_mode(factory, constants, text)])
    factories = [f for f in factories if f[0] and (f[1] or f[2] is not None)]
    if factories:
        facts["f"] = factories
    return facts


def type_names(node: Node | None, text, promise: bool = False) -> list[str]:
    """The names of the types a type annotation says a value is one of: `Kysely<DB>`
    `["Kysely"]`, `A | B` both's, `Omit<T, ...>`/`Pick<T, ...>`/`Readonly<T>` T's (the same
    object, fewer of its methods), `Promise<T>` T's where `promise`; "?" for anything
    else; [] for no annotation."""
    if node is None:
        return []
    if node.type == "type_annotation":
        node = node.named_children[0] if node.named_children else None
        if node is None:
            return []
    if node.type in ("union_type", "parenthesized_type"):
        return [n for child in node.named_children for n in type_names(child, text, promise)]
    if node.type == "generic_type":
        name = text(node.child_by_field_name("name") or node).rpartition(".")[2]
        arguments = node.child_by_field_name("type_arguments")
        first = arguments.named_children[0] if arguments is not None and \
            arguments.named_children else None
        if first is not None and (name in _VIEWS or (promise and name == "Promise")):
            return type_names(first, text) or ["?"]
        return [name]
    if node.type in ("type_identifier", "nested_type_identifier"):
        return [text(node).rpartition(".")[2]]
    return ["?"]


def returned_mode(function: Node, constants: dict[str, Node | None], text) -> str | None:
    """The mode (`client_mode`) of the clients a function returns where each of its returns
    is `new Kysely(...)` or a `const` of its body bound to one (`createDb()`); None where one
    is anything else, or it returns nothing."""
    body = function.child_by_field_name("body")
    if body is None:
        return None
    returned = [body] if body.type != "statement_block" else \
        [r.named_children[0] if r.named_children else r for r in _returns(body)]
    modes = set()
    for value in returned:
        value = _inner(value)
        if value.type == "identifier" and body.type == "statement_block":
            value = _inner(_local_const(body, text(value), text) or value)
        if not _is_new(value, "Kysely", text):
            return None
        modes.add(client_mode(value, constants, text))
    return (modes.pop() if len(modes) == 1 else "") if modes else None


def _returns(node: Node) -> list[Node]:
    """The return statements of a function's body, not of the functions inside it."""
    found = []
    for child in node.named_children:
        if child.type == "return_statement":
            found.append(child)
        elif child.type not in _FUNCTIONS and child.type != "class_body":
            found += _returns(child)
    return found


def _local_const(body: Node, name: str, text) -> Node | None:
    """The value of the one `const name = ...` of a function's body (not of a function
    inside it)."""
    values = []
    for statement in body.named_children:
        if statement.type == "lexical_declaration" and statement.child(0) is not None and \
                statement.child(0).type == "const":
            values += [d.child_by_field_name("value") for d in statement.named_children
                       if d.type == "variable_declarator" and
                       text(d.child_by_field_name("name") or d) == name]
    return values[0] if len(values) == 1 else None


def _top_functions(root: Node, text) -> list[tuple[str, Node]]:
    """The module's top-level functions by name ("" for `export default function`):
    `function f() {}`, `const f = () => ...`/`function () {}`."""
    found = []
    for statement in root.named_children:
        default = statement.type == "export_statement" and \
            any(c.type == "default" for c in statement.children)
        if statement.type == "export_statement":
            statement = statement.child_by_field_name("declaration") or \
                statement.child_by_field_name("value") or statement
        if statement.type in ("function_declaration", "function_expression",
                              "arrow_function"):
            found.append(("" if default else text(
                statement.child_by_field_name("name") or statement), statement))
        elif statement.type == "lexical_declaration":
            for declarator in statement.named_children:
                value = declarator.child_by_field_name("value")
                name = declarator.child_by_field_name("name")
                if declarator.type == "variable_declarator" and value is not None and \
                        name is not None and name.type == "identifier" and \
                        value.type in ("arrow_function", "function_expression"):
                    found.append((text(name), value))
    return found


def _made_by_call(root: Node, text) -> dict[str, str]:
    """The module's top-level `const`s bound to a call of a function named alone (`const db
    = createDb(url)`, also awaited), by the function's name."""
    found = {}
    for statement in root.named_children:
        if statement.type == "export_statement":
            statement = statement.child_by_field_name("declaration") or statement
        if statement.type != "lexical_declaration" or statement.child(0) is None or \
                statement.child(0).type != "const":
            continue
        for declarator in statement.named_children:
            name = declarator.child_by_field_name("name")
            value = declarator.child_by_field_name("value")
            value = _inner(value) if value is not None else None
            if value is not None and value.type == "await_expression" and value.named_children:
                value = _inner(value.named_children[0])
            callee = value.child_by_field_name("function") \
                if value is not None and value.type == "call_expression" else None
            if name is not None and name.type == "identifier" and callee is not None and \
                    callee.type == "identifier":
                found[text(name)] = text(callee)
    return found


def _members(node: Node, text) -> list[list[object]]:
    """A class's members and their `type_names`: its fields (one given `new Kysely(...)` is
    a `Kysely`), its getters' return types (`abstract get ctx(): DbContext`), its
    constructor's parameter properties (`constructor(private db: Kysely<DB>)`)."""
    found: list[list[object]] = []
    body = node.child_by_field_name("body")
    for entry in body.named_children if body is not None else ():
        name = entry.child_by_field_name("name")
        if entry.type == "public_field_definition" and name is not None:
            value = entry.child_by_field_name("value")
            types = type_names(entry.child_by_field_name("type"), text) or \
                (["Kysely"] if _is_new(value, "Kysely", text) else [])
            found.append([text(name), types])
        elif entry.type in ("method_definition", "abstract_method_signature") and \
                name is not None and any(c.type == "get" for c in entry.children):
            found.append([text(name), type_names(entry.child_by_field_name("return_type"),
                                                  text)])
        elif entry.type == "method_definition" and name is not None and \
                text(name) == "constructor":
            parameters = entry.child_by_field_name("parameters")
            for parameter in parameters.named_children if parameters is not None else ():
                pattern = parameter.child_by_field_name("pattern")
                if pattern is not None and pattern.type == "identifier" and any(
                        c.type in ("accessibility_modifier", "readonly")
                        for c in parameter.children):
                    found.append([text(pattern), type_names(
                        parameter.child_by_field_name("type"), text)])
    return found


def _subclass_config(node: Node, constants: dict[str, Node | None], text,
                     ) -> tuple[Node | None, str] | None:
    """For a class extending `Kysely`, the config its constructor gives `super(...)` (None
    when it is not seen) and what makes its names not known ("" for an abstract class
    without a constructor: it makes no client, its instances are made as others); None for
    another class."""
    heritage = next((c for c in node.named_children if c.type == "class_heritage"), None)
    extends = next((c for c in heritage.named_children if c.type == "extends_clause"),
                   None) if heritage is not None else None
    value = extends.child_by_field_name("value") if extends is not None else None
    if value is None or text(value).rpartition(".")[2] != "Kysely":
        return None
    body = node.child_by_field_name("body")
    constructor = next((e for e in body.named_children if e.type == "method_definition" and
                        text(e.child_by_field_name("name") or e) == "constructor"), None) \
        if body is not None else None
    if constructor is None and node.type == "abstract_class_declaration":
        return None, ""
    calls = [n for n in _descendants(constructor) if n.type == "call_expression" and
             (n.child_by_field_name("function") or n).type == "super"] \
        if constructor is not None else []
    config = config_of(calls[0], constants, text) if len(calls) == 1 else None
    return config, ("a Kysely config with plugins" if config is not None else
                    "a subclass of Kysely given options not seen")


def _descendants(node: Node) -> list[Node]:
    found = [node]
    for child in node.children:
        found += _descendants(child)
    return found


def _passes_names(node: Node, text) -> bool:
    """Whether a class is a Kysely plugin whose `transformQuery(args)` returns the query it
    is given, `args.node`, wherever it returns (bluesky's `LeakyTxPlugin`, which may only
    throw): the names it sends are those of the client it is given to."""
    body = node.child_by_field_name("body")
    method = next((e for e in body.named_children if e.type == "method_definition" and
                   text(e.child_by_field_name("name") or e) == "transformQuery"), None) \
        if body is not None else None
    parameters = method.child_by_field_name("parameters") if method is not None else None
    first = parameters.named_children[0] if parameters is not None and \
        parameters.named_children else None
    pattern = first.child_by_field_name("pattern") if first is not None else None
    block = method.child_by_field_name("body") if method is not None else None
    if pattern is None or pattern.type != "identifier" or block is None:
        return False
    returns = _returns(block)
    return bool(returns) and all(
        [text(n) for n in r.named_children] == [text(pattern) + ".node"] for r in returns)


def _given_passing_plugin(call: Node, plugins: set[str], constants: dict[str, Node | None],
                          text) -> bool:
    """Whether `withPlugin(...)` is given `new P()` (or a `const` of the file bound to
    one) of a class of the file that `_passes_names`."""
    arguments = call.child_by_field_name("arguments")
    given = [a for a in arguments.named_children if a.type != "comment"] \
        if arguments is not None else []
    value = given[0] if len(given) == 1 else None
    if value is not None and value.type == "identifier":
        value = constants.get(text(value))
    return value is not None and value.type == "new_expression" and \
        text(value.child_by_field_name("constructor") or value) in plugins


def config_of(new: Node, constants: dict[str, Node | None], text) -> Node | None:
    """The object literal a `new Kysely(...)` is given (or a `const` of the file bound to
    one), None for anything else."""
    arguments = new.child_by_field_name("arguments")
    config = arguments.named_children[0] if arguments is not None and \
        arguments.named_children else None
    if config is not None and config.type == "identifier":
        config = constants.get(text(config))
    return config if config is not None and config.type == "object" else None


def client_mode(new: Node, constants: dict[str, Node | None], text) -> str:
    """"plain" or "camel" for a `new Kysely(...)` given a config whose plugins are known,
    else ""."""
    config = config_of(new, constants, text)
    return (_mode(config, text) or "") if config is not None else ""


def _inner(node: Node) -> Node:
    """`node` without the parentheses and TypeScript's `as`/`satisfies`/`!` around it."""
    while node.type in _WRAPPERS and node.named_children:
        node = node.named_children[0]
    return node


def _is_new(node: Node | None, name: str, text) -> bool:
    node = _inner(node) if node is not None else None
    return node is not None and node.type == "new_expression" and text(
        node.child_by_field_name("constructor") or node).rpartition(".")[2] == name


def _outer(node: Node) -> Node:
    """`node` with the parentheses and TypeScript's `as`/`satisfies`/`!` around it."""
    while node.parent is not None and node.parent.type in _WRAPPERS:
        node = node.parent
    return node


def _bound(new: Node, text) -> str:
    """The name of the top-level `const` bound to `new` (`const db = new Kysely(...)`),
    "" for anything else."""
    node = _outer(new)
    declarator = node.parent
    if declarator is None or declarator.type != "variable_declarator" or \
            declarator.child_by_field_name("value") != node:
        return ""
    declaration = declarator.parent
    name = declarator.child_by_field_name("name")
    if declaration is None or declaration.type != "lexical_declaration" or name is None or \
            name.type != "identifier" or declaration.child(0) is None or \
            declaration.child(0).type != "const":
        return ""
    top = declaration.parent
    if top is not None and top.type == "export_statement":
        top = top.parent
    return text(name) if top is not None and top.type == "program" else ""


def _exported_default(new: Node) -> bool:
    node = _outer(new)
    return node.parent is not None and node.parent.type == "export_statement" and \
        any(c.type == "default" for c in node.parent.children)


def _exports(root: Node, text) -> dict[str, list[str]]:
    """The names each top-level name of the module is exported as (`export const db`,
    `export function createDb`, `export { db, db as client }`, `export default db`)."""
    found: dict[str, list[str]] = {}
    for statement in root.named_children:
        if statement.type != "export_statement" or \
                statement.child_by_field_name("source") is not None:
            continue
        declaration = statement.child_by_field_name("declaration")
        if declaration is not None and declaration.type == "lexical_declaration":
            for declarator in declaration.named_children:
                name = declarator.child_by_field_name("name")
                if declarator.type == "variable_declarator" and name is not None and \
                        name.type == "identifier":
                    found.setdefault(text(name), []).append(text(name))
        name = declaration.child_by_field_name("name") if declaration is not None and \
            declaration.type == "function_declaration" else None
        if name is not None:
            found.setdefault(text(name), []).append(text(name))
        value = statement.child_by_field_name("value")
        if value is not None and value.type == "identifier" and \
                any(c.type == "default" for c in statement.children):
            found.setdefault(text(value), []).append("default")
        for clause in statement.named_children:
            if clause.type != "export_clause":
                continue
            for specifier in clause.named_children:
                name = specifier.child_by_field_name("name")
                alias = specifier.child_by_field_name("alias") or name
                if specifier.type == "export_specifier" and name is not None and \
                        alias is not None:
                    found.setdefault(text(name), []).append(text(alias))
    return found


def _migrator_only(new: Node, binding: str, nodes: list[Node], migrators: set[str],
                   text) -> bool:
    """Whether the client `new` makes is given to Kysely's `Migrator` alone: written in
    `new Migrator({ db: new Kysely(...) })`, or bound to a `const` the module does not
    export whose every use is `new Migrator({ db })`'s, an argument of a call also given the
    migrator (`run(db, migrator, folder)`, kysely-migration-cli's), or `db.destroy()`."""
    node = _outer(new)
    if node.parent is not None and node.parent.type == "pair" and \
            _migrator_options(node.parent.parent, text):
        return True
    declarator = node.parent
    if not binding or declarator is None or declarator.parent is None or \
            declarator.parent.parent is None or \
            declarator.parent.parent.type == "export_statement":
        return False
    name = declarator.child_by_field_name("name")
    uses = [n for n in nodes if n.type in ("identifier", "shorthand_property_identifier")
            and n != name and text(n) == binding]
    migrated = False
    for use in uses:
        parent = use.parent
        if parent is None:
            return False
        if use.type == "shorthand_property_identifier" or parent.type == "pair":
            options = parent if use.type == "shorthand_property_identifier" else parent.parent
            if parent.type == "pair" and parent.child_by_field_name("value") != use:
                return False
            if not _migrator_options(options, text):
                return False
            migrated = True
        elif not _beside_migrator(use, parent, migrators, text):
            return False
    return migrated


def _beside_migrator(use: Node, parent: Node, migrators: set[str], text) -> bool:
    """Whether a use of a client is an argument of a call also given the migrator, or
    `db.destroy()`."""
    if parent.type == "arguments":
        return any(a.type == "identifier" and text(a) in migrators
                   for a in parent.named_children)
    return parent.type == "member_expression" and \
        parent.child_by_field_name("object") == use and \
        text(parent.child_by_field_name("property") or parent) == "destroy" and \
        parent.parent is not None and parent.parent.type == "call_expression"


def _migrator_options(node: Node | None, text) -> bool:
    """Whether `node` is the object literal given to `new Migrator(...)`."""
    arguments = node.parent if node is not None and node.type == "object" else None
    return arguments is not None and arguments.type == "arguments" and \
        arguments.named_children[:1] == [node] and _is_new(arguments.parent, "Migrator", text)


def _dialect(config: Node, text) -> bool:
    """Whether an object literal is a Kysely config: its `dialect` is not a string."""
    for entry in config.named_children:
        if entry.type == "shorthand_property_identifier" and text(entry) == "dialect":
            return True
        if entry.type == "pair" and text(entry.child_by_field_name("key") or entry) == \
                "dialect":
            value = entry.child_by_field_name("value")
            return value is not None and value.type not in ("string", "template_string")
    return False


def _mode(config: Node, text) -> str | None:
    """"plain", "camel", or None for a config whose plugins are not known."""
    mode = "plain"
    for entry in config.named_children:
        if entry.type == "spread_element":
            return None
        key = entry.child_by_field_name("key") if entry.type == "pair" else entry
        if key is None or text(key).strip("'\"") != "plugins":
            continue
        plugins = entry.child_by_field_name("value") if entry.type == "pair" else None
        if plugins is None or plugins.type != "array":
            return None
        for plugin in plugins.named_children:
            if plugin.type == "comment":
                continue
            arguments = plugin.child_by_field_name("arguments")
            given = [a for a in arguments.named_children if a.type != "comment"] \
                if arguments is not None else []
            if plugin.type != "new_expression" or \
                    text(plugin.child_by_field_name("constructor") or plugin) \
                    .rpartition(".")[2] != "CamelCasePlugin" or \
                    any(text(a).replace(" ", "") != "{}" for a in given):
                return None
            mode = "camel"
    return mode

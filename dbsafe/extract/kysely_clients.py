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
- `.withPlugin(...)`: a client given a plugin after it is made;
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
    `clients`: the clients its modules export; `engine`: the dialect of another engine the
    project makes, where no chain is read (`"SqliteDialect in src/local.ts:3"`)."""

    mode: str = ""
    why: str = ""
    types: frozenset[str] = frozenset()
    clients: tuple[KyselyClient, ...] = ()
    engine: str = ""

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
    pairs). `memo` (kept by the caller between runs): each file's facts by its path, with the
    size and modification time it was read at; a file whose stat is unchanged is not read
    again.

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
        facts = _file_facts(path, memo)
        if facts:
            read[where] = (display, facts)
    types = frozenset(a for _, facts in read.values() for a in facts.get("a", ()))
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
    clients = tuple(_exported_clients(read, names))
    return KyselyClients("" if why or engine else modes.pop(), engine or why, types,
                         clients, engine)


def _module_name(where: str) -> str:
    stem = posixpath.basename(where)
    return stem if stem != "index" else posixpath.basename(posixpath.dirname(where))


def _exported_clients(read: dict[str, tuple[str, dict]], names: Counter[str],
                      ) -> list[KyselyClient]:
    """The clients the modules export, and those the modules re-exporting them do, through
    up to `_MAX_REEXPORT_DEPTH` files."""

    def client(export: str, where: str, mode: str) -> KyselyClient:
        name = _module_name(where)
        return KyselyClient(export, where, (name,) if names[name] == 1 else (), mode)

    found = [client(export, where, mode) for where, (_, facts) in read.items()
             for exports, mode, _, _, _ in facts.get("c", ()) for export in exports]
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
                    if renamed is None:  # `export *` re-exports all but the default
                        exports = [made.export] if made.export != "default" else []
                    else:
                        exports = [alias for alias, name in renamed.items()
                                   if name == made.export]
                    more += [client(export, where, made.mode) for export in exports]
        more = [c for c in more if c not in found]
        if not more:
            break
        found += more
        frontier = more
    return found


def _file_facts(path: str, memo: dict[str, list[object]] | None) -> dict | None:
    """What one file says of the project's clients (`_read`), None for nothing; from `memo`
    while its size and modification time are those it was read at."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    stamp: list[object] = [status.st_size, status.st_mtime_ns]
    known = memo.get(path) if memo is not None else None
    if known is not None and known[:2] == stamp and (known[2] is None or
                                                      isinstance(known[2], dict)):
        return known[2]
    facts = None
    if status.st_size <= _MAX_BYTES:
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
        memo[path] = [*stamp, facts]
    return facts


def _read(data: bytes, path: str, kysely: bool = True, reexports: bool = True) -> dict:
    """One file's facts, each only when there is one: "c", its clients, each as (the names
    it is exported as, its mode or "", whether it is the migrator's alone, its line, what
    makes its names not known); "e", a dialect of another engine (what, line); "p", a
    `withPlugin(...)` (what, line); "a", its aliases of the client types; "r", its
    re-exports (`drizzle_schema._export_froms`)."""
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
    migrators = {text(n.child_by_field_name("name") or n) for n in nodes
                 if n.type == "variable_declarator" and _is_new(
                     n.child_by_field_name("value"), "Migrator", text)}
    clients: list[list[object]] = []
    seen: set[int] = set()  # the configs given to a `new Kysely(...)`
    aliases: set[str] = set()
    for node in nodes:
        if node.type == "type_alias_declaration":
            value = node.child_by_field_name("value")
            name = node.child_by_field_name("name")
            if value is not None and name is not None and value.type == "generic_type" and \
                    text(value.child_by_field_name("name") or value).rpartition(".")[2] \
                    in _CLIENT_TYPES:
                aliases.add(text(name))
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
                    "withPlugin" and "p" not in facts:
                facts["p"] = ["withPlugin(...)", line(node)]
    for node in nodes:  # configs given elsewhere (nestjs-kysely's `forRoot({...})`)
        if node.type == "object" and node.id not in seen and _dialect(node, text):
            mode = _mode(node, text)
            clients.append([[], mode or "", False, line(node), "a Kysely config with plugins"])
    if clients:
        facts["c"] = clients
    if aliases:
        facts["a"] = sorted(aliases)
    return facts


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


def _is_new(node: Node | None, name: str, text) -> bool:
    while node is not None and node.type in _WRAPPERS:
        node = node.named_children[0] if node.named_children else None
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
    `export { db, db as client }`, `export default db`)."""
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

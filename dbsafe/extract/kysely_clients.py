"""What a project's Kysely clients do to the names of its query-builder chains.

A Kysely client writes a chain's names as they are, quoted, unless a plugin given where it
is made says otherwise: `CamelCasePlugin` snake_cases every identifier (`firstName` is sent
as `first_name`, `kysely.snake_case`), `WithSchemaPlugin` qualifies its tables, and any
other plugin may do anything. The options are given where the client is made (`new
Kysely<DB>({ dialect, plugins })`, nestjs-kysely's `KyselyModule.forRoot({ dialect, ... })`),
usually in another file than the chains, so every JS/TS file of the project that may say so
is read with tree-sitter:

- a Kysely config, an object literal with a `dialect` key that is not a string (drizzle-kit's
  `dialect: 'postgresql'` is not one): without `plugins`, a plain client; with `plugins:
  [new CamelCasePlugin()]` (no options, or `{}`), a snake_casing one; with anything else
  (another plugin, options, a spread of the config or of its plugins), one whose names are
  not known;
- `new Kysely(config)` given something other than an object literal (or a `const` bound to
  one in the file): a client whose options are not seen;
- `.withPlugin(...)`: a client given a plugin after it is made;
- a dialect of another engine (`new MysqlDialect(...)`, `SqliteDialect`, `MssqlDialect`, D1's,
  libSQL's, PlanetScale's): its chains are not PostgreSQL's;
- `type DB = Kysely<Database>` (or `Transaction<...>`): an alias a client may be typed with.

The project's chains are read (`kysely.kysely_fragments`) only when it makes at least one
client and all of them are plain, or all snake_casing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tree_sitter import Node

_MAX_BYTES = 4 << 20
_SCRIPTS = (".js", ".ts", ".jsx", ".tsx", ".mjs", ".cjs", ".mts", ".cts")
_DEPENDENCIES = ("dependencies", "devDependencies", "peerDependencies", "optionalDependencies")
_OTHER_ENGINES = re.compile(r"mysql|sqlite|mssql|d1|libsql|planetscale|turso|tedious", re.I)
_CLIENT_TYPES = frozenset({"Kysely", "Transaction"})


@dataclass(frozen=True, slots=True)
class KyselyClients:
    """`mode`: "plain", "camel", or "" (no client seen, or one whose names are not known:
    `why` says which, `"WithSchemaPlugin in src/db.ts:7"`); `types`: the project's aliases
    of `Kysely<...>`/`Transaction<...>`."""

    mode: str = ""
    why: str = ""
    types: frozenset[str] = frozenset()


def uses_kysely(read: Sequence[tuple[Path, object]]) -> bool:
    """Whether one of the project's `package.json` (`js_packages.manifests`) depends on
    `kysely` (or nestjs-kysely)."""
    return any(isinstance(manifest, dict) and any(
        isinstance(deps, dict) and any(name == "kysely" or name.endswith("-kysely") or
                                       name.endswith("/kysely") for name in deps)
        for deps in (manifest.get(k) for k in _DEPENDENCIES)) for _, manifest in read)


def kysely_clients(files: Sequence[tuple[str, str]]) -> KyselyClients:
    """The project's clients, read in `files` ((path, display path) pairs).

    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = Path(d, "db.ts")
    ...     _ = path.write_text("export const db = new Kysely<DB>({\\n  dialect,\\n"
    ...                         "  plugins: [new CamelCasePlugin()],\\n})")
    ...     kysely_clients([(str(path), "db.ts")]).mode
    'camel'
    """
    modes: set[str] = set()
    types: set[str] = set()
    why = ""
    for path, display in files:
        if not path.endswith(_SCRIPTS):
            continue
        try:
            with open(path, "rb") as handle:
                data = handle.read(_MAX_BYTES + 1)
        except OSError:
            continue
        if len(data) > _MAX_BYTES or (b"ysely" not in data and b"Dialect" not in data):
            continue
        found, unknown, aliases = _read(data, path)
        modes |= found
        types |= aliases
        if unknown and not why:
            what, line = unknown
            why = f"{what} in {display}:{line}"
    if why:
        return KyselyClients("", why, frozenset(types))
    if len(modes) != 1:
        why = "clients with and without CamelCasePlugin" if modes else "no client made"
        return KyselyClients("", why, frozenset(types))
    return KyselyClients(modes.pop(), "", frozenset(types))


def _read(data: bytes, path: str) -> tuple[set[str], tuple[str, int] | None, set[str]]:
    """One file's clients' modes, the first thing in it whose names are not known (what,
    line), and its aliases of the client types."""
    from dbsafe.extract.javascript import _parser, _walk

    tree = _parser("tsx" if path.endswith((".tsx", ".jsx")) else "typescript").parse(data)

    def text(node: Node) -> str:
        return data[node.start_byte:node.end_byte].decode("utf-8", "replace")

    def line(node: Node) -> int:
        return node.start_point[0] + 1

    nodes = list(_walk(tree.root_node))
    constants = {text(n.child_by_field_name("name") or n): n.child_by_field_name("value")
                 for n in nodes if n.type == "variable_declarator"}
    modes: set[str] = set()
    unknown: tuple[str, int] | None = None
    aliases: set[str] = set()

    def refuse(what: str, node: Node) -> None:
        nonlocal unknown
        if unknown is None:
            unknown = (what, line(node))

    for node in nodes:
        if node.type == "type_alias_declaration":
            value = node.child_by_field_name("value")
            name = node.child_by_field_name("name")
            if value is not None and name is not None and value.type == "generic_type" and \
                    text(value.child_by_field_name("name") or value).rpartition(".")[2] \
                    in _CLIENT_TYPES:
                aliases.add(text(name))
        elif node.type == "new_expression":
            constructor = text(node.child_by_field_name("constructor") or node)
            name = constructor.rpartition(".")[2]
            if name.endswith("Dialect") and _OTHER_ENGINES.search(name):
                refuse(name, node)
            if name != "Kysely":
                continue
            arguments = node.child_by_field_name("arguments")
            config = arguments.named_children[0] if arguments is not None and \
                arguments.named_children else None
            if config is not None and config.type == "identifier":
                config = constants.get(text(config))
            if config is None or config.type != "object":
                refuse("new Kysely(...) given options not seen", node)
        elif node.type == "object" and _dialect(node, text):
            mode = _mode(node, text)
            if mode is None:
                refuse("a Kysely config with plugins", node)
            else:
                modes.add(mode)
        elif node.type == "call_expression":
            function = node.child_by_field_name("function")
            if function is not None and function.type == "member_expression" and \
                    text(function.child_by_field_name("property") or function) == "withPlugin":
                refuse("withPlugin(...)", node)
    return modes, unknown, aliases


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

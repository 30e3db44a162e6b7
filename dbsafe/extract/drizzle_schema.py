"""The tables a project's drizzle schema files declare, read where its `drizzle.config` says.

drizzle-orm writes a table or a column given to its `sql` template as the names it stands
for, never as a parameter (`sql.ts`, `buildQueryFromSourceParams`): ``sql`... WHERE
${orders.userId} = ${id}` `` is sent as `... WHERE "orders"."user_id" = $1`, and
``${orders}`` as `"orders"` (`"shop"."orders"` for a table of `pgSchema('shop')`). What a
name stands for is in the schema files drizzle-kit reads (`schema` in `drizzle.config.ts`):
`export const orders = pgTable('orders', { userId: integer('user_id') })`. A column declared
without its name (`userId: integer()`) is named by its key through the client's `casing`,
set where the client is made: such a column is not read.
"""

from __future__ import annotations

import glob
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tree_sitter import Node

_CONFIG_NAMES = tuple(f"drizzle.config.{s}" for s in ("ts", "js", "mjs", "cjs", "mts", "cts"))
_SCRIPTS = (".ts", ".js", ".mjs", ".cjs", ".mts", ".cts", ".tsx", ".jsx")
# Where a monorepo keeps its packages: the config may be one folder below these.
_WORKSPACES = ("apps", "packages", "services", "libs")
_SKIPPED_FOLDERS = ("node_modules",)
# drizzle-kit's table factories of PostgreSQL (`pgTable`, and `schema.table` of a
# `pgSchema(...)`); `pgTableCreator` prefixes the names at run time and is not read.
_TABLE_FACTORIES = frozenset({"pgTable"})
_MAX_SCHEMA_FILES = 500
_MAX_SCHEMA_BYTES = 4 << 20


@dataclass(frozen=True, slots=True)
class DrizzleTable:
    """A table a schema file exports: its export name, the module names an import of it
    names (the file's stem, its folder's for a file of a folder of schema files), the SQL
    drizzle writes for it and, per key, for each column declared with its name, and the
    file (`imported_by`)."""

    export: str
    modules: tuple[str, ...]
    sql: str
    columns: tuple[tuple[str, str], ...]
    path: str = ""  # the schema file, relative to the project's root, without its suffix

    def column(self, key: str) -> str | None:
        return next((f"{self.sql}.{name}" for k, name in self.columns if k == key), None)

    def imported_by(self, module: str, importer: str) -> bool:
        """Whether `import ... from module` in the file `importer` (relative to the
        project's root) may be of this table: a relative module is its file (or the folder
        holding it, whose index re-exports it); any other (`@/db/schema`, an alias) names
        the file or its folder last."""
        if module.startswith("."):
            target = posixpath.normpath(posixpath.join(posixpath.dirname(importer), module))
            stem, suffix = posixpath.splitext(target)
            target = stem if suffix in _SCRIPTS else target
            return target in (self.path, posixpath.dirname(self.path)) or (
                target + "/index" == self.path)
        names = module_names(module)
        return bool(names) and names[0] in self.modules


def drizzle_tables(root: Path) -> tuple[DrizzleTable, ...]:
    """The tables of the schema files each `drizzle.config.*` of the project names (at its
    root, in a folder of it, or in a workspace's package): an export name declared twice
    with other names is left out."""
    found: dict[str, DrizzleTable | None] = {}
    for config in _configs(root):
        for path in _schema_files(config):
            for table in _tables_of(path, root):
                if table.export in found and found[table.export] != table:
                    found[table.export] = None
                else:
                    found[table.export] = table
    return tuple(t for t in found.values() if t is not None)


def _configs(root: Path) -> list[Path]:
    folders = [root]
    try:
        children = sorted(p for p in root.iterdir() if p.is_dir()
                          and not p.name.startswith(".") and p.name not in _SKIPPED_FOLDERS)
    except OSError:
        return []
    folders += children
    for child in children:
        if child.name in _WORKSPACES:
            try:
                folders += sorted(p for p in child.iterdir() if p.is_dir())
            except OSError:
                continue
    return [folder / name for folder in folders for name in _CONFIG_NAMES
            if (folder / name).is_file()]


def _schema_files(config: Path) -> list[Path]:
    """The files `schema` in a drizzle config names (a path, a folder, a glob or a list of
    them), relative to the config's folder, where drizzle-kit is run."""
    from dbsafe.extract.javascript import _parser, _walk

    try:
        data = config.read_bytes()
    except OSError:
        return []
    tree = _parser("typescript").parse(data)
    patterns: list[str] = []
    for node in _walk(tree.root_node):
        if node.type != "pair":
            continue
        key, value = node.child_by_field_name("key"), node.child_by_field_name("value")
        if key is None or value is None or _text(data, key).strip("'\"") != "schema":
            continue
        values = value.named_children if value.type == "array" else [value]
        patterns += [_string(data, v) or "" for v in values]
    files: list[Path] = []
    base = config.parent
    for pattern in patterns:
        if not pattern:
            continue
        if glob.has_magic(pattern):
            paths = [Path(p) for p in sorted(glob.glob(str(base / pattern), recursive=True))]
        else:
            paths = [base / pattern]
        for path in paths:
            if path.is_dir():
                files += sorted(p for p in path.rglob("*") if p.suffix in _SCRIPTS
                                and "node_modules" not in p.parts)
            elif path.suffix in _SCRIPTS and path.is_file():
                files.append(path)
    return files[:_MAX_SCHEMA_FILES]


def _tables_of(path: Path, root: Path) -> list[DrizzleTable]:
    from dbsafe.extract.javascript import _parser

    try:
        if path.stat().st_size > _MAX_SCHEMA_BYTES:
            return []
        data = path.read_bytes()
    except OSError:
        return []
    tree = _parser("tsx" if path.suffix in (".tsx", ".jsx") else "typescript").parse(data)
    stem = path.stem
    modules: tuple[str, ...] = (stem,) if stem != "index" else ()
    modules += (path.parent.name,)  # `@/db/schema` for `db/schema/index.ts` or its files
    try:
        where = path.resolve().relative_to(root.resolve()).with_suffix("").as_posix()
    except ValueError:
        where = ""
    schemas: dict[str, str] = {}  # `const auth = pgSchema('auth')`
    tables: list[DrizzleTable] = []
    for node in tree.root_node.named_children:
        exported = node.type == "export_statement"
        declaration = node.child_by_field_name("declaration") if exported else node
        if declaration is None or declaration.type != "lexical_declaration" or \
                not _text(data, declaration).startswith("const"):
            continue
        for declarator in declaration.named_children:
            name, value = declarator.child_by_field_name("name"), \
                declarator.child_by_field_name("value")
            if name is None or value is None or name.type != "identifier" or \
                    value.type != "call_expression":
                continue
            function = value.child_by_field_name("function")
            arguments = value.child_by_field_name("arguments")
            if function is None or arguments is None:
                continue
            args = [a for a in arguments.named_children if a.type != "comment"]
            first = _string(data, args[0]) if args else None
            callee = _text(data, function)
            if callee == "pgSchema" and first is not None:
                schemas[_text(data, name)] = first
                continue
            schema = None
            if function.type == "member_expression":
                owner = function.child_by_field_name("object")
                field = function.child_by_field_name("property")
                if owner is None or field is None or _text(data, field) != "table" or \
                        _text(data, owner) not in schemas:
                    continue
                schema = schemas[_text(data, owner)]
            elif callee not in _TABLE_FACTORIES:
                continue
            if not exported or first is None or len(args) < 2:
                continue
            sql = _quoted(first) if schema is None else f"{_quoted(schema)}.{_quoted(first)}"
            tables.append(DrizzleTable(_text(data, name), modules, sql,
                                       _columns(data, args[1]), where))
    return tables


def _columns(data: bytes, node: Node) -> tuple[tuple[str, str], ...]:
    """`{ userId: integer('user_id').notNull() }` (or `(t) => ({ ... })`, drizzle's
    callback form): each key whose column builder is given the column's name."""
    if node.type == "arrow_function":
        body = node.child_by_field_name("body")
        while body is not None and body.type == "parenthesized_expression" and \
                body.named_children:
            body = body.named_children[0]
        if body is None:
            return ()
        node = body
    if node.type != "object":
        return ()
    columns: list[tuple[str, str]] = []
    for pair in node.named_children:
        key, value = pair.child_by_field_name("key"), pair.child_by_field_name("value")
        if pair.type != "pair" or key is None or value is None or \
                key.type not in ("property_identifier", "string"):
            continue
        # the first call of the chain: `integer('user_id')` of `integer('user_id').notNull()`
        call = value
        while call.type == "call_expression":
            function = call.child_by_field_name("function")
            if function is None or function.type != "member_expression":
                break
            inner = function.child_by_field_name("object")
            if inner is None or inner.type != "call_expression":
                break
            call = inner
        if call.type != "call_expression":
            continue
        arguments = call.child_by_field_name("arguments")
        args = [a for a in arguments.named_children if a.type != "comment"] if (
            arguments is not None) else []
        name = _string(data, args[0]) if args else None
        if name is not None:
            columns.append((_string(data, key) or _text(data, key), _quoted(name)))
    return tuple(columns)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _string(data: bytes, node: Node) -> str | None:
    """A plain string literal's text (no escapes, no holes)."""
    if node.type == "string" and all(c.type == "string_fragment" for c in node.named_children):
        return "".join(_text(data, c) for c in node.named_children)
    if node.type == "template_string" and not node.named_children:
        return ""
    if node.type == "template_string" and all(
            c.type == "string_fragment" for c in node.named_children):
        return "".join(_text(data, c) for c in node.named_children)
    return None


def _text(data: bytes, node: Node) -> str:
    return data[node.start_byte:node.end_byte].decode("utf-8", "replace")


def module_names(module: str) -> tuple[str, ...]:
    """The name an import's module stands for, as `DrizzleTable.modules` lists them:
    `@/db/schema` -> (`schema`,), its last segment (extension and `/index` dropped)."""
    parts = [p for p in module.split("/") if p not in ("", ".", "..")]
    if parts and parts[-1] in ("index", *(f"index{s}" for s in _SCRIPTS)):
        parts.pop()
    if not parts:
        return ()
    last = os.path.splitext(parts[-1])[0] if parts[-1].endswith(_SCRIPTS) else parts[-1]
    return (last,)

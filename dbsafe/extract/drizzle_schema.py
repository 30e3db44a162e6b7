"""The tables a project's drizzle schema files declare, read where its `drizzle.config` says.

drizzle-orm writes a table or a column given to its `sql` template as the names it stands
for, never as a parameter (`sql.ts`, `buildQueryFromSourceParams`): ``sql`... WHERE
${orders.userId} = ${id}` `` is sent as `... WHERE "orders"."user_id" = $1`, and
``${orders}`` as `"orders"` (`"shop"."orders"` for a table of `pgSchema('shop')`). What a
name stands for is in the schema files drizzle-kit reads (`schema` in `drizzle.config.ts`):
`export const orders = pgTable('orders', { userId: integer('user_id') })`. A column declared
without its name (`userId: integer()`) is named by its key through the client's `casing`
(`drizzle(client, { casing: 'snake_case' })`: `"user_id"`; none: `"userId"`), as
drizzle-orm's `CasingCache` names it: read where the client is made in a file beside the
schema files (their folders and the folders holding those, and the files the entry points of
the project's package holding them re-export), or, with no client there, from the config's
own `casing` (drizzle-kit made the tables so, and a client naming the columns otherwise could
not read them); anything else leaves such a column unread.

A monorepo's apps import all of it from the package holding it (`import { sql, users } from
'@acme/db'`): its `package.json` names the file (`js_packages`), which re-exports drizzle's
`sql` (`export * from 'drizzle-orm/sql'`), the schema files and the client, each by a chain
of `export ... from './x'` (`sql_reexports`, `_beside`).
"""

from __future__ import annotations

import glob
import os
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from dbsafe.extract.js_packages import SCRIPTS, package_modules, project_folders, source_file

if TYPE_CHECKING:
    from tree_sitter import Node

_CONFIG_NAMES = tuple(f"drizzle.config.{s}" for s in ("ts", "js", "mjs", "cjs", "mts", "cts"))
_SCRIPTS = SCRIPTS
# drizzle-kit's table factories of PostgreSQL (`pgTable`, and `schema.table` of a
# `pgSchema(...)`); `pgTableCreator` prefixes the names at run time and is not read.
_TABLE_FACTORIES = frozenset({"pgTable"})
_MAX_SCHEMA_FILES = 500
_MAX_SCHEMA_BYTES = 4 << 20
# How many files beside the schema files are looked at for the client's `casing`.
_MAX_CLIENT_FILES = 200
# drizzle-orm 0.45's `casing.ts`: the words of a key (`toSnakeCase`, `toCamelCase`).
_WORDS = re.compile(r"[0-9a-z]+|[A-Z]+(?![a-z])|[A-Z][0-9a-z]+")
_APOSTROPHES = re.compile("['\u2019]")
_CASINGS = frozenset({"snake_case", "camelCase"})
# A file re-exporting another's names: `export * from './x'`, `export { a } from './x'`.
_REEXPORT = re.compile(rb"export\s*(?:\*|\{)[^;]*?\bfrom\s*['\"]\.")
# A member given alone to `drizzle(...)` that holds a connection, not options.
_CONNECTION_NAME = re.compile(r"\benv\.|(?:url|uri|client|pool|sql|connection)\W*\Z",
                              re.IGNORECASE)
# A file that may make a drizzle client: it imports `drizzle` from a driver's entry point.
_CLIENT_IMPORT = re.compile(rb"import\s*\{[^}]*\bdrizzle\b[^}]*\}\s*from\s*['\"]drizzle-orm/")


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
    # files beside the schema files re-exporting it (`export * from './auth/user.schema'`),
    # named so too
    barrels: tuple[str, ...] = ()

    def column(self, key: str) -> str | None:
        name = self.column_name(key)
        return f"{self.sql}.{name}" if name is not None else None

    def column_name(self, key: str) -> str | None:
        """The quoted name of the column declared under `key`, where it is known."""
        return next((name for k, name in self.columns if k == key), None)

    def imported_by(self, module: str, importer: str, file: str | None = None) -> bool:
        """Whether `import ... from module` in the file `importer` (relative to the
        project's root) may be of this table: a relative module is its file (or the folder
        holding it, whose index re-exports it); any other (`@/db/schema`, an alias) names
        the file or its folder last, or is a specifier of the project's own package naming
        `file`, the table's file or one re-exporting it (`@acme/db`: `src/index.ts`)."""
        if file is not None and file in (self.path, *self.barrels):
            return True
        return names_file(module, importer, self.path, self.modules, self.barrels,
                          folder=True)


def names_file(module: str, importer: str, path: str, modules: tuple[str, ...],
               barrels: tuple[str, ...] = (), *, folder: bool = False) -> bool:
    """Whether `import ... from module` in the file `importer` may be of the file `path`
    (both relative to the project's root, `path` without its suffix), or of a file of
    `barrels` re-exporting it: a relative module is the file (or, with `folder`, the folder
    holding it, whose index re-exports it), or its folder's index; any other (`@/db/schema`,
    a tsconfig alias) names the file last, by one of `modules` (`module_names`).

    >>> names_file("../db", "src/routes/a.ts", "src/db/index", ("db",))
    True
    >>> names_file("@/lib/db", "src/routes/a.ts", "src/lib/db", ("db",))
    True
    """
    if module.startswith("."):
        target = posixpath.normpath(posixpath.join(posixpath.dirname(importer), module))
        stem, suffix = posixpath.splitext(target)
        target = stem if suffix in _SCRIPTS else target
        return target in (path, *((posixpath.dirname(path),) if folder else ()), *barrels) or (
            target + "/index" in (path, *barrels))
    names = module_names(module)
    return bool(names) and names[0] in modules


def drizzle_imports(root: Path, modules: dict[str, tuple[Path, Path]] | None = None,
                    ) -> tuple[tuple[DrizzleTable, ...], tuple[tuple[str, str], ...],
                               tuple[tuple[str, str], ...]]:
    """What an import in the project may bind of drizzle's: the tables of its schema files
    (`drizzle_tables`), each specifier of its own packages and name of it that is
    drizzle-orm's `sql` (`sql_reexports`), and, with tables, each specifier of its packages
    and the file it names (relative to the root, without its suffix). `modules`: the
    project's `package_modules`, when the caller has them."""
    if modules is None:
        modules = package_modules(root)
    tables = drizzle_tables(root, modules)
    return tables, sql_reexports(modules), package_files(root, modules) if tables else ()


def package_files(root: Path, modules: dict[str, tuple[Path, Path]],
                  ) -> tuple[tuple[str, str], ...]:
    """Each specifier of the project's own packages (`js_packages.package_modules`) and the
    file it names, relative to `root`, without its suffix (`@acme/db`: `packages/db/src/index`)."""
    try:
        top = root.resolve()
        return tuple((specifier, path.resolve().relative_to(top).with_suffix("").as_posix())
                     for specifier, (_, path) in sorted(modules.items()))
    except (OSError, ValueError):
        return ()


def drizzle_tables(root: Path, modules: dict[str, tuple[Path, Path]] | None = None,
                   ) -> tuple[DrizzleTable, ...]:
    """The tables of the schema files each `drizzle.config.*` of the project names (at its
    root, in a folder of it, or in a workspace's package): an export name declared twice
    with other names is left out."""
    found: dict[str, DrizzleTable | None] = {}
    entries = tuple((package_modules(root) if modules is None else modules).values())
    for config in _configs(root):
        paths, configured = _schema_files(config)
        casings, barrels = _beside(paths, root, entries)
        if casings:
            casing = next(iter(casings)) if len(casings) == 1 else None
        else:  # no client made beside them: drizzle-kit's
            casing = configured if configured in _CASINGS else None
        for path in paths:
            for table in _tables_of(path, root, casing):
                table = _reexported(table, barrels)
                if table.export in found and found[table.export] != table:
                    found[table.export] = None
                else:
                    found[table.export] = table
    return tuple(t for t in found.values() if t is not None)


def _configs(root: Path) -> list[Path]:
    return [folder / name for folder in project_folders(root) for name in _CONFIG_NAMES
            if (folder / name).is_file()]


def casing_name(key: str, casing: str) -> str:
    """The name drizzle-orm 0.45 writes for a column declared without one, by its key and
    the client's `casing` (`""`: none, the key itself).

    >>> [casing_name(k, "snake_case") for k in ("userId", "HTTPServer", "a1B2", "it's")]
    ['user_id', 'http_server', 'a1_b_2', 'its']
    >>> [casing_name(k, "camelCase") for k in ("user_id", "userID", "x__y")]
    ['userId', 'userID', 'xY']
    """
    if casing not in _CASINGS:
        return key
    words = _WORDS.findall(_APOSTROPHES.sub("", key))
    if casing == "snake_case":
        return "_".join(w.lower() for w in words)
    return "".join(w.lower() if i == 0 else w[0].upper() + w[1:] for i, w in enumerate(words))


def _beside(paths: list[Path], root: Path, entries: tuple[tuple[Path, Path], ...] = ()) -> tuple[
        set[str | None], dict[str, list[tuple[str, frozenset[str] | None]]]]:
    """What the files beside the schema files (in their folders and the folders holding
    those, within the project, and the files the entry points of the project's package
    holding them re-export, `export * from './client'`, a literal chain from what its
    importers name) say of them: the `casing` of each drizzle client made there
    (`"snake_case"`, `"camelCase"`, `""` for none, None for one whose options are not seen,
    `drizzle(pool, options)`, `{ ...options }`, and for too many files to look at), and,
    per file (relative to the root, without its suffix), the files re-exporting it and
    which of its names (None: all, `export * from`)."""
    try:
        top = root.resolve()
    except OSError:
        return {None}, {}
    folders: dict[Path, None] = {}
    for folder in dict.fromkeys(f for path in paths for f in (path.parent, path.parent.parent)):
        try:
            folder.resolve().relative_to(top)
        except (OSError, ValueError):
            continue
        folders.setdefault(folder)
    casings: set[str | None] = set()
    barrels: dict[str, list[tuple[str, frozenset[str] | None]]] = {}
    files: dict[Path, None] = {}
    for folder in folders:
        try:
            files.update(dict.fromkeys(sorted(p for p in folder.iterdir()
                                              if p.suffix in _SCRIPTS)))
        except OSError:
            continue
    # the entry points of the packages holding schema files, and what they re-export
    try:
        holding = {f for path in paths for f in path.resolve().parents}
        chain = [entry for package, entry in entries if package.resolve() in holding]
    except OSError:
        chain = []
    looked: set[Path] = set()
    while files or chain:
        path = next(iter(files)) if files else chain.pop()
        files.pop(path, None)
        if path in looked:
            continue
        looked.add(path)
        if len(looked) > _MAX_CLIENT_FILES:
            return {None}, barrels
        try:
            path.resolve().relative_to(top)  # a re-export may lead out of the project
            if not path.is_file() or path.stat().st_size > _MAX_SCHEMA_BYTES:
                continue
            data = path.read_bytes()
        except (OSError, ValueError):
            continue
        if b"drizzle-orm/" in data and _CLIENT_IMPORT.search(data):
            casings |= _casings_of(data, path)
        if _REEXPORT.search(data):
            chain += _reexports(data, path, top, barrels)
    return casings, barrels


def _reexports(data: bytes, path: Path, top: Path,
               barrels: dict[str, list[tuple[str, frozenset[str] | None]]]) -> list[Path]:
    """The modules a file re-exports (`export * from './user.schema.ts'`, `export { a, b }
    from './x'`; a name exported under another is not followed), into `barrels`; the files
    they are."""
    try:
        where = path.resolve().relative_to(top).with_suffix("").as_posix()
    except (OSError, ValueError):
        return []
    files: list[Path] = []
    for module, renamed in _export_froms(data, path):
        if not module.startswith("."):
            continue
        names = frozenset(k for k, v in renamed.items() if k == v) if renamed is not None \
            else None
        target = posixpath.normpath(posixpath.join(posixpath.dirname(where), module))
        stem, suffix = posixpath.splitext(target)
        target = stem if suffix in _SCRIPTS else target
        for schema in (target, target + "/index"):
            barrels.setdefault(schema, []).append((where, names))
        found = source_file(path.parent, module)
        if found is not None:
            files.append(found)
    return files


def _export_froms(data: bytes, path: Path) -> Iterator[tuple[str, dict[str, str] | None]]:
    """Each `export ... from 'module'` of a file: the module, and the names it exports,
    each with the module's name it stands for (None: all of them, `export * from`; `export
    * as ns from` is left out)."""
    from dbsafe.extract.javascript import _parser

    tree = _parser("tsx" if path.suffix in (".tsx", ".jsx") else "typescript").parse(data)
    for node in tree.root_node.named_children:
        source = node.child_by_field_name("source") if node.type == "export_statement" \
            else None
        module = _string(data, source) if source is not None else None
        if module is None:
            continue
        clause = next((c for c in node.named_children if c.type == "export_clause"), None)
        if clause is not None:
            yield module, {_text(data, c.child_by_field_name("alias") or name): _text(data, name)
                           for c in clause.named_children if c.type == "export_specifier"
                           and (name := c.child_by_field_name("name")) is not None}
        elif any(c.type == "*" for c in node.children) and not any(
                c.type == "namespace_export" for c in node.named_children):
            yield module, None


# drizzle-orm's entry points exporting its `sql` tag
_SQL_MODULES = frozenset({"drizzle-orm", "drizzle-orm/sql"})
_MAX_REEXPORT_DEPTH = 4


def sql_reexports(modules: dict[str, tuple[Path, Path]]) -> tuple[tuple[str, str], ...]:
    """Each specifier of the project's own packages (`js_packages.package_modules`) and
    name of it that is drizzle-orm's `sql`, re-exported by a literal chain: `export { sql }
    from 'drizzle-orm'` or `export * from 'drizzle-orm/sql'` in `@acme/db`'s entry point,
    or in a file it re-exports (`export * from './sql'`)."""
    return tuple((specifier, name) for specifier, (_, path) in sorted(modules.items())
                 for name in sorted(_sql_names(path, 0)))


def _sql_names(path: Path, depth: int) -> frozenset[str]:
    """The names a file exports that are drizzle-orm's `sql`."""
    try:
        if path.stat().st_size > _MAX_SCHEMA_BYTES:
            return frozenset()
        data = path.read_bytes()
    except OSError:
        return frozenset()
    if b"export" not in data or b"from" not in data:
        return frozenset()
    names: set[str] = set()
    for module, renamed in _export_froms(data, path):
        if module in _SQL_MODULES or module.startswith("drizzle-orm/"):
            inner = frozenset({"sql"}) if module in _SQL_MODULES or renamed is not None \
                else frozenset()
        elif module.startswith(".") and depth < _MAX_REEXPORT_DEPTH:
            found = source_file(path.parent, module)
            inner = _sql_names(found, depth + 1) if found is not None else frozenset()
        else:
            continue
        names |= inner if renamed is None else {k for k, v in renamed.items() if v in inner}
    return frozenset(names)


def _reexported(table: DrizzleTable, barrels: dict[
        str, list[tuple[str, frozenset[str] | None]]]) -> DrizzleTable:
    """`table` with the files re-exporting it (`_beside`), and those re-exporting them in
    turn, among its paths and modules."""
    extra: tuple[str, ...] = ()
    reached = [table.path]
    while reached:
        for where, names in barrels.get(reached.pop(), ()):
            if (names is None or table.export in names) and where not in extra and \
                    where != table.path:
                extra += (where,)
                reached.append(where)
    if not extra:
        return table
    modules = tuple(dict.fromkeys(table.modules + tuple(
        posixpath.basename(posixpath.dirname(w)) if posixpath.basename(w) == "index"
        else posixpath.basename(w) for w in extra)))
    return replace(table, modules=modules, barrels=extra)


def _casings_of(data: bytes, path: Path) -> set[str | None]:
    """The `casing` of each drizzle client a file makes (`drizzle(pool, { casing:
    'snake_case' })`, `drizzle({ client, casing })`, `drizzle(url)`: `""`), None for one
    whose options are not all seen."""
    from dbsafe.extract.javascript import _parser, _unwrap, _walk

    tree = _parser("tsx" if path.suffix in (".tsx", ".jsx") else "typescript").parse(data)
    nodes = list(_walk(tree.root_node))
    factories: set[str] = set()
    made: dict[str, list[Node]] = {}  # `const pool = new Pool(...)`: what a name is bound to
    for node in nodes:
        if node.type == "import_statement":
            source = node.child_by_field_name("source")
            module = _string(data, source) if source is not None else None
            if module is None or not module.startswith("drizzle-orm/"):
                continue
            for specifier in _walk(node):
                name = specifier.child_by_field_name("name")
                if specifier.type == "import_specifier" and name is not None and (
                        _text(data, name) == "drizzle"):
                    alias = specifier.child_by_field_name("alias") or name
                    factories.add(_text(data, alias))
        elif node.type == "variable_declarator":
            name, value = node.child_by_field_name("name"), node.child_by_field_name("value")
            if name is not None and value is not None and name.type == "identifier":
                made.setdefault(_text(data, name), []).append(_unwrap(value))
    casings: set[str | None] = set()
    for node in nodes:
        function = node.child_by_field_name("function") if (
            node.type == "call_expression") else None
        arguments = node.child_by_field_name("arguments") if function is not None else None
        if function is None or arguments is None or function.type != "identifier" or \
                _text(data, function) not in factories:
            continue
        args = [_unwrap(a) for a in arguments.named_children if a.type != "comment"]
        casing: str | None
        if args and args[-1].type == "object" and all(a.type != "object" for a in args[:-1]):
            casing = _casing_option(data, args[-1])  # `drizzle(pool, {...})`, `drizzle({...})`
        elif len(args) == 1 and _connection(data, args[0], made):
            casing = ""  # `drizzle(pool)`, `drizzle(process.env.DATABASE_URL!)`
        else:
            casing = None  # `drizzle(pool, options)`, `drizzle(config)`
        casings.add(casing)
    return casings


def _connection(data: bytes, node: Node, made: dict[str, list[Node]]) -> bool:
    """Whether the one argument of `drizzle(...)` is a client or a connection string, not
    options: a client made there or bound once in the file to one (`new Pool(...)`,
    `postgres(url)`), a string, or a member naming an environment variable, a URL or a
    client (`process.env.DATABASE_URL!`, `this.pool`)."""
    if node.type == "identifier":
        values = made.get(_text(data, node), [])
        node = values[0] if len(values) == 1 else node
    if node.type in ("new_expression", "call_expression", "string", "template_string"):
        return True
    return node.type == "member_expression" and bool(_CONNECTION_NAME.search(_text(data, node)))


def _casing_option(data: bytes, node: Node) -> str | None:
    """The `casing` an object of a client's options gives, `""` for none; None where it
    is not seen (`{ ...options }`, `casing: value`)."""
    casing = ""
    for child in node.named_children:
        if child.type in ("spread_element", "shorthand_property_identifier") and (
                child.type == "spread_element" or _text(data, child) == "casing"):
            return None
        key, value = child.child_by_field_name("key"), child.child_by_field_name("value")
        if child.type != "pair" or key is None or value is None or \
                _text(data, key).strip("'\"") != "casing":
            continue
        found = _string(data, value)
        if found not in _CASINGS:
            return None
        casing = found
    return casing


def _schema_files(config: Path) -> tuple[list[Path], str | None]:
    """The files `schema` in a drizzle config names (a path, a folder, a glob or a list of
    them), relative to the config's folder, where drizzle-kit is run, and its `casing`."""
    from dbsafe.extract.javascript import _parser, _walk

    try:
        data = config.read_bytes()
    except OSError:
        return [], None
    tree = _parser("typescript").parse(data)
    patterns: list[str] = []
    casing: str | None = None
    for node in _walk(tree.root_node):
        if node.type != "pair":
            continue
        key, value = node.child_by_field_name("key"), node.child_by_field_name("value")
        name = _text(data, key).strip("'\"") if key is not None else ""
        if name == "casing" and value is not None:
            casing = _string(data, value)
        if value is None or name != "schema":
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
    return files[:_MAX_SCHEMA_FILES], casing


CONFIG_NAMES = _CONFIG_NAMES


def configured_out(config: Path) -> Path | None:
    """The folder drizzle-kit writes its migrations to by the drizzle config `config`: its
    `out`, relative to the config's folder, `drizzle` when it names none; None for a config
    of another database (`dialect` other than "postgresql") or one that cannot be read."""
    from dbsafe.extract.javascript import _parser, _walk

    try:
        data = config.read_bytes()
    except OSError:
        return None
    tree = _parser("typescript").parse(data)
    out, dialect = "drizzle", "postgresql"
    for node in _walk(tree.root_node):
        if node.type != "pair":
            continue
        key, value = node.child_by_field_name("key"), node.child_by_field_name("value")
        name = _text(data, key).strip("'\"") if key is not None else ""
        if name in ("out", "dialect") and value is not None:
            text = _string(data, value)
            if name == "out" and text:
                out = text
            elif name == "dialect" and text:
                dialect = text
    return config.parent / out if dialect == "postgresql" else None


def _tables_of(path: Path, root: Path, casing: str | None = None) -> list[DrizzleTable]:
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
    # `const auth = pgSchema('auth')`, here or in a module it imports it from (Latitude's
    # `import { latitudeSchema } from "../schemaHelpers.ts"`)
    schemas: dict[str, str] = _imported_schemas(data, tree.root_node, path)
    tables: list[DrizzleTable] = []
    builders = _builders(data, tree.root_node) if casing is not None else (set(), set())
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
                                       _columns(data, args[1], casing, builders), where))
    return tables


def _imported_schemas(data: bytes, root: Node, path: Path) -> dict[str, str]:
    """The `pgSchema(...)` constants the schema file at `path` imports by name from a module
    of its own (a relative specifier), by their local names: {local name: schema name}."""
    found: dict[str, str] = {}
    for node in root.named_children:
        source = node.child_by_field_name("source") if node.type == "import_statement" \
            else None
        module = _string(data, source) if source is not None else None
        if not module or not module.startswith("."):
            continue
        wanted: dict[str, str] = {}  # exported name: local name
        for clause in node.named_children:
            for named in clause.named_children if clause.type == "import_clause" else ():
                for specifier in named.named_children if named.type == "named_imports" else ():
                    name = specifier.child_by_field_name("name")
                    local = specifier.child_by_field_name("alias") or name
                    if name is not None and local is not None:
                        wanted[_text(data, name)] = _text(data, local)
        target = _module_file(path.parent / module) if wanted else None
        if target is None:
            continue
        declared = _declared_schemas(target)
        found.update((local, declared[name]) for name, local in wanted.items()
                     if name in declared)
    return found


def _module_file(base: Path) -> Path | None:
    """The file a relative specifier names: itself (`./helpers.ts`), with a script suffix
    added, or its folder's index."""
    candidates = [base] if base.suffix in _SCRIPTS else []
    candidates += [base.with_name(base.name + suffix) for suffix in _SCRIPTS]
    candidates += [base / f"index{suffix}" for suffix in _SCRIPTS]
    return next((c for c in candidates if c.is_file()), None)


def _declared_schemas(path: Path) -> dict[str, str]:
    """The `export const x = pgSchema('name')` constants of the module at `path`."""
    from dbsafe.extract.javascript import _parser

    try:
        if path.stat().st_size > _MAX_SCHEMA_BYTES:
            return {}
        data = path.read_bytes()
    except OSError:
        return {}
    if b"pgSchema" not in data:
        return {}
    tree = _parser("tsx" if path.suffix in (".tsx", ".jsx") else "typescript").parse(data)
    found: dict[str, str] = {}
    for name, function, arguments in _constant_calls(data, tree.root_node, exported=True):
        schema = _string(data, arguments.named_children[0]) if (
            function == "pgSchema" and arguments.named_children) else None
        if schema:
            found[name] = schema
    return found


def _constant_calls(data: bytes, root: Node, *, exported: bool
                    ) -> Iterator[tuple[str, str, Node]]:
    """Each `const name = f(...)` at a module's top level (only those it exports, with
    `exported`): the name, the text of `f` and the call's arguments."""
    for node in root.named_children:
        declaration = node.child_by_field_name("declaration") \
            if node.type == "export_statement" else None if exported else node
        if declaration is None or declaration.type != "lexical_declaration":
            continue
        for declarator in declaration.named_children:
            name, value = declarator.child_by_field_name("name"), \
                declarator.child_by_field_name("value")
            if name is None or value is None or value.type != "call_expression":
                continue
            function = value.child_by_field_name("function")
            arguments = value.child_by_field_name("arguments")
            if function is not None and arguments is not None:
                yield _text(data, name), _text(data, function), arguments


def _builders(data: bytes, root: Node) -> tuple[set[str], set[str]]:
    """drizzle's column builders a schema file has: the names it imports from
    `drizzle-orm/pg-core` and its `pgEnum(...)` constants, and the namespaces it imports
    that module as (`import * as p from 'drizzle-orm/pg-core'`: `p.text()`)."""
    names: set[str] = set()
    namespaces: set[str] = set()
    for node in root.named_children:
        if node.type == "import_statement":
            source = node.child_by_field_name("source")
            if source is None or _string(data, source) != "drizzle-orm/pg-core":
                continue
            for clause in node.named_children:
                for named in clause.named_children if clause.type == "import_clause" else ():
                    if named.type == "namespace_import":
                        namespaces.update(_text(data, c) for c in named.named_children
                                          if c.type == "identifier")
                    for specifier in named.named_children if (
                            named.type == "named_imports") else ():
                        local = specifier.child_by_field_name("alias") or \
                            specifier.child_by_field_name("name")
                        if specifier.type == "import_specifier" and local is not None:
                            names.add(_text(data, local))
    # (imports are hoisted: a `pgEnum` constant counts wherever the module imports it)
    if "pgEnum" in names:
        names.update(name for name, function, _ in _constant_calls(data, root, exported=False)
                     if function == "pgEnum")
    return names, namespaces


def _columns(data: bytes, node: Node, casing: str | None = None,
             builders: tuple[set[str], set[str]] = (set(), set()),
             ) -> tuple[tuple[str, str], ...]:
    """`{ userId: integer('user_id').notNull() }` (or `(t) => ({ ... })`, drizzle's
    callback form): each key whose column builder is given the column's name, and, with
    the client's `casing` known, each whose drizzle builder is not (`userId: integer()`,
    `text({ enum: [...] })`), named as drizzle-orm names it (`casing_name`)."""
    names, namespaces = builders
    if node.type == "arrow_function":
        parameter = node.child_by_field_name("parameter")
        if parameter is None:
            parameters = node.child_by_field_name("parameters")
            first = parameters.named_children[0] if parameters is not None and (
                parameters.named_children) else None
            parameter = first.child_by_field_name("pattern") if first is not None and (
                first.type == "required_parameter") else first
        if parameter is not None and parameter.type == "identifier":
            namespaces = namespaces | {_text(data, parameter)}
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
        field = _string(data, key) or _text(data, key)
        if name:
            columns.append((field, _quoted(name)))
        elif casing is not None and (not args or name == "" or args[0].type == "object") \
                and _builder(data, call, names, namespaces):
            columns.append((field, _quoted(casing_name(field, casing))))
    return tuple(columns)


def _builder(data: bytes, call: Node, names: set[str], namespaces: set[str]) -> bool:
    """Whether a call is of one of drizzle's column builders (`integer()`, `t.integer()`)."""
    function = call.child_by_field_name("function")
    if function is not None and function.type == "identifier":
        return _text(data, function) in names
    owner = function.child_by_field_name("object") if function is not None and (
        function.type == "member_expression") else None
    return owner is not None and owner.type == "identifier" and _text(data, owner) in namespaces


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

"""The string constants the project's JS/TS modules export, as the imports of them resolve.

A project often names its tables once, in a module the others import: makerkit's kits
(`export const USERS_TABLE = \\`users\\`` in `src/lib/db-tables.ts`, then `import {
USERS_TABLE } from '~/lib/db-tables'` and `client.from(USERS_TABLE)`), dash's TypeScript
enum of another folder (`export enum TABLES { USERS = "users" }`, then `${sql(TABLES.USERS)}`
through the `@shared/*` alias). What such an import binds is the string the module exports,
whichever module reads it (`javascript._Reader._imported_constant`): a misspelt table
through the constant is a finding at the read, as a literal would be.

A module's exports read (tree-sitter, `_file_facts`), each a string of names only
(`python.names_only`: `users`, `public.users`, `id, name`) and one nothing can change:

- `export const X = 'users'` (or a template literal without `${...}`, `as const` too), and
  `export { X, X as Y }` of a top-level `const` of the module; never an `export let`/`var`;
- the members of an object literal `export const TABLES = { USERS: 'users' } as const`
  (nested ones too, `TABLES.auth.USERS`), `as const` making every one read-only; of
  `Object.freeze({...})` its own members only (a nested object stays writable); a member
  after the last spread only (a spread may give the key again);
- the string members of a TypeScript `enum` (`const enum` too), `TABLES.USERS`; an enum
  declared twice in the module (declarations merge) is left out;
- what it re-exports: `export { X } from './tables'`, `export { X as Y } from ...`, `export *
  from ...` (a name two `export *` give is neither's, as in ECMAScript, and the module's
  own exports win), and a name it imports and exports again (`import { X } from ...;
  export { X }`).

Not read: CommonJS (`module.exports = { X: 'users' }`, `exports.X = ...`), a default
export, `export * as ns from ...`, `declare` statements and `.d.ts` files (no values), a
value built from anything but literals (`'a' + 'b'`, another module's constant in an object
literal), an object literal without `as const` or `Object.freeze` (any module may assign
its members), and a string with an escape sequence.

An import specifier names a file as TypeScript resolves it (`JsConstants.resolve`): a
relative one (`./tables`, `../lib/tables.js`: a script suffix is the source's, TypeScript's
`.js` for `.ts`), else through the `paths` (then `baseUrl`) of the nearest `tsconfig.json`
(or `jsconfig.json`) above the importing file, following its relative `extends` (`paths`
relative to the `baseUrl` in effect, else to the file declaring them), else the project's
own workspace package of that name (`js_packages.package_modules`: `main`, `exports`,
`types` to a source file). A folder is its `index` where no file has the folder's name.

Each file's facts (and each `tsconfig.json`'s options) are kept by the caller by size and
modification time (`memo`), so that a run with nothing changed reads none of them again.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dbsafe.extract.files import kept_entry

if TYPE_CHECKING:
    from tree_sitter import Node

# A module of constants is small; a larger file is not read (Supabase's generated types,
# 1.8 MB in justicehub-platform, end in `export const Constants = {...} as const`, which
# tree-sitter took 1.5 s of CPU to parse for no string)
_MAX_BYTES = 256 << 10
_MAX_VALUE = 200  # (a longer string is no table's or columns' name)
_SCRIPTS = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")
_CONFIGS = ("tsconfig.json", "jsconfig.json")
_EXTENDS_DEPTH = 6
# A module that may export a constant or re-export one: read with tree-sitter only then
# (most modules export functions and components, `export const Button = (...) =>`).
# (No leading `\b`: a literal prefix lets the regex engine skip to each `export`, 7 times
# faster over justicehub-platform's 21 MB.)
# A string of names (`python.names_only`), not Next.js's `export const dynamic =
# 'force-dynamic'` of every page.
_MAY_EXPORT = re.compile(
    rb"""export\s+(?:const\s+[\w$]+\s*(?::[^=;\n]*)?=\s*"""
    rb"""(?:(['`])[\w$.,\s"]+\1|"[\w$.,\s]+")"""
    rb"""|(?:const\s+)?enum\s"""
    rb"""|\*\s*from\b|\{[^}]*\}\s*from\b)""")
_FROZEN = re.compile(rb"as\s+const\b|Object\.freeze\s*\(")
_OBJECT_EXPORT = re.compile(rb"""export\s+const\s+[\w$]+\s*(?::[^=;\n]*)?=\s*(?:\{|Object\.)""")
_LOCAL_EXPORT = re.compile(rb"""export\s*\{""")
# A top-level `const` of a string, an object or a call, or an enum: what `export { X }`
# may export of the module's own.
_TOP_LEVEL = re.compile(
    rb"""^(?:const\s+[\w$]+\s*(?::[^=;\n]*)?=\s*(?:['"`{]|Object\.)|(?:const\s+)?enum\s"""
    rb"""|import\s+\{)""", re.MULTILINE)
_WRAPPERS = ("as_expression", "satisfies_expression", "parenthesized_expression",
             "non_null_expression")

# One module's facts: [export name ("X", "TABLES.USERS"), value] and [specifier, name
# ("*" for `export *`), the name it is exported as].
_Facts = dict


@dataclass(frozen=True, slots=True)
class TsConfig:
    """The module resolution options of one `tsconfig.json`/`jsconfig.json` (its folder
    relative to the project's root, "" for the root): `base`, its `baseUrl` (None: none),
    and its `paths`, each pattern with its targets, relative to the root."""

    folder: str
    base: str | None = None
    paths: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True, slots=True)
class JsConstants:
    """The string constants the project's modules export (`values`: each module, relative
    to the project's root without its suffix, with its exports by name), and what resolves
    an import specifier to a module (`configs`, `packages`: each specifier of the
    project's own packages with its module). Made by `js_constants`."""

    values: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    configs: tuple[TsConfig, ...] = ()
    packages: tuple[tuple[str, str], ...] = ()
    # the configs read (relative to the root), those `extends` names too: what a memo keeps
    config_files: tuple[str, ...] = field(default=(), repr=False, compare=False, hash=False)
    _by_module: dict[str, dict[str, str]] = field(default_factory=dict, init=False,
                                                  repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        self._by_module.update((module, dict(exports)) for module, exports in self.values)

    def __bool__(self) -> bool:
        return bool(self.values)

    def value(self, importer: str, module: str, name: str) -> str | None:
        """The string `import ... from module` in the file `importer` (relative to the
        root) binds as `name` (`USERS_TABLE`, `TABLES.USERS`), if a module of the project
        exports one.

        >>> c = JsConstants((("src/lib/db-tables", (("USERS_TABLE", "users"),)),),
        ...                 (TsConfig("", ".", (("~/*", ("src/*",)),)),))
        >>> c.value("src/app/queries.ts", "~/lib/db-tables", "USERS_TABLE")
        'users'
        >>> c.value("src/lib/user.ts", "./db-tables", "USERS_TABLE")
        'users'
        >>> c.value("src/lib/user.ts", "./db-tables", "OTHER") is None
        True
        """
        found = self.resolve(importer, module, self._by_module.__contains__)
        return self._by_module[found].get(name) if found is not None else None

    def resolve(self, importer: str, module: str, exists: Callable[[str], bool],
                folders: bool = False) -> str | None:
        """The module (relative to the root, without its suffix) `import ... from module`
        in the file `importer` names, of those `exists` says are; with `folders`, the
        `index` of a folder too where no module has the folder's name."""
        for candidate in self._candidates(importer, module):
            candidate = posixpath.normpath(candidate)
            if candidate == ".." or candidate.startswith(("../", "/")):
                continue
            stem, suffix = posixpath.splitext(candidate)
            stem = stem if suffix in _SCRIPTS else candidate
            if exists(stem):
                return stem
            if folders and exists(f"{stem}/index"):
                return f"{stem}/index"
        return None

    def _candidates(self, importer: str, module: str) -> list[str]:
        if module.startswith("."):
            return [posixpath.join(posixpath.dirname(importer), module)]
        if module.startswith("/") or ":" in module:
            return []
        config = self._config_of(importer)
        found: list[str] = []
        if config is not None:
            best: tuple[int, tuple[str, ...], str] | None = None
            for pattern, targets in config.paths:
                prefix, star, suffix = pattern.partition("*")
                if not star:
                    if module == pattern:
                        best = (len(pattern) + 1, targets, "")
                        break
                    continue
                if module.startswith(prefix) and module.endswith(suffix) and (
                        len(module) >= len(prefix) + len(suffix)) and (
                        best is None or len(prefix) > best[0]):
                    best = (len(prefix), targets, module[len(prefix):len(module) - len(suffix)])
            if best is not None:
                found = [t.replace("*", best[2]) for t in best[1]]
            elif config.base is not None:
                found = [posixpath.join(config.base, module)]
        found += [m for specifier, m in self.packages if specifier == module]
        return found

    def _config_of(self, importer: str) -> TsConfig | None:
        """The nearest config above the file `importer`."""
        folder = posixpath.dirname(importer)
        by_folder = {c.folder: c for c in self.configs}
        while True:
            if folder in by_folder:
                return by_folder[folder]
            if not folder:
                return None
            folder = posixpath.dirname(folder)

    def key(self) -> str:
        """A stable text for the cache of results."""
        return repr((self.values, self.configs, self.packages))


def js_constants(files: Sequence[tuple[str, str]], root: Path,
                 packages: Sequence[tuple[str, str]] = (),
                 memo: dict[str, list[object]] | None = None) -> JsConstants:
    """The string constants the project's modules export (`files`: (path, path relative
    to the root) of the project's files), with what resolves an import of one; `packages`:
    each specifier of the project's own packages with its file (relative to the root,
    without its suffix, `drizzle_schema.package_files`). `memo` (kept by the caller between
    runs): each file's facts by its path relative to the root, with the size and
    modification time it was read at.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = Path(d, "tables.ts").write_text("export const USERS = 'users';\\n"
    ...         "export let DRAFT = 'drafts';\\n"
    ...         "export enum T { A = 'accounts', N = 2 }\\n")
    ...     _ = Path(d, "index.ts").write_text("export * from './tables';\\n")
    ...     js_constants([(str(Path(d, n)), n) for n in ("index.ts", "tables.ts")],
    ...                  Path(d)).values
    (('index', (('T.A', 'accounts'), ('USERS', 'users'))), ('tables', (('T.A', 'accounts'), ('USERS', 'users'))))
    """
    scripts: dict[str, list[_Facts]] = {}
    folders: set[str] = set()
    for path, display in files:
        rel = display.replace(os.sep, "/")
        if not rel.endswith(_SCRIPTS) or rel.endswith((".d.ts", ".d.mts", ".d.cts")):
            continue
        folders.add(posixpath.dirname(rel))
        facts = _file_facts(path, rel, memo)
        scripts.setdefault(posixpath.splitext(rel)[0], []).append(facts or {})
    read: list[str] = []
    configs = _configs(root, folders, memo, read) if scripts else ()
    resolver = JsConstants((), configs, tuple(packages))
    exists = scripts.__contains__
    done: dict[str, dict[str, str]] = {}

    def exports(module: str, seen: frozenset[str]) -> dict[str, str]:
        if module in done:
            return done[module]
        if module in seen:
            return {}
        seen |= {module}
        own: dict[str, str | None] = {}
        starred: dict[str, str | None] = {}
        for facts in scripts.get(module, ()):
            for name, value in facts.get("c", ()):
                own[name] = value if own.get(name, value) == value else None
            for specifier, name, alias in facts.get("r", ()):
                target = resolver.resolve(module, specifier, exists, folders=True)
                if target is None:
                    continue
                given = exports(target, seen)
                into = starred if name == "*" else own
                for key, value in given.items():
                    if name == "*":
                        renamed = key
                    elif key == name or key.startswith(name + "."):
                        renamed = alias + key[len(name):]
                    else:
                        continue
                    into[renamed] = value if into.get(renamed, value) == value else None
        for key, value in starred.items():
            own.setdefault(key, value)
        found = {k: v for k, v in own.items() if v is not None}
        done[module] = found
        return found

    values: dict[str, tuple[tuple[str, str], ...]] = {}
    for module in sorted(scripts):
        found = exports(module, frozenset())
        if found:
            values[module] = tuple(sorted(found.items()))
    for module in list(values):
        # `import ... from './tables'` of `tables/index.ts`, where no `tables.ts` is
        if module.endswith("/index") and module[:-6] not in scripts:
            values.setdefault(module[:-6], values[module])
    return JsConstants(tuple(sorted(values.items())), configs, tuple(packages), tuple(read))


def _file_facts(path: str, rel: str, memo: dict[str, list[object]] | None) -> _Facts | None:
    """What one module exports of string constants (`constant_facts`), from `memo` while
    the file's size and modification time are those it was read at; None for none."""
    seen = kept_entry(memo, rel, path)
    if seen is None:
        return None
    stamp, known = seen
    if known is not None:
        return known[2] if isinstance(known[2], dict) else None
    facts: _Facts | None = None
    try:
        with open(path, "rb") as file:
            data = file.read(_MAX_BYTES + 1)
    except OSError:
        data = b""
    if len(data) <= _MAX_BYTES and _may_export(data):
        facts = constant_facts(data, rel) or None
    if memo is not None:
        memo[rel] = [*stamp, facts]
    return facts


def _may_export(data: bytes) -> bool:
    """Whether a module's bytes may export a constant (`_MAY_EXPORT`): a string, an enum, a
    frozen object literal, a re-export, or a name it exports in a list."""
    if _MAY_EXPORT.search(data) is not None:
        return True
    if _FROZEN.search(data) is not None and _OBJECT_EXPORT.search(data) is not None:
        return True
    return _LOCAL_EXPORT.search(data) is not None and _TOP_LEVEL.search(data) is not None


def constant_facts(data: bytes, path: str) -> _Facts:
    """The string constants a module exports (`c`: [name, value]) and what it re-exports
    (`r`: [specifier, name or `*`, name exported as]); {} for none.

    >>> constant_facts(b"export const A = `users`; export let B = 'b';\\n"
    ...     b"export const O = { X: 'x', n: { Y: 'y' } } as const;\\n"
    ...     b"const L = 'l'; export { L as M }; export * from './t';", "a.ts")
    {'c': [['A', 'users'], ['O.X', 'x'], ['O.n.Y', 'y'], ['M', 'l']], 'r': [['./t', '*', '*']]}
    """
    from dbsafe.extract.javascript import _grammar, _parser

    root = _parser(_grammar(path)).parse(data).root_node
    reader = _Module(data)
    return reader.read(root)


class _Module:
    """One module's top level, read for its exported constants."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        # top-level names: each `const` string or object's values (name -> [(path,
        # value)]), each enum's members, what an import binds ((specifier, name)); a name
        # bound twice is None
        self.locals: dict[str, list[tuple[str, str]] | None] = {}
        self.imports: dict[str, tuple[str, str] | None] = {}

    def text(self, node: Node) -> str:
        return self.data[node.start_byte:node.end_byte].decode("utf-8", "replace")

    def read(self, root: Node) -> _Facts:
        exported: list[tuple[str, str]] = []  # (local name, exported as)
        reexports: list[list[str]] = []
        for statement in root.named_children:
            if statement.type == "import_statement":
                self._import(statement)
                continue
            if statement.type != "export_statement":
                self._declare(statement, None)
                continue
            source = statement.child_by_field_name("source")
            declaration = statement.child_by_field_name("declaration")
            if declaration is not None:
                exported += [(n, n) for n in self._declare(declaration, declaration)]
                continue
            if any(c.type == "default" for c in statement.children):
                continue
            clause = next((c for c in statement.named_children if c.type == "export_clause"),
                          None)
            if source is not None and source.type == "string":
                specifier = _plain_string(self, source)
                if specifier is None:
                    continue
                if clause is None:
                    if any(c.type == "*" for c in statement.children) and not any(
                            c.type == "namespace_export" for c in statement.named_children):
                        reexports.append([specifier, "*", "*"])
                    continue
                for name, alias in self._specifiers(clause):
                    reexports.append([specifier, name, alias])
            elif clause is not None:
                exported += self._specifiers(clause)
        constants: list[list[str]] = []
        for name, alias in exported:
            values = self.locals.get(name)
            imported = self.imports.get(name)
            if values:
                constants += [[alias + path, value] for path, value in values]
            elif imported is not None and name not in self.locals:
                reexports.append([imported[0], imported[1], alias])
        facts: _Facts = {}
        if constants:
            facts["c"] = constants
        if reexports:
            facts["r"] = reexports
        return facts

    def _specifiers(self, clause: Node) -> list[tuple[str, str]]:
        found = []
        for specifier in clause.named_children:
            name = specifier.child_by_field_name("name")
            alias = specifier.child_by_field_name("alias") or name
            if specifier.type == "export_specifier" and name is not None and alias is not None:
                found.append((self.text(name).strip("'\""), self.text(alias).strip("'\"")))
        return found

    def _import(self, statement: Node) -> None:
        source = statement.child_by_field_name("source")
        specifier = _plain_string(self, source) if source is not None else None
        for clause in statement.named_children:
            if clause.type != "import_clause":
                continue
            for named in clause.named_children:
                if named.type == "identifier":
                    self._bind_import(self.text(named), None)
                elif named.type == "namespace_import":
                    for local in named.named_children:
                        self._bind_import(self.text(local), None)
                for item in named.named_children if named.type == "named_imports" else ():
                    name = item.child_by_field_name("name")
                    alias = item.child_by_field_name("alias") or name
                    if item.type == "import_specifier" and name is not None and (
                            alias is not None):
                        self._bind_import(self.text(alias), (specifier, self.text(name))
                                          if specifier is not None else None)

    def _bind_import(self, name: str, what: tuple[str, str] | None) -> None:
        self.imports[name] = None if name in self.imports else what

    def _declare(self, declaration: Node, exported: Node | None) -> list[str]:
        """Note the top-level names `declaration` binds; the names it exports (`exported`)
        whose values are read."""
        names: list[str] = []
        if declaration.type == "lexical_declaration":
            const = declaration.child(0) is not None and declaration.child(0).type == "const"
            for declarator in declaration.named_children:
                name = declarator.child_by_field_name("name")
                if declarator.type != "variable_declarator" or name is None:
                    continue
                if name.type != "identifier":
                    for inner in _identifiers(name):
                        self.locals[self.text(inner)] = None
                    continue
                key = self.text(name)
                value = declarator.child_by_field_name("value")
                found = self._values(value) if const and value is not None else None
                self.locals[key] = None if key in self.locals else (found or [])
                names.append(key)
        elif declaration.type == "enum_declaration":
            name, body = declaration.child_by_field_name("name"), \
                declaration.child_by_field_name("body")
            if name is not None and body is not None:
                key = self.text(name)
                self.locals[key] = None if key in self.locals else self._members(body)
                names.append(key)
        else:
            # (a function, a class, a namespace of the name: no constant)
            name = declaration.child_by_field_name("name")
            if name is not None and name.type in ("identifier", "type_identifier"):
                self.locals[self.text(name)] = None
            if declaration.type in ("variable_declaration", "ambient_declaration"):
                for inner in _identifiers(declaration):
                    if inner.parent is not None and inner.parent.type == "variable_declarator":
                        self.locals[self.text(inner)] = None
        return names if exported is not None else []

    def _values(self, value: Node) -> list[tuple[str, str]] | None:
        """The strings a `const`'s value holds: ("", the string), or each member of a
        read-only object literal ("." + its path, the string)."""
        frozen = False
        while value.type in _WRAPPERS:
            if value.type == "as_expression" and value.named_child_count == 1 and any(
                    c.type == "const" for c in value.children):
                frozen = True
            value = value.named_children[0]
        string = _plain_string(self, value)
        if string is not None:
            return [("", string)] if _names(string) else None
        if value.type == "identifier":
            local = self.locals.get(self.text(value))
            return [p for p in local if p[0] == ""] or None if local else None
        if value.type == "call_expression":
            function, arguments = value.child_by_field_name("function"), \
                value.child_by_field_name("arguments")
            if function is None or arguments is None or self.text(function) != \
                    "Object.freeze" or arguments.named_child_count != 1:
                return None
            literal = arguments.named_children[0]
            return self._object(literal, deep=False) if literal.type == "object" else None
        if value.type == "object" and frozen:
            return self._object(value, deep=True)
        return None

    def _object(self, literal: Node, *, deep: bool) -> list[tuple[str, str]]:
        found: dict[str, str] = {}
        for entry in literal.named_children:
            if entry.type in ("spread_element", "method_definition"):
                found.clear()  # (a spread may give any key before it again)
                continue
            if entry.type != "pair":
                continue
            key, value = entry.child_by_field_name("key"), entry.child_by_field_name("value")
            if key is None or value is None:
                continue
            if key.type == "property_identifier":
                name = self.text(key)
            elif key.type == "string":
                name = _plain_string(self, key) or ""
            else:
                continue  # a computed key
            for path in [p for p in found if p == name or p.startswith(name + ".")]:
                del found[path]
            while value.type in _WRAPPERS:
                value = value.named_children[0]
            string = _plain_string(self, value)
            if string is not None and _names(string):
                found[name] = string
            elif value.type == "identifier":
                local = self.locals.get(self.text(value)) or []
                found.update((name + p, v) for p, v in local if p == "")
            elif value.type == "object" and deep:
                found.update((name + p, v) for p, v in self._object(value, deep=True))
        return [("." + path, value) for path, value in found.items()]

    def _members(self, body: Node) -> list[tuple[str, str]]:
        found = []
        for member in body.named_children:
            if member.type != "enum_assignment":
                continue
            name, value = member.child_by_field_name("name"), member.child_by_field_name(
                "value")
            string = _plain_string(self, value) if value is not None else None
            if name is not None and string is not None and _names(string):
                key = self.text(name) if name.type == "property_identifier" else (
                    _plain_string(self, name) or "")
                if key:
                    found.append(("." + key, string))
        return found


def _plain_string(module: _Module, node: Node) -> str | None:
    """The text of a string or substitution-free template literal without an escape."""
    if node.type not in ("string", "template_string") or any(
            c.type != "string_fragment" for c in node.named_children):
        return None
    return "".join(module.text(c) for c in node.named_children)


def _names(text: str) -> bool:
    from dbsafe.extract.python import names_only

    return len(text) <= _MAX_VALUE and names_only(text)


def _identifiers(node: Node) -> Iterable[Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type in ("identifier", "shorthand_property_identifier_pattern"):
            yield current
        stack.extend(current.named_children)


def _configs(root: Path, folders: Iterable[str], memo: dict[str, list[object]] | None,
             read: list[str]) -> tuple[TsConfig, ...]:
    """The `tsconfig.json` (else `jsconfig.json`) of each folder holding a module, or
    above it within the project, with its module resolution options; each config read
    (those `extends` names too) added to `read`."""
    looked: dict[str, str | None] = {}
    for folder in sorted(folders):
        while folder not in looked:
            here = os.path.join(root, folder) if folder else os.fspath(root)
            looked[folder] = next((posixpath.join(folder, name) for name in _CONFIGS
                                   if os.path.isfile(os.path.join(here, name))), None)
            if not folder:
                break
            folder = posixpath.dirname(folder)
    found = []
    for _, config in sorted(looked.items()):
        if config is not None:
            found.append(_config(root, config, memo, read))
    return tuple(found)


def _config(root: Path, rel: str, memo: dict[str, list[object]] | None,
            read: list[str]) -> TsConfig:
    """One config's `baseUrl` and `paths`, through its relative `extends`."""
    base: str | None = None
    paths: dict[str, list[str]] | None = None
    paths_from = ""
    chain: list[tuple[str, dict]] = []
    current: str | None = rel
    while current is not None and len(chain) < _EXTENDS_DEPTH:
        options = _options(root, current, memo)
        read.append(current)
        chain.append((current, options))
        extends = options.get("e")
        extends = extends[-1] if isinstance(extends, list) and extends else extends
        current = None
        if isinstance(extends, str) and extends.startswith("."):
            target = posixpath.normpath(posixpath.join(posixpath.dirname(chain[-1][0]),
                                                       extends))
            if not target.endswith(".json"):
                target += ".json"
            if not target.startswith("..") and target not in (c for c, _ in chain):
                current = target
    for where, options in reversed(chain):  # (the base first: the config overrides it)
        folder = posixpath.dirname(where)
        if isinstance(options.get("b"), str):
            base = posixpath.normpath(posixpath.join(folder, options["b"]))
        if isinstance(options.get("p"), dict):
            paths, paths_from = options["p"], folder
    mapped: list[tuple[str, tuple[str, ...]]] = []
    for pattern, targets in (paths or {}).items():
        if not isinstance(targets, list) or pattern.count("*") > 1:
            continue
        mapped.append((pattern, tuple(
            posixpath.normpath(posixpath.join(base if base is not None else paths_from, t))
            for t in targets if isinstance(t, str) and t.count("*") <= 1)))
    folder = posixpath.dirname(rel)
    return TsConfig("" if folder == "." else folder,
                    None if base is None else ("" if base == "." else base),
                    tuple(sorted(mapped)))


def _options(root: Path, rel: str, memo: dict[str, list[object]] | None) -> dict:
    """A config's `baseUrl` (`b`), `paths` (`p`) and `extends` (`e`), kept in `memo` by
    the file's stat; {} for a file that cannot be read."""
    path = os.path.join(root, rel)
    seen = kept_entry(memo, rel, path)
    if seen is None:
        return {}
    stamp, known = seen
    if known is not None and isinstance(known[2], dict):
        return known[2]
    try:
        with open(path, encoding="utf-8-sig") as file:
            text = file.read()
        try:
            loaded = json.loads(text)
        except ValueError:  # comments, trailing commas: JSONC, which json5 reads
            import json5

            loaded = json5.loads(text)
    except (OSError, ValueError, RecursionError):
        loaded = {}
    compiler = loaded.get("compilerOptions") if isinstance(loaded, dict) else None
    compiler = compiler if isinstance(compiler, dict) else {}
    options = {k: v for k, v in (("b", compiler.get("baseUrl")), ("p", compiler.get("paths")),
                                 ("e", loaded.get("extends") if isinstance(loaded, dict)
                                  else None)) if v is not None}
    if memo is not None:
        memo[rel] = [*stamp, options]
    return options

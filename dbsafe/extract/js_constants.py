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

- a default export (`export default { USERS: 'users' }`, `export default TABLES`), as
  `default` (`default.USERS`: `import T from './tables'`, then `T.USERS`), and `export * as
  ns from ...` (`ns.USERS`);
- CommonJS (in a module with no ESM export): what `module.exports = {...}` (or a `const`
  object, or `require('./other')`), `module.exports.X = ...` and `exports.X = ...` leave in
  the exports, in the order Node runs them at the module's top level (`exports.X` after
  `module.exports` is replaced exports nothing), each member also under `default.` (what an
  `import T from` binds of a CommonJS module); a key assigned anywhere else (in a function,
  a branch: `if (test) exports.T = 'test_users'`, through a computed key, `delete`,
  `Object.assign(module.exports, ...)`) is not read, nor any when `module.exports` or
  `exports` itself is (`exports = module.exports = ...`);
- a module writing both (`export const X = ...` and `module.exports.Y = ...`), as Babel or
  tsc compile it to CommonJS, the only way it loads (`_Module._mixed`): the CommonJS keys
  join the ESM exports, or a top-level `module.exports = V` leaves V's alone; never under
  `default.`, which the compiler's options decide.

An object literal's members are read where it is `as const` or `Object.freeze`d, and, in
JavaScript (which has no `as const`) and for CommonJS exports, a plain object literal's
too, since such a module's constants are written so (`module.exports = { TABLES: {...}
}`): any module may assign them, so a member whose key some module of the project writes
through what an import or `require` binds (`T.USERS = ...`, `delete T.USERS`, `T[k] = ...`
and `Object.assign(T, ...)` any key: `_written_keys`, each module's bytes), or through a
name given it or a member of it (`const t = T.tables; t.USERS = ...`), is left out, and
so is every member of an object the module itself writes (`TABLES.USERS = ...`). A member
after a spread, a method or a computed key of the literal is read, one before them not
(they may give its key again).

Not read: `declare` statements and `.d.ts` files (no values), a value built from anything
but literals (`'a' + 'b'`, another module's constant in an object literal), a TypeScript
object literal without `as const` or `Object.freeze` (any module may assign its members),
a string with an escape sequence, and a `let`/`var` bound to a `require` (which may be
assigned again).

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
from typing import TYPE_CHECKING, Any

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
# CommonJS exports (`module.exports = {...}`, `exports.USERS = ...`), read where the module
# holds a string of names a key or a `const` is given, or a relative `require` (what it
# exports whole: `module.exports = { tables: require('./tables') }`)
# exports a literal, a frozen object, a module whole, or names a top-level `const` holds (a
# string or an object literal; a `require` of a module of the project that it exports)
_COMMON = re.compile(rb"""exports(?:\s*\.\s*[\w$]+)?\s*=(?![=>])""")
_COMMON_LITERAL = re.compile(
    rb"""module\.exports\s*=\s*(?:\{[^}]*?[\w$'"]\s*:\s*['"`]|require\s*\(|Object\.freeze\b)"""
    rb"""|exports\.[\w$]+\s*=\s*(?:['"`]|require\s*\(|\{|Object\.freeze\b)""")
_TOP_LEVEL_CONST = re.compile(
    rb"""^const\s+([\w$]+)\s*=\s*(?:(['`])[\w$.,\s"]+\2|"[\w$.,\s]+"|\{|Object\.freeze\b"""
    rb"""|require\s*\(\s*['"`]\.)""", re.MULTILINE)
_COMMON_NAMES = re.compile(
    rb"""module\.exports\s*=\s*(?:\{([^}]*)\}|([\w$]+))|exports\.[\w$]+\s*=\s*([\w$]+)""")
# a default export of a literal, of a name (with a top-level `const` of a string or object),
# and `export * as ns from ...`
_DEFAULT_EXPORT = re.compile(
    rb"""export\s+default\s+(?:\{|['"`]|Object\.freeze\b)|export\s*\*\s*as\s""")
_DEFAULT_NAME = re.compile(rb"""export\s+default\s+[\w$]+\s*(?:;|$)""", re.MULTILINE)
# What an import or `require` binds (`const T = require('./tables')`, `import T, { U } from`,
# `import * as T from`), whose members a module may write (`_written_keys`)
_PATTERN = rb"""(?:([\w$]+)|\{((?:[^{}]|\{[^{}]*\})*)\})"""
_BINDS = re.compile(
    rb"""\b(?:const|let|var)\s+""" + _PATTERN + rb"""\s*=\s*(?:await\s+)?require\s*\("""
    rb"""|\bimport\s+(?:type\s+)?(?:([\w$]+)\s*,?\s*)?(?:\{([^}]*)\}|\*\s*as\s+([\w$]+))?"""
    rb"""\s*from\s*['"]""")
_WORD = re.compile(rb"""[A-Za-z_$][\w$]*""")
# a name given what another holds, or a member of it (`const t = constants.tables;`, `const
# { user } = t`, `x = t.user`), read backwards from that other name (`_aliases`): writes
# through it are writes of what the other holds
_LOOKBACK = 400
_MEMBER = rb"""(?:\s*(?:\.\s*[\w$]+|\[[^\]\n]*\]))+"""
_ASSIGN = rb"""\s*(?:\+\+|--|(?:[-+*/%&|^]|\*\*|<<|>>>?|&&|\|\||\?\?)?=(?![=>]))"""
_WRITE_TAIL = re.compile(rb"(?![\w$])(" + _MEMBER + rb")(" + _ASSIGN + rb")?")
_NAME_BYTE = re.compile(rb"[\w$.]")
# what writes `module.exports`, `exports` or a member of them, anywhere
_EXPORTS_WRITE = re.compile(
    rb"(?<![\w$.])(?:(?:delete|\+\+|--)\s*)?(module\s*\.\s*exports|exports)(?![\w$])((?:\s*(?:"
    rb"\.\s*[\w$]+|\[[^\]\n]*\]))*)(" + _ASSIGN + rb")?")
_WRITER_CALL = re.compile(rb"\b(?:Object|Reflect)\.(?:assign|define\w*|setPrototypeOf|set|"
                          rb"deleteProperty)\s*\(\s*((?:module\s*\.\s*)?[A-Za-z_$][\w$]*)")
_DELETED = re.compile(rb"""(?:\bdelete|\+\+|--)\s*$""")
_KEY = re.compile(rb"""\.\s*([\w$]+)|\[\s*(?:'([^'\n]*)'|"([^"\n]*)"|[^\]]*)\]""")
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
    # the keys some module writes through what an import or `require` binds (`T.USERS =
    # ...`; "*": any key): a member of an object any module may assign, of those, is no
    # constant
    written = {key for facts in (f for fs in scripts.values() for f in fs)
               for key in facts.get("w", ())}

    def exports(module: str, seen: frozenset[str]) -> dict[str, str]:
        if module in done:
            return done[module]
        if module in seen:
            return {}
        seen |= {module}
        own: dict[str, str | None] = {}
        starred: dict[str, str | None] = {}
        for facts in scripts.get(module, ()):
            for name, value, *writable in facts.get("c", ()):
                if writable and ("*" in written or not written.isdisjoint(name.split("."))):
                    continue
                own[name] = value if own.get(name, value) == value else None
            for specifier, name, alias in facts.get("r", ()):
                target = resolver.resolve(module, specifier, exists, folders=True)
                if target is None:
                    continue
                given = exports(target, seen)
                into = starred if name == "*" else own
                for key, value in given.items():
                    if name == "*":  # (`export *` gives no default export)
                        if key == "default" or key.startswith("default."):
                            continue
                        renamed = key
                    elif not name:  # the module whole, as `alias` (`export * as ns`)
                        renamed = f"{alias}.{key}" if alias else key
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
    if len(data) <= _MAX_BYTES:
        facts = constant_facts(data, rel) if _may_export(data) else {}
        writes = _written_keys(data)
        if writes:
            facts["w"] = writes
        facts = facts or None
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
    if _DEFAULT_EXPORT.search(data) is not None:
        return True
    if _COMMON.search(data) is not None:
        if _COMMON_LITERAL.search(data) is not None:
            return True
        # `module.exports = { USERS_TABLE, pool, tables }` of a top-level `const
        # USERS_TABLE = 'users'`, `const tables = require('./tables')`
        named = {m.group(1) for m in _TOP_LEVEL_CONST.finditer(data)}
        if named and any(named.intersection(_WORD.findall(b"".join(m.groups(b""))))
                         for m in _COMMON_NAMES.finditer(data)):
            return True
    return (_LOCAL_EXPORT.search(data) is not None or _DEFAULT_NAME.search(data)
            is not None) and _TOP_LEVEL.search(data) is not None


def _written_keys(data: bytes) -> list[str]:
    """The keys a module writes of what its imports and `require`s bind: `USERS` of
    `T.USERS = 'x'`, `delete T.USERS`, `T.USERS++` after `const T = require('./tables')`
    (each key of `T.a.b = ...`); "*" for `T[key] = ...` and `Object.assign(T, ...)`.

    >>> _written_keys(b"const T = require('./t');\\nconst { U } = require('./u');\\n"
    ...     b"T.USERS = 'x'; U['a'].b += 1; if (T.X == 1) {}")
    ['USERS', 'a', 'b']
    >>> _written_keys(b"import T from './t';\\nObject.assign(T, o);")
    ['*']
    """
    names: set[bytes] = set()
    for match in _BINDS.finditer(data):
        for group in match.groups():
            if group:
                names.update(w for w in _WORD.findall(group) if w not in (b"as", b"type"))
    if not names:
        return []
    # (and through the local aliases of them, `const userTables = constants.tables.user`)
    return sorted(_member_writes(data, names, follow=True))


def _alias_at(data: bytes, at: int) -> list[bytes]:
    """The names given what the name at `at` holds, or a member of it, where it is
    assigned: `t` of `const t = T.tables`, `u`, `v`, `w` of `let { u, v: { w } } = T`, `x`
    of `x = T` (read in the text backwards from `at`); [] for none.

    >>> text = b"const t = T.a; let { u, v: { w } } = T; x = T; y == T; z.k = T; f(T)"
    >>> [_alias_at(text, m.start()) for m in re.finditer(rb"T", text)]
    [[b't'], [b'u', b'v', b'w'], [b'x'], [], [], []]
    """
    end = at - 1
    while end >= 0 and data[end] in b" \t\r\n":
        end -= 1
    if end < 1 or data[end] != 61 or data[end - 1] in b"=!<>+-*/%&|^?":  # (`=`)
        return []
    end -= 1
    while end >= 0 and data[end] in b" \t\r\n":
        end -= 1
    if end >= 0 and data[end] == 125:  # `{ user, admin: a } =` (`}`)
        depth, first = 0, end
        while first >= max(end - _LOOKBACK, 0):
            depth += {123: -1, 125: 1}.get(data[first], 0)
            if depth == 0:
                break
            first -= 1
        if depth != 0 or first < 0:
            return []
        return [w for w in _WORD.findall(data[first:end]) if w not in (b"as", b"type")]
    first = end
    while first >= 0 and data[first] != 46 and _NAME_BYTE.match(data, first) is not None:
        first -= 1
    if first == end or (first >= 0 and data[first] == 46):  # (`z.k = T`: no name)
        return []
    return [data[first + 1:end + 1]]


def _member_writes(data: bytes, names: Iterable[bytes], follow: bool = False) -> set[str]:
    """The keys `data` writes of what each of `names` holds (`_written_keys`), read in
    the text (a string or a comment that looks so counts too: it only leaves a value
    unread); with `follow`, through the names given what they hold too (`_alias_at`: `const
    t = T.tables; t.users = ...`), at any depth."""
    found: set[str] = set()
    pending = list(names)
    seen = set(pending)
    while pending:
        name = pending.pop()
        start = 0
        while (at := data.find(name, start)) >= 0:
            start = at + len(name)
            if at and _NAME_BYTE.match(data, at - 1) is not None:
                continue
            if follow and (data[start:start + 1] == b"." or _NAME_BYTE.match(
                    data, start) is None):
                for alias in _alias_at(data, at):
                    if alias not in seen:
                        seen.add(alias)
                        pending.append(alias)
            match = _WRITE_TAIL.match(data, start)
            if match is None or (match.group(2) is None and _DELETED.search(
                    data, max(at - 8, 0), at) is None):
                continue  # (read, not written)
            for key in _KEY.findall(match.group(1)):
                found.add(next((k.decode("utf-8", "replace") for k in key[:3] if k), "*"))
    if (b"Object." in data or b"Reflect." in data) and any(
            m.group(1) in seen for m in _WRITER_CALL.finditer(data)):
        found.add("*")
    return found


def constant_facts(data: bytes, path: str) -> _Facts:
    """The string constants a module exports (`c`: [name, value]) and what it re-exports
    (`r`: [specifier, name or `*`, name exported as]); {} for none.

    >>> constant_facts(b"export const A = `users`; export let B = 'b';\\n"
    ...     b"export const O = { X: 'x', n: { Y: 'y' } } as const;\\n"
    ...     b"const L = 'l'; export { L as M }; export * from './t';", "a.ts")
    {'c': [['A', 'users'], ['O.X', 'x'], ['O.n.Y', 'y'], ['M', 'l']], 'r': [['./t', '*', '*']]}

    A computed key may be any key before it; CommonJS members (also as `default.`, and
    writable: `1`) are left out where a branch assigns them again:

    >>> constant_facts(b"export const O = { A: 'a', [k]: 'x', B: 'b' } as const;", "a.ts")
    {'c': [['O.B', 'b']]}
    >>> constant_facts(b"exports.U = 'users';\\nexports.T = 'users';\\n"
    ...     b"if (process.env.TEST) exports.T = 'test_users';", "t.js")
    {'c': [['U', 'users', 1], ['default.U', 'users', 1]]}
    """
    from dbsafe.extract.javascript import _grammar, _parser

    root = _parser(_grammar(path)).parse(data).root_node
    reader = _Module(data, script=path.endswith((".js", ".jsx", ".mjs", ".cjs")))
    return reader.read(root)


# A value one of a module's names holds: (path, string, writable), the path "" for a string,
# `.K` for the member K of an object; `writable` for a member of an object literal nothing
# makes read-only (a JavaScript module's object, any CommonJS export), which any module
# importing it may assign (`js_constants` leaves out those the project assigns).
_Value = tuple[str, str, bool]
# (`Object.assign(T, ...)`: the calls that write the members of their first argument)
_WRITERS = ("Object.assign", "Object.defineProperty", "Object.defineProperties",
            "Object.setPrototypeOf", "Reflect.set", "Reflect.defineProperty",
            "Reflect.deleteProperty")


class _Module:
    """One module's top level, read for its exported constants."""

    def __init__(self, data: bytes, script: bool = False) -> None:
        self.data = data
        # JavaScript, where no object literal can be `as const`
        self.script = script
        # top-level names: each `const` string or object's values (name -> [(path,
        # value, writable)]), each enum's members, what an import binds ((specifier,
        # name)); a name bound twice is None
        self.locals: dict[str, list[_Value] | None] = {}
        self.imports: dict[str, tuple[str, str] | None] = {}
        # a top-level `const X = require('./tables')`: X's specifier
        self.required: dict[str, str] = {}
        # whether the module writes the members of a top-level name (`_mutated`)
        self.mutated_memo: dict[str, bool] = {}
        # CommonJS: each top-level `module.exports = V` (key ""), `module.exports.K = V`
        # and `exports.K = V` (key K, and whether through `exports`), in order; the keys
        # assigned otherwise (in a function, a branch, a computed key; None: any key)
        self.common: list[tuple[str, bool, Node]] = []
        self.common_unread: set[str | None] = set()

    def text(self, node: Node) -> str:
        return self.data[node.start_byte:node.end_byte].decode("utf-8", "replace")

    def read(self, root: Node) -> _Facts:
        self._writes(root)
        exported: list[tuple[str, str]] = []  # (local name, exported as)
        reexports: list[list[str]] = []
        constants: list[_Value] = []
        esm = False
        for statement in root.named_children:
            if statement.type == "import_statement":
                self._import(statement)
                continue
            if statement.type != "export_statement":
                self._declare(statement, None)
                continue
            esm = True
            source = statement.child_by_field_name("source")
            declaration = statement.child_by_field_name("declaration")
            if any(c.type == "default" for c in statement.children):
                # `export default {...}`, `export default TABLES`; a function or class
                # declared so binds its name in the module, and exports no string
                value = statement.child_by_field_name("value")
                if declaration is not None:
                    self._declare(declaration, None)
                elif value is not None:
                    found, spaces = self._exported("default", value, common=False)
                    constants += found
                    reexports += spaces
                continue
            if declaration is not None:
                exported += [(n, n) for n in self._declare(declaration, declaration)]
                continue
            clause = next((c for c in statement.named_children if c.type == "export_clause"),
                          None)
            if source is not None and source.type == "string":
                specifier = _plain_string(self, source)
                if specifier is None:
                    continue
                if clause is None:
                    namespace = next((c for c in statement.named_children
                                      if c.type == "namespace_export"), None)
                    if namespace is not None:  # `export * as ns from ...`
                        name = next((self.text(c) for c in namespace.named_children
                                     if c.type in ("identifier", "string")), None)
                        if name is not None:
                            reexports.append([specifier, "", name.strip("'\"")])
                    elif any(c.type == "*" for c in statement.children):
                        reexports.append([specifier, "*", "*"])
                    continue
                for name, alias in self._specifiers(clause):
                    reexports.append([specifier, name, alias])
            elif clause is not None:
                exported += self._specifiers(clause)
        for name, alias in exported:
            values = self.locals.get(name)
            imported = self.imports.get(name)
            if values:
                constants += [(alias + path, value, writable) for path, value, writable
                              in values]
            elif name in self.required and not self._mutated(name):
                reexports.append([self.required[name], "", alias])
            elif imported is not None and name not in self.locals:
                reexports.append([imported[0], imported[1], alias])
        if not esm and (self.common or self.common_unread):
            found, spaces = self._common()
            constants += found
            reexports += spaces
        elif self.common or self.common_unread:
            constants, reexports = self._mixed(constants, reexports)
        facts: _Facts = {}
        if constants:
            facts["c"] = [[name, value, 1] if writable else [name, value]
                          for name, value, writable in constants]
        if reexports:
            facts["r"] = reexports
        return facts

    def _mixed(self, constants: list[_Value], reexports: list[list[str]]
               ) -> tuple[list[_Value], list[list[str]]]:
        """What a module writing both ESM exports and CommonJS ones exports (`constants`,
        `reexports`: its ESM half). Such a module loads only compiled to CommonJS (tsc's
        `module: commonjs`, Babel): natively, or as webpack's ESM, `module.exports = ...`
        throws. Compiled, each `export` is an `exports.K = ...` on the object Node made, so
        a top-level `module.exports = V` leaves V alone (the ESM exports go with the object
        it replaces), else the CommonJS keys join the ESM ones (a key both give differently
        is neither's, `js_constants`). The CommonJS keys come without `default.`: what a
        default import gives then depends on the compiler's options (`esModuleInterop`).
        Nothing where a CommonJS write is not known (`exports = ...`, `Object.assign(module.
        exports, ...)`), nor where V replaces the exports of a module re-exporting another
        (which keys that gives is known only once resolved)."""
        if None in self.common_unread:
            return [], []
        found, spaces = self._common()
        found = [c for c in found if c[0] != "default" and not c[0].startswith("default.")]
        spaces = [r for r in spaces if r[2] != "default" and not r[2].startswith("default.")]
        if any(not key for key, _, _ in self.common):  # (`module.exports = V`)
            if reexports:
                return [], []
            given = {name: value for name, value, _ in constants}
            return [c for c in found if given.get(c[0], c[1]) == c[1]], spaces
        unread = [key for key in self.common_unread if key is not None]
        kept = [c for c in constants if not any(
            c[0] == key or c[0].startswith(key + ".") for key in unread)]
        kept_spaces = [r for r in reexports if not (unread and r[2] == "*") and not any(
            r[2] == key or r[2].startswith(key + ".") for key in unread)]
        return kept + found, kept_spaces + spaces

    def _common(self) -> tuple[list[_Value], list[list[str]]]:
        """What the module's CommonJS assignments leave in `module.exports`, as Node
        runs them in order: each member K also as `default.K`, what an `import T from`
        binds (Node's and the bundlers' interop)."""
        found: dict[str, str] = {}
        spaces: dict[str, str] = {}
        aliased = True  # (`exports` is `module.exports` until this is assigned)
        for key, through_exports, value in sorted(self.common, key=lambda c: c[2].start_byte):
            if through_exports and not aliased:
                continue  # (the object `exports` holds is no longer what is exported)
            if not key:
                found.clear()
                spaces.clear()
                aliased = False
            else:
                _forget(found, key)
                _forget(spaces, key)
            members, namespaces = self._exported(key, value, common=True)
            found.update((name, string) for name, string, _ in members)
            spaces.update((alias, specifier) for specifier, _, alias in namespaces)
        if None in self.common_unread:
            return [], []
        for unread in self.common_unread:
            if unread is not None:
                _forget(found, unread)
                _forget(spaces, unread)
        constants: list[_Value] = []
        for name, string in found.items():
            constants += [(name, string, True), ("default." + name, string, True)]
        reexports: list[list[str]] = []
        for alias, specifier in spaces.items():
            reexports += [[specifier, "", alias],
                          [specifier, "", f"default.{alias}" if alias else "default"]]
        return constants, reexports

    def _exported(self, name: str, value: Node, *, common: bool
                  ) -> tuple[list[_Value], list[list[str]]]:
        """What exporting `value` as `name` gives (`export default value`, `module.exports
        = value` for the name "", `exports.name = value`): the strings, and the modules
        it exports whole ([specifier, "", name]: `require('./tables')`)."""
        frozen = False
        while value.type in _WRAPPERS:
            if value.type == "as_expression" and value.named_child_count == 1 and any(
                    c.type == "const" for c in value.children):
                frozen = True
            value = value.named_children[0]
        specifier = self._require(value)
        if specifier is not None:
            return [], [[specifier, "", name]]
        string = _plain_string(self, value)
        if string is not None:
            return ([(name, string, common)] if name and _names(string) else []), []
        members: list[_Value] = []
        spaces: list[list[str]] = []
        if value.type == "identifier":
            key = self.text(value)
            if key in self.required and not self._mutated(key):
                return [], [[self.required[key], "", name]]
            members = list(self.locals.get(key) or ())
        elif (literal := self._freeze(value)) is not None:
            members = self._object(literal, deep=False, writable=False)[0]
        elif value.type == "object" and (frozen or self.script):
            found, namespaces = self._object(value, deep=True, writable=not frozen)
            members = found
            spaces = [[s, "", _joined(name, path)] for path, s in namespaces]
        return [(_joined(name, path), string, writable or common)
                for path, string, writable in members if _joined(name, path)], spaces

    def _freeze(self, value: Node) -> Node | None:
        """The object literal of `Object.freeze({...})`."""
        if value.type != "call_expression":
            return None
        function, arguments = value.child_by_field_name("function"), \
            value.child_by_field_name("arguments")
        if function is None or arguments is None or self.text(function) != \
                "Object.freeze" or arguments.named_child_count != 1:
            return None
        literal = arguments.named_children[0]
        return literal if literal.type == "object" else None

    def _require(self, value: Node) -> str | None:
        """The specifier of `require('./tables')`."""
        if value.type != "call_expression":
            return None
        function, arguments = value.child_by_field_name("function"), \
            value.child_by_field_name("arguments")
        if function is None or arguments is None or self.text(function) != "require":
            return None
        given = [c for c in arguments.named_children if c.type != "comment"]
        return _plain_string(self, given[0]) if len(given) == 1 else None

    def _writes(self, root: Node) -> None:
        """Note the module's CommonJS exports: its top-level `module.exports = V`,
        `module.exports.K = V` and `exports.K = V` (`common`), and the keys anything else
        writes (`common_unread`: in a function, a branch, `delete exports.K`, `exports[k]
        = ...`, `Object.assign(module.exports, ...)`), found in the text."""
        if b"exports" not in self.data:
            return
        tops: set[int] = set()
        for statement in root.named_children:
            expression = statement.named_children[0] if (
                statement.type == "expression_statement" and statement.named_child_count
            ) else None
            if expression is None or expression.type != "assignment_expression":
                continue
            left, right = expression.child_by_field_name("left"), \
                expression.child_by_field_name("right")
            if left is None or right is None:
                continue
            name, path = self._chain(left)
            keys = path[1:] if name == "module" and path[:1] == ["exports"] else (
                path if name == "exports" else None)
            if keys is None or len(keys) > 1 or (name == "exports" and not keys):
                continue
            key = keys[0] if keys else ""
            if key is not None:
                self.common.append((key, name == "exports", right))
                tops.add(left.start_byte)
        for match in _EXPORTS_WRITE.finditer(self.data):
            if match.start() in tops:
                continue
            prefixed = match.group(0)[:1] in (b"d", b"+", b"-")
            if match.group(3) is None and not (prefixed and match.group(2)):
                continue  # (read, not written)
            keys = [next((k.decode("utf-8", "replace") for k in key[:3] if k), None)
                    for key in _KEY.findall(match.group(2))]
            if match.group(1).startswith(b"module"):
                if not keys or keys[0] != "exports":
                    self.common_unread.add(None)
                    continue
                keys = keys[1:]
            self.common_unread.add(keys[0] if keys else None)
        if b"Object." in self.data or b"Reflect." in self.data:
            for match in _WRITER_CALL.finditer(self.data):
                if match.group(1) in (b"exports", b"module.exports") or re.fullmatch(
                        rb"module\s*\.\s*exports", match.group(1)):
                    self.common_unread.add(None)

    def _mutated(self, name: str) -> bool:
        """Whether the module writes a member of what its top-level `name` holds
        (`TABLES.USERS = ...`, `delete TABLES.USERS`, `Object.assign(TABLES, ...)`)."""
        if name not in self.mutated_memo:
            self.mutated_memo[name] = bool(_member_writes(self.data, [name.encode()],
                                                             follow=True))
        return self.mutated_memo[name]

    def _chain(self, node: Node) -> tuple[str | None, list[str | None]]:
        """The name a member chain starts from and its keys (None for a computed one):
        `module.exports.USERS` is ("module", ["exports", "USERS"])."""
        path: list[str | None] = []
        while True:
            while node.type in _WRAPPERS:
                node = node.named_children[0]
            if node.type == "member_expression":
                prop = node.child_by_field_name("property")
                path.insert(0, self.text(prop) if prop is not None and prop.type in (
                    "property_identifier", "private_property_identifier") else None)
            elif node.type == "subscript_expression":
                index = node.child_by_field_name("index")
                path.insert(0, _plain_string(self, index) if index is not None else None)
            else:
                break
            inner = node.child_by_field_name("object")
            if inner is None:
                return None, path
            node = inner
        return (self.text(node) if node.type == "identifier" else None), path

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
                if named.type == "identifier":  # (the module's default export)
                    self._bind_import(self.text(named), (specifier, "default")
                                      if specifier is not None else None)
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
                if found and any(p for p, _, _ in found) and self._mutated(key):
                    found = None  # (an object whose members the module writes)
                if const and value is not None and key not in self.locals:
                    specifier = self._require(_unwrapped(value))
                    if specifier is not None:
                        self.required[key] = specifier
                else:
                    self.required.pop(key, None)
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
                self.required.pop(self.text(name), None)
            if declaration.type in ("variable_declaration", "ambient_declaration"):
                for inner in _identifiers(declaration):
                    if inner.parent is not None and inner.parent.type == "variable_declarator":
                        self.locals[self.text(inner)] = None
                        self.required.pop(self.text(inner), None)
        return names if exported is not None else []

    def _values(self, value: Node) -> list[_Value] | None:
        """The strings a `const`'s value holds: ("", the string, False), or each member of
        an object literal read-only or of JavaScript ("." + its path, the string, whether
        any module may assign it)."""
        frozen = False
        while value.type in _WRAPPERS:
            if value.type == "as_expression" and value.named_child_count == 1 and any(
                    c.type == "const" for c in value.children):
                frozen = True
            value = value.named_children[0]
        string = _plain_string(self, value)
        if string is not None:
            return [("", string, False)] if _names(string) else None
        if value.type == "identifier":
            local = self.locals.get(self.text(value))
            return [p for p in local if p[0] == ""] or None if local else None
        literal = self._freeze(value)
        if literal is not None:
            return self._object(literal, deep=False, writable=False)[0]
        if value.type == "object" and (frozen or self.script):
            return self._object(value, deep=True, writable=not frozen)[0]
        return None

    def _object(self, literal: Node, *, deep: bool, writable: bool
                ) -> tuple[list[_Value], list[tuple[str, str]]]:
        """The strings of an object literal's members ("." + path, string, writable), and
        the modules it holds whole (`{ tables: require('./tables') }`: (".tables",
        "./tables")); a member a spread, a method or a computed key may give again after
        it is left out."""
        found: dict[str, tuple[str, bool]] = {}
        spaces: dict[str, str] = {}
        for entry in literal.named_children:
            if entry.type in ("spread_element", "method_definition"):
                found.clear()  # (a spread may give any key before it again)
                spaces.clear()
                continue
            if entry.type == "shorthand_property_identifier":
                name, value = self.text(entry), entry
            elif entry.type == "pair":
                key, given = entry.child_by_field_name("key"), entry.child_by_field_name(
                    "value")
                if key is None or given is None:
                    continue
                value = given
                if key.type == "property_identifier":
                    name = self.text(key)
                elif key.type in ("string", "number"):
                    name = (_plain_string(self, key) if key.type == "string"
                            else self.text(key)) or ""
                elif key.type == "computed_property_name" and key.named_child_count == 1 \
                        and _plain_string(self, key.named_children[0]) is not None:
                    name = _plain_string(self, key.named_children[0]) or ""
                else:  # a computed key, which may be any before it
                    found.clear()
                    spaces.clear()
                    continue
            else:
                continue
            _forget(found, name)
            _forget(spaces, name)
            value = _unwrapped(value)
            string = _plain_string(self, value)
            specifier = self._require(value)
            if string is not None and _names(string):
                found[name] = (string, writable)
            elif specifier is not None:
                spaces[name] = specifier
            elif value.type in ("identifier", "shorthand_property_identifier"):
                local = self.text(value)
                if local in self.required and not self._mutated(local):
                    spaces[name] = self.required[local]
                found.update((name + p, (v, writable or w))
                             for p, v, w in self.locals.get(local) or ())
            elif value.type == "object" and deep:
                members, inner = self._object(value, deep=True, writable=writable)
                found.update((name + p, (v, w)) for p, v, w in members)
                spaces.update((name + p, s) for p, s in inner)
        return [("." + path, value, w) for path, (value, w) in found.items()], [
            ("." + path, specifier) for path, specifier in spaces.items()]

    def _members(self, body: Node) -> list[_Value]:
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
                    found.append(("." + key, string, False))
        return found


def _unwrapped(value: Node) -> Node:
    while value.type in _WRAPPERS:
        value = value.named_children[0]
    return value


def _joined(name: str, path: str) -> str:
    """The export `name` (`default`, "" for `module.exports`) and a member's path in it."""
    return name + path if name else path[1:]


def _forget(found: dict[str, Any], key: str) -> None:
    """Drop `key` and its members."""
    for path in [p for p in found if p == key or p.startswith(key + ".")]:
        del found[path]


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

"""The project's JS/TS functions that send a parameter, unchanged, as a PostgreSQL statement.

A project often wraps its client in a function or a class method of its own and sends
every statement through it: `export const pquery = (text, params) => pool.query(text,
params)`, crawliq's `export async function q(text, params) { const { rows } = await
pool.query(text, params); return rows }`, hyperledger's blockchain-explorer's
`PgService.getRowsBySQlQuery(sql, values) { ... this.client.query(sql, values, cb) ... }`.
The strings given to such a wrapper are statements sent to PostgreSQL, and they are read
as a `query(...)` call's are (`javascript._Reader._sql`), located at the call site's string.

A wrapper is followed only where that is certain (`wrapping`):

- it is a function or a class method of a module (a `function`, a `const` bound to an arrow
  function or function expression, a method of a class, all at the module's top level) that
  loads a PostgreSQL driver (`pg`, `postgres`, ...) and no driver of another engine;
- one of its parameters (a plain name) is read only as the text a driver call sends, as
  is: the first argument of `query`/`execute`/`unsafe`/pg-promise's methods/... (not
  knex's `raw`, whose bindings follow the text), or the `text` of node-postgres's query
  config given as that argument (`pool.query({ text: sql, values })`), or as the
  argument of another wrapper of the module at its position (`one(text) { return
  query(text) }`), else only inside a logging call's arguments (`console.log(sql)`,
  `logger.debug(`sql: ${sql}`)`); never assigned, never shadowed. A parameter also
  transformed (`sql + ' LIMIT 1'`, `sql.trim()`, a template around it), tested, returned or
  handed to anything else, is not followed: one branch may send something else.

A call reaches a wrapper (`_Reader._wrapper_position`) through a name of the module bound to
it, an import of it from a module of the project (`import { q } from '@/lib/db'`, a default
or namespace import, `require('./db')` whole or destructured; `drizzle_schema.names_file`
says which file a specifier names), `this.m(...)` in its class, `X.m(...)` for a static
method, or an instance of its class: a `const` bound to `new X(...)`, a parameter or a
class field typed `X` (`sql: PgService`, then `this.sql.getRowsBySQlQuery(...)`).

The project's modules are read once each (`js_wrappers`), their facts kept by the caller by
their stat (`memo`), so that a run with nothing changed reads none of them again.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

from dbsafe.extract.drizzle_schema import names_file
from dbsafe.extract.files import kept_entry

_MAX_BYTES = 4 << 20
_SCRIPTS = (".js", ".ts", ".jsx", ".tsx", ".mjs", ".cjs", ".mts", ".cts")


@dataclass(frozen=True, slots=True)
class JsWrapper:
    """A name a module of the project exports that sends a parameter as a statement: the
    module (relative to the project's root, without its suffix), the names an import of it
    from a module that is not relative names (`drizzle_schema.module_names`; none when
    another file of the project has that name), the export (`default` for the default
    export, or CommonJS's `module.exports = X`), the position of the parameter sent for a
    function (None for a class), and for a class (or an object literal, whose methods are
    static), its wrapping methods: (name, position, static). `common`: the module exports
    with CommonJS (`module.exports = {...}`), so a `require` of it, or a default import, is
    the object of its exports. `client`: the module loads a PostgreSQL driver and no other
    engine's, so what it exports (`*`; a module re-exporting it: the name it gives) sends
    to PostgreSQL (`import { pool } from './pool'`, then `pool.query(text)`). `name`: a
    class's name in its module. `tag`: the export is a postgres.js client (a `const` bound
    to a call of its default export, `const db = postgres(url); module.exports = db`), a
    tag whose templates are statements wherever it is imported (a `client` too)."""

    path: str
    modules: tuple[str, ...]
    export: str
    position: int | None
    methods: tuple[tuple[str, int, bool], ...] = ()
    common: bool = False
    client: bool = False
    name: str = ""
    tag: bool = False

    def imported_by(self, module: str, importer: str, file: str | None = None) -> bool:
        """Whether `import ... from module` in the file `importer` names this module
        (`file`: the file a specifier of the project's own packages names)."""
        if file is not None:
            return file == self.path
        return names_file(module, importer, self.path, self.modules)


def sends(data: bytes) -> bool:
    """Whether a file's bytes may hold a wrapper, or a pool one takes: it names a
    PostgreSQL driver's package."""
    return _DRIVER.search(data) is not None


def js_wrappers(files: Sequence[tuple[str, str]],
                memo: dict[str, list[object]] | None = None) -> tuple[JsWrapper, ...]:
    """The project's wrappers, read in `files` ((path, path relative to the project's root)
    pairs), and its modules loading a PostgreSQL driver and no other engine's (`client`).
    `memo` (kept by the caller between runs): each file's facts by its path relative to
    the root (the same whichever folder the run was given, or its working directory), with
    the size and modification time it was read at; a file whose stat is unchanged is not
    read again.

    The files naming a driver (`sends`) are read first; then, while that finds more, those
    importing a module found so far (`_importing`): a wrapper of its wrapper or of its
    pool, a module re-exporting it, a class extending its class. A project with no file
    naming a PostgreSQL driver has no wrapper, and no more is read.

    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = Path(d, "db.ts").write_text("import { Pool } from 'pg';\\n"
    ...         "const pool = new Pool();\\n"
    ...         "export const q = (text: string, params?: any[]) => pool.query(text, params);\\n")
    ...     [w for w in js_wrappers([(str(Path(d, "db.ts")), "src/db.ts")]) if not w.client]
    [JsWrapper(path='src/db', modules=('db',), export='q', position=0, methods=(), common=False, client=False, name='', tag=False)]
    """
    read: dict[str, dict] = {}
    names: Counter[str] = Counter()
    scripts: list[tuple[str, str, str]] = []
    for path, display in files:
        if not path.endswith(_SCRIPTS):
            continue
        where = posixpath.splitext(display.replace(os.sep, "/"))[0]
        names[_module_name(where)] += 1
        scripts.append((path, display, where))
        facts = _file_facts(path, display, memo)
        if facts is not None:
            read[where] = facts
    found = _resolve(read, names)
    for _ in range(6):
        stems = sorted({_module_name(w.path) for w in found} - {""})
        if not stems:
            break
        more = False
        for path, display, where in scripts:
            if where not in read:
                facts = _file_facts(path, display, memo, stems)
                if facts is not None:
                    read[where] = facts
                    more = True
        if not more:
            break
        found = _resolve(read, names)
    return found


def _importing(stems: Sequence[str]) -> re.Pattern[bytes]:
    """A specifier of the project (`./pool`, `../db/index.js`, `@/lib/db`) naming a module
    of one of `stems` (`_module_name`)."""
    return re.compile(rb"""['"`](?:\.{1,2}/|~/?|#|@/|/)(?:[^'"`\n]*/)?(?:"""
                      + b"|".join(re.escape(s.encode()) for s in stems)
                      + rb""")(?:/index)?(?:\.[cm]?[jt]sx?)?['"`]""")


def _resolve(read: dict[str, dict], names: Counter[str]) -> tuple[JsWrapper, ...]:
    """The wrappers the files' facts make: a wrapper whose conditions on other modules
    (`javascript._Reader.wrapper_deps`) hold, those the project's modules re-export, and no
    class method a class extending its class declares again, until no more are found."""
    def modules(where: str) -> tuple[str, ...]:
        name = _module_name(where)
        return (name,) if names[name] == 1 else ()

    clients = {JsWrapper(where, modules(where), "*", None, client=True)
               for where, facts in read.items() if facts.get("p")}
    clients |= {JsWrapper(where, modules(where), str(export), None, client=True, tag=True)
                for where, facts in read.items() for export in facts.get("s", ())}
    overridden = _overridden(read)
    found: set[JsWrapper] = set(clients)
    previous: set[JsWrapper] = set()
    for _ in range(8):  # (each round from the last one's wrappers: a chain takes several)
        made = set(clients)
        for where, facts in sorted(read.items()):
            common = bool(facts.get("j"))
            for entry in facts.get("f", ()):
                if _hold(entry[2] if len(entry) > 2 else (), where, found):
                    made.update(JsWrapper(where, modules(where), export, entry[1], (), common)
                                for export in entry[0])
            for exports, methods, *rest in facts.get("c", ()):
                name = rest[0] if rest else ""
                # a class extending it declaring one of its wrapping methods again: none of
                # them is followed (one may call that one through `this`), and the class is
                # kept without them, so that its own module's reader follows none either
                gone = overridden({name, *exports} - {"", "default"}) & {m for m, *_ in methods}
                held = () if gone else tuple(
                    (m, p, bool(s)) for m, p, s, *deps in methods
                    if _hold(deps[0] if deps else (), where, found))
                if held or gone:
                    made.update(JsWrapper(where, modules(where), export, None, held, common,
                                          name=name) for export in exports)
            for module, export, alias in facts.get("r", ()):
                made.update(_reexported(module, export, alias, where, modules(where), found))
        previous, found = found, made
        if found == previous:
            break
    else:
        found &= previous  # (never settled: what the last two rounds agree on)
    return tuple(sorted(found, key=lambda w: (w.path, w.export, w.client, w.tag)))


def _hold(deps: Sequence[Sequence[object]], where: str, found: set[JsWrapper]) -> bool:
    """Whether a wrapper's conditions on other modules hold among the wrappers `found`:
    `c`, what it calls a driver method on is a module's export loading a PostgreSQL driver;
    `w`, the function it hands the parameter to sends it (at that position); `m`, so does
    the static method (or an object's) of that export; `any`, one of the lists after it
    holds (a call read two ways, `pool.query(sql)` of an import)."""
    for dep in deps:
        kind, module = dep[0], str(dep[1])
        if kind == "any":  # (one of the readings' conditions)
            if not any(_hold(cast("Sequence[Sequence[object]]", reading), where, found)
                       for reading in dep[1:]):
                return False
            continue
        if kind == "c":
            if not any(w.client and w.export in ("*", dep[2]) and w.imported_by(module, where)
                       for w in found):
                return False
            continue
        if kind == "w":
            matches: list[int | None] = [
                w.position for w in found if not w.client and w.export == dep[2]
                       and w.position is not None and w.imported_by(module, where)]
        else:
            matches = [next((p for m, p, s in w.methods if m == dep[3] and s), None)
                       for w in found if not w.client and w.export == dep[2]
                       and w.position is None and w.imported_by(module, where)]
        if not matches or any(p != dep[-1] for p in matches):
            return False
    return True


def _reexported(module: str, export: str, alias: str, where: str, modules: tuple[str, ...],
                found: set[JsWrapper]) -> list[JsWrapper]:
    """What a module re-exporting another's `export` (`*`: all its named exports; not a
    `client` module's) as `alias` exports of its wrappers."""
    made: list[JsWrapper] = []
    for wrapper in list(found):
        if wrapper.path == where or not wrapper.imported_by(module, where):
            continue
        if export == "*":
            if wrapper.client or wrapper.export in ("default", "*"):
                continue
            name = wrapper.export
        elif wrapper.export == export or (wrapper.client and wrapper.export == "*"):
            name = alias
        else:
            continue
        made.append(JsWrapper(where, modules, name, wrapper.position, wrapper.methods,
                              False, wrapper.client, wrapper.name, wrapper.tag))
    return made


def _overridden(read: dict[str, dict]) -> Callable[[set[str]], set[str]]:
    """For a class's names (its own and its exports), the methods any class of the
    project extending a class of those names, at any depth, declares (`x`), as a class
    is named wherever it is extended: the name alone tells it, so a class of another
    module with that name counts too (a call left unread, never a wrong one). The names a
    module re-exports a class under count as its own."""
    subclasses = [(str(name), str(base), set(methods)) for facts in read.values()
                  for name, base, methods in facts.get("x", ())]
    aliases = [(str(export), str(alias)) for facts in read.values()
               for _, export, alias in facts.get("r", ()) if export != "*"]

    def methods(names: set[str]) -> set[str]:
        family, gone = set(names), set[str]()
        if not subclasses:
            return gone
        for _ in range(8):
            size = len(family)
            family |= {alias for export, alias in aliases if export in family}
            for name, base, declared in subclasses:
                if base in family:
                    family.add(name)
                    gone |= declared
            if len(family) == size:
                break
        return gone

    return methods


def _module_name(where: str) -> str:
    stem = posixpath.basename(where)
    return stem if stem != "index" else posixpath.basename(posixpath.dirname(where))


def _file_facts(path: str, display: str, memo: dict[str, list[object]] | None,
                stems: Sequence[str] = ()) -> dict | None:
    """What one file exports that wraps a driver, and the facts a wrapper of another file
    takes (`javascript.wrapper_facts`); None for a file not read: one `sends` does not
    tell, nor, with `stems`, importing a module of those (`_importing`). From `memo` while
    its size and modification time are those it was read at (and, for a file not read,
    the stems it was looked at for cover `stems`)."""
    seen = kept_entry(memo, display, path)
    if seen is None:
        return None
    stamp, known = seen
    if known is not None:
        if isinstance(known[2], dict):
            return known[2]
        looked = known[3] if len(known) > 3 and isinstance(known[3], list) else []
        if not set(stems) - set(looked):
            return None
    facts: dict | None = None
    try:
        with open(path, "rb") as file:
            data = file.read(_MAX_BYTES + 1)
    except OSError:
        data = b""
    if len(data) <= _MAX_BYTES and (sends(data) or (
            stems and _importing(stems).search(data) is not None)):
        from dbsafe.extract.javascript import wrapper_facts

        facts = wrapper_facts(data.decode("utf-8", "replace"), display)
    if memo is not None:
        memo[display] = [*stamp, facts, sorted(stems)]
    return facts


def _driver_pattern() -> re.Pattern[bytes]:
    from dbsafe.extract.javascript import POSTGRES_DRIVERS

    names = "|".join(re.escape(n) for n in sorted(POSTGRES_DRIVERS, key=len, reverse=True))
    return re.compile(rf"""['"`](?:npm:|jsr:)?(?:{names})(?:[@/][^'"`]*)?['"`]""".encode())


class _LazyDriver:
    """`_DRIVER`, compiled on first use (javascript.py imports this module lazily)."""

    pattern: re.Pattern[bytes] | None = None

    def search(self, data: bytes) -> re.Match[bytes] | None:
        if self.pattern is None:
            self.pattern = _driver_pattern()
        return self.pattern.search(data)


_DRIVER = _LazyDriver()

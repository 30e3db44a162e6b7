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
from collections.abc import Sequence
from dataclasses import dataclass

from dbsafe.extract.drizzle_schema import names_file

_MAX_BYTES = 4 << 20
_SCRIPTS = (".js", ".ts", ".jsx", ".tsx", ".mjs", ".cjs", ".mts", ".cts")


@dataclass(frozen=True, slots=True)
class JsWrapper:
    """A name a module of the project exports that sends a parameter as a statement: the
    module (relative to the project's root, without its suffix), the names an import of it
    from a module that is not relative names (`drizzle_schema.module_names`; none when
    another file of the project has that name), the export (`default` for the default
    export, or CommonJS's `module.exports = X`), the position of the parameter sent for a
    function (None for a class), and for a class, its wrapping methods: (name, position,
    static). `common`: the module exports with CommonJS (`module.exports = {...}`), so a
    `require` of it, or a default import, is the object of its exports."""

    path: str
    modules: tuple[str, ...]
    export: str
    position: int | None
    methods: tuple[tuple[str, int, bool], ...] = ()
    common: bool = False

    def imported_by(self, module: str, importer: str, file: str | None = None) -> bool:
        """Whether `import ... from module` in the file `importer` names this module
        (`file`: the file a specifier of the project's own packages names)."""
        if file is not None:
            return file == self.path
        return names_file(module, importer, self.path, self.modules)


def sends(data: bytes) -> bool:
    """Whether a file's bytes may hold a wrapper: it names a PostgreSQL driver's package
    and calls a driver method with a name or an object as the text."""
    return _DRIVER.search(data) is not None and _SINK_CALL.search(data) is not None


def js_wrappers(files: Sequence[tuple[str, str]],
                memo: dict[str, list[object]] | None = None) -> tuple[JsWrapper, ...]:
    """The project's wrappers, read in `files` ((path, path relative to the project's root)
    pairs). `memo` (kept by the caller between runs): each file's facts by its path, with
    the size and modification time it was read at; a file whose stat is unchanged is not
    read again.

    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = Path(d, "db.ts").write_text("import { Pool } from 'pg';\\n"
    ...         "const pool = new Pool();\\n"
    ...         "export const q = (text: string, params?: any[]) => pool.query(text, params);\\n")
    ...     js_wrappers([(str(Path(d, "db.ts")), "src/db.ts")])
    (JsWrapper(path='src/db', modules=('db',), export='q', position=0, methods=(), common=False),)
    """
    read: dict[str, dict] = {}
    names: Counter[str] = Counter()
    for path, display in files:
        if not path.endswith(_SCRIPTS):
            continue
        where = posixpath.splitext(display.replace(os.sep, "/"))[0]
        names[_module_name(where)] += 1
        facts = _file_facts(path, display, memo)
        if facts:
            read[where] = facts
    found: list[JsWrapper] = []
    for where, facts in sorted(read.items()):
        name = _module_name(where)
        modules = (name,) if names[name] == 1 else ()
        common = bool(facts.get("j"))
        for exports, position in facts.get("f", ()):
            found += [JsWrapper(where, modules, export, position, (), common)
                      for export in exports]
        for exports, methods in facts.get("c", ()):
            found += [JsWrapper(where, modules, export, None,
                                tuple((m, p, bool(s)) for m, p, s in methods), common)
                      for export in exports]
    return tuple(found)


def _module_name(where: str) -> str:
    stem = posixpath.basename(where)
    return stem if stem != "index" else posixpath.basename(posixpath.dirname(where))


def _file_facts(path: str, display: str, memo: dict[str, list[object]] | None) -> dict | None:
    """What one file exports that wraps a driver (`javascript.wrapper_facts`), None for
    nothing; from `memo` while its size and modification time are those it was read at."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    stamp: list[object] = [status.st_size, status.st_mtime_ns]
    known = memo.get(path) if memo is not None else None
    if known is not None and known[:2] == stamp:
        return known[2] if isinstance(known[2], dict) else None
    facts: dict | None = None
    try:
        with open(path, "rb") as file:
            data = file.read(_MAX_BYTES + 1)
    except OSError:
        data = b""
    if len(data) <= _MAX_BYTES and sends(data):
        from dbsafe.extract.javascript import wrapper_facts

        facts = wrapper_facts(data.decode("utf-8", "replace"), display) or None
    if memo is not None:
        memo[path] = [*stamp, facts]
    return facts


def _driver_pattern() -> re.Pattern[bytes]:
    from dbsafe.extract.javascript import POSTGRES_DRIVERS

    names = "|".join(re.escape(n) for n in sorted(POSTGRES_DRIVERS, key=len, reverse=True))
    return re.compile(rf"""['"`](?:npm:|jsr:)?(?:{names})(?:[@/][^'"`]*)?['"`]""".encode())


# the driver methods a wrapper's parameter may be sent by (`WRAPPED_SINKS`), called with a
# name or an object (`pool.query(text, params)`, `client.query({ text, values })`)
_SINK_CALL = re.compile(
    rb"\b(?:query|execute|unsafe|prepare|none|one|oneOrNone|many|manyOrNone|any|result|"
    rb"multi|multiResult|queryObject|queryArray|\$queryRawUnsafe|\$executeRawUnsafe)"
    rb"\s*(?:<[^()]*?>)?\s*\(\s*[{A-Za-z_$]")


class _LazyDriver:
    """`_DRIVER`, compiled on first use (javascript.py imports this module lazily)."""

    pattern: re.Pattern[bytes] | None = None

    def search(self, data: bytes) -> re.Match[bytes] | None:
        if self.pattern is None:
            self.pattern = _driver_pattern()
        return self.pattern.search(data)


_DRIVER = _LazyDriver()

"""The tables Keyv's PostgreSQL store (`@keyv/postgres`) makes when the application opens it.

`new KeyvPostgres(options)` (also `createKeyv(options)`, the package's default export, or
`require('@keyv/postgres')`) runs, on its first connection,

    CREATE SCHEMA IF NOT EXISTS <schema>;  -- when the schema is not `public`
    CREATE TABLE IF NOT EXISTS <schema>.<table>(key VARCHAR(<keySize>) PRIMARY KEY, value TEXT)

with `schema` and `table` from its options, `public` and `keyv` by default (@keyv/postgres
2.x's constructor). No migration makes that table, yet the application may read it with SQL
of its own (Tianji's cache cleanup, `DELETE FROM "cache"."cache"` beside `new
KeyvPostgres({ schema: 'cache', table: 'cache' })`): what it makes is the application's,
unknown to a schema built from the migrations, not missing from it.

Only the packages of the project whose `package.json` depends on `@keyv/postgres` are read,
and in them only the files naming it. An option that is not a string literal leaves what it
names unknown: a table of another name is not reported made, and with the schema unknown
nothing is.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tree_sitter import Node

PACKAGE = "@keyv/postgres"
_DEFAULTS = {"schema": "public", "table": "keyv"}
_NAMED = frozenset({"KeyvPostgres", "createKeyv", "default"})
_MAX_BYTES = 4 << 20


def keyv_tables(packages: list[Path], root: Path) -> list[tuple[str, str | None]]:
    """The `(schema, table)` each store opened by the code of `packages` (folders whose
    `package.json` depends on `@keyv/postgres`) makes; `table` None when its option is
    not a string literal (the schema is made, its table unknown). Sorted, no duplicates.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = Path(d, "cache.ts").write_text(
    ...         "import KeyvPostgres from '@keyv/postgres';\\n"
    ...         "export const store = new KeyvPostgres({ uri, schema: 'cache', table: 'kv' });\\n"
    ...         "export const other = new KeyvPostgres(process.env.DATABASE_URL);\\n")
    ...     keyv_tables([Path(d)], Path(d))
    [('cache', 'kv'), ('public', 'keyv')]
    """
    from dbsafe.extract.files import discover_named
    from dbsafe.extract.js_packages import SCRIPTS

    found: set[tuple[str, str | None]] = set()
    for path, _ in discover_named(packages, root=root):
        if path.endswith(SCRIPTS):
            try:
                status = os.stat(path)
            except OSError:
                continue
            if status.st_size <= _MAX_BYTES:
                found.update(_tables_in(path, status.st_mtime_ns, status.st_size))
    return sorted(found, key=lambda pair: (pair[0], pair[1] or ""))


@functools.lru_cache(maxsize=256)
def _tables_in(path: str, _mtime: int, _size: int) -> tuple[tuple[str, str | None], ...]:
    """`keyv_tables` of one file (read again only when its stat changes)."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return ()
    if PACKAGE.encode() not in data:
        return ()
    from dbsafe.extract.javascript import _parser, _unwrap, _walk
    from dbsafe.extract.knex_clients import _imported

    tree = _parser("tsx" if path.endswith((".tsx", ".jsx")) else "typescript").parse(data)
    nodes = list(_walk(tree.root_node))
    # The local names of the package's constructor and factory (`import KeyvPostgres from`,
    # `import { KeyvPostgres as Store }`, `const { createKeyv } = require(...)`).
    stores = {local for local, (module, name) in _imported(data, nodes).items()
              if module == PACKAGE and name in _NAMED | {""}}
    made: list[tuple[str, str | None]] = []
    for node in nodes:
        if node.type not in ("new_expression", "call_expression"):
            continue
        callee = node.child_by_field_name(
            "constructor" if node.type == "new_expression" else "function")
        arguments = node.child_by_field_name("arguments")
        if callee is None or _unwrap(callee).type != "identifier" \
                or data[callee.start_byte:callee.end_byte].decode() not in stores:
            continue
        args = [_unwrap(a) for a in arguments.named_children if a.type != "comment"] \
            if arguments is not None else []
        options = _options(data, args[0] if args else None)
        if options is not None and options["schema"] is not None:
            made.append((options["schema"], options["table"]))
    return tuple(made)


def _options(data: bytes, first: Node | None) -> dict[str, str | None] | None:
    """The `schema` and `table` the store's first argument gives: its defaults for none or
    a connection string (a string, a template, `process.env.X`), a string literal's value,
    None for another expression; None for options that are not an object literal (a
    variable: what it holds is not read)."""
    from dbsafe.extract.drizzle_schema import _string, _text

    if first is None or first.type in ("string", "template_string") or (
            first.type in ("member_expression", "subscript_expression")
            and _text(data, first).startswith("process.env")):
        return dict(_DEFAULTS)
    if first.type != "object":
        return None
    options: dict[str, str | None] = dict(_DEFAULTS)
    for child in first.named_children:
        if child.type == "spread_element":
            return None  # options from elsewhere may name the schema and the table
        if child.type == "shorthand_property_identifier" and _text(data, child) in options:
            options[_text(data, child)] = None
        elif child.type == "pair":
            key, value = child.child_by_field_name("key"), child.child_by_field_name("value")
            name = _text(data, key).strip("'\"") if key is not None else ""
            if name in options:
                options[name] = _string(data, value) if value is not None else None
    return options

"""The `.sql` files a Python migration runs, named in its source.

A migration may keep its SQL in a file beside the code and run it: Arches' first Django
migration runs `migrations.RunSQL(get_sql_string_from_file(os.path.join(settings.ROOT_DIR,
"db", "dml", "db_data.sql")))`, the data of its 2013 layout (`INSERT INTO d_languages ...`,
a table a later migration renamed). That file runs against the schema of the migration's
own revision, as the migration does, never against today's: it is a migration too. The
migration names it by a string ending in `.sql`, with the folders leading to it in the same
call's string arguments (`os.path.join(..., "db", "dml", "db_data.sql")`) or in the same
`/` chain (`Path(__file__).parent / "sql" / "0001.sql"`), or written in it
(`"sql/0001.sql"`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from dbsafe.extract.newer_python import parse


def sql_files_named(data: bytes) -> tuple[tuple[str, ...], ...]:
    """The `.sql` files a Python module's source names, each as the path parts it gives
    (the file's name last); () for a module that names none or is no valid Python.

    >>> sql_files_named(b'RunSQL(read(os.path.join(ROOT, "db", "dml", "db_data.sql")))')
    (('db', 'dml', 'db_data.sql'),)
    >>> sql_files_named(b'p = Path(__file__).parent / "sql" / "up.sql"; q = "x/down.SQL"')
    (('sql', 'up.sql'), ('x', 'down.SQL'))
    """
    if b".sql" not in data.lower():
        return ()
    try:
        tree = parse(data)
    except (SyntaxError, ValueError):
        return ()
    parents = {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found: list[tuple[str, ...]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                node.value.lower().endswith(".sql") and "\n" not in node.value:
            parts = [*_leading_parts(node, parents), node.value]
            named = tuple(p for part in parts for p in part.split("/") if p not in ("", "."))
            if named and named not in found:
                found.append(named)
    return tuple(sorted(found))


def _leading_parts(node: ast.Constant, parents: dict[int, ast.AST]) -> list[str]:
    """The string folders written before `node` in the call or `/` chain it ends."""
    parent = parents.get(id(node))
    if isinstance(parent, ast.Call) and node in parent.args:
        before = parent.args[:parent.args.index(node)]
        return [a.value for a in before if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    parts: list[str] = []
    if isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Div) and parent.right is node:
        left = parent.left
        while isinstance(left, ast.BinOp) and isinstance(left.op, ast.Div) and \
                isinstance(left.right, ast.Constant) and isinstance(left.right.value, str):
            parts.insert(0, left.right.value)
            left = left.left
        if isinstance(left, ast.Constant) and isinstance(left.value, str):
            parts.insert(0, left.value)
    return parts


def run_by(rel: str, named: Iterable[tuple[str, ...]]) -> bool:
    """Whether the file at `rel` (POSIX, from the project's root) is one of `named`: its path
    ends with one's parts.

    >>> run_by("arches/db/dml/db_data.sql", [("db", "dml", "db_data.sql")])
    True
    >>> run_by("app/queries/db_data.sql", [("db", "dml", "db_data.sql")])
    False
    """
    parts = tuple(rel.split("/"))
    return any(parts[-len(n):] == n for n in named if len(n) <= len(parts))

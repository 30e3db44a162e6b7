"""The extension a branch of Python code runs only where it is installed, from its `if` on
what the code read from `pg_extension`.

Code written for databases with and without an extension looks for it before reading what
it makes. pgai's semantic catalog loader:

    await cur.execute("select 1 from pg_extension where extname = 'timescaledb'")
    is_timescale = await cur.fetchone() is not None
    if is_timescale:
        timescale_cte = "select ... from _timescaledb_catalog.hypertable as h ..."

A statement in such a branch is never sent to a database lacking the extension, so a schema
lacking it says nothing about the statement. A test counts when it is (or is a name bound
once to) a result the code fetched right after sending a statement that reads
`pg_extension` for one `extname` (`cur.fetchone() is not None`, `bool(cur.fetchone())`,
`cur.fetchone()[0]` of `select exists (...)`, `cur.rowcount`), or a driver call sending
such a statement and returning its value (`await conn.fetchval("select exists (select 1
from pg_extension where extname = 'timescaledb')")`); alone, negated, or compared with
`None`. Which statement was sent is read with PostgreSQL's parser: the text must read
`pg_extension` and compare `extname` with one string.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

# Methods returning what the statement sent before on the same cursor gave back.
_FETCHES = frozenset({"fetchone", "fetchall", "fetchmany", "fetchval", "fetchrow", "fetch",
                      "first", "one_or_none", "scalar", "scalar_one_or_none"})
_DEPTH = 3  # names followed to what they are bound to, at most


def installed_where(test: ast.expr, *, holds: bool,
                    bound: Callable[[ast.Name], ast.AST | None],
                    sent_before: Callable[[ast.AST, str], str | None],
                    depth: int = 0) -> str | None:
    """The extension the code runs only where it is installed, when `test` comes out
    `holds`; None when the test says nothing of one (or says it is missing).

    `bound` gives what a name is bound to once; `sent_before(node, cursor)` the statement
    the code sent through `cursor` in the statement just before the one holding `node`.

    >>> def test(text): return ast.parse(text, mode="eval").body
    >>> sent = {"cur": "select 1 from pg_extension where extname = 'timescaledb'"}
    >>> def ask(text, holds=True):
    ...     return installed_where(test(text), holds=holds, bound=lambda _: None,
    ...                            sent_before=lambda _, cursor: sent.get(cursor))
    >>> ask("cur.fetchone() is not None"), ask("not cur.fetchone()", holds=False)
    ('timescaledb', 'timescaledb')
    >>> ask("cur.fetchone() is None"), ask("cur.fetchone()", holds=False), ask("other.fetchone()")
    (None, None, None)
    >>> ask("bool(cur.rowcount)"), ask("cur.rowcount is None")
    ('timescaledb', None)
    >>> ask("conn.fetchval(\\"select exists(select from pg_extension where extname = 'vector')\\")")
    'vector'
    """
    if depth > _DEPTH:
        return None

    def again(inner: ast.expr, inner_holds: bool) -> str | None:
        return installed_where(inner, holds=inner_holds, bound=bound, sent_before=sent_before,
                               depth=depth + 1)

    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return again(test.operand, not holds)
    if isinstance(test, ast.Name):
        value = bound(test)
        if isinstance(value, ast.expr) and not isinstance(value, ast.Name):
            return again(value, holds)
        return None
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and \
            isinstance(test.ops[0], (ast.Is, ast.IsNot)) and \
            isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value is None:
        return again(test.left, holds == isinstance(test.ops[0], ast.IsNot))
    if isinstance(test, ast.Call) and isinstance(test.func, ast.Name) and \
            test.func.id == "bool" and len(test.args) == 1 and not test.keywords:
        return again(test.args[0], holds)
    if not holds:
        return None
    fetched: ast.expr = test
    while isinstance(fetched, (ast.Await, ast.Subscript)):
        fetched = fetched.value
    sql = None
    if isinstance(fetched, ast.Attribute) and fetched.attr == "rowcount" and \
            isinstance(fetched.value, ast.Name):
        sql = sent_before(test, fetched.value.id)
    elif isinstance(fetched, ast.Call) and isinstance(fetched.func, ast.Attribute):
        first = fetched.args[0] if fetched.args else None
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            sql = first.value  # `conn.fetchval("select exists (...)")`
        elif not fetched.args and fetched.func.attr in _FETCHES and \
                isinstance(fetched.func.value, ast.Name):
            sql = sent_before(test, fetched.func.value.id)
    return None if sql is None else extension_read(sql)


def extension_read(sql: str) -> str | None:
    """The extension whose row `sql` reads from `pg_extension` (`... where extname =
    'timescaledb'`), as PostgreSQL's parser reads it; None for any other statement.

    >>> extension_read("SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_cron'")
    'pg_cron'
    >>> extension_read("SELECT extname FROM pg_extension"), extension_read("SELECT 'x'")
    (None, None)
    """
    from pglast import parse_sql
    from pglast.parser import ParseError
    from pglast.visitors import Visitor

    try:
        statements = parse_sql(sql)
    except (ParseError, ValueError, RecursionError):
        return None
    reads: list[bool] = []
    names: set[str] = set()

    class _Read(Visitor):
        def visit_RangeVar(self, ancestors: Any, node: Any) -> None:
            if node.relname == "pg_extension" and node.schemaname in (None, "pg_catalog"):
                reads.append(True)

        def visit_A_Expr(self, ancestors: Any, node: Any) -> None:
            operator = [getattr(part, "sval", None) for part in node.name or ()]
            if operator != ["="]:
                return
            sides = (node.lexpr, node.rexpr)
            for column, value in (sides, sides[::-1]):
                fields = getattr(column, "fields", None) or ()
                text = getattr(getattr(value, "val", None), "sval", None)
                if fields and getattr(fields[-1], "sval", None) == "extname" and \
                        isinstance(text, str):
                    names.add(text)

    _Read()(tuple(statements))
    return next(iter(names)) if reads and len(names) == 1 else None

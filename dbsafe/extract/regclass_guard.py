"""The table a branch of Python code runs only where it exists, or only where it does not,
from its `if` on what the code read with `to_regclass`.

Code that shares its database with another program's tables looks for them before touching
them. MAAS's `dbupgrade` (canonical/maas, `maasserver/management/commands/dbupgrade.py`)
updates Temporal's bookkeeping table only where Temporal's own tool already made it:

    cursor.execute("SELECT to_regclass('temporal.schema_version')")
    if not cursor.fetchone()[0]:
        setup_temporal_schema = True
    else:
        cursor.execute("UPDATE temporal.schema_version set db_name = current_database()")

A statement in such a branch is never sent to a database lacking the table, so a schema
lacking it says nothing about the statement (and one sent only where the table is missing
says nothing where the schema has it). A test counts when it is (or is a name bound once to)
the first column of the row the code fetched right after sending a statement that selects
only `to_regclass('<name>')` (`cur.fetchone()[0]`, awaited or not), or a driver call sending
such a statement and returning its value (`await conn.fetchval("SELECT to_regclass('x')")`);
alone, negated, given to `bool()` or compared with `None`. `to_regclass(...) IS NOT NULL`
selected counts too, tested for its truth only (its `false` is not None). Which statement
was sent is read with PostgreSQL's parser.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

_DEPTH = 3  # names followed to what they are bound to, at most
_NOTHING: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())


def tables_where(test: ast.expr, *, holds: bool,
                 bound: Callable[[ast.Name], ast.AST | None],
                 sent_before: Callable[[ast.AST, str], str | None],
                 null_test: bool = False,
                 depth: int = 0) -> tuple[frozenset[str], frozenset[str]]:
    """The tables that exist, and those that do not, wherever `test` comes out `holds`, by
    what the code read with `to_regclass` (see the module's docstring).

    `bound` gives what a name is bound to once; `sent_before(node, cursor)` the statement
    the code sent through `cursor` in the statement just before the one holding `node`.
    `null_test`: `test` is the value a `... is None` compares (its truth is "not null").

    >>> def test(text): return ast.parse(text, mode="eval").body
    >>> sent = {"cur": "SELECT to_regclass('temporal.schema_version')",
    ...         "b": "select to_regclass('audit') is not null", "o": "SELECT 1"}
    >>> def ask(text, holds=True):
    ...     there, gone = tables_where(test(text), holds=holds, bound=lambda _: None,
    ...                                sent_before=lambda _, cursor: sent.get(cursor))
    ...     return sorted(there), sorted(gone)
    >>> ask("cur.fetchone()[0]"), ask("not cur.fetchone()[0]")
    ((['temporal.schema_version'], []), ([], ['temporal.schema_version']))
    >>> ask("cur.fetchone()[0] is None", holds=False), ask("b.fetchone()[0] is not None")
    ((['temporal.schema_version'], []), ([], []))
    >>> ask("b.fetchone()[0]"), ask("cur.fetchone()"), ask("o.fetchone()[0]")
    ((['audit'], []), ([], []), ([], []))
    >>> ask("conn.fetchval(\\"SELECT to_regclass('public.jobs')\\")", holds=False)
    ([], ['public.jobs'])
    """
    if depth > _DEPTH:
        return _NOTHING

    def again(inner: ast.expr, inner_holds: bool, *,
              nulls: bool = null_test) -> tuple[frozenset[str], frozenset[str]]:
        return tables_where(inner, holds=inner_holds, bound=bound, sent_before=sent_before,
                            null_test=nulls, depth=depth + 1)

    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return again(test.operand, not holds)
    if isinstance(test, ast.Name):
        value = bound(test)
        if isinstance(value, ast.expr) and not isinstance(value, ast.Name):
            return again(value, holds)
        return _NOTHING
    if not null_test and isinstance(test, ast.Compare) and len(test.ops) == 1 and \
            isinstance(test.ops[0], (ast.Is, ast.IsNot)) and \
            isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value is None:
        return again(test.left, holds == isinstance(test.ops[0], ast.IsNot), nulls=True)
    if isinstance(test, ast.Call) and isinstance(test.func, ast.Name) and \
            test.func.id == "bool" and len(test.args) == 1 and not test.keywords:
        return again(test.args[0], holds)
    sql = _statement_fetched(test, sent_before)
    read = None if sql is None else regclass_read(sql)
    if read is None:
        return _NOTHING
    table, boolean = read
    if null_test and boolean:
        return _NOTHING  # (`to_regclass(...) IS NOT NULL` is never null)
    return (frozenset({table}), frozenset()) if holds else (frozenset(), frozenset({table}))


def _statement_fetched(value: ast.expr,
                       sent_before: Callable[[ast.AST, str], str | None]) -> str | None:
    """The statement whose first column `value` is: `cur.fetchone()[0]` (awaited or not)
    of the statement sent through `cur` just before, or `conn.fetchval("...")`'s own."""
    if isinstance(value, ast.Await):
        value = value.value
    if isinstance(value, ast.Subscript) and isinstance(value.slice, ast.Constant) and \
            value.slice.value == 0:
        row = value.value.value if isinstance(value.value, ast.Await) else value.value
        if isinstance(row, ast.Call) and isinstance(row.func, ast.Attribute) and \
                row.func.attr == "fetchone" and not row.args and not row.keywords and \
                isinstance(row.func.value, ast.Name):
            return sent_before(value, row.func.value.id)
        return None
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and \
            value.func.attr == "fetchval" and len(value.args) == 1 and \
            isinstance(value.args[0], ast.Constant) and isinstance(value.args[0].value, str):
        return value.args[0].value
    return None


def regclass_read(sql: str) -> tuple[str, bool] | None:
    """The table `sql` looks up when it selects only `to_regclass('<name>')`, as PostgreSQL's
    parser reads it, and whether it selects `... IS NOT NULL` of it (a boolean) rather than
    the value (null where the table is missing); None for any other statement, and for a
    quoted name (its case is not the folded one).

    >>> regclass_read("SELECT pg_catalog.to_regclass('Temporal.Schema_Version'::text)")
    ('temporal.schema_version', False)
    >>> regclass_read("select to_regclass('jobs') is not null")
    ('jobs', True)
    >>> regclass_read("SELECT to_regclass('a'), 1"), regclass_read("SELECT to_regclass('a') IS NULL")
    (None, None)
    >>> regclass_read("SELECT to_regclass(name) FROM t"), regclass_read('SELECT to_regclass(\\'"A"\\')')
    (None, None)
    """
    from pglast import ast as pg
    from pglast import parse_sql
    from pglast.enums import NullTestType
    from pglast.parser import ParseError

    try:
        statements = parse_sql(sql)
    except (ParseError, ValueError, RecursionError):
        return None
    if len(statements) != 1:
        return None
    select: Any = statements[0].stmt
    if not isinstance(select, pg.SelectStmt) or select.fromClause or select.whereClause or \
            select.valuesLists or select.op != 0 or len(select.targetList or ()) != 1:
        return None
    targets: Any = select.targetList
    value: Any = targets[0].val
    boolean = False
    if isinstance(value, pg.NullTest):
        if value.nulltesttype != NullTestType.IS_NOT_NULL:
            return None
        value, boolean = value.arg, True
    if not isinstance(value, pg.FuncCall) or len(value.args or ()) != 1:
        return None
    function: Any = value
    name = [getattr(part, "sval", None) for part in function.funcname]
    if name not in (["to_regclass"], ["pg_catalog", "to_regclass"]):
        return None
    argument: Any = function.args[0]
    if isinstance(argument, pg.TypeCast):
        argument = argument.arg
    text = getattr(getattr(argument, "val", None), "sval", None) \
        if isinstance(argument, pg.A_Const) else None
    if not isinstance(text, str) or not text or '"' in text:
        return None
    return text.lower(), boolean

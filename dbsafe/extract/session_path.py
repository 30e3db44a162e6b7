"""The search path a Python function sets on a cursor before it sends a statement there.

temboard's UI reads its `monitoring` schema so:

    cur = session.connection().connection.cursor()
    cur.execute("SET search_path TO monitoring")
    sql = "SELECT datetime FROM instance_availability WHERE ..."
    query = cur.mogrify(sql, ...)

`instance_availability` is `monitoring.instance_availability` there, not the schema source's
`public` one. The path is followed only where it is certain: the statement goes through the
same variable (`cur`) the function sent `SET [SESSION] search_path TO <names>` through, that
`SET` is the only text of the function naming `search_path` and runs before the statement on
every path to it (an earlier statement of its block or of a block around it), the variable is
not bound again after it, and the function rolls nothing back (a rollback undoes a `SET` of its
transaction). Anything else (another variable, perhaps another session; a `SET LOCAL`; a path
built at run time) stays as it was: the statement is judged as the file's other `SET`s leave it
(not analysed where it reads what the schema lacks).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

_BLOCKS = ("body", "orelse", "finalbody")


def search_path_before(call: ast.Call, function: ast.AST,
                       parents: Mapping[int, ast.AST]) -> tuple[str, ...] | None:
    """The schemas of the `SET search_path` `function` certainly ran on the receiver of `call`
    (`cur` of `cur.execute(sql)`) before `call`, or None.

    >>> tree = ast.parse('''
    ... def read(session):
    ...     cur = session.cursor()
    ...     cur.execute("SET search_path TO monitoring, public")
    ...     for host in hosts:
    ...         cur.execute("SELECT 1 FROM instance_availability")
    ... ''')
    >>> parents = {id(c): p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}
    >>> function = tree.body[0]
    >>> search_path_before(function.body[2].body[0].value, function, parents)
    ('monitoring', 'public')
    """
    receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
    if not isinstance(receiver, ast.Name) or not isinstance(
            function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    setters = [node for node in ast.walk(function)
               if isinstance(node, ast.Constant) and isinstance(node.value, str)
               and "search_path" in node.value.lower()]
    if len(setters) != 1 or _rolls_back(function):
        return None
    setter = setters[0]
    sent = parents.get(id(setter))
    statement = parents.get(id(sent))
    if not (isinstance(sent, ast.Call) and sent.args and sent.args[0] is setter
            and isinstance(sent.func, ast.Attribute) and sent.func.attr == "execute"
            and isinstance(sent.func.value, ast.Name) and sent.func.value.id == receiver.id
            and isinstance(statement, ast.Expr)):
        return None
    path = _set_search_path(str(setter.value))
    if path is None or not _runs_before(statement, call, function, parents):
        return None
    if any(isinstance(node, ast.Name) and node.id == receiver.id
           and isinstance(node.ctx, ast.Store) and (node.lineno, node.col_offset) > (
               statement.lineno, statement.col_offset)
           for node in ast.walk(function)):
        return None  # bound again: perhaps another cursor
    return path


def _set_search_path(text: str) -> tuple[str, ...] | None:
    """The schemas of `SET [SESSION] search_path TO a, b` (names only, no `"$user"`)."""
    import pglast
    from pglast import ast as pg
    from pglast.enums import VariableSetKind

    try:
        statements = pglast.parse_sql(text)
    except pglast.parser.ParseError:
        return None
    if len(statements) != 1:
        return None
    node = statements[0].stmt
    if not isinstance(node, pg.VariableSetStmt) or node.name != "search_path" or \
            node.is_local or node.kind != VariableSetKind.VAR_SET_VALUE or not node.args:
        return None
    names = [getattr(arg.val, "sval", None) if isinstance(arg, pg.A_Const) else None
             for arg in node.args]
    if any(not isinstance(name, str) or name.startswith("$") for name in names):
        return None
    return tuple(name for name in names if isinstance(name, str))


def _runs_before(statement: ast.stmt, call: ast.Call, function: ast.AST,
                 parents: Mapping[int, ast.AST]) -> bool:
    """Whether `statement` comes before `call` in a block that holds it or a statement
    around it, so that every path to `call` runs it."""
    owner = parents.get(id(statement))
    ancestor = parents.get(id(call))
    while ancestor is not None and ancestor is not function:
        parent = parents.get(id(ancestor))
        if parent is owner and isinstance(ancestor, ast.stmt):
            return any(isinstance(block, list) and statement in block and ancestor in block
                       and block.index(statement) < block.index(ancestor)
                       for block in (getattr(parent, field, None) for field in _BLOCKS))
        ancestor = parent
    return False


def _rolls_back(function: ast.AST) -> bool:
    """Whether the function calls a `rollback` (a `SET` of the rolled back transaction is
    undone) or sends a `ROLLBACK`."""
    return any(
        (isinstance(node, ast.Attribute) and node.attr == "rollback")
        or (isinstance(node, ast.Constant) and isinstance(node.value, str)
            and node.value.strip().lower().startswith("rollback"))
        for node in ast.walk(function))

"""Statements as PostgreSQL's own parser (pglast) reads them."""

from __future__ import annotations

from typing import Any


def sole_statement(sql: str) -> Any | None:
    """pglast's tree of `sql` when it is exactly one statement PostgreSQL's parser accepts
    (its `stmt`, e.g. an `ast.IndexStmt`); None for text it refuses, or for none or several.

    >>> type(sole_statement("CREATE INDEX i ON t (a)")).__name__
    'IndexStmt'
    >>> sole_statement("SELECT 1; SELECT 2"), sole_statement("SELEC 1")
    (None, None)
    """
    from pglast import parse_sql
    from pglast.parser import ParseError

    try:
        statements = parse_sql(sql)
    except (ParseError, ValueError, RecursionError):
        return None
    return statements[0].stmt if len(statements) == 1 else None


# What begins or ends a transaction block (not a savepoint inside one).
_BLOCK_KINDS = ("TRANS_STMT_BEGIN", "TRANS_STMT_START", "TRANS_STMT_COMMIT",
                "TRANS_STMT_ROLLBACK", "TRANS_STMT_PREPARE")


def begins_or_ends_transaction(sql: str) -> bool:
    """Whether `sql` holds a statement that begins or ends a transaction block (`BEGIN`,
    `START TRANSACTION`, `COMMIT`, `END`, `ROLLBACK`, `ABORT`, `PREPARE TRANSACTION`), as
    PostgreSQL's parser reads it; False for text it refuses.

    >>> [begins_or_ends_transaction(s) for s in ("COMMIT", "end", "begin; select 1",
    ...      "SAVEPOINT a", "ROLLBACK TO SAVEPOINT a", "SELECT 'commit'", "COMMIT PREPARED 'x'")]
    [True, True, True, False, False, False, False]
    """
    from pglast import ast, parse_sql
    from pglast.parser import ParseError

    try:
        statements = parse_sql(sql)
    except (ParseError, ValueError, RecursionError):
        return False
    return any(isinstance(raw.stmt, ast.TransactionStmt) and raw.stmt.kind is not None
               and raw.stmt.kind.name in _BLOCK_KINDS for raw in statements)


def begins_transaction(sql: str) -> bool:
    """Whether `sql` is one `BEGIN` or `START TRANSACTION`, as PostgreSQL's parser reads it.

    >>> [begins_transaction(s) for s in ("begin", "START TRANSACTION READ ONLY", "COMMIT",
    ...                                  "BEGIN; SELECT 1", "SELECT 'begin'")]
    [True, True, False, False, False]
    """
    from pglast import ast

    statement = sole_statement(sql)
    return isinstance(statement, ast.TransactionStmt) and statement.kind is not None \
        and statement.kind.name in _BLOCK_KINDS[:2]


def setting_scope(sql: str) -> str | None:
    """How long the settings `sql` gives hold, when it only gives settings: "session" for
    `SET`, `RESET` and `SELECT set_config(name, value, false)`, "transaction" for `SET LOCAL`
    and a `set_config` whose third argument is not the constant false (its transaction's
    end undoes it); None for any other statement, or text PostgreSQL's parser refuses.

    >>> [setting_scope(s) for s in ("SET search_path TO phx", "RESET ALL",
    ...      "SET LOCAL search_path = app", "SELECT set_config('search_path', 'phx', false)",
    ...      "select pg_catalog.set_config('search_path', 'phx', true)",
    ...      "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", "SELECT 1",
    ...      "SELECT set_config('a.b', 'c', false) FROM t", "UPDATE alembic_version SET v = '1'")]
    ['session', 'session', 'transaction', 'session', 'transaction', None, None, None, None]
    """
    from pglast import ast

    statement = sole_statement(sql)
    if isinstance(statement, ast.VariableSetStmt):
        if statement.kind is not None and statement.kind.name == "VAR_SET_MULTI":
            return None  # (SET TRANSACTION ..., SET SESSION CHARACTERISTICS: no setting)
        return "transaction" if statement.is_local else "session"
    if not isinstance(statement, ast.SelectStmt) or statement.fromClause or \
            statement.whereClause or not statement.targetList:
        return None
    scope = "session"
    for target in statement.targetList:
        call = target.val
        name = call.funcname if isinstance(call, ast.FuncCall) else None
        args = call.args if isinstance(call, ast.FuncCall) else None
        if not name or name[-1].sval != "set_config" or args is None or len(args) != 3:
            return None
        local = args[2]
        if not (isinstance(local, ast.A_Const) and isinstance(local.val, ast.Boolean)
                and not local.val.boolval):
            scope = "transaction"
    return scope

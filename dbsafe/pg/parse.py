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

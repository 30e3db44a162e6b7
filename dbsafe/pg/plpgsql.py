"""What a PL/pgSQL body runs, read with PostgreSQL's own PL/pgSQL parser (pglast).

Shared by `validate` (what a script's `DO` block creates), `lint` (what it locks) and the
guard (what a trigger's function writes, `lint.body_writes`): the SQL a body runs as
written, `EXECUTE` of a string constant as that string, and `None` for SQL it builds at run
time, which no reader can know.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

# PL/pgSQL statements running SQL given as a string, and where the string is.
DYNAMIC_STATEMENTS = (("PLpgSQL_stmt_dynexecute", "query"), ("PLpgSQL_stmt_dynfors", "query"),
                      ("PLpgSQL_stmt_open", "dynquery"), ("PLpgSQL_stmt_return_query", "dynquery"))


def read_do_block(node: Mapping[str, Any]) -> tuple[Any, str | None]:
    """(the parse tree of its body, None) for a `DoStmt` (pglast's JSON form), or (None, why
    dbsafe cannot read it): written in another language, or rejected by PL/pgSQL's grammar.

    >>> from pglast.parser import parse_sql_json
    >>> def do(sql):
    ...     return json.loads(parse_sql_json(sql))["stmts"][0]["stmt"]["DoStmt"]
    >>> read_do_block(do("DO LANGUAGE plperl $$ 1 $$"))
    (None, 'is written in plperl, which dbsafe does not read')
    >>> read_do_block(do("DO $$ BEGIN not plpgsql; END $$"))[1]
    "has a body PostgreSQL's PL/pgSQL parser rejects"
    """
    body = None
    language = "plpgsql"
    for item in node.get("args", ()):
        elem = item.get("DefElem", {})
        value = (elem.get("arg") or {}).get("String", {}).get("sval")
        if elem.get("defname") == "as":
            body = value
        elif elem.get("defname") == "language" and value:
            language = value.lower()
    if body is None or language != "plpgsql":
        return None, f"is written in {language}, which dbsafe does not read"
    import pglast

    try:
        return pglast.parse_plpgsql(f"DO $dbsafe_do$ {body} $dbsafe_do$"), None
    except Exception:  # noqa: BLE001 - any PL/pgSQL parser failure
        return None, "has a body PostgreSQL's PL/pgSQL parser rejects"


def executed_sql(tree: Any, *, expressions: bool = False) -> Iterator[str | None]:
    """The SQL of every statement a `parse_plpgsql` tree runs, in order: a statement's own
    text, an `EXECUTE` of a string constant's value, None for an `EXECUTE` of anything else;
    with `expressions`, every other expression too (a condition, an assignment, a `RAISE`
    argument, a variable's default), as a `SELECT` of it (`expression_sql`).

    >>> from pglast.parser import parse_plpgsql_json
    >>> tree = json.loads(parse_plpgsql_json(
    ...     "DO $$ BEGIN CREATE TABLE a (); EXECUTE 'DROP TABLE b'; EXECUTE 'x' || n; "
    ...     "PERFORM f(1); IF g() THEN RAISE 'h'; END IF; END $$"))
    >>> list(executed_sql(tree))
    ['CREATE TABLE a ()', 'DROP TABLE b', None, 'SELECT f(1)']
    >>> list(executed_sql(tree, expressions=True))[-3:]
    ["SELECT 'x' || n", 'SELECT f(1)', 'SELECT g()']
    """
    if isinstance(tree, list):
        for item in tree:
            yield from executed_sql(item, expressions=expressions)
        return
    if not isinstance(tree, dict):
        return
    for key, value in tree.items():
        if key in ("PLpgSQL_stmt_execsql", "PLpgSQL_stmt_perform"):
            # PERFORM runs its query as a SELECT (PL/pgSQL's grammar keeps it so)
            query = expression_text(value.get("sqlstmt" if key.endswith("execsql") else "expr"))
            if query:
                yield query
            continue
        if key == "PLpgSQL_expr" and expressions:
            yield expression_sql(value.get("query") or "", value.get("parseMode", 0))
            continue
        for kind, field in DYNAMIC_STATEMENTS:
            if key == kind and isinstance(value, dict) and field in value:
                yield string_constant(expression_text(value.get(field)))
        yield from executed_sql(value, expressions=expressions)


# `PLpgSQL_expr.parseMode`: a whole statement (RAW_PARSE_DEFAULT), an expression
# (RAW_PARSE_PLPGSQL_EXPR); the others are assignments (`target := value`).
_STATEMENT_MODE, _EXPRESSION_MODE = 0, 2


def variable_names(tree: Any) -> frozenset[str]:
    """The names of the variables a `parse_plpgsql` tree declares (`DECLARE`, a loop's
    record or counter, `FOUND`): in its SQL, a column reference naming one is its value.

    >>> import pglast
    >>> sorted(variable_names(pglast.parse_plpgsql(
    ...     "DO $$ DECLARE r record; ids int[]; BEGIN FOR r IN SELECT 1 LOOP END LOOP; END $$")))
    ['found', 'ids', 'r']
    """
    names = set()
    for function in tree if isinstance(tree, list) else [tree]:
        for datum in (function or {}).get("PLpgSQL_function", {}).get("datums") or ():
            for kind, fields in datum.items():
                if kind in ("PLpgSQL_var", "PLpgSQL_rec", "PLpgSQL_row") and \
                        fields.get("refname"):
                    names.add(fields["refname"])
    return frozenset(names)


def expression_sql(text: str, mode: int) -> str:
    """A PL/pgSQL expression's text (`PLpgSQL_expr.query`, parsed in `mode`) as a statement
    PostgreSQL's SQL parser reads: an expression as a `SELECT` of it, an assignment as a
    `SELECT` of its target (whose subscripts may call functions) and its value.

    >>> expression_sql("NEW.tags[f(1)] := lower(NEW.name)", 4)
    'SELECT NEW.tags[f(1)] , lower(NEW.name)'
    """
    if mode == _STATEMENT_MODE:
        return text
    if mode == _EXPRESSION_MODE:
        return f"SELECT {text}"
    # Split at the first `:=` or `=` PostgreSQL's own scanner finds outside brackets.
    from pglast.parser import scan

    depth = 0
    for token in scan(text):
        if token.name in ("ASCII_40", "ASCII_91"):  # ( [
            depth += 1
        elif token.name in ("ASCII_41", "ASCII_93"):  # ) ]
            depth -= 1
        elif depth == 0 and token.name in ("COLON_EQUALS", "ASCII_61"):
            return f"SELECT {text[:token.start]}, {text[token.end + 1:].strip()}"
    return f"SELECT {text}"


def expression_text(expression: Any) -> str | None:
    """The text of a `PLpgSQL_expr` node."""
    if isinstance(expression, dict):
        query = expression.get("PLpgSQL_expr", {}).get("query")
        return query if isinstance(query, str) else None
    return None


def string_constant(text: str | None) -> str | None:
    """The value of `text` when it is one string constant (`'...'`, `E'...'`, `$$...$$`)
    and nothing else, else None.

    >>> string_constant("'CREATE TABLE t (a text DEFAULT ''x'')'")
    "CREATE TABLE t (a text DEFAULT 'x')"
    >>> string_constant("format('CREATE TABLE %I ()', name)") is None
    True
    """
    if text is None:
        return None
    from pglast.parser import ParseError, parse_sql_json

    try:
        tree = json.loads(parse_sql_json(f"SELECT {text}"))
        target = tree["stmts"][0]["stmt"]["SelectStmt"]["targetList"]
    except (ParseError, ValueError, RecursionError, KeyError, IndexError, TypeError):
        return None
    if len(target) != 1:
        return None
    value = target[0].get("ResTarget", {}).get("val", {}).get("A_Const", {}).get("sval")
    return value.get("sval") if isinstance(value, dict) else None

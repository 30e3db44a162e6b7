"""Which tables a statement may fill with rows its text does not count.

A table a pending migration creates is empty when a later statement locks or rewrites it
(`lint --database-url` weighs such a finding as a note: `dbsafe.lint.run._weigh`), unless a
statement in between copied rows into it: an INSERT or MERGE whose rows come from a query
reading a table or calling a function (`INSERT INTO new SELECT ... FROM orders`), `COPY ...
FROM`, `CREATE TABLE ... AS` or `CREATE MATERIALIZED VIEW` with data. Rows a statement
spells out (`VALUES`, a `SELECT` of constants, an `INSERT ... RETURNING` of those in a
`WITH`) are a handful and leave it "empty". A statement lint cannot read (one PostgreSQL's
grammar refused, a DO block building its SQL) may fill any table.

>>> from dbsafe.lint.statement import parse_statement
>>> list(filled_by(parse_statement("INSERT INTO new SELECT * FROM orders")))
[('new', '`INSERT ... SELECT`')]
>>> list(filled_by(parse_statement("INSERT INTO new VALUES (1), (2)")))
[]
>>> list(filled_by(parse_statement(
...     "WITH s AS (INSERT INTO skills (name) VALUES ('a') RETURNING id) "
...     "INSERT INTO skill_files (skill_id) SELECT id FROM s")))
[]
>>> list(filled_by(parse_statement("INSERT INTO new SELECT generate_series(1, 1000000)")))
[('new', '`INSERT ... SELECT`')]
>>> list(filled_by(parse_statement("COPY new FROM STDIN")))
[('new', '`COPY ... FROM`')]
>>> list(filled_by(parse_statement("CREATE TABLE new AS SELECT * FROM orders WITH NO DATA")))
[]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dbsafe.lint.statement import range_var, walk

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from dbsafe.lint.statement import Statement

# The statements that may add rows, at their top or in a data-modifying WITH (the others'
# trees are not walked: a history's thousands of DDL statements stay cheap).
_DATA = frozenset({"InsertStmt", "MergeStmt", "CopyStmt", "SelectStmt", "UpdateStmt",
                   "DeleteStmt"})
_CREATES_WITH_ROWS = {"OBJECT_TABLE": "`CREATE TABLE ... AS`",
                      "OBJECT_MATVIEW": "`CREATE MATERIALIZED VIEW`"}


def filled_by(s: Statement) -> Iterator[tuple[str | None, str]]:
    """(table, what fills it) for each table the statement may add rows to that its text
    does not count; table None: any table (lint cannot read what the statement runs). A
    function's body runs when it is called, not here: nothing."""
    if s.deferred:
        return
    if s.error is not None:
        yield None, "a statement PostgreSQL's parser rejected"
        return
    if s.kind == "DoStmt" and s.unread is not None:
        yield None, "a DO block whose SQL cannot be read"
        return
    node = s.node
    if s.kind == "CreateTableAsStmt":
        into = node.get("into") or {}
        if not into.get("skipData") and not _counted(node.get("query"), frozenset()):
            yield range_var(into.get("rel")) or "", _CREATES_WITH_ROWS.get(
                node.get("objtype", ""), "`CREATE TABLE ... AS`")
        return
    if s.kind not in _DATA:
        return
    for kind, fields in [(s.kind, node), *walk(node)]:
        if kind == "CopyStmt" and fields.get("is_from") and fields.get("relation"):
            yield range_var(fields["relation"]) or "", "`COPY ... FROM`"
        elif kind == "MergeStmt":
            yield range_var(fields.get("relation")) or "", "`MERGE`"
        elif kind == "InsertStmt" and not _counted(
                fields.get("selectStmt"), _counted_ctes(node) | _counted_ctes(fields)):
            yield range_var(fields.get("relation")) or "", "`INSERT ... SELECT`"


def _counted_ctes(fields: Mapping[str, Any]) -> frozenset[str]:
    """The names of a statement's own `WITH` queries whose rows its text counts."""
    names: frozenset[str] = frozenset()
    for cte in (fields.get("withClause") or {}).get("ctes") or ():
        cte = cte.get("CommonTableExpr", cte)
        query = cte.get("ctequery") or {}
        inserted = query.get("InsertStmt")  # (`INSERT ... RETURNING`: a row per row added)
        if _counted(query, names) or (inserted is not None and _counted(
                inserted.get("selectStmt"), names | _counted_ctes(inserted))):
            names |= {cte.get("ctename", "")}
    return names


def _counted(query: dict[str, Any] | None, ctes: frozenset[str]) -> bool:
    """Does a query (an INSERT's rows) give rows its text counts: `VALUES`, a `SELECT` with
    no FROM calling no function (`generate_series` may return any number of rows), or one
    reading only `WITH` queries in `ctes`; a UNION of such. None (`INSERT ... DEFAULT
    VALUES`): one row."""
    if query is None:
        return True
    fields = query.get("SelectStmt", query)
    if not isinstance(fields, dict) or not fields:
        return False
    if fields.get("op", "SETOP_NONE") != "SETOP_NONE":
        return _counted(fields.get("larg"), ctes) and _counted(fields.get("rarg"), ctes)
    ctes = ctes | _counted_ctes(fields)
    if fields.get("valuesLists"):
        return True
    sources = fields.get("fromClause") or ()
    if not sources:
        return not any(kind == "FuncCall" for kind, _ in walk(fields.get("targetList")))
    return all("RangeVar" in item and not item["RangeVar"].get("schemaname")
               and item["RangeVar"].get("relname") in ctes for item in sources)

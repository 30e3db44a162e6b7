"""Definitions PostgreSQL prints in one form and reads back in another.

`pg_get_constraintdef`, `pg_get_indexdef` and `pg_get_viewdef` are not fixed points: what
they print, created again (by `pg_dump` and a restore, or by `dbsafe diff --sql`), is
stored as a slightly different tree and printed differently, while it means the same. Two
such forms are the same definition, not a difference, or no restored copy and no script
would ever compare equal:

- A cast of an `ARRAY[...]` constructor: the parser casts each element instead
  (`transformArrayExpr` hands the array type down), so `col IN ('a', 'b')` on a varchar,
  printed `(ARRAY['a'::character varying, 'b'::character varying])::text[]`, reads back as
  `ARRAY[('a'::character varying)::text, ('b'::character varying)::text]`.
- The column names of a UNION's (INTERSECT's, EXCEPT's) other branches, which name nothing
  (the first branch names the columns): `SELECT a ... UNION ALL SELECT NULL` prints the
  second branch's `NULL::integer`, which reads back named `int4` and prints as
  `NULL::integer AS int4`.
"""

from __future__ import annotations

import json
from typing import Any


def same_definition(kind: str, a: str, b: str) -> bool:
    """Whether definitions `a` and `b` of an object of `kind` (`constraint`, `index`,
    `view`, `materialized_view`) read back as the same tree.

    >>> same_definition("constraint",
    ...     "CHECK (((kind)::text = ANY ((ARRAY['a'::character varying, "
    ...     "'b'::character varying])::text[])))",
    ...     "CHECK (((kind)::text = ANY (ARRAY[('a'::character varying)::text, "
    ...     "('b'::character varying)::text])))")
    True
    >>> same_definition("view", " SELECT a FROM t UNION ALL SELECT NULL::integer FROM u;",
    ...                 " SELECT a FROM t UNION ALL SELECT NULL::integer AS int4 FROM u;")
    True
    >>> same_definition("view", " SELECT a FROM t;", " SELECT a AS b FROM t;")
    False
    """
    trees = [_tree(kind, text) for text in (a, b)]
    return trees[0] is not None and trees[0] == trees[1]


def _tree(kind: str, text: str) -> Any | None:
    from pglast.parser import ParseError, parse_sql_json

    sql = f"ALTER TABLE t ADD {text}" if kind == "constraint" else text
    try:
        tree = json.loads(parse_sql_json(sql))
    except (ParseError, ValueError, RecursionError):
        return None
    return _canonical(tree["stmts"])


def _canonical(node: Any, *, names_columns: bool = True) -> Any:
    """`node` (pglast's JSON tree) without positions, in the form PostgreSQL reads back."""
    if isinstance(node, list):
        return [_canonical(item) for item in node]
    if not isinstance(node, dict):
        return node
    cast = node.get("TypeCast")
    if cast is not None and "A_ArrayExpr" in cast["arg"] and cast["typeName"].get("arrayBounds"):
        element = dict(cast["typeName"], arrayBounds=cast["typeName"]["arrayBounds"][1:])
        if not element["arrayBounds"]:
            del element["arrayBounds"]
        items = cast["arg"]["A_ArrayExpr"].get("elements", [])
        return _canonical({"A_ArrayExpr": {"elements": [
            {"TypeCast": {"arg": item, "typeName": element}} for item in items]}})
    select = node.get("SelectStmt")
    if select is not None and select.get("op", "SETOP_NONE") != "SETOP_NONE":
        return {"SelectStmt": {
            **{k: _canonical(v) for k, v in select.items() if k not in ("larg", "rarg")},
            "larg": _canonical({"SelectStmt": select["larg"]}, names_columns=names_columns),
            "rarg": _canonical({"SelectStmt": select["rarg"]}, names_columns=False)}}
    if select is not None and not names_columns:
        targets = [{"ResTarget": {k: v for k, v in t["ResTarget"].items() if k != "name"}}
                   for t in select.get("targetList", ())]
        node = {"SelectStmt": dict(select, targetList=targets)}
    return {key: _canonical(value) for key, value in node.items()
            if key not in ("location", "list_start", "list_end", "stmt_location", "stmt_len")}

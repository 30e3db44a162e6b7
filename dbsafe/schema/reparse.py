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

And what servers of different major versions print for one definition: a live database on
PostgreSQL 13-17 compared with the migrations built on dbsafe's 18 (`dbsafe drift`,
`dbsafe diff`), or a backup restored on another version.

- A column of a query level whose FROM holds one relation: up to PostgreSQL 15 a view's
  column references are all qualified (`customers.id`, `c.id`: its rule's range table held
  OLD and NEW besides the relation), from 16 those of a level with one relation are not
  (`id`). The qualifier naming a level's only FROM item names nothing the bare column
  does not (`_sole_unqualified`); a reference to an outer level keeps it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
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
    >>> same_definition("view", " SELECT customers.id FROM customers WHERE customers.a > 0;",
    ...                 " SELECT id FROM customers WHERE a > 0;")  # 15 and 16+
    True
    >>> same_definition("view", " SELECT c.id FROM customers c;", " SELECT id FROM customers c;")
    True
    >>> same_definition("view", " SELECT c.id FROM customers c;", " SELECT b FROM customers c;")
    False
    """
    trees = [_tree(kind, text) for text in (a, b)]
    return trees[0] is not None and trees[0] == trees[1]


def same_but_moments(kind: str, a: str, b: str, since: datetime) -> bool:
    """Whether definitions (or column defaults) `a` and `b` differ only in date and time
    constants, those of one side from `since` until now: the moments PostgreSQL stored
    them. `'now'::timestamp`, `'today'::date` and the like are turned into a constant when
    their statement runs, so an object made twice from one migration prints two constants;
    one made at `since` or later (on dbsafe's throwaway) matches any constant of its type.

    >>> since = datetime(2026, 1, 1, tzinfo=UTC)
    >>> made = " SELECT id FROM t WHERE (at < ('{}'::timestamp without time zone - '1 mon'::interval));"
    >>> same_but_moments("view", made.format("2026-02-03 04:05:06.7"),
    ...                  made.format("2019-05-06 07:08:09"), since)
    True
    >>> same_but_moments("view", made.format("2025-02-03 04:05:06.7"),
    ...                  made.format("2019-05-06 07:08:09"), since)
    False
    >>> same_but_moments("column", "'2026-02-03'::date", "'2099-01-01'::date", since)
    True
    >>> same_but_moments("column", "'2099-01-01'::date", "'2099-02-01'::date", since)
    False
    """
    if kind == "column":
        kind, a, b = "view", f"SELECT {a}", f"SELECT {b}"
    trees = [_tree(kind, text) for text in (a, b)]
    if trees[0] is None or trees[1] is None:
        return False
    until = datetime.now(UTC)
    return _matches(trees[0], trees[1], since, until)


# Types whose constant a word like 'now' or 'today' turns into the moment it was read.
_MOMENT_TYPES = frozenset({"timestamp", "timestamptz", "date"})


def _constant(node: Any) -> tuple[str, datetime] | None:
    """The type and value of `node` when it is a date/time constant (`'...'::timestamp`)."""
    cast = node.get("TypeCast") if isinstance(node, dict) else None
    if cast is None:
        return None
    names = [n["String"]["sval"] for n in cast["typeName"].get("names", ()) if "String" in n]
    text = cast["arg"].get("A_Const", {}).get("sval", {}).get("sval")
    if not names or names[-1] not in _MOMENT_TYPES or not isinstance(text, str):
        return None
    try:
        return names[-1], datetime.fromisoformat(text)
    except ValueError:  # 'infinity', a BC date
        return None


# A `timestamp` or `date` is folded in the zone of the session that ran the statement
# (the throwaway server's, which initdb took from its machine), unknown here: within a
# zone's offset of the window is the window.
_ZONE_SLACK = timedelta(hours=14)


def _moment(node: Any, since: datetime, until: datetime) -> str | None:
    """The type of `node` when it is a date/time constant from `since` until `until`.

    >>> since, until = datetime(2026, 1, 1, 12, tzinfo=UTC), datetime(2026, 1, 1, 13, tzinfo=UTC)
    >>> at = lambda text, kind: {"TypeCast": {"arg": {"A_Const": {"sval": {"sval": text}}},
    ...                          "typeName": {"names": [{"String": {"sval": kind}}]}}}
    >>> _moment(at("2026-01-01 12:30:00+00", "timestamptz"), since, until)
    'timestamptz'
    >>> _moment(at("2026-01-01 14:30:00+00", "timestamptz"), since, until) is None
    True
    >>> _moment(at("2026-01-01 21:30:00", "timestamp"), since, until)  # folded in UTC+9
    'timestamp'
    >>> _moment(at("2026-01-01", "date"), since, until), _moment(at("2026-01-03", "date"),
    ...                                                          since, until)
    ('date', None)
    """
    found = _constant(node)
    if found is None:
        return None
    kind, value = found
    if value.tzinfo is None:
        value, since, until = value.replace(tzinfo=UTC), since - _ZONE_SLACK, until + _ZONE_SLACK
    if kind == "date":  # the day `since` falls on counts
        since = since.replace(hour=0, minute=0, second=0, microsecond=0)
    return kind if since <= value <= until else None


def _matches(a: Any, b: Any, since: datetime, until: datetime) -> bool:
    """`a` and `b` equal, a moment (`_moment`) on either side equal to any constant of its
    type on the other."""
    if isinstance(a, dict) and isinstance(b, dict) and "TypeCast" in a and "TypeCast" in b:
        kind = _moment(a, since, until) or _moment(b, since, until)
        if kind is not None:
            return all((_constant(n) or ("",))[0] == kind for n in (a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_matches(a[k], b[k], since, until) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_matches(x, y, since, until) for x, y in zip(a, b))
    return bool(a == b)


def _tree(kind: str, text: str) -> Any | None:
    from pglast.parser import ParseError, parse_sql_json

    sql = f"ALTER TABLE t ADD {text}" if kind == "constraint" else text
    try:
        tree = json.loads(parse_sql_json(sql))
    except (ParseError, ValueError, RecursionError):
        return None
    return _canonical(_sole_unqualified(tree["stmts"]))


def _sole_unqualified(node: Any, sole: str | None = None) -> Any:
    """`node` (pglast's JSON tree) with the qualifier of each column reference that names
    `sole`, the only FROM item of the query level it is in, taken off: PostgreSQL 16 and
    later print a view's columns so (`id`), 15 and earlier qualified (`customers.id`).

    Within that level the bare name finds the same column: a level's own FROM is searched
    before any outer one, and its only item has the column the qualified reference names.
    A reference to an outer level (`c.id` in `EXISTS (SELECT 1 FROM o WHERE o.a = c.id)`)
    names another item and keeps its qualifier; FROM itself is read with no sole item (a
    function's arguments there see outer levels only).

    >>> ref = lambda *names: {"ColumnRef": {"fields": [{"String": {"sval": n}} for n in names]}}
    >>> level = {"SelectStmt": {"op": "SETOP_NONE", "targetList": [ref("t", "a"), ref("u", "b")],
    ...          "fromClause": [{"RangeVar": {"relname": "x", "alias": {"aliasname": "t"}}}]}}
    >>> _sole_unqualified(level)["SelectStmt"]["targetList"] == [ref("a"), ref("u", "b")]
    True
    """
    if isinstance(node, list):
        return [_sole_unqualified(item, sole) for item in node]
    if not isinstance(node, dict):
        return node
    select = node.get("SelectStmt")
    if select is not None:
        return {"SelectStmt": _level(select)}
    ref = node.get("ColumnRef")
    if ref is not None and sole is not None:
        fields = ref.get("fields", ())
        if len(fields) == 2 and all("String" in f for f in fields) \
                and fields[0]["String"]["sval"] == sole:
            return {"ColumnRef": dict(ref, fields=fields[1:])}
    return {key: _sole_unqualified(value, sole) for key, value in node.items()}


def _level(select: dict[str, Any]) -> dict[str, Any]:
    """A SelectStmt's fields (`_sole_unqualified`); a set operation's branches are levels of
    their own, its ORDER BY names output columns."""
    if select.get("op", "SETOP_NONE") != "SETOP_NONE":
        return {key: _level(value) if key in ("larg", "rarg") else _sole_unqualified(value)
                for key, value in select.items()}
    sole = _sole_name(select.get("fromClause", ()))
    return {key: _sole_unqualified(value, None if key == "fromClause" else sole)
            for key, value in select.items()}


def _sole_name(items: Any) -> str | None:
    """The name a FROM clause's only item is referred to by (its alias, else a table's
    name), or None when there are several, a join, or an item of another kind."""
    if len(items) != 1:
        return None
    item = items[0]
    if "RangeTableSample" in item:  # `t TABLESAMPLE ...` is `t`'s
        item = item["RangeTableSample"]["relation"]
    for kind in ("RangeVar", "RangeSubselect", "RangeFunction"):
        if kind in item:
            alias = item[kind].get("alias")
            if alias is not None:
                return str(alias["aliasname"])
            return str(item[kind]["relname"]) if kind == "RangeVar" else None
    return None


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

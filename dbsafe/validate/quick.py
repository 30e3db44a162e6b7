"""The quick check: a plain statement whose every table and column is known is clean.

Most statements an application runs are plain: one SELECT, INSERT, UPDATE or DELETE over
named tables, reading and writing their columns, with parameters and constants. Parsing
them with sqlglot is most of what validating them costs (about 90 µs a statement, the
resolver's walk another 40). For those statements PostgreSQL's own parser (pglast, about
10 µs) and a short walk over its tree can prove every name resolves, in the scope
PostgreSQL would look it up in: then there is nothing to report, and the resolver is not run.

The check only ever says "clean" or "not sure". Anything it does not fully understand goes
to the resolver: a subquery, a CTE, a set operation, a function in FROM, an ON CONFLICT
clause, a cast to a `reg*` type, a name it cannot find, a name found twice, comments,
dollar quotes, `E''` strings. So a finding always comes from the resolver, with its span and
its help; tests/validate/test_quick.py holds every "clean" to the resolver's verdict and to
PostgreSQL's over the test corpora and generated statements.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import msgspec
from pglast.parser import parse_sql_json

if TYPE_CHECKING:
    from dbsafe.schema.model import Relation, SchemaSnapshot

# Where the placeholder rewrite must look: quotes, driver placeholders, and what makes a
# plain reading of the text unsure (comments, dollar quotes, backslashes, `?`, array slices
# whose `:` reads like a named placeholder).
_MARKS = re.compile(r"""[%:?\\\[$'"&]|--|/\*""")
_STRING = re.compile(r"'(?:[^']|'')*'")
_IDENTIFIER = re.compile(r'"(?:[^"]|"")*"')
_PERCENT = re.compile(r"%(?:\(\w+\))?s")
_NAMED = re.compile(r":[A-Za-z_]\w*")
_PREFIXES = frozenset("eEbBxXnN")  # E'...', B'...', X'...', N'...': not plain strings

_SYSTEM_SCHEMAS = frozenset({"pg_catalog", "information_schema", "pg_toast"})
# Functions whose string argument names a relation PostgreSQL looks up (the resolver
# checks it).
_REGCLASS_FUNCTIONS = frozenset({
    "nextval", "currval", "setval", "pg_relation_size", "pg_total_relation_size",
    "pg_table_size", "pg_indexes_size"})
_SELECT_KEYS = frozenset({
    "targetList", "fromClause", "whereClause", "groupClause", "havingClause", "sortClause",
    "limitCount", "limitOffset", "limitOption", "op", "distinctClause"})
_VALUES_KEYS = frozenset({"valuesLists", "limitOption", "op"})
_INSERT_KEYS = frozenset({"relation", "cols", "selectStmt", "returningClause", "override"})
_UPDATE_KEYS = frozenset({"relation", "targetList", "whereClause", "fromClause",
                          "returningClause"})
_DELETE_KEYS = frozenset({"relation", "usingClause", "whereClause", "returningClause"})
_RANGE_VAR_KEYS = frozenset({"schemaname", "relname", "inh", "relpersistence", "alias",
                             "location"})
_JOIN_KEYS = frozenset({"jointype", "larg", "rarg", "quals", "rtindex"})
_FUNC_CALL_KEYS = frozenset({"funcname", "args", "agg_order", "agg_filter", "agg_star",
                             "agg_distinct", "agg_within_group", "func_variadic", "funcformat",
                             "location"})
_EXPRESSION_KINDS = frozenset({
    "AEXPR_OP", "AEXPR_OP_ANY", "AEXPR_OP_ALL", "AEXPR_DISTINCT", "AEXPR_NOT_DISTINCT",
    "AEXPR_NULLIF", "AEXPR_IN", "AEXPR_LIKE", "AEXPR_ILIKE", "AEXPR_SIMILAR", "AEXPR_BETWEEN",
    "AEXPR_NOT_BETWEEN", "AEXPR_BETWEEN_SYM", "AEXPR_NOT_BETWEEN_SYM"})
_decode = msgspec.json.Decoder().decode


class _Unsure(Exception):
    """Something the quick check does not prove: the resolver decides."""


Scope = list[tuple[str, "Relation"]]  # (the name a FROM item is visible by, its relation)


class QuickCheck:
    """Proves plain statements clean against one snapshot (one per `Resolver`)."""

    def __init__(self, snapshot: SchemaSnapshot) -> None:
        self.snapshot = snapshot
        self._columns: dict[int, frozenset[str]] = {}  # id(relation) -> its column names

    def clean(self, sql: str) -> bool:
        """Whether `sql` is one plain statement whose every table and column is known."""
        text = _numbered(sql)
        if text is None:
            return False
        try:
            statements = _decode(parse_sql_json(text)).get("stmts", ())
        except Exception:  # noqa: BLE001 - PostgreSQL rejects it, or a pglast bug: not sure
            return False
        if len(statements) != 1:
            return False
        try:
            self._statement(statements[0]["stmt"])
        except (_Unsure, KeyError, TypeError, ValueError, AttributeError):
            return False
        return True

    # -- statements ------------------------------------------------------------------------

    def _statement(self, node: dict[str, Any]) -> None:
        ((kind, body),) = node.items()
        if kind == "SelectStmt":
            self._select(body)
        elif kind == "InsertStmt":
            self._insert(body)
        elif kind == "UpdateStmt":
            _only(body, _UPDATE_KEYS)
            target = [self._range_var(body["relation"])]
            scope = _distinct(target + self._from(body.get("fromClause", ())))
            for item in body["targetList"]:
                self._set_target(item, target[0][1], scope)
            self._expression(body.get("whereClause"), scope)
            self._returning(body.get("returningClause"), scope)
        elif kind == "DeleteStmt":
            _only(body, _DELETE_KEYS)
            scope = _distinct([self._range_var(body["relation"]),
                               *self._from(body.get("usingClause", ()))])
            self._expression(body.get("whereClause"), scope)
            self._returning(body.get("returningClause"), scope)
        else:
            raise _Unsure

    def _select(self, body: dict[str, Any]) -> None:
        _only(body, _SELECT_KEYS)
        if body.get("op", "SETOP_NONE") != "SETOP_NONE":
            raise _Unsure
        scope = _distinct(self._from(body.get("fromClause", ())))
        for item in body.get("targetList", ()):
            target = _single(item, "ResTarget")
            if "indirection" in target:
                raise _Unsure
            self._expression(target["val"], scope)
        for key in ("whereClause", "havingClause"):
            self._expression(body.get(key), scope)
        # Unresolved names in GROUP BY and ORDER BY may be output columns: not sure.
        for item in body.get("groupClause", ()):
            self._expression(item, scope)
        for item in body.get("sortClause", ()):
            self._expression(_single(item, "SortBy")["node"], scope)
        for item in body.get("distinctClause", ()):
            if item:  # DISTINCT alone is a list holding one empty node
                self._expression(item, scope)
        for key in ("limitCount", "limitOffset"):
            self._expression(body.get(key), [])  # variables are not allowed there

    def _insert(self, body: dict[str, Any]) -> None:
        _only(body, _INSERT_KEYS)
        name, relation = self._range_var(body["relation"])
        for item in body.get("cols", ()):
            target = _single(item, "ResTarget")
            if "indirection" in target or target["name"] not in self._names(relation):
                raise _Unsure
        source = body.get("selectStmt")
        if source is not None:
            select = _single(source, "SelectStmt")
            if "valuesLists" in select:
                _only(select, _VALUES_KEYS)
                for row in select["valuesLists"]:
                    for value in _single(row, "List")["items"]:
                        self._expression(value, [])  # a column there is an error
            else:
                self._select(select)  # its own scope: the target is not visible in it
        self._returning(body.get("returningClause"), [(name, relation)])

    def _set_target(self, item: dict[str, Any], relation: Relation, scope: Scope) -> None:
        target = _single(item, "ResTarget")
        if "indirection" in target or target["name"] not in self._names(relation):
            raise _Unsure  # `SET t.col`, `SET a[1]`, `SET (a, b) = ...`, an unknown column
        self._expression(target["val"], scope)

    def _returning(self, clause: dict[str, Any] | None, scope: Scope) -> None:
        if clause is None:
            return
        _only(clause, frozenset({"exprs"}))  # WITH (OLD AS o, ...) is not plain
        for item in clause["exprs"]:
            target = _single(item, "ResTarget")
            if "indirection" in target:
                raise _Unsure
            self._expression(target["val"], scope)

    # -- FROM ------------------------------------------------------------------------------

    def _from(self, items: Any) -> Scope:
        scope: Scope = []
        for item in items:
            scope.extend(self._from_item(item))
        return scope

    def _from_item(self, node: dict[str, Any]) -> Scope:
        ((kind, body),) = node.items()
        if kind == "RangeVar":
            return [self._range_var(body)]
        if kind == "JoinExpr":
            _only(body, _JOIN_KEYS)  # no USING, NATURAL or alias of the join
            joined = _distinct(self._from_item(body["larg"]) + self._from_item(body["rarg"]))
            # ON sees the items this join joins, and nothing else of the FROM list.
            self._expression(body.get("quals"), joined)
            return joined
        raise _Unsure

    def _range_var(self, body: dict[str, Any]) -> tuple[str, Relation]:
        _only(body, _RANGE_VAR_KEYS)
        name: str = body["relname"]
        schema: str | None = body.get("schemaname")
        # pg_catalog is searched first and its relations all start with pg_; system schemas
        # are not in snapshots.
        if name.startswith("pg_") or (schema is not None and (
                schema in _SYSTEM_SCHEMAS or schema.startswith("pg_"))):
            raise _Unsure
        relation = self.snapshot.find_relation(name, schema)
        if relation is None:
            raise _Unsure
        alias = body.get("alias")
        if alias is None:
            return name, relation
        if "colnames" in alias:
            raise _Unsure
        return alias["aliasname"], relation

    # -- expressions -----------------------------------------------------------------------

    def _expression(self, node: dict[str, Any] | None, scope: Scope) -> None:
        if node is None:
            return
        ((kind, body),) = node.items()
        if kind == "ColumnRef":
            self._column(body["fields"], scope)
        elif kind in ("A_Const", "ParamRef", "SQLValueFunction", "SetToDefault"):
            pass
        elif kind == "A_Expr":
            if body["kind"] not in _EXPRESSION_KINDS:
                raise _Unsure
            self._expression(body.get("lexpr"), scope)
            self._expression(body.get("rexpr"), scope)
        elif kind == "List":
            for item in body.get("items", ()):
                self._expression(item, scope)
        elif kind in ("BoolExpr", "CoalesceExpr", "MinMaxExpr"):
            for item in body["args"]:
                self._expression(item, scope)
        elif kind in ("NullTest", "BooleanTest"):
            self._expression(body["arg"], scope)
        elif kind == "TypeCast":
            # `'name'::regclass` looks a relation up by a string: the resolver checks it.
            if _single(body["typeName"]["names"][-1], "String")["sval"].startswith("reg"):
                raise _Unsure
            self._expression(body["arg"], scope)
        elif kind == "FuncCall":
            _only(body, _FUNC_CALL_KEYS)  # no OVER (window functions)
            if _single(body["funcname"][-1], "String")["sval"] in _REGCLASS_FUNCTIONS:
                raise _Unsure
            for item in body.get("args", ()):
                self._expression(item, scope)
            for item in body.get("agg_order", ()):
                self._expression(_single(item, "SortBy")["node"], scope)
            self._expression(body.get("agg_filter"), scope)
        elif kind == "CaseExpr":
            self._expression(body.get("arg"), scope)
            for item in body["args"]:
                when = _single(item, "CaseWhen")
                self._expression(when["expr"], scope)
                self._expression(when["result"], scope)
            self._expression(body.get("defresult"), scope)
        elif kind == "A_ArrayExpr":
            for item in body.get("elements", ()):
                self._expression(item, scope)
        else:
            raise _Unsure

    def _column(self, fields: list[dict[str, Any]], scope: Scope) -> None:
        if len(fields) == 1:
            if "A_Star" in fields[0]:
                if not scope:
                    raise _Unsure  # SELECT * with no FROM
                return
            name = _single(fields[0], "String")["sval"]
            # Exactly one FROM item has it: none is a finding (or an output column, a
            # whole-row reference, a system column), two are ambiguous.
            if sum(name in self._names(relation) for _, relation in scope) != 1:
                raise _Unsure
            return
        if len(fields) != 2:
            raise _Unsure  # schema.table.column: the resolver reads those
        qualifier = _single(fields[0], "String")["sval"]
        if qualifier in ("old", "new"):
            raise _Unsure  # RETURNING old.x / new.x: PostgreSQL 18's, or a table's alias
        matches = [relation for visible, relation in scope if visible == qualifier]
        if len(matches) != 1:
            raise _Unsure
        if "A_Star" in fields[1]:
            return
        if _single(fields[1], "String")["sval"] not in self._names(matches[0]):
            raise _Unsure  # a finding, a system column, or attribute notation `p.f`
        return

    def _names(self, relation: Relation) -> frozenset[str]:
        names = self._columns.get(id(relation))
        if names is None:
            names = self._columns[id(relation)] = frozenset(c.name for c in relation.columns)
        return names


def _numbered(sql: str) -> str | None:
    """`sql` with driver placeholders (`%s`, `%(name)s`, `:name`) as `$n`, for pglast; None
    when the text holds anything that makes this reading unsure."""
    pieces: list[str] = []
    last = pos = 0
    number = 100  # above any `$n` the statement has itself: only the parse matters here
    search = _MARKS.search
    while (match := search(sql, pos)) is not None:
        mark, at = match.group(), match.start()
        if mark in "'\"":
            if mark == "'" and at and sql[at - 1] in _PREFIXES and not _in_word(sql, at - 1):
                return None
            quoted = (_STRING if mark == "'" else _IDENTIFIER).match(sql, at)
            if quoted is None:
                return None  # unterminated
            pos = quoted.end()
            continue
        if mark == "&":
            if at and sql[at - 1] in "uU" and not _in_word(sql, at - 1):
                return None  # U&'...' or U&"...": escapes
            pos = at + 1
            continue
        if mark == ":":
            if at and (sql[at - 1] == ":" or _in_word(sql, at)):
                pos = at + 1  # `::type`, or `x:` (not a placeholder: as the resolver reads it)
                continue
            placeholder = _NAMED.match(sql, at)
            if placeholder is None:
                pos = at + 1  # `::` ahead, or a lone colon PostgreSQL will judge
                continue
        elif mark == "%":
            placeholder = _PERCENT.match(sql, at)
            if placeholder is None:
                return None  # `%%` or a modulo: psycopg's business
        elif mark == "$" and sql[at + 1:at + 2].isdigit():
            pos = at + 1  # $1: PostgreSQL's own parameter
            continue
        else:
            return None  # ?, \, [, --, /*, a dollar quote
        number += 1
        pieces.append(sql[last:at])
        pieces.append(f"${number}")
        last = pos = placeholder.end()
    if not pieces:
        return sql
    pieces.append(sql[last:])
    return "".join(pieces)


def _in_word(sql: str, at: int) -> bool:
    """Whether the character before `at` goes on a word (so `sql[at]` is inside one)."""
    if at == 0:
        return False
    before = sql[at - 1]
    return before.isalnum() or before in "_$"


def _single(node: dict[str, Any], kind: str) -> dict[str, Any]:
    body = node.get(kind)
    if body is None or len(node) != 1:
        raise _Unsure
    return body


def _only(body: dict[str, Any], allowed: frozenset[str]) -> None:
    for key in body:
        if key not in allowed:
            raise _Unsure


def _distinct(scope: Scope) -> Scope:
    """`scope`, unless two FROM items share a name (PostgreSQL rejects that)."""
    if len({name for name, _ in scope}) != len(scope):
        raise _Unsure
    return scope

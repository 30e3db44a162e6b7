"""The quick check: a plain statement whose every table and column is known is clean.

Most statements an application runs are plain: one SELECT, INSERT, UPDATE or DELETE over
named tables, reading and writing their columns, with parameters and constants, perhaps
subqueries, simple CTEs or an ON CONFLICT clause. Parsing
them with sqlglot is most of what validating them costs (about 90 µs a statement, the
resolver's walk another 40). For those statements PostgreSQL's own parser (pglast, about
10 µs) and a short walk over its tree can prove every name resolves, in the scope
PostgreSQL would look it up in: then there is nothing to report, and the resolver is not run.

The check only ever says "clean" or "not sure". Anything it does not fully understand goes
to the resolver: a set operation, a recursive CTE, a function or subquery in FROM, a
window, a cast to a `reg*` type, a name it cannot find, a name found twice, comments,
dollar quotes, `E''` strings. So a finding always comes from the resolver, with its span and
its help; tests/validate/test_quick.py holds every "clean" to the resolver's verdict and to
PostgreSQL's over the test corpora and generated statements.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import msgspec
from pglast.parser import parse_sql_json

from dbsafe.validate.per_snapshot import PerSnapshot

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
_BEFORE_ROWS = re.compile(r"(?<![\w$])values\s*\Z", re.IGNORECASE)
_PREFIXES = frozenset("eEbBxXnN")  # E'...', B'...', X'...', N'...': not plain strings
# The numbers of the parameters standing for the rows a driver writes (`VALUES %s`) start
# here: a row of one of them has any number of values.
_DRIVER_ROWS = 100_000

# Shared with the resolver (which imports this module; the converse would load sqlglot).
# Schemas whose contents are always there but not in snapshots: known, never checked.
SYSTEM_SCHEMAS = frozenset({"pg_catalog", "information_schema", "pg_toast"})
# Functions of pg_catalog whose first parameter is a regclass: a string argument is looked
# up as a relation when the statement is parsed.
REGCLASS_FUNCTIONS = frozenset({
    "nextval", "currval", "setval", "pg_relation_size", "pg_total_relation_size",
    "pg_table_size", "pg_indexes_size"})
_SELECT_KEYS = frozenset({
    "withClause", "targetList", "fromClause", "whereClause", "groupClause", "havingClause",
    "sortClause", "limitCount", "limitOffset", "limitOption", "op", "distinctClause"})
_VALUES_KEYS = frozenset({"valuesLists", "limitOption", "op"})
_INSERT_KEYS = frozenset({"relation", "cols", "selectStmt", "onConflictClause",
                          "returningClause", "override"})
_UPDATE_KEYS = frozenset({"relation", "targetList", "whereClause", "fromClause",
                          "returningClause"})
_DELETE_KEYS = frozenset({"relation", "usingClause", "whereClause", "returningClause"})
_RANGE_VAR_KEYS = frozenset({"schemaname", "relname", "inh", "relpersistence", "alias",
                             "location"})
_JOIN_KEYS = frozenset({"jointype", "larg", "rarg", "quals", "rtindex"})
_FUNC_CALL_KEYS = frozenset({"funcname", "args", "agg_order", "agg_filter", "agg_star",
                             "agg_distinct", "agg_within_group", "func_variadic", "funcformat",
                             "location"})
_CTE_KEYS = frozenset({"ctename", "ctequery", "ctematerialized", "location"})
_CONFLICT_KEYS = frozenset({"action", "infer", "targetList", "whereClause", "location"})
_INDEX_ELEMENT_KEYS = frozenset({"name", "ordering", "nulls_ordering"})
_SUBLINK_KEYS = frozenset({"subLinkType", "testexpr", "operName", "subselect", "location"})
_SUBLINK_TYPES = frozenset({"EXISTS_SUBLINK", "ANY_SUBLINK", "ALL_SUBLINK", "EXPR_SUBLINK",
                            "ARRAY_SUBLINK"})
_EXPRESSION_KINDS = frozenset({
    "AEXPR_OP", "AEXPR_OP_ANY", "AEXPR_OP_ALL", "AEXPR_DISTINCT", "AEXPR_NOT_DISTINCT",
    "AEXPR_NULLIF", "AEXPR_IN", "AEXPR_LIKE", "AEXPR_ILIKE", "AEXPR_SIMILAR", "AEXPR_BETWEEN",
    "AEXPR_NOT_BETWEEN", "AEXPR_BETWEEN_SYM", "AEXPR_NOT_BETWEEN_SYM"})
_decode = msgspec.json.Decoder().decode


_CHECKERS: PerSnapshot[QuickCheck] = PerSnapshot(lambda snapshot: QuickCheck(snapshot))


def checker_for(snapshot: SchemaSnapshot) -> QuickCheck:
    """The quick check of `snapshot`, built once per process (validate's workers and the
    resolver share it; a worker whose statements all pass never imports sqlglot)."""
    return _CHECKERS(snapshot)


class _Unsure(Exception):
    """Something the quick check does not prove: the resolver decides."""


class _Derived:
    """A CTE as a FROM item sees it: its output column names."""

    __slots__ = ("names",)

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names


Scope = list[tuple[str, "Relation | _Derived"]]  # (the name a FROM item is visible by, what)
Scopes = list[Scope]  # one per query level, the innermost last (subqueries see outer ones)


class QuickCheck:
    """Proves plain statements clean against one snapshot (`checker_for`: one per snapshot
    and process)."""

    def __init__(self, snapshot: SchemaSnapshot) -> None:
        self.snapshot = snapshot
        self._columns: dict[int, frozenset[str]] = {}  # id(relation) -> its column names
        self._ctes: list[dict[str, _Derived]] = []  # the WITH lists in force, outermost first

    def _missing(self, call: dict[str, Any]) -> bool:
        from dbsafe.validate.calls import callables_of

        parts = [_single(p, "String")["sval"] for p in call["funcname"]]
        if len(parts) > 2:
            return False
        callables = callables_of(self.snapshot)
        name, schema = parts[-1], parts[0] if len(parts) == 2 else None
        return callables.missing(name, schema, len(call.get("args", ()))) or \
            callables.function_refusal(name, schema, call) is not None

    def _missing_type(self, type_name: dict[str, Any]) -> bool:
        from dbsafe.validate.casts import type_parts, types_of

        parts = type_parts(type_name)
        return parts is not None and types_of(self.snapshot).missing(
            parts[-1], parts[0] if len(parts) == 2 else None)

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
        self._ctes.clear()
        try:
            self._statement(statements[0]["stmt"])
        except (_Unsure, KeyError, TypeError, ValueError, AttributeError, RecursionError):
            return False
        return True

    # -- statements ------------------------------------------------------------------------

    def _statement(self, node: dict[str, Any]) -> None:
        ((kind, body),) = node.items()
        if kind == "SelectStmt":
            self._select(body, [])
        elif kind == "InsertStmt":
            self._insert(body)
        elif kind == "UpdateStmt":
            _only(body, _UPDATE_KEYS)
            target = self._target(body["relation"])
            scopes = [_distinct([target, *self._from(body.get("fromClause", ()), [])])]
            for item in body["targetList"]:
                self._set_target(item, target[1], scopes)
            self._expression(body.get("whereClause"), scopes)
            self._returning(body.get("returningClause"), scopes)
        elif kind == "DeleteStmt":
            _only(body, _DELETE_KEYS)
            scopes = [_distinct([self._target(body["relation"]),
                                 *self._from(body.get("usingClause", ()), [])])]
            self._expression(body.get("whereClause"), scopes)
            self._returning(body.get("returningClause"), scopes)
        else:
            raise _Unsure

    def _select(self, body: dict[str, Any], outer: Scopes) -> list[str | None]:
        """A SELECT at the level below `outer` (empty for a statement of its own); the names
        of its output columns (None where PostgreSQL would make one up)."""
        _only(body, _SELECT_KEYS)
        if body.get("op", "SETOP_NONE") != "SETOP_NONE":
            raise _Unsure
        with_clause = body.get("withClause")
        if with_clause is None:
            return self._plain_select(body, outer)
        _only(with_clause, frozenset({"ctes", "location"}))  # not RECURSIVE
        defined: dict[str, _Derived] = {}
        self._ctes.append(defined)
        try:
            for item in with_clause["ctes"]:
                cte = _single(item, "CommonTableExpr")
                _only(cte, _CTE_KEYS)  # no column list, SEARCH or CYCLE
                # Its query sees the CTEs before it, not itself nor outer query levels.
                names = self._select(_single(cte["ctequery"], "SelectStmt"), [])
                if None in names or len(set(names)) != len(names):
                    raise _Unsure
                defined[cte["ctename"]] = _Derived(frozenset(str(n) for n in names))
            return self._plain_select(body, outer)
        finally:
            self._ctes.pop()

    def _plain_select(self, body: dict[str, Any], outer: Scopes) -> list[str | None]:
        scopes = [*outer, _distinct(self._from(body.get("fromClause", ()), outer))]
        outputs: list[str | None] = []
        for item in body.get("targetList", ()):
            target = _single(item, "ResTarget")
            if "indirection" in target:
                raise _Unsure
            value = target["val"]
            self._expression(value, scopes)
            outputs.append(target.get("name") or _column_name(value))
        for key in ("whereClause", "havingClause"):
            self._expression(body.get(key), scopes)
        for item in body.get("groupClause", ()):
            self._grouping(item, outputs, scopes, order=False)
        for item in body.get("sortClause", ()):
            self._grouping(_single(item, "SortBy")["node"], outputs, scopes, order=True)
        for item in body.get("distinctClause", ()):
            if item:  # DISTINCT alone is a list holding one empty node
                self._expression(item, scopes)
        for key in ("limitCount", "limitOffset"):
            self._expression(body.get(key), [*outer, []])  # no variable of this level there
        return outputs

    def _grouping(self, node: dict[str, Any], outputs: list[str | None], scopes: Scopes,
                  *, order: bool) -> None:
        """An item of ORDER BY (`order`) or GROUP BY, where a bare name may name an output
        column: ORDER BY looks among the output columns first, GROUP BY among the columns of
        its own FROM first (`findTargetlistEntrySQL92` in PostgreSQL)."""
        fields = node.get("ColumnRef", {}).get("fields", ())
        if len(fields) == 1 and "String" in fields[0]:
            name = fields[0]["String"]["sval"]
            if not order:
                here = sum(name in self._names(relation) for _, relation in scopes[-1])
                if here > 1:
                    raise _Unsure  # ambiguous
                if here == 1:
                    return
            count = outputs.count(name)  # aliases and bare column names alike
            if count > 1:
                raise _Unsure  # ambiguous (unless the same expression: the resolver's call)
            if count == 1:
                return
        self._expression(node, scopes)

    def _insert(self, body: dict[str, Any]) -> None:
        _only(body, _INSERT_KEYS)
        target = self._target(body["relation"])
        relation = target[1]
        names = self._names(relation)
        for item in body.get("cols", ()):
            column = _single(item, "ResTarget")
            if "indirection" in column or column["name"] not in names:
                raise _Unsure
        # As many values as the columns it lists, or at most as many as the table has:
        # any other count is the resolver's to report (DBS315).
        columns = len(body["cols"]) if body.get("cols") else None
        source = body.get("selectStmt")
        if source is not None:
            select = _single(source, "SelectStmt")
            if "valuesLists" in select:
                _only(select, _VALUES_KEYS)
                lengths = set()
                for row in select["valuesLists"]:
                    items = _single(row, "List")["items"]
                    for value in items:
                        self._expression(value, [[]])  # a column there is an error
                    if len(items) != 1 or items[0].get("ParamRef", {}).get(
                            "number", 0) < _DRIVER_ROWS:
                        lengths.add(len(items))
            else:
                # its own scope: the target is not visible in it
                lengths = {len(self._select(select, []))}
            if len(lengths) > 1 or (lengths and (
                    lengths != {columns} if columns is not None
                    else max(lengths) > len(relation.columns))):
                raise _Unsure
        conflict = body.get("onConflictClause")
        if conflict is not None:
            self._on_conflict(conflict, target)
        self._returning(body.get("returningClause"), [[target]])

    def _on_conflict(self, clause: dict[str, Any], target: tuple[str, Relation]) -> None:
        """ON CONFLICT (columns) DO NOTHING | DO UPDATE SET ... [WHERE ...]: the target by
        its name or alias, and `excluded`, the row proposed for insertion."""
        _only(clause, _CONFLICT_KEYS)
        if clause["action"] not in ("ONCONFLICT_NOTHING", "ONCONFLICT_UPDATE"):
            raise _Unsure
        relation = target[1]
        infer = clause.get("infer")
        if infer is not None:
            _only(infer, frozenset({"indexElems", "location"}))  # no ON CONSTRAINT, no WHERE
            for item in infer["indexElems"]:
                element = _single(item, "IndexElem")
                _only(element, _INDEX_ELEMENT_KEYS)  # a column, not an expression
                if element["name"] not in self._names(relation):
                    raise _Unsure
        scopes = [_distinct([target, ("excluded", relation)])]
        for item in clause.get("targetList", ()):
            self._set_target(item, relation, scopes)
        self._expression(clause.get("whereClause"), scopes)

    def _set_target(self, item: dict[str, Any], relation: Relation, scopes: Scopes) -> None:
        target = _single(item, "ResTarget")
        if "indirection" in target or target["name"] not in self._names(relation):
            raise _Unsure  # `SET t.col`, `SET a[1]`, `SET (a, b) = ...`, an unknown column
        self._expression(target["val"], scopes)

    def _returning(self, clause: dict[str, Any] | None, scopes: Scopes) -> None:
        if clause is None:
            return
        _only(clause, frozenset({"exprs"}))  # WITH (OLD AS o, ...) is not plain
        for item in clause["exprs"]:
            target = _single(item, "ResTarget")
            if "indirection" in target:
                raise _Unsure
            self._expression(target["val"], scopes)

    # -- FROM ------------------------------------------------------------------------------

    def _from(self, items: Any, outer: Scopes) -> Scope:
        scope: Scope = []
        for item in items:
            scope.extend(self._from_item(item, outer))
        return scope

    def _from_item(self, node: dict[str, Any], outer: Scopes) -> Scope:
        ((kind, body),) = node.items()
        if kind == "RangeVar":
            return [self._range_var(body)]
        if kind == "JoinExpr":
            _only(body, _JOIN_KEYS)  # no USING, NATURAL or alias of the join
            joined = _distinct(self._from_item(body["larg"], outer)
                               + self._from_item(body["rarg"], outer))
            # ON sees the items this join joins (and outer queries), nothing else of FROM.
            self._expression(body.get("quals"), [*outer, joined])
            return joined
        raise _Unsure

    def _target(self, body: dict[str, Any]) -> tuple[str, Relation]:
        """The table an INSERT, UPDATE or DELETE writes."""
        visible, found = self._range_var(body)
        if isinstance(found, _Derived):
            raise _Unsure  # a CTE is no table to write
        return visible, found

    def _range_var(self, body: dict[str, Any]) -> tuple[str, Relation | _Derived]:
        _only(body, _RANGE_VAR_KEYS)
        name: str = body["relname"]
        schema: str | None = body.get("schemaname")
        alias = body.get("alias")
        if alias is not None and "colnames" in alias:
            raise _Unsure
        visible = name if alias is None else alias["aliasname"]
        if schema is None:
            for level in reversed(self._ctes):  # a CTE hides a table of its name
                if name in level:
                    return visible, level[name]
        # pg_catalog is searched first and its relations all start with pg_; system schemas
        # are not in snapshots.
        if name.startswith("pg_") or (schema is not None and (
                schema in SYSTEM_SCHEMAS or schema.startswith("pg_"))):
            raise _Unsure
        relation = self.snapshot.find_relation(name, schema)
        if relation is None:
            raise _Unsure
        return visible, relation

    # -- expressions -----------------------------------------------------------------------

    def _expression(self, node: dict[str, Any] | None, scopes: Scopes) -> None:
        if node is None:
            return
        ((kind, body),) = node.items()
        if kind == "ColumnRef":
            self._column(body["fields"], scopes)
        elif kind in ("A_Const", "ParamRef", "SQLValueFunction", "SetToDefault"):
            pass
        elif kind == "A_Expr":
            if body["kind"] not in _EXPRESSION_KINDS:
                raise _Unsure
            self._expression(body.get("lexpr"), scopes)
            self._expression(body.get("rexpr"), scopes)
        elif kind == "List":
            for item in body.get("items", ()):
                self._expression(item, scopes)
        elif kind in ("BoolExpr", "CoalesceExpr", "MinMaxExpr"):
            for item in body["args"]:
                self._expression(item, scopes)
        elif kind in ("NullTest", "BooleanTest"):
            self._expression(body["arg"], scopes)
        elif kind == "TypeCast":
            # `'name'::regclass` looks a relation up by a string: the resolver checks it.
            if _single(body["typeName"]["names"][-1], "String")["sval"].startswith("reg"):
                raise _Unsure
            if self._missing_type(body["typeName"]):
                raise _Unsure  # a type the schema lacks: the resolver reports it
            self._expression(body["arg"], scopes)
        elif kind == "FuncCall":
            _only(body, _FUNC_CALL_KEYS)  # no OVER (window functions)
            if _single(body["funcname"][-1], "String")["sval"] in REGCLASS_FUNCTIONS:
                raise _Unsure
            if self._missing(body):
                # a function the schema lacks, or none of whose overloads takes the
                # call's arguments: the resolver reports it
                raise _Unsure
            for item in body.get("args", ()):
                self._expression(item, scopes)
            for item in body.get("agg_order", ()):
                self._expression(_single(item, "SortBy")["node"], scopes)
            self._expression(body.get("agg_filter"), scopes)
        elif kind == "SubLink":
            _only(body, _SUBLINK_KEYS)
            if body["subLinkType"] not in _SUBLINK_TYPES:
                raise _Unsure
            self._expression(body.get("testexpr"), scopes)
            self._select(_single(body["subselect"], "SelectStmt"), scopes)
        elif kind == "CaseExpr":
            self._expression(body.get("arg"), scopes)
            for item in body["args"]:
                when = _single(item, "CaseWhen")
                self._expression(when["expr"], scopes)
                self._expression(when["result"], scopes)
            self._expression(body.get("defresult"), scopes)
        elif kind == "A_ArrayExpr":
            for item in body.get("elements", ()):
                self._expression(item, scopes)
        else:
            raise _Unsure

    def _column(self, fields: list[dict[str, Any]], scopes: Scopes) -> None:
        """A column reference, looked up as PostgreSQL does: from the innermost query level
        out, a bare name in the first level where any item has it (one item only), a
        qualified one in the first level with an item of that name."""
        if len(fields) == 1:
            if "A_Star" in fields[0]:
                if not scopes or not scopes[-1]:
                    raise _Unsure  # SELECT * with no FROM
                return
            name = _single(fields[0], "String")["sval"]
            for scope in reversed(scopes):
                found = sum(name in self._names(relation) for _, relation in scope)
                if found == 1:
                    return
                if found > 1:
                    raise _Unsure  # ambiguous
            # In no table: a finding, an output column, a whole-row reference, a system
            # column: the resolver's to say.
            raise _Unsure
        if len(fields) != 2:
            raise _Unsure  # schema.table.column: the resolver reads those
        qualifier = _single(fields[0], "String")["sval"]
        if qualifier in ("old", "new"):
            raise _Unsure  # RETURNING old.x / new.x: PostgreSQL 18's, or a table's alias
        for scope in reversed(scopes):
            matches = [relation for visible, relation in scope if visible == qualifier]
            if len(matches) > 1:
                raise _Unsure
            if matches:
                if "A_Star" in fields[1]:
                    return
                if _single(fields[1], "String")["sval"] not in self._names(matches[0]):
                    raise _Unsure  # a finding, a system column, attribute notation `p.f`
                return
        raise _Unsure

    def _names(self, relation: Relation | _Derived) -> frozenset[str]:
        if isinstance(relation, _Derived):
            return relation.names
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
        # `VALUES %s`: psycopg2 sends the tuple, or execute_values the rows, as `(1, 2), …`
        # (numbered apart: its count of values is the driver's).
        row = mark == "%" and _BEFORE_ROWS.search(sql, max(last, at - 16), at) is not None
        pieces.append(f"(${_DRIVER_ROWS + number})" if row else f"${number}")
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


def _column_name(value: dict[str, Any]) -> str | None:
    """The name PostgreSQL gives an output column without an alias, where it is a column's
    (`t.col` is `col`); None where it makes one up (`?column?`, a function's name)."""
    fields = value.get("ColumnRef", {}).get("fields", ())
    if fields and "String" in fields[-1]:
        return str(fields[-1]["String"]["sval"])
    return None


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

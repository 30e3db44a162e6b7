"""`UPDATE`, `DELETE`, `MERGE` or upsert of every row of an existing table (or of an unbounded set of them) in one statement.

## Why
A data change in a migration is one statement over the whole table: each row it updates or
deletes stays locked until the statement's transaction commits — the migration's, when the
runner wraps the migration in one — so every concurrent `UPDATE`, `DELETE` or
`SELECT ... FOR UPDATE` of those rows waits that long (inserts and reads do not: verified on
PostgreSQL 18, the waiter shows a `transactionid` ShareLock not granted in `pg_locks`). It
writes a new version of every row it updates (WAL as large as the table, or larger; the
replicas replay all of it and lag; the old versions stay as bloat until VACUUM), and,
stopped half-way (a timeout, a deploy cancelled), it is rolled back whole: there is no
resuming it. strong_migrations' "Backfilling data" advice: do it in batches, outside the
migration's transaction.

A `WHERE` that picks rows by their content (`WHERE status IS NULL`, `WHERE payload ? 'key'`,
`WHERE type <> 'x'`, a join `FROM other WHERE orders.id = other.order_id`) is still a
backfill of the whole table: every row may match, and so may a value of a column that is no
key (`WHERE type = 'old'`: every row of that type). A `WHERE` bounds the rows when it gives
values (`=`, `IN`, a range, `BETWEEN`) of every column of the table's primary key, of a
unique key (`WHERE id BETWEEN 1 AND 10000`: a batch; `WHERE id = 5`: one row) or of a
foreign key (`WHERE order_id IN (5, 7)`: the rows of given parents), or takes them from a
`LIMIT`-ed subquery (`WHERE id IN (SELECT id ... LIMIT 1000)`, a join to a `LIMIT`-ed CTE);
when lint does not know the table's keys (offline, a table no migration it read made), a
`WHERE` giving values of any column is taken as bounded: lint cannot tell. In a `DO`
block, a PL/pgSQL variable is a value given (`WHERE id = r.id` in a loop over the rows).

The same holds, verified on PostgreSQL 18 (a second session's `UPDATE` of a row waits on a
`transactionid` ShareLock; WAL by `pg_current_wal_insert_lsn()`), for:

* `MERGE INTO t USING src ON ... WHEN MATCHED THEN UPDATE` (or `DELETE`): every row of `t`
  the source matches is locked and rewritten (100,000 rows: 21.1 MiB of WAL, as the
  `UPDATE` of them). It is bounded when its source is (`VALUES`, a `LIMIT`-ed subquery or
  CTE, a subquery whose `WHERE` gives key values of the table it reads), or its `ON`
  condition or each changing `WHEN ... AND` condition gives key values of `t`. `WHEN NOT
  MATCHED BY SOURCE THEN UPDATE/DELETE` changes every row of `t` the source does not
  match: flagged whatever the source.
* `INSERT INTO t SELECT ... ON CONFLICT DO UPDATE`: every existing row of `t` a selected
  row conflicts with is locked until COMMIT, even one its `DO UPDATE ... WHERE` then
  leaves as it is (5.4 MiB of WAL for 100,000 rows locked and none changed). Bounded when
  its rows are (`VALUES`, a `LIMIT`, a `WHERE` giving key values of the table it reads:
  `FROM staged WHERE id BETWEEN 1 AND 10000`, or one row: `SELECT 'envs', jsonb_agg(name)
  FROM environment`, an aggregate of PostgreSQL's with no `GROUP BY`).
* The `UPDATE`, `DELETE`, `MERGE` or upsert of a data-modifying `WITH`
  (`WITH moved AS (DELETE FROM t RETURNING *) INSERT INTO archive SELECT * FROM moved`),
  read as if on its own, with the `LIMIT`-ed CTEs before it (`WITH batch AS (SELECT id
  ... LIMIT 1000), moved AS (DELETE FROM t WHERE id IN (SELECT id FROM batch) ...)`: a
  batch).

Without a database the rows a table holds are unknown, and most data changes in migration
histories are fixes of a few rows of small tables (settings, roles, enum values): a note,
which `fail-on`'s default (`warning`) lets pass, so it is seen in review and blocks nothing.
With `--database-url` a table of at least `large-table` (default `10MB`) makes it a
warning: on a 50 GB table the statement runs for minutes with its rows locked.

## Bad
```sql
UPDATE orders SET status = 'archived' WHERE status IS NULL;
```

## Good
```sql
-- one batch; the next statement (or the next loop of a job) takes the next range,
-- each committed on its own
UPDATE orders SET status = 'archived' WHERE id BETWEEN 1 AND 10000 AND status IS NULL;
```

## In Alembic
Move the backfill out of the revision's transaction and batch it:

```python
def upgrade():
    with op.get_context().autocommit_block():
        while op.get_bind().execute(sa.text(
                "UPDATE orders SET status = 'archived' WHERE id IN "
                "(SELECT id FROM orders WHERE status IS NULL LIMIT 10000)")).rowcount:
            pass
```

(each statement commits on its own in the autocommit block), or run it as a background job
after the deploy. dbsafe reads what the revision executed: `op.execute("UPDATE ...")`,
`op.execute(sa.update(orders).values(...))` and an ORM session's bulk `update()` alike.

## Not flagged
* Tables created earlier in the same migration, and, with `--database-url`, tables the
  database does not have yet: nobody else can hold their rows.
* `INSERT`, `INSERT ... SELECT` (`INSERT INTO copy SELECT * FROM big` too), `INSERT ...
  ON CONFLICT DO NOTHING` and `op.bulk_insert`: the rows they add are new, seen by no other
  session until COMMIT, so nobody waits for them, and they lock no row they read or skip
  (PostgreSQL 18: an `UPDATE` or `SELECT ... FOR UPDATE` of a row of the table read, or
  of one the `DO NOTHING` skipped, runs at once). Their WAL is the size of what they add
  (a copy of 100,000 rows: 6.1 MiB, as `CREATE TABLE ... AS` of them): paid once, by
  nobody waiting.
* A `MERGE` whose only actions on matched rows are `DO NOTHING` (or that has none): it
  inserts, and locks no existing row.
* A change of a table the same transaction already locked against writes (`ALTER TABLE`,
  `LOCK TABLE`, `CREATE INDEX`): writers wait for that lock anyway, and DBS114 or DBS125 is
  the finding about the statement.
* A `WHERE` bounded as described above, and `WHERE CURRENT OF`.
* Alembic's `alembic_version`.
* The statements of a function's body: they run when it is called, not here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement, last, range_var, strings
from dbsafe.lint.transactions import writes_kept_out
from dbsafe.pg.catalog_functions import AGGREGATE_CATALOG_FUNCTIONS

_VERBS = {"UpdateStmt": "UPDATE", "DeleteStmt": "DELETE", "MergeStmt": "MERGE",
          "InsertStmt": "INSERT ... ON CONFLICT DO UPDATE"}
# A SELECT (or any of them) may hold a data-modifying WITH: `WITH moved AS (DELETE ...) ...`
_KINDS = frozenset(_VERBS) | {"SelectStmt"}
# Comparisons that give a column's values: an equality, a list, a range.
_GIVES_VALUES = frozenset({"=", "<", "<=", ">", ">="})
_GIVES_VALUES_KINDS = frozenset({"AEXPR_OP", "AEXPR_IN", "AEXPR_OP_ANY", "AEXPR_BETWEEN",
                                 "AEXPR_BETWEEN_SYM"})
_CHANGING = frozenset({"CMD_UPDATE", "CMD_DELETE"})  # a MERGE's actions on existing rows


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if statement.deferred:
        return
    reported: set[str] = set()
    for verb, table, scope in _changes(statement, ctx):
        if table in reported or last(table) == "alembic_version" or \
                table.startswith("pg_catalog."):
            continue
        if ctx.created_before(table) or ctx.new_to_database(table):
            continue
        if statement.in_transaction and \
                writes_kept_out(ctx.statements[:statement.index], table) is True:
            continue  # writers wait for the table's lock anyway (DBS114, DBS125)
        reported.add(table)
        until = ("until the transaction commits" if statement.in_transaction
                 else "until it ends")
        yield ctx.finding(
            RULE,
            f"`{verb}` changes {scope} in one statement, each locked {until}: writes to "
            "those rows wait, and the change cannot be resumed part-way.",
            help="Change the rows in batches (a key range or a LIMIT-ed subquery per "
                 "statement, each committed on its own) outside the migration's "
                 "transaction, or in a background job.",
            subject=table,
        )


def _changes(statement: Statement, ctx: LintContext) -> Iterator[tuple[str, str, str]]:
    """(verb, table, which rows) of each change of existing rows the statement makes that
    nothing bounds: the statement itself, and the `UPDATE`, `DELETE`, `MERGE` and
    `INSERT ... ON CONFLICT DO UPDATE` of its data-modifying `WITH` (PostgreSQL allows
    them only in the top-level WITH), each read with the WITH's LIMIT-ed CTEs."""
    node = statement.node
    with_clause = node.get("withClause")
    outer = _limited_ctes(with_clause, frozenset())
    for cte in (with_clause or {}).get("ctes") or ():
        query = cte.get("CommonTableExpr", {}).get("ctequery") or {}
        for kind, inner in query.items():
            if kind in _VERBS:
                found = _unbounded(kind, inner, statement, ctx, outer)
                if found is not None:
                    yield f"{_VERBS[kind]}` in a `WITH", found[0], found[1]
    if statement.kind in _VERBS:
        found = _unbounded(statement.kind, node, statement, ctx, frozenset())
        if found is not None:
            yield _VERBS[statement.kind], found[0], found[1]


def _unbounded(kind: str, node: Any, statement: Statement, ctx: LintContext,
               outer: frozenset[str]) -> tuple[str, str] | None:
    """(table, which rows) when a data change of existing rows is not bounded to a batch
    (see the module's docs); None when it is, or changes no existing row."""
    table = range_var(node.get("relation"))
    if table is None:
        return None
    rv = node.get("relation") or {}
    names = frozenset(name for name in (rv.get("relname"),
                                        (rv.get("alias") or {}).get("aliasname")) if name)
    scope = _Scope(names, _keys(table, ctx), variables=statement.variables)
    scope = dataclasses.replace(
        scope, ctes=outer | _limited_ctes(node.get("withClause"), outer))
    if kind == "MergeStmt":
        return _merge(node, table, scope, ctx)
    if kind == "InsertStmt":
        if (node.get("onConflictClause") or {}).get("action") != "ONCONFLICT_UPDATE" or \
                _source_bounded(node.get("selectStmt"), scope, ctx):
            return None  # a plain INSERT, or ON CONFLICT DO NOTHING: no existing row locked
        return table, (f"every row of `{table}` a row of its SELECT conflicts with (no key "
                       "range or LIMIT bounds them)")
    where = node.get("whereClause")
    if where is None:
        return table, f"every row of `{table}`"
    joined = node.get("fromClause") or node.get("usingClause") or ()
    if any(_limited_from(item, scope) for item in joined):
        return None  # joined to a LIMIT-ed subquery or CTE: the batch
    if _condition_bounds(where, scope):
        return None
    return table, (f"every row of `{table}` its WHERE matches (no key range or LIMIT "
                   "bounds them)")


def _merge(node: Any, table: str, scope: _Scope, ctx: LintContext) -> tuple[str, str] | None:
    """A MERGE's rows changed: none when no WHEN clause updates or deletes (inserts and
    `DO NOTHING` lock no existing row: PostgreSQL 18); every row its source does not match
    with `WHEN NOT MATCHED BY SOURCE` (whatever the source); else the rows its source
    matches, bounded by a LIMIT-ed or VALUES source, or by key values its ON condition, or
    each changing WHEN's condition, gives."""
    clauses = [c.get("MergeWhenClause", {}) for c in node.get("mergeWhenClauses") or ()]
    changing = [c for c in clauses if c.get("commandType") in _CHANGING]
    if not changing:
        return None
    if any(c.get("matchKind") == "MERGE_WHEN_NOT_MATCHED_BY_SOURCE" for c in changing):
        return table, f"every row of `{table}` its source does not match"
    source = node.get("sourceRelation") or {}
    subquery = (source.get("RangeSubselect") or {}).get("subquery")
    if _limited_from(source, scope) or "RangeFunction" in source or \
            (subquery is not None and _source_bounded(subquery, scope, ctx)) or \
            _condition_bounds(node["joinCondition"], scope) or \
            all(c.get("condition") and _condition_bounds(c["condition"], scope)
                for c in changing):
        return None
    return table, (f"every row of `{table}` its source matches (no key range or LIMIT "
                   "bounds them)")


def _source_bounded(node: Any, scope: _Scope, ctx: LintContext) -> bool:
    """Does the SELECT an INSERT or a MERGE takes its rows from return a bounded number of
    them: LIMIT-ed, `VALUES`, no table, or one table's rows its WHERE bounds by a key of
    that table (`FROM big WHERE big.id BETWEEN 1 AND 10000`)?"""
    if node is None or _limited_select(node, scope):
        return True  # (no SELECT: `INSERT ... DEFAULT VALUES`, one row)
    select = node.get("SelectStmt") or {}
    items: list[Any] = select.get("fromClause") or []
    where = select.get("whereClause")
    if len(items) != 1 or "RangeVar" not in items[0] or where is None:
        return False
    rv = items[0]["RangeVar"]
    source = range_var(items[0])
    names = frozenset(name for name in (rv.get("relname"),
                                        (rv.get("alias") or {}).get("aliasname")) if name)
    keys = None if source is None or rv.get("relname") in scope.ctes else _keys(source, ctx)
    return _condition_bounds(where, dataclasses.replace(scope, names=names, keys=keys))


@dataclass(frozen=True, slots=True)
class _Scope:
    """What the WHERE of one UPDATE or DELETE is read with."""

    names: frozenset[str]  # the table's name and alias: `orders.id` is its column
    keys: list[frozenset[str]] | None  # its keys' columns; None: not known
    ctes: frozenset[str] = frozenset()  # the WITH's CTEs returning a bounded number of rows
    variables: frozenset[str] = frozenset()  # a DO block's PL/pgSQL variables


def _keys(table: str, ctx: LintContext) -> list[frozenset[str]] | None:
    """The column sets of the table's primary key, unique constraints, unique indexes and
    foreign keys (given values of one pick the rows of given parents: Superset's
    `DELETE FROM dashboard_slices WHERE slice_id IN (...)`); None when lint does not know
    them all: neither the database nor the migrations made it (the history's keys of
    another table are only what the migrations changed)."""
    relation = ctx.before_relation(table)
    history = ctx.history
    if relation is None and history.created_kind(table) != "table":
        return None
    keys = [frozenset(columns) for _, columns in ctx.unique_keys(table).values()]
    keys += [frozenset(columns) for _, columns in history.unique_indexes.get(last(table), ())]
    keys += [frozenset(fk.columns) for fk in ctx.foreign_keys(table)]
    if relation is not None:
        keys += [frozenset(ix.columns) for ix in relation.indexes
                 if ix.unique and ix.columns and ix.predicate is None]
    return keys


def _condition_bounds(expr: Any, scope: _Scope) -> bool:
    """Does the condition hold only for a bounded set of the table's rows?"""
    kind, fields = next(iter(expr.items()))
    if kind == "BoolExpr":
        args = fields.get("args") or ()
        if fields.get("boolop") == "AND_EXPR":
            given: set[str] = set()
            for arg in args:
                if _condition_bounds(arg, scope):
                    return True
                given |= _columns_given(arg, scope)
            return _covers(given, scope.keys)
        if fields.get("boolop") == "OR_EXPR":
            return all(_condition_bounds(arg, scope) for arg in args)
        return False  # NOT: everything but some rows
    if kind == "CurrentOfExpr":
        return True
    if kind == "SubLink" and fields.get("subLinkType") == "ANY_SUBLINK":
        return _limited_select(fields.get("subselect"), scope)  # `IN (SELECT ... LIMIT n)`
    return _covers(_columns_given(expr, scope), scope.keys)


def _covers(given: set[str], keys: list[frozenset[str]] | None) -> bool:
    """Do values given of columns `given` pick a bounded set of rows: of every column of
    a key, of `ctid` (a row's place), or of any column when no key is known (cannot tell)?"""
    if not given:
        return False
    if keys is None or "ctid" in given:
        return True
    return any(key and key <= given for key in keys)


def _columns_given(expr: Any, scope: _Scope) -> set[str]:
    """The table's plain column an `=`/`IN`/range/`BETWEEN` comparison gives values of
    (`id = 5`, `id IN (1, 2)`, `id BETWEEN 1 AND 100`, `id = ANY($1)`), or nothing."""
    if "A_Expr" not in expr:
        return set()
    a = expr["A_Expr"]
    if a.get("kind") not in _GIVES_VALUES_KINDS:
        return set()
    op = strings(a.get("name"))
    if a.get("kind") in ("AEXPR_OP", "AEXPR_OP_ANY", "AEXPR_IN") and \
            (not op or op[-1] not in _GIVES_VALUES):
        return set()  # `<>`, `NOT IN`, `?`, `->>`, ...
    sides = [(a.get("lexpr"), a.get("rexpr"))]
    if a.get("kind") == "AEXPR_OP":
        sides.append((a.get("rexpr"), a.get("lexpr")))  # `5 = id`
    for column, values in sides:
        name = _column(column, scope)
        if name is not None and _values(values, scope):
            return {name}
    return set()


def _column(expr: Any, scope: _Scope) -> str | None:
    """The table's column a plain column reference (through casts) names, or None."""
    while isinstance(expr, dict) and "TypeCast" in expr:
        expr = expr["TypeCast"].get("arg")
    if not isinstance(expr, dict) or "ColumnRef" not in expr:
        return None
    parts = strings(expr["ColumnRef"].get("fields"))
    if not parts or parts[-1] == "*" or _variable(parts, scope):
        return None
    if len(parts) > 1 and parts[-2] not in scope.names:
        return None  # another table's column (a join's)
    return parts[-1]


def _variable(parts: tuple[str, ...], scope: _Scope) -> bool:
    """Does a column reference name a DO block's variable (`ids`, `r.id`)? PL/pgSQL takes
    such a name for the variable (or refuses it as ambiguous), never a table's column."""
    return parts[0] in scope.variables and parts[0] not in scope.names


def _values(expr: Any, scope: _Scope) -> bool:
    """Is the expression given values (constants, parameters, a DO block's variables, a
    scalar subquery, a list of them), none of them read from a row?"""
    if isinstance(expr, list):
        return all(_values(item, scope) for item in expr)
    if not isinstance(expr, dict):
        return True
    for kind, fields in expr.items():
        if kind == "ColumnRef":
            return _variable(strings(fields.get("fields")), scope)
        if kind == "SubLink":
            link = fields.get("subLinkType")
            return link == "EXPR_SUBLINK" or (
                link == "ARRAY_SUBLINK" and _limited_select(fields.get("subselect"), scope))
        if not _values(fields, scope):
            return False
    return True


def _limited_select(node: Any, scope: _Scope) -> bool:
    """Does a subquery return a bounded number of rows: a LIMIT (not `LIMIT ALL`), a
    LIMIT-ed CTE or subquery it reads from, or no table at all (`VALUES`, `unnest(...)`)?"""
    select = (node or {}).get("SelectStmt")
    if select is None:
        return False
    limit = select.get("limitCount")
    if limit is not None and not limit.get("A_Const", {}).get("isnull"):
        return True
    if select.get("valuesLists") or _aggregated(select):
        return True
    if select.get("op", "SETOP_NONE") != "SETOP_NONE":
        return _limited_select({"SelectStmt": select.get("larg")}, scope) and \
            _limited_select({"SelectStmt": select.get("rarg")}, scope)
    items = select.get("fromClause") or ()
    return all(_limited_from(item, scope) or "RangeFunction" in item for item in items)


def _aggregated(select: Any) -> bool:
    """Does a SELECT return one row: no GROUP BY, and its target list calls one of
    PostgreSQL's aggregates (`SELECT 'k', jsonb_agg(v) FROM big`; not in a window, not in a
    subquery of its own)?"""
    return not select.get("groupClause") and _calls_aggregate(select.get("targetList"))


def _calls_aggregate(node: Any) -> bool:
    if isinstance(node, list):
        return any(_calls_aggregate(item) for item in node)
    if not isinstance(node, dict):
        return False
    for kind, fields in node.items():
        if kind == "SubLink":
            continue
        if kind == "FuncCall" and fields.get("over") is None:
            name = strings(fields.get("funcname"))
            if name and name[-1] in AGGREGATE_CATALOG_FUNCTIONS and \
                    name[:-1] in ((), ("pg_catalog",)):
                return True
        if _calls_aggregate(fields):
            return True
    return False


def _limited_from(item: Any, scope: _Scope) -> bool:
    """Is a FROM item a LIMIT-ed subquery, or a CTE whose query is LIMIT-ed?"""
    if "RangeSubselect" in item:
        return _limited_select(item["RangeSubselect"].get("subquery"), scope)
    rv = item.get("RangeVar")
    return rv is not None and not rv.get("schemaname") and rv.get("relname") in scope.ctes


def _limited_ctes(with_clause: Any, outer: frozenset[str]) -> frozenset[str]:
    """The names of a WITH's CTEs whose query returns a bounded number of rows (`outer`:
    the LIMIT-ed CTEs of an enclosing WITH, which its queries may read)."""
    limited: set[str] = set(outer)
    for cte in (with_clause or {}).get("ctes") or ():
        fields = cte.get("CommonTableExpr", {})
        if _limited_select(fields.get("ctequery"),
                           _Scope(frozenset(), None, ctes=frozenset(limited))):
            limited.add(fields.get("ctename"))
    return frozenset(limited)


RULE = Rule(
    code="DBS140",
    name="unbatched-data-change",
    severity=Severity.NOTE,
    since="0.2.0",
    doc=__doc__,
    check=check,
    kinds=_KINDS,
    weighed_by="rows",
)

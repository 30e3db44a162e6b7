"""The rows an `UPDATE ... SET` of a pending revision would write, asked of the table's
constraints (DBS615, `guard.row_refusals`) as `guard.inserted_rows` asks an INSERT's, with
its probes: read-only, the UPDATE's own SET expressions, FROM and WHERE run as a SELECT
(`SELECT <each column's new value> FROM t [, ...] WHERE ...`), each value set cast to its
column's type as the UPDATE assigns it, the columns it leaves as they are.

The copy lint captures on has no rows, so `UPDATE jobs SET owner = NULL WHERE ...` of a NOT
NULL column passed there and failed on the database (23502; 23514, 23505, 23503 alike), with
no line at all (task 555). What PostgreSQL checks of each row it updates is asked of them:

- a NOT NULL column it sets: its new value `IS NULL`;
- a CHECK over a column it sets, or not validated (PostgreSQL checks every new row):
  `(check) IS FALSE` (a foreign key NOT VALID is checked only where its key changes);
- a unique index over a column it sets (its expressions and WHERE too): a new key found in
  the rows it does not update, or twice among those it does;
- a foreign key over a column it sets: a complete new key found nowhere in the referenced
  table;
- a column of a domain it sets: each value cast to it.

It cannot be told, and is said so, where the UPDATE calls a volatile function, writes (a
data-modifying WITH), sets a field or element of a column, a row of columns or DEFAULT,
the table is partitioned or has children (their rows and constraints), has a BEFORE UPDATE
trigger or an UPDATE rule (they change the rows), a key the probe does not follow (an
expression or partial unique index over a column it sets, an exclusion constraint, a
foreign key referencing its own table, another table's foreign key referencing a key it
sets), a row is given the key another row it updates holds now (a unique index not
deferrable checks each row as it comes: `SET id = id + 1` fails or not by the rows' order),
or `UPDATE ... FROM` joins a row to more than one (PostgreSQL takes any one of them).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from dbsafe.guard.inserted_rows import (
    _FILLED,
    _UNKNOWN,
    _assigned_value,
    _columns,
    defaulted,
    refuse_rewritten,
    row_probes,
    unique_probes,
    written_table,
)
from dbsafe.guard.row_refusals import Probe, _CannotTell, _ident, _nodes, _refuse_volatile

if TYPE_CHECKING:
    from pglast import ast

    from dbsafe.lint.row_checks import PlanFacts

_ROW = '"dbsafe row"'  # the updated row's ctid, in the probe's derived rows


def refusable(conn: Any, table: str, sql: str) -> bool:
    """Whether a row `sql` (an UPDATE of `table`) writes may be refused: a column it sets
    is NOT NULL, of a domain, in a CHECK, a unique, foreign or exclusion key, an index of
    one, a key another table references; the table has a constraint not validated, is
    partitioned or not there now (the probe says so)."""
    from pglast import ast, parse_sql

    stmt = parse_sql(sql)[0].stmt
    assert isinstance(stmt, ast.UpdateStmt)
    names = sorted({str(t.name) for t in stmt.targetList or ()})
    row = conn.execute(
        "WITH r AS (SELECT pg_catalog.to_regclass(%s) AS oid), s AS (SELECT coalesce(("
        "SELECT array_agg(a.attnum) FROM pg_catalog.pg_attribute a, r WHERE a.attrelid = r.oid "
        "AND NOT a.attisdropped AND a.attname = ANY (%s::text[])), '{}') AS cols) "
        "SELECT c.oid IS NULL OR c.relkind = 'p' OR cardinality(s.cols) < %s "
        "OR EXISTS (SELECT FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t "
        "ON t.oid = a.atttypid WHERE a.attrelid = c.oid AND a.attnum = ANY (s.cols) "
        "AND (a.attnotnull OR t.typtype = 'd')) "
        "OR EXISTS (SELECT FROM pg_catalog.pg_constraint k WHERE k.conrelid = c.oid "
        "AND (NOT k.convalidated AND k.contype IN ('c', 'n') OR k.contype IN ('c', 'f', 'u', 'p', 'x') "
        "AND k.conkey && s.cols)) "
        "OR EXISTS (SELECT FROM pg_catalog.pg_constraint k WHERE k.confrelid = c.oid "
        "AND k.confkey && s.cols) "
        "OR EXISTS (SELECT FROM pg_catalog.pg_index i JOIN pg_catalog.pg_depend d "
        "ON d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = i.indexrelid "
        "AND d.refobjid = i.indrelid WHERE i.indrelid = c.oid AND i.indisunique "
        "AND d.refobjsubid = ANY (s.cols)) "
        "FROM r CROSS JOIN s LEFT JOIN pg_catalog.pg_class c ON c.oid = r.oid",
        (table, names, len(names))).fetchone()
    return bool(row and row[0])


def update_probes(conn: Any, stmt: ast.UpdateStmt, plan: PlanFacts) -> Iterator[Probe]:
    """What the rows `stmt` updates ask of its table's constraints (the module's list)."""
    from pglast import ast
    from pglast.stream import RawStream

    assert stmt.relation is not None
    table = written_table(conn, stmt.relation, "UPDATE", "changes",
                          "the partition each row is in (or moves to) checks it too, which "
                          "the probe does not follow")
    name = table.name
    targets = list(stmt.targetList or ())
    for target in targets:
        if target.indirection:
            raise _CannotTell("it sets a field or element of a column")
    # (`SET (a, b) = (x, y)`, `= (SELECT ...)`: each column as `SET a = x`; `= DEFAULT`: the
    # column's default, below)
    given = {str(target.name): _one_column(target.val) for target in targets}
    defaults = {column for column, value in given.items() if isinstance(value, ast.SetToDefault)}
    if any(isinstance(n, ast.SetToDefault) for value in given.values()
           if not isinstance(value, ast.SetToDefault) for n in _nodes(value)):
        raise _CannotTell("it sets DEFAULT within an expression, which the probe does not "
                          "evaluate")
    if isinstance(stmt.whereClause, ast.CurrentOfExpr):
        raise _CannotTell("it updates WHERE CURRENT OF a cursor")
    _refuse_volatile(conn, stmt, "its SET or WHERE")
    columns = _columns(conn, name)
    types = {str(c[0]): str(c[1]) for c in columns}
    missing = [column for column in given if column not in types]
    if missing:
        raise _CannotTell(f"column {missing[0]} of {name} does not exist now, so the plan "
                          "makes it")
    alias = stmt.relation.alias.aliasname if stmt.relation.alias else stmt.relation.relname

    def own(column: str) -> Any:
        return ast.ColumnRef(fields=(ast.String(sval=alias), ast.String(sval=column)))

    select = ast.SelectStmt(
        targetList=(ast.ResTarget(val=own("ctid")), *(
            ast.ResTarget(val=own(str(c[0])) if str(c[0]) in defaults or str(c[0]) not in given
                          else given[str(c[0])]) for c in columns)),
        fromClause=(stmt.relation, *(stmt.fromClause or ())),
        whereClause=stmt.whereClause, withClause=stmt.withClause)
    query = str(RawStream()(select))
    aliases = f"({', '.join(f'c{i}' for i in range(len(columns) + 1))})"
    source = f"({query}) AS given{aliases}"
    values: dict[str, str] = {}
    for i, row in enumerate(columns, 1):
        column, type_name, generated = str(row[0]), row[1], row[4]
        if generated:  # (a stored one is computed again from the new values)
            values[column] = _UNKNOWN
        elif column in defaults:  # (as an INSERT leaving it out gets it)
            values[column] = defaulted(conn, row)
        elif column in given:
            values[column] = _assigned_value(conn, f"given.c{i}", str(type_name))
        else:
            values[column] = f"given.c{i}"
    listed = ", ".join(f"{value} AS {_ident(column)}" for column, value in values.items()
                       if value not in (_FILLED, _UNKNOWN))
    derived = f"(SELECT {listed}{', ' if listed else ''}given.c0 AS {_ROW} FROM {source})"
    changed = frozenset(given)
    # Each value set cast to its column's type (a domain's: its CHECK and NOT NULL): one
    # failing is the UPDATE's failure; the probes over the rows cast are then not asked.
    cast = [c for c in given if values[c] not in (_FILLED, _UNKNOWN)]
    casts = f"SELECT least(0, count(*), {', '.join(f'count({values[c]})' for c in cast)}) " \
            f"FROM {source}" if cast else ""
    doubt = doubted = ""
    if stmt.fromClause:  # PostgreSQL updates a row joined twice with any one of the two
        doubt = f"SELECT FROM {source} GROUP BY given.c0 HAVING count(*) > 1"
        doubted = ("UPDATE ... FROM joins a row to more than one: which one PostgreSQL takes "
                   "is not told")
    probes: list[Probe] = []
    if casts:
        probes.append(Probe(name, "is given values its columns' types refuse", casts,
                            counts=True))
    probes += _referenced_probes(conn, name, changed)
    probes += row_probes(conn, name, columns, values, f"{derived} AS updated", derived, plan,
                         changed)
    kept = f"t.ctid <> ALL (SELECT given.c0 FROM {source})"
    moved = f"SELECT FROM {derived} AS i JOIN (SELECT t.ctid AS {_ROW}, t.* FROM " \
            f"{table.own} t WHERE NOT ({kept})) AS u ON u.{_ROW} <> i.{_ROW}"
    probes += unique_probes(conn, table, values, derived, changed, kept, moved,
                            dropped=plan.dropped_indexes)
    for probe in probes:
        if not probe.query:
            yield probe
            continue
        probe = replace(probe, casts=casts) if probe is not probes[0] or not casts else probe
        if doubt:  # (a row joined twice first: nothing else is told then)
            probe = replace(probe, doubt=f"({doubt} LIMIT 1) UNION ALL ({probe.doubt})"
                            if probe.doubt else doubt,
                            doubted=f"{doubted}; or {probe.doubted}" if probe.doubt
                            else doubted)
        yield probe


def _one_column(value: Any) -> Any:
    """What `SET (a, b) = (x, y)` (a `MultiAssignRef`) sets one column to, as `SET a = x`
    would: its element of the row; of `= (SELECT ...)`, a scalar subquery giving its column
    of the SELECT's row (none: NULL; more than one: 21000, as PostgreSQL's). Any other value
    as it is."""
    from pglast import ast
    from pglast.enums import SubLinkType

    if not isinstance(value, ast.MultiAssignRef):
        return value
    source: Any = value.source
    colno, count = int(value.colno or 0), int(value.ncolumns or 0)
    if isinstance(source, ast.RowExpr) and len(source.args or ()) == count:
        return (source.args or ())[colno - 1]
    if isinstance(source, ast.SubLink) and source.subLinkType == SubLinkType.EXPR_SUBLINK:
        names = tuple(ast.String(sval=f"c{i}") for i in range(1, count + 1))
        return ast.SubLink(subLinkType=SubLinkType.EXPR_SUBLINK, subselect=ast.SelectStmt(
            targetList=(ast.ResTarget(val=ast.ColumnRef(fields=(
                ast.String(sval="dbsafe row"), ast.String(sval=f"c{colno}")))),),
            fromClause=(ast.RangeSubselect(subquery=source.subselect, alias=ast.Alias(
                aliasname="dbsafe row", colnames=names)),)))
    raise _CannotTell("it sets a row of columns from an expression the probe does not read")


def _referenced_probes(conn: Any, name: str, changed: frozenset[str]) -> list[Probe]:
    """Another table's foreign key referencing a column the UPDATE sets: the rows
    referencing the old values are not asked (cannot tell)."""
    rows = conn.execute(
        "SELECT k.conname, k.conrelid::regclass::text FROM pg_constraint k "
        "WHERE k.confrelid = to_regclass(%s) AND k.contype = 'f' AND EXISTS ("
        "SELECT FROM pg_attribute a WHERE a.attrelid = k.confrelid "
        "AND a.attnum = ANY (k.confkey) AND a.attname = ANY (%s::text[])) ORDER BY 2, 1",
        (name, sorted(changed))).fetchall()
    return [Probe(f"{name} ({_ident(str(conname))})", "", "", counts=False, unknown=(
        f"foreign key {conname} of {referencing} references a key it sets: the rows "
        "referencing the old values are not asked")) for conname, referencing in rows]


def rows_after(conn: Any, name: str, sql: str) -> tuple[str, str]:
    """The rows of `name` once `sql`, the one UPDATE of it before a check (lint's `updated`:
    the table's first write, its own table alone, no FROM or WITH), ran: a derived table of
    today's rows, each column it sets `CASE WHEN (its WHERE) THEN (its value) ELSE column
    END` (a row its WHERE is NULL of keeps its values, as PostgreSQL keeps it), the value
    coerced to the column's type as the UPDATE assigns it, read from the row as it was
    (task 596: neosync's `SET source_id = CASE source WHEN ... END` with no ELSE, then `SET
    NOT NULL`), a generated column computed again over them (its expression, as the
    database holds it); and a query casting the values it sets alone (`Probe.casts`: one
    failing is the UPDATE's own refusal). Raises `_CannotTell` where today's rows do not
    tell them: the table not there, partitioned or with children (their rows too), a BEFORE
    UPDATE trigger or an UPDATE rule (`refuse_rewritten`), row security, a volatile call, a
    field or element of a column set, DEFAULT."""
    from pglast import ast, parse_sql
    from pglast.stream import RawStream

    from dbsafe.core import shortened

    stmt = parse_sql(sql)[0].stmt
    assert isinstance(stmt, ast.UpdateStmt) and stmt.relation is not None
    said = f"`{shortened(sql, 60)}`"
    row = conn.execute("SELECT relkind, relhassubclass, relrowsecurity FROM pg_class "
                       "WHERE oid = to_regclass(%s)", (name,)).fetchone()
    if row is None:
        raise _CannotTell(f"{name} does not exist now, so the plan makes it")
    if row[0] == "p" or row[1]:
        raise _CannotTell(f"{name} has child tables or partitions, whose rows {said} updates "
                          "too: not followed by the probe")
    if row[2]:
        raise _CannotTell(f"{name} has row security, which may hide rows from {said}")
    refuse_rewritten(conn, name, "UPDATE")
    if stmt.fromClause or stmt.withClause or isinstance(stmt.whereClause, ast.CurrentOfExpr):
        raise _CannotTell(f"{said} reads other rows than its table's")
    targets = list(stmt.targetList or ())
    if any(target.indirection for target in targets):
        raise _CannotTell(f"{said} sets a field or element of a column")
    given = {str(target.name): _one_column(target.val) for target in targets}
    if any(isinstance(n, ast.SetToDefault) for value in given.values() for n in _nodes(value)):
        raise _CannotTell(f"{said} sets DEFAULT, which the probe does not evaluate")
    _refuse_volatile(conn, stmt, f"the SET or WHERE of {said}")
    columns = _columns(conn, name)
    types = {str(c[0]): str(c[1]) for c in columns}
    # (a generated column's expression, over the row as updated: PostgreSQL computes it again)
    generated = {str(c[0]): str(c[5]) for c in columns if c[4]}
    missing = [column for column in given if column not in types or column in generated]
    if missing:
        raise _CannotTell(f"column {missing[0]} of {name} does not exist now, so the plan "
                          "makes it")
    alias = _ident(str(stmt.relation.alias.aliasname if stmt.relation.alias
                       else stmt.relation.relname))
    where = f"({RawStream()(stmt.whereClause)})" if stmt.whereClause is not None else ""
    values = {column: _assigned_value(conn, f"({RawStream()(value)})", types[column])
              for column, value in given.items()}
    listed = ", ".join(
        f"{alias}.{_ident(column)}" if column not in values
        else f"CASE WHEN {where} THEN {values[column]} ELSE {alias}.{_ident(column)} END "
             f"AS {_ident(column)}" if where else f"{values[column]} AS {_ident(column)}"
        for column in types if column not in generated)
    source = f"{name} AS {alias}"
    casts = f"SELECT least(0, {', '.join(f'count({v})' for v in values.values())}) FROM " \
            f"{source}" + (f" WHERE {where}" if where else "")
    rows = f"(SELECT {listed} FROM {source}) AS rewritten"
    if generated:
        computed = ", ".join(
            _ident(column) if column not in generated else
            f"{_assigned_value(conn, f'({generated[column]})', types[column])} AS "
            f"{_ident(column)}" for column in types)
        rows = f"(SELECT {computed} FROM {rows}) AS rewritten"
    return rows, casts

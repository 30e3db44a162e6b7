"""The rows `ALTER TABLE parent ATTACH PARTITION child FOR VALUES ...` checks (DBS615,
`guard.row_refusals`): what PostgreSQL checks is asked of the rows read-only.

- The child's rows against its partition constraint (23514 `partition constraint of relation
  ... is violated by some row`): the bound, built from the parent's partition key
  (`pg_get_partkeydef`) as PostgreSQL builds it (every key `IS NOT NULL` and a row comparison
  for a range, `= ANY` for a list, PostgreSQL's own `satisfies_hash_partition` for a hash),
  with the parent's own partition constraint where it is a partition itself
  (`pg_get_partition_constraintdef`); a DEFAULT partition: the rows an existing partition's
  constraint holds. A key with an operator class of its own (its operators are not `<`,
  `=`) cannot be told.
- The rows of the parent's DEFAULT partition the new bound takes (23514 `updated partition
  constraint for default partition ... would be violated by some row`).
- The parent's indexes, built on the child (or an equal one of the child's attached): a
  unique index's duplicate keys (23505), an index's expressions and predicate evaluated,
  its functions under an index build's search_path too (`row_refusals._restricted_failure`).
- The parent's foreign keys, cloned onto the child and validated over its rows (23503).
- The parent's exclusion constraints (PostgreSQL 17+), built on the child: two of its rows
  every operator holds for (23P01).

The child's rows are all its partitions' (a partitioned child); a foreign table's rows
(the child, or the DEFAULT partition) PostgreSQL does not check, nor does the probe. CHECK and NOT NULL
constraints the parent has and the child lacks are refused whatever the rows (`child table
is missing constraint`), as `ALTER TABLE ... INHERIT` refuses them: no row is asked, and the
capture on the empty copy fails on them already. `DETACH PARTITION ... CONCURRENTLY` adds a
CHECK of the partition constraint its rows hold: nothing to ask.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from dbsafe.guard.row_refusals import (
    Probe,
    _CannotTell,
    _constraint_probes,
    _count,
    _ident,
    _index_probe,
    _parsed_constraint,
    _refuse_volatile,
    _Table,
    _table,
    _unique_probe,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pglast import ast

    from dbsafe.lint.row_checks import PlanFacts


def attach_probes(conn: Any, parent: _Table, command: ast.PartitionCmd, plan: PlanFacts
                  ) -> Iterator[Probe]:
    """What `ATTACH PARTITION` (`command`) checks of the rows; `plan`: what the plan does
    before it (`changed`: the tables it changes the rows of; `empty`: the partitions it
    creates, with no rows)."""
    from pglast.stream import RawStream

    from dbsafe.lint.statement import same_relation

    bound = command.bound
    assert command.name is not None and bound is not None
    row = conn.execute(
        "SELECT c.relkind, pg_get_partkeydef(c.oid), pg_get_partition_constraintdef(c.oid), "
        "p.partdefid::regclass::text FROM pg_class c "
        "LEFT JOIN pg_partitioned_table p ON p.partrelid = c.oid AND p.partdefid <> 0 "
        "WHERE c.oid = to_regclass(%s)", (parent.name,)).fetchone()
    if row is None or row[0] != "p":
        raise _CannotTell(f"{parent.name} is no partitioned table now, so the plan makes it")
    _, key, parent_constraint, default = row
    name = str(RawStream()(command.name))
    child_rows = not any(same_relation(new, name) for new in plan.empty) \
        and not _foreign(conn, name)
    default_rows = bool(default) and not bound.is_default and not _foreign(conn, default)
    # (built only where rows are asked: a partition the plan creates beside no DEFAULT one,
    # as each month's is, asks nothing, whatever its key)
    belongs = None if bound.is_default or not (child_rows or default_rows) \
        else _bound(conn, parent.name, str(key), bound)
    if child_rows:
        child = _table(conn, command.name)
        yield from _child_probes(conn, parent, child, belongs, parent_constraint, plan)
    if default_rows and belongs is not None:
        for table, why in plan.changed.items():
            if same_relation(table, default):
                raise _CannotTell(f"{why}: the rows of its DEFAULT partition are not today's")
        rows = _table(conn, _range_var(default))
        yield Probe(default, f"holds rows the bound of {name} takes",
                    _count(f"SELECT FROM {rows.own} WHERE ({belongs}) IS TRUE"), counts=True,
                    find=f"SELECT * FROM {rows.own} WHERE ({belongs}) IS TRUE")


def _foreign(conn: Any, name: str) -> bool:
    """Whether `name` is a foreign table, whose rows PostgreSQL does not check (nor can)."""
    row = conn.execute("SELECT relkind = 'f' FROM pg_class WHERE oid = to_regclass(%s)",
                       (name,)).fetchone()
    return bool(row and row[0])


def _child_probes(conn: Any, parent: _Table, child: _Table, belongs: str | None,
                  parent_constraint: str | None, plan: PlanFacts) -> Iterator[Probe]:
    """The child's rows: its partition constraint, the parent's indexes and foreign keys."""
    from pglast import ast, parse_sql

    if belongs is None:  # DEFAULT: no row an existing partition holds
        siblings = [str(r[0]) for r in conn.execute(
            "SELECT pg_get_partition_constraintdef(inhrelid) FROM pg_inherits "
            "WHERE inhparent = to_regclass(%s) AND inhrelid <> to_regclass(%s)",
            (parent.name, child.name)).fetchall() if r[0]]
        refusing = [f"({' OR '.join(siblings)}) IS TRUE"] if siblings else []
    else:
        refusing = [f"({belongs}) IS FALSE"]
    if parent_constraint:  # (the parent is a partition: the child is held to its bound too)
        refusing.append(f"({parent_constraint}) IS FALSE")
    if refusing:
        where = " OR ".join(refusing)
        yield Probe(child.name, "holds rows outside its partition's bound",
                    _count(f"SELECT FROM {child.own} WHERE {where}"), counts=True,
                    find=f"SELECT * FROM {child.own} WHERE {where}")
    for unique, excluding, index, definition in conn.execute(
            "SELECT indisunique, indisexclusion, indexrelid::regclass::text, "
            "CASE WHEN indisexclusion THEN (SELECT pg_get_constraintdef(oid) FROM "
            "pg_constraint WHERE conindid = indexrelid) ELSE pg_get_indexdef(indexrelid) END "
            "FROM pg_index WHERE indrelid = to_regclass(%s) "
            "AND (indisunique OR indisexclusion OR indexprs IS NOT NULL "
            "OR indpred IS NOT NULL) ORDER BY 3", (parent.name,)).fetchall():
        if excluding:  # (its constraint's definition)
            constraint = _parsed_constraint(child.name, definition)
            constraint.conname = index
            yield from _constraint_probes(conn, child, constraint, plan)
            continue
        stmt = parse_sql(definition)[0].stmt
        assert isinstance(stmt, ast.IndexStmt)
        yield replace(_unique_probe(child, stmt.indexParams or (), stmt.whereClause,
                                    bool(stmt.nulls_not_distinct), f"unique index ({index})")
                      if unique else _index_probe(child, stmt, index), build=True)
    for (definition,) in conn.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = "
            "to_regclass(%s) AND contype = 'f' AND convalidated ORDER BY conname",
            (parent.name,)).fetchall():
        yield from _constraint_probes(conn, child, _parsed_constraint(child.name, definition),
                                      plan)


def _bound(conn: Any, parent: str, key: str, bound: ast.PartitionBoundSpec) -> str:
    """The rows `bound` holds, as an expression over a row (PostgreSQL's partition
    constraint, built from the parent's key as `pg_get_partkeydef` prints it)."""
    from pglast import ast, parse_sql
    from pglast.stream import RawStream

    spec = parse_sql(f"CREATE TABLE t () PARTITION BY {key}")[0].stmt
    assert isinstance(spec, ast.CreateStmt) and spec.partspec is not None
    elements = spec.partspec.partParams or ()
    keys = [_ident(str(e.name)) if e.name else f"({RawStream()(e.expr)})" for e in elements]
    if bound.strategy == "h":  # (PostgreSQL's own: the key's hash opclass, the parent's)
        oid = conn.execute("SELECT to_regclass(%s)::oid", (parent,)).fetchone()[0]
        return f"satisfies_hash_partition({oid}::oid, {bound.modulus}, {bound.remainder}, " \
               f"{', '.join(keys)})"
    if any(e.opclass for e in elements):
        raise _CannotTell("its partition key has an operator class of its own, whose "
                          "operators the probe does not ask")
    keys = [k + (" COLLATE " + ".".join(f'"{n.sval}"' for n in e.collation)
                 if e.collation else "") for k, e in zip(keys, elements, strict=True)]
    types = [_key_type(conn, parent, e) for e in elements]
    if bound.strategy == "l":
        values = [v for v in bound.listdatums or ()
                  if not (isinstance(v, ast.A_Const) and v.isnull)]
        null = len(values) < len(bound.listdatums or ())
        cast = ", ".join(_value(conn, v, types[0]) for v in values)
        parts = [f"({keys[0]} IS NOT NULL AND {keys[0]} = ANY (ARRAY[{cast}]))"] if values \
            else []
        return " OR ".join(parts + ([f"{keys[0]} IS NULL"] if null else []))
    conditions = [f"{k} IS NOT NULL" for k in keys]
    for datums, lower in ((bound.lowerdatums or (), True), (bound.upperdatums or (), False)):
        side = _range_side(conn, keys, types, datums, lower=lower)
        if side:
            conditions.append(side)
    return " AND ".join(conditions)


def _range_side(conn: Any, keys: list[str], types: list[str], datums: Sequence[Any], *,
                lower: bool) -> str:
    """One side of a range bound as a row comparison ("": unbounded): the values before its
    first MINVALUE or MAXVALUE, compared `>=` (lower) or `<` (upper), a MAXVALUE after a
    lower's values making it `>`, after an upper's `<=`."""
    from pglast import ast

    values: list[str] = []
    edge = ""
    for datum in datums:
        fields = datum.fields or () if isinstance(datum, ast.ColumnRef) else ()
        if len(fields) == 1:
            edge = str(getattr(fields[0], "sval", ""))  # minvalue, maxvalue
            break
        values.append(_value(conn, datum, types[len(values)]))
    if not values:
        if edge == ("minvalue" if lower else "maxvalue"):
            return ""
        raise _CannotTell("its range bound holds no row")
    operator = (">" if edge == "maxvalue" else ">=") if lower \
        else ("<=" if edge == "maxvalue" else "<")
    n = len(values)
    if n == 1:
        return f"{keys[0]} {operator} {values[0]}"
    return f"ROW({', '.join(keys[:n])}) {operator} ROW({', '.join(values)})"


def _key_type(conn: Any, parent: str, element: ast.PartitionElem) -> str:
    """A key's type, as PostgreSQL casts a bound's values to it: a column's (its typmod
    too), an expression's over the parent's row type."""
    from pglast.stream import RawStream

    if element.name:
        row = conn.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE "
                           "attrelid = to_regclass(%s) AND attname = %s AND NOT attisdropped",
                           (parent, element.name)).fetchone()
    else:  # (evaluated over a row of NULLs: in a savepoint, one failing is not known)
        import psycopg

        assert element.expr is not None
        try:
            with conn.transaction():
                row = conn.execute(f"SELECT pg_typeof(({RawStream()(element.expr)}))::text "
                                   f"FROM (SELECT (NULL::{parent}).*) AS r").fetchone()
        except psycopg.Error:
            row = None
    if row is None:
        raise _CannotTell(f"the partition key of {parent} is not known now")
    return str(row[0])


def _value(conn: Any, value: Any, type_name: str) -> str:
    from pglast.stream import RawStream

    _refuse_volatile(conn, value, "its bound")
    return f"CAST(({RawStream()(value)}) AS {type_name})"


def _range_var(name: str) -> Any:
    """A name as `regclass` prints it, as a RangeVar (`_table` reads one)."""
    from pglast import ast, parse_sql

    stmt = parse_sql(f"SELECT FROM {name}")[0].stmt
    assert isinstance(stmt, ast.SelectStmt) and stmt.fromClause
    return stmt.fromClause[0]

"""The rows an `INSERT` of a pending revision would insert, asked of the table's constraints
(DBS615, `guard.row_refusals`): read-only, the INSERT's own SELECT (or VALUES) run as a
subquery, each value cast to its column's type as the INSERT assigns it.

The copy lint captures on has no rows, so `INSERT INTO environments (..., container_image)
SELECT ..., container_image FROM launchers` into a NOT NULL column passed there and failed on
the database (23502, Renku's 584598f3b769, task 551). What PostgreSQL checks of each row it
inserts is asked of the rows the SELECT gives:

- a NOT NULL column: its value `IS NULL` (a column the INSERT leaves out gets its DEFAULT,
  NULL without one; one left to a sequence, an identity or a volatile DEFAULT, `nextval()`,
  `gen_random_uuid()`, is taken as filled);
- a CHECK (NOT VALID too: PostgreSQL checks every new row): `(check) IS FALSE`;
- a unique index or key (not partial, over columns): a key of the rows inserted found in the
  table's rows, or twice among them (`NULLS NOT DISTINCT`: NULLs too); one over a column left
  to a sequence or identity takes new values, and is taken as passing; where the plan wrote
  the table before it, also a key the rows of its INSERTs before it give (`written_keys`:
  lint hands them on where they are all seed INSERTs and UPDATEs, `keys_written`), one an
  UPDATE before it may have set cannot be told; one the plan dropped (DROP INDEX) passes;
- a foreign key: a complete key of the rows inserted found nowhere in the referenced table;
- a column of a domain: each value cast to it (its CHECK, its NOT NULL).

It cannot be told, and is said so, where the SELECT calls a volatile function (its values
at the upgrade are not the probe's, and it may write), writes (a data-modifying WITH: the
READ ONLY transaction refuses it), or the table is partitioned (each row's partition checks it
too), has a BEFORE INSERT trigger or an INSERT rule (they change the rows), or a key the
probe does not follow (an expression or partial unique index, an exclusion constraint, a
foreign key referencing the table itself, a column left to a generated value or a domain's
DEFAULT), or for `ON CONFLICT` other than `DO NOTHING` with no conflict target (its keys).
A table with none of these constraints refuses no row inserted: nothing is asked.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from dbsafe.core import shortened
from dbsafe.guard.row_refusals import (
    Probe,
    _CannotTell,
    _count,
    _foreign_probe,
    _ident,
    _nodes,
    _parsed_constraint,
    _refuse_volatile,
    _Table,
    _table,
)

if TYPE_CHECKING:
    from pglast import ast

    from dbsafe.lint.row_checks import PlanFacts

# What a column the INSERT leaves out holds, where it is no expression the probe evaluates.
_FILLED = "filled"  # a sequence, an identity, a volatile DEFAULT: a new value, not NULL
_UNKNOWN = "unknown"  # a generated value, a domain's DEFAULT: not evaluated


def refusable(conn: Any, table: str) -> bool:
    """Whether a row inserted into `table` may be refused: it has a NOT NULL column, a column
    of a domain, a CHECK, a unique, foreign or exclusion key, or is partitioned; or is not
    there now (the plan makes it: the probe says so)."""
    row = conn.execute(
        "SELECT c.oid IS NULL OR c.relkind = 'p' "
        "OR EXISTS (SELECT FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t "
        "ON t.oid = a.atttypid WHERE a.attrelid = c.oid AND a.attnum > 0 "
        "AND NOT a.attisdropped AND (a.attnotnull OR t.typtype = 'd')) "
        "OR EXISTS (SELECT FROM pg_catalog.pg_constraint k WHERE k.conrelid = c.oid "
        "AND k.contype IN ('c', 'f', 'u', 'p', 'x')) "
        "OR EXISTS (SELECT FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid "
        "AND i.indisunique) "
        "FROM (SELECT pg_catalog.to_regclass(%s) AS oid) r "
        "LEFT JOIN pg_catalog.pg_class c ON c.oid = r.oid", (table,)).fetchone()
    return bool(row and row[0])


# What a BEFORE ... FOR EACH ROW trigger's `tgtype` has (ROW 1, BEFORE 2, and the event),
# and a rule's `ev_type`, for each data statement the probes ask. (DELETE: a BEFORE
# trigger FOR EACH STATEMENT too, which may delete the rows referencing those it deletes)
_FIRED_BY = {"INSERT": (1 | 2 | 4, "3"), "UPDATE": (1 | 2 | 16, "2"), "DELETE": (2 | 8, "4")}
_ROWS = {"INSERT": "inserted", "UPDATE": "updated", "DELETE": "deleted"}


def refuse_rewritten(conn: Any, name: str, event: str) -> None:
    """Raise `_CannotTell` where a BEFORE `event` FOR EACH ROW trigger (a DELETE's: any
    BEFORE DELETE trigger) or an `event` rule of table `name` may change the rows the
    statement writes (what the probe asks is not what PostgreSQL checks)."""
    mask, ev_type = _FIRED_BY[event]
    fires = conn.execute(
        "SELECT (SELECT min(tgname) FROM pg_trigger WHERE tgrelid = to_regclass(%s) "
        "AND NOT tgisinternal AND tgenabled <> 'D' AND tgtype & %s = %s), "
        "(SELECT min(rulename) FROM pg_rewrite WHERE ev_class = to_regclass(%s) "
        "AND ev_type = %s AND ev_enabled <> 'D')", (name, mask, mask, name, ev_type)).fetchone()
    if fires[0] is not None:
        each = " FOR EACH ROW" if mask & 1 else ""
        raise _CannotTell(f"trigger {fires[0]} of {name} runs BEFORE {event}{each}: it "
                          f"may change the rows {_ROWS[event]}")
    if fires[1] is not None:
        raise _CannotTell(f"rule {fires[1]} of {name} rewrites the {event}")


def written_table(conn: Any, relation: Any, event: str, does: str, partitioned: str) -> Any:
    """The table an UPDATE or a DELETE (`event`) of the plan writes, as the database has it
    now (`row_refusals._table`), where its rows can be asked: it exists, is not partitioned
    (`partitioned`: why that is not followed), has no child tables the statement reaches
    (`does`: what it does to their rows) and no trigger or rule rewriting it
    (`refuse_rewritten`); else `_CannotTell` says which."""
    table = _table(conn, relation)
    name = table.name
    row = conn.execute("SELECT relkind, relhassubclass FROM pg_class "
                       "WHERE oid = to_regclass(%s)", (name,)).fetchone()
    if row is None:
        raise _CannotTell(f"{name} does not exist now, so the plan makes it")
    if row[0] == "p":
        raise _CannotTell(f"{name} is partitioned: {partitioned}")
    if row[1] and relation.inh:
        raise _CannotTell(f"{name} has child tables: the {event} {does} their rows too, "
                          "which the probe does not follow")
    refuse_rewritten(conn, name, event)
    return table


def insert_probes(conn: Any, stmt: ast.InsertStmt, plan: PlanFacts) -> Iterator[Probe]:
    """What the rows `stmt` inserts ask of its table's constraints (the module's list);
    `plan.changed`: tables an earlier statement changes the rows of (a foreign key's
    referenced one among them cannot be told)."""

    assert stmt.relation is not None
    table = _table(conn, stmt.relation)
    name = table.name
    row = conn.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)",
                       (name,)).fetchone()
    if row is None:
        raise _CannotTell(f"{name} does not exist now, so the plan makes it")
    if row[0] == "p":
        raise _CannotTell(f"{name} is partitioned: the partition each row goes to checks it "
                          "too, which the probe does not follow")
    refuse_rewritten(conn, name, "INSERT")
    columns = _columns(conn, name)
    given, values, query, aliases = _given(conn, stmt, name, columns)
    derived = _derived(values, query, aliases)
    rows = f"{derived} AS inserted"
    # Each value given cast to its column's type (a domain's: its CHECK and NOT NULL): one
    # failing is the INSERT's failure; the probes over the rows cast are then not asked.
    cast = [*given, *(str(c[0]) for c in columns if c[6] is not None and str(c[0]) not in given
                      and values[str(c[0])] not in (_FILLED, _UNKNOWN))]
    casts = f"SELECT least(0, count(*), {', '.join(f'count({values[c]})' for c in cast)}) " \
            f"FROM ({query}) AS given{aliases}" if cast else ""
    if casts:
        yield Probe(name, "is given values its columns' types refuse", casts, counts=True)
    for probe in _insert_row_probes(conn, name, columns, values, rows, derived, stmt, plan):
        yield replace(probe, casts=casts) if probe.query else probe


def _given(conn: Any, stmt: ast.InsertStmt, name: str, columns: Sequence[Any]
           ) -> tuple[list[str], dict[str, str], str, str]:
    """The columns `stmt` gives (in order), each column's value in the rows it inserts (as
    assigned, a column left out: its DEFAULT), its SELECT (or VALUES) as SQL and the aliases
    of its columns there (`c1`, ...)."""
    from pglast import ast
    from pglast.stream import RawStream

    source: Any = stmt.selectStmt
    if source is not None and any(isinstance(n, ast.SetToDefault) for n in _nodes(source)):
        raise _CannotTell("its VALUES give DEFAULT, which the probe does not evaluate")
    if stmt.withClause is not None:
        if source is None or source.withClause is not None:
            raise _CannotTell("its WITH is not read by the probe")
        source.withClause = stmt.withClause
    _refuse_volatile(conn, stmt, "its SELECT")
    query = str(RawStream()(source)) if source is not None else "SELECT"
    types = {str(c[0]): str(c[1]) for c in columns}
    if stmt.cols:
        if any(target.indirection for target in stmt.cols):
            raise _CannotTell("it inserts into a field or element of a column")
        given = [str(target.name) for target in stmt.cols]
    else:  # (the table's first columns, as many as its SELECT gives)
        width = len(conn.execute(f"SELECT * FROM ({query}) AS given LIMIT 0").description
                    or ())
        given = [str(c[0]) for c in columns[:width]]
    missing = [column for column in given if column not in types]
    if missing:
        raise _CannotTell(f"column {missing[0]} of {name} does not exist now, so the plan "
                          "makes it")
    values: dict[str, str] = {}
    for i, column in enumerate(given, 1):
        values[column] = _assigned_value(conn, f"given.c{i}", types[column])
    for column in columns:
        if str(column[0]) not in values:
            values[str(column[0])] = defaulted(conn, column)
    aliases = f"({', '.join(f'c{i}' for i in range(1, len(given) + 1))})" if given else ""
    return given, values, query, aliases


def _derived(values: dict[str, str], query: str, aliases: str) -> str:
    """The rows an INSERT gives (`_given`), each column as it inserts it."""
    listed = ", ".join(f"{value} AS {_ident(column)}" for column, value in values.items()
                       if value not in (_FILLED, _UNKNOWN))
    return f"(SELECT {listed} FROM ({query}) AS given{aliases})"


@dataclass(frozen=True, slots=True)
class Written:
    """What the plan's writes of a table before an INSERT (lint's `keys_written`) do to the
    keys its rows hold: the rows its INSERTs add (each column's value, `_given`, and the
    rows as a query), the columns its UPDATEs set; `unknown`: why they cannot be told."""

    inserted: tuple[tuple[dict[str, str], str], ...] = ()
    updated: frozenset[str] = frozenset()
    unknown: str = ""


def written_keys(conn: Any, name: str, statements: Sequence[str]) -> Written:
    """The plan's INSERTs and UPDATEs of table `name` before an INSERT into it (`Written`),
    each read against the table as the database holds it now (lint hands on only
    statements whose own rows read no table, run under the same settings)."""
    from pglast import ast, parse_sql

    inserted: list[tuple[dict[str, str], str]] = []
    updated: set[str] = set()
    columns = _columns(conn, name)
    try:
        for sql in statements:
            stmt: Any = parse_sql(sql)[0].stmt
            if isinstance(stmt, ast.InsertStmt):
                _, values, query, aliases = _given(conn, stmt, name, columns)
                inserted.append((values, _derived(values, query, aliases)))
            elif isinstance(stmt, ast.UpdateStmt):
                # (a BEFORE UPDATE trigger may set any column of the row)
                refuse_rewritten(conn, name, "UPDATE")
                updated.update(str(target.name) for target in stmt.targetList or ())
            else:
                raise _CannotTell(f"{shortened(sql, 40)} is not read")
    except _CannotTell as why:
        return Written(unknown=str(why))
    return Written(tuple(inserted), frozenset(updated))


def _insert_row_probes(conn: Any, name: str, columns: Sequence[Any], values: dict[str, str],
                       rows: str, derived: str, stmt: ast.InsertStmt, plan: PlanFacts
                       ) -> Iterator[Probe]:
    """The NOT NULL, CHECK, foreign and unique keys of `name` over the rows inserted
    (`rows`: `derived` as `inserted`; `values`: each column's value there)."""
    from pglast.enums import OnConflictAction

    yield from row_probes(conn, name, columns, values, rows, derived, plan)
    conflict = stmt.onConflictClause
    if conflict is not None and (conflict.action != OnConflictAction.ONCONFLICT_NOTHING
                                 or conflict.infer is not None):
        yield Probe(name, "", "", counts=False, unknown=(
            "ON CONFLICT: which rows it inserts, and updates, is not asked"))
        return
    if conflict is not None:  # DO NOTHING: a row whose key is there is skipped
        return
    # (an earlier statement writes the table: its keys are not today's, but for those the
    # plan's own INSERTs and UPDATEs before it write, which the probe reads, task 583)
    written = written_keys(conn, name, plan.keys_written) \
        if plan.keys_unsure and plan.keys_written else None
    yield from unique_probes(conn, _table(conn, stmt.relation), values, derived,
                             dropped=plan.dropped_indexes, unsure=plan.keys_unsure,
                             written=written)


def row_probes(conn: Any, name: str, columns: Sequence[Any], values: dict[str, str],
               rows: str, derived: str, plan: PlanFacts,
               changed: frozenset[str] | None = None) -> Iterator[Probe]:
    """The NOT NULL, CHECK and foreign keys of `name` over the rows written (`rows`:
    `derived` as `inserted`; `values`: each column's value there). `changed`: the columns an
    UPDATE sets (`guard.updated_rows`), where a NOT NULL or a validated CHECK or foreign key
    over the others is not asked (each row held it already); None: an INSERT's, all."""
    from pglast.stream import RawStream

    from dbsafe.lint.statement import same_relation

    for column, _, not_null, *_ in columns:
        column = str(column)
        subject = f"{name}.{_ident(column)}"
        value = values[column]
        if not not_null or value == _FILLED or (changed is not None and column not in changed):
            continue
        if value == _UNKNOWN:
            yield Probe(subject, "", "", counts=False, unknown=(
                f"NOT NULL {column} is left to a value the probe does not evaluate"))
            continue
        yield Probe(subject, "is given NULLs (NOT NULL)",
                    _count(f"SELECT FROM {rows} WHERE {_ident(column)} IS NULL"), counts=True,
                    find=f"SELECT * FROM {rows} WHERE {_ident(column)} IS NULL")
    constraints = conn.execute(
        "SELECT conname, contype, pg_get_constraintdef(oid), confrelid = conrelid, "
        "convalidated FROM pg_constraint WHERE conrelid = to_regclass(%s) "
        "AND contype IN ('c', 'f', 'x') ORDER BY contype, conname", (name,)).fetchall()
    for conname, contype, definition, own, validated in constraints:
        subject = f"{name} ({_ident(str(conname))})"
        con = _parsed_constraint(name, str(definition)) if contype != "x" else None
        if changed is not None and (validated or contype == "f") and con is not None \
                and not _columns_of(con) & changed:
            # (an UPDATE leaving its columns: each row held it, and holds it; a foreign
            # key's, NOT VALID too, is checked only where its key changes)
            continue
        if contype == "x":
            yield Probe(subject, "", "", counts=False,
                        unknown="an exclusion constraint over rows inserted is not asked")
            continue
        assert con is not None
        used = _columns_of(con)
        unknown = sorted(c for c in used if values.get(c) in (_FILLED, _UNKNOWN))
        if unknown:
            yield Probe(subject, "", "", counts=False, unknown=(
                f"its column {unknown[0]} is left to a value the probe does not evaluate"))
        elif contype == "c" and con.raw_expr is not None:
            check = str(RawStream()(con.raw_expr))
            yield Probe(subject, f"is given rows failing CHECK ({shortened(check, 60)})",
                        _count(f"SELECT FROM {rows} WHERE ({check}) IS FALSE"), counts=True,
                        find=f"SELECT * FROM {rows} WHERE ({check}) IS FALSE")
        elif contype == "f" and changed is not None and not validated:
            yield Probe(subject, "", "", counts=False, unknown=(
                "a foreign key NOT VALID is checked only in the rows whose key the UPDATE "
                "changes, which the probe does not follow"))
        elif contype == "f" and own:
            yield Probe(subject, "", "", counts=False, unknown=(
                "it references its own table, whose rows the INSERT adds to"
                if changed is None else "it references its own table, whose rows the "
                "UPDATE changes"))
        elif contype == "f":
            pktable: Any = con.pktable
            referenced = ".".join(str(part) for part in (
                pktable.schemaname, pktable.relname) if part)
            why = next((why for changed, why in plan.changed.items()
                        if same_relation(changed, referenced)), None)
            if why is not None:
                yield Probe(subject, "", "", counts=False,
                            unknown=f"{why}: the rows it references are not today's")
            else:
                yield _foreign_probe(conn, _Table(name, rows, derived), con)


def unique_probes(conn: Any, table: _Table, values: dict[str, str], derived: str,
                  changed: frozenset[str] | None = None, kept: str = "",
                  moved: str = "", *, dropped: Mapping[str, str] | None = None,
                  unsure: str | None = None, written: Written | None = None
                  ) -> Iterator[Probe]:
    """A key of the rows inserted that the table's rows hold, or two of them share, for
    each unique index of the table (a key or constraint's too). For an UPDATE
    (`guard.updated_rows`): only the indexes over a column it sets (`changed`, by the
    columns the index reads, its expressions and WHERE too), the table's rows it keeps
    (`kept`: a condition on `t`) holding the key; `moved` (a query over `i`, the updated rows
    as `derived`, and `u`, them as they are) finds a row given another updated row's old key,
    which an index checked row by row (not deferrable) may refuse or not, as the rows come.
    `dropped`: the indexes an earlier DROP INDEX of the plan drops (name -> why): one of
    them refuses no row, and passes unasked (the statement meets fewer keys than today's
    table holds, never more: a refusal it would find is no refusal then); not a key's or
    constraint's, which PostgreSQL refuses to drop so (asked as there). `unsure`: why the
    table's rows are not today's (an INSERT's table written before it, `keys_unsure`), and
    what those writes do to its keys (`written`, `written_keys`): an index over a column an
    UPDATE sets, or a key an INSERT leaves to a value not read, cannot be told; else a key
    the table holds, one of the rows the INSERTs before it give, or two of its own rows,
    refuse it. A table with no unique index asks nothing."""
    from dbsafe.guard.reached_rows import _quoted

    gone = {name: why for name, why in (dropped or {}).items()}
    indexes = conn.execute(
        # (indnullsnotdistinct: PostgreSQL 15+'s, read where there is one)
        "SELECT c.relname, i.indpred IS NOT NULL OR i.indexprs IS NOT NULL, "
        "coalesce((to_jsonb(i) ->> 'indnullsnotdistinct')::bool, false), "
        "(SELECT array_agg(a.attname::text ORDER BY k.n) "
        "FROM unnest(i.indkey[:i.indnkeyatts - 1]) WITH ORDINALITY AS k(attnum, n) "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum), "
        "(SELECT array_agg(a.attname::text) FROM pg_depend d JOIN pg_attribute a "
        "ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid "
        "WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid "
        "AND d.refobjid = i.indrelid AND d.refobjsubid > 0), i.indimmediate, "
        "(SELECT min(n.name) FROM unnest(%s::text[], %s::text[]) AS n(name, regclass) "
        "WHERE to_regclass(n.regclass) = i.indexrelid AND NOT EXISTS (SELECT FROM "
        "pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid)) "
        "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = to_regclass(%s) AND i.indisunique ORDER BY 1",
        (list(gone), [_quoted(name) for name in gone], table.name)).fetchall()
    for index, partial, nulls_not_distinct, keys, reads, immediate, gone_as in indexes:
        keys = [str(k) for k in keys or ()]
        subject = f"{table.name} ({', '.join(_ident(k) for k in keys) or index})"
        if gone_as is not None:
            yield Probe(subject, "", "", counts=False, kept=(
                f"{gone[gone_as]}: unique index {index} holds no key then"))
            continue
        if changed is not None and not {*keys, *(str(r) for r in reads or ())} & changed:
            continue  # (an UPDATE leaving the columns it reads: its keys stay as they are)
        if partial:
            yield Probe(subject, "", "", counts=False, unknown=(
                f"unique index {index} has an expression or a WHERE, not asked of rows "
                "inserted"))
            continue
        before = _written_before(unsure, written, keys, [str(r) for r in reads or ()])
        if isinstance(before, str):
            yield Probe(subject, "", "", counts=False, unknown=before)
            continue
        if any(values.get(k) == _FILLED for k in keys) and all(
                any(given.get(k) == _FILLED for k in keys) for given, _ in before):
            yield Probe(subject, "", "", counts=False, kept=(
                "its key takes new values (a sequence, an identity, a volatile DEFAULT)"))
            continue
        unknown = [k for k in keys if values.get(k) in (_UNKNOWN, _FILLED)]
        if unknown:
            yield Probe(subject, "", "", counts=False, unknown=(
                f"its column {unknown[0]} is left to a value the probe does not evaluate"
                if values.get(unknown[0]) == _UNKNOWN else
                f"{unsure}: its column {unknown[0]} takes new values, and an INSERT before "
                "it gives the column its own"))
            continue
        idents = [_ident(k) for k in keys]
        same = " AND ".join(f"t.{k} IS NOT DISTINCT FROM i.{k}" if nulls_not_distinct
                            else f"t.{k} = i.{k}" for k in idents)
        complete = "" if nulls_not_distinct else \
            " WHERE " + " AND ".join(f"i.{k} IS NOT NULL" for k in idents)
        shown = ", ".join(f"i.{k}::text" for k in idents)
        grouped = ", ".join(f"i.{k}" for k in idents)
        held = "".join(f" OR EXISTS (SELECT FROM {rows} t WHERE {same})" for _, rows in before)
        there = f"SELECT {shown} FROM {derived} AS i{complete or ' WHERE true'} AND (EXISTS " \
                f"(SELECT FROM {table.own} t WHERE {same}{f' AND {kept}' if kept else ''})" \
                f"{held})"
        twice = f"SELECT {shown} FROM {derived} AS i{complete} GROUP BY {grouped} " \
                "HAVING count(*) > 1"
        doubt = ""
        if moved and immediate:  # (a deferrable one is checked at the statement's end)
            doubt = f"{moved} WHERE " + " AND ".join(
                f"u.{k} IS NOT DISTINCT FROM i.{k}" if nulls_not_distinct else f"u.{k} = i.{k}"
                for k in idents) + " LIMIT 1"
        yield Probe(subject, f"is given keys unique index {index} holds already, or twice",
                    f"({there} LIMIT 1) UNION ALL ({twice} LIMIT 1) LIMIT 1", counts=False,
                    find=f"{there} UNION ALL {twice}", doubt=doubt, doubted=(
                        f"a row is given the key another row it updates holds: unique index "
                        f"{index} checks each row as it comes, which the probe does not "
                        "follow") if doubt else "")


def _written_before(unsure: str | None, written: Written | None, keys: Sequence[str],
                    reads: Sequence[str]) -> list[tuple[dict[str, str], str]] | str:
    """The rows the plan's INSERTs before it add to the table whose keys a unique index
    over `keys` (reading `reads`) holds against an INSERT's (each: its columns' values, the
    rows as a query); why they cannot be told, where `unsure` says the table was written
    before (`written`: what those writes do to its keys)."""
    if not unsure:
        return []
    said = f"{unsure}: the keys its rows hold are not today's"
    if written is None:
        return said
    if written.unknown:
        return f"{said} ({written.unknown})"
    updated = sorted(written.updated & {*keys, *reads})
    if updated:
        return f"{said} (an UPDATE before it sets {updated[0]})"
    for given, _ in written.inserted:
        left = [k for k in keys if given.get(k) == _UNKNOWN]
        if left:
            return f"{said} (an INSERT before it leaves {left[0]} to a value not read)"
    return [(given, rows) for given, rows in written.inserted]


def _columns(conn: Any, name: str) -> list[Any]:
    """The columns of `name`, in order: name, type (`format_type`'s), NOT NULL, identity,
    generated, DEFAULT (`pg_get_expr`'s), its domain's oid (None: not of a domain)."""
    return list(conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
        "a.attidentity <> '', a.attgenerated <> '', pg_get_expr(d.adbin, d.adrelid), "
        "CASE WHEN t.typtype = 'd' THEN t.oid END FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
        "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY a.attnum", (name,)).fetchall())


def _assigned_value(conn: Any, value: str, type_name: str) -> str:
    """`value` as the INSERT assigns it to a column of `type_name` (`format_type`'s): a string
    too long for `varchar(n)` refuses, as an assignment does, where a CAST would cut it."""
    from pglast import ast, parse_sql

    from dbsafe.guard.row_refusals import _assigned

    select = parse_sql(f"SELECT NULL::{type_name}")[0].stmt
    assert isinstance(select, ast.SelectStmt) and select.targetList
    cast: Any = select.targetList[0].val
    return _assigned(conn, value, cast.typeName, type_name)


def defaulted(conn: Any, column: Sequence[Any]) -> str:
    """What `column` (a row of `_columns`) gets where an INSERT leaves it out, or an UPDATE
    sets it `= DEFAULT` (`guard.updated_rows`): its DEFAULT, NULL without one, cast to its
    type; `_FILLED` or `_UNKNOWN` where it is no expression the probe evaluates."""
    from dbsafe.guard.kept_types import domain_chain

    _, type_name, _, numbered, generated, default, domain = column
    if generated:
        return _UNKNOWN
    if numbered:
        return _FILLED
    if default is not None:
        return _default_value(conn, str(default), str(type_name))
    if domain is not None and domain_chain(conn, domain).default is not None:
        return _UNKNOWN  # (a domain's DEFAULT: not evaluated)
    return f"CAST(NULL AS {type_name})"  # (of a domain: cast to it, its NOT NULL refuses)


def _default_value(conn: Any, default: str, type_name: str) -> str:
    """A column's DEFAULT (`pg_get_expr`'s), as a column the INSERT leaves out gets it: a
    volatile one (`nextval()`, `gen_random_uuid()`) is a new value each row (`_FILLED`)."""
    from pglast import parse_sql

    select: Any = parse_sql(f"SELECT {default}")[0].stmt
    try:
        _refuse_volatile(conn, select, "its DEFAULT")
    except _CannotTell:
        return _FILLED
    return f"CAST(({default}) AS {type_name})"


def _columns_of(con: ast.Constraint) -> set[str]:
    """The columns a constraint (as `pg_get_constraintdef` gives it) reads."""
    from pglast import ast

    names = {str(k.sval) for k in (*(con.keys or ()), *(con.fk_attrs or ()))}
    for node in _nodes(con.raw_expr):
        if isinstance(node, ast.ColumnRef) and node.fields \
                and isinstance(node.fields[-1], ast.String):
            names.add(str(node.fields[-1].sval))
    return names

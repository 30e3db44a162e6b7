"""The rows a `DELETE` of a pending revision would delete, asked of the foreign keys other
tables hold referencing them (DBS615, `guard.row_refusals`): read-only, the DELETE's own
FROM, USING and WHERE run as a SELECT (`SELECT t.ctid, t.* FROM t [, ...] WHERE ...`), with
`guard.inserted_rows`' trigger and rule check.

The copy lint captures on has no rows, so `DELETE FROM customers WHERE ...` of rows the
orders still reference passed there and failed on the database (23503), with no line at all
(task 559). What PostgreSQL does of each foreign key referencing a row it deletes, by the
key's `ON DELETE`:

- `NO ACTION`, `RESTRICT`: the rows of the referencing table (its own; a partitioned one's:
  all) whose complete key is one of a row deleted refuse it, unless the same DELETE deletes
  them (a key of the table's own: `parent_id` of a tree);
- `CASCADE`: those rows are deleted too (a line says how many), and the keys referencing
  them are asked in turn, up to `_DEPTH` tables deep;
- `SET NULL` (of its columns, or those it lists): a NOT NULL one refuses (23502); else a
  line says how many rows it sets;
- `SET DEFAULT`: the defaults it sets, which the key then checks, are not asked.

It cannot be told, and is said so, where the DELETE's WHERE (or USING, WITH) calls a
volatile function, the table is partitioned or has children (their rows too), has a BEFORE
DELETE trigger or a DELETE rule (they change the rows deleted) or an AFTER DELETE row trigger
firing before the keys' (by name), for a foreign key `NO
ACTION` and `DEFERRABLE` (checked at COMMIT, after the statements that follow it), a
referencing table the plan wrote or changed the columns or constraints of before, a key of
the table's own with another action, or a cascade reaching a table twice or too deep. A
table no foreign key references refuses no row deleted: nothing is asked.

A referencing table the plan wrote before only by DELETEs whose rows today's rows tell
(lint's `deleted`: no other write, no change of its columns or constraints, no table they
read written before; `DELETE FROM child WHERE ...; DELETE FROM parent WHERE ...`, the usual
shape, task 572) is asked over the rows they leave: today's, less each row their own FROM,
USING and WHERE select (a WHERE NULL of a row keeps it, as PostgreSQL does). Unless one
calls a volatile function, or the table (a child or partition of it) has a BEFORE DELETE
trigger or a DELETE rule, which may keep a row; a table a trigger or referential action
reaches besides (`guard.reached_rows`) cannot be told.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from dbsafe.guard.inserted_rows import refuse_rewritten, written_table
from dbsafe.guard.row_refusals import Probe, _CannotTell, _count, _ident, _refuse_volatile

if TYPE_CHECKING:
    from pglast import ast

    from dbsafe.lint.row_checks import PlanFacts

_ROW = '"dbsafe row"'  # the deleted row's ctid, in the probe's derived rows
_DEPTH = 4  # tables a cascade is followed through
_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL",
            "d": "SET DEFAULT"}


def refusable(conn: Any, table: str) -> bool:
    """Whether a row deleted from `table` may be refused: a foreign key references it, or
    one of its inheritance children or partitions (which a DELETE not ONLY deletes from)."""
    row = conn.execute(
        "WITH RECURSIVE t(oid) AS (SELECT pg_catalog.to_regclass(%s) UNION "
        "SELECT i.inhrelid FROM pg_catalog.pg_inherits i JOIN t ON i.inhparent = t.oid) "
        "SELECT EXISTS (SELECT FROM pg_catalog.pg_constraint k JOIN t ON k.confrelid = t.oid "
        "WHERE k.contype = 'f')", (table,)).fetchone()
    return bool(row and row[0])


def delete_probes(conn: Any, stmt: ast.DeleteStmt, plan: PlanFacts) -> Iterator[Probe]:
    """What the rows `stmt` deletes ask of the foreign keys referencing them (the module's
    list)."""
    from pglast import ast
    from pglast.stream import RawStream

    assert stmt.relation is not None
    name = written_table(conn, stmt.relation, "DELETE", "deletes",
                         "the foreign keys referencing each partition's rows are not followed "
                         "by the probe").name
    _refuse_after_first(conn, name)
    if isinstance(stmt.whereClause, ast.CurrentOfExpr):
        raise _CannotTell("it deletes WHERE CURRENT OF a cursor")
    for part in (stmt.whereClause, *(stmt.usingClause or ()), stmt.withClause):
        if part is not None:
            _refuse_volatile(conn, part, "its WHERE")
    alias = stmt.relation.alias.aliasname if stmt.relation.alias else stmt.relation.relname
    select = ast.SelectStmt(
        targetList=(ast.ResTarget(name="dbsafe row", val=ast.ColumnRef(
            fields=(ast.String(sval=alias), ast.String(sval="ctid")))),
                    ast.ResTarget(val=ast.ColumnRef(fields=(ast.String(sval=alias),
                                                            ast.A_Star())))),
        fromClause=(stmt.relation, *(stmt.usingClause or ())),
        whereClause=stmt.whereClause, withClause=stmt.withClause)
    yield from _referencing_probes(conn, name, str(RawStream()(select)), plan, (name,))


def _referencing_probes(conn: Any, name: str, deleted: str, plan: PlanFacts,
                        seen: tuple[str, ...]) -> Iterator[Probe]:
    """The foreign keys referencing `name`, over its rows `deleted` (a SELECT of the ctid as
    `_ROW` and every column); `seen`: the tables a cascade went through to reach it."""
    from dbsafe.lint.statement import same_relation

    enforced = "k.conenforced" if conn.info.server_version >= 180000 else "true"
    delset = "k.confdelsetcols" if conn.info.server_version >= 150000 else "NULL::int2[]"
    keys = conn.execute(
        "SELECT k.conname, k.conrelid::regclass::text, r.relkind, k.confdeltype, "
        "k.condeferrable, "
        "ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY AS c(n, i) "
        "JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = c.n ORDER BY c.i), "
        "ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY AS c(n, i) "
        "JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = c.n ORDER BY c.i), "
        f"ARRAY(SELECT a.attname FROM unnest(coalesce({delset}, k.conkey)) AS c(n) "
        "JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = c.n "
        "ORDER BY a.attnum), "
        "k.conrelid = k.confrelid "
        "FROM pg_constraint k JOIN pg_class r ON r.oid = k.conrelid "
        "WHERE k.contype = 'f' AND k.confrelid = to_regclass(%s) "
        f"AND {enforced} "
        # (a clone on a referencing partition: its partitioned table's key says it)
        "AND NOT EXISTS (SELECT FROM pg_constraint p WHERE p.oid = k.conparentid "
        "AND p.confrelid = k.confrelid) "
        # (its trigger on the referenced table disabled: PostgreSQL checks nothing)
        "AND EXISTS (SELECT FROM pg_trigger g WHERE g.tgconstraint = k.oid "
        "AND g.tgrelid = k.confrelid AND g.tgenabled <> 'D' AND g.tgtype & 8 = 8) "
        "ORDER BY 2, 1", (name,)).fetchall()
    for conname, referencing, relkind, action, deferrable, columns, targets, set_columns, \
            own in keys:
        referencing = str(referencing)
        subject = f"{referencing} ({_ident(str(conname))})"
        said = _ACTIONS.get(str(action), str(action))

        def unknown(why: str, subject: str = subject) -> Probe:
            return Probe(subject, "", "", counts=False, unknown=why)

        why = next((why for table, why in plan.changed.items()
                    if same_relation(table, referencing)), None)
        deleting = next((sqls for table, sqls in plan.deleted.items()
                         if same_relation(table, referencing)), None)
        left = ""
        if why is not None and deleting is None:
            yield unknown(f"{why}: the rows referencing {name} are not today's")
            continue
        if why is not None and deleting is not None:
            try:  # (only DELETEs wrote it: its rows are today's they leave)
                left = _left_by(conn, referencing, deleting)
            except _CannotTell as not_told:
                yield unknown(f"{why}, and {not_told}: the rows referencing {name} are not "
                              "today's")
                continue
        why = next((why for table, why in plan.shaped.items()
                    if same_relation(table, referencing)), None)
        if why is not None:
            yield unknown(f"{why}: its foreign keys referencing {name} are not today's")
            continue
        if action == "a" and deferrable:
            yield unknown(f"foreign key {conname} is DEFERRABLE: checked when the transaction "
                          "commits, after the statements that follow it")
            continue
        if own and action not in ("a", "r"):
            yield unknown(f"it references its own table ON DELETE {said}, which the probe "
                          "does not follow")
            continue
        # (MATCH SIMPLE or FULL: a key with a NULL references nothing)
        match = " AND ".join(f"r.{_ident(str(c))} = d.{_ident(str(t))}"
                             for c, t in zip(columns, targets, strict=True))
        rows = referencing if relkind == "p" else f"ONLY {referencing}"
        kept = f" AND r.ctid <> ALL (SELECT d.{_ROW} FROM ({deleted}) AS d)" if own else ""
        where = f"WHERE EXISTS (SELECT FROM ({deleted}) AS d WHERE {match}){kept}{left}"
        find = f"SELECT r.* FROM {rows} r {where}"
        if action in ("a", "r"):
            yield Probe(subject, f"references rows it deletes (ON DELETE {said})",
                        _count(f"SELECT FROM {rows} r {where}"), counts=True, find=find)
        elif action == "c":
            yield from _cascade(conn, referencing, relkind, rows, where, subject, plan, seen)
        elif action == "n":
            yield _set_null(conn, referencing, [str(c) for c in set_columns], rows, where,
                            subject, find)
        else:
            yield Probe(subject, "", "SELECT 0", counts=True, doubt=f"SELECT FROM {rows} r "
                        f"{where} LIMIT 1", doubted=(
                            "ON DELETE SET DEFAULT: the defaults it gives the rows "
                            "referencing those it deletes, which the key then checks, are "
                            "not asked"))


def _left_by(conn: Any, table: str, deletes: Sequence[str]) -> str:
    """The rows of `table` the plan's earlier `deletes` (of it, and nothing else writing it,
    lint says) leave, as a condition on the probe's `r`: `AND (r.tableoid, r.ctid) NOT IN
    (SELECT ... the DELETE's own FROM, USING and WHERE)`, each, as PostgreSQL deletes a row
    its WHERE is true of and keeps one it is false or NULL of. Raises `_CannotTell` where
    today's rows do not answer it: a volatile call, a BEFORE DELETE trigger or a DELETE rule
    of the table (or of a child or partition of it) changing which rows go."""
    from pglast import ast, parse_sql
    from pglast.stream import RawStream

    for (child,) in conn.execute(
            "WITH RECURSIVE t(oid) AS (SELECT pg_catalog.to_regclass(%s) UNION "
            "SELECT i.inhrelid FROM pg_catalog.pg_inherits i JOIN t ON i.inhparent = t.oid) "
            "SELECT oid::regclass::text FROM t WHERE oid IS NOT NULL", (table,)):
        refuse_rewritten(conn, str(child), "DELETE")
    conditions = []
    for sql in deletes:
        stmt = parse_sql(sql)[0].stmt
        assert isinstance(stmt, ast.DeleteStmt) and stmt.relation is not None
        for part in (stmt.whereClause, *(stmt.usingClause or ()), stmt.withClause):
            if part is not None:
                _refuse_volatile(conn, part, f"the WHERE of `{sql}`")
        alias = stmt.relation.alias.aliasname if stmt.relation.alias \
            else stmt.relation.relname
        select = ast.SelectStmt(
            targetList=tuple(ast.ResTarget(val=ast.ColumnRef(fields=(
                ast.String(sval=alias), ast.String(sval=column))))
                for column in ("tableoid", "ctid")),
            fromClause=(stmt.relation, *(stmt.usingClause or ())),
            whereClause=stmt.whereClause, withClause=stmt.withClause)
        conditions.append(f" AND (r.tableoid, r.ctid) NOT IN ({RawStream()(select)})")
    return "".join(conditions)


def _cascade(conn: Any, referencing: str, relkind: str, rows: str, where: str, subject: str,
             plan: PlanFacts, seen: tuple[str, ...]) -> Iterator[Probe]:
    """`ON DELETE CASCADE`: the referencing rows deleted (a line, no refusal), and the keys
    referencing them asked in turn."""
    deleting = f"SELECT r.ctid AS {_ROW}, r.* FROM {rows} r {where}"
    try:
        if referencing in seen:
            raise _CannotTell(f"the cascade reaches {referencing} again")
        if len(seen) >= _DEPTH:
            raise _CannotTell(f"the cascade goes on past {_DEPTH} tables")
        if relkind == "p":
            raise _CannotTell(f"{referencing} is partitioned, which the cascade is not "
                              "followed into")
        refuse_rewritten(conn, referencing, "DELETE")
        _refuse_after_first(conn, referencing)
    except _CannotTell as why:
        yield Probe(subject, "", "", counts=False, unknown=(
            f"ON DELETE CASCADE deletes its rows referencing those deleted: {why}"))
        return
    yield Probe(subject, "deletes {rows} row(s) of " + f"{referencing} (ON DELETE CASCADE)",
                _count(f"SELECT FROM {rows} r {where}"), counts=True, noted=True,
                find=f"SELECT r.* FROM {rows} r {where}")
    yield from _referencing_probes(conn, referencing, deleting, plan, (*seen, referencing))


def _refuse_after_first(conn: Any, name: str) -> None:
    """`_CannotTell` where an AFTER DELETE FOR EACH ROW trigger of `name` fires before the
    foreign keys' (PostgreSQL fires a row's triggers by name: one sorting before
    `RI_ConstraintTrigger_...` may delete the referencing rows before the key looks)."""
    row = conn.execute(
        "SELECT min(tgname) FROM pg_trigger WHERE tgrelid = to_regclass(%s) "
        "AND NOT tgisinternal AND tgenabled <> 'D' AND tgtype & 11 = 9 "
        "AND tgname COLLATE \"C\" < 'RI_ConstraintTrigger'", (name,)).fetchone()
    if row is not None and row[0] is not None:
        raise _CannotTell(f"trigger {row[0]} of {name} runs AFTER DELETE FOR EACH ROW before "
                          "the foreign keys' checks: it may change the rows they meet")


def _set_null(conn: Any, referencing: str, columns: list[str], rows: str, where: str,
              subject: str, find: str) -> Probe:
    """`ON DELETE SET NULL`: a NOT NULL column it sets refuses each row referencing one
    deleted; else a line says how many it sets, or, where a CHECK, a domain, an index or a
    BEFORE UPDATE trigger or rule of the table may refuse or change the NULLs, it cannot be
    told."""
    referencing_rows = f"SELECT FROM {rows} r {where}"
    together = "OR i.indnullsnotdistinct" if conn.info.server_version >= 150000 else ""
    facts = conn.execute(
        "SELECT (SELECT min(a.attname) FROM pg_attribute a WHERE a.attrelid = t.oid "
        "AND a.attname = ANY (%s::text[]) AND a.attnotnull), "
        "EXISTS (SELECT FROM pg_attribute a JOIN pg_type y ON y.oid = a.atttypid "
        "WHERE a.attrelid = t.oid AND a.attname = ANY (%s::text[]) AND y.typtype = 'd') "
        "OR EXISTS (SELECT FROM pg_constraint k WHERE k.conrelid = t.oid AND k.contype "
        "IN ('c', 'x')) OR EXISTS (SELECT FROM pg_index i WHERE i.indrelid = t.oid "
        "AND i.indisunique AND (i.indexprs IS NOT NULL OR i.indpred IS NOT NULL "
        f"{together})) "
        "FROM (SELECT to_regclass(%s) AS oid) t", (columns, columns, referencing)).fetchone()
    if facts[0] is not None:
        return Probe(subject, f"holds rows ON DELETE SET NULL sets to NULL in its NOT NULL "
                     f"column {facts[0]}", _count(referencing_rows), counts=True, find=find)
    doubted = "a CHECK, a domain or an index of it may refuse the NULLs" if facts[1] else ""
    try:
        refuse_rewritten(conn, referencing, "UPDATE")
    except _CannotTell as why:
        doubted = str(why)
    return Probe(subject, "sets {rows} row(s) of " + f"{referencing} to NULL (ON DELETE SET "
                 "NULL)", _count(referencing_rows), counts=True, noted=True, find=find,
                 doubt=f"{referencing_rows} LIMIT 1" if doubted else "",
                 doubted=f"ON DELETE SET NULL updates its rows: {doubted}" if doubted else "")

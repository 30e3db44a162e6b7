"""The rows `ALTER DOMAIN d ADD CONSTRAINT ... CHECK (...)`, `ADD NOT NULL`, `SET NOT NULL`
and `VALIDATE CONSTRAINT` check (DBS615, `guard.row_refusals`): PostgreSQL checks every
column of `d`, and of each domain over it, in every table and materialized view (each
partition, each inheritance child: every relation holding rows), and refuses the statement
over one value (23514 `column "v" of table "t" contains values that violate the new
constraint`, 23502 `contains null values`). Each such column is asked read-only: its rows
under the CHECK, `VALUE` being the column's value (`WHERE (check) IS FALSE`), or its NULLs.

A column of an array or a composite type over `d` refuses the statement whatever the rows
(`cannot alter type "d" because column "t.v" uses it`), as the capture on the empty copy
does: no row is asked. A domain the plan makes cannot be told (its columns are the plan's);
a table an earlier statement of the plan changes the rows of (or adds, drops or retypes a
column of), or of a parent of, neither.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from dbsafe.core import shortened
from dbsafe.guard.row_refusals import Probe, _CannotTell, _count, _ident

if TYPE_CHECKING:
    from pglast import ast


def domain_probes(conn: Any, stmt: ast.AlterDomainStmt, changed: Mapping[str, str]
                  ) -> Iterator[Probe]:
    """What `stmt` checks of the rows (`changed`: tables whose rows or columns an earlier
    statement of the plan changes)."""
    from pglast import ast
    from pglast.enums import ConstrType
    from pglast.stream import RawStream

    from dbsafe.lint.statement import same_relation

    name = ".".join(str(n.sval) for n in stmt.typeName or ())
    oid = conn.execute("SELECT to_regtype(%s)::oid", (name,)).fetchone()[0]
    if oid is None:
        raise _CannotTell(f"domain {name} does not exist now, so it is made by the plan")
    constraint: Any = stmt.def_
    if stmt.subtype == "V":
        constraint = _defined(conn, oid, str(stmt.name), name)
    check = None
    if stmt.subtype in ("C", "V") and isinstance(constraint, ast.Constraint) \
            and constraint.contype == ConstrType.CONSTR_CHECK \
            and constraint.raw_expr is not None:
        check = str(RawStream()(constraint.raw_expr))
    columns = conn.execute(
        "WITH RECURSIVE d(oid) AS (SELECT %s::oid UNION SELECT t.oid FROM pg_type t "
        "JOIN d ON t.typbasetype = d.oid WHERE t.typtype = 'd') "
        "SELECT a.attrelid::regclass::text, a.attname FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid JOIN d ON a.atttypid = d.oid "
        "WHERE c.relkind IN ('r', 'm') AND a.attnum > 0 AND NOT a.attisdropped "
        "AND a.attgenerated <> 'v' ORDER BY 1, a.attnum", (oid,)).fetchall()
    for table in dict.fromkeys(table for table, _ in columns):
        # (its own rows, or those a statement on a parent of it reaches)
        tables = [str(r[0]) for r in conn.execute(
            "WITH RECURSIVE up(oid) AS (SELECT to_regclass(%s)::oid UNION SELECT i.inhparent "
            "FROM pg_inherits i JOIN up ON i.inhrelid = up.oid) "
            "SELECT oid::regclass::text FROM up", (table,)).fetchall()]
        for written, why in changed.items():  # (as lint names them: unquoted)
            if any(same_relation(written, name.replace('"', "")) for name in tables):
                raise _CannotTell(f"{why}: the rows of {table} are not today's")
    for table, column in columns:
        value = _ident(str(column))
        subject = f"{table}.{value}"
        if check is None:  # NOT NULL
            yield Probe(subject, "holds NULLs",
                        _count(f"SELECT FROM ONLY {table} WHERE {value} IS NULL"), counts=True,
                        find=f"SELECT * FROM ONLY {table} WHERE {value} IS NULL")
            continue
        # (VALUE: the column's value, named so in a subquery beside the whole row)
        rows = f"(SELECT t.{value} AS value, t AS row FROM ONLY {table} AS t) AS d"
        yield Probe(subject, f"fails the domain's CHECK ({shortened(check, 60)})",
                    _count(f"SELECT FROM {rows} WHERE ({check}) IS FALSE"), counts=True,
                    find=f"SELECT (d.row).* FROM {rows} WHERE ({check}) IS FALSE")


def _defined(conn: Any, oid: int, constraint: str, domain: str) -> ast.Constraint:
    """The constraint `ALTER DOMAIN ... VALIDATE CONSTRAINT` validates, as the database
    defines it."""
    from pglast import ast, parse_sql

    row = conn.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                       "WHERE contypid = %s AND conname = %s", (oid, constraint)).fetchone()
    if row is None:
        raise _CannotTell(f"constraint {constraint} does not exist on {domain} now, so it is "
                          "made by the plan")
    stmt = parse_sql(f"ALTER DOMAIN d ADD {str(row[0]).removesuffix(' NOT VALID')}")[0].stmt
    assert isinstance(stmt, ast.AlterDomainStmt) and isinstance(stmt.def_, ast.Constraint)
    return stmt.def_

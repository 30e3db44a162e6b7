"""What PostgreSQL's own text of a definition reads: the columns of a CHECK constraint, an
index's keys and WHERE clause, a trigger's WHEN clause, an expression, parsed by pglast.

Kept apart from `dbsafe.schema.ddl` so lint's rules read it without loading the DDL planner
(`lint.engine.LintContext.type_change_redoes`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from dbsafe.schema.model import Constraint, Index, Relation, SchemaSnapshot

T = TypeVar("T")


def redone_by_type_change(relation: Relation, column: str) -> tuple[list[Constraint],
                                                                    list[Index]]:
    """What a type change of `relation.column` that keeps its rows still redoes under its
    ACCESS EXCLUSIVE lock (lint's DBS127, diff's hazards): each validated CHECK constraint
    reading the column is checked again, a full scan, and each index whose expression or
    WHERE clause reads it is built again (PostgreSQL 18: `pg_stat_get_xact_numscans`,
    `pg_relation_filenode`). A NOT VALID CHECK comes back NOT VALID, as
    `pg_get_constraintdef` gives it, and checks nothing; a plain index on the column is
    kept. A definition that does not parse counts as reading the column."""
    def reads(text: str, kind: str) -> bool:
        read = columns_read(text, kind)
        return column in read or "*" in read

    checks = [k for k in relation.constraints if k.kind == "check" and k.validated
              and k.definition and reads(k.definition, "constraint")]
    indexes = [i for i in relation.indexes
               if (i.predicate and reads(i.predicate, "expression"))
               or any("(" in key and reads(key, "expression") for key in i.columns)]
    return checks, indexes


def columns_read(text: str, kind: str) -> set[str]:
    """The column names a trigger's WHEN clause and `UPDATE OF` list (`kind` "trigger": its
    definition; PostgreSQL holds a trigger on the columns of either), an index (`kind` "index": its
    definition, keys, INCLUDE and predicate), a constraint (`kind` "constraint": its definition) or
    an expression reads, as pglast parses PostgreSQL's own text; {"*"} (everything) where it does
    not parse, so the caller errs on the side of recreating."""
    from pglast import ast

    tree = parsed_definition(text, kind)
    if tree is None:
        return {"*"}
    if kind == "trigger":
        statement = tree[0].stmt
        if not isinstance(statement, ast.CreateTrigStmt):
            return set()
        listed = {str(column.sval) for column in statement.columns or ()}
        when = statement.whenClause
        return listed | (column_names(when) if when is not None else set())
    if kind in ("index", "constraint"):
        return column_names(tree) | {str(e.name) for e in nodes(tree, ast.IndexElem)
                                      if e.name}
    return column_names(tree)


def collations_named(text: str, kind: str) -> set[tuple[str, ...]] | None:
    """The collations a definition names (`COLLATE x`, an index key's collation), each as
    its written parts (`("public", "ci")`, `("ci",)` where the search path finds it), as
    pglast parses PostgreSQL's own text (`kind` as for `parsed_definition`, "view" for a
    view's query); None where it does not parse.

    >>> sorted(collations_named("CHECK ((y COLLATE ci) > 'a'::text)", "constraint"))
    [('ci',)]
    >>> index = 'CREATE INDEX i ON public.t USING btree (x COLLATE "C", y COLLATE s.ci)'
    >>> sorted(collations_named(index, "index"))
    [('C',), ('s', 'ci')]
    """
    from pglast import ast

    tree = parsed_definition(text, kind)
    if tree is None:
        return None
    found = {tuple(str(part.sval) for part in clause.collname)
             for clause in nodes(tree, ast.CollateClause) if clause.collname}
    return found | {tuple(str(part.sval) for part in element.collation)
                    for element in nodes(tree, ast.IndexElem) if element.collation}


def parsed_definition(text: str, kind: str) -> Any:
    """pglast's parse of PostgreSQL's own text of a trigger or index definition (`kind`
    "trigger", "index"), a constraint definition ("constraint", as ALTER TABLE ... ADD
    takes it) or an expression ("expression"); None where it does not parse."""
    from pglast import parse_sql
    from pglast.parser import ParseError

    try:
        return parse_sql(f"ALTER TABLE x ADD {text}" if kind == "constraint" else
                         f"SELECT ({text})" if kind == "expression" else text)
    except ParseError:
        return None


def column_names(tree: Any) -> set[str]:
    """The column names a pglast tree refers to (the last part of each column reference)."""
    from pglast import ast

    return {str(ref.fields[-1].sval) for ref in nodes(tree, ast.ColumnRef)
            if ref.fields and isinstance(ref.fields[-1], ast.String)}


def sequences_called(default: str, snapshot: SchemaSnapshot) -> list[str]:
    """"schema.name" of the sequences a column default (PostgreSQL's own text) calls
    nextval() on; an unqualified name is the first on the search path."""
    from pglast import ast, parse_sql
    from pglast.parser import ParseError

    sequences = {(s.schema, s.name) for s in snapshot.sequences}
    resolved = []
    try:
        called: list[str] = []
        for call in nodes(parse_sql(f"SELECT {default}"), ast.FuncCall):
            args = call.args or ()
            if [n.sval for n in call.funcname or ()][-1:] != ["nextval"] or len(args) != 1:
                continue
            argument = args[0]
            if isinstance(argument, ast.TypeCast):
                argument = argument.arg
            if isinstance(argument, ast.A_Const) and isinstance(argument.val, ast.String):
                called.append(str(argument.val.sval))
        for text in called:  # regclass text: a name, quoted where it must be
            select = parse_sql(f"SELECT FROM {text}")[0].stmt
            name = (select.fromClause or (None,))[0] if isinstance(select, ast.SelectStmt) else None
            if not isinstance(name, ast.RangeVar):
                continue
            schemas = [name.schemaname] if name.schemaname else snapshot.search_path
            schema = next((s for s in schemas if (s, name.relname) in sequences), None)
            if schema is not None:
                resolved.append(f"{schema}.{name.relname}")
    except ParseError:
        return []  # not the server's text after all: no order is assumed from it
    return resolved


def nodes(tree: Any, kind: type[T]) -> list[T]:
    """Every node of `kind` in a pglast tree (a parse's statements or one node)."""
    from pglast.visitors import Visitor

    found: list[T] = []

    class Collect(Visitor):
        def visit(self, _ancestors: Any, node: Any) -> None:
            if isinstance(node, kind):
                found.append(node)

    Collect()(tree)
    return found

"""Which migration makes a relation or function a migration statement used before it existed.

A statement of a folder of SQL migrations that uses a relation or a function no statement
before it made fails on the throwaway server (42P01, 42883). Either nothing in the folder
makes it (made outside the migrations: in supabase's dashboard, by hand), or a statement
of a later migration does: the folder's order is not the order the migrations ran
(screen-easy's `20241109081701_init_stripe.sql` references `organizations`, which
`20241109084105_create_organizations_table.sql` makes), or that statement failed itself
(its `subscriptions`, whose `CREATE TABLE` referenced `organizations`). Only the first
says "none of them creates it"; the second names the migration. `uses_before_made` tells
them apart from the statements (pglast's parse, `CREATE` and `ALTER ... RENAME TO` of a
relation, `CREATE FUNCTION`/`PROCEDURE`, also in a `DO` block) and the
schema the folder built (the later statement ran: the schema has it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dbsafe.core import Location
    from dbsafe.extract.migration import Migration
    from dbsafe.schema.model import SchemaSnapshot


@dataclass(frozen=True, slots=True)
class Makers:
    """For the names a migration statement used before they existed (as PostgreSQL's
    message names them: `organizations`, `public.t`, `public.f(integer)`)."""

    # name -> (the migration file that first used it, the later one that makes it; the
    # same file when a statement further down it does), for a name the schema has.
    later: dict[str, tuple[str, str]]
    # the names some statement of the migrations makes, though none made it in time for
    # the use and ran (one that failed itself, one made before and dropped)
    made: frozenset[str]


def uses_before_made(used: Iterable[tuple[str, Location]], migrations: Sequence[Migration],
                     snapshot: SchemaSnapshot) -> Makers:
    """Who makes each name of `used` (its name and where a statement using it failed) in
    `migrations` (in the order they ran): see the module docstring. A name no statement
    makes is in neither field.

    >>> from dbsafe.core import Location
    >>> from dbsafe.extract.migration import Migration, MigrationStatement
    >>> from dbsafe.schema.model import Relation, SchemaSnapshot
    >>> def m(path, *sql):
    ...     return Migration(path, tuple(MigrationStatement(s, Location(path, n + 1))
    ...                                  for n, s in enumerate(sql)))
    >>> migrations = [m("1_a.sql", "CREATE TABLE s (o int REFERENCES o)", "ALTER TABLE s ADD x int"),
    ...               m("2_o.sql", "CREATE TABLE public.o (id int PRIMARY KEY)")]
    >>> made = uses_before_made([("o", Location("1_a.sql", 1)), ("s", Location("1_a.sql", 2)),
    ...     ("z", Location("1_a.sql", 2))], migrations,
    ...     SchemaSnapshot(relations=(Relation("public", "o", "table", ()),)))
    >>> made.later, sorted(made.made)
    ({'o': ('1_a.sql', '2_o.sql')}, ['s'])
    """
    order: dict[str, int] = {}
    for index, migration in enumerate(migrations):
        order.setdefault(migration.path, index)
    first: dict[str, tuple[int, int, str]] = {}  # name -> its first failed use
    for name, location in used:
        place = order.get(location.path)
        if place is not None:
            at = (place, location.line, location.path)
            if name not in first or at < first[name]:
                first[name] = at
    wanted = {name: _split(name) for name in first}
    later: dict[str, tuple[str, str]] = {}
    made: set[str] = set()
    for index, migration in enumerate(migrations):
        for statement in migration.statements:
            text = statement.sql.lower()
            hit = [name for name, (_, bare, _f) in wanted.items()
                   if name not in later and bare.lower() in text]
            if not hit:
                continue
            makes = set(_made(statement.sql))
            for name in hit:
                schema, bare, function = wanted[name]
                if not any(_same(schema, bare, function, other) for other in makes):
                    continue
                made.add(name)
                use = first[name]
                if (index, statement.location.line) > use[:2] \
                        and _in_schema(snapshot, schema, bare, function):
                    later[name] = (use[2], migration.path)
    return Makers(later, frozenset(made - set(later)))


def _split(name: str) -> tuple[str | None, str, bool]:
    """(schema or None, name, whether a function's) of a name as PostgreSQL's message
    writes it: `public.f(integer)` is a function's."""
    function = "(" in name
    bare = name.partition("(")[0]
    schema, dot, relation = bare.rpartition(".")
    return (schema.strip('"') if dot else None), relation.strip('"'), function


def _same(schema: str | None, name: str, function: bool,
          made: tuple[str | None, str, bool]) -> bool:
    """Whether what a statement makes, `made`, is what the failed use named (an unqualified
    name on either side is taken as in `public`, the search_path PostgreSQL starts with)."""
    return made[1] == name and made[2] == function \
        and (made[0] or "public") == (schema or "public")


def _in_schema(snapshot: SchemaSnapshot, schema: str | None, name: str, function: bool) -> bool:
    if function:
        return bool(snapshot.functions_named(name, schema))
    return snapshot.find_relation(name, schema) is not None


def _made(sql: str) -> Iterator[tuple[str | None, str, bool]]:
    """(schema or None, name, whether a function's) of each relation or function `sql`'s
    statements make, those a `DO` block runs included (a function's body makes nothing
    until it is called)."""
    import pglast
    from pglast import ast
    from pglast.parser import ParseError

    from dbsafe.pg.plpgsql import executed_sql

    pending = [sql]
    while pending:
        text = pending.pop()
        try:
            parsed = pglast.parse_sql(text)
        except (ParseError, ValueError, RecursionError):
            continue
        for raw in parsed:
            yield from _made_by(raw.stmt)
        if any(isinstance(raw.stmt, ast.DoStmt) for raw in parsed):
            # (not PL/pgSQL, or a block its parser rejects: nothing more is made)
            with contextlib.suppress(Exception):
                pending.extend(s for s in executed_sql(pglast.parse_plpgsql(text)) if s)


def _made_by(node: Any) -> Iterator[tuple[str | None, str, bool]]:
    from pglast import ast
    from pglast.enums import ObjectType

    relation = None
    if isinstance(node, ast.CreateForeignTableStmt):
        relation = node.base.relation if node.base is not None else None
    elif isinstance(node, ast.CreateStmt):
        relation = node.relation
    elif isinstance(node, ast.CreateTableAsStmt):
        relation = node.into.rel if node.into is not None else None
    elif isinstance(node, ast.ViewStmt):
        relation = node.view
    elif isinstance(node, ast.CreateSeqStmt):
        relation = node.sequence
    elif isinstance(node, ast.RenameStmt) and node.relation is not None and node.newname \
            and node.renameType in (ObjectType.OBJECT_TABLE, ObjectType.OBJECT_VIEW,
                                    ObjectType.OBJECT_MATVIEW, ObjectType.OBJECT_SEQUENCE,
                                    ObjectType.OBJECT_FOREIGN_TABLE):
        yield node.relation.schemaname, node.newname, False
    elif isinstance(node, ast.CreateFunctionStmt) and node.funcname:
        parts = [p.sval for p in node.funcname]
        yield (parts[-2] if len(parts) > 1 else None), parts[-1], True
    if relation is not None and relation.relname:
        yield relation.schemaname, relation.relname, False

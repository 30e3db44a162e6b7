"""An index or materialized view calling a function whose body PostgreSQL 17+ cannot resolve while building it.

## Why
From PostgreSQL 17, `CREATE INDEX`, `REINDEX`, `CLUSTER`, `VACUUM FULL`, `ANALYZE`, a
table rewrite rebuilding its indexes (`ALTER COLUMN ... TYPE`), `CREATE` and `REFRESH
MATERIALIZED VIEW` run the functions they call with `search_path = pg_catalog, pg_temp`
(release notes: "Change functions to use a safe search_path during maintenance operations",
commit 2af07e2f). A function whose body is a string (`AS '...'`, `AS $$...$$`: SQL or
PL/pgSQL, both resolve their names when they run) and that has no `SET search_path` of its
own then no longer finds what its body names without a schema: a table, another function,
a type of `public`. Its index fails to build (42883 `function ... does not exist`, 42P01,
42704): a SQL function always (PostgreSQL reads its body to inline it), a PL/pgSQL one as
soon as the table has a row; later `REINDEX`, `ANALYZE` (autovacuum's too) and a
`pg_restore` fail alike, and so does the materialized view's creation and every refresh.
A plain-SQL dump fails to restore on every version: `pg_dump` empties the search_path.

Checked on PostgreSQL 18 (and 17): an index's keys and `WHERE`, an `EXCLUDE` constraint's,
a materialized view's query (`WITH NO DATA` too: its `REFRESH` fails). Not a generated
column nor a `CHECK`: PostgreSQL computes them with the session's search_path, on 17 and 18
alike.

The finding is an error where the migration is known to run on PostgreSQL 17 or later
(`target-version`, or the database of `--database-url`): the index (or view) cannot be
built or maintained there. Elsewhere (an older target, or none given) it is a warning: the
statement applies, but a restore of a dump fails, and so does everything above once the
server is upgraded to 17.

## Bad
```sql
CREATE FUNCTION shout(x text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT upper(x)';
CREATE FUNCTION loud_name(x text) RETURNS text LANGUAGE sql IMMUTABLE
    AS 'SELECT shout(x)';
CREATE INDEX ix_users_loud ON users (loud_name(name));
```

## Good
```sql
CREATE FUNCTION shout(x text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT upper(x)';
CREATE FUNCTION loud_name(x text) RETURNS text LANGUAGE sql IMMUTABLE
    SET search_path = public, pg_temp AS 'SELECT shout(x)';
CREATE INDEX ix_users_loud ON users (loud_name(name));
```
Or qualify what the body names (`SELECT public.shout(x)`), or give it a SQL-standard body
(`BEGIN ATOMIC SELECT shout(x); END`, `RETURN shout(x)`: PostgreSQL resolves its names when
the function is created). For a function already deployed: `ALTER FUNCTION loud_name(text)
SET search_path = public, pg_temp`. (A `SET` clause keeps PostgreSQL from inlining a SQL
function: qualifying the names keeps it inlined.)

## In Alembic
```python
op.execute("ALTER FUNCTION loud_name(text) SET search_path = public, pg_temp")
op.create_index("ix_users_loud", "users", [sa.text("loud_name(name)")])
```

## Not flagged
A function with a `SET search_path` of its own (in its `CREATE FUNCTION`, or given by a
later `ALTER FUNCTION ... SET search_path` of any of its overloads, until a `CREATE OR
REPLACE` or a qualified `RESET`), whichever path it names; one with a SQL-standard body
whose calls are fine; a body naming only what pg_catalog has (`upper`, `text`, `pg_class`:
its functions, types, tables and views on PostgreSQL 15, 17 or 18) or what it qualifies.
The body is read by the reader check DBS520 uses too (`dbsafe.pg.function_body`): the
tables, functions, types and operators it names, a PL/pgSQL variable's `lookup%ROWTYPE`;
a call reaches only the overloads taking its number of arguments (defaults and `VARIADIC`
counted). What lint cannot tell: a function neither the history nor the database has (an
extension's), a name of which some function reachable by the call is fine (an overload),
a body PostgreSQL's grammar (or PL/pgSQL's) rejects, one in another language, the SQL an
`EXECUTE` builds, a PL/pgSQL variable of a type the PL/pgSQL parser does not know (`DECLARE
m mood`: it keeps no name for it), an operator an index expression uses directly, and names
given as strings (`nextval('seq')`, `'t'::regclass`). An unqualified call of a name pg_catalog has too
(`lower(x)` may be pg_catalog's whatever the arguments). Other statements that rebuild an
existing index (`REINDEX`, `ALTER COLUMN ... TYPE`, `VACUUM FULL`) or refresh a view made
earlier.

## References
- https://git.postgresql.org/gitweb/?p=postgresql.git;a=commitdiff;h=2af07e2f7 (PostgreSQL 17)
- https://github.com/GMOD/Chado/issues/65 (`boxrange` calling `create_point`: VACUUM and
  ANALYZE fail under an empty search_path; its index fails to build on 17+)
- https://github.com/teslamate-org/teslamate/pull/4231 (earthdistance's `ll_to_earth` in
  indexes broke migrations on 17)
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Node, Statement, index_expressions, strings, walk

if TYPE_CHECKING:
    from dbsafe.pg.function_body import FunctionBody

_SEVENTEEN = 170000


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    for what, expression in _maintained_expressions(statement):
        for name, arity in _calls(expression):
            found = _unresolved(name, arity, ctx, set())
            if found is None:
                continue
            chain, unresolved = found
            via = "".join(f", which calls `{inner}`" for inner in chain[1:])
            known = ctx.target_version >= _SEVENTEEN and ctx.target_version_given
            when = "creates or refreshes the view" if statement.kind == "CreateTableAsStmt" \
                else "builds, reindexes or analyzes the index"
            yield ctx.finding(
                RULE,
                f"{what} calls `{name}`{via}, whose body names `{unresolved}` without a schema "
                "and sets no search_path: PostgreSQL 17+ runs it with search_path = "
                f"pg_catalog, pg_temp when it {when}, and finds no `{unresolved}` there.",
                help=(f"Give `{chain[-1]}` its own path (`ALTER FUNCTION {chain[-1]}(...) SET "
                      "search_path = public, pg_temp`), or qualify the names its body uses, "
                      "or write it with a BEGIN ATOMIC body."),
                subject=chain[-1],
                severity=Severity.ERROR if known else Severity.WARNING,
            )
            break  # (one finding per expression)


def _maintained_expressions(statement: Statement) -> Iterator[tuple[str, Node]]:
    """(what it is, expression) for each expression of `statement` that PostgreSQL 17+
    evaluates under the restricted search_path: an index's keys and WHERE (of CREATE INDEX
    or an EXCLUDE constraint), a materialized view's query."""
    node = statement.node
    if statement.kind == "IndexStmt":
        yield from index_expressions(node)
        return
    if statement.kind == "CreateTableAsStmt":
        if node.get("objtype") == "OBJECT_MATVIEW":
            rel = (node.get("into") or {}).get("rel") or {}
            view = ".".join(p for p in (rel.get("schemaname"), rel.get("relname")) if p)
            yield f"Materialized view `{view}`", node.get("query") or {}
        return
    for kind, fields in walk(node):
        if kind == "Constraint" and fields.get("contype") == "CONSTR_EXCLUSION":
            name = f"`{fields['conname']}`" if fields.get("conname") else "an EXCLUDE constraint"
            for pair in fields.get("exclusions") or ():
                for item in pair.get("List", {}).get("items") or ():
                    if item.get("IndexElem", {}).get("expr"):
                        yield f"An expression of {name}", item["IndexElem"]["expr"]
            if fields.get("where_clause"):
                yield f"The WHERE of {name}", fields["where_clause"]


def _calls(expression: Node) -> Iterator[tuple[str, int | None]]:
    """The user functions an expression may call, as written (`schema.name` or `name`), with
    the number of arguments where it is plain: not pg_catalog's, nor an unqualified name
    pg_catalog has a function of."""
    from dbsafe.validate.syscatalog import catalog_callables

    for kind, fields in walk(expression):
        if kind != "FuncCall":
            continue
        names = strings(fields.get("funcname"))
        if not names or names[0] == "pg_catalog" or (
                len(names) == 1 and names[0] in catalog_callables()):
            continue
        arity = None if fields.get("func_variadic") or fields.get("agg_star") else \
            len(fields.get("args") or ())
        yield ".".join(names[-2:]), arity


def _unresolved(name: str, arity: int | None, ctx: LintContext,
                seen: set[str]) -> tuple[tuple[str, ...], str] | None:
    """(the functions called, from `name` to the one whose body names it; the name) when
    every function a call of `name` with `arity` arguments may reach runs a body naming,
    without a schema, something pg_catalog has not, and sets no search_path of its own;
    None when one does not, or lint cannot tell (no function known, a body it cannot read)."""
    definitions = [(schema, definition) for schema, definition in ctx.function_definitions(name)
                   if _read(definition.sql).accepts(arity)]
    if not definitions:
        return None
    found = None
    for schema, definition in definitions:
        key = f"{schema}.{name.rpartition('.')[2]}"
        if key in seen:
            return None  # (recursion: judged where it started)
        seen.add(key)
        try:
            inner = _unresolved_body(_read(definition.sql), key, ctx, seen)
        finally:
            seen.discard(key)
        if inner is None:
            return None
        chain, unresolved = inner
        found = found or ((name, *chain[1:]), unresolved)
    return found


def _unresolved_body(body: FunctionBody, key: str, ctx: LintContext,
                     seen: set[str]) -> tuple[tuple[str, ...], str] | None:
    """`_unresolved` for one function (`key`: its `schema.name`), read by the reader DBS520
    shares (`dbsafe.pg.function_body`): a name its string body gives that pg_catalog lacks,
    else one the functions it calls (qualified, or from a SQL-standard body) lead to."""
    if ctx.history.function_search_paths.get(key, body.sets_search_path) or body.unreadable:
        return None
    if body.unqualified:
        return (key,), str(body.unqualified[0])
    for call in body.calls:
        inner = _unresolved(call.name if call.schema is None else f"{call.schema}.{call.name}",
                            call.arity, ctx, seen)
        if inner is not None:
            return (key, *inner[0]), inner[1]
    return None


@functools.lru_cache(maxsize=1024)
def _read(definition: str) -> FunctionBody:
    """A `CREATE FUNCTION` read once for the names its body gives (the history's
    definitions are read again for each index calling them)."""
    from dbsafe.pg.function_body import CatalogNames, read_function
    from dbsafe.validate.syscatalog import catalog_callables, catalog_relations

    # (a type's name is the name of its input and cast functions: pg_catalog's callables
    # hold the names of its types, on every shipped version)
    return read_function(definition, CatalogNames(relations=catalog_relations(),
                                                  functions=catalog_callables(),
                                                  types=catalog_callables()))


RULE = Rule(
    code="DBS142",
    name="maintenance-function-without-search-path",
    severity=Severity.ERROR,
    since="0.2.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"IndexStmt", "CreateStmt", "AlterTableStmt", "CreateTableAsStmt"}),
)

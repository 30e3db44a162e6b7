"""An index or generated column calling a function that is not IMMUTABLE: PostgreSQL refuses it.

## Why
An index's key expressions and its `WHERE` (of `CREATE INDEX` or of an `EXCLUDE`
constraint), and a generated column's expression (`GENERATED ALWAYS AS (...)`, `STORED`
or `VIRTUAL`, and `ALTER COLUMN ... SET EXPRESSION`), may call only IMMUTABLE functions:
their value must not change once stored. PostgreSQL refuses anything else with 42P17
("functions in index predicate must be marked IMMUTABLE", "generation expression is not
immutable"), on every server, so the migration can never apply. The usual cause is a
"recent rows" partial index, `WHERE expires_at > now()`: `now()` is STABLE, and the
predicate would be wrong tomorrow anyway.

Flagged calls (checked on PostgreSQL 18):

- `CURRENT_TIMESTAMP`, `CURRENT_DATE`, `CURRENT_TIME`, `LOCALTIME`, `LOCALTIMESTAMP`,
  `CURRENT_USER`, `SESSION_USER`, `CURRENT_SCHEMA`, ...;
- built-ins none of whose overloads is IMMUTABLE: `now()`, `statement_timestamp()`,
  `transaction_timestamp()`, `clock_timestamp()`, `timeofday()`, `random()`,
  `gen_random_uuid()`, `uuidv7()`, `nextval(...)`, `current_setting(...)`, `to_char(...)`
  and `to_date(...)` (STABLE for every type: they read the locale and time zone), ...;
- a function an earlier statement of the history, or the database's schema
  (`--database-url`, `--snapshot`), created STABLE or VOLATILE (PostgreSQL's default) in a
  language other than SQL (`plpgsql`, ...), or in SQL when PostgreSQL never inlines it
  (`inline_function`): SECURITY DEFINER, a `SET` clause, `RETURNS SETOF`, a body other than
  one `SELECT` of one expression (a `FROM`, `WHERE`, `ORDER BY`, `UNION`, two statements,
  ...), a subquery or an aggregate call (`count(*)`, `DISTINCT`, `FILTER`, `OVER`) in it, or
  STRICT with a body that is not (`coalesce`, `CASE`, `IS NULL`, `AND`, ...) or leaves an
  argument unused;
- a SQL function PostgreSQL inlines whose body calls one of the above (`RETURN now()`);
- an unqualified call of a name pg_catalog also has (`lower(owner)`) where the
  migration's own search_path names pg_catalog after a schema holding such a function of
  that name (`SET search_path = public, pg_catalog`, `set_config('search_path', ...)`,
  alembic's `op.execute("SET search_path ...")`; for the rest of the session, a `SET
  LOCAL` to the end of its transaction): PostgreSQL takes that schema's function of the
  same argument types (lint does not know the types: it takes the one there as called);
- any of the above in an argument of a function PostgreSQL never inlines, so calls with
  its arguments as written, even one declared IMMUTABLE: `owner_key(now()::text)` of a
  PL/pgSQL (C, internal, ...) function, of a SQL function it never inlines (above), or of
  one declared IMMUTABLE whose body calls what is not (`SELECT now()::text`).

## Bad
```sql
CREATE INDEX ix_sessions_live ON sessions (user_id) WHERE expires_at > now();
```

## Good
```sql
CREATE INDEX ix_sessions_expires ON sessions (user_id, expires_at);
-- queries keep their `WHERE expires_at > now()`: the index serves it
```

## In Alembic
```python
op.create_index("ix_sessions_expires", "sessions", ["user_id", "expires_at"])
```

## Not flagged
A column `DEFAULT now()` and a `CHECK` (PostgreSQL allows both). Calls whose volatility
depends on the argument types, which lint does not know: `date_trunc`, `age`, `timezone`
(`AT TIME ZONE`), a cast (`created_at::date` is STABLE for a `timestamptz`, IMMUTABLE for a
`timestamp`), operators (`timestamptz + interval` is STABLE). A `LANGUAGE sql` function
PostgreSQL may inline into an IMMUTABLE expression: it inlines one whose body it can and
then judges the body (a VOLATILE `SELECT 1` or a STABLE `SELECT lower($1)` is accepted);
one whose body lint cannot read or whose inlining depends on what it calls (`count($1)`, a
set-returning call). One declared IMMUTABLE, accepted whatever its body calls. A name
also created IMMUTABLE, or that lint is unsure of, in the history or in the database's
schema (an overload for other types may be the one called), and a schema-qualified call
of a function lint does not know. Only the functions a call can reach count: a qualified
call's of its schema (`app.f()` made here says nothing of `public.f()`), an unqualified
one's of the schemas on the `search_path` in force (PostgreSQL's default `"$user", public`
where no `SET search_path`, `ALTER DATABASE ... SET search_path` or `--database-url` says
another), and so is whether it is inlined or STRICT (an inlinable SQL `app.keep()` made
here no longer hides that the database's PL/pgSQL `public.keep()` keeps `now()` in the
index). An unqualified call of a name PostgreSQL has an IMMUTABLE
function of (`lower`, `md5`, ...) in `pg_catalog`, even where the history or the database
has a STABLE or VOLATILE function of that name in `public`, unless the migration's
search_path names pg_catalog after `public` (`SET search_path = public` still searches
pg_catalog first, and so does `SET search_path = 'public, pg_catalog'`: one string names one
schema, `"public, pg_catalog"`): `pg_catalog` comes first on the search_path unless it is named later, and
its function wins over one of the same argument
types (`lower(owner)` is `pg_catalog.lower`); which one is called depends on the argument
types (an exact match in `public` wins over `pg_catalog`'s needing a cast), which lint does
not know. Calls PostgreSQL may fold away before it judges the expression (it simplifies
constants first, on PostgreSQL 15 and 18 alike): the other arms of an `AND` with a constant
arm other than `TRUE` (`false AND expires_at > now()`; of an `OR`, other than `FALSE`), a
`CASE` with a constant test, what follows a constant in `COALESCE`, the arguments of a call
or operator with a `NULL` one, or with a call of a STRICT function (one the history or the
database declares STRICT, or a strict built-in such as `lower`) of a `NULL` one, which
PostgreSQL folds to `NULL` whatever its volatility (`k(NULL) || now()`), and the arguments of a user function that may be a SQL
function PostgreSQL inlines (it drops an argument its body does not use, and lint does not
read which), or that lint does not know, or whose name the history or the database also
has a SQL function of: `one(now())` of a SQL function `SELECT 1`.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import (
    Node,
    Statement,
    index_expressions,
    not_immutable_call,
    walk,
)


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    for what, expression in _immutable_expressions(statement):
        called = not_immutable_call(expression, ctx.never_immutable_function,
                                    ctx.never_inlined_function, ctx.shadows_catalog,
                                    ctx.strict_function)
        if called is None:
            continue
        yield ctx.finding(
            RULE,
            f"{what} calls `{called}`, which is not IMMUTABLE: PostgreSQL refuses the "
            "statement (42P17) and the migration cannot apply.",
            help=("Index or store only what IMMUTABLE functions compute: keep the column "
                  "itself in the index and the moment-dependent condition in the queries."),
            subject=called,
        )


def _immutable_expressions(statement: Statement) -> Iterator[tuple[str, Node]]:
    """(what it is, expression) for each expression of `statement` PostgreSQL requires to
    be IMMUTABLE: an index's keys and WHERE, an EXCLUDE constraint's, a generation
    expression."""
    node = statement.node
    if statement.kind == "IndexStmt":
        yield from index_expressions(node)
        return
    if statement.kind not in ("CreateStmt", "AlterTableStmt"):
        return
    for kind, fields in walk(node):
        if kind == "Constraint" and fields.get("contype") == "CONSTR_GENERATED":
            yield "A generation expression", fields.get("raw_expr") or {}
        elif kind == "Constraint" and fields.get("contype") == "CONSTR_EXCLUSION":
            name = f"`{fields['conname']}`" if fields.get("conname") else "an EXCLUDE constraint"
            for pair in fields.get("exclusions") or ():
                for item in pair.get("List", {}).get("items") or ():
                    if item.get("IndexElem", {}).get("expr"):
                        yield f"An expression of {name}", item["IndexElem"]["expr"]
            if fields.get("where_clause"):
                yield f"The WHERE of {name}", fields["where_clause"]
        elif kind == "AlterTableCmd" and fields.get("subtype") == "AT_SetExpression":
            yield "A generation expression", fields.get("def") or {}


RULE = Rule(
    code="DBS133",
    name="non-immutable-function-in-index",
    severity=Severity.ERROR,
    since="0.2.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"IndexStmt", "CreateStmt", "AlterTableStmt"}),
)

"""`DROP ... CASCADE` of a type, domain, extension, schema, function or sequence, which drops what uses it.

## Why
`CASCADE` drops every object that depends on the one dropped, without naming them. For a
type, a domain or an extension's type (`citext`), that includes the table columns of that
type, with their data; for a schema, its tables; for a function or a sequence, the column
defaults, triggers, views and policies that use it, so inserts start failing (verified on
PostgreSQL 18: the column is gone after `DROP TYPE ... CASCADE`). None of it is reported by
the rules about dropped tables and columns, which see only the statement's own object.

## Bad
```sql
DROP TYPE order_status CASCADE;
```

## Good
```sql
ALTER TABLE orders ALTER COLUMN status TYPE text;
DROP TYPE order_status;
```

## In Alembic
`op.execute("DROP TYPE order_status")` without `CASCADE`, after the columns that use it
changed type in the same or an earlier revision: PostgreSQL then refuses the drop while
anything still depends on it, instead of dropping it silently.

## Not flagged
* `DROP ... RESTRICT` (the default): PostgreSQL refuses while something depends on it.
* Objects created earlier in the same migration.
* A type or domain that no column of the database's schema uses (with `--database-url`).
* `DROP TABLE ... CASCADE` and `DROP VIEW ... CASCADE`: DBS201 and the view rules report them.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Node, Statement, last, strings

# What CASCADE takes with it, by the kind of object dropped (`Statement.object_kind`).
_REACH = {
    "type": "any table column still of that type, with its data",
    "domain": "any table column still of that domain, with its data",
    "extension": "any table column of its types, with its data, and everything using its "
                 "functions",
    "schema": "its tables, with their data, and everything in it",
    "function": "any column default, trigger, view or policy that calls it",
    "sequence": "any column default that takes numbers from it",
}
_HOLDS_DATA = frozenset({"type", "domain", "extension", "schema"})
_CREATES = {"type": ("CreateEnumStmt", "CompositeTypeStmt", "CreateRangeStmt"),
            "domain": ("CreateDomainStmt",), "extension": ("CreateExtensionStmt",),
            "schema": ("CreateSchemaStmt",), "function": ("CreateFunctionStmt",),
            "sequence": ("CreateSeqStmt",)}


def _created(statement: Statement, ctx: LintContext, kind: str, name: str) -> bool:
    """Did an earlier statement of the migration create the object (so nothing uses it)?"""
    for earlier in ctx.earlier(statement):
        if earlier.kind in _CREATES[kind] and name in _created_names(earlier.node):
            return True
    return False


def _created_names(node: Node) -> tuple[str, ...]:
    """The name a CREATE TYPE/DOMAIN/EXTENSION/SCHEMA/FUNCTION/SEQUENCE gives, last part."""
    names = (strings(node.get("typeName")) or strings(node.get("domainname"))
             or strings(node.get("funcname")))
    if names:
        return names[-1:]
    return tuple(n for n in (node.get("extname"), node.get("schemaname"),
                             (node.get("typevar") or {}).get("relname"),
                             (node.get("sequence") or {}).get("relname")) if n)


def _unused_type(ctx: LintContext, name: str) -> bool:
    """Does the database's schema show no column of type `name`?"""
    if ctx.before is None:
        return False
    spelled = {name, f"{name}[]"}
    return not any(column.type.rpartition(".")[2].strip('"') in spelled
                   for relation in ctx.before.relations for column in relation.columns)


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    kind = statement.object_kind or ""
    if statement.kind != "DropStmt" or statement.node.get("behavior") != "DROP_CASCADE" or \
            kind not in _REACH:
        return
    for name in map(last, statement.dropped):
        if _created(statement, ctx, kind, name):
            continue
        if kind in ("type", "domain") and _unused_type(ctx, name):
            continue
        yield ctx.finding(
            RULE,
            f"`DROP {kind.upper()} {name} CASCADE` also drops {_REACH[kind]}, without "
            "naming them.",
            help="Drop or change what uses it first, then drop it without CASCADE: "
                 "PostgreSQL then refuses while anything still depends on it.",
            subject=name, severity=Severity.ERROR if kind in _HOLDS_DATA else Severity.WARNING)


RULE = Rule(
    code="DBS212",
    name="drop-cascade",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"DropStmt"}),
)

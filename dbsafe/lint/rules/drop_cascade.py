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

# What CASCADE takes with it, by the kind of object dropped.
_REACH = {
    "OBJECT_TYPE": ("type", "the table columns of that type, with their data"),
    "OBJECT_DOMAIN": ("domain", "the table columns of that domain, with their data"),
    "OBJECT_EXTENSION": ("extension", "the table columns of its types, with their data, "
                                      "and everything using its functions"),
    "OBJECT_SCHEMA": ("schema", "its tables, with their data, and everything in it"),
    "OBJECT_FUNCTION": ("function", "the column defaults, triggers, views and policies "
                                    "that call it"),
    "OBJECT_SEQUENCE": ("sequence", "the column defaults that take numbers from it"),
}
_CREATES = {"OBJECT_TYPE": ("CreateEnumStmt", "CompositeTypeStmt", "CreateRangeStmt"),
            "OBJECT_DOMAIN": ("CreateDomainStmt",), "OBJECT_EXTENSION": ("CreateExtensionStmt",),
            "OBJECT_SCHEMA": ("CreateSchemaStmt",), "OBJECT_FUNCTION": ("CreateFunctionStmt",),
            "OBJECT_SEQUENCE": ("CreateSeqStmt",)}


def _name(item: Node) -> str:
    if "TypeName" in item:
        return last(".".join(strings(item["TypeName"].get("names"))))
    if "ObjectWithArgs" in item:
        return last(".".join(strings(item["ObjectWithArgs"].get("objname"))))
    if "List" in item:
        return last(".".join(strings(item["List"].get("items"))))
    return item.get("String", {}).get("sval", "")


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
    node = statement.node
    kind = node.get("removeType")
    if statement.kind != "DropStmt" or node.get("behavior") != "DROP_CASCADE" or \
            kind not in _REACH:
        return
    word, reach = _REACH[kind]
    for item in node.get("objects") or ():
        name = _name(item)
        if not name or _created(statement, ctx, kind, name):
            continue
        if kind in ("OBJECT_TYPE", "OBJECT_DOMAIN") and _unused_type(ctx, name):
            continue
        data = kind in ("OBJECT_TYPE", "OBJECT_DOMAIN", "OBJECT_EXTENSION", "OBJECT_SCHEMA")
        yield ctx.finding(
            RULE,
            f"`DROP {word.upper()} {name} CASCADE` also drops {reach}, without naming them.",
            help="Drop or change what uses it first, then drop it without CASCADE: "
                 "PostgreSQL then refuses while anything still depends on it.",
            subject=name, severity=Severity.ERROR if data else Severity.WARNING)


RULE = Rule(
    code="DBS212",
    name="drop-cascade",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"DropStmt"}),
)

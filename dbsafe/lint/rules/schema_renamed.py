"""Schema renamed.

## Why
`ALTER SCHEMA a RENAME TO b` is instant, but it renames every table, view, function and
type in `a` at once: each deployed copy of the application that still writes `a.orders`
or calls `a.refresh()` fails from the moment the migration commits (42P01, 42883), during
a rolling deploy too. The names that mention the schema elsewhere do not follow it: a
role's or database's `search_path = a` (`ALTER ROLE ... SET`), a function's `SET
search_path = a`, PostgREST's `db-schemas` (Supabase's `[api] schemas`) keep the old name,
so even unqualified queries of those roles stop finding the tables (checked on PostgreSQL
18: `pg_db_role_setting` and `pg_proc.proconfig` still say `search_path=a` after the rename,
and `SELECT * FROM orders` under it fails with 42P01).

## Bad
```sql
ALTER SCHEMA billing RENAME TO invoicing;
```

## Good
```sql
-- a new schema beside the old one: move the objects, and leave views under the old
-- names until no deployed code uses them; drop those in a later migration.
CREATE SCHEMA invoicing;
ALTER TABLE billing.invoices SET SCHEMA invoicing;
CREATE VIEW billing.invoices AS SELECT * FROM invoicing.invoices;
```

## In Alembic
`op.execute("ALTER SCHEMA billing RENAME TO invoicing")` is flagged the same way. Keep
the rename with a `# dbsafe: ignore[DBS216]` comment saying why no deployed code, role
setting or API configuration names the old schema.

A schema the migration creates with `CREATE SCHEMA IF NOT EXISTS` is flagged too, saying it
may exist already: where it does, the statement leaves it as it is, with its objects and the
code and settings naming it, and the rename breaks them as any.

## Not flagged
A schema created earlier in the same migration (nothing deployed knows it yet), under
whatever name a rename gave it since; `CREATE SCHEMA AUTHORIZATION alice` creates `alice`;
`CREATE SCHEMA IF NOT EXISTS` of a name the migration dropped or renamed away before. A rename
whose old name a later statement of the migration creates again (`CREATE SCHEMA billing`,
for compatibility views). Moving one object with `ALTER ... SET SCHEMA` (DBS204 covers
renaming a table or view).
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement


def _created_schema(statement: Statement) -> str | None:
    """The schema a CREATE SCHEMA makes: named, or (`CREATE SCHEMA AUTHORIZATION alice`)
    its role's name."""
    if statement.kind != "CreateSchemaStmt":
        return None
    return statement.node.get("schemaname") or \
        (statement.node.get("authrole") or {}).get("rolename")


def _made_here(statements: list[Statement]) -> dict[str, bool]:
    """The schemas `statements` create, under the names later renames give them: True when
    new, False when only `CREATE SCHEMA IF NOT EXISTS` made it, which leaves one that exists
    already as it is (unless the statements dropped or renamed away that name before)."""
    made: dict[str, bool] = {}
    gone: set[str] = set()  # names dropped or renamed away: IF NOT EXISTS makes them anew
    for s in statements:
        if (created := _created_schema(s)) is not None:
            made[created] = made.get(created, False) or created in gone \
                or not s.node.get("if_not_exists")
        elif s.rename is not None and s.rename.object == "schema" and s.rename.old:
            gone.add(s.rename.old)
            if made.pop(s.rename.old, None) is not None:
                made[s.rename.new] = True  # (nothing deployed knows the new name)
        elif s.kind == "DropStmt" and s.object_kind == "schema":
            gone.update(s.dropped)
            for name in s.dropped:
                made.pop(name, None)
    return made


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    rename = statement.rename
    if rename is None or rename.object != "schema" or not rename.old:
        return
    old = rename.old
    made = _made_here(ctx.earlier()).get(old)
    if made or any(_created_schema(s) == old for s in ctx.later()):
        return
    may_exist = made is not None  # CREATE SCHEMA IF NOT EXISTS
    yield ctx.finding(
        RULE,
        f"Schema `{old}` is renamed to `{rename.new}`; "
        + (f"it may exist already (`CREATE SCHEMA IF NOT EXISTS {old}` before leaves one "
           "that exists as it is), and then " if may_exist else "")
        + f"application code still naming `{old}`, and every role, database or function "
        f"setting `search_path` to it, fail to find its objects as soon as the migration "
        f"commits.",
        help=(f"Where `{old}` is new, create it without IF NOT EXISTS; otherwise c"
              if may_exist else "C")
        + f"reate `{rename.new}` beside it and move the objects (ALTER ... SET SCHEMA), "
          f"leaving views under the old names until no deployed code or setting uses "
          f"`{old}`.",
        subject=old,
    )


RULE = Rule(
    code="DBS216",
    name="schema-renamed",
    severity=Severity.ERROR,
    since="0.2.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"RenameStmt"}),
)

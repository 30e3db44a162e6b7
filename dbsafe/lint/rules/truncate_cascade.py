"""`TRUNCATE ... CASCADE` also empties every table that references the truncated ones.

## Why
`TRUNCATE orders CASCADE` empties `orders` and, silently, every table with a foreign key
to it, then every table referencing those, and so on — PostgreSQL only says so in a
NOTICE nobody reads during a deploy. Which tables that reaches depends on the foreign keys
in the production database, not on anything the migration names. Without `CASCADE`,
PostgreSQL refuses to truncate a table that other tables reference, which is the safety
net `CASCADE` removes. Every truncated table is also locked ACCESS EXCLUSIVE.

## Bad
```sql
TRUNCATE orders CASCADE;
```

## Good
```sql
-- name every table to be emptied: PostgreSQL errors out if one that references them is
-- missing, instead of emptying it silently.
TRUNCATE orders, order_items;
```

## In Alembic
`op.execute("TRUNCATE orders, order_items")` listing every table, without `CASCADE`.

## Not flagged
Plain `TRUNCATE` (including `RESTRICT`): it empties exactly the tables it names, and fails
if another table references them (DBS215 flags emptying a table that existed before the
migration, `CASCADE` or not). Tables created earlier in the same migration are *not*
exempt: the cascade can still reach existing tables that were given a foreign key to them.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement, range_var


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if statement.kind != "TruncateStmt" or statement.node.get("behavior") != "DROP_CASCADE":
        return
    tables = [name for r in statement.node.get("relations") or ()
              if (name := range_var(r)) is not None]
    names = ", ".join(f"`{t}`" for t in tables)
    yield ctx.finding(
        RULE,
        f"TRUNCATE of {names} uses CASCADE; every table with a foreign key to "
        f"{'it' if len(tables) == 1 else 'them'} is emptied too.",
        help="List every table to empty explicitly and drop CASCADE.",
        subject=", ".join(tables),
    )


RULE = Rule(
    code="DBS205",
    name="truncate-cascade",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"TruncateStmt"}),
)

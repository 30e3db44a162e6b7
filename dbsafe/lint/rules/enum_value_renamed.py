"""Enum value renamed, which the application's code and data files still send.

## Why
`ALTER TYPE ... RENAME VALUE 'old' TO 'new'` takes effect at commit: from then on every
query, insert or cast that still sends `'old'` fails (`invalid input value for enum`), just
as queries on a renamed column do. The application deployed before the migration sends it.

## Bad
```sql
ALTER TYPE order_status RENAME VALUE 'canceled' TO 'cancelled';
```

## Good
```sql
ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'cancelled';
-- deploy code that writes 'cancelled' and reads both, update the rows, then stop using
-- 'canceled' (enum values cannot be dropped: keep it, or recreate the type later)
```

## In Alembic
`op.execute("ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'cancelled'")` in an
`autocommit_block()`, and the row updates in a later revision.

## Not flagged
Types created earlier in the same migration, and values added earlier in it.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement, last, qualified, strings


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    node = statement.node
    old, new = node.get("oldVal"), node.get("newVal")
    if statement.kind != "AlterEnumStmt" or old is None or new is None:
        return
    name = qualified(*strings(node.get("typeName")))
    for earlier in ctx.earlier(statement):
        made = qualified(*strings(earlier.node.get("typeName")))
        if last(made) != last(name):
            continue
        if earlier.kind == "CreateEnumStmt" or (
                earlier.kind == "AlterEnumStmt" and earlier.node.get("oldVal") is None
                and earlier.node.get("newVal") == old):
            return  # nothing deployed knows the value yet
    yield ctx.finding(
        RULE,
        f"Value '{old}' of `{name}` is renamed to '{new}'; application code still sending "
        f"'{old}' fails as soon as the migration commits.",
        help="Add the new value, move the code and the rows over, and keep the old one.",
        subject=name,
    )


RULE = Rule(
    code="DBS213",
    name="enum-value-renamed",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"AlterEnumStmt"}),
)

"""Existing table emptied by `TRUNCATE`.

## Why
`TRUNCATE orders` deletes every row of `orders` for good. Unlike `DELETE`, it cannot be
limited by a `WHERE` and fires no row-level `ON DELETE` triggers (an audit trigger records
nothing). For the data it is as destructive as `DROP TABLE` (DBS201), but the table stays,
so no failing query tells you. It also takes an ACCESS EXCLUSIVE lock on every table it
names, blocking even reads until the transaction ends.

## Bad
```sql
TRUNCATE orders;
```

## Good
```sql
-- delete exactly the rows the change needs gone, in batches on a large table:
DELETE FROM orders WHERE created_at < '2020-01-01';
```

## In Alembic
`op.execute("DELETE FROM orders WHERE ...")` naming the rows to delete. When emptying the
table really is intended (a cache or a staging table the application refills), keep the
`TRUNCATE` with a `# dbsafe: ignore[DBS215]` comment saying so.

## Not flagged
Tables created earlier in the same migration (a staging table filled and emptied by the
same revision): they held nothing before it. Temporary tables (`pg_temp.x`, or a name a
`CREATE TEMP TABLE` made, in this migration or an earlier one, that no permanent table
has): the session's own, holding only the rows it put there. `TRUNCATE ... CASCADE` is flagged here for the
tables it names, and by DBS205 for the tables the cascade reaches without naming them.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule, named_are
from dbsafe.lint.statement import Statement, range_var


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if statement.kind != "TruncateStmt":
        return
    named = [name for r in statement.node.get("relations") or ()
             if (name := range_var(r)) is not None]
    existing = [t for t in named if not ctx.created_before(t)]
    if not existing:
        return
    yield ctx.finding(
        RULE,
        f"{named_are('Table', existing)} emptied by TRUNCATE; every row in "
        f"{'it' if len(existing) == 1 else 'them'} is deleted for good.",
        help="Delete only the rows that must go (DELETE ... WHERE), or suppress this with "
             "a comment saying why emptying the table is safe.",
        subject=", ".join(existing),
    )


RULE = Rule(
    code="DBS215",
    name="table-truncated",
    severity=Severity.ERROR,
    since="0.2.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"TruncateStmt"}),
    weighed_by="use",
)

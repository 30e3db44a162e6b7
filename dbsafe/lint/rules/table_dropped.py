"""Table dropped.

## Why
`DROP TABLE` deletes the table's data for good, and every deployed copy of the application
that still reads or writes the table fails from the moment the migration commits. During a
rolling deploy the old code is still serving traffic when the migration runs, so even a
table the new code no longer uses breaks requests. The statement also takes an ACCESS
EXCLUSIVE lock on the table (and on tables referencing it through `CASCADE`).

## Bad
```sql
DROP TABLE legacy_orders;
```

## Good
```sql
-- expand/contract: stop using the table in one release, drop it in a later migration
-- once no deployed code references it, and keep a backup:
CREATE TABLE legacy_orders_archive AS SELECT * FROM legacy_orders;
```

## In Alembic
Remove every use of the table from the application first and deploy that. Drop it in a
later revision with `op.drop_table("legacy_orders")` and a `# dbsafe: ignore[DBS201]`
comment saying why it is safe now (`-- dbsafe: ignore[DBS201] unused since v42`).

## Not flagged
Tables created earlier in the same migration (a scratch table, or one created and dropped
by the same revision). `DROP VIEW`, `DROP MATERIALIZED VIEW`, `DROP SCHEMA` and
`DROP DATABASE` are out of scope for this rule.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if statement.kind != "DropStmt" or statement.object_kind != "table":
        return
    existing = [t for t in statement.dropped if not ctx.created_before(t)]
    if not existing:
        return
    names = ", ".join(f"`{t}`" for t in existing)
    one = len(existing) == 1
    yield ctx.finding(
        RULE,
        f"{'Table' if one else 'Tables'} {names} {'is' if one else 'are'} dropped; the data "
        f"is lost and application code still using {'it' if one else 'them'} fails.",
        help="Stop using the table in a release first, then drop it in a later migration "
             "with a suppression comment saying why it is safe.",
        subject=", ".join(existing),
    )


RULE = Rule(
    code="DBS201",
    name="table-dropped",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"DropStmt"}),
)

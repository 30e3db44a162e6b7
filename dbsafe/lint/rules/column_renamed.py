"""Column renamed.

## Why
`ALTER TABLE ... RENAME COLUMN a TO b` is instant, but every deployed copy of the
application that still uses `a` fails from the moment the migration commits: during a
rolling deploy the old code is still serving traffic, and its queries (and its ORM's
generated `SELECT`/`INSERT` column lists) name the old column. The same holds for a view's
columns.

## Bad
```sql
ALTER TABLE orders RENAME COLUMN total TO total_cents;
```

## Good
```sql
-- expand: add the new column and keep both in sync (dual writes or a trigger),
-- backfill, move readers over, and drop the old column in a later migration.
ALTER TABLE orders ADD COLUMN total_cents bigint;
```

## In Alembic
Instead of `op.alter_column("orders", "total", new_column_name="total_cents")`, add the
new column with `op.add_column`, backfill it in batches, switch the application over, and
drop the old one in a later revision. If no deployed code can reference the column, keep
the rename with a `# dbsafe: ignore[DBS203]` comment saying why.

## Not flagged
Columns of tables created earlier in the same migration. A rename whose old name is taken
over later in the same migration by another column of the same table (renamed to it or
added with it): queries naming the column keep working. `RENAME CONSTRAINT`.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement, same_relation

_RELATIONS = ("table", "foreign table", "view", "materialized view")


def _name_reused(table: str, column: str, ctx: LintContext) -> bool:
    """Does a later statement rename another column of `table` to `column`, or add one?"""
    for later in ctx.later():
        rename = later.rename
        renamed_to_it = rename is not None and rename.object == "column" and \
            rename.new == column and same_relation(rename.relation, table)
        added = later.kind == "AlterTableStmt" and same_relation(later.relation, table) and \
            any(c.name == column for c in later.columns)
        if renamed_to_it or added:
            return True
    return False


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    rename = statement.rename
    if rename is None or rename.object != "column" or rename.relation_kind not in _RELATIONS:
        return
    table = rename.relation or ""
    if ctx.created_before(table):
        return
    known = ctx.column(table, rename.old)
    if known is not None and known.added_here:
        return  # added by this migration: no deployed code uses it yet
    if _name_reused(table, rename.old, ctx):
        return
    yield ctx.finding(
        RULE,
        f"Column `{table}.{rename.old}` is renamed to `{rename.new}`; application code still "
        f"using `{rename.old}` fails as soon as the migration commits.",
        help="Add the new column, backfill and dual-write, move readers over, then drop "
             "the old column in a later migration.",
        subject=f"{table}.{rename.old}",
    )


RULE = Rule(
    code="DBS203",
    name="column-renamed",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"RenameStmt"}),
    weighed_by="use",
)

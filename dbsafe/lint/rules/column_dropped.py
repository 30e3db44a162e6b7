"""Column dropped.

## Why
`ALTER TABLE ... DROP COLUMN` deletes the column's data, and every deployed copy of the
application that still selects, inserts or updates the column fails from the moment the
migration commits — including ORMs that list every mapped column in their `SELECT` and
`INSERT`. During a rolling deploy the old code is still serving traffic when the migration
runs, so the column must be unused by *all* running code before it is dropped
(expand/contract).

## Bad
```sql
ALTER TABLE orders DROP COLUMN legacy_status;
```

## Good
```sql
-- release 1 stops reading and writing the column (and drops NOT NULL so inserts work);
-- a later migration drops it, once no deployed code references it:
ALTER TABLE orders ALTER COLUMN legacy_status DROP NOT NULL;
```

## In Alembic
Remove the column from the SQLAlchemy model first (or mark it `deferred` and stop writing
it) and deploy that. Drop it in a later revision with `op.drop_column("orders",
"legacy_status")` and a `# dbsafe: ignore[DBS202]` comment saying why it is safe now.

## Not flagged
Columns of tables created earlier in the same migration, and columns the same migration
added (a scratch column for a backfill): no deployed code uses them. `DROP CONSTRAINT`, and
`ALTER COLUMN ... DROP DEFAULT / NOT NULL / IDENTITY / EXPRESSION`, which drop no data.
`DROP COLUMN IF EXISTS` of a column an earlier migration dropped (and did not add again), or,
with the database known, one its table does not have: PostgreSQL skips it with a notice
(conductor's V6 drops `queue_message.id` again after V5 dropped it). So is one a table the
migrations created never had, where they show its every column: made by a plain `CREATE
TABLE` (no `LIKE`, `INHERITS`, `PARTITION OF`, `OF` type or `IF NOT EXISTS`), never made to
inherit or attached as a partition since (a parent's `ADD COLUMN` reaches it), with no `DO`
block building SQL at run time, `CALL` or statement lint could not parse after it.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule, named_are
from dbsafe.lint.statement import Statement, last


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if statement.kind != "AlterTableStmt" or statement.object_kind not in ("table",
                                                                            "foreign table"):
        return
    table = statement.relation or ""
    if ctx.created_before(table):
        return
    added = ctx.history.columns.get(last(table), {})
    columns = [a.name for a in statement.actions if a.subtype == "DropColumn" and a.name
               # a column this migration added: no deployed code uses it, no data was there
               and not (a.name in added and added[a.name].added_here)]
    if not columns:
        return
    yield ctx.finding(
        RULE,
        f"{named_are('Column', columns, f' of `{table}`')} dropped; the data is lost and "
        f"application code still using {'it' if len(columns) == 1 else 'them'} fails.",
        help="Stop using the column in a release first, then drop it in a later migration "
             "with a suppression comment saying why it is safe.",
        subject=", ".join(f"{table}.{c}" for c in columns),
    )


RULE = Rule(
    code="DBS202",
    name="column-dropped",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"AlterTableStmt"}),
    weighed_by="use",
)

"""Table or view renamed.

## Why
`ALTER TABLE a RENAME TO b` is instant, but every deployed copy of the application that
still queries `a` fails from the moment the migration commits: during a rolling deploy the
old code is still serving traffic. Renaming a view or materialized view breaks its readers
the same way.

## Bad
```sql
ALTER TABLE orders RENAME TO purchases;
```

## Good
```sql
-- rename, and keep the old name working through an updatable view until no deployed
-- code uses it; drop the view in a later migration.
ALTER TABLE orders RENAME TO purchases;
CREATE VIEW orders AS SELECT * FROM purchases;
```

## In Alembic
Pair `op.rename_table("orders", "purchases")` with
`op.execute("CREATE VIEW orders AS SELECT * FROM purchases")` in the same revision (a
simple view is updatable, so old code keeps writing), and drop the view in a later
revision. Otherwise keep the rename with a `# dbsafe: ignore[DBS204]` comment saying why
no deployed code can reference the old name.

## Not flagged
Tables and views created earlier in the same migration. A rename whose old name is taken
over later in the same migration (a compatibility view, or the first half of the swap
`RENAME orders TO orders_old; RENAME orders_new TO orders`): queries naming it keep
working. The second half is flagged unless `orders_new` was created in the migration. `ALTER INDEX/SEQUENCE ... RENAME` (queries do not name them), and
`ALTER TABLE ... SET SCHEMA` (not a rename; out of scope).

PostgreSQL's `ALTER TABLE x RENAME TO y` renames whatever `x` is, and `ALTER INDEX` a table
too: where the migrations before or the database's schema say what `x` is, the rename is
judged as that one's (`ALTER TABLE ix_orders RENAME` of an index is not flagged,
`ALTER INDEX orders RENAME` of a table is). An `x` nobody knows is taken for what the
statement names.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement

_RELATIONS = ("table", "foreign table", "view", "materialized view")


def _name_reused(name: str, ctx: LintContext) -> bool:
    """Does a later statement create, or rename something to, `name`?

    Schemas are compared only when both names are qualified: a false "reused" costs a missed
    finding, a false "not reused" blocks a safe swap.
    """
    schema, _, bare = name.rpartition(".")
    for later in ctx.later():
        if bare in later.creates:
            return True
        rename = later.rename
        if rename is not None and rename.object in _RELATIONS and rename.relation and \
                rename.new == bare:
            later_schema = rename.relation.rpartition(".")[0]
            if later_schema == schema or not later_schema or not schema:
                return True
    return False


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    rename = statement.rename
    if rename is None or rename.object not in _RELATIONS or not rename.relation:
        return
    name = rename.relation
    if ctx.created_before(name) or _name_reused(name, ctx):
        return
    what = "Table" if rename.object.endswith("table") else rename.object.capitalize()
    yield ctx.finding(
        RULE,
        f"{what} `{name}` is renamed to `{rename.new}`; application code still using "
        f"`{name}` fails as soon as the migration commits.",
        help="Keep the old name working (e.g. a view with the old name) until no deployed "
             "code uses it, and drop that in a later migration.",
        subject=name,
    )


RULE = Rule(
    code="DBS204",
    name="table-renamed",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"RenameStmt"}),
    weighed_by="use",
)

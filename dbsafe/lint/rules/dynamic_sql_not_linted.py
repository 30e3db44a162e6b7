"""A `DO` block runs SQL that dbsafe cannot read, so what that SQL locks is not checked.

## Why
dbsafe lints the statements a `DO` block runs as if they were written out: `CREATE INDEX`
inside `IF ... THEN` is checked like any other. It cannot check SQL the block builds while
it runs (`EXECUTE format('ALTER TABLE %I ...', name)`), nor a block in another language:
an `ALTER COLUMN ... TYPE` that rewrites a table, or a plain `CREATE INDEX` that blocks
writes, would pass unseen. "Not checked" is said, not passed silently.

## Bad
```sql
DO $$
BEGIN
  EXECUTE format('CREATE INDEX %I ON orders (total)', 'ix_orders_total');
END $$;
```

## Good
```sql
-- written out, the statement is checked (EXECUTE of a string constant is read too)
DO $$
BEGIN
  EXECUTE 'CREATE INDEX ix_orders_total ON orders (total)';
END $$;
```

## In Alembic
`op.execute(...)` of such a `DO` block is flagged the same way: write the statements out
with `op.*`, or review what the block builds and suppress the finding with a reason.

## Not flagged
`DO` blocks whose statements are all written out, or run by `EXECUTE` of a string
constant: those statements are linted by the other rules. Functions whose bodies build SQL:
they run when called, not when the migration creates them.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if statement.kind != "DoStmt" or statement.unread is None:
        return
    yield ctx.finding(
        RULE,
        f"The DO block {statement.unread}; what that SQL locks or rewrites is not checked.",
        help="Write the statements out, or review what the block runs and suppress this "
             "with a reason.",
    )


RULE = Rule(
    code="DBS120",
    name="dynamic-sql-not-linted",
    severity=Severity.WARNING,
    since="0.1.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"DoStmt"}),
)

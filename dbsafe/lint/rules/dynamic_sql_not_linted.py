"""A `DO` block or a function call runs SQL that dbsafe cannot read, so what that SQL locks is not checked.

## Why
dbsafe lints the statements a `DO` block runs as if they were written out: `CREATE INDEX`
inside `IF ... THEN` is checked like any other. It cannot check SQL the block builds while
it runs (`EXECUTE format('ALTER TABLE %I ...', name)`), nor a block in another language:
an `ALTER COLUMN ... TYPE` that rewrites a table, or a plain `CREATE INDEX` that blocks
writes, would pass unseen. "Not checked" is said, not passed silently.

The same holds for a statement calling a function an earlier migration (or the database)
made whose body builds the SQL it runs: many histories make their indexes and keys through
a helper, `SELECT create_index('orders', 'ix_orders_total', 'total')`, whose body runs
`EXECUTE 'create index ' || index_name || ...`. The call builds a plain index on a table
with rows, under a lock that blocks writes, and dbsafe cannot tell which table. So is a
call of a function written in another language than PL/pgSQL and SQL (`plpython3u`), and
a function whose body calls such a function.

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
`op.execute(...)` of such a `DO` block, or of a `SELECT` calling such a function, is flagged
the same way: write the statements out with `op.*`, or review what the block or function
builds and suppress the finding with a reason.

## Not flagged
`DO` blocks whose statements are all written out, or run by `EXECUTE` of a string
constant: those statements are linted by the other rules. The `CREATE FUNCTION` of a
function whose body builds SQL: it runs when called, and its call is flagged. A call of a
function neither the migrations before nor the database made (an extension's, or one
dbsafe does not know), and of a C function. A statement of a function's body: its call is
where it runs.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import CALLING_KINDS, LintContext, Rule
from dbsafe.lint.statement import FUNCTION_BODY, Statement


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if statement.kind == "DoStmt":
        if statement.unread is not None:
            yield ctx.finding(
                RULE,
                f"The DO block {statement.unread}; what that SQL locks or rewrites is not "
                "checked.",
                help="Write the statements out, or review what the block runs and suppress "
                     "this with a reason.",
            )
        return
    if (statement.origin or "").startswith(FUNCTION_BODY):
        return
    unread = ctx.unread_call(statement.node)
    if unread is not None:
        yield ctx.finding(
            RULE,
            f"This statement calls {unread}; what that SQL locks or rewrites is not checked.",
            help="Write the statements the function runs out in the migration, or review "
                 "what it runs and suppress this with a reason.",
        )


RULE = Rule(
    code="DBS120",
    name="dynamic-sql-not-linted",
    severity=Severity.WARNING,
    since="0.1.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"DoStmt"}) | CALLING_KINDS,
)

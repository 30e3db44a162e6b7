"""`SET NOT NULL` on an existing column without a validated `CHECK (col IS NOT NULL)`, or a primary key that sets it.

## Why
`ALTER COLUMN ... SET NOT NULL` holds an ACCESS EXCLUSIVE lock while PostgreSQL reads every
row to prove there is no NULL: nothing can read or write the table meanwhile. Since
PostgreSQL 12 the scan is skipped when a *validated* `CHECK (col IS NOT NULL)` constraint
already proves it (verified on PostgreSQL 18: a NOT VALID check, or one like
`CHECK (col IS NOT NULL AND col > 0)`, does not skip it). Add that check `NOT VALID`,
validate it (SHARE UPDATE EXCLUSIVE: reads and writes continue), then set NOT NULL.

`ADD PRIMARY KEY USING INDEX` sets the index's columns NOT NULL the same way: the unique
index built `CONCURRENTLY` spares the build, not this scan (verified on PostgreSQL 18 with
`pg_stat_get_xact_numscans`), unless the columns are already NOT NULL or proven so.

## Bad
```sql
ALTER TABLE orders ALTER COLUMN customer_id SET NOT NULL;
```

## Good
```sql
ALTER TABLE orders ADD CONSTRAINT ck_orders_customer_nn
    CHECK (customer_id IS NOT NULL) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT ck_orders_customer_nn;
ALTER TABLE orders ALTER COLUMN customer_id SET NOT NULL;
ALTER TABLE orders DROP CONSTRAINT ck_orders_customer_nn;
```

## In Alembic
```python
op.create_check_constraint("ck_orders_customer_nn", "orders",
                           "customer_id IS NOT NULL", postgresql_not_valid=True)
op.execute("ALTER TABLE orders VALIDATE CONSTRAINT ck_orders_customer_nn")
op.alter_column("orders", "customer_id", nullable=False)
op.drop_constraint("ck_orders_customer_nn", "orders", type_="check")
```

## Not flagged
Columns already NOT NULL, and for `ADD PRIMARY KEY USING INDEX`, columns dbsafe does not know
to be nullable (from the database's schema or an earlier statement); tables created earlier in the same migration; columns whose `CHECK (col IS NOT NULL)` was
validated earlier in the migration (or an earlier one, also when written in its `CREATE
TABLE`, where every CHECK is valid), or is validated in the known schema before it, or is
`NOT VALID` there and validated by the migrations, also under a new name of the check, its
column or its table (PostgreSQL 12+ only). On PostgreSQL 18, `ADD CONSTRAINT ... NOT NULL col NOT VALID` followed
by `VALIDATE CONSTRAINT` is also recognised, in the same migration or a later one, and for
such a constraint of the database's schema (measured on PostgreSQL 18 with `pg_locks` and
`pg_stat_get_xact_numscans`: the `ADD ... NOT VALID` takes ACCESS EXCLUSIVE for a moment
and scans nothing, the `VALIDATE` scans under SHARE UPDATE EXCLUSIVE, the `SET NOT NULL`
after it scans nothing). Still flagged: `SET NOT NULL` on a column whose NOT NULL
constraint is NOT VALID and not validated yet, although PostgreSQL counts the column NOT
NULL (`attnotnull`): it validates the constraint by a scan under ACCESS EXCLUSIVE. The
syntax is PostgreSQL 18's: DBS124 reports it for an older `target-version`.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if statement.kind != "AlterTableStmt" or not statement.relation:
        return
    table = statement.relation
    if ctx.created_before(table):
        return
    for action in statement.actions:
        if action.subtype == "SetNotNull" and action.name:
            columns: tuple[str, ...] = (action.name,)
            how = "is set NOT NULL"
        elif action.subtype == "AddConstraint" and action.constraint is not None and \
                action.constraint.kind == "primary" and action.constraint.using_index:
            columns = ctx.index_columns(action.constraint.using_index) or ()
            how = f"is set NOT NULL by the primary key on `{action.constraint.using_index}`"
        else:
            continue
        for column in columns:
            if action.subtype == "AddConstraint":
                known = ctx.column(table, column)
                if known is None or known.not_null is None:
                    # Columns under a unique index meant for a key are NOT NULL as a rule:
                    # only one known to be nullable is reported.
                    continue
            yield from _scan(ctx, table, column, how)


def _scan(ctx: LintContext, table: str, column: str, how: str) -> Iterator[Finding]:
    known = ctx.column(table, column)
    if known is not None and known.not_null:
        return  # already NOT NULL (a primary key member, added NOT NULL): no scan
    if ctx.target_version >= 120000 and ctx.proven_not_null(table, column):
        return
    if ctx.target_version < 120000:
        help = ("Before PostgreSQL 12 the scan cannot be avoided; run it at a quiet time "
                "with a short lock_timeout, or keep a validated CHECK (col IS NOT NULL) "
                "instead.")
    else:
        then = "add the primary key" if "primary key" in how else "SET NOT NULL"
        help = (f"Add CHECK ({column} IS NOT NULL) NOT VALID, VALIDATE it, then {then} "
                "(the scan is skipped).")
    yield ctx.finding(
        RULE,
        f"Column `{table}.{column}` {how}; reads and writes on `{table}` wait "
        "while every row is checked for NULLs.",
        help=help,
        subject=f"{table}.{column}",
    )


RULE = Rule(
    code="DBS107",
    name="set-not-null-without-check",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    claim="lock",
    kinds=frozenset({"AlterTableStmt"}),
    weighed_by="size",
)

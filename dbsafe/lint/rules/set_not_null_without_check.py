"""`SET NOT NULL` on an existing column without a validated `CHECK (col IS NOT NULL)`.

## Why
`ALTER COLUMN ... SET NOT NULL` holds an ACCESS EXCLUSIVE lock while PostgreSQL reads every
row to prove there is no NULL: nothing can read or write the table meanwhile. Since
PostgreSQL 12 the scan is skipped when a *validated* `CHECK (col IS NOT NULL)` constraint
already proves it (verified on PostgreSQL 18: a NOT VALID check, or one like
`CHECK (col IS NOT NULL AND col > 0)`, does not skip it). Add that check `NOT VALID`,
validate it (SHARE UPDATE EXCLUSIVE: reads and writes continue), then set NOT NULL.

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
Tables created earlier in the same migration; columns whose `CHECK (col IS NOT NULL)` was
validated earlier in the migration, or is validated in the known schema before it
(PostgreSQL 12+ only). On PostgreSQL 18, `ADD CONSTRAINT ... NOT NULL col NOT VALID` followed
by `VALIDATE CONSTRAINT` is also recognised.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.actions import (
    Words,
    alter_target,
    contains,
    fold,
    top_level,
)
from dbsafe.lint.engine import LintContext, Rule, Statement


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    target = alter_target(statement)
    if target is None:
        return
    table, actions = target
    if ctx.created_before(table):
        return
    for action in actions:
        column = _set_not_null_column(action)
        if column is None:
            continue
        if ctx.target_version >= 120000 and _proven_not_null(table, column, ctx):
            continue
        if ctx.target_version < 120000:
            help = ("Before PostgreSQL 12 the scan cannot be avoided; run it at a quiet time "
                    "with a short lock_timeout, or keep a validated CHECK (col IS NOT NULL) "
                    "instead.")
        else:
            help = (f"Add CHECK ({column} IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT "
                    "NULL (the scan is skipped).")
        yield ctx.finding(
            RULE,
            f"Column `{table}.{column}` is set NOT NULL; reads and writes on `{table}` wait "
            "while every row is checked for NULLs.",
            help=help,
            subject=f"{table}.{column}",
        )


def _set_not_null_column(action: Words) -> str | None:
    if action[:1] != ("ALTER",):
        return None
    i = 2 if action[1:2] == ("COLUMN",) else 1
    if action[i + 1 : i + 4] == ("SET", "NOT", "NULL") and len(action) == i + 4:
        return fold(action[i])
    return None


def _proven_not_null(table: str, column: str, ctx: LintContext) -> bool:
    """Does a validated constraint prove `column` has no NULLs before this statement?"""
    short = table.rsplit(".", 1)[-1]
    candidates: set[str] = set()  # constraints on `column` not (yet) known to be validated
    validated: set[str] = set()
    for statement in ctx.earlier():
        target = alter_target(statement)
        if target is None or target[0] not in (table, short):
            continue
        for action in target[1]:
            found = _not_null_constraint(action)
            if found is not None and found[1] == column:
                name, _, not_valid = found
                (candidates if not_valid else validated).add(name)
            if action[:2] == ("VALIDATE", "CONSTRAINT") and len(action) > 2:
                name = fold(action[2])
                if name in candidates:
                    validated.add(name)
                else:
                    candidates.add(f"validated:{name}")
    if validated:
        return True
    relation = _before_relation(table, ctx)
    if relation is None:
        return False
    definitions = {f"CHECK (({column} IS NOT NULL))", f'CHECK ((\"{column}\" IS NOT NULL))'}
    for constraint in relation.constraints:
        if constraint.kind != "check" or constraint.definition not in definitions:
            continue
        if constraint.validated or f"validated:{constraint.name}" in candidates:
            return True
    return False


def _not_null_constraint(action: Words) -> tuple[str, str, bool] | None:
    """(name, column, not_valid) for `ADD CONSTRAINT n CHECK (col IS NOT NULL) [NOT VALID]`
    or PostgreSQL 18's `ADD CONSTRAINT n NOT NULL col [NOT VALID]`."""
    if action[:2] != ("ADD", "CONSTRAINT") or len(action) < 5:
        return None
    name = fold(action[2])
    body = action[3:]
    not_valid = contains(top_level(body), "NOT", "VALID")
    if not_valid:
        body = body[:-2]
    if body[:2] == ("NOT", "NULL") and len(body) == 3:
        return name, fold(body[2]), not_valid
    if body[:1] != ("CHECK",):
        return None
    expr = body[1:]
    while len(expr) >= 2 and expr[0] == "(" and expr[-1] == ")":
        expr = expr[1:-1]
    if len(expr) == 4 and expr[1:] == ("IS", "NOT", "NULL"):
        return name, fold(expr[0]), not_valid
    return None


def _before_relation(table: str, ctx: LintContext):
    if ctx.before is None:
        return None
    schema, _, name = table.rpartition(".")
    return ctx.before.find_relation(name, schema or None)


RULE = Rule(
    code="DBS107",
    name="set-not-null-without-check",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
)

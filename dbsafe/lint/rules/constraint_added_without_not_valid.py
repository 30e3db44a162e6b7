"""Foreign key or CHECK constraint added to an existing table without `NOT VALID`.

## Why
Adding a foreign key or a CHECK constraint makes PostgreSQL read every row of the table to
prove the constraint holds, while it holds the lock the ALTER took: ACCESS EXCLUSIVE for a
CHECK (nothing can read or write the table), SHARE ROW EXCLUSIVE on *both* tables for a
foreign key (no writes to either). On a large table that is minutes of downtime.
Added `NOT VALID`, the constraint is enforced for new rows at once and the scan is skipped;
`VALIDATE CONSTRAINT` then checks the old rows under a SHARE UPDATE EXCLUSIVE lock, which
lets reads and writes continue. `ALTER DOMAIN ... ADD CONSTRAINT` likewise checks every
column of that domain type, in every table, blocking writes to them.

A CHECK declared on a column being added also scans the table (PostgreSQL checks the new
column's values in every existing row), and so does a `REFERENCES` on an added column that
has a non-null default.

## Bad
```sql
ALTER TABLE orders ADD CONSTRAINT fk_orders_customer
    FOREIGN KEY (customer_id) REFERENCES customers (id);
```

## Good
```sql
ALTER TABLE orders ADD CONSTRAINT fk_orders_customer
    FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;
-- then, in a separate transaction (a later migration, or after COMMIT):
ALTER TABLE orders VALIDATE CONSTRAINT fk_orders_customer;
```

## In Alembic
```python
op.create_foreign_key("fk_orders_customer", "orders", "customers",
                      ["customer_id"], ["id"], postgresql_not_valid=True)
op.execute("COMMIT")  # or validate in the next revision
op.execute("ALTER TABLE orders VALIDATE CONSTRAINT fk_orders_customer")
```
For a CHECK: `op.create_check_constraint(..., postgresql_not_valid=True)`, then the same
`VALIDATE CONSTRAINT`.

## Not flagged
Constraints on tables created earlier in the same migration (nothing to scan), foreign keys
declared inline in `CREATE TABLE`, `NOT ENFORCED` constraints (PostgreSQL 18, never
checked), `REFERENCES` on an added column without a default (verified: all its values are
NULL, PostgreSQL skips the scan), and domains created earlier in the migration. UNIQUE,
PRIMARY KEY and EXCLUDE constraints build an index instead; other rules cover them.

## References
- https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT
- squawk `constraint-missing-not-valid`, `adding-foreign-key-constraint`,
  `ban-alter-domain-with-add-constraint`; strong_migrations "adding a foreign key",
  "adding a check constraint"
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.actions import (
    Words,
    alter_target,
    column_action,
    column_default,
    contains,
    fold,
    is_null_default,
    qualified_name,
    top_level,
)
from dbsafe.lint.engine import LintContext, Rule, Statement

# -- the rule ---------------------------------------------------------------------------


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    target = alter_target(statement)
    if target is not None:
        table, actions = target
        if ctx.created_before(table):
            return
        for action in actions:
            yield from _check_action(table, action, ctx)
        return
    domain = alter_target(statement, "DOMAIN")
    if domain is not None:
        name, actions = domain
        if _domain_created_before(name, ctx):
            return
        for action in actions:
            constraint = _table_constraint(action)
            if constraint is None or constraint[1] != "CHECK" or _skips_scan(action):
                continue
            yield ctx.finding(
                RULE,
                f"CHECK constraint added to domain `{name}` without NOT VALID; every column "
                f"of type `{name}` is checked while writes to its tables wait.",
                help="Add it with NOT VALID, then run ALTER DOMAIN ... VALIDATE CONSTRAINT "
                     "in a separate transaction.",
                subject=name,
            )


def _check_action(table: str, action: Words, ctx: LintContext) -> Iterator[Finding]:
    constraint = _table_constraint(action)
    if constraint is not None:
        name, kind = constraint
        if kind not in ("FOREIGN", "CHECK") or _skips_scan(action):
            return
        label = f" `{name}`" if name else ""
        if kind == "FOREIGN":
            referenced = _referenced_table(action)
            both = f"`{table}` and `{referenced}`" if referenced else f"`{table}`"
            message = (f"Foreign key{label} is added to `{table}` without NOT VALID; "
                       f"writes to {both} wait while every row of `{table}` is checked.")
        else:
            message = (f"CHECK constraint{label} is added to `{table}` without NOT VALID; "
                       f"reads and writes on `{table}` wait while every row is checked.")
        yield ctx.finding(RULE, message, help=_HELP, subject=table)
        return
    column = column_action(action)
    if column is None:
        return
    name, rest = column
    outer = top_level(rest)
    default = column_default(rest)
    if "CHECK" in outer:
        yield ctx.finding(
            RULE,
            f"Column `{table}.{name}` is added with a CHECK constraint; reads and writes on "
            f"`{table}` wait while every row is checked.",
            help="Add the column first, then the CHECK with NOT VALID, then VALIDATE "
                 "CONSTRAINT in a separate transaction.",
            subject=f"{table}.{name}",
        )
    elif "REFERENCES" in outer and default is not None and not is_null_default(default):
        yield ctx.finding(
            RULE,
            f"Column `{table}.{name}` is added with a default and a foreign key; writes to "
            f"`{table}` and the referenced table wait while every row is checked.",
            help="Add the column first, then the foreign key with NOT VALID, then VALIDATE "
                 "CONSTRAINT in a separate transaction.",
            subject=f"{table}.{name}",
        )


_HELP = ("Add it with NOT VALID, then run VALIDATE CONSTRAINT in a separate transaction "
         "(alembic: postgresql_not_valid=True).")


def _table_constraint(action: Words) -> tuple[str | None, str] | None:
    """For `ADD [CONSTRAINT name] <kind> ...`: (name, first word of the kind)."""
    if action[:1] != ("ADD",) or len(action) < 2:
        return None
    i = 1
    name = None
    if action[i] == "CONSTRAINT" and len(action) > i + 2:
        name = fold(action[i + 1])
        i += 2
    kind = action[i].split()[0]  # the tokenizer keeps "FOREIGN KEY" as one word
    if kind in ("FOREIGN", "CHECK", "PRIMARY", "UNIQUE", "EXCLUDE"):
        return name, kind
    if action[i] == "NOT" and action[i + 1 : i + 2] == ("NULL",):
        return name, "NOT"
    return None


def _skips_scan(action: Words) -> bool:
    outer = top_level(action)
    return contains(outer, "NOT", "VALID") or contains(outer, "NOT", "ENFORCED")


def _referenced_table(action: Words) -> str | None:
    for i, word in enumerate(action):
        if word == "REFERENCES" and i + 1 < len(action):
            return qualified_name(action, i + 1)[0]
    return None


def _domain_created_before(name: str, ctx: LintContext) -> bool:
    short = name.rsplit(".", 1)[-1]
    for statement in ctx.earlier():
        words = statement.words
        if words[:2] == ("CREATE", "DOMAIN") and len(words) > 2:
            created = qualified_name(words, 2)[0]
            if created in (name, short) or created.rsplit(".", 1)[-1] == name:
                return True
    return False


RULE = Rule(
    code="DBS106",
    name="constraint-added-without-not-valid",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
)

"""Foreign key or CHECK constraint added to an existing table without `NOT VALID`.

## Why
Adding a foreign key or a CHECK constraint makes PostgreSQL read every row of the table to
prove the constraint holds, while it holds the lock the ALTER took: ACCESS EXCLUSIVE for a
CHECK (nothing can read or write the table), SHARE ROW EXCLUSIVE on *both* tables for a
foreign key (no writes to either). On a large table that is minutes of downtime.
Added `NOT VALID`, the constraint is enforced for new rows at once and the scan is skipped;
`VALIDATE CONSTRAINT` then checks the old rows under a SHARE UPDATE EXCLUSIVE lock, which
lets reads and writes continue. `ALTER DOMAIN ... ADD CONSTRAINT` likewise checks every
column of that domain type, in every table, blocking writes to them; and unlike a table's,
a domain's `VALIDATE CONSTRAINT` (and `SET NOT NULL`) takes a SHARE lock on each of those
tables while it scans (verified on PostgreSQL 18): on a domain, `NOT VALID` only moves the
wait to the VALIDATE. `ALTER CONSTRAINT ... ENFORCED` (PostgreSQL 18) checks every row
of a constraint that was `NOT ENFORCED`, under ACCESS EXCLUSIVE.

A CHECK declared on a column being added also scans the table (PostgreSQL checks the new
column's values in every existing row), and so does a `REFERENCES` on an added column that
has a `DEFAULT` of its own — even `DEFAULT NULL` — or is `GENERATED ALWAYS AS (...) STORED`:
PostgreSQL skips the foreign key's scan only when that column has no default expression at
all. A default on another column the
same statement adds does not count: each `ADD COLUMN` is transformed on its own (verified
on PostgreSQL 18: `ADD COLUMN a uuid REFERENCES p (id), ADD COLUMN b text NOT NULL
DEFAULT ''` reads no row of the table; GoAlert's `alert_logs.sub_user_id`).

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
Constraints on tables created earlier in the same migration (nothing to scan), or on a table
a `TRUNCATE` earlier in the same transaction emptied (no row added since: the check reads
the new, empty file, under the ACCESS EXCLUSIVE lock TRUNCATE already holds), foreign keys
declared inline in `CREATE TABLE`, `NOT ENFORCED` constraints (PostgreSQL 18, never
checked), `REFERENCES` on an added column without a `DEFAULT` of its own, whatever defaults
the statement's other added columns have (all its values are NULL, PostgreSQL skips the
scan), domains created earlier in the migration, and a domain's `ADD CONSTRAINT ... NOT
VALID` and `DROP NOT NULL`. UNIQUE, PRIMARY KEY and EXCLUDE constraints build an index
instead; other rules cover them.

## References
- https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT
- squawk `constraint-missing-not-valid`, `adding-foreign-key-constraint`,
  `ban-alter-domain-with-add-constraint`; strong_migrations "adding a foreign key",
  "adding a check constraint"
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import (
    Action,
    Statement,
    constraint,
    last,
    qualified,
    strings,
)
from dbsafe.lint.transactions import truncated_first


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if statement.kind == "AlterTableStmt" and statement.object_kind in ("table",
                                                                         "foreign table"):
        table = statement.relation or ""
        if ctx.created_before(table) or truncated_first(statement, ctx, table):
            return
        yield from _made_enforced(statement, ctx, table)
        for action in statement.actions:
            yield from _check_action(table, action, ctx)
    elif statement.kind == "AlterDomainStmt" and statement.node.get("subtype") in _CHECKS:
        name = qualified(*strings(statement.node.get("typeName")))
        if _domain_created_before(name, ctx):
            return
        subtype = str(statement.node.get("subtype"))
        if subtype == "C":
            definition = statement.node.get("def")
            con = constraint(definition) if definition else None
            if con is None or con.kind != "check" or con.not_valid or not con.enforced:
                return
        yield ctx.finding(
            RULE,
            f"{_CHECKS[subtype]} on domain `{name}` checks every column of type `{name}` "
            "while writes to its tables wait (SHARE lock).",
            help="Put the check on the tables' columns instead (ADD CONSTRAINT ... NOT VALID, "
                 "then VALIDATE: writes continue); a domain's VALIDATE CONSTRAINT blocks "
                 "writes too.",
            subject=name,
        )


def _check_action(table: str, action: Action, ctx: LintContext) -> Iterator[Finding]:
    con = action.constraint
    if action.subtype == "AddConstraint" and con is not None:
        if con.kind not in ("foreign", "check") or con.not_valid or not con.enforced:
            return
        label = f" `{con.name}`" if con.name else ""
        if con.kind == "foreign":
            referenced = con.references
            both = f"`{table}` and `{referenced}`" if referenced and \
                last(referenced) != last(table) else f"`{table}`"
            message = (f"Foreign key{label} is added to `{table}` without NOT VALID; "
                       f"writes to {both} wait while every row of `{table}` is checked.")
        else:
            message = (f"CHECK constraint{label} is added to `{table}` without NOT VALID; "
                       f"reads and writes on `{table}` wait while every row is checked.")
        yield ctx.finding(RULE, message, help=_HELP, subject=table)
        return
    column = action.column
    if action.subtype != "AddColumn" or column is None:
        return
    if column.has("check"):
        yield ctx.finding(
            RULE,
            f"Column `{table}.{column.name}` is added with a CHECK constraint; reads and "
            f"writes on `{table}` wait while every row is checked.",
            help="Add the column first, then the CHECK with NOT VALID, then VALIDATE "
                 "CONSTRAINT in a separate transaction.",
            subject=f"{table}.{column.name}",
        )
    elif (column.default is not None or column.has("generated")) and any(
            c.kind == "foreign" and c.enforced for c in column.constraints):
        # PostgreSQL validates a new column's foreign keys unless the column has no DEFAULT
        # (even DEFAULT NULL counts; a STORED generation expression is one too). Each ADD
        # COLUMN is transformed on its own (ATParseTransformCmd), so another added column's
        # default does not count.
        made = "a default" if column.default is not None else "a generation expression"
        yield ctx.finding(
            RULE,
            f"Column `{table}.{column.name}` is added with {made} and a foreign key; "
            f"writes to `{table}` and the referenced table wait while every row is checked.",
            help="Add the column first (without a default), then the foreign key with NOT "
                 "VALID, then VALIDATE CONSTRAINT in a separate transaction.",
            subject=f"{table}.{column.name}",
        )


_HELP = ("Add it with NOT VALID, then run VALIDATE CONSTRAINT in a separate transaction "
         "(alembic: postgresql_not_valid=True).")


def _made_enforced(statement: Statement, ctx: LintContext, table: str) -> Iterator[Finding]:
    """`ALTER CONSTRAINT c ENFORCED` (PostgreSQL 18) checks every row, as ADD CONSTRAINT
    does, while it holds ACCESS EXCLUSIVE on the table."""
    for item in statement.node.get("cmds") or ():
        cmd = item.get("AlterTableCmd", {})
        change = (cmd.get("def") or {}).get("ATAlterConstraint", {})
        if cmd.get("subtype") == "AT_AlterConstraint" and change.get("alterEnforceability") \
                and change.get("is_enforced"):
            name = change.get("conname", "")
            yield ctx.finding(
                RULE,
                f"Making constraint `{name}` of `{table}` ENFORCED checks every row while "
                f"reads and writes on `{table}` wait (ACCESS EXCLUSIVE).",
                help="Drop it and add it again NOT VALID, then VALIDATE CONSTRAINT in a "
                     "separate transaction (writes continue).",
                subject=table,
            )


# ALTER DOMAIN subcommands that check every stored value of the domain.
_CHECKS = {"C": "ADD CONSTRAINT without NOT VALID", "V": "VALIDATE CONSTRAINT",
           "O": "SET NOT NULL"}


def _domain_created_before(name: str, ctx: LintContext) -> bool:
    for statement in ctx.earlier():
        if statement.kind == "CreateDomainStmt":
            created = qualified(*strings(statement.node.get("domainname")))
            if created == name or last(created) == last(name):
                return True
    return False


RULE = Rule(
    code="DBS106",
    name="constraint-added-without-not-valid",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    claim="lock",
    kinds=frozenset({"AlterTableStmt", "AlterDomainStmt"}),
    weighed_by="size",
)

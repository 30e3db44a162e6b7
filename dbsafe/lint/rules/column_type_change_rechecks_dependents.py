"""Column type change that keeps the rows but rechecks a constraint or rebuilds an index under an ACCESS EXCLUSIVE lock.

## Why
A type change PostgreSQL makes without rewriting the table (`varchar(20)` → `varchar(50)`,
`varchar` → `text`: see DBS110) still redoes what depends on the column's values, while it
holds ACCESS EXCLUSIVE: every CHECK constraint on the column is checked again (a full
scan), and every index whose expression or WHERE clause uses the column is built again
(verified on PostgreSQL 18 with `pg_stat_get_xact_numscans` and `pg_relation_filenode`).
A plain index on the column is kept.

## Bad
```sql
-- orders has CHECK (length(note) > 0) and an index on lower(note)
ALTER TABLE orders ALTER COLUMN note TYPE varchar(500);
```

## Good
```sql
-- drop the expression index CONCURRENTLY first, change the type, build it again
-- CONCURRENTLY; recheck a CHECK by NOT VALID + VALIDATE on a new constraint
DROP INDEX CONCURRENTLY ix_orders_note_lower;
```

## In Alembic
The same statements through `op.execute(...)`, the index dropped and built again in
`autocommit_block()`.

## Not flagged
* Plain indexes on the column (kept as they are), and changes that rewrite the table
  (DBS110 reports those, indexes and constraints included): a change to a domain with a
  CHECK or NOT NULL rewrites even over the same base type (`text` to boundary's
  `wt_controller_id`, a `text` domain with a CHECK: a new relfilenode on PostgreSQL 18).
* A CHECK constraint the same ALTER TABLE drops (`DROP CONSTRAINT c, ALTER COLUMN x TYPE
  ...`): PostgreSQL drops it before it changes the type.
* A CHECK constraint added NOT VALID and not validated since: PostgreSQL re-adds it NOT
  VALID and checks no row (verified on PostgreSQL 18 with a row it refuses).
* Tables created earlier in the same migration. The constraints and indexes a table had
  before the migrations come from the database's schema (`--database-url`); without it,
  dbsafe knows only those earlier migrations of the history built (rudder-server's
  `wh_uploads.namespace` `varchar(64)` → `varchar(128)` rebuilt the expression index a
  migration twenty files earlier built on it: task 386). One built without a name is
  followed by the name PostgreSQL gives it (`CREATE INDEX ON users ((lower(email)))` is
  `users_lower_idx`, a second one `users_lower_idx1`), so a `DROP INDEX` by that name
  forgets it.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement

# Its findings need the constraints and indexes of a table it did not create: the database's
# schema's, or an earlier migration's. One migration's SQL alone never triggers it (see
# tests/lint/test_rewrites_pg.py).
DATABASE_ONLY = True


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if statement.kind != "AlterTableStmt" or not statement.relation:
        return
    table = statement.relation
    if ctx.created_before(table):
        return
    dropped = {a.name for a in statement.actions if a.subtype == "DropConstraint" and a.name}
    for action in statement.actions:
        if action.subtype != "AlterColumnType" or action.column is None or \
                action.column.type is None or action.using is not None or not action.name:
            continue
        column = action.name
        known = ctx.column(table, column)
        domain = ctx.domain(action.column.type)
        if known is None or known.type is None or \
                ctx.type_change_rewrites(known.type, action.column.type) is not False or \
                (domain is not None and domain.constrained):  # (a rewrite: DBS110's)
            continue
        work = ctx.type_change_redoes(table, column, dropped)
        if not work:
            continue
        yield ctx.finding(
            RULE,
            f"Changing `{table}.{column}` to `{action.column.type}` keeps its rows but "
            f"{' and '.join(work)} under an ACCESS EXCLUSIVE lock; reads and writes on "
            f"`{table}` wait meanwhile.",
            help="Drop the expression or partial index CONCURRENTLY before the change and "
                 "build it again CONCURRENTLY after; replace a CHECK by one added NOT VALID "
                 "and validated.",
            subject=f"{table}.{column}")


RULE = Rule(
    code="DBS127",
    name="column-type-change-rechecks-dependents",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"AlterTableStmt"}),
    weighed_by="size",
)

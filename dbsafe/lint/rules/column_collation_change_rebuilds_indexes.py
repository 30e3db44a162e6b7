"""Column collation changed in place, rebuilding every index on the column under an ACCESS EXCLUSIVE lock.

## Why
`ALTER TABLE ... ALTER COLUMN ... TYPE ... COLLATE` with the column's own type leaves the
rows as they are, but the order of the column's values changes, so PostgreSQL rebuilds
every index that uses the column while it holds ACCESS EXCLUSIVE on the table: no reads, no
writes until the last index is built (verified on PostgreSQL 18: the indexes' relfilenodes
change, the table's does not). On a large table that is as long as building those indexes
from scratch. A change between `text` (or `varchar`) and `citext` is the same: the rows
stay (citext is stored as text), but the indexes are built again for citext's
case-insensitive order (pocket-id's `username TYPE citext`: the table's relfilenode kept, its
unique index's changed).

## Bad
```sql
ALTER TABLE customers ALTER COLUMN name TYPE text COLLATE "C";
```

## Good
```sql
ALTER TABLE customers ADD COLUMN name_c text COLLATE "C";
-- backfill name_c in batches, CREATE INDEX CONCURRENTLY on it, move reads, drop name
```

## In Alembic
```python
op.add_column("customers", sa.Column("name_c", sa.Text(collation="C")))
```
Where the column's indexes can be missing for a while, another way is to drop them with
`DROP INDEX CONCURRENTLY` first: the collation change then rebuilds nothing, and the
indexes come back with `CREATE INDEX CONCURRENTLY`.

## Not flagged
* A change that also changes the stored type (DBS110 reports the rewrite, indexes included).
* The same collation as before; a column the database's schema shows no index on, or one
  added by the same migration, when it creates no index on the table; a column of a table
  the migrations created whose indexes built since (no EXCLUDE constraint's) have it
  nowhere among their keys, expressions or WHERE clauses (svix's `message.event_type`:
  nothing is rebuilt, the ALTER takes a millisecond on 300,000 rows; an INCLUDE column is
  not a key and rebuilds nothing).
* Tables created earlier in the same migration.

When the column's collation is unknown (no earlier statement names it and no database was
given), the finding is a warning: pass the database (`--database`) so dbsafe can decide.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule, own_collation
from dbsafe.lint.statement import Statement, last


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if statement.kind != "AlterTableStmt" or not statement.relation:
        return
    table = statement.relation
    if ctx.created_before(table):
        return
    for action in statement.actions:
        if action.subtype != "AlterColumnType" or action.column is None or \
                action.column.type is None or action.using is not None:
            continue
        column = action.name or ""
        collation = own_collation(action.column.collation)
        known = ctx.column(table, column)
        if known is None or known.type is None:
            if collation is None:
                continue  # no COLLATE written: nothing says the collation changes
            if not _indexed(ctx, table, column):
                continue
            yield ctx.finding(
                RULE,
                f"Setting `{table}.{column}` to collation `{collation}` rebuilds every index "
                f"on it under an ACCESS EXCLUSIVE lock if its collation was another; dbsafe "
                "could not tell because the column's current collation is unknown.",
                help="Lint with the database (or a schema snapshot) so dbsafe knows the "
                     "collation, or add a new column with the collation and backfill it.",
                subject=f"{table}.{column}", severity=Severity.WARNING)
            continue
        reorders = ctx.type_change_reorders(known.type, action.column.type)
        if ctx.type_change_rewrites(known.type, action.column.type) is not False or \
                (collation == known.collation and not reorders):
            continue
        if not _indexed(ctx, table, column) or (
                known.added_here and last(table) not in ctx.history.index_tables.values()):
            continue  # added by this migration, which built no index on its table
        if reorders:
            yield ctx.finding(
                RULE,
                f"Changing `{table}.{column}` from `{known.type}` to `{action.column.type}` "
                "keeps its rows but rebuilds every index on it (the new type orders and "
                "compares values otherwise) under an ACCESS EXCLUSIVE lock; reads and "
                f"writes on `{table}` wait until they are built.",
                help="Add a new column of the type, backfill it in batches and index it "
                     "CONCURRENTLY, or drop the column's indexes CONCURRENTLY first.",
                subject=f"{table}.{column}")
            continue
        yield ctx.finding(
            RULE,
            f"Changing the collation of `{table}.{column}` from `{known.collation or 'default'}` "
            f"to `{collation or 'default'}` rebuilds every index on it under an ACCESS "
            f"EXCLUSIVE lock; reads and writes on `{table}` wait until they are built.",
            help="Add a new column with the collation, backfill it in batches and index it "
                 "CONCURRENTLY, or drop the column's indexes CONCURRENTLY first.",
            subject=f"{table}.{column}")


def _indexed(ctx: LintContext, table: str, column: str) -> bool:
    """Can an index use `column`? The database's schema can say no: a table it shows with
    no index that has the column among its keys or whose expression or WHERE reads it (and
    none created since). So can the history, for a table an earlier statement created: when
    no index built on it since has the column among its keys or reads it in an expression
    or WHERE, none is an EXCLUDE constraint's, and no column of it was renamed (the names
    it noted may be stale). An INCLUDE column is stored, not ordered: changing its
    collation rebuilds nothing (PostgreSQL 18)."""
    relation = ctx.before_relation(table)
    if relation is None:
        name, history = last(table), ctx.history
        keys = history.table_indexes.get(name)
        if keys is None or name in history.excluding or name in history.columns_renamed:
            return True
        return any(column in key.columns for key in keys) or \
            column in history.value_index_reads.get(name, ())
    if last(table) in ctx.history.index_tables.values():
        return True
    _, rebuilt = ctx.redone_by_type_change(table, column)  # its expression or WHERE reads it
    return bool(rebuilt) or any(column in index.columns for index in relation.indexes)


RULE = Rule(
    code="DBS122",
    name="column-collation-change-rebuilds-indexes",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"AlterTableStmt"}),
    weighed_by="size",
)

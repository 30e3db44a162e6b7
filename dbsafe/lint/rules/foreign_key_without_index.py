"""Foreign key whose referencing columns no index starts with.

## Why
PostgreSQL indexes the referenced side of a foreign key (it must be unique) but not the
referencing side. Every `DELETE` of a referenced row, and every update of its key, then
looks for referencing rows with a sequential scan of the referencing table — slow deletes,
and long-held row locks on both tables. Joins along the key suffer too.

## Bad
```sql
CREATE TABLE order_lines (
    id bigint PRIMARY KEY,
    order_id bigint NOT NULL REFERENCES orders (id)
);
```

## Good
```sql
CREATE TABLE order_lines (
    id bigint PRIMARY KEY,
    order_id bigint NOT NULL REFERENCES orders (id)
);
CREATE INDEX order_lines_order_id ON order_lines (order_id);
```

## In Alembic
```python
op.create_index("order_lines_order_id", "order_lines", ["order_id"])
```
(on an existing table: `postgresql_concurrently=True` in an `autocommit_block()`).

## Not flagged
* An index whose leading columns are the foreign key's columns (in any order): created
  anywhere in the same migration or by an earlier one, a primary key or unique constraint,
  or — when dbsafe knows the database before the migrations — an existing index.
* A foreign key on an existing table when dbsafe does not know the table's indexes: the
  table was not created by an earlier migration of the history (as a plain `CREATE TABLE`:
  a partition or `LIKE` copy gets indexes it does not show) and no database or snapshot
  was given. It cannot tell, and stays silent rather than guess.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement, last, same_relation

ForeignKey = tuple[str, tuple[str, ...], str]  # (table, columns, referenced table)


def foreign_keys(statement: Statement) -> list[ForeignKey]:
    if statement.kind not in ("CreateStmt", "AlterTableStmt") or not statement.relation:
        return []
    table = statement.relation
    found: list[ForeignKey] = []
    for column in statement.columns:
        for con in column.constraints:
            if con.kind == "foreign":
                found.append((table, (column.name,), con.references or "?"))
    for con in statement.constraints:
        if con.kind == "foreign" and con.columns:
            found.append((table, con.columns, con.references or "?"))
    return found


def indexes(statement: Statement) -> list[tuple[str, tuple[str, ...]]]:
    """(table, leading plain columns) of indexes a statement creates, incl. PK/UNIQUE."""
    if statement.index_def is not None:
        return [(statement.index_def.table, statement.index_def.columns)]
    if statement.kind not in ("CreateStmt", "AlterTableStmt") or not statement.relation:
        return []
    table = statement.relation
    found: list[tuple[str, tuple[str, ...]]] = [
        (table, (column.name,)) for column in statement.columns
             if column.has("primary") or column.has("unique")]
    found += [(table, con.columns) for con in statement.constraints
              if con.kind in ("primary", "unique") and con.columns]
    return found


def _covers(columns: tuple[str, ...], fk: tuple[str, ...]) -> bool:
    return len(columns) >= len(fk) and set(columns[:len(fk)]) == set(fk)


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    fks = foreign_keys(statement)
    if not fks:
        return
    known = ctx.cache.get("DBS117.indexes")
    if known is None:
        known = ctx.cache["DBS117.indexes"] = [ix for s in ctx.statements for ix in indexes(s)]
    created_here = statement.kind == "CreateStmt"
    for table, columns, referenced in fks:
        if any(same_relation(t, table) and _covers(c, columns) for t, c in known):
            continue
        if not (created_here or ctx.created_before(table)):
            existing = _existing_indexes(ctx, table)
            if existing is None or any(_covers(c, columns) for c in existing):
                continue
        shown = ", ".join(columns)
        yield ctx.finding(
            RULE,
            f"Foreign key `{table}` ({shown}) → `{referenced}` has no index starting with "
            f"its columns; each delete or key update on `{referenced}` scans `{table}`.",
            help=f"Create an index on `{table}` ({shown}) (CONCURRENTLY on an existing "
                 "table).",
            subject=f"{table}.{columns[0]}" if len(columns) == 1 else table,
        )


def _existing_indexes(ctx: LintContext, table: str) -> list[tuple[str, ...]] | None:
    """Leading columns of the table's indexes before the migration; None if unknown."""
    relation = ctx.before_relation(table)
    if relation is None:
        return ctx.history.table_indexes.get(last(table))  # an earlier migration made it
    # the database's, and those earlier migrations (linted after it) built on it
    return [tuple(ix.columns) for ix in relation.indexes] + \
        ctx.history.table_indexes.get(last(table), []) + \
        ctx.history.indexes_added.get(last(table), [])


RULE = Rule(
    code="DBS117",
    name="foreign-key-without-index",
    severity=Severity.WARNING,
    since="0.1.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"CreateStmt", "AlterTableStmt"}),
)

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
  anywhere in the same migration, a primary key or unique constraint, or — when dbsafe
  knows the database before the migration — an existing index.
* A foreign key on an existing table when dbsafe does not know the table's indexes (no
  database or snapshot given): it cannot tell, and stays silent rather than guess.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule, Statement, relation_name
from dbsafe.lint.rules.materialized_view_without_unique_index import same_relation

ForeignKey = tuple[str, tuple[str, ...], str]  # (table, columns, referenced table)


def _ident(node: exp.Expression) -> str:
    if isinstance(node, exp.Column):
        node = node.this
    return node.name if node.args.get("quoted") else node.name.lower()


def _reference_table(ref: exp.Expression) -> str:
    table = ref.find(exp.Table)
    return relation_name(table) if table is not None else "?"


def _table_of(node: exp.Expression) -> str | None:
    if isinstance(node, exp.Create):
        target = node.this
        table = target.this if isinstance(target, exp.Schema) else target
        return relation_name(table) if isinstance(table, exp.Table) else None
    if isinstance(node, exp.Alter) and isinstance(node.this, exp.Table):
        return relation_name(node.this)
    return None


def _elements(node: exp.Expression) -> list[exp.Expression]:
    """Column definitions and table constraints of a CREATE TABLE or ALTER TABLE ... ADD."""
    if isinstance(node, exp.Create) and str(node.kind).upper() == "TABLE" and \
            isinstance(node.this, exp.Schema):
        items = list(node.this.expressions)
    elif isinstance(node, exp.Alter) and str(node.args.get("kind")).upper() == "TABLE":
        items = []
        for action in node.args.get("actions") or []:
            items.extend(action.expressions if isinstance(action, exp.AddConstraint)
                         else [action])
    else:
        return []
    out = []
    for item in items:
        out.extend(item.expressions if isinstance(item, exp.Constraint) else [item])
    return out


def foreign_keys(statement: Statement) -> list[ForeignKey]:
    node = statement.node
    table = _table_of(node) if node is not None else None
    if table is None:
        return []
    found = []
    for item in _elements(node):
        if isinstance(item, exp.ColumnDef):
            for constraint in item.args.get("constraints") or []:
                if isinstance(constraint.args.get("kind"), exp.Reference):
                    found.append((table, (_ident(item.this),),
                                  _reference_table(constraint.args["kind"])))
        elif isinstance(item, exp.ForeignKey):
            columns = tuple(_ident(c) for c in item.expressions)
            found.append((table, columns, _reference_table(item.args.get("reference"))))
    return found


def indexes(statement: Statement) -> list[tuple[str, tuple[str, ...]]]:
    """(table, leading plain columns) of indexes a statement creates, incl. PK/UNIQUE."""
    node = statement.node
    if isinstance(node, exp.Create) and str(node.kind).upper() == "INDEX" and \
            isinstance(node.this, exp.Index):
        table = node.this.args.get("table")
        params = node.this.args.get("params")
        if table is None or params is None:
            return []
        columns = []
        for column in params.args.get("columns") or []:
            column = column.this if isinstance(column, exp.Ordered) else column
            if not isinstance(column, exp.Column):
                break  # an expression: only the columns before it lead the index
            columns.append(_ident(column))
        return [(relation_name(table), tuple(columns))]
    table = _table_of(node) if node is not None else None
    if table is None:
        return []
    found = []
    for item in _elements(node):
        if isinstance(item, exp.ColumnDef):
            for constraint in item.args.get("constraints") or []:
                if isinstance(constraint.args.get("kind"), (exp.PrimaryKeyColumnConstraint,
                                                            exp.UniqueColumnConstraint)):
                    found.append((table, (_ident(item.this),)))
        elif isinstance(item, exp.PrimaryKey):
            found.append((table, tuple(_ident(c) for c in item.expressions)))
        elif isinstance(item, exp.UniqueColumnConstraint) and isinstance(item.this,
                                                                         exp.Schema):
            found.append((table, tuple(_ident(c) for c in item.this.expressions)))
    return found


def _covers(columns: tuple[str, ...], fk: tuple[str, ...]) -> bool:
    return len(columns) >= len(fk) and set(columns[:len(fk)]) == set(fk)


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    fks = foreign_keys(statement)
    if not fks:
        return
    created_here = isinstance(statement.node, exp.Create)
    known = [ix for s in ctx.statements for ix in indexes(s)]
    for table, columns, referenced in fks:
        if any(same_relation(t, table) and _covers(c, columns) for t, c in known):
            continue
        new_table = created_here or ctx.created_before(table)
        if not new_table:
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
    if ctx.before is None:
        return None
    schema, _, name = table.rpartition(".")
    relation = ctx.before.find_relation(name, schema or None)
    if relation is None:
        return None
    return [tuple(ix.columns) for ix in relation.indexes]


RULE = Rule(
    code="DBS117",
    name="foreign-key-without-index",
    severity=Severity.WARNING,
    since="0.1.0",
    doc=__doc__,
    check=check,
)

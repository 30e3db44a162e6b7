"""Column type changed while a view or materialized view uses the column: PostgreSQL refuses it.

## Why
PostgreSQL cannot change the type of a column a view depends on, not even `varchar(10)` to
`varchar(20)`: the statement fails (`cannot alter type of a column used by a view or
rule`) and the migration stops there, on deploy, although it passed on a database without
the view (verified on PostgreSQL 18).

## Bad
```sql
-- the database has CREATE VIEW open_orders AS SELECT id, status FROM orders ...
ALTER TABLE orders ALTER COLUMN status TYPE varchar(20);
```

## Good
```sql
DROP VIEW open_orders;
ALTER TABLE orders ALTER COLUMN status TYPE varchar(20);
CREATE VIEW open_orders AS SELECT id, status FROM orders WHERE status = 'open';
```

## In Alembic
The same three statements in one revision (`op.execute`), so the view is back when it
commits.

## Not flagged
* Views dropped earlier in the same migration, and views that do not name the column.
* Without the database's schema (`--database-url`): dbsafe cannot see its views.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement, last, parse_statements, strings, walk

# Its findings need the database's schema (its views): no SQL alone triggers it (see
# tests/lint/test_rewrites_pg.py).
DATABASE_ONLY = True


def _uses(definition: str, table: str, column: str) -> bool:
    """Does a view's definition (pg_get_viewdef) read `table.column`?"""
    parsed = parse_statements(definition)
    if not parsed or not isinstance(parsed[0], tuple):
        return False
    tree = parsed[0][1]
    names: dict[str, str] = {}  # how the view calls each relation -> the relation
    for kind, fields in walk(tree):
        if kind == "RangeVar" and fields.get("relname"):
            alias = (fields.get("alias") or {}).get("aliasname") or fields["relname"]
            names[alias] = fields["relname"]
    if last(table) not in names.values():
        return False
    only_it = set(names.values()) == {last(table)}
    for kind, fields in walk(tree):
        if kind != "ColumnRef":
            continue
        parts = strings(fields.get("fields"))
        if parts[-1:] != (column,):
            continue
        if len(parts) == 1 and only_it:
            return True
        if len(parts) >= 2 and names.get(parts[-2]) == last(table):
            return True
    return False


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if statement.kind != "AlterTableStmt" or not statement.relation or ctx.before is None:
        return
    table = statement.relation
    if ctx.created_before(table):
        return
    dropped = {last(name) for earlier in ctx.earlier(statement) if earlier.kind == "DropStmt"
               and earlier.object_kind in ("view", "materialized view")
               for name in earlier.dropped}
    for action in statement.actions:
        if action.subtype != "AlterColumnType" or not action.name:
            continue
        views = [v.name for v in ctx.before.relations
                 if v.kind in ("view", "materialized_view") and v.definition
                 and v.name not in dropped and _uses(v.definition, table, action.name)]
        if views:
            yield ctx.finding(
                RULE,
                f"`{table}.{action.name}` cannot change type while view "
                f"{', '.join(f'`{v}`' for v in views)} uses it: PostgreSQL refuses the "
                "statement and the migration stops there.",
                help="Drop the view before the change and create it again after, in the same "
                     "migration.",
                subject=f"{table}.{action.name}")


RULE = Rule(
    code="DBS128",
    name="column-type-change-blocked-by-view",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"AlterTableStmt"}),
)

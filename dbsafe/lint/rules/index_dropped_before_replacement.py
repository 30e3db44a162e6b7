"""An index is dropped before the index that replaces it is built.

## Why
Once the `DROP INDEX` commits -- `DROP INDEX CONCURRENTLY`, or a statement the runner
commits on its own -- every query that used the old index runs without one until the new
index on the same leading column is built: on a big table, sequential scans for as long as
the build takes (minutes), the load they bring, and timeouts. Build the replacement first,
then drop the old index. (strong_migrations' most requested check, its PR #92.)

## Bad
```sql
CREATE INDEX ix_orders_customer ON orders (customer_id);  -- (an earlier migration's)

DROP INDEX CONCURRENTLY ix_orders_customer;
CREATE INDEX CONCURRENTLY ix_orders_customer_created ON orders (customer_id, created_at);
```

## Good
```sql
CREATE INDEX ix_orders_customer ON orders (customer_id);  -- (an earlier migration's)

CREATE INDEX CONCURRENTLY ix_orders_customer_created ON orders (customer_id, created_at);
DROP INDEX CONCURRENTLY ix_orders_customer;
```

## In Alembic
Call `op.create_index(...)` for the new index before `op.drop_index(...)` for the old one
(both with `postgresql_concurrently=True` in an `autocommit_block()`).

## Not flagged
A new index whose first key is another column or expression than the dropped one's (the
keys are compared as PostgreSQL's grammar reads them: `((customer_id))` is `customer_id`,
`lower(email)` matches `LOWER(email)`). A drop and a build in one transaction: nobody sees
the table without its index, they wait for the whole build behind the DROP's ACCESS
EXCLUSIVE lock instead, which DBS103 flags. Indexes of tables created earlier in the same
migration. An index whose definition dbsafe does not know (not built by the migrations
linted, and no database schema given). With `--database-url`, on a small table it is a
warning, on a table the database does not have yet a note (as other lock rules are weighed).

How it was judged: on PostgreSQL 18, a 20 000-row table whose `customer_id` index was
dropped concurrently: `EXPLAIN` of a lookup by `customer_id` from another session is a
sequential scan until the new index is built, an index scan after.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Node, Statement, index_column, last, parse_statements

_ENDS = frozenset({"commit", "rollback", "prepare"})


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if statement.kind != "DropStmt" or statement.object_kind != "index":
        return
    for name in statement.dropped:
        table = ctx.index_table(name)
        if table is None or ctx.created_before(table):
            continue
        first = _first_key_before(name, statement, ctx)
        if first is None:
            continue  # its definition is unknown: nothing to compare the new one with
        later = ctx.statements[statement.index + 1:]
        for i, built in enumerate(later):
            new = built.index_def
            if new is None or built.kind != "IndexStmt" or last(new.table) != last(table) \
                    or new.only or not _same_key(_first_key(built.node), first):
                continue
            if not _seen_without_index(statement, later[:i]):
                break
            yield ctx.finding(
                RULE,
                f"Index `{name}` is dropped before `{new.name or 'the new index'}` on the same "
                f"leading key of `{table}` is built: queries that used it scan the table "
                "until the build ends.",
                help="Build the new index first, then drop the old one.",
                subject=name,
                table=table,
            )
            break


def _seen_without_index(drop: Statement, between: Sequence[Statement]) -> bool:
    """Do other sessions see the table without the index before the build ends: the drop
    commits on its own (CONCURRENTLY, or outside a transaction block), or its transaction
    ends before the build?"""
    if drop.node.get("concurrent") or not drop.in_transaction:
        return True
    return any(s.transaction in _ENDS for s in between if s.origin is None)


def _first_key_before(name: str, drop: Statement, ctx: LintContext) -> Node | None:
    """The first key (an `IndexElem`) of index `name` as it stands before `drop`: built
    earlier in this migration, by an earlier migration (plain columns only are kept), or in
    the database's schema."""
    for s in reversed(ctx.statements[:drop.index]):
        if s.kind == "IndexStmt" and s.index_def is not None and s.index_def.name \
                and last(s.index_def.name) == last(name):
            return _first_key(s.node)
    definition = ctx.before_index_definition(name)
    if definition is not None:
        parsed = parse_statements(definition)
        if parsed and isinstance(parsed[0], tuple):
            return _first_key(parsed[0][1])
    columns = ctx.history.index_columns.get(last(name))
    return {"name": columns[0]} if columns else None


def _first_key(node: Node) -> Node | None:
    params = node.get("indexParams") or ()
    return params[0].get("IndexElem", params[0]) if params else None


def _same_key(a: Node | None, b: Node) -> bool:
    """Do two index keys index the same column or expression? (Opclass, order and
    collation aside: a lookup by the column can use either.)"""
    if a is None:
        return False
    column = index_column(a)
    if column is not None or index_column(b) is not None:
        return column == index_column(b)
    return _without_locations(a.get("expr")) == _without_locations(b.get("expr"))


def _without_locations(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_locations(v) for k, v in node.items() if k != "location"}
    if isinstance(node, list):
        return [_without_locations(v) for v in node]
    return node


RULE = Rule(
    code="DBS137",
    name="index-dropped-before-replacement",
    severity=Severity.ERROR,
    since="0.2.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"DropStmt"}),
    weighed_by="size",
)

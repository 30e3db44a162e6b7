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
linted, and no database schema given). Another index of the table leading with the same
column that stays until the build (a primary key on `id` when an `(id, project_id)` index is
dropped): lookups use it meanwhile. A primary key or unique constraint on the column added
by the statement right after the drop (`ALTER TABLE ... ADD PRIMARY KEY`): queries wait for
its ACCESS EXCLUSIVE lock rather than scan. With `--database-url`, on a small table it is a
warning, on a table the database does not have yet a note (as other lock rules are weighed).

Not followed yet: a drop in one migration and the build of its replacement in a later one
of the same run (a SQL folder's pending files, alembic revisions applied together), though
the table has no index in between there too. The rule compares the statements of one
migration; the history lint carries from file to file keeps which indexes were dropped
(`indexes_dropped`) but not what they indexed, and without `--database-url` every file is
linted, most of them deployed long apart, so which files run together is known only for the
pending ones of a database. Until then, keep the drop in the file that builds the
replacement, after the build.

How it was judged: on PostgreSQL 18, a 20 000-row table whose `customer_id` index was
dropped concurrently: `EXPLAIN` of a lookup by `customer_id` from another session is a
sequential scan until the new index is built, an index scan after. With a primary key on
`id` left, the lookup after an `(id, project_id)` index is dropped is an index scan on the
primary key; during an `ALTER TABLE ... ADD PRIMARY KEY` right after the drop, a reader
waits (55P03 at its `lock_timeout`), and uses the new key after.
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
        found = _replacement(later, table, first)
        if found is None:
            continue
        i, new_name, waits = found
        between = later[:i]
        if waits and not any(s.origin is None and s.kind for s in between):
            continue  # built right after, under ACCESS EXCLUSIVE: queries wait, none scans
        if not _seen_without_index(statement, between) or \
                _another_index_serves(first, table, statement, between, ctx):
            continue
        yield ctx.finding(
            RULE,
            f"Index `{name}` is dropped before {new_name} on the same "
            f"leading key of `{table}` is built: queries that used it scan the table "
            "until the build ends.",
            help="Build the new index first, then drop the old one.",
            subject=name,
            table=table,
        )


def _replacement(later: Sequence[Statement], table: str,
                 first: Node) -> tuple[int, str, bool] | None:
    """The first statement of `later` that builds an index of `table` on the same leading
    key `first`: (its place, the index as the finding names it, whether it is built under
    ACCESS EXCLUSIVE: `ALTER TABLE ... ADD PRIMARY KEY/UNIQUE`, which queries wait for
    instead of scanning)."""
    column = index_column(first)
    for i, built in enumerate(later):
        new = built.index_def
        if new is not None and built.kind == "IndexStmt" and last(new.table) == last(table) \
                and not new.only and _same_key(_first_key(built.node), first):
            return i, f"`{new.name}`" if new.name else "the new index", False
        if built.kind == "AlterTableStmt" and column is not None and built.relation \
                and last(built.relation) == last(table):
            for con in built.constraints:
                if con.kind in ("primary", "unique") and con.columns[:1] == (column,) \
                        and con.using_index is None:
                    kind = "primary key" if con.kind == "primary" else "unique constraint"
                    return i, f"`{con.name}`" if con.name else f"the {kind}", True
    return None


def _seen_without_index(drop: Statement, between: Sequence[Statement]) -> bool:
    """Do other sessions see the table without the index before the build ends: the drop
    commits on its own (CONCURRENTLY, or outside a transaction block), or its transaction
    ends before the build?"""
    if drop.node.get("concurrent") or not drop.in_transaction:
        return True
    return any(s.transaction in _ENDS for s in between if s.origin is None)


def _another_index_serves(first: Node, table: str, drop: Statement,
                          between: Sequence[Statement], ctx: LintContext) -> bool:
    """Does an index of `table` that stays through the window (not this statement's, nor
    one dropped before the build) lead with the same column, `first`? Lookups by it use
    that one meanwhile (a primary key on `id` when an `(id, project_id)` index is dropped):
    no sequential scan. (A partial index no lookup implies serves none.)"""
    column = index_column(first)
    if column is None:
        return False
    known = ctx.index_lookups_of(table)
    # (a table whose every index is unknown: those the migrations built on it still stay)
    remaining = list(known if known is not None else
                     ctx.history.indexes_added.get(last(table), []))
    dropped = [*drop.dropped, *(name for s in between if s.origin is None
                                and s.kind == "DropStmt" and s.object_kind == "index"
                                for name in s.dropped)]
    for name in dropped:
        lookup = ctx.index_lookup(name)
        if lookup is not None and lookup in remaining:
            remaining.remove(lookup)  # this one; another on the same columns stays
    return any(lookup.serves((column,)) for lookup in remaining)


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

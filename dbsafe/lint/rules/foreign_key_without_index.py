"""Foreign key whose referencing columns no index starts with.

## Why
PostgreSQL indexes the referenced side of a foreign key (it must be unique) but not the
referencing side. Every `DELETE` of a referenced row, and every update of its key, then
looks for referencing rows with a sequential scan of the referencing table — slow deletes,
and long-held row locks on both tables. Joins along the key suffer too. Dropping the last
index that starts with a key's columns (`DROP INDEX`, `DROP CONSTRAINT` of a unique
constraint or primary key, or `DROP COLUMN` of another column of that index: PostgreSQL
drops every index holding the column, `UNIQUE (rule_id, repo_id)` with `repo_id`) does the
same to a key that had one.

Only an index the key's lookup (`WHERE order_id = $1`) can use counts: not a partial index
(`WHERE deleted_at IS NULL`: the lookup does not imply it, so the planner cannot use it),
and not one whose first key is an expression (`(lower(code))`). Both were held against
PostgreSQL 18: each delete of a referenced row still scans the table.

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
  or — when dbsafe knows the database before the migrations — an existing valid index. A
  partial one counts when its `WHERE` says no more than that columns of the key are `NOT
  NULL` (the key's lookup implies that): `(tenant_id, parent_id) WHERE parent_id IS NOT
  NULL` serves a key of `(tenant_id, parent_id)`, but svix's `(app_id, uid) WHERE uid IS
  NOT NULL` serves no key of `app_id` alone (deleting an application scans `endpoint`), nor
  does a `WHERE` on a column after the key or outside the index. A parenthesised column
  (`((order_id))`) is a column.
* A foreign key on an existing table when dbsafe does not know the table's indexes: the
  table was not created by an earlier migration of the history (as a plain `CREATE TABLE`:
  a partition or `LIKE` copy gets indexes it does not show) and no database or snapshot
  was given. It cannot tell, and stays silent rather than guess.
* A dropped index when another index still starts with the key's columns, one is built
  later in the migration (or by the same ALTER TABLE: `DROP CONSTRAINT x_key, ADD PRIMARY
  KEY (...)`), or the migration drops the key, one of its columns or its table
  too; an index whose table or columns dbsafe does not know; a partial or expression
  index the key's lookups could not use anyway (the key was flagged where it was added).
* A key whose table and columns the migration, or an earlier one, hands as strings to SQL
  dbsafe cannot read (DBS120): a `DO` block building SQL, or a function that does. ovh/cds
  indexes its keys with `SELECT create_foreign_key_idx_cascade('FK_X',
  'workflow_node_context', 'application', 'application_id', 'id')`, whose body builds
  `CREATE INDEX ... (application_id)`: a later key on `workflow_node_context
  (application_id)` was flagged though that index was there. A key on other columns of the
  table is still flagged.
* Anything in an alembic revision that failed on the throwaway server when what it would
  run after the failure could not be rendered offline either (it reads the database): the
  index covering a key may be built in the part that never ran (lemur's `412b22cb656a`
  indexes `roles_authorities` right after creating it). The revision is reported as
  DBS005.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import ForeignKey as ForeignKeyFacts
from dbsafe.lint.statement import Lookup, Statement, last, same_relation

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


def indexes(statement: Statement) -> list[tuple[str, Lookup]]:
    """(table, what a key's lookup can use it for) of indexes a statement creates, incl.
    PK/UNIQUE: a partial index only where its WHERE says no more than that columns a lookup
    names are not null (`IndexDef.lookup`)."""
    if statement.index_def is not None:
        if not statement.index_def.lookup.columns:
            return []
        return [(statement.index_def.table, statement.index_def.lookup)]
    if statement.kind not in ("CreateStmt", "AlterTableStmt") or not statement.relation:
        return []
    table = statement.relation
    found: list[tuple[str, Lookup]] = [
        (table, Lookup((column.name,))) for column in statement.columns
        if column.has("primary") or column.has("unique")]
    found += [(table, Lookup(con.columns)) for con in statement.constraints
              if con.kind in ("primary", "unique") and con.columns]
    return found


def _built_here(ctx: LintContext) -> dict[str, list[tuple[str, Lookup]]]:
    """(table, `Lookup`) of every index the migration builds, wherever it does, by
    the table's unqualified name: each foreign key looks at its own table's, not at all of
    them (a `diff --sql` script of 2,000 foreign keys and as many indexes took 4 million
    comparisons)."""
    known = ctx.cache.get("DBS117.indexes")
    if known is None:
        known = ctx.cache["DBS117.indexes"] = {}
        for s in ctx.statements:
            for table, lookup in [*indexes(s), *ctx.unread_indexes(s)]:
                known.setdefault(last(table), []).append((table, lookup))
    return known


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if ctx.migration.cut_short:
        return  # the index that covers a key may come in what it did not run
    yield from _check_dropped_indexes(statement, ctx)
    fks = foreign_keys(statement)
    if not fks:
        return
    known = _built_here(ctx)
    created_here = statement.kind == "CreateStmt"
    for table, columns, referenced in fks:
        if any(same_relation(t, table) and lookup.serves(columns)
               for t, lookup in known.get(last(table), ())):
            continue
        if not (created_here or ctx.created_before(table)):
            existing = ctx.index_lookups_of(table)
            if existing is None or any(lookup.serves(columns) for lookup in existing):
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


def _indexes_dropped(statement: Statement,
                     ctx: LintContext) -> Iterator[tuple[str, str, Lookup]]:
    """(index, table, what a key's lookup can use it for) of each index the statement drops
    that a foreign key's lookups could use, where known: DROP INDEX, and the index of a
    primary key or unique constraint ALTER TABLE drops. (A partial index the lookups cannot
    use, or one whose first key is an expression, served no key: dropping it changes
    nothing.)"""
    if statement.kind == "DropStmt" and statement.object_kind == "index":
        for index in statement.dropped:
            table, lookup = ctx.index_table(index), ctx.index_lookup(index)
            if table is not None and lookup is not None and lookup.columns:
                yield last(index), table, lookup
    elif statement.kind == "AlterTableStmt" and statement.relation:
        keys = None
        for action in statement.actions:
            if action.subtype == "DropConstraint" and action.name:
                keys = ctx.unique_keys(statement.relation) if keys is None else keys
                if action.name in keys:
                    yield action.name, statement.relation, Lookup(keys[action.name][1])


def _indexes_dropped_with_columns(statement: Statement,
                                  ctx: LintContext) -> Iterator[tuple[str, str, Lookup]]:
    """(column, table, what a key's lookup can use the index for) of each index an ALTER
    TABLE ... DROP COLUMN drops with its column: PostgreSQL drops every index that has the
    column, a multi-column one included (minder's 000113 drops `repository_id`, and with it
    `UNIQUE (rule_id, repository_id)`, the last index a key of `rule_id` used: PostgreSQL
    18's `pg_index` has none left). Only the columns a lookup reads are known of an index
    here: one that holds the column after an expression is not counted as dropped."""
    if statement.kind != "AlterTableStmt" or not statement.relation:
        return
    dropped = {a.name for a in statement.actions if a.subtype == "DropColumn" and a.name}
    if not dropped:
        return
    for lookup in ctx.index_lookups_of(statement.relation) or ():
        gone = [column for column in lookup.columns if column in dropped]
        if gone:
            yield gone[0], statement.relation, lookup


def _check_dropped_indexes(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    """Indexes dropped that were the last ones a foreign key of their table rested on (and
    the key stays: the migration drops neither it, its columns nor its table)."""
    # table -> (the index's name, or None for one dropped with its column: that column,
    # what a key's lookup can use it for)
    by_table: dict[str, list[tuple[str | None, str | None, Lookup]]] = {}
    for index, table, lookup in _indexes_dropped(statement, ctx):
        by_table.setdefault(table, []).append((index, None, lookup))
    for column, table, lookup in _indexes_dropped_with_columns(statement, ctx):
        by_table.setdefault(table, []).append((None, column, lookup))
    for table, dropped in by_table.items():
        existing = ctx.index_lookups_of(table)
        if existing is None:
            continue
        remaining = list(existing)
        for _, _, lookup in dropped:
            if lookup in remaining:
                remaining.remove(lookup)  # this one; another on the same columns stays
        # (earlier ones are in `existing`; the statement's own too: `DROP CONSTRAINT x_key,
        # ADD PRIMARY KEY (...)` builds the new index in the same ALTER TABLE)
        remaining += [lookup for later in [statement, *ctx.later(statement)]
                      for t, lookup in indexes(later) if same_relation(t, table)]
        for fk in ctx.foreign_keys(table):
            covering = [(index, column, lookup) for index, column, lookup in dropped
                        if lookup.serves(fk.columns)]
            if not fk.enforced or not covering or \
                    any(lookup.serves(fk.columns) for lookup in remaining) or \
                    _key_dropped(fk, statement, ctx):
                continue
            shown, referenced = ", ".join(fk.columns), last(fk.references)
            what = _dropped_indexes_named(covering)
            yield ctx.finding(
                RULE,
                f"{what} starting with the columns of foreign key `{last(table)}` ({shown}) "
                f"→ `{referenced}`; "
                f"once dropped, each delete or key update on `{referenced}` scans "
                f"`{last(table)}`.",
                help=f"Keep an index on `{last(table)}` ({shown}), or drop the foreign key in "
                     "the same migration.",
                subject=f"{last(table)}.{fk.columns[0]}" if len(fk.columns) == 1
                else last(table),
            )


def _dropped_indexes_named(covering: list[tuple[str | None, str | None, Lookup]]) -> str:
    """"Index `ix` is the last one", "Index on (a, b), dropped with column `b`, is the last
    one", "Indexes ... are the last ones"."""
    named = [f"`{index}`" for index, _, _ in covering if index is not None]
    with_columns = [(column, lookup) for index, column, lookup in covering if index is None]
    parts = [", ".join(named)] if named else []
    if with_columns:
        columns = list(dict.fromkeys(column for column, _ in with_columns))
        parts.append("on " + ", ".join(f"({', '.join(lookup.columns)})"
                                       for _, lookup in with_columns)
                     + f", dropped with column{'s' if len(columns) > 1 else ''} "
                     + ", ".join(f"`{column}`" for column in columns) + ",")
    if len(covering) == 1:
        return f"Index {parts[0]} is the last one"
    return f"Indexes {' and '.join(parts)} are the last ones"


def _key_dropped(fk: ForeignKeyFacts, at: Statement, ctx: LintContext) -> bool:
    """Does this statement or a later one of the migration drop the key, one of its
    columns or its table?"""
    for statement in [at, *ctx.later(at)]:
        if statement.kind == "DropStmt" and statement.object_kind == "table" and \
                any(same_relation(name, fk.table) for name in statement.dropped):
            return True
        if statement.kind == "AlterTableStmt" and statement.relation and \
                same_relation(statement.relation, fk.table):
            for action in statement.actions:
                if (action.subtype == "DropConstraint" and action.name == fk.name) or \
                        (action.subtype == "DropColumn" and action.name in fk.columns):
                    return True
    return False


RULE = Rule(
    code="DBS117",
    name="foreign-key-without-index",
    severity=Severity.WARNING,
    since="0.1.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"CreateStmt", "AlterTableStmt", "DropStmt"}),
)

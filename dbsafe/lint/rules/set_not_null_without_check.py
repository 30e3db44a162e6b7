"""`SET NOT NULL` on an existing column without a validated `CHECK (col IS NOT NULL)`, or a primary key that sets it.

## Why
`ALTER COLUMN ... SET NOT NULL` holds an ACCESS EXCLUSIVE lock while PostgreSQL reads every
row to prove there is no NULL: nothing can read or write the table meanwhile. Since
PostgreSQL 12 the scan is skipped when a *validated* `CHECK (col IS NOT NULL)` constraint
already proves it (verified on PostgreSQL 18: a NOT VALID check, or one like
`CHECK (col IS NOT NULL AND col > 0)`, does not skip it). Add that check `NOT VALID`,
validate it (SHARE UPDATE EXCLUSIVE: reads and writes continue), then set NOT NULL.

`ADD PRIMARY KEY USING INDEX` sets the index's columns NOT NULL the same way: the unique
index built `CONCURRENTLY` spares the build, not this scan (verified on PostgreSQL 18 with
`pg_stat_get_xact_numscans`), unless the columns are already NOT NULL or proven so.

An `UPDATE` filling the column's NULLs (or a `DELETE` of the rows where it `IS NULL`)
earlier in the same transaction takes only ROW EXCLUSIVE: other sessions go on writing,
and a NULL one writes before the ALTER makes it fail (23502, verified on PostgreSQL 18 with
a concurrent insert). The finding names that statement, unless the transaction locked the
table against writes before it (`TRUNCATE`, `LOCK TABLE` in SHARE mode or stronger, an
`ALTER TABLE`, a `CREATE INDEX`): the insert then waits until COMMIT.

## Bad
```sql
ALTER TABLE orders ALTER COLUMN customer_id SET NOT NULL;
```

## Good
```sql
ALTER TABLE orders ADD CONSTRAINT ck_orders_customer_nn
    CHECK (customer_id IS NOT NULL) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT ck_orders_customer_nn;
ALTER TABLE orders ALTER COLUMN customer_id SET NOT NULL;
ALTER TABLE orders DROP CONSTRAINT ck_orders_customer_nn;
```

## In Alembic
```python
op.create_check_constraint("ck_orders_customer_nn", "orders",
                           "customer_id IS NOT NULL", postgresql_not_valid=True)
op.execute("ALTER TABLE orders VALIDATE CONSTRAINT ck_orders_customer_nn")
op.alter_column("orders", "customer_id", nullable=False)
op.drop_constraint("ck_orders_customer_nn", "orders", type_="check")
```

## Not flagged
A table the same transaction emptied with `TRUNCATE` (of it, not `ONLY` a parent) earlier,
with nothing since that may add rows (an `INSERT`, `MERGE`, `COPY FROM`, a procedure, a DO
block) nor a `ROLLBACK TO SAVEPOINT`: the scan reads the new, empty file TRUNCATE gave the
table, zero rows, under the ACCESS EXCLUSIVE lock TRUNCATE already holds until COMMIT
(PostgreSQL 18: `pg_stat_get_xact_tuples_returned` 0 where it is 100000 without the
TRUNCATE; a `DELETE` of every row leaves the dead rows, which the scan still reads: flagged).
Columns already NOT NULL, and for `ADD PRIMARY KEY USING INDEX`, columns dbsafe does not know
to be nullable (from the database's schema or an earlier statement); tables created earlier in the same migration; columns whose `CHECK (col IS NOT NULL)` was
validated earlier in the migration (or an earlier one, also when written in its `CREATE
TABLE`, where every CHECK is valid), or is validated in the known schema before it, or is
`NOT VALID` there and validated by the migrations, also under a new name of the check, its
column or its table (PostgreSQL 12+ only). On PostgreSQL 18, `ADD CONSTRAINT ... NOT NULL col NOT VALID` followed
by `VALIDATE CONSTRAINT` is also recognised, in the same migration or a later one, and for
such a constraint of the database's schema (measured on PostgreSQL 18 with `pg_locks` and
`pg_stat_get_xact_numscans`: the `ADD ... NOT VALID` takes ACCESS EXCLUSIVE for a moment
and scans nothing, the `VALIDATE` scans under SHARE UPDATE EXCLUSIVE, the `SET NOT NULL`
after it scans nothing). Still flagged: `SET NOT NULL` on a column whose NOT NULL
constraint is NOT VALID and not validated yet, although PostgreSQL counts the column NOT
NULL (`attnotnull`): it validates the constraint by a scan under ACCESS EXCLUSIVE. The
syntax is PostgreSQL 18's: DBS124 reports it for an older `target-version`.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement, same_relation, strings
from dbsafe.lint.transactions import back_in_transaction, truncated_first, writes_kept_out


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if statement.kind != "AlterTableStmt" or not statement.relation:
        return
    table = statement.relation
    if ctx.created_before(table):
        return
    for action in statement.actions:
        if action.subtype == "SetNotNull" and action.name:
            columns: tuple[str, ...] = (action.name,)
            how = "is set NOT NULL"
        elif action.subtype == "AddConstraint" and action.constraint is not None and \
                action.constraint.kind == "primary" and action.constraint.using_index:
            columns = ctx.index_columns(action.constraint.using_index) or ()
            how = f"is set NOT NULL by the primary key on `{action.constraint.using_index}`"
        else:
            continue
        for column in columns:
            if action.subtype == "AddConstraint":
                known = ctx.column(table, column)
                if known is None or known.not_null is None:
                    # Columns under a unique index meant for a key are NOT NULL as a rule:
                    # only one known to be nullable is reported.
                    continue
            yield from _scan(statement, ctx, table, column, how)


def _scan(statement: Statement, ctx: LintContext, table: str, column: str,
          how: str) -> Iterator[Finding]:
    known = ctx.column(table, column)
    if known is not None and known.not_null:
        return  # already NOT NULL (a primary key member, added NOT NULL): no scan
    if ctx.target_version >= 120000 and ctx.proven_not_null(table, column):
        return
    if truncated_first(statement, ctx, table):
        return  # the scan reads the empty file the TRUNCATE gave the table, under its lock
    filled = _filled_first(statement, ctx, table, column)
    if ctx.target_version < 120000:
        help = ("Before PostgreSQL 12 the scan cannot be avoided; run it at a quiet time "
                "with a short lock_timeout, or keep a validated CHECK (col IS NOT NULL) "
                "instead.")
    else:
        then = "add the primary key" if "primary key" in how else "SET NOT NULL"
        help = (f"Add CHECK ({column} IS NOT NULL) NOT VALID, VALIDATE it, then {then} "
                "(the scan is skipped).")
    race = ""
    if filled is not None:
        verb = "fills" if filled.kind == "UpdateStmt" else "removes"
        what = f"{'UPDATE' if filled.kind == 'UpdateStmt' else 'DELETE'} on line " \
               f"{filled.location.line}"
        race = (f" The {what} {verb} its NULLs first, but its lock lets other sessions write "
                "rows until this ALTER, and a NULL written in between makes it fail (23502).")
        help += (f" Take `LOCK TABLE {table} IN EXCLUSIVE MODE` before the {what}: it keeps "
                 "other sessions' writes out until COMMIT.")
    yield ctx.finding(
        RULE,
        f"Column `{table}.{column}` {how}; reads and writes on `{table}` wait "
        f"while every row is checked for NULLs.{race}",
        help=help,
        subject=f"{table}.{column}",
    )


def _filled_first(statement: Statement, ctx: LintContext, table: str,
                  column: str) -> Statement | None:
    """The statement earlier in this transaction that left `column` without a NULL — an
    UPDATE setting it, a DELETE of `table`'s rows where it IS NULL, or of every row — when
    nothing locked `table` against other sessions' writes before it: they may write a NULL
    until the ALTER, which then fails (23502). None when there is none, or when the
    transaction kept writes out (TRUNCATE, LOCK TABLE, an ALTER TABLE: `writes_kept_out`)
    or may have."""
    if not statement.in_transaction:
        return None
    earlier = ctx.statements[:statement.index]
    for i, s in back_in_transaction(earlier):
        if s.deferred or not same_relation(s.relation, table):
            continue
        if s.kind == "UpdateStmt" and any(
                item.get("ResTarget", {}).get("name") == column
                for item in s.node.get("targetList") or ()):
            pass
        elif s.kind != "DeleteStmt" or (s.node.get("whereClause") is not None
                                        and not _tests_null(s.node["whereClause"], column)):
            continue
        return s if writes_kept_out(earlier[:i], table) is False else None
    return None


def _tests_null(node: object, column: str) -> bool:
    """Does a WHERE clause test `column IS NULL`?"""
    if isinstance(node, dict):
        test = node.get("NullTest")
        if test is not None and test.get("nulltesttype") == "IS_NULL" and \
                strings((test.get("arg") or {}).get("ColumnRef", {}).get("fields"))[-1:] \
                == (column,):
            return True
        return any(_tests_null(value, column) for value in node.values())
    if isinstance(node, list):
        return any(_tests_null(item, column) for item in node)
    return False


RULE = Rule(
    code="DBS107",
    name="set-not-null-without-check",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    claim="lock",
    kinds=frozenset({"AlterTableStmt"}),
    weighed_by="size",
)

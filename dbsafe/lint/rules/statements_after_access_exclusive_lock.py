"""More work done in a transaction after it took an ACCESS EXCLUSIVE lock on an existing table.

## Why
A lock is held until the transaction ends. Once a statement has taken an ACCESS EXCLUSIVE
lock on a table, nobody can read or write that table until COMMIT, so every statement that
follows in the same transaction lengthens the outage: a data backfill, an index build, a
scan — or a lock on another table that has to wait behind someone else's query while the
first table stays locked.

## Bad
```sql
-- in transaction
ALTER TABLE orders ADD COLUMN archived boolean;
UPDATE customers SET tier = 'basic' WHERE tier IS NULL;
```

## Good
```sql
-- in transaction
ALTER TABLE orders ADD COLUMN archived boolean;
COMMIT;
BEGIN;
UPDATE customers SET tier = 'basic' WHERE tier IS NULL;
```

## In Alembic
Put the ACCESS EXCLUSIVE statement in a revision of its own (alembic runs each revision in
its own transaction with `transaction_per_migration=True`), or last in its revision, and
move backfills and index builds to other revisions.

## Not flagged
* Further quick catalog changes on the table that is already locked (another `ADD COLUMN`
  on `orders`): the lock is already held and they take milliseconds.
* Statements on tables created in this migration, `CREATE TABLE`, transaction control,
  `SET`/`RESET`, `COMMENT`, `GRANT`/`REVOKE`, and alembic's `alembic_version` bookkeeping.
* Statements outside a transaction block (each commits on its own).
* A statement during which PostgreSQL showed no ACCESS EXCLUSIVE lock on the table, when
  the revisions ran on a throwaway server (`pg_locks`).
* Anything after the first finding of a transaction: one finding per transaction, at the
  first statement that lengthens the outage. A table renamed in the transaction is followed
  under its new name.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.locks import ACCESS_EXCLUSIVE, Lock, locks_for
from dbsafe.lint.statement import Statement, last, same_relation

# Statements that take no lock worth waiting for, or only a moment's catalog work.
_CHEAP = frozenset({"CommentStmt", "GrantStmt", "GrantRoleStmt", "VariableSetStmt",
                    "TransactionStmt", "CreateStmt", "CreateEnumStmt", "CreateDomainStmt",
                    "CreateSeqStmt", "CreateFunctionStmt", "DoStmt"})
_DATA = frozenset({"InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt", "SelectStmt"})
_ENDS = ("commit", "rollback", "prepare")


def _table_of(lock: Lock, ctx: LintContext) -> str | None:
    """The table a lock is on (an index lock counts for its table, when known)."""
    if lock.target == "type" or lock.relation is None:
        return None
    if lock.target == "index":
        return ctx.index_table(lock.relation)
    return lock.relation


def _lengthens(statement: Statement, ctx: LintContext, locked: set[str]) -> Lock | None:
    """The lock that makes this statement slow or able to wait, if any."""
    if statement.kind in _CHEAP or (statement.kind == "SelectStmt" and
                                     not statement.node.get("fromClause")):
        return None
    for lock in locks_for(statement):
        if lock.relation is None:
            return lock  # whole-database maintenance
        if lock.target == "type" or last(lock.relation) == "alembic_version":
            continue
        table = _table_of(lock, ctx) or lock.relation
        if ctx.created_before(table, statement):
            continue
        if table in locked or last(table) in locked:
            if lock.rewrites or statement.kind in _DATA:
                return lock
            continue  # more quick catalog work on the table already locked
        return lock
    return None


def _denied(statement: Statement, table: str) -> bool:
    """Did PostgreSQL show, when the statement ran on a throwaway server, that `table` was
    not ACCESS EXCLUSIVE locked at that point?"""
    observed = statement.observed
    if observed is None:
        return False
    return not any(mode == "AccessExclusiveLock" and same_relation(name, table)
                   for name, mode, _kind in observed.held)


def check_migration(ctx: LintContext) -> Iterator[Finding]:
    """One finding per transaction: its first statement that lengthens the outage."""
    held: list[tuple[Statement, str]] = []  # (statement, table) ACCESS EXCLUSIVE locked
    reported = False
    for statement in ctx.statements:
        if statement.transaction == "begin" or not statement.in_transaction or \
                statement.transaction in _ENDS:
            held, reported = [], False
            continue
        if held and not reported and not statement.generated:
            locked = {table for _, table in held} | {last(table) for _, table in held}
            lock = _lengthens(statement, ctx, locked)
            if lock is not None and not _denied(statement, held[0][1]):
                reported = True
                first, table = held[0]
                what = f"`{lock.relation}`" if lock.relation else "every table"
                yield ctx.finding(
                    RULE,
                    f"This statement works on {what} while `{table}` is still ACCESS "
                    f"EXCLUSIVE locked from line {first.location.line}; reads and writes on "
                    f"`{table}` wait until COMMIT.",
                    help="Commit right after the ACCESS EXCLUSIVE statement, or move this "
                         "statement to its own migration.",
                    subject=lock.relation,
                    statement=statement,
                )
        for lock in locks_for(statement):
            taken = _table_of(lock, ctx) if lock.mode == ACCESS_EXCLUSIVE else None
            if taken and not ctx.created_before(taken, statement) and \
                    last(taken) != "alembic_version":
                held.append((statement, taken))
        rename = statement.rename
        if rename is not None and rename.relation and rename.object == rename.relation_kind:
            # Follow the table under its new name: later statements use that one.
            held = [(s, rename.new if last(t) == last(rename.relation) else t)
                    for s, t in held]


RULE = Rule(
    code="DBS114",
    name="statements-after-access-exclusive-lock",
    severity=Severity.WARNING,
    since="0.1.0",
    doc=__doc__,
    check_migration=check_migration,
)

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
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule, Statement
from dbsafe.lint.locks import ACCESS_EXCLUSIVE, Lock, locks_for, words_of

_CHEAP = (("COMMENT",), ("GRANT",), ("REVOKE",), ("SET",), ("RESET",), ("SELECT",))
_END = (("COMMIT",), ("END",), ("ROLLBACK",), ("ABORT",))


def _held_locks(statement: Statement, ctx: LintContext) -> list[tuple[Statement, Lock]]:
    """ACCESS EXCLUSIVE locks on existing tables taken earlier in this transaction."""
    held = []
    for earlier in reversed(ctx.earlier(statement)):
        words = words_of(earlier)
        if not earlier.in_transaction or words[:1] in _END:
            break
        for lock in locks_for(earlier):
            if lock.mode == ACCESS_EXCLUSIVE and lock.relation and lock.target != "type" \
                    and not ctx.created_before(lock.relation, earlier):
                held.append((earlier, lock))
        if words[:1] in (("BEGIN",), ("START",)):
            break
    held.reverse()
    return held


def _lengthens(statement: Statement, ctx: LintContext, locked: set[str]) -> Lock | None:
    """The lock that makes this statement slow or able to wait, if any."""
    words = words_of(statement)
    if words[:1] in _CHEAP and not statement.has_words("FROM"):
        return None
    for lock in locks_for(statement):
        if lock.relation is None:
            return lock  # whole-database maintenance
        if lock.target == "type" or lock.relation.rsplit(".", 1)[-1] == "alembic_version":
            continue
        if ctx.created_before(lock.relation, statement):
            continue
        relation = lock.relation
        if relation in locked or relation.rsplit(".", 1)[-1] in locked:
            if lock.rewrites or words[:1] in (("INSERT",), ("UPDATE",), ("DELETE",),
                                               ("MERGE",), ("SELECT",), ("WITH",)):
                return lock
            continue
        return lock
    return None


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if not statement.in_transaction or words_of(statement)[:1] in _END:
        return
    held = _held_locks(statement, ctx)
    if not held:
        return
    locked = {lock.relation for _, lock in held if lock.relation}
    locked |= {name.rsplit(".", 1)[-1] for name in locked}
    lock = _lengthens(statement, ctx, locked)
    if lock is None:
        return
    first, first_lock = held[0]
    table = first_lock.relation
    what = f"`{lock.relation}`" if lock.relation else "every table"
    yield ctx.finding(
        RULE,
        f"This statement works on {what} while `{table}` is still ACCESS EXCLUSIVE locked "
        f"from line {first.location.line}; reads and writes on `{table}` wait until COMMIT.",
        help="Commit right after the ACCESS EXCLUSIVE statement, or move this statement to "
             "its own migration.",
        subject=lock.relation,
    )


RULE = Rule(
    code="DBS114",
    name="statements-after-access-exclusive-lock",
    severity=Severity.WARNING,
    since="0.1.0",
    doc=__doc__,
    check=check,
)

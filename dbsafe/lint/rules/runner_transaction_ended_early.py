"""A migration's `COMMIT` or `ROLLBACK` ends the transaction its runner wraps it in.

## Why
Runners that wrap each file in a transaction (supabase, Flyway, sqlx, goose, dbmate,
refinery, alembic's revision) expect it to be theirs until they commit it with their history
row. A `BEGIN` inside is only a WARNING (`there is already a transaction in progress`), but
the `COMMIT` after it commits the runner's transaction: the statements after it run on their
own, each committed, so when one fails the migration is left half applied, not recorded as
run, and the runner's rollback does nothing (`WARNING: there is no transaction in
progress`); the retry then fails on what is already there. A `ROLLBACK` silently throws away
everything before it, and the runner records the migration as applied. squawk calls this
`transaction-nesting`. A `COMMIT AND CHAIN` commits the runner's transaction too and opens
the next, which the runner's own COMMIT or ROLLBACK then ends: a failure after it rolls back
only what came after it, and leaves what came before committed and the migration not
recorded.

## Bad
```sql
-- in transaction
BEGIN;
CREATE TABLE invoices (id bigint PRIMARY KEY);
COMMIT;
CREATE INDEX ix_invoices_id ON invoices (id);
```

## Good
```sql
-- in transaction
CREATE TABLE invoices (id bigint PRIMARY KEY);
CREATE INDEX ix_invoices_id ON invoices (id);
```

## In Alembic
`op.execute("COMMIT")` inside the revision's transaction commits alembic's: use
`with op.get_context().autocommit_block():` for what must run outside a transaction. A
`BEGIN` ... `COMMIT` of the revision's own inside `autocommit_block()` is not flagged: the
block's start committed alembic's transaction, so that COMMIT ends the revision's own one.
A `COMMIT` after the block ends the transaction alembic opens again when the block ends (to
commit with the version row), and the finding says so, naming the block's last statement.

## Not flagged
A `COMMIT` followed by `BEGIN`: the file splits itself into two transactions on purpose
(DBS114's advice), and the runner's `COMMIT` ends the second. A `BEGIN` ... `COMMIT` around the whole file (supabase's many migrations written so): the
runner's transaction ends with the file's last statement, and its history row is written
right after, as it would be. A `COMMIT` of a transaction the file opened itself, where no
runner wraps it. A file whose runner dbsafe does not know is linted as run statement by
statement (`lint` says so for its folder), so no transaction of a runner is assumed.

How it was judged: on PostgreSQL 18, a runner's `BEGIN`, then a file `BEGIN; CREATE TABLE
a1; COMMIT; CREATE TABLE a2; SELECT 1/0;`, then the runner's `ROLLBACK`: `a1` and `a2` both
stay, with the two WARNINGs above. With `COMMIT AND CHAIN` in place of the file's `COMMIT`,
`a1` stays and the tables after it are rolled back; a plain `COMMIT` after the chained one
leaves what follows it committed on its own.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if statement.transaction not in ("commit", "rollback") or statement.generated \
            or statement.origin or ctx.migration.cut_short:
        return
    opened, open_ = _runner_transaction(ctx, statement)
    if not open_:
        return
    later = ctx.statements[statement.index + 1:]
    after = list(_in_chained_transaction(later) if statement.chain else
                 _outside_any_transaction(later))
    if statement.transaction == "commit" and not after:
        # the file's end (the runner's history row follows, as it would anyway), or a
        # BEGIN right after: the file splits itself into two transactions on purpose
        # (DBS114's advice), the runner's COMMIT ending the second
        return
    if statement.transaction == "rollback":
        message = ("This ROLLBACK ends the transaction the runner wraps the migration in: "
                   "everything before it is thrown away, and the runner records the "
                   "migration as applied.")
    elif statement.chain:
        message = (f"This COMMIT AND CHAIN commits the transaction the runner wraps the "
                   f"migration in and opens another: a failure in the {len(after)} "
                   f"statement{'s' if len(after) > 1 else ''} after it rolls back only "
                   f"{'those' if len(after) > 1 else 'that one'}, leaving what came before "
                   "committed and the migration not recorded.")
    elif (block := _autocommit_block_before(ctx, opened)) is not None:
        # alembic opens a transaction again when `autocommit_block()` ends, and commits it
        # with the version row at the revision's end
        message = (f"This COMMIT ends the transaction alembic opens again after "
                   f"`autocommit_block()` (its last statement at line "
                   f"{block.location.line}), which it commits with the version row: the "
                   f"{len(after)} statement{'s' if len(after) > 1 else ''} after it "
                   f"run{'' if len(after) > 1 else 's'} outside it, so a failure there leaves "
                   "the revision half applied and not recorded.")
    else:
        message = (f"This COMMIT ends the transaction the runner wraps the migration in: the "
                   f"{len(after)} statement{'s' if len(after) > 1 else ''} after it "
                   f"run{'' if len(after) > 1 else 's'} outside it, so a failure there leaves the migration half applied and not recorded.")
    if ctx.migration.kind == "alembic":
        # (a raw COMMIT also leaves psycopg2 believing it is in a transaction: it sends no
        # BEGIN, and the revisions after it in the same upgrade run outside one)
        help = ("Run what must not be in a transaction in `with op.get_context()."
                "autocommit_block():`, and nothing else outside alembic's transaction.")
    else:
        help = ("Drop the file's own BEGIN/COMMIT/ROLLBACK, or tell the runner not to wrap "
                "the file in a transaction.")
    yield ctx.finding(RULE, message, help=help)


def _outside_any_transaction(later: Sequence[Statement]) -> Iterator[Statement]:
    """The statements of `later` (those after a COMMIT) that run before the file opens a
    transaction again: each on its own, committed as it ends."""
    for s in later:
        if s.origin is not None or s.generated:
            continue
        if s.transaction == "begin":
            return
        if s.kind and s.kind != "TransactionStmt":
            yield s


def _in_chained_transaction(later: Sequence[Statement]) -> Iterator[Statement]:
    """The statements of `later` (those after a COMMIT AND CHAIN) in the transaction it
    opens, up to the file's next end of one."""
    for s in later:
        if s.origin is not None or s.generated:
            continue
        if s.transaction in ("commit", "rollback", "prepare"):
            return
        if s.kind and s.kind != "TransactionStmt":
            yield s


def _runner_transaction(ctx: LintContext, statement: Statement
                        ) -> tuple[Statement | None, bool]:
    """(the BEGIN that opened it, None where the migration starts in it; whether the
    transaction open before `statement` is one the runner opened: it wraps the file, or it
    is alembic's generated BEGIN, rather than one the file opened itself)."""
    runner = ctx.migration.starts_in_transaction
    open_ = runner
    opened: Statement | None = None
    for s in ctx.statements[:statement.index]:
        if s.origin is not None:
            continue
        if s.transaction == "begin" and not open_:
            open_, runner, opened = True, s.generated, s
        elif s.transaction in ("commit", "rollback", "prepare") and not s.chain:
            open_ = runner = False  # (AND CHAIN: the next one opens at once, the runner's
            # COMMIT ends it)
    return opened, open_ and runner


def _autocommit_block_before(ctx: LintContext, begin: Statement | None) -> Statement | None:
    """The last statement of the alembic `autocommit_block()` whose end opened the
    transaction `begin` (alembic's generated BEGIN): the revision's statement right before
    it, run outside a transaction block; None where `begin` opened none after a block."""
    if begin is None or not begin.generated or ctx.migration.kind != "alembic":
        return None
    before = [s for s in ctx.statements[:begin.index] if s.origin is None and not s.generated]
    if before and not before[-1].in_transaction and before[-1].transaction is None:
        return before[-1]
    return None


RULE = Rule(
    code="DBS138",
    name="runner-transaction-ended-early",
    severity=Severity.ERROR,
    since="0.2.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"TransactionStmt"}),
)

"""A SQL migration opens a transaction (`BEGIN`) that nothing commits.

## Why
A runner that sends the file's statements as they come (psql `-f`, a Sqitch deploy script,
goose's `NO TRANSACTION` files) runs everything after the stray `BEGIN` in a transaction
the file never ends. When the runner disconnects, PostgreSQL rolls it back: the migration
"succeeds" (psql exits 0, Sqitch records the change as deployed) yet none of its changes
after the `BEGIN` are there. squawk calls this `ban-uncommitted-transaction`. A `COMMIT AND
CHAIN` (or `ROLLBACK AND CHAIN`) as the file's last end does the same: it opens the next
transaction at once, and nothing commits that one.

## Bad
```sql
BEGIN;
CREATE TABLE invoices (id bigint PRIMARY KEY);
```

## Good
```sql
BEGIN;
CREATE TABLE invoices (id bigint PRIMARY KEY);
COMMIT;
```

## In Alembic
Not flagged: alembic opens the revision's transaction itself and commits it, so
`op.execute("BEGIN")` inside it only draws PostgreSQL's `WARNING: there is already a
transaction in progress` and changes nothing. Nor is a `BEGIN` inside `autocommit_block()`
flagged: alembic's COMMIT at the end of the revision commits what it opened (with psycopg2,
which sends no COMMIT at the end of the block, the statements after it stay in that
transaction until then; psycopg commits it as the block ends), so nothing is lost; the
statements after it run in a transaction, as lint reads them (DBS102 for a `CONCURRENTLY`
there, which fails with 25001).

## Not flagged
A `BEGIN` closed later in the file by `COMMIT`, `ROLLBACK` or `PREPARE TRANSACTION` (not
one `AND CHAIN`: the last of those is flagged instead). A
`BEGIN` in a file its runner already runs in a transaction (even after a `COMMIT` of the
file's: the runner's own `COMMIT` at the end commits what is open then) (supabase, Flyway, sqlx,
refinery, goose and dbmate by default, a golang-migrate or prisma file of several
statements sent as one query, `sql-migrations-in-transaction = true`): PostgreSQL answers
it with a WARNING and ignores it, and the runner's own `COMMIT` commits the file (squawk's
`transaction-nesting`: judged on PostgreSQL 18, the nested `BEGIN` breaks nothing). Where
dbsafe does not know the folder's runner, the `BEGIN` is still flagged, saying that it
cannot tell whether the runner commits it (never a silent pass). A migration cut short by
a failure on the throwaway server: what it would run after is unknown.

How it was judged: each case run on PostgreSQL 18 as its runner sends it -- `psql -f`
(exit 0, the table gone after), `psql -1` and a runner's `BEGIN` ... `COMMIT` around the
file (one WARNING, the table committed), the whole file as one simple query (left open, rolled
back at disconnect); a `BEGIN` ... `COMMIT AND CHAIN` ... as `psql -f` sends it: the table
after the `COMMIT AND CHAIN` is gone after the disconnect, kept under `psql -1`. The
`autocommit_block()` cases run through alembic with psycopg2 and psycopg: every table
committed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement

_ENDS = frozenset({"commit", "rollback", "prepare"})


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    chained = statement.chain and statement.transaction in _ENDS
    if not (statement.transaction == "begin" or chained) or statement.generated \
            or statement.origin:
        return
    migration = ctx.migration
    if migration.kind != "sql" or migration.cut_short or migration.starts_in_transaction:
        return  # (a runner that wraps the file commits whatever is open at its end)
    # nested: a WARNING, and whoever opened the transaction commits it; AND CHAIN with no
    # transaction open fails (25P01) and opens none
    if _open_before(ctx.statements, statement, migration.starts_in_transaction) != chained:
        return
    # (a later COMMIT ends it; a later AND CHAIN opens the next, judged at its own turn)
    if any(s.transaction in _ENDS for s in ctx.statements[statement.index + 1:]
           if s.origin is None):
        return
    ended = (statement.transaction or "").upper()
    opened = f"This `{ended} AND CHAIN` opens a transaction that is" if chained else \
        "This `BEGIN` is"
    if _runner_unknown(migration.file):
        yield ctx.finding(
            RULE,
            f"{opened} never committed: a runner that runs the file's statements as "
            "they come (psql -f) rolls back everything after it when it disconnects; "
            "dbsafe cannot tell whether this folder's runner wraps the file and commits it.",
            help=("End the transaction with a COMMIT without AND CHAIN." if chained else
                  "End the transaction with COMMIT, or drop the BEGIN if the runner wraps "
                  "each file in a transaction (then set `sql-migrations-in-transaction = "
                  "true`)."),
        )
        return
    yield ctx.finding(
        RULE,
        f"{opened} never committed: its runner runs the file's statements as they come, "
        "so everything after it is rolled back when the runner disconnects, while the "
        "migration reports success.",
        help="End the transaction with COMMIT at the end of the file"
             + (", without AND CHAIN." if chained else "."),
    )


def _open_before(statements: Sequence[Statement], statement: Statement,
                 starts_in_transaction: bool) -> bool:
    """Was a transaction block already open when `statement` ran? (A BEGIN's own
    `in_transaction` is set by the BEGIN itself, so the state is followed from the top.)"""
    open_ = starts_in_transaction
    for s in statements[:statement.index]:
        if s.origin is not None:
            continue
        if s.transaction == "begin":
            open_ = True
        elif s.transaction in _ENDS:
            open_ = open_ and s.chain  # AND CHAIN: the next one opens at once
    return open_


def _runner_unknown(file: object) -> bool:
    """No file (SQL handed in as text), or no runner dbsafe knows marks its folder."""
    from pathlib import Path

    from dbsafe.extract.migration import runner_unknown

    if not isinstance(file, Path):
        return True
    return runner_unknown(file.parent)


RULE = Rule(
    code="DBS136",
    name="uncommitted-transaction",
    severity=Severity.ERROR,
    since="0.2.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"TransactionStmt"}),
)

"""More work done in a transaction after it took an ACCESS EXCLUSIVE lock on an existing table.

## Why
A lock is held until the transaction ends. Once a statement has taken an ACCESS EXCLUSIVE
lock on a table, nobody can read or write that table until COMMIT, so every statement that
follows in the same transaction lengthens the outage: a data backfill, an index build, a
scan — or a lock on another table that has to wait behind someone else's query while the
first table stays locked.

A runner that applies every pending file in one transaction (Boundary's, node-pg-migrate's
`--single-transaction`, Flyway's `group = true`: `sql-migrations-in-transaction = "all"`)
holds the lock a file took while every later file runs: the first statement of a later file
that works while it is held is flagged too, one finding per file, naming the file and line
that took the lock (verified on PostgreSQL 18 with `pg_locks` from a second session). The
setting not given, a node-pg-migrate folder and Flyway migrations configured `group = true`
are linted so, as their runner applies them.

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
move backfills and index builds to other revisions. Without `transaction_per_migration`,
`alembic upgrade` runs every pending revision in one transaction: with `--database-url`,
where the capture shows it, a lock an earlier pending revision took is held while the later
ones run, and their first slow statement is flagged too. `dbsafe upgrade` commits each
revision before the next (its preflight carries nothing across revisions).

## Not flagged
* Further quick catalog changes on the table that is already locked (another `ADD COLUMN`
  on `orders`): the lock is already held and they take milliseconds.
* Statements on tables created in this migration (a backfill into one that reads an
  existing table, `INSERT INTO new SELECT ... FROM orders`, works on `orders` and is
  flagged), `CREATE TABLE` (one whose foreign key references an existing table is
  flagged: it takes that table SHARE ROW EXCLUSIVE, so it waits for every open write
  there), transaction control, `SET`/`RESET`, `COMMENT`, `GRANT`/`REVOKE`, and alembic's
  `alembic_version` bookkeeping.
* Reads of PostgreSQL's catalogs (`information_schema.columns`, `pg_indexes`): they take
  ACCESS SHARE locks no DDL conflicts with, and are quick.
* Statements outside a transaction block (each commits on its own). A `BEGIN` inside one
  (a file's own, in the transaction its runner wraps it in) opens nothing: PostgreSQL's
  WARNING 25001, and what the transaction locked before it stays locked after it
  (Kinto's storage migration 017_018, checked with `pg_locks`), so it is no end.
* A table the transaction drops and makes no table of that name again: whoever waits for
  it gets "relation does not exist" (42P01) at COMMIT, however soon that comes; DBS201 is
  the finding about them. The tables its foreign keys reference stay locked (dropping a key
  takes ACCESS EXCLUSIVE on both tables) and are named instead. A table dropped and created
  again, or replaced by another renamed to its name, is flagged: its readers wait, then
  read the new one.
* A statement during which PostgreSQL showed no ACCESS EXCLUSIVE lock on the table, when
  the revisions ran on a throwaway server (`pg_locks`).
* Anything after the first finding of a transaction: one finding per transaction (per file,
  in a transaction shared by every pending file), at the first statement that lengthens the
  outage. A table the transaction renamed or moved to another schema since it locked
  it is followed, and named both ways: "`public.users` (now `iam.users`)" after
  `ALTER TABLE public.users SET SCHEMA iam`. Other sessions know it by its old name
  until COMMIT: theirs is what waits (PostgreSQL 18: a query on `public.users` waits,
  then fails with 42P01; one on `iam.users` fails at once).
* With `sql-migrations-in-transaction = "all"`: a table an earlier pending file created
  (nobody sees it before COMMIT), and locks taken before a file's own `COMMIT` or by a file
  that ran before (not linted: the database's runner history says it ran, or
  `--changed-since` leaves it out).
* The statements of a function's body: `CREATE FUNCTION` does not run them, so they take no
  lock and do no work in the transaction that creates it.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.locks import ACCESS_EXCLUSIVE
from dbsafe.lint.transactions import work_while_locked


def check_migration(ctx: LintContext) -> Iterator[Finding]:
    """One finding per transaction: its first statement that lengthens the outage."""
    for found in work_while_locked(ctx, {ACCESS_EXCLUSIVE}):
        yield ctx.finding(
            RULE,
            f"This statement works on {found.works_on_words} while {found.locked_words} is "
            f"still ACCESS EXCLUSIVE locked from {found.since}; reads and writes on "
            f"`{found.waiting_on}` wait until COMMIT.",
            help="Commit right after the ACCESS EXCLUSIVE statement, or move this "
                 "statement to its own migration." if not found.carried else found.help,
            subject=found.works_on,
            statement=found.statement,
        )


RULE = Rule(
    code="DBS114",
    name="statements-after-access-exclusive-lock",
    severity=Severity.WARNING,
    since="0.1.0",
    doc=__doc__,
    check_migration=check_migration,
    weighed_by="size",
)

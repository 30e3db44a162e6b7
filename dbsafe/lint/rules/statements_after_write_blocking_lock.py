"""More work done in a transaction after it took a lock that blocks writes on an existing table.

## Why
SHARE, SHARE ROW EXCLUSIVE and EXCLUSIVE locks let reads through but stop every write,
and, like any lock, are held until the transaction ends. A foreign key added `NOT VALID`
takes SHARE ROW EXCLUSIVE on both tables; `CREATE TRIGGER` takes it on its table; `LOCK
TABLE ... IN SHARE MODE` takes SHARE. Whatever follows in the same transaction — validating
that foreign key (a scan of both tables), a backfill, an index build — runs while nobody can
write those tables (verified on PostgreSQL 18 with `pg_locks`). `NOT VALID` spares the
long lock only when `VALIDATE CONSTRAINT` runs in a transaction of its own. A runner that
applies every pending file in one transaction (`sql-migrations-in-transaction = "all"`; untold,
node-pg-migrate's default and Flyway's `group = true`) holds
the lock a file took while the later files run: their first such statement is flagged too,
one finding per file, naming the file and line that took the lock (as DBS114).

## Bad
```sql
-- in transaction
ALTER TABLE orders ADD CONSTRAINT orders_customer_fk
    FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk;
```

## Good
```sql
-- in transaction
ALTER TABLE orders ADD CONSTRAINT orders_customer_fk
    FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;
COMMIT;
BEGIN;
ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk;
```

## In Alembic
```python
op.create_foreign_key("orders_customer_fk", "orders", "customers", ["customer_id"], ["id"],
                      postgresql_not_valid=True)
# then, in the next revision (its own transaction):
op.execute("ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk")
```
The next revision has a transaction of its own with `transaction_per_migration=True`, or
upgraded to in another run (`dbsafe upgrade` commits each revision); one `alembic upgrade`
running both in its one transaction is flagged (with `--database-url`, as DBS114).

## Not flagged
* Tables also ACCESS EXCLUSIVE locked in the transaction: DBS114 reports those.
* Quick catalog changes on the table already locked, statements on tables created in this
  migration (a backfill into one that reads an existing table is flagged: it reads all
  of it), `CREATE TABLE` (unless its foreign key references an existing table: it waits
  for that table's writers), transaction control, `SET`, `COMMENT`, `GRANT`, and alembic's
  `alembic_version`, reads of PostgreSQL's catalogs (`information_schema`, `pg_catalog`);
  statements outside a transaction block (a `BEGIN` nested in one ends nothing: as DBS114).
* A statement during which PostgreSQL showed no such lock on the table, when the revisions
  ran on a throwaway server (`pg_locks`).
* A table the transaction drops and makes no table of that name again (as DBS114).
* Anything after the first finding of a transaction (of a file, in a transaction shared by
  every pending file), and what DBS114 leaves out of a shared transaction.
* The statements of a function's body: `CREATE FUNCTION` does not run them, so they take no
  lock and do no work in the transaction that creates it.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.locks import ACCESS_EXCLUSIVE, EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE
from dbsafe.lint.transactions import work_while_locked


def check_migration(ctx: LintContext) -> Iterator[Finding]:
    """One finding per transaction: its first statement that lengthens the wait."""
    for found in work_while_locked(ctx, {SHARE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE},
                                   unless={ACCESS_EXCLUSIVE}):
        yield ctx.finding(
            RULE,
            f"This statement works on {found.works_on_words} while {found.locked_words} is "
            f"still {found.mode} locked from {found.since}; writes to `{found.waiting_on}` "
            f"wait until COMMIT.",
            help=found.help,
            subject=found.works_on,
            statement=found.statement,
        )


RULE = Rule(
    code="DBS125",
    name="statements-after-write-blocking-lock",
    severity=Severity.WARNING,
    since="0.1.0",
    doc=__doc__,
    check_migration=check_migration,
    weighed_by="size",
)

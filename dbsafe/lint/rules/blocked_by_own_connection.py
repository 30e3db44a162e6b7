"""Statement waits for a lock that another connection of the same migration holds.

## Why
A revision that opens a second connection — an ORM `Session` on the engine rather than on
`op.get_bind()`, the application's own session or security manager — and leaves it inside
a transaction keeps every lock that transaction took, down to the ACCESS SHARE of a
`SELECT`. When a later statement on alembic's connection needs a conflicting lock on the
same table, it waits for that transaction; but the process is waiting for the statement,
so nothing ever ends the other transaction: `alembic upgrade` hangs, with no error and no
timeout unless `lock_timeout` is set. The same happens the other way round, when the second
connection waits for a table alembic's transaction has locked.

dbsafe sees it while the revisions run on the throwaway server: a statement that waited
several seconds behind a connection of the migration idle in its transaction all that time.
It ends that connection (as if the revision had closed it) so the run goes on, and reports
the statement that waited and the line that last used the other connection.

Where: `dbsafe lint` (upgrades), and `dbsafe verify-reversible` on its throwaway server
(upgrades and downgrades, when the same alembic command left the connection idle). The
commands that build a schema from the migrations on a throwaway server (`schema dump`,
`validate`, `diff`, `drift`, the schema `dbsafe downgrade` checks against) end the
connection too and say so in a warning. Never on a database you name (`dbsafe upgrade`,
`downgrade`, `verify-reversible --database-url`): there a connection may be anyone's, and
the statement waits until `lock_timeout`.

## Bad
```python
def upgrade():
    session = Session(bind=op.get_bind().engine)  # a second connection
    roles = session.query(Role).all()  # its transaction stays open, ACCESS SHARE on roles
    op.add_column("roles", sa.Column("note", sa.Text))  # waits for it: forever
```

## Good
```python
def upgrade():
    session = Session(bind=op.get_bind())  # alembic's own connection and transaction
    roles = session.query(Role).all()
    op.add_column("roles", sa.Column("note", sa.Text))
```

## In Alembic
Run data access on `op.get_bind()`; if a revision must use another session, end its
transaction (`session.commit()` or `session.close()`) before the revision returns, also on
the paths where it finds nothing to change (on an empty database, that is the path taken).

## Not flagged
Waits that end by themselves (the other connection was busy, not idle in its transaction),
revisions rendered offline (`--offline`) and SQL files, which dbsafe does not run this way.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement
from dbsafe.migrate.waits import message

# Its findings need a captured run: no SQL alone triggers it (see tests/lint/test_capture.py).
ALEMBIC_ONLY = True

HELP = ("Run the other queries on op.get_bind(), or commit or close that session before this "
        "statement runs.")


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    waited = statement.waited
    if waited is None:
        return
    holder = (f"{waited.holder.path}:{waited.holder.line}" if waited.holder is not None
              else None)
    yield ctx.finding(
        RULE,
        message(waited.mode, waited.relation, holder),
        help=HELP,
        subject=waited.relation.removeprefix("public.") if waited.relation else None)


RULE = Rule(
    code="DBS132",
    name="blocked-by-own-connection",
    severity=Severity.ERROR,
    since="0.2.0",
    doc=__doc__,
    check=check,
)

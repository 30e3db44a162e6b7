"""Statement took a lock on an existing table that blocks writes and that dbsafe did not predict.

## Why
dbsafe predicts each statement's locks from PostgreSQL's documentation (the table behind
`dbsafe lint --locks`). When the revisions run on a throwaway server, PostgreSQL shows the
locks each statement really took (`pg_locks`, read inside its transaction). A lock that
blocks writes (SHARE or stronger) on a table that existed before the migration, stronger
than anything predicted for that table, is an outage risk no other rule reported: a trigger,
a rule, a foreign key to it, or DDL the lock table does not know yet.

## Bad
```sql
-- an AFTER trigger on orders that runs ALTER TABLE audit_log ...: inserting into orders
-- now takes ACCESS EXCLUSIVE on audit_log, which nothing in the INSERT names
INSERT INTO orders (id) VALUES (1);
```

## Good
```sql
INSERT INTO orders (id) VALUES (1);
```

## In Alembic
Reported only for revisions captured on a throwaway server (the default for an alembic
project; not with `--offline`, nor for `.sql` files, which dbsafe does not run). The
finding names the table and the lock PostgreSQL showed.

## Not flagged
Tables created earlier in the same migration, the tables a `CREATE EXTENSION` makes (its
script creates them, taking an ACCESS EXCLUSIVE lock nobody else can wait for: PostGIS's
`spatial_ref_sys`, pgmq's `pgmq.meta`; one the history knows existed before is still
reported), locks that do not block writes, statements
run outside a transaction block (their locks are gone before dbsafe can read `pg_locks`),
and locks no stronger than one predicted for the same table — including the table of an
index the statement drops (DROP INDEX locks both) and a table it renames (pg_locks shows it
by its new name).
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.locks import SHARE, from_pg_locks, locks_for, pg_locks_names, strength
from dbsafe.lint.statement import Statement, same_relation

_TABLES = frozenset({"r", "p", "m"})
_WRITE_BLOCKING = frozenset({"ShareLock", "ShareRowExclusiveLock", "ExclusiveLock",
                             "AccessExclusiveLock"})

# Its findings need an observed run: no SQL alone triggers it (see tests/lint/test_capture.py).
ALEMBIC_ONLY = True


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    observed = statement.observed
    if observed is None or statement.origin is not None or not any(
            kind in _TABLES and pg_mode in _WRITE_BLOCKING
            for _name, pg_mode, kind in observed.locks):
        return
    predicted = list(locks_for(statement))
    if statement.kind == "DoStmt":
        # What the block's body predicts (the statements read from it follow it).
        for inner in ctx.later(statement):
            if inner.origin != "DO block":
                break
            predicted.extend(locks_for(inner))
    strongest: dict[str, str] = {}
    for relation, pg_mode, kind in observed.locks:
        mode = from_pg_locks(pg_mode)
        if mode is None or kind not in ("r", "p", "m") or strength(mode) < strength(SHARE):
            continue
        if relation not in strongest or strength(mode) > strength(strongest[relation]):
            strongest[relation] = mode
    extension = statement.kind == "CreateExtensionStmt"
    for relation, mode in strongest.items():
        bare = relation.rpartition(".")[2]
        if relation in statement.creates or bare in statement.creates or \
                ctx.created_before(relation) or ctx.created_before(bare):
            continue
        if extension and not ctx.history.kind_of(relation):
            continue  # (a table the extension's script makes: PostGIS's spatial_ref_sys)
        if any(lock.relation is None or (
                any(same_relation(name, relation) for name in pg_locks_names(lock, statement, ctx))
                and strength(lock.mode) >= strength(mode))
               for lock in predicted):
            continue
        name = relation.removeprefix("public.")
        yield ctx.finding(
            RULE,
            f"PostgreSQL took {'an' if mode[0] in 'AE' else 'a'} {mode} lock on `{name}` for "
            "this statement, which dbsafe "
            f"did not predict; writes to `{name}` wait until the transaction ends.",
            help="Find what takes the lock (a trigger, a rule, a foreign key) and run the "
                 "statement where that wait is acceptable, or change it.",
            subject=name)


RULE = Rule(
    code="DBS119",
    name="unpredicted-lock",
    severity=Severity.WARNING,
    since="0.1.0",
    doc=__doc__,
    check=check,
    weighed_by="size",
)

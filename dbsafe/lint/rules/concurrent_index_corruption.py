"""`CREATE INDEX CONCURRENTLY` or `REINDEX CONCURRENTLY` on PostgreSQL 14.0 to 14.3, which build corrupt indexes.

## Why
An optimization added in PostgreSQL 14 made `CREATE INDEX CONCURRENTLY` and
`REINDEX CONCURRENTLY` sometimes miss rows updated while the index was built: the index
silently lacks them, and queries using it return wrong results. 14.4 reverted it
([release notes](https://www.postgresql.org/docs/release/14.4/): "Prevent possible
corruption of indexes created or rebuilt with the CONCURRENTLY option"). dbsafe knows the
server's minor release only from the database itself: `dbsafe lint --database-url` and
`dbsafe upgrade`'s preflight read it (`server_version_num`), and flag these statements on
14.0 to 14.3 (strong_migrations' `index_corruption?`). Update the server's minor release
(a restart, no dump/restore), then reindex what was built concurrently on 14.x before.

## Bad
```sql
CREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);
```

## Good
```sql
-- on PostgreSQL 14.4 or later
CREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);
```

## In Alembic
`op.create_index(..., postgresql_concurrently=True)` and a `REINDEX ... CONCURRENTLY` in
`op.execute` are flagged alike: update the server first.

## Not flagged
* Without a database (`target-version = 14` names no minor release), and on servers other
  than 14.0 to 14.3.
* `DROP INDEX CONCURRENTLY`, `DETACH PARTITION CONCURRENTLY`, and builds without
  CONCURRENTLY (which lock the table: DBS101).
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement, concurrent_operation

# Only the database knows its minor release: a SQL fixture cannot set it.
DATABASE_ONLY = True
_BROKEN = range(140000, 140004)  # 14.0 to 14.3; fixed in 14.4
_BUILDS = ("CREATE INDEX CONCURRENTLY", "REINDEX CONCURRENTLY")


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    server = ctx.server_version
    if server is None or server not in _BROKEN:
        return
    operation = concurrent_operation(statement)
    if operation not in _BUILDS:
        return
    version = f"14.{server % 10000}"
    yield ctx.finding(
        RULE,
        f"{operation} on PostgreSQL {version} can build a corrupt index: 14.0 to 14.3 miss "
        "rows updated during the build (fixed in 14.4, "
        "https://www.postgresql.org/docs/release/14.4/).",
        help="Update the server to the latest 14.x minor release (a restart, no "
             "dump/restore) before running this migration, then reindex what earlier "
             "migrations built CONCURRENTLY on 14.x.",
        subject=statement.index_def.name if statement.index_def else statement.relation,
    )


RULE = Rule(
    code="DBS135",
    name="concurrent-index-corruption",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"IndexStmt", "ReindexStmt"}),
)

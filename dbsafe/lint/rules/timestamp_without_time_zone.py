"""Column of type `timestamp` (without time zone).

## Why
`timestamp without time zone` stores a wall-clock reading with no offset: the same value
means different instants depending on the time zone of whoever wrote it, and arithmetic
across daylight-saving changes is wrong. `timestamptz` stores an instant (UTC internally,
the same 8 bytes) and converts to the session's time zone on output, which is what
application timestamps (`created_at`, `expires_at`) almost always mean.

## Bad
```sql
CREATE TABLE events (id bigint PRIMARY KEY, created_at timestamp NOT NULL DEFAULT now());
```

## Good
```sql
CREATE TABLE events (id bigint PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now());
```

## In Alembic
Use `sa.DateTime(timezone=True)` (or `postgresql.TIMESTAMP(timezone=True)`); a plain
`sa.DateTime()` renders as `timestamp without time zone`.

## Not flagged
`timestamptz` / `timestamp with time zone`, `date`, `time`, and `timestamp` in casts or
expressions — only column types in `CREATE TABLE`, `ALTER TABLE ... ADD COLUMN` and
`ALTER COLUMN ... TYPE` are checked. Converting an existing column to `timestamptz` is
a rewrite under an ACCESS EXCLUSIVE lock (unless the session time zone is UTC on
PostgreSQL 12+), so this rule only warns.

## References
https://wiki.postgresql.org/wiki/Don%27t_Do_This#Don.27t_use_timestamp_.28without_time_zone.29
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement, column_types


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    for column in column_types(statement):
        dtype = column.type
        if dtype is None or dtype.name != "timestamp" or dtype.schema is not None:
            continue
        yield ctx.finding(
            RULE,
            f"Column `{column.table}.{column.name}` has type `timestamp without time zone`, "
            "which stores no offset, so its values are ambiguous across time zones.",
            help="Use timestamptz (timestamp with time zone).",
            subject=f"{column.table}.{column.name}",
        )


RULE = Rule(
    code="DBS208",
    name="timestamp-without-time-zone",
    severity=Severity.WARNING,
    since="0.1.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"CreateStmt", "AlterTableStmt"}),
)

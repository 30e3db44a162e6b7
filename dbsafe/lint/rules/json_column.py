"""Column of type `json` rather than `jsonb`: it has no equality, so `SELECT DISTINCT *`, `UNION` and `GROUP BY` over it fail.

## Why
`json` keeps the text as written and has no equality operator. Once a table has a `json`
column, every query that compares whole rows fails: `SELECT DISTINCT * FROM t`,
`... UNION SELECT * FROM t`, `GROUP BY` the column (`could not identify an equality
operator for type json`, verified on PostgreSQL 18). Adding one to an existing table breaks
such queries the application already runs. `jsonb` has equality, indexing (GIN) and is
faster to query; PostgreSQL's documentation advises it for most applications.

## Bad
```sql
ALTER TABLE orders ADD COLUMN metadata json;
```

## Good
```sql
ALTER TABLE orders ADD COLUMN metadata jsonb;
```

## In Alembic
`sa.Column("metadata", postgresql.JSONB())` rather than `sa.JSON()` (which is `json` on
PostgreSQL).

## Not flagged
* `jsonb` columns, and `json` values in queries.
* A type named `json` in a schema of its own.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement, column_types


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    for column in column_types(statement):
        dtype = column.type
        if dtype is None or dtype.name != "json" or dtype.schema is not None:
            continue
        existing = statement.kind == "AlterTableStmt" and not ctx.created_before(column.table)
        yield ctx.finding(
            RULE,
            f"Column `{column.table}.{column.name}` has type `{dtype}`, which has no equality: "
            + ("queries that compare whole rows of the table (SELECT DISTINCT *, UNION) "
               "start failing." if existing else
               "SELECT DISTINCT, UNION and GROUP BY over it fail."),
            help="Use jsonb.",
            subject=f"{column.table}.{column.name}",
        )


RULE = Rule(
    code="DBS214",
    name="json-column",
    severity=Severity.WARNING,
    since="0.1.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"CreateStmt", "AlterTableStmt"}),
)

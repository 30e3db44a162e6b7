"""Unique or primary key constraint added to an existing table, building its index under an ACCESS EXCLUSIVE lock.

## Why
`ALTER TABLE ... ADD UNIQUE (...)` and `ADD PRIMARY KEY (...)` build a unique index while
holding an ACCESS EXCLUSIVE lock: no reads and no writes on the table until the whole
index is built. The same holds for a column added with `UNIQUE` or `PRIMARY KEY`, and for
`ADD CONSTRAINT ... EXCLUDE USING gist (...)`, whose index cannot be built beforehand.

A primary key over a column that is not `NOT NULL` also sets it NOT NULL, without saying
so: under the same lock PostgreSQL reads every row for a NULL (a second scan besides the
index build, `pg_stat_get_xact_numscans` on PostgreSQL 18), and fails with 23502 ("column
... contains null values") if it finds one. Where the history or `--database-url` shows
the column nullable, the finding says so (skipped on PostgreSQL 12+ when a validated
`CHECK (col IS NOT NULL)` proves it).

## Bad
```sql
ALTER TABLE orders ADD CONSTRAINT orders_ref_key UNIQUE (ref);
```

## Good
```sql
CREATE UNIQUE INDEX CONCURRENTLY orders_ref_key ON orders (ref);
ALTER TABLE orders ADD CONSTRAINT orders_ref_key UNIQUE USING INDEX orders_ref_key;
```

## In Alembic
```python
with op.get_context().autocommit_block():
    op.create_index("orders_ref_key", "orders", ["ref"], unique=True,
                    postgresql_concurrently=True)
op.execute("ALTER TABLE orders ADD CONSTRAINT orders_ref_key "
           "UNIQUE USING INDEX orders_ref_key")
```
Attaching the index takes ACCESS EXCLUSIVE only briefly (catalog change). For a primary
key, the columns must already be `NOT NULL`, or PostgreSQL scans the table to check.

## Not flagged
* `ADD CONSTRAINT ... UNIQUE USING INDEX` / `PRIMARY KEY USING INDEX`.
* Tables created earlier in the same migration.

Exclusion constraints (`EXCLUDE`) are flagged too, though no index can be built for them
beforehand: add them where a pause in reads and writes is acceptable.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement

_KINDS = {"primary": "primary key", "unique": "unique constraint",
          "exclusion": "exclusion constraint"}


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if statement.kind != "AlterTableStmt" or not statement.relation:
        return
    table = statement.relation
    if ctx.created_before(table):
        return
    added = [(c.kind, c.columns) for c in statement.constraints if c.using_index is None]
    added += [(c.kind, ()) for column in statement.columns for c in column.constraints]
    for kind, columns in ((_KINDS[k], columns) for k, columns in added if k in _KINDS):
        nullable = _nullable(statement, ctx, columns) if kind == "primary key" else []
        if kind == "exclusion constraint":
            # PostgreSQL cannot attach an exclusion constraint to a prebuilt index.
            help_text = ("Add exclusion constraints while the table is small or in a "
                         "maintenance window; there is no USING INDEX form for them.")
        elif nullable:
            help_text = (f"Prove {_named(nullable)} NOT NULL first (CHECK (... IS NOT NULL) "
                         "NOT VALID, VALIDATE it, SET NOT NULL), then build a unique index "
                         "with CREATE UNIQUE INDEX CONCURRENTLY and add the primary key with "
                         "USING INDEX.")
        else:
            help_text = ("Build a unique index with CREATE UNIQUE INDEX CONCURRENTLY, then add "
                         "the constraint with USING INDEX.")
        article = "an" if kind[0] in "aeio" else "a"  # a unique, an exclusion
        also = (f" It also sets {_named(nullable)} NOT NULL, reading every row under that "
                "lock, and fails (23502) if one is NULL." if nullable else "")
        yield ctx.finding(
            RULE,
            f"Adding {article} {kind} to `{table}` builds its index under an ACCESS EXCLUSIVE "
            f"lock; reads and writes on `{table}` wait until the index is built.{also}",
            help=help_text,
            subject=table,
        )


def _nullable(statement: Statement, ctx: LintContext, columns: tuple[str, ...]) -> list[str]:
    """The primary key's columns known to be nullable before the statement: PostgreSQL
    sets them NOT NULL as it adds the key, scanning the table for NULLs (skipped on 12+
    where a validated `CHECK (col IS NOT NULL)` proves it). A column whose NULLs are
    unknown, or that the statement itself sets NOT NULL (DBS107 says so), is left out."""
    set_here = {a.name for a in statement.actions if a.subtype == "SetNotNull"}
    table = statement.relation or ""
    found = []
    for column in columns:
        known = ctx.column(table, column)
        if known is None or known.not_null is not False or column in set_here:
            continue
        if ctx.target_version >= 120000 and ctx.proven_not_null(table, column):
            continue
        found.append(column)
    return found


def _named(columns: list[str]) -> str:
    return ", ".join(f"`{c}`" for c in columns)


RULE = Rule(
    code="DBS111",
    name="unique-constraint-builds-index",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    claim="lock",
    kinds=frozenset({"AlterTableStmt"}),
    weighed_by="size",
)

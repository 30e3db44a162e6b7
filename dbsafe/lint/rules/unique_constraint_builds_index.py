"""Unique or primary key constraint added to an existing table, building its index under an ACCESS EXCLUSIVE lock.

## Why
`ALTER TABLE ... ADD UNIQUE (...)` and `ADD PRIMARY KEY (...)` build a unique index while
holding an ACCESS EXCLUSIVE lock: no reads and no writes on the table until the whole
index is built. The same holds for a column added with `UNIQUE` or `PRIMARY KEY`, and for
`ADD CONSTRAINT ... EXCLUDE USING gist (...)`, whose index cannot be built beforehand.

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
    kinds = [c.kind for c in statement.constraints if c.using_index is None]
    kinds += [c.kind for column in statement.columns for c in column.constraints]
    for kind in (_KINDS[k] for k in kinds if k in _KINDS):
        if kind == "exclusion constraint":
            # PostgreSQL cannot attach an exclusion constraint to a prebuilt index.
            help_text = ("Add exclusion constraints while the table is small or in a "
                         "maintenance window; there is no USING INDEX form for them.")
        else:
            help_text = ("Build a unique index with CREATE UNIQUE INDEX CONCURRENTLY, then add "
                         "the constraint with USING INDEX.")
        article = "an" if kind[0] in "aeio" else "a"  # a unique, an exclusion
        yield ctx.finding(
            RULE,
            f"Adding {article} {kind} to `{table}` builds its index under an ACCESS EXCLUSIVE "
            f"lock; reads and writes on `{table}` wait until the index is built.",
            help=help_text,
            subject=table,
        )


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

"""Column of type `char(n)` / `character(n)`.

## Why
`char(n)` pads values with blanks to `n` characters and ignores trailing blanks when
comparing, which surprises applications (`'ab'` comes back as `'ab   '`, and
`'ab ' = 'ab'` is true). It is never faster than `text` or `varchar` in PostgreSQL — it
is usually slower because of the padding — and the length limit is better expressed as a
`CHECK`. A bare `char` or `character` means `char(1)`.

## Bad
```sql
CREATE TABLE countries (code char(2) PRIMARY KEY, name text);
```

## Good
```sql
CREATE TABLE countries (code text PRIMARY KEY CHECK (length(code) = 2), name text);
```

## In Alembic
Use `sa.Text()` or `sa.String(n)` (varchar) instead of `sa.CHAR(n)` / `sa.types.CHAR`.

## Not flagged
`"char"` (quoted: PostgreSQL's internal one-byte type), `varchar` / `character varying`,
and `char` in casts or expressions — only column types in `CREATE TABLE`,
`ALTER TABLE ... ADD COLUMN` and `ALTER COLUMN ... TYPE` are checked.

## References
https://wiki.postgresql.org/wiki/Don%27t_Do_This#Don.27t_use_char.28n.29
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement, column_types


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    for column in column_types(statement):
        dtype = column.type
        if dtype is None or dtype.name != "bpchar" or dtype.schema is not None:
            continue
        yield ctx.finding(
            RULE,
            f"Column `{column.table}.{column.name}` has type `{dtype}`, which pads "
            "values with blanks and ignores trailing blanks in comparisons.",
            help="Use text (or varchar), with a CHECK constraint if the length matters.",
            subject=f"{column.table}.{column.name}",
        )


RULE = Rule(
    code="DBS207",
    name="char-column",
    severity=Severity.WARNING,
    since="0.1.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"CreateStmt", "AlterTableStmt"}),
)

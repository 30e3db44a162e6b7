"""Column renamed.

## Why
`ALTER TABLE ... RENAME COLUMN a TO b` is instant, but every deployed copy of the
application that still uses `a` fails from the moment the migration commits: during a
rolling deploy the old code is still serving traffic, and its queries (and its ORM's
generated `SELECT`/`INSERT` column lists) name the old column. The same holds for a view's
columns.

## Bad
```sql
ALTER TABLE orders RENAME COLUMN total TO total_cents;
```

## Good
```sql
-- expand: add the new column and keep both in sync (dual writes or a trigger),
-- backfill, move readers over, and drop the old column in a later migration.
ALTER TABLE orders ADD COLUMN total_cents bigint;
```

## In Alembic
Instead of `op.alter_column("orders", "total", new_column_name="total_cents")`, add the
new column with `op.add_column`, backfill it in batches, switch the application over, and
drop the old one in a later revision. If no deployed code can reference the column, keep
the rename with a `# dbsafe: ignore[DBS203]` comment saying why.

## Not flagged
Columns of tables created earlier in the same migration. A rename whose old name is taken
over later in the same migration by another column of the same table (renamed to it or
added with it): queries naming the column keep working. `RENAME CONSTRAINT`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from dbsafe.core import Finding, Severity
from dbsafe.lint.alter import AlterStatement, Word, parse_alter
from dbsafe.lint.engine import LintContext, Rule, Statement

_RELATIONS = ("TABLE", "FOREIGN TABLE", "VIEW", "MATERIALIZED VIEW")


def renamed_column(action: Sequence[Word]) -> tuple[str, str] | None:
    """`(old, new)` for a `RENAME [COLUMN] old TO new` action, else None.

    >>> renamed_column([Word("RENAME"), Word("a"), Word("TO"), Word("B", quoted=True)])
    ('a', 'B')
    """
    keys = [w.keyword for w in action]
    if keys[:1] != ["RENAME"] or len(action) < 4:
        return None
    i = 2 if keys[1] == "COLUMN" else 1
    if keys[i] in ("TO", "CONSTRAINT"):
        return None
    if keys[i + 1:i + 2] != ["TO"] or i + 2 >= len(action):
        return None
    return action[i].folded, action[i + 2].folded


def added_column(action: Sequence[Word]) -> str | None:
    """The column an `ADD [COLUMN] [IF NOT EXISTS] c ...` action adds, else None."""
    keys = [w.keyword for w in action]
    if keys[:1] != ["ADD"] or len(action) < 2:
        return None
    i = 2 if keys[1] == "COLUMN" else 1
    if keys[i:i + 3] == ["IF", "NOT", "EXISTS"]:
        i += 3
    if i >= len(action) or keys[i] in ("CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN",
                                       "EXCLUDE"):
        return None
    return action[i].folded


def _alters_of(name: str, statements: Sequence[Statement]) -> Iterator[AlterStatement]:
    for statement in statements:
        if statement.starts_with("ALTER"):
            alter = parse_alter(statement.sql)
            if alter is not None and alter.name == name:
                yield alter


def _name_reused(alter: AlterStatement, column: str, ctx: LintContext) -> bool:
    for later in _alters_of(alter.name, ctx.later()):
        for action in later.actions:
            renamed = renamed_column(action)
            if (renamed and renamed[1] == column) or added_column(action) == column:
                return True
    return False


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if not statement.starts_with("ALTER"):
        return
    alter = parse_alter(statement.sql)
    if alter is None or alter.kind not in _RELATIONS or ctx.created_before(alter.name):
        return
    for action in alter.actions:
        renamed = renamed_column(action)
        if renamed is None or _name_reused(alter, renamed[0], ctx):
            continue
        old, new = renamed
        yield ctx.finding(
            RULE,
            f"Column `{alter.name}.{old}` is renamed to `{new}`; application code still "
            f"using `{old}` fails as soon as the migration commits.",
            help="Add the new column, backfill and dual-write, move readers over, then drop "
                 "the old column in a later migration.",
            subject=f"{alter.name}.{old}",
        )


RULE = Rule(
    code="DBS203",
    name="column-renamed",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
)

"""Alembic revision whose `downgrade()` does nothing.

## Why
A `downgrade()` that is empty, only `pass`, `...` or a docstring, or that only raises
(`NotImplementedError`), means there is no way back from this revision: `alembic downgrade`
either fails or "succeeds" while leaving the schema as it was, so the version table and the
real schema disagree. When a deploy has to be rolled back, the time to find that out is code
review, not the incident.

## Bad
```python
def upgrade() -> None:
    op.add_column("orders", sa.Column("note", sa.Text()))


def downgrade() -> None:
    pass
```

## Good
```python
def upgrade() -> None:
    op.add_column("orders", sa.Column("note", sa.Text()))


def downgrade() -> None:
    op.drop_column("orders", "note")
```

## In Alembic
Write the inverse of every `op.*` call in `downgrade()`, in reverse order. For a revision
that really cannot be undone, say so where reviewers see it:
`def downgrade() -> None:  # dbsafe: ignore[DBS210] the old column's values are gone`.

## Not flagged
A `downgrade()` that does anything at all (dbsafe does not check that it undoes the
upgrade). An empty `downgrade()` of a revision whose `upgrade()` runs no statement either (a
merge revision, an empty baseline revision, one for another database only): there is nothing
to undo (without any `downgrade()`, or with one that raises, alembic still cannot go back
through it: flagged). An empty `downgrade()` of a revision whose
`upgrade()` ran only statements that change rows (`INSERT`, `UPDATE`, `DELETE`, `MERGE`,
`COPY`, `SELECT`, `SET`), as captured on the throwaway server: going back through it leaves
the schema as it was (the rows it changed stay; a backup has them as they were). Plain SQL
migrations, which have no downgrade. A revision file without a `downgrade()` function is
flagged at its first line.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from dbsafe.core import Finding, Location, Severity
from dbsafe.lint.engine import LintContext, Rule, changes_no_schema
from dbsafe.lint.history import downgrade_of

# Only alembic revisions can trigger this rule: tests/lint/test_rules.py does not run the
# generic SQL fixture and doc-example tests for it (see tests/lint/test_empty_downgrade.py).
ALEMBIC_ONLY = True


# How each kind of useless downgrade() reads in a finding ("Revision `x` has ...").
_PROBLEMS = {"missing": "has no downgrade()", "empty": "has a downgrade() that does nothing",
             "raises": "has a downgrade() that only raises"}


def check_migration(ctx: LintContext) -> Iterator[Finding]:
    migration = ctx.migration
    if migration.kind != "alembic" or migration.file is None:
        return
    downgrade = downgrade_of(migration.file)
    if downgrade is None or downgrade.kind is None:
        return
    ran_nothing = all(s.generated for s in migration.statements)
    if downgrade.kind == "empty" and (ran_nothing or changes_no_schema(ctx.statements)):
        # upgrade() ran nothing (a merge revision, an empty baseline), or the schema is as
        # it was: going back through it needs nothing
        return
    revision = migration.revision or migration.path
    # With no downgrade() at all, or one that raises, alembic cannot go back past the
    # revision even where its upgrade() ran nothing (AttributeError, or the raise).
    help = ("Its upgrade() runs nothing on PostgreSQL: an empty `def downgrade() -> None: "
            "pass` is its way back." if ran_nothing else
            "Undo the upgrade's operations in downgrade(), or suppress this with a comment "
            "saying why the revision is irreversible.")
    finding = ctx.finding(
        RULE,
        f"Revision `{revision}` {_PROBLEMS[downgrade.kind]}; it cannot be rolled back.",
        help=help,
        subject=revision,
    )
    yield dataclasses.replace(
        finding, location=Location(migration.path, downgrade.line, downgrade.column))


RULE = Rule(
    code="DBS210",
    name="empty-downgrade",
    severity=Severity.WARNING,
    since="0.1.0",
    doc=__doc__,
    check_migration=check_migration,
)

"""Alembic revision whose table creates an ENUM or DOMAIN an earlier revision already created.

## Why
`op.create_table(..., sa.Column("op", sa.Enum(..., name="operation")))` creates the type
`operation` before the table. SQLAlchemy notes each type name it creates in the DDL memo of
alembic's migration context, and does not create a name already noted: within one `alembic
upgrade`, a later revision whose table uses a type of the same name gets no `CREATE TYPE`,
so the history applies from an empty database. But a site that upgraded to the revision in
between with an earlier release runs the later revision in a command of its own, with a new
memo: it sends `CREATE TYPE operation` for the type the earlier revision left in the
database, and the upgrade fails with `type "operation" already exists` (42710), its
transaction rolled back. Only a run that happens to start before the first revision passes.

## Bad
```python
# revision a23ebee909a8
def upgrade():
    op.create_table("vnf_lcm_op_occs", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("operation", sa.Enum("INSTANTIATE", "SCALE", name="operation")))


# revision 3ff50553e9d3, two revisions later
def upgrade():
    op.create_table("grant_request", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("operation", sa.Enum("INSTANTIATE", "SCALE", name="operation")))
```

## Good
```python
# revision 3ff50553e9d3: the type is there already, whichever command runs this revision
from sqlalchemy.dialects import postgresql


def upgrade():
    operation = postgresql.ENUM("INSTANTIATE", "SCALE", name="operation", create_type=False)
    op.create_table("grant_request", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("operation", operation))
```

## In Alembic
Give the later revision's column `postgresql.ENUM(..., create_type=False)` (or
`sa.Enum(..., create_type=False)` on SQLAlchemy 2.1: 2.0 accepts that keyword on `sa.Enum`
and ignores it), which uses the type without creating it. Where the type may or may not be there, create it first with
`postgresql.ENUM(..., name="operation").create(op.get_bind(), checkfirst=True)` and give
the column a `create_type=False` one.

## Not flagged
A type the same revision names twice (two tables in one `upgrade()`: one command always runs
both). A column whose type says `create_type=False`, or a type created by
`.create(op.get_bind(), checkfirst=True)` or `metadata.create_all(checkfirst=True)`: run on
its own the revision checks first and finds it. A type an earlier revision created and a
later one dropped again before this one (`DROP TYPE`): the database in between does not have
it (from empty, the skipped type is then missing and the revision fails on the throwaway:
DBS005 says so). Plain SQL migrations and offline rendering (`--offline`): the memo is
SQLAlchemy's, seen only while revisions run on the throwaway server. With `--database-url`,
revisions the database already ran are not run: a pending revision that creates the type
again fails on the copy of its schema (DBS005).

In `dbsafe upgrade` and `dbsafe plan` (pending revisions only), where both revisions are
pending, DBS141 is a note saying so: the guarded run applies its revisions in one alembic
session that carries the memo from revision to revision, as one `alembic upgrade` does, and
passes (tacker's `upgrade +3` over `a23ebee909a8` .. `3ff50553e9d3`).

How it was judged: on PostgreSQL 18, OpenStack tacker's history (72 revisions) applies in
one `alembic upgrade` and stops at `3ff50553e9d3` with `type "operation" already exists` when
each revision runs in a command of its own; so does the two-revision history above.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule

# Only a capture of alembic revisions can trigger this rule: tests/lint/test_rules.py does
# not run the generic SQL fixture and doc-example tests for it (see
# tests/lint/test_named_type_created_again_pg.py).
ALEMBIC_ONLY = True

_KINDS = {"enum": "ENUM", "domain": "DOMAIN"}
# The finding's context title naming the revision that created the type first.
MADE_BY_CONTEXT = "Created first by"


def check_migration(ctx: LintContext) -> Iterator[Finding]:
    migration = ctx.migration
    for made in migration.types_made_earlier:
        if made.exists is not True:
            continue  # dropped in between: the revision alone creates it (or cannot tell)
        kind = _KINDS.get(made.kind, made.kind.upper())
        at = f" (line {made.made_at.line})" if made.made_at is not None else ""
        between = (f"`{made.parents[0]}`" if len(made.parents) == 1 else
                   "one of " + ", ".join(f"`{p}`" for p in made.parents)
                   if made.parents else "the revision before it")
        sql = next((s for s in ctx.statements
                    if s.location.path == made.location.path
                    and s.location.line == made.location.line and not s.generated), None)
        revision = migration.revision or migration.path
        finding = ctx.finding(
            RULE,
            f"Revision `{revision}` creates {kind} `{made.name}` again, which revision "
            f"`{made.made_by}`{at} created: one `alembic upgrade` from before "
            f"`{made.made_by}` skips it, but a database at {between} upgraded by a command "
            f"of its own fails with `type \"{made.name.rsplit('.', 1)[-1]}\" already "
            "exists`.",
            help="Give this revision's column the type with `create_type=False` "
                 "(`postgresql.ENUM(..., create_type=False)`): the earlier revision made it.",
            subject=made.name,
            statement=sql,
        )
        # (the revision that made it first, for the guard: a run applying both passes)
        finding = dataclasses.replace(
            finding, context=finding.context + ((MADE_BY_CONTEXT, made.made_by),))
        if sql is None:
            finding = dataclasses.replace(finding, location=made.location)
        yield finding


RULE = Rule(
    code="DBS141",
    name="named-type-created-again",
    severity=Severity.ERROR,
    since="0.2.0",
    doc=__doc__,
    check_migration=check_migration,
)

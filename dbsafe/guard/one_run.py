"""What lint says of another way of running the revisions than the guarded run's, said of
this run.

DBS141 (`named-type-created-again`) is about a database stopped between two revisions: the
later one creates an ENUM (or DOMAIN) the earlier one made, which one `alembic upgrade`
over both skips (SQLAlchemy's DDL memo) and a command of its own fails on (`type ...
already exists`). With `--database-url` lint only says it where both are pending (one
already applied fails on the copy of the schema: DBS005), and a guarded run applies its
pending revisions in one alembic session that carries the memo from revision to revision
(`dbsafe.migrate._child._DdlMemo`), as one `alembic upgrade` does: this run passes there.
OpenStack tacker's `3ff50553e9d3` after `a23ebee909a8` refused `dbsafe upgrade +3` (and
`plan` said an error) where the upgrade, allowed, applied both (task 544). Kept as a note:
the hazard is still there for a database stopped between them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import replace

from dbsafe.core import Finding, Severity


def said_of_this_run(findings: Iterable[Finding], pending: Collection[str]) -> Iterator[Finding]:
    """`findings` (lint's, of the `pending` revisions of one guarded run), each DBS141 whose
    first creating revision is pending too a note saying this run applies both."""
    from dbsafe.lint.rules.named_type_created_again import MADE_BY_CONTEXT, RULE

    for finding in findings:
        context = dict(finding.context)
        first, again = context.get(MADE_BY_CONTEXT), context.get("Revision")
        if finding.code == RULE.code and first in pending and again in pending:
            finding = replace(finding, severity=Severity.NOTE, context=finding.context + ((
                "This run",
                f"applies `{first}` and `{again}` in one alembic session, which carries the "
                f"memo from revision to revision as one `alembic upgrade` does: `{again}` "
                "skips the CREATE TYPE and passes. A database stopped between them (an "
                "earlier release's upgrade) still fails there."),))
        yield finding

"""DBS210 empty-downgrade: alembic revisions rendered offline, one finding per empty downgrade."""

from __future__ import annotations

from pathlib import Path

from dbsafe.core import Report
from dbsafe.lint.engine import lint_migration
from dbsafe.lint.rules.empty_downgrade import RULE
from dbsafe.migrate import render_revisions
from dbsafe.report import render_text
from tests.helpers import assert_snapshot

ENV = Path(__file__).parent / "envs" / "empty_downgrade"


def test_empty_downgrades_are_flagged_at_their_def_line() -> None:
    migrations = render_revisions(ENV / "alembic.ini", root=ENV)
    assert [m.revision for m in migrations] == ["0001", "0002", "0003", "0004", "0005", "0006",
                                                "0007", "0008", "0009"]
    findings = [f for m in migrations for f in lint_migration(m, [RULE])]
    assert_snapshot(render_text(Report(tuple(findings)), {}), ENV / "expected.txt")
    assert {f.subject for f in findings} == {"0002", "0003", "0004", "0005", "0009"}


def test_sql_migrations_are_never_flagged() -> None:
    from dbsafe.lint import lint_sql

    assert lint_sql("CREATE TABLE t (id bigint);", rules=[RULE]) == ()

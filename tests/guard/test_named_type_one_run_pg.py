"""DBS141 (an ENUM created again by a later revision) said of the guarded run: `plan` and
`upgrade`'s preflight lint the pending revisions, and where both the revision that made the
type and the one making it again are pending, the run applies both in one alembic session
carrying SQLAlchemy's memo, as one `alembic upgrade` does: it passes, and DBS141 is a note
saying so. OpenStack tacker's `upgrade +3` over `a23ebee909a8` .. `3ff50553e9d3` was refused
on it, and applied when allowed (task 544). Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import Settings
from dbsafe.core import Severity
from dbsafe.guard.upgrade import UpgradeOptions
from tests.lint.test_capture import write_history

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

_REVISIONS = {
    "m01": '''
def upgrade():
    op.create_table("occurrences", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("operation", sa.Enum("INSTANTIATE", "SCALE", name="operation")))
''',
    "m02": '''
def upgrade():
    op.execute("CREATE TABLE between_them (id int)")
''',
    "m03": '''
def upgrade():
    op.create_table("grant_requests", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("operation", sa.Enum("INSTANTIATE", "SCALE", name="operation")))
''',
}

_THIS_RUN = ("applies `m01` and `m03` in one alembic session, which carries the memo from "
             "revision to revision as one `alembic upgrade` does: `m03` skips the CREATE TYPE "
             "and passes. A database stopped between them (an earlier release's upgrade) "
             "still fails there.")


def _settings(root: Path, url: str) -> Settings:
    # (the revisions' downgrade() is `pass`: DBS210/DBS602, accepted below; DBS209's
    # `serial` keys are warnings, and --fail-on error is what the DBA of tacker passed)
    return Settings(project_root=root, database_url=url, use_cache=False,
                    ignore=("DBS115", "DBS210"), fail_on=Severity.ERROR)


def test_plan_says_dbs141_of_two_pending_revisions_as_a_note_of_this_run(
        tmp_path: Path, database_url: str) -> None:
    write_history(tmp_path, _REVISIONS)

    report = commands.plan(_settings(tmp_path, database_url))

    [again] = [f for f in report.findings if f.code == "DBS141"]
    assert again.severity is Severity.NOTE
    assert dict(again.context)["This run"] == _THIS_RUN
    assert "a database at `m02` upgraded by a command of its own fails" in again.message


def test_upgrade_over_both_revisions_is_not_refused_on_dbs141_and_applies(
        tmp_path: Path, database_url: str) -> None:
    write_history(tmp_path, _REVISIONS)

    report = commands.upgrade(_settings(tmp_path, database_url), UpgradeOptions(
        backup=False, allow_irreversible=True, backup_dir=tmp_path / "backups"))

    assert report.summary["outcome"] == "applied", report.findings
    [again] = [f for f in report.findings if f.code == "DBS141"]
    assert again.severity is Severity.NOTE
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("m03",)]
        assert conn.execute("SELECT to_regclass('grant_requests') IS NOT NULL").fetchone() \
            == (True,)

"""DBS141: a revision whose table creates an ENUM an earlier revision created. Within one
`alembic upgrade` SQLAlchemy's DDL memo skips the second `CREATE TYPE`, so lint's capture
(from empty, one command) ran it cleanly; a database at the revision in between, upgraded
by a command of its own, fails (OpenStack tacker's `3ff50553e9d3`, task 523). Real
PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbsafe import commands
from dbsafe.config import Settings
from dbsafe.core import DbsafeError, Report
from tests.helpers import at_revision
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
    # flagged: the type again, by name
    "m03": '''
def upgrade():
    op.create_table("grant_requests", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("operation", sa.Enum("INSTANTIATE", "SCALE", name="operation")))
''',
    # not flagged: the type used, not created (`create_type=False`)
    "m04": '''
from sqlalchemy.dialects import postgresql


def upgrade():
    operation = postgresql.ENUM("INSTANTIATE", "SCALE", name="operation", create_type=False)
    op.create_table("grants", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("operation", operation))
''',
    # not flagged: created checking first (a metadata's create_all(checkfirst=True))
    "m05": '''
def upgrade():
    metadata = sa.MetaData()
    sa.Table("audits", metadata, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("operation", sa.Enum("INSTANTIATE", "SCALE", name="operation")))
    metadata.create_all(op.get_bind(), checkfirst=True)
''',
    # not flagged: two tables of one revision share a new type (one command runs both)
    "m06": '''
def upgrade():
    op.create_table("a", sa.Column("mood", sa.Enum("x", "y", name="mood")))
    op.create_table("b", sa.Column("mood", sa.Enum("x", "y", name="mood")))
''',
    "m07": '''
def upgrade():
    op.create_table("c", sa.Column("state", sa.Enum("on", "off", name="state")))
''',
    "m08": '''
def upgrade():
    op.drop_table("c")
    op.execute("DROP TYPE state")
''',
    # not DBS141: `state` was dropped in between, so run alone this revision creates it; from
    # empty in one command the memo skips it and the CREATE TABLE fails (DBS005)
    "m09": '''
def upgrade():
    op.create_table("d", sa.Column("state", sa.Enum("on", "off", name="state")))
''',
}


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory,
            module_one_server_throwaways: None) -> tuple[Path, Report]:
    root = tmp_path_factory.mktemp("named_types")
    write_history(root, _REVISIONS)
    return root, commands.lint(_settings(root))


def _settings(root: Path) -> Settings:
    return Settings(project_root=root, select=("DBS141", "DBS005"))


def test_an_enum_created_again_by_a_later_revision_is_flagged_there(
        history: tuple[Path, Report]) -> None:
    _, report = history
    flagged = [f for f in report.findings if f.code == "DBS141"]
    assert [(f.location.path, f.location.line, f.subject) for f in flagged if f.location] == [
        ("migrations/versions/m03.py", 17, "operation")]
    [finding] = flagged
    assert finding.message == (
        "Revision `m03` creates ENUM `operation` again, which revision `m01` (line 17) "
        "created: one `alembic upgrade` from before `m01` skips it, but a database at `m02` "
        "upgraded by a command of its own fails with `type \"operation\" already exists`.")
    assert dict(finding.context)["Statement"].startswith("CREATE TABLE grant_requests")


def test_the_cached_capture_keeps_what_the_memo_skipped(history: tuple[Path, Report]) -> None:
    root, report = history
    again = commands.lint(_settings(root))
    assert any(line.endswith("cached.") for line in again.summary["lines"])
    assert [f for f in again.findings if f.code == "DBS141"] == [
        f for f in report.findings if f.code == "DBS141"]


def test_a_type_dropped_in_between_is_not_flagged_but_the_failure_is_said(
        history: tuple[Path, Report]) -> None:
    _, report = history
    [failed] = [f for f in report.findings if f.code == "DBS005"]
    assert dict(failed.context).get("Revision", "m09") == "m09" and "m09" in failed.message
    assert 'type "state" does not exist' in failed.message


def test_the_revision_flagged_fails_on_a_database_at_the_revision_before_it(
        history: tuple[Path, Report], database_url: str) -> None:
    # What the finding claims, on PostgreSQL itself: one command per revision stops at m03
    # (the capture, one command from empty, applied it).
    from dbsafe.migrate import AlembicProject, apply

    root, _ = history
    ini = root / "alembic.ini"
    at_revision(database_url, ini, "m02")
    with pytest.raises(DbsafeError, match='type "operation" already exists'):
        apply(AlembicProject(ini), database_url, [("upgrade", "m03")])


@pytest.mark.xdist_group("sqlalchemy14")  # the worker that built the venv
def test_sqlalchemy_14_s_memo_is_read_too(sqlalchemy14_python: str, tmp_path: Path) -> None:
    root = tmp_path / "legacy"
    write_history(root, {k: _REVISIONS[k] for k in ("m01", "m02", "m03", "m04")})
    report = commands.lint(Settings(project_root=root, python=sqlalchemy14_python,
                                    select=("DBS141",), use_cache=False))
    assert [(f.location.path, f.subject) for f in report.findings if f.location] == [
        ("migrations/versions/m03.py", "operation")]

"""verify-reversible runs every alembic command of its walk in one child process: against
real PostgreSQL, what a revision leaves in its module does not fail the next command (a
fresh `alembic` run would not), and a revision that fails only when the walk applies it a
second time is reported on that revision in every walk mode, never as dbsafe's own error.
What the child reports of a failure names the revision and reads the same in every run."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from dbsafe.gates import reversible
from dbsafe.migrate.runner import MigrationError
from tests.gates.histories import MODES, write_history

pytestmark = pytest.mark.db


# apache-airflow 2.10.5's 0102 (switch_xcom_table_to_use_run_id): upgrade() and downgrade()
# each describe the old or new `xcom` with `Table("xcom", metadata, ...)` on a MetaData of
# the module. Run twice in one process, the second `Table` raises "Table 'xcom' is already
# defined for this MetaData instance".
MODULE_METADATA = '''\
import sqlalchemy as sa
from alembic import op

metadata = sa.MetaData()


def upgrade():
    xcom = sa.Table("xcom", metadata, sa.Column("id", sa.Integer), sa.Column("v", sa.Integer))
    op.execute(xcom.update().values(v=1))
    op.add_column("xcom", sa.Column("w", sa.Integer))


def downgrade():
    xcom = sa.Table("xcom", metadata, sa.Column("id", sa.Integer), sa.Column("w", sa.Integer))
    op.execute(xcom.update().values(w=None))
    op.drop_column("xcom", "w")
'''




def _found(result: reversible.WalkResult) -> list[tuple[str, str | None]]:
    return [(f.code, f.subject) for f in result.findings]


@pytest.mark.parametrize("mode", MODES)
def test_a_table_added_to_the_revisions_own_metadata_is_no_failure_when_it_runs_again(
        tmp_path: Path, database_url: str, more_databases: Callable[[], str],
        mode: str) -> None:
    project = write_history(tmp_path, [
        ("CREATE TABLE xcom (id int PRIMARY KEY, v int)", "DROP TABLE xcom"),
        MODULE_METADATA,
        # leaves an index: the stairway reads "before" from its twin, brought through
        # 0002 by the walk's child
        ("CREATE TABLE t3 (id int); CREATE INDEX ix_left ON xcom (v)", "DROP TABLE t3"),
        ("CREATE TABLE t4 (id int)", "DROP TABLE t4"),
        ("CREATE TABLE t5 (id int)", "DROP TABLE t5"),
    ])

    result = reversible.walk(project, database_url, root=tmp_path,
                             new_database=more_databases, **MODES[mode])  # type: ignore[arg-type]

    # Before: the stairway stopped (MigrationError, exit 2) on the twin's upgrade of 0002,
    # after a DBS412 on it; the fast walk reported DBS412 on 0002 ("already defined").
    assert _found(result) == [("DBS413", "0003")]
    assert result.walked == ("0001", "0002", "0003", "0004", "0005")


@pytest.fixture
def role(database_url: str) -> Iterator[str]:
    """A role name of this test only; dropped afterwards (roles are the server's)."""
    name = f"dbsafe_walk_{uuid.uuid4().hex[:8]}"
    yield name
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'DROP ROLE IF EXISTS "{name}"'.encode())


def _failed_again(result: reversible.WalkResult, revision: str) -> None:
    finding = next(f for f in result.findings if f.subject == revision)
    assert finding.code == "DBS417"
    assert "already exists" in finding.message
    assert finding.location is not None
    assert finding.location.path.endswith(f"{revision}_step.py")


def test_a_revision_failing_on_the_stairways_rebuilt_database_is_reported_on_it(
        tmp_path: Path, database_url: str, more_databases: Callable[[], str],
        role: str) -> None:
    # 0002 creates a role: the server's, so a fresh database of the same server cannot
    # apply it while the walk's database holds it. 0003's re-upgrade fails on the row its
    # downgrade left: the stairway rebuilds a database through 0002.
    project = write_history(tmp_path, [
        ("CREATE TABLE kept (id int PRIMARY KEY)", "DROP TABLE kept"),
        (f"CREATE ROLE {role}", f"DROP ROLE {role}"),
        ("INSERT INTO kept VALUES (3); CREATE TABLE t3 (id int)", "DROP TABLE t3"),
        ("CREATE TABLE t4 (id int)", "DROP TABLE t4"),
    ])

    result = reversible.walk(project, database_url, root=tmp_path,
                             new_database=more_databases, fast_min=None)

    # Before: MigrationError (exit 2) "revision 0002 ...: role ... already exists".
    assert [f.code for f in result.findings] == ["DBS415", "DBS417"]
    assert result.findings[0].subject == "0003"
    _failed_again(result, "0002")
    assert dict(result.findings[1].context)["Note"].startswith("it applied once")
    assert result.not_verified == ("0004",)


def test_a_revision_failing_on_the_stairways_twin_is_reported_on_it(
        tmp_path: Path, database_url: str, more_databases: Callable[[], str],
        role: str) -> None:
    # 0003 leaves an index: "before" comes from the twin, which cannot apply 0002.
    project = write_history(tmp_path, [
        ("CREATE TABLE t1 (id int)", "DROP TABLE t1"),
        (f"CREATE ROLE {role}", f"DROP ROLE {role}"),
        ("CREATE TABLE t3 (id int); CREATE INDEX ix_left ON t1 (id)", "DROP TABLE t3"),
        ("CREATE TABLE t4 (id int)", "DROP TABLE t4"),
    ])

    result = reversible.walk(project, database_url, root=tmp_path,
                             new_database=more_databases, fast_min=None)

    # Before: MigrationError (exit 2) from the twin's upgrade.
    assert [f.code for f in result.findings] == ["DBS417"]
    _failed_again(result, "0002")
    assert result.walked == ("0001", "0002")
    assert result.not_verified == ("0003", "0004")


def test_a_revision_failing_on_the_fast_walks_fresh_database_is_reported_on_it(
        tmp_path: Path, database_url: str, more_databases: Callable[[], str],
        role: str) -> None:
    # 0004's downgrade raises: the fast walk goes on from a fresh database at 0003, which
    # cannot apply 0002 (the role is the server's, still held by the first database).
    project = write_history(tmp_path, [
        ("CREATE TABLE t1 (id int)", "DROP TABLE t1"),
        (f"CREATE ROLE {role}", f"DROP ROLE {role}"),
        ("CREATE TABLE t3 (id int)", "DROP TABLE t3"),
        ("CREATE TABLE t4 (id int)", "SELECT 1 / 0; DROP TABLE t4"),
        ("CREATE TABLE t5 (id int)", "DROP TABLE t5"),
    ])

    result = reversible.walk(project, database_url, root=tmp_path,
                             new_database=more_databases, fast_min=1, split_min=None)

    # Before: MigrationError (exit 2) from the fast walk's fresh database. Now the stretch
    # goes to the stairway, which meets 0002 on its own fresh database.
    assert [f.code for f in result.findings] == ["DBS417"]
    _failed_again_or_first(result, "0002")
    assert result.walked == ("0001",)
    assert result.not_verified == ("0002", "0003", "0004", "0005")


def _failed_again_or_first(result: reversible.WalkResult, revision: str) -> None:
    finding = next(f for f in result.findings if f.subject == revision)
    assert finding.code == "DBS417"
    assert "already exists" in finding.message


def test_a_revision_that_does_not_import_is_the_error_said_not_a_silent_child(
        tmp_path: Path, database_url: str, more_databases: Callable[[], str]) -> None:
    # CTFd's revisions import `CTFd.models`; under an interpreter without it, the walk's
    # child failed while loading the history and said so only in a file no one read:
    # "env.py under ... ended (exit 0) before it answered".
    project = write_history(tmp_path, [
        ("CREATE TABLE t1 (id int)", "DROP TABLE t1"),
        "import not_installed_app.models  # noqa: F401\n\n\ndef upgrade():\n    pass\n\n\n"
        "def downgrade():\n    pass\n",
    ])

    with pytest.raises(MigrationError) as caught:
        reversible.walk(project, database_url, root=tmp_path, new_database=more_databases)

    assert ("migrations/versions/0002_step.py:5: ModuleNotFoundError: No module named "
            "'not_installed_app'") in str(caught.value)


def test_a_downgrade_failing_on_an_objects_repr_reads_the_same_in_every_run(
        tmp_path: Path, database_url: str, more_databases: Callable[[], str]) -> None:
    # mealie's and CTFd's autogenerated `op.drop_constraint(None, "challenges", ...)`:
    # SQLAlchemy's message holds a repr with the object's address, which made the DBS412
    # message differ from run to run.
    project = write_history(tmp_path, [
        ("CREATE TABLE parent (id int PRIMARY KEY); CREATE TABLE child (id int, parent_id int)",
         "DROP TABLE child; DROP TABLE parent"),
        "from alembic import op\n\n\ndef upgrade():\n"
        "    op.create_foreign_key(None, 'child', 'parent', ['parent_id'], ['id'])\n\n\n"
        "def downgrade():\n    op.drop_constraint(None, 'child', type_='foreignkey')\n",
    ])

    messages = [
        [(f.code, f.message) for f in reversible.walk(
            project, url, root=tmp_path, new_database=more_databases).findings]
        for url in (database_url, more_databases())]

    assert messages[0] == messages[1]
    assert messages[0][0][0] == "DBS412"
    assert "Can't emit DROP CONSTRAINT for constraint ForeignKeyConstraint(" in messages[0][0][1]
    assert " at 0x" not in messages[0][0][1]


# FlexMeasures' 7f8b8920355f and ad98460751d9 ask before dropping tables:
# `click.confirm("This downgrade drops the tables ... Continue?", abort=True)`.
ASKS = '''\
import click
from alembic import op


def upgrade():
    op.execute("CREATE TABLE asked (id int)")


def downgrade():
    {ask}
    op.execute("DROP TABLE asked")
'''


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("ask", "error"), [
    ('input("This downgrade drops the table asked. Continue? ")', "EOF when reading a line"),
    ('click.confirm("This downgrade drops the table asked. Continue?", abort=True)',
     "Abort"),
], ids=["input", "click"])
def test_a_downgrade_asking_on_stdin_reads_end_of_file_and_the_walk_goes_on(
        tmp_path: Path, database_url: str, more_databases: Callable[[], str], ask: str,
        error: str) -> None:
    project = write_history(tmp_path, [
        ("CREATE TABLE t1 (id int)", "DROP TABLE t1"),
        ASKS.format(ask=ask),
        ("CREATE TABLE t3 (id int)", "DROP TABLE t3"),
    ])

    result = reversible.walk(project, database_url, root=tmp_path,
                             new_database=more_databases, fast_min=None)

    # Before: input() read the walk child's request pipe and waited there forever.
    [asked] = result.findings
    assert (asked.code, asked.subject) == ("DBS412", "0002")
    assert f"{error} (it asked on stdin, which is at end of file under dbsafe, as under " \
        "CI)" in asked.message
    assert result.walked == ("0001", "0002", "0003")


# Langflow's b2fa308044b5: downgrade() wraps its operations in `try: ... except Exception:
# logger.exception(...)`, so a failed statement leaves the transaction aborted and the
# function returns; alembic's own UPDATE of the version table then fails (25P02), in no
# frame of the revision file. The walk ended in exit 2 naming env.py.
SWALLOWS = '''\
from alembic import op


def upgrade():
    op.execute("CREATE TABLE swallowed (id int)")


def downgrade():
    try:
        op.execute("DROP TABLE no_such_table")
    except Exception:
        pass
'''


def test_a_downgrade_that_swallows_its_error_fails_on_its_revision_and_the_walk_goes_on(
        tmp_path: Path, database_url: str, more_databases: Callable[[], str]) -> None:
    project = write_history(tmp_path, [
        ("CREATE TABLE t1 (id int)", "DROP TABLE t1"),
        SWALLOWS,
        ("CREATE TABLE t3 (id int)", "DROP TABLE t3"),
    ])

    result = reversible.walk(project, database_url, root=tmp_path,
                             new_database=more_databases, fast_min=None)

    [swallowed] = result.findings
    assert (swallowed.code, swallowed.subject) == ("DBS412", "0002")
    assert "current transaction is aborted" in swallowed.message
    assert result.walked == ("0001", "0002", "0003")

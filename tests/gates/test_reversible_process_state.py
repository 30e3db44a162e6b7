"""verify-reversible runs every alembic command of its walk in one child process: against
real PostgreSQL, what a revision leaves in its module does not fail the next command (a
fresh `alembic` run would not), and a revision that fails only when the walk applies it a
second time is reported on that revision in every walk mode, never as dbsafe's own error."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from dbsafe.gates import reversible
from dbsafe.migrate.runner import AlembicProject

pytestmark = pytest.mark.db

ENV_PY = '''\
from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
'''

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


def _write(root: Path, revisions: list[tuple[str, str] | str]) -> AlembicProject:
    """One revision per item: (upgrade SQL, downgrade SQL) statements separated by `;`, or
    a module's whole body after its identifiers."""
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/migrations\n")
    (root / "migrations" / "env.py").write_text(ENV_PY)
    for i, item in enumerate(revisions, 1):
        head = (f'"""step {i}"""\nrevision = "{i:04d}"\n'
                f"down_revision = {repr(f'{i - 1:04d}') if i > 1 else None}\n\n")
        if isinstance(item, str):
            body = item
        else:
            up, down = ([s for s in part.split(";") if s.strip()] for part in item)
            body = ("from alembic import op\n\n\ndef upgrade():\n"
                    + "".join(f"    op.execute({s!r})\n" for s in up) + "    pass\n"
                    "\n\ndef downgrade():\n"
                    + "".join(f"    op.execute({s!r})\n" for s in down) + "    pass\n")
        (versions / f"{i:04d}_step.py").write_text(head + body)
    return AlembicProject(root / "alembic.ini")


MODES = {
    "stairway": {"fast_min": None},
    "fast": {"fast_min": 1, "split_min": None},
    "split": {"fast_min": 1, "split_min": 2},
}


def _found(result: reversible.WalkResult) -> list[tuple[str, str | None]]:
    return [(f.code, f.subject) for f in result.findings]


@pytest.mark.parametrize("mode", MODES)
def test_a_table_added_to_the_revisions_own_metadata_is_no_failure_when_it_runs_again(
        tmp_path: Path, database_url: str, more_databases: Callable[[], str],
        mode: str) -> None:
    project = _write(tmp_path, [
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

"""Histories with labelled branches and `depends_on` (OpenStack's expand/contract shape:
neutron, keystone): `dbsafe upgrade`/`downgrade`/`status`/`lint --since` name and order
revisions as alembic applies them, on real PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import Settings, load_settings
from dbsafe.core import DbsafeError
from dbsafe.guard.downgrade import DowngradeOptions
from dbsafe.guard.upgrade import UpgradeOptions
from dbsafe.migrate import AlembicProject, apply
from tests.helpers import at_revision
from tests.migrate.projects import write_project

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

# Two branches above 0004, each with a label; the contract branch's revision needs the
# expand branch's column and says so with `depends_on`, as neutron's contract revisions do.
EXPAND_1 = '''"""expand: patients.nickname"""
from alembic import op

revision = "e1"
down_revision = "0004"
branch_labels = ("expand",)


def upgrade():
    op.execute("ALTER TABLE patients ADD COLUMN nickname text")


def downgrade():
    op.execute("ALTER TABLE patients DROP COLUMN nickname")
'''

EXPAND_2 = '''"""expand: tags"""
from alembic import op

revision = "e2"
down_revision = "e1"


def upgrade():
    op.execute("CREATE TABLE tags (id bigint PRIMARY KEY)")


def downgrade():
    op.execute("DROP TABLE tags")
'''

CONTRACT_1 = '''"""contract: a default for patients.nickname"""
from alembic import op

revision = "c1"
down_revision = "0004"
branch_labels = ("contract",)
depends_on = "e1"


def upgrade():
    op.execute("ALTER TABLE patients ALTER COLUMN nickname SET DEFAULT ''")


def downgrade():
    op.execute("ALTER TABLE patients ALTER COLUMN nickname DROP DEFAULT")
'''


def _project(root: Path, url: str) -> Path:
    write_project(root, "well_behaved")
    (root / "app" / "queries.sql").write_text("SELECT id, name FROM patients;\n")
    versions = root / "migrations" / "versions"
    (versions / "e1_expand.py").write_text(EXPAND_1)
    (versions / "e2_expand.py").write_text(EXPAND_2)
    (versions / "c1_contract.py").write_text(CONTRACT_1)
    at_revision(url, root / "alembic.ini", "0004")
    return root


def _settings(root: Path, url: str):
    return load_settings(root, {"database-url": url, "cache": False}, environ={})


def _upgrade(root: Path, url: str, tmp_path: Path, target: str | None) -> dict[str, Any]:
    options = UpgradeOptions(target=target, backup=False, allow=("DBS202",),
                             backup_dir=tmp_path / "backups", retry_delay=0.05)
    report = commands.upgrade(_settings(root, url), options)
    assert report.summary["outcome"] == "applied", "\n".join(report.summary["what_happened"]) + repr(report.findings)
    return report.summary


def _versions(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return sorted(r[0] for r in conn.execute("SELECT version_num FROM alembic_version"))


def test_an_upgrade_to_a_revision_applies_what_it_depends_on_first(database_url: str,
                                                                   tmp_path: Path) -> None:
    root = _project(tmp_path / "p", database_url)
    pending = [r["revision"] for r in commands.status(_settings(root, database_url))
               .summary["pending"]]
    assert sorted(pending) == ["c1", "e1", "e2"] and pending.index("e1") < pending.index("c1")

    # alembic runs e1 on the way to c1: dbsafe lints, checks and applies it, in that order
    summary = _upgrade(root, database_url, tmp_path, "c1")

    assert summary["applied"] == ["e1", "c1"]
    assert _versions(database_url) == ["c1"]  # e1 is implied by c1, as alembic records it
    pending = commands.status(_settings(root, database_url)).summary["pending"]
    assert [r["revision"] for r in pending] == ["e2"]


def test_a_branch_label_names_the_head_of_its_branch(database_url: str,
                                                     tmp_path: Path) -> None:
    root = _project(tmp_path / "p", database_url)

    with pytest.raises(DbsafeError, match=r"2 heads .*`contract@head`, `expand@head` one"):
        commands.upgrade(_settings(root, database_url),
                         UpgradeOptions(backup=False, backup_dir=tmp_path / "backups"))

    assert _upgrade(root, database_url, tmp_path, "expand@head")["applied"] == ["e1", "e2"]
    assert _versions(database_url) == ["e2"]
    assert _upgrade(root, database_url, tmp_path, "contract@head")["applied"] == ["c1"]
    assert _versions(database_url) == ["c1", "e2"]
    assert commands.status(_settings(root, database_url)).summary["pending"] == []


def test_a_downgrade_on_one_branch_leaves_the_other_where_it_is(database_url: str,
                                                                 tmp_path: Path) -> None:
    root = _project(tmp_path / "p", database_url)
    apply(AlembicProject(root / "alembic.ini"), database_url, [("upgrade", "heads")])
    assert _versions(database_url) == ["c1", "e2"]

    # alembic undoes e2 only: c1 stays, and with it e1, which c1 depends on (the version
    # table then holds c1 alone)
    report = commands.downgrade(_settings(root, database_url),
                                DowngradeOptions(target="e1", backup=False, yes=True))

    assert report.summary["outcome"] == "downgraded", report.summary["what_happened"]
    assert "preflight: 1 revision(s) to undo: e2" in report.summary["what_happened"]
    assert _versions(database_url) == ["c1"]
    assert not report.findings


def test_lint_since_a_revision_leaves_out_what_it_depends_on(tmp_path: Path,
                                                            database_url: str) -> None:
    root = _project(tmp_path / "p", database_url)
    e1 = root / "migrations" / "versions" / "e1_expand.py"
    e1.write_text(e1.read_text().replace(
        'ADD COLUMN nickname text")',
        'ADD COLUMN nickname text")\n    op.execute("CREATE INDEX ix_name ON patients (name)")'))

    # a database at c1 has e1 too: after c1 comes e2 alone
    report = commands.lint(Settings(project_root=root, ignore=("DBS115",)), since="c1")

    assert {dict(f.context).get("Revision") for f in report.findings} <= {"e2"}
    assert "DBS101" in {f.code for f in commands.lint(
        Settings(project_root=root, ignore=("DBS115",)), since="0004").findings}

"""The migrations caches (lint's capture, the schema validate, `schema dump` and `diff`
build) against what env.py and the revisions import from outside the migrations folder.

A revision that reads a value from the project's own code (`from myapp.models import
NOTE_COLUMN`, an enum's values, a helper that creates tables) or from an installed package
builds another schema once that code changes, though no file of the migrations folder did.
Each test builds on a real throwaway server, changes only the imported code, and reads
what PostgreSQL built the second time.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from dbsafe import commands
from dbsafe.config import Settings, load_settings
from dbsafe.lint.run import load
from dbsafe.sources import load_schema
from tests.migrate.projects import ALEMBIC_INI, ENV_PY

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

REVISION = '''"""orders, their note column named by the application's models"""
import sqlalchemy as sa
from alembic import op

from myapp.models import NOTE_COLUMN
from fakepkg import STATUS_COLUMN

revision = "r01"
down_revision = None


def upgrade():
    op.create_table("orders", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column(NOTE_COLUMN, sa.Text), sa.Column(STATUS_COLUMN, sa.Text))


def downgrade():
    op.drop_table("orders")
'''


def _project(root: Path) -> Path:
    """An alembic project whose revision imports `myapp.models` (the project's code) and
    `fakepkg` (a distribution installed in `site/`, version 1.0)."""
    root.mkdir(parents=True, exist_ok=True)
    ini = ALEMBIC_INI.format(url="driver://user:pass@localhost/dbname").replace(
        "prepend_sys_path = .", "prepend_sys_path = . site")
    (root / "alembic.ini").write_text(ini)
    (root / "migrations" / "versions").mkdir(parents=True)
    (root / "migrations" / "env.py").write_text(ENV_PY["well_behaved"])
    (root / "migrations" / "versions" / "r01.py").write_text(REVISION)
    (root / "myapp").mkdir()
    (root / "myapp" / "__init__.py").write_text("")
    (root / "myapp" / "models.py").write_text('NOTE_COLUMN = "note"\n')
    _install_fakepkg(root / "site", "1.0", "status")
    return root


def _install_fakepkg(site: Path, version: str, column: str) -> None:
    """`fakepkg` at `version` in `site`, as pip lays a wheel out: the module and a
    .dist-info folder whose RECORD lists it; an older version's folder is removed."""
    for old in site.glob("fakepkg-*.dist-info"):
        for file in old.iterdir():
            file.unlink()
        old.rmdir()
    (site / "fakepkg").mkdir(parents=True, exist_ok=True)
    (site / "fakepkg" / "__init__.py").write_text(f'STATUS_COLUMN = "{column}"\n')
    info = site / f"fakepkg-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: fakepkg\nVersion: {version}\n")
    (info / "RECORD").write_text(f"fakepkg/__init__.py,,\nfakepkg-{version}.dist-info/METADATA,,\n"
                                 f"fakepkg-{version}.dist-info/RECORD,,\n")


def _columns(root: Path) -> set[str]:
    """The columns of `orders` in the schema the migrations build (`schema dump`: read
    from the throwaway server, or from the cache)."""
    settings = load_settings(root, {"schema-source": "migrations"}, environ={})
    dumped = commands.schema_dump(settings)
    [orders] = [r for r in dumped.relations if r.name == "orders"]
    return {c.name for c in orders.columns}


def _edit(path: Path, text: str) -> None:
    """Write `text` to `path`, its mtime moved on (a file system with a coarse clock could
    otherwise keep the old one)."""
    before = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + 2_000_000_000, before + 2_000_000_000))


def test_the_schema_is_built_again_when_an_imported_project_module_changes(
        tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    assert _columns(root) == {"id", "note", "status"}
    _edit(root / "myapp" / "models.py", 'NOTE_COLUMN = "remark"\n')
    assert _columns(root) == {"id", "remark", "status"}
    # diff's `migrations` side is cached the same way, under a key of its own
    settings = load_settings(root, {"schema-source": "migrations"}, environ={})
    (tmp_path / "now.json").write_text(commands.schema_dump(settings).to_json())
    _edit(root / "myapp" / "models.py", 'NOTE_COLUMN = "memo"\n')
    report = commands.diff(settings, "migrations", str(tmp_path / "now.json"))
    assert {f.subject for f in report.findings} == {"public.orders.memo",
                                                     "public.orders.remark"}


def test_the_schema_is_built_again_when_an_imported_distribution_is_replaced(
        tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    assert _columns(root) == {"id", "note", "status"}
    _install_fakepkg(root / "site", "2.0", "state")
    assert _columns(root) == {"id", "note", "state"}


def test_a_touched_module_with_the_same_content_keeps_the_cache(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    settings = load_settings(root, {"schema-source": "migrations"}, environ={})
    with load_schema(settings) as source:
        assert not source.description.endswith("(cached)")
    _edit(root / "myapp" / "models.py", 'NOTE_COLUMN = "note"\n')
    with load_schema(settings) as source:
        assert source.description.endswith("(cached)")


def test_lint_captures_again_when_an_imported_project_module_changes(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    settings = Settings(project_root=root)
    first = load(settings)
    [create] = [s.sql for m in first.migrations for s in m.statements if "CREATE TABLE" in s.sql]
    assert re.search(r"\bnote\b", create)
    assert load(settings).lines[0].endswith(", cached.")
    _edit(root / "myapp" / "models.py", 'NOTE_COLUMN = "remark"\n')
    again = load(settings)
    assert not again.lines[0].endswith("cached.")
    [create] = [s.sql for m in again.migrations for s in m.statements if "CREATE TABLE" in s.sql]
    assert re.search(r"\bremark\b", create) and not re.search(r"\bnote\b", create)
    assert load(settings).lines[0].endswith(", cached.")


READING_REVISION = '''"""a view whose SQL the revision reads from the project's sql/ folder"""
from pathlib import Path

from alembic import op

revision = "r02"
down_revision = "r01"
HERE = Path(__file__).resolve().parents[2]


def upgrade():
    op.execute(open(HERE / "sql" / "view.sql").read())
    # a file written by the run is no input of it: it must not spoil the cache
    (HERE / "build.log").write_text("upgraded")


def downgrade():
    op.execute("DROP VIEW order_notes")
'''


def test_the_schema_is_built_again_when_a_file_a_revision_reads_changes(
        tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    (root / "sql").mkdir()
    (root / "sql" / "view.sql").write_text("CREATE VIEW order_notes AS SELECT id, note FROM orders")
    (root / "migrations" / "versions" / "r02.py").write_text(READING_REVISION)
    settings = load_settings(root, {"schema-source": "migrations"}, environ={})

    def view_columns() -> tuple[set[str], bool]:
        with load_schema(settings) as source:
            [view] = [r for r in source.snapshot.relations if r.name == "order_notes"]
            return {c.name for c in view.columns}, source.description.endswith("(cached)")

    assert view_columns() == ({"id", "note"}, False)
    assert view_columns() == ({"id", "note"}, True)
    _edit(root / "sql" / "view.sql",
          "CREATE VIEW order_notes AS SELECT id, note, status FROM orders")
    assert view_columns() == ({"id", "note", "status"}, False)
    assert view_columns() == ({"id", "note", "status"}, True)

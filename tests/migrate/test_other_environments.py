"""Other alembic environments of the same alembic.ini (`alembic -n NAME upgrade head`) are
applied beside the main one when validate builds the schema from the migrations.

Onyx (onyx-dot-app/onyx, `backend/alembic.ini`) keeps its tenants' tables in `[alembic]`
and the tables of its shared `public` schema (`tenant_shard`, `user_tenant_mapping`) in
`[schema_private]` (`alembic_tenants/`), which its multi-tenant deployments run too: 8 false
DBS301 on what only the second makes. Each environment gets a version table of its own on
the throwaway; one that fails is left out with a warning. Real PostgreSQL.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.migrate.fingerprint import other_environments
from tests.migrate.projects import write_project

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

_TENANTS_REVISION = '''"""tenant shards"""
from alembic import op

revision = "t001"
down_revision = None


def upgrade():
    op.execute("CREATE TABLE tenant_shard (tenant_id text PRIMARY KEY, shard_name text)")


def downgrade():
    op.execute("DROP TABLE tenant_shard")
'''
_SECTION = "\n[schema_private]\nscript_location = %(here)s/tenants\n"


def _project(root: Path, *, env_py: str | None = None) -> Path:
    ini = write_project(root, "well_behaved")
    ini.write_text(ini.read_text() + _SECTION)
    (root / "tenants" / "versions").mkdir(parents=True)
    (root / "tenants" / "env.py").write_text(
        env_py or (root / "migrations" / "env.py").read_text())
    (root / "tenants" / "versions" / "t001_tenant_shard.py").write_text(_TENANTS_REVISION)
    (root / "app" / "shards.sql").write_text(
        "SELECT shard_name FROM tenant_shard;\nSELECT region FROM tenant_shard;\n")
    return ini


def _validate(root: Path) -> list[tuple[str, str, int]]:
    settings = load_settings(root, {"cache": False, "schema-source": "migrations"},
                             environ={})
    report = commands.validate(settings, [root / "app"])
    return sorted((f.code, f.location.path, f.location.line)
                  for f in report.findings if f.location)


def test_another_environment_of_the_alembic_ini_is_applied_beside_the_main_one(
        tmp_path: Path) -> None:
    ini = _project(tmp_path)
    assert other_environments(ini) == ["schema_private"]
    assert _validate(tmp_path) == [
        ("DBS302", "app/queries.sql", 1),  # patients.email, dropped by the main history
        ("DBS302", "app/shards.sql", 2)]  # tenant_shard has no region


def test_an_environment_that_fails_is_left_out_with_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _project(tmp_path, env_py="raise RuntimeError('needs the control plane')\n")
    with caplog.at_level(logging.WARNING):
        findings = _validate(tmp_path)
    assert ("DBS301", "app/shards.sql", 1) in findings  # as before: tenant_shard unknown
    assert ("DBS302", "app/queries.sql", 1) in findings
    assert any("[schema_private]" in r.getMessage() and "was not applied" in r.getMessage()
               for r in caplog.records)


def test_the_default_section_and_logging_sections_are_no_environments(tmp_path: Path) -> None:
    ini = tmp_path / "alembic.ini"
    ini.write_text("[DEFAULT]\nscript_location = alembic\n[alembic]\nscript_location = alembic\n"
                   "[loggers]\nkeys = root\n[schema_private]\nscript_location = tenants\n")
    assert other_environments(ini) == ["schema_private"]


def test_diff_of_the_migrations_is_the_main_environments_alone(tmp_path: Path) -> None:
    # alembic documents several environments in one alembic.ini for several databases: each
    # one's tables would be drift in the other's. validate's schema has them all; `schema
    # dump` too (validate's); `diff migrations` the main one's, and the two are cached apart.
    _project(tmp_path)
    settings = load_settings(tmp_path, {"schema-source": "migrations"}, environ={})
    dumped = commands.schema_dump(settings)
    assert {"tenant_shard", "patients"} <= {r.name for r in dumped.relations}
    (tmp_path / "all.json").write_text(dumped.to_json())
    report = commands.diff(settings, "migrations", str(tmp_path / "all.json"))
    assert {f.subject for f in report.findings} == {
        "public.tenant_shard", "public.alembic_version_schema_private"}

"""env.py runs before the revisions are imported, as under `alembic upgrade`: alembic imports
them inside `run_migrations()`, so a revision may read at import what env.py set up.

The project: env.py sets `tenancy.SCHEMA = "tenant"` (the module's default is `public`), and
its revision reads it at import (`TABLE = tenancy.SCHEMA + ".orders"`). dbsafe's child
imported the revisions before env.py and kept those modules for the run: `upgrade` built
`public.orders` where alembic builds `tenant.orders`, `validate` then reported a false
42P01 on `tenant.orders`, and `verify-reversible` a false DBS412 (its downgrade, imported
again, dropped `tenant.orders`)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dbsafe.migrate import runner
from tests.migrate.projects import ENV_PY, write_project

pytestmark = pytest.mark.db

_SCHEMA_REVISION = '''from alembic import op

revision = "0001"
down_revision = None


def upgrade():
    op.execute("CREATE SCHEMA tenant")
'''

_READS_ENV_SETTING = '''from alembic import op

import tenancy

TABLE = tenancy.SCHEMA + ".orders"
revision = "0002"
down_revision = "0001"


def upgrade():
    op.execute(f"CREATE TABLE {TABLE} (id bigint PRIMARY KEY)")


def downgrade():
    op.execute(f"DROP TABLE {TABLE}")
'''


def _project(root: Path) -> runner.AlembicProject:
    ini = write_project(root, "well_behaved")
    versions = root / "migrations" / "versions"
    for old in versions.glob("*.py"):
        old.unlink()
    (versions / "0001_schema.py").write_text(_SCHEMA_REVISION)
    (versions / "0002_orders.py").write_text(_READS_ENV_SETTING)
    (root / "tenancy.py").write_text('SCHEMA = "public"\n')
    (root / "migrations" / "env.py").write_text(
        'import tenancy\ntenancy.SCHEMA = "tenant"\n' + ENV_PY["well_behaved"])
    return runner.AlembicProject(ini)


def _orders(conninfo: str) -> list[tuple[str]]:
    with psycopg.connect(conninfo) as conn:
        return conn.execute("SELECT table_schema FROM information_schema.tables "
                            "WHERE table_name = 'orders'").fetchall()


def test_a_revision_reads_what_env_py_set_up(tmp_path: Path, database_url: str,
                                             conninfo: str) -> None:
    # One request (`dbsafe upgrade`, the schema from the migrations); lint's capture,
    # offline rendering and a session (verify-reversible) list the revisions the same way.
    runner.apply(_project(tmp_path / "p"), database_url)
    assert _orders(conninfo) == [("tenant",)]


# env.py that cannot run twice in one process (oslo.config's `register_cli_opt` once the
# options are parsed, a Flask blueprint or a Prometheus metric registered at module level):
# alembic runs it once per command, and so must dbsafe's child. It ran it once more, offline,
# before importing the revisions.
_RUNS_ONCE = '''import builtins

if getattr(builtins, "_dbsafe_test_env_runs", 0):
    raise RuntimeError("env.py ran twice in one process")
builtins._dbsafe_test_env_runs = 1
'''


def test_env_py_runs_once_per_command(tmp_path: Path, database_url: str, conninfo: str) -> None:
    project = _project(tmp_path / "p")
    env = tmp_path / "p" / "migrations" / "env.py"
    env.write_text(_RUNS_ONCE + env.read_text())

    captured = runner.capture(project, database_url)  # lint's capture: one upgrade
    assert captured.capture_error is None
    assert any("tenant.orders" in c.sql for c in captured.captured)

    # A session, as `dbsafe downgrade` and `upgrade` apply one revision: one command each,
    # env.py run once, the revisions still imported after it (tenant.orders)
    with runner.ApplySession(project, database_url) as session:
        assert [r.revision for r in session.described.revisions] == ["0002", "0001"]
        session.apply([("downgrade", "0001")])
    assert _orders(conninfo) == []
    with runner.ApplySession(project, database_url) as session:
        session.apply([("upgrade", "0002")])
    assert _orders(conninfo) == [("tenant",)]

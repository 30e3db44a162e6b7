"""The database URL env.py is given, read by typed settings: FastAPI services type theirs
as pydantic's `PostgresDsn` (Tasking Manager's `SQLALCHEMY_DATABASE_URI`), which refuses a
URL without a host ("empty host"). dbsafe's throwaway server listens on a Unix socket
only, and the URL named its directory as a `?host=` parameter: lint's capture, validate's
schema from migrations, verify-reversible, drift and the guard's captures all stopped at
env.py's settings. The socket directory is now the URL's host part, percent-encoded
(`postgresql://postgres@%2Ftmp%2F...:5432/db`), which libpq, psycopg 2 and 3, asyncpg and
SQLAlchemy read too, and `config.set_main_option` takes unescaped."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.core import DbsafeError
from dbsafe.migrate import AlembicProject, MigrationError, apply, render_revisions
from tests.migrate.projects import write_project

pytestmark = [
    pytest.mark.db,
    pytest.mark.skipif(
        not all(importlib.util.find_spec(m) for m in ("pydantic", "pydantic_settings")),
        reason="needs pydantic 2 and pydantic-settings (the typed settings under test)"),
]


def _settings(root: Path):
    return load_settings(root, {"cache": False, "schema-source": "migrations"}, environ={})


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # The project's own value is never used: dbsafe sets the variable while env.py runs.
    monkeypatch.setenv("SQLALCHEMY_DATABASE_URI", "postgresql://app@db.internal:5432/app")
    monkeypatch.delenv("APP_OTHER_DATABASE", raising=False)
    root = tmp_path / "typed"
    write_project(root, "typed_settings")
    return root


@pytest.mark.usefixtures("one_server_throwaways")
def test_settings_typed_as_postgres_dsn_capture_lint_and_build_the_schema(
        project: Path) -> None:
    settings = _settings(project)

    lint = commands.lint(settings)
    snapshot = commands.schema_dump(settings)

    codes = {f.code for f in lint.findings}
    assert "DBS211" in codes  # 0004's CREATE INDEX CONCURRENTLY, captured as it ran
    assert not {c for c in codes if c.startswith("DBS0")}, lint.findings
    assert "ix_orders_patient" in snapshot.to_json()


def test_the_url_naming_another_database_of_the_server_is_still_refused(
        project: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with psycopg.connect(database_url) as conn:
        other = conn.execute("SELECT current_database()").fetchone()[0] + "_other"
    monkeypatch.setenv("APP_OTHER_DATABASE", other)

    with pytest.raises(MigrationError) as caught:
        apply(AlembicProject(project / "alembic.ini"), database_url, [("upgrade", "heads")])

    message = str(caught.value)
    assert message.startswith("refused: psycopg.Connection.connect() tried to connect to ")
    assert f"dbname={other}" in message
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT to_regclass('patients')").fetchone() == (None,)


def test_upgrade_of_a_named_database_reached_by_its_socket(
        project: Path, database_url: str) -> None:
    apply(AlembicProject(project / "alembic.ini"), database_url, [("upgrade", "heads")])

    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0004",)


def test_settings_typed_as_postgres_dsn_lint_offline(project: Path) -> None:
    """`lint --offline` (and lint's offline fallback) gives the URL variables a placeholder:
    it was `postgresql://`, no host, and the settings stopped at "empty host" (exit 2)."""
    lint = commands.lint(_settings(project), offline=True)

    codes = {f.code for f in lint.findings}
    assert "DBS211" in codes  # 0004's CREATE INDEX CONCURRENTLY, rendered offline
    assert not {c for c in codes if c.startswith("DBS0")}, lint.findings


def test_settings_typed_as_postgres_dsn_connecting_offline_is_refused(project: Path) -> None:
    """An env.py without an offline branch reaches the database from its typed URL (psycopg,
    straight from the settings): the placeholder it was given is accepted by the settings,
    and the connection is refused by the sandbox, naming the placeholder's host."""
    env = project / "migrations" / "env.py"
    env.write_text(env.read_text().replace("if context.is_offline_mode():",
                                           "if False:  # no offline branch"))

    with pytest.raises(DbsafeError) as raised:
        render_revisions(project / "alembic.ini", root=project)

    message = str(raised.value)
    assert "refused: psycopg.Connection.connect() tried to connect to " in message
    assert "host=dbsafe-offline.invalid" in message and "while rendering offline" in message
    assert "ValidationError" not in message

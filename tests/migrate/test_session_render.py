"""A session's child renders a downgrade offline (`ApplySession.render_downgrade`): the
downgrade preflight starts one child that describes the history, renders the downgrade and
applies it, where it started a second for the render (3.2-3.5 s of fractal-server's
preflight, its models imported again; task 496)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dbsafe.migrate import AlembicProject, MigrationError
from dbsafe.migrate.runner import ApplySession, render_downgrade_offline
from tests.helpers import at_revision
from tests.migrate.projects import write_project

pytestmark = pytest.mark.db


def _version(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("SELECT version_num FROM alembic_version")]


def test_a_session_renders_a_downgrade_as_a_child_of_its_own_does_then_applies(
        database_url: str, tmp_path: Path) -> None:
    ini = write_project(tmp_path / "p", "well_behaved")
    at_revision(database_url, ini, "0004")
    project = AlembicProject(ini)
    alone = render_downgrade_offline(project, "0004", "0002")

    with ApplySession(project, database_url) as session:
        rendered = session.render_downgrade("0004", "0002")
        assert _version(database_url) == ["0004"]  # rendered: nothing ran
        # the session's own database and URL again for what follows
        session.apply([("downgrade", "0003")])

    assert [(text, line) for text, _file, line in rendered.chunks] == [
        (text, line) for text, _file, line in alone.chunks]
    assert [file for _text, file, _line in rendered.chunks] == [
        file for _text, file, _line in alone.chunks]
    sql = "".join(text for text, _file, _line in rendered.chunks)
    assert "DROP INDEX CONCURRENTLY ix_orders_patient" in sql
    assert "ALTER TABLE patients ADD COLUMN email text" in sql
    assert _version(database_url) == ["0003"]


def test_a_session_rendering_connects_to_no_database_not_even_its_own(
        database_url: str, tmp_path: Path) -> None:
    """An env.py that connects whatever the mode is refused while the session renders, as
    in a child of its own: the session's sandbox, which sends its connections to the
    session's database, sends none there while it renders."""
    ini = write_project(tmp_path / "p", "online_only",
                        ini_url="postgresql+psycopg://app@localhost:1/app")
    at_revision(database_url, ini, "0004")

    with ApplySession(AlembicProject(ini), database_url) as session:
        with pytest.raises(MigrationError) as refused:
            session.render_downgrade("0004", "0003")
        assert str(refused.value).startswith("refused: env.py tried to connect"), refused.value
        assert _version(database_url) == ["0004"]
        session.apply([("downgrade", "0003")])  # the session goes on, on its database

    assert _version(database_url) == ["0003"]

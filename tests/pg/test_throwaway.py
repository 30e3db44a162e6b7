"""Throwaway servers start from a template cluster (made by initdb once per user and
PostgreSQL installation, in the user's cache directory) copied into their own directory: a
template is used only when it is this user's own and whole, and any trouble with it falls
back to initdb."""

from __future__ import annotations

import stat
from pathlib import Path

import psycopg
import pytest

from dbsafe.pg.throwaway import throwaway_server

pytestmark = pytest.mark.db


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home


def _template(cache_home: Path) -> Path:
    (found,) = (cache_home / "dbsafe").glob("initdb-*")
    return found


def _mark(template: Path, words: str) -> None:
    """Add a comment to the template's configuration, and record it as whole again."""
    from dbsafe.pg.throwaway import _contents

    with open(template / "data" / "postgresql.conf", "a", encoding="utf-8") as conf:
        conf.write(f"# {words}\n")
    (template / "files").write_text(_contents(template / "data"), encoding="utf-8")


def _configuration(server) -> str:
    with psycopg.connect(server.url()) as conn:
        (path,) = conn.execute("SHOW config_file").fetchone()
    return Path(path).read_text(encoding="utf-8")


def _works(server) -> None:
    with psycopg.connect(server.url("made"), autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY)")
        assert conn.execute("SHOW fsync").fetchone() == ("off",)  # dbsafe's settings came along


def test_the_second_server_is_a_copy_of_the_template_the_first_made(cache_home: Path) -> None:
    with throwaway_server(database="made") as first:
        _works(first)
    template = _template(cache_home)
    assert not stat.S_IMODE(template.stat().st_mode) & 0o077  # the user's own
    _mark(template, "copied from the template")
    with throwaway_server(database="made") as second:
        _works(second)
        assert "# copied from the template" in _configuration(second)
    assert [p.name for p in (cache_home / "dbsafe").iterdir()] == [template.name]


def test_a_template_missing_a_file_is_made_again(cache_home: Path) -> None:
    with throwaway_server():
        pass
    template = _template(cache_home)
    _mark(template, "the old template")
    (template / "data" / "PG_VERSION").unlink()  # as a cleaner of old files might
    with throwaway_server(database="made") as server:
        _works(server)
        assert "# the old template" not in _configuration(server)
    assert (_template(cache_home) / "data" / "PG_VERSION").is_file()


def test_a_template_others_may_write_to_is_not_used(cache_home: Path) -> None:
    with throwaway_server():
        pass
    template = _template(cache_home)
    _mark(template, "planted")
    template.chmod(0o777)
    with throwaway_server(database="made") as server:
        _works(server)
        assert "# planted" not in _configuration(server)  # initdb made this one
    assert "# planted" in (template / "data" / "postgresql.conf").read_text()  # left alone


def test_a_cache_directory_dbsafe_cannot_write_falls_back_to_initdb(
        cache_home: Path) -> None:
    cache_home.write_text("a file where the cache directory would be")
    with throwaway_server(database="made") as server:
        _works(server)

"""`dev-url`: the schemas dbsafe builds from the migrations are built in scratch databases
of the run's own on a server the user names (the project's major version, its extensions)
instead of a throwaway embedded PostgreSQL 18; the run drops what it made there, and only
that; a killed run's database is dropped by the next run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.core import DatabaseError
from dbsafe.pg.dev_server import MARK, PREFIX
from dbsafe.pg.throwaway import on_dev_server, server_key, throwaway_server
from tests.helpers import dbsafe_in_process
from tests.lint.test_capture import write_history

pytestmark = pytest.mark.db

REPO_ROOT = Path(__file__).resolve().parents[2]


def _run_databases(url: str) -> list[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        return [r[0] for r in conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s) ORDER BY 1",
            (PREFIX,))]


def _roles(url: str) -> set[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        return {r[0] for r in conn.execute("SELECT rolname FROM pg_roles")}


@pytest.fixture
def kept_role(database_url: str) -> Iterator[str]:
    """A role the server had before the run (the project's setup makes it too)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS dev_kept")
        conn.execute("CREATE ROLE dev_kept NOLOGIN")
    yield "dev_kept"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS dev_kept")


def _sql_project(root: Path, migration: str, query: str) -> Path:
    (root / "supabase" / "migrations").mkdir(parents=True)
    (root / "supabase" / "migrations" / "20240101000000_init.sql").write_text(migration)
    (root / "src").mkdir()
    (root / "src" / "q.sql").write_text(query)
    (root / "pyproject.toml").write_text("[tool.dbsafe]\n")
    return root


def test_validate_builds_on_the_dev_server_and_drops_only_what_it_made(
        tmp_path: Path, database_url: str, kept_role: str) -> None:
    root = _sql_project(
        tmp_path,
        # (`dev_kept` is the dev server's: on any other, the GRANT fails, a DBS006 note)
        "CREATE ROLE dev_made NOLOGIN;\n"
        "CREATE TABLE places (id int PRIMARY KEY, name text);\n"
        "GRANT SELECT ON places TO dev_made, dev_kept;\n",
        "SELECT id, nope FROM places;\n")
    settings = load_settings(root, {"dev-url": database_url, "cache": False})
    report = commands.validate(settings, [root / "src"])
    assert [(f.code, f.subject) for f in report.findings] == [("DBS302", "public.places.nope")]
    assert _run_databases(database_url) == []  # the run's database and its copies: dropped
    roles = _roles(database_url)
    assert "dev_made" not in roles  # made by the run
    assert kept_role in roles  # there before it: kept
    with psycopg.connect(database_url) as conn:  # the dev-url's own database: untouched
        assert conn.execute("SELECT current_database()").fetchone()


def test_the_run_names_its_databases_after_its_own_and_comments_it(database_url: str) -> None:
    with on_dev_server(database_url), throwaway_server(database="dbsafe") as server:
        own = server.name("dbsafe")
        assert own.startswith(PREFIX)
        assert server.name("dbsafe_walk_3") == f"{own}_dbsafe_walk_3"
        from dbsafe.migrate.setup import copy_database

        copy_database(server, "dbsafe", "dbsafe_walk_3")
        assert _run_databases(database_url) == [own, f"{own}_dbsafe_walk_3"]
        with psycopg.connect(server.conninfo("dbsafe")) as conn:
            comment = conn.execute("SELECT shobj_description(oid, 'pg_database') FROM "
                                   "pg_database WHERE datname = current_database()").fetchone()
        assert comment is not None and comment[0].startswith(f"{MARK} of pid {os.getpid()} ")
    assert _run_databases(database_url) == []


_HOLD = """
import sys, time
from dbsafe.pg.throwaway import on_dev_server, throwaway_server
with on_dev_server(sys.argv[1]), throwaway_server(database="dbsafe") as server:
    from dbsafe.migrate.setup import copy_database
    copy_database(server, "dbsafe", "dbsafe_setup")
    print(server.name("dbsafe"), flush=True)
    time.sleep(600)
"""


def test_a_killed_runs_databases_are_dropped_by_the_next_run(database_url: str) -> None:
    held = subprocess.Popen([sys.executable, "-c", _HOLD, database_url], stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    try:
        assert held.stdout is not None
        left = held.stdout.readline().strip()
    finally:
        held.send_signal(signal.SIGKILL)
        held.wait()
        if held.stdout is not None:
            held.stdout.close()
    assert left.startswith(PREFIX)
    assert _run_databases(database_url) == [left, f"{left}_dbsafe_setup"]
    # One named like a run's without dbsafe's comment is not dbsafe's: left alone.
    stranger = f"{PREFIX}20000101000000_1_abcdef"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(stranger)))
    try:
        with on_dev_server(database_url), throwaway_server(database="dbsafe") as server:
            assert _run_databases(database_url) == sorted([server.name("dbsafe"), stranger])
        assert _run_databases(database_url) == [stranger]
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(stranger)))


@pytest.fixture
def other_run(database_url: str) -> Iterator[str]:
    """Another dbsafe process in the middle of a run on the dev server `database_url` (its
    database's name), killed at the end."""
    held = subprocess.Popen([sys.executable, "-c", _HOLD, database_url], stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    try:
        assert held.stdout is not None
        yield held.stdout.readline().strip()
    finally:
        held.send_signal(signal.SIGKILL)
        held.wait()
        if held.stdout is not None:
            held.stdout.close()


def test_a_second_run_waits_for_the_first_and_says_so(
        database_url: str, other_run: str, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    # Two runs at once: the roles one drops at its end are those that appeared while it ran,
    # the other's too (a migration's GRANT to a role dropped under it failed). One waits.
    monkeypatch.setattr("dbsafe.pg.dev_server.RUN_LOCK_WAIT", "1s")
    with pytest.raises(DatabaseError) as raised, on_dev_server(database_url), \
            throwaway_server(database="dbsafe"):
        pass
    said = str(raised.value)
    assert said.startswith("dev-url postgresql://") and "\n" not in said
    assert "another dbsafe run has used the dev server for more than 1s" in said, said
    assert "waiting for another dbsafe run on the dev server to end (up to 1s)" in caplog.text
    assert other_run in _run_databases(database_url)  # the other run's is left alone


def test_one_process_s_nested_and_threaded_runs_share_its_turn(
        database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # (guards the lock against over-reach: a diff builds its two sides on two threads, a
    # build may nest another; waiting for its own process, a run would wait forever)
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setattr("dbsafe.pg.dev_server.RUN_LOCK_WAIT", "1s")

    def build() -> str:
        with throwaway_server(database="dbsafe") as inner:
            return inner.name("dbsafe")

    with on_dev_server(database_url), throwaway_server(database="dbsafe") as outer:
        with ThreadPoolExecutor(max_workers=2) as pool:
            names = list(pool.map(lambda _: build(), range(2)))
        assert len({outer.name("dbsafe"), *names}) == 3
    assert _run_databases(database_url) == []
    with on_dev_server(database_url), throwaway_server(database="dbsafe"):
        pass  # the turn was given back


def test_a_role_that_may_not_create_databases_is_one_line(tmp_path: Path,
                                                          database_url: str) -> None:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS dev_weak")
        conn.execute("CREATE ROLE dev_weak LOGIN PASSWORD 'w3akpass'")
    try:
        params = conninfo_to_dict(database_url)
        weak = make_conninfo("", **{**params, "user": "dev_weak", "password": "w3akpass"})
        root = _sql_project(tmp_path, "CREATE TABLE t (id int);\n", "SELECT id FROM t;\n")
        done = dbsafe_in_process("validate", "--dev-url", weak, "--no-cache", "src", cwd=root)
        assert done.returncode == 2
        assert "role dev_weak may not create databases" in done.stderr
        assert "w3akpass" not in done.stderr + done.stdout
        assert len(done.stderr.strip().splitlines()) == 1
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("DROP ROLE IF EXISTS dev_weak")


def test_an_unreachable_dev_server_is_one_line_without_its_password(tmp_path: Path) -> None:
    root = _sql_project(tmp_path, "CREATE TABLE t (id int);\n", "SELECT id FROM t;\n")
    done = dbsafe_in_process(
        "validate", "--no-cache", "src", cwd=root,
        env={"DBSAFE_DEV_URL": "postgresql://app:s3cretpw@127.0.0.1:1/postgres"})
    assert done.returncode == 2
    assert "s3cretpw" not in done.stderr + done.stdout
    assert "dev-url: could not connect to postgresql://app:***@127.0.0.1:1/postgres" in done.stderr


def test_the_cache_key_names_the_dev_servers_version(database_url: str,
                                                     pg15_server: str) -> None:
    embedded = server_key()
    with on_dev_server(database_url):
        on18 = server_key()
    with on_dev_server(pg15_server):
        on15 = server_key()
    assert on18.startswith("dev 18") and on15.startswith("dev 15")
    assert len({embedded, on18, on15}) == 3


def _has_postgis(conninfo: str) -> bool:
    with psycopg.connect(conninfo) as conn:
        return bool(conn.execute("SELECT 1 FROM pg_available_extensions "
                                 "WHERE name = 'postgis'").fetchone())


@pytest.fixture
def postgis_server(pg15_server: str) -> str:
    if not _has_postgis(pg15_server):
        pytest.skip("PostGIS is not installed for the PostgreSQL 15 server")
    return pg15_server


_POSTGIS_MIGRATION = (
    "CREATE EXTENSION IF NOT EXISTS postgis;\n"
    "CREATE TABLE places (id int PRIMARY KEY, name text, geom geography(Point, 4326));\n"
    "CREATE INDEX places_geom ON places USING gist (geom);\n")


def test_postgis_migrations_validate_on_a_postgresql_15_dev_server(
        tmp_path: Path, postgis_server: str) -> None:
    root = _sql_project(tmp_path, _POSTGIS_MIGRATION,
                        "SELECT id, ST_AsText(geom::geometry), nope FROM places;\n")
    settings = load_settings(root, {"dev-url": postgis_server, "cache": False})
    report = commands.validate(settings, [root / "src"])
    # (on the embedded server, CREATE EXTENSION postgis fails and `places` is unknown)
    assert [(f.code, f.subject) for f in report.findings] == [("DBS302", "public.places.nope")]
    assert _run_databases(postgis_server) == []


_POSTGIS_REVISIONS = {
    "r01": '''
def upgrade():
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute("CREATE TABLE places (id int PRIMARY KEY, geom geography(Point, 4326))")
''',
    "r02": '''
def upgrade():
    op.execute("CREATE INDEX places_geom ON places USING gist (geom)")
''',
}


def test_lint_captures_a_postgis_history_on_a_postgresql_15_dev_server(
        tmp_path: Path, postgis_server: str) -> None:
    write_history(tmp_path, _POSTGIS_REVISIONS)
    settings = load_settings(tmp_path, {"dev-url": postgis_server, "cache": False})
    report = commands.lint(settings)
    codes = {(dict(f.context).get("Revision"), f.code) for f in report.findings}
    # Every revision ran: r02's index is linted as it ran (built without CONCURRENTLY),
    # and none failed (on the embedded server, DBS005: `extension "postgis" is not
    # available`, then `relation "places" does not exist`).
    assert ("r02", "DBS101") in codes, codes
    assert not [f for f in report.findings if f.code == "DBS005"], report.findings
    assert _run_databases(postgis_server) == []


def test_a_postgresql_15_database_copied_onto_a_15_dev_server_lacks_no_object(
        tmp_path: Path, pg15_server: str, new_pg15_database: Callable[[], str]) -> None:
    """The embedded pg_dump (18) writes `SET transaction_timeout = 0` first, which a dev
    server before 17 refuses: that is no object the copy lacks (task 549, Renku on 15: "1
    object(s) of the database's schema could not be made ...: line 13")."""
    from dbsafe.config import Settings
    from dbsafe.pg.tools import _major, client_binary
    from tests.lint.test_seed_pg import CREATE_ALL, write_project

    assert (_major(client_binary("pg_dump", 150000)) or 0) >= 17  # the case at hand
    url = new_pg15_database()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(CREATE_ALL)
    root = write_project(tmp_path / "p")
    report = commands.lint(Settings(project_root=root, database_url=url, dev_url=pg15_server,
                                    ignore=("DBS115", "DBS210"), use_cache=False))
    assert not [line for line in report.summary["lines"] if "could not be made" in line]
    assert {(f.code, dict(f.context).get("Revision")) for f in report.findings} == {
        ("DBS101", "r02"), ("DBS108", "r02")}
    assert _run_databases(pg15_server) == []


def test_messages_name_the_dev_server_or_the_throwaway_one() -> None:
    from dbsafe.pg.throwaway import scratch

    copy = "copy of the database's schema"
    assert (scratch(), scratch(article="a"), scratch(copy, "a")) == (
        "the throwaway server", "a throwaway server", f"a throwaway {copy}")
    with on_dev_server("postgresql:///postgres"):  # (nothing connects: only the wording)
        assert (scratch(), scratch(article="a"), scratch(copy, "a")) == (
            "the dev server", "the dev server", f"a {copy} on the dev server")


def _says_the_dev_server(done: subprocess.CompletedProcess[str], *said: str) -> None:
    """What a run through a PostgreSQL 15 dev server printed: `said`, and neither the
    throwaway server it did not use nor the embedded PostgreSQL 18 (task 552)."""
    out = done.stdout + done.stderr
    for text in said:
        assert text in out, out
    assert "throwaway" not in out.lower(), out
    assert "PostgreSQL 18" not in out and "embedded" not in out, out


def test_validate_through_a_15_dev_server_says_so(tmp_path: Path, pg15_server: str) -> None:
    root = _sql_project(tmp_path, "CREATE EXTENSION dbsafe_nowhere;\n"
                        "CREATE TABLE places (id int PRIMARY KEY, name text);\n",
                        "SELECT id, nope FROM places;\n")
    done = dbsafe_in_process("validate", "--no-cache", "src", cwd=root,
                             env={"DBSAFE_DEV_URL": pg15_server})
    assert done.returncode == 1, done.stdout + done.stderr
    _says_the_dev_server(done, "DBS302", "DBS006 [note] Migration statement failed on the dev "
                         "server: ", "schema: sql migrations supabase/migrations (dev server)")


_WORDS_REVISIONS = {
    "r01": '''
def upgrade():
    op.execute("CREATE TABLE places (id int PRIMARY KEY, name text)")
    op.execute("INSERT INTO places VALUES (1, 'a')")
''',
    "r02": '''
def upgrade():
    with op.get_context().autocommit_block():  # r01's locks end with its transaction
        pass
    op.execute("CREATE INDEX places_name ON places (name)")
''',
    "r03": '''
def upgrade():
    op.execute("CREATE EXTENSION dbsafe_nowhere")
''',
}


def test_lint_through_a_15_dev_server_says_so(tmp_path: Path, pg15_server: str) -> None:
    write_history(tmp_path, _WORDS_REVISIONS)
    done = dbsafe_in_process("lint", "--ignore", "DBS115,DBS210", cwd=tmp_path,
                             env={"DBSAFE_DEV_URL": pg15_server, "DBSAFE_CACHE": "false"})
    assert done.returncode == 1, done.stdout + done.stderr
    _says_the_dev_server(
        done, "PostgreSQL took a SHARE lock on `places` on the dev server (pg_locks)",
        "DBS005 [error] Revision r03 fails on the dev server (NotSupportedError: extension "
        '"dbsafe_nowhere" is not available)', "Linted the SQL each revision ran on the dev "
        "server.")
    assert _run_databases(pg15_server) == []

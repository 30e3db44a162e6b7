"""A statement reading a temporary table its own file makes is judged by PostgreSQL, which
makes the table first in the confirming session (task 569). Real PostgreSQL.

Before, every such statement was "not analysed: uses what DDL earlier in this file created
or changed" (osmose-backend's analysers' `CREATE TEMP TABLE ... AS SELECT`, synapse's
`events_to_purge`). Now, where the file makes the table one way, PostgreSQL runs that
`CREATE TEMP TABLE` (a `CREATE TABLE ... AS` `WITH NO DATA`) in a savepoint it rolls back,
and prepares the statement after it: a misspelt column of it is DBS302, a right one clean.
Made two ways, by a `CREATE` that fails, or changed later: not analysed, as before.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from tests.helpers import validate_built, validate_files

_EARLIER = "not analysed: uses what DDL earlier in this file created or changed"
_SCHEMA = "CREATE TABLE users (id int PRIMARY KEY, name text)"

_SCRIPT = """CREATE TEMP TABLE scratch AS SELECT id, name FROM users;
SELECT nosuch FROM scratch;
SELECT id, name FROM scratch;
CREATE TEMPORARY TABLE ranked ON COMMIT DROP AS SELECT * FROM scratch;
SELECT r.namee FROM ranked r JOIN users u USING (id);
INSERT INTO ranked (id, name) SELECT id, name FROM users;
"""
_MODULE = '''def load(cur, rows):
    cur.execute("create temp table import_context (row_id int, payload text) on commit drop")
    cur.execute("SELECT row_id, payload FROM import_context WHERE row_id = %s", (1,))
    cur.execute("UPDATE import_context SET payloadd = %(p)s", {"p": "x"})


def fill(cur, expr):
    # built at run time, but only rows: the table is still made one way
    cur.execute("INSERT INTO import_context SELECT row_id, %s FROM import_context" % expr)
'''


@pytest.mark.db
@pytest.mark.usefixtures("one_server_throwaways")
def test_a_misspelt_column_of_a_temporary_table_the_file_makes_is_reported(
        tmp_path: Path) -> None:
    report = validate_built(tmp_path, _SCHEMA, {"report.sql": _SCRIPT, "app/load.py": _MODULE})
    assert [(f.location.path, f.location.line) for f in report.findings
            if f.code == "DBS304"] == [("app/load.py", 9)]  # (the INSERT built at run time)
    assert sorted((f.code, f.location.path, f.location.line, f.location.column,
                   f.location.end_column, f.subject) for f in report.findings
                  if f.code != "DBS304") == [
        ("DBS302", "app/load.py", 4, 44, 51, "payloadd"),
        ("DBS302", "report.sql", 2, 8, 13, "nosuch"),
        # (a table made from another temporary one: both made, in order)
        ("DBS302", "report.sql", 5, 8, 14, "r.namee"),
    ]
    nosuch = next(f for f in report.findings if f.subject == "nosuch")
    assert nosuch.message == ("no column `nosuch` in scope: PostgreSQL refuses it after "
                              "making the temporary table `scratch` as this file does")
    assert dict(nosuch.context)["PostgreSQL"] == '42703: column "nosuch" does not exist'
    namee = next(f for f in report.findings if f.subject == "r.namee")
    assert namee.help == 'Perhaps you meant to reference the column "r.name".'
    assert report.skipped == ()
    assert report.summary["statements_analysed"] == 6
    assert report.summary["statements_not_analysed"] == 0


_NOT_JUDGED = """CREATE TEMP TABLE two_ways (a int);
SELECT a FROM two_ways;
CREATE TEMP TABLE two_ways (b int);
CREATE TEMP TABLE broken AS SELECT idd FROM users;
SELECT idd FROM broken;
CREATE TEMP TABLE altered (a int);
ALTER TABLE altered ADD b int;
SELECT b FROM altered;
CREATE TEMP TABLE same (a int);
CREATE TEMP TABLE same (a int);
SELECT a FROM same;
"""

# A column added under a name known only at run time: `b` may be it.
_WIDEN = '''def widen(cur, column):
    cur.execute("CREATE TEMP TABLE wide (a int)")
    cur.execute(f"ALTER TABLE wide ADD {column} int")
    cur.execute("SELECT b FROM wide")
'''


@pytest.mark.db
@pytest.mark.usefixtures("one_server_throwaways")
def test_a_temporary_table_not_made_one_way_leaves_its_readers_not_analysed(
        tmp_path: Path) -> None:
    """Made by two different `CREATE`s, by one PostgreSQL refuses (its misspelt column is
    no finding of the statement reading it), or changed after, also by a statement built
    at run time: not analysed, as before. Two identical `CREATE`s are one way."""
    report = validate_built(tmp_path, _SCHEMA, {"jobs.sql": _NOT_JUDGED, "widen.py": _WIDEN})
    assert report.findings == ()
    assert [(s.location.path, s.location.line, s.reason) for s in report.skipped] == [
        ("jobs.sql", 2, _EARLIER), ("jobs.sql", 5, _EARLIER), ("jobs.sql", 8, _EARLIER),
        ("widen.py", 4, _EARLIER)]
    assert report.summary["statements_analysed"] == 1  # jobs.sql:11


@pytest.mark.db
def test_without_confirmation_a_temporary_tables_readers_stay_not_analysed(
        database_url: str, tmp_path: Path) -> None:
    validate_files(database_url, tmp_path, _SCHEMA, {})
    (tmp_path / "report.sql").write_text(_SCRIPT)
    settings = load_settings(tmp_path, {"database-url": database_url, "cache": False,
                                        "confirm": False}, environ={})
    report = commands.validate(settings, [tmp_path])
    assert report.findings == ()
    assert [s.location.line for s in report.skipped] == [2, 3, 5, 6]


@pytest.mark.db
def test_a_database_the_user_names_is_never_given_a_temporary_table(database_url: str,
                                                                    tmp_path: Path) -> None:
    """With `--database-url` (production's, a replica) the schema's database is the user's:
    dbsafe makes nothing there, not even a temporary table in a savepoint rolled back
    (catalog rows, WAL, a transaction id): its readers stay not analysed, the function the
    `CREATE`'s query calls (which writes) is never called, nothing stays behind. Only a
    database dbsafe built judges them (the tests above; `WITH NO DATA`: `temp_create`)."""
    report = validate_files(database_url, tmp_path, _SCHEMA + """;
        CREATE TABLE calls (n int);
        CREATE FUNCTION bump() RETURNS int LANGUAGE sql AS
            'INSERT INTO calls VALUES (1) RETURNING n'""", {
        "bump.sql": "CREATE TEMP TABLE bumped AS SELECT bump() AS n, id FROM users;\n"
                    "SELECT m FROM bumped;\n"})
    assert report.findings == ()
    assert [(s.location.path, s.location.line, s.reason) for s in report.skipped] == [
        ("bump.sql", 2, _EARLIER)]
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM calls").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM pg_class WHERE relname = 'bumped'"
                            ).fetchone() == (0,)


@pytest.mark.db
@pytest.mark.usefixtures("one_server_throwaways")
def test_a_refusal_where_the_schema_is_incomplete_is_no_finding(tmp_path: Path) -> None:
    """A migration statement failed where the schema was built (no PostGIS there): the
    temporary table made from `users` lacks the column production gives it, so PostgreSQL's
    refusal of `geom` is not analysed, never DBS302; what it accepts is analysed."""
    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    (folder / "001_init.sql").write_text(
        _SCHEMA + ";\nALTER TABLE users ADD COLUMN geom geometry(Point, 4326);\n")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'maps'\n")
    (tmp_path / "tiles.sql").write_text(
        "CREATE TEMP TABLE snapshot AS SELECT * FROM users;\n"
        "SELECT id, geom FROM snapshot;\nSELECT id, name FROM snapshot;\n")
    report = commands.validate(load_settings(tmp_path, {"cache": False}, environ={}),
                               [tmp_path / "tiles.sql"])
    assert [f.code for f in report.findings] == ["DBS006"]
    assert [(s.location.line, s.reason) for s in report.skipped if s.location] == [
        (2, _EARLIER)]
    assert report.summary["statements_analysed"] == 1

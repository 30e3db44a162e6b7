"""A statement validate does not analyse says what dbsafe found (task 542). Real PostgreSQL.

- MapSwipe (`postgres/initdb.sql`, whose `CREATE EXTENSION postgis` fails on the embedded
  server) reads `ST_AsText(geom)`: a function PostGIS makes, not "a built-in function of
  MySQL/MariaDB" (MySQL has one of that name too).
- MAAS's test database dump (`initial.maas_test.sql`) creates its sequences, then sets them
  (`SELECT pg_catalog.setval('public.maasserver_nodekey_id_seq', 1, false)`): a sequence the
  file made, not "may be an extension's relation" (the schema has extensions).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.schema.model import Column, Relation, SchemaSnapshot
from dbsafe.validate.scan import _unknown_reason
from tests.helpers import validate_files

_POSTGIS = "CREATE EXTENSION IF NOT EXISTS postgis;\n"
_TABLES = """CREATE TABLE projects (project_id text PRIMARY KEY, geom geometry(MultiPolygon, 4326));
CREATE TABLE results (project_id text, user_id text);
"""

_APP = '''def run(cur, pid):
    cur.execute("SELECT project_id, ST_AsText(geom) AS geom FROM projects")
    cur.execute("SELECT ST_Force2D(ST_GeomFromText(%s, 4326))", (pid,))
    cur.execute("SELECT user_id, DATE_FORMAT(now(), '%%Y') FROM results")
    cur.execute("SELECT user_id FROM results WHERE soundex(user_id) = %s", (pid,))
    cur.execute("CREATE TEMP TABLE raw_tasks (geom text)")
    cur.execute("INSERT INTO results (project_id) SELECT ST_AsText(ST_GeomFromText(geom)) FROM raw_tasks")
    cur.execute("SELECT strftime('%%Y', now())")
'''
# SQLite's `datetime`, made by the script itself
_SCRIPT = """CREATE FUNCTION datetime(text) RETURNS timestamptz LANGUAGE sql AS $$ SELECT now() $$;
SELECT datetime('now');
"""
# SQLite's `strftime`, made by a migration statement that failed (no `geometry` type there)
_STRFTIME = """CREATE FUNCTION strftime(f text, d geometry) RETURNS text LANGUAGE sql AS $$ SELECT f $$;
"""

_EARLIER = "not analysed: uses what DDL earlier in this file created or changed"
_POSTGIS_FAILED = ("not analysed: calls `{}`, which PostGIS makes, and `CREATE EXTENSION "
                   "postgis` failed where the schema was built")
_MYSQL = ("not analysed: calls `{}`, a built-in function of MySQL/MariaDB, not PostgreSQL's: "
          "SQL for MySQL/MariaDB")
_MYSQL_SQLITE = ("not analysed: calls `soundex`, a built-in function of MySQL/MariaDB and "
                 "SQLite, not PostgreSQL's: SQL for MySQL/MariaDB or SQLite")


def _skipped(tmp_path: Path, migration: str) -> list[tuple[str, int, str]]:
    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    (folder / "001_init.sql").write_text(migration)
    (tmp_path / "app.py").write_text(_APP)
    (tmp_path / "report.sql").write_text(_SCRIPT)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'mapswipe'\n")
    report = commands.validate(load_settings(tmp_path, {"cache": False}, environ={}),
                               [tmp_path / "app.py", tmp_path / "report.sql"])
    assert [f for f in report.findings if f.code != "DBS006"] == []
    return sorted((s.location.path, s.location.line, s.reason)
                  for s in report.skipped if s.location)


@pytest.mark.db
@pytest.mark.usefixtures("one_server_throwaways")
def test_a_call_of_a_function_an_extension_that_failed_makes_names_it(tmp_path: Path) -> None:
    """Each call of PostGIS's (MySQL's name or not) says PostGIS, also where the statement
    reads a table a failed statement made or the file's own DDL made; another engine's
    built-in PostGIS does not make (`DATE_FORMAT`, `soundex`) keeps its reason. A name of
    SQLite's that a failed migration statement or the file's DDL makes is theirs."""
    assert _skipped(tmp_path, _POSTGIS + _TABLES + _STRFTIME) == [
        ("app.py", 2, _POSTGIS_FAILED.format("st_astext")),
        ("app.py", 3, _POSTGIS_FAILED.format("st_force2d")),
        ("app.py", 4, _MYSQL.format("date_format")),
        ("app.py", 5, _MYSQL_SQLITE),
        ("app.py", 7, _POSTGIS_FAILED.format("st_astext")),
        ("app.py", 8, "not analysed: " + _unknown_reason()),
        # (the failed extension's functions may be of any name, the file's `datetime` too)
        ("report.sql", 2, "not analysed: " + _unknown_reason()),
    ]


@pytest.mark.db
@pytest.mark.usefixtures("one_server_throwaways")
def test_a_call_of_a_mysql_name_where_no_extension_failed_is_mysqls(tmp_path: Path) -> None:
    """No `CREATE EXTENSION` failed: `ST_AsText` is MySQL's, as before; `strftime`, which a
    failed migration statement makes, and the file's own `datetime` are not SQLite's."""
    skipped = _skipped(tmp_path, "CREATE TABLE results (project_id text, user_id text);\n"
                       + _STRFTIME)
    assert skipped[:2] == [("app.py", 2, _MYSQL.format("st_astext")),
                           ("app.py", 3, _MYSQL.format("st_geomfromtext"))]
    assert skipped[-2:] == [("app.py", 8, "not analysed: " + _unknown_reason()),
                            ("report.sql", 2, _EARLIER)]


# MAAS's `maasserver/testing/initial.maas_test.sql` (a pg_dump) and `test_dblocks.py`.
_DUMP = """CREATE SEQUENCE public.maasserver_nodekey_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

SELECT pg_catalog.setval('public.maasserver_nodekey_id_seq', 1, false);
SELECT pg_catalog.setval('public.maasserver_other_id_seq', 1, false);
"""
_DBLOCKS = '''def get_objid(cursor):
    cursor.execute("CREATE SEQUENCE IF NOT EXISTS dblocks_test_seq")
    cursor.execute("select nextval('dblocks_test_seq')")
'''


@pytest.mark.db
def test_a_sequence_the_file_made_is_not_taken_for_an_extensions(database_url: str,
                                                                 tmp_path: Path) -> None:
    report = validate_files(database_url, tmp_path,
                            "CREATE EXTENSION pg_trgm; CREATE TABLE jobs (id int)",
                            {"testing/initial.sql": _DUMP, "tests/test_dblocks.py": _DBLOCKS})
    assert not report.findings
    assert sorted((s.location.path, s.location.line, s.reason)
                  for s in report.skipped if s.location) == [
        ("testing/initial.sql", 8, _EARLIER),
        # one it did not make may still be an extension's
        ("testing/initial.sql", 9, "not analysed: `public.maasserver_other_id_seq` may be an "
                                   "extension's relation"),
        ("tests/test_dblocks.py", 3, _EARLIER),
    ]


@pytest.mark.db
def test_a_sequence_the_file_made_in_a_schema_the_snapshot_lacks(tmp_path: Path) -> None:
    """A snapshot that describes only some schemas (`covers_all_schemas` false): the file's
    own `CREATE SCHEMA temporal` and sequence, not "schema `temporal` is not in the
    snapshot"."""
    snapshot = tmp_path / "schema.json"
    SchemaSnapshot(schemas=("public",), relations=(
        Relation("public", "jobs", "table", (Column("id", "integer", False),)),)).save(snapshot)
    (tmp_path / "initial.sql").write_text(
        "CREATE SCHEMA temporal;\nCREATE SEQUENCE temporal.buffered_events_id_seq;\n"
        "SELECT pg_catalog.setval('temporal.buffered_events_id_seq', 1, false);\n"
        "SELECT pg_catalog.setval('elsewhere.other_seq', 1, false);\n")
    report = commands.validate(
        load_settings(tmp_path, {"snapshot": str(snapshot), "cache": False}, environ={}),
        [tmp_path / "initial.sql"])
    assert not report.findings
    assert sorted((s.location.line, s.reason) for s in report.skipped if s.location) == [
        (3, _EARLIER), (4, "not analysed: schema `elsewhere` is not in the snapshot")]

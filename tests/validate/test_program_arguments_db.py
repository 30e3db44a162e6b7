"""SQL given to another program on its command line, not to PostgreSQL.

mapswipe (mapswipe/python-mapswipe-workers b89dca59,
`mapswipe_workers/utils/geojson_functions.py`) turns a CSV file into GeoJSON with
`subprocess.run(["ogr2ogr", ..., "-sql", f'SELECT *, CAST({geometry_field} as geometry)
FROM "tmp"'])`: OGR's SQL dialect over the file, a false DBS301 on `tmp`. A command that
names psql anywhere in its literal arguments may reach PostgreSQL: still read. Real
PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_module

_COMMANDS = '''\
import asyncio
import subprocess
from subprocess import check_output


def convert(geometry_field, geojson, csv, db):
    subprocess.run(
        ["ogr2ogr", "-f", "GeoJSON", geojson, csv,
         "-sql", f'SELECT *, CAST({geometry_field} as geometry) FROM "tmp"'],
        check=True,
    )
    check_output(args=("/usr/bin/duckdb", "-c", "SELECT count(*) FROM read_csv('a.csv') t"))
    subprocess.run(["psql", "-c", "SELECT nickname FROM supporter"], check=True)
    subprocess.run(["docker", "exec", "db", "psql", "-c", "SELECT nick FROM supporter"])
    db.execute("SELECT name FROM tmp")


async def count(path):
    await asyncio.create_subprocess_exec("sqlite3", path, "SELECT count(*) FROM tmp")
'''


@pytest.mark.db
def test_sql_on_another_programs_command_line_is_not_postgresqls(database_url: str,
                                                                 tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "CREATE TABLE supporter (name text)",
                             "geojson_functions.py", _COMMANDS)
    assert sorted((f.location.line, f.code, f.subject) for f in report.findings
                  if f.location) == [
        (13, "DBS302", "public.supporter.nickname"),
        (14, "DBS302", "public.supporter.nick"),
        (15, "DBS301", "public.tmp")]
    assert {s.location.line: s.reason for s in report.skipped if s.location} == {
        9: "sent to the command `ogr2ogr`, not PostgreSQL",
        12: "sent to the command `duckdb`, not PostgreSQL",
        19: "sent to the command `sqlite3`, not PostgreSQL"}

"""`commands.validate` end to end: real files, real schema sources, real PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.migrate import AlembicProject, apply
from dbsafe.report import render_text
from tests.conftest import REPO_ROOT

NOTES_BUG = ("examples/clinic/app/repository.py", 97, 34)
# The same bug in the web app's supabase-js hook: `notes` in the select string.
NOTES_BUG_TS = ("examples/clinic/web/useAppointmentSeries.ts", 17, 27)
DEMO_FINDINGS = [("DBS302", *NOTES_BUG), ("DBS302", *NOTES_BUG_TS)]


def settings_for(root: Path, **overrides: object):
    return load_settings(root, {k.replace("_", "-"): v for k, v in overrides.items()},
                         environ={})


def locations(report) -> list[tuple[str, str, int, int]]:
    return [(f.code, f.location.path, f.location.line, f.location.column)
            for f in report.findings if f.location]


@pytest.fixture(scope="module")
def demo_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo schema as a snapshot file, built once per worker from the migrations (the
    tests only read it)."""
    path = tmp_path_factory.mktemp("snap") / "schema.json"
    settings = settings_for(REPO_ROOT, cache=False)
    commands.schema_dump(settings).save(path)
    return path


def _readme_quick_start_output() -> str:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = next(text for language, text in re.findall(
        r"^```(\w*)\n(.*?)^```", section, re.MULTILINE | re.DOTALL) if not language)
    return re.sub(r"; [0-9.]+s\)$", "; TIME)", block.rstrip("\n"))


@pytest.mark.db
@pytest.mark.usefixtures("one_server_throwaways")
def test_demo_from_migrations_reports_only_the_notes_bug(tmp_path: Path) -> None:
    settings = settings_for(REPO_ROOT, cache_dir=str(tmp_path / "cache"))
    report = commands.validate(settings, [REPO_ROOT / "examples" / "clinic"])
    assert sorted(locations(report)) == DEMO_FINDINGS
    python, typescript = sorted(report.findings, key=lambda f: str(f.location))
    for finding in (python, typescript):
        assert finding.message == "`appointment_series` has no column `notes`"
        assert finding.subject == "public.appointment_series.notes"
    assert ("PostgreSQL", "42703: column s.notes does not exist") in python.context
    assert ("PostgreSQL", "42703: column appointment_series.notes does not exist") in (
        typescript.context)
    assert report.summary["confirmed_by_postgresql"] is True
    assert int(str(report.summary["statements_analysed"])) >= 15
    # README's quick start shows this report, as it is printed (but for the time taken)
    assert _readme_quick_start_output() == re.sub(
        r"; [0-9.]+s\)$", "; TIME)", render_text(report, commands.catalog()).rstrip("\n"))

    # The second run is served from the cache and says so.
    again = commands.validate(settings, [REPO_ROOT / "examples" / "clinic"])
    assert locations(again) == locations(report)
    assert "(cached)" in str(again.summary["schema_source"])


@pytest.mark.db
def test_offline_snapshot_gives_the_same_finding(demo_snapshot: Path) -> None:
    settings = settings_for(REPO_ROOT, snapshot=str(demo_snapshot), cache=False)
    report = commands.validate(settings, [REPO_ROOT / "examples" / "clinic"])
    assert sorted(locations(report)) == DEMO_FINDINGS
    assert report.summary["confirmed_by_postgresql"] is False


@pytest.mark.db
def test_live_database_gives_the_same_finding(database_url: str) -> None:
    apply(AlembicProject(REPO_ROOT / "alembic.ini"), database_url)
    settings = settings_for(REPO_ROOT, database_url=database_url, cache=False)
    report = commands.validate(settings, [REPO_ROOT / "examples" / "clinic"])
    assert sorted(locations(report)) == DEMO_FINDINGS
    assert str(report.summary["schema_source"]).startswith("database ")


def _stale_scan(database_url: str, tmp_path: Path, sql: str, *, ddl: str, later: str):
    """Validate `sql` against a snapshot taken before `later` ran, confirming on the database.

    The stale snapshot stands for a static view that is wrong: PostgreSQL has the final say.
    """
    from dbsafe.commands import catalog
    from dbsafe.schema.introspect import introspect_url
    from dbsafe.sources import SchemaSource
    from dbsafe.validate.scan import scan

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(ddl)
        snapshot = introspect_url(database_url)
        conn.execute(later)
    write(tmp_path / "pyproject.toml", "[tool.dbsafe]\n")
    write(tmp_path / "q.sql", sql)
    source = SchemaSource(snapshot, "database (test)", "database", database_url)
    settings = settings_for(tmp_path, cache=False)
    with source:
        return scan([tmp_path / "q.sql"], source, settings, catalog())


def _postgresql_context(finding) -> str:
    return dict(finding.context)["PostgreSQL"]


def _confirmed(report) -> list[tuple[str, int, int, str]]:
    """Each finding's code, line, column and what PostgreSQL said of it."""
    return [(f.code, f.location.line, f.location.column, _postgresql_context(f))
            for f in report.findings if f.location]


@pytest.mark.db
def test_postgresql_drops_a_static_finding_it_accepts(database_url: str, tmp_path: Path) -> None:
    report = _stale_scan(database_url, tmp_path, "SELECT id, nickname FROM people;\n",
                         ddl="CREATE TABLE people (id int)",
                         later="ALTER TABLE people ADD COLUMN nickname text")
    assert report.findings == ()
    with psycopg.connect(database_url) as conn:  # nothing was left behind or locked
        assert conn.execute("SELECT count(*) FROM pg_prepared_statements").fetchone() == (0,)


@pytest.mark.db
def test_each_reference_is_confirmed_by_its_own_error(database_url: str, tmp_path: Path) -> None:
    # PostgreSQL reports the ON clause first, then the select list: two rounds, each
    # finding confirmed by the error that names it.
    report = _stale_scan(
        database_url, tmp_path,
        "SELECT p.nosuch1, p.id FROM people p JOIN pets q ON q.nosuch2 = p.id;\n",
        ddl="CREATE TABLE people (id int); CREATE TABLE pets (id int, owner int)", later="")
    assert sorted((f.subject, _postgresql_context(f)) for f in report.findings) == [
        ("public.people.nosuch1", "42703: column p.nosuch1 does not exist"),
        ("public.pets.nosuch2", "42703: column q.nosuch2 does not exist"),
    ]


@pytest.mark.db
def test_a_wrong_static_finding_beside_a_real_one_is_not_shown_as_confirmed(
    database_url: str, tmp_path: Path,
) -> None:
    # `nickname` exists in the database but not in the (stale) snapshot; `nosuch` exists
    # nowhere. PostgreSQL rejects the statement for `nosuch` only: `nickname` must not be
    # reported as confirmed by that error. With `nosuch` repaired, PostgreSQL accepts the
    # statement, so the wrong finding is dropped.
    report = _stale_scan(database_url, tmp_path,
                         "SELECT nickname, nosuch FROM people;\n",
                         ddl="CREATE TABLE people (id int)",
                         later="ALTER TABLE people ADD COLUMN nickname text")
    assert [(f.subject, _postgresql_context(f)) for f in report.findings] == [
        ("public.people.nosuch", '42703: column "nosuch" does not exist')]
    assert report.summary["confirmed_by_postgresql"] is True


@pytest.mark.db
def test_a_finding_postgresql_cannot_reach_is_marked_unconfirmed(database_url: str,
                                                                 tmp_path: Path) -> None:
    # A wrong table name stops PostgreSQL before it looks at the column; a table cannot be
    # repaired, so the column finding stays, marked as not confirmed.
    report = _stale_scan(database_url, tmp_path,
                         "SELECT p.nosuch FROM people p JOIN pepole q ON q.id = p.id;\n",
                         ddl="CREATE TABLE people (id int)", later="")
    by_subject = {f.subject: _postgresql_context(f) for f in report.findings}
    assert by_subject == {
        "public.pepole": '42P01: relation "pepole" does not exist',
        "public.people.nosuch": 'not confirmed: PostgreSQL stopped at another error first '
                                '(42P01: relation "pepole" does not exist)',
    }


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.db
def test_bad_input_is_skipped_and_counted_and_the_run_goes_on(tmp_path: Path,
                                                               demo_snapshot: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.dbsafe]\n")
    write(tmp_path / "binary.sql", b"SELECT \x00\x01\x02 FROM x")
    write(tmp_path / "latin1.sql", "SELECT 'caf\xe9' FROM patients;".encode("latin-1"))
    write(tmp_path / "broken.py", "def f(:\n    cur.execute('SELECT nope FROM patients')\n")
    write(tmp_path / "garbage.sql", "SELEKT * FRM patients;\nSELECT nope FROM patients;\n")
    settings = settings_for(tmp_path, snapshot=str(demo_snapshot), cache=False)
    report = commands.validate(settings, [tmp_path])
    assert locations(report) == [("DBS302", "garbage.sql", 2, 8)]
    assert report.summary["files_skipped"] == 3
    reasons = {s.location.path: s.reason for s in report.skipped}
    assert set(reasons) >= {"binary.sql", "latin1.sql", "broken.py", "garbage.sql"}


def test_a_run_whose_every_file_is_skipped_could_not_do_its_job(tmp_path: Path,
                                                                 demo_snapshot: Path) -> None:
    # A pg_dump archive named as the file to check (binary) was "no findings", exit 0: a
    # pass of nothing.
    from dbsafe.core import SourceError

    write(tmp_path / "pyproject.toml", "[tool.dbsafe]\n")
    write(tmp_path / "dump.sql", b"PGDMP\x01\x0e\x00\x04\x08\x01\x00")
    settings = settings_for(tmp_path, snapshot=str(demo_snapshot), cache=False)
    with pytest.raises(SourceError, match=r"nothing was validated: no source file could be "
                                          r"read \(dump.sql \[binary file\]\)"):
        commands.validate(settings, [tmp_path / "dump.sql"])
    # one file read beside it is a run: the skipped one is listed
    write(tmp_path / "ok.sql", "SELECT 1;\n")
    report = commands.validate(settings, [tmp_path])
    assert report.summary["skipped_files"] == ["dump.sql [binary file]"]


@pytest.mark.db
def test_psql_variables_as_literals_leave_the_statement_validated(database_url: str,
                                                                 tmp_path: Path) -> None:
    # psql puts a quoted value where `:'name'` stands: the statement is checked around it
    # (it was unparsable), at the columns of the file, and PostgreSQL confirms.
    report = _stale_scan(
        database_url, tmp_path,
        "\\set uid 5\n"
        "SELECT name, emial FROM people WHERE id = :'uid';\n"
        "SELECT name FROM people WHERE born > :'since'::date AND id <> :'uid';\n"
        "SELECT name FROM people WHERE name = ':''x''' OR name = 'a'::text;\n",
        ddl="CREATE TABLE people (id int, name text, born date)", later="")
    assert _confirmed(report) == [("DBS302", 2, 14, '42703: column "emial" does not exist')]
    assert report.summary["statements"] == 3 and not report.skipped


@pytest.mark.db
def test_a_sqlite_cache_beside_postgresql_is_not_a_missing_table(tmp_path: Path,
                                                                 demo_snapshot: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.dbsafe]\n")
    write(tmp_path / "cache.py",
          "import sqlite3\n"
          "def remember(path, cur):\n"
          "    with sqlite3.connect(path) as cache:\n"
          "        cache.execute('INSERT INTO page_cache VALUES (?, ?)', ('k', 'v'))\n"
          "    cur.execute('SELECT id FROM patientz')\n")
    settings = settings_for(tmp_path, snapshot=str(demo_snapshot), cache=False)
    report = commands.validate(settings, [tmp_path])
    assert locations(report) == [("DBS301", "cache.py", 5, 33)]
    assert [(s.location.line, s.reason) for s in report.skipped] == [
        (4, "sent to SQLite, not PostgreSQL")]
    assert report.summary["files_skipped"] == 0


@pytest.mark.db
def test_a_geopackage_edited_through_pysqlite3_is_not_a_missing_table(
        tmp_path: Path, demo_snapshot: Path) -> None:
    """mergin's tests edit a GeoPackage through pysqlite3 (sqlite3 built standalone, so
    SpatiaLite loads): `simple` and `load_extension("mod_spatialite")` were DBS301/DBS302
    errors, and `dbsafe upgrade`'s postflight failed on them."""
    write(tmp_path / "pyproject.toml", "[tool.dbsafe]\n")
    write(tmp_path / "test_gpkg.py",
          "import pysqlite3\n"
          "def test_overwrite(path, cur):\n"
          "    gpkg_conn = pysqlite3.connect(path)\n"
          "    gpkg_cur = gpkg_conn.cursor()\n"
          "    gpkg_cur.execute('SELECT load_extension(\"mod_spatialite\")')\n"
          "    gpkg_cur.execute('ALTER TABLE simple ADD COLUMN new_col')\n"
          "    cur.execute('SELECT id FROM patientz')\n")
    settings = settings_for(tmp_path, snapshot=str(demo_snapshot), cache=False)
    report = commands.validate(settings, [tmp_path])
    assert locations(report) == [("DBS301", "test_gpkg.py", 7, 33)]
    assert [(s.location.line, s.reason) for s in report.skipped] == [
        (5, "sent to SQLite, not PostgreSQL"), (6, "sent to SQLite, not PostgreSQL")]


@pytest.mark.db
def test_clickhouse_beside_postgresql_is_not_a_missing_table(tmp_path: Path,
                                                             demo_snapshot: Path) -> None:
    """AgentOps: spans in ClickHouse (`otel_2.otel_traces`) read through clickhouse-connect,
    in the module that reads PostgreSQL through psycopg, whose typo is still found."""
    write(tmp_path / "pyproject.toml", "[tool.dbsafe]\n")
    write(tmp_path / "spans.py",
          "from clickhouse_connect import get_async_client\n"
          "import psycopg\n"
          "async def spans(limit, path):\n"
          "    client = await get_async_client(host='clickhouse')\n"
          "    query = 'SELECT * FROM otel_2.otel_traces LIMIT {limit}'\n"
          "    rows = await client.query(query.format(limit=limit))\n"
          "    with psycopg.connect(path) as conn:\n"
          "        conn.execute('SELECT id FROM patientz')\n")
    settings = settings_for(tmp_path, snapshot=str(demo_snapshot), cache=False)
    report = commands.validate(settings, [tmp_path])
    assert locations(report) == [("DBS301", "spans.py", 8, 38)]
    assert [(s.location.line, s.reason) for s in report.skipped] == [
        (5, "sent to ClickHouse, not PostgreSQL")]


def test_a_projects_own_clickhouse_helpers_say_where_their_sql_goes(
        tmp_path: Path, demo_snapshot: Path) -> None:
    """AgentOps again: its client comes from its own factory in another module
    (`get_async_clickhouse()`), a pytest fixture (`clickhouse_client`), or its SQL goes
    through its own `query_clickhouse(...)`: each name says the engine. A name merely
    containing the letters (`sparkline`) or a PostgreSQL connection is still checked."""
    write(tmp_path / "pyproject.toml", "[tool.dbsafe]\n")
    write(tmp_path / "billing.py",
          "from agentops.db.clickhouse import get_async_clickhouse\n"
          "from agentops.db import pg\n"
          "async def usage(project_id):\n"
          "    client = await get_async_clickhouse()\n"
          "    await client.query('SELECT count(*) AS span_count FROM otel_traces')\n"
          "    await pg.execute('SELECT id FROM patientz')\n")
    write(tmp_path / "test_spans.py",
          "import requests\n"
          "def query_clickhouse(query):\n"
          "    return requests.post('http://ch:8123', data=query)\n"
          "def test_spans(clickhouse_client, sparkline):\n"
          "    clickhouse_client.command(\"DELETE FROM otel_traces WHERE TraceId = ''\")\n"
          "    query_clickhouse('SELECT name FROM system.tables')\n"
          "    sparkline.execute('SELECT id FROM patientz')\n"
          "def test_cost(trace_id):\n"
          "    query = f\"SELECT SpanName FROM otel_traces WHERE TraceId = '{trace_id}'\"\n"
          "    assert query_clickhouse(query)\n")
    settings = settings_for(tmp_path, snapshot=str(demo_snapshot), cache=False)
    report = commands.validate(settings, [tmp_path])
    assert locations(report) == [("DBS301", "billing.py", 6, 38),
                                 ("DBS301", "test_spans.py", 7, 39)]
    assert sorted((s.location.path, s.location.line, s.reason) for s in report.skipped) == [
        ("billing.py", 5, "sent to ClickHouse, not PostgreSQL"),
        ("test_spans.py", 5, "sent to ClickHouse, not PostgreSQL"),
        ("test_spans.py", 6, "sent to ClickHouse, not PostgreSQL"),
        ("test_spans.py", 9, "sent to ClickHouse, not PostgreSQL")]


@pytest.mark.db
def test_a_field_a_composite_column_lacks_is_found_and_confirmed(database_url: str,
                                                                tmp_path: Path) -> None:
    report = _stale_scan(
        database_url, tmp_path,
        "SELECT (total).amount, (o.total).currency FROM orders o;\n"
        "SELECT (total).currancy FROM orders;\n"
        "SELECT (home).cty, (home).city FROM people;\n"
        "SELECT (total).label, (ROW(1, 2)).f2 FROM orders;\n",
        ddl="CREATE TYPE money_t AS (amount numeric, currency text);"
            "CREATE TABLE orders (id int, total money_t);"
            "CREATE TABLE addresses (street text, city text);"
            "CREATE TABLE people (id int, home addresses);"
            # PostgreSQL's functional notation: (total).label calls label(total).
            "CREATE FUNCTION label(m money_t) RETURNS text LANGUAGE sql "
            "AS $$ SELECT m.amount || ' ' || m.currency $$;",
        later="")
    assert _confirmed(report) == [
        ("DBS302", 2, 16, '42703: column "currancy" not found in data type money_t'),
        ("DBS302", 3, 15, '42703: column "cty" not found in data type addresses')]
    assert [f.message for f in report.findings] == [
        "`total` is of type `money_t`, which has no field `currancy`",
        "`home` is of type `addresses`, which has no field `cty`"]
    assert report.summary["statements"] == 4


@pytest.mark.db
def test_a_statement_extended_after_its_where_is_checked_and_confirmed(
        database_url: str, tmp_path: Path) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE rooms (room_id text, creator text)")
    write(tmp_path / "pyproject.toml", "[tool.dbsafe]\n")
    write(tmp_path / "store.py",
          "def rooms(txn, creator, limit):\n"
          "    sql = 'SELECT room_id, topic FROM rooms WHERE room_id = %s'\n"
          "    if creator:\n"
          "        sql += ' AND creator = %s'\n"
          "    sql += ' LIMIT %d' % limit\n"
          "    txn.execute(sql, ('!a',))\n")
    settings = settings_for(tmp_path, database_url=database_url, cache=False)
    report = commands.validate(settings, [tmp_path])
    assert _confirmed(report) == [
        ("DBS302", 2, 28, '42703: column "topic" does not exist')]


@pytest.mark.db
def test_temp_tables_created_in_the_file_are_not_unknown(tmp_path: Path,
                                                          demo_snapshot: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.dbsafe]\n")
    write(tmp_path / "job.sql", "CREATE TEMP TABLE scratch (id bigint);\n"
                                "INSERT INTO scratch SELECT id FROM patients;\n"
                                "SELECT id FROM scratchh;\n")
    settings = settings_for(tmp_path, snapshot=str(demo_snapshot), cache=False)
    report = commands.validate(settings, [tmp_path])
    assert locations(report) == [("DBS301", "job.sql", 3, 16)]


@pytest.mark.db
def test_suppressions_and_unused_suppressions(tmp_path: Path, demo_snapshot: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.dbsafe]\n")
    write(tmp_path / "q.sql", "-- dbsafe: ignore[DBS302] column lands next release\n"
                              "SELECT nickname FROM patients;\n"
                              "-- dbsafe: ignore[DBS302]\n"
                              "SELECT full_name FROM patients;\n")
    settings = settings_for(tmp_path, snapshot=str(demo_snapshot), cache=False)
    report = commands.validate(settings, [tmp_path])
    # The first directive silences the real finding; the second has nothing to silence.
    assert locations(report) == [("DBS002", "q.sql", 3, 1)]


@pytest.mark.db
def test_dynamic_sql_is_a_note_and_does_not_fail_by_default(tmp_path: Path,
                                                             demo_snapshot: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.dbsafe]\n")
    write(tmp_path / "app.py", "def f(cur, table):\n"
                               "    cur.execute(f'SELECT id FROM {table}')\n"
                               "    cur.execute(f'SELECT id FROM patients WHERE id = {1}')\n")
    settings = settings_for(tmp_path, snapshot=str(demo_snapshot), cache=False)
    report = commands.validate(settings, [tmp_path])
    assert [(f.code, f.severity.value) for f in report.findings] == [("DBS304", "note")]
    assert not report.fails(settings.fail_on)


@pytest.mark.db
def test_select_and_ignore_filter_codes(tmp_path: Path, demo_snapshot: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.dbsafe]\n")
    write(tmp_path / "q.sql", "SELECT nickname FROM patients;\nSELECT 1 FROM nowhere;\n")
    base = {"snapshot": str(demo_snapshot), "cache": False}
    only_tables = commands.validate(settings_for(tmp_path, select=["DBS301"], **base), [tmp_path])
    assert [f.code for f in only_tables.findings] == ["DBS301"]
    no_columns = commands.validate(settings_for(tmp_path, ignore=["DBS302"], **base), [tmp_path])
    assert [f.code for f in no_columns.findings] == ["DBS301"]


def test_unknown_code_in_select_is_a_config_error(tmp_path: Path) -> None:
    from dbsafe.core import ConfigError

    with pytest.raises(ConfigError, match="DBS999"):
        commands.validate(settings_for(tmp_path, select=["DBS999"], snapshot="x.json"), [tmp_path])


# -- paths: a typo is an error, a run that reads nothing says so --------------------------------

CLINIC_SNAPSHOT = REPO_ROOT / "tests" / "validate" / "fixtures" / "clinic_schema.json"


def offline(root: Path, **overrides: object):
    return settings_for(root, snapshot=str(CLINIC_SNAPSHOT), cache=False, **overrides)


def cli(*args: str, cwd: Path):
    import os

    from click.testing import CliRunner

    from dbsafe.cli import main

    old = Path.cwd()
    try:
        os.chdir(cwd)
        return CliRunner().invoke(main, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


@pytest.mark.parametrize("argv", [["/nonexistent/path"], ["app/db.py", "sqll"]])
def test_a_path_that_does_not_exist_is_exit_2_naming_it(tmp_path: Path, argv: list[str]) -> None:
    write(tmp_path / "pyproject.toml", "[tool.dbsafe]\n")
    write(tmp_path / "app" / "db.py", "cur.execute('SELECT id FROM patients')\n")
    result = cli("validate", "--snapshot", str(CLINIC_SNAPSHOT), "--no-cache", *argv, cwd=tmp_path)
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line == f"dbsafe: error: no such file or directory: {argv[-1]}"


def test_a_path_that_does_not_exist_is_said_before_the_schema_is_looked_for(
        tmp_path: Path) -> None:
    # No schema source at all (no alembic.ini, no SQL folder, no database): the mistyped
    # path is what the user needs to hear, not that the migrations were not found.
    write(tmp_path / "pyproject.toml", "[tool.dbsafe]\n")
    result = cli("validate", "--no-cache", "srcc", cwd=tmp_path)
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line == "dbsafe: error: no such file or directory: srcc"


def test_a_misspelled_source_path_is_an_error(tmp_path: Path) -> None:
    from dbsafe.core import SourceError

    write(tmp_path / "pyproject.toml", '[tool.dbsafe]\nsource-paths = ["app", "sqll"]\n')
    write(tmp_path / "app" / "db.py", "cur.execute('SELECT id FROM patients')\n")
    with pytest.raises(SourceError, match="sqll"):
        commands.validate(offline(tmp_path))


def test_a_run_that_reads_no_file_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write(tmp_path / "pyproject.toml", "[tool.dbsafe]\n")
    write(tmp_path / "README.md", "SELECT nope FROM patients\n")
    report = commands.validate(offline(tmp_path), [tmp_path])
    assert report.summary["files"] == 0
    assert "nothing was validated" in caplog.text


def test_large_files_are_skipped_and_listed_in_the_summary_line(tmp_path: Path) -> None:
    from dbsafe.report import summary_line

    write(tmp_path / "pyproject.toml", '[tool.dbsafe]\nmax-file-size = "1KB"\n')
    write(tmp_path / "small.sql", "SELECT nope FROM patients;\n")
    write(tmp_path / "dump.sql", "SELECT nope FROM patients;\n" * 100)
    report = commands.validate(offline(tmp_path), [tmp_path])
    assert locations(report) == [("DBS302", "small.sql", 1, 8)]
    assert report.summary["files_skipped"] == 1
    assert "skipped: dump.sql [larger than max-file-size, 2.6 KB > 1.0 KB]" in summary_line(report)
    # Raising the limit reads it.
    raised = commands.validate(offline(tmp_path, max_file_size="1MB"), [tmp_path])
    assert len(raised.findings) == 101


def test_the_default_size_limit_reads_a_six_megabyte_file(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.dbsafe]\n")
    write(tmp_path / "big.sql", "-- " + "x" * (6 * 1024 * 1024) + "\nSELECT nope FROM patients;\n")
    report = commands.validate(offline(tmp_path), [tmp_path])
    assert [f.code for f in report.findings] == ["DBS302"]


def test_script_files_are_read_not_skipped(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.dbsafe]\n")
    write(tmp_path / "db.ts", "await sql`SELECT nope FROM patients`;\n")
    write(tmp_path / "q.sql", "SELECT id FROM patients;\n")
    report = commands.validate(offline(tmp_path), [tmp_path])
    assert report.summary["files_skipped"] == 0
    assert locations(report) == [("DBS302", "db.ts", 1, 18)]


@pytest.mark.db
@pytest.mark.parametrize("driver", ["psycopg", "psycopg2", "asyncpg"])
def test_sqlalchemy_database_urls_work(database_url: str, tmp_path: Path, driver: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE people (id int)")
    write(tmp_path / "pyproject.toml", "[tool.dbsafe]\n")
    write(tmp_path / "q.sql", "SELECT nickname FROM people;\n")
    url = database_url.replace("postgresql://", f"postgresql+{driver}://", 1)
    report = commands.validate(settings_for(tmp_path, database_url=url, cache=False), [tmp_path])
    assert [(f.code, dict(f.context).get("PostgreSQL")) for f in report.findings] == [
        ("DBS302", '42703: column "nickname" does not exist')]


@pytest.mark.db
def test_target_version_rules_apply_and_a_newer_server_does_not_drop_them(
    database_url: str, tmp_path: Path,
) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        if conn.info.server_version < 180000:
            pytest.skip("needs PostgreSQL 18 (RETURNING old.*) as the suite's server")
        conn.execute("CREATE TABLE people (id int, name text)")
    write(tmp_path / "pyproject.toml", "[tool.dbsafe]\n")
    write(tmp_path / "q.sql", "UPDATE people SET name = 'x' RETURNING old.name;\n")
    # The test server (PostgreSQL 18) accepts RETURNING old.*; PostgreSQL 15 does not.
    on_18 = commands.validate(settings_for(tmp_path, database_url=database_url, cache=False),
                              [tmp_path])
    assert on_18.findings == ()
    on_15 = commands.validate(settings_for(tmp_path, database_url=database_url, cache=False,
                                           target_version="15"), [tmp_path])
    (finding,) = on_15.findings
    assert finding.message == "`old.name` in RETURNING needs PostgreSQL 18; the target is 15"
    assert dict(finding.context)["PostgreSQL"].startswith("not confirmed: PostgreSQL 18 accepts it")



_SPLIT_NAME = '''"""split name"""
from alembic import op
import sqlalchemy as sa

revision: str = "0002"
down_revision: str | None = "0001"


def upgrade():
    op.add_column("employees", sa.Column("first_name", sa.Text))
    op.execute("UPDATE employees SET first_name = split_part(name, ' ', 1)")
    op.drop_column("employees", "name")


def downgrade():
    op.add_column("employees", sa.Column("name", sa.Text))
    op.execute("UPDATE employees SET name = first_name")
    op.drop_column("employees", "first_name")
'''


@pytest.mark.db
@pytest.mark.usefixtures("one_server_throwaways")
def test_migrations_are_not_validated_against_todays_schema(tmp_path: Path) -> None:
    """A data migration's UPDATE of a column a later revision drops ran long ago: checking it
    against the schema at head is a false positive (it blocked CI on the default run)."""
    import shutil

    shutil.copy(REPO_ROOT / "alembic.ini", tmp_path / "alembic.ini")
    (tmp_path / "migrations" / "versions").mkdir(parents=True)
    for name in ("env.py", "script.py.mako"):
        shutil.copy(REPO_ROOT / "migrations" / name, tmp_path / "migrations" / name)
    write(tmp_path / "pyproject.toml", "[tool.dbsafe]\n")
    write(tmp_path / "migrations" / "versions" / "0001_init.py", (
        'from alembic import op\nimport sqlalchemy as sa\n\nrevision = "0001"\n'
        "down_revision = None\n\n\ndef upgrade():\n    op.create_table('employees', "
        "sa.Column('id', sa.Integer, primary_key=True), sa.Column('name', sa.Text))\n\n\n"
        "def downgrade():\n    op.drop_table('employees')\n"))
    write(tmp_path / "migrations" / "versions" / "0002_split.py", _SPLIT_NAME)
    # Other tools' migration folders and file names, and an alembic revision kept elsewhere.
    write(tmp_path / "supabase" / "migrations" / "20240101_backfill.sql",
          "UPDATE employees SET first_name = name;\n")
    write(tmp_path / "db" / "V3__backfill.sql", "UPDATE employees SET first_name = name;\n")
    write(tmp_path / "other_versions" / "0003_x.py", _SPLIT_NAME.replace('"0002"', '"0003"'))
    # drizzle-kit's output folder, and goose and dbmate files known by their annotations.
    write(tmp_path / "drizzle" / "0001_backfill.sql", "UPDATE employees SET first_name = name;\n")
    write(tmp_path / "sql" / "schema" / "002_backfill.sql",
          "-- +goose Up\nUPDATE employees SET first_name = name;\n")
    write(tmp_path / "db" / "20240102_backfill.sql",
          "-- migrate:up\nUPDATE employees SET first_name = name;\n\n-- migrate:down\n")
    write(tmp_path / "app" / "db.py", 'def f(cur):\n    cur.execute("SELECT name FROM employees")\n')
    settings = settings_for(tmp_path, cache=False)

    report = commands.validate(settings, [tmp_path])
    assert locations(report) == [("DBS302", "app/db.py", 2, 25)]
    assert report.summary["migration_files"] == 9  # env.py, 2 revisions, 6 elsewhere
    # Named one by one, as pre-commit passes staged files: still not validated.
    named = commands.validate(settings, [tmp_path / "migrations/versions/0002_split.py",
                                         tmp_path / "db/V3__backfill.sql"])
    assert named.findings == () and named.summary["migration_files"] == 2


# A backfill script: what its own DDL makes is there when its later statements run.
_SCRIPT = """CREATE SCHEMA crm;
CREATE TABLE crm.leads (id int PRIMARY KEY, email text);
INSERT INTO crm.leads (id, email) VALUES (1, 'a@b');
ALTER TABLE patients ADD COLUMN first_name text;
UPDATE patients SET first_name = split_part(full_name, ' ', 1);
SELECT p.first_name, c.name FROM patients p JOIN clinics c ON c.id = p.clinic_id;
SELECT first_name FROM patients JOIN clinics ON clinics.id = patients.clinic_id;
ALTER TABLE clinic_settings RENAME TO settings;
SELECT reminder_hours FROM settings;
SELECT nope FROM clinics;
SET search_path TO billing, public;
SELECT first_name FROM patients;
"""


def test_a_scripts_own_ddl_is_there_for_its_later_statements(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.dbsafe]\n")
    write(tmp_path / "scripts" / "backfill.sql", _SCRIPT)
    report = commands.validate(offline(tmp_path), [tmp_path])
    # Only the real mistake, which no DDL of the file explains.
    assert locations(report) == [("DBS302", "scripts/backfill.sql", 10, 8)]
    assert report.summary["statements_not_analysed"] == 6


@pytest.mark.db
def test_the_backfill_script_runs_on_postgresql_but_for_its_planted_mistake(
        postgresql: psycopg.Connection) -> None:
    schema = REPO_ROOT / "tests" / "validate" / "fixtures" / "clinic_schema.sql"
    postgresql.execute(schema.read_text(encoding="utf-8"))
    failed = []
    for line, statement in enumerate(_SCRIPT.splitlines(), 1):
        try:
            with postgresql.transaction():  # a savepoint: kept for the statements after it
                postgresql.execute(statement)
        except psycopg.errors.UndefinedColumn:
            failed.append(line)
    assert failed == [10]
    postgresql.rollback()


@pytest.mark.db
def test_templates_with_braces_are_never_missing_columns(tmp_path: Path,
                                                          demo_snapshot: Path) -> None:
    # `{fields}` is a str.format field, `{{ cols }}` Jinja, `{cols}` a placeholder the app
    # replaces: sqlglot reads each as a struct literal whose name looked like a column.
    write(tmp_path / "pyproject.toml", "[tool.dbsafe]\n")
    write(tmp_path / "app.py", 'LIST = "SELECT {fields} FROM patients"\n'
                               'ONE = "SELECT id, emial FROM patients WHERE id = {id}"\n'
                               "TAGGED = \"SELECT id FROM patients WHERE tags = '{a,b}' "
                               'AND nope = 1"\n')
    write(tmp_path / "model.sql", "SELECT {{ cols }} FROM patients;\n"
                                  "SELECT id FROM {{ ref('patients') }};\n")
    write(tmp_path / "api.ts", 'await client.query("SELECT {cols} FROM patients");\n')
    settings = settings_for(tmp_path, snapshot=str(demo_snapshot), cache=False)
    report = commands.validate(settings, [tmp_path])
    # What is SQL around a value field is still checked; braces inside quotes are text.
    assert sorted(locations(report)) == [("DBS302", "app.py", 2, 19),
                                         ("DBS302", "app.py", 3, 60),
                                         ("DBS304", "app.py", 1, 9)]
    assert report.summary["statements_unparsed"] == 3

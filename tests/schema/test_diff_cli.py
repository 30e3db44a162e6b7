"""`dbsafe diff` wiring: sides of every kind, exit codes, formats, --sql, and dump/restore."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from psycopg.conninfo import conninfo_to_dict

from dbsafe.cli import main
from dbsafe.schema.diff import diff
from dbsafe.schema.introspect import introspect_url

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

FIXTURES = Path(__file__).parent / "fixtures"
STEPS = Path(__file__).parent / "envs" / "steps" / "alembic.ini"


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _database(new_database: Callable[[], str], sql: str) -> str:
    conninfo = new_database()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(sql)
    return conninfo


def _url(conninfo: str, scheme: str = "postgresql", password: str | None = None) -> str:
    params = conninfo_to_dict(conninfo)
    password = password or params.get("password")  # a DBSAFE_TEST_DATABASE_URL server's
    auth = params["user"] + (f":{password}" if password else "")
    return f"{scheme}://{auth}@/{params['dbname']}?host={params['host']}&port={params['port']}"


def test_differences_are_listed_with_their_objects_and_exit_1(new_database: Callable[[], str]) -> None:
    a = _database(new_database, "CREATE TABLE t (id int, gone text); CREATE TABLE old (id int)")
    b = _database(new_database, "CREATE TABLE t (id bigint, added text); CREATE TABLE new (i int)")
    result = run("diff", _url(a), _url(b))
    assert result.exit_code == 1, result.output
    # Object by object: a heading per table, then what differs in it (itself, its columns).
    lines = [line.split(" [")[0] for line in result.output.splitlines()
             if not line.startswith("    ") and line.strip()]
    assert lines[:8] == [
        "table public.new",
        "  public.new: DBS401",
        "table public.old",
        "  public.old: DBS402",
        "table public.t",
        "  public.t.added: DBS401",
        "  public.t.gone: DBS402",
        "  public.t.id: DBS403",
    ]
    assert "differs in type: integer in the source, bigint in the target" in result.output
    # Machine formats keep their order (by code): every finding names its object itself.
    result = run("diff", _url(a), _url(b), "--format", "json")
    assert [f["subject"] for f in json.loads(result.output)["findings"]] == [
        "public.t.added", "public.new", "public.t.gone", "public.old", "public.t.id"]


@pytest.fixture
def same_two(new_database: Callable[[], str]) -> tuple[str, str]:
    """Two databases with the same table, made before `secret_password` changes the role's
    password (the factory connects with the one it was given)."""
    return (_database(new_database, "CREATE TABLE t (id int PRIMARY KEY)"),
            _database(new_database, "CREATE TABLE t (id int PRIMARY KEY)"))


def test_same_schema_exits_0_and_sqlalchemy_urls_keep_their_password_secret(
        same_two: tuple[str, str], secret_password: str) -> None:
    a, b = same_two
    result = run("diff", _url(a, "postgresql+psycopg", secret_password),
                 _url(b, "postgresql+asyncpg", secret_password), "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["findings"] == []
    assert secret_password not in result.output
    comment = run("diff", _url(a, "postgresql+psycopg", secret_password),
                  _url(b, "postgresql+asyncpg", secret_password), "--format", "markdown")
    assert comment.exit_code == 0
    assert comment.output.startswith("<!-- dbsafe:diff -->\n### :white_check_mark: `dbsafe diff`:")
    assert secret_password not in comment.output


def test_snapshot_file_against_database_and_sql_output(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    a = _database(new_database, "CREATE TABLE t (id int)")
    b = _database(new_database, "CREATE TABLE t (id int, note text NOT NULL DEFAULT '');"
                                "CREATE INDEX t_note ON t (note)")
    snapshot = tmp_path / "b.json"
    introspect_url(b).save(snapshot)
    result = run("diff", _url(a), str(snapshot), "--sql")
    assert result.exit_code == 1
    assert "ALTER TABLE public.t ADD COLUMN note text DEFAULT ''::text NOT NULL;" in result.output
    assert "CREATE INDEX CONCURRENTLY t_note ON public.t USING btree (note);" in result.output
    # The script is what the user runs: afterwards the two sides are the same.
    with psycopg.connect(a, autocommit=True) as conn:
        for statement in result.output.split(";\n"):
            body = "\n".join(x for x in statement.splitlines() if not x.startswith("--"))
            if body.strip():
                conn.execute(body)
    assert run("diff", _url(a), str(snapshot)).exit_code == 0


# MusicBrainz's shape: everything in a schema of its own, which the role's (or database's)
# search_path puts first. PostgreSQL writes definitions relative to the session's path.
_APP_SCHEMA = """
CREATE SCHEMA app;
CREATE TYPE app.mood AS ENUM ('happy', 'sad');
CREATE TABLE app.editor (id int PRIMARY KEY, mood app.mood);
CREATE TABLE app.edit (id int PRIMARY KEY, editor int REFERENCES app.editor (id));
CREATE VIEW app.edits AS SELECT e.id, r.mood FROM app.edit e JOIN app.editor r ON r.id = e.editor;
CREATE FUNCTION app.cheer(e app.editor) RETURNS app.mood LANGUAGE sql AS 'SELECT e.mood';
"""


def test_a_database_whose_search_path_differs_from_the_other_sides_is_read_with_that_one(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    plain = _database(new_database, _APP_SCHEMA)
    on_path = _database(new_database, _APP_SCHEMA)
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE {conninfo_to_dict(on_path)['dbname']} "
                     "SET search_path = app, public")
    # Read each with its own path, every definition naming `app` differs in text ...
    assert diff(introspect_url(plain), introspect_url(on_path))
    # ... but they are the same schema: `dbsafe diff` reads both with one path. What
    # differs is the setting (task 430), and it alone.
    snapshot = tmp_path / "plain.json"
    introspect_url(plain).save(snapshot)
    for a, b in [(_url(plain), _url(on_path)), (_url(on_path), _url(plain)),
                 (str(snapshot), _url(on_path)), (_url(on_path), str(snapshot))]:
        result = run("diff", a, b, "--format", "json")
        assert result.exit_code == 1
        assert [f["subject"] for f in json.loads(result.output)["findings"]] == ["search_path"]
        assert run("diff", a, b, "--ignore", "database_setting").exit_code == 0
    # A real difference still shows, and the script, run as it says, leaves none.
    with psycopg.connect(on_path, autocommit=True) as conn:
        conn.execute("ALTER TABLE app.edit ADD COLUMN note text")
    result = run("diff", _url(plain), _url(on_path), "--sql", "--ignore", "database_setting")
    assert result.exit_code == 1
    assert [line for line in result.output.splitlines() if line.startswith("ALTER")] == [
        "ALTER TABLE app.edit ADD COLUMN note text;"]


def test_databases_that_differ_only_in_their_settings_differ_in_them_and_the_sql_sets_them(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    # Task 430: what new sessions start with (`ALTER DATABASE ... SET`, `ALTER ROLE ... IN
    # DATABASE ... SET`) was in no snapshot: two such databases were "the same".
    a = _database(new_database, "CREATE TABLE t (id int)")
    b = _database(new_database, "CREATE TABLE t (id int)")
    name = conninfo_to_dict(b)["dbname"]
    with psycopg.connect(b, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS \"app%I\"; CREATE ROLE \"app%I\"")
        conn.execute(f'ALTER DATABASE {name} SET search_path = "$user", public, "My %I"')
        conn.execute(f"ALTER DATABASE {name} SET statement_timeout = '5s'")
        conn.execute(f"ALTER ROLE \"app%I\" IN DATABASE {name} SET work_mem = '64MB'")
    try:
        result = run("diff", _url(a), _url(b), "--format", "json")
        assert result.exit_code == 1
        assert sorted((f["code"], f["subject"], f["message"])
                      for f in json.loads(result.output)["findings"]) == [
            ("DBS401", "app%I.work_mem", "Role setting `app%I.work_mem` is in the target but "
                                         "not in the source."),
            ("DBS401", "search_path", "Database setting `search_path` is in the target but "
                                      "not in the source."),
            ("DBS401", "statement_timeout", "Database setting `statement_timeout` is in the "
                                            "target but not in the source.")]
        # The text report lists the database's own first, as snapshots keep them (task 458).
        text = run("diff", _url(a), _url(b)).output
        assert [line for line in text.splitlines() if "setting" in line and
                not line.startswith(" ")] == ["database setting search_path",
                                              "database setting statement_timeout",
                                              "role setting app%I"]
        # A snapshot file holds them too; the script sets them on the database it runs on
        # (the two sides' names differ), and leaves none.
        snapshot = tmp_path / "b.json"
        introspect_url(b).save(snapshot)
        result = run("diff", _url(a), str(snapshot), "--sql")
        assert result.exit_code == 1
        with psycopg.connect(a, autocommit=True) as conn:
            for statement in result.output.split(";\n"):
                body = "\n".join(x for x in statement.splitlines() if not x.startswith("--"))
                if body.strip():
                    conn.execute(body.encode())
        assert run("diff", _url(a), str(snapshot)).exit_code == 0
        # A setting only the source has is reset.
        with psycopg.connect(a, autocommit=True) as conn:
            conn.execute(f"ALTER DATABASE {conninfo_to_dict(a)['dbname']} SET work_mem = '1MB'")
        result = run("diff", _url(a), _url(b), "--sql")
        assert "DO $$BEGIN EXECUTE format('ALTER DATABASE %I RESET work_mem', " \
               "current_database()); END$$;" in result.output
        assert "ALTER DATABASE %I SET search_path TO ''$user'', ''public'', ''My %%I''" \
            not in result.output  # the same on both sides now
    finally:  # (a role is the server's: its settings in each database go first)
        for database in (a, b):
            with psycopg.connect(database, autocommit=True) as conn:
                conn.execute(f"ALTER ROLE \"app%I\" IN DATABASE "
                             f"{conninfo_to_dict(database)['dbname']} RESET ALL")
        with psycopg.connect(b, autocommit=True) as conn:
            conn.execute("DROP ROLE \"app%I\"")


def test_two_snapshot_files_read_with_different_search_paths_are_compared_with_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from dbsafe import commands
    from dbsafe.config import load_settings
    from dbsafe.schema.model import SchemaSnapshot

    SchemaSnapshot(search_path=("app", "public")).save(tmp_path / "a.json")
    SchemaSnapshot(search_path=("public",)).save(tmp_path / "b.json")
    settings = load_settings(tmp_path, {}, environ={})
    with caplog.at_level("WARNING"):
        report = commands.diff(settings, str(tmp_path / "a.json"), str(tmp_path / "b.json"))
    assert report.findings == ()
    assert "read with different search paths (app, public; public)" in caplog.text


def test_ignored_kinds_and_names_leave_their_differences_out(
        new_database: Callable[[], str]) -> None:
    a = _database(new_database, "CREATE TABLE t (id int); CREATE TABLE tmp_1 (id int)")
    b = _database(new_database, "CREATE TABLE t (id int); CREATE INDEX t_id ON t (id);"
                                "COMMENT ON TABLE t IS 'x'")
    assert run("diff", _url(a), _url(b)).exit_code == 1
    result = run("diff", _url(a), _url(b), "--ignore", "index", "--ignore", "comment",
                 "--ignore-name", "public.tmp_*")
    assert result.exit_code == 0, result.output
    result = run("diff", _url(a), _url(b), "--ignore", "DBS4")
    assert result.exit_code == 0, result.output


def _snapshots(tmp_path: Path) -> tuple[str, str]:
    from dbsafe.schema.model import Column, Index, Relation, SchemaSnapshot

    def table(schema: str, name: str, *indexes: Index) -> Relation:
        return Relation(schema, name, "table", columns=(Column("id", "integer", 1),),
                        indexes=indexes)

    a = SchemaSnapshot(schemas=("audit", "public"), relations=(table("public", "t"),))
    b = SchemaSnapshot(schemas=("audit", "public"), relations=(
        table("public", "t", Index("t_id", "CREATE INDEX t_id ON public.t USING btree (id)")),
        table("public", "tmp_1"), table("audit", "log"), table("public", "kept")))
    a.save(tmp_path / "a.json")
    b.save(tmp_path / "b.json")
    return str(tmp_path / "a.json"), str(tmp_path / "b.json")


def test_diff_ignores_in_the_configuration_leave_their_differences_out(
        tmp_path: Path) -> None:
    a, b = _snapshots(tmp_path)
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.dbsafe]\ndiff-ignore = ["index"]\n'
                      'diff-ignore-schemas = ["audit"]\ndiff-ignore-names = ["public.tmp_*"]\n',
                      encoding="utf-8")
    result = run("diff", a, b, "--format", "json")
    assert len(json.loads(result.output)["findings"]) == 4
    result = run("--config", str(config), "diff", a, b, "--format", "json")
    assert result.exit_code == 1, result.output
    assert [f["subject"] for f in json.loads(result.output)["findings"]] == ["public.kept"]
    # The command line adds to the configuration.
    result = run("--config", str(config), "diff", a, b, "--ignore", "table")
    assert result.exit_code == 0, result.output


def test_an_unknown_kind_in_diff_ignore_is_one_line_naming_the_setting(
        tmp_path: Path) -> None:
    a, b = _snapshots(tmp_path)
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.dbsafe]\ndiff-ignore = ["indexes"]\n', encoding="utf-8")
    result = run("--config", str(config), "diff", a, b)
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert f"{config}: diff-ignore: unknown kind(s) to ignore: indexes" in line
    config.write_text('[tool.dbsafe]\ndiff-ignore-names = "public.tmp_*"\n', encoding="utf-8")
    assert run("--config", str(config), "diff", a, b).exit_code == 1  # a string is one item
    config.write_text('[tool.dbsafe]\ndiff-ignore-schemas = [1]\n', encoding="utf-8")
    result = run("--config", str(config), "diff", a, b)
    assert result.exit_code == 2 and "'diff-ignore-schemas' must be a list of strings" in \
        result.stderr


def test_a_side_that_is_nothing_known_is_one_line_exit_2(tmp_path: Path) -> None:
    result = run("diff", str(tmp_path / "missing.json"), "migrations")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"dbsafe: error: {tmp_path / 'missing.json'}: no such snapshot file, schema file or "
        "folder of SQL migrations, and not a database URL or migrations[@REV]"]
    result = run("diff", "migrations", "migrations", "--ignore", "tables")
    assert result.exit_code == 2
    assert "unknown kind(s) to ignore: tables (did you mean table?); the kinds: " in result.stderr


def test_a_missing_side_is_said_before_the_other_side_is_read(tmp_path: Path) -> None:
    # The target was read first: of two missing files the second was said, and `diff
    # prod.json migrations` built the migrations on a throwaway server before saying prod.json
    # was not there. Both sides are now checked before either is read.
    missing = tmp_path / "prod.json"
    result = run("diff", str(missing), str(tmp_path / "staging.json"))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"dbsafe: error: {missing}: no such snapshot file, schema file or folder of SQL "
        "migrations, and not a database URL or migrations[@REV]"]


def test_an_empty_side_is_refused_not_read_as_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `dbsafe diff "$PROD_URL" "$STAGING_URL"` with both unset, run where .sql files are.
    (tmp_path / "0001_init.sql").write_text("CREATE TABLE t (id int);", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = run("diff", "", "")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "dbsafe: error: an empty argument names no schema (an unset variable?): give a "
        "database URL, a snapshot file, a folder of SQL migrations or migrations[@REV]"]


def test_migrations_at_a_revision_against_heads(tmp_path: Path) -> None:
    result = run("diff", "migrations@0001", "migrations", "--alembic-config", str(STEPS),
                 "--no-cache")
    assert result.exit_code == 1, result.output
    assert [line.split(" [")[0].strip() for line in result.output.splitlines()
            if ": DBS4" in line] == [
        "public.step_1.note: DBS401", "public.step_1.step_1_note_idx: DBS401"]


def test_database_against_migrations(new_database: Callable[[], str]) -> None:
    live = _database(new_database, "CREATE TABLE step_1 (id bigint PRIMARY KEY, note text)")
    result = run("diff", _url(live), "migrations", "--alembic-config", str(STEPS),
                 "--no-cache", "--ignore-name", "public.alembic_version")
    assert result.exit_code == 1, result.output
    assert [line.split(" [")[0].strip() for line in result.output.splitlines()
            if ": DBS4" in line] == ["public.step_1.step_1_note_idx: DBS401"]


def test_dump_and_restore_show_no_difference(new_database: Callable[[], str],
                                             tmp_path: Path) -> None:
    sql = "\n".join((FIXTURES / path).read_text(encoding="utf-8") for path in (
        "shop.sql", "pairs/functions_triggers/b.sql", "pairs/security_comments/b.sql",
        "pairs/types_sequences_schemas/b.sql", "pairs/partitioning/b.sql",
        "pairs/views/b.sql", "pairs/enums/b.sql", "pairs/event_triggers/b.sql"))
    original = _database(new_database, sql)
    restored = new_database()
    _dump_and_restore(original, restored, tmp_path)
    before, after = introspect_url(original), introspect_url(restored)
    assert len(before.relations) > 30
    assert [c.describe() for c in diff(before, after)] == []


def _dump_and_restore(original: str, restored: str, tmp_path: Path) -> None:
    from dbsafe.pg.throwaway import bin_dir

    with psycopg.connect(original) as conn:
        major = conn.info.server_version // 10000
    # A newer pg_restore writes settings an older server rejects (transaction_timeout):
    # use the server's own binaries when they are installed.
    binaries = Path(f"/usr/lib/postgresql/{major}/bin")
    if not (binaries / "pg_restore").exists():
        binaries = bin_dir()
    dump = tmp_path / "dump.pgc"
    subprocess.run([str(binaries / "pg_dump"), "-Fc", "-f", str(dump), "-d", original],
                   check=True, capture_output=True)
    subprocess.run([str(binaries / "pg_restore"), "--exit-on-error", "-d", restored,
                    str(dump)], check=True, capture_output=True)


# What PostgreSQL prints of these reads back as another tree (MusicBrainz's
# `CHECK (entity_type IN (...))` on a varchar and its `release_event` view).
_PRINTED_OTHERWISE = """
CREATE TABLE kinds (kind varchar(20) CHECK (kind IN ('artist', 'work')), n int);
CREATE INDEX kinds_n ON kinds (n) WHERE kind IN ('artist', 'work');
CREATE TABLE a (n int); CREATE TABLE b (m int);
CREATE VIEW ab AS SELECT n FROM (SELECT n FROM a UNION ALL SELECT NULL FROM b) AS q;
"""


def test_definitions_printed_otherwise_than_read_back_are_no_difference_after_a_restore(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    original = _database(new_database, _PRINTED_OTHERWISE)
    restored = new_database()
    _dump_and_restore(original, restored, tmp_path)
    with psycopg.connect(original) as one, psycopg.connect(restored) as other:
        texts = [[conn.execute(query).fetchone()[0] for conn in (one, other)] for query in (
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'kinds_kind_check'",
            "SELECT pg_get_indexdef('kinds_n'::regclass)", "SELECT pg_get_viewdef('ab')")]
    assert all(first != second for first, second in texts)  # PostgreSQL's own texts differ
    assert [c.describe() for c in diff(introspect_url(original), introspect_url(restored))] == []
    # and a script that creates them leaves nothing to do after it.
    empty = new_database()
    result = run("diff", _url(empty), _url(original), "--sql")
    with psycopg.connect(empty, autocommit=True) as conn:
        for statement in result.output.split(";\n"):
            body = "\n".join(x for x in statement.splitlines() if not x.startswith("--"))
            if body.strip():
                conn.execute(body)
    assert run("diff", _url(empty), _url(original)).exit_code == 0


def test_dbsafes_own_schema_is_never_a_difference_nor_dropped_by_the_script(
        new_database: Callable[[], str]) -> None:
    # A database dbsafe upgraded holds its history; the other side (migrations, a snapshot,
    # a new database) does not.
    upgraded = _database(new_database, """
        CREATE TABLE t (id int);
        CREATE SCHEMA dbsafe;
        CREATE TABLE dbsafe.history (run_id uuid PRIMARY KEY, outcome text);
        INSERT INTO dbsafe.history VALUES (gen_random_uuid(), 'applied');
    """)
    fresh = _database(new_database, "CREATE TABLE t (id int)")
    for source, target in ((upgraded, fresh), (fresh, upgraded)):
        result = run("diff", _url(source), _url(target))
        assert result.exit_code == 0, result.output
        script = run("diff", _url(source), _url(target), "--sql")
        assert "dbsafe" not in script.output.replace("Generated by dbsafe", ""), script.output

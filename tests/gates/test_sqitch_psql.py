"""A Sqitch project whose scripts use psql variables (from sqitch.conf) and include other
files (`\\ir`), read by lint, verify-reversible, drift and status as `sqitch deploy` and
`sqitch revert` run them, on a real PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import Settings, load_settings
from dbsafe.core import SourceError
from dbsafe.pg.throwaway import bin_dir

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

_PLANNED = "2024-01-01T00:00:00Z A <a@example.com>"
# Variables as Sqitch merges them: core's, deploy's (revert's for `sqitch revert`), then
# the engine's and the target's; `:"schema"` a quoted identifier, `:'greeting'` a literal.
_CONF = """[core]
\tengine = pg
[engine "pg"]
\ttarget = dev
[target "dev"]
\turi = db:pg:shop
[core "variables"]
\tschema = Shop
\tgreeting = core's
[deploy "variables"]
\tgreeting = deployed
[revert "variables"]
\tgreeting = reverted
\tdropped = orders
[target "dev.variables"]
\tindexed = body
"""
_FILES = {
    "sqitch.conf": _CONF,
    "sqitch.plan": f"%syntax-version=1.0.0\n%project=shop\n\nschema {_PLANNED}\n"
                   f"orders [schema] {_PLANNED}\n",
    "deploy/schema.sql": "-- Deploy shop:schema to pg\nBEGIN;\n\nCREATE SCHEMA :\"schema\";\n"
                         "CREATE TABLE :\"schema\".notes (body text);\n"
                         "INSERT INTO :\"schema\".notes VALUES (:'greeting');\n\nCOMMIT;\n",
    "revert/schema.sql": "BEGIN;\nDROP SCHEMA :\"schema\" CASCADE;\nCOMMIT;\n",
    # The tables live in ../common, which the deploy script includes relative to itself.
    "deploy/orders.sql": "-- Deploy shop:orders to pg\nBEGIN;\n\\ir ../common/orders.sql\n"
                         "COMMIT;\n",
    "common/orders.sql": "-- orders, and an index on the notes the schema change made\n"
                         "CREATE TABLE :\"schema\".orders (id int);\n"
                         "CREATE INDEX notes_body ON :\"schema\".notes (:\"indexed\");\n",
    # The revert script names the table with a variable only `sqitch revert` sets.
    "revert/orders.sql": "BEGIN;\nDROP INDEX :\"schema\".notes_body;\n"
                         "DROP TABLE :\"schema\".:\"dropped\";\nCOMMIT;\n",
}


def _project(root: Path) -> Path:
    for name, text in _FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_lint_reads_the_scripts_as_psql_runs_them_with_included_files_in_place(
        tmp_path: Path) -> None:
    # Read as written, `:"schema"` is a syntax error (DBS001) and the included index is
    # never seen; psql sends `CREATE SCHEMA "Shop"` and the included file's statements.
    report = commands.lint(Settings(project_root=tmp_path), [_project(tmp_path)])
    found = sorted((f.code, f.location.path, f.location.line) for f in report.findings
                   if f.location is not None)
    assert ("DBS101", "common/orders.sql", 3) in found  # the index on `Shop`.notes
    assert not [f for f in found if f[0] == "DBS001"], found
    assert {path for _, path, _ in found} <= {"common/orders.sql"}


def test_verify_reversible_runs_revert_scripts_with_revert_s_variables(
        tmp_path: Path) -> None:
    report = commands.verify_reversible(load_settings(_project(tmp_path), environ={}))
    assert [(f.code, f.message) for f in report.findings] == []
    assert report.summary["migrations"] == 2


def test_verify_reversible_of_another_target_runs_its_scripts_with_its_variables(
        tmp_path: Path) -> None:
    # `sqitch deploy prod` / `sqitch revert prod`: both with prod's schema, ShopProd; the
    # revert scripts read with the default target's (Shop) drop what is not there.
    root = _project(tmp_path)
    with (root / "sqitch.conf").open("a") as conf:
        conf.write('[target "prod"]\n\turi = db:pg:shopprod\n'
                   '[target "prod.variables"]\n\tschema = ShopProd\n\tindexed = body\n')
    result = subprocess.run([sys.executable, "-m", "dbsafe", "verify-reversible",
                             "--sqitch-target", "prod"], cwd=root, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    report = commands.verify_reversible(load_settings(root, {"sqitch-target": "prod"},
                                                      environ={}))
    assert [(f.code, f.message) for f in report.findings] == []


def _deploy_with_psql(root: Path, database_url: str, schema: str) -> None:
    """The database as psql itself deploys the scripts, given the variables Sqitch passes
    (`--set name=value`), from the project's folder; Sqitch's registry says both ran."""
    for script in ("deploy/schema.sql", "deploy/orders.sql"):
        subprocess.run(
            [str(bin_dir() / "psql"), "--no-psqlrc", "--quiet", "--set", "ON_ERROR_STOP=1",
             "--set", f"schema={schema}", "--set", "greeting=deployed", "--set",
             "indexed=body", "--set", "registry=sqitch", "--file", script,
             "--dbname", database_url], cwd=root, check=True, capture_output=True)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA sqitch; CREATE TABLE sqitch.changes (change_id text PRIMARY"
                     " KEY, change text NOT NULL, project text NOT NULL, committed_at "
                     "timestamptz NOT NULL DEFAULT clock_timestamp());"
                     "INSERT INTO sqitch.changes (change_id, change, project) VALUES "
                     "('1', 'schema', 'shop'), ('2', 'orders', 'shop')")


def test_drift_and_status_compare_with_what_psql_deployed(tmp_path: Path,
                                                         database_url: str) -> None:
    root = _project(tmp_path)
    _deploy_with_psql(root, database_url, "Shop")
    settings = load_settings(root, {"database-url": database_url}, environ={})
    assert [(f.code, f.subject) for f in commands.drift(settings).findings] == []
    assert commands.status(settings).summary["current"] == ["deploy/orders.sql"]

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute('DROP INDEX "Shop".notes_body')  # now it is drift
    assert [(f.code, f.subject) for f in commands.drift(settings).findings] == [
        ("DBS401", "Shop.notes.notes_body")]


def test_drift_of_another_target_uses_that_target_s_variables(tmp_path: Path,
                                                              database_url: str) -> None:
    # `sqitch deploy prod` runs the scripts with prod's variables: its schema is ShopProd.
    root = _project(tmp_path)
    with (root / "sqitch.conf").open("a") as conf:
        conf.write('[target "prod"]\n\turi = db:pg:shopprod\n'
                   '[target "prod.variables"]\n\tschema = ShopProd\n\tindexed = body\n')
    _deploy_with_psql(root, database_url, "ShopProd")
    settings = load_settings(root, {"database-url": database_url, "sqitch-target": "prod"},
                             environ={})
    assert [(f.code, f.subject) for f in commands.drift(settings).findings] == []
    default = load_settings(root, {"database-url": database_url}, environ={})
    assert ("DBS401", "Shop") in [(f.code, f.subject) for f in commands.drift(default).findings]


@pytest.mark.parametrize(("script", "error"), [
    ("BEGIN;\n\\ir ../common/absent.sql\nCOMMIT;\n",
     r"deploy/orders.sql:2: \\ir ../common/absent.sql: no such file \(common/absent.sql\)"),
    ("BEGIN;\n\\ir orders.sql\nCOMMIT;\n",
     r"psql includes deploy/orders.sql within itself \(deploy/orders.sql -> "
     r"deploy/orders.sql\)"),
], ids=["missing", "loop"])
def test_an_include_psql_cannot_follow_is_one_line_error(
        script: str, error: str, tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "deploy" / "orders.sql").write_text(script)
    with pytest.raises(SourceError, match=error):
        commands.lint(Settings(project_root=tmp_path), [root])
    with pytest.raises(SourceError, match=error):
        commands.verify_reversible(load_settings(root, environ={}))


def test_one_deploy_script_named_is_read_as_psql_runs_it_and_includes_keep_suppressions(
        tmp_path: Path) -> None:
    root = _project(tmp_path)
    found = commands.lint(Settings(project_root=tmp_path), [root / "deploy" / "orders.sql"])
    assert ("DBS101", "common/orders.sql", 3) in {
        (f.code, f.location.path, f.location.line) for f in found.findings if f.location}
    included = root / "common" / "orders.sql"
    included.write_text(included.read_text().replace(
        "CREATE INDEX", "-- dbsafe: ignore[DBS101] built before the table holds rows\n"
        "CREATE INDEX"))
    report = commands.lint(Settings(project_root=tmp_path), [root])
    assert [f.code for f in report.findings if f.code in ("DBS101", "DBS002")] == []


def test_the_schema_s_cache_key_follows_the_files_the_scripts_include(tmp_path: Path) -> None:
    from dbsafe.sources import SqlFolder

    root = _project(tmp_path)
    settings = load_settings(root, environ={})
    before = SqlFolder.of(root, settings).cache_key(settings)
    (root / "common" / "orders.sql").write_text("CREATE TABLE :\"schema\".orders (id bigint);\n")
    assert SqlFolder.of(root, settings).cache_key(settings) != before

"""An Atlas project's schema: the migration directory its atlas.hcl names, else the SQL
schema its env's `src` declares, applied to a throwaway server (task 416)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from tests.helpers import dbsafe_in_process

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

QUERIES = "select id, nmae from users;\nselect id, status from orders;\n"


def _project(root: Path, files: dict[str, str]) -> Path:
    for name, text in {**files, "app/queries.sql": QUERIES}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _findings(report) -> list[tuple[str, str, int]]:
    return sorted((f.code, f.location.path, f.location.line) for f in report.findings)


def dbsafe(*args: str, cwd: Path, env: dict[str, str | None] | None = None
           ) -> subprocess.CompletedProcess[str]:
    return dbsafe_in_process(*args, cwd=cwd, env={"DBSAFE_DATABASE_URL": None, **(env or {})})


def test_the_sql_schema_an_atlas_env_declares_is_the_schema(tmp_path: Path) -> None:
    """Catherine-Chan's layout: `env "local" { schema { src = "file://src/schema.sql" } }`
    (exit 2 before: no schema source). The file is the schema, not application SQL."""
    root = _project(tmp_path, {
        "atlas.hcl": 'variable "url" {\n  type = string\n}\n\nenv "local" {\n  schema {\n'
                     '    src = "file://src/schema.sql"\n  }\n  url = var.url\n'
                     '  dev = "docker://postgres/18/dev?search_path=public"\n}\n',
        "src/schema.sql": "CREATE TABLE users (id bigint PRIMARY KEY, name text);\n"
                          "CREATE TABLE orders (id bigint PRIMARY KEY, status text);\n",
    })
    found = dbsafe("validate", "--format", "json", cwd=root)
    assert found.returncode == 1, found.stderr
    output = json.loads(found.stdout)
    assert [(f["code"], f["path"], f["line"]) for f in output["findings"]] == [("DBS302", "app/queries.sql", 1)]
    # the declared file is the schema's source, not a migration `dbsafe lint` is left
    # (its summary said "1 migration left to lint", which lint with no path never lints)
    assert output["summary"]["schema_files"] == 1
    assert output["summary"]["migration_files"] == 0


def test_a_list_of_schema_files_runs_in_its_order(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """`src = [types, tables]`: tables.sql uses types.sql's type, and runs after it although
    its name sorts first; a folder's files run by name."""
    root = _project(tmp_path, {
        "atlas.hcl": 'env "dev" {\n  src = ["file://db/types.sql", "file://db/tables.sql"]\n}\n'
                     'env "prod" {\n  src = "file://db/prod.sql"\n}\n',
        "db/types.sql": "CREATE TYPE order_status AS ENUM ('new', 'paid');\n",
        "db/tables.sql": "CREATE TABLE users (id bigint PRIMARY KEY, name text);\n"
                         "CREATE TABLE orders (id bigint PRIMARY KEY, status order_status);\n",
        "db/prod.sql": "CREATE TABLE users (id bigint PRIMARY KEY, nmae text);\n",
    })
    monkeypatch.chdir(root)
    report = commands.validate(load_settings(root, environ={}), [root / "app"])
    assert _findings(report) == [("DBS302", "app/queries.sql", 1)]
    assert report.summary["schema_source"] == \
        "atlas schema db/types.sql, db/tables.sql (embedded PostgreSQL)"

    # `atlas-env` picks another env (its users has `nmae`; it has no orders)
    report = commands.validate(load_settings(root, environ={"DBSAFE_ATLAS_ENV": "prod"}),
                               [root / "app"])
    assert _findings(report) == [("DBS301", "app/queries.sql", 2)]


def test_the_migration_directory_an_atlas_env_names_is_the_schema(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`migration { dir = "file://migrations" }`: Atlas's directory (its atlas.sum is no
    SQL), applied in file name order; it wins over the env's HCL schema."""
    root = _project(tmp_path, {
        "atlas.hcl": 'env "local" {\n  src = "file://schema.pg.hcl"\n  migration {\n'
                     '    dir = "file://migrations"\n  }\n}\n',
        "schema.pg.hcl": 'table "users" {\n  schema = schema.public\n}\n',
        "migrations/20240101000000_init.sql":
            "CREATE TABLE users (id bigint PRIMARY KEY, name text);\n",
        "migrations/20240102000000_orders.sql":
            "CREATE TABLE orders (id bigint PRIMARY KEY, status text);\n",
        "migrations/atlas.sum": "h1:abc=\n20240101000000_init.sql h1:def=\n",
    })
    monkeypatch.chdir(root)
    report = commands.validate(load_settings(root, environ={}), [root / "app"])
    assert _findings(report) == [("DBS302", "app/queries.sql", 1)]
    assert report.summary["schema_source"].startswith("sql migrations migrations ")


def test_an_hcl_schema_is_said_to_be_unreadable(tmp_path: Path) -> None:
    root = _project(tmp_path, {
        "atlas.hcl": 'env "local" {\n  src = "file://schema.pg.hcl"\n'
                     '  url = getenv("DATABASE_URL")\n}\n',
        "schema.pg.hcl": 'table "users" {\n  schema = schema.public\n}\n',
    })
    found = dbsafe("validate", cwd=root)
    assert found.returncode == 2
    assert found.stderr.strip().splitlines() == [
        'dbsafe: error: atlas.hcl: env "local" declares its schema in schema.pg.hcl, Atlas\'s '
        "HCL schema language, which dbsafe cannot read; give the schema with --database-url "
        "(a database at it) or --snapshot FILE (a `dbsafe schema dump` of one)"]


def test_several_envs_and_none_local_is_said(tmp_path: Path) -> None:
    root = _project(tmp_path, {
        "atlas.hcl": 'env "staging" {\n  src = "file://a.sql"\n}\n'
                     'env "prod" {\n  src = "file://b.sql"\n}\n',
        "a.sql": "CREATE TABLE users (id bigint);\n", "b.sql": "CREATE TABLE users (id int);\n",
    })
    found = dbsafe("validate", cwd=root)
    assert found.returncode == 2
    assert found.stderr.strip().splitlines() == [
        "dbsafe: error: atlas.hcl declares several envs (staging, prod), none named local or "
        "dev: choose one with `atlas-env` ([tool.dbsafe] or DBSAFE_ATLAS_ENV)"]

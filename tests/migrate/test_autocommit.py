"""`alembic-autocommit = true`: env.py is handed an autocommit connection, as applications
that run their history on their own connection hand it one (dagster's storages, with
`isolation_level="AUTOCOMMIT"`), and their revisions build indexes CONCURRENTLY with no
`autocommit_block()`. In one transaction PostgreSQL refuses them (25001)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.gates.histories import write_history

pytestmark = pytest.mark.db

REVISIONS: list[tuple[str, str] | str] = [
    ("CREATE TABLE teams (id int PRIMARY KEY, name text)", "DROP TABLE teams"),
    ("CREATE INDEX CONCURRENTLY teams_name ON teams (name)",
     "DROP INDEX CONCURRENTLY teams_name"),
]


def _dbsafe(root: Path, *args: str) -> tuple[int, dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))}
    proc = subprocess.run([sys.executable, "-m", "dbsafe", *args, "--format", "json"],
                          cwd=root, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def _autocommit(root: Path) -> None:
    (root / "pyproject.toml").write_text("[tool.dbsafe]\nalembic-autocommit = true\n")


def test_upgrade_applies_a_concurrent_index_on_the_autocommit_connection(
        tmp_path: Path, database_url: str, conninfo: str) -> None:
    root = tmp_path / "p"
    write_history(root, REVISIONS)
    upgrade = ("upgrade", "--database-url", database_url, "--no-backup", "--fail-on", "error")

    _, refused = _dbsafe(root, *upgrade)
    assert refused["summary"]["outcome"] != "applied"
    assert {f["code"] for f in refused["findings"]} >= {"DBS102"}

    _autocommit(root)
    code, applied = _dbsafe(root, *upgrade)
    assert (code, applied["summary"]["outcome"]) == (0, "applied")
    with psycopg.connect(conninfo) as conn:
        assert conn.execute(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname = 'teams_name'").fetchall() == [(True,)]
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() \
            == [("0002",)]


def test_verify_reversible_walks_a_concurrent_index_on_the_autocommit_connection(
        tmp_path: Path) -> None:
    root = tmp_path / "p"
    write_history(root, REVISIONS)

    _, failed = _dbsafe(root, "verify-reversible")
    assert [f["code"] for f in failed["findings"]] == ["DBS417"]

    _autocommit(root)
    code, verified = _dbsafe(root, "verify-reversible")
    assert (code, verified["findings"], verified["summary"]["revisions_verified"]) \
        == (0, [], 2)

"""Run from a folder holding several checkouts (no pyproject.toml, no git repository of its
own), dbsafe takes the project of the PATHS, not the working directory: a schema source
found under the working directory could be another checkout's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dbsafe import config
from tests.conftest import REPO_ROOT


def dbsafe(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    env.pop("DBSAFE_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "dbsafe", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def checkout(root: Path, migrations: str | None, app_sql: str) -> Path:
    """A git checkout (its `.git` folder is all dbsafe looks at) with an app query and,
    when given, one supabase migration."""
    (root / ".git").mkdir(parents=True)
    (root / "src").mkdir()
    (root / "src" / "queries.sql").write_text(app_sql)
    if migrations is not None:
        (root / "supabase" / "migrations").mkdir(parents=True)
        (root / "supabase" / "migrations" / "20240101000000_init.sql").write_text(migrations)
    return root


def test_the_paths_project_is_the_checkout_they_share(tmp_path: Path) -> None:
    shop = checkout(tmp_path / "shop", None, "")
    (shop / "pkg").mkdir()
    (shop / "pkg" / "pyproject.toml").write_text("[tool.dbsafe]\nfail-on = 'error'\n")
    blog = checkout(tmp_path / "blog", None, "")
    assert config.paths_project(tmp_path, [Path("shop/src")]) == shop
    assert config.paths_project(tmp_path, [Path("shop/src"), Path("shop/src/queries.sql")]) == shop
    assert config.paths_project(tmp_path, [Path("shop/pkg")]) == shop / "pkg"
    assert config.paths_project(tmp_path, [Path("shop/src"), Path("blog/src")]) is None
    assert config.paths_project(tmp_path, [tmp_path]) is None
    # In a checkout, the working directory keeps being the project (a workspace folder).
    assert config.paths_project(shop / "src", [Path(".")]) is None
    assert config.paths_project(blog, [Path("src")]) is None
    settings = config.load_settings(tmp_path, paths=[Path("shop/pkg")], environ={})
    assert settings.project_root == shop / "pkg"
    assert settings.fail_on.value == "error"
    assert config.load_settings(tmp_path, environ={}).project_root == tmp_path


@pytest.mark.db
def test_another_checkouts_migrations_are_never_the_schema(tmp_path: Path) -> None:
    # shop has no schema source of its own; blog, beside it, has supabase migrations.
    checkout(tmp_path / "shop", None, "select id, total from orders;\n")
    checkout(tmp_path / "blog", "create table posts (id bigint primary key);\n",
             "select id from posts;\n")
    done = dbsafe("validate", "shop/src", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "DBS301" not in done.stdout
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "shop" in done.stderr and "blog" not in done.stderr


@pytest.mark.db
def test_the_paths_own_migrations_are_found_beside_another_checkouts(tmp_path: Path) -> None:
    checkout(tmp_path / "shop", "create table orders (id bigint primary key, total int);\n",
             "select id, total from orders;\nselect id, nosuch from orders;\n")
    checkout(tmp_path / "blog", "create table posts (id bigint primary key);\n", "")
    done = dbsafe("validate", "shop/src", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    [finding] = [line for line in done.stdout.splitlines() if "DBS302" in line]
    assert finding.startswith("src/queries.sql:2:")
    assert "`orders` has no column `nosuch`" in finding
    assert "shop/supabase/migrations" in done.stdout or "supabase/migrations" in done.stdout


@pytest.mark.db
def test_lint_reads_the_application_of_the_paths_checkout(tmp_path: Path) -> None:
    shop = checkout(tmp_path / "shop", "create table orders (id bigint primary key, total int);\n",
                    "select id, total from orders;\n")
    (shop / "supabase" / "migrations" / "20240102000000_drop.sql").write_text(
        "alter table orders drop column total;\n")
    checkout(tmp_path / "blog", "create table posts (id bigint primary key);\n", "")
    done = dbsafe("lint", "shop/supabase/migrations", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    # DBS211: shop's own query still reads the dropped column (the application checked is
    # shop's, its schema shop's migrations').
    [uses] = [line for line in done.stdout.splitlines() if "DBS211" in line]
    assert uses.startswith("supabase/migrations/20240102000000_drop.sql:1:1: DBS211")
    assert "not checked" not in done.stdout

"""`dbsafe upgrade` runs env.py where dbsafe's own connection goes, however the URL names
it: a service, connection options. The environment's libpq variables point elsewhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from tests.helpers import databases
from tests.migrate.projects import write_project

pytestmark = pytest.mark.db


@pytest.fixture
def new_database(conninfo: str) -> Iterator[Callable[[], str]]:
    yield from databases(conninfo, "upgrade_conn")


def _tables(conninfo: str) -> list[str]:
    with psycopg.connect(conninfo) as conn:
        return sorted(f"{schema}.{table}" for schema, table in conn.execute(
            "SELECT schemaname, tablename FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"))


def _upgrade(root: Path, env: dict[str, str]) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "dbsafe", "upgrade", "0002", "--no-backup", "--fail-on", "error",
         "--format", "json"],
        cwd=root, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def _environment(**variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))}
    return {**env, **variables}


def test_a_service_url_migrates_the_service_database_not_the_environments(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    shop, decoy = conninfo_to_dict(new_database()), conninfo_to_dict(new_database())
    services = tmp_path / "pg_service.conf"
    services.write_text("[shop]\n" + "".join(
        f"{key}={shop[key]}\n" for key in ("host", "port", "user", "dbname", "password")
        if shop.get(key)))
    root = tmp_path / "p"
    write_project(root, "well_behaved")
    # libpq's variables name the same server and another database on it: what a child
    # left to the environment would migrate.
    env = _environment(PGSERVICEFILE=str(services), PGHOST=str(shop["host"]),
                       PGPORT=str(shop.get("port") or 5432), PGUSER=str(shop.get("user")),
                       PGDATABASE=str(decoy["dbname"]),
                       DBSAFE_DATABASE_URL="postgresql:///?service=shop")

    report = _upgrade(root, env)

    assert report["summary"]["outcome"] == "applied"
    assert _tables(psycopg.conninfo.make_conninfo(**shop)) == [
        "dbsafe.history", "public.alembic_version", "public.orders", "public.patients"]
    assert _tables(psycopg.conninfo.make_conninfo(**decoy)) == []


def test_the_urls_connection_options_reach_the_migrations(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    """A search_path in the URL's options is where dbsafe looks for alembic_version and the
    application's tables: the revisions must create them there too."""
    shop = new_database()
    with psycopg.connect(shop, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA app")
    params = conninfo_to_dict(shop)
    url = ("postgresql:///?" + "&".join(
        f"{key}={params[key]}" for key in ("host", "port", "user", "dbname", "password")
        if params.get(key)) + "&options=-csearch_path%3Dapp")
    root = tmp_path / "p"
    write_project(root, "well_behaved")

    report = _upgrade(root, _environment(DBSAFE_DATABASE_URL=url))

    assert report["summary"]["outcome"] == "applied"
    assert _tables(shop) == ["app.alembic_version", "app.orders", "app.patients",
                             "dbsafe.history"]

"""pg_dump and pg_restore reach the database dbsafe's own connection reaches: every
parameter of the URL goes to them, secrets never on their command line."""

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

from dbsafe.core import DatabaseError
from dbsafe.pg.connect import tool_connection
from tests.helpers import databases


def test_every_url_parameter_reaches_the_tools_and_the_password_only_their_environment(
) -> None:
    args, env = tool_connection(
        "postgresql+psycopg://app:s3cr%40t@db.example.com:6432/shop?sslmode=verify-full"
        "&sslrootcert=/etc/ca.pem&sslcert=/etc/app.crt&options=-csearch_path%3Dapp"
        "&target_session_attrs=read-write")

    [dbname] = args
    assert dbname.startswith("--dbname=")
    assert conninfo_to_dict(dbname.removeprefix("--dbname=")) == {
        "user": "app", "host": "db.example.com", "port": "6432", "dbname": "shop",
        "sslmode": "verify-full", "sslrootcert": "/etc/ca.pem", "sslcert": "/etc/app.crt",
        "options": "-csearch_path=app", "target_session_attrs": "read-write"}
    assert "s3cr" not in " ".join(args)
    assert env["PGPASSWORD"] == "s3cr@t"


def test_another_database_of_the_same_server_keeps_the_rest_of_the_url() -> None:
    [dbname] = tool_connection("postgresql://app@h/shop?service=prod", dbname="shop copy")[0]
    assert conninfo_to_dict(dbname.removeprefix("--dbname=")) == {
        "user": "app", "host": "h", "dbname": "shop copy", "service": "prod"}


def test_a_secret_libpq_reads_from_no_variable_is_refused_unshown() -> None:
    with pytest.raises(DatabaseError) as caught:
        tool_connection("postgresql://app@h/shop?sslpassword=k3y-phrase")
    assert "k3y-phrase" not in str(caught.value)
    assert str(caught.value).startswith(
        "postgresql://app@h/shop?sslpassword=***: pg_dump and pg_restore could take "
        "sslpassword only on their command line")


@pytest.fixture
def other_database(conninfo: str) -> Iterator[Callable[[], str]]:
    yield from databases(conninfo, "tool_conn")


@pytest.mark.db
def test_a_service_url_backs_up_and_restores_the_service_database(
        conninfo: str, other_database: Callable[[], str], tmp_path: Path) -> None:
    """The URL names only a service: the tools must read the same service file, not fall
    back to the environment's PGDATABASE (here another database on the same server)."""
    shop, decoy = conninfo_to_dict(other_database()), conninfo_to_dict(other_database())
    with psycopg.connect(**shop) as conn:
        conn.execute("CREATE TABLE orders (id int PRIMARY KEY);"
                     "INSERT INTO orders SELECT generate_series(1, 3)")
    with psycopg.connect(**decoy) as conn:
        conn.execute("CREATE TABLE decoys (id int PRIMARY KEY);"
                     "INSERT INTO decoys SELECT generate_series(1, 5)")
    services = tmp_path / "pg_service.conf"
    services.write_text("[shop]\n" + "".join(
        f"{key}={shop[key]}\n" for key in ("host", "port", "user", "dbname", "password")
        if shop.get(key)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))}
    env.update(PGSERVICEFILE=str(services), PGDATABASE=decoy["dbname"],
               PGHOST=str(shop["host"]), PGPORT=str(shop.get("port") or 5432),
               PGUSER=str(shop.get("user") or ""), DBSAFE_DATABASE_URL="postgresql:///?service=shop")
    if shop.get("password"):
        env["PGPASSWORD"] = str(shop["password"])

    def dbsafe(*args: str) -> dict:
        proc = subprocess.run([sys.executable, "-m", "dbsafe", *args, "--format", "json"],
                              cwd=tmp_path, env=env, capture_output=True, text=True,
                              check=False)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    backup = dbsafe("backup", "--backup-dir", str(tmp_path / "b"), "--verify-restore")
    restored_as = f"{shop['dbname']}_copy"
    try:
        restored = dbsafe("restore", backup["summary"]["backup"], "--into", restored_as)
        assert restored["summary"]["row_counts"] == {"public.orders": 3}
    finally:
        with psycopg.connect(**shop, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{restored_as}" WITH (FORCE)')


def test_a_url_without_a_host_sends_the_tools_where_dbsafe_went(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """libpq's default socket directory is built in: psycopg's and the tools' may differ
    (/var/run/postgresql, /tmp). The tools get the host and port dbsafe's connection used,
    unless the URL or the environment names a host (then both read the same)."""
    for variable in ("PGHOST", "PGHOSTADDR", "PGSERVICE", "PGPORT"):
        monkeypatch.delenv(variable, raising=False)
    [dbname] = tool_connection("postgresql:///shop", reached=("/var/run/postgresql", 5433))[0]
    assert conninfo_to_dict(dbname.removeprefix("--dbname=")) == {
        "dbname": "shop", "host": "/var/run/postgresql", "port": "5433"}
    [dbname] = tool_connection("postgresql://db:6432/shop", reached=("10.0.0.9", 6432))[0]
    assert conninfo_to_dict(dbname.removeprefix("--dbname=")) == {
        "dbname": "shop", "host": "db", "port": "6432"}
    monkeypatch.setenv("PGHOST", "/srv/pg")
    [dbname] = tool_connection("postgresql:///shop", reached=("/srv/pg", 5432))[0]
    assert conninfo_to_dict(dbname.removeprefix("--dbname=")) == {"dbname": "shop"}

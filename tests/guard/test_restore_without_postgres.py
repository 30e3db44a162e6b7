"""A server without a `postgres` database (it may be dropped; some hosted servers have
none): restore connects to template1 instead, as createdb does."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.guard.restore import half_restored
from dbsafe.pg.throwaway import throwaway_server

pytestmark = pytest.mark.db


def test_backup_and_restore_on_a_server_without_the_postgres_database(tmp_path: Path) -> None:
    with throwaway_server(database="shop") as server:
        url = server.url("shop")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP DATABASE postgres")
            conn.execute("CREATE TABLE orders (id int PRIMARY KEY);"
                         "INSERT INTO orders SELECT generate_series(1, 7)")
        settings = load_settings(tmp_path, {"database-url": url}, environ={})
        backup = Path(str(commands.backup(settings, tmp_path / "b").summary["backup"]))

        report = commands.restore(settings, backup, into="shop_copy")

        assert report.summary["row_counts"] == {"public.orders": 7}
        assert half_restored(url) == []
        with psycopg.connect(server.url("shop_copy")) as conn:
            assert conn.execute("SELECT count(*) FROM orders").fetchone() == (7,)

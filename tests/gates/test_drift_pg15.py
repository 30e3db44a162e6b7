"""`dbsafe drift` of a PostgreSQL 15 database against its migrations, built on dbsafe's
PostgreSQL 18: what 15 prints otherwise than 18 (a view's columns qualified, `customers.id`,
where 16 and later print `id`) is no drift; a view changed by hand is.

The 15 cluster is the system's (`pg15_server` in conftest.py; skipped where it is not
installed).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from tests.schema.test_pg15 import VIEWS

pytestmark = [pytest.mark.db, pytest.mark.xdist_group("pg15"),
              pytest.mark.usefixtures("one_server_throwaways")]


def test_a_15_database_migrated_by_a_folder_has_not_drifted_until_a_view_changes(
        new_pg15_database: Callable[[], str], tmp_path: Path) -> None:
    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    (folder / "1_shop.up.sql").write_text(VIEWS, encoding="utf-8")
    on_15 = new_pg15_database()
    with psycopg.connect(on_15, autocommit=True) as conn:
        assert conn.info.server_version // 10000 == 15
        conn.execute(VIEWS)  # as golang-migrate runs the file, and records it
        conn.execute("CREATE TABLE schema_migrations (version bigint PRIMARY KEY, "
                     "dirty boolean NOT NULL); INSERT INTO schema_migrations VALUES (1, false)")
        printed = conn.execute("SELECT pg_get_viewdef('v_single')").fetchone()
    assert printed is not None and "customers.id" in printed[0]  # what 18 prints `id`
    settings = load_settings(tmp_path, {"database-url": on_15}, environ={})
    assert [f.message for f in commands.drift(settings).findings] == []

    with psycopg.connect(on_15, autocommit=True) as conn:
        conn.execute("CREATE OR REPLACE VIEW v_single AS SELECT id, name, email FROM customers "
                     "WHERE kind = 'wholesale'")
    [finding] = commands.drift(settings).findings
    assert (finding.code, finding.subject) == ("DBS403", "public.v_single")

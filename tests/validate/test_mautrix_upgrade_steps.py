"""A module of mautrix `UpgradeTable` steps is a migration, not validated.

maubot (maubot/maubot 0a20df5) keeps its schema's versions as Python modules of steps,
each registered with `@upgrade_table.register(...)` (mautrix's `UpgradeTable`, as in its
plugins and the mautrix Python bridges). `v01_initial_revision.py` reads `alembic_version`,
its legacy database's table, only when `conn.table_exists("alembic_version")`: against
today's schema a false DBS301 (PostgreSQL agreeing, 42P01, on a schema the step never
runs against). A plugin module registering its steps beside the class whose queries run
on today's schema stays application code. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.extract.migration import migration_kind

STEPS = b'''\
from mautrix.util.async_db import Connection, Scheme

from . import upgrade_table

legacy_version_query = "SELECT version_num FROM alembic_version"


@upgrade_table.register(description="Initial asyncpg revision")
async def upgrade_v1(conn: Connection, scheme: Scheme) -> None:
    if await conn.table_exists("alembic_version"):
        await migrate_legacy_to_v1(conn)
    else:
        await conn.execute("CREATE TABLE client (id TEXT PRIMARY KEY)")


async def migrate_legacy_to_v1(conn: Connection) -> None:
    await conn.fetchval(legacy_version_query)
    await conn.execute("DROP TABLE alembic_version")
'''

PLUGIN = b'''\
from mautrix.util.async_db import Connection, UpgradeTable
from maubot import Plugin

upgrade_table = UpgradeTable()


@upgrade_table.register(description="Initial revision")
async def upgrade_v1(conn: Connection) -> None:
    await conn.execute("CREATE TABLE stored_data (key TEXT PRIMARY KEY)")


class StorageBot(Plugin):
    async def get(self, key: str) -> None:
        await self.database.fetchrow("SELECT key, value FROM stored_data WHERE key = $1", key)
'''


def test_a_module_of_upgrade_steps_is_a_migration() -> None:
    assert migration_kind("maubot/db/upgrade/v01_initial_revision.py", STEPS) == "migration"


@pytest.mark.parametrize("data", [
    PLUGIN,  # a class beside the steps: its queries run on today's schema
    STEPS + b"\n\nasync def count(conn):\n    return await conn.fetchval('SELECT 1')\n",
    STEPS.replace(b"from mautrix.util.async_db", b"from myapp.db"),  # not mautrix's
])
def test_other_modules_are_application_code(data: bytes) -> None:
    assert migration_kind("bot/db.py", data) is None


@pytest.mark.db
def test_an_upgrade_step_is_not_validated(database_url: str, tmp_path: Path) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE client (id text PRIMARY KEY)")
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    upgrade = tmp_path / "bot" / "db" / "upgrade"
    upgrade.mkdir(parents=True)
    (upgrade / "v01_initial_revision.py").write_bytes(STEPS)
    (tmp_path / "bot" / "db" / "client.py").write_text(
        "async def get(db, id):\n"
        "    return await db.fetchrow('SELECT id, homeserver FROM client WHERE id=$1', id)\n",
        encoding="utf-8")
    settings = load_settings(tmp_path, {"database-url": database_url, "cache": False},
                             environ={})
    report = commands.validate(settings, [tmp_path])
    assert [(f.code, f.location.path) for f in report.findings if f.location] == [
        ("DBS302", "bot/db/client.py")]
    assert report.summary["code_migration_files"] == 1

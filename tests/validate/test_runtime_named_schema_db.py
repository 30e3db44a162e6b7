"""A schema made under a name known only at run time (`CREATE SCHEMA IF NOT EXISTS
${db.schema}`): any schema the database lacks may be it, for the file's later statements.

Unleash's `src/test/e2e/dedupe-permissions.e2e.test.ts` makes its schema from its config
(`schema: 'dedupe_permissions_test'`), runs its migrations there, then reads and writes
`"dedupe_permissions_test"."roles"`: 44 false DBS301 against the schema its migrations make
in `public` (42P01 there; PostgreSQL prepares them once the schema and its tables are
made). As a relation made under such a name already did, it now leaves those statements
not analysed; a table of a schema the database has is still checked. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import load_settings

pytestmark = pytest.mark.db

_SCHEMA = "CREATE TABLE roles (id int PRIMARY KEY, name text)"

_INIT = """\
async function initSchema(db: IDBOption): Promise<void> {
    const client = new Client(db);
    await client.connect();
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${db.schema}`);
    await client.end();
}
"""

_TEST = """\
test('dedupes permissions', async () => {
    await initSchema({ ...config, schema: 'dedupe_permissions_test' });
    await migrate(config);
    const client = new Client(config);
    await client.query(`DELETE FROM "dedupe_permissions_test"."roles" WHERE id > 100`);
    await client.query(`SELECT nmae FROM roles`);
});
"""


def test_postgresql_prepares_them_once_the_schema_is_made(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
        query = 'PREPARE q AS DELETE FROM "dedupe_permissions_test"."roles" WHERE id > 100'
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute(query)
        conn.execute("CREATE SCHEMA IF NOT EXISTS dedupe_permissions_test")
        conn.execute("CREATE TABLE dedupe_permissions_test.roles (LIKE public.roles)")
        conn.execute(query)
        conn.execute("DROP SCHEMA dedupe_permissions_test CASCADE")


def test_a_schema_named_at_run_time_may_be_any_the_database_lacks(database_url: str,
                                                                  tmp_path: Path) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    (tmp_path / "made.test.ts").write_text(_INIT + _TEST, encoding="utf-8")
    (tmp_path / "other.test.ts").write_text(_TEST, encoding="utf-8")  # makes no schema
    settings = load_settings(tmp_path, {"database-url": database_url, "cache": False},
                             environ={})
    report = commands.validate(settings, [tmp_path])
    found = sorted((f.code, f.location.path, f.location.line)
                   for f in report.findings if f.location)
    assert found == [("DBS301", "other.test.ts", 5), ("DBS302", "made.test.ts", 12),
                     ("DBS302", "other.test.ts", 6)]

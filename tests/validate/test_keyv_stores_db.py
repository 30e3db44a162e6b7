"""The table a Keyv PostgreSQL store (`@keyv/postgres`) makes when it opens is unknown to a
schema built from the migrations, not missing from it.

Tianji keeps its cache in `new KeyvPostgres({ uri, schema: 'cache', table: 'cache' })` and
cleans it with SQL of its own (`DELETE FROM "cache"."cache" ...`, a `Prisma.sql` template):
no migration makes that table, the store does (`CREATE SCHEMA IF NOT EXISTS cache; CREATE
TABLE IF NOT EXISTS cache.cache(key VARCHAR(255) PRIMARY KEY, value TEXT)`), so the cleanup
was a false DBS301. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

pytestmark = pytest.mark.db

# What @keyv/postgres 2.x runs on its first connection for `{ schema: 'cache', table: 'cache' }`
# (its constructor's `createTable`, keySize 255).
_KEYV_DDL = ("CREATE SCHEMA IF NOT EXISTS cache; "
             "CREATE TABLE IF NOT EXISTS cache.cache(key VARCHAR(255) PRIMARY KEY, value TEXT )")
_CLEANUP = 'DELETE FROM "cache"."cache" WHERE "key" LIKE $1 RETURNING "value"'


def test_postgresql_prepares_the_cleanup_once_the_store_made_its_table(
        database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute(f"PREPARE cleanup(text) AS {_CLEANUP}")
        conn.execute(_KEYV_DDL)
        conn.execute(f"PREPARE cleanup(text) AS {_CLEANUP}")


_STORE = "import KeyvPostgres, { createKeyv } from '@keyv/postgres';\nexport const store = {};\n"


@pytest.mark.parametrize(("package", "store", "query", "found"), [
    ('"@keyv/postgres": "^2.1.7"', "new KeyvPostgres({ uri, schema: 'cache', table: 'cache' })",
     _CLEANUP, []),
    # its defaults: `public.keyv`, also for a connection string
    ('"@keyv/postgres": "^2.1.7"', "new KeyvPostgres(process.env.DATABASE_URL)",
     "SELECT value FROM keyv WHERE key = $1", []),
    ('"@keyv/postgres": "^2.1.7"', "createKeyv({ uri, table: 'sessions' })",
     "SELECT value FROM public.sessions", []),
    # a table the store does not make, options not read, a package not depended on
    ('"@keyv/postgres": "^2.1.7"', "createKeyv({ uri, table: 'sessions' })",
     "SELECT value FROM keyv", [(3, "DBS301", 56)]),
    ('"@keyv/postgres": "^2.1.7"', "new KeyvPostgres(options)",
     "SELECT value FROM keyv", [(3, "DBS301", 56)]),
    ('"pg": "^8.0.0"', "new KeyvPostgres({ uri, schema: 'cache', table: 'cache' })",
     _CLEANUP, [(3, "DBS301", 50)]),
], ids=["schema-and-table", "defaults", "factory", "other-table", "options-unread",
        "not-a-dependency"])
@pytest.mark.usefixtures("one_server_throwaways")
def test_the_table_a_keyv_store_makes_is_unknown(tmp_path: Path, package: str, store: str,
                                                 query: str,
                                                 found: list[tuple[int, str, int]]) -> None:
    from dbsafe import commands
    from dbsafe.config import load_settings

    files = {
        "prisma/migrations/20240101000000_init/migration.sql": "CREATE TABLE person (id int);\n",
        "prisma/migrations/migration_lock.toml": 'provider = "postgresql"\n',
        "src/cache.ts": _STORE.replace("{}", store),
        "src/cleanup.ts": "import { Pool } from 'pg';\nconst pool = new Pool();\n"
                          f"export const run = () => pool.query('{query}', ['x']);\n",
    }
    (tmp_path / "package.json").write_text(
        '{"dependencies": {"pg": "^8.0.0", ' + package + '}}\n', encoding="utf-8")
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")

    report = commands.validate(load_settings(tmp_path, {"cache": False}, environ={}),
                               [tmp_path / "src"])

    assert sorted((f.location.line, f.code, f.location.column) for f in report.findings
                  if f.location is not None) == found
    if not found:
        # The "not analysed" line names what makes the table (task 454: it said a migration
        # statement that failed, or a platform's schema, which it is neither)
        reasons = [s.reason for s in report.skipped if s.location.path.endswith("cleanup.ts")]
        assert len(reasons) == 1 and "a package that makes its tables at run time" in \
            reasons[0] and "a Keyv store's" in reasons[0], reasons

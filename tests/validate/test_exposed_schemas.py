"""DBS311: a supabase-js or supabase-py request to a schema supabase/config.toml's `[api]
schemas` does not expose. Supabase's CLI starts PostgREST with `PGRST_DB_SCHEMAS` set to that
list, and PostgREST answers a profile header naming any other schema with PGRST106 (its
`getSchema`), whatever the schema holds: PostgreSQL is the judge of what it holds, so the
tables these requests read are checked to exist there, and the misspelt column to be missing
(42703) where an exposed schema's request is read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.migrate.sqlfiles import supabase_platform_sql
from tests.helpers import module_database

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

# `items` twice: `public.items` has the column the request misspells, `app.items` not.
MIGRATION = """
create schema app;
create table app.items (id bigint primary key, title text);
create table public.items (id bigint primary key, titel text);
create function app.item_count() returns bigint language sql as 'select count(*) from app.items';
grant usage on schema app to anon, authenticated, service_role;
"""
# supabase init's config.toml, as its template writes the `[api]` section.
CONFIG = """project_id = "shop"

[api]
enabled = true
port = 54321
# Schemas to expose in your API. Tables, views and stored procedures in this schema will get API
# endpoints. `public` and `graphql_public` schemas are included by default.
schemas = {schemas}
# Extra schemas to add to the search_path of every request.
extra_search_path = ["public", "extensions", "app"]
max_rows = 1000

[db]
port = 54322
major_version = 17
"""
APP_TS = """import { createClient } from '@supabase/supabase-js'
const supabase = createClient(url, key)
const shop = createClient(url, key, { db: { schema: 'app' } })
export async function load() {
  await supabase.schema('auth').from('users').select('id, email')
  await shop.from('items').select('id, titel')
  await shop.rpc('item_count')
  await supabase.from('items').select('id, titel')
  supabase.channel('c').on('postgres_changes', { event: '*', schema: 'app', table: 'items' }, f)
  await supabase.schema('auth').from(table).select('id')
}
"""
APP_PY = """from supabase import create_client

supabase = create_client(url, key)
supabase.schema("auth").table("users").select("id, email").execute()
"""


# With `app` and `auth` exposed: `titel` is missing in `app.items`, and the table
# `.schema('auth').from(table)` reads is not known.
EXPOSED = [("DBS302", "src/app.ts", 6, 40), ("DBS304", "src/app.ts", 10, 33)]


def make_project(root: Path, schemas: str | None, migration: str = MIGRATION) -> Path:
    folder = root / "supabase" / "migrations"
    folder.mkdir(parents=True)
    (folder / "20240101000000_shop.sql").write_text(migration)
    if schemas is not None:
        (root / "supabase" / "config.toml").write_text(CONFIG.format(schemas=schemas))
    (root / "src").mkdir()
    (root / "src" / "app.ts").write_text(APP_TS)
    (root / "src" / "app.py").write_text(APP_PY)
    return root


def findings(root: Path) -> list[tuple[str, str, int, int]]:
    report = commands.validate(load_settings(root, environ={}), [root / "src"])
    return sorted((f.code, f.location.path, f.location.line, f.location.column)
                  for f in report.findings)


@pytest.fixture(scope="module")
def database(pg_server) -> Iterator[psycopg.Connection]:
    """The same schema on PostgreSQL: Supabase's stand-in (its `auth.users`), then the
    migration."""
    with module_database(pg_server, "dbsafe_exposed_schemas",
                         supabase_platform_sql() + MIGRATION) as conn:
        yield conn


def _sqlstate(database: psycopg.Connection, query: str) -> str | None:
    try:
        with database.transaction():
            database.execute(f"PREPARE probe AS {query}")
            database.execute("DEALLOCATE probe")
    except psycopg.Error as exc:
        return exc.sqlstate
    return None


def test_the_tables_read_exist_and_the_column_is_missing_in_the_schema_named(
        database: psycopg.Connection) -> None:
    assert _sqlstate(database, "SELECT id, email FROM auth.users") is None
    assert _sqlstate(database, "SELECT app.item_count()") is None
    assert _sqlstate(database, "SELECT id, titel FROM app.items") == "42703"
    assert _sqlstate(database, "SELECT id, titel FROM public.items") is None


def test_a_schema_config_toml_does_not_expose_is_dbs311_and_nothing_else(
        tmp_path: Path) -> None:
    """`auth` and `app` are not listed: each request to them is refused (one naming its
    table at run time too, which is then no DBS304 note), so the misspelt
    `titel` of `app.items` is not reported on top, and `public.items` (which has it) is not
    read for `app.items`. The Realtime subscription to `app` is no PostgREST request."""
    root = make_project(tmp_path, '["public", "graphql_public"]')
    assert findings(root) == [
        ("DBS311", "src/app.py", 4, 18),  # supabase.schema("auth")
        ("DBS311", "src/app.ts", 3, 54),  # { db: { schema: 'app' } }, once for both requests
        ("DBS311", "src/app.ts", 5, 26),  # supabase.schema('auth')
        ("DBS311", "src/app.ts", 10, 26),  # refused whatever table it names (no DBS304)
    ]
    report = commands.validate(load_settings(root, environ={}), [root / "src"])
    finding = next(f for f in report.findings if f.subject == "app")
    assert finding.message == ("schema `app` is not exposed by PostgREST: `[api] schemas` in "
                               "supabase/config.toml lists `public`, `graphql_public`")
    assert finding.help is not None and "supabase/config.toml" in finding.help


@pytest.mark.parametrize("config", [
    '["public", "graphql_public", "app", "auth"]',
    None,  # no config.toml: the hosted project's list is in its dashboard
    '["public"]\n[remotes.production]\nproject_id = "abcdefghijklmnopqrst"\n'
    '[remotes.production.api]\nschemas = ["public", "app", "auth"]',
])
def test_exposed_schemas_are_read_and_looked_up_in_themselves(
        tmp_path: Path, config: str | None) -> None:
    """Exposed (by `[api]`, or by a remote's override, which may be the project deployed),
    or not known: `app.items` is read in `app`, where `titel` is missing (42703 above)."""
    root = make_project(tmp_path, config)
    assert findings(root) == EXPOSED


@pytest.mark.parametrize("setting", [
    "alter role authenticator set pgrst.db_schemas = 'public, graphql_public, app, auth';",
    "ALTER ROLE authenticator IN DATABASE postgres SET PGRST.DB_SCHEMAS TO 'public,app,auth';",
])
def test_a_migration_setting_postgrests_schemas_overrides_config_toml(
        tmp_path: Path, setting: str) -> None:
    """PostgREST's in-database configuration overrides the `db-schemas` the CLI passes it:
    config.toml's list is then not the one served, and the requests are checked as those of
    a project without one (`app.items.titel` missing, not left unread)."""
    root = make_project(tmp_path, '["public", "graphql_public"]', MIGRATION + setting + "\n")
    assert findings(root) == EXPOSED


def test_an_api_the_config_disables_says_nothing(tmp_path: Path) -> None:
    root = make_project(tmp_path, '["public"]')
    config = root / "supabase" / "config.toml"
    config.write_text(config.read_text().replace("enabled = true", "enabled = false"))
    assert [f for f in findings(root) if f[0] == "DBS311"] == []


def test_editing_config_toml_changes_the_findings_of_a_cached_run(tmp_path: Path) -> None:
    root = make_project(tmp_path, '["public", "graphql_public"]')
    assert len(findings(root)) == 4
    config = root / "supabase" / "config.toml"
    config.write_text(config.read_text().replace('"graphql_public"]',
                                                 '"graphql_public", "app", "auth"]'))
    assert findings(root) == EXPOSED

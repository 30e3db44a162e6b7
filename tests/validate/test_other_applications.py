"""The code of another application of the repository reads its own schema, not this one.

Dittofeed's schema is its drizzle-kit folder `packages/backend-lib/drizzle`; its
`examples/supabase/` is a Next.js app with its own `supabase/migrations` making the
`profiles` table its pages read. Checked against the drizzle schema, each of its requests
was a DBS301 on a table PostgreSQL has, in the database that app migrates.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dbsafe import commands
from dbsafe.config import load_settings

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

_PROFILES = "export const p = () => supabase.from('profiles').select('username');\n"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _monorepo(root: Path) -> Path:
    drizzle = root / "packages" / "backend" / "drizzle"
    _write(drizzle / "0000_init.sql", "CREATE TABLE workspace (id int, name text);\n")
    _write(drizzle / "meta" / "_journal.json", "{}\n")
    _write(root / "packages" / "backend" / "src" / "q.ts",
           "export const q = sql`SELECT nosuch FROM workspace`;\n")
    # A package of no application in particular is checked against the schema.
    _write(root / "packages" / "shared" / "p.ts", _PROFILES)
    example = root / "examples" / "supabase"
    _write(example / "supabase" / "migrations" / "20221017024722_init.sql",
           "create table profiles (id uuid primary key, username text);\n")
    _write(example / "app" / "account" / "page.tsx", _PROFILES)
    _write(root / "pyproject.toml", "[tool.dbsafe]\n")
    return root


def test_an_examples_own_migrations_make_its_code_another_applications(tmp_path: Path) -> None:
    root = _monorepo(tmp_path)

    report = commands.validate(load_settings(root, environ={}), [root])

    assert sorted((f.code, f.location.path) for f in report.findings) == [
        ("DBS301", "packages/shared/p.ts"),
        ("DBS302", "packages/backend/src/q.ts"),
    ]
    skipped = {s.location.path: s.reason for s in report.skipped}
    assert "the code of examples/supabase, which keeps migrations of its own" in \
        skipped["examples/supabase/app/account/page.tsx"]
    # Its migrations are still migrations, left to lint.
    assert report.summary["migration_files"] == 2


def test_named_from_there_its_code_is_checked_and_the_others_is_not(tmp_path: Path) -> None:
    root = _monorepo(tmp_path)
    _write(root / "pyproject.toml",
           "[tool.dbsafe]\nsql-migrations = 'examples/supabase/supabase/migrations'\n")

    report = commands.validate(load_settings(root, environ={}), [root])

    # `workspace` is the backend's: its code is another application's now.
    assert sorted((f.code, f.location.path) for f in report.findings
                  if f.code != "DBS006") == []
    assert "packages/backend/src/q.ts" in {s.location.path for s in report.skipped}


def test_migrations_named_outside_the_project_are_its_roots_though_the_root_keeps_some(
        tmp_path: Path) -> None:
    # `--sql-migrations ../schema` from a project whose root keeps a `supabase/migrations`
    # of its own: its code was validated against nothing ("the code of ., which keeps
    # migrations of its own"), a silent pass; an application below the root is still another's.
    schema = tmp_path / "schema"
    _write(schema / "001_init.sql", "CREATE TABLE users (id int PRIMARY KEY, name text);\n")
    root = tmp_path / "app"
    _write(root / "supabase" / "migrations" / "20240101000000_init.sql",
           "CREATE TABLE users (id int PRIMARY KEY, nmae text);\n")
    _write(root / "q.py", 'def f(cur):\n    cur.execute("SELECT nmae FROM users")\n')
    example = root / "examples" / "other"
    _write(example / "supabase" / "migrations" / "20240101000000_init.sql",
           "CREATE TABLE pets (id int PRIMARY KEY);\n")
    _write(example / "p.py", 'def f(cur):\n    cur.execute("SELECT nosuch FROM pets")\n')
    _write(root / "pyproject.toml", "[tool.dbsafe]\n")

    report = commands.validate(load_settings(root, {"sql-migrations": str(schema)}, environ={}), [root])

    assert [(f.code, f.location.path) for f in report.findings] == [("DBS302", "q.py")]
    skipped = {s.location.path: s.reason for s in report.skipped}
    assert "the code of examples/other, which keeps migrations of its own" in \
        skipped["examples/other/p.py"]


def test_an_app_with_better_auths_generated_sql_is_another_application(tmp_path: Path) -> None:
    # autumn's `apps/sdk-test`: a Next.js app whose Kysely pool is another database's
    # (`PACKAGES_DB_URL`), its tables made by the SQL better-auth's CLI generated into
    # `better-auth_migrations/`. Checked against `shared/drizzle`, its
    # `DELETE FROM session WHERE "userId" = $1` was a false DBS302 (the drizzle `session`
    # has `user_id`); PostgreSQL prepares it on the app's own tables.
    drizzle = tmp_path / "shared" / "drizzle"
    _write(drizzle / "0000_init.sql", "CREATE TABLE session (id text, user_id text);\n")
    _write(drizzle / "meta" / "_journal.json", "{}\n")
    app = tmp_path / "apps" / "sdk-test"
    _write(app / "better-auth_migrations" / "2026-02-18T10-58-59.981Z.sql",
           'create table "session" ("id" text not null primary key, "userId" text not null);\n')
    _write(app / "app" / "route.ts",
           "import { sql } from 'kysely'\n"
           "export const d = (id, db) => sql`DELETE FROM session WHERE \"userId\" = ${id}`"
           ".execute(db)\n")
    _write(tmp_path / "server" / "q.ts",
           "export const q = sql`SELECT \"userId\" FROM session`;\n")
    _write(tmp_path / "pyproject.toml", "[tool.dbsafe]\n")

    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path])

    # The schema's own application is still checked against it.
    assert [(f.code, f.location.path) for f in report.findings] == [("DBS302", "server/q.ts")]
    skipped = {s.location.path: s.reason for s in report.skipped}
    assert "the code of apps/sdk-test, which keeps migrations of its own" in \
        skipped["apps/sdk-test/app/route.ts"]

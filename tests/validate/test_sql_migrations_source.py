"""The schema from a folder of SQL migrations (supabase/migrations, ...), applied to a
throwaway embedded PostgreSQL: found, cached, and what failed there never a finding."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.core import DbsafeError
from dbsafe.extract.migration import sql_migrations
from tests.conftest import REPO_ROOT
from tests.helpers import dbsafe_in_process

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

MIGRATIONS = {
    "20240101000000_init.sql": """
create table public.profiles (
  id uuid primary key references auth.users (id),
  username text
);
alter table public.profiles enable row level security;
create policy "own" on public.profiles for select using (auth.uid() = id);
alter publication supabase_realtime add table public.profiles;
""",
    "20240102000000_more.sql": """
alter table public.profiles add column bio text;
create extension if not exists no_such_extension_here;
create table public.documents (id bigint primary key, body no_such_type);
create unique index rooms_slug on public.rooms (slug);
create table public.rooms (id bigint primary key, slug text);
""",
}
APP_SQL = """select id, email, is_anonymous from auth.users;
select id, session_id from auth.refresh_tokens;
select id, nosuchcol from auth.users;
select username, bio, nickname from public.profiles;
select body from public.documents;
"""
APP_TS = """import { createClient } from '@supabase/supabase-js'
const supabase = createClient('u', 'k')
export async function load() {
  await supabase.from('profiles').select('id, username, nickname')
  await supabase.from('documents').select('id, body')
  await supabase.from('rooms').upsert({ slug: 'a' }, { onConflict: 'slug' })
  supabase.channel('c').on('postgres_changes', { event: '*', schema: 'public', table: 'rooms' }, f)
}
"""


AUTH_TS = """export async function confirm(db, email) {
  await db.$queryRaw`SELECT id FROM auth.users WHERE email = ${email} LIMIT 1`;
  await db.$queryRaw`SELECT sso_provider_id::text AS "ssoProviderId" FROM auth.sso_domains`;
  await db.$queryRaw`SELECT id, emial FROM auth.users`;
  await db.$queryRaw`SELECT "ownerId" FROM "Asset"`;
}
"""


@pytest.mark.parametrize("client", [None, "@supabase/supabase-js", "supabase"])
def test_a_prisma_folder_of_a_supabase_app_has_the_platforms_schemas(
        tmp_path: Path, client: str | None) -> None:
    """Shelf.nu keeps prisma migrations and runs them on Supabase, which its web app
    (depending on `@supabase/supabase-js`) talks to: its `$queryRaw` reading `auth.users`
    and `auth.sso_domains` was a false DBS301 ("no schema `auth`"). A project depending on
    a Supabase package gets the platform's stand-in under any folder of SQL migrations;
    prisma's files still run as prisma runs them, not as supabase's CLI does."""
    from dbsafe.sources import SqlFolder

    folder = tmp_path / "packages" / "database" / "prisma" / "migrations"
    (folder / "20240101000000_init").mkdir(parents=True)
    (folder / "20240101000000_init" / "migration.sql").write_text(
        'CREATE TABLE "Asset" ("id" TEXT PRIMARY KEY, "title" TEXT);\n')
    web = tmp_path / "apps" / "webapp"
    (web / "app").mkdir(parents=True)
    (web / "app" / "auth.ts").write_text(AUTH_TS)
    dependencies = {"@prisma/client": "5.0.0"} | ({client: "2.0.0"} if client else {})
    (web / "package.json").write_text(json.dumps({"dependencies": dependencies}))
    (tmp_path / "package.json").write_text('{"private": true, "workspaces": ["apps/*"]}')
    settings = load_settings(tmp_path, environ={})

    report = commands.validate(settings, [web])

    if client is None:  # no sign of Supabase: a plain PostgreSQL has no `auth`
        assert findings(report) == [("DBS301", "apps/webapp/app/auth.ts", line)
                                    for line in (2, 3, 4)] + [
            ("DBS302", "apps/webapp/app/auth.ts", 5)]
        return
    # `auth.users` is described (its columns are checked), `auth.sso_domains` is not
    assert findings(report) == [("DBS302", "apps/webapp/app/auth.ts", 4),
                                ("DBS302", "apps/webapp/app/auth.ts", 5)]
    assert {f.subject for f in report.findings} == {"auth.users.emial", "public.Asset.ownerId"}
    sql_folder = SqlFolder.of(folder, settings)
    assert (sql_folder.platform, sql_folder.supabase_cli) == ("supabase", False)
    assert not any(m.starts_in_transaction for m in sql_folder.read())


def make_project(root: Path, migrations: dict[str, str] = MIGRATIONS) -> Path:
    folder = root / "supabase" / "migrations"
    folder.mkdir(parents=True)
    for name, text in migrations.items():
        (folder / name).write_text(text)
    (root / "src").mkdir()
    (root / "src" / "queries.sql").write_text(APP_SQL)
    (root / "src" / "app.ts").write_text(APP_TS)
    (root / "pyproject.toml").write_text("[project]\nname = 'app'\n")
    return root


def findings(report) -> list[tuple[str, str, int]]:
    return sorted((f.code, f.location.path, f.location.line) for f in report.findings)


def test_validate_against_supabase_migrations(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    settings = load_settings(root, environ={})

    report = commands.validate(settings, [root / "src"])

    assert findings(report) == [
        # what the migrations do build is checked, the stand-in's auth.users too
        ("DBS006", "supabase/migrations/20240102000000_more.sql", 3),
        ("DBS006", "supabase/migrations/20240102000000_more.sql", 4),
        ("DBS006", "supabase/migrations/20240102000000_more.sql", 5),
        ("DBS302", "src/app.ts", 4),
        ("DBS302", "src/queries.sql", 3),
        ("DBS302", "src/queries.sql", 4),
    ]
    assert {f.message for f in report.findings if f.code == "DBS302"} == {
        "`users` has no column `nosuchcol`", "`profiles` has no column `nickname`"}
    notes = [f for f in report.findings if f.code == "DBS006"]
    assert all(f.severity.value == "note" for f in notes)
    assert ("PostgreSQL", '42704: type "no_such_type" does not exist') in notes[1].context
    assert report.summary["schema_source"].startswith("sql migrations ")
    assert report.summary["schema_source"].endswith(
        "supabase/migrations (embedded PostgreSQL)")

    again = commands.validate(settings, [root / "src"])

    assert findings(again) == findings(report)
    assert again.summary["schema_source"].endswith("supabase/migrations (cached)")


def test_an_embed_of_auth_users_by_its_foreign_key_column_is_dbs305(tmp_path: Path) -> None:
    """`select('..., profiles:changed_by(full_name)')`, where `changed_by` references
    `auth.users`, is PostgREST's PGRST200: it relates no table of `public` to one of `auth`.
    It was read as an embed of `auth.users`, whose `full_name` the stand-in does not
    describe, so the request was left not analysed (VC's seven audit-log requests)."""
    root = make_project(tmp_path, {"20240101000000_init.sql": """
create table public.profiles (id uuid primary key references auth.users (id), full_name text);
create table public.audit_log (
  id bigint primary key,
  changed_by uuid references auth.users (id),
  note text
);
"""})
    (root / "src" / "queries.sql").unlink()
    (root / "src" / "app.ts").write_text(
        "import { createClient } from '@supabase/supabase-js'\n"
        "const supabase = createClient('u', 'k')\n"
        "export const load = () => supabase.from('audit_log')\n"
        "  .select('id, note, profiles:changed_by(full_name)')\n")
    report = commands.validate(load_settings(root, environ={}), [root / "src"])
    assert findings(report) == [("DBS305", "src/app.ts", 4)]
    assert report.summary["statements_not_analysed"] == 0


def test_a_snapshot_of_supabase_migrations_keeps_the_stand_in_unknown(tmp_path: Path) -> None:
    """`auth.refresh_tokens` exists in production: a snapshot dumped from the stand-in knows its
    `auth` schema holds more than it describes."""
    root = make_project(tmp_path, {"1_init.sql": "create table public.t (a int);\n"})
    (root / "src" / "app.ts").unlink()
    snapshot = root / "schema.json"
    commands.schema_dump(load_settings(root, environ={})).save(snapshot)

    report = commands.validate(load_settings(root, {"snapshot": snapshot}, environ={}),
                               [root / "src"])

    # auth.refresh_tokens (line 2) is not reported; auth.users's columns still are
    assert findings(report) == [("DBS301", "src/queries.sql", 4),
                                ("DBS301", "src/queries.sql", 5),
                                ("DBS302", "src/queries.sql", 3)]


def test_queries_on_gotrues_sessions_and_identities_are_checked(tmp_path: Path) -> None:
    """The stand-in describes GoTrue's `auth.sessions`, `auth.identities` and
    `auth.audit_log_entries` with their columns (task 513): a query on them was not
    analysed (a relation of `auth` the stand-in left out is unknown); now a column they lack
    is DBS302, and those they have pass."""
    root = make_project(tmp_path, {"1_init.sql": "create table public.t (a int);\n"})
    (root / "src" / "app.ts").unlink()
    (root / "src" / "queries.sql").write_text(
        "select id, user_agent, ip, aal, not_after, refreshed_at from auth.sessions;\n"
        "select provider, provider_id, email, identity_data from auth.identities;\n"
        "select payload, ip_address from auth.audit_log_entries;\n"
        "select id, last_seen_at from auth.sessions;\n"
        "select i.provider from auth.identities i join auth.sessions s using (user_id)"
        " where s.device = 'x';\n")

    report = commands.validate(load_settings(root, environ={}), [root / "src"])

    assert findings(report) == [("DBS302", "src/queries.sql", 4),
                                ("DBS302", "src/queries.sql", 5)]
    assert {f.subject for f in report.findings} == {"auth.sessions.last_seen_at",
                                                    "auth.sessions.device"}
    assert report.summary["statements_not_analysed"] == 0


PGTAP_TEST = """begin;
create extension if not exists pgtap with schema extensions;
select plan(4);
select has_column('public', 't', 'a', 't has a');
select ok((select count(*) from public.t where a > 0) = 0, 'no positive a');
select is((select count(*) from public.t where b > 0), 0::bigint, 'no b');
select ok(public.no_such_check(), 'a function of the app');
select * from finish();
rollback;
"""


def test_a_pgtap_test_is_analysed_beside_an_extension_that_failed(tmp_path: Path) -> None:
    """Tuturuuu's `supabase/tests` (task 515): its migrations create extensions the embedded
    PostgreSQL lacks (`pg_graphql`, `pgjwt`, `wrappers`), whose functions may be of any
    name, so each pgTAP test statement calling `ok(...)`, `is(...)` or `plan(...)` was "not
    analysed: may use what the schema cannot describe", 2,363 of its 2,690 statements not
    analysed. pgTAP's functions exist where its tests run: such a statement is analysed (its
    columns were checked and still are); a function of another name still is unknown."""
    root = make_project(tmp_path, {"1_init.sql": "create table public.t (a int);\n"
                                                 "create extension if not exists "
                                                 "no_such_extension_here;\n"})
    (root / "src" / "app.ts").unlink()
    (root / "src" / "queries.sql").unlink()
    (root / "supabase" / "tests").mkdir()
    (root / "supabase" / "tests" / "t.sql").write_text(PGTAP_TEST)

    report = commands.validate(load_settings(root, environ={}), [root / "supabase" / "tests"])

    assert [(f.code, f.location.line, f.subject) for f in report.findings
            if f.code != "DBS006"] == [("DBS302", 6, "public.t.b")]
    assert sorted((s.location.line, " ".join(s.reason.split()[:5])) for s in report.skipped) == [
        (7, "not analysed: may use what"),  # an extension's function, maybe
        (8, "not analysed: columns of function"),
    ]
    assert report.summary["statements_analysed"] == 4  # plan, has_column, ok, is


def test_a_snapshot_of_sql_migrations_keeps_what_failed_statements_made_unknown(
        tmp_path: Path) -> None:
    """`documents` (a type the throwaway lacks) and `rooms.slug`'s index failed; production
    has them. Validating against the dumped snapshot says what validating against the
    folder says, and the snapshot names the statements."""
    root = make_project(tmp_path)
    (root / "src" / "app.ts").unlink()
    settings = load_settings(root, environ={})
    from_folder = commands.validate(settings, [root / "src"])
    snapshot = root / "schema.json"
    commands.schema_dump(settings).save(snapshot)

    from_snapshot = commands.validate(load_settings(root, {"snapshot": snapshot}, environ={}),
                                      [root / "src"])

    def errors(report) -> list[tuple[str, str, int]]:
        return [f for f in findings(report) if f[0] != "DBS006"]

    assert errors(from_snapshot) == errors(from_folder) == [
        ("DBS302", "src/queries.sql", 3), ("DBS302", "src/queries.sql", 4)]
    recorded = json.loads(snapshot.read_text())["failed_statements"]
    assert [(f["path"], f["line"]) for f in recorded] == [
        ("supabase/migrations/20240102000000_more.sql", 3),
        ("supabase/migrations/20240102000000_more.sql", 4),
        ("supabase/migrations/20240102000000_more.sql", 5)]
    assert recorded[1]["message"] == '42704: type "no_such_type" does not exist'


def dbsafe(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`dbsafe ARGS` in `cwd` without DBSAFE_DATABASE_URL, in process: the folder's schema is
    built on the worker's server, not on a server each run starts."""
    return dbsafe_in_process(*args, cwd=cwd, env={"DBSAFE_DATABASE_URL": None})


def test_sql_migrations_option_and_key(tmp_path: Path) -> None:
    root = make_project(tmp_path, {"1_init.sql": "create table t (a int);\n"})
    (root / "supabase" / "migrations").rename(root / "db_sql")
    (root / "src" / "app.ts").unlink()
    (root / "src" / "queries.sql").write_text("select b from t;\n")

    found = dbsafe("validate", "--sql-migrations", "db_sql", "--format", "json", "src",
                   cwd=root)
    assert found.returncode == 1, found.stderr
    assert [f["code"] for f in json.loads(found.stdout)["findings"]] == ["DBS302"]

    (root / "pyproject.toml").write_text("[tool.dbsafe]\nsql-migrations = 'db_sql'\n")
    dumped = dbsafe("schema", "dump", cwd=root)
    assert dumped.returncode == 0, dumped.stderr
    assert [r["name"] for r in json.loads(dumped.stdout)["relations"]] == ["t"]


def test_migrations_named_outside_the_project_are_shown_without_dot_dot(
        tmp_path: Path, database_url: str) -> None:
    """`--sql-migrations ../schema` run in the project showed `schema: sql migrations
    /tmp/x/proj/../schema` (status and verify-reversible too): a path outside the working
    directory is shown absolute and normalised, `/tmp/x/schema`."""
    project, folder = tmp_path / "proj", tmp_path / "schema"
    project.mkdir()
    folder.mkdir()
    (folder / "20240101000000_init.sql").write_text(
        "-- migrate:up\ncreate table t (a int);\n-- migrate:down\ndrop table t;\n")
    (project / "queries.sql").write_text("select a from t;\n")
    with psycopg.connect(database_url, autocommit=True) as conn:  # dbmate's, all applied
        conn.execute("create table schema_migrations (version varchar primary key); "
                     "insert into schema_migrations values ('20240101000000'); "
                     "create table t (a int)")
    shown = str(folder.resolve())
    option = ("--sql-migrations", "../schema")
    validated = dbsafe("validate", *option, "--no-cache", ".", cwd=project)
    assert f"schema: sql migrations {shown} (embedded PostgreSQL)" in validated.stdout
    (project / "pyproject.toml").write_text("[tool.dbsafe]\nsql-migrations = '../schema'\n")
    keyed = dbsafe("validate", "--no-cache", ".", cwd=project)
    assert f"schema: sql migrations {shown} (embedded PostgreSQL)" in keyed.stdout, keyed.stderr
    below = dbsafe("validate", "--no-cache", "proj", cwd=tmp_path)  # below the directory
    assert "schema: sql migrations schema (embedded PostgreSQL)" in below.stdout, below.stderr
    status = dbsafe_in_process("status", *option, cwd=project,
                               env={"DBSAFE_DATABASE_URL": database_url})
    assert f"(1 of 1 files of {shown}, by dbmate's" in status.stdout, status.stderr
    reversible = dbsafe("verify-reversible", *option, cwd=project)
    assert f"[1/1] {shown}/20240101000000_init.sql" in reversible.stderr
    outputs = [validated, keyed, below, status, reversible]
    assert [r.returncode for r in outputs] == [0, 0, 0, 0, 0]
    assert not any("/../" in r.stdout + r.stderr for r in outputs)


def test_bad_folders_are_one_line_errors(tmp_path: Path) -> None:
    root = make_project(tmp_path, {"1_init.sql": "create table t (a int);\n"})

    missing = dbsafe("validate", "--sql-migrations", "nowhere", "src", cwd=root)
    assert (missing.returncode, missing.stderr.strip().count("\n")) == (2, 0)
    assert "no such folder" in missing.stderr

    (root / "db" / "migrations").mkdir(parents=True)
    (root / "db" / "migrations" / "1.sql").write_text("create table u ();\n")
    several = dbsafe("validate", "src", cwd=root)
    assert (several.returncode, several.stderr.strip().count("\n")) == (2, 0)
    assert "supabase/migrations, db/migrations" in several.stderr
    assert "Traceback" not in missing.stderr + several.stderr


def test_alembic_ini_keeps_alembic_the_default(tmp_path: Path) -> None:
    root = make_project(tmp_path, {"1_init.sql": "create table t (a int);\n"})
    (root / "alembic.ini").write_text("[alembic]\nscript_location = nowhere\n")

    result = dbsafe("validate", "src", cwd=root)

    assert result.returncode == 2
    assert "script_location" in result.stderr


def test_diff_takes_a_folder_of_sql_migrations(tmp_path: Path) -> None:
    root = make_project(tmp_path, {"1_init.sql": "create table t (a int);\n"})
    (root / "supabase").rename(root / "db")  # dbmate's folder: no supabase stand-in
    (root / "other").mkdir()
    (root / "other" / "1.sql").write_text("create table t (a bigint);\n")

    result = dbsafe("diff", "--format", "json", "migrations", "other", cwd=root)

    assert result.returncode == 1, result.stderr
    assert [f["subject"] for f in json.loads(result.stdout)["findings"]] == ["public.t.a"]
    revision = dbsafe("diff", "migrations@abc", "other", cwd=root)
    assert revision.returncode == 2 and "have no revisions" in revision.stderr


def test_diff_of_a_supabase_folder_and_a_database_leaves_the_stand_in_schemas_out(
        tmp_path: Path, postgresql, database_url: str) -> None:
    """Against a Supabase database (the platform's whole `auth` and `storage` here, not
    dbsafe's part of them), only what the migrations make is compared."""
    root = make_project(tmp_path, {"1_init.sql": "create table public.t (a int);\n"})
    postgresql.execute("create schema auth; create table auth.users (id uuid primary key, "
                       "email text, banned_until timestamptz); create table auth.sessions "
                       "(id uuid); create schema storage; create table storage.buckets "
                       "(id text primary key); create table public.t (a bigint)")
    postgresql.commit()

    result = dbsafe("diff", "--format", "json", "supabase/migrations", database_url,
                    cwd=root)

    assert result.returncode == 1, result.stderr
    subjects = [f["subject"] for f in json.loads(result.stdout)["findings"]]
    assert "public.t.a" in subjects
    assert not [s for s in subjects if s.startswith(("auth", "storage", "extensions"))]
    assert "not compared: schemas auth, extensions, graphql, graphql_public, realtime, " \
           "storage, supabase_functions, vault, which one side holds only dbsafe's " \
           "stand-in of" in result.stderr

    both = dbsafe("diff", "--format", "json", "supabase/migrations", "supabase/migrations",
                  cwd=root)
    assert (both.returncode, "not compared" in both.stderr) == (0, False)


def test_help_explains_the_sql_source() -> None:
    result = dbsafe("validate", "--help", cwd=REPO_ROOT)
    assert "--sql-migrations DIR" in result.stdout
    assert "supabase/migrations" in result.stdout
    assert "else in a monorepo's folder up to two levels below it" in " ".join(
        result.stdout.split())


def test_no_migrations_at_all_names_both_settings(tmp_path: Path) -> None:
    """A folder deeper than two levels of workspace folders (apps/db/sub/supabase/...) is
    not looked for: the error says how to name it."""
    root = make_project(tmp_path, {"1_init.sql": "create table t ();\n"})
    (root / "apps" / "db" / "sub").mkdir(parents=True)
    (root / "supabase").rename(root / "apps" / "db" / "sub" / "supabase")

    result = dbsafe("validate", "src", cwd=root)

    assert (result.returncode, result.stderr.strip().count("\n")) == (2, 0)
    assert "alembic config not found" in result.stderr
    assert "or a folder up to 2 levels below it" in result.stderr
    assert "--sql-migrations DIR" in result.stderr


def make_monorepo(root: Path, folders: dict[str, str]) -> Path:
    """A JavaScript monorepo (no pyproject.toml: the root is where dbsafe runs) with a
    migration in each of `folders`, keyed by path, and `apps/web/src`'s queries."""
    (root / "package.json").write_text('{"workspaces": ["apps/*", "packages/*"]}\n')
    for folder, sql in folders.items():
        (root / folder).mkdir(parents=True)
        (root / folder / "20240101000000_init.sql").write_text(sql)
    (root / "apps" / "web" / "src").mkdir(parents=True, exist_ok=True)
    (root / "apps" / "web" / "src" / "queries.sql").write_text(
        "select id, email from auth.users;\nselect body, title from public.notes;\n")
    return root


NOTES = "create table public.notes (id bigint primary key, body text);\n"


def test_a_monorepos_folder_is_found_below_the_root(tmp_path: Path) -> None:
    """Run from a monorepo's root, its one app's supabase/migrations is the schema: a
    Supabase folder (auth.users is the stand-in's), and what it makes is checked."""
    root = make_monorepo(tmp_path, {"apps/web/supabase/migrations": NOTES})
    settings = load_settings(root, environ={})

    report = commands.validate(settings, [root / "apps"])

    assert findings(report) == [("DBS302", "apps/web/src/queries.sql", 2)]
    assert [f.message for f in report.findings] == ["`notes` has no column `title`"]
    assert report.summary["schema_source"].endswith(
        "apps/web/supabase/migrations (embedded PostgreSQL)")

    (root / "apps" / "web" / "supabase" / "migrations" / "20240102000000_index.sql") \
        .write_text("create index notes_body on public.notes (body);\n")
    linted = dbsafe("lint", "--format", "json", cwd=root)  # `lint` with no path: the same
    assert linted.returncode == 1, linted.stderr
    assert {f["path"] for f in json.loads(linted.stdout)["findings"]} == {
        "apps/web/supabase/migrations/20240102000000_index.sql"}


def test_several_folders_below_the_root_are_an_error_naming_them(tmp_path: Path) -> None:
    root = make_monorepo(tmp_path, {"apps/web/supabase/migrations": NOTES,
                                    "packages/db/prisma/migrations": NOTES,
                                    "backend/db/migrations": NOTES})

    result = dbsafe("validate", "apps", cwd=root)

    assert (result.returncode, result.stderr.strip().count("\n")) == (2, 0), result.stderr
    assert ("several folders of SQL migrations (apps/web/supabase/migrations, "
            "backend/db/migrations, packages/db/prisma/migrations); choose one with "
            "--sql-migrations DIR or `sql-migrations` in [tool.dbsafe]") in result.stderr


def test_a_folder_below_the_root_beside_another_applications_alembic_is_an_error(
        tmp_path: Path) -> None:
    """`services/api` keeps alembic migrations: its Python would be checked against the
    web app's supabase schema, every query a false positive. dbsafe asks which."""
    root = make_monorepo(tmp_path, {"apps/web/supabase/migrations": NOTES})
    (root / "services" / "api").mkdir(parents=True)
    (root / "services" / "api" / "alembic.ini").write_text(
        "[alembic]\nscript_location = migrations\n")

    result = dbsafe("validate", "apps", cwd=root)

    assert (result.returncode, result.stderr.strip().count("\n")) == (2, 0), result.stderr
    assert ("SQL migrations in apps/web/supabase/migrations and alembic's in "
            "services/api/alembic.ini; choose with --sql-migrations DIR or --alembic-config "
            "FILE") in result.stderr
    chosen = dbsafe("validate", "--sql-migrations", "apps/web/supabase/migrations", "apps",
                    cwd=root)
    assert chosen.returncode == 1, chosen.stderr


NOT_THE_APPLICATIONS = {
    "node_modules": "node_modules/@acme/supabase/migrations",
    "git-ignored": "vendor/kit/supabase/migrations",
    "ignored-in-workspace": "apps/legacy/supabase/migrations",
    "excluded": "packages/old/db/migrations",
    "virtualenv": "venv-x/lib/prisma/migrations",
    "example": "examples/todo/supabase/migrations",
    "test-fixture": "tests/fixtures/supabase/migrations",
    "too-deep": "apps/web/nested/deeper/supabase/migrations",
}


def ignoring_project(root: Path) -> Path:
    (root / ".gitignore").write_text("vendor/\n")
    (root / "apps").mkdir()
    (root / "apps" / ".gitignore").write_text("legacy\n")
    (root / "venv-x").mkdir()
    (root / "venv-x" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (root / "pyproject.toml").write_text("[tool.dbsafe]\nexclude = ['packages/old']\n")
    return root


@pytest.mark.parametrize("folder", NOT_THE_APPLICATIONS.values(), ids=NOT_THE_APPLICATIONS)
def test_a_folder_discovery_passes_by_is_not_the_schema(tmp_path: Path, folder: str) -> None:
    root = make_monorepo(ignoring_project(tmp_path), {folder: NOTES})

    result = dbsafe("validate", "apps", cwd=root)

    assert result.returncode == 2, result.stdout
    assert "alembic config not found" in result.stderr


def test_the_one_folder_is_found_among_those_discovery_passes_by(tmp_path: Path) -> None:
    from dbsafe.sources import sql_migrations_folder

    root = make_monorepo(ignoring_project(tmp_path), dict.fromkeys(
        [*NOT_THE_APPLICATIONS.values(), "apps/web/supabase/migrations"], NOTES))

    assert sql_migrations_folder(load_settings(root, environ={})) == \
        root / "apps" / "web" / "supabase" / "migrations"


def test_a_folder_at_the_root_wins_over_a_monorepos(tmp_path: Path) -> None:
    """The root's folder is the project's: the workspace folders are not chosen (a warning
    names them: below). Without it, theirs are."""
    from dbsafe.core import ConfigError
    from dbsafe.sources import sql_migrations_folder

    root = make_monorepo(tmp_path, {"supabase/migrations": NOTES,
                                    "apps/web/supabase/migrations": NOTES,
                                    "packages/db/supabase/migrations": NOTES})
    settings = load_settings(root, environ={})
    assert sql_migrations_folder(settings) == root / "supabase" / "migrations"

    (root / "supabase" / "migrations" / "20240101000000_init.sql").unlink()
    with pytest.raises(ConfigError, match=r"\(\S*/apps/web/supabase/migrations, "
                                          r"\S*/packages/db/supabase/migrations\)"):
        sql_migrations_folder(settings)


def test_a_workspace_folder_the_roots_folder_wins_over_is_said(tmp_path: Path) -> None:
    """SuuperSaees keeps a stray `supabase/` at its monorepo's root (`supabase init` and one
    `db pull`: extensions only) beside its application's `apps/web/supabase/migrations`.
    The root's folder is the schema: `apps/web`'s own code is not validated against it
    (it keeps migrations of its own), but every table the shared `packages/*` read was
    reported missing (465 errors, PostgreSQL's 42P01) with nothing saying the
    application's migrations lie below: the warning names them and how to choose."""
    root = make_monorepo(tmp_path, {
        "supabase/migrations": "create extension if not exists pgcrypto;\n",
        "apps/web/supabase/migrations": NOTES})
    (root / "packages" / "features").mkdir(parents=True)
    (root / "packages" / "features" / "notes.sql").write_text("select body, title from notes;\n")

    result = dbsafe("validate", "--no-cache", "packages", cwd=root)

    assert result.returncode == 1, result.stderr
    assert "no relation `notes` in the search path (public, extensions)" in result.stdout
    assert ("the schema is supabase/migrations, at the project root; "
            "apps/web/supabase/migrations below it is not read (a folder at the root wins): "
            "if the application's migrations are there, choose with --sql-migrations DIR"
            ) in result.stderr.replace("\n", " ")
    assert result.stderr.count("below it is not read") == 1
    chosen = dbsafe("validate", "--no-cache", "--sql-migrations",
                    "apps/web/supabase/migrations", "packages", cwd=root)
    assert "below it" not in chosen.stderr
    assert "`notes` has no column `title`" in chosen.stdout


@pytest.mark.parametrize("recreated", [False, True], ids=["stand-in", "made-by-migrations"])
def test_realtime_tables_are_checked_only_where_the_migrations_make_the_publication(
        tmp_path: Path, recreated: bool) -> None:
    # The stand-in's supabase_realtime is Supabase's: tables are often added to it in the
    # dashboard, so one the migrations did not add is no finding. Migrations that make the
    # publication themselves say which tables it has.
    publication = ("drop publication if exists supabase_realtime;\n"
                   "create publication supabase_realtime for table public.notes;\n"
                   if recreated else
                   "alter publication supabase_realtime add table public.notes;\n")
    root = make_project(tmp_path, {"1_init.sql": "create table public.notes (id bigint);\n"
                                   "create table public.rooms (id bigint);\n" + publication})
    (root / "src" / "queries.sql").unlink()
    (root / "src" / "app.ts").write_text(
        "import { createClient } from '@supabase/supabase-js'\n"
        "const supabase = createClient('u', 'k')\n"
        "supabase.channel('c').on('postgres_changes', "
        "{ event: '*', schema: 'public', table: 'notes' }, f)\n"
        "supabase.channel('c').on('postgres_changes', "
        "{ event: '*', schema: 'public', table: 'rooms' }, f)\n")
    report = commands.validate(load_settings(root, environ={}), [root / "src"])
    assert findings(report) == ([("DBS310", "src/app.ts", 4)] if recreated else [])


def test_a_folder_is_supabases_by_its_path_within_the_project(tmp_path: Path) -> None:
    from dbsafe.sources import SqlFolder

    inside = tmp_path / "supabase" / "app"  # a checkout under a folder named supabase
    for folder in (inside / "supabase" / "migrations", inside / "db" / "migrations"):
        folder.mkdir(parents=True)
    settings = load_settings(inside, environ={})
    assert SqlFolder.of(inside / "supabase" / "migrations", settings).platform == "supabase"
    assert SqlFolder.of(inside / "db" / "migrations", settings).platform is None


def test_only_supabase_migrations_is_run_as_its_cli_runs_it(tmp_path: Path) -> None:
    """A folder beside `supabase/migrations` (`supabase/sql`, run by hand with psql) gets the
    platform's stand-in but is not the CLI's: its lone `CREATE INDEX CONCURRENTLY` runs
    outside a transaction, so it is no DBS006 note saying it fails in production. lint
    reads the two folders the same way (`supabase_cli_folder`)."""
    from dbsafe.sources import SqlFolder

    root = make_project(tmp_path, {"20240101000000_init.sql": "create table t (a int);\n"
                                   "create index concurrently t_a on t (a);\n"})
    (root / "supabase" / "sql").mkdir()
    (root / "supabase" / "sql" / "1_init.sql").write_text(
        "create table t (a int);\n"
        "create index concurrently t_a on t (a);\n")
    (root / "src" / "app.ts").unlink()
    (root / "src" / "queries.sql").write_text("select a from t;\n")
    settings = load_settings(root, environ={})
    by_hand = SqlFolder.of(root / "supabase" / "sql", settings)
    cli = SqlFolder.of(root / "supabase" / "migrations", settings)
    assert (by_hand.platform, by_hand.supabase_cli, by_hand.runner) == ("supabase", False, None)
    assert (cli.platform, cli.supabase_cli, cli.runner) == ("supabase", True, "supabase")

    report = commands.validate(load_settings(root, environ={}, overrides={
        "sql-migrations": "supabase/sql"}), [root / "src"])
    assert findings(report) == []
    report = commands.validate(settings, [root / "src"])
    assert findings(report) == [("DBS006", "supabase/migrations/20240101000000_init.sql", 2)]


def test_a_relation_a_failed_migration_statement_reads_is_unknown_not_missing(
        tmp_path: Path) -> None:
    # The policy fails on the throwaway: `teachers` is made outside the migrations (by hand,
    # by the platform). It ran in production, so production has `teachers`.
    root = make_project(tmp_path, {"1_init.sql":
                                   "create table public.notes (id bigint, body text);\n"
                                   "create policy own on public.notes using (exists "
                                   "(select 1 from public.teachers t where t.id = notes.id));\n"})
    (root / "src" / "app.ts").unlink()
    (root / "src" / "queries.sql").write_text("select name from teachers;\n"
                                              "select nope from notes;\n"
                                              "select x from pupils;\n")
    report = commands.validate(load_settings(root, environ={}), [root / "src"])
    assert [(f.code, f.location.line) for f in report.findings if f.code != "DBS006"] == [
        ("DBS302", 2), ("DBS301", 3)]


def test_a_table_a_failed_migration_statement_gives_a_column_it_lacks_is_unknown(
        tmp_path: Path) -> None:
    # supabase-kindness-collective: its table was made in production with other columns
    # than its migration gives it; a later migration, `UPDATE ... SET reviewed_at = now()`,
    # fails on the throwaway (42703). It ran in production, so production's table has
    # `reviewed_at`, and what else it holds was made outside the migrations: the app's
    # `reviewed_at`, `notes` were false DBS302. A column only a WHERE names proves nothing
    # of its table (which table it is, is the query's resolution), nor does a column the
    # table has.
    root = make_project(tmp_path, {
        "20240101000000_init.sql":
            "create table public.verifications (id bigint, status text, admin_notes text);\n"
            "create table public.donations (id bigint, amount int);\n"
            "create table public.coupons (id bigint, code text);\n",
        "20240102000000_approve.sql":
            "update public.verifications set status = 'approved', reviewed_at = now();\n"
            "update public.donations set amount = 1 where nosuch = 2;\n"
            "insert into public.coupons (code, code) values ('a', 'b');\n"})
    (root / "src" / "queries.sql").unlink()
    (root / "src" / "app.ts").write_text(
        "import { createClient } from '@supabase/supabase-js'\n"
        "const supabase = createClient('u', 'k')\n"
        "export async function load() {\n"
        "  await supabase.from('verifications').select('id, reviewed_at, notes')\n"
        "  await supabase.from('donations').select('id, nosuch')\n"
        "  await supabase.from('coupons').select('id, nosuch')\n"
        "}\n")
    report = commands.validate(load_settings(root, environ={}), [root / "src"])
    assert sorted((f.code, f.location.line, f.subject) for f in report.findings
                  if f.code != "DBS006") == [
        ("DBS302", 5, "public.donations.nosuch"), ("DBS302", 6, "public.coupons.nosuch")]
    assert sorted(dict(f.context)["PostgreSQL"][:5] for f in report.findings
                  if f.code == "DBS006") == ["42701", "42703", "42703"]


def test_a_statement_refused_because_its_object_exists_leaves_it_known(
        tmp_path: Path) -> None:
    """Parsec keeps `datamodel.sql`, its whole schema for reference, beside its numbered
    migrations; run after them, each of its CREATEs failed with 42P07 or 42710, and every
    table they named had unknown columns: `SELECT vlob_atom.realm_id`, refused by
    PostgreSQL (the column is `realm`), was "not analysed". A statement refused because
    what it makes exists made nothing. One declaring a column the existing table lacks may
    have made the table in production (with that column): its table stays unknown."""
    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    (folder / "0001_init.sql").write_text(
        "create type realm_role as enum ('owner', 'reader');\n"
        "create table vlob_atom (_id serial primary key, realm int, data bytea,\n"
        "    constraint vlob_atom_data unique (data));\n"
        "create index vlob_atom_realm on vlob_atom (realm);\n"
        "create table notes (id int, body text);\n")
    (folder / "datamodel.sql").write_text(
        "create type realm_role as enum ('owner', 'reader');\n"
        "create table vlob_atom (_id serial primary key, realm int, data bytea);\n"
        "alter table vlob_atom add constraint vlob_atom_data unique (data);\n"
        "create index vlob_atom_realm on vlob_atom (realm);\n"
        "create table notes (id int, body text, extra text);\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "queries.sql").write_text(
        "select vlob_atom.realm_id from vlob_atom;\n"
        "select realm, data from vlob_atom;\n"
        "select extra from notes;\n")
    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])
    assert [(f.code, f.location.line) for f in report.findings if f.code != "DBS006"] == [
        ("DBS302", 1)]
    assert sorted((f.location.line, dict(f.context)["PostgreSQL"][:5])
                  for f in report.findings if f.code == "DBS006") == [
        (1, "42710"), (2, "42P07"), (3, "42P07"), (4, "42P07"), (5, "42P07")]
    said = [f.message.partition(": ")[2] for f in report.findings if f.code == "DBS006"]
    assert said[:4] == ["what it makes exists already, so it changed nothing: the schema "
                        "has what an earlier statement made."] * 4
    assert said[4].startswith("what it would have created")


def test_a_table_added_again_to_a_publication_it_is_in_stays_known(tmp_path: Path) -> None:
    """TarkovTracker's `enable_realtime_user_progress_dup_1` adds `user_progress` to
    `supabase_realtime` again: refused with 42710 ("already member of publication"), it left
    the table's columns unknown, and three selects of columns it lacks went "not analysed".
    Adding one table to a publication it is in changes nothing; of two, the other may not
    be in it, and its table stays unknown."""
    folder = tmp_path / "supabase" / "migrations"
    folder.mkdir(parents=True)
    (folder / "20250101000000_init.sql").write_text(
        "create table user_progress (user_id uuid primary key, pvp_data jsonb);\n"
        "create table teams (id uuid primary key, name text);\n"
        "create table scores (id uuid primary key);\n"
        "alter publication supabase_realtime add table user_progress, scores;\n")
    (folder / "20250102000000_dup.sql").write_text(
        "alter publication supabase_realtime add table public.user_progress;\n")
    (folder / "20250103000000_dup_two.sql").write_text(
        "alter publication supabase_realtime add table scores, teams;\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.ts").write_text(
        "import { createClient } from '@supabase/supabase-js'\n"
        "const supabase = createClient(url, key)\n"
        "await supabase.from('user_progress').select('level, pvp_data').single()\n"
        "await supabase.from('teams').select('max_members')\n")
    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])
    assert sorted((f.code, f.location.path.rsplit("/", 1)[-1], f.location.line)
                  for f in report.findings) == [
        ("DBS006", "20250102000000_dup.sql", 1),
        ("DBS006", "20250103000000_dup_two.sql", 1),
        ("DBS302", "app.ts", 3),
    ]
    said = {f.location.path.rsplit("/", 1)[-1]: f.message.partition(": ")[2]
            for f in report.findings if f.code == "DBS006"}
    assert said["20250102000000_dup.sql"].startswith("what it makes exists already")
    assert said["20250103000000_dup_two.sql"].startswith("what it would have created")


STRIPE_SCHEMA_MIGRATION = 'create table if not exists "stripe"."invoices" (id text primary key, customer text);\n'
STRIPE_QUERIES = ("select customer from stripe.invoices where id = 'in_1';\n"
                  "delete from stripe.active_entitlements where customer = 'c';\n"
                  "select 1 from billing.accounts;\n")


def test_a_schema_a_failed_migration_statement_names_is_unknown_not_missing(
        tmp_path: Path) -> None:
    """supabase/stripe-sync-engine's runner makes the `stripe` schema in code (`CREATE
    SCHEMA IF NOT EXISTS ${schema}`) before its migrations, which create tables in it: on
    the throwaway each failed (3F000), and every query of `stripe.*` was a false DBS301 "no
    schema `stripe`". The migrations ran in production, so production has the schema, and
    what else it holds was made outside them. A schema no migration names is still missing."""
    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    (folder / "0001_invoices.sql").write_text(STRIPE_SCHEMA_MIGRATION)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "queries.sql").write_text(STRIPE_QUERIES)
    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])
    assert sorted((f.code, f.location.line) for f in report.findings) == [
        ("DBS006", 1), ("DBS301", 3)]
    note = next(f for f in report.findings if f.code == "DBS006")
    assert dict(note.context)["PostgreSQL"].startswith("3F000")


@pytest.mark.db
def test_the_stripe_schema_made_first_runs_migration_and_queries(
        postgresql) -> None:
    postgresql.execute("CREATE SCHEMA IF NOT EXISTS stripe")  # what the runner does first
    postgresql.execute(STRIPE_SCHEMA_MIGRATION)
    postgresql.execute("CREATE TABLE stripe.active_entitlements (customer text)")  # a later one
    for query in STRIPE_QUERIES.splitlines()[:2]:
        postgresql.execute(f"PREPARE q AS {query.rstrip(';')}")
        postgresql.execute("DEALLOCATE q")
    postgresql.rollback()


QUEUES_TS = """import { createClient } from '@supabase/supabase-js'
const supabase = createClient('u', 'k')
export async function drain() {
  const { data } = await supabase.schema('pgmq_public').rpc('read', { queue_name: 'q', sleep_seconds: 30, n: 5 })
  await supabase.schema('pgmq_public').rpc('delete', { queue_name: 'q', message_id: 1 })
  await supabase.rpc('no_such_function')
}
"""


def test_supabases_queue_api_beside_pgmq_is_unknown_not_missing(tmp_path: Path) -> None:
    """gonasi's edge functions call `pgmq_public.read` and `pgmq_public.delete`: Supabase's
    dashboard makes those wrappers of pgmq's functions ("expose queues via PostgREST"),
    outside the migrations, which only create the schema and the extension: six false
    DBS306, with pgmq failing on the throwaway, and again with its stand-in there. A
    function of `public` is still checked."""
    root = make_project(tmp_path, {"1_queues.sql": "create schema if not exists pgmq_public;\n"
                                                   "create extension if not exists pgmq;\n"})
    (root / "src" / "queries.sql").unlink()
    (root / "src" / "app.ts").write_text(QUEUES_TS)
    report = commands.validate(load_settings(root, environ={}), [root / "src"])
    assert findings(report) == [("DBS306", "src/app.ts", 6)]


EXTENSION_FUNCTIONS_TS = """import { createClient } from '@supabase/supabase-js'
const supabase = createClient('u', 'k')
export async function call() {
  await supabase.rpc('http_get', { uri: 'https://example.com' })
  await supabase.schema('extensions').rpc('index_advisor', { query: 'select 1' })
  await supabase.rpc('index_advisor', { query: 'select 1' })
  await supabase.from('hypopg_list_indexes').select('index_name')
  await supabase.from('no_such_table').select('id')
}
"""


@pytest.mark.parametrize(("migration", "expected"), [
    # created in the default schema (`public` on Supabase): any schema may have its functions
    ("create extension if not exists http;\n", [("DBS301", 7), ("DBS301", 8)]),
    ("create extension if not exists http with schema extensions;\n",
     [("DBS301", 7), ("DBS301", 8), ("DBS306", 4), ("DBS306", 6)]),
    ('create extension if not exists "http" with schema "extensions";\n'
     'create extension if not exists "hypopg" with schema "extensions";\n'
     'create extension if not exists "index_advisor" with schema "extensions";\n',
     [("DBS301", 8), ("DBS306", 4), ("DBS306", 6)]),
])
def test_the_functions_of_an_extension_that_failed_are_unknown_where_it_was_created(
        tmp_path: Path, database_url: str, migration: str,
        expected: list[tuple[str, int]]) -> None:
    """pgsql-http's `http_get(uri)` and index_advisor's `index_advisor(query)` are made by
    their extensions, which the embedded PostgreSQL lacks: `.rpc('http_get')` of a project
    creating `http` in its default schema (`public` on Supabase) was a false DBS306. One
    created `with schema extensions` leaves `extensions` unknown, and `public` is still
    checked. hypopg's views (index_advisor requires it) are its own: after it failed, no
    table was reported missing any more."""
    with psycopg.connect(database_url) as conn:
        available = {row[0] for row in conn.execute(
            "SELECT name FROM pg_available_extensions WHERE name IN "
            "('http', 'index_advisor', 'hypopg')")}
    if available:
        pytest.skip(f"the server has {sorted(available)}")
    root = make_project(tmp_path, {"1_extensions.sql": migration})
    (root / "src" / "queries.sql").unlink()
    (root / "src" / "app.ts").write_text(EXTENSION_FUNCTIONS_TS)
    report = commands.validate(load_settings(root, environ={}), [root / "src"])
    assert [(code, line) for code, _, line in findings(report) if code != "DBS006"] == expected


def test_a_failed_statement_that_changes_no_schema_is_no_note(tmp_path: Path) -> None:
    # Production has the platform's auth.refresh_tokens and auth.flow_state (the stand-in
    # leaves them out) and the user the insert refers to: these change privileges and rows
    # only, nothing validate reads. A relation missing outside a stand-in is still a note.
    root = make_project(tmp_path, {"1_init.sql": """
create table public.profiles (id uuid primary key references auth.users (id), name text);
grant select on table "auth"."refresh_tokens" to "service_role";
revoke delete on table auth.flow_state from anon;
update auth.flow_state set provider_type = 'email' where provider_type is null;
insert into public.profiles (id, name) values ('00000000-0000-0000-0000-000000000001', 'a');
update public.profiles set name = null where id = 1;
grant select on table public.nope to anon;
insert into public.nothing values (1);
"""})
    report = commands.validate(load_settings(root, environ={}), [root / "src"])
    notes = [(f.location.line, dict(f.context)["PostgreSQL"][:5])
             for f in report.findings if f.code == "DBS006"]
    assert notes == [(7, "42883"), (8, "42P01"), (9, "42P01")]


RAW_SQL_TS = """import { Prisma } from '@prisma/client';
export async function stats(prisma, db, pool, sql) {
  await prisma.$queryRaw`SELECT count(*) AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL`;
  await prisma.$queryRaw<Array<{ id: string; at: Date }>>`SELECT id, nickname FROM "User" WHERE id = ${1}`;
  await db.oneOrNone('SELECT id, emial FROM "User" WHERE id = $1', [1]);
  await pool.maybeOne(sql.type(UserRow)`SELECT nick FROM "User"`);
  await db.execute(sql`SELECT hash, created_at FROM drizzle.__drizzle_migrations`);
}
"""


HISTORY_SQL = """select version, name, statements from supabase_migrations.schema_migrations;
update supabase_migrations.schema_migrations set name = 'init' where version = '20240101000000';
select path, hash from supabase_migrations.seed_files;
select versoin from supabase_migrations.schema_migrations;
"""


def test_supabases_cli_history_table_is_there(tmp_path: Path) -> None:
    """saturday-vinyl-supabase's `supabase/seed_schema_migrations.sql` renames the versions
    in `supabase_migrations.schema_migrations`, the table supabase's CLI makes before the
    first file (`CreateMigrationTable`), as prisma's and drizzle's runners make theirs: each
    statement was a false DBS301 "no schema `supabase_migrations`". A misspelt column of it
    is still found."""
    root = make_project(tmp_path, {"20240101000000_init.sql": "create table public.t (id int);\n"})
    (root / "src" / "app.ts").unlink()
    (root / "src" / "queries.sql").write_text(HISTORY_SQL)
    report = commands.validate(load_settings(root, environ={}), [root / "src"])
    assert findings(report) == [("DBS302", "src/queries.sql", 4)]


@pytest.mark.parametrize("runner", ["prisma", "drizzle"])
def test_raw_sql_in_typescript_against_prisma_and_drizzle_folders(tmp_path: Path,
                                                                   runner: str) -> None:
    """A tag with type arguments (`prisma.$queryRaw<T[]>`...``), pg-promise's `db.oneOrNone`
    and slonik's `sql.type(S)`...`` are read; the runner's own history table
    (`_prisma_migrations`, `drizzle.__drizzle_migrations`) is in production's database, so
    it is not missing, while the other runner's is."""
    root = tmp_path
    init = 'CREATE TABLE "User" ("id" TEXT PRIMARY KEY, "name" TEXT);\n'
    if runner == "prisma":
        folder = root / "prisma" / "migrations"
        (folder / "20240101000000_init").mkdir(parents=True)
        (folder / "20240101000000_init" / "migration.sql").write_text(init)
        (folder / "migration_lock.toml").write_text('provider = "postgresql"\n')
    else:
        folder = root / "drizzle"
        (folder / "meta").mkdir(parents=True)
        (folder / "0000_init.sql").write_text(init)
        (folder / "meta" / "_journal.json").write_text('{"entries": []}\n')
    (root / "src").mkdir()
    (root / "src" / "stats.ts").write_text(RAW_SQL_TS)
    settings = load_settings(root, {"sql-migrations": folder}, environ={})

    report = commands.validate(settings, [root / "src"])

    expected = [("DBS302", "src/stats.ts", 4), ("DBS302", "src/stats.ts", 5),
                ("DBS302", "src/stats.ts", 6)]
    expected.append(("DBS301", "src/stats.ts", 3 if runner == "drizzle" else 7))
    assert findings(report) == sorted(expected)
    # each confirmed by PostgreSQL on the database the folder built
    assert all(any(title == "PostgreSQL" and text[:5] in ("42703", "42P01")
                   for title, text in f.context) for f in report.findings)
    messages = {f.message for f in report.findings if f.code == "DBS302"}
    assert messages == {"`User` has no column `nickname`", "`User` has no column `emial`",
                        "`User` has no column `nick`"}


HISTORY_ELSEWHERE_TS = """import { sql } from 'drizzle-orm';
export async function journal(db, pool) {
  await pool.query(`SELECT count(*)::int AS applied FROM drizzle_admin.__drizzle_migrations`);
  await db.execute(sql`SELECT hash FROM public.__drizzle_migrations`);
  await db.execute(sql`SELECT hahs FROM drizzle.__drizzle_migrations`);
  await pool.query(`SELECT id FROM drizzle_admin.users`);
}
"""


def test_drizzles_history_table_in_a_schema_the_code_names_is_unknown(tmp_path: Path) -> None:
    """PageSpace's trust-plane database is migrated with `migrationsSchema: 'drizzle_admin'`,
    and its test reads `drizzle_admin.__drizzle_migrations`: drizzle-orm's `migrate()` makes
    its history table in the schema the code names, so read outside `drizzle` it is unknown
    (a false DBS301 "no schema `drizzle_admin`" before, on the folder that database is
    built from). Where the schema has it, its columns are checked; another relation of a
    schema the database lacks is still missing."""
    folder = tmp_path / "drizzle-admin"
    (folder / "meta").mkdir(parents=True)
    (folder / "0000_init.sql").write_text('CREATE TABLE "audit" ("id" text PRIMARY KEY);\n')
    (folder / "meta" / "_journal.json").write_text(
        '{"dialect": "postgresql", "entries": [{"idx": 0, "when": 1700000000000, '
        '"tag": "0000_init", "breakpoints": true}]}\n')
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "journal.ts").write_text(HISTORY_ELSEWHERE_TS)
    settings = load_settings(tmp_path, {"sql-migrations": folder}, environ={})

    report = commands.validate(settings, [tmp_path / "src"])

    assert findings(report) == [("DBS301", "src/journal.ts", 6), ("DBS302", "src/journal.ts", 5)]
    assert [(s.location.line, s.reason) for s in report.skipped] == [
        (line, "not analysed: reads `__drizzle_migrations`, the history table drizzle-orm's "
               "`migrate()` makes in the schema its `migrationsSchema` names, which the code "
               "may set")
        for line in (3, 4)]


def test_prisma_folders_run_in_prismas_order(tmp_path: Path) -> None:
    """prisma migrate runs `202310122339_x` (a hand-named twelve-digit folder, as in
    papermark) after `20230912150657_init`: read as numbers it came first, failed on a
    table not yet created (a needless DBS006), and the column it adds was missing, so the
    code reading a column the next migration drops went unchecked."""
    folder = tmp_path / "prisma" / "migrations"
    for name, sql in [
        ("20230912150657_init", 'CREATE TABLE "Link" ("id" TEXT PRIMARY KEY, "old" TEXT);'),
        ("202310122339_notify", 'ALTER TABLE "Link" ADD COLUMN "notify" BOOLEAN;'),
        ("20231101000000_drop_old", 'ALTER TABLE "Link" DROP COLUMN "old";'),
    ]:
        (folder / name).mkdir(parents=True)
        (folder / name / "migration.sql").write_text(sql + "\n")
    (folder / "migration_lock.toml").write_text('provider = "postgresql"\n')
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "links.ts").write_text(
        "export const links = (prisma) => prisma.$queryRaw`SELECT notify FROM \"Link\"`;\n"
        "export const old = (prisma) => prisma.$queryRaw`SELECT old, notify FROM \"Link\"`;\n")

    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])

    assert findings(report) == [("DBS302", "src/links.ts", 2)]
    assert [f.message for f in report.findings] == ["`Link` has no column `old`"]
    assert dict(report.findings[0].context)["PostgreSQL"].startswith("42703")


def test_a_prisma_folders_down_and_rollback_scripts_are_not_run(tmp_path: Path) -> None:
    """prisma migrate runs each folder's `migration.sql` alone. langwatch keeps a `down.sql`
    beside one (prisma's docs: run by hand with `prisma db execute`): it was run before its
    `migration.sql` (a needless DBS006, its table not made yet). A `rollback.sql` sorts
    after it: run, it dropped the column the migration added, a false DBS302."""
    folder = tmp_path / "prisma" / "migrations"
    for name, file, sql in [
        ("20240101000000_init", "migration.sql", 'CREATE TABLE "Cost" ("id" TEXT PRIMARY KEY);'),
        ("20240201000000_price", "down.sql", 'DROP TABLE "Price";'),
        ("20240201000000_price", "migration.sql",
         'CREATE TABLE "Price" ("id" TEXT PRIMARY KEY);\n'
         'ALTER TABLE "Cost" ADD COLUMN "amount" INTEGER;'),
        ("20240201000000_price", "rollback.sql",
         'ALTER TABLE "Cost" DROP COLUMN "amount";\nDROP TABLE "Price";'),
    ]:
        (folder / name).mkdir(parents=True, exist_ok=True)
        (folder / name / file).write_text(sql + "\n")
    (folder / "migration_lock.toml").write_text('provider = "postgresql"\n')
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "costs.ts").write_text(
        "export const costs = (prisma) => prisma.$queryRaw`SELECT amount FROM \"Cost\"`;\n"
        "export const prices = (prisma) => prisma.$queryRaw`SELECT id FROM \"Price\"`;\n"
        "export const typo = (prisma) => prisma.$queryRaw`SELECT amonut FROM \"Cost\"`;\n")

    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])

    assert findings(report) == [("DBS302", "src/costs.ts", 3)]
    assert dict(report.findings[0].context)["PostgreSQL"].startswith("42703")


def test_a_function_argument_hole_is_a_value(tmp_path: Path) -> None:
    """`lower(${email})`, `hashtext(${id})`, `AT TIME ZONE ${tz}` send a parameter: the
    statement is validated, with PostgreSQL's agreement (inbox-zero, papermark, AFFiNE and
    formbricks had 11 such statements left unchecked as DBS304 notes), and so does a
    function's argument after `ORDER BY` (hoppscotch's `ORDER BY similarity(title, ${q})`:
    2 more). What is not flagged prepares (`strpos(text, unknown)`)."""
    folder = tmp_path / "prisma" / "migrations" / "20240101000000_init"
    folder.mkdir(parents=True)
    (folder / "migration.sql").write_text(
        'CREATE TABLE "User" ("id" TEXT PRIMARY KEY, "email" TEXT, "createdAt" TIMESTAMP);\n')
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "users.ts").write_text(
        "export const byEmail = (prisma, email) => prisma.$queryRaw`\n"
        '  SELECT "id" FROM "User" WHERE lower("emial") = lower(${email})`;\n'
        "export const ok = (prisma, email) => prisma.$queryRaw`\n"
        '  SELECT "id" FROM "User" WHERE lower("email") = lower(${email})`;\n'
        "export const byDay = (prisma, tz) => prisma.$queryRaw`\n"
        '  SELECT date_trunc(\'day\', "created" AT TIME ZONE ${tz}) AS day FROM "User" WHERE id = ${1}`;\n'
        "export const search = (prisma, q) => prisma.$queryRaw`\n"
        '  SELECT "id" FROM "User" ORDER BY strpos(emial, ${q}) LIMIT ${10}`;\n'
        "export const searchOk = (prisma, q) => prisma.$queryRaw`\n"
        '  SELECT lower(email) FROM "User" GROUP BY lower(email) ORDER BY strpos(lower(email), ${q})`;\n')

    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])

    assert findings(report) == [("DBS302", "src/users.ts", 2), ("DBS302", "src/users.ts", 6),
                                ("DBS302", "src/users.ts", 8)]
    assert all(dict(f.context)["PostgreSQL"].startswith("42703") for f in report.findings)

def test_an_umzug_down_folder_is_not_applied(tmp_path: Path) -> None:
    """@slonik/migrator (umzug) runs `migrations/x.sql` up and keeps its down in
    `migrations/down/x.sql`: applied as ups, the downs dropped every table (doot's 11
    false DBS301)."""
    folder = tmp_path / "migrations"
    (folder / "down").mkdir(parents=True)
    (folder / "2022.02.14T00.19.46.users.sql").write_text("CREATE TABLE users (id int);\n")
    (folder / "down" / "2022.02.14T00.19.46.users.sql").write_text("DROP TABLE users;\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "users.ts").write_text(
        "import { sql } from 'slonik';\n"
        "export const ids = (pool) => pool.any(sql`SELECT id FROM users`);\n"
        "export const bad = (pool) => pool.any(sql`SELECT nick FROM users`);\n")
    settings = load_settings(tmp_path, {"sql-migrations": folder}, environ={})

    report = commands.validate(settings, [tmp_path / "app"])

    assert findings(report) == [("DBS302", "app/users.ts", 3)]
    assert dict(report.findings[0].context)["PostgreSQL"].startswith("42703")


def test_postgrators_undo_files_are_not_applied(tmp_path: Path) -> None:
    """postgrator runs `<version>.do.<name>.sql` up and keeps its down in the version's
    `.undo.` file beside it: applied in name order, each undo ran right after its do and
    dropped what it made (Omnivore's `0001.undo` dropped its `omnivore` schema, and 902 of
    its statements failed after it)."""
    folder = tmp_path / "packages" / "db" / "migrations"
    folder.mkdir(parents=True)
    for version, table in (("0001", "users"), ("0002", "posts")):
        (folder / f"{version}.do.{table}.sql").write_text(
            f"CREATE TABLE {table} (id int);\nALTER TABLE {table} ADD COLUMN title text;\n")
        (folder / f"{version}.undo.{table}.sql").write_text(f"DROP TABLE {table};\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "feed.ts").write_text(
        "export const feed = (db) => db.query('SELECT p.title FROM posts p JOIN users u ON u.id = p.id');\n"
        "export const bad = (db) => db.query('SELECT nick FROM users');\n")
    settings = load_settings(tmp_path, {"sql-migrations": folder}, environ={})

    report = commands.validate(settings, [tmp_path / "app"])

    assert findings(report) == [("DBS302", "app/feed.ts", 2)]
    assert dict(report.findings[0].context)["PostgreSQL"].startswith("42703")
    read = {m.path.rsplit("/", 1)[-1]: m for m in sql_migrations([folder], root=tmp_path)}
    assert sorted(read) == ["0001.do.users.sql", "0002.do.posts.sql"]
    # postgrator sends each file as one query: one implicit transaction
    assert all(m.starts_in_transaction for m in read.values())


def _drizzle_folder(folder: Path, *, journal: bool = True) -> None:
    (folder / "meta").mkdir(parents=True)
    (folder / "0000_init.sql").write_text(
        'CREATE TABLE "notes" ("id" bigint PRIMARY KEY, "body" text);\n'
        "--> statement-breakpoint\n"
        'CREATE INDEX "notes_body" ON "notes" ("body");\n')
    if journal:
        (folder / "meta" / "_journal.json").write_text('{"dialect": "postgresql", "entries": []}\n')


@pytest.mark.parametrize("where", ["drizzle", "packages/db/drizzle"])
def test_drizzle_kits_folder_is_found_by_its_journal(tmp_path: Path, where: str) -> None:
    """drizzle-kit's default output folder, at the root or in a workspace folder, is the
    schema without `--sql-migrations` when it has drizzle-kit's `meta/_journal.json`."""
    _drizzle_folder(tmp_path / where)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "notes.ts").write_text(
        "export const all = (db) => db.execute(sql`SELECT id, title FROM notes`)\n")
    settings = load_settings(tmp_path, environ={})

    report = commands.validate(settings, [tmp_path / "src"])

    assert findings(report) == [("DBS302", "src/notes.ts", 1)]
    assert report.summary["schema_source"].endswith(f"{where} (embedded PostgreSQL)")


# WunderGraph cosmo's `0125_acoustic_jackpot.sql`, cut down: an INSERT with no `;` before
# drizzle-kit's breakpoint, then an ALTER TABLE.
_UNTERMINATED = (
    'INSERT INTO "invitation_groups" SELECT "id", "group_id" FROM "invitations"\n'
    "\n--> statement-breakpoint\n"
    'ALTER TABLE "invitations" DROP COLUMN "group_id";\n')


def test_postgresql_refuses_what_precedes_a_breakpoint_joined_to_what_follows(
        database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute('CREATE TABLE "invitations" ("id" bigint, "group_id" bigint);'
                     'CREATE TABLE "invitation_groups" ("invitation_id" bigint, "group_id" bigint)')
        with pytest.raises(psycopg.errors.SyntaxError):
            conn.execute(_UNTERMINATED.replace("--> statement-breakpoint", ""))
        for piece in _UNTERMINATED.split("--> statement-breakpoint"):
            conn.execute(piece)


def test_a_drizzle_breakpoint_ends_a_statement(tmp_path: Path) -> None:
    """drizzle-orm's migrate() sends the pieces of a file between its `--> statement-
    breakpoint`s one by one, so a statement ends there without its `;` (drizzle-orm 0.45.4
    migrates cosmo's 148 files): read as one statement with the next, both were lost to a
    DBS006 note (42601) and the dropped column still seemed there."""
    folder = tmp_path / "drizzle"
    (folder / "meta").mkdir(parents=True)
    (folder / "0000_init.sql").write_text(
        'CREATE TABLE "invitations" ("id" bigint PRIMARY KEY, "group_id" bigint);\n'
        "--> statement-breakpoint\n"
        'CREATE TABLE "invitation_groups" ("invitation_id" bigint, "group_id" bigint);\n')
    (folder / "0001_groups.sql").write_text(_UNTERMINATED)
    (folder / "meta" / "_journal.json").write_text(json.dumps({"dialect": "postgresql", "entries": [
        {"idx": 0, "tag": "0000_init"}, {"idx": 1, "tag": "0001_groups"}]}))
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "invitations.ts").write_text(
        "export const groups = (db) => db.execute(sql`SELECT group_id FROM invitation_groups`)\n"
        "export const old = (db) => db.execute(sql`SELECT group_id FROM invitations`)\n")

    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])

    assert findings(report) == [("DBS302", "src/invitations.ts", 2)]


def _drizzle_1_migration(folder: Path, name: str, sql: str, dialect: str = "postgres") -> None:
    (folder / name).mkdir(parents=True)
    (folder / name / "migration.sql").write_text(sql)
    (folder / name / "snapshot.json").write_text(json.dumps({"version": "8", "dialect": dialect}))


def test_drizzle_kit_1_folder_is_found_by_its_config_in_a_nested_workspace(
        tmp_path: Path) -> None:
    """drizzle-kit 1.0 writes `<timestamp>_<name>/migration.sql` beside a `snapshot.json`,
    no journal (Latitude's `packages/platform/db-postgres/drizzle`, its `drizzle.config.ts`
    beside it in a `packages/**` workspace): found by the config's `out` (exit 2 before),
    its breakpoints end statements, and the throwaway has drizzle-orm 1.0's history table,
    `name` and `applied_at` beside 0.x's columns (not prisma's `_prisma_migrations`)."""
    package = tmp_path / "packages" / "platform" / "db-postgres"
    package.mkdir(parents=True)
    (package / "drizzle.config.ts").write_text(
        'import { defineConfig } from "drizzle-kit"\n'
        'export default defineConfig({ dialect: "postgresql", schema: "./src/schema/*.ts", '
        'out: "./drizzle" })\n')
    _drizzle_1_migration(package / "drizzle", "20260303113537_create-schema",
                         'CREATE TABLE "invitations" ("id" bigint PRIMARY KEY, "group_id" bigint);\n'
                         "--> statement-breakpoint\n"
                         'CREATE TABLE "invitation_groups" ("invitation_id" bigint, "group_id" bigint);\n')
    _drizzle_1_migration(package / "drizzle", "20260326164622_groups", _UNTERMINATED)
    # another database's drizzle-kit 1.0 folder is not taken (one folder found, not two)
    other = tmp_path / "packages" / "platform" / "db-sqlite"
    other.mkdir(parents=True)
    (other / "drizzle.config.ts").write_text('export default { dialect: "sqlite" }\n')
    _drizzle_1_migration(other / "drizzle", "20260303113537_init",
                         "CREATE TABLE `notes` (`id` integer);\n", dialect="sqlite")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "invitations.ts").write_text(
        "export const groups = (db) => db.execute(sql`SELECT group_id FROM invitation_groups`)\n"
        "export const old = (db) => db.execute(sql`SELECT group_id FROM invitations`)\n"
        "export const runs = (db) => db.execute(sql`SELECT name, applied_at FROM "
        "drizzle.__drizzle_migrations`)\n")

    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])

    assert findings(report) == [("DBS302", "src/invitations.ts", 2)]
    assert report.summary["schema_source"].endswith(
        "packages/platform/db-postgres/drizzle (embedded PostgreSQL)")


def test_a_drizzle_folder_runs_none_of_its_subfolders(tmp_path: Path) -> None:
    """drizzle-orm runs the files its journal names in the folder itself: vogelibizz's
    SQLite folder `src/db/migrations/d1` (a journal of its own) inside its PostgreSQL one
    is not run on PostgreSQL, and ordering the two journals' files no longer fails
    (`'<' not supported between instances of 'tuple' and 'int'`: exit 2)."""
    folder = tmp_path / "drizzle"
    _drizzle_folder(folder)
    (folder / "meta" / "_journal.json").write_text(json.dumps({"dialect": "pg", "entries": [
        {"idx": 0, "tag": "0000_init"}]}))
    (folder / "d1" / "meta").mkdir(parents=True)
    (folder / "d1" / "0000_third_bullseye.sql").write_text(
        "CREATE TABLE `notes_d1` (`id` integer PRIMARY KEY AUTOINCREMENT);\n")
    (folder / "d1" / "meta" / "_journal.json").write_text(json.dumps({
        "dialect": "sqlite", "entries": [{"idx": 0, "tag": "0000_third_bullseye"}]}))
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "notes.ts").write_text(
        "export const all = (db) => db.execute(sql`SELECT id, body FROM notes`)\n")

    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])

    assert findings(report) == []
    assert report.summary["schema_source"].endswith("drizzle (embedded PostgreSQL)")


@pytest.mark.parametrize("where", ["internal-packages/db/migrate",
                                   "apps/api/src/db/out", "prisma/postgres/migrations"])
def test_a_folder_its_runner_marks_is_found_whatever_its_name(tmp_path: Path,
                                                            where: str) -> None:
    """Giselle's drizzle-kit output `internal-packages/db/migrate`, teable's prisma
    folder `prisma/postgres/migrations`: named by no default, found by the mark the runner
    leaves there, for PostgreSQL (exit 2 before). The same runners' folders for other
    databases (teable's `prisma/sqlite/migrations`, a MySQL drizzle journal) and those of
    examples are not taken."""
    folder = tmp_path / where
    if where.startswith("prisma"):
        (folder / "0001_init").mkdir(parents=True)
        (folder / "0001_init" / "migration.sql").write_text(
            'CREATE TABLE "notes" ("id" bigint PRIMARY KEY, "body" text);\n')
        (folder / "migration_lock.toml").write_text('provider = "postgresql"\n')
        other = tmp_path / "prisma" / "sqlite" / "migrations"
        (other / "0001_init").mkdir(parents=True)
        (other / "0001_init" / "migration.sql").write_text(
            'CREATE TABLE "notes" ("id" INTEGER PRIMARY KEY, "title" TEXT);\n')
        (other / "migration_lock.toml").write_text('provider = "sqlite"\n')
    else:
        _drizzle_folder(folder)
        other = tmp_path / "tools" / "mysql" / "out"
        _drizzle_folder(other)
        (other / "meta" / "_journal.json").write_text('{"dialect": "mysql", "entries": []}\n')
    _drizzle_folder(tmp_path / "examples" / "demo" / "out")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "notes.ts").write_text(
        "export const all = (db) => db.execute(sql`SELECT id, title FROM notes`)\n")

    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])

    assert findings(report) == [("DBS302", "src/notes.ts", 1)]
    assert report.summary["schema_source"].endswith(f"{where} (embedded PostgreSQL)")


_SQLX_POSTGRES = '[package]\nname = "api"\n\n[dependencies]\nsqlx = { version = "0.8", ' \
    'features = ["runtime-tokio", "postgres"] }\n'
_SQLX_SQLITE = _SQLX_POSTGRES.replace('"postgres"', '"sqlite"')


@pytest.mark.parametrize("layout", ["diesel at the root", "diesel's configured dir",
                                    "sqlx crate"])
def test_a_rust_crates_migrations_are_found_beside_its_manifest(tmp_path: Path,
                                                                layout: str) -> None:
    """diesel keeps its migrations beside `diesel.toml` (`migrations`, or what its
    `[migrations_directory] dir` says), sqlx beside the `Cargo.toml` of a crate depending on
    it (`sqlx::migrate!()`): found without `--sql-migrations` (exit 2 before), a crate whose
    sqlx is SQLite's not taken."""
    crate, folder = {
        "diesel at the root": (tmp_path, "migrations"),
        "diesel's configured dir": (tmp_path / "crates" / "db", "sql/schema"),
        "sqlx crate": (tmp_path / "crates" / "server", "migrations"),
    }[layout]
    crate.mkdir(parents=True, exist_ok=True)
    if layout.startswith("diesel"):
        (crate / "diesel.toml").write_text(
            "[print_schema]\nfile = \"src/schema.rs\"\n"
            + ("[migrations_directory]\ndir = \"sql/schema\"\n" if folder != "migrations"
               else ""))
        migration = crate / folder / "2024-01-01-000000_notes"
        migration.mkdir(parents=True)
        (migration / "up.sql").write_text("CREATE TABLE notes (id bigint, body text);\n")
        (migration / "down.sql").write_text("DROP TABLE notes;\n")
    else:
        (crate / "Cargo.toml").write_text(_SQLX_POSTGRES)
        (crate / folder).mkdir()
        (crate / folder / "20240101000000_notes.sql").write_text(
            "CREATE TABLE notes (id bigint, body text);\n")
        other = tmp_path / "crates" / "cli"
        (other / "migrations").mkdir(parents=True)
        (other / "Cargo.toml").write_text(_SQLX_SQLITE)
        (other / "migrations" / "20240101000000_notes.sql").write_text(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT);\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "notes.sql").write_text("SELECT id, title FROM notes;\n")
    # The runner's history table is there, as the runner makes it: the folder is its.
    history = "_sqlx_migrations" if layout == "sqlx crate" else "__diesel_schema_migrations"
    (tmp_path / "src" / "versions.sql").write_text(f"SELECT version FROM {history};\n")

    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])

    assert findings(report) == [("DBS302", "src/notes.sql", 1)]
    shown = (crate / folder).relative_to(tmp_path).as_posix()
    assert report.summary["schema_source"].endswith(f"{shown} (embedded PostgreSQL)")


def test_a_drizzle_folder_without_the_journal_is_not_taken(tmp_path: Path) -> None:
    # drizzle-orm projects often keep their TypeScript schema (and seed SQL) in `drizzle/`.
    _drizzle_folder(tmp_path / "drizzle", journal=False)
    (tmp_path / "q.sql").write_text("SELECT 1;\n")
    result = dbsafe("validate", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert "alembic config not found" in result.stderr


def test_copy_from_stdin_in_a_migration_runs_without_its_rows(tmp_path: Path) -> None:
    # openFEC's Flyway folder loads reference data with pg_dump's `COPY ... FROM stdin;`
    # and its rows inline (`V0039__states_and_zips_data.sql`): sent as a plain statement,
    # the COPY left the connection waiting for rows, and the run ended in "another command
    # is already in progress" (exit 2). It runs as a COPY, without the rows: they are no schema.
    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    (folder / "V1__states.sql").write_text(
        "CREATE TABLE states (name text, code text);\n"
        "COPY states (name, code) FROM stdin;\n"
        "Alabama\tAL\nAlaska\tAK\n\\.\n"
        "COPY nowhere (name) FROM stdin;\nx\n\\.\n"
        "COPY states TO stdout;\n"
        "ALTER TABLE states ADD COLUMN region text;\n")
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "states.sql").write_text("SELECT region, nosuch FROM states;\n")
    report = commands.validate(load_settings(tmp_path, {"cache": False}, environ={}),
                               [tmp_path / "src"])
    assert [(f.code, f.location.line, dict(f.context).get("PostgreSQL", "")[:5])
            for f in report.findings] == [("DBS302", 1, "42703"), ("DBS006", 6, "42P01")]


def test_flyway_restores_the_search_path_after_each_migration(tmp_path: Path) -> None:
    # Flyway sets the connection's search_path (and role) back after each migration, so a
    # pg_dump-made file's `SET search_path = disclosure, pg_catalog;` ends with that file
    # (openFEC's V0003__...; its V0068 then finds pg_trgm's `gin_trgm_ops` in public).
    # Applied in one session, the next file made its tables in `disclosure`, and the
    # application's `SELECT ... FROM plain` was a false DBS301.
    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    (folder / "V1__disclosure.sql").write_text(
        "CREATE SCHEMA disclosure;\n"
        "SET search_path = disclosure, pg_catalog;\n"
        "CREATE TABLE filings (id int);\n")
    (folder / "V2__plain.sql").write_text("CREATE TABLE plain (id int);\n")
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "q.sql").write_text(
        "SELECT id FROM plain;\nSELECT id FROM disclosure.filings;\nSELECT nosuch FROM plain;\n")
    report = commands.validate(load_settings(tmp_path, {"cache": False}, environ={}),
                               [tmp_path / "src"])
    assert [(f.code, f.location.line, f.subject) for f in report.findings] == [
        ("DBS302", 3, "public.plain.nosuch")]


# Each runner's folder: its migrations (and down migrations); `seed.sql` goes beside them.
SKIPPING_RUNNERS = {
    "golang-migrate": ("db/migrations", {
        "1_accounts.up.sql": "CREATE TABLE accounts (id int, name text);\n",
        "1_accounts.down.sql": "DROP TABLE accounts;\n",
        "2_email.up.sql": "ALTER TABLE accounts ADD COLUMN email text;\n",
        "2_email.down.sql": "ALTER TABLE accounts DROP COLUMN email;\n"}),
    "goose": ("db/migrations", {
        "00001_accounts.sql": "-- +goose Up\nCREATE TABLE accounts (id int, name text);\n"
                              "-- +goose Down\nDROP TABLE accounts;\n",
        "00002_email.sql": "-- +goose Up\nALTER TABLE accounts ADD COLUMN email text;\n"}),
    "sqlx": ("migrations", {
        "1_accounts.sql": "CREATE TABLE accounts (id int, name text);\n",
        "2_email.sql": "ALTER TABLE accounts ADD COLUMN email text;\n"}),
    "flyway": ("db/migrations", {
        "V1__accounts.sql": "CREATE TABLE accounts (id int, name text);\n",
        "V2__email.sql": "ALTER TABLE accounts ADD COLUMN email text;\n"}),
}


@pytest.mark.parametrize("runner", list(SKIPPING_RUNNERS))
def test_a_file_its_runner_does_not_name_as_a_migration_is_not_run(
        tmp_path: Path, runner: str) -> None:
    # golang-migrate (^([0-9]+)_(.*)\.(down|up)\.(.*)$), goose (a version before the first
    # `_`), sqlx (`<VERSION>_<DESCRIPTION>.sql`) and Flyway (its V/R files and callbacks; any
    # other file of its locations is ignored) skip seed.sql: it ran last in the build, its
    # INSERT failing (42703, a DBS006 note) made `accounts` unknown, hiding the real DBS302,
    # and its table was made, so a query reading it was taken as checked.
    where, files = SKIPPING_RUNNERS[runner]
    folder = tmp_path / where
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    (folder / "seed.sql").write_text("INSERT INTO accounts (id, nme) VALUES (1, 'a');\n"
                                     "CREATE TABLE seeded (x int);\n")
    if runner == "sqlx":
        (tmp_path / "Cargo.toml").write_text(
            '[package]\nname = "app"\n\n[dependencies]\n'
            'sqlx = { version = "0.8", features = ["postgres"] }\n')
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "q.sql").write_text(
        "SELECT email FROM accounts;\nSELECT nosuch FROM accounts;\nSELECT x FROM seeded;\n")
    report = commands.validate(load_settings(tmp_path, {"cache": False}, environ={}),
                               [tmp_path / "src"])
    assert [(f.code, f.location.path, f.location.line) for f in report.findings] == [
        ("DBS302", "src/q.sql", 2)]
    # seed.sql may have been run by hand: what it makes is unknown, never reported missing
    assert report.summary["statements_not_analysed"] == 1


PGMQ_QUERIES_SQL = """select msg_id, message from pgmq.read('emails', 30, 10);
select msg_id, read_ct, enqueued_at, message->>'to' from pgmq.q_emails where vt <= now();
select msg_id, mesage from pgmq.q_emails;
select msg_id, archived_at, headers from pgmq.a_emails;
select queue_length, oldest_msg_age_sec from pgmq.metrics('emails');
select count(*) from pgmq.q_made_at_run_time;
"""
PGMQ_APP_TS = """import postgres from 'postgres'
const sql = postgres(process.env.DATABASE_URL!)
export async function enqueue(message: object) {
  await sql`select pgmq.send('emails', ${message})`
  await sql`select pgmq.archive('emails', ${1}::bigint), pgmq.delete('emails', ${2}::bigint)`
  return sql`select msg_id, enqueued_at, vt from pgmq.q_emails order by msg_id limit 1`
}
"""


def test_a_supabase_queue_made_by_pgmq_is_checked(tmp_path: Path) -> None:
    """Supabase Queues (pgflow's migrations, the dashboard's): `create extension pgmq` failed
    on the throwaway server (0A000) and everything after it named pgmq, so no queue was
    checked. dbsafe's stand-in is pgmq's own script: the queue tables `pgmq.create` makes
    are read with their columns; a queue made at run time (not by the migrations) is
    unknown, never missing."""
    root = make_project(tmp_path, {
        "20240101000000_queues.sql":
            "create schema if not exists pgmq;\n"
            "create extension if not exists pgmq with schema pgmq;\n"
            "select pgmq.create('emails');\n"
            "create function public.enqueue_email(payload jsonb) returns setof bigint\n"
            "language sql as $$ select * from pgmq.send('emails', payload) $$;\n"
            "create view public.email_backlog as select msg_id, read_ct, headers\n"
            "from pgmq.q_emails;\n"})
    (root / "src" / "queries.sql").write_text(PGMQ_QUERIES_SQL)
    (root / "src" / "app.ts").write_text(PGMQ_APP_TS)

    report = commands.validate(load_settings(root, environ={}), [root / "src"])

    assert [(f.code, f.location.path, f.location.line, f.message) for f in report.findings
            ] == [("DBS302", "src/queries.sql", 3, "`q_emails` has no column `mesage`")]


@pytest.mark.skipif(bool(os.environ.get("DBSAFE_TEST_DATABASE_URL")),
                    reason="pgmq is dbsafe's stand-in on its throwaway servers")
def test_diff_of_a_folder_making_a_queue_and_a_database_leaves_pgmq_out(
        tmp_path: Path, postgresql, database_url: str) -> None:
    """The real pgmq makes its queue tables its members, which dbsafe does not read: a
    database with the queue shows a `pgmq` schema without them. The folder's stand-in has
    them, and that is no difference."""
    root = make_project(tmp_path, {"1_init.sql": "create extension pgmq;\n"
                                            "select pgmq.create('emails');\n"
                                            "create table public.t (a int);\n"})
    # What the real pgmq 1.5.1 leaves in a database: the queue's tables are its members.
    postgresql.execute("create extension pgmq; comment on schema pgmq is null; "
                       "select pgmq.create('emails'); "
                       "alter extension pgmq add table pgmq.q_emails; "
                       "alter extension pgmq add sequence pgmq.q_emails_msg_id_seq; "
                       "alter extension pgmq add table pgmq.a_emails; "
                       "create table public.t (a bigint)")
    postgresql.commit()

    result = dbsafe("diff", "--format", "json", "supabase/migrations", database_url,
                    cwd=root)

    assert result.returncode == 1, result.stderr
    subjects = [f["subject"] for f in json.loads(result.stdout)["findings"]]
    assert "public.t.a" in subjects
    assert not [s for s in subjects if s.startswith("pgmq")]
    assert "pgmq" in result.stderr.split("not compared: schemas ", 1)[1].split(", which")[0]


def test_a_queue_of_pgmq_1_4_4_as_supabases_dashboard_wrote_it_is_checked(
        tmp_path: Path) -> None:
    """Supabase's dashboard and `supabase db diff` pinned the version it shipped; 1.4.4's
    queue tables have no `headers` (1.5.0 added it), so reading it is a real bug."""
    root = make_project(tmp_path, {
        "20250101000000_enable_queues.sql":
            'create schema if not exists "pgmq";\n'
            'create extension if not exists "pgmq" with schema "pgmq" version \'1.4.4\';\n'
            "grant select on table pgmq.meta to service_role;\n"
            "select pgmq.create('emails');\n"
            "select pgmq.create('scratch');\n"
            "select pgmq.drop_queue('scratch');\n"
            "select pgmq.detach_archive('emails');\n"})
    (root / "src" / "app.ts").unlink()
    (root / "src" / "queries.sql").write_text(
        "select msg_id, message, vt from pgmq.read('emails', 30, 1);\n"
        "select msg_id, message from pgmq.q_emails;\n"
        "select msg_id, headers from pgmq.q_emails;\n")

    report = commands.validate(load_settings(root, environ={}), [root / "src"])

    assert [(f.code, f.location.line, f.message) for f in report.findings] == [
        ("DBS302", 3, "`q_emails` has no column `headers`")]


DECLARED = {
    "types.sql": "create type public.status as enum ('open', 'done');\n",
    "tables/b_tasks.sql": "create table public.tasks (id bigint primary key, project_id bigint "
                          "references public.projects (id), state public.status);\n",
    "tables/a_projects.sql": "create table public.projects (id bigint primary key, owner uuid "
                             "references auth.users (id), name text);\n",
    "policies.sql": "alter table public.tasks enable row level security;\n"
                    "create policy own on public.tasks using (exists (select 1 from "
                    "public.projects p where p.id = project_id and p.owner = auth.uid()));\n",
}
DECLARED_TS = """import { createClient } from '@supabase/supabase-js'
const supabase = createClient('u', 'k')
export async function load() {
  await supabase.from('tasks').select('id, state, projects(name, title)')
}
"""


def make_declared(root: Path, schema_paths: str | None) -> Path:
    for name, text in DECLARED.items():
        (root / "supabase" / "schemas" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "supabase" / "schemas" / name).write_text(text)
    if schema_paths is not None:
        (root / "supabase" / "config.toml").write_text(
            f'project_id = "x"\n[db.migrations]\nschema_paths = {schema_paths}\n')
    (root / "src").mkdir()
    (root / "src" / "app.ts").write_text(DECLARED_TS)
    return root


def test_supabases_declarative_schema_is_the_schema_of_a_project_without_migrations(
        tmp_path: Path) -> None:
    """A new supabase project declares its schema in supabase/schemas and has no migrations
    yet (w3labkr's ended in exit 2): its files run as supabase's CLI runs them, in the
    order config.toml's schema_paths give (types, then tables/*, then the rest)."""
    root = make_declared(tmp_path / "p", '["./schemas/types.sql", "./schemas/tables/*.sql", '
                                         '"./schemas/*.sql"]')
    report = commands.validate(load_settings(root, environ={}), [root / "src"])
    assert findings(report) == [("DBS302", "src/app.ts", 4)]
    assert report.summary["schema_source"].startswith("declarative schema ")

    # Without schema_paths, by name as a walk finds them: policies.sql before the tables,
    # tables/b_tasks.sql before types.sql, whose type it uses (and `tasks` is then unknown).
    (root / "supabase" / "config.toml").unlink()
    report = commands.validate(load_settings(root, environ={}), [root / "src"])
    assert [(code, path) for code, path, _ in findings(report)] == [
        ("DBS006", "supabase/schemas/policies.sql"), ("DBS006", "supabase/schemas/policies.sql"),
        ("DBS006", "supabase/schemas/tables/b_tasks.sql")]


def test_supabase_migrations_are_the_schema_beside_a_declarative_one(tmp_path: Path) -> None:
    # The declared schema is what the next migration will make; production is what the
    # migrations made.
    root = make_declared(tmp_path / "p", None)
    (root / "supabase" / "migrations").mkdir()
    (root / "supabase" / "migrations" / "20240101000000_init.sql").write_text(
        "create table public.tasks (id bigint primary key, state text);\n")
    report = commands.validate(load_settings(root, environ={}), [root / "src"])
    assert findings(report) == [("DBS305", "src/app.ts", 4)]  # no projects to embed yet


def test_lint_leaves_a_declarative_schema_alone_unless_named(tmp_path: Path) -> None:
    root = make_declared(tmp_path / "p", None)
    found = dbsafe("lint", cwd=root)
    assert found.returncode == 2, found.stdout
    assert "supabase/schemas is supabase's declarative schema" in found.stderr
    assert "Traceback" not in found.stderr
    named = dbsafe("lint", "supabase/schemas", cwd=root)
    assert named.returncode in (0, 1), named.stderr


_PLANNED = "2024-01-01T00:00:00Z Me <me@example.com>"


def _sqitch_project(folder: Path, conf: str = "[core]\n\tengine = pg\n") -> None:
    for name, text in {
            "sqitch.conf": conf,
            "sqitch.plan": f"%project=p\n\nnotes {_PLANNED}\n",
            "deploy/notes.sql": "BEGIN;\nCREATE TABLE notes (id bigint, body text);\nCOMMIT;\n",
            "revert/notes.sql": "BEGIN;\nDROP TABLE notes;\nCOMMIT;\n",
            "verify/notes.sql": "SELECT id, body FROM notes WHERE false;\n"}.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


@pytest.mark.parametrize("where", [".", "pgsql"])
def test_a_sqitch_project_is_found_by_its_sqitch_conf(tmp_path: Path, where: str) -> None:
    """A Sqitch project for PostgreSQL, at the root (a repository of the database alone,
    OpenFn's) or in a folder (BeeeOn's `pgsql`), is the schema without `--sql-migrations`
    (exit 2 before: no migrations found). Only its scripts' folders are migrations: the
    application's SQL beside them is checked. One for another engine is not taken."""
    _sqitch_project(tmp_path / where)
    _sqitch_project(tmp_path / "tools" / "mysql", "[core]\n\tengine = mysql\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "notes.sql").write_text("SELECT id, title FROM notes;\n")

    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path])

    assert findings(report) == [("DBS302", "src/notes.sql", 1)]
    assert report.summary["migration_files"] == 3 + 3  # the mysql project's too


def _flyway_project(root: Path, config: dict[str, str], migrations: dict[str, str],
                    queries: str) -> None:
    for name, text in {**config, **{f"sql/{n}": t for n, t in migrations.items()},
                       "pyproject.toml": "[tool.dbsafe]\nsql-migrations = \"sql\"\n",
                       "src/q.sql": queries}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_flyway_placeholders_and_schemas_of_its_flyway_conf_are_applied(
        tmp_path: Path, database_url: str) -> None:
    # Flyway replaces ${name} (case-insensitively) from flyway.placeholders.*, and its own
    # ${flyway:defaultSchema}/${flyway:filename}, comments and strings too, before running a
    # migration; told `schemas`, it makes them and runs each migration with the first on
    # the search_path. dbsafe ran the text as written: each `${...}` a syntax error (42601),
    # so users and events were never made (three DBS006 notes) and nothing was checked.
    _flyway_project(tmp_path, {"flyway.conf": (
        "# Flyway's command line\nflyway.url=jdbc:postgresql://db/prod\n"
        "flyway.locations=filesystem:sql\nflyway.schemas=app\n"
        "flyway.placeholders.audit_schema=audit\nflyway.placeholders.Retention=30\n")}, {
        "V1__init.sql": "-- ${flyway:filename} in ${flyway:defaultSchema}\n"
                        "CREATE SCHEMA ${audit_schema};\n"
                        "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n"
                        "CREATE TABLE ${AUDIT_SCHEMA}.events (user_id bigint, "
                        "kept interval DEFAULT '${retention} days');\n",
        "V2__name.sql": "ALTER TABLE ${flyway:defaultSchema}.users ADD COLUMN name text;\n"},
        "SELECT id, email, name FROM app.users;\nSELECT user_id, kept FROM audit.events;\n"
        "SELECT nosuch FROM audit.events;\n")
    report = commands.validate(load_settings(tmp_path, {"cache": False}, environ={}),
                               [tmp_path / "src"])
    assert [(f.code, f.location.line, f.subject, dict(f.context).get("PostgreSQL", "")[:5])
            for f in report.findings] == [("DBS302", 3, "audit.events.nosuch", "42703")]
    # What PostgreSQL makes of the files as Flyway sends them (filled in by hand).
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA app; SET search_path = app, public; CREATE SCHEMA audit;"
                     "CREATE TABLE users (id bigint PRIMARY KEY, email text);"
                     "CREATE TABLE audit.events (user_id bigint, kept interval "
                     "DEFAULT '30 days'); ALTER TABLE app.users ADD COLUMN name text;")
        conn.execute("SELECT id, email, name FROM app.users")
        with pytest.raises(psycopg.errors.UndefinedColumn):
            conn.execute("SELECT nosuch FROM audit.events")


def test_flyway_toml_environment_and_a_script_without_placeholder_replacement(
        tmp_path: Path) -> None:
    # flyway.toml: the environment [flyway] names overrides [flyway.placeholders] whole and
    # gives the schemas; a script's own .conf with placeholderReplacement=false runs as
    # written (its '${kept}' a string). dbsafe read none of it.
    _flyway_project(tmp_path, {"flyway.toml": (
        '[flyway]\nenvironment = "dev"\nlocations = ["filesystem:sql"]\n'
        '[flyway.placeholders]\nthings = "wrong"\n'
        '[environments.dev]\nschemas = ["app"]\n'
        '[environments.dev.flyway.placeholders]\nThings = "things"\n')}, {
        "V1__things.sql": "CREATE TABLE ${things} (id int);\n"
                          # Flyway's own: the role and database the throwaway server runs
                          # it as and in (a DBS006 note if either were not there)
                          "GRANT SELECT ON ${things} TO ${flyway:user};\n"
                          "COMMENT ON DATABASE ${flyway:database} IS '${flyway:timestamp}';\n",
        "V2__notes.sql": "CREATE TABLE notes (body text DEFAULT '${kept}');\n",
        "V2__notes.sql.conf": "placeholderReplacement=false\n"},
        "SELECT id FROM app.things;\nSELECT body FROM app.notes;\nSELECT id FROM app.wrong;\n")
    report = commands.validate(load_settings(tmp_path, {"cache": False}, environ={}),
                               [tmp_path / "src"])
    assert [(f.code, f.location.line) for f in report.findings] == [("DBS301", 3)]


def test_a_flyway_placeholder_without_a_value_is_an_error_naming_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Flyway fails such a migration ("No value provided for placeholder"): neither lint nor
    # validate can read it as it runs. A FLYWAY_PLACEHOLDERS_* variable gives the value, as
    # Flyway reads it.
    _flyway_project(tmp_path, {"flyway.conf": "flyway.placeholders.a=1\n"}, {
        "V1__t.sql": "CREATE TABLE t (id int);\nCREATE TABLE ${Owner_Schema}.u (id int);\n"},
        "SELECT id FROM t;\n")
    settings = load_settings(tmp_path, {"cache": False}, environ={})
    for run in (lambda: commands.lint(settings, [tmp_path / "sql"]),
                lambda: commands.validate(settings, [tmp_path / "src"])):
        with pytest.raises(DbsafeError, match=r"^sql/V1__t\.sql:2: no value for the Flyway "
                           r"placeholder \$\{Owner_Schema\}, so Flyway fails this migration .*"
                           r"FLYWAY_PLACEHOLDERS_OWNER_SCHEMA$"):
            run()
    monkeypatch.setenv("FLYWAY_PLACEHOLDERS_OWNER_SCHEMA", "public")
    assert commands.validate(settings, [tmp_path / "src"]).findings == ()


def test_a_flyway_placeholder_configured_elsewhere_is_run_as_written_with_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # No flyway.conf or flyway.toml: Flyway is configured elsewhere (Spring Boot's
    # spring.flyway.placeholders.appRole), where the value is. The text runs as written, as
    # before: here inside strings, which PostgreSQL runs (no role so named: nothing done).
    _flyway_project(tmp_path, {}, {
        "V1__audit.sql": "CREATE TABLE audit_entry (id int);\n"
                         "DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = "
                         "'${appRole}') THEN EXECUTE 'REVOKE UPDATE ON audit_entry FROM "
                         "${appRole}'; END IF; END $$;\n"},
        "SELECT id FROM audit_entry;\nSELECT nosuch FROM audit_entry;\n")
    report = commands.validate(load_settings(tmp_path, {"cache": False}, environ={}),
                               [tmp_path / "src"])
    assert [(f.code, f.location.line) for f in report.findings] == [("DBS302", 2)]
    assert "sql/V1__audit.sql: the Flyway placeholder ${appRole} has no value dbsafe knows" \
        in caplog.text and "FLYWAY_PLACEHOLDERS_APPROLE" in caplog.text


def test_a_flyway_conf_among_the_resources_with_its_own_prefix_and_environment(
        tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # abd-vro's db-init: flyway.conf in src/main/resources names the classpath location
    # `database/migrations` (and the container's /flyway/sql), `#[name]` placeholders whose
    # values, like its defaultSchema, are environment variables (`${FLYWAY_SCHEMA}`), set in
    # its docker-compose. Each `#[...]` was a syntax error (15 DBS006), and the tables were
    # made in public, where its own CI reads claims.bie_contention_event.
    resources = "src/main/resources"
    _flyway_project(tmp_path, {f"{resources}/flyway.conf": (
        "flyway.defaultSchema=${FLYWAY_SCHEMA}\nflyway.schemas=${FLYWAY_SCHEMA}\n"
        "flyway.locations=database/migrations,filesystem:/flyway/sql/migrations\n"
        "flyway.placeholders.username=${FLYWAY_PLACEHOLDERS_USERNAME}\n"
        "flyway.placeholderPrefix=#[\nflyway.placeholderSuffix=]\n")}, {},
        "SELECT id, claim FROM claims.tracked_claims;\nSELECT id FROM tracked_claims;\n")
    migrations = tmp_path / resources / "database" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "V1__init.sql").write_text(
        "CREATE TABLE tracked_claims (id int, claim text);\n"
        "COMMENT ON TABLE tracked_claims IS 'kept by #[username]';\n")
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.dbsafe]\nsql-migrations = "{resources}/database/migrations"\n')
    monkeypatch.setenv("FLYWAY_SCHEMA", "claims")
    monkeypatch.setenv("FLYWAY_PLACEHOLDERS_USERNAME", "vro_user")
    report = commands.validate(load_settings(tmp_path, {"cache": False}, environ={}),
                               [tmp_path / "src" / "q.sql"])
    assert [(f.code, f.location.line, dict(f.context).get("PostgreSQL", "")[:5])
            for f in report.findings] == [("DBS301", 2, "42P01")]
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA claims; SET search_path = claims, public;"
                     "CREATE TABLE tracked_claims (id int, claim text);"
                     "COMMENT ON TABLE tracked_claims IS 'kept by vro_user'; RESET search_path")
        conn.execute("SELECT id, claim FROM claims.tracked_claims")
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("SELECT id FROM tracked_claims")


# Flyway's files as its configuration names them (`sqlMigrationPrefix`,
# `sqlMigrationSuffixes`), in the order Flyway runs them: versions as numbers (1 < 1.1 < 2
# < 10), then the repeatable ones; a `.sql` file no prefix matches is none of its migrations.
CUSTOM_NAMES = {
    "Migration-1__orders.pgsql": "CREATE SCHEMA ${owner};\n"
                                 "CREATE TABLE ${owner}.orders (id int PRIMARY KEY);\n",
    "Migration-1.1__note.sql": "ALTER TABLE shop.orders ADD COLUMN note text;\n",
    "Migration-10__placed.pgsql": "ALTER TABLE shop.orders ADD COLUMN placed_at timestamptz;\n",
    "Migration-2__customer.PGSQL": "ALTER TABLE shop.orders ADD COLUMN customer text;\n",
    "views/R__order_notes.pgsql": "CREATE OR REPLACE VIEW shop.order_notes AS "
                                  "SELECT id, note, customer, placed_at FROM shop.orders;\n",
    "V1__old_name.sql": "DROP TABLE shop.orders;\n",
}


def test_flyway_s_own_names_from_its_configuration_are_its_migrations(
        tmp_path: Path, database_url: str) -> None:
    # dbsafe took V<version>__*.sql and R__*.sql for Flyway's, whatever its configuration
    # said: the .pgsql files were never read (their tables, and `shop`, unknown: nothing
    # checked), the repeatable view ran before the tables it reads (key of an R__ file) and
    # V1__old_name.sql, which Flyway skips, dropped the table.
    _flyway_project(tmp_path, {"flyway.conf": (
        "flyway.locations=filesystem:sql\nflyway.sqlMigrationPrefix=Migration-\n"
        "flyway.sqlMigrationSuffixes=.pgsql,.sql\nflyway.placeholders.owner=shop\n")},
        CUSTOM_NAMES, "SELECT note, customer, placed_at FROM shop.order_notes;\n"
                      "SELECT nosuch FROM shop.order_notes;\n")
    report = commands.validate(load_settings(tmp_path, {"cache": False}, environ={}),
                               [tmp_path / "src"])
    assert [(f.code, f.location.line, dict(f.context).get("PostgreSQL", "")[:5])
            for f in report.findings] == [("DBS302", 2, "42703")]
    assert report.summary["migration_files"] == 0
    # What PostgreSQL makes of them run in Flyway's order (`MigrationVersion`, then the
    # repeatable ones), the placeholder filled in by hand.
    with psycopg.connect(database_url, autocommit=True) as conn:
        for name in ("Migration-1__orders.pgsql", "Migration-1.1__note.sql",
                     "Migration-2__customer.PGSQL", "Migration-10__placed.pgsql",
                     "views/R__order_notes.pgsql"):
            conn.execute(CUSTOM_NAMES[name].replace("${owner}", "shop"))
        conn.execute("SELECT note, customer, placed_at FROM shop.order_notes")
        with pytest.raises(psycopg.errors.UndefinedColumn):
            conn.execute("SELECT nosuch FROM shop.order_notes")


def test_a_flyway_folder_of_pgsql_files_its_flyway_conf_names_is_found(
        tmp_path: Path, database_url: str) -> None:
    # flyway.conf's `locations` name database/schema and its `sqlMigrationSuffixes` .pgsql
    # alone: the folder, holding no .sql file, was no folder of migrations (validate, lint
    # and status exit 2: "alembic config not found ... nor a folder of SQL migrations").
    from dbsafe.sources import sql_migrations_folder

    files = {"V1__orders.pgsql": "CREATE TABLE orders (id int PRIMARY KEY);\n",
             "V2__note.pgsql": "ALTER TABLE orders ADD COLUMN note text;\n"}
    for name, text in {"flyway.conf": "flyway.locations=filesystem:database/schema\n"
                                      "flyway.sqlMigrationSuffixes=.pgsql\n",
                       **{f"database/schema/{n}": t for n, t in files.items()},
                       "src/q.sql": "SELECT id, note FROM orders;\nSELECT nosuch FROM orders;\n",
                       }.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    settings = load_settings(tmp_path, {"cache": False}, environ={})
    assert sql_migrations_folder(settings) == tmp_path / "database" / "schema"
    report = commands.validate(settings, [tmp_path / "src"])
    assert [(f.code, f.location.line, dict(f.context).get("PostgreSQL", "")[:5])
            for f in report.findings] == [("DBS302", 2, "42703")]
    with psycopg.connect(database_url, autocommit=True) as conn:
        for text in files.values():
            conn.execute(text)
        conn.execute("SELECT id, note FROM orders")
        with pytest.raises(psycopg.errors.UndefinedColumn):
            conn.execute("SELECT nosuch FROM orders")


MAVEN_POM = """<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <properties>
    <db.schema>shop</db.schema>
    <flyway.placeholders.auditSchema>audit</flyway.placeholders.auditSchema>
  </properties>
  <build>
    <plugins>
      <plugin>
        <groupId>org.flywaydb</groupId>
        <artifactId>flyway-maven-plugin</artifactId>
        <configuration>
          <url>jdbc:postgresql://localhost/shop</url>
          <schemas>
            <schema>${db.schema}</schema>
          </schemas>
          <locations>
            <location>filesystem:src/main/db</location>
          </locations>
          <placeholders>
            <auditSchema>not_this_one</auditSchema>
            <retention>30</retention>
          </placeholders>
        </configuration>
      </plugin>
    </plugins>
  </build>
</project>
"""


def test_flyway_s_maven_plugin_configuration_is_read_from_the_pom(
        tmp_path: Path, database_url: str) -> None:
    # `mvn flyway:migrate`: the flyway-maven-plugin's <configuration> in pom.xml (its
    # schemas, locations and placeholders; ${db.schema} a property of the project), the
    # project's flyway.* properties over it (AbstractFlywayMojo). dbsafe found no
    # migrations (src/main/db is no folder it looks for by name) and, told the folder, ran
    # each ${...} as written: a syntax error (42601), the tables in public.
    (tmp_path / "pom.xml").write_text(MAVEN_POM)
    folder = tmp_path / "src" / "main" / "db"
    folder.mkdir(parents=True)
    (folder / "V1__init.sql").write_text(
        "CREATE SCHEMA ${auditSchema};\n"
        "CREATE TABLE orders (id int PRIMARY KEY);\n"
        "CREATE TABLE ${auditSchema}.events (kept interval DEFAULT '${retention} days');\n")
    (tmp_path / "q.sql").write_text(
        "SELECT id FROM shop.orders;\nSELECT kept FROM audit.events;\n"
        "SELECT nosuch FROM shop.orders;\n")
    report = commands.validate(load_settings(tmp_path, {"cache": False}, environ={}),
                               [tmp_path / "q.sql"])
    assert [(f.code, f.location.line, dict(f.context).get("PostgreSQL", "")[:5])
            for f in report.findings] == [("DBS302", 3, "42703")]
    # As Flyway runs it: `shop` made and first on the search_path, the placeholders filled.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA shop; SET search_path = shop, public; CREATE SCHEMA audit;"
                     "CREATE TABLE orders (id int PRIMARY KEY);"
                     "CREATE TABLE audit.events (kept interval DEFAULT '30 days')")
        conn.execute("SELECT id FROM shop.orders; SELECT kept FROM audit.events")
        with pytest.raises(psycopg.errors.UndefinedColumn):
            conn.execute("SELECT nosuch FROM shop.orders")


@pytest.mark.parametrize("kind", ["yml", "properties"])
def test_spring_boot_s_flyway_settings_are_read_from_its_application_files(
        tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    # Most Flyway projects are Spring Boot applications: their src/main/resources/
    # application.yml (or .properties) gives spring.flyway.placeholders.*, default-schema
    # and schemas (relaxed binding, `${NAME:default}` from the environment), and their
    # migrations lie in classpath:db/migration. A profile's document is not the default's.
    # The ${...} were run as written (a syntax error: the tables never made, nothing checked).
    resources = tmp_path / "src" / "main" / "resources"
    config = {
        "yml": "spring:\n  datasource:\n    url: jdbc:postgresql://db/shop\n"
               "  flyway:\n    default-schema: shop\n    schemas: [shop, audit]\n"
               "    placeholders:\n      auditSchema: audit\n"
               "      owner: ${SHOP_OWNER:postgres}\n"
               "---\nspring:\n  config:\n    activate:\n      on-profile: test\n"
               "  flyway:\n    placeholders:\n      auditSchema: nope\n",
        "properties": "spring.datasource.url=jdbc:postgresql://db/shop\n"
                      "spring.flyway.defaultSchema=shop\nspring.flyway.schemas=shop,audit\n"
                      "spring.flyway.placeholders.auditSchema=audit\n"
                      "spring.flyway.placeholders.owner=${SHOP_OWNER:postgres}\n"}[kind]
    (resources / "db" / "migration").mkdir(parents=True)
    # A value whose variable this environment lacks, with no default, is not known.
    config += {"yml": "---\nspring:\n  flyway:\n    table: ${FLYWAY_TABLE_NOT_SET_HERE}\n",
               "properties": "spring.flyway.table=${FLYWAY_TABLE_NOT_SET_HERE}\n"}[kind]
    (resources / f"application.{kind}").write_text(config)
    (resources / "db" / "migration" / "V1__init.sql").write_text(
        "CREATE TABLE orders (id bigint PRIMARY KEY, total numeric);\n"
        "CREATE TABLE ${auditSchema}.events (order_id bigint);\n"
        "ALTER TABLE orders OWNER TO ${owner};\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "q.sql").write_text(
        "SELECT id, total FROM shop.orders;\nSELECT order_id FROM audit.events;\n"
        "SELECT nosuch FROM shop.orders;\n")
    monkeypatch.delenv("SHOP_OWNER", raising=False)
    from dbsafe.extract.flyway import flyway_config

    read = flyway_config(resources / "db" / "migration")
    assert (read.schema, read.schemas, read.table, read.placeholders) == (
        "shop", ("shop", "audit"), "flyway_schema_history",
        {"auditschema": "audit", "owner": "postgres"})
    report = commands.validate(load_settings(tmp_path, {"cache": False}, environ={}),
                               [tmp_path / "app"])
    assert [(f.code, f.location.line, f.subject, dict(f.context).get("PostgreSQL", "")[:5])
            for f in report.findings] == [("DBS302", 3, "shop.orders.nosuch", "42703")]
    # What PostgreSQL makes of the file as Flyway sends it (filled in by hand).
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA shop; CREATE SCHEMA audit; SET search_path = shop, public;"
                     "CREATE TABLE orders (id bigint PRIMARY KEY, total numeric);"
                     "CREATE TABLE audit.events (order_id bigint);")
        with pytest.raises(psycopg.errors.UndefinedColumn):
            conn.execute("SELECT nosuch FROM shop.orders")


def test_a_new_database_gets_flyway_s_newest_baseline_migration_and_the_files_after_it(
        tmp_path: Path) -> None:
    # On an empty history Flyway runs the newest baseline migration (B2), skips the
    # versioned files up to its version ("Below Baseline", "Baseline Ignored") and the
    # older B1, then runs V3 and the repeatable ones (MigrationInfoServiceImpl's
    # pendingBaseline). dbsafe knew V, R and U alone: it built the schema validate,
    # drift and `schema dump` read from V1, V2, V3 (users.id an integer).
    from dbsafe.sources import SqlFolder
    from tests.helpers import flyway_baseline_folder

    folder = flyway_baseline_folder(tmp_path / "db" / "migrations")
    settings = load_settings(tmp_path, {"cache": False}, environ={})
    with SqlFolder.of(folder, settings).migrated() as (url, failures):
        assert failures == ()
        with psycopg.connect(url) as conn:
            assert conn.execute(
                "SELECT c.relname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                "JOIN pg_class c ON c.oid = a.attrelid WHERE a.attname IN ('id', 'user_id') "
                "AND c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'v') "
                "ORDER BY 1, a.attnum"
            ).fetchall() == [("orders", "integer"), ("orders", "bigint"),
                             ("user_emails", "bigint"), ("users", "bigint")]
    snapshot = commands.schema_dump(settings)
    assert sorted((r.name, [c.type for c in r.columns if c.name == "id"])
                  for r in snapshot.relations) == [
        ("orders", ["integer"]), ("user_emails", ["bigint"]), ("users", ["bigint"])]


def test_a_cached_schema_is_keyed_by_how_dbsafe_picks_and_runs_the_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A fix of which files run (a `001_down__x.sql` left out, task 392) changes neither the
    # files nor dbsafe's version between releases: the schema cached before it was read with
    # the old answer. `_RUNS`, bumped with such a fix, keys both kinds of cached schema.
    from dbsafe import sources

    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_up__a.sql").write_text("CREATE TABLE a (id int);\n")
    (tmp_path / "alembic").mkdir()
    (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = alembic\n")
    settings = load_settings(tmp_path, {}, environ={})
    before = (sources.SqlFolder.of(folder, settings).cache_key(settings),
              sources._cache_key(settings, tmp_path / "alembic.ini"))
    monkeypatch.setattr(sources, "_RUNS", sources._RUNS + 1)
    after = (sources.SqlFolder.of(folder, settings).cache_key(settings),
             sources._cache_key(settings, tmp_path / "alembic.ini"))
    assert before[0] != after[0] and before[1] != after[1]


def test_a_materialized_view_whose_function_reads_unqualified_names_is_made(
        tmp_path: Path) -> None:
    """PostgreSQL 17+ fills a new materialized view with `search_path` set to `pg_catalog,
    pg_temp`: Stacker News' `CREATE MATERIALIZED VIEW reg_growth_hours AS SELECT
    (reg_growth(...)).* FROM ...`, whose plpgsql function reads `users` unqualified, failed
    there (42P01), as did its unique index and each `REFRESH`: 82 DBS006 notes, 31 views
    missing. On the PostgreSQL 16 it runs, the view is made: dbsafe makes it WITH NO DATA
    (its columns; rows are no schema), and a refresh, rows only, is no note."""
    folder = tmp_path / "prisma" / "migrations"
    (folder / "20240101000000_init").mkdir(parents=True)
    (folder / "20240101000000_init" / "migration.sql").write_text(
        'CREATE TABLE users (id serial PRIMARY KEY, created_at timestamp);\n'
        'CREATE FUNCTION reg_growth(ival interval) RETURNS TABLE (t timestamp, n bigint)\n'
        'LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN QUERY SELECT date_trunc(\'day\', created_at),\n'
        '    count(*) FROM users GROUP BY 1;\nEND;\n$$;\n'
        'CREATE MATERIALIZED VIEW reg_growth_days AS SELECT (reg_growth(\'1 day\')).*;\n'
        'CREATE UNIQUE INDEX reg_growth_days_t ON reg_growth_days (t);\n'
        'REFRESH MATERIALIZED VIEW reg_growth_days;\n')
    (folder / "migration_lock.toml").write_text('provider = "postgresql"\n')
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "growth.ts").write_text(
        "export const growth = (prisma) => prisma.$queryRaw`SELECT t, n FROM reg_growth_days`;\n"
        "export const typo = (prisma) => prisma.$queryRaw`SELECT t, m FROM reg_growth_days`;\n")

    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])

    assert findings(report) == [("DBS302", "src/growth.ts", 2)]
    assert dict(report.findings[0].context)["PostgreSQL"].startswith("42703")

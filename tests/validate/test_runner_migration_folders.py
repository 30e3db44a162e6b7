"""A folder of migrations is known by what its runner writes there, whatever it is named.

drizzle-kit's `out` folder can be any folder (Giselle's `db/migrate`): its journal,
`meta/_journal.json`, says so; prisma migrate leaves its `migration_lock.toml`. The folder
the schema is built from (`--sql-migrations DIR`) holds migrations too. Giselle's
`0062_migrate-team-plan.sql` updates `teams.type`, which a later migration drops: checked
as application SQL against today's schema it was a DBS302 on a file that never runs again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.core import ConfigError
from dbsafe.extract.migration import MigrationFolders

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

_DATA_MIGRATION = "UPDATE teams SET plan = 'pro' WHERE type = 'pro';\n"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _project(root: Path) -> Path:
    migrate = root / "db" / "migrate"
    _write(migrate / "0000_init.sql", "CREATE TABLE teams (id int, type text);\n")
    _write(migrate / "0001_plan.sql", "ALTER TABLE teams ADD COLUMN plan text;\n")
    _write(migrate / "0002_set_plan.sql", _DATA_MIGRATION)
    _write(migrate / "0003_drop_type.sql", "ALTER TABLE teams DROP COLUMN type;\n")
    _write(migrate / "meta" / "_journal.json", '{"version": "7", "dialect": "postgresql"}\n')
    _write(root / "pyproject.toml", "[tool.dbsafe]\nsql-migrations = 'db/migrate'\n")
    _write(root / "src" / "plan.ts",
           "export const q = sql`SELECT plan FROM teams WHERE nosuch = 1`;\n")
    return root


def _codes(report) -> list[tuple[str, str]]:
    return sorted((f.code, f.location.path) for f in report.findings)


def test_the_schemas_own_folder_holds_migrations(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "db" / "migrate" / "meta" / "_journal.json").unlink()  # only the setting names it

    report = commands.validate(load_settings(root, environ={}), [root])

    assert _codes(report) == [("DBS302", "src/plan.ts")]
    assert report.summary["migration_files"] == 4


def test_a_folder_drizzle_kit_journals_holds_migrations(tmp_path: Path) -> None:
    root = _project(tmp_path)
    # Another application's drizzle-kit output, beside the schema's folder.
    other = root / "apps" / "admin" / "sql"
    _write(other / "0000_x.sql", _DATA_MIGRATION)
    _write(other / "meta" / "_journal.json", "{}\n")

    report = commands.validate(load_settings(root, environ={}), [root])

    assert _codes(report) == [("DBS302", "src/plan.ts")]
    assert report.summary["migration_files"] == 5


def test_runner_marks_and_where_looking_stops(tmp_path: Path) -> None:
    _write(tmp_path / "prisma" / "schema" / "migration_lock.toml", "provider = 'postgresql'\n")
    _write(tmp_path / "out" / "meta" / "_journal.json", "{}\n")
    folders = MigrationFolders(stop=tmp_path)

    assert folders.holds(str(tmp_path / "prisma" / "schema" / "20240101_x" / "migration.sql"))
    assert folders.holds(str(tmp_path / "out" / "0000_x.sql"))
    assert not folders.holds(str(tmp_path / "prisma" / "seed.ts"))
    assert not folders.holds(str(tmp_path / "src" / "meta" / "a.ts"))


def test_folders_above_the_project_root_are_not_looked_at(tmp_path: Path) -> None:
    """A checkout inside some folder a runner marked is not a migration itself."""
    (tmp_path / "migration_lock.toml").write_text("", encoding="utf-8")
    app = tmp_path / "app"

    assert not MigrationFolders(stop=app).holds(str(app / "src" / "a.ts"))
    assert MigrationFolders(stop=tmp_path).holds(str(app / "src" / "a.ts"))


def test_drizzle_kit_files_run_in_a_transaction(tmp_path: Path) -> None:
    """drizzle-orm's migrate() runs the pending files in one transaction: Sim's 0194 fills
    a `CREATE TEMP TABLE ... ON COMMIT DROP` plan and reads it in the next statements."""
    root = _project(tmp_path)
    _write(root / "db" / "migrate" / "0004_plan.sql",
           'CREATE TEMP TABLE "__plan" ("id" int) ON COMMIT DROP;--> statement-breakpoint\n'
           'INSERT INTO "__plan" SELECT "id" FROM "teams";--> statement-breakpoint\n'
           'UPDATE "teams" SET "plan" = \'x\' FROM "__plan" p WHERE p."id" = "teams"."id";\n')

    # (as drizzle-kit writes it: a journal naming none of the files governs none of them)
    tags = ", ".join(f'{{"idx": {i}, "tag": "{name}"}}' for i, name in enumerate(
        ("0000_init", "0001_plan", "0002_set_plan", "0003_drop_type", "0004_plan")))
    _write(root / "db" / "migrate" / "meta" / "_journal.json",
           '{"version": "7", "dialect": "postgresql", "entries": [' + tags + ']}\n')

    report = commands.validate(load_settings(root, environ={}), [root / "src"])

    assert _codes(report) == [("DBS302", "src/plan.ts")]


def test_drizzle_kit_applies_only_the_files_its_journal_lists(tmp_path: Path) -> None:
    """Dokploy's `0130_abandoned_dagger.sql` lies beside the `0130_perpetual_screwball.sql`
    its journal names: drizzle-orm never runs it. Applied anyway, it broke a later file
    (42701) and, had it dropped a column, the schema would have lacked one production has."""
    drizzle = tmp_path / "drizzle"
    _write(drizzle / "0000_init.sql", 'CREATE TABLE "domain" ("id" int, "host" text);\n')
    _write(drizzle / "0001_abandoned.sql",
           'ALTER TABLE "domain" ADD COLUMN "entrypoint" text;--> statement-breakpoint\n'
           'ALTER TABLE "domain" DROP COLUMN "host";\n')
    _write(drizzle / "0001_screwball.sql", 'ALTER TABLE "domain" ADD COLUMN "port" int;\n')
    _write(drizzle / "0002_entrypoint.sql", 'ALTER TABLE "domain" ADD COLUMN "entrypoint" text;\n')
    _write(drizzle / "meta" / "_journal.json", '{"version": "7", "dialect": "postgresql", '
           '"entries": [{"idx": 0, "tag": "0000_init"}, {"idx": 1, "tag": "0001_screwball"}, '
           '{"idx": 2, "tag": "0002_entrypoint"}]}\n')
    _write(tmp_path / "pyproject.toml", "[tool.dbsafe]\n")
    _write(tmp_path / "src" / "domains.ts", "export const q = sql`SELECT host, port, "
           "entrypoint FROM domain`;\n")

    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])

    assert _codes(report) == []


def test_what_a_file_its_runner_does_not_run_makes_is_unknown(tmp_path: Path) -> None:
    """stay-rental's journal lists `0000_x.sql` only; its `0001_x.sql` to `0040_x.sql`, beside
    it, are applied by its own `run-all-migrations.ts`: drizzle-orm never runs them, yet
    production has what they make (46 false DBS301/DBS302). A supabase folder's file its CLI
    skips by name was run by hand, if at all. Unknown, never missing; what no file makes is
    still missing."""
    drizzle = tmp_path / "drizzle"
    _write(drizzle / "0000_init.sql", 'CREATE TABLE "users" ("id" int);\n')
    _write(drizzle / "0001_listings.sql",
           'CREATE TABLE listings (id int, title text);\n'
           'ALTER TABLE users ADD COLUMN auth_user_id uuid;\n')
    _write(drizzle / "meta" / "_journal.json", '{"version": "7", "dialect": "postgresql", '
           '"entries": [{"idx": 0, "tag": "0000_init"}]}\n')
    _write(tmp_path / "pyproject.toml", "[tool.dbsafe]\n")
    _write(tmp_path / "src" / "listings.ts",
           "export const a = sql`SELECT title FROM listings`;\n"
           "export const b = sql`SELECT auth_user_id FROM users`;\n"
           "export const c = sql`SELECT id FROM landlords`;\n")

    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])

    assert [(f.code, f.location.line) for f in report.findings] == [("DBS301", 3)]


def test_what_a_supabase_file_its_cli_skips_makes_is_unknown(tmp_path: Path) -> None:
    folder = tmp_path / "supabase" / "migrations"
    _write(folder / "20240101000000_init.sql", "create table public.notes (id bigint);\n")
    _write(folder / "local_20240102000000_ollama.sql",
           "create table public.vectors (id bigint, embedding text);\n")
    _write(tmp_path / "pyproject.toml", "[tool.dbsafe]\n")
    _write(tmp_path / "src" / "app.ts",
           "import { createClient } from '@supabase/supabase-js'\n"
           "const supabase = createClient('u', 'k')\n"
           "export const a = () => supabase.from('vectors').select('embedding')\n"
           "export const b = () => supabase.from('notes').select('nope')\n")

    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])

    assert [(f.code, f.location.line) for f in report.findings] == [("DBS302", 4)]


def test_what_a_graphile_migrate_baseline_makes_is_unknown(tmp_path: Path) -> None:
    """regen-server's committed migrations build on `initial_schema.sql`, which
    graphile-migrate runs only after a reset (an `afterReset` action), never as a
    migration: production had its tables before the first migration ran. What it makes is
    unknown, never missing (`metadata_graph` was 3 false DBS301); what no file makes is
    still missing."""
    folder = tmp_path / "migrations"
    _write(folder / "initial_schema.sql", "CREATE TABLE public.metadata_graph (iri text);\n")
    _write(folder / "committed" / "000001.sql", "--! Previous: -\n--! Hash: sha1:0\n\n"
           "CREATE TABLE post (id int);\n")
    _write(tmp_path / "pyproject.toml", "[tool.dbsafe]\nsql-migrations = 'migrations'\n")
    _write(tmp_path / "src" / "graph.ts",
           "export const a = sql`SELECT iri FROM metadata_graph`;\n"
           "export const b = sql`SELECT id FROM post`;\n"
           'export const c = sql`UPDATE "user" SET x = 1`;\n')

    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])

    assert [(f.code, f.location.line) for f in report.findings] == [("DBS301", 3)]


def test_a_graphile_migrate_folder_is_built_after_its_after_reset_files(tmp_path: Path) -> None:
    """graphile-migrate builds a database by running its .gmrc's `afterReset` SQL files,
    placeholders filled in, then the migrations: graphile/starter's `afterReset.sql` creates
    the `citext` extension the first migration's tables use (117 DBS006 notes without it,
    and every table of the migration unknown). A command action is not SQL: skipped. A
    grant on the database (named by a stand-in the throwaway lacks, 3D000) changes nothing
    validate reads: no DBS006 note."""
    folder = tmp_path / "db" / "migrations"
    _write(tmp_path / "db" / ".gmrc",
           '{\n  /* JSON5 */\n  "placeholders": {":DATABASE_VISITOR": "!ENV",},\n'
           '  afterReset: [\n    "!afterReset.sql", // as the superuser\n'
           '    {"_": "command", "command": "yarn install-db-schema"},\n  ],\n}\n')
    _write(folder / "afterReset.sql", "BEGIN;\nCREATE DOMAIN email AS text;\n"
           "ALTER SCHEMA public OWNER TO :DATABASE_OWNER;\n"
           "GRANT CONNECT ON DATABASE :DATABASE_NAME TO :DATABASE_OWNER;\nCOMMIT;\n")
    _write(folder / "committed" / "000001.sql", "--! Previous: -\n--! Hash: sha1:0\n\n"
           "CREATE TABLE users (id int, address email);\n"
           "GRANT SELECT ON users TO :DATABASE_VISITOR;\n")
    _write(tmp_path / "pyproject.toml", "[tool.dbsafe]\nsql-migrations = 'db/migrations'\n")
    _write(tmp_path / "src" / "users.ts",
           "export const a = sql`SELECT address FROM users`;\n"
           "export const b = sql`SELECT nosuch FROM users`;\n")

    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])

    assert [(f.code, f.location.line) for f in report.findings] == [("DBS302", 2)]


def test_a_graphile_migrate_folder_runs_under_its_pg_settings(tmp_path: Path) -> None:
    """graphile-migrate loads the .gmrc's `pgSettings` into each session before any file
    runs (`set_config(key, value, false)`): with `search_path` set, an unqualified
    `CREATE TABLE` lands in `app_public`, where the application reads it (every query was
    a false DBS301: the throwaway put the table in `public`)."""
    folder = tmp_path / "db" / "migrations"
    _write(tmp_path / "db" / ".gmrc",
           '{\n  pgSettings: {search_path: "app_public, public", "statement_timeout": 0},\n'
           '  afterReset: ["afterReset.sql"],\n}\n')
    _write(folder / "afterReset.sql", "CREATE SCHEMA app_public;\nCREATE TABLE base (id int);\n")
    _write(folder / "committed" / "000001.sql", "--! Previous: -\n--! Hash: sha1:0\n\n"
           "CREATE TABLE users (id int, name text);\n")
    _write(tmp_path / "pyproject.toml", "[tool.dbsafe]\nsql-migrations = 'db/migrations'\n")
    _write(tmp_path / "src" / "users.ts",
           "export const a = sql`SELECT name FROM app_public.users`;\n"
           "export const b = sql`SELECT id FROM app_public.base`;\n"
           "export const c = sql`SELECT nosuch FROM app_public.users`;\n"
           "export const d = sql`SELECT id FROM public.users`;\n")

    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])

    assert [(f.code, f.location.line) for f in report.findings] == [("DBS302", 3),
                                                                    ("DBS301", 4)]


def test_what_a_graphile_migrate_after_reset_command_makes_is_unknown(tmp_path: Path) -> None:
    """graphile/starter's .gmrc runs `yarn workspace @app/worker install-db-schema` after a
    reset: graphile-worker's `graphile_worker` schema, which the migrations' trigger
    functions call and its tests read, is made by no SQL dbsafe runs (3 false DBS301). A
    schema the migrations name that no SQL makes is unknown then; one nothing names is
    still missing."""
    folder = tmp_path / "db" / "migrations"
    _write(tmp_path / "db" / ".gmrc", '{"afterReset": [{"_": "command", '
                                      '"command": "yarn install-db-schema"}]}\n')
    _write(folder / "committed" / "000001.sql", "--! Previous: -\n--! Hash: sha1:0\n\n"
           "CREATE TABLE users (id int);\n"
           "CREATE FUNCTION tg_users() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
           "  PERFORM graphile_worker.add_job('user_created', json_build_object('id', NEW.id));\n"
           "  RETURN NEW;\nEND;\n$$;\n")
    _write(tmp_path / "pyproject.toml", "[tool.dbsafe]\nsql-migrations = 'db/migrations'\n")
    _write(tmp_path / "src" / "jobs.ts",
           "export const a = sql`SELECT * FROM graphile_worker.jobs`;\n"
           "export const b = sql`SELECT * FROM nosuch.jobs`;\n")

    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])

    assert [(f.code, f.location.line) for f in report.findings] == [("DBS301", 2)]


def test_what_a_file_the_journal_lists_but_the_folder_lacks_made_is_unknown(
        tmp_path: Path) -> None:
    """midday's journal names `0000_silly_sage.sql`, never committed: the migration that
    made its base tables, run where the journal was written. Its `0001_x.sql` onwards alter
    them; `bank_connections`, which none of them names, was 18 false DBS301. What the
    absent file made may be anything; with every listed file there, what no file makes is
    still missing."""
    drizzle = tmp_path / "packages" / "db" / "migrations"
    _write(drizzle / "0001_reports.sql", "ALTER TABLE reports ADD COLUMN kind text;\n")
    _write(drizzle / "0002_insights.sql", "CREATE TABLE insights (id int, title text);\n")
    _write(drizzle / "meta" / "_journal.json", '{"version": "7", "dialect": "postgresql", '
           '"entries": [{"idx": 0, "tag": "0000_silly_sage"}]}\n')
    _write(tmp_path / "pyproject.toml",
           "[tool.dbsafe]\nsql-migrations = 'packages/db/migrations'\n")
    _write(tmp_path / "src" / "bank.ts",
           "import { createClient } from '@supabase/supabase-js'\n"
           "const supabase = createClient('u', 'k')\n"
           "export const a = () => supabase.from('bank_connections').select('id, status')\n"
           "export const b = sql`SELECT name FROM tracker_projects`;\n"
           "export const c = sql`SELECT nope FROM insights`;\n")

    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])

    # (0001's ALTER fails on the throwaway: a DBS006 note, and `reports` unknown)
    assert _codes(report) == [("DBS006", "packages/db/migrations/0001_reports.sql")]

    _write(drizzle / "0000_silly_sage.sql", "CREATE TABLE reports (id int);\n")
    _write(drizzle / "meta" / "_journal.json", '{"version": "7", "dialect": "postgresql", '
           '"entries": [{"idx": 0, "tag": "0000_silly_sage"}, {"idx": 1, "tag": '
           '"0001_reports"}, {"idx": 2, "tag": "0002_insights"}]}\n')
    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])

    assert sorted((f.code, f.location.line) for f in report.findings) == [
        ("DBS301", 3), ("DBS301", 4), ("DBS302", 5)]


def test_a_sqitch_project_is_built_from_its_plans_deploy_scripts(tmp_path: Path) -> None:
    """A Sqitch project's schema is what its plan's deploy scripts make, in the plan's
    order: run by name, the revert script came after them and dropped `users` (every
    query a false DBS301). Its deploy, revert and verify folders hold migrations; its
    `queries/` beside them (BeeeOn's) are the application's, checked. What a deploy script
    the plan does not name makes is unknown, never missing."""
    planned = "2024-01-01T00:00:00Z Me <me@example.com>"
    project = tmp_path / "pgsql"
    _write(project / "sqitch.conf", "[core]\n\tengine = pg\n")
    _write(project / "sqitch.plan", f"%syntax-version=1.0.0\n%project=p\n\nusers {planned}\n"
                                    f"add_email [users] {planned}\n")
    _write(project / "deploy" / "users.sql",
           "BEGIN;\nCREATE TABLE users (id int, nickname text);\nCOMMIT;\n")
    _write(project / "deploy" / "add_email.sql",
           "BEGIN;\nALTER TABLE users ADD COLUMN email text;\nCOMMIT;\n")
    _write(project / "deploy" / "legacy.sql", "CREATE TABLE legacy (id int);\n")
    _write(project / "revert" / "users.sql", "BEGIN;\nDROP TABLE users;\nCOMMIT;\n")
    _write(project / "verify" / "users.sql", "SELECT id, nickname FROM users WHERE false;\n")
    _write(project / "queries" / "users.sql",
           "SELECT id, nickname, email FROM users;\nSELECT phone FROM users;\n"
           "SELECT id FROM legacy;\n")
    _write(tmp_path / "pyproject.toml", "[tool.dbsafe]\nsql-migrations = 'pgsql'\n")

    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path])

    assert [(f.code, f.location.path, f.location.line) for f in report.findings] == [
        ("DBS302", "pgsql/queries/users.sql", 2)]
    assert report.summary["migration_files"] == 5


def test_a_yoyo_ini_names_the_folder_and_a_python_migration_leaves_its_schema_unknown(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """IATI's bulk-data-service keeps its yoyo migrations in `db-migrations`, which its
    `yoyo.ini` names in `sources`: found as the schema's folder (it was "alembic config not
    found"), its rollbacks not run. A yoyo migration may be a Python module, which dbsafe
    does not run: what it made is unknown, never missing."""
    _write(tmp_path / "yoyo.ini", "[DEFAULT]\nsources = db-migrations\nbatch_mode = off\n"
           "database = postgresql+psycopg://%(DB_USER)s@%(DB_HOST)s/bds\n")
    migrations = tmp_path / "db-migrations"
    _write(migrations / "20240531_01_iY5Qa.sql", "--\n-- depends:\n\n"
           "create table iati_datasets (id uuid not null, name varchar not null);\n")
    _write(migrations / "20240531_01_iY5Qa.rollback.sql", "drop table iati_datasets;\n")
    _write(migrations / "20240827_01_pVOLG.sql", "--\n-- depends: 20240531_01_iY5Qa\n"
           "alter table iati_datasets rename column name to short_name;\n")
    _write(migrations / "20240827_01_pVOLG.rollback.sql",
           "alter table iati_datasets rename column short_name to name;\n")
    _write(tmp_path / "src" / "datasets.ts",
           "export const a = sql`SELECT short_name FROM iati_datasets`;\n"
           "export const b = sql`SELECT name FROM iati_datasets`;\n"
           "export const c = sql`SELECT title FROM reporting_orgs`;\n")

    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])
    assert sorted((f.code, f.location.line) for f in report.findings) == [
        ("DBS301", 3), ("DBS302", 2)]

    _write(migrations / "20250109_01_87Bsu.py",
           'from yoyo import step\n__depends__ = {"20240827_01_pVOLG"}\n'
           'def apply_step(conn):\n'
           '    conn.cursor().execute("CREATE TABLE reporting_orgs (id uuid, title text)")\n'
           'steps = [step(apply_step, "DROP TABLE reporting_orgs")]\n')
    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])
    assert report.findings == ()
    assert "db-migrations/20250109_01_87Bsu.py is yoyo's Python migration, which dbsafe " \
        "does not run" in caplog.text


def test_a_yoyo_python_migration_of_sql_steps_is_run_as_yoyo_sends_them(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """yoyo's documented form, `step("CREATE ...", "DROP ...")`, is SQL written out: run on
    the throwaway server (its steps in order, a group's in its place, a module constant
    read), so its tables are known and a column they lack is reported, confirmed by
    PostgreSQL (it was a warning and nothing checked)."""
    _write(tmp_path / "yoyo.ini", "[DEFAULT]\nsources = migrations\n")
    migrations = tmp_path / "migrations"
    _write(migrations / "0001_orgs.py",
           '"""Reporting organisations."""\nfrom yoyo import group, step\n\n'
           'ORGS = """\nCREATE TABLE reporting_orgs (\n    id uuid PRIMARY KEY,\n'
           '    title text\n)"""\n\n'
           "steps = [\n"
           '    step(ORGS, "DROP TABLE reporting_orgs"),\n'
           '    group(step("ALTER TABLE reporting_orgs ADD COLUMN country text"),\n'
           '          step("ALTER TABLE reporting_orgs RENAME COLUMN title TO name")),\n'
           "]\n")
    _write(migrations / "0002_views.py",
           'from yoyo import step\n__depends__ = {"0001_orgs"}\n'
           "step('CREATE VIEW org_names AS SELECT id, name FROM reporting_orgs; '\n"
           "     'CREATE INDEX orgs_country ON reporting_orgs (country)')\n")
    _write(tmp_path / "src" / "orgs.ts",
           "export const a = sql`SELECT name, country FROM reporting_orgs`;\n"
           "export const b = sql`SELECT title FROM reporting_orgs`;\n"
           "export const c = sql`SELECT id, name FROM org_names`;\n")

    with caplog.at_level("WARNING"):
        report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])
    assert [(f.code, f.location.line) for f in report.findings] == [("DBS302", 2)]
    assert "does not run" not in caplog.text

    # Validated as a whole project, the migrations are left to lint, not "in code".
    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path])
    assert report.summary["migration_files"] == 2
    assert report.summary.get("code_migration_files", 0) == 0


def test_missing_relations_of_a_folder_that_is_not_the_whole_history_are_said_so(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A supabase folder whose migration alters `todos`, a table none of its migrations
    makes (PostgreSQL: 42P01; made in the dashboard): a relation or function the requests
    name that the schema lacks may be one made there too. The findings stay (a misspelt table is one),
    and a warning says the folder is not the whole history and how to tell (PDSv6's one
    migration gave 753 DBS301 and no word why)."""
    _write(tmp_path / "supabase" / "migrations" / "20240101000000_a.sql",
           "ALTER TABLE public.todos ADD COLUMN done boolean DEFAULT false;\n"
           "CREATE TABLE public.tags (id bigint PRIMARY KEY, name text);\n")
    _write(tmp_path / "src" / "a.ts",
           "const a = await supabase.from('todos').select('id, title, done')\n"
           "const b = await supabase.from('notes').select('id, body')\n"
           "const c = await supabase.from('tags').select('id, label')\n"
           "const d = await supabase.rpc('archive_todos', { days: 3 })\n")
    with caplog.at_level("WARNING"):
        report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])
    assert sorted((f.code, f.location.line) for f in report.findings if f.code != "DBS006") \
        == [("DBS301", 2), ("DBS302", 3), ("DBS306", 4)]
    assert "2 findings name a relation or function the migrations in supabase/migrations do " \
        "not make, and they are not the whole history: they use public.todos" in caplog.text
    assert "--database-url" in caplog.text

    caplog.clear()
    _write(tmp_path / "supabase" / "migrations" / "20240101000000_a.sql",
           "CREATE TABLE public.todos (id bigint PRIMARY KEY, title text, done boolean);\n"
           "CREATE TABLE public.tags (id bigint PRIMARY KEY, name text);\n")
    with caplog.at_level("WARNING"):
        report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])
    assert sorted((f.code, f.location.line) for f in report.findings) == [
        ("DBS301", 2), ("DBS302", 3), ("DBS306", 4)]
    assert "whole history" not in caplog.text


def test_a_function_a_migration_calls_that_none_of_them_makes_says_so_too(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A migration that calls a function none of the migrations creates (PostgreSQL: 42883,
    made in the dashboard) says the folder is not the whole history: an `.rpc()` of a
    function the schema lacks may be one made there (hubfrete: 8 DBS306 and no word)."""
    _write(tmp_path / "supabase" / "migrations" / "20240101000000_a.sql",
           "CREATE TABLE public.tags (id bigint PRIMARY KEY, name text);\n"
           "SELECT public.seed_tags(3);\n")
    _write(tmp_path / "src" / "a.ts", "const d = await supabase.rpc('archive_tags', {})\n")
    with caplog.at_level("WARNING"):
        report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])
    assert [f.code for f in report.findings if f.code != "DBS006"] == ["DBS306"]
    assert "1 finding names a relation or function the migrations in supabase/migrations do " \
        "not make, and they are not the whole history: they use public.seed_tags(integer)" \
        in caplog.text


def test_a_relation_a_later_migration_makes_is_said_made_later_not_made_by_none(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """screen-easy's folder does not run in its order: `..._init_stripe.sql` makes
    `subscriptions` referencing `organizations`, which `..._create_organizations_table.sql`,
    sorting after it, makes (42P01 on the throwaway; and then 42P01 for `subscriptions`,
    whose CREATE failed). The warning said "none of them creates" both: it names the later
    migration for the first, is neutral on the second, and keeps "none of them" for a
    relation no statement makes (`plans`)."""
    folder = tmp_path / "supabase" / "migrations"
    _write(folder / "20241109081701_init_stripe.sql",
           "CREATE TABLE subscriptions (id text PRIMARY KEY,\n"
           "  organization_id uuid REFERENCES organizations NOT NULL);\n"
           "ALTER TABLE subscriptions ENABLE ROW LEVEL SECURITY;\n"
           "ALTER TABLE plans ADD COLUMN price int;\n")
    _write(folder / "20241109084105_create_organizations_table.sql",
           "CREATE TABLE public.organizations (id uuid PRIMARY KEY, name text);\n")
    _write(tmp_path / "src" / "a.ts",
           "const a = await supabase.from('organization_plans').select('id')\n")
    with caplog.at_level("WARNING"):
        report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])
    assert [(f.code, f.location.line) for f in report.findings if f.code != "DBS006"] \
        == [("DBS301", 1)]
    warning = next(r.getMessage() for r in caplog.records if "whole history" in r.getMessage()
                   or "later migration" in r.getMessage())
    assert "they use plans, which none of them creates" in warning
    assert "20241109081701_init_stripe.sql uses organizations, made only by a later " \
        "migration, 20241109084105_create_organizations_table.sql, which sorts after it" \
        in warning
    assert "they use subscriptions, which a statement of them makes but which was not " \
        "there when used" in warning
    assert "organizations, subscriptions" not in warning

    # With `plans` made first, nothing is made outside: no "whole history" at all.
    caplog.clear()
    _write(folder / "20241109080000_plans.sql", "CREATE TABLE plans (id int);\n")
    with caplog.at_level("WARNING"):
        commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])
    assert "made only by a later migration" in caplog.text
    assert "whole history" not in caplog.text and "none of them" not in caplog.text


@pytest.mark.parametrize(("project", "config", "folder"), [
    # `graphile-migrate init`'s layout: the default `migrations` beside it
    ("", '{\n  // comments and unquoted keys: JSON5\n  placeholders: {},\n}\n',
     "migrations"),
    # in a workspace folder (`packages/db/.gmrc`)
    ("packages/db", '{"migrationsFolder": "./sql"}\n', "sql"),
    # at the root, with the folder it names
    ("", '{"migrationsFolder": "./db/gm"}\n', "db/gm"),
])
def test_a_gmrc_names_its_graphile_migrate_folder(
        project: str, config: str, folder: str, tmp_path: Path) -> None:
    """graphile-migrate runs from the folder of its `.gmrc`, its migrations in its
    `migrationsFolder` (`./migrations` by default): that folder was not found ("alembic
    config not found", exit 2, where `graphile-migrate status` said "Up to date")."""
    _write(tmp_path / project / ".gmrc", config)
    migrations = tmp_path / project / folder
    _write(migrations / "committed" / "000001.sql",
           "--! Previous: -\n--! Hash: sha1:1\n\nCREATE TABLE teams (id int, plan text);\n")
    _write(migrations / "current.sql", "-- Enter migration here\n")
    _write(tmp_path / "src" / "plan.ts",
           "export const q = sql`SELECT plan, nosuch FROM teams`;\n")

    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])
    assert [(f.code, f.location.line) for f in report.findings] == [("DBS302", 1)]


@pytest.mark.parametrize("project", ["", "services/api"])
def test_node_pg_migrate_s_default_folder_beside_its_package_json(
        project: str, tmp_path: Path) -> None:
    """node-pg-migrate keeps its migrations in `migrations` beside the package running it
    (`--migrations-dir` by default): with SQL ones there, that folder was not found
    ("alembic config not found", exit 2, where node-pg-migrate 9.0.0 ran them). Without
    the dependency, a `migrations` folder says nothing."""
    _write(tmp_path / project / "package.json",
           '{"devDependencies": {"node-pg-migrate": "^9.0.0"}}\n')
    _write(tmp_path / project / "migrations" / "1700000000000_teams.sql",
           "-- Up Migration\nCREATE TABLE teams (id int, plan text);\n"
           "-- Down Migration\nDROP TABLE teams;\n")
    _write(tmp_path / "src" / "plan.ts",
           "export const q = sql`SELECT plan, nosuch FROM teams`;\n")

    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])
    assert [(f.code, f.location.line) for f in report.findings] == [("DBS302", 1)]
    _write(tmp_path / project / "package.json", '{"devDependencies": {"pg": "^8"}}\n')
    with pytest.raises(ConfigError, match="alembic config not found"):
        commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])


def test_a_node_pg_migrate_javascript_migration_leaves_what_it_made_unknown(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """node-pg-migrate runs a folder's JavaScript migrations in the same sequence as its
    SQL ones (9.0.0 made `jsmade` from `1700000000001_js.js`): what they make is not
    known, never missing (`jsmade` was a DBS301), as for yoyo's Python migrations: nothing
    is reported missing, and a warning says why."""
    _write(tmp_path / "package.json", '{"devDependencies": {"node-pg-migrate": "^9.0.0"}}\n')
    migrations = tmp_path / "migrations"
    _write(migrations / "1700000000000_teams.sql",
           "-- Up Migration\nCREATE TABLE teams (id int);\n-- Down Migration\nDROP TABLE teams;\n")
    _write(migrations / "1700000000001_js.js",
           "exports.up = (pgm) => { pgm.createTable('jsmade', { id: 'id' }); };\n"
           "exports.down = (pgm) => { pgm.dropTable('jsmade'); };\n")
    _write(tmp_path / "src" / "q.ts", "export const q = sql`SELECT id FROM jsmade`;\n"
           "export const r = sql`SELECT nosuch FROM teams`;\n")

    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])
    assert report.findings == ()
    assert "migrations/1700000000001_js.js is node-pg-migrate's JavaScript migration, which " \
        "dbsafe does not run" in caplog.text


@pytest.mark.parametrize("folder", ["migrations", "migrations/tenant"])
def test_postgres_migrations_folder_beside_its_package_json(folder: str, tmp_path: Path) -> None:
    """postgres-migrations has no default folder (`migrate(config, dir)`): its numbered
    files in `migrations` beside a package.json depending on it, or in a folder right in
    that (supabase/storage's `migrations/tenant`), were not found ("alembic config not
    found"). The `migrations` table its first migration makes is the database's too: an
    application reading it is no DBS301. Without the dependency, the folder says nothing."""
    _write(tmp_path / "package.json", '{"dependencies": {"postgres-migrations": "^5.3.0"}}\n')
    _write(tmp_path / folder / "1_teams.sql", "CREATE TABLE teams (id int, plan text);\n")
    _write(tmp_path / "src" / "plan.ts",
           "export const q = sql`SELECT plan, nosuch FROM teams`;\n"
           "export const r = sql`SELECT max(id), max(executed_at) FROM migrations`;\n")

    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])
    assert [(f.code, f.location.line) for f in report.findings] == [("DBS302", 1)]
    other = tmp_path / "other"  # (a folder's answer is kept for its state: another project)
    _write(other / "package.json", '{"dependencies": {"pg": "^8"}}\n')
    _write(other / folder / "1_teams.sql", "CREATE TABLE teams (id int, plan text);\n")
    with pytest.raises(ConfigError, match="alembic config not found"):
        commands.validate(load_settings(other, environ={}), [tmp_path / "src"])

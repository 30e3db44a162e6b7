"""`dbsafe drift` against real PostgreSQL: a database built by the `clean` history, then
changed by hand, compared with the migrations at its own revision."""

from __future__ import annotations

import sys
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from dbsafe import commands
from dbsafe.cli import main
from dbsafe.config import load_settings
from dbsafe.core import DbsafeError
from dbsafe.migrate.runner import AlembicProject, apply
from dbsafe.schema.diff import DiffOptions
from tests.helpers import at_revision

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

ENV = Path(__file__).parent / "envs" / "clean"


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the module: the migrations at 0002 are built on a throwaway server once."""
    return tmp_path_factory.mktemp("drift-cache")


def _settings(url: str, cache: Path, **overrides: object):
    return load_settings(ENV, {"alembic-config": ENV / "alembic.ini", "database-url": url,
                               "cache-dir": cache, **overrides}, environ={})


def test_hand_made_changes_are_drift_a_database_behind_is_not(
        database_url: str, cache: Path) -> None:
    # At 0002 (branch a only): the migrations at 0002 are the reference, not heads.
    at_revision(database_url, ENV / "alembic.ini", "0002")
    settings = _settings(database_url, cache)
    clean = commands.drift(settings)
    assert clean.findings == ()
    assert clean.summary["revision"] == ["0002"]

    with psycopg.connect(database_url) as conn:  # at_revision ended `postgresql`'s session
        conn.execute("CREATE INDEX ix_by_hand ON patients (name)")
        conn.execute("ALTER TABLE patients ALTER COLUMN email SET DEFAULT 'x'")
        conn.execute("DROP INDEX ix_patients_email")
        conn.execute("CREATE SCHEMA dbsafe")  # dbsafe's own bookkeeping: never drift
        conn.execute("CREATE TABLE dbsafe.history (id int)")

    report = commands.drift(settings)

    assert [(f.code, f.subject) for f in report.findings] == [
        ("DBS403", "public.patients.email"),
        ("DBS402", "public.patients.ix_by_hand"),
        ("DBS401", "public.patients.ix_patients_email"),
    ]
    assert "in the database but not in the migrations at 0002" in report.findings[1].message
    assert "(cached)" in report.summary["expected"]  # reused the first build

    ignored = commands.drift(settings, options=DiffOptions.parse(names=["public.patients.ix_*"]))
    assert [f.code for f in ignored.findings] == ["DBS403"]

    sql, differences = commands.drift_sql(settings)
    assert differences == 3
    assert "DROP INDEX CONCURRENTLY public.ix_by_hand;" in sql
    assert "CREATE INDEX CONCURRENTLY ix_patients_email ON public.patients" in sql
    assert "ALTER COLUMN email DROP DEFAULT" in sql


def test_a_constraint_dropped_or_added_by_hand_is_one_difference_not_two_with_its_index(
        database_url: str, cache: Path) -> None:
    # CTFd: `ALTER TABLE pages DROP CONSTRAINT pages_route_key` was reported as a missing
    # constraint and a missing index `pages_route_key`: two warnings for one change.
    at_revision(database_url, ENV / "alembic.ini", "0002")
    with psycopg.connect(database_url) as conn:
        conn.execute("ALTER TABLE patients DROP CONSTRAINT patients_pkey")
        conn.execute("ALTER TABLE patients ADD CONSTRAINT patients_name_key UNIQUE (name)")

    report = commands.drift(_settings(database_url, cache))

    assert [(f.code, f.subject, f.message.split(" is ")[0]) for f in report.findings] == [
        ("DBS402", "public.patients.patients_name_key", "Constraint `public.patients.patients_name_key`"),
        ("DBS401", "public.patients.patients_pkey", "Constraint `public.patients.patients_pkey`"),
    ]
    assert report.summary["differences"] == 2
    sql, _ = commands.drift_sql(_settings(database_url, cache))
    assert "ALTER TABLE public.patients DROP CONSTRAINT patients_name_key;" in sql
    assert "ADD CONSTRAINT patients_pkey PRIMARY KEY USING INDEX patients_pkey;" in sql


def test_an_index_redefined_by_hand_is_shown_where_its_definition_differs(
        database_url: str, cache: Path) -> None:
    # Both definitions were cut at 60 characters, before the part that differs: the
    # message read "CREATE INDEX ix_patients_email ON public.patients USING b… in the
    # database, CREATE INDEX ix_patients_email ON public.patients USING b… in the migrations".
    at_revision(database_url, ENV / "alembic.ini", "0002")
    with psycopg.connect(database_url) as conn:
        conn.execute("DROP INDEX ix_patients_email")
        conn.execute("CREATE INDEX ix_patients_email ON patients (email) WHERE email <> ''")

    report = commands.drift(_settings(database_url, cache))

    assert [f.message for f in report.findings] == [
        "Index `public.patients.ix_patients_email` differs in definition: …public.patients "
        "USING btree (email) WHERE (email <> ''::te… in the database, …public.patients USING "
        "btree (email) in the migrations at 0002."]


def test_a_database_migrated_by_its_own_role_is_not_drift_until_an_owner_changes(
        database_url: str, postgresql: psycopg.Connection, cache: Path) -> None:
    """The reference is built by a throwaway server's superuser; a database migrated by a
    deploy role owns everything as that role, which is no drift."""
    deployer = "drift_deployer"
    dbname = postgresql.info.dbname
    postgresql.autocommit = True
    # A password: a server DBSAFE_TEST_DATABASE_URL names may ask for one.
    for statement in (f"DROP ROLE IF EXISTS {deployer}",
                      f"CREATE ROLE {deployer} LOGIN PASSWORD 'deploy-pw'",
                      f"ALTER DATABASE {dbname} OWNER TO {deployer}",
                      "DROP ROLE IF EXISTS drift_other", "CREATE ROLE drift_other"):
        postgresql.execute(statement)
    as_deployer = "&".join(
        part for part in database_url.replace(
            f"user={postgresql.info.user}", f"user={deployer}").split("&")
        if not part.startswith("password=")) + "&password=deploy-pw"
    try:
        apply(AlembicProject(ENV / "alembic.ini"), as_deployer, [("upgrade", "0002")])
        assert commands.drift(_settings(database_url, cache)).findings == ()
        postgresql.execute("ALTER TABLE patients OWNER TO drift_other")
        report = commands.drift(_settings(database_url, cache))
        assert [(f.code, f.subject) for f in report.findings] == [
            ("DBS403", "public.patients")]
        assert "drift_other in the database, drift_deployer in the migrations" in \
            report.findings[0].message
    finally:
        postgresql.execute(f"DROP OWNED BY {deployer}, drift_other CASCADE")
        postgresql.execute(f"ALTER DATABASE {dbname} OWNER TO {postgresql.info.user}")
        postgresql.execute(f"DROP ROLE {deployer}")
        postgresql.execute("DROP ROLE drift_other")


def test_a_database_whose_own_search_path_writes_definitions_otherwise_is_not_drift(
        database_url: str, cache: Path) -> None:
    at_revision(database_url, ENV / "alembic.ini", "0003")
    # The database's own path puts a schema with another `patients` first: PostgreSQL then
    # writes visits' foreign key `REFERENCES public.patients(id)`; the throwaway's path
    # writes it `REFERENCES patients(id)`.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA lab; CREATE TABLE lab.patients (id int)")
        conn.execute(f"ALTER DATABASE {conn.info.dbname} SET search_path = lab, public")
        # A DBA's setting, which no migration made: no drift either (task 430: drift
        # leaves the database's settings out).
        conn.execute(f"ALTER DATABASE {conn.info.dbname} SET work_mem = '64MB'")
    report = commands.drift(_settings(database_url, cache),
                            options=DiffOptions.parse(schemas=["lab"]))
    assert report.findings == ()


def test_a_database_without_alembic_version_is_an_error_not_drift(
        database_url: str, tmp_path: Path) -> None:
    with pytest.raises(DbsafeError, match="no alembic_version"):
        commands.drift(_settings(database_url, tmp_path / "cache"))


def test_cli_exits_1_on_drift_and_reads_ignores_from_config(
        database_url: str, tmp_path: Path, cache: Path) -> None:
    at_revision(database_url, ENV / "alembic.ini", "0002")
    with psycopg.connect(database_url) as conn:
        conn.execute("CREATE TABLE scratch (id int)")
    config = tmp_path / "pyproject.toml"
    args = ["drift", "--alembic-config", str(ENV / "alembic.ini"), "--database-url",
            database_url]

    config.write_text(f'[tool.dbsafe]\ncache-dir = "{cache}"\n')
    drifted = CliRunner().invoke(main, ["--config", str(config), *args])
    assert drifted.exit_code == 1, drifted.output
    assert "DBS402" in drifted.stdout and "public.scratch" in drifted.stdout

    config.write_text(f'[tool.dbsafe]\ncache-dir = "{cache}"\n'
                      'drift-ignore-names = ["public.scratch"]\n')
    ignored = CliRunner().invoke(main, ["--config", str(config), *args])
    assert ignored.exit_code == 0, ignored.output


def test_models_are_compared_with_the_migrations_head_in_the_child_only() -> None:
    # No database: the `alembic check` use case. The history's env.py is async (asyncpg),
    # and the models are imported by the sandboxed child, never by this process.
    settings = load_settings(ENV, {"alembic-config": ENV / "alembic.ini"}, environ={})

    report = commands.drift(settings, models="models_ahead:metadata")

    assert [(f.code, f.subject, f.message) for f in report.findings] == [
        ("DBS405", "patients.phone", "The models (models_ahead:metadata) and the migrations "
         "at head differ: column `patients.phone` is in the models but not in the migrations."),
        ("DBS405", "patients.name", "The models (models_ahead:metadata) and the migrations "
         "at head differ: `patients.name` differs, NOT NULL in the migrations, nullable in "
         "the models."),
    ]
    assert report.summary["model_differences"] == 2
    assert "revision" not in report.summary  # no live database compared
    assert "models_ahead" not in sys.modules
    # docs/gates.md shows the first as the text report prints it (it lacked the subject
    # the line starts with, task 402), for models named app.models:Base.metadata
    from dbsafe.commands import catalog
    from dbsafe.core import Report
    from dbsafe.report import render_text
    from tests.conftest import REPO_ROOT

    printed = render_text(Report(report.findings[:1]), catalog()).split("\n\n")[0]
    shown = printed.replace("models_ahead:metadata", "app.models:Base.metadata")
    assert f"```\n{shown}\n```" in (REPO_ROOT / "docs" / "gates.md").read_text(encoding="utf-8")


def test_cli_models_that_match_exit_0_and_bad_input_is_exit_2(tmp_path: Path) -> None:
    args = ["drift", "--alembic-config", str(ENV / "alembic.ini")]

    matching = CliRunner().invoke(main, [*args, "--models", "models_match:Base.metadata"])
    assert matching.exit_code == 0, matching.output

    for bad in (["--models", "models_match"], ["--models", "m:x", "--sql"]):
        result = CliRunner().invoke(main, [*args, *bad])
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output


def test_the_moment_postgresql_folded_into_a_default_or_view_is_not_drift(
        database_url: str, postgresql: psycopg.Connection, tmp_path: Path) -> None:
    """`DEFAULT 'now'` and `'now'::timestamptz` in a view are turned into the moment their
    statement ran: the database built last month and the throwaway built now print two
    constants for one migration. Neither the first build nor the cached one is drift; a
    default changed by hand still is."""
    from tests.migrate.projects import write_project

    root = tmp_path / "p"
    ini = write_project(root, "well_behaved")
    versions = root / "migrations" / "versions"
    for path in versions.glob("*.py"):
        path.unlink()
    (versions / "0001_visits.py").write_text(
        '"""visits"""\nfrom alembic import op\n\nrevision = "0001"\ndown_revision = None\n\n\n'
        "def upgrade():\n"
        "    op.execute(\"CREATE TABLE visits (id bigint PRIMARY KEY, at timestamptz, "
        "seen date DEFAULT 'today')\")\n"
        "    op.execute(\"CREATE VIEW early AS SELECT id FROM visits "
        "WHERE at < 'now'::timestamptz - interval '1 day'\")\n\n\n"
        "def downgrade():\n    op.execute('DROP VIEW early; DROP TABLE visits')\n")
    apply(AlembicProject(ini), database_url, [("upgrade", "0001")])
    # As if built long ago: the constants PostgreSQL folded in become another moment.
    postgresql.execute("ALTER TABLE visits ALTER COLUMN seen SET DEFAULT '2019-05-06'::date")
    postgresql.execute("CREATE OR REPLACE VIEW early AS SELECT id FROM visits "
                       "WHERE at < '2019-05-06 07:08:09+00'::timestamptz - interval '1 day'")
    postgresql.commit()
    settings = load_settings(root, {"database-url": database_url,
                                    "cache-dir": tmp_path / "cache"}, environ={})

    built, cached = commands.drift(settings), commands.drift(settings)
    assert "(cached)" in cached.summary["expected"]
    assert built.findings == () and cached.findings == ()
    assert commands.diff(settings, database_url, "migrations").findings == ()

    # A constant from before the build is what someone wrote: a difference.
    postgresql.execute("ALTER TABLE visits ALTER COLUMN at SET DEFAULT '2019-05-06'::timestamptz")
    postgresql.commit()
    assert [(f.code, f.subject) for f in commands.drift(settings).findings] == [
        ("DBS403", "public.visits.at")]


def test_a_grant_or_revoke_by_hand_is_said_by_role_and_privilege(
        database_url: str, cache: Path) -> None:
    """irrd's `GRANT SELECT ON auth_user TO PUBLIC` read `differs in acl: (=r/irrd,
    irrd=arwdDxtm/irrd) in the database, () in the migrations`, and bitcart's `REVOKE
    EXECUTE ON FUNCTION get_methods_inds FROM PUBLIC` as `(bitcart=X/bitcart) ... ()`: as
    if its owner had been granted something. The defaults an empty ACL holds are spelled
    out, and the difference said by role and privilege (task 575)."""
    at_revision(database_url, ENV / "alembic.ini", "0004")
    with psycopg.connect(database_url) as conn:
        conn.execute("GRANT SELECT ON patients TO PUBLIC")
        conn.execute("REVOKE EXECUTE ON FUNCTION one() FROM PUBLIC")
        conn.execute("REVOKE SELECT ON visits FROM PUBLIC")  # 0003 grants it

    report = commands.drift(_settings(database_url, cache))

    assert sorted(f.message for f in report.findings) == [
        "Function `public.one()` differs in grants: PUBLIC has EXECUTE in the migrations "
        "at 0004, not in the database.",
        "Table `public.patients` differs in grants: PUBLIC has SELECT in the database, not "
        "in the migrations at 0004.",
        "Table `public.visits` differs in grants: PUBLIC has SELECT in the migrations at "
        "0004, not in the database.",
    ]
    patients = next(f for f in report.findings if f.subject == "public.patients")
    assert dict(patients.context)["Target"] == "the default privileges"

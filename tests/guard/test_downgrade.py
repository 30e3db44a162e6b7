"""`dbsafe downgrade`: the data-loss report, refusal without confirmation, a missing
downgrade replaced by the computed one, the schema verified afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.guard.downgrade import DowngradeOptions
from dbsafe.guard.leftovers import user_snapshot
from dbsafe.guard.upgrade import UpgradeOptions
from dbsafe.migrate import AlembicProject, apply
from dbsafe.migrate.runner import MigrationError
from dbsafe.migrate.throwaway import migrated_database
from dbsafe.schema.diff import DiffOptions, diff
from tests.helpers import at_revision, dbsafe_in_process, restore_hint
from tests.migrate.projects import write_project

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

# 0005 adds a column and its downgrade() does nothing.
EMPTY_DOWNGRADE = '''"""add orders.note"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.add_column("orders", sa.Column("note", sa.Text()))


def downgrade():
    pass
'''


def _project_at(tmp_path: Path, url: str, revision: str, *, note: str | None = None) -> Path:
    """The well-behaved project (with `note` as its revision 0005) applied up to `revision`
    on `url`; returns its root."""
    root = tmp_path / "p"
    write_project(root, "well_behaved")
    if note is not None:
        (root / "migrations" / "versions" / "0005_note.py").write_text(note)
    at_revision(url, root / "alembic.ini", revision)
    return root


# The schemas built from the migrations (a downgrade's target's, its start's) that this
# module's tests share, one folder per worker (`shared_builds`): keyed by the project's files
# and the revision, as a user's cache is, so a test running the same unchanged history as
# an earlier one reads the build it made (about 0.6 s each, 12 of 38 builds) and a test
# whose files differ builds its own. The tests of building and of the cache have their own.
_SHARED_BUILDS: list[Path] = []


@pytest.fixture(scope="module", autouse=True)
def shared_builds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("downgrade-builds")
    _SHARED_BUILDS.append(folder)
    yield folder
    _SHARED_BUILDS.remove(folder)


def _settings(root: Path, url: str, **overrides: Any):
    """Settings for `root` against `url`, with the module's cache of builds
    (`shared_builds`); `cache=False` builds every schema afresh, as another module's tests
    importing this helper do (this module's fixture is not theirs)."""
    shared = {"cache-dir": str(_SHARED_BUILDS[-1])} if _SHARED_BUILDS else {"cache": False}
    return load_settings(root, {"database-url": url, **shared, **overrides}, environ={})


def _dbsafe(root: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The command line `dbsafe ARGS` in `root` against `url` with the module's cache of
    builds (`shared_builds`), in process (`dbsafe_in_process`: its throwaway server a
    database of the worker's, not one started per run), with no other PG* or DBSAFE_*
    variable; stdin is no terminal, as in CI."""
    unset: dict[str, str | None] = {
        k: None for k in os.environ if k.startswith(("PG", "DBSAFE_"))}
    return dbsafe_in_process(*args, cwd=root, env={
        **unset, "DBSAFE_DATABASE_URL": url, "DBSAFE_CACHE_DIR": str(_SHARED_BUILDS[-1])})


def _state(url: str) -> dict[str, Any]:
    with psycopg.connect(url) as conn:
        return {
            "version": [r[0] for r in conn.execute("SELECT version_num FROM alembic_version")],
            "columns": sorted(conn.execute(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = 'public'").fetchall()),
        }


def test_a_downgrade_dropping_data_names_it_and_is_refused_without_yes(
    database_url: str, tmp_path: Path,
) -> None:
    root = _project_at(tmp_path, database_url, "0002")
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO patients VALUES (1, 'a', 'a@x'), (2, 'b', NULL)")
        conn.execute("INSERT INTO orders VALUES (1, 1), (2, 1), (3, 2)")
    before = _state(database_url)

    proc = _dbsafe(root, database_url, "downgrade", "0001", "--no-backup")

    assert proc.returncode == 1, proc.stderr
    assert "The downgrade drops table `public.orders`, which holds 3 row(s)." in proc.stdout
    assert "refused: the data-loss report was not confirmed" in proc.stdout
    assert _state(database_url) == before

    report = commands.downgrade(_settings(root, database_url),
                                DowngradeOptions(target="0001", backup=False, yes=True))
    assert report.summary["outcome"] == "downgraded", report.summary["what_happened"]
    assert _state(database_url)["version"] == ["0001"]
    assert "verify: schema equals 0001's" in report.summary["what_happened"]
    # Each revision said as it is undone, as upgrade says each it applies (Prefect's eight
    # took 24 s with no line between the backup and "downgraded to").
    story = "\n".join(report.summary["what_happened"])
    assert "apply: undoing 0002 orders\napply: 0002 undone in " in story, story


def test_a_downgrade_to_base_does_not_report_alembics_version_table_as_data_lost(
    database_url: str, tmp_path: Path,
) -> None:
    """alembic's `downgrade base` empties its version table and keeps it: its one row is
    no data of the application's. fractal-server's `downgrade base --dry-run` listed
    `public.alembic_version: DBS607 ... drops table ..., which holds 1 row(s)` among its 22
    tables (base's schema recorded by the upgrade from an empty database has no such table),
    and the offline SQL's own `DROP TABLE alembic_version` said the same."""
    root = tmp_path / "p"
    write_project(root, "well_behaved")
    upgraded = commands.upgrade(_settings(root, database_url),
                                UpgradeOptions(target="0001", backup=False))
    assert upgraded.summary["outcome"] == "applied", upgraded.summary["what_happened"]
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO patients VALUES (1, 'a', 'a@x')")
    steps: list[str] = []

    report = commands.downgrade(_settings(root, database_url),
                                DowngradeOptions(target="base", dry_run=True),
                                progress=lambda step, text: steps.append(f"{step}: {text}"))

    assert "preflight: comparing with the schema recorded at base" in steps, steps
    assert [f.subject for f in report.findings if f.code == "DBS607"] == ["public.patients"]
    proc = _dbsafe(root, database_url, "downgrade", "base", "--dry-run")
    assert "alembic_version" not in proc.stdout, proc.stdout


def test_too_little_room_for_the_backup_refuses_before_asking(
    database_url: str, tmp_path: Path, small_filesystem: Path,
) -> None:
    root = _project_at(tmp_path, database_url, "0002")
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO patients VALUES (1, 'a', 'a@x')")
        conn.execute("INSERT INTO orders VALUES (1, 1)")
    before = _state(database_url)
    options = DowngradeOptions(target="0001", backup_dir=small_filesystem / "b")
    asked: list[str] = []

    report = commands.downgrade(_settings(root, database_url), options,
                                confirm=lambda database: asked.append(database) or True)

    assert report.summary["outcome"] == "refused"
    assert [f.code for f in report.findings] == ["DBS607", "DBS610"]
    assert report.summary["what_happened"][-1] == ("preflight: refused: no room for the "
                                                   "backup (see findings)")
    assert asked == [] and _state(database_url) == before
    assert commands.status(_settings(root, database_url)).summary["history"] == []


def test_a_column_data_loss_counts_non_null_values(database_url: str, tmp_path: Path) -> None:
    root = tmp_path / "p"
    write_project(root, "well_behaved")
    (root / "migrations" / "versions" / "0005_note.py").write_text(
        EMPTY_DOWNGRADE.replace("def downgrade():\n    pass",
                                'def downgrade():\n    op.drop_column("orders", "note")'))
    apply(AlembicProject(root / "alembic.ini"), database_url, [("upgrade", "0005")])
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO patients VALUES (1, 'a')")
        conn.execute("INSERT INTO orders VALUES (1, 1, 'x'), (2, 1, NULL), (3, 1, 'y')")

    said: list[str] = []

    report = commands.downgrade(_settings(root, database_url),
                                DowngradeOptions(target="0004", backup=False, dry_run=True,
                                                 lock_timeout="0"),
                                progress=lambda step, text: said.append(f"{step}: {text}"))

    assert report.summary["outcome"] == "planned"
    # No lock_timeout at all is the user's choice, longer than lint's 10s limit: said once
    assert [line for line in said if "--lock-timeout" in line] == [
        "preflight: note: --lock-timeout 0 turns the timeout off: a statement of the "
        "revisions may wait for its table's lock without end, beyond lint's "
        "lock-timeout-limit (10s, DBS134); while it waits, the queries that need the table "
        "queue behind it (your choice: not refused)"]
    (loss,) = [f for f in report.findings if f.code == "DBS607"]
    assert loss.subject == "public.orders.note"
    assert loss.message == ("The downgrade drops column `public.orders.note`, which holds "
                            "2 non-null value(s).")


# 0005 turns orders.note into an integer column under the same name, and empties orders'
# audit table; its downgrade drops the integer column and adds the text one back, and
# empties the audit table again: the schemas before and after look alike.
REPLACED_UNDER_ITS_NAME = '''"""note becomes a number"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.create_table("order_audit", sa.Column("id", sa.Integer, primary_key=True))
    op.drop_column("orders", "note")
    op.add_column("orders", sa.Column("note", sa.Integer))


def downgrade():
    op.add_column("orders", sa.Column("old_note", sa.Text))
    op.drop_column("orders", "note")
    op.alter_column("orders", "old_note", new_column_name="note")
    op.execute("DELETE FROM order_audit")
    op.drop_table("order_audit")
'''


def test_a_column_dropped_and_added_again_under_its_name_is_data_lost(
        database_url: str, tmp_path: Path) -> None:
    root = tmp_path / "p"
    write_project(root, "well_behaved")
    (root / "migrations" / "versions" / "0005_note.py").write_text(
        EMPTY_DOWNGRADE.replace("def downgrade():\n    pass",
                                'def downgrade():\n    op.drop_column("orders", "note")'))
    (root / "migrations" / "versions" / "0006_replace.py").write_text(
        REPLACED_UNDER_ITS_NAME.replace('"0005"', '"0006"').replace('"0004"', '"0005"'))
    apply(AlembicProject(root / "alembic.ini"), database_url, [("upgrade", "0006")])
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO patients VALUES (1, 'a')")
        conn.execute("INSERT INTO orders VALUES (1, 1, 7), (2, 1, NULL), (3, 1, 9)")
        conn.execute("INSERT INTO order_audit SELECT generate_series(1, 4)")

    report = commands.downgrade(_settings(root, database_url),
                                DowngradeOptions(target="0005", backup=False, dry_run=True))

    # The schemas alone see only order_audit going; the SQL also sees note's 2 values go.
    assert sorted(f.message for f in report.findings if f.code == "DBS607") == [
        "The downgrade drops column `public.orders.note`, which holds 2 non-null value(s).",
        "The downgrade drops table `public.order_audit`, which holds 4 row(s).",
    ]


def test_a_downgrade_that_reads_the_database_is_captured_on_a_copy_of_its_schema(
        database_url: str, tmp_path: Path) -> None:
    """Offline, `sa.inspect(op.get_bind())` has no database to read: the downgrade runs on a
    copy of the database's schema instead, and its SQL is read from there (task 496; it was
    judged from the schemas only)."""
    root = tmp_path / "p"
    write_project(root, "well_behaved")
    (root / "migrations" / "versions" / "0005_note.py").write_text(
        EMPTY_DOWNGRADE.replace(
            "def downgrade():\n    pass",
            "def downgrade():\n    if sa.inspect(op.get_bind()).has_table('orders'):\n"
            '        op.drop_column("orders", "note")'))
    apply(AlembicProject(root / "alembic.ini"), database_url, [("upgrade", "0005")])
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO patients VALUES (1, 'a')")
        conn.execute("INSERT INTO orders VALUES (1, 1, 'x')")

    report = commands.downgrade(_settings(root, database_url),
                                DowngradeOptions(target="0004", backup=False, dry_run=True))

    assert [f.subject for f in report.findings if f.code == "DBS607"] == ["public.orders.note"]
    lines = report.summary["what_happened"]
    [said] = [line for line in lines if "could not be rendered offline" in line]
    assert said.endswith("running it on a copy of the database's schema on a throwaway "
                         "server"), said
    assert not [line for line in lines if "schemas only" in line], lines
    assert [line for line in lines if "the downgrade ran on the copy: its 1 statement(s)"
            in line], lines


def test_an_empty_downgrade_is_caught_and_the_computed_one_restores_the_schema(
    database_url: str, tmp_path: Path,
) -> None:
    root = tmp_path / "p"
    write_project(root, "well_behaved")
    (root / "migrations" / "versions" / "0005_note.py").write_text(EMPTY_DOWNGRADE)
    project = AlembicProject(root / "alembic.ini")
    at_revision(database_url, root / "alembic.ini", "0005")
    settings = _settings(root, database_url)

    refused = commands.downgrade(settings, DowngradeOptions(target="0004", backup=False))
    assert refused.summary["outcome"] == "refused"
    (missing,) = [f for f in refused.findings if f.code == "DBS608"]
    assert missing.subject == "0005"
    computed = dict(missing.context)["Computed downgrade"]
    assert 'ALTER TABLE public.orders DROP COLUMN note' in computed.replace('"', "")
    assert _state(database_url)["version"] == ["0005"]

    done = commands.downgrade(settings, DowngradeOptions(target="0004", backup=False,
                                                         use_computed=True, yes=True))

    assert done.summary["outcome"] == "downgraded", done.summary["what_happened"]
    assert _state(database_url)["version"] == ["0004"]
    with migrated_database(project, "0004") as reference:
        assert not diff(user_snapshot(database_url), user_snapshot(reference),
                        DiffOptions(ignore_schemas=frozenset({"dbsafe"})))


def _as_role(database_url: str, role: str, password: str) -> str:
    """The same database, logged in as `role` with `password` (the throwaway server trusts
    local logins; a server DBSAFE_TEST_DATABASE_URL names may ask for the password)."""
    from psycopg.conninfo import conninfo_to_dict

    params = {**conninfo_to_dict(database_url), "user": role, "password": password}
    return "postgresql:///?" + "&".join(f"{k}={v}" for k, v in params.items() if v)


def test_the_computed_downgrade_will_not_undo_changes_made_by_hand(
    database_url: str, tmp_path: Path,
) -> None:
    root = _project_at(tmp_path, database_url, "0005", note=EMPTY_DOWNGRADE)
    with psycopg.connect(database_url) as conn:  # an operator's index, by hand
        conn.execute("CREATE INDEX ix_by_hand ON orders (id)")
    settings = _settings(root, database_url)

    report = commands.downgrade(settings, DowngradeOptions(target="0004", backup=False,
                                                           use_computed=True, yes=True))

    assert report.summary["outcome"] == "refused", report.summary["what_happened"]
    (other,) = [f for f in report.findings if f.code == "DBS609"]
    assert "ix_by_hand" in dict(other.context)["Not made by the migrations"]
    assert _state(database_url)["version"] == ["0005"]
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT to_regclass('ix_by_hand') IS NOT NULL").fetchone() == (True,)


def test_a_deploy_role_that_is_not_the_servers_superuser_is_not_a_difference(
    database_url: str, tmp_path: Path, postgresql: psycopg.Connection,
) -> None:
    role, password = "dbsafe_deployer", "deployer-pw"
    postgresql.execute(f"DROP ROLE IF EXISTS {role}")
    postgresql.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    postgresql.execute(f"GRANT ALL ON SCHEMA public TO {role}")
    postgresql.execute(f'GRANT CREATE ON DATABASE "{postgresql.info.dbname}" TO {role}')
    postgresql.commit()
    deployer = _as_role(database_url, role, password)
    try:
        root = _project_at(tmp_path, deployer, "0002")

        # 0001's schema was never recorded here: it is built on a throwaway server, where
        # everything belongs to its superuser; the owners are not what is compared.
        report = commands.downgrade(_settings(root, deployer),
                                    DowngradeOptions(target="0001", backup=False, yes=True))

        assert not [f for f in report.findings if f.code == "DBS603"], [
            dict(f.context) for f in report.findings]
        assert report.summary["outcome"] == "downgraded", report.summary["what_happened"]
        assert _state(database_url)["version"] == ["0001"]
    finally:  # a server DBSAFE_TEST_DATABASE_URL names keeps its roles
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")


def test_a_downgrade_to_a_revision_ahead_is_an_error_not_up_to_date(
    database_url: str, tmp_path: Path,
) -> None:
    from dbsafe.core import DbsafeError

    root = _project_at(tmp_path, database_url, "0002")
    with pytest.raises(DbsafeError) as error:
        commands.downgrade(_settings(root, database_url),
                           DowngradeOptions(target="0003", backup=False, yes=True))
    assert str(error.value) == (
        "0003 is not at or below the database's revision (0002): a downgrade cannot reach "
        "it; `dbsafe upgrade 0003` goes there")
    assert _state(database_url)["version"] == ["0002"]


def test_relative_targets_step_down_as_alembic_users_write_them(
    database_url: str, tmp_path: Path,
) -> None:
    from dbsafe.core import DbsafeError

    root = _project_at(tmp_path, database_url, "0003")
    # `-1` is the TARGET, not an option, and options may follow it.
    proc = _dbsafe(root, database_url, "downgrade", "-1", "--no-backup", "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _state(database_url)["version"] == ["0002"]

    with pytest.raises(DbsafeError, match="-3 goes below base: the database's revision is "
                                          r"only 2 step\(s\) above it"):
        commands.downgrade(_settings(root, database_url),
                           DowngradeOptions(target="-3", backup=False, yes=True))
    report = commands.downgrade(_settings(root, database_url),
                                DowngradeOptions(target="-2", backup=False, yes=True))
    assert report.summary["outcome"] == "downgraded", report.summary["what_happened"]
    assert _state(database_url)["version"] == []


def test_a_misspelt_option_is_still_an_unknown_option(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "dbsafe", "downgrade", "--dry-rn", "0001"],
                          cwd=tmp_path, capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert "No such option '--dry-rn'" in proc.stderr


# 0005 changes rows only (a data migration, as ihatemoney's three): its empty downgrade()
# takes the schema back, and it was refused as DBS608 with an empty computed downgrade.
ROWS_ONLY = EMPTY_DOWNGRADE.replace('"""add orders.note"""', '"""fill orders"""').replace(
    'op.add_column("orders", sa.Column("note", sa.Text()))',
    'op.execute("INSERT INTO orders (id) VALUES (1)")')


def test_an_empty_downgrade_of_a_revision_that_changes_no_schema_is_a_way_back(
    database_url: str, tmp_path: Path,
) -> None:
    root = _project_at(tmp_path, database_url, "0005", note=ROWS_ONLY)
    settings = _settings(root, database_url)
    steps: list[str] = []

    done = commands.downgrade(settings, DowngradeOptions(target="0004", backup=False),
                              progress=lambda step, text: steps.append(f"{step}: {text}"))

    assert done.summary["outcome"] == "downgraded", done.summary["what_happened"]
    assert "DBS608" not in {f.code for f in done.findings}
    # Said before the seconds env.py and the revisions take to load, as other steps are
    assert steps[0] == "preflight: reading the project's revisions …", steps
    assert "preflight: 0005 changes no schema: its empty downgrade() takes the schema back " \
           "(the rows it changed stay)" in steps
    assert _state(database_url)["version"] == ["0004"]
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT id FROM orders").fetchall() == [(1,)]


# A history adopted on a database made before it (pgbench's tables, a create_all()): b0 is
# the baseline stamped on it, and b1, b2 alter a table no revision creates.
_ADOPTED = {
    "b0": ("baseline: tables made before alembic", "pass", "pass"),
    "b1": ("accounts.note", 'op.add_column("accounts", sa.Column("note", sa.Text()))',
           'op.drop_column("accounts", "note")'),
    "b2": ("accounts.plan", 'op.add_column("accounts", sa.Column("plan", sa.Text()))',
           'op.drop_column("accounts", "plan")'),
}


def test_a_downgrade_finds_the_schemas_an_upgrade_passed_through(
    database_url: str, tmp_path: Path, postgresql: psycopg.Connection,
) -> None:
    from dbsafe.guard.upgrade import UpgradeOptions

    root = tmp_path / "p"
    write_project(root, "well_behaved")
    versions = root / "migrations" / "versions"
    for old in versions.glob("*.py"):
        old.unlink()
    previous = None
    for revision, (message, up, back) in _ADOPTED.items():
        (versions / f"{revision}.py").write_text(
            f'"""{message}"""\nimport sqlalchemy as sa\nfrom alembic import op\n\n'
            f"revision = {revision!r}\ndown_revision = {previous!r}\n\n\n"
            f"def upgrade():\n    {up}\n\n\ndef downgrade():\n    {back}\n")
        previous = revision
    postgresql.execute("CREATE TABLE accounts (id bigint PRIMARY KEY, balance int)")
    postgresql.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
    postgresql.execute("INSERT INTO alembic_version VALUES ('b0')")
    postgresql.commit()
    settings = _settings(root, database_url)
    up = commands.upgrade(settings, UpgradeOptions(backup=False, validate_app=False))
    assert up.summary["outcome"] == "applied", up.summary["what_happened"]

    # b1 and b0 were never where a run ended, and the migrations cannot build them (b1
    # alters `accounts`, which none creates): the upgrade recorded them on its way.
    for target, columns in (("b1", ["balance", "id", "note"]), ("b0", ["balance", "id"])):
        steps: list[str] = []
        down = commands.downgrade(settings, DowngradeOptions(target=target, backup=False,
                                                             yes=True),
                                  progress=lambda step, text, seen=steps: seen.append(
                                      f"{step}: {text}"))
        assert down.summary["outcome"] == "downgraded", down.summary["what_happened"]
        assert f"preflight: comparing with the schema recorded at {target}" in steps
        state = _state(database_url)
        assert state["version"] == [target]
        assert [c for t, c in state["columns"] if t == "accounts"] == columns

    # Brought to b2 by alembic alone, the database has b1's schema recorded nowhere, and the
    # migrations cannot build it (mlflow's history, its tables made by `create_all`): the
    # refusal says why it ran b1 at all and what to do, not only b1's 42P01.
    # (b1 and b2 made by hand, as their revisions do: no alembic child started for it)
    postgresql.execute("DROP SCHEMA dbsafe CASCADE")
    postgresql.execute("ALTER TABLE accounts ADD COLUMN note text, ADD COLUMN plan text")
    postgresql.execute("UPDATE alembic_version SET version_num = 'b2'")
    postgresql.commit()
    with pytest.raises(MigrationError) as refused:
        commands.downgrade(settings, DowngradeOptions(target="b1", backup=False, yes=True))
    said = str(refused.value)
    assert said.startswith("the downgrade is checked against b1's schema, which no run of "
                           "dbsafe recorded on this database, and building it from the "
                           "migrations on an empty database failed: revision b1")
    assert 'relation "accounts" does not exist' in said and "`setup-sql`" in said
    assert _state(database_url)["version"] == ["b2"]


def test_a_lock_timeout_is_retried_as_upgrade_retries_it(database_url: str,
                                                         tmp_path: Path) -> None:
    """A reader idle in its transaction on `patients` when 0003's downgrade wants ACCESS
    EXCLUSIVE on it: the attempt gives up after lock_timeout (traffic queues no longer),
    and the downgrade goes on once the reader is gone, instead of failing half way."""
    root = _project_at(tmp_path, database_url, "0004")
    reader = psycopg.connect(database_url)
    reader.execute("SELECT count(*) FROM patients")  # ACCESS SHARE until it ends
    steps: list[str] = []

    def progress(step: str, text: str) -> None:
        steps.append(f"{step}: {text}")
        if "retrying in" in text:
            reader.close()  # the report ends while dbsafe waits to try again

    try:
        report = commands.downgrade(
            _settings(root, database_url),
            DowngradeOptions(target="0002", backup=False, yes=True, lock_timeout="300ms",
                             retry_delay=0.05), progress=progress)
    finally:
        reader.close()

    assert report.summary["outcome"] == "downgraded", report.summary["what_happened"]
    (retry,) = [s for s in steps if "retrying in" in s]
    assert "lock timeout" in retry and "at 0003" in retry, retry  # 0004 was undone already
    assert _state(database_url)["version"] == ["0002"]


def test_a_lock_timeout_names_the_session_holding_the_lock(database_url: str,
                                                          tmp_path: Path) -> None:
    """A reader idle in its transaction on `patients` that never ends: the retry, the give-up,
    the DBS601 finding and the history name its session (pid, application_name, the lock it
    holds), which PostgreSQL's 55P03 message does not."""
    root = _project_at(tmp_path, database_url, "0004")
    reader = psycopg.connect(database_url, application_name="nightly-report")
    reader.execute("SELECT count(*) FROM patients")  # ACCESS SHARE until it ends
    pid, user = reader.info.backend_pid, reader.info.user
    steps: list[str] = []
    try:
        report = commands.downgrade(
            _settings(root, database_url),
            DowngradeOptions(target="0002", backup=False, yes=True, lock_timeout="300ms",
                             retries=1, retry_delay=0.05),
            progress=lambda step, text: steps.append(f"{step}: {text}"))
    finally:
        reader.close()

    named = f"blocked by pid {pid} (application_name 'nightly-report', user {user}, "
    (retry,) = [s for s in steps if "retrying in" in s]
    assert "lock timeout" in retry and named in retry, retry
    assert "holding ACCESS SHARE on public.patients — retrying in" in retry, retry
    (failed,) = [f for f in report.findings if f.code == "DBS601"]
    assert dict(failed.context)["Blocked by"].startswith(f"pid {pid} ("), failed.context
    (gave_up,) = [s for s in steps if s.startswith("apply: failed:")]
    assert named in gave_up, gave_up
    (last,) = commands.status(_settings(root, database_url)).summary["history"][:1]
    assert named in last["message"], last["message"]
    assert _state(database_url)["version"] == ["0003"]  # 0004 was undone before the wait


# 0005 adds a unique constraint and lets patients.name be NULL; its downgrade() does
# nothing. The computed downgrade drops the constraint, then sets name NOT NULL again,
# in one transaction (optuna's v2.4.0.a: dropping a constraint, then adding back a NOT
# NULL column to a table with rows).
RELAXED = '''"""relax orders.patient_id"""
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.execute("ALTER TABLE orders ADD CONSTRAINT uq_orders_patient UNIQUE (id, patient_id)")
    op.execute("ALTER TABLE orders DROP CONSTRAINT orders_patient_id_fkey")


def downgrade():
    pass
'''


def test_a_computed_downgrade_failing_names_the_statement_that_failed(
    database_url: str, tmp_path: Path,
) -> None:
    # (A NULL in a column set NOT NULL again failed it here too; such rows are now refused
    # before anything runs: test_a_computed_downgrade_the_rows_make_fail_is_refused_...)
    root = _project_at(tmp_path, database_url, "0005", note=RELAXED)
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO orders VALUES (1, 42)")  # no patient 42
    settings = _settings(root, database_url)
    planned = commands.downgrade(settings, DowngradeOptions(target="0004", backup=False,
                                                            dry_run=True))
    (missing,) = [f for f in planned.findings if f.code == "DBS608"]
    statements = [line for line in dict(missing.context)["Computed downgrade"].splitlines()
                  if line.startswith("ALTER TABLE")]
    # The foreign key comes back NOT VALID, then validated: the VALIDATE is what fails
    failing = next(i for i, sql in enumerate(statements) if "VALIDATE CONSTRAINT" in sql)
    assert failing > 0 and "DROP CONSTRAINT uq_orders_patient" in statements[0]

    report = commands.downgrade(settings, DowngradeOptions(target="0004", backup=False,
                                                           use_computed=True, yes=True))

    assert report.summary["outcome"] == "failed"
    (failed,) = [f for f in report.findings if f.code == "DBS601"]
    # PostgreSQL's 23503 is the VALIDATE's: the first statement of the transaction was named.
    assert f"failed at statement {failing + 1} of {len(statements)} (ALTER TABLE " \
           "public.orders VALIDATE CONSTRAINT" in failed.message, failed.message
    assert "violates foreign key constraint" in failed.message
    assert "nothing of it stays" in failed.message
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT to_regclass('uq_orders_patient') IS NOT NULL"
                            ).fetchone() == (True,)
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0005",)]


FAILING_DOWNGRADE = '''"""add orders.note"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.add_column("orders", sa.Column("note", sa.Text()))


def downgrade():
    op.execute("SELECT 1 / (SELECT count(*) - count(*) FROM orders)")
'''

MEMO = '''"""add orders.memo"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade():
    op.add_column("orders", sa.Column("memo", sa.Text()))


def downgrade():
    op.drop_column("orders", "memo")
'''


def _at_memo(tmp_path: Path, url: str, note: str) -> Path:
    """The well-behaved project with `note` as 0005 and MEMO as 0006, applied to 0006 on
    `url`; returns its root."""
    root = tmp_path / "p"
    write_project(root, "well_behaved")
    versions = root / "migrations" / "versions"
    (versions / "0005_note.py").write_text(note)
    (versions / "0006_memo.py").write_text(MEMO)
    at_revision(url, root / "alembic.ini", "0006")
    return root


def test_a_downgrade_failing_part_way_says_where_the_database_is_left(
    database_url: str, tmp_path: Path,
) -> None:
    """0006 goes down (committed), then 0005's downgrade fails (22012): the database is at
    0005, neither where it started nor the target, and the failure says so."""
    root = _at_memo(tmp_path, database_url, FAILING_DOWNGRADE)

    report = commands.downgrade(_settings(root, database_url),
                                DowngradeOptions(target="0004", backup=False, yes=True))

    assert report.summary["outcome"] == "failed", report.summary["what_happened"]
    assert _state(database_url)["version"] == ["0005"]
    (failed,) = [f for f in report.findings if f.code == "DBS601"]
    assert "division by zero" in failed.message
    assert failed.message.endswith("; the database is at 0005"), failed.message
    assert report.summary["what_happened"][-1].endswith("; the database is at 0005")


# 0005's downgrade drops orders.note, then fails (22012): its transaction rolls back.
DROPS_THEN_FAILS = FAILING_DOWNGRADE.replace(
    '    op.execute("SELECT 1 / (SELECT count(*) - count(*) FROM orders)")',
    '    op.drop_column("orders", "note")\n'
    '    op.execute("SELECT 1 / (SELECT count(*) - count(*) FROM orders)")')


def test_a_downgrade_failing_part_way_words_each_loss_by_whether_its_revision_ran(
    database_url: str, tmp_path: Path,
) -> None:
    """0006 goes down (orders.memo dropped, committed), then 0005's downgrade drops
    orders.note and fails: note is kept. Both findings read "The downgrade drops ..."
    after the failure; now one says it was dropped (and where its values are), the other
    that it was not, and where the downgrade stopped."""
    root = _at_memo(tmp_path, database_url, DROPS_THEN_FAILS)
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO patients (id, name) VALUES (1, 'a')")
        conn.execute("INSERT INTO orders (id, patient_id, note, memo) "
                     "VALUES (1, 1, 'n', 'm1'), (2, 1, NULL, 'm2')")

    report = commands.downgrade(_settings(root, database_url),
                                DowngradeOptions(target="0004", backup=False, yes=True))

    assert report.summary["outcome"] == "failed", report.summary["what_happened"]
    assert _state(database_url)["version"] == ["0005"]
    columns = _state(database_url)["columns"]
    assert ("orders", "note") in columns and ("orders", "memo") not in columns
    losses = {f.subject: f for f in report.findings if f.code == "DBS607"}
    assert sorted(losses) == ["public.orders.memo", "public.orders.note"], report.findings
    assert losses["public.orders.memo"].message == (
        "The downgrade dropped column `public.orders.memo` (2 non-null value(s); no backup "
        "was taken).")
    assert losses["public.orders.note"].message == (
        "Column `public.orders.note` (1 non-null value(s)) was not dropped: the downgrade "
        "stopped at 0005 before it.")


# 0005 (a real downgrade) adds orders.code varchar(5) and orders.kind NOT NULL with no
# default; 0006's downgrade() does nothing: it widens code, lets patients.name be NULL,
# drops kind, indexes code and lets orders.patient_id repeat. Its computed downgrade drops the index CONCURRENTLY (which
# commits alone) before the statements the rows make fail.
NARROWING = {"0005_code.py": '''"""orders.code, orders.kind"""
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.execute("ALTER TABLE orders ADD COLUMN code varchar(5)")
    op.execute("ALTER TABLE orders ADD COLUMN kind text NOT NULL DEFAULT 'x'")
    op.execute("ALTER TABLE orders ALTER COLUMN kind DROP DEFAULT")
    op.execute("CREATE UNIQUE INDEX ux_orders_patient ON orders (patient_id)")


def downgrade():
    op.execute("DROP INDEX ux_orders_patient")
    op.execute("ALTER TABLE orders DROP COLUMN kind")
    op.execute("ALTER TABLE orders DROP COLUMN code")
''', "0006_widen.py": '''"""widen orders.code"""
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade():
    op.execute("ALTER TABLE orders ALTER COLUMN code TYPE varchar(50)")
    op.execute("ALTER TABLE patients ALTER COLUMN name DROP NOT NULL")
    op.execute("ALTER TABLE orders DROP COLUMN kind")
    op.execute("CREATE INDEX ix_orders_code ON orders (code)")
    op.execute("DROP INDEX ux_orders_patient")


def downgrade():
    pass
'''}


def test_a_computed_downgrade_the_rows_make_fail_is_refused_before_anything_runs(
        database_url: str, tmp_path: Path) -> None:
    # Before, it ran: the index's DROP INDEX CONCURRENTLY committed, then PostgreSQL refused
    # the ALTER COLUMN ... TYPE varchar(5) (22001, value too long), and the database was
    # left at 0006 without its index (mlflow's 17e22815139b, its tag values over 5000
    # characters, lost 9 indexes and 4 foreign keys so).
    root = tmp_path / "p"
    write_project(root, "well_behaved")
    for name, text in NARROWING.items():
        (root / "migrations" / "versions" / name).write_text(text)
    at_revision(database_url, root / "alembic.ini", "0006")
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO patients VALUES (1, NULL), (2, 'b')")
        conn.execute("INSERT INTO orders VALUES (1, 1, 'longer than five'), "
                     "(2, 2, 'abcde   '), (3, 2, NULL)")
    before = _state(database_url)

    report = commands.downgrade(_settings(root, database_url), DowngradeOptions(
        target="0005", backup=False, use_computed=True, yes=True))

    assert report.summary["outcome"] == "refused", report.summary["what_happened"]
    assert _state(database_url) == before
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT to_regclass('ix_orders_code')").fetchone() == (
            "ix_orders_code",)
    failing = {f.subject: f.message for f in report.findings
               if f.message.startswith("The computed downgrade fails")}
    assert failing == {
        "public.orders.code": "The computed downgrade fails on `public.orders.code`: it "
                              "becomes character varying(5) and 1 of its values are longer.",
        "public.patients.name": "The computed downgrade fails on `public.patients.name`: it "
                                "is set NOT NULL and holds 1 NULL(s).",
        "public.orders.kind": "The computed downgrade fails on `public.orders.kind`: it is "
                              "added back NOT NULL with no default to a table holding 3 "
                              "row(s).",
        # two orders of patient 2: the unique index 0005 had is built again (23505)
        "public.orders (patient_id)": "The computed downgrade fails on `public.orders "
                                      "(patient_id)`: it is made unique again and 1 of its "
                                      "values are held by more than one row.",
    }
    # What PostgreSQL says of each, on the database itself (rolled back)
    with psycopg.connect(database_url) as conn:
        for statement, sqlstate in (
                ("ALTER TABLE orders ALTER COLUMN code TYPE varchar(5)", "22001"),
                ("ALTER TABLE patients ALTER COLUMN name SET NOT NULL", "23502"),
                ("ALTER TABLE orders ADD COLUMN kind text NOT NULL", "23502"),
                ("CREATE UNIQUE INDEX ON orders (patient_id)", "23505")):
            with pytest.raises(psycopg.Error) as failed, conn.transaction():
                conn.execute(statement)
            assert failed.value.sqlstate == sqlstate

    # Spaces past the length are cut, not refused: 'abcde   ' fits varchar(5).
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE orders SET code = 'short' WHERE id = 1")
        with conn.transaction():
            conn.execute("ALTER TABLE orders ALTER COLUMN code TYPE varchar(5)")
            raise psycopg.Rollback
        conn.execute("UPDATE patients SET name = 'a' WHERE id = 1")
        conn.execute("DELETE FROM orders")
    report = commands.downgrade(_settings(root, database_url), DowngradeOptions(
        target="0005", backup=False, use_computed=True, yes=True))
    assert report.summary["outcome"] == "downgraded", report.summary["what_happened"]


def test_a_schema_built_from_the_migrations_is_built_once(database_url: str,
                                                           tmp_path: Path) -> None:
    # 0006's schema (the start's, recorded nowhere: alembic applied it) was built twice on
    # a throwaway server, once to judge 0006's empty downgrade and once to look for changes
    # made by hand, each replaying the history; the story said so twice.
    root = tmp_path / "p"
    write_project(root, "well_behaved")
    for name, text in NARROWING.items():
        (root / "migrations" / "versions" / name).write_text(text)
    at_revision(database_url, root / "alembic.ini", "0006")

    # (no cache: another test's build of these files would be read, and none built here)
    report = commands.downgrade(_settings(root, database_url, cache=False), DowngradeOptions(
        target="0005", backup=False, dry_run=True))

    story = report.summary["what_happened"]
    assert story.count("preflight: building 0006's schema from the migrations") == 1, story
    assert story.count("preflight: building 0005's schema from the migrations") == 1, story
    assert [f.code for f in report.findings if f.subject == "0006"] == ["DBS608"]


def test_a_schema_built_from_the_migrations_is_cached_until_a_revision_changes(
        database_url: str, tmp_path: Path) -> None:
    # `downgrade --dry-run` run again and again by a DBA deciding built TARGET's schema (and
    # the start's) on a throwaway server every time, 2-7 s each; now cached as validate
    # caches its schema, by the migration files: a revision edited is built again.
    root = _project_at(tmp_path, database_url, "0005", note=EMPTY_DOWNGRADE)
    cache = tmp_path / "cache"
    settings = load_settings(root, {"database-url": database_url, "cache-dir": str(cache)},
                             environ={})
    options = DowngradeOptions(target="0004", backup=False, dry_run=True)

    def building(report: Any) -> list[str]:
        return [line for line in report.summary["what_happened"] if "building" in line]

    first = commands.downgrade(settings, options)
    second = commands.downgrade(settings, options)

    assert building(first) == ["preflight: building 0004's schema from the migrations",
                               "preflight: building 0005's schema from the migrations"]
    story = second.summary["what_happened"]
    assert building(second) == [], story
    assert "preflight: comparing with the schema built from the migrations at 0004 (cached)" \
        in story
    assert second.findings == first.findings
    assert "DROP COLUMN note" in second.summary["computed_sql"].replace('"', "")

    # 0005 edited (the database holds the column as it was made): both built again, and
    # the column's type the database holds is now a change the migrations did not make.
    (root / "migrations" / "versions" / "0005_note.py").write_text(
        EMPTY_DOWNGRADE.replace("sa.Text()", "sa.String(10)"))
    edited = commands.downgrade(settings, options)

    assert building(edited) == building(first), edited.summary["what_happened"]
    assert "DBS609" not in [f.code for f in first.findings]
    assert "DBS609" in [f.code for f in edited.findings], edited.findings

    # The command line reads the same cache, and --no-cache builds again.
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith(("PG", "DBSAFE_"))}
    env.update({"DBSAFE_DATABASE_URL": database_url, "DBSAFE_CACHE_DIR": str(cache)})
    args = ("downgrade", "0004", "--dry-run", "--no-backup")
    cached = dbsafe_in_process(*args, cwd=root, env=env)
    rebuilt = dbsafe_in_process(*args, "--no-cache", cwd=root, env=env)

    assert "building" not in cached.stderr, cached.stderr
    assert "comparing with the schema built from the migrations at 0004 (cached)" in \
        cached.stderr
    assert "building 0004's schema from the migrations" in rebuilt.stderr, rebuilt.stderr
    assert cached.returncode == rebuilt.returncode == 1, (cached.stderr, rebuilt.stderr)


# 0005 makes the orders' foreign key ON DELETE CASCADE; its downgrade() keeps it (it only
# comments the table), as zou's d7a3e5b1c9f2 keeps its cascades on purpose.
KEEPS_CASCADE = '''"""cascade orders"""
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.execute("ALTER TABLE orders DROP CONSTRAINT orders_patient_id_fkey, ADD CONSTRAINT "
               "orders_patient_id_fkey FOREIGN KEY (patient_id) REFERENCES patients "
               "ON DELETE CASCADE")


def downgrade():
    op.execute("COMMENT ON TABLE orders IS NULL")
'''


def test_a_schema_differing_after_the_downgrade_says_which_side_is_which(
        database_url: str, tmp_path: Path) -> None:
    # The difference read "(... ON DELETE CASCADE -> ... )" under "differs from the one
    # recorded at 0004": as if 0004 had the cascade and the database had lost it, when the
    # database kept it and 0004 never had it. 0004's schema was built (alembic applied it),
    # not recorded, and the finding said "recorded".
    root = _project_at(tmp_path, database_url, "0005", note=KEEPS_CASCADE)
    report = commands.downgrade(_settings(root, database_url), DowngradeOptions(
        target="0004", backup=False, yes=True))
    assert report.summary["outcome"] == "failed"
    (finding,) = [f for f in report.findings if f.code == "DBS603"]
    assert finding.message == ("After the downgrade, the schema differs from the one built "
                               "from the migrations at 0004.")
    ((title, text),) = finding.context
    assert title == "Differences (the database -> 0004's schema)"
    assert "ON DELETE CASCADE -> FOREIGN KEY (patient_id) REFERENCES patients(id))" in text
    with psycopg.connect(database_url) as conn:
        assert "ON DELETE CASCADE" in conn.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conname = 'orders_patient_id_fkey'").fetchone()[0]


# 0005 adds orders.note; its downgrade() rewrites patients' names before dropping it, as
# CTFd's 24ad6790bc3c's turned every vote into 5 stars.
REWRITES_ROWS = '''"""add orders.note"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.add_column("orders", sa.Column("note", sa.Text()))


def downgrade():
    op.execute("UPDATE patients SET name = name || '!'")
    op.drop_column("orders", "note")
'''


def test_a_downgrade_says_which_rows_of_the_tables_it_keeps_it_changed(
    database_url: str, tmp_path: Path,
) -> None:
    """The rows of the tables a downgrade keeps are compared on the columns it keeps: the
    names 0005's downgrade() rewrote are said, with the backup holding them; `orders`,
    whose `note` it drops (DBS607), is not a change."""
    root = _project_at(tmp_path, database_url, "0005", note=REWRITES_ROWS)
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO patients VALUES (1, 'a'), (2, 'b')")
        conn.execute("INSERT INTO orders VALUES (1, 1, 'x'), (2, 2, NULL)")
    steps: list[str] = []

    done = commands.downgrade(_settings(root, database_url),
                              DowngradeOptions(target="0004", yes=True,
                                               backup_dir=tmp_path / "backups"),
                              progress=lambda step, text: steps.append(f"{step}: {text}"))

    assert done.summary["outcome"] == "downgraded", done.summary["what_happened"]
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT name FROM patients ORDER BY id").fetchall() == [
            ("a!",), ("b!",)]
    # (task 475: "the tables the pending revisions may change": a downgrade's are undone)
    assert [s for s in steps if s.startswith("rows: rows the downgrade may change")] == [
        "rows: rows the downgrade may change: the tables the revisions undone may change "
        "(public.orders, public.patients)"], steps
    (changed,) = [s for s in steps if "changed the rows" in s]
    assert changed == ("verify: the downgrade changed the rows of 1 table(s) it keeps: "
                       "public.patients: 2 rows, changed; as they were: "
                       + restore_hint(done.summary["backup"], database_url))

    again = commands.downgrade(_settings(root, database_url),
                               DowngradeOptions(target="0003", yes=True, backup=False),
                               progress=lambda step, text: steps.append(f"{step}: {text}"))
    assert again.summary["outcome"] == "downgraded", again.summary["what_happened"]
    # 0004's downgrade only drops a table: no row of a kept table is read, none compared
    assert "rows: rows the downgrade may change: no revision changes rows" in steps, [
        s for s in steps if "rows" in s]
    assert not [s for s in steps if "it keeps are as before" in s or ("changed the rows" in s
                and s != changed)]


# 0005's downgrade() rewrites patients' names online only: its offline render (which the
# downgrade reads to choose the tables whose rows it compares) shows no UPDATE.
ONLINE_ONLY_REWRITE = REWRITES_ROWS.replace(
    '''    op.execute("UPDATE patients SET name = name || '!'")''',
    '''    from alembic import context

    if not context.is_offline_mode():
        op.execute("UPDATE patients SET name = name || '!'")''')


def test_a_downgrade_branching_on_offline_mode_is_captured_and_compares_what_it_changes(
    database_url: str, tmp_path: Path,
) -> None:
    """Its offline render lacks the UPDATE it runs online: it is captured on a copy of the
    database's schema, as one alembic cannot render is, and the UPDATE read there (task
    510: every kept table was compared, its SQL said to be unknown)."""
    root = _project_at(tmp_path, database_url, "0005", note=ONLINE_ONLY_REWRITE)
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO patients VALUES (1, 'a'), (2, 'b')")
    steps: list[str] = []

    done = commands.downgrade(_settings(root, database_url),
                              DowngradeOptions(target="0004", yes=True, backup=False),
                              progress=lambda step, text: steps.append(f"{step}: {text}"))

    assert done.summary["outcome"] == "downgraded", done.summary["what_happened"]
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT name FROM patients ORDER BY id").fetchall() == [
            ("a!",), ("b!",)]
    assert ("rows: rows the downgrade may change: the tables the revisions undone may change "
            "(public.orders, public.patients)") in steps, [s for s in steps if "rows" in s]
    assert ("preflight: the downgrade() of 0005 branches on context.is_offline_mode(), so "
            "what it runs online is not what alembic renders offline: running it on a copy of "
            "the database's schema on a throwaway server") in steps, steps
    assert [s for s in steps if s.startswith("preflight: the downgrade ran on the copy")], steps
    (changed,) = [s for s in steps if "changed the rows" in s]
    assert changed.startswith("verify: the downgrade changed the rows of 1 table(s) it keeps: "
                              "public.patients: 2 rows, changed"), changed


def test_a_downgrade_whose_env_py_renders_nothing_offline_reads_its_rows_from_the_capture(
    database_url: str, tmp_path: Path,
) -> None:
    """With no SQL rendered offline (an env.py with no offline branch, as fractal-server's),
    the SQL is captured on a copy of the database's schema, and the tables whose rows are
    compared are those it changes: none, for an index dropped (task 496: every kept one was
    compared, said so; before that, the line said `lint did not say which tables the
    revisions change`, of a downgrade no lint reads)."""
    root = tmp_path / "p"
    write_project(root, "online_only", ini_url="postgresql+psycopg://app@localhost:1/app")
    at_revision(database_url, root / "alembic.ini", "0004")
    steps: list[str] = []

    done = commands.downgrade(_settings(root, database_url),
                              DowngradeOptions(target="0003", yes=True, backup=False),
                              progress=lambda step, text: steps.append(f"{step}: {text}"))

    assert done.summary["outcome"] == "downgraded", done.summary["what_happened"]
    assert [s for s in steps if s.startswith("preflight: the downgrade's SQL could not be "
                                             "rendered offline (refused: env.py tried to "
                                             "connect")], steps
    rows = [s for s in steps if "rows the downgrade may change" in s]
    assert rows == ["rows: rows the downgrade may change: no revision changes rows"], rows
    # (a step of its own: it read `backup:` with no backup taken)
    assert not [s for s in steps if s.startswith("backup:")], steps
    assert not [s for s in steps if s.startswith("verify: the rows of")], steps


def test_the_computed_downgrade_is_shown_once_for_every_revision_without_one(
        database_url: str, tmp_path: Path) -> None:
    # Each DBS608 carried the whole computed downgrade (from the database to TARGET, the
    # same for all): cinder's six revisions without a downgrade() printed its 22 lines six
    # times over. It is shown under the newest; the others say where it is.
    root = tmp_path / "p"
    write_project(root, "well_behaved")
    versions = root / "migrations" / "versions"
    (versions / "0005_note.py").write_text(EMPTY_DOWNGRADE)
    # 0006 has no downgrade() at all, as cinder's: the story said why alembic cannot render
    # the downgrade offline as `module '0006_nick_py' has no attribute 'downgrade'`.
    (versions / "0006_nick.py").write_text(EMPTY_DOWNGRADE.replace(
        '"0005"', '"0006"').replace('"0004"', '"0005"').replace(
        '"orders", sa.Column("note"', '"patients", sa.Column("nick"').replace(
        "\n\ndef downgrade():\n    pass\n", ""))
    apply(AlembicProject(root / "alembic.ini"), database_url, [("upgrade", "0006")])

    report = commands.downgrade(_settings(root, database_url), DowngradeOptions(
        target="0004", backup=False, dry_run=True))

    missing = {f.subject: f for f in report.findings if f.code == "DBS608"}
    assert sorted(missing) == ["0005", "0006"]
    computed = dict(missing["0006"].context)["Computed downgrade"]
    assert "DROP COLUMN nick" in computed and "DROP COLUMN note" in computed
    assert missing["0005"].context == ()
    assert "The computed downgrade, from 0006 to 0004 for every revision without one, is " \
        "shown under `0006`." in (missing["0005"].help or "")
    assert "preflight: data loss read from the schemas only: alembic cannot render the " \
        "downgrade offline, since 0006 has no downgrade()" in report.summary["what_happened"]


# 0006 widens orders.code and lets orders.patient_id repeat; its real downgrade() narrows
# code back and makes patient_id unique again: longer values, and shared ones, refuse it.
NARROWS_BACK = '''"""widen orders.code"""
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade():
    op.execute("ALTER TABLE orders ALTER COLUMN code TYPE varchar(50)")
    op.execute("DROP INDEX ux_orders_patient")


def downgrade():
    FIRST
    op.execute("ALTER TABLE orders ALTER COLUMN code TYPE varchar(5)")
    op.execute("CREATE UNIQUE INDEX ux_orders_patient ON orders (patient_id)")
'''


SETS_NOT_NULL = 'op.execute("ALTER TABLE orders ALTER COLUMN patient_id SET NOT NULL")'


@pytest.mark.parametrize("first", [
    "pass", "op.execute(\"UPDATE orders SET code = left(code, 5)\")", SETS_NOT_NULL,
    'op.execute("UPDATE orders SET patient_id = 1")\n    ' + SETS_NOT_NULL],
    ids=["refused", "rows-changed-first", "sets-not-null", "filled-then-not-null"])
def test_rows_refusing_a_revisions_own_downgrade_refuse_it_before_anything_runs(
        database_url: str, tmp_path: Path, first: str) -> None:
    # Apache Airflow's d75389605139 (`log.event` back to varchar(30)) was planned, and its
    # downgrade failed half way on longer values (22001), the revisions before it undone.
    root = tmp_path / "p"
    write_project(root, "well_behaved")
    (root / "migrations" / "versions" / "0005_code.py").write_text(NARROWING["0005_code.py"])
    (root / "migrations" / "versions" / "0006_widen.py").write_text(
        NARROWS_BACK.replace("FIRST", first))
    at_revision(database_url, root / "alembic.ini", "0006")
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO patients VALUES (1, 'a')")
        conn.execute("INSERT INTO orders (id, patient_id, code, kind) "
                     "VALUES (1, 1, 'longer than five', 'k'), (2, NULL, 'abc', 'k'), "
                     "(3, 1, 'ok', 'k')")

    # `ignore` leaves none of the guarded commands' findings out (docs/rules/DBS617.md)
    settings = load_settings(root, {"database-url": database_url, "cache": False,
                                    "ignore": ["DBS617"]}, environ={})
    report = commands.downgrade(settings, DowngradeOptions(
        target="0005", backup=False, dry_run=True))

    refusals = [f.message for f in report.findings if f.code == "DBS617"]
    lines = "\n".join(report.summary["what_happened"])
    if first == SETS_NOT_NULL:
        # TARGET's schema has patient_id nullable: only the statement says it (Airflow's
        # d75389605139 setting log.event NOT NULL over 400 NULLs)
        # (the unique index 0006 makes again over patient_id's duplicate 1 is said once,
        # by the schema's question: the same key asked of the statement is left out)
        assert refusals[1:] == [
            "The downgrade fails on `public.orders (patient_id)`: it is made unique again and "
            "1 of its values are held by more than one row.",
            "The downgrade fails on `orders.patient_id`: 0006's `ALTER TABLE orders ALTER "
            "COLUMN patient_id SET NOT NULL` refuses it: it holds NULLs in 1 row(s)."], refusals
        with psycopg.connect(database_url) as conn:  # as PostgreSQL says
            with pytest.raises(psycopg.Error) as failed, conn.transaction():
                conn.execute("ALTER TABLE orders ALTER COLUMN patient_id SET NOT NULL")
            assert failed.value.sqlstate == "23502"
    elif first.endswith(SETS_NOT_NULL):  # every row filled first: it cannot fail
        assert "patient_id SET NOT NULL" not in lines, lines
        # (the UPDATE, the first write of orders, leaves code as it is and every patient_id
        # 1: the retype and the unique index after it are asked over its rows, task 596)
        assert refusals == [
            "The downgrade fails on `orders.code`: 0006's `ALTER TABLE orders ALTER COLUMN "
            "code TYPE varchar(5)` refuses it: it holds values that do not cast to varchar(5) "
            "(22001 string_data_right_truncation) in 1 row(s), e.g. key (1).",
            "The downgrade fails on `orders (patient_id)`: 0006's `CREATE UNIQUE INDEX "
            "ux_orders_patient ON orders (patient_id)` refuses it: it has duplicate unique "
            "index values, e.g. key (1)."], refusals
        with psycopg.connect(database_url) as conn:  # as PostgreSQL says
            with pytest.raises(psycopg.Error) as failed, conn.transaction():
                for statement in ("UPDATE orders SET patient_id = 1",
                                  "ALTER TABLE orders ALTER COLUMN patient_id SET NOT NULL",
                                  "ALTER TABLE orders ALTER COLUMN code TYPE varchar(5)"):
                    conn.execute(statement)
            assert failed.value.sqlstate == "22001"
    elif first == "pass":
        assert refusals == ["The downgrade fails on `public.orders.code`: it becomes character "
                            "varying(5) and 1 of its values are longer.",
                            "The downgrade fails on `public.orders (patient_id)`: it is made "
                            "unique again and 1 of its values are held by more than one row."
                            ], report.findings
        with psycopg.connect(database_url) as conn:  # as PostgreSQL says
            with pytest.raises(psycopg.Error) as failed, conn.transaction():
                conn.execute("ALTER TABLE orders ALTER COLUMN code TYPE varchar(5)")
            assert failed.value.sqlstate == "22001"
    else:  # the downgrade cuts them first: not a refusal, and said (once: its own ALTER
        # ... TYPE of code, after the UPDATE, asked over the rows it leaves, passes; the
        # unique index after it refuses the patient_id it leaves twice, task 596)
        assert refusals == [
            "The downgrade fails on `orders (patient_id)`: 0006's `CREATE UNIQUE INDEX "
            "ux_orders_patient ON orders (patient_id)` refuses it: it has duplicate unique "
            "index values, e.g. key (1)."], refusals
        with psycopg.connect(database_url) as conn:  # as PostgreSQL says
            with pytest.raises(psycopg.Error) as failed, conn.transaction():
                for statement in ("UPDATE orders SET code = left(code, 5)",
                                  "ALTER TABLE orders ALTER COLUMN code TYPE varchar(5)",
                                  "CREATE UNIQUE INDEX ux_orders_patient ON orders "
                                  "(patient_id)"):
                    conn.execute(statement)
            assert failed.value.sqlstate == "23505"
        assert "rows: 0006: ALTER TABLE orders ALTER COLUMN code TYPE" not in lines, lines
        assert ("rows: public.orders.code: it becomes character varying(5) and 1 of its values "
                "are longer: cannot tell whether the downgrade fails on them (it changes rows "
                "of orders first: `UPDATE orders SET code = left(code, 5)`)") in lines, lines
        assert ("rows: public.orders (patient_id): it is made unique again and 1 of its values "
                "are held by more than one row: cannot tell whether the downgrade fails on them "
                "(it changes rows of orders first: `UPDATE orders SET code = left(code, 5)`)"
                ) in lines, lines


# A downgrade() whose statements take the refused rows away first: PostgreSQL runs it over
# a longer code and a table with rows (DBS617 refused each). Asked of the statements
# alone, on a bare table: no project, no alembic run.
@pytest.mark.parametrize("subject,statements,why", [
    ("public.orders.code", ["ALTER TABLE orders DROP COLUMN code",
                            "ALTER TABLE orders ADD COLUMN code varchar(50)",
                            "ALTER TABLE orders ALTER COLUMN code TYPE varchar(5)"],
     "it drops code first: `ALTER TABLE orders DROP COLUMN code`"),
    ("public.orders.code", ["DROP TABLE orders", "CREATE TABLE orders (code varchar(5))"],
     "it drops orders first: `DROP TABLE orders`"),
    ("public.orders.kind", ["ALTER TABLE orders ADD COLUMN kind text NOT NULL DEFAULT 'x'",
                            "ALTER TABLE orders ALTER COLUMN kind DROP DEFAULT"],
     "it adds kind with a DEFAULT first: `ALTER TABLE orders ADD COLUMN kind text NOT NULL "
     "DEFAULT 'x'`"),
    ("public.orders.code", ["SELECT cut_codes()",
                            "ALTER TABLE orders ALTER COLUMN code TYPE varchar(5)"],
     "it calls cut_codes(), which may change rows of orders: `SELECT cut_codes()`"),
    ("public.orders.kind", ["ALTER TABLE orders RENAME COLUMN kind2 TO kind",
                            "ALTER TABLE orders ALTER COLUMN kind SET NOT NULL"],
     "it renames to kind first: `ALTER TABLE orders RENAME COLUMN kind2 TO kind`"),
    # statements running a query that are no UPDATE (task 382)
    ("public.orders.code", ["EXPLAIN ANALYZE UPDATE orders SET code = left(code, 5)",
                            "ALTER TABLE orders ALTER COLUMN code TYPE varchar(5)"],
     "it changes rows of orders first: `EXPLAIN ANALYZE UPDATE orders SET code = left(code, "
     "5)`"),
    ("public.orders.code", ["PREPARE cut AS UPDATE orders SET code = left(code, 5)",
                            "EXECUTE cut", "ALTER TABLE orders ALTER COLUMN code TYPE varchar(5)"],
     "it changes rows of orders first: `EXECUTE cut`"),
    ("public.orders.code", ["CREATE TABLE cut AS SELECT 1 AS n FROM (SELECT cut_codes()) c",
                            "ALTER TABLE orders ALTER COLUMN code TYPE varchar(5)"],
     "it calls cut_codes(), which may change rows of orders: `CREATE TABLE cut AS SELECT 1 AS "
     "n FROM (SELECT cut_codes())…`"),
], ids=["column-recreated", "table-recreated", "added-back-with-default", "function-called",
        "renamed-back", "explain-analyze", "execute", "create-table-as"])
def test_a_downgrade_taking_the_refused_rows_away_first_is_not_refused(
        database_url: str, subject: str, statements: list[str], why: str) -> None:
    from dbsafe.guard.downgrade_rows import cannot_tell
    from dbsafe.lint.statement import parse_statement

    with psycopg.connect(database_url) as conn:  # as PostgreSQL says: it runs
        conn.execute("CREATE TABLE orders (code varchar(50), kind2 text)")
        conn.execute("INSERT INTO orders VALUES ('longer than five', 'k')")
        conn.execute("CREATE FUNCTION cut_codes() RETURNS void LANGUAGE sql "
                     "AS $$ UPDATE orders SET code = left(code, 5) $$")
        for statement in statements:
            conn.execute(statement)
    assert cannot_tell(subject, [parse_statement(s) for s in statements]) == why


def test_a_downgrade_statement_over_a_column_the_schema_questions_named_is_said_once(
        database_url: str) -> None:
    from dbsafe.guard.downgrade_rows import not_named, own_checks
    from dbsafe.guard.row_refusals import probe_rows

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id int, code varchar(50))")
        conn.execute("INSERT INTO orders VALUES (1, 'longer than five'), (2, NULL)")

        def said(*statements: str, refused: tuple[str, ...] = (),
                 untold: tuple[str, ...] = ()) -> list[tuple[str, str]]:
            checks = own_checks([(statement, "0006") for statement in statements])
            return [(v.outcome, v.sql) for v in not_named(
                probe_rows(conn, checks, lock_timeout="1s"), refused, untold)]

        # the schema's question could not tell of code (the UPDATE cuts it first): its own
        # ALTER ... TYPE, after the UPDATE, cannot be told for the same reason, not said again
        cut = ("UPDATE orders SET code = 'short' WHERE id = 1",
               "ALTER TABLE orders ALTER COLUMN code TYPE varchar(5)")
        # (the UPDATE alone, the first write of orders: asked over its rows, task 596)
        assert said(*cut) == [("passes", cut[1])]
        with conn.transaction(force_rollback=True):  # as PostgreSQL says
            for statement in cut:
                conn.execute(statement)
        cut = (cut[0], "UPDATE orders SET code = code WHERE id = 2", cut[1])
        assert said(*cut) == [("cannot tell", cut[2])]
        assert said(*cut, untold=("public.orders.code",)) == []
        # SET NOT NULL before the UPDATE filling the NULLs fails, whatever the question could
        # not tell of code: a refusal, said; one the question refused already is not
        filled_after = ("ALTER TABLE orders ALTER COLUMN code SET NOT NULL",
                        "UPDATE orders SET code = 'x' WHERE code IS NULL")
        assert said(*filled_after, untold=("public.orders.code",)) == [
            ("refused", filled_after[0])]
        assert said(*filled_after, refused=("public.orders.code",)) == []
        with pytest.raises(psycopg.errors.NotNullViolation), conn.transaction():
            for statement in filled_after:  # as PostgreSQL says
                conn.execute(statement)


def test_a_column_dropped_then_added_back_not_null_is_refused_over_a_table_with_rows(
        database_url: str) -> None:
    # Open-Assistant's 160ac010efcc goes back by dropping message.lang and adding it again
    # VARCHAR(200) NOT NULL with no default: said "cannot tell" (its own DROP COLUMN made
    # the column's rows not today's), planned, and it failed (23502) with 15 revisions
    # undone. The column added holds NULL in every row whatever the dropped one held.
    from dbsafe.guard.downgrade_rows import own_checks
    from dbsafe.guard.row_refusals import probe_rows

    back = ("ALTER TABLE message DROP COLUMN lang",
            "ALTER TABLE message ADD COLUMN lang varchar(200) NOT NULL")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE message (id int, lang varchar(32) NOT NULL DEFAULT 'en')")
        conn.execute("INSERT INTO message VALUES (1, 'de')")
        checks = own_checks([(statement, "160ac010efcc") for statement in back])
        assert [(v.outcome, v.sql, v.detail) for v in probe_rows(conn, checks,
                                                                 lock_timeout="1s")] == [
            ("refused", back[1], "holds NULLs (added without a DEFAULT) in 1 row(s)")]
        with pytest.raises(psycopg.errors.NotNullViolation), conn.transaction():
            for statement in back:  # as PostgreSQL says
                conn.execute(statement)


def test_counts_are_said_with_separators_and_a_column_added_back_is_told_to_get_a_default(
        database_url: str) -> None:
    # (task 475: Open-Assistant's DBS607 said `60000 non-null value(s)` where the rest of the
    # run says 146,910; and its DBS617 of `ADD COLUMN lang ... NOT NULL` said "Change those
    # rows first", of a column that holds no value before it is added)
    from dbsafe.guard.data_loss import Loss, loss_finding, measured
    from dbsafe.guard.downgrade_rows import own_checks, verdict_finding
    from dbsafe.guard.row_refusals import probe_rows

    back = ("ALTER TABLE message DROP COLUMN lang",
            "ALTER TABLE message ADD COLUMN lang varchar(200) NOT NULL",
            "ALTER TABLE message ALTER COLUMN memo SET NOT NULL")
    with psycopg.connect(database_url, autocommit=True) as conn:
        # (never analysed: autovacuum analysing it mid-test would make the statistics the
        # figure, `~1.2k rows (estimated ...)`, task 546's wording for an analysed table)
        conn.execute("CREATE TABLE message (id int, lang text NOT NULL DEFAULT 'en', memo text) "
                     "WITH (autovacuum_enabled = false)")
        conn.execute("INSERT INTO message SELECT g, 'de', CASE WHEN g > 1 THEN 'x' END "
                     "FROM generate_series(1, 1234) g")
        assert [loss_finding(m).message for loss in (Loss("public", "message", "memo"),
                                                     Loss("public", "message"))
                for m in measured(conn, [loss])] == [
            "The downgrade drops column `public.message.memo`, which holds 1,233 non-null "
            "value(s).",
            "The downgrade drops table `public.message`, which holds 1,234 row(s)."]
        checks = own_checks([(statement, "160ac010efcc") for statement in back])
        added, filled = [verdict_finding(v) for v in probe_rows(conn, checks,
                                                                 lock_timeout="1s")]
    assert added.message.endswith("refuses it: it holds NULLs (added without a DEFAULT) in "
                                  "at least 1,000 row(s)."), added.message
    assert (added.help or "").startswith(
        "Give the column a default in the downgrade() (`op.add_column(..., "
        "server_default=...)`), or add it nullable, fill it and then set it NOT NULL; "), added
    # a column the database holds: its rows are the fix
    assert filled.message.endswith("it holds NULLs in 1 row(s)."), filled.message
    assert (filled.help or "").startswith("Change those rows first"), filled


ADDS_BACK = {"0005_kind.py": '''"""orders.kind, no default"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.add_column("orders", sa.Column("kind", sa.Text(), nullable=False, server_default="k"))
    op.alter_column("orders", "kind", server_default=None)


def downgrade():
    op.drop_column("orders", "kind")
''', "0006_no_kind.py": '''"""drop orders.kind"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade():
    op.drop_column("orders", "kind")


def downgrade():
    op.add_column("orders", sa.Column("kind", sa.Text(), nullable=False))
'''}


def test_a_column_the_downgrade_adds_back_not_null_is_told_to_get_a_default(
        database_url: str, tmp_path: Path) -> None:
    # (task 475: "Change those rows first", of a column no row holds yet)
    root = tmp_path / "p"
    write_project(root, "well_behaved")
    for name, text in ADDS_BACK.items():
        (root / "migrations" / "versions" / name).write_text(text)
    at_revision(database_url, root / "alembic.ini", "0006")
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO orders (id) VALUES (1)")

    report = commands.downgrade(_settings(root, database_url), DowngradeOptions(
        target="0005", backup=False, dry_run=True))

    (refused,) = [f for f in report.findings if f.code == "DBS617"]
    # (said as the statement does it: task 510)
    assert refused.message == (
        "The downgrade fails on `public.orders.kind`: 0006's `ALTER TABLE orders ADD COLUMN "
        "kind TEXT NOT NULL` adds it back NOT NULL with no default to a table holding 1 "
        "row(s).")
    assert (refused.help or "").startswith("Give the column a default in the downgrade() "), \
        refused.help


def test_a_failed_downgrade_names_the_restore_that_puts_the_database_back(
    database_url: str, tmp_path: Path,
) -> None:
    # Its help named `dbsafe restore FILE` without `--replace`, which makes a copy beside
    # the database (Open-Assistant's, 15 revisions undone, stayed as the failure left it).
    root = _at_memo(tmp_path, database_url, FAILING_DOWNGRADE)

    report = commands.downgrade(_settings(root, database_url), DowngradeOptions(
        target="0004", backup_dir=tmp_path / "backups", yes=True))

    assert report.summary["outcome"] == "failed", report.summary["what_happened"]
    (failed,) = [f for f in report.findings if f.code == "DBS601"]
    assert failed.help == (
        "The backup puts the database back as it was before the downgrade: "
        + restore_hint(report.summary["backup"], database_url, "--replace")
    ), failed.help


# fractal-server's way back (task 496): 0007's downgrade() adds `note` back nullable, then
# 0006's sets it NOT NULL over the NULLs that leaves (its 7910eed4cf97 after b7477cc98f45).
NOT_NULL_AGAIN = {"0005_note.py": '''"""orders.note, NOT NULL"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.add_column("orders", sa.Column("note", sa.Text(), nullable=False, server_default="-"))
    op.alter_column("orders", "note", server_default=None)


def downgrade():
    op.drop_column("orders", "note")
''', "0006_nullable.py": '''"""orders.note nullable"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade():
    op.alter_column("orders", "note", existing_type=sa.Text(), nullable=True)


def downgrade():
    op.alter_column("orders", "note", existing_type=sa.Text(), nullable=False)
''', "0007_drop.py": '''"""drop orders.note"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade():
    op.drop_column("orders", "note")


def downgrade():
    BEFORE
    op.add_column("orders", sa.Column("note", sa.Text(), nullable=True))
'''}


def _online_only_at_0007(tmp_path: Path, url: str, before: str = "pass") -> Path:
    """A project whose env.py connects in any mode (nothing renders offline, as
    fractal-server's), at 0007 on `url` with two orders."""
    root = tmp_path / "p"
    write_project(root, "online_only", ini_url="postgresql+psycopg://app@localhost:1/app")
    for name, text in NOT_NULL_AGAIN.items():
        (root / "migrations" / "versions" / name).write_text(text.replace("BEFORE", before))
    at_revision(url, root / "alembic.ini", "0007")
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO patients VALUES (1, 'a')")
        conn.execute("INSERT INTO orders VALUES (1, 1), (2, 1)")
    return root


def test_a_downgrade_alembic_cannot_render_is_captured_and_refused_on_the_rows(
        database_url: str, tmp_path: Path) -> None:
    """Its SQL is captured as it runs on a copy of the database's schema: the NOT NULL it
    sets over the NULLs of a column it adds back is refused before anything runs (it said
    `cannot tell (its SQL could not be read offline)`, and failed with 23502 half way)."""
    root = _online_only_at_0007(tmp_path, database_url)
    before = _state(database_url)
    steps: list[str] = []

    report = commands.downgrade(_settings(root, database_url),
                                DowngradeOptions(target="0005", yes=True, backup=False),
                                progress=lambda step, text: steps.append(f"{step}: {text}"))

    assert report.summary["outcome"] == "refused", report.summary["what_happened"]
    # (as its statements do it: "it is added back NOT NULL with no default" read as one
    # statement adding it so, task 510)
    assert [f.message for f in report.findings if f.code == "DBS617"] == [
        "The downgrade fails on `public.orders.note`: 0007's `ALTER TABLE orders ADD COLUMN "
        "note TEXT` adds it back nullable with no default, and 0006's `ALTER TABLE orders "
        "ALTER COLUMN note SET NOT NULL` sets it NOT NULL over the NULL that leaves in each of "
        "the table's 2 row(s)."], report.findings
    assert _state(database_url) == before  # nothing ran
    assert [s for s in steps if s.startswith(
        "preflight: the downgrade's SQL could not be rendered offline (refused: env.py tried "
        "to connect")] and [s for s in steps if s.endswith(
            "running it on a copy of the database's schema on a throwaway server")], steps
    assert [s for s in steps if s.startswith("preflight: the downgrade ran on the copy: its "
                                             "2 statement(s) are read")], steps
    assert not [s for s in steps if "cannot tell" in s], steps
    # (as PostgreSQL says: the same two statements over the two orders)
    with psycopg.connect(database_url) as conn:
        with pytest.raises(psycopg.Error) as failed, conn.transaction():
            conn.execute("ALTER TABLE orders ADD COLUMN note text")
            conn.execute("ALTER TABLE orders ALTER COLUMN note SET NOT NULL")
        assert failed.value.sqlstate == "23502"


def test_a_captured_downgrade_filling_the_rows_first_is_not_refused(
        database_url: str, tmp_path: Path) -> None:
    """The capture's statements are read as the offline SQL is: an UPDATE filling the column
    before its NOT NULL is seen, and the downgrade runs."""
    root = _online_only_at_0007(
        tmp_path, database_url,
        'op.add_column("orders", sa.Column("note", sa.Text(), nullable=True))\n'
        '    op.execute("UPDATE orders SET note = \'-\'")\n    return')

    report = commands.downgrade(_settings(root, database_url),
                                DowngradeOptions(target="0005", yes=True, backup=False))

    assert report.summary["outcome"] == "downgraded", report.summary["what_happened"]
    assert not [f for f in report.findings if f.code == "DBS617"], report.findings
    assert _state(database_url)["version"] == ["0005"]
    lines = report.summary["what_happened"]
    assert ("preflight: rows: public.orders.note: it is added back NOT NULL with no default to "
            "a table holding 2 row(s): cannot tell whether the downgrade fails on them (it "
            "changes rows of orders first: `UPDATE orders SET note = '-'`)") in lines, lines


def test_a_downgrade_failing_on_the_copy_too_is_said_so(database_url: str,
                                                         tmp_path: Path) -> None:
    root = _online_only_at_0007(tmp_path, database_url,
                                'op.execute("ALTER TABLE nowhere ADD COLUMN x int")')
    steps: list[str] = []

    report = commands.downgrade(_settings(root, database_url),
                                DowngradeOptions(target="0005", backup=False, dry_run=True),
                                progress=lambda step, text: steps.append(f"{step}: {text}"))

    assert report.summary["outcome"] == "planned"
    (said,) = [s for s in steps if "fails on a copy of the database's schema too" in s]
    assert "revision 0007" in said and 'relation "nowhere" does not exist' in said, said
    assert said.endswith("it would fail there on the database, the revisions before 0007 "
                         "undone; the 1 statement(s) it ran up to there are read"), said
    # what 0007 would run after it is unknown: the rows are not judged from the part read
    assert not [f for f in report.findings if f.code == "DBS617"], report.findings
    assert [s for s in steps if "public.orders.note" in s and "cannot tell" in s
            and "failed on the copy of the database's schema at 0007" in s], steps



def _branching_at_0007(tmp_path: Path, url: str, downgrade: str) -> Path:
    """The well-behaved project (its env.py renders offline) with NOT_NULL_AGAIN's
    revisions, 0007's downgrade() being `downgrade` (it adds `note` back), at 0007 on `url`
    with two orders of patient 1 ('a')."""
    root = tmp_path / "p"
    write_project(root, "well_behaved")
    for name, text in NOT_NULL_AGAIN.items():
        if name == "0007_drop.py":
            text = text[:text.index("def downgrade():")] + downgrade
        (root / "migrations" / "versions" / name).write_text(text)
    at_revision(url, root / "alembic.ini", "0007")
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO patients VALUES (1, 'a')")
        conn.execute("INSERT INTO orders VALUES (1, 1), (2, 1)")
    return root


# 0007 asks `op.get_context().as_sql` in a function of its own, as idempotent revisions do
# (`_has_column()` answering False offline): offline, the DBA's script fills the notes it
# adds back; online nothing does, and 0006's SET NOT NULL fails on them (23502).
FILLED_OFFLINE_ONLY = '''def _offline():
    return op.get_context().as_sql


def downgrade():
    op.add_column("orders", sa.Column("note", sa.Text(), nullable=True))
    if _offline():
        op.execute("UPDATE orders SET note = '-'")
'''


def test_a_downgrade_whose_offline_render_is_not_what_it_runs_is_refused_on_the_capture(
        database_url: str, tmp_path: Path) -> None:
    """Its offline render fills the column before the NOT NULL (it was read as changing the
    rows first: `cannot tell`, and the downgrade failed half way); what it runs online is
    captured on a copy of the database's schema, and the rows refuse it before anything
    runs, said as its statements do it."""
    root = _branching_at_0007(tmp_path, database_url, FILLED_OFFLINE_ONLY)
    before = _state(database_url)
    steps: list[str] = []

    report = commands.downgrade(_settings(root, database_url),
                                DowngradeOptions(target="0005", yes=True, backup=False),
                                progress=lambda step, text: steps.append(f"{step}: {text}"))

    assert report.summary["outcome"] == "refused", report.summary["what_happened"]
    assert [f.message for f in report.findings if f.code == "DBS617"] == [
        "The downgrade fails on `public.orders.note`: 0007's `ALTER TABLE orders ADD COLUMN "
        "note TEXT` adds it back nullable with no default, and 0006's `ALTER TABLE orders "
        "ALTER COLUMN note SET NOT NULL` sets it NOT NULL over the NULL that leaves in each of "
        "the table's 2 row(s)."], report.findings
    assert _state(database_url) == before  # nothing ran
    assert ("preflight: the downgrade() of 0007 branches on context.is_offline_mode(), so "
            "what it runs online is not what alembic renders offline: running it on a copy of "
            "the database's schema on a throwaway server") in steps, steps
    assert not [s for s in steps if "cannot tell" in s], steps


# 0007 writes its patients through a bound parameter, as notifications-api's 0560 does
# (`conn.execute(sa.text("... WHERE organisation_id = :organisation_id"), {...})`): offline,
# alembic renders the `:p` as written, which PostgreSQL's parser refuses.
BOUND_PARAMETER = '''def downgrade():
    op.add_column("orders", sa.Column("note", sa.Text(), nullable=True))
    op.get_bind().execute(sa.text("UPDATE patients SET name = upper(name) WHERE id = :p"),
                          {"p": 1})
'''


def test_a_downgrade_rendered_with_a_statement_that_does_not_parse_is_captured(
        database_url: str, tmp_path: Path) -> None:
    """notifications-api's `downgrade -22` (task 562): its 0560's UPDATE rendered offline with
    `:organisation_id` made every row question after it `cannot tell (... did not parse)`,
    0539's SET NOT NULL over 1,715 NULLs among them, and the downgrade would have failed
    half way. Such a render is captured on a copy of the database's schema, and the rows
    refuse it before anything runs."""
    root = _branching_at_0007(tmp_path, database_url, BOUND_PARAMETER)
    env = root / "migrations" / "env.py"  # (notifications-api's renders no literal binds)
    env.write_text(env.read_text().replace("literal_binds=True", "literal_binds=False"))
    before = _state(database_url)
    steps: list[str] = []

    report = commands.downgrade(_settings(root, database_url),
                                DowngradeOptions(target="0005", yes=True, backup=False),
                                progress=lambda step, text: steps.append(f"{step}: {text}"))

    assert report.summary["outcome"] == "refused", report.summary["what_happened"]
    assert [f.message for f in report.findings if f.code == "DBS617"] == [
        "The downgrade fails on `public.orders.note`: 0007's `ALTER TABLE orders ADD COLUMN "
        "note TEXT` adds it back nullable with no default, and 0006's `ALTER TABLE orders "
        "ALTER COLUMN note SET NOT NULL` sets it NOT NULL over the NULL that leaves in each of "
        "the table's 2 row(s)."], report.findings
    assert _state(database_url) == before  # nothing ran
    assert [s for s in steps if s.startswith(
        "preflight: the downgrade's SQL rendered offline holds a statement PostgreSQL's "
        "parser refuses (`UPDATE patients SET name = upper(name) WHERE id = :p`")], steps
    assert not [s for s in steps if "cannot tell" in s], steps


# Online, 0007 fills each order's note from its patient's name, reading the patients
# (the copy the capture runs on has none: it runs no UPDATE there).
FILLED_FROM_PATIENTS = '''def downgrade():
    from alembic import context

    op.add_column("orders", sa.Column("note", sa.Text(), nullable=True))
    if not context.is_offline_mode():
        bind = op.get_bind()
        for pid, name in bind.execute(sa.text("SELECT id, name FROM patients")).fetchall():
            bind.execute(sa.text("UPDATE orders SET note = :n WHERE patient_id = :p"),
                         {"n": name, "p": pid})
'''


def test_a_captured_downgrade_reading_rows_is_not_refused_on_what_the_copy_ran(
        database_url: str, tmp_path: Path) -> None:
    """The capture's copy holds no rows: a downgrade() filling a column for each row it
    reads ran no UPDATE there, and the SET NOT NULL after it was no refusal: `cannot tell`."""
    root = _branching_at_0007(tmp_path, database_url, FILLED_FROM_PATIENTS)
    steps: list[str] = []

    report = commands.downgrade(_settings(root, database_url),
                                DowngradeOptions(target="0005", yes=True, backup=False),
                                progress=lambda step, text: steps.append(f"{step}: {text}"))

    assert not [f for f in report.findings if f.code == "DBS617"], report.findings
    assert report.summary["outcome"] == "downgraded", report.summary["what_happened"]
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT note FROM orders ORDER BY id").fetchall() == [("a",),
                                                                                ("a",)]
    assert [s for s in steps if s.startswith("preflight: rows: public.orders.note: ")
            and s.endswith("cannot tell whether the downgrade fails on them (0007 reads rows "
                           "of patients (`SELECT id, name FROM patients`), and the copy the "
                           "downgrade was captured on holds none: what it does with the rows "
                           "it reads is not in the statements read)")], steps

def test_a_capture_behind_a_lock_holder_says_who_and_what_to_do(
        database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pg_dump --schema-only gives up on a table's lock (LOCK_WAIT, shortened here) while a
    session holds ACCESS EXCLUSIVE: the capture is not taken, the run says who held the lock
    and what to do, the rows the schema refuses are `cannot tell` (no statement read), and
    the holder is never waited out."""
    from dbsafe.pg import schema_copy
    from tests.guard.test_backup_lock_wait import MARKER, _holder, _unblocked_if_unbounded

    monkeypatch.setattr(schema_copy, "LOCK_WAIT", "300ms")
    root = _online_only_at_0007(tmp_path, database_url)
    holder = _holder(database_url, "patients")  # a table the preflight's questions leave be
    pid = holder.info.backend_pid
    steps: list[str] = []
    try:
        with _unblocked_if_unbounded(database_url, holder) as ended:
            report = commands.downgrade(
                _settings(root, database_url),
                DowngradeOptions(target="0005", backup=False, dry_run=True),
                progress=lambda step, text: steps.append(f"{step}: {text}"))
    finally:
        holder.close()

    assert not ended, "the capture waited for the lock unbounded"
    assert report.summary["outcome"] == "planned", report.summary["what_happened"]
    (said,) = [s for s in steps if "nor captured on a copy" in s]
    assert said.startswith(
        "preflight: data loss read from the schemas only: the downgrade's SQL could not be "
        "rendered offline, nor captured on a copy of the database's schema (pg_dump "
        f"--schema-only waited 300ms for a table's lock; blocked by pid {pid} "
        "(application_name 'nightly-report'"), said
    assert "holding ACCESS EXCLUSIVE on public.patients" in said, said
    # what it leaves unasked, and what to do (it said only why the copy was not taken)
    assert said.endswith(
        "); no row is asked about its statements, so one failing on them half way is not "
        f"refused; run it again once pid {pid} has ended its transaction (the copy waits "
        "300ms for a table's lock, once, rather than queue on the database's tables), for it "
        "to be captured"), said
    assert MARKER not in "\n".join(steps)
    assert not [f for f in report.findings if f.code == "DBS617"], report.findings
    assert [s for s in steps if s.startswith("preflight: rows: public.orders.note: ")
            and "cannot tell whether the downgrade fails on them" in s], steps


def test_a_branching_downgrade_not_captured_reads_its_offline_render_and_says_what_it_lacks(
        database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the capture of a downgrade() branching on offline mode fails (pg_dump behind a
    lock holder), its offline render is read as before task 510: what it runs online only
    is not in it, the rows it may refuse are `cannot tell`, and the run says so, with what
    to do for the capture to be taken."""
    from dbsafe.pg import schema_copy
    from tests.guard.test_backup_lock_wait import _holder, _unblocked_if_unbounded

    monkeypatch.setattr(schema_copy, "LOCK_WAIT", "300ms")
    root = _branching_at_0007(tmp_path, database_url, FILLED_OFFLINE_ONLY)
    holder = _holder(database_url, "patients")
    pid = holder.info.backend_pid
    steps: list[str] = []
    try:
        with _unblocked_if_unbounded(database_url, holder) as ended:
            report = commands.downgrade(
                _settings(root, database_url),
                DowngradeOptions(target="0005", backup=False, dry_run=True),
                progress=lambda step, text: steps.append(f"{step}: {text}"))
    finally:
        holder.close()

    assert not ended, "the capture waited for the lock unbounded"
    assert report.summary["outcome"] == "planned", report.summary["what_happened"]
    (said,) = [s for s in steps if "could not be captured" in s]
    assert said.startswith(
        "preflight: the downgrade's SQL rendered offline is read instead, which lacks what "
        "0007 runs online only: it could not be captured on a copy of the database's schema "
        "(pg_dump --schema-only waited 300ms for a table's lock; blocked by pid "
        f"{pid} "), said
    assert said.endswith(f"; run it again once pid {pid} has ended its transaction (the copy "
                         "waits 300ms for a table's lock, once, rather than queue on the "
                         "database's tables), for it to be captured"), said
    assert not [f for f in report.findings if f.code == "DBS617"], report.findings
    assert [s for s in steps if s.startswith("preflight: rows: public.orders.note: ")
            and s.endswith("(the downgrade() of 0007 branches on context.is_offline_mode(): "
                           "what it runs online is not in its offline SQL)")], steps

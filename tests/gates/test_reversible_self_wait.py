"""A history whose revisions leave a second session idle in its transaction, run by every
command that runs the migrations on a throwaway server.

apache-airflow 2.10's revisions 0078 and 0084 read roles through the application's own
session and, on an empty database, never end its transaction; 0118's `ALTER TABLE` then
waits for it forever. `dbsafe lint` ends such a connection and reports DBS132
(tests/lint/test_capture.py); the walk of `verify-reversible` hung on it until the CI job's
timeout. Here revision r02 does it in its upgrade and in its downgrade.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from dbsafe import commands
from dbsafe.config import Settings
from dbsafe.core import Severity
from dbsafe.gates import reversible
from dbsafe.migrate import waits
from dbsafe.migrate.runner import AlembicProject
from tests.migrate.projects import ALEMBIC_INI, ENV_PY

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

_HEAD = '''import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = {down}
'''

REVISIONS = {
    "r01": '''

def upgrade():
    op.create_table("roles", sa.Column("id", sa.Integer, primary_key=True))


def downgrade():
    op.drop_table("roles")
''',
    # Reads roles through a second connection and leaves its transaction open (ACCESS SHARE
    # on roles), then alters roles on alembic's connection: waits for it, in both ways.
    "r02": '''
from sqlalchemy.orm import Session

SESSIONS = []


def _count_roles():
    session = Session(bind=op.get_bind().engine)  # another connection, never committed
    SESSIONS.append(session)
    session.execute(sa.text("SELECT count(*) FROM roles")).scalar()


def upgrade():
    _count_roles()
    op.add_column("roles", sa.Column("note", sa.Text))


def downgrade():
    _count_roles()
    op.drop_column("roles", "note")
''',
    "r03": '''

def upgrade():
    op.create_index("ix_roles_note", "roles", ["note"])


def downgrade():
    op.drop_index("ix_roles_note", table_name="roles")
''',
}

# Lines of r02.py.
SESSION_LINE = 15  # session.execute(...) in _count_roles
UPGRADE_LINE = 20  # op.add_column
DOWNGRADE_LINE = 25  # op.drop_column


# The other way round, as airflow's 0043 downgrades: alembic's transaction alters roles, then
# a second session updates it and waits for that transaction, idle while the revision waits
# for the session. The connection dbsafe ends is alembic's, and alembic then fails on it.
OTHER_WAY = {"r01": REVISIONS["r01"], "r02": '''
from sqlalchemy.orm import Session


def upgrade():
    op.add_column("roles", sa.Column("flag", sa.Integer))


def downgrade():
    op.alter_column("roles", "flag", type_=sa.BigInteger)
    with Session(bind=op.get_bind().engine) as session:  # another connection
        session.execute(sa.text("UPDATE roles SET flag = 1"))
        session.commit()
'''}
ALTER_LINE, UPDATE_LINE = 15, 17


def write_history(root: Path, revisions: dict[str, str] = REVISIONS) -> Path:
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text(ALEMBIC_INI.format(url="driver://user:pass@localhost/db"))
    # each revision commits on its own, as airflow's env.py does: r02's second session
    # sees the table r01 made
    (root / "migrations" / "env.py").write_text(ENV_PY["well_behaved"].replace(
        "target_metadata=target_metadata)",
        "target_metadata=target_metadata, transaction_per_migration=True)"))
    previous = None
    for rev, body in revisions.items():
        (versions / f"{rev}.py").write_text(_HEAD.format(rev=rev, down=repr(previous)) + body)
        previous = rev
    lines = (versions / "r02.py").read_text().splitlines()
    if revisions is REVISIONS:
        assert "session.execute" in lines[SESSION_LINE - 1]
        assert "op.add_column" in lines[UPGRADE_LINE - 1]
        assert "op.drop_column" in lines[DOWNGRADE_LINE - 1]
    else:
        assert "op.alter_column" in lines[ALTER_LINE - 1]
        assert "UPDATE roles" in lines[UPDATE_LINE - 1]
    return root


@pytest.mark.timeout(120)
@pytest.mark.usefixtures("short_self_wait_patience")
def test_verify_reversible_ends_the_idle_session_and_reports_where_both_ways_wait(
        tmp_path: Path) -> None:
    root = write_history(tmp_path / "p")
    report = commands.verify_reversible(Settings(project_root=root))

    assert [(f.code, f.severity, f.location.path if f.location else None,
             f.location.line if f.location else None, f.message)
            for f in report.findings] == [
        ("DBS132", Severity.ERROR, "migrations/versions/r02.py", UPGRADE_LINE,
         "This statement waited for an ACCESS EXCLUSIVE lock on `roles` held by another "
         "connection of the migration, left idle in its transaction by "
         f"migrations/versions/r02.py:{SESSION_LINE}; `alembic upgrade` waits here forever "
         "(dbsafe ended that connection to go on)."),
        ("DBS132", Severity.ERROR, "migrations/versions/r02.py", DOWNGRADE_LINE,
         "This statement waited for an ACCESS EXCLUSIVE lock on `roles` held by another "
         "connection of the migration, left idle in its transaction by "
         f"migrations/versions/r02.py:{SESSION_LINE}; `alembic downgrade` waits here "
         "forever (dbsafe ended that connection to go on)."),
    ]
    # The walk went on past the waits: every revision's round trip was verified.
    assert report.summary["revisions_verified"] == 3
    assert report.summary["revisions_not_verified"] == []


@pytest.mark.timeout(120)
@pytest.mark.usefixtures("short_self_wait_patience")
def test_a_second_session_waiting_for_alembics_transaction_is_reported_with_the_failure(
        tmp_path: Path) -> None:
    root = write_history(tmp_path / "p", OTHER_WAY)
    report = commands.verify_reversible(Settings(project_root=root))

    assert [(f.code, f.location.line if f.location else None, f.subject)
            for f in report.findings] == [
        ("DBS412", 14, "r02"),  # def downgrade
        ("DBS132", UPDATE_LINE, "r02")]
    failed, waited = report.findings
    assert "dbsafe ended a connection" in dict(failed.context)["Note"]
    assert waited.message == (
        "This statement waited for a ROW EXCLUSIVE lock on `roles` held by another "
        "connection of the migration, left idle in its transaction by "
        f"migrations/versions/r02.py:{ALTER_LINE}; `alembic downgrade` waits here forever "
        "(dbsafe ended that connection to go on).")
    assert report.summary["revisions_verified"] == 2


@pytest.mark.timeout(120)
@pytest.mark.usefixtures("short_self_wait_patience")
def test_the_fast_walk_ends_the_idle_session_too(
        tmp_path: Path, database_url: str, more_databases: Callable[[], str]) -> None:
    # all revisions up in one alembic command, then down in one (`_fast_walk`)
    root = write_history(tmp_path / "p")
    result = reversible.walk(AlembicProject(root / "alembic.ini"), database_url, root=root,
                             new_database=more_databases, fast_min=1, split_min=None,
                             throwaway=True)

    assert [(f.code, f.location.line if f.location else None, dict(f.context)["Alembic command"])
            for f in result.findings] == [
        ("DBS132", UPGRADE_LINE, "alembic upgrade r03@r03"),
        ("DBS132", DOWNGRADE_LINE, "alembic downgrade base")]
    assert result.walked == ("r01", "r02", "r03")


@pytest.mark.timeout(120)
def test_the_schema_the_history_builds_is_dumped_and_the_wait_is_said(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # `schema dump`, validate and diff build the schema at head the same way
    # (`migrate.throwaway.migrated_database`). The one test at the shipped patience: the
    # others shorten it (`short_self_wait_patience`).
    root = write_history(tmp_path / "p")
    with caplog.at_level(logging.WARNING, logger="dbsafe"), \
            caplog.at_level(logging.INFO, logger="dbsafe.migrate.waits"):
        snapshot = commands.schema_dump(Settings(project_root=root, use_cache=False))

    roles = next(r for r in snapshot.relations if r.name == "roles")
    assert [c.name for c in roles.columns] == ["id", "note"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"migrations/versions/r02.py:{UPGRADE_LINE}" in w and
               f"r02.py:{SESSION_LINE}" in w and "DBS132" in w for w in warnings), warnings
    # the connection was ended once the wait had lasted the default patience, not before
    [ended] = [r for r in caplog.records if r.name == "dbsafe.migrate.waits"
               and r.levelno == logging.INFO]
    assert waits.PATIENCE == 5.0 and ended.args[1] >= waits.PATIENCE, ended.getMessage()


# freshmaker's b17231ee8220 (r02 here): its downgrade re-adds `events.compose_id`, then reads
# `composes` through the application's session (Flask-SQLAlchemy's `db.session`: one per
# process, never committed). Alone, its round trip works. In `alembic downgrade base` from
# head, in one transaction, r03's downgrade has `composes` ACCESS EXCLUSIVE locked and the
# session waits forever; below r02, r01's DROP TABLE waits for the idle session.
APP_SESSION = {
    "r01": '''

def upgrade():
    op.create_table("composes", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("odcs", sa.Integer))
    op.create_table("events", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("compose_id", sa.Integer), sa.Column("released", sa.Boolean))


def downgrade():
    op.drop_table("events")
    op.drop_table("composes")
''',
    "r02": '''
from sqlalchemy.orm import Session

APP = []  # the application's session, made once per process


def upgrade():
    op.drop_column("events", "compose_id")


def downgrade():
    op.add_column("events", sa.Column("compose_id", sa.Integer))
    if not APP:
        APP.append(Session(bind=op.get_bind().engine))
    APP[0].execute(sa.text("SELECT count(*) FROM composes")).scalar()
''',
    "r03": '''

def upgrade():
    op.create_index("ix_composes_odcs", "composes", ["odcs"])


def downgrade():
    op.drop_index("ix_composes_odcs", table_name="composes")
''',
}


# The application's module (alembic.ini's `prepend_sys_path = .`), imported once per process.
APPDB = """CONNECTIONS = []


def connection(engine):
    if not CONNECTIONS:
        CONNECTIONS.append(engine.raw_connection())
    return CONNECTIONS[0]
"""


def write_app_history(root: Path, revisions: dict[str, str]) -> Path:
    """A history under alembic's own env.py (one transaction per command) and the
    application's module its revisions may import (`APPDB`)."""
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text(ALEMBIC_INI.format(url="driver://user:pass@localhost/db"))
    (root / "migrations" / "env.py").write_text(ENV_PY["well_behaved"])
    (root / "appdb.py").write_text(APPDB)
    previous = None
    for rev, body in revisions.items():
        (versions / f"{rev}.py").write_text(_HEAD.format(rev=rev, down=repr(previous)) + body)
        previous = rev
    return root


@pytest.mark.timeout(180)
@pytest.mark.usefixtures("short_self_wait_patience")
def test_a_downgrade_that_waits_only_behind_the_revisions_above_it_is_not_said_to_fail(
        tmp_path: Path, database_url: str, more_databases: Callable[[], str]) -> None:
    """The walk's `downgrade base` reported DBS132 rightly, then DBS412 for r02 ("downgrade
    right after the upgrade fails"), though its own round trip works: the lock it waited
    for was r03's, taken in the same command, and hid the column order r02 really leaves.
    Run again with r02's downgrade first, its session then holds `composes` for r01's
    DROP TABLE (DBS132 again)."""
    root = write_app_history(tmp_path / "p", APP_SESSION)
    result = reversible.walk(AlembicProject(root / "alembic.ini"), database_url, root=root,
                             new_database=more_databases, fast_min=1, split_min=None,
                             throwaway=True)

    found = [(f.code, f.location.path if f.location else None, f.location.line if f.location else None)
             for f in result.findings]
    # the session's SELECT, behind r03's DROP INDEX; r01's DROP TABLE, behind the session
    assert ("DBS132", "migrations/versions/r02.py", 20) in found
    assert ("DBS132", "migrations/versions/r01.py", 17) in found
    assert not [f for f in found if f[0] == "DBS412"], result.findings
    order = next(f for f in result.findings if f.code == "DBS414")
    assert order.subject == "r02" and "(id, released, compose_id instead of id, " \
        "compose_id, released)" in order.message
    assert result.walked == ("r01", "r02", "r03")


# The same with a connection r02's downgrade makes once per process outside alembic's
# engine's Session (a DBAPI connection, as an application's module keeps one): dbsafe sees
# none of its statements. Its SELECT waits behind r03's DROP INDEX, and dbsafe ends
# alembic's connection, which holds it; alembic then fails outside any revision's code.
# Below, r01's DROP TABLE waits behind that connection, idle in its transaction, and dbsafe
# ends it: the walk's child, kept for the next command, still held it.
APP_CONNECTION = {**APP_SESSION, "r02": '''
from appdb import connection


def upgrade():
    op.drop_column("events", "compose_id")


def downgrade():
    op.add_column("events", sa.Column("compose_id", sa.Integer))
    connection(op.get_bind().engine).cursor().execute("SELECT count(*) FROM composes")
'''}


@pytest.mark.timeout(180)
@pytest.mark.usefixtures("short_self_wait_patience")
def test_a_connection_dbsafe_ended_is_not_reused_by_the_walks_next_command(
        tmp_path: Path, database_url: str, more_databases: Callable[[], str]) -> None:
    """The fast walk's `downgrade base` failed where dbsafe ended alembic's connection, with
    no revision named (an exception out of the walk); each command after one in which dbsafe
    ended a connection now gets a new child, as a new `alembic` run is a new process, where
    r02's next downgrade failed on the dead connection (a false DBS412)."""
    root = write_app_history(tmp_path / "p", APP_CONNECTION)
    result = reversible.walk(AlembicProject(root / "alembic.ini"), database_url, root=root,
                             new_database=more_databases, fast_min=1, split_min=None,
                             throwaway=True)

    assert [(f.code, f.subject) for f in result.findings] == [("DBS414", "r02")]
    assert result.walked == ("r01", "r02", "r03")


# r02's downgrade leaves its index (a leftover the walk puts right and then looks at closer,
# with r02's own round trip on the same database) and its connection idle in its
# transaction; r01's DROP TABLE waits behind that connection, and dbsafe ends it.
LEFT_INDEX = {"r01": APP_SESSION["r01"], "r02": '''
from appdb import connection


def upgrade():
    op.create_index("ix_events_released", "events", ["released"])


def downgrade():
    connection(op.get_bind().engine).cursor().execute("SELECT count(*) FROM composes")
'''}


@pytest.mark.timeout(180)
@pytest.mark.usefixtures("short_self_wait_patience")
def test_the_round_trip_after_dbsafe_ended_a_connection_runs_in_a_new_child(
        tmp_path: Path, database_url: str, more_databases: Callable[[], str]) -> None:
    """freshmaker's b17231ee8220: r02's round trip ran in the walk's child that still held
    the connection dbsafe had ended, and its downgrade failed on it (a false DBS412 instead
    of the index it leaves)."""
    root = write_app_history(tmp_path / "p", LEFT_INDEX)
    result = reversible.walk(AlembicProject(root / "alembic.ini"), database_url, root=root,
                             new_database=more_databases, fast_min=1, split_min=None,
                             throwaway=True)

    # (its downgrade runs a SELECT: it changes nothing, DBS411, with the index to drop)
    assert [(f.code, f.subject) for f in result.findings] == [("DBS411", "r02")], result.findings
    assert "ix_events_released" in dict(result.findings[0].context)["Left behind"]
    assert result.walked == ("r01", "r02")


# r03 reads roles on a second connection: it waits for r02's ALTER when both run in one
# alembic command (one transaction: the walk's re-upgrade of r02 travels with r03's upgrade),
# as Superset's 1226819ee0e3 reads `columns` through the application's engine after
# 956a063c52b3 altered it.
BEHIND_THE_PARENT = {"r01": REVISIONS["r01"], "r02": '''

def upgrade():
    op.add_column("roles", sa.Column("note", sa.Text))


def downgrade():
    op.drop_column("roles", "note")
''', "r03": '''
from sqlalchemy.orm import Session


def upgrade():
    with Session(bind=op.get_bind().engine) as session:  # another connection
        session.execute(sa.text("SELECT count(*) FROM roles")).scalar()


def downgrade():
    pass
''', "r04": REVISIONS["r03"]}


@pytest.mark.timeout(120)
@pytest.mark.usefixtures("short_self_wait_patience")
def test_a_revision_that_waits_behind_its_parents_reupgrade_is_walked_alone_and_the_walk_goes_on(
        tmp_path: Path) -> None:
    """The wait is reported (DBS132: `alembic upgrade` from r01 waits there forever); alembic
    then failed on the connection dbsafe ended, and the walk stopped at r03 with a DBS417
    (Superset 5.0.0: 302 revisions not verified). r03 is walked again, alone in its command
    on a rebuilt database, where it applies: the walk goes to the end."""
    root = tmp_path / "p"
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text(ALEMBIC_INI.format(url="driver://user:pass@localhost/db"))
    (root / "migrations" / "env.py").write_text(ENV_PY["well_behaved"])  # one transaction
    previous = None
    for rev, body in BEHIND_THE_PARENT.items():
        (versions / f"{rev}.py").write_text(_HEAD.format(rev=rev, down=repr(previous)) + body)
        previous = rev
    report = commands.verify_reversible(Settings(project_root=root))

    assert [(f.code, f.subject, f.location.line if f.location else None)
            for f in report.findings] == [("DBS416", "r03", 15), ("DBS132", "r03", 12)]
    assert "`alembic upgrade` waits here forever" in report.findings[1].message
    assert report.summary["revisions_verified"] == 4
    assert report.summary["revisions_not_verified"] == []

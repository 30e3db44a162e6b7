"""`dbsafe upgrade`'s read of the schema between two revisions, behind a session holding
ACCESS EXCLUSIVE on a table a view reads.

The checkpoint before each revision snapshots the schema, and pg_get_viewdef takes ACCESS
SHARE on every relation a view reads: behind a `LOCK TABLE` left open (VACUUM FULL, a plain
REFRESH MATERIALIZED VIEW) the read waited the introspection's 60 s statement timeout, not
the run's `--lock-timeout`, and stopped the run (exit 2) with the revisions before it
applied. It now waits at most the lock timeout and is retried with the run's backoff, each
retry naming the holder, as a revision is.
"""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.core import DatabaseError, DbsafeError
from tests.guard.test_backup_lock_wait import _unblocked_if_unbounded
from tests.guard.test_upgrade import _at, _options, _project, _settings, _state
from tests.helpers import at_revision

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]


@pytest.mark.parametrize("released", [True, False], ids=["released", "held"])
def test_the_checkpoint_read_waits_the_lock_timeout_and_retries_naming_the_holder(
        database_url: str, tmp_path: Path, released: bool) -> None:
    root = _project(tmp_path / "p")
    _at(database_url, "0002", root)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE audit (id int); "
                     "CREATE VIEW audit_recent AS SELECT id FROM audit")
    holder = psycopg.connect(database_url, application_name="nightly-vacuum")
    pid = holder.info.backend_pid
    said: list[str] = []

    def progress(step: str, message: str) -> None:
        said.append(f"{step}: {message}")
        if message.startswith("0003 applied in"):
            holder.execute("LOCK TABLE audit")  # until it ends: the read before 0004 waits
        elif "retrying in" in message and released:
            holder.rollback()  # the maintenance ends while dbsafe waits to try again

    options = _options(tmp_path, backup=False, lock_timeout="300ms", retries=1)
    try:
        with _unblocked_if_unbounded(database_url, holder) as ended:
            if released:
                report = commands.upgrade(_settings(root, database_url), options, progress)
            else:
                with pytest.raises(DatabaseError) as failure:
                    commands.upgrade(_settings(root, database_url), options, progress)
    finally:
        holder.close()

    assert not ended, "the read waited for the lock unbounded"
    named = f"pid {pid} (application_name 'nightly-vacuum'"
    (retry,) = [s for s in said if "retrying in" in s]
    assert retry.startswith("apply: could not read the schema of "), retry
    assert "lock timeout" in retry and named in retry, retry
    assert "holding ACCESS EXCLUSIVE on public.audit" in retry, retry
    if released:
        assert report.summary["outcome"] == "applied", report.summary["what_happened"]
        assert _state(database_url)["version"] == ["0004"]
    else:
        message = str(failure.value)
        assert "lock timeout" in message and named in message, message
        assert "holding ACCESS EXCLUSIVE on public.audit" in message and "\n" not in message
        assert _state(database_url)["version"] == ["0003"]  # 0004 was not started


@pytest.mark.parametrize("released", [True, False], ids=["released", "held"])
def test_downgrade_checkpoint_read_waits_the_lock_timeout_and_retries_naming_the_holder(
        database_url: str, tmp_path: Path, released: bool) -> None:
    from dbsafe.guard.downgrade import DowngradeOptions
    from tests.guard.test_downgrade import _project_at
    from tests.guard.test_downgrade import _settings as _down_settings

    root = _project_at(tmp_path, database_url, "0004")
    with psycopg.connect(database_url, autocommit=True) as conn:
        # An order, which 0002's downgrade drops: the run asks to confirm the loss.
        conn.execute("INSERT INTO patients VALUES (1, 'Ada'); INSERT INTO orders VALUES (1, 1); "
                     "CREATE TABLE audit (id int); "
                     "CREATE VIEW audit_recent AS SELECT id FROM audit")
    holder = psycopg.connect(database_url, application_name="nightly-vacuum")
    pid = holder.info.backend_pid
    said: list[str] = []

    def confirm(database: str) -> bool:
        # Asked last, once the preflight has read the schema: the checkpoint read waits.
        holder.execute("LOCK TABLE audit")
        return True

    def progress(step: str, message: str) -> None:
        said.append(f"{step}: {message}")
        if "retrying in" in message and released:
            holder.rollback()

    options = DowngradeOptions(target="0001", backup=False, lock_timeout="300ms", retries=1,
                               retry_delay=0.05)
    try:
        with _unblocked_if_unbounded(database_url, holder) as ended:
            if released:
                report = commands.downgrade(_down_settings(root, database_url), options,
                                            progress, confirm=confirm)
            else:
                with pytest.raises(DatabaseError) as failure:
                    commands.downgrade(_down_settings(root, database_url), options, progress,
                                       confirm=confirm)
    finally:
        holder.close()

    assert not ended, "the read waited for the lock unbounded"
    named = f"pid {pid} (application_name 'nightly-vacuum'"
    retries = [s for s in said if "retrying in" in s]
    for retry in retries:
        assert "could not read the schema of " in retry and "lock timeout" in retry, retry
        assert named in retry and "holding ACCESS EXCLUSIVE on public.audit" in retry, retry
    with psycopg.connect(database_url) as conn:
        version = [r[0] for r in conn.execute("SELECT version_num FROM alembic_version")]
    if released:  # (verify then finds `audit`, which no migration made: DBS603)
        assert len(retries) == 1 and "apply: downgraded to 0001" in said, said
        # the order's loss (confirmed), and `audit`, which no migration made
        assert [f.code for f in report.findings] == ["DBS607", "DBS603"], report.findings
        assert version == ["0001"]
    else:
        # The checkpoint's read gave up (the downgrade failed, nothing undone), and so did
        # the one recording the outcome: exit 2, naming the holder.
        assert len(retries) == 2 and any(
            s.startswith("apply: failed: ") and named in s for s in said), said
        message = str(failure.value)
        assert "lock timeout" in message and named in message and "\n" not in message
        assert version == ["0004"]


# The reads outside the revisions: the preflight's (lint's and validate's reads of the live
# schema, the rows a downgrade destroys) and the postflight's (validate's read of the
# upgraded schema). Each waited up to its statement timeout (60 s for a schema read, none
# for the count of a table's rows) behind a session holding ACCESS EXCLUSIVE.


def _vacuuming(url: str) -> tuple[psycopg.Connection, str]:
    """A session (application_name 'nightly-vacuum') that will hold a lock, and how a message
    names it."""
    holder = psycopg.connect(url, application_name="nightly-vacuum")
    return holder, f"pid {holder.info.backend_pid} (application_name 'nightly-vacuum'"


@pytest.mark.parametrize("released", [True, False], ids=["released", "held"])
def test_the_preflight_reads_wait_the_lock_timeout_and_retry_naming_the_holder(
        database_url: str, tmp_path: Path, released: bool) -> None:
    root = _project(tmp_path / "p")
    _at(database_url, "0002", root)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE audit (id int); "
                     "CREATE VIEW audit_recent AS SELECT id FROM audit")
    holder, named = _vacuuming(database_url)
    holder.execute("LOCK TABLE audit")  # before the run: lint's read of the schema waits
    said: list[str] = []

    def progress(step: str, message: str) -> None:
        said.append(f"{step}: {message}")
        if "retrying in" in message and released:
            holder.rollback()

    options = _options(tmp_path, backup=False, lock_timeout="300ms", retries=1)
    try:
        with _unblocked_if_unbounded(database_url, holder) as ended:
            if released:
                report = commands.upgrade(_settings(root, database_url), options, progress)
            else:
                with pytest.raises(DbsafeError) as failure:
                    commands.upgrade(_settings(root, database_url), options, progress)
    finally:
        holder.close()

    assert not ended, "the read waited for the lock unbounded"
    retries = [s for s in said if "retrying in" in s]
    assert retries, said
    for retry in retries:
        assert retry.startswith("preflight: could not read the schema of "), retry
        assert "lock timeout" in retry and named in retry, retry
        assert "holding ACCESS EXCLUSIVE on public.audit" in retry, retry
    if released:
        assert len(retries) == 1, said
        assert report.summary["outcome"] == "applied", report.summary["what_happened"]
        assert _state(database_url)["version"] == ["0004"]
    else:
        message = str(failure.value)
        assert message.startswith("preflight could not lint the pending revisions: "), message
        assert "lock timeout" in message and named in message and "\n" not in message
        assert message.endswith("nothing was applied"), message
        assert _state(database_url)["version"] == ["0002"]


@pytest.mark.parametrize("released", [True, False], ids=["released", "held"])
def test_the_downgrade_data_loss_count_waits_the_lock_timeout_and_retries_naming_the_holder(
        database_url: str, tmp_path: Path, released: bool) -> None:
    from dbsafe.guard.downgrade import DowngradeOptions
    from tests.guard.test_downgrade import _project_at
    from tests.guard.test_downgrade import _settings as _down_settings

    root = _project_at(tmp_path, database_url, "0004")
    with psycopg.connect(database_url, autocommit=True) as conn:
        # An order, which 0002's downgrade drops: the preflight counts the rows it holds.
        conn.execute("INSERT INTO patients VALUES (1, 'Ada'); INSERT INTO orders VALUES (1, 1)")
    holder, named = _vacuuming(database_url)
    # No view reads it: the session is named from the wait (pg_blocking_pids), not the views.
    holder.execute("LOCK TABLE orders")
    said: list[str] = []

    def progress(step: str, message: str) -> None:
        said.append(f"{step}: {message}")
        if "retrying in" in message and released:
            holder.rollback()

    options = DowngradeOptions(target="0001", backup=False, lock_timeout="300ms", retries=1,
                               retry_delay=0.05, yes=True)
    try:
        with _unblocked_if_unbounded(database_url, holder) as ended:
            if released:
                report = commands.downgrade(_down_settings(root, database_url), options,
                                            progress)
            else:
                with pytest.raises(DatabaseError) as failure:
                    commands.downgrade(_down_settings(root, database_url), options, progress)
    finally:
        holder.close()

    assert not ended, "the count waited for the lock unbounded"
    retries = [s for s in said if "retrying in" in s]
    assert retries, said
    for retry in retries:
        assert retry.startswith("preflight: could not count what the downgrade destroys: "), retry
        assert "lock timeout" in retry and named in retry, retry
        assert "holding ACCESS EXCLUSIVE on public.orders" in retry, retry
    with psycopg.connect(database_url) as conn:
        version = [r[0] for r in conn.execute("SELECT version_num FROM alembic_version")]
    if released:
        assert len(retries) == 1, said
        assert report.summary["outcome"] == "downgraded", report.summary["what_happened"]
        assert [f.code for f in report.findings] == ["DBS607"], report.findings
        assert version == ["0001"]
    else:
        message = str(failure.value)
        assert "lock timeout" in message and named in message and "\n" not in message
        assert "holding ACCESS EXCLUSIVE on public.orders" in message, message
        assert message.endswith("nothing was applied"), message
        assert version == ["0004"]


@pytest.mark.parametrize("released", [True, False], ids=["released", "held"])
def test_the_postflight_reads_wait_the_lock_timeout_and_retry_naming_the_holder(
        database_url: str, tmp_path: Path, released: bool) -> None:
    root = _project(tmp_path / "p")
    _at(database_url, "0002", root)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE audit (id int); "
                     "CREATE VIEW audit_recent AS SELECT id FROM audit")
    holder, named = _vacuuming(database_url)
    said: list[str] = []

    def progress(step: str, message: str) -> None:
        said.append(f"{step}: {message}")
        if message.startswith("0004 applied in"):
            holder.execute("LOCK TABLE audit")  # the last revision is in: the postflight waits
        elif "retrying in" in message and released:
            holder.rollback()

    options = _options(tmp_path, backup=False, lock_timeout="300ms", retries=1)
    try:
        with _unblocked_if_unbounded(database_url, holder) as ended:
            if released:
                report = commands.upgrade(_settings(root, database_url), options, progress)
            else:
                with pytest.raises(DatabaseError) as failure:
                    commands.upgrade(_settings(root, database_url), options, progress)
    finally:
        holder.close()

    assert not ended, "the read waited for the lock unbounded"
    retries = [s for s in said if "retrying in" in s]
    assert retries, said
    for retry in retries:
        assert retry.startswith("postflight: could not read the schema of "), retry
        assert "lock timeout" in retry and named in retry, retry
    assert _state(database_url)["version"] == ["0004"]
    if released:
        assert len(retries) == 1, said
        assert report.summary["outcome"] == "applied", report.summary["what_happened"]
    else:
        message = str(failure.value)
        assert "lock timeout" in message and named in message and "\n" not in message
        assert message.endswith("the postflight was not completed"), message


@pytest.mark.parametrize("released", [True, False], ids=["released", "held"])
def test_the_count_of_rows_a_computed_downgrade_fails_on_waits_and_retries_naming_the_holder(
        database_url: str, tmp_path: Path, released: bool) -> None:
    """Counting the NULLs a column set NOT NULL again holds takes ACCESS SHARE on its table:
    behind a session holding ACCESS EXCLUSIVE it waited unbounded (no statement timeout)."""
    from dbsafe.guard.downgrade import DowngradeOptions
    from tests.guard.test_downgrade import NARROWING
    from tests.guard.test_downgrade import _settings as _down_settings
    from tests.migrate.projects import write_project

    root = tmp_path / "p"
    write_project(root, "well_behaved")
    for name, text in NARROWING.items():
        (root / "migrations" / "versions" / name).write_text(text)
    at_revision(database_url, root / "alembic.ini", "0006")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO patients VALUES (1, NULL)")
    holder, named = _vacuuming(database_url)
    holder.execute("LOCK TABLE patients")
    said: list[str] = []

    def progress(step: str, message: str) -> None:
        said.append(f"{step}: {message}")
        if "retrying in" in message and released:
            holder.rollback()

    options = DowngradeOptions(target="0005", backup=False, use_computed=True, yes=True,
                               lock_timeout="300ms", retries=1, retry_delay=0.05)
    try:
        with _unblocked_if_unbounded(database_url, holder) as ended:
            if released:
                report = commands.downgrade(_down_settings(root, database_url), options,
                                            progress)
            else:
                with pytest.raises(DatabaseError) as failure:
                    commands.downgrade(_down_settings(root, database_url), options, progress)
    finally:
        holder.close()

    assert not ended, "the count waited for the lock unbounded"
    retries = [s for s in said if "retrying in" in s]
    assert retries, said
    for retry in retries:
        assert retry.startswith("preflight: could not count the rows the computed downgrade "
                                "fails on: "), retry
        assert "lock timeout" in retry and named in retry, retry
    with psycopg.connect(database_url) as conn:
        version = [r[0] for r in conn.execute("SELECT version_num FROM alembic_version")]
    assert version == ["0006"]
    if released:
        assert len(retries) == 1, said
        assert report.summary["outcome"] == "refused", report.summary["what_happened"]
        assert any(f.subject == "public.patients.name" for f in report.findings), report.findings
    else:
        message = str(failure.value)
        assert "lock timeout" in message and named in message and "\n" not in message
        assert message.endswith("nothing was applied"), message


# -- the way back's verify and the repair step's look, behind a held lock ---------------------

# 0005 makes what DBS502 reports (a materialized view no unique index lets refresh
# CONCURRENTLY), so the postflight fails and the way back undoes it. Its downgrade holds
# ACCESS SHARE on `audit` until a session queues for ACCESS EXCLUSIVE on it: that session
# gets the table the moment the downgrade commits, before the way back verifies the schema,
# whose read of `audit_recent`'s definition then waits.
HANDSHAKE = '''"""postflight fails; its downgrade hands audit over"""
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.execute("CREATE MATERIALIZED VIEW patient_names AS SELECT id, name FROM patients")


def downgrade():
    op.execute("LOCK TABLE audit IN ACCESS SHARE MODE")
    op.execute("""DO $$ BEGIN
        WHILE NOT EXISTS (SELECT FROM pg_locks WHERE relation = 'audit'::regclass
                          AND mode = 'AccessExclusiveLock' AND NOT granted) LOOP
            PERFORM pg_sleep(0.01);
        END LOOP;
    END $$""")
    op.execute("DROP MATERIALIZED VIEW patient_names")
'''


def _audit(url: str, schema: str = "public") -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}; CREATE TABLE {schema}.audit (id int);"
                     f" CREATE VIEW {schema}.audit_recent AS SELECT id FROM {schema}.audit")


@pytest.mark.parametrize("released", [True, False], ids=["released", "held"])
def test_the_way_back_verify_waits_the_lock_timeout_and_retries_naming_the_holder(
        database_url: str, tmp_path: Path, released: bool) -> None:
    root = _project(tmp_path / "p", app_sql="SELECT id FROM orders;\n")
    (root / "migrations" / "versions" / "0005_handshake.py").write_text(HANDSHAKE)
    _at(database_url, "0004", root)
    _audit(database_url)
    holder, named = _vacuuming(database_url)
    locked = threading.Event()

    def take_audit_from_the_downgrade() -> None:
        with psycopg.connect(database_url, autocommit=True) as watch:
            while not watch.execute(
                    "SELECT EXISTS (SELECT FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                    "WHERE a.application_name = 'dbsafe rollback' AND l.granted "
                    "AND l.relation = 'audit'::regclass)").fetchone()[0]:
                threading.Event().wait(0.01)
        holder.execute("LOCK TABLE audit")  # granted as the downgrade commits
        locked.set()

    said: list[str] = []

    def progress(step: str, message: str) -> None:
        said.append(f"{step}: {message}")
        if "retrying in" in message and released:
            assert locked.wait(10)
            holder.rollback()

    taker = threading.Thread(target=take_audit_from_the_downgrade, daemon=True)
    taker.start()
    options = _options(tmp_path, backup=False, lock_timeout="300ms", retries=1,
                       allow=("DBS202", "DBS118"))
    try:
        with _unblocked_if_unbounded(database_url, holder) as ended:
            if released:
                report = commands.upgrade(_settings(root, database_url), options, progress)
            else:
                with pytest.raises(DatabaseError) as failure:
                    commands.upgrade(_settings(root, database_url), options, progress)
        taker.join(10)
    finally:
        holder.close()

    assert locked.is_set() and not ended, said
    retries = [s for s in said if "retrying in" in s]
    assert retries, said
    for retry in retries:
        assert retry.startswith("way back: could not read the schema of "), retry
        assert "lock timeout" in retry and named in retry, retry
        assert "holding ACCESS EXCLUSIVE on public.audit" in retry, retry
    assert _state(database_url)["version"] == ["0004"]  # the downgrade itself went through
    if released:
        assert len(retries) == 1, said
        assert report.summary["outcome"] == "rolled back", report.summary["what_happened"]
        assert said[-1] == ("way back: rolled back to 0004; schema verified equal to before "
                            "the upgrade"), said
    else:
        message = str(failure.value)
        assert "lock timeout" in message and named in message and "\n" not in message
        assert message.endswith("; rolled back to 0004, the schema was not verified against "
                                "the one before the upgrade"), message


def _take_audit_after(url: str, holder: psycopg.Connection, application: str,
                      locked: threading.Event) -> threading.Thread:
    """A thread queueing `holder` for ACCESS EXCLUSIVE on `audit` once a session of
    `application` (running HANDSHAKE's downgrade) holds a lock on it: granted as that
    downgrade commits, before the run reads the schema again."""
    def take() -> None:
        with psycopg.connect(url, autocommit=True) as watch:
            while not watch.execute(
                    "SELECT EXISTS (SELECT FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                    "WHERE a.application_name = %s AND l.granted "
                    "AND l.relation = 'audit'::regclass)", (application,)).fetchone()[0]:
                threading.Event().wait(0.01)
        holder.execute("LOCK TABLE audit")
        locked.set()

    taker = threading.Thread(target=take, daemon=True)
    taker.start()
    return taker


def test_the_downgrade_verify_given_up_says_where_the_database_is_left(
        database_url: str, tmp_path: Path) -> None:
    """`dbsafe downgrade`'s own verify, behind a lock held past its retries: the failure
    ends as the way back's does (the database is at TARGET, the schema unverified); it
    ended with the lock timeout and its holder only."""
    from dbsafe.guard.downgrade import DowngradeOptions
    from tests.guard.test_downgrade import _project_at
    from tests.guard.test_downgrade import _settings as _down_settings

    root = _project_at(tmp_path, database_url, "0005", note=HANDSHAKE)
    _audit(database_url)
    holder, named = _vacuuming(database_url)
    locked = threading.Event()
    taker = _take_audit_after(database_url, holder, "dbsafe downgrade", locked)
    said: list[str] = []
    options = DowngradeOptions(target="0004", backup=False, lock_timeout="300ms", retries=1,
                               retry_delay=0.05)
    try:
        with _unblocked_if_unbounded(database_url, holder) as ended, \
                pytest.raises(DatabaseError) as failure:
            commands.downgrade(_down_settings(root, database_url), options,
                               lambda step, message: said.append(f"{step}: {message}"))
        taker.join(10)
    finally:
        holder.close()

    assert locked.is_set() and not ended, said
    assert any(s.startswith("verify: could not read the schema of ") and "retrying in" in s
               for s in said), said
    assert _state(database_url)["version"] == ["0004"]  # the downgrade itself went through
    message = str(failure.value)
    assert "lock timeout" in message and named in message and "\n" not in message
    assert message.endswith("; downgraded to 0004, the schema was not verified against the "
                            "one built from the migrations at 0004"), message


@pytest.mark.parametrize("released", [True, False], ids=["released", "held"])
def test_the_repair_look_waits_the_lock_timeout_and_retries_naming_the_holder(
        database_url: str, tmp_path: Path, released: bool) -> None:
    from dbsafe.guard import history
    from dbsafe.guard.leftovers import user_snapshot

    root = _project(tmp_path / "p", app_sql="SELECT id FROM orders;\n")
    _at(database_url, "0003", root)
    _audit(database_url)
    # A run killed in 0004 (SIGKILL): its checkpoint at 0003 recorded, no end, and what
    # an autocommit_block() of it committed left behind.
    run_id = history.start(database_url, "upgrade", ["0003"])
    history.checkpoint(database_url, run_id, ["0003"], user_snapshot(database_url).to_json())
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE stray (id int)")
    holder, named = _vacuuming(database_url)
    holder.execute("LOCK TABLE audit")  # before the run: the repair's look waits
    said: list[str] = []

    def progress(step: str, message: str) -> None:
        said.append(f"{step}: {message}")
        if "retrying in" in message and released:
            holder.rollback()

    options = _options(tmp_path, backup=False, lock_timeout="300ms", retries=1)
    try:
        with _unblocked_if_unbounded(database_url, holder) as ended:
            if released:
                report = commands.upgrade(_settings(root, database_url), options, progress)
            else:
                with pytest.raises(DatabaseError) as failure:
                    commands.upgrade(_settings(root, database_url), options, progress)
    finally:
        holder.close()

    assert not ended, "the read waited for the lock unbounded"
    retries = [s for s in said if "retrying in" in s]
    assert retries, said
    for retry in retries:
        assert retry.startswith("repair: could not read the schema of "), retry
        assert "lock timeout" in retry and named in retry, retry
        assert "holding ACCESS EXCLUSIVE on public.audit" in retry, retry
    state = _state(database_url)
    if released:
        assert len(retries) == 1, said
        assert (f"repair: run {run_id} did not finish (at 0003); removed what it left: "
                "table public.stray") in said, said
        assert report.summary["outcome"] == "applied", report.summary["what_happened"]
        assert state["version"] == ["0004"] and "stray" not in state["tables"]
    else:
        message = str(failure.value)
        assert "lock timeout" in message and named in message and "\n" not in message
        assert message.endswith("; nothing was applied"), message
        assert state["version"] == ["0003"] and "stray" in state["tables"]


NOTE = '''"""a table, dropped again"""
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.execute("CREATE TABLE notes (id int)")


def downgrade():
    op.execute("DROP TABLE notes")
'''


def test_the_downgrade_closing_read_given_up_says_where_the_database_is_left(
        database_url: str, tmp_path: Path) -> None:
    """`dbsafe downgrade`'s closing read (`done`, the schema its end records), behind a lock
    taken once the verify is through and held past its retries: the failure says the
    downgrade went through and where the database is, and the run's end is recorded without
    the schema. It ended with the lock timeout and its holder only, the run left `running`
    for the next upgrade to call interrupted."""
    from dbsafe.guard import history
    from dbsafe.guard.downgrade import DowngradeOptions
    from tests.guard.test_downgrade import _project_at
    from tests.guard.test_downgrade import _settings as _down_settings

    root = _project_at(tmp_path, database_url, "0005", note=NOTE)
    # In dbsafe's own schema, which no comparison reads, yet the read of a view's definition
    # locks what it reads.
    _audit(database_url, "dbsafe")
    holder, named = _vacuuming(database_url)
    said: list[str] = []

    def progress(step: str, message: str) -> None:
        said.append(f"{step}: {message}")
        if step == "verify" and message.startswith("schema equals"):
            holder.execute("LOCK TABLE dbsafe.audit")

    options = DowngradeOptions(target="0004", backup=False, lock_timeout="300ms", retries=1,
                               retry_delay=0.05)
    try:
        with _unblocked_if_unbounded(database_url, holder) as ended, \
                pytest.raises(DatabaseError) as failure:
            commands.downgrade(_down_settings(root, database_url), options, progress)
    finally:
        holder.close()

    assert not ended, said
    assert any(s.startswith("done: could not read the schema of ") and "retrying in" in s
               for s in said), said
    assert _state(database_url)["version"] == ["0004"]
    message = str(failure.value)
    assert "lock timeout" in message and named in message and "\n" not in message
    assert message.endswith("; downgraded, the database is at 0004; its end was recorded "
                            "without the schema"), message
    last = history.entries(database_url, limit=1)[0]
    assert (last.operation, last.outcome, last.to_revisions) == ("downgrade", "downgraded",
                                                                 ("0004",))
    assert last.message is not None and last.message.endswith(message), last.message

"""`dbsafe downgrade` and `CREATE INDEX CONCURRENTLY`: the computed downgrade's build waits
for an older snapshot as `upgrade`'s does; a build cut by a lock timeout or failing leaves
no INVALID index behind (a retry of it failed 42P07, relation already exists); the computed
downgrade retries a lock timeout (`--retries`) as the revisions' downgrades are retried.
Judged by pg_index, the version table and the columns PostgreSQL has."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.guard.downgrade import DowngradeOptions
from tests.guard.test_concurrent_waits import writes_go_through_while_the_build_waits
from tests.guard.test_kill import _BUILD_WAITING, _INDEX_DROPPED, _project_of, old_snapshot
from tests.helpers import at_revision

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]


def _revisions(index: str = "INDEX", downgrade: str | None = None,
               upgrade: str = 'op.execute("DROP INDEX ix_a_n")') -> dict[str, str]:
    """0001: table `a` and its index ix_a_n (`index`: "UNIQUE INDEX" for a unique one);
    0002: `upgrade`, undone by `downgrade` (None: its downgrade() is empty)."""
    body = (('    with op.get_context().autocommit_block():\n'
             f'        op.execute("{downgrade}")\n') if downgrade else '    pass\n')
    return {
        "0001_a.py": _INDEX_DROPPED["0001_a.py"].replace("CREATE INDEX", f"CREATE {index}"),
        "0002_b.py":
            '"""0002"""\nfrom alembic import op\n\nrevision = "0002"\n'
            f'down_revision = "0001"\n\n\ndef upgrade():\n    {upgrade}\n\n\n'
            f'def downgrade():\n{body}'}


_BUILD_AGAIN = "CREATE {}INDEX CONCURRENTLY ix_a_n ON a (n)"


def _at_0002(root: Path, url: str, revisions: dict[str, str], rows: str) -> Any:
    """The project of `revisions` upgraded to 0002 on `url`, `a` holding `rows` (a copy of
    a database the first test on these revisions migrated: `at_revision`)."""
    _project_of(root, revisions)
    (root / "app" / "queries.sql").write_text("SELECT id, n FROM a;\n")
    at_revision(url, root / "alembic.ini", "0002")
    with psycopg.connect(url) as conn:
        conn.execute(f"INSERT INTO a SELECT i, {rows} FROM generate_series(1, 100) i")
    return load_settings(root, {"database-url": url, "cache": False}, environ={})


def _state(url: str) -> tuple[Any, ...]:
    """(ix_a_n's indisvalid, None where there is no such index; the version table)."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT (SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('ix_a_n')), "
            "(SELECT array_agg(version_num) FROM alembic_version)").fetchone()


def test_the_computed_downgrades_build_waits_for_an_older_snapshot_past_lock_timeout(
        database_url: str, tmp_path: Path) -> None:
    settings = _at_0002(tmp_path / "p", database_url, _revisions(), "i")
    result = writes_go_through_while_the_build_waits(database_url, lambda: commands.downgrade(
        settings, DowngradeOptions(target="0001", backup=False, yes=True, use_computed=True,
                                   lock_timeout="200ms", retries=0)))
    assert result.summary["outcome"] == "downgraded", result.summary["what_happened"]
    assert _state(database_url) == (True, ["0001"])


@pytest.mark.parametrize("computed", [False, True], ids=["revision", "computed"])
def test_a_build_cut_by_a_lock_timeout_is_removed_and_retried(
        database_url: str, tmp_path: Path, computed: bool) -> None:
    """The build waits for a report's snapshot past the statement timeout (its lock wait):
    55P03. Its INVALID index is removed before the retry, which builds it once the report
    is gone; left there, the retry failed 42P07 (relation "ix_a_n" already exists), and
    the computed downgrade was not retried at all."""
    settings = _at_0002(tmp_path / "p", database_url, _revisions(
        downgrade=None if computed else _BUILD_AGAIN.format("")), "i")
    report = old_snapshot(database_url)
    seen: list[Any] = []

    def progress(step: str, text: str) -> None:
        if "retrying in" in text:
            seen.append(_state(database_url))
            report.close()  # the report ends while dbsafe waits to try again

    try:
        result = commands.downgrade(settings, DowngradeOptions(
            target="0001", backup=False, yes=True, use_computed=computed,
            statement_timeout="1s", retries=1, retry_delay=0.05), progress=progress)
    finally:
        report.close()
    assert seen == [(None, ["0002"])], result.summary["what_happened"]
    assert result.summary["outcome"] == "downgraded", result.summary["what_happened"]
    assert _state(database_url) == (True, ["0001"])


@pytest.mark.parametrize("computed", [False, True], ids=["revision", "computed"])
def test_a_unique_build_failing_on_duplicates_leaves_no_invalid_index(
        database_url: str, tmp_path: Path, computed: bool) -> None:
    """Since 0002 dropped the unique index, duplicates came in: building it again fails
    (23505) and leaves it INVALID, which slowed every write to `a` and made the next
    downgrade fail 42P07. It is removed; the database stays at 0002. (The duplicates come
    in once the preflight is done: there, the rows' question refuses the downgrade before
    anything runs, DBS617/DBS607.)"""
    settings = _at_0002(tmp_path / "p", database_url, _revisions(
        "UNIQUE INDEX", downgrade=None if computed else _BUILD_AGAIN.format("UNIQUE ")), "i")
    preflight_done: list[str] = []

    def progress(step: str, text: str) -> None:
        if step != "preflight" and not preflight_done:
            preflight_done.append(step)
            with psycopg.connect(database_url) as conn:
                conn.execute("UPDATE a SET n = 1")

    result = commands.downgrade(settings, DowngradeOptions(
        target="0001", backup=False, yes=True, use_computed=computed), progress=progress)
    assert preflight_done, result.summary["what_happened"]
    assert result.summary["outcome"] == "failed", result.summary["what_happened"]
    assert "could not create unique index" in str(result.summary["what_happened"])
    assert _state(database_url) == (None, ["0002"])


def test_the_computed_downgrade_retries_a_lock_timeout(database_url: str,
                                                       tmp_path: Path) -> None:
    """A reader idle in its transaction on `a` when the computed downgrade wants ACCESS
    EXCLUSIVE on it: the transaction gives up after lock_timeout and runs again once the
    reader is gone (`--retries`), instead of failing the downgrade."""
    settings = _at_0002(tmp_path / "p", database_url, _revisions(
        upgrade='op.execute("ALTER TABLE a ADD note text")'), "i")
    reader = psycopg.connect(database_url, application_name="nightly-report")
    reader.execute("SELECT count(*) FROM a")  # ACCESS SHARE until it ends
    retries: list[str] = []

    def progress(step: str, text: str) -> None:
        if "retrying in" in text:
            retries.append(text)
            reader.close()

    try:
        result = commands.downgrade(settings, DowngradeOptions(
            target="0001", backup=False, yes=True, use_computed=True, lock_timeout="300ms",
            retry_delay=0.05), progress=progress)
    finally:
        reader.close()
    assert result.summary["outcome"] == "downgraded", result.summary["what_happened"]
    assert len(retries) == 1 and "'nightly-report'" in retries[0], retries
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]
        assert conn.execute("SELECT array_agg(attname ORDER BY attnum) FROM pg_attribute "
                            "WHERE attrelid = 'a'::regclass AND attnum > 0 AND NOT "
                            "attisdropped").fetchone() == (["id", "n"],)
        assert conn.execute("SELECT count(*) FROM a").fetchone() == (100,)


@pytest.mark.parametrize("computed", [False, True], ids=["revision", "computed"])
def test_a_build_whose_session_a_dba_ended_leaves_no_invalid_index(
        database_url: str, tmp_path: Path, computed: bool) -> None:
    """A DBA ends the waiting build's session (pg_terminate_backend: 57P01): its connection
    is gone, and the INVALID index it left is removed all the same; the database stays at
    0002."""
    settings = _at_0002(tmp_path / "p", database_url, _revisions(
        downgrade=None if computed else _BUILD_AGAIN.format("")), "i")
    report = old_snapshot(database_url)
    outcome: dict[str, Any] = {}

    def downgrade() -> None:
        outcome["report"] = commands.downgrade(settings, DowngradeOptions(
            target="0001", backup=False, yes=True, use_computed=computed))

    thread = threading.Thread(target=downgrade)
    thread.start()
    try:
        with psycopg.connect(database_url, autocommit=True) as dba:
            deadline = time.monotonic() + 300
            while not dba.execute(_BUILD_WAITING).fetchone()[0]:  # type: ignore[index]
                assert thread.is_alive() and time.monotonic() < deadline, outcome
                time.sleep(0.05)
            assert dba.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE query LIKE 'CREATE INDEX CONCURRENTLY ix_a_n%'"
                               ).fetchall() == [(True,)]
            thread.join(timeout=300)
    finally:
        report.close()
        thread.join(timeout=300)
    result = outcome["report"]
    assert result.summary["outcome"] == "failed", result.summary["what_happened"]
    assert _state(database_url) == (None, ["0002"])


@pytest.mark.parametrize("computed", [False, True], ids=["revision", "computed"])
def test_a_retry_waits_for_what_the_failed_build_left_to_go(
        database_url: str, tmp_path: Path, computed: bool) -> None:
    """A writer idle in its transaction on `a`: the build waits for it past the statement
    timeout (55P03), and dropping the INVALID index it left waits for it too, past
    lock_timeout. The drop is tried again after the backoff, once the writer is gone, and
    the retry builds the index; sent at once with the index still there, the retry failed
    42P07 and that hid the lock timeout."""
    settings = _at_0002(tmp_path / "p", database_url, _revisions(
        downgrade=None if computed else _BUILD_AGAIN.format("")), "i")
    writer = psycopg.connect(database_url)
    writer.execute("INSERT INTO a VALUES (1000, 1)")  # ROW EXCLUSIVE on `a` until it ends

    def progress(step: str, text: str) -> None:
        if "retrying in" in text:
            writer.close()

    try:
        result = commands.downgrade(settings, DowngradeOptions(
            target="0001", backup=False, yes=True, use_computed=computed,
            statement_timeout="1s", lock_timeout="300ms", retries=1, retry_delay=0.05),
            progress=progress)
    finally:
        writer.close()
    assert result.summary["outcome"] == "downgraded", result.summary["what_happened"]
    assert _state(database_url) == (True, ["0001"])

"""Confirmation's timeouts hold for every candidate, and bad ones are errors.

A batch of candidates goes out as one pipeline (BEGIN READ ONLY, transaction-local timeouts,
a savepoint; per candidate Parse, Sync, ROLLBACK TO the savepoint; ROLLBACK); these tests show
the timeouts bound each Parse and every transaction ends, on a real PostgreSQL with a lock
held elsewhere.
"""

from __future__ import annotations

import psycopg
import pytest

from dbsafe.core import DatabaseError
from dbsafe.validate.confirm import _confirm_iter, confirm

pytestmark = pytest.mark.db


def test_every_candidate_gives_up_at_lock_timeout(conninfo: str, database_url: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as setup:
        setup.execute("CREATE TABLE locked (id int)")
    with psycopg.connect(conninfo) as holder:
        holder.execute("LOCK TABLE locked IN ACCESS EXCLUSIVE MODE")  # kept until rollback
        verdicts = confirm(database_url, ["SELECT id FROM locked", "SELECT nosuch FROM locked",
                                          "SELECT nosuch FROM missing"],
                           lock_timeout="100ms", statement_timeout="5s")
        holder.rollback()
    # Parse analysis waits for the table's lock: both statements on it give up (55P03, not
    # a finding); the third needs no lock and is judged as usual.
    assert [(v.sqlstate, v.rejected) for v in verdicts] == [
        ("55P03", False), ("55P03", False), ("42P01", True)]


def test_a_bad_timeout_is_an_error(database_url: str) -> None:
    with pytest.raises(DatabaseError, match="invalid lock-timeout or statement-timeout"):
        confirm(database_url, ["SELECT 1"], lock_timeout="soon")


def test_no_transaction_stays_open_while_a_verdict_is_handled(conninfo: str,
                                                              database_url: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as setup:
        setup.execute("CREATE TABLE t (id int)")
    verdicts = _confirm_iter(database_url, iter(["SELECT id FROM t", "SELECT 1"]), "1s", "5s")
    assert next(verdicts).accepted
    with psycopg.connect(conninfo, autocommit=True) as probe:
        locks = probe.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
            " WHERE c.relname = 't' AND l.pid <> pg_backend_pid()").fetchone()
        # This database's only: an earlier test's session leaves pg_stat_activity a moment
        # after its client closed it.
        states = probe.execute("SELECT state FROM pg_stat_activity"
                               " WHERE application_name = 'dbsafe validate'"
                               " AND datname = current_database()").fetchall()
    verdicts.close()
    assert locks == (0,)
    assert states == [("idle",)]


def test_candidates_go_out_together_and_keep_their_own_verdicts(conninfo: str,
                                                                  database_url: str) -> None:
    # One pipeline per batch of candidates (one round trip for the lot): every statement of
    # the batch is sent before the first verdict comes back. Across batch boundaries each
    # verdict is still the one its statement gets alone, errors included.
    from dbsafe.validate import confirm as confirming

    with psycopg.connect(conninfo, autocommit=True) as setup:
        setup.execute("CREATE TABLE t (id int)")
    kinds = ["SELECT id FROM t", "SELECT nosuch FROM t", "SELECT id FROM missing",
             "SELEC 1", "SELECT id FROM t WHERE id = %s", "SELECT 1/0"]
    statements = [kinds[i % len(kinds)] for i in range(2 * confirming._BATCH + 3)]
    pulled = []

    def feed():
        for sql in statements:
            pulled.append(sql)
            yield sql

    verdicts = _confirm_iter(database_url, feed(), "1s", "5s")
    first = next(verdicts)
    assert len(pulled) == confirming._BATCH
    batched = [first, *verdicts]
    alone = {sql: confirm(database_url, [sql])[0] for sql in kinds}
    assert batched == [alone[sql] for sql in statements]
    assert [(v.sqlstate, v.rejected) for v in batched[:len(kinds)]] == [
        (None, False), ("42703", True), ("42P01", True), ("42601", False), (None, False),
        (None, False)]


def test_another_thread_sees_a_parse_wait_for_a_lock(conninfo: str, database_url: str) -> None:
    # A guarded run names who holds the lock a Parse waits for from a thread of its own
    # (guard.blockers.BlockerWatch): libpq's wait inside PQgetResult held Python's lock, so
    # no other thread ran while the Parse waited, and the holder went unnamed.
    import threading

    with psycopg.connect(conninfo, autocommit=True) as setup:
        setup.execute("CREATE TABLE locked (id int)")
    seen: list[str] = []
    done = threading.Event()

    def look() -> None:
        with psycopg.connect(conninfo, autocommit=True) as watch:
            while not done.wait(0.01):
                seen.extend(row[0] for row in watch.execute(
                    "SELECT wait_event_type FROM pg_stat_activity WHERE application_name = "
                    "'dbsafe validate' AND datname = current_database() "
                    "AND wait_event_type = 'Lock'"))

    with psycopg.connect(conninfo) as holder:
        holder.execute("LOCK TABLE locked IN ACCESS EXCLUSIVE MODE")
        looker = threading.Thread(target=look)
        looker.start()
        try:
            (verdict,) = confirm(database_url, ["SELECT nosuch FROM locked"],
                                 lock_timeout="500ms", statement_timeout="5s")
        finally:
            done.set()
            looker.join()
        holder.rollback()
    assert verdict.sqlstate == "55P03"
    assert seen, "no other thread ran while the Parse waited for the lock"


def _project(conninfo: str, database_url: str, tmp_path, tables: str, files: dict[str, str]):
    """`tables` made in the database, `files` (name: SQL) in a project at `tmp_path`; its
    settings: a short lock timeout, its own cache."""
    from dbsafe.config import load_settings

    with psycopg.connect(conninfo, autocommit=True) as setup:
        setup.execute(tables)
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n")
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return load_settings(tmp_path, {"database-url": database_url, "lock-timeout": "200ms",
                                    "cache-dir": str(tmp_path / "cache")}, environ={})


def test_a_finding_whose_parse_was_cut_by_a_lock_is_an_error_and_not_cached(
        conninfo: str, database_url: str, tmp_path) -> None:
    # Kept unconfirmed, it was flagged (for a statement PostgreSQL might accept) and cached
    # so: the next run, the lock long gone, said the same without preparing it again.
    from dbsafe import commands

    settings = _project(conninfo, database_url, tmp_path, "CREATE TABLE patients (id int)",
                        {"q.sql": "SELECT nosuch FROM patients;\n"})
    with psycopg.connect(conninfo) as holder:
        holder.execute("LOCK TABLE patients IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(DatabaseError) as failure:
            commands.validate(settings, [tmp_path / "q.sql"])
        holder.rollback()
    assert failure.value.sqlstate == "55P03"
    assert str(failure.value) == ("could not confirm q.sql:1 with PostgreSQL: canceling "
                                  "statement due to lock timeout")

    report = commands.validate(settings, [tmp_path / "q.sql"])
    assert [(f.code, dict(f.context).get("PostgreSQL")) for f in report.findings] == [
        ("DBS302", '42703: column "nosuch" does not exist')]


def test_after_a_parse_cut_by_a_lock_only_the_cut_files_are_prepared_again(
        conninfo: str, database_url: str, tmp_path) -> None:
    # A guarded run tries validate again after a lock cut a Parse (`guard.upgrade.waited`):
    # the files whose statements all had their verdicts are kept, the retry prepares only
    # the cut one's. Shown by a lock taken on b.sql's table between the two runs: were b.sql
    # prepared again, that retry would be cut in turn.
    from dbsafe import commands

    settings = _project(conninfo, database_url, tmp_path,
                        "CREATE TABLE patients (id int); CREATE TABLE orders (id int)",
                        {"a.sql": "SELECT nosuch FROM patients;\n",
                         "b.sql": "SELECT missing FROM orders;\n"})
    files = [tmp_path / "a.sql", tmp_path / "b.sql"]
    with psycopg.connect(conninfo) as holder:
        holder.execute("LOCK TABLE patients IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(DatabaseError) as failure:
            commands.validate(settings, files)
        holder.rollback()
        assert str(failure.value).startswith("could not confirm a.sql:1 with PostgreSQL: ")
        holder.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
        report = commands.validate(settings, files)
        holder.rollback()
    assert sorted((f.location.path, f.code, dict(f.context).get("PostgreSQL"))
                  for f in report.findings if f.location) == [
        ("a.sql", "DBS302", '42703: column "nosuch" does not exist'),
        ("b.sql", "DBS302", '42703: column "missing" does not exist')]

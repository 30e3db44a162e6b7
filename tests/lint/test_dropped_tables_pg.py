"""DBS114 on tables a migration's transaction drops, against what PostgreSQL does to the
sessions waiting for them.

The migration runs in an open transaction on one connection; a reader on a second one
queues behind its ACCESS EXCLUSIVE lock; a third watches `pg_locks` until the reader waits,
then the migration commits and the reader's outcome is read.
"""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import Settings

pytestmark = pytest.mark.db

SETUP = """
CREATE TABLE parent (id int PRIMARY KEY);
CREATE TABLE child (id int, parent_id int REFERENCES parent);
CREATE TABLE plain (id int);
CREATE TABLE swapped (id int);
CREATE TABLE other (id int);
INSERT INTO parent VALUES (1);
INSERT INTO child VALUES (1, 1);
INSERT INTO plain VALUES (1);
INSERT INTO swapped VALUES (1);
INSERT INTO other SELECT generate_series(1, 100);
"""

# A table dropped for good, then more work: its readers wait, then fail.
DROPPED = ["DROP TABLE plain", "UPDATE other SET id = id + 1"]
# Dropped and made again under its name: its readers wait, then read the new one.
RECREATED = ["DROP TABLE swapped", "CREATE TABLE swapped (id int, note text)",
             "INSERT INTO swapped SELECT id, 'new' FROM other"]
# Dropping a table with a foreign key locks the table it references too.
WITH_KEY = ["DROP TABLE child", "UPDATE other SET id = id + 1"]


def _reader_outcome(conninfo: str, migration: list[str], reader: str,
                    watched: str) -> tuple[str, object]:
    """Run `migration` in a transaction, start `reader` once it holds its locks, commit
    when the reader waits for `watched`; ("rows", rows) or ("error", SQLSTATE)."""
    outcome: list[tuple[str, object]] = []
    with psycopg.connect(conninfo) as session, \
            psycopg.connect(conninfo, autocommit=True) as observer:
        for sql in migration:
            session.execute(sql)

        def read() -> None:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                try:
                    outcome.append(("rows", conn.execute(reader).fetchall()))
                except psycopg.Error as exc:
                    outcome.append(("error", exc.sqlstate))

        thread = threading.Thread(target=read)
        thread.start()
        try:
            for _ in range(10_000):  # until the reader waits behind the migration's lock
                waiting = observer.execute(
                    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                    "WHERE NOT l.granted AND a.query = %s", (reader,)).fetchone()
                if waiting and waiting[0]:
                    break
                observer.execute("SELECT pg_sleep(0.01)")
            else:
                pytest.fail(f"{reader} never waited for the migration's lock on {watched}")
            held = observer.execute(
                "SELECT l.mode FROM pg_locks l WHERE l.pid = %s AND l.granted "
                "AND l.relation = %s::regclass AND l.mode = 'AccessExclusiveLock'",
                (session.info.backend_pid, watched)).fetchall()
            assert held, f"the migration holds no ACCESS EXCLUSIVE lock on {watched}"
            session.commit()
        finally:
            thread.join()
    return outcome[0]


def _dbs114(tmp_path: Path, migration: list[str], code: str = "DBS114",
            setup: str = SETUP) -> list[str]:
    folder = tmp_path / "migrations"
    folder.mkdir(exist_ok=True)
    (folder / "001_setup.sql").write_text(setup)
    (folder / "002_change.sql").write_text(
        "BEGIN;\n" + "".join(f"{sql};\n" for sql in migration) + "COMMIT;\n")
    report = commands.lint(Settings(project_root=tmp_path, select=(code,)), [folder])
    return [f.message for f in report.findings]


def test_a_table_dropped_for_good_keeps_nobody_waiting_who_would_not_fail(
        conninfo: str, tmp_path: Path) -> None:
    """onlook's `DROP TABLE published_domains CASCADE` then renames on another table: DBS114
    said readers of `published_domains` wait until COMMIT; they do, and then get 42P01, as
    soon as it comes or not (DBS201 is the finding about them)."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(SETUP)
    assert _reader_outcome(conninfo, DROPPED, "SELECT id FROM plain", "plain") == \
        ("error", "42P01")
    assert _dbs114(tmp_path, DROPPED) == []


def test_a_table_made_again_under_its_name_keeps_its_readers_waiting(
        conninfo: str, tmp_path: Path) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(SETUP)
    kind, rows = _reader_outcome(conninfo, RECREATED, "SELECT note FROM swapped", "swapped")
    assert kind == "rows" and rows and {row[0] for row in rows} == {"new"}
    messages = _dbs114(tmp_path, RECREATED)
    assert len(messages) == 1 and "while `swapped` is still ACCESS EXCLUSIVE locked" in \
        messages[0]


def test_the_table_a_dropped_table_references_is_the_one_named(
        conninfo: str, tmp_path: Path) -> None:
    """linkwarden's `_LinkToUser` loses its keys, then is dropped: the lock that keeps
    readers waiting is the one on `Link` (its foreign key's table), not on `_LinkToUser`."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(SETUP)
    assert _reader_outcome(conninfo, WITH_KEY, "SELECT id FROM parent", "parent") == \
        ("rows", [(1,)])
    messages = _dbs114(tmp_path, WITH_KEY)
    assert len(messages) == 1 and "while `parent` is still ACCESS EXCLUSIVE locked" in \
        messages[0]


def test_an_index_of_a_table_the_transaction_drops_for_good_is_no_dbs103(
        conninfo: str, tmp_path: Path) -> None:
    """Meltano's c0efb3c314eb drops `ix_user_username`, then `user`: readers queued behind
    the DROP INDEX get 42P01 at COMMIT (DBS201's finding), and the DROP TABLE needs the
    same ACCESS EXCLUSIVE lock, so CONCURRENTLY would spare nobody. An index of a table
    that stays is still DBS103."""
    setup = SETUP + "CREATE INDEX plain_id ON plain (id);\n"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(setup)
    assert _reader_outcome(conninfo, ["DROP INDEX plain_id", "DROP TABLE plain"],
                           "SELECT id FROM plain", "plain") == ("error", "42P01")
    assert _dbs114(tmp_path, ["DROP INDEX plain_id", "DROP TABLE plain"], "DBS103",
                   setup) == []
    assert _dbs114(tmp_path, ["DROP INDEX plain_id", "UPDATE other SET id = id + 1"],
                   "DBS103", setup) == [
        "Index `plain_id` is dropped without CONCURRENTLY; reads and writes on `plain` wait "
        "until it finishes."]

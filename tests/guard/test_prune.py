"""`backups prune` and `restore --clean-up` delete only what a DBA would not keep, and only
once confirmed: real backups (pg_dump, --verify-restore's pg_restore), real databases."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.guard.backup import APPLICATION_NAME
from dbsafe.guard.restore import IN_PROGRESS, half_restored
from tests.helpers import read_terminal

pytestmark = pytest.mark.db

SCHEMA = """
CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
INSERT INTO alembic_version VALUES ('0007');
CREATE TABLE orders (id bigint PRIMARY KEY, total numeric);
INSERT INTO orders SELECT g, g * 1.5 FROM generate_series(1, 500) g;
"""


@pytest.fixture
def source(database_url: str) -> str:
    with psycopg.connect(database_url) as conn:
        conn.execute(SCHEMA)
    return database_url


def _backup(url: str, tmp_path: Path, *, verify_restore: bool = False) -> Path:
    settings = load_settings(tmp_path, {"database-url": url}, environ={})
    report = commands.backup(settings, tmp_path / "b", verify_restore=verify_restore)
    return Path(str(report.summary["backup"]))


def _dbsafe(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dbsafe", *args], cwd=tmp_path,
                          capture_output=True, text=True, check=False, timeout=300,
                          stdin=subprocess.DEVNULL)


def _on_terminal(tmp_path: Path, answer: str, *args: str) -> tuple[int, str, str]:
    """(exit status, stdout, what the terminal showed) of a run whose stdin and stderr are
    a terminal, `answer` typed at it."""
    main_fd, child_fd = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "dbsafe", *args], cwd=tmp_path,
                                stdin=child_fd, stderr=child_fd, stdout=subprocess.PIPE,
                                text=True)
    finally:
        os.close(child_fd)
    try:
        shown = read_terminal(main_fd, until=b"[y/N]")
        os.write(main_fd, answer.encode() + b"\r")
        stdout = proc.communicate(timeout=300)[0]
        shown += read_terminal(main_fd)
    finally:
        os.close(main_fd)
    return proc.returncode, stdout, shown.decode()


def _prune(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _dbsafe(tmp_path, "backups", "--backup-dir", str(tmp_path / "b"), "prune", *args)


def test_prune_keeps_the_newest_backup_a_restore_verified(source: str, tmp_path: Path) -> None:
    """`prune --keep 1` deleted the only backup a restore had verified, keeping a newer one
    nobody restored."""
    older = _backup(source, tmp_path)
    verified = _backup(source, tmp_path, verify_restore=True)
    newest = _backup(source, tmp_path)

    pruned = _prune(tmp_path, "--keep", "1", "--yes")

    assert pruned.returncode == 0, pruned.stderr
    assert pruned.stdout.splitlines()[0] == f"kept {verified} (newest verified by a restore)"
    assert pruned.stdout.splitlines()[-1] == f"removed {older}"
    assert verified.exists() and newest.exists() and not older.exists()
    # Exactly --keep when asked: the verified one goes too.
    exact = _prune(tmp_path, "--keep", "1", "--no-keep-verified", "--yes")
    assert (exact.returncode, exact.stdout.splitlines()[-1]) == (0, f"removed {verified}")
    assert newest.exists() and not verified.exists()
    assert not Path(f"{verified}.manifest.json").exists()


def test_a_verified_backup_among_the_newest_is_the_one_kept(source: str,
                                                           tmp_path: Path) -> None:
    older_verified = _backup(source, tmp_path, verify_restore=True)
    newest_verified = _backup(source, tmp_path, verify_restore=True)

    pruned = _prune(tmp_path, "--keep", "1", "--yes")

    assert (pruned.returncode, pruned.stdout.splitlines()) == (
        0, [pruned.stdout.splitlines()[0], f"removed {older_verified}"]), pruned.stderr
    assert newest_verified.exists()


def test_a_dry_run_lists_what_would_go_and_deletes_nothing(source: str, tmp_path: Path) -> None:
    older, newest = _backup(source, tmp_path), _backup(source, tmp_path)

    dry = _prune(tmp_path, "--keep", "1", "--dry-run")

    assert dry.returncode == 0, dry.stderr
    [line] = dry.stdout.splitlines()
    size = older.stat().st_size
    assert line.startswith(f"would delete {older}  ") and \
        f"  at 0007  {size} bytes  " in line and line.endswith(" old  restore not verified")
    assert older.exists() and newest.exists()


def test_prune_without_a_terminal_or_yes_refuses_and_deletes_nothing(source: str,
                                                                    tmp_path: Path) -> None:
    older, newest = _backup(source, tmp_path), _backup(source, tmp_path)

    refused = _prune(tmp_path, "--keep", "1")

    assert (refused.returncode, refused.stderr.splitlines()) == (1, [
        "dbsafe: refused: deleting 1 backup(s) needs --yes, or y answered at a prompt; "
        "nothing was deleted"])
    assert refused.stdout.startswith(f"to delete {older}  ")
    assert older.exists() and newest.exists()


def test_prune_asks_on_a_terminal(source: str, tmp_path: Path) -> None:
    older, newest = _backup(source, tmp_path), _backup(source, tmp_path)
    args = ("backups", "--backup-dir", str(tmp_path / "b"), "prune", "--keep", "1")

    code, _, shown = _on_terminal(tmp_path, "n", *args)
    assert code == 1 and "delete 1 backup(s) (0.0" in shown and " MB)? [y/N]" in shown
    assert "nothing was deleted" in shown and older.exists()

    code, stdout, shown = _on_terminal(tmp_path, "y", *args)
    assert (code, stdout.splitlines()[-1]) == (0, f"removed {older}"), shown
    assert newest.exists() and not older.exists()


def _held_backup(source: str, tmp_path: Path,
                 holder: psycopg.Connection) -> tuple[subprocess.Popen[str], Path]:
    """A `dbsafe backup` started while `holder` holds ACCESS EXCLUSIVE on orders, once its
    pg_dump waits for that lock (its file reserved, no manifest), with that file."""
    before = set((tmp_path / "b").glob("*.dump"))
    holder.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
    running = subprocess.Popen(
        [sys.executable, "-m", "dbsafe", "backup", "--database-url", source,
         "--backup-dir", str(tmp_path / "b"), "--lock-timeout", "120s"], cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (set((tmp_path / "b").glob("*.dump")) - before):
        time.sleep(0.05)
    [writing] = set((tmp_path / "b").glob("*.dump")) - before
    waiting = "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'orders'::regclass"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and holder.execute(waiting).fetchone() == (0,):
        time.sleep(0.05)
    return running, writing


def test_a_backup_being_written_is_listed_and_never_pruned(source: str,
                                                          tmp_path: Path) -> None:
    """A live `dbsafe backup` (pg_dump waiting for a table's lock) has its file and no
    manifest yet: `backups` and prune say it is being written, by whom, and prune leaves it,
    even asked to delete what is unusable."""
    older, _newest = _backup(source, tmp_path), _backup(source, tmp_path)
    broken = _backup(source, tmp_path)
    Path(f"{broken}.manifest.json").write_text("{")
    with psycopg.connect(source) as holder:
        running, writing = _held_backup(source, tmp_path, holder)
        try:
            listed = _dbsafe(tmp_path, "backups", "--backup-dir", str(tmp_path / "b"))
            [line] = [x for x in listed.stdout.splitlines() if x.startswith(str(writing))]
            assert line.startswith(f"{writing}  being written (pid {running.pid} on "), line
            # A restore of it says so too: wait for it (it said only "no manifest").
            refused = _dbsafe(tmp_path, "restore", str(writing), "--database-url", source)
            assert (refused.returncode, refused.stderr.splitlines()) == (2, [
                f"dbsafe: error: no manifest next to the backup: {writing}.manifest.json; it "
                f"is {line[len(str(writing)) + 2:]}: restore it once its manifest is "
                "written"])

            pruned = _prune(tmp_path, "--keep", "1", "--yes")

            assert pruned.returncode == 0, pruned.stderr
            lines = pruned.stdout.splitlines()
            assert f"left {writing} ({line[len(str(writing)) + 2:]})" in lines
            assert f"left {broken} (its manifest cannot be read; --delete-unusable deletes " \
                "it)" in lines
            assert lines[-1] == f"removed {older}"
            assert writing.exists() and broken.exists()
            # Asked to, prune deletes what a restore refuses, never a backup being written.
            asked = _prune(tmp_path, "--keep", "1", "--yes", "--delete-unusable")
            assert asked.returncode == 0, asked.stderr
            assert asked.stdout.splitlines()[-1] == f"removed {broken}"
            assert any(line.startswith(f"to delete {broken}  ?  at ?  ") and
                       line.endswith("  (its manifest cannot be read)")
                       for line in asked.stdout.splitlines()), asked.stdout
            assert writing.exists() and not broken.exists()
            assert not Path(f"{broken}.manifest.json").exists()
        finally:
            holder.rollback()
        _, err = running.communicate(timeout=120)
    assert running.returncode == 0, err
    assert Path(f"{writing}.manifest.json").exists()  # the backup it did not delete is whole
    assert not Path(f"{writing}.writing").exists()  # its lock file went with its run
    listed = _dbsafe(tmp_path, "backups", "--backup-dir", str(tmp_path / "b"))
    assert "being written" not in listed.stdout and "stopped" not in listed.stdout


def _children_named(parent: int, name: str) -> list[int]:
    """The processes `parent` started that run `name` (read from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        command, fields = text[text.index("(") + 1:text.rindex(")")], text.rsplit(")", 1)[1]
        if command == name and int(fields.split()[1]) == parent:
            found.append(int(stat.parent.name))
    return found


def test_a_pg_dump_killed_outright_leaves_no_session_queued_for_the_lock(
        source: str, tmp_path: Path) -> None:
    """pg_dump itself killed with SIGKILL (the out-of-memory killer picks the biggest
    process) while it waits for a table's lock sends no cancel: its session must not stay
    queued behind the lock, every ALTER TABLE behind it, until the lock is granted."""
    with psycopg.connect(source) as holder:
        running, _writing = _held_backup(source, tmp_path, holder)
        try:
            [pg_dump] = _children_named(running.pid, "pg_dump")
            os.kill(pg_dump, signal.SIGKILL)
            queued = ("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
                      "AND backend_type = 'client backend' AND wait_event_type = 'Lock'")
            with psycopg.connect(source, autocommit=True) as watcher:
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline and watcher.execute(
                        queued, (APPLICATION_NAME,)).fetchone() != (0,):
                    time.sleep(0.1)
                left = watcher.execute(queued, (APPLICATION_NAME,)).fetchone()
        finally:
            holder.rollback()
        running.communicate(timeout=120)
    assert left == (0,)
    assert running.returncode == 2  # the backup failed, and said so


def test_a_backup_whose_run_was_killed_is_told_and_deleted_only_when_asked(
        source: str, tmp_path: Path) -> None:
    """`dbsafe backup` killed with SIGKILL mid-dump (as the out-of-memory killer does)
    leaves a file without a manifest: `backups` says a run that stopped left it, and prune
    deletes it only with --delete-unusable. (Its pg_dump, in a process group of its own,
    lived on waiting for the lock; now it goes with its run: test_tool_killed.py.)"""
    kept = _backup(source, tmp_path)
    with psycopg.connect(source) as holder:
        running, writing = _held_backup(source, tmp_path, holder)
        try:
            os.kill(running.pid, signal.SIGKILL)
            running.communicate(timeout=60)
            with psycopg.connect(source, autocommit=True) as watcher:  # (a fresh view)
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline and watcher.execute(
                        "SELECT FROM pg_stat_activity WHERE application_name = %s",
                        (APPLICATION_NAME,)).fetchone():
                    time.sleep(0.05)
        finally:
            ended = holder.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                   "WHERE application_name = %s", (APPLICATION_NAME,))
            orphans = ended.fetchall()
            holder.rollback()
    assert orphans == []  # pg_dump went with its run, which left a file that is no backup

    listed = _dbsafe(tmp_path, "backups", "--backup-dir", str(tmp_path / "b"))
    assert listed.returncode == 0, listed.stderr
    assert f"{writing}  left by a run that stopped (no manifest; safe to delete: `backups " \
        "prune --delete-unusable` deletes it)" in listed.stdout.splitlines()
    as_json = _dbsafe(tmp_path, "backups", "--backup-dir", str(tmp_path / "b"), "--format",
                      "json")
    [stray] = [row for row in json.loads(as_json.stdout) if "unfinished" in row]
    assert (stray["backup"], stray["unfinished"]["state"], stray["unfinished"]["pid"]) == (
        str(writing), "stopped", running.pid)

    left = _prune(tmp_path, "--keep", "1", "--yes")
    assert (left.returncode, left.stdout.splitlines()[0]) == (
        0, f"left {writing} (left by a run that stopped (no manifest; safe to delete: "
           "`backups prune --delete-unusable` deletes it))"), left.stderr
    assert writing.exists()
    refused = _dbsafe(tmp_path, "restore", str(writing), "--database-url", source)
    assert (refused.returncode, refused.stderr.splitlines()) == (2, [
        f"dbsafe: error: no manifest next to the backup: {writing}.manifest.json; it was left "
        "by a run that stopped (no manifest; safe to delete: `backups prune "
        "--delete-unusable` deletes it)"]), refused.stderr

    asked = _prune(tmp_path, "--keep", "1", "--delete-unusable")  # not confirmed: kept
    assert asked.returncode == 1 and writing.exists(), asked.stderr
    assert any(line.startswith(f"to delete {writing}  ") and
               line.endswith("(no manifest: left by a run that stopped)")
               for line in asked.stdout.splitlines()), asked.stdout
    asked = _prune(tmp_path, "--keep", "1", "--yes", "--delete-unusable")
    assert (asked.returncode, asked.stdout.splitlines()[-1]) == (0, f"removed {writing}"), \
        asked.stderr
    assert not writing.exists() and not Path(f"{writing}.writing").exists()
    assert kept.exists()


def test_a_backup_restore_refuses_is_deleted_only_when_asked(source: str,
                                                             tmp_path: Path) -> None:
    kept, truncated = _backup(source, tmp_path), _backup(source, tmp_path)
    size = truncated.stat().st_size
    truncated.write_bytes(truncated.read_bytes()[:1000])

    left = _prune(tmp_path, "--keep", "1", "--yes")
    assert (left.returncode, left.stdout.splitlines()[0]) == (
        0, f"left {truncated} (1000 bytes, its manifest says {size} (truncated "
           "or replaced; restore refuses it); --delete-unusable deletes it)"), left.stderr
    assert truncated.exists() and kept.exists()

    asked = _prune(tmp_path, "--keep", "1", "--yes", "--delete-unusable")
    assert (asked.returncode, asked.stdout.splitlines()[-1]) == (0, f"removed {truncated}")
    assert kept.exists() and not truncated.exists()


def _half_restored_database(url: str, name: str) -> None:
    """A database as a killed restore leaves it: created and marked by dbsafe's comment."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
            sql.Identifier(name), sql.Literal(f"{IN_PROGRESS} from x.dump")))


def _databases(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute("SELECT datname FROM pg_database")}


def test_clean_up_asks_and_drops_only_what_a_restore_marked(database_url: str,
                                                           tmp_path: Path) -> None:
    """A database named as dbsafe names restored copies, but not marked by a restore, is
    someone's: never dropped."""
    left, lookalike = "cleanup_left", "cleanup_restored_20261206090000"
    _half_restored_database(database_url, left)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(lookalike)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(lookalike)))
    args = ("restore", "--clean-up", "--database-url", database_url)
    try:
        refused = _dbsafe(tmp_path, *args)
        assert (refused.returncode, refused.stderr.splitlines()[-1]) == (
            1, "dbsafe: refused: dropping 1 database(s) needs --yes, or y answered at a "
               "prompt; nothing was dropped")
        assert f"half-restored by a killed restore: {left}" in refused.stderr
        code, _, shown = _on_terminal(tmp_path, "n", *args)
        assert code == 1 and "drop 1 half-restored database(s)? [y/N]" in shown
        assert {left, lookalike} <= _databases(database_url)

        code, stdout, shown = _on_terminal(tmp_path, "y", *args)
        assert (code, stdout.splitlines()[0]) == (0, f"dropped half-restored {left}"), shown
        assert lookalike in _databases(database_url) and left not in _databases(database_url)
        again = _dbsafe(tmp_path, *args)  # nothing left: nothing to ask
        assert (again.returncode, again.stdout.splitlines()[0]) == (0, "no half-restored database")
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            for name in (left, lookalike):
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)))


def test_clean_up_drops_only_what_was_confirmed(database_url: str, tmp_path: Path) -> None:
    """A database a restore leaves after the list was shown is not dropped with it."""
    _half_restored_database(database_url, "cleanup_shown")
    _half_restored_database(database_url, "cleanup_later")
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    try:
        dropped = commands.restore(settings, Path(), clean_up=True, confirmed=["cleanup_shown"])
        assert dropped.summary["dropped"] == ["cleanup_shown"]
        assert "cleanup_later" in half_restored(database_url)
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            for name in ("cleanup_shown", "cleanup_later"):
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)))

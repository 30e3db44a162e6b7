"""`dbsafe backup` into a directory it cannot write: a read-only mount (a snapshot, a volume
mounted `:ro`, NFS exported read-only).

pg_dump failed there, and removing its partial file (which it never wrote: unlinking fails
on a read-only mount even for a missing file) raised instead, so the run ended in
"internal error: OSError: [Errno 30] Read-only file system" rather than in what was wrong.
The mount is made in a mount namespace of the dbsafe process's own (`unshare --mount`), so
nothing outside it sees it; where that is not permitted (not root), the test is skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

pytestmark = pytest.mark.db


def _in_read_only_mount(directory: Path, command: list[str]) -> list[str]:
    """`command` run where `directory` is an empty read-only tmpfs holding `backups/`."""
    script = (f'mount -t tmpfs tmpfs "{directory}" && mkdir "{directory}/backups" && '
              f'mount -o remount,ro "{directory}" && exec "$@"')
    return ["unshare", "--mount", "sh", "-c", script, "sh", *command]


def test_a_backup_into_a_read_only_directory_says_so_in_one_line(database_url: str,
                                                                   tmp_path: Path) -> None:
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True, check=False) \
        if shutil.which("unshare") else None
    if probe is None or probe.returncode != 0:
        pytest.skip("no mount namespace here (unshare --mount needs root)")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)")
    mounted = tmp_path / "mnt"
    mounted.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))}

    done = subprocess.run(
        _in_read_only_mount(mounted, [sys.executable, "-m", "dbsafe", "backup",
                                      "--database-url", database_url,
                                      "--backup-dir", str(mounted / "backups")]),
        cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        check=False)

    assert done.returncode == 2, done.stderr
    assert done.stderr == (f"dbsafe: error: cannot write to the backup directory "
                           f"{mounted / 'backups'}: Read-only file system\n"), done.stderr


def test_removing_a_partial_backup_never_hides_the_error_that_ended_the_backup(
        tmp_path: Path) -> None:
    """`_remove` runs while pg_dump's failure (or Ctrl-C) unwinds: on a mount gone read-only
    under it (ext4's errors=remount-ro) it raised, and its OSError replaced that failure.
    What it cannot remove is named in a warning instead."""
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True, check=False) \
        if shutil.which("unshare") else None
    if probe is None or probe.returncode != 0:
        pytest.skip("no mount namespace here (unshare --mount needs root)")
    mounted = tmp_path / "mnt"
    mounted.mkdir()
    code = ("import logging, sys; from pathlib import Path; "
            "from dbsafe.guard.backup import _remove; logging.basicConfig(); "
            "[_remove(Path(sys.argv[1], 'backups', name)) for name in sys.argv[2:]]; "
            "print('no error')")
    script = (f'mount -t tmpfs tmpfs "{mounted}" && mkdir "{mounted}/backups" && '
              f'echo partial > "{mounted}/backups/kept.dump" && '
              f'mount -o remount,ro "{mounted}" && exec "$@"')
    done = subprocess.run(["unshare", "--mount", "sh", "-c", script, "sh", sys.executable,
                           "-c", code, str(mounted), "never-written.dump", "kept.dump"],
                          capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout) == (0, "no error\n"), done.stderr
    assert done.stderr.splitlines() == [
        f"WARNING:dbsafe.guard.backup:could not remove the partial backup "
        f"{mounted / 'backups' / 'kept.dump'}: Read-only file system; it has no manifest and "
        "is no backup: delete it"], done.stderr


def test_backups_taken_at_once_each_get_a_file_of_their_own(database_url: str,
                                                             tmp_path: Path) -> None:
    """Backups of one database started together (a cron job's, an upgrade's): a name was
    only checked for existence, and pg_dump made the file a moment later, so two runs
    chose one name: both wrote that file and reported it, one manifest overwrote the
    other, and a run that failed would have removed the other's backup. Each name is now
    made by the run choosing it."""
    import threading

    from dbsafe.guard.backup import _size_and_digest, take_backup

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)")
    runs = 6
    start = threading.Barrier(runs)
    taken: list[Path] = []

    def backup() -> None:
        start.wait()
        taken.append(take_backup(database_url, tmp_path / "b", retries=0).path)

    def umask() -> int:
        mask = os.umask(0o022)
        os.umask(mask)
        return mask

    before = umask()
    threads = [threading.Thread(target=backup) for _ in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # The process's umask is as it was: backups set pg_dump's alone (each set the whole
    # process's to 077 and put back what it found, so threads left it at 077).
    assert umask() == before
    assert len(taken) == runs and len(set(taken)) == runs, sorted(taken)
    assert {oct(path.stat().st_mode & 0o777) for path in taken} == {"0o600"}
    for path in taken:
        manifest = json.loads(Path(f"{path}.manifest.json").read_text())
        assert manifest["path"] == str(path)
        assert (manifest["size_bytes"], manifest["sha256"]) == _size_and_digest(path)


def test_a_directory_format_backup_is_readable_by_its_owner_alone(database_url: str,
                                                                 tmp_path: Path) -> None:
    """pg_dump makes a directory-format backup's files itself: with its own umask (077),
    they are its owner's alone, as a custom-format file is."""
    from dbsafe.guard.backup import take_backup

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)")
    path = take_backup(database_url, tmp_path / "b", jobs=2, retries=0).path
    modes = {p.name: p.stat().st_mode & 0o777 for p in [path, *path.iterdir()]}
    assert len(modes) > 2 and all(mode & 0o077 == 0 for mode in modes.values()), modes

"""`dbsafe backup` on a disk that fills: under pg_dump (a 1 MiB tmpfs), and with the dump
written but no room left for its manifest (a tmpfs out of inodes).

pg_dump's own words name no file (`could not write to output file: No space left on
device`): the error names the backup it was writing, so the disk to free is known. Neither
leaves a file behind, nor a backup that `dbsafe backups` lists.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

pytestmark = pytest.mark.db


def _dbsafe(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))}
    return subprocess.run([sys.executable, "-m", "dbsafe", *args], cwd=cwd, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          check=False, timeout=300)


def _fill(database_url: str, rows: int) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        # md5 text compresses to about half: the dump is bigger than 1 MiB.
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, pad text)")
        conn.execute("INSERT INTO t SELECT g, md5(g::text) || md5((-g)::text) "
                     "FROM generate_series(1, %s) AS g", (rows,))


def test_a_disk_filling_under_pg_dump_names_the_backup_and_leaves_nothing(
        database_url: str, tmp_path: Path, small_filesystem: Path) -> None:
    _fill(database_url, 60_000)

    done = _dbsafe("backup", "--database-url", database_url, "--backup-dir",
                   str(small_filesystem), cwd=tmp_path)

    assert done.returncode == 2, done.stderr
    line = done.stderr.splitlines()[-1]
    assert "Traceback" not in done.stderr
    assert line.startswith(f"dbsafe: error: pg_dump into {small_filesystem}{os.sep}"), line
    assert line.endswith(".dump failed: pg_dump: error: could not write to output file: "
                         "No space left on device"), line
    assert list(small_filesystem.iterdir()) == []
    listed = _dbsafe("backups", "--backup-dir", str(small_filesystem), cwd=tmp_path)
    assert (listed.returncode, listed.stdout) == (0, f"no backups in {small_filesystem}\n")


def test_no_room_for_the_manifest_removes_the_backup(
        database_url: str, tmp_path: Path, no_inode_to_spare: Path) -> None:
    _fill(database_url, 100)

    done = _dbsafe("backup", "--database-url", database_url, "--backup-dir",
                   str(no_inode_to_spare), cwd=tmp_path)

    assert done.returncode == 2, done.stderr
    line = done.stderr.splitlines()[-1]
    assert line.startswith(f"dbsafe: error: cannot write the manifest {no_inode_to_spare}"), line
    assert line.endswith(".dump.manifest.json: No space left on device; the backup was "
                         "removed"), line
    assert list(no_inode_to_spare.iterdir()) == []


def test_no_inode_for_the_backup_file_is_said_before_anything_is_written(
        database_url: str, tmp_path: Path, one_inode_to_spare: Path) -> None:
    # The sidecar the run locks while writing takes the last inode: the backup file's
    # creation failed with an internal OSError.
    done = _dbsafe("backup", "--database-url", database_url, "--backup-dir",
                   str(one_inode_to_spare), cwd=tmp_path)

    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert done.stderr.splitlines()[-1] == (
        f"dbsafe: error: cannot make a backup file in {one_inode_to_spare}: No space left on "
        "device; nothing was written")
    assert list(one_inode_to_spare.iterdir()) == []

"""Fixtures shared by the guarded operations' tests."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.helpers import module_database


@pytest.fixture(scope="module")
def database(request: pytest.FixtureRequest, pg_server) -> Iterator[psycopg.Connection]:
    """A database holding the test module's `SCHEMA`, shared by its tests (`module_database`),
    named after the module: `dbsafe_deleted_rows` for test_deleted_rows.py."""
    module = request.module
    name = "dbsafe_" + module.__name__.rpartition(".")[2].removeprefix("test_")
    with module_database(pg_server, name, module.SCHEMA) as conn:
        yield conn


@pytest.fixture
def small_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A directory on its own 1 MiB tmpfs: less room than any database's backup may need
    (an empty database is several MiB). Mounting needs root (CAP_SYS_ADMIN); elsewhere the
    tests using it are skipped."""
    yield from _tmpfs(tmp_path / "small", "size=1m")


@pytest.fixture
def no_inode_to_spare(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs with room for bytes but three inodes: its root, a backup and the sidecar
    its run locks while writing it (`guard.writing`), none left for its manifest."""
    yield from _tmpfs(tmp_path / "inodes", "size=64m,nr_inodes=3")


@pytest.fixture
def one_inode_to_spare(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs with room for bytes but two inodes: its root and the sidecar a backup's run
    locks (`guard.writing`), none left for the backup itself."""
    yield from _tmpfs(tmp_path / "one-inode", "size=64m,nr_inodes=2")


def _tmpfs(mount_point: Path, options: str) -> Iterator[Path]:
    """`mount_point` on a tmpfs of its own with `options`, unmounted afterwards (also when
    the test fails); the test is skipped where mounting is not permitted."""
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs",
                              str(mount_point)], capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "--lazy", str(mount_point)], check=False)

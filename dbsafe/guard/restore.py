"""`dbsafe backup`, `backups`, `restore`: backups that are tested, not hoped for.

A restore checks the file against its manifest (size, sha256) before touching any
database, restores into a new database by default, and replaces the original only when told
to, keeping the original under another name. A database being restored carries a comment
saying so until it is done, so one left half-restored by a killed run is found and named.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbsafe.core import DatabaseError, DbsafeError, Finding
from dbsafe.guard.backup import (
    _NOT_THE_APPLICATIONS,
    RESTORED_COPY_DIFFERS,
    _major,
    _row_counts,
    _size,
    _size_and_digest,
    _user_tables,
    client_binary,
    history_position,
    load_manifest,
    position_words,
)
from dbsafe.pg import tools
from dbsafe.pg.connect import connect, tool_connection
from dbsafe.pg.tools import restore_binary

if TYPE_CHECKING:
    from dbsafe.migrate.histories import Lookup

log = logging.getLogger(__name__)

Progress = Callable[[str, str], None]
IN_PROGRESS = "dbsafe: restore in progress"


class RestoreFailed(DatabaseError):
    """pg_restore failed on the archive; `error` is the line that says why."""

    def __init__(self, message: str, *, error: str) -> None:
        super().__init__(message)
        self.error = error


def verify_file(path: Path) -> dict[str, Any]:
    """The manifest of `path`, after checking the file is the one it describes.

    Raises:
        DbsafeError: no manifest, or the size or sha256 differs (truncated, corrupted,
            manifest of another backup).
    """
    manifest = _manifest_of(path)
    if Path(str(manifest["path"])).name != path.name:
        raise DbsafeError(f"{path}: its manifest describes another backup "
                          f"({Path(str(manifest.get('path'))).name})")

    def check_size(size: int) -> None:
        if size != manifest.get("size_bytes"):
            raise DbsafeError(f"{path}: {size} bytes, its manifest says "
                              f"{manifest.get('size_bytes')} (truncated or replaced); refusing "
                              "to restore it")

    check_size(_size(path))  # before reading a byte of it
    size, digest = _size_and_digest(path)
    check_size(size)
    if digest != manifest.get("sha256"):
        raise DbsafeError(f"{path}: sha256 does not match its manifest (corrupted); refusing "
                          "to restore it")
    return manifest


def verify_in_background(path: Path) -> Callable[[], dict[str, Any]]:
    """Start `verify_file(path)` on a thread (hashing releases the GIL) and return a
    function that waits for its result, raising what it raised: the caller connects and
    looks around meanwhile, and touches no database before the file is known good."""
    return _in_background(lambda: verify_file(path))


def _in_background(work: Callable[[], Any]) -> Callable[[], Any]:
    """Run `work` on a daemon thread; the function returned waits for it and returns (or
    raises) what it did. A daemon: a run refused before it needs the result (a role without
    CREATEDB) exits at once, not once a big backup is hashed (an executor's threads are
    waited for at exit)."""
    import concurrent.futures
    import threading

    future: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def run() -> None:
        try:
            future.set_result(work())
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits for it
            future.set_exception(exc)

    threading.Thread(target=run, name="dbsafe-verify", daemon=True).start()
    return future.result


def list_backups(directory: Path) -> list[dict[str, Any]]:
    """Every backup with a manifest under `directory`, newest first (by the time its
    manifest gives, else by when the manifest was written; then by the latter)."""
    return [row for row, _missing in _listed(directory)]


def _listed(directory: Path) -> list[tuple[dict[str, Any], str | None]]:
    """`list_backups`' rows, each with what its manifest lacks of what a restore reads
    (`_missing_keys`), or None.

    A manifest is read as `restore` reads it: one that cannot be (not JSON, no JSON
    object) or that gives a key restore reads as another type is named in a warning and
    left out, from the listing and from prune. Read apart, `"size_bytes": "123"` was listed
    and said by prune to be a file "truncated or replaced", `"database": []` made prune an
    internal error, and `"sha256": 5` counted as the backup kept while restore refused it.
    """
    rows = []
    order: dict[str, tuple[datetime, int]] = {}
    for manifest_path in sorted(directory.glob("*.manifest.json")):
        try:
            manifest = load_manifest(manifest_path)
        except DbsafeError as exc:
            # Said, not skipped in silence: a manifest edited by hand into broken JSON hid
            # its backup from the listing, and from prune.
            _left_out(str(exc))
            continue
        mistyped = _mistyped_key(manifest)
        if mistyped:
            _left_out(f"the manifest {manifest_path} {mistyped}")
            continue
        path = Path(str(manifest_path)[: -len(".manifest.json")])
        written = manifest_path.stat().st_mtime_ns
        created = manifest.get("created_at")
        when = _moment(created)
        order[str(path)] = (when or datetime.fromtimestamp(written / 1e9, UTC), written)
        verified = manifest.get("verified_restore")
        ok = verified.get("ok") if isinstance(verified, dict) else None
        rows.append(({
            "backup": str(path), "database": manifest.get("database"),
            "revisions": manifest.get("revisions", []), "size_bytes": manifest.get("size_bytes"),
            # (where the runner history of a folder of SQL migrations said it was, with no
            # alembic revisions: `backup.history_position`)
            **({"history": manifest["history"]} if manifest.get("history") else {}),
            "created_at": created,
            "age": _age((datetime.now(UTC) - when).total_seconds()) if when else "",
            "exists": path.exists(),
            # (a hand-written `"ok": "yes"` is no verification: an internal error once)
            "verified_restore": ok if isinstance(ok, bool) else None,
            # (as the manifest gives it: `backups` says an unverified one's cause in a few
            # words, `restore_cause(...).short`)
            **({"restore_error": verified["restore_error"]} if isinstance(verified, dict)
               and isinstance(verified.get("restore_error"), str) else {}),
        }, _missing_keys(manifest)))
    rows.sort(key=lambda r: order[r[0]["backup"]], reverse=True)
    return rows


def _left_out(why: str) -> None:
    log.warning("%s; its backup is neither listed nor pruned (`dbsafe restore` refuses it "
                "too) until the manifest is mended", why)


def _moment(created: object) -> datetime | None:
    """A manifest's `created_at` as a moment (a time without its zone read as UTC, as
    dbsafe writes them), or None when it is not a time.

    >>> _moment("2026-12-05T11:52:46").isoformat(), _moment("yesterday"), _moment(3)
    ('2026-12-05T11:52:46+00:00', None, None)
    """
    if not isinstance(created, str):
        return None
    try:
        moment = datetime.fromisoformat(created)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def half_restored(database_url: str) -> list[str]:
    """Databases left by a restore that never finished (their comment says so)."""
    with _maintenance(database_url) as conn:
        return _half_restored(conn)


def _half_restored(conn: Any) -> list[str]:
    # Marked in progress and no client connected: a restore still running has its
    # pg_restore (or dbsafe's own session) connected, and is not left over. Autovacuum
    # workers are not clients: they analyse a freshly loaded copy, left over or not.
    rows = conn.execute(
        "SELECT d.datname FROM pg_database AS d "
        "WHERE shobj_description(d.oid, 'pg_database') LIKE %s AND NOT EXISTS "
        "(SELECT FROM pg_stat_activity AS a WHERE a.datname = d.datname "
        "AND a.backend_type = 'client backend') ORDER BY 1",
        (IN_PROGRESS + "%",)).fetchall()
    return [r[0] for r in rows]


def drop_half_restored(database_url: str, names: list[str] | None = None) -> list[str]:
    """Drop the databases killed restores left (of `names` only, when given: those a user
    confirmed). Only one dbsafe created and marked as being restored into is dropped, and
    only while it still is (read again here: a database merely named like a restored copy,
    `app_restored_<time>`, is never one); one someone connected to meanwhile (a restore
    that is running after all) is left alone: no `WITH (FORCE)`."""
    import psycopg
    from psycopg import sql

    dropped = []
    with _maintenance(database_url) as conn:
        for name in _half_restored(conn):
            if names is not None and name not in names:
                continue  # not shown to the user who confirmed: a later run's leftover
            try:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            except psycopg.errors.ObjectInUse:
                log.warning("%s is in use (a restore may be running into it): not dropped", name)
                continue
            dropped.append(name)
    return dropped


def restore(database_url: str, backup: Path, *, into: str | None = None, jobs: int = 1,
            no_owner: bool = False, no_privileges: bool = False,
            progress: Progress = lambda step, message: None,
            scratch: bool = False, history_lookup: Lookup | None = None) -> dict[str, Any]:
    """Restore `backup` into a new database on the server of `database_url`.

    `no_owner`, `no_privileges`: pg_restore's `--no-owner` (every object owned by the role
    restoring) and `--no-privileges` (no GRANT or REVOKE), for a server that lacks the
    source's roles. `scratch`: `into` is a scratch database the caller drops (interrupted,
    it is not said to be kept). `history_lookup`: where a SQL migration runner's history is
    looked for in the copy, which has no alembic_version (`backup.history_position`).

    The file is hashed on a thread while this one imports psycopg, finds pg_restore,
    connects, refuses a role that may not create a database (no CREATEDB, not superuser)
    without waiting for the hash, and looks for databases earlier runs left half-restored
    (reading only); the new database
    is created only once the file matches its manifest, from template0 (nothing added to
    template1 comes along, as pg_dump's documentation asks). The
    bookkeeping after pg_restore (row counts, the done marker, revision, the history row)
    shares one connection, opened while pg_restore runs.

    Returns what was restored: database name, alembic revision, row count per table.
    """
    if into is not None and len(into.encode()) > 63:
        raise DbsafeError(f"--into {into}: {len(into.encode())} bytes, and PostgreSQL keeps "
                          "63 of a name (it would restore into a database called otherwise); "
                          "choose a shorter one")
    _manifest_of(backup)  # a missing file or manifest is said before any server is asked
    verified = verify_in_background(backup)
    import psycopg
    from psycopg import sql

    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    with _maintenance(database_url) as conn:
        # A role that may not create the database is refused as soon as dbsafe is connected
        # (only pg_roles is read), not once the whole file is hashed: the hash, begun on
        # its thread while psycopg was imported (the time a restore spends besides
        # pg_restore, issue 15), is left to end with the process.
        lacking = _may_not_create(conn)
        if lacking is not None:
            raise lacking
        for left in _half_restored(conn):
            progress("restore", f"{left} was left half-restored by an earlier run; "
                     "`dbsafe restore --clean-up` drops it")
        # Only reading until the file is known to match its manifest.
        manifest = verified()
        progress("restore", f"{backup.name}: size and sha256 match its manifest")
        # Chosen, or refused, before the new database is created.
        pg_restore = _pg_restore_for(manifest, conn.info.server_version)
        if into is not None:
            name = into
            if _database_exists(conn, name):
                raise DbsafeError(f"database {name} already exists; choose another with --into")
        else:
            name = _free_name(conn, str(manifest["database"]), f"_restored_{stamp}")
        for attempt in range(_NAME_ATTEMPTS):
            try:
                lost = _create_database(conn, name, manifest.get("database_locale"))
                break
            except psycopg.errors.InsufficientPrivilege as exc:
                lacking = _may_not_create(conn)
                if lacking is None:
                    raise
                raise lacking from exc
            except psycopg.errors.DuplicateDatabase:
                # Another restore of the same second took the name between `_free_name`'s
                # look and this CREATE: the next free one (a name given by --into is the
                # user's, and its clash is said as PostgreSQL says it).
                if into is not None or attempt == _NAME_ATTEMPTS - 1:
                    raise
                name = _free_name(conn, str(manifest["database"]), f"_restored_{stamp}")
        conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
            sql.Identifier(name), sql.Literal(f"{IN_PROGRESS} from {backup.name}")))
        if lost:
            progress("restore", f"{name} has this server's default encoding and locale, not "
                     f"the source's: {lost}; text may sort otherwise than in the source")
        server_version = conn.info.server_version
        reached = (conn.info.host, conn.info.port)
    progress("restore", f"pg_restore {_major(pg_restore)} into {name} …")
    target_url = _with_database(database_url, name)
    started = time.perf_counter()
    target_args, env = tool_connection(database_url, dbname=name, reached=reached)
    args = [str(pg_restore), "--no-password", *target_args]
    older_server = (_major(pg_restore) or 0) >= 17 and server_version < 170000
    if older_server:  # its errors are read: in English
        env = {k: v for k, v in env.items() if k != "LC_ALL"} | {"LC_MESSAGES": "C"}
    else:
        args.append("--exit-on-error")
    if jobs > 1:
        args.append(f"--jobs={jobs}")
    if no_owner:
        args.append("--no-owner")
    if no_privileges:
        args.append("--no-privileges")
    running = tools.start([*args, str(backup)], env=env, stdout=subprocess.DEVNULL)
    try:
        # Connecting and importing now costs pg_restore nothing it waits for.
        from dbsafe.guard import history

        target = connect(target_url)
    except BaseException:
        _stop(running, name, scratch=scratch)
        raise
    with target:
        try:
            _, errors = running.communicate()
        except BaseException:  # Ctrl-C, SIGTERM
            _stop(running, name, scratch=scratch)
            raise
        failed, refused = (_without_newer_only_settings(errors) if older_server
                           else (errors, 0))
        # Into an older server, exit status 1 with only the refused line's errors is
        # success; any other status (a signal, a crash) is not.
        let_through = running.returncode == 1 and refused > 0 and failed is None
        if running.returncode != 0 and not let_through:
            # (the refused line's errors, let through, are not why: a pg_restore killed
            # into an older server was said to have failed on them)
            line = tools.failure(running.returncode, failed or ("" if refused else errors))
            if not _statement_failed(failed or errors) and _session_ended(target, name):
                raise DatabaseError(
                    f"pg_restore into {name} was cut off: the server ended its session, the "
                    f"backup is not why ({line}); "
                    + ("the scratch copy is dropped" if scratch else
                       f"the half-restored database {name} is kept, `dbsafe restore "
                       "--clean-up` drops it") + "; run it again")
            raise RestoreFailed(f"pg_restore into {name} failed: {line} "
                                f"(the half-restored database {name} is kept; `dbsafe restore "
                                f"--clean-up` drops it){restore_cause(line).help}",
                                error=line)
        # Before any other session of dbsafe's; each refused setting rolled back its own.
        counts = _restored_row_counts(target, rolled_back=refused)
        revisions = _revisions(target)
        # (no alembic_version: where a SQL migration runner's history says the copy is)
        position = None if revisions else history_position(target, history_lookup)
        at = position_words(list(revisions), position)
        # The done marker and the history row are one commit: a restore is marked done
        # only with its record, and the server flushes its log once.
        with target.transaction():
            target.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(name),
                sql.Literal(f"dbsafe: restored from {backup.name} at {stamp}")))
            history.settle_restored(target, backup.name, revisions)
            run_id = history.record(target, "restore", outcome="restored",
                                    to_revisions=revisions,
                                    message=f"restored from {backup.name}"
                                    + (f" at {at}" if position else ""),
                                    backup_file=str(backup))
        progress("restore", f"{name}: {len(counts)} tables, at {at} "
                 f"({time.perf_counter() - started:.1f}s)")
    dumped = manifest.get("row_counts")
    return {"database": name, "revisions": list(revisions), "row_counts": counts,
            "backup": str(backup), "manifest_revisions": manifest.get("revisions", []),
            "history_run_id": run_id, **({"history": position} if position else {}),
            **({"manifest_row_counts": dumped} if isinstance(dumped, dict) else {})}


EMPTY_NAMED = 20  # the empty tables named on their one line; the JSON has every table


def count_lines(counts: Mapping[str, int], dumped: Mapping[str, int] | None = None
                ) -> list[str]:
    """The text report's lines for a restore's row counts: a line for each table that holds
    rows or whose count is not the one the backup's manifest holds (`dumped`, when the
    backup counted them: `backup --verify-restore`), and the empty tables folded into one
    line. Most of a big application's tables are empty in many databases (60 lines of
    Prefect's restore, most of them `0 row(s)`, hid the few that mattered).

    >>> for line in count_lines({"public.a": 0, "public.b": 7, "public.c": 0, "public.d": 0},
    ...                         {"public.a": 0, "public.b": 7, "public.c": 2, "public.x": 1}):
    ...     print(line)
      public.b: 7 row(s)
      public.c: 0 row(s), where the backup counted 2
      public.x: not restored, where the backup counted 1 row(s)
      2 empty tables: public.a, public.d
    >>> print(count_lines({f"t{n}": 0 for n in range(22)})[0])
      22 empty tables: t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13, t14, t15, t16, t17, t18, t19 and 2 more (--format json lists each)
    """
    dumped = dumped or {}
    lines, empty = [], []
    for table, rows in counts.items():
        if table in dumped and dumped[table] != rows:
            lines.append(f"  {table}: {rows:,} row(s), where the backup counted {dumped[table]:,}")
        elif rows:
            lines.append(f"  {table}: {rows:,} row(s)")
        else:
            empty.append(table)
    lines += [f"  {table}: not restored, where the backup counted {rows:,} row(s)"
              for table, rows in dumped.items() if table not in counts]
    if empty:
        named = ", ".join(empty[:EMPTY_NAMED])
        if len(empty) > EMPTY_NAMED:
            named += f" and {len(empty) - EMPTY_NAMED} more (--format json lists each)"
        lines.append(f"  {len(empty)} empty table{'s' if len(empty) > 1 else ''}: {named}")
    return lines


def _statement_failed(stderr: str) -> bool:
    """Whether pg_restore stopped on the server's ERROR of one of its statements: then the
    backup is why, whatever the counters of `_session_ended` say. pg_restore closing its
    connection on that error can leave its own session counted as ended by a FATAL
    ("connection to client lost", the server writing to the socket pg_restore had just
    closed), at random under load. A session the server ends says FATAL, never ERROR. The
    severity is the server's word in its `lc_messages`: in another language it is not
    found, and the counters alone decide, as before.

    >>> _statement_failed('pg_restore: error: COPY failed for table "t": ERROR:  boom')
    True
    >>> _statement_failed("pg_restore: error: could not execute query: FATAL:  terminating "
    ...                   "connection due to administrator command")
    False
    >>> _statement_failed("pg_restore: error: server closed the connection unexpectedly")
    False
    """
    return re.search(r"(?m)(?:^|: )ERROR:  ?\S", stderr) is not None


def _session_ended(conn: Any, database: str) -> bool:
    """Whether pg_restore failed because the server ended a session of `database` (a DBA's
    `pg_terminate_backend`, a shutdown, a restart, a FATAL timeout), not on the archive:
    the database is the restore's own, its sessions pg_restore's and `conn`'s. Said as
    pg_restore's error, `--verify-restore` recorded such a backup as one that does not
    restore (`RESTORE FAILED`, left out of `prune`'s count). A session's end is counted
    before its process exits, so before pg_restore sees its connection close (PostgreSQL 14
    and later count it; an older server's counters read as none)."""
    import psycopg

    try:
        row = conn.execute(
            "SELECT coalesce((j ->> 'sessions_killed')::bigint + (j ->> 'sessions_fatal')::bigint,"
            " 0) FROM pg_stat_database AS d, to_jsonb(d) AS j WHERE d.datname = %s",
            (database,)).fetchone()
    except psycopg.OperationalError:  # this session was ended too, or the server is gone
        return True
    return row is not None and row[0] > 0


# Into a server before 17, pg_restore runs without --exit-on-error and the errors of
# `tools.NEWER_ONLY_SETTING` are let through; any other error fails the restore.
_NEWER_ONLY_SETTING = tools.NEWER_ONLY_SETTING


def _without_newer_only_settings(stderr: str) -> tuple[str | None, int]:
    """pg_restore's stderr without the errors of `_NEWER_ONLY_SETTING` (None when no other
    error is left), and how many of those there were. Each error is a block from its
    `pg_restore: error:` line on, ending in `Command was: ...` when a statement failed."""
    blocks = [block for block in re.split(r"(?m)^(?=pg_restore: error: )", stderr)
              if block.startswith("pg_restore: error: ")]
    left = [block for block in blocks if f"Command was: {_NEWER_ONLY_SETTING}" not in block]
    return "".join(left) or None, len(blocks) - len(left)


def _create_database(conn: Any, name: str, locale: object) -> str | None:
    """CREATE DATABASE `name` from template0 with the source's encoding and locale, which a
    dump restores only with `pg_restore --create` (restore makes the database itself, under
    a name of its own): the server's defaults changed how the copy sorts text and which
    characters it holds. Where this server cannot give them (a provider or option it does
    not have, a locale not installed, no ICU), the database gets the server's defaults, as
    before manifests recorded them; returns why then, else None."""
    import psycopg
    from psycopg import sql

    create = sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name))
    if not isinstance(locale, dict):
        conn.execute(create)
        return None
    options, lost = _locale_options(locale, conn.info.server_version)
    if lost is None:
        try:
            conn.execute(sql.SQL(" ").join([create, *options]))
            return None
        except (psycopg.errors.WrongObjectType, psycopg.errors.InvalidParameterValue,
                psycopg.errors.FeatureNotSupported, psycopg.errors.SyntaxError) as exc:
            lost = str(exc).splitlines()[0]
    conn.execute(create)
    return f"{_described(locale)} ({lost})"


def _may_not_create(conn: Any) -> DbsafeError | None:
    """Why CREATE DATABASE was refused (42501) when the role lacks CREATEDB, as PostgreSQL
    checks it (the current role's own attribute, not inherited, or superuser); None when
    it has it (refused for another reason, said as PostgreSQL says it). PostgreSQL's words
    alone ("permission denied to create database") left the user to guess which role, and
    whether anything had been made."""
    from psycopg import sql

    row = conn.execute("SELECT current_user, rolcreatedb OR rolsuper FROM pg_roles "
                       "WHERE rolname = current_user").fetchone()
    if row is None or row[1]:
        return None
    role = row[0]
    return DbsafeError(f"permission denied to create database: a restore makes a new "
                       f"database, which needs CREATEDB (or superuser) for the role {role}, "
                       f"which has neither; no database was created or changed (ALTER ROLE "
                       f"{sql.Identifier(role).as_string(conn)} CREATEDB, or restore as a "
                       "role that has it)")


def _locale_options(locale: dict[str, Any], server_version: int) -> tuple[list[Any], str | None]:
    """CREATE DATABASE's options giving `locale` (a manifest's `database_locale`) on a
    server of `server_version`, or why that server cannot."""
    from psycopg import sql

    def option(key: str, value: object) -> Any:
        return sql.SQL("{} {}").format(sql.SQL(key), sql.Literal(value))

    options = [option("ENCODING", locale.get("encoding")),
               option("LC_COLLATE", locale.get("collate")),
               option("LC_CTYPE", locale.get("ctype"))]
    provider = locale.get("provider") or "libc"
    needs = {"libc": 0, "icu": 150000, "builtin": 170000}.get(provider)
    if needs is None:
        return [], f"a locale provider dbsafe does not know, {provider}"
    if server_version < needs:
        return [], f"the {provider} locale provider needs PostgreSQL {needs // 10000}"
    if server_version >= 150000:
        # Said even for libc: template0 may be of another provider (initdb's choice).
        options.append(option("LOCALE_PROVIDER", provider))
    if provider == "icu":
        options.append(option("ICU_LOCALE", locale.get("locale")))
        if locale.get("icu_rules"):
            if server_version < 160000:
                return [], "ICU rules need PostgreSQL 16"
            options.append(option("ICU_RULES", locale.get("icu_rules")))
    elif provider == "builtin":
        options.append(option("BUILTIN_LOCALE", locale.get("locale")))
    return options, None


def _described(locale: dict[str, Any]) -> str:
    """`LATIN1, C` / `UTF8, de-DE (icu)`: a manifest's `database_locale` in a few words."""
    provider = locale.get("provider") or "libc"
    where = (locale.get("collate") if provider == "libc"
             else f"{locale.get('locale')} ({provider})")
    return f"{locale.get('encoding')}, {where}"


@dataclass(frozen=True, slots=True)
class RestoreCause:
    """Why pg_restore failed, as its error line shows it (`restore_cause`)."""

    sqlstate: str | None  # printed in the line, else the one its English words are; None
    server_side: bool  # what the role or the server lacks: nothing shows the backup at fault
    short: str  # a few words, for `dbsafe backups`
    help: str  # "; what to do", appended to the sentence that names the failure
    rows: tuple[str, str | None] | None = None  # 23xxx: the constraint or index, its table
    what: str = ""  # 23xxx: what it is ("foreign key child_p_fkey of child")


# The server's English words for the classes of error a restore meets, with the names they
# give (PostgreSQL 12 to 18). Read where the line prints no SQLSTATE, as pg_restore's
# does not by default; in another `lc_messages` none is found and the generic help is said.
_ENGLISH: tuple[tuple[str, str], ...] = (
    ("23503", r'on table "(?P<table>.+?)" violates foreign key constraint "(?P<name>.+?)"'),
    ("23505", r'could not create unique index "(?P<name>.+?)"'),
    ("23505", r'duplicate key value violates unique constraint "(?P<name>.+?)"'),
    ("23514", r'new row for relation "(?P<table>.+?)" violates check constraint '
              r'"(?P<name>.+?)"'),
    ("23514", r'check constraint "(?P<name>.+?)" of relation "(?P<table>.+?)" is violated'),
    ("23502", r'null value in column "(?P<name>.+?)" of relation "(?P<table>.+?)" violates '
              r'not-null constraint'),
    ("23502", r'column "(?P<name>.+?)" of relation "(?P<table>.+?)" contains null values'),
    ("42P01", r'relation ".+?" does not exist'),
    ("42883", r'(?:function|operator) .+ does not exist'),
    ("53100", r'No space left on device|could not extend file'),
    ("53200", r'out of memory'),
    ("42501", r'permission denied|must be owner of|must be able to SET ROLE|must be member '
              r'of role|must be superuser'),
)

# What each constraint class's rows are, and how a source comes to hold rows that break it:
# none of them a constraint added NOT VALID (pg_dump dumps it NOT VALID, restored unchecked).
_ROWS: dict[str, tuple[str, str]] = {
    "23503": ("foreign key", "rows written with its triggers off (`session_replication_role "
                             "= replica`, `ALTER TABLE ... DISABLE TRIGGER ALL`)"),
    "23505": ("unique index", "duplicates the index let in (its collation's order changed "
                              "under it, or a function it calls was replaced)"),
    "23514": ("CHECK constraint", "rows written before a function it calls was replaced, or "
                                  "that a function not truly IMMUTABLE let pass"),
    "23502": ("NOT NULL constraint", "NULLs written around it"),
}


def restore_cause(line: str) -> RestoreCause:
    """What pg_restore's error `line` shows of why it failed: the SQLSTATE the line prints,
    else the class the server's English words belong to. A role or server lacking what the
    archive needs (a role, an extension it may not create or that is not installed, a
    privilege, disk space, memory) is no fault of the backup (`server_side`); rows breaking
    their own constraint are the source's, which every backup of it carries; a table or
    function not found is the empty search_path pg_dump restores with; anything else is
    said in pg_restore's words alone (`help` "").

    >>> restore_cause('ERROR:  role "app_owner" does not exist').help
    '; create role app_owner on this server first, or restore with --no-owner --no-privileges'
    >>> restore_cause('ERROR:  permission denied to create extension "vector"').help[:60]
    '; the role restoring may not create extension vector (only a'
    >>> restore_cause('ERROR:  extension "pgcrypto" is not available').short
    'extension pgcrypto is not installed on this server'
    >>> c = restore_cause('pg_restore: error: could not execute query: ERROR:  insert or '
    ...                   'update on table "child" violates foreign key constraint "child_p"')
    >>> c.sqlstate, c.server_side, c.rows, c.what
    ('23503', False, ('child_p', 'child'), 'foreign key child_p of child')
    >>> restore_cause('ERROR:  23505: could not create unique index "u_k"').rows
    ('u_k', None)
    >>> c = restore_cause('COPY failed for table "t": ERROR:  relation "customers" does not '
    ...                   'exist')
    >>> c.sqlstate, c.server_side, c.help[:46]
    ('42P01', False, '; a function that names a table without its sc')
    >>> c = restore_cause('ERROR:  could not extend file "base/1/2": No space left on device')
    >>> c.sqlstate, c.server_side, c.short
    ('53100', True, 'the server ran out of disk space')
    >>> c = restore_cause('pg_restore: error: could not execute query: ERROR:  permission '
    ...                   'denied for schema app')
    >>> c.sqlstate, c.server_side, c.short
    ('42501', True, 'permission denied for schema app')
    >>> restore_cause('ERROR:  XX000: cache lookup failed for type 1').help
    ''
    >>> restore_cause('FEHLER:  Relation "t" existiert nicht').sqlstate is None
    True
    """
    said = re.search(r"(?:ERROR|FATAL):  (?:(?P<state>[0-9A-Z]{5}): )?(?P<text>.*)", line)
    text = said.group("text").strip() if said else line.strip()
    missing = re.search(r'role "(.+?)" does not exist', line)
    if missing:
        return RestoreCause("42704", True, f"role {missing.group(1)} does not exist on this "
                            "server", f"; create role {missing.group(1)} on this server first, "
                            "or restore with --no-owner --no-privileges")
    denied = re.search(r'permission denied to create extension "(.+?)"', line)
    if denied:
        return RestoreCause("42501", True, f"create extension {denied.group(1)}, not marked trusted",
                            f"; the role restoring may not create extension {denied.group(1)} "
                            "(only a superuser may create one not marked trusted, as the "
                            "source's was): restore as a superuser")
    absent = re.search(r'extension "(.+?)" is not available', line)
    if absent:
        return RestoreCause(None, True, f"extension {absent.group(1)} is not installed on "
                            "this server", f"; this server does not have extension "
                            f"{absent.group(1)} installed: install it on this server first")
    state = said.group("state") if said else None
    names = None
    for known, words in _ENGLISH:
        found = re.search(words, text)
        if found and (state is None or state == known):
            state = known
            names = found.groupdict()
            break
    if state in _ROWS:
        kind, how = _ROWS[state]
        name, table = (names or {}).get("name"), (names or {}).get("table")
        what = kind + (f" {name}" if name and state != "23502" else "") + (
            f" on column {name}" if name and state == "23502" else "") + (
            f" of {table}" if table else "")
        return RestoreCause(
            state, False, text,
            f"; the source database holds rows that break its own {what} ({how}), which "
            "every backup of it holds: find them in the source and mend them, then take "
            "another backup",
            rows=(name, table) if name else None, what=what)
    if state in ("42P01", "42883"):
        return RestoreCause(state, False, text,
                            "; a function that names a table without its schema fails under "
                            "the empty search_path pg_dump restores with: qualify the names "
                            "in the source (or give the function its own SET search_path), "
                            "then take another backup")
    if state == "53100":
        return RestoreCause(state, True, "the server ran out of disk space",
                            "; the server restoring ran out of disk space, not the backup: "
                            "free space there (a restore needs about the source's size)")
    if state == "53200":
        return RestoreCause(state, True, "the server ran out of memory",
                            "; the server restoring ran out of memory, not the backup: "
                            "restore where it has more (or lower maintenance_work_mem)")
    if state == "42501":
        return RestoreCause(state, True, text,
                            "; the role restoring lacks a privilege the archive's objects "
                            "need of it (42501): restore as their owner or a superuser, or "
                            "with --no-owner --no-privileges")
    return RestoreCause(state, False, text, "")


def source_rows_query(database_url: str, cause: RestoreCause) -> str | None:
    """The query that finds, in the source database of `database_url`, the rows that break
    the constraint or unique index `cause` names (23503, 23514, 23502, 23505), written from
    its definition in the source's catalog; None when it is not one, or is not found there
    under that name alone (several schemas hold one), or the source cannot be read."""
    import psycopg

    if cause.rows is None or cause.sqlstate not in _ROWS:
        return None
    name, table = cause.rows
    try:
        with connect(database_url) as conn:
            return _rows_query(conn, cause.sqlstate, name, table)
    except (DbsafeError, psycopg.Error) as exc:
        log.info("the rows query not written: %s", exc)
        return None


def _rows_query(conn: Any, state: str, name: str, table: str | None) -> str | None:
    def one(query: str, *params: object) -> Any:
        rows = conn.execute(query, params).fetchall()
        return rows[0] if len(rows) == 1 else None

    if state == "23502":
        found = one("SELECT format('%%I.%%I', n.nspname, c.relname), quote_ident(%s) "
                    "FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace "
                    "WHERE c.relname = %s AND c.relkind IN ('r', 'p')", name, table)
        return f"SELECT * FROM {found[0]} WHERE {found[1]} IS NULL" if found else None
    if state == "23505":
        found = one(
            "SELECT format('%%I.%%I', n.nspname, t.relname), i.indnkeyatts, "
            "pg_get_expr(i.indpred, i.indrelid, true), "
            "coalesce((to_jsonb(i) ->> 'indnullsnotdistinct')::boolean, false), "
            "array(SELECT pg_get_indexdef(i.indexrelid, k, true) "
            "      FROM generate_series(1, i.indnkeyatts) AS k) "
            "FROM pg_index AS i JOIN pg_class AS x ON x.oid = i.indexrelid "
            "JOIN pg_class AS t ON t.oid = i.indrelid "
            "JOIN pg_namespace AS n ON n.oid = t.relnamespace "
            "WHERE x.relname = %s AND i.indisunique", name)
        if found is None:
            return None
        rel, _, predicate, nulls_equal, keys = found
        where = ([] if nulls_equal else [f"{key} IS NOT NULL" for key in keys]) + (
            [f"({predicate})"] if predicate else [])
        return (f"SELECT {', '.join(keys)}, count(*) FROM {rel}"
                + (f" WHERE {' AND '.join(where)}" if where else "")
                + f" GROUP BY {', '.join(keys)} HAVING count(*) > 1")
    found = one(
        "SELECT format('%%I.%%I', n.nspname, c.relname), pg_get_expr(k.conbin, k.conrelid), "
        "array(SELECT quote_ident(attname) FROM unnest(k.conkey) WITH ORDINALITY AS u(a, o) "
        "      JOIN pg_attribute ON attrelid = k.conrelid AND attnum = u.a ORDER BY o), "
        "array(SELECT quote_ident(attname) FROM unnest(k.confkey) WITH ORDINALITY AS u(a, o) "
        "      JOIN pg_attribute ON attrelid = k.confrelid AND attnum = u.a ORDER BY o), "
        "(SELECT format('%%I.%%I', fn.nspname, f.relname) FROM pg_class AS f "
        " JOIN pg_namespace AS fn ON fn.oid = f.relnamespace WHERE f.oid = k.confrelid), "
        "k.confmatchtype "
        "FROM pg_constraint AS k JOIN pg_class AS c ON c.oid = k.conrelid "
        "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
        "WHERE k.conname = %s AND (%s::text IS NULL OR c.relname = %s) AND k.contype = %s",
        name, table, table, "f" if state == "23503" else "c")
    if found is None:
        return None
    rel, check, columns, referenced, parent, match = found
    if state == "23514":
        return f"SELECT * FROM {rel} WHERE NOT ({check})"
    joined = " AND ".join(f"p.{b} = r.{a}" for a, b in zip(columns, referenced, strict=True))
    # MATCH SIMPLE checks a row only when none of its columns is NULL; MATCH FULL any row
    # not NULL in all of them (a NULL among values matches no parent row).
    checked = (f"NOT ({' AND '.join(f'r.{a} IS NULL' for a in columns)})" if match == "f"
               else " AND ".join(f"r.{a} IS NOT NULL" for a in columns))
    return (f"SELECT r.* FROM {rel} AS r WHERE {checked} AND NOT EXISTS "
            f"(SELECT FROM {parent} AS p WHERE {joined})")


def _stop(running: subprocess.Popen[str], name: str, *, scratch: bool = False) -> None:
    """pg_restore stops with the run that started it, with the workers of its --jobs (killed
    alone, it left them restoring); the copy it was filling is named, unless it is a
    scratch database its caller drops."""
    tools.stop(running)
    if scratch:
        return
    log.warning("restore into %s interrupted: the half-restored database is kept; "
                "`dbsafe restore --clean-up` drops it", name)


_SESSIONS_GONE_WITHIN = 3.0  # seconds


def _database_exists(conn: Any, name: str) -> bool:
    # `datname = name`, not `= text`: a text parameter becomes a name, cut to 63 bytes.
    return conn.execute("SELECT FROM pg_database WHERE datname::text = %s",
                        (name,)).fetchone() is not None


_NAME_ATTEMPTS = 5  # restores racing for the names of one second


def _free_name(conn: Any, database: str, suffix: str) -> str:
    """`<database><suffix>`, a database's name no other database has, within PostgreSQL's
    63 bytes: the database's name is cut, never the suffix (cut, a long name's restores
    collided within the hour, or always, and the name reported was not the one created);
    `_2`, `_3`... after it when one of the same second exists."""
    from dbsafe.pg.names import name_with_suffix

    name, taken = name_with_suffix(database, suffix), 1
    while _database_exists(conn, name):
        taken += 1
        name = name_with_suffix(database, f"{suffix}_{taken}")
    return name


def _pg_restore_for(manifest: dict[str, Any], server_version: int) -> Path:
    """The pg_restore that reads the archive (as new as the pg_dump that wrote it, which the
    manifest records) and restores it into a server of `server_version`. A manifest
    without `pg_dump_version` gets the newest found (dbsafe's pg_dump was the newest it
    found), as new as the server the backup was taken from."""
    try:
        dumped_by = int(str(manifest.get("pg_dump_version")).split(".")[0])
    except ValueError:
        # (an optional key; a version edited into words is no version: any pg_restore)
        source = manifest.get("server_version")
        return client_binary("pg_restore", source if isinstance(source, int)
                             and not isinstance(source, bool) else 0)
    return restore_binary(dumped_by, server_version)


def backup_named(path: Path) -> Path:
    """The backup a user names by it or by its manifest (`x.dump.manifest.json`, which shell
    completion offers beside `x.dump`): a manifest named was refused as one that
    "describes another backup", its own.

    >>> str(backup_named(Path("b/app-1-backup.dump.manifest.json")))
    'b/app-1-backup.dump'
    >>> str(backup_named(Path("b/app-1-backup.dump")))
    'b/app-1-backup.dump'
    """
    if path.name.endswith(_MANIFEST) and len(path.name) > len(_MANIFEST):
        return path.with_name(path.name[: -len(_MANIFEST)])
    return path


_MANIFEST = ".manifest.json"


def check_named(path: Path) -> Path:
    """The backup `path` names (`backup_named`), with the file and its manifest there and
    readable: a one-line error otherwise. Cheap (nothing hashed), so it is said before the
    database is asked for or a prompt is shown."""
    backup = backup_named(path)
    _manifest_of(backup)
    return backup


def _manifest_of(backup: Path) -> dict[str, Any]:
    """The manifest of `backup`; a missing backup or manifest, or a manifest without a key
    every one dbsafe writes has or giving one as another type, is a one-line error."""
    if not backup.exists():
        raise DbsafeError(f"no such backup: {backup}")
    if backup.is_dir() and not Path(f"{backup}{_MANIFEST}").exists() \
            and any(backup.glob(f"*{_MANIFEST}")):
        # `dbsafe restore backups/` was told there is no `backups.manifest.json`, and that
        # nothing tells whether a backup run is still writing it
        raise DbsafeError(f"{backup} is a directory of backups, not one: name one of its "
                          f"files (`dbsafe backups --backup-dir {backup}` lists them)")
    try:
        manifest = load_manifest(backup)
    except DbsafeError as exc:
        if Path(f"{backup}{_MANIFEST}").exists():
            raise
        # Written last: a run is still dumping into the file, or one stopped before the end.
        from dbsafe.guard.writing import unfinished

        raise DbsafeError(f"{exc}; {unfinished(backup).why_no_manifest()}") from None
    problem = _missing_keys(manifest) or _mistyped_key(manifest)
    if problem:
        raise DbsafeError(f"the manifest {backup}{_MANIFEST} {problem}; refusing to restore "
                          f"{backup}")
    return manifest


def _missing_keys(manifest: dict[str, Any]) -> str | None:
    """What a manifest lacks of the keys every one dbsafe writes has, which a restore
    reads, or None. (Edited by hand without `path`, one was said to describe "another
    backup (None)".)

    >>> _missing_keys({"path": "b.dump", "size_bytes": 1})
    'has no `sha256` or `database`, which every manifest dbsafe writes has (edited by hand?)'
    """
    missing = [key for key in _MANIFEST_KEYS if manifest.get(key) is None]
    if not missing:
        return None
    return (f"has no {' or '.join(f'`{key}`' for key in missing)}, which every manifest "
            "dbsafe writes has (edited by hand?)")


def _mistyped_key(manifest: dict[str, Any]) -> str | None:
    """The first key a restore reads that a manifest gives as another JSON type than dbsafe
    writes, said with both types, or None. Of another type, each was said as something
    else: `"size_bytes": "123"` as a file "truncated or replaced", `"sha256": 5` as
    corrupted, `"path": []` as the manifest of another backup ([]).

    >>> _mistyped_key({"path": "b.dump", "size_bytes": "123"})
    'gives `size_bytes` as a string, where every manifest dbsafe writes gives an integer \
(edited by hand?)'
    >>> _mistyped_key({"size_bytes": 2401}) is None
    True
    """
    for key, expected in _MANIFEST_KEYS.items():
        value = manifest.get(key)
        if value is not None and (not isinstance(value, expected) or isinstance(value, bool)):
            return (f"gives `{key}` as {_json_type(value)}, where every manifest dbsafe "
                    f"writes gives {_json_type(expected())} (edited by hand?)")
    return None


def _json_type(value: object) -> str:
    """What JSON calls the type of `value`, with its article.

    >>> _json_type("x"), _json_type(1), _json_type(True), _json_type([]), _json_type(1.5)
    ('a string', 'an integer', 'a boolean', 'an array', 'a number')
    """
    if isinstance(value, bool):
        return "a boolean"
    return {str: "a string", int: "an integer", float: "a number", list: "an array",
            dict: "an object"}.get(type(value), type(value).__name__)


# What a restore reads of a manifest, and the type of each: the backup it describes, its
# size and sha256, and the database it was taken of (the new database's name).
_MANIFEST_KEYS: dict[str, type] = {"path": str, "size_bytes": int, "sha256": str,
                                   "database": str}


def check_replaceable(database_url: str, backup: Path) -> None:
    """`--replace` puts `backup` in the place of the database of `database_url`: only a
    backup of that very database may take it. Said before anything is restored."""
    from dbsafe.pg.connect import database_name

    source = _manifest_of(backup).get("database")
    original = database_name(database_url)
    if source and source != original:
        raise DbsafeError(
            f"{backup.name} is a backup of {source}, not of {original}: --replace would put "
            f"{source}'s data in the place of {original}; restore it next to it with --into "
            "NAME instead")


def check_not_in_use(database_url: str) -> None:
    """`--replace` refused before anything is restored while others are connected to the
    database it would rename: with the application still up, a long restore and a fresh
    backup were made only to be refused at the rename. Counted as `replace_original` counts
    them (which checks again: sessions may connect meanwhile)."""
    from dbsafe.pg.connect import database_name

    original = database_name(database_url)
    with _maintenance(database_url) as conn:
        if _sessions_staying(conn, original, poll=0.05, every_backend=True):
            raise _in_use(conn, original, None)


def replace_original(database_url: str, restored: str) -> str:
    """Swap names: the original becomes `<name>_before_restore_<stamp>`, the restored one
    takes its name, with the original's owner, privileges, settings, connection limit and
    comment (pg_dump's archive holds none of them, and schema public belongs to the
    database's owner). Refused while anyone else is connected to the original."""
    import psycopg
    from psycopg import sql

    from dbsafe.pg.connect import database_name

    original = database_name(database_url)
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    with _maintenance(database_url) as conn:
        kept = _free_name(conn, original, f"_before_restore_{stamp}")
        # The sessions dbsafe itself just closed (the fresh backup's pg_dump and checks)
        # leave pg_stat_activity a moment after their client does: wait for those, not
        # for an application's. Autovacuum workers are not counted: the rename stops them;
        # every other process in the database (a walsender too) makes the rename fail.
        if _sessions_staying(conn, original, poll=0.05, every_backend=True):
            raise _in_use(conn, original, restored)
        try:
            with conn.transaction():
                for statement in _database_properties(conn, original, restored):
                    conn.execute(statement)
        except psycopg.Error as exc:
            raise DbsafeError(f"could not give {restored} the owner, privileges and settings "
                              f"of {original}: {str(exc).splitlines()[0]}; nothing was "
                              "replaced (run as a superuser or the database's owner; the "
                              f"restored copy is kept as {restored})") from exc
        # Both renames or neither: with the first committed alone, a session connected to
        # the restored copy (a DBA looking at it) failed the second, and no database had
        # the original's name, the application's outage until someone renamed it back.
        try:
            with conn.transaction():
                conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    sql.Identifier(original), sql.Identifier(kept)))
                conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    sql.Identifier(restored), sql.Identifier(original)))
        except psycopg.errors.ObjectInUse:  # someone connected since: nothing was renamed
            if _connected(conn, original, every_backend=True):
                raise _in_use(conn, original, restored) from None
            who = _connected(conn, restored, every_backend=True)
            raise DbsafeError(
                f"{len(who) or 'other'} session(s) are connected to the restored copy "
                f"{restored}" + (f" ({'; '.join(who[:5])})" if who else "") + "; nothing was "
                f"replaced ({original} is untouched): disconnect them and run again, or "
                f"rename the databases yourself") from None
    return kept


def record_replaced(database_url: str, run_id: str, was_at: Sequence[str], kept: str,
                    progress: Callable[[str, str], None], *,
                    was_history: object = None) -> None:
    """The restore's history row, in the database that took the original's place: from
    `was_at` (the original's revisions; none: where `was_history`, its SQL migrations'
    runner history, said it was), the original kept as `kept`. Not recorded is said,
    and the restore stands (it is done)."""
    import psycopg

    from dbsafe.guard import history

    try:
        history.replaced(database_url, run_id, was_at,
                         f"in place of the database at {position_words(list(was_at), was_history)}"
                         f", kept as {kept}")
    except (DbsafeError, psycopg.Error) as exc:
        progress("restore", f"its history row still says it restored a new database: {exc}")


def _in_use(conn: Any, original: str, restored: str | None) -> DbsafeError:
    """`--replace` refused: others are connected to the database it would rename; before
    anything was restored when `restored` is None."""
    who = _connected(conn, original, every_backend=True)
    return DbsafeError(f"{len(who) or 'other'} session(s) are connected to {original}"
                       + (f" ({'; '.join(who[:5])}{'; ...' if len(who) > 5 else ''})"
                          if who else "")
                       + "; stop the application (and any replication or background worker "
                       "connected to it) before replacing its database ("
                       + (f"the restored copy is kept as {restored})" if restored
                          else "nothing was restored)"))


_DATABASE_PROPERTIES = """
SELECT pg_get_userbyid(d.datdba), d.datconnlimit, shobj_description(d.oid, 'pg_database'),
       (SELECT array_agg(ARRAY[a.privilege_type,
                               CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                                    ELSE pg_get_userbyid(a.grantee) END,
                               a.is_grantable::text])
        FROM aclexplode(d.datacl) AS a),
       d.datacl IS NULL,
       (SELECT array_agg(ARRAY[coalesce(pg_get_userbyid(NULLIF(s.setrole, 0)), ''), c])
        FROM pg_db_role_setting AS s, unnest(s.setconfig) AS c WHERE s.setdatabase = d.oid)
FROM pg_database AS d WHERE d.datname = %s
"""


def _database_properties(conn: Any, original: str, restored: str) -> list[Any]:
    """The statements that give `restored` what `original` has beyond its contents."""
    from psycopg import sql

    from dbsafe.pg.settings import value_items

    row = conn.execute(_DATABASE_PROPERTIES, (original,)).fetchone()
    if row is None:
        return []
    owner, limit, comment, privileges, default_acl, settings = row
    target = sql.Identifier(restored)
    statements = [sql.SQL("ALTER DATABASE {} OWNER TO {}").format(target, sql.Identifier(owner)),
                  sql.SQL("ALTER DATABASE {} CONNECTION LIMIT {}").format(
                      target, sql.Literal(limit)),
                  sql.SQL("COMMENT ON DATABASE {} IS {}").format(target, sql.Literal(comment))]
    if not default_acl:
        # What the original grants, and nothing more: PUBLIC's default CONNECT and TEMP too.
        statements.append(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(target))
        for privilege, grantee, grantable in privileges or ():
            statements.append(sql.SQL("GRANT {} ON DATABASE {} TO {}{}").format(
                sql.SQL(privilege), target,
                sql.SQL("PUBLIC") if grantee == "PUBLIC" else sql.Identifier(grantee),
                sql.SQL(" WITH GRANT OPTION") if grantable == "true" else sql.SQL("")))
    for role, setting in settings or ():
        name, _, value = setting.partition("=")
        values = value_items(name, value)
        value_sql = sql.SQL(", ").join(sql.Literal(v) for v in values)
        if role:
            statements.append(sql.SQL("ALTER ROLE {} IN DATABASE {} SET {} TO {}").format(
                sql.Identifier(role), target, sql.Identifier(name), value_sql))
        else:
            statements.append(sql.SQL("ALTER DATABASE {} SET {} TO {}").format(
                target, sql.Identifier(name), value_sql))
    return statements


def verify_restore(database_url: str, backup: Path,
                   progress: Progress = lambda step, message: None) -> dict[str, Any]:
    """Restore into a scratch database, compare schema and row counts with the source, drop
    it, and record the result in the manifest: a backup pg_restore fails on is an outcome
    too (not ok, with pg_restore's error), not an exception."""

    from dbsafe.guard.leftovers import user_snapshot
    from dbsafe.schema.diff import DiffOptions, diff

    with _maintenance(database_url) as conn:  # another verification may run this second
        scratch = _free_name(conn, "dbsafe_verify", _scratch_suffix())
    try:
        restored = restore(database_url, backup, into=scratch, progress=progress, scratch=True)
    except RestoreFailed as failed:
        # What --verify-restore is for: a backup that does not restore. Said as such (not
        # as dbsafe failing), recorded, and the scratch copy dbsafe made is dropped.
        _drop_scratch(database_url, scratch, unwinding=False)
        # Failed for want of what this role or server has (an extension only a superuser
        # may create, one not installed, a role, a privilege, disk space, memory): nothing
        # showed the backup at fault. It stays unverified (`ok` null), not RESTORE FAILED,
        # which `prune` deletes first.
        cause = restore_cause(failed.error)
        server_side = cause.server_side
        outcome: dict[str, Any] = {
            "ok": None if server_side else False,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "restore_error": failed.error, "schema_differences": [], "row_count_differences": {}}
        # Rows of the source that break its own constraint: the query that finds them there.
        found = source_rows_query(database_url, cause)
        if found:
            outcome["source_rows_query"] = found
        _record_verification(backup, outcome)
        progress("verify", "this role cannot restore the backup on this server"
                 if server_side else "the backup does not restore")
        return outcome
    except BaseException:
        # Interrupted (Ctrl-C, SIGTERM) mid-restore, or failed otherwise: the scratch copy
        # is dbsafe's own, a whole copy of the database; it was left "half-restored" for
        # `restore --clean-up`, taking the space of the database on its server.
        _drop_scratch(database_url, scratch)
        raise
    try:
        # The rows the dump saw, counted in its snapshot (`take_backup(count_rows=True)`);
        # else the source's now, which a busy database has changed since.
        dumped = load_manifest(backup).get("row_counts")
        source_counts = dumped if isinstance(dumped, dict) else _contents(database_url)[0]
        original = user_snapshot(database_url)
        # With the original's search path: the copy has none of the database's settings
        # (pg_dump's archive holds none), and definitions are written relative to the path.
        copy = user_snapshot(_with_database(database_url, scratch),
                             search_path=original.search_path)
        changes = diff(original, copy, DiffOptions(ignore_schemas=frozenset({"dbsafe"})))
        count_differences = {t: (source_counts.get(t), restored["row_counts"].get(t))
                             for t in set(source_counts) | set(restored["row_counts"])
                             if source_counts.get(t) != restored["row_counts"].get(t)}
    finally:
        # (restored: marked done, so `restore --clean-up` leaves it; named for DROP DATABASE)
        _drop_scratch(database_url, scratch, unwinding=False, finished=True)
    ok = not changes and not count_differences
    outcome = {"ok": ok, "at": datetime.now(UTC).isoformat(timespec="seconds"),
               "schema_differences": [c.describe() for c in changes][:50],
               "row_count_differences": {k: list(v) for k, v in count_differences.items()}}
    _record_verification(backup, outcome)
    progress("verify", "restored copy equals the source" if ok
             else "restored copy differs from the source")
    return outcome


def _scratch_suffix() -> str:
    """The suffix of a verification's scratch database: its time, this process's id and a
    random part. Two verifications started in the same second (two CI jobs on one server,
    two threads of one process) each looked for a free `dbsafe_verify_<time>` before
    either created it, found the same, and the second failed (`database ... already
    exists; choose another with --into`, an option `backup` does not have). `restore
    --clean-up` finds an interrupted one by its comment (`IN_PROGRESS`), not by its name.

    >>> re.fullmatch(r"_\\d{14}_\\d+_[0-9a-f]{4}", _scratch_suffix()) is not None
    True
    """
    import os
    import secrets

    return (f"_{datetime.now(UTC).strftime('%Y%m%d%H%M%S')}_{os.getpid()}_"
            f"{secrets.token_hex(2)}")


def _drop_scratch(database_url: str, name: str, *, unwinding: bool = True,
                  finished: bool = False) -> None:
    """Drop a verification's scratch database, a whole copy of the source that is dbsafe's
    own. `unwinding`: another error unwinds (an interrupt mid-restore, a failure), which a
    failure here must not replace, and the copy dropped is said to be unfinished.

    Whatever stops the drop is said with the copy's name and how to drop it: a failure, and
    an interrupt (Ctrl-C again, SIGTERM), which goes on unwinding. On PostgreSQL 15 the
    drop of a copy whose restore was cut off waits for the sessions still starting in it
    (a session's start waits for a lock on a shared catalog, and is not yet in
    pg_stat_activity for `WITH (FORCE)` to end); interrupted there, the copy was left on
    the server without a word. A CREATE DATABASE of it that an interrupt cut the client of
    is ended first, so the copy is not made after it was looked for."""
    from psycopg import sql

    try:
        with _maintenance(database_url) as conn:
            _end_creating(conn, name)
            if not _database_exists(conn, name):  # refused before it was made
                return
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
    except BaseException as exc:
        why = ((str(exc).splitlines() or [type(exc).__name__])[0]
               if isinstance(exc, Exception) else "interrupted")
        log.warning("could not drop the scratch database %s: %s; %s", name, why,
                    f"drop it with DROP DATABASE {_identifier(name)}" if finished
                    else "`dbsafe restore --clean-up` drops it")
        if unwinding and isinstance(exc, Exception):
            return
        raise
    if unwinding:
        log.warning("the restore into the scratch database %s did not finish; it was dropped",
                    name)


def _end_creating(conn: Any, name: str) -> None:
    """End the sessions of this role still running `CREATE DATABASE name` (a dbsafe whose
    client was interrupted mid-statement), and wait for them to be gone: the database is
    made or not once they are."""
    rows = conn.execute(
        "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE usename = current_user AND pid <> pg_backend_pid() AND state = 'active' "
        "AND query LIKE %s", (f"CREATE DATABASE {_quoted(name)} %",)).fetchall()
    pids = [pid for pid, _ in rows]
    deadline = time.monotonic() + _SESSIONS_GONE_WITHIN
    while pids and time.monotonic() < deadline and conn.execute(
            "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE pid = ANY(%s))",
            (pids,)).fetchone()[0]:
        time.sleep(0.05)


def _identifier(name: str) -> str:
    """`name` quoted as psycopg's sql.Identifier writes it (which needs a connection)."""
    return '"' + name.replace('"', '""') + '"'


def _quoted(name: str) -> str:
    """`name` as a statement writes it, as a LIKE pattern's literal text."""
    return _identifier(name).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _record_verification(backup: Path, outcome: dict[str, Any]) -> None:
    from dbsafe.files import write_text

    manifest_path = Path(str(backup) + ".manifest.json")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["verified_restore"] = outcome
    # Replaced in one step: a manifest cut short by a full disk would orphan its backup.
    write_text(manifest_path, json.dumps(manifest, indent=2) + "\n")


def restored_copy_differs(backup: Path, outcome: dict[str, Any]) -> Finding | None:
    """DBS611 for a `verify_restore` outcome whose copy differs from its source: what
    differs (the schema's first 50 differences, the tables whose row counts do), or None."""
    if outcome["ok"]:
        return None
    error = outcome.get("restore_error")
    if error:
        return _restore_failed(backup, outcome, str(error))
    lines = list(outcome["schema_differences"])
    lines += [f"{table}: {before} rows in the source, {after} in the copy"
              for table, (before, after) in sorted(outcome["row_count_differences"].items())]
    return Finding(
        RESTORED_COPY_DIFFERS.code,
        f"The backup restored into a scratch database differs from its source: {backup}.",
        RESTORED_COPY_DIFFERS.default_severity, subject=str(backup),
        help="Do not rely on this backup: a schema changed while it ran, or the archive "
             "does not restore what was dumped; take another. Its manifest records the "
             "differences.",
        context=(("Differences", "\n".join(lines)),))


def _restore_failed(backup: Path, outcome: dict[str, Any], error: str) -> Finding:
    """DBS611 for a verification pg_restore failed on (`error`), said by its cause."""
    cause = restore_cause(error)
    if outcome["ok"] is None or cause.server_side:
        # (the server or the role verifying lacks what the backup needs of it: the backup
        # was said not to restore, "fix the cause, then take another", which takes the same)
        return Finding(
            RESTORED_COPY_DIFFERS.code,
            f"The backup could not be verified: pg_restore, as this role on this server, "
            f"fails on what the backup needs of them, not on the backup: {backup}.",
            RESTORED_COPY_DIFFERS.default_severity, subject=str(backup),
            help=f"Until it is verified, do not rely on this backup; nothing showed it is "
                 f"at fault, and another would fail the same{cause.help}; then `dbsafe "
                 "backup --verify-restore` takes another and verifies it (no command verifies "
                 "this one again; `dbsafe restore` of it into a copy shows whether it "
                 "restores). Its manifest records the error.",
            context=(("pg_restore", error),))
    if cause.sqlstate in _ROWS:
        query = outcome.get("source_rows_query")
        kind, how = _ROWS[str(cause.sqlstate)]
        return Finding(
            RESTORED_COPY_DIFFERS.code,
            f"The backup does not restore into a scratch database: the source holds rows "
            f"that break its own {cause.what or kind}: {backup}.",
            RESTORED_COPY_DIFFERS.default_severity, subject=str(backup),
            help=f"Do not rely on this backup, nor on another of this database until the "
                 f"rows are mended: pg_restore fails on them ({how}); "
                 + (f"find them in the source with `{query}`" if query else
                    "find them in the source") + ", mend them, then take another. Its "
                 "manifest records the error.",
            context=(("pg_restore", error),
                     *((("Rows in the source", str(query)),) if query else ())))
    return Finding(
        RESTORED_COPY_DIFFERS.code,
        f"The backup does not restore into a scratch database: {backup}.",
        RESTORED_COPY_DIFFERS.default_severity, subject=str(backup),
        help="Do not rely on this backup: pg_restore fails on it (as below)"
             + (cause.help or "; fix the cause, then take another")
             + ". Its manifest records the error.",
        context=(("pg_restore", error),))


def table_checksums(url: str) -> dict[str, str]:
    """md5 of each user table's rows, ordered by their text (in the database's collation:
    compare databases of one locale): equal data, equal checksum."""
    from psycopg import sql

    sums = {}
    with connect(url) as conn:
        tables = _user_tables(conn)
        for schema, table in tables:
            name = sql.Identifier(schema, table)
            row = conn.execute(sql.SQL(
                "SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) "
                "FROM {} t").format(name)).fetchone()
            sums[f"{schema}.{table}"] = row[0] if row else ""
    return sums


def _contents(url: str) -> tuple[dict[str, int], tuple[str, ...]]:
    with connect(url) as conn:
        return _row_counts(conn), _revisions(conn)


# Each application table (pg_tables' set) with the rows PostgreSQL counted going into it
# and into the tables below it (partitions, inheritance children: count(*) reads them too),
# and whether that count cannot be trusted: a foreign table below it (its rows live
# elsewhere), or a table an extension owns (its script may have written and rolled back).
_COUNTED_ROWS = f"""
WITH RECURSIVE below (top, rel) AS (
    SELECT c.oid, c.oid FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p')
      AND n.nspname NOT IN {_NOT_THE_APPLICATIONS}
  UNION
    SELECT b.top, i.inhrelid FROM below AS b JOIN pg_inherits AS i ON i.inhparent = b.rel
)
SELECT n.nspname, c.relname,
       sum(pg_stat_get_tuples_inserted(b.rel) - pg_stat_get_tuples_deleted(b.rel)),
       bool_or(r.relkind = 'f' OR EXISTS (
           SELECT FROM pg_depend AS d WHERE d.classid = 'pg_class'::regclass
           AND d.objid = b.rel AND d.deptype = 'e'))
FROM below AS b
JOIN pg_class AS c ON c.oid = b.top
JOIN pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_class AS r ON r.oid = b.rel
GROUP BY n.nspname, c.relname
ORDER BY 1, 2
"""


def _restored_row_counts(conn: Any, rolled_back: int = 0) -> dict[str, int]:
    """Exact row count of each application table of the database pg_restore just filled.

    The database was made from template0 for this restore, and pg_restore's COPY is all
    that wrote to it: the rows PostgreSQL counted into each table (inserted less deleted)
    are the rows it holds, with no table read. A session's counts reach the shared
    statistics before the session leaves pg_stat_activity (PostgreSQL 15 on), so they are
    read once every other session has left. `count(*)` still reads a table whose count
    may not be the rows it holds: one an extension owns or with a foreign partition, one
    counted empty (free to read when it is; statistics turned off count nothing), and all
    of them when a transaction in the database rolled back (an insert counted, then undone;
    `rolled_back` are known to have inserted nothing), when other sessions stay, or before
    PostgreSQL 15 (whose collector may lose counts).
    """
    if conn.info.server_version < 150000 or _sessions_staying(conn, conn.info.dbname,
                                                              poll=0.001):
        return _row_counts(conn)
    rollbacks = conn.execute("SELECT pg_stat_get_db_xact_rollback(oid) FROM pg_database "
                             "WHERE datname = current_database()").fetchone()
    if rollbacks is None or rollbacks[0] != rolled_back:
        return _row_counts(conn)
    counts: dict[str, int] = {}  # in pg_tables' order, as _row_counts gives them
    to_read: list[tuple[str, str]] = []
    for schema, table, counted, untrusted in conn.execute(_COUNTED_ROWS).fetchall():
        counts[f"{schema}.{table}"] = int(counted or 0)
        if untrusted or not counted or counted < 0:
            to_read.append((schema, table))
    counts.update(_row_counts(conn, to_read))
    return counts


def _sessions_staying(conn: Any, database: str, *, poll: float,
                      every_backend: bool = False) -> int:
    """How many client sessions other than `conn`'s are still connected to `database`
    after waiting up to `_SESSIONS_GONE_WITHIN` for them to leave (a session leaves
    pg_stat_activity a moment after its client has gone), looking every `poll` seconds.
    `every_backend`: every server process in it but autovacuum workers, as `ALTER DATABASE
    ... RENAME` counts them (a logical replication walsender, an extension's background
    worker, a subscription's apply worker)."""
    deadline = time.monotonic() + _SESSIONS_GONE_WITHIN
    while True:
        others = len(_connected(conn, database, every_backend=every_backend))
        if not others or time.monotonic() >= deadline:
            return others
        time.sleep(poll)


def _connected(conn: Any, database: str, *, every_backend: bool = False) -> list[str]:
    """The server processes other than `conn`'s connected to `database` (client sessions,
    or with `every_backend` all but autovacuum workers), each as `pid N: kind 'application'`."""
    rows = conn.execute(
        "SELECT pid, backend_type, application_name FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid() AND CASE WHEN %s "
        "THEN backend_type <> 'autovacuum worker' ELSE backend_type = 'client backend' END "
        "ORDER BY pid", (database, every_backend)).fetchall()
    return [f"pid {pid}: {kind}" + (f" '{app}'" if app else "") for pid, kind, app in rows]


def _revisions(conn: Any) -> tuple[str, ...]:
    """The revisions of the restored database's alembic version table: `alembic_version` on
    the search path, else the one an env.py's `version_table_schema` put elsewhere (found
    as `status` finds it). Read from `alembic_version` alone, a project whose env.py keeps
    it in its own schema was restored "at base", and the runs the backup caught ended at
    none in its history. Several such tables: which is the project's cannot be told (),
    as `status` says when asked."""
    from dbsafe.migrate.runner import revisions_in

    try:
        return revisions_in(conn)
    except DbsafeError:
        return ()


def _maintenance(database_url: str) -> Any:
    """A connection to the server's `postgres` database, for CREATE/DROP/RENAME DATABASE;
    to `template1` where that fails (a server without `postgres`), as createdb does. The
    first failure is the one reported, naming the database it was to: said as a failure
    to connect to the URL, it sent the user to a URL that connects (a `.pgpass` line, a
    `pg_hba.conf` line or a role's settings for the application's database alone)."""
    from dbsafe.pg.urls import redact_url

    # (outside the `try`: a URL libpq cannot read is said as such, not as a failed login)
    postgres, template1 = (_with_database(database_url, name) for name in ("postgres",
                                                                          "template1"))
    where = (f"{redact_url(database_url)} (database postgres of its server, where dbsafe "
             "creates, renames and drops databases; template1 failed too)")
    try:
        return connect(postgres, shown_as=where)
    except DatabaseError as first:
        try:
            return connect(template1, shown_as=where)
        except DatabaseError:
            raise first from None


def _with_database(database_url: str, name: str) -> str:
    from psycopg.conninfo import make_conninfo

    from dbsafe.pg.connect import url_params

    params = url_params(database_url)
    params["dbname"] = name
    return make_conninfo("", **{k: v for k, v in params.items() if v is not None})


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"

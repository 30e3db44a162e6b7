"""A cancelled run leaves nothing behind: SIGTERM/SIGHUP stop the throwaway server and remove
its directory (as Ctrl-C does), and a server left by a killed run is removed by the next one."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.migrate.projects import write_project

pytestmark = pytest.mark.db

SLOW_REVISION = '''"""slow"""
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.execute("SELECT pg_sleep(60)")


def downgrade():
    pass
'''


def _slow_project(root: Path) -> None:
    write_project(root, "well_behaved")
    (root / "migrations" / "versions" / "0005_slow.py").write_text(SLOW_REVISION)


@pytest.fixture
def short_tmpdir() -> Iterator[Path]:
    """A TMPDIR of its own for a dbsafe run, short enough for the server's Unix socket
    (pytest's own directories, with an xdist worker's name in them, may not be)."""
    path = Path(tempfile.mkdtemp(prefix="dbsafe-t-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_temporary_directory_too_long_for_a_socket_is_one_line_exit_2(
        tmp_path: Path) -> None:
    tmpdir = tmp_path / ("t" * 60) / ("u" * 60)
    tmpdir.mkdir(parents=True)
    root = tmp_path / "project"
    write_project(root, "well_behaved")
    proc = _start_cold_run(root, tmpdir)
    _, stderr = proc.communicate(timeout=120)

    assert proc.returncode == 2, stderr
    assert "set TMPDIR to a shorter directory" in stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
    assert list(tmpdir.glob("dbsafe-pg-*")) == []


def _start_cold_run(root: Path, tmpdir: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))}
    env.update(TMPDIR=str(tmpdir), DBSAFE_CACHE="false")
    return subprocess.Popen(
        [sys.executable, "-m", "dbsafe", "schema", "dump", "--from-migrations"],
        cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # As from a terminal: under `nohup` (the suite itself run that way) SIGHUP arrives
        # ignored, and dbsafe rightly keeps ignoring it.
        preexec_fn=_default_signals,
    )


def _default_signals() -> None:
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


def _wait_for_migration(proc: subprocess.Popen[str], tmpdir: Path,
                        timeout: float = 180) -> Path:
    """The running server's data directory, once the slow revision is running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"dbsafe ended early ({proc.returncode}): {proc.communicate()}")
        for pid_file in tmpdir.glob("dbsafe-pg-*/data/postmaster.pid"):
            if _postgres_sleeping(pid_file.parent):
                return pid_file.parent
        time.sleep(0.2)
    raise AssertionError("the slow revision never started")


def _postgres_sleeping(datadir: Path) -> bool:
    """Whether a backend of this server (a child of its postmaster) is running a query."""
    try:
        postmaster = int((datadir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return False
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue
        if parent == postmaster and "SELECT" in cmdline:
            return True
    return False


def _postmaster_running(datadir: Path) -> bool:
    try:
        pid = int((datadir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return _any_postgres_for(datadir)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return _any_postgres_for(datadir)
    return True


def _any_postgres_for(datadir: Path) -> bool:
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "postgres" in cmdline and str(datadir) in cmdline:
                return True
    return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_during_a_cold_run_leaves_no_server_and_no_directory(
    signum: signal.Signals, tmp_path: Path, short_tmpdir: Path,
) -> None:
    root, tmpdir = tmp_path / "project", short_tmpdir
    _slow_project(root)
    proc = _start_cold_run(root, tmpdir)
    datadir = _wait_for_migration(proc, tmpdir)

    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=60)

    assert proc.returncode == 128 + signum, stderr
    assert f"stopped by {signum.name}" in stderr
    assert "Traceback" not in stderr
    assert not _postmaster_running(datadir)
    assert list(tmpdir.glob("dbsafe-pg-*")) == []


def test_a_cluster_of_a_live_process_is_not_taken_for_a_stale_server(
        short_tmpdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg

    from dbsafe.pg.throwaway import bin_dir, cluster_from, remove_stale_servers

    monkeypatch.setattr(tempfile, "tempdir", str(short_tmpdir))
    short_tmpdir.chmod(0o755)  # as root, the cluster belongs to an unprivileged user
    with cluster_from(bin_dir()) as conninfo:
        [workdir] = short_tmpdir.iterdir()
        an_hour_ago = time.time() - 3600  # past the grace given to a directory being made
        os.utime(workdir, (an_hour_ago, an_hour_ago))

        assert remove_stale_servers(short_tmpdir) == []

        with psycopg.connect(conninfo) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    assert list(short_tmpdir.iterdir()) == []


def test_a_server_left_by_a_killed_run_is_removed_by_the_next_run(
        tmp_path: Path, short_tmpdir: Path) -> None:
    from dbsafe.pg.throwaway import remove_stale_servers

    root, tmpdir = tmp_path / "project", short_tmpdir
    _slow_project(root)
    proc = _start_cold_run(root, tmpdir)
    datadir = _wait_for_migration(proc, tmpdir)
    proc.kill()  # SIGKILL: no cleanup at all
    proc.communicate(timeout=30)
    assert _postmaster_running(datadir)

    removed = remove_stale_servers(tmpdir)

    assert removed == [datadir.parent]
    assert not _postmaster_running(datadir)
    assert list(tmpdir.glob("dbsafe-pg-*")) == []


def test_a_throwaway_cluster_skips_the_durability_nobody_needs_and_is_removed() -> None:
    """Its data is never needed again: no fsync, no full-page writes, commits that do not
    wait for the WAL (a schema built from hundreds of migrations commits hundreds of times).
    It still is a real PostgreSQL: a statement's effects are there for the next one."""
    import psycopg

    from dbsafe.pg.throwaway import throwaway_server

    with throwaway_server(database="dbsafe") as server, \
            psycopg.connect(server.conninfo("dbsafe"), autocommit=True) as conn:
        settings = dict(conn.execute(
            "SELECT name, setting FROM pg_settings WHERE name IN "
            "('fsync', 'full_page_writes', 'synchronous_commit')").fetchall())
        conn.execute("CREATE TABLE t (id int)")
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)
        workdir = server.socket_dir.parent
    assert settings == {"fsync": "off", "full_page_writes": "off", "synchronous_commit": "off"}
    assert not workdir.exists()

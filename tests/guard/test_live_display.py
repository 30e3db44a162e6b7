"""What `dbsafe upgrade` shows while it runs: a live view (rich) when stderr is a terminal,
the plain lines everywhere else (pipes, CI logs, TERM=dumb)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.helpers import at_revision, read_terminal
from tests.migrate.projects import write_project

pytestmark = pytest.mark.db

PLAIN_LINE = re.compile(r"dbsafe: \[ *\d+\.\ds\] [a-z ]+: \S")
SPINNER = set("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")


def _project_at_0002(root: Path, url: str) -> Path:
    write_project(root, "well_behaved")
    (root / "app" / "queries.sql").write_text("SELECT id, name FROM patients;\n")
    at_revision(url, root / "alembic.ini", "0002")
    return root


def _command(tmp_path: Path) -> list[str]:
    return [sys.executable, "-m", "dbsafe", "upgrade", "--allow", "DBS202", "--no-backup",
            "--backup-dir", str(tmp_path / "backups")]


def _env(url: str, term: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PG", "DBSAFE_")) and k not in ("NO_COLOR", "COLUMNS")}
    return {**env, "DBSAFE_DATABASE_URL": url, "TERM": term, "PYTHONPATH": str(REPO_ROOT)}


def _run_with_terminal_stderr(command: list[str], cwd: Path,
                              env: dict[str, str]) -> tuple[int, str, str]:
    """Run with stderr on a pseudo-terminal (100 columns) and stdout on a pipe."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    out: list[bytes] = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.read()))  # type: ignore[union-attr]
    reader.start()
    terminal = read_terminal(master)
    os.close(master)
    status = proc.wait(timeout=120)
    reader.join()
    proc.stdout.close()  # type: ignore[union-attr]
    return status, b"".join(out).decode(), terminal.decode("utf-8", "replace")


def test_on_a_terminal_the_steps_are_drawn_live(database_url: str, tmp_path: Path) -> None:
    root = _project_at_0002(tmp_path / "p", database_url)

    status, stdout, terminal = _run_with_terminal_stderr(
        _command(tmp_path), root, _env(database_url, "xterm-256color"))

    assert status == 0, terminal
    assert "\x1b[?25l" in terminal  # the live view hides the cursor while it draws
    assert SPINNER & set(terminal)
    assert "revisions 0/2" in terminal and "0003" in terminal and "0004" in terminal
    assert not PLAIN_LINE.search(terminal)  # not the plain lines
    # every step's message is kept on the terminal, not only drawn in passing
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", terminal)
    assert re.search(r"preflight +connected to", text)
    assert re.search(r"postflight +indexes valid", text)
    assert "upgrade" not in stdout or "applied" in stdout


def test_piped_stderr_keeps_the_plain_lines(database_url: str, tmp_path: Path) -> None:
    root = _project_at_0002(tmp_path / "p", database_url)

    proc = subprocess.run(_command(tmp_path), cwd=root, env=_env(database_url, "xterm-256color"),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)

    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines and all(PLAIN_LINE.match(line) for line in lines), proc.stderr
    assert "\x1b" not in proc.stderr and not SPINNER & set(proc.stderr)
    assert any("] apply: 0003" in line for line in lines)


def test_a_dumb_terminal_gets_the_plain_lines(database_url: str, tmp_path: Path) -> None:
    root = _project_at_0002(tmp_path / "p", database_url)

    status, _, terminal = _run_with_terminal_stderr(_command(tmp_path), root,
                                                    _env(database_url, "dumb"))

    assert status == 0, terminal
    lines = terminal.replace("\r\n", "\n").strip().splitlines()
    assert lines and all(PLAIN_LINE.match(line) for line in lines), terminal


def test_quiet_on_a_terminal_shows_no_progress(database_url: str, tmp_path: Path) -> None:
    root = _project_at_0002(tmp_path / "p", database_url)

    status, _, terminal = _run_with_terminal_stderr([*_command(tmp_path), "--quiet"], root,
                                                    _env(database_url, "xterm-256color"))

    assert status == 0, terminal
    assert terminal == ""

"""Colour on a terminal, none when piped, with NO_COLOR or --color=never.

The CLI runs in a child process whose standard output is a real pseudo-terminal (`pty`),
as a user's shell gives it, so the TTY detection itself is under test.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.helpers import read_terminal

ANSI = "\x1b["


@pytest.fixture
def migration(tmp_path: Path) -> Path:
    path = tmp_path / "0001.sql"
    path.write_text("CREATE INDEX i ON t (a);\n")
    return path


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env.update({"TERM": "xterm-256color", "PYTHONPATH": str(REPO_ROOT), **extra})
    return env


def _run_on_terminal(args: list[str], cwd: Path, **env: str) -> str:
    """What the command writes to a terminal (its stdout is a pty)."""
    main_fd, child_fd = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "dbsafe", *args], cwd=cwd,
                                stdout=child_fd, stderr=child_fd,
                                stdin=subprocess.DEVNULL, env=_env(**env))
    finally:
        os.close(child_fd)
    try:
        text = read_terminal(main_fd).decode()
    finally:
        os.close(main_fd)
        proc.wait(timeout=60)
    assert proc.returncode == 1, text
    return text


def _run_piped(args: list[str], cwd: Path, **env: str) -> str:
    out = subprocess.run([sys.executable, "-m", "dbsafe", *args], cwd=cwd, capture_output=True,
                         text=True, env=_env(**env), timeout=60)
    assert out.returncode == 1, out.stderr
    return out.stdout


def test_a_terminal_gets_colour(migration: Path) -> None:
    text = _run_on_terminal(["lint", migration.name], migration.parent)
    assert "DBS101" in text
    assert f"{ANSI}1;31m[error]{ANSI}0m" in text
    assert f"{ANSI}33m[warning]{ANSI}0m" in text


@pytest.mark.parametrize("how", ["NO_COLOR", "--color=never", "TERM=dumb"])
def test_no_colour_on_a_terminal_when_told_so(migration: Path, how: str) -> None:
    args, env = ["lint", migration.name], {}
    if how == "NO_COLOR":
        env = {"NO_COLOR": "1", "FORCE_COLOR": "1"}  # NO_COLOR wins
    elif how == "TERM=dumb":
        env = {"TERM": "dumb"}
    else:
        args.append(how)
    text = _run_on_terminal(args, migration.parent, **env)
    assert "DBS101 [error]" in text
    assert ANSI not in text


def test_piped_output_has_no_colour(migration: Path) -> None:
    text = _run_piped(["lint", migration.name], migration.parent)
    assert "DBS101 [error]" in text
    assert ANSI not in text


@pytest.mark.parametrize("how", ["--color=always", "FORCE_COLOR"])
def test_colour_can_be_forced_when_piped(migration: Path, how: str) -> None:
    args = ["lint", migration.name] + ([how] if how.startswith("--") else [])
    env = {"FORCE_COLOR": "1"} if how == "FORCE_COLOR" else {}
    text = _run_piped(args, migration.parent, **env)
    assert f"{ANSI}1;31m[error]{ANSI}0m" in text


def test_machine_formats_and_output_files_stay_plain(migration: Path) -> None:
    sarif = _run_on_terminal(["lint", migration.name, "--format", "sarif"], migration.parent)
    assert '"ruleId": "DBS101"' in sarif and ANSI not in sarif
    _run_on_terminal(["lint", migration.name, "-o", "out.txt", "--color=always"],
                     migration.parent)
    written = (migration.parent / "out.txt").read_text()
    assert "DBS101 [error]" in written and ANSI not in written


def test_a_piped_run_never_imports_rich(migration: Path) -> None:
    probe = ("import sys\nfrom dbsafe.cli import main\ntry:\n    main(['lint', "
             f"{str(migration)!r}])\nexcept SystemExit:\n    pass\n"
             "print('rich loaded' if any(m.split('.')[0] == 'rich' for m in sys.modules) "
             "else 'rich not loaded', file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         env=_env(), timeout=60)
    assert "DBS101" in out.stdout
    assert out.stderr.strip().splitlines()[-1] == "rich not loaded"

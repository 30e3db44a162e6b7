"""The test command also holds the code to its linters: `ruff check` and `mypy`, clean."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT, _venv_cache


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, check=False)


def test_ruff_check_is_clean() -> None:
    result = _run("ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean(tmp_path_factory: pytest.TempPathFactory) -> None:
    # The cache lives outside the tree, so the check leaves no generated files behind: with
    # the pinned virtualenvs (`_venv_cache`), one per checkout, so that a later session
    # checks only the modules changed since (about 2 s instead of 15). mypy itself decides
    # what in it is still valid (each module's hash, its own version, the options).
    checkout = hashlib.sha256(str(REPO_ROOT).encode()).hexdigest()[:16]
    cache = _venv_cache(tmp_path_factory) / f"mypy-{checkout}"
    result = _run("mypy", "--cache-dir", str(cache))
    assert result.returncode == 0, result.stdout + result.stderr

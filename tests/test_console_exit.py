"""The console script's exit (`cli.run`): the process ends without freeing its objects one
by one, yet every byte of output arrives, atexit handlers run, running threads finish and
the exit status is the command's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dbsafe import core
from dbsafe.schema.model import Column, Relation, SchemaSnapshot


def _snapshots(tmp_path: Path, tables: int) -> tuple[Path, Path]:
    """Two snapshot files: the second has `tables` tables more than the first."""
    empty, full = tmp_path / "empty.json", tmp_path / "full.json"
    SchemaSnapshot(schemas=("public",)).save(empty)
    relations = tuple(Relation("public", f"t{i:04}", "table",
                               columns=(Column("id", "bigint", 1, nullable=False),))
                      for i in range(tables))
    SchemaSnapshot(schemas=("public",), relations=relations).save(full)
    return empty, full


def _dbsafe(*args: str, cwd: Path, prelude: str = "") -> subprocess.CompletedProcess[str]:
    """`python -m dbsafe ARGS`, after `prelude` (Python run first, in the same process)."""
    code = f"{prelude}\nimport runpy, sys\nsys.argv = ['dbsafe', *{list(args)!r}]\n" \
           "runpy.run_module('dbsafe', run_name='__main__')"
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True,
                          text=True, timeout=120, check=False)


def test_a_long_report_arrives_whole_with_the_commands_exit_status(tmp_path: Path) -> None:
    empty, full = _snapshots(tmp_path, 400)
    differing = _dbsafe("diff", str(empty), str(full), cwd=tmp_path)
    assert differing.returncode == 1, differing.stderr
    assert len(differing.stdout) > 64 * 1024  # far more than one buffer's worth
    assert all(f"public.t{i:04}" in differing.stdout for i in range(400))
    assert differing.stdout.rstrip().splitlines()[-1].startswith("400 warnings (")
    same = _dbsafe("diff", str(full), str(full), cwd=tmp_path)
    assert (same.returncode, same.stderr) == (0, "")
    missing = _dbsafe("diff", str(full), str(tmp_path / "nowhere.json"), cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.startswith("dbsafe: error: ") and "Traceback" not in missing.stderr


def test_atexit_handlers_run_and_their_output_is_flushed(tmp_path: Path) -> None:
    done = _dbsafe("--version", cwd=tmp_path, prelude=(
        "import atexit, sys\n"
        "atexit.register(lambda: sys.stdout.write('atexit handler ran\\n'))"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "atexit handler ran"
    assert "dbsafe" in done.stdout.splitlines()[0]


def test_a_thread_still_running_is_waited_for(tmp_path: Path) -> None:
    done = _dbsafe("--version", cwd=tmp_path, prelude=(
        "import threading, time, sys\n"
        "def late():\n"
        "    time.sleep(0.5)\n"
        "    sys.stdout.write('thread finished\\n')\n"
        "threading.Thread(target=late).start()"))
    assert done.returncode == 0, done.stderr
    assert "thread finished" in done.stdout


def test_a_closed_pipe_is_not_a_traceback(tmp_path: Path) -> None:
    empty, full = _snapshots(tmp_path, 2000)
    shell = subprocess.run(
        f"{sys.executable} -m dbsafe diff {empty} {full} | head -n 1; "
        "echo \"status ${PIPESTATUS[0]}\"",
        shell=True, executable="/bin/bash", cwd=tmp_path, capture_output=True, text=True,
        timeout=120, check=False)
    assert "Traceback" not in shell.stderr, shell.stderr
    first, status = shell.stdout.splitlines()
    assert first.startswith("table public.t0000")
    assert status == "status 1"


def test_outside_the_console_script_nothing_is_held() -> None:
    value = object()
    assert core.hold_until_exit(value) is value
    assert core._HELD_UNTIL_EXIT is None  # a library call or a test keeps nothing alive

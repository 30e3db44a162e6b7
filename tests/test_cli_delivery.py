"""How reports are delivered: one-line usage errors, --output-file, --quiet, --exit-zero."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from dbsafe.cli import main
from tests.conftest import REPO_ROOT

SNAPSHOT = REPO_ROOT / "tests" / "validate" / "fixtures" / "clinic_schema.json"
APP = REPO_ROOT / "examples" / "clinic" / "app" / "repository.py"


def _validate(*extra: str):
    return CliRunner().invoke(main, ["validate", str(APP), "--snapshot", str(SNAPSHOT),
                                     "--no-confirm", *extra])


def test_a_usage_error_is_one_line_and_exit_2() -> None:
    result = CliRunner().invoke(main, ["validate", "--bogus"])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line.startswith("dbsafe: error: No such option '--bogus'")
    assert line.endswith("validate --help')")


def test_findings_exit_1_and_exit_zero_turns_that_into_0() -> None:
    assert _validate().exit_code == 1
    assert _validate("--exit-zero").exit_code == 0


def test_exit_zero_never_hides_that_dbsafe_could_not_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "missing"), "--snapshot",
                                       str(SNAPSHOT), "--exit-zero"])
    assert result.exit_code == 2


def test_output_file_gets_the_report_and_stdout_stays_empty(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    result = _validate("--format", "json", "--output-file", str(target))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert '"code": "DBS302"' in target.read_text()


def test_quiet_prints_the_findings_without_the_summary() -> None:
    loud, quiet = _validate().stdout, _validate("--quiet").stdout
    summary = re.compile(r"^\d+ errors? \(")
    assert summary.match(loud.rstrip().splitlines()[-1])
    assert "DBS302" in quiet and not any(summary.match(line) for line in quiet.splitlines())
    assert quiet.splitlines() == [line for line in loud.splitlines()
                                  if line and not summary.match(line)]


def test_config_works_after_the_subcommand_too(tmp_path: Path) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.dbsafe]\nignore = ["DBS302"]\n')
    assert _validate("--config", str(config)).exit_code == 0
    before = CliRunner().invoke(main, ["--config", str(config), "validate", str(APP),
                                       "--snapshot", str(SNAPSHOT), "--no-confirm"])
    assert before.exit_code == 0


def test_text_paths_are_relative_to_a_working_directory_inside_the_project(
        tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n")
    sub = tmp_path / "app"
    sub.mkdir()
    (sub / "q.sql").write_text("SELECT nonesuch FROM appointment_series;\n")

    def run(*extra: str) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "dbsafe", "validate", "q.sql", "--snapshot", str(SNAPSHOT),
             "--no-confirm", "--no-cache", "--color", "never", *extra], cwd=sub,
            capture_output=True, text=True, timeout=120,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
        assert out.returncode == 1, out.stderr
        return out.stdout

    # As ruff shows them: a path the user can open from where they are...
    assert run().startswith("q.sql:1:8: DBS302 [error]")
    # ...while machine formats stay relative to the project root (the repository's).
    assert json.loads(run("--format", "json"))["findings"][0]["path"] == "app/q.sql"

"""The pre-commit snippets in README.md and docs/gates.md are configs a user can paste.

Each is a whole `.pre-commit-config.yaml` that pre-commit itself accepts, its hooks agree
with `.pre-commit-hooks.yaml`, and the README's one really runs: pre-commit, in a fresh git
repository, calls dbsafe on the files it passes and fails on a wrong column.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT

SNAPSHOT = REPO_ROOT / "tests" / "validate" / "fixtures" / "clinic_schema.json"
DOCS = [REPO_ROOT / "README.md", REPO_ROOT / "docs" / "gates.md"]


def _snippet(doc: Path) -> str:
    section = doc.read_text(encoding="utf-8").split("### pre-commit\n", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None, doc
    return block.group(1)


def _pre_commit(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    # dbsafe and pre-commit as installed next to this interpreter, as in the project's venv;
    # the dbsafe package of this checkout.
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PYTHONPATH": str(REPO_ROOT),
           "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    env.pop("DBSAFE_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_the_snippet_is_a_whole_config_pre_commit_accepts(doc: Path, tmp_path: Path) -> None:
    config = tmp_path / ".pre-commit-config.yaml"
    config.write_text(_snippet(doc), encoding="utf-8")
    result = _pre_commit("validate-config", str(config), cwd=tmp_path, home=tmp_path / "home")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_the_snippet_hooks_agree_with_pre_commit_hooks_yaml(doc: Path) -> None:
    published = {h["id"]: h for h in yaml.safe_load(
        (REPO_ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
    hooks = [h for repo in yaml.safe_load(_snippet(doc))["repos"] for h in repo["hooks"]]
    assert hooks
    for hook in hooks:
        same = published[hook["id"]]
        for key in ("entry", "types_or", "pass_filenames", "always_run", "require_serial"):
            assert hook.get(key) == same.get(key), (hook["id"], key)


def test_the_readme_hook_runs_dbsafe_on_the_files_it_is_given(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.fail("git is needed")
    repo = tmp_path / "app"
    repo.mkdir()
    (repo / ".pre-commit-config.yaml").write_text(_snippet(DOCS[0]), encoding="utf-8")
    (repo / "pyproject.toml").write_text(
        f'[tool.dbsafe]\nsnapshot = "{SNAPSHOT.as_posix()}"\nconfirm = false\n',
        encoding="utf-8")
    (repo / "good.sql").write_text("SELECT id FROM appointment_series;\n", encoding="utf-8")
    (repo / "bad.sql").write_text("SELECT nonesuch FROM appointment_series;\n",
                                  encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    home = tmp_path / "home"

    good = _pre_commit("run", "--files", "good.sql", cwd=repo, home=home)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "dbsafe validate" in good.stdout and "Passed" in good.stdout

    bad = _pre_commit("run", "--files", "good.sql", "bad.sql", cwd=repo, home=home)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "bad.sql:1:8: DBS302" in bad.stdout
    assert "good.sql" not in bad.stdout.split("Failed", 1)[1]

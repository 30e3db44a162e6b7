"""docs/gates.md's CI templates are valid: the GitHub workflow and the GitLab job parse and
run the gates, and the pre-commit hook they name exists."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "gates.md"


def _yaml_block(heading: str) -> object:
    text = DOC.read_text(encoding="utf-8")
    section = text.split(f"### {heading}\n", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None, heading
    return yaml.safe_load(block.group(1))


def test_github_workflow_is_a_valid_workflow_running_every_gate() -> None:
    workflow = _yaml_block("GitHub Actions")
    assert isinstance(workflow, dict)
    # PyYAML reads the bare key `on` as True (YAML 1.1); GitHub reads it as "on".
    assert set(workflow) == {"name", True, "permissions", "jobs"}
    (job,) = workflow["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    for step in job["steps"]:
        assert set(step) <= {"name", "uses", "with", "run", "env", "if"}
        assert ("uses" in step) != ("run" in step), step
    commands = " ".join(step.get("run", "") for step in job["steps"])
    for gate in ("verify-lock", "lint", "verify-reversible", "validate", "drift"):
        assert f"dbsafe {gate}" in commands
    uploads = [step["with"] for step in job["steps"]
               if step.get("uses", "").startswith("github/codeql-action/upload-sarif")]
    # Code scanning refuses several runs of one tool and category in an upload: each report
    # (each a `dbsafe` run) goes up on its own, in its own category.
    written = re.findall(r"-o (\S+\.sarif)", commands)
    assert sorted(u["sarif_file"] for u in uploads) == sorted(written) != []
    assert len({u["category"] for u in uploads}) == len(uploads)


def test_gitlab_job_runs_every_gate() -> None:
    job = _yaml_block("GitLab CI")
    assert isinstance(job, dict)
    script = " ".join(job["dbsafe"]["script"])
    for gate in ("verify-lock", "lint", "verify-reversible", "validate", "drift"):
        assert f"dbsafe {gate}" in script


def test_the_pre_commit_hook_the_docs_name_exists() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    named = _yaml_block("pre-commit")
    assert isinstance(named, dict)
    wanted = {h["id"] for repo in named["repos"] for h in repo["hooks"]}
    assert wanted <= {h["id"] for h in hooks}
    (hook,) = [h for h in hooks if h["id"] == "dbsafe-verify-lock"]
    assert hook["entry"] == "dbsafe verify-lock" and hook["pass_filenames"] is False

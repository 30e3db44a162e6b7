"""`--jobs N` larger than the work forks no more workers than there are chunks of files to
hand out: `--jobs 1000` on a small project used to fork a thousand processes that only
waited. Forks are counted in a fresh interpreter with `os.register_at_fork`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"

_RUN = """
import json, os, sys
from pathlib import Path
from dbsafe import commands
from dbsafe.config import load_settings

forks = []
os.register_at_fork(after_in_parent=lambda: forks.append(1))
root, snapshot, jobs = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
settings = load_settings(root, {"snapshot": snapshot, "jobs": int(jobs), "cache": False}, environ={})
report = commands.validate(settings, [root / "app"])
print(json.dumps({"forks": len(forks),
                  "findings": sorted([f.location.path, f.location.line]
                                     for f in report.findings)}))
"""


def _run(root: Path, jobs: int) -> dict:
    out = subprocess.run([sys.executable, "-c", _RUN, str(root),
                          str(FIXTURES / "clinic_schema.json"), str(jobs)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def test_more_jobs_than_chunks_forks_one_worker_per_chunk(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    for number in range(70):  # past the parallel threshold: three chunks of files
        (tmp_path / "app" / f"q{number:02}.sql").write_text(
            "SELECT full_name FROM patients;\nSELECT nickname FROM patients;\n")
    many = _run(tmp_path, 40)
    assert 1 <= many["forks"] <= 3
    assert len(many["findings"]) == 70
    assert many["findings"] == _run(tmp_path, 1)["findings"]

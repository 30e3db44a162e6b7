"""A validate run whose every file is cached stays cheap: it neither decodes the snapshot nor
loads the SQL machinery, and still reports what the first run found.

Each run is a fresh interpreter (`dbsafe validate` as users run it), so what a cached run
imports is read from its own `sys.modules`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
# What a cached run has no use for: the snapshot model and its decoder, the resolver's
# parser, the extractors and their gitignore matcher, the PostgREST checker.
NOT_NEEDED = ("dbsafe.schema.model", "msgspec", "sqlglot", "pathspec",
              "dbsafe.validate.postgrest", "dbsafe.validate.resolver",
              "dbsafe.extract.sqlfile", "dbsafe.extract.python", "dbsafe.extract.javascript")

_RUN = """
import json, sys
from pathlib import Path
from dbsafe import commands
from dbsafe.config import load_settings

root, snapshot, cache = map(Path, sys.argv[1:4])
settings = load_settings(root, {"snapshot": str(snapshot), "cache-dir": str(cache)},
                         environ={})
report = commands.validate(settings, [root / "app"])
print(json.dumps({
    "findings": [[f.code, f.location.path, f.location.line] for f in report.findings],
    "loaded": sorted(m for m in sys.modules if m.startswith(__NOT_NEEDED__)),
}))
""".replace("__NOT_NEEDED__", repr(NOT_NEEDED))


def _run(root: Path, snapshot: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", _RUN, str(root), str(snapshot),
                          str(root / "cache")], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def _project(tmp_path: Path) -> Path:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "queries.sql").write_text(
        "SELECT full_name FROM patients;\nSELECT nickname FROM patients;\n", encoding="utf-8")
    return tmp_path


def test_a_fully_cached_run_neither_decodes_the_snapshot_nor_loads_the_parser(
        tmp_path: Path) -> None:
    root = _project(tmp_path)
    snapshot = FIXTURES / "clinic_schema.json"
    first = _run(root, snapshot)
    assert first["findings"] == [["DBS302", "app/queries.sql", 2]]
    # The probe sees them when they happen; a .sql file needs no Python or JS extractor.
    assert {"dbsafe.schema.model", "dbsafe.extract.sqlfile"} <= set(first["loaded"])
    assert "dbsafe.extract.javascript" not in first["loaded"]
    cached = _run(root, snapshot)
    assert cached["findings"] == first["findings"]
    assert cached["loaded"] == []


def test_a_changed_snapshot_file_is_not_served_from_the_cache(tmp_path: Path) -> None:
    root = _project(tmp_path)
    data = json.loads((FIXTURES / "clinic_schema.json").read_text(encoding="utf-8"))
    snapshot = tmp_path / "schema.json"
    snapshot.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    assert _run(root, snapshot)["findings"] == [["DBS302", "app/queries.sql", 2]]
    patients = next(r for r in data["relations"] if r["name"] == "patients")
    patients["columns"].append({**patients["columns"][-1], "name": "nickname",
                                "position": 99})
    snapshot.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    assert _run(root, snapshot)["findings"] == []


def test_a_broken_snapshot_fails_even_when_no_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    snapshot = tmp_path / "schema.json"
    snapshot.write_text('{"format": 2, "relations": "nope"}\n', encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "dbsafe", "validate", "--no-cache",
                          "--snapshot", str(snapshot), str(tmp_path / "app")],
                         capture_output=True, text=True)
    assert run.returncode == 2
    assert "malformed snapshot" in run.stderr and "Traceback" not in run.stderr

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
report = commands.validate(settings, [Path(sys.argv[4]) if sys.argv[4:] else root / "app"])
print(json.dumps({
    "findings": [[f.code, f.location.path, f.location.line] for f in report.findings],
    "loaded": sorted(m for m in sys.modules if m.startswith(__NOT_NEEDED__)),
}))
""".replace("__NOT_NEEDED__", repr(NOT_NEEDED))


def _run(root: Path, snapshot: Path, target: str | None = None) -> dict:
    """`target`: the path validate is given, as a user types it in `root` (`.`, `app`);
    by default `root / "app"`."""
    out = subprocess.run([sys.executable, "-c", _RUN, str(root), str(snapshot),
                          str(root / "cache"), *([target] if target else [])],
                         capture_output=True, text=True, check=True, cwd=root)
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


# A wrapper of a PostgreSQL driver call in one folder, the statement given to it in another:
# what the statement is depends on a file the run of `app` does not validate.
_WRAPPER = ("import { Pool } from 'pg';\nconst pool = new Pool();\n"
            "export const q = (text: string, params?: any[]) => pool.query(text, params);\n")
_NOT_A_WRAPPER = _WRAPPER.replace("pool.query(text, params)", "pool.query(text + ' LIMIT 1')")


def _wrapped_project(tmp_path: Path) -> Path:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "db.ts").write_text(_WRAPPER, encoding="utf-8")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "queries.ts").write_text(
        "import { q } from '../lib/db';\n"
        "export const nick = () => q('SELECT nickname FROM patients');\n", encoding="utf-8")
    return tmp_path


def test_an_edited_wrapper_module_changes_a_cached_run_of_another_folder(
        tmp_path: Path) -> None:
    root = _wrapped_project(tmp_path)
    snapshot = FIXTURES / "clinic_schema.json"
    found = [["DBS302", "app/queries.ts", 2]]
    assert _run(root, snapshot, "app")["findings"] == found
    assert _run(root, snapshot, "app")["findings"] == found
    # `q` now sends something else than its parameter: not followed, nothing to report.
    (root / "lib" / "db.ts").write_text(_NOT_A_WRAPPER, encoding="utf-8")
    assert _run(root, snapshot, "app")["findings"] == []
    (root / "lib" / "db.ts").write_text(_WRAPPER, encoding="utf-8")
    assert _run(root, snapshot, "app")["findings"] == found


def test_a_run_of_a_subfolder_reuses_what_a_run_of_the_root_kept_of_the_project(
        tmp_path: Path) -> None:
    root = _wrapped_project(tmp_path)
    snapshot = FIXTURES / "clinic_schema.json"
    found = [["DBS302", "app/queries.ts", 2]]
    assert _run(root, snapshot, ".")["findings"] == found
    kept = {p.name: p.read_bytes() for p in (root / "cache").glob("js-wrappers-*.json")}
    assert len(kept) == 1
    # The same files, named from another folder: the project's wrappers are not read again
    # (their memo was keyed by the path as the run found it, `lib/db.ts` against
    # `/tmp/.../lib/db.ts`, and each run rewrote it for the other).
    assert _run(root, snapshot, "app")["findings"] == found
    assert {p.name: p.read_bytes() for p in (root / "cache").glob("js-wrappers-*.json")} == kept
    assert _run(root, snapshot, ".")["findings"] == found

"""`dbsafe validate` on large repositories: --changed-since, baselines, JS/TS in the cache."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.core import ConfigError

pytestmark = pytest.mark.db

SCHEMA = "CREATE TABLE patients (id bigint PRIMARY KEY, full_name text, clinic_id bigint)"


def _settings(root: Path, database_url: str, **overrides: object):
    values = {"database-url": database_url, "cache": False, **overrides}
    return load_settings(root, {k.replace("_", "-"): v for k, v in values.items()}, environ={})


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def project(tmp_path: Path, postgresql: psycopg.Connection) -> Path:
    postgresql.execute(SCHEMA)
    postgresql.commit()
    _write(tmp_path / "pyproject.toml", "[tool.dbsafe]\n")
    _write(tmp_path / "web" / "old.ts",
           "supabase.from('patients').select('id, nope_old');\n")
    _write(tmp_path / "node_modules" / "lib" / "x.ts",
           "supabase.from('patients').select('vendored');\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "init")
    return tmp_path


def _found(report) -> list[tuple[str, str, int]]:
    return sorted((f.code, f.location.path, f.location.line) for f in report.findings)


def test_changed_since_reads_only_changed_files(project: Path, database_url: str) -> None:
    _write(project / "web" / "new.ts", "supabase.from('patients').select('nope_new');\n")
    _write(project / "db" / "q.sql", "SELECT nope_sql FROM patients;\n")
    # Changed but vendored: skipped as a directory walk would skip it.
    _write(project / "node_modules" / "lib" / "x.ts", "supabase.from('patients').select('v2');\n")
    settings = _settings(project, database_url)
    report = commands.validate(settings, [project], changed_since="HEAD")
    assert _found(report) == [("DBS302", "db/q.sql", 1), ("DBS302", "web/new.ts", 1)]
    assert report.summary["files"] == 2
    # Everything, for comparison: the committed file's finding is there too.
    everything = commands.validate(settings, [project])
    assert ("DBS302", "web/old.ts", 1) in _found(everything)


def test_changed_since_with_nothing_changed_reads_nothing(project: Path, database_url: str) -> None:
    report = commands.validate(_settings(project, database_url), [project], changed_since="HEAD")
    assert report.findings == ()
    assert report.summary["files"] == 0


def test_changed_since_an_unknown_ref_is_an_error(project: Path, database_url: str) -> None:
    from dbsafe.core import SourceError

    with pytest.raises(SourceError, match="no-such-ref"):
        commands.validate(_settings(project, database_url), [project], changed_since="no-such-ref")


def test_baseline_keeps_old_findings_quiet_and_reports_new_ones(
    project: Path, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    baseline = tmp_path_factory.mktemp("b") / "dbsafe-baseline.json"
    settings = _settings(project, database_url)
    written = commands.validate(settings, [project / "web"], write_baseline=baseline)
    assert written.findings == ()
    assert written.summary["baseline_written"] == 1
    entries = json.loads(baseline.read_text(encoding="utf-8"))["findings"]
    assert [(e["code"], e["path"], e["subject"]) for e in entries] == [
        ("DBS302", "web/old.ts", "public.patients.nope_old")]

    # Lines added above move the old finding: still baselined. The new one is reported.
    _write(project / "web" / "old.ts",
           "// the patients page\n"
           "supabase.from('patients').select('full_name, nope_new');\n"
           "supabase.from('patients').select('id, nope_old');\n")
    report = commands.validate(settings, [project / "web"], baseline=baseline)
    assert _found(report) == [("DBS302", "web/old.ts", 2)]
    assert report.summary["baselined"] == 1

    # The same mistake written a second time is new: an entry absorbs one finding only.
    _write(project / "web" / "old.ts",
           "supabase.from('patients').select('id, nope_old');\n"
           "supabase.from('patients').select('id, nope_old');\n")
    again = commands.validate(settings, [project / "web"], baseline=baseline)
    assert _found(again) == [("DBS302", "web/old.ts", 2)]


def test_a_missing_baseline_says_how_to_create_it(project: Path, database_url: str) -> None:
    with pytest.raises(ConfigError, match="--write-baseline"):
        commands.validate(_settings(project, database_url), [project / "web"],
                          baseline=project / "nope.json")


def test_cached_js_outcomes_are_served_and_keyed_by_content(
    project: Path, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    cache = tmp_path_factory.mktemp("cache")
    settings = _settings(project, database_url, cache=True, cache_dir=str(cache))
    first = commands.validate(settings, [project / "web"])
    assert _found(first) == [("DBS302", "web/old.ts", 1)]
    assert list(cache.glob("validate-*.json"))
    # Served from the cache: the same finding without reading the schema's statements again.
    assert _found(commands.validate(settings, [project / "web"])) == _found(first)
    _write(project / "web" / "old.ts", "supabase.from('patients').select('id');\n")
    assert commands.validate(settings, [project / "web"]).findings == ()


def test_configured_js_sql_tags_are_validated_and_key_the_cache(
    project: Path, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    _write(project / "web" / "old.ts",
           "await db.exec`SELECT nope_tag FROM patients`;\n"
           "await pool.run('SELECT nope_call FROM patients');\n")
    cache = tmp_path_factory.mktemp("cache")
    plain = _settings(project, database_url, cache=True, cache_dir=str(cache))
    assert commands.validate(plain, [project / "web"]).findings == ()
    # Same files, same schema: with the names configured the cached outcome must not serve.
    custom = _settings(project, database_url, cache=True, cache_dir=str(cache),
                       js_sql_tags=["exec"], js_sql_calls=["pool.run"])
    assert _found(commands.validate(custom, [project / "web"])) == [
        ("DBS302", "web/old.ts", 1), ("DBS302", "web/old.ts", 2)]


def test_js_suppressions_are_line_comments(project: Path, database_url: str) -> None:
    _write(project / "web" / "old.ts",
           "// dbsafe: ignore[DBS302] legacy column, dropped next sprint\n"
           "supabase.from('patients').select('id, nope_old');\n"
           "supabase.from('patients').select('id'); // dbsafe: ignore[DBS302]\n"
           "supabase.from(table).select('id'); /* dbsafe: ignore[DBS304] generic helper */\n")
    report = commands.validate(_settings(project, database_url), [project / "web"])
    # The first two are used; the one on a clean line is reported as unused.
    assert _found(report) == [("DBS002", "web/old.ts", 3)]

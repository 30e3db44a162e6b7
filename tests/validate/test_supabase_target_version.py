"""A Supabase project's `supabase/config.toml` says which PostgreSQL major version its
migrations run on (`[db] major_version`: Supabase's CLI runs it locally, the hosted project
runs it too). Without `target-version`, validate takes it as the target version, so catalog
columns are checked against that version's shipped catalog; an explicit `target-version`
wins, and a version dbsafe ships no catalog for is said once and gives no target (task 516)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from dbsafe import commands
from dbsafe.config import load_settings

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

# `daticulocale` is PostgreSQL 15's (renamed `datlocale` in 17), `datlocale` 17's and 18's.
QUERIES = "select daticulocale from pg_database;\nselect datlocale from pg_database;\n"


def _project(root: Path, major: str | None) -> Path:
    folder = root / "supabase" / "migrations"
    folder.mkdir(parents=True)
    (folder / "20240101000000_items.sql").write_text("create table items (id bigint);\n")
    if major is not None:
        (root / "supabase" / "config.toml").write_text(
            f'project_id = "shop"\n\n[db]\nport = 54322\nmajor_version = {major}\n')
    (root / "q.sql").write_text(QUERIES)
    return root


def _run(root: Path, **overrides: object) -> tuple[list[str], dict[str, object]]:
    settings = load_settings(root, {"cache": False, **{k.replace("_", "-"): v
                                                       for k, v in overrides.items()}},
                             environ={})
    report = commands.validate(settings, [root / "q.sql"])
    return [f.message for f in report.findings], dict(report.summary)


def test_config_toml_major_version_is_the_target_version(tmp_path: Path) -> None:
    messages, summary = _run(_project(tmp_path, "15"))
    assert messages == ["`pg_database` has no column `datlocale` on PostgreSQL 15"]
    assert summary["target_version"] == "15"
    assert summary["target_version_from"] == "supabase/config.toml [db] major_version"


def test_config_toml_major_version_17_is_checked_against_17s_catalog(tmp_path: Path) -> None:
    # Supabase's default: 17 has `datlocale`, not `daticulocale` (task 517).
    messages, summary = _run(_project(tmp_path, "17"))
    assert messages == ["`pg_database` has no column `daticulocale` on PostgreSQL 17"]
    assert (summary["target_version"], summary["target_version_from"]) == (
        "17", "supabase/config.toml [db] major_version")


def test_an_explicit_target_version_wins_over_config_toml(tmp_path: Path) -> None:
    messages, summary = _run(_project(tmp_path, "15"), target_version="18")
    assert messages == ["`pg_database` has no column `daticulocale` on PostgreSQL 18"]
    assert (summary["target_version"], summary["target_version_from"]) == ("18", "target-version")


@pytest.mark.parametrize("major", ["16", "13", '"latest"'])
def test_a_version_without_a_shipped_catalog_is_said_once_and_gives_no_target(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, major: str,
) -> None:
    with caplog.at_level(logging.WARNING):
        messages, summary = _run(_project(tmp_path, major))
    # Either query may run on the version: neither is reported.
    assert messages == []
    assert "target_version" not in summary
    said = [r.getMessage() for r in caplog.records if "major_version" in r.getMessage()]
    assert len(said) == 1
    assert said[0].startswith(f"supabase/config.toml [db] major_version = {major.strip(chr(34))}:")
    assert "no system catalog of that version" in said[0]

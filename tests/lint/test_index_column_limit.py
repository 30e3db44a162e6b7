"""DBS139's limit comes from `index-column-limit` in `[tool.dbsafe]`."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbsafe import commands
from dbsafe.config import ConfigError, load_settings
from dbsafe.lint.rules.non_unique_index_with_many_columns import RULE


def _flagged(tmp_path: Path, table: str) -> list[str]:
    (tmp_path / "pyproject.toml").write_text(f"[tool.dbsafe]\n{table}", encoding="utf-8")
    folder = tmp_path / "migrations"
    folder.mkdir(exist_ok=True)
    (folder / "001.sql").write_text(
        "CREATE INDEX CONCURRENTLY ix_orders_search ON orders (a, b, c, lower(d), e);\n",
        encoding="utf-8")
    report = commands.lint(load_settings(tmp_path), [folder])
    return [f.message for f in report.findings if f.code == RULE.code]


def test_the_limit_is_the_projects_setting(tmp_path: Path) -> None:
    [flagged] = _flagged(tmp_path, "")
    assert "5 key columns, more than `index-column-limit` (3)" in flagged
    [flagged] = _flagged(tmp_path, "index-column-limit = 4\n")
    assert "more than `index-column-limit` (4)" in flagged
    assert _flagged(tmp_path, "index-column-limit = 5\n") == []
    assert _flagged(tmp_path, "index-column-limit = 0\n") == []  # no limit
    with pytest.raises(ConfigError, match="index-column-limit"):
        _flagged(tmp_path, 'index-column-limit = "three"\n')

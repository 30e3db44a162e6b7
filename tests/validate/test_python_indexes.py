"""validate's three project-wide Python indexes (`scan.python_indexes`: the functions that
only parse SQL, those that move the database between revisions, those returning another
engine's client) are read in one pass (task 520): each file looked at and read once for the
three, its facts kept in one memo, and a changed file read again for every one of them.
"""

from __future__ import annotations

import builtins
import os
from collections import Counter
from pathlib import Path

import pytest

from dbsafe.config import load_settings
from dbsafe.validate.scan import python_indexes

_HELPERS = '''import duckdb
import sqlglot
from alembic import command


def parse_sql(sql):
    return sqlglot.parse_one(sql, read="postgres")


def to_head(cfg):
    command.upgrade(cfg, "head")


def warehouse(path):
    return duckdb.connect(path)
'''
# The same three, renamed: an index serving its old memo would still name the old ones.
_RENAMED = _HELPERS.replace("parse_sql", "parse_query").replace(
    "to_head", "to_latest").replace("warehouse", "analytics")
_PLAIN = "def total(rows):\n    return sum(rows)\n"


def _indexes(root: Path) -> tuple:
    settings = load_settings(root, {"cache-dir": str(root / "cache")}, environ={})
    files = [(str(path), path.relative_to(root).as_posix())
             for path in sorted(root.rglob("*.py"))]
    return python_indexes(settings, files, lambda: files)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "helpers.py").write_text(_HELPERS, encoding="utf-8")
    (tmp_path / "app" / "totals.py").write_text(_PLAIN, encoding="utf-8")
    return tmp_path


@pytest.fixture
def touched(monkeypatch: pytest.MonkeyPatch) -> dict[str, Counter]:
    """How many times each file was looked at (`os.stat`) and opened, by its name."""
    counts: dict[str, Counter] = {"stat": Counter(), "open": Counter()}
    stat, open_ = os.stat, builtins.open

    def counting_stat(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        counts["stat"][os.path.basename(os.fspath(path))] += 1
        return stat(path, *args, **kwargs)

    def counting_open(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(path, (str, os.PathLike)):
            counts["open"][os.path.basename(os.fspath(path))] += 1
        return open_(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", counting_stat)
    monkeypatch.setattr(builtins, "open", counting_open)
    return counts


def _python(counts: Counter) -> dict[str, int]:
    return {name: n for name, n in counts.items() if name.endswith(".py")}


def test_a_changed_file_is_read_again_for_each_of_the_three_indexes(project: Path) -> None:
    parsers, migrations, clients = _indexes(project)
    assert (parsers, migrations, clients) == (
        {"app.helpers.parse_sql": ((0, "sql"),), "helpers.parse_sql": ((0, "sql"),)},
        {"app.helpers.to_head": ("upgrade", None, "", "head"),
         "helpers.to_head": ("upgrade", None, "", "head")},
        {"app.helpers.warehouse": "DuckDB", "helpers.warehouse": "DuckDB"})
    assert _indexes(project) == (parsers, migrations, clients)  # from the memo
    helpers = project / "app" / "helpers.py"
    mtime = helpers.stat().st_mtime_ns
    helpers.write_text(_RENAMED, encoding="utf-8")
    os.utime(helpers, ns=(mtime + 10**9, mtime + 10**9))
    assert _indexes(project) == (
        {"app.helpers.parse_query": ((0, "sql"),), "helpers.parse_query": ((0, "sql"),)},
        {"app.helpers.to_latest": ("upgrade", None, "", "head"),
         "helpers.to_latest": ("upgrade", None, "", "head")},
        {"app.helpers.analytics": "DuckDB", "helpers.analytics": "DuckDB"})


def test_each_file_is_looked_at_and_read_once_for_the_three_indexes(
        project: Path, touched: dict[str, Counter]) -> None:
    first = _indexes(project)
    assert _python(touched["stat"]) == {"helpers.py": 1, "totals.py": 1}
    assert _python(touched["open"]) == {"helpers.py": 1, "totals.py": 1}
    touched["stat"].clear()
    touched["open"].clear()
    assert _indexes(project) == first
    # nothing changed: each file looked at once, none read
    assert _python(touched["stat"]) == {"helpers.py": 1, "totals.py": 1}
    assert _python(touched["open"]) == {}
    assert len(list((project / "cache").glob("py-*.json"))) == 1  # one memo for the three

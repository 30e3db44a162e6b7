"""A cold `dbsafe lint` of an alembic history that drops something runs the history once:
DBS211 reads the schema its capture left at heads (`LoadedHistory.head`), which is cached
as the schema from the migrations, instead of a second run on a second throwaway server
(task 393). Where the capture's database is not what that second run builds (another
alembic environment of the same alembic.ini, applied beside it), the second run stays.
Real PostgreSQL (the worker's server, `one_server_throwaways`)."""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from tests.migrate.projects import write_project


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> collections.Counter[str]:
    """How many throwaway servers the code under test entered, and alembic runs by mode."""
    import dbsafe.migrate.runner as runner
    import dbsafe.pg.throwaway as throwaway

    counts: collections.Counter[str] = collections.Counter()
    server = throwaway.throwaway_server  # (the worker's, as `one_server_throwaways` set it)
    run = runner._run

    @contextlib.contextmanager
    def counted_server(**kwargs: Any) -> Iterator[Any]:
        counts["servers"] += 1
        with server(**kwargs) as handle:
            yield handle

    def counted_run(project: Any, request: dict[str, Any], **kwargs: Any) -> Any:
        counts[request["mode"]] += 1
        return run(project, request, **kwargs)

    monkeypatch.setattr(throwaway, "throwaway_server", counted_server)
    monkeypatch.setattr(runner, "_run", counted_run)
    return counts


@pytest.mark.db
@pytest.mark.usefixtures("one_server_throwaways")
def test_a_cold_lint_runs_the_history_once_and_caches_the_schema_it_built(
        tmp_path: Path, started: collections.Counter[str]) -> None:
    write_project(tmp_path, "well_behaved")  # 0003 drops patients.email; app/ still reads it
    settings = load_settings(tmp_path, {"schema-source": "migrations"}, environ={})

    report = commands.lint(settings)

    assert [f.subject for f in report.findings if f.code == "DBS211"] == ["public.patients.email"]
    assert dict(started) == {"servers": 1, "capture": 1}
    # What validate and `schema dump` read next is that schema, from the cache: nothing runs.
    cached = commands.schema_dump(settings)
    assert dict(started) == {"servers": 1, "capture": 1}
    # ... and it is what a fresh build of the history gives.
    fresh = commands.schema_dump(load_settings(tmp_path, {"schema-source": "migrations",
                                                          "cache": False}, environ={}))
    assert started["apply"] == 1
    assert cached.to_json() == fresh.to_json()


@pytest.mark.parametrize("case", ["other environment", "snapshot", "sql folder"])
def test_the_capture_s_schema_is_not_the_schema_source_s_when(tmp_path: Path,
                                                              case: str) -> None:
    # Another environment of the alembic.ini: the schema DBS211 reads holds what
    # `[schema_private]` makes too, which the capture of `[alembic]` never runs. A snapshot
    # file, a folder of SQL migrations: another schema. The second run (or read) stays.
    from dbsafe.sources import builds_alembic_heads

    ini = write_project(tmp_path, "well_behaved")
    settings = load_settings(tmp_path, {"schema-source": "migrations"}, environ={})
    assert builds_alembic_heads(settings)
    options: dict[str, object] = {}
    if case == "other environment":
        ini.write_text(ini.read_text() + "\n[schema_private]\nscript_location = %(here)s/x\n")
    elif case == "snapshot":
        (tmp_path / "schema.json").write_text("{}")
        options = {"snapshot": str(tmp_path / "schema.json")}
    else:
        (tmp_path / "sql").mkdir()
        options = {"sql-migrations": "sql", "schema-source": "migrations"}
    assert not builds_alembic_heads(load_settings(tmp_path, options, environ={}))

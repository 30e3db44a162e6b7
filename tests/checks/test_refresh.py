"""`dbsafe refresh-views` on real PostgreSQL: order, modes, timeouts, history."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from dbsafe import commands
from dbsafe.checks import connect
from dbsafe.checks.refresh import refresh_views
from dbsafe.cli import main
from dbsafe.config import load_settings
from dbsafe.core import ConfigError

pytestmark = pytest.mark.db

SETUP = """
CREATE TABLE orders (id bigint PRIMARY KEY, clinic_id int, total numeric);
INSERT INTO orders SELECT g, g % 3, g FROM generate_series(1, 30) AS g;
-- z_base is read by a_top through the plain view v_base: a_top must come after it
CREATE MATERIALIZED VIEW z_base AS SELECT clinic_id, sum(total) AS total FROM orders GROUP BY 1;
CREATE UNIQUE INDEX ON z_base (clinic_id);
CREATE VIEW v_base AS SELECT * FROM z_base;
CREATE MATERIALIZED VIEW a_top AS SELECT clinic_id, total * 2 AS double FROM v_base;
CREATE UNIQUE INDEX ON a_top (clinic_id);
-- no unique index: only a blocking refresh is possible
CREATE MATERIALIZED VIEW m_plain AS SELECT id FROM orders;
-- never populated: the first refresh cannot be concurrent
CREATE MATERIALIZED VIEW n_empty AS SELECT id FROM orders WITH NO DATA;
CREATE UNIQUE INDEX ON n_empty (id);
"""


@pytest.fixture
def views(conninfo: str) -> str:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(SETUP)
    return conninfo


def test_views_refresh_in_dependency_order_concurrently_where_possible(views: str) -> None:
    waits: list[float] = []
    with connect(views) as conn:
        conn.autocommit = True
        results = refresh_views(conn, stagger=0.5, sleep=waits.append)
    assert [(r.view, r.mode, r.outcome, r.rows) for r in results] == [
        ("public.m_plain", "skipped", "skipped", None),
        ("public.n_empty", "skipped", "skipped", None),
        ("public.z_base", "concurrently", "ok", 3),
        ("public.a_top", "concurrently", "ok", 3),
    ]
    assert waits == [0.5, 0.5, 0.5]


def test_allow_blocking_refreshes_the_rest_plainly_and_history_records_all(
        views: str, database_url: str, tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={}, overrides={"database-url": database_url})
    lines: list[str] = []
    report = commands.refresh_views(settings, ["n_empty", "public.m_plain"],
                                    allow_blocking=True, progress=lines.append)
    assert report.findings == ()
    assert [(r["view"], r["mode"], r["rows"]) for r in report.summary["refreshes"]] == [
        ("public.m_plain", "blocking", 30), ("public.n_empty", "blocking", 30)]
    assert "public.m_plain: refreshing blocking" in lines
    with psycopg.connect(views) as conn:
        assert conn.execute("SELECT relispopulated FROM pg_class WHERE relname = 'n_empty'"
                            ).fetchone() == (True,)
    history = commands.refresh_history(settings)
    assert [(h["view"], h["mode"], h["outcome"], h["rows"]) for h in history] == [
        ("public.n_empty", "blocking", "ok", 30), ("public.m_plain", "blocking", "ok", 30)]
    assert all(isinstance(h["duration_ms"], int) for h in history)


def test_a_refresh_waiting_for_a_lock_gives_up_at_lock_timeout(views: str, database_url: str,
                                                               tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={}, overrides={
        "database-url": database_url, "lock-timeout": "200ms"})
    with psycopg.connect(views) as holder:
        holder.execute("REFRESH MATERIALIZED VIEW z_base")  # another refresh, not committed
        report = commands.refresh_views(settings, ["z_base", "a_top", "m_plain"],
                                        allow_blocking=True)
    # a_top reads z_base (through v_base), so it waits for the same lock and gives up too;
    # m_plain does not, and is refreshed.
    assert [(f.code, f.subject) for f in report.findings] == [
        ("DBS551", "public.z_base"), ("DBS551", "public.a_top")]
    assert "lock timeout" in dict(report.findings[0].context)["Database error"]
    assert [(r["view"], r["outcome"]) for r in report.summary["refreshes"]] == [
        ("public.m_plain", "ok"), ("public.z_base", "failed"), ("public.a_top", "failed")]
    history = commands.refresh_history(settings)
    assert [(h["view"], h["outcome"]) for h in history] == [
        ("public.a_top", "failed"), ("public.z_base", "failed"), ("public.m_plain", "ok")]


def test_naming_something_that_is_not_a_materialized_view_is_an_error(views: str) -> None:
    with connect(views) as conn:
        conn.autocommit = True
        with pytest.raises(ConfigError, match="'v_base' is not a materialized view"):
            refresh_views(conn, ["v_base"])
        with pytest.raises(ConfigError, match="materialized view 'nope' does not exist"):
            refresh_views(conn, ["nope"])


def test_cli_refresh_views_and_history(views: str, database_url: str, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    skipped = runner.invoke(main, ["refresh-views", "--database-url", database_url])
    assert skipped.exit_code == 1  # two views skipped: DBS552 warnings
    assert "DBS552" in skipped.stdout
    done = runner.invoke(main, ["refresh-views", "--database-url", database_url,
                                "--allow-blocking", "--stagger", "10ms", "--format", "json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["summary"]["views_refreshed"] == 4
    history = runner.invoke(main, ["refresh-views", "--history", "--database-url",
                                   database_url, "--format", "json"])
    assert history.exit_code == 0
    rows = json.loads(history.stdout)["history_rows"]
    assert [(r["view"], r["outcome"]) for r in rows[:4]] == [
        ("public.a_top", "ok"), ("public.z_base", "ok"), ("public.n_empty", "ok"),
        ("public.m_plain", "ok")]
    assert len(rows) == 8  # the first run recorded its two refreshes and two skips

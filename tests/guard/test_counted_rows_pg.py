"""The rows the preflight counts are the rows the report says, and weighs DBS108 by
(`guard.counted_rows`, task 546).

tacker's `vnf_lcm_op_occs`, its operations archived and deleted (the statistics still saying
~3.6k rows), was refused on DBS108 (`the ALTER fails if vnf_lcm_op_occs has any rows`) in
the report whose rows line said `12 passes`; where it held them, DBS615 said `at least
1,000 row(s)` beside the plan's `~3.6k rows`. r02 here adds `orders.kind` NOT NULL without
a DEFAULT. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import Settings
from dbsafe.core import Finding, Report, Severity
from dbsafe.guard.upgrade import UpgradeOptions
from tests.lint.test_alembic_pending_rows_pg import _at_r01, _project

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

ADDS_KIND = '''"""orders have a kind"""
import sqlalchemy as sa
from alembic import op

revision = "r02"
down_revision = "r01"


def upgrade():
    op.add_column("orders", sa.Column("kind", sa.Text(), nullable=False))


def downgrade():
    op.drop_column("orders", "kind")
'''

ADD = "ALTER TABLE orders ADD COLUMN kind TEXT NOT NULL"


def _at_r01_with(url: str, *, then: tuple[str, ...] = ()) -> None:
    """At r01, 3,000 orders analysed (the statistics: ~3.0k rows), then `then`."""
    _at_r01(url, "INSERT INTO orders SELECT g, g FROM generate_series(1, 3000) AS g")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE orders")
        for statement in then:
            conn.execute(statement)


def _settings(root: Path, url: str, **more: object) -> Settings:
    # (DBS115: no lock_timeout of the revision's own, in lint)
    return Settings(project_root=root, database_url=url, use_cache=False,
                    ignore=("DBS115",), **more)  # type: ignore[arg-type]


def _dbs108(report: Report) -> Finding:
    (found,) = [f for f in report.findings if f.code == "DBS108"]
    return found


def _lock_lines(report: Report) -> list[str]:
    return [line for line in report.summary["lines"]  # type: ignore[union-attr]
            if line.lstrip().startswith("ACCESS EXCLUSIVE on orders")]


def test_a_table_counted_empty_is_said_so_and_dbs108_of_it_refuses_no_upgrade(
        tmp_path: Path, database_url: str) -> None:
    root = _project(tmp_path / "p", ADDS_KIND)
    _at_r01_with(database_url, then=("DELETE FROM orders",))  # the statistics: ~3.0k

    planned = commands.plan(_settings(root, database_url))

    added = _dbs108(planned)
    assert added.severity is Severity.WARNING, added
    context = dict(added.context)
    assert context["Table size"].endswith(", 0 rows (counted)"), context
    assert context["Rows"] == ("none when the preflight counted them (DBS615 passes): the "
                               "ALTER fails only if rows are written before it runs")
    (lock,) = _lock_lines(planned)
    assert lock.endswith(", 0 rows (counted)"), lock
    assert "~3.0k" not in lock
    (pending,) = planned.summary["pending"]  # type: ignore[misc]
    assert pending["statements"][0]["locks"][0]["table_rows_counted"] == 0
    assert [(v["outcome"], v["subject"]) for v in pending["rows"]] == [
        ("passes", "orders.kind")]
    # `lint --database-url` says it as the plan does
    assert _dbs108(commands.lint(_settings(root, database_url))).severity is Severity.WARNING

    # at --fail-on error: DBS108 refused the upgrade the rows line passed
    report = commands.upgrade(_settings(root, database_url, fail_on=Severity.ERROR),
                              UpgradeOptions(backup=False, retry_delay=0.05))

    story = report.summary["what_happened"]
    assert report.summary["outcome"] == "applied", story
    assert "preflight: lint: the pending revisions pass" in story
    assert dict(_dbs108(report).context)["Table size"].endswith(", 0 rows (counted)")


def test_a_table_whose_count_stops_is_said_by_its_estimate_everywhere(
        tmp_path: Path, database_url: str) -> None:
    root = _project(tmp_path / "p", ADDS_KIND)
    _at_r01_with(database_url)

    planned = commands.plan(_settings(root, database_url))

    said = "~3.0k rows (estimated; the count stops at 1,000)"
    (refused,) = [f for f in planned.findings if f.code == "DBS615"]
    assert refused.message == (
        "Revision `r02` would fail on the database's rows: `orders.kind` holds NULLs (added "
        f"without a DEFAULT) in every row, {said}, which `{ADD}` refuses."), refused.message
    added = _dbs108(planned)
    assert added.severity is Severity.ERROR  # rows there: it fails (DBS615 says so too)
    assert dict(added.context)["Table size"].endswith(f", {said}"), added.context
    assert "Rows" not in dict(added.context)
    (lock,) = _lock_lines(planned)
    assert lock.endswith(f", {said}"), lock

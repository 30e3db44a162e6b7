"""`dbsafe plan` asks the database's rows what `dbsafe upgrade TARGET`'s preflight asks them
(DBS615): each refusal at its revision and at its statement's `op.*` call, the count said.

Before task 512 the plan's lint left the rows to the guard (`ask_rows=False`) and the plan
asked none: a DBA reading it saw nothing of the NULLs the upgrade then stopped on. The
project is lint's (tests/lint/test_alembic_pending_rows_pg.py): r02 adds a CHECK calling a
function that raises outside a READ ONLY transaction, then sets `orders.patient_id` NOT NULL.
Real PostgreSQL; the database is only read.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dbsafe import commands
from dbsafe.config import Settings
from dbsafe.core import Severity
from dbsafe.report import render
from tests.lint.test_alembic_pending_rows_pg import (
    NOT_NULL_LINE,
    _at_r01,
    _project,
    _settings,
    _state,
)

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

NOT_NULL = "ALTER TABLE orders ALTER COLUMN patient_id SET NOT NULL"


def test_plan_shows_the_rows_refusal_upgrade_would_stop_on_at_its_revision(
        tmp_path: Path, database_url: str) -> None:
    root = _project(tmp_path / "p")
    _at_r01(database_url, "INSERT INTO orders VALUES (1, 10), (2, NULL), (3, NULL)")
    before = _state(database_url)
    settings = _settings(root, database_url)

    report = commands.plan(settings)

    assert _state(database_url) == before
    (refused,) = [f for f in report.findings if f.code == "DBS615"]
    assert refused.severity is Severity.ERROR and refused.location is not None
    assert (refused.location.path, refused.location.line) == (
        "migrations/versions/r02_patient_required.py", NOT_NULL_LINE)
    assert refused.message == (
        "Revision `r02` would fail on the database's rows: `orders.patient_id` holds NULLs "
        f"in 2 row(s), which `{NOT_NULL}` refuses.")
    assert "or pass --allow DBS615 to apply it anyway" in (refused.help or "")
    assert report.fails(settings.fail_on)
    # Under its revision, after its statements; the count closes the plan (the CHECK
    # calling asked_read_only() over every row passed: asked READ ONLY)
    lines = report.summary["lines"]
    assert isinstance(lines, list)
    at = lines.index("r02  orders need a patient")
    assert f"  rows: r02: {NOT_NULL}: refused (orders.patient_id: holds NULLs in 2 " \
           "row(s))" in lines[at:-1], lines
    assert lines[-1] == ("rows: 2 validation(s) of the pending statements asked of the "
                         "database's rows: 1 refused, 1 passes")
    # --format json: the same as data, at the revision
    data = json.loads(render(report, "json", commands.catalog()))
    (pending,) = data["summary"]["pending"]
    assert [(v["outcome"], v["subject"]) for v in pending["rows"]] == [
        ("passes", "orders"), ("refused", "orders.patient_id")]
    assert [pending["rows"][1][key] for key in ("path", "line", "column")] == [
        "migrations/versions/r02_patient_required.py", NOT_NULL_LINE, 5]
    assert pending["rows"][1]["find"] == "SELECT * FROM orders WHERE patient_id IS NULL"
    assert data["summary"]["rows"] == {"asked": 2, "refused": 1, "passes": 1,
                                       "cannot_tell": 0, "not_checked": 0, "suppressed": 0}


def test_plan_asks_no_rows_where_select_or_ignore_leaves_dbs615_out(
        tmp_path: Path, database_url: str) -> None:
    root = _project(tmp_path / "p")
    _at_r01(database_url, "INSERT INTO orders VALUES (1, NULL)")

    report = commands.plan(Settings(project_root=root, database_url=database_url,
                                    use_cache=False, ignore=("DBS1", "DBS615")))

    assert "DBS615" not in {f.code for f in report.findings}
    lines = report.summary["lines"]
    assert isinstance(lines, list)
    assert [line for line in lines if "rows:" in line] == [
        "rows: not asked of the database: --select/--ignore leaves DBS615 out (`dbsafe "
        "upgrade` asks them all the same: `--allow DBS615` accepts a refusal)"]
    assert report.summary["rows"] == {"asked": 0, "not_asked": "DBS615 is not selected"}


# r03 fails wherever it runs (on lint's copy of the database's schema too: DBS005), r04
# adds a CHECK over the rows after it.
_R03_FAILS = '''"""fails on any schema"""
from alembic import op

revision = "r03"
down_revision = "r02"


def upgrade():
    op.execute("ALTER TABLE no_such_table ADD COLUMN x int")


def downgrade():
    pass
'''

_R04_CHECK = '''"""positive ids"""
from alembic import op

revision = "r04"
down_revision = "r03"


def upgrade():
    op.create_check_constraint("orders_positive_id", "orders", "id > 0")


def downgrade():
    op.drop_constraint("orders_positive_id", "orders")
'''


def test_a_revision_not_captured_leaves_the_rows_of_the_revisions_before_it_asked(
        tmp_path: Path, database_url: str) -> None:
    # tacker's 3ff50553e9d3 failed on the copy of the schema (DBS005), and the generated
    # columns 70df18f71ba2 adds before it were "cannot tell (... 3ff50553e9d3 could not be
    # captured as they ran ...: its rows are not today's)" (task 544): the revisions before
    # it were captured and run first. After it, its data statements may be missing.
    root = _project(tmp_path / "p")
    versions = root / "migrations" / "versions"
    (versions / "r03_fails.py").write_text(_R03_FAILS)
    (versions / "r04_positive.py").write_text(_R04_CHECK)
    _at_r01(database_url, "INSERT INTO orders VALUES (1, 10), (2, NULL)")

    report = commands.plan(_settings(root, database_url))

    assert "DBS005" in {f.code for f in report.findings}
    rows = {r["revision"]: [(v["outcome"], v["subject"]) for v in r["rows"]]
            for r in report.summary["pending"]}  # type: ignore[union-attr]
    assert rows["r02"] == [("passes", "orders"), ("refused", "orders.patient_id")]
    assert rows["r04"] == [("cannot tell", "orders")]
    # one revision: "it ran" (it said "r03 could not be captured as they ran", task 546)
    (unsure,) = [v["detail"] for r in report.summary["pending"]  # type: ignore[union-attr]
                 if r["revision"] == "r04" for v in r["rows"]]
    assert unsure == "r03 could not be captured as it ran (DBS005): its rows are not today's"
    assert [f.message for f in report.findings if f.code == "DBS615"] == [
        "Revision `r02` would fail on the database's rows: `orders.patient_id` holds NULLs "
        f"in 1 row(s), which `{NOT_NULL}` refuses."]

"""Each output format rendered from one small report, compared with committed snapshots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dbsafe.core import Finding, Location, Report, RuleInfo, Severity, Skipped
from dbsafe.report import render
from tests.helpers import assert_snapshot

SNAPSHOTS = Path(__file__).parent / "report"

CATALOG = {
    "DBS302": RuleInfo("DBS302", "unknown-column", "Column does not exist.", Severity.ERROR, "0.1.0"),
    "DBS304": RuleInfo("DBS304", "dynamic-sql", "SQL built at run time is not validated.",
                       Severity.NOTE, "0.1.0"),
}

REPORT = Report(
    findings=(
        Finding(
            code="DBS302",
            message="`appointment_series` has no column `notes`",
            severity=Severity.ERROR,
            location=Location("app/repo.py", 12, 27, 12, 31),
            subject="public.appointment_series.notes",
            help="Did you mean `rrule`?",
            context=(("PostgreSQL", "42703: column s.notes does not exist"),),
        ),
        Finding(
            code="DBS304",
            message="SQL built at run time is not validated: a hole, in: identifier position.",
            severity=Severity.NOTE,
            location=Location("app/a,b.py", 3, 5),
        ),
        Finding(code="DBS302", message="`t` has no column `x`", severity=Severity.WARNING,
                subject="public.t"),
    ),
    summary={"files": 2, "statements_analysed": 7, "statements_not_analysed": 1,
             "elapsed_seconds": 0.5},
    skipped=(Skipped(Location("app/repo.py", 40, 9), "not analysed: unknown function `f`"),),
)


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
def test_format_snapshot(fmt: str) -> None:
    assert_snapshot(render(REPORT, fmt, CATALOG, verbose=True), SNAPSHOTS / f"report.{fmt}")


def test_json_contract_fields() -> None:
    document = json.loads(render(REPORT, "json", CATALOG))
    assert document["version"] == 1
    required = {"code", "name", "severity", "message", "path", "line", "column", "end_line",
                "end_column", "subject", "help"}
    assert all(required <= set(f) for f in document["findings"])
    assert document["summary"]["findings_by_code"] == {"DBS302": 2, "DBS304": 1}


def test_sarif_end_column_is_exclusive_and_levels_are_sarif_names() -> None:
    run = json.loads(render(REPORT, "sarif", CATALOG))["runs"][0]
    located = [r for r in run["results"] if r["ruleId"] == "DBS302" and "locations" in r]
    region = located[0]["locations"][0]["physicalLocation"]["region"]
    assert (region["startColumn"], region["endColumn"]) == (27, 32)
    assert {r["level"] for r in run["results"]} == {"error", "note", "warning"}
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["DBS302", "DBS304"]


def test_github_escapes_property_separators() -> None:
    text = render(REPORT, "github", CATALOG)
    assert "file=app/a%2Cb.py" in text
    assert "::error file=app/repo.py,line=12,col=27,endLine=12,endColumn=31,title=DBS302::" in text
    assert "::notice file=app/a%2Cb.py,line=3,col=5,title=DBS304::" in text

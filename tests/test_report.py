"""Each output format rendered from one small report, compared with committed snapshots.

SARIF is also validated against the official SARIF 2.1.0 JSON schema, vendored as
tests/report/sarif-schema-2.1.0.json: oasis-tcs/sarif-spec, sarif-2.1/schema/, commit
e0583813964ec43cea53b6b531b402866095ed1f (the 2.1.0 errata 01 schema).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest

from dbsafe.commands import catalog
from dbsafe.core import Finding, Location, Report, RuleInfo, Severity, Skipped
from dbsafe.report import DOCS_URL, help_uri, render, render_rows
from tests.conftest import REPO_ROOT
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


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github", "gitlab"])
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


UNSEEN = Report(summary={"checks_run": 1, "not_checked": [
    "DBS511 sequence-near-exhaustion not checked: 1 sequence dbsafe's role may not read (no "
    "SELECT or USAGE on it): `public.numbers`"]})


def test_what_was_not_checked_is_said_in_every_format() -> None:
    said = UNSEEN.summary["not_checked"][0]
    assert render(UNSEEN, "text", CATALOG).splitlines()[0] == f"warning: {said}"
    assert json.loads(render(UNSEEN, "json", CATALOG))["summary"]["not_checked"] == [said]
    assert render(UNSEEN, "github", CATALOG).splitlines()[0] == (
        f"::warning title=not checked::{said}")
    [invocation] = json.loads(render(UNSEEN, "sarif", CATALOG))["runs"][0]["invocations"]
    assert invocation == {"executionSuccessful": True, "toolExecutionNotifications": [
        {"level": "warning", "message": {"text": said}}]}
    [issue] = json.loads(render(UNSEEN, "gitlab", CATALOG))
    assert (issue["check_name"], issue["description"], issue["severity"]) == (
        "not-checked", said, "info")


def test_gitlab_issues_have_what_gitlab_requires_and_one_fingerprint_each() -> None:
    """GitLab's Code Quality widget needs description, check_name, fingerprint, severity (its
    five names) and location.path + lines.begin, and shows one issue per fingerprint."""
    twice = Report(findings=REPORT.findings + (REPORT.findings[0],))
    issues = json.loads(render(twice, "gitlab", CATALOG))
    assert len(issues) == 4
    for issue in issues:
        assert {"description", "check_name", "fingerprint", "severity", "location"} <= set(issue)
        assert issue["severity"] in {"info", "minor", "major", "critical", "blocker"}
        assert isinstance(issue["location"]["path"], str)
        assert isinstance(issue["location"]["lines"]["begin"], int)
    assert len({issue["fingerprint"] for issue in issues}) == 4
    assert [i["severity"] for i in issues] == ["info", "major", "major", "minor"]


def test_gitlab_fingerprint_survives_the_finding_moving_down_its_file() -> None:
    """A line added above a finding is no new issue in the merge request (and no resolved one)."""
    moved = Report(findings=tuple(
        replace(f, location=replace(f.location, line=f.location.line + 3))
        if f.location else f for f in REPORT.findings))
    before, after = (json.loads(render(r, "gitlab", CATALOG)) for r in (REPORT, moved))
    assert [i["fingerprint"] for i in before] == [i["fingerprint"] for i in after]
    assert [i["location"]["lines"]["begin"] for i in after] == [6, 15, 1]


def test_github_escapes_property_separators() -> None:
    text = render(REPORT, "github", CATALOG)
    assert "file=app/a%2Cb.py" in text
    assert "::error file=app/repo.py,line=12,col=27,endLine=12,endColumn=31,title=DBS302::" in text
    assert "::notice file=app/a%2Cb.py,line=3,col=5,title=DBS304::" in text


# RFC 3986: a URI has a scheme; a URI reference may be relative; both only in legal characters.
_URI_CHAR = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})"
_FORMATS = {
    "uri": re.compile(rf"[A-Za-z][A-Za-z0-9+.\-]*:{_URI_CHAR}*(?:#{_URI_CHAR}*)?"),
    "uri-reference": re.compile(rf"{_URI_CHAR}*(?:#{_URI_CHAR}*)?"),
}


def _sarif_validator() -> jsonschema.Draft4Validator:
    schema = json.loads((SNAPSHOTS / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    checker = jsonschema.FormatChecker()
    for name, pattern in _FORMATS.items():
        checker.checks(name)(lambda value, pattern=pattern: (
            not isinstance(value, str) or pattern.fullmatch(value) is not None))
    return jsonschema.Draft4Validator(schema, format_checker=checker)


OUTSIDE = Report(findings=(
    Finding("DBS302", "`t` has no column `x`", Severity.ERROR,
            Location("/srv/other app/q#1.sql", 1, 8)),
    Finding("DBS302", "`t` has no column `y`", Severity.ERROR, Location("../sibling/q.sql", 2, 1)),
    Finding("DBS302", "`t` has no column `z`", Severity.ERROR, Location("app/my q.sql", 3, 1)),
))


@pytest.mark.parametrize("document", [
    pytest.param(lambda: render(REPORT, "sarif", CATALOG, verbose=True), id="report"),
    pytest.param(lambda: render(OUTSIDE, "sarif", catalog()), id="every-code-paths-outside"),
    pytest.param(lambda: render(UNSEEN, "sarif", CATALOG), id="not-checked"),
    pytest.param(lambda: render_rows([{"path": "my dir/0001.sql", "line": 2, "message": "m",
                                       "lock": "SHARE"}], "sarif", text="", kind="lock"),
                 id="rows"),
])
def test_sarif_is_valid_against_the_sarif_2_1_0_schema(document) -> None:
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in _sarif_validator().iter_errors(json.loads(document()))]
    assert errors == []


def test_the_schema_check_catches_an_invalid_document() -> None:
    document = json.loads(render(OUTSIDE, "sarif", CATALOG))
    document["runs"][0]["results"][0]["locations"][0]["physicalLocation"][
        "artifactLocation"]["uri"] = "app/my q.sql"
    del document["runs"][0]["results"][1]["message"]
    messages = [e.message for e in _sarif_validator().iter_errors(document)]
    assert any("'message' is a required property" in m for m in messages)
    assert any("is not a 'uri-reference'" in m for m in messages)


def test_every_sarif_rule_links_to_its_docs_page_which_exists() -> None:
    rules = json.loads(render(REPORT, "sarif", catalog()))["runs"][0]["tool"]["driver"]["rules"]
    assert {rule["id"] for rule in rules} == set(catalog())
    for rule in rules:
        assert rule["helpUri"] == help_uri(rule["id"]) == f"{DOCS_URL}rules/{rule['id']}.md"
        assert (REPO_ROOT / "docs" / rule["helpUri"].removeprefix(DOCS_URL)).is_file()
        assert rule["helpUri"] in rule["help"]["text"]
        assert f"dbsafe explain {rule['id']}" in rule["help"]["text"]


def test_sarif_paths_outside_the_project_are_absolute_file_uris() -> None:
    results = json.loads(render(OUTSIDE, "sarif", CATALOG))["runs"][0]["results"]
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results]
    sibling = Path(os.path.abspath("../sibling/q.sql")).as_uri()
    assert sorted(uris) == sorted(["file:///srv/other%20app/q%231.sql", sibling,
                                   "app/my%20q.sql"])


def test_sarif_message_and_help_are_separated_by_a_space() -> None:
    results = json.loads(render(REPORT, "sarif", CATALOG))["runs"][0]["results"]
    texts = [r["message"]["text"] for r in results]
    assert "`appointment_series` has no column `notes` Did you mean `rrule`?" in texts

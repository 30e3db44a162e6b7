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


# -- markdown (a pull-request comment) -------------------------------------------------------


def _html(document: str) -> str:
    """The document as GitHub renders it, near enough: CommonMark with GFM tables."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).enable("table").render(document)


def test_markdown_snapshot() -> None:
    document = render(REPORT, "markdown", CATALOG, verbose=True, command="dbsafe validate",
                      status=1)
    assert_snapshot(document, SNAPSHOTS / "report.markdown")


@pytest.mark.parametrize(("report", "status", "title"), [
    (REPORT, 1, "### :x: `dbsafe validate`: 3 findings"),
    (REPORT, 0, "### :warning: `dbsafe validate`: 3 findings, none failing the run"),
    (Report(summary={"outcome": "failed"}), 2,
     "### :x: `dbsafe validate`: could not run (failed)"),
    (UNSEEN, 0, "### :warning: `dbsafe validate`: no findings, 1 not checked"),
    (Report(summary={"files": 2}), 0, "### :white_check_mark: `dbsafe validate`: clean"),
], ids=["failing", "below-fail-on", "could-not-run", "not-checked", "clean"])
def test_markdown_title_says_the_verdict_the_exit_status_gives(report: Report, status: int,
                                                               title: str) -> None:
    marker, heading = render(report, "markdown", CATALOG, command="dbsafe validate",
                             status=status).splitlines()[:2]
    assert (marker, heading) == ("<!-- dbsafe:validate -->", title)


def test_markdown_says_what_was_not_checked() -> None:
    html = _html(render(UNSEEN, "markdown", CATALOG, command="dbsafe check", status=0))
    assert "<h4>:warning: Not checked</h4>" in html
    assert "<li>DBS511 sequence-near-exhaustion not checked: 1 sequence dbsafe's role may " \
           "not read (no SELECT or USAGE on it): <code>public.numbers</code></li>" in html


TRICKY = Report(findings=(
    Finding("DBS302", "`a|b` has no column `x`; x | y <script>alert(1)</script> ` alone "
            "*stars* [link](http://x) &lt; postgresql://app:***@db/x, @octo-org/team, "
            "a@b.c, #123, GH-7, o/r#5, x#y", Severity.ERROR, Location("app/q|1.sql", 3, 5),
            help="Write `WHERE a <> b` instead (#8).",
            context=(("Fix <SQL>", "SELECT 1;\n```\n</details>\n"),)),
    Finding("DBS302", "long " + "word " * 1000, Severity.WARNING, Location("app/q|1.sql", 9, 1)),
))


def test_markdown_escapes_what_markdown_would_misread() -> None:
    document = render(TRICKY, "markdown", CATALOG, command="dbsafe validate", status=1)
    html = _html(document)
    # names in backticks stay code, the rest is shown as written, never read as HTML
    assert "<code>a|b</code> has no column <code>x</code>; x | y " \
           "&lt;script&gt;alert(1)&lt;/script&gt; ` alone *stars* [link](http://x) &amp;lt;" \
           in html
    # no @mention GitHub would notify (its filter reads the rendered text, escaped or not)
    assert "postgresql://app:***@\u200bdb/x, @\u200bocto-org/team, a@b.c" in html
    # no issue reference GitHub would link (and list this comment on): `#123`, `GH-7` and
    # `owner/repo#5` outside code, read in the rendered text as mentions are
    assert "a@b.c, #\u200b123, GH-\u200b7, o/r#\u200b5, x#y" in html
    assert "<script>" not in html and "<em>" not in html and "<a href=\"http://x\"" not in html
    assert "<li>help: Write <code>WHERE a &lt;&gt; b</code> instead (#\u200b8).</li>" in html
    # the context block is code, its backticks and `</details>` included
    assert "<pre><code class=\"language-text\">SELECT 1;\n```\n&lt;/details&gt;\n" in html
    assert "<summary>Fix &lt;SQL&gt;</summary>" in document
    # a very long message is cut, saying by how much
    assert "... (3,005 more characters)" in document
    assert html.count("<strong>error</strong>") + html.count("<strong>warning</strong>") == 2
    # the file with a pipe in its name is one heading, both findings under it
    assert html.count("<h4><code>app/q|1.sql</code></h4>") == 1


def test_markdown_count_tables_keep_their_columns() -> None:
    piped = Report(findings=(Finding("DB|S", "m", Severity.NOTE),))
    html = _html(render(piped, "markdown", CATALOG, command="dbsafe lint", status=0))
    assert "<td><code>DB|S</code></td>" in html
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.S)
    assert [len(re.findall(r"<t[dh]", row)) for row in rows] == [2, 2, 3, 3]


def test_markdown_folds_a_long_list_of_a_file() -> None:
    many = Report(findings=tuple(Finding("DBS304", f"hole {i}", Severity.NOTE,
                                         Location("app/q.sql", i + 1, 1)) for i in range(14)))
    html = _html(render(many, "markdown", CATALOG, command="dbsafe validate", status=0))
    shown, folded = html.split("<details><summary>4 more</summary>")
    assert shown.count("<li>") == 10 and folded.count("<li>") == 4


def test_markdown_fits_githubs_limit_of_a_comment_saying_what_was_left_out() -> None:
    """GitHub refuses a comment body over 65,536 characters: the last findings are left out,
    the note says how many, the counts keep them all."""
    many = Report(findings=tuple(
        Finding("DBS302", f"`t{i}` has no column `c` " + "é" * 500, Severity.ERROR,
                Location(f"app/q{i:04}.sql", 1, 1), help="Did you mean `d`?")
        for i in range(400)))
    document = render(many, "markdown", CATALOG, command="dbsafe validate", status=1)
    assert len(render(Report(findings=many.findings[:1]), "markdown", CATALOG)) < 1000
    assert 60_000 < len(document.encode("utf-16-le")) // 2 <= 65_536
    shown = _html(document).count("<strong>error</strong>")
    left_out = int(re.search(r"(\d+) more findings left out", document).group(1))
    assert shown + left_out == 400 and 0 < shown < 400
    assert "| error | 400 |" in document
    assert document.splitlines()[0] == "<!-- dbsafe:validate -->"
    # a smaller limit cuts more, never the marker and the title
    small = render(Report(summary={"what_happened": ["x" * 100] * 50}), "markdown", CATALOG,
                   command="dbsafe upgrade", status=0)
    assert len(small) > 5000
    from dbsafe.report import render_markdown

    cut = render_markdown(Report(summary={"what_happened": ["x" * 100] * 50}), CATALOG,
                          command="dbsafe upgrade", status=0, limit=2000)
    assert len(cut) <= 2000 and cut.startswith("<!-- dbsafe:upgrade -->\n### ")
    assert "Cut at GitHub's limit of a comment (2,000 characters)" in cut
    # cut inside the story's code block and <details>: both closed, the note read as a note
    assert _html(cut).endswith("</code></pre>\n</details>\n<blockquote>\n<p>[!WARNING]\n"
                               "Cut at GitHub's limit of a comment (2,000 characters); "
                               "<code>--format json</code> has the whole report.</p>\n"
                               "</blockquote>\n")


def test_markdown_rows_are_the_text_table_in_a_code_block() -> None:
    document = render_rows([{"path": "m.sql", "line": 1, "message": "m"}], "markdown",
                           text="m.sql:1 | SHARE\n", kind="lock")
    assert document == "<!-- dbsafe:locks -->\n### `dbsafe`: 1 lock\n\n```text\nm.sql:1 | SHARE\n```\n"


def _loop(*statements: str, line: int = 37, revision: str = "a8609af97aa3",
          message: str = "`UPDATE` changes every row of `rpsl_objects` in one statement.",
          more_context: tuple[tuple[str, str], ...] = ()) -> tuple[Finding, ...]:
    """DBS140 notes of one `op.execute()` run in a loop: one per statement it ran."""
    return tuple(Finding("DBS140", message, Severity.NOTE,
                         Location("versions/a8609af97aa3.py", line, 9), help="Batch it.",
                         context=(("Revision", revision), *more_context, ("Statement", sql)))
                 for sql in statements)


# irrd's a8609af97aa3 (task 558), shortened: 3 statements of one loop at line 37, alike but
# for their values; at that line too, one of another table and one whose context differs
# (each its own); one alike at another line; an error after them
LOOPED = Report(findings=(
    *_loop("UPDATE rpsl_objects SET prefix_length=0 WHERE ip_size = 4294967296",
           "UPDATE rpsl_objects SET prefix_length=1 WHERE ip_size = 2147483648",
           "UPDATE rpsl_objects SET prefix_length=2 WHERE ip_size = 1073741824"),
    *_loop("UPDATE rpsl_history SET prefix_length=0",
           message="`UPDATE` changes every row of `rpsl_history` in one statement."),
    *_loop("UPDATE rpsl_objects SET prefix_length=3 WHERE ip_size = 536870912",
           more_context=(("Confirmed", "held on a throwaway server"),)),
    *_loop("UPDATE rpsl_objects SET prefix_length=0 WHERE ip_size = 1", line=47),
    Finding("DBS101", "Index on `rpsl_objects` is built without CONCURRENTLY.", Severity.ERROR,
            Location("versions/a8609af97aa3.py", 50, 5)),
))
FOLD = "... and 2 more like it at this line (--format json lists each)"


def test_findings_alike_at_one_line_are_one_in_the_text_report() -> None:
    text = render(LOOPED, "text", CATALOG)
    shown = [line for line in text.splitlines() if ": DBS1" in line]
    assert [line.split(": ")[0] for line in shown] == [
        "versions/a8609af97aa3.py:37:9", "versions/a8609af97aa3.py:37:9",
        "versions/a8609af97aa3.py:37:9", "versions/a8609af97aa3.py:47:9",
        "versions/a8609af97aa3.py:50:5"]
    assert text.count(FOLD) == 1 and text.count("more like it") == 1
    # the first statement of the loop shown, the fold said right under it
    first = text.split("prefix_length=0 WHERE ip_size = 4294967296\n")[1]
    assert first.startswith(f"  {FOLD}\n")
    assert "prefix_length=1" not in text and "prefix_length=3" in text
    assert "`rpsl_history`" in text
    assert text.splitlines()[-1] == "1 error, 6 notes"  # every finding counted


def test_findings_alike_at_one_line_are_one_github_annotation_and_one_markdown_item() -> None:
    github = render(LOOPED, "github", CATALOG).splitlines()
    assert [line.split(" ")[0] for line in github[:-1]] == ["::notice"] * 4 + ["::error"]
    assert [line.endswith(f"Batch it. {FOLD}") for line in github[:3]].count(True) == 1
    assert github[-1] == "1 error, 6 notes"
    markdown = render(LOOPED, "markdown", CATALOG, command="dbsafe lint", status=1)
    assert markdown.count("- **note**") == 4 and markdown.count("- **error**") == 1
    assert markdown.count("  - ... and 2 more like it at this line (`--format json` lists "
                          "each)") == 1
    assert "| note | 6 |" in markdown and "| DBS140 |" in markdown.replace("`", "")


def test_every_finding_alike_is_kept_in_json_sarif_and_gitlab() -> None:
    assert len(json.loads(render(LOOPED, "json", CATALOG))["findings"]) == 7
    assert len(json.loads(render(LOOPED, "sarif", CATALOG))["runs"][0]["results"]) == 7
    assert len(json.loads(render(LOOPED, "gitlab", CATALOG))) == 7


def test_a_markdown_comment_cut_counts_the_folded_findings_it_leaves_out() -> None:
    from dbsafe.report import render_markdown

    def cut(limit: int) -> tuple[int, int, int]:  # (items shown, folds shown, left out)
        document = render_markdown(LOOPED, CATALOG, command="dbsafe lint", status=1,
                                   limit=limit)
        left_out = int(re.search(r"(\d+) more findings? left out", document).group(1))
        return document.count("- **"), document.count("and 2 more like it"), left_out

    # the fold kept (its 2 are not left out), then left out (counted as the 3 it stands for)
    assert cut(1700) == (3, 1, 2)
    assert cut(1000) == (1, 0, 6)

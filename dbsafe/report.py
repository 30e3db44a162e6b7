"""Render a `Report` as text, JSON, SARIF 2.1.0, GitHub workflow annotations, a GitLab
Code Quality report or a Markdown pull-request comment.

Renderers return strings and never decide exit codes or filter findings; the line formats
(text, GitHub annotations, Markdown) show findings alike at one line once (`folded`). The JSON form is
the machine contract documented in docs/json-output.md: `{"version": 1, "findings": [...],
"summary": {...}}` with stable key order.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

from dbsafe import __version__
from dbsafe.core import Finding, Location, Report, RuleInfo, Severity

JSON_VERSION = 1
Catalog = Mapping[str, RuleInfo]

DOCS_URL = "https://github.com/dbsafe/dbsafe/blob/main/docs/"
"""Where the documentation is published: `docs/` of the repository at its main branch.

SARIF `helpUri`s are `{DOCS_URL}rules/<CODE>.md` (scripts/gen_docs.py writes a page for every
code, so each one resolves). The one place to change when the docs move.
"""


def help_uri(code: str) -> str:
    """The documentation page of `code`.

    >>> help_uri("DBS101")
    'https://github.com/dbsafe/dbsafe/blob/main/docs/rules/DBS101.md'
    """
    return f"{DOCS_URL}rules/{code}.md"


Paint = Callable[[str, str], str]
"""`paint(text, role)`: `text` as it should appear; roles are the keys of `TERMINAL_STYLES`."""


def plain(text: str, role: str) -> str:
    """The `Paint` of every output that is not a terminal: the text unchanged."""
    return text


def render(report: Report, fmt: str, catalog: Catalog, *, verbose: bool = False,
           paint: Paint = plain, command: str = "dbsafe", status: int | None = None,
           report_id: str | None = None) -> str:
    """Dispatch to the renderer for `fmt` (one of config.FORMATS); only text is painted.

    `command` (`dbsafe lint`), `status` (the exit status the CLI decided) and `report_id`
    (`--report-id`) are for the Markdown comment's title and marker; the other formats do
    not show them.
    """
    if fmt == "text":
        return render_text(report, catalog, verbose, paint=paint)
    if fmt == "markdown":
        return render_markdown(report, catalog, verbose, command=command, status=status,
                               report_id=report_id)
    renderer = _RENDERERS[fmt]
    return renderer(report, catalog, verbose)


def paths_from(report: Report, root: Path, cwd: Path) -> Report:
    """`report` with its file locations relative to `cwd`, when `cwd` is a folder inside the
    project `root`, so a terminal user can open them as shown (ruff does the same).

    Locations are relative to `root` everywhere else (JSON, SARIF and GitHub annotations
    keep them so); a `cwd` outside the project changes nothing.
    """
    try:
        inside = cwd.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return report
    if inside == ".":
        return report

    def moved(path: str) -> str:
        return path if os.path.isabs(path) else posixpath.relpath(path, inside)

    return replace(
        report,
        findings=tuple(
            replace(f, location=replace(f.location, path=moved(f.location.path)))
            if f.location is not None else f for f in report.findings),
        skipped=tuple(replace(s, location=replace(s.location, path=moved(s.location.path)))
                      for s in report.skipped),
    )


def sort_findings(findings: tuple[Finding, ...]) -> list[Finding]:
    def key(f: Finding) -> tuple:
        loc = f.location
        where = (loc.path, loc.line, loc.column) if loc else ("", 0, 0)
        return (loc is None, *where, f.code, f.message)

    return sorted(findings, key=key)


FOLDED = "... and {more} more like it at this line (--format json lists each)"
"""What the line formats say in place of the findings folded into the one shown."""


def folded(findings: Sequence[Finding]) -> list[tuple[Finding, int]]:
    """`findings` in their order, each with how many later ones are like it and left out.

    Alike: the same code, severity, message, help and subject at the same file and line,
    and the same context but for the statement's own SQL (`Statement`: a revision running
    one `op.execute()` in a loop gives one finding per statement it ran, each true, all at
    one line). The first stands for them; a finding whose message differs in anything
    (another table, column or value) is its own. Findings without a file are never folded.
    Only the line formats fold (text, GitHub annotations, the Markdown comment); JSON,
    SARIF and GitLab keep every finding, and every count counts each.
    """
    shown: list[Finding] = []
    more: list[int] = []
    first: dict[tuple, int] = {}  # a fold's key: where its first finding is in `shown`
    for finding in findings:
        key = _alike(finding)
        if key is not None and key in first:
            more[first[key]] += 1
            continue
        if key is not None:
            first[key] = len(shown)
        shown.append(finding)
        more.append(0)
    return list(zip(shown, more, strict=True))


def _alike(finding: Finding) -> tuple | None:
    loc = finding.location
    if loc is None:
        return None
    return (finding.code, finding.severity, loc.path, loc.line, finding.message, finding.help,
            finding.subject, tuple(block for block in finding.context
                                   if block[0] != "Statement"))


def _with_help(finding: Finding) -> str:
    """The message and its help, as one line for the formats that have one text field."""
    return finding.message + (f" {finding.help}" if finding.help else "")


# -- text -----------------------------------------------------------------------------------


def render_text(report: Report, catalog: Catalog, verbose: bool = False, *,
                paint: Paint = plain) -> str:
    lines: list[str] = []
    if _grouped(report):
        # Under a heading each, in the command's order (`dbsafe diff`: object by object).
        findings = iter(report.findings)
        for heading, count in report.groups:
            lines.append(paint(heading, "location"))
            for finding, more in folded([next(findings) for _ in range(count)]):
                _finding_lines(lines, finding, paint, "  ", more)
    else:
        for finding, more in folded(sort_findings(report.findings)):
            _finding_lines(lines, finding, paint, "", more)
    if verbose and report.skipped:
        lines.append("")
        lines.append(paint("Not analysed:", "title"))
        for item in report.skipped:
            loc = item.location
            lines.append(f"  {paint(f'{loc.path}:{loc.line}:{loc.column}', 'location')}: "
                         f"{item.reason}")
    # Commands that describe a state or tell a story (status, upgrade) give their lines.
    for key in ("lines", "what_happened"):
        block = report.summary.get(key)
        if isinstance(block, list) and block:
            if lines:
                lines.append("")
            lines.extend(str(line) for line in block)
    # What was not checked, a line each: said in the normal output, never a silent pass.
    apart = _not_checked(report)
    if apart:
        if lines:
            lines.append("")
        lines.extend(paint(f"warning: {item}", "warning") for item in apart)
    summary = summary_line(report, not_checked_apart=bool(apart))
    if summary:
        if lines and not apart:
            lines.append("")
        lines.append(paint(summary, _worst(report)))
    return "\n".join(lines) + "\n"


def _grouped(report: Report) -> bool:
    """Whether the command's groups (`Report.groups`) cover every finding."""
    return bool(report.groups) and sum(n for _, n in report.groups) == len(report.findings)


def _not_checked(report: Report) -> list[str]:
    items = report.summary.get("not_checked")
    return [str(item) for item in items] if isinstance(items, list) else []


def _finding_lines(lines: list[str], finding: Finding, paint: Paint, indent: str,
                   more: int = 0) -> None:
    severity = finding.severity.value
    lines.append(f"{indent}{paint(_where(finding), 'location')}: {paint(finding.code, 'code')} "
                 f"{paint(f'[{severity}]', severity)} {finding.message}")
    if finding.help:
        lines.append(f"{indent}  {paint('help:', 'help')} {finding.help}")
    for title, body in finding.context:
        lines.append(f"{indent}  {paint(f'{title}:', 'title')}")
        lines.extend(f"{indent}    {line}" for line in body.splitlines())
    if more:
        lines.append(f"{indent}  {FOLDED.format(more=more)}")


def _worst(report: Report) -> str:
    """The role of the summary line: the worst severity found, else `clean`."""
    worst = max((f.severity for f in report.findings), key=lambda s: s.rank, default=None)
    return worst.value if worst is not None else "clean"


TERMINAL_STYLES = {
    "location": "bold",
    "code": "bold",
    "error": "bold red",
    "warning": "yellow",
    "note": "cyan",
    "help": "green",
    "title": "dim",
    "clean": "green",
}


def terminal_paint() -> Paint:
    """A `Paint` writing ANSI colour (`TERMINAL_STYLES`), for a terminal that wants it.

    rich is imported here and only here: runs whose output is piped never load it.
    The styles are the 16 standard colours, which every colour terminal shows the same.
    """
    from rich.color import ColorSystem
    from rich.style import Style

    styles = {role: Style.parse(spec) for role, spec in TERMINAL_STYLES.items()}

    def paint(text: str, role: str) -> str:
        style = styles.get(role)
        return style.render(text, color_system=ColorSystem.STANDARD) if style else text

    return paint


def _where(finding: Finding) -> str:
    loc = finding.location
    if loc is None:
        return finding.subject or "<database>"
    return f"{loc.path}:{loc.line}:{loc.column}"


def summary_line(report: Report, *, not_checked_apart: bool = False) -> str:
    """One human line: findings by severity, then the command's own counts.

    What was not checked (`summary["not_checked"]`) is in it, each as `warning: ...`, or
    with `not_checked_apart` (the text report gives each its own line above) counted.
    """
    counts = {s: 0 for s in Severity}
    for finding in report.findings:
        counts[finding.severity] += 1
    parts = [f"{n} {s.value}{'s' if n != 1 else ''}" for s, n in counts.items() if n]
    head = ", ".join(parts) if parts else "no findings"
    details = [
        f"{value} {singular if value == 1 else plural}"
        for key, singular, plural in _SUMMARY_LABELS
        if isinstance(value := report.summary.get(key), int) and value
    ]
    skipped_files = report.summary.get("skipped_files")
    if isinstance(skipped_files, list) and skipped_files:
        shown = ", ".join(skipped_files[:_SKIPPED_FILES_SHOWN])
        more = len(skipped_files) - _SKIPPED_FILES_SHOWN
        details.append(f"skipped: {shown}" + (f" and {more} more (-v lists them)" if more > 0 else ""))
    not_checked = _not_checked(report)
    if not_checked and not_checked_apart:
        details.append(f"{len(not_checked)} not checked (above)")
    else:
        details.extend(f"warning: {item}" for item in not_checked)
    if report.summary.get("outcome"):
        # (an upgrade whose first revision failed, the database verified as before: the
        # history's outcome, as `status` shows it; "failed" alone read as a run that left
        # the database half way, task 546)
        as_before = report.summary["outcome"] == "failed" and report.summary.get("as_before")
        details.insert(0, f"outcome: {report.summary['outcome']}"
                       + (", as before" if as_before is True else ""))
    if report.summary.get("backup"):
        details.append(f"backup: {report.summary['backup']}")
    if report.summary.get("schema_source"):
        details.append(f"schema: {report.summary['schema_source']}")
    elapsed = report.summary.get("elapsed_seconds")
    if isinstance(elapsed, (int, float)):
        details.append(f"{elapsed:.2f}s")
    return head + (f" ({'; '.join(details)})" if details else "")


_SKIPPED_FILES_SHOWN = 5
_SUMMARY_LABELS = (
    ("migrations", "migration", "migrations"),
    ("files", "file", "files"),
    ("statements_analysed", "statement analysed", "statements analysed"),
    ("statements_not_analysed", "not analysed", "not analysed"),
    ("statements_unparsed", "unparsable", "unparsable"),
    ("statements_dynamic", "dynamic", "dynamic"),
    ("files_skipped", "file skipped", "files skipped"),
    ("migration_files", "migration left to lint", "migrations left to lint"),
    ("code_migration_files", "migration in code (not linted)",
     "migrations in code (not linted)"),
    ("schema_files", "schema file (the schema's source)", "schema files (the schema's source)"),
    ("checks_run", "check run", "checks run"),
    ("checks_failed", "check could not run", "checks could not run"),
    ("expectations", "expectation", "expectations"),
    ("views_refreshed", "view refreshed", "views refreshed"),
    ("baselined", "baselined", "baselined"),
    ("baseline_written", "finding written to the baseline", "findings written to the baseline"),
)


# -- json -----------------------------------------------------------------------------------


def finding_to_dict(finding: Finding, catalog: Catalog) -> dict[str, object]:
    loc = finding.location
    info = catalog.get(finding.code)
    return {
        "code": finding.code,
        "name": info.name if info else None,
        "severity": finding.severity.value,
        "message": finding.message,
        "path": loc.path if loc else None,
        "line": loc.line if loc else None,
        "column": loc.column if loc else None,
        "end_line": loc.end_line if loc else None,
        "end_column": loc.end_column if loc else None,
        "subject": finding.subject,
        "help": finding.help,
        "context": [{"title": t, "text": b} for t, b in finding.context],
    }


def render_json(report: Report, catalog: Catalog, verbose: bool = False) -> str:
    by_code: dict[str, int] = {}
    for finding in report.findings:
        by_code[finding.code] = by_code.get(finding.code, 0) + 1
    summary = dict(report.summary)
    summary["findings"] = len(report.findings)
    summary["findings_by_code"] = dict(sorted(by_code.items()))
    document = {
        "version": JSON_VERSION,
        "findings": [finding_to_dict(f, catalog) for f in sort_findings(report.findings)],
        "summary": summary,
    }
    if verbose:
        document["not_analysed"] = [
            {"path": s.location.path, "line": s.location.line, "column": s.location.column,
             "reason": s.reason}
            for s in report.skipped
        ]
    return json.dumps(document, indent=2, sort_keys=True, default=str) + "\n"


# -- sarif ----------------------------------------------------------------------------------


def render_sarif(report: Report, catalog: Catalog, verbose: bool = False) -> str:
    """SARIF 2.1.0 for GitHub code scanning.

    Findings without a file location (about a live database) are kept as results without
    `locations`, which SARIF allows; code scanning lists them without an anchor. Paths in
    the project are relative URIs (code scanning resolves them against the repository's
    root); paths outside it are absolute `file://` URIs (see `artifact_uri`).
    """
    codes = sorted({f.code for f in report.findings} | set(catalog))
    rule_index = {code: i for i, code in enumerate(codes)}
    rules = [_sarif_rule(code, catalog.get(code)) for code in codes]
    results = [_sarif_result(f, rule_index[f.code]) for f in sort_findings(report.findings)]
    run: dict[str, object] = {
        "tool": {
            "driver": {
                "name": "dbsafe",
                "version": __version__,
                "informationUri": "https://pypi.org/project/dbsafe/",
                "rules": rules,
            }
        },
        "results": results,
    }
    if unseen := _not_checked(report):
        # What the run could not look at is no result (nothing was found), but never
        # silence: SARIF's "runtime conditions detected by the tool during the analysis".
        run["invocations"] = [{
            "executionSuccessful": True,
            "toolExecutionNotifications": [
                {"level": "warning", "message": {"text": item}} for item in unseen],
        }]
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [run],
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _sarif_rule(code: str, info: RuleInfo | None) -> dict[str, object]:
    rule: dict[str, object] = {"id": code}
    if info is not None:
        uri = help_uri(code)
        rule["name"] = info.name
        rule["shortDescription"] = {"text": info.summary}
        rule["defaultConfiguration"] = {"level": info.default_severity.value}
        rule["helpUri"] = uri
        rule["help"] = {
            "text": f"{info.summary} `dbsafe explain {code}` prints the documentation; "
                    f"online: {uri}",
            "markdown": f"{info.summary} `dbsafe explain {code}` prints the documentation; "
                        f"online: [{code}]({uri}).",
        }
    return rule


def artifact_uri(path: str) -> str:
    """The SARIF `artifactLocation.uri` of a finding's path.

    Paths are relative to the project root, except for files outside the project, which
    carry the path the user gave (absolute, or relative to the working directory with
    `..`). Those become absolute `file://` URIs: a relative one would be resolved against
    the repository root and point at the wrong file. Reserved characters are escaped.

    >>> artifact_uri("app/my queries.sql")
    'app/my%20queries.sql'
    >>> artifact_uri("/srv/app/q#1.sql")
    'file:///srv/app/q%231.sql'
    """
    if os.path.isabs(path) or posixpath.normpath(path).split("/")[0] == "..":
        return Path(os.path.abspath(path)).as_uri()
    # ":" stays escaped so a first segment such as `c:x.sql` never reads as a scheme.
    return quote(path, safe="/!$&'()*+,;=@")


def _sarif_result(finding: Finding, rule_index: int) -> dict[str, object]:
    message = _with_help(finding)
    result: dict[str, object] = {
        "ruleId": finding.code,
        "ruleIndex": rule_index,
        "level": finding.severity.value,
        "message": {"text": message},
    }
    loc = finding.location
    if loc is not None:
        region: dict[str, int] = {"startLine": loc.line, "startColumn": loc.column}
        if loc.end_line is not None:
            region["endLine"] = loc.end_line
        if loc.end_column is not None:
            # SARIF end columns are exclusive; ours are inclusive.
            region["endColumn"] = loc.end_column + 1
        result["locations"] = [
            {"physicalLocation": {"artifactLocation": {"uri": artifact_uri(loc.path)},
                                  "region": region}}
        ]
    if finding.subject:
        result["properties"] = {"subject": finding.subject}
    return result


# -- github ---------------------------------------------------------------------------------

_GITHUB_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}


def render_github(report: Report, catalog: Catalog, verbose: bool = False) -> str:
    lines = []
    for finding, more in folded(sort_findings(report.findings)):
        props = []
        loc = finding.location
        if loc is not None:
            props.append(f"file={_escape_property(loc.path)}")
            props.append(f"line={loc.line}")
            props.append(f"col={loc.column}")
            if loc.end_line is not None:
                props.append(f"endLine={loc.end_line}")
            if loc.end_column is not None:
                props.append(f"endColumn={loc.end_column}")
        props.append(f"title={_escape_property(finding.code)}")
        text = _with_help(finding) + (f" {FOLDED.format(more=more)}" if more else "")
        level = _GITHUB_LEVELS[finding.severity]
        lines.append(f"::{level} {','.join(props)}::{_escape_data(text)}")
    # What was not checked is an annotation of its own, seen with the findings in the run
    unseen = _not_checked(report)
    lines.extend(f"::warning title=not checked::{_escape_data(item)}" for item in unseen)
    lines.append(summary_line(report, not_checked_apart=bool(unseen)))
    return "\n".join(lines) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


# -- gitlab ---------------------------------------------------------------------------------

_GITLAB_SEVERITIES = {Severity.ERROR: "major", Severity.WARNING: "minor", Severity.NOTE: "info"}


def render_gitlab(report: Report, catalog: Catalog, verbose: bool = False) -> str:
    """A GitLab Code Quality report: the JSON array `artifacts: reports: codequality` takes,
    shown in the merge request widget (docs.gitlab.com/ci/testing/code_quality).

    Each issue has GitLab's required fields: `description`, `check_name` (the code),
    `fingerprint`, `severity` (error major, warning minor, note info) and `location`
    (`path` relative to the repository root, `lines.begin`). A finding about a live database
    has no file: its path is empty (GitLab's schema takes it; the widget links the
    repository). What the run could not look at is an `info` issue `not-checked`, so the
    merge request shows it too.
    """
    issues = [_gitlab_issue(f.code, _with_help(f), f.severity, f.location, f.subject)
              for f in sort_findings(report.findings)]
    issues.extend(_gitlab_issue("not-checked", item, Severity.NOTE, None, None)
                  for item in _not_checked(report))
    return _gitlab_document(issues)


def _gitlab_issue(check: str, text: str, severity: Severity, loc: Location | None,
                  subject: str | None) -> dict[str, object]:
    location: dict[str, object] = {"path": loc.path if loc else "",
                                   "lines": {"begin": loc.line if loc else 1}}
    if loc is not None and loc.end_line is not None and loc.end_line != loc.line:
        location["lines"] = {"begin": loc.line, "end": loc.end_line}
    return {
        "check_name": check,
        "description": f"{check}: {text}" if check.startswith("DBS") else text,
        # Identity without the line, so a finding that moves with its code is the same
        # issue in the merge request, not one resolved and one new (filled in below).
        "fingerprint": "\0".join((check, str(location["path"]), subject or text)),
        "severity": _GITLAB_SEVERITIES[severity],
        "location": location,
    }


def _gitlab_document(issues: list[dict[str, object]]) -> str:
    """`issues` with their fingerprints hashed and made unique: GitLab shows one issue per
    fingerprint, so the n-th finding alike (same code, file and subject) gets its own."""
    seen: dict[str, int] = {}
    for issue in issues:
        identity = str(issue["fingerprint"])
        seen[identity] = seen.get(identity, 0) + 1
        digest = hashlib.sha256(f"{identity}\0{seen[identity]}".encode()).hexdigest()
        issue["fingerprint"] = digest[:32]
    return json.dumps(issues, indent=2, sort_keys=True) + "\n"


# -- markdown -------------------------------------------------------------------------------

COMMENT_LIMIT = 65_536
"""The most characters GitHub takes in a pull-request comment (GitLab's notes take more)."""

_MESSAGE_LIMIT = 2_000  # characters of one message or help line
_CONTEXT_LIMIT = 4_000  # characters of one titled detail block
_SHOWN_PER_SECTION = 10  # findings of a file shown before the rest are folded
_LINES_SHOWN = 200  # lines of a command's story (upgrade's what happened)
_CODE_SPAN = re.compile(r"`+")
_SPECIAL = re.compile(r"([\\*_\[\]<>|~#!])")
# `@name` where GitHub reads a mention (and notifies that user or team: `***@db` in a masked
# URL too), and `#123`, `GH-123` or `owner/repo#123` where it reads a reference to an issue
# or pull request (and links it, listing the comment on that issue), whatever escapes them:
# a zero-width space after the `@`, `#` or `GH-` keeps them text
_AUTOLINKED = re.compile(r"(?<!\w)@(?=[A-Za-z0-9])|#(?=[0-9])|(?<!\w)GH-(?=[0-9])",
                         re.IGNORECASE)


def render_markdown(report: Report, catalog: Catalog, verbose: bool = False, *,
                    command: str = "dbsafe", status: int | None = None,
                    limit: int = COMMENT_LIMIT, report_id: str | None = None) -> str:
    """One GitHub-flavoured Markdown document, to post as a pull-request comment.

    A hidden marker first (`<!-- dbsafe:lint -->`, one per command; `<!-- dbsafe:lint:api -->`
    with `report_id` "api", for one of several runs of a command) by which a CI step finds
    its previous comment to update; a title with the command and its verdict (from
    `status`, the exit status: 2 could not run, else the findings); counts per severity and
    per code; the findings grouped by file, a file's long list folded in `<details>`; what
    was not checked, said as such. Longer than `limit` characters (as GitHub counts them),
    the last findings are left out, with a note saying how many.
    """
    findings = _markdown_order(report)
    marker = _marker("-".join(command.split()[1:]) or "report", report_id)
    document = _markdown_document(report, catalog, verbose, marker, command, status,
                                  findings, 0)
    if _comment_length(document) <= limit:
        return document

    def left_out(kept: int) -> int:  # the findings, folded ones counted, after the kept
        return sum(1 + more for _, _, more in findings[kept:])

    kept_at_most, kept_at_least = len(findings) - 1, 0
    while kept_at_least < kept_at_most:  # the most findings that still fit
        middle = (kept_at_least + kept_at_most + 1) // 2
        trial = _markdown_document(report, catalog, verbose, marker, command, status,
                                   findings[:middle], left_out(middle))
        if _comment_length(trial) <= limit:
            kept_at_least = middle
        else:
            kept_at_most = middle - 1
    document = _markdown_document(report, catalog, verbose, marker, command, status,
                                  findings[:kept_at_least], left_out(kept_at_least))
    if _comment_length(document) <= limit:
        return document
    # Even without findings too long (a very long story or list of what was not checked):
    # cut it, and say so; the marker and the title come first, so they stay.
    note = ("\n\n> [!WARNING]\n> Cut at GitHub's limit of a comment "
            f"({limit:,} characters); `--format json` has the whole report.\n")
    room = limit - _comment_length(note)
    while _comment_length(document + _closing(document)) > room:
        over = _comment_length(document + _closing(document)) - room
        document = document[:max(0, len(document) - over)]
    return document + _closing(document) + note


def _closing(document: str) -> str:
    """What closes the code block and `<details>` a cut `document` leaves open, so that
    the note after it is read as Markdown, not as code, nor folded away."""
    fence, folded = "", 0
    for line in (line.strip() for line in document.splitlines()):
        if fence:
            fence = "" if line == fence else fence
        elif line.startswith("```") and _CODE_SPAN.fullmatch(line.removesuffix("text")):
            fence = line.removesuffix("text")
        elif line.startswith("<details>") or line == "</details>":
            folded += 1 if line.startswith("<details>") else -1
    return ("\n" + fence if fence else "") + "\n\n</details>" * max(0, folded)


def _comment_length(text: str) -> int:
    """Characters as GitHub counts them (UTF-16 code units: an emoji is two)."""
    return len(text.encode("utf-16-le")) // 2


def _markdown_order(report: Report) -> list[tuple[str, Finding, int]]:
    """The findings in the order the comment shows them, each with its section heading and
    how many alike it stands for (`folded`): the command's groups when it gave them (`diff`:
    object by object), else by file, then the findings about the database (no file)."""
    if _grouped(report):
        ordered = iter(report.findings)
        return [(heading, finding, more) for heading, count in report.groups
                for finding, more in folded([next(ordered) for _ in range(count)])]
    return [(f.location.path if f.location else "", f, more)
            for f, more in folded(sort_findings(report.findings))]


def _marker(name: str, report_id: str | None) -> str:
    """The hidden first line a CI step finds its comment by.

    >>> _marker("lint", None), _marker("lint", "api")
    ('<!-- dbsafe:lint -->', '<!-- dbsafe:lint:api -->')
    """
    return f"<!-- dbsafe:{name}{':' + report_id if report_id else ''} -->"


def _markdown_document(report: Report, catalog: Catalog, verbose: bool, marker: str,
                       command: str, status: int | None,
                       findings: list[tuple[str, Finding, int]], left_out: int) -> str:
    parts = [marker,
             f"### {_verdict(report, command, status)}", "",
             _inline(summary_line(report, not_checked_apart=True))]
    if report.findings:
        parts += ["", *_count_tables(report, catalog)]
    unseen = _not_checked(report)
    if unseen:
        parts += ["", "#### :warning: Not checked", "",
                  "dbsafe could not look at these; they are not known to be safe:", ""]
        parts += [f"- {_inline(_shortened(item, _MESSAGE_LIMIT))}" for item in unseen]
    sections: dict[str, list[tuple[Finding, int]]] = {}
    for heading, finding, more in findings:
        sections.setdefault(heading, []).append((finding, more))
    for heading, items in sections.items():
        parts += ["", f"#### {_code_span(heading) if heading else 'The database'}", ""]
        for finding, more in items[:_SHOWN_PER_SECTION]:
            parts += _finding_markdown(finding, catalog, more)
        if len(items) > _SHOWN_PER_SECTION:
            rest = items[_SHOWN_PER_SECTION:]
            parts += ["", f"<details><summary>{sum(1 + more for _, more in rest)} more"
                          "</summary>", ""]
            for finding, more in rest:
                parts += _finding_markdown(finding, catalog, more)
            parts += ["", "</details>"]
    if left_out:
        parts += ["", "> [!WARNING]",
                  f"> {left_out} more finding{'s' if left_out != 1 else ''} left out: a "
                  f"comment holds at most {COMMENT_LIMIT:,} characters. The counts above "
                  "include them; `--format json` lists them all."]
    if verbose and report.skipped:
        parts += ["", f"<details><summary>Not analysed ({len(report.skipped)})</summary>", ""]
        parts += [f"- {_code_span(f'{s.location.path}:{s.location.line}:{s.location.column}')}"
                  f": {_inline(_shortened(s.reason, _MESSAGE_LIMIT))}" for s in report.skipped]
        parts += ["", "</details>"]
    for key, title in (("lines", "Details"), ("what_happened", "What happened")):
        block = report.summary.get(key)
        if isinstance(block, list) and block:
            lines = [str(line) for line in block[:_LINES_SHOWN]]
            if len(block) > _LINES_SHOWN:
                lines.append(f"... {len(block) - _LINES_SHOWN} more lines")
            parts += ["", f"<details><summary>{title}</summary>", "",
                      _fenced("\n".join(lines)), "", "</details>"]
    return "\n".join(parts) + "\n"


def _verdict(report: Report, command: str, status: int | None) -> str:
    """The title: the command and what came of it, as its exit status says."""
    title = f"`{command}`"
    count = len(report.findings)
    found = f"{count} finding{'s' if count != 1 else ''}"
    if status == 2:
        outcome = report.summary.get("outcome")
        return f":x: {title}: could not run" + (f" ({_inline(str(outcome))})" if outcome else "") \
            + (f", {found}" if count else "")
    if count:
        mark = ":x:" if status == 1 else ":warning:"
        return f"{mark} {title}: {found}" + ("" if status != 0 else ", none failing the run")
    unseen = len(_not_checked(report))
    if unseen:
        return f":warning: {title}: no findings, {unseen} not checked"
    return f":white_check_mark: {title}: clean"


def _count_tables(report: Report, catalog: Catalog) -> list[str]:
    by_severity = {s: 0 for s in Severity}
    by_code: dict[str, int] = {}
    for finding in report.findings:
        by_severity[finding.severity] += 1
        by_code[finding.code] = by_code.get(finding.code, 0) + 1
    lines = ["| severity | findings |", "| --- | ---: |"]
    lines += [f"| {s.value} | {n} |" for s, n in by_severity.items() if n]
    lines += ["", "| code | name | findings |", "| --- | --- | ---: |"]
    for code, n in sorted(by_code.items()):
        info = catalog.get(code)
        lines.append(f"| {_cell(_code_link(code, catalog))} | "
                     f"{_cell(info.name) if info else ''} | {n} |")
    return lines


def _code_link(code: str, catalog: Catalog) -> str:
    return f"[{code}]({help_uri(code)})" if code in catalog else _code_span(code)


def _finding_markdown(finding: Finding, catalog: Catalog, more: int = 0) -> list[str]:
    where = _code_span(_where(finding))
    lines = [f"- **{finding.severity.value}** {_code_link(finding.code, catalog)} {where}: "
             f"{_inline(_shortened(finding.message, _MESSAGE_LIMIT))}"]
    if finding.help:
        lines.append(f"  - help: {_inline(_shortened(finding.help, _MESSAGE_LIMIT))}")
    if more:
        lines.append(f"  - {_inline(FOLDED.format(more=more))}".replace(
            "--format json", "`--format json`"))
    for title, body in finding.context:
        lines += ["", f"  <details><summary>{_html(title)}</summary>", "",
                  *("  " + line if line else "" for line in
                    _fenced(_shortened(body, _CONTEXT_LIMIT)).splitlines()),
                  "", "  </details>", ""]  # the blank line ends the HTML block
    return lines


def _shortened(text: str, limit: int) -> str:
    """`text` cut at `limit` characters, saying how many were left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit:,} more characters)"


def _inline(text: str) -> str:
    """`text` as one line of Markdown that shows it as written: its code spans (names in
    backticks, as messages write them) kept, a backtick without its pair and every
    character Markdown or HTML would read outside them escaped.

    >>> _inline("`a|b` has no <column> `x` *y*")
    '`a|b` has no &lt;column&gt; `x` \\\\*y\\\\*'
    >>> _inline("it's a ` alone")
    "it's a \\\\` alone"
    """
    text = " ".join(text.split())
    out: list[str] = []
    at = 0
    while at < len(text):
        opening = _CODE_SPAN.search(text, at)
        if opening is None:
            out.append(_escaped(text[at:]))
            break
        out.append(_escaped(text[at:opening.start()]))
        closing = next((m for m in _CODE_SPAN.finditer(text, opening.end())
                        if len(m.group()) == len(opening.group())), None)
        if closing is None:  # no pair: literal backticks
            out.append("\\`" * len(opening.group()))
            at = opening.end()
        else:
            out.append(text[opening.start():closing.end()])
            at = closing.end()
    return "".join(out)


def _escaped(text: str) -> str:
    text = text.replace("&", "&amp;")
    text = _SPECIAL.sub(lambda m: {"<": "&lt;", ">": "&gt;"}.get(m.group(1),
                                                                 "\\" + m.group(1)), text)
    return _defused(text)


def _defused(text: str) -> str:
    """`text` with GitHub's mentions and issue references broken by a zero-width space.

    >>> _defused("@ops: see #12 and gh-3, not a#b or x@y")
    '@&#8203;ops: see #&#8203;12 and gh-&#8203;3, not a#b or x@y'
    """
    return _AUTOLINKED.sub(lambda m: m.group() + "&#8203;", text)


def _html(text: str) -> str:
    """`text` inside an HTML element (`<summary>`), where Markdown is not read."""
    text = " ".join(text.split()).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _defused(text)


def _cell(text: str) -> str:
    """`text` in a table cell: GFM splits cells at every `|`, even in a code span."""
    return text.replace("|", "\\|")


def _code_span(text: str) -> str:
    """`text` as inline code, whatever backticks it holds.

    >>> _code_span("a`b")
    '``a`b``'
    """
    text = " ".join(text.split())
    fence = "`" * (max((len(m) for m in _CODE_SPAN.findall(text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _fenced(body: str) -> str:
    """`body` as a fenced code block, its fence longer than any backtick run in it."""
    fence = "`" * max(3, max((len(m) for m in _CODE_SPAN.findall(body)), default=0) + 1)
    return f"{fence}text\n{body}\n{fence}"


_RENDERERS: dict[str, Callable[[Report, Catalog, bool], str]] = {
    "text": render_text,
    "json": render_json,
    "sarif": render_sarif,
    "github": render_github,
    "gitlab": render_gitlab,
}


def render_rows(rows: Sequence[Mapping[str, object]], fmt: str, *, text: str,
                kind: str = "row", report_id: str | None = None) -> str:
    """Results that are rows rather than findings (`dbsafe lint --locks`), in any format.

    Args:
        rows: records with `path`, `line` and `message` keys plus their own columns.
        fmt: one of config.FORMATS.
        text: the human table, rendered by the module that knows the columns.
        kind: what a row is (`lock`), used as the JSON key and annotation title.
        report_id: the markdown marker's id (`--report-id`).

    Returns:
        text: `text`; json: `{"version": 1, "<kind>s": [...]}`; github: one notice per row at
        its path and line; sarif: one note-level result per row; gitlab: one info issue per
        row; markdown: `text` in a code block, under a marker and a title.
    """
    if fmt == "json":
        return json.dumps({"version": JSON_VERSION, f"{kind}s": list(rows)}, indent=2,
                          sort_keys=True) + "\n"
    if fmt == "github":
        return "".join(
            f"::notice file={_escape_property(str(r.get('path', '')))},"
            f"line={r.get('line', 1)},title={kind}::{_escape_data(str(r.get('message', '')))}\n"
            for r in rows)
    if fmt == "gitlab":
        return _gitlab_document([
            _gitlab_issue(f"dbsafe-{kind}", str(r.get("message", "")), Severity.NOTE,
                          Location(str(r.get("path", "")), int(str(r.get("line", 1)))),
                          json.dumps(dict(r), sort_keys=True, default=str))
            for r in rows])
    if fmt == "sarif":
        results = [{
            "ruleId": f"dbsafe-{kind}",
            "level": "note",
            "message": {"text": str(r.get("message", ""))},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": artifact_uri(str(r.get("path", "")))},
                "region": {"startLine": r.get("line", 1)}}}],
            "properties": dict(r),
        } for r in rows]
        document = {"$schema": "https://json.schemastore.org/sarif-2.1.0.json",
                    "version": "2.1.0",
                    "runs": [{"tool": {"driver": {
                        "name": "dbsafe", "version": __version__,
                        "informationUri": "https://pypi.org/project/dbsafe/",
                        "rules": [{"id": f"dbsafe-{kind}", "name": kind}]}},
                        "results": results}]}
        return json.dumps(document, indent=2, sort_keys=True) + "\n"
    if fmt == "markdown":  # the human table as it is, in a comment of its own
        return (f"{_marker(kind + 's', report_id)}\n### `dbsafe`: {len(rows)} {kind}"
                f"{'s' if len(rows) != 1 else ''}\n\n{_fenced(text.rstrip())}\n")
    return text

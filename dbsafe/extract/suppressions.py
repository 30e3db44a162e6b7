"""`dbsafe: ignore[...]` directives in source files, and applying them to findings.

A directive counts only in a comment of the file's own language: `-- dbsafe: ignore[DBS302]`
in a `.sql` file, `# dbsafe: ignore[DBS302]` in Python, `// dbsafe: ignore[DBS302]` in
JavaScript/TypeScript and in the `<script>` blocks of Vue and Svelte components (whose
markup's `<!-- dbsafe: ignore-file[...] -->` heading the file counts too). In Python, a SQL comment inside a
string that dbsafe reads as SQL also counts, which is the only way to reach a line in the
middle of a triple-quoted query; a docstring or any other string that merely mentions
`dbsafe: ignore[...]` does not. It applies to findings on its own line and on the line below; `ignore-file[...]` in the
file's leading comment block applies to the whole file. Codes are required; text after
the bracket is a free-form reason. Suppressions are always resolved against the original
file at `finding.location`, never against rendered SQL.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from dbsafe.core import Finding, Location, RuleInfo, Severity

UNUSED_SUPPRESSION = RuleInfo(
    code="DBS002",
    name="unused-suppression",
    summary="A `dbsafe: ignore` directive suppresses nothing.",
    default_severity=Severity.WARNING,
    since="0.1.0",
)
UNKNOWN_SUPPRESSION_CODE = RuleInfo(
    code="DBS003",
    name="unknown-suppression-code",
    summary="A `dbsafe: ignore` directive names a code dbsafe does not have, or none.",
    default_severity=Severity.WARNING,
    since="0.1.0",
)
RULES = (UNUSED_SUPPRESSION, UNKNOWN_SUPPRESSION_CODE)

_DIRECTIVE = re.compile(r"(?:--|#)\s*dbsafe:\s*(ignore-file|ignore)\b(?:\[([^\]]*)\])?")
_SQL_DIRECTIVE = re.compile(r"--\s*dbsafe:\s*(ignore-file|ignore)\b(?:\[([^\]]*)\])?")
# JavaScript/TypeScript: `//` and `/* */` comments, and `--` in the SQL of its templates.
_JS_DIRECTIVE = re.compile(r"(?://|/\*|--)\s*dbsafe:\s*(ignore-file|ignore)\b(?:\[([^\]]*)\])?")
# Vue, Svelte and Astro components too: their scripts are JavaScript (and `--` reads an
# HTML comment `<!-- dbsafe: ignore[...] -->` in their markup).
_JS_SUFFIXES = (".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".vue", ".svelte", ".astro")
_LEADING_COMMENT = re.compile(r"\s*(?:--|#|/\*|\*|<!--|$)")
# A JavaScript file's leading comments are `//` lines too (and an Astro frontmatter's fence
# is a `--` line above).
_JS_LEADING_COMMENT = re.compile(r"\s*(?:--|//|/\*|\*|<!--|$)")


@dataclass(frozen=True, slots=True)
class Directive:
    """One `dbsafe: ignore[...]` comment."""

    location: Location  # the `dbsafe:` text, for DBS002/DBS003
    codes: tuple[str, ...]
    file_wide: bool


@dataclass(slots=True)
class _Tracked:
    directive: Directive
    used: set[str] = field(default_factory=set)


def parse_directives(source: str, path: str) -> list[Directive]:
    """Every directive in a file, in order.

    Example:
        >>> parse_directives("SELECT 1; -- dbsafe: ignore[DBS301, dbs302] legacy", "a.sql")
        [Directive(location=Location(path='a.sql', line=1, column=11, end_line=None, \
end_column=None), codes=('DBS301', 'DBS302'), file_wide=False)]
    """
    if "dbsafe:" not in source:
        return []
    lines = source.split("\n")
    leading_end = len(lines)
    leading = _JS_LEADING_COMMENT if path.endswith(_JS_SUFFIXES) else _LEADING_COMMENT
    for number, line in enumerate(lines, start=1):
        if not leading.match(line) and not line.startswith("#!"):
            leading_end = number - 1
            break
    out: list[Directive] = []
    for number, column, text, pattern in _comments(source, path, lines):
        for match in pattern.finditer(text):
            file_wide = match.group(1) == "ignore-file"
            if file_wide and number > leading_end:
                continue  # only the leading comment block may hold file-wide directives
            raw = match.group(2) or ""
            codes = tuple(code.strip().upper() for code in raw.split(",") if code.strip())
            location = Location(path, number, column + match.start() + 1)
            out.append(Directive(location, codes, file_wide))
    return out


def _comments(source: str, path: str, lines: list[str]) -> Iterator[tuple[int, int, str, re.Pattern[str]]]:
    """(line, 0-based column, text, directive pattern) of every place a directive may sit."""
    if path.endswith(".py"):
        regions = _python_comments(source, path)
        if regions is not None:
            yield from regions
            return
    # SQL (and Python that does not tokenize): `--` comments; `#` only outside .sql files.
    pattern = (_SQL_DIRECTIVE if path.endswith(".sql")
               else _JS_DIRECTIVE if path.endswith(_JS_SUFFIXES) else _DIRECTIVE)
    for number, line in enumerate(lines, start=1):
        if "dbsafe:" in line:
            yield number, 0, line, pattern


def _python_comments(source: str, path: str) -> list[tuple[int, int, str, re.Pattern[str]]] | None:
    """`#` comments, and the lines of strings read as SQL (for their `--` comments).

    None when the source does not tokenize (then it yields no findings of its own either).
    """
    import io
    import tokenize

    from dbsafe.extract.python import sql_in_python

    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return None
    sql_lines: set[int] = set()
    for fragment in sql_in_python(source, path).fragments:
        last = max((line for _, line, _ in fragment.spans), default=fragment.line)
        sql_lines.update(range(fragment.line, last + 1))
    out: list[tuple[int, int, str, re.Pattern[str]]] = []
    for token in tokens:
        if "dbsafe:" not in token.string:
            continue
        (line, column) = token.start
        if token.type == tokenize.COMMENT:
            out.append((line, column, token.string, _DIRECTIVE))
        elif tokenize.tok_name[token.type] in ("STRING", "FSTRING_MIDDLE"):
            for index, text in enumerate(token.string.split("\n")):
                if line + index in sql_lines and "dbsafe:" in text:
                    out.append((line + index, column if index == 0 else 0, text, _SQL_DIRECTIVE))
    return out


def apply(
    findings: Sequence[Finding],
    read_source: Callable[[str], str | None],
    known_codes: Collection[str],
    *,
    scanned_paths: Collection[str] = (),
    checked_codes: Collection[str] | None = None,
    recoded: Mapping[Finding, str] | None = None,
    withheld: Sequence[Finding] = (),
) -> tuple[Finding, ...]:
    """Drop suppressed findings; report unused directives and unknown codes.

    Args:
        findings: What the command found.
        read_source: Returns a file's text by `Location.path`, or None if unreadable.
        known_codes: Every code dbsafe has (the catalog), for DBS003.
        scanned_paths: Every file the command looked at. Unused directives can only be
            found in files that were read, including those without findings.
        checked_codes: Codes this run could have reported (after rule selection). A
            directive for a code outside them is neither used nor unused: `validate`
            cannot tell whether a lint suppression is stale. Defaults to `known_codes`.
        recoded: A finding's code before the command recoded it (validate's DBS302 made
            DBS317 by the project's types): a directive naming either suppresses it.
        withheld: Findings the command left out, as not analysed (validate's of a test
            calling what only a Supabase seed file makes): a directive naming one is used,
            not stale (it silenced the finding before the command could tell).

    Returns:
        The remaining findings in their original order, then DBS003 and DBS002 findings
        sorted by location.
    """
    checked = set(known_codes if checked_codes is None else checked_codes)
    known = set(known_codes)
    paths = {f.location.path for f in (*findings, *withheld) if f.location is not None}
    paths.update(scanned_paths)
    tracked: dict[str, list[_Tracked]] = {}
    for path in sorted(paths):
        source = read_source(path)
        if source:
            tracked[path] = [_Tracked(d) for d in parse_directives(source, path)]
    kept: list[Finding] = []
    for finding in findings:
        if not _suppressed(finding, tracked, (recoded or {}).get(finding)):
            kept.append(finding)
    for finding in withheld:
        _suppressed(finding, tracked)
    extra: list[Finding] = []
    for entries in tracked.values():
        for entry in entries:
            extra.extend(_problems(entry, known, checked))
    extra.sort(key=lambda f: (f.location.path, f.location.line, f.location.column, f.code))  # type: ignore[union-attr]
    return (*kept, *extra)


def _suppressed(finding: Finding, tracked: dict[str, list[_Tracked]],
                recoded_from: str | None = None) -> bool:
    location = finding.location
    if location is None or finding.code in ("DBS002", "DBS003"):
        return False
    hit = False
    for entry in tracked.get(location.path, ()):
        named = [code for code in (finding.code, recoded_from)
                 if code is not None and _reaches(entry.directive, code, location)]
        if named:
            entry.used.update(named)
            hit = True
    return hit


def _reaches(directive: Directive, code: str, location: Location) -> bool:
    """Whether `directive` suppresses `code` at `location` (a line of its file)."""
    return code in directive.codes and (
        directive.file_wide or location.line - directive.location.line in (0, 1))


def suppressing(code: str, location: Location, source: str | None) -> Directive | None:
    """The directive of `source` (the text of the file at `location.path`) that suppresses
    `code` at `location`, if any. For a finding a command adds after it applied the
    suppressions (DBS615: the database's rows, asked once lint is done), which it drops
    when one is found; the directive's own problems (DBS002, DBS003) were said by that pass.

    Example:
        >>> source = "-- dbsafe: ignore[DBS615] fixed by hand\\nCREATE UNIQUE INDEX i ON t (a);"
        >>> suppressing("DBS615", Location("49.up.sql", 2), source).location.line
        1
        >>> suppressing("DBS101", Location("49.up.sql", 2), source) is None
        True
    """
    if not source:
        return None
    return next((d for d in parse_directives(source, location.path)
                 if _reaches(d, code, location)), None)


def _problems(entry: _Tracked, known: set[str], checked: set[str]) -> list[Finding]:
    directive = entry.directive
    if not directive.codes:
        return [
            Finding(
                UNKNOWN_SUPPRESSION_CODE.code,
                "Suppression names no code; blanket ignores are not supported.",
                UNKNOWN_SUPPRESSION_CODE.default_severity,
                directive.location,
                help="List the codes to ignore, e.g. `dbsafe: ignore[DBS301]`.",
            )
        ]
    out = []
    for code in directive.codes:
        if code not in known:
            out.append(
                Finding(
                    UNKNOWN_SUPPRESSION_CODE.code,
                    f"Suppression names unknown code `{code}`.",
                    UNKNOWN_SUPPRESSION_CODE.default_severity,
                    directive.location,
                    help="Fix the code or remove it; `dbsafe codes` lists them all.",
                )
            )
        elif code in checked and code not in entry.used:
            out.append(
                Finding(
                    UNUSED_SUPPRESSION.code,
                    f"Suppression of `{code}` matches no finding.",
                    UNUSED_SUPPRESSION.default_severity,
                    directive.location,
                    help="Remove the stale suppression.",
                )
            )
    return out

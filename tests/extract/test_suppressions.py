"""dbsafe: ignore[...] directives: parsing, applying, unused and unknown codes."""

from __future__ import annotations

from dbsafe.core import Finding, Location, Severity
from dbsafe.extract.suppressions import apply, parse_directives

KNOWN = {"DBS002", "DBS003", "DBS301", "DBS302", "DBS101"}
SQL = """\
-- header comment
-- dbsafe: ignore-file[DBS101] generated file
SELECT a FROM t; -- dbsafe: ignore[DBS301] legacy column
-- dbsafe: ignore[DBS302, DBS999]
SELECT b FROM u;
-- dbsafe: ignore[DBS302]
SELECT c FROM v;
-- dbsafe: ignore
"""
PY = '''\
Q = """
    SELECT x
    -- dbsafe: ignore[DBS302]
    FROM legacy_table
"""
'''
SOURCES = {"a.sql": SQL, "q.py": PY, "clean.sql": "-- dbsafe: ignore[DBS301]\nSELECT 1;\n"}


def _finding(code: str, path: str, line: int) -> Finding:
    return Finding(code, "m", Severity.ERROR, Location(path, line, 5))


def _apply(findings, **kwargs):
    return apply(findings, SOURCES.get, KNOWN, **kwargs)


def test_directive_parsing() -> None:
    directives = parse_directives(SQL, "a.sql")
    assert [(d.location.line, d.codes, d.file_wide) for d in directives] == [
        (2, ("DBS101",), True),
        (3, ("DBS301",), False),
        (4, ("DBS302", "DBS999"), False),
        (6, ("DBS302",), False),
        (8, (), False),
    ]
    assert directives[1].location.column == SQL.splitlines()[2].index("--") + 1


def test_ignore_file_outside_leading_block_is_not_file_wide() -> None:
    assert parse_directives("SELECT 1;\n-- dbsafe: ignore-file[DBS101]\n", "x.sql") == []


def test_same_line_line_above_and_file_wide_suppress() -> None:
    findings = [
        _finding("DBS301", "a.sql", 3),  # same line
        _finding("DBS302", "a.sql", 5),  # line above
        _finding("DBS101", "a.sql", 7),  # file-wide
        _finding("DBS301", "a.sql", 5),  # other code: kept
    ]
    result = _apply(findings)
    assert [f for f in result if f.code not in ("DBS002", "DBS003")] == [findings[3]]


def test_unused_and_unknown_codes_are_reported_at_the_directive() -> None:
    result = _apply([_finding("DBS302", "a.sql", 5)], scanned_paths=["a.sql", "clean.sql"])
    extra = sorted((f.code, f.location.path, f.location.line) for f in result)
    assert extra == [
        ("DBS002", "a.sql", 2),  # DBS101 file-wide, nothing found
        ("DBS002", "a.sql", 3),
        ("DBS002", "a.sql", 6),
        ("DBS002", "clean.sql", 1),  # no findings in the file, but it was scanned
        ("DBS003", "a.sql", 4),  # DBS999
        ("DBS003", "a.sql", 8),  # no codes at all
    ]


def test_codes_outside_the_run_are_not_called_unused() -> None:
    result = _apply([], scanned_paths=["clean.sql"], checked_codes={"DBS101"})
    assert result == ()


def test_sql_comment_inside_python_string_suppresses_next_line() -> None:
    finding = _finding("DBS302", "q.py", 4)
    assert _apply([finding], scanned_paths=["q.py"]) == ()


def test_findings_without_location_or_source_are_kept() -> None:
    database = Finding("DBS501", "m", Severity.ERROR)
    unreadable = _finding("DBS301", "missing.sql", 1)
    assert _apply([database, unreadable]) == (database, unreadable)


MENTIONS = '''\
"""Helpers. Silence a finding with `# dbsafe: ignore[DBS302]` on the line above."""

HELP = "append -- dbsafe: ignore[DBS301] to the query"


def f(cur):
    """Put `-- dbsafe: ignore[DBS302]` inside the SQL string."""
    cur.execute("""
        SELECT nickname
        -- dbsafe: ignore[DBS302] column lands next release
        FROM patients""")  # dbsafe: ignore[DBS301]
'''


def test_strings_that_merely_mention_a_directive_are_not_directives() -> None:
    directives = parse_directives(MENTIONS, "helpers.py")
    # Only the SQL comment inside the query and the Python comment count.
    assert [(d.location.line, d.location.column, d.codes) for d in directives] == [
        (10, 9, ("DBS302",)),
        (11, 28, ("DBS301",)),
    ]


def test_a_mention_in_a_docstring_is_not_reported_unused() -> None:
    result = apply([], {"helpers.py": MENTIONS}.get, KNOWN, scanned_paths=["helpers.py"],
                   checked_codes={"DBS302"})
    # The real DBS302 directive (line 10) is unused here; the docstring mentions are not.
    assert [(f.code, f.location.line) for f in result if f.location] == [("DBS002", 10)]


def test_a_python_comment_in_a_sql_file_is_not_a_directive() -> None:
    sql = "SELECT 1; # dbsafe: ignore[DBS301]\nSELECT 2; -- dbsafe: ignore[DBS302]\n"
    assert [d.location.line for d in parse_directives(sql, "q.sql")] == [2]


def test_directives_in_vue_and_svelte_components() -> None:
    # The script blocks' `//` comments, and an HTML comment heading the file for ignore-file.
    vue = ("<!-- dbsafe: ignore-file[DBS301] generated page -->\n"
           "<script setup lang=\"ts\">\n"
           "// dbsafe: ignore[DBS302] lands next release\n"
           "const q = supabase.from('t').select('nope')\n"
           "</script>\n")
    for path in ("Page.vue", "+page.svelte"):
        assert [(d.location.line, d.codes, d.file_wide)
                for d in parse_directives(vue, path)] == [
            (1, ("DBS301",), True), (3, ("DBS302",), False)]


def test_a_file_wide_directive_in_a_javascript_files_leading_comments() -> None:
    # `//` lines are a JS/TS file's leading comments (after a shebang), and an Astro
    # component's begin after its frontmatter's `---` fence; not after code.
    for path, text in [
        ("cli.ts", "#!/usr/bin/env node\n// generated\n// dbsafe: ignore-file[DBS301] x\n"),
        ("Page.astro", "---\n// dbsafe: ignore-file[DBS301] x\nconst a = 1\n---\n<p/>\n"),
    ]:
        assert [(d.codes, d.file_wide) for d in parse_directives(text, path)] == [
            (("DBS301",), True)], path
    assert parse_directives("const a = 1\n// dbsafe: ignore-file[DBS301]\n", "a.js") == []

"""Check the docs' relative links and finding codes: `python scripts/check_docs.py`.

- every relative link in README.md and docs/**/*.md names a file that exists, and its
  `#anchor` a heading (GitHub's slug) or an `<a id>` of that page;
- every code the docs name (`DBS302`) is one dbsafe has, apart from the ranges a project's
  own checks take (docs/checks.md); every code dbsafe has is in docs/codes.md.

Prints one line per problem and exits 1 when there is one; tests/test_docs_links.py runs it.
"""

from __future__ import annotations

import re
import sys
from functools import cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

_FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.MULTILINE)
_ANCHOR = re.compile(r"<a (?:id|name)=\"([^\"]+)\"")
_CODE = re.compile(r"\bDBS\d{3}\b")
# A project's own checks take DBS560-DBS599 (dbsafe/checks/loader.py); docs show examples.
_PROJECT_CHECK_CODES = range(549, 600)


def doc_files(root: Path = REPO_ROOT) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").rglob("*.md"))]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens.

    >>> slug("`dbsafe drift`")
    'dbsafe-drift'
    >>> slug("`setup-sql`: what the database gets before the first migration")
    'setup-sql-what-the-database-gets-before-the-first-migration'
    """
    text = re.sub(r"<[^>]+>", "", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@cache
def anchors(page: Path) -> frozenset[str]:
    text = page.read_text(encoding="utf-8")
    seen: dict[str, int] = {}
    found = set(_ANCHOR.findall(text))
    for match in _HEADING.finditer(_FENCE.sub("", text)):
        name = slug(match.group(1))
        count = seen.get(name, 0)
        seen[name] = count + 1
        found.add(name if count == 0 else f"{name}-{count}")  # GitHub numbers repeats
    return frozenset(found)


def link_problems(root: Path = REPO_ROOT) -> list[str]:
    problems = []
    for page in doc_files(root):
        prose = _INLINE_CODE.sub("", _FENCE.sub("", page.read_text(encoding="utf-8")))
        for target in _LINK.findall(prose):
            if re.match(r"[a-z]+:", target):
                continue  # https:, mailto:
            path, _, fragment = target.partition("#")
            linked = (page.parent / path).resolve() if path else page.resolve()
            where = page.relative_to(root)
            if not linked.exists():
                problems.append(f"{where}: link {target}: no such file")
            elif fragment and linked.suffix == ".md" and fragment not in anchors(linked):
                problems.append(f"{where}: link {target}: no such heading or anchor")
    return problems


def code_problems(root: Path = REPO_ROOT) -> list[str]:
    sys.path.insert(0, str(root))
    from dbsafe.commands import catalog

    codes = set(catalog())
    problems = []
    for page in doc_files(root):
        named = set(_CODE.findall(page.read_text(encoding="utf-8")))
        unknown = sorted(c for c in named - codes if int(c[3:]) not in _PROJECT_CHECK_CODES)
        problems += [f"{page.relative_to(root)}: {code} is no code of dbsafe's" for code in unknown]
    index = (root / "docs" / "codes.md").read_text(encoding="utf-8")
    problems += [f"docs/codes.md: {code} is missing" for code in sorted(codes - set(
        _CODE.findall(index)))]
    return problems


_DELIMITER_ROW = re.compile(r"\|(?:\s*:?-+:?\s*\|)+\s*")


def table_problems(root: Path = REPO_ROOT) -> list[str]:
    """Rows a table does not show as written: a `| ... |` line no header and `| --- |` row
    start, and a row's text wrapped onto a line of its own (GitHub makes it a row of one
    cell). docs/guard.md had both: a merge left four rows of the row preflight's table and
    a second copy of upgrade's `preflight` step after blank lines, shown as a paragraph of
    pipes (task 599)."""
    problems = []
    for page in doc_files(root):
        lines = page.read_text(encoding="utf-8").split("\n")
        fenced = in_table = False
        for number, line in enumerate(lines, 1):
            if line.lstrip().startswith("```"):
                fenced, in_table = not fenced, False
            elif fenced:
                continue
            elif line.startswith("|"):
                if _DELIMITER_ROW.fullmatch(line):
                    in_table = True
                elif not in_table and not (number < len(lines)
                                           and _DELIMITER_ROW.fullmatch(lines[number])):
                    problems.append(f"{page.relative_to(root)}:{number}: a table row outside "
                                    "any table (no header and `| --- |` row above it)")
            elif line.strip() and in_table:
                problems.append(f"{page.relative_to(root)}:{number}: a table row's text "
                                "wrapped onto a line of its own (join it to its row)")
            else:
                in_table = False
    return problems


def main() -> int:
    problems = link_problems() + code_problems() + table_problems()
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

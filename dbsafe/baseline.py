"""Baseline files: the findings a codebase already has, so that only new ones fail.

A large codebase adopts dbsafe the way ruff, mypy or Psalm users know: `dbsafe validate
--write-baseline FILE` records today's findings, and `--baseline FILE` drops those from later
runs. An entry is the finding's code, file, subject and message plus the text of the line it
points at (whitespace-normalised), never its line number: code moved by an edit above it
stays baselined, while the same mistake written again elsewhere is new. Each entry absorbs
as many findings as it recorded, no more.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from dbsafe.core import ConfigError, Finding
from dbsafe.files import write_text

VERSION = 1


def fingerprint(finding: Finding, line_text: str | None) -> str:
    """A stable identity for `finding` that does not depend on its line number.

    >>> from dbsafe.core import Location, Severity
    >>> f = Finding("DBS302", "`t` has no column `x`", Severity.ERROR, Location("a.ts", 3, 9))
    >>> fingerprint(f, "  select('x')") == fingerprint(f, "select('x')  ")
    True
    """
    location = finding.location
    parts = (
        finding.code,
        location.path if location else "",
        finding.subject or "",
        finding.message,
        " ".join((line_text or "").split()),
    )
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:20]


def write(path: Path, findings: Sequence[Finding], read_line: Callable[[Finding], str | None]) -> int:
    """Record `findings` in `path` (sorted, one entry per finding); returns how many."""
    entries = sorted(
        (
            {
                "code": f.code,
                "path": f.location.path if f.location else None,
                "subject": f.subject,
                "message": f.message,
                "fingerprint": fingerprint(f, read_line(f)),
            }
            for f in findings
        ),
        key=lambda e: (e["path"] or "", e["code"], e["fingerprint"]),
    )
    text = json.dumps({"version": VERSION, "findings": entries}, indent=2, sort_keys=True)
    try:
        write_text(path, text + "\n")
    except OSError as exc:
        raise ConfigError(f"cannot write baseline {path}: {exc.strerror or exc}") from None
    return len(entries)


def load(path: Path) -> Counter[str]:
    """The fingerprints a baseline file records, with how many findings each absorbs."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no baseline file {path}; create it with --write-baseline {path}") \
            from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read baseline {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise ConfigError(f"{path} is not a dbsafe baseline (version {VERSION})")
    try:
        return Counter(str(entry["fingerprint"]) for entry in data["findings"])
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: malformed baseline entry ({exc})") from None


def drop_known(findings: Iterable[Finding], known: Counter[str],
               read_line: Callable[[Finding], str | None]) -> tuple[list[Finding], int]:
    """The findings `known` does not absorb, and how many it did absorb."""
    remaining = Counter(known)
    kept: list[Finding] = []
    absorbed = 0
    for finding in findings:
        key = fingerprint(finding, read_line(finding))
        if remaining[key] > 0:
            remaining[key] -= 1
            absorbed += 1
        else:
            kept.append(finding)
    return kept, absorbed


def line_reader(root: Path) -> Callable[[Finding], str | None]:
    """Read the line a finding points at, from files under `root` (cached per file)."""
    cache: dict[str, list[str] | None] = {}

    def read(finding: Finding) -> str | None:
        location = finding.location
        if location is None:
            return None
        if location.path not in cache:
            try:
                text = (root / location.path).read_text(encoding="utf-8-sig", errors="replace")
                cache[location.path] = text.splitlines()
            except OSError:
                cache[location.path] = None
        lines = cache[location.path]
        if lines is None or not 0 < location.line <= len(lines):
            return None
        return lines[location.line - 1]

    return read

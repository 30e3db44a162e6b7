"""Value types shared by every dbsafe command, and the exception hierarchy.

Findings are data, never raised: a finding means "dbsafe did its job and has something to
report". A `DbsafeError` means "dbsafe could not do its job"; the CLI turns it into exit 2.
This module imports nothing from dbsafe.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

_T = TypeVar("_T")


class Severity(enum.Enum):
    """How bad a finding is. Values are the SARIF level names."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"

    @property
    def rank(self) -> int:
        return _RANKS[self.value]

    @classmethod
    def parse(cls, value: str) -> Severity:
        """Read a severity name as written in config or on the command line.

        >>> Severity.parse("Warning")
        <Severity.WARNING: 'warning'>
        """
        try:
            return cls(value.strip().lower())
        except ValueError:
            names = ", ".join(s.value for s in cls)
            raise ConfigError(f"unknown severity {value!r} (expected one of: {names})") from None


_RANKS = {"note": 0, "warning": 1, "error": 2}

# The schema dbsafe keeps its own records in (`dbsafe.history`, the refresh log): never the
# application's, so no comparison of schemas (diff, drift, verify-reversible) includes it.
OWN_SCHEMA = "dbsafe"


@dataclass(frozen=True, slots=True)
class Location:
    """A span in a source file. Lines and columns are 1-based; the end is inclusive."""

    path: str  # as given on the command line or relative to the project, POSIX separators
    line: int
    column: int = 1
    end_line: int | None = None
    end_column: int | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem dbsafe found."""

    code: str  # "DBS301": stable, never reused
    message: str  # what is wrong, naming the object in backticks
    severity: Severity
    location: Location | None = None  # None for findings about a live database
    subject: str | None = None  # schema object, e.g. "public.appointment_series.notes"
    help: str | None = None  # what to do instead, one imperative sentence
    context: tuple[tuple[str, str], ...] = ()  # titled detail blocks


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """Catalog entry for a code: used by --explain, docs and SARIF."""

    code: str
    name: str  # kebab-case, reads as "allow <name>"
    summary: str
    default_severity: Severity
    since: str


@dataclass(frozen=True, slots=True)
class Skipped:
    """Something dbsafe looked at but could not analyse (listed with --verbose)."""

    location: Location
    reason: str


@dataclass(frozen=True, slots=True)
class Report:
    """What a command returns: findings plus the counts its summary shows."""

    findings: tuple[Finding, ...] = ()
    summary: Mapping[str, object] = field(default_factory=dict)
    skipped: tuple[Skipped, ...] = ()
    # Headings for the text report, in order: (heading, how many of `findings`, taken in
    # their order, it covers). Empty: findings are listed sorted by location and code.
    groups: tuple[tuple[str, int], ...] = ()

    def fails(self, threshold: Severity) -> bool:
        return any(f.severity.rank >= threshold.rank for f in self.findings)


class DbsafeError(Exception):
    """dbsafe could not do its job (bad config, unreachable database, unreadable file).

    The CLI prints the message to stderr and exits with status 2.
    """


class ConfigError(DbsafeError):
    """Settings, a check header or a suppression comment is invalid."""


class SourceError(DbsafeError):
    """A source file, snapshot or revision script cannot be read or rendered."""


class DatabaseError(DbsafeError):
    """The database cannot be reached or refused an operation dbsafe needs."""

    sqlstate: str | None = None  # the server's, where one of its statements failed


def select_findings(
    findings: Iterable[Finding],
    *,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    severity: Mapping[str, Severity] | None = None,
    recoded: Mapping[Finding, str] | None = None,
) -> list[Finding]:
    """Apply `select`/`ignore` code prefixes (ruff-style) and per-code severity overrides.

    `recoded` maps a finding to its code before the command recoded it (validate's DBS302
    made DBS317 by the project's types): `select`/`ignore` naming either code reach it, as
    a suppression comment does; a severity override is the new code's own.

    >>> f = Finding("DBS302", "m", Severity.ERROR)
    >>> [x.code for x in select_findings([f], select=["DBS3"], ignore=["DBS30"])]
    []
    >>> select_findings([f], severity={"DBS302": Severity.NOTE})[0].severity
    <Severity.NOTE: 'note'>
    """
    kept = []
    for finding in findings:
        former = (recoded or {}).get(finding)
        codes = (finding.code,) if former is None else (finding.code, former)
        if select and not any(code.startswith(c.upper()) for c in select for code in codes):
            continue
        if any(code.startswith(c.upper()) for c in ignore for code in codes):
            continue
        override = (severity or {}).get(finding.code)
        kept.append(dataclasses.replace(finding, severity=override) if override else finding)
    return kept


def first_line(exc: BaseException) -> str:
    """An exception's message on one line (its type's name when it has none).

    >>> first_line(ValueError("bad input" + chr(10) + "more detail")), first_line(KeyError())
    ('bad input', 'KeyError')
    """
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def closest(wanted: str, known: Iterable[str], limit: int = 3) -> list[str]:
    """The `known` words nearest `wanted` by difflib's ratio (at least 0.6), ties to the most
    aligned; at most `limit`.

    >>> closest("tabel", ["table", "index", "column", "partitioned_table"])
    ['table']
    """
    import difflib

    ranked = []
    for word in set(known):
        ratio = difflib.SequenceMatcher(None, wanted, word).ratio()
        if ratio >= 0.6:
            aligned = sum(a == b for a, b in zip(wanted, word, strict=False))
            ranked.append((-round(ratio, 6), -aligned, word))
    return [word for *_, word in sorted(ranked)[:limit]]


def unknown_codes(unknown: Sequence[str], known: Iterable[str]) -> str:
    """`unknown` said each with the known codes closest to it (difflib), not the whole list
    (over a hundred codes), and where that list is.

    >>> unknown_codes(["DBS1O1"], ["DBS101", "DBS102", "DBS201", "DBS202", "DBS301"])
    "unknown code 'DBS1O1' (closest: DBS101, DBS102, DBS201); `dbsafe codes` lists them all"
    >>> unknown_codes(["X", "dbs2O1"], ["DBS101", "DBS201"])
    "unknown codes 'X', 'dbs2O1' (closest: DBS201, DBS101); `dbsafe codes` lists them all"
    """
    codes = set(known)

    def near(wanted: str) -> str:
        found = closest(wanted, codes)
        return f" (closest: {', '.join(found)})" if found else ""

    named = ", ".join(f"{code!r}{near(code.upper())}" for code in unknown)
    return f"unknown code{'s' if len(unknown) > 1 else ''} {named}; `dbsafe codes` lists them all"


def shortened(sql: str, limit: int) -> str:
    """`sql` on one line (its runs of blanks one space), cut to `limit` characters with "…".

    >>> shortened("SELECT a," + chr(10) + "   b FROM t", 20), shortened("SELECT a FROM t WHERE b", 12)
    ('SELECT a, b FROM t', 'SELECT a FR…')
    """
    text = " ".join(sql.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


# -- what the process may leave unfreed ---------------------------------------------------------

# A list once the console script arms it (`cli.run`); None in a library call or a test.
_HELD_UNTIL_EXIT: list[object] | None = None


def hold_until_exit(value: _T) -> _T:
    """`value`, kept until the process ends when the console script runs.

    `cli.run` ends the process without freeing its objects one by one: a 10,000-table
    snapshot is over a million of them, a tenth of a second to free, just before the memory
    goes back to the system anyway. Without the console script (a library call, a test) this
    returns `value` and keeps nothing.
    """
    if _HELD_UNTIL_EXIT is not None:
        _HELD_UNTIL_EXIT.append(value)
    return value


def hold_big_objects_until_exit() -> None:
    """Make `hold_until_exit` keep what it is given (`cli.run`, before the command runs)."""
    global _HELD_UNTIL_EXIT
    _HELD_UNTIL_EXIT = []

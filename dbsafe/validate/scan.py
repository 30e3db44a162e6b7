"""Run `validate` over source files: extract, resolve, confirm, cache, in parallel.

Per file: extract SQL fragments, resolve each against the snapshot (`dbsafe.validate.resolver`), and
turn problems into findings. Candidate findings are then confirmed by PostgreSQL when the
schema source lends a database. Results are cached per file, keyed by the file's path and
content, the schema fingerprint and the confirmation mode, so an unchanged re-run reads no
SQL at all. Files are analysed by one worker process per core when there are enough of them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dbsafe import __version__
from dbsafe.core import (
    Finding,
    Location,
    Report,
    RuleInfo,
    Severity,
    Skipped,
    SourceError,
    select_findings,
)
from dbsafe.extract.files import DEFAULT_MAX_BYTES, display_path

if TYPE_CHECKING:
    from dbsafe.config import Settings
    from dbsafe.extract.fragment import SqlFragment
    from dbsafe.schema.model import SchemaSnapshot
    from dbsafe.sources import SchemaSource

log = logging.getLogger(__name__)

# Below this many files to analyse, starting worker processes costs more than it saves.
_PARALLEL_THRESHOLD = 64
_CHUNK = 32
_CACHE_VERSION = 2
_COUNT_KEYS = ("statements", "statements_analysed", "statements_not_analysed",
               "statements_unparsed", "statements_ignored", "statements_dynamic")


@dataclass
class FileOutcome:
    """What one file produced. `candidates` still await confirmation by PostgreSQL."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    candidates: list[tuple[Finding, str]] = field(default_factory=list)  # (finding, sql)
    skipped: list[Skipped] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)


def scan(paths: Sequence[Path], source: SchemaSource, settings: Settings,
         catalog: dict[str, RuleInfo]) -> Report:
    """Validate the SQL in `paths` against `source`; see the module docstring."""
    from dbsafe.extract.files import discover, missing_paths, too_large
    from dbsafe.extract.suppressions import apply as apply_suppressions

    root = settings.project_root
    missing = missing_paths(paths)
    if missing:
        raise SourceError("no such file or directory: " + ", ".join(str(p) for p in missing))
    files = discover(list(paths), root=root, exclude=settings.exclude)
    if not files:
        log.warning("no .sql or .py files found in %s; nothing was validated",
                    ", ".join(str(p) for p in paths) or "no paths")
    confirming = settings.confirm and source.can_confirm
    cache = _Cache.open(settings, source.snapshot, confirming)

    outcomes: dict[str, FileOutcome] = {}
    keys: dict[str, str] = {}
    texts: dict[str, bytes] = {}
    misses: list[Path] = []
    missed: list[str] = []  # relative paths of `misses`, resolved once (Path.resolve is slow)
    for path in files:
        rel = display_path(path, root)
        try:
            size = path.stat().st_size
            # Too large to read at all: not even hashed for the cache.
            data = path.read_bytes() if size <= settings.max_file_size else None
        except OSError as exc:
            outcomes[rel] = _skipped_file(rel, f"cannot read: {exc.strerror}")
            continue
        if data is None:
            outcomes[rel] = _skipped_file(rel, too_large(size, settings.max_file_size))
            continue
        texts[rel] = data
        keys[rel] = hashlib.sha256(rel.encode() + b"\0" + data).hexdigest()
        cached = cache.get(keys[rel])
        if cached is not None:
            outcomes[rel] = cached
        else:
            misses.append(path)
            missed.append(rel)

    for outcome in _analyse_all(misses, root, source.snapshot, settings.jobs,
                                settings.max_file_size):
        outcomes[outcome.path] = outcome

    fresh = [outcomes[rel] for rel in missed]
    if confirming:
        _confirm(fresh, source, settings)
    else:
        for outcome in fresh:
            outcome.findings.extend(f for f, _ in outcome.candidates)
            outcome.candidates.clear()
    for outcome in fresh:
        if outcome.path in keys:
            cache.put(keys[outcome.path], outcome)
    cache.save()

    findings = [f for o in outcomes.values() for f in o.findings]
    findings = list(apply_suppressions(
        findings,
        read_source=lambda p: _decode(texts.get(p)),
        known_codes=catalog,
        scanned_paths=list(texts),
        checked_codes=[c for c in catalog if c.startswith(("DBS0", "DBS3"))],
    ))
    findings = select_findings(findings, select=settings.select, ignore=settings.ignore,
                               severity=settings.severity)
    counts: Counter = Counter()
    skipped: list[Skipped] = []
    skipped_files: list[str] = []
    for outcome in outcomes.values():
        counts.update(outcome.counts)
        skipped.extend(outcome.skipped)
        if outcome.counts.get("files_skipped") and outcome.skipped:
            skipped_files.append(f"{outcome.path} [{outcome.skipped[0].reason}]")
    if files and len(skipped_files) == len(files):
        log.warning("every source file was skipped; nothing was validated")
    summary: dict[str, object] = {"files": len(files)}
    summary.update({k: counts.get(k, 0) for k in _COUNT_KEYS})
    summary["files_skipped"] = counts.get("files_skipped", 0)
    summary["skipped_files"] = sorted(skipped_files)
    summary["confirmed_by_postgresql"] = confirming
    skipped.sort(key=lambda s: (s.location.path, s.location.line, s.location.column))
    return Report(tuple(findings), summary, tuple(skipped))


def _skipped_file(rel: str, reason: str) -> FileOutcome:
    return FileOutcome(rel, skipped=[Skipped(Location(rel, 1), reason)],
                       counts=Counter({"files_skipped": 1}))


def _decode(data: bytes | None) -> str | None:
    return data.decode("utf-8", "replace") if data is not None else None


# -- per-file analysis (runs in worker processes) ---------------------------------------------

_worker_snapshot: SchemaSnapshot | None = None
_RULES_BY_CODE: dict[str, RuleInfo] = {}


def _analyse_all(paths: list[Path], root: Path, snapshot: SchemaSnapshot,
                 jobs: int, max_bytes: int) -> list[FileOutcome]:
    global _worker_snapshot
    workers = jobs or os.cpu_count() or 1
    if workers <= 1 or len(paths) < _PARALLEL_THRESHOLD:
        return [analyse_file(p, root, snapshot, max_bytes=max_bytes) for p in paths]
    # fork: workers inherit the snapshot and the imported modules instead of re-importing.
    _worker_snapshot = snapshot
    chunks = [paths[i:i + _CHUNK] for i in range(0, len(paths), _CHUNK)]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        results = pool.map(_analyse_chunk, chunks, [root] * len(chunks),
                           [max_bytes] * len(chunks))
        return [outcome for chunk in results for outcome in chunk]


def _analyse_chunk(paths: list[Path], root: Path, max_bytes: int) -> list[FileOutcome]:
    assert _worker_snapshot is not None
    return [analyse_file(p, root, _worker_snapshot, max_bytes=max_bytes) for p in paths]


def analyse_file(path: Path, root: Path, snapshot: SchemaSnapshot, *,
                 max_bytes: int = DEFAULT_MAX_BYTES) -> FileOutcome:
    """Extract and resolve one file; problems become candidate findings."""
    from dbsafe.extract.files import extract_file
    from dbsafe.validate.resolver import created_relations

    extracted = extract_file(path, root=root, max_bytes=max_bytes)
    rel = display_path(path, root)
    outcome = FileOutcome(rel, skipped=list(extracted.skipped))
    if extracted.skipped and not extracted.fragments:
        outcome.counts["files_skipped"] += 1
    created: frozenset[str] = frozenset()
    for fragment in extracted.fragments:
        if not fragment.dynamic:
            created |= created_relations(fragment.sql)
        _analyse_fragment(fragment, snapshot, outcome, created)
    return outcome


def _rules_by_code() -> dict[str, RuleInfo]:
    from dbsafe.validate import resolver

    return {info.code: info for info in resolver.RULES}


def _analyse_fragment(fragment: SqlFragment, snapshot: SchemaSnapshot,
                      outcome: FileOutcome, created: frozenset[str] = frozenset()) -> None:
    from dbsafe.validate import resolver

    outcome.counts["statements"] += 1
    if fragment.dynamic:
        outcome.counts["statements_dynamic"] += 1
        outcome.findings.append(Finding(
            code=resolver.DYNAMIC_SQL.code,
            message=f"SQL built at run time is not validated: {fragment.dynamic}.",
            severity=resolver.DYNAMIC_SQL.default_severity,
            location=fragment.location(0),
            help="Pass values as query parameters, or build identifiers with psycopg.sql "
                 "and add `# dbsafe: ignore[DBS304]` if this is intended.",
        ))
        return
    global _RULES_BY_CODE
    if not _RULES_BY_CODE:
        _RULES_BY_CODE = _rules_by_code()
    try:
        resolution = resolver.resolve(fragment.sql, snapshot)
    except Exception as exc:  # resolve() guards itself; this is the last line of defence
        log.debug("resolving %r failed", fragment.sql, exc_info=True)
        resolution = resolver.Resolution(
            resolver.NOT_ANALYSED, reason=f"dbsafe failed on it: internal {type(exc).__name__}")
    problems = resolution.problems
    if created:
        # A relation this file created earlier (a temp or scratch table) exists at run time
        # with columns we cannot know: not a finding, and the statement is not analysed.
        kept = tuple(p for p in problems if not (
            p.code == resolver.UNKNOWN_TABLE.code and p.subject.rsplit(".", 1)[-1] in created))
        if len(kept) != len(problems):
            problems = kept
            resolution = resolver.Resolution(
                resolver.NOT_ANALYSED, kept,
                reason="uses a relation created earlier in this file")
    outcome.counts[f"statements_{resolution.status}"] += 1
    if resolution.status in ("not_analysed", "unparsed"):
        outcome.skipped.append(Skipped(fragment.location(0),
                                       f"{resolution.status.replace('_', ' ')}: {resolution.reason}"))
    for problem in problems:
        info = _RULES_BY_CODE[problem.code]
        finding = Finding(
            code=problem.code,
            message=problem.message,
            severity=info.default_severity,
            location=fragment.location(problem.start, problem.end),
            subject=problem.subject,
            help=problem.help,
        )
        outcome.candidates.append((finding, fragment.sql))


# -- confirmation by PostgreSQL ----------------------------------------------------------------


def _confirm(outcomes: list[FileOutcome], source: SchemaSource, settings: Settings) -> None:
    """Keep a candidate only if PostgreSQL rejects its statement as undefined table/column."""
    import dataclasses

    from dbsafe.validate.confirm import confirm

    pending = [(o, f, sql) for o in outcomes for f, sql in o.candidates]
    for outcome in outcomes:
        outcome.candidates = []
    if not pending:
        return
    statements = list(dict.fromkeys(sql for _, _, sql in pending))
    verdicts = dict(zip(statements, confirm(
        source.database(), statements, lock_timeout=settings.lock_timeout,
        statement_timeout=settings.statement_timeout)))
    for outcome, finding, sql in pending:
        verdict = verdicts[sql]
        if not verdict.rejected:
            log.info("PostgreSQL accepts %s:%s (%s); dropping the static finding",
                     finding.location.path if finding.location else "?",
                     finding.location.line if finding.location else "?",
                     verdict.message or "prepared fine")
            outcome.counts["findings_dropped_by_postgresql"] += 1
            continue
        context = finding.context + (("PostgreSQL", f"{verdict.sqlstate}: {verdict.message}"),)
        help_text = finding.help
        if verdict.hint and not help_text:
            help_text = verdict.hint
        outcome.findings.append(dataclasses.replace(finding, context=context, help=help_text))


# -- cache -------------------------------------------------------------------------------------


class _Cache:
    """Per-file outcomes in one JSON file per schema fingerprint and confirmation mode."""

    def __init__(self, path: Path | None, entries: dict[str, dict]) -> None:
        self.path = path
        self.entries = entries
        self.dirty = False

    @classmethod
    def open(cls, settings: Settings, snapshot: SchemaSnapshot, confirming: bool) -> _Cache:
        if not settings.use_cache:
            return cls(None, {})
        mode = "confirmed" if confirming else "static"
        name = f"validate-{__version__}-{snapshot.fingerprint()}-{mode}.json"
        path = settings.effective_cache_dir / name
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") == _CACHE_VERSION:
                return cls(path, data.get("files", {}))
        except (OSError, ValueError, AttributeError):
            pass
        return cls(path, {})

    def get(self, key: str) -> FileOutcome | None:
        entry = self.entries.get(key)
        if entry is None:
            return None
        try:
            return _outcome_from_json(entry)
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, key: str, outcome: FileOutcome) -> None:
        self.entries[key] = _outcome_to_json(outcome)
        self.dirty = True

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        from dbsafe.cache import write_cache_file

        write_cache_file(self.path, json.dumps({"version": _CACHE_VERSION,
                                                "files": self.entries}))


def _location_to_json(loc: Location | None) -> list | None:
    if loc is None:
        return None
    return [loc.path, loc.line, loc.column, loc.end_line, loc.end_column]


def _location_from_json(data: list | None) -> Location | None:
    return Location(*data) if data is not None else None


def _outcome_to_json(outcome: FileOutcome) -> dict:
    return {
        "path": outcome.path,
        "findings": [
            {"code": f.code, "message": f.message, "severity": f.severity.value,
             "location": _location_to_json(f.location), "subject": f.subject, "help": f.help,
             "context": [list(c) for c in f.context]}
            for f in outcome.findings
        ],
        "skipped": [[_location_to_json(s.location), s.reason] for s in outcome.skipped],
        "counts": dict(outcome.counts),
    }


def _outcome_from_json(data: dict) -> FileOutcome:
    findings = [
        Finding(code=f["code"], message=f["message"], severity=Severity(f["severity"]),
                location=_location_from_json(f["location"]), subject=f["subject"],
                help=f["help"], context=tuple(tuple(c) for c in f["context"]))
        for f in data["findings"]
    ]
    skipped = [Skipped(Location(*loc), reason) for loc, reason in data["skipped"]]
    return FileOutcome(data["path"], findings, [], skipped, Counter(data["counts"]))

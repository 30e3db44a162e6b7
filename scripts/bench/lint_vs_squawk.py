"""Compare `dbsafe lint` with squawk, rule by rule, and time both on a large alembic history.

Part 1, comparison. A corpus of migrations, each run through both tools as one file:

  squawk-docs       one Bad and one Good migration per squawk rule, reconstructed from the
                    rule descriptions (scripts/bench/lint_corpus/squawk.sql)
  strong-migrations the same for strong_migrations' checks (lint_corpus/strong_migrations.sql)
  dbsafe-docs       the ```sql blocks under "## Bad" / "## Good" of every rule module, read
                    at run time (rules are still landing: whatever imports now is used)
  dbsafe-fixture    tests/lint/fixtures/*.sql, each file one migration (statements after a
                    "-- not flagged" line are expected to pass)

squawk runs as `squawk --reporter json --pg-version 15 [--assume-in-transaction]` (the flag
only for dbsafe doc examples marked "-- in transaction"); dbsafe runs in-process through
`lint_sql(text, path=..., rules=<every default-enabled rule>, in_transaction=...)` with
its default target version (15). squawk findings are mapped to dbsafe codes with
`SQUAWK_TO_DBSAFE` below and compared statement by statement (case by case for the rules
about the whole migration, such as the timeout rules). Every disagreement is printed, then a
summary: agreements, disagreements by category, and for each squawk rule that fired
without dbsafe whether that is a known, deliberate difference (docs/lint-vs-squawk.md).

Part 2, speed. Generates an alembic project of N chained revisions (2-6 realistic op.*
calls each) in a temp dir, then times, each in a subprocess:

  (a) render   `alembic upgrade base:heads --sql` > rendered.sql
  (b) squawk   on rendered.sql
  (c) dbsafe   `python -m dbsafe lint rendered.sql`
  (d) dbsafe   `python -m dbsafe lint --alembic-config alembic.ini` (renders + lints)

Usage:
    /tmp/venv/bin/python scripts/bench/lint_vs_squawk.py                  # 500 revisions
    /tmp/venv/bin/python scripts/bench/lint_vs_squawk.py --revisions 100 --no-speed
    /tmp/venv/bin/python scripts/bench/lint_vs_squawk.py --no-compare

Needs the squawk binary: `pip install -e '.[bench]'` (squawk-cli) or --squawk PATH.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import pkgutil
import random
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "lint_corpus"
FIXTURES = ROOT / "tests" / "lint" / "fixtures"
PG_VERSION = "15"
PREAMBLE = "SET lock_timeout = '2s';\nSET statement_timeout = '5min';\n"
SEED = 20260822

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# squawk rule -> the dbsafe codes that cover it, or None (no counterpart) with the reason.
# A code that no loaded rule has yet is reported as "not landed", not as a dbsafe bug.
SQUAWK_TO_DBSAFE: dict[str, tuple[tuple[str, ...] | None, str]] = {
    # -- locking / blocking DDL (DBS1xx) --
    "require-concurrent-index-creation": (("DBS101",), "CREATE INDEX without CONCURRENTLY"),
    "ban-concurrent-index-creation-in-transaction": (("DBS102",), "CIC inside a transaction"),
    "require-concurrent-index-deletion": (("DBS103",), "DROP INDEX without CONCURRENTLY"),
    "require-concurrent-reindex": (("DBS104",), "REINDEX without CONCURRENTLY"),
    "require-concurrent-partition-detach": (("DBS105",), "DETACH PARTITION, not CONCURRENTLY"),
    "adding-foreign-key-constraint": (("DBS106",), "FK without NOT VALID"),
    # squawk also says this on ADD UNIQUE / PRIMARY KEY / EXCLUDE, which dbsafe reports as DBS111
    "constraint-missing-not-valid": (("DBS106", "DBS111"), "constraint without NOT VALID"),
    "adding-not-nullable-field": (("DBS107",), "SET NOT NULL scans under ACCESS EXCLUSIVE"),
    "adding-required-field": (("DBS108",), "NOT NULL column without default"),
    "adding-field-with-default": (("DBS109",), "volatile default / stored generated column"),
    "changing-column-type": (("DBS110",), "column type change rewrites the table"),
    "disallowed-unique-constraint": (("DBS111",), "ADD UNIQUE builds an index under lock"),
    "adding-serial-primary-key-field": (("DBS111",), "ADD PRIMARY KEY builds an index under lock"),
    "prefer-repack": (("DBS112",), "VACUUM FULL / CLUSTER"),
    "require-lock-timeout": (("DBS115",), "no lock_timeout before a locking statement"),
    "require-statement-timeout": (("DBS115",), "no statement_timeout before a slow statement"),
    "require-timeout-settings": (("DBS115",), "deprecated alias of the two timeout rules"),
    # -- destructive / backward-incompatible (DBS2xx) --
    "ban-drop-table": (("DBS201",), "DROP TABLE"),
    "ban-drop-column": (("DBS202",), "DROP COLUMN"),
    "renaming-column": (("DBS203",), "RENAME COLUMN"),
    "renaming-table": (("DBS204",), "RENAME TO"),
    "ban-truncate-cascade": (("DBS205",), "TRUNCATE ... CASCADE"),
    "renaming-object": (("DBS204",), "views/materialized views renamed (2.70 rule)"),
    "ban-alter-domain-with-add-constraint": (("DBS106",), "domain CHECK validates every column"),
    "identifier-too-long": (("DBS206",), "identifier over 63 bytes"),
    "ban-char-field": (("DBS207",), "char(n) column"),
    "prefer-timestamptz": (("DBS208",), "timestamp without time zone"),
    "prefer-timestamp-tz": (("DBS208",), "timestamp without time zone (2.70 spelling)"),
    "prefer-bigint-over-int": (("DBS209",), "int column (dbsafe: primary keys only)"),
    "prefer-bigint-over-smallint": (("DBS209",), "smallint column (dbsafe: primary keys only)"),
    "prefer-identity": (("DBS209",), "serial column (dbsafe: serial primary keys only)"),
    "syntax-error": (("DBS001",), "statement could not be parsed"),
    "ban-uncommitted-transaction": (("DBS136",), "BEGIN nothing commits (where the runner "
                                                 "does not wrap the file)"),
    "transaction-nesting": (("DBS138",), "COMMIT/ROLLBACK ending the runner's transaction"),
    # -- squawk rules without a dbsafe counterpart (deliberate; see docs/lint-vs-squawk.md) --
    "prefer-robust-stmts": (None, "idempotence is alembic_version's job; IF NOT EXISTS on "
                                  "CREATE INDEX CONCURRENTLY even hides an INVALID index "
                                  "left by a failed build"),
    "prefer-text-field": (None, "style; the lock risk (shrinking/changing varchar) is DBS110's"),
    "require-enum-value-ordering": (None, "appending an enum value is safe; order is style"),
    "ban-create-domain-with-constraint": (None, "creating a domain locks nothing"),
    "ban-drop-constraint": (None, "dropping a constraint is catalog-only and relaxes writes; "
                                  "DBS107's Good example drops its helper CHECK"),
    "ban-drop-default": (None, "catalog-only; breaks only inserts that omit a NOT NULL column "
                               "(not covered)"),
    "ban-duplicate-column-assignments": (None, "fails loudly when it runs; not a lock or a "
                                               "silent break"),
    "ban-drop-not-null": (None, "catalog-only and relaxing; the safe first step of dropping a "
                                "column (DBS202's Good example)"),
    "ban-drop-database": (None, "DBS201 documents DROP DATABASE as out of scope; no migration "
                                "runs it against the database it is connected to"),
    "require-table-schema": (None, "opt-in in squawk too; search_path is the project's choice"),
    "ban-drop-view": (None, "views hold no data; DBS201 documents DROP VIEW as out of scope"),
    "unused-ignore": (None, "about squawk's own ignore comments"),
}

# Statements whose locks block neither reads nor writes of an existing table.
_WEAK_LOCK = (r"(?is)\bCONCURRENTLY\b|\bVALIDATE\s+CONSTRAINT\b|^\s*(ANALYZE|VACUUM)\b(?!.*\bFULL\b)"
              r"|^\s*CREATE\s+(MATERIALIZED\s+VIEW|TABLE\b.*\bAS\b)|^\s*ALTER\s+TYPE\b")

# When a mapped dbsafe rule stays silent on purpose for part of what the squawk rule flags:
# rule -> reason, or (regex the statement must match, reason).
PARTIAL_COVERAGE: dict[str, str | tuple[str, str]] = {
    "renaming-object": (r"(?is)^\s*ALTER\s+(INDEX|SEQUENCE)\b|RENAME\s+CONSTRAINT",
                        "queries never name indexes, sequences or constraints"),
    "require-lock-timeout": (_WEAK_LOCK, "DBS115 skips SHARE UPDATE EXCLUSIVE and weaker "
                                         "locks on existing tables: waiting for them queues "
                                         "no reads or writes"),
    "require-statement-timeout": (_WEAK_LOCK, "DBS115 skips SHARE UPDATE EXCLUSIVE and weaker "
                                              "locks: they block no traffic while they run"),
    "prefer-bigint-over-int": "DBS209 flags integer primary keys only (where overflow stops "
                              "inserts); any other int column is a modelling choice",
    "prefer-bigint-over-smallint": "DBS209 flags smallint primary keys only",
    "prefer-identity": "DBS209 flags serial primary keys only, and for their int width; "
                       "bigserial is fine",
    "transaction-nesting": "a nested BEGIN is only a WARNING and the one COMMIT ends both: "
                           "DBS138 flags a COMMIT or ROLLBACK ending a runner's transaction",
}

# Rules about the migration as a whole: matched anywhere in the same case, not per statement.
MIGRATION_LEVEL = frozenset({"require-lock-timeout", "require-statement-timeout",
                             "require-timeout-settings", "ban-uncommitted-transaction",
                             "transaction-nesting"})

# (case, squawk rule or dbsafe code) pairs where the tools disagree on purpose, with why.
# Matched with fnmatch on "<source>/<case>".
KNOWN_STATEMENT_DIFFERENCES: list[tuple[str, str, str]] = [
    # e.g. ("strong-migrations/changing-column-type-*", "changing-column-type", "why"). Empty:
    # dbsafe's docs/fixtures ("Not flagged") and PARTIAL_COVERAGE explain every case today.
]


# -- rules at run time ---------------------------------------------------------------------


def load_rules(wait: float = 90.0) -> tuple[list, list[str]]:
    """Every rule module's RULE (registered in ALL_RULES or not), retrying while mid-edit."""
    deadline = time.monotonic() + wait
    while True:
        importlib.invalidate_caches()
        problems: list[str] = []
        registered: tuple = ()
        try:
            package = importlib.import_module("dbsafe.lint.rules")
            package = importlib.reload(package)
            registered = tuple(package.ALL_RULES)
        except Exception as exc:  # noqa: BLE001 - a helper may be editing __init__.py
            problems.append(f"dbsafe.lint.rules: {type(exc).__name__}: {exc}")
            package = sys.modules.get("dbsafe.lint.rules")
        found = {}
        for info in pkgutil.iter_modules(package.__path__):
            name = f"dbsafe.lint.rules.{info.name}"
            try:
                module = (importlib.reload(sys.modules[name]) if name in sys.modules
                          else importlib.import_module(name))
                found[info.name] = module.RULE
            except Exception as exc:  # noqa: BLE001 - report the module, keep going
                problems.append(f"{name}: {type(exc).__name__}: {exc}")
        if not problems or time.monotonic() > deadline:
            break
        print(f"  rule modules failed to import, retrying: {problems}", file=sys.stderr)
        time.sleep(5)
    codes = [r.code for r in registered]
    rules = {r.code: r for r in registered}
    unregistered = []
    for module, rule in sorted(found.items(), key=lambda kv: kv[1].code):
        if rule.code not in rules:
            rules[rule.code] = rule
            unregistered.append(f"{rule.code} ({module}.py is not in ALL_RULES)")
    del codes
    return list(rules.values()), problems + unregistered


# -- corpus --------------------------------------------------------------------------------


@dataclass
class Case:
    source: str  # squawk-docs | strong-migrations | dbsafe-docs | dbsafe-fixture
    name: str
    label: str  # bad | good | mixed
    sql: str
    in_transaction: bool = False
    good_from_line: int | None = None  # fixtures: statements from this line on must pass
    rule_code: str | None = None  # dbsafe docs/fixtures: the rule the case is about
    created: dict[int, set[str]] = field(default_factory=dict)  # line -> created before it

    @property
    def key(self) -> str:
        return f"{self.source}/{self.name} {self.label}"

    @property
    def filename(self) -> str:
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{self.name}.{self.label}")
        return f"{self.source}/{slug}.sql"


def corpus_file(path: Path, source: str) -> list[Case]:
    cases: list[Case] = []
    header: list[str] | None = None
    body: list[str] = []

    def flush() -> None:
        if header is None:
            return
        name, label, *flags = header
        text = "\n".join(body).strip() + "\n"
        if "no-preamble" not in flags:
            text = PREAMBLE + text
        cases.append(Case(source, name, label, text))

    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("-- case:"):
            flush()
            header, body = line[len("-- case:"):].split(), []
        elif header is not None:
            body.append(line)
    flush()
    return cases


def dbsafe_doc_cases(rules: list) -> tuple[list[Case], list[str]]:
    cases, problems = [], []
    for rule in rules:
        for heading in ("Bad", "Good"):
            match = re.search(rf"^## {heading}\n```sql\n(.*?)```", rule.doc, re.S | re.M)
            if not match:
                problems.append(f"{rule.code} docs lack a ```sql block under ## {heading}")
                continue
            sql = match.group(1)
            cases.append(Case("dbsafe-docs", f"{rule.code}-{rule.name}", heading.lower(), sql,
                              in_transaction="-- in transaction" in sql, rule_code=rule.code))
    return cases, problems


def fixture_cases() -> list[Case]:
    cases = []
    for path in sorted(FIXTURES.glob("*.sql")):
        text = path.read_text(encoding="utf-8")
        good_from = next((i for i, line in enumerate(text.splitlines(), 1)
                          if line.strip().lower().startswith("-- not flagged")), None)
        cases.append(Case("dbsafe-fixture", path.stem, "mixed", text,
                          good_from_line=good_from, rule_code=path.stem))
    return cases


# -- running both tools --------------------------------------------------------------------


@dataclass
class Stmt:
    line: int
    end_line: int
    sql: str
    squawk: set[str] = field(default_factory=set)
    dbsafe: set[str] = field(default_factory=set)


def statements_of(case: Case) -> list[Stmt]:
    from dbsafe.extract.sqlfile import split_sql

    out = []
    for fragment in split_sql(case.sql, case.filename):
        loc = fragment.location(0, len(fragment.sql))
        out.append(Stmt(loc.line, loc.end_line or loc.line, fragment.sql))
    return out


def _created_names(sql: str) -> set[str]:
    from dbsafe.lint.statement import parse_statement

    return set(parse_statement(sql).creates)


def statement_at(stmts: list[Stmt], line: int) -> Stmt | None:
    chosen = None
    for s in stmts:
        if s.line <= line:
            chosen = s
        if s.line <= line <= s.end_line:
            return s
    return chosen or (stmts[0] if stmts else None)


def find_squawk(explicit: str | None) -> str:
    candidates = [explicit] if explicit else [
        str(Path(sys.executable).parent / "squawk"), shutil.which("squawk")]
    for c in candidates:
        if c and Path(c).is_file():
            return c
    sys.exit("squawk not found: pip install 'squawk-cli>=2.60,<3' (the `bench` extra), "
             "or pass --squawk PATH")


def run_squawk(squawk: str, workdir: Path, files: list[str], in_txn: bool) -> list[dict]:
    if not files:
        return []
    cmd = [squawk, "--reporter", "json", "--pg-version", PG_VERSION,
           "--assume-in-transaction" if in_txn else "--no-assume-in-transaction", *files]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"squawk failed ({proc.returncode}): {proc.stderr[:2000]}")
    return json.loads(proc.stdout or "[]")


def compare(cases: list[Case], rules: list, squawk: str) -> dict:
    from dbsafe.lint import lint_sql

    known_codes = {r.code for r in rules} | {"DBS001"}
    workdir = Path(tempfile.mkdtemp(prefix="dbsafe-vs-squawk-"))
    by_file: dict[str, Case] = {}
    for case in cases:
        target = workdir / case.filename
        target.parent.mkdir(parents=True, exist_ok=True)
        n = 2
        while case.filename in by_file:  # same name twice: keep both
            case.name = f"{case.name}-{n}"
            target = workdir / case.filename
            n += 1
        target.write_text(case.sql, encoding="utf-8")
        by_file[case.filename] = case
    squawk_out = (
        run_squawk(squawk, workdir, [c.filename for c in cases if not c.in_transaction], False)
        + run_squawk(squawk, workdir, [c.filename for c in cases if c.in_transaction], True))

    stmts: dict[str, list[Stmt]] = {c.filename: statements_of(c) for c in cases}
    for case in cases:
        created: set[str] = set()
        for s in stmts[case.filename]:
            case.created[s.line] = set(created)
            created |= _created_names(s.sql)
    squawk_fired: Counter = Counter()
    for item in squawk_out:
        case = by_file.get(item["file"]) or by_file.get(os.path.relpath(item["file"], workdir))
        if case is None:
            continue
        s = statement_at(stmts[case.filename], int(item["line"]) + 1)  # squawk lines: 0-based
        if s is not None:
            s.squawk.add(item["rule_name"])
            squawk_fired[item["rule_name"]] += 1
    crashes = []
    for case in cases:
        try:
            findings = lint_sql(case.sql, path=case.filename, rules=rules,
                                in_transaction=case.in_transaction)
        except Exception as exc:  # noqa: BLE001 - a crash is a result to report
            crashes.append((case, f"{type(exc).__name__}: {exc}",
                            traceback.format_exc(limit=-3)))
            continue
        for f in findings:
            s = statement_at(stmts[case.filename], f.location.line)
            if s is not None:
                s.dbsafe.add(f.code)
    shutil.rmtree(workdir, ignore_errors=True)

    image = {code for codes, _ in SQUAWK_TO_DBSAFE.values() if codes for code in codes}
    results = {"agree": 0, "agree_clean": 0, "statements": 0, "rows": [], "crashes": crashes,
               "squawk_fired": squawk_fired, "known_codes": known_codes}
    for case in cases:
        case_stmts = stmts[case.filename]
        case_db = set().union(*(s.dbsafe for s in case_stmts)) if case_stmts else set()
        case_sq = set().union(*(s.squawk for s in case_stmts)) if case_stmts else set()
        for s in case_stmts:
            results["statements"] += 1
            if not s.squawk and not s.dbsafe:
                results["agree_clean"] += 1
                continue
            matched_codes: set[str] = set()
            for rule in sorted(s.squawk):
                codes, reason = SQUAWK_TO_DBSAFE.get(rule, (None, "unmapped squawk rule"))
                if rule not in SQUAWK_TO_DBSAFE:
                    results["rows"].append(_row("squawk-only: rule not in the mapping", case,
                                                s, rule, None, "add it to SQUAWK_TO_DBSAFE"))
                    continue
                if codes is None:
                    results["rows"].append(_row("squawk-only: no dbsafe counterpart", case, s,
                                                rule, None, reason))
                    continue
                pool = case_db if rule in MIGRATION_LEVEL else s.dbsafe
                hit = set(codes) & pool
                if hit:
                    results["agree"] += 1
                    matched_codes |= hit
                    continue
                known = (_known_difference(case, rule) or _partial(rule, s.sql)
                         or _documented_pass(case, s, codes) or _created_here(case, s))
                if known:
                    results["rows"].append(_row("squawk-only: deliberate", case, s, rule,
                                                None, known))
                elif not set(codes) & known_codes:
                    results["rows"].append(_row("squawk-only: dbsafe rule not landed", case, s,
                                                rule, None, f"mapped to {'/'.join(codes)}"))
                else:
                    results["rows"].append(_row("squawk-only: dbsafe silent", case, s, rule,
                                                None, f"mapped to {'/'.join(codes)}"))
            for code in sorted(s.dbsafe - matched_codes):
                sq_for_code = {r for r, (codes, _) in SQUAWK_TO_DBSAFE.items()
                               if codes and code in codes}
                if sq_for_code & {r for r in case_sq if r in MIGRATION_LEVEL}:
                    continue  # matched at migration level
                known = _known_difference(case, code)
                if known:
                    category, note = "dbsafe-only: deliberate", known
                elif code in image:
                    category = "dbsafe-only: squawk has the rule but stayed silent"
                    note = f"squawk: {', '.join(sorted(sq_for_code))}"
                else:
                    category, note = "dbsafe-only: no squawk counterpart", ""
                results["rows"].append(_row(category, case, s, None, code, note))
    return results


def _partial(rule: str, sql: str) -> str | None:
    entry = PARTIAL_COVERAGE.get(rule)
    if isinstance(entry, tuple):
        return entry[1] if re.search(entry[0], sql) else None
    return entry


def _documented_pass(case: Case, s: Stmt, codes: tuple[str, ...]) -> str | None:
    """dbsafe's own docs/fixture say this statement is not flagged by this very rule."""
    if case.rule_code not in codes or _expected(case, s) != "good":
        return None
    lines = case.sql.splitlines()[: s.line - 1]
    comment = []
    for line in reversed(lines):
        if not line.strip().startswith("--"):
            break
        comment.insert(0, line.strip().lstrip("-").strip())
    why = " ".join(c for c in comment if c.lower() not in ("not flagged", ""))
    return f"{case.rule_code} documents it as not flagged" + (f": {why}" if why else "")


def _created_here(case: Case, s: Stmt) -> str | None:
    """The statement's relation was created earlier in the same migration."""
    words = {w.lower().strip('"') for w in re.findall(r'[\w."]+', s.sql)}
    for name in case.created.get(s.line, ()):
        if name in words or name.rsplit(".", 1)[-1] in words:
            return f"`{name}` is created earlier in this migration (squawk lacks that " \
                   "context: sbdchd/squawk#349)"
    return None


def _expected(case: Case, s: Stmt) -> str:
    if case.good_from_line is not None:
        return "good" if s.line >= case.good_from_line else "bad"
    return case.label


def _reason_kind(note: str) -> str:
    if "documents it as not flagged" in note:
        return "dbsafe rule documents it as not flagged"
    if "created earlier in this migration" in note:
        return "object created earlier in the migration"
    return _short(note, 70)


def _known_difference(case: Case, rule_or_code: str) -> str | None:
    from fnmatch import fnmatch

    for pattern, what, reason in KNOWN_STATEMENT_DIFFERENCES:
        if what == rule_or_code and (fnmatch(case.key, pattern)
                                     or fnmatch(f"{case.source}/{case.name}", pattern)):
            return reason
    return None


def _row(category: str, case: Case, s: Stmt, rule: str | None, code: str | None,
         note: str) -> dict:
    expected = _expected(case, s)
    if case.rule_code:
        mapped = SQUAWK_TO_DBSAFE.get(rule or "", (None, ""))[0] or ()
        if case.rule_code not in (*mapped, code):
            expected = "n/a"  # the case is about another rule
    return {"category": category, "case": case.key, "line": s.line, "sql": s.sql,
            "squawk": sorted(s.squawk), "dbsafe": sorted(s.dbsafe), "rule": rule,
            "code": code, "note": note, "expected": expected}


def _short(sql: str, limit: int = 110) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Disagreements printed grouped by rule (one line per case) rather than one block each.
COMPACT = ("squawk-only: no dbsafe counterpart", "squawk-only: dbsafe rule not landed")


def report_comparison(results: dict, cases: list[Case], rules: list, notes: list[str]) -> None:
    print(f"dbsafe rules loaded: {len(rules)} ({', '.join(r.code for r in rules)})")
    for note in notes:
        print(f"  note: {note}")
    by_source = Counter(c.source for c in cases)
    print(f"corpus: {len(cases)} cases ({', '.join(f'{k} {v}' for k, v in by_source.items())}),"
          f" {results['statements']} statements")
    for case, error, tb in results["crashes"]:
        print(f"\n!! dbsafe crashed on {case.key}: {error}\n{tb}")
    rows = results["rows"]
    order = ["squawk-only: dbsafe silent", "dbsafe-only: squawk has the rule but stayed silent",
             "dbsafe-only: no squawk counterpart", "squawk-only: rule not in the mapping",
             "squawk-only: dbsafe rule not landed", "squawk-only: deliberate",
             "dbsafe-only: deliberate", "squawk-only: no dbsafe counterpart"]
    grouped = defaultdict(list)
    for row in rows:
        grouped[row["category"]].append(row)
    print("\n== Disagreements (every one; squawk/dbsafe show all findings on the statement)")
    for category in order:
        items = grouped.get(category, [])
        if not items:
            continue
        print(f"\n-- {category} ({len(items)})")
        if category in COMPACT:
            by_rule = defaultdict(list)
            for r in items:
                by_rule[r["rule"]].append(r)
            for rule, rs in sorted(by_rule.items()):
                print(f"  {rule} ({len(rs)}): {rs[0]['note']}")
                where = [f"{r['case']} L{r['line']}" for r in rs]
                print(textwrap.fill("; ".join(where), 118, initial_indent="      ",
                                    subsequent_indent="      "))
            continue
        for r in items:
            what = r["rule"] or r["code"]
            print(f"  [{r['case']}] L{r['line']} (expected {r['expected']}) {what}: "
                  f"{_short(r['sql'])}")
            print(f"      squawk says {', '.join(r['squawk']) or '-'}; "
                  f"dbsafe says {', '.join(r['dbsafe']) or '-'}"
                  + (f"  ({r['note']})" if r["note"] else ""))

    print("\n== Summary")
    total = results["agree"] + results["agree_clean"] + len(rows)
    print(f"  statements compared: {results['statements']}")
    print(f"  agreements: {results['agree'] + results['agree_clean']} "
          f"({results['agree']} squawk findings matched by dbsafe, "
          f"{results['agree_clean']} statements neither flags)")
    print(f"  disagreements: {len(rows)} of {total} verdicts")
    for category in order:
        if grouped.get(category):
            print(f"    {category:55} {len(grouped[category]):4}")
    print("\n  squawk-only rules (fired where dbsafe had no matching finding):")
    per_rule = Counter(r["rule"] for r in rows if r["rule"])
    for rule, count in sorted(per_rule.items()):
        codes, reason = SQUAWK_TO_DBSAFE.get(rule, (None, "NOT IN THE MAPPING"))
        silent = sum(1 for r in rows if r["rule"] == rule
                     and r["category"] == "squawk-only: dbsafe silent")
        if codes is None:
            verdict = f"deliberate: {reason}"
        elif silent:
            verdict = f"NOT deliberate ({silent}x dbsafe silent; mapped to {'/'.join(codes)})"
        elif any(r["rule"] == rule and r["category"].endswith("not landed") for r in rows):
            verdict = f"pending: {'/'.join(codes)} not landed yet"
        else:
            kinds = Counter(_reason_kind(r["note"]) for r in rows if r["rule"] == rule)
            verdict = "deliberate: " + "; ".join(f"{k} {n}x" for k, n in kinds.most_common())
        print(f"    {rule:46} {count:3}  {verdict}")
    dbsafe_only = Counter(r["code"] for r in rows if r["code"])
    if dbsafe_only:
        print("\n  dbsafe-only codes:")
        for code, count in sorted(dbsafe_only.items()):
            cats = Counter(r["category"] for r in rows if r["code"] == code)
            print(f"    {code:8} {count:3}  {', '.join(f'{k} {v}' for k, v in cats.items())}")
    never = sorted(r for r in SQUAWK_TO_DBSAFE if r not in results["squawk_fired"])
    print(f"\n  squawk rules in the mapping that never fired on the corpus: {', '.join(never)}")
    bugs = [r for r in rows if r["category"] == "squawk-only: dbsafe silent"
            or (r["category"].startswith("dbsafe-only") and r["expected"] == "good")]
    print(f"\n== Looks like a dbsafe bug (review): {len(bugs)}")
    for r in bugs:
        what = r["rule"] or r["code"]
        print(f"  [{r['case']}] L{r['line']} {what}: {_short(r['sql'], 90)}  "
              f"(squawk {', '.join(r['squawk']) or '-'}; dbsafe {', '.join(r['dbsafe']) or '-'})")


# -- speed: a generated alembic history ----------------------------------------------------

_TYPES = [("sa.Text()", "text"), ("sa.BigInteger()", "bigint"), ("sa.Boolean()", "boolean"),
          ("sa.DateTime(timezone=True)", "timestamptz"), ("sa.Numeric(12, 2)", "numeric"),
          ("postgresql.JSONB()", "jsonb"), ("sa.String(200)", "varchar")]
_NOUNS = ["customer", "order", "invoice", "payment", "shipment", "product", "warehouse",
          "supplier", "refund", "coupon", "review", "address", "session", "event", "ticket",
          "clinic", "patient", "doctor", "appointment", "room", "account", "team", "project"]


def generate_project(root: Path, revisions: int, seed: int = SEED) -> Path:
    """An alembic project with `revisions` chained revisions of 2-6 op.* calls each."""
    rng = random.Random(seed)
    (root / "migrations" / "versions").mkdir(parents=True)
    shutil.copy(ROOT / "migrations" / "env.py", root / "migrations" / "env.py")
    shutil.copy(ROOT / "migrations" / "script.py.mako", root / "migrations" / "script.py.mako")
    ini = (ROOT / "alembic.ini").read_text(encoding="utf-8")
    (root / "alembic.ini").write_text(ini, encoding="utf-8")
    tables: dict[str, list[tuple[str, str]]] = {}  # name -> [(column, kind)]
    added: list[tuple[str, str]] = []  # droppable columns
    indexes: set[str] = set()
    previous = None
    for i in range(1, revisions + 1):
        rev = f"{rng.getrandbits(48):012x}"
        ops: list[str] = []
        downs: list[str] = []
        for _ in range(rng.randint(2, 6)):
            kind = rng.choices(
                ["create_table", "add_column", "create_index", "create_index_cc", "execute",
                 "drop_column", "alter_column", "foreign_key"],
                weights=[4 if len(tables) < 8 else 1, 6, 3, 3, 3, 1, 2, 1])[0]
            if kind != "create_table" and not tables:
                kind = "create_table"
            if kind == "create_table":
                name = f"{rng.choice(_NOUNS)}_{i}_{len(ops)}"
                cols = [("id", "bigint")]
                lines = ['sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True)']
                for c in range(rng.randint(2, 6)):
                    satype, k = rng.choice(_TYPES)
                    col = f"{rng.choice(_NOUNS)}_{k}_{c}"
                    cols.append((col, k))
                    lines.append(f'sa.Column("{col}", {satype}, nullable={rng.random() < 0.7})')
                lines.append('sa.Column("created_at", sa.DateTime(timezone=True), '
                             'server_default=sa.func.now(), nullable=False)')
                tables[name] = cols
                body = ",\n        ".join(lines)
                ops.append(f'op.create_table(\n        "{name}",\n        {body},\n    )')
                downs.append(f'op.drop_table("{name}")')
            elif kind == "add_column":
                table = rng.choice(list(tables))
                satype, k = rng.choice(_TYPES)
                col = f"{rng.choice(_NOUNS)}_{k}_{i}_{len(ops)}"
                default = ', server_default="0"' if k == "bigint" and rng.random() < 0.3 else ""
                ops.append(f'op.add_column("{table}", sa.Column("{col}", {satype}, '
                           f'nullable=True{default}))')
                downs.append(f'op.drop_column("{table}", "{col}")')
                tables[table].append((col, k))
                added.append((table, col))
            elif kind in ("create_index", "create_index_cc"):
                table = rng.choice(list(tables))
                col = rng.choice(tables[table])[0]
                name = f"ix_{table}_{col}"[:55] + f"_{i}{len(ops)}"
                if name in indexes:
                    continue
                indexes.add(name)
                if kind == "create_index":
                    ops.append(f'op.create_index("{name}", "{table}", ["{col}"])')
                else:
                    ops.append("with op.get_context().autocommit_block():\n"
                               f'        op.create_index("{name}", "{table}", ["{col}"], '
                               "postgresql_concurrently=True)")
                downs.append(f'op.drop_index("{name}", table_name="{table}")')
            elif kind == "execute":
                table = rng.choice(list(tables))
                col, k = rng.choice(tables[table])
                sql = rng.choice([
                    f"UPDATE {table} SET {col} = NULL WHERE id < 0",
                    f"ALTER TABLE {table} ADD CONSTRAINT ck_{table}_{i}_{len(ops)} "
                    f"CHECK (id > 0) NOT VALID",
                    f"COMMENT ON TABLE {table} IS 'revision {i}'",
                    f"ANALYZE {table}",
                ])
                ops.append(f'op.execute("{sql}")')
            elif kind == "drop_column":
                if not added:
                    continue
                table, col = added.pop(rng.randrange(len(added)))
                if col in [c for c, _ in tables[table]]:
                    tables[table] = [(c, k) for c, k in tables[table] if c != col]
                    ops.append(f'op.drop_column("{table}", "{col}")')
            elif kind == "alter_column":
                table = rng.choice(list(tables))
                choices = [(c, k) for c, k in tables[table] if c != "id"]
                if not choices:
                    continue
                col, k = rng.choice(choices)
                satype = dict((kk, st) for st, kk in _TYPES)[k]
                ops.append(rng.choice([
                    f'op.alter_column("{table}", "{col}", existing_type={satype}, '
                    f"nullable=False)",
                    f'op.alter_column("{table}", "{col}", existing_type={satype}, '
                    f"nullable=True)",
                    f'op.alter_column("{table}", "{col}", existing_type={satype}, '
                    f'comment="revision {i}")',
                ]))
            elif kind == "foreign_key":
                if len(tables) < 2:
                    continue
                child, parent = rng.sample(list(tables), 2)
                col = f"{parent.split('_')[0]}_id_{i}_{len(ops)}"
                ops.append(f'op.add_column("{child}", sa.Column("{col}", sa.BigInteger(), '
                           "nullable=True))")
                ops.append(f'op.create_foreign_key("fk_{child}_{col}"[:63], "{child}", '
                           f'"{parent}", ["{col}"], ["id"])')
                tables[child].append((col, "bigint"))
        if not ops:
            ops.append('op.execute("SELECT 1")')
        header = (f'"""revision {i}\n\nRevision ID: {rev}\nRevises: {previous or ""}\n"""\n\n'
                  "import sqlalchemy as sa\nfrom alembic import op\n"
                  + "from sqlalchemy.dialects import postgresql\n"
                  + f'\nrevision = "{rev}"\ndown_revision = {previous!r}\n'
                  "branch_labels = None\ndepends_on = None\n\n\n")
        up = "\n    ".join(ops)
        down = "\n    ".join(reversed(downs)) or "pass"
        text = f"{header}def upgrade() -> None:\n    {up}\n\n\ndef downgrade() -> None:\n    {down}\n"
        (root / "migrations" / "versions" / f"{i:04d}_{rev}.py").write_text(text, "utf-8")
        previous = rev
    return root / "alembic.ini"


def _timed(cmd: list[str], cwd: Path, stdout_path: Path | None = None,
           ok: tuple[int, ...] = (0, 1)) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode not in ok:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    if stdout_path is not None:
        stdout_path.write_text(proc.stdout, encoding="utf-8")
    return elapsed, proc.stdout


def speed(revisions: int, squawk: str, keep: bool) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="dbsafe-lint-bench-"))
    try:
        ini = generate_project(tmp, revisions)
        ops = sum(len(re.findall(r"^\s+op\.(?!get_context)", p.read_text().split("def downgrade")[0],
                                 re.M))
                  for p in (tmp / "migrations" / "versions").glob("*.py"))
        py = sys.executable
        env_cmd = [py, "-m", "alembic", "-c", str(ini), "upgrade", "base:heads", "--sql"]
        rendered = tmp / "rendered.sql"
        t_render, _ = _timed(env_cmd, tmp, rendered, ok=(0,))
        t_squawk, sq_out = _timed([squawk, "--reporter", "json", "--pg-version", PG_VERSION,
                                   "--no-assume-in-transaction", str(rendered)], tmp)
        t_dbsafe_sql, db_sql_out = _timed(
            [py, "-m", "dbsafe", "lint", str(rendered), "--format", "json",
             "--target-version", PG_VERSION], tmp)
        t_dbsafe_py, db_py_out = _timed(
            # --offline: (d) compares rendering + lint with squawk on the same rendered SQL;
            # scripts/bench/lint_history.py times the default (captured on a throwaway).
            [py, "-m", "dbsafe", "lint", "--alembic-config", str(ini), "--format", "json",
             "--target-version", PG_VERSION, "--offline"], tmp)
        statements = len(re.findall(r";\s*$", rendered.read_text(), re.M))
        sq_n = len(json.loads(sq_out or "[]"))

        def count(out: str) -> str:
            try:
                data = json.loads(out)
            except ValueError:
                return "?"
            findings = data.get("findings", data) if isinstance(data, dict) else data
            return str(len(findings))

        print(f"\n== Speed: {revisions} revisions, ~{ops} op.* calls, "
              f"{statements} rendered statements ({rendered.stat().st_size // 1024} KiB SQL)")
        rows = [
            ("(a) alembic upgrade base:heads --sql (render only)", t_render, "-"),
            ("(b) squawk rendered.sql", t_squawk, str(sq_n)),
            ("(c) python -m dbsafe lint rendered.sql", t_dbsafe_sql, count(db_sql_out)),
            ("(d) python -m dbsafe lint --alembic-config (render + lint)", t_dbsafe_py,
             count(db_py_out)),
        ]
        print(f"  {'step':62} {'seconds':>8} {'findings':>9} {'x squawk':>9} {'x render':>9}")
        for label, t, n in rows:
            print(f"  {label:62} {t:8.2f} {n:>9} {t / t_squawk:9.1f} {t / t_render:9.2f}")
        print(f"  (d) - (a): lint cost on top of rendering ~ {t_dbsafe_py - t_render:.2f} s; "
              f"per revision {1000 * t_dbsafe_py / revisions:.1f} ms")
        print("  note: (c) lints the rendered file as ONE migration, so every table created "
              "earlier in the file is exempt (fewer findings); (d) lints each revision")
        verdict = "OK" if t_dbsafe_py < 10 else "MISSED"
        print(f"  target: lint {revisions} revisions (d) under 10 s: {verdict} "
              f"({t_dbsafe_py:.2f} s)")
        if keep:
            print(f"  kept: {tmp}")
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revisions", type=int, default=500,
                        help="revisions in the generated alembic history (default 500)")
    parser.add_argument("--squawk", help="path of the squawk binary")
    parser.add_argument("--no-compare", action="store_true", help="skip the comparison")
    parser.add_argument("--no-speed", action="store_true", help="skip the timing")
    parser.add_argument("--keep", action="store_true", help="keep the generated project")
    args = parser.parse_args()
    squawk = find_squawk(args.squawk)
    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # "Falling back to ... Command"
    version = subprocess.run([squawk, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"{version}; dbsafe at {ROOT}; target PostgreSQL {PG_VERSION}")
    if not args.no_compare:
        rules, notes = load_rules()
        rules = [r for r in rules if r.default_enabled]
        cases = corpus_file(CORPUS / "squawk.sql", "squawk-docs")
        cases += corpus_file(CORPUS / "strong_migrations.sql", "strong-migrations")
        doc_cases, doc_notes = dbsafe_doc_cases(rules)
        cases += doc_cases + fixture_cases()
        results = compare(cases, rules, squawk)
        report_comparison(results, cases, rules, notes + doc_notes)
    if not args.no_speed:
        speed(args.revisions, squawk, args.keep)


if __name__ == "__main__":
    main()

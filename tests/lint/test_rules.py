"""Every rule: its fixture gives the committed findings, its docs' Bad/Good examples hold."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import re
from pathlib import Path
from typing import Any

import pytest

from dbsafe.core import Report
from dbsafe.lint import lint_sql
from dbsafe.lint import rules as rules_package
from dbsafe.lint.engine import Rule
from dbsafe.lint.rules import ALL_RULES
from dbsafe.report import render_text
from tests.helpers import assert_snapshot

FIXTURES = Path(__file__).parent / "fixtures"


def _flagged(flag: str) -> frozenset[str]:
    """Codes of rules whose module sets `flag` (`ALEMBIC_ONLY`, `DATABASE_ONLY`): no SQL
    alone can trigger them.

    They get a scenario test of their own (revision files, or a database's schema), not the
    SQL fixture and the ```sql doc-example tests below.
    """
    codes = set()
    for info in pkgutil.iter_modules(rules_package.__path__):
        module = importlib.import_module(f"dbsafe.lint.rules.{info.name}")
        if getattr(module, flag, False):
            codes.add(module.RULE.code)
    return frozenset(codes)


ALEMBIC_ONLY = _flagged("ALEMBIC_ONLY")
DATABASE_ONLY = _flagged("DATABASE_ONLY")


def doc_examples(rule: Rule) -> tuple[str, str]:
    """The ```sql blocks under "## Bad" and "## Good" of the rule's docs."""
    def block(heading: str) -> str:
        match = re.search(rf"^## {heading}\n```sql\n(.*?)```", rule.doc, re.S | re.M)
        assert match, f"{rule.code} docs lack a ```sql block under ## {heading}"
        return match.group(1)

    return block("Bad"), block("Good")


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.code)
def test_rule_fixture(rule: Rule) -> None:
    if rule.code in ALEMBIC_ONLY:
        pytest.skip("alembic-only rule: tested on revision files")
    if rule.code in DATABASE_ONLY:
        pytest.skip("database-only rule: tested with a database's schema")
    source = FIXTURES / f"{rule.code}.sql"
    sql = source.read_text(encoding="utf-8")
    # (`-- in transaction` first: the file is linted as a runner wrapping it runs it)
    findings = lint_sql(sql, path=source.name, rules=[rule],
                        in_transaction=sql.startswith("-- in transaction\n"), **_target(sql))
    assert_snapshot(render_text(Report(findings), {}), FIXTURES / f"{rule.code}.expected")
    assert any(f.code == rule.code for f in findings), "the fixture must trigger the rule"
    quiet = _not_flagged_lines(source)
    late = [f"{f.location.line}: {f.message}" for f in findings
            if f.location is not None and f.location.line in quiet]
    assert not late, f"findings in a `-- not flagged` section: {late}"


def _target(sql: str) -> dict[str, Any]:
    """The target version an example or fixture names (`-- target-version = 15`)."""
    match = re.search(r"^-- target-version = (\d+)$", sql, re.M)
    if match is None:
        return {}
    return {"target_version": int(match.group(1)) * 10000, "target_version_given": True}


def _not_flagged_lines(source: Path) -> set[int]:
    """Lines from each `-- not flagged` marker to the next `-- flagged` one (or the end).

    Every fixture must have such a section: near misses are half of what a rule promises.
    """
    quiet: set[int] = set()
    inside = False
    for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
        marker = line.strip().lower()
        if marker.startswith("-- not flagged"):
            inside = True
        elif marker.startswith("-- flagged"):
            inside = False
        if inside:
            quiet.add(number)
    assert quiet, f"{source.name} has no `-- not flagged` section"
    return quiet


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.code)
def test_rule_doc_examples(rule: Rule) -> None:
    if rule.code in ALEMBIC_ONLY:
        pytest.skip("alembic-only rule: its doc examples are Python")
    if rule.code in DATABASE_ONLY:
        pytest.skip("database-only rule: its Bad example needs the schema it names")
    bad, good = doc_examples(rule)
    in_txn = "-- in transaction" in bad
    assert {f.code for f in lint_sql(bad, rules=[rule], in_transaction=in_txn,
                                     **_target(bad))} == {rule.code}
    assert lint_sql(good, rules=[rule], in_transaction="-- in transaction" in good,
                    **_target(good)) == ()


def test_every_rule_module_is_registered() -> None:
    modules = {m.name for m in pkgutil.iter_modules(rules_package.__path__)}
    registered = set()
    for module_name in modules:
        module = importlib.import_module(f"dbsafe.lint.rules.{module_name}")
        assert module.RULE in ALL_RULES, f"{module_name}.RULE is missing from ALL_RULES"
        registered.add(module.RULE.code)
    assert len(registered) == len(ALL_RULES)


def test_codes_are_unique_and_in_the_lint_blocks() -> None:
    codes = [r.code for r in ALL_RULES]
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(r"DBS[12]\d\d", c) for c in codes)


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.code)
def test_docs_have_the_fixed_sections(rule: Rule) -> None:
    for heading in ("## Why", "## Bad", "## Good", "## In Alembic", "## Not flagged"):
        assert heading in rule.doc, f"{rule.code} docs lack {heading}"


@pytest.mark.parametrize("rule", [r for r in ALL_RULES if r.kinds is not None],
                         ids=lambda r: r.code)
def test_statement_kinds_a_rule_declares_hide_none_of_its_findings(rule: Rule) -> None:
    # The engine calls a rule's check only for the statement kinds it lists: over every
    # fixture (each rule's own and every other's), listing no kinds at all finds the same.
    unrestricted = dataclasses.replace(rule, kinds=None)
    for source in sorted(FIXTURES.glob("*.sql")):
        sql = source.read_text(encoding="utf-8")
        for in_transaction in (False, True):
            assert lint_sql(sql, path=source.name, rules=[rule],
                            in_transaction=in_transaction, **_target(sql)) == \
                lint_sql(sql, path=source.name, rules=[unrestricted],
                         in_transaction=in_transaction, **_target(sql)), source.name


def test_the_readme_counts_the_rules_there_are() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    counted = re.search(r"flags migrations that lock or break production — (\d+) rules", readme)
    assert counted is not None and int(counted.group(1)) == len(ALL_RULES)

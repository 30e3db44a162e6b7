"""The code catalog: codes unique, well-formed, in their block; docs/codes.md current."""

from __future__ import annotations

import re

from dbsafe.commands import catalog
from scripts.gen_docs import (
    CODES_MD,
    CODES_MODULE,
    RULES_DIR,
    render_codes,
    render_codes_module,
    render_rule_pages,
)


def test_codes_are_well_formed_and_names_kebab_case() -> None:
    for code, info in catalog().items():
        assert code == info.code
        assert re.fullmatch(r"DBS\d{3}", code)
        assert re.fullmatch(r"[a-z]+(-[a-z0-9]+)*", info.name)
        assert info.summary.endswith(".")


def test_names_are_unique() -> None:
    names = [info.name for info in catalog().values()]
    assert len(names) == len(set(names))


def test_validate_codes_sit_in_the_validate_block() -> None:
    from dbsafe import validate

    assert all(info.code.startswith("DBS3") for info in validate.RULES)


def test_the_generated_catalog_is_current() -> None:
    # catalog() reads dbsafe/_codes.py instead of importing every module that defines a code.
    from dbsafe.commands import defined_codes

    assert catalog() == defined_codes(), (
        "dbsafe/_codes.py is stale: run `python scripts/gen_docs.py`")
    assert CODES_MODULE.read_text(encoding="utf-8") == render_codes_module(), (
        "dbsafe/_codes.py is stale: run `python scripts/gen_docs.py`")


def test_docs_codes_md_is_current() -> None:
    assert CODES_MD.read_text(encoding="utf-8") == render_codes(), (
        "docs/codes.md is stale: run `python scripts/gen_docs.py`")


def test_rule_pages_are_current() -> None:
    pages = render_rule_pages()
    committed = {p.name: p.read_text(encoding="utf-8") for p in RULES_DIR.glob("*.md")}
    assert committed == pages, "docs/rules/ is stale: run `python scripts/gen_docs.py`"


def test_every_code_has_a_docs_page() -> None:
    # SARIF's helpUri points every rule at docs/rules/<CODE>.md (report.help_uri).
    assert {p.stem for p in RULES_DIR.glob("*.md")} == set(catalog())

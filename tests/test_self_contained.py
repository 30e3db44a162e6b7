"""The suite reads nothing outside the repository: a plain clone runs every test."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).parent


def test_no_test_reads_outside_the_repository() -> None:
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for needle in ("../shared", '"shared" / "validate-cases"', "parents[3]"):
            if needle in text and path.name != Path(__file__).name:
                offenders.append(f"{path.relative_to(TESTS)}: {needle}")
    assert not offenders, offenders

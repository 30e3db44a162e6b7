"""Schema expectations: committed facts about the schema that must hold (DBS550)."""

from __future__ import annotations

from typing import Any

from dbsafe.core import Finding, RuleInfo, Severity

EXPECTATION_NOT_MET = RuleInfo(
    code="DBS550",
    name="expectation-not-met",
    summary="A schema expectation from `[tool.dbsafe.expect]` or `dbsafe-expect.toml` does not hold.",
    default_severity=Severity.ERROR,
    since="0.1.0",
)

DOC = EXPECTATION_NOT_MET.summary + "\n"


def load_expectations(settings: Any) -> Any:
    raise NotImplementedError


def check_expectations(source: Any, settings: Any = None) -> list[Finding]:
    raise NotImplementedError

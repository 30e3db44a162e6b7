"""All built-in lint rules. Order is report order for findings on the same line.

The explicit tuple is the registry: no discovery, no decorators. `scripts/new_rule.py`
appends to it; tests/lint/test_rules.py asserts every module here is listed.
"""

from dbsafe.lint.rules import (
    non_concurrent_index_creation,
)

ALL_RULES = (
    non_concurrent_index_creation.RULE,
)

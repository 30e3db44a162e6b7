"""All built-in lint rules. Order is report order for findings on the same line.

The explicit tuple is the registry: no discovery, no decorators. `scripts/new_rule.py`
appends to it; tests/lint/test_rules.py asserts every module here is listed.
"""

from dbsafe.lint.rules import (
    column_added_with_table_rewrite,
    concurrent_index_in_transaction,
    constraint_added_without_not_valid,
    non_concurrent_index_creation,
    non_concurrent_index_drop,
    non_concurrent_partition_detach,
    non_concurrent_reindex,
    not_null_column_without_default,
    set_not_null_without_check,
)

ALL_RULES = (
    non_concurrent_index_creation.RULE,
    concurrent_index_in_transaction.RULE,
    non_concurrent_index_drop.RULE,
    non_concurrent_reindex.RULE,
    non_concurrent_partition_detach.RULE,
    constraint_added_without_not_valid.RULE,
    set_not_null_without_check.RULE,
    not_null_column_without_default.RULE,
    column_added_with_table_rewrite.RULE,
)

"""All built-in lint rules. Order is report order for findings on the same line.

The explicit tuple is the registry: no discovery, no decorators. `scripts/new_rule.py`
appends to it; tests/lint/test_rules.py asserts every module here is listed.
"""

from dbsafe.lint.rules import (
    char_column,
    column_added_with_table_rewrite,
    column_dropped,
    column_renamed,
    concurrent_index_in_transaction,
    constraint_added_without_not_valid,
    empty_downgrade,
    identifier_too_long,
    int_primary_key,
    non_concurrent_index_creation,
    non_concurrent_index_drop,
    non_concurrent_partition_detach,
    non_concurrent_reindex,
    not_null_column_without_default,
    set_not_null_without_check,
    table_dropped,
    table_renamed,
    timestamp_without_time_zone,
    truncate_cascade,
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
    table_dropped.RULE,
    column_dropped.RULE,
    column_renamed.RULE,
    table_renamed.RULE,
    truncate_cascade.RULE,
    identifier_too_long.RULE,
    char_column.RULE,
    timestamp_without_time_zone.RULE,
    int_primary_key.RULE,
    empty_downgrade.RULE,
)

"""The codes name resolution reports (DBS3xx), apart from the resolver so that listing
codes (`commands.catalog()`, on every run) does not import sqlglot."""

from __future__ import annotations

from dbsafe.core import RuleInfo, Severity

UNKNOWN_TABLE = RuleInfo(
    code="DBS301",
    name="unknown-table",
    summary="A statement references a table, view or schema that does not exist.",
    default_severity=Severity.ERROR,
    since="0.1.0",
)
UNKNOWN_COLUMN = RuleInfo(
    code="DBS302",
    name="unknown-column",
    summary="A statement references a column that no table in scope has.",
    default_severity=Severity.ERROR,
    since="0.1.0",
)
DYNAMIC_SQL = RuleInfo(
    code="DBS304",
    name="dynamic-sql-not-validated",
    summary="SQL built at run time could not be validated against the schema.",
    default_severity=Severity.NOTE,
    since="0.1.0",
)
UNKNOWN_FUNCTION_CALL = RuleInfo(
    code="DBS314",
    name="unknown-function",
    summary="A statement calls a function, aggregate or procedure the schema does not have.",
    default_severity=Severity.ERROR,
    since="0.2.0",
)
COLUMN_VALUE_COUNT_MISMATCH = RuleInfo(
    code="DBS315",
    name="column-value-count-mismatch",
    summary="An INSERT or a multi-column SET gives the columns it lists more or fewer values "
            "than it names, which PostgreSQL refuses on every run (42601).",
    default_severity=Severity.ERROR,
    since="0.2.0",
)
UNKNOWN_TYPE = RuleInfo(
    code="DBS316",
    name="unknown-type",
    summary="A statement casts to a type the schema does not have.",
    default_severity=Severity.ERROR,
    since="0.2.0",
)
# Reported by validate, from dbsafe itself (DBS0xx): not one of the resolver's `RULES`.
MIGRATION_STATEMENT_FAILED = RuleInfo(
    code="DBS006",
    name="migration-statement-failed",
    summary="A SQL migration statement failed where dbsafe built the schema (its throwaway "
            "server, or the dev server), so what it would have made is not checked.",
    default_severity=Severity.NOTE,
    since="0.2.0",
)
RULES: tuple[RuleInfo, ...] = (UNKNOWN_TABLE, UNKNOWN_COLUMN, DYNAMIC_SQL,
                               UNKNOWN_FUNCTION_CALL, COLUMN_VALUE_COUNT_MISMATCH,
                               UNKNOWN_TYPE)


def identifier_at(sql: str, start: int, end: int) -> str:
    """The name a problem's span (`start`..`end`, inclusive) covers in `sql`, as PostgreSQL
    names it: a quoted identifier without its quotes, any other folded to lower case.

    >>> identifier_at('SELECT "DisplayName", Email FROM t', 7, 19)
    'DisplayName'
    >>> identifier_at('SELECT "DisplayName", Email FROM t', 22, 26)
    'email'
    """
    text = sql[start:end + 1]
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1].replace('""', '"')
    return text.lower()

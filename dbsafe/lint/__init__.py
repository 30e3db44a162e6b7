"""Lint migrations for statements that lock or break a production database (DBS0xx-2xx)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dbsafe.core import Finding, RuleInfo
from dbsafe.lint.engine import LintContext, Rule, Statement, lint_migration, select_rules


def lint_sql(sql: str, *, path: str = "<sql>", rules: Sequence[Rule] | None = None,
             in_transaction: bool = False, **context: Any) -> tuple[Finding, ...]:
    """Lint one SQL script (a migration file's text) and return its findings.

    >>> [f.code for f in lint_sql("CREATE INDEX ix ON orders (customer_id);")]
    ['DBS101', 'DBS115']
    """
    from dbsafe.extract.migration import Migration, MigrationStatement
    from dbsafe.extract.sqlfile import split_sql
    from dbsafe.lint.rules import ALL_RULES

    statements = tuple(MigrationStatement(f.sql, f.location(0)) for f in split_sql(sql, path))
    migration = Migration(path, statements, kind="sql", starts_in_transaction=in_transaction)
    return tuple(lint_migration(migration, ALL_RULES if rules is None else rules, **context))


def documentation() -> dict[str, tuple[RuleInfo, str]]:
    """Every lint code's catalog entry and Markdown docs (rules, DBS001, DBS005, DBS211)."""
    from dbsafe.lint import app_references
    from dbsafe.lint.engine import UNPARSED, UNPARSED_DOC
    from dbsafe.lint.history import NOT_LINTED, NOT_LINTED_DOC
    from dbsafe.lint.rules import ALL_RULES

    docs = {UNPARSED.code: (UNPARSED, UNPARSED_DOC), NOT_LINTED.code: (NOT_LINTED, NOT_LINTED_DOC)}
    docs.update({rule.code: (rule.info, rule.doc) for rule in ALL_RULES})
    docs[app_references.RULE_INFO.code] = (app_references.RULE_INFO, app_references.DOC)
    return docs


__all__ = ["LintContext", "Rule", "Statement", "documentation", "lint_migration", "lint_sql",
           "select_rules"]

"""Lint migrations for statements that lock or break a production database (DBS0xx-2xx)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dbsafe.core import Finding
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


__all__ = ["LintContext", "Rule", "Statement", "lint_migration", "lint_sql", "select_rules"]

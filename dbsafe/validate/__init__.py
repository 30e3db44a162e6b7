"""Resolve application SQL against a schema snapshot and confirm findings with PostgreSQL.

* `resolver`: name resolution of one statement with sqlglot scopes (codes DBS3xx);
* `scan`: the run loop over source files (extract, resolve, confirm, cache, workers);
* `confirm`: PostgreSQL's Parse (PREPARE) in a rolled-back read-only transaction;
* `postgrest`: supabase-js/PostgREST requests from JS/TS files (DBS305-DBS313);
* `made_outside`: what the SQL migrations lack but the project's `Database` types list (DBS317).

The resolver's public names are re-exported here (`from dbsafe.validate import resolve`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dbsafe.core import RuleInfo
    from dbsafe.validate.resolver import (
        ANALYSED,
        DYNAMIC_SQL,
        IGNORED,
        NOT_ANALYSED,
        UNKNOWN_COLUMN,
        UNKNOWN_TABLE,
        UNPARSED,
        Problem,
        Resolution,
        Resolver,
        created_relations,
        resolve,
        resolver_for,
    )

RULES: tuple[RuleInfo, ...]  # DBS3xx: the resolver's codes, then PostgREST's


def __getattr__(name: str) -> Any:
    # Loaded on first use: the resolver's names bring sqlglot, and `RULES` the PostgREST
    # checker (scan imports this package on every run, cached ones included).
    if name == "RULES":
        from dbsafe.validate.codes import RULES as RESOLVER_RULES
        from dbsafe.validate.made_outside import MADE_OUTSIDE_MIGRATIONS
        from dbsafe.validate.postgrest import RULES as POSTGREST_RULES

        return RESOLVER_RULES + POSTGREST_RULES + (MADE_OUTSIDE_MIGRATIONS,)
    if name in __all__:
        from dbsafe.validate import resolver

        return getattr(resolver, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def documentation() -> dict[str, tuple[RuleInfo, str]]:
    """The validate codes with Markdown docs of their own (the others are documented by
    docs/validate.md), keyed by code, for `--explain` and docs/rules/."""
    from dbsafe.validate.calls import UNKNOWN_FUNCTION_CALL_DOC
    from dbsafe.validate.casts import UNKNOWN_TYPE_DOC
    from dbsafe.validate.codes import (
        COLUMN_VALUE_COUNT_MISMATCH,
        UNKNOWN_FUNCTION_CALL,
        UNKNOWN_TYPE,
    )
    from dbsafe.validate.counts import COUNT_MISMATCH_DOC
    from dbsafe.validate.made_outside import MADE_OUTSIDE_MIGRATIONS, MADE_OUTSIDE_MIGRATIONS_DOC
    from dbsafe.validate.postgrest import DROPPED_FILTER_CAST, DROPPED_FILTER_CAST_DOC

    return {DROPPED_FILTER_CAST.code: (DROPPED_FILTER_CAST, DROPPED_FILTER_CAST_DOC),
            UNKNOWN_FUNCTION_CALL.code: (UNKNOWN_FUNCTION_CALL, UNKNOWN_FUNCTION_CALL_DOC),
            COLUMN_VALUE_COUNT_MISMATCH.code: (COLUMN_VALUE_COUNT_MISMATCH, COUNT_MISMATCH_DOC),
            UNKNOWN_TYPE.code: (UNKNOWN_TYPE, UNKNOWN_TYPE_DOC),
            MADE_OUTSIDE_MIGRATIONS.code: (MADE_OUTSIDE_MIGRATIONS, MADE_OUTSIDE_MIGRATIONS_DOC)}


__all__ = [
    "ANALYSED",
    "DYNAMIC_SQL",
    "IGNORED",
    "NOT_ANALYSED",
    "RULES",
    "UNKNOWN_COLUMN",
    "UNKNOWN_TABLE",
    "UNPARSED",
    "Problem",
    "Resolution",
    "Resolver",
    "created_relations",
    "documentation",
    "resolve",
    "resolver_for",
]

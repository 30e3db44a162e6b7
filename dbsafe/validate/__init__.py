"""Resolve application SQL against a schema snapshot and confirm findings with PostgreSQL.

* `resolver`: name resolution of one statement with sqlglot scopes (codes DBS3xx);
* `scan`: the run loop over source files (extract, resolve, confirm, cache, workers);
* `confirm`: PostgreSQL's Parse (PREPARE) in a rolled-back read-only transaction;
* `postgrest`: supabase-js/PostgREST requests from JS/TS files (DBS305, DBS306).

The resolver's public names are re-exported here (`from dbsafe.validate import resolve`).
"""

from __future__ import annotations

from dbsafe.validate.postgrest import RULES as POSTGREST_RULES
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
from dbsafe.validate.resolver import RULES as RESOLVER_RULES

RULES = RESOLVER_RULES + POSTGREST_RULES

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
    "resolve",
    "resolver_for",
]

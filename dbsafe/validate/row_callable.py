"""Built-in functions PostgreSQL calls on a row in attribute notation: `t.count` is
`count(t)`, and from PostgreSQL 18 `t.max` is `max(t)`. Shared by the SQL resolver and the
PostgREST reader (whose `select=max` PostgREST sends as `"t"."max"`), apart from the
resolver so that reading supabase requests does not import sqlglot."""

from __future__ import annotations

# pg_catalog's functions and aggregates callable with one argument of a type a row is, on
# PostgreSQL 18 (tests/validate/test_row_functions.py asks the server), and hstore's
# `hstore(record)`.
ROW_CALLABLE_BUILTINS = frozenset(
    """any_out any_value anycompatible_out anycompatiblenonarray_out anyelement_out
    anynonarray_out array_agg concat count cume_dist dense_rank hash_record json_agg
    json_agg_strict json_build_array json_build_object jsonb_agg jsonb_agg_strict
    jsonb_build_array jsonb_build_object max min mode num_nonnulls num_nulls percent_rank
    pg_collation_for pg_column_compression pg_column_size pg_column_toast_chunk_id
    pg_restore_attribute_stats pg_restore_relation_stats pg_typeof quote_literal
    quote_nullable rank record_out record_send row_to_json to_json to_jsonb
    hstore""".split()
)

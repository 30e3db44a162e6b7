"""Which functions PostgreSQL computes anew for every row: the volatile built-ins a column
default may call (`ADD COLUMN` then rewrites the table, lint's DBS109 and diff's hazards),
and a user function's declared volatility."""

from __future__ import annotations

from pathlib import Path

# The pg_catalog functions every overload of which is VOLATILE, as a plain function that an
# expression can call (no trigger, handler or `internal` result): `volatile_functions.txt`,
# written from PostgreSQL 18 by scripts/gen_volatile_functions.py with this query, and
# held to the server the tests run on by tests/lint/test_rewrites_pg.py. (A name with a
# VOLATILE overload and another that is not, `ts_rewrite`, depends on its arguments: left
# out.)
CATALOG_VOLATILE_QUERY = """
SELECT proname FROM pg_proc
WHERE pronamespace = 'pg_catalog'::regnamespace AND prokind = 'f'
GROUP BY proname
HAVING bool_and(provolatile = 'v') AND bool_and(prorettype NOT IN (
    'trigger'::regtype, 'event_trigger'::regtype, 'internal'::regtype,
    'language_handler'::regtype, 'index_am_handler'::regtype, 'table_am_handler'::regtype,
    'fdw_handler'::regtype, 'tsm_handler'::regtype))
ORDER BY proname"""


def _catalog_volatile() -> frozenset[str]:
    text = Path(__file__).with_name("volatile_functions.txt").read_text(encoding="utf-8")
    return frozenset(line for line in text.split("\n") if line and not line.startswith("#"))


# Volatile built-ins whose default makes ADD COLUMN rewrite the table (see DBS109): every
# volatile pg_catalog function (`currval`, `setval`, `set_config`, `array_shuffle`, ...:
# graph-node's `DEFAULT 'chain' || currval('chains_id_seq')` rewrote `chains`, and lint
# knew only a few of them), and uuid-ossp's.
UUID_OSSP_VOLATILE = frozenset({"uuid_generate_v1", "uuid_generate_v1mc", "uuid_generate_v4"})
VOLATILE_FUNCTIONS = _catalog_volatile() | UUID_OSSP_VOLATILE

# Built-ins that are IMMUTABLE or STABLE (no overload with pg_proc.provolatile 'v':
# tests/lint/test_rewrites_pg.py checks it on the server the tests run on), the ones the body of a SQL function making a
# column default calls: the body of an inlined SQL function calling only these (and
# operators, casts, constants) is no volatile default (`inlined_volatility` in lint).
NOT_VOLATILE_FUNCTIONS = frozenset({
    "now", "statement_timestamp", "transaction_timestamp", "extract", "date_part",
    "timezone", "date_trunc", "to_char", "to_timestamp", "to_date", "age", "make_interval",
    "floor", "ceil", "ceiling", "round", "trunc", "abs", "mod", "lower", "upper", "btrim",
    "ltrim", "rtrim", "concat", "concat_ws", "substring", "substr", "left", "right",
    "length", "replace", "md5", "encode", "decode", "current_setting", "jsonb_build_object",
    "json_build_object", "jsonb_build_array", "to_jsonb", "int8", "int4", "numeric",
})

# Built-ins none of whose pg_catalog overloads is IMMUTABLE (checked by
# tests/lint/test_rewrites_pg.py against pg_proc): PostgreSQL refuses a call of one in an
# index's expressions or WHERE and in a generation expression, whatever its arguments
# (DBS133). `to_char` is STABLE for every type (locale); `date_trunc`, `age`, `timezone`
# are not here: some overloads are IMMUTABLE, which one is called depends on types.
NOT_IMMUTABLE_FUNCTIONS = (VOLATILE_FUNCTIONS - UUID_OSSP_VOLATILE) | frozenset({
    "now", "statement_timestamp", "transaction_timestamp", "current_setting", "to_char",
    "to_date", "make_timestamptz", "currval", "lastval", "setval", "current_database",
    "version", "pg_backend_pid", "txid_current", "current_schemas",
})

# Of `NOT_VOLATILE_FUNCTIONS`, those with an overload that is not STRICT (pg_proc.proisstrict;
# checked by tests/lint/test_rewrites_pg.py): the body of a STRICT SQL function calling one is
# not inlined (`inline_function` requires a strict body of a strict function).
NOT_STRICT_FUNCTIONS = frozenset({
    "concat", "concat_ws", "json_build_object", "jsonb_build_object", "jsonb_build_array",
})

# Operators every implementation of which is STRICT (checked alike): `||` is not one, its
# array forms (array_cat, array_append, array_prepend) are not strict.
STRICT_OPERATORS = frozenset({"+", "-", "*", "/", "%", "^", "=", "<>", "<", ">", "<=", ">="})


def declared_volatility(definition: str) -> str | None:
    """The volatility a `CREATE FUNCTION` (`pg_get_functiondef`'s text) declares, PostgreSQL's
    default VOLATILE when it says none; None when it is not one statement pglast reads as a
    `CREATE FUNCTION`.

    >>> declared_volatility("CREATE FUNCTION f() RETURNS int LANGUAGE sql STABLE AS 'select 1'")
    'stable'
    >>> declared_volatility("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1'")
    'volatile'
    """
    from pglast import ast

    from dbsafe.pg.parse import sole_statement

    node = sole_statement(definition)
    if not isinstance(node, ast.CreateFunctionStmt):
        return None
    for option in node.options or ():
        if option.defname == "volatility" and isinstance(option.arg, ast.String):
            return str(option.arg.sval)
    return "volatile"

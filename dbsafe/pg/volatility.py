"""Which functions PostgreSQL computes anew for every row: the volatile built-ins a column
default may call (`ADD COLUMN` then rewrites the table, lint's DBS109 and diff's hazards),
and a user function's declared volatility."""

from __future__ import annotations

# Volatile built-ins whose default makes ADD COLUMN rewrite the table (see DBS109).
VOLATILE_FUNCTIONS = frozenset({
    "random", "random_normal", "gen_random_uuid", "uuidv4", "uuidv7", "uuid_generate_v1",
    "uuid_generate_v1mc", "uuid_generate_v4", "clock_timestamp", "timeofday", "nextval",
})


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

"""Read a live PostgreSQL database into a `SchemaSnapshot`.

Everything comes from a handful of set-based queries over `pg_catalog` (relations with
their columns, constraints, indexes, functions, enums, sequences, policies, plus one for
session facts), never one query per table: a 10,000-table database costs the same seven
round trips as a ten-table one. `information_schema` is avoided on purpose — its views hide
objects the current role does not own and are an order of magnitude slower.

Objects in system schemas (`pg_catalog`, `information_schema`, `pg_toast`, temporary
schemas) and objects that belong to an extension (`pg_depend.deptype = 'e'`) are left out:
they are not the application's schema, and they differ between servers for reasons no
migration controls.

Only catalog columns present since PostgreSQL 12 are read, so the same queries work on
every supported server.
"""

from __future__ import annotations

import gc
import logging
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from dbsafe.core import DatabaseError
from dbsafe.pg.urls import redact_text, redact_url, to_libpq_url
from dbsafe.schema import model
from dbsafe.schema.model import (
    Argument,
    Column,
    Constraint,
    Enum,
    Function,
    Index,
    Policy,
    Relation,
    SchemaSnapshot,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    import psycopg

log = logging.getLogger(__name__)

_by_position = attrgetter("position")
_by_name = attrgetter("name")

STATEMENT_TIMEOUT = "60s"
CONNECT_TIMEOUT = 10  # seconds; libpq otherwise waits for the OS TCP timeout (minutes)

_RELATION_KINDS = {
    "r": "table",
    "p": "partitioned_table",
    "v": "view",
    "m": "materialized_view",
    "f": "foreign_table",
}
_CONSTRAINT_KINDS = {
    "p": "primary_key",
    "u": "unique",
    "f": "foreign_key",
    "c": "check",
    "x": "exclusion",
}
_IDENTITY = {"a": "always", "d": "by default"}
_GENERATED = {"s": "stored", "v": "virtual"}
_ARGUMENT_MODES = {"i": "in", "o": "out", "b": "inout", "v": "variadic", "t": "table"}
_FUNCTION_KINDS = {"f": "function", "a": "aggregate", "w": "window", "p": "procedure"}
_POLICY_COMMANDS = {"*": "ALL", "r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE"}

# -- catalog queries ------------------------------------------------------------------
#
# `{ns}` is the namespace filter, `{ext}` the "not part of an extension" filter; both are
# plain SQL fragments (no user input). Names starting with "pg_" are reserved for system
# schemas (pg_catalog, pg_toast, pg_temp_N, pg_toast_temp_N), so a prefix test covers them.
# `%(schemas)s` is NULL for "every user schema".

_NAMESPACE_FILTER = """
    left({alias}.nspname, 3) <> 'pg_'
    AND {alias}.nspname <> 'information_schema'
    AND (%(schemas)s::text[] IS NULL OR {alias}.nspname = ANY (%(schemas)s::text[]))
"""

_NOT_EXTENSION_MEMBER = """
    NOT EXISTS (
        SELECT FROM pg_depend AS dep
        WHERE dep.classid = '{catalog}'::regclass AND dep.objid = {oid} AND dep.deptype = 'e'
    )
"""


def _filters(alias: str, catalog: str, oid: str) -> str:
    return (
        _NAMESPACE_FILTER.format(alias=alias)
        + " AND "
        + _NOT_EXTENSION_MEMBER.format(catalog=catalog, oid=oid)
    )


_SESSION_SQL = f"""
SELECT
    current_schemas(false)::text[],
    current_setting('server_version_num')::int,
    ARRAY(
        SELECT n.nspname::text FROM pg_namespace AS n
        WHERE {_filters("n", "pg_namespace", "n.oid")}
    ),
    (SELECT n.nspname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
     WHERE c.oid = to_regclass('alembic_version')),
    (SELECT c.relname FROM pg_class AS c WHERE c.oid = to_regclass('alembic_version')),
    -- A schema an extension created is left out of `schemas`, so the list is then partial.
    EXISTS (SELECT FROM pg_depend AS d
            WHERE d.classid = 'pg_namespace'::regclass AND d.deptype = 'e')
"""

# One row per column (or one row with NULL column fields for a relation without columns).
_RELATIONS_SQL = f"""
SELECT
    c.oid, n.nspname, c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity,
    a.attname, format_type(a.atttypid, a.atttypmod), a.attnum, a.attnotnull,
    CASE WHEN a.atthasdef THEN pg_get_expr(ad.adbin, ad.adrelid) END,
    a.attidentity, a.attgenerated
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
LEFT JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef AS ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND {_filters("n", "pg_class", "c.oid")}
"""

# A foreign key that references a partitioned table is stored as one row per partition,
# all on the referencing table, under names that differ between server versions; only
# the parent row is the constraint users wrote (and see in psql's \\d), so the
# children are skipped.
# Column numbers on both sides are named in Python from the columns already read, which
# is much cheaper than a per-constraint subquery over pg_attribute.
_CONSTRAINTS_SQL = f"""
SELECT
    con.conrelid, con.conname, con.contype, pg_get_constraintdef(con.oid),
    con.convalidated, con.conkey, rn.nspname, rc.relname, con.confrelid, con.confkey
FROM pg_constraint AS con
JOIN pg_class AS c ON c.oid = con.conrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
LEFT JOIN pg_class AS rc ON rc.oid = con.confrelid
LEFT JOIN pg_namespace AS rn ON rn.oid = rc.relnamespace
WHERE con.contype IN ('p', 'u', 'f', 'c', 'x')
  AND {_NAMESPACE_FILTER.format(alias="n")}
  AND NOT EXISTS (
      SELECT FROM pg_constraint AS parent
      WHERE parent.oid = con.conparentid AND parent.conrelid = con.conrelid
  )
"""

# Plain key columns come back as attribute numbers (named in Python); only indexes with
# expressions pay for the per-column pg_get_indexdef calls.
_INDEXES_SQL = f"""
SELECT
    i.indrelid, ic.relname, pg_get_indexdef(i.indexrelid), i.indisunique, i.indisprimary,
    i.indisvalid, i.indisready, pg_get_expr(i.indpred, i.indrelid), i.indnkeyatts,
    i.indkey::int2[],
    CASE WHEN i.indexprs IS NOT NULL THEN ARRAY(
        SELECT pg_get_indexdef(i.indexrelid, k, true)
        FROM generate_series(1, i.indnkeyatts::int) AS k
        ORDER BY k
    ) END
FROM pg_index AS i
JOIN pg_class AS ic ON ic.oid = i.indexrelid
JOIN pg_namespace AS n ON n.oid = ic.relnamespace
WHERE {_NAMESPACE_FILTER.format(alias="n")}
"""

_FUNCTIONS_SQL = f"""
SELECT
    n.nspname, p.proname, p.prokind, p.proretset, pg_get_function_result(p.oid),
    ARRAY(
        SELECT format_type(u.typ, NULL)
        FROM unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) WITH ORDINALITY
            AS u(typ, ord)
        ORDER BY u.ord
    ),
    p.proargmodes::text[], p.proargnames, p.pronargdefaults,
    rt.typtype, rt.oid = 'record'::regtype,
    ARRAY(
        SELECT ra.attname::text
        FROM pg_attribute AS ra
        WHERE ra.attrelid = rt.typrelid AND ra.attnum > 0 AND NOT ra.attisdropped
        ORDER BY ra.attnum
    ),
    ARRAY(
        SELECT format_type(ra.atttypid, ra.atttypmod)
        FROM pg_attribute AS ra
        WHERE ra.attrelid = rt.typrelid AND ra.attnum > 0 AND NOT ra.attisdropped
        ORDER BY ra.attnum
    )
FROM pg_proc AS p
JOIN pg_namespace AS n ON n.oid = p.pronamespace
JOIN pg_type AS rt ON rt.oid = p.prorettype
WHERE {_filters("n", "pg_proc", "p.oid")}
"""

_ENUMS_SQL = f"""
SELECT
    n.nspname, t.typname,
    ARRAY(SELECT e.enumlabel::text FROM pg_enum AS e WHERE e.enumtypid = t.oid
          ORDER BY e.enumsortorder)
FROM pg_type AS t
JOIN pg_namespace AS n ON n.oid = t.typnamespace
WHERE t.typtype = 'e'
  AND {_filters("n", "pg_type", "t.oid")}
"""

# Serial columns own their sequence with an 'a' dependency, identity columns with 'i'.
_SEQUENCES_SQL = f"""
SELECT
    n.nspname, c.relname, format_type(s.seqtypid, NULL), own_n.nspname, own_c.relname,
    own_a.attname
FROM pg_sequence AS s
JOIN pg_class AS c ON c.oid = s.seqrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
LEFT JOIN pg_depend AS d
    ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
    AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i')
LEFT JOIN pg_class AS own_c ON own_c.oid = d.refobjid
LEFT JOIN pg_namespace AS own_n ON own_n.oid = own_c.relnamespace
LEFT JOIN pg_attribute AS own_a ON own_a.attrelid = d.refobjid AND own_a.attnum = d.refobjsubid
WHERE {_filters("n", "pg_class", "c.oid")}
"""

# Column names of relations a foreign key references outside the schemas being read.
_REFERENCED_COLUMNS_SQL = """
SELECT a.attrelid, a.attnum, a.attname
FROM pg_attribute AS a
WHERE a.attrelid = ANY (%(relids)s::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
"""

# Role oid 0 in polroles means PUBLIC.
_POLICIES_SQL = f"""
SELECT
    pol.polrelid, pol.polname, pol.polcmd::text, pol.polpermissive,
    ARRAY(
        SELECT CASE WHEN r.oid = 0 THEN 'public' ELSE rol.rolname::text END
        FROM unnest(pol.polroles) AS r(oid)
        LEFT JOIN pg_roles AS rol ON rol.oid = r.oid
    ),
    pg_get_expr(pol.polqual, pol.polrelid), pg_get_expr(pol.polwithcheck, pol.polrelid)
FROM pg_policy AS pol
JOIN pg_class AS c ON c.oid = pol.polrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE {_NAMESPACE_FILTER.format(alias="n")}
"""


def introspect(
    conn: psycopg.Connection, *, schemas: Sequence[str] | None = None
) -> SchemaSnapshot:
    """Read the schema of the database `conn` is connected to.

    All queries run inside one transaction block on `conn` (a savepoint if a transaction
    is already open), so they see one consistent catalog when the connection uses
    REPEATABLE READ, as `introspect_url` does.

    Type names come from `format_type` and therefore depend on the session's
    `search_path` (a type in a schema on the path is shown unqualified); the snapshot
    records that path in `search_path`.

    Args:
        conn: an open psycopg connection; nothing is written through it.
        schemas: read only these schemas; None reads every non-system schema.

    Returns:
        A deterministic snapshot: relations sorted by (schema, name), columns by position,
        constraints, indexes and policies by name, functions by (schema, name, input types).

    Raises:
        psycopg.Error: a catalog query failed (`introspect_url` turns it into DatabaseError).
    """
    from psycopg.rows import tuple_row

    params = {"schemas": list(schemas) if schemas is not None else None}
    # Building a few hundred thousand small objects triggers the cyclic garbage collector
    # over and over although none of them can form a cycle; pausing it saves a third of
    # the Python time on large schemas.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        with (
            conn.transaction(),
            conn.cursor(row_factory=tuple_row) as cur,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="dbsafe-introspect") as pool,
        ):

            def rows(query: str) -> list[tuple[Any, ...]]:
                cur.execute(query, params)
                return cur.fetchall()

            session = rows(_SESSION_SQL)[0]
            # Turn the column rows into objects on a worker thread while the server
            # works on the next queries: psycopg releases the GIL while it waits, so
            # the two overlap instead of adding up.
            columns_future = pool.submit(_columns, rows(_RELATIONS_SQL))
            index_rows = rows(_INDEXES_SQL)
            constraint_rows = rows(_CONSTRAINTS_SQL)
            function_rows = rows(_FUNCTIONS_SQL)
            enum_rows = rows(_ENUMS_SQL)
            sequence_rows = rows(_SEQUENCES_SQL)
            policy_rows = rows(_POLICIES_SQL)
            (search_path, server_version, schema_names, version_schema, version_table,
             extension_schemas) = session
            revision = _read_revision(cur, version_schema, version_table)
            heads, columns, attnames = columns_future.result()
            outside = {row[8] for row in constraint_rows if row[8] and row[8] not in attnames}
            if outside:
                cur.execute(_REFERENCED_COLUMNS_SQL, {"relids": sorted(outside)})
                for relid, attnum, attname in cur.fetchall():
                    attnames.setdefault(relid, {})[attnum] = attname
        relations = _relations(heads, columns, attnames, constraint_rows, index_rows, policy_rows)
    finally:
        if gc_was_enabled:
            gc.enable()
    return SchemaSnapshot(
        schemas=tuple(sorted(schema_names)),
        relations=relations,
        functions=tuple(sorted((_function(row) for row in function_rows), key=_function_key)),
        enums=tuple(
            sorted(
                (Enum(schema, name, tuple(labels)) for schema, name, labels in enum_rows),
                key=lambda e: (e.schema, e.name),
            )
        ),
        sequences=tuple(
            sorted((_sequence(row) for row in sequence_rows), key=lambda s: (s.schema, s.name))
        ),
        search_path=tuple(search_path),
        server_version=server_version,
        revision=revision,
        covers_all_schemas=schemas is None and not extension_schemas,
    )


def introspect_url(
    url: str,
    *,
    schemas: Sequence[str] | None = None,
    statement_timeout: str = STATEMENT_TIMEOUT,
) -> SchemaSnapshot:
    """Connect to `url`, read its schema in a read-only transaction, and disconnect.

    The session is tagged `application_name=dbsafe` (visible in `pg_stat_activity`) and
    every query is bounded by `statement_timeout`, so introspecting a busy production
    database cannot hang or change anything.

    Args:
        url: a libpq URL or key/value conninfo string.
        schemas: read only these schemas; None reads every non-system schema.
        statement_timeout: a PostgreSQL duration such as "60s".

    Returns:
        The snapshot, as `introspect` builds it.

    Raises:
        DatabaseError: the server is unreachable, refused the login, the database does not
            exist, or a catalog query failed. The message is one line and never contains
            the password.
    """
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    url = to_libpq_url(url)  # `postgresql+psycopg://` from alembic.ini works too
    target = redact_url(url)
    try:
        options: dict[str, Any] = {"application_name": "dbsafe"}
        if "connect_timeout" not in conninfo_to_dict(url):
            options["connect_timeout"] = CONNECT_TIMEOUT
        conn = psycopg.connect(url, autocommit=True, **options)
    except psycopg.Error as exc:
        raise DatabaseError(
            f"could not connect to {target}: {_one_line(redact_text(str(exc), url))}; "
            "check the URL, that the server is running and the credentials"
        ) from None
    with conn:
        try:
            conn.execute(
                "SELECT set_config('statement_timeout', %s, false)", (statement_timeout,)
            )
            conn.autocommit = False
            conn.read_only = True
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            return introspect(conn, schemas=schemas)
        except psycopg.Error as exc:
            raise DatabaseError(
                f"could not read the schema of {target}: {_one_line(redact_text(str(exc), url))}"
            ) from None


# -- row -> model ---------------------------------------------------------------------


def _columns(
    relation_rows: list[tuple[Any, ...]],
) -> tuple[dict[int, tuple[Any, ...]], dict[int, list[Column]], dict[int, dict[int, str]]]:
    """Relation heads, columns and attnum -> name maps, keyed by relation oid."""
    heads: dict[int, tuple[Any, ...]] = {}
    columns: dict[int, list[Column]] = {}
    attnames: dict[int, dict[int, str]] = {}
    for (oid, schema, name, kind, rls, forced, col, typ, num, notnull, default, ident,
         gen) in relation_rows:
        cols = columns.get(oid)
        if cols is None:
            cols = columns[oid] = []
            names = attnames[oid] = {}
            heads[oid] = (schema, name, _RELATION_KINDS[kind], rls, forced)
        else:
            names = attnames[oid]
        if col is not None:
            # Positional arguments: this runs once per column of the database.
            cols.append(
                Column(col, typ, num, not notnull, default, _IDENTITY.get(ident),
                       _GENERATED.get(gen))
            )
            names[num] = col
    return heads, columns, attnames


def _relations(
    heads: dict[int, tuple[Any, ...]],
    columns: dict[int, list[Column]],
    attnames: dict[int, dict[int, str]],
    constraint_rows: list[tuple[Any, ...]],
    index_rows: list[tuple[Any, ...]],
    policy_rows: list[tuple[Any, ...]],
) -> tuple[Relation, ...]:
    constraints: dict[int, list[Constraint]] = defaultdict(list)
    for (relid, name, kind, definition, validated, conkey, ref_schema, ref_table, ref_relid,
         confkey) in constraint_rows:
        if relid not in heads:  # an extension's table, or a relkind we do not read
            continue
        names = attnames[relid]
        ref_names = attnames.get(ref_relid, {})
        constraints[relid].append(
            Constraint(
                name=name,
                kind=_CONSTRAINT_KINDS[kind],
                columns=tuple(names[n] for n in conkey or () if n in names),
                definition=definition,
                validated=validated,
                referenced_table=f"{ref_schema}.{ref_table}" if ref_table is not None else None,
                referenced_columns=tuple(ref_names[n] for n in confkey or () if n in ref_names),
            )
        )

    indexes: dict[int, list[Index]] = defaultdict(list)
    for (relid, name, definition, unique, primary, valid, ready, predicate, nkeys, indkey,
         expressions) in index_rows:
        if relid not in heads:
            continue
        names = attnames[relid]
        keys = tuple(
            names[attnum] if attnum else expressions[position]
            for position, attnum in enumerate(indkey[:nkeys])
        )
        indexes[relid].append(
            Index(
                name=name,
                definition=definition,
                columns=keys,
                unique=unique,
                primary=primary,
                valid=valid,
                ready=ready,
                predicate=predicate,
            )
        )

    policies: dict[int, list[Policy]] = defaultdict(list)
    for relid, name, command, permissive, roles, using, with_check in policy_rows:
        if relid not in heads:
            continue
        policies[relid].append(
            Policy(
                name=name,
                command=_POLICY_COMMANDS[command],
                permissive=permissive,
                roles=tuple(sorted(roles)),
                using=using,
                with_check=with_check,
            )
        )

    relations = [
        Relation(
            schema=schema,
            name=name,
            kind=kind,
            columns=tuple(sorted(columns[oid], key=_by_position)),
            constraints=tuple(sorted(constraints.get(oid, ()), key=_by_name)),
            indexes=tuple(sorted(indexes.get(oid, ()), key=_by_name)),
            rls_enabled=rls,
            rls_forced=forced,
            policies=tuple(sorted(policies.get(oid, ()), key=_by_name)),
        )
        for oid, (schema, name, kind, rls, forced) in heads.items()
    ]
    relations.sort(key=lambda r: (r.schema, r.name))
    return tuple(relations)


def _function(row: tuple[Any, ...]) -> Function:
    (schema, name, kind, returns_set, result, types, modes, names, ndefaults, ret_typtype,
     ret_is_record, ret_names, ret_types) = row
    modes = modes or ["i"] * len(types)
    names = names or [None] * len(types)
    # The last `pronargdefaults` input arguments are the ones with defaults.
    inputs = [i for i, mode in enumerate(modes) if mode in ("i", "b", "v")]
    defaulted = set(inputs[len(inputs) - ndefaults :]) if ndefaults else set()
    arguments = tuple(
        Argument(
            name=names[i] or None,  # unnamed arguments are stored as ""
            type=types[i],
            mode=_ARGUMENT_MODES[modes[i]],
            has_default=i in defaulted,
        )
        for i in range(len(types))
    )
    outputs = [a for a in arguments if a.mode in ("out", "inout", "table")]
    if outputs:
        # RETURNS TABLE / OUT parameters: the output arguments are the result columns.
        result_columns = tuple(
            Column(name=a.name or f"column{n}", type=a.type, position=n)
            for n, a in enumerate(outputs, start=1)
        )
    elif ret_typtype == "c":
        result_columns = tuple(
            Column(name=col, type=typ, position=n)
            for n, (col, typ) in enumerate(zip(ret_names, ret_types, strict=True), start=1)
        )
    else:
        result_columns = ()
    return Function(
        schema=schema,
        name=name,
        arguments=arguments,
        returns=result or "",
        returns_set=returns_set,
        returns_composite=ret_typtype == "c" or (ret_is_record and bool(outputs)),
        result_columns=result_columns,
        kind=_FUNCTION_KINDS.get(kind, "function"),
    )


def _function_key(function: Function) -> tuple[str, str, tuple[str, ...]]:
    return (function.schema, function.name, tuple(a.type for a in function.input_arguments))


def _sequence(row: tuple[Any, ...]) -> model.Sequence:
    schema, name, data_type, owner_schema, owner_table, owner_column = row
    owned_by = f"{owner_schema}.{owner_table}.{owner_column}" if owner_column else None
    return model.Sequence(schema=schema, name=name, data_type=data_type, owned_by=owned_by)


def _read_revision(cur: psycopg.Cursor, schema: str | None, table: str | None) -> str | None:
    """The alembic revision(s) in the `alembic_version` table on the search path, if any."""
    if table is None or schema is None:
        return None
    from psycopg import sql

    cur.execute(
        sql.SQL("SELECT version_num::text FROM {}.{}").format(
            sql.Identifier(schema), sql.Identifier(table)
        )
    )
    versions = sorted(row[0] for row in cur.fetchall() if row[0])
    return ",".join(versions) or None


def _one_line(message: str) -> str:
    """Driver messages span lines (one per host tried, DETAIL/HINT); reports want one."""
    return "; ".join(line.strip() for line in message.strip().splitlines() if line.strip())

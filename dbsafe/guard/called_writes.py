"""The tables the application's functions may write, followed through the functions they
call, for the rows a guarded upgrade reads (`guard.row_tables`).

A function called by name is looked up in `pg_proc` by its name (and schema, when the call
names one): when the call's argument types cannot be told every overload counts, and what
they write is the union. A function the pending revisions create or replace is read from
their own `CREATE FUNCTION` (`lint.row_changes`), with whatever the database holds under
that name (before the upgrade it may have another body, or none). Each body is read with
`lint.body_writes`, and the functions it calls are followed the same way, each function
once (a recursion or a cycle ends there). PostgreSQL's own functions (`pg_catalog`, made by
initdb: an oid below 16384, no extension's) write no table (`sum()`, `lower()`, `now()`;
`nextval()` and `setval()` a sequence, the `lo_*` functions large objects, the `pg_*`
administration functions server state: none a table's rows), but for those running a query
they are given (`RUNS_QUERIES`: `ts_stat()`, `query_to_xml()`, ...), which may call any
function, and whose writes cannot be told. A bare name `pg_catalog` has counts as
PostgreSQL's unless another schema has a function of that name too (other argument types,
or the same ahead of `pg_catalog` in a `search_path`: citext's `replace(citext, citext,
citext)`, an application's `lower(app.tag)`, a `public.sum(integer)`), whose writes are
added, as a call may reach either; one a superuser made in `pg_catalog` is read as any. An
extension's function in SQL or PL/pgSQL is read as its body, like any; one in `internal`
runs PostgreSQL's own code; one in C, or an aggregate, is read as writing nothing when its
extension is one of `NO_SQL_C_EXTENSIONS`, and a trigger function in C as writing only its row when it is one of
`ROW_ONLY_C`; any other body whose writes cannot be told (SQL built at run time, another
language, a body the grammar rejects, a function not found) stops the following, with the
chain of functions that led to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dbsafe.lint.body_writes import Writes, function_writes

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

# Trigger functions written in C that extensions of PostgreSQL's contrib ship, which change
# only the row they are given (a column of NEW) or no table at all, by (extension, function):
# moddatetime (a timestamp column), insert_username (a user name column), autoinc (a column
# from a sequence's nextval), tcn (a NOTIFY). refint's check_foreign_key is not one (it
# deletes or updates the referencing rows), nor lo's lo_manage (it unlinks large objects).
ROW_ONLY_C = frozenset({("moddatetime", "moddatetime"), ("insert_username", "insert_username"),
                        ("autoinc", "autoinc"), ("tcn", "triggered_change_notification")})

# Extensions whose functions in C compute a value from their arguments and run no SQL, so
# write no table: contrib's types, operators and text functions (uuid-ossp's
# uuid_generate_v4(), pgcrypto's crypt() and digest(), pg_trgm's similarity(), unaccent(),
# citext, hstore, ...), pg_stat_statements (its reset clears shared memory, no table),
# pgvector, and PostGIS's core (ST_*; its table management, AddGeometryColumn and the like,
# is PL/pgSQL and read as a body). Not tablefunc (crosstab() runs the query it is given),
# dblink and postgres_fdw (another server's writes), lo, refint, postgis_topology (its C
# functions edit topology tables), nor any other extension.
NO_SQL_C_EXTENSIONS = frozenset({
    "uuid-ossp", "pgcrypto", "pg_trgm", "unaccent", "citext", "hstore", "fuzzystrmatch",
    "intarray", "ltree", "cube", "earthdistance", "seg", "isn", "btree_gin", "btree_gist",
    "pg_stat_statements", "vector", "postgis"})

# Functions of pg_catalog that run a query they are given (text, a cursor's, or each
# relation of a table, schema or database: a view's), through which any function the query
# calls runs and may write (PostgreSQL 18: `ts_stat('SELECT f()')` runs f).
RUNS_QUERIES = frozenset({
    "ts_stat", "ts_rewrite", "query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema",
    "cursor_to_xml", "cursor_to_xmlschema", "table_to_xml", "table_to_xmlschema",
    "table_to_xml_and_xmlschema", "schema_to_xml", "schema_to_xmlschema",
    "schema_to_xml_and_xmlschema", "database_to_xml", "database_to_xmlschema",
    "database_to_xml_and_xmlschema"})

# Whether the function `p` belongs to an extension: pg_catalog's own functions write nothing,
# an extension's there (`CREATE EXTENSION ... SCHEMA pg_catalog`) is read as any extension's.
EXTENSION_OWNED = """EXISTS (
    SELECT FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_proc'::regclass
    AND d.objid = p.oid AND d.refclassid = 'pg_catalog.pg_extension'::regclass
    AND d.deptype = 'e')"""

# Whether the function `p` is PostgreSQL's own: in pg_catalog, made by initdb (an oid below
# FirstNormalObjectId: not one a superuser added there since), no extension's.
BUILT_IN = f"""(p.pronamespace = 'pg_catalog'::regnamespace AND p.oid < 16384
    AND NOT {EXTENSION_OWNED})"""

# The functions a call may reach (by oid, or by name and schema: every overload), with their
# language, kind, owning extension and definition.
_FUNCTIONS = """
SELECT p.oid, p.oid::regprocedure::text, n.nspname, p.proname, l.lanname, e.extname,
       CASE WHEN p.prokind IN ('f', 'p') THEN pg_catalog.pg_get_functiondef(p.oid) END
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
JOIN pg_catalog.pg_language l ON l.oid = p.prolang
LEFT JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::regclass
     AND d.objid = p.oid AND d.refclassid = 'pg_catalog.pg_extension'::regclass
     AND d.deptype = 'e'
LEFT JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
WHERE p.oid = %(oid)s::oid
   OR (p.proname = %(name)s AND (n.nspname <> 'pg_catalog' OR e.oid IS NOT NULL
                                 OR p.oid >= 16384)
       AND n.nspname = coalesce(%(schema)s, n.nspname))
ORDER BY 2
"""

# A materialized view by name (`schema.name`, or a bare name the search_path reaches) and its
# query, which `REFRESH MATERIALIZED VIEW` runs.
_VIEW = """
SELECT c.oid::regclass::text, pg_catalog.pg_get_viewdef(c.oid)
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'm' AND (n.nspname || '.' || c.relname = %(name)s
                           OR (c.relname = %(name)s AND pg_catalog.pg_table_is_visible(c.oid)))
"""

# Of the function names called, those PostgreSQL ships (pg_catalog).
_BUILTIN = f"""
SELECT DISTINCT p.proname FROM pg_catalog.pg_proc p
WHERE p.proname = ANY(%s) AND {BUILT_IN}
"""


class CalledWrites:
    """Follows the functions called on the database `conn` is connected to, and in
    `created` (`summary["row_changes"]["created_functions"]`); each function once."""

    def __init__(self, conn: Any, created: Mapping[str, Sequence[Mapping[str, Any]]]
                 ) -> None:
        self._conn = conn
        self._created = created
        self._followed: set[object] = set()

    def of_calls(self, names: Iterable[str]) -> tuple[set[str], str | None]:
        """The tables the functions `names` write, or why that cannot be told, starting
        with the function it is of (`app.f(integer), which builds SQL at run time`)."""
        tables: set[str] = set()
        names = sorted(set(names))
        builtin = self._builtin(names)
        for name in names:
            schema, _, bare = name.rpartition(".")
            ours = bare in builtin and schema in ("", "pg_catalog")
            if ours and bare in RUNS_QUERIES:
                return tables, (f"{name}, which runs the query it is given, which dbsafe "
                                "does not read")
            # A bare name pg_catalog has: what the overloads of other schemas write too.
            found = self._bodies(bare, schema or None, None)
            if not found:
                if ours:
                    continue
                return tables, f"{name}, which may change any table"
            written, why = self._of_bodies(found)
            if why is not None:
                return tables, why
            tables |= written
        return tables, None

    def of_view(self, name: str) -> tuple[set[str], str | None]:
        """The tables the query of the materialized view `name` writes (a `REFRESH` runs
        it), through the functions it calls, or why that cannot be told, starting with the
        view (`app.totals, whose query calls ...`)."""
        from dbsafe.lint.body_writes import query_writes

        found = self._conn.execute(_VIEW, {"name": name}).fetchone()
        if found is None:
            return set(), f"{name}, a materialized view the database does not have"
        label, query = found
        written, why = self.of_writes(query_writes(query))
        return written, why and f"{label}, whose query {why}"

    def of_trigger(self, oid: int) -> tuple[set[str], str | None]:
        """The tables the trigger function `oid` writes (and a body the revisions give it
        under its name), or why that cannot be told, starting with the function it is of."""
        return self._of_bodies(self._bodies(None, None, oid))

    def of_writes(self, writes: Writes) -> tuple[set[str], str | None]:
        """What a body read as `writes` writes, with what the functions it calls write."""
        if writes.unknown is not None:
            return set(), writes.unknown
        called, why = self.of_calls(sorted(writes.functions))
        if why is not None:
            return set(), f"calls {why}"
        return set(writes.tables) | called, None

    def _of_bodies(self, bodies: Sequence[tuple[object, str, Writes]]
                   ) -> tuple[set[str], str | None]:
        tables: set[str] = set()
        for key, label, writes in bodies:
            if key in self._followed:
                continue
            self._followed.add(key)
            written, why = self.of_writes(writes)
            if why is not None:
                return tables, f"{label}, which {why}"
            tables |= written
        return tables, None

    def _bodies(self, name: str | None, schema: str | None, oid: int | None
                ) -> list[tuple[object, str, Writes]]:
        # (key, label, what it writes) of each function a call may reach: on the database,
        # and as the revisions create it.
        bodies: list[tuple[object, str, Writes]] = []
        for found, label, nspname, proname, *read in self._conn.execute(
                _FUNCTIONS, {"oid": oid, "name": name, "schema": schema}):
            bodies.append((found, label, _database_writes(proname, *read)))
            if oid is not None:  # the trigger's function: the revisions' one of its name
                name, schema = proname, nspname
        for created, entries in self._created.items():
            created_schema, _, created_name = created.rpartition(".")
            if created_name != name or (schema and created_schema
                                        and created_schema != schema):
                continue
            for index, entry in enumerate(entries):
                bodies.append(((created, index), f"{created}() as {entry['revision']} "
                               "creates it", Writes(frozenset(entry.get("tables") or ()),
                                                    frozenset(entry.get("functions") or ()),
                                                    entry.get("unknown"))))
        return bodies

    def _builtin(self, functions: Sequence[str]) -> set[str]:
        # Of the names called, bare or in pg_catalog, those pg_catalog has.
        bare = sorted({f.removeprefix("pg_catalog.") for f in functions
                       if "." not in f.removeprefix("pg_catalog.")})
        if not bare:
            return set()
        return {r[0] for r in self._conn.execute(_BUILTIN, (bare,))}


def _database_writes(name: str, language: str, extension: str | None,
                     definition: str | None) -> Writes:
    """What a function `pg_proc` holds writes, from its name, language, owning extension
    and definition (None: not a function or procedure, which has none)."""
    if definition is None and extension in NO_SQL_C_EXTENSIONS:  # citext's max(citext)
        return Writes()
    if definition is None:
        return Writes(unknown="is an aggregate or window function, which dbsafe does not "
                      "read")
    if language == "internal":  # an alias of one of PostgreSQL's own functions
        return Writes()
    if language == "c" and (extension in NO_SQL_C_EXTENSIONS
                            or (extension, name) in ROW_ONLY_C):
        return Writes()
    return function_writes(language, definition)


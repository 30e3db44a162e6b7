"""DBS316 (`codes.UNKNOWN_TYPE`): a statement casts to a type no schema it can reach has.

Read with PostgreSQL's own parser (pglast): every cast a query writes (`x::t`, `CAST(x AS
t)`, `t 'literal'`, `ARRAY[]::s.t[]`) is a `TypeCast` node whose `TypeName` PostgreSQL
looks up in pg_type when it parses the statement, refusing it with 42704 (`type "t" does not
exist`) when none is found. The parser has already turned the SQL spellings of built-in
types into pg_catalog names (`integer`: `pg_catalog.int4`, `double precision`,
`character varying(10)`, `timestamp with time zone`, `interval day to second`, `bit
varying`), so a name is looked for as PostgreSQL does, among:

* pg_catalog's types on every shipped PostgreSQL version (`catalog_callables`, which holds
  every `pg_type` name there: `int4`, `"char"`, `regclass`, the pseudo-types, the row types
  of the catalog's relations, the array types `_int4`);
* the snapshot's enums, domains, composite types and range types, and every relation (a
  table, view, materialized view, sequence or foreign table has a row type of its name);
* the types of the extensions the snapshot has (`_EXTENSION_TYPES`, read from pg_depend on
  PostgreSQL 18's contrib and the extensions dbsafe's throwaway server ships); an extension
  not listed may own any type name, so while the schema has one, no unqualified name and no
  name in its schema is reported;
* an array type's name (`_t`) counts as its element type's (`t`), a range type's
  multirange type as its own;
* any type a column, a function's argument or result, or a domain is of (a base type made
  with `CREATE TYPE t (INPUT = ...)` is in no list of the snapshot, but its input function
  returns it), in any schema.

An unqualified name is looked for in every schema (the application may set another search
path); a qualified one in its schema, which the schema must describe whole: a schema it
does not have (PostgreSQL then says 3F000, not 42704), a stand-in's and
information_schema/pg_toast are never judged. `%TYPE` (PL/pgSQL's) and `SETOF` are not
casts' and are left alone. What a failed migration statement or the file's own DDL may have
made is dropped by the scan (`scan._made_earlier`, `scan._failed_type`), as for DBS314.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dbsafe.validate.per_snapshot import PerSnapshot

if TYPE_CHECKING:
    from dbsafe.schema.model import SchemaSnapshot

UNKNOWN_TYPE_DOC = """A statement casts to a type the schema does not have.

## Why
PostgreSQL looks the type of a cast up when it parses the statement: with no type of that
name where the cast can reach, every run of the statement fails with `42704: type
"cook_type" does not exist`. A migration that renamed or dropped the type (Software
Heritage's vault renamed `cook_type` to `bundle_type`; its backend kept casting
`%s::cook_type`) breaks the application in production.

## Bad
```sql
-- a migration: CREATE TYPE bundle_type AS ENUM ('flat', 'gitfast', 'git_bare')
SELECT id FROM vault_bundle WHERE type = %s::cook_type;
SELECT CAST($1 AS public.money_amount);
SELECT ARRAY[]::public.tag[];
```

## Good
```sql
SELECT id FROM vault_bundle WHERE type = %s::bundle_type;
SELECT $1::integer, $2::double precision, $3::character varying(10), $4::"char",
       $5::timestamp with time zone, interval '1' day to second, $6::regclass;
-- a table's row type: every relation is a type
SELECT ROW(1, 'flat')::vault_bundle;
```

## Not flagged
Any type pg_catalog has on a PostgreSQL version dbsafe ships (15, 17, 18), in every spelling
PostgreSQL accepts; a relation's row type; an array type's `_name`; a type of an extension
the schema has (while it has an extension whose types dbsafe does not know, no unqualified
name and none in that extension's schema); a type in a schema the snapshot does not
describe, or describes only in part (a stand-in's, information_schema); a type a migration
statement that failed, or one dbsafe did not run, may have made or names; one the file's own
DDL makes, and every name after DDL dbsafe cannot read or a `SET search_path`. Only casts
are read: column definition lists and DDL in application code are not.
"""

# The statements whose casts are checked (as `calls._DML_NODES`).
_DML_NODES = frozenset({"SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt",
                        "CallStmt"})
# Schemas whose types no snapshot lists.
_UNDESCRIBED_SCHEMAS = frozenset({"information_schema", "pg_toast"})
# The types each extension makes (its own and their array types), read from pg_depend on
# PostgreSQL 18 after `CREATE EXTENSION ... CASCADE` of every extension the throwaway server
# ships (task 486). An extension missing here may make any type.
_EXTENSION_TYPES: dict[str, frozenset[str]] = {
    name: frozenset(types.split()) for name, types in {
        **{name: "" for name in (
            "amcheck", "autoinc", "bloom", "btree_gin", "dict_int", "dict_xsyn", "file_fdw",
            "fuzzystrmatch", "insert_username", "intagg", "moddatetime", "pageinspect",
            "pg_freespacemap", "pg_logicalinspect", "pg_prewarm", "pg_surgery",
            "pg_visibility", "pg_walinspect", "pgcrypto", "pgrowlocks", "pgstattuple",
            "plpgsql", "postgres_fdw", "refint", "tcn", "tsm_system_rows", "tsm_system_time",
            "unaccent", "uuid-ossp")},
        "btree_gist": "gbtreekey2 gbtreekey4 gbtreekey8 gbtreekey16 gbtreekey32 gbtreekey_var",
        "citext": "citext",
        "cube": "cube",
        "dblink": "dblink_pkey_results",
        "earthdistance": "earth",
        "hstore": "hstore ghstore",
        "intarray": "intbig_gkey query_int",
        "isn": "ean13 isbn isbn13 ismn ismn13 issn issn13 upc",
        "lo": "lo",
        "ltree": "lquery ltree ltree_gist ltxtquery",
        "pg_buffercache": "pg_buffercache pg_buffercache_numa",
        "pg_stat_statements": "pg_stat_statements pg_stat_statements_info",
        "pg_trgm": "gtrgm",
        "seg": "seg",
        "tablefunc": "tablefunc_crosstab_2 tablefunc_crosstab_3 tablefunc_crosstab_4",
        "vector": "vector halfvec sparsevec",
    }.items()}


@dataclass(frozen=True, slots=True)
class TypeUse:
    """A cast to a type the schema lacks: its name as written, the schema it was
    qualified with, and where its name is (0-based, inclusive, in the statement)."""

    name: str
    schema: str | None
    start: int
    end: int

    def described(self) -> tuple[str, str]:
        """The problem's message and help."""
        where = f"in schema `{self.schema}`" if self.schema else "in any schema"
        return (f"no type `{self.name}` {where}",
                "Cast to a type the schema has, or create the type in a migration "
                "(PostgreSQL refuses the statement: 42704).")


class Types:
    """The type names a cast may reach in one snapshot; see the module docstring."""

    def __init__(self, snapshot: SchemaSnapshot) -> None:
        from dbsafe.validate.syscatalog import catalog_callables

        in_schema = [(t.schema, t.name) for kind in (
            snapshot.enums, snapshot.domains, snapshot.composite_types, snapshot.range_types)
            for t in kind]
        in_schema += [(r.schema, r.name) for r in snapshot.relations]
        in_schema += [(s.schema, s.name) for s in snapshot.sequences]
        for kind in snapshot.range_types:
            # its multirange type (PostgreSQL 14+), named so when none was given
            named = kind.multirange.rpartition(".") if kind.multirange else None
            in_schema += [(named[0], named[2].strip('"'))] if named else []
            in_schema += [(kind.schema, kind.name.replace("range", "multirange")),
                          (kind.schema, f"{kind.name}_multirange")]
        opaque: set[str] = set()  # schemas of extensions whose types are not known
        for extension in snapshot.extensions:
            types = _EXTENSION_TYPES.get(extension.name)
            if types is None:
                opaque.add(extension.schema)
                continue
            in_schema += [(extension.schema, name) for name in types]
            in_schema += [(extension.schema, name) for name in extension.relations]
        # A base type (`CREATE TYPE t (INPUT = t_in, ...)`) is in no list of the snapshot,
        # but its input function returns it, and a column or an argument may be of it:
        # every type a column, an argument or a result is of is taken to exist, in any
        # schema (a name is a reason to stay silent only).
        self.mentioned = frozenset(filter(None, (_type_name(text) for text in (
            [c.type for r in snapshot.relations for c in r.columns]
            + [a.type for f in snapshot.functions for a in f.arguments]
            + [f.returns for f in snapshot.functions]
            + [d.type for d in snapshot.domains]))))
        self.in_schema = frozenset(in_schema)
        self.anywhere = (frozenset(name for _, name in in_schema) | catalog_callables()
                         | self.mentioned)
        self.catalog = catalog_callables()
        self.opaque = frozenset(opaque)
        self.schemas = (frozenset(snapshot.schemas) - snapshot.stand_in_schemas()
                        - _UNDESCRIBED_SCHEMAS - self.opaque)

    def missing(self, name: str, schema: str | None) -> bool:
        """Whether no type `[schema.]name` a cast may reach exists, surely.

        >>> from dbsafe.schema.model import Enum, SchemaSnapshot
        >>> types = Types(SchemaSnapshot(schemas=("public",), enums=(
        ...     Enum("public", "bundle_type", ("flat",)),)))
        >>> [types.missing(*n) for n in (("cook_type", None), ("bundle_type", None),
        ...     ("_bundle_type", "public"), ("int4", "pg_catalog"), ("char", None),
        ...     ("t", "elsewhere"), ("nope", "pg_catalog"), ("cardinal_number",
        ...     "information_schema"))]
        [True, False, False, False, False, False, True, False]
        """
        names = {name, name[1:]} if name.startswith("_") else {name}
        if schema is None:
            return not self.opaque and not names & self.anywhere
        if schema == "pg_catalog":
            return not names & self.catalog
        return schema in self.schemas and not names & self.mentioned and not any(
            (schema, n) in self.in_schema for n in names)


def _type_name(text: str) -> str | None:
    """The unqualified name of the type `format_type` wrote as `text` (a column's, an
    argument's, a result's): `public."My Type"[]` is `My Type`, `SETOF t` is `t`,
    `numeric(12,2)` is `numeric`; None for `TABLE(...)`, which names several.

    >>> [_type_name(t) for t in ('public."My Type"[]', "SETOF s.t", "numeric(12,2)",
    ...     "TABLE(a integer)", "timestamp with time zone", 's."x""y"')]
    ['My Type', 't', 'numeric', None, 'timestamp with time zone', 'x"y']
    """
    text = text.strip()
    if text.startswith("SETOF "):
        text = text[len("SETOF "):].strip()
    if text.startswith("TABLE(") or not text:
        return None
    while text.endswith("[]"):
        text = text[:-2]
    if text.endswith(")") and "(" in text:
        text = text[:text.rindex("(")]
    if not text.endswith('"'):
        return text.rsplit(".", 1)[-1] or None
    at = len(text) - 2  # back to the quote opening the last identifier (`""` is a quote)
    while at >= 0 and (text[at] != '"' or (at > 0 and text[at - 1] == '"')):
        at -= 2 if text[at] == '"' else 1
    return text[at + 1:-1].replace('""', '"') or None


_TYPES: PerSnapshot[Types] = PerSnapshot(Types)


def types_of(snapshot: SchemaSnapshot) -> Types:
    """`Types` of `snapshot`, built once per process."""
    return _TYPES(snapshot)


def type_parts(type_name: dict[str, Any]) -> list[str] | None:
    """The one or two parts of a `TypeName`'s name (pglast's JSON) a cast looks up; None
    for what is no cast's type to judge (`%TYPE`, `SETOF`, three parts: a database's)."""
    if type_name.get("pct_type") or type_name.get("setof"):
        return None
    parts = [p.get("String", {}).get("sval") for p in type_name.get("names", ())]
    if not 1 <= len(parts) <= 2 or not all(parts):
        return None
    return parts


def missing_types(sql: str, snapshot: SchemaSnapshot) -> list[TypeUse]:
    """The casts in the queries of `sql` (SELECT, INSERT, UPDATE, DELETE, MERGE, CALL) to a
    type the schema lacks, as PostgreSQL's parser reads them (driver placeholders numbered
    in place); none when it cannot read them so.

    >>> from dbsafe.schema.model import Enum, SchemaSnapshot
    >>> snapshot = SchemaSnapshot(schemas=("public",), enums=(
    ...     Enum("public", "bundle_type", ("flat",)),))
    >>> [(t.name, t.schema, t.start, t.end) for t in missing_types(
    ...     "SELECT %s::cook_type, %s::bundle_type, CAST(1 AS double precision), "
    ...     "ARRAY[]::public.tag[], '1'::\\"char\\"", snapshot)]
    [('cook_type', None, 11, 19), ('tag', 'public', 77, 86)]
    """
    from dbsafe.validate.calls import read_statements

    read = read_statements(sql)
    if read is None:
        return []
    types = types_of(snapshot)
    found: list[TypeUse] = []
    for type_name, parts in _casts(read.statements):
        name, schema = parts[-1], parts[0] if len(parts) == 2 else None
        if not types.missing(name, schema):
            continue
        start = read.offset(type_name.get("location", 0))
        if start is not None:
            found.append(_use(sql, start, parts))
    return sorted(found, key=lambda t: t.start)


def _casts(statements: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], list[str]]]:
    """The `TypeName` of every `TypeCast` in the queries among `statements`, with its
    name's parts."""
    from dbsafe.validate.calls import query_nodes

    for node in query_nodes([s for s in statements if next(iter(s), None) in _DML_NODES]):
        cast = node.get("TypeCast")
        if isinstance(cast, dict):
            type_name = cast.get("typeName")
            parts = type_parts(type_name) if isinstance(type_name, dict) else None
            if parts is not None:
                yield type_name, parts  # type: ignore[misc]


def _use(sql: str, start: int, parts: list[str]) -> TypeUse:
    from dbsafe.validate.resolver import _name_spans

    spans = _name_spans(sql, start, parts)
    first, last = spans[0][0], spans[-1][1]
    return TypeUse(parts[-1], parts[0] if len(parts) == 2 else None, first, last)

"""Column types as PostgreSQL resolves their spelling, and which changes between them it makes
without rewriting the table: lint's DBS110 and DBS127 and diff's `--sql` hazards read them.

Verified on PostgreSQL 18 by comparing `pg_relation_filenode` before and after each change;
the table is in the docs of DBS110 (column-type-change-rewrites-table).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any


@dataclass(frozen=True, slots=True)
class TypeName:
    """A column type as PostgreSQL resolves its spelling (`character varying(20)` -> varchar).

    `name` is the catalog name (`int4`, `varchar`, `bpchar`, `timestamptz`, `text`, or a user
    type); `schema` is None for built-in spellings and unqualified names.
    """

    name: str
    schema: str | None = None
    mods: tuple[int, ...] = ()
    array: bool = False

    def __str__(self) -> str:
        text = _TYPE_DISPLAY.get(self.name, self.name) if self.schema is None else \
            f"{self.schema}.{self.name}"
        if self.mods:
            text += "(" + ",".join(str(m) for m in self.mods) + ")"
        return text + ("[]" if self.array else "")


_TYPE_DISPLAY = {"bpchar": "char", "varbit": "bit varying", "int4": "integer",
                 "int8": "bigint", "int2": "smallint", "float8": "double precision",
                 "float4": "real", "bool": "boolean"}


def type_name(node: Mapping[str, Any] | None) -> TypeName | None:
    """The `TypeName` node as a `TypeName` fact."""
    if not node:
        return None
    node = node.get("TypeName", node)
    names = tuple(n["String"].get("sval", "") for n in node.get("names") or () if "String" in n)
    if not names:
        return None
    schema = names[-2] if len(names) > 1 else None
    if schema == "pg_catalog":
        schema = None
    name = names[-1]
    if schema is None:
        name = _TYPE_ALIASES.get(name, name)
    mods = []
    for mod in node.get("typmods") or ():
        value = mod.get("A_Const", {}).get("ival")
        if value is not None:  # (an A_Const of 0 has an empty ival)
            mods.append(int(value.get("ival", 0)))
    if name == "interval":
        mods = []  # the typmod of interval encodes fields too; only the type matters here
    return TypeName(name, schema, tuple(mods), bool(node.get("arrayBounds")))


_TYPE_ALIASES = {"int": "int4", "integer": "int4", "bigint": "int8", "smallint": "int2",
                 "serial4": "serial", "serial8": "bigserial", "serial2": "smallserial",
                 "decimal": "numeric", "boolean": "bool", "float": "float8", "real": "float4",
                 "character varying": "varchar", "timestamp without time zone": "timestamp",
                 "timestamp with time zone": "timestamptz"}


@lru_cache(maxsize=1024)
def type_from_text(text: str) -> TypeName | None:
    """A type as PostgreSQL prints it (`character varying(20)`, a snapshot's) as a
    `TypeName`; None where it does not parse as one."""
    import json

    from pglast.parser import ParseError, parse_sql_json

    try:
        tree = json.loads(parse_sql_json(f"CREATE TABLE t (c {text})"))
    except ParseError:
        return None
    statements = tree.get("stmts") or []
    create = statements[0]["stmt"].get("CreateStmt", {}) if len(statements) == 1 else {}
    elements: list[dict[str, Any]] = create.get("tableElts") or []
    column = elements[0].get("ColumnDef") if len(elements) == 1 else None
    return type_name(column.get("typeName")) if column else None


# The pseudo-types a column definition makes an integer column of, NOT NULL with a sequence's
# nextval() as its default (written unqualified: PostgreSQL's transformColumnDefinition).
SERIAL_TYPES = frozenset({"serial", "serial4", "bigserial", "serial8", "smallserial",
                          "serial2"})
# serial columns are integer columns with a sequence default.
_STORED_AS = {"serial": "int4", "serial4": "int4", "bigserial": "int8", "serial8": "int8",
              "smallserial": "int2", "serial2": "int2", "int": "int4", "integer": "int4"}


def stored_as(t: TypeName) -> tuple[str, tuple[int, ...], bool]:
    """(type, modifiers, array) as PostgreSQL stores a column of type `t`."""
    return _STORED_AS.get(t.name, t.name), t.mods, t.array


def rewrites(old: TypeName, new: TypeName, *, utc: bool = False) -> bool | None:
    """False when PostgreSQL changes `old` to `new` without a rewrite (binary-coercible, or
    a wider length/precision), True when it rewrites, None for timestamp → timestamptz or
    back outside a UTC session (depends on the session's TimeZone).

    >>> rewrites(TypeName("varchar", None, (10,)), TypeName("text"))
    False
    >>> rewrites(TypeName("bpchar", None, (5,)), TypeName("text"))
    True
    >>> rewrites(TypeName("timestamp"), TypeName("timestamptz"), utc=True)
    False
    >>> rewrites(TypeName("timestamptz"), TypeName("timestamp")) is None
    True
    >>> rewrites(TypeName("varchar", None, (10,), True), TypeName("varchar", None, (), True))
    False
    """
    (ob, om, oa), (nb, nm, na) = stored_as(old), stored_as(new)
    if (ob, om, oa) == (nb, nm, na):
        return False
    if (ob, oa) == (nb, na) and not nm:
        # The same type without a modifier (`vector(1536)` -> `vector`, `varchar(10)[]` ->
        # `varchar[]`): no length coercion to run, PostgreSQL only relabels the column.
        return False
    if oa or na:
        return True
    if {ob, nb} == {"timestamp", "timestamptz"} and (not nm or (om and nm[0] >= om[0])):
        # either way (PostgreSQL's ATColumnChangeRequiresRewrite: timestamptz_timestamp
        # and timestamp_timestamptz alike): Marquez's V73 taken back kept its tables' files
        return False if utc else None
    if ob in ("varchar", "text") and nb == "text":
        return False
    if ob == "text" and nb == "varchar":
        return bool(nm)
    if ob == nb and ob in ("varchar", "varbit"):
        return bool(nm) and (not om or nm[0] < om[0])
    if (ob, nb) == ("bit", "varbit"):
        return bool(nm)
    if ob == nb == "numeric":
        if not nm:
            return False
        if not om:
            return True
        old_scale = om[1] if len(om) > 1 else 0
        new_scale = nm[1] if len(nm) > 1 else 0
        return not (nm[0] >= om[0] and new_scale == old_scale)
    if ob == nb and ob in ("timestamp", "timestamptz", "time", "timetz", "interval"):
        return bool(nm) and (not om or nm[0] < om[0])
    if (ob, nb) in _CITEXT_RELABELS:
        return bool(nm)  # citext -> varchar(n) coerces the length
    return (ob, nb) != ("cidr", "inet")


# citext (contrib) is stored as text: its casts from text and varchar and to text and
# varchar are WITHOUT FUNCTION (citext--1.4.sql), so PostgreSQL only relabels the column
# (pocket-id's varchar(255) -> citext kept users' relfilenode on PostgreSQL 18). Its
# indexes are rebuilt all the same: their operator class changes (`changes_index_order`).
_CITEXT_RELABELS = frozenset({("text", "citext"), ("varchar", "citext"), ("citext", "text"),
                              ("citext", "varchar")})


def changes_index_order(old: TypeName, new: TypeName) -> bool:
    """Does a change from `old` to `new` that keeps the rows rebuild the column's indexes
    because the new type orders and compares its values otherwise (another default
    operator class: text <-> citext)?

    >>> changes_index_order(TypeName("varchar", None, (255,)), TypeName("citext"))
    True
    >>> changes_index_order(TypeName("varchar", None, (10,)), TypeName("text"))
    False
    """
    return (stored_as(old)[0], stored_as(new)[0]) in _CITEXT_RELABELS

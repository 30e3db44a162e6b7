"""Which `ALTER COLUMN c TYPE t` keep every value exactly, so that no row can refuse them
(DBS615 asks nothing of the rows): the values cast are today's, so are the unique indexes,
CHECKs and foreign keys PostgreSQL checks again over them, and a later statement of the plan
checking the column (a foreign key added back) is asked of the rows as they are.

Told from the catalogs (the column's type, typmod and collation, the new type's), never from
the words: `integer` to `bigint` (the most common type change, ids running out), `smallint`
to either; a longer or unlimited `varchar`, `varbit` or `numeric` of the same scale; a finer
`timestamp`/`time` precision; `bit(n)` to `varbit`; and a binary-coercible cast
(`pg_cast.castmethod = 'b'`: `varchar` to `text`, `text` to `varchar`) where both are string
types compared with the same btree operator family. Not `text` to
`char`, binary coercible too, whose comparison ignores trailing spaces (`'a'` and `'a '` then
collide in a unique index), nor `integer` to `oid` (-1 is 4294967295 to a CHECK), nor `cidr`
to `inet` (the same bytes, compared alike, but functions of their own: a CHECK
`abbrev(c) = '10.1/16'` holds for the cidr `10.1.0.0/16`, not for the inet). Either side may
be a domain: the new one with no CHECK or NOT NULL (of its own or under it). Without `COLLATE`
the column takes the new type's collation, which must be the column's: under another, a
CHECK comparing strings or a unique index over them may refuse. A `USING` other than the
column itself (`USING c`, `USING c::t`) is asked as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pglast import ast

# Types to their wider ones: every value of the one is the same value of the other.
_WIDER = frozenset({("int2", "int4"), ("int2", "int8"), ("int4", "int8"), ("bit", "varbit")})
# Types whose typmod only bounds their values: a larger one keeps every value.
_LENGTHS = frozenset({"varchar", "varbit"})
_PRECISIONS = frozenset({"timestamp", "timestamptz", "time", "timetz"})  # -1: 6 digits


def kept_values(conn: Any, table: str, column: str, definition: ast.ColumnDef) -> str:
    """Why `ALTER COLUMN column TYPE ...` (`definition`) keeps every value of `table.column`
    (`integer to bigint keeps every value`), or "" where it cannot be shown."""
    from pglast.stream import RawStream

    assert definition.typeName is not None
    target = str(RawStream()(definition.typeName))
    if definition.collClause is not None \
            or not casts_column_as_is(definition.raw_default, column, target):
        return ""
    current = conn.execute(
        "SELECT atttypid, atttypmod, attcollation FROM pg_attribute WHERE attrelid = "
        "to_regclass(%s) AND attname = %s AND NOT attisdropped", (table, column)).fetchone()
    new = conn.execute("SELECT oid, typcollation FROM pg_type WHERE oid = to_regtype(%s)",
                       (target,)).fetchone()
    if current is None or new is None or current[2] != new[1]:
        return ""
    written = _written_typmod(conn, new[0], definition.typeName)
    if written is None:
        return ""
    source, _ = _base(conn, current[0], int(current[1]))
    dest, constrained = _base(conn, new[0], written)
    if constrained or not _keeps(conn, source, dest):
        return ""
    before, after = conn.execute("SELECT format_type(%s, %s), format_type(%s, %s)",
                                 (current[0], current[1], new[0], written)).fetchone()
    return f"{before} to {after} keeps every value: nothing to ask"


def casts_column_as_is(using: Any, column: str, target: str) -> bool:
    """Whether a `USING` clause gives the column's own values (none, `USING c`, `USING
    c::t` to the statement's type)."""
    from pglast import ast
    from pglast.stream import RawStream

    if isinstance(using, ast.TypeCast) and using.typeName is not None \
            and str(RawStream()(using.typeName)) == target:
        using = using.arg
    return using is None or (isinstance(using, ast.ColumnRef)
                             and [f.sval for f in using.fields or ()][-1:] == [column])


def _written_typmod(conn: Any, oid: int, type_name: ast.TypeName) -> int | None:
    """The typmod `varchar(10)` is written with (-1: none), read by the type's own
    `typmodin`; None when it is no list of integers."""
    from pglast import ast
    from pglast.stream import RawStream

    mods = type_name.typmods or ()
    if not mods:
        return -1
    if not all(isinstance(m, ast.A_Const) and isinstance(m.val, ast.Integer) for m in mods):
        return None
    row = conn.execute("SELECT typmodin::regproc::text FROM pg_type WHERE oid = %s "
                       "AND typmodin <> 0", (oid,)).fetchone()
    if row is None:
        return None
    array = "{" + ",".join(str(RawStream()(m)) for m in mods) + "}"
    return int(conn.execute(f"SELECT {row[0]}(%s::cstring[])", (array,)).fetchone()[0])


def _base(conn: Any, oid: int, typmod: int) -> tuple[tuple[int, int], bool]:
    """A type through its domains: (its base type, the typmod that holds: its own, else the
    outermost domain's), and whether a domain on the way has a CHECK or NOT NULL."""
    chain = domain_chain(conn, oid)
    held = typmod if typmod >= 0 else (chain.typmod if chain.typmod is not None else -1)
    return (chain.base, held), chain.constrained


@dataclass(frozen=True, slots=True)
class DomainChain:
    """A type read through the domains over it (none for a type that is no domain)."""

    base: int  # the type under every domain
    typmod: int | None  # the outermost domain's typmod that holds (`varchar(10)`), if any
    constrained: bool  # a domain on the way has a CHECK or NOT NULL
    default: str | None  # the nearest domain's DEFAULT (`pg_get_expr`), if any


def domain_chain(conn: Any, oid: int) -> DomainChain:
    """The type `oid` through its domains, read in one query of the catalogs."""
    base, typmod, constrained, default = conn.execute(
        "WITH RECURSIVE d AS (SELECT oid, typtype, typbasetype, typtypmod, typnotnull, "
        "typdefaultbin, 0 AS depth FROM pg_type WHERE oid = %s UNION ALL SELECT t.oid, "
        "t.typtype, t.typbasetype, t.typtypmod, t.typnotnull, t.typdefaultbin, d.depth + 1 "
        "FROM pg_type t JOIN d ON t.oid = d.typbasetype) "
        "SELECT (SELECT oid FROM d WHERE typtype <> 'd'), (SELECT typtypmod FROM d "
        "WHERE typtype = 'd' AND typtypmod >= 0 ORDER BY depth LIMIT 1), bool_or(typnotnull) "
        "OR EXISTS (SELECT FROM pg_constraint c JOIN d ON c.contypid = d.oid), "
        "(SELECT pg_get_expr(typdefaultbin, 0) FROM d WHERE typtype = 'd' "
        "AND typdefaultbin IS NOT NULL ORDER BY depth LIMIT 1) FROM d", (oid,)).fetchone()
    return DomainChain(int(base), typmod, bool(constrained), default)


def _keeps(conn: Any, source: tuple[int, int], dest: tuple[int, int]) -> bool:
    (old, old_mod), (new, new_mod) = source, dest
    names = dict(conn.execute(
        "SELECT oid, typname FROM pg_type WHERE oid IN (%s, %s) "
        "AND typnamespace = 'pg_catalog'::regnamespace", (old, new)).fetchall())
    was, becomes = names.get(old), names.get(new)
    if old == new:
        if old_mod == new_mod:
            return True
        if was in _PRECISIONS:
            return (6 if new_mod < 0 else new_mod) >= (6 if old_mod < 0 else old_mod)
        if was == "numeric":  # typmod - 4: precision << 16 | scale (11 bits)
            return new_mod < 0 or (old_mod >= 0 and (new_mod - 4) & 0x7FF == (old_mod - 4)
                                   & 0x7FF and (new_mod - 4) >> 16 >= (old_mod - 4) >> 16)
        return was in _LENGTHS and (new_mod < 0 or 0 <= old_mod <= new_mod)
    if (was, becomes) in _WIDER:
        return new_mod < 0 or (was == "bit" and 0 <= old_mod <= new_mod)
    return new_mod < 0 and _same_comparison(conn, old, new)


def _same_comparison(conn: Any, old: int, new: int) -> bool:
    """A binary-coercible cast (the same bytes) between string types (`typcategory` S: no
    function reads them otherwise, unlike `abbrev(cidr)`) compared by the same default btree
    operator family (a type without one of its own: its binary-coercible preferred type's, as
    `varchar` compares as `text`)."""
    family = ("(SELECT c.opcfamily FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod "
              "AND a.amname = 'btree' WHERE c.opcdefault AND c.opcintype IN (SELECT {0} "
              "UNION ALL SELECT k.casttarget FROM pg_cast k JOIN pg_type p ON p.oid = "
              "k.casttarget WHERE k.castsource = {0} AND k.castmethod = 'b' "
              "AND p.typispreferred) ORDER BY c.opcintype <> {0} LIMIT 1)")
    row = conn.execute(
        "SELECT EXISTS (SELECT FROM pg_cast WHERE castsource = %(old)s "
        "AND casttarget = %(new)s AND castmethod = 'b') AND (SELECT bool_and(typcategory = "
        "'S') FROM pg_type WHERE oid IN (%(old)s, %(new)s)) "
        f"AND {family.format('%(old)s::oid')} = {family.format('%(new)s::oid')}",
        {"old": old, "new": new}).fetchone()
    return bool(row and row[0])

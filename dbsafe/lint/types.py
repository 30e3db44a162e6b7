"""Which column type changes PostgreSQL makes without rewriting the table.

Verified on PostgreSQL 18 by comparing `pg_relation_filenode` before and after each change;
the table is in the docs of DBS110 (column-type-change-rewrites-table).
"""

from __future__ import annotations

from dbsafe.lint.statement import TypeName

# serial columns are integer columns with a sequence default.
_STORED_AS = {"serial": "int4", "serial4": "int4", "bigserial": "int8", "serial8": "int8",
              "smallserial": "int2", "serial2": "int2", "int": "int4", "integer": "int4"}


def stored_as(t: TypeName) -> tuple[str, tuple[int, ...], bool]:
    """(type, modifiers, array) as PostgreSQL stores a column of type `t`."""
    return _STORED_AS.get(t.name, t.name), t.mods, t.array


def rewrites(old: TypeName, new: TypeName, *, utc: bool = False) -> bool | None:
    """False when PostgreSQL changes `old` to `new` without a rewrite (binary-coercible, or
    a wider length/precision), True when it rewrites, None for timestamp → timestamptz
    outside a UTC session (depends on the session's TimeZone).

    >>> rewrites(TypeName("varchar", None, (10,)), TypeName("text"))
    False
    >>> rewrites(TypeName("bpchar", None, (5,)), TypeName("text"))
    True
    >>> rewrites(TypeName("timestamp"), TypeName("timestamptz"), utc=True)
    False
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
    if (ob, nb) == ("timestamp", "timestamptz") and (not nm or (om and nm[0] >= om[0])):
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
    return (ob, nb) != ("cidr", "inet")

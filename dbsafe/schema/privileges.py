"""Privileges as aclitem text spells them: parsed, expanded from the defaults, said in words."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

PRIVILEGES = {
    "r": "SELECT", "w": "UPDATE", "a": "INSERT", "d": "DELETE", "D": "TRUNCATE",
    "x": "REFERENCES", "t": "TRIGGER", "m": "MAINTAIN", "X": "EXECUTE", "U": "USAGE",
    "C": "CREATE", "c": "CONNECT", "T": "TEMPORARY",
}
# What an object's owner (and PUBLIC) hold when its ACL is the default (NULL); a table's
# owner holds MAINTAIN (m) too from PostgreSQL 17, where it came.
DEFAULT_OWNER_PRIVILEGES = {"r": "arwdDxt", "s": "rwU", "f": "X", "T": "U", "n": "UC",
                            "c": "", "L": "rw"}
DEFAULT_PUBLIC_PRIVILEGES = {"f": "X", "T": "U"}
# The ACL type (acldefault's letter) of each kind of object a diff compares grants of.
ACL_TYPES = {"table": "r", "partitioned_table": "r", "view": "r", "materialized_view": "r",
             "foreign_table": "r", "sequence": "s", "function": "f", "enum": "T",
             "domain": "T", "composite_type": "T", "range_type": "T", "schema": "n",
             "column": "c"}

# grantee ("" for PUBLIC) -> (privileges, privileges with grant option), as letters.
Acl = dict[str, tuple[frozenset[str], frozenset[str]]]


def parse_acl(items: Iterable[str]) -> Acl:
    """grantee -> (privileges, privileges with grant option); "" is PUBLIC.

    >>> parse_acl(["=r/app", "app=arw*/app"])["app"] == (frozenset("ar"), frozenset("w"))
    True
    """
    parsed: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
    for item in items:
        grantee, _, rest = item.partition("=")
        privileges, _, _grantor = rest.partition("/")
        grantee = grantee.strip('"').replace('""', '"')
        plain: set[str] = set()
        with_option: set[str] = set()
        for i, letter in enumerate(privileges):
            if letter == "*":
                continue
            (with_option if privileges[i + 1: i + 2] == "*" else plain).add(letter)
        old_plain, old_option = parsed.get(grantee, (frozenset(), frozenset()))
        parsed[grantee] = (old_plain | plain, old_option | with_option)
    return parsed


def effective_acl(acl: Sequence[str], acl_type: str, owner: str | None, *, maintain: bool,
                  ) -> Acl:
    """`acl` parsed, or for `()` (NULL: the defaults) what the defaults grant `owner` and
    PUBLIC on an object of `acl_type`."""
    if acl:
        return parse_acl(acl)
    result: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
    owned = DEFAULT_OWNER_PRIVILEGES.get(acl_type, "") + ("m" if maintain and acl_type == "r"
                                                         else "")
    if owner and owned:
        result[owner] = (frozenset(owned), frozenset())
    if acl_type in DEFAULT_PUBLIC_PRIVILEGES:
        result[""] = (frozenset(DEFAULT_PUBLIC_PRIVILEGES[acl_type]), frozenset())
    return result


def said_grants(old: Sequence[str], new: Sequence[str], kind: str, owner: str | None, *,
                source: str, target: str) -> str | None:
    """How two ACLs of one object differ, in privileges held by each role: `PUBLIC has
    SELECT in the database, not in the migrations`. None where they differ in grantors alone
    or the object's defaults are not known (a default side whose owner is unknown).

    A `()` side holds the defaults (its owner's privileges, PUBLIC's EXECUTE on a function,
    USAGE on a type), which the first GRANT or REVOKE spells out as aclitems: compared so,
    a REVOKE of EXECUTE FROM PUBLIC reads as such, not as the owner's item it leaves.

    >>> said_grants(("=X/app", "app=X/app"), (), "function", "app",
    ...             source="the database", target="the migrations")
    >>> said_grants(("app=X/app",), (), "function", "app",
    ...             source="the database", target="the migrations")
    'PUBLIC has EXECUTE in the migrations, not in the database'
    >>> said_grants(("=r/app", "app=arwdDxtm/app", "ro=r*/app"), (), "table", "app",
    ...             source="the database", target="the migrations")
    'PUBLIC has SELECT, ro has SELECT WITH GRANT OPTION in the database, not in the migrations'
    """
    acl_type = ACL_TYPES.get(kind)
    if acl_type is None or (owner is None and not (old and new)
                            and DEFAULT_OWNER_PRIVILEGES.get(acl_type)):
        return None
    # a table's owner holds MAINTAIN from PostgreSQL 17: the defaults as the spelled-out side's
    # owner item has them
    maintain = any("m" in plain | option for grantee, (plain, option)
                   in parse_acl(old or new).items() if grantee == owner)
    before = effective_acl(old, acl_type, owner, maintain=maintain)
    after = effective_acl(new, acl_type, owner, maintain=maintain)

    def held(acl: Acl, other: Acl) -> list[str]:
        out = []
        for grantee in sorted(acl, key=lambda g: (g != "", g)):
            plain, option = acl[grantee]
            other_plain, other_option = other.get(grantee, (frozenset(), frozenset()))
            words = [PRIVILEGES.get(p, p) for p in _ordered(plain - other_plain - other_option)]
            words += [f"{PRIVILEGES.get(p, p)} WITH GRANT OPTION"
                      for p in _ordered(option - other_option)]
            if words:
                out.append(f"{grantee or 'PUBLIC'} has {', '.join(words)}")
        return out

    only_source, only_target = held(before, after), held(after, before)
    parts = []
    if only_source:
        parts.append(f"{', '.join(only_source)} in {source}, not in {target}")
    if only_target:
        parts.append(f"{', '.join(only_target)} in {target}, not in {source}")
    return "; ".join(parts) or None


def _ordered(letters: Iterable[str]) -> list[str]:
    order = "rawdDxtmXUCcT"
    return sorted(letters, key=lambda p: (order.find(p) if p in order else len(order), p))

"""PostgreSQL's rules for the names it chooses itself."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

_PLAIN = re.compile(r"[a-z_][a-z0-9_$]*")
_KEYWORDS: frozenset[str] | None = None


def quote_ident(name: str) -> str:
    """`name` as `quote_ident` writes it, quoted where any supported server needs it: the
    keywords are those of PostgreSQL's newest grammar (pglast's), so a name that became a
    keyword in a later version (`json`, a column-name keyword from PostgreSQL 16, refused
    as a function's name unquoted) is quoted even where the server that printed it did not
    (15's `quote_ident('json')` is `json`).

    >>> quote_ident("orders"), quote_ident("CustomerNotes"), quote_ident("user")
    ('orders', '"CustomerNotes"', '"user"')
    >>> quote_ident('a"b'), quote_ident("json")
    ('"a""b"', '"json"')
    """
    if _PLAIN.fullmatch(name) and name not in _keywords():
        return name
    return '"' + name.replace('"', '""') + '"'


def _keywords() -> frozenset[str]:
    """The keywords a bare identifier cannot be everywhere (all but the unreserved ones)."""
    global _KEYWORDS
    if _KEYWORDS is None:
        from pglast import keywords

        _KEYWORDS = frozenset(keywords.RESERVED_KEYWORDS | keywords.TYPE_FUNC_NAME_KEYWORDS
                              | keywords.COL_NAME_KEYWORDS)
    return _KEYWORDS


def object_name(name1: str, name2: str | None, label: str) -> str:
    """makeObjectName (PostgreSQL): `name1_name2_label`, the longer of the two names cut
    (at a character boundary) until it fits in 63 bytes.

    >>> object_name("orders", "customer_id", "fkey")
    'orders_customer_id_fkey'
    """
    first, second = name1.encode(), (name2 or "").encode()
    room = 63 - len(label) - 1 - (1 if name2 else 0)
    while len(first) + len(second) > room:
        if len(first) > len(second):
            first = first[:-1]
        else:
            second = second[:-1]
    parts = [first.decode(errors="ignore"), *([second.decode(errors="ignore")] if name2 else [])]
    return "_".join([*parts, label])


def name_with_suffix(prefix: str, suffix: str) -> str:
    """`prefix` + `suffix` within the 63 bytes PostgreSQL keeps of a name: `prefix` cut (at
    a character boundary), `suffix` whole, where PostgreSQL would cut the end, suffix and all.

    >>> name_with_suffix("orders", "_restored_20261205")
    'orders_restored_20261205'
    >>> name_with_suffix("é" * 40, "_restored_20261205")[-20:]
    'éé_restored_20261205'
    >>> len(name_with_suffix("é" * 40, "_restored_20261205").encode())
    62
    """
    room = 63 - len(suffix.encode())
    return prefix.encode()[:room].decode(errors="ignore") + suffix


def index_name(table: str, column_names: Sequence[str], taken: Callable[[str], bool]) -> str:
    """The name PostgreSQL gives an index `CREATE INDEX` builds without one (ChooseIndexName,
    indexcmds.c): `<table>_<column names>_idx` through makeObjectName, the column names
    joined until they reach 63 bytes; `idx1`, `idx2` ... past a name `taken` by a relation of
    its schema (ChooseRelationName).

    >>> index_name("users", ["lower"], lambda name: name == "users_lower_idx")
    'users_lower_idx1'
    """
    joined = b""
    for name in column_names:
        if joined:
            joined += b"_"
        joined += name.encode()[:63]
        if len(joined) >= 63:
            break
    addition, number = joined.decode(errors="ignore"), 0
    while taken(chosen := object_name(table, addition, f"idx{number or ''}")):
        number += 1
    return chosen

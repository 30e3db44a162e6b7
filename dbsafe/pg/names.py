"""PostgreSQL's rules for the names it chooses itself."""

from __future__ import annotations

from collections.abc import Callable, Sequence


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

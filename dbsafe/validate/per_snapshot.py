"""What validate builds from a schema snapshot (its quick check, its functions, its types,
its PostgREST relationships), once per process and snapshot."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from dbsafe.schema.model import SchemaSnapshot

T = TypeVar("T")


class PerSnapshot(Generic[T]):
    """`build(snapshot)`, kept for the last `keep` snapshots asked about (a run reads one;
    lint's DBS211 checks each request against two in turn), by identity: a snapshot is not
    hashed, and an equal one built again is another schema's reading.

    >>> built = PerSnapshot(lambda snapshot: object())
    >>> snapshot = object()
    >>> built(snapshot) is built(snapshot)
    True
    """

    def __init__(self, build: Callable[[SchemaSnapshot], T], keep: int = 8) -> None:
        self._build = build
        self._keep = keep
        self._built: dict[int, tuple[SchemaSnapshot, T]] = {}

    def __call__(self, snapshot: SchemaSnapshot) -> T:
        entry = self._built.get(id(snapshot))
        if entry is not None and entry[0] is snapshot:
            return entry[1]
        if len(self._built) >= self._keep:
            del self._built[next(iter(self._built))]  # the oldest
        value = self._build(snapshot)
        self._built[id(snapshot)] = (snapshot, value)
        return value

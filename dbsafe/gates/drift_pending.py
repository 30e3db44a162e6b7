"""What the pending migrations do to the objects `dbsafe drift` finds made or dropped by hand.

A migration a DBA ran by hand (its SQL pasted into psql, never `alembic upgrade` nor the
runner), its history row never written, leaves each object it made in the database, where
drift reports it against the database's recorded revision (DBS402, "in the database, not in
the migrations"), and its revision still pending: the next upgrade runs it again and fails on
the first of them (`relation ... already exists`, 42P07). So does a pending migration that
drops an object already gone (42P01), unless its DROP says IF EXISTS.

Found from what drift has: the schema at the database's revision (the reference) against
the schema at head, built only when something is pending and drift found an object on one
side only (cached as the reference is, for alembic). An object the database has, the
reference lacks and head has is made by a pending migration; one the reference has and
neither the database nor head has is dropped by one. Which migration: the first pending one
after which the schema has (lacks) it, found by halving the pending list, each schema built
as head is: one build (head) for one pending migration, about log2(n) more for n.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dbsafe.schema.diff import Change, DiffOptions
    from dbsafe.schema.model import SchemaSnapshot

# Kinds that share one namespace, so a view made by hand where a migration makes a table of
# its name fails it all the same: PostgreSQL's relations (pg_class) and types (pg_type).
_NAMESPACE = {
    **{kind: "relation" for kind in ("table", "partitioned_table", "foreign_table", "view",
                                     "materialized_view", "sequence")},
    **{kind: "type" for kind in ("enum", "domain", "composite_type", "range_type")},
}
# What PostgreSQL says running the migration again: the object exists / does not
_EXISTS = {"relation": ("42P07", "relation already exists"),
           "column": ("42701", "column already exists"),
           "schema": ("42P06", "schema already exists"),
           "function": ("42723", "function already exists")}
_MISSING = {"relation": ("42P01", "relation does not exist"),
            "column": ("42703", "column does not exist"),
            "schema": ("3F000", "schema does not exist"),
            "function": ("42883", "function does not exist")}


@dataclass(frozen=True, slots=True)
class Clash:
    """An object drift found on one side only that a pending migration makes or drops."""

    kind: str  # the drift change's kind ("index", "table", ...)
    identity: tuple[str, ...]
    migration: str  # the pending revision ("0003") or file ("db/3_visits.up.sql")
    creates: bool  # True: it makes the object, already in the database; False: drops it
    said: str = ""  # the end of the finding's message (`sentence`)
    mend: str = ""  # the finding's help: how to mend it, in the runner's terms

    @property
    def error(self) -> str:
        """What PostgreSQL answers the migration: `42P07 (relation already exists)`."""
        space = _NAMESPACE.get(self.kind, self.kind)
        code, words = (_EXISTS if self.creates else _MISSING).get(
            space, ("42710", "object already exists") if self.creates
            else ("42704", "object does not exist"))
        return f"{code} ({words})"


def _key(change: Change) -> tuple[str, tuple[str, ...]]:
    return _NAMESPACE.get(change.kind, change.kind), change.identity


def clashes(changes: Sequence[Change], reference: SchemaSnapshot, pending: Sequence[str],
            schema_after: Callable[[int], SchemaSnapshot],
            options: DiffOptions | None = None) -> tuple[Clash, ...]:
    """The objects of `changes` (drift's, from the database to `reference`) that a pending
    migration makes although the database has them, or drops although it has them no longer.

    Args:
        changes: drift's changes (DROP: in the database only; ADD: in the reference only).
        reference: the schema at the database's recorded revision.
        pending: the pending migrations, in the order an upgrade runs them.
        schema_after: the schema once the first `i + 1` pending ones ran (called for the
            last first: head); built on demand, each at most once.
        options: as drift compares (its ignored names and schemas).

    Example:
        >>> from dbsafe.schema.model import Relation, SchemaSnapshot
        >>> t = Relation("public", "t", "table")
        >>> db, at_1 = SchemaSnapshot(relations=(t,)), SchemaSnapshot()
        >>> from dbsafe.schema.diff import diff
        >>> [c.migration for c in clashes(diff(db, at_1), at_1, ["2", "3"],
        ...                               [at_1, db].__getitem__)]
        ['3']
    """
    from dbsafe.schema.diff import ADD, DROP

    wanted = [c for c in changes if c.action in (ADD, DROP) and c.attribute is None]
    if not pending or not wanted:
        return ()
    seen: dict[int, tuple[set[tuple[str, tuple[str, ...]]], ...]] = {}

    def made_and_dropped(i: int) -> tuple[set[tuple[str, tuple[str, ...]]], ...]:
        if i not in seen:
            from dbsafe.schema.diff import diff

            ahead = diff(reference, schema_after(i), options)
            seen[i] = ({_key(c) for c in ahead if c.action == ADD and c.attribute is None},
                       {_key(c) for c in ahead if c.action == DROP and c.attribute is None})
        return seen[i]

    last = len(pending) - 1
    made, dropped = made_and_dropped(last)
    out: list[Clash] = []
    for change in wanted:
        # (DROP: the database has it, the reference not; ADD: the reference has it, not
        # the database)
        creates = change.action == DROP
        if _key(change) not in (made if creates else dropped):
            continue
        side = 0 if creates else 1
        low, high = 0, last  # the first i after which it is made (dropped)
        while low < high:
            middle = (low + high) // 2
            if _key(change) in made_and_dropped(middle)[side]:
                high = middle
            else:
                low = middle + 1
        out.append(Clash(change.kind, change.identity, pending[low], creates))
    return tuple(out)


def sentence(clash: Clash, *, upgrade: str, pending_word: str) -> str:
    """The sentence a finding's message ends with: which pending migration, and what the
    upgrade will fail on.

    >>> sentence(Clash("table", ("public", "t"), "0003", True), upgrade="`alembic upgrade`",
    ...      pending_word="revision 0003, not yet applied,")
    'revision 0003, not yet applied, makes it, so `alembic upgrade` will fail on it with 42P07 (relation already exists)'
    """
    if clash.creates:
        return f"{pending_word} makes it, so {upgrade} will fail on it with {clash.error}"
    return (f"{pending_word} drops it, so {upgrade} will fail on it with {clash.error} "
            "unless its DROP says IF EXISTS")

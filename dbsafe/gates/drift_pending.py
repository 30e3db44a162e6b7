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

Whether recording that migration as run (`alembic stamp`, the runner's equivalent) is safe:
the database against the schema after it (one of those builds already), counting only what
that migration and the pending ones before it do (`unfinished`): what they make that the
database lacks, drop that it still has, or change that it has otherwise. Nothing: everything
is here, and the stamp records it; else the finding lists what is missing.
"""

from __future__ import annotations

import dataclasses
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
    # What `migration` and the pending ones before it do that the database lacks (a change
    # from the database to the schema after them: `unfinished`); () when all is here
    missing: tuple[Change, ...] = ()
    # Whether `missing` was looked for (the live schema was given)
    checked: bool = False
    # With `missing`: a later pending migration another clash names up to which everything
    # is here (its own objects made by hand too, and what `migration` lacks undone by it)
    complete_at: str = ""

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
            options: DiffOptions | None = None, *,
            live: SchemaSnapshot | None = None) -> tuple[Clash, ...]:
    """The objects of `changes` (drift's, from the database to `reference`) that a pending
    migration makes although the database has them, or drops although it has them no longer.

    Args:
        changes: drift's changes (DROP: in the database only; ADD: in the reference only).
        reference: the schema at the database's recorded revision.
        pending: the pending migrations, in the order an upgrade runs them.
        schema_after: the schema once the first `i + 1` pending ones ran (called for the
            last first: head); built on demand, each at most once.
        options: as drift compares (its ignored names and schemas).
        live: the database's schema: given, each clash says what of its migration (and of
            the pending ones before it) the database lacks (`Clash.missing`), from the
            schema after it (built already, to find it).

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
    built: dict[int, SchemaSnapshot] = {}

    def after(i: int) -> SchemaSnapshot:
        if i not in built:
            built[i] = schema_after(i)
        return built[i]

    def made_and_dropped(i: int) -> tuple[set[tuple[str, tuple[str, ...]]], ...]:
        if i not in seen:
            from dbsafe.schema.diff import diff

            ahead = diff(reference, after(i), options)
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
    if live is None or not out:
        return tuple(out)
    # (each schema after a clash's migration was built to find it: no build more)
    at = {c.migration: pending.index(c.migration) for c in out}
    lacking = {i: unfinished(live, reference, after(i), options) for i in set(at.values())}
    whole = [i for i in sorted(lacking) if not lacking[i]]
    return tuple(dataclasses.replace(
        c, missing=lacking[at[c.migration]], checked=True,
        complete_at=next((pending[i] for i in reversed(whole) if i > at[c.migration]), "")
        if lacking[at[c.migration]] else "") for c in out)


# What a migration does to the objects it makes whole that is not its own to say: they
# belong to whoever ran it (a DBA's psql as another role than the runner's) and so are
# granted by that role: drift says them once the migration is recorded
_WHOEVER_RAN_IT = frozenset({"owner", "acl"})


def unfinished(live: SchemaSnapshot, reference: SchemaSnapshot, after: SchemaSnapshot,
               options: DiffOptions | None = None) -> tuple[Change, ...]:
    """What the migrations from `reference` to `after` do that the database `live` lacks:
    the changes from `live` to `after` of what they make (in an object they make, or the
    very attribute they change) or drop. What the database has besides (made by hand, or by
    a later pending migration run by hand, even in an object they make) is not theirs, nor
    who owns and is granted what they make.

    >>> from dbsafe.schema.model import Column, Relation, SchemaSnapshot
    >>> t = Relation("public", "t", "table", columns=(Column("id", "integer", 1),))
    >>> full = Relation("public", "t", "table", columns=(*t.columns, Column("note", "text", 2)))
    >>> [c.subject for c in unfinished(SchemaSnapshot(relations=(t,)), SchemaSnapshot(),
    ...                                SchemaSnapshot(relations=(full,)))]
    ['public.t.note']
    """
    from dbsafe.schema.diff import ADD, DROP, diff

    done = diff(reference, after, options)
    made = [c.identity for c in done if c.action == ADD and c.attribute is None]
    own = {(c.kind, c.identity, c.attribute) for c in done}

    def theirs(change: Change) -> bool:
        if (change.kind, change.identity, change.attribute) in own:
            return True
        # (what the database has besides in or beside an object they make, an index by
        # hand or a view of the name, is drift of its own, not theirs missing)
        return change.action != DROP and change.attribute not in _WHOEVER_RAN_IT and any(
            change.identity[:len(m)] == m for m in made)

    return tuple(c for c in diff(live, after, options) if theirs(c))


def listed(missing: Sequence[Change]) -> str:
    """What `missing` (`unfinished`) is, in a few words each.

    >>> from dbsafe.schema.diff import ADD, ALTER, DROP, Change
    >>> listed([Change(ADD, "column", ("public", "t", "note")),
    ...         Change(DROP, "table", ("public", "legacy")),
    ...         Change(ALTER, "column", ("public", "t", "id"), "type", "integer", "bigint")])
    'column `public.t.note` (missing), table `public.legacy` (still here), column `public.t.id` (type differs)'
    """
    from dbsafe.schema.diff import ADD, DROP

    return ", ".join(
        f"{c.kind.replace('_', ' ')} `{c.subject}` ("
        + ("missing" if c.action == ADD else "still here" if c.action == DROP
           else f"{c.attribute or 'column order'} differs") + ")" for c in missing)


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


def mend(clash: Clash, *, ran: str, record: Callable[[str], str], undo: str,
         before: bool, word: str = "revision") -> str:
    """The finding's help: whether recording `clash.migration` as run is safe, and how.

    Args:
        ran: what happened, "Revision 0002 ran here by hand, its alembic_version row never
            written".
        record: how the runner is told a migration ran ("`alembic stamp 0002`").
        undo: the other way, "drop `public.visits` so the upgrade makes it".
        before: a pending migration comes before `clash.migration` (its part is checked too).
        word: what the runner calls a migration.

    >>> c = Clash("table", ("public", "v"), "0002", True, checked=True)
    >>> mend(c, ran="0002 ran by hand", record="`stamp {}`".format, undo="drop it",
    ...      before=False)
    '0002 ran by hand; everything it does is in the database: `stamp 0002` records it, then run `dbsafe drift` again.'
    """
    theirs = f"it (and every pending {word} before it)" if before else "it"
    if not clash.checked:
        return (f"{ran}: once the rest of {theirs} is in the database too, "
                f"{record(clash.migration)} records it, then run `dbsafe drift` again; "
                f"else {undo}.")
    if not clash.missing:
        return (f"{ran}; everything {theirs} does is in the database: "
                f"{record(clash.migration)} records it, then run `dbsafe drift` again.")
    some = "is" if len(clash.missing) == 1 else "are"
    later = (f" Everything up to {clash.complete_at} is, though (made by hand too): "
             f"{record(clash.complete_at)} records it, then run `dbsafe drift` again."
             if clash.complete_at else "")
    return (f"{ran}, but not all of it: of what {theirs} does, {listed(clash.missing)} "
            f"{some} not in the database.{later} Run the rest of it, or undo what of it ran, before "
            f"{record(clash.migration)}; else {undo}.")

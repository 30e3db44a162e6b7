"""The lock table: which PostgreSQL lock each migration statement takes, and what it blocks.

This is the one place that knows statement → lock mode; lock-aware rules (DBS112, DBS114,
DBS115, ...) and `dbsafe lint --locks` all read it, so a correction here fixes all of them.
It reads the facts of `dbsafe.lint.statement` (PostgreSQL's parse tree), never words.
Sources: the PostgreSQL manual (explicit-locking.html and each command's page), squawk's and
eugene's lock tables, cross-checked against `pg_locks` on a PostgreSQL 18 server.

`BLOCKS` is derived from PostgreSQL's lock conflict matrix (`CONFLICTS`). Its three columns:

* **blocks reads** — conflicts with ACCESS SHARE (plain `SELECT`): only ACCESS EXCLUSIVE;
* **blocks writes** — conflicts with ROW EXCLUSIVE (`INSERT`/`UPDATE`/`DELETE`): SHARE and
  stronger;
* **blocks DDL** — conflicts with SHARE UPDATE EXCLUSIVE, the weakest lock schema
  maintenance takes (`VACUUM`/autovacuum, `ANALYZE`, `CREATE INDEX CONCURRENTLY`,
  `VALIDATE CONSTRAINT`). Every mode, even ACCESS SHARE, blocks ACCESS EXCLUSIVE DDL, so
  that column would say "yes" everywhere and tell nobody anything.

`Lock.rewrites` means the lock is held for time proportional to the table's size: the
statement rewrites the table (new relfilenode) or scans it in full (validation, index
build). `note` says which. A partitioned table has no storage (relfilenode 0): an ALTER TABLE
on one rewrites or scans its partitions, whose rows say so, never the table itself.

>>> BLOCKS["SHARE"]
(False, True, True)
>>> BLOCKS["ACCESS SHARE"]
(False, False, False)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from dbsafe.core import Location
from dbsafe.lint.statement import (
    Action,
    ColumnDef,
    ForeignKey,
    Node,
    Statement,
    function_names,
    last,
    option_enabled,
    partition_parent,
    qualified,
    range_var,
    reindex_target,
    same_relation,
    strings,
    walk,
)
from dbsafe.pg.volatility import VOLATILE_FUNCTIONS

if TYPE_CHECKING:
    from dbsafe.extract.migration import Migration
    from dbsafe.lint.engine import History, LintContext
    from dbsafe.schema.model import SchemaSnapshot

ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE"
EXCLUSIVE = "EXCLUSIVE"
SHARE_ROW_EXCLUSIVE = "SHARE ROW EXCLUSIVE"
SHARE = "SHARE"
SHARE_UPDATE_EXCLUSIVE = "SHARE UPDATE EXCLUSIVE"
ROW_EXCLUSIVE = "ROW EXCLUSIVE"
ROW_SHARE = "ROW SHARE"
ACCESS_SHARE = "ACCESS SHARE"

# Weakest first: the order of the PostgreSQL manual's table (and of LOCKMODE's values).
MODES = (ACCESS_SHARE, ROW_SHARE, ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, SHARE,
         SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE)

# Table 13.2 "Conflicting Lock Modes" of the PostgreSQL manual.
CONFLICTS: dict[str, frozenset[str]] = {
    ACCESS_SHARE: frozenset({ACCESS_EXCLUSIVE}),
    ROW_SHARE: frozenset({EXCLUSIVE, ACCESS_EXCLUSIVE}),
    ROW_EXCLUSIVE: frozenset({SHARE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE}),
    SHARE_UPDATE_EXCLUSIVE: frozenset({SHARE_UPDATE_EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE,
                                       EXCLUSIVE, ACCESS_EXCLUSIVE}),
    SHARE: frozenset({ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE,
                      ACCESS_EXCLUSIVE}),
    SHARE_ROW_EXCLUSIVE: frozenset({ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, SHARE,
                                    SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE}),
    EXCLUSIVE: frozenset({ROW_SHARE, ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, SHARE,
                          SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE}),
    ACCESS_EXCLUSIVE: frozenset(MODES),
}

# mode -> (blocks reads, blocks writes, blocks DDL); see the module docstring.
BLOCKS: dict[str, tuple[bool, bool, bool]] = {
    mode: (ACCESS_SHARE in CONFLICTS[mode], ROW_EXCLUSIVE in CONFLICTS[mode],
           SHARE_UPDATE_EXCLUSIVE in CONFLICTS[mode])
    for mode in MODES
}


@dataclass(frozen=True, slots=True)
class Lock:
    """A lock a statement takes and holds until its transaction ends."""

    mode: str  # one of MODES
    relation: str | None  # folded name; None = every table (VACUUM FULL, REINDEX DATABASE)
    rewrites: bool = False  # rewrites or fully scans the relation while holding the lock
    note: str = ""
    target: str = "table"  # "table" | "index" | "type": what the lock is on

    @property
    def blocks(self) -> tuple[bool, bool, bool]:
        """(reads, writes, DDL) on the relation; a lock on a type blocks no table access."""
        if self.target == "type":
            return (False, False, False)
        return BLOCKS[self.mode]

    @property
    def blocks_writes(self) -> bool:
        return self.blocks[1]


def strength(mode: str) -> int:
    return MODES.index(mode)


@lru_cache(maxsize=32)
def from_pg_locks(mode: str) -> str | None:
    """A `pg_locks.mode` (`ShareRowExclusiveLock`) as one of MODES; None for others.

    >>> from_pg_locks("ShareRowExclusiveLock")
    'SHARE ROW EXCLUSIVE'
    """
    words = "".join(f" {c}" if c.isupper() else c for c in mode.removesuffix("Lock")).strip()
    name = words.upper()
    return name if name in MODES else None


# -- the table ---------------------------------------------------------------------------------


def lock_for(statement: Statement) -> Lock | None:
    """The strongest lock `statement` takes on a table (or index, or type), if any.

    >>> from dbsafe.lint.statement import parse_statement
    >>> lock_for(parse_statement("CREATE INDEX ix ON orders (customer_id)")).mode
    'SHARE'
    """
    locks = locks_for(statement)
    if not locks:
        return None
    return max(locks, key=lambda lock: (lock.target != "type", strength(lock.mode)))


def locks_for(statement: Statement) -> tuple[Lock, ...]:
    """Every lock `statement` takes on a relation or type, strongest on the main one first."""
    cached = statement.locks
    if cached is None:
        handler = _HANDLERS.get(statement.kind)
        cached = statement.locks = tuple(handler(statement)) if handler is not None else ()
    return cached


def _index(s: Statement) -> Iterator[Lock]:
    index = s.index_def
    if index is None:
        return
    if index.concurrent:
        yield Lock(SHARE_UPDATE_EXCLUSIVE, index.table, True,
                   "builds the index without blocking writes (two table scans)")
    elif s.partitioned and index.only:
        yield Lock(SHARE, index.table, False,
                   "ON ONLY a partitioned table: an invalid index on it alone, nothing built")
    elif s.partitioned:
        # No rows of its own: the index is built on each partition, at any depth, each
        # locked SHARE with the table until the transaction ends (pg_locks, PostgreSQL 18).
        yield Lock(SHARE, index.table, False, _PARTITIONED_INDEX_NOTE)
        for partition, how in s.descendants:  # (one partitioned in turn has no rows)
            yield Lock(SHARE, partition, how != "partitioned",
                       "CREATE INDEX on a partitioned table builds the index on each of its "
                       "partitions, each locked until the transaction ends")
    else:
        yield Lock(SHARE, index.table, True, "blocks writes while the index is built")


_PARTITIONED_INDEX_NOTE = ("a partitioned table has no rows of its own: the index is built "
                           "on each of its partitions, under this lock")


def _create_table(s: Statement) -> Iterator[Lock]:
    # A new table locks nothing that exists, except the tables its foreign keys reference:
    # PostgreSQL adds the RI triggers there; and a partition's parent (verified on
    # PostgreSQL 18: ACCESS EXCLUSIVE, where ATTACH PARTITION takes SHARE UPDATE EXCLUSIVE).
    parent = partition_parent(s)
    if parent is not None:
        yield Lock(ACCESS_EXCLUSIVE, parent, False,
                   "creates a partition of it (ATTACH PARTITION takes a weaker lock)")
    referenced = [c.references for column in s.columns for c in column.constraints
                  if c.kind == "foreign"]
    referenced += [c.references for c in s.constraints if c.kind == "foreign"]
    # A key referencing the table being created (a tree's `parent_id`) puts its triggers on
    # that new table, which nobody else can see yet: no existing table is locked (pg_locks).
    for name in dict.fromkeys(r for r in referenced if r and r != s.relation):
        yield Lock(SHARE_ROW_EXCLUSIVE, name, False,
                   "adds the foreign key's triggers on the referenced table")


def _on_table(mode: str, note: str):
    def locks(s: Statement) -> Iterator[Lock]:
        if s.relation:
            yield Lock(mode, s.relation, False, note)
    return locks


# DROP INDEX (not CONCURRENTLY) takes ACCESS EXCLUSIVE on the index's table as well: the
# table, which reads and writes wait on, gets a row of its own where it is known.
_ALSO_ITS_TABLE = "also ACCESS EXCLUSIVE on the index's table"


def _drop(s: Statement) -> Iterator[Lock]:
    kind = s.object_kind
    concurrent = bool(s.node.get("concurrent"))
    if kind == "index":
        for name in s.dropped:
            if concurrent:
                yield Lock(SHARE_UPDATE_EXCLUSIVE, name, False,
                           "waits for transactions using the index", target="index")
            else:
                yield Lock(ACCESS_EXCLUSIVE, name, False, _ALSO_ITS_TABLE, target="index")
        # CASCADE drops the foreign keys resting on a unique index, with their triggers.
        yield from _referencing(s.keys_to, "CASCADE drops its foreign key resting on the "
                                           "index dropped")
    elif kind in ("table", "view", "materialized view", "foreign table"):
        for name in s.dropped:
            yield Lock(ACCESS_EXCLUSIVE, name, False, "drops the relation")
        if kind == "table":
            # (each table dropped by its schema where the engine resolved it on the
            # search_path: `DROP TABLE kids` drops `public.kids`, not `other.kids`)
            dropped = s.table_keys or s.dropped
            yield from _referenced(s, s.foreign_keys, dropped)
            # DROP TABLE ... CASCADE drops the other tables' keys to it, and their triggers.
            # (one lock a table, by its schema: `public.kids` and `other.kids` are two)
            seen: set[str] = set()
            for fk in s.foreign_keys:
                if fk.holder not in seen and not any(_holds(fk, t) for t in dropped):
                    seen.add(fk.holder)
                    yield Lock(ACCESS_EXCLUSIVE, fk.table, False,
                               "CASCADE drops its foreign key to a dropped table")
    elif kind in ("trigger", "policy", "rule"):
        for name in s.dropped:
            table = name.rpartition(".")[0]
            if table:
                yield Lock(ACCESS_EXCLUSIVE, table, False, "catalog change on the table")


def _rename(s: Statement) -> Iterator[Lock]:
    rename = s.rename
    if rename is None or not rename.relation:
        return
    if rename.relation_kind == "index" and rename.object == "index":
        if rename.written:
            # PostgreSQL 18's RenameRelation locks for the statement's kind, and keeps an
            # ACCESS EXCLUSIVE lock taken on an index (pg_locks): queries on its table,
            # which open its indexes, wait as for the table's own lock.
            yield Lock(ACCESS_EXCLUSIVE, rename.relation, False,
                       "ALTER TABLE on an index (ALTER INDEX takes SHARE UPDATE EXCLUSIVE)",
                       target="index")
        else:
            yield Lock(SHARE_UPDATE_EXCLUSIVE, rename.relation, False, "", target="index")
    elif rename.relation_kind in ("table", "view", "materialized view", "foreign table",
                                  "index", "sequence"):
        # (ALTER INDEX on a table or a sequence: PostgreSQL retries with ACCESS EXCLUSIVE;
        # RENAME CONSTRAINT, and a trigger's, policy's or rule's rename, take the table
        # ACCESS EXCLUSIVE: RenameConstraint, renametrig, rename_policy, RenameRewriteRule)
        yield Lock(ACCESS_EXCLUSIVE, rename.relation, False, "")
        if rename.object in ("column", "constraint"):  # renameatt and RenameConstraint recurse
            for child, _how in s.descendants:
                yield Lock(ACCESS_EXCLUSIVE, child, False,
                           "RENAME without ONLY recurses to the tables that inherit from it "
                           "or are its partitions")


# ALTER TABLE/VIEW/MATERIALIZED VIEW/FOREIGN TABLE/SEQUENCE ... SET SCHEMA: PostgreSQL 18's
# AlterTableNamespace opens the relation ACCESS EXCLUSIVE (pg_locks shows it, and the sequence
# a column owns, under the new schema's name: `pg_locks_names`).
_SET_SCHEMA_KINDS = frozenset({"OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW",
                               "OBJECT_FOREIGN_TABLE", "OBJECT_SEQUENCE"})


def _set_schema(s: Statement) -> Iterator[Lock]:
    relation = range_var(s.node.get("relation"))
    if relation and s.node.get("objectType") in _SET_SCHEMA_KINDS:
        yield Lock(ACCESS_EXCLUSIVE, relation, False, "moves the relation to another schema")


def _alter(s: Statement) -> Iterator[Lock]:
    kind = s.object_kind
    name = s.relation
    if kind == "index":
        subtypes = {a.subtype for a in s.actions}
        if "SetTableSpace" in subtypes:
            yield Lock(ACCESS_EXCLUSIVE, name, True, "moves the index's files", target="index")
        elif subtypes <= {"SetStatistics", "AttachPartition", "SetRelOptions",
                          "ResetRelOptions"} and subtypes:
            yield Lock(SHARE_UPDATE_EXCLUSIVE, name, False, "", target="index")
        else:
            yield Lock(ACCESS_EXCLUSIVE, name, False, "", target="index")
        return
    if kind in ("view", "materialized view", "sequence"):
        yield Lock(ACCESS_EXCLUSIVE, name, False, "")
        return
    if kind not in ("table", "foreign table"):
        return
    locks: list[Lock] = []
    # (its table by its schema, where the engine resolved it: a key of `public.kids` to
    # `other.kids` is no key to itself)
    own = s.table_keys[0] if s.table_keys else name
    for action in s.actions:
        taken = _alter_table_action(name, action)
        if (action.subtype, action.name) in s.catalog_only:
            taken = [Lock(lock.mode, lock.relation, False, "catalog only (the rows stay)")
                     if lock.relation == name else lock for lock in taken]
        locks.extend(taken)
        locks.extend(_recursed(s, action, [lock for lock in taken if lock.relation == name]))
        if action.subtype == "DropConstraint":
            locks.extend(_referenced(s, [fk for fk in s.foreign_keys
                                         if fk.name == action.name], [own]))
            key = dict(s.unique_keys).get(action.name or "")
            if action.cascade and key is not None:
                locks.extend(_referencing([fk for fk in s.keys_to if fk.rests_on(*key)],
                                          "CASCADE drops its foreign key to the key dropped"))
        elif action.subtype == "DropColumn":
            locks.extend(_referenced(s, [fk for fk in s.foreign_keys
                                         if action.name in fk.columns], [own]))
            if action.cascade:
                locks.extend(_referencing([fk for fk in s.keys_to
                                           if action.name in fk.referenced_columns],
                                          "CASCADE drops its foreign key to the column dropped"))
                locks.extend(_referencing(
                    [fk for column, _, fk in s.resting_on_included if column == action.name],
                    "CASCADE drops its foreign key resting on an index that INCLUDEs the "
                    "column dropped"))
        elif action.subtype == "AlterColumnType":
            locks.extend(_rebuilt(s, [fk for fk in s.foreign_keys
                                      if action.name in fk.columns], own))
            locks.extend(_referencing([fk for fk in s.keys_to
                                       if action.name in fk.referenced_columns],
                                      "rebuilds its foreign key to the column whose type "
                                      "changes"))
    if not locks:
        return
    main = [lock for lock in locks if lock.relation == name]
    others = [lock for lock in locks if lock.relation != name]
    if main:
        strongest = max(strength(lock.mode) for lock in main)
        rewrites = any(lock.rewrites for lock in main)
        notes = [lock.note for lock in main if lock.note and strength(lock.mode) == strongest]
        if s.partitioned and rewrites:
            # No storage (relfilenode 0, PostgreSQL 18): the partitions' rows say the rewrite
            # or scan; the table's lock is held while they are rewritten or scanned.
            rewrites = False
            notes = [_PARTITIONED_NOTE]
        yield Lock(MODES[strongest], name, rewrites, "; ".join(dict.fromkeys(notes)))
    by_table: dict[str | None, Lock] = {}  # one lock a table: the strongest, first seen
    for lock in others:
        if lock.relation not in by_table or \
                strength(lock.mode) > strength(by_table[lock.relation].mode):
            by_table[lock.relation] = lock
    yield from by_table.values()


_PARTITIONED_NOTE = ("a partitioned table has no rows of its own: its partitions are "
                     "rewritten or scanned, under this lock")

# Subcommands PostgreSQL 18 runs on every table below one altered without ONLY (inheritance
# children and partitions, at any depth), taking on each the lock it takes on the table
# (pg_locks): ATSimpleRecursion and the commands that recurse themselves. Trigger switches and
# identities reach partitions only; SET COMPRESSION, options, owner, replica identity, row
# security, CLUSTER ON, ACCESS METHOD and the like stay on the table named.
_RECURSING = frozenset({"AddColumn", "ColumnDefault", "DropNotNull", "SetNotNull",
                        "AlterColumnType", "SetStatistics", "SetStorage", "SetExpression",
                        "DropExpression", "DropColumn", "AddConstraint", "ValidateConstraint",
                        "DropConstraint"})
_TO_PARTITIONS = frozenset({
    "EnableTrig", "EnableAlwaysTrig", "EnableReplicaTrig", "EnableTrigAll", "EnableTrigUser",
    "DisableTrig", "DisableTrigAll", "DisableTrigUser", "AddIdentity", "SetIdentity",
    "DropIdentity"})


def _recursed(s: Statement, action: Action, taken: list[Lock]) -> Iterator[Lock]:
    """The locks `action` takes on the tables below `s`'s table (`Statement.descendants`):
    each as strong as the table's, rewritten or scanned as it is."""
    if not taken or not (action.subtype in _RECURSING or action.subtype in _TO_PARTITIONS):
        return
    for child, how in s.descendants:
        if action.subtype in _TO_PARTITIONS and how != "partition":
            continue
        for lock in taken:
            yield Lock(lock.mode, child, lock.rewrites,
                       "ALTER TABLE without ONLY recurses to the tables that inherit from it "
                       "or are its partitions")


def _referenced(s: Statement, dropped: Iterable[ForeignKey],
                tables: Iterable[str | None]) -> Iterator[Lock]:
    """The locks dropping foreign keys takes on the tables they reference: ACCESS EXCLUSIVE,
    to remove the triggers there (pg_locks, PostgreSQL 18), none for a table's key to
    itself or to a table the statement drops anyway."""
    own = [t for t in tables if t]
    for fk in dropped:
        # (by the referenced table's schema where both say one: dropping `public.kids`
        # drops its key to `other.kids`, and locks that one)
        if not any(same_relation(fk.referenced, t) for t in own):
            own.append(fk.referenced)
            yield Lock(ACCESS_EXCLUSIVE, fk.references, False,
                       "drops a foreign key's triggers on the table it references")


def _holds(fk: ForeignKey, table: str) -> bool:
    """Is `table` (as a statement writes it) the table holding `fk`? By its schema where
    both say one (`public.kids` does not hold `other.kids`'s key), else by the name."""
    if "." in table and "." in fk.holder:
        return fk.holder == table
    return same_relation(fk.table, table)


def _referencing(keys: Iterable[ForeignKey], note: str) -> Iterator[Lock]:
    """ACCESS EXCLUSIVE on the tables holding `keys`, other tables' foreign keys to the one
    altered, which the statement drops or rebuilds (with their triggers; pg_locks,
    PostgreSQL 18, NOT ENFORCED keys too)."""
    for fk in keys:
        yield Lock(ACCESS_EXCLUSIVE, fk.table, False, note)


def _rebuilt(s: Statement, keys: Iterable[ForeignKey], table: str | None) -> Iterator[Lock]:
    """The locks a type change of foreign keys' columns takes on the tables they reference:
    PostgreSQL drops each key and adds it again, removing its triggers there (ACCESS
    EXCLUSIVE) and creating them anew (SHARE ROW EXCLUSIVE, all a NOT ENFORCED key, which
    has no triggers, takes; pg_locks, PostgreSQL 18). Even a change to the same type does."""
    for fk in keys:
        if not same_relation(fk.referenced, table):
            yield Lock(ACCESS_EXCLUSIVE if fk.enforced else SHARE_ROW_EXCLUSIVE,
                       fk.references, False, "rebuilds a foreign key to it (its column's "
                       "type changes)")



_TRIGGER_SUBTYPES = frozenset({"EnableTrig", "EnableAlwaysTrig", "EnableReplicaTrig",
                               "EnableTrigAll", "EnableTrigUser", "DisableTrig",
                               "DisableTrigAll", "DisableTrigUser"})
_SUE_SUBTYPES = frozenset({"SetStatistics", "SetOptions", "ResetOptions", "ClusterOn",
                           "DropCluster"})
_REWRITING_SUBTYPES = frozenset({"SetTableSpace", "SetLogged", "SetUnLogged",
                                 "SetAccessMethod", "SetExpression"})


def _alter_table_action(table: str | None, action: Action) -> list[Lock]:
    sub = action.subtype
    con = action.constraint
    if sub == "AddConstraint" and con is not None:
        if con.using_index:
            return [Lock(ACCESS_EXCLUSIVE, table, False, "attaches an existing index")]
        if con.kind == "foreign":
            skip = con.not_valid or not con.enforced
            locks = [Lock(SHARE_ROW_EXCLUSIVE, table, not skip,
                          "NOT VALID: no scan" if skip else "scans the table to validate")]
            if con.references:
                locks.append(Lock(SHARE_ROW_EXCLUSIVE, con.references, False,
                                  "referenced by a new foreign key"))
            return locks
        if con.kind in ("check", "not_null"):
            if con.not_valid or not con.enforced:
                return [Lock(ACCESS_EXCLUSIVE, table, False, "")]
            return [Lock(ACCESS_EXCLUSIVE, table, True, "scans the table to validate")]
        return [Lock(ACCESS_EXCLUSIVE, table, True, "builds an index")]
    if sub == "AddColumn" and action.column is not None:
        column = action.column
        locks = []
        if column.has("primary") or column.has("unique"):
            locks.append(Lock(ACCESS_EXCLUSIVE, table, True, "builds an index"))
        elif column_rewrites(column):
            locks.append(Lock(ACCESS_EXCLUSIVE, table, True, "rewrites the table"))
        else:
            locks.append(Lock(ACCESS_EXCLUSIVE, table, False, "adds a column"))
        for con in column.constraints:
            if con.kind == "foreign" and con.references:
                locks.append(Lock(SHARE_ROW_EXCLUSIVE, con.references, False,
                                  "referenced by a new foreign key"))
        return locks
    if sub == "ValidateConstraint":
        return [Lock(SHARE_UPDATE_EXCLUSIVE, table, True, "scans the table to validate")]
    if sub == "AlterColumnType":
        return [Lock(ACCESS_EXCLUSIVE, table, True,
                     "rewrites the table unless the change is binary-coercible")]
    if sub == "SetNotNull":
        return [Lock(ACCESS_EXCLUSIVE, table, True,
                     "scans the table unless a validated CHECK (c IS NOT NULL) exists")]
    if sub in _REWRITING_SUBTYPES:
        return [Lock(ACCESS_EXCLUSIVE, table, True, "rewrites the table")]
    if sub in _TRIGGER_SUBTYPES:
        return [Lock(SHARE_ROW_EXCLUSIVE, table, False, "")]
    if sub in _SUE_SUBTYPES:
        return [Lock(SHARE_UPDATE_EXCLUSIVE, table, False, "")]
    if sub in ("SetRelOptions", "ResetRelOptions"):
        return [Lock(SHARE_UPDATE_EXCLUSIVE, table, False, "storage parameters")]
    if sub == "AttachPartition":
        return [Lock(SHARE_UPDATE_EXCLUSIVE, table, False, ""),
                Lock(ACCESS_EXCLUSIVE, action.partition, True,
                     "scans the partition unless a CHECK implies its bounds")]
    if sub in ("DetachPartition", "DetachPartitionFinalize"):
        if action.concurrent or sub == "DetachPartitionFinalize":
            return [Lock(SHARE_UPDATE_EXCLUSIVE, table, False, "CONCURRENTLY"),
                    Lock(SHARE_UPDATE_EXCLUSIVE, action.partition, False, "CONCURRENTLY")]
        return [Lock(ACCESS_EXCLUSIVE, table, False, ""),
                Lock(ACCESS_EXCLUSIVE, action.partition, False, "")]
    # Everything else, SET/DROP DEFAULT included (seen in pg_locks), is ACCESS EXCLUSIVE.
    return [Lock(ACCESS_EXCLUSIVE, table, False, "")]


def column_rewrites(column: ColumnDef,
                    user_volatile: Callable[[str], bool] | None = None) -> str | None:
    """Why adding `column` rewrites the table (serial, identity, stored, volatile default).

    `user_volatile` tells whether a function the default calls is a user-defined VOLATILE
    one (the lint context knows the functions earlier migrations created).
    """
    if column.type is not None and column.type.name in ("serial", "bigserial", "smallserial"):
        return f"type `{column.type.name}`"
    if column.has("identity"):
        return "an identity"
    if any(c.kind == "generated" and c.stored for c in column.constraints):
        return "a stored generated expression"
    default = column.default
    for called in function_names(default, qualified=True):
        name = called.rpartition(".")[2]  # (a user function is the one of the schema named)
        if name in VOLATILE_FUNCTIONS or (user_volatile is not None and user_volatile(called)):
            return f"the volatile default `{name}()`"
    return None


def _vacuum(s: Statement) -> Iterator[Lock]:
    node = s.node
    names = [range_var(r.get("VacuumRelation", {}).get("relation"))
             for r in node.get("rels") or ()]
    if not node.get("is_vacuumcmd"):
        for name in names or [None]:
            yield Lock(SHARE_UPDATE_EXCLUSIVE, name, False, "")
        return
    full = False
    for option in node.get("options") or ():
        elem = option.get("DefElem", {})
        if elem.get("defname") == "full":
            full = option_enabled(elem)
    for name in names or [None]:
        if full and s.partitioned:
            yield Lock(ACCESS_EXCLUSIVE, name, False, _PARTITIONS_IN_TURN)
        elif full:
            yield Lock(ACCESS_EXCLUSIVE, name, True, "rewrites the table")
        else:
            yield Lock(SHARE_UPDATE_EXCLUSIVE, name, False, "")


def _reindex(s: Statement) -> Iterator[Lock]:
    kind, name, concurrently = reindex_target(s)
    if kind not in ("index", "table"):
        name = None
    if concurrently:
        yield Lock(SHARE_UPDATE_EXCLUSIVE, name, True, "rebuilds without blocking writes",
                   target="index" if kind == "index" else "table")
    elif kind == "index":
        yield Lock(ACCESS_EXCLUSIVE, name, True,
                   "plus SHARE on its table: writes wait, and so do queries planned "
                   "against the index", target="index")
    elif s.partitioned:
        yield Lock(SHARE, name, False, "a partitioned table has no indexes' storage of its "
                   "own: PostgreSQL rebuilds each partition's indexes in turn, each in a "
                   "transaction of its own, and refuses this inside a transaction block")
    else:
        yield Lock(SHARE, name, True,
                   "plus ACCESS EXCLUSIVE on each index while it is rebuilt")


# VACUUM FULL or CLUSTER of a partitioned table (pg_locks, relfilenodes, PostgreSQL 18).
_PARTITIONS_IN_TURN = ("a partitioned table has no rows of its own: PostgreSQL rewrites its "
                       "partitions one at a time, each in a transaction of its own under this "
                       "lock on it alone, and refuses this inside a transaction block")


def _cluster(s: Statement) -> Iterator[Lock]:
    if s.partitioned:
        yield Lock(ACCESS_EXCLUSIVE, s.relation, False, _PARTITIONS_IN_TURN)
        return
    yield Lock(ACCESS_EXCLUSIVE, s.relation, True, "rewrites the table")


def _refresh(s: Statement) -> Iterator[Lock]:
    if s.node.get("concurrent"):
        yield Lock(EXCLUSIVE, s.relation, True, "reads continue; recomputes the query")
    elif s.node.get("skipData"):
        yield Lock(ACCESS_EXCLUSIVE, s.relation, False, "empties the view")
    else:
        yield Lock(ACCESS_EXCLUSIVE, s.relation, True, "recomputes the query; reads wait")


def _lock(s: Statement) -> Iterator[Lock]:
    level = s.node.get("mode", 8)
    mode = MODES[level - 1] if 1 <= level <= len(MODES) else ACCESS_EXCLUSIVE
    for relation in s.node.get("relations") or ():
        name = range_var(relation)
        if name:
            yield Lock(mode, name, False, "explicit LOCK")


def _truncate(s: Statement) -> Iterator[Lock]:
    for relation in s.node.get("relations") or ():
        name = range_var(relation)
        if name:
            yield Lock(ACCESS_EXCLUSIVE, name, False, "empties the table")


def _dml(s: Statement) -> Iterator[Lock]:
    if s.relation:
        yield Lock(ROW_EXCLUSIVE, s.relation, False, "")
    # What it reads (INSERT ... SELECT, UPDATE ... FROM, DELETE ... USING, MERGE's source,
    # subqueries) is locked too: a backfill from an existing table into a new one reads all
    # of it (verified on PostgreSQL 18 with pg_locks).
    yield from _used(s.node, written=s.relation)


def _select(s: Statement) -> Iterator[Lock]:
    yield from _used(s.node)


_DML_KINDS = ("InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt")


def _used(node: Node, written: str | None = None) -> Iterator[Lock]:
    """The locks a query takes on the relations below `node` other than `written`, the
    statement's own target: ROW EXCLUSIVE on a data-modifying CTE's table, ACCESS SHARE on
    what it reads (ROW SHARE under FOR UPDATE/SHARE). Names a CTE defines are not tables."""
    ctes = {fields.get("ctename") for kind, fields in walk(node) if kind == "CommonTableExpr"}
    reads: list[str] = []
    writes: list[str] = []
    locking = False
    for kind, fields in walk(node):
        # walk() yields RangeVars only when they are wrapped: FROM and USING items, MERGE's
        # source; a DML statement's own target is not, so it is read from the statement.
        if kind == "RangeVar":
            name = range_var(fields)
            if name and name not in ctes:
                reads.append(name)
        elif kind in _DML_KINDS:
            target = range_var(fields.get("relation"))
            if target:
                writes.append(target)
        elif kind == "LockingClause":
            locking = True
    done = {written}
    for name in dict.fromkeys(writes):
        if name not in done:
            done.add(name)
            yield Lock(ROW_EXCLUSIVE, name, False, "")
    mode = ROW_SHARE if locking else ACCESS_SHARE
    for name in dict.fromkeys(reads):
        if name not in done:
            yield Lock(mode, name, False, "")


def _comment(s: Statement) -> Iterator[Lock]:
    kind = s.node.get("objtype")
    target = s.node.get("object") or {}
    parts = strings(target.get("List", {}).get("items"))
    if kind in ("OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_FOREIGN_TABLE"):
        name = qualified(*parts)
    elif kind == "OBJECT_COLUMN" and len(parts) >= 2:
        name = qualified(*parts[:-1])
    else:
        return
    if name:
        yield Lock(SHARE_UPDATE_EXCLUSIVE, name, False, "")


def _enum(s: Statement) -> Iterator[Lock]:
    name = qualified(*strings(s.node.get("typeName")))
    if s.node.get("newVal") is not None:
        yield Lock(EXCLUSIVE, name, False,
                   "on the enum type only; tables using it are not locked", target="type")


_HANDLERS = {
    "IndexStmt": _index,
    "CreateStmt": _create_table,
    "CreateTrigStmt": _on_table(SHARE_ROW_EXCLUSIVE, "adds a trigger"),
    "CreatePolicyStmt": _on_table(ACCESS_EXCLUSIVE, "catalog change on the table"),
    "RuleStmt": _on_table(ACCESS_EXCLUSIVE, "catalog change on the table"),
    "DropStmt": _drop,
    "RenameStmt": _rename,
    "AlterObjectSchemaStmt": _set_schema,
    "AlterTableStmt": _alter,
    "AlterEnumStmt": _enum,
    "VacuumStmt": _vacuum,
    "ClusterStmt": _cluster,
    "ReindexStmt": _reindex,
    "RefreshMatViewStmt": _refresh,
    "LockStmt": _lock,
    "TruncateStmt": _truncate,
    "InsertStmt": _dml,
    "UpdateStmt": _dml,
    "DeleteStmt": _dml,
    "MergeStmt": _dml,
    "SelectStmt": _select,
    "CommentStmt": _comment,
}


# -- the report behind `dbsafe lint --locks` ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class LockRow:
    location: Location
    statement: str  # the statement, shortened to one line
    mode: str
    relation: str | None
    blocks_reads: bool
    blocks_writes: bool
    blocks_ddl: bool
    rewrites: bool
    created_here: bool  # the relation was created earlier in the same migration
    note: str = ""
    # "observed": PostgreSQL showed this lock in pg_locks when the statement ran on a
    # throwaway server; "predicted": from this module's table (PostgreSQL's documentation).
    source: str = "predicted"
    # The schemas an unqualified `relation` is a table of, in order: the search_path in
    # force for the statement (`LintContext.lookup_path`: env.py's `SET search_path TO phx`
    # too), where it is known.
    schemas: tuple[str, ...] = ()
    # Its migration runs in the one transaction the runner opens for every pending file
    # (`Migration.shares_transaction`, why: '`sql-migrations-in-transaction = "all"`',
    # node-pg-migrate's default, ...): the lock is held until the last commits; "" if not.
    one_transaction: str = ""


def lock_report(migrations: Iterable[Migration], *,
                before: SchemaSnapshot | None = None) -> list[LockRow]:
    """One row per lock each migration statement takes, in execution order.

    Each migration is read with what the ones before it built, over `before` (the
    database's schema before the migrations, when known): the foreign keys there decide
    which other tables a statement locks. For a statement that ran on a throwaway server,
    each predicted lock is replaced by the one PostgreSQL showed on that relation
    (`source="observed"`), and a write-blocking lock on a table nothing predicted gets a
    row of its own.
    """
    from dbsafe.lint.engine import History

    history = History()  # the foreign keys earlier migrations made (see `_referenced`)
    return [row for migration in migrations
            for row in migration_lock_rows(migration, history.carry(), before=before)]


def migration_lock_rows(migration: Migration, history: History, *,
                        before: SchemaSnapshot | None = None) -> list[LockRow]:
    """`lock_report`'s rows for one migration, read with `history` (what the migrations
    before it built, updated with its statements) over `before` -- the facts
    `dbsafe.lint.engine.lint_migration` gives the rules, so the two never disagree."""
    from dbsafe.lint.engine import LintContext, parse_migration

    rows: list[LockRow] = []
    statements = parse_migration(migration)
    ctx = LintContext(migration, statements, before=before, history=history)
    for statement in statements:
        ctx.note_foreign_keys(statement)
        if ctx.skips_table(statement):
            continue  # (as `lint_migration`: PostgreSQL skips it, and it locks nothing)
        history.apply(statement)
        if statement.generated or statement.deferred:
            continue  # a function's body locks where the function is called, not created
        observed = statement.observed if statement.origin in (None, "DO block") else None
        seen: set[str] = set()
        for lock in locks_for(statement):
            mode, source, note = lock.mode, "predicted", lock.note
            if observed is not None and lock.relation is not None and lock.target != "type":
                names = pg_locks_names(lock, statement, ctx)
                found = next((f for name in names
                              if (f := _observed_mode(observed, name, lock.mode))), None)
                # The index's table is locked with it: no row of its own as unpredicted.
                seen.update(n for n, _mode, _kind in observed.locks
                            if any(same_relation(n, name) for name in names))
                if found is not None:
                    relation, held, since = found
                    seen.add(relation)
                    if since is None:
                        mode, source = held, "observed"
                    elif strength(held) >= strength(mode):
                        # Requested while a lock at least as strong is held: pg_locks
                        # cannot show this statement's own request.
                        note = (f"{held} already held since an earlier {since} of the "
                                "transaction (pg_locks)")
            reads, writes, ddl = Lock(mode, lock.relation, target=lock.target).blocks
            created = bool(lock.relation) and ctx.created_before(lock.relation or "",
                                                                 statement)
            rows.append(LockRow(statement.location, statement_summary(statement.sql), mode,
                                lock.relation, reads, writes, ddl, lock.rewrites, created,
                                note, source, ctx.lookup_path()))
            if lock.note == _ALSO_ITS_TABLE and (table := ctx.index_table(lock.relation or "")):
                rows.append(_index_table_row(statement, table, observed, ctx))
        if observed is not None and statement.origin is None:
            if statement.kind == "DoStmt":  # its body's statements follow it
                for inner in ctx.later(statement):
                    if inner.origin != "DO block":
                        break
                    seen.update(name for name, _mode, _kind in observed.locks
                                if any(same_relation(name, lock.relation)
                                       for lock in locks_for(inner)))
            rows.extend(_unpredicted(statement, observed, seen, ctx))
    if migration.shares_transaction:
        rows = [replace(row, one_transaction=migration.shares_transaction) for row in rows]
    return rows


def pg_locks_names(lock: Lock, statement: Statement, ctx: LintContext) -> list[str]:
    """The names pg_locks may show `lock` under: its relation's; for a lock on an index,
    its table's too (DROP INDEX takes ACCESS EXCLUSIVE on both); for the relation the
    statement renames, the new name (pg_locks reads the name after the statement)."""
    names = [lock.relation] if lock.relation is not None else []
    if lock.relation is None:
        return names
    if lock.target == "index":
        table = ctx.index_table(lock.relation)
        if table is not None:
            names.append(table)
    rename = statement.rename
    if rename is not None and rename.new and rename.relation is not None and \
            rename.object == rename.relation_kind and same_relation(rename.relation,
                                                                    lock.relation):
        schema = lock.relation.rpartition(".")[0]
        names.append(f"{schema}.{rename.new}" if schema else rename.new)
    moved_to = statement.node.get("newschema") if statement.kind == "AlterObjectSchemaStmt" \
        else None
    if moved_to and same_relation(range_var(statement.node.get("relation")), lock.relation):
        names.append(f"{moved_to}.{last(lock.relation)}")
    return names


def _index_table_row(statement: Statement, table: str, observed: Any,
                     ctx: LintContext) -> LockRow:
    """The ACCESS EXCLUSIVE lock a plain DROP INDEX takes on the index's `table`."""
    found = _observed_mode(observed, table) if observed is not None else None
    source = "observed" if found is not None and found[2] is None else "predicted"
    reads, writes, ddl = Lock(ACCESS_EXCLUSIVE, table).blocks
    return LockRow(statement.location, statement_summary(statement.sql), ACCESS_EXCLUSIVE,
                   table, reads, writes, ddl, False, ctx.created_before(table, statement),
                   "the dropped index's table", source, ctx.lookup_path())


def _observed_mode(observed: Any, relation: str,
                   requested: str | None = None) -> tuple[str, str, str | None] | None:
    """(relation, strongest mode, None if the statement took it, else what took it before:
    an earlier `statement` or `revision` of the transaction) PostgreSQL showed on it.

    A mode the transaction already holds is not shown again when a statement requests it:
    a statement that adds only weaker modes (an ADD FOREIGN KEY's check, ROW SHARE on the
    referenced table) while the `requested` one is held since earlier is said to be
    under that older lock, not to take the weaker one alone."""
    found: list[tuple[str, str, str | None]] = []
    for locks, before in ((observed.locks, False), (observed.held, True)):
        modes = [(name, m, "revision" if (name, pg_mode, kind) in observed.inherited
                  else "statement")
                 for name, pg_mode, kind in locks
                 if same_relation(name, relation) and (m := from_pg_locks(pg_mode))]
        if modes:
            # The same mode taken in this revision and an earlier one: this revision's.
            name, mode, since = max(modes, key=lambda x: (strength(x[1]), x[2] == "statement"))
            found.append((name, mode, since if before else None))
    if len(found) == 2 and requested is not None and found[0][2] is None and \
            strength(found[0][1]) < strength(requested) <= strength(found[1][1]):
        return found[1]
    return found[0] if found else None


def _unpredicted(statement: Statement, observed: Any, seen: set[str],
                 ctx: Any) -> Iterator[LockRow]:
    strongest: dict[str, str] = {}
    for name, pg_mode, kind in observed.locks:
        mode = from_pg_locks(pg_mode)
        if mode is None or kind not in ("r", "p", "m") or name in seen:
            continue
        if strength(mode) >= strength(SHARE) and (
                name not in strongest or strength(mode) > strength(strongest[name])):
            strongest[name] = mode
    for name, mode in strongest.items():
        if name in statement.creates or name.rpartition(".")[2] in statement.creates:
            continue  # the statement's own new relation
        reads, writes, ddl = BLOCKS[mode]
        created = ctx.created_before(name, statement)
        yield LockRow(statement.location, statement_summary(statement.sql), mode, name, reads, writes,
                      ddl, False, created, "not predicted", "observed")


def statement_summary(sql: str, limit: int = 60) -> str:
    """`sql` on one line, cut at `limit` characters: `LockRow.statement`."""
    text = " ".join(sql.split()).rstrip(";")
    return text if len(text) <= limit else text[: limit - 1] + "…"


LOCK_COLUMNS = ("location", "statement", "lock", "relation", "reads", "writes", "ddl",
                "rewrite", "source")


def lock_table(rows: Sequence[LockRow]) -> list[dict[str, object]]:
    """`lock_report` rows as plain records, the form `dbsafe.report.render_rows` renders."""
    return [{
        "location": f"{row.location.path}:{row.location.line}",
        "path": row.location.path,
        "line": row.location.line,
        "statement": row.statement,
        "lock": row.mode,
        "relation": row.relation,
        "new_relation": row.created_here,
        "blocks_reads": row.blocks_reads,
        "blocks_writes": row.blocks_writes,
        "blocks_ddl": row.blocks_ddl,
        "rewrites": row.rewrites,
        "note": row.note,
        "source": row.source,
        "one_transaction": bool(row.one_transaction),
        **({"one_transaction_by": row.one_transaction} if row.one_transaction else {}),
        "message": f"{row.mode} lock on {row.relation or 'every table'}"
                   + (" (created in this migration)" if row.created_here else "")
                   + "; blocks " + (", ".join(
                       what for what, flag in (("reads", row.blocks_reads),
                                               ("writes", row.blocks_writes),
                                               ("DDL", row.blocks_ddl)) if flag) or "nothing")
                   + ("; rewrites or scans the table" if row.rewrites else ""),
    } for row in rows]


def render_locks_text(rows: Sequence[LockRow]) -> str:
    """A plain aligned table of `lock_report` rows.

    >>> print(render_locks_text([]), end="")
    No statement takes a lock.
    """
    if not rows:
        return "No statement takes a lock.\n"

    def yes(flag: bool) -> str:
        return "blocked" if flag else "-"

    table = [LOCK_COLUMNS]
    for row in rows:
        relation = row.relation or "(all)"
        if row.created_here:
            relation += " (new)"
        loc = row.location
        table.append((f"{loc.path}:{loc.line}", row.statement, row.mode, relation,
                      yes(row.blocks_reads), yes(row.blocks_writes), yes(row.blocks_ddl),
                      "yes" if row.rewrites else "-", row.source))
    widths = [max(len(r[i]) for r in table) for i in range(len(LOCK_COLUMNS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(r, widths)).rstrip()
             for r in table]
    lines.insert(1, "  ".join("-" * width for width in widths))
    shared: dict[str, set[str]] = {}  # why -> the files
    for row in rows:
        if row.one_transaction:
            shared.setdefault(row.one_transaction, set()).add(row.location.path)
    for why, files in shared.items():
        lines += ["", f"{len(files)} file(s) above run in one transaction ({why}): each of "
                  "their locks is held until the last of them commits."]
    return "\n".join(lines) + "\n"

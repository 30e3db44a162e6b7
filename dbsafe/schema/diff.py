"""Compare two schema snapshots: every difference as a `Change`, in a deterministic order.

`diff(source, target)` answers "what would have to change to turn SOURCE into TARGET".
Objects are matched by name, never by oid, so a rename of one object never shows as a
change of another: a table is `(schema, name)`, a column `(schema, table, column)`, a
function `(schema, "name(identity arguments)")` so overloads are told apart. A renamed
object itself shows as one dropped and one added (`dbsafe.schema.ddl` says so in a hazard),
but a sequence tied to the same column on both sides (`renamed_sequences`), one renamed
(or moved).

Column order is compared separately from everything else: a table whose columns are the
same but in another order gives one `reorder` change, which callers report at a lower
severity (PostgreSQL cannot reorder columns in place, and queries by name do not care).

Objects that belong to extensions never reach a snapshot (see `dbsafe.schema.introspect`),
so they never show as differences; the extension itself (name, schema, version) does.

Example:
    >>> from dbsafe.schema.model import Column, Relation, SchemaSnapshot
    >>> a = SchemaSnapshot(schemas=("public",), relations=(
    ...     Relation("public", "t", "table", columns=(Column("id", "integer", 1),)),))
    >>> b = SchemaSnapshot(schemas=("public",), relations=(
    ...     Relation("public", "t", "table", columns=(Column("id", "bigint", 1),)),))
    >>> [c.describe() for c in diff(a, b)]
    ['column `public.t.id`: type differs (integer -> bigint)']
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dbsafe.core import (
    OWN_SCHEMA,
    ConfigError,
    Finding,
    RuleInfo,
    Severity,
    closest,
    shortened,
)
from dbsafe.schema.model import (
    RELATION_KINDS,
    Cast,
    Collation,
    CompositeType,
    DefaultPrivileges,
    Domain,
    DomainConstraint,
    Enum,
    EventTrigger,
    Function,
    Namespace,
    RangeType,
    Relation,
    SchemaSnapshot,
    Setting,
    Statistics,
    acl_role,
    field_names,
    is_model,
    replace,
)
from dbsafe.schema.model import Sequence as SequenceObject

if TYPE_CHECKING:
    from dbsafe.schema.tokens import FirstDifference

# List of codes. `drift` reports its differences with the same codes (SOURCE = the live
# database, TARGET = what the migrations build).
OBJECT_MISSING = RuleInfo(
    code="DBS401",
    name="object-missing",
    summary="An object of the target schema is missing from the source.",
    default_severity=Severity.WARNING,
    since="0.1.0",
)
UNEXPECTED_OBJECT = RuleInfo(
    code="DBS402",
    name="unexpected-object",
    summary="The source schema has an object the target does not.",
    default_severity=Severity.WARNING,
    since="0.1.0",
)
OBJECT_DIFFERS = RuleInfo(
    code="DBS403",
    name="object-differs",
    summary="An object exists on both sides but one of its properties differs.",
    default_severity=Severity.WARNING,
    since="0.1.0",
)
COLUMN_ORDER_DIFFERS = RuleInfo(
    code="DBS404",
    name="column-order-differs",
    summary="A table has the same columns on both sides, in another order.",
    default_severity=Severity.NOTE,
    since="0.1.0",
)
RULES = (OBJECT_MISSING, UNEXPECTED_OBJECT, OBJECT_DIFFERS, COLUMN_ORDER_DIFFERS)

ADD = "add"  # in TARGET only
DROP = "drop"  # in SOURCE only
ALTER = "alter"  # in both, one attribute differs
REORDER = "reorder"  # same columns, another order

# Object kinds, in the order changes are listed for one object.
KINDS = (
    "schema",
    "extension",
    "collation",
    "enum",
    "domain",
    "composite_type",
    "range_type",
    "sequence",
    "function",
    "table",
    "partitioned_table",
    "foreign_table",
    "view",
    "materialized_view",
    "column",
    "constraint",
    "index",
    "trigger",
    "rule",
    "policy",
    "statistics",
    "publication",
    "foreign_server",
    "default_privileges",
    "event_trigger",
    "cast",
    "database_setting",
    "role_setting",
)
# Attribute groups that can be ignored like kinds (`--ignore owner`).
ASPECTS = ("owner", "grant", "comment", "column_order")
_ASPECT_OF_ATTRIBUTE = {"owner": "owner", "acl": "grant", "comment": "comment"}
_RULE_OF_ACTION = {ADD: OBJECT_MISSING, DROP: UNEXPECTED_OBJECT, ALTER: OBJECT_DIFFERS,
                   REORDER: COLUMN_ORDER_DIFFERS}
_GLOBAL_KINDS = ("schema", "extension", "publication", "foreign_server", "event_trigger",
                 "cast", "database_setting", "role_setting")
_KIND_RANK = {kind: rank for rank, kind in enumerate(KINDS)}


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between two snapshots.

    For `add` and `drop`, `new` / `old` is the whole model object (a `Relation`, `Column`,
    ...); for `alter`, `attribute` names the field that differs and `old`/`new` are its two
    values; for `reorder`, they are the column names in each order.
    """

    action: str  # ADD | DROP | ALTER | REORDER
    kind: str  # one of KINDS
    identity: tuple[str, ...]  # ("public", "orders", "customer_id")
    attribute: str | None = None
    old: Any = None
    new: Any = None

    @property
    def subject(self) -> str:
        """The dotted name, e.g. `public.orders.customer_id` or `public.f(integer)`."""
        return ".".join(self.identity)

    @property
    def owner_identity(self) -> tuple[str, ...]:
        """The top-level object this change belongs to (its table for a column)."""
        return self.identity[:1] if self.kind in _GLOBAL_KINDS \
            else self.identity[:2]

    def describe(self, source: str = "the source", target: str = "the target") -> str:
        """One line for humans: `column `public.t.id`: type differs (integer -> bigint)`.

        `source` and `target` name the sides where an object is only in one of them."""
        label = self.kind.replace("_", " ")
        if self.action == ADD:
            return f"{label} `{self.subject}`: only in {target}"
        if self.action == DROP:
            return f"{label} `{self.subject}`: only in {source}"
        if self.action == REORDER:
            return (f"table `{self.subject}`: column order differs "
                    f"({', '.join(self.old)} -> {', '.join(self.new)})")
        return (f"{label} `{self.subject}`: {self.attribute} differs "
                f"({_short(self.old)} -> {_short(self.new)})")


@dataclass(frozen=True, slots=True)
class DiffOptions:
    """What `diff` leaves out.

    Attributes:
        ignore_kinds: object kinds (`KINDS`) and aspects (`ASPECTS`: `owner`, `grant`,
            `comment`, `column_order`) not to compare.
        ignore_schemas: schemas whose objects are not compared at all.
        ignore_names: shell-style patterns (`fnmatch`, case-sensitive) over an object's
            dotted name; a match also drops everything inside it (`public.tmp_*` leaves
            out those tables with their columns and indexes).
        built_since: when dbsafe began building a compared schema on a throwaway server
            (the migrations applied there): a date or time constant from then until the
            comparison in a definition or column default is the moment PostgreSQL stored
            it (`'now'::timestamp` is folded when its statement runs), not a difference
            (`reparse.same_but_moments`).
        database_settings: compare what new sessions of the database start with (`ALTER
            DATABASE ... SET`, `ALTER ROLE ... IN DATABASE ... SET`: kinds
            `database_setting`, `role_setting`). Off unless asked (`dbsafe diff`,
            verify-reversible): a live database's are often its DBA's or its platform's,
            which no migration made (drift, a guarded upgrade's check), and a restored copy
            has none (pg_dump keeps none). Only where both snapshots read them.
    """

    ignore_kinds: frozenset[str] = frozenset()
    ignore_schemas: frozenset[str] = frozenset()
    ignore_names: tuple[str, ...] = ()
    built_since: datetime | None = None
    database_settings: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.ignore_kinds) - set(KINDS) - set(ASPECTS)
        if unknown:
            near = {name: closest(name, KINDS + ASPECTS, 1) for name in sorted(unknown)}
            named = ", ".join(f"{name} (did you mean {near[name][0]}?)" if near[name] else name
                              for name in near)
            raise ValueError(f"unknown kind(s) to ignore: {named}; the kinds: "
                             f"{', '.join(KINDS + ASPECTS)}")

    @classmethod
    def parse(cls, kinds: Iterable[str] = (), schemas: Iterable[str] = (),
              names: Iterable[str] = ()) -> DiffOptions:
        """Options from command-line or config words; unknown kinds are a `ConfigError`.

        >>> DiffOptions.parse(["owner", "grant"]).ignore_kinds == {"owner", "grant"}
        True
        """
        try:
            return cls(frozenset(k.lower().replace("-", "_") for k in kinds),
                       frozenset(schemas), tuple(names))
        except ValueError as exc:
            raise ConfigError(str(exc)) from None

    def without_own_schema(self) -> DiffOptions:
        """These options, also leaving out dbsafe's own schema (`OWN_SCHEMA`)."""
        return replace(self, ignore_schemas=self.ignore_schemas | {OWN_SCHEMA})

    def ignores(self, change: Change) -> bool:
        if change.kind in self.ignore_kinds:
            return True
        if self.built_since is not None and _moments_only(change, self.built_since):
            return True
        if change.kind == "default_privileges" and "grant" in self.ignore_kinds:
            return True
        aspect = _ASPECT_OF_ATTRIBUTE.get(change.attribute or "")
        if aspect is not None and aspect in self.ignore_kinds:
            return True
        if change.action == REORDER and "column_order" in self.ignore_kinds:
            return True
        if change.attribute == "constraints" and change.kind == "domain" \
                and "comment" in self.ignore_kinds and _comments_only(change):
            return True
        if change.kind not in _GLOBAL_KINDS[1:] and change.identity[0] in self.ignore_schemas:
            return True
        if self.ignore_names:
            prefixes = [".".join(change.identity[:n]) for n in range(1, len(change.identity) + 1)]
            return any(fnmatch.fnmatchcase(p, pattern)
                       for p in prefixes for pattern in self.ignore_names)
        return False


def _comments_only(change: Change) -> bool:
    """Whether a domain's constraints differ only in their comments."""
    return tuple(replace(k, comment=None) for k in change.old) == \
        tuple(replace(k, comment=None) for k in change.new)


def _moments_only(change: Change, since: datetime) -> bool:
    """Whether `change` is a definition or column default that differs only in the moments
    PostgreSQL folded into it (`DiffOptions.built_since`)."""
    if change.action != ALTER or not isinstance(change.old, str) \
            or not isinstance(change.new, str):
        return False
    definition = change.attribute == "definition" and change.kind in _REPARSED
    if not definition and (change.attribute, change.kind) != ("default", "column"):
        return False
    from dbsafe.schema.reparse import same_but_moments

    return same_but_moments(change.kind, change.old, change.new, since)


def diff(source: SchemaSnapshot, target: SchemaSnapshot, options: DiffOptions | None = None,
         ) -> tuple[Change, ...]:
    """Every difference that turns `source` into `target`, in a deterministic order.

    Args:
        source: the schema as it is (e.g. a live database).
        target: the schema as it should be (e.g. the migrations at head).
        options: what to leave out; by default nothing but extension members. Without
            `built_since`, the earlier of the snapshots' own (`SchemaSnapshot.built_since`).

    Returns:
        Changes sorted by the object they belong to, then kind, name, action and attribute;
        the database's settings last, its own before its roles'.
    """
    options = options or DiffOptions()
    older = [s for s in (source, target)
             if s.server_version is not None and s.server_version < 170000]
    if len(older) == 1:  # one server knows MAINTAIN, the other cannot hold it
        if older[0] is source:
            target = without_maintain(target)
        else:
            source = without_maintain(source)
    built = [s.built_since for s in (source, target) if s.built_since is not None]
    if options.built_since is None and built:
        options = replace(options, built_since=min(built))
    changes: list[Change] = []
    changes += _compare("schema", _namespaces(source), _namespaces(target), _NAMESPACE_FIELDS)
    changes += _compare("extension", _by(source.extensions, lambda e: (e.name,)),
                        _by(target.extensions, lambda e: (e.name,)), _EXTENSION_FIELDS)
    changes += _compare("collation", _by(source.collations, _qualified),
                        _by(target.collations, _qualified), _COLLATION_FIELDS)
    changes += _compare("enum", _by(source.enums, _qualified), _by(target.enums, _qualified),
                        _ENUM_FIELDS)
    changes += _compare("domain", _by(source.domains, _qualified),
                        _by(target.domains, _qualified), _DOMAIN_FIELDS)
    changes += _compare("composite_type", _by(source.composite_types, _qualified),
                        _by(target.composite_types, _qualified), _COMPOSITE_FIELDS)
    changes += _compare("range_type", _by(source.range_types, _qualified),
                        _by(target.range_types, _qualified), _RANGE_FIELDS)
    renamed = renamed_sequences(source, target)
    changes += _sequences(source, target, renamed)
    changes += _compare("function", _by(source.functions, function_identity),
                        _by(target.functions, function_identity), _FUNCTION_FIELDS)
    changes += _compare("foreign_server", _by(source.foreign_servers, lambda s: (s.name,)),
                        _by(target.foreign_servers, lambda s: (s.name,)), _SERVER_FIELDS)
    changes += _relations(source, target)
    changes += _attached_indexes(source, target)
    changes += _compare("statistics", _by(source.extended_statistics, _qualified),
                        _by(target.extended_statistics, _qualified), _STATISTICS_FIELDS)
    changes += _compare("publication", _by(source.publications, lambda p: (p.name,)),
                        _by(target.publications, lambda p: (p.name,)), _PUBLICATION_FIELDS)
    changes += _compare("default_privileges", _by(source.default_privileges, _for_role),
                        _by(target.default_privileges, _for_role), ("acl",))
    changes += _compare("event_trigger", _event_triggers(source, options),
                        _event_triggers(target, options), _EVENT_TRIGGER_FIELDS)
    changes += _compare("cast", _casts(source, options), _casts(target, options),
                        _CAST_FIELDS)
    if options.database_settings and source.database_settings is not None \
            and target.database_settings is not None:
        for kind, role in (("database_setting", False), ("role_setting", True)):
            changes += _compare(kind, _settings(source, role=role),
                                _settings(target, role=role), ("value",))
    kept = [c for c in changes if not options.ignores(c)
            and not _follows_rename(c, renamed, source, target)]
    kept.sort(key=_sort_key)
    return tuple(kept)


def without_constraint_indexes(changes: Sequence[Change], source: SchemaSnapshot,
                               target: SchemaSnapshot) -> tuple[Change, ...]:
    """`changes` less the index half of each primary key, unique or exclusion constraint
    that changed with its index: one object to whoever reads the report, not two.

    PostgreSQL gives such a constraint an index of its own name, built and dropped with
    it, so `diff` sees the constraint and the index added, dropped, or redefined together.
    `ddl.plan` wants both (the constraint's change builds or drops the index); a report
    lists the constraint's. An index change with no such constraint change stays.

    >>> from dbsafe.schema.model import Constraint, Index, Relation
    >>> t = Relation("public", "t", "table",
    ...              constraints=(Constraint("t_a_key", "unique", ("a",), "UNIQUE (a)"),),
    ...              indexes=(Index("t_a_key", "CREATE UNIQUE INDEX t_a_key ON t (a)"),))
    >>> before = SchemaSnapshot(relations=(t,))
    >>> after = SchemaSnapshot(relations=(replace(t, constraints=(), indexes=()),))
    >>> [c.describe() for c in without_constraint_indexes(diff(before, after), before, after)]
    ['constraint `public.t.t_a_key`: only in the source']
    """
    constrained = {(c.action, c.identity) for c in changes
                   if c.kind == "constraint" and c.attribute in (None, "definition")}

    def backs_a_constraint(change: Change) -> bool:
        if change.kind != "index" or change.attribute not in (None, "definition") \
                or (change.action, change.identity) not in constrained:
            return False
        schema, table, name = change.identity
        return any(k.name == name and k.kind in ("primary_key", "unique", "exclusion")
                   for side in (source, target)
                   for k in getattr(side.relation(schema, table), "constraints", ()))

    return tuple(c for c in changes if not backs_a_constraint(c))


def with_column_sequences(changes: Sequence[Change], source: SchemaSnapshot,
                          target: SchemaSnapshot) -> tuple[Change, ...]:
    """`changes` with the differences of a column's own sequence (the one `serial` makes, or
    one made by hand and `OWNED BY` the column, on either side) as one difference of the
    column, `sequence`: one object to whoever reads the report, not a sequence beside its
    table. On PostgreSQL 18 `id serial` and `id integer NOT NULL DEFAULT nextval('t_id_seq')`
    with `CREATE SEQUENCE t_id_seq AS integer` and `ALTER SEQUENCE ... OWNED BY t.id` leave
    the same catalogs (the same 'a' dependency, no identity): no difference. Written
    without `AS integer` the sequence is bigint (its type and maximum differ), without
    `OWNED BY` it is not the column's (`pg_get_serial_sequence` finds none, DROP TABLE
    leaves it). `ddl.plan` wants the sequence changes; a report lists the column's.

    >>> from dbsafe.schema.model import Column, Relation
    >>> t = Relation("public", "t", "table", columns=(Column("id", "integer", 1),))
    >>> s = SequenceObject("public", "t_id_seq", owned_by="public.t.id", max_value=2**31 - 1)
    >>> bigint = replace(s, max_value=2**63 - 1)
    >>> a = SchemaSnapshot(relations=(t,), sequences=(bigint,))
    >>> b = SchemaSnapshot(relations=(t,), sequences=(replace(s, data_type="integer"),))
    >>> [c.describe() for c in with_column_sequences(diff(a, b), a, b)]
    ['column `public.t.id`: sequence differs (t_id_seq as bigint, max_value 9223372036854775807 -> t_id_seq as integer, max_value 2147483647)']
    """
    def column_of(change: Change) -> tuple[str, str, str] | None:
        if change.kind != "sequence" or change.action != ALTER:
            return None
        schema, name = change.identity
        for side in (source, target):
            sequence = next((q for q in side.sequences
                             if q.schema == schema and q.name == name), None)
            if sequence is None or not sequence.owned_by:
                continue
            owner_schema, table, column = sequence.owned_by.rsplit(".", 2)
            if all(any(c.name == column for c in getattr(
                    either.relation(owner_schema, table), "columns", ()))
                   for either in (source, target)):
                return owner_schema, table, column
        return None

    folded: dict[tuple[str, ...], list[Change]] = {}
    order: list[Change | tuple[str, ...]] = []  # a change, or the column its sequence's go to
    for change in changes:
        column = column_of(change)
        if column is None:
            order.append(change)
        elif column not in folded:
            folded[column] = [change]
            order.append(column)
        else:
            folded[column].append(change)

    def side(parts: list[Change], old: bool) -> str:
        words = [f"as {value}" if c.attribute == "data_type" else
                 (f"owned by {value}" if value else "not owned") if c.attribute == "owned_by"
                 else f"{c.attribute} {_short(value)}"
                 for c in parts if c.attribute != "name"
                 for value in (c.old if old else c.new,)]
        # a renamed one (`renamed_sequences`) is named as each side names it
        name = next((c.old if old else c.new for c in parts if c.attribute == "name"),
                    parts[0].identity[1])
        return " ".join([name, ", ".join(words)]).strip()

    out = [item for item in order if isinstance(item, Change)]
    for owner, parts in folded.items():
        # listed with the rest of its table's changes (`groups` counts consecutive ones),
        # else where its sequence's were
        at = next((i for i, c in enumerate(out) if c.owner_identity == owner[:2]
                   and c.kind not in _GLOBAL_KINDS and c.kind != "sequence"),
                  sum(isinstance(item, Change) for item in order[:order.index(owner)]))
        out.insert(at, Change(ALTER, "column", owner, "sequence", side(parts, True),
                              side(parts, False)))
    return tuple(out)


def with_owned_sequences(changes: Sequence[Change]) -> list[tuple[Change, tuple[Change, ...]]]:
    """Each of `changes` with the sequences that go with it: a serial column's sequence,
    added or dropped with its table, is one object with the table (DROP TABLE drops it;
    on its own, `DROP SEQUENCE` fails with 2BP01 before the table's and 42P01 after), so it
    is listed under the table's change, not on its own.

    >>> from dbsafe.schema.model import Column, Relation
    >>> t = Relation("public", "t", "table", columns=(Column("id", "integer", 1),))
    >>> s = SequenceObject("public", "t_id_seq", owned_by="public.t.id")
    >>> before, after = SchemaSnapshot(relations=(t,), sequences=(s,)), SchemaSnapshot()
    >>> [(c.describe(), [o.describe() for o in owned])
    ...  for c, owned in with_owned_sequences(diff(before, after))]
    [('table `public.t`: only in the source', ['sequence `public.t_id_seq`: only in the source'])]
    """
    tables = {(c.action, c.identity) for c in changes
              if c.kind in ("table", "partitioned_table") and c.attribute is None}

    def table_of(change: Change) -> tuple[str, tuple[str, ...]] | None:
        sequence = change.old if change.action == DROP else change.new
        owner = getattr(sequence, "owned_by", None) if change.kind == "sequence" \
            and change.attribute is None else None
        if not owner:
            return None
        schema, table, _column = owner.rsplit(".", 2)
        key = (change.action, (schema, table))
        return key if key in tables else None

    owned: dict[tuple[str, tuple[str, ...]], list[Change]] = {}
    for change in changes:
        key = table_of(change)
        if key is not None:
            owned.setdefault(key, []).append(change)
    return [(c, tuple(owned.get((c.action, c.identity), ()) if c.attribute is None else ()))
            for c in changes if table_of(c) is None]


def findings(changes: Sequence[Change], *, source: str = "the source",
             target: str = "the target", before: SchemaSnapshot | None = None,
             after: SchemaSnapshot | None = None) -> tuple[Finding, ...]:
    """One finding per change (DBS401-DBS404), in the changes' order.

    Args:
        changes: from `diff`.
        source: how messages name the source side ("the database" for drift).
        target: how messages name the target side ("the migrations").
        before, after: the snapshots compared, where their objects' owners say what grants
            an ACL of the defaults holds (a grant difference said by role and privilege).
    """
    from dbsafe.schema.privileges import said_grants

    out: list[Finding] = []
    for change in changes:
        rule = _RULE_OF_ACTION[change.action]
        body = None
        label = change.kind.replace("_", " ").capitalize()
        context: tuple[tuple[str, str], ...] = ()
        if change.action == ADD:
            message = f"{label} `{change.subject}` is in {target} but not in {source}."
            context = (("Target", _full(change.new)),)
        elif change.action == DROP:
            message = f"{label} `{change.subject}` is in {source} but not in {target}."
            context = (("Source", _full(change.old)),)
        elif change.action == REORDER:
            message = f"Table `{change.subject}` has its columns in another order in {target}."
            context = (("Source", ", ".join(change.old)),
                       ("Target", ", ".join(change.new)))
        elif change.attribute == "nullable" and isinstance(change.old, bool):
            def shown(nullable: bool) -> str:
                return "nullable" if nullable else "NOT NULL"

            message = (f"{label} `{change.subject}` is {shown(change.old)} in {source}, "
                       f"{shown(change.new)} in {target}.")
            context = (("Source", shown(change.old)), ("Target", shown(change.new)))
        elif change.attribute == "acl" and isinstance(change.old, tuple) \
                and isinstance(change.new, tuple) and (grants := said_grants(
                    change.old, change.new, change.kind, _owner_in(change, after, before),
                    source=source, target=target)) is not None:
            # aclitems (`=r/app`, `app=X/app`) say neither PUBLIC nor a default undone:
            # a REVOKE of EXECUTE from PUBLIC read as `(app=X/app) ... ()`
            message = f"{label} `{change.subject}` differs in grants: {grants}."
            context = (("Source", _said_acl(change.old)), ("Target", _said_acl(change.new)))
        elif (body := body_difference(change)) is not None:
            message = f"{label} `{change.subject}` {said_body(body, source, target)}."
            context = (("Source", _full(change.old)),
                       ("Target", _full(change.new)))
        else:
            old, new = around_difference(_short(change.old, 10**6), _short(change.new, 10**6),
                                         60)
            message = (f"{label} `{change.subject}` differs in {change.attribute}: "
                       f"{old} in {source}, {new} in {target}.")
            context = (("Source", _full(change.old)),
                       ("Target", _full(change.new)))
        out.append(Finding(
            code=rule.code, message=message,
            # the same tokens: it runs the same (as queries by name do not care for column
            # order, DBS404), said so as a note
            severity=Severity.NOTE if runs_the_same(change) else rule.default_severity,
            subject=change.subject,
            help="`dbsafe diff --sql` prints the DDL that makes the source match the target.",
            context=context,
        ))
    return tuple(out)


def _owner_in(change: Change, *snapshots: SchemaSnapshot | None) -> str | None:
    """The owner of the object `change` is about (a column's: its table's), in the first
    snapshot that has it."""
    for snapshot in snapshots:
        if snapshot is None:
            continue
        found = (snapshot.relation(*change.identity[:2]) if change.kind == "column"
                 else object_of(change, snapshot))
        if found is not None and getattr(found, "owner", None):
            return str(found.owner)
    return None


def _said_acl(acl: tuple[str, ...]) -> str:
    return ", ".join(acl) if acl else "the default privileges"


def object_of(change: Change, snapshot: SchemaSnapshot) -> Any:
    """The object `change` is about, in `snapshot` (None where it has none, or for a kind
    not looked up)."""
    if change.kind in RELATION_KINDS:
        return snapshot.relation(*change.identity)
    if change.kind == "schema":
        return next((n for n in snapshot.namespaces if n.name == change.identity[0]), None)
    if change.kind == "function":
        return next((f for f in snapshot.functions if function_identity(f) == change.identity),
                    None)
    if change.kind == "foreign_server":
        return next((x for x in snapshot.foreign_servers if x.name == change.identity[0]),
                    None)
    pool: Iterable[Any] = {"enum": snapshot.enums, "domain": snapshot.domains,
                           "composite_type": snapshot.composite_types,
                           "sequence": snapshot.sequences,
                           "collation": snapshot.collations,
                           "statistics": snapshot.extended_statistics}.get(change.kind, ())
    return next((x for x in pool if (x.schema, x.name) == change.identity), None)


def body_difference(change: Change) -> FirstDifference | None:
    """Where a function's definitions first differ by token (PostgreSQL keeps a PL/pgSQL or
    SQL body's text as written, `prosrc`): their first differing character, which a
    reindent puts in whitespace, told nothing. Whitespace alone is no difference in what
    runs only for `sql` and `plpgsql`, whose bodies PostgreSQL's scanner reads; another
    language's (`plpython3u`: indentation is its syntax) is a difference like any other.

    >>> def defined(language: str, body: str) -> str:
    ...     return f"CREATE FUNCTION f() RETURNS int LANGUAGE {language} AS $$\\n{body}\\n$$"
    >>> change = Change(ALTER, "function", ("public", "f()"), "definition",
    ...                 defined("plpgsql", "BEGIN\\n  RETURN 1;\\nEND"),
    ...                 defined("plpgsql", "BEGIN\\n    RETURN 1;\\nEND"))
    >>> body_difference(change).whitespace_only
    True
    >>> body_difference(replace(change, old=change.old.replace("plpgsql", "plpython3u"),
    ...                         new=change.new.replace("plpgsql", "plpython3u"))).whitespace_only
    False
    """
    from dbsafe.schema.tokens import first_difference

    if change.kind != "function" or change.attribute != "definition" \
            or not isinstance(change.old, str) or not isinstance(change.new, str):
        return None
    found = first_difference(change.old, change.new)
    if found is not None and found.whitespace_only \
            and not {_language(change.old), _language(change.new)} <= {"sql", "plpgsql"}:
        return replace(found, whitespace_only=False)
    return found


def runs_the_same(change: Change) -> bool:
    """Whether `change` is a function body that differs only in whitespace (and comments)
    where its language reads neither (`body_difference`): drift and verify-reversible say
    it as a note, nothing to act on (PostgreSQL keeps `prosrc` as written, so a body
    reindented by hand, or put back by a down migration written apart, differs so)."""
    body = body_difference(change)
    return body is not None and body.whitespace_only


def _language(definition: str) -> str | None:
    """The `LANGUAGE` of a function's `pg_get_functiondef` text; None where it is not read."""
    from pglast import ast, parse_sql
    from pglast.parser import ParseError

    try:
        statements = parse_sql(definition)
    except ParseError:
        return None
    for statement in statements[:1]:
        if isinstance(statement.stmt, ast.CreateFunctionStmt):
            for option in statement.stmt.options or ():
                if option.defname == "language" and isinstance(option.arg, ast.String):
                    return str(option.arg.sval).lower()
    return None


def said_body(found: FirstDifference, source: str, target: str) -> str:
    """`differs in definition at line 4 of its definition: `RETURN a + 1;` in the source, ...`
    (no final period: drift's findings and verify-reversible's leftovers end it)."""
    where = (f"line {found.number_a} of its definition" if found.number_a == found.number_b
             else f"line {found.number_a} of its definition in {source}, "
                  f"{found.number_b} in {target}")
    old, new = (f"`{shortened(line, 60)}`" if line else "an empty line"
                for line in (found.line_a, found.line_b))
    if found.whitespace_only:
        what = "comments" if found.in_comments else "whitespace"
        return (f"differs in definition only in {what} (from {where}: {old} in {source}, "
                f"{new} in {target}); it runs the same")
    return f"differs in definition at {where}: {old} in {source}, {new} in {target}"


def groups(changes: Sequence[Change], source: SchemaSnapshot,
           target: SchemaSnapshot) -> list[str]:
    """The object each change belongs to, as a heading: `table public.orders` for the
    table itself and for its columns, constraints, indexes, triggers and policies.

    `diff` lists changes object by object, so equal headings are consecutive.

    >>> from dbsafe.schema.model import Relation
    >>> a = SchemaSnapshot(relations=(Relation("public", "v", "view"),))
    >>> groups([Change(ADD, "index", ("public", "v", "v_idx"))], a, a)
    ['view public.v']
    """
    out = []
    for change in changes:
        owner = change.owner_identity
        kind = change.kind
        if kind in _RELATION_PARTS:
            relation = target.relation(*owner) or source.relation(*owner)
            kind = relation.kind if relation is not None else "table"
        out.append(f"{kind.replace('_', ' ')} {'.'.join(owner)}")
    return out


_RELATION_PARTS = ("column", "constraint", "index", "trigger", "rule", "policy")


def _full(value: Any) -> str:
    if isinstance(value, DefaultPrivileges):
        return ", ".join(value.acl)
    if isinstance(value, RangeType):
        return f"AS RANGE (subtype = {value.subtype})"
    if isinstance(value, Cast):
        how = {"binary": "WITHOUT FUNCTION", "inout": "WITH INOUT"}.get(
            value.method, f"WITH FUNCTION {value.function}")
        return f"({value.source} AS {value.target}) {how} ({value.context})"
    if isinstance(value, EventTrigger):
        tags = f" WHEN TAG IN ({', '.join(value.tags)})" if value.tags else ""
        return f"ON {value.event}{tags} EXECUTE FUNCTION {value.function}"
    if is_model(value):
        definition = getattr(value, "definition", None)
        if definition:
            return str(definition)
        if hasattr(value, "type"):
            return f"{getattr(value, 'name', '')} {value.type}".strip()
        return getattr(value, "name", repr(value))
    if isinstance(value, tuple):
        return ", ".join(_full(v) for v in value)
    return "none" if value is None else str(value)


def _for_role(entry: DefaultPrivileges) -> tuple[str, str, str]:
    """Default privileges are named schema (`*`: every schema), role, object type."""
    return (entry.schema or "*", entry.role, entry.object_type)


def function_identity(function: Function) -> tuple[str, str]:
    return (function.schema, f"{function.name}({function.identity_arguments})")


def without_owners(snapshot: SchemaSnapshot) -> SchemaSnapshot:
    """The snapshot with every `owner` set to None (for goldens that must not name a role)."""
    def strip(obj: Any) -> Any:
        if is_model(obj):
            changes: dict[str, Any] = {}
            for name in field_names(type(obj)):
                value = getattr(obj, name)
                if name == "owner":
                    changes[name] = None
                elif isinstance(value, tuple) and value and is_model(value[0]):
                    changes[name] = tuple(strip(v) for v in value)
            return replace(obj, **changes)
        return obj

    return strip(snapshot)


def with_role_renamed(snapshot: SchemaSnapshot, old: str, new: str) -> SchemaSnapshot:
    """The snapshot with role `old` called `new` wherever it owns or grants, or is granted:
    a schema built by a throwaway server's superuser, as the role that runs the migrations
    in production would have built it."""
    def rename_acl(item: str) -> str:
        match = _ACL_ITEM.fullmatch(item)
        if match is None:
            return item
        grantee, privileges, grantor = match.groups()
        return (f"{acl_role(new) if _role_name(grantee) == old else grantee}={privileges}/"
                f"{acl_role(new) if _role_name(grantor) == old else grantor}")

    def rename(obj: Any) -> Any:
        if not is_model(obj):
            return obj
        changes: dict[str, Any] = {}
        for name in field_names(type(obj)):
            value = getattr(obj, name)
            if name in ("owner", "role") and value == old:
                changes[name] = new
            elif name == "acl" and isinstance(value, tuple):
                changes[name] = tuple(rename_acl(v) if isinstance(v, str) else v
                                      for v in value)
            elif isinstance(value, tuple) and value and is_model(value[0]):
                changes[name] = tuple(rename(v) for v in value)
            elif is_model(value):
                changes[name] = rename(value)
        return replace(obj, **changes) if changes else obj

    return rename(snapshot)


def without_maintain(snapshot: SchemaSnapshot) -> SchemaSnapshot:
    """The snapshot with the MAINTAIN privilege (`m`, PostgreSQL 17) taken out of its tables'
    privileges and its default privileges on tables, to compare with a snapshot of an older
    server: an owner holds it there from 17 on (`postgres=arwdDxtm/postgres`, where 15 has
    `arwdDxt`), so a table granted the same way on both is no difference.

    >>> without_maintain(SchemaSnapshot(relations=(Relation("public", "t", "table",
    ...     acl=("=r/postgres", "postgres=arwdDxtm/postgres", "ops=m*/postgres")),))
    ...     ).relations[0].acl
    ('=r/postgres', 'postgres=arwdDxt/postgres')
    """
    def strip(acl: tuple[str, ...]) -> tuple[str, ...]:
        kept = []
        for item in acl:
            match = _ACL_ITEM.fullmatch(item)
            if match is None or "m" not in match[2]:
                kept.append(item)
                continue
            privileges = match[2].replace("m*", "").replace("m", "")
            if privileges:
                kept.append(f"{match[1]}={privileges}/{match[3]}")
        return tuple(kept)

    relations = tuple(replace(r, acl=strip(r.acl)) if any("m" in a for a in r.acl) else r
                      for r in snapshot.relations)
    defaults = tuple(replace(d, acl=strip(d.acl)) if d.object_type == "tables" else d
                     for d in snapshot.default_privileges)
    if relations == snapshot.relations and defaults == snapshot.default_privileges:
        return snapshot
    return replace(snapshot, relations=relations, default_privileges=defaults)


# aclitem's text: grantee (empty for PUBLIC) = privileges / grantor; names double-quoted
# where they need it.
_ACL_ITEM = re.compile(r'((?:"(?:[^"]|"")*"|[^=/"])*)=([^/]*)/(.*)')


def _role_name(text: str) -> str:
    return text[1:-1].replace('""', '"') if text.startswith('"') else text


# -- what is compared ------------------------------------------------------------------------
#
# Fields derived from another one are not compared on their own: an index's `columns`,
# `unique` and `predicate` come from its `definition`, a function's argument list and
# result from its `definition`, a column's `position` is compared as column order.

_NAMESPACE_FIELDS = ("owner", "comment", "acl")
_EXTENSION_FIELDS = ("schema", "version", "comment")
# A collation's library version (`collversion`) is not kept: the same definition on
# another ICU or glibc is the same collation.
_COLLATION_FIELDS = ("provider", "locale", "lc_collate", "lc_ctype", "deterministic", "rules",
                     "owner", "comment")
_ENUM_FIELDS = ("labels", "owner", "comment", "acl")
_DOMAIN_FIELDS = ("type", "nullable", "default", "collation", "constraints", "owner",
                  "comment", "acl")
_COMPOSITE_FIELDS = ("attributes", "owner", "comment", "acl")
_SEQUENCE_FIELDS = ("data_type", "owned_by", "start", "increment", "min_value", "max_value",
                    "cache", "cycle", "owner", "comment", "acl")
_FUNCTION_FIELDS = ("kind", "definition", "returns", "owner", "comment", "acl")
_RELATION_FIELDS = ("definition", "partition_key", "partition_of", "partition_bound",
                    "inherits", "options", "replica_identity", "rls_enabled", "rls_forced",
                    "server", "foreign_options", "unlogged", "populated", "owner", "comment",
                    "acl")
_COLUMN_FIELDS = ("type", "nullable", "default", "identity", "generated", "collation",
                  "storage", "compression", "statistics", "comment", "acl",
                  "not_null_chosen_name", "not_null_no_inherit", "not_null_not_valid")
# Kinds whose definition is PostgreSQL's printed text, which it may read back otherwise.
_REPARSED = frozenset({"constraint", "index", "view", "materialized_view"})
_CONSTRAINT_FIELDS = ("definition", "validated", "comment")
_INDEX_FIELDS = ("definition", "valid", "clustered", "statistics", "comment")
_TRIGGER_FIELDS = ("definition", "enabled", "comment")
_RULE_FIELDS = ("definition", "enabled", "comment")
_POLICY_FIELDS = ("command", "permissive", "roles", "using", "with_check", "comment")
_SERVER_FIELDS = ("wrapper", "options", "owner", "comment")
_PUBLICATION_FIELDS = ("all_tables", "operations", "tables", "schemas", "owner", "comment")
_EVENT_TRIGGER_FIELDS = ("event", "tags", "function", "enabled", "owner", "comment")
# An extended statistics object's table and columns are in its definition (`FROM t`).
_STATISTICS_FIELDS = ("definition", "target", "owner", "comment")


def _qualified(obj: Enum | Domain | CompositeType | SequenceObject | Collation
               | Statistics | RangeType) -> tuple[str, str]:
    return (obj.schema, obj.name)


def _by(objects: Iterable[Any], key: Callable[[Any], tuple[str, ...]]) -> dict[tuple[str, ...], Any]:
    return {key(obj): obj for obj in objects}


def _event_triggers(snapshot: SchemaSnapshot, options: DiffOptions,
                    ) -> dict[tuple[str, ...], EventTrigger]:
    """The event triggers to compare, by name: those whose function is in a schema left
    out are left out with it (a platform's own, as Supabase's in `extensions`, which run
    the platform's functions)."""
    return {(e.name,): e for e in snapshot.event_triggers
            if not options.ignore_schemas
            or function_schema(e.function) not in options.ignore_schemas}


_RANGE_FIELDS = ("subtype", "multirange", "opclass", "collation", "canonical", "subtype_diff",
                 "owner", "comment", "acl")
_CAST_FIELDS = ("function", "context", "method", "comment")


def _casts(snapshot: SchemaSnapshot, options: DiffOptions) -> dict[tuple[str, ...], Cast]:
    """The casts to compare, by `(source AS target)`: one whose function is in a schema left
    out is left out with it."""
    return {(f"({c.source} AS {c.target})",): c for c in snapshot.casts
            if c.function is None or not options.ignore_schemas
            or function_schema(c.function) not in options.ignore_schemas}


def _settings(snapshot: SchemaSnapshot, *, role: bool) -> dict[tuple[str, ...], Setting]:
    """The database's settings (`role` False: `(name,)`) or its roles' in it (`(role,
    name)`)."""
    return {((s.role, s.name) if s.role is not None else (s.name,)): s
            for s in snapshot.database_settings or () if (s.role is not None) == role}


def function_schema(function: str) -> str:
    """The schema of a function named as SQL writes it (`schema.name()`, quoted parts).

    >>> function_schema('"My.Schema".f()'), function_schema('public.f()')
    ('My.Schema', 'public')
    """
    if not function.startswith('"'):
        return function.partition(".")[0]
    end = 1
    while True:
        end = function.index('"', end)
        if function[end + 1:end + 2] != '"':
            return function[1:end].replace('""', '"')
        end += 2


def _namespaces(snapshot: SchemaSnapshot) -> dict[tuple[str, ...], Namespace]:
    # A format-1 snapshot lists schema names only.
    found: dict[tuple[str, ...], Namespace] = {(n,): Namespace(n) for n in snapshot.schemas}
    found.update({(n.name,): n for n in snapshot.namespaces})
    return found


def _compare(kind: str, old: dict[tuple[str, ...], Any], new: dict[tuple[str, ...], Any],
             fields: Sequence[str], prefix: tuple[str, ...] = ()) -> Iterator[Change]:
    for key in old.keys() - new.keys():
        yield Change(DROP, kind, prefix + key, old=old[key])
    for key in new.keys() - old.keys():
        yield Change(ADD, kind, prefix + key, new=new[key])
    for key in old.keys() & new.keys():
        if old[key] != new[key]:  # equal objects (nearly all) cost one comparison
            yield from _attributes(kind, prefix + key, old[key], new[key], fields)


def _attributes(kind: str, identity: tuple[str, ...], old: Any, new: Any,
                fields: Sequence[str]) -> Iterator[Change]:
    for name in fields:
        a, b = getattr(old, name), getattr(new, name)
        if a != b:
            if name == "definition" and kind in _REPARSED and a and b:
                from dbsafe.schema.reparse import same_definition

                if same_definition(kind, a, b):  # one printed as PostgreSQL reads it back
                    continue
            if name == "definition" and kind == "function" and None in (a, b) \
                    and old.kind == "aggregate":
                continue  # a snapshot of an older dbsafe, which read no aggregate's
            if name == "default" and kind == "column" and old.generated and new.generated:
                name = "expression"  # a generated column's `default` is its expression
            yield Change(ALTER, kind, identity, name, a, b)


def renamed_sequences(source: SchemaSnapshot, target: SchemaSnapshot,
                      ) -> dict[tuple[str, str], tuple[str, str]]:
    """The sequences only in `source` that are one only in `target` renamed or moved to
    another schema, or both (`ALTER SEQUENCE s RENAME TO t`, `SET SCHEMA`): tied to the same
    column on both sides (`OWNED BY` it, or called by its default's nextval()), the only
    such pair for either; source's (schema, name) -> target's. Matched by name alone, a
    sequence made by hand and renamed was one dropped and one added, and `--sql` dropped it
    and created it again: its counter started over and the next id collided with the rows'."""
    gone = {(q.schema, q.name) for q in source.sequences} \
        - {(q.schema, q.name) for q in target.sequences}
    new = {(q.schema, q.name) for q in target.sequences} \
        - {(q.schema, q.name) for q in source.sequences}
    if not gone or not new:
        return {}
    ties_a, ties_b = _sequence_columns(source, gone), _sequence_columns(target, new)
    pairs = [(a, b) for a in gone for b in new
             if ties_a.get(a, set()) & ties_b.get(b, set())]
    return {a: b for a, b in pairs
            if sum(x == a for x, _ in pairs) == 1 and sum(y == b for _, y in pairs) == 1}


def _sequence_columns(snapshot: SchemaSnapshot, keys: set[tuple[str, str]],
                      ) -> dict[tuple[str, str], set[str]]:
    """The columns (`schema.table.column`) each of the sequences `keys` is tied to: the one
    it is `OWNED BY`, those whose default calls nextval() on it."""
    from dbsafe.schema.reads import sequences_called

    ties: dict[tuple[str, str], set[str]] = {}
    for sequence in snapshot.sequences:
        if (sequence.schema, sequence.name) in keys and sequence.owned_by:
            ties.setdefault((sequence.schema, sequence.name), set()).add(sequence.owned_by)
    for relation in snapshot.relations:
        for column in relation.columns:
            if column.default is None or "nextval" not in column.default:
                continue
            for called in sequences_called(column.default, snapshot):
                key = _dotted_pair(called)
                if key in keys:
                    ties.setdefault(key, set()).add(
                        f"{relation.schema}.{relation.name}.{column.name}")
    return ties


def _dotted_pair(dotted: str) -> tuple[str, str]:
    schema, _, name = dotted.partition(".")
    return schema, name


def _sequences(source: SchemaSnapshot, target: SchemaSnapshot,
               renamed: dict[tuple[str, str], tuple[str, str]]) -> Iterator[Change]:
    """The sequences' changes, a renamed one (`renamed_sequences`) as its `name` (each
    side's, schema-qualified where it moved to another schema) and what else differs of
    it, under its target name."""
    old = _by(source.sequences, _qualified)
    new = _by(target.sequences, _qualified)
    for a, b in renamed.items():
        sequence = old.pop(a)
        named = (a[1], b[1]) if a[0] == b[0] else (".".join(a), ".".join(b))
        yield Change(ALTER, "sequence", b, "name", *named)
        old[b] = replace(sequence, schema=b[0], name=b[1])
    yield from _compare("sequence", old, new, _SEQUENCE_FIELDS)


def _follows_rename(change: Change, renamed: dict[tuple[str, str], tuple[str, str]],
                    source: SchemaSnapshot, target: SchemaSnapshot) -> bool:
    """Whether `change` is a column default that differs only in the name of the sequence
    its nextval() calls, renamed (`renamed_sequences`): PostgreSQL's default holds the
    sequence's oid (`'s'::regclass`), so the rename changes the text, nothing else."""
    if not renamed or (change.kind, change.attribute) != ("column", "default") \
            or not isinstance(change.old, str) or not isinstance(change.new, str):
        return False
    from pglast.parser import ParseError, scan

    from dbsafe.schema.reads import sequences_called

    before = sequences_called(change.old, source)
    after = sequences_called(change.new, target)
    if len(before) != 1 or len(after) != 1 \
            or renamed.get(_dotted_pair(before[0])) != _dotted_pair(after[0]):
        return False
    try:
        old, new = scan(change.old), scan(change.new)
    except ParseError:
        return False
    differing = [(x, y) for x, y in zip(old, new, strict=False)
                 if change.old[x.start:x.end + 1] != change.new[y.start:y.end + 1]]
    return len(old) == len(new) and len(differing) == 1 \
        and differing[0][0].name == differing[0][1].name == "SCONST"


def _relations(source: SchemaSnapshot, target: SchemaSnapshot) -> Iterator[Change]:
    old = {(r.schema, r.name): r for r in source.relations}
    new = {(r.schema, r.name): r for r in target.relations}
    for key in sorted(old.keys() - new.keys()):
        yield Change(DROP, old[key].kind, key, old=old[key])
    for key in sorted(new.keys() - old.keys()):
        yield Change(ADD, new[key].kind, key, new=new[key])
    for key in sorted(old.keys() & new.keys()):
        a, b = old[key], new[key]
        if a == b:
            continue
        if a.kind != b.kind:  # a table became a view: nothing carries over
            yield Change(DROP, a.kind, key, old=a)
            yield Change(ADD, b.kind, key, new=b)
            continue
        yield from _relation(a, b)


def _relation(a: Relation, b: Relation) -> Iterator[Change]:
    key = (a.schema, a.name)
    yield from _attributes(a.kind, key, a, b, _RELATION_FIELDS)
    if a.kind not in ("view",):  # a view's columns follow from its definition
        yield from _compare("column", _by(a.columns, _name), _by(b.columns, _name),
                            _COLUMN_FIELDS, key)
        common = {c.name for c in a.columns} & {c.name for c in b.columns}
        order_a = tuple(c.name for c in a.columns if c.name in common)
        order_b = tuple(c.name for c in b.columns if c.name in common)
        if order_a != order_b:
            yield Change(REORDER, "column", key, "column_order", order_a, order_b)
    yield from _compare("constraint", _by(a.constraints, _name), _by(b.constraints, _name),
                        _CONSTRAINT_FIELDS, key)
    yield from _compare("index", _by(a.indexes, _name), _by(b.indexes, _name),
                        _INDEX_FIELDS, key)
    yield from _compare("trigger", _by(a.triggers, _name), _by(b.triggers, _name),
                        _TRIGGER_FIELDS, key)
    yield from _compare("rule", _by(a.rules, _name), _by(b.rules, _name), _RULE_FIELDS, key)
    yield from _compare("policy", _by(a.policies, _name), _by(b.policies, _name),
                        _POLICY_FIELDS, key)


def _attached_indexes(source: SchemaSnapshot, target: SchemaSnapshot) -> Iterator[Change]:
    """A partition whose index attached to a partitioned index of its parent is another
    index on each side (`attached_to` differs, one change for each of the two): where a
    partition has two indexes the parent's could take, `ATTACH PARTITION` and `CREATE
    INDEX` on the parent attach the one PostgreSQL finds first, and a later `DROP INDEX` of
    it is refused (2BP01). Only where both sides attach one to the same kept parent index
    and the target keeps the source's: what else differs (the parent's index, the
    partition, an index renamed or dropped) says it otherwise, and an older snapshot read
    no attachment."""
    for b in target.relations:
        a = source.relation(b.schema, b.name)
        if b.partition_of is None or a is None or a.partition_of != b.partition_of:
            continue
        parent_a = source.relation(*_dotted_pair(b.partition_of))
        parent_b = target.relation(*_dotted_pair(b.partition_of))
        if parent_a is None or parent_b is None:
            continue
        kept = {i.name for i in parent_a.indexes} & {i.name for i in parent_b.indexes}
        for parent_index in sorted(kept):
            old = next((i.name for i in a.indexes if i.attached_to == parent_index), None)
            new = next((i.name for i in b.indexes if i.attached_to == parent_index), None)
            if old is None or new is None or old == new \
                    or not any(i.name == old for i in b.indexes):
                continue  # (the source's gone from the target: renamed, or dropped)
            yield Change(ALTER, "index", (b.schema, b.name, old), "attached_to",
                         parent_index, None)
            yield Change(ALTER, "index", (b.schema, b.name, new), "attached_to",
                         next((i.attached_to for i in a.indexes if i.name == new), None),
                         parent_index)


def _name(obj: Any) -> tuple[str]:
    return (obj.name,)


_SETTING_KINDS = ("database_setting", "role_setting")


def _sort_key(change: Change) -> tuple[Any, ...]:
    # The settings belong to the database, named by no schema: last, the database's own
    # first, then each role's by role and name, as snapshots keep them and `--sql` sets
    # them (a role named `app` sorted among the schemas, before `search_path`).
    setting = change.kind in _SETTING_KINDS
    top = change.owner_identity
    rank = _KIND_RANK.get(change.kind, len(KINDS))
    return (setting, rank if setting else 0, top, rank, change.identity, change.action,
            change.attribute or "")


def around_difference(a: str, b: str, limit: int = 80) -> tuple[str, str]:
    """`a` and `b` cut to `limit` characters each, from a little before where they first
    differ when that is past the start: two long definitions cut at the same length would
    read the same.

    >>> around_difference("CREATE INDEX i ON t USING btree (a) WHERE (b > 0)",
    ...                   "CREATE INDEX i ON t USING btree (a)", 30)
    ('…USING btree (a) WHERE (b > 0)', '…USING btree (a)')
    """
    if len(a) <= limit and len(b) <= limit:
        return a, b
    same = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                min(len(a), len(b)))
    start = max(0, same - limit // 2)
    if start:
        start = a.rfind(" ", 0, start) + 1  # from the start of a word
    lead = "…" if start else ""

    def cut(text: str) -> str:
        text = lead + text[start:]
        return text if len(text) <= limit else text[:limit - 1] + "…"

    return cut(a), cut(b)


def _short(value: Any, limit: int = 80) -> str:
    if value is None:
        text = "none"
    elif isinstance(value, tuple):
        text = "(" + ", ".join(_short(v, limit) for v in value) + ")"
    elif is_model(value):
        text = getattr(value, "definition", None) or getattr(value, "name", None) or repr(value)
        if isinstance(value, DomainConstraint) and value.comment is not None:
            text += f" (comment {value.comment!r})"  # its comment alone can differ
    else:
        text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
